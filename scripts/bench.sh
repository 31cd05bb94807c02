#!/bin/sh
# Reproduces the README's performance figures: a release build, then every
# benchmark beside its baseline (hand-written C predicate, simdjson parse floor).
# Usage: scripts/bench.sh [EVENTS]   (default 1000000; needs ../shared)
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000000}
scripts/setup.sh build-release >/dev/null
B=build-release
echo "== compile all corpus rules";        $B/bench/bench_compile --shared ../shared
echo "== VM vs hand-written C";            $B/bench/bench_vm --shared ../shared --events "$N"
echo "== 1,024 rules as one ruleset";      $B/bench/bench_ruleset --shared ../shared --events "$N"
echo "== sequences (1M, 10M events)";      $B/bench/bench_sequence --events 1000000
                                           $B/bench/bench_sequence --events 10000000
                                           $B/bench/bench_sequence --events "$N" --mode compare
EV=$B/bench-events.ndjson
[ -f "$EV" ] || python3 ../shared/tools/gen_events.py --n "$N" --seed 1 --out "$EV"
echo "== intake: EVTX and vendor JSON beside their floors"; $B/bench/bench_sources --shared ../shared
echo "== eqlite query over NDJSON (beside the simdjson parse floor, -j 1 and -j 2)"
$B/cli/eqlite bench --repeat 3 -f examples/rules/unusual-cmd-parent.eql "$EV"
