#!/usr/bin/env python3
"""test_replay_cli - --replay on inputs that are not a netlink capture, on
pipes, and on a file that shrinks while it is replayed.

A missing file, a directory, a text file, an empty file and a pcap of
another link type (Ethernet) exit 1 with one stderr line naming the file
and the reason ("not a pcap file", "link type 1, expected 253 (netlink)")
and nothing on stdout; an empty but valid netlink pcap (link type 253)
replays to nothing and exits 0; a pcap cut inside a record neither crashes
nor prints a partial record. --replay - and --replay /dev/stdin read a
capture from a pipe, with the output of the same file. A capture cut
short while tcpscope replays it (its stdout is a pipe the test leaves
full meanwhile) ends the replay where the file now ends, with the cut
counted: no death by SIGBUS. The captures are built here (no fixtures).
(Replaying the shared captures is the replay suite's job.)
"""
import os
import re
import signal
import struct
import subprocess
import tempfile
import time

from livelib import check, main, parse_lines, require, run, tcpscope_bin


def pcap_header(linktype, magic=0xa1b2c3d4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_DONE = 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 1, 2, 0x300


def packet(ms, nl):
    """One pcap record: the nlmon cooked header, then netlink bytes."""
    cooked = struct.pack(">HHH8xH", 4, 0x338, 0, NETLINK_SOCK_DIAG)
    n = len(cooked) + len(nl)
    return struct.pack("<IIII", 1000 + ms // 1000, ms % 1000 * 1000, n,
                       n) + cooked + nl


def nlmsg(typ, flags, seq, payload):
    return struct.pack("<IHHII", 16 + len(payload), typ, flags, seq,
                       4242) + payload


def netlink_capture(dumps, packets, sockets):
    """A link-type-253 capture of `dumps` dumps of `packets` reply
    datagrams of `sockets` IPv4 sockets each (then NLMSG_DONE)."""
    out = [pcap_header(253)]
    inode = 0
    for d in range(dumps):
        seq = 100 + d
        req = struct.pack("<BBBBI48x", 2, 6, 0, 0, 0xffffffff)
        out.append(packet(d * 1000, nlmsg(SOCK_DIAG_BY_FAMILY,
                                          NLM_F_REQUEST | NLM_F_DUMP, seq,
                                          req)[:12] + b"\0" * 4 + req))
        for k in range(packets):
            msgs = []
            for _ in range(sockets):
                inode += 1
                m = struct.pack("<BBBB", 2, 1, 0, 0) + \
                    struct.pack(">HH", 4000, 5000) + \
                    bytes([127, 0, 0, 1]) + b"\0" * 12 + \
                    bytes([127, 0, 0, 2]) + b"\0" * 12 + \
                    struct.pack("<IIIIIIII", 0, inode, 0, 0, 0, 0, 0, inode)
                msgs.append(nlmsg(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, seq, m))
            if k == packets - 1:
                msgs.append(nlmsg(NLMSG_DONE, NLM_F_MULTI, seq,
                                  b"\0" * 4))
            out.append(packet(d * 1000 + k + 1, b"".join(msgs)))
    return b"".join(out)


def expect_failure(path, what, reason=None):
    rc, out, err = run(["--replay", path])
    check(rc == 1, "--replay %s (%s): exit %d, expected 1" % (path, what, rc))
    check(out == "", "--replay %s (%s): stdout %r" % (path, what, out[:200]))
    lines = err.splitlines()
    check(len(lines) == 1, "--replay %s (%s): expected one stderr line, "
          "got %r" % (path, what, err))
    check(path in err, "--replay %s (%s): the message does not name the "
          "file: %r" % (path, what, err))
    check(re.search(r"[A-Za-z]{4,}", err.replace(path, "")),
          "--replay %s (%s): no reason given: %r" % (path, what, err))
    if reason:
        check(reason in err, "--replay %s (%s): the reason is not %r: %r"
              % (path, what, reason, err))
    # --quiet does not hide a failure
    rc, out, err = run(["--replay", path, "--quiet"])
    check(rc == 1 and path in err, "--replay %s --quiet (%s): exit %d, "
          "stderr %r" % (path, what, rc, err))


def test():
    with tempfile.TemporaryDirectory(prefix="tcpscope-replay-") as tmp:
        def write(name, data):
            p = os.path.join(tmp, name)
            with open(p, "wb") as f:
                f.write(data)
            return p

        expect_failure(os.path.join(tmp, "missing.pcap"), "missing file",
                       "No such file or directory")
        expect_failure(tmp, "a directory", "Is a directory")
        expect_failure(write("notes.pcap", b"this is not a capture\n" * 4),
                       "text file", "not a pcap file")
        expect_failure(write("empty.pcap", b""), "empty file",
                       "not a pcap file")
        expect_failure(write("ng.pcapng", b"\x0a\x0d\x0d\x0a" + b"\0" * 28),
                       "pcapng", "not a pcap file but pcapng")
        expect_failure(write("short.pcap", pcap_header(253)[:10]),
                       "cut inside the global header", "not a pcap file")
        expect_failure(write("eth.pcap", pcap_header(1) +
                             struct.pack("<IIII", 0, 0, 14, 14) + b"\0" * 14),
                       "Ethernet capture",
                       "link type 1, expected 253 (netlink)")

        p = write("nothing.pcap", pcap_header(253))
        rc, out, err = run(["--replay", p])
        check(rc == 0, "--replay of an empty netlink pcap: exit %d (%s)"
              % (rc, err.strip()))
        check(out == "", "empty netlink pcap printed %r" % out[:200])
        check(re.search(r"\b0 packets\b", err) and re.search(r"\b0 sockets\b",
                                                            err),
              "empty netlink pcap: summary %r" % err)
        rc, out, err = run(["--replay", p, "--quiet"])
        check(rc == 0 and out == "" and err == "",
              "--replay empty --quiet: exit %d stdout %r stderr %r"
              % (rc, out, err))

        # a record header promising 100 bytes followed by 10
        p = write("cut.pcap", pcap_header(253) +
                  struct.pack("<IIII", 1, 0, 100, 100) + b"\0" * 10)
        rc, out, err = run(["--replay", p])
        check(rc in (0, 1), "--replay of a cut pcap: exit %d (crash?) %r"
              % (rc, err))
        parse_lines(out, "output of a cut pcap")
        if rc == 0:
            m = re.search(r"(\d+) errors", err)
            check(m and int(m.group(1)) > 0,
                  "a cut pcap replayed with exit 0 but no error counted: %r"
                  % err)

        check_pipes(write)
        check_shrinking(write)


def summary_counts(err):
    m = re.search(r"(\d+) sockets, (\d+) errors", err)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def check_pipes(write):
    """--replay - and /dev/stdin read the capture from a pipe, which hands
    it over in pieces that cut records (640 KB)."""
    data = netlink_capture(3, 8, 300)
    path = write("piped.pcap", data)
    rc, ref, err = run(["--replay", path])
    require(rc == 0 and summary_counts(err) == (7200, 0),
            "--replay of the built capture: exit %d, %r" % (rc, err))
    for name in ("-", "/dev/stdin"):
        rc, out, err = run(["--replay", name], input=data)
        check(rc == 0, "--replay %s from a pipe: exit %d (%s)"
              % (name, rc, err.strip()))
        check(out == ref, "--replay %s from a pipe: %d lines, the file "
              "gave %d" % (name, len(out.splitlines()), len(ref.splitlines())))
    rc, out, err = run(["--replay", "-"], input=b"not a capture\n" * 3)
    check(rc == 1 and "stdin" in err and "not a pcap file" in err,
          "--replay - of text: exit %d, %r" % (rc, err))


def check_shrinking(write):
    """The capture is cut short while tcpscope replays it: tcpscope's
    stdout is a pipe left full until the cut, so the replay is blocked at
    its start when the file shrinks."""
    data = netlink_capture(16, 16, 300)  # ~6.8 MB, 76800 sockets
    path = write("shrinks.pcap", data)
    cut = 2 * 1024 * 1024 + 7  # inside a record
    p = subprocess.Popen([tcpscope_bin(), "--replay", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = os.read(p.stdout.fileno(), 1)  # the replay is under way
        time.sleep(0.3)  # until the pipe is full and tcpscope waits on it
        os.truncate(path, cut)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = (first + out).decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    check(p.returncode != -signal.SIGBUS, "a capture that shrank during "
          "--replay killed tcpscope with SIGBUS")
    check(p.returncode == 0, "a capture that shrank during --replay: exit "
          "%d (%s)" % (p.returncode, err.strip()))
    recs = parse_lines(out, "output of a capture that shrank")
    n, errors = summary_counts(err)
    check(n == len(recs) and 0 < n < 76800, "shrunk capture: summary %r, "
          "%d records" % (err, len(recs)))
    check(errors and errors > 0, "shrunk capture: the cut is not counted: "
          "%r" % err)


if __name__ == "__main__":
    main(test)
