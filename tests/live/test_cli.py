#!/usr/bin/env python3
"""test_cli - the command line and the daemon loop as a user drives them.

Invalid values exit 2 with one stderr line naming the value; --help and
--version; --count/--interval produce poll_seq 1..N with a record_counter
that keeps counting over the daemon's life; SIGTERM/SIGINT during a long
interval stop promptly after the poll's output is complete; --dest file:
appends and is reopened on SIGHUP (log rotation); --dest null prints
nothing; two destinations get the same records; started with fds 0/1/2
closed, tcpscope has them on /dev/null.
Usage: test_cli.py [EXPECTED_VERSION]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

from livelib import (Daemon, check, main, names, parse_lines, require,
                     run, tcpscope_bin)

OPTIONS = ["--once", "--count", "--interval", "--family", "--states",
           "--attrs", "--format", "--dest", "--quiet", "--replay", "--help",
           "--version"]

# Polls that must not depend on how many sockets the host has (a load
# generator may hold 100k): only listeners, and the test owns one.
SMALL = ["--states", "listen"]

# (args, the value the error line must name)
BAD = [
    (["--interval", "5x"], "5x"),
    (["--interval", "0"], "0"),
    (["--interval", "0ms"], "0ms"),
    (["--interval", "-1s"], "-1s"),
    (["--interval", ""], "''"),
    (["--count", "0"], "0"),
    (["--count", "abc"], "abc"),
    (["--count", "-3"], "-3"),
    (["--count", "99999999999999999999999"], "99999999999999999999999"),
    (["--family", "ipx"], "ipx"),
    (["--states", "foo"], "foo"),
    (["--states", "established,bogus"], "bogus"),
    (["--states", "established,"], "established,"),
    (["--attrs", "nope"], "nope"),
    (["--attrs", "info,nope"], "nope"),
    (["--format", "xml"], "xml"),
    (["--dest", "gopher://x"], "gopher://x"),
    (["--dest", "file:"], "file:"),
    (["--frobnicate"], "--frobnicate"),
    (["--once", "stray"], "stray"),
    (["--interval"], "--interval"),
    (["--exit-timeout", "61s"], "61s"),
    (["--exit-timeout", "2m"], "2m"),
    (["--exit-timeout", "5x"], "5x"),
    (["--exit-timeout", "-1s"], "-1s"),
    (["--netns-dirs", "/run/netns,relative"], "relative"),
]

# Out of bounds: (args, the value, the limit the line must name). The first
# three overflowed the interval's nanoseconds (a crash by SIGFPE, or polls
# back to back); the others are each bound plus one.
BEYOND = [
    (["--interval", "288230376151711744ms"], "288230376151711744ms", "24h"),
    (["--interval", "18446744073709551615ms"], "18446744073709551615ms",
     "24h"),
    (["--interval", "307445734m"], "307445734m", "24h"),
    (["--interval", "307445734561826m"], "307445734561826m", "24h"),
    (["--interval", "86400001ms"], "86400001ms", "24h"),
    (["--interval", "86401s"], "86401s", "24h"),
    (["--interval", "86401"], "86401", "24h"),
    (["--interval", "1441m"], "1441m", "24h"),
    (["--count", "1000000001"], "1000000001", "1000000000"),
    (["--count", "18446744073709551615"], "18446744073709551615",
     "1000000000"),
    (["--workers", "65"], "65", "64"),
    (["--uring-recv-batch", "4097"], "4097", "4096"),
    (["--uring-cqe-batch", "4097"], "4097", "4096"),
    (["--uring-recv-batch", "0"], "0", "4096"),
    # the whole list as given, not what splitting it left of argv
    (["--netns-dirs", "/a,/b,/c,/d,/e,/f,/g,/h,/i"], "/a,/b,/c,/d,/e,/f,/g,/h,/i",
     "8"),
    (["--netns-dirs", "/" + "x" * 4095], "/" + "x" * 4095, "4095"),
]


def check_bad_values():
    for args, value, *limit in BAD + BEYOND:
        rc, out, err = run(args, timeout=10)
        what = "tcpscope %s" % " ".join(args)
        check(rc == 2, "%s: exit %d, expected 2" % (what, rc))
        check(out == "", "%s: wrote to stdout: %r" % (what, out[:200]))
        lines = err.splitlines()
        check(len(lines) == 1 and err.endswith("\n"),
              "%s: expected one stderr line, got %r" % (what, err))
        check(names(err, value), "%s: stderr does not name %s: %r"
              % (what, value, err))
        for lim in limit:
            check(names(err, lim), "%s: stderr does not name the limit %s: "
                  "%r" % (what, lim, err))
    # the bounds themselves are accepted
    for args in (["--interval", "86400s"], ["--interval", "1440m"],
                 ["--workers", "64"], ["--uring-cqe-batch", "4096"]):
        rc, out, err = run(["--once", "--quiet", "--dest", "null"] + SMALL
                           + args, timeout=30)
        check(rc == 0 and err == "", "tcpscope %s: exit %d, stderr %r"
              % (" ".join(args), rc, err))


def all_options():
    """OPTIONS plus every long option the parser declares (read from
    src/cli/options.c when the source tree is at hand), so that --help is
    checked against options added later too."""
    opts = set(OPTIONS)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..", "src", "cli", "options.c")
    try:
        with open(src) as f:
            text = f.read()
    except OSError:
        return sorted(opts)
    for name in re.findall(r'\{\s*"([a-z0-9-]+)"\s*,\s*(?:no|required|'
                           r'optional)_argument', text):
        opts.add("--" + name)
    return sorted(opts)


def check_help_version(version):
    rc, out, err = run(["--help"])
    check(rc == 0, "--help exit %d" % rc)
    check(err == "", "--help wrote to stderr: %r" % err)
    for opt in all_options():
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), out),
              "--help does not mention %s" % opt)
    for word in ("ms", "established", "time-wait", "bound-inactive",
                 "meminfo", "file:", "null", "inet6"):
        check(word in out, "--help does not mention %r" % word)

    rc, out, err = run(["--version"])
    check(rc == 0, "--version exit %d" % rc)
    check(err == "", "--version wrote to stderr: %r" % err)
    check(re.fullmatch(r"tcpscope \S+\n", out),
          "--version printed %r, expected 'tcpscope <version>'" % out)
    if version:
        check(out == "tcpscope %s\n" % version,
              "--version printed %r, expected 'tcpscope %s'" % (out, version))


def check_count_interval():
    t0 = time.monotonic()
    rc, out, err = run(["--count", "3", "--interval", "100ms"] + SMALL)
    elapsed = time.monotonic() - t0
    require(rc == 0, "--count 3 --interval 100ms exit %d: %s" % (rc, err))
    check(elapsed >= 0.19, "3 polls 100ms apart took only %.3fs" % elapsed)
    recs = parse_lines(out, "--count 3 output")
    seqs = [d.get("poll_seq") for d in recs]
    check(set(seqs) == {1, 2, 3}, "poll_seq values %r, expected 1,2,3"
          % sorted(set(seqs)))
    check(seqs == sorted(seqs), "poll_seq not in poll order")
    counters = [d.get("record_counter") for d in recs]
    check(counters == list(range(1, len(recs) + 1)),
          "record_counter over 3 polls is not 1..%d without gaps (first: "
          "%r)" % (len(recs), counters[:5]))
    summaries = err.splitlines()
    check(len(summaries) == 3, "expected 3 summary lines on stderr, got %r"
          % summaries)
    for i, line in enumerate(summaries, 1):
        check(re.match(r"tcpscope: poll %d: (\d+) sockets" % i, line),
              "summary %d: %r" % (i, line))
    # each summary's socket count matches that poll's records
    for i, line in enumerate(summaries, 1):
        m = re.match(r"tcpscope: poll \d+: (\d+) sockets", line)
        if m:
            n = sum(1 for s in seqs if s == i)
            check(int(m.group(1)) == n, "poll %d: summary says %s sockets, "
                  "stdout has %d records" % (i, m.group(1), n))
    # --once is one poll, and stops without waiting for the interval
    t0 = time.monotonic()
    rc, out, err = run(["--once", "--interval", "1m"] + SMALL)
    check(rc == 0 and time.monotonic() - t0 < 5,
          "--once --interval 1m: exit %d after %.1fs"
          % (rc, time.monotonic() - t0))
    check(len(err.splitlines()) == 1, "--once: %d summary lines"
          % len(err.splitlines()))
    check({d.get("poll_seq") for d in parse_lines(out)} <= {1},
          "--once produced a poll_seq other than 1")
    # --exit-timeout: its bounds are accepted (60s is the most)
    for v in ("0", "60s", "1m", "250ms"):
        rc, out, err = run(["--once", "--quiet", "--exit-timeout", v] + SMALL)
        check(rc == 0, "--exit-timeout %s: exit %d: %s" % (v, rc, err))


def check_stop_signal(sig):
    name = signal.Signals(sig).name
    with Daemon(["--interval", "10s"] + SMALL) as d:
        line = d.read_summary(15)
        require(line is not None, "%s test: no poll summary within 15s"
                % name)
        m = re.match(r"tcpscope: poll 1: (\d+) sockets.*stdout: (\d+) sent",
                     line)
        check(m, "%s test: unexpected summary %r" % (name, line))
        t0 = time.monotonic()
        d.signal(sig)
        rc, out, err = d.wait(10)
        took = time.monotonic() - t0
        check(took < 2.0, "%s during a 10s interval: exit took %.2fs"
              % (name, took))
        check(rc == 0, "%s during a 10s interval: exit %d" % (name, rc))
        recs = parse_lines(out, "output before %s" % name)
        if m:
            check(len(recs) == int(m.group(2)),
                  "%s: stdout has %d records, the summary said %s sent"
                  % (name, len(recs), m.group(2)))
        check({r.get("poll_seq") for r in recs} == {1},
              "%s: records of polls %r, expected only poll 1"
              % (name, {r.get("poll_seq") for r in recs}))
        check(err == "", "%s: more stderr after the signal: %r"
              % (name, err))


def half_closed(n):
    """n connections half-closed by the client: n sockets of ours in
    CLOSE_WAIT (states a load generator does not produce). Returns the
    sockets to close and the set of the close-wait sides' local ports."""
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(n)
    socks = [lis]
    ports = set()
    try:
        for _ in range(n):
            c = socket.create_connection(lis.getsockname())
            socks.append(c)
            socks.append(lis.accept()[0])
            c.shutdown(socket.SHUT_WR)
            ports.add(c.getsockname()[1])
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks, ports


