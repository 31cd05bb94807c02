#!/usr/bin/env python3
"""Behaviour of `eqlite query`, `eqlite test` and `eqlite bench` as DESIGN.md's
"The eqlite command" describes them: output shapes, exit statuses, bad lines,
.gz and stdin input, -j ordering, sorting for sequences, rule sets, JUnit."""
import gzip
import json
import os
import pty
import re
import subprocess
import sys
import tempfile

BIN = os.environ.get("EQLITE_BIN", "eqlite")
SRC = os.environ.get("EQLITE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
RULE = os.path.join(SRC, "examples", "rules", "unusual-cmd-parent.eql")
failures = []


def run(args, stdin=b"", timeout=None):
    return subprocess.run([BIN] + args, input=stdin, capture_output=True, timeout=timeout)


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
    check("invalid query exits 1 with line:col and caret", r.returncode == 1 and err ==
          "query:1:30: mismatched input '<EOF>': the rule ends too early\n"
          "process where process.name ==\n"
          "                             ^\n", err)

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
    # a value its mapped type refuses is only seen when the sorted events are
    # read back (sorting reads timestamps only): reported, skipped, and the run goes on
    badip = write(os.path.join(tmp, "unsorted-bad-ip.ndjson"), "\n".join([
        event(2, "2024-05-01T00:00:03Z"), event(7, "2024-05-01T00:00:02Z", extra={"source": {"ip": "-"}}),
        event(1, "2024-05-01T00:00:01Z")]) + "\n")
    mapping = write(os.path.join(tmp, "ip-mapping.json"), json.dumps({"properties": {"source": {"properties": {
        "ip": {"type": "ip"}}}}}))
    ipseq = "sequence by k [process where event.id == 1 or source.ip == \"10.0.0.1\"] [process where event.id == 2]"
    r = run(["query", "--no-ecs", "--mapping", mapping, ipseq, badip])
    check("a record bad only when read back for a sort is reported with its line, and the run goes on",
          r.returncode == 0 and len(lines(r)) == 1 and b"unsorted-bad-ip.ndjson:2: field [source.ip]" in r.stderr,
          repr(r))
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
        "t": {"type": "date"}, "event": {"properties": {"category": {"type": "keyword"}}},
        "kw": {"type": "keyword", "ignore_above": 3, "null_value": "NUL"}}}}))
    conv_events = [
        {"i": 1, "event": {"category": "x"}, "n": "5", "d": "2.5", "b": "true", "k": 5, "day": "17-12-2022", "t": "2022-12-17T00:00:00Z"},
        {"i": 2, "event": {"category": "x"}, "n": 5.0, "d": 3, "b": False, "k": True, "day": 1671235200000, "t": 1671235200000},
        {"i": 3, "event": {"category": "x"}, "n": [1, "7"], "k": [2.5, "a"], "day": ["01-01-2020", "18-12-2022"]},
        {"i": 4, "event": {"category": "x"}, "n": "abc"},
        {"i": 5, "event": {"category": "x"}, "b": "yes"},
        {"i": 6, "event": {"category": "x"}, "day": "2022-12-17"},
        {"i": 7, "event": {"category": "x"}, "small": 300},
        {"i": 8, "event": {"category": "x"}, "n": 5.7, "small": "-3"},
        {"i": 9, "event": {"category": "x"}, "kw": "long value"},
        {"i": 10, "event": {"category": "x"}, "kw": None},
        {"i": 11, "event": {"category": "x"}, "kw": "ab"}]
    conv_path = write(os.path.join(tmp, "conv.ndjson"), "".join(json.dumps(e) + "\n" for e in conv_events))

    def conv_ids(query, *flags):
        r = run(["query", "--mapping", mapping, "--timestamp-field", ""] + list(flags) + [query, conv_path])
        return [json.loads(l)["i"] for l in lines(r)], r.stderr.decode()

    ids, err = conv_ids("x where n == 5")
    check("long field: \"5\" and 5.0 read as 5, 5.7 truncated", ids == [1, 2, 8], repr((ids, err)))
    ids, err = conv_ids("x where n == 5 or b == true or day == 0 or small == 1", "--reject-malformed")
    check("--reject-malformed: unconvertible values make the line bad, reported with field and type",
          ':4: field [n]: cannot convert "abc" to long' in err and ':5: field [b]: cannot convert "yes" to boolean' in err
          and ':6: field [day]: cannot convert "2022-12-17" to date with format [dd-MM-yyyy||epoch_millis]' in err
          and ":7: field [small]: cannot convert 300 to byte" in err, err)
    ids, err = conv_ids("x where n == null and b == null and day == null and small == null")
    check("ignore_malformed (the default): an unconvertible value reads as missing, the line is kept, "
          "the first per field is named with its line",
          ids == [4, 5, 6, 7, 9, 10, 11]
          and ':4: field [n]: cannot convert "abc" to long; value ignored (ignore_malformed)\n' in err
          and ':5: field [b]: cannot convert "yes" to boolean; value ignored (ignore_malformed)\n' in err
          and ':7: field [small]: cannot convert 300 to byte; value ignored (ignore_malformed)\n' in err
          and ':4: field [n]: values ignored in 1 record (ignore_malformed; the first here)\n'
          in err and "bad" not in err, repr((ids, err)))
    dash = [{"@timestamp": "2024-05-01T00:00:0%dZ" % k, "event": {"category": "process"},
             "process": {"name": "cmd.exe"}, "host": {"ip": "-" if k % 2 else "10.0.0.%d" % k}} for k in range(4)]
    dash_path = write(os.path.join(tmp, "dash.ndjson"), "".join(json.dumps(e) + "\n" for e in dash))
    dash_rules = write(os.path.join(tmp, "dash-rules.jsonl"), "".join(json.dumps({"id": i, "query": q}) + "\n" for i, q in (
        ("a", 'process where process.name == "cmd.exe"'), ("b", 'network where host.ip == "10.0.0.1"'))))
    alone = run(["query", 'process where process.name == "cmd.exe"', dash_path])
    in_set = run(["query", "-r", dash_rules, dash_path])
    check("a rule alone and in a set reading host.ip give the same results on host.ip \"-\"",
          len(lines(alone)) == 4 and [json.loads(l) for l in lines(alone)] ==
          [json.loads(l)["event"] for l in lines(in_set)] and in_set.returncode == 0
          and b':2: field [host.ip]: cannot convert "-" to ip; value ignored (ignore_malformed)\n' in in_set.stderr
          and b':2: field [host.ip]: values ignored in 2 records (ignore_malformed; the first here)' in in_set.stderr,
          repr((alone.stdout[:300], in_set.stdout[:300], in_set.stderr[-400:])))
    strict = run(["query", "--strict", "-r", dash_rules, dash_path])
    check("--strict does not stop on ignored values", strict.returncode == 0 and strict.stdout == in_set.stdout,
          repr(strict.stderr[-300:]))
    rejected = run(["query", "--reject-malformed", "-r", dash_rules, dash_path])
    check("--reject-malformed gives the old rejection: the set loses the records the rule alone prints",
          len(lines(rejected)) == 2 and b':2: field [host.ip]: cannot convert "-" to ip\n' in rejected.stderr,
          repr((rejected.stdout[:300], rejected.stderr[-300:])))
    many_map = write(os.path.join(tmp, "many-mapping.json"), json.dumps({"mappings": {"properties": dict(
        [("f%02d" % k, {"type": "long"}) for k in range(40)] + [("event", {"properties": {"category": {"type": "keyword"}}})])}}))
    many = write(os.path.join(tmp, "many.ndjson"), "".join(
        json.dumps({"event": {"category": "x"}, "f%02d" % k: "bad", "f%02d" % ((k + 1) % 40): "bad"}) + "\n" for k in range(40)))
    r = run(["query", "--mapping", many_map, "--timestamp-field", "",
             "x where " + " or ".join("f%02d == 1" % k for k in range(40)), many])
    err = r.stderr.decode()
    check("records with values ignored in more fields than the table holds: 32 fields by name, the rest counted",
          r.returncode == 0 and err.count("values ignored in 1 record (ignore_malformed; the first here)") == 32
          and "eqlite: values of other fields ignored in 8 more records (ignore_malformed)\n" in err
          and err.count("value ignored (ignore_malformed)\n") == 32,
          repr(err[-600:]))
    for jobs in ("1", "2"):
        r = run(["query", "--stats", "-j", jobs, "--mapping", many_map, "--timestamp-field", "",
                 "x where " + " or ".join("f%02d == 1" % k for k in range(40)), many])
        err = r.stderr.decode()
        check("--stats -j %s counts the records with values ignored (they were not counted)" % jobs,
              r.returncode == 0 and ", records with malformed values 40, " in err, repr(err[-300:]))
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
    check("keyword ignore_above: a longer value is not indexed; null_value stands for an explicit null",
          conv_ids('x where kw : "*"')[0] == [10, 11] and conv_ids('x where kw == "NUL"')[0] == [10]
          and conv_ids('x where i > 8 and kw == null')[0] == [9])
    check("date field: ISO text and epoch millis are the same date", conv_ids('x where t == "2022-12-17"')[0] == [1, 2])
    r = run(["query", "--mapping", mapping, "--timestamp-field", "day", "sample by t [x where i == 1] [x where i == 2]",
             conv_path])
    out = [json.loads(l) for l in lines(r)]
    # field types together: a version multi-field under a keyword with ignore_above, an alias to an ip
    typed_mapping = write(os.path.join(tmp, "typed-mapping.json"), json.dumps({"mappings": {"properties": {
        "event": {"properties": {"category": {"type": "keyword"}}},
        "agent": {"properties": {"version": {"type": "keyword", "ignore_above": 5,
                                             "fields": {"semver": {"type": "version"}}}}},
        "source": {"properties": {"ip": {"type": "ip"}, "address": {"type": "alias", "path": "source.ip"}}}}}}))
    typed_path = write(os.path.join(tmp, "typed.ndjson"), "".join(json.dumps(e) + "\n" for e in [
        {"i": 1, "event": {"category": "x"}, "agent": {"version": "1.10.0"}, "source": {"ip": "::ffff:10.0.0.5"}},
        {"i": 2, "event": {"category": "x"}, "agent": {"version": "1.9.0"}, "source": {"ip": "192.168.0.1"}}]))

    def typed_ids(query):
        r = run(["query", "--mapping", typed_mapping, "--timestamp-field", "", query, typed_path])
        return [json.loads(l)["i"] for l in lines(r)]

    check("a version multi-field reads its parent's value and compares as versions",
          typed_ids('x where agent.version.semver > "1.9.0"') == [1])
    check("ignore_above hides the parent's long value, not the multi-field's",
          typed_ids('x where agent.version == "1.10.0"') == [] and typed_ids('x where agent.version == "1.9.0"') == [2])
    check("an alias of an ip field takes CIDR blocks and any spelling",
          typed_ids('x where source.address == "10.0.0.0/8"') == [1]
          and typed_ids('x where source.address == "::ffff:192.168.0.1"') == [2])
    r = run(["query", "--mapping", typed_mapping, "--timestamp-field", "", 'x where source.ip in ("10.0.0.5")', typed_path])
    check("an ip field in a list of strings is Elasticsearch's type error, not a silent miss",
          r.returncode == 1 and 'must be [ip], found value ["10.0.0.5"] type [keyword]' in r.stderr.decode(), repr(r))

    # join keys as Elasticsearch returns them (fields API): a date in its mapping's (first) format
    check("date join keys agree across spellings (ISO vs epoch millis), custom-format timestamp field",
          len(out) == 1 and out[0]["join_keys"] == ["2022-12-17T00:00:00.000Z"], repr(r))
    r = run(["query", "--mapping", mapping, "--timestamp-field", "t", "sample by day [x where i == 1] [x where i == 2]",
             conv_path])
    out = [json.loads(l) for l in lines(r)]
    check("a date join key is rendered with its mapping's first format",
          len(out) == 1 and out[0]["join_keys"] == ["17-12-2022"], repr(r))

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
    test_file_checks(tmp, path, write(os.path.join(tmp, "ev1.ndjson"), good[0] + "\n"))

    # eqlite bench
    r = run(["bench", "--repeat", "1", "-f", RULE, big])
    out = r.stdout.decode()
    check("bench prints the parse floor beside the query", r.returncode == 0 and "parse floor" in out
          and "events/s" in out and "ns/event" in out, repr(r))
    r = run(["bench", "--repeat", "1", "-r", rules, path])
    check("bench per rule for a rule set", r.returncode == 0 and "r-1" in r.stdout.decode()
          and "r-2" in r.stdout.decode(), repr(r))

    write_errors(path)
    bad_record_flood(tmp)
    rule_formats(tmp, path)
    fmt_files(tmp)
    help_and_docs()
    output_formats(tmp)
    progress_line(tmp)
    test_update(tmp)
    field_checks(tmp, path)
    test_failure_shows_the_first_difference(tmp)
    ids_whatever_the_path_spelling(tmp, path)
    sorted_copies_are_not_converted_twice(tmp)
    sources_counted_alike_sorted_or_not(tmp)
    a_key_twice_is_a_bad_record(tmp)
    bom = write(os.path.join(tmp, "bom.eql"), b"\xef\xbb\xbfprocess where process.name == \"cmd.exe\"\n", "wb")
    r = run(["check", bom])
    check("a rule file that starts with a UTF-8 byte order mark reads", r.returncode == 0, repr(r))
    check("... and runs", len(lines(run(["query", "-f", bom, path]))) == 3)


