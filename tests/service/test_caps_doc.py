#!/usr/bin/env python3
"""test_caps_doc - --help and the man page say, for each capability
tcpscope keeps (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_NET_ADMIN), what it is
for and what is lost without it: --help has one entry per capability
naming it and "without it", the man page a CAPABILITIES section with one
tagged paragraph per capability saying "Without it".
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import check, main, require, run  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
KEPT = ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"]


def test():
    rc, out, _ = run(["--help"])
    require(rc == 0, "--help: exit %d" % rc)
    m = re.search(r"\nCapabilities:.*?\n\n", out, re.S)
    require(m, "--help has no Capabilities paragraph")
    par = m.group(0)
    entries = [" ".join(e.split()) for e in re.split(r"\n  (?=CAP_)",
                                                     par)[1:]]
    names = [e.split()[0] for e in entries]
    check(names == KEPT, "--help lists %r, expected %r" % (names, KEPT))
    for e in entries:
        used, _, lost = e.partition("; without it, ")
        check(len(used.split()) > 3 and len(lost.split()) > 3 and
              "(null)" not in e, "--help: %r does not say what it is for "
              "and what is lost without it" % e)
    with open(os.path.join(SRC, "man", "tcpscope.8")) as f:
        man = f.read()
    m = re.search(r"^\.SH CAPABILITIES\n(.*?)^\.SH ", man, re.S | re.M)
    require(m, "the man page has no CAPABILITIES section")
    sec = m.group(1)
    for cap in KEPT:
        m = re.search(r"^\.B %s\n(.*?)(?=^\.TP|^\.PP|\Z)" % cap, sec,
                      re.S | re.M)
        check(m and "Without it" in m.group(1), "man page, CAPABILITIES: no "
              "paragraph for %s saying what is lost without it" % cap)


if __name__ == "__main__":
    main(test)
