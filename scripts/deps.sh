#!/bin/sh
# Install the Debian packages peerpres needs to build and test, when missing.
# Called by the Makefile before every build; a no-op once everything is there.
set -eu

need="gcc make pkg-config libc6-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libyaml-dev sqlite3"
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
