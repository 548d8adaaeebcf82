#!/usr/bin/env python3
"""test_systemd_install - `meson install` puts the service in place: the
binary in SBINDIR, the man page in MANDIR/man8, the unit in the unit
directory (PREFIX/lib/systemd/system, or -Dsystemdunitdir) and the
commented default config in SYSCONFDIR/tcpscope/tcpscope.conf. The
installed unit is the tree's deploy/systemd/tcpscope.service with its
two paths made this prefix's: its ExecStart= runs the installed binary
with --config naming the installed config, and that command's
--check-config accepts it. Installed into a DESTDIR of its own.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import Skip, check, main, require  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))


def options(build):
    p = subprocess.run(["meson", "introspect", "--buildoptions", build],
                       capture_output=True, text=True, timeout=60)
    require(p.returncode == 0, "meson introspect: %s" % p.stderr)
    return {o["name"]: o["value"] for o in json.loads(p.stdout)}


def test():
    build = os.environ.get("MESON_BUILD_ROOT")
    if not build or not shutil.which("meson"):
        raise Skip("MESON_BUILD_ROOT is not set or meson is missing (run "
                   "through meson test)")
    o = options(build)
    prefix = o["prefix"]
    sbin = os.path.join(prefix, o["sbindir"], "tcpscope")
    man = os.path.join(prefix, o["mandir"], "man8", "tcpscope.8")
    conf = os.path.join(prefix, o["sysconfdir"], "tcpscope", "tcpscope.conf")
    unitdir = o["systemdunitdir"] or os.path.join(prefix, "lib", "systemd",
                                                  "system")
    unit = os.path.join(unitdir, "tcpscope.service")
    with tempfile.TemporaryDirectory(prefix="ts-install-") as dest:
        p = subprocess.run(["meson", "install", "-C", build, "--no-rebuild",
                            "--destdir", dest, "--quiet"],
                           capture_output=True, text=True, timeout=120)
        require(p.returncode == 0, "meson install: exit %d: %s %s"
                % (p.returncode, p.stdout[-500:], p.stderr[-500:]))

        def at(path):
            return dest + path

        for path in (sbin, man, conf, unit):
            check(os.path.isfile(at(path)), "not installed: %s" % path)
        check(os.access(at(sbin), os.X_OK), "%s is not executable" % sbin)
        with open(os.path.join(SRC, "deploy", "tcpscope.conf")) as f, \
                open(at(conf)) as g:
            check(f.read() == g.read(), "%s is not deploy/tcpscope.conf"
                  % conf)
        with open(os.path.join(SRC, "deploy", "systemd",
                               "tcpscope.service")) as f:
            want = f.read().replace("/usr/sbin/tcpscope", sbin).replace(
                "/etc/tcpscope/", os.path.dirname(conf) + "/")
        with open(at(unit)) as f:
            got = f.read()
        check(got == want, "the installed unit is not the tree's with this "
              "prefix's paths:\n%s" % got)
        start = [line.split("=", 1)[1] for line in got.splitlines()
                 if line.startswith("ExecStart=")]
        require(len(start) == 1, "ExecStart= lines: %r" % start)
        argv = shlex.split(start[0])
        check(argv[:3] == [sbin, "--config", conf], "ExecStart=%s: not the "
              "installed binary with the installed config" % start[0])
        # that command line, on the installed files
        p = subprocess.run([at(sbin), "--config", at(conf)] + argv[3:] +
                           ["--check-config"], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0 and "dest = null" in p.stdout,
              "the installed unit's command with --check-config: exit %d: "
              "%s" % (p.returncode, p.stderr[-300:]))
        print("installed: %s, %s, %s, %s" % (sbin, man, unit, conf))


if __name__ == "__main__":
    main(test)
