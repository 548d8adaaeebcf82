#!/usr/bin/env python3
"""test_caps_unit - the capability sets deploy/systemd/tcpscope.service
gives tcpscope are enough to poll the host's other namespaces.

systemd cannot run as PID 1 here, so the unit's user and capabilities
are made with setpriv (util-linux) from the unit's own lines: an
unprivileged uid of the dynamic range with AmbientCapabilities= as
inheritable and ambient set, CapabilityBoundingSet= as bounding set,
and NoNewPrivileges=. The unit must grant exactly what tcpscope keeps.
Run so, tcpscope (a copy any user may execute) keeps its sets as they
are in every thread, polls a bind-mounted namespace and the namespaces
of a process of another user and of a root process, with the sockets'
mark, and says nothing about missing capabilities. Without
CAP_SYS_PTRACE in the ambient set, the namespaces known only through
processes are not found, and one line says so.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svclib import (KEPT, KEPT_MASK, UID, UNIT, Scene,  # noqa: E402
                    check_task_caps, copy_binary, setpriv, unit_caps)
import nslib  # noqa: E402
from nslib import (Tail, check, light_records, main, step,  # noqa: E402
                   stop_daemon, tmpdir)


def status_of(pid):
    with open('/proc/%d/status' % pid) as f:
        return dict(line.rstrip('\n').split(':\t', 1) for line in f
                    if ':\t' in line)


def body():
    ambient = unit_caps('AmbientCapabilities')
    bounding = unit_caps('CapabilityBoundingSet')
    check(ambient == set(KEPT), '%s: AmbientCapabilities= %s, tcpscope '
          'keeps %s' % (UNIT, sorted(ambient), sorted(KEPT)))
    check(bounding == set(KEPT), '%s: CapabilityBoundingSet= %s, tcpscope '
          'keeps %s' % (UNIT, sorted(bounding), sorted(KEPT)))
    scene = Scene()
    d = tmpdir()
    binary = copy_binary(d)
    out = os.open(os.path.join(d, 'out.json'), os.O_WRONLY | os.O_CREAT,
                  0o600)
    err = os.path.join(d, 'err.txt')
    # stdout: a file the test opened (the unit's user could not open it)
    p = subprocess.Popen(setpriv(ambient, bounding) + [
        binary, '--interval', '300ms', '--workers', '2', '--states',
        'listen,established'], stdin=subprocess.DEVNULL, stdout=out,
        stderr=open(err, 'wb'))
    os.close(out)
    nslib.at_cleanup(nslib.kill_proc, p)
    tail = Tail(os.path.join(d, 'out.json'), want=scene.want())
    with step('three polls as uid %d with the unit\'s capabilities' % UID):
        tail.wait_seq(3, 60, proc=p)
    with step('a whole poll'):
        seq, recs = tail.later_poll(p)
    scene.check_polled(recs, 'as the unit, poll %d' % seq)
    st = status_of(p.pid)
    check(st['Uid'].split() == [str(UID)] * 4 and st['NoNewPrivs'] == '1',
          'not the unit\'s user: Uid %s, NoNewPrivs %s' % (st['Uid'],
                                                         st['NoNewPrivs']))
    # what the unit gives, kept as it is (nothing else to drop)
    check_task_caps(p.pid, {'Prm': KEPT_MASK, 'Eff': KEPT_MASK,
                            'Bnd': KEPT_MASK, 'Inh': KEPT_MASK,
                            'Amb': KEPT_MASK}, 'tcpscope as the unit')
    check(stop_daemon(p) == 0, 'tcpscope did not exit 0 on SIGTERM')
    with open(err) as f:
        text = f.read()
    check('without CAP_' not in text and ' 0 failed' in text and
          ', 1 failed' not in text, 'as the unit: stderr %r' % text[-600:])
    without_ptrace(scene, binary, ambient, bounding)


def without_ptrace(scene, binary, ambient, bounding):
    less = ambient - {'cap_sys_ptrace'}
    with step('--once without cap_sys_ptrace'):
        r = subprocess.run(setpriv(less, bounding) + [
            binary, '--once', '--states', 'listen'], capture_output=True,
            timeout=60, stdin=subprocess.DEVNULL)
    text = r.stderr.decode()
    check(r.returncode == 0, 'without cap_sys_ptrace: exit %d: %s'
          % (r.returncode, text[-300:]))
    check('tcpscope: without CAP_SYS_PTRACE: ' in text, 'without '
          'cap_sys_ptrace: no line says so: %r' % text[:300])
    names = {x.get('netns') for x in light_records(r.stdout.decode(),
                                                   scene.want())}
    check(scene.bind_name in names and not any(
        n.startswith('pid:') for n in names if n),
        'without cap_sys_ptrace: namespaces %s (the bind mount alone '
        'expected besides the host)' % sorted(n for n in names if n))


if __name__ == '__main__':
    main(body)
