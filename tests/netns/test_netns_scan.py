#!/usr/bin/env python3
"""Discovery walks only the sources the --netns selection can match.

Walking /proc costs a stat of /proc/<pid>/ns/net per process on every poll:
with --netns host (or only bind-mount names) tcpscope must not do it, and
with all / pid:<pid> names it must. With --io-engine uring those stats go
through the ring (IORING_OP_STATX, 64 per io_uring_enter): no stat
syscall names such a path (test_netns_pid checks that the walk still finds
pid-only namespaces). Counted with strace on a real run.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROC_NS = re.compile(r'"/proc/[0-9]+/ns/net"')


def proc_stats(binary, sel, trace, *extra):
    # exit 1 is fine: pid:1 is in the host namespace, which that selection
    # leaves out, so nothing is polled; the walk is what is measured
    # LeakSanitizer cannot run under ptrace (it aborts): off for this run
    # only; the ASan suite checks leaks everywhere else
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        [o for o in env.get("ASAN_OPTIONS", "").split(":")
         if o and not o.startswith("detect_leaks=")] + ["detect_leaks=0"])
    r = subprocess.run(["strace", "-f", "-qq", "-e",
                        "trace=newfstatat,statx,stat", "-o", trace, binary,
                        "--once", "--quiet", "--dest", "null", "--netns", sel]
                       + list(extra),
                       timeout=60, stdout=subprocess.DEVNULL, env=env)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"--netns {sel}: exit {r.returncode}")
    with open(trace) as f:
        return sum(1 for line in f if PROC_NS.search(line))


def main():
    binary = os.environ.get("TCPSCOPE_BIN")
    if not binary or not os.access(binary, os.X_OK):
        print("SKIP: TCPSCOPE_BIN not set")
        return 77
    if not shutil.which("strace"):
        print("SKIP: strace not installed")
        return 77
    nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace")
        uring = subprocess.run([binary, "--once", "--quiet", "--dest",
                                "null", "--netns", "host", "--io-engine",
                                "uring"], capture_output=True,
                               timeout=60).returncode == 0
        cases = [("host", False, ()), ("somename,host", False, ()),
                 ("all", True, ()), ("pid:1", True, ())]
        if uring:
            cases.append(("all", False, ("--io-engine", "uring")))
        else:
            print("io_uring unusable here: the uring case is left out")
        for sel, walks, extra in cases:
            n = proc_stats(binary, sel, trace, *extra)
            sel = " ".join((sel,) + extra)
            ok = (n > 0) == walks
            print(f"--netns {sel}: {n} stats of /proc/<pid>/ns/net "
                  f"({nprocs} processes), expected {'some' if walks else 'none'}"
                  f": {'ok' if ok else 'FAIL'}")
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
