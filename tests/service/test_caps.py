#!/usr/bin/env python3
"""test_caps - a root tcpscope keeps only CAP_SYS_ADMIN, CAP_SYS_PTRACE
and CAP_NET_ADMIN, in every thread, and still polls every namespace.

As root, with --workers 2 (main, the setns opener, a second poll
thread): after startup every thread's /proc/PID/task/TID/status shows
permitted = effective = bounding = the three, inheritable = ambient = 0;
the polls still find a bind-mounted namespace (setns), the namespace of
another user's process and that of a root process (/proc/PID/ns/net,
CAP_SYS_PTRACE), with the sockets' mark (CAP_NET_ADMIN); no namespace
fails, and nothing is said about missing capabilities.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svclib import KEPT_MASK, Scene, check_task_caps  # noqa: E402
import nslib  # noqa: E402  (svclib puts tests/netns on the path)
from nslib import Tail, check, main, start_daemon, step, stop_daemon, tmpdir  # noqa: E402


def body():
    binary = nslib.tcpscope_bin()
    scene = Scene()
    d = tmpdir()
    out, err = os.path.join(d, 'out.json'), os.path.join(d, 'err.txt')
    p = start_daemon(binary, '--interval', '300ms', '--workers', '2',
                     '--states', 'listen,established', '--dest',
                     'file:' + out, stderr_path=err)
    tail = Tail(out, want=scene.want())
    with step('three polls'):
        tail.wait_seq(3, 60, proc=p)
    with step('a whole poll'):
        seq, recs = tail.later_poll(p)
    scene.check_polled(recs, 'root tcpscope, poll %d' % seq)
    check_task_caps(p.pid, {'Prm': KEPT_MASK, 'Eff': KEPT_MASK,
                            'Bnd': KEPT_MASK, 'Inh': 0, 'Amb': 0},
                    'root tcpscope')
    check(stop_daemon(p) == 0, 'tcpscope did not exit 0 on SIGTERM')
    with open(err) as f:
        text = f.read()
    check('without CAP_' not in text, 'a kept capability is said to be '
          'missing: %r' % text[:500])
    failed = re.findall(r'namespaces \d+ \(\+\d+ -\d+, (\d+) failed', text)
    check(failed and all(n == '0' for n in failed),
          'namespaces failed: %r' % text[-500:])


if __name__ == '__main__':
    main(body)
