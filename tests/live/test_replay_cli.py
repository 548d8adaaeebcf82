#!/usr/bin/env python3
"""test_replay_cli - --replay on inputs that are not a netlink capture.

A missing file, a directory, a text file, an empty file and a pcap of
another link type (Ethernet) exit 1 with one stderr line naming the file
and nothing on stdout; an empty but valid netlink pcap (link type 253)
replays to nothing and exits 0; a pcap cut inside a record neither crashes
nor prints a partial record. (Replaying the shared captures is the replay
suite's job.)
"""
import os
import re
import struct
import tempfile

from livelib import check, main, parse_lines, run


def pcap_header(linktype, magic=0xa1b2c3d4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)


def expect_failure(path, what):
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

        expect_failure(os.path.join(tmp, "missing.pcap"), "missing file")
        expect_failure(tmp, "a directory")
        expect_failure(write("notes.pcap", b"this is not a capture\n" * 4),
                       "text file")
        expect_failure(write("empty.pcap", b""), "empty file")
        expect_failure(write("short.pcap", pcap_header(253)[:10]),
                       "cut inside the global header")
        expect_failure(write("eth.pcap", pcap_header(1) +
                             struct.pack("<IIII", 0, 0, 14, 14) + b"\0" * 14),
                       "Ethernet capture")

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


if __name__ == "__main__":
    main(test)
