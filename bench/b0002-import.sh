#!/bin/sh
# Import speed: a 10,000-row JSONL file in the released dataset's layout
# (an export of a ref/synthetic run over the whole grid) imported into a
# fresh store with replay in a fresh world, labelling and storing, as
# `peerpres import` does for the study's data. Prints transcripts per
# second and MB per second of input: with the default threads (one per
# core; a store the import creates is taken for the import alone: no
# write-ahead log) three times, their median set against the disk; with
# one (--concurrency 1); with the log kept (--shared, as for an
# import into a store that exists), then the same file again into that
# store (every row a duplicate); the CPU time used, the load
# of the machine while it ran (other processes share the cores: compare
# runs made under the same load), and the same figures for reading the
# file alone (cat, from the page cache) and past the page cache
# (O_DIRECT, the disk's own speed) as yardsticks. First it prints the time
# and peak memory of the export that makes the file. Then the same for
# ROWS rows cycling through the study's own transcripts
# (../shared/upstream-examples, or SHARED=dir; left out when absent),
# five times longer than ours, against the disk's speed on that file,
# by default and with --shared, three times each in turn (medians).
#
# BASE=path/to/an/older/peerpres also times that program on the same file,
# each program three times in turn, and prints the medians and their
# ratio: the way to measure a change on a machine whose load moves.
cd "$(dirname "$0")/.." || exit 2
ROWS=${ROWS:-10000}
PROG=${PROG:-./peerpres}
out=bench/out
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package time)"; exit 1; }
rm -f "$out"/import-src.db* "$out"/import.db*
# 37 rollouts of each of the 271 configs: 10,027 distinct transcripts.
./peerpres run --db "$out/import-src.db" --model ref/synthetic -n 37 2>/dev/null || exit 1
# The export streams config by config: its peak memory should not grow
# with the store.
/usr/bin/time -f "%e %M" -o "$out/export.time" \
	./peerpres export --db "$out/import-src.db" --format jsonl -o "$out/export.jsonl" 2>/dev/null
head -n "$ROWS" "$out/export.jsonl" >"$out/import.jsonl"
rows=$(wc -l <"$out/import.jsonl")
bytes=$(wc -c <"$out/import.jsonl")
read -r ewall erss <"$out/export.time"
echo "export: $(wc -l <"$out/export.jsonl") rollouts as jsonl in $ewall s, peak RSS $((erss / 1024)) MB"
rm -f "$out/export.jsonl"

# cpu_of FILE: "user+sys" seconds of a `times` output (children's line).
cpu_of() {
	awk 'NR == 2 { n = split($0, f, /[ms ]+/); print f[1] * 60 + f[2] + f[3] * 60 + f[4] }' "$1"
}

# import LABEL ARGS...: one timed import into a fresh store.
import() {
	label=$1; shift
	rm -f "$out"/import.db*
	# The pages of the file just written (the input, the last store) are
	# written back first: otherwise the first import timed after them
	# shares the disk and a core with that writeback.
	sync
	start=$(date +%s.%N)
	OUT=$out IN=${input:-$out/import.jsonl} P=$PROG sh -c '"$P" import --db "$OUT/import.db" "$@" "$IN" 2>"$OUT/import.log"
		s=$?; times >"$OUT/import.times"; exit $s' sh "$@"
	status=$?
	end=$(date +%s.%N)
	stored=$(sqlite3 "$out/import.db" "select count(*) from rollouts")
	load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
	tail -1 "$out/import.log"
	awk -v t0="$start" -v t1="$end" -v n="$rows" -v b="$bytes" -v k="$stored" -v s="$status" \
	    -v cpu="$(cpu_of "$out/import.times")" -v l="$label" -v load="$load" 'BEGIN {
		dt = t1 - t0
		printf "import (%s): %d rows, %.1f MB, %d stored, in %.2f s = %.0f transcripts/s, %.2f MB/s, %.1f s CPU, load %s (exit %d)\n",
			l, n, b / 1e6, k, dt, n / dt, b / 1e6 / dt, cpu, load, s
	}'
	echo "$end $start" >"$out/import.wall"
}

# median: the median of the numbers on standard input, one a line.
median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cstart=$(date +%s.%N)
cat "$out/import.jsonl" >/dev/null
cend=$(date +%s.%N)
# Three times: the first import after the export is often the slowest
# (1.5 s against 1.1 s in one run), and one run says little here.
: >"$out/short.walls"
for round in 1 2 3; do
	import "default threads"
	read -r end start <"$out/import.wall"
	echo "$end $start" | awk '{ print $1 - $2 }' >>"$out/short.walls"
done
dstart=0 dend=$(median <"$out/short.walls")
awk -v d="$dend" -v b="$bytes" -v n="$rows" 'BEGIN {
	printf "import (default threads), median of 3: %.2f s = %.0f transcripts/s, %.2f MB/s\n", d, n / d, b / 1e6 / d
}'
import "one thread" --concurrency 1
import "default threads, --shared" --shared
# The same file again into the store it just filled: every row is a
# duplicate, found before its replay (an import resumed or run twice).
start=$(date +%s.%N)
$PROG import --db "$out/import.db" "$out/import.jsonl" 2>"$out/import.log"
end=$(date +%s.%N)
tail -1 "$out/import.log"
awk -v t0="$start" -v t1="$end" -v n="$rows" -v b="$bytes" 'BEGIN {
	printf "import again (every row already stored): %.2f s = %.0f transcripts/s, %.2f MB/s\n",
		t1 - t0, n / (t1 - t0), b / 1e6 / (t1 - t0)
}'
# The disk's own speed: the file read past the page cache (O_DIRECT), as
# a first import of the study's data reads it. Some file systems (tmpfs)
# refuse O_DIRECT; the line is then left out.
disk=$(dd if="$out/import.jsonl" of=/dev/null bs=4M iflag=direct 2>&1 |
	sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
awk -v t0="$cstart" -v t1="$cend" -v w0="$dstart" -v w1="$dend" -v b="$bytes" -v d="$disk" 'BEGIN {
	dr = t1 - t0; if (dr <= 0) dr = 1e-6
	printf "reading the file alone (page cache): %.0f MB/s; import (default threads) is %.0fx slower\n", b / 1e6 / dr, (w1 - w0) / dr
	if (d > 0)
		printf "reading the file from the disk (O_DIRECT): %.0f MB/s; import (default threads) is %.1fx slower (an order of magnitude: 10x)\n",
			b / 1e6 / d, (w1 - w0) / d
}'

