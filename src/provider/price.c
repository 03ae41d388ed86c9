/*
 * price.c - the price table: list prices built in, entries from a user's
 * prices file over them, the lookup rule and the cost of a call.
 *
 * Invariants: the built-in table is constant; a table's user entries are
 * only appended (by pp_price_table_add_file, all of a file or none), so a
 * loaded table is read-only and lookups need no lock. A later user entry
 * wins over an earlier one and over a built-in entry of the same id.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <peerpres/json.h>
#include <peerpres/price.h>
#include <peerpres/status.h>
#include <peerpres/yaml.h>

#include "core/alloc.h"

/* Most entries a prices file may hold. */
#define MAX_USER_ENTRIES 4096

struct builtin {
	const char *model;
	double input, cached_input, output;   /* cached_input < 0: same as input */
	bool reasons;
	const char *checked;
	const char *source;
};

#define OPENAI_PAGE "OpenAI API pricing page"
#define ANTHROPIC_PAGE "Anthropic pricing page"
#define GOOGLE_PAGE "Gemini Developer API pricing page"
#define TOGETHER_PAGE "Together serverless pricing"
#define MAKER_PRICE "the model maker's list price; check Together's"

/*
 * USD per million tokens, standard tier, prompts under the long-context
 * threshold (Gemini Pro and Anthropic's long-context rates are higher past
 * 200K tokens, Claude Haiku 5.5's past 100K; peerpres rollouts stop at
 * 120K by default). Reasoning is billed as output by every provider here.
 */
