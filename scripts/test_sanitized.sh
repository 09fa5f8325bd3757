#!/usr/bin/env bash
# The core, regions and cli suites built with AddressSanitizer and
# UndefinedBehaviorSanitizer (TESSERA_SANITIZE) in build-asan/. LibTorch and
# the Qt/VTK app are left out: they are not built with sanitizers and their
# own tests run in the normal build. Called by CI after the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TESSERA_ASAN_BUILD_DIR:-build-asan}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_SANITIZE=ON \
    -DTESSERA_BUILD_TRAINING=OFF -DTESSERA_BUILD_GUI=OFF -DTESSERA_BUILD_BENCHMARKS=OFF \
    -DTESSERA_MPI=OFF
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
cd "$BUILD_DIR"
# The docs check runs commands of the training module, which this build lacks.
ctest --parallel "$(nproc)" --timeout 900 --output-on-failure -LE docs
