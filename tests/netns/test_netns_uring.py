#!/usr/bin/env python3
"""test_netns_uring: the io_uring engine over many network namespaces.

Part 1: 70 named namespaces (more than the 64 dumps a poll thread keeps in
flight, so the engine refills as dumps end), each holding sockets the test
made in it: a listener and an established pair that moved a known number
of bytes (IPv4), a listener alone (IPv6 where available), or a socket
connected to itself. `tcpscope --once --netns <the 70 names>` through the
syscall engine and through every uring variant (multishot, the
single-shot fallback TCPSCOPE_URING_NO_MULTISHOT=1, one receive buffer
and one completion per batch, alone and with the fallback, --workers 2
and 3) must report every namespace's sockets exactly once, labelled with
the namespace's name and inode, with identical records (addresses, ports,
state, inode, bytes_acked, bytes_received, JSON keys), and a clean
summary (70 namespaces, 70 dumps with one walk, the default where the
kernel serves it, 140 with --walk two; none failed). The default
selection (all namespaces, the host's too) gives the same records for
ours.
Part 2: a long-running `--io-engine uring --interval 200ms` (then the
single-shot fallback with --workers 2) while 20 cycles add 2 namespaces
(one with a listener) and delete the 2 oldest between polls: every poll
reconciled after a change reports exactly the live namespaces' listeners
and nothing of the deleted ones, the summary counts the namespaces, no
summary line has a failure, and the daemon's fd and thread counts are the
same after the churn as before (vanished namespaces' sockets and fds are
closed); SIGTERM ends it with status 0.
Part 3: 520 empty namespaces, more than the ring's in-flight table (512
requests) could hold at one send and one receive each: with one walk
their dumps are short and many end per batch of completions, which once
filled the table with the receives and cancels of ended dumps (85 dumps
of 500 failed with EBUSY). Multishot and single-shot, --once and 3 polls:
every summary clean, one dump per namespace, nothing refused.
Runs isolated (nslib.isolate): a pid namespace and a private /run/netns.
"""
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (PREFIX, Pairs, Tail, alive, at_cleanup, check,  # noqa: E402
                   check_ns_fields, fail, in_netns, kill_proc, light_records,
                   lo_up_here, log, main, min_fds, ns_add, ns_del, ns_inode,
                   ns_path, step, tcpscope_bin, threads_of, tmpdir)

N = 70
BASE_PORT = 23000
NO_MS = {'TCPSCOPE_URING_NO_MULTISHOT': '1'}
B1 = ['--uring-recv-batch', '1', '--uring-cqe-batch', '1']

# (label, args, extra environment); the first is the reference
ENGINES = [
    ('syscall', ['--io-engine', 'syscall', '--walk', 'two'], {}),
    ('uring', ['--io-engine', 'uring'], {}),
    ('uring --walk two', ['--io-engine', 'uring', '--walk', 'two'], {}),
    ('uring single-shot', ['--io-engine', 'uring'], NO_MS),
    ('uring batch 1', ['--io-engine', 'uring'] + B1, {}),
    ('uring single-shot batch 1', ['--io-engine', 'uring'] + B1, NO_MS),
    ('uring --workers 3', ['--io-engine', 'uring', '--workers', '3'], {}),
    ('uring single-shot --workers 2 batch 1',
     ['--io-engine', 'uring', '--workers', '2'] + B1, NO_MS),
]

SUMMARY = re.compile(
    r'tcpscope: poll (\d+): (\d+) sockets in [0-9.]+ ms; namespaces (\d+) '
    r'\(\+\d+ -\d+, (\d+) failed, 0 skipped, 0 over --netns-max, '
    r'reconcile [0-9.]+ ms\); '
    r'(\d+) dumps '
    r'\((\d+) failed, (\d+) inconsistent\), (\d+) datagrams, (\d+) unknown '
    r'attributes(?:; ring: \d+ enters, 0 refused \(full\), 0 bad '
    r'completions)?; (?:stdout|file:\S+): \d+ sent, 0 dropped \(0 oversize\), '
    r'0 errors$')


WALKS = [2]  # dumps per namespace with --walk auto: one_walk_here()


