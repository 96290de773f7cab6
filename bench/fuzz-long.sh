#!/usr/bin/env bash
# Long fuzzing runs (not part of the test suite): every target for FUZZ_SECONDS (default 600),
# two at a time, with the corpus kept under build-asan/corpus/ so that runs build on each
# other. Configures and builds build-asan/ first. Findings land in build-asan/fuzz-artifacts/;
# each one becomes a regression input (tests/unit/fixtures/fuzz-regressions/<target>/).
#   bench/fuzz-long.sh [TARGET...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -DSTACKSCOPE_FUZZ=ON -DSTACKSCOPE_WERROR=ON >/dev/null
cmake --build build-asan -j"${JOBS:-2}"
FUZZ_SECONDS="${FUZZ_SECONDS:-600}" FUZZ_CORPUS_DIR="$ROOT/build-asan/corpus" exec scripts/fuzz.sh "$@"
