#!/usr/bin/env bash
# Runs the libFuzzer targets of build-asan/ (clang, configured with -DSTACKSCOPE_FUZZ=ON, see
# README "Fuzzing"), FUZZ_PARALLEL at a time, each for FUZZ_SECONDS, from its committed seed
# corpus (tests/fuzz/corpus/<target>, read, never written). New inputs go to a temporary
# corpus, or to FUZZ_CORPUS_DIR/<target> when set (kept between runs). A crash, leak,
# sanitizer report or timeout fails the run and prints the reproducer's path. Logs: $BUILD/fuzz-logs/.
#   scripts/fuzz.sh [TARGET...]        (default: every target)
# Environment: FUZZ_SECONDS (48), FUZZ_PARALLEL (2), FUZZ_BUILD_DIR (build-asan),
#              FUZZ_CORPUS_DIR (unset: temporary), FUZZ_TIMEOUT (seconds per input, 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${FUZZ_SECONDS:-48}"
PARALLEL="${FUZZ_PARALLEL:-2}"
BUILD="${FUZZ_BUILD_DIR:-build-asan}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    # Every target the build made (tests/fuzz/CMakeLists.txt's list).
    for binary in "$BUILD"/tests/fuzz/fuzz_*; do
        [ -f "$binary" ] && [ -x "$binary" ] && targets+=("${binary##*/fuzz_}")
    done
    [ ${#targets[@]} -ne 0 ] || { echo "fuzz: no fuzz_* binary in $BUILD/tests/fuzz (configure with -DSTACKSCOPE_FUZZ=ON and build first)" >&2; exit 1; }
fi

work="$(mktemp -d /tmp/stackscope-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
artifacts="$BUILD/fuzz-artifacts"
logs="$BUILD/fuzz-logs"
mkdir -p "$artifacts" "$logs"

run_one() {
    local target="$1" corpus
    local binary="$BUILD/tests/fuzz/fuzz_$target" seeds="tests/fuzz/corpus/$target"
    if [ -n "${FUZZ_CORPUS_DIR:-}" ]; then corpus="$FUZZ_CORPUS_DIR/$target"; else corpus="$work/corpus-$target"; fi
    mkdir -p "$corpus" "$artifacts/$target"
    [ -x "$binary" ] || { echo "fuzz: $binary is missing (configure and build $BUILD first)" > "$logs/$target.log"; return 1; }
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1" \
        "$binary" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$target/" "$corpus" "$seeds" > "$logs/$target.log" 2>&1
}

declare -A pids
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n || true; done
    echo "fuzz: $target for ${SECONDS_EACH}s"
    run_one "$target" &
    pids[$target]=$!
done

failed=()
for target in "${targets[@]}"; do
    rc=0
    wait "${pids[$target]}" || rc=$?
    log="$logs/$target.log"
    stats="$(grep -E '^stat::(number_of_executed_units|new_units_added|slowest_unit_time_sec)' "$log" | awk '{printf "%s ", $0}' || true)"
    if [ $rc -eq 0 ]; then
        echo "fuzz: $target ok  $stats"
        continue
    fi
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $rc); last lines of its log:"
    tail -n 60 "$log" | sed 's/^/    /'
    reproducer="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //' || true)"
    if [ -n "$reproducer" ]; then
        echo "fuzz: reproducer: $reproducer  (replay: $BUILD/tests/fuzz/fuzz_$target $reproducer)"
        echo "fuzz: once fixed, commit it as tests/unit/fixtures/fuzz-regressions/$target/<name>"
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${SECONDS_EACH}s without a finding"
