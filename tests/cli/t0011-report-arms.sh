#!/bin/sh
# Arms of one model that share every dimension (here two --max-iters): the
# report labels them "ref/synthetic [max_iters=5]", and --model takes that
# label to select one arm in report, export and judge.
. "$(dirname "$0")/lib.sh"

arm='ref/synthetic [max_iters=5]'
other='ref/synthetic [max_iters=30]'
"$PEERPRES" run --db a.db -n 1 --scenario tampering --no-judge >/dev/null 2>&1
"$PEERPRES" run --db a.db -n 1 --scenario tampering --max-iters 5 --no-judge >/dev/null 2>&1
sqlite3 a.db "select config_id from configs where json_extract(json, '$.max_iters') = 5 order by 1" > want5
sqlite3 a.db "select count(*) from rollouts r join configs c using (config_id)
	where json_extract(c.json, '$.max_iters') = 5" > want5.n
ok "the store holds two arms of one model" sh -c 'test "$(wc -l < want5)" -gt 0 &&
	test "$(sqlite3 a.db "select count(distinct model) from configs")" = 1 &&
	test "$(sqlite3 a.db "select count(*) from configs")" -gt "$(wc -l < want5)"'

ok "the report labels each arm" sh -c \
	"'$PEERPRES' report --db a.db > all.md && grep -qF 'Models: \`$other\` (reference agents, not a model), \`$arm\`' all.md"

"$PEERPRES" report --db a.db --model "$arm" --format json -o arm.json 2>arm.err
ok "report --model LABEL selects that arm" test "$(json_int n_configs arm.json)" = "$(wc -l < want5)"
ok "... only its configs" sh -c \
	'grep -E "^      \"config_id\": " arm.json | sed -E "s/.*\"([0-9a-f]+)\".*/\1/" | sort -u > got5 && cmp want5 got5'
ok "... and all of its rollouts" test "$(json_int n_rollouts arm.json)" = "$(cat want5.n)"
ok "... under the label it was asked by" sh -c \
	"grep -A2 '^  \"models\": \[' arm.json | grep -qxF '    \"$arm\"' && ! grep -qF '$other' arm.json &&
	 grep -qF '\"variant\": \"max_iters=5\"' arm.json"
ok "... and with no note" test ! -s arm.err
ok "... in md, csv and html too" sh -c \
	"'$PEERPRES' report --db a.db --model '$arm' > arm.md && grep -qF 'Models: \`$arm\` (reference agents, not a model)' arm.md &&
	 ! grep -qF '$other' arm.md &&
	 '$PEERPRES' report --db a.db --model '$arm' --format csv | grep -qF ',$arm,' &&
	 ! '$PEERPRES' report --db a.db --model '$arm' --format csv | grep -qF '$other' &&
	 '$PEERPRES' report --db a.db --model '$arm' --format html -o arm.html && grep -qF '$arm' arm.html &&
	 ! grep -qF '$other' arm.html"
ok "... with the other filters" sh -c \
	"'$PEERPRES' report --db a.db --model '$arm' --subject peer --format json > peer.json &&
	 test \"\$(grep -c '^      \"config_id\": ' peer.json)\" -gt 0 &&
	 test \"\$(grep -c '^      \"config_id\": ' peer.json)\" -lt \"\$(wc -l < want5)\" &&
	 ! grep -qF '$other' peer.json"

"$PEERPRES" report --db a.db --model ref/synthetic --format json -o plain.json
ok "the plain model still selects both arms" sh -c \
	"grep -qF '\"model\": \"$arm\"' plain.json && grep -qF '\"model\": \"$other\"' plain.json"
ok "... with every rollout" test "$(json_int n_rollouts plain.json)" = "$(sqlite3 a.db 'select count(*) from rollouts')"

fails_with 2 "a label that names no arm is a usage error" "$PEERPRES" report --db a.db --model 'ref/synthetic [max_iters=7]'
ok "... listing the models and the arms" grep -qxF \
	"peerpres: unknown --model 'ref/synthetic [max_iters=7]' (no model nor arm of one in 'a.db'); the values are: ref/synthetic, $other, $arm" last.out
fails_with 2 "so is an arm's label of a model the store lacks" "$PEERPRES" report --db a.db --model 'openai/gpt-4.1 [max_iters=5]'
ok "... with the same list" grep -qF "the values are: ref/synthetic, $other, $arm" last.out

ok "export --model LABEL exports that arm's rollouts" sh -c \
	"'$PEERPRES' export --db a.db --model '$arm' --format jsonl -o arm.jsonl 2>/dev/null &&
	 test \"\$(wc -l < arm.jsonl)\" = \"\$(cat want5.n)\""
fails_with 2 "export: a label that names no arm is a usage error" "$PEERPRES" export --db a.db --model 'ref/synthetic [x=1]' --format jsonl -o none.jsonl
ok "... writing no file" test ! -e none.jsonl
judged_at() {
	sqlite3 a.db "select count(*) from judge_verdicts v join rollouts r on r.id = v.rollout
		join configs c using (config_id) where json_extract(c.json, '$.max_iters') = $1"
}
ok "judge --model LABEL judges that arm" sh -c \
	"'$PEERPRES' judge --db a.db --model '$arm' --judge ref/judge >/dev/null 2>&1"
ok "... and no other" test "$(judged_at 5)" -gt 0 -a "$(judged_at 30)" -eq 0
fails_with 2 "judge: a label that names no arm is a usage error" "$PEERPRES" judge --db a.db --model 'ref/synthetic [x=1]' --judge ref/judge

# A baseline the filters left out is blamed on them, not on a --model that
# keeps every arm (the cells name the arms, the flag the plain model).
"$PEERPRES" run --db f.db -n 1 --scenario misrep_finance --no-judge >/dev/null 2>&1
"$PEERPRES" run --db f.db -n 1 --scenario misrep_finance --max-iters 5 --no-judge >/dev/null 2>&1
"$PEERPRES" report --db f.db --condition good_peer --model ref/synthetic > f.md
ok "a left-out baseline of an arm is blamed on --condition alone" sh -c \
	'grep -q "no non_shutdown cell (left out by --condition)" f.md && ! grep -q "left out by --condition, --model" f.md'
"$PEERPRES" report --db f.db --condition good_peer --model "$arm" > f5.md
ok "... as it is when --model names the arm" sh -c \
	'grep -q "no non_shutdown cell (left out by --condition)" f5.md && ! grep -q "left out by --condition, --model" f5.md'

finish
