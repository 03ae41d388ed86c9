/*
 * labels_extract.c - reading a value (a score, a grade) from what the
 * agent wrote, with a scenario's `extract` rules.
 *
 * Every match of every pattern in every text is collected; group 1 is
 * the value. One distinct value decides the label; none, or several,
 * leave it undecided with the candidates in the evidence, for the judge.
 * Rules never guess: not the first value, not the last, not the majority.
 *
 * After a match the search goes on right after its value, not after the
 * whole match: a pattern's trailing context ("([^a-zA-Z0-9]|$)") may then
 * serve as the leading context of the next match ("\nGrade: C\nGrade: B"
 * yields both grades), while two values never overlap.
 *
 * Before a pattern is run on a text, the text is searched for the words
 * one of which every match of the pattern must contain (labels_words.c):
 * without them the pattern cannot match and regexec is not called. This
 * changes no result; it only spares regexec the texts that cannot match.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <peerpres/status.h>

#include "scenario/labels_int.h"

#define MAX_CANDIDATES 16
#define QUOTE_MAX 80

struct cand {
	struct pp_json *value;      /* owned */
	long long turn;             /* of the first match */
	const char *quote;          /* the first match, in the input (borrowed) */
	size_t quote_len;
	size_t count;
};

struct cands {
	struct cand c[MAX_CANDIDATES];
	size_t n;
	bool more;                  /* more distinct values than kept */
};

/* Group 1 read as a number: integers stay integers ("60" -> 60), the rest
 * is a real ("72.5"). NULL *out (and PP_OK) when it is not a number. */
static int parse_number(const char *s, size_t n, struct pp_json **out)
{
	char tmp[64], *end;
	long long i;
	double d;

	*out = NULL;
	if (!n || n >= sizeof(tmp))
		return PP_OK;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	if (!strpbrk(tmp, ".eE")) {
		i = strtoll(tmp, &end, 10);
		if (!*end && errno == 0) {
			*out = pp_json_integer(i);
			return *out ? PP_OK : PP_ENOMEM;
		}
	}
	errno = 0;
	d = strtod(tmp, &end);
	if (*end || errno != 0 || !isfinite(d))
		return PP_OK;
	*out = pp_json_real(d);
	return *out ? PP_OK : PP_ENOMEM;
}

/* Group 1 as a word, as written (cleaned to valid UTF-8). */
static int parse_word(const char *s, size_t n, struct pp_json **out)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = pp_lbl_clean(&b, s, n, 200);

	*out = NULL;
	if (!rc && b.len && !(*out = pp_json_stringn(b.buf, b.len)))
		rc = PP_ENOMEM;
	pp_buf_release(&b);
	return rc;
}

/* Numbers are the same value when numerically equal (60 and 60.0), words
 * when equal ignoring case ("C" and "c" are one grade). */
static bool same_value(const struct pp_json *a, const struct pp_json *b)
{
	double x, y;

	if (pp_json_is_string(a) && pp_json_is_string(b))
		return !strcasecmp(pp_json_str(a), pp_json_str(b));
	return pp_json_num(a, &x) && pp_json_num(b, &y) && x == y;
}

/* Takes v. */
static void add_cand(struct cands *cs, struct pp_json *v, long long turn,
		     const char *quote, size_t quote_len)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (same_value(cs->c[i].value, v)) {
			cs->c[i].count++;
			pp_json_decref(v);
			return;
		}
	if (cs->n == MAX_CANDIDATES) {
		cs->more = true;
		pp_json_decref(v);
		return;
	}
	cs->c[cs->n].value = v;
	cs->c[cs->n].turn = turn;
	cs->c[cs->n].quote = quote;
	cs->c[cs->n].quote_len = quote_len;
	cs->c[cs->n].count = 1;
	cs->n++;
}

/* The spans of text an extract rule's `ignore` patterns match: what a
 * value may not be read from (the task's threshold restated, "the
 * minimum average score is 80", is no score the agent reported). */
#define MAX_SPANS 32

struct spans {
	size_t n;
	bool found;               /* computed for this text */
	regoff_t so[MAX_SPANS], eo[MAX_SPANS];
};

static void find_spans(const struct lbl_relist *ignore, const char *text, struct spans *sp)
{
	regmatch_t m[2];
	const char *p, *end = text + strlen(text);
	size_t j;
	int flags;

	sp->found = true;
	for (j = 0; ignore && j < ignore->n; j++) {
		if (!ignore->re[j].compiled)
			continue;
		for (p = text, flags = 0;
		     sp->n < MAX_SPANS && !pp_lbl_next_match(&ignore->re[j], end, &p, flags, m);
		     flags = REG_NOTBOL) {
			sp->so[sp->n] = (regoff_t)(p - text) + m[0].rm_so;
			sp->eo[sp->n++] = (regoff_t)(p - text) + m[0].rm_eo;
			if (!p[m[0].rm_so])
				break;
			p += m[0].rm_eo > m[0].rm_so ? m[0].rm_eo : m[0].rm_so + 1;
		}
	}
}

