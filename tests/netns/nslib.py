"""nslib.py - shared helpers for the 'netns' test suite (Python 3 stdlib).

Every test creates its namespaces under a unique prefix tsnt<pid>- and
removes them (and every process it started) in a finally block; leftovers
of earlier runs whose test process is gone are removed at start.
"""
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NETNS_DIR = '/run/netns'
PREFIX = 'tsnt%d-' % os.getpid()
# A prefix unique on the host even inside isolate()'s pid namespace (where
# every test is pid 1): the pid the test has outside it.
os.environ.setdefault('TSNT_OUTER_PID', str(os.getpid()))
TSC_PREFIX = 'tsc-%s-' % os.environ['TSNT_OUTER_PID']
_LEFTOVER = re.compile(r'^tsnt(\d+)-')
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# Runs inside a namespace: listen on 127.0.0.1:PORT (argv[1]), connect to
# itself, print "ready <client port>", hold everything until stdin closes.
SELF_CONNECT = r'''
import socket, sys
port = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(8)
c = socket.create_connection(("127.0.0.1", port)); a, _ = l.accept()
print("ready", c.getsockname()[1], flush=True)
sys.stdin.read()
'''

_T0 = time.monotonic()


class TestFailure(Exception):
    pass


def log(msg):
    print('[%7.2fs] %s' % (time.monotonic() - _T0, msg), flush=True)


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


class step:
    """with step('what'): ... logs the step's wall time."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.t = time.monotonic()
        log('%s ...' % self.what)
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.t
        log('%s: %.2f s%s' % (self.what, self.elapsed,
                              '' if exc[0] is None else ' (failed)'))
        return False


def _on_sigterm(signum, frame):
    # meson's timeout sends SIGTERM: turn it into an exception so that every
    # finally block (namespace and process cleanup) still runs.
    raise KeyboardInterrupt('signal %d' % signum)


def isolate(net=False):
    """Re-executes the test as pid 1 of a new pid namespace, with /proc of
    that namespace and a private tmpfs on /run/netns (new mount namespace):
    tcpscope then sees exactly the test's namespaces and processes (plus
    the host's), whatever other jobs do on the machine, and nobody else
    sees the test's bind mounts. When the test ends, the kernel kills
    whatever it left in the pid namespace and drops the mounts. net: a
    network namespace of its own too (lo up), tcpscope's "host" there,
    whose sockets (TIME_WAIT included) die with it."""
    if os.environ.get('TSNT_ISOLATED') == '1':
        os.makedirs(NETNS_DIR, exist_ok=True)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=1m',
                        'tsnt', NETNS_DIR], check=True)
        if net:
            lo_up_here()
        log('isolated: pid %d, private %s' % (os.getpid(), NETNS_DIR))
        return
    if shutil.which('unshare') is None:
        print('SKIP: unshare (util-linux) not found')
        sys.exit(77)
    env = dict(os.environ, TSNT_ISOLATED='1')
    sys.stdout.flush()
    # unshare --fork ignores SIGTERM/SIGINT while it waits: signals reach the
    # test through its process group instead (meson's timeout does the same)
    net_arg = ['--net'] if net else []
    p = subprocess.Popen(['unshare', '--mount', '--propagation', 'private',
                          '--pid', '--fork', '--mount-proc'] + net_arg +
                         ['--kill-child=SIGTERM', sys.executable,
                          os.path.abspath(sys.argv[0])] + sys.argv[1:],
                         env=env, start_new_session=True)

    def forward(signum, frame):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    rc = p.wait()
    sys.exit(rc if rc >= 0 else 128 - rc)


def main(body, isolated=False, net=False):
    """Runs body() with the suite's conventions: 77 when not root, 1 on
    failure, cleanup always (body registers it with at_cleanup).
    isolated, net: see isolate()."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    if os.geteuid() != 0:
        print('SKIP: needs root (creates network namespaces with ip netns)')
        sys.exit(77)
    if shutil.which('ip') is None:
        print('SKIP: ip (iproute2) not found')
        sys.exit(77)
    if isolated:
        isolate(net)
    rc = 0
    try:
        remove_leftovers()
        body()
        log('PASS')
    except TestFailure as e:
        log('FAIL: %s' % e)
        rc = 1
    except BaseException as e:  # noqa: B902 - report, clean up, exit 1
        import traceback
        traceback.print_exc()
        log('FAIL: %s: %s' % (type(e).__name__, e))
        rc = 1
    finally:
        run_cleanups()
    log('total %.1f s' % (time.monotonic() - _T0))
    sys.exit(rc)


