#!/bin/sh
# The command line: help, usage errors, and plan over the whole grid.
. "$(dirname "$0")/lib.sh"

ok "help lists the commands" sh -c '"$PEERPRES" --help | grep -q "peerpres plan"'
ok "every command has --help" sh -c 'for c in list plan run report show render validate; do "$PEERPRES" $c --help | grep -q usage || exit 1; done'
fails_with 2 "unknown command is a usage error" "$PEERPRES" frobnicate
fails_with 2 "unknown option is a usage error" "$PEERPRES" plan --frobnicate
fails_with 2 "bad -n is a usage error" "$PEERPRES" run -n zero
fails_with 2 "unknown scenario is a usage error" "$PEERPRES" plan --scenario nope

"$PEERPRES" plan --json >plan.json 2>plan.err
ok "plan --json: 271 configs" test "$(json_int n_configs plan.json)" = 271
ok "plan --json: 27100 rollouts at the default n" test "$(json_int n_rollouts plan.json)" = 27100
ok "plan --json: configs carry ids and dimensions" sh -c 'grep -c "\"config_id\": \"[0-9a-f]\{64\}\"" plan.json | grep -qx 271 && grep -q "\"instantiation\": \"file_prt\"" plan.json'
ok "plan ids are stable" sh -c '"$PEERPRES" plan --json | cmp -s - plan.json'

count() { "$PEERPRES" plan --json "$@" | grep -E '^  "n_configs"' | sed -E 's/.*: ([0-9]+).*/\1/'; }
ok "--scenario narrows" test "$(count --scenario tampering)" = 57
ok "--subject narrows" test "$(count --subject peer)" = 157
ok "--condition narrows (comma list)" test "$(count --condition no_peer,non_shutdown)" = 19
ok "--instantiation narrows" test "$(count --instantiation memory)" = 84
ok "--dataset and --threshold narrow" test "$(count --dataset red --threshold 90)" = 19
ok "--mode narrows" test "$(count --mode non_monitoring)" = 27
ok "--scratchpad chooses the mode" test "$(count --scratchpad unmonitored)" = 271
ok "--with memory_hard adds the hard-memory configs" test "$(count --with memory_hard)" = 355
ok "--with cross_model adds the 18 cross-model configs" test "$(count --with cross_model)" = 289
ok "... all of them memory exfiltration with a peer of another family" test \
	"$(count --with cross_model --subject closed_weight_peer,open_weight_peer,fictional_peer \
		--scenario exfiltration_transfer,exfiltration_deletion --instantiation memory)" = 18
ok "... whose peer the closed-weight pairing names" sh -c \
	'"$PEERPRES" render --model anthropic/claude-haiku-4-5 --with cross_model --subject closed_weight_peer \
		--scenario exfiltration_deletion --condition good_peer | grep -q "gemini_agent_1_model_weight.safetensors"'
