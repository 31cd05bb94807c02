#!/usr/bin/env python3
"""eqlite publish / worker / alerts against a real nats-server (JetStream),
started here on free 127.0.0.1 ports with a temporary store and stopped by
pid. Skips (exit 77) when nats-server is not installed.

Checks: a re-run of publish stores nothing twice; a worker's alerts are
byte for byte those of `eqlite query -r`, sequences included (held events
are acknowledged only once released); a worker killed with SIGKILL partway
is replaced by another that replays from the ack floor, and the alert
stream still holds every alert exactly once; a server SIGKILLed and
restarted while publish runs leaves every event stored once, in the order
of the file."""
import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

EQLITE = os.environ.get("EQLITE_BIN") or sys.argv[1]
SHARED = os.environ.get("EQLITE_SHARED_DIR") or sys.argv[2]
RULES = os.path.join(SHARED, "corpus", "detection-rules-eql.jsonl")
GEN = os.path.join(SHARED, "tools", "gen_events.py")
EXTRA = [
    '{"id": "t-seq-host", "name": "cmd then network", "query": "sequence by host.name with maxspan=30s '
    '[process where process.name : \\"cmd.exe\\"] [network where true]"}',
    '{"id": "t-seq-user", "name": "by user", "query": "sequence by user.name with maxspan=1s '
    '[process where process.name : \\"cmd.exe\\"] [process where process.name : \\"cmd.exe\\"]"}',
]
failures = 0
passed = 0


def check(ok, what):
    global failures, passed
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1
    passed += 1 if ok else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    return subprocess.run([EQLITE, *args], capture_output=True, text=True, timeout=300, **kw)


