#!/usr/bin/env bash
# The library-only build: core, io and regions with their tests, and nothing
# that needs Qt, VTK, LibTorch, Cairo, Boost or nlohmann-json (every optional
# part OFF). Proves that the libraries stand alone; called by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TESSERA_LIB_BUILD_DIR:-build-lib}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTESSERA_BUILD_CLI=OFF -DTESSERA_BUILD_GUI=OFF -DTESSERA_BUILD_TRAINING=OFF \
  -DTESSERA_BUILD_EXPORT=OFF -DTESSERA_BUILD_VTK=OFF -DTESSERA_BUILD_BENCHMARKS=OFF
# Nothing of the heavy dependencies may have been looked for.
if grep -qiE '^(Qt6|VTK|Torch|Boost|nlohmann_json)_DIR:PATH=/' "$BUILD_DIR/CMakeCache.txt" ||
   grep -qE '^CAIRO_FOUND' "$BUILD_DIR/CMakeCache.txt"; then
  echo "test_libraries.sh: the library-only build looked for Qt, VTK, LibTorch, Boost, nlohmann-json or Cairo" >&2
  exit 1
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
cd "$BUILD_DIR"
ctest --parallel "$(nproc)" --timeout 900 --output-on-failure
