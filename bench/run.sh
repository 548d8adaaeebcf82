#!/usr/bin/env bash
# bench/run.sh - CPU per socket per poll: kernel floor vs tcpscope vs ss.
#
# For each socket count N, holds N established loopback sockets (loadgen),
# then measures with bench/cputime (user+sys of the child, from wait4):
#   floor     bench/floor --count K                     (the kernel's work:
#             two dumps, AF_INET then AF_INET6, what a plain reader does)
#   floor-1w  bench/floor --count K --compat            (one legacy dump of
#             both families: one walk of the socket hash, a second reference)
#   tcpscope  tcpscope --count K --interval 1ms --format json --quiet
#             --netns host >/dev/null                     (JSON to stdout)
#   tcp-null  the same with --dest null                  (parse, no output;
#             one walk where the kernel serves it: --walk auto)
#   null-2w   tcp-null with --walk two                   (two dumps, as floor)
#   tcp-pbl   the same with --dest file:/dev/null?format=protobuf-list
#   ss        ss -tinmOH >/dev/null, run K times        (what it replaces)
# With METRICS_AB=1, tcp-metr: tcp-null with --metrics while a client
# scrapes /metrics every 100 ms (ten times what a 1 s Prometheus would),
# in the same rounds: the HTTP thread's CPU is in the process's, so the
# two rows show what --metrics costs per socket (a scrape's work does not
# grow with the sockets; the poll path counts per poll, never per socket).
# With TCPSCOPE_B=path, a second binary's tcpscope/tcp-null/tcp-pbl rows
# (b-json, b-null, b-pbl) are measured in the same rounds, alternating
# with the first's, against the same floor: an A/B of two builds.
# and prints microseconds per socket per poll, ratios to the floor, and how
# many times less CPU tcpscope uses than ss; beside them each tool's wall
# time per poll (cputime's wall_us / K: start-up and the 1 ms interval
# included) and peak RSS (ru_maxrss; for ss, its largest run). The socket count used to
# normalise is the one the floor's dump saw (listeners and any other
# sockets in the namespace included), not N.
# --netns host: floor and ss see one namespace only, and tests on a shared
# machine may leave hundreds of namespaces in /run/netns that the default
# (--netns all) would dump too.
#
# Environment:
#   BUILD=build              meson build dir holding src/ and bench/
#   BENCH_SIZES="1000 20000 100000"
#   POLLS=K                  polls per measurement (default: 2e6/sockets, MIN_POLLS..1000)
#   MIN_POLLS=20             the fewest polls of the default
#   SS=1                     0 leaves ss out (its rows read n/a)
#   ROUNDS=3                 rounds per size; each tool's least-CPU round is shown
#   V6_SHARE=20              percent of the pairs on ::1
#   PARSE_REPS=500           parse_bench repetitions (0 skips it)
#   TCPSCOPE=path            tcpscope binary (default: $BUILD/src/tcpscope)
#   TCPSCOPE_B=path          a second binary, measured alongside (A/B)
#   METRICS_AB=1             also tcp-metr (--metrics on, scraped; needs curl)
#   METRICS_PORT=19900       its port (in the private namespace: free)
#   BENCH_NETNS=0            measure in the current network namespace
#   BENCH_CHILD_EHASH=E      the private namespace gets its own established
#                            hash of E buckets (bench/lib.sh)
# Timing never fails the run: the exit status is 0 unless a tool is broken.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
enter_private_netns "$0" "$@"
bench_build build
sizes=${BENCH_SIZES:-1000 20000 100000}
v6share=${V6_SHARE:-20}
parse_reps=${PARSE_REPS:-500}
rounds=${ROUNDS:-3}
min_polls=${MIN_POLLS:-20}
with_ss=${SS:-1}
tcpscope=${TCPSCOPE:-$build/src/tcpscope}
tcpscope_b=${TCPSCOPE_B:-}
metrics_ab=${METRICS_AB:-0}
metrics_port=${METRICS_PORT:-19900}
out=$(mktemp -d /tmp/tcpscope-bench.XXXXXX)
status=0
lg_pid=
lg_in=
scraper_pid=

if [ "$metrics_ab" = 1 ] && ! command -v curl >/dev/null; then
	echo "run.sh: METRICS_AB=1 needs curl; tcp-metr is n/a" >&2
	metrics_ab=0
fi

# A client that GETs /metrics every 100 ms until stopped.
start_scraper() {
	(while :; do
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$metrics_port/metrics"
		sleep 0.1
	done) &
	scraper_pid=$!
}

stop_scraper() {
	[ -n "$scraper_pid" ] || return 0
	kill "$scraper_pid" 2>/dev/null
	wait "$scraper_pid" 2>/dev/null
	scraper_pid=
}

