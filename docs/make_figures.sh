#!/usr/bin/env bash
# Regenerates every figure in docs/figures from the shipped models.
#   bash docs/make_figures.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-build}/cli/tessera
mkdir -p docs/figures
"$T" slice data/models/toy2d.onnx --window -3:3:-3:3 --color class --svg docs/figures/toy2d_classes.svg >/dev/null
"$T" slice data/models/toy2d.onnx --window -3:3:-3:3 --color region --svg docs/figures/toy2d_regions.svg >/dev/null
"$T" slice data/models/toy2d.onnx --window -60:60:-60:60 --color confidence --svg docs/figures/toy2d_far_confidence.svg >/dev/null
"$T" slice data/models/mnist_mlp.onnx --input data/inputs/noise.pgm --window -10:10:-10:10 --color region \
  --svg docs/figures/mnist_mlp_noise_regions.svg >/dev/null
echo "figures written to docs/figures"
