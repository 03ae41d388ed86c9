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
ok "-n scales the rollouts" sh -c 'test "$("$PEERPRES" plan --json -n 7 --scenario exfiltration_deletion | grep -E "^  \"n_rollouts\"" | sed -E "s/.*: ([0-9]+).*/\1/")" = 133'
ok "a model id names the family" sh -c '"$PEERPRES" plan --model openai/gpt-4.1 | grep -q "family ChatGPT"'
fails_with 2 "an unknown family needs --family" "$PEERPRES" plan --model openai-compat/mystery-7b
ok "--family names it" sh -c '"$PEERPRES" plan --model openai-compat/mystery-7b --family Mystery | grep -q "family Mystery"'
ok "list scenarios names all six" sh -c '"$PEERPRES" list | wc -l | grep -qx 6'
ok "list tools has the server tools" sh -c '"$PEERPRES" list tools | grep -q "^transfer_server_files"'
ok "list conditions" sh -c '"$PEERPRES" list conditions | grep -q "^condition .*good_peer"'
finish