cleanup() {
	stop_scraper
	kill_loadgen
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in loadgen floor cputime; do
	if [ ! -x "$bin/$b" ]; then
		echo "run.sh: $bin/$b missing; building" >&2
		ninja -C "$build" >&2 || { echo "run.sh: build failed" >&2; exit 1; }
		break
	fi
done

# tcpscope is measured only if it prints a JSON record; checked once
# loadgen's sockets exist (a private namespace starts empty).
have_tcpscope=
check_tcpscope() {
	[ -n "$have_tcpscope" ] && return
	have_tcpscope=0
	# to a file: a reader that leaves early (head -c 1) would end
	# tcpscope by SIGPIPE, as it ends any filter
	if [ -x "$tcpscope" ] &&
		timeout 20 "$tcpscope" --once --format json --netns host \
			>"$out/check.json" 2>/dev/null &&
		head -c 1 "$out/check.json" | grep -q '{'; then
		have_tcpscope=1
	else
		echo "run.sh: tcpscope ($tcpscope) does not print JSON yet; its rows are n/a" >&2
	fi
}


# measure NAME CPUTIME-ARGS...: runs cputime, leaves the report in $out/NAME
measure() {
	local name=$1
	shift
	if ! "$bin/cputime" -r "$out/$name" "$@" 2>"$out/$name.err"; then
		echo "run.sh: $name failed:" >&2
		tail -5 "$out/$name.err" >&2
		return 1
	fi
}

# row N SOCKETS POLLS NAME: one table line from $out/NAME (or n/a)
row() {
	local n=$1 s=$2 k=$3 name=$4
	if [ ! -s "$out/$name" ] || ! [[ $s =~ ^[1-9][0-9]*$ ]]; then
		printf '%8s %8s %6s  %-9s %9s %9s %9s %8s %9s %7s\n' "$n" "$s" "$k" "$name" n/a n/a n/a n/a n/a n/a
		return
	fi
	awk -v n="$n" -v s="$s" -v k="$k" -v name="$name" \
		-v u="$(field user_us "$out/$name")" -v y="$(field sys_us "$out/$name")" \
		-v fu="$(field user_us "$out/floor")" -v fy="$(field sys_us "$out/floor")" \
		-v w="$(field wall_us "$out/$name")" -v rss="$(field maxrss_kb "$out/$name")" \
		'BEGIN { d = s * k; t = (u + y) / d; f = (fu + fy) / d;
		printf "%8s %8s %6s  %-9s %9.3f %9.3f %9.3f %7.2fx %9.1f %7.1f\n",
			n, s, k, name, u / d, y / d, t, (f > 0 ? t / f : 0),
			w / k / 1000, rss / 1024 }'
}

# cpu NAME: user+sys microseconds of $out/NAME (empty when absent)
cpu() {
	[ -s "$out/$1" ] && cpu_us "$out/$1"
}

# targets N: the issue's targets for this size, each as measured / bound
targets() {
	awk -v f="$(cpu floor)" -v nu="$(cpu tcp-null)" -v pb="$(cpu tcp-pbl)" \
		-v js="$(cpu tcpscope)" -v n2="$(cpu null-2w)" -v f1="$(cpu floor-1w)" \
		'function r(x) { return (f > 0 && x != "") ? sprintf("%.2fx", x / f) : "n/a" }
		BEGIN { printf "%8s targets vs floor: tcp-null %s (<= 1.10x), tcp-pbl %s (<= 1.25x), tcpscope %s (<= 2.0x); null-2w %s, floor-1w %s\n",
			"", r(nu), r(pb), r(js), r(n2), r(f1) }'
}

# tcpscope_rows BIN JSON NULL PBL K R: one binary's three measurements
tcpscope_rows() {
	local b=$1 k=$5 r=$6
	measure "$2.r$r" -o /dev/null -- "$b" --count "$k" --interval 1ms \
		--format json --quiet --netns host || status=1
	measure "$3.r$r" -o /dev/null -- "$b" --count "$k" --interval 1ms \
		--dest null --quiet --netns host || status=1
	measure "$4.r$r" -o /dev/null -- "$b" --count "$k" --interval 1ms \
		--dest 'file:/dev/null?format=protobuf-list' --quiet \
		--netns host || status=1
}

# metrics_row K R: tcp-null with --metrics, scraped meanwhile
metrics_row() {
	start_scraper
	measure "tcp-metr.r$2" -o /dev/null -- "$tcpscope" --count "$1" \
		--interval 1ms --dest null --quiet --netns host \
		--metrics "127.0.0.1:$metrics_port" || status=1
	stop_scraper
}

# one round: floor, tcpscope, ss back to back on the same sockets
bench_round() {
	local k=$1 r=$2
	measure "floor.r$r" -o "$out/floor.r$r.out" -- "$bin/floor" --count "$k" ||
		return 1
	measure "floor-1w.r$r" -o /dev/null -- "$bin/floor" --count "$k" \
		--compat || status=1
	if [ "$have_tcpscope" = 1 ]; then
		tcpscope_rows "$tcpscope" tcpscope tcp-null tcp-pbl "$k" "$r"
		measure "null-2w.r$r" -o /dev/null -- "$tcpscope" --count "$k" \
			--interval 1ms --dest null --walk two --quiet \
			--netns host || status=1
		[ "$metrics_ab" = 1 ] && metrics_row "$k" "$r"
		[ -n "$tcpscope_b" ] &&
			tcpscope_rows "$tcpscope_b" b-json b-null b-pbl "$k" "$r"
	fi
	[ "$with_ss" = 1 ] || return 0
	measure "ss.r$r" -n "$k" -o /dev/null -- ss -tinmOH || status=1
}

