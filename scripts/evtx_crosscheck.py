#!/usr/bin/python3
"""Cross-checks eqlite's EVTX reader (libevtx) against python3-evtx, an
independent parser: for every record of every .evtx file given (or found
under the directories given), the record number, event ID, provider, channel,
computer, system time and every EventData value must agree.

Usage: scripts/evtx_crosscheck.py --eqlite BUILD/cli/eqlite PATH...
Exit 0 all agree, 1 a difference (listed), 77 python3-evtx missing or no files.
"""
import argparse
import datetime
import json
import re
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

try:
    import Evtx.Evtx as evtx
except ImportError:
    print("skipped: python3-evtx is not installed (apt-get install python3-evtx)")
    sys.exit(77)

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


GUID = re.compile(r"^\{[0-9A-Fa-f-]{36}\}$")


def same(a, b):
    """Equal as Windows means them: GUIDs in either case (libevtx writes them as
    Windows does, in capitals; python3-evtx in small letters), booleans in
    either case (python3-evtx writes Python's True/False), times within 5 us
    (python3-evtx converts FILETIME ticks through a float; libevtx is exact)."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        if (GUID.match(a) and GUID.match(b)) or a.lower() in ("true", "false"):
            return a.lower() == b.lower()
        try:
            ta = datetime.datetime.fromisoformat(a.replace(" ", "T"))
            tb = datetime.datetime.fromisoformat(b.replace(" ", "T"))
            return abs((ta - tb).total_seconds()) <= 5e-6
        except ValueError:
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False


def python_records(path):
    out = []
    with evtx.Evtx(path) as log:
        for rec in log.records():
            root = ET.fromstring(rec.xml())
            sys_ = root.find(NS + "System")
            get = lambda tag: (sys_.find(NS + tag).text or "") if sys_.find(NS + tag) is not None else ""
            # winlogbeat's AddPairs (sys/winevent/maputil.go): empty values
            # left out, "" or "Data" named param<place>, the first value of a name kept
            data = {}
            ed = root.find(NS + "EventData")
            for i, d in enumerate(ed if ed is not None else []):
                name = d.get("Name") or d.tag.split("}")[-1]
                if name == "Data":
                    name = "param%d" % (i + 1)
                if d.text and name not in data:
                    data[name] = d.text
            t = sys_.find(NS + "TimeCreated").get("SystemTime")
            out.append({"record_id": int(get("EventRecordID")), "event_id": get("EventID"),
                        "provider": sys_.find(NS + "Provider").get("Name"), "channel": get("Channel"),
                        "computer": get("Computer"), "time": t[:26].rstrip("Z"), "data": data})
    return sorted(out, key=lambda r: r["record_id"])


def eqlite_records(eqlite, path):
    p = subprocess.run([eqlite, "convert", "--source", "none", path], capture_output=True, text=True)
    if p.returncode != 0 or p.stderr:
        raise SystemExit("%s: eqlite convert failed: %s" % (path, p.stderr))
    out = []
    for line in p.stdout.splitlines():
        d = json.loads(line)
        w = d["winlog"]
        out.append({"record_id": int(w["record_id"]), "event_id": w["event_id"], "provider": w["provider_name"],
                    "channel": w.get("channel", ""), "computer": w.get("computer_name", ""),
                    "time": d["@timestamp"].replace(" ", "T")[:26].rstrip("Z"), "data": w.get("event_data", {})})
    return sorted(out, key=lambda r: r["record_id"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eqlite", required=True)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    files = []
    for p in a.paths:
        if os.path.isdir(p):
            for d, _, names in os.walk(p):
                files += [os.path.join(d, n) for n in names if n.endswith(".evtx")]
        elif os.path.exists(p):
            files.append(p)
    if not files:
        print("skipped: no .evtx files under %s" % " ".join(a.paths))
        return 77
    bad = records = 0
    for f in sorted(files):
        mine, theirs = eqlite_records(a.eqlite, f), python_records(f)
        records += len(theirs)
        if len(mine) != len(theirs):
            print("%s: %d records, python3-evtx reads %d" % (f, len(mine), len(theirs)))
            bad += 1
        for m, t in zip(mine, theirs):
            if not same(m, t):
                bad += 1
                keys = [k for k in t if not same(m.get(k), t[k])]
                for k in keys:
                    if k == "data":
                        for dk in sorted(set(m["data"]) | set(t["data"])):
                            if not same(m["data"].get(dk), t["data"].get(dk)):
                                print("%s: record %d: event_data.%s: %r vs python3-evtx %r" % (
                                    f, t["record_id"], dk, m["data"].get(dk), t["data"].get(dk)))
                    else:
                        print("%s: record %d: %s: %r vs python3-evtx %r" % (f, t["record_id"], k, m.get(k), t[k]))
    print("%d files, %d records, %d differences" % (len(files), records, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
