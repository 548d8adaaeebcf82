#!/usr/bin/env python3
"""test_netns_churn: tcpscope --interval 100ms --states listen runs while 200
namespaces are created and deleted (half of them with sockets). Afterwards
its fd and thread counts are back to what they were (vanished namespaces
are closed),
it is alive, and a poll after 3 new namespaces appear reports all of them;
SIGTERM ends it with status 0.
tcpscope reports listeners only: the records go to a file every 100 ms,
and another job's load on the host (100k established sockets) must not make
that gigabytes. Each namespace with sockets has a listener and 1-3
connections to it (their dump is filtered in the kernel).
Runs isolated (nslib.isolate): a pid namespace and a private /run/netns,
so that other jobs' namespaces do not move the counts.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (PREFIX, Pairs, Tail, alive, check, fds_of, key, log,  # noqa: E402
                   main, min_fds, ns_add, ns_del, ns_inode, ns_path, at_cleanup,
                   start_daemon, step, stop_daemon,
                   system_netns_set, tcpscope_bin, threads_of, tmpdir,
                   ip_batch)

PACED = 150     # add/del cycles paced against the 100 ms polls
BURST = 50      # add/del cycles in one ip -batch
LISTEN = ('listen',)  # tcpscope --states listen
WINDOW = 6      # namespaces alive at once during the paced churn


def settle(p, want_fds, want_ns, timeout=10.0):
    """Waits until the system's namespace set is back to want_ns and
    tcpscope's resting fd count to want_fds; returns the last fd count."""
    end = time.monotonic() + timeout
    while True:
        n = min_fds(p.pid)
        same_ns = system_netns_set() == want_ns
        if same_ns and n == want_fds:
            return n
        if time.monotonic() > end:
            if not same_ns:
                log('note: the namespace set differs from the baseline '
                    '(another process created/removed one?)')
            return n
        time.sleep(0.2)


