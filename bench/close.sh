#!/bin/bash
# bench/close.sh - the price of --close-events.
#
# While anyone listens to the destroy groups, the kernel builds one
# message per TCP socket it frees (net/core/sock_diag.c): a small
# allocation and a work item where the socket is freed, then, in a
# kworker, the message with tcp_info and its multicast. This script opens
# and closes loopback connections as fast as bench/churn can (2 sockets
# freed each) and measures, per closed connection:
#   - churn's own CPU (user, sys: the freeing side of the kernel's work),
#   - the kworkers' CPU (every kworker thread of the host: the message is
#     built there; other work of the machine lands there too: noise),
#   - tcpscope's CPU (reading, parsing, stamping, JSON, null destination),
#   - the host's busy CPU (/proc/stat: everything, other tenants included),
# without a listener and with tcpscope --close-events; then it paces churn
# at rising rates and reports the close events tcpscope received and lost
# (its own count), for the highest rate at which none was lost.
#
# Knobs (environment): BUILD (build), TCPSCOPE (BUILD/src/tcpscope), CONNS
# (connections per measurement, 50000), ROUNDS (3; the least churn CPU is
# kept), THREADS (churn threads, 1), RATES ("5000 10000 20000 40000"),
# RATE_SECS (seconds per rate, 3), CLOSE_BUFFER (--close-buffer, 4194304),
# INTERVAL (tcpscope's --interval while pacing, 1s), HOLD (established
# sockets bench/loadgen holds meanwhile, 0: with many, each poll takes
# longer, and closes wait in the kernel's buffer while it runs). As root the script
# runs in a private network namespace (lib.sh), so only churn's sockets
# close there. Small by default: it runs in about a minute.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
enter_private_netns "$0" "$@"

BUILD=${BUILD:-build}
bin=$BUILD/bench
tcpscope=${TCPSCOPE:-$BUILD/src/tcpscope}
conns=${CONNS:-50000}
rounds=${ROUNDS:-3}
threads=${THREADS:-1}
rates=${RATES:-"5000 10000 20000 40000"}
rate_secs=${RATE_SECS:-3}
buffer=${CLOSE_BUFFER:-4194304}
interval=${INTERVAL:-1s}
hz=$(getconf CLK_TCK)
out=$(mktemp -d)
tpid=
lg_pid=
trap '[ -n "$tpid" ] && kill "$tpid" 2>/dev/null; [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null; rm -rf "$out"' EXIT

for f in "$bin/churn" "$tcpscope"; do
	[ -x "$f" ] || { echo "close.sh: $f not built (ninja -C $BUILD)" >&2; exit 1; }
done

# CPU ticks: of every kworker thread; of the host (busy); of one process
kworker_ticks() {
	awk '$2 ~ /^\(kworker/ { t += $14 + $15 } END { print t + 0 }' \
		/proc/[0-9]*/task/[0-9]*/stat 2>/dev/null
}
host_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# its wake-ups: voluntary context switches
proc_wakeups() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

start_tcpscope() {
	"$tcpscope" --close-events --close-buffer "$buffer" --netns host \
		--interval "$1" --dest 'null?format=json' 2>"$out/tcpscope.err" &
	tpid=$!
	# the first poll opens the close socket
	for ((i = 0; i < 100; i++)); do
		grep -q '^tcpscope: poll 1:' "$out/tcpscope.err" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "close.sh: tcpscope did not start:" >&2
	cat "$out/tcpscope.err" >&2
	exit 1
}

# received lost: the sums of tcpscope's summary lines
stop_tcpscope() {
	kill -TERM "$tpid"
	wait "$tpid" 2>/dev/null
	tpid=
	sed -n 's/.*close events: \([0-9]*\) (\([0-9]*\) lost.*/\1 \2/p' \
		"$out/tcpscope.err" | awk '{ r += $1; l += $2 } END { print r + 0, l + 0 }'
}

# measure FILE CHURN-ARGS...: one churn run and the CPU around it:
# "rate user_s sys_s kworker_s host_s tcpscope_s wakeups received lost"
measure() {
	local file=$1 k0 h0 t0 w0=0 k1 h1 t1 w1=0 line
	shift
	k0=$(kworker_ticks) h0=$(host_ticks) t0=0
	[ -n "$tpid" ] && t0=$(proc_ticks "$tpid") w0=$(proc_wakeups "$tpid")
	line=$("$bin/churn" "$@") || { echo "close.sh: churn failed" >&2; exit 1; }
	# what the kernel queued is read within the flush bound
	[ -n "$tpid" ] && sleep 1.5
	k1=$(kworker_ticks) h1=$(host_ticks) t1=0
	[ -n "$tpid" ] && t1=$(proc_ticks "$tpid") w1=$(proc_wakeups "$tpid")
	echo "$line" | sed -E 's|.*\(([0-9]+)/s\), user ([0-9.]+) s, sys ([0-9.]+) s.*|\1 \2 \3|' |
		awk -v kw=$((k1 - k0)) -v h=$((h1 - h0)) -v t=$((t1 - t0)) -v hz="$hz" -v w=$((w1 - w0)) \
			'{ print $1, $2, $3, kw / hz, h / hz, t / hz, w }' >"$file"
}

