#!/usr/bin/env bash
# bench/uring.sh - A/B of the two I/O engines on whole polls:
# --io-engine syscall vs --io-engine uring, per poll and per record.
#
# For each socket count N, holds N established loopback sockets (loadgen)
# in a private network namespace (root: re-executes itself under unshare
# -n, as run.sh does, so only loadgen's sockets are dumped), then runs
#   floor     bench/floor --count K                       (the kernel's work)
#   null      tcpscope --count K --interval INTERVAL --netns host --quiet
#             --io-engine E --dest null                   (dump + parse)
#   udp-pbl   the same with --dest 'udp://127.0.0.1:P?format=protobuf-list'
#             to a receiver that reads and discards (python, as sinks.sh;
#             its CPU is not counted)
# for E = syscall and uring, alternating (the order flips every round, so
# drift in the machine's load hits both engines alike). Measured:
#   CPU       user and sys of the tcpscope process, from wait4 (bench/cputime,
#             as run.sh), best of ROUNDS rounds (least user+sys); "spread" is
#             (worst - best) / best over the rounds, a noise gauge
#   ctx/RSS   voluntary / involuntary context switches and max RSS, from GNU
#             time (%w %c %M) of the same run (cputime wraps /usr/bin/time,
#             whose own CPU, ~1 ms, is counted with tcpscope's)
#   syscalls  strace -f -c in separate runs (strace distorts CPU): per poll
#             = (calls of a --count 1+K run - calls of a --count 1 run) / K,
#             so start-up is left out; per 1000 records = that / sockets
#   drops     UDP receive-buffer drops (RcvbufErrors of the private
#             namespace) as a share of the datagrams sent: dropped
#             datagrams cost the sender less, so a row with drops flatters
# and prints uring/syscall ratios. Records per poll are the sockets the
# floor's dump saw (loadgen's pairs plus its listeners).
#
# Environment:
#   BUILD=build              meson build dir holding src/ and bench/
#   BENCH_SIZES="20000 100000"
#   POLLS=K                  polls per run (default 1e6/sockets, 10..100)
#   ROUNDS=3                 CPU rounds per size (strace: one run each)
#   INTERVAL=100ms           tcpscope --interval
#   V6_SHARE=20              percent of the pairs on ::1
#   TCPSCOPE=path            tcpscope binary (default: $BUILD/src/tcpscope)
#   STRACE=1                 0 skips the syscall counts
#   ENGINES="syscall uring"  the two variants compared (ratios: second /
#                            first), each ENGINE or ENGINE-WALK for
#                            --io-engine ENGINE --walk WALK, e.g.
#                            ENGINES="uring-two uring-one" (default: the
#                            engines with --walk auto); with a -one
#                            variant the floor of one legacy dump
#                            (floor --compat) is measured too, its row
#                            "floor compat" (x_floor stays against the
#                            two-dump floor)
# Timing never fails the run: the exit status is 0 unless a tool is broken.
set -uo pipefail


root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
enter_private_netns "$0" "$@"
bench_build build
sizes=${BENCH_SIZES:-20000 100000}
rounds=${ROUNDS:-3}
interval=${INTERVAL:-100ms}
v6share=${V6_SHARE:-20}
use_strace=${STRACE:-1}
tcpscope=${TCPSCOPE:-$build/src/tcpscope}
read -ra engines <<<"${ENGINES:-syscall uring}"
out=$(mktemp -d /tmp/tcpscope-uring.XXXXXX)
status=0
lg_pid=
lg_in=
rx_pid=

