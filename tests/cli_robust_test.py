#!/usr/bin/env python3
"""`eqlite query` on damaged and unusual input: each case gives a clear error
naming the file (and line), never a crash, a hang or a silent wrong answer, and
the results found before a fatal error are printed, not dropped."""
import gzip
import zlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading

BIN = os.environ.get("EQLITE_BIN", "eqlite")
failures = []


def run(args, stdin=b"", timeout=120):
    return subprocess.run([BIN] + args, input=stdin, capture_output=True, timeout=timeout)


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def event(i, ts, cat="process"):
    return json.dumps({"@timestamp": ts, "event": {"id": i, "category": [cat]}, "pad": "x" * 200},
                      separators=(",", ":"))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def lines(r):
    return r.stdout.decode().splitlines()


def truncated_gzip(tmp):
    """A .gz cut short: the records before the cut are read and matched, and
    their results printed before the exit-2 error (they were counted as
    matches and then dropped with the output buffer)."""
    text = "".join(event(i, 1714521600000 + i) + "\n" for i in range(1, 401)).encode()
    whole = gzip.compress(text)
    cut = write(os.path.join(tmp, "cut.ndjson.gz"), whole[:len(whole) // 2])
    readable = zlib.decompressobj(16 + 15).decompress(whole[:len(whole) // 2])
    complete = readable[:readable.rfind(b"\n") + 1]
    prefix = write(os.path.join(tmp, "prefix.ndjson"), complete)
    for query in ("any where true", "sequence [any where true] [any where true]"):
        want = lines(run(["query", query, prefix]))
        r = run(["query", "--stats", query, cut])
        err = r.stderr.decode()
        check("a truncated .gz (%s): exit 2, the error, and the results before the cut" % query.split()[0],
              r.returncode == 2 and "truncated gzip input" in err and len(want) > 90 and
              lines(r) == want and "matches %d," % len(want) in err,
              "rc %d, %d lines of %d, %s" % (r.returncode, len(lines(r)), len(want), err))
    r = run(["query", "any where true"], stdin=open(cut, "rb").read())
    check("a truncated .gz on stdin: the results before the cut",
          r.returncode == 2 and lines(r) == complete.decode().splitlines(), "rc %d, %d lines" % (r.returncode, len(lines(r))))


def named_pipe(tmp):
    """A named pipe is opened once: looking at it first took the writer's data
    and left the run waiting for another writer forever."""
    text = "".join(event(i, 1714521600000 + i) + "\n" for i in range(1, 4))
    fifo = os.path.join(tmp, "events.fifo")
    os.mkfifo(fifo)
    for args in (["any where true"], ["-j", "2", "any where true"],
                 ["sequence [any where true] [any where true]"], ["convert"]):
        def feed():
            try:
                with open(fifo, "w") as f:
                    f.write(text)
            except BrokenPipeError:
                pass
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        cmd = ["convert", fifo] if args == ["convert"] else ["query"] + args + [fifo]
        try:
            r = run(cmd, timeout=20)
            got = (r.returncode, len(lines(r)))
        except subprocess.TimeoutExpired:
            got = "hung"
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # a writer still waiting ends
            writer.join(5)
        want = (0, 2 if "sequence" in args[0] else 3)
        check("a named pipe as input (%s)" % " ".join(args), got == want, "got %s, want %s" % (got, want))


def directory(tmp):
    for cmd in (["query", "any where true"], ["query", "sequence [any where true] [any where true]"],
                ["convert"]):
        r = run(cmd + [tmp])
        check("a directory as input (%s): exit 2, named" % " ".join(cmd[:2]),
              r.returncode == 2 and r.stderr.decode() == "eqlite: cannot read %s: is a directory, not a file of "
              "events\n" % tmp, repr(r))


def timestamps_out_of_range(tmp):
    """Years a 64-bit nanosecond clock cannot hold are 'out of range', not 'unparseable'."""
    path = os.path.join(tmp, "ts.ndjson")
    stamps = ['"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59.999Z"', "-62135596800000", '"2024-05-01T00:00:00Z"']
    write(path, "".join('{"@timestamp":%s,"event":{"category":"process"}}\n' % t for t in stamps).encode())
    r = run(["query", "process where true", path])
    out_of_range = "timestamp in field '@timestamp' is out of range (1677-09-21 to 2262-04-11)"
    check("timestamps past the 64-bit nanosecond range are reported as out of range",
          r.returncode == 0 and len(lines(r)) == 1 and r.stderr.decode().splitlines()[:3] ==
          ["%s:%d: %s" % (path, k, out_of_range) for k in (1, 2, 3)], r.stderr.decode())


def head_and_size_by_time(tmp):
    """`| head N` and --size N keep the first events by time, as Elasticsearch
    does, whatever order the file or the files come in (they took the first
    in input order)."""
    evs = [event(i, 1714521600000 + i * 1000) for i in range(1, 41)]
    shuffled = evs[20:] + evs[:20][::-1]
    one = write(os.path.join(tmp, "unsorted.ndjson"), ("\n".join(shuffled) + "\n").encode())
    late = write(os.path.join(tmp, "late.ndjson"), ("\n".join(evs[20:]) + "\n").encode())
    early = write(os.path.join(tmp, "early.ndjson"), ("\n".join(evs[:20]) + "\n").encode())
    for args in (["process where true | head 3"], ["--size", "3", "process where true"],
                 ["process where true | tail 3"]):
        want = evs[-3:] if "tail" in args[-1] else evs[:3]
        for files in ([one], [late, early], ["-j", "2", late, early]):
            r = run(["query"] + args + files)
            check("%s over %s gives the %s events by time" % (" ".join(args), " ".join(
                os.path.basename(f) for f in files), "last" if "tail" in args[-1] else "first"),
                r.returncode == 0 and lines(r) == want, "\n".join(l[:40] for l in lines(r)))


def tiny_memory_limit(tmp):
    """A --memory-limit far below the index spills many sorted runs: they are
    merged as they come, so the open files stay few (each run was kept open
    to the end: 'Too many open files' once runs passed the descriptor limit)."""
    evs = ['{"@timestamp":%d,"event":{"category":"process"},"h":"h%d","i":%d}' % (1714521600000 + i, i % 7, i)
           for i in range(60000)]
    in_order = write(os.path.join(tmp, "in-order.ndjson"), ("\n".join(evs) + "\n").encode())
    random.Random(5).shuffle(evs)
    shuffled = write(os.path.join(tmp, "shuffled.ndjson"), ("\n".join(evs) + "\n").encode())
    query = "sequence by h [process where true] [process where true]"
    want = run(["query", query, in_order])

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))
    p = subprocess.Popen([BIN, "query", "--memory-limit", "1", query, shuffled], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=few_descriptors)
    out, err = p.communicate(timeout=300)
    check("--memory-limit 1 over 60,000 unsorted events with 40 descriptors gives the sorted results",
          p.returncode == 0 and want.returncode == 0 and out == want.stdout and len(lines(want)) > 1000,
          "rc %d: %s" % (p.returncode, err.decode()[-300:]))
    # The bytes read: the file once to index it, then each event read back
    # with a guess of twice the average line (the guess took the events in
    # memory at the end for all of them: kilobytes per event, a near hang).
    p = subprocess.Popen([BIN, "query", "--memory-limit", "1", query, shuffled], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: its counters are still there
    rchar = int(open("/proc/%d/io" % p.pid).read().split("rchar:")[1].split()[0])
    p.wait()
    size = os.path.getsize(shuffled)
    check("a sort with many runs reads each event back once, not kilobytes of it",
          rchar < 4 * size + 600 * len(evs), "read %d bytes of a %d-byte file" % (rchar, size))


def strict_keeps_the_events_before_the_bad_line(tmp):
    """--strict stops at the first bad line, but every event before it is
    matched and its results printed, whatever the input path (stdin under
    --reorder-window lost every event the window still held)."""
    good = "".join(event(i, 1714521600000 + 1000 * i) + "\n" for i in range(1, 301))
    rest = "".join(event(i, 1714521600000 + 1000 * i) + "\n" for i in range(301, 401))
    prefix = write(os.path.join(tmp, "strict-prefix.ndjson"), good.encode())
    data = (good + '{"@timestamp": 1714521900000, "event": \n' + rest).encode()
    path = write(os.path.join(tmp, "strict.ndjson"), data)
    for query in ("any where true", "sequence [any where true] [any where true]"):
        want = lines(run(["query", query, prefix]))
        for how, args, stdin in (("a file", [path], b""), ("a file, -j 2", ["-j", "2", path], b""),
                                 ("stdin", [], data), ("stdin, --reorder-window 1h", ["--reorder-window", "1h"], data)):
            r = run(["query", "--strict", query] + args, stdin=stdin)
            check("--strict over %s (%s): exit 2 and the results of every event before the bad line" %
                  (how, query.split()[0]), r.returncode == 2 and len(want) >= 150 and lines(r) == want,
                  "rc %d, %d lines of %d" % (r.returncode, len(lines(r)), len(want)))


def reorder_window_zero(tmp):
    """A bare 0 is no reorder window (it was refused as a bad number)."""
    data = "".join(event(i, 1714521600000 + 1000 * i) + "\n" for i in (2, 1, 3)).encode()
    zero = run(["query", "--reorder-window", "0", "any where true"], stdin=data)
    none = run(["query", "any where true"], stdin=data)
    check("--reorder-window 0 is accepted and means no window",
          zero.returncode == 0 and zero.stdout == none.stdout and len(lines(zero)) == 3,
          "rc %d, %r" % (zero.returncode, zero.stderr.decode()))


def main(tmp):
    reorder_window_zero(tmp)
    strict_keeps_the_events_before_the_bad_line(tmp)
    truncated_gzip(tmp)
    named_pipe(tmp)
    directory(tmp)
    timestamps_out_of_range(tmp)
    head_and_size_by_time(tmp)
    tiny_memory_limit(tmp)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        main(d)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)
