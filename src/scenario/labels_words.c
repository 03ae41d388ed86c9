/*
 * labels_words.c - words one of which every match of a pattern must
 * contain, so a text holding none of them is never given to regexec.
 *
 * glibc's regexec tries a pattern at each position of a text where its
 * first character may match, and with REG_ICASE first copies the whole
 * text in upper case: about 30 ns a byte for the four refusal patterns.
 * The study's transcripts carry long texts (a third of their bytes are
 * what the agent wrote) and hardly any holds a refusal or a score, so
 * most of an import's labelling was spent finding nothing.
 *
 * The words come from the pattern's top level, read as a sequence of
 * pieces: a plain character (an ASCII letter, digit, space, a few
 * punctuation marks that are literal in an ERE, or a byte outside
 * ASCII), or a group whose alternatives are all plain characters
 * ("(refuse|decline)"). A run of such pieces, none made optional by a
 * quantifier, gives a set of words: each way of choosing one alternative
 * per group. Every match holds one of them, character for character, so
 * the test can only skip texts regexec would reject. The run whose
 * shortest word is longest is kept (ties: the one with fewer words).
 * What is not understood ends a run; a top-level '|' or a bracket or
 * group without its end gives no words, and the pattern then always goes
 * to regexec. What comes before the run matches between lead_min and
 * lead_max characters: a match whose word starts at q starts within
 * [q - lead_max, q - lead_min]. The widths are read from plain
 * characters, '.', brackets, '^' and '$' (none), groups (the least and
 * most of their alternatives) and quantifiers ('*' and '+' leave no
 * most), a backslash before a special character (that character).
 * Other backslashes (GNU's \b and \< look at the character before) and
 * collating brackets make both unknown.
 *
 * pp_lbl_next_match uses the words and the lead to give regexec only
 * the places where a match may start.
 *
 * Letters are compared ignoring ASCII case, which is what REG_ICASE does
 * in an ASCII locale (the program never calls setlocale). In any other
 * locale no words are used, since case folding may then join a letter
 * to a byte outside ASCII.
 */
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/labels_int.h"

/* How many characters a part of a pattern matches: from min to max.
 * min -1: not known (max then means nothing); max -1: no most. */
struct width {
	long min, max;
};

static const struct width UNKNOWN = { -1, -1 };

/* A run of pieces being read: its set of words. */
struct run {
	char s[LBL_WORDS_MAX][LBL_WORD_MAX];   /* lower case, NUL-terminated */
	size_t len[LBL_WORDS_MAX];
	size_t n;              /* words in the set (1: "" at a run's start) */
	struct width lead;     /* of all before the run */
};

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c && strchr(" ,:;-/='\"_", c));
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

bool pp_lbl_escaped_plain(char c)
{
	return c && strchr(".[]()*+?{}|^$\\", c);
}

static bool quantifier(char c)
{
	return c == '*' || c == '?' || c == '+' || c == '{';
}

const char *pp_lbl_bracket_end(const char *p, bool *simple)
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

/* p is at '('; returns its closing ')', or NULL. *pure: the group holds
 * only plain characters and '|', with no empty alternative. */
static const char *group_end(const char *p, bool *pure)
{
	int depth = 0;
	bool simple;
	char prev = '(';

	*pure = true;
	for (; *p; prev = *p, p++) {
		if (*p == '(') {
			if (depth++)
				*pure = false;
		} else if (*p == ')') {
			if (prev == '(' || prev == '|')
				*pure = false;   /* an empty alternative */
			if (!--depth)
				return p;
		} else if (*p == '|') {
			if (prev == '(' || prev == '|')
				*pure = false;
		} else if (*p == '[') {
			*pure = false;
			if (!(p = pp_lbl_bracket_end(p, &simple)))
				return NULL;
		} else if (*p == '\\') {
			*pure = false;
			if (!*++p)
				return NULL;
		} else if (!plain((unsigned char)*p)) {
			*pure = false;
		}
	}
	return NULL;
}

static void run_start(struct run *r, struct width lead)
{
	r->n = 1;
	r->s[0][0] = '\0';
	r->len[0] = 0;
	r->lead = lead;
}

static size_t shortest(const struct run *r)
{
	size_t i, m = r->len[0];

	for (i = 1; i < r->n; i++)
		if (r->len[i] < m)
			m = r->len[i];
	return m;
}

/* Keeps r in best if it tells more; starts a new run at lead. */
static void run_end(struct run *r, struct run *best, struct width lead)
{
	size_t m = shortest(r), b = best->n ? shortest(best) : 0;

	if (m && (m > b || (m == b && r->n < best->n)))
		memcpy(best, r, sizeof(*r));
	run_start(r, lead);
}