cleanup() {
	kill_loadgen
	if [ -n "$rx_pid" ]; then
		kill "$rx_pid" 2>/dev/null
		wait "$rx_pid" 2>/dev/null
	fi
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$bin/loadgen" "$bin/floor" "$bin/cputime" "$tcpscope" /usr/bin/time; do
	[ -x "$b" ] || { echo "uring.sh: $b missing (ninja -C $build; apt install time)" >&2; exit 1; }
done
if [ "$use_strace" = 1 ] && ! command -v strace >/dev/null; then
	echo "uring.sh: no strace; syscall counts are n/a" >&2
	use_strace=0
fi

# The receiver reads and discards; it prints its port.
python3 - >"$out/port" 2>/dev/null <<'PY' &
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
u.bind(("127.0.0.1", 0))
print(u.getsockname()[1], flush=True)
while True:
    u.recv(1 << 20)
PY
rx_pid=$!
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
port=$(head -1 "$out/port")
[ -n "$port" ] || { echo "uring.sh: receiver did not start" >&2; exit 1; }

# name|--dest
dests=("null|null" "udp-pbl|udp://127.0.0.1:$port?format=protobuf-list")

# UDP counters of this namespace: "InDatagrams RcvbufErrors"
udp_snmp() {
	awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) n[$i] = i; h = 1 }
		else { print $n["InDatagrams"], $n["RcvbufErrors"]; exit } }' /proc/net/snmp
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# measure NAME ARGS...: one CPU run of tcpscope ARGS under cputime and
# GNU time; leaves "cputime ... time nvcsw=.. nivcsw=.. maxrss_kb=..
# udp_in=.. udp_drop=.." in $out/NAME
measure() {
	local name=$1 s0 s1
	shift
	s0=$(udp_snmp)
	if ! "$bin/cputime" -r "$out/$name" -o /dev/null -- /usr/bin/time \
		-f 'time nvcsw=%w nivcsw=%c maxrss_kb=%M' -o "$out/$name.time" \
		"$@" 2>"$out/$name.err"; then
		echo "uring.sh: $name failed:" >&2
		tail -3 "$out/$name.err" >&2
		rm -f "$out/$name"
		return 1
	fi
	s1=$(udp_snmp)
	printf ' %s udp_in=%s udp_drop=%s\n' "$(grep '^time' "$out/$name.time")" \
		$((${s1% *} - ${s0% *})) $((${s1#* } - ${s0#* })) >>"$out/$name"
	# one line: field() reads key=value pairs from anywhere in it
	tr '\n' ' ' <"$out/$name" >"$out/$name.1" && mv "$out/$name.1" "$out/$name"
}

# strace_run NAME COUNT ARGS...: syscall counts of one run to $out/NAME.st
strace_run() {
	local name=$1 count=$2
	shift 2
	strace -f -c -o "$out/$name.st" "$@" --count "$count" >/dev/null 2>"$out/$name.err" ||
		{ echo "uring.sh: strace $name failed" >&2; tail -3 "$out/$name.err" >&2; return 1; }
}

# strace -c table -> "syscall calls" lines (the total as "total")
st_calls() {
	awk 'p && NF >= 5 && $1 ~ /^[0-9.]+$/ { print $NF, $4 } /^------/ { p = 1 }' "$1"
}

# per_poll K FILE_1 FILE_K: "syscall calls-per-poll", most first
per_poll() {
	awk -v k="$1" 'FNR == 1 { f++ } f == 1 { a[$1] = $2; next }
		{ d = ($2 - a[$1]) / k; if (d >= 0.05 || $1 == "total") printf "%s %.2f\n", $1, d }' \
		<(st_calls "$2") <(st_calls "$3") | sort -k2,2nr
}


# best NAME: the round of NAME with the least user+sys -> $out/NAME, and
# the spread of user+sys over the rounds -> $out/NAME.spread (percent)
best() {
	local f min='' max='' pick='' t
	for f in "$out/$1".r[0-9]*; do
		case $f in *.err | *.time) continue ;; esac
		[ -s "$f" ] || continue
		t=$(($(field user_us "$f") + $(field sys_us "$f")))
		[ -z "$max" ] || [ "$t" -gt "$max" ] && max=$t
		if [ -z "$min" ] || [ "$t" -lt "$min" ]; then
			min=$t
			pick=$f
		fi
	done
	rm -f "$out/$1"
	[ -n "$pick" ] || return 0
	cp "$pick" "$out/$1"
	awk -v a="$min" -v b="$max" 'BEGIN { printf "%.0f\n", (a > 0 ? 100 * (b - a) / a : 0) }' \
		>"$out/$1.spread"
}

# cpu_row N SOCKETS POLLS DEST ENGINE NAME
cpu_row() {
	local n=$1 s=$2 k=$3 dest=$4 eng=$5 f=$out/$6
	if [ ! -s "$f" ]; then
		printf '%7s %7s %5s  %-7s %-9s %s\n' "$n" "$s" "$k" "$dest" "$eng" n/a
		return
	fi
	awk -v n="$n" -v s="$s" -v k="$k" -v dest="$dest" -v eng="$eng" \
		-v u="$(field user_us "$f")" -v y="$(field sys_us "$f")" \
		-v fu="$(field user_us "$out/floor")" -v fy="$(field sys_us "$out/floor")" \
		-v vc="$(field nvcsw "$f")" -v ic="$(field nivcsw "$f")" \
		-v rss="$(field maxrss_kb "$f")" -v ui="$(field udp_in "$f")" \
		-v ud="$(field udp_drop "$f")" -v sp="$(cat "$f.spread" 2>/dev/null)" \
		'BEGIN { d = s * k; t = (u + y) / d; fl = (fu + fy) / d;
		drop = sprintf("%.1f%%", (ui + ud) > 0 ? 100 * ud / (ui + ud) : 0);
		if (dest == "floor" || dest == "null") drop = "-";
		printf "%7s %7s %5s  %-7s %-9s %9.0f %9.0f %8.3f %8.3f %8.3f %6.2fx %7.1f %7.1f %7.1f %6s %5s%%\n",
			n, s, k, dest, eng, u / k, y / k, u / d, y / d, t,
			(fl > 0 ? t / fl : 0), vc / k, ic / k, rss / 1024, drop, sp }'
}

# sc_row N SOCKETS POLLS DEST ENGINE NAME: syscalls per poll and per 1000
# records, and the syscalls that make them up
sc_row() {
	local n=$1 s=$2 k=$3 dest=$4 eng=$5 name=$6 tot
	if [ ! -s "$out/$name.pp" ]; then
		printf '%7s %7s %5s  %-7s %-9s %9s\n' "$n" "$s" "$k" "$dest" "$eng" n/a
		return
	fi
	tot=$(awk '$1 == "total" { print $2 }' "$out/$name.pp")
	awk -v n="$n" -v s="$s" -v k="$k" -v dest="$dest" -v eng="$eng" -v t="$tot" \
		-v list="$(awk '$1 != "total" { printf "%s%s %s", (i++ ? ", " : ""), $1, $2 }' "$out/$name.pp")" \
		'BEGIN { printf "%7s %7s %5s  %-7s %-9s %9.1f %9.2f  %s\n", n, s, k, dest, eng, t, 1000 * t / s, list }'
}

# ratio_row N DEST: second / first variant of the best rounds and the
# straces
ratio_row() {
	local n=$1 dest=$2 a=$out/$2-${engines[0]} b=$out/$2-${engines[1]:-}
	[ -s "$a" ] && [ -s "$b" ] || return 0
	awk -v n="$n" -v dest="$dest" \
		-v au="$(field user_us "$a")" -v ay="$(field sys_us "$a")" \
		-v bu="$(field user_us "$b")" -v by="$(field sys_us "$b")" \
		-v av="$(field nvcsw "$a")" -v bv="$(field nvcsw "$b")" \
		-v ai="$(field nivcsw "$a")" -v bi="$(field nivcsw "$b")" \
		-v ar="$(field maxrss_kb "$a")" -v br="$(field maxrss_kb "$b")" \
		-v as="$(awk '$1 == "total" { print $2 }' "$a.pp" 2>/dev/null)" \
		-v bs="$(awk '$1 == "total" { print $2 }' "$b.pp" 2>/dev/null)" \
		'function r(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "n/a" }
		BEGIN { printf "%7s  %-7s %7s %7s %7s %7s %7s %+8.1f %9s\n", n, dest,
			r(bu + by, au + ay), r(bu, au), r(by, ay), r(bv, av), r(bi, ai),
			(br - ar) / 1024, (bs > 0 ? sprintf("%.1fx", as / bs) : "n/a") }'
}

# tcpscope's arguments for variant $1 (ENGINE or ENGINE-WALK)
variant_args() {
	printf -- '--io-engine %s' "${1%%-*}"
	case $1 in *-*) printf -- ' --walk %s' "${1#*-}" ;; esac
}

