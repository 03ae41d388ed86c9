#!/bin/sh
# The floors under two aims, measured with the libraries alone (no
# peerpres code on the measured path), beside the aims they bound:
#
# - CPU per model call of `run` (aim: under 100 us at 1,000 in flight):
#   bench/floor_curl.c drives the mock server the way the engine does,
#   at 1,000 in flight and the same latency as b0003, and does nothing
#   else; bench/floor_sqlite.c stores again, from memory, the rows of
#   rollouts that a run through the mock stored (their messages, tool
#   calls, labels and response-cache entries), 4 rollouts a transaction
#   as the run's writer commits them at that load.
# - import speed (aim: disk speed, order of magnitude): floor_sqlite
#   stores the rows of 10,000 imported transcripts, 256 a transaction as
#   the import does, written as an import into a new store writes them
#   (a rollback journal, the store taken alone) and, for comparison, with
#   the write-ahead log (an import into a store that exists, or --shared).
#   One writer can go no faster than that, however many
#   cores parse and replay; the disk's read speed (O_DIRECT) and the
#   import's own time on the same file, in the same run, are printed
#   beside it.
#
# The machine is shared: compare the floors with b0002 and b0003 run
# under the same load.
cd "$(dirname "$0")/.." || exit 2
LATENCY_MS=${LATENCY_MS:-500}
CONCURRENCY=${CONCURRENCY:-1000}
REQUESTS=${REQUESTS:-20000}
PORT=${PORT:-18451}
out=bench/out
mkdir -p "$out"

# say: copies its input to standard output and to the terminal's stream
# (stderr), appending, so that both can go to one file without one
# overwriting the other (`tee /dev/stderr` reopens the file at its start).
say() {
	while IFS= read -r line; do
		printf '%s\n' "$line"
		printf '%s\n' "$line" >&2
	done
}

cc -O2 -o "$out/floor_curl" bench/floor_curl.c $(pkg-config --cflags --libs libcurl) || exit 1
cc -O2 -o "$out/floor_sqlite" bench/floor_sqlite.c $(pkg-config --cflags --libs sqlite3) || exit 1

./peerpres mock-server --port "$PORT" --latency-ms "$LATENCY_MS" >"$out/floor-mock.log" 2>&1 &
mock=$!
./peerpres mock-server --port "$((PORT + 1))" --latency-ms 0 >"$out/floor-mock-fast.log" 2>&1 &
fast=$!
trap 'kill $mock $fast 2>/dev/null' EXIT INT TERM
sleep 0.5

# libcurl alone, per request.
curl_us=$("$out/floor_curl" "http://127.0.0.1:$PORT/v1/chat/completions" "$CONCURRENCY" "$REQUESTS" |
	say | sed -n 's/.*: \([0-9.]*\) us per request/\1/p') || exit 1

# SQLite alone, per model call of a run through the mock.
rm -f "$out"/floor-run.db*
./peerpres run --model openai/gpt-4.1 --base-url "http://127.0.0.1:$((PORT + 1))/v1" \
	--db "$out/floor-run.db" -n 19 --limit 5000 --concurrency 100 --no-judge 2>/dev/null || exit 1
calls=$(sqlite3 "$out/floor-run.db" 'select sum(n_model_calls) * 1.0 / count(*) from rollouts')
sql_run=$("$out/floor_sqlite" "$out/floor-run.db" "$out/floor-run-copy.db" 4 | say |
	sed -n 's/.*: \([0-9.]*\) us per rollout.*/\1/p') || exit 1
awk -v c="$curl_us" -v s="$sql_run" -v k="$calls" 'BEGIN {
	printf "run: %.1f model calls per rollout; SQLite alone %.1f us per call\n", k, s / k
	printf "run floor: libcurl %.1f + SQLite %.1f = %.1f us per call, before any work of our own (aim: under 100 us)\n",
		c, s / k, c + s / k
}'

# SQLite alone, per imported transcript.
rm -f "$out"/floor-src.db* "$out"/floor-import.db*
./peerpres run --db "$out/floor-src.db" --model ref/synthetic -n 37 2>/dev/null || exit 1
./peerpres export --db "$out/floor-src.db" --format jsonl 2>/dev/null | head -n 10000 >"$out/floor.jsonl"
istart=$(date +%s.%N)
./peerpres import --db "$out/floor-import.db" "$out/floor.jsonl" 2>/dev/null || exit 1
iend=$(date +%s.%N)
rows=$(wc -l <"$out/floor.jsonl")
bytes=$(wc -c <"$out/floor.jsonl")
sql_import=$("$out/floor_sqlite" "$out/floor-import.db" "$out/floor-import-copy.db" 256 alone | say |
	sed -n 's/.*: \([0-9.]*\) us per rollout.*/\1/p') || exit 1
"$out/floor_sqlite" "$out/floor-import.db" "$out/floor-import-copy.db" 256 wal | say >/dev/null || exit 1
disk=$(dd if="$out/floor.jsonl" of=/dev/null bs=4M iflag=direct 2>&1 |
	sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
awk -v s="$sql_import" -v n="$rows" -v b="$bytes" -v d="$disk" -v i0="$istart" -v i1="$iend" 'BEGIN {
	per_row = b / n
	printf "import floor: one writer storing %.0f us per transcript can store at most %.0f transcripts/s = %.0f MB/s (rows of %.1f KB)\n",
		s, 1e6 / s, 1e6 / s * per_row / 1e6, per_row / 1e3
	imp = (i1 - i0) * 1e6 / n
	printf "import itself (default threads, same run): %.0f us per transcript = %.0f MB/s, %.2fx the floor\n",
		imp, b / 1e6 / (i1 - i0), imp / s
	if (d > 0)
		printf "disk read (O_DIRECT): %.0f MB/s; within an order of magnitude means at least %.0f MB/s\n",
			b / 1e6 / d, b / 1e6 / d / 10
}'
rm -f "$out"/floor-*.db* "$out/floor.jsonl"