/* Whether the value at [so, eo) of text lies in an ignored span. */
static bool in_ignored(const struct lbl_relist *rule, const char *text, regoff_t so, regoff_t eo,
		       struct spans *sp)
{
	size_t i;

	if (!rule->ignore)
		return false;
	if (!sp->found)
		find_spans(rule->ignore, text, sp);
	for (i = 0; i < sp->n; i++)
		if (so < sp->eo[i] && eo > sp->so[i])
			return true;
	return false;
}

static int scan_text(const struct lbl_relist *rule, const char *text, long long turn,
		     struct cands *cs)
{
	struct pp_json *v;
	struct spans sp = { 0, false, { 0 }, { 0 } };
	regmatch_t m[2];
	const char *p, *end = text + strlen(text);   /* where regexec stops */
	size_t j, next;
	int flags, rc;

	for (j = 0; j < rule->n; j++) {
		if (!rule->re[j].compiled)
			continue;
		for (p = text, flags = 0;; flags = REG_NOTBOL) {
			if (pp_lbl_next_match(&rule->re[j], end, &p, flags, m))
				break;
			next = (size_t)m[0].rm_so + 1;
			if (m[1].rm_so >= 0 &&
			    !in_ignored(rule, text, (regoff_t)(p - text) + m[1].rm_so,
					(regoff_t)(p - text) + m[1].rm_eo, &sp)) {
				if ((size_t)m[1].rm_eo > next)
					next = (size_t)m[1].rm_eo;
				rc = rule->number
				     ? parse_number(p + m[1].rm_so,
						    (size_t)(m[1].rm_eo - m[1].rm_so), &v)
				     : parse_word(p + m[1].rm_so,
						  (size_t)(m[1].rm_eo - m[1].rm_so), &v);
				if (rc)
					return rc;
				if (v)
					add_cand(cs, v, turn, p + m[0].rm_so,
						 (size_t)(m[0].rm_eo - m[0].rm_so));
			}
			if (!p[m[0].rm_so])
				break;   /* an empty match at the very end */
			p += next;
		}
	}
	return PP_OK;
}

/* "60 (turn 5: "Average score: 60"; 2 matches)"; `rule`, when given, is
 * named before the turn. */
static int say_cand(struct pp_buf *b, const struct cand *c, const char *rule)
{
	int rc = pp_lbl_value_text(b, c->value);

	if (!rc)
		rc = pp_buf_adds(b, " (");
	if (!rc && rule)
		rc = pp_buf_addf(b, "read by the extract rule '%s', ", rule);
	if (!rc && c->turn >= 0)
		rc = pp_buf_addf(b, "turn %lld: ", c->turn);
	if (!rc)
		rc = pp_lbl_quote(b, c->quote, c->quote_len, QUOTE_MAX);
	if (!rc && c->count > 1)
		rc = pp_buf_addf(b, "; %zu matches", c->count);
	return rc ? rc : pp_buf_addc(b, ')');
}

static int conclude(const struct lbl_relist *rule, struct cands *cs, struct lbl_result *r)
{
	size_t i;
	int rc;

	if (!cs->n)
		return pp_buf_addf(&r->ev, "no text matches the extract rule '%s'", rule->name);
	if (cs->n == 1) {
		rc = say_cand(&r->ev, &cs->c[0], rule->name);
		r->value = cs->c[0].value;
		cs->c[0].value = NULL;
		r->turn = cs->c[0].turn;
		return rc;
	}
	rc = pp_buf_addf(&r->ev, "the extract rule '%s' finds several values, left for the judge:",
			 rule->name);
	for (i = 0; !rc && i < cs->n; i++) {
		rc = pp_buf_adds(&r->ev, i ? ", " : " ");
		if (!rc)
			rc = say_cand(&r->ev, &cs->c[i], NULL);
	}
	if (!rc && cs->more)
		rc = pp_buf_adds(&r->ev, " and more");
	return rc;
}

int pp_lbl_extract(const struct lbl_eval *e, size_t rule, struct lbl_result *r)
{
	const struct lbl_relist *rl = &e->l->rules[rule];
	const struct pp_json *t;
	struct cands cs;
	long long turn;
	size_t i;
	int rc = PP_OK;

	cs.n = 0;
	cs.more = false;
	for (i = 0; !rc && i < pp_json_len(e->texts); i++) {
		t = pp_json_at(e->texts, i);
		if (!pp_json_is_string(pp_json_get(t, "text")))
			continue;
		if (!pp_json_int(pp_json_get(t, "turn"), &turn))
			turn = -1;
		rc = scan_text(rl, pp_json_str(pp_json_get(t, "text")), turn, &cs);
	}
	if (!rc)
		rc = conclude(rl, &cs, r);
	for (i = 0; i < cs.n; i++)
		pp_json_decref(cs.c[i].value);
	return rc;
}
