#!/usr/bin/env python3
"""test_metrics_tcp - --metrics-tcp: tcp_info aggregates in /metrics.

With 30 established loopback pairs held open and --metrics-tcp, /metrics
(clean under promtool) has, per TCP state only, the sockets of the last
poll, histograms of smoothed RTT, min RTT and cwnd whose counts equal the
sockets with tcp_info in that state, and the retransmission totals; no
other label than state and le. Without the option none of it appears.
"""
import re
import shutil
import socket
import subprocess
import time

from servicelib import Skip, check, get, free_port, main, require, run
from servicelib import tcpscope_bin

PAIRS = 30


def scrape(args):
    port = free_port()
    p = subprocess.Popen([tcpscope_bin(), "--netns", "host", "--interval",
                          "200ms", "--dest", "null", "--quiet",
                          "--metrics", "127.0.0.1:%d" % port] + args)
    try:
        time.sleep(0.8)
        status, _, body = get(port, "/metrics")
    finally:
        p.terminate()
        p.wait(timeout=10)
    require(status == 200, "/metrics: %d" % status)
    return body


def value(body, name, state):
    m = re.search(r'^%s\{state="%s"\} (\S+)$' % (re.escape(name), state),
                  body, re.M)
    return float(m.group(1)) if m else None


def test():
    promtool = shutil.which("promtool")
    if not promtool:
        raise Skip("promtool (Debian's prometheus package) is not installed")
    socks = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    try:
        for _ in range(PAIRS):
            socks.append(socket.create_connection(srv.getsockname()))
            socks.append(srv.accept()[0])
        body = scrape(["--metrics-tcp"])
        plain = scrape([])
    finally:
        for s in socks + [srv]:
            s.close()
    p = subprocess.run([promtool, "check", "metrics"], input=body.encode(),
                       capture_output=True)
    check(p.returncode == 0 and not p.stdout.strip() and
          not p.stderr.strip(), "promtool: %s %s" % (p.stdout, p.stderr))
    est = value(body, "tcpscope_tcp_sockets", "established")
    check(est is not None and est >= 2 * PAIRS,
          "established sockets %r, expected >= %d" % (est, 2 * PAIRS))
    for h in ("tcpscope_tcp_srtt_seconds", "tcpscope_tcp_min_rtt_seconds",
              "tcpscope_tcp_cwnd_packets"):
        n = value(body, h + "_count", "established")
        check(n == est, "%s_count %r != established sockets %r" % (h, n,
                                                                   est))
        inf = re.search(r'^%s_bucket\{state="established",le="\+Inf"\} '
                        r'(\S+)$' % h, body, re.M)
        check(inf and float(inf.group(1)) == n,
              "%s: +Inf bucket differs from the count" % h)
    for c in ("tcpscope_tcp_retransmitted_segments_total",
              "tcpscope_tcp_retransmitted_bytes_total"):
        v = value(body, c, "established")
        check(v is not None and v >= 0, "%s missing" % c)
    labels = set(re.findall(r'^tcpscope_tcp_\w+\{([a-z_]+)=', body, re.M))
    labels |= set(re.findall(r',([a-z_]+)=', "\n".join(
        ln for ln in body.splitlines() if ln.startswith("tcpscope_tcp_"))))
    check(labels <= {"state", "le"}, "labels beyond state and le: %r"
          % labels)
    check("tcpscope_tcp_" not in plain,
          "tcp aggregates without --metrics-tcp")


main(test)
