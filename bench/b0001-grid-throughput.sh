#!/bin/sh
# Rollouts per second for the full grid on the reference agents, store on
# (one core: the runner is single-threaded). Target: >= 1000 rollouts/s.
cd "$(dirname "$0")/.." || exit 2
N=${N:-10}
out=bench/out
mkdir -p "$out"
rm -f "$out/grid.db" "$out/grid.db-wal" "$out/grid.db-shm"
start=$(date +%s.%N)
./peerpres run --db "$out/grid.db" -n "$N" 2>/dev/null
status=$?
end=$(date +%s.%N)
total=$(sqlite3 "$out/grid.db" "select count(*) from rollouts")
awk -v t0="$start" -v t1="$end" -v n="$total" -v s="$status" 'BEGIN {
	dt = t1 - t0
	printf "grid: %d rollouts (271 configs x %d) in %.2f s = %.0f rollouts/s (exit %d)\n", n, n / 271, dt, n / dt, s
	printf "target >= 1000 rollouts/s on one core: %s\n", (n / dt >= 1000) ? "met" : "NOT met"
}'
ls -l "$out/grid.db" | awk '{ printf "store size: %.1f MB, %.1f KB per rollout\n", $5 / 1e6, $5 / 1e3 / '"$total"' }'
