#!/usr/bin/env bash
# Fuzzes every reader of user files with libFuzzer (clang 14, Debian's
# libclang-rt-14-dev) for a bounded time each, starting from a seed corpus of
# valid files made by the project (tests/fuzz/seeds), and keeps what it
# learns in build-fuzz/corpus. Findings (crash-*, leak-*, timeout-*) land in
# build-fuzz/findings/<target>/; minimise one with
#   build-fuzz/tests/fuzz/fuzz_<target> -minimize_crash=1 FILE
# and keep it under tests/fuzz/regressions/<target>/ (tests/fuzz/test_regressions.cpp
# replays them in the normal suite).
#   scripts/fuzz.sh [SECONDS_PER_TARGET (600)] [TARGETS (onnx idx text image shapes gzidx box)]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
TARGETS=${2:-onnx idx text image shapes gzidx box}
B=${TESSERA_FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$B/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON \
    -DTESSERA_BUILD_CLI=OFF -DTESSERA_BUILD_TESTS=OFF -DTESSERA_BUILD_BENCHMARKS=OFF -DTESSERA_BUILD_TRAINING=OFF \
    -DTESSERA_BUILD_GUI=OFF -DTESSERA_BUILD_EXPORT=OFF -DTESSERA_BUILD_VTK=OFF -DTESSERA_NATIVE=OFF
fi
cmake --build "$B" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)
mkdir -p "$B/corpus" "$B/findings"
for t in $TARGETS; do
  mkdir -p "$B/corpus/$t" "$B/findings/$t"
  cp -n tests/fuzz/seeds/"$t"/* "$B/corpus/$t/" 2>/dev/null || true
  echo "fuzzing $t for ${SECONDS_EACH}s"
  "$B/tests/fuzz/fuzz_$t" "$B/corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$B/findings/$t/" -print_final_stats=1 2> "$B/findings/$t.log" || true
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/findings/$t.log" | sed "s/^/  $t /"
  found=$(ls "$B/findings/$t" | wc -l)
  echo "  $t findings: $found"
done
