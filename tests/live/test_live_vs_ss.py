#!/usr/bin/env python3
"""test_live_vs_ss - tcpscope --once sees exactly the sockets ss sees.

The test adds a handful of sockets of its own (listeners on 127.0.0.1,
0.0.0.0, ::1, a v6-only and a dual-stack ::, one bound to lo, established
pairs, a v4-mapped connection, time-wait, syn-sent, syn-recv, fin-wait-2,
close-wait), then takes `ss -tanH` right before and right after
`tcpscope --once --quiet`. When the two ss snapshots agree (the machine was
idle in between; up to 5 tries), the multiset of (state, local addr, local
port, interface, peer addr, peer port) from tcpscope must equal ss's.
Skipped when ss is missing or the host has more than 5000 TCP sockets (a
load generator is running: no idle moment to compare).
"""
import collections
import errno
import shutil
import socket
import subprocess
import time

from livelib import (Fail, Skip, SocketKeeper, check, dump, have_ipv6_loopback,
                     in_own_netns, main, require, ss_endpoint)

MAX_SOCKETS = 5000
TRIES = 5

SS_STATE = {"ESTAB": "established", "SYN-SENT": "syn-sent",
            "SYN-RECV": "syn-recv", "FIN-WAIT-1": "fin-wait-1",
            "FIN-WAIT-2": "fin-wait-2", "TIME-WAIT": "time-wait",
            "UNCONN": "close", "CLOSE": "close", "CLOSE-WAIT": "close-wait",
            "LAST-ACK": "last-ack", "LISTEN": "listen",
            "CLOSING": "closing", "NEW-SYN-RECV": "new-syn-recv",
            "BOUND-INACTIVE": "bound-inactive"}


def ss_lines():
    p = subprocess.run(["ss", "-tanH"], capture_output=True, timeout=60)
    require(p.returncode == 0, "ss -tanH failed: %s"
            % p.stderr.decode("utf-8", "replace").strip())
    return p.stdout.decode("utf-8", "replace").splitlines()


def ss_set(lines):
    out = collections.Counter()
    for line in lines:
        f = line.split()
        if len(f) < 5:
            raise Fail("unexpected ss line %r" % line)
        state = SS_STATE.get(f[0])
        if state is None:
            raise Fail("unknown ss state %r in %r" % (f[0], line))
        la, lif, lp = ss_endpoint(f[3])
        ra, _, rp = ss_endpoint(f[4])
        out[(state, la, lp, lif, ra, rp)] += 1
    return out


def ifname(index):
    if not index:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return "if%d" % index


def tcpscope_set(recs):
    out = collections.Counter()
    for d in recs:
        if not in_own_netns(d):
            continue  # ss sees its own namespace only
        out[(d["inet_diag_msg_state_name"],
             d["inet_diag_msg_socket_source"],
             d["inet_diag_msg_socket_source_port"],
             ifname(d.get("inet_diag_msg_socket_interface", 0)),
             d["inet_diag_msg_socket_destination"],
             d["inet_diag_msg_socket_destination_port"])] += 1
    return out


class Sockets(SocketKeeper):
    def listener(self, af, host, v6only=None, backlog=8, device=None):
        s = self.keep(socket.socket(af, socket.SOCK_STREAM))
        if v6only is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
        if device:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                         device.encode())
        s.bind((host, 0))
        s.listen(backlog)
        return s

    def pair(self, lis, host, data=1000):
        c = self.keep(socket.create_connection((host,
                                                lis.getsockname()[1])))
        s = self.keep(lis.accept()[0])
        c.sendall(b"x" * data)
        got = 0
        while got < data:
            got += len(s.recv(65536))
        return c, s

    def build(self, v6):
        fams = [(socket.AF_INET, "127.0.0.1")]
        if v6:
            fams.append((socket.AF_INET6, "::1"))
        for af, host in fams:
            lis = self.listener(af, host)
            self.pair(lis, host)
            # time-wait: the client closes first
            c, s = self.pair(lis, host)
            c.close()
            s.recv(10)
            s.close()
            # fin-wait-2 / close-wait
            c, s = self.pair(lis, host)
            c.shutdown(socket.SHUT_WR)
            # syn-sent: the backlog-0 listener's queue is full
            full = self.listener(af, host, backlog=0)
            self.keep(socket.create_connection((host,
                                                full.getsockname()[1])))
            time.sleep(0.05)
            p = self.keep(socket.socket(af, socket.SOCK_STREAM))
            p.setblocking(False)
            require(p.connect_ex((host, full.getsockname()[1])) in
                    (errno.EINPROGRESS, errno.EAGAIN), "connect did not pend")
            # syn-recv: TCP_DEFER_ACCEPT keeps the request socket
            d = self.keep(socket.socket(af, socket.SOCK_STREAM))
            d.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 60)
            d.bind((host, 0))
            d.listen(4)
            self.keep(socket.create_connection((host, d.getsockname()[1])))
        self.listener(socket.AF_INET, "0.0.0.0")
        try:
            self.listener(socket.AF_INET, "127.0.0.1", device="lo")
        except OSError:
            pass  # SO_BINDTODEVICE needs CAP_NET_RAW
        if v6:
            self.listener(socket.AF_INET6, "::", v6only=1)
            dual = self.listener(socket.AF_INET6, "::", v6only=0)
            self.pair(dual, "127.0.0.1")  # v4-mapped server side


def test():
    if not shutil.which("ss"):
        raise Skip("ss (iproute2) is not installed")
    n = len(ss_lines())
    if n > MAX_SOCKETS:
        raise Skip("machine is not idle: %d TCP sockets (> %d), a load "
                   "generator is probably running" % (n, MAX_SOCKETS))
    v6 = have_ipv6_loopback()
    socks = Sockets()
    try:
        socks.build(v6)
        time.sleep(0.2)  # let FINs and ACKs land
        for attempt in range(1, TRIES + 1):
            before = ss_set(ss_lines())
            recs = dump()
            after = ss_set(ss_lines())
            if before == after:  # same sockets (queue sizes may differ)
                break
            print("try %d: ss changed during the poll, retrying" % attempt)
            time.sleep(0.5)
        else:
            raise Skip("machine is not idle: ss output changed during "
                       "each of %d polls" % TRIES)
        want = before
        got = tcpscope_set(recs)
        missing = want - got
        extra = got - want
        check(not missing, "%d sockets in ss but not in tcpscope: %s"
              % (sum(missing.values()), sorted(missing)[:10]))
        check(not extra, "%d sockets in tcpscope but not in ss: %s"
              % (sum(extra.values()), sorted(extra)[:10]))
        states = {k[0] for k in want}
        for st in ("listen", "established", "time-wait", "syn-sent",
                   "syn-recv", "fin-wait-2", "close-wait"):
            check(st in states, "the comparison covered no %s socket" % st)
        print("compared %d sockets, states %s"
              % (sum(want.values()), sorted(states)))
    finally:
        socks.close()


if __name__ == "__main__":
    main(test)