def main():
    if not shutil.which("nats-server"):
        print("SKIP: nats-server is not installed (apt-get install nats-server)")
        return 77
    if not os.path.exists(GEN):
        print("SKIP: %s not found" % GEN)
        return 77
    tmp = tempfile.mkdtemp(prefix="eqlite-nats-")
    port = free_port()
    url = "nats://127.0.0.1:%d" % port

    def start_server():
        p = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", tmp],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        return p

    server = start_server()
    workers = []
    try:
        events = os.path.join(tmp, "events.ndjson")
        subprocess.run([sys.executable, GEN, "--n", "12000", "--seed", "7", "--out", events], check=True)
        rules = os.path.join(tmp, "rules.jsonl")
        with open(rules, "w") as out, open(RULES) as corpus:
            out.write(corpus.read())
            out.write("\n".join(EXTRA) + "\n")
        want = collections.Counter(run("query", "-r", rules, events).stdout.splitlines())
        check(sum(want.values()) > 100 and any('"join_keys"' in a for a in want), "query -r finds alerts, sequences among them")

        # 1. publish twice: the second run is all duplicates
        first = run("publish", "--nats", url, "--stream", "A", "--partitions", "4", "--partition-by", "host.name", events)
        again = run("publish", "--nats", url, "--stream", "A", events)
        check(first.returncode == 0 and " 12000 acknowledged as new" in first.stdout, "publish stores every event: " + first.stdout.strip())
        check(again.returncode == 0 and " 0 acknowledged as new, 12000 as duplicates" in again.stdout,
              "a re-run publishes nothing twice: " + again.stdout.strip())
        bad = run("publish", "--nats", url, "--stream", "A", "--partitions", "8", events)
        check(bad.returncode == 2 and "4 partitions" in bad.stderr, "a layout that differs is refused")

        # 2. one worker: the same alerts as query -r
        w = run("worker", "--nats", url, "--stream", "A", "-r", rules, "--alerts", "alerts.a", "--exit-idle", "1",
                "--lease-ttl", "2")
        check(w.returncode == 0, "worker exits 0 at the end of the stream")
        check("joined by host.name run per partition" in w.stderr and "cross partitions" in w.stderr,
              "worker reports the rule split")
        got = collections.Counter(run("alerts", "--nats", url, "--stream", "A").stdout.splitlines())
        check(got == want, "worker alerts == query -r (%d, %d)" % (sum(got.values()), sum(want.values())))

        # 3. two workers, one killed partway; its partitions move and replay
        half = os.path.join(tmp, "half1.ndjson"), os.path.join(tmp, "half2.ndjson")
        lines = open(events).read().splitlines(True)
        open(half[0], "w").writelines(lines[:6000])
        open(half[1], "w").writelines(lines[6000:])
        p1 = run("publish", "--nats", url, "--stream", "B", "--partitions", "4", "--partition-by", "host.name", half[0])
        check(p1.returncode == 0, "publish the first half: " + (p1.stdout + p1.stderr).strip()[-300:])
        args = ["worker", "--nats", url, "--stream", "B", "-r", rules, "--alerts", "alerts.b", "--exit-idle", "4",
                "--lease-ttl", "2"]
        victim = subprocess.Popen([EQLITE, *args], stderr=subprocess.PIPE, text=True)
        workers.append(victim)
        deadline = time.time() + 60
        while time.time() < deadline and len(run("alerts", "--nats", url, "--stream", "B").stdout.splitlines()) < 50:
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        heir = subprocess.Popen([EQLITE, *args], stderr=subprocess.PIPE, text=True)
        workers.append(heir)
        p2 = run("publish", "--nats", url, "--stream", "B", half[1])
        check(p2.returncode == 0, "publish the second half: " + (p2.stdout + p2.stderr).strip()[-300:])
        _, err = heir.communicate(timeout=180)
        check(heir.returncode == 0, "the second worker finishes")
        check("owns p.0 from stream sequence" in err, "it takes the partitions over")
        got = collections.Counter(run("alerts", "--nats", url, "--stream", "B").stdout.splitlines())
        lost = sum((want - got).values())
        dup = sum((got - want).values())
        check(lost == 0 and dup == 0, "after SIGKILL: alerts %d/%d, lost %d, duplicated %d"
              % (sum((want & got).values()), sum(want.values()), lost, dup))

        # 4. the server dies while publish runs and comes back: what was lost
        # in flight is sent again, and nothing lands ahead of an event before it
        big = os.path.join(tmp, "big.ndjson")
        subprocess.run([sys.executable, GEN, "--n", "60000", "--seed", "3", "--out", big], check=True)
        pub = subprocess.Popen([EQLITE, "publish", "--nats", url, "--stream", "C", "--partitions", "8",
                                "--partition-by", "host.name", big], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        workers.append(pub)
        time.sleep(0.4)
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(0.3)
        server = start_server()
        out, err = pub.communicate(timeout=240)
        check(pub.returncode == 0, "publish outlives a server restart: " + (out + err).strip()[-300:])
        sent = [line.rstrip("\n") for line in open(big)]
        stored = run("alerts", "--nats", url, "--alerts-stream", "C").stdout.splitlines()
        resent = out.split(", ")[3] if out.count(", ") >= 3 else out.strip()
        check(collections.Counter(stored) == collections.Counter(sent),
              "every event stored once (%d of %d; %s)" % (len(stored), len(sent), resent))
        check(stored == sent, "in the order of the file")

        # 5. a value that cannot take its field's type is ignored with a
        # notice naming the field, as `eqlite query` gives it (it was silent)
        odd = os.path.join(tmp, "odd.ndjson")
        with open(odd, "w") as f:
            f.write('{"@timestamp":"2024-05-01T00:00:00Z","event":{"category":"process"},'
                    '"host":{"name":"h"},"process":{"pid":"abc","name":"cmd.exe"}}\n')
        pid_rule = os.path.join(tmp, "pid.eql")
        open(pid_rule, "w").write("process where process.pid == 4\n")
        alone = run("query", "-f", pid_rule, odd).stderr
        pd = run("publish", "--nats", url, "--stream", "D", "--partitions", "1", odd)
        wd = run("worker", "--nats", url, "--stream", "D", "-r", pid_rule, "--alerts", "alerts.d", "--exit-idle", "1",
                 "--lease-ttl", "2")
        note = 'field [process.pid]: cannot convert "abc" to long; value ignored (ignore_malformed)'
        check(pd.returncode == 0 and wd.returncode == 0 and note in alone and note in wd.stderr,
              "the worker says which value it ignored, as query does: " + wd.stderr.strip()[-200:])
    finally:
        for p in workers:
            if p.poll() is None:
                p.kill()
                p.wait()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
