#!/usr/bin/env bash
# bench/scale.sh - bench/run.sh from 20k to 1M sockets: does the CPU per
# socket per poll stay flat, what is a poll's wall time, and does
# tcpscope's peak RSS stay under its bounds (16 MB at 100k sockets, 32 MB
# at 1M; it should not grow with the sockets at all: the receive buffer
# and the output batches are reused every datagram)?
#
# run.sh does the measuring (floor, tcpscope JSON to /dev/null, tcp-null,
# tcp-pbl, best of ROUNDS); this sets its knobs for the sizes and then
# checks each tcpscope row's rss_MB against the bound of its size.
# Defaults here (each overridable from the environment):
#   SIZES="20000 100000 1000000"   (run.sh's BENCH_SIZES)
#   MIN_POLLS=5                    (K = 2e6 / sockets: 100, 20, 5 polls)
#   SS=0                           (ss at 1M takes ~7 s a poll; SS=1 adds it)
#   BENCH_CHILD_EHASH=262144       (a private established hash of the
#                                   host's size: 1M sockets in the shared
#                                   one would slow every namespace's dumps
#                                   on the machine, and others' sockets
#                                   would be in ours)
# Needs root for the private namespace, ~1M fds (fs.file-max) and ~5 GB of
# kernel memory at 1M. ~6 min on 2 cores.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export BENCH_SIZES=${SIZES:-${BENCH_SIZES:-20000 100000 1000000}}
export MIN_POLLS=${MIN_POLLS:-5}
export SS=${SS:-0}
export BENCH_CHILD_EHASH=${BENCH_CHILD_EHASH-262144}
out=$(mktemp /tmp/tcpscope-scale.XXXXXX)
trap 'rm -f "$out"' EXIT

"$root/bench/run.sh" "$@" | tee "$out"
status=${PIPESTATUS[0]}
echo
echo "## peak RSS of tcpscope (bound: 16 MB up to 100k sockets, 32 MB at 1M)"
awk '$4 ~ /^(tcpscope|tcp-null|tcp-pbl)$/ && $1 ~ /^[0-9]+$/ && NF >= 10 {
	bound = ($1 > 100000) ? 32 : 16
	printf "%8s %-9s %7s MB  %s\n", $1, $4, $10,
		($10 == "n/a" ? "n/a" : ($10 <= bound ? "ok (<= " bound ")" : "OVER " bound " MB")) }' "$out"
exit "$status"
