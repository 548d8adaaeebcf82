#!/usr/bin/env python3
"""test_engines - --io-engine syscall and uring report the same sockets.

The test holds sockets of its own on 127.0.0.1 and ::1 (a listener, an
established pair that moved known byte counts, a TIME_WAIT socket, per
family) and runs `tcpscope --once --netns host` through every engine
variant: syscall (and the default), uring, uring with the single-shot
recvmsg fallback (TCPSCOPE_URING_NO_MULTISHOT=1), uring with one receive
buffer and one completion per batch (alone and with the fallback) and
with the largest batches (4096), and auto. Each run must exit 0 with one
clean summary line that matches its output, and report each of the
test's sockets exactly once, with the same
(family, addresses, ports, state, inode, bytes_acked, bytes_received) as
the syscall engine (and the values the test knows), and the same JSON keys.
Other sockets of the host may come and go: only the test's are compared.
Then with a few thousand sockets of its own (half-closed connections:
FIN_WAIT_2 + CLOSE_WAIT, states a load generator does not produce), dumps
that take many netlink datagrams report all of them through every engine.
Also: bad --io-engine / --uring-* values exit 2 with one line naming the
value; with io_uring_setup refused by seccomp (EPERM, ENOSYS; helper
$TCPSCOPE_SECCOMP_DENY), `--io-engine uring` exits 1 saying why and
`--io-engine auto` says once that it uses syscalls and still reports the
sockets (the default engine never touches io_uring); the same when only
the real ring is refused and the small probe ring works (EPERM:16);
`--io-engine uring --workers 2 --count 3 --interval 100ms` works;
with strace at hand, the fallback knob and auto are checked to do what
they say (no provided buffer ring / a ring set up).
"""
import json
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from livelib import (Fail, Skip, SocketKeeper, check, have_ipv6_loopback,
                     main, names, own_netns_inode, require,
                     tcpscope_bin)
from test_live_sockets import ALWAYS_KEYS, STATE_NUM, send_all_recv_all

C2S = 12345  # client -> server bytes
S2C = 54321  # server -> client bytes
NO_MS = {"TCPSCOPE_URING_NO_MULTISHOT": "1"}
B1 = ["--uring-recv-batch", "1", "--uring-cqe-batch", "1"]

# (label, args, extra environment)
ENGINES = [
    ("syscall", ["--io-engine", "syscall"], {}),
    ("default", [], {}),
    ("uring", ["--io-engine", "uring"], {}),
    ("uring single-shot", ["--io-engine", "uring"], NO_MS),
    ("uring batch 1", ["--io-engine", "uring"] + B1, {}),
    ("uring single-shot batch 1", ["--io-engine", "uring"] + B1, NO_MS),
    ("uring batch 4096", ["--io-engine", "uring", "--uring-recv-batch",
                          "4096", "--uring-cqe-batch", "4096"], {}),
    ("auto", ["--io-engine", "auto"], {}),
]

SUMMARY = re.compile(
    r"tcpscope: poll (\d+): (\d+) sockets in [0-9.]+ ms; namespaces (\d+) "
    r"\(\+\d+ -\d+, (\d+) failed, \d+ skipped, \d+ over --netns-max, reconcile [0-9.]+ ms\); (\d+) dumps "
    r"\((\d+) failed, (\d+) inconsistent\), (\d+) datagrams, (\d+) unknown "
    r"attributes(?:; ring: (?P<enters>\d+) enters, (?P<busy>\d+) refused "
    r"\(full\), (?P<bad>\d+) bad completions)?(.*)$")
FALLBACK = "io_uring not used"

_RE_COUNTER = re.compile(r'"record_counter":(\d+)[,}]')
_RE_SEQ = re.compile(r'"poll_seq":(\d+)[,}]')
_RE_SPORT = re.compile(r'"inet_diag_msg_socket_source_port":(\d+)[,}]')
_RE_DPORT = re.compile(r'"inet_diag_msg_socket_destination_port":(\d+)[,}]')


def env_with(extra):
    env = dict(os.environ)
    # the knob takes effect whatever its value: absent unless asked for
    env.pop("TCPSCOPE_URING_NO_MULTISHOT", None)
    env.update(extra)
    return env


