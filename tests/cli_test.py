#!/usr/bin/env python3
"""Behaviour of `eqlite query`, `eqlite test` and `eqlite bench` as DESIGN.md's
"The eqlite command" describes them: output shapes, exit statuses, bad lines,
.gz and stdin input, -j ordering, sorting for sequences, rule sets, JUnit."""
import gzip
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("EQLITE_BIN", "eqlite")
SRC = os.environ.get("EQLITE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
RULE = os.path.join(SRC, "examples", "rules", "unusual-cmd-parent.eql")
failures = []


def run(args, stdin=b""):
    return subprocess.run([BIN] + args, input=stdin, capture_output=True)


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def event(i, ts, cat="process", parent="lsass.exe", extra=None):
    ev = {"@timestamp": ts, "event": {"id": i, "category": [cat], "type": ["start"]},
          "host": {"os": {"type": "windows"}}, "process": {"name": "cmd.exe", "parent": {"name": parent}},
          "k": "same"}
    ev.update(extra or {})
    return json.dumps(ev, separators=(",", ":"))


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def lines(r):
    return r.stdout.decode().splitlines()


def main(tmp):
    good = [event(1, "2024-05-01T00:00:01Z"), event(2, "2024-05-01T00:00:02Z", parent="explorer.exe"),
            event(3, 1714521603000)]
    path = write(os.path.join(tmp, "ev.ndjson"), "\n".join(good) + "\n")

    r = run(["query", "-f", RULE, path])
    check("event query prints original text", r.returncode == 0 and lines(r) == [good[0], good[2]], repr(r))
    r = run(["query", "-f", RULE], stdin=open(path, "rb").read())
    check("stdin input", lines(r) == [good[0], good[2]], repr(r))
    gz = os.path.join(tmp, "ev.ndjson.gz")
    with gzip.open(gz, "wb") as f:
        f.write(open(path, "rb").read())
    check(".gz input", lines(run(["query", "-f", RULE, gz])) == [good[0], good[2]])
    arr = write(os.path.join(tmp, "arr.json"), "[" + ",\n".join(good) + "]")
    check("JSON array input", len(lines(run(["query", "-f", RULE, arr]))) == 2)

    # exit statuses
    check("usage error exits 2", run(["query"]).returncode == 2)
    check("unreadable input exits 2", run(["query", "any where true", os.path.join(tmp, "nope")]).returncode == 2)
    r = run(["query", "process where process.name ==", path])
    err = r.stderr.decode()
    check("invalid query exits 1 with line:col and caret", r.returncode == 1 and ":1:" in err and "^" in err, err)

    # bad lines
    bad = write(os.path.join(tmp, "bad.ndjson"), good[0] + "\n{not json\n" + good[2] + "\n\"str\"\n")
    r = run(["query", "--stats", "-f", RULE, bad])
    err = r.stderr.decode()
    check("bad lines reported file:line and skipped",
          r.returncode == 0 and len(lines(r)) == 2 and bad + ":2:" in err and bad + ":4:" in err, err)
    check("--stats counts bad lines", "bad lines 2" in err, err)
    check("no progress line when stderr is not a terminal", "\r" not in err, repr(err))
    r = run(["query", "--strict", "-f", RULE, bad])
    check("--strict makes the first bad line fatal", r.returncode == 2 and len(lines(r)) == 1, repr(r))

    # -j: same output, same bad-line numbers, in input order, over several chunks
    big = os.path.join(tmp, "big.ndjson")
    with open(big, "w") as f:
        for i in range(60000):
            f.write(event(i, 1714521600000 + i, parent="lsass.exe" if i % 7 == 0 else "explorer.exe") + "\n")
            if i == 50000:
                f.write("{broken\n")
    one, two = run(["query", "-j", "1", "-f", RULE, big]), run(["query", "-j", "2", "-f", RULE, big])
    check("-j 2 output equals -j 1 (input order)", one.stdout == two.stdout and len(lines(one)) == 8572,
          "%d vs %d lines" % (len(lines(one)), len(lines(two))))
    check("-j 2 reports bad lines with absolute numbers", one.stderr == two.stderr and b":50002:" in two.stderr,
          repr(two.stderr[:200]))

    # sequences: files are sorted, stdin is checked (event.id is a keyword in
    # ECS; these events number it, so ECS types are off)
    seq = "sequence by k [process where event.id == 1] [process where event.id == 2]"
    unsorted = write(os.path.join(tmp, "unsorted.ndjson"),
                     event(2, "2024-05-01T00:00:02Z") + "\n" + event(1, "2024-05-01T00:00:01Z") + "\n")
    r = run(["query", "--no-ecs", seq, unsorted])
    out = [json.loads(l) for l in lines(r)]
    check("sequence over an unsorted file is sorted first",
          len(out) == 1 and out[0]["join_keys"] == ["same"] and [e["event"]["id"] for e in out[0]["events"]] == [1, 2],
          repr(r))
    r = run(["query", "--no-ecs", seq], stdin=open(unsorted, "rb").read())
    check("stdin out of order is reported, not guessed",
          lines(r) == [] and b"out of (timestamp, tiebreaker) order" in r.stderr, repr(r))
    miss = "sequence by k with maxspan=1m [process where event.id == 1] ![process where event.id == 9] [process where event.id == 2]"
    r = run(["query", "--no-ecs", miss, unsorted])
    out = [json.loads(l) for l in lines(r)]
    check("missing events print {\"missing\":true}", len(out) == 1 and out[0]["events"][1] == {"missing": True},
          repr(r))

    # rule sets
    rules = write(os.path.join(tmp, "rules.jsonl"), "\n".join([
        json.dumps({"rule_id": "r-1", "name": "Unusual parent", "query": open(RULE).read()}),
        json.dumps({"id": "r-2", "name": "Any process", "query": "process where true"}),
        json.dumps({"exported_count": 2})]) + "\n")
    r = run(["query", "-r", rules, path])
    out = [json.loads(l) for l in lines(r)]
    check("-r wraps results with rule id and name",
          [(o["rule_id"], o["event"]["event"]["id"]) for o in out] ==
          [("r-1", 1), ("r-2", 1), ("r-2", 2), ("r-1", 3), ("r-2", 3)] and out[0]["rule_name"] == "Unusual parent",
          repr(r))
    kibana = write(os.path.join(tmp, "export.ndjson"), "\n".join([
        json.dumps({"rule_id": "k-eql", "name": "EQL rule", "type": "eql", "language": "eql",
                    "query": "process where process.parent.name == \"lsass.exe\"", "enabled": True}),
        json.dumps({"rule_id": "k-kql", "name": "KQL rule", "type": "query", "language": "kuery",
                    "query": "process.name : cmd.exe"}),
        json.dumps({"rule_id": "k-lucene", "name": "Lucene rule", "type": "query", "language": "lucene",
                    "query": "process.name:cmd.exe"}),
        json.dumps({"rule_id": "k-esql", "name": "ES|QL rule", "type": "esql", "language": "esql",
                    "query": "from logs-* | where true"}),
        json.dumps({"rule_id": "k-ml", "name": "ML rule", "type": "machine_learning"}),
        json.dumps({"exported_count": 5, "exported_rules_count": 5, "missing_rules": [],
                    "missing_rules_count": 0, "exported_exception_list_count": 0})]) + "\n")
    r = run(["query", "-r", kibana, path])
    out = [json.loads(l) for l in lines(r)]
    err = r.stderr.decode().strip().splitlines()
    check("Kibana export: only EQL rules run",
          r.returncode == 0 and [(o["rule_id"], o["event"]["event"]["id"]) for o in out] == [("k-eql", 1), ("k-eql", 3)],
          repr(r))
    check("Kibana export: other rule types and the summary line skipped with one stderr line",
          err == [kibana + ": skipped 4 rules that are not EQL (query/kuery 1, query/lucene 1, esql/esql 1, "
                  "machine_learning 1) and the export summary line"], repr(err))
    check("--size limits results", len(lines(run(["query", "--size", "1", "process where true", path]))) == 1)

    # ingest conversion to the mapped types (Elasticsearch converts _source at index time)
    mapping = write(os.path.join(tmp, "conv-mapping.json"), json.dumps({"mappings": {"properties": {
        "n": {"type": "long"}, "small": {"type": "byte"}, "d": {"type": "double"}, "b": {"type": "boolean"},
        "k": {"type": "keyword"}, "day": {"type": "date", "format": "dd-MM-yyyy||epoch_millis"},
        "t": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}}}}}))
    conv_events = [
        {"i": 1, "event": {"category": "x"}, "n": "5", "d": "2.5", "b": "true", "k": 5, "day": "17-12-2022", "t": "2022-12-17T00:00:00Z"},
        {"i": 2, "event": {"category": "x"}, "n": 5.0, "d": 3, "b": False, "k": True, "day": 1671235200000, "t": 1671235200000},
        {"i": 3, "event": {"category": "x"}, "n": [1, "7"], "k": [2.5, "a"], "day": ["01-01-2020", "18-12-2022"]},
        {"i": 4, "event": {"category": "x"}, "n": "abc"},
        {"i": 5, "event": {"category": "x"}, "b": "yes"},
        {"i": 6, "event": {"category": "x"}, "day": "2022-12-17"},
        {"i": 7, "event": {"category": "x"}, "small": 300},
        {"i": 8, "event": {"category": "x"}, "n": 5.7, "small": "-3"}]
    conv_path = write(os.path.join(tmp, "conv.ndjson"), "".join(json.dumps(e) + "\n" for e in conv_events))

    def conv_ids(query):
        r = run(["query", "--mapping", mapping, "--timestamp-field", "", query, conv_path])
        return [json.loads(l)["i"] for l in lines(r)], r.stderr.decode()

    ids, err = conv_ids("x where n == 5")
    check("long field: \"5\" and 5.0 read as 5, 5.7 truncated", ids == [1, 2, 8], repr((ids, err)))
    ids, err = conv_ids("x where n == 5 or b == true or day == 0 or small == 1")
    check("unconvertible values make the line bad, reported with field and type",
          ':4: field [n]: cannot convert "abc" to long' in err and ':5: field [b]: cannot convert "yes" to boolean' in err
          and ':6: field [day]: cannot convert "2022-12-17" to date with format [dd-MM-yyyy||epoch_millis]' in err
          and ":7: field [small]: cannot convert 300 to byte" in err, err)
    check("long field: array elements converted", conv_ids("x where n == 7")[0] == [3])
    check("byte field: numeric string", conv_ids("x where small == -3")[0] == [8])
    check("double field: numeric strings and integers", conv_ids("x where d > 2.4 and d < 3.5")[0] == [1, 2])
    check("boolean field: \"true\" is true", conv_ids("x where b == true")[0] == [1])
    check("keyword field: numbers and booleans read as their text",
          conv_ids('x where k == "5"')[0] == [1] and conv_ids('x where k == "true"')[0] == [2]
          and conv_ids('x where k : "2.5"')[0] == [3])
    check("date field with a custom format compares as a date",
          conv_ids('x where day == "2022-12-17T00:00:00Z"')[0] == [1, 2]
          and conv_ids('x where day > "2022-12-17T12:00:00Z"')[0] == [3])
    check("date field: ISO text and epoch millis are the same date", conv_ids('x where t == "2022-12-17"')[0] == [1, 2])
    r = run(["query", "--mapping", mapping, "--timestamp-field", "day", "sample by t [x where i == 1] [x where i == 2]",
             conv_path])
    out = [json.loads(l) for l in lines(r)]
    check("date join keys agree across spellings (ISO vs epoch millis), custom-format timestamp field",
          len(out) == 1 and out[0]["join_keys"] == [1671235200000], repr(r))

    # eqlite test
    yml = write(os.path.join(tmp, "t.yaml"), """
defaults: {rule: %s, id_field: event.id}
tests:
  - name: passes
    events: %s
    expect: {ids: [1, 3], count: 2}
  - name: fails
    events: [%s]
    expect: {count: 5}
""" % (RULE, path, good[0]))
    junit = os.path.join(tmp, "junit.xml")
    r = run(["test", "--junit", junit, yml])
    check("eqlite test: one line per test and a summary, non-zero on failure",
          r.returncode == 1 and lines(r)[-1] == "1 passed, 1 failed" and len(lines(r)) == 3, repr(r))
    check("--junit writes a report", os.path.exists(junit) and "<failure" in open(junit).read())

    # eqlite bench
    r = run(["bench", "--repeat", "1", "-f", RULE, big])
    out = r.stdout.decode()
    check("bench prints the parse floor beside the query", r.returncode == 0 and "parse floor" in out
          and "events/s" in out and "ns/event" in out, repr(r))
    r = run(["bench", "--repeat", "1", "-r", rules, path])
    check("bench per rule for a rule set", r.returncode == 0 and "r-1" in r.stdout.decode()
          and "r-2" in r.stdout.decode(), repr(r))

    write_errors(path)


def write_errors(events):
    """A full disk is exit 2 with a message for every command, never exit 0."""
    if not os.path.exists("/dev/full"):
        print("skip write errors: no /dev/full")
        return
    for args in (["fmt", RULE], ["check", RULE], ["eval", "1 + 1"], ["explain", "any where true"],
                 ["query", "-f", RULE, events], ["query", "-j", "2", "-f", RULE, events],
                 ["query", "--stats", "-r", RULE, events], ["version"]):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([BIN] + args, stdout=full, stderr=subprocess.PIPE)
        err = r.stderr.decode()
        check("write error: eqlite %s exits 2 with a message" % args[0],
              r.returncode == 2 and "No space left on device" in err, repr((args, r.returncode, err)))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        main(d)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)
