#!/usr/bin/env bash
# make test: installs test dependencies, builds with -Werror, runs every
# suite (unit, replay, live, fuzz smoke) plainly and under ASan+UBSan, and
# ends with the line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test || exit 1

pass=0 fail=0 skip=0

# Adds up the summary meson test prints at its end.
count() {
	local log=$1 ok fl to sk
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n1)
	fl=$(awk '/^Fail:/ {print $2}' "$log" | tail -n1)
	to=$(awk '/^Timeout:/ {print $2}' "$log" | tail -n1)
	sk=$(awk '/^Skipped:/ {print $2}' "$log" | tail -n1)
	pass=$((pass + ${ok:-0}))
	fail=$((fail + ${fl:-0} + ${to:-0}))
	skip=$((skip + ${sk:-0}))
}

# run_suite NAME BUILDDIR [meson setup args...]
run_suite() {
	local name=$1 dir=$2
	shift 2
	echo "=== $name: build ($dir)"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; echo "$name: setup failed"; fail=$((fail + 1)); return; }
	fi
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		cat "$dir.build.log"
		echo "$name: build failed"
		fail=$((fail + 1))
		return
	fi
	echo "=== $name: tests"
	local log
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs --num-processes 1 $TEST_ARGS 2>&1 | tee "$log"
	count "$log"
	rm -f "$log"
}

TEST_ARGS=${TEST_ARGS:-}
run_suite "plain" build-ci
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	run_suite "asan+ubsan" build-asan -Db_sanitize=address,undefined -Db_lundef=false

if [ -x scripts/fuzz.sh ]; then
	echo "=== fuzz smoke"
	if FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
fi

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
