#!/usr/bin/env python3
"""test_netns_max: --netns-max N polls at most N namespaces, and those any
user can make cannot crowd out the ones root set up. 6 namespaces made by
nobody (setpriv + unshare -Urn: owned by a user namespace of their own)
are found first in /proc; then 3 bind mounts (ip netns add) and one
namespace made by root without a bind mount (unshare -n), each with a
listener. With --netns-max 5 the host, the bind mounts and root's
namespace are polled (root's takes the place of one of nobody's), the 6
others are counted 'over --netns-max' and warned about. A daemon with
--netns-max 8 polls a bind mount that appears later in place of one of
nobody's, and warns once, not every poll. Out-of-range values exit 2.
Runs isolated (nslib.isolate): private /run/netns and /proc."""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (SELF_CONNECT, TSC_PREFIX, Pairs, Tail, at_cleanup,  # noqa: E402
                   check, fail, full, key, kill_proc, light_records, log,
                   main, ns_add, ns_path, port_filter, start_daemon, step,
                   stop_daemon, tcpscope_bin, tmpdir)

NOBODY = 6
SUMMARY = re.compile(r'namespaces (\d+) \(\+\d+ -\d+, (\d+) failed, '
                     r'\d+ skipped, (\d+) over --netns-max, [^)]*\); '
                     r'(\d+) dumps')
WARNING = re.compile(r'warning: (\d+) namespaces? not polled: --netns-max '
                     r'(\d+) reached')


def start(argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    at_cleanup(kill_proc, p)
    return p


def nobody_namespaces():
    procs = [start(['setpriv', '--reuid=65534', '--regid=65534',
                    '--clear-groups', '--', 'unshare', '-Urn', 'sh', '-c',
                    'echo ready; exec cat'])
             for _ in range(NOBODY)]
    for p in procs:
        if p.stdout.readline().strip() != 'ready':
            fail('unshare -Urn as nobody did not start (unprivileged user '
                 'namespaces disabled?)')
    inos = {os.stat('/proc/%d/ns/net' % p.pid).st_ino for p in procs}
    check(len(inos) == NOBODY, 'nobody namespaces not distinct')
    return procs


def root_pid_namespace(port):
    """A namespace made by root with no bind mount, with a listener."""
    p = start(['unshare', '-n', 'sh', '-c',
               'ip link set lo up && exec "$0" -c "$1" "$2"',
               sys.executable, SELF_CONNECT, str(port)])
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != 'ready':
        fail('unshare -n helper did not start (%r)' % line)
    return p


def listeners(recs, name_port):
    """{name: sorted listener keys} of the records, for (name, port)s."""
    got = {}
    for r in full(recs):
        for name, port in name_port:
            if r['netns'] == name and key(r)[1] == port:
                got.setdefault(name, []).append(key(r))
    return {n: sorted(v) for n, v in got.items()}


def check_bounds(binary):
    for bad in ('0', '65537', 'x'):
        p = subprocess.run([binary, '--once', '--netns-max', bad],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 2 and p.stderr.count('\n') == 1 and
              '--netns-max' in p.stderr and p.stdout == '',
              '--netns-max %s: exit %d, stderr %r' % (bad, p.returncode,
                                                       p.stderr))


def body():
    if shutil.which('setpriv') is None:
        print('SKIP: setpriv (util-linux) not found')
        sys.exit(77)
    binary = tcpscope_bin()
    check_bounds(binary)
    with step('%d namespaces made by nobody, then root\'s' % NOBODY):
        nobody = nobody_namespaces()
        mounts = ['%smax%d' % (TSC_PREFIX, i) for i in range(3)]
        ns_add(mounts)
        pairs = {n: Pairs(ns_path(n), 0, 1) for n in mounts}
        for pr in pairs.values():
            at_cleanup(pr.close)
        rootns = root_pid_namespace(20811)
    root_name = 'pid:%d' % rootns.pid
    root_ino = os.stat('/proc/%d/ns/net' % rootns.pid).st_ino
    name_port = [(n, pr.port) for n, pr in pairs.items()]
    want = port_filter(20811, *[pr.port for pr in pairs.values()])

    with step('tcpscope --once --netns-max 5'):
        p = subprocess.run([binary, '--once', '--walk', 'two', '--netns-max', '5',
                            '--states', 'listen'], capture_output=True,
                           text=True, timeout=60)
    check(p.returncode == 0, 'exit %d: %s' % (p.returncode, p.stderr[-800:]))
    m = SUMMARY.search(p.stderr)
    check(m, 'no summary: %r' % p.stderr[-800:])
    total, failed, capped, dumps = map(int, m.groups())
    log('total %d, failed %d, over the cap %d, dumps %d'
        % (total, failed, capped, dumps))
    check((total, failed, capped, dumps) == (5 + NOBODY, 0, NOBODY, 10),
          'namespaces %d, %d failed, %d over --netns-max, %d dumps: '
          'expected %d, 0, %d, 10'
          % (total, failed, capped, dumps, 5 + NOBODY, NOBODY))
    w = WARNING.search(p.stderr)
    check(w and w.groups() == (str(NOBODY), '5'),
          'no warning about the cap: %r' % p.stderr[-800:])
    recs = light_records(p.stdout, want)
    got = listeners(recs, name_port)
    for n, pr in pairs.items():
        check(got.get(n) == pr.expected(('listen',)),
              'bind mount %s not polled: %s' % (n, got.get(n)))
    check([r for r in full(recs) if r['netns_inode'] == root_ino and
           key(r) == ('listen', 20811, 0)],
          "root's namespace %s (found after nobody's) not polled"
          % root_name)

    with step('daemon --netns-max 8; a bind mount appears'):
        d = tmpdir()
        out = os.path.join(d, 'out.jsonl')
        errp = os.path.join(d, 'stderr')
        proc = start_daemon(binary, '--walk', 'two', '--interval', '100ms', '--netns-max',
                            '8', '--states', 'listen', '--dest',
                            'file:' + out, stderr_path=errp)
        tail = Tail(out, want=want)
        tail.wait_seq(3, 20, proc=proc)
        late = TSC_PREFIX + 'late'
        ns_add([late])
        pairs[late] = Pairs(ns_path(late), 0, 1)
        at_cleanup(pairs[late].close)
        tail.want = port_filter(pairs[late].port)
        seq, recs = tail.later_poll(proc)
        check(listeners(recs, [(late, pairs[late].port)]).get(late) ==
              pairs[late].expected(('listen',)),
              'poll %d: the late bind mount is not polled' % seq)
        time.sleep(0.5)
        rc = stop_daemon(proc)
    with open(errp) as f:
        err = f.read()
    check(rc == 0, 'daemon exit %d: %s' % (rc, err[-800:]))
    polls = [tuple(map(int, m.groups()))
             for m in map(SUMMARY.search, err.splitlines()) if m]
    log('daemon: %d polls, (total, failed, over, dumps) %s'
        % (len(polls), sorted(set(polls))))
    check(polls[0] == (5 + NOBODY, 0, NOBODY - 3, 16) and
          polls[-1] == (6 + NOBODY, 0, NOBODY - 2, 16),
          'daemon: first poll %s, last %s; expected %s then %s'
          % (polls[0], polls[-1], (5 + NOBODY, 0, NOBODY - 3, 16),
             (6 + NOBODY, 0, NOBODY - 2, 16)))
    nwarn = len(WARNING.findall(err))
    check(nwarn == 1, '%d cap warnings over %d polls, expected 1'
          % (nwarn, len(polls)))
    for p in nobody:
        kill_proc(p)


if __name__ == '__main__':
    main(body, isolated=True)