def one_walk_here(binary):
    """Whether --walk auto means one dump per namespace here (the kernel
    serves the legacy request)."""
    p = subprocess.run([binary, '--once', '--netns', 'host', '--states',
                        'listen', '--walk', 'one', '--dest', 'null'],
                       capture_output=True, text=True, timeout=30,
                       env=env_with({}))
    if 'refuses the legacy dump' in p.stderr:
        log('note: the kernel refuses the one-walk dump: two walks')
        return False
    return True


def walks(args):
    return 2 if '--walk' in args and 'two' in args else WALKS[0]


def env_with(extra):
    env = dict(os.environ)
    env.pop('TCPSCOPE_URING_NO_MULTISHOT', None)  # any value disables
    env.update(extra)
    return env


def check_summary(line, what, namespaces=None, dumps=None):
    m = SUMMARY.match(line)
    check(m, '%s: summary line with an error or malformed: %r' % (what, line))
    check(m.group(4) == '0' and m.group(6) == '0',
          '%s: failed namespaces or dumps: %r' % (what, line))
    if namespaces is not None:
        check(int(m.group(3)) == namespaces, '%s: %s namespaces, expected '
              '%d: %r' % (what, m.group(3), namespaces, line))
    if dumps is not None:
        check(int(m.group(5)) == dumps, '%s: %s dumps, expected %d: %r'
              % (what, m.group(5), dumps, line))
    return m


def run(binary, what, args, extra, want, timeout=120):
    """tcpscope --once ARGS: exit 0, one clean summary line on stderr;
    returns (records as light_records(), the summary match)."""
    argv = [binary, '--once'] + list(args)
    t = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            p = subprocess.run(argv, stdout=out, stderr=err,
                               stdin=subprocess.DEVNULL,
                               env=env_with(extra), timeout=timeout)
        except subprocess.TimeoutExpired:
            fail('%s: not done within %d s' % (what, timeout))
        err.seek(0)
        etext = err.read().decode(errors='replace')
        check(p.returncode == 0, '%s: exit %d: %s' % (what, p.returncode,
                                                     etext[-2000:]))
        out.seek(0)
        recs, batch, n = [], [], 0
        for line in out:
            n += 1
            batch.append(line.decode())
            if len(batch) == 4096:
                recs += light_records(''.join(batch), want, what)
                batch = []
        recs += light_records(''.join(batch), want, what)
    check_ns_fields(recs)
    lines = etext.splitlines()
    check(len(lines) == 1, '%s: expected one summary line, got %r'
          % (what, lines[:5]))
    m = check_summary(lines[0], what)
    check(int(m.group(2)) == n, '%s: summary says %s sockets, stdout has %d'
          % (what, m.group(2), n))
    log('%s: %d records, %s namespaces, %s datagrams in %.2f s'
        % (what, n, m.group(3), m.group(8), time.monotonic() - t))
    return recs, m


# ---------------------------------------------------------------- part 1

def self_connected(path, port):
    """A TCP socket connected to itself (simultaneous open) in the
    namespace at path: one ESTABLISHED socket, source == destination."""
    with in_netns(path):
        lo_up_here()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
            s.connect(('127.0.0.1', port))
        except OSError:
            s.close()
            raise
    return s


def ipv6_in_netns(path):
    try:
        with in_netns(path):
            lo_up_here()
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            try:
                s.bind(('::1', 0))
            finally:
                s.close()
        return True
    except OSError:
        return False


