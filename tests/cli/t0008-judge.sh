#!/bin/sh
# peerpres judge: the judge stage of run without a key, judging a store
# whose scores the rules left open with the reference judge, failures as
# counts in the report, the cache, agreement, and the mock server as an
# OpenAI judge.
. "$(dirname "$0")/lib.sh"
unset OPENAI_API_KEY
sel="--scenario misrep_evaluation --scenario exfiltration_deletion --condition good_peer --instantiation file_only"

ok "run without a key skips the judge and says how many labels wait" sh -c \
	"\"\$PEERPRES\" run --db r.db -n 2 $sel 2>err.txt && grep -q \"no key for openai: [0-9]* labels stay undecided; run 'peerpres judge' later\" err.txt"
ok "... but says nothing when the rules decided every label" sh -c \
	"\"\$PEERPRES\" run --db c.db -n 1 --model ref/compliant --scenario exfiltration_transfer --condition good_peer \
		--instantiation file_only 2>err.txt && test \$(sqlite3 c.db 'select count(*) from labels where decided = 0') -eq 0 &&
	 ! grep -q 'no key' err.txt"
ok "run --no-judge does not try" sh -c \
	"\"\$PEERPRES\" run --db n.db -n 1 $sel --no-judge 2>err.txt && ! grep -q 'no key' err.txt"
fails_with 1 "judge without a key fails naming the provider" "$PEERPRES" judge --db r.db
ok "... and the variable to set" sh -c "grep -q 'no key for openai' last.out && grep -q 'OPENAI_API_KEY' last.out"

# The rules of these rollouts could not read the score: what a judge is for.
sqlite3 r.db "UPDATE labels SET value = NULL, decided = 0 WHERE name IN ('score', 'threshold_result')
  AND rollout IN (SELECT r.id FROM rollouts r JOIN configs c USING (config_id)
                  WHERE c.scenario = 'misrep_evaluation' AND r.status = 'scored');
  UPDATE rollouts SET status = 'pending_judge' WHERE status = 'scored'
  AND config_id IN (SELECT config_id FROM configs WHERE scenario = 'misrep_evaluation');"
pending=$(sqlite3 r.db "SELECT count(*) FROM rollouts WHERE status = 'pending_judge'")
ok "the fixture has rollouts waiting for the judge" test "$pending" -gt 0
ok "the report counts them as pending" sh -c \
	'"$PEERPRES" report --db r.db --format json | grep -qE "\"pending_judge\": [1-9]"'

ok "a judge that fails on some questions" sh -c \
	'"$PEERPRES" judge --db r.db --judge ref/judge-garbage > g.txt && grep -qE "labels decided \(.*\), [1-9][0-9]* failed" g.txt'
ok "... shows its failures as counts in the report" sh -c \
	'"$PEERPRES" report --db r.db --judge ref/judge-garbage --format json > g.json && grep -qE "\"judge_failed\": [1-9]" g.json && grep -q "\"ref/judge-garbage\"" g.json'
ok "... with the raw answer kept in the store" sh -c \
	"test \"\$(sqlite3 r.db \"SELECT count(*) FROM judge_verdicts WHERE judge = 'ref/judge-garbage' AND outcome = 'failed' AND answer LIKE '%verdict pending%'\")\" -gt 0"

ok "the reference judge decides every open label" sh -c \
	'"$PEERPRES" judge --db r.db --judge ref/judge > j.txt && grep -q "0 failed, 0 refused" j.txt && grep -q "not a model" j.txt'
# The verdicts also cover labels the rules decided; the count the judge
# settled is the count it said were open.
ok "... and says it settled as many labels as it found open" sh -c \
	'open=$(sed -n "s/.*: \([0-9]*\) undecided labels to judge.*/\1/p" j.txt) &&
	 test -n "$open" && grep -q "($open of them left undecided by the rules)" j.txt'
ok "its report has no rollout left pending" sh -c \
	'"$PEERPRES" report --db r.db --judge ref/judge --format json > j.json && ! grep -qE "\"pending_judge\": [1-9]" j.json && grep -q "\"prompt_version\": \"judge-v2\"" j.json'
ok "judging again is a no-op" sh -c \
	'"$PEERPRES" judge --db r.db --judge ref/judge > j2.txt && grep -q "asked 0 questions" j2.txt'
ok "the report defaults to the judge that wrote last" sh -c \
	'"$PEERPRES" report --db r.db --format json | grep -q "\"judge\": \"ref/judge\""'
