#!/usr/bin/env bash
# Fits the last-layer Laplace posteriors of the shipped example models with
# `tessera laplace` and writes data/models/trained/*.laplace.onnx:
#   moons_*.laplace.onnx  full covariance (66 parameters in the last layer);
#   mnist_*.laplace.onnx  Kronecker-factored (K-FAC): the full covariance of
#                         the 1290 last-layer parameters would add 13 MB to
#                         each file in git; `--structure full` makes it.
# The prior precision is chosen by the default criterion (validation NLL +
# 0.25 x cross-entropy to uniform on uniform noise). Deterministic; seconds.
#   data/fit_laplace_examples.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
OUT=data/models/trained
T="$BUILD/cli/tessera"
for method in plain ceda acet; do
  "$T" laplace "$OUT/moons_$method.onnx" --data moons --structure full --progress off --out "$OUT/moons_$method.laplace.onnx" |
    grep -E "^(chosen|written)"
  "$T" laplace "$OUT/mnist_$method.onnx" --data mnist --structure kronecker --progress off --out "$OUT/mnist_$method.laplace.onnx" |
    grep -E "^(chosen|written)"
done
