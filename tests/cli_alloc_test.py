#!/usr/bin/env python3
"""`eqlite query` under a failing malloc (failmalloc.c, LD_PRELOAD): for every
allocation N of a clean run, the run with allocation N failing must exit 0
with the clean run's output, or exit non-zero with a message on stderr; never
die by a signal, never exit 0 with other output. Skipped (77) in sanitizer
builds, where ASan owns malloc."""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("EQLITE_BIN", "eqlite")
SHIM = os.environ.get("EQLITE_FAILMALLOC")
SRC = os.environ.get("EQLITE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
RULE = os.path.join(SRC, "examples", "rules", "unusual-cmd-parent.eql")


def sanitized(path):
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data or b"__msan_init" in data


def event(i, ts, cat, name, parent, host, port=None):
    ev = {"@timestamp": ts, "event": {"id": i, "category": [cat], "type": ["start"]},
          "host": {"os": {"type": "windows"}, "id": host},
          "process": {"name": name, "parent": {"name": parent}}}
    if port:
        ev["destination"] = {"port": port}
    return json.dumps(ev, separators=(",", ":"))


def run(args, tmp, fail_at=0):
    env = dict(os.environ, LD_PRELOAD=SHIM, FAILMALLOC_AT=str(fail_at),
               FAILMALLOC_COUNT=os.path.join(tmp, "count"))
    r = subprocess.run([BIN] + args, capture_output=True, env=env, timeout=60)
    with open(os.path.join(tmp, "count")) as f:
        calls = int(f.read())
    return r, calls


def every_failure_point(name, args, tmp):
    clean, total = run(args, tmp)
    if clean.returncode != 0 or not clean.stdout:
        print("FAIL %s: the clean run fails or finds nothing: %r" % (name, clean))
        return 1
    wrong = 0
    errors = 0
    for n in range(1, total + 1):
        r, _ = run(args, tmp, n)
        if r.returncode < 0:
            problem = "killed by signal %d" % -r.returncode
        elif r.returncode == 0 and r.stdout != clean.stdout:
            problem = "exit 0 with other output"
        elif r.returncode != 0 and not r.stderr.strip():
            problem = "exit %d without a message" % r.returncode
        else:
            errors += r.returncode != 0
            continue
        wrong += 1
        print("FAIL %s: allocation %d of %d: %s\n  stderr: %s\n  stdout: %s" %
              (name, n, total, problem, r.stderr.decode(errors="replace")[-600:],
               r.stdout.decode(errors="replace")[-300:]))
    print("%s %s: %d allocations, %d failing points exit with an error, %d wrong" %
          ("ok  " if not wrong else "FAIL", name, total, errors, wrong))
    return wrong


def main(tmp):
    events = [
        event(1, "2024-05-01T00:00:01Z", "process", "cmd.exe", "lsass.exe", "h1"),
        event(2, "2024-05-01T00:00:02Z", "network", "svc.exe", "services.exe", "h1", 443),
        event(3, "2024-05-01T00:00:03Z", "process", "cmd.exe", "explorer.exe", "h2"),
        event(4, "2024-05-01T00:00:04Z", "process", "whoami.exe", "cmd.exe", "h1"),
        event(5, "2024-05-01T00:00:05Z", "process", "cmd.exe", "wermgr.exe", "h2"),
        event(6, "2024-05-01T00:00:06Z", "network", "svc.exe", "services.exe", "h2", 8443),
        event(7, "2024-05-01T00:00:07Z", "process", "net.exe", "cmd.exe", "h2"),
    ]
    path = os.path.join(tmp, "events.ndjson")
    with open(path, "w") as f:
        f.write("\n".join(events) + "\n{\"bad\": tru}\n")
    seq = ("sequence by host.id with maxspan=1m [process where process.name : \"cmd.exe\"] "
           "[network where destination.port in (443, 8443)] [process where process.name : (\"whoami.exe\", \"net.exe\")]")
    rules = os.path.join(tmp, "rules.jsonl")
    with open(rules, "w") as f:
        for k, q in enumerate([open(RULE).read(), seq, "network where destination.port == 443",
                               "process where process.parent.name == \"cmd.exe\""]):
            f.write(json.dumps({"rule_id": "r%d" % k, "name": "rule %d" % k, "query": q}) + "\n")
    rule_dir = os.path.join(tmp, "rules")
    os.mkdir(rule_dir)
    with open(os.path.join(rule_dir, "a.eql"), "w") as f:
        f.write(open(RULE).read())
    with open(os.path.join(rule_dir, "b.eql"), "w") as f:
        f.write("process where process.name : \"cmd.exe\"\n")
    with open(os.path.join(rule_dir, "c.toml"), "w") as f:  # the TOML reader (toml11) under failing malloc
        f.write("[rule]\nrule_id = \"c\"\ntype = \"eql\"\nquery = '''\nnetwork where destination.port == 443\n'''\n")
    wrong = 0
    wrong += every_failure_point("event rule", ["query", "-f", RULE, path], tmp)
    wrong += every_failure_point("event rule, two jobs", ["query", "-j", "2", "-f", RULE, path], tmp)
    wrong += every_failure_point("sequence rule", ["query", seq, path], tmp)
    wrong += every_failure_point("rule set, csv with fields and a line per rule",
                                 ["query", "-r", rules, "--format", "csv", "--fields", "event.id,host.id", "--stats",
                                  path], tmp)
    wrong += every_failure_point("rule set with a sequence, two jobs", ["query", "-j", "2", "-r", rules, path], tmp)
    wrong += every_failure_point("rule directory, table", ["query", "-r", rule_dir, "--format", "table", path], tmp)
    return 1 if wrong else 0


if __name__ == "__main__":
    if not SHIM or not os.path.exists(SHIM):
        print("no failmalloc shim: skipped")
        sys.exit(77)
    if sanitized(BIN):
        print("sanitizer build: LD_PRELOAD malloc conflicts with ASan: skipped")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        sys.exit(main(d))