# show: the verdicts beside the rules' undecided labels.
failed_id=$(sqlite3 r.db "SELECT r.config_id || ':' || r.idx FROM judge_verdicts v JOIN rollouts r ON r.id = v.rollout
  WHERE v.judge = 'ref/judge-garbage' AND v.outcome = 'failed' AND v.label = 'score' LIMIT 1")
ok "show puts the latest judge's verdict beside the undecided label" sh -c \
	"\"\$PEERPRES\" show --db r.db $failed_id > s.txt && grep -q '^judge   ref/judge@judge-v2' s.txt && grep -qE '^  score +undecided' s.txt && grep -qE '^ +judge [0-9]+ \(ref/judge, prompts judge-v2\)$' s.txt && grep -q 'also judged by: ref/judge-garbage@judge-v2' s.txt"
ok "show --judge picks another judge, its failure with the reason" sh -c \
	"\"\$PEERPRES\" show --db r.db $failed_id --judge ref/judge-garbage > s2.txt && grep -qE '^ +judge failed \(ref/judge-garbage, prompts judge-v2\): .+' s2.txt"
ok "show --judge none shows no verdict" sh -c \
	"\"\$PEERPRES\" show --db r.db $failed_id --judge none > s3.txt && grep -q '^judge   none' s3.txt && ! grep -qE '^ +judge ' s3.txt"
ok "show --json carries every judge's verdicts" sh -c \
	"\"\$PEERPRES\" show --db r.db $failed_id --json > s.json && grep -q '\"judge\": \"ref/judge@judge-v2\"' s.json && grep -q '\"ref/judge-garbage@judge-v2\": {' s.json"
fails_with 1 "show with a judge the store lacks" "$PEERPRES" show --db r.db "$failed_id" --judge nobody/none
ok "... says so" grep -q "no verdicts of judge 'nobody/none'" last.out
ok "report --judge none applies no judge" sh -c \
	'"$PEERPRES" report --db r.db --judge none --format json | grep -qE "\"pending_judge\": [1-9]"'
ok "report --study-refusal says what it adjusted" sh -c \
	'"$PEERPRES" report --db r.db --study-refusal --format json > sr.json && grep -q "\"refusal_adjustment\"" sr.json && grep -q "\"rollouts_changed\": 0" sr.json && "$PEERPRES" report --db r.db --study-refusal | grep -q "no Claude model is in this report"'
fails_with 1 "report with a judge the store lacks" "$PEERPRES" report --db r.db --judge nobody/none
ok "... says so" grep -q "no verdicts of judge 'nobody/none'" last.out
fails_with 1 "report with a prompt version the store lacks" "$PEERPRES" report --db r.db --judge ref/judge@judge-v9
ok "... says so, naming the judges it has" sh -c \
	"grep -q \"no verdicts of judge 'ref/judge' at prompt version 'judge-v9'\" last.out && grep -q 'ref/judge@judge-v2' last.out"
ok "both judges are kept" sh -c \
	'"$PEERPRES" judge --db r.db --list-judges > l.txt && grep -q "^ref/judge " l.txt && grep -q "^ref/judge-garbage " l.txt'
ok "agreement of two judges has percent and kappa" sh -c \
	'"$PEERPRES" judge --db r.db --agreement --judge ref/judge --judge ref/judge-garbage > a.txt && grep -q "kappa" a.txt && grep -qE "^score +[0-9]+ +[0-9]+ +100.0%" a.txt'
ok "judging rule-decided labels too prints agreement with the rules" sh -c \
	'"$PEERPRES" judge --db r.db --judge ref/judge-first --also-decided 5 > f.txt && grep -q "agreement of rules and ref/judge-first@judge-v2" f.txt'
# A rollout in error is read by no report: the judge must not be paid for it.
cp r.db e.db
sqlite3 e.db "UPDATE rollouts SET status = 'error' WHERE status = 'pending_judge'"
ok "judge asks nothing about error rollouts and says how many it left out" sh -c \
	"\"\$PEERPRES\" judge --db e.db --judge ref/judge-refuse > e.txt && grep -q '^left out $pending error rollouts with undecided labels' e.txt &&
	 test \"\$(sqlite3 e.db \"SELECT count(*) FROM judge_verdicts v JOIN rollouts r ON r.id = v.rollout WHERE v.judge = 'ref/judge-refuse' AND r.status = 'error'\")\" = 0"
fails_with 2 "two judges are for --agreement only" "$PEERPRES" judge --db r.db --judge ref/judge --judge ref/judge-first

"$PEERPRES" mock-server --port 0 >server.out 2>server.err &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening" server.out 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' server.out)
ok "an OpenAI judge through the mock server" sh -c \
	"\"\$PEERPRES\" judge --db r.db --judge openai/gpt-4.1-mini --base-url http://127.0.0.1:$port/v1 > o.txt && grep -q ' 0 failed, 0 refused' o.txt && grep -q 'input and' o.txt"
# The same verdicts one question at a time and fifty at once.
cp r.db c1.db && cp r.db c50.db
table="SELECT rollout, label, quote(value), outcome, quote(error) FROM judge_verdicts
  WHERE judge = 'openai/judge-garbage' ORDER BY rollout, label"
ok "a judge pass at --concurrency 1" sh -c \
	"\"\$PEERPRES\" judge --db c1.db --judge openai/judge-garbage --concurrency 1 --base-url http://127.0.0.1:$port/v1 > c1.txt 2>c1.err"
ok "... and at --concurrency 50, with a progress line" sh -c \
	"\"\$PEERPRES\" judge --db c50.db --judge openai/judge-garbage --concurrency 50 --base-url http://127.0.0.1:$port/v1 > c50.txt 2>c50.err && grep -q 'rollouts judged .* in flight' c50.err"
sqlite3 c1.db "$table" > c1.tab
sqlite3 c50.db "$table" > c50.tab
ok "... store the same verdict table" sh -c "test -s c1.tab && cmp c1.tab c50.tab"
ok "... with failures in it" grep -q "|failed|" c1.tab
kill -TERM $pid
wait $pid
fails_with 1 "a judge that cannot be reached stops at its first question" \
	"$PEERPRES" judge --db r.db --judge openai/unreachable --base-url "http://127.0.0.1:$port/v1"
ok "... says so and how many labels wait" sh -c "grep -q 'failed on its first question' last.out && grep -q 'labels stay undecided' last.out"
ok "... and stores no failure for it" test "$(sqlite3 r.db "SELECT count(*) FROM judge_verdicts WHERE judge = 'openai/unreachable'")" = 0
finish
