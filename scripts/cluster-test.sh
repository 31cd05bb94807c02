#!/bin/sh
# Detection on a 3-node NATS JetStream cluster, with a worker and a server
# killed partway: every alert `eqlite query -r` finds is in the alert stream
# once. Everything binds to 127.0.0.1 and is stopped by pid.
#
#   scripts/cluster-test.sh [--events N] [--workers W] [--no-kill|--kill-worker-only] [--eqlite PATH] [--shared DIR]
#
# Steps: start 3 nats-server (JetStream, temp store dirs, free loopback
# ports); make an R3 stream (8 partitions by host.name); publish the first
# half of gen_events data; run W workers with the corpus plus three
# sequences that match the data (two per partition, one across partitions);
# once most of the first half's alerts are stored, SIGKILL one worker (its
# partitions hold partial sequences); publish the second half and SIGKILL
# one server while the workers read it; the other workers take the dead
# one's partitions over from their ack floors; publish both halves again
# (all duplicates). Then compare.
# Last line: "alerts N/N, lost 0, duplicated 0". Exit 0 when nothing is lost
# or duplicated, 1 otherwise, 77 when nats-server is not installed.
set -u
cd "$(dirname "$0")/.."
EVENTS=40000 WORKERS=3 KILL=1 EQLITE=${EQLITE:-build/cli/eqlite} SHARED=${SHARED:-../shared}
while [ $# -gt 0 ]; do
    case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --no-kill) KILL=0; shift ;;
    --kill-worker-only) KILL=worker; shift ;;
    --eqlite) EQLITE=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    *) echo "usage: $0 [--events N] [--workers W] [--no-kill|--kill-worker-only] [--eqlite PATH] [--shared DIR]" >&2; exit 2 ;;
    esac
done
if ! command -v nats-server >/dev/null 2>&1; then
    echo "SKIP: nats-server is not installed (apt-get install nats-server; scripts/setup.sh does)"
    exit 77
