#!/usr/bin/env bash
# bench/sinks.sh - CPU per record of each format and destination, next to
# the kernel floor measured in the same run.
#
# Runs in a private network namespace (re-executes itself under unshare, as
# root; see bench/lib.sh) holding only loadgen's loopback sockets: nothing
# else on the machine is dumped. For each socket count, with bench/cputime
# (user+sys of the child, from wait4), best of ROUNDS rounds:
#   floor        bench/floor --count K                 (the kernel's work)
#   null         tcpscope --dest null                  (dump + parse, no output)
#   enc-FMT      --dest 'null?format=FMT'              (+ marshal, bytes dropped)
#   file-FMT     --dest 'file:/dev/null?format=FMT'    (+ write(2), as stdout)
#   udp-FMT      --dest udp://127.0.0.1:P              (+ sendmmsg; receiver: python)
#   unix-pbl     --dest unix:PATH                      (stream; receiver: python)
#   ugram-pbl    --dest unixgram:PATH                  (datagram; receiver: python)
#   redis-pbl    --dest redis://127.0.0.1:P/bench      (XADD; a redis-server of its own)
#   kafka-CODEC  --dest kafka://BOOT/bench?compression=CODEC (broker: librdkafka's
#                mock cluster, tests/kafka/mock_broker, another process)
#   nats-pbl     --dest nats://127.0.0.1:P/SUBJECT     (core NATS; nats-server)
#   nats-js      the same with ?jetstream=1            (acked by a JetStream stream)
# and prints us per record (user, sys, total), the ratio to the floor, and
# "added": (row - null) / floor, what formatting and sending add to the CPU
# of the raw dump (target for udp-pbl: <= 25%; for nats-*: x_floor <= 1.5).
#
# Environment: BUILD=build, SIZES="20000 100000", ROUNDS=2,
#   POLLS=K (default 2e6/sockets, 10..200), V6_SHARE=20,
#   KAFKA_CODECS="none lz4 zstd gzip snappy" ("" leaves Kafka out).
# Kafka rows also print the bytes on the wire per record: what crossed
# the namespace's loopback while the row ran (produce requests and their
# answers, TCP/IP headers included), and the records sent and dropped
# (their summary lines are kept, without --quiet).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
enter_private_netns "$0" "$@"
bench_build build
tcpscope=$build/src/tcpscope

sizes=${SIZES:-20000 100000}
rounds=${ROUNDS:-2}
v6share=${V6_SHARE:-20}
out=$(mktemp -d /tmp/tcpscope-sinks.XXXXXX)
pids=()
lg_in=

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in loadgen floor cputime; do
	[ -x "$bin/$b" ] || { echo "sinks.sh: $bin/$b missing (ninja -C $build)" >&2; exit 1; }
done

# Receivers that read and discard (their CPU is not counted).
python3 - "$out" >"$out/ports" 2>/dev/null <<'PY' &
import os, socket, sys, threading
d = sys.argv[1]
def drain(s):
    while True:
        try:
            if not s.recv(1 << 20): return
        except OSError: return
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
u.bind(("127.0.0.1", 0))
g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
g.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)
g.bind(d + "/g.sock")
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(d + "/s.sock"); l.listen(16)
for s in (u, g): threading.Thread(target=drain, args=(s,), daemon=True).start()
print(u.getsockname()[1], flush=True)
while True:
    c, _ = l.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
pids+=($!)
for _ in $(seq 50); do [ -s "$out/ports" ] && break; sleep 0.1; done
port=$(head -1 "$out/ports")
[ -n "$port" ] || { echo "sinks.sh: receiver did not start" >&2; exit 1; }

configs=(
	"null|null"
	"enc-json|null?format=json"
	"enc-pb|null?format=protobuf"
	"enc-pbl|null?format=protobuf-list"
	"file-json|file:/dev/null?format=json"
	"file-pbl|file:/dev/null?format=protobuf-list"
	"udp-pbl|udp://127.0.0.1:$port"
	"udp-pb|udp://127.0.0.1:$port?format=protobuf"
	"udp-json|udp://127.0.0.1:$port?format=json"
	"unix-pbl|unix:$out/s.sock"
	"ugram-pbl|unixgram:$out/g.sock"
)

# Redis: a server of its own in this namespace (its CPU is not counted:
# it is not a child of cputime); maxlen bounds its memory.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	rport=$((20000 + RANDOM % 20000))
	redis-server --port "$rport" --bind 127.0.0.1 --dir "$out" --save '' \
		--appendonly no --daemonize no --logfile "$out/redis.log" &
	pids+=($!)
	for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
	configs+=("redis-pbl|redis://127.0.0.1:$rport/bench?maxlen=1000")
else
	echo "sinks.sh: no redis-server/redis-cli (Debian: redis-server): no redis row" >&2
fi
# Kafka: the broker is librdkafka's mock cluster (it keeps the last 5 MB
# of a partition), in a process of its own: its CPU is not counted.
mock=$build/tests/kafka/mock_broker
if [ -n "${KAFKA_CODECS-none lz4 zstd gzip snappy}" ] && [ -x "$mock" ]; then
	mkfifo "$out/mock.in"
	"$mock" bench 1 <"$out/mock.in" >"$out/mock.out" 2>&1 &
	pids+=($!)
	exec {mock_in}>"$out/mock.in" # its EOF (our exit) ends it
	for _ in $(seq 50); do [ -s "$out/mock.out" ] && break; sleep 0.1; done
	boot=$(sed -n 's/^bootstrap //p' "$out/mock.out")
	[ -n "$boot" ] || { echo "sinks.sh: mock_broker did not start" >&2; exit 1; }
	for c in ${KAFKA_CODECS-none lz4 zstd gzip snappy}; do
		configs+=("kafka-$c|kafka://$boot/bench?compression=$c")
	done