class Run:
    """One tcpscope run: stdout streamed from a file (the host may hold
    100k sockets), every line checked to be one JSON object with
    record_counter 1..N in order; lines of sockets with a port in `ports`
    are decoded (and every 101st, as a JSON check)."""

    def __init__(self, what, args, extra_env=None, ports=(), prefix=(),
                 timeout=120):
        self.what = what
        cmd = list(prefix) + [tcpscope_bin()] + list(args)
        with tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            try:
                p = subprocess.run(cmd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL,
                                   env=env_with(extra_env or {}),
                                   timeout=timeout)
            except subprocess.TimeoutExpired:
                raise Fail("%s: did not finish within %ss" % (what, timeout))
            self.rc = p.returncode
            err.seek(0)
            self.err = err.read().decode("utf-8", "replace")
            # the engine in use: uring asked for (or auto) and no fallback
            eng = args[args.index("--io-engine") + 1] \
                if "--io-engine" in args else "syscall"
            self.uring = eng in ("uring", "auto") and FALLBACK not in self.err
            out.seek(0)
            self._parse(out, set(ports))

    def _parse(self, f, ports):
        self.n = 0
        self.seqs = {}  # poll_seq -> number of records
        self.recs = []
        last = b"\n"
        for raw in f:
            last = raw
            self.n += 1
            line = raw.decode("utf-8", "replace").rstrip("\n")
            where = "%s: stdout line %d" % (self.what, self.n)
            if not (line.startswith("{") and line.endswith("}")):
                raise Fail("%s is not a JSON object: %r" % (where,
                                                            line[:300]))
            m = _RE_COUNTER.search(line)
            if not m or int(m.group(1)) != self.n:
                raise Fail("%s: record_counter %s, expected %d (lost, "
                           "duplicated or mixed-up lines?): %r"
                           % (where, m and m.group(1), self.n, line[:300]))
            m = _RE_SEQ.search(line)
            require(m, "%s lacks poll_seq" % where)
            seq = int(m.group(1))
            self.seqs[seq] = self.seqs.get(seq, 0) + 1
            sp, dp = _RE_SPORT.search(line), _RE_DPORT.search(line)
            require(sp and dp, "%s lacks ports: %r" % (where, line[:300]))
            if int(sp.group(1)) in ports or int(dp.group(1)) in ports or \
                    self.n % 101 == 0:
                try:
                    d = json.loads(line)
                except ValueError as e:
                    raise Fail("%s is not valid JSON (%s): %r"
                               % (where, e, line[:300]))
                require(isinstance(d, dict), "%s is not an object" % where)
                if int(sp.group(1)) in ports or int(dp.group(1)) in ports:
                    self.recs.append(d)
        if not last.endswith(b"\n"):
            raise Fail("%s: stdout does not end with a newline" % self.what)

    def summaries(self, polls=1):
        """Checks stderr is `polls` clean summary lines (nothing else)
        matching the output; returns their regex matches."""
        lines = self.err.splitlines()
        check(self.err.endswith("\n") or not self.err,
              "%s: stderr does not end with a newline" % self.what)
        if not check(len(lines) == polls,
                     "%s: %d stderr lines, expected %d summaries: %r"
                     % (self.what, len(lines), polls, lines[:5])):
            return []
        ms = []
        sent = 0  # the destination counters add up over the polls
        for i, line in enumerate(lines, 1):
            m = SUMMARY.match(line)
            if not check(m, "%s: summary %d malformed: %r"
                         % (self.what, i, line)):
                continue
            ms.append(m)
            n = int(m.group(2))
            check(int(m.group(1)) == i, "%s: summary %d says poll %s"
                  % (self.what, i, m.group(1)))
            check(n == self.seqs.get(i, 0),
                  "%s: poll %d: summary says %d sockets, stdout has %d"
                  % (self.what, i, n, self.seqs.get(i, 0)))
            check(m.group(4) == "0" and m.group(6) == "0",
                  "%s: poll %d: failed namespaces/dumps: %r"
                  % (self.what, i, line))
            # the ring's counters are shown when the uring engine runs
            uring = (m.group("enters") is not None)
            check(uring == self.uring,
                  "%s: poll %d: ring counters %s: %r" % (
                      self.what, i, "shown" if uring else "missing", line))
            check(not uring or (int(m.group("enters")) > 0 and
                                m.group("bad") == "0"),
                  "%s: poll %d: ring counters: %r" % (self.what, i, line))
            sent += self.seqs.get(i, 0)
            check(m.group(13) == "; stdout: %d sent, 0 dropped (0 oversize)"
                  ", 0 errors" % sent, "%s: poll %d: errors, drops or a "
                  "wrong count sent (%d records so far): %r"
                  % (self.what, i, sent, line))
        check(sorted(self.seqs) == list(range(1, len(self.seqs) + 1)) and
              len(self.seqs) <= polls,
              "%s: poll_seq values %r" % (self.what, sorted(self.seqs)))
        return ms


