# bench/lib.sh - what the benchmark scripts share (sourced, not run).
# Expects: $bin (build/bench), $out (scratch dir), $v6share.

# loadgen reads a fifo as stdin: holding its write end keeps the sockets
# up, closing it (or the EXIT trap's SIGTERM) tears them down.
start_loadgen() {
	local i
	rm -f "$out/lg.in" "$out/lg.out"
	mkfifo "$out/lg.in"
	"$bin/loadgen" "$1" --v6-share "$v6share" <"$out/lg.in" >"$out/lg.out" &
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