bench_size() {
	local n=$1 k s r
	rm -f "$out"/floor* "$out"/tcpscope* "$out"/tcp-* "$out"/null-* \
		"$out"/b-* "$out"/ss*
	start_loadgen "$n" || { status=1; return; }
	# polls from the sockets really there (other users of the machine
	# add theirs), so a round stays near 2M socket-polls per tool
	if ! "$bin/floor" --count 1 >"$out/probe"; then
		status=1
		stop_loadgen
		return
	fi
	check_tcpscope
	# every dump walks the shared established hash, other namespaces'
	# sockets included: say how many there were (root reads slabinfo)
	awk -v n="$n" '$1 ~ /^(TCP|TCPv6|tw_sock_TCP|tw_sock_TCPv6|request_sock_TCP|request_sock_TCPv6)$/ { t += $2 }
		END { if (t) printf "# N=%s: about %d TCP sockets (slab objects) in all namespaces at start\n", n, t }' \
		/proc/slabinfo >>"$out/notes" 2>/dev/null
	s=$(field records_per_poll "$out/probe")
	s=$((${s:-0} > 0 ? s : n))
	k=${POLLS:-$(((2000000 / s) < min_polls ? min_polls : ((2000000 / s) > 1000 ? 1000 : 2000000 / s)))}
	for ((r = 1; r <= rounds; r++)); do
		bench_round "$k" "$r" || { status=1; break; }
	done
	stop_loadgen
	for t in floor floor-1w tcpscope tcp-null null-2w tcp-pbl tcp-metr \
		b-json b-null b-pbl ss; do
		best "$t"
	done
	# sockets the floor's dumps saw in its best round: loadgen's, its
	# listeners, and whatever else lives on the machine
	s=$(field records_per_poll "$out/floor.out")
	{
		for t in floor floor-1w tcpscope tcp-null null-2w tcp-pbl; do
			row "$n" "${s:-?}" "$k" "$t"
		done
		if [ "$metrics_ab" = 1 ]; then
			row "$n" "${s:-?}" "$k" tcp-metr
			if [ -s "$out/tcp-null" ] && [ -s "$out/tcp-metr" ]; then
				awk -v a="$(($(field user_us "$out/tcp-null") + $(field sys_us "$out/tcp-null")))" \
					-v m="$(($(field user_us "$out/tcp-metr") + $(field sys_us "$out/tcp-metr")))" \
					'BEGIN { printf "%8s --metrics on / off CPU: %.3fx\n", "", (a > 0 ? m / a : 0) }'
			fi
		fi
		if [ -n "$tcpscope_b" ]; then
			for t in b-json b-null b-pbl; do
				row "$n" "${s:-?}" "$k" "$t"
			done
		fi
		[ "$with_ss" = 1 ] && row "$n" "${s:-?}" "$k" ss
		if [ -s "$out/tcpscope" ] && [ -s "$out/ss" ]; then
			awk -v t="$(($(field user_us "$out/tcpscope") + $(field sys_us "$out/tcpscope")))" \
				-v x="$(($(field user_us "$out/ss") + $(field sys_us "$out/ss")))" \
				'BEGIN { printf "%8s ss / tcpscope CPU: %.2fx (target >= 6x)\n", "", (t > 0 ? x / t : 0) }'
		fi
		targets "$n"
	} >>"$out/table"
}

echo "# tcpscope benchmark: $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
[ -n "$tcpscope_b" ] && echo "# A: $tcpscope; B (b-* rows): $tcpscope_b"
[ "$metrics_ab" = 1 ] && echo "# tcp-metr: tcp-null with --metrics 127.0.0.1:$metrics_port, scraped every 100 ms"
echo "# ss: $(ss -V 2>&1 | head -1); loadgen v6 share ${v6share}%; best of $rounds rounds;" \
	"private netns: $([ -n "${TCPSCOPE_BENCH_IN_NETNS:-}" ] && echo yes || echo no)," \
	"its ehash: $(sysctl -n net.ipv4.tcp_ehash_entries 2>/dev/null) (negative: the host's, shared);" \
	"load average: $(cut -d' ' -f1-3 /proc/loadavg)"
parse_bench_header "$parse_reps" || status=1
printf '%8s %8s %6s  %-9s %9s %9s %9s %8s %9s %7s\n' N sockets polls tool \
	user_us sys_us total_us vs_floor wall_ms rss_MB >"$out/table"
for n in $sizes; do
	echo "run.sh: $n sockets ..." >&2
	bench_size "$n"
done
echo
echo "## CPU microseconds per socket per poll (user + sys of the process)"
cat "$out/table"
[ -s "$out/notes" ] && cat "$out/notes"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
