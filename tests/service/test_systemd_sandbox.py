#!/usr/bin/env python3
"""test_systemd_sandbox - what tcpscope does under the unit stays inside
the unit's seccomp and socket filters.

systemd cannot run as PID 1 here: tcpscope runs as the unit would start
it (its user and capabilities, made with setpriv from the unit's lines,
NOTIFY_SOCKET and WATCHDOG_USEC set) under strace, with a bind-mounted
namespace to enter, a udp destination and the null one, three polls,
with each I/O engine (uring where the kernel allows it). Then:
- every system call it made is allowed by the unit's SystemCallFilter=
  lines (the groups expanded by `systemd-analyze syscall-filter`, plus
  @default, which systemd always allows): with EPERM for the others
  (SystemCallErrorNumber=), a call outside would fail under systemd;
- every socket it made is of a family RestrictAddressFamilies= allows;
- no mapping is both writable and executable (MemoryDenyWriteExecute=).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svclib import UID, UNIT, copy_binary, setpriv, unit_caps  # noqa: E402
import nslib  # noqa: E402
from nslib import PREFIX, check, fail, log, main, ns_add, step, tmpdir  # noqa: E402

_CALL = re.compile(r'^\d+\s+([a-z_][a-z0-9_]*)\(', re.M)
_FAMILY = re.compile(r'^\d+\s+socket(?:pair)?\((AF_[A-Z0-9]+)', re.M)
_WX = re.compile(r'PROT_(?:[A-Z]+\|)*(?:WRITE\|(?:[A-Z]+\|)*EXEC|'
                 r'EXEC\|(?:[A-Z]+\|)*WRITE)')


def unit_lines(key):
    with open(UNIT) as f:
        return [line.split('=', 1)[1].split() for line in f
                if line.startswith(key + '=')]


def syscall_groups():
    """{'@group': [items]} as systemd-analyze lists them."""
    out = subprocess.run(['systemd-analyze', 'syscall-filter', '--no-pager'],
                         capture_output=True, text=True, timeout=60).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if line.startswith('@'):
            cur = groups.setdefault(line.strip(), [])
        elif not line.strip() or not line.startswith(' '):
            cur = None
        elif cur is not None and not line.strip().startswith('#'):
            cur.append(line.strip())
    if '@system-service' not in groups:
        fail('systemd-analyze syscall-filter lists no @system-service')
    return groups


def expand(items, groups, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for it in items:
        if it.startswith('@'):
            if it not in seen:
                seen.add(it)
                out |= expand(groups.get(it, []), groups, seen)
        else:
            out.add(it)
    return out


def allowed_syscalls():
    """The allow list the unit's SystemCallFilter= lines make, in order:
    the first line starts it, a ~ line takes away, others add."""
    groups = syscall_groups()
    allowed = None
    for items in unit_lines('SystemCallFilter'):
        deny = items[0].startswith('~')
        names = expand([items[0].lstrip('~')] + items[1:], groups)
        if allowed is None:
            if deny:
                fail('the unit\'s first SystemCallFilter= is a deny list')
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    if allowed is None:
        fail('the unit has no SystemCallFilter=')
    return allowed | expand(['@default'], groups)


def uring_usable(binary):
    r = subprocess.run([binary, '--once', '--quiet', '--io-engine', 'uring',
                        '--netns', 'host', '--dest', 'null'],
                       capture_output=True, timeout=60)
    return r.returncode == 0


def traced_run(binary, d, engine, notify):
    trace = os.path.join(d, 'trace.%s' % engine)
    caps = unit_caps('AmbientCapabilities')
    env = dict(os.environ, NOTIFY_SOCKET=notify, WATCHDOG_USEC='200000')
    # a sanitized build: LeakSanitizer cannot work under ptrace
    env['ASAN_OPTIONS'] = ':'.join(
        [o for o in env.get('ASAN_OPTIONS', '').split(':') if o and
         not o.startswith('detect_leaks=')] + ['detect_leaks=0'])
    env.pop('WATCHDOG_PID', None)
    with step('tcpscope --io-engine %s as the unit, under strace' % engine):
        r = subprocess.run(setpriv(caps, unit_caps('CapabilityBoundingSet'))
                           + ['strace', '-f', '-qq', '-o', trace, binary,
                              '--count', '3', '--interval', '200ms',
                              '--io-engine', engine, '--dest', 'null',
                              '--dest', 'udp://127.0.0.1:9', '--quiet'],
                           capture_output=True, timeout=120, env=env,
                           stdin=subprocess.DEVNULL)
    check(r.returncode == 0, '--io-engine %s as the unit: exit %d: %s'
          % (engine, r.returncode, r.stderr.decode()[-500:]))
    with open(trace) as f:
        text = f.read()
    # what strace's child did before it became tcpscope is not ours
    start = text.find('execve("%s"' % binary)
    check(start >= 0, 'no execve of %s in the trace' % binary)
    return text[text.rfind('\n', 0, start) + 1:]


def drain(s):
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass


def body():
    for tool in ('strace', 'systemd-analyze'):
        if not shutil.which(tool):
            print('SKIP: %s not found' % tool)
            sys.exit(77)
    allowed = allowed_syscalls()
    families = set(unit_lines('RestrictAddressFamilies')[0])
    ns_add([PREFIX + 'sandbox'])  # a namespace to setns into
    d = tmpdir()
    binary = copy_binary(d)
    os.chown(d, UID, UID)  # strace writes its trace as the unit's user
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = os.path.join(d, 'notify')
    notify.bind(notify_path)
    os.chmod(notify_path, 0o666)
    # read as systemd does: sd_notify blocks on a full queue
    threading.Thread(target=drain, args=(notify,), daemon=True).start()
    engines = ['syscall'] + (['uring'] if uring_usable(binary) else [])
    if len(engines) == 1:
        log('NOTE: io_uring is not usable here: --io-engine syscall only')
    used, fams = set(), set()
    for engine in engines:
        text = traced_run(binary, d, engine, notify_path)
        calls = set(_CALL.findall(text))
        check('setns' in calls, '--io-engine %s: no setns in the trace: '
              'the namespace was not entered' % engine)
        check(not _WX.search(text), '--io-engine %s: a writable and '
              'executable mapping: %s' % (engine, _WX.search(text)))
        used |= calls
        fams |= set(_FAMILY.findall(text))
    notify.shutdown(socket.SHUT_RDWR)
    notify.close()
    refused = sorted(used - allowed)
    check(not refused, 'system calls the unit\'s SystemCallFilter= refuses: '
          '%s' % ', '.join(refused))
    check(fams <= families, 'socket families RestrictAddressFamilies= '
          'refuses: %s' % ', '.join(sorted(fams - families)))
    log('%d system calls used (of %d allowed), families %s: all allowed'
        % (len(used), len(allowed), ' '.join(sorted(fams))))


if __name__ == '__main__':
    main(body)
