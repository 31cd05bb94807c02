#!/usr/bin/env python3
"""Builds examples/subproject, a program that takes eqlite as a meson
subproject, in a temporary directory whose subprojects/eqlite links to this
source tree; then runs its test. No network: the subproject is local."""
import os
import shutil
import subprocess
import sys
import tempfile

def main():
    source_root = os.environ["EQLITE_SOURCE_DIR"]
    meson = shutil.which("meson")
    if not meson:
        print("meson not on PATH: skipped")
        return 77
    example = os.path.join(source_root, "examples", "subproject")
    with tempfile.TemporaryDirectory(prefix="eqlite-subproject-") as tmp:
        consumer = os.path.join(tmp, "consumer")
        shutil.copytree(example, consumer)
        os.makedirs(os.path.join(consumer, "subprojects"))
        os.symlink(source_root, os.path.join(consumer, "subprojects", "eqlite"))
        build = os.path.join(tmp, "build")
        # No optimisation: this checks the build wiring, not speed.
        steps = [[meson, "setup", "--wrap-mode=nodownload", "--buildtype=plain", build, consumer],
                 [meson, "compile", "-C", build],
                 [meson, "test", "-C", build, "--print-errorlogs", "consumer"]]
        for cmd in steps:
            run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if run.returncode != 0:
                print("FAILED:", " ".join(cmd))
                print(run.stdout[-6000:])
                return 1
        log = open(os.path.join(build, "meson-logs", "testlog.txt")).read()
        if "consumer: 3 events, 1 match" not in log:
            print("the consumer did not report its count:\n" + log[-3000:])
            return 1
        print("subproject consumer built and passed")
    return 0

if __name__ == "__main__":
    sys.exit(main())
