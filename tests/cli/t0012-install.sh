#!/bin/sh
# make install: the program, its scenario files, the headers and the
# library under PREFIX (DESTDIR for a staging root); the installed program
# finds its scenarios from PREFIX/bin, from any directory, with nothing in
# the environment. A program without them says where it looked.
. "$(dirname "$0")/lib.sh"
unset PEERPRES_SCENARIOS
export ROOT WORK

ok "make install DESTDIR=... PREFIX=/usr" make -s -C "$ROOT" install DESTDIR="$WORK/root" PREFIX=/usr
ok "... puts the program, the scenarios, the headers and the library in place" sh -c \
	'test -x root/usr/bin/peerpres && test -f root/usr/share/peerpres/scenarios/common.yaml &&
	 test "$(ls root/usr/share/peerpres/scenarios/*.yaml | wc -l)" = "$(ls "$ROOT"/scenarios/*.yaml | wc -l)" &&
	 test -f root/usr/include/peerpres/store.h && test -f root/usr/lib/libpeerpres.a'
mkdir elsewhere
ok "the installed program plans the whole grid from another directory" sh -c \
	'cd elsewhere && "$WORK/root/usr/bin/peerpres" plan | head -1 | grep -q "271 configs"'
ok "... and lists its scenarios" sh -c \
	'cd elsewhere && "$WORK/root/usr/bin/peerpres" list | grep -q "^tampering "'

cp "$PEERPRES" lonely
fails_with 1 "a program with no scenario files near it fails" ./lonely plan
ok "... saying where it looked and how to say where they are" grep -q \
	"no scenario files beside the program ($WORK/scenarios, $WORK/../share/peerpres/scenarios) or in ./scenarios: give --scenarios DIR or set PEERPRES_SCENARIOS" last.out
ok "... which either way works" sh -c \
	'./lonely plan --scenarios "$ROOT/scenarios" | head -1 | grep -q "271 configs" &&
	 PEERPRES_SCENARIOS="$ROOT/scenarios" ./lonely plan | head -1 | grep -q "271 configs"'

ok "make uninstall removes every file it installed" sh -c \
	'make -s -C "$ROOT" uninstall DESTDIR="$WORK/root" PREFIX=/usr && test -z "$(find root -type f)"'
finish
