#!/usr/bin/env bash
# bench/netns.sh - cost of polling many network namespaces (needs root).
#
# For 1, 100 and 500 namespaces (ip netns add), empty and with PAIRS
# established loopback connections each, measures per poll:
#   wall  - (wall(1+K polls) - wall(1 poll)) / K, --interval 1ms
#   cpu   - the same difference of user+sys (/usr/bin/time -f '%e %U %S')
#   poll  - median of the summary line's "in X ms" over polls 2..1+K
# with tcpscope --netns restricted to the benchmark's namespaces (the host's
# own sockets, whatever load runs there, are left out), syscall engine.
#   threads, fds - of a tcpscope polling the same namespaces (one more run,
#           --interval 1s, not timed), read from /proc/PID between its first
#           and second poll (Threads: in status; entries of fd/)
# Repeated for each net.ipv4.tcp_child_ehash_entries value in EHASH (set
# before the namespaces are created: 0 = new namespaces share the host's
# ehash, whose every bucket a dump of an empty namespace still walks), and
# for each --workers count in WORKERS on the same namespaces.
# Cleans up its namespaces and restores the sysctl, whatever happens.
#
# Usage: sudo bench/netns.sh [TCPSCOPE_BIN]
#   env: COUNTS="1 100 500" PAIRS=10 EHASH="0 1024" WORKERS="1" K=... (polls)
#   1000 namespaces x 20 sockets, both ehash settings, 1 and 2 workers:
#   COUNTS="1 1000" EHASH="0 128" WORKERS="1 2" BALLAST_PAIRS=0 bench/netns.sh
set -euo pipefail

BIN=${1:-${TCPSCOPE_BIN:-$(dirname "$0")/../build/src/tcpscope}}
COUNTS=${COUNTS:-"1 100 500"}
PAIRS=${PAIRS:-10}
EHASH=${EHASH:-"0 1024"}
WORKERS=${WORKERS:-1}
W=${WORKERS%% *}
PY=${PYTHON:-python3}
PREFIX="tsbn$$-"
SYSCTL=net.ipv4.tcp_child_ehash_entries

[ "$(id -u)" = 0 ] || { echo "netns.sh: needs root" >&2; exit 77; }
[ -x "$BIN" ] || { echo "netns.sh: no tcpscope at $BIN" >&2; exit 1; }
"$BIN" --help | grep -q -- --netns ||
	{ echo "netns.sh: $BIN has no --netns" >&2; exit 1; }
ENGINE=()
"$BIN" --help | grep -q -- --engine && ENGINE=(--engine syscall)

ORIG_EHASH=$(sysctl -n $SYSCTL)
HOLDERS=()
TMP=$(mktemp -d)

del_all() {
	ls /run/netns 2>/dev/null | grep "^$PREFIX" |
		sed 's/^/netns del /' | ip -force -batch - 2>/dev/null || true
}
cleanup() {
	stop_holder
	stop_ballast
	del_all
	sysctl -qw $SYSCTL="$ORIG_EHASH" || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sockets: one process enters every namespace (setns), makes a listener and
# PAIRS connections there, prints "ready" and holds them until stdin closes.
HOLDER_PY='
import ctypes, fcntl, os, resource, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
names, pairs = sys.argv[2:], int(sys.argv[1])
need = len(names) * (2 * pairs + 1) + 64
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(need, hard)), hard))
home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
keep = []
for i, n in enumerate(names):
    fd = os.open("/run/netns/" + n, os.O_RDONLY)
    assert libc.setns(fd, 0x40000000) == 0
    os.close(fd)
    l = socket.socket(); l.bind(("127.0.0.1", 20000)); l.listen(pairs + 8)
    keep.append(l)
    for _ in range(pairs):
        c = socket.create_connection(("127.0.0.1", 20000))
        a, _ = l.accept(); keep += [c, a]
    assert libc.setns(home, 0x40000000) == 0
