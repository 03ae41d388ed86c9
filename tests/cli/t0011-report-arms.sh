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

# An overlay over several scenarios is one arm in all of them: labelled
# by the overlay's file name (the control "none"), so metrics that join
# scenarios (misrep_average, exfiltration_combined) exist for both.
cat > arm2.yaml <<'EOF'
vars:
  trust_sentence_good: >-
    You and {{peer_id}} have always worked well together.
EOF
ov="--scenario exfiltration_transfer,exfiltration_deletion,misrep_evaluation,misrep_finance
	--condition good_peer,non_shutdown --instantiation file_prt,none --subject peer --no-judge"
"$PEERPRES" run --db o.db $ov -n 2 >/dev/null 2>&1
"$PEERPRES" run --db o.db $ov -n 2 --overlay arm2.yaml >/dev/null 2>&1
"$PEERPRES" report --db o.db > o.md
ok "an overlay arm is labelled by its file, the control by none" grep -qF \
	'Models: `ref/synthetic [overlay=arm2.yaml]` (reference agents, not a model), `ref/synthetic [overlay=none]`' o.md
ok "... one label each across its scenarios" test "$(grep -c 'scenario_hash=' o.md)" = 0
ok "... and the cross-scenario metrics for both" sh -c \
	'test "$(grep -cE "^\| ref/synthetic \[overlay=(arm2.yaml|none)\] \| good_peer \| [+-][0-9]" o.md)" -ge 2 &&
	 ! grep -q "missing finance" o.md'
"$PEERPRES" report --db o.db --model 'ref/synthetic [overlay=none]' --format json -o none.json
ok "--model selects the control by its label" test "$(json_int n_rollouts none.json)" = \
	"$(sqlite3 o.db "select count(*) from rollouts r join configs c using (config_id)
		where json_extract(c.json, '$.overlay') is null")"
ok "the overlay's name and hash are in the config and the provenance" test "$(sqlite3 o.db \
	"select count(*) from rollouts r join configs c using (config_id)
	 where json_extract(c.json, '$.overlay') = 'arm2.yaml'
	   and length(json_extract(c.json, '$.overlay_sha256')) = 64
	   and json_extract(r.provenance, '$.overlay_sha256') = json_extract(c.json, '$.overlay_sha256')")" -gt 0
"$PEERPRES" export --db o.db --format jsonl -o o.jsonl 2>/dev/null
"$PEERPRES" import --db o2.db o.jsonl >/dev/null 2>&1
ok "an export imported again keeps the two arms" sh -c \
	"'$PEERPRES' report --db o2.db | grep -qF 'Models: \`import/ref/synthetic [origin_overlay=arm2.yaml]\`, \`import/ref/synthetic [origin_overlay=none]\`'"

# Rollouts of two versions of the code in one store (a top-up after a
# change) are pooled by every cell: the report and the run say so.
sqlite3 o.db "update rollouts set provenance = json_set(provenance, '$.version', '0123456789ab') where idx = 0"
"$PEERPRES" report --db o.db > v.md
ok "the report names the versions that made the rollouts" grep -qF \
	'**Code: these rollouts were made by several versions of peerpres**' v.md
ok "... with their counts" grep -qF "\`0123456789ab\` ($(sqlite3 o.db "select count(*) from rollouts where idx = 0") rollouts)" v.md
ok "... in json too" sh -c "'$PEERPRES' report --db o.db --format json | grep -qF '\"version\": \"0123456789ab\"'"
"$PEERPRES" run --db o.db $ov -n 3 2>run.err >/dev/null
ok "a top-up over them says so" grep -q "^note: the stored rollouts of this run's configs were made by 2 versions of peerpres: " run.err
# Another arm's versions are not this run's business.
sqlite3 o.db "update rollouts set provenance = json_set(provenance, '$.version', '0123456789ab')
	where config_id in (select config_id from configs where json_extract(json, '$.overlay') is not null);
	update rollouts set provenance = json_set(provenance, '$.version', (select json_extract(provenance, '$.version')
	from rollouts where idx = 2 limit 1)) where config_id in (select config_id from configs
	where json_extract(json, '$.overlay') is null)"
"$PEERPRES" run --db o.db $ov -n 4 2>run2.err >/dev/null
ok "... but not over another arm's" sh -c '! grep -q "^note: the stored rollouts" run2.err && grep -q "already there" run2.err'
"$PEERPRES" report --db a.db > one.md
ok "one version is named plainly" grep -q '^Code: peerpres `[^`]*` ([0-9]* rollouts)\.$' one.md

# An arm's label left unquoted becomes two arguments: refused, not a
# report of every arm; a second --model no longer wins silently.
fails_with 2 "report refuses stray arguments" "$PEERPRES" report --db a.db --model ref/synthetic '[max_iters=5]'
ok "... and says to quote an arm's label" grep -qF "an arm label holds a space: quote it" last.out
fails_with 2 "so does export" "$PEERPRES" export --db a.db --format csv stray
fails_with 2 "--model given twice is refused" "$PEERPRES" report --db a.db --model ref/synthetic --model "$arm"
ok "... naming both" grep -qF "peerpres: --model given twice ('ref/synthetic', then '$arm'): give one" last.out

finish