static const struct builtin builtins[] = {
	/* OpenAI */
	{ "openai/gpt-5.5", 5.00, 0.50, 30.00, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.5-pro", 30.00, -1, 180.00, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.4", 2.50, 0.25, 15.00, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.4-mini", 0.75, 0.075, 4.50, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.4-nano", 0.20, 0.02, 1.25, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.4-pro", 30.00, -1, 180.00, true, "2026-06-04", OPENAI_PAGE },
	{ "openai/gpt-5.2", 1.75, 0.175, 14.00, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-5.1", 1.25, 0.125, 10.00, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-5", 1.25, 0.125, 10.00, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-5-mini", 0.25, 0.025, 2.00, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-5-nano", 0.05, 0.005, 0.40, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-4.1", 2.00, 0.50, 8.00, false, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-4.1-mini", 0.40, 0.10, 1.60, false, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-4.1-nano", 0.10, 0.025, 0.40, false, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-4o", 2.50, 1.25, 10.00, false, "2026-04-01", OPENAI_PAGE },
	{ "openai/gpt-4o-mini", 0.15, 0.075, 0.60, false, "2026-04-01", OPENAI_PAGE },
	{ "openai/o3", 2.00, 0.50, 8.00, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/o3-mini", 1.10, 0.55, 4.40, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/o4-mini", 1.10, 0.275, 4.40, true, "2026-04-01", OPENAI_PAGE },
	{ "openai/o1", 15.00, 7.50, 60.00, true, "2026-04-01", OPENAI_PAGE },

	/* Anthropic: cached input is the price of a cache hit. */
	{ "anthropic/claude-fable-5-1", 10.00, 0.25, 50.00, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-5-5", 4.00, 0.20, 20.00, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-5", 5.00, 0.50, 25.00, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-8", 5.00, 0.50, 25.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-7", 5.00, 0.50, 25.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-6", 5.00, 0.50, 25.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-5", 5.00, 0.50, 25.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-1", 15.00, 1.50, 75.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4-0", 15.00, 1.50, 75.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-opus-4", 15.00, 1.50, 75.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-5-5", 2.00, 0.10, 10.00, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-5", 2.00, 0.20, 10.00, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-4-6", 3.00, 0.30, 15.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-4-5", 3.00, 0.30, 15.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-4-0", 3.00, 0.30, 15.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-sonnet-4", 3.00, 0.30, 15.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-3-7-sonnet", 3.00, 0.30, 15.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-haiku-5-5", 0.10, 0.01, 0.50, true, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-haiku-4-5", 1.00, 0.10, 5.00, false, "2026-10-24", ANTHROPIC_PAGE },
	{ "anthropic/claude-3-5-haiku", 0.80, 0.08, 4.00, false, "2026-10-24", ANTHROPIC_PAGE },

	/* Google: the output price includes thinking. */
	{ "google/gemini-3.8-flash", 0.75, 0.075, 3.75, true, "2026-10-07",
	  GOOGLE_PAGE " (offer to 2026-12-31, then 1.50/7.50)" },
	{ "google/gemini-3.5-flash", 1.50, -1, 9.00, true, "2026-10-07", GOOGLE_PAGE },
	{ "google/gemini-3.5-flash-lite", 0.30, -1, 2.50, true, "2026-10-07", GOOGLE_PAGE },
	{ "google/gemini-3.1-pro-preview", 2.00, 0.20, 12.00, true, "2026-10-07", GOOGLE_PAGE },
	{ "google/gemini-3.1-flash-lite-preview", 0.25, -1, 1.50, true, "2026-04-19", GOOGLE_PAGE },
	{ "google/gemini-3-pro-preview", 2.00, 0.20, 12.00, true, "2026-04-19", GOOGLE_PAGE },
	{ "google/gemini-3-flash-preview", 0.50, 0.05, 3.00, true, "2026-04-19", GOOGLE_PAGE },
	{ "google/gemini-2.5-pro", 1.25, 0.125, 10.00, true, "2026-10-07", GOOGLE_PAGE },
	{ "google/gemini-2.5-flash", 0.30, 0.03, 2.50, true, "2026-10-07", GOOGLE_PAGE },
	{ "google/gemini-2.5-flash-lite", 0.10, 0.01, 0.40, false, "2026-10-07", GOOGLE_PAGE },

	/* Together: the open-weight models of the study. */
	{ "together/deepseek-ai/DeepSeek-V3.1", 0.60, -1, 1.70, false, "2025-10-01", TOGETHER_PAGE },
	{ "together/deepseek-ai/DeepSeek-R1", 3.00, -1, 7.00, true, "2025-10-01", TOGETHER_PAGE },
	{ "together/moonshotai/Kimi-K2.5", 0.60, -1, 3.00, true, "2026-03-26", MAKER_PRICE },
	{ "together/moonshotai/Kimi-K2-Instruct-0905", 1.00, -1, 3.00, false, "2025-10-01", TOGETHER_PAGE },
	{ "together/zai-org/GLM-5", 1.00, -1, 3.20, true, "2026-10-01", MAKER_PRICE },
	{ "together/zai-org/GLM-4.7", 0.60, -1, 2.20, true, "2026-10-01", MAKER_PRICE },
	{ "together/zai-org/GLM-4.6", 0.60, -1, 2.20, true, "2025-10-01", TOGETHER_PAGE },
	{ "together/openai/gpt-oss-120b", 0.15, -1, 0.60, true, "2025-10-01", TOGETHER_PAGE },
};

#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

struct pp_price_table {
	struct pp_price *user;     /* from prices files, in the order read */
	size_t n_user;
	char *file;                /* the last file read, or NULL */
};

static void from_builtin(const struct builtin *b, struct pp_price *out)
{
	memset(out, 0, sizeof(*out));
	out->input_usd_per_mtok = b->input;
	out->cached_input_usd_per_mtok = b->cached_input < 0 ? b->input : b->cached_input;
	out->output_usd_per_mtok = b->output;
	out->reasoning_usd_per_mtok = b->output;
	out->reasons = b->reasons;
	snprintf(out->model, sizeof(out->model), "%s", b->model);
	snprintf(out->checked, sizeof(out->checked), "%s", b->checked);
	snprintf(out->source, sizeof(out->source), "%s", b->source);
}

int pp_price_table_new(struct pp_price_table **out)
{
	*out = pp_calloc(1, sizeof(**out));
	return *out ? PP_OK : PP_ENOMEM;
}

void pp_price_table_free(struct pp_price_table *t)
{
	if (!t)
		return;
	free(t->user);
	free(t->file);
	free(t);
}

const char *pp_price_table_file(const struct pp_price_table *t)
{
	return t ? t->file : NULL;
}

size_t pp_price_table_len(const struct pp_price_table *t)
{
	return N_BUILTINS + (t ? t->n_user : 0);
}

int pp_price_table_at(const struct pp_price_table *t, size_t i, struct pp_price *out)
{
	if (i < N_BUILTINS) {
		from_builtin(&builtins[i], out);
		return PP_OK;
	}
	i -= N_BUILTINS;
	if (!t || i >= t->n_user)
		return PP_ENOTFOUND;
	*out = t->user[i];
	return PP_OK;
}

/* ------------------------------------------------------------ lookup */

static bool snapshot_part(const char *p, size_t n)
{
	static const char *const words[] = { "latest", "preview", "exp" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !strncasecmp(p, words[i], n))
			return true;
	if (n < 2)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

/* Is rest (what follows an entry's id in a model id) a snapshot suffix? */
static bool snapshot_suffix(const char *rest)
{
	const char *p;
	size_t n;

	if (rest[0] != '-' && rest[0] != '@')
		return false;
	for (p = rest + 1;; p += n + 1) {
		n = strcspn(p, "-");
		if (!snapshot_part(p, n))
			return false;
		if (!p[n])
			return true;
	}
}

/* 0 when key does not cover model, else the length of key. */
static size_t covers(const char *key, const char *model)
{
	size_t n = strlen(key);

	if (strncasecmp(key, model, n))
		return 0;
	return !model[n] || snapshot_suffix(model + n) ? n : 0;
}

static void reference_price(const char *model, struct pp_price *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->model, sizeof(out->model), "%s", model);
	snprintf(out->source, sizeof(out->source), "reference agents run in-process, unbilled");
}

/* How well key fits model: 0 not at all; an exact id beats any snapshot
 * match. */
static size_t score(const char *key, const char *model)
{
	size_t n = covers(key, model);

	return n && !model[n] ? n + ((size_t)1 << 20) : n;
}

int pp_price_lookup(const struct pp_price_table *t, const char *model, struct pp_price *out)
{
	const struct pp_price *best_user = NULL;
	const struct builtin *best_builtin = NULL;
	size_t i, n, best = 0;

	memset(out, 0, sizeof(*out));
	if (!model)
		return PP_EINVAL;
	if (!strncmp(model, "ref/", 4)) {
		reference_price(model, out);
		return PP_OK;
	}
	for (i = 0; i < N_BUILTINS; i++)
		if ((n = score(builtins[i].model, model)) > best) {
			best = n;
			best_builtin = &builtins[i];
		}
	/* User entries win ties, the later one over the earlier. */
	for (i = 0; t && i < t->n_user; i++)
		if ((n = score(t->user[i].model, model)) && n >= best) {
			best = n;
			best_user = &t->user[i];
		}
	if (best_user)
		*out = *best_user;
	else if (best_builtin)
		from_builtin(best_builtin, out);
	return best ? PP_OK : PP_ENOTFOUND;
}

static double clip(long v, long max)
{
	if (v < 0)
		return 0;
	return (double)(max >= 0 && v > max ? max : v);
}

double pp_price_cost_usd(const struct pp_price *p, long input_tokens, long output_tokens,
			 long reasoning_tokens, long cached_tokens)
{
	double in, cached, out, reasoning;

	if (!p)
		return 0;
	in = clip(input_tokens, -1);
	cached = clip(cached_tokens, (long)in);
	out = clip(output_tokens, -1);
	reasoning = clip(reasoning_tokens, (long)out);
	return ((in - cached) * p->input_usd_per_mtok +
		cached * p->cached_input_usd_per_mtok +
		(out - reasoning) * p->output_usd_per_mtok +
		reasoning * p->reasoning_usd_per_mtok) / 1e6;
}

/* ------------------------------------------------------- prices files */

struct reading {
	const char *path;
	const struct pp_srcmap *map;
	struct pp_diag *diag;
};

/* A failure at node's place in the file. */
static int bad(const struct reading *r, const struct pp_json *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct reading *r, const struct pp_json *node, const char *fmt, ...)
{
	char msg[768];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->map)
		pp_srcmap_find(r->map, node, &line, &col);
	return pp_diag_set(r->diag, PP_EINVAL, r->path, line, col, "%s", msg);
}

