#!/usr/bin/env python3
"""End to end checks of the sources (exit 77 = skipped without ../shared):

- field agreement of `eqlite convert` with the ECS Elastic's pipelines made
  (scripts/field_agreement.py: >= 95% overall, process creations agree);
- the reference rule over each attack-sample EVTX gives the hits its raw
  records hold (read independently with python3-evtx when present, else the
  hits named in ../shared/sources/INVENTORY.md: 8 in 7 files);
- the EVTX reader agrees with python3-evtx on every record;
- truncated and corrupt EVTX files never crash and keep their good records,
  even where libevtx itself fails (it runs in a child process).
"""
import gzip
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("EQLITE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("EQLITE_BIN", os.path.join(SRC, "build", "cli", "eqlite"))
SHARED = os.environ.get("EQLITE_SHARED_DIR", os.path.join(SRC, "..", "shared"))
SAMPLES = os.path.join(SHARED, "sources", "evtx-attack-samples")
SYSMON901 = os.path.join(SHARED, "sources/beats/x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-9.01.evtx")
RULE = os.path.join(SRC, "examples", "rules", "unusual-cmd-parent.eql")
PARENTS = {p.lower() for p in (
    "lsass.exe csrss.exe epad.exe regsvr32.exe dllhost.exe LogonUI.exe wermgr.exe spoolsv.exe jucheck.exe "
    "jusched.exe ctfmon.exe taskhostw.exe GoogleUpdate.exe sppsvc.exe sihost.exe slui.exe SIHClient.exe "
    "SearchIndexer.exe SearchProtocolHost.exe FlashPlayerUpdateService.exe WerFault.exe WUDFHost.exe "
    "unsecapp.exe wlanext.exe").split()}
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def python_evtx():
    """A python with python3-evtx (Debian installs it for /usr/bin/python3)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run([py, "-c", "import Evtx.Evtx"], capture_output=True).returncode == 0:
            return py
    return None


def raw_hits(py, path):
    """Reference-rule hits from the raw Sysmon EID 1 records, without eqlite."""
    code = r'''
import sys, Evtx.Evtx as e, xml.etree.ElementTree as ET
NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
parents = set(sys.argv[2].split(","))
base = lambda p: p.replace("/", "\\").rsplit("\\", 1)[-1].lower()
n = 0
with e.Evtx(sys.argv[1]) as log:
    for r in log.records():
        x = ET.fromstring(r.xml()); s = x.find(NS + "System")
        if s.find(NS + "Provider").get("Name") != "Microsoft-Windows-Sysmon" or s.find(NS + "EventID").text != "1":
            continue
        d = {i.get("Name"): i.text or "" for i in x.find(NS + "EventData")}
        parent = base(d.get("ParentImage", ""))
        if base(d.get("Image", "")) == "cmd.exe" and parent in parents and not (
                parent == "dllhost.exe" and "/processid:{ca8c87c1-929d-45ba-94db-ef8e6cb346ad}" in d.get("ParentCommandLine", "").lower()):
            n += 1
print(n)
'''
    out = subprocess.run([py, "-c", code, path, ",".join(sorted(PARENTS))], capture_output=True, text=True)
    return int(out.stdout.strip()) if out.returncode == 0 else None


def children(pid):
    """Pids of the live processes whose parent is pid."""
    kids = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if d.isdigit() and int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def blocked_convert(paths):
    """Starts `eqlite convert paths...` with its output unread, so that it and
    the process reading the EVTX files for it block on full pipes and sockets
    (the files must hold more than those buffers). Returns (Popen, child pids)."""
    p = subprocess.Popen([BIN, "convert", "--source", "none"] + paths, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    kids = []
    for _ in range(100):
        time.sleep(0.05)
        kids = children(p.pid)
        if kids:
            break
    # blocked: it has written, and writes no more
    last, still = -1, 0
    while kids and still < 5:
        time.sleep(0.1)
        try:
            with open("/proc/%d/io" % kids[0]) as f:
                wrote = int(dict(l.split(":") for l in f.read().splitlines())["wchar"])
        except OSError:
            break
        still = still + 1 if wrote == last and wrote > 0 else 0
        last = wrote
    return p, kids


def crash_the_evtx_child(paths, sig):
    """blocked_convert, then ends the process reading the EVTX files with
    sig, as a libevtx crash would. Returns (result, child pids)."""
    p, kids = blocked_convert(paths)
    for k in kids:
        os.kill(k, sig)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), kids


def evtx_inside_gzip(data):
    """x.evtx.gz is EVTX once gunzipped (it was read as NDJSON: hundreds of
    bad lines), from a file, from stdin and cut short."""
    whole = subprocess.run([BIN, "convert", SYSMON901], capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        gz = os.path.join(tmp, "sysmon.evtx.gz")
        with gzip.open(gz, "wb") as f:
            f.write(data)
        r = subprocess.run([BIN, "convert", gz], capture_output=True)
        check(r.returncode == 0 and r.stdout == whole.stdout and not r.stderr and len(whole.stdout.splitlines()) == 32,
              "x.evtx.gz reads as the EVTX it holds: the same 32 records, no bad line (%r)" % r.stderr[:200])
        r = subprocess.run([BIN, "convert", "-"], input=open(gz, "rb").read(), capture_output=True)
        check(r.returncode == 0 and r.stdout == whole.stdout, "... and from stdin (%r)" % r.stderr[:200])
        cut = os.path.join(tmp, "cut.evtx.gz")
        open(cut, "wb").write(open(gz, "rb").read()[:-2000])
        r = subprocess.run([BIN, "convert", cut], capture_output=True)
        kept = r.stdout.splitlines()
        check(r.returncode == 2 and b"truncated gzip input" in r.stderr and len(kept) > 0 and
              all(line in whole.stdout.splitlines() for line in kept),
              "... and a cut .gz keeps the records before the cut, then says so: %d records, %r" % (len(kept), r.stderr[:200]))


def main():
    if not os.path.isdir(os.path.join(SHARED, "sources")):
        print("skipped: %s/sources (the vendor fixtures) is absent" % SHARED)
        return 77
    fa = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "field_agreement.py"), "--eqlite", BIN,
                         "--shared", SHARED], capture_output=True, text=True)
    print(fa.stdout, end="")
    check(fa.returncode == 0, "field agreement with Elastic's ECS (>= 95%, process creations agree)")

    py = python_evtx()
    files = sorted(os.path.join(d, n) for d, _, ns in os.walk(SAMPLES) for n in ns if n.endswith(".evtx"))
    total = 0
    with_hits = 0
    for f in files:
        got = subprocess.run([BIN, "query", "-f", RULE, f], capture_output=True, text=True)
        n = len(got.stdout.splitlines())
        total += n
        with_hits += n > 0
        if py:
            want = raw_hits(py, f)
            check(got.returncode == 0 and n == want, "%s: %d hits, the raw records hold %s" % (os.path.relpath(f, SAMPLES), n, want))
    check(total == 8 and with_hits == 7, "reference rule over %d EVTX files: %d hits in %d files (INVENTORY.md: 8 in 7)"
          % (len(files), total, with_hits))

    if py:
        cc = subprocess.run([py, os.path.join(SRC, "scripts", "evtx_crosscheck.py"), "--eqlite", BIN, SAMPLES,
                             os.path.dirname(SYSMON901)], capture_output=True, text=True)
        check(cc.returncode == 0, "EVTX reader vs python3-evtx: " + (cc.stdout.strip().splitlines() or ["?"])[-1])
    else:
        print("skip python3-evtx cross-check (apt-get install python3-evtx)")

    data = open(SYSMON901, "rb").read()
    evtx_inside_gzip(data)
    with tempfile.TemporaryDirectory() as tmp:
        prev = 0
        for cut in (0, 100, 4096, 5000, 8192, 20000, 40000, 69000):
            p = os.path.join(tmp, "cut.evtx")
            open(p, "wb").write(data[:cut])
            r = subprocess.run([BIN, "convert", p], capture_output=True, text=True)
            n = len(r.stdout.splitlines())
            check(r.returncode in (0, 2) and n >= prev if cut >= 4096 else r.returncode in (0, 2),
                  "truncated at %d bytes: exit %d, %d records" % (cut, r.returncode, n))
            if cut >= 4096:
                prev = n
        check(prev == 32, "a file cut 632 bytes short keeps all 32 records")
        bad = bytearray(data)
        at = [i for i in range(len(bad) - 4) if bad[i:i + 4] == b"**\x00\x00"][5]
        bad[at + 30:at + 60] = b"\xff" * 30
        p = os.path.join(tmp, "corrupt.evtx")
        open(p, "wb").write(bad)
        r = subprocess.run([BIN, "convert", p], capture_output=True, text=True)
        check(len(r.stdout.splitlines()) == 31 and r.stderr.startswith(p + ": record 6: "),
              "a corrupt record is reported as 'file: record N: reason' and the other 31 are kept")
        # One byte (0 -> 0x40 at byte 20129, in record 11) makes libevtx
        # 20181227 allocate without end (300 MB/s, never returning): its
        # child process meets its memory cap, the record is reported and the
        # other 19 are kept, unchanged.
        ppl = os.path.join(SAMPLES, "Credential Access", "ppl_bypass_ppldump_knowdll_hijack_sysmon_security.evtx")
        good = subprocess.run([BIN, "convert", "--source", "none", ppl], capture_output=True, text=True)
        runaway = bytearray(open(ppl, "rb").read())
        runaway[20129] = 0x40
        p = os.path.join(tmp, "runaway.evtx")
        open(p, "wb").write(runaway)
        r = subprocess.run([BIN, "convert", "--source", "none", p], capture_output=True, text=True, timeout=120)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        kept = good.stdout.splitlines()
        check(len(kept) == 20 and r.stdout.splitlines() == kept[:10] + kept[11:] and
              r.stderr.startswith(p + ": record 11: "),
              "a record libevtx allocates without end on is reported, the other 19 kept: " +
              (r.stderr.splitlines() or ["(nothing on stderr)"])[0])
        check(peak_mib < 1536, "and memory stays bounded: peak %d MiB" % peak_mib)

    # CI's fuzzing found this one: byte 6400 of sysmon-9.01.evtx set to 0x40
    # (record 1's template values) makes libevtx read far out of bounds (a
    # SEGV under ASan) or allocate without end (`evtxexport` is killed).
    whole9 = subprocess.run([BIN, "convert", "--source", "none", SYSMON901], capture_output=True,
                            text=True).stdout.splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        bad9 = bytearray(open(SYSMON901, "rb").read())
        bad9[6400] = 0x40
        p = os.path.join(tmp, "segv.evtx")
        open(p, "wb").write(bad9)
        r = subprocess.run([BIN, "convert", "--source", "none", p], capture_output=True, text=True, timeout=120)
        out = r.stdout.splitlines()
        check(r.returncode in (0, 2) and len(out) == 31 and all(line in whole9 for line in out) and
              r.stderr.startswith(p + ": record 1: "),
              "the record libevtx reads out of bounds on is reported, the other 31 kept unchanged: " +
              (r.stderr.splitlines() or ["(nothing on stderr)"])[0])

    # libevtx crashing (CI's fuzzing found a SEGV in libfwevt) costs the record
    # it was on: the reader reports it and a new child goes on after it.
    # The same file three times: ~1 MB of XML, more than the socket between the
    # two processes and the pipe to this script hold, so the child is surely
    # blocked mid-file when the signal comes (it serves the three in turn).
    dns = os.path.join(os.path.dirname(SYSMON901), "sysmon-10.2-dns.evtx")
    whole = subprocess.run([BIN, "convert", "--source", "none", dns], capture_output=True, text=True).stdout.splitlines()
    r, kids = crash_the_evtx_child([dns] * 3, signal.SIGSEGV)
    got, thrice = r.stdout.splitlines(), whole * 3
    at = next((i for i in range(len(got)) if got[i] != thrice[i]), len(got))
    bad = r.stderr.splitlines()
    check(len(kids) == 1 and len(whole) == 156 and got == thrice[:at] + thrice[at + 1:] and
          bad == ["%s: record %d: libevtx crashed on it (Segmentation fault)" % (dns, at % 156 + 1)],
          "libevtx crashing on a record loses that record only: %d children, %d of %d records, stderr %s" %
          (len(kids), len(got), len(thrice), bad[:2]))

    # The child keeps no descriptor of its parent but its socket (fork keeps
    # even close-on-exec ones): an idle child held an embedding program's
    # pipes and sockets open for as long as that program ran (their readers
    # never saw the end), and other children's sockets (a child forked by
    # another thread could hide a sibling's death from its reader: a 30 s stall).
    p, kids = blocked_convert([dns] * 3)
    held = set()
    for k in kids:
        for fd in os.listdir("/proc/%d/fd" % k):
            try:
                held.add(os.readlink("/proc/%d/fd/%s" % (k, fd)))
            except OSError:
                pass
    p.kill()
    p.communicate(timeout=60)
    check(len(kids) == 1 and held and all(h == "/dev/null" or h.startswith("socket:") or h == os.path.realpath(dns)
                                           for h in held),
          "the EVTX child holds /dev/null, its socket and its file only: %s" % sorted(held))
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
