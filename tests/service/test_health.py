#!/usr/bin/env python3
"""test_health - /healthz and /readyz of tcpscope --metrics.

After the first poll both are 200 ("ok", "ready"). A destination that
cannot take records (a unix stream nobody listens on) makes /readyz 503
naming it, and 200 again once a listener is there; /healthz stays 200.
With every namespace failing (run as nobody, polling a namespace it
cannot enter) /healthz is 200 (the loop is alive) and /readyz 503 with
the reason. A poll loop stuck on a pipe nobody reads makes /healthz 503
("the last poll started ... ago") after three intervals, while the HTTP
thread still answers at once, and 200 again once the reader reads.
Before the first poll (startup held by a slow resolver, gai_shim.c) both
are 503 with the reason; then a udp:// destination whose port is closed
keeps /readyz 503 (its ICMP errors).
"""
import os
import signal
import shutil
import socket
import subprocess
import tempfile
import threading
import sys
import time

from servicelib import (Skip, check, free_port, get, main, require,
                        shim_env, start_tcpscope, tcpscope_bin, wait_for)

BASE = ["--netns", "host", "--quiet"]


def status(port, path):
    st, _, body = get(port, path, timeout=3)
    return st, body.strip()


def test_ready_and_dest_down(tmp):
    port = free_port()
    path = os.path.join(tmp, "peer.sock")
    with start_tcpscope(BASE + ["--metrics", str(port), "--interval",
                                "200ms", "--dest", "null", "--dest",
                                "unix:" + path]) as d:
        wait_for(lambda: status(port, "/healthz") == (200, "ok"), 10,
                 "/healthz 200 once a poll started")
        # /healthz is 200 from a poll's start; /readyz judges a completed
        # poll: wait for its verdict, not for the first poll's end
        st, why = wait_for(lambda: (lambda r: r if r[1] !=
                                    "no poll has completed yet" else None)(
            status(port, "/readyz")), 10, "/readyz after the first poll")
        check(st == 503 and why.startswith("destination unix:%s cannot "
                                           "accept records" % path),
              "/readyz with a destination down: %d %r" % (st, why))
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.bind(path)
        peer.listen(4)
        conns = []

        def read(c):
            try:
                while c.recv(65536):
                    pass
            except OSError:
                pass

        def accept():
            try:
                while True:
                    c, _ = peer.accept()
                    conns.append(c)
                    threading.Thread(target=read, args=(c,),
                                     daemon=True).start()
            except OSError:
                pass
        threading.Thread(target=accept, daemon=True).start()
        try:
            wait_for(lambda: status(port, "/readyz") == (200, "ready"), 15,
                     "/readyz 200 once the destination listens")
            check(status(port, "/healthz") == (200, "ok"), "/healthz")
        finally:
            peer.close()
            for c in conns:
                c.close()
        d.kill()


def test_stalled_loop():
    port = free_port()
    # each poll writes more than a pipe holds: the loop waits for the
    # reader, which does not read
    keep = []
    for _ in range(80):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        keep.append(s)
    # a port free_port() released may be taken meanwhile as the source
    # port of some connection (other tests run many): then tcpscope cannot
    # listen on it, says so and exits; another port is tried
    for attempt in range(3):
        errf = tempfile.TemporaryFile()
        p = subprocess.Popen([tcpscope_bin()] + BASE +
                             ["--metrics", str(port), "--interval", "200ms",
                              "--format", "json"],
                             stdout=subprocess.PIPE, stderr=errf)
        end = time.monotonic() + 10
        while time.monotonic() < end and p.poll() is None:
            try:
                if get(port, "/healthz", timeout=2)[0] in (200, 503):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if p.poll() is None:
            break
        errf.seek(0)
        print("tcpscope (rc %r) said: %r" % (p.poll(), errf.read()[-500:]),
              file=sys.stderr)
        p.stdout.close()
        port = free_port()
    try:
        require(p.poll() is None, "tcpscope --metrics did not start")
        wait_for(lambda: get(port, "/healthz", timeout=2)[0] in (200, 503),
                 10, "/healthz answering")
        st, why = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(
            status(port, "/healthz")), 10, "/healthz 503 while stuck")
        check("the last poll started" in why and
              "more than three intervals (0.6 s)" in why,
              "/healthz while stuck: %r" % why)
        t0 = time.monotonic()
        st, _, text = get(port, "/metrics", timeout=3)
        check(st == 200 and time.monotonic() - t0 < 1,
              "/metrics while the loop is stuck: %d in %.1fs"
              % (st, time.monotonic() - t0))
        check(status(port, "/readyz")[0] == 503, "/readyz while stuck")

        def drain():
            for _ in iter(lambda: p.stdout.read(65536), b""):
                pass
        threading.Thread(target=drain, daemon=True).start()
        wait_for(lambda: status(port, "/healthz") == (200, "ok"), 10,
                 "/healthz 200 once the reader reads")
    finally:
        p.kill()
        p.wait(10)
        p.stdout.close()
        for s in keep:
            s.close()


