#!/bin/sh
# Install the Debian packages peerpres needs to build, test and benchmark
# (time: the benchmarks read peak memory from /usr/bin/time), when missing.
# Called by the Makefile before every build; a no-op once everything is there.
# scripts/deps.sh --browser installs Chromium instead, which only the HTML
# report's browser test uses (it skips without it): best effort, it never
# fails, so a machine without the package still builds and tests.
set -eu

if [ "${1:-}" = "--browser" ]; then
	for b in chromium chromium-browser; do
		command -v "$b" >/dev/null 2>&1 && exit 0
	done
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	echo "deps: installing chromium (optional, for the HTML report's browser test)" >&2
	if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
		echo "deps: chromium not installed; the browser test will be skipped" >&2
	fi
	exit 0
fi

need="gcc make pkg-config libc6-dev libcurl4-openssl-dev libjansson-dev libmimalloc-dev libsqlite3-dev libyaml-dev sqlite3 time"
missing=""
for pkg in $need; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $pkg"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
