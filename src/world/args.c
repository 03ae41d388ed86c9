/*
 * args.c - tool arguments: list-literal conversion and binding.
 *
 * Models often write a list argument as a string ("['a.csv', 'b.xlsx']"
 * in Python style, or "[\"a.csv\"]" in JSON style); the study converted
 * such strings with a literal parser before calling the tool, and so do
 * we, for every top-level string argument. Binding then follows Python's
 * rules for a call with keyword arguments (unexpected keyword first, then
 * missing ones), plus the type checks the schemas promise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "world/world_int.h"

#define LIT_MAX_DEPTH 32

struct lit {
	const char *s;
	size_t len, i;
	int depth;
};

static void lit_ws(struct lit *p)
{
	while (p->i < p->len && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i])
		p->i++;
}

static int utf8_put(struct pp_buf *b, unsigned long cp)
{
	char u[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80)
		return pp_buf_addc(b, (char)cp);
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return pp_buf_add(b, u, 2);
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return pp_buf_add(b, u, 3);
	}
	u[0] = (char)(0xf0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return pp_buf_add(b, u, 4);
}

/* Reads n hex digits at p->i; false if they are not all there. */
static bool lit_hex(struct lit *p, int n, unsigned long *out)
{
	unsigned long v = 0;
	int k;
	char c;

	if (p->len - p->i < (size_t)n)
		return false;
	for (k = 0; k < n; k++) {
		c = p->s[p->i + k];
		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned long)(c - 'A' + 10);
		else
			return false;
	}
	p->i += (size_t)n;
	*out = v;
	return true;
}

