#!/bin/sh
# Runs the libFuzzer targets for SECONDS each (default 60), seeded from the
# rule corpus in ../shared (when present) and the examples.
# Usage: scripts/fuzz.sh [SECONDS] [compile|ndjson|yaml_test|all]
# yaml_test (the `eqlite test` loader) is seeded from tests/fuzz-seeds/yaml_test.
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
ninja -C build-fuzz tests/fuzz_compile tests/fuzz_ndjson tests/fuzz_yaml_test >/dev/null
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
run() { # target seeds
    mkdir -p "build-fuzz/corpus-$1"
    echo "== fuzz_$1 for ${SECONDS_EACH}s"
    "build-fuzz/tests/fuzz_$1" -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "build-fuzz/corpus-$1" "$2" 2>&1 | tail -n 12
}
case "$WHICH" in
compile) run compile "$seeds" ;;
ndjson) mkdir -p build-fuzz/seeds-ndjson; run ndjson build-fuzz/seeds-ndjson ;;
yaml_test) run yaml_test tests/fuzz-seeds/yaml_test ;;
*) run compile "$seeds"; mkdir -p build-fuzz/seeds-ndjson; run ndjson build-fuzz/seeds-ndjson
   run yaml_test tests/fuzz-seeds/yaml_test ;;
esac
