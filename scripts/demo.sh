#!/bin/sh
# The main job: set up, build, then run the reference rule ("Unusual Parent
# Process for cmd.exe", examples/rules/unusual-cmd-parent.eql) over sample
# events and check the number of hits.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh build
E=build/cli/eqlite
RULE=examples/rules/unusual-cmd-parent.eql
echo "== eqlite check $RULE"
$E check "$RULE"
echo "== eqlite test examples/tests/unusual-cmd-parent.yaml (rule unit tests)"
$E test examples/tests/unusual-cmd-parent.yaml
GEN=../shared/tools/gen_events.py
if [ -f "$GEN" ]; then
    N=${EQLITE_DEMO_EVENTS:-200000}
    python3 "$GEN" --n "$N" --seed 1 --out build/demo-events.ndjson --expect 2>build/demo-expect.txt
    expected=$(sed -n 's/.*expected_matches=\([0-9]*\).*/\1/p' build/demo-expect.txt)
    echo "== eqlite query -f $RULE build/demo-events.ndjson ($N generated events, $expected expected hits)"
    $E query -f "$RULE" --stats build/demo-events.ndjson >build/demo-hits.ndjson
    got=$(wc -l <build/demo-hits.ndjson)
    head -n 3 build/demo-hits.ndjson | cut -c1-160
    echo "hits: $got (expected $expected)"
    [ "$got" -eq "$expected" ]
else
    echo "== eqlite query -f $RULE examples/tests/unusual-cmd-parent.ndjson"
    $E query -f "$RULE" --stats examples/tests/unusual-cmd-parent.ndjson | cut -c1-160
fi
