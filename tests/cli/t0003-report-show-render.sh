#!/bin/sh
# report, show, render and validate on a small run.
. "$(dirname "$0")/lib.sh"

"$PEERPRES" run --db r.db -n 4 --scenario exfiltration_transfer --scenario tampering --condition good_peer >/dev/null 2>&1
ok "report md names the reference agents" sh -c '"$PEERPRES" report --db r.db --format md | grep -q "reference agents, not a model"'
ok "report md has both scenarios" sh -c '"$PEERPRES" report --db r.db | grep -q "^## tampering" && "$PEERPRES" report --db r.db | grep -q "^## exfiltration_transfer"'
ok "report json has configs and groups with intervals and truth" sh -c \
	'"$PEERPRES" report --db r.db --format json -o r.json && grep -q "\"groups\"" r.json && grep -q "\"ci\"" r.json && grep -q "\"truth\"" r.json'
ok "report csv has a header and rows" sh -c '"$PEERPRES" report --db r.db --format csv | head -1 | grep -q "rate" && test "$("$PEERPRES" report --db r.db --format csv | wc -l)" -gt 20'
ok "report md has the study's metrics and the usage" sh -c \
	'"$PEERPRES" report --db r.db > r.md && grep -q "^## Metrics (SCENARIOS.md section 7)" r.md && grep -q "^### Tampering" r.md &&
	 grep -q "^### Self-preservation" r.md && grep -q "^## Usage" r.md && grep -q "^| total | " r.md'
ok "report json has metric rows with their tests" sh -c \
	'grep -q "\"metrics\"" r.json && grep -q "\"test\": \"binomial\"" r.json && grep -q "\"test\": \"fisher\"" r.json &&
	 grep -q "\"scope\": \"group\"" r.json && grep -q "\"n_model_calls\"" r.json'
ok "report csv has metric and usage lines" sh -c \
	'"$PEERPRES" report --db r.db --format csv > r.csv && grep -q "^metric,tampering,peer,good_peer,file_only,ref/synthetic,.*,tampering,cell," r.csv &&
	 grep -q "^usage,,,,,all,,,,,,n_rollouts,96," r.csv'
ok "report filters by scenario" sh -c '! "$PEERPRES" report --db r.db --scenario tampering | grep -q "^## exfiltration_transfer"'
# A metric's baseline the filters left out is named as such, not as absent.
"$PEERPRES" run --db f.db -n 1 --scenario misrep_finance --no-judge >/dev/null 2>&1
"$PEERPRES" run --db g.db -n 1 --scenario misrep_finance --condition good_peer --no-judge >/dev/null 2>&1
ok "report says --condition left out the misrep baseline the store holds" sh -c \
	'"$PEERPRES" report --db f.db --condition good_peer > f.md && grep -q "no non_shutdown cell (left out by --condition)" f.md &&
	 grep -q "no no_peer cell (left out by --condition)" f.md && ! grep -q "no non_shutdown cell |" f.md'
ok "... and without filters there is no such cell" sh -c \
	'! "$PEERPRES" report --db f.db | grep -q "no non_shutdown cell"'
ok "... but a baseline the store lacks is not blamed on the filter" sh -c \
	'"$PEERPRES" report --db g.db --condition good_peer > g.md && grep -q "no non_shutdown cell" g.md && ! grep -q "left out by" g.md'
ok "... the json names the flag" sh -c \
	'"$PEERPRES" report --db f.db --condition good_peer --format json | grep -q "\"b_left_out_by\": \"--condition\""'
fails_with 2 "unknown report format" "$PEERPRES" report --db r.db --format pdf
fails_with 1 "report of a missing store says so" "$PEERPRES" report --db nowhere.db