bench_size() {
	local n=$1 k s r e i c name dname durl
	rm -f "$out"/floor* "$out"/compat*
	for c in "${dests[@]}"; do rm -f "$out/${c%%|*}"-*; done
	start_loadgen "$n" || { status=1; return; }
	if ! "$bin/floor" --count 1 >"$out/probe"; then
		status=1
		stop_loadgen
		return
	fi
	s=$(field records_per_poll "$out/probe")
	s=$((${s:-0} > 0 ? s : n))
	k=${POLLS:-$(((1000000 / s) < 10 ? 10 : ((1000000 / s) > 100 ? 100 : 1000000 / s)))}
	echo "# N=$n: load average $(loadavg) at start" >>"$out/notes"
	for ((r = 1; r <= rounds; r++)); do
		echo "uring.sh: $n sockets, round $r/$rounds ..." >&2
		measure "floor.r$r" "$bin/floor" --count "$k" || status=1
		if [[ " ${engines[*]} " == *-one\ * ]]; then
			measure "compat.r$r" "$bin/floor" --compat --count "$k" || status=1
		fi
		for c in "${dests[@]}"; do
			dname=${c%%|*}
			durl=${c#*|}
			for i in 0 1; do
				# syscall first in odd rounds, uring first in even
				e=${engines[$(((i + r + 1) % 2))]}
				measure "$dname-$e.r$r" "$tcpscope" --count "$k" \
					--interval "$interval" --netns host --quiet \
					$(variant_args "$e") --dest "$durl" || status=1
			done
		done
	done
	if [ "$use_strace" = 1 ]; then
		echo "uring.sh: $n sockets, strace runs ..." >&2
		for c in "${dests[@]}"; do
			dname=${c%%|*}
			durl=${c#*|}
			for e in "${engines[@]}"; do
				name=$dname-$e
				strace_run "$name.s1" 1 "$tcpscope" --interval "$interval" \
					--netns host --quiet $(variant_args "$e") --dest "$durl" &&
					strace_run "$name.sk" $((k + 1)) "$tcpscope" --interval "$interval" \
						--netns host --quiet $(variant_args "$e") --dest "$durl" &&
					per_poll "$k" "$out/$name.s1.st" "$out/$name.sk.st" >"$out/$name.pp" ||
					status=1
			done
		done
	fi
	stop_loadgen
	echo "# N=$n: load average $(loadavg) at end" >>"$out/notes"
	best floor
	s=$(field records_per_poll "$out/probe")
	cpu_row "$n" "$s" "$k" floor - floor >>"$out/cpu"
	if [[ " ${engines[*]} " == *-one\ * ]]; then
		best compat
		cpu_row "$n" "$s" "$k" floor compat compat >>"$out/cpu"
	fi
	for c in "${dests[@]}"; do
		dname=${c%%|*}
		for e in "${engines[@]}"; do
			best "$dname-$e"
			cpu_row "$n" "$s" "$k" "$dname" "$e" "$dname-$e" >>"$out/cpu"
			sc_row "$n" "$s" "$k" "$dname" "$e" "$dname-$e" >>"$out/sc"
		done
		ratio_row "$n" "$dname" >>"$out/ratio"
	done
}

echo "# tcpscope I/O engines A/B: $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# interval $interval; loadgen v6 share ${v6share}%; best of $rounds rounds;" \
	"private netns: $([ -n "${TCPSCOPE_BENCH_IN_NETNS:-}" ] && echo yes || echo no)"
if ! "$tcpscope" --once --netns host --quiet --io-engine uring --dest null 2>"$out/probe.err"; then
	echo "uring.sh: --io-engine uring does not run here:" >&2
	cat "$out/probe.err" >&2
	read -ra engines <<<"$(printf '%s\n' "${engines[@]}" | grep -v '^uring' | tr '\n' ' ')"
	status=1
fi
: >"$out/cpu"
: >"$out/sc"
: >"$out/ratio"
for n in $sizes; do
	bench_size "$n"
done
echo
echo "## CPU and memory (best round; per poll, per record = socket per poll)"
printf '%7s %7s %5s  %-7s %-9s %9s %9s %8s %8s %8s %7s %7s %7s %7s %6s %6s\n' \
	N sockets polls dest engine user/poll sys/poll user_us sys_us total_us \
	x_floor vcsw/p ivcsw/p rss_MB drop spread
cat "$out/cpu"
echo
echo "## syscalls (strace -f -c; (run of 1+K polls - run of 1 poll) / K)"
printf '%7s %7s %5s  %-7s %-9s %9s %9s  %s\n' N sockets polls dest engine \
	per_poll per_1k_rec "per poll, by syscall"
cat "$out/sc"
echo
echo "## ${engines[1]:-?} / ${engines[0]} (CPU of the best rounds; rss: ${engines[1]:-?} - ${engines[0]}, MB;"
echo "## fewer_sc: syscalls per poll, ${engines[0]} / ${engines[1]:-?}; target >= 20x for uring / syscall)"
printf '%7s  %-7s %7s %7s %7s %7s %7s %8s %9s\n' N dest cpu user sys vcsw ivcsw rss_MB fewer_sc
cat "$out/ratio"
echo
[ -s "$out/notes" ] && cat "$out/notes"
exit "$status"
