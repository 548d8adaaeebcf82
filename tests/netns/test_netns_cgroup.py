#!/usr/bin/env python3
"""test_netns_cgroup: a namespace's container id is derived from its
process's cgroup v2 path, and trusted only when the cgroup is root's (as a
runtime makes it). Two processes, each in a namespace of its own (unshare,
no bind mount) and in a cgroup named like a docker scope under
CGROOT/tsc-<id>-*/docker-<64 hex>.scope (CGROOT: the cgroup2 mount,
/sys/fs/cgroup or /sys/fs/cgroup/unified): the one whose cgroup
directories are root's is labelled pid:<pid>:<id12> with container_id and
container_runtime docker; the one whose directories belong to nobody (a
delegated cgroup, which its user may name anything) is plain pid:<pid>,
without container fields. The cgroups are removed afterwards. Runs
isolated (nslib.isolate), so that tcpscope's /proc walk sees only the
test's processes."""
import os
import pwd
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nslib import (TSC_PREFIX, at_cleanup, check, fail, full, kill_proc,  # noqa: E402
                   log, main, port_filter, run_once, step, tcpscope_bin)



def cgroup2_mount():
    """Where tcpscope looks: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    hybrid host; None when neither is a cgroup2 mount."""
    with open('/proc/self/mounts') as f:
        mounts = {line.split()[1] for line in f if line.split()[2] ==
                  'cgroup2'}
    for d in ('/sys/fs/cgroup', '/sys/fs/cgroup/unified'):
        if d in mounts:
            return d
    return None


CGROOT = cgroup2_mount()

# Joins the cgroup argv[1], makes its own network namespace, listens on
# 127.0.0.1 there and prints "ready <port>"; holds until stdin closes.
HELPER = r'''
import ctypes, os, socket, sys
sys.path.insert(0, sys.argv[2])
from nslib import CLONE_NEWNET, lo_up_here
with open(os.path.join(sys.argv[1], "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET) != 0:
    raise OSError(ctypes.get_errno(), "unshare")
lo_up_here()
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print("ready", l.getsockname()[1], flush=True)
sys.stdin.read()
'''


def make_cgroup(parent, leaf, owner):
    """CGROOT/parent/leaf, chowned (both) to owner when not None."""
    top = os.path.join(CGROOT, parent)
    os.mkdir(top)
    at_cleanup(os.rmdir, top)
    path = os.path.join(top, leaf)
    os.mkdir(path)
    at_cleanup(os.rmdir, path)
    if owner is not None:
        for d in (top, path):
            os.chown(d, owner, owner)
            os.chown(os.path.join(d, 'cgroup.procs'), owner, owner)
    return path


def start_in(cg):
    p = subprocess.Popen([sys.executable, '-c', HELPER, cg, HERE],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    at_cleanup(kill_proc, p)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != 'ready':
        fail('helper in %s did not start (%r)' % (cg, line))
    return p, int(line[1])


def body():
    binary = tcpscope_bin()
    nobody = pwd.getpwnam('nobody').pw_uid
    ids = {'root': os.urandom(32).hex(), 'deleg': os.urandom(32).hex()}
    with step('a root cgroup and a delegated one, both named like docker'):
        cgs = {
            'root': make_cgroup(TSC_PREFIX + 'ctr',
                                'docker-%s.scope' % ids['root'], None),
            'deleg': make_cgroup(TSC_PREFIX + 'deleg',
                                 'docker-%s.scope' % ids['deleg'], nobody),
        }
        procs = {k: start_in(cg) for k, cg in cgs.items()}
    ino = {k: os.stat('/proc/%d/ns/net' % p.pid).st_ino
           for k, (p, _) in procs.items()}
    want = port_filter(*[port for _, port in procs.values()])
    with step('tcpscope --once --states listen'):
        recs = full(run_once(binary, '--states', 'listen', want=want))

    for k, (p, port) in procs.items():
        got = [r for r in recs if r['netns_inode'] == ino[k] and
               r['inet_diag_msg_socket_source_port'] == port]
        check(len(got) == 1, '%s: listener found %d times' % (k, len(got)))
        if not got:
            continue
        r = got[0]
        log('%s cgroup: netns %r, container_id %r' %
            (k, r['netns'], r.get('container_id')))
        if k == 'root':
            check(r['netns'] == 'pid:%d:%s' % (p.pid, ids[k][:12]),
                  'root cgroup: labelled %r' % r['netns'])
            check(r.get('container_id') == ids[k] and
                  r.get('container_runtime') == 'docker',
                  'root cgroup: container_id %r, runtime %r'
                  % (r.get('container_id'), r.get('container_runtime')))
        else:
            check(r['netns'] == 'pid:%d' % p.pid,
                  'delegated cgroup named like a container: labelled %r'
                  % r['netns'])
            check('container_id' not in r and 'container_runtime' not in r,
                  'delegated cgroup: container_id %r trusted'
                  % r.get('container_id'))
    for p, _ in procs.values():
        kill_proc(p)


if __name__ == '__main__':
    if CGROOT is None or not os.access(CGROOT, os.W_OK):
        print('SKIP: no writable cgroup2 mount at /sys/fs/cgroup or '
              '/sys/fs/cgroup/unified')
        sys.exit(77)
    main(body, isolated=True)
