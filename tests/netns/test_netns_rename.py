#!/usr/bin/env python3
"""test_netns_rename: a running tcpscope names each namespace by the rule
at every reconcile, not only when it first sees it:
  - a pid-only namespace that gets a bind mount (ip netns attach) takes
    the mount's name;
  - a named namespace whose bind mount goes (ip netns del) while a process
    still holds it becomes pid:<pid>;
  - a new namespace that takes a freed name (ip netns add again) has that
    name, and no other namespace does;
  - a pid-named namespace whose named process exits while another process
    stays in it is named after a live process, not the dead one.
tcpscope --interval 100ms --family inet6 --states listen --dest file:."""
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (PREFIX, Pairs, Tail, at_cleanup, check, fail, kill_proc,  # noqa: E402
                   log, main, ns_add, ns_del, ns_inode, ns_path, start_daemon,
                   step, stop_daemon, tcpscope_bin, tmpdir)

PID_RE = re.compile(r'^pid:(\d+)(\D.*)?$')
LISTEN = r'''
import socket, sys
l = socket.socket(socket.AF_INET6); l.bind(("::1", int(sys.argv[1])))
l.listen(8); print("ready", flush=True); sys.stdin.read()
'''


def ino_of(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def spawn(argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    at_cleanup(kill_proc, p)
    if p.stdout.readline().split() != ['ready']:
        fail('helper did not start: %s' % argv)
    return p


def labels(recs, ino):
    return sorted({r['netns'] for r in recs if r['netns_inode'] == ino})


def check_pid_label(recs, ino, what):
    got = labels(recs, ino)
    m = len(got) == 1 and PID_RE.match(got[0])
    check(m and ino_of('/proc/%s/ns/net' % m.group(1)) == ino,
          '%s: labelled %s, expected pid:<pid of a process in it>'
          % (what, got))
    return got[0]


def body():
    binary = tcpscope_bin()
    a, c = PREFIX + 'a', PREFIX + 'c'
    ns_add([a])
    at_cleanup(ns_del, [c])
    pa = spawn(['ip', 'netns', 'exec', a, sys.executable, '-c', LISTEN,
                '23001'])
    ino_a = ns_inode(a)
    pu = spawn(['unshare', '-n', 'sh', '-c',
                'ip link set lo up && exec "$0" -c "$1" "$2"',
                sys.executable, LISTEN, '23002'])
    ino_u = ino_of('/proc/%d/ns/net' % pu.pid)
    # V: two processes, each with its own listener
    pv1 = spawn(['unshare', '-n', 'sh', '-c',
                 'ip link set lo up && exec "$0" -c "$1" "$2"',
                 sys.executable, LISTEN, '23004'])
    ino_v = ino_of('/proc/%d/ns/net' % pv1.pid)
    pv2 = spawn(['nsenter', '--net=/proc/%d/ns/net' % pv1.pid,
                 sys.executable, '-c', LISTEN, '23005'])

    d = tmpdir()
    out = os.path.join(d, 'out.jsonl')
    p = start_daemon(binary, '--interval', '100ms', '--quiet', '--family',
                     'inet6', '--states', 'listen', '--dest', 'file:' + out)
    tail = Tail(out)
    seq, recs = tail.later_poll(p)
    check(labels(recs, ino_a) == [a], 'poll %d: %s labelled %s'
          % (seq, a, labels(recs, ino_a)))
    check_pid_label(recs, ino_u, 'poll %d: unshare namespace' % seq)

    with step('ip netns attach %s <pid>' % c):
        subprocess.run(['ip', 'netns', 'attach', c, str(pu.pid)], check=True)
        seq, recs = tail.later_poll(p)
    check(labels(recs, ino_u) == [c], 'poll %d, after ip netns attach %s: '
          'labelled %s, expected %s' % (seq, c, labels(recs, ino_u), c))

    with step('ip netns del %s (a process keeps it)' % a):
        ns_del([a])
        seq, recs = tail.later_poll(p)
    lab = check_pid_label(recs, ino_a, 'poll %d, after ip netns del %s'
                          % (seq, a))
    log('poll %d: %s is now %s' % (seq, a, lab))

    with step('ip netns add %s again (a new namespace)' % a):
        ns_add([a], lo_up=False)
        new = Pairs(ns_path(a), 23003, 0, socket.AF_INET6)
        at_cleanup(new.close)
        ino_new = ns_inode(a)
        seq, recs = tail.later_poll(p)
    check(labels(recs, ino_new) == [a], 'poll %d: the new %s labelled %s'
          % (seq, a, labels(recs, ino_new)))
    named_a = sorted({r['netns_inode'] for r in recs if r['netns'] == a})
    check(named_a == [ino_new], 'poll %d: namespaces %s all labelled %s '
          '(the old one is %d)' % (seq, named_a, a, ino_a))
    check_pid_label(recs, ino_a, 'poll %d: the old %s' % (seq, a))

    with step('the process naming the pid-only namespace exits'):
        lab = check_pid_label(recs, ino_v, 'poll %d: namespace V' % seq)
        dead = int(PID_RE.match(lab).group(1))
        victim = pv1 if dead == pv1.pid else pv2
        kill_proc(victim)
        seq, recs = tail.later_poll(p)
    lab = check_pid_label(recs, ino_v, 'poll %d, after pid %d (named it, '
                          'now exited)' % (seq, dead))
    log('poll %d: namespace V is now %s' % (seq, lab))

    rc = stop_daemon(p)
    check(rc == 0, 'exit status %d after SIGTERM' % rc)
    for h in (pa, pu, pv1, pv2):
        kill_proc(h)


if __name__ == '__main__':
    main(body)
