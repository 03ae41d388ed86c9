#!/bin/sh
# run stores exactly the requested rollouts per config, resumes after
# SIGKILL without losing or duplicating any, and never pools configs.
. "$(dirname "$0")/lib.sh"

rollouts() { sqlite3 "$1" "select count(*) from rollouts"; }
# Configs whose indexes are not exactly 0..n-1.
bad_configs() {
	sqlite3 "$1" "select count(*) from (select config_id, count(*) c, count(distinct idx) d, min(idx) lo, max(idx) hi from rollouts group by config_id) where c != $2 or d != $2 or lo != 0 or hi != $2 - 1"
}

ok "run without --model says it uses the reference agents" sh -c \
	'"$PEERPRES" run --db a.db -n 2 --scenario exfiltration_deletion 2>err && grep -q "ref/synthetic" err'
ok "run stores n rollouts per config" test "$(rollouts a.db)" = 38
ok "run again does nothing more" sh -c '"$PEERPRES" run --db a.db -n 2 --scenario exfiltration_deletion 2>&1 | grep -q "stored 0 rollouts (38 already there"'
"$PEERPRES" run --db a.db -n 3 --scenario exfiltration_deletion 2>/dev/null
ok "a larger -n tops up" test "$(rollouts a.db)" = 57
ok "indexes are exactly 0..n-1 per config" test "$(bad_configs a.db 3)" = 0
ok "--limit stops early and the rest resumes" sh -c '
	"$PEERPRES" run --db l.db -n 2 --scenario tampering --limit 10 2>/dev/null; test "$(sqlite3 l.db "select count(*) from rollouts")" = 10 &&
	"$PEERPRES" run --db l.db -n 2 --scenario tampering 2>/dev/null; test "$(sqlite3 l.db "select count(*) from rollouts")" = 114'
# The progress line in a log: one at the end, counting what this run
# set out to do. Under --limit the plan's total is not where it stops.
ok "a run under --limit ends its progress with the limit reached" sh -c '
	"$PEERPRES" run --db p.db -n 2 --scenario tampering --limit 7 --no-judge 2>err &&
	grep -q "^7/114 rollouts (--limit 7: 0 to go) .* ETA 0 s$" err'
ok "... and so does its resume, counting what was there" sh -c '
	"$PEERPRES" run --db p.db -n 2 --scenario tampering --limit 7 --no-judge 2>err &&
	grep -q "^14/114 rollouts (--limit 7: 0 to go) " err'
ok "... and the run that finishes the plan says so" sh -c '
	"$PEERPRES" run --db p.db -n 2 --scenario tampering --no-judge 2>err &&
	grep -q "^114/114 rollouts  .* ETA 0 s$" err'
# What was there is counted over the whole plan, not only the configs a
# run stopped by --limit (or Ctrl-C) reached.
ok "a topped-up run under --limit counts all that was there" sh -c '
	"$PEERPRES" run --db w.db -n 1 --scenario tampering --no-judge 2>/dev/null &&
	"$PEERPRES" run --db w.db -n 2 --scenario tampering --limit 5 --no-judge 2>err &&
	grep -q "^done: stored 5 rollouts (57 already there, 0 errors)" err &&
	grep -q "^62/114 rollouts (--limit 5: 0 to go) " err'
ok "another model never pools into the same configs" sh -c '
	"$PEERPRES" run --db a.db -n 3 --scenario exfiltration_deletion --model ref/compliant 2>/dev/null &&
	test "$(sqlite3 a.db "select count(distinct config_id) from rollouts")" = 38'
ok "the default store is peerpres.db" sh -c '"$PEERPRES" run -n 1 --scenario exfiltration_transfer --subject self 2>/dev/null && test -s peerpres.db'

# Two runs of one command on one store at once: each keeps what the
# other stored first, both finish, and every rollout is there once.
two_at_once() {
	rm -f t.db*
	"$PEERPRES" run --db t.db -n 4 --scenario tampering --no-judge 2>ta.err &
	pid=$!
	"$PEERPRES" run --db t.db -n 4 --scenario tampering --no-judge 2>tb.err || return 1
	wait $pid || return 1
	stored=$(cat ta.err tb.err | sed -nE 's/^done: stored ([0-9]+) rollouts.*/\1/p' | awk '{ n += $1 } END { print n }')
	test "$stored" = 228 && test "$(rollouts t.db)" = 228 && test "$(bad_configs t.db 4)" = 0 &&
	accounted ta.err 228 && accounted tb.err 228
}
# Each run's summary accounts for the whole plan: what it stored, what
# was there (before it, or stored by the other when it got there), and
# what the other stored first; and its progress ends at the total.
accounted() {
	sed -nE 's/^done: stored ([0-9]+) rollouts \(([0-9]+) already there.*/\1 \2/p; s/^note: ([0-9]+) rollouts were stored first.*/\1/p' "$1" |
		tr ' ' '\n' | awk -v want="$2" '{ n += $1 } END { exit n != want }' &&
	grep -q "^$2/$2 rollouts " "$1"
}
# The same when a store holds part of the plan: a run that reaches a
# config after the other stored some of it counts those as there.
topped_up_at_once() {
	rm -f u.db*
	"$PEERPRES" run --db u.db -n 1 --scenario tampering --no-judge 2>/dev/null || return 1
	"$PEERPRES" run --db u.db -n 3 --scenario tampering --no-judge 2>ua.err &
	pid=$!
	"$PEERPRES" run --db u.db -n 3 --scenario tampering --no-judge 2>ub.err || return 1
	wait $pid || return 1
	accounted ua.err 171 && accounted ub.err 171 && test "$(rollouts u.db)" = 171
}
topped_up_thrice() { topped_up_at_once && topped_up_at_once && topped_up_at_once; }
three_times() { two_at_once && two_at_once && two_at_once; }
# Two runs creating one store together: the switch to WAL answered
# "database is locked" about once in thirty.
open_together() {
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		rm -f o.db*
		"$PEERPRES" run --db o.db -n 1 --scenario tampering --limit 1 --no-judge 2>oa.err &
		pid=$!
		"$PEERPRES" run --db o.db -n 1 --scenario tampering --limit 1 --no-judge 2>ob.err || { cat ob.err; return 1; }
		wait $pid || { cat oa.err; return 1; }
	done
}
ok "two runs creating one store at once both open it" open_together
ok "two runs of one command at once both finish, each rollout stored once" three_times
ok "two top-up runs at once each account for the whole plan" topped_up_thrice
# SIGKILL at several points; each restart must end with exact counts.
N=6
i=0
while [ $i -lt 4 ]; do
	"$PEERPRES" run --db k.db -n $N --scenario misrep_finance --scenario exfiltration_transfer >/dev/null 2>&1 &
	pid=$!
	sleep 0.$((3 + i * 2))
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	i=$((i + 1))
done
ok "after SIGKILLs the same command finishes the job" "$PEERPRES" run --db k.db -n $N --scenario misrep_finance --scenario exfiltration_transfer
ok "... with exactly n rollouts per config" test "$(bad_configs k.db $N)" = 0
ok "... and none lost" test "$(rollouts k.db)" = $((40 * N))
ok "... and the store is sound" sh -c 'sqlite3 k.db "pragma integrity_check" | grep -qx ok'
ok "every rollout has its labels and messages" test "$(sqlite3 k.db "select count(*) from rollouts r where not exists (select 1 from labels l where l.rollout = r.id) or not exists (select 1 from messages m where m.rollout = r.id)")" = 0
finish
