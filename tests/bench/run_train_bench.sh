#!/usr/bin/env bash
# Training throughput, side by side in one run: `tessera train` (LibTorch)
# against the same loop in Debian's python3-torch (same backend), for plain
# and ACET training of the MLP (784-256-256-10) and the paper's LeNet on the
# MNIST digits, batch 128, no augmentation. Results in docs/benchmarks.md.
#   tests/bench/run_train_bench.sh [BUILD_DIR] [THREADS] [ACET_STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${2:-$(nproc)}
STEPS=${3:-10}
DATA=${TESSERA_DATA_DIR:-data/datasets}/mnist
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
REPS=${REPS:-3}
: > "$OUT/results.txt"
for rep in $(seq "$REPS"); do
  for cfg in "mlp plain 8000" "mlp acet 2048" "lenet plain 2048" "lenet acet 512"; do
    set -- $cfg
    model=$1 method=$2 n=$3
    spec=$model; [ "$model" = mlp ] && spec=mlp:256,256
    rm -rf "$OUT/run"
    "$BUILD/cli/tessera-train" --data mnist --model "$spec" --method "$method" --epochs 1 --train-limit "$n" --test-limit 100 \
      --no-augment --batch-size 128 --acet-steps "$STEPS" --threads "$THREADS" -q --progress off --out "$OUT/run" >/dev/null
    ours=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['images_per_second'])" "$OUT/run/log.json")
    theirs=$(/usr/bin/python3 tests/bench/torch_train_bench.py "$DATA" "$model" "$method" "$n" "$THREADS" "$STEPS")
    echo "$model $method $n $ours $theirs" >> "$OUT/results.txt"
  done
done
/usr/bin/python3 - "$OUT/results.txt" "$THREADS" "$STEPS" "$REPS" <<'PY'
import statistics, sys, torch
rows = [l.split() for l in open(sys.argv[1])]
print(f"torch {torch.__version__}, {sys.argv[2]} thread(s), ACET {sys.argv[3]} steps, median of {sys.argv[4]} alternating runs (images/s)")
print(f"{'model':6s} {'method':6s} {'images':>6s} {'tessera':>9s} {'torch':>9s} {'ratio':>6s}")
seen = []
for r in rows:
    if (r[0], r[1]) not in seen: seen.append((r[0], r[1]))
for key in seen:
    sel = [r for r in rows if (r[0], r[1]) == key]
    ours = statistics.median(float(r[3]) for r in sel)
    theirs = statistics.median(float(r[4]) for r in sel)
    print(f"{key[0]:6s} {key[1]:6s} {sel[0][2]:>6s} {ours:9.1f} {theirs:9.1f} {ours / theirs:6.2f}")
PY
