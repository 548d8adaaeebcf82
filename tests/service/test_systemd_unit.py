#!/usr/bin/env python3
"""test_systemd_unit - deploy/systemd/tcpscope.service as systemd reads it.

- `systemd-analyze security --offline=yes` rates its exposure 3.0 or
  lower;
- `systemd-analyze verify` (ExecStart= pointed at the built binary)
  finds nothing wrong: no unknown or misspelt directive, which systemd
  would ignore with a warning;
- it is Type=notify with a WatchdogSec=, runs tcpscope with the shipped
  config, as a dynamic user with exactly the kept capabilities as
  ambient and bounding sets, with the sandboxing the service needs, and
  without what breaks setns into the host's namespaces
  (RestrictNamespaces=, PrivateUsers=) or hides the host's sockets
  (PrivateNetwork=).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import Skip, check, main, require, tcpscope_bin  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
UNIT = os.path.join(SRC, "deploy", "systemd", "tcpscope.service")
KEPT = "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_SYS_PTRACE"

REQUIRED = {
    "Type": "notify",
    "ExecStart": "/usr/sbin/tcpscope --config /etc/tcpscope/tcpscope.conf",
    "DynamicUser": "yes",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectProc": "ptraceable",
    "RestrictAddressFamilies": "AF_NETLINK AF_UNIX AF_INET AF_INET6",
}
PRESENT = ["WatchdogSec", "MemoryMax", "TasksMax"]
ABSENT = ["RestrictNamespaces", "PrivateUsers", "PrivateNetwork"]


def directives():
    """{key: [values]} of the unit's lines."""
    out = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")):
                k, _, v = line.partition("=")
                out.setdefault(k.strip(), []).append(v.strip())
    return out


def analyze(*args):
    p = subprocess.run(["systemd-analyze"] + list(args), capture_output=True,
                       timeout=120)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def test_security():
    rc, out, err = analyze("security", "--offline=yes", "--no-pager", UNIT)
    if rc != 0 and "--offline" in err:
        raise Skip("systemd-analyze has no --offline (systemd < 250): %s"
                   % err.strip())
    m = re.search(r"Overall exposure level for tcpscope\.service: "
                  r"([0-9.]+)", out)
    require(m, "no exposure level in systemd-analyze security's output "
            "(exit %d): %s %s" % (rc, out[-500:], err[-500:]))
    score = float(m.group(1))
    print("exposure %.1f" % score)
    check(score <= 3.0, "exposure %.1f, more than 3.0:\n%s"
          % (score, "\n".join(line for line in out.splitlines()
                              if line.startswith("\u2717"))))


def test_verify():
    with tempfile.TemporaryDirectory(prefix="ts-unit-") as d:
        unit = os.path.join(d, "tcpscope.service")
        with open(UNIT) as f:
            text = f.read().replace("/usr/sbin/tcpscope", tcpscope_bin())
        with open(unit, "w") as f:
            f.write(text)
        rc, out, err = analyze("verify", "--man=no", unit)
        check(rc == 0 and not (out + err).strip(),
              "systemd-analyze verify: exit %d: %s%s" % (rc, out, err))


def test_directives():
    d = directives()
    for k, v in REQUIRED.items():
        check(d.get(k) == [v], "%s=%s expected, found %r" % (k, v, d.get(k)))
    for k in PRESENT:
        check(d.get(k), "no %s= line" % k)
    for k in ABSENT:
        check(k not in d, "%s= breaks tcpscope (setns, or the host's "
              "sockets): %r" % (k, d[k] if k in d else None))
    for k in ("AmbientCapabilities", "CapabilityBoundingSet"):
        got = " ".join(sorted(" ".join(d.get(k, [])).split()))
        check(got == KEPT, "%s=%s, expected the kept ones, %s"
              % (k, got, KEPT))
    check(d.get("SystemCallFilter", [""])[0] == "@system-service",
          "SystemCallFilter= does not start from @system-service: %r"
          % d.get("SystemCallFilter"))


def test():
    if not shutil.which("systemd-analyze"):
        raise Skip("systemd-analyze (package systemd) not found")
    require(os.path.exists(UNIT), "%s is missing" % UNIT)
    test_directives()
    test_verify()
    test_security()


if __name__ == "__main__":
    main(test)
