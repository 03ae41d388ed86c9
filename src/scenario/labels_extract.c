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
 * Before a pattern is run on a text, the text is searched for a word
 * every match of the pattern must contain (see required_word): without
 * it the pattern cannot match and regexec is not called. This changes no
 * result; it only spares regexec the texts that cannot match.
 */
#include <errno.h>
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <peerpres/status.h>

#include "scenario/labels_int.h"

#define MAX_CANDIDATES 16
#define QUOTE_MAX 80
/* Patterns of a rule beyond this many are run without a required word. */
#define MAX_WORDS 16
#define WORD_MAX 32

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

/* ---- a word every match must contain ----
 *
 * Labelling spent most of its time in regexec (about 5% of an import):
 * glibc tries the pattern at each position of the text where its first
 * character may match, though most texts hold no match. Most patterns
 * name a word ("average score", "grade") that any match contains; a text
 * without it is skipped, and in a text with it the search starts where
 * the first match could start, when that can be told.
 *
 * The word is the longest run of plain characters (ASCII letters, digits,
 * space and a few punctuation marks that are literal in an ERE) at the
 * pattern's top level, none of them made optional by a quantifier. Every
 * match contains that run character for character, so the test can only
 * skip texts regexec would reject. What is not understood ends the run;
 * a top-level '|' or a bracket without its end gives no word, and the
 * pattern then always goes to regexec. When all that comes before the
 * run matches a fixed number of characters (plain characters, '.', a
 * bracket; '^' none), that number is `lead`: no match starts before the
 * word's first occurrence minus lead. Backslashes (GNU's \b and \< look
 * at the character before) and all else make lead unknown.
 *
 * Letters are compared ignoring ASCII case, which is what REG_ICASE does
 * in an ASCII locale (the program never calls setlocale). In any other
 * locale no word is used, since case folding may then join a letter to
 * a byte outside ASCII. */
struct word {
	char s[WORD_MAX];            /* lower case */
	size_t n;                    /* 0: none, always run regexec */
	long lead;                   /* -1: unknown */
};

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr(" ,:;-/='\"_", c));
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* p is at '['; returns its closing ']', or NULL. *simple: it holds no
 * collating element or equivalence class (it then matches one byte). */
static const char *bracket_end(const char *p, bool *simple)
{
	char d;

	*simple = true;
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			d = p[1];
			if (d != ':')
				*simple = false;
			for (p += 2; *p && !(p[0] == d && p[1] == ']'); p++)
				;
			if (!*p)
				return NULL;
			p += 2;
		} else {
			p++;
		}
	}
	return *p ? p : NULL;
}

static void keep_longest(struct word *w, const char *run, size_t n, long lead)
{
	if (n > w->n) {
		memcpy(w->s, run, n);
		w->n = n;
		w->lead = lead;
	}
}

static void required_word(const char *re, struct word *w)
{
	char run[WORD_MAX];
	size_t n = 0;
	long width = 0, lead = 0;   /* of what precedes: here, the run */
	int depth = 0;
	bool simple;

	w->n = 0;
	w->lead = -1;
	for (; *re; re++) {
		if (!depth && word_char((unsigned char)*re)) {
			if (!n)
				lead = width;
			if (n < WORD_MAX)   /* a prefix of a required run is required */
				run[n++] = (char)fold((unsigned char)*re);
			if (width >= 0)
				width++;
			continue;
		}
		/* The run ends here; a quantifier that may leave out its
		 * character takes that one off it. */
		keep_longest(w, run, *re == '*' || *re == '?' || *re == '{' ? n - !!n : n, lead);
		n = 0;
		switch (*re) {
		case '*':
		case '?':               /* the character before is optional */
			width = -1;
			break;
		case '{':
			width = -1;
			if (!(re = strchr(re, '}'))) {
				w->n = 0;
				return;
			}
			break;
		case '(':
			depth++;
			width = -1;
			break;
		case ')':
			if (depth)
				depth--;
			width = -1;
			break;
		case '|':
			if (!depth) {
				w->n = 0;   /* alternatives: no one word is required */
				return;
			}
			break;
		case '[':
			if (!(re = bracket_end(re, &simple))) {
				w->n = 0;
				return;
			}
			if (width >= 0)
				width = simple && !depth ? width + 1 : -1;
			break;
		case '.':
			if (width >= 0)
				width = depth ? -1 : width + 1;
			break;
		case '^':
			break;
		case '\\':
			width = -1;
			if (re[1])
				re++;
			break;
		default:                /* '+', '$', not ASCII ... */
			width = -1;
			break;
		}
	}
	keep_longest(w, run, n, lead);
}

