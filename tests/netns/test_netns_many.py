#!/usr/bin/env python3
"""test_netns_many: 50 named namespaces (ip netns add), each with a process
in it (ip netns exec) holding a listener and one connection on a port of its
own. One tcpscope --once must report each socket exactly once, labelled
with the namespace's name and inode (bind mount and /proc/<pid>/ns/net of
the process are the same namespace: deduplicated); the host's sockets are
labelled 'host'. Same with --workers 3. --netns A,B and --netns host
select. --netns-dirs DIR replaces the bind-mount directories: a namespace
bind-mounted in DIR takes that name, the others are found through their
processes (pid:<pid>)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (PREFIX, SELF_CONNECT, Pairs, at_cleanup, check, fail, full, key,  # noqa: E402
                   kill_proc, log, main, ns_add, ns_inode, ns_path,
                   port_filter, run_once, step, tcpscope_bin, tmpdir)

N = 50
BASE_PORT = 20000



PID_RE = re.compile(r'^pid:(\d+)(\D.*)?$')


def _ino(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def expected_for(port, cport):
    return sorted([('listen', port, 0), ('established', cport, port),
                   ('established', port, cport)])


def body():
    binary = tcpscope_bin()
    names = ['%s%02d' % (PREFIX, i) for i in range(N)]
    with step('create %d namespaces (ip -batch)' % N):
        ns_add(names)
    inode = {n: ns_inode(n) for n in names}
    check(len(set(inode.values())) == N, 'namespace inodes not distinct')
    host_ino = os.stat('/proc/self/ns/net').st_ino

    procs = {}
    with step('start one listener+connection process per namespace'):
        for i, n in enumerate(names):
            p = subprocess.Popen(
                ['ip', 'netns', 'exec', n, sys.executable, '-c', SELF_CONNECT,
                 str(BASE_PORT + i)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            at_cleanup(kill_proc, p)
            procs[n] = p
        expect = {}
        for i, n in enumerate(names):
            line = procs[n].stdout.readline().split()
            if len(line) != 2 or line[0] != 'ready':
                fail('namespace %s: helper did not start (%r)' % (n, line))
            expect[n] = expected_for(BASE_PORT + i, int(line[1]))
    host = Pairs(None, 0, 1)  # a listener and a connection in the host ns
    at_cleanup(host.close)
    inodes = set(inode.values())
    hostport = port_filter(host.port)

    def want(ns, ino, line):  # records parsed in full (see light_records)
        return ns.startswith(PREFIX) or ino in inodes or hostport(ns, ino,
                                                                   line)

    # --- default (= all) ------------------------------------------------
    with step('tcpscope --once --quiet (all namespaces)'):
        recs = run_once(binary, want=want)
    by_ino = {}
    for r in recs:
        by_ino.setdefault(r['netns_inode'], []).append(r)
    for n in names:
        got = by_ino.get(inode[n], [])
        labels = sorted({r['netns'] for r in got})
        check(labels == [n], 'namespace %s (inode %d): records labelled %s'
              % (n, inode[n], labels))
        check(sorted(key(r) for r in got) == expect[n],
              'namespace %s: sockets %s, expected each of %s exactly once'
              % (n, sorted(key(r) for r in got), expect[n]))
        for r in recs:
            if r['netns'] == n:
                check(r['netns_inode'] == inode[n],
                      'record labelled %s has inode %d, expected %d'
                      % (n, r['netns_inode'], inode[n]))
    ours = [r for r in recs if r['netns'].startswith(PREFIX)]
    check(len(ours) == 3 * N, '%d records labelled %s*, expected %d'
          % (len(ours), PREFIX, 3 * N))
    hostrecs = by_ino.get(host_ino, [])
    check(hostrecs, 'no record with the host namespace inode %d' % host_ino)
    bad = sorted({r['netns'] for r in hostrecs} - {'host'})
    check(not bad, 'host namespace records labelled %s' % bad)
    check(sorted(key(r) for r in full(hostrecs)
                 if r['inet_diag_msg_socket_source'] == '127.0.0.1' and
                 host.port in key(r)[1:]) == host.expected(),
          'host listener/connection on port %d not reported exactly once'
          % host.port)
    nsids = sorted({r['nsid'] for r in recs if 'nsid' in r})
    log('ok: %d records, %d namespaces with sockets, nsids seen: %s'
        % (len(recs), len(by_ino), nsids[:10]))

    # --- --netns all: same as the default for our namespaces ------------
    recs_all = run_once(binary, '--netns', 'all', want=want)
    check(sorted((r['netns'],) + key(r) for r in recs_all
                 if r['netns'].startswith(PREFIX)) ==
          sorted((r['netns'],) + key(r) for r in ours),
          '--netns all differs from the default')

    # --- --workers 3: the namespaces sharded over 3 poll threads ----------
    with step('tcpscope --once --workers 3'):
        recs_w = run_once(binary, '--workers', '3', want=want)
    check(sorted((r['netns'], r['netns_inode']) + key(r) for r in recs_w
                 if r['netns'].startswith(PREFIX)) ==
          sorted((r['netns'], r['netns_inode']) + key(r) for r in ours),
          '--workers 3 reports our namespaces differently from --workers 1')
    check(len({r['poll_seq'] for r in full(recs_w)}) == 1,
          '--workers 3 --once: several poll_seq values')

    # --- --netns A,B ----------------------------------------------------
    a, b = names[3], names[41]
    with step('tcpscope --once --netns %s,%s' % (a, b)):
        sel = run_once(binary, '--netns', '%s,%s' % (a, b), want=want)
    labels = sorted({r['netns'] for r in sel})
    check(labels == sorted([a, b]), '--netns %s,%s: labels %s' % (a, b, labels))
    for n in (a, b):
        got = [r for r in sel if r['netns'] == n]
        check(all(r['netns_inode'] == inode[n] for r in got),
              '--netns %s: wrong inode' % n)
        check(sorted(key(r) for r in got) == expect[n],
              '--netns %s: sockets %s, expected %s'
              % (n, sorted(key(r) for r in got), expect[n]))

    # --- --netns host ---------------------------------------------------
    with step('tcpscope --once --netns host'):
        sel = run_once(binary, '--netns', 'host', want=want)
    labels = sorted({r['netns'] for r in sel})
    check(labels == ['host'], '--netns host: labels %s' % labels[:10])
    check(all(r['netns_inode'] == host_ino for r in sel),
          '--netns host: records from another namespace')
    check(sorted(key(r) for r in full(sel)
                 if host.port in key(r)[1:] and
                 r['inet_diag_msg_socket_source'] == '127.0.0.1') ==
          host.expected(), '--netns host: host sockets missing')

    # --- --netns-dirs DIR replaces /run/netns,/run/docker/netns ----------
    d = tmpdir()
    alias = os.path.join(d, PREFIX + 'alias')
    open(alias, 'w').close()
    subprocess.run(['mount', '--bind', ns_path(names[7]), alias], check=True)
    at_cleanup(subprocess.run, ['umount', alias])
    with step('tcpscope --once --netns-dirs %s' % d):
        sel = run_once(binary, '--netns-dirs', d, want=want)
    for n in names:
        got = [r for r in sel if r['netns_inode'] == inode[n]]
        labels = sorted({r['netns'] for r in got})
        if n == names[7]:
            check(labels == [PREFIX + 'alias'], '--netns-dirs %s: namespace '
                  'mounted there as %salias labelled %s' % (d, PREFIX, labels))
        else:
            # found through its process only
            check(len(labels) == 1 and PID_RE.match(labels[0]) and
                  _ino('/proc/%s/ns/net' % PID_RE.match(labels[0]).group(1))
                  == inode[n], '--netns-dirs %s: namespace %s (process %d) '
                  'labelled %s, expected pid:<pid>' % (d, n, procs[n].pid,
                                                      labels))
        check(sorted(key(r) for r in got) == expect[n],
              '--netns-dirs: namespace %s sockets %s, expected %s'
              % (n, sorted(key(r) for r in got), expect[n]))

    with step('stop the helpers'):
        for p in procs.values():
            p.stdin.close()  # the helpers exit on EOF
        for p in procs.values():
            kill_proc(p)


if __name__ == '__main__':
    main(body)
