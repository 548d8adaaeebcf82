#!/usr/bin/env python3
"""test_netns_fdlimit: 200 namespaces against a small open-files limit.
Each namespace polled holds 2 fds. With RLIMIT_NOFILE 128 (soft and hard:
raising cannot help), tcpscope polls what fits, counts every other
namespace as failed with the reason (Too many open files), never as gone
(the summary's total is every namespace), keeps polling the host, warns
once (not once per poll), and exits 0. With soft 64 and hard 4096 it
raises its soft limit to the hard one at startup and polls them all.
Runs isolated (nslib.isolate): private /run/netns and /proc."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (TSC_PREFIX, Pairs, at_cleanup, check, full, key,  # noqa: E402
                   light_records, log, main, ns_add, port_filter, step,
                   tcpscope_bin)

N = 200
SUMMARY = re.compile(r'namespaces (\d+) \(\+\d+ -\d+, (\d+) failed, '
                     r'\d+ skipped, [^)]*\); (\d+) dumps')
WARNING = 'not opened: out of file descriptors'


def run(binary, nofile, *args):
    argv = ['prlimit', '--nofile=' + nofile, '--', binary, '--walk', 'two', '--states',
            'listen'] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    polls = [tuple(map(int, m.groups()))
             for m in map(SUMMARY.search, p.stderr.splitlines()) if m]
    log('nofile %s: exit %d, polls (total, failed, dumps) %s'
        % (nofile, p.returncode, sorted(set(polls))))
    check(p.returncode == 0, 'nofile %s: exit %d: %s'
          % (nofile, p.returncode, p.stderr[-800:]))
    check(polls, 'nofile %s: no summary line: %r' % (nofile, p.stderr[-800:]))
    return p, polls


def body():
    if shutil.which('prlimit') is None:
        print('SKIP: prlimit (util-linux) not found')
        sys.exit(77)
    binary = tcpscope_bin()
    names = ['%sfd%03d' % (TSC_PREFIX, i) for i in range(N)]
    with step('create %d namespaces' % N):
        ns_add(names, lo_up=False)
    host = Pairs(None, 0, 1)
    at_cleanup(host.close)
    hostport = port_filter(host.port)

    with step('RLIMIT_NOFILE 128:128, 3 polls'):
        p, polls = run(binary, '128:128', '--count', '3', '--interval',
                       '100ms')
    check(len(polls) == 3, '%d summaries for 3 polls' % len(polls))
    for total, failed, dumps in polls:
        polled = dumps // 2  # inet and inet6
        check(total == N + 1, 'namespaces %d, expected %d: the ones not '
              'opened must be counted, not lost' % (total, N + 1))
        check(failed == total - polled and 0 < polled < total,
              '%d failed, %d polled of %d' % (failed, polled, total))
    check('cannot open: Too many open files' in p.stderr,
          'the reason is not given: %r' % p.stderr[-600:])
    nwarn = p.stderr.count(WARNING)
    check(nwarn == 1, '%d fd warnings over 3 polls, expected 1: %r'
          % (nwarn, p.stderr[-800:]))
    recs = full(light_records(p.stdout, hostport))
    check(sorted({key(r) for r in recs if r['netns'] == 'host' and
                  key(r)[1] == host.port}) == host.expected(('listen',)),
          'the host listener is missing')

    with step('RLIMIT_NOFILE 64:4096 (raised to 4096 at startup)'):
        p, polls = run(binary, '64:4096', '--once')
    total, failed, dumps = polls[0]
    check((total, failed, dumps) == (N + 1, 0, 2 * (N + 1)),
          'namespaces %d, %d failed, %d dumps: expected %d, 0, %d'
          % (total, failed, dumps, N + 1, 2 * (N + 1)))
    check(WARNING not in p.stderr, 'fd warning with room: %r'
          % p.stderr[-500:])


if __name__ == '__main__':
    main(body, isolated=True)