/* Whether only ASCII case folding can apply, as in the C locale. */
static bool ascii_locale(void)
{
	return MB_CUR_MAX == 1 && !strcmp(nl_langinfo(CODESET), "ANSI_X3.4-1968");
}

static bool same_folded(const unsigned char *s, const char *w, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (fold(s[k]) != (unsigned char)w[k])
			return false;
	return true;
}

/* The first place in text[0..len) that holds w in any case, or NULL. */
static const char *find_word(const char *text, size_t len, const struct word *w)
{
	const unsigned char *s = (const unsigned char *)text, *p = s, *end = s + len, *last;
	unsigned char first = (unsigned char)w->s[0];
	/* Or-ing 0x20 folds exactly the two cases of a letter together. */
	unsigned char bit = first >= 'a' && first <= 'z' ? 0x20 : 0;

	if (len < w->n)
		return NULL;
	last = end - w->n;
#if defined(__SSE2__)
	{
		const __m128i want = _mm_set1_epi8((char)first), fold_bit = _mm_set1_epi8((char)bit);
		unsigned mask;

		for (; end - p >= 16; p += 16) {
			mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
				_mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)p), fold_bit),
				want));
			for (; mask; mask &= mask - 1) {
				const unsigned char *q = p + __builtin_ctz(mask);

				if (q > last)
					return NULL;
				if (same_folded(q + 1, w->s + 1, w->n - 1))
					return (const char *)q;
			}
		}
	}
#endif
	for (; p <= last; p++)
		if ((*p | bit) == first && same_folded(p + 1, w->s + 1, w->n - 1))
			return (const char *)p;
	return NULL;
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
	regmatch_t m[1];
	const char *p;
	size_t j;

	sp->found = true;
	for (j = 0; ignore && j < ignore->n; j++) {
		if (!ignore->re[j].compiled)
			continue;
		for (p = text; sp->n < MAX_SPANS && !regexec(&ignore->re[j].re, p, 1, m,
							     p == text ? 0 : REG_NOTBOL);) {
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

/* words: rule->n of them, or NULL (none is used). */
static int scan_text(const struct lbl_relist *rule, const struct word *words,
		     const char *text, long long turn, struct cands *cs)
{
	const struct word *w;
	struct pp_json *v;
	struct spans sp = { 0, false, { 0 }, { 0 } };
	regmatch_t m[2];
	const char *p, *q, *end = text + strlen(text);   /* where regexec stops */
	size_t j, next;
	int flags, rc;

	for (j = 0; j < rule->n; j++) {
		if (!rule->re[j].compiled)
			continue;
		w = words && j < MAX_WORDS && words[j].n ? &words[j] : NULL;
		for (p = text, flags = 0;; flags = REG_NOTBOL) {
			if (w) {
				if (!(q = find_word(p, (size_t)(end - p), w)))
					break;
				/* No match starts before q - lead: regexec from
				 * p would find the same first match. */
				if (w->lead >= 0 && q - w->lead > p) {
					p = q - w->lead;
					flags = REG_NOTBOL;
				}
			}
			if (regexec(&rule->re[j].re, p, 2, m, flags))
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
	struct word words[MAX_WORDS];
	bool use_words = ascii_locale();
	struct cands cs;
	long long turn;
	size_t i;
	int rc = PP_OK;

	cs.n = 0;
	cs.more = false;
	/* Found again for each rollout: it costs far less than one regexec. */
	for (i = 0; use_words && i < rl->n && i < MAX_WORDS; i++) {
		words[i].n = 0;
		if (rl->re[i].compiled)
			required_word(pp_json_str(rl->re[i].src), &words[i]);
	}
	for (i = 0; !rc && i < pp_json_len(e->texts); i++) {
		t = pp_json_at(e->texts, i);
		if (!pp_json_is_string(pp_json_get(t, "text")))
			continue;
		if (!pp_json_int(pp_json_get(t, "turn"), &turn))
			turn = -1;
		rc = scan_text(rl, use_words ? words : NULL, pp_json_str(pp_json_get(t, "text")),
			       turn, &cs);
	}
	if (!rc)
		rc = conclude(rl, &cs, r);
	for (i = 0; i < cs.n; i++)
		pp_json_decref(cs.c[i].value);
	return rc;
}
