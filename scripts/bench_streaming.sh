#!/bin/sh
# The command's ordered runs (issue 9): peak memory and time of the rule
# corpus and of one sequence over events in order and shuffled, each beside
# a baseline binary in the same run. Wall time moves with the machine's load;
# user time and peak RSS are steadier.
# Usage: scripts/bench_streaming.sh BASELINE_EQLITE DATA_DIR
#   DATA_DIR holds ev2m.ndjson (gen_events.py --n 2000000 --seed 1),
#   ev10m.ndjson (the same, five times, each copy a day later) and
#   ev2m-shuf.ndjson (ev2m shuffled: shuf --random-source=<(yes)).
set -eu
BASE=$1
DATA=$2
cd "$(dirname "$0")/.."
NEW=build-st/cli/eqlite
[ -x "$NEW" ] || NEW=build-release/cli/eqlite
C=../shared/corpus/detection-rules-eql.jsonl
REF=examples/rules/unusual-cmd-parent.eql
SEQ='sequence by host.name with maxspan=1m [process where process.name == "cmd.exe"] [network where true]'
EV='process where process.name == "cmd.exe"'
t() { label=$1; shift; /usr/bin/time -f "$label: %e s wall, %U s user, %M KB peak" "$@" >/dev/null; }
for f in ev2m ev10m; do
  t "base -r corpus $f" "$BASE" query -r "$C" "$DATA/$f.ndjson"
  t "new  -r corpus $f" "$NEW" query -r "$C" "$DATA/$f.ndjson"
done
t "base one sequence, shuffled 2M" "$BASE" query "$SEQ" "$DATA/ev2m-shuf.ndjson"
t "new  one sequence, shuffled 2M" "$NEW" query "$SEQ" "$DATA/ev2m-shuf.ndjson"
t "base -r corpus, shuffled 2M" "$BASE" query -r "$C" "$DATA/ev2m-shuf.ndjson"
t "new  -r corpus, shuffled 2M" "$NEW" query -r "$C" "$DATA/ev2m-shuf.ndjson"
t "new  reference rule 2M -j 1" "$NEW" query -f "$REF" "$DATA/ev2m.ndjson"
t "new  -r corpus 2M -j 1" "$NEW" query -r "$C" -j 1 "$DATA/ev2m.ndjson"
t "new  -r corpus 2M -j 2" "$NEW" query -r "$C" -j 2 "$DATA/ev2m.ndjson"
t "base one event rule 2M" "$BASE" query "$EV" "$DATA/ev2m.ndjson"
t "base one sequence 2M" "$BASE" query "$SEQ" "$DATA/ev2m.ndjson"
t "new  one event rule 2M" "$NEW" query "$EV" "$DATA/ev2m.ndjson"
t "new  one sequence 2M" "$NEW" query "$SEQ" "$DATA/ev2m.ndjson"
