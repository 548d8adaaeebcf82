#!/usr/bin/env python3
"""test_netns_pid: a namespace that exists only as /proc/<pid>/ns/net of
its processes (unshare -n, no bind mount) is found and labelled
pid:<pid> (any pid of a process in it; a container id may follow), with
the namespace's inode; once its processes are gone it is no longer
reported. Host processes' /proc/<pid>/ns/net are deduplicated into 'host'."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (SELF_CONNECT, Pairs, at_cleanup, check, fail, full, key, kill_proc,  # noqa: E402
                   log, main, port_filter, run_once, step, tcpscope_bin)

PORT = 20777
NAME_RE = re.compile(r'^pid:(\d+)(\D.*)?$')


def uring_usable(binary):
    r = subprocess.run([binary, '--once', '--quiet', '--io-engine', 'uring',
                        '--netns', 'host', '--dest', 'null'],
                       capture_output=True, timeout=60)
    return r.returncode == 0


def body():
    binary = tcpscope_bin()
    host_ino = os.stat('/proc/self/ns/net').st_ino
    with step('unshare -n: namespace without a bind mount'):
        # sh stays the parent of python: two processes in the namespace
        p = subprocess.Popen(
            ['unshare', '-n', 'sh', '-c',
             'ip link set lo up && "$0" -c "$1" "$2"; exit $?',
             sys.executable, SELF_CONNECT, str(PORT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        at_cleanup(kill_proc, p)
        line = p.stdout.readline().split()
        if len(line) != 2 or line[0] != 'ready':
            fail('unshare helper did not start (%r)' % line)
        cport = int(line[1])
    ino = os.stat('/proc/%d/ns/net' % p.pid).st_ino
    check(ino != host_ino, 'unshare -n did not create a namespace')
    members = sorted(int(e) for e in os.listdir('/proc') if e.isdigit()
                     and _ino('/proc/%s/ns/net' % e) == ino)
    log('namespace inode %d, processes %s' % (ino, members))
    expect = sorted([('listen', PORT, 0), ('established', cport, PORT),
                     ('established', PORT, cport)])
    host = Pairs(None, 0, 1)
    at_cleanup(host.close)
    hostport = port_filter(host.port)

    def want(ns, i, line):
        return i == ino or ns.startswith('pid:') or hostport(ns, i, line)

    def check_run(*args):
        with step('tcpscope --once %s' % ' '.join(args)):
            recs = run_once(binary, *args, want=want)
        got = [r for r in recs if r['netns_inode'] == ino]
        check(sorted(key(r) for r in got) == expect,
              'namespace %d: sockets %s, expected each of %s exactly once'
              % (ino, sorted(key(r) for r in got), expect))
        labels = sorted({r['netns'] for r in got})
        check(len(labels) == 1, 'namespace %d labelled %s' % (ino, labels))
        m = NAME_RE.match(labels[0])
        check(m, 'label %r is not pid:<pid>' % labels[0])
        pid = int(m.group(1))
        check(_ino('/proc/%d/ns/net' % pid) == ino,
              'label %r: /proc/%d/ns/net is not namespace %d (members %s)'
              % (labels[0], pid, ino, members))
        log('labelled %r (lowest member pid %d)' % (labels[0], members[0]))
        check(all(r['netns_inode'] == ino for r in recs
                  if r['netns'] == labels[0]),
              'label %r used for another namespace too' % labels[0])

        hostrecs = [r for r in recs if r['netns_inode'] == host_ino]
        bad = sorted({r['netns'] for r in hostrecs} - {'host'})
        check(not bad, 'host namespace records labelled %s' % bad)
        check(sorted(key(r) for r in full(hostrecs) if host.port in key(r)[1:] and
                     r['inet_diag_msg_socket_source'] == '127.0.0.1') ==
              host.expected(), 'host sockets not reported exactly once')

        return labels[0]

    label = check_run()
    # the uring engine stats /proc/<pid>/ns/net through its ring
    if uring_usable(binary):
        check(check_run('--io-engine', 'uring') == label,
              'the uring engine labels the namespace differently')
    else:
        log('io_uring unusable here: the uring run is left out')

    with step('namespace gone with its processes'):
        kill_proc(p)
        for pid in members:
            check(not os.path.exists('/proc/%d' % pid) or
                  _ino('/proc/%d/ns/net' % pid) != ino,
                  'process %d still in the namespace' % pid)
        recs = run_once(binary, want=want)
        stale = [r for r in recs if r['netns'] == label or
                 (r['netns_inode'] == ino and r['netns'] != 'host')]
        check(not stale, 'vanished namespace still reported: %.300s'
              % (stale[:1],))


def _ino(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


if __name__ == '__main__':
    main(body)