def sorted_copies_are_not_converted_twice(tmp):
    """A .gz file that sequences need sorted is copied, its records converted
    to ECS, and read again from the copy: read as raw records again, the
    Sysmon profile ran on its own output and lost process.* (event 24)."""
    raw = [{"@timestamp": "2021-02-25T15:04:4%d.000Z" % k, "winlog": {
        "channel": "Microsoft-Windows-Sysmon/Operational", "provider_name": "Microsoft-Windows-Sysmon",
        "event_id": "24", "event_data": {"Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": "21%d" % k}}}
        for k in (2, 1)]
    text = "".join(json.dumps(r) + "\n" for r in raw)
    plain = write(os.path.join(tmp, "sysmon24.ndjson"), text)
    gz = os.path.join(tmp, "sysmon24.ndjson.gz")
    with gzip.open(gz, "wt") as f:
        f.write(text)
    rules = write(os.path.join(tmp, "sysmon24-rules.jsonl"), "".join(json.dumps({"id": i, "query": q}) + "\n" for i, q in (
        ("name", 'any where process.name == "cmd.exe"'), ("seq", "sequence [any where true] [any where true]"))))
    want = run(["query", "-r", rules, plain])
    got = run(["query", "-r", rules, gz])
    check("a sorted .gz copy is read as the ECS it holds: the same results as the file (a profile ran twice)",
          want.returncode == 0 and got.stdout == want.stdout and
          [json.loads(l)["rule_id"] for l in lines(want)] == ["name", "name", "seq"],
          repr((want.stdout[:300], got.stdout[:300])))


def sources_counted_alike_sorted_or_not(tmp):
    """--stats counts each record's source once, bad ones too, whether the
    file runs in one pass or is sorted first (a sorted plain file counted
    only the records pass 2 read again: 0 where one pass said 1)."""
    text = "".join(json.dumps(r) + "\n" for r in (
        {"@timestamp": "2024-05-01T00:00:02Z", "event": {"category": "process"}},
        {"event": {"category": "process"}, "no": "timestamp"},
        {"@timestamp": "2024-05-01T00:00:01Z", "event": {"category": "process"}}))
    plain = write(os.path.join(tmp, "sources.ndjson"), text)
    gz = os.path.join(tmp, "sources.ndjson.gz")
    with gzip.open(gz, "wt") as f:
        f.write(text)

    def sources(*args):
        err = run(["query", "--stats"] + list(args)).stderr.decode()
        return [l for l in err.splitlines() if l.startswith("sources:")]
    one = sources("any where true", plain)
    seq = "sequence [any where true] [any where true]"
    check("--stats: the same source counts in one pass, sorted, and sorted from a .gz copy",
          len(one) == 1 and sources(seq, plain) == one and sources(seq, gz) == one,
          repr((one, sources(seq, plain), sources(seq, gz))))


def a_key_twice_is_a_bad_record(tmp):
    """A key twice in one object, read by the rule or not, in an ECS record or
    a vendor one: Elasticsearch rejects the document, so it is a bad record
    (file:line and the key), counted, and the others still run."""
    s1 = ('{"event.time":1664811149470,"meta.event.name":"PROCESSCREATION","event.category":"process",'
          '"event.type":"Process Creation","endpoint.os":"windows","src.process.uid":"A","src.process.name":"lsass.exe",'
          '"src.process.cmdline":"lsass.exe","tgt.process.uid":"B","tgt.process.name":"cmd.exe","tgt.process.cmdline":"cmd"%s}')
    text = "\n".join([event(1, "2024-05-01T00:00:01Z"),
                      event(2, "2024-05-01T00:00:02Z")[:-1] + ',"user":{"id":1,"id":2}}',
                      s1 % "", s1 % ',"z":1,"z":2']) + "\n"
    path = write(os.path.join(tmp, "dup.ndjson"), text)
    r = run(["query", "--stats", "-f", RULE, path])
    err = r.stderr.decode()
    check("a key twice, read or not, ECS or vendor: a bad record with file:line, counted",
          r.returncode == 0 and len(lines(r)) == 2 and "sources: sentinelone-cloud-funnel 2 ecs 2" in err and
          "dup.ndjson:2: duplicate field 'id' (Elasticsearch rejects the document)" in err and
          "dup.ndjson:4: duplicate field 'z' (Elasticsearch rejects the document)" in err and
          "bad lines 2," in err, repr(r))


