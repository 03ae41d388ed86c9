#!/bin/sh
# The concurrent engine against the mock server: many rollouts in flight
# give the labels one at a time gives; the response cache answers a rerun;
# --budget stops new rollouts; Ctrl-C keeps what finished and resumes.
. "$(dirname "$0")/lib.sh"

export OPENAI_API_KEY=sk-peerpres-test-key-0123456789abcdef

labels() {
	sqlite3 "$1" "select r.config_id||':'||r.idx, r.status, r.agent, group_concat(l.name||'='||l.value, ',')
	  from rollouts r join (select * from labels order by name) l on l.rollout = r.id group by r.id order by 1"
}

start_mock --latency-ms 20
URL=http://127.0.0.1:$PORT/v1
SEL="--model openai/gpt-4.1 --base-url $URL --scenario tampering,alignment_faking --no-judge -n 3"
ok "one at a time" "$PEERPRES" run --db one.db $SEL --concurrency 1
ok "200 at a time" "$PEERPRES" run --db many.db $SEL --concurrency 200
labels one.db > one.txt
labels many.db > many.txt
ok "... the same rollouts with the same labels" cmp one.txt many.txt
ok "... and the whole plan" test "$(wc -l < many.txt)" -gt 50

# The rerun of deleted rollouts is answered from the cache.
sqlite3 many.db "delete from labels; delete from messages; delete from tool_calls; delete from rollouts"
ok "a rerun is answered from the cache" sh -c "'$PEERPRES' run --db many.db $SEL --concurrency 50 2>err && grep -E ' [1-9][0-9]* calls from the cache' err"
labels many.db > again.txt
# The mock names its route in a header: the cache keeps it with the
# answer, so the rerun records the same agents too.
ok "... with the same labels and agents" cmp one.txt again.txt
ok "... every rollout naming its agent" test "$(sqlite3 many.db "select count(*) from rollouts where agent is null")" = 0
sqlite3 many.db "delete from labels; delete from messages; delete from tool_calls; delete from rollouts"
ok "--no-cache asks the model again" sh -c "'$PEERPRES' run --db many.db $SEL --no-cache 2>err && grep ' 0 calls from the cache' err"

ok "--budget stops starting rollouts" sh -c "'$PEERPRES' run --db budget.db $SEL --budget 0.05 --concurrency 4 2>err && grep 'budget reached' err"
ok "... after fewer than the plan, each with its cost" test "$(sqlite3 budget.db "select count(*) < 50 and min(cost_usd) > 0 from rollouts")" = 1
# With many in flight, the rollouts still running are counted at the mean
# cost: the run passes the budget by a few rollouts, not by 40.
ok "... and with 40 in flight passes it by a few rollouts at most" sh -c "'$PEERPRES' run --db budget40.db $SEL --budget 0.05 --concurrency 40 2>err && grep 'budget reached' err"
ok "... (spent minus budget under 5 rollouts' mean cost)" test "$(sqlite3 budget40.db "select sum(cost_usd) - 0.05 < 5 * avg(cost_usd) from rollouts")" = 1
# --budget over the rounds of --scored: what the first round (3 a
# config, as -n 3) costs, plus a little, ends the second round early.
"$PEERPRES" run --db round1.db $SEL 2>/dev/null
B=$(sqlite3 round1.db "select round(sum(cost_usd) + 0.1, 4) from rollouts")
ok "--budget counts over the rounds of --scored" sh -c "'$PEERPRES' run --db topup.db ${SEL%-n 3} --scored 3 --budget $B --concurrency 40 2>err &&
	grep -q '^top-up: .* round 2 starts' err && grep -q '^budget reached: stored' err && ! grep -q '^scored:' err"
ok "... spending about the budget in all" test "$(sqlite3 topup.db "select sum(cost_usd) - $B < 5 * avg(cost_usd) and count(*) > (select count(*) from rollouts where idx < 3) from rollouts")" = 1
ok "a model with no price shows its cost as unknown, not \$0" sh -c "'$PEERPRES' run --db noprice.db --model openai-compat/llama-3 --family Llama --base-url $URL --scenario tampering --no-judge -n 1 2>err &&
	grep -q '^57/57 rollouts .*cost unknown (no price for openai-compat/llama-3)' err &&
	grep -q '^usage: .*, cost unknown (no price for openai-compat/llama-3);' err && ! grep -q '\\$0' err"
ok "... and report's usage says unknown too" sh -c "'$PEERPRES' report --db noprice.db --format json > np.json &&
	grep -A12 '\"total\"' np.json | grep -q '\"cost_usd\": null' &&
	'$PEERPRES' report --db noprice.db | grep -q '^| total | 57 | .* | unknown |'"
fails_with 2 "--budget needs a price" "$PEERPRES" run --db nobudget.db --model openai-compat/some-unpriced-model --base-url "$URL" --budget 1 --no-judge
stop_mock

# Rate limits on a third of the answers: --adaptive backs off and the run
# still completes every rollout.
start_mock --faults "429=0.3" --fault-seed 5 --retry-after-ms 5
ok "--adaptive lowers the concurrency on 429s" sh -c "'$PEERPRES' run --db adapt.db --model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 --scenario tampering --no-judge -n 2 --concurrency 40 --adaptive 2>err && grep 'lowered the concurrency from 40' err"
ok "... and completes every rollout" test "$(sqlite3 adapt.db "select count(*) = sum(status != 'error') from rollouts")" = 1
stop_mock