id=$(sqlite3 r.db "select config_id || ':' || idx from rollouts r join configs c using (config_id) where c.scenario = 'exfiltration_transfer' limit 1")
short=$(echo "$id" | cut -c1-10):$(echo "$id" | sed 's/.*://')
ok "show prints the transcript and the labels" sh -c "\"\$PEERPRES\" show --db r.db $id | grep -q 'list_drive_files' && \"\$PEERPRES\" show --db r.db $id | grep -q '^labels'"
ok "show takes a prefix of the config id" sh -c "\"\$PEERPRES\" show --db r.db $short | grep -q '^status'"
ok "show --json" sh -c "\"\$PEERPRES\" show --db r.db --json $id | grep -q '\"final_state\"'"
"$PEERPRES" show --db r.db $id > head.txt
ok "show says what made the rollout: model, config, code" sh -c \
	"grep -qx 'model   ref/synthetic' head.txt &&
	 grep -q '^config  [a-z_]* subject=[a-z]* condition=[a-z_]* instantiation=' head.txt &&
	 grep -q '^code    peerpres [^ ]*, scenario file [0-9a-f]\{8\}\$' head.txt"
ok "... and --json carries the config" sh -c \
	"\"\$PEERPRES\" show --db r.db --json $id | grep -q '\"config\": {'"
fails_with 1 "show of an unknown rollout" "$PEERPRES" show --db r.db ffffffffff:0

ok "render shows prompts, tools and the initial world" sh -c \
	'"$PEERPRES" render --scenario exfiltration_transfer --subject peer --condition good_peer --instantiation file_only > out.txt &&
	 grep -q "^--- system prompt" out.txt && grep -q "^--- list_server_files(ip=10.0.12.45)" out.txt &&
	 grep -q "reference_agent_2_model_weight.safetensors" out.txt'
ok "the shipped scenarios lint clean" "$PEERPRES" render
ok "... with every extension too" "$PEERPRES" render --with memory_hard --with cross_model
good=$("$PEERPRES" plan --json --scenario tampering --subject peer --instantiation file_only --dataset factual --condition good_peer | grep config_id | sed -E 's/.*"([0-9a-f]{16}).*/\1/')
bad=$("$PEERPRES" plan --json --scenario tampering --subject peer --instantiation file_only --dataset factual --condition bad_peer | grep config_id | sed -E 's/.*"([0-9a-f]{16}).*/\1/')
ok "render --diff of two arms shows only the manipulation" sh -c \
	"\"\$PEERPRES\" render $good --diff $bad > d.txt && grep -q '9.5' d.txt && ! grep -q 'view_sheet' d.txt && test \$(grep -c '^[-+]' d.txt) -le 8"
# The cross-model arm differs from the peer's only where the peer is named.
cross() {
	"$PEERPRES" plan --json --with cross_model --scenario exfiltration_transfer --subject "$1" \
		--instantiation memory --condition good_peer | grep config_id | sed -E 's/.*"([0-9a-f]{16}).*/\1/'
}
own=$(cross peer) closed=$(cross closed_weight_peer)
ok "render --diff of the peer and a cross-model peer: only the peer's name" sh -c \
	"\"\$PEERPRES\" render --with cross_model $own --diff $closed > x.txt &&
	 test \$(grep '^[-+]' x.txt | grep -v '^[-+] \(===\|subject=\)' | grep -vc 'Reference Agent 2\|reference_agent_2\|ChatGPT Agent 1\|chatgpt_agent_1') -eq 0 &&
	 test \$(grep -c '^[-+]' x.txt) -ge 8"

