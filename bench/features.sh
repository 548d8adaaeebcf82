#!/usr/bin/env bash
# bench/features.sh - what three output features cost and save, per socket
# per poll, against the kernel floor measured in the same rounds:
# change-only output (--emit changes vs all), field selection (--fields,
# 10 fields vs all) and the tcp_info histograms (--metrics-tcp on vs off).
#
# In a private network namespace (re-executes itself under unshare -n, as
# run.sh does, so only loadgen's sockets are dumped) it holds N loopback
# sockets with bench/loadgen --move MOVE: MOVE% of them (both ends of
# MOVE% of the pairs) send 8 bytes every MOVE_EVERY ms, read at once by
# the peer, the others stay idle. With MOVE_EVERY well under INTERVAL,
# every moving socket has changed between two polls, and no idle one has.
# Rows, each under bench/cputime (user+sys from wait4; loadgen's own CPU
# is another process's and not counted), best of ROUNDS, the tcpscope rows'
# order reversed every other round so drift hits them alike:
#   floor     bench/floor --count K                     (the kernel's work)
#   all-json  tcpscope --count K --interval INTERVAL --netns host
#             --format json >/dev/null                  (every socket)
#   chg-json  the same with --emit changes --snapshot-every SNAPSHOT_EVERY
#   all-pbl   all-json with --format protobuf-list      (PBL=0 leaves out)
#   chg-pbl   chg-json with --format protobuf-list
#   f10-json  all-json with --fields FIELDS (10 fields)
#   mtcp-off  --dest null --metrics 127.0.0.1:METRICS_PORT (not scraped)
#   mtcp-on   the same with --metrics-tcp
# The emit rows also run with --count 1 (named ROW-1): a poll's worth of
# start-up and the first poll, in which --emit changes sends every socket
# as "open". Their "ROW*" lines are polls 2..K alone, (run of K - run of 1)
# / (K - 1): the steady state. K = SNAPSHOT_EVERY + 1 by default, so polls
# 2..K hold exactly one snapshot poll (every socket, event "snapshot") in
# SNAPSHOT_EVERY polls: the share the daemon's steady state has.
# Records per poll come from the summary lines (stderr; the records sent
# so far, per poll); bytes per poll from runs after the timed rounds, not
# timed, with stdout piped to wc -c (K polls and 1 for chg-*, 2 and 1 for
# all-*: every poll of --emit all is alike). "changed" is the records of a
# non-snapshot poll after the first: the moving sockets tcpscope saw.
#
# Environment:
#   BUILD=build  SIZES="20000 100000"  ROUNDS=3  V6_SHARE=20
#   INTERVAL=200ms  MOVE=1 (percent)  MOVE_EVERY=40 (ms)
#   SNAPSHOT_EVERY=60 (tcpscope's default)  POLLS=K (SNAPSHOT_EVERY + 1)
#   FIELDS=LIST  PBL=1  METRICS_PORT=19900  PARSE_REPS=500 (0 skips)
#   TCPSCOPE=path  BENCH_NETNS=0 (measure in this namespace)
# Timing never fails the run: the exit status is 0 unless a tool is broken.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
enter_private_netns "$0" "$@"
bench_build build
tcpscope=${TCPSCOPE:-$build/src/tcpscope}
sizes=${SIZES:-20000 100000}
rounds=${ROUNDS:-3}
v6share=${V6_SHARE:-20}
interval=${INTERVAL:-200ms}
move=${MOVE:-1}
move_every=${MOVE_EVERY:-40}
snap=${SNAPSHOT_EVERY:-60}
polls=${POLLS:-$((snap + 1))}
pbl=${PBL:-1}
mport=${METRICS_PORT:-19900}
parse_reps=${PARSE_REPS:-500}
# ten fields a dashboard keeps: when, who, state, RTT, cwnd, progress, loss
fields=${FIELDS:-timestamp_ns,inet_diag_msg_socket_source,inet_diag_msg_socket_source_port,inet_diag_msg_socket_destination,inet_diag_msg_socket_destination_port,inet_diag_msg_state,tcp_info_rtt,tcp_info_snd_cwnd,tcp_info_bytes_acked,tcp_info_total_retrans}
out=$(mktemp -d /tmp/tcpscope-features.XXXXXX)
status=0
lg_pid=
lg_in=

