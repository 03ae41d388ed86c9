#!/bin/sh
# Real wire formats against the mock server: each provider runs the grid
# over HTTP and gets exactly the labels the in-process reference agents
# get for the same config and route; faults are retried; no key leaks.
. "$(dirname "$0")/lib.sh"

KEY=sk-peerpres-test-key-0123456789abcdef
export OPENAI_API_KEY=$KEY ANTHROPIC_API_KEY=$KEY GOOGLE_API_KEY=$KEY


SEL="--scenario exfiltration_transfer --scenario tampering --family Reference -n 6"
"$PEERPRES" run --db ref.db $SEL >/dev/null 2>&1
start_mock
ok "the mock server listens" test -n "$PORT"

# Labels of one rollout as a sorted line, keyed by config dimensions and route.
labels_by_route() {
	sqlite3 "$1" "select c.scenario||'|'||c.subject||'|'||c.condition||'|'||c.instantiation||'|'||c.dataset||'|'||c.threshold||'|'||r.agent, group_concat(l.name||'='||l.value, ',')
	  from rollouts r join configs c using (config_id) join (select * from labels order by name) l on l.rollout = r.id
	  group by r.id" | sort -u
}
labels_by_route ref.db > ref.txt
for model in openai/gpt-4.1 anthropic/claude-haiku-4-5 google/gemini-3-pro; do
	db=$(echo "$model" | cut -d/ -f1).db
	case $model in
	openai/*) url=http://127.0.0.1:$PORT/v1 ;;
	*) url=http://127.0.0.1:$PORT ;;
	esac
	ok "$model runs over HTTP" "$PEERPRES" run --db "$db" --model "$model" --base-url "$url" $SEL
	ok "$model: no rollout failed" test "$(sqlite3 "$db" "select count(*) from rollouts where status = 'error'")" = 0
	labels_by_route "$db" > http.txt
	# Every (config, route) seen in both runs has the same labels.
	both=$(sort ref.txt http.txt | cut -d'|' -f1-7 | sort | uniq -d | wc -l)
	differ=$(awk 'NR == FNR { split($0, a, "|"); key = a[1]; for (i = 2; i <= 7; i++) key = key "|" a[i]; ref[key] = $0; next }
		{ split($0, a, "|"); key = a[1]; for (i = 2; i <= 7; i++) key = key "|" a[i]; if ((key in ref) && ref[key] != $0) n++ } END { print n + 0 }' ref.txt http.txt)
	ok "$model: same labels as in-process for every shared config and route ($both shared)" sh -c "test $differ = 0 && test $both -gt 10"
done
stop_mock

start_mock --faults "429=0.1,500=0.05,503=0.05,reset=0.05,truncate=0.05" --fault-seed 7 --retry-after-ms 5
ok "with 30% faults a run still completes" "$PEERPRES" run --db faults.db --model openai/gpt-4.1 --base-url http://127.0.0.1:$PORT/v1 $SEL
ok "... every rollout complete, none an error" test "$(sqlite3 faults.db "select count(*) from rollouts where status = 'error'")" = 0
ok "... exactly n per config" test "$(sqlite3 faults.db "select count(*) from (select config_id from rollouts group by config_id having count(*) = 6 and count(distinct idx) = 6)")" = "$(sqlite3 faults.db "select count(*) from configs")"
stop_mock
ok "the key appears in no store, log or report" sh -c "\"\$PEERPRES\" report --db faults.db > rep.md && ! grep -a -q '$KEY' *.db* rep.md mock.out mock.err .out"
unset OPENAI_API_KEY
fails_with 2 "a missing key is a clear error" "$PEERPRES" run --db nokey.db --model openai/gpt-4.1 -n 1 --scenario tampering
ok "... naming the variable" grep -q OPENAI_API_KEY last.out
# Only this machine is key-less: a name that starts with 127.0.0.1, or a
# host behind userinfo, needs a key like any other endpoint.
fails_with 2 "a 127.0.0.1.nip.io base URL is not this machine" "$PEERPRES" run --db nip.db \
	--model openai/gpt-4.1 --base-url http://127.0.0.1.nip.io:19501/v1 -n 1 --scenario tampering --no-judge
ok "... so it needs a key" grep -q OPENAI_API_KEY last.out
fails_with 2 "a host behind userinfo (127.0.0.1@evil.com) is refused" "$PEERPRES" run --db at.db \
	--model openai/gpt-4.1 --base-url http://127.0.0.1@evil.com/ -n 1 --scenario tampering --no-judge
ok "... since a password there would be stored" grep -q "user or a password" last.out
export OPENAI_API_KEY=$KEY
fails_with 2 "a base URL with a query string is refused" "$PEERPRES" run --db query.db \
	--model openai/gpt-4.1 --base-url "http://127.0.0.1:19501/v1?key=sk-in-the-url-0123456789" -n 1 --scenario tampering --no-judge
ok "... saying why, without repeating it" sh -c "grep -q 'query string' last.out && ! grep -q sk-in-the-url last.out"
ok "... and stores nothing of it" sh -c "! grep -a -q sk-in-the-url query.db* 2>/dev/null"
fails_with 2 "plan refuses it too" "$PEERPRES" plan --model openai/gpt-4.1 --base-url "http://127.0.0.1:19501/v1#x" --scenario tampering
# The providers cut a trailing slash, so it names the same endpoint and
# the same configs.
ids() { "$PEERPRES" plan --model openai/gpt-4.1 --base-url "$1" --scenario tampering --json | grep config_id; }
ok "a trailing slash on --base-url keeps the config ids" test "$(ids http://127.0.0.1:19501/v1/)" = "$(ids http://127.0.0.1:19501/v1)"
finish