def make_namespaces(names):
    """Sockets in every namespace; returns ({name: sorted expected
    (family, state, sport, dport, bytes_acked, bytes_received, inode)},
    the objects to close)."""
    expect, keep = {}, []
    v6 = ipv6_in_netns(ns_path(names[1]))
    if not v6:
        log('note: no IPv6 loopback in a new namespace: IPv4 only')
    for i, n in enumerate(names):
        port = BASE_PORT + i
        kind = i % 3
        if kind == 0:
            pr = Pairs(ns_path(n), port, 1)
            keep.append(pr)
            lis, cli, srv = pr.socks
            nbytes = 1000 + 37 * i
            cli.sendall(b'c' * nbytes)
            got = 0
            while got < nbytes:
                chunk = srv.recv(65536)
                check(chunk, 'namespace %s: peer closed early' % n)
                got += len(chunk)
            cp = pr.client_ports[0]
            ino = [os.fstat(s.fileno()).st_ino for s in pr.socks]
            # the client's bytes_acked counts its SYN (see
            # tests/live/test_live_sockets.py)
            expect[n] = sorted([
                (2, 'listen', port, 0, 0, 0, ino[0]),
                (2, 'established', cp, port, nbytes + 1, 0, ino[1]),
                (2, 'established', port, cp, 0, nbytes, ino[2])])
        elif kind == 1:
            fam = socket.AF_INET6 if v6 else socket.AF_INET
            pr = Pairs(ns_path(n), port, 0, family=fam)
            keep.append(pr)
            expect[n] = [(int(fam), 'listen', port, 0, 0, 0,
                          os.fstat(pr.socks[0].fileno()).st_ino)]
        else:
            s = self_connected(ns_path(n), port)
            keep.append(s)
            nbytes = 500 + i
            s.sendall(b's' * nbytes)
            got = 0
            while got < nbytes:
                chunk = s.recv(65536)
                check(chunk, 'namespace %s: self-connected socket closed'
                      % n)
                got += len(chunk)
            # sent to itself: acked (+ its SYN) and received
            expect[n] = [(2, 'established', port, port, nbytes + 1, nbytes,
                          os.fstat(s.fileno()).st_ino)]
    return expect, keep


def fields(r):
    return (r['inet_diag_msg_family'], r['inet_diag_msg_state_name'],
            r['inet_diag_msg_socket_source_port'],
            r['inet_diag_msg_socket_destination_port'],
            r.get('tcp_info_bytes_acked'), r.get('tcp_info_bytes_received'),
            r['inet_diag_msg_inode'])


def full_view(r):
    """What must be identical whatever the engine."""
    return (r['netns'], r['netns_inode'], r['inet_diag_msg_family'],
            r['inet_diag_msg_socket_source'],
            r['inet_diag_msg_socket_source_port'],
            r['inet_diag_msg_socket_destination'],
            r['inet_diag_msg_socket_destination_port'],
            r['inet_diag_msg_state_name'], r['inet_diag_msg_inode'],
            r.get('tcp_info_bytes_acked'), r.get('tcp_info_bytes_received'),
            tuple(sorted(r)))


def check_ours(what, recs, names, inode, expect):
    by_ino = {}
    for r in recs:
        if r['netns'].startswith(PREFIX) or r['netns_inode'] in inode.values():
            check('_light' not in r, '%s: record of %s not parsed'
                  % (what, r['netns']))
            by_ino.setdefault(r['netns_inode'], []).append(r)
    for n in names:
        got = by_ino.pop(inode[n], [])
        labels = sorted({r['netns'] for r in got})
        check(labels == [n], '%s: namespace %s (inode %d) labelled %s'
              % (what, n, inode[n], labels))
        check(sorted(fields(r) for r in got) == expect[n],
              '%s: namespace %s: sockets %s, expected each of %s once'
              % (what, n, sorted(fields(r) for r in got), expect[n]))
        for r in got:
            check(r['inet_diag_msg_socket_source'] in ('127.0.0.1', '::1'),
                  '%s: namespace %s: source address %r' % (
                      what, n, r['inet_diag_msg_socket_source']))
    check(not by_ino, '%s: records of unknown namespaces %s'
          % (what, sorted({r['netns'] for v in by_ino.values() for r in v})))
    return sorted(full_view(r) for r in recs
                  if r['netns_inode'] in inode.values())