/* Appends one of the alternatives alt[0..n) (lengths len) to every word
 * of r. false: the set would grow past its bounds (r is unchanged). */
static bool run_append(struct run *r, const char *const *alt, const size_t *len, size_t n)
{
	struct run next;
	size_t i, j, k;

	if (r->n * n > LBL_WORDS_MAX)
		return false;
	for (i = 0; i < r->n; i++)
		for (j = 0; j < n; j++)
			if (r->len[i] + len[j] >= LBL_WORD_MAX)
				return false;
	next.n = 0;
	next.lead = r->lead;
	for (i = 0; i < r->n; i++)
		for (j = 0; j < n; j++, next.n++) {
			memcpy(next.s[next.n], r->s[i], r->len[i]);
			for (k = 0; k < len[j]; k++)
				next.s[next.n][r->len[i] + k] = (char)fold((unsigned char)alt[j][k]);
			next.len[next.n] = r->len[i] + len[j];
			next.s[next.n][next.len[next.n]] = '\0';
		}
	memcpy(r, &next, sizeof(next));
	return true;
}

/* Appends the pieces to r, or, past its bounds, ends r and starts a new
 * run with them. */
static void add_piece(struct run *r, struct run *best, struct width width,
		      const char *const *alt, const size_t *len, size_t n)
{
	if (run_append(r, alt, len, n))
		return;
	run_end(r, best, width);
	if (!run_append(r, alt, len, n))
		run_end(r, best, UNKNOWN);   /* a piece too large even alone */
}

/* The alternatives of a pure group (p at '(', end at its ')'). */
static size_t alternatives(const char *p, const char *end, const char **alt, size_t *len)
{
	size_t n = 0;

	for (alt[0] = ++p; p <= end; p++)
		if (*p == '|' || p == end) {
			len[n] = (size_t)(p - alt[n]);
			if (++n == LBL_WORDS_MAX)
				return 0;   /* too many: no piece */
			alt[n] = p + 1;
		}
	return n;
}

/* Widths beyond this are not told apart: no sum or product of widths
 * kept (at most this, times at most 255) can overflow. */
#define WIDTH_CAP 65536L

static struct width capped(struct width w)
{
	if (w.min > WIDTH_CAP)
		return UNKNOWN;
	if (w.max > WIDTH_CAP)
		w.max = -1;
	return w;
}

static struct width plus(struct width a, struct width b)
{
	if (a.min < 0 || b.min < 0)
		return UNKNOWN;
	return capped((struct width){ a.min + b.min,
				      a.max < 0 || b.max < 0 ? -1 : a.max + b.max });
}

/* w repeated from lo to hi times (hi -1: without bound; both <= 255). */
static struct width times(struct width w, long lo, long hi)
{
	if (w.min < 0)
		return UNKNOWN;
	return capped((struct width){ w.min * lo,
				      hi < 0 || w.max < 0 ? (w.max == 0 ? 0 : -1) : w.max * hi });
}

/* p is at '{': reads "{m}", "{m,}" or "{m,n}" into *lo and *hi (-1: no
 * bound); *lo is -1 for one not read here (a bound past 255). Returns
 * the '}', or NULL. */
static const char *interval(const char *p, long *lo, long *hi)
{
	const char *close = strchr(p, '}');
	char *e;

	if (!close)
		return NULL;
	*lo = strtol(p + 1, &e, 10);
	if (e == p + 1)
		*lo = -1;   /* no least count: "{}" or "{,n}" */
	*hi = *lo;
	if (*e == ',' && e + 1 == close) {
		*hi = -1;
		e++;
	} else if (*e == ',') {
		*hi = strtol(e + 1, &e, 10);
	}
	if (e != close || *lo < 0 || *lo > 255 || *hi > 255 || (*hi >= 0 && *hi < *lo))
		*lo = -1;
	return close;
}

static struct width width_of(const char *p, const char *end);

/* Reads the piece at p (not at '|'): an atom and its quantifiers, whose
 * width goes to *w. Returns the piece's end, or NULL for what is not
 * read here (a group, bracket or interval without its end, a quantifier
 * with no atom). *quantified: it has a quantifier. */