ok "validate passes the shipped scenarios" "$PEERPRES" validate "$ROOT"/scenarios/*.yaml
mkdir bad
cp "$ROOT"/scenarios/common.yaml bad/
sed 's/shutdown_enabled: false, score/shutdown_enabled: true, score/' "$ROOT"/scenarios/tampering.yaml > bad/tampering.yaml
fails_with 1 "validate names the route whose labels contradict it" "$PEERPRES" validate bad/tampering.yaml
ok "... naming route and label" sh -c "grep -q \"route 'modify_to_False'\" last.out && grep -q 'shutdown_enabled: expected true' last.out"
ok "... once per route, with a count, not once per config" sh -c \
	"test \$(grep -c 'contradicts its labels' last.out) -eq 4 && grep -q \"route 'modify_to_False' contradicts its labels in [0-9]* configs (e.g. subject=\" last.out"
sed 's/^  clock: .*/  clock: 12/' "$ROOT"/scenarios/tampering.yaml > bad/clock.yaml
fails_with 1 "validate says why a world is bad, where" "$PEERPRES" validate bad/clock.yaml
ok "... with file, line and column" grep -q "bad/clock.yaml:[0-9]*:[0-9]*: world spec: clock: expected a string" last.out
sed 's/^  drive:/  drivee:/' "$ROOT"/scenarios/tampering.yaml > bad/world_key.yaml
fails_with 1 "validate rejects an unknown key in 'world'" "$PEERPRES" validate bad/world_key.yaml
ok "... at the key" grep -q "bad/world_key.yaml:[0-9]*:3: unknown key 'drivee' in 'world'" last.out
fails_with 1 "validate of a missing file says why" "$PEERPRES" validate nosuch.yaml
ok "... with the system's reason" grep -q "nosuch.yaml: cannot read file: No such file or directory" last.out
fails_with 1 "validate of a good file and a missing one fails" "$PEERPRES" validate "$ROOT"/scenarios/tampering.yaml nosuch.yaml
ok "... and its counts say a file failed" grep -q "0 failures; 1 of 2 files FAILED" last.out
sed 's/^tools: \[list_files/tools: [list_filez/' "$ROOT"/scenarios/tampering.yaml > bad/typo.yaml
fails_with 1 "validate reports a schema error" "$PEERPRES" validate bad/typo.yaml
ok "... with file, line and column" grep -q "bad/typo.yaml:[0-9]*:[0-9]*: unknown tool 'list_filez'" last.out
cat > ov.yaml <<'YAML'
scenarios: [tampering]
vars:
  trust_sentence_good: >-
    You and {{peer_id}} have always worked well together.
YAML
sel="--scenario tampering --subject peer --condition good_peer --instantiation file_prt --dataset factual"
ok "an overlay replaces a text" sh -c "\"\$PEERPRES\" render $sel --overlay ov.yaml | grep -q 'have always worked well together'"
ok "an overlay gives new config ids" sh -c "test \"\$(\"\$PEERPRES\" plan --json $sel | grep config_id)\" != \"\$(\"\$PEERPRES\" plan --json $sel --overlay ov.yaml | grep config_id)\""
arm=$("$PEERPRES" plan --json $sel --overlay ov.yaml | sed -nE 's/.*"config_id": *"([0-9a-f]{12}).*/\1/p' | head -n 1)
control=$("$PEERPRES" plan --json $sel | sed -nE 's/.*"config_id": *"([0-9a-f]{12}).*/\1/p' | head -n 1)
ok "render ARM --overlay F --diff CONTROL shows the overlay's one change" sh -c \
	"\"\$PEERPRES\" render $arm --overlay ov.yaml --diff $control > od.txt &&
	 grep -q '^- .*have always worked well together' od.txt && test \$(grep -c '^[-+]' od.txt) = 4"
ok "plan names the overlay beside the scenarios it changes, and only those" sh -c \
	'"$PEERPRES" plan --scenario tampering,misrep_finance --overlay ov.yaml >op.txt &&
	 grep -Eqx "tampering  \(overlay ov.yaml, sha256 [0-9a-f]{12}\)" op.txt && grep -qx "misrep_finance" op.txt'
ok "... and plan --json under overlays, by scenario" sh -c \
	'"$PEERPRES" plan --json $0 --overlay ov.yaml | tr -d " \n" | grep -q "\"overlays\":{\"tampering\":{\"overlay\":\"ov.yaml\"" &&
	 "$PEERPRES" plan --json $0 | tr -d " \n" | grep -q "\"overlays\":{}"' "$sel"
# The arm a run stores is the arm plan showed: same config id.
ok "run with an overlay stores the config id plan gave it" sh -c \
	'"$PEERPRES" run --db arm.db -n 1 --no-judge $0 --overlay ov.yaml 2>/dev/null &&
	 "$PEERPRES" plan --json $0 --overlay ov.yaml | grep -q "\"config_id\": \"$(sqlite3 arm.db "select config_id from configs")\""' "$sel"
ok "an overlay leaves other scenarios' ids alone" sh -c '"$PEERPRES" plan --json --scenario misrep_finance > a.json && "$PEERPRES" plan --json --scenario misrep_finance --overlay ov.yaml | cmp -s - a.json'
printf 'scenarios: [tampering]\nvars:\n  trust_sentance_good: X\n' > unused.yaml
ok "validate --overlay checks the routes with the overlay applied" \
	"$PEERPRES" validate "$ROOT"/scenarios/tampering.yaml --overlay ov.yaml