fi
[ -x "$EQLITE" ] || { echo "no eqlite at $EQLITE (build first, or --eqlite PATH)" >&2; exit 2; }
EQLITE=$(cd "$(dirname "$EQLITE")" && pwd)/$(basename "$EQLITE")
TMP=$(mktemp -d /tmp/eqlite-cluster.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
START=$(date +%s)
elapsed() { echo $(($(date +%s) - START)); }
say() { echo "cluster-test: [$(elapsed) s] $*"; }

# Six free loopback ports (client and route port per server).
set -- $(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()')
P1=$1 P2=$2 P3=$3 C1=$4 C2=$5 C3=$6
URLS="nats://127.0.0.1:$P1,nats://127.0.0.1:$P2,nats://127.0.0.1:$P3"
start_server() { # name client-port route-port other-route other-route
    mkdir -p "$TMP/$1"
    nats-server -a 127.0.0.1 -p "$2" -n "$1" -js -sd "$TMP/$1" --cluster_name eqlite-test \
        --cluster "nats://127.0.0.1:$3" --routes "nats://127.0.0.1:$4,nats://127.0.0.1:$5" \
        >"$TMP/$1.log" 2>&1 &
    PIDS="$PIDS $!"
    eval "PID_$1=$!"
}
start_server s1 "$P1" "$C1" "$C2" "$C3"
start_server s2 "$P2" "$C2" "$C1" "$C3"
start_server s3 "$P3" "$C3" "$C1" "$C2"
for p in $P1 $P2 $P3; do # until each accepts connections
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 0.2)" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || { say "server on port $p did not start"; cat "$TMP"/s*.log; exit 1; }
        sleep 0.1
    done
done
say "3 servers on 127.0.0.1:$P1,$P2,$P3 (pids$PIDS)"

python3 "$SHARED/tools/gen_events.py" --n "$EVENTS" --seed 1 --out "$TMP/events.ndjson" || exit 1
HALF=$((EVENTS / 2))
head -n "$HALF" "$TMP/events.ndjson" >"$TMP/first.ndjson"
tail -n +"$((HALF + 1))" "$TMP/events.ndjson" >"$TMP/second.ndjson"
# The corpus joins sequences by host.id, which gen_events does not set: these
# sequences match its data, so replays must rebuild real partial state.
cat "$SHARED/corpus/detection-rules-eql.jsonl" >"$TMP/rules.jsonl"
cat >>"$TMP/rules.jsonl" <<'EOF'
{"id": "test-seq-host", "name": "cmd.exe then a connection on the host", "query": "sequence by host.name with maxspan=30s [process where process.name : \"cmd.exe\"] [network where true]"}
{"id": "test-seq-host-3", "name": "process, file, registry on the host", "query": "sequence by host.name with maxspan=20s [process where event.type == \"start\"] [file where true] [registry where true]"}
{"id": "test-seq-user", "name": "across hosts by user", "query": "sequence by user.name with maxspan=1s [process where process.name : \"cmd.exe\"] [process where process.name : \"cmd.exe\"]"}
EOF
"$EQLITE" query -r "$TMP/rules.jsonl" "$TMP/events.ndjson" >"$TMP/expected.ndjson" || exit 1
EXPECTED=$(wc -l <"$TMP/expected.ndjson")
say "$EVENTS events, $EXPECTED alerts from eqlite query -r"

"$EQLITE" publish --nats "$URLS" --stream EV --replicas 3 --partitions 8 --partition-by host.name \
    "$TMP/first.ndjson" || exit 1
W=0
WPIDS=""
while [ $W -lt "$WORKERS" ]; do
    W=$((W + 1))
    "$EQLITE" worker --nats "$URLS" --stream EV -r "$TMP/rules.jsonl" --alerts alerts.ev --lease-ttl 5 \
        --exit-idle 10 2>"$TMP/worker$W.log" &
    PIDS="$PIDS $!"
    WPIDS="$WPIDS $!"
done

"$EQLITE" query -r "$TMP/rules.jsonl" "$TMP/first.ndjson" >"$TMP/expected-first.ndjson"
want=$(($(wc -l <"$TMP/expected-first.ndjson") * 9 / 10))
# Deadlines are wall-clock seconds, not polls: a sanitizer build on a loaded
# machine polls slowly. Timing out says which step was slow.
deadline=$(($(date +%s) + ${STEP_SECONDS:-300}))
while :; do # until most of the first half's alerts are stored
    n=$("$EQLITE" alerts --nats "$URLS" --stream EV 2>/dev/null | wc -l)
    [ "${n:-0}" -ge "$want" ] && break
    for p in $WPIDS; do # a worker that died on its own fails the test now
        kill -0 "$p" 2>/dev/null || { say "worker $p exited early"; tail -n 20 "$TMP"/worker*.log; exit 1; }
    done
    [ "$(date +%s)" -lt "$deadline" ] ||
        { say "workers stored only ${n:-0} of $want alerts in ${STEP_SECONDS:-300} s"; tail -n 5 "$TMP"/worker*.log; exit 1; }
    sleep 0.25 # each look reads the whole alert stream
done
if [ "$KILL" != 0 ]; then
    victim=$(echo $WPIDS | cut -d' ' -f1)
    kill -9 "$victim"
    say "SIGKILL worker pid $victim after $n of $EXPECTED alerts were stored"
fi
"$EQLITE" publish --nats "$URLS" --stream EV "$TMP/second.ndjson" >"$TMP/publish2.log" 2>&1 ||
    { say "publishing the second half failed"; cat "$TMP/publish2.log"; exit 1; }
cat "$TMP/publish2.log"
if [ "$KILL" = 1 ]; then # while the workers take the second half in
    kill -9 "$PID_s3"
    say "SIGKILL server s3 (pid $PID_s3) while the workers read the second half"
fi
status=0
# A re-run of publish on both halves (with s3 dead, if killed) stores
# nothing twice (a message id is the record's hash and offset in its file).
"$EQLITE" publish --nats "$URLS" --stream EV "$TMP/first.ndjson" "$TMP/second.ndjson" >"$TMP/publish3.log" 2>&1 ||
    status=1
cat "$TMP/publish3.log"
grep -q ": 0 acknowledged as new, $EVENTS as duplicates" "$TMP/publish3.log" ||
    { say "publishing the same events again stored some twice"; status=1; }
for p in $WPIDS; do
    [ "$KILL" != 0 ] && [ "$p" = "$victim" ] && { wait "$p" 2>/dev/null; continue; }
    deadline=$(($(date +%s) + ${STEP_SECONDS:-300}))
    while kill -0 "$p" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] ||
            { say "worker $p did not finish in ${STEP_SECONDS:-300} s"; kill -9 "$p"; status=1; break; }
        sleep 0.1
    done
    wait "$p" || status=1
done
say "workers done"
for f in "$TMP"/worker*.log; do grep -E "events [0-9]|lost|missing|cannot|error" "$f" | sed "s|^|$(basename "$f"): |"; done
"$EQLITE" alerts --nats "$URLS" --stream EV >"$TMP/got.ndjson" || status=1
python3 - "$TMP/expected.ndjson" "$TMP/got.ndjson" "$status" <<'EOF'
import collections, sys
want = collections.Counter(open(sys.argv[1], encoding="utf-8").read().splitlines())
got = collections.Counter(open(sys.argv[2], encoding="utf-8").read().splitlines())
lost = sum((want - got).values())
dup = sum((got - want).values())
found = sum((want & got).values())
total = sum(want.values())
for line in list((want - got).elements())[:3]:
    print("lost:", line[:200])
for line in list((got - want).elements())[:3]:
    print("extra:", line[:200])
print("alerts %d/%d, lost %d, duplicated %d" % (found, total, lost, dup))
sys.exit(0 if lost == 0 and dup == 0 and sys.argv[3] == "0" else 1)
EOF
