"""svclib.py - shared parts of the capability tests (tests/service),
on top of tests/netns/nslib.py (root, namespaces, cleanup).

A Scene is three namespaces besides the host, one of each kind that
takes one of the kept capabilities to poll:
- a bind mount (/run/netns/...): found without privilege, entered with
  setns (CAP_SYS_ADMIN);
- the namespace of a process of another user (nobody), no bind mount:
  its /proc/PID/ns/net is read with CAP_SYS_PTRACE;
- the namespace of a root process with every capability, no bind mount:
  CAP_SYS_PTRACE too (tcpscope's capabilities are not a superset);
each with a listener and a connection on a port of its own. Every
record of our sockets must carry a mark (CAP_NET_ADMIN).
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'netns'))
import nslib  # noqa: E402
from nslib import (PREFIX, SELF_CONNECT, Pairs, at_cleanup, check, fail,  # noqa: E402
                   kill_proc, log, ns_add, ns_path)

# The capabilities tcpscope keeps (linux/capability.h numbers).
KEPT = {'cap_net_admin': 12, 'cap_sys_ptrace': 19, 'cap_sys_admin': 21}
KEPT_MASK = sum(1 << v for v in KEPT.values())
SYSTEM_PYTHON = '/usr/bin/python3'  # nobody cannot run a pyenv shim
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), '..', '..'))
UNIT = os.path.join(SRC, 'deploy', 'systemd', 'tcpscope.service')
_CAP = re.compile(r'^Cap(Inh|Prm|Eff|Bnd|Amb):\s*([0-9a-f]+)$', re.M)


def task_caps(pid):
    """{tid: {'Inh': mask, 'Prm': ..., 'Eff', 'Bnd', 'Amb'}} of every
    thread of pid."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
            out[int(tid)] = {k: int(v, 16) for k, v in _CAP.findall(f.read())}
    return out


def check_task_caps(pid, want, what):
    """Every thread of pid has exactly the sets in want ({'Prm': mask})."""
    tasks = task_caps(pid)
    check(len(tasks) >= 2, '%s: %d threads (the opener is missing?)'
          % (what, len(tasks)))
    for tid, sets in sorted(tasks.items()):
        for k, v in want.items():
            check(sets.get(k) == v, '%s: thread %d: Cap%s %016x, expected '
                  '%016x' % (what, tid, k, sets.get(k, -1), v))
    log('%s: %d threads, each with %s' % (what, len(tasks), ', '.join(
        'Cap%s %x' % kv for kv in sorted(want.items()))))


def caps_text(names):
    """setpriv's list of cap_a, cap_b: -all,+a,+b."""
    return ','.join(['-all'] + ['+' + n[len('cap_'):] for n in
                                sorted(names)])


UID = 61234  # DynamicUser= takes one from 61184-65519, without a passwd entry


def setpriv(ambient, bounding, nnp=True):
    """The command prefix that starts a program as systemd starts the
    unit: uid UID, `ambient` as inheritable and ambient capabilities,
    `bounding` as bounding set, no new privileges."""
    return (['setpriv', '--reuid=%d' % UID, '--regid=%d' % UID,
             '--clear-groups', '--inh-caps=' + caps_text(ambient),
             '--ambient-caps=' + caps_text(ambient),
             '--bounding-set=' + caps_text(bounding)] +
            (['--no-new-privs'] if nnp else []) + ['--'])


def copy_binary(d):
    """A copy of tcpscope in d that the unit's user can execute, whatever
    the build dir's permissions."""
    os.chmod(d, 0o755)
    copy = os.path.join(d, 'tcpscope')
    shutil.copy(nslib.tcpscope_bin(), copy)
    os.chmod(copy, 0o755)
    return copy


def unit_caps(key):
    """The capabilities a line Key= of the unit names, lower case."""
    with open(UNIT) as f:
        for line in f:
            if line.startswith(key + '='):
                return {c.lower() for c in line.split('=', 1)[1].split()}
    fail('%s has no %s= line' % (UNIT, key))


class Scene:
    def __init__(self):
        if not os.access(SYSTEM_PYTHON, os.X_OK) or not shutil.which(
                'setpriv') or not shutil.which('unshare'):
            print('SKIP: needs %s, setpriv and unshare (util-linux)'
                  % SYSTEM_PYTHON)
            sys.exit(77)
        base = 21000 + os.getpid() % 1000 * 4
        self.bind_name = PREFIX + 'caps'
        ns_add([self.bind_name])
        self.bind = Pairs(ns_path(self.bind_name), base)
        at_cleanup(self.bind.close)
        self.nobody = self._process(base + 1, ['setpriv', '--reuid=65534',
                                               '--regid=65534',
                                               '--clear-groups'])
        self.root = self._process(base + 2, [])
        # netns name -> the port of our sockets there
        self.ports = {self.bind_name: base,
                      'pid:%d' % self.nobody.pid: base + 1,
                      'pid:%d' % self.root.pid: base + 2}

    def _process(self, port, become):
        """A process in a namespace of its own (no bind mount) holding a
        listener and a connection on port, as `become` makes it."""
        p = subprocess.Popen(
            ['unshare', '--net', 'sh', '-c',
             'ip link set lo up && exec "$@"', 'sh'] + become +
            [SYSTEM_PYTHON, '-c', SELF_CONNECT, str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        at_cleanup(kill_proc, p)
        line = p.stdout.readline().split()
        if len(line) != 2 or line[0] != 'ready':
            fail('helper in a namespace of its own did not start (%r)'
                 % line)
        return p

    def want(self):
        """light_records' want(): the lines of our sockets."""
        return nslib.port_filter(*self.ports.values())

    def check_polled(self, recs, what):
        """Each namespace's listener is in recs, and our records carry
        the socket mark."""
        for name, port in sorted(self.ports.items()):
            # pid:PID, or pid:PID:ID12 in a cgroup named as containers are
            mine = [r for r in recs if
                    (r.get('netns', '') + ':').startswith(name + ':') and
                    r.get('inet_diag_msg_socket_source_port') == port and
                    r.get('inet_diag_msg_state_name') == 'listen']
            check(len(mine) == 1, '%s: the listener on port %d of '
                  'namespace %s found %d times' % (what, port, name,
                                                   len(mine)))
        ours = [r for r in recs if '_light' not in r]
        check(ours and all('mark' in r for r in ours), '%s: records '
              'without a mark (INET_DIAG_MARK needs CAP_NET_ADMIN)' % what)
        log('%s: %d namespaces polled, %d records of ours, all with a '
            'mark' % (what, len(self.ports), len(ours)))
