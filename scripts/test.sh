#!/bin/sh
# Sets up, builds and runs every test (meson test), then the sanitizer build.
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
# clang and its sanitizer runtimes for the ASan + UBSan pass; doxygen for the API
# reference, built once here to prove every public function is documented
EQLITE_EXTRA_PACKAGES="clang libclang-rt-14-dev doxygen" scripts/setup.sh build -Dwerror=true -Ddocs=enabled || { echo "0 passed, 1 failed"; exit 1; }
passed=0; failed=0
run_suite() { # $1 = build dir, then extra meson test options
    b=$1; shift
    meson test -C "$b" --print-errorlogs --no-stdsplit "$@" >"$b/test-summary.txt" 2>&1
    tail -n 30 "$b/test-summary.txt"
    p=$(sed -n 's/^Ok:[[:space:]]*\([0-9]*\).*/\1/p' "$b/test-summary.txt" | tail -1)
    s=$(sed -n 's/^Skipped:[[:space:]]*\([0-9]*\).*/\1/p' "$b/test-summary.txt" | tail -1)
    f=$(sed -n 's/^Fail:[[:space:]]*\([0-9]*\).*/\1/p' "$b/test-summary.txt" | tail -1)
    t=$(sed -n 's/^Timeout:[[:space:]]*\([0-9]*\).*/\1/p' "$b/test-summary.txt" | tail -1)
    x=$(sed -n 's/^Unexpected Pass:[[:space:]]*\([0-9]*\).*/\1/p' "$b/test-summary.txt" | tail -1)
    passed=$((passed + ${p:-0} + ${s:-0}))
    failed=$((failed + ${f:-0} + ${t:-0} + ${x:-0}))
    [ -n "$p$f" ] || failed=$((failed + 1))
}
run_suite build
if [ "${EQLITE_SKIP_SANITIZERS:-0}" != 1 ]; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
    # -O1 with debug info: the usual sanitizer setting, several times faster
    # than -O0 for the NATS cluster and CLI suites, with usable stack traces
    if [ ! -d build-asan ]; then
        CC=clang CXX=clang++ meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
            -Ddebug=true -Doptimization=1 >/dev/null
    fi
    if ninja -C build-asan >/dev/null; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_suite build-asan --timeout-multiplier 2
        # Criterion reports a test that leaks, or trips UBSan after its
        # assertions, as passing: the sanitizers' own reports decide.
        if grep -qE "ERROR: (Leak|Address)Sanitizer|runtime error:" build-asan/meson-logs/testlog.txt; then
            grep -E "ERROR: (Leak|Address)Sanitizer|runtime error:|^test:" build-asan/meson-logs/testlog.txt |
                grep -B1 -E "Sanitizer|runtime error" | head -n 20
            failed=$((failed + 1))
        fi
    else
        failed=$((failed + 1))
    fi
fi
if [ "${EQLITE_SKIP_FUZZ:-0}" != 1 ]; then
    echo "== fuzz smoke: every libFuzzer target from its seeds, ${EQLITE_FUZZ_SECONDS:-15} s each"
    scripts/fuzz.sh "${EQLITE_FUZZ_SECONDS:-15}" all >fuzz-smoke.txt 2>&1
    cat fuzz-smoke.txt
    p=$(grep -c "^fuzz .*: ok" fuzz-smoke.txt)
    f=$(grep -c "^fuzz .*: FAILED" fuzz-smoke.txt)
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$p" -gt 0 ] || failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