_cleanups = []


def at_cleanup(fn, *args):
    _cleanups.append((fn, args))


def run_cleanups():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while _cleanups:
        fn, args = _cleanups.pop()
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 - keep cleaning
            print('cleanup %s: %s' % (getattr(fn, '__name__', fn), e),
                  flush=True)


# ---------------------------------------------------------------- tcpscope

def tcpscope_bin():
    path = os.environ.get('TCPSCOPE_BIN')
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, '..', '..', 'build', 'src', 'tcpscope')
    if not os.access(path, os.X_OK):
        fail('tcpscope binary not found: %s (set TCPSCOPE_BIN)' % path)
    out = subprocess.run([path, '--help'], capture_output=True, text=True,
                         timeout=10).stdout
    if '--netns' not in out:
        fail('%s --help does not list --netns: namespace support missing' %
             path)
    return path


def parse_records(text, what='tcpscope'):
    recs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            fail('%s: line %d is not JSON (%s): %.200s' % (what, n, e, line))
        check(isinstance(r, dict), '%s: line %d is not an object' % (what, n))
        recs.append(r)
    return recs


def check_ns_fields(recs):
    """Every record carries netns (string) and netns_inode (integer > 0);
    nsid, when present, is an integer."""
    for r in recs:
        check(isinstance(r.get('netns'), str) and r['netns'] != '',
              'record without a netns name: %.300s' % json.dumps(r))
        check(isinstance(r.get('netns_inode'), int) and r['netns_inode'] > 0,
              'record without a netns_inode: %.300s' % json.dumps(r))
        if 'nsid' in r:
            check(isinstance(r['nsid'], int),
                  'nsid is not an integer: %.300s' % json.dumps(r))


_LIGHT = re.compile(r'"netns":"((?:[^"\\]|\\.)*)","netns_inode":(\d+)')
_NSID = re.compile(r'"nsid":(-?\d+)')


def light_records(text, want, what='tcpscope'):
    """Parses JSON lines cheaply (the host may hold 100k sockets of other
    jobs): every line's netns/netns_inode/nsid by regex, the whole object
    only for lines where want(netns, inode, line) is true (and, as a JSON
    check, every 97th line). Other records come back as
    {'netns', 'netns_inode'[, 'nsid'], '_light': True}."""
    recs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LIGHT.search(line)
        full = m is None or n % 97 == 0 or want is None or \
            want(m.group(1), int(m.group(2)), line)
        if full:
            try:
                r = json.loads(line)
            except ValueError as e:
                fail('%s: line %d is not JSON (%s): %.200s' % (what, n, e,
                                                             line))
            check(isinstance(r, dict), '%s: line %d is not an object'
                  % (what, n))
            if not (m is None or want is None or
                    want(m.group(1), int(m.group(2)), line)):
                r = {k: r[k] for k in ('netns', 'netns_inode', 'nsid')
                     if k in r}
                r['_light'] = True
        else:
            r = {'netns': json.loads('"%s"' % m.group(1)),
                 'netns_inode': int(m.group(2)), '_light': True}
            i = _NSID.search(line)
            if i:
                r['nsid'] = int(i.group(1))
        recs.append(r)
    return recs


def run_once(binary, *args, want=None, timeout=120):
    """tcpscope --once --quiet ARGS; records as light_records(), read as a
    stream (bounded memory whatever the host's load)."""
    argv = [binary, '--once', '--quiet'] + list(args)
    what = ' '.join(argv)
    t = time.monotonic()
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                         stdin=subprocess.DEVNULL)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    recs = []
    try:
        batch = []
        for line in p.stdout:
            batch.append(line.decode())
            if len(batch) == 4096:
                recs += light_records(''.join(batch), want, what)
                batch = []
        recs += light_records(''.join(batch), want, what)
        rc = p.wait()
    finally:
        timer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
    dt = time.monotonic() - t
    err.seek(0)
    if rc != 0:
        fail('%s: exit %d, stderr: %s' % (what, rc,
                                          err.read().decode()[-2000:]))
    check_ns_fields(recs)
    log('%s: %d records in %.2f s' % (' '.join(argv[1:]), len(recs), dt))
    return recs


def full(recs):
    return [r for r in recs if '_light' not in r]


def port_filter(*ports):
    """want() for light_records: lines mentioning one of ports as source or
    destination port."""
    pats = ['"inet_diag_msg_socket_%s_port":%d,' % (d, p)
            for p in ports for d in ('source', 'destination')]
    return lambda ns, ino, line: any(x in line for x in pats)


