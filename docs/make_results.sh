#!/usr/bin/env bash
# Regenerates docs/results/: the out-of-distribution tables of plain, CEDA and
# ACET models on the MNIST digits (the shipped data/models/trained/mnist_*,
# made by data/train_examples.sh) and on Fashion-MNIST (trained here with the
# same recipe), their ROC curves, and the Table 2 analogue from certify.
# About ten minutes on two cores.
#   docs/make_results.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
T="$BUILD/cli/tessera"
RUNS="$BUILD/results_runs"
OUT=docs/results
mkdir -p "$OUT" "$RUNS"

# Fashion-MNIST models: 784-128-128-10 MLP, quick preset (10 epochs on the
# first 10000 training images), no random crops, seed 1.
for method in plain ceda acet; do
  if [ ! -f "$RUNS/fmnist_$method/model.onnx" ]; then
    "$T" train --data fmnist --model mlp:128,128 --method "$method" --seed 1 --no-augment --overwrite -q --progress off \
      --out "$RUNS/fmnist_$method"
  fi
done

"$T" eval data/models/trained/mnist_{plain,ceda,acet}.onnx --data mnist --names plain,ceda,acet --progress off \
  --markdown "$OUT/mnist.md" --csv "$OUT/mnist.csv" --json "$OUT/mnist.json" --roc "$OUT/roc_mnist"
"$T" eval "$RUNS"/fmnist_{plain,ceda,acet}/model.onnx --data fmnist --names plain,ceda,acet --progress off \
  --markdown "$OUT/fmnist.md" --csv "$OUT/fmnist.csv" --json "$OUT/fmnist.json" --roc "$OUT/roc_fmnist"

# Table 2 analogue: rays through 1000 uniform-noise points, certified from
# infinity (the default) and, to check it and count the regions, with the
# full walk; the two must agree on every field both compute.
{
  echo "| model | median first α reaching 99.9 % (R^d) | with one | median α* (99.9 % from there on) | with α* | ties in the limit | reach 99.9 % inside [0,1]^d | median largest confidence inside [0,1]^d | median regions crossed (--full) | median regions computed (default) | time default / --full | fields that differ |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for m in data/models/trained/mnist_{plain,ceda,acet}.onnx "$RUNS"/fmnist_{plain,ceda,acet}/model.onnx; do
    name=$(basename "$(dirname "$m")")
    [ "$name" = trained ] && name=$(basename "$m" .onnx)
    t0=$(date +%s.%N)
    "$T" certify "$m" --noise uniform --count 1000 --box 0:1 --json --progress off > "$RUNS/table2_$name.json"
    t1=$(date +%s.%N)
    "$T" certify "$m" --noise uniform --count 1000 --box 0:1 --json --progress off --full > "$RUNS/table2_${name}_full.json"
    t2=$(date +%s.%N)
    /usr/bin/python3 docs/table2_row.py "$name" "$RUNS/table2_$name.json" "$RUNS/table2_${name}_full.json" "$t0" "$t1" "$t2"
  done
} > "$OUT/table2.md"
cat "$OUT/mnist.md" "$OUT/fmnist.md" "$OUT/table2.md"
