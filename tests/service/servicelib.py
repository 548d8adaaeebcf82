"""servicelib.py - what the service tests of --metrics, --control and the
Grafana dashboard share (stdlib only): free ports, HTTP over TCP and over
a unix socket (http.client), tcpscope started with them, and a real
Prometheus (Debian's package) in a private temporary directory, always
stopped. The live tests' livelib (main, check, require, Skip, Daemon) is
reused as is.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("TCPSCOPE_LIVE_DIR")
                or os.path.join(_here, "..", "live"))
from livelib import (Daemon, Fail, Skip, check, main,  # noqa: E402,F401
                     require, run, shim_env, tcpscope_bin)


def free_port():
    """A TCP port of 127.0.0.1 nobody listens on (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix stream socket (the control socket)."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def _request(conn, method, path, body=None):
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode("utf-8",
                                                                "replace")
    finally:
        conn.close()


def get(port, path, method="GET", body=None, timeout=10):
    """(status, headers, body text) of one request to 127.0.0.1:port."""
    return _request(http.client.HTTPConnection("127.0.0.1", port,
                                               timeout=timeout),
                    method, path, body)


def ctl(sock, method, path, body=None, timeout=10):
    """(status, headers, body text) of one request on the control socket."""
    return _request(UnixHTTPConnection(sock, timeout), method, path, body)


def wait_for(fn, timeout, what):
    """Calls fn until it returns something true (errors count as not
    yet); returns it, or raises Fail naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.05)
    raise Fail("%s: not within %ss%s" % (what, timeout,
                                         " (%s)" % last if last else ""))


def metric_values(text, name):
    """{labels text: value} of the samples of `name` in exposition text."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, val = line.rpartition(" ")
        if key == name or key.startswith(name + "{"):
            out[key[len(name):]] = float(val)
    return out


def start_tcpscope(args, env=None):
    """tcpscope ARGS in the background (livelib.Daemon: killed at exit)."""
    return Daemon(list(args), env=env)


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise Skip("%s not found (Debian's %s package: scripts/deps.sh "
                   "test)" % (tool, "prometheus" if "prom" in tool
                              else tool))
    return path


class Prometheus:
    """A real Prometheus scraping `targets` every second, with its data in
    a temporary directory; stopped and removed at exit, even on failure."""

    def __init__(self, targets, job="tcpscope"):
        self.bin = need("prometheus")
        self.dir = tempfile.mkdtemp(prefix="ts-prom-")
        self.port = free_port()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: %s\n"
                    "    static_configs:\n      - targets: [%s]\n"
                    % (job, ", ".join("'%s'" % t for t in targets)))
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.p = subprocess.Popen(
            [self.bin, "--config.file=" + conf,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        try:
            wait_for(self._ready, 45, "prometheus ready on port %d"
                     % self.port)
        except Fail:
            self.stop()
            raise

    def _ready(self):
        if self.p.poll() is not None:
            raise Fail("prometheus exited %d: %s"
                       % (self.p.returncode, self.log_tail()))
        return get(self.port, "/-/ready", timeout=2)[0] == 200

    def log_tail(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def query(self, expr):
        """The result list of an instant query; Fail unless it parsed."""
        st, _, body = get(self.port, "/api/v1/query?query="
                          + urllib.parse.quote(expr))
        try:
            d = json.loads(body)
        except ValueError:
            raise Fail("query %r: status %d, not JSON: %r"
                       % (expr, st, body[:300]))
        if st != 200 or d.get("status") != "success":
            raise Fail("query %r: status %d: %s"
                       % (expr, st, d.get("error", body[:300])))
        return d["data"]["result"]

    def value(self, expr):
        """The first sample's value of expr (None: no data)."""
        r = self.query(expr)
        return float(r[0]["value"][1]) if r else None

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
        return False
