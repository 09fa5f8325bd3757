#!/usr/bin/env bash
# Regenerates every figure in docs/figures from the shipped models: the
# slice pictures (tessera slice) and the desktop app's screenshots.
#   bash docs/make_figures.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-build}/cli/tessera
OUT=${FIGURES_DIR:-docs/figures}   # the docs check writes elsewhere
mkdir -p "$OUT"
"$T" slice data/models/toy2d.onnx --window -3:3:-3:3 --color class --svg "$OUT"/toy2d_classes.svg >/dev/null
"$T" slice data/models/toy2d.onnx --window -3:3:-3:3 --color region --svg "$OUT"/toy2d_regions.svg >/dev/null
"$T" slice data/models/toy2d.onnx --window -60:60:-60:60 --color confidence --svg "$OUT"/toy2d_far_confidence.svg >/dev/null
"$T" slice data/models/mnist_mlp.onnx --input data/inputs/noise.pgm --window -10:10:-10:10 --color region \
  --svg "$OUT"/mnist_mlp_noise_regions.svg >/dev/null
# The desktop app's screenshots (need an X server: Debian's xvfb).
bash docs/make_screenshots.sh "${1:-build}"
echo "figures written to $OUT"