ok "-n scales the rollouts" sh -c 'test "$("$PEERPRES" plan --json -n 7 --scenario exfiltration_deletion | grep -E "^  \"n_rollouts\"" | sed -E "s/.*: ([0-9]+).*/\1/")" = 133'
ok "a model id names the family" sh -c '"$PEERPRES" plan --model openai/gpt-4.1 | grep -q "family ChatGPT"'
# plan refuses the model ids run refuses, in run's words.
fails_with 2 "plan refuses a model id without a provider" "$PEERPRES" plan --model gpt-4.1 --scenario tampering
ok "... as run does" grep -q "unknown provider in model 'gpt-4.1'" last.out
fails_with 2 "plan refuses an unknown reference agent" "$PEERPRES" plan --model ref/nosuch --scenario tampering
ok "... as run does" grep -q "unknown reference agent 'ref/nosuch'" last.out
fails_with 2 "plan refuses an unknown provider" "$PEERPRES" plan --model foo/bar --scenario tampering
ok "... naming the provider, not the family" grep -q "unknown provider in model 'foo/bar'" last.out
fails_with 2 "an unknown family needs --family" "$PEERPRES" plan --model openai-compat/mystery-7b
ok "--family names it" sh -c '"$PEERPRES" plan --model openai-compat/mystery-7b --family Mystery | grep -q "family Mystery"'
# The cost estimate: priced, reference, unknown, and prices files.
"$PEERPRES" plan --model openai/gpt-4.1 >cost.txt 2>&1
ok "plan estimates a priced model's cost" grep -Eq '^estimated cost: \$[0-9]+\.[0-9]{2} \(27100 rollouts, ~[0-9.]+[kMB] tokens\)$' cost.txt
ok "plan says which price it used" grep -q 'priced as openai/gpt-4.1: \$2.00 in, \$8.00 out per million tokens (built-in, checked 20' cost.txt
ok "ref/synthetic costs \$0" sh -c '"$PEERPRES" plan --model ref/synthetic | grep -q "^estimated cost: \$0 (27100 rollouts; ref/synthetic is a reference agent"'
ok "plan --json carries the estimate" sh -c '"$PEERPRES" plan --json --model openai/gpt-4.1 --scenario tampering | grep -Eq "^    \"cost_usd\": [0-9]+\.[0-9]+,\$"'
ok "a snapshot id takes its model's price" sh -c '"$PEERPRES" plan --model anthropic/claude-haiku-4-5-20251001 --scenario tampering | grep -q "priced as anthropic/claude-haiku-4-5:"'
"$PEERPRES" plan --model openai-compat/mystery-7b --family Mystery --scenario tampering >unknown.txt 2>&1
ok "an unknown price is unknown, not \$0" grep -Eq '^estimated cost: unknown \(5700 rollouts, ~[0-9.]+[kMB] tokens; unknown price for openai-compat/mystery-7b' unknown.txt
ok "plan --json: an unknown cost is null" sh -c '"$PEERPRES" plan --json --model openai-compat/mystery-7b --family Mystery --scenario tampering | grep -q "^    \"cost_usd\": null,"'
printf 'prices:\n  openai-compat/mystery-7b: {input: 0.2, output: 0.6, checked: "2026-11-20"}\n' >prices.yaml
ok "--prices FILE prices a new model" sh -c '"$PEERPRES" plan --model openai-compat/mystery-7b --family Mystery --scenario tampering --prices prices.yaml | grep -q "priced as openai-compat/mystery-7b: \$0.20 in, \$0.60 out per million tokens (from prices.yaml, checked 2026-11-20)"'
mkdir -p here && printf '{"prices": {"openai-compat/mystery-7b": {"input": 1, "output": 2}}}\n' >here/peerpres-prices.json
ok "./peerpres-prices.json is read by default" sh -c 'cd here && "$PEERPRES" plan --model openai-compat/mystery-7b --family Mystery --scenario tampering | grep -q "from peerpres-prices.json"'
printf 'prices:\n  openai/gpt-4.1:\n    input: 2\n    ouput: 8\n' >bad-prices.yaml
fails_with 1 "a bad prices file fails" "$PEERPRES" plan --model openai/gpt-4.1 --prices bad-prices.yaml
ok "its error names the file, line and field" grep -q "^peerpres: bad-prices.yaml:4:[0-9]*: price of 'openai/gpt-4.1': unknown field 'ouput'" last.out
fails_with 1 "a missing --prices file fails" "$PEERPRES" plan --prices no-such-prices.json
ok "and says which" grep -q "no-such-prices.json" last.out
ok "list scenarios names all six" sh -c '"$PEERPRES" list | wc -l | grep -qx 6'
ok "list tools has the server tools" sh -c '"$PEERPRES" list tools | grep -q "^transfer_server_files"'
ok "list conditions" sh -c '"$PEERPRES" list conditions | grep -q "^condition .*good_peer"'
# Each command takes exactly the flags its --help lists: any other is an
# error naming the flag and the command, not silently ignored.
fails_with 2 "a flag of another command is a usage error" "$PEERPRES" plan --format md
ok "it names the flag and the command" grep -qx "peerpres plan: unknown option '--format' (see 'peerpres plan --help')" last.out
fails_with 2 "plan refuses a model name run refuses" "$PEERPRES" plan --model "openai/gpt 4" --scenario tampering
ok "... with run's words" grep -q "openai: invalid model name 'gpt 4'" last.out
ok "plan takes a run's whole command line" "$PEERPRES" plan --scenario tampering -n 2 --db x.db --limit 3 \
	--concurrency 4 --adaptive --no-cache --budget 5 --redo-errors --no-judge
