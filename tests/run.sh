#!/bin/sh
# Runs the whole suite: unit tests (optimised and sanitizer builds), then
# the CLI scripts tests/cli/t*.sh against the sanitizer build of peerpres
# (t0013 runs what uses threads under the ThreadSanitizer build, in
# PEERPRES_TSAN), and the engine's scripts against the optimised build.
# Each part ends with "N passed, N failed[, N skipped]"; this script sums
# them and ends with the same line for the whole suite.
cd "$(dirname "$0")/.." || exit 2
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export PEERPRES_TSAN="${PEERPRES_TSAN:-$PWD/build/tsan/peerpres}"
total_pass=0 total_fail=0 total_skip=0
log=$(mktemp)

tally() {
	# $1: label; the command follows. Output goes to the terminal and the
	# last counting line is added to the totals.
	label=$1; shift
	echo "== $label"
	"$@" >"$log" 2>&1
	status=$?
	cat "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $label: no result line (exit $status)"
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + ${s:-0}))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $label: exit status $status"
		total_fail=$((total_fail + 1))
	fi
}

tally "unit tests" build/rel/test-unit
tally "unit tests (address and undefined-behaviour sanitizers)" build/san/test-unit
for t in tests/cli/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	PEERPRES="$PWD/build/san/peerpres" tally "$t" sh "$t"
done
# The engine's tests again on the program as shipped: optimised, and with
# the allocator it links (mimalloc), which the sanitizer build replaces.
for t in tests/cli/t0007-providers-mock.sh tests/cli/t0009-engine.sh; do
	PEERPRES="$PWD/peerpres" tally "$t (the optimised build)" sh "$t"
done
rm -f "$log"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