def body():
    binary = tcpscope_bin()
    d = tmpdir()
    out = os.path.join(d, 'out.jsonl')
    errp = os.path.join(d, 'stderr')
    host = Pairs(None, 0, 1)
    at_cleanup(host.close)
    p = start_daemon(binary, '--interval', '100ms', '--quiet',
                     '--states', 'listen', '--dest', 'file:' + out,
                     stderr_path=errp)
    tail = Tail(out, want=lambda ns, ino, line:
                ns.startswith(PREFIX) or ns == 'host' and
                '"inet_diag_msg_socket_source_port":%d,' % host.port in line)
    tail.wait_seq(3, 20, proc=p)
    fds0 = min_fds(p.pid)
    thr0 = threads_of(p.pid)
    ns0 = system_netns_set()
    log('baseline: poll %d, %d fds, %d threads, %d namespaces on the system'
        % (tail.max_seq, fds0, thr0, len(ns0)))

    rnd = random.Random(1234)
    live = []           # [(name, Pairs or None)]
    thr_seen = {thr0}
    fd_max = fds0
    port = 21000
    with step('%d paced add/del cycles' % PACED):
        for i in range(PACED):
            name = '%sc%03d' % (PREFIX, i)
            ns_add([name], lo_up=False)
            pr = None
            if i % 2 == 0:
                port += 1
                pr = Pairs(ns_path(name), port, 1 + i % 3)
            live.append((name, pr))
            if len(live) > WINDOW or i == PACED - 1:
                while len(live) > (WINDOW if i < PACED - 1 else 0):
                    old, opr = live.pop(0)
                    # sockets closed before or after the bind mount goes
                    close_first = rnd.random() < 0.5
                    if opr and close_first:
                        opr.close()
                    ns_del([old])
                    if opr and not close_first:
                        opr.close()
            thr_seen.add(threads_of(p.pid))
            fd_max = max(fd_max, fds_of(p.pid))
            check(alive(p), 'tcpscope died during the churn (cycle %d, '
                  'status %s)' % (i, p.returncode))
            time.sleep(rnd.random() * 0.03)
    with step('%d add/del cycles in one ip -batch' % BURST):
        lines = []
        for i in range(BURST):
            name = '%sb%03d' % (PREFIX, i)
            lines += ['netns add %s' % name]
            if i % 5 == 0:
                lines += ['netns exec %s ip link set lo up' % name]
            lines += ['netns del %s' % name]
        ip_batch(lines, force=False)
    tail.read()
    log('churn done at poll %d; during it: threads %s, at most %d fds'
        % (tail.max_seq, sorted(thr_seen), fd_max))
    check(alive(p), 'tcpscope died during the churn (status %s)'
          % p.returncode)
    seen = {n for n in tail.names if n.startswith(PREFIX + 'c')}
    log('%d of the %d churn namespaces with sockets were reported while '
        'they lived' % (len(seen), (PACED + 1) // 2))
    check(seen, 'no churn namespace was ever reported')
    check(thr_seen == {thr0}, 'thread count varied during the churn: %s'
          % sorted(thr_seen))
    leftover = [e for e in os.listdir('/run/netns') if e.startswith(PREFIX)]
    check(not leftover, 'churn namespaces left: %s' % leftover[:5])

    with step('wait for the next reconcile'):
        time.sleep(1.0)
        fds1 = settle(p, fds0, ns0)
        thr1 = threads_of(p.pid)
    log('after churn: %d fds (before %d), %d threads (before %d)'
        % (fds1, fds0, thr1, thr0))
    check(alive(p), 'tcpscope died after the churn (status %s)'
          % p.returncode)
    check(fds1 == fds0, 'fd count %d after the churn, %d before: vanished '
          'namespaces not closed? (ls -l /proc/%d/fd)' % (fds1, fds0, p.pid))
    check(thr1 == thr0, 'thread count %d after the churn, %d before'
          % (thr1, thr0))

    # --- 3 stable namespaces: reported by a later poll --------------------
    stable = ['%ss%d' % (PREFIX, i) for i in range(3)]
    with step('3 stable namespaces with sockets'):
        ns_add(stable, lo_up=False)
        pairs = {}
        for i, n in enumerate(stable):
            pairs[n] = Pairs(ns_path(n), 22000 + i, 2)
            at_cleanup(pairs[n].close)
        inode = {n: ns_inode(n) for n in stable}
        target, recs = tail.later_poll(p)
    log('poll %d: %d records' % (target, len(recs)))
    for n in stable:
        got = [r for r in recs if r['netns_inode'] == inode[n]]
        check({r['netns'] for r in got} == {n},
              'poll %d: namespace %s labelled %s' % (target, n,
                                                    {r['netns'] for r in got}))
        want = pairs[n].expected(LISTEN)
        check(sorted(key(r) for r in got) == want,
              'poll %d: namespace %s sockets %s, expected %s'
              % (target, n, sorted(key(r) for r in got), want))
    host_ino = os.stat('/proc/self/ns/net').st_ino
    check(sorted(key(r) for r in recs if r['netns_inode'] == host_ino and
                 r['netns'] == 'host' and host.port in key(r)[1:]) ==
          host.expected(LISTEN), 'poll %d: host listener missing' % target)
    gone = sorted({r['netns'] for r in recs
                   if r['netns'].startswith(PREFIX) and r['netns'] not in stable})
    check(not gone, 'poll %d reports deleted namespaces %s' % (target, gone))

    with step('delete the stable namespaces'):
        for n in stable:
            pairs[n].close()
        ns_del(stable)
        time.sleep(0.5)
        fds2 = settle(p, fds0, ns0)
    check(fds2 == fds0, 'fd count %d after deleting the 3 namespaces, %d '
          'at the start' % (fds2, fds0))
    check(threads_of(p.pid) == thr0, 'thread count changed')

    with open(errp, 'rb') as f:
        err = f.read().decode(errors='replace')
    if err:
        log('tcpscope stderr (%d lines), first: %s'
            % (err.count('\n'), err.splitlines()[0][:300]))
    with step('SIGTERM'):
        rc = stop_daemon(p)
    check(rc == 0, 'tcpscope exit status %d after SIGTERM, expected 0' % rc)
    tail.read()
    log('%d polls written' % tail.max_seq)


if __name__ == '__main__':
    main(body, isolated=True)
