#!/bin/sh
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for
# SECONDS (default 60), seeded from tests/fuzz-seeds/TARGET and, for the rule
# targets, from the rule corpus in ../shared when it is present.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET|all]
# Targets: compile (rule text), run (a rule run over events), ruleset (rules
# as one ruleset over events, sequences fed), rule_index (generated rules and
# events: each rule's results through the ruleset equal its results alone),
# mapping (mappings and the value
# conversions they drive), ndjson (the event reader), rules (the TOML and
# JSON rule-file readers), yaml_test (the `eqlite test` loader), evtx (the
# EVTX reader; libevtx runs in a child process, whose crashes, leaks and
# stalls are the reader's to report: the target checks the reader around it,
# with a timeout above the reader's 30 s stall limit) and profiles (source
# profiles). Prints one "fuzz TARGET: ok|FAILED ..." line per target and
# exits non-zero when any target found a crash, leak or timeout.
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
WHICH=${2:-all}
TARGETS="compile run ruleset rule_index mapping ndjson rules yaml_test evtx profiles"
[ "$WHICH" = all ] || TARGETS=$WHICH
scripts/setup.sh build >/dev/null || exit 2
for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || \
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
if [ ! -d build-fuzz ]; then
    CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false --buildtype=debugoptimized >/dev/null || exit 2
fi
for t in $TARGETS; do
    ninja -C build-fuzz "tests/fuzz_$t" >/dev/null || { echo "fuzz $t: FAILED to build"; exit 2; }
done
# Corpus rules (short ones) as extra seeds for the rule targets.
extra=build-fuzz/seeds-corpus
mkdir -p "$extra"
if [ -f ../shared/corpus/detection-rules-eql.jsonl ] && [ -z "$(ls -A "$extra")" ]; then
    python3 - "$extra" <<'PY'
import json, sys, os
out = sys.argv[1]
for i, line in enumerate(open('../shared/corpus/detection-rules-eql.jsonl')):
    q = json.loads(line)['query']
    if len(q) < 4000:
        open(os.path.join(out, 'rule%04d.eql' % i), 'w').write(q)
PY
fi
# EVTX seeds: small sample files from ../shared too; profiles: the shipped ones.
mkdir -p build-fuzz/seeds-evtx build-fuzz/seeds-profiles
[ -d ../shared/sources ] && find ../shared/sources -name '*.evtx' -size -200k -exec cp {} build-fuzz/seeds-evtx/ \;
cp lib/io/sources/*.profile build-fuzz/seeds-profiles/
failed=0
for t in $TARGETS; do
    corpus="build-fuzz/corpus-$t"
    mkdir -p "$corpus"
    seeds="tests/fuzz-seeds/$t"
    max_len=8192
    leaks=1
    [ "$t" = compile ] && seeds="$seeds $extra"
    timeout=10
    [ "$t" = evtx ] && { seeds="$seeds build-fuzz/seeds-evtx"; max_len=135168; timeout=60; }
    [ "$t" = profiles ] && seeds="$seeds build-fuzz/seeds-profiles"
    log="build-fuzz/fuzz-$t.log"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=$leaks "build-fuzz/tests/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=$max_len \
        -timeout=$timeout -rss_limit_mb=2048 -detect_leaks=$leaks -print_final_stats=1 \
        -artifact_prefix="build-fuzz/crash-$t-" "$corpus" $seeds >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ $rc -eq 0 ]; then
        echo "fuzz $t: ok, ${runs:-?} runs in ${SECONDS_EACH}s"
    else
        echo "fuzz $t: FAILED (exit $rc, log $log):"
        grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -n 5
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ]
