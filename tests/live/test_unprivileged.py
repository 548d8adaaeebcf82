#!/usr/bin/env python3
"""test_unprivileged.py - tcpscope without privileges sees its own
namespace's sockets (sock_diag needs no capability there; only entering
other namespaces with setns does): run as user nobody, it finds the
test's listener, exits 0, and says nothing on stderr with --quiet. A
namespace it cannot enter is counted once per poll as failed, with the
reason, and the poll goes on.

Needs root to switch to nobody (runuser); skips otherwise.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from livelib import (Skip, check, main, parse_lines, require,  # noqa: E402
                     tcpscope_bin)


def test():
    binary = tcpscope_bin()
    if os.geteuid() != 0:
        raise Skip("needs root to run tcpscope as nobody")
    runuser = shutil.which("runuser")
    if not runuser:
        raise Skip("runuser (util-linux) not found")
    # a copy nobody can execute, whatever the build dir's permissions
    tmp = tempfile.mkdtemp(prefix="ts-unpriv-")
    try:
        os.chmod(tmp, 0o755)
        copy = os.path.join(tmp, "tcpscope")
        shutil.copy(binary, copy)
        os.chmod(copy, 0o755)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(8)
        port = lst.getsockname()[1]
        for sel in ("host", "all"):
            p = subprocess.run([runuser, "-u", "nobody", "--", copy,
                                "--once", "--quiet", "--netns", sel,
                                "--states", "listen"],
                               capture_output=True, timeout=60)
            out = p.stdout.decode("utf-8", "replace")
            err = p.stderr.decode("utf-8", "replace")
            what = "as nobody, --netns %s" % sel
            require(p.returncode == 0, "%s: exit %d: %s"
                    % (what, p.returncode, err.strip()))
            recs = parse_lines(out, what)
            mine = [r for r in recs
                    if r.get("inet_diag_msg_socket_source_port") == port]
            check(len(mine) == 1, "%s: our listener on port %d found %d "
                  "times among %d records" % (what, port, len(mine),
                                              len(recs)))
            if sel == "host":
                check(err == "", "%s: stderr %r" % (what, err[:300]))
        check_failed_namespace(runuser, copy, port)
        lst.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SUMMARY = re.compile(r"namespaces (\d+) \(\+\d+ -\d+, (\d+) failed")


def check_failed_namespace(runuser, copy, port):
    if not shutil.which("ip"):
        print("NOTE: ip (iproute2) not found: the failed-namespace part "
              "is left out")
        return
    name = "ts-unpriv-%d" % os.getpid()
    require(subprocess.run(["ip", "netns", "add", name]).returncode == 0,
            "ip netns add %s failed" % name)
    try:
        p = subprocess.run([runuser, "-u", "nobody", "--", copy, "--walk", "two", "--count",
                            "2", "--interval", "100ms", "--states",
                            "listen", "--netns", "all"],
                           capture_output=True, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        what = "as nobody with namespace %s" % name
        check(p.returncode == 0, "%s: exit %d: %s" % (what, p.returncode,
                                                       err.strip()))
        recs = parse_lines(p.stdout.decode("utf-8", "replace"), what)
        check(sum(r.get("inet_diag_msg_socket_source_port") == port
                  for r in recs) == 2,
              "%s: our listener not in both polls" % what)
        polls = [m for m in map(SUMMARY.search, err.splitlines()) if m]
        check(len(polls) == 2, "%s: %d summaries: %r"
              % (what, len(polls), err[:500]))
        for m in polls:
            total, failed = int(m.group(1)), int(m.group(2))
            # every namespace but its own, each counted once per poll
            check(failed == total - 1, "%s: %d of %d namespaces failed"
                  % (what, failed, total))
        check("netns %s: cannot open sock_diag socket: Operation not "
              "permitted" % name in err,
              "%s: the reason is not given: %r" % (what, err[:500]))
        # only that namespace: nothing could be polled, a failure
        p = subprocess.run([runuser, "-u", "nobody", "--", copy, "--once",
                            "--quiet", "--netns", name],
                           capture_output=True, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode == 1 and "Operation not permitted" in err,
              "as nobody, --netns %s alone: exit %d (expected 1), stderr %r"
              % (name, p.returncode, err[:300]))
    finally:
        subprocess.run(["ip", "netns", "del", name])


if __name__ == "__main__":
    main(test)
