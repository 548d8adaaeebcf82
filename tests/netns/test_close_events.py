#!/usr/bin/env python3
"""test_close_events: --close-events sends the final record of every TCP
socket the kernel frees, event "close", with its final counters.

Runs isolated in a network namespace of its own (nslib.isolate(net=True):
tcpscope's "host" is that one, and the TIME_WAIT sockets the test leaves
die with it), plus one namespace made with ip netns (tscl-<pid>-b).

 1. Two namespaces, two workers: 1,000 connections in each, opened after
    poll 1, given known byte counts and closed (FIN, no RST) before poll
    2, with --interval 60s: every one of the 4,000 sockets has exactly one close
    record, with its namespace's labels and its final bytes_acked /
    bytes_received, in the output within 1 s of the flush bound (well
    before poll 2); at exit the summary counts 4,000 and 0 lost.
 2. Overrun: a 64 KiB buffer and tcpscope stopped (SIGSTOP) while 1,000
    sockets close: the kernel drops most; received + lost == 1,000
    exactly, and the loss is printed even with --quiet.
 3. At exit: 400 closes queued while tcpscope was stopped are read when
    it stops (each namespace's close socket is read to the end on
    release) and counted on a line of their own.
 4. --filter (--io-engine auto): only the matching port's closes are sent, the others are
    counted as filtered out (exactly).
 5. --sample 3: the close records are those of the sockets the polls
    sampled (the same cookies).
 6. As nobody (its own namespace only): 1,000 connections' close records,
    exact counters; a --close-buffer above what net.core.rmem_max allows
    is said once.
 7. Closes during a long poll (10,000 sockets held) are read while it
    runs: a close record of poll N received before poll N's last
    datagram.
"""
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (at_cleanup, check, fail, in_netns, kill_proc,  # noqa: E402
                   log, main, ns_add, ns_path, step, tcpscope_bin, tmpdir)

N = 1000
NAME = 'tscl-%s-b' % os.environ['TSNT_OUTER_PID']  # set by nslib
FIELDS = ('event,netns,netns_inode,poll_seq,inet_diag_msg_state_name,'
          'inet_diag_msg_socket_source_port,'
          'inet_diag_msg_socket_destination_port,'
          'inet_diag_msg_socket_cookie,tcp_info_bytes_acked,'
          'tcp_info_bytes_received')


class Conns:
    """n connections to one listener on 127.0.0.1, in the namespace at
    path (None: here); connection i's client sends 100 + i bytes, its
    server 3000 - i. want() maps (sport, dport) to the expected final
    (bytes_acked, bytes_received)."""

    def __init__(self, path, n):
        self.pairs = []
        if path:
            with in_netns(path):
                self._open(n)
        else:
            self._open(n)

    def _open(self, n):
        self.l = socket.socket()
        self.l.bind(('127.0.0.1', 0))
        self.l.listen(n)
        self.port = self.l.getsockname()[1]
        for i in range(n):
            c = socket.create_connection(('127.0.0.1', self.port))
            s, _ = self.l.accept()
            self.pairs.append((c, s, 100 + i, 3000 - i))
        self.expected = self.want()

    def move(self):
        for c, s, a, b in self.pairs:
            c.sendall(b'c' * a)
            s.sendall(b's' * b)
        for c, s, a, b in self.pairs:
            got_s = got_c = 0
            while got_s < a:
                got_s += len(s.recv(a - got_s))
            while got_c < b:
                got_c += len(c.recv(b - got_c))

    def close(self):
        """FIN both ways (nothing unread: no RST), in an order that fixes
        the counters the kernel frees each socket with: an orphaned
        socket in FIN_WAIT2 becomes a timewait socket at once, so a
        client closed first would be freed before or after the server's
        FIN arrived, by chance. The client half-closes, the server reads
        the end and closes, the client reads the server's FIN, then
        closes."""
        for c, s, a, b in self.pairs:
            c.shutdown(socket.SHUT_WR)
        for c, s, a, b in self.pairs:
            if s.recv(1) != b'':
                fail('data after the end of the client\'s bytes')
            s.close()
        for c, s, a, b in self.pairs:
            if c.recv(1) != b'':
                fail('data after the end of the server\'s bytes')
            c.close()

    def want(self):
        # the kernel counts the SYN it sent once acked (client only) and
        # each FIN as one byte: acked data + FIN, received data + FIN
        w = {}
        for c, s, a, b in self.pairs:
            cp = c.getsockname()[1]
            w[(cp, self.port)] = (a + 2, b + 1)
            w[(self.port, cp)] = (b + 1, a + 1)
        return w

    def shut(self):
        self.l.close()


def open_moved(path, n):
    c = Conns(path, n)
    c.move()
    return c


