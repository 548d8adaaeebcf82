#!/usr/bin/env python3
"""test_netns_threads: tcpscope runs a fixed number of threads whatever the
number of namespaces: main + namespace opener + (N-1) extra poll threads
for --workers N. Same count with 1 and with 500 extra namespaces (sampled
throughout the reconciles and polls), for a running daemon and a fresh
one; --workers 2 has exactly one thread more than --workers 1. With
--io-engine uring the kernel's io-wq adds exactly one worker thread (the
main thread's, for discovery's stats), however many processes there are.
Runs isolated (nslib.isolate): a pid namespace and a private /run/netns,
so that its 500 namespaces do not slow down other jobs' tcpscope runs.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (PREFIX, alive, at_cleanup, check, fds_of, log,  # noqa: E402
                   main, ns_add, ns_del, start_daemon, step, stop_daemon,
                   tcpscope_bin, threads_of)

N = 500
SLEEPERS = 300


def sample(p, seconds, every=0.05):
    """Thread counts seen over `seconds`."""
    seen = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        check(alive(p), 'tcpscope exited (status %s)' % p.returncode)
        seen.add(threads_of(p.pid))
        time.sleep(every)
    return seen


def daemon(binary, *extra):
    p = start_daemon(binary, '--interval', '200ms', '--quiet',
                     '--dest', 'null', *extra)
    time.sleep(0.5)  # past start-up: threads are created then
    return p


def one(seen, what):
    check(len(seen) == 1, '%s: thread count varied: %s' % (what, sorted(seen)))
    return next(iter(seen))


def iou_workers(pid):
    """The io_uring worker threads (io-wq) among pid's threads."""
    n = 0
    for t in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                n += f.read().startswith('iou-wrk')
        except OSError:
            pass
    return n


def kill_all(procs):
    for q in procs:
        if q.poll() is None:
            q.kill()
    for q in procs:
        q.wait()


def check_uring(binary, counts):
    """--io-engine uring: the kernel's io-wq workers are bounded; the only
    one that runs is the main thread's, for discovery's stats of
    /proc/PID/ns/net, however many of them a batch has in flight (300
    processes here: unbounded, io-wq started 2 or 3 workers for them)."""
    probe = subprocess.run([binary, '--once', '--io-engine', 'uring',
                            '--netns', 'host', '--states', 'listen',
                            '--dest', 'null'], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        log('io_uring not usable here, uring part skipped: %s'
            % probe.stderr.strip())
        return
    sleepers = []
    at_cleanup(kill_all, sleepers)
    for _ in range(SLEEPERS):
        sleepers.append(subprocess.Popen(['sleep', '600'],
                                         stdin=subprocess.DEVNULL))
    for w in (1, 4):
        with step('--io-engine uring --workers %d, %d processes' % (w,
                                                                   SLEEPERS)):
            p = daemon(binary, '--workers', str(w), '--io-engine', 'uring',
                       '--interval', '100ms')
            seen = sample(p, 3.0, every=0.02)
            iou = iou_workers(p.pid)
            log('--io-engine uring --workers %d: threads %s, %d io-wq'
                % (w, sorted(seen), iou))
            check(seen == {counts[w] + 1} and iou == 1,
                  '--io-engine uring --workers %d: threads %s (%d io-wq '
                  'workers), expected %d: the %d of the syscall engine and '
                  'one io-wq worker' % (w, sorted(seen), iou, counts[w] + 1,
                                        counts[w]))
            rc = stop_daemon(p)
        check(rc == 0, 'uring --workers %d: exit status %d after SIGTERM'
              % (w, rc))
    kill_all(sleepers)


def body():
    binary = tcpscope_bin()
    names = ['%s%03d' % (PREFIX, i) for i in range(N)]
    ns_add(names[:1], lo_up=False)
    p = daemon(binary)
    t1 = one(sample(p, 1.5), '1 extra namespace')
    f1 = fds_of(p.pid)
    log('1 extra namespace: %d threads, %d fds' % (t1, f1))
    check(t1 == 2, 'default --workers 1: %d threads, expected 2 (main + '
          'namespace opener)' % t1)

    with step('create %d more namespaces (ip -batch)' % (N - 1)):
        ns_add(names[1:], lo_up=False)
    # sampled from the creation on: covers the reconciles that open 499
    # namespaces and the polls that dump them
    with step('sample threads for 4 s'):
        seen = sample(p, 4.0)
    f500 = fds_of(p.pid)
    log('%d extra namespaces: threads %s, %d fds' % (N, sorted(seen), f500))
    check(seen == {t1}, 'thread count %s with %d namespaces, %d with 1'
          % (sorted(seen), N, t1))
    if f500 < f1 + N:
        log('note: fd count grew by only %d: did the reconcile see the %d '
            'namespaces?' % (f500 - f1, N - 1))
    check(stop_daemon(p) == 0, 'exit status after SIGTERM not 0')

    counts = {}
    for w in (1, 2, 4):
        with step('fresh daemon, --workers %d, %d namespaces' % (w, N)):
            p = daemon(binary, '--workers', str(w))
            counts[w] = one(sample(p, 3.0), '--workers %d' % w)
            log('--workers %d: %d threads, %d fds' % (w, counts[w],
                                                      fds_of(p.pid)))
            rc = stop_daemon(p)
        check(rc == 0, '--workers %d: exit status %d after SIGTERM' % (w, rc))
    check(counts[1] == t1, 'fresh daemon with %d namespaces: %d threads, '
          '%d with 1' % (N, counts[1], t1))
    check(counts[2] == counts[1] + 1, '--workers 2: %d threads, --workers 1: '
          '%d (expected exactly one more)' % (counts[2], counts[1]))
    check(counts[4] == counts[1] + 3, '--workers 4: %d threads, expected %d'
          % (counts[4], counts[1] + 3))
    check_uring(binary, counts)

    with step('delete %d namespaces (ip -batch)' % N):
        ns_del(names)


if __name__ == '__main__':
    main(body, isolated=True)
