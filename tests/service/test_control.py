#!/usr/bin/env python3
"""test_control - the control socket (--control PATH): HTTP over a unix
stream socket.

Each endpoint: POST /poll polls now (curl --unix-socket, the documented
client), PUT /interval re-arms the ticks and shows in GET /config and
/metrics, GET /stats is the last poll's delta as JSON. Bad input gets one
4xx answer with the reason (an interval out of bounds names the option's
bounds; a body over 64 bytes; a wrong method: 405 with Allow; an unknown
path: 404; bytes that are not HTTP, headers over the bound), and the
daemon goes on. The socket is created 0600 whatever the umask (0, 0277), owned by
tcpscope's user, and removed at exit; a stale socket at PATH is
replaced; a regular file or a socket someone serves is refused (exit 1,
left as it was); a path too long for a socket is bad usage (exit 2). A
client that sends half a request stalls nobody; many clients at once
while polling all get answers and polling goes on.
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

from servicelib import (check, ctl, main, metric_values, require, run,
                        start_tcpscope, wait_for)


def stats(sock):
    st, _, body = ctl(sock, "GET", "/stats")
    require(st == 200, "GET /stats: %d %s" % (st, body))
    return json.loads(body)


def start(tmp, interval="1h", extra=()):
    sock = os.path.join(tmp, "ctl.sock")
    d = start_tcpscope(["--control", sock, "--netns", "host", "--dest",
                        "null", "--quiet", "--interval", interval]
                       + list(extra))
    wait_for(lambda: ctl(sock, "GET", "/stats")[0] == 200, 20,
             "the control socket serving /stats")
    return d, sock


def test_endpoints(tmp):
    old = os.umask(0)  # the socket's mode must not depend on it
    try:
        d, sock = start(tmp)
    finally:
        os.umask(old)
    with d:
        st = os.lstat(sock)
        check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) ==
              0o600, "socket mode %o" % st.st_mode)
        check(st.st_uid == os.geteuid(), "socket owner %d" % st.st_uid)
        s = stats(sock)
        check(s["poll"] == 1 and s["counters"]["polls"] == 1,
              "/stats of the first poll: %r" % s)
        check(s["destinations"][0]["destination"] == "null" and
              s["destinations"][0]["records"] == s["counters"]["records"],
              "/stats destinations: %r" % s["destinations"])
        check(s["gauges"]["interval_ms"] == 3600000, "interval_ms %r"
              % s["gauges"]["interval_ms"])
        # the documented client
        curl = shutil.which("curl")
        if curl:
            p = subprocess.run([curl, "-s", "-o", "/dev/null", "-w",
                                "%{http_code}", "--unix-socket", sock, "-X",
                                "POST", "http://x/poll"],
                               capture_output=True, timeout=10)
            check(p.stdout == b"202", "curl POST /poll: %r" % p.stdout)
        else:
            check(ctl(sock, "POST", "/poll")[0] == 202, "POST /poll")
        wait_for(lambda: stats(sock)["poll"] == 2, 5, "the requested poll")
        c = stats(sock)["counters"]
        check(c["polls"] == 1 and c["requests"] == 1,
              "/stats is not the last poll's delta: %r" % c)

        # overruns are counted against the interval in force
        def overruns():
            text = ctl(sock, "GET", "/metrics")[2]
            return metric_values(text, "tcpscope_poll_overruns_total")[""]
        check(overruns() == 0, "overruns at a 1h interval")
        check(ctl(sock, "PUT", "/interval", "1ms")[0] == 200, "PUT 1ms")
        wait_for(lambda: overruns() > 0, 5, "overruns at a 1ms interval")

        st, _, body = ctl(sock, "PUT", "/interval", "200ms\n")
        check(st == 200 and body == "interval 200ms\n",
              "PUT /interval 200ms: %d %r" % (st, body))
        n = stats(sock)["poll"]
        wait_for(lambda: stats(sock)["poll"] >= n + 5, 5,
                 "polls every 200ms after PUT /interval")
        st, _, conf = ctl(sock, "GET", "/config")
        check(st == 200 and "\ninterval = 200ms\n" in conf and
              "\ndest = null\n" in conf and
              "\ncontrol = %s\n" % sock in conf,
              "GET /config: %d %r" % (st, conf))
        st, _, text = ctl(sock, "GET", "/metrics")
        check(st == 200 and "\ntcpscope_poll_interval_seconds 0.2\n" in text,
              "/metrics on the control socket: %d" % st)
        check(ctl(sock, "GET", "/healthz")[:3:2] == (200, "ok\n"),
              "/healthz on the control socket")
        # a longer interval is in force at once, not at the next poll:
        # /healthz allows three of it
        check(ctl(sock, "PUT", "/interval", "24h")[0] == 200, "PUT 24h")
        wait_for(lambda: "\ntcpscope_poll_interval_seconds 86400\n" in
                 ctl(sock, "GET", "/metrics")[2], 2,
                 "the new interval in /metrics before the next poll")
        time.sleep(1)
        st, _, why = ctl(sock, "GET", "/healthz")
        check(st == 200, "/healthz 1 s after PUT /interval 24h: %r" % why)
        check(ctl(sock, "PUT", "/interval", "200ms")[0] == 200, "PUT 200ms")
        bad_input(sock)
        abuse(sock)
        d.signal(signal.SIGTERM)
        rc, _, err = d.wait(20)
        check(rc == 0, "exit %d after SIGTERM: %s" % (rc, err))
        check(not os.path.lexists(sock), "the socket is left at exit")


def bad_input(sock):
    for body, want in [("25h", "invalid value '25h' for interval: expected "
                        "a duration N[ms|s|m|h] from 1ms to 24h"),
                       ("", "invalid value '' for interval"),
                       ("10 s", "invalid value '10 s'"),
                       ("0ms", "from 1ms to 24h"),
                       ("1" * 100, "the body is longer than 64 bytes")]:
        st, _, text = ctl(sock, "PUT", "/interval", body)
        check(st == 400 and want in text,
              "PUT /interval %r: %d %r" % (body[:20], st, text))
    check("\ninterval = 200ms\n" in ctl(sock, "GET", "/config")[2],
          "a refused interval changed the configuration")
    for method, path, code, allow in [("GET", "/interval", 405, "PUT"),
                                      ("DELETE", "/poll", 405, "POST"),
                                      ("POST", "/stats", 405, "GET, HEAD"),
                                      ("GET", "/nope", 404, None),
                                      ("GET", "/", 404, None)]:
        st, hdr, text = ctl(sock, method, path)
        check(st == code and text.endswith("\n") and len(text) > 5 and
              hdr.get("Allow") == allow,
              "%s %s: %d %r Allow %r" % (method, path, st, text,
                                         hdr.get("Allow")))


def raw(sock, data, timeout=5):
    """What the server answers to raw bytes (b"" if it just closes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered (or closed) before reading it all
        out = b""
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread
                return out
            if not c:
                return out
            out += c
    finally:
        s.close()


def abuse(sock):
    # (bytes, seconds to the answer or the close): what libmicrohttpd
    # cannot parse and keeps waiting on (a NUL byte first) is closed by
    # the idle bound (10 s)
    for data, bound in [
            (b"garbage\r\n\r\n", 3), (b"x y\r\n\r\n", 3),
            (b"GET\r\n\r\n", 3), (b"\x00\xff\xfe garbage\r\n\r\n", 12),
            (b"GET /stats HTTP/1.1\r\nX: " + b"a" * 65536 + b"\r\n\r\n", 3),
            (b"PUT /interval HTTP/1.1\r\nHost: x\r\nContent-Length: "
             b"99999999999999999999\r\n\r\n5s", 3)]:
        t0 = time.monotonic()
        out = raw(sock, data, timeout=bound + 3)
        print("raw %r...: %r" % (data[:24], out[:60]))
        check(out == b"" or out.startswith(b"HTTP/1.1 4"),
              "raw %r...: %r" % (data[:30], out[:80]))
        check(time.monotonic() - t0 < bound, "raw %r: answered in %.1f s"
              % (data[:30], time.monotonic() - t0))
    # a client that sends half a request holds nobody up
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(sock)
    slow.sendall(b"GET /sta")
    try:
        for _ in range(5):
            t0 = time.monotonic()
            check(ctl(sock, "GET", "/stats", timeout=3)[0] == 200,
                  "/stats beside a half-sent request")
            check(time.monotonic() - t0 < 1, "/stats slow beside one")
    finally:
        slow.close()
    check(stats(sock)["poll"] > 0, "the daemon stopped answering")


def test_stale_and_refused(tmp):
    path = os.path.join(tmp, "ctl.sock")
    # a stale socket: bound, its owner gone
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    old = os.umask(0o277)  # 0600 exactly, not less either
    try:
        d, sock = start(tmp)
    finally:
        os.umask(old)
    with d:
        check(stat.S_IMODE(os.lstat(sock).st_mode) == 0o600,
              "a replaced stale socket is not 0600 (umask 0277): %o"
              % os.lstat(sock).st_mode)
        # a live one: refused, and left serving
        rc, _, err = run(["--once", "--quiet", "--netns", "host", "--dest",
                          "null", "--control", sock], timeout=20)
        check(rc == 1 and "another process serves this socket" in err,
              "a served socket: rc %d %r" % (rc, err))
        check(ctl(sock, "GET", "/stats")[0] == 200,
              "the first daemon's socket no longer serves")
    reg = os.path.join(tmp, "file")
    with open(reg, "w") as f:
        f.write("keep me\n")
    rc, _, err = run(["--once", "--quiet", "--netns", "host", "--dest",
                      "null", "--control", reg], timeout=20)
    check(rc == 1 and "cannot serve --control %s: exists and is not a "
          "socket" % reg in err, "a regular file: rc %d %r" % (rc, err))
    with open(reg) as f:
        check(f.read() == "keep me\n", "the regular file was changed")
    rc, _, err = run(["--once", "--control", os.path.join(tmp, "no", "s")])
    check(rc == 1 and "No such file or directory" in err,
          "a missing directory: rc %d %r" % (rc, err))
    rc, _, err = run(["--once", "--control", "/" + "x" * 120])
    check(rc == 2 and "for --control" in err,
          "a path too long for a socket: rc %d %r" % (rc, err))


def test_many(tmp):
    d, sock = start(tmp, interval="100ms")
    errors = []
    codes = {}
    lock = threading.Lock()
    reqs = [("POST", "/poll", None), ("GET", "/stats", None),
            ("GET", "/metrics", None), ("PUT", "/interval", "100ms"),
            ("GET", "/config", None), ("GET", "/readyz", None)]

    def client(k):
        for i in range(12):
            m, p, b = reqs[(k + i) % len(reqs)]
            try:
                t0 = time.monotonic()
                st, _, body = ctl(sock, m, p, b, timeout=10)
                slow = time.monotonic() - t0 > 5
            except OSError as e:
                with lock:
                    errors.append("%s %s: %s" % (m, p, e))
                continue
            with lock:
                codes[st] = codes.get(st, 0) + 1
                if slow or st not in (200, 202, 503) or (
                        st == 503 and "queue is full" not in body):
                    errors.append("%s %s: %d %r" % (m, p, st, body[:80]))

    with d:
        n0 = stats(sock)["poll"]
        threads = [threading.Thread(target=client, args=(k,))
                   for k in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(not errors, "%d bad answers, e.g. %r" % (len(errors),
                                                       errors[:3]))
        check(sum(codes.values()) == 480, "answers: %r" % codes)
        n1 = stats(sock)["poll"]
        check(n1 > n0, "no poll while the clients came")
        wait_for(lambda: stats(sock)["poll"] >= n1 + 3, 5,
                 "polling going on after the clients")
        check(d.p.poll() is None, "the daemon died")


def test():
    with tempfile.TemporaryDirectory(prefix="ts-ctl-") as tmp:
        test_endpoints(tmp)
    with tempfile.TemporaryDirectory(prefix="ts-ctl-") as tmp:
        test_stale_and_refused(tmp)
    with tempfile.TemporaryDirectory(prefix="ts-ctl-") as tmp:
        test_many(tmp)


main(test)
