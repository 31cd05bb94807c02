#!/usr/bin/env python3
"""Best user CPU of commands run in turn (interleaved, so load changes hit
them alike), each over the same input file appended as its last argument.

Usage: scripts/best_user_cpu.py ROUNDS FILE LABEL=ARG|ARG|... [LABEL=...]
  e.g. scripts/best_user_cpu.py 7 ev2m.ndjson 'ev=build/cli/eqlite|query|process where true'
Prints each label's best user time (getrusage of the child: microseconds,
not /usr/bin/time's hundredths) and, for two labels, their ratio."""
import resource
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, path = int(sys.argv[1]), sys.argv[2]
    runs = [arg.split("=", 1) for arg in sys.argv[3:]]
    best = {}
    for _ in range(rounds):
        for label, cmd in runs:
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
            subprocess.run(cmd.split("|") + [path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            took = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
            best[label] = min(best.get(label, took), took)
    for label, _ in runs:
        print("%-12s %.3f s" % (label, best[label]))
    if len(runs) == 2:
        print("%s / %s: %.3f" % (runs[1][0], runs[0][0], best[runs[1][0]] / best[runs[0][0]]))


if __name__ == "__main__":
    main()