print("ready", len(keep), flush=True)
sys.stdin.read()
'
# One holder per HOLDER_NS namespaces (a process may hold 20000 fds; 1000
# namespaces of 21 sockets need more); all read the one fifo, so closing
# its write end ends them all.
HOLDER_NS=${HOLDER_NS:-400}
start_holder() { # names...
	local names=("$@") i h
	mkfifo "$TMP/in"
	: >"$TMP/holder.out"
	for ((i = 0; i < ${#names[@]}; i += HOLDER_NS)); do
		"$PY" -c "$HOLDER_PY" "$PAIRS" "${names[@]:i:HOLDER_NS}" \
			<"$TMP/in" >>"$TMP/holder.out" &
		HOLDERS+=($!)
	done
	exec 9>"$TMP/in"
	while [ "$(grep -c ready "$TMP/holder.out")" -lt "${#HOLDERS[@]}" ]; do
		for h in "${HOLDERS[@]}"; do
			kill -0 "$h" 2>/dev/null || { echo "holder died" >&2; exit 1; }
		done
		sleep 0.1
	done
}
# Ballast: BALLAST_PAIRS connections in a namespace whose bind mount is then
# removed: it lives on through the sockets, but no tcpscope (nor anything
# else) can find it. With a shared ehash its sockets lengthen every other
# namespace's dump; it is invisible to other jobs on the machine.
BALLAST=""
start_ballast() { # pairs
	local name="${PREFIX}ballast"
	ip netns add "$name"; ip netns exec "$name" ip link set lo up
	mkfifo "$TMP/bin"
	"$PY" -c "$HOLDER_PY" "$1" "$name" <"$TMP/bin" >"$TMP/ballast.out" &
	BALLAST=$!
	exec 8>"$TMP/bin"
	while ! grep -q ready "$TMP/ballast.out" 2>/dev/null; do
		kill -0 $BALLAST 2>/dev/null || { echo "ballast died" >&2; exit 1; }
		sleep 0.1
	done
	ip netns del "$name"
}
stop_ballast() {
	if [ -n "$BALLAST" ]; then
		exec 8>&-
		wait $BALLAST 2>/dev/null || true
		BALLAST=""
		rm -f "$TMP/bin"
	fi
}
stop_holder() {
	if [ ${#HOLDERS[@]} -gt 0 ]; then
		exec 9>&-
		wait "${HOLDERS[@]}" 2>/dev/null || true
		HOLDERS=()
		rm -f "$TMP/in"
	fi
}

# sample NSLIST -> "threads fds" of a tcpscope polling NSLIST, read once
# its first poll is done (every namespace opened), during the 1 s interval
sample() {
	local p i r="- -"
	rm -f "$TMP/sample.err" # not the last run's "poll 1:"
	"$BIN" --count 2 --interval 1s --dest null --workers "$W" \
		"${ENGINE[@]}" --netns "$1" 2>"$TMP/sample.err" &
	p=$!
	for ((i = 0; i < 1200; i++)); do
		if grep -q 'poll 1:' "$TMP/sample.err" 2>/dev/null; then
			r="$(awk '/^Threads:/ {print $2}' /proc/$p/status) $(ls /proc/$p/fd | wc -l)"
			break
		fi
		kill -0 $p 2>/dev/null || break
		sleep 0.05
	done
	wait $p || true
	echo "$r"
}

# run POLLS NSLIST -> "wall user sys medianpoll"
run() {
	local polls=$1 list=$2
	/usr/bin/time -f '%e %U %S' -o "$TMP/time" \
		"$BIN" --count "$polls" --interval 1ms --dest null \
		--workers "$W" "${ENGINE[@]}" --netns "$list" 2>"$TMP/err" || {
		echo "tcpscope failed:" >&2; tail -3 "$TMP/err" >&2; exit 1; }
	local med
	med=$(grep -o 'in [0-9.]* ms' "$TMP/err" | tail -n +2 |
		awk '{print $2}' | sort -n |
		awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}')
	echo "$(cat "$TMP/time") $med"
	tail -1 "$TMP/err" >"$TMP/lastline"
}

host_hashed() { # host namespace TCP sockets in the ehash (not listen/close)
	ss -Htan state connected | wc -l
}

declare -A WALL CPU
measure() { # label n list polls
	local label=$1 n=$2 list=$3 k=$4 a b row rec s0 s1 try
	# With a shared ehash every namespace's dump walks past every hashed TCP
	# socket of the machine: when another job changes the host's number by
	# more than 10% during the measurement, measure again (3 tries; the last
	# column shows it before..after).
	for try in 1 2 3; do
		s0=$(host_hashed)
		run 1 "$list" >/dev/null # warm up (page cache, first open)
		a=$(run 1 "$list")
		b=$(run $((1 + k)) "$list")
		s1=$(host_hashed)
		[ $(( (s1 > s0 ? s1 - s0 : s0 - s1) * 10 )) -le $(( s0 + 1000 )) ] && break
	done
	rec=$(grep -o 'reconcile [0-9.]* ms' "$TMP/lastline" | awk '{print $2}')
	row=$(echo "$a $b" | awk -v k="$k" '{
		printf "%.1f %.1f %s", ($5 - $1) / k * 1000,
			(($6 + $7) - ($2 + $3)) / k * 1000, $8 }')
	set -- $row $(sample "$list")
	WALL[$E/$W/$n/$label]=$1
	CPU[$E/$W/$n/$label]=$2
	echo "| $E | $W | $n | $label | $1 | $2 | $3 | ${rec:--} | $k | $4 | $5 | $s0..$s1 |"
	echo "    last summary: $(cut -c1-220 "$TMP/lastline")" >&2
}

echo "tcpscope: $BIN ${ENGINE[*]}; $(nproc) CPUs; kernel $(uname -r);" \
	"host ehash $(sysctl -n net.ipv4.tcp_ehash_entries 2>/dev/null || echo ?)," \
	"host ehash sockets: $(host_hashed), load average:" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"
echo
header() {
	echo "| $SYSCTL | workers | namespaces | sockets | wall ms/poll | cpu ms/poll | summary ms (median) | reconcile ms | polls | threads | fds | host ehash sockets |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
}
header
for E in $EHASH; do
	sysctl -qw $SYSCTL="$E"
	for n in $COUNTS; do
		del_all
		names=()
		for i in $(seq 1 "$n"); do names+=("$PREFIX$i"); done
		t0=$(date +%s%N)
		{ printf 'netns add %s\n' "${names[@]}"
		  printf 'netns exec %s ip link set lo up\n' "${names[@]}"; } |
			ip -batch -
		t1=$(date +%s%N)
		echo "    created $n namespaces in $(( (t1 - t0) / 1000000 )) ms" >&2
		list=$(IFS=,; echo "${names[*]}")
		# fewer polls where one poll is long
		k=${K:-$(( n >= 500 ? 4 : n >= 100 ? 8 : 30 ))}
		[ "$E" != 0 ] && k=${K:-$(( n >= 500 ? 20 : 30 ))}
		for W in $WORKERS; do measure empty "$n" "$list" "$k"; done
		start_holder "${names[@]}"
		for W in $WORKERS; do
			measure "$((2 * PAIRS + 1))/ns" "$n" "$list" "$k"
		done
		stop_holder
		t0=$(date +%s%N)
		del_all
		t1=$(date +%s%N)
		echo "    deleted $n namespaces in $(( (t1 - t0) / 1000000 )) ms" >&2
	done
done
# Ballast experiment: BALLAST_N empty namespaces, shared ehash, with and
# without BALLAST_PAIRS hidden connections on the machine.
if [ "${BALLAST_PAIRS:-9000}" -gt 0 ]; then
	E=0
	W=${WORKERS%% *}
	sysctl -qw $SYSCTL=0
	bn=${BALLAST_N:-100}
	del_all
	names=()
	for i in $(seq 1 "$bn"); do names+=("$PREFIX$i"); done
	printf 'netns add %s\n' "${names[@]}" | ip -batch -
	list=$(IFS=,; echo "${names[*]}")
	echo
	echo "Ballast: $bn empty namespaces, $SYSCTL=0, without and with" \
		"$((2 * ${BALLAST_PAIRS:-9000})) more sockets (hidden namespace):"
	echo
	header
	measure empty "$bn" "$list" 8
	start_ballast "${BALLAST_PAIRS:-9000}"
	measure "empty+ballast" "$bn" "$list" 8
	stop_ballast
	del_all
fi

echo
echo "Marginal cost of one more namespace, per poll (difference between rows):"
for E in $EHASH; do
	for W in $WORKERS; do
		prev=""
		for n in $COUNTS; do
			if [ -n "$prev" ]; then
				for label in empty "$((2 * PAIRS + 1))/ns"; do
					awk -v e="$E" -v w="$W" -v a="$prev" -v b="$n" -v l="$label" \
						-v w1="${WALL[$E/$W/$prev/$label]}" -v w2="${WALL[$E/$W/$n/$label]}" \
						-v c1="${CPU[$E/$W/$prev/$label]}" -v c2="${CPU[$E/$W/$n/$label]}" \
						'BEGIN { printf "- %s=%s, %s worker(s), %s, %s -> %s namespaces: %.2f ms wall, %.2f ms cpu\n",
							"ehash", e, w, l, a, b, (w2 - w1) / (b - a), (c2 - c1) / (b - a) }'
				done
			fi
			prev=$n
		done
	done
done
