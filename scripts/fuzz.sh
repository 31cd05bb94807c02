#!/bin/sh
# Runs the libFuzzer targets for SECONDS each (default 60), seeded from the
# rule corpus in ../shared (when present) and the examples.
# Usage: scripts/fuzz.sh [SECONDS] [compile|ndjson|evtx|profiles|all]
# EVTX and profile seeds: tests/fuzz-seeds/*, the profiles, and ../shared's EVTX files.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
WHICH=${2:-all}
scripts/setup.sh build >/dev/null
for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || \
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
if [ ! -d build-fuzz ]; then
    CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz tests/fuzz_compile tests/fuzz_ndjson tests/fuzz_evtx tests/fuzz_profiles >/dev/null
seeds=build-fuzz/seeds-compile
mkdir -p "$seeds"
cp examples/rules/*.eql "$seeds"/ 2>/dev/null || true
if [ -f ../shared/corpus/detection-rules-eql.jsonl ]; then
    python3 - "$seeds" <<'PY'
import json, sys, os
out = sys.argv[1]
for i, line in enumerate(open('../shared/corpus/detection-rules-eql.jsonl')):
    q = json.loads(line)['query']
    if len(q) < 4000:
        open(os.path.join(out, 'rule%04d.eql' % i), 'w').write(q)
PY
fi
mkdir -p build-fuzz/seeds-evtx build-fuzz/seeds-profiles
cp tests/fuzz-seeds/evtx/* build-fuzz/seeds-evtx/
cp tests/fuzz-seeds/profiles/* lib/io/sources/*.profile build-fuzz/seeds-profiles/
[ -d ../shared/sources ] && find ../shared/sources -name '*.evtx' -size -200k -exec cp {} build-fuzz/seeds-evtx/ \;
# libevtx 20181227 leaks some allocations on corrupt records (inside
# libfwevt): the EVTX target runs without leak detection.
run() { # target seeds [max_len] [flags]
    mkdir -p "build-fuzz/corpus-$1"
    echo "== fuzz_$1 for ${SECONDS_EACH}s"
    "build-fuzz/tests/fuzz_$1" -max_total_time="$SECONDS_EACH" -max_len="${3:-8192}" ${4:-} -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "build-fuzz/corpus-$1" "$2" 2>&1 | tail -n 12
}
case "$WHICH" in
compile) run compile "$seeds" ;;
ndjson) mkdir -p build-fuzz/seeds-ndjson; run ndjson build-fuzz/seeds-ndjson ;;
evtx) ASAN_OPTIONS=detect_leaks=0 run evtx build-fuzz/seeds-evtx 135168 -detect_leaks=0 ;;
profiles) run profiles build-fuzz/seeds-profiles ;;
*) run compile "$seeds"; mkdir -p build-fuzz/seeds-ndjson; run ndjson build-fuzz/seeds-ndjson
   ASAN_OPTIONS=detect_leaks=0 run evtx build-fuzz/seeds-evtx 135168 -detect_leaks=0; run profiles build-fuzz/seeds-profiles ;;
esac