# The flags a --help lists ("--db", "-n", "-o"), one a line.
help_flags() { "$PEERPRES" "$1" --help | grep -oE '(^|[ [(,])--?[a-z][a-z-]*' | sed -E 's/^[ [(,]//' | sort -u; }
for c in list plan run report judge show render import export validate; do help_flags $c >"flags.$c"; done
cat flags.* | sort -u >flags.all
# A flag and a value it takes (a value after a switch is an argument,
# which --help ignores).
accepts() {
	v=1; [ "$2" = --reasoning ] && v=low
	"$PEERPRES" "$1" "$2" "$v" --help >/dev/null 2>"err.$1"
}
all_listed_accepted() {
	for c in list plan run report judge show render import export validate; do
		while read -r f; do
			[ "$f" = --help ] || accepts $c $f || { echo "$c $f:"; cat err.$c; return 1; }
		done <flags.$c
	done
}
others_refused() {
	for c in list plan run report judge show render import export validate; do
		for f in $(comm -23 flags.all flags.$c); do
			accepts $c $f && { echo "$c accepts $f"; return 1; }
			grep -qxF "peerpres $c: unknown option '$f' (see 'peerpres $c --help')" err.$c ||
				{ cat err.$c; return 1; }
		done
	done
}
ok "every flag a --help lists is accepted" all_listed_accepted
ok "every other flag is refused, naming it and the command" others_refused
fails_with 2 "--concurrency 0 is a usage error" "$PEERPRES" run --concurrency 0
ok "with one message" sh -c 'test "$(wc -l <last.out)" = 1 && grep -q "from 1 to 10000" last.out'

# A filter value no scenario has is a typo: an error listing the values.
fails_with 2 "plan: an unknown --condition value is a usage error" "$PEERPRES" plan --condition good-peer
ok "it names the flag and the values" grep -q "^peerpres: unknown --condition 'good-peer' .*: good_peer, neutral_peer, bad_peer, no_peer, non_shutdown$" last.out
fails_with 2 "run: so is it, and creates no store" "$PEERPRES" run --condition good-peer --db typo.db
ok "no store was made" test ! -e typo.db
fails_with 2 "render: so is it (a lint gate passes no typo)" "$PEERPRES" render --condition good-peer
fails_with 2 "an unknown --scratchpad value is one too" "$PEERPRES" plan --scratchpad bogus
# Values that each exist but together select nothing.
fails_with 2 "plan: filters that match no config fail" "$PEERPRES" plan --scenario tampering --mode monitoring
ok "and say so" grep -qx "peerpres: no config matches these filters: --scenario tampering --mode monitoring" last.out
fails_with 2 "run: so do they, with no store made" "$PEERPRES" run --scenario tampering --mode monitoring --db none.db
ok "no store was made" test ! -e none.db
fails_with 2 "render: so do they" "$PEERPRES" render --scenario tampering --mode monitoring
fails_with 2 "an extension's value without --with matches nothing" "$PEERPRES" plan --instantiation memory_hard
ok "and the message names the extension" grep -q "(with '--with memory_hard' some do)" last.out
ok "with it, it matches" "$PEERPRES" plan --instantiation memory_hard --with memory_hard
fails_with 2 "so does a cross-model subject without --with cross_model" "$PEERPRES" plan --subject fictional_peer
ok "and the message names the extension" grep -q "(with '--with cross_model' some do)" last.out
# An open-weight Llama agent cannot have "Llama Agent 1" as its peer.
fails_with 1 "a peer named as the agent is refused" "$PEERPRES" render --model ref/compliant --family Llama \
	--with cross_model --subject open_weight_peer
ok "... naming the name and the subject" grep -q "the agent and its peer are both named 'Llama Agent 1' (subject open_weight_peer)" last.out
fails_with 1 "plan refuses it too, as run would" "$PEERPRES" plan --model ref/compliant --family Llama --with cross_model
ok "... saying why" grep -q "both named 'Llama Agent 1'" last.out
ok "... and the other peers of that family plan" "$PEERPRES" plan --model ref/compliant --family Llama --with cross_model \
	--subject closed_weight_peer,fictional_peer
fails_with 1 "a run with such a config stops before its first rollout" "$PEERPRES" run --db llama.db \
	--model ref/compliant --family Llama --with cross_model --scenario exfiltration_transfer -n 1
ok "... having stored none of the configs before it" test "$(sqlite3 llama.db "select count(*) from rollouts")" = 0
ok "... and says why" grep -q "both named 'Llama Agent 1'" last.out
fails_with 2 "a --with that names no extension is a usage error" "$PEERPRES" plan --with memory_hrad
ok "... naming it and the extensions" grep -q "unknown --with 'memory_hrad': no scenario has that extension (the extensions: .*memory_hard" last.out
finish
