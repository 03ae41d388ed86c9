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
ok "plan over the store says what it holds and what the run starts" sh -c '
	"$PEERPRES" plan --db a.db -n 4 --scenario exfiltration_deletion | grep -qx "in .a.db.: 57 of the plan.s 76 rollouts are stored: the run starts 19" &&
	"$PEERPRES" plan --db a.db -n 4 --scenario exfiltration_deletion --json | grep -q "\"first_round\": 19"'
ok "... and plan over no store makes none" sh -c '"$PEERPRES" plan --db none.db -n 4 --scenario exfiltration_deletion >/dev/null && test ! -e none.db'
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
# --scored N: rounds until every config has N scored rollouts, or all
# -n of its indexes (2N by default) stored. The reference population
# refuses now and then, so some configs need a second round.
# Configs that have neither N scored rollouts nor 2N rollouts, or whose
# indexes are not 0..k-1.
short_configs() {
	sqlite3 "$1" "select count(*) from (select config_id, sum(status = 'scored') s, count(*) c, min(idx) lo, max(idx) hi from rollouts group by config_id) where (s < $2 and c < $3) or lo != 0 or hi != c - 1"
}
ok "run --scored tops every config up to that many scored rollouts" sh -c '
	"$PEERPRES" run --db s.db --scenario tampering --scored 3 --no-judge 2>err &&
	grep -q "^top-up: [0-9]* of 57 configs have fewer than 3 scored rollouts; round 2 starts" err &&
	grep -q "^scored: 57 of 57 configs have 3 scored rollouts ([0-9] rounds)$" err'
ok "... with no gap in any config and none past 2N" test "$(short_configs s.db 3 6)" = 0
ok "... so some configs took more than three" test "$(sqlite3 s.db "select count(*) from (select config_id from rollouts group by 1 having count(*) > 3)")" -gt 0
ok "... and no config more than it needed" test "$(sqlite3 s.db "select count(*) from (select config_id, sum(status = 'scored') s from rollouts group by 1 having s > 3)")" = 0
ok "the same command again starts nothing" sh -c '
	"$PEERPRES" run --db s.db --scenario tampering --scored 3 --no-judge 2>err &&
	grep -q "^done: stored 0 rollouts" err && grep -q "(1 round)$" err'
"$PEERPRES" run --db s.db --scenario tampering --scored 4 --no-judge 2>/dev/null
ok "a larger target tops up again" test "$(short_configs s.db 4 8)" = 0
first=$("$PEERPRES" plan --db s.db --scenario tampering --scored 5 --json | sed -n 's/^ *"first_round": \([0-9]*\),*$/\1/p')
ok "plan --scored over a store counts what the first round will start" sh -c '
	"$PEERPRES" run --db s.db --scenario tampering --scored 5 --no-judge 2>err &&
	test -n "'"$first"'" && grep -m1 "^done: " err | grep -q "^done: stored '"$first"' rollouts"'
ok "... and says so in words" sh -c '"$PEERPRES" plan --db s.db --scenario tampering --scored 5 | grep -q "^in .s.db.: 57 of 57 configs have 5 scored rollouts, 0 are short: the first round starts 0 rollouts$"'
ok "--scored with -n stops a config at -n and says how many did" sh -c '
	"$PEERPRES" run --db c.db --scenario tampering --scored 3 -n 3 --no-judge 2>err &&
	n=$(sqlite3 c.db "select count(*) from (select config_id from rollouts group by 1 having sum(status = '"'scored'"') < 3)") &&
	test "$n" -gt 0 && grep -q "^scored: $((57 - n)) of 57 configs have 3 scored rollouts (1 round); $n have fewer with all 3 of their rollouts stored (-n)" err &&
	test "$(sqlite3 c.db "select count(*) from rollouts")" = 171'
# The first round starts 171 (3 a config): the limit ends the second.
ok "--limit counts over the rounds" sh -c '
	"$PEERPRES" run --db sl.db --scenario tampering --scored 3 --limit 175 --no-judge 2>err &&
	test "$(sqlite3 sl.db "select count(*) from rollouts")" = 175 &&
	grep -q "^top-up: --limit reached with [0-9]* of 57 configs short of 3 scored rollouts; the same command goes on$" err'
"$PEERPRES" run --db sl.db --scenario tampering --scored 3 --no-judge 2>/dev/null
ok "... and the same command without it finishes the top-up" test "$(short_configs sl.db 3 6)" = 0
# A rollout waiting for the judge counts: the judge may score it, and
# replacing it would pay twice. Made so by hand, as t0008 does.
"$PEERPRES" run --db pj.db --scenario tampering -n 2 --no-judge 2>/dev/null
sqlite3 pj.db "UPDATE rollouts SET status = 'pending_judge' WHERE status = 'scored' AND idx = 0"
pending=$(sqlite3 pj.db "select count(*) from rollouts where status = 'pending_judge'")
ok "--scored counts rollouts waiting for the judge, and says how many" sh -c '
	"$PEERPRES" run --db pj.db --scenario tampering --scored 2 --no-judge 2>err &&
	grep -q "; '"$pending"' rollouts counted wait for the judge" err'
ok "... and starts none for a config they complete" test "$(sqlite3 pj.db "select count(*) from (select config_id from rollouts group by 1 having sum(idx < 2 and status in ('scored', 'pending_judge')) = 2 and max(idx) >= 2)")" = 0
fails_with 2 "--scored refuses an -n below it" "$PEERPRES" run --db u.db --scored 3 -n 2
ok "... saying why" grep -q "with --scored 3, -n is the most rollouts a config may take: it must be at least 3, not 2" last.out
fails_with 2 "--scored refuses --test" "$PEERPRES" run --db u.db --scored 3 --test
ok "plan --scored counts the least a top-up starts and names the most" sh -c '
	"$PEERPRES" plan --scenario tampering --scored 3 --json >plan.json &&
	grep -q "\"n_rollouts\": 171" plan.json && grep -q "\"max_rollouts_per_config\": 6" plan.json'
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
