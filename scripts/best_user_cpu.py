#!/usr/bin/env python3
"""Best user CPU of commands run in turn (interleaved, so load changes hit
them alike), each over the same input file appended as its last argument.

Usage: scripts/best_user_cpu.py ROUNDS FILE LABEL=ARG|ARG|... [LABEL=...]
  e.g. scripts/best_user_cpu.py 7 ev2m.ndjson 'ev=build/cli/eqlite|query|process where true'
Prints each label's best user time (getrusage of the child: microseconds,
not /usr/bin/time's hundredths) and best wall time, and, for two labels, the
ratio of their user times (wall times speak only on an idle machine)."""
import resource
import time
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, path = int(sys.argv[1]), sys.argv[2]
    runs = [arg.split("=", 1) for arg in sys.argv[3:]]
    best, wall = {}, {}
    for _ in range(rounds):
        for label, cmd in runs:
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, time.monotonic()
            subprocess.run(cmd.split("|") + [path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            took, elapsed = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before, time.monotonic() - start
            best[label] = min(best.get(label, took), took)
            wall[label] = min(wall.get(label, elapsed), elapsed)
    for label, _ in runs:
        print("%-12s %.3f s user, %.3f s wall" % (label, best[label], wall[label]))
    if len(runs) == 2:
        print("%s / %s: %.3f" % (runs[1][0], runs[0][0], best[runs[1][0]] / best[runs[0][0]]))


if __name__ == "__main__":
    main()
