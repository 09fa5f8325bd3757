#!/usr/bin/env bash
# Screenshots of the desktop app for the docs, rendered without user
# interaction on a virtual X server (Debian's xvfb).
#   docs/make_screenshots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
G="$BUILD/cli/tessera-gui"
OUT=${FIGURES_DIR:-docs/figures}   # the docs check writes elsewhere
mkdir -p "$OUT"
run() { xvfb-run -a -s "-screen 0 1600x1000x24" "$G" "$@"; }
run data/models/toy2d.onnx --point 1,0.5 --alpha 30 --view window --screenshot "$OUT/gui_window.png"
run data/models/toy2d.onnx --view 3d --screenshot "$OUT/gui_surface.png"
run data/models/trained/moons_plain.onnx --compare data/models/trained/moons_ceda.onnx,data/models/trained/moons_acet.onnx \
  --colour confidence --point 1.5,1 --alpha 20 --view compare --screenshot "$OUT/gui_compare.png"
run data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --colour region --screenshot "$OUT/gui_mnist_slice.png"
echo "wrote $OUT/gui_{window,surface,compare,mnist_slice}.png"
