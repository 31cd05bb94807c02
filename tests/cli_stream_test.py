#!/usr/bin/env python3
"""`eqlite query` runs that need event order (sequences, samples, tail): one
pass over input in order, results as they complete, memory that does not grow
with the input, out-of-order events on streams, unsorted files."""
import gzip
import json
import os
import re
import select
import subprocess
import sys
import tempfile

BIN = os.environ.get("EQLITE_BIN", "eqlite")
failures = []


def run(args, stdin=b""):
    # These events join on a field of their own (k); without ECS types it is
    # not an "unknown field" warning (cli_test checks that warning).
    if args and args[0] == "query":
        args = ["query", "--no-ecs"] + args[1:]
    return subprocess.run([BIN] + args, input=stdin, capture_output=True)


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def event(i, ts, k="a", cat="process"):
    return json.dumps({"@timestamp": ts, "event": {"id": i, "category": [cat]}, "k": k},
                      separators=(",", ":"))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def lines(r):
    return r.stdout.decode().splitlines()


SEQ = "sequence by k [process where event.id == 1] [process where event.id == 2]"


def main(tmp):
    rules = write(os.path.join(tmp, "rules.jsonl"),
                  json.dumps({"id": "ev", "query": "process where true"}) + "\n" +
                  json.dumps({"id": "seq", "query": SEQ}) + "\n")
    two = event(2, "2024-05-01T00:00:02Z") + "\n" + event(1, "2024-05-01T00:00:01Z") + "\n"

    # the minimal case: the file gives the event rule both events, so must stdin
    path = write(os.path.join(tmp, "two.ndjson"), two)
    f = [json.loads(l)["rule_id"] for l in lines(run(["query", "-r", rules, path]))]
    r = run(["query", "-r", rules], stdin=two.encode())
    s = [json.loads(l)["rule_id"] for l in lines(r)]
    check("out-of-order stdin: event queries see every event", s.count("ev") == 2 and f.count("ev") == 2,
          "file %r stdin %r" % (f, s))
    check("out-of-order stdin: the sequence does not guess", "seq" not in s, repr(s))

    # late events: one note per reason, with the count and the first place
    many = "".join(event(9, "2024-05-01T00:00:%02dZ" % t) + "\n" for t in (10, 1, 2, 3))
    r = run(["query", SEQ], stdin=many.encode())
    err = r.stderr.decode().splitlines()
    check("late events are one note with a count", r.returncode == 0 and len(err) == 1 and
          err[0].startswith("<stdin>:2: 3 events out of") and "samples saw them, sequences did not" in err[0], repr(err))
    # a sample takes late events: the same groups as over the events in order
    smp = "sample by k [process where event.id == 9] [process where event.id == 8]"
    late_smp = "".join(event(i, "2024-05-01T00:00:%02dZ" % t, k=k) + "\n" for i, t, k in
                       [(9, 10, "a"), (8, 1, "a"), (9, 2, "b"), (8, 11, "b")])
    in_order_smp = "".join(sorted(late_smp.splitlines(True), key=lambda l: json.loads(l)["@timestamp"]))
    r, want = run(["query", smp], stdin=late_smp.encode()), run(["query", smp], stdin=in_order_smp.encode())
    check("a sample over late events on stdin finds the groups of the events in order",
          len(lines(r)) == 2 and sorted(lines(r)) == sorted(lines(want)) and not r.stderr, "%r %r" % (r, want))

    # --reorder-window: events up to that late are put in order for sequences; later ones are counted
    win = "".join(event(i, "2024-05-01T00:00:%02dZ" % t, k=k) + "\n"
                  for i, t, k in [(2, 5, "a"), (1, 1, "a"), (1, 30, "b"), (2, 2, "b"), (2, 31, "b")])
    r = run(["query", "-r", rules, "--reorder-window", "10s"], stdin=win.encode())
    out = [json.loads(l) for l in lines(r)]
    seqs = [o["join_keys"] for o in out if o["rule_id"] == "seq"]
    err = r.stderr.decode().splitlines()
    check("--reorder-window puts late events in order for sequences", seqs == [["a"], ["b"]], repr(out))
    check("--reorder-window: event queries still see every event",
          sum(o["rule_id"] == "ev" for o in out) == 5, repr(out))
    check("--reorder-window: an event later than the window is one note", len(err) == 1 and
          err[0].startswith("<stdin>:4: 1 event later than --reorder-window"), repr(err))
    r = run(["query", "-r", rules], stdin=win.encode())
    seqs = [json.loads(l)["join_keys"] for l in lines(r) if json.loads(l)["rule_id"] == "seq"]
    check("without a window the same stream loses the first sequence", seqs == [["b"]], repr(seqs))
    check("--reorder-window takes a duration with a unit",
          run(["query", "--reorder-window", "10", SEQ]).returncode == 2 and
          run(["query", "--reorder-window", "-1s", SEQ]).returncode == 2)

    # visible limits: a rule that lost partials at a limit says so once; --stats shows the state
    keys = "".join(event(1, 1714521600000 + t, k="k%d" % t) + "\n" for t in range(5)) + \
        event(2, 1714521600009, k="k0") + "\n" + event(2, 1714521600010, k="k4") + "\n"
    r = run(["query", "--max-partials", "2", SEQ], stdin=keys.encode())
    err = r.stderr.decode().splitlines()
    check("a rule that lost state says so once at the end", len(lines(r)) == 1 and len(err) == 1 and
          "lost state: 3 partials or keys evicted" in err[0], repr(err))
    r = run(["query", "--stats", "-r", rules, "--max-partials", "2"], stdin=keys.encode())
    err = r.stderr.decode()
    seq_line = [l.split() for l in err.splitlines() if l.startswith("seq ")]
    check("--stats with -r shows each rule's state and the totals",
          len(seq_line) == 1 and seq_line[0][-4:] == ["1", "3", "0", "0"] and
          "sequence state: partials held 1, evicted at a limit 3" in err, err)
    check("--max-partials takes a positive count", run(["query", "--max-partials", "0", SEQ]).returncode == 2)

    # a live stream: a sequence result is printed while the input is still open
    p = subprocess.Popen([BIN, "query", "--no-ecs", SEQ], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write((event(1, "2024-05-01T00:00:01Z") + "\n" + event(2, "2024-05-01T00:00:02Z") + "\n").encode())
    p.stdin.flush()
    ready, _, _ = select.select([p.stdout], [], [], 10)
    got = p.stdout.readline() if ready else b""
    p.stdin.close()
    p.wait(timeout=30)
    check("a live stream prints a result before its input ends",
          bool(ready) and json.loads(got)["join_keys"] == ["a"], repr(got))

    # a sorted file streams; its results equal those of the same events on stdin
    sorted_text = "".join(event(1 + (t % 2), "2024-05-01T00:00:%02dZ" % t, k="k%d" % (t // 4)) + "\n"
                          for t in range(40))
    sp = write(os.path.join(tmp, "sorted.ndjson"), sorted_text)
    a, b = run(["query", "-r", rules, sp]), run(["query", "-r", rules], stdin=sorted_text.encode())
    check("a sorted file and stdin agree", a.stdout == b.stdout and len(lines(a)) == 60 and not a.stderr,
          "%d vs %d %r" % (len(lines(a)), len(lines(b)), a.stderr))
    # a file whose order the line-start check cannot see (timestamp not first) goes through the reader
    late_ts = "".join(json.dumps({"event": {"id": 1 + (t % 2), "category": ["process"]}, "k": "x",
                                  "@timestamp": "2024-05-01T00:00:%02dZ" % (39 - t)}) + "\n" for t in range(40))
    lp = write(os.path.join(tmp, "reversed.ndjson"), late_ts)
    r = run(["query", SEQ, lp])
    check("an unsorted file is sorted (timestamp not the first key)", len(lines(r)) == 19 and not r.stderr,
          "%d lines %r" % (len(lines(r)), r.stderr))

    # the line-start check compares timestamps of one layout by their bytes: another layout is parsed
    # (here T09:00-05:00 sorts before T10:00Z as bytes, but is 14:00Z), and the last one read carries to the
    # next file
    def ts_event(i, ts, k="a"):
        return '{"@timestamp":"%s","event":{"id":%d,"category":["process"]},"k":"%s"}\n' % (ts, i, k)
    layouts = write(os.path.join(tmp, "layouts.ndjson"), ts_event(2, "2024-05-01T09:00-05:00") +
                    ts_event(1, "2024-05-01T10:00Z"))
    r = run(["query", SEQ, layouts])
    check("timestamps of another layout are compared as times, not bytes",
          len(lines(r)) == 1 and not r.stderr, "%r %r" % (lines(r), r.stderr))
    first = write(os.path.join(tmp, "first.ndjson"), ts_event(1, "2024-05-01T00:00:10.000Z") +
                  ts_event(3, "2024-05-01T00:00:11.000Z", k="z") + ts_event(3, "2024-05-01T00:00:20.000Z", k="z"))
    second = write(os.path.join(tmp, "second.ndjson"), ts_event(2, "2024-05-01T00:00:15.000Z"))
    r = run(["query", SEQ, first, second])
    check("a file that starts before the last timestamp of the one before is sorted with it",
          len(lines(r)) == 1 and not r.stderr, "%r %r" % (lines(r), r.stderr))

    # the check reads the file in 1 MiB blocks: lines across a block's end, a line longer than a block,
    # and one event out of order in the second block
    def block_file(name, swap):
        evs = [(i, "2024-05-01T00:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000)) for i in range(9000)]
        if swap:
            evs[7005], evs[7006] = evs[7006], evs[7005]
        path = os.path.join(tmp, name)
        with open(path, "w") as out:
            for n, (i, ts) in enumerate(evs):
                pad = "x" * (1500000 if n == 4000 else 100)
                out.write('{"@timestamp":"%s","event":{"id":%d,"category":["process"]},"k":"k%d","pad":"%s"}\n'
                          % (ts, 1 + i % 2, i // 2, pad))
        return path
    blocks_seq = "sequence by k [process where event.id == 1] [process where event.id == 2]"
    r = run(["query", blocks_seq, block_file("blocks.ndjson", False)])
    check("a file in order over several read blocks streams", len(lines(r)) == 4500 and not r.stderr,
          "%d %r" % (len(lines(r)), r.stderr[:300]))
    r = run(["query", blocks_seq, block_file("blocks_swapped.ndjson", True)])
    check("one event out of order in a later read block is found: the file is sorted",
          len(lines(r)) == 4500 and not r.stderr, "%d %r" % (len(lines(r)), r.stderr[:300]))

    # -j 2 with sequences: event queries in the chunk workers, the rest in order; the same bytes as -j 1
    mixed = write(os.path.join(tmp, "mixed.jsonl"), "\n".join(json.dumps(r) for r in [
        {"id": "any-2", "query": "process where event.id == 2"},
        {"id": "seq", "query": "sequence by k with maxspan=5s [process where event.id == 1] [process where event.id == 2]"},
        {"id": "ev-3", "query": "process where event.id == 3"},
        {"id": "tail", "query": "process where event.id == 3 | tail 2"},
        {"id": "seq-open", "query": "sequence by k [process where event.id == 3] [process where event.id == 1]"},
        {"id": "all", "query": "process where true"},  # after the sequences: the merge must interleave
    ]) + "\n")
    chunks = os.path.join(tmp, "chunks.ndjson")
    with open(chunks, "w") as out:
        for i in range(30000):
            out.write(json.dumps({"@timestamp": 1714521600000 + i * 100, "event": {"id": 1 + (i * 7) % 3,
                                  "category": ["process"]}, "k": "k%d" % (i % 13), "pad": "p" * 400},
                                 separators=(",", ":")) + "\n")
    one, two = run(["query", "-r", mixed, "-j", "1", chunks]), run(["query", "-r", mixed, "-j", "2", chunks])
    ids = [json.loads(l)["rule_id"] for l in lines(one)]
    check("-j 2 with sequences prints the bytes of -j 1 (file over several chunks)",
          one.stdout == two.stdout and one.returncode == two.returncode == 0 and not two.stderr and
          ids.count("seq") > 100 and ids.count("tail") == 2 and ids.count("seq-open") > 100,
          "%d vs %d lines, %r" % (len(lines(one)), len(lines(two)), two.stderr[:300]))
    # more threads than cores: whichever thread writes a chunk feeds the ordered rules
    four = run(["query", "-r", mixed, "-j", "4", chunks])
    check("-j 4 with sequences prints the bytes of -j 1", one.stdout == four.stdout and four.returncode == 0,
          "%d vs %d lines, %r" % (len(lines(one)), len(lines(four)), four.stderr[:300]))
    # -j 2: an event only a sequence holding partials can take (here event.id 2) is handed with its time
    # alone and read again when the sequence holds one (after each event.id 1); results as -j 1's
    rare_starts = write(os.path.join(tmp, "rare_starts.ndjson"), "".join(
        json.dumps({"@timestamp": 1714521600000 + i * 100, "event": {"id": 1 if i % 100 == 0 else 2,
                    "category": ["process"]}, "pad": "p" * 400}, separators=(",", ":")) + "\n" for i in range(30000)))
    rare_rules = write(os.path.join(tmp, "rare.jsonl"), "\n".join(json.dumps(r) for r in [
        {"id": "ev-1", "query": "process where event.id == 1"},
        {"id": "seq", "query": "sequence with maxspan=1s [process where event.id == 1] [process where event.id == 2]"},
    ]) + "\n")
    one = run(["query", "-r", rare_rules, "-j", "1", rare_starts])
    two = subprocess.run([BIN, "query", "--no-ecs", "-r", rare_rules, "-j", "2", rare_starts], capture_output=True,
                         env=dict(os.environ, EQLITE_CPU_SPLIT="1"))
    handed = re.search(rb"(\d+) events handed over.*, ([\d.]+)% to read again while a sequence holds partials \((\d+) read again",
                       two.stderr)
    time_alone = int(handed.group(1)) * float(handed.group(2)) / 100 if handed else 0
    check("-j 2 reads again an event handed with its time alone when a sequence holds a partial",
          one.stdout == two.stdout and len(lines(one)) == 600 and
          handed is not None and (time_alone < 1000 or int(handed.group(3)) > 0),
          "%d vs %d lines, %r" % (len(lines(one)), len(lines(two)), two.stderr[-400:]))

    # -j checks order in pieces of 1 MiB or more, one per thread at a time: a swap at a piece's edge or
    # inside one is found (the file is sorted, as -j 1 sorts it), a file in order runs split (the cpu
    # split line says so), and a line the line-start check cannot read hands the file to the reader
    def piece_file(name, swap_at=None, odd_at=None):
        evs = [event(1 + i % 2, "2024-05-01T%02d:%02d:%02dZ" % (i // 3600, i // 60 % 60, i % 60), k="k%d" % (i // 2))
               [:-1] + ',"pad":"%s"}' % ("p" * 400) for i in range(12000)]
        if odd_at is not None:  # the timestamp after another key: the reader decides
            e = json.loads(evs[odd_at])
            evs[odd_at] = json.dumps({"k": e["k"], **{x: y for x, y in e.items() if x != "k"}}, separators=(",", ":"))
        starts, at = [], 0
        for e in evs:
            starts.append(at)
            at += len(e) + 1
        if swap_at is not None:  # the line holding byte swap_at, and the next
            i = max(n for n, st in enumerate(starts) if st <= swap_at)
            evs[i], evs[i + 1] = evs[i + 1], evs[i]
        return write(os.path.join(tmp, name), "".join(e + "\n" for e in evs))

    def split_run(path, jobs):
        return subprocess.run([BIN, "query", "--no-ecs", SEQ, "-j", jobs, path], capture_output=True,
                              env=dict(os.environ, EQLITE_CPU_SPLIT="1"))
    mib = 1 << 20
    for name, kw, split in (("in order", {}, True),
                            ("a swap across the edge of two pieces", {"swap_at": 2 * mib}, False),
                            ("a swap inside a piece", {"swap_at": 3 * mib + mib // 2}, False),
                            ("a line the line-start check cannot read, in order", {"odd_at": 9000}, True),
                            ("that line and a swap after it", {"odd_at": 9000, "swap_at": 5 * mib}, False)):
        path = piece_file("pieces.ndjson", **kw)
        one, two = split_run(path, "1"), split_run(path, "2")
        check("-j 2 order check in pieces: %s" % name,
              one.stdout == two.stdout and len(lines(one)) == 6000 and (b"cpu split" in two.stderr) == split and
              b"out of" not in two.stderr + one.stderr,
              "%d vs %d lines, %r" % (len(lines(one)), len(lines(two)), two.stderr[-300:]))

    # the check begins in a thread of its own while the rules compile: a rule that does not compile
    # stops it (exit 1, the rule's message alone), and so does a rule set that needs no order
    bad = subprocess.run([BIN, "query", "--no-ecs", "sequence [process where (", "-j", "2", path], capture_output=True,
                         timeout=60)
    plain, plain1 = (subprocess.run([BIN, "query", "--no-ecs", "process where true", "-j", j, path],
                                    capture_output=True, timeout=60) for j in ("2", "1"))
    check("-j 2 order check begun early: a rule that does not compile stops it, as does one needing no order",
          bad.returncode == 1 and bad.stdout == b"" and bad.stderr.count(b"\n") == 3 and
          plain.returncode == 0 and len(lines(plain)) > 0 and plain.stdout == plain1.stdout and plain.stderr == b"",
          "%r / %r" % (bad.stderr[-300:], plain.stderr[-300:]))

    # --strict: a bad line in a later chunk stops every thread, after the results of every line before
    # it, the ordered rules' too (they were lost for the chunk holding the bad line)
    with open(chunks) as f:
        good = f.readlines()
    strict_in = write(os.path.join(tmp, "strict.ndjson"), "".join(good[:25000]) + "{bad\n" + "".join(good[25000:]))
    s2, s3 = (run(["query", "--strict", "-r", mixed, "-j", j, strict_in]) for j in ("2", "3"))
    results = [json.loads(l) for l in lines(s2)]
    ids = [r["rule_id"] for r in results]
    last_seq = max(r["events"][-1]["@timestamp"] for r in results if r["rule_id"] == "seq-open")
    check("--strict under -j 2 with sequences gives the results of every line before the bad one",
          s2.returncode == s3.returncode == 2 and s2.stdout == s3.stdout and b":25001:" in s2.stderr and
          ids.count("all") == 25000 and ids.count("seq-open") > 100 and
          last_seq > 1714521600000 + 24950 * 100,
          "%d vs %d lines, %r" % (len(lines(s2)), len(lines(s3)), s2.stderr[:300]))

    # --stats: each rule's state is the same however the events come (-j 1, -j 2, a shuffled copy sorted,
    # stdin); a sequence whose steps always come further apart than its maxspan expires every partial
    # but those started within its last maxspan
    with open(chunks) as f:
        chunk_lines = f.read().splitlines(True)
    stamps = [json.loads(l)["@timestamp"] for l in chunk_lines]
    starts = [t for l, t in zip(chunk_lines, stamps) if json.loads(l)["event"]["id"] == 1]
    held_short = sum(stamps[-1] - t <= 1000 for t in starts)
    shuffled_chunks = write(os.path.join(tmp, "chunks_shuffled.ndjson"),
                            "".join(chunk_lines[(i * 7919) % len(chunk_lines)] for i in range(len(chunk_lines))))
    stat_rules = write(os.path.join(tmp, "stat_rules.jsonl"), open(mixed).read() + json.dumps(
        {"id": "seq-short", "query": "sequence by k with maxspan=1s [process where event.id == 1] "
                                     "[process where event.id == 3]"}) + "\n")

    def rule_states(args, stdin=b""):
        r = run(["query", "--stats", "--max-partials", "6", "-r", stat_rules] + args, stdin=stdin)
        err = r.stderr.decode().splitlines()
        head = [i for i, l in enumerate(err) if l.startswith("rule ")]
        rows = [l.split() for l in err[head[0] + 1:]] if head else []
        # id, hits, events, then (past the time) partials held, evicted, expired, late
        return {row[0]: row[1:3] + row[4:] for row in rows}, err
    states = [rule_states(a) for a in (["-j", "1", chunks], ["-j", "2", chunks], [shuffled_chunks])]
    states.append(rule_states([], stdin="".join(chunk_lines).encode()))
    check("--stats per-rule state agrees with -j 1, -j 2, a sorted copy and stdin",
          all(st == states[0][0] for st, _ in states) and len(states[0][0]) == 7, repr([st for st, _ in states]))
    short = states[0][0].get("seq-short", [])
    # it runs on the events its filters take (event.id 1 or 3: the index keys numbers by value)
    taken = sum(json.loads(l)["event"]["id"] in (1, 3) for l in chunk_lines)
    check("--stats: a sequence whose steps come further apart than its maxspan expires its partials",
          short == ["0", str(taken), str(held_short), "0", str(len(starts) - held_short), "0"],
          "%r, expected %d held" % (short, held_short))
    late, err = rule_states([], stdin="".join(chunk_lines[(i * 7919) % len(chunk_lines)]
                                              for i in range(len(chunk_lines))).encode())
    noted = [int(l.split()[1]) for l in err if "out of (timestamp, tiebreaker) order" in l]
    # a sequence counts the late events the index hands it (those its filters can take): some of the
    # note's, never more
    check("--stats on a shuffled stream: each sequence counts the late events it was handed",
          len(noted) == 1 and all(0 < int(late[r][-1]) <= noted[0] for r in ("seq", "seq-open", "seq-short")) and
          all(late[r][-1] == "0" for r in ("any-2", "all", "tail")), "%r %r" % (late, noted))

    # -j 2 hands the ordered side only what its guards can take, and time for clocked sequences: a trailing
    # missing clause (and pipes) with maxspan completes on any later event, most of them ones no filter takes
    clocked = write(os.path.join(tmp, "clocked.jsonl"), "\n".join(json.dumps(r) for r in [
        {"id": "missing", "query": "sequence by k with maxspan=2s [process where event.id == 1] "
                                   "![process where event.id == 2]"},
        {"id": "piped", "query": "sequence by k with maxspan=10s [process where event.id == 1] "
                                 "[process where event.id == 1] | head 40"},
        {"id": "net", "query": "sequence by k [network where event.id == 7] [network where event.id == 7]"},
        {"id": "all", "query": "any where true"},
    ]) + "\n")
    quiet = os.path.join(tmp, "quiet.ndjson")
    with open(quiet, "w") as out:
        for i in range(30000):  # ids 1 and 2 one event in 50; the rest no ordered rule's guard takes
            eid = 1 if i % 50 == 0 else 2 if i % 50 == 7 and i % 200 else 3 + i % 4
            out.write(json.dumps({"@timestamp": 1714521600000 + i * 100, "event": {"id": eid, "category": [
                "process" if i % 3 else "network"]}, "k": "k%d" % (i % 5), "pad": "p" * 400},
                separators=(",", ":")) + "\n")
    one, two = run(["query", "-r", clocked, "-j", "1", quiet]), run(["query", "-r", clocked, "-j", "2", quiet])
    ids = [json.loads(l)["rule_id"] for l in lines(one)]
    check("-j 2 with clocked sequences over events no guard takes prints the bytes of -j 1",
          one.stdout == two.stdout and one.returncode == two.returncode == 0 and not two.stderr and
          ids.count("missing") > 50 and ids.count("piped") == 40 and ids.count("all") == 30000,
          "%d vs %d lines, %r %r" % (len(lines(one)), len(lines(two)), two.stderr[:300],
                                     {i: ids.count(i) for i in set(ids)}))

    # memory: a sequence over a file in order does not keep the events
    big = os.path.join(tmp, "big.ndjson")
    pad = "x" * 2000
    with open(big, "w") as out:
        for i in range(40000):
            out.write(json.dumps({"@timestamp": 1714521600000 + i, "event": {"id": 3, "category": ["process"]},
                                  "k": "k%d" % (i % 50), "pad": pad}, separators=(",", ":")) + "\n")
    size_mb = os.path.getsize(big) / 1e6
    if os.path.exists("/usr/bin/time"):
        # the growth over a 100-event run of the same binary: sanitizer
        # builds carry tens of MB of their own
        head = os.path.join(tmp, "big_head.ndjson")
        with open(big) as src, open(head, "w") as dst:
            dst.writelines(line for _, line in zip(range(100), src))
        r = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "query", SEQ, big], capture_output=True)
        rss_mb = int(r.stderr.decode().split()[-1]) / 1e3
        rb = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "query", SEQ, head], capture_output=True)
        base_mb = int(rb.stderr.decode().split()[-1]) / 1e3
        check("a sequence over an %.0f MB sorted file stays small (%.1f MB peak, %.1f MB for 100 events)"
              % (size_mb, rss_mb, base_mb), r.returncode == 0 and rss_mb - base_mb < size_mb / 4, r.stderr.decode())

    # unsorted files: an index over the file, sorted (spilled to disk past --memory-limit), never the text
    n = 3000
    stamps = [(i * 7919) % n for i in range(n)]
    evs = [(t, {"@timestamp": 1714521600000 + t, "event": {"id": 1 + t % 3, "category": ["process"]},
                "k": "k%d" % (t % 37)}) for t in stamps]
    shuffled = "".join(json.dumps(e, separators=(",", ":")) + "\n" for _, e in evs)
    in_order = "".join(json.dumps(e, separators=(",", ":")) + "\n" for _, e in sorted(evs, key=lambda x: x[0]))
    up = write(os.path.join(tmp, "shuffled.ndjson"), shuffled)
    op = write(os.path.join(tmp, "ordered.ndjson"), in_order)
    seq3 = ("sequence by k [process where event.id == 1] [process where event.id == 2] "
            "[process where event.id == 3]")
    want = run(["query", seq3, op])
    got = run(["query", seq3, up])
    spilled = run(["query", "--memory-limit", "1K", seq3, up])
    check("an unsorted file gives the sorted file's results", got.stdout == want.stdout and
          len(lines(want)) > 50 and not got.stderr, "%d vs %d" % (len(lines(got)), len(lines(want))))
    check("sort runs spilled to disk give the same results", spilled.stdout == want.stdout,
          "%d vs %d %r" % (len(lines(spilled)), len(lines(want)), spilled.stderr))
    check("--memory-limit takes a size", run(["query", "--memory-limit", "lots", seq3, up]).returncode == 2)
    gzp = os.path.join(tmp, "shuffled.ndjson.gz")
    with gzip.open(gzp, "wb") as f:
        f.write(shuffled.encode())
    r = run(["query", seq3, gzp])
    check("an unsorted .gz file is sorted too", r.stdout == want.stdout, "%d lines %r" % (len(lines(r)), r.stderr))
    arr = write(os.path.join(tmp, "shuffled.json"), "[" + ",\n".join(shuffled.splitlines()) + "]")
    r = run(["query", seq3, arr])
    check("an unsorted JSON array is sorted too", r.stdout == want.stdout, "%d lines %r" % (len(lines(r)), r.stderr))
    # --stats counts each record once in the sources line, however many passes read it
    for name, path in (("unsorted", up), ("sorted", op), (".gz", gzp), ("array", arr), ("reversed", lp)):
        r = run(["query", "--stats", seq3, path])
        src = [l.split()[1:] for l in r.stderr.decode().splitlines() if l.startswith("sources:")]
        counts = [int(c) for c in src[0][1::2]] if src else []
        check("--stats over a%s %s file: the sources line counts each record once" % ("n" * (name[0] in "ua."), name),
              sum(counts) == (40 if path == lp else n), repr(src))
    # two files each in order, the second older: sorted together
    half = in_order.splitlines(True)
    first, second = write(os.path.join(tmp, "late.ndjson"), "".join(half[n // 2:])), \
        write(os.path.join(tmp, "early.ndjson"), "".join(half[:n // 2]))
    r = run(["query", seq3, first, second])
    check("files sort together", r.stdout == want.stdout, "%d lines %r" % (len(lines(r)), r.stderr[:200]))
    r = run(["bench", "--repeat", "1", seq3, up])
    got = [l for l in lines(r) if "(read+project+match)" in l]
    check("eqlite bench counts what eqlite query prints on an unsorted file",
          len(got) == 1 and (" %d matches" % len(lines(want))) in got[0], repr(r.stdout[-400:]))
    # a tiebreaker orders events of the same timestamp
    tb_events = [{"@timestamp": 1714521600000, "event": {"id": 2 - (t % 2), "category": ["process"]}, "k": "t",
                  "seq": 10 - t} for t in range(10)]
    tbp = write(os.path.join(tmp, "tb.ndjson"), "".join(json.dumps(e) + "\n" for e in tb_events))
    r = run(["query", "--tiebreaker-field", "seq", SEQ, tbp])
    out = [[e["seq"] for e in json.loads(l)["events"]] for l in lines(r)]
    check("the tiebreaker orders a sort", out == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]], repr(r))
    # string tiebreakers that share their first 8 bytes are compared whole
    for e in tb_events:
        e["seq"] = "evt-%06d" % e["seq"]
    tbs = write(os.path.join(tmp, "tb_strings.ndjson"), "".join(json.dumps(e) + "\n" for e in tb_events))
    r = run(["query", "--tiebreaker-field", "seq", SEQ, tbs])
    out = [[e["seq"][-2:] for e in json.loads(l)["events"]] for l in lines(r)]
    check("long string tiebreakers order a sort", out == [["01", "02"], ["03", "04"], ["05", "06"], ["07", "08"],
                                                           ["09", "10"]] and not r.stderr, repr(r))

    # an engine error names the event's line: in a later -j chunk (both sides of
    # a split) and in a sort by tiebreaker
    big = os.path.join(tmp, "overflow.ndjson")
    with open(big, "w") as out:
        for i in range(30000):
            out.write(json.dumps({"@timestamp": 1714521600000 + i, "event": {"id": 1, "category": ["process"]},
                                  "n": 2 ** 63 - 1 if i == 24999 else i, "k": "a", "pad": "x" * 200}) + "\n")
    split = write(os.path.join(tmp, "split_rules.jsonl"),
                  json.dumps({"id": "seq", "query": "sequence by k [process where n * 3 > 0] [process where false]"}) +
                  "\n" + json.dumps({"id": "ev", "query": "process where true"}) + "\n")
    for args in (["-j", "2", "process where n * 2 > 0"], ["-j", "2", "-r", split]):
        r = run(["query"] + args + [big])
        check("-j 2 %s: an engine error names the event's line" % args[2],
              r.returncode == 2 and (big + ":25000: ").encode() in r.stderr, repr(r.stderr[-300:]))
    lines_tb = [{"@timestamp": 1714521600000 + 20 - i, "event": {"id": 1, "category": ["process"]},
                 "n": 2 ** 63 - 1 if i == 13 else i, "k": "a", "seq": i} for i in range(20)]
    ovf = write(os.path.join(tmp, "overflow_tb.ndjson"), "".join(json.dumps(e) + "\n" for e in lines_tb))
    r = run(["query", "--tiebreaker-field", "seq", "sequence by k [process where n * 2 > 0] [process where false]", ovf])
    check("a sort by tiebreaker: an engine error names the event's line",
          r.returncode == 2 and (ovf + ":14: ").encode() in r.stderr, repr(r.stderr[-300:]))
    # .gz files and JSON arrays are sorted from a record copy: messages still name the original lines
    ovf_gz = os.path.join(tmp, "overflow_tb.ndjson.gz")
    with gzip.open(ovf_gz, "wb") as f:
        f.write("".join("\n" * (i == 3) + json.dumps(e) + "\n" for i, e in enumerate(lines_tb)).encode())
    ovf_arr = write(os.path.join(tmp, "overflow_tb.json"), "[\n" + ",\n".join(json.dumps(e, indent=1) for e in lines_tb) +
                    "\n]\n")
    arr_line = 1 + "".join("[\n" + ",\n".join(json.dumps(e, indent=1) for e in lines_tb[:13]) + ",\n").count("\n")
    for path, line in ((ovf_gz, 15), (ovf_arr, arr_line)):
        r = run(["query", "--tiebreaker-field", "seq", "sequence by k [process where n * 2 > 0] [process where false]",
                 path])
        check("a sort by tiebreaker of %s: an engine error names the original line" % os.path.basename(path),
              r.returncode == 2 and ("%s:%d: " % (path, line)).encode() in r.stderr, repr(r.stderr[-300:]))
    # a value the mapping cannot convert is found when the sorted events are read back: it is reported
    # with its line, and the run goes on as it does over the same events in order
    conv = write(os.path.join(tmp, "conv_mapping.json"), json.dumps({"mappings": {"properties": {
        "n": {"type": "long"}, "k": {"type": "keyword"}, "seq": {"type": "long"}}}}))
    bad_n = [dict(e, n="abc" if e["seq"] == 6 else e["n"] % 1000) for e in lines_tb]
    conv_seq = "sequence by k [process where n > 0] [process where n > 1]"
    want = run(["query", "--mapping", conv, "--reject-malformed", conv_seq],
               stdin="".join(json.dumps(e) + "\n" for e in reversed(bad_n)).encode())
    for name, text in (("ndjson", "".join(json.dumps(e) + "\n" for e in bad_n)),
                       ("json", "[\n" + ",\n".join(json.dumps(e) for e in bad_n) + "\n]\n")):
        path = write(os.path.join(tmp, "bad_tb." + name), text)
        for tb in ([], ["--tiebreaker-field", "seq"]):
            r = run(["query", "--mapping", conv, "--reject-malformed"] + tb + [conv_seq, path])
            check("a sort%s (%s): a record that cannot be converted is reported with its line, the run goes on"
                  % (" by tiebreaker" if tb else "", name),
                  ('%s:%d: field [n]: cannot convert "abc" to long' % (path, 7 if name == "ndjson" else 8)).encode()
                  in r.stderr and r.returncode == 0 and r.stdout == want.stdout and len(lines(want)) == 16,
                  "rc %d, %d lines, %r" % (r.returncode, len(lines(r)), r.stderr[-300:]))
            r = run(["query", "--mapping", conv] + tb + [conv_seq, path])
            check("a sort%s (%s): a value ignored as malformed is reported with its line once"
                  % (" by tiebreaker" if tb else "", name),
                  r.stderr.count(('%s:%d: field [n]: cannot convert "abc" to long; value ignored (ignore_malformed)\n'
                                  % (path, 7 if name == "ndjson" else 8)).encode()) == 1 and r.returncode == 0,
                  "rc %d, %r" % (r.returncode, r.stderr[-300:]))

    # memory of a sort: the index, not the events
    shuffled_big = os.path.join(tmp, "big_shuffled.ndjson")
    with open(shuffled_big, "w") as out:
        for i in range(40000):
            out.write(json.dumps({"@timestamp": 1714521600000 + (i * 7919) % 40000,
                                  "event": {"id": 3, "category": ["process"]}, "k": "k%d" % (i % 50), "pad": pad},
                                 separators=(",", ":")) + "\n")
    if os.path.exists("/usr/bin/time"):
        # the growth over a 100-event run of the same binary: sanitizer
        # builds carry tens of MB of their own
        small = os.path.join(tmp, "small_shuffled.ndjson")
        with open(shuffled_big) as src, open(small, "w") as dst:
            dst.writelines(line for _, line in zip(range(100), src))

        def peak_mb(path):
            r = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "query", SEQ, path], capture_output=True)
            return r, int(r.stderr.decode().split()[-1]) / 1e3
        r, rss_mb = peak_mb(shuffled_big)
        _, base_mb = peak_mb(small)
        check("sorting an %.0f MB file keeps its index, not its text (%.1f MB peak, %.1f MB for 100 events)"
              % (size_mb, rss_mb, base_mb),
              r.returncode == 0 and rss_mb - base_mb < size_mb / 4, r.stderr.decode()[-300:])


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(tmp)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)
