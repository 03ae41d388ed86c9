#!/bin/sh
# Import speed: a 10,000-row JSONL file in the released dataset's layout
# (an export of a ref/synthetic run over the whole grid) imported into a
# fresh store with replay in a fresh world, labelling and storing, as
# `peerpres import` does for the study's data. Prints transcripts per
# second and MB per second of input, and the same figures for reading
# the file alone (cat) as the disk-speed yardstick.
cd "$(dirname "$0")/.." || exit 2
ROWS=${ROWS:-10000}
out=bench/out
mkdir -p "$out"
rm -f "$out"/import-src.db* "$out"/import.db*
# 37 rollouts of each of the 271 configs: 10,027 distinct transcripts.
./peerpres run --db "$out/import-src.db" --model ref/synthetic -n 37 2>/dev/null || exit 1
./peerpres export --db "$out/import-src.db" --format jsonl 2>/dev/null | head -n "$ROWS" >"$out/import.jsonl"
rows=$(wc -l <"$out/import.jsonl")
bytes=$(wc -c <"$out/import.jsonl")
start=$(date +%s.%N)
cat "$out/import.jsonl" >/dev/null
mid=$(date +%s.%N)
./peerpres import --db "$out/import.db" "$out/import.jsonl" 2>"$out/import.log"
status=$?
end=$(date +%s.%N)
stored=$(sqlite3 "$out/import.db" "select count(*) from rollouts")
tail -1 "$out/import.log"
awk -v t0="$start" -v t1="$mid" -v t2="$end" -v n="$rows" -v b="$bytes" -v k="$stored" -v s="$status" 'BEGIN {
	dt = t2 - t1; dr = t1 - t0; if (dr <= 0) dr = 1e-6
	slower = dt / dr
	printf "import: %d rows, %.1f MB, %d stored, in %.2f s = %.0f transcripts/s, %.2f MB/s (exit %d)\n", n, b / 1e6, k, dt, n / dt, b / 1e6 / dt, s
	printf "reading the file alone: %.0f MB/s; import is %.0fx slower\n", b / 1e6 / dr, slower
}'
