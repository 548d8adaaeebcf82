#!/usr/bin/env python3
"""test_sample - --sample N follows the same sockets poll after poll.

With 400 connected loopback pairs held open, `--sample 4` over 3 polls
must deliver the same sockets in every poll (chosen by cookie, not at
random), about one in four of them, while the summary line still counts
every socket and says how many were left out.
"""
import re
import socket

from livelib import SocketKeeper, check, main, parse_lines, require, run

PAIRS = 400


def test():
    k = SocketKeeper()
    try:
        srv = k.keep(socket.socket())
        srv.bind(("127.0.0.1", 0))
        srv.listen(PAIRS)
        port = srv.getsockname()[1]
        for _ in range(PAIRS):
            c = k.keep(socket.create_connection(("127.0.0.1", port)))
            k.keep(srv.accept()[0])
            del c
        rc, out, err = run(["--count", "3", "--interval", "200ms",
                            "--netns", "host", "--sample", "4"])
        require(rc == 0, "tcpscope --sample 4: rc %d %s" % (rc, err))
    finally:
        k.close()
    polls = {}
    for d in parse_lines(out):
        if port in (d["inet_diag_msg_socket_source_port"],
                    d["inet_diag_msg_socket_destination_port"]):
            polls.setdefault(d["poll_seq"], set()).add(
                d["inet_diag_msg_socket_cookie"])
    require(sorted(polls) == [1, 2, 3], "polls seen: %r" % sorted(polls))
    ours = 2 * PAIRS + 1  # both ends of each pair, and the listener
    n = len(polls[1])
    check(polls[1] == polls[2] == polls[3],
          "the sample changed between polls: %d/%d/%d sockets"
          % tuple(len(polls[i]) for i in (1, 2, 3)))
    check(ours * 0.15 < n < ours * 0.35,
          "%d of our %d sockets sampled, expected about a quarter"
          % (n, ours))
    lines = [ln for ln in err.splitlines() if ln.startswith("tcpscope: poll")]
    for ln in lines:
        m = re.search(r": (\d+) sockets in .*sample 1 in 4: (\d+) left out"
                      r".*stdout: (\d+) sent", ln)
        if not check(m, "summary without the sample: %r" % ln):
            continue
        check(int(m.group(1)) >= ours, "the summary counts %s sockets, "
              "fewer than ours (%d): %r" % (m.group(1), ours, ln))
    # every socket is either delivered or left out by the sample (the
    # destination's part is a running total, the rest is per poll)
    socks = left = sent = 0
    for ln in lines:
        m = re.search(r": (\d+) sockets in .*: (\d+) left out.*stdout: "
                      r"(\d+) sent", ln)
        if m:
            socks += int(m.group(1))
            left += int(m.group(2))
            sent = int(m.group(3))
    check(len(lines) == 3 and sent + left == socks,
          "sent %d + left out %d != sockets %d over %d polls"
          % (sent, left, socks, len(lines)))

main(test)
