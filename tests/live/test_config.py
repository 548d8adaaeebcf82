#!/usr/bin/env python3
"""test_config - the config file and --check-config, driven by the same
option table as the command line.

Every config-file key is a long option: each key of --check-config's
output, fed back as a file, gives the same effective configuration; the
command line overrides the file (a repeated --dest replaces the file's
list); a bad line names FILE:LINE and exits 2; passwords in URLs are
masked; the limits in messages are the ones enforced; --help shows every
option with its default.
"""
import os
import re
import tempfile

from livelib import check, main, require, run

# key = value lines covering every config key the table has, each away
# from its default, and the value --check-config must print for it.
EVERY_KEY = [
    ("once", "true", "true"),
    ("interval", "2500ms", "2500ms"),
    ("count", "7", "7"),
    ("family", "inet6", "inet6"),
    ("states", "established,listen", "established,listen"),
    ("attrs", "info,cong", "info,cong"),
    ("filter", "sport = :22 or dst [::1]", "sport = :22 or dst [::1]"),
    ("netns", "host", "host"),
    ("netns-dirs", "/tmp/a,/tmp/b", "/tmp/a,/tmp/b"),
    ("workers", "2", "2"),
    ("io-engine", "auto", "auto"),
    ("uring-recv-batch", "32", "32"),
    ("uring-cqe-batch", "256", "256"),
    ("format", "protobuf", "protobuf"),
    ("dest", "null", "null"),
    ("quiet", "yes", "true"),
    ("exit-timeout", "3s", "3s"),
    ("replay", "/dev/null", "/dev/null"),
    ("metrics", "[::1]:9101", "[::1]:9101"),
    ("control", "/run/tcpscope/control", "/run/tcpscope/control"),
]


