/*
 * report_variants.c - keeping arms apart that share a model and the nine
 * dimensions.
 *
 * A config's id also hashes the scenario file (an overlay changes it),
 * max_iters, the temperature, the reasoning effort, the provider route
 * and the family. Every table, group, metric and usage row of the report
 * keys on the dimensions and the model, so two such arms in one store
 * (a control and its reworded document, runs at two max_iters) would be
 * pooled into one cell. pp_report_variants() gives each config whose arm
 * needs telling apart a model that says how: "ref/synthetic
 * [max_iters=5]", and the same text in "variant". Everything downstream
 * then keeps the arms apart without knowing about them.
 *
 * A key is shown where its value differs between configs of one model.
 * An overlay arm is told by "overlay" (its file name; "none" for the
 * control), one value in every scenario it touches; the overlay's hash
 * only where one name stands for different bytes; the scenario file's
 * hash, which differs from scenario to scenario and arm to arm anyway,
 * only where it differs within one model, scenario and overlay (a
 * scenario file edited between two runs). Configs that are still alike
 * in all of that and yet have different ids (an identity input the
 * record does not carry) get their short id.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/buf.h>
#include <peerpres/report.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "report/report_int.h"

/* Keys of a config's record that are not the inputs telling arms apart
 * (an import's origin_config_id differs from config to config: arms it
 * keeps apart are told by the clash rule below; `names`, who is who,
 * follows from the subject, the family and the scenario file). */
static const char *const not_arm_keys[] = {
	"config_id", "origin_config_id", "rollouts", "required_labels", "truth",
	"names", "model", "variant",
	"scenario", "subject", "condition", "instantiation", "dataset",
	"threshold", "mode", "scratchpad", NULL,
};

#define SCENARIO_HASH "scenario_hash"
#define OVERLAY "overlay"
#define OVERLAY_HASH "overlay_sha256"
#define SHORT_HASH 8

static int listed(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(key, *list))
			return 1;
	return 0;
}

/* The length of key's prefix before suffix ("origin_" for an import's
 * "origin_scenario_hash"), or -1 when key does not end in it. */
static long prefix_of(const char *key, const char *suffix)
{
	size_t n = strlen(key), m = strlen(suffix);

	return n >= m && !strcmp(key + n - m, suffix) ? (long)(n - m) : -1;
}

/* Hashes are shown short. */
static int is_hash(const char *key)
{
	return prefix_of(key, SCENARIO_HASH) >= 0 || prefix_of(key, OVERLAY_HASH) >= 0;
}

/* A value as a label shows it: strings as they are, null as "none". */
static int add_value_text(struct pp_buf *b, const char *key, const struct pp_json *v)
{
	const char *s = pp_json_str(v);
	char *canon;
	int rc;

	if (s)
		return pp_buf_add(b, s, is_hash(key) ? strnlen(s, SHORT_HASH) : strlen(s));
	if (!v || pp_json_is_null(v))
		return pp_buf_adds(b, "none");
	if (!(canon = pp_json_canonical(v)))
		return PP_ENOMEM;
	rc = pp_buf_adds(b, canon);
	free(canon);
	return rc;
}

/* Appends "\x1f" and the value of the key named prefix + name. */
static int add_qualifier(struct pp_buf *b, const struct pp_json *cfg, const char *key,
			 long prefix, const char *name)
{
	struct pp_buf k = PP_BUF_INIT;
	int rc = pp_buf_add(&k, key, (size_t)prefix);

	if (!rc)
		rc = pp_buf_adds(&k, name);
	if (!rc)
		rc = pp_buf_addc(b, '\x1f');
	if (!rc)
		rc = add_value_text(b, "", pp_json_get(cfg, k.buf ? k.buf : ""));
	pp_buf_release(&k);
	return rc;
}

/* "model\x1fkey", and for the hashes what they are compared within (the
 * scenario and the overlay for the scenario file's, the overlay's name
 * for the overlay's): the configs whose values of key are compared. */
static int scope_of(struct pp_buf *b, const struct pp_json *cfg, const char *key)
{
	long scen = prefix_of(key, SCENARIO_HASH), over = prefix_of(key, OVERLAY_HASH);
	int rc;

	pp_buf_reset(b);
	rc = pp_buf_adds(b, pp_json_get_str(cfg, "model", ""));
	if (!rc)
		rc = pp_buf_addc(b, '\x1f');
	if (!rc)
		rc = pp_buf_adds(b, key);
	if (!rc && scen >= 0) {
		rc = pp_buf_addc(b, '\x1f');
		if (!rc)
			rc = pp_buf_adds(b, pp_json_get_str(cfg, "scenario", ""));
		if (!rc)
			rc = add_qualifier(b, cfg, key, scen, OVERLAY_HASH);
	}
	if (!rc && over >= 0)
		rc = add_qualifier(b, cfg, key, over, OVERLAY);
	return rc;
}