# The study's own transcripts (../shared/upstream-examples, read here and
# never kept in the project) are about five times the size of the file
# above, and labelling reads all the agent wrote: the same figures for
# ROWS rows cycling through them, each a transcript_json string with its
# own transcript id (the dataset's layout), so none is a duplicate.
shared=${SHARED:-../shared/upstream-examples}
if [ -d "$shared" ]; then
	find "$shared" -name '*.json' | sort >"$out/examples.list"
	# One escaped line per example: backslash, quote and tab escaped,
	# lines joined by \n (JSON text holds no other control character).
	while read -r f; do
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' "$f" |
			awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 } END { print "" }'
	done <"$out/examples.list" >"$out/examples.esc"
	awk -v rows="$ROWS" '{ doc[NR] = $0 } END {
		for (i = 0; i < rows; i++)
			printf "{\"transcript_id\":\"bench-%d\",\"transcript_json\":\"%s\"}\n", i, doc[i % NR + 1]
	}' "$out/examples.esc" >"$out/import-study.jsonl"
	rm -f "$out/examples.list" "$out/examples.esc"
	input=$out/import-study.jsonl
	rows=$(wc -l <"$input")
	bytes=$(wc -c <"$input")
	echo "the study's examples, cycled: $rows rows, $(awk -v b="$bytes" -v n="$rows" 'BEGIN { printf "%.1f MB, %.0f KB a row", b / 1e6, b / n / 1e3 }')"
	study_bytes=$bytes
	# By default (a new store, taken alone) and with the log kept (as
	# into a store that exists), three times each in turn: one run of
	# each swung by 15% either way with the machine's other work.
	: >"$out/study.alone"
	: >"$out/study.shared"
	for round in 1 2 3; do
		for how in alone shared; do
			if [ $how = alone ]; then import "study's examples"
			else import "study's examples, --shared" --shared; fi
			read -r end start <"$out/import.wall"
			echo "$end $start" | awk '{ print $1 - $2 }' >>"$out/study.$how"
		done
	done
	set -- "$(median <"$out/study.alone")" "$(median <"$out/study.shared")"
	dstart=0 dend=$1 xstart=0 xend=$2
	awk -v d="$1" -v x="$2" -v b="$bytes" -v n="$rows" 'BEGIN {
		printf "study'"'"'s examples, medians of 3: %.2f s = %.0f transcripts/s, %.1f MB/s by default; %.2f s = %.1f MB/s with --shared (%.2fx the time)\n",
			d, n / d, b / 1e6 / d, x, b / 1e6 / x, x / d
	}'
	disk=$(dd if="$input" of=/dev/null bs=4M iflag=direct 2>&1 |
		sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
	rm -f "$input"
	input=
	rows=$(wc -l <"$out/import.jsonl")
	bytes=$(wc -c <"$out/import.jsonl")
	awk -v w0="$dstart" -v w1="$dend" -v x0="$xstart" -v x1="$xend" -v b="$study_bytes" -v d="$disk" 'BEGIN {
		if (d > 0)
			printf "reading that file from the disk (O_DIRECT): %.0f MB/s; import is %.1fx slower, %.1fx with --shared (an order of magnitude: 10x)\n",
				b / 1e6 / d, (w1 - w0) / d, (x1 - x0) / d
	}'
else
	echo "the study's examples: $shared absent, left out"
fi

# before/after: three alternated imports per program, default threads.
if [ -n "$BASE" ]; then
	: >"$out/ab.times"
	: >"$out/ab.log"
	for round in 1 2 3; do
		for who in base new; do
			if [ $who = base ]; then PROG=$BASE; else PROG=./peerpres; fi
			import "$who" >>"$out/ab.log"
			read -r end start <"$out/import.wall"
			echo "$who $end $start $(cpu_of "$out/import.times")" >>"$out/ab.times"
		done
	done
	awk -v n="$rows" -v b="$bytes" '{ t[$1] = t[$1] " " ($2 - $3); c[$1] = c[$1] " " $4 }
	function median(s,   a, k) { k = split(s, a, " "); asorted(a, k); return a[int((k + 1) / 2)] }
	function asorted(a, k,   i, j, x) { for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
	END {
		mb = median(t["base"]); mn = median(t["new"]); cb = median(c["base"]); cn = median(c["new"])
		printf "before/after (median of 3 alternated): base %.2f s = %.0f transcripts/s, %.1f MB/s, %.1f s CPU; new %.2f s = %.0f transcripts/s, %.1f MB/s, %.1f s CPU; new/base speed %.2fx, CPU %.2fx\n",
			mb, n / mb, b / 1e6 / mb, cb, mn, n / mn, b / 1e6 / mn, cn, mb / mn, cn / cb
	}' "$out/ab.times"
fi