def ok_run(what, args, extra_env=None, ports=(), polls=1, prefix=()):
    r = Run(what, args, extra_env, ports, prefix)
    require(r.rc == 0, "%s: exit %d: %s" % (what, r.rc, r.err.strip()[-500:]))
    r.ms = r.summaries(polls)
    return r


# ----------------------------------------------------------- our sockets

class Sock:
    def __init__(self, name, family, local, remote, state, sock=None,
                 acked=None, received=None):
        self.name = name
        self.key = (family,) + tuple(local) + tuple(remote)
        self.state = state
        self.sock = sock
        self.acked = acked
        self.received = received


class World(SocketKeeper):
    def __init__(self):
        super().__init__()
        self.expects = []
        self.endpoints = set()  # (family, addr, port) of our listeners
        self.created = time.monotonic()

    def family(self, af, host):
        fam = int(af)
        tag = "v4" if af == socket.AF_INET else "v6"
        any_ = "0.0.0.0" if af == socket.AF_INET else "::"
        lis = self.keep(socket.socket(af, socket.SOCK_STREAM))
        lis.bind((host, 0))
        lis.listen(16)
        lport = lis.getsockname()[1]
        self.endpoints.add((fam, host, lport))
        self.expects.append(Sock(tag + " listener", fam, (host, lport),
                                 (any_, 0), "listen", lis, 0, 0))
        cli = self.keep(socket.create_connection((host, lport)))
        srv = self.keep(lis.accept()[0])
        send_all_recv_all(cli, srv, C2S)
        send_all_recv_all(srv, cli, S2C)
        cl = cli.getsockname()[:2]
        # the client's bytes_acked counts its SYN (see test_live_sockets)
        self.expects.append(Sock(tag + " client", fam, cl, (host, lport),
                                 "established", cli, C2S + 1, S2C))
        self.expects.append(Sock(tag + " server", fam, (host, lport), cl,
                                 "established", srv, S2C, C2S))
        c2 = socket.create_connection((host, lport))
        s2 = lis.accept()[0]
        send_all_recv_all(c2, s2, 100)
        tw = c2.getsockname()[:2]
        c2.close()
        require(s2.recv(10) == b"", "server side did not see the FIN")
        s2.close()
        self.expects.append(Sock(tag + " time-wait", fam, tw, (host, lport),
                                 "time-wait"))

    def ports(self):
        return {e[2] for e in self.endpoints}

    def tw_gone(self):
        """TIME_WAIT lasts 60 s: past 50 s its absence is no bug."""
        return time.monotonic() - self.created > 50

    def wanted(self):
        return [e for e in self.expects
                if not (e.state == "time-wait" and self.tw_gone())]


def key_of(d):
    return (d.get("inet_diag_msg_family"),
            d.get("inet_diag_msg_socket_source"),
            d.get("inet_diag_msg_socket_source_port"),
            d.get("inet_diag_msg_socket_destination"),
            d.get("inet_diag_msg_socket_destination_port"))


def projection(d):
    return (d.get("inet_diag_msg_state_name"), d.get("inet_diag_msg_inode"),
            d.get("tcp_info_bytes_acked"), d.get("tcp_info_bytes_received"))


def ours(w, recs):
    """{key: [records]} of our namespace's records that are ours: on one
    of our listeners' address+port, at either end."""
    own = own_netns_inode()
    got = {}
    for d in recs:
        if d.get("netns_inode") != own:
            continue
        k = key_of(d)
        if (k[0], k[1], k[2]) in w.endpoints or \
                (k[0], k[3], k[4]) in w.endpoints:
            got.setdefault(k, []).append(d)
    return got