def test_failure_shows_the_first_difference(tmp):
    yml = write(os.path.join(tmp, "differ.yaml"), """
defaults: {query: 'process where process.parent.name == "lsass.exe"', id_field: event.id}
tests:
  - name: wrong id
    events:
      - {"@timestamp": "2024-01-01T00:00:00Z", "event": {"id": 1, "category": "process"}, "process": {"parent": {"name": "lsass.exe"}}}
      - {"@timestamp": "2024-01-01T00:00:01Z", "event": {"id": 2, "category": "process"}, "process": {"parent": {"name": "x.exe"}}}
    expect: {ids: [2]}
  - name: one missing
    events:
      - {"@timestamp": "2024-01-01T00:00:00Z", "event": {"id": 1, "category": "process"}, "process": {"parent": {"name": "lsass.exe"}}}
    expect: {ids: [1, 2]}
""")
    r = run(["test", yml])
    check("a failing test shows expected and actual ids and the first differing event", lines(r) == [
        "FAIL %s: wrong id: expected ids [2], got [1]; result 1 (id 1, expected 2) is" % yml,
        '  {"@timestamp":"2024-01-01T00:00:00Z","event":{"id":1,"category":"process"},'
        '"process":{"parent":{"name":"lsass.exe"}}}',
        "FAIL %s: one missing: expected ids [1,2], got [1]; expected id 2 is missing" % yml,
        "0 passed, 2 failed"], repr(r))


def field_checks(tmp, events):
    """Unknown fields: an error against a mapping in check (ES's verifier), a warning against ECS
    in query (rules also read integration fields); `eqlite fields` lists what rules read."""
    mapping = write(os.path.join(tmp, "fields-mapping.json"), json.dumps({"mappings": {"properties": {
        "event": {"properties": {"category": {"type": "keyword"}}},
        "process": {"properties": {"name": {"type": "keyword"}, "pid": {"type": "long"}}}}}}))
    typo = write(os.path.join(tmp, "typo.eql"), 'process where process.nme == "x"\n')
    r = run(["check", "--mapping", mapping, typo])
    err = r.stderr.decode()
    check("check --mapping: an unknown field is exit 1, named with ES's did-you-mean",
          r.returncode == 1 and err.startswith(typo + ":1:15: Unknown column [process.nme], did you mean")
          and "process.name" in err and lines(r) == ["0 ok, 1 failed"], repr(r))
    r = run(["check", "--mapping", mapping], stdin=b'process where ?process.nme == null and process.pid > 1')
    check("check --mapping: an optional unknown field is fine", r.returncode == 0 and lines(r) == ["1 ok, 0 failed"], repr(r))
    r = run(["query", 'process where process.nme == "x"', events])
    check("query with ECS only: an unknown field is a warning with ES's words, and the run goes on",
          r.returncode == 0 and r.stderr.decode().startswith(
              "query:1:15: warning: Unknown column [process.nme], did you mean any of [process.name")
          and "(not in ECS: typed from the data)" in r.stderr.decode(), repr(r))
    r = run(["query", "--no-ecs", 'process where process.nme == "x"', events])
    check("... and nothing to compare with, nothing to say", r.returncode == 0 and r.stderr == b"", repr(r))
    # past the first five warnings, unknown fields are counted (once each; an optional one is no warning)
    many = write(os.path.join(tmp, "many-unknown.eql"), "".join(
        'process where process.nme%d == "x" and process.nam%d == "y" and ?process.opt%d == null;\n' % (i, i % 3, i)
        for i in range(6)))
    r = run(["query", "-r", many, events])
    err = r.stderr.decode()
    shown = [l for l in err.splitlines() if ": warning: Unknown column [" in l]
    check("query -r: five unknown-field warnings with ES's did-you-mean, then one count of the rest",
          r.returncode == 0 and len(shown) == 5 and all("did you mean" in l for l in shown) and
          err.splitlines()[-1] == "eqlite: warning: 4 more fields the rules read are not in ECS (typed from the data)",
          err)
    r = run(["fields", typo])
    check("fields lists what rules read: name, type, rules (unknown: typed from the data)",
          lines(r) == ["event.category\tkeyword\t1", "process.nme\tunknown\t1"], repr(r))
    r = run(["fields", "--mapping", mapping, "--no-ecs"], stdin=b'process where process.pid == 4;\nprocess where process.pid > 1')
    check("fields --mapping: types from the mapping, counted per rule",
          lines(r) == ["event.category\tkeyword\t2", "process.pid\tlong\t2"], repr(r))


SHARED = os.environ.get("EQLITE_SHARED_DIR", os.path.join(SRC, "..", "shared"))
HUNT_TOML = """[hunt]
author = "Elastic"
name = "Two queries"
uuid = "h-1"
language = ["EQL"]
query = [
'''
process where process.parent.name == "lsass.exe"
''',
'''
process where
  process.name == "cmd.exe" and
  process.parent.name ==
'''
]
"""


