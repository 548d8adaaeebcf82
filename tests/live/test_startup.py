#!/usr/bin/env python3
"""test_startup - what happens before the first poll.

What the resolver (a preloaded one, gai_shim.c) answers for a udp://
destination at startup: a temporary failure
(EAI_AGAIN) or a resolver that cannot answer (EAI_FAIL) is a runtime
failure, exit 1 with the resolver's message; a name that does not exist
is bad input, exit 2. Needs TCPSCOPE_GAI_SHIM (set by meson).
"""
import os

from livelib import Skip, check, main, names, run

SMALL = ["--states", "listen"]


def shim_env():
    shim = os.environ.get("TCPSCOPE_GAI_SHIM")
    if not shim or not os.path.exists(shim):
        raise Skip("TCPSCOPE_GAI_SHIM is not set (run through meson test)")
    env = dict(os.environ)
    env["LD_PRELOAD"] = ":".join(x for x in (shim, env.get("LD_PRELOAD"))
                                 if x)
    # under ASan the preloaded shim comes before the ASan runtime
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0")
        if x)
    return env


RESOLVER = [
    # (host, exit status, the resolver's message)
    ("again.tcpscope.test", 1, "Temporary failure in name resolution"),
    ("fail.tcpscope.test", 1, "Non-recoverable failure in name resolution"),
    ("noname.tcpscope.test", 2, "Name or service not known"),
]


def check_resolver_errors(env):
    for host, want, msg in RESOLVER:
        rc, out, err = run(["--once", "--dest", "udp://%s:9" % host] + SMALL,
                           env=env, timeout=20)
        what = "--dest udp://%s:9" % host
        check(rc == want, "%s: exit %d, expected %d (%s)"
              % (what, rc, want, err.strip()))
        check(out == "", "%s: wrote to stdout: %r" % (what, out[:200]))
        check(len(err.splitlines()) == 1 and names(err, host) and msg in err,
              "%s: expected one line naming %s and %r, got %r"
              % (what, host, msg, err))


def test():
    env = shim_env()
    check_resolver_errors(env)


if __name__ == "__main__":
    main(test)