static int read_rate(const struct reading *r, const char *model, const struct pp_json *e,
		     const char *field, bool required, double *out)
{
	const struct pp_json *v = pp_json_get(e, field);

	if (!v) {
		if (required)
			return bad(r, e, "price of '%s': field '%s' is missing "
				   "(USD per million tokens)", model, field);
		return PP_OK;
	}
	if (!pp_json_num(v, out) || !isfinite(*out) || *out < 0)
		return bad(r, v, "price of '%s': field '%s' must be a number of USD per "
			   "million tokens, at least 0", model, field);
	return PP_OK;
}

static bool is_date(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return false;
	return true;
}

static int read_text(const struct reading *r, const char *model, const struct pp_json *e,
		     const char *field, char *out, size_t len)
{
	const struct pp_json *v = pp_json_get(e, field);

	if (!v)
		return PP_OK;
	if (!pp_json_is_string(v) || pp_json_len(v) >= len)
		return bad(r, v, "price of '%s': field '%s' must be a string of at most %zu "
			   "characters", model, field, len - 1);
	if (!strcmp(field, "checked") && !is_date(pp_json_str(v)))
		return bad(r, v, "price of '%s': field 'checked' must be a date YYYY-MM-DD, "
			   "not '%s'", model, pp_json_str(v));
	snprintf(out, len, "%s", pp_json_str(v));
	return PP_OK;
}

