#!/usr/bin/env python3
"""test_live_sockets - tcpscope --once reports the sockets this test opens.

On 127.0.0.1 and ::1 (and a v4-mapped connection to a dual-stack listener)
the test opens listeners, an established pair that moved known byte counts
(client -> server 12345 bytes, server -> client 54321) and one connection
left in TIME_WAIT, then checks every record of `tcpscope --once --quiet`
parses as JSON and that each socket is there once with the right state
(name and number), family, addresses, ports, inode, uid, byte counters and
attributes; then the --family, --states and --attrs filters.
"""
import errno
import os
import socket
import time

from livelib import (Skip, SocketKeeper, check, dump, dump_light, main, require,
                     tuple_of, have_ipv6_loopback, in_own_netns)

C2S = 12345  # client -> server bytes
S2C = 54321  # server -> client bytes

STATE_NUM = {"established": 1, "syn-sent": 2, "syn-recv": 3,
             "fin-wait-1": 4, "fin-wait-2": 5, "time-wait": 6, "close": 7,
             "close-wait": 8, "last-ack": 9, "listen": 10, "closing": 11,
             "new-syn-recv": 12, "bound-inactive": 13}
NUM_STATE = {v: k for k, v in STATE_NUM.items()}

ALWAYS_KEYS = ["timestamp_ns", "hostname", "record_counter", "poll_seq",
               "inet_diag_msg_family", "inet_diag_msg_state",
               "inet_diag_msg_state_name", "inet_diag_msg_socket_source",
               "inet_diag_msg_socket_source_port",
               "inet_diag_msg_socket_destination",
               "inet_diag_msg_socket_destination_port",
               "inet_diag_msg_inode", "inet_diag_msg_uid",
               "inet_diag_msg_socket_cookie"]
MEM_INFO = ["mem_info_rmem", "mem_info_wmem", "mem_info_fmem",
            "mem_info_tmem"]


def send_all_recv_all(a, b, n):
    """a sends n bytes, b reads exactly n."""
    a.sendall(b"a" * n)
    got = 0
    while got < n:
        chunk = b.recv(min(65536, n - got))
        require(chunk, "peer closed early")
        got += len(chunk)


class Expect:
    """One socket the test owns and what tcpscope must say about it."""

    def __init__(self, name, family, local, remote, state, sock=None,
                 acked=None, received=None, sent=None):
        self.name = name
        self.family = family
        self.tuple = local + remote
        self.state = state
        self.sock = sock
        self.acked = acked
        self.received = received
        self.sent = sent
        self.created = time.monotonic()

    def gone(self):
        """A time-wait socket lives 60 s; on a host with 100k sockets the
        test's many dumps may outlast it: then its absence is no bug."""
        return self.state == "time-wait" and \
            time.monotonic() - self.created > 50

    def find(self, recs):
        return index(recs).get((self.family,) + self.tuple, [])


_index_cache = (None, None)


def index(recs):
    """{(family, local addr, port, remote addr, port): [records]}, cached
    for the last dump (the host may hold 100k sockets)."""
    global _index_cache
    if _index_cache[0] is not recs:
        idx = {}
        for d in recs:
            if not in_own_netns(d):
                continue
            k = (d.get("inet_diag_msg_family"),) + tuple_of(d)
            idx.setdefault(k, []).append(d)
        _index_cache = (recs, idx)
    return _index_cache[1]


def addr(sockname):
    return (sockname[0], sockname[1])


