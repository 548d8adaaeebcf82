#!/usr/bin/env python3
"""test_walk - one walk of the socket hash for both families gives the
same records as two dumps.

With --family all, --walk one sends the legacy TCPDIAG_GETSOCK request
(AF_UNSPEC): the kernel walks its hash once for IPv4 and IPv6. On live
sockets in several states (listen, established, time-wait, fin-wait-2 /
close-wait) on 127.0.0.1 and ::1, its records equal those of --walk two
(one SOCK_DIAG_BY_FAMILY dump per family), field by field but for the
receive time, the poll's counters and the record counter; the summary
says 1 dump instead of 2; a --filter rides along. The same through each
engine: syscall, io_uring (multishot receives, and the single-shot
fallback), each engine's one walk compared with the syscall engine's two
(the io_uring runs are left out, with a note, where io_uring cannot be
used). The gauges of GET /stats (--control) say which: one_walk 1 with
--walk one and auto, 0 with two; uring 1 for the io_uring engine.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time

from livelib import (SocketKeeper, check, have_ipv6_loopback, main,
                     parse_lines, require, run, tcpscope_bin)

SKIP_KEYS = {"timestamp_ns", "record_counter", "poll_seq",
             "inet_diag_msg_expires"}  # timers run down between dumps
# counters that may move between two dumps of a live socket
VOLATILE = re.compile(r"^tcp_info_(last_|rtt|rttvar|rcv_rtt|min_rtt|"
                      r"rto|ato|busy|delivery_rate|pacing|rcv_space|"
                      r"sndbuf)|^sk_mem|^mem_info")


class World(SocketKeeper):
    def __init__(self, v6):
        super().__init__()
        self.ports = set()
        for af, host in [(socket.AF_INET, "127.0.0.1")] + \
                ([(socket.AF_INET6, "::1")] if v6 else []):
            srv = self.keep(socket.socket(af, socket.SOCK_STREAM))
            srv.bind((host, 0))
            srv.listen(8)
            port = srv.getsockname()[1]
            self.ports.add(port)
            for _ in range(3):
                c = self.keep(socket.create_connection((host, port)))
                self.keep(srv.accept()[0])
                c.send(b"hello")
            # a half-closed pair: fin-wait-2 on one side, close-wait
            c = self.keep(socket.create_connection((host, port)))
            s = self.keep(srv.accept()[0])
            c.shutdown(socket.SHUT_WR)
            # and time-wait: the client closes first
            c2 = socket.create_connection((host, port))
            s2, _ = srv.accept()
            c2.close()
            s2.close()


def ours(out, ports):
    recs = {}
    for d in parse_lines(out):
        if (d["inet_diag_msg_socket_source_port"] in ports or
                d["inet_diag_msg_socket_destination_port"] in ports):
            key = d["inet_diag_msg_socket_cookie"]
            recs[key] = {k: v for k, v in d.items()
                         if k not in SKIP_KEYS and not VOLATILE.match(k)}
    return recs


def dumps(err):
    m = re.search(r"\); (\d+) dumps", err)
    return int(m.group(1)) if m else -1


def env_with(extra):
    env = dict(os.environ)
    env.pop("TCPSCOPE_URING_NO_MULTISHOT", None)  # any value disables
    env.update(extra)
    return env


# (label, arguments, environment)
ENGINES = [
    ("syscall", ["--io-engine", "syscall"], {}),
    ("uring", ["--io-engine", "uring"], {}),
    ("uring single-shot", ["--io-engine", "uring"],
     {"TCPSCOPE_URING_NO_MULTISHOT": "1"}),
]


def uring_usable():
    rc, _, err = run(["--io-engine", "uring", "--once", "--quiet", "--netns",
                      "host", "--states", "listen", "--dest", "null"],
                     env=env_with({}))
    if rc != 0:
        print("NOTE: io_uring is not usable here, its runs left out: %s"
              % err.strip())
    return rc == 0


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def gauges(label, args, extra):
    """The gauges of /stats after the first poll of a daemon run with
    args."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "ctl")
        p = subprocess.Popen([tcpscope_bin(), "--netns", "host", "--states",
                              "listen", "--interval", "1h", "--quiet",
                              "--dest", "null", "--control", sock] + args,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env_with(extra))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    c = UnixHTTP(sock)
                    c.request("GET", "/stats")
                    r = c.getresponse()
                    body = r.read()
                    c.close()
                    if r.status == 200:
                        return json.loads(body)["gauges"]
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.05)
            require(False, "%s %s: no /stats within 20 s (exit %s): %s"
                    % (label, args, p.poll(), p.stderr.read1(2000)
                       if p.poll() is not None else ""))
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stderr.close()