def effective(text):
    """--check-config's output as {key: [values]} (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition(" = ")
        out.setdefault(k, []).append(v)
    return out


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def test_every_key(d):
    conf = write(d, "all.conf", "# every key\n\n" + "".join(
        "%s = %s\n" % (k, v) for k, v, _ in EVERY_KEY))
    rc, out, err = run(["--config", conf, "--check-config"])
    require(rc == 0, "--check-config of a good file: rc %d, %s" % (rc, err))
    eff = effective(out)
    for k, _, shown in EVERY_KEY:
        check(eff.get(k) == [shown], "key %s: effective %r, expected %r"
              % (k, eff.get(k), shown))
    # the printed configuration is itself a valid file with the same result
    again = write(d, "again.conf", out)
    rc, out2, err = run(["--config", again, "--check-config"])
    check(rc == 0 and effective(out2) == eff,
          "--check-config's output read back differs: %s" % err)


def test_overrides(d):
    conf = write(d, "o.conf",
                 "interval = 2s\ndest = null\ndest = stdout\nworkers = 2\n")
    rc, out, _ = run(["--config", conf, "--interval", "1m", "--dest",
                      "file:/tmp/x.json", "--check-config"])
    eff = effective(out)
    check(rc == 0, "overrides: rc %d" % rc)
    check(eff.get("interval") == ["1m"], "command line wins: %r"
          % eff.get("interval"))
    check(eff.get("dest") == ["file:/tmp/x.json"],
          "--dest replaces the file's list: %r" % eff.get("dest"))
    check(eff.get("workers") == ["2"], "file value kept: %r"
          % eff.get("workers"))
    # --config after the other options still comes first
    rc, out, _ = run(["--interval", "1m", "--config", conf,
                      "--check-config"])
    check(effective(out).get("interval") == ["1m"],
          "--config given last still loses to the command line")


def test_masking(d):
    # no destination takes a password yet: the masking shows in the
    # complaint about one (a URL's password never reaches stderr)
    conf = write(d, "m.conf", "dest = udp://user:hunter2@127.0.0.1:9\n")
    rc, out, err = run(["--config", conf, "--check-config"])
    check(rc == 2, "a udp:// URL with a password: rc %d" % rc)
    check("hunter2" not in err and "udp://user:***@127.0.0.1:9" in err,
          "the password is not masked: %r" % err)
    rc, out, err = run(["--dest", "udp://:pw2@127.0.0.1:9", "--once"])
    check(rc == 2 and "pw2" not in err and "udp://:***@127.0.0.1:9" in err,
          "the password is not masked on the command line: %r" % err)


# (file text, the line number the message must name, words it must hold)
BAD_FILES = [
    ("interval = 1s\n\nbogus = 3\n", 3, ["unknown key", "bogus"]),
    ("# c\ninterval = 0\n", 2, ["interval", "'0'", "1ms", "24h"]),
    ("interval = 25h\n", 1, ["25h", "24h"]),
    ("workers = 65\n", 1, ["65", "1 to 64"]),
    ("count = 1000000001\n", 1, ["1000000001", "1000000000"]),
    ("exit-timeout = 61s\n", 1, ["61s", "1m"]),
    ("family = inet4\n", 1, ["inet4", "inet6"]),
    ("io-engine = fast\n", 1, ["fast", "syscall"]),
    ("quiet = maybe\n", 1, ["maybe", "true or false"]),
    ("states = listen,,established\n", 1, ["listen,,established"]),
    ("netns = a,\n", 1, ["'a,'"]),
    ("netns-dirs = /a,b\n", 1, ["'b'", "absolute"]),
    ("dest = \n", 1, ["dest"]),
    ("# x\n\ndest = udp://h:1?colour=red\n", 3,
     ["udp://h:1?colour=red", "unknown option 'colour'"]),
    ("dest = /var/log/x.json\n", 1, ["unknown scheme"]),
    ("once = true\njust a line\n", 2, ["key = value"]),
    ("[section]\ninterval = 1s\n", 2, ["section"]),
    ("config = /etc/x\n", 1, ["unknown key", "config"]),
    ("help = 1\n", 1, ["unknown key", "help"]),
]


def test_bad_lines(d):
    for i, (text, line, words) in enumerate(BAD_FILES):
        conf = write(d, "bad%d.conf" % i, text)
        rc, out, err = run(["--config", conf, "--once"])
        lines = err.strip().splitlines()
        check(rc == 2, "%r: rc %d (expected 2)" % (text, rc))
        check(len(lines) == 1, "%r: expected one line, got %r" % (text, err))
        if not lines:
            continue
        check(lines[0].startswith("tcpscope: %s:%d: " % (conf, line)),
              "%r: line not named as %s:%d: %r" % (text, conf, line,
                                                    lines[0]))
        for w in words:
            check(w in lines[0], "%r: %r not in %r" % (text, w, lines[0]))
        check(out == "", "%r: a bad file still polled" % text)
    rc, _, err = run(["--config", os.path.join(d, "missing.conf")])
    check(rc == 2 and "missing.conf" in err,
          "a missing file: rc %d, %r" % (rc, err))


def test_command_line_limits():
    # the limits the messages name are the ones enforced
    for opt, ok, bad, limit in [("--interval", "24h", "86400001ms", "24h"),
                                ("--interval", "1ms", "0ms", "1ms"),
                                ("--workers", "64", "65", "64"),
                                ("--exit-timeout", "60s", "60001ms", "1m"),
                                ("--uring-cqe-batch", "4096", "4097",
                                 "4096")]:
        rc, _, _ = run([opt, ok, "--check-config"])
        check(rc == 0, "%s %s (the limit) refused" % (opt, ok))
        rc, _, err = run([opt, bad, "--check-config"])
        check(rc == 2 and bad in err and limit in err,
              "%s %s: rc %d, %r" % (opt, bad, rc, err))


def test_help():
    rc, out, _ = run(["--help"])
    require(rc == 0, "--help failed")
    # every config key is documented, with its default where it has one
    for k, _, _ in EVERY_KEY:
        check(re.search(r"^  --%s\b" % re.escape(k), out, re.M),
              "--help lacks --%s" % k)
    check("(default 10s; from 1ms to 24h)" in out,
          "--help does not show interval's default and range")
    check(max(len(line) for line in out.splitlines()) <= 79,
          "--help has lines over 79 columns")


def run_all():
    with tempfile.TemporaryDirectory() as d:
        test_every_key(d)
        test_overrides(d)
        test_masking(d)
        test_bad_lines(d)
    test_command_line_limits()
    test_help()


main(run_all)
