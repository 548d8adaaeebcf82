#!/usr/bin/env python3
"""test_walk - one walk of the socket hash for both families gives the
same records as two dumps.

With --family all, --walk one sends the legacy TCPDIAG_GETSOCK request
(AF_UNSPEC): the kernel walks its hash once for IPv4 and IPv6. On live
sockets in several states (listen, established, time-wait, fin-wait-2 /
close-wait) on 127.0.0.1 and ::1, its records equal those of --walk two
(one SOCK_DIAG_BY_FAMILY dump per family), field by field but for the
receive time, the poll's counters and the record counter; the summary
says 1 dump instead of 2; a --filter rides along.
"""
import re
import socket

from livelib import (SocketKeeper, check, have_ipv6_loopback, main,
                     parse_lines, require, run)

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


def test():
    v6 = have_ipv6_loopback()
    w = World(v6)
    try:
        rc1, out1, err1 = run(["--once", "--netns", "host", "--walk", "one"])
        rc2, out2, err2 = run(["--once", "--netns", "host", "--walk", "two"])
        rcf, outf, errf = run(["--once", "--netns", "host", "--walk", "one",
                               "--filter", "sport = :%d or dport = :%d"
                               % ((min(w.ports),) * 2)])
    finally:
        w.close()
    require(rc1 == 0 and rc2 == 0, "rc %d %d: %s %s" % (rc1, rc2, err1,
                                                         err2))
    a, b = ours(out1, w.ports), ours(out2, w.ports)
    states = {r["inet_diag_msg_state_name"] for r in a.values()}
    check(len(a) >= (14 if v6 else 7), "too few sockets: %d" % len(a))
    check({"listen", "established", "time-wait"} <= states,
          "states seen: %r" % sorted(states))
    check(set(a) == set(b), "sockets differ: one walk only %r, two only %r"
          % (sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5]))
    for k in set(a) & set(b):
        if a[k] != b[k]:
            diff = {f for f in set(a[k]) | set(b[k])
                    if a[k].get(f) != b[k].get(f)}
            check(False, "socket %s differs in %r" % (k, sorted(diff)))
            break
    if v6:
        fams = {r["inet_diag_msg_family"] for r in a.values()}
        check(fams == {2, 10}, "one walk saw families %r" % fams)
    check(dumps(err1) == 1 and dumps(err2) == 2,
          "dumps: one walk %d, two walks %d" % (dumps(err1), dumps(err2)))
    only = ours(outf, {min(w.ports)})
    check(rcf == 0 and only and all(
        min(w.ports) in (r["inet_diag_msg_socket_source_port"],
                         r["inet_diag_msg_socket_destination_port"])
        for r in parse_lines(outf)),
        "--filter with one walk selects other sockets")


main(test)
