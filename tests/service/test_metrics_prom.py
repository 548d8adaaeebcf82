#!/usr/bin/env python3
"""test_metrics_prom - tcpscope --metrics scraped by a real Prometheus.

/metrics is the Prometheus text format 0.0.4 (its Content-Type says so)
and clean under `promtool check metrics`; every metric the README lists
is there with its type; labels stay low-cardinality (destination, reason,
le, version only); the control API is not served there (404); the
thread count is the README's: --metrics and
--control together add one thread. A real Prometheus (Debian's package)
scraping every second sees `up` 1 and polls, sockets and each
destination's records increase between two queries.
"""
import os
import re
import subprocess
import tempfile
import time

from servicelib import (Prometheus, check, free_port, get, main, metric_values,
                        need, require, start_tcpscope, wait_for)

FAMILIES = {
    "tcpscope_build_info": "gauge",
    "tcpscope_polls_total": "counter",
    "tcpscope_polls_failed_total": "counter",
    "tcpscope_poll_duration_seconds": "histogram",
    "tcpscope_poll_overruns_total": "counter",
    "tcpscope_sockets": "gauge",
    "tcpscope_records_total": "counter",
    "tcpscope_netlink_datagrams_total": "counter",
    "tcpscope_netlink_received_bytes_total": "counter",
    "tcpscope_dumps_total": "counter",
    "tcpscope_dump_failures_total": "counter",
    "tcpscope_dumps_inconsistent_total": "counter",
    "tcpscope_unknown_attributes_total": "counter",
    "tcpscope_namespaces": "gauge",
    "tcpscope_namespace_open_failures_total": "counter",
    "tcpscope_reconcile_duration_seconds": "histogram",
    "tcpscope_destination_records_total": "counter",
    "tcpscope_destination_dropped_records_total": "counter",
    "tcpscope_destination_bytes_total": "counter",
    "tcpscope_destination_errors_total": "counter",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "process_threads": "gauge",
}
LABELS = {"destination", "reason", "le", "version"}


def check_text(port, pid):
    st, hdr, text = get(port, "/metrics")
    require(st == 200, "/metrics: status %d" % st)
    check(hdr.get("Content-Type", "").startswith(
        "text/plain; version=0.0.4"),
        "/metrics Content-Type %r" % hdr.get("Content-Type"))
    promtool = need("promtool")
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    check(p.returncode == 0 and not p.stdout.strip() and
          not p.stderr.strip(),
          "promtool check metrics: rc %d: %s %s"
          % (p.returncode, p.stdout.decode()[:800], p.stderr.decode()[:800]))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for name, kind in FAMILIES.items():
        check(types.get(name) == kind, "%s: type %r, expected %s"
              % (name, types.get(name), kind))
    for names in re.findall(r"^[a-z_]+\{([^}]*)\}", text, re.M):
        for lab in re.findall(r'([a-z_]+)="', names):
            check(lab in LABELS, "label %s is not one of %s"
                  % (lab, sorted(LABELS)))
    reasons = metric_values(text, "tcpscope_dump_failures_total")
    check(len(reasons) == 5, "dump failure reasons: %r" % reasons)
    drops = metric_values(text, "tcpscope_destination_dropped_records_total")
    check('{destination="null",reason="queue_full"}' in drops and
          '{destination="null",reason="send_error"}' in drops,
          "drops by reason: %r" % sorted(drops))
    # the control API is not on the TCP port, whatever it binds to
    for method, path, body in [("POST", "/poll", None),
                               ("PUT", "/interval", "1ms"),
                               ("GET", "/config", None),
                               ("GET", "/stats", None)]:
        st, _, why = get(port, path, method, body)
        check(st == 404 and "served on the --control socket only" in why,
              "%s %s on --metrics: %d %r" % (method, path, st, why))
    # main, the namespace opener and the one HTTP thread of both listeners
    thr = metric_values(text, "process_threads").get("")
    check(thr == 3, "process_threads %r, expected 3 (README)" % thr)
    check(len(os.listdir("/proc/%d/task" % pid)) == 3,
          "/proc/PID/task: %r" % os.listdir("/proc/%d/task" % pid))
    return text


def test():
    need("prometheus")
    need("promtool")
    with tempfile.TemporaryDirectory(prefix="ts-metrics-") as tmp:
        scrape(tmp)


def scrape(tmp):
    port = free_port()
    out = os.path.join(tmp, "out.json")
    args = ["--metrics", "127.0.0.1:%d" % port, "--control",
            os.path.join(tmp, "ctl.sock"), "--interval", "1s", "--netns",
            "host", "--dest", "null", "--dest", "file:%s" % out, "--quiet"]
    with start_tcpscope(args) as d:
        wait_for(lambda: get(port, "/metrics")[0] == 200, 20,
                 "tcpscope --metrics answering")
        check_text(port, d.p.pid)
        with Prometheus(["127.0.0.1:%d" % port]) as prom:
            wait_for(lambda: prom.value('up{job="tcpscope"}') == 1, 30,
                     "up == 1 in Prometheus")
            first = {
                "polls": prom.value("tcpscope_polls_total"),
                "records": prom.value(
                    'tcpscope_destination_records_total{destination='
                    '"file:%s"}' % out),
                "sum": prom.value("sum(tcpscope_records_total)"),
            }
            sockets = prom.value("tcpscope_sockets")
            check(sockets is not None and sockets > 0,
                  "tcpscope_sockets %r (Prometheus itself listens)" % sockets)
            require(all(v is not None for v in first.values()),
                    "no data yet: %r" % first)
            time.sleep(3)

            def grew():
                polls = prom.value("tcpscope_polls_total")
                rec = prom.value('tcpscope_destination_records_total{'
                                 'destination="file:%s"}' % out)
                return polls > first["polls"] and rec > first["records"]
            wait_for(grew, 20, "polls and file: records increase")
            null = prom.value('tcpscope_destination_records_total{'
                              'destination="null"}')
            check(null and null > 0, "null: records %r" % null)
            q = prom.value("histogram_quantile(0.5, rate("
                           "tcpscope_poll_duration_seconds_bucket[10s]))")
            check(q is not None and q > 0, "poll duration p50 %r" % q)
            check(prom.value('up{job="tcpscope"}') == 1, "up is not 1")


main(test)
