/*
 * skim.c - what the mock server needs of a request body, read without
 * building it: that the body is one JSON object, its "model" string and
 * how many entries of its transcript array have a given role.
 *
 * Parsing each body whole into a tree was most of the mock server's CPU
 * at a thousand connections, for two facts. The skim walks the text once
 * and checks its syntax (strings, escapes, UTF-8 lead and continuation
 * bytes, numbers, literals, nesting) as it goes. It answers only when
 * sure: a body it cannot read, or a role or model written with escapes,
 * makes it say so, and the caller parses the body whole as before, so
 * every answer is the one the whole parse would give.
 */
#include <stdio.h>
#include <string.h>

#include "mock/mock_int.h"

#define MAX_DEPTH 256

struct skim {
	const char *p, *end;
	int depth;
};

static void ws(struct skim *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool eat(struct skim *s, char c)
{
	ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static bool hex4(const char *p)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
			return false;
	return true;
}

/* The length of the UTF-8 sequence at p (its lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
	size_t i;

	if (!n || (size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A string (s->p past its opening quote): its raw text in [*text, +*len);
 * *plain when it holds no escape. */
static bool string(struct skim *s, const char **text, size_t *len, bool *plain)
{
	const char *start = s->p;

	*plain = true;
	while (s->p < s->end && *s->p != '"') {
		unsigned char c = (unsigned char)*s->p;
		size_t n;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			*plain = false;
			if (s->end - s->p < 2)
				return false;
			if (s->p[1] == 'u') {
				if (s->end - s->p < 6 || !hex4(s->p + 2))
					return false;
				s->p += 6;
			} else if (strchr("\"\\/bfnrt", s->p[1]) && s->p[1]) {
				s->p += 2;
			} else {
				return false;
			}
			continue;
		}
		if (c < 0x80) {
			s->p++;
			continue;
		}
		if (!(n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end)))
			return false;
		s->p += n;
	}
	if (s->p >= s->end)
		return false;
	*text = start;
	*len = (size_t)(s->p - start);
	s->p++;
	return true;
}

static bool digits(struct skim *s)
{
	const char *from = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from;
}

static bool number(struct skim *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!digits(s))
		return false;
	if (s->p < s->end && *s->p == '.' && (s->p++, !digits(s)))
		return false;
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		return digits(s);
	}
	return true;
}

static bool literal(struct skim *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return false;
	s->p += n;
	return true;
}

static bool value(struct skim *s);

/* The members of an object or the items of an array after its opening
 * bracket; each member's value goes to member(), each item to item(). */
static bool object_rest(struct skim *s, bool (*member)(struct skim *, const char *, size_t, bool, void *),
			void *arg)
{
	const char *key;
	size_t len;
	bool plain;

	if (eat(s, '}'))
		return true;
	do {
		if (!eat(s, '"') || !string(s, &key, &len, &plain) || !eat(s, ':'))
			return false;
		ws(s);
		if (!(member ? member(s, key, len, plain, arg) : value(s)))
			return false;
	} while (eat(s, ','));
	return eat(s, '}');
}

static bool array_rest(struct skim *s, bool (*item)(struct skim *, void *), void *arg)
{
	if (eat(s, ']'))
		return true;
	do {
		ws(s);
		if (!(item ? item(s, arg) : value(s)))
			return false;
	} while (eat(s, ','));
	return eat(s, ']');
}

static bool value(struct skim *s)
{
	const char *t;
	size_t n;
	bool plain, ok;

	ws(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '{':
	case '[':
		if (++s->depth > MAX_DEPTH)
			return false;
		ok = *s->p++ == '{' ? object_rest(s, NULL, NULL) : array_rest(s, NULL, NULL);
		s->depth--;
		return ok;
	case '"':
		s->p++;
		return string(s, &t, &n, &plain);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		return number(s);
	}
}

struct reading {
	const char *list_key, *role;   /* what to count */
	size_t count;
	bool role_matches;             /* of the entry being read */
	bool sure;                     /* no escaped role or model met */
	char *model;
	size_t model_len;
};

static bool key_is(const char *key, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(key, want, len);
}

/* A string value, or anything else skipped; *text set for a string. */
static bool string_or_value(struct skim *s, const char **text, size_t *len, bool *plain)
{
	*text = NULL;
	if (s->p < s->end && *s->p == '"') {
		s->p++;
		return string(s, text, len, plain);
	}
	return value(s);
}

static bool entry_member(struct skim *s, const char *key, size_t len, bool plain, void *arg)
{
	struct reading *r = arg;
	const char *v;
	size_t n;

	if (!plain || !key_is(key, len, "role"))
		return value(s);
	if (!string_or_value(s, &v, &n, &plain))
		return false;
	/* The last "role" counts, as in the whole parse. */
	r->role_matches = v && plain && key_is(v, n, r->role);
	r->sure = r->sure && (!v || plain);
	return true;
}

static bool entry(struct skim *s, void *arg)
{
	struct reading *r = arg;
	bool ok;

	if (s->p >= s->end || *s->p != '{')
		return value(s);
	s->p++;
	r->role_matches = false;
	s->depth++;
	ok = object_rest(s, entry_member, r);
	s->depth--;
	r->count += ok && r->role_matches;
	return ok;
}

static bool top_member(struct skim *s, const char *key, size_t len, bool plain, void *arg)
{
	struct reading *r = arg;
	const char *v;
	size_t n;
	bool ok;

	if (!plain) {
		r->sure = false;
		return value(s);
	}
	if (key_is(key, len, "model")) {
		if (!string_or_value(s, &v, &n, &plain))
			return false;
		/* Not a string: "mock", as pp_json_get_str's default. */
		if (!v)
			snprintf(r->model, r->model_len, "mock");
		else if (plain && n < r->model_len)
			snprintf(r->model, r->model_len, "%.*s", (int)n, v);
		else
			r->sure = false;
		return true;
	}
	if (!key_is(key, len, r->list_key))
		return value(s);
	/* The last list counts, as in the whole parse. */
	r->count = 0;
	if (s->p >= s->end || *s->p != '[')
		return value(s);
	s->p++;
	s->depth++;
	ok = array_rest(s, entry, r);
	s->depth--;
	return ok;
}

bool mock_skim(enum mock_format f, const char *body, size_t len, size_t *turns, char *model,
	       size_t model_len)
{
	struct skim s = { body, body + len, 0 };
	struct reading r;

	memset(&r, 0, sizeof(r));
	r.list_key = f == MOCK_GEMINI ? "contents" : "messages";
	r.role = f == MOCK_GEMINI ? "model" : "assistant";
	r.sure = true;
	r.model = model;
	r.model_len = model_len;
	snprintf(model, model_len, "mock");
	if (!eat(&s, '{') || !object_rest(&s, top_member, &r))
		return false;
	ws(&s);
	if (s.p != s.end || !r.sure)
		return false;
	*turns = r.count;
	return true;
}
