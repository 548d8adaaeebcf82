#!/usr/bin/env python3
"""test_systemd_ready - the daemon speaks systemd's notification protocol
(Type=notify) to a NOTIFY_SOCKET the test listens on (a unix datagram
socket; no systemd needed):

- READY=1 comes once, after the first poll: while that poll is held (its
  records fill a pipe nobody reads yet) nothing is sent; once the pipe is
  read, READY=1 comes, and the poll's summary line is already written;
- with WATCHDOG_USEC (WatchdogSec=), WATCHDOG=1 comes every half period
  from the event loop, between polls (--interval 1h: no poll meanwhile);
  none without it, none when WATCHDOG_PID names another process;
- STOPPING=1 comes at exit (SIGTERM, and after --once), after READY=1;
- a NOTIFY_SOCKET nobody listens on changes nothing (exit 0, no message).
"""
import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import check, main, require, tcpscope_bin  # noqa: E402


class Notify:
    """A NOTIFY_SOCKET: the messages as they come, with their times."""

    count = 0

    def __init__(self, d):
        Notify.count += 1
        self.path = os.path.join(d, "notify%d" % Notify.count)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)

    def next(self, timeout):
        """The next message, or None within timeout seconds."""
        r, _, _ = select.select([self.s], [], [], timeout)
        return self.s.recv(4096).decode() if r else None

    def during(self, seconds):
        """Every message of the next `seconds`."""
        end, got = time.monotonic() + seconds, []
        while True:
            left = end - time.monotonic()
            m = self.next(max(left, 0)) if left > 0 else None
            if m is None:
                return got
            got.append(m)

    def close(self):
        self.s.close()
        os.unlink(self.path)


def env_with(**kv):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env.update(kv)
    return env


def start(args, env, stdout, err):
    return subprocess.Popen([tcpscope_bin()] + args, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=err, env=env)


def stop(p, what):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("%s: still running 20 s after SIGTERM" % what)
    check(rc == 0, "%s: exit %d after SIGTERM" % (what, rc))


def test_ready_after_first_poll(d):
    """The first poll is held on a full pipe: no READY=1 until it ends."""
    listeners = []
    for _ in range(40):  # 40 records of ~1 KB: more than the pipe holds
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        listeners.append(s)
    n = Notify(d)
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, 4096)
    errpath = os.path.join(d, "ready.err")
    with open(errpath, "wb") as err:
        p = start(["--netns", "host", "--states", "listen", "--interval",
                   "1h"], env_with(NOTIFY_SOCKET=n.path), w, err)
    os.close(w)
    try:
        early = n.during(1.5)
        check(early == [], "messages while the first poll is held on a "
              "full pipe: %r" % early)
        got = []
        drain = threading.Thread(target=lambda: got.append(
            b"".join(iter(lambda: os.read(r, 65536), b""))), daemon=True)
        drain.start()
        m = n.next(20)
        require(m == "READY=1", "after the pipe was read: %r, not "
                "READY=1" % m)
        with open(errpath) as f:
            summary = f.read()
        check("tcpscope: poll 1:" in summary, "READY=1 came before the "
              "first poll's summary line: stderr %r" % summary[:300])
        more = n.during(1.0)
        check(more == [], "more messages with no watchdog: %r" % more)
        stop(p, "tcpscope (ready)")
        m = n.next(5)
        check(m == "STOPPING=1", "at exit: %r, not STOPPING=1" % m)
        drain.join(5)
        check(got and b'"poll_seq":1' in got[0], "the first poll's "
              "records did not reach the pipe")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(r)
        n.close()
        for s in listeners:
            s.close()


def test_watchdog(d):
    n = Notify(d)
    try:
        # WatchdogSec=300ms: WATCHDOG=1 every 150 ms, no poll meanwhile
        p = start(["--interval", "1h", "--dest", "null", "--quiet"],
                  env_with(NOTIFY_SOCKET=n.path, WATCHDOG_USEC="300000"),
                  subprocess.DEVNULL,
                  subprocess.DEVNULL)
        try:
            first = n.next(20)
            while first == "WATCHDOG=1":  # due during a slow first poll
                first = n.next(20)
            require(first == "READY=1", "first message %r" % first)
            t0 = time.monotonic()
            got = n.during(1.5)
            dt = time.monotonic() - t0
            pings = got.count("WATCHDOG=1")
            check(got == ["WATCHDOG=1"] * pings, "unexpected messages: %r"
                  % got)
            # 10 expected in 1.5 s; a loaded machine may delay some
            check(6 <= pings <= 11, "%d WATCHDOG=1 in %.2f s (every 150 ms "
                  "expected)" % (pings, dt))
            stop(p, "tcpscope (watchdog)")
            rest = n.during(1.0)
            check(rest and rest[-1] == "STOPPING=1" and
                  set(rest[:-1]) <= {"WATCHDOG=1"},
                  "at exit: %r (STOPPING=1 last)" % rest)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        # meant for another process: no watchdog here
        p = start(["--interval", "1h", "--dest", "null", "--quiet"],
                  env_with(NOTIFY_SOCKET=n.path, WATCHDOG_USEC="300000",
                           WATCHDOG_PID=str(os.getpid())),
                  subprocess.DEVNULL, subprocess.DEVNULL)
        try:
            got = n.during(1.5)
            check(got == ["READY=1"], "WATCHDOG_PID of another process: "
                  "%r, expected READY=1 alone" % got)
        finally:
            stop(p, "tcpscope (WATCHDOG_PID)")
    finally:
        n.close()


def test_once(d):
    n = Notify(d)
    try:
        p = subprocess.run([tcpscope_bin(), "--once", "--quiet", "--dest",
                            "null"], env=env_with(NOTIFY_SOCKET=n.path),
                           capture_output=True, timeout=60)
        check(p.returncode == 0, "--once: exit %d: %s" % (p.returncode,
                                                          p.stderr[:300]))
        got = n.during(0.5)
        check(got == ["READY=1", "STOPPING=1"], "--once: %r" % got)
    finally:
        n.close()
    # nobody listens there: the same run, silently
    p = subprocess.run([tcpscope_bin(), "--once", "--quiet", "--dest",
                        "null"], capture_output=True, timeout=60,
                       env=env_with(NOTIFY_SOCKET=os.path.join(d, "none")))
    check(p.returncode == 0 and p.stderr == b"", "NOTIFY_SOCKET nobody "
          "listens on: exit %d, stderr %r" % (p.returncode, p.stderr[:300]))


def test():
    with tempfile.TemporaryDirectory(prefix="ts-notify-") as d:
        test_once(d)
        test_watchdog(d)
        test_ready_after_first_poll(d)


if __name__ == "__main__":
    main(test)