def part1(binary):
    names = ['%su%02d' % (PREFIX, i) for i in range(N)]
    with step('create %d namespaces (ip -batch)' % N):
        ns_add(names)
    inode = {n: ns_inode(n) for n in names}
    check(len(set(inode.values())) == N, 'namespace inodes not distinct')
    with step('sockets in every namespace'):
        expect, keep = make_namespaces(names)
    for k in keep:
        at_cleanup(k.close)

    def want(ns, ino, line):
        return ns.startswith(PREFIX) or ino in inode.values()

    sel = ['--netns', ','.join(names)]
    ref = None
    for label, args, extra in ENGINES:
        recs, m = run(binary, label, sel + args, extra, want)
        check(int(m.group(3)) == N and int(m.group(5)) == walks(args) * N,
              '%s: %s namespaces, %s dumps; expected %d, %d'
              % (label, m.group(3), m.group(5), N, walks(args) * N))
        got = check_ours(label, recs, names, inode, expect)
        check(len(got) == sum(len(v) for v in expect.values()),
              '%s: %d records of ours' % (label, len(got)))
        if ref is None:
            ref = (label, got)
        elif got != ref[1]:
            diff = sorted(set(got) ^ set(ref[1]))
            fail('%s reports our namespaces differently from %s: %d '
                 'records differ, e.g. %s' % (label, ref[0], len(diff),
                                              diff[:2]))
    # the default selection: every namespace, the host's (maybe 100k
    # sockets of other jobs) too
    for label, args, extra in ENGINES[:3]:
        recs, m = run(binary, label + ' (all namespaces)', args, extra, want)
        got = check_ours(label + ' (all)', recs, names, inode, expect)
        check(got == ref[1], '%s (all namespaces): our namespaces differ '
              'from %s with --netns NAMES' % (label, ref[0]))
        check(int(m.group(3)) >= N + 1, '%s (all): only %s namespaces'
              % (label, m.group(3)))
    with step('delete the %d namespaces' % N):
        for k in keep:
            k.close()
        ns_del(names)


# ---------------------------------------------------------------- part 2

class Daemon:
    """tcpscope in the background; stderr lines through a queue."""

    def __init__(self, binary, args, extra):
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE,
                                  env=env_with(extra))
        at_cleanup(kill_proc, self.p)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._reader, daemon=True).start()
        log('started tcpscope pid %d: %s' % (self.p.pid, ' '.join(args)))

    def _reader(self):
        for line in self.p.stderr:
            self.q.put(line.decode(errors='replace').rstrip('\n'))
        self.q.put(None)

    def drain(self):
        """Lines available now (no wait)."""
        got = []
        while True:
            try:
                line = self.q.get_nowait()
            except queue.Empty:
                return got
            if line is None:
                fail('tcpscope exited (status %s); stderr: %s'
                     % (self.p.wait(), self.lines[-3:]))
            self.lines.append(line)
            got.append(line)

    def next_line(self, timeout):
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            fail('no summary line from tcpscope within %.0f s' % timeout)
        if line is None:
            fail('tcpscope exited (status %s); stderr: %s'
                 % (self.p.wait(), self.lines[-3:]))
        self.lines.append(line)
        return line

    def stop(self):
        """SIGTERM; returns (exit status, the stderr lines not read
        yet)."""
        self.p.send_signal(15)
        try:
            rc = self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            fail('tcpscope did not exit within 15 s of SIGTERM')
        rest = []
        while True:
            try:
                line = self.q.get(timeout=5)
            except queue.Empty:
                fail('stderr of tcpscope not closed after its exit')
            if line is None:
                return rc, rest
            self.lines.append(line)
            rest.append(line)


def poll_no(line):
    m = re.match(r'tcpscope: poll (\d+):', line)
    check(m, 'unexpected stderr line from tcpscope: %r' % line)
    return int(m.group(1))


