/*
 * price.h - what model calls cost: a table of list prices, and the cost
 * of a call's usage under one of them.
 *
 * Prices are USD per million tokens, as the providers publish them. The
 * built-in table holds the list prices of the models a safety team is
 * likely to run, each with the date it was last compared with the
 * provider's published price; prices change, so a user file (JSON or
 * YAML, see pp_price_table_add_file) adds models and overrides entries.
 *
 * A model id matches an entry when it is the entry's "provider/model"
 * exactly (case aside), else when the entry is the longest one that the
 * id extends by a snapshot suffix: a '-' or '@' and then dash-separated
 * parts that are each a number of two or more digits or one of "latest",
 * "preview", "exp" ("openai/gpt-4.1-2025-04-14" is gpt-4.1,
 * "anthropic/claude-haiku-4-5-20251001" is claude-haiku-4-5), so that
 * "gpt-4.1-mini" never borrows the price of "gpt-4.1". The reference
 * agents ("ref/...") cost nothing. Any other model has no price: callers
 * report its cost as unknown, never as 0.
 *
 * A table is read-only once loaded: lookups may run from any thread.
 */
#ifndef PEERPRES_PRICE_H
#define PEERPRES_PRICE_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/diag.h>

/* The file a run reads when no --prices FILE is given, if it exists. */
#define PP_PRICES_DEFAULT_FILE "peerpres-prices.json"

struct pp_price {
	double input_usd_per_mtok;         /* input not read from a cache */
	double cached_input_usd_per_mtok;  /* input read from the provider's prompt cache */
	double output_usd_per_mtok;        /* visible output */
	double reasoning_usd_per_mtok;     /* reasoning; the output price for every listed model */
	bool reasons;          /* the model reasons by default (for plan's estimate) */
	bool user;             /* the entry came from a prices file */
	char model[160];       /* the entry that matched ("openai/gpt-4.1"); a ref id itself */
	char checked[16];      /* "YYYY-MM-DD" the price was last checked, or "" */
	char source[96];       /* where the price was read, or "" */
};

struct pp_price_table;

/* A new table holding the built-in prices only. PP_OK or PP_ENOMEM. */
int pp_price_table_new(struct pp_price_table **out);

/*
 * Reads a prices file (JSON or YAML) into t: its entries add models or
 * replace the built-in ones of the same id. The file is
 *   {"prices": {"provider/model": {"input": 2.0, "output": 8.0,
 *               "cached_input": 0.5, "reasoning": 8.0, "reasons": true,
 *               "checked": "2026-11-01", "source": "..."}, ...}}
 * where input and output are required and the rest optional
 * (cached_input defaults to input, reasoning to output). Unknown fields,
 * negative or non-numeric prices, ids without a provider and "ref/" ids
 * are errors. On error, diag names the file, the line and column and the
 * field, and t is unchanged. Returns PP_OK, PP_ENOTFOUND or PP_EIO (the
 * file cannot be read), PP_EPARSE (not YAML or JSON), PP_EINVAL (a bad
 * entry), PP_ERANGE (more than 4096 entries in all) or PP_ENOMEM.
 */
int pp_price_table_add_file(struct pp_price_table *t, const char *path, struct pp_diag *diag);

/*
 * The table a run uses: the built-in prices, then prices_file when given
 * (it must exist), else PP_PRICES_DEFAULT_FILE in the working directory
 * when that exists. *out is new (free with pp_price_table_free); errors
 * as pp_price_table_add_file.
 */
int pp_price_table_load(struct pp_price_table **out, const char *prices_file,
			struct pp_diag *diag);

/* NULL-safe. */
void pp_price_table_free(struct pp_price_table *t);

/* The prices file read into t (borrowed), or NULL when none was. */
const char *pp_price_table_file(const struct pp_price_table *t);

/*
 * The price of a "provider/model" id by the rule above; t NULL means the
 * built-in table. Fills *out and returns PP_OK, or PP_ENOTFOUND when the
 * model has no price (then *out is zeroed), or PP_EINVAL for a NULL id.
 * Pure: no I/O, no allocation.
 */
int pp_price_lookup(const struct pp_price_table *t, const char *model, struct pp_price *out);

/*
 * The cost in USD of usage as struct pp_model_reply reports it:
 * input_tokens counts every input token, cached_tokens the part of them
 * read from a prompt cache; output_tokens counts every output token,
 * reasoning_tokens the part of them spent reasoning. Parts larger than
 * their whole are clipped to it and negative counts count as 0. Returns
 * 0 for a NULL price. Pure.
 */
double pp_price_cost_usd(const struct pp_price *p, long input_tokens, long output_tokens,
			 long reasoning_tokens, long cached_tokens);

/* The number of entries (built-in and from files) and the i-th of them
 * in table order, for listings; i out of range gives PP_ENOTFOUND. */
size_t pp_price_table_len(const struct pp_price_table *t);
int pp_price_table_at(const struct pp_price_table *t, size_t i, struct pp_price *out);

#endif