def output_formats(tmp):
    """--format ndjson|json|csv|table and --fields, on event queries, sequences and rule sets."""
    evs = [{"@timestamp": "2024-05-01T00:00:01Z", "event": {"id": 1, "category": ["process"]},
            "process": {"name": "cmd.exe", "args": ["a", "b,c"]}, "user": {"name": 'x"y'}, "host": {"name": "h"}},
           {"@timestamp": "2024-05-01T00:00:02Z", "event": {"id": 2, "category": ["network"]},
            "process": {"name": "cmd.exe"}, "host": {"name": "h"}, "msg": "line1\nline2"},
           {"@timestamp": "2024-05-01T00:00:03Z", "event": {"id": 3, "category": ["process"]},
            "process": {"name": "x" * 60}, "host.name": "h"}]
    texts = [json.dumps(e, separators=(",", ":")) for e in evs]
    path = write(os.path.join(tmp, "formats.ndjson"), "\n".join(texts) + "\n")
    q = "any where process.name != null"
    r = run(["query", "--no-ecs", q, path])
    check("--format ndjson is the default", lines(r) == texts, repr(r))
    r = run(["query", "--no-ecs", "--format", "ndjson", q, path])
    check("--format ndjson prints the original text", lines(r) == texts, repr(r))
    r = run(["query", "--no-ecs", "--format", "json", q, path])
    check("--format json is one JSON array", r.returncode == 0 and json.loads(r.stdout) == evs, repr(r))
    r = run(["query", "--no-ecs", "--format", "json", "any where false", path])
    check("--format json with no result is []", r.stdout == b"[]\n", repr(r))
    r = run(["query", "--no-ecs", "--format", "json", "--fields", "event.id,process.args,user.name,nope", q, path])
    check("--fields projects json: flat names, lists kept, null when missing",
          json.loads(r.stdout) == [{"event.id": 1, "process.args": ["a", "b,c"], "user.name": 'x"y', "nope": None},
                                   {"event.id": 2, "process.args": None, "user.name": None, "nope": None},
                                   {"event.id": 3, "process.args": None, "user.name": None, "nope": None}], repr(r))
    r = run(["query", "--no-ecs", "--fields", "host.name,_source", q, path])
    check("--fields on ndjson, dotted keys and _source",
          lines(r) == ['{"host.name":"h","_source":%s}' % t for t in texts], repr(r))
    r = run(["query", "--no-ecs", "--format", "csv", "--fields", "event.id,process.args,user.name,msg,nope", q, path])
    check("--format csv --fields gives a header line and one row per hit (RFC 4180 quoting, empty when missing)",
          r.stdout.decode() == 'event.id,process.args,user.name,msg,nope\n'
                               '1,"[""a"",""b,c""]","x""y",,\n'
                               '2,,,"line1\nline2",\n'
                               '3,,,,\n', repr(r.stdout))
    r = run(["query", "--no-ecs", "--format", "csv", "--fields", "process", q, path])
    check("csv: a field whose value is an object is empty", lines(r) == ["process", "", "", ""], repr(r))
    r = run(["query", "--no-ecs", "--format", "csv", "any where event.id == 2", path])
    check("csv without --fields: timestamp, category (a list of one is its value), _source",
          lines(r) == ["@timestamp,event.category,_source",
                       '2024-05-01T00:00:02Z,network,"%s"' % texts[1].replace('"', '""')], repr(r))
    r = run(["query", "--no-ecs", "--format", "table", "--fields", "event.id,process.name,user.name", q, path])
    check("--format table: aligned columns, long cells cut with a marker, no trailing blanks",
          lines(r) == ["event.id  process.name                                      user.name",
                       "1         cmd.exe                                           x\"y",
                       "2         cmd.exe",
                       "3         " + "x" * 47 + "\u2026"], repr(r.stdout))
    r = run(["query", "--no-ecs", "--format", "table", "--fields", "msg", q, path])
    check("table: control characters print as spaces", lines(r) == ["msg", "", "line1 line2", ""], repr(r.stdout))
    seq = "sequence by host.name [process where event.id == 1] [network where true] [process where true]"
    r = run(["query", "--no-ecs", "--format", "csv", "--fields", "event.id", seq, path])
    check("csv: a sequence is one row per event, numbered from 1, with its join keys",
          lines(r) == ["position,join_keys,event.id", '1,"[""h""]",1', '2,"[""h""]",2', '3,"[""h""]",3'], repr(r))
    rules = write(os.path.join(tmp, "formats.jsonl"), "\n".join([
        json.dumps({"rule_id": "r-seq", "name": "Seq, quoted", "query": seq}),
        json.dumps({"rule_id": "r-net", "query": "network where true"})]) + "\n")
    r = run(["query", "--no-ecs", "-r", rules, "--format", "csv", "--fields", "event.id", path])
    check("csv with -r: rule columns; an event query's row has position 1 and no join keys",
          lines(r) == ["rule_id,rule_name,position,join_keys,event.id", "r-net,,1,,2",
                       'r-seq,"Seq, quoted",1,"[""h""]",1', 'r-seq,"Seq, quoted",2,"[""h""]",2',
                       'r-seq,"Seq, quoted",3,"[""h""]",3'], repr(r))
    r = run(["query", "--no-ecs", "-r", rules, "--format", "json", "--fields", "event.id", path])
    check("json with -r and --fields: results wrapped, events projected",
          json.loads(r.stdout) == [{"rule_id": "r-net", "rule_name": None, "event": {"event.id": 2}},
                                   {"rule_id": "r-seq", "rule_name": "Seq, quoted", "join_keys": ["h"],
                                    "events": [{"event.id": 1}, {"event.id": 2}, {"event.id": 3}]}], repr(r))
    r = run(["query", "--no-ecs", "-r", rules, "--format", "table", "--fields", "event.id", path])
    check("table with -r", lines(r) == [
        "rule_id  rule_name    position  join_keys  event.id",
        "r-net                 1                    2",
        "r-seq    Seq, quoted  1         [\"h\"]      1",
        "r-seq    Seq, quoted  2         [\"h\"]      2",
        "r-seq    Seq, quoted  3         [\"h\"]      3"], repr(r.stdout))
    r = run(["query", "--format", "yaml", q, path])
    check("an unknown --format is a usage error", r.returncode == 2 and b"unknown format [yaml]" in r.stderr, repr(r))
    r = run(["query", "--fields", "a,,b", q, path])
    check("an empty --fields name is a usage error", r.returncode == 2 and b"empty field name" in r.stderr, repr(r))
    # --stats: a line per rule, most hits first, with the sequence state
    rules = write(os.path.join(tmp, "stats.jsonl"), "\n".join([
        json.dumps({"rule_id": "r-seq", "name": "Seq", "query": seq}),
        json.dumps({"rule_id": "r-half", "name": "open half", "query":
                    "sequence by host.name [process where event.id == 3] [network where true]"}),
        json.dumps({"rule_id": "r-any", "name": "any", "query": "any where true"})]) + "\n")
    def stats_table(r, n):
        """The last n stderr lines with times as T.TTT and blanks single, and whether they align
        (a slow run widens the time column: the layout may move, the alignment may not)."""
        raw = r.stderr.decode().splitlines()[-n:]
        return [re.sub(r" +", " ", re.sub(r"\d+\.\d{3}", "T.TTT", l)) for l in raw], len(set(map(len, raw))) == 1
    r = run(["query", "--no-ecs", "--stats", "-r", rules, path])
    err, aligned = stats_table(r, 4)
    check("--stats: one line per rule, most hits first, with events, time and sequence state", aligned and err == [
        "rule name hits events time ms partials held evicted expired late",
        "r-any any 3 3 T.TTT 0 0 0 0",
        "r-seq Seq 1 3 T.TTT 0 0 0 0",
        "r-half open half 0 1 T.TTT 1 0 0 0"], repr(r.stderr.decode().splitlines()[-4:]))
    r = run(["query", "--no-ecs", "--stats", "any where true", path])
    err, aligned = stats_table(r, 2)
    check("--stats with one query: its line, without state columns", aligned and err == [
        "rule name hits events time ms", "query:1 3 3 T.TTT"], repr(r.stderr.decode().splitlines()[-2:]))
    big = write(os.path.join(tmp, "formats-big.ndjson"),
                "".join(event(i, 1714521600000 + i, parent="lsass.exe" if i % 3 else "x") + "\n" for i in range(60000)))
    one = run(["query", "--no-ecs", "--format", "csv", "--fields", "event.id", "-f", RULE, big])
    two = run(["query", "--no-ecs", "--format", "csv", "--fields", "event.id", "-j", "3", "-f", RULE, big])
    js = run(["query", "--no-ecs", "--format", "json", "--fields", "event.id", "-j", "3", "-f", RULE, big])
    check("csv with -j: the rows of -j 1", one.stdout == two.stdout and len(lines(one)) == 40001, repr(two.stderr))
    check("json with -j: one array in input order",
          [o["event.id"] for o in json.loads(js.stdout)] == [i for i in range(60000) if i % 3], repr(js.stderr))


def test_update(tmp):
    """eqlite test --update rewrites the expect: of tests whose run differs (or that have none) from the
    run, keeping the rest of the file byte for byte, atomically."""
    evs = [event(1, "2024-05-01T00:00:01Z"), event(2, "2024-05-01T00:00:02Z", parent="explorer.exe"),
           event(3, "2024-05-01T00:00:03Z", cat="network")]
    write(os.path.join(tmp, "upd.ndjson"), "\n".join(evs) + "\n")
    before = ("# rule tests\n"
              "defaults:\n  query: 'process where true'\n  id_field: event.id\n  events: upd.ndjson\n"
              "tests:\n"
              "  - name: wrong ids\n    expect: {ids: [9], count: 1}\n"
              "  - name: right\n    expect: {ids: [1, 2]}\n"
              "  - name: block style \u00e9\n    expect:\n      ids: [1]\n      count: 5\n    # kept\n"
              "  - name: none given\n"
              "  - {name: flow, query: 'network where true'}\n"
              "  - name: only count\n    expect: {count: 0}\n    query: 'network where true'\n"
              "  - name: sequence with a gap\n    expect: {ids: [[1]]}\n"
              "    query: 'sequence with maxspan=1h [process where event.id == 1] ![process where event.id == 7]"
              " [network where true]'\n"
              "  - name: broken\n    query: 'process where'\n    expect: {count: 1}\n")
    after = before.replace("{ids: [9], count: 1}", "{ids: [1, 2], count: 2}") \
        .replace("ids: [1]\n      count: 5", "ids: [1, 2]\n      count: 2") \
        .replace("  - name: none given\n", "  - expect: {ids: [1, 2], count: 2}\n    name: none given\n") \
        .replace("{name: flow,", "{expect: {ids: [3], count: 1}, name: flow,") \
        .replace("{count: 0}", "{count: 1}").replace("{ids: [[1]]}", "{ids: [1, -1, 3]}")
    yml = write(os.path.join(tmp, "upd.yaml"), before)
    os.chmod(yml, 0o640)
    r = run(["test", "--update", yml])
    check("test --update: failing and missing expects rewritten from the run, the rest byte for byte",
          open(yml, encoding="utf-8").read() == after, repr(open(yml, encoding="utf-8").read()))
    check("test --update: one line per test, a broken rule still fails (exit 1)",
          r.returncode == 1 and lines(r)[:2] == ["updated %s: wrong ids: expected 1 results, got 2" % yml,
                                                 "ok   %s: right" % yml]
          and lines(r)[-1] == "1 passed, 1 failed, 6 updated", repr(r))
    check("test --update keeps the file's mode and leaves no temporary file",
          os.stat(yml).st_mode & 0o777 == 0o640 and not [f for f in os.listdir(tmp) if ".tmp-" in f])
    inode = os.stat(yml).st_ino
    r = run(["test", yml])
    check("after --update every test that ran passes", lines(r)[-1] == "7 passed, 1 failed", repr(r))
    r = run(["test", yml, "--update"])
    check("a second --update changes nothing", open(yml, encoding="utf-8").read() == after
          and os.stat(yml).st_ino == inode and lines(r)[-1] == "7 passed, 1 failed, 0 updated", repr(r))
    alias = write(os.path.join(tmp, "upd-alias.yaml"), "defaults: {query: 'any where true', events: upd.ndjson}\n"
                  "tests:\n  - {name: a, expect: &e {count: 9}}\n  - {name: b, expect: *e}\n")
    r = run(["test", "--update", alias])
    check("test --update refuses an expect: given by an alias",
          r.returncode == 2 and r.stderr.decode().strip() == "%s:4:15: expect: an alias cannot be updated" % alias,
          repr(r))