def check_stop_during_polls():
    """SIGTERM/SIGINT at arbitrary points of a fast loop of big polls: the
    daemon exits 0 promptly, and its output ends with the complete last
    poll (every line valid JSON, all of our close-wait sockets in it)."""
    socks, ports = half_closed(300)
    try:
        time.sleep(0.2)
        for i, delay in enumerate((0.05, 0.11, 0.17, 0.23, 0.31, 0.43)):
            sig = signal.SIGTERM if i % 2 == 0 else signal.SIGINT
            with Daemon(["--interval", "1ms", "--quiet", "--family", "inet",
                         "--states", "close-wait"]) as d:
                time.sleep(delay)
                t0 = time.monotonic()
                d.signal(sig)
                rc, out, err = d.wait(10)
                what = "%s after %.2fs of a 1ms loop" % (sig.name, delay)
                check(time.monotonic() - t0 < 2.0, "%s: exit took %.2fs"
                      % (what, time.monotonic() - t0))
                check(rc == 0, "%s: exit %d (%s)" % (what, rc, err.strip()))
                recs = parse_lines(out, "output at " + what)
                seqs = [r.get("poll_seq") for r in recs]
                if not check(seqs, "%s: no output at all" % what):
                    continue
                last = seqs[-1]
                check(seqs == sorted(seqs), "%s: poll_seq out of order"
                      % what)
                check(set(seqs) == set(range(1, last + 1)),
                      "%s: polls missing: %r" % (what, sorted(set(seqs))))
                for seq in (1, last):
                    seen = {r["inet_diag_msg_socket_destination_port"]
                            for r in recs if r.get("poll_seq") == seq}
                    check(ports <= seen, "%s: poll %d is incomplete: %d of "
                          "our %d close-wait sockets" % (what, seq,
                                                        len(ports & seen),
                                                        len(ports)))
    finally:
        for s in socks:
            s.close()