def records(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def closes(path, ports):
    return [r for r in records(path) if r.get('event') == 'close' and
            (r.get('inet_diag_msg_socket_source_port') in ports or
             r.get('inet_diag_msg_socket_destination_port') in ports)]


def wait_for(pred, timeout, what, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            fail('tcpscope exited (%s) while waiting for %s'
                 % (proc.returncode, what))
        time.sleep(0.05)
    fail('no %s within %.1f s' % (what, timeout))


def as_user(name):
    """preexec_fn: the child drops to user `name` (no capability left),
    so that signals reach tcpscope itself."""
    pw = pwd.getpwnam(name)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def start(args, out, err, user=None, binary=None):
    cmd = [binary or tcpscope_bin()] + args
    fo, fe = open(out, 'wb'), open(err, 'wb')
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                         preexec_fn=as_user(user) if user else None)
    fo.close()
    fe.close()
    at_cleanup(kill_proc, p)
    log('started: %s' % ' '.join(cmd))
    return p


def text(path):
    with open(path) as f:
        return f.read()


def stop(p, err):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        fail('tcpscope did not stop within 20 s')
    return rc, text(err)


def polls_seen(err):
    return len(re.findall(r'^tcpscope: poll \d+:', text(err), re.M))


def check_records(got, conns, ns_name, ns_ino, what):
    want = conns.expected
    seen = {}
    for r in got:
        k = (r['inet_diag_msg_socket_source_port'],
             r['inet_diag_msg_socket_destination_port'])
        if k not in want:
            continue
        seen[k] = seen.get(k, 0) + 1
        check(r['netns'] == ns_name and r['netns_inode'] == ns_ino,
              '%s: %s labelled %s/%s, not %s/%s' % (what, k, r['netns'],
                                                    r['netns_inode'],
                                                    ns_name, ns_ino))
        check(r['inet_diag_msg_state_name'] == 'close',
              '%s: %s state %s' % (what, k, r['inet_diag_msg_state_name']))
        fin = (r['tcp_info_bytes_acked'], r['tcp_info_bytes_received'])
        check(fin == want[k], '%s: %s final (acked, received) %s, want %s'
              % (what, k, fin, want[k]))
    missing = [k for k in want if k not in seen]
    twice = [k for k, n in seen.items() if n > 1]
    check(not missing, '%s: %d of %d sockets have no close record (%s...)'
          % (what, len(missing), len(want), missing[:3]))
    check(not twice, '%s: %d sockets closed twice' % (what, len(twice)))


SUMMARY_CLOSE = re.compile(r'close events: (\d+) \((\d+) lost, (\d+) '
                           r'filtered out, (\d+) errors\)')


def close_totals(err):
    """Sums of every summary line's close part (per-poll deltas and the
    line after the last poll)."""
    tot = [0, 0, 0, 0]
    for m in SUMMARY_CLOSE.finditer(err):
        tot = [a + int(b) for a, b in zip(tot, m.groups())]
    return tot


def part_two_namespaces(d):
    out, err = os.path.join(d, 'two.json'), os.path.join(d, 'two.err')
    # two workers: the records still go through the fanout's lock
    p = start(['--close-events', '--netns', 'host,' + NAME, '--interval',
               '60s', '--workers', '2', '--fields', FIELDS], out, err)
    wait_for(lambda: polls_seen(err) >= 1, 30, 'poll 1', p)
    with step('1,000 connections in each namespace, moved and closed'):
        here = open_moved(None, N)
        there = open_moved(ns_path(NAME), N)
        here.close()
        there.close()
        t_closed = time.monotonic()
    ports = {here.port, there.port}
    # both listeners share no port by chance: each namespace has its own
    got = wait_for(lambda: (lambda g: g if len(g) >= 4 * N else None)(
        closes(out, ports)), 15, '4,000 close records', p)
    dt = time.monotonic() - t_closed
    log('4,000 close records %.2f s after the last close' % dt)
    check(polls_seen(err) == 1, 'a second poll ran: the flush bound is '
          'not what sent them')
    check(dt < 3.0, 'close records took %.2f s (flush bound 1 s)' % dt)
    host_ino = os.stat('/proc/self/ns/net').st_ino
    check_records([r for r in got if r['netns'] == 'host'], here, 'host',
                  host_ino, 'own namespace')
    check_records([r for r in got if r['netns'] != 'host'], there, NAME,
                  os.stat(ns_path(NAME)).st_ino, NAME)
    check(len(got) == 4 * N, '%d close records for %d sockets'
          % (len(got), 4 * N))
    check(all(r['poll_seq'] == 1 for r in got),
          'close records read after poll 1 carry another poll_seq')
    rc, e = stop(p, err)
    here.shut()
    there.shut()
    check(rc == 0, 'exit %d: %s' % (rc, e[-500:]))
    tot = close_totals(e)
    check(tot == [4 * N, 0, 0, 0], 'summaries count close events %s, '
          'want [%d, 0, 0, 0]: %s' % (tot, 4 * N, e[-600:]))


def part_overrun(d):
    out, err = os.path.join(d, 'ovr.json'), os.path.join(d, 'ovr.err')
    p = start(['--close-events', '--netns', 'host', '--interval', '60s',
               '--close-buffer', '65536', '--quiet', '--fields', FIELDS],
              out, err)
    # --quiet: no poll line; the close socket is up once the first poll
    # was made, which a record of this socket shows
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    probe.listen(1)
    pport = probe.getsockname()[1]
    wait_for(lambda: any(r.get('inet_diag_msg_socket_source_port') == pport
                         for r in records(out)), 30, 'poll 1', p)
    c = open_moved(None, N // 2)
    p.send_signal(signal.SIGSTOP)
    try:
        c.close()
        time.sleep(0.5)  # the last FIN/ACKs: every socket freed
    finally:
        p.send_signal(signal.SIGCONT)
    time.sleep(1.5)
    rc, e = stop(p, err)
    c.shut()
    probe.close()
    got = len(closes(out, {c.port}))
    tot = close_totals(e)
    log('overrun: %d received of %d, summary %s' % (got, N, tot))
    check(rc == 0, 'exit %d: %s' % (rc, e[-500:]))
    check(tot[1] > 0, 'nothing counted as lost with a 64 KiB buffer: %r'
          % e[-500:])
    # the listener's own close (at c.shut) may or may not be in
    check(got + tot[1] == N, '%d received + %d lost != %d closed'
          % (got, tot[1], N))
    check(tot[0] == got, 'summary received %d, output has %d'
          % (tot[0], got))


def part_exit(d):
    """Closes still queued when tcpscope stops are read and sent: it is
    stopped (SIGSTOP) while 200 connections close, then gets SIGTERM and
    SIGCONT: the stop comes first, and the release of each namespace reads
    its close socket to the end."""
    out, err = os.path.join(d, 'exit.json'), os.path.join(d, 'exit.err')
    p = start(['--close-events', '--netns', 'host', '--interval', '60s',
               '--fields', FIELDS], out, err)
    wait_for(lambda: polls_seen(err) >= 1, 30, 'poll 1', p)
    c = open_moved(None, 200)
    p.send_signal(signal.SIGSTOP)
    try:
        c.close()
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
    finally:
        p.send_signal(signal.SIGCONT)
    rc = p.wait(20)
    e = text(err)
    c.shut()
    check(rc == 0, 'exit %d: %s' % (rc, e[-300:]))
    check_records(closes(out, {c.port}), c, 'host',
                  os.stat('/proc/self/ns/net').st_ino, 'at exit')
    check('tcpscope: after the last poll; close events: 400 (0 lost' in e,
          'no line for the closes read at exit: %r' % e[-400:])


def part_filter(d):
    out, err = os.path.join(d, 'flt.json'), os.path.join(d, 'flt.err')
    a, b = open_moved(None, 300), open_moved(None, 300)
    expr = 'sport = :%d or dport = :%d' % (a.port, a.port)
    # the io_uring engine where the kernel allows it: destinations are
    # then written through the main thread's ring
    p = start(['--close-events', '--netns', 'host', '--interval', '60s',
               '--io-engine', 'auto', '--filter', expr, '--fields', FIELDS],
              out, err)
    wait_for(lambda: polls_seen(err) >= 1, 30, 'poll 1', p)
    a.close()
    b.close()
    wait_for(lambda: len(closes(out, {a.port})) >= 600, 10,
             '600 close records of port %d' % a.port, p)
    time.sleep(1.2)
    rc, e = stop(p, err)
    a.shut()
    b.shut()
    got = closes(out, {a.port, b.port})
    check(all(a.port in (r['inet_diag_msg_socket_source_port'],
                         r['inet_diag_msg_socket_destination_port'])
              for r in got), '--filter %r let other ports through' % expr)
    check_records(got, a, 'host', os.stat('/proc/self/ns/net').st_ino,
                  '--filter')
    tot = close_totals(e)
    check(tot[2] == 600 and tot[0] == 1200,
          '--filter: summary %s, want 1200 received, 600 filtered out'
          % tot)


def part_sample(d):
    out, err = os.path.join(d, 'smp.json'), os.path.join(d, 'smp.err')
    p = start(['--close-events', '--netns', 'host', '--interval', '500ms',
               '--sample', '3', '--fields', FIELDS, '--quiet'], out, err)
    c = open_moved(None, 300)
    ports = {c.port}
    # a poll that began after the pairs were made has all of them
    t = time.monotonic()
    time.sleep(1.2)
    polled = {r['inet_diag_msg_socket_cookie'] for r in records(out)
              if r.get('event') == 'poll' and
              (r['inet_diag_msg_socket_source_port'] in ports or
               r['inet_diag_msg_socket_destination_port'] in ports)
              and r['inet_diag_msg_state_name'] == 'established'}
    c.close()
    wait_for(lambda: len(closes(out, ports)) >= len(polled), 10,
             'sampled close records', p)
    time.sleep(1.2)
    stop(p, err)
    c.shut()
    closed = {r['inet_diag_msg_socket_cookie'] for r in closes(out, ports)
              if r['inet_diag_msg_socket_source_port'] != 0 and
              r['inet_diag_msg_socket_destination_port'] != 0}
    log('--sample 3: %d of 600 sockets polled, %d close records (%.1f s)'
        % (len(polled), len(closed), time.monotonic() - t))
    check(100 < len(polled) < 300, '--sample 3 kept %d of 600'
          % len(polled))
    check(closed == polled, '--sample: close records of other sockets '
          'than polled: %d polled, %d closed, %d in common'
          % (len(polled), len(closed), len(polled & closed)))


def part_mid_poll(d):
    """A poll of 10,000 sockets takes many datagrams; closes meanwhile are
    read while it runs (every few datagrams), not at its end: some close
    record of poll N was received before poll N's last datagram."""
    hold = Conns(None, 5000)
    out, err = os.path.join(d, 'mid.json'), os.path.join(d, 'mid.err')
    p = start(['--close-events', '--netns', 'host', '--interval', '100ms',
               '--quiet', '--fields', 'event,poll_seq,timestamp_ns'],
              out, err)
    wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 30,
             'poll 1', p)
    l = socket.socket()
    l.bind(('127.0.0.1', 0))
    l.listen(64)
    end = time.monotonic() + 1.5
    n = 0
    while time.monotonic() < end:
        c = socket.create_connection(l.getsockname())
        a, _ = l.accept()
        c.close()
        a.close()
        n += 1
    time.sleep(0.3)
    rc, e = stop(p, err)
    l.close()
    last, closes = {}, []
    for r in records(out):
        if r['event'] == 'poll':
            last[r['poll_seq']] = max(last.get(r['poll_seq'], 0),
                                      r['timestamp_ns'])
        else:
            closes.append(r)
    inside = [r for r in closes if r['poll_seq'] in last and
              r['timestamp_ns'] < last[r['poll_seq']]]
    log('%d connections closed during %d polls: %d of %d close records '
        'read before their poll ended' % (n, len(last), len(inside),
                                          len(closes)))
    hold.close()
    hold.shut()
    check(rc == 0, 'exit %d: %s' % (rc, e[-300:]))
    check(len(closes) >= 2 * n, '%d close records for %d connections'
          % (len(closes), n))
    check(inside, 'no close record was read during a poll')


def part_nobody(d):
    copy = os.path.join(d, 'tcpscope')
    shutil.copy(tcpscope_bin(), copy)
    os.chmod(copy, 0o755)
    os.chmod(d, 0o755)
    with open('/proc/sys/net/core/rmem_max') as f:
        rmem_max = int(f.read())
    ask = min(4 * rmem_max, 1 << 30)
    out, err = os.path.join(d, 'nob.json'), os.path.join(d, 'nob.err')
    p = start(['--close-events', '--netns', 'host', '--interval', '60s',
               '--close-buffer', str(ask), '--fields', FIELDS], out, err,
              user='nobody', binary=copy)
    wait_for(lambda: polls_seen(err) >= 1, 30, 'poll 1 (as nobody)', p)
    c = open_moved(None, N)
    c.close()
    got = wait_for(lambda: (lambda g: g if len(g) >= 2 * N else None)(
        closes(out, {c.port})), 15, '2,000 close records (as nobody)', p)
    rc, e = stop(p, err)
    c.shut()
    check(rc == 0, 'as nobody: exit %d: %s' % (rc, e[-500:]))
    check_records(got, c, 'host', os.stat('/proc/self/ns/net').st_ino,
                  'as nobody')
    if ask > 2 * rmem_max:
        check(('--close-buffer %d: the kernel gave %d bytes'
               % (ask, 2 * rmem_max)) in e,
              'as nobody: the smaller buffer is not said: %r' % e[:400])


def body():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ns_add([NAME])
    d = tmpdir()
    with step('two namespaces, 4,000 sockets closed'):
        part_two_namespaces(d)
    with step('overrun counted'):
        part_overrun(d)
    with step('read at exit'):
        part_exit(d)
    with step('--filter'):
        part_filter(d)
    with step('--sample'):
        part_sample(d)
    with step('as nobody'):
        part_nobody(d)
    with step('read during polls'):
        part_mid_poll(d)


if __name__ == '__main__':
    main(body, isolated=True, net=True)
