# bench/lib.sh - what the benchmark scripts share (sourced, not run).
# start_loadgen expects: $bin (build/bench), $out (scratch dir), $v6share.

# enter_private_netns "$0" "$@" (BENCH_NETNS=0: stays here): re-executes the script in a private
# network namespace (root) with lo up, so the dumps see only loadgen's
# sockets, not those of whatever else runs on the machine (test suites
# leave thousands of TIME_WAIT sockets). The established hash is still the
# host's (shared unless net.ipv4.tcp_child_ehash_entries is set), so the
# walk costs the same. Where unshare is refused it says so and returns.
# With BENCH_CHILD_EHASH=E (a power of 2), the namespace gets a private
# established hash of E buckets instead: its dumps then walk neither the
# machine's other sockets nor do its own (1M at bench/scale.sh's top size)
# lengthen every other namespace's dumps. The sysctl is per namespace and
# read when a namespace is created: it is set in this one just for the
# unshare and put back from inside the new namespace (nsenter to this one),
# a window of milliseconds in which another job's new namespace would get
# the same size.
enter_private_netns() {
	[ -n "${TCPSCOPE_BENCH_IN_NETNS:-}" ] && return 0
	[ "${BENCH_NETNS:-1}" = 1 ] || return 0 # asked to measure here
	local ehash=${BENCH_CHILD_EHASH:-} key=net.ipv4.tcp_child_ehash_entries
	local old= restore= home
	if [ -n "$ehash" ] && old=$(sysctl -n "$key" 2>/dev/null); then
		# unshare keeps this pid: only an open fd still names this netns
		exec {home}</proc/self/ns/net
		restore="nsenter --net=/proc/self/fd/$home sysctl -qw $key=$old; exec $home<&-;"
		sysctl -qw "$key=$ehash" || restore=
	fi
	if unshare --net true 2>/dev/null; then
		export TCPSCOPE_BENCH_IN_NETNS=1
		exec unshare --net -- bash -c "$restore"' ip link set lo up && exec "$0" "$@"' "$@"
	fi
	if [ -n "$restore" ]; then
		sysctl -qw "$key=$old"
		exec {home}<&-
	fi
	echo "${1##*/}: cannot unshare the network namespace; measuring in this one" >&2
}

# bench_build DEFAULT: $build, the meson build dir (BUILD, else DEFAULT;
# made absolute against $root), and $bin, its bench/ programs
bench_build() {
	build=${BUILD:-$1}
	case $build in /*) ;; *) build=$root/$build ;; esac
	bin=$build/bench
}

# loadgen reads a fifo as stdin: holding its write end keeps the sockets
# up, closing it (or the EXIT trap's SIGTERM) tears them down.
# start_loadgen N [LOADGEN-OPTIONS...]
start_loadgen() {
	local i
	rm -f "$out/lg.in" "$out/lg.out"
	mkfifo "$out/lg.in"
	"$bin/loadgen" "$1" --v6-share "$v6share" "${@:2}" <"$out/lg.in" >"$out/lg.out" &
	lg_pid=$!
	exec {lg_in}>"$out/lg.in"
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ready' "$out/lg.out" 2>/dev/null && return 0
		kill -0 "$lg_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "${0##*/}: loadgen $1 did not become ready" >&2
	stop_loadgen
	return 1
}

stop_loadgen() {
	exec {lg_in}>&-
	wait "$lg_pid" 2>/dev/null
	lg_pid=
}

# for an EXIT trap: loadgen (and its children, by PR_SET_PDEATHSIG) gone
kill_loadgen() {
	[ -n "${lg_pid:-}" ] || return 0
	kill -TERM "$lg_pid" 2>/dev/null
	wait "$lg_pid" 2>/dev/null
	lg_pid=
}

# field KEY FILE: the value of KEY=NUMBER in a one-line report
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" "$2" | head -1; }

# cpu_us FILE: user + sys of a cputime report
cpu_us() { echo $(($(field user_us "$1") + $(field sys_us "$1"))); }

# best NAME: copies the round of NAME ($out/NAME.rR) with the least
# user+sys to $out/NAME (and its .out, if any). The minimum is the figure
# least disturbed by whatever else the machine ran.
best() {
	local f min= pick= t
	rm -f "$out/$1"
	for f in "$out/$1".r*; do
		case $f in *.err | *.out) continue ;; esac
		[ -s "$f" ] || continue
		t=$(cpu_us "$f")
		if [ -z "$min" ] || [ "$t" -lt "$min" ]; then
			min=$t
			pick=$f
		fi
	done
	[ -n "$pick" ] && cp "$pick" "$out/$1"
	[ -n "$pick" ] && [ -f "$pick.out" ] && cp "$pick.out" "$out/$1.out"
	return 0
}

# parse_bench_header REPS: parse_bench's ns per record, the figure every
# ratio is given beside (0 skips it); 1 if parse_bench fails
parse_bench_header() {
	[ "$1" != 0 ] && [ -x "$bin/parse_bench" ] || return 0
	echo
	echo "## user-space cost per record (captured 20k dump, no syscalls)"
	"$bin/parse_bench" -r "$1"
}
