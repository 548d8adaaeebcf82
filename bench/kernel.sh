#!/usr/bin/env bash
# bench/kernel.sh - where the kernel floor goes: the price of each idiag_ext
# bit, of dumping the two families as two walks, and of a poll with no
# sockets at all (the hash walk alone).
#
# Runs bench/floor (no parsing, datagrams discarded) in a private network
# namespace (as root) holding only loadgen's N sockets, best of ROUNDS, and prints
# system microseconds per socket per poll for each variant, plus the empty
# poll in microseconds. Timing never fails it.
#
# Environment: BUILD=build, N=20000, ROUNDS=3, POLLS=100, V6_SHARE=20.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
enter_private_netns "$0" "$@"
bench_build build


n=${N:-20000}
rounds=${ROUNDS:-3}
polls=${POLLS:-100}
v6share=${V6_SHARE:-20}
lg_pid=
out=$(mktemp -d /tmp/tcpscope-kernel.XXXXXX)

cleanup() {
	[ -n "$lg_pid" ] && kill -TERM "$lg_pid" 2>/dev/null && wait "$lg_pid"
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# best_sys ARGS...: least system time of ROUNDS floor runs, in us
best_sys() {
	local r t best=
	for ((r = 0; r < rounds; r++)); do
		t=$("$bin/floor" "$@" | sed -n 's/.* sys_us=\([0-9]*\).*/\1/p')
		[ -n "$t" ] || return 1
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

# line LABEL ARGS...: one table row, per socket per poll, and its excess
# over the first row (ext 0)
base=
line() {
	local label=$1 t v
	shift
	t=$(best_sys --count "$polls" "$@") || { echo "kernel.sh: floor failed" >&2; exit 1; }
	v=$(awk -v t="$t" -v s="$sockets" -v k="$polls" 'BEGIN { printf "%.3f", t / (s * k) }')
	[ -n "$base" ] || base=$v
	awk -v l="$label" -v v="$v" -v b="$base" \
		'BEGIN { printf "%-32s %8.3f %+8.3f\n", l, v, v - b }'
}

echo "# floor variants, $(uname -r), private netns: ${TCPSCOPE_BENCH_IN_NETNS:-no}, best of $rounds x $polls polls"
empty=$(best_sys --count 1000) || exit 1
awk -v t="$empty" 'BEGIN { printf "empty poll (2 dumps, no socket): %.1f us\n", t / 1000 }'
empty=$(best_sys --count 1000 --compat) || exit 1
awk -v t="$empty" 'BEGIN { printf "empty poll (1 compat dump):      %.1f us\n", t / 1000 }'

start_loadgen "$n" || exit 1
sockets=$("$bin/floor" | sed -n 's/.* records_per_poll=\([0-9]*\).*/\1/p')
[ "${sockets:-0}" -gt 0 ] || { echo "kernel.sh: loadgen or floor failed" >&2; exit 1; }
echo "sockets: $sockets"
printf '%-32s %8s %8s\n' "request (idiag_ext hex)" sys_us vs_ext0
line "ext 0 (msg + fixed attrs)" --ext 0
line "INFO only (tcp_info)" --ext 2
line "CONG only" --ext 8
line "VEGASINFO only (bbr/dctcp)" --ext 4
line "SKMEMINFO only" --ext 40
line "TOS|TCLASS only" --ext 30
line "tcpscope's set (7e)" --ext 7e
line "7e, one compat dump (1 walk)" --ext 7e --compat
line "7e, 8 KiB recv buffer" --ext 7e --bufsize 8192
stop_loadgen
