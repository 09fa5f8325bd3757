#!/usr/bin/env bash
# Regenerates the LeNet half of docs/results.md: the paper's Table 1 protocol
# (`tessera eval --preset paper`) on the shipped LeNet models
# data/models/trained/lenet/mnist_{plain,ceda,acet}.onnx (made by
# data/train_lenet_models.sh), their ROC curves, and the Table 2 analogue.
# About an hour on two cores: the adversarial rows run 200 (noise) and 80
# (samples) PGD steps on every one of the 1920 test points, and certifying
# α* for the plain LeNet walks ~900 regions per ray (its confidence reaches
# 99.9 % inside [0,1]^d, so everything from there to infinity is checked).
# The Fashion-MNIST LeNets (stage fmnist) get the same protocol on 2000 points
# per out-distribution instead of 10 000 (the attacks on 10 000 points take
# about an hour per model here), each model in its own run, merged.
#   docs/make_lenet_results.sh [BUILD_DIR] [STAGES]   (STAGES: "eval table2 fmnist", the default, or some of them)
#   COUNT=100 FULL_COUNT=3    rays per model for Table 2 (default / --full: the
#                             full walk crosses ~19 000 regions per plain ray)
#   METHODS="plain ceda acet" the Table 2 rows to (re)compute; the table is
#                             assembled from every row computed so far
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
T="$BUILD/cli/tessera"
RUNS="$BUILD/results_runs"
OUT=docs/results
STAGES=${2:-eval table2 fmnist}
FMNIST_COUNT=${FMNIST_COUNT:-2000}
COUNT=${COUNT:-100}
FULL_COUNT=${FULL_COUNT:-3}
METHODS=${METHODS:-plain ceda acet}
M=data/models/trained/lenet
mkdir -p "$OUT" "$RUNS"

if [[ " $STAGES " == *" eval "* ]]; then
  "$T" eval "$M"/mnist_{plain,ceda,acet}.onnx --data mnist --preset paper --names plain,ceda,acet --progress off \
    --markdown "$OUT/lenet_mnist.md" --csv "$OUT/lenet_mnist.csv" --json "$OUT/lenet_mnist.json" --roc "$OUT/roc_lenet_mnist"
  /usr/bin/python3 docs/compare_paper.py "$OUT/lenet_mnist.json" plain,ceda,acet > "$OUT/lenet_vs_paper.md"
  cat "$OUT/lenet_mnist.md" "$OUT/lenet_vs_paper.md"
fi
if [[ " $STAGES " == *" fmnist "* ]]; then
  for method in plain ceda acet; do
    "$T" eval "$M/fmnist_$method.onnx" --data fmnist --preset paper --count "$FMNIST_COUNT" --names "$method" --progress off \
      --json "$RUNS/lenet_fmnist_$method.json" --roc "$OUT/roc_lenet_fmnist" > /dev/null
  done
  "$T" eval --merge "$RUNS"/lenet_fmnist_{plain,ceda,acet}.json \
    --markdown "$OUT/lenet_fmnist.md" --csv "$OUT/lenet_fmnist.csv" --json "$OUT/lenet_fmnist.json"
fi
[[ " $STAGES " == *" table2 "* ]] || exit 0

# Table 2 analogue on the first COUNT uniform-noise rays, checked against the
# full walk on the first FULL_COUNT of them (the same seed gives the same
# samples in the same order).
for method in $METHODS; do
  m="$M/mnist_$method.onnx"
  name="lenet_mnist_$method"
  t0=$(date +%s.%N)
  "$T" certify "$m" --noise uniform --count "$COUNT" --box 0:1 --json --progress off > "$RUNS/table2_$name.json"
  t1=$(date +%s.%N)
  "$T" certify "$m" --noise uniform --count "$FULL_COUNT" --box 0:1 --json --progress off --full > "$RUNS/table2_${name}_full.json"
  t2=$(date +%s.%N)
  /usr/bin/python3 docs/table2_row.py "$name" "$RUNS/table2_$name.json" "$RUNS/table2_${name}_full.json" "$t0" "$t1" "$t2" per-ray \
    > "$RUNS/table2_$name.row"
done
{
  echo "| model | median first α reaching 99.9 % (R^d) | with one | median α* (99.9 % from there on) | with α* | ties in the limit | reach 99.9 % inside [0,1]^d | median largest confidence inside [0,1]^d | median regions crossed (--full, first $FULL_COUNT rays) | median regions computed (default) | time per ray default / --full | fields that differ (first $FULL_COUNT rays) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for method in plain ceda acet; do
    if [ -f "$RUNS/table2_lenet_mnist_$method.row" ]; then cat "$RUNS/table2_lenet_mnist_$method.row"; fi
  done
} > "$OUT/lenet_table2.md"
cat "$OUT/lenet_table2.md"
