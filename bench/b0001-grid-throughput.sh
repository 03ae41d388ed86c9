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

# The report's memory as the store grows: it holds a summary of every
# rollout, so what matters is the memory per added rollout (the slope
# between the store above and the same store topped up to four times
# as many rollouts), not the peak at one size.
command -v /usr/bin/time >/dev/null || { echo "report memory: needs /usr/bin/time (Debian package time)"; exit 0; }
report_rss() {
	/usr/bin/time -f "%e %M" -o "$out/report.time" \
		./peerpres report --db "$out/grid.db" >/dev/null 2>&1 || return 1
	cat "$out/report.time"
}
set -- $(report_rss) "$total"
./peerpres run --db "$out/grid.db" -n $((N * 4)) >/dev/null 2>&1
total4=$(sqlite3 "$out/grid.db" "select count(*) from rollouts")
set -- "$@" $(report_rss) "$total4"
if [ $# -eq 6 ]; then
	awk -v t1="$1" -v m1="$2" -v n1="$3" -v t2="$4" -v m2="$5" -v n2="$6" 'BEGIN {
		printf "report: %d rollouts in %.2f s, peak RSS %.0f MB; %d rollouts in %.2f s, %.0f MB; %.2f KB per added rollout\n",
			n1, t1, m1 / 1024, n2, t2, m2 / 1024, (m2 - m1) / (n2 - n1)
	}'
else
	echo "report memory: a report failed"
fi
