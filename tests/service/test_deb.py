#!/usr/bin/env python3
"""test_deb - the Debian package, built, installed, run and purged.

From a copy of the tree in a temp dir (no build product lands in the
source tree): `dpkg-buildpackage -us -uc -b` builds tcpscope_VERSION_ARCH.deb
whose version is meson.build's project version, with the binary
(/usr/sbin), the unit (/lib/systemd/system), the config (a conffile in
/etc/tcpscope) and the man page; lintian finds no error. Then
`apt-get install ./tcpscope_*.deb` (dependencies from Debian), and the
installed /usr/sbin/tcpscope --once prints this host's sockets, the
installed config passes --check-config and systemd-analyze verify finds
nothing wrong with the installed unit (where systemd runs as PID 1, the
service must also become active: Type=notify, READY=1). Last, the
package is purged, with any dependency the install brought in, and the
machine is as it was: no file of the package, no log directory (the
unit's LogsDirectory=, made as systemd would make it where systemd does
not run), no unit symlink or deb-systemd-helper state left, the same
packages installed.

Needs root (apt-get), debhelper, dpkg-dev, lintian and the build
dependencies (skips, 77, naming what is missing); skips too when a
tcpscope package is installed already (it is not ours to purge).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "live"))
from livelib import Skip, check, main, require  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
PKG = "tcpscope"
FILES = ["/usr/sbin/tcpscope", "/lib/systemd/system/tcpscope.service",
         "/etc/tcpscope/tcpscope.conf", "/usr/share/man/man8/tcpscope.8.gz"]
# the unit's LogsDirectory=, which systemd makes for the dynamic user
LOGS = ["/var/log/private/tcpscope", "/var/log/tcpscope"]
GONE = FILES + ["/etc/tcpscope", "/usr/share/doc/tcpscope"] + LOGS
# where enabling a unit leaves traces
STATE_DIRS = ["/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-"
              "enabled", "/var/lib/systemd/deb-systemd-helper-masked"]
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")


def sh(argv, timeout=600, cwd=None, what=None):
    """Runs argv; (rc, stdout + stderr)."""
    t = time.monotonic()
    p = subprocess.run(argv, cwd=cwd, env=ENV, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    if what:
        print("%s: %.1f s" % (what, time.monotonic() - t), flush=True)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def installed():
    """{package: version} of every installed package."""
    rc, out = sh(["dpkg-query", "-W", "-f", "${Package}:${Architecture} "
                  "${Version} ${db:Status-Abbrev}\\n"])
    return {f[0]: f[1] for f in (line.split() for line in out.splitlines())
            if len(f) >= 3 and f[2].startswith("ii")}


def is_installed(pkg):
    return any(k.split(":")[0] == pkg for k in installed())


def tree(d):
    """Every path below d (links as links), for before/after."""
    out = set()
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            out.add((p, os.readlink(p) if os.path.islink(p) else None))
    return out


def snapshot():
    return {d: tree(d) for d in STATE_DIRS}


def meson_version():
    with open(os.path.join(SRC, "meson.build")) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    require(m, "no version in meson.build")
    return m.group(1)


def copy_tree(dest):
    """The tree as it is (uncommitted changes too), without build dirs."""
    rc, out = sh(["git", "-C", SRC, "ls-files", "-co", "--exclude-standard",
                  "-z"])
    if rc == 0:
        for rel in out.split("\0"):
            src = os.path.join(SRC, rel)
            if rel and os.path.isfile(src):
                os.makedirs(os.path.dirname(os.path.join(dest, rel)),
                            exist_ok=True)
                shutil.copy2(src, os.path.join(dest, rel))
    else:  # not a git checkout: everything but build dirs
        shutil.copytree(SRC, dest, symlinks=True, ignore=lambda d, names: [
            n for n in names if d == SRC and (n.startswith("build") or
                                              n == ".git")])


def preflight():
    if os.geteuid() != 0:
        raise Skip("needs root (apt-get install, purge)")
    for tool, pkg in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper"),
                      ("lintian", "lintian"), ("apt-get", "apt")):
        if not shutil.which(tool):
            raise Skip("%s not found (package %s)" % (tool, pkg))
    if is_installed(PKG):
        raise Skip("a %s package is installed already: not ours to purge"
                   % PKG)


def build(work, version):
    src = os.path.join(work, "%s-%s" % (PKG, version))
    copy_tree(src)
    rc, out = sh(["dpkg-checkbuilddeps"], cwd=src)
    if rc != 0:
        raise Skip("build dependencies missing: %s" % out.strip())
    rc, out = sh(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                 what="dpkg-buildpackage -us -uc -b")
    require(rc == 0, "dpkg-buildpackage failed (%d):\n%s" % (rc, out[-3000:]))
    debs = [f for f in os.listdir(work) if re.match(
        r"^%s_[^_]+_[a-z0-9]+\.deb$" % PKG, f)]
    require(len(debs) == 1, "expected one %s_*.deb in %s: %r"
            % (PKG, work, os.listdir(work)))
    return os.path.join(work, debs[0])


def check_deb(deb, version):
    rc, ver = sh(["dpkg-deb", "-f", deb, "Version"])
    check(ver.strip() == version, "package version %r, meson.build says %r"
          % (ver.strip(), version))
    rc, out = sh(["dpkg-deb", "-c", deb])
    listed = {line.split()[-1].lstrip(".") for line in out.splitlines()}
    for f in FILES:
        check(f in listed, "%s is not in the package" % f)
    with tempfile.TemporaryDirectory() as d:
        sh(["dpkg-deb", "-e", deb, d])
        with open(os.path.join(d, "conffiles")) as f:
            conffiles = f.read().split()
    check("/etc/tcpscope/tcpscope.conf" in conffiles,
          "the config is not a conffile: %r" % conffiles)
    changes = re.sub(r"\.deb$", ".changes", deb)
    rc, out = sh(["lintian", changes], what="lintian")
    errors = [line for line in out.splitlines() if line.startswith("E:")]
    check(not errors, "lintian errors:\n%s" % "\n".join(errors))
    print("lintian: %d errors, %d warnings" % (len(errors), sum(
        line.startswith("W:") for line in out.splitlines())))


def check_installed(version):
    for f in FILES:
        check(os.path.isfile(f), "%s not installed" % f)
    rc, out = sh(["/usr/sbin/tcpscope", "--version"])
    check(out.strip() == "tcpscope %s" % version, "--version: %r" % out)
    p = subprocess.run(["/usr/sbin/tcpscope", "--once", "--quiet"],
                       capture_output=True, timeout=120)
    check(p.returncode == 0, "/usr/sbin/tcpscope --once: exit %d: %s"
          % (p.returncode, p.stderr[-300:]))
    lines = p.stdout.decode().splitlines()
    check(lines and all(isinstance(json.loads(x), dict) for x in lines[:50]),
          "/usr/sbin/tcpscope --once printed no JSON records")
    print("/usr/sbin/tcpscope --once: %d records" % len(lines))
    rc, out = sh(["/usr/sbin/tcpscope", "--config",
                  "/etc/tcpscope/tcpscope.conf", "--check-config"])
    check(rc == 0, "the installed config: --check-config exit %d: %s"
          % (rc, out[-300:]))
    if shutil.which("systemd-analyze"):
        rc, out = sh(["systemd-analyze", "verify", "--man=no",
                      "/lib/systemd/system/tcpscope.service"])
        check(rc == 0 and not out.strip(), "systemd-analyze verify of the "
              "installed unit: %d %s" % (rc, out))
    if os.path.isdir("/run/systemd/system"):
        # systemd is PID 1: the package started the service
        state = ""
        for _ in range(60):
            rc, state = sh(["systemctl", "is-active", "tcpscope.service"])
            if state.strip() == "active":
                break
            time.sleep(0.5)
        check(state.strip() == "active", "tcpscope.service is %r, not "
              "active (READY=1 expected after the first poll)"
              % state.strip())
    else:
        print("NOTE: systemd is not PID 1: the unit is not started here; "
              "its LogsDirectory= is made as systemd would, for the purge")
        os.makedirs(LOGS[0], mode=0o700)
        os.symlink("private/tcpscope", LOGS[1])


def purge(new):
    """Purges tcpscope and the packages its install brought in, when apt
    removes nothing else with them."""
    names = [PKG] + sorted(new)
    rc, sim = sh(APT + ["-s", "purge"] + names)
    gone = set(re.findall(r"^(?:Purg|Remv) (\S+)", sim, re.M))
    if gone != set(n.split(":")[0] for n in names):
        print("NOTE: purging %s would also remove %s: only %s is purged"
              % (names, sorted(gone - set(names)), PKG))
        names = [PKG]
    rc, out = sh(APT + ["purge"] + names, what="apt-get purge")
    require(rc == 0, "apt-get purge %s: %s" % (" ".join(names), out[-2000:]))


def test():
    preflight()
    for path in LOGS:
        if os.path.lexists(path):
            raise Skip("%s exists: tcpscope's logs of an earlier install are "
                       "not ours to purge" % path)
    private_was = os.path.lexists(os.path.dirname(LOGS[0]))
    version = meson_version()
    before_pkgs, before_state = installed(), snapshot()
    work = tempfile.mkdtemp(prefix="ts-deb-")
    os.chmod(work, 0o755)  # apt's _apt user reads the .deb
    new = set()
    try:
        deb = build(work, version)
        check_deb(deb, version)
        rc, sim = sh(APT + ["-s", "install", deb])
        new = set(re.findall(r"^Inst (\S+)", sim, re.M)) - {PKG}
        rc, out = sh(APT + ["install", deb], what="apt-get install ./%s"
                     % os.path.basename(deb))
        require(rc == 0, "apt-get install failed (%d):\n%s" % (rc,
                                                              out[-3000:]))
        print("dependencies installed with it: %s" % (sorted(new) or
                                                       "none"))
        check_installed(version)
    finally:
        try:
            if is_installed(PKG):
                purge(new)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            private = os.path.dirname(LOGS[0])
            if not private_was and os.path.isdir(private):
                try:
                    os.rmdir(private)  # made for the test, empty by now
                except OSError as e:
                    print("NOTE: %s left: %s" % (private, e))
    check(not is_installed(PKG), "%s still installed" % PKG)
    rc, out = sh(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PKG])
    check(rc != 0 or not out.strip() or out.startswith("un") or
          out.startswith("pn"), "dpkg still knows %s: %r" % (PKG, out))
    for path in GONE:
        check(not os.path.lexists(path), "left behind: %s" % path)
    after_pkgs = installed()
    check(not set(after_pkgs) & new, "dependencies left installed: %s"
          % sorted(set(after_pkgs) & new))
    lost = sorted(set(before_pkgs) - set(after_pkgs))
    check(not lost, "packages removed by the test: %s" % lost)
    after_state = snapshot()
    for d in STATE_DIRS:
        check(after_state[d] == before_state[d], "%s changed: %s" % (
            d, sorted(after_state[d] ^ before_state[d])))


if __name__ == "__main__":
    main(test)
