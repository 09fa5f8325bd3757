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
# The same MNIST models beside their last-layer Laplace versions
# (data/fit_laplace_examples.sh), scored by their probit predictive.
"$T" eval data/models/trained/mnist_{plain,ceda,acet}.onnx data/models/trained/mnist_{plain,ceda,acet}.laplace.onnx \
  --data mnist --names plain,ceda,acet,plain+LA,ceda+LA,acet+LA --progress off \
  --markdown "$OUT/mnist_laplace.md" --csv "$OUT/mnist_laplace.csv" --json "$OUT/mnist_laplace.json"
# Their exact limits on 1000 uniform-noise rays and on the rays through the
# first 1000 test digits.
{
  echo "| model | prior precision | rays | limit confidence: mean | largest | smallest 1 − limit | limits below 1 | network's own limit: mean | median α within 1e-3 of the limit |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for m in plain ceda acet; do
    "$T" certify "data/models/trained/mnist_$m.laplace.onnx" --noise uniform --count 1000 --json --progress off > "$RUNS/laplace_$m.json"
    "$T" certify "data/models/trained/mnist_$m.laplace.onnx" --input data/datasets/mnist/t10k-images-idx3-ubyte.gz \
      --rows 0:1000 --json --progress off > "$RUNS/laplace_test_$m.json"
    for rays in noise test; do
      f="$RUNS/laplace_$m.json"
      [ "$rays" = test ] && f="$RUNS/laplace_test_$m.json"
      /usr/bin/python3 - "$m" "$rays" "$f" "$("$T" info "data/models/trained/mnist_$m.laplace.onnx" --json)" <<'PY'
import json, sys
s = json.load(open(sys.argv[3]))["summary"]
info = json.loads(sys.argv[4])
l = s["laplace"]
rays = "1000 uniform noise" if sys.argv[2] == "noise" else "1000 test digits"
print(f"| {sys.argv[1]} + LA | {info['laplace']['prior_precision']:g} | {rays} | {l['mean_limit_confidence']:.3f} | "
      f"{l['max_limit_confidence']:.6f} | {l['min_one_minus_limit_confidence']:.3g} | {l['limit_below_one']} of {l['count']} | "
      f"{s['mean_limit_confidence']:.3f} | {l['median_alpha_within']:.3g} |")
PY
    done
  done
} > "$OUT/laplace_limits.md"
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
cat "$OUT/mnist.md" "$OUT/mnist_laplace.md" "$OUT/laplace_limits.md" "$OUT/fmnist.md" "$OUT/table2.md"
