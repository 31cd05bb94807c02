#!/usr/bin/python3
"""Damages EVTX files (cuts at random offsets, flips random bytes) and checks
`eqlite convert`: no crash, stderr only `file: record N: reason` or `file: the
chunk at byte X ...` lines, no good record lost or changed (a record is good
when its bytes end before the cut, or when no flipped byte is in its chunk or
the file header; python3-evtx gives the layout), and never a record lost or
changed with nothing said. Damaged files that fail are kept in the temporary
directory printed at the end.

Usage: SEED=N scripts/evtx_damage.py EQLITE FILE.evtx...   (exit 1 on a problem)"""
import json, os, random, re, subprocess, sys, tempfile
import Evtx.Evtx as evtx

eqlite = sys.argv[1]
files = sys.argv[2:]
rnd = random.Random(int(os.environ.get("SEED", "1")))
tmp = tempfile.mkdtemp(prefix="evtx-damage-")
problems = 0
stats = {"good": 0, "reported": 0, "out": 0, "changed": 0}
cases = 0


def layout(path):
    recs = []
    with evtx.Evtx(path) as log:
        for ch in log.chunks():
            for r in ch.records():
                rid = int(re.search(r"<EventRecordID>(\d+)</EventRecordID>", r.xml()).group(1))
                recs.append((rid, ch.offset(), r.offset(), r.size()))
    return recs


def convert(path):
    p = subprocess.run([eqlite, "convert", "--source", "none", path], capture_output=True, timeout=300,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    out = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        try:
            d = json.loads(line)
            out.setdefault(int(d["winlog"]["record_id"]), []).append(line)
        except Exception as e:
            out.setdefault(-1, []).append(line)
    return p, out


def report(what, detail):
    global problems
    problems += 1
    print("PROBLEM %s: %s" % (what, detail[:600]))


for f in files:
    full_p, full = convert(f)
    recs = layout(f)
    size = os.path.getsize(f)
    data = open(f, "rb").read()
    for kind in ["cut"] * 5 + ["flip"] * 5:
        cases += 1
        b = bytearray(data)
        if kind == "cut":
            cut = rnd.randrange(8, size)
            b = b[:cut]
            good = [n for n, c, o, s in recs if o + s <= cut]
            what = "%s cut at %d" % (f, cut)
        else:
            nflip = rnd.choice([1, 1, 2, 8])
            at = [rnd.randrange(8, size) for _ in range(nflip)]
            for a in at:
                b[a] ^= 1 << rnd.randrange(8)
            hit_chunks = {4096 + (a - 4096) // 65536 * 65536 for a in at if a >= 4096}
            header = any(a < 4096 for a in at)
            good = [] if header else [n for n, c, o, s in recs if c not in hit_chunks]
            what = "%s flip at %s" % (f, at)
        dmg = os.path.join(tmp, "d.evtx")
        open(dmg, "wb").write(bytes(b))
        try:
            p, got = convert(dmg)
        except subprocess.TimeoutExpired:
            report(what, "timeout")
            continue
        err = p.stderr.decode(errors="replace")
        if p.returncode not in (0, 2) or "Sanitizer" in err or "runtime error" in err:
            report(what, "rc %d %s" % (p.returncode, err[-2000:]))
            open(os.path.join(tmp, "crash-%d.evtx" % cases), "wb").write(bytes(b))
            continue
        for line in err.splitlines():
            if not (re.match(re.escape(dmg) + r": record \d+: .+", line) or
                    re.match(re.escape(dmg) + r": the chunk at byte \d+ .+", line) or re.match(r"eqlite: cannot read " + re.escape(dmg) + ": .+", line)):
                report(what, "stderr line %r" % line)
                break
        stats["good"] += len(good)
        stats["reported"] += sum(1 for l in err.splitlines() if ": record " in l)
        stats["out"] += sum(len(v) for v in got.values())
        stats["changed"] += sum(1 for n, v in got.items() if n not in good and full.get(n) and v != full.get(n))
        if not err.strip() and any(got.get(n) != v for n, v in full.items()):
            report(what, "records lost or changed and nothing said")
            open(os.path.join(tmp, "silent-%d.evtx" % cases), "wb").write(bytes(b))
        lost = [n for n in good if full.get(n) and got.get(n) != full.get(n)]
        if lost:
            report(what, "%d good records lost or changed, e.g. %d: %s / %s (rc %d, stderr %s)" % (
                len(lost), lost[0], full.get(lost[0]), got.get(lost[0]), p.returncode, err[:300]))
            open(os.path.join(tmp, "lost-%d.evtx" % cases), "wb").write(bytes(b))
print("%d cases, %d problems, %s (damaged files in %s)" % (cases, problems, stats, tmp))
sys.exit(1 if problems else 0)