class World(SocketKeeper):
    def __init__(self):
        super().__init__()
        self.expects = []

    def ports(self):
        return {p for e in self.expects for p in (e.tuple[1], e.tuple[3])
                if p}

    def family_sockets(self, af, host):
        fam = int(af)
        tag = "v4" if af == socket.AF_INET else "v6"
        any_ = "0.0.0.0" if af == socket.AF_INET else "::"
        lis = self.keep(socket.socket(af, socket.SOCK_STREAM))
        lis.bind((host, 0))
        lis.listen(16)
        lport = lis.getsockname()[1]
        self.expects.append(Expect(tag + " listener", fam, (host, lport),
                                   (any_, 0), "listen", lis))

        # established pair with known byte counts
        cli = self.keep(socket.create_connection((host, lport)))
        srv = self.keep(lis.accept()[0])
        send_all_recv_all(cli, srv, C2S)
        send_all_recv_all(srv, cli, S2C)
        cl = addr(cli.getsockname())
        # the active opener's bytes_acked also counts its SYN (kernel
        # tcp_snd_una_update() runs on the SYN-ACK); the passive side's
        # child socket starts with snd_una past its SYN-ACK
        self.expects.append(Expect(tag + " client", fam, cl, (host, lport),
                                   "established", cli, acked=C2S + 1,
                                   received=S2C, sent=C2S))
        self.expects.append(Expect(tag + " server", fam, (host, lport), cl,
                                   "established", srv, acked=S2C,
                                   received=C2S, sent=S2C))

        # a connection the client closes first: client ends in TIME_WAIT
        c2 = socket.create_connection((host, lport))
        s2 = lis.accept()[0]
        send_all_recv_all(c2, s2, 100)
        send_all_recv_all(s2, c2, 200)
        tw_local = addr(c2.getsockname())
        c2.close()
        require(s2.recv(10) == b"", "server side did not see the FIN")
        s2.close()
        self.expects.append(Expect(tag + " time-wait", fam, tw_local,
                                   (host, lport), "time-wait"))

    def state_sockets(self, af, host):
        """Sockets in syn-sent, syn-recv, fin-wait-2 and close-wait."""
        fam = int(af)
        tag = "v4" if af == socket.AF_INET else "v6"
        # syn-sent: a listener whose accept queue (backlog 0) is full
        # drops further SYNs, so the next connect stays in SYN_SENT
        full = self.keep(socket.socket(af, socket.SOCK_STREAM))
        full.bind((host, 0))
        full.listen(0)
        fport = full.getsockname()[1]
        self.keep(socket.create_connection((host, fport)))
        time.sleep(0.05)
        pending = self.keep(socket.socket(af, socket.SOCK_STREAM))
        pending.setblocking(False)
        require(pending.connect_ex((host, fport)) in (errno.EINPROGRESS,
                                                       errno.EAGAIN),
                "non-blocking connect to a full listener did not pend")
        self.expects.append(Expect(tag + " syn-sent", fam,
                                   addr(pending.getsockname()),
                                   (host, fport), "syn-sent", pending))
        # syn-recv: with TCP_DEFER_ACCEPT the listener drops the bare
        # final ACK, so the connection stays a request socket
        defer = self.keep(socket.socket(af, socket.SOCK_STREAM))
        defer.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 60)
        defer.bind((host, 0))
        defer.listen(4)
        dport = defer.getsockname()[1]
        dcli = self.keep(socket.create_connection((host, dport)))
        self.expects.append(Expect(tag + " syn-recv", fam, (host, dport),
                                   addr(dcli.getsockname()), "syn-recv"))
        # half close: the closing side in FIN_WAIT_2, its peer CLOSE_WAIT
        hl = self.keep(socket.socket(af, socket.SOCK_STREAM))
        hl.bind((host, 0))
        hl.listen(4)
        hport = hl.getsockname()[1]
        a = self.keep(socket.create_connection((host, hport)))
        b = self.keep(hl.accept()[0])
        a.shutdown(socket.SHUT_WR)
        self.expects.append(Expect(tag + " fin-wait-2", fam,
                                   addr(a.getsockname()), (host, hport),
                                   "fin-wait-2", a))
        self.expects.append(Expect(tag + " close-wait", fam, (host, hport),
                                   addr(a.getsockname()), "close-wait", b))

    def mapped_sockets(self):
        """A dual-stack :: listener reached over IPv4: the accepted socket
        is AF_INET6 with v4-mapped addresses."""
        lis = self.keep(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
        lis.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        lis.bind(("::", 0))
        lis.listen(4)
        lport = lis.getsockname()[1]
        self.expects.append(Expect("dual-stack listener", 10, ("::", lport),
                                   ("::", 0), "listen", lis))
        cli = self.keep(socket.create_connection(("127.0.0.1", lport)))
        srv = self.keep(lis.accept()[0])
        send_all_recv_all(cli, srv, 777)
        cl = addr(cli.getsockname())
        self.expects.append(Expect("v4-mapped server", 10,
                                   ("::ffff:127.0.0.1", lport),
                                   ("::ffff:" + cl[0], cl[1]),
                                   "established", srv, received=777))
        self.expects.append(Expect("v4 client of dual-stack", 2, cl,
                                   ("127.0.0.1", lport), "established", cli,
                                   acked=777 + 1, sent=777))


def counters_settled(w, recs):
    for e in w.expects:
        found = e.find(recs)
        if len(found) != 1:
            return False
        d = found[0]
        if d.get("inet_diag_msg_state_name") != e.state:
            return False
        for key, want in (("tcp_info_bytes_acked", e.acked),
                          ("tcp_info_bytes_received", e.received)):
            if want is not None and d.get(key) != want:
                return False
    return True


def check_records_wellformed(recs):
    require(recs, "tcpscope --once printed no record at all")
    host = socket.gethostname()
    now = time.time_ns()
    for i, d in enumerate(recs):
        missing = [k for k in ALWAYS_KEYS if k not in d]
        if not check(not missing, "record %d lacks %s" % (i + 1, missing)):
            continue
        st = d["inet_diag_msg_state"]
        check(d["inet_diag_msg_state_name"] == NUM_STATE.get(st),
              "record %d: state %r named %r" %
              (i + 1, st, d["inet_diag_msg_state_name"]))
        check(d["inet_diag_msg_family"] in (2, 10),
              "record %d: family %r" % (i + 1, d["inet_diag_msg_family"]))
        check(d["poll_seq"] == 1, "record %d: poll_seq %r in --once"
              % (i + 1, d["poll_seq"]))
        check(d["hostname"] == host, "record %d: hostname %r, expected %r"
              % (i + 1, d["hostname"], host))
        check(abs(d["timestamp_ns"] - now) < 60 * 10**9,
              "record %d: timestamp_ns %r is not now (%d)"
              % (i + 1, d["timestamp_ns"], now))
        if d["inet_diag_msg_family"] == 2:
            check("skv6only" not in d,
                  "record %d: IPv4 socket has skv6only" % (i + 1))
    counters = [d.get("record_counter") for d in recs]
    check(counters == list(range(1, len(recs) + 1)),
          "record_counter of a --once run is not 1..%d: %r..."
          % (len(recs), counters[:10]))


def check_expect(e, recs):
    found = e.find(recs)
    if not check(len(found) == 1, "%s %r: found %d times in the dump"
                 % (e.name, e.tuple, len(found))):
        return
    d = found[0]
    check(d["inet_diag_msg_state_name"] == e.state,
          "%s: state_name %r, expected %r"
          % (e.name, d["inet_diag_msg_state_name"], e.state))
    check(d["inet_diag_msg_state"] == STATE_NUM[e.state],
          "%s: state %r, expected %d"
          % (e.name, d["inet_diag_msg_state"], STATE_NUM[e.state]))
    if e.state in ("time-wait", "syn-recv"):
        # no full socket: the kernel sends no attributes and no inode
        check(d["inet_diag_msg_inode"] == 0, "%s: inode %r, expected 0"
              % (e.name, d["inet_diag_msg_inode"]))
        check("tcp_info_size" not in d, "%s: has tcp_info_size %r"
              % (e.name, d.get("tcp_info_size")))
        return
    if e.sock is not None:
        ino = os.fstat(e.sock.fileno()).st_ino
        check(d["inet_diag_msg_inode"] == ino, "%s: inode %r, expected %d"
              % (e.name, d["inet_diag_msg_inode"], ino))
        check(d["inet_diag_msg_uid"] == os.getuid(), "%s: uid %r, expected %d"
              % (e.name, d["inet_diag_msg_uid"], os.getuid()))
    check(isinstance(d.get("tcp_info_size"), int) and d["tcp_info_size"] > 0,
          "%s: tcp_info_size %r" % (e.name, d.get("tcp_info_size")))
    check(d.get("tcp_info_state") == STATE_NUM[e.state],
          "%s: tcp_info_state %r" % (e.name, d.get("tcp_info_state")))
    for key, want in (("tcp_info_bytes_acked", e.acked),
                      ("tcp_info_bytes_received", e.received),
                      ("tcp_info_bytes_sent", e.sent)):
        if want is not None:
            check(d.get(key) == want, "%s: %s = %r, expected %d"
                  % (e.name, key, d.get(key), want))
    if e.family == 10:
        # the kernel sends INET_DIAG_SKV6ONLY for IPv6 sockets in LISTEN
        # or CLOSE only (inet_diag_msg_attrs_fill())
        want = e.sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        if e.state == "listen":
            check(d.get("skv6only") == want, "%s: skv6only = %r, expected %d"
                  % (e.name, d.get("skv6only"), want))
        elif "skv6only" in d:
            check(d["skv6only"] == want, "%s: skv6only = %r, expected %d"
                  % (e.name, d["skv6only"], want))
    check(isinstance(d.get("congestion_algorithm_string"), str) and
          d["congestion_algorithm_string"] != "",
          "%s: congestion_algorithm_string %r (default attrs)"
          % (e.name, d.get("congestion_algorithm_string")))
    check("sk_mem_info_rcv_buf" in d,
          "%s: no sk_mem_info_* with the default attrs" % e.name)
    check(not any(k in d for k in MEM_INFO),
          "%s: mem_info_* present although meminfo is not a default"
          % e.name)


def check_family_filter(w, fam, name):
    summary, recs = dump_light(["--family", name], w.ports())
    others = [f for f, _ in summary if f != fam]
    check(not others, "--family %s: %d records of another family (%r)"
          % (name, len(others), sorted(set(others))))
    for e in w.expects:
        if e.gone():
            continue
        n = len(e.find(recs))
        want = 1 if e.family == fam else 0
        check(n == want, "--family %s: %s found %d times, expected %d"
              % (name, e.name, n, want))


def check_states_filter(w, arg, states):
    summary, recs = dump_light(["--states", arg], w.ports())
    bad = [st for _, st in summary if st not in states]
    check(not bad, "--states %s: %d records in other states: %r"
          % (arg, len(bad), sorted(set(bad))))
    for e in w.expects:
        if e.gone():
            continue
        n = len(e.find(recs))
        want = 1 if e.state in states else 0
        check(n == want, "--states %s: %s (%s) found %d times, expected %d"
              % (arg, e.name, e.state, n, want))


def check_attrs(w, arg, must, must_not):
    _, recs = dump_light(["--attrs", arg], w.ports())
    for e in w.expects:
        if e.state != "established":
            continue
        found = e.find(recs)
        if not check(len(found) == 1, "--attrs %s: %s found %d times"
                     % (arg, e.name, len(found))):
            continue
        d = found[0]
        for k in must:
            check(k in d, "--attrs %s: %s lacks %s" % (arg, e.name, k))
        for k in must_not:
            check(k not in d, "--attrs %s: %s has %s = %r"
                  % (arg, e.name, k, d.get(k)))


def test():
    if not have_ipv6_loopback():
        raise Skip("cannot bind ::1 (no IPv6 loopback here)")
    w = World()
    try:
        w.family_sockets(socket.AF_INET, "127.0.0.1")
        w.family_sockets(socket.AF_INET6, "::1")
        w.state_sockets(socket.AF_INET, "127.0.0.1")
        w.state_sockets(socket.AF_INET6, "::1")
        w.mapped_sockets()

        # ACKs may still be in flight: let the counters settle (<= ~2 s)
        deadline = time.monotonic() + 2.5
        while True:
            recs = dump()
            if counters_settled(w, recs) or time.monotonic() > deadline:
                break
            time.sleep(0.1)

        check_records_wellformed(recs)
        for e in w.expects:
            check_expect(e, recs)

        check_family_filter(w, 2, "inet")
        check_family_filter(w, 10, "inet6")
        _, all_recs = dump_light(["--family", "all"], w.ports())
        for e in w.expects:
            check(e.gone() or len(e.find(all_recs)) == 1,
                  "--family all: %s not found once" % e.name)

        check_states_filter(w, "listen", {"listen"})
        check_states_filter(w, "established,time-wait",
                            {"established", "time-wait"})
        check_states_filter(w, "time-wait", {"time-wait"})
        check_states_filter(w, "syn-sent,syn-recv,fin-wait-2,close-wait",
                            {"syn-sent", "syn-recv", "fin-wait-2",
                             "close-wait"})
        check_states_filter(w, "all", set(STATE_NUM))

        tcp_keys = ["tcp_info_size", "tcp_info_bytes_acked",
                    "tcp_info_bytes_received", "tcp_info_rtt"]
        skmem = ["sk_mem_info_rcv_buf", "sk_mem_info_snd_buf"]
        cong = ["congestion_algorithm_string"]
        check_attrs(w, "info", tcp_keys,
                    cong + skmem + MEM_INFO + ["type_of_service",
                                               "traffic_class"])
        check_attrs(w, "meminfo", MEM_INFO,
                    tcp_keys + cong + skmem)
        check_attrs(w, "info,cong", tcp_keys + cong, skmem + MEM_INFO)
        check_attrs(w, "skmeminfo", skmem, tcp_keys + cong + MEM_INFO)
        check_attrs(w, "default", tcp_keys + cong + skmem, MEM_INFO)
        check_attrs(w, "all", tcp_keys + cong + skmem + MEM_INFO, [])
    finally:
        w.close()


if __name__ == "__main__":
    main(test)
