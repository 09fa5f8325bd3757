#!/usr/bin/env bash
# tessera bound: time and bound quality of the three methods (ibp, crown,
# exact) on the shipped MNIST MLPs (plain, CEDA, ACET) for l-inf balls of
# radius 0.01, 0.05, 0.1 and 0.3 around uniform-noise images (intersected
# with [0, 1]^784), 20 centres each (seed 1), both cores. exact gets
# --time-per-input 5 s per box and reports partial intervals beyond it.
# Also the paper's LeNet (FMNIST plain, 5 centres: ibp at 0.01 and 0.05,
# crown at 0.01).
# Prints a markdown table (mean upper bound, mean lower bound, boxes
# certified below 0.5, boxes complete, median and total seconds).
#   tests/bench/run_bound_bench.sh [BUILD (build)] [OUT (/tmp/bound_bench)]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=${2:-/tmp/bound_bench}
mkdir -p "$OUT"
T="$BUILD/cli/tessera"
M=data/models/trained
row() {  # model eps method json
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
model, eps, method, path, wall = sys.argv[1:6]
j = json.load(open(path))
s = j["summary"]
print("| %s | %s | %s | %.4f | %.4f | %.4f | %d/%d | %d/%d | %.3g | %s |" % (
    model, eps, method, s["upper_bound"]["mean"], s["upper_bound"]["max"], s["lower_bound"]["mean"],
    s["certified"], s["count"], s["complete"], s["count"], s["seconds"]["median"], wall))
PY
}
echo "| model | eps | method | mean upper | max upper | mean lower | certified < 0.5 | complete | median s/box | wall s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for m in mnist_plain mnist_ceda mnist_acet; do
  for eps in 0.01 0.05 0.1 0.3; do
    for method in ibp crown exact; do
      extra=""
      [ "$method" = exact ] && extra="--time-per-input 5"
      start=$(date +%s.%N)
      "$T" bound "$M/$m.onnx" --noise uniform --count 20 --seed 1 --eps "$eps" --method "$method" $extra \
        --json --progress off > "$OUT/${m}_${eps}_${method}.json" || true
      wall=$(/usr/bin/python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
      row "$m" "$eps" "$method" "$OUT/${m}_${eps}_${method}.json" "$wall"
    done
  done
done
L=$M/lenet/fmnist_plain.onnx
if [ -f "$L" ]; then
  for eps in 0.01 0.05; do
    for method in ibp crown; do
      # crown on the LeNet at 0.05: minutes per ball (tens of thousands of unstable units)
      [ "$eps" = 0.05 ] && [ "$method" = crown ] && continue
      start=$(date +%s.%N)
      "$T" bound "$L" --noise uniform --count 5 --seed 1 --eps "$eps" --method "$method" --json --progress off \
        > "$OUT/lenet_${eps}_${method}.json" || true
      wall=$(/usr/bin/python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
      row "lenet fmnist_plain" "$eps" "$method" "$OUT/lenet_${eps}_${method}.json" "$wall"
    done
  done
fi
# Whole commands side by side (hyperfine medians): one ball of radius 0.01
# around noise image 0 of the plain MLP, the three methods.
echo
echo "== hyperfine: one ball (mnist_plain, eps 0.01), ibp / crown / exact (median s)"
hyperfine -N -w 2 -r 10 --export-json "$OUT/hyperfine.json" \
  "$T bound $M/mnist_plain.onnx --noise uniform --count 1 --eps 0.01 --method ibp --progress off" \
  "$T bound $M/mnist_plain.onnx --noise uniform --count 1 --eps 0.01 --method crown --progress off" \
  "$T bound $M/mnist_plain.onnx --noise uniform --count 1 --eps 0.01 --method exact --progress off" >/dev/null
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.4f" % x["median"] for x in r))' "$OUT/hyperfine.json"