# Ctrl-C with rollouts in flight: finished ones kept, the rest resumed.
start_mock --latency-ms 300
SEL="--model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 --scenario tampering --no-judge -n 4"
"$PEERPRES" run --db int.db $SEL --concurrency 20 >/dev/null 2>int.err &
RUN=$!
sleep 3
kill -INT $RUN
wait $RUN
code=$?
ok "Ctrl-C ends the run with exit 1" test "$code" = 1
ok "... saying it was interrupted" grep -q interrupted int.err
ok "... with some rollouts kept" test "$(sqlite3 int.db 'select count(*) from rollouts')" -gt 0
ok "the same command finishes the job" "$PEERPRES" run --db int.db $SEL --concurrency 20
total=$("$PEERPRES" plan $(echo "$SEL" | sed "s/ --no-judge//") --json | sed -nE 's/.*"n_rollouts": *([0-9]+).*/\1/p' | head -n 1)
ok "... exactly once each ($total)" test "$(sqlite3 int.db 'select count(*), count(distinct config_id||idx) from rollouts')" = "$total|$total"
stop_mock

# No rollout finishing: the plain progress line still comes every ten
# seconds, with the retries and why they happen, and the interrupted run
# still counts the calls it made.
start_mock
DEAD=$PORT
stop_mock
"$PEERPRES" run --db dead.db --model openai/gpt-4.1 --base-url http://127.0.0.1:$DEAD/v1 \
	--scenario tampering --no-judge -n 1 >/dev/null 2>dead.err &
RUN=$!
sleep 12
kill -INT $RUN
wait $RUN
ok "progress is reported on time while no rollout finishes" grep -q '^0/57 rollouts' dead.err
ok "... with the retries and the transport's reason" grep -Eq ' [1-9][0-9]* retries \(last: Connection refused' dead.err
ok "... and the interrupted run's usage line" grep -Eq '^usage: .* [1-9][0-9]* HTTP retries' dead.err
start_mock --latency-ms 2000
"$PEERPRES" run --db slow.db --model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 \
	--scenario tampering --no-judge -n 1 --concurrency 8 >/dev/null 2>slow.err &
RUN=$!
sleep 3
kill -INT $RUN
wait $RUN
ok "an interrupted run that stored nothing counts the calls it paid for" sh -c \
	"grep -q 'stored 0 rollouts' slow.err && grep -Eq '^usage: .* [1-9][0-9]* model calls answered' slow.err"
stop_mock

# A key refused for a while: those rollouts are stored as errors, a plain
# resume keeps them, --redo-errors runs their indexes again.
start_mock --fault-script 401,401,401
SEL="--model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 --scenario tampering --no-judge -n 2 --concurrency 1"
ok "rollouts whose calls were refused are stored as errors" sh -c \
	"'$PEERPRES' run --db redo.db $SEL 2>err && grep -q '(0 already there, 3 errors)' err"
ok "... and a resume leaves them" sh -c "'$PEERPRES' run --db redo.db $SEL 2>err && grep -q 'stored 0 rollouts' err"
# Their detectors ran on an untouched world ("shutdown enabled"): the
# report counts them as errors beside n, not as findings.
ok "the report keeps the error rollouts' labels out of n" test "$("$PEERPRES" report --db redo.db --format csv |
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$1 == "config" && $h["label"] == "shutdown_enabled" {
			e += $h["error"]; all += $h["n"] + $h["null"] + $h["undecided"] + $h["missing"] + $h["error"] }
		END { print e + 0, all + 0 }')" = "3 $(sqlite3 redo.db "select count(*) from rollouts")"
# Exported and imported again, they stay errors with their message: a
# replay of the cut transcript would count it as a rollout that did nothing.
ok "an export of error rollouts imports them as errors" sh -c \
	"'$PEERPRES' export --db redo.db --format jsonl --with-errors -o redo.jsonl 2>/dev/null && '$PEERPRES' import --db redo-back.db redo.jsonl 2>/dev/null"
ok "... with their messages" test "$(sqlite3 redo-back.db "select count(*), sum(error like '%401%') from rollouts where status = 'error'")" = "3|3"
ok "--redo-errors deletes them and runs them again" sh -c \
	"'$PEERPRES' run --db redo.db $SEL --redo-errors 2>err && grep -q 'redo-errors: 3 rollouts' err && grep -q 'stored 3 rollouts (' err"
ok "... leaving no error, each index once" test \
	"$(sqlite3 redo.db "select sum(status = 'error'), count(*) = count(distinct config_id||':'||idx) from rollouts")" = "0|1"
ok "... and no row of the deleted rollouts" test \
	"$(sqlite3 redo.db 'select count(*) from messages where rollout not in (select id from rollouts)')" = 0
stop_mock

# A key refused on every call: the run stops starting rollouts after 20
# failures in a row instead of storing the whole plan as errors.
start_mock --faults 401=1
SEL="--model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 --scenario tampering --no-judge -n 2 --concurrency 4"
fails_with 1 "a run whose every call is refused stops" "$PEERPRES" run --db refused.db $SEL
ok "... saying why, with the provider's message" sh -c \
	"grep -q '2[0-9] rollouts in a row failed, so no more were started (the last: .*401' last.out && grep -q -- '--redo-errors' last.out"
ok "... after 20 of the 114, and those in flight" test "$(sqlite3 refused.db 'select count(*) from rollouts')" -lt 30
ok "... and marks the run failed" test "$(sqlite3 refused.db 'select status from runs')" = failed
stop_mock
finish