def check_world(w, run, reference=None):
    """Every socket of ours once, as the test knows it; equal to the
    reference run's records (projection and JSON keys)."""
    got = ours(w, run.recs)
    want = {e.key: e for e in w.wanted()}
    extra = sorted(set(got) - {e.key for e in w.expects})
    check(not extra, "%s: records on our ports that are not our sockets: %r"
          % (run.what, extra))
    for k, e in want.items():
        found = got.get(k, [])
        if not check(len(found) == 1, "%s: %s %r found %d times"
                     % (run.what, e.name, k, len(found))):
            continue
        d = found[0]
        missing = [x for x in ALWAYS_KEYS + ["netns", "netns_inode"]
                   if x not in d]
        check(not missing, "%s: %s lacks %s" % (run.what, e.name, missing))
        check(d.get("netns") == "host", "%s: %s labelled netns %r"
              % (run.what, e.name, d.get("netns")))
        check(d.get("poll_seq") == 1, "%s: %s poll_seq %r"
              % (run.what, e.name, d.get("poll_seq")))
        check(d.get("inet_diag_msg_state") == STATE_NUM[e.state] and
              d.get("inet_diag_msg_state_name") == e.state,
              "%s: %s state %r/%r, expected %s"
              % (run.what, e.name, d.get("inet_diag_msg_state"),
                 d.get("inet_diag_msg_state_name"), e.state))
        ino = os.fstat(e.sock.fileno()).st_ino if e.sock else 0
        check(d.get("inet_diag_msg_inode") == ino, "%s: %s inode %r, "
              "expected %d" % (run.what, e.name,
                               d.get("inet_diag_msg_inode"), ino))
        if e.sock:
            check(d.get("tcp_info_state") == STATE_NUM[e.state],
                  "%s: %s tcp_info_state %r" % (run.what, e.name,
                                                d.get("tcp_info_state")))
            for key, v in (("tcp_info_bytes_acked", e.acked),
                           ("tcp_info_bytes_received", e.received)):
                check(d.get(key) == v, "%s: %s %s = %r, expected %d"
                      % (run.what, e.name, key, d.get(key), v))
        else:
            check("tcp_info_size" not in d, "%s: %s has tcp_info"
                  % (run.what, e.name))
    if reference is None:
        return
    ref = ours(w, reference.recs)
    for k in want:
        a, b = got.get(k, []), ref.get(k, [])
        if len(a) != 1 or len(b) != 1:
            continue  # reported above
        check(projection(a[0]) == projection(b[0]),
              "%s: %s: (state, inode, bytes_acked, bytes_received) %r, "
              "%s says %r" % (run.what, want[k].name, projection(a[0]),
                              reference.what, projection(b[0])))
        ka, kb = set(a[0]), set(b[0])
        check(ka == kb, "%s: %s: JSON keys differ from %s: only here %s, "
              "only there %s" % (run.what, want[k].name, reference.what,
                                 sorted(ka - kb), sorted(kb - ka)))


def settled(w, run):
    got = ours(w, run.recs)
    for e in w.wanted():
        found = got.get(e.key, [])
        if len(found) != 1:
            return False
        if e.sock and projection(found[0])[2:] != (e.acked, e.received):
            return False
    return True


def check_engines(w):
    # two walks: the dump count per namespace is what is compared here
    base = ["--once", "--netns", "host", "--walk", "two"]
    deadline = time.monotonic() + 2.5
    while True:  # ACKs may still be in flight
        ref = ok_run("syscall", base + ["--io-engine", "syscall"],
                     ports=w.ports())
        if settled(w, ref) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check_world(w, ref)
    print("syscall: %d records, %d datagrams" % (ref.n, int(ref.ms[0].group(8))
                                                 if ref.ms else -1))
    for label, args, extra in ENGINES[1:]:
        r = ok_run(label, base + args, extra, ports=w.ports())
        check_world(w, r, ref)
        if r.ms:
            m = r.ms[0]
            check(m.group(3) == "1" and m.group(5) == "2",
                  "%s: --netns host: %s namespaces, %s dumps (expected 1, "
                  "2)" % (label, m.group(3), m.group(5)))
            print("%s: %d records, %s datagrams" % (label, r.n, m.group(8)))
    if w.tw_gone():
        print("NOTE: the dumps outlasted TIME_WAIT (60 s): time-wait "
              "sockets were not compared in the later runs")
    return ref


# ------------------------------------------------------ many sockets

def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, want)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


class RstKeeper(SocketKeeper):
    """Closes with RST (SO_LINGER 0): thousands of connections leave no
    TIME_WAIT behind for the host's other tests to dump."""

    def close(self):
        for s in self.socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            except OSError:
                pass
        super().close()