def file_records(path):
    with open(path, "rb") as f:
        return parse_lines(f.read().decode("utf-8", "replace"), path)


def check_file_dest(tmp):
    path = os.path.join(tmp, "out.jsonl")
    with open(path, "w") as f:
        f.write('{"pre":"existing"}\n')
    for i in range(2):
        rc, out, err = run(["--once", "--quiet", "--dest", "file:" + path]
                           + SMALL)
        require(rc == 0, "--dest file: exit %d: %s" % (rc, err))
        check(out == "", "--dest file: still wrote stdout: %r" % out[:200])
    recs = file_records(path)
    check(recs and recs[0] == {"pre": "existing"},
          "--dest file: the existing content was not kept (no append)")
    ones = [i for i, r in enumerate(recs) if r.get("record_counter") == 1]
    check(len(ones) == 2 and ones[0] == 1,
          "--dest file: two runs did not append two dumps (record_counter 1 "
          "at lines %r)" % ones)

    # a path that cannot be opened is a runtime failure naming it
    bad = os.path.join(tmp, "no", "such", "dir", "x.jsonl")
    rc, out, err = run(["--once", "--dest", "file:" + bad] + SMALL)
    check(rc == 1, "--dest file:%s: exit %d, expected 1" % (bad, rc))
    check(bad in err and len(err.splitlines()) == 1,
          "--dest file:%s: stderr %r does not name it on one line"
          % (bad, err))


