#!/usr/bin/env python3
"""test_emit - --emit changes sends a socket when it is new, when it
changed, and every --snapshot-every polls; --emit all marks every record
"poll".

40 idle connected pairs and 4 pairs that move data between polls, held
open by the test; a pair opened mid-run. Over 5 polls at 300 ms with
--snapshot-every 3: poll 1 has every socket as "open"; polls 2, 4, 5 have
the moving ones as "change" and no idle one; poll 3 has every socket as
"snapshot"; the late pair shows up once as "open". The summary counts
what was not sent as unchanged.
"""
import re
import socket
import subprocess
import threading
import time

from livelib import (SocketKeeper, check, main, parse_lines, require, run,
                     tcpscope_bin)

IDLE, BUSY = 40, 4


def pair(k, port, srv):
    c = k.keep(socket.create_connection(("127.0.0.1", port)))
    s = k.keep(srv.accept()[0])
    return c, s


def test_changes():
    k = SocketKeeper()
    stop = threading.Event()
    try:
        srv = k.keep(socket.socket())
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        port = srv.getsockname()[1]
        idle = [pair(k, port, srv) for _ in range(IDLE)]
        busy = [pair(k, port, srv) for _ in range(BUSY)]
        time.sleep(0.5)  # let the handshakes' counters settle

        def mover():
            while not stop.is_set():
                for c, s in busy:
                    c.send(b"x" * 100)
                    s.recv(4096)
                time.sleep(0.02)
        t = threading.Thread(target=mover)
        t.start()
        p = subprocess.Popen([tcpscope_bin(), "--netns", "host", "--emit",
                              "changes", "--snapshot-every", "3",
                              "--count", "5", "--interval", "300ms"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.75)  # between poll 3 and 4
        late = pair(k, port, srv)
        idle_ports = {c.getsockname()[1] for c, _ in idle}
        busy_ports = {c.getsockname()[1] for c, _ in busy}
        late_port = late[0].getsockname()[1]
        out, err = p.communicate(timeout=60)
        stop.set()
        t.join()
    finally:
        stop.set()
        k.close()
    require(p.returncode == 0, "rc %d: %s" % (p.returncode, err[-300:]))
    by_poll = {}
    for d in parse_lines(out.decode()):
        sp = d["inet_diag_msg_socket_source_port"]
        dp = d["inet_diag_msg_socket_destination_port"]
        if port not in (sp, dp):
            continue
        client = dp if sp == port else sp  # a pair by its client port
        by_poll.setdefault(d["poll_seq"], []).append((client, d["event"]))
    require(sorted(by_poll) == [1, 2, 3, 4, 5],
            "polls with records: %r" % sorted(by_poll))
    ev = lambda n: {e for _, e in by_poll[n]}
    who = lambda n: {c for c, _ in by_poll[n]}
    check(ev(1) == {"open"}, "poll 1 events %r" % ev(1))
    check(idle_ports <= who(1) and busy_ports <= who(1),
          "poll 1 lacks some sockets")
    check(ev(3) <= {"snapshot", "open"} and idle_ports <= who(3),
          "poll 3 is not a snapshot: %r" % ev(3))
    moved = set()
    for n in (2, 4, 5):
        check(not (who(n) & idle_ports),
              "poll %d sent idle sockets: %r" % (n, who(n) & idle_ports))
        check({e for c, e in by_poll[n] if c in busy_ports} <= {"change"},
              "poll %d: moving sockets not 'change'" % n)
        moved |= who(n) & busy_ports
    # a slow poll (ASan, a loaded host) can leave one tick's window too
    # short for every mover to send: each must show up in one of them
    check(busy_ports <= moved,
          "moving sockets never sent as changed: %r" % (busy_ports - moved))
    late_ev = [(n, e) for n in by_poll for c, e in by_poll[n]
               if c == late_port]
    check(late_ev and late_ev[0][1] == "open",
          "the late pair: %r" % late_ev)
    lines = [ln for ln in err.decode().splitlines()
             if ln.startswith("tcpscope: poll")]
    m = re.search(r"changes only: (\d+) unchanged", lines[1] if
                  len(lines) > 1 else "")
    check(m and int(m.group(1)) >= 2 * IDLE,
          "poll 2's summary does not count the idle sockets: %r"
          % (lines[1:2],))


def test_all():
    rc, out, err = run(["--once", "--netns", "host", "--fields", "event"])
    evs = {d.get("event") for d in parse_lines(out)}
    check(rc == 0 and evs == {"poll"}, "--emit all: events %r" % evs)


def tests():
    test_all()
    test_changes()


main(tests)
