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

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