def half_closed(keeper, af, host, n):
    """n connections to one listener, half-closed by the client: n
    FIN_WAIT_2 clients and n CLOSE_WAIT servers. Returns the set of
    (state, sport, dport) and the listener's port."""
    lis = keeper.keep(socket.socket(af, socket.SOCK_STREAM))
    lis.bind((host, 0))
    lis.listen(128)
    lport = lis.getsockname()[1]
    want = set()
    for _ in range(n):
        c = keeper.keep(socket.create_connection((host, lport)))
        keeper.keep(lis.accept()[0])
        c.shutdown(socket.SHUT_WR)
        cp = c.getsockname()[1]
        want.add((int(af), "fin-wait-2", cp, lport))
        want.add((int(af), "close-wait", lport, cp))
    return want, lport


def ours_many(r, lports):
    """(family, state, sport, dport) of r's records on our listeners."""
    got = []
    for d in r.recs:
        f = d.get("inet_diag_msg_family")
        if d.get("netns_inode") != own_netns_inode():
            continue
        if (f, d.get("inet_diag_msg_socket_source"),
                d.get("inet_diag_msg_socket_source_port")) in lports or \
                (f, d.get("inet_diag_msg_socket_destination"),
                 d.get("inet_diag_msg_socket_destination_port")) in lports:
            got.append((f, d.get("inet_diag_msg_state_name"),
                        d.get("inet_diag_msg_socket_source_port"),
                        d.get("inet_diag_msg_socket_destination_port")))
    return got