static int check_fields(const struct reading *r, const char *model, const struct pp_json *e)
{
	static const char *const known[] = {
		"input", "output", "cached_input", "reasoning", "reasons", "checked", "source", NULL
	};
	void *it;
	size_t i;

	for (it = pp_json_iter(e); it; it = pp_json_iter_next(e, it)) {
		const char *k = pp_json_iter_key(it);

		for (i = 0; known[i] && strcmp(known[i], k); i++)
			;
		if (!known[i])
			return bad(r, pp_json_iter_value(it), "price of '%s': unknown field '%s' "
				   "(known: input, output, cached_input, reasoning, reasons, "
				   "checked, source)", model, k);
	}
	return PP_OK;
}

static int check_id(const struct reading *r, const char *model, const struct pp_json *e)
{
	const char *slash = strchr(model, '/');

	if (!slash || slash == model || !slash[1])
		return bad(r, e, "price of '%s': a model id is 'provider/model', e.g. "
			   "'openai/gpt-4.1'", model);
	if (!strncmp(model, "ref/", 4))
		return bad(r, e, "price of '%s': the reference agents cost nothing and take "
			   "no price", model);
	if (strlen(model) >= sizeof(((struct pp_price *)0)->model))
		return bad(r, e, "price of '%.60s...': the model id is too long", model);
	return PP_OK;
}

static int read_entry(const struct reading *r, const char *model, const struct pp_json *e,
		      struct pp_price *p)
{
	const struct pp_json *reasons = pp_json_get(e, "reasons");
	int rc;

	memset(p, 0, sizeof(*p));
	p->user = true;
	if ((rc = check_id(r, model, e)))
		return rc;
	if (!pp_json_is_object(e))
		return bad(r, e, "price of '%s': expected an object with 'input' and 'output'",
			   model);
	snprintf(p->model, sizeof(p->model), "%s", model);
	if (!(rc = check_fields(r, model, e)))
		rc = read_rate(r, model, e, "input", true, &p->input_usd_per_mtok);
	if (!rc)
		rc = read_rate(r, model, e, "output", true, &p->output_usd_per_mtok);
	p->cached_input_usd_per_mtok = p->input_usd_per_mtok;
	p->reasoning_usd_per_mtok = p->output_usd_per_mtok;
	if (!rc)
		rc = read_rate(r, model, e, "cached_input", false, &p->cached_input_usd_per_mtok);
	if (!rc)
		rc = read_rate(r, model, e, "reasoning", false, &p->reasoning_usd_per_mtok);
	if (!rc)
		rc = read_text(r, model, e, "checked", p->checked, sizeof(p->checked));
	if (!rc)
		rc = read_text(r, model, e, "source", p->source, sizeof(p->source));
	if (!rc && reasons && !pp_json_is_bool(reasons))
		rc = bad(r, reasons, "price of '%s': field 'reasons' must be true or false", model);
	p->reasons = pp_json_is_true(reasons);
	return rc;
}