def run_on_terminal(args):
    """Runs with stderr on a pseudo-terminal; returns (what the terminal got, stdout, status)."""
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([BIN] + args, stdout=out, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        seen = b""
        while True:
            try:
                got = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not got:
                break
            seen += got
        os.close(master)
        p.wait(timeout=120)
        out.seek(0)
        return seen, out.read(), p.returncode


def progress_line(tmp):
    """A progress line on a terminal in every step (order check, sort, match), erased at the end."""
    evs = [event(i, 1714521600000 + (i * 7919) % 3000, parent="lsass.exe") for i in range(3000)]
    a = write(os.path.join(tmp, "progress-a.ndjson"), "\n".join(evs[:1500]) + "\n")
    b = write(os.path.join(tmp, "progress-b.ndjson"), "\n".join(evs[1500:]) + "\n")
    seq = "sequence [process where event.id == 1] [process where event.id == 2]"
    seen, out, status = run_on_terminal(["query", "--no-ecs", seq, a, b])
    plain = run(["query", "--no-ecs", seq, a, b])
    text = seen.decode()
    draws = text.split("\r")
    check("progress: stdout is that of a run without a terminal", status == 0 and out == plain.stdout, repr(plain))
    check("progress: each step drawn, in order, then erased",
          draws[1:4] == ["file 1/2 %s: checking the order\x1b[K" % a,
                         "file 1/2 %s: indexing for the sort: 0 events\x1b[K" % a,
                         "sorting 3000 events\x1b[K"] and
          re.fullmatch(r"0/3000 events \(0%\)  0 events/s  0\.\d MB  0 matches  0 bad\x1b\[K", draws[4]) is not None
          and draws[-1] == "\x1b[K" and text.endswith("\r\x1b[K"), repr(text))
    seen, out, status = run_on_terminal(["query", "--no-ecs", "--format", "csv", "process where true", a, b])
    text = seen.decode()
    check("progress: streaming names the file and is erased",
          text.startswith("\rfile 1/2 %s: 0 events  0 events/s" % a) and text.endswith("\r\x1b[K"), repr(text))
    r = run(["query", "--no-ecs", seq, a, b])
    check("progress: nothing on a pipe", b"\r" not in r.stderr and r.stderr == b"", repr(r.stderr))


def rule_formats(tmp, events):
    """detection-rules TOML rules and hunting files, hunting JSON Lines, and -r over a tree of every format,
    with what was skipped in one stderr line."""
    toml = os.path.join(SHARED, "corpus", "unusual-cmd-parent.toml")
    if os.path.exists(toml):
        r = run(["check", toml])
        check("check reads a detection-rules TOML rule", r.returncode == 0 and lines(r) == ["1 ok, 0 failed"]
              and r.stderr == b"", repr(r))
        r = run(["query", "-r", toml, events])
        out = [json.loads(l) for l in lines(r)]
        check("query -r runs a TOML rule under its rule_id and name",
              r.returncode == 0 and [(o["rule_id"], o["rule_name"], o["event"]["event"]["id"]) for o in out] ==
              [("3b47900d-e793-49e8-968f-c90dc3526aa1", "Unusual Parent Process for cmd.exe", 1),
               ("3b47900d-e793-49e8-968f-c90dc3526aa1", "Unusual Parent Process for cmd.exe", 3)], repr(r))
        check("query -f reads a TOML rule", lines(run(["query", "-f", toml, events])) ==
              lines(run(["query", "-f", RULE, events])))
        check("check reads TOML from stdin", run(["check"], stdin=open(toml, "rb").read()).returncode == 0)
    else:
        print("skip TOML reference rule: %s absent" % toml)

    hunt = write(os.path.join(tmp, "hunt.toml"), HUNT_TOML)
    r = run(["check", hunt])
    err = r.stderr.decode()
    check("a hunting TOML file: each EQL query read; an error at its line in the file",
          r.returncode == 1 and lines(r) == ["1 ok, 1 failed"] and err.startswith(hunt + ":14:1:"), repr(r))
    fixed = write(os.path.join(tmp, "hunt-ok.toml"), HUNT_TOML.replace("process.parent.name ==\n", "true\n"))
    r = run(["query", "-r", fixed, events])
    ids = [(json.loads(l)["rule_id"], json.loads(l)["event"]["event"]["id"]) for l in lines(r)]
    check("a hunting file's queries run as uuid#index (as detection-rules exports them)",
          r.returncode == 0 and ids == [("h-1#0", 1), ("h-1#1", 1), ("h-1#1", 2), ("h-1#0", 3), ("h-1#1", 3)],
          repr(r))
    bad = write(os.path.join(tmp, "bad.toml"), "[rule]\ntype = \"eql\"\nquery = '''\nany where true\n")
    r = run(["check", bad])
    check("invalid TOML is a bad rule file: file: line N: reason, exit 1",
          r.returncode == 1 and r.stderr.decode().startswith(bad + ": line 3: invalid TOML: "), repr(r))

    # toml11 recurses per level: a hostile file used to overflow the stack (SIGSEGV)
    for name, text in [("arrays", "a = " + "[" * 100000 + "]" * 100000), ("inline tables", "a = " + "{b = " * 100000
                       + "1" + "}" * 100000), ("a dotted key", ".".join(["k"] * 100000) + " = 1"),
                       ("a table header", "[" + ".".join(["k"] * 100000) + "]")]:
        deep = write(os.path.join(tmp, "deep.toml"), text + "\n")
        r = run(["check", deep], timeout=60)
        check("TOML nested past 128 levels (%s) is an error, not a crash" % name, r.returncode == 1 and
              r.stderr.decode() == deep + ": line 1: invalid TOML: nested deeper than 128 levels "
              "(arrays, tables, dotted keys)\n", repr(r)[:300])
    # toml11 read past its buffer reporting bad UTF-8 in a ''' string (found by fuzz_rules)
    for name, raw in [("in a ''' string", b"[rule]\ntype = \"eql\"\nquery = '''\nany where x == \"\xe9\"\n'''\n"),
                      ("cut short", b"[rule]\nname = \"\xe2\x82\"\n"), ("a surrogate", b"[rule]\nname = \"\xed\xa0\x80\"\n")]:
        bad = write(os.path.join(tmp, "utf8.toml"), raw, "wb")
        r = run(["check", bad])
        check("TOML that is not UTF-8 (%s) is an error with its line" % name, r.returncode == 1 and
              r.stderr.decode().startswith(bad + ": line ") and r.stderr.decode().endswith(": invalid TOML: not UTF-8\n"),
              repr(r))
    good = write(os.path.join(tmp, "utf8.toml"), ("[rule]\nname = \"café 😀\"\ntype = \"eql\"\n"
                 "query = '''\nany where x == \"€\"\n'''\n").encode("utf-8"), "wb")
    check("TOML in UTF-8 reads", run(["check", good]).returncode == 0)
    deep = write(os.path.join(tmp, "deep.toml"), "a = " + "[" * 128 + "]" * 128 + "\n" + HUNT_TOML.replace(
        "process.parent.name ==\n", "true\n"))
    r = run(["check", deep])
    check("TOML nested 128 levels reads", r.returncode == 0 and lines(r) == ["2 ok, 0 failed"], repr(r))

    hunting = os.path.join(SHARED, "corpus", "detection-rules-eql-hunting.jsonl")
    if os.path.exists(hunting):
        r = run(["check", hunting])
        check("hunting JSON Lines (type hunt, language [\"EQL\"]) are read, not skipped",
              r.returncode == 0 and lines(r) == ["13 ok, 0 failed"] and r.stderr == b"", repr(r))
    mixed = write(os.path.join(tmp, "hunts.jsonl"), "\n".join(json.dumps(o) for o in [
        {"id": "a#0", "query": "process where true", "type": "hunt", "language": ["EQL"]},
        {"id": "b#0", "query": "from logs-*", "type": "hunt", "language": ["ES|QL"]},
        {"id": "c#0", "query": "select 1", "type": "hunt", "language": ["SQL"]}]) + "\n")
    r = run(["check", mixed])
    check("hunting JSON Lines in other languages are skipped with their language",
          lines(r) == ["1 ok, 0 failed"] and r.stderr.decode() ==
          mixed + ": skipped 2 rules that are not EQL (hunt/ES|QL 1, hunt/SQL 1)\n", repr(r))

    # a rule repository: every format, nested, in name order; the rest counted in one line
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "windows", "deep"))
    os.makedirs(os.path.join(tree, ".git"))
    write(os.path.join(tree, ".git", "x.eql"), "not a rule")
    write(os.path.join(tree, "a.eql"), 'process where process.name == "cmd.exe"')
    write(os.path.join(tree, "README.md"), "rules\n")
    write(os.path.join(tree, "pyproject.toml"), "[tool.x]\ny = 1\n")
    write(os.path.join(tree, "windows", "b.toml"),
          '[rule]\nname = "B"\nrule_id = "b"\ntype = "eql"\nlanguage = "eql"\nquery = \'\'\'\nany where true\n\'\'\'\n')
    write(os.path.join(tree, "windows", "kql.toml"), '[rule]\ntype = "query"\nlanguage = "kuery"\nquery = "a:b"\n')
    write(os.path.join(tree, "windows", "deep", "c.jsonl"), json.dumps({"id": "c", "query": "process where true"}) + "\n")
    write(os.path.join(tree, "windows", "deep", "hunt.toml"), HUNT_TOML.replace("process.parent.name ==\n", "true\n"))
    write(os.path.join(tree, "windows", "deep", "notes.txt"), "x\n")
    os.symlink("..", os.path.join(tree, "windows", "deep", "up"))
    r = run(["query", "-r", tree, events])
    ids = sorted(set(json.loads(l)["rule_id"] for l in lines(r)))
    check("-r DIR recurses over .eql, .toml (rules and hunts) and .jsonl",
          r.returncode == 0 and ids == sorted(["a.eql:1", "b", "c", "h-1#0", "h-1#1"]),
          repr(ids))
    check("-r DIR: everything skipped in one line with the reasons",
          r.stderr.decode() == tree + ": skipped 1 rule that is not EQL (query/kuery 1), 1 TOML file with no "
          "[rule] or [hunt], 2 files in no rule format (.md 1, .txt 1) and 1 symlinked directory (not followed)\n",
          repr(r.stderr))
    r = run(["check", tree])
    check("check DIR reads the same tree", r.returncode == 0 and lines(r) == ["5 ok, 0 failed"], repr(r))

    # the whole corpus as detection-rules TOML files: every rule read, text unchanged
    corpus = os.path.join(SHARED, "corpus", "detection-rules-eql.jsonl")
    if not os.path.exists(corpus):
        print("skip corpus as TOML: %s absent" % corpus)
        return
    as_toml = os.path.join(tmp, "corpus-toml")
    os.mkdir(as_toml)
    rules = [json.loads(l) for l in open(corpus)]
    for k, rule in enumerate(rules):
        write(os.path.join(as_toml, "r%04d.toml" % k),
              "[metadata]\nmaturity = \"production\"\n\n[rule]\nname = %s\nrule_id = %s\ntype = \"eql\"\n"
              "language = \"eql\"\nquery = '''\n%s'''\n" % (json.dumps(rule["name"]), json.dumps(rule["id"]),
                                                         rule["query"]))
    r = run(["check", as_toml])
    check("the 1,024 corpus rules as TOML files all read and verify",
          r.returncode == 0 and lines(r) == ["%d ok, 0 failed" % len(rules)], repr(r)[:300])
    one, other = run(["fmt", as_toml]), run(["fmt", corpus])
    check("... with the same query text as the JSON Lines", one.returncode == 0 and one.stdout == other.stdout,
          "%d vs %d bytes" % (len(one.stdout), len(other.stdout)))