def check_many(have6):
    limit = raise_fd_limit(4000)
    per = min(1500 if have6 else 3000, (limit - 200) // (4 if have6 else 2))
    if per < 250:
        print("NOTE: fd limit %d: the many-sockets part is skipped" % limit)
        return False
    k = RstKeeper()
    try:
        want, lports = half_closed(k, socket.AF_INET, "127.0.0.1", per)
        lports = {(2, "127.0.0.1", lports)}
        if have6:
            w6, p6 = half_closed(k, socket.AF_INET6, "::1", per)
            want |= w6
            lports.add((10, "::1", p6))
        ports = {p for _, _, p in lports}
        args = ["--once", "--netns", "host", "--states",
                "fin-wait-2,close-wait"]
        first = None
        # the first (syscall) dump again until the FINs' ACKs are in: the
        # clients are in FIN_WAIT_1 until then
        deadline = time.monotonic() + 5
        for label, eargs, extra in ENGINES:
            while True:
                r = ok_run(label + " (%d sockets)" % len(want), args + eargs,
                           extra, ports=ports)
                got = ours_many(r, lports)
                if first is not None or set(got) == want or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            dg = int(r.ms[0].group(8)) if r.ms else 0
            print("%s: %d of our sockets (%d expected), %d records, %d "
                  "datagrams" % (r.what, len(got), len(want), r.n, dg))
            check(len(got) == len(set(got)), "%s: %d of our sockets "
                  "reported twice" % (r.what, len(got) - len(set(got))))
            check(set(got) == want, "%s: %d of our sockets missing, %d "
                  "unexpected (e.g. %r)"
                  % (r.what, len(want - set(got)), len(set(got) - want),
                     sorted(want - set(got))[:3]))
            # at most ~32 KiB per datagram: thousands of records take many
            check(dg >= 10 and dg >= r.n // 200,
                  "%s: %d records in only %d datagrams?" % (r.what, r.n, dg))
            if first is None:
                first = (r.what, len(got))
            check(len(got) == first[1], "%s: %d of our sockets, %s: %d"
                  % (r.what, len(got), first[0], first[1]))
        return True
    finally:
        k.close()


# ------------------------------------------------------------- options

BAD = [
    (["--io-engine", "bogus"], "bogus"),
    (["--io-engine", "URING"], "URING"),
    (["--io-engine", ""], "''"),
    (["--uring-recv-batch", "0"], "0"),
    (["--uring-recv-batch", "4097"], "4097"),
    (["--uring-recv-batch", "-1"], "-1"),
    (["--uring-recv-batch", "abc"], "abc"),
    (["--uring-cqe-batch", "5000"], "5000"),
    (["--uring-cqe-batch", "0"], "0"),
    (["--uring-cqe-batch", "12x"], "12x"),
]


def check_bad_values():
    for args, value in BAD:
        for extra in ([], ["--once", "--netns", "host"]):
            what = "tcpscope %s" % " ".join(args + extra)
            r = subprocess.run([tcpscope_bin()] + args + extra,
                               capture_output=True, timeout=30,
                               env=env_with({}))
            err = r.stderr.decode("utf-8", "replace")
            check(r.returncode == 2, "%s: exit %d, expected 2"
                  % (what, r.returncode))
            check(r.stdout == b"", "%s: wrote to stdout: %r"
                  % (what, r.stdout[:200]))
            check(len(err.splitlines()) == 1 and err.endswith("\n"),
                  "%s: expected one stderr line, got %r" % (what, err))
            check(names(err, value), "%s: stderr does not name %s: %r"
                  % (what, value, err))
            opt = args[0]
            check(opt in err or opt[2:] in err, "%s: stderr does not name "
                  "the option: %r" % (what, err))


# ------------------------------------------------------------- seccomp

HINT_WORDS = {"EPERM": "io_uring is disabled", "ENOSYS": "seccomp"}


def check_seccomp(w, ref):
    helper = os.environ.get("TCPSCOPE_SECCOMP_DENY")
    if not helper or not os.access(helper, os.X_OK):
        return "TCPSCOPE_SECCOMP_DENY is not set to the built helper " \
               "(run through meson test)"
    import errno as errno_mod
    for name in ("EPERM", "ENOSYS"):
        print("io_uring_setup refused with %s (seccomp)" % name)
        err_text = os.strerror(getattr(errno_mod, name))
        prefix = [helper, name]

        # uring: refused at start-up, exit 1, one line saying why
        r = subprocess.run(prefix + [tcpscope_bin(), "--io-engine", "uring",
                                     "--once", "--netns", "host"],
                           capture_output=True, timeout=30, env=env_with({}))
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode == 126 and err.startswith("seccomp_deny: cannot"):
            return err.strip()
        what = "seccomp %s: --io-engine uring --once" % name
        check(r.returncode == 1, "%s: exit %d, expected 1 (stderr %r)"
              % (what, r.returncode, err))
        check(r.stdout == b"", "%s: wrote to stdout: %r"
              % (what, r.stdout[:200]))
        lines = err.splitlines()
        want = "tcpscope: --io-engine uring: io_uring_setup failed: %s: " \
            % err_text
        check(len(lines) == 1 and lines[0].startswith(want) and
              len(lines[0]) > len(want) + 10,
              "%s: expected one line %r + a hint, got %r" % (what, want, err))
        check(HINT_WORDS[name] in err, "%s: the hint does not say %r: %r"
              % (what, HINT_WORDS[name], err))

        # auto: one line saying so, then the syscall engine's records
        what = "seccomp %s: --io-engine auto --once" % name
        r = Run(what, ["--io-engine", "auto", "--once", "--netns", "host"],
                ports=w.ports(), prefix=prefix)
        lines = r.err.splitlines()
        note = [ln for ln in lines if FALLBACK in ln]
        check(r.rc == 0, "%s: exit %d: %r" % (what, r.rc, r.err[-500:]))
        check(len(note) == 1, "%s: %d %r lines: %r"
              % (what, len(note), FALLBACK, lines[:5]))
        if note:
            check(re.fullmatch(r"tcpscope: io_uring not used \(io_uring_setup"
                               r" failed: %s: .+\); using syscalls"
                               % re.escape(err_text), note[0])
                  and HINT_WORDS[name] in note[0],
                  "%s: unexpected fallback line %r" % (what, note[0]))
            check(lines and lines[0] == note[0],
                  "%s: the fallback line is not the first line: %r"
                  % (what, lines[:3]))
        r.err = "".join(ln + "\n" for ln in lines if FALLBACK not in ln)
        if r.rc == 0:
            r.ms = r.summaries(1)
            check_world(w, r, ref)

        # the default engine never touches io_uring
        what = "seccomp %s: default engine" % name
        r = Run(what, ["--once", "--netns", "host"], ports=w.ports(),
                prefix=prefix)
        check(r.rc == 0 and FALLBACK not in r.err,
              "%s: exit %d, stderr %r" % (what, r.rc, r.err[-500:]))
        if r.rc == 0:
            r.summaries(1)
            check_world(w, r, ref)
    check_ring_refused(w, helper, ref)
    return None


def check_ring_refused(w, helper, ref):
    """The probe's small ring works but the real one is refused (as with a
    tight RLIMIT_MEMLOCK before 5.12): uring exits 1 saying why, auto still
    falls back to syscalls and reports the sockets."""
    prefix = [helper, "EPERM:16"]
    err_text = os.strerror(1)
    print("io_uring_setup refused for rings of 16 entries or more")
    what = "rings >= 16 entries refused: --io-engine uring --once"
    r = subprocess.run(prefix + [tcpscope_bin(), "--io-engine", "uring",
                                 "--once", "--netns", "host"],
                       capture_output=True, timeout=30, env=env_with({}))
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == 1, "%s: exit %d, expected 1 (stderr %r)"
          % (what, r.returncode, err))
    check(r.stdout == b"", "%s: wrote to stdout: %r" % (what, r.stdout[:200]))
    check("io_uring_setup failed: %s: " % err_text in err and
          HINT_WORDS["EPERM"] in err, "%s: stderr does not say why: %r"
          % (what, err))

    what = "rings >= 16 entries refused: --io-engine auto --once"
    r = Run(what, ["--io-engine", "auto", "--once", "--netns", "host"],
            ports=w.ports(), prefix=prefix)
    lines = r.err.splitlines()
    note = [ln for ln in lines if FALLBACK in ln]
    if not check(r.rc == 0 and len(note) == 1,
                 "%s: exit %d (expected 0), %d %r lines (expected 1): %r"
                 % (what, r.rc, len(note), FALLBACK, lines[:5])):
        return
    check(note[0].endswith("; using syscalls") and
          "Operation not permitted" in note[0],
          "%s: unexpected fallback line %r" % (what, note[0]))
    r.err = "".join(ln + "\n" for ln in lines if FALLBACK not in ln)
    r.summaries(1)
    check_world(w, r, ref)