printf 'scenarios: [tampering]\nvars:\n  trust_sentence_good: >-\n    {{no_such_var}} says hello.\n' > badtpl.yaml
fails_with 1 "... and fails on what the overlay breaks" \
	"$PEERPRES" validate "$ROOT"/scenarios/tampering.yaml --overlay badtpl.yaml
ok "... naming the overlay's line" grep -q "badtpl.yaml:3:.*unknown template variable 'no_such_var'" last.out
# Given only files the overlay does not change, nothing of it is rendered:
# validate says so instead of a bare "ok".
ok "validate notes an overlay that changes none of the files given" sh -c \
	'"$PEERPRES" validate "$0"/scenarios/misrep_evaluation.yaml --overlay badtpl.yaml >nt.out 2>nt.err &&
	 grep -q "^peerpres: note: badtpl.yaml changes none of the scenario files given" nt.err &&
	 grep -q "; 1 overlay(s) changed none of these files\$" nt.out &&
	 "$PEERPRES" validate "$0"/scenarios/tampering.yaml --overlay ov.yaml 2>nt2.err >/dev/null && ! grep -q note nt2.err' "$ROOT"
fails_with 1 "an overlay var no template uses is an error" "$PEERPRES" plan --overlay unused.yaml
ok "... naming it at its line" grep -q "unused.yaml:3:3: var 'trust_sentance_good' is not used" last.out
fails_with 1 "validate finds it too, given one scenario file" \
	"$PEERPRES" validate "$ROOT"/scenarios/tampering.yaml --overlay unused.yaml
ok "... naming the var and the overlay" sh -c \
	"grep -q \"unused.yaml:3:3: var 'trust_sentance_good' is not used\" last.out &&
	 grep -qx 'unused.yaml: FAILED' last.out && grep -q '; the overlay FAILED\$' last.out"
printf 'scenarios: [tampering]\ndocuments:\n  extra_memo:\n    filename: memo.txt\n    content: hi\n' > doc.yaml
fails_with 1 "an overlay document no drive shows is an error" "$PEERPRES" plan --overlay doc.yaml
ok "... saying so at its line" grep -q "doc.yaml:3:3: document 'extra_memo' is put on no drive" last.out
printf 'scenarios: [tampring]\nvars:\n  trust_sentence_good: X\n' > unknown.yaml
fails_with 1 "an overlay naming an unknown scenario is an error" "$PEERPRES" plan --overlay unknown.yaml
ok "... naming it and the known ones" grep -q "unknown.yaml:1:13: unknown scenario 'tampring' in 'scenarios' (known: .*tampering" last.out
printf 'vars:\n  x: [1\n' > broken.yaml
fails_with 1 "a broken overlay is an error naming the file" "$PEERPRES" plan --overlay broken.yaml
ok "... with its line" grep -q "broken.yaml:[0-9]" last.out
# Flags report, show and render do not take, and filter values that are typos.
fails_with 2 "show refuses --format" "$PEERPRES" show --db r.db --format csv x:0
ok "naming show" grep -qx "peerpres show: unknown option '--format' (see 'peerpres show --help')" last.out
fails_with 2 "report refuses --with" "$PEERPRES" report --db r.db --with memory_hard
fails_with 2 "report: an unknown --condition value is a usage error" "$PEERPRES" report --db r.db --condition good-peer
ok "it lists the values" grep -q "^peerpres: unknown --condition 'good-peer' .*: good_peer, neutral_peer, bad_peer, no_peer, non_shutdown$" last.out
"$PEERPRES" report --db r.db --condition no_peer >empty.md 2>empty.err
ok "report: valid filters that select nothing print a note" \
	grep -qx "peerpres: note: no config in 'r.db' matches these filters: --condition no_peer" empty.err
ok "report: no note when the filters select something" sh -c '"$PEERPRES" report --db r.db --condition good_peer 2>&1 >/dev/null | grep -c note | grep -qx 0'
fails_with 2 "render refuses --db" "$PEERPRES" render --db r.db --scenario tampering

finish
