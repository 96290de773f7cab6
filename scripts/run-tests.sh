#!/usr/bin/env bash
# The one command that runs the whole test suite:
#   install deps -> CPython 3.13/3.14/3.15 and their debug builds from Debian unstable (downloaded in
#   the background while the format check and the normal build run) -> build (normal, gcc; then
#   build-asan/, clang with ASan+UBSan and the libFuzzer targets) -> unit tests (both) -> fuzz
#   targets (build-asan/, each FUZZ_SECONDS) -> integration tests (their ASan stages: build-asan/).
# Extra arguments go to pytest, e.g. scripts/run-tests.sh -k live
# Environment: JOBS (build parallelism, default 2), PYTEST_TIMEOUT (per test, seconds, default 300),
#              FUZZ_SECONDS (per fuzz target, default 48; JOBS targets run at a time).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-2}"
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-300}"
SANITIZER_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)

failed=()
timings=()

# run_stage NAME COMMAND...: runs and times a stage; records failure, never exits.
run_stage() {
    local name="$1"; shift
    local start=$SECONDS rc=0
    echo "=== [$name] $*"
    "$@" || rc=$?
    timings+=("$(printf '%-22s %4ds  %s' "$name" $((SECONDS - start)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
    if [ $rc -ne 0 ]; then failed+=("$name"); fi
    return $rc
}

# A failed fuzz stage's findings, repeated after everything else: CI keeps only the end of the
# output, and a finding must be reproducible from it (small reproducers are printed in base64).
fuzz_findings() {
    local log="build-asan/fuzz-stage.log" artifact
    [ -f "$log" ] || return 0
    echo "=== fuzz findings"
    grep -E "FAILED|ERROR|SUMMARY|==[0-9]+==|deadly|timeout|leak|out-of-memory|reproducer" "$log" | head -n 40 || true
    for artifact in build-asan/fuzz-artifacts/*/*; do
        [ -f "$artifact" ] || continue
        echo "--- $artifact ($(stat -c %s "$artifact") bytes)"
        if [ "$(stat -c %s "$artifact")" -le 8192 ]; then base64 -w 0 "$artifact"; echo; fi
    done
}

summary() {
    echo
    if [[ " ${failed[*]} " == *" fuzz "* ]]; then fuzz_findings; fi
    echo "=== stage times"
    printf '%s\n' "${timings[@]}"
    if [ ${#failed[@]} -ne 0 ]; then
        echo "=== FAILED: ${failed[*]}"
        exit 1
    fi
    echo "=== all stages passed"
}

# A build failure stops the run: nothing after it can be trusted.
require_stage() {
    run_stage "$@" || { summary; exit 1; }
}

fuzz_stage() {  # pipefail: fails as fuzz.sh does
    env FUZZ_PARALLEL="$JOBS" scripts/fuzz.sh 2>&1 | tee build-asan/fuzz-stage.log
}

pytest_integration() {
    local rc=0
    PYTHONDONTWRITEBYTECODE=1 STACKSCOPE_BIN="$ROOT/build/stackscope" STACKSCOPE_ASAN_BIN="$asan_bin" \
        /usr/bin/python3 -m pytest -n 2 --timeout="$PYTEST_TIMEOUT" tests/integration "$@" || rc=$?
    if [ $rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; fi
    return $rc
}

# CPython 3.13 (a second patch level), 3.14 and 3.15, and their debug builds, come from Debian
# unstable, unpacked under build/ (the tests find them there); a failure here leaves their tests
# skipped, which CI=true then reports as failures.
fetch_debian_pythons() {
    local rc=0 version
    for version in 3.13 3.14 3.15; do
        scripts/get-debian-python.sh "$version" "build/debian-python/$version" || rc=1
        scripts/get-debian-python.sh --debug "$version" "build/debian-python/$version-dbg" || rc=1
    done
    return $rc
}

if [ -x scripts/install-deps.sh ]; then
    require_stage install-deps scripts/install-deps.sh
fi
# The download is mostly waiting on the network: it overlaps the format check and the normal build,
# and its stage (its log, then its time as the wait that was left) comes before the unit tests.
mkdir -p build
debian_log="$ROOT/build/debian-python.log"
fetch_debian_pythons > "$debian_log" 2>&1 &
debian_pid=$!
await_debian_pythons() {
    local rc=0
    wait "$debian_pid" || rc=$?
    cat "$debian_log"
    return $rc
}
run_stage format scripts/check-format.sh || true
# STACKSCOPE_TEST_HOOKS adds build/stackscope-test-hooks (the tests' STACKSCOPE_TEST_* variables);
# build/stackscope, the one that is installed, is the same either way and has no hooks.
require_stage configure cmake -S . -B build -DSTACKSCOPE_WERROR=ON -DSTACKSCOPE_TEST_HOOKS=ON
require_stage build cmake --build build -j"$JOBS"
# One clang build serves every sanitized stage: ASan+UBSan in every object, and libFuzzer's coverage
# (STACKSCOPE_FUZZ), so the core is compiled sanitized once for the unit tests, the integration
# tests' ASan stages and the fuzz targets. A failed build fails the run but the other stages still
# run (without a stale ASan binary).
asan_bin="$ROOT/build-asan/stackscope"
run_stage configure-asan env CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -DSTACKSCOPE_FUZZ=ON -DSTACKSCOPE_WERROR=ON &&
    run_stage build-asan cmake --build build-asan -j"$JOBS" || asan_bin=/nonexistent/asan-build-failed

run_stage debian-python await_debian_pythons || true
run_stage unit-tests ctest --test-dir build --output-on-failure --no-tests=error -j"$JOBS" || true
if [ "$asan_bin" = "$ROOT/build-asan/stackscope" ]; then
    run_stage unit-tests-asan env "${SANITIZER_ENV[@]}" \
        ctest --test-dir build-asan --output-on-failure --no-tests=error -j"$JOBS" || true
    run_stage fuzz fuzz_stage || true
fi
run_stage integration-tests pytest_integration "$@" || true
summary