def key(r):
    """(state, sport, dport) of a record."""
    return (r['inet_diag_msg_state_name'],
            r['inet_diag_msg_socket_source_port'],
            r['inet_diag_msg_socket_destination_port'])


def start_daemon(binary, *args, stderr_path=None):
    err = open(stderr_path, 'wb') if stderr_path else subprocess.DEVNULL
    p = subprocess.Popen([binary] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    if stderr_path:
        err.close()
    at_cleanup(kill_proc, p)
    log('started tcpscope pid %d: %s' % (p.pid, ' '.join(args)))
    return p


def stop_daemon(p, timeout=15):
    """SIGTERM; returns the exit code."""
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        fail('tcpscope pid %d did not exit within %d s of SIGTERM' %
             (p.pid, timeout))


def kill_proc(p):
    if p.poll() is not None:
        return
    try:
        if p.stdin:
            p.stdin.close()
    except OSError:
        pass
    try:
        p.wait(0.5)
        return
    except subprocess.TimeoutExpired:
        pass
    p.terminate()
    try:
        p.wait(3)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def threads_of(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Threads:'):
                n = int(line.split()[1])
                break
        else:
            fail('no Threads: line for pid %d' % pid)
    ntask = len(os.listdir('/proc/%d/task' % pid))
    check(n == ntask, 'pid %d: Threads: %d but %d entries in task/' %
          (pid, n, ntask))
    return n


def fds_of(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def min_fds(pid, samples=5, gap=0.037):
    """Resting fd count: the minimum of a few samples (a reconcile may hold
    a transient directory fd at the instant of one sample)."""
    best = None
    for i in range(samples):
        n = fds_of(pid)
        best = n if best is None else min(best, n)
        if i + 1 < samples:
            time.sleep(gap)
    return best


def alive(p):
    return p.poll() is None


# -------------------------------------------------------------- namespaces

def ns_path(name):
    return os.path.join(NETNS_DIR, name)


def ns_inode(name):
    return os.stat(ns_path(name)).st_ino  # stat -L -c %i /run/netns/NAME


def ip_batch(lines, force=True, timeout=300):
    if not lines:
        return
    argv = ['ip'] + (['-force'] if force else []) + ['-batch', '-']
    p = subprocess.run(argv, input='\n'.join(lines) + '\n', text=True,
                       capture_output=True, timeout=timeout)
    if p.returncode != 0 and not force:
        fail('ip -batch failed: %s' % p.stderr.strip()[-1000:])
    return p


def ns_add(names, lo_up=True):
    """Creates namespaces (one ip -batch) and brings lo up in each."""
    names = list(names)
    at_cleanup(ns_del, names)
    lines = ['netns add %s' % n for n in names]
    if lo_up:
        lines += ['netns exec %s ip link set lo up' % n for n in names]
    ip_batch(lines, force=False)


def ns_del(names):
    names = [n for n in names if os.path.exists(ns_path(n))]
    ip_batch(['netns del %s' % n for n in names])


def remove_leftovers():
    try:
        entries = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return
    stale = []
    for e in entries:
        m = _LEFTOVER.match(e)
        if not m:
            continue
        pid = int(m.group(1))
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                mine = b'test_netns' in f.read() and pid != os.getpid()
        except OSError:
            mine = False
        if pid == os.getpid() or not mine:
            stale.append(e)
    if stale:
        log('removing %d leftover namespaces of earlier runs' % len(stale))
        ns_del(stale)


def system_netns_set():
    """Inodes of every namespace tcpscope is meant to see."""
    s = set()
    for d in (NETNS_DIR, '/run/docker/netns'):
        try:
            for e in os.listdir(d):
                try:
                    s.add(os.stat(os.path.join(d, e)).st_ino)
                except OSError:
                    pass
        except OSError:
            pass
    for e in os.listdir('/proc'):
        if e.isdigit():
            try:
                s.add(os.stat('/proc/%s/ns/net' % e).st_ino)
            except OSError:
                pass
    return s


# -------------------------------------------- sockets inside a namespace
# The test process itself enters a namespace with setns(2) (ctypes; the
# calling thread only, and the test is single-threaded), makes sockets there
# (they stay in that namespace) and returns to its own namespace.

_libc = ctypes.CDLL(None, use_errno=True)
_home_fd = None


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'setns: %s' % os.strerror(e))


class in_netns:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        global _home_fd
        if _home_fd is None:
            _home_fd = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        _setns(_home_fd)  # failing here would leave us elsewhere: raise
        return False


def lo_up_here():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack('16sH14x', b'lo', 0))
        flags = struct.unpack('16sH', ifr[:18])[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS,
                        struct.pack('16sH14x', b'lo', flags | IFF_UP))
    finally:
        s.close()


class Pairs:
    """A listener on 127.0.0.1:port (::1 for AF_INET6) and npairs established connections to
    it, in the namespace at path (or here when path is None)."""

    def __init__(self, path, port, npairs=1, family=socket.AF_INET):
        self.port = port
        self.family = family
        self.addr = '127.0.0.1' if family == socket.AF_INET else '::1'
        self.socks = []
        self.client_ports = []
        if path:
            with in_netns(path):
                self._make(npairs, True)
        else:
            self._make(npairs, False)

    def _make(self, npairs, lo):
        if lo:
            lo_up_here()
        l = socket.socket(self.family, socket.SOCK_STREAM)
        self.socks.append(l)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((self.addr, self.port))
        if self.port == 0:
            self.port = l.getsockname()[1]
        l.listen(max(npairs, 8))
        for _ in range(npairs):
            c = socket.socket(self.family, socket.SOCK_STREAM)
            self.socks.append(c)
            c.connect((self.addr, self.port))
            a, _ = l.accept()
            self.socks.append(a)
            self.client_ports.append(c.getsockname()[1])

    def expected(self, states=('listen', 'established')):
        """Sorted (state, sport, dport) of every socket in states."""
        e = [('listen', self.port, 0)]
        for cp in self.client_ports:
            e.append(('established', cp, self.port))
            e.append(('established', self.port, cp))
        return sorted(x for x in e if x[0] in states)

    def close(self):
        for s in self.socks:
            try:
                # RST instead of FIN: no TIME_WAIT left behind
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack('ii', 1, 0))
            except OSError:
                pass
            s.close()
        self.socks = []