static int read_prices(const struct reading *r, const struct pp_json *root,
		       struct pp_price **out, size_t *n_out)
{
	const struct pp_json *prices = pp_json_get(root, "prices");
	struct pp_price *list = NULL;
	size_t n = 0;
	void *it;
	int rc = PP_OK;

	if (!pp_json_is_object(root) || pp_json_len(root) != 1 || !pp_json_is_object(prices))
		return bad(r, root, "a prices file is one object, {\"prices\": {\"provider/model\": "
			   "{\"input\": USD, \"output\": USD}, ...}}");
	if (pp_json_len(prices) > MAX_USER_ENTRIES)
		return bad(r, prices, "more than %d prices", MAX_USER_ENTRIES);
	if (pp_json_len(prices) && !(list = pp_calloc(pp_json_len(prices), sizeof(*list))))
		return PP_ENOMEM;
	for (it = pp_json_iter(prices); !rc && it; it = pp_json_iter_next(prices, it))
		if (!(rc = read_entry(r, pp_json_iter_key(it), pp_json_iter_value(it), &list[n])))
			n++;
	if (rc) {
		free(list);
		return rc;
	}
	*out = list;
	*n_out = n;
	return PP_OK;
}

/* Appends list to t's user entries. */
static int adopt(struct pp_price_table *t, const char *path, struct pp_price *list, size_t n,
		 struct pp_diag *diag)
{
	struct pp_price *grown;
	char *file;

	if (t->n_user + n > MAX_USER_ENTRIES)
		return pp_diag_set(diag, PP_ERANGE, path, 0, 0,
				   "more than %d prices in all the prices files", MAX_USER_ENTRIES);
	if (!(file = pp_strdup(path)))
		return PP_ENOMEM;
	if (n) {
		if (!(grown = pp_realloc(t->user, (t->n_user + n) * sizeof(*grown)))) {
			free(file);
			return PP_ENOMEM;
		}
		memcpy(grown + t->n_user, list, n * sizeof(*list));
		t->user = grown;
		t->n_user += n;
	}
	free(t->file);
	t->file = file;
	return PP_OK;
}

int pp_price_table_add_file(struct pp_price_table *t, const char *path, struct pp_diag *diag)
{
	struct reading r = { path, NULL, diag };
	struct pp_json *root = NULL;
	struct pp_srcmap *map = NULL;
	struct pp_price *list = NULL;
	size_t n = 0;
	int rc;

	if (!t || !path)
		return PP_EINVAL;
	if ((rc = pp_yaml_load_file(path, &root, &map, diag)))
		return rc;
	r.map = map;
	rc = read_prices(&r, root, &list, &n);
	if (!rc)
		rc = adopt(t, path, list, n, diag);
	free(list);
	pp_json_decref(root);
	pp_srcmap_free(map);
	return rc;
}

int pp_price_table_load(struct pp_price_table **out, const char *prices_file,
			struct pp_diag *diag)
{
	struct pp_price_table *t = NULL;
	int rc = pp_price_table_new(&t);

	*out = NULL;
	if (!rc && prices_file)
		rc = pp_price_table_add_file(t, prices_file, diag);
	else if (!rc && !access(PP_PRICES_DEFAULT_FILE, F_OK))
		rc = pp_price_table_add_file(t, PP_PRICES_DEFAULT_FILE, diag);
	if (rc) {
		pp_price_table_free(t);
		return rc;
	}
	*out = t;
	return PP_OK;
}