def check_sighup(tmp):
    path = os.path.join(tmp, "rot.jsonl")
    rotated = path + ".1"
    with Daemon(["--interval", "200ms", "--dest", "file:" + path]
                + SMALL) as d:
        require(d.read_summary(10) is not None, "SIGHUP test: no poll 1")
        os.rename(path, rotated)
        d.signal(signal.SIGHUP)
        # wait for two polls after the rename
        for _ in range(2):
            require(d.read_summary(10) is not None,
                    "SIGHUP test: polls stopped after SIGHUP")
        check(d.p.poll() is None, "SIGHUP ended the daemon (exit %r)"
              % d.p.returncode)
        d.signal(signal.SIGTERM)
        rc, out, err = d.wait(5)
        check(rc == 0, "SIGHUP test: exit %d after SIGTERM" % rc)
        check("cannot reopen" not in "".join(d.err_lines) + err,
              "SIGHUP test: reopen failed: %r" % (d.err_lines + [err]))
    require(os.path.exists(path), "after rename + SIGHUP no new file at %s"
            % path)
    old = file_records(rotated)
    new = file_records(path)
    check(old, "the rotated file is empty")
    check(new, "no records landed in the new file after SIGHUP")
    if old and new:
        old_polls = {r["poll_seq"] for r in old}
        new_polls = {r["poll_seq"] for r in new}
        check(1 in old_polls, "poll 1 is not in the rotated file")
        check(max(old_polls) < min(new_polls),
              "polls split across files: old %r, new %r"
              % (sorted(old_polls), sorted(new_polls)))
        counters = [r["record_counter"] for r in old + new]
        check(counters == list(range(1, len(counters) + 1)),
              "records lost or duplicated across the rotation "
              "(record_counter not 1..%d)" % len(counters))


def check_sighup_reopen_fails(tmp):
    """SIGHUP when the file's directory is gone: one line naming the
    destination and the reason; the daemon goes on writing to the file it
    still holds, so nothing is dropped."""
    sub = os.path.join(tmp, "gone")
    os.mkdir(sub)
    path = os.path.join(sub, "out.jsonl")
    kept = os.path.join(tmp, "kept.jsonl")
    with Daemon(["--interval", "200ms", "--dest", "file:" + path]
                + SMALL) as d:
        require(d.read_summary(10) is not None, "reopen test: no poll 1")
        os.rename(path, kept)
        os.rmdir(sub)
        d.signal(signal.SIGHUP)
        for _ in range(2):
            require(d.read_summary(10) is not None,
                    "reopen test: polls stopped after a failed reopen")
        check(d.p.poll() is None, "a failed reopen ended the daemon")
        d.signal(signal.SIGTERM)
        rc, out, err = d.wait(5)
        text = "".join(d.err_lines) + err
        check(rc == 0, "reopen test: exit %d after SIGTERM" % rc)
        lines = [ln for ln in text.splitlines() if "cannot reopen" in ln]
        check(len(lines) == 1 and path in lines[0]
              and "No such file or directory" in lines[0],
              "reopen test: expected one 'cannot reopen' line naming %s "
              "and ENOENT, got %r" % (path, lines))
        check(" 0 dropped" in text.splitlines()[-1] if text else False,
              "reopen test: records dropped: %r" % text.splitlines()[-1:])
    reported = {int(m) for m in re.findall(r"tcpscope: poll (\d+):", text)}
    polls = {r["poll_seq"] for r in file_records(kept)}
    check(len(reported) >= 2 and polls == reported,
          "reopen test: the kept file has polls %r, the daemon reported %r"
          % (sorted(polls), sorted(reported)))


