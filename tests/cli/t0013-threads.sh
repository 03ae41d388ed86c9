#!/bin/sh
# What runs on several threads, under ThreadSanitizer: the import's
# workers (a new store, the same rows again into it, where each worker
# reads the store through a connection of its own, and a shared store),
# the run's writer, and the judge's passes. The program is the
# ThreadSanitizer build ($PEERPRES_TSAN, which `make check` builds as
# build/tsan/peerpres); without it, or where ThreadSanitizer cannot
# start (some kernels lay memory out in a way it refuses), every step is
# skipped.
. "$(dirname "$0")/lib.sh"

TSAN_PROG=${PEERPRES_TSAN:-}
# A race makes the program exit 66 and print its report; both are checked.
export TSAN_OPTIONS="${TSAN_OPTIONS:-exitcode=66 halt_on_error=0}"
steps="run export import-new stored import-again skipped import-shared judge"

# clean NAME ERR CMD...: CMD succeeds and ThreadSanitizer said nothing.
clean() {
	name=$1 err=$2; shift 2
	ok "$name" sh -c '"$@" 2>"'"$err"'" && ! grep -q ThreadSanitizer "'"$err"'" ||
		{ cat "'"$err"'"; exit 1; }' sh "$@"
}

if [ -z "$TSAN_PROG" ] || [ ! -x "$TSAN_PROG" ]; then
	for s in $steps; do skip "$s: no ThreadSanitizer build (PEERPRES_TSAN)"; done
	finish
	exit 0
fi
if ! "$TSAN_PROG" --version >version.out 2>&1; then
	for s in $steps; do skip "$s: ThreadSanitizer does not start here: $(head -c 120 version.out)"; done
	finish
	exit 0
fi

clean "a run stores through its writer thread, race-free" run.err \
	"$TSAN_PROG" run --db src.db --model ref/synthetic -n 2
clean "its export" export.err "$TSAN_PROG" export --db src.db --format jsonl -o rows.jsonl
clean "an import with three threads into a new store" new.err \
	"$TSAN_PROG" import --concurrency 3 --db new.db rows.jsonl
ok "... stores every row" sh -c \
	'test "$(sqlite3 new.db "select count(*) from rollouts")" = "$(wc -l <rows.jsonl | tr -d " ")"'
clean "the same rows again, found stored before their replay by each thread" again.err \
	"$TSAN_PROG" import --concurrency 3 --db new.db rows.jsonl
ok "... every one of them already imported" sh -c \
	'grep -q "imported 0 transcript(s)" again.err &&
	 grep -q "$(wc -l <rows.jsonl | tr -d " ") already imported" again.err'
clean "an import with three threads into a store it shares" shared.err \
	"$TSAN_PROG" import --concurrency 3 --shared --db shared.db rows.jsonl
clean "the reference judge, four rollouts at a time" judge.err \
	"$TSAN_PROG" judge --db src.db --judge ref/judge --concurrency 4
finish