def test_nobody(tmp):
    runuser, ip = shutil.which("runuser"), shutil.which("ip")
    if os.geteuid() != 0 or not runuser or not ip:
        raise Skip("needs root, runuser and ip to run as nobody against a "
                   "namespace it cannot enter")
    name = "ts-health-%d" % os.getpid()
    if subprocess.run([ip, "netns", "add", name]).returncode != 0:
        raise Skip("ip netns add failed")
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, "tcpscope")
    shutil.copy(tcpscope_bin(), copy)
    os.chmod(copy, 0o755)
    port = free_port()
    p = subprocess.Popen([runuser, "-u", "nobody", "--", copy, "--quiet",
                          "--netns", name, "--metrics", str(port),
                          "--interval", "200ms", "--dest", "null"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        wait_for(lambda: status(port, "/healthz") == (200, "ok"), 10,
                 "/healthz 200 as nobody (the loop is alive)")
        st, why = wait_for(lambda: (lambda r: r if r[0] == 503 and
                                    "namespace" in r[1] else None)(
            status(port, "/readyz")), 10, "/readyz 503 as nobody")
        check(why == "no namespace could be opened in the last poll "
              "(1 failed)", "/readyz as nobody: %r" % why)
    finally:
        # runuser forks tcpscope and waits: killing runuser alone left
        # tcpscope running as an orphan, so the whole group goes
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(10)
        p.stderr.close()
        subprocess.run([ip, "netns", "del", name])
    check(not procs_of(copy), "tcpscope run as nobody outlived its test: "
          "pids %s" % procs_of(copy))


def procs_of(exe):
    """Pids whose command line starts with exe (after a kill, a few tries:
    the kernel reaps them asynchronously)."""
    for _ in range(20):
        pids = []
        for d in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if f.read().split(b"\0")[0] == exe.encode():
                        pids.append(int(d))
            except (OSError, ValueError):
                pass
        if not pids:
            return pids
        time.sleep(0.1)
    return pids


def test_before_first_poll():
    env = shim_env()
    env["TCPSCOPE_GAI_DELAY_MS"] = "3000"
    closed = free_port()  # a udp port nobody listens on: ICMP errors
    port = free_port()
    with start_tcpscope(BASE + ["--metrics", str(port), "--interval",
                                "200ms", "--dest",
                                "udp://slow.tcpscope.test:%d" % closed],
                        env=env) as d:
        line = d.read_summary(20)
        require(line == "gai_shim: resolving\n",
                "expected the shim's line, got %r" % line)
        check(status(port, "/healthz") == (503, "no poll has started yet"),
              "/healthz before the first poll: %r"
              % (status(port, "/healthz"),))
        check(status(port, "/readyz") == (503, "no poll has completed yet"),
              "/readyz before the first poll: %r"
              % (status(port, "/readyz"),))
        wait_for(lambda: status(port, "/healthz") == (200, "ok"), 15,
                 "/healthz once polling")
        time.sleep(1)
        st, why = status(port, "/readyz")
        check(st == 503 and "destination udp://slow.tcpscope.test:%d cannot "
              "accept records" % closed in why and "errors" in why,
              "/readyz with a closed udp port: %d %r" % (st, why))


def test():
    with tempfile.TemporaryDirectory(prefix="ts-health-") as tmp:
        test_ready_and_dest_down(tmp)
    test_stalled_loop()
    with tempfile.TemporaryDirectory(prefix="ts-health-") as tmp:
        test_nobody(tmp)
    test_before_first_poll()  # last: it skips without the shim


main(test)
