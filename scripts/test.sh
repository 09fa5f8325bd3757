#!/usr/bin/env bash
# README command 2: set up, build, and run the whole test suite (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${TESSERA_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