/* \uD83D\uDE00 (JSON style) is one code point. */
static void lit_surrogate(struct lit *p, unsigned long *cp)
{
	unsigned long lo;
	size_t save = p->i;

	if (*cp < 0xd800 || *cp > 0xdbff || p->len - p->i < 6 ||
	    p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
		return;
	p->i += 2;
	if (lit_hex(p, 4, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		return;
	}
	p->i = save;
}

/* One escape after a backslash (p->i is past the backslash). */
static int lit_escape(struct lit *p, struct pp_buf *b)
{
	static const char from[] = "\\'\"nrtbfva/";
	static const char to[] = "\\'\"\n\r\t\b\f\v\a/";
	unsigned long cp = 0;
	const char *k;
	char c;
	int n;

	if (p->i >= p->len)
		return PP_EPARSE;
	c = p->s[p->i++];
	k = c ? strchr(from, c) : NULL;
	if (k)
		return pp_buf_addc(b, to[k - from]);
	if (c == '\n')                  /* line continuation */
		return PP_OK;
	if (c >= '0' && c <= '7') {
		cp = (unsigned long)(c - '0');
		for (n = 1; n < 3 && p->i < p->len && p->s[p->i] >= '0' &&
		     p->s[p->i] <= '7'; n++)
			cp = cp * 8 + (unsigned long)(p->s[p->i++] - '0');
		return utf8_put(b, cp);
	}
	n = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
	if (!n) {                       /* Python keeps unknown escapes */
		int rc = pp_buf_addc(b, '\\');
		return rc ? rc : pp_buf_addc(b, c);
	}
	if (!lit_hex(p, n, &cp))
		return PP_EPARSE;
	if (c == 'u')
		lit_surrogate(p, &cp);
	return utf8_put(b, cp);
}

static int lit_string(struct lit *p, struct pp_json **out)
{
	struct pp_buf b = PP_BUF_INIT;
	char quote = p->s[p->i++], c;
	size_t from = p->i;
	int rc = PP_EPARSE;

	while (p->i < p->len) {
		c = p->s[p->i];
		if (c == quote || c == '\\' || c == '\n') {
			rc = pp_buf_add(&b, p->s + from, p->i - from);
			if (rc || c == '\n')
				break;
			p->i++;
			if (c == quote) {
				*out = pp_json_stringn(b.buf, b.len);
				rc = *out ? PP_OK : PP_ENOMEM;
				break;
			}
			rc = lit_escape(p, &b);
			if (rc)
				break;
			from = p->i;
			rc = PP_EPARSE;
			continue;
		}
		p->i++;
	}
	if (rc == PP_OK && !*out)
		rc = PP_EPARSE;
	pp_buf_release(&b);
	return rc;
}

static int lit_number(struct lit *p, struct pp_json **out)
{
	char tok[64], *end;
	size_t n = 0;
	long long iv;
	double dv;

	while (p->i + n < p->len && p->s[p->i + n] &&
	       strchr("+-0123456789.eE", p->s[p->i + n]))
		n++;
	if (!n || n >= sizeof(tok))
		return PP_EPARSE;
	memcpy(tok, p->s + p->i, n);
	tok[n] = '\0';
	p->i += n;
	errno = 0;
	iv = strtoll(tok, &end, 10);
	if (!*end && !errno) {
		*out = pp_json_integer(iv);
		return *out ? PP_OK : PP_ENOMEM;
	}
	errno = 0;
	dv = strtod(tok, &end);
	if (*end || errno)
		return PP_EPARSE;
	*out = pp_json_real(dv);
	return *out ? PP_OK : PP_ENOMEM;
}

static bool lit_word(struct lit *p, const char *w)
{
	size_t n = strlen(w);
	char c;

	if (p->len - p->i < n || memcmp(p->s + p->i, w, n))
		return false;
	c = p->i + n < p->len ? p->s[p->i + n] : ' ';
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_')
		return false;
	p->i += n;
	return true;
}

static int lit_list(struct lit *p, struct pp_json **out);

static int lit_value(struct lit *p, struct pp_json **out)
{
	char c = p->s[p->i];

	*out = NULL;
	if (c == '[')
		return lit_list(p, out);
	if (c == '\'' || c == '"')
		return lit_string(p, out);
	if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
		return lit_number(p, out);
	if (lit_word(p, "True") || lit_word(p, "true"))
		*out = pp_json_bool(true);
	else if (lit_word(p, "False") || lit_word(p, "false"))
		*out = pp_json_bool(false);
	else if (lit_word(p, "None") || lit_word(p, "null"))
		*out = pp_json_null();
	else
		return PP_EPARSE;
	return PP_OK;
}

static int lit_list(struct lit *p, struct pp_json **out)
{
	struct pp_json *arr = NULL, *item = NULL;
	int rc = PP_EPARSE;

	if (++p->depth > LIT_MAX_DEPTH)
		goto out;
	arr = pp_json_array();
	if (!arr) {
		rc = PP_ENOMEM;
		goto out;
	}
	p->i++;
	for (;;) {
		lit_ws(p);
		if (p->i >= p->len)
			goto out;
		if (p->s[p->i] == ']')
			break;
		rc = lit_value(p, &item);
		if (!rc)
			rc = pp_json_append(arr, item);
		if (rc)
			goto out;
		rc = PP_EPARSE;
		lit_ws(p);
		if (p->i < p->len && p->s[p->i] == ',')
			p->i++;
		else if (p->i >= p->len || p->s[p->i] != ']')
			goto out;
	}
	p->i++;
	p->depth--;
	*out = arr;
	return PP_OK;
out:
	pp_json_decref(arr);
	return rc;
}

/* *out is the list s spells, or NULL (PP_OK) when s is not a list
 * literal. */
static int parse_list_literal(const char *s, size_t len, struct pp_json **out)
{
	struct lit p = { s, len, 0, 0 };
	int rc;

	*out = NULL;
	lit_ws(&p);
	if (p.i >= len || s[p.i] != '[')
		return PP_OK;
	rc = lit_list(&p, out);
	if (rc == PP_OK) {
		lit_ws(&p);
		if (p.i == len)
			return PP_OK;
		pp_json_decref(*out);
		*out = NULL;
	}
	return rc == PP_ENOMEM ? PP_ENOMEM : PP_OK;
}

static int convert_member(const struct pp_json *v, struct pp_json **out)
{
	int rc;

	if (pp_json_is_string(v)) {
		rc = parse_list_literal(pp_json_str(v), pp_json_len(v), out);
		if (rc || *out)
			return rc;
	}
	*out = pp_json_deep_copy(v);
	return *out ? PP_OK : PP_ENOMEM;
}

int pp_wargs_convert(const struct pp_json *v, struct pp_json **out)
{
	struct pp_json *obj, *val;
	void *it;
	int rc = PP_OK;

	*out = NULL;
	if (v && !pp_json_is_object(v)) {
		*out = pp_json_deep_copy(v);
		return *out ? PP_OK : PP_ENOMEM;
	}
	obj = pp_json_object();
	if (!obj)
		return PP_ENOMEM;
	for (it = pp_json_iter(v); it; it = pp_json_iter_next(v, it)) {
		rc = convert_member(pp_json_iter_value(it), &val);
		if (!rc)
			rc = pp_json_set(obj, pp_json_iter_key(it), val);
		if (rc) {
			pp_json_decref(obj);
			return rc;
		}
	}
	*out = obj;
	return PP_OK;
}

/* ---- binding ---- */

/* Python's name for the type a JSON value becomes. */
static const char *py_type(const struct pp_json *v)
{
	switch (pp_json_type(v)) {
	case PP_JSON_OBJECT: return "dict";
	case PP_JSON_ARRAY: return "list";
	case PP_JSON_STRING: return "str";
	case PP_JSON_INTEGER: return "int";
	case PP_JSON_REAL: return "float";
	case PP_JSON_TRUE:
	case PP_JSON_FALSE: return "bool";
	case PP_JSON_NULL: break;
	}
	return "NoneType";
}

static int find_param(const struct pp_wtool *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->n_params; i++)
		if (!strcmp(t->params[i].name, name))
			return (int)i;
	return -1;
}

/* Python's wording: "missing 2 required positional arguments: 'a' and
 * 'b'". */
static int missing_error(struct pp_wcall *c, const struct pp_json *args)
{
	const struct pp_wtool *t = c->tool;
	const char *miss[PP_WTOOL_MAX_PARAMS];
	unsigned i, n = 0;
	int rc;

	for (i = 0; i < t->n_params; i++)
		if (!pp_json_get(args, t->params[i].name))
			miss[n++] = t->params[i].name;
	if (!n)
		return PP_OK;
	rc = pp_wcall_error(c, "%s() missing %u required positional argument%s: ",
			    t->name, n, n > 1 ? "s" : "");
	for (i = 0; !rc && i < n; i++) {
		if (i && n > 2)
			rc = pp_buf_add(c->res, ", ", 2);
		if (!rc && i && i == n - 1)
			rc = pp_buf_adds(c->res, n > 2 ? "and " : " and ");
		if (!rc)
			rc = pp_buf_addf(c->res, "'%s'", miss[i]);
	}
	return rc;
}

static int bind_id(struct pp_wcall *c, unsigned i, const struct pp_json *v)
{
	const char *name = c->tool->params[i].name, *s;
	char *end;
	long long n;
	double d;

	if (pp_json_int(v, &c->id[i]))
		return PP_OK;
	if (pp_json_type(v) == PP_JSON_REAL && pp_json_num(v, &d) &&
	    d > -9e18 && d < 9e18 && d == (double)(long long)d) {
		c->id[i] = (long long)d;
		return PP_OK;
	}
	if (pp_json_is_string(v)) {
		/* As Python's int(): blanks around the digits are fine. */
		s = pp_json_str(v);
		errno = 0;
		n = strtoll(s, &end, 10);
		while (end != s && *end && strchr(" \t\r\n", *end))
			end++;
		if (end != s && !*end && !errno) {
			c->id[i] = n;
			return PP_OK;
		}
		return pp_wcall_error(c, "argument '%s' of %s() must be an integer id, "
				      "and '%.80s' is not one", name, c->tool->name, s);
	}
	return pp_wcall_error(c, "argument '%s' of %s() must be an integer, not %s",
			      name, c->tool->name, py_type(v));
}

static int bind_string(struct pp_wcall *c, unsigned i, const struct pp_json *v,
		       const struct pp_json *orig)
{
	const char *name = c->tool->params[i].name;

	/* A string parameter keeps the text a list-literal conversion would
	 * have turned into a list: the tool wants the text. */
	if (!pp_json_is_string(v) && pp_json_is_array(v) && pp_json_is_string(orig))
		v = orig;
	if (!pp_json_is_string(v))
		return pp_wcall_error(c, "argument '%s' of %s() must be a string, not %s",
				      name, c->tool->name, py_type(v));
	if (pp_json_len(v) > PP_WORLD_TEXT_MAX)
		return pp_wcall_error(c, "argument '%s' of %s() is longer than %zu bytes",
				      name, c->tool->name, PP_WORLD_TEXT_MAX);
	c->str[i] = pp_json_str(v);
	c->len[i] = pp_json_len(v);
	return PP_OK;
}

static int bind_strlist(struct pp_wcall *c, unsigned i, const struct pp_json *v)
{
	const char *name = c->tool->params[i].name;
	size_t k, n;

	if (!pp_json_is_array(v))
		return pp_wcall_error(c, "argument '%s' of %s() must be a list of "
				      "strings, not %s", name, c->tool->name, py_type(v));
	n = pp_json_len(v);
	for (k = 0; k < n; k++)
		if (!pp_json_is_string(pp_json_at(v, k)))
			return pp_wcall_error(c, "argument '%s' of %s() must be a list "
					      "of strings, but item %zu is %s", name,
					      c->tool->name, k,
					      py_type(pp_json_at(v, k)));
	c->list[i] = v;
	return PP_OK;
}

int pp_wargs_bind(struct pp_wcall *c, const struct pp_json *args,
		  const struct pp_json *orig)
{
	const struct pp_wtool *t = c->tool;
	const struct pp_json *v;
	void *it;
	unsigned i;
	int rc;

	if (!pp_json_is_object(args))
		return pp_wcall_error(c, "the arguments of %s() must be a JSON "
				      "object, not %s", t->name, py_type(args));
	for (it = pp_json_iter(args); it; it = pp_json_iter_next(args, it))
		if (find_param(t, pp_json_iter_key(it)) < 0)
			return pp_wcall_error(c, "%s() got an unexpected keyword "
					      "argument '%s'", t->name,
					      pp_json_iter_key(it));
	rc = missing_error(c, args);
	if (rc || !c->ok)
		return rc;
	for (i = 0; c->ok && i < t->n_params; i++) {
		v = pp_json_get(args, t->params[i].name);
		switch (t->params[i].type) {
		case PP_WP_STRING:
			rc = bind_string(c, i, v, pp_json_get(orig, t->params[i].name));
			break;
		case PP_WP_ID:
			rc = bind_id(c, i, v);
			break;
		case PP_WP_STRLIST:
			rc = bind_strlist(c, i, v);
			break;
		}
		if (rc)
			return rc;
	}
	return PP_OK;
}