class Tail:
    """Streaming reader of a growing JSON-lines output file, in bounded
    memory: every line's poll_seq is tracked; whole records are kept (in
    by_seq) only from poll keep_from on and only where want(netns, inode,
    line) (see light_records), so that another job's 100k sockets on the
    host cannot exhaust memory."""

    CHUNK = 8 << 20
    _SEQ = re.compile(r'"poll_seq":(\d+)')

    def __init__(self, path, want=None):
        self.path = path
        self.want = want
        self.off = 0
        self.partial = b''
        self.max_seq = 0
        self.lines = 0
        self.by_seq = {}
        self.names = set()  # every netns label seen

    def read(self, keep_from=None):
        try:
            f = open(self.path, 'rb')
        except FileNotFoundError:
            return
        with f:
            f.seek(self.off)
            while True:
                data = f.read(self.CHUNK)
                if not data:
                    break
                self.off += len(data)
                data = self.partial + data
                cut = data.rfind(b'\n') + 1
                self.partial = data[cut:]
                for line in data[:cut].decode().splitlines():
                    self._line(line, keep_from)

    def _line(self, line, keep_from):
        self.lines += 1
        m = self._SEQ.search(line)
        if not m:
            fail('%s: line %d without poll_seq: %.200s' % (self.path,
                                                           self.lines, line))
        seq = int(m.group(1))
        self.max_seq = max(self.max_seq, seq)
        m = _LIGHT.search(line)
        if m:
            self.names.add(m.group(1))
        if keep_from is None or seq < keep_from:
            return
        recs = light_records(line, self.want, self.path)
        check_ns_fields(recs)
        if recs and '_light' not in recs[0]:
            self.by_seq.setdefault(seq, []).append(recs[0])

    def wait_seq(self, seq, timeout, keep_from=None, proc=None):
        end = time.monotonic() + timeout
        while True:
            self.read(keep_from)
            if self.max_seq >= seq:
                return
            if proc is not None and not alive(proc):
                fail('tcpscope exited (%s) while waiting for poll %d'
                     % (proc.returncode, seq))
            if time.monotonic() > end:
                fail('no poll %d within %.0f s (last %d)'
                     % (seq, timeout, self.max_seq))
            time.sleep(0.05)

    def later_poll(self, proc, timeout=20):
        """(seq, records) of a whole poll that began after this call: the
        one in progress now is at most max_seq + 1, so max_seq + 2, complete
        once a record of a later poll is in the file."""
        self.read()
        target = self.max_seq + 2
        self.wait_seq(target + 1, timeout, keep_from=target, proc=proc)
        recs = self.by_seq.get(target, [])
        self.by_seq = {}
        return target, recs


def tmpdir():
    d = tempfile.mkdtemp(prefix='tcpscope-netns-')
    at_cleanup(shutil.rmtree, d, True)
    return d