def fmt_files(tmp):
    """fmt breaks long rules (one condition, one list item per line), -w rewrites .eql files in place,
    --check lists the files that would change and exits 1."""
    r = run(["fmt", RULE])
    out = r.stdout.decode()
    check("fmt breaks the reference rule: one condition and one list item per line, none past 100 columns",
          r.returncode == 0 and max(len(l) for l in out.splitlines()) <= 100 and "  process.parent.name : (\n"
          "    \"lsass.exe\",\n    \"csrss.exe\",\n" in out and "\n  ) and\n  not (\n" in out, out)
    d = os.path.join(tmp, "fmt")
    os.mkdir(d)
    rule = write(os.path.join(d, "ref.eql"), open(RULE).read())
    os.chmod(rule, 0o640)
    r = run(["fmt", "--check", rule])
    check("fmt --check: exit 1 and the name of a file that is not formatted",
          r.returncode == 1 and lines(r) == [rule] and r.stderr == b"", repr(r))
    r = run(["fmt", "-w", rule])
    check("fmt -w rewrites the file with fmt's output, keeps its mode, leaves no temporary file",
          r.returncode == 0 and r.stdout == b"" and open(rule).read() == out
          and os.stat(rule).st_mode & 0o777 == 0o640 and os.listdir(d) == ["ref.eql"], repr(r))
    inode = os.stat(rule).st_ino
    r = run(["fmt", "--check", rule])
    check("fmt --check: exit 0 and silent on a formatted file", r.returncode == 0 and r.stdout == b"", repr(r))
    check("fmt -w leaves a formatted file alone", run(["fmt", "-w", rule]).returncode == 0
          and os.stat(rule).st_ino == inode)

    many = write(os.path.join(d, "many.eql"), "// first\nprocess where a==1;\n// second\nprocess where b==2; // end\n")
    r = run(["fmt", "-w", many])
    text = open(many).read()
    check("fmt -w on many rules keeps every rule and comment (those after the last ';' too)",
          r.returncode == 0 and text == "// first\nprocess where a == 1\n;\n// second\nprocess where b == 2 // end\n;\n"
          and lines(run(["check", many])) == ["2 ok, 0 failed"], repr((r, text)))
    check("fmt --check after -w is clean", run(["fmt", "--check", many, rule]).returncode == 0)
    lone = write(os.path.join(d, "lone.eql"), "// header\n;\n/* two */;\nprocess where a==1;\n// disabled: b\n;\n"
                 "process where b==2; // after\n;\nprocess where c==3;\n")
    r = run(["fmt", "-w", lone])
    text = open(lone).read()
    check("fmt keeps a comment alone between two ';' (it joins the rule before, or the first rule)",
          r.returncode == 0 and text == "// header\n/* two */\nprocess where a == 1\n// disabled: b\n;\n"
          "process where b == 2 // after\n;\nprocess where c == 3\n;\n"
          and lines(run(["check", lone])) == ["3 ok, 0 failed"], repr((r, text)))
    r = run(["fmt", "--check", lone])
    check("fmt is idempotent over lone comments", r.returncode == 0 and r.stdout == b"", repr(r))
    bad = write(os.path.join(d, "lone-bad.eql"), "// c\n;\n// d\n;\nprocess where\n")
    r = run(["check", bad])
    check("a rule after lone comments is diagnosed at its own line", b"lone-bad.eql:6:1: mismatched input" in r.stderr, repr(r))

    toml = write(os.path.join(d, "rule.toml"), "[rule]\ntype = \"eql\"\nquery = '''\nprocess where a==1\n'''\n"
                 "\n[[rule.threat]]\nid = \"T1\"\n")
    r = run(["fmt", "--check", toml])
    check("fmt --check compares a TOML rule's query", r.returncode == 1 and lines(r) == [toml], repr(r))
    r = run(["fmt", "-w", toml])
    check("fmt -w rewrites a TOML rule's ''' query and nothing else",
          r.returncode == 0 and open(toml).read() == "[rule]\ntype = \"eql\"\nquery = '''\nprocess where a == 1\n'''\n"
          "\n[[rule.threat]]\nid = \"T1\"\n" and run(["fmt", "--check", toml]).returncode == 0, repr(r))
    hunt = write(os.path.join(d, "hunt.toml"), HUNT_TOML.replace("process.parent.name ==\n", "true\n"))
    r = run(["fmt", "-w", hunt])
    text = open(hunt).read()
    check("fmt -w rewrites every query of a hunting file",
          r.returncode == 0 and "'''\nprocess where process.name == \"cmd.exe\" and true\n'''" in text
          and text.count("'''") == 4 and lines(run(["check", hunt])) == ["2 ok, 0 failed"], repr((r, text)))
    basic = write(os.path.join(d, "basic.toml"), "[rule]\ntype = \"eql\"\nquery = \"process where a==1\"\n")
    r = run(["fmt", "-w", basic])
    check("fmt -w refuses a TOML query in a basic string (exit 2) and leaves the file as it was",
          r.returncode == 2 and b"not a ''' string" in r.stderr and "a==1" in open(basic).read(), repr(r))
    jsonl = write(os.path.join(d, "rules.jsonl"), json.dumps({"id": "x", "query": "process where a==1"}) + "\n")
    r = run(["fmt", "-w", jsonl])
    check("fmt -w refuses JSON Lines (exit 2)", r.returncode == 2 and "a==1" in open(jsonl).read(), repr(r))
    r = run(["fmt", "--check", jsonl])
    check("fmt --check compares JSON Lines query by query", r.returncode == 1 and lines(r) == [jsonl], repr(r))
    bad = write(os.path.join(d, "bad.eql"), "process where")
    r = run(["fmt", "--check", bad])
    check("fmt --check on an invalid rule: exit 1 with the diagnostic", r.returncode == 1 and
          r.stdout == b"" and (bad + ":1:") in r.stderr.decode(), repr(r))
    check("fmt -w and --check together is a usage error", run(["fmt", "-w", "--check", rule]).returncode == 2)


