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
  suites   each conformance suite's queries as one rule set over its data,
           with its mapping and fields

Usage: scripts/rules_vs_alone.py EQLITE [--shared DIR] [--only corpus|generated|suites]
Prints one line per case and the differences; exits 1 if there are any.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile


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
    """rules: [(id, query)]; files: input paths; options: extra query options."""
    with tempfile.TemporaryDirectory() as tmp:
        rules_file = os.path.join(tmp, "rules.jsonl")
        with open(rules_file, "w") as f:
            for rid, query in rules:
                f.write(json.dumps({"id": rid, "name": rid, "query": query}) + "\n")
        base = [eqlite, "query"] + options + ["-r", rules_file]
        rc, out, err = run(base + files)
        if rc not in (0, 1):
            problems.append("%s: -r exit %d: %s" % (name, rc, err.decode()[-500:]))
            return
        # the same run as -j 2, on stdin (with a window wide enough to sort it)
        # and gzipped (NDJSON inputs only)
        if all(not p.endswith(".evtx") for p in files):
            for label, cmd, data in (("-j 2", base + ["-j", "2"] + files, None),):
                r2, o2, e2 = run(cmd, data)
                if (r2, o2) != (rc, out):
                    problems.append("%s: %s prints %d lines (exit %d), -j 1 %d (exit %d)" %
                                    (name, label, o2.count(b"\n"), r2, out.count(b"\n"), rc))
            joined = b"".join(open(p, "rb").read().rstrip(b"\n") + b"\n" for p in files)
            gz = os.path.join(tmp, "all.ndjson.gz")
            with gzip.open(gz, "wb") as g:
                g.write(joined)
            plain = os.path.join(tmp, "all.ndjson")
            with open(plain, "wb") as g:
                g.write(joined)
            r0, o0, _ = run(base + [plain])
            for label, cmd, data in (("stdin", base + ["--reorder-window", "100000h"], joined), (".gz", base + [gz], None),
                                     ("-j 2 one file", base + ["-j", "2", plain], None)):
                r2, o2, e2 = run(cmd, data)
                if (r2, o2) != (r0, o0):
                    problems.append("%s: %s prints %d lines (exit %d), the file %d (exit %d): %s" %
                                    (name, label, o2.count(b"\n"), r2, o0.count(b"\n"), r0, e2.decode()[-300:]))
        together = by_rule(out)
        compared = hits = reordered = 0
        for rid, query in rules:
            r1, o1, e1 = run([eqlite, "query"] + options + [query] + files)
            if r1 == 1:
                continue  # does not compile alone: -r left it out too
            alone = [json.loads(l) for l in o1.splitlines()]
            compared += 1
            hits += len(alone)
            mine = together.get(rid, [])
            if alone != mine and sorted(map(json.dumps, alone)) == sorted(map(json.dumps, mine)):
                reordered += 1  # -r sorts unsorted input for its sequences; a query alone keeps input order
            elif alone != mine:
                problems.append("%s: rule %s: %d results alone, %d in the rule set\n    %s" %
                                (name, rid, len(alone), len(together.get(rid, [])), query[:300]))
        print("%s: %d rules compared, %d results alone, %d in the rule set (%d rules in another order), exit %d" %
              (name, compared, hits, sum(len(v) for v in together.values()), reordered, rc))


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("eqlite")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--only")
    a = ap.parse_args()
    problems = []
    rules = []
    for line in open(os.path.join(a.shared, "corpus", "detection-rules-eql.jsonl")):
        r = json.loads(line)
        rules.append((r["id"], r["query"]))
    if a.only in (None, "corpus"):
        with tempfile.TemporaryDirectory() as tmp:
            evtx, vendor = sample_files(a.shared, tmp)
            check_case(a.eqlite, "corpus over %d EVTX files" % len(evtx), rules, evtx, [], problems)
            check_case(a.eqlite, "corpus over %d JSON files" % len(vendor), rules, vendor, [], problems)
    if a.only in (None, "generated"):
        with tempfile.TemporaryDirectory() as tmp:
            events = os.path.join(tmp, "events.ndjson")
            subprocess.run([sys.executable, os.path.join(a.shared, "tools", "gen_events.py"), "--n", "20000",
                            "--seed", "7", "--out", events], check=True)
            check_case(a.eqlite, "corpus over 20,000 generated events", rules, [events], [], problems)
    if a.only in (None, "suites"):
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
