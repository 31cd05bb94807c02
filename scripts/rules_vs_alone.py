#!/usr/bin/env python3
"""The command's rule-set path against each rule alone, on real inputs.

Each case is a set of rules and a set of input files. `eqlite query -r`
runs them together; each rule then runs alone (`eqlite query QUERY`) over
the same files with the same options, and its results must be those the
rule set gave under its id. The rule-set run is repeated with -j 2, on
stdin and gzipped, and must print the same bytes as -j 1.

Cases:
  corpus   every rule of ../shared/corpus/detection-rules-eql.jsonl over the
           sample files under ../shared/sources (EVTX, vendor JSON), one
           run per input kind
  generated  every corpus rule over 20,000 events of ../shared/tools/gen_events.py
  nasty    rules of every operator over nasty values (numbers as strings,
           case variants that fold apart, wildcard characters, arrays, nulls)
           in fields of each ECS type, with ECS types and without
  suites   each conformance suite's queries as one rule set over its data,
           with its mapping and fields

Usage: scripts/rules_vs_alone.py EQLITE [--shared DIR] [--only corpus,generated,nasty,suites]
Prints one line per case and the differences; exits 1 if there are any, 77
(skipped) without the shared data.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile


EVERY = "every-record"  # a rule added to each set: the records the set accepts


def run(cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout, r.stderr


def by_rule(out):
    """-r output lines grouped by rule id, unwrapped to what the rule alone prints."""
    groups = {}
    for line in out.splitlines():
        obj = json.loads(line)
        rid = obj.pop("rule_id")
        obj.pop("rule_name", None)
        groups.setdefault(rid, []).append(obj["event"] if "event" in obj else obj)
    return groups


def check_case(eqlite, name, rules, files, options, problems):
    """rules: [(id, query)]; files: input paths; options: extra query options.
    A rule that does not compile alone is left out of the set."""
    alone = {}
    for rid, query in rules:
        r1, o1, e1 = run([eqlite, "query"] + options + [query] + files)
        if r1 != 1:
            alone[rid] = [json.loads(l) for l in o1.splitlines()]
    rules = [(rid, query) for rid, query in rules if rid in alone]
    with tempfile.TemporaryDirectory() as tmp:
        rules_file = os.path.join(tmp, "rules.jsonl")
        with open(rules_file, "w") as f:
            for rid, query in rules + [(EVERY, "any where true")]:
                f.write(json.dumps({"id": rid, "name": rid, "query": query}) + "\n")
        base = [eqlite, "query"] + options + ["-r", rules_file]
        rc, out, err = run(base + files)
        if rc != 0:
            problems.append("%s: -r exit %d: %s" % (name, rc, err.decode()[-500:]))
            return
        # the same run as -j 2, on stdin (with a window wide enough to sort it)
        # and gzipped (NDJSON inputs only)
        if all(not p.endswith(".evtx") for p in files):
            r2, o2, e2 = run(base + ["-j", "2"] + files)
            if (r2, o2) != (rc, out):
                problems.append("%s: -j 2 prints %d lines (exit %d), -j 1 %d (exit %d)" %
                                (name, o2.count(b"\n"), r2, out.count(b"\n"), rc))
            joined = b"".join(open(p, "rb").read().rstrip(b"\n") + b"\n" for p in files)
            gz = os.path.join(tmp, "all.ndjson.gz")
            with gzip.open(gz, "wb") as g:
                g.write(joined)
            plain = os.path.join(tmp, "all.ndjson")
            with open(plain, "wb") as g:
                g.write(joined)
            r0, o0, _ = run(base + [plain])
            for label, cmd, data in (("stdin", base + ["--reorder-window", "1000000h"], joined),
                                     (".gz", base + [gz], None), ("-j 2 one file", base + ["-j", "2", plain], None)):
                r2, o2, e2 = run(cmd, data)
                if label == "stdin":  # event queries print stdin events as they come, a file's in time order
                    o2, o0_cmp = sorted(o2.splitlines()), sorted(o0.splitlines())
                else:
                    o0_cmp = o0
                if (r2, o2) != (r0, o0_cmp):
                    problems.append("%s: %s prints %d lines (exit %d), the file %d (exit %d): %s" %
                                    (name, label, len(o2) if label == "stdin" else o2.count(b"\n"), r2,
                                     o0.count(b"\n"), r0, e2.decode()[-300:]))
        together = by_rule(out)
        # A record with a value the reader cannot convert in a field the set
        # reads is rejected (said on stderr and counted as a bad line) for
        # every rule of the set, also for rules that do not read that field,
        # which alone see it: only the records the set accepts are compared.
        accepted = set(json.dumps(x, sort_keys=True) for x in together.get(EVERY, []))
        reordered = lost = 0
        for rid, query in rules:
            mine = together.get(rid, [])
            kept = [x for x in alone[rid] if "events" in x or json.dumps(x, sort_keys=True) in accepted]
            lost += len(alone[rid]) - len(kept)
            alone[rid] = kept
            if alone[rid] != mine and sorted(map(json.dumps, alone[rid])) == sorted(map(json.dumps, mine)):
                reordered += 1  # -r sorts unsorted input for its sequences; a query alone keeps input order
            elif alone[rid] != mine:
                problems.append("%s: rule %s: %d results alone, %d in the rule set\n    %s" %
                                (name, rid, len(alone[rid]), len(mine), query[:300]))
        print("%s: %d rules compared, %d results alone, %d in the rule set (%d rules in another order; "
              "%d results alone on records the set rejects), exit %d" %
              (name, len(rules), sum(len(v) for v in alone.values()),
               sum(len(v) for k, v in together.items() if k != EVERY), reordered, lost, rc))


def sample_files(shared, tmp):
    """EVTX files; JSON Lines files eqlite reads as they are; and one file of
    the documents of the pretty-printed JSON ones (sample events, pipeline
    tests and their expected ECS documents), one a line."""
    evtx, lines, docs = [], [], []
    for root, _, names in os.walk(os.path.join(shared, "sources")):
        for n in sorted(names):
            p = os.path.join(root, n)
            if n.endswith(".evtx"):
                evtx.append(p)
            elif n.endswith(".log") or n.endswith(".json") or n.endswith(".ndjson"):
                try:
                    whole = json.load(open(p))
                except ValueError:
                    lines.append(p)
                    continue
                if isinstance(whole, dict):
                    whole = whole.get("events") or whole.get("expected") or [whole]
                docs += [d for d in whole if isinstance(d, dict)]
    converted = os.path.join(tmp, "documents.ndjson")
    with open(converted, "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    return sorted(evtx), sorted(lines) + [converted]


NASTY_VALUES = [4, 4.0, 4.5, -4, 0, "4", "04", "4.0", "+4", " 4", "0x4", "4e0", True, False, None, [], [4, "x"],
                ["4"], [None], "", "k", "K", "\u212a", "s", "\u017f", "S", "ss", "\u00df", "\u1e9e", "i", "I", "\u0131",
                "\u0130", "cmd.exe", "CMD.EXE", "C:\\Windows\\cmd.exe", "*", "?", "\\", "\u03c3", "\u03a3", "\u03c2",
                "10.0.0.1", {"x": 1}]
NASTY_FIELDS = ["process.pid", "process.name", "process.args", "user.id", "destination.port", "source.bytes",
                "host.ip", "event.code", "custom.x"]
NASTY_TESTS = ['== 4', '== "4"', '!= 4', '>= 4', '< "5"', ': "4"', 'in (4, "04")', 'in~ ("K", "s")', '== "K"',
               ': "k"', ': "s"', 'like~ "S*"', 'like "C:\\\\*"', ': "*.EXE"', 'regex~ "ss"', 'regex "[0-9]+"',
               ': "*"', 'like "?"', '== null', '!= null', '== "10.0.0.1"', ': ("\u017f", "\u0130")']


def nasty_case(tmp):
    """One event per (field, value); rules of each test on each field, and sequences joined on them."""
    events = os.path.join(tmp, "nasty.ndjson")
    with open(events, "w") as f:
        ms = 0
        for field in NASTY_FIELDS:
            for v in NASTY_VALUES:
                ms += 1
                ev = {"@timestamp": "2024-01-01T00:00:%02d.%03dZ" % (ms // 1000, ms % 1000),
                      "event": {"category": ["process"], "type": ["start"]}}
                cur = ev
                for part in field.split(".")[:-1]:
                    cur = cur.setdefault(part, {})
                cur[field.split(".")[-1]] = v
                f.write(json.dumps(ev) + "\n")
    rules = []
    for field in NASTY_FIELDS:
        for i, test in enumerate(NASTY_TESTS):
            rules.append(("%s-%d" % (field, i), "process where %s %s" % (field, test)))
        rules.append(("%s-seq" % field, "sequence by %s [process where true] [process where true]" % field))
    return rules, events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("eqlite")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--only", help="cases, comma-separated (default: all)")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.shared, "conformance")):
        print("no shared data in %s: skipped" % a.shared)
        sys.exit(77)
    only = (a.only or "corpus,generated,nasty,suites").split(",")
    problems = []
    rules = []
    for line in open(os.path.join(a.shared, "corpus", "detection-rules-eql.jsonl")):
        r = json.loads(line)
        rules.append((r["id"], r["query"]))
    if "corpus" in only:
        with tempfile.TemporaryDirectory() as tmp:
            evtx, vendor = sample_files(a.shared, tmp)
            check_case(a.eqlite, "corpus over %d EVTX files" % len(evtx), rules, evtx, [], problems)
            check_case(a.eqlite, "corpus over %d JSON files" % len(vendor), rules, vendor, [], problems)
    if "generated" in only:
        with tempfile.TemporaryDirectory() as tmp:
            events = os.path.join(tmp, "events.ndjson")
            subprocess.run([sys.executable, os.path.join(a.shared, "tools", "gen_events.py"), "--n", "20000",
                            "--seed", "7", "--out", events], check=True)
            check_case(a.eqlite, "corpus over 20,000 generated events", rules, [events], [], problems)
    if "nasty" in only:
        with tempfile.TemporaryDirectory() as tmp:
            nasty_rules, events = nasty_case(tmp)
            check_case(a.eqlite, "nasty values, ECS types", nasty_rules, [events], [], problems)
            check_case(a.eqlite, "nasty values, --no-ecs", nasty_rules, [events], ["--no-ecs"], problems)
    if "suites" in only:
        ready = os.path.join(a.shared, "conformance", "ready")
        for suite in sorted(os.listdir(os.path.join(ready, "suites"))):
            s = json.load(open(os.path.join(ready, "suites", suite)))
            d = s["dataset"]
            mappings = d["mapping"] if isinstance(d["mapping"], list) else [d["mapping"]]
            options = ["--no-ecs", "--category-field", d["category_field"], "--timestamp-field",
                       d.get("timestamp_field") or ""]
            if d.get("tiebreaker_field"):
                options += ["--tiebreaker-field", d["tiebreaker_field"]]
            for m in mappings:
                options += ["--mapping", os.path.join(ready, m)]
            rules = [("q%03d-%s" % (i, q["name"]), q["query"]) for i, q in enumerate(s["queries"])]
            check_case(a.eqlite, "suite " + suite, rules, [os.path.join(ready, p) for p in d["data"]], options,
                       problems)
    for p in problems:
        print("DIFFERENCE " + p)
    print("%d differences" % len(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
