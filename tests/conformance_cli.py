#!/usr/bin/env python3
"""End-to-end conformance through the eqlite binary.

    conformance_cli.py query   runs every query of ../shared/conformance/ready/suites/*.json
                               with `eqlite query` and compares the ids of the results
    conformance_cli.py test    converts each suite to the YAML of `eqlite test` at test time
                               and runs it, so both paths check the same expected answers

Environment: EQLITE_BIN (the binary), EQLITE_SHARED_DIR (../shared). Exits 77 (meson: skipped)
when the shared data is absent.

Sequence and sample queries need lib/sequence.c; when the engine cannot run them yet (a probe
sequence query fails or finds nothing), their outcomes are reported as "pending" and do not fail
the run. Every other query must pass.
"""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("EQLITE_BIN", "eqlite")
SHARED = os.environ.get("EQLITE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
READY = os.path.join(SHARED, "conformance", "ready")


# Known engine gaps (library, not the command): reported as "known", not failed.
KNOWN = {}


def as_list(x):
    return [] if x is None else x if isinstance(x, list) else [x]


def is_ordered(query):
    head = query.lstrip().split(None, 1)[0].lower() if query.strip() else ""
    return head in ("sequence", "sample")


def ordered_supported():
    """Whether the engine produces sequence results at all (a two-event probe)."""
    probe = '{"@timestamp":1,"event":{"category":"process"},"k":1}\n' \
            '{"@timestamp":2,"event":{"category":"process"},"k":1}\n'
    r = subprocess.run([BIN, "query", "sequence by k [process where true] [process where true]"],
                       input=probe.encode(), capture_output=True)
    return r.returncode == 0 and r.stdout.count(b"\n") == 1


def dataset_args(ds):
    args = []
    for m in as_list(ds.get("mapping")):
        args += ["--mapping", os.path.join(READY, m)]
    if ds.get("category_field"):
        args += ["--category-field", ds["category_field"]]
    args += ["--timestamp-field", ds.get("timestamp_field") or ""]
    if ds.get("tiebreaker_field"):
        args += ["--tiebreaker-field", ds["tiebreaker_field"]]
    return args


def lookup(obj, dotted):
    if dotted in obj:
        return obj[dotted]
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def result_ids(stdout, id_field):
    ids = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        obj = json.loads(line)
        if "events" in obj and "join_keys" in obj:
            ids += [-1 if ev.get("missing") is True and len(ev) == 1 else lookup(ev, id_field)
                    for ev in obj["events"]]
        else:
            ids.append(lookup(obj, id_field))
    return ids


def matches(expected, got):
    if expected and isinstance(expected[0], list):
        return any(alt == got for alt in expected)
    return expected == got


def run_query_mode(suites, ordered_ok):
    outcomes = []
    for path, suite in suites:
        ds = suite["dataset"]
        data = [os.path.join(READY, d) for d in as_list(ds["data"])]
        for q in suite["queries"]:
            args = [BIN, "query"] + dataset_args(ds)
            if q.get("size") is not None:
                args += ["--size", str(q["size"])]
            if q.get("max_samples_per_key") is not None:
                args += ["--max-samples-per-key", str(q["max_samples_per_key"])]
            r = subprocess.run(args + ["--", q["query"]] + data, capture_output=True)
            why = ""
            if r.returncode != 0:
                ok, why = False, "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace").strip()[:300])
            else:
                got = result_ids(r.stdout, ds["id_field"])
                ok = matches(q["expected_event_ids"], got)
                if not ok:
                    why = "expected %s, got %s" % (json.dumps(q["expected_event_ids"]), json.dumps(got))
            outcomes.append((suite["suite"], q["name"], q["query"], ok, why))
    return outcomes


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def suite_yaml(suite):
    ds = suite["dataset"]
    lines = ["defaults:",
             "  id_field: %s" % yaml_str(ds["id_field"]),
             "  category_field: %s" % yaml_str(ds.get("category_field") or "event.category"),
             "  timestamp_field: %s" % yaml_str(ds.get("timestamp_field") or ""),
             "  mapping: [%s]" % ", ".join(yaml_str(os.path.join(READY, m)) for m in as_list(ds.get("mapping"))),
             "  events: [%s]" % ", ".join(yaml_str(os.path.join(READY, d)) for d in as_list(ds["data"]))]
    if ds.get("tiebreaker_field"):
        lines.append("  tiebreaker_field: %s" % yaml_str(ds["tiebreaker_field"]))
    lines.append("tests:")
    for q in suite["queries"]:
        lines.append("  - name: %s" % yaml_str(q["name"]))
        lines.append("    query: %s" % yaml_str(q["query"]))
        for key in ("size", "max_samples_per_key"):
            if q.get(key) is not None:
                lines.append("    %s: %d" % (key, q[key]))
        lines.append("    expect:")
        lines.append("      ids: %s" % json.dumps(q["expected_event_ids"]))
    return "\n".join(lines) + "\n"


