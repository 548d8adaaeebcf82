#!/usr/bin/env python3
"""test_filter - --filter selects exactly the sockets ss selects.

For a set of expressions in ss's filter syntax over live sockets on
127.0.0.1 and ::1 (listeners, established pairs, ports chosen by the
kernel), `tcpscope --once --filter EXPR` must report the same sockets as
`ss -tanH EXPR`, counted on the sockets of this test (other sockets of the
host may match too). The kernel runs the bytecode (the filter is sent with
the dump request): a filter that matches nothing returns no records. Bad
expressions exit 2 with one line quoting the bad token.
"""
import collections
import socket
import subprocess

from livelib import (Skip, SocketKeeper, check, dump, have_ipv6_loopback,
                     main, require, run, ss_endpoint)


class World(SocketKeeper):
    """Listeners on 127.0.0.1 and ::1, a few connections to each."""

    def __init__(self, v6):
        super().__init__()
        self.ports = set()
        self.l4 = self.listen(socket.AF_INET, "127.0.0.1")
        self.l4b = self.listen(socket.AF_INET, "127.0.0.1")
        self.l6 = self.listen(socket.AF_INET6, "::1") if v6 else None
        for port, n in ((self.l4, 3), (self.l4b, 1)):
            for _ in range(n):
                self.connect(socket.AF_INET, "127.0.0.1", port)
        if v6:
            for _ in range(2):
                self.connect(socket.AF_INET6, "::1", self.l6)

    def listen(self, af, host):
        s = self.keep(socket.socket(af, socket.SOCK_STREAM))
        s.bind((host, 0))
        s.listen(16)
        self.ports.add(s.getsockname()[1])
        self.srv = s
        return s.getsockname()[1]

    def connect(self, af, host, port):
        c = self.keep(socket.socket(af, socket.SOCK_STREAM))
        c.connect((host, port))
        self.ports.add(c.getsockname()[1])


def ours(t, ports):
    return t[1] in ports or t[3] in ports


def ss_tuples(expr, ports):
    p = subprocess.run(["ss", "-tanH", expr], capture_output=True,
                       timeout=60)
    require(p.returncode == 0, "ss -tanH %r failed: %s"
            % (expr, p.stderr.decode("utf-8", "replace").strip()))
    out = collections.Counter()
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        f = line.split()
        la, _, lp = ss_endpoint(f[3])
        ra, _, rp = ss_endpoint(f[4])
        # tcpscope prints a mapped address as ss does; "*" is a listener
        t = (la, lp, ra, rp)
        if ours(t, ports):
            out[t] += 1
    return out


def tcpscope_tuples(expr, ports):
    recs = dump(["--netns", "host", "--filter", expr])
    out = collections.Counter()
    for d in recs:
        t = (d["inet_diag_msg_socket_source"],
             d["inet_diag_msg_socket_source_port"],
             d["inet_diag_msg_socket_destination"],
             d["inet_diag_msg_socket_destination_port"])
        if ours(t, ports):
            out[t] += 1
    return out, len(recs)


def expressions(w, v6):
    p4, p4b = w.l4, w.l4b
    e = [
        "sport = :%d" % p4,
        "dport = :%d" % p4,
        "sport == :%d or dport eq :%d" % (p4, p4b),
        "sport != :%d and dport != :%d" % (p4, p4),
        "( sport = :%d or dport = :%d ) and src 127.0.0.1" % (p4, p4),
        "not ( sport = :%d or dport = :%d )" % (p4, p4),
        "! dport = :%d" % p4b,
        "sport > :%d" % p4,
        "sport < :%d" % p4,
        "sport >= :%d and sport <= :%d" % (min(p4, p4b), max(p4, p4b)),
        "dport gt :%d" % p4,
        "dport le :%d" % p4,
        "src 127.0.0.1:%d" % p4,
        "dst 127.0.0.1:%d" % p4b,
        "src 127.0.0.0/8 and dport = :%d" % p4,
        "src 10.0.0.0/8",
        "dst 127.0.0.1 sport = :%d" % p4,  # juxtaposition: and
        "sport = :%d || sport = :%d" % (p4, p4b),
    ]
    if v6:
        p6 = w.l6
        e += [
            "src [::1]:%d" % p6,
            "dst [::1]:%d" % p6,
            "src [::1] and not sport = :%d" % p6,
            "src ::1/128 or src 127.0.0.1:%d" % p4,
            "dport = :%d or sport = :%d" % (p6, p6),
        ]
    return e


BAD = [
    ("sport = :x", ":x"),
    ("sport = :70000", ":70000"),
    ("sport :80", ":80"),
    ("( sport = :80", "end"),
    ("sport = :80 )", ")"),
    ("src 1.2.3.4/33", "1.2.3.4/33"),
    ("colour = red", "colour"),
    ("sport = :80 and", "end"),
    ("not", "end"),
    ("", "empty"),
]


def test():
    v6 = have_ipv6_loopback()
    if subprocess.run(["ss", "-V"], capture_output=True).returncode != 0:
        raise Skip("ss (iproute2) is not installed")
    w = World(v6)
    try:
        for expr in expressions(w, v6):
            want = ss_tuples(expr, w.ports)
            got, n = tcpscope_tuples(expr, w.ports)
            check(got == want, "--filter %r: tcpscope %r, ss %r"
                  % (expr, sorted(got.items()), sorted(want.items())))
        # the kernel filtered: nothing at all comes back
        got, n = tcpscope_tuples("sport = :1 and sport = :2", w.ports)
        check(n == 0, "an impossible filter still returned %d records" % n)
    finally:
        w.close()
    for expr, word in BAD:
        rc, out, err = run(["--once", "--filter", expr])
        lines = err.strip().splitlines()
        check(rc == 2 and len(lines) == 1 and word in lines[0]
              and out == "",
              "--filter %r: rc %d, %r" % (expr, rc, err))


main(test)