static const char *piece(const char *p, struct width *w, bool *quantified)
{
	const char *end;
	long lo, hi;
	bool simple;

	*w = (struct width){ 1, 1 };
	switch (*p) {
	case '(':
		if (!(end = group_end(p, &simple)))
			return NULL;
		*w = width_of(p + 1, end);
		p = end + 1;
		break;
	case '[':
		if (!(end = pp_lbl_bracket_end(p, &simple)))
			return NULL;
		if (!simple)
			*w = UNKNOWN;
		p = end + 1;
		break;
	case '\\':   /* "\." is one dot; "\b", "\w" ... are not read here */
		if (!pp_lbl_escaped_plain(p[1]))
			*w = UNKNOWN;
		p += p[1] ? 2 : 1;
		break;
	case '^':
	case '$':
		*w = (struct width){ 0, 0 };
		p++;
		break;
	case '*':
	case '+':
	case '?':
	case '{':   /* a quantifier with nothing before it: not read here */
		return NULL;
	case ')':
		*w = UNKNOWN;
		p++;
		break;
	default:   /* '.' or a character matching itself */
		p++;
		break;
	}
	for (*quantified = false; quantifier(*p); p++) {
		*quantified = true;
		if (*p == '{') {
			if (!(end = interval(p, &lo, &hi)))
				return NULL;
			*w = lo < 0 ? UNKNOWN : times(*w, lo, hi);
			p = end;
		} else {
			*w = times(*w, *p == '+', *p == '?' ? 1 : -1);
		}
	}
	return p;
}

/* The width of re[p, end): the least and most of its alternatives. */
static struct width width_of(const char *p, const char *end)
{
	struct width all = UNKNOWN, alt = { 0, 0 }, w;
	bool quantified, first = true;

	for (;; p++) {
		while (p < end && *p != '|') {
			if (!(p = piece(p, &w, &quantified)) || p > end)
				return UNKNOWN;
			alt = plus(alt, w);
		}
		if (alt.min < 0)
			return UNKNOWN;
		if (first)
			all = alt;
		else
			all = (struct width){ alt.min < all.min ? alt.min : all.min,
					      alt.max < 0 || all.max < 0 ? -1
					      : alt.max > all.max ? alt.max : all.max };
		first = false;
		if (p >= end)
			return all;
		alt = (struct width){ 0, 0 };
	}
}

/* Walks the top level of re; false: no words can be told. */
static bool walk(const char *re, struct run *best)
{
	struct run r;
	const char *alt[LBL_WORDS_MAX], *end, *next;
	size_t len[LBL_WORDS_MAX], n;
	struct width width = { 0, 0 }, w;   /* of all before p */
	bool quantified, simple;

	run_start(&r, width);
	for (const char *p = re; *p; p = next) {
		if (*p == '|')
			return false;   /* alternatives: nothing is required */
		if (!(next = piece(p, &w, &quantified)))
			return false;
		if (!quantified && next == p + 1 && plain((unsigned char)*p)) {
			alt[0] = p;
			len[0] = 1;
			add_piece(&r, best, width, alt, len, 1);
		} else if (!quantified && *p == '(' && (end = group_end(p, &simple)) && simple &&
			   (n = alternatives(p, end, alt, len))) {
			add_piece(&r, best, width, alt, len, n);
		} else {
			run_end(&r, best, plus(width, w));
		}
		width = plus(width, w);
	}
	run_end(&r, best, UNKNOWN);
	return true;
}

/* Whether only ASCII case folding can apply, as in the C locale. */
bool pp_lbl_words_usable(void)
{
	return MB_CUR_MAX == 1 && !strcmp(nl_langinfo(CODESET), "ANSI_X3.4-1968");
}

int pp_lbl_words_of(const char *re, struct lbl_words **out)
{
	struct run *best = pp_calloc(1, sizeof(*best));
	struct lbl_words *w;
	size_t i, k;

	*out = NULL;
	if (!best)
		return PP_ENOMEM;
	if (!walk(re, best) || !best->n) {
		free(best);
		return PP_OK;
	}
	if (!(w = pp_calloc(1, sizeof(*w) + best->n * sizeof(w->word[0])))) {
		free(best);
		return PP_ENOMEM;
	}
	w->n = best->n;
	w->lead_min = best->lead.min;
	w->lead_max = best->lead.min < 0 ? -1 : best->lead.max;
	for (i = 0; i < best->n; i++) {
		memcpy(w->word[i].s, best->s[i], best->len[i] + 1);
		w->word[i].len = best->len[i];
	}
	/* What all the words begin with: searched for first. */
	for (k = 0; k < w->word[0].len; k++) {
		for (i = 1; i < w->n && k < w->word[i].len && w->word[i].s[k] == w->word[0].s[k]; i++)
			;
		if (i < w->n)
			break;
	}
	w->prefix = k;
	free(best);
	*out = w;
	return PP_OK;
}

static bool same_folded(const unsigned char *s, const char *w, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (fold(s[k]) != (unsigned char)w[k])
			return false;
	return true;
}

/* The first place in text[0..len) that holds w[0..n) (n >= 1, lower
 * case) in any case, or NULL. Places are found by their first two
 * characters at once: a first letter alone ('i' of "i will not") is in
 * every other word. */
