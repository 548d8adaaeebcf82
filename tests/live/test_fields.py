#!/usr/bin/env python3
"""test_fields - --fields and fields= select the fields of every format.

--fields LIST keeps only the named fields (or groups) in JSON and in
protobuf (decoded with protoc --decode_raw: only the selected field
numbers appear); a destination's fields= wins over --fields for that
destination alone; an unknown name exits 2 naming the closest ones.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

from livelib import Skip, check, main, parse_lines, require, run

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PROTO = os.path.join(ROOT, "proto", "xtcp_flat_record.proto")


def field_number(name):
    with open(PROTO) as f:
        m = re.search(r"\b%s\s*=\s*(\d+)\s*;" % re.escape(name), f.read())
    require(m, "%s not in the .proto" % name)
    return int(m.group(1))


def keys_of(out):
    return [set(d) for d in parse_lines(out)]


def test_json(d):
    sel = {"inet_diag_msg_socket_source_port", "tcp_info_rtt", "netns"}
    rc, out, err = run(["--once", "--netns", "host", "--fields",
                        ",".join(sorted(sel))])
    require(rc == 0 and out, "--fields: rc %d %s" % (rc, err))
    ks = keys_of(out)
    check(all(k <= sel for k in ks), "keys beyond the selection: %r"
          % (set().union(*ks) - sel))
    check(any(k == sel for k in ks), "no record with every selected field")
    # a group
    rc, out, _ = run(["--once", "--netns", "host", "--fields", "tcp_info"])
    ks = set().union(*keys_of(out))
    check(ks and all(k.startswith("tcp_info_") for k in ks),
          "--fields tcp_info: %r" % sorted(ks)[:5])
    check(len(ks) > 30, "--fields tcp_info gave only %d fields" % len(ks))
    # fields= wins for its destination only
    path = os.path.join(d, "all.json")
    rc, out, err = run(["--once", "--netns", "host", "--fields", "netns",
                        "--dest", "stdout?fields=hostname",
                        "--dest", "file:" + path])
    require(rc == 0, "two destinations: rc %d %s" % (rc, err))
    check(all(k == {"hostname"} for k in keys_of(out)),
          "stdout?fields=hostname: %r" % keys_of(out)[:2])
    with open(path) as f:
        fk = [set(json.loads(line)) for line in f]
    check(fk and all(k == {"netns"} for k in fk),
          "the file takes --fields: %r" % fk[:2])


def test_protobuf(d):
    if not shutil.which("protoc"):
        raise Skip("protoc (protobuf-compiler) is not installed")
    path = os.path.join(d, "rec.pb")
    sel = ["inet_diag_msg_socket_source_port", "tcp_info_snd_cwnd"]
    rc, out, err = run(["--once", "--netns", "host", "--dest",
                        "file:%s?format=protobuf&fields=%s"
                        % (path, ",".join(sel))])
    require(rc == 0, "protobuf with fields=: rc %d %s" % (rc, err))
    with open(path, "rb") as f:
        data = f.read()
    require(data, "no protobuf written")
    # the first varint-prefixed record
    n, shift, i = 0, 0, 0
    while True:
        b = data[i]
        n |= (b & 0x7f) << shift
        i += 1
        shift += 7
        if b < 0x80:
            break
    p = subprocess.run(["protoc", "--decode_raw"], input=data[i:i + n],
                       capture_output=True, timeout=30)
    require(p.returncode == 0, "protoc --decode_raw failed")
    nums = {int(x) for x in re.findall(r"^(\d+):", p.stdout.decode(),
                                       re.M)}
    want = {field_number(s) for s in sel}
    check(nums and nums <= want, "protobuf fields %r, selected %r"
          % (sorted(nums), sorted(want)))


def test_bad():
    rc, out, err = run(["--once", "--fields", "tcp_info_rt"])
    check(rc == 2 and "tcp_info_rtt" in err and "closest" in err,
          "unknown field: rc %d %r" % (rc, err))
    rc, out, err = run(["--once", "--dest", "stdout?fields=tcp,"])
    check(rc == 2 and out == "", "empty item: rc %d %r" % (rc, err))


def all_tests():
    with tempfile.TemporaryDirectory() as d:
        test_json(d)
        test_bad()
        test_protobuf(d)


main(all_tests)
