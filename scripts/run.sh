#!/usr/bin/env bash
# README command 1: set up, build, and run the main job on the shipped
# example models: their structure, activation patterns and local affine maps,
# the certificate of Theorem 3.1, one region's polytope and a slice picture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
T=${TESSERA_BUILD_DIR:-build}/cli/tessera
set -x
"$T" info data/models/toy2d.onnx
"$T" affine data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --layers
"$T" affine data/models/mnist_cnn.onnx --input data/inputs/seven.pgm
"$T" certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt
"$T" certify data/models/mnist_cnn.onnx --input data/inputs/seven.pgm
"$T" region data/models/toy2d.onnx --input data/inputs/toy2d_point.txt
"$T" slice data/models/toy2d.onnx --window -3:3:-3:3 --svg "${TESSERA_BUILD_DIR:-build}/toy2d_slice.svg"
{ set +x; } 2>/dev/null
echo
echo "A picture of the toy model's regions: ${TESSERA_BUILD_DIR:-build}/toy2d_slice.svg"
echo "Next: '$T --help', docs/user-guide.md and docs/theory.md."
