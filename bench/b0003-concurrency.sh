#!/bin/sh
# The HTTP engine against the mock server at a fixed latency, at 10, 100
# and 1,000 rollouts in flight. For each level it prints:
#   efficiency = achieved rollouts/s / (concurrency / (calls per rollout x latency))
#   CPU per model call (the runner's user + system time / calls)
#   peak memory per in-flight rollout: (peak RSS - peak RSS of the same
#   rollouts run one at a time) / (concurrency - 1). The one-at-a-time
#   run goes to a second mock server without latency; it holds all that
#   does not grow with the rollouts in flight (the plan, SQLite's page
#   cache over a store of the same size, the compiled detectors the
#   configs share), so only what each rollout in flight costs is left
#   the mean time a rollout took per call, against the server's latency:
#   the engine's own delay, apart from the ramp-up and the drain of the
#   last rollouts, which also count in the efficiency
#   the share of the run's slot time (wall x concurrency) that rollouts
#   filled: what the ramp-up and the drain left empty. Efficiency is
#   about this share x latency / time per call
# Aims: efficiency >= 0.95 at 1,000, < 100 us CPU per call, < 200 KB per
# rollout. Each level runs about 50 rollout lifetimes (GENERATIONS): the
# drain of a run's last rollouts (about 2.3 s at 1,000 in flight, since
# routes run 3 to 7 calls) is a fixed cost of any finite run, so the
# efficiency of the engine in a long run is what the aim is about; at 20
# lifetimes the drain alone costs about 5%. LEVELS="1000" runs one level.
cd "$(dirname "$0")/.." || exit 2
LATENCY_MS=${LATENCY_MS:-500}
GENERATIONS=${GENERATIONS:-50}
LEVELS=${LEVELS:-10 100 1000}
PORT=${PORT:-18431}
out=bench/out
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package time)"; exit 1; }

./peerpres mock-server --port "$PORT" --latency-ms "$LATENCY_MS" >"$out/mock.log" 2>&1 &
mock=$!
./peerpres mock-server --port "$((PORT + 1))" --latency-ms 0 >"$out/mock-fast.log" 2>&1 &
fast=$!
trap 'kill $mock $fast 2>/dev/null' EXIT INT TERM
sleep 0.5

# run PORT CONCURRENCY N_PER_CONFIG LIMIT: prints "wall user sys maxrss_kb
# rollouts calls ms_per_call rollout_ms"
run() {
	db="$out/conc-$2.db"
	rm -f "$db" "$db-wal" "$db-shm"
	/usr/bin/time -f "%e %U %S %M" -o "$out/time-$2" \
		./peerpres run --model openai/gpt-4.1 --base-url "http://127.0.0.1:$1/v1" \
		--db "$db" -n "$3" --limit "$4" --concurrency "$2" --no-judge 2>/dev/null
	printf '%s %s\n' "$(cat "$out/time-$2")" \
		"$(sqlite3 "$db" 'select count(*), sum(n_model_calls),
		sum(duration_ms) * 1.0 / sum(n_model_calls), sum(duration_ms)
		from rollouts' | tr '|' ' ')"
}

for c in $LEVELS; do
	limit=$((c * GENERATIONS))
	n=$(( (limit + 270) / 271 ))
	base_rss=$(run "$((PORT + 1))" 1 "$n" "$limit" | awk '{ print $4 }')
	run "$PORT" "$c" "$n" "$limit" | awk -v c="$c" -v lat="$LATENCY_MS" -v base="$base_rss" '{
		wall = $1; cpu = $2 + $3; rss = $4; rollouts = $5; calls = $6; per_call = $7
		filled = $8 / 1000 / (wall * c)
		per = calls / rollouts
		ideal = c / (per * lat / 1000)
		achieved = rollouts / wall
		printf "concurrency %4d: %5d rollouts, %.2f calls each, %.1f s: %.1f rollouts/s of %.1f ideal, efficiency %.3f; %.1f ms per call (latency %d), slots filled %.1f%%; %.0f us CPU per call; %.0f KB per in-flight rollout (peak RSS %.0f MB, %.0f MB one at a time)\n",
			c, rollouts, per, wall, achieved, ideal, achieved / ideal, per_call, lat, 100 * filled,
			cpu / calls * 1e6,
			(rss - base) / (c - 1), rss / 1024, base / 1024
	}'
done
