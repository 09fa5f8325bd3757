#!/usr/bin/env bash
# Screenshots of the desktop app for the docs, rendered without user
# interaction on a virtual X server (Debian's xvfb): every view (the map,
# the whole window with the ray panel, the 3-D surface, the comparison) on
# the toy model, the two-moons models, the MNIST models and a CNN, and each
# step of the guided tour.
#   docs/make_screenshots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
G="$BUILD/cli/tessera-gui"
OUT=${FIGURES_DIR:-docs/figures}   # the docs check writes elsewhere
mkdir -p "$OUT"
run() { xvfb-run -a -s "-screen 0 1600x1000x24" "$G" "$@"; }
M=data/models
# The toy model: the window with a ray, the map by region, the 3-D surface.
run $M/toy2d.onnx --point 1,0.5 --alpha 30 --view window --screenshot "$OUT/gui_window.png"
run $M/toy2d.onnx --colour region --screenshot "$OUT/gui_toy2d_regions.png"
run $M/toy2d.onnx --point 1,0.5 --alpha 3 --view 3d --screenshot "$OUT/gui_surface.png"
# Two moons: plain, CEDA and ACET side by side.
run $M/trained/moons_plain.onnx --compare $M/trained/moons_ceda.onnx,$M/trained/moons_acet.onnx \
  --point 1.5,1 --alpha 20 --view compare --screenshot "$OUT/gui_compare.png"
# MNIST: the trained models (one class everywhere: shaded by confidence) and the shipped MLP by region.
run $M/trained/mnist_plain.onnx --point 0.3,0.2 --alpha 3 --view window --screenshot "$OUT/gui_mnist_plain.png"
run $M/trained/mnist_acet.onnx --screenshot "$OUT/gui_mnist_acet.png"
run $M/trained/mnist_plain.onnx --view 3d --screenshot "$OUT/gui_mnist_surface.png"
run $M/trained/mnist_plain.onnx --input data/inputs/seven.pgm --window=-60:60:-60:60 --compare $M/trained/mnist_acet.onnx --point 20,10 --alpha 3 \
  --view compare --screenshot "$OUT/gui_mnist_compare.png"
run $M/mnist_mlp.onnx --input data/inputs/seven.pgm --colour region --screenshot "$OUT/gui_mnist_slice.png"
# A CNN (conv, max-pool) through a digit: stopped at its region cap, and labelled so.
run $M/mnist_cnn.onnx --input data/inputs/seven.pgm --max-regions 20000 --point 0.01,0.01 --view window \
  --screenshot "$OUT/gui_cnn.png"
run $M/mnist_cnn.onnx --input data/inputs/seven.pgm --window=-0.004:0.004:-0.004:0.004 --view 3d --screenshot "$OUT/gui_cnn_surface.png"
# The guided tour, step by step.
for n in 1 2 3 4 5 6; do run --tour-step $n --screenshot "$OUT/gui_tour_$n.png"; done
echo "wrote $(ls "$OUT"/gui_*.png | wc -l) pictures to $OUT"
