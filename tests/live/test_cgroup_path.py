#!/usr/bin/env python3
"""test_cgroup_path - --cgroup-path names the cgroup v2 owning a socket.

A process moved into a fresh cgroup (made by the test under the cgroup2
mount, removed at the end) opens a listener and a connection; their
records carry cgroup_path = that cgroup's path, and the sockets of the
test itself carry its own. Without --cgroup-path the field is absent. A
cgroup made while tcpscope runs is resolved too (the cache is walked
again when an unknown id appears).
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

from livelib import (Skip, check, main, parse_lines, require, run,
                     tcpscope_bin)

CHILD = r"""
import socket, sys, time
sys.stdin.readline()  # until it is in its cgroup
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
c = socket.create_connection(s.getsockname())
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def cgroup2_root():
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        try:
            if os.statvfs(root) and os.path.exists(
                    os.path.join(root, "cgroup.procs")) and \
                    open("/proc/mounts").read().find(" %s cgroup2 " %
                                                      root) >= 0:
                return root
        except OSError:
            pass
    return None


def own_cgroup():
    for line in open("/proc/self/cgroup"):
        if line.startswith("0::"):
            return line[3:].strip()
    return None


class Child:
    """A python process in cgroup `path`, holding two sockets."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.p = subprocess.Popen([sys.executable, "-c", CHILD],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
            f.write(str(self.p.pid))
        # the sockets are made after the move: they belong to the cgroup
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        self.port = int(self.p.stdout.readline())

    def close(self):
        self.p.kill()
        self.p.wait()
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.05)


def paths_of(out, port):
    got = set()
    for d in parse_lines(out):
        if port in (d["inet_diag_msg_socket_source_port"],
                    d["inet_diag_msg_socket_destination_port"]):
            got.add(d.get("cgroup_path"))
    return got


def test():
    if os.geteuid() != 0:
        raise Skip("needs root to make a cgroup")
    root = cgroup2_root()
    if not root:
        raise Skip("no cgroup2 mount")
    name = "tscg-%d" % os.getpid()
    child = None
    try:
        child = Child(root, name)
        rc, out, err = run(["--once", "--netns", "host", "--cgroup-path"])
        require(rc == 0, "tcpscope --cgroup-path: rc %d %s" % (rc, err))
        check(paths_of(out, child.port) == {"/" + name},
              "the child's sockets: %r, expected {'/%s'}"
              % (paths_of(out, child.port), name))
        rc, out, err = run(["--once", "--netns", "host"])
        check(paths_of(out, child.port) == {None},
              "cgroup_path without --cgroup-path: %r"
              % paths_of(out, child.port))
    finally:
        if child:
            child.close()
    test_new_cgroup(root, name + "-late")


def test_new_cgroup(root, name):
    """A cgroup made after startup: resolved once the cache is walked
    again (at most every 10 s, when an unknown id shows up)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        p = subprocess.Popen([tcpscope_bin(), "--netns", "host",
                              "--cgroup-path", "--interval", "500ms",
                              "--count", "30", "--quiet", "--dest",
                              "file:" + out], stderr=subprocess.DEVNULL)
        child = None
        try:
            time.sleep(1)
            child = Child(root, name)
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            if child:
                port = child.port
                child.close()
        with open(out) as f:
            text = f.read()
    seen = [d.get("cgroup_path") for d in parse_lines(text)
            if port in (d["inet_diag_msg_socket_source_port"],
                        d["inet_diag_msg_socket_destination_port"])]
    check(seen and seen[-1] == "/" + name,
          "a cgroup made after startup is never named: last %r"
          % (seen[-1:] or None))


main(test)