cleanup() {
	kill_loadgen
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$bin/loadgen" "$bin/floor" "$bin/cputime" "$tcpscope"; do
	[ -x "$b" ] || { echo "features.sh: $b missing (ninja -C $build)" >&2; exit 1; }
done

# name|tcpscope options (after --count K --interval INTERVAL --netns host)
chg="--emit changes --snapshot-every $snap"
rows=("all-json|--format json" "chg-json|--format json $chg")
[ "$pbl" = 1 ] && rows+=("all-pbl|--format protobuf-list"
	"chg-pbl|--format protobuf-list $chg")
rows+=("f10-json|--format json --fields $fields"
	"mtcp-off|--dest null --metrics 127.0.0.1:$mport"
	"mtcp-on|--dest null --metrics 127.0.0.1:$mport --metrics-tcp")
emit_rows=(all-json chg-json)
[ "$pbl" = 1 ] && emit_rows+=(all-pbl chg-pbl)

opts_of() { # NAME -> its options
	local r
	for r in "${rows[@]}"; do [ "${r%%|*}" = "$1" ] && echo "${r#*|}"; done
}
is_emit() { case " ${emit_rows[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

# measure NAME ROUND COUNT: one timed tcpscope run of row NAME, stdout to
# /dev/null, the summary lines to $out/NAME.rROUND.out
measure() {
	local name=$1 r=$2 k=$3
	# shellcheck disable=SC2046 # the options are words
	"$bin/cputime" -r "$out/$name.r$r" -o /dev/null -- "$tcpscope" \
		--count "$k" --interval "$interval" --netns host $(opts_of "${name%-1}") \
		2>"$out/$name.r$r.out" ||
		{ echo "features.sh: $name failed:" >&2; tail -3 "$out/$name.r$r.out" >&2; status=1; }
}

# bytes NAME COUNT: stdout bytes of one untimed run, through a pipe
bytes() {
	# shellcheck disable=SC2046
	"$tcpscope" --count "$2" --interval "$interval" --netns host --quiet \
		$(opts_of "$1") | wc -c
}

# sent FILE: "first last polls snaps changed" from a run's summary lines:
# records sent by poll 1 and by the last poll, the polls, the snapshot
# polls (unchanged 0 after poll 1), and the records of the other polls
# after the first, on average
sent() {
	awk '{ s = $0; sub(/ sent,.*/, "", s); sub(/.* /, "", s); s += 0
		u = -1; if (match($0, /changes only: [0-9]+ unchanged/)) {
			u = substr($0, RSTART + 14, RLENGTH - 24) + 0 }
		n++; d = s - prev; prev = s
		if (n == 1) first = s
		else if (u == 0) snaps++
		else { ch += d; nch++ } }
		END { printf "%d %d %d %d %.1f\n", first, prev, n, snaps,
			nch ? ch / nch : 0 }' "$1"
}

round() { # K R
	local k=$1 r=$2 order=() i
	"$bin/cputime" -r "$out/floor.r$r" -o "$out/floor.r$r.out" -- "$bin/floor" --count "$k" ||
		{ status=1; return 1; }
	for i in "${rows[@]}"; do order+=("${i%%|*}"); done
	if ((r % 2 == 0)); then # reversed, pairs (off/on, all/chg) kept side by side
		for ((i = 0; i < ${#order[@]} / 2; i++)); do
			local t=${order[i]}
			order[i]=${order[${#order[@]} - 1 - i]}
			order[${#order[@]} - 1 - i]=$t
		done
	fi
	for i in "${order[@]}"; do
		measure "$i" "$r" "$k"
		if is_emit "$i"; then measure "$i-1" "$r" 1; fi
	done
	return 0
}

# line LABEL U Y K RECS BYTES: a table line from user/sys microseconds
# over K polls of $s sockets
line() {
	awk -v name="$1" -v s="$s" -v k="$4" -v u="$2" -v y="$3" -v rec="$5" -v by="$6" \
		-v f="$floor_pp" 'BEGIN { d = s * k; t = (u + y) / d
		printf "%8d %6s  %-10s %9.3f %9.3f %9.3f %6.2fx %9s %10s\n", s, k, name,
			u / d, y / d, t, (f > 0 ? t / f : 0), rec, by }'
}

report_size() {
	local k=$1 name u y u1 y1 f c b rec by
	for name in floor "${rows[@]%%|*}"; do best "$name"; done
	for name in "${emit_rows[@]}"; do best "$name-1"; done
	s=$(field records_per_poll "$out/floor.out")
	floor_pp=$(awk -v c="$(cpu_us "$out/floor")" -v s="$s" -v k="$k" 'BEGIN { print c / (s * k) }')
	line floor "$(field user_us "$out/floor")" "$(field sys_us "$out/floor")" "$k" - -
	for name in "${rows[@]%%|*}"; do
		f=$out/$name
		[ -s "$f" ] || { printf '%8d %6s  %-10s %9s\n' "$s" "$k" "$name" n/a; continue; }
		u=$(field user_us "$f") y=$(field sys_us "$f")
		read -r first last _ _ _ <<<"$(sent "$f.out")"
		rec=$(awk -v a="$last" -v k="$k" 'BEGIN { printf "%.0f", a / k }')
		by=-
		if is_emit "$name"; then
			read -r c b <<<"$(cat "$out/$name.bytes")"
			by=$(awk -v b="$c" -v n="$(case $name in all-*) echo 2 ;; *) echo "$k" ;; esac)" \
				'BEGIN { printf "%.0f", b / n }')
		fi
		line "$name" "$u" "$y" "$k" "$rec" "$by"
		if ! is_emit "$name" || [ ! -s "$out/$name-1" ]; then continue; fi
		# polls 2..K: the run of K less the run of 1
		u1=$(field user_us "$out/$name-1") y1=$(field sys_us "$out/$name-1")
		rec=$(awk -v a="$last" -v b="$first" -v k="$k" 'BEGIN { printf "%.0f", (a - b) / (k - 1) }')
		by=$(awk -v b="$c" -v b1="$b" -v n="$(case $name in all-*) echo 2 ;; *) echo "$k" ;; esac)" \
			'BEGIN { printf "%.0f", (b - b1) / (n - 1) }')
		line "$name*" $((u - u1)) $((y - y1)) $((k - 1)) "$rec" "$by"
	done
}

# notes K: the figures the three questions ask for
notes_size() {
	local k=$1 a
	for a in chg-json chg-pbl; do
		[ -s "$out/$a.out" ] || continue
		read -r _ _ n sn ch <<<"$(sent "$out/$a.out")"
		awk -v a="$a" -v n="$n" -v sn="$sn" -v ch="$ch" -v s="$s" -v snap="$snap" \
			'BEGIN { printf "%8s %s: %d polls, %d snapshot (every %d), %.0f records in each other poll after the first = %.2f%% of the sockets\n",
				"", a, n, sn, snap, ch, 100 * ch / s }'
	done
	pair() { # A B WHAT: B vs A
		[ -s "$out/$1" ] && [ -s "$out/$2" ] || return 0
		awk -v a="$(cpu_us "$out/$1")" -v b="$(cpu_us "$out/$2")" \
			-v ua="$(field user_us "$out/$1")" -v ub="$(field user_us "$out/$2")" \
			-v f="$(cpu_us "$out/floor")" -v w="$3" -v sk="$((s * k))" \
			'BEGIN { printf "%8s %s: %+.3f us per socket per poll (user %+.3f) = %+.1f%% of the floor (user %+.1f%%), %.2fx\n",
				"", w, (b - a) / sk, (ub - ua) / sk, 100 * (b - a) / f, 100 * (ub - ua) / f, (a > 0 ? b / a : 0) }'
	}
	pair all-json chg-json "chg-json - all-json (run of $k)"
	[ -s "$out/all-json-1" ] && [ -s "$out/chg-json-1" ] &&
		awk -v a="$(($(cpu_us "$out/all-json") - $(cpu_us "$out/all-json-1")))" \
			-v b="$(($(cpu_us "$out/chg-json") - $(cpu_us "$out/chg-json-1")))" \
			-v k="$k" -v sk="$((s * (k - 1)))" \
			'BEGIN { printf "%8s chg-json* / all-json* (polls 2..%d): %.2fx, %+.3f us per socket per poll\n",
				"", k, (a > 0 ? b / a : 0), (b - a) / sk }'
	pair all-json f10-json "f10-json - all-json"
	pair mtcp-off mtcp-on "--metrics-tcp on - off (target < 5% of the floor)"
}

count_bytes() { # K: untimed byte counts of the emit rows
	local name n
	for name in "${emit_rows[@]}"; do
		case $name in all-*) n=2 ;; *) n=$1 ;; esac
		echo "$(bytes "$name" "$n") $(bytes "$name" 1)" >"$out/$name.bytes"
	done
}

bench_size() {
	local n=$1 k r
	rm -f "$out"/*.r* "$out"/*.bytes
	start_loadgen "$n" --move "$move" --move-every "$move_every" || { status=1; return; }
	k=$polls
	echo "# N=$n: load average at start $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/notes"
	for ((r = 1; r <= rounds; r++)); do
		echo "features.sh: $n sockets, round $r/$rounds ..." >&2
		round "$k" "$r" || break
	done
	count_bytes "$k"
	stop_loadgen
	echo "# N=$n: load average at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/notes"
	report_size "$k" >>"$out/table"
	notes_size "$k" >>"$out/table"
}

echo "# tcpscope features: $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# best of $rounds rounds; private netns: $([ -n "${TCPSCOPE_BENCH_IN_NETNS:-}" ] && echo yes || echo no);" \
	"loadgen v6 share ${v6share}%, --move $move --move-every $move_every;" \
	"--interval $interval, --snapshot-every $snap"
echo "# f10-json --fields $fields"
parse_bench_header "$parse_reps" || status=1
printf '%8s %6s  %-10s %9s %9s %9s %7s %9s %10s\n' sockets polls row \
	user_us sys_us total_us x_floor rec/poll B/poll >"$out/table"
for n in $sizes; do bench_size "$n"; done
echo
echo "## CPU microseconds per socket per poll (user + sys of the process);"
echo "## ROW*: polls 2..K alone = (run of K - run of 1) / (K - 1)"
cat "$out/table"
cat "$out/notes"
exit "$status"