def churn(binary, label, args, extra, cycles=20):
    d = tmpdir()
    out = os.path.join(d, 'out.jsonl')
    host = Pairs(None, 0, 0)
    at_cleanup(host.close)
    live = []      # [(name, Pairs or None)], oldest first
    port = [24000 + (0 if 'single' not in label else 1000)]
    tag = 'm' if 'single' not in label else 's'
    serial = [0]

    def add_two():
        made = []
        for with_sockets in (True, False):
            name = '%s%s%03d' % (PREFIX, tag, serial[0])
            serial[0] += 1
            ns_add([name], lo_up=False)
            pr = None
            if with_sockets:
                port[0] += 1
                pr = Pairs(ns_path(name), port[0], 1)
                at_cleanup(pr.close)
            made.append((name, pr))
        live.extend(made)

    def del_two(k):
        for _ in range(2):
            name, pr = live.pop(0)
            # sockets closed before or after the bind mount goes
            if pr and k % 2 == 0:
                pr.close()
            ns_del([name])
            if pr and k % 2 == 1:
                pr.close()

    add_two()
    add_two()
    dm = Daemon(binary, args + ['--interval', '200ms', '--states', 'listen',
                                '--netns-dirs', '/run/netns',
                                '--dest', 'file:' + out], extra)
    tail = Tail(out, want=lambda ns, ino, line: ns.startswith(PREFIX) or
                ns == 'host' and
                '"inet_diag_msg_socket_source_port":%d,' % host.port in line)
    deleted = set()

    def check_poll(seq, line, what):
        """Poll seq was reconciled after the last change: exactly the live
        namespaces."""
        check_summary(line, '%s poll %d' % (what, seq),
                      namespaces=1 + len(live),
                      dumps=walks(args) * (1 + len(live)))
        tail.read(keep_from=seq)
        recs = tail.by_seq.pop(seq, [])
        # later polls read already stay (we may lag behind tcpscope)
        tail.by_seq = {k: v for k, v in tail.by_seq.items() if k > seq}
        seen = {}
        for r in recs:
            seen.setdefault(r['netns'], []).append(r)
        hostrecs = seen.pop('host', [])
        check(sorted((r['inet_diag_msg_state_name'],
                      r['inet_diag_msg_socket_source_port'],
                      r['inet_diag_msg_socket_destination_port'])
                     for r in hostrecs) == host.expected(('listen',)),
              '%s poll %d: the host listener: %s' % (what, seq, hostrecs))
        want = {n: pr for n, pr in live if pr}
        check(set(seen) == set(want), '%s poll %d: namespaces %s reported, '
              'live with a listener: %s (deleted ones reported: %s)'
              % (what, seq, sorted(seen), sorted(want),
                 sorted(set(seen) & deleted)))
        for n, pr in want.items():
            ino = ns_inode(n)
            got = seen[n]
            check(all(r['netns_inode'] == ino for r in got),
                  '%s poll %d: %s: wrong netns_inode' % (what, seq, n))
            check(sorted((r['inet_diag_msg_state_name'],
                          r['inet_diag_msg_socket_source_port'],
                          r['inet_diag_msg_socket_destination_port'])
                         for r in got) == pr.expected(('listen',)),
                  '%s poll %d: %s: records %s' % (what, seq, n, got))

    def after_change(what):
        """Waits for the first poll whose reconcile began after now (the
        one after the next summary line) and checks it."""
        lines = dm.drain()
        last = poll_no(lines[-1]) if lines else poll_no(dm.lines[-1])
        while True:
            line = dm.next_line(10)
            seq = poll_no(line)
            check_summary(line, '%s poll %d' % (what, seq))
            if seq >= last + 2:
                break
        check_poll(seq, line, what)
        return seq

    with step('%s: 2 polls with the first 4 namespaces' % label):
        dm.next_line(15)
        seq = after_change(label + ' start')
    time.sleep(0.3)
    fds0 = min_fds(dm.p.pid)
    thr0 = threads_of(dm.p.pid)
    log('%s: baseline at poll %d: %d fds, %d threads, %d namespaces of ours'
        % (label, seq, fds0, thr0, len(live)))
    fds_seen = []  # after each cycle's checked poll: as many namespaces
    with step('%s: %d cycles: +2 namespaces, -2 oldest' % (label, cycles)):
        for k in range(cycles):
            # right after a summary line: the most time before the next
            # reconcile (the change is between polls)
            dm.next_line(10)
            for name, _ in live[:2]:
                deleted.add(name)
            add_two()
            del_two(k)
            after_change('%s cycle %d' % (label, k))
            fds_seen.append(min_fds(dm.p.pid, samples=3))
            check(alive(dm.p), '%s: tcpscope died (status %s)'
                  % (label, dm.p.returncode))
    with step('%s: resting fd count' % label):
        end = time.monotonic() + 5
        while True:
            fds1 = min_fds(dm.p.pid)
            if fds1 == fds0 or time.monotonic() > end:
                break
            time.sleep(0.2)
        thr1 = threads_of(dm.p.pid)
    log('%s: after the churn %d fds (before %d; after each cycle %s), %d '
        'threads (before %d)' % (label, fds1, fds0, fds_seen, thr1, thr0))
    check(fds1 == fds0, '%s: %d fds after the churn, %d before, with as '
          'many namespaces: vanished namespaces not closed? (ls -l '
          '/proc/%d/fd)' % (label, fds1, fds0, dm.p.pid))
    check(set(fds_seen) == {fds0}, '%s: fd counts after the cycles %s, %d '
          'at the start (always 4 namespaces of ours)'
          % (label, fds_seen, fds0))
    check(thr1 == thr0, '%s: %d threads after the churn, %d before'
          % (label, thr1, thr0))
    with step('%s: delete all our namespaces' % label):
        dm.next_line(10)
        while live:
            name, pr = live.pop()
            deleted.add(name)
            if pr:
                pr.close()
            ns_del([name])
        after_change('%s emptied' % label)
        fds2 = min_fds(dm.p.pid)
    # the count above means something only if namespaces hold fds
    check(fds2 < fds0, '%s: %d fds with none of our namespaces left, %d '
          'with 4' % (label, fds2, fds0))
    rc, rest = dm.stop()
    check(rc == 0, '%s: exit status %d after SIGTERM' % (label, rc))
    bad = [ln for ln in dm.lines if not SUMMARY.match(ln)]
    check(not bad, '%s: stderr lines that are not clean summaries: %s'
          % (label, bad[:3]))
    log('%s: %d polls, all summaries clean; %d fds without our '
        'namespaces' % (label, len(dm.lines), fds2))
    host.close()


