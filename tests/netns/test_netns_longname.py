#!/usr/bin/env python3
"""test_netns_longname: namespace names are whole up to 255 bytes (a file
name's limit). Two bind-mounted namespaces whose 255-byte names differ only
in their last byte are labelled each with its own full name, and --netns
with one of them selects that one only. Runs isolated (nslib.isolate):
private /run/netns."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nslib import (TSC_PREFIX, Pairs, at_cleanup, check, full, key, log,  # noqa: E402
                   main, ns_add, ns_path, port_filter, run_once, step,
                   tcpscope_bin)


def body():
    binary = tcpscope_bin()
    stem = TSC_PREFIX + 'long-'
    names = [stem + 'x' * (254 - len(stem)) + c for c in 'ab']
    check(all(len(n.encode()) == 255 for n in names), 'names not 255 bytes')
    ns_add(names)
    pairs = {n: Pairs(ns_path(n), 0, 1) for n in names}
    for pr in pairs.values():
        at_cleanup(pr.close)
    want = port_filter(*[pr.port for pr in pairs.values()])

    def listeners(recs, name):
        return sorted(key(r) for r in full(recs)
                      if r['netns'] == name and
                      key(r)[1] == pairs[name].port)

    with step('tcpscope --once: both 255-byte names'):
        recs = run_once(binary, '--states', 'listen', want=want)
    ours = sorted({r['netns'] for r in recs if r['netns'].startswith(stem)})
    check(ours == sorted(names), 'labels %s, expected the two full names'
          % [(len(n), n[-3:]) for n in ours])
    for n in names:
        check(listeners(recs, n) == pairs[n].expected(('listen',)),
              '...%s: listeners %s, expected %s'
              % (n[-3:], listeners(recs, n), pairs[n].expected(('listen',))))

    with step('tcpscope --once --netns <the first name>'):
        recs = run_once(binary, '--states', 'listen', '--netns', names[0],
                        want=want)
    labels = sorted({r['netns'] for r in recs})
    check(labels == [names[0]], '--netns ...%s: labels %s'
          % (names[0][-3:], [(len(n), n[-3:]) for n in labels]))
    check(listeners(recs, names[0]) == pairs[names[0]].expected(('listen',)),
          '--netns ...%s: its listener missing' % names[0][-3:])
    log('ok: names of %d bytes kept whole' % len(names[0]))


if __name__ == '__main__':
    main(body, isolated=True)