def help_and_docs():
    """--help on every command (exit 0, usage on stdout), the man page with its test-file section,
    bash completion."""
    for cmd in ["query", "check", "fmt", "eval", "explain", "test", "bench", "version", "convert", "publish",
                "worker", "alerts", "fields"]:
        for flag in ["--help", "-h"]:
            r = run([cmd, flag])
            out = r.stdout.decode()
            check("eqlite %s %s: usage on stdout, exit 0" % (cmd, flag),
                  r.returncode == 0 and out.startswith("usage: eqlite " + cmd) and r.stderr == b"", repr(r))
    r = run(["help", "fmt"])
    check("eqlite help fmt = eqlite fmt --help", r.returncode == 0 and r.stdout == run(["fmt", "--help"]).stdout)
    r = run(["check", "--frobnicate"])
    check("an unknown option is a usage error, not a file name",
          r.returncode == 2 and b"unknown option --frobnicate" in r.stderr, repr(r))
    check("eval still takes a negative number", lines(run(["eval", "-1"])) == ["-1"])

    man = os.environ.get("EQLITE_MAN")
    if man:
        text = open(man).read()
        check("the man page is troff with the commands, rule files and the test file format",
              text.startswith(".\\\" Generated by scdoc") and '.SH TEST FILES' in text and '.SH RULE FILES' in text
              and "expect" in text and "fmt" in text, text[:200])
    else:
        print("skip man page: scdoc absent")
    completion = os.path.join(SRC, "cli", "completion.bash")
    script = ("shopt -s extglob; source %s; COMP_WORDS=(eqlite %s); COMP_CWORD=%d; _eqlite; "
              "printf '%%s\\n' \"${COMPREPLY[@]}\"")

    def complete(*words):
        r = subprocess.run(["bash", "-c", script % (completion, " ".join(words), len(words))],
                           capture_output=True)
        return r.stdout.decode().split()
    check("bash completion: commands", complete("f") == ["fields", "fmt"] and "query" in complete(""))
    check("bash completion: check --mapping", complete("check", "--m") == ["--mapping"])
    check("bash completion: a command's options", complete("fmt", "--c") == ["--check"]
          and complete("query", "--st") == ["--stats", "--strict"])

    # Every option a command's --help names is in the man page and offered by
    # completion after "--"; completion offers no option the command lacks.
    if man:
        text = open(man).read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
    for cmd in ["query", "check", "fields", "fmt", "test", "bench", "convert", "publish", "worker", "alerts"]:
        helped = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", run([cmd, "--help"]).stdout.decode())) - {"--help"}
        offered = set(o for o in complete(cmd, "--") if o != "--help")
        check("completion of %s offers every option of its --help, and no other" % cmd, helped == offered,
              "missing %s, extra %s" % (sorted(helped - offered), sorted(offered - helped)))
        if man:
            undocumented = sorted(o for o in helped if not re.search(r"(?<![\w-])%s(?![\w-])" % o, text))
            check("the man page documents every option of eqlite %s" % cmd, not undocumented, undocumented)


def bad_record_flood(tmp):
    """Many bad records of one kind: the first few, then one count per kind and a hint."""
    recs = [json.dumps({"time": i, "event": {"category": "process"}}) for i in range(40)]
    recs += [json.dumps({"@timestamp": "bad%d" % i, "event": {"category": "process"}}) for i in range(7)]
    recs.append(event(99, "2024-05-01T00:00:01Z"))
    path = write(os.path.join(tmp, "nots.ndjson"), "\n".join(recs) + "\n")
    r = run(["query", "process where true", path])
    err = r.stderr.decode().splitlines()
    check("bad records: the first 5 of a kind are shown, then a count per kind",
          len(err) == 13 and err[5] == path + ":41: unparseable timestamp 'bad0' in field '@timestamp'"
          and "eqlite: 35 more like \"missing timestamp field '@timestamp'\" not shown (40 in all)" in err
          and "eqlite: 2 more like \"unparseable timestamp ... in field '@timestamp'\" not shown (7 in all)" in err,
          repr(err))
    check("bad records: a missing timestamp names --timestamp-field",
          any("--timestamp-field" in line for line in err), repr(err))
    check("bad records: the good event still runs", r.returncode == 0 and len(lines(r)) == 1, repr(r))
    r = run(["query", "process where true", write(os.path.join(tmp, "allbad.ndjson"), "\n".join(recs[:40]))])
    check("no readable event at all is exit 2, not an empty answer",
          r.returncode == 2 and "no event could be read (40 bad records)" in r.stderr.decode(), repr(r))


def ids_whatever_the_path_spelling(tmp, events):
    """A rule without an id is named by its file (relative to the -r directory) and line: the same
    ids however the directory is spelled, so workers started from other directories agree."""
    sub = os.path.join(tmp, "idless", "sub")
    os.makedirs(sub, exist_ok=True)
    write(os.path.join(sub, "r.jsonl"), json.dumps({"query": "process where true"}) + "\n")

    def ids(rules, cwd=None):
        r = subprocess.run([BIN, "query", "-r", rules, events], capture_output=True, cwd=cwd)
        return sorted(set(json.loads(line)["rule_id"] for line in r.stdout.decode().splitlines()))
    want = ids(os.path.join(tmp, "idless"))
    check("an id-less rule's id is its path under the -r directory and its line", want == ["sub/r.jsonl:1"], want)
    check("... the same with a trailing slash, a doubled one, or a relative path",
          ids(os.path.join(tmp, "idless") + "/") == want and ids(tmp + "//idless") == want
          and ids("idless", cwd=tmp) == want and ids("./idless/", cwd=tmp) == want)
    check("... and a file given alone is named by its base name",
          ids(os.path.join(sub, "r.jsonl")) == ["r.jsonl:1"] and ids("sub/r.jsonl", cwd=os.path.dirname(sub)) == ["r.jsonl:1"])


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