def uring_usable():
    """Skips (77) when io_uring cannot be used here (checked before
    main(): a SystemExit inside the body would count as a failure)."""
    binary = os.environ.get('TCPSCOPE_BIN')
    if not binary or not os.access(binary, os.X_OK):
        return  # tcpscope_bin() says what is wrong
    probe = subprocess.run([binary, '--io-engine', 'uring', '--once',
                            '--quiet', '--netns', 'host', '--states',
                            'listen', '--dest', 'null'],
                           capture_output=True, text=True, timeout=30,
                           env=env_with({}))
    if probe.returncode != 0:
        print('SKIP: io_uring is not usable here: %s' % probe.stderr.strip())
        sys.exit(77)


# ---------------------------------------------------------------- part 3

MANY = 520


def many(binary):
    names = ['%sm%03d' % (PREFIX, i) for i in range(MANY)]
    with step('create %d empty namespaces (ip -batch)' % MANY):
        ns_add(names, lo_up=False)
    sel = ['--netns', ','.join(names), '--count', '3', '--interval', '100ms']
    for label, args, extra in ENGINES[1:4:2]:  # multishot, single-shot
        argv = [binary] + sel + args + ['--dest', 'file:/dev/null']
        p = subprocess.run(argv, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, env=env_with(extra),
                           timeout=120)
        lines = p.stderr.splitlines()
        check(p.returncode == 0 and len(lines) == 3,
              '%s, %d namespaces: exit %d, %d lines: %s' % (
                  label, MANY, p.returncode, len(lines), lines[-3:]))
        for line in lines:
            check_summary(line, '%s, %d namespaces' % (label, MANY),
                          namespaces=MANY, dumps=walks(args) * MANY)
        log('%s: %d namespaces, 3 clean polls: %s' % (
            label, MANY, lines[-1][:60] if lines else '-'))
    with step('delete the %d namespaces' % MANY):
        ns_del(names)


def body():
    binary = tcpscope_bin()
    WALKS[0] = 1 if one_walk_here(binary) else 2
    part1(binary)
    many(binary)
    churn(binary, 'uring', ['--io-engine', 'uring'], {})
    churn(binary, 'uring single-shot --workers 2',
          ['--io-engine', 'uring', '--workers', '2'], NO_MS)
    leftover = [e for e in os.listdir('/run/netns') if e.startswith(PREFIX)]
    check(not leftover, 'namespaces left: %s' % leftover[:5])


if __name__ == '__main__':
    uring_usable()
    main(body, isolated=True)