/*
 * Fills `varies` with the scopes (scope_of) where some key takes more
 * than one value, and `keys` with every arm key seen. `first` remembers
 * a scope's first value.
 */
static int find_varying(const struct pp_json *summary, struct pp_json *keys,
			struct pp_json *varies)
{
	struct pp_json *first = pp_json_object();
	struct pp_buf scope = PP_BUF_INIT, val = PP_BUF_INIT;
	size_t i;
	int rc = first ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(summary); i++) {
		const struct pp_json *cfg = pp_json_at(summary, i);
		void *it;

		for (it = pp_json_iter(cfg); !rc && it; it = pp_json_iter_next(cfg, it)) {
			const char *key = pp_json_iter_key(it), *seen;

			if (listed(key, not_arm_keys))
				continue;
			pp_buf_reset(&val);
			if ((rc = pp_json_set(keys, key, pp_json_bool(true))) ||
			    (rc = scope_of(&scope, cfg, key)) ||
			    (rc = add_value_text(&val, key, pp_json_iter_value(it))))
				break;
			seen = pp_json_get_str(first, scope.buf, NULL);
			if (!seen)
				rc = pp_json_set_str(first, scope.buf, val.buf);
			else if (strcmp(seen, val.buf))
				rc = pp_json_set(varies, scope.buf, pp_json_bool(true));
		}
	}
	/* A key some configs of a scope lack also tells them apart. */
	for (i = 0; !rc && i < pp_json_len(summary); i++) {
		const struct pp_json *cfg = pp_json_at(summary, i);
		void *it;

		for (it = pp_json_iter(keys); !rc && it; it = pp_json_iter_next(keys, it)) {
			const char *key = pp_json_iter_key(it);

			if (!pp_json_get(cfg, key) && !(rc = scope_of(&scope, cfg, key)) &&
			    pp_json_get(first, scope.buf))
				rc = pp_json_set(varies, scope.buf, pp_json_bool(true));
		}
	}
	pp_buf_release(&scope);
	pp_buf_release(&val);
	pp_json_decref(first);
	return rc;
}

/* "max_iters=5, temperature=0.7" for one config, in key order. */
static int arm_text(const struct pp_json *cfg, const char **keys, size_t n_keys,
		    const struct pp_json *varies, struct pp_buf *scope, struct pp_buf *out)
{
	size_t k;
	int rc = PP_OK;

	pp_buf_reset(out);
	for (k = 0; !rc && k < n_keys; k++) {
		if ((rc = scope_of(scope, cfg, keys[k])) || !pp_json_get(varies, scope->buf))
			continue;
		if (out->len)
			rc = pp_buf_adds(out, ", ");
		if (!rc)
			rc = pp_buf_addf(out, "%s=", keys[k]);
		if (!rc)
			rc = add_value_text(out, keys[k], pp_json_get(cfg, keys[k]));
	}
	return rc;
}

/* The config with "model" and "variant" set: a shallow copy. */
static int relabel(const struct pp_json *cfg, const char *variant, struct pp_json **out)
{
	struct pp_json *c = pp_json_copy(cfg);
	struct pp_buf model = PP_BUF_INIT;
	int rc = c ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_buf_addf(&model, "%s [%s]", pp_json_get_str(cfg, "model", ""), variant);
	if (!rc)
		rc = pp_json_set_str(c, "model", model.buf);
	if (!rc)
		rc = pp_json_set_str(c, "variant", variant);
	pp_buf_release(&model);
	if (rc) {
		pp_json_decref(c);
		return rc;
	}
	*out = c;
	return PP_OK;
}

/* The model and the nine dimensions of a config, as one key. */
static int cell_key(const struct pp_json *cfg, struct pp_buf *b)
{
	static const char *const dims[] = {
		"model", "scenario", "subject", "condition", "instantiation",
		"dataset", "threshold", "mode", "scratchpad", NULL,
	};
	const char *const *d;
	int rc = PP_OK;

	pp_buf_reset(b);
	for (d = dims; !rc && *d; d++) {
		rc = add_value_text(b, *d, pp_json_get(cfg, *d));
		if (!rc)
			rc = pp_buf_addc(b, '\x1f');
	}
	return rc;
}

