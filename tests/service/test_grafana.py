#!/usr/bin/env python3
"""test_grafana - deploy/grafana/tcpscope.json against a real Prometheus
that scraped a real tcpscope.

The file can be provisioned as is: the data source is a dashboard
variable (type datasource, prometheus) that every panel and query uses,
with no data source uid or __inputs written in; the instance variable's
label_values() query finds tcpscope. It shows what the README says:
polls, poll duration, sockets, namespaces, records and drops per
destination, dump errors, process CPU and memory. Every panel's every
query, with Grafana's variables put in, parses in Prometheus and returns
data.
"""
import json
import os
import tempfile
import time

from servicelib import (Prometheus, check, free_port, get, main, need,
                        require, start_tcpscope, wait_for)

SHOWN = ["tcpscope_polls_total", "tcpscope_poll_duration_seconds_bucket",
         "tcpscope_sockets", "tcpscope_namespaces",
         "tcpscope_destination_records_total",
         "tcpscope_destination_dropped_records_total",
         "tcpscope_dump_failures_total", "process_cpu_seconds_total",
         "process_resident_memory_bytes"]
DS = {"type": "prometheus", "uid": "${datasource}"}


def load():
    root = os.environ.get("TCPSCOPE_SOURCE_ROOT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "deploy", "grafana", "tcpscope.json")) as f:
        return json.load(f)


def queries(dash):
    """[(panel title, expr)], checking each panel's data source."""
    check("__inputs" not in dash, "__inputs: the file is for import only")
    var = {v["name"]: v for v in dash["templating"]["list"]}
    ds = var.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "no prometheus data source variable: %r" % ds)
    check(var.get("instance", {}).get("datasource") == DS,
          "the instance variable's data source: %r" % var.get("instance"))
    out = []
    for p in dash["panels"]:
        check(p.get("datasource") == DS, "panel %r: data source %r"
              % (p["title"], p.get("datasource")))
        check(p.get("targets"), "panel %r has no query" % p["title"])
        for t in p.get("targets", []):
            check(t.get("datasource") == DS, "panel %r query %s: data "
                  "source %r" % (p["title"], t.get("refId"),
                                 t.get("datasource")))
            out.append((p["title"], t["expr"]))
    text = " ".join(e for _, e in out)
    for m in SHOWN:
        check(m in text, "no panel shows %s" % m)
    return out, var["instance"]["query"]["query"]


def grafana(expr):
    """Grafana's variables as a dashboard with every instance has them."""
    return expr.replace("$__rate_interval", "10s").replace("$instance", ".*")


def test():
    need("prometheus")
    exprs, inst_query = queries(load())
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ts-grafana-") as tmp:
        args = ["--metrics", str(port), "--interval", "500ms", "--netns",
                "host", "--dest", "null", "--dest",
                "file:" + os.path.join(tmp, "out.json"), "--quiet"]
        with start_tcpscope(args):
            wait_for(lambda: get(port, "/metrics")[0] == 200, 20,
                     "tcpscope --metrics answering")
            with Prometheus(["127.0.0.1:%d" % port]) as prom:
                wait_for(lambda: prom.value('up{job="tcpscope"}') == 1, 30,
                         "up == 1 in Prometheus")
                # rate() over 10s wants a few scrapes of 1s
                time.sleep(5)
                require(inst_query ==
                        "label_values(tcpscope_build_info, instance)",
                        "instance variable query %r" % inst_query)
                inst = prom.query("group by (instance) "
                                  "(tcpscope_build_info)")
                check(len(inst) == 1 and inst[0]["metric"]["instance"] ==
                      "127.0.0.1:%d" % port, "instances %r" % inst)
                for title, e in exprs:
                    r = wait_for(lambda: prom.query(grafana(e)), 15,
                                 "panel %r: %s returning data" % (title, e))
                    check(r, "panel %r: no data" % title)


main(test)