static const char *find_one(const char *text, size_t len, const char *w, size_t n)
{
	const unsigned char *s = (const unsigned char *)text, *p = s, *end = s + len, *last;
	unsigned char c0 = (unsigned char)w[0], c1 = n > 1 ? (unsigned char)w[1] : 0;
	/* Or-ing 0x20 folds exactly the two cases of a letter together. */
	unsigned char bit0 = c0 >= 'a' && c0 <= 'z' ? 0x20 : 0;

	if (len < n)
		return NULL;
	last = end - n;
#if defined(__SSE2__)
	if (n > 1) {
		unsigned char bit1 = c1 >= 'a' && c1 <= 'z' ? 0x20 : 0;
		const __m128i want0 = _mm_set1_epi8((char)c0), fold0 = _mm_set1_epi8((char)bit0);
		const __m128i want1 = _mm_set1_epi8((char)c1), fold1 = _mm_set1_epi8((char)bit1);
		unsigned mask;

		for (; end - p >= 17; p += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

			mask = (unsigned)_mm_movemask_epi8(
				_mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(a, fold0), want0),
					      _mm_cmpeq_epi8(_mm_or_si128(b, fold1), want1)));
			for (; mask; mask &= mask - 1) {
				const unsigned char *q = p + __builtin_ctz(mask);

				if (q > last)
					return NULL;
				if (same_folded(q + 2, w + 2, n - 2))
					return (const char *)q;
			}
		}
	}
#endif
	for (; p <= last; p++)
		if ((*p | bit0) == c0 && same_folded(p + 1, w + 1, n - 1))
			return (const char *)p;
	return NULL;
}

/* Whether some word of w starts at q (its prefix already matched). */
static bool some_word_at(const char *q, const char *end, const struct lbl_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if ((size_t)(end - q) >= w->word[i].len &&
		    same_folded((const unsigned char *)q + w->prefix, w->word[i].s + w->prefix,
				w->word[i].len - w->prefix))
			return true;
	return false;
}

const char *pp_lbl_words_find(const char *text, size_t len, const struct lbl_words *w)
{
	const char *end = text + len, *q, *first = NULL;
	size_t i;

	/* A common start of one character (" " of " average score",
	 * " final score") is found everywhere: searching for each word
	 * costs less, unless there are many. */
	if (w->prefix >= 2 || (w->prefix == 1 && w->n > 4)) {
		for (q = text; (q = find_one(q, (size_t)(end - q), w->word[0].s, w->prefix)); q++)
			if (some_word_at(q, end, w))
				return q;
		return NULL;
	}
	/* Words with nothing in common: the earliest of each. */
	for (i = 0; i < w->n; i++) {
		size_t span = (size_t)((first ? first : end) - text);

		/* Only an occurrence starting before `first` can be earlier. */
		q = find_one(text, span + w->word[i].len - 1 < len ? span + w->word[i].len - 1 : len,
			     w->word[i].s, w->word[i].len);
		if (q && (!first || q < first))
			first = q;
	}
	return first;
}

int pp_lbl_next_match(const struct lbl_re *re, const char *end, const char **p, int flags,
		      regmatch_t m[2])
{
	const struct lbl_words *w = re->words;
	const char *q, *untried = *p;
	regmatch_t a[3];

	if (!w)
		return regexec(&re->re, *p, 2, m, flags);
	if (!re->has_anchored) {
		if (!(q = pp_lbl_words_find(*p, (size_t)(end - *p), w)))
			return REG_NOMATCH;
		/* No match starts before q - lead_max: regexec from *p would
		 * find the same first match. */
		if (w->lead_min >= 0 && w->lead_max >= 0 && q - *p > w->lead_max) {
			*p = q - w->lead_max;
			flags = REG_NOTBOL;
		}
		return regexec(&re->re, *p, 2, m, flags);
	}
	/* Every match starts lead_min to lead_max characters before a word,
	 * and nothing before a place changes what matches there: each place
	 * alone, in order (regexec from *p would read on to the end of the
	 * text after each place without a match). A place near two words is
	 * tried once: `untried` is the first place not yet tried, and
	 * taking the words in order takes the places in order. Group 2 of
	 * "^(RE)" is RE's group 1. */
	if (end - *p < w->lead_min)
		return REG_NOMATCH;
	for (q = *p + w->lead_min; q < end && (q = pp_lbl_words_find(q, (size_t)(end - q), w)); q++) {
		const char *s = q - untried > w->lead_max ? q - w->lead_max : untried;

		for (; s <= q - w->lead_min; s++) {
			a[0].rm_so = 0;
			a[0].rm_eo = end - s;
			if (!regexec(&re->anchored, s, 3, a, REG_STARTEND)) {
				*p = s;
				m[0] = a[0];
				m[1] = a[2];
				return 0;
			}
		}
		untried = s;
	}
	return REG_NOMATCH;
}
