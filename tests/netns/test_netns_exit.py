#!/usr/bin/env python3
"""test_netns_exit: the exit status of a --count run says whether any of its
polls failed, not only the last one (man page, EXIT STATUS).

A namespace selected by name is there for poll 1, gone for poll 2 (a poll
with no namespace to open is a failed poll) and back for poll 3: the run
exits 1. The same run with the namespace there throughout exits 0.
Runs isolated (nslib.isolate): a private /run/netns, so that nobody else
sees the namespace come and go.
"""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (at_cleanup, check, kill_proc, log, main, ns_add, ns_del,  # noqa: E402
                   step, tcpscope_bin)

NAME = 'tsd-%d-exit' % os.getpid()
SUMMARY = re.compile(r'tcpscope: poll (\d+): \d+ sockets .*namespaces (\d+) '
                     r'\(\+\d+ -\d+, (\d+) failed')


def start(binary, interval):
    p = subprocess.Popen([binary, '--count', '3', '--interval', interval,
                          '--netns', NAME, '--dest', 'null'],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    at_cleanup(kill_proc, p)
    return p


def summary(p, seq):
    """Poll seq's summary line: (namespaces, failed)."""
    line = p.stderr.readline()
    m = SUMMARY.match(line)
    check(m and int(m.group(1)) == seq,
          'expected the summary of poll %d, got %r' % (seq, line))
    return int(m.group(2)), int(m.group(3))


def wait(p):
    try:
        rest = p.stderr.read()
        return p.wait(15), rest
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        check(False, 'tcpscope did not end after its 3 polls')


def body():
    binary = tcpscope_bin()
    ns_add([NAME], lo_up=False)

    with step('namespace there for every poll'):
        p = start(binary, '300ms')
        for seq in (1, 2, 3):
            check(summary(p, seq) == (1, 0), 'poll %d failed' % seq)
        rc, rest = wait(p)
        check(rc == 0, 'no poll failed, yet exit %d (%s)' % (rc, rest))

    with step('namespace gone for poll 2 of 3 only'):
        # a second between polls: time enough to delete and re-create it
        p = start(binary, '1s')
        check(summary(p, 1) == (1, 0), 'poll 1 failed')
        ns_del([NAME])
        check(summary(p, 2) == (0, 0), 'poll 2 still found %s' % NAME)
        ns_add([NAME], lo_up=False)
        check(summary(p, 3) == (1, 0), 'poll 3 did not find %s again' % NAME)
        rc, rest = wait(p)
        log('exit status %d' % rc)
        check(rc != -signal.SIGKILL, 'tcpscope hung')
        check(rc == 1, 'poll 2 of 3 failed, yet exit %d, expected 1 (%s)'
              % (rc, rest.strip()))


if __name__ == '__main__':
    main(body, isolated=True)