/* Configs alike in the model, the dimensions and every arm key, with
 * different ids: the ids of cells that hold more than one. */
static int find_clashes(const struct pp_json *marked, struct pp_json *clash)
{
	struct pp_json *owner = pp_json_object();
	struct pp_buf key = PP_BUF_INIT;
	size_t i;
	int rc = owner ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(marked); i++) {
		const struct pp_json *cfg = pp_json_at(marked, i);
		const char *id = pp_json_get_str(cfg, "config_id", ""), *had;

		if ((rc = cell_key(cfg, &key)))
			break;
		had = pp_json_get_str(owner, key.buf, NULL);
		if (!had)
			rc = pp_json_set_str(owner, key.buf, id);
		else if (strcmp(had, id) &&
			 !(rc = pp_json_set(clash, had, pp_json_bool(true))))
			rc = pp_json_set(clash, id, pp_json_bool(true));
	}
	pp_buf_release(&key);
	pp_json_decref(owner);
	return rc;
}

/* The config's arm text, with its short id when it clashes. */
static int mark_one(const struct pp_json *cfg, const char **keys, size_t n_keys,
		    const struct pp_json *varies, const struct pp_json *clash,
		    struct pp_json **out)
{
	struct pp_buf scope = PP_BUF_INIT, text = PP_BUF_INIT;
	const char *id = pp_json_get_str(cfg, "config_id", "");
	int rc = arm_text(cfg, keys, n_keys, varies, &scope, &text);

	if (!rc && clash && pp_json_get(clash, id))
		rc = pp_buf_addf(&text, "%sconfig=%.*s", text.len ? ", " : "", SHORT_HASH, id);
	if (!rc)
		rc = text.len ? relabel(cfg, text.buf, out) :
		     (*out = pp_json_incref((struct pp_json *)cfg), PP_OK);
	pp_buf_release(&scope);
	pp_buf_release(&text);
	return rc;
}

static int mark_all(const struct pp_json *summary, const char **keys, size_t n_keys,
		    const struct pp_json *varies, const struct pp_json *clash,
		    struct pp_json **out)
{
	struct pp_json *marked = pp_json_array(), *cfg = NULL;
	size_t i;
	int rc = marked ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(summary); i++)
		if (!(rc = mark_one(pp_json_at(summary, i), keys, n_keys, varies, clash, &cfg)))
			rc = pp_json_append(marked, cfg);
	if (rc) {
		pp_json_decref(marked);
		return rc;
	}
	*out = marked;
	return PP_OK;
}

int pp_report_variants(const struct pp_json *summary, struct pp_json **out)
{
	struct pp_json *keys = pp_json_object(), *varies = pp_json_object();
	struct pp_json *clash = pp_json_object(), *marked = NULL;
	const char **names = NULL;
	size_t n_names = 0;
	int rc = keys && varies && clash ? PP_OK : PP_ENOMEM;

	*out = NULL;
	if (!rc)
		rc = find_varying(summary, keys, varies);
	if (!rc)
		rc = pp_report_sorted_keys(keys, &names, &n_names);
	if (!rc)
		rc = mark_all(summary, names, n_names, varies, NULL, &marked);
	if (!rc)
		rc = find_clashes(marked, clash);
	if (!rc && pp_json_len(clash)) {
		pp_json_decref(marked);
		marked = NULL;
		rc = mark_all(summary, names, n_names, varies, clash, &marked);
	}
	if (!rc)
		*out = marked;
	else
		pp_json_decref(marked);
	free(names);
	pp_json_decref(keys);
	pp_json_decref(varies);
	pp_json_decref(clash);
	return rc;
}

int pp_report_arm(const struct pp_json *configs, const char *model, struct pp_json **out)
{
	struct pp_json *marked = NULL, *arm = NULL;
	size_t i;
	int rc;

	if (!out)
		return PP_EINVAL;
	*out = NULL;
	if (!configs || !model)
		return PP_EINVAL;
	if ((rc = pp_report_variants(configs, &marked)))
		return rc;
	if (!(arm = pp_json_array()))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(marked); i++) {
		struct pp_json *cfg = pp_json_at(marked, i);

		if (!strcmp(pp_json_get_str(cfg, "model", ""), model))
			rc = pp_json_append(arm, pp_json_incref(cfg));
	}
	pp_json_decref(marked);
	if (rc) {
		pp_json_decref(arm);
		return rc;
	}
	*out = arm;
	return PP_OK;
}