def check_buffers_refused(w, ref):
    """The probe passes but the real ring's buffers cannot be mapped
    (address space limit; 4096 receive buffers are 128 MiB): uring exits 1
    saying so, auto falls back to syscalls at start-up with one line."""
    with open(tcpscope_bin(), "rb") as f:
        if b"__asan_init" in f.read():
            print("NOTE: ASan build: an address-space limit stops ASan "
                  "itself; the buffers check runs in the plain build")
            return
    prefix = ["bash", "-c", 'ulimit -v 100000 && exec "$@"', "limit"]
    big = ["--uring-recv-batch", "4096", "--once", "--netns", "host"]
    what = "no room for the ring's buffers: --io-engine uring"
    r = subprocess.run(prefix + [tcpscope_bin(), "--io-engine", "uring"] +
                       big, capture_output=True, timeout=30,
                       env=env_with({}))
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == 1 and err.count("\n") == 1 and
          err.startswith("tcpscope: --io-engine uring: io_uring buffers: "),
          "%s: exit %d, stderr %r" % (what, r.returncode, err))
    what = "no room for the ring's buffers: --io-engine auto"
    r = Run(what, ["--io-engine", "auto"] + big, ports=w.ports(),
            prefix=prefix)
    lines = r.err.splitlines()
    note = [ln for ln in lines if FALLBACK in ln]
    if not check(r.rc == 0 and len(note) == 1 and "buffers" in note[0],
                 "%s: exit %d, fallback lines %r" % (what, r.rc, lines[:5])):
        return
    r.err = "".join(ln + "\n" for ln in lines if FALLBACK not in ln)
    r.summaries(1)
    check_world(w, r, ref)


# ------------------------------------------------------------- workers

def check_workers(w):
    what = "--io-engine uring --workers 2 --count 3 --interval 100ms"
    t0 = time.monotonic()
    r = ok_run(what, ["--io-engine", "uring", "--workers", "2", "--count",
                      "3", "--interval", "100ms", "--netns", "host"],
               ports=w.ports(), polls=3)
    took = time.monotonic() - t0
    check(took >= 0.19, "%s: 3 polls took only %.2fs" % (what, took))
    check(sorted(r.seqs) == [1, 2, 3], "%s: poll_seq values %r"
          % (what, sorted(r.seqs)))
    for seq in (1, 2, 3):
        got = ours(w, [d for d in r.recs if d.get("poll_seq") == seq])
        for e in w.wanted():
            check(len(got.get(e.key, [])) == 1, "%s: poll %d: %s found %d "
                  "times" % (what, seq, e.name, len(got.get(e.key, []))))
            if e.sock and len(got.get(e.key, [])) == 1:
                d = got[e.key][0]
                check(projection(d) == (e.state, os.fstat(
                    e.sock.fileno()).st_ino, e.acked, e.received),
                      "%s: poll %d: %s: %r" % (what, seq, e.name,
                                               projection(d)))


# -------------------------------------------------------------- strace

