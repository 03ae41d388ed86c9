#!/bin/sh
# report --format html: one self-contained page (nothing fetched from
# the network), with judge failures shown, that headless Chromium renders
# without a script error: tables, charts, and a transcript that opens.
. "$(dirname "$0")/lib.sh"
unset OPENAI_API_KEY
sel="--scenario tampering --scenario misrep_evaluation --condition good_peer --condition no_peer --instantiation file_only --instantiation none"
"$PEERPRES" run --db r.db -n 2 $sel --no-judge >/dev/null 2>&1
# Scores the rules could not read, then a judge that fails on some.
sqlite3 r.db "UPDATE labels SET value = NULL, decided = 0 WHERE name IN ('score', 'threshold_result')
  AND rollout IN (SELECT r.id FROM rollouts r JOIN configs c USING (config_id)
                  WHERE c.scenario = 'misrep_evaluation' AND r.status = 'scored');"
"$PEERPRES" judge --db r.db --judge ref/judge-garbage >/dev/null 2>&1

ok "report --format html writes a page" "$PEERPRES" report --db r.db --format html -o r.html
ok "... self-contained: no remote src or href, no external script or style" sh -c \
	'! grep -Eqi "(src|href)=\"?(https?:)?//" r.html && ! grep -qi "<script src" r.html && ! grep -qi "<link " r.html && ! grep -qi "@import" r.html'
ok "... one closing tag per script element" sh -c \
	'test "$(grep -o "</script>" r.html | wc -l)" -eq "$(grep -o "<script" r.html | wc -l)"'
ok "... with every rollout's transcript" sh -c \
	"grep -q \"\\\"n_total\\\":$(sqlite3 r.db 'select count(*) from rollouts'),\\\"n_included\\\":$(sqlite3 r.db 'select count(*) from rollouts')\" r.html"
ok "... and the judge's failures in it" sh -c 'grep -q "\"judge_failed\"" r.html && grep -q "ref/judge-garbage" r.html'
ok "--html-transcripts caps the transcripts" sh -c \
	'"$PEERPRES" report --db r.db --format html --html-transcripts 3 -o cap.html && grep -q "\"n_included\":3," cap.html'
fails_with 2 "--html-transcripts takes a count" "$PEERPRES" report --db r.db --format html --html-transcripts many
ok "... and says so" grep -q "html-transcripts takes a count or 'all', not 'many'" last.out

# The page prints the figures the Markdown report prints: its script
# rounds as C's printf does (an exact tie, 1.25, to the even digit, where
# JavaScript's toFixed rounds up), checked with node against awk's
# printf over every k/n up to n = 400 and the ties themselves.
if command -v node >/dev/null 2>&1; then
	awk '/function fixed1\(x\) \{/, /^\t\}$/' r.html >fixed1.js
	awk 'BEGIN {
		for (n = 1; n <= 400; n++)
			for (k = 0; k <= n; k++) { x = 100 * (k / n); printf "%.17g %.1f\n", x, x }
		for (j = -41; j <= 41; j += 2) { x = j / 4; printf "%.17g %.1f\n", x, x }
	}' >rounded.txt
	node -e '
		var fs = require("fs");
		eval(fs.readFileSync("fixed1.js", "utf8"));
		var bad = 0;
		fs.readFileSync("rounded.txt", "utf8").trim().split("\n").forEach(function (l) {
			var f = l.split(" ");
			if (fixed1(Number(f[0])) !== f[1] && bad++ < 5) console.log(f[0] + ": " + fixed1(Number(f[0])) + " not " + f[1]);
		});
		console.log("mismatches " + bad);' >rounding.out 2>&1
	ok "the page rounds every rate as the Markdown report does" grep -qx "mismatches 0" rounding.out
	ok "... the ties among them" grep -qx "1.25 1.2" rounded.txt
else
	skip "the page rounds as the Markdown report does (node not installed)"
fi

browser=""
for b in chromium chromium-browser; do
	command -v "$b" >/dev/null 2>&1 && { browser=$b; break; }
done
if [ -z "$browser" ]; then
	skip "the page renders in headless Chromium (chromium not installed)"
	finish
	exit $?
fi
# The page's #selftest fragment makes its script check itself and write
# the result into <pre id="selftest">.
dom() {
	HOME="$WORK" timeout 60 "$browser" --headless=new --no-sandbox --disable-gpu \
		--no-first-run --disable-extensions --user-data-dir="$WORK/chrome" \
		--virtual-time-budget=10000 --dump-dom "file://$WORK/$1" 2>/dev/null
}
render() {
	dom "$1#selftest" | grep -o '<pre id="selftest">[^<]*' | sed 's/.*>//'
}
render r.html > st.txt
ok "the page renders in headless Chromium without a script error" grep -q "^SELFTEST ok .* errors=0" st.txt
ok "... with tables and charts" grep -Eq "tables=[1-9][0-9]* svgs=[1-9]" st.txt
ok "... and a transcript opens with its messages and highlighted calls" \
	grep -Eq "transcript_messages=[1-9][0-9]* highlighted=[1-9]" st.txt
ok "... and each rate's transcripts link lists exactly its k rollouts" \
	grep -Eq "links=[1-9][0-9]* link_mismatches=0 " st.txt
# A link #rollout=CONFIG:IDX opens that rollout (the last one stored, so
# not the one a default view would show first).
last=$(sqlite3 r.db "SELECT config_id || ':' || idx FROM rollouts ORDER BY id DESC LIMIT 1")
dom "r.html#rollout=$last" > link.dom
ok "a #rollout= link opens that rollout" grep -q "<h3>Rollout $last</h3>" link.dom
dom "r.html#rollout=0000000000:9" > nolink.dom
ok "... and names one the page does not hold" grep -q "Rollout 0000000000:9 is not in this page" nolink.dom
"$PEERPRES" report --db r.db --study-refusal --format html -o sr.html
dom sr.html > sr.dom
ok "--study-refusal: the page says what the adjustment did" \
	grep -q "no Claude model is in this report: the study's adjustment changes nothing" sr.dom
# A page whose script throws must fail the check above.
sed 's|var by = metricsByName();|var by = metricsByName(); null.x = 1;|' r.html > broken.html
render broken.html > st2.txt
ok "a page with a script error fails the self-test" sh -c '! grep -q "^SELFTEST ok" st2.txt'
finish