elif [ -n "${KAFKA_CODECS-x}" ]; then
	echo "sinks.sh: $mock missing (librdkafka-dev; ninja -C $build): no Kafka rows" >&2
fi
lo_bytes() { awk '$1 == "lo:" { print $2 }' /proc/net/dev; }
# nats:// (nats.c): Debian's nats-server, started here outside the measured
# process (its CPU is not counted), with a JetStream stream of its own
# (memory, 256 MiB, oldest dropped) for nats-js; no subscriber.
nats_srv=$(command -v nats-server || echo /usr/sbin/nats-server)
nport=$((20000 + RANDOM % 30000))
if [ -x "$nats_srv" ]; then
	"$nats_srv" -a 127.0.0.1 -p "$nport" -js -sd "$out/js" >"$out/nats.log" 2>&1 &
	pids+=($!)
	if python3 - "$nport" <<'PY'; then
import json, socket, sys, time
cfg = json.dumps({"name": "BENCH", "subjects": ["bench.js"], "storage": "memory",
                  "max_bytes": 256 << 20, "discard": "old"}).encode()
for _ in range(50):  # until it listens and JetStream answers
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.b 1\r\n'
                  b"PUB $JS.API.STREAM.CREATE.BENCH _INBOX.b %d\r\n%s\r\n" % (len(cfg), cfg))
        while True:
            line = f.readline()
            if line.startswith(b"MSG"):
                body = f.read(int(line.split()[-1]) + 2)
                sys.exit(1 if b'"error"' in body else 0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
		configs+=("nats-pbl|nats://127.0.0.1:$nport/bench.core"
			"nats-js|nats://127.0.0.1:$nport/bench.js?jetstream=1")
	else
		echo "sinks.sh: nats-server gave no JetStream stream: no nats rows" >&2
	fi
else
	echo "sinks.sh: nats-server not installed: no nats rows" >&2
fi

measure() { # NAME ROUND CMD...
	local name=$1 r=$2
	shift 2
	"$bin/cputime" -r "$out/$name.r$r" -o /dev/null -- "$@" 2>"$out/$name.err" ||
		{ echo "sinks.sh: $name failed" >&2; tail -3 "$out/$name.err" >&2; }
}

cpu() { echo $(($(field user_us "$out/$1") + $(field sys_us "$out/$1"))); }

echo "# tcpscope destinations and formats: $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%8s %6s  %-10s %9s %9s %9s %7s %7s\n' sockets polls row user_us sys_us total_us x_floor added
for n in $sizes; do
	rm -f "$out"/*.r*
	start_loadgen "$n" || continue
	"$bin/floor" --count 1 >"$out/probe"
	s=$(field records_per_poll "$out/probe")
	k=${POLLS:-$(((2000000 / s) < 10 ? 10 : ((2000000 / s) > 200 ? 200 : 2000000 / s)))}
	for ((r = 1; r <= rounds; r++)); do
		measure floor "$r" "$bin/floor" --count "$k"
		for c in "${configs[@]}"; do
			q=--quiet lo=$(lo_bytes)
			case $c in kafka-*) q= ;; esac
			measure "${c%%|*}" "$r" "$tcpscope" --count "$k" --interval 1ms \
				$q --netns host --dest "${c#*|}"
			case $c in kafka-*) echo $(($(lo_bytes) - lo)) >"$out/${c%%|*}.wire" ;; esac
		done
	done
	stop_loadgen
	best floor
	for c in "${configs[@]}"; do best "${c%%|*}"; done
	f=$(cpu floor)
	nl=$(cpu null)
	for name in floor "${configs[@]%%|*}"; do
		[ -s "$out/$name" ] || continue
		awk -v s="$s" -v k="$k" -v name="$name" -v u="$(field user_us "$out/$name")" \
			-v y="$(field sys_us "$out/$name")" -v f="$f" -v nl="$nl" \
			'BEGIN { d = s * k; t = u + y;
			add = (name == "floor" || name == "null") ? "-" : sprintf("%.1f%%", 100 * (t - nl) / f);
			printf "%8d %6d  %-10s %9.3f %9.3f %9.3f %6.2fx %7s\n",
				s, k, name, u / d, y / d, t / d, t / f, add }'
	done
	for name in "${configs[@]%%|*}"; do # the last round's wire and counts
		[ -s "$out/$name.wire" ] || continue
		last=$(grep -o 'kafka://[^;]*' "$out/$name.err" | tail -1)
		awk -v s="$s" -v k="$k" -v name="$name" -v w="$(cat "$out/$name.wire")" \
			-v sent="$(echo "$last" | sed -n 's/.*: \([0-9]*\) sent.*/\1/p')" \
			-v drop="$(echo "$last" | sed -n 's/.* \([0-9]*\) dropped.*/\1/p')" \
			'BEGIN { printf "%8d %6d  %-10s wire %7.1f B/record; %s sent, %s dropped\n",
				s, k, name, w / (s * k), sent, drop }'
	done
done
