#!/usr/bin/env python3
"""test_startup - what happens before the first poll.

Signals while a udp:// destination's name is being resolved (a preloaded
resolver, gai_shim.c, that takes a second): SIGHUP does not kill tcpscope,
which goes on to poll; SIGTERM or SIGINT end it cleanly, exit 0 without a
poll. What the resolver answers at startup: a temporary failure
(EAI_AGAIN) or a resolver that cannot answer (EAI_FAIL) is a runtime
failure, exit 1 with the resolver's message; a name that does not exist
is bad input, exit 2. Needs TCPSCOPE_GAI_SHIM (set by meson).
"""
import signal
import socket

from livelib import Daemon, check, main, names, require, run, shim_env

SMALL = ["--states", "listen"]


def check_signal_while_resolving(sig, env):
    name = signal.Signals(sig).name
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        dest = "udp://slow.tcpscope.test:%d" % sink.getsockname()[1]
        with Daemon(["--interval", "10s", "--dest", dest] + SMALL,
                    env=env) as d:
            line = d.read_summary(10)
            require(line == "gai_shim: resolving\n",
                    "%s test: expected the shim's line, got %r"
                    % (name, line))
            # several, as a supervisor or a shell may send them
            for _ in range(3):
                d.signal(sig)
            if sig == signal.SIGHUP:
                line = d.read_summary(10)
                check(d.p.poll() is None, "SIGHUP while %s was resolved "
                      "ended tcpscope (status %r)" % (dest, d.p.returncode))
                check(line and line.startswith("tcpscope: poll 1: "),
                      "after SIGHUP during startup: expected poll 1, got %r"
                      % line)
                d.signal(signal.SIGTERM)
            rc, out, err = d.wait(10)
            check(rc == 0, "%s while %s was resolved: exit %d, expected 0 "
                  "(%s)" % (name, dest, rc, err.strip()))
            if sig != signal.SIGHUP:
                check("tcpscope: poll" not in err,
                      "%s during startup, yet a poll ran: %r" % (name, err))
    finally:
        sink.close()


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
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        check_signal_while_resolving(sig, env)


if __name__ == "__main__":
    main(test)
