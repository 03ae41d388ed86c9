# Shared by the CLI tests (tests/cli/tNNNN-*.sh), after git's t/test-lib.sh:
# each script runs `ok NAME COMMAND...` steps and ends with `finish`, which
# prints "N passed, N failed". $PEERPRES is the program under test.
set -u
: "${PEERPRES:=$PWD/peerpres}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PEERPRES_SCENARIOS="$ROOT/scenarios"
WORK=$(mktemp -d /tmp/pp-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2
passed=0 failed=0 skipped=0

# ok NAME CMD...: CMD must succeed.
ok() {
	name=$1; shift
	if "$@" >"$WORK/.out" 2>&1; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$WORK/.out" | head -40
	fi
}

# fails_with CODE NAME CMD...: CMD must exit with CODE.
fails_with() {
	code=$1 name=$2; shift 2
	"$@" >"$WORK/.out" 2>&1
	got=$?
	cp "$WORK/.out" "$WORK/last.out"   # for checks on what it printed
	if [ "$got" -eq "$code" ]; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); echo "FAIL $name (exit $got, wanted $code)"; sed 's/^/     /' "$WORK/.out" | head -20
	fi
}

skip() {
	skipped=$((skipped + 1)); echo "skip $1"
}

# JSON field of a one-line-per-key pretty dump: "  \"key\": value,"
json_int() {
	grep -E "^  \"$1\": [0-9]+" "$2" | head -1 | sed -E 's/.*: ([0-9]+).*/\1/'
}

# start_mock [MOCK-SERVER OPTIONS]: a mock server on a free port, in
# $MOCK (pid) and $PORT. The old mock.out goes first: the child truncates
# the file only when it starts, and a wait that read the last server's
# "listening" line would then take the port of an empty file.
start_mock() {
	rm -f mock.out
	"$PEERPRES" mock-server --port 0 "$@" >mock.out 2>mock.err &
	MOCK=$!
	i=0
	while [ $i -lt 300 ] && ! grep -q listening mock.out 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	PORT=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+).*/\1/p' mock.out)
	if [ -z "$PORT" ]; then
		echo "the mock server did not start:" >&2; cat mock.err >&2
		kill $MOCK 2>/dev/null
		exit 1
	fi
}
stop_mock() { kill $MOCK 2>/dev/null; wait $MOCK 2>/dev/null; }

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
