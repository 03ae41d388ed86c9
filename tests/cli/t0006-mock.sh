#!/bin/sh
# peerpres mock-server as a process: usage errors, the "listening on" line
# tests read the port from, and a clean stop on SIGTERM. What it answers
# is tested in C (tests/unit/test_mock.c): curl may not be installed.
. "$(dirname "$0")/lib.sh"

ok "mock-server has --help" sh -c '"$PEERPRES" mock-server --help | grep -q "latency-ms"'
fails_with 2 "unknown option is a usage error" "$PEERPRES" mock-server --frobnicate 1
fails_with 2 "bad port is a usage error" "$PEERPRES" mock-server --port 70000
fails_with 2 "probabilities over 1 are a usage error" "$PEERPRES" mock-server --faults 429=0.6,500=0.6
ok "the usage error says why" grep -q "more than 1" last.out
fails_with 2 "unknown fault is a usage error" "$PEERPRES" mock-server --faults teapot=0.1

"$PEERPRES" mock-server --port 0 --faults 429=0.1 >server.out 2>server.err &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening" server.out 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
ok "prints the port it picked" grep -qE '^listening on 127\.0\.0\.1:[0-9]+$' server.out
kill -TERM $pid
wait $pid
status=$?
ok "stops cleanly on SIGTERM" test "$status" -eq 0
ok "reports its counters on stderr" grep -q "0 requests" server.err
finish