def strace_calls(args, extra_env):
    """io_uring syscalls of a tcpscope run under strace, or None when
    strace cannot run here."""
    if shutil.which("strace") is None:
        return None
    env = env_with(extra_env)
    # LeakSanitizer aborts under ptrace (see test_netns_scan)
    env["ASAN_OPTIONS"] = ":".join(
        [o for o in env.get("ASAN_OPTIONS", "").split(":")
         if o and not o.startswith("detect_leaks=")] + ["detect_leaks=0"])
    with tempfile.NamedTemporaryFile(prefix="tcpscope-strace-") as t:
        p = subprocess.run(["strace", "-f", "-qq", "-e",
                            "trace=io_uring_setup,io_uring_register", "-o",
                            t.name, tcpscope_bin(), "--once", "--quiet",
                            "--netns", "host", "--states", "listen",
                            "--dest", "null"] + args,
                           capture_output=True, timeout=60, env=env)
        if p.returncode != 0:
            print("NOTE: strace %s: exit %d: %s" % (" ".join(args),
                  p.returncode, p.stderr.decode(errors="replace")[-300:]))
            return None
        with open(t.name) as f:
            text = f.read()
    return {
        "setup": len(re.findall(r"io_uring_setup\(", text)),
        "pbuf": len(re.findall(r"io_uring_register\(\d+, "
                               r"(?:IORING_REGISTER_PBUF_RING|22),", text)),
    }


def check_knobs():
    """The engine the options and the knob select is the one that runs."""
    runs = {
        "syscall": ([], {}),
        "uring": (["--io-engine", "uring"], {}),
        "uring single-shot": (["--io-engine", "uring"], NO_MS),
        "uring, knob 0": (["--io-engine", "uring"],
                          {"TCPSCOPE_URING_NO_MULTISHOT": "0"}),
        "auto": (["--io-engine", "auto"], {}),
    }
    res = {}
    for label, (args, extra) in runs.items():
        res[label] = strace_calls(args, extra)
        if res[label] is None:
            return "strace is not usable here"
    print("io_uring calls under strace: %r" % res)
    check(res["syscall"]["setup"] == 0, "the syscall engine called "
          "io_uring_setup %d times" % res["syscall"]["setup"])
    check(res["uring"]["setup"] >= 1 and res["uring"]["pbuf"] >= 1,
          "--io-engine uring registered no provided buffer ring (multishot "
          "receives not used?): %r" % res["uring"])
    check(res["uring single-shot"]["setup"] >= 1 and
          res["uring single-shot"]["pbuf"] == 0,
          "TCPSCOPE_URING_NO_MULTISHOT=1 still registered a provided "
          "buffer ring: %r" % res["uring single-shot"])
    check(res["uring, knob 0"] == res["uring"],
          "TCPSCOPE_URING_NO_MULTISHOT=0 did not leave multishot on: %r"
          % res["uring, knob 0"])
    check(res["auto"] == res["uring"], "--io-engine auto (io_uring works "
          "here) did not set up the ring as uring does: %r vs %r"
          % (res["auto"], res["uring"]))
    return None


def skip_unless_failed(why):
    """A required part cannot run here: meson's "skipped" (77), unless
    something already failed (then the failure must show)."""
    from livelib import _failures
    if not _failures:
        raise Skip(why)
    print("NOTE: %s" % why)


def test():
    tcpscope_bin()
    have6 = have_ipv6_loopback()
    # io_uring must work here for the comparisons to mean anything
    probe = Run("probe", ["--io-engine", "uring", "--once", "--netns",
                          "host", "--states", "listen", "--dest", "null"])
    if probe.rc != 0:
        check_bad_values()
        skip_unless_failed("io_uring is not usable here: %s"
                           % probe.err.strip())
        return
    w = World()
    notes, skips = [], []
    try:
        w.family(socket.AF_INET, "127.0.0.1")
        if have6:
            w.family(socket.AF_INET6, "::1")
        else:
            notes.append("no IPv6 loopback: IPv4 sockets only")
        check_bad_values()
        ref = check_engines(w)
        why = check_seccomp(w, ref)
        if why:
            skips.append("the seccomp part cannot run: %s" % why)
        check_buffers_refused(w, ref)
        check_workers(w)
        why = check_knobs()
        if why:
            notes.append("engine selection not verified: %s" % why)
    finally:
        w.close()
    if not check_many(have6):
        skips.append("the many-sockets part cannot run (fd limit)")
    for n in notes:
        print("NOTE: " + n)
    if skips:
        skip_unless_failed("; ".join(skips) + " (the rest passed)")


if __name__ == "__main__":
    main(test)
