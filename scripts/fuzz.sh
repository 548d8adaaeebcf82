#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer harnesses of fuzz/ with clang (ASan+UBSan,
# straight from the src/*.c they need, no meson) into build-fuzz/, and runs
# each for ${FUZZ_SECONDS:-10} s seeded from the real captures, read in
# place. One line per fuzzer with its execution count; exits non-zero when
# a fuzzer finds a crash (reproducer in build-fuzz/artifacts/). Without
# clang or its fuzzer runtime it says SKIP and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

SECS=${FUZZ_SECONDS:-10}
CC=${FUZZ_CC:-clang}
FIX=${TCPSCOPE_FIXTURES:-../shared/fixtures/sockdiag}
OUT=build-fuzz
# shellcheck disable=SC2054 # the commas belong to one clang flag
CFLAGS=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-g -O1 -std=c17 -D_GNU_SOURCE -Isrc -Wall -Wextra -Werror)

CORE=(src/netlink/nl_parse.c src/record/record.c src/record/fields.c src/util/list.c
      src/record/json.c src/record/addr.c)
declare -A SRCS=(
	[fuzz_nl_parse]="fuzz/fuzz_nl_parse.c ${CORE[*]}"
	[fuzz_pcap]="fuzz/fuzz_pcap.c src/pcap/pcap.c src/pcap/replay.c ${CORE[*]}"
	[fuzz_filter]="fuzz/fuzz_filter.c src/netlink/nl_filter.c"
)
FUZZERS=(fuzz_nl_parse fuzz_pcap fuzz_filter)
# Longer inputs add little coverage but cut the executions per second;
# longer seeds are truncated, and still parse up to the cut.
declare -A MAXLEN=([fuzz_nl_parse]=8192 [fuzz_pcap]=65536 [fuzz_filter]=512)

skip() {
	echo "fuzz: SKIP: $*"
	rm -f "$OUT"/probe*
	exit 0
}

command -v "$CC" >/dev/null 2>&1 || skip "$CC not found"
mkdir -p "$OUT/artifacts" || exit 1
probe=$OUT/probe.c
printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
	'{ (void)d; (void)n; return 0; }' >"$probe"
"$CC" -fsanitize=fuzzer,address,undefined "$probe" -o "$OUT/probe" \
	>"$OUT/probe.log" 2>&1 ||
	skip "$CC cannot link -fsanitize=fuzzer (libFuzzer runtime missing?): $(head -n1 "$OUT/probe.log")"

# Seeds: whole datagrams and single attributes for the parser; pcaps
# under 200 KB for the replay (bigger ones only slow each execution).
seed_dirs() {
	local name=$1 dir=$2 f
	case $name in
	fuzz_nl_parse)
		[ -d "$FIX/netlink_packets_capture" ] &&
			echo "$FIX/netlink_packets_capture"
		for f in "$FIX"/*/attribute_* "$FIX"/*/netlink_sock_diag_response_port* \
			"$FIX"/*/netlink_end_of_dump_bytes "$FIX"/*/netlink_sock_diag_request_bytes*; do
			[ -f "$f" ] && ln -sf "$(realpath "$f")" "$dir/$(basename "$(dirname "$f")")_$(basename "$f")"
		done
		;;
	fuzz_filter) # the expressions the tests use, one per seed
		local i=0
		for f in "sport = :22" "dport >= :1024 and not src 127.0.0.1" \
			"( src [::1]:443 or dst 10.0.0.0/8 ) dport != :5" \
			"! sport lt :80 || dst *:443 , src ::1/64"; do
			printf '%s' "$f" >"$dir/seed$((i++))"
		done
		;;
	fuzz_pcap)
		for f in "$FIX"/*/*.pcap; do
			[ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 204800 ] &&
				ln -sf "$(realpath "$f")" "$dir/$(basename "$(dirname "$f")")_$(basename "$f")"
		done
		;;
	esac
	echo "$dir"
}

fail=0
for name in "${FUZZERS[@]}"; do
	# shellcheck disable=SC2086 # SRCS holds a word list on purpose
	if ! "$CC" "${CFLAGS[@]}" ${SRCS[$name]} -o "$OUT/$name" >"$OUT/$name.build.log" 2>&1; then
		cat "$OUT/$name.build.log"
		echo "$name: build failed"
		fail=1
		continue
	fi
	corpus=$(mktemp -d "$OUT/corpus-$name.XXXXXX")
	seeds=$(mktemp -d "$OUT/seeds-$name.XXXXXX")
	mapfile -t extra < <(seed_dirs "$name" "$seeds")
	log=$OUT/$name.log
	"$OUT/$name" -max_total_time="$SECS" -max_len="${MAXLEN[$name]}" \
		-timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name-" \
		"$corpus" "${extra[@]}" >"$log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -n1)
	if [ "$rc" -ne 0 ]; then
		grep -m1 -E '^==[0-9]+==ERROR|runtime error|deadly signal|Test unit written' "$log"
		grep -E 'Test unit written to' "$log"
		echo "$name: FAILED (exit $rc) after ${execs:-?} executions; log: $log"
		fail=1
	else
		echo "$name: ok, ${execs:-?} executions in ${SECS}s"
	fi
	rm -rf "$corpus" "$seeds"
done
rm -f "$probe" "$OUT/probe" "$OUT/probe.log"
exit $fail