def test_file_checks(tmp, ev2, ev1):
    """`eqlite test` rejects a malformed test file (exit 2, file:line:col: message on stderr, no test
    run) instead of crashing, hanging, or reading it some other way; valid files still pass."""
    head = "defaults: {rule: %s, id_field: event.id}\ntests:\n" % json.dumps(RULE)
    counter = [0]

    def test_file(text, timeout=60):
        counter[0] += 1
        yml = write(os.path.join(tmp, "case%d.yaml" % counter[0]), text)
        try:
            return yml, run(["test", yml], timeout=timeout)
        except subprocess.TimeoutExpired:
            return yml, None

    def col(text, line, needle, nth=1):
        if isinstance(needle, int):  # a column given as such (past the last line)
            return needle
        at, row = -1, text.splitlines()[line - 1]
        for _ in range(nth):
            at = row.index(needle, at + 1)
        return at + 1

    def rejects(name, text, line, needle, message, nth=1):
        yml, r = test_file(text)
        want = "%s:%d:%d: %s" % (yml, line, col(text, line, needle, nth), message)
        got = r and r.stderr.decode().strip()
        check("eqlite test rejects " + name, r is not None and r.returncode == 2 and got == want
              and lines(r) == ["0 passed, 0 failed"], "want %r, got %r" % (want, r))

    def passes(name, text, summary):
        yml, r = test_file(text)
        check("eqlite test accepts " + name, r is not None and r.returncode == 0 and lines(r)[-1] == summary
              and r.stderr == b"", repr(r))

    # valid files still pass, aliases included
    r = run(["test", os.path.join(SRC, "examples", "tests", "unusual-cmd-parent.yaml")])
    check("eqlite test: the example file passes", r.returncode == 0 and lines(r)[-1] == "8 passed, 0 failed", repr(r))
    passes("aliases that do not cycle, an explicit document", "---\n" + head +
           "  - {name: a, events: &two %s, expect: &e {ids: [1, 3], count: 2}}\n"
           "  - {name: b, events: *two, expect: *e, size: 5}\n"
           "  - {name: c, events: [{'@timestamp': 1, k: &v [x, y], j: *v}], expect: {count: 0}}\n...\n"
           % json.dumps(ev2), "3 passed, 0 failed")

    # an alias cycle used to crash (SIGSEGV)
    text = "defaults: {rule: %s}\ntests: &t [{name: x, events: *t, expect: {count: 0}}]\n" % json.dumps(RULE)
    rejects("an alias cycle", text, 2, "*t", "alias *t refers to a node that contains it")

    # depth: 200,000 levels used to recurse for minutes and crash; 1,024 levels is the limit
    deep = "  - {name: deep, events: [" + "[" * 200000 + "]" * 200000 + "], expect: {count: 0}}\n"
    prefix = len("  - {name: deep, events: ")
    yml, r = test_file(head + deep, timeout=30)
    want = "%s:3:%d: nesting deeper than 1024 levels" % (yml, prefix + 1021 + 1)
    check("eqlite test rejects a 200,000-level event quickly", r is not None and r.returncode == 2
          and r.stderr.decode().strip() == want, "want %r, got %r" % (want, r and r.stderr[:300]))

    def nested(levels):  # an event whose innermost mapping sits at depth 5 + levels (root = 1)
        inner = "1"
        for _ in range(levels):
            inner = "{a: %s}" % inner
        return ("tests:\n  - query: 'any where true'\n    id_field: event.id\n"
                "    events: [{'@timestamp': 1, event: {id: 7}, deep: %s}]\n    expect: {ids: [7]}\n" % inner)
    passes("an event nested to the limit (1,024 levels in the file)", nested(1019), "1 passed, 0 failed")
    rejects("an event nested one level past the limit", nested(1020), 4, "{a: 1}",
            "nesting deeper than 1024 levels")
    text = ("tests:\n  - query: 'any where true'\n    events: [{deep: &d " + "[" * 1019 + "]" * 1019 +
            "}, {again: [*d]}]\n    expect: {count: 2}\n")
    rejects("an alias that nests past the limit", text, 3, "*d", "alias *d nests deeper than 1024 levels")

    # alias expansion ("billion laughs") used to run out of time and memory
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]"
    for prev, name in zip("abcdefgh", "bcdefghi"):
        laughs += ", %s: &%s [%s]" % (name, name, ", ".join(["*" + prev] * 10))
    yml, r = test_file(head + "  - {name: laughs, events: [{%s}], expect: {count: 0}}\n" % laughs, timeout=30)
    err = r and r.stderr.decode().strip()
    check("eqlite test rejects aliases that expand past 1,000,000 nodes",
          r is not None and r.returncode == 2 and err.startswith(yml + ":3:")
          and err.endswith(": aliases expand the file to more than 1000000 nodes") and len(err.splitlines()) == 1,
          repr(r and r.stderr[:300]))

    text = (head + "  - name: big\n    events: [{'@timestamp': 1, a: &s '%s'}, {b: [%s]}]\n    expect: {count: 0}\n"
            % ("x" * (1 << 20), ", ".join(["*s"] * 17)))
    rejects("aliases that copy more than 16 MiB of text", text, 4, "*s", "aliases copy more than 16 MiB of text", nth=17)
    text = head + "  - name: many nodes\n    events: [{a: [%s]}]\n    expect: {count: 0}\n" % ",".join(["0"] * 1000000)
    rejects("more than 1,000,000 nodes", text, 4, "0", "more than 1000000 nodes in the file (aliases expanded)",
            nth=999984)
    text = head + "  - {name: t, events: %s, mapping: [%s], expect: {count: 2}}\n" % (
        json.dumps(ev2), ", ".join("m%d.json" % k for k in range(17)))
    rejects("more than 16 mapping files", text, 3, "m16.json", "mapping: more than 16 files")

    # integers are integers
    text = head + "  - name: nothing matches\n    events: []\n    expect: {count: many}\n"
    rejects("count: many", text, 5, "many", "count: expected a non-negative integer, got many")
    text = head + "  - {name: one match, events: %s, expect: {count: 1.9}}\n" % json.dumps(ev1)
    rejects("count: 1.9", text, 3, "1.9", "count: expected a non-negative integer, got 1.9")
    text = head + "  - {name: size, events: %s, size: \"1x\", expect: {count: 1}}\n" % json.dumps(ev2)
    rejects("size: \"1x\"", text, 3, '"1x"', 'size: expected a non-negative integer, got "1x"')
    text = head + "  - {name: n, events: %s, max_samples_per_key: -1, expect: {count: 1}}\n" % json.dumps(ev1)
    rejects("max_samples_per_key: -1", text, 3, "-1", "max_samples_per_key: expected a non-negative integer, got -1")

    # misspelled and unknown keys
    text = ("defaults: {rule: %s, id_field: event.id, timestamp_feild: ''}\ntests:\n"
            "  - {name: t, events: %s, expect: {count: 2}}\n" % (json.dumps(RULE), json.dumps(ev2)))
    rejects("a misspelled key in defaults", text, 1, "timestamp_feild",
            'unknown key "timestamp_feild" in defaults; did you mean "timestamp_field"?')
    text = head + "  - {name: t, events: %s, expect: {ids: [1, 3], cuont: 5}}\n" % json.dumps(ev2)
    rejects("a misspelled key in expect", text, 3, "cuont", 'unknown key "cuont" in expect; did you mean "count"?')
    text = head + "  - {name: t, events: %s, expect: {count: 2}, colour: red}\n" % json.dumps(ev2)
    rejects("an unknown key in a test", text, 3, "colour",
            'unknown key "colour" in a test (known: name, rule, query, id_field, events, expect, mapping, '
            'category_field, timestamp_field, tiebreaker_field, size, max_samples_per_key)')
    text = head + "  - {name: t, events: %s, expect: {count: 2}}\nextra: 1\n" % json.dumps(ev2)
    rejects("an unknown top-level key", text, 4, "extra", 'unknown key "extra" at the top (known: defaults, tests)')

    # duplicate keys
    text = head + "  - {name: t, events: %s, expect: {count: 2, count: 99}}\n" % json.dumps(ev2)
    rejects("a duplicate key", text, 3, "count", 'duplicate key "count" (first at 3:%d)' % col(text, 3, "count"), nth=2)
    text = head + "  - {name: t, events: [{'@timestamp': 1, a: 1, a: 2}], expect: {count: 0}}\n"
    rejects("a duplicate key in an event", text, 3, "a:", 'duplicate key "a" (first at 3:%d)' % col(text, 3, "a:"),
            nth=2)

    # one document per file
    text = (head + "  - {name: passes, events: %s, expect: {count: 2}}\n---\ntests:\n"
            "  - {name: hidden, events: %s, expect: {count: 99}}\n" % (json.dumps(ev2), json.dumps(ev2)))
    rejects("a second YAML document", text, 4, "---", "a second YAML document (a test file holds one)")

    # every value has its type
    text = head.replace("id_field: event.id", "id_field: [event.id]") + \
        "  - {name: t, events: %s, expect: {ids: [1, 3]}}\n" % json.dumps(ev2)
    rejects("id_field: a list", text, 1, "[event.id]", "id_field: expected a string, got a sequence")
    text = head + "  - {name: {a: 1}, events: %s, expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("name: a mapping", text, 3, "{a: 1}", "name: expected a string, got a mapping")
    text = head + "  - {name: 5, events: %s, expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("name: a number", text, 3, "5", "name: expected a string, got 5 (quote it to make it one)")
    text = head + "  - {name: t, events: [%s, {a: 1}], expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("events mixing paths and events", text, 3, "{a: 1}",
            "events: expected a path like the first item, got a mapping")
    text = head + "  - {name: t, events: [{a: 1}, x.ndjson], expect: {count: 2}}\n"
    rejects("events mixing events and paths", text, 3, "x.ndjson",
            "events: expected an event (a mapping) like the first item, got x.ndjson")
    text = head + "  - {name: t, events: %s, expect: {ids: [1, [3]]}}\n" % json.dumps(ev2)
    rejects("ids mixing ids and lists", text, 3, "[3]", "ids: expected an id like the first item, got a sequence")
    text = head + "  - {name: t, events: %s, mapping: 5, expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("mapping: a number", text, 3, "5,", "mapping: expected a path or a list of paths, got 5")
    text = head + "  - 5\n"
    rejects("a test that is not a mapping", text, 3, "5", "a test: expected a mapping, got 5")
    text = head + "  - {name: t, events: %s}\n" % json.dumps(ev2)
    rejects("a test without expect", text, 3, "{", "test \"t\" has no expect: (ids or count)")
    text = head + "  - {name: t, events: %s, expect: {}}\n" % json.dumps(ev2)
    rejects("an empty expect", text, 3, "{}", "expect: give ids or count")
    text = head + "  - {name: t, query: 'any where true', events: %s, expect: {count: 3}}\n" % json.dumps(ev2)
    passes("a test's query over the defaults' rule", text, "1 passed, 0 failed")
    text = head + "  - {name: t, rule: x.eql, query: 'any where true', events: %s, expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("rule and query together", text, 3, "{", "give rule: or query:, not both")
    text = "tests:\n  - {name: t, events: %s, expect: {count: 2}}\n" % json.dumps(ev2)
    rejects("a test without a rule", text, 2, "{", "test \"t\" has no rule: or query:")
    text = "tests:\n  - {name: t, query: 'any where true', events: %s, expect: {ids: [1]}}\n" % json.dumps(ev2)
    rejects("ids without id_field", text, 2, "{", "test \"t\" has expect: ids but no id_field:")
    rejects("an empty file", "", 1, 1, "no tests: list")
    rejects("a YAML syntax error", head + "  - {name: t\n", 4, 1,
            "did not find expected ',' or '}' (while parsing a flow mapping at 3:5)")

    # a bad file does not stop the others
    bad, _ = test_file("tests: [5]\n")
    good, _ = test_file(head + "  - {name: t, events: %s, expect: {count: 2}}\n" % json.dumps(ev2))
    r = run(["test", bad, good])
    check("eqlite test: a bad file is reported, the next still runs (exit 2)",
          r.returncode == 2 and lines(r) == ["ok   %s: t" % good, "1 passed, 0 failed"], repr(r))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        main(d)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)
