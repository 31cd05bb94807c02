#!/usr/bin/env python3
"""libeqlite.so exports the public API and nothing else (no C++ template
instances), and its pkg-config file links statically (-lm)."""
import os
import subprocess
import sys

lib, pc = sys.argv[1], sys.argv[2]
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True)
if out.returncode != 0:
    print("skip: nm failed: " + out.stderr.strip())
    sys.exit(77)
names = [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]
foreign = [n for n in names if not n.startswith("eqlite_")]
failed = 0
if foreign or not names:
    print("FAIL exported symbols outside the API: %s" % foreign[:10])
    failed += 1
else:
    print("ok   %d symbols, all eqlite_*" % len(names))
if "-lm" not in open(pc).read():
    print("FAIL %s lacks -lm for static links" % os.path.basename(pc))
    failed += 1
else:
    print("ok   pkg-config file carries -lm")
sys.exit(1 if failed else 0)
