#!/usr/bin/env bash
# Certify from infinity (default) against the full walk (--full), on both
# cores: uniform-noise rays with --box 0:1 through the paper's LeNet (seeded
# PyTorch default initialisation, exported by tests/stress/make_real_models.py),
# the shipped CNN and the shipped MLP. Prints one table row per model: rays/s
# of each method (wall clock of the whole command, model loading included),
# the ratio, the median regions each part computed, the median bounds, and how
# many certificates differ in a field both compute (must be 0).
#   tests/bench/run_certify_bench.sh [BUILD (build)] [OUT (/tmp/certify_bench)] [FULL_RAYS_LENET (4)]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-/tmp/certify_bench}
FULL_LENET=${3:-4}
mkdir -p "$OUT"
T="$BUILD/cli/tessera"
[ -f "$OUT/lenet_paper.onnx" ] || /usr/bin/python3 tests/stress/make_real_models.py "$OUT" >/dev/null

run() {  # NAME MODEL COUNT_DEFAULT COUNT_FULL
  local name=$1 model=$2 n=$3 nf=$4
  local t0 t1 t2
  t0=$(date +%s.%N)
  "$T" certify "$model" --noise uniform --count "$n" --box 0:1 --json --progress off > "$OUT/$name.json"
  t1=$(date +%s.%N)
  "$T" certify "$model" --noise uniform --count "$nf" --box 0:1 --json --progress off --full > "$OUT/${name}_full.json"
  t2=$(date +%s.%N)
  /usr/bin/python3 - "$name" "$OUT/$name.json" "$OUT/${name}_full.json" "$t0" "$t1" "$t2" <<'PY'
import json, sys
name, fp, gp = sys.argv[1:4]
t0, t1, t2 = map(float, sys.argv[4:7])
f, g = json.load(open(fp)), json.load(open(gp))
s, sg = f["summary"], g["summary"]
n, ng = len(f["certificates"]), len(g["certificates"])
sys.path.insert(0, "docs")
from table2_row import count_differences  # the same comparison as docs/results.md's table
differ = count_differences(f["certificates"], g["certificates"])  # the same seed: the first ng inputs are the same
med = lambda key: sorted(c["regions_visited"][key] for c in f["certificates"])[n // 2]
rate, rate_full = n / (t1 - t0), ng / (t2 - t1)
print(f"| {name} | {n} | {rate:.2f} | {ng} | {rate_full:.3f} | {rate / rate_full:.0f}x "
      f"| {sg['median_segments']:.0f} | {med('total')} ({med('from_infinity')} / {med('box')} / {med('middle')}) "
      f"| {med('bounds')} | {differ}/{ng} |")
PY
}

echo "| model | rays (default) | rays/s default | rays (--full) | rays/s --full | ratio | median regions on the ray (--full) | median regions computed (from infinity / box / middle) | median bounds | fields that differ |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run lenet_paper "$OUT/lenet_paper.onnx" 100 "$FULL_LENET"
run mnist_cnn data/models/mnist_cnn.onnx 100 100
run mnist_mlp data/models/mnist_mlp.onnx 1000 1000
run mnist_plain data/models/trained/mnist_plain.onnx 1000 1000