def run_test_mode(suites, ordered_ok):
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, suite in suites:
            yml = os.path.join(tmp, suite["suite"] + ".yaml")
            with open(yml, "w") as f:
                f.write(suite_yaml(suite))
            r = subprocess.run([BIN, "test", yml], capture_output=True)
            lines = r.stdout.decode(errors="replace").splitlines()
            status = {}
            for line in lines:
                if line.startswith("ok   ") or line.startswith("FAIL "):
                    rest = line[5:].split(": ", 2)
                    status[rest[1] if len(rest) > 1 else ""] = (line.startswith("ok"), rest[2] if len(rest) > 2 else "")
            if not lines or not lines[-1].endswith(" failed"):
                print("eqlite test did not finish %s: exit %d\n%s" % (yml, r.returncode, r.stderr.decode()[:2000]))
            for q in suite["queries"]:
                ok, why = status.get(q["name"], (False, "no result line"))
                outcomes.append((suite["suite"], q["name"], q["query"], ok, why))
    return outcomes


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "query"
    if not os.path.isdir(os.path.join(READY, "suites")):
        print("SKIP: %s is absent (the conformance data lives in ../shared)" % READY)
        return 77
    names = sorted(n for n in os.listdir(os.path.join(READY, "suites")) if n.endswith(".json"))
    suites = [(n, json.load(open(os.path.join(READY, "suites", n)))) for n in names]
    ordered_ok = ordered_supported()
    outcomes = (run_query_mode if mode == "query" else run_test_mode)(suites, ordered_ok)
    per_suite = {}
    hard_failures = 0
    for suite, name, query, ok, why in outcomes:
        pending = is_ordered(query) and not ordered_ok
        c = per_suite.setdefault(suite, {"passed": 0, "failed": 0, "pending": 0, "known": 0})
        known = KNOWN.get(suite + "/" + name)
        if ok:
            c["passed"] += 1
            if known:
                print("NOTE %s/%s passes now: drop it from KNOWN" % (suite, name))
        elif known:
            c["known"] += 1
            print("KNOWN %s/%s: %s (%s)" % (suite, name, known, why))
        elif pending:
            c["pending"] += 1
        else:
            c["failed"] += 1
            hard_failures += 1
            print("FAIL %s/%s: %s\n     query: %s" % (suite, name, why, query.replace("\n", " ")))
    print("mode %s; sequences/samples %s" % (mode, "checked" if ordered_ok else "pending (engine has no sequence results yet)"))
    for suite, c in sorted(per_suite.items()):
        print("%-22s %3d passed, %3d failed, %3d known engine gaps, %3d pending"
              % (suite, c["passed"], c["failed"], c["known"], c["pending"]))
    total_pass = sum(c["passed"] for c in per_suite.values())
    total_pending = sum(c["pending"] for c in per_suite.values())
    total_known = sum(c["known"] for c in per_suite.values())
    print("%d passed, %d failed (%d known engine gaps, %d pending)"
          % (total_pass, hard_failures, total_known, total_pending))
    # The engine runs sequences: a query left pending, or a run with nothing
    # to check, is a failure, not a pass.
    if total_pending or total_pass == 0:
        print("FAIL %d pending, %d passed: nothing may be left unchecked" % (total_pending, total_pass))
        return 1
    return 1 if hard_failures else 0


if __name__ == "__main__":
    sys.exit(main())
