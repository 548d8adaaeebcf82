#!/usr/bin/env python3
"""test_netns_badentry: an entry of a --netns-dirs directory that cannot be
read (a symlink loop: ELOOP) is skipped and counted, with the reason, in
the summary line ('1 skipped; netns entry DIR/loop skipped: Too many levels
of symbolic links'), and discovery goes on: at startup the host and the
namespaces listed after it are polled (exit 0); appearing at runtime, it
does not freeze the table: a namespace created afterwards is dumped, one
deleted afterwards is released (no fd of tcpscope holds it any more).
Runs isolated (nslib.isolate): private /run/netns; the bad entry lives in
a temp dir of its own, listed before /run/netns in --netns-dirs."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (NETNS_DIR, TSC_PREFIX as PRE, Pairs, Tail, at_cleanup, check, fail, full, key,  # noqa: E402
                   light_records, log, main, ns_add, ns_del, ns_inode,
                   ns_path, port_filter, start_daemon, step, stop_daemon,
                   tcpscope_bin, tmpdir)

SUMMARY = re.compile(r'namespaces (\d+) \(\+\d+ -\d+, (\d+) failed, '
                     r'(\d+) skipped, ')
LOOP_MSG = 'skipped: Too many levels of symbolic links'


def ns_fds(pid, ino):
    """tcpscope's fds that hold namespace inode ino."""
    n = 0
    d = '/proc/%d/fd' % pid
    nsfs = os.stat('/proc/self/ns/net').st_dev
    for e in os.listdir(d):
        try:
            st = os.stat(os.path.join(d, e))
        except OSError:
            continue
        n += st.st_ino == ino and st.st_dev == nsfs
    return n


def check_poll(recs, pairs, what):
    for name, pr in pairs.items():
        got = sorted(key(r) for r in full(recs) if r['netns'] == name and
                     key(r)[1] == pr.port)
        check(got == pr.expected(('listen',)),
              '%s: %s: listeners %s, expected %s'
              % (what, name, got, pr.expected(('listen',))))


def body():
    binary = tcpscope_bin()
    bad = tmpdir()
    loop = os.path.join(bad, 'loop')
    os.symlink('loop', loop)
    dirs = '%s,%s' % (bad, NETNS_DIR)
    names = [PRE + 'a', PRE + 'b']
    ns_add(names)
    pairs = {n: Pairs(ns_path(n), 0, 1) for n in names}
    pairs['host'] = Pairs(None, 0, 1)
    for pr in pairs.values():
        at_cleanup(pr.close)
    want = port_filter(*[pr.port for pr in pairs.values()])

    # --- at startup ---------------------------------------------------
    with step('tcpscope --once with a symlink loop in --netns-dirs'):
        p = subprocess.run([binary, '--once', '--states', 'listen',
                            '--netns-dirs', dirs], capture_output=True,
                           text=True, timeout=60)
    err = p.stderr
    check(p.returncode == 0, 'exit %d: %s' % (p.returncode, err[-1000:]))
    m = SUMMARY.search(err)
    check(m, 'no summary line: %r' % err[-1000:])
    check(m.group(3) == '1', 'summary: %s skipped, expected 1: %r'
          % (m.group(3), err[-600:]))
    check('netns entry %s %s' % (loop, LOOP_MSG) in err,
          'the reason is not given: %r' % err[-600:])
    check(int(m.group(1)) >= 3, 'only %s namespaces: %r'
          % (m.group(1), err[-600:]))
    check_poll(light_records(p.stdout, want), pairs, 'startup')
    log('startup: %s' % err.strip()[-300:])

    # --- at runtime ---------------------------------------------------
    os.unlink(loop)
    d = tmpdir()
    out = os.path.join(d, 'out.jsonl')
    errp = os.path.join(d, 'stderr')
    proc = start_daemon(binary, '--interval', '100ms', '--states', 'listen',
                        '--netns-dirs', dirs, '--dest', 'file:' + out,
                        stderr_path=errp)
    tail = Tail(out, want=want)
    tail.wait_seq(2, 20, proc=proc)
    _, recs = tail.later_poll(proc)
    check_poll(recs, pairs, 'before the loop')
    ino_a = ns_inode(names[0])
    check(ns_fds(proc.pid, ino_a) == 1, 'tcpscope does not hold %s'
          % names[0])

    with step('loop appears, then a new namespace'):
        os.symlink('loop', loop)
        time.sleep(0.3)
        c = PRE + 'c'
        ns_add([c])
        pairs[c] = Pairs(ns_path(c), 0, 1)
        at_cleanup(pairs[c].close)
        tail.want = port_filter(*[pr.port for pr in pairs.values()])
        seq, recs = tail.later_poll(proc)
    check_poll(recs, pairs, 'poll %d (loop present)' % seq)

    with step('a namespace deleted while the loop is there'):
        pairs.pop(names[0]).close()
        ns_del([names[0]])
        seq, recs = tail.later_poll(proc)
        end = time.monotonic() + 5
        while ns_fds(proc.pid, ino_a) and time.monotonic() < end:
            time.sleep(0.1)
    check(ns_fds(proc.pid, ino_a) == 0, 'deleted namespace %s (inode %d) '
          'still held by tcpscope' % (names[0], ino_a))
    check(not [r for r in recs if r['netns'] == names[0]],
          'poll %d: deleted namespace %s still reported' % (seq, names[0]))
    check_poll(recs, pairs, 'poll %d (after the deletion)' % seq)

    rc = stop_daemon(proc)
    with open(errp) as f:
        err = f.read()
    check(rc == 0, 'tcpscope exited %d: %s' % (rc, err[-1000:]))
    skipped = [int(m.group(3)) for m in map(SUMMARY.search,
                                            err.splitlines()) if m]
    check(skipped and skipped[-1] == 1 and 0 in skipped,
          'skipped counts over the run: %s' % sorted(set(skipped)))
    check(LOOP_MSG in err, 'the reason is not given at runtime')
    if 'namespace discovery' in err:
        fail('discovery failed: %r' % err[-500:])


if __name__ == '__main__':
    main(body, isolated=True)
