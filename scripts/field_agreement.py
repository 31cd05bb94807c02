#!/usr/bin/env python3
"""Field agreement of `eqlite convert` with the ECS that Elastic's own pipelines
produced, for every fixture pair in ../shared/sources (see INVENTORY.md).

For every expected document, every field that it holds and that the corpus
rules read is compared with the converted document (arrays of one and scalars
alike; keyword numbers as their text; timestamps as instants; related.* as
sets). Prints agreed/total per source and each disagreement; exits 1 when a
process-creation document disagrees on any field or overall agreement is
below 95%, 77 when ../shared is absent.

Usage: scripts/field_agreement.py [--eqlite BUILD/cli/eqlite] [--shared DIR] [--quiet]
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def rule_fields(corpus):
    fields = set()
    tok = re.compile(r'\??([A-Za-z_@][A-Za-z0-9_@]*(?:\.[A-Za-z0-9_@]+)+|@timestamp)')
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)["query"]
            q = re.sub(r'"""(.|\n)*?"""', '""', q)
            q = re.sub(r'"(\\.|[^"\\])*"', '""', q)
            q = re.sub(r"//[^\n]*", "", q)
            fields.update(m.group(1) for m in tok.finditer(q))
    return fields


def flat(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def norm(field, v):
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        if x is None:
            continue
        if isinstance(x, bool):
            x = "true" if x else "false"
        x = str(x)
        if field == "@timestamp" or field.endswith(".start") or field in ("event.created",):
            try:
                x = datetime.datetime.fromisoformat(x.replace("Z", "+00:00")[:26] + ("+00:00" if x.endswith("Z") else "")).timestamp()
                x = "%.3f" % x
            except ValueError:
                pass
        out.append(x)
    return sorted(out) if field.startswith("related.") else out


def pairs(shared):
    s = os.path.join(shared, "sources")
    b = os.path.join(s, "beats/x-pack/winlogbeat/module/sysmon/test/testdata")
    w = os.path.join(s, "integrations/packages/windows/data_stream/sysmon_operational/_dev/test/pipeline")
    m = os.path.join(s, "integrations/packages/m365_defender/data_stream/event/_dev/test/pipeline")
    o = os.path.join(s, "integrations/packages/sentinel_one_cloud_funnel/data_stream/event/_dev/test/pipeline")
    e = os.path.join(s, "endpoint-package/package/endpoint/data_stream/process")
    load = lambda p: json.load(open(p, encoding="utf-8"))
    yield ("windows (sysmon-9.01.evtx)", "windows", os.path.join(b, "sysmon-9.01.evtx"), None,
           load(os.path.join(b, "ingest/sysmon-9.01.golden.json")))
    yield ("windows (sysmon-9.01 winlogbeat JSON)", "windows", os.path.join(b, "collection/sysmon-9.01.evtx.golden.json"),
           None, load(os.path.join(b, "ingest/sysmon-9.01.golden.json")))
    yield ("windows (sysmon-12 winlogbeat JSON)", "windows", os.path.join(b, "collection/sysmon-12-processcreate.evtx.golden.json"),
           None, load(os.path.join(b, "ingest/sysmon-12-processcreate.golden.json")))
    yield ("windows (integrations image load)", "windows", None,
           load(os.path.join(w, "test-image-loaded-failed-signature.json"))["events"],
           load(os.path.join(w, "test-image-loaded-failed-signature.json-expected.json"))["expected"])
    yield ("m365-defender", "m365-defender", os.path.join(m, "test-device.log.derived-28.log"), None,
           load(os.path.join(m, "test-device.log-expected.json"))["expected"])
    yield ("sentinelone-cloud-funnel", "sentinelone-cloud-funnel", os.path.join(o, "test-process.log"), None,
           load(os.path.join(o, "test-process.log-expected.json"))["expected"])
    yield ("ecs (Elastic Defend)", "ecs", None, [load(os.path.join(e, "sample_event.json"))],
           [load(os.path.join(e, "sample_event.json"))])


def convert(eqlite, path, records):
    if records is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
            path = f.name
    out = subprocess.run([eqlite, "convert", "--stats", path], capture_output=True, text=True)
    if records is not None:
        os.unlink(path)
    if out.returncode != 0:
        raise SystemExit("eqlite convert %s failed:\n%s" % (path, out.stderr))
    return [json.loads(l) for l in out.stdout.splitlines()], out.stderr.strip()


# Expected files that contradict each other, so no converter can agree with
# both: (label, doc, field) -> why. Printed, and not counted as failures.
KNOWN_CONFLICTS = {
    ("windows (sysmon-12 winlogbeat JSON)", 1, "event.action"):
        "beats' sysmon-12 golden (pipeline @2e3a07e) replaces winlogbeat's action with the pipeline's own "
        "('Process creation'); the sysmon-9.01 golden (@0e74f72) keeps it ('Process Create (rule: "
        "ProcessCreate)'), which is what corpus rules match ('Process Create*'): eqlite keeps it",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eqlite", default=os.path.join(HERE, "..", "build", "cli", "eqlite"))
    ap.add_argument("--shared", default=os.environ.get("EQLITE_SHARED_DIR", os.path.join(HERE, "..", "..", "shared")))
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    corpus = os.path.join(a.shared, "corpus", "detection-rules-eql.jsonl")
    if not os.path.exists(corpus) or not os.path.isdir(os.path.join(a.shared, "sources")):
        print("skipped: %s (the shared corpus and sources) is absent" % a.shared)
        return 77
    fields = rule_fields(corpus)
    total_agreed = total = 0
    process_failures = 0
    for label, profile, path, records, expected in pairs(a.shared):
        got, stats = convert(a.eqlite, path, records)
        agreed = count = 0
        lines = []
        if len(got) != len(expected):
            lines.append("  %d documents converted, %d expected" % (len(got), len(expected)))
        for i, (g, x) in enumerate(zip(got, expected)):
            gf, xf = flat(g), flat(x)
            xcat, xtype = xf.get("event.category", []), xf.get("event.type", [])
            is_start = "process" in (xcat if isinstance(xcat, list) else [xcat]) and \
                "start" in (xtype if isinstance(xtype, list) else [xtype])
            for f in sorted(xf):
                if f not in fields or xf[f] in (None, [], ""):
                    continue
                count += 1
                if norm(f, gf.get(f)) == norm(f, xf[f]):
                    agreed += 1
                else:
                    known = KNOWN_CONFLICTS.get((label, i + 1, f))
                    process_failures += is_start and not known
                    lines.append("  doc %d%s %s: got %s, expected %s%s" % (i + 1, " (process start)" if is_start else "", f,
                                 json.dumps(gf.get(f))[:90], json.dumps(xf[f])[:90],
                                 "\n    known conflict: " + known if known else ""))
        total_agreed += agreed
        total += count
        print("%-40s %4d/%-4d %5.1f%%   [%s]" % (label, agreed, count, 100.0 * agreed / max(count, 1), stats))
        if not a.quiet:
            for l in lines:
                print(l)
    print("%-40s %4d/%-4d %5.1f%%" % ("all", total_agreed, total, 100.0 * total_agreed / max(total, 1)))
    ok = process_failures == 0 and total_agreed >= 0.95 * total
    print("process-creation disagreements: %d; overall %s 95%%" % (process_failures, ">=" if total_agreed >= 0.95 * total else "<"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
