#!/usr/bin/env python3
"""test_rss.py - tcpscope's peak RSS at 100k sockets stays under 16 MB.

Its memory must not grow with the sockets it dumps: the receive buffer,
the parse and the output batches are reused every datagram. bench/loadgen
holds 100,000 established loopback sockets in a private network namespace
(this process unshares one, so tcpscope's dumps see those sockets and no
others of the machine); tcpscope then polls them 5 times with --dest null,
with JSON to /dev/null and with protobuf-list to file:/dev/null, and each
run's peak RSS (ru_maxrss, through bench/cputime) must be at most 16 MB
(docs/benchmarks.md measures ~9 MB, flat from 20k to 1M sockets).

Skipped (77): without root (unshare), in an ASan build (the shadow memory
makes RSS meaningless), where fewer than 200k fds can be had (fs.file-max
minus those open), or where loadgen's children cannot get enough fds each.
About 10 s (loadgen's 100k sockets take 1-4 s, each run ~1-2 s).
"""
import ctypes
import os
import re
import resource
import select
import subprocess
import time

from livelib import Fail, Skip, check, main, require, tcpscope_bin

SOCKETS = 100000
BOUND_KB = 16 * 1024
POLLS = 5
CLONE_NEWNET = 0x40000000
RUNS = [
    ("null", ["--dest", "null"]),
    ("json", ["--format", "json"]),
    ("protobuf-list", ["--dest", "file:/dev/null?format=protobuf-list"]),
]


def preflight(tcpscope, loadgen, cputime):
    if os.geteuid() != 0:
        raise Skip("needs root: unshare of the network namespace")
    for var, path in (("TCPSCOPE_LOADGEN", loadgen),
                      ("TCPSCOPE_CPUTIME", cputime)):
        if not path or not os.access(path, os.X_OK):
            raise Skip("%s (bench/) is not set or not executable: %r"
                       % (var, path))
    with open(tcpscope, "rb") as f:
        if b"__asan_init" in f.read():
            raise Skip("ASan build: its shadow memory makes RSS meaningless")
    with open("/proc/sys/fs/file-nr") as f:
        used, _, most = (int(x) for x in f.read().split())
    if most - used < 2 * SOCKETS:
        raise Skip("only %d fds can be had (fs.file-max %d, %d open); "
                   "needs %d" % (most - used, most, used, 2 * SOCKETS))
    # loadgen: at most 128 children of up to 18000 fds each
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < SOCKETS // 120 + 200:
        raise Skip("open-files hard limit %d: loadgen cannot spread %d "
                   "sockets over its 128 children" % (hard, SOCKETS))


def private_netns():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise Skip("unshare(CLONE_NEWNET): %s"
                   % os.strerror(ctypes.get_errno()))
    r = subprocess.run(["ip", "link", "set", "lo", "up"],
                       capture_output=True, timeout=10)
    if r.returncode != 0:
        raise Skip("ip link set lo up: %s" % r.stderr.decode().strip())


def start_loadgen(loadgen):
    """Returns the loadgen process once it printed "ready N"."""
    p = subprocess.Popen([loadgen, str(SOCKETS), "--v6-share", "20"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    line = b""
    while time.monotonic() < deadline and p.poll() is None:
        if select.select([p.stdout], [], [], 0.5)[0]:
            line = p.stdout.readline()
            break
    if not line.startswith(b"ready"):
        p.kill()
        err = p.communicate(timeout=30)[1].decode("utf-8", "replace")
        raise Fail("loadgen %d did not become ready: %s"
                   % (SOCKETS, err.strip()[-300:]))
    return p


def stop_loadgen(p):
    if p.poll() is None:
        p.stdin.close()  # loadgen ends (RST to every socket) on EOF
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(tcpscope, cputime, name, args):
    """One tcpscope run: (peak RSS in kB, sockets its last poll saw).
    Under bench/cputime, whose ru_maxrss is tcpscope's own: a process
    forked from this one would carry Python's ~17 MB into it (the kernel
    keeps the largest RSS of a process across exec)."""
    report = "/tmp/test_rss.%d.report" % os.getpid()
    cmd = [cputime, "-r", report, "-o", "/dev/null", "--", tcpscope,
           "--count", str(POLLS), "--interval", "1ms", "--netns", "host"]
    try:
        p = subprocess.run(cmd + args, capture_output=True, timeout=120)
        with open(report) as f:
            rep = f.read()
    except subprocess.TimeoutExpired:
        raise Fail("%s: tcpscope did not finish in 120 s" % name)
    finally:
        if os.path.exists(report):
            os.unlink(report)
    text = p.stderr.decode("utf-8", "replace")
    require(p.returncode == 0, "%s: tcpscope failed (%d): %s %s"
            % (name, p.returncode, rep.strip(), text.strip()[-300:]))
    m = re.search(r"maxrss_kb=(\d+)", rep)
    require(m, "%s: no maxrss_kb in cputime's report %r" % (name, rep))
    seen = [int(x) for x in re.findall(r"poll \d+: (\d+) sockets", text)]
    require(len(seen) == POLLS, "%s: %d poll summaries, want %d"
            % (name, len(seen), POLLS))
    return int(m.group(1)), seen[-1]


def test():
    tcpscope = tcpscope_bin()
    loadgen = os.environ.get("TCPSCOPE_LOADGEN")
    cputime = os.environ.get("TCPSCOPE_CPUTIME")
    preflight(tcpscope, loadgen, cputime)
    private_netns()
    lg = start_loadgen(loadgen)
    try:
        for name, args in RUNS:
            kb, seen = measure(tcpscope, cputime, name, args)
            print("%-14s peak RSS %6d kB (%.1f MB), %d sockets a poll"
                  % (name, kb, kb / 1024, seen))
            check(seen >= SOCKETS, "%s: the poll saw %d sockets, not the "
                  "%d loadgen holds" % (name, seen, SOCKETS))
            check(kb <= BOUND_KB, "%s: peak RSS %d kB > %d kB at %d "
                  "sockets" % (name, kb, BOUND_KB, seen))
    finally:
        stop_loadgen(lg)


if __name__ == "__main__":
    main(test)