# one set: churn CONNS as fast as it goes, ROUNDS times; each column
# keeps its least disturbed round (the highest rate, the least CPU, the
# fewest received, the most lost) in $out/$1
set_of() {
	local name=$1 r
	for ((r = 1; r <= rounds; r++)); do
		[ "$name" = listener ] && start_tcpscope 10s
		measure "$out/$name.$r" --count "$conns" --threads "$threads"
		[ "$name" = listener ] && echo "$(cat "$out/$name.$r") $(stop_tcpscope)" >"$out/$name.$r"
	done
	[ -n "${CLOSE_DEBUG:-}" ] && cat "$out/$name".[0-9]* >&2
	cat "$out/$name".[0-9]* | awk '
		{ for (i = 1; i <= NF; i++) {
			if (NR == 1) { v[i] = $i; continue }
			if (i == 1 || i == 9) { if ($i > v[i]) v[i] = $i }
			else if ($i < v[i]) v[i] = $i } n = NF }
		END { for (i = 1; i <= n; i++) printf "%s%s", v[i], (i < n ? " " : "\n") }' >"$out/$name"
}

echo "# close.sh: $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ);" \
	"private netns: $([ -n "${TCPSCOPE_BENCH_IN_NETNS:-}" ] && echo yes || echo no);" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $conns connections per run ($threads churn thread(s), RST close), best of $rounds;" \
	"${HOLD:-0} established sockets held;" \
	"tcpscope --close-events --close-buffer $buffer --dest null?format=json"
v6share=0
[ "${HOLD:-0}" -gt 0 ] && { start_loadgen "$HOLD" || exit 1; }
set_of none
set_of listener
echo
echo "## CPU per closed connection (2 sockets freed), microseconds"
printf '%-12s %9s %9s %9s %10s %10s %10s %9s %9s %6s\n' case conns/s churn_usr churn_sys \
	kworkers tcpscope host_busy wakeups received lost
for c in none listener; do
	awk -v c="$c" -v n="$conns" '{
		printf "%-12s %9.0f %9.2f %9.2f %10.2f %10.2f %10.2f %9s %9s %6s\n", c, $1,
			$2 / n * 1e6, $3 / n * 1e6, $4 / n * 1e6, $6 / n * 1e6,
			$5 / n * 1e6, (NF > 7 ? $7 : "-"), (NF > 7 ? $8 : "-"), (NF > 8 ? $9 : "-") }' "$out/$c"
done
paste "$out/none" "$out/listener" | awk -v n="$conns" '{
	printf "%-12s %9s %9.2f %9.2f %10.2f %10.2f %10.2f\n", "extra", "",
		($9 - $2) / n * 1e6, ($10 - $3) / n * 1e6, ($11 - $4) / n * 1e6,
		$13 / n * 1e6, ($12 - $5) / n * 1e6 }'

echo
echo "## close events lost by rate (--interval $interval, ${rate_secs} s a rate)"
printf '%9s %9s %9s %9s %6s\n' rate achieved closes received lost
best_rate=0
for r in $rates max; do
	start_tcpscope "$interval"
	if [ "$r" = max ]; then
		measure "$out/rate" --count "$conns" --threads "$threads"
		n=$conns
	else
		n=$((r * rate_secs))
		measure "$out/rate" --count "$n" --rate "$r" --threads "$threads"
	fi
	read -r got lost <<<"$(stop_tcpscope)"
	achieved=$(awk '{ printf "%.0f", $1 }' "$out/rate")
	# each connection frees 2 sockets; each churn listener 1 at its end
	closes=$((2 * n + threads))
	printf '%9s %9s %9s %9s %6s\n' "$r" "$achieved" "$closes" "$got" "$lost"
	# the highest rate below which nothing was lost either
	if [ "$lost" != 0 ] || [ "$got" -lt "$closes" ]; then
		failed=1
	elif [ -z "${failed:-}" ] && [ "$achieved" -gt "$best_rate" ]; then
		best_rate=$achieved
	fi
done
echo "highest rate without a lost close event (at it and below): $best_rate connections/s" \
	"($((2 * best_rate)) close events/s)"
grep -m1 -o 'poll [0-9]*: [0-9]* sockets in [0-9.]* ms' "$out/tcpscope.err" |
	sed 's/^/last run: /'
[ -n "$lg_pid" ] && stop_loadgen