def check_gauges(engines):
    for label, args, extra in engines:
        for walk, want in (("one", 1), ("auto", 1), ("two", 0)):
            g = gauges(label, args + ["--walk", walk], extra)
            check(g.get("one_walk") == want and
                  g.get("uring") == int(label.startswith("uring")),
                  "%s --walk %s: gauges one_walk %r, uring %r" % (
                      label, walk, g.get("one_walk"), g.get("uring")))
        print("%s: /stats gauges one_walk, uring as expected with --walk "
              "one, auto, two" % label)


def test():
    v6 = have_ipv6_loopback()
    engines = ENGINES if uring_usable() else ENGINES[:1]
    w = World(v6)
    runs = []
    try:
        for label, args, extra in engines:
            base = ["--once", "--netns", "host"] + args
            runs.append((label,) + tuple(
                run(base + a, env=env_with(extra)) for a in (
                    ["--walk", "one"], ["--walk", "two"],
                    ["--walk", "one", "--filter", "sport = :%d or dport = :%d"
                     % ((min(w.ports),) * 2)])))
    finally:
        w.close()
    ref = None
    for label, one, two, filtered in runs:
        ref = compare(label, w, v6, one, two, filtered, ref)
    check_gauges(engines)


def same(what, a, b):
    """a and b (cookie -> fields) hold the same sockets, field by field."""
    check(set(a) == set(b), "%s: sockets differ: only in the first %r, only "
          "in the second %r" % (what, sorted(set(a) - set(b))[:5],
                                sorted(set(b) - set(a))[:5]))
    for k in sorted(set(a) & set(b)):
        if a[k] != b[k]:
            diff = {f for f in set(a[k]) | set(b[k])
                    if a[k].get(f) != b[k].get(f)}
            check(False, "%s: socket %s differs in %r" % (what, k,
                                                          sorted(diff)))
            break


def compare(label, w, v6, one, two, filtered, ref):
    """One engine's runs; ref: the first engine's two-walk records.
    Returns the reference for the next engine."""
    (rc1, out1, err1), (rc2, out2, err2) = one, two
    rcf, outf, errf = filtered
    require(rc1 == 0 and rc2 == 0, "%s: rc %d %d: %s %s"
            % (label, rc1, rc2, err1, err2))
    a, b = ours(out1, w.ports), ours(out2, w.ports)
    print("%s: one walk %d sockets of ours in %d dumps, two walks %d in %d"
          % (label, len(a), dumps(err1), len(b), dumps(err2)))
    states = {r["inet_diag_msg_state_name"] for r in a.values()}
    check(len(a) >= (14 if v6 else 7), "%s: too few sockets: %d"
          % (label, len(a)))
    check({"listen", "established", "time-wait"} <= states,
          "%s: states seen: %r" % (label, sorted(states)))
    same("%s: one walk vs two" % label, a, b)
    if ref is not None:
        same("%s one walk vs %s" % (label, ref[0]), a, ref[1])
    if v6:
        fams = {r["inet_diag_msg_family"] for r in a.values()}
        check(fams == {2, 10}, "%s: one walk saw families %r" % (label, fams))
    check(dumps(err1) == 1 and dumps(err2) == 2,
          "%s: dumps: one walk %d, two walks %d" % (label, dumps(err1),
                                                    dumps(err2)))
    only = ours(outf, {min(w.ports)})
    check(rcf == 0 and only and all(
        min(w.ports) in (r["inet_diag_msg_socket_source_port"],
                         r["inet_diag_msg_socket_destination_port"])
        for r in parse_lines(outf)),
        "%s: --filter with one walk selects other sockets: %s"
        % (label, errf))
    return ref if ref is not None else (label + " two walks", b)


main(test)
