"""livelib.py - shared helpers of the live tests (stdlib only).

Each live test is one script: it calls main(fn); fn raises Fail (or uses
check()) for a failed assertion, Skip for a test that cannot run here
(exit 77, meson's "skipped"). Every process a test starts goes through
run() or Daemon, which kill what they started.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback

SKIP = 77


class Fail(Exception):
    pass


class Skip(Exception):
    pass


_failures = []


def check(cond, msg):
    """Records a failed assertion and goes on (the test still fails)."""
    if not cond:
        _failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return bool(cond)


def require(cond, msg):
    """A failed assertion that makes the rest of the test meaningless."""
    if not cond:
        raise Fail(msg)


def main(fn):
    try:
        fn()
    except Skip as e:
        print("SKIP: %s" % e)
        sys.exit(SKIP)
    except Fail as e:
        _failures.append(str(e))
        print("FAIL: %s" % e, file=sys.stderr)
    except Exception:
        traceback.print_exc()
        _failures.append("exception")
    if _failures:
        print("%d failure(s)" % len(_failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


def tcpscope_bin():
    b = os.environ.get("TCPSCOPE_BIN")
    if not b:
        raise Skip("TCPSCOPE_BIN is not set (run through meson test)")
    if not os.access(b, os.X_OK):
        raise Skip("TCPSCOPE_BIN=%s is not an executable" % b)
    return b


def run(args, timeout=30, input=None, env=None):
    """Runs tcpscope with args (env: the environment, default ours);
    returns (rc, stdout, stderr) as text."""
    cmd = [tcpscope_bin()] + list(args)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           input=input, env=env)
    except subprocess.TimeoutExpired:
        raise Fail("%s did not finish within %ss" % (" ".join(cmd), timeout))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def names(line, value):
    """An error line names the value (quoted, or as a whole word)."""
    if value == "''":
        return "''" in line or '""' in line
    if "'%s'" % value in line or '"%s"' % value in line:
        return True
    return re.search(r"(?<![\w.:/-])%s(?![\w.:/-])" % re.escape(value),
                     line) is not None


def parse_lines(text, what="output"):
    """Every line must be one JSON object; returns the list of dicts."""
    recs = []
    if text and not text.endswith("\n"):
        raise Fail("%s does not end with a newline (last line cut?): %r"
                   % (what, text[-200:]))
    for i, line in enumerate(text.splitlines(), 1):
        try:
            d = json.loads(line)
        except ValueError as e:
            raise Fail("%s line %d is not valid JSON (%s): %r"
                       % (what, i, e, line[:300]))
        if not isinstance(d, dict):
            raise Fail("%s line %d is not a JSON object: %r"
                       % (what, i, line[:300]))
        recs.append(d)
    return recs


def dump(args=(), timeout=60):
    """tcpscope --once --quiet ARGS: must exit 0 with no stderr; returns
    the parsed records."""
    rc, out, err = run(["--once", "--quiet"] + list(args), timeout=timeout)
    require(rc == 0, "tcpscope --once --quiet %s exited %d: %s"
            % (" ".join(args), rc, err.strip()))
    check(err == "", "--quiet still wrote to stderr: %r" % err[:300])
    return parse_lines(out, "tcpscope --once %s" % " ".join(args))


_RE_FAMILY = re.compile(r'"inet_diag_msg_family":(\d+)[,}]')
_RE_STATE = re.compile(r'"inet_diag_msg_state_name":"([a-z0-9-]+)"')
_RE_SPORT = re.compile(r'"inet_diag_msg_socket_source_port":(\d+)[,}]')
_RE_DPORT = re.compile(r'"inet_diag_msg_socket_destination_port":(\d+)[,}]')


def dump_light(args, ports, timeout=120):
    """tcpscope --once --quiet ARGS on a host that may hold 100k sockets:
    every line is checked to be one JSON object, but only the lines of
    sockets with a port in `ports` are decoded. Returns (summary, recs):
    summary = [(family, state name)] of every line, recs = decoded
    records of ours."""
    rc, out, err = run(["--once", "--quiet"] + list(args), timeout=timeout)
    what = "tcpscope --once %s" % " ".join(args)
    require(rc == 0, "%s exited %d: %s" % (what, rc, err.strip()))
    check(err == "", "%s: --quiet still wrote to stderr: %r"
          % (what, err[:300]))
    if out and not out.endswith("\n"):
        raise Fail("%s: output does not end with a newline" % what)
    summary, recs = [], []
    for i, line in enumerate(out.splitlines(), 1):
        fam = _RE_FAMILY.search(line)
        st = _RE_STATE.search(line)
        sp = _RE_SPORT.search(line)
        dp = _RE_DPORT.search(line)
        if not (line.startswith("{") and line.endswith("}") and fam and st
                and sp and dp):
            # let the decoder say what is wrong
            parse_lines(line + "\n", "%s line %d" % (what, i))
            raise Fail("%s line %d lacks family, state or ports: %r"
                       % (what, i, line[:300]))
        summary.append((int(fam.group(1)), st.group(1)))
        if int(sp.group(1)) in ports or int(dp.group(1)) in ports:
            recs.extend(parse_lines(line + "\n", "%s line %d" % (what, i)))
    return summary, recs


def tuple_of(d):
    """(local addr, local port, remote addr, remote port) of a record."""
    return (d.get("inet_diag_msg_socket_source"),
            d.get("inet_diag_msg_socket_source_port"),
            d.get("inet_diag_msg_socket_destination"),
            d.get("inet_diag_msg_socket_destination_port"))


_own_netns = None


def own_netns_inode():
    global _own_netns
    if _own_netns is None:
        try:
            _own_netns = os.stat("/proc/self/ns/net").st_ino
        except OSError:
            _own_netns = 0
    return _own_netns


def in_own_netns(d):
    """True for a record of the test's own network namespace. tcpscope may
    poll every namespace of the host (--netns all): sockets of other
    namespaces (containers, other tests) can share our addresses/ports."""
    ino = d.get("netns_inode")
    return not ino or ino == own_netns_inode()


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def shim_env():
    """The environment that preloads gai_shim.c (TCPSCOPE_GAI_SHIM, set by
    meson): names under .tcpscope.test answer as the tests need."""
    shim = os.environ.get("TCPSCOPE_GAI_SHIM")
    if not shim or not os.path.exists(shim):
        raise Skip("TCPSCOPE_GAI_SHIM is not set (run through meson test)")
    env = dict(os.environ)
    env["LD_PRELOAD"] = ":".join(x for x in (shim, env.get("LD_PRELOAD"))
                                 if x)
    # under ASan the preloaded shim comes before the ASan runtime
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0")
        if x)
    return env


class Daemon:
    """tcpscope running in the background; always killed on exit."""

    def __init__(self, args, env=None):
        import tempfile
        self.cmd = [tcpscope_bin()] + list(args)
        # stdout goes to a file: a pipe nobody reads would block the daemon
        self.out = tempfile.TemporaryFile()
        self.p = subprocess.Popen(self.cmd, stdout=self.out,
                                  stderr=subprocess.PIPE, env=env)
        self.err_lines = []

    def stdout_now(self):
        """What the daemon has written to stdout so far."""
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def read_summary(self, timeout):
        """Next stderr line (a poll summary), or None on timeout/EOF."""
        import select
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.p.stderr], [], [],
                                    max(0.0, deadline - time.monotonic()))
            if not r:
                break
            c = os.read(self.p.stderr.fileno(), 1)
            if not c:
                break
            buf += c
            if c == b"\n":
                line = buf.decode("utf-8", "replace")
                self.err_lines.append(line)
                return line
        return None

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout):
        """Waits for exit; returns (rc, stdout, rest of stderr) or raises
        Fail after killing it."""
        try:
            _, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("%s still running %ss after being asked to stop"
                       % (" ".join(self.cmd), timeout))
        return (self.p.returncode, self.stdout_now(),
                err.decode("utf-8", "replace"))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            try:
                self.p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.out.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.kill()
        return False


def ss_endpoint(text):
    """ss's "ADDR[%IF]:PORT" -> (addr, ifname or None, port).

    ss prints 1.2.3.4:80, 0.0.0.0:*, [::1]:80, [::ffff:1.2.3.4]:80,
    [::]:80 (v6-only any), *:80 (dual-stack any), and appends %IFNAME to a
    device-bound local address (127.0.0.1%lo:80, [fe80::1]%eth0:80).
    """
    host, sep, port = text.rpartition(":")
    if not sep:
        raise Fail("cannot parse ss address %r" % text)
    port = 0 if port == "*" else int(port)
    ifname = None
    if host.startswith("["):
        end = host.index("]")
        rest = host[end + 1:]
        host = host[1:end]
        if rest.startswith("%"):
            ifname = rest[1:]
    elif "%" in host:
        host, ifname = host.split("%", 1)
    if host == "*":
        host = "::"  # ss's dual-stack (not v6-only) IPv6 wildcard
    if ":" in host:
        host = socket.inet_ntop(socket.AF_INET6,
                                socket.inet_pton(socket.AF_INET6, host))
    return host, ifname, port



class SocketKeeper:
    """Holds the sockets a test opens and closes them all at the end."""

    def __init__(self):
        self.socks = []

    def keep(self, s):
        self.socks.append(s)
        return s

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
