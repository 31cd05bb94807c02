#!/bin/sh
# Throughput of `eqlite worker` beside `eqlite query -r` on the same events,
# in the same run: one JetStream server on 127.0.0.1 (temp store, stopped by
# pid), the corpus, gen_events data; 1 worker, then 2 workers on a second
# copy of the stream.
#   scripts/cluster-bench.sh [--events N] [--eqlite PATH] [--shared DIR]
set -u
cd "$(dirname "$0")/.."
EVENTS=50000 EQLITE=${EQLITE:-build/cli/eqlite} SHARED=${SHARED:-../shared}
while [ $# -gt 0 ]; do
    case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --eqlite) EQLITE=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    *) echo "usage: $0 [--events N] [--eqlite PATH] [--shared DIR]" >&2; exit 2 ;;
    esac
done
command -v nats-server >/dev/null 2>&1 || { echo "SKIP: nats-server is not installed"; exit 77; }
TMP=$(mktemp -d /tmp/eqlite-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$TMP/js" >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
URL=nats://127.0.0.1:$PORT
RULES=$SHARED/corpus/detection-rules-eql.jsonl
python3 "$SHARED/tools/gen_events.py" --n "$EVENTS" --seed 1 --out "$TMP/events.ndjson"
sleep 0.5
echo "== eqlite query -r (one core, no NATS)"
"$EQLITE" query -r "$RULES" --stats "$TMP/events.ndjson" 2>&1 >/dev/null | grep "^events "
for n in 1 2; do
    echo "== $n worker(s), stream W$n (16 partitions by host.id, partition-of-all for cross-host sequences)"
    "$EQLITE" publish --nats "$URL" --stream "W$n" "$TMP/events.ndjson"
    start=$(python3 -c 'import time; print(time.monotonic())')
    pids=""
    for k in $(seq "$n"); do
        "$EQLITE" worker --nats "$URL" --stream "W$n" -r "$RULES" --alerts "alerts.w$n" --exit-idle 2 \
            --lease-ttl 4 2>"$TMP/w$n.$k.log" &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p"; done
    for k in $(seq "$n"); do grep "events [0-9]" "$TMP/w$n.$k.log" | sed 's/^eqlite worker [^:]*: /  /'; done
    echo "  alerts stored: $("$EQLITE" alerts --nats "$URL" --stream "W$n" | wc -l)"
done