def check_null_and_two_dests(tmp):
    rc, out, err = run(["--once", "--dest", "null"] + SMALL)
    check(rc == 0, "--dest null: exit %d" % rc)
    check(out == "", "--dest null printed %d bytes on stdout" % len(out))
    check(re.match(r"tcpscope: poll 1: \d+ sockets", err),
          "--dest null: summary %r" % err)
    rc, out, err = run(["--once", "--quiet", "--dest", "null"] + SMALL)
    check(rc == 0 and out == "" and err == "",
          "--dest null --quiet: exit %d, stdout %r, stderr %r"
          % (rc, out[:100], err[:100]))

    path = os.path.join(tmp, "both.jsonl")
    rc, out, err = run(["--once", "--quiet", "--dest", "stdout",
                        "--dest", "file:" + path] + SMALL)
    require(rc == 0, "two dests: exit %d: %s" % (rc, err))
    with open(path) as f:
        filed = f.read()
    parse_lines(out, "stdout of two dests")
    check(out != "", "two dests: nothing on stdout")
    check(out == filed, "two dests: stdout (%d lines) and file (%d lines) "
          "differ" % (len(out.splitlines()), len(filed.splitlines())))


def close_fds(*fds):
    """preexec_fn: the child starts with these fds closed."""
    def fn():
        for fd in fds:
            os.close(fd)
    return fn


def check_closed_std_fds(tmp):
    """Started with 0/1/2 closed, tcpscope finds them on /dev/null: no
    socket or file it opens takes one of them, so no record or summary is
    written into a netlink socket or a destination."""
    path = os.path.join(tmp, "closed.jsonl")
    p = subprocess.Popen([tcpscope_bin(), "--interval", "10s", "--dest",
                          "file:" + path] + SMALL,
                         preexec_fn=close_fds(0, 1, 2))
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None and \
                not (os.path.exists(path) and os.path.getsize(path)):
            time.sleep(0.05)
        require(p.poll() is None, "started with 0/1/2 closed, tcpscope "
                "exited %r" % p.returncode)
        for fd in (0, 1, 2):
            where = os.readlink("/proc/%d/fd/%d" % (p.pid, fd))
            check(where == "/dev/null", "started with 0/1/2 closed, its fd "
                  "%d is %s, expected /dev/null" % (fd, where))
        p.send_signal(signal.SIGTERM)
        rc = p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(rc == 0, "started with 0/1/2 closed: exit %d after SIGTERM" % rc)
    recs = file_records(path)
    check(recs and {r.get("poll_seq") for r in recs} == {1},
          "started with 0/1/2 closed: the file holds %d records of polls %r"
          % (len(recs), sorted({r.get("poll_seq") for r in recs})))

    # stdout alone closed: what goes to stdout is discarded without error,
    # the file gets every record, the summary says so
    path = os.path.join(tmp, "closed1.jsonl")
    p = subprocess.run([tcpscope_bin(), "--once", "--dest", "stdout",
                        "--dest", "file:" + path] + SMALL,
                       stderr=subprocess.PIPE, timeout=30,
                       preexec_fn=close_fds(1))
    err = p.stderr.decode("utf-8", "replace")
    n = len(file_records(path))
    check(p.returncode == 0, "stdout closed: exit %d (%s)"
          % (p.returncode, err.strip()))
    check(n > 0 and "stdout: %d sent, 0 dropped (0 oversize), 0 errors" % n
          in err, "stdout closed: %d records in the file, summary %r"
          % (n, err))


def test():
    version = sys.argv[1] if len(sys.argv) > 1 else None
    # a socket of our own, so every poll has at least one record
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(1)
    try:
        with tempfile.TemporaryDirectory(prefix="tcpscope-cli-") as tmp:
            check_bad_values()
            check_help_version(version)
            check_count_interval()
            check_stop_signal(signal.SIGTERM)
            check_stop_signal(signal.SIGINT)
            check_stop_during_polls()
            check_file_dest(tmp)
            check_sighup(tmp)
            check_sighup_reopen_fails(tmp)
            check_null_and_two_dests(tmp)
            check_closed_std_fds(tmp)
    finally:
        lis.close()


if __name__ == "__main__":
    main(test)
