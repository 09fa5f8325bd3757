#!/usr/bin/env bash
# Trains the shipped example models with `tessera train` and copies them to
# data/models/trained/: plain, CEDA and ACET versions of
#   moons_*.onnx  2 -> 32 -> 32 -> 2 MLP on the two-moons set (toy preset);
#   mnist_*.onnx  784 -> 128 -> 128 -> 10 MLP on the MNIST digits (quick preset,
#                 no random crops: an MLP has no use for shifted digits).
# Seeded, so a rerun on the same machine and thread count gives the same
# files; other BLAS kernels may change the last bits. A few minutes on two cores.
#   data/train_examples.sh [BUILD_DIR] [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-$BUILD/example_runs}
OUT=data/models/trained
mkdir -p "$OUT" "$RUNS"
T="$BUILD/cli/tessera"
for method in plain ceda acet; do
  "$T" train --data moons --model mlp:32,32 --method "$method" --seed 1 --overwrite -q --progress off --out "$RUNS/moons_$method"
  cp "$RUNS/moons_$method/model.onnx" "$OUT/moons_$method.onnx"
  "$T" train --data mnist --model mlp:128,128 --method "$method" --seed 1 --no-augment --overwrite -q --progress off --out "$RUNS/mnist_$method"
  cp "$RUNS/mnist_$method/model.onnx" "$OUT/mnist_$method.onnx"
done
{
  echo "| model | data | method | test accuracy | MMC on uniform noise |"
  echo "|---|---|---|---|---|"
  for d in moons mnist; do
    for method in plain ceda acet; do
      /usr/bin/python3 - "$RUNS/${d}_$method/summary.json" "$d" "$method" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"| `{sys.argv[2]}_{sys.argv[3]}.onnx` | {s['data']} | {s['method']} | {s['test_accuracy']:.3f} | {s['noise_mmc']:.3f} |")
PY
    done
  done
} > "$OUT/table.md"
cat "$OUT/table.md"
bash data/fit_laplace_examples.sh "$BUILD"
