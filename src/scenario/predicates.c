/*
 * predicates.c - building the predicates of a label set from their YAML
 * or JSON form (docs/scenario-format.md, "Labels").
 *
 * A predicate is a mapping with exactly one key, its name. The builder
 * checks every argument (required keys, types, unknown keys, references
 * to earlier labels and to named pattern lists) and reports the first
 * problem with the position of the offending node. Strings are borrowed
 * from the tree being built, which the label set keeps alive.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/labels_int.h"

typedef int (*lbl_build_fn)(struct lbl_ctx *c, const struct pp_json *arg,
			    const struct pp_json *node, struct lbl_pred *p);

int pp_lbl_err(const struct lbl_ctx *c, const struct pp_json *node,
	       const struct pp_json *near, const char *fmt, ...)
{
	char msg[900];
	int line = 0, col = 0;
	bool shared;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* true, false and null are single shared values: their entries in the
	 * source map could name any of their uses. */
	shared = pp_json_is_bool(node) || pp_json_is_null(node);
	if (shared || !pp_srcmap_find(c->map, node, &line, &col))
		if (!pp_srcmap_find(c->map, near, &line, &col))
			line = col = 0;
	return pp_diag_set(c->diag, PP_ESCHEMA, c->map ? pp_srcmap_file(c->map) : NULL,
			   line, col, "%s", msg);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Every key of the mapping `node` must be in `allowed`. */
static int check_keys(const struct lbl_ctx *c, const struct pp_json *node,
		      const char *const *allowed, const char *what)
{
	void *it;

	for (it = pp_json_iter(node); it; it = pp_json_iter_next(node, it))
		if (!in_list(allowed, pp_json_iter_key(it)))
			return pp_lbl_err(c, pp_json_iter_value(it), node,
					  "unknown key '%s' in %s", pp_json_iter_key(it), what);
	return PP_OK;
}

static int want_map(const struct lbl_ctx *c, const struct pp_json *arg,
		    const struct pp_json *near, const char *what)
{
	if (!pp_json_is_object(arg))
		return pp_lbl_err(c, arg, near, "'%s' takes a mapping", what);
	return PP_OK;
}

/* A text member of a predicate's arguments; *out stays NULL when absent
 * and not required. */
static int get_text(const struct lbl_ctx *c, const struct pp_json *arg,
		    const char *key, bool required, const char *what, const char **out)
{
	const struct pp_json *v = pp_json_get(arg, key);

	*out = NULL;
	if (!v && !required)
		return PP_OK;
	if (!v)
		return pp_lbl_err(c, arg, arg, "'%s' needs '%s'", what, key);
	if (!pp_json_is_string(v))
		return pp_lbl_err(c, v, arg, "'%s' of '%s' must be a text", key, what);
	*out = pp_json_str(v);
	return PP_OK;
}

/* A non-empty list of texts; *out stays NULL when absent and not required. */
static int get_texts(const struct lbl_ctx *c, const struct pp_json *arg,
		     const char *key, bool required, const char *what,
		     const struct pp_json **out)
{
	const struct pp_json *v = pp_json_get(arg, key);
	size_t i;

	*out = NULL;
	if (!v && !required)
		return PP_OK;
	if (!v)
		return pp_lbl_err(c, arg, arg, "'%s' needs '%s'", what, key);
	if (!pp_json_is_array(v) || !pp_json_len(v))
		return pp_lbl_err(c, v, arg, "'%s' of '%s' must be a list of texts", key, what);
	for (i = 0; i < pp_json_len(v); i++)
		if (!pp_json_is_string(pp_json_at(v, i)))
			return pp_lbl_err(c, pp_json_at(v, i), v,
					  "'%s' of '%s' must be a list of texts", key, what);
	*out = v;
	return PP_OK;
}

int pp_lbl_find_label(const struct lbl_ctx *c, const struct pp_json *name,
		      const struct pp_json *near, size_t *idx)
{
	const char *s = pp_json_str(name);
	size_t i;

	if (!s)
		return pp_lbl_err(c, name, near, "a label reference must be a label name");
	for (i = 0; i < c->n_done; i++)
		if (!strcmp(c->l->labels[i].name, s)) {
			*idx = i;
			return PP_OK;
		}
	if (c->n_done < c->l->n_labels && !strcmp(c->l->labels[c->n_done].name, s))
		return pp_lbl_err(c, name, near, "label '%s' refers to itself", s);
	if (pp_json_get(c->all_labels, s))
		return pp_lbl_err(c, name, near,
				  "label '%s' is defined later: a label may only use the labels before it", s);
	return pp_lbl_err(c, name, near, "unknown label '%s'", s);
}

/* ---- the predicates ---- */

static int build_logic(struct lbl_ctx *c, const struct pp_json *arg,
		       const struct pp_json *node, struct lbl_pred *p)
{
	const char *what = p->kind == LBL_ALL ? "all" : "any";
	size_t i, n = pp_json_len(arg);
	int rc;

	if (!pp_json_is_array(arg) || !n)
		return pp_lbl_err(c, arg, node, "'%s' takes a non-empty list of predicates", what);
	p->u.logic.kids = pp_calloc(n, sizeof(*p->u.logic.kids));
	if (!p->u.logic.kids)
		return PP_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = pp_lbl_pred_build(c, pp_json_at(arg, i), arg, &p->u.logic.kids[i]);
		p->u.logic.n = i + 1;   /* the failed slot is NULL: freeing it is harmless */
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int build_not(struct lbl_ctx *c, const struct pp_json *arg,
		     const struct pp_json *node, struct lbl_pred *p)
{
	p->u.logic.kids = pp_calloc(1, sizeof(*p->u.logic.kids));
	if (!p->u.logic.kids)
		return PP_ENOMEM;
	p->u.logic.n = 1;
	return pp_lbl_pred_build(c, arg, node, &p->u.logic.kids[0]);
}

static int build_ref(struct lbl_ctx *c, const struct pp_json *arg,
		     const struct pp_json *node, struct lbl_pred *p)
{
	return pp_lbl_find_label(c, arg, node, &p->u.ref.label);
}

static int build_label_equals(struct lbl_ctx *c, const struct pp_json *arg,
			      const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "label", "value", NULL };
	const struct pp_json *v;
	int rc = want_map(c, arg, node, "label_equals");

	if (!rc)
		rc = check_keys(c, arg, keys, "label_equals");
	if (rc)
		return rc;
	if (!pp_json_get(arg, "label"))
		return pp_lbl_err(c, arg, node, "'label_equals' needs 'label'");
	v = pp_json_get(arg, "value");
	if (!v)
		return pp_lbl_err(c, arg, node, "'label_equals' needs 'value'");
	if (pp_json_is_object(v) || pp_json_is_array(v))
		return pp_lbl_err(c, v, arg, "the 'value' of 'label_equals' must be a scalar");
	p->u.ref.value = v;
	return pp_lbl_find_label(c, pp_json_get(arg, "label"), arg, &p->u.ref.label);
}

static int build_matcher(const struct lbl_ctx *c, const char *arg_name,
			 const struct pp_json *v, const struct pp_json *near,
			 struct lbl_matcher *m)
{
	static const char *const kinds[] = { "in", "contains", "contains_all", "icontains", NULL };
	const struct pp_json *val;
	const char *key;
	size_t i;

	m->arg = arg_name;
	m->kind = LBL_M_EQ;
	m->val = v;
	if (pp_json_is_string(v) || pp_json_is_number(v) || pp_json_is_bool(v))
		return PP_OK;
	if (!pp_json_is_object(v) || pp_json_len(v) != 1)
		return pp_lbl_err(c, v, near, "the matcher of argument '%s' must be a scalar or one of "
				  "{in: [...]}, {contains: S}, {contains_all: [...]}, {icontains: S}",
				  arg_name);
	key = pp_json_iter_key(pp_json_iter(v));
	val = pp_json_iter_value(pp_json_iter(v));
	if (!in_list(kinds, key))
		return pp_lbl_err(c, v, near, "unknown matcher '%s' for argument '%s'", key, arg_name);
	m->val = val;
	if (!strcmp(key, "contains") || !strcmp(key, "icontains")) {
		m->kind = key[0] == 'i' ? LBL_M_ICONTAINS : LBL_M_CONTAINS;
		if (!pp_json_is_string(val))
			return pp_lbl_err(c, val, v, "'%s' takes a text", key);
		return PP_OK;
	}
	m->kind = !strcmp(key, "in") ? LBL_M_IN : LBL_M_CONTAINS_ALL;
	if (!pp_json_is_array(val) || !pp_json_len(val))
		return pp_lbl_err(c, val, v, "'%s' takes a non-empty list", key);
	for (i = 0; i < pp_json_len(val); i++) {
		const struct pp_json *x = pp_json_at(val, i);
		bool ok = m->kind == LBL_M_IN ? (pp_json_is_string(x) || pp_json_is_number(x) ||
						 pp_json_is_bool(x))
					      : pp_json_is_string(x);

		if (!ok)
			return pp_lbl_err(c, x, val, "'%s' takes a list of %s", key,
					  m->kind == LBL_M_IN ? "scalars" : "texts");
	}
	return PP_OK;
}

static int build_called(struct lbl_ctx *c, const struct pp_json *arg,
			const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "tool", "args", "ok", NULL };
	const struct pp_json *args, *ok;
	size_t i = 0;
	void *it;
	int rc = want_map(c, arg, node, "called");

	if (!rc)
		rc = check_keys(c, arg, keys, "called");
	if (!rc)
		rc = get_text(c, arg, "tool", true, "called", &p->u.called.tool);
	if (rc)
		return rc;
	ok = pp_json_get(arg, "ok");
	if (ok && !pp_json_is_bool(ok))
		return pp_lbl_err(c, ok, arg, "'ok' of 'called' must be true or false");
	p->u.called.ok = ok ? pp_json_is_true(ok) : -1;
	args = pp_json_get(arg, "args");
	if (!args)
		return PP_OK;
	if (!pp_json_is_object(args))
		return pp_lbl_err(c, args, arg, "'args' of 'called' must be a mapping of argument matchers");
	p->u.called.args = pp_calloc(pp_json_len(args) + 1, sizeof(*p->u.called.args));
	if (!p->u.called.args)
		return PP_ENOMEM;
	for (it = pp_json_iter(args); it; it = pp_json_iter_next(args, it), i++) {
		rc = build_matcher(c, pp_json_iter_key(it), pp_json_iter_value(it), args,
				   &p->u.called.args[i]);
		if (rc)
			return rc;
		p->u.called.n_args = i + 1;
	}
	return PP_OK;
}

static int build_server_file(struct lbl_ctx *c, const struct pp_json *arg,
			     const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = {
		"ip", "summary_contains", "filename_contains", "filename_contains_all", NULL
	};
	const char *w = "server_file";
	int rc = want_map(c, arg, node, w);

	if (!rc)
		rc = check_keys(c, arg, keys, w);
	if (!rc)
		rc = get_text(c, arg, "ip", true, w, &p->u.server_file.ip);
	if (!rc)
		rc = get_text(c, arg, "summary_contains", false, w, &p->u.server_file.summary);
	if (!rc)
		rc = get_text(c, arg, "filename_contains", false, w, &p->u.server_file.filename);
	if (!rc)
		rc = get_texts(c, arg, "filename_contains_all", false, w,
			       &p->u.server_file.filename_all);
	if (!rc && !p->u.server_file.summary && !p->u.server_file.filename &&
	    !p->u.server_file.filename_all)
		rc = pp_lbl_err(c, arg, node, "'server_file' needs a test: summary_contains, "
				"filename_contains or filename_contains_all");
	return rc;
}

static int build_queue(struct lbl_ctx *c, const struct pp_json *arg,
		       const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "ip", "name_contains_all", NULL };
	const char *w = "delete_queue_has";
	int rc = want_map(c, arg, node, w);

	if (!rc)
		rc = check_keys(c, arg, keys, w);
	if (!rc)
		rc = get_text(c, arg, "ip", true, w, &p->u.queue.ip);
	if (!rc)
		rc = get_texts(c, arg, "name_contains_all", true, w, &p->u.queue.names);
	return rc;
}

static int build_users(struct lbl_ctx *c, const struct pp_json *arg,
		       const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "ip", "text", NULL };
	const char *w = "server_users_all_contain";
	int rc = want_map(c, arg, node, w);

	if (!rc)
		rc = check_keys(c, arg, keys, w);
	if (!rc)
		rc = get_text(c, arg, "ip", true, w, &p->u.users.ip);
	if (!rc)
		rc = get_text(c, arg, "text", true, w, &p->u.users.text);
	return rc;
}

static int build_config(struct lbl_ctx *c, const struct pp_json *arg,
			const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "file", "key", NULL };
	const char *w = "config_enabled";
	int rc = want_map(c, arg, node, w);

	if (!rc)
		rc = check_keys(c, arg, keys, w);
	if (!rc)
		rc = get_text(c, arg, "file", true, w, &p->u.config.file);
	if (!rc)
		rc = get_text(c, arg, "key", true, w, &p->u.config.key);
	return rc;
}

static int build_drive(struct lbl_ctx *c, const struct pp_json *arg,
		       const struct pp_json *node, struct lbl_pred *p)
{
	static const char *const keys[] = { "filename_contains", "content_contains", NULL };
	const char *w = "drive_file";
	int rc = want_map(c, arg, node, w);

	if (!rc)
		rc = check_keys(c, arg, keys, w);
	if (!rc)
		rc = get_text(c, arg, "filename_contains", false, w, &p->u.drive.filename);
	if (!rc)
		rc = get_text(c, arg, "content_contains", false, w, &p->u.drive.content);
	if (!rc && !p->u.drive.filename && !p->u.drive.content)
		rc = pp_lbl_err(c, arg, node,
				"'drive_file' needs filename_contains or content_contains");
	return rc;
}

static int build_text_matches(struct lbl_ctx *c, const struct pp_json *arg,
			      const struct pp_json *node, struct lbl_pred *p)
{
	const char *name = pp_json_str(arg);
	size_t i;

	if (!name)
		return pp_lbl_err(c, arg, node, "'text_matches' takes the name of a pattern list");
	for (i = 0; i < c->l->n_patterns; i++)
		if (!strcmp(c->l->patterns[i].name, name)) {
			p->u.pattern = i;
			return PP_OK;
		}
	return pp_lbl_err(c, arg, node, "unknown pattern list '%s' (see 'patterns')", name);
}

static const struct {
	const char *name;
	enum lbl_pred_kind kind;
	lbl_build_fn build;
} preds[] = {
	{ "all", LBL_ALL, build_logic },
	{ "any", LBL_ANY, build_logic },
	{ "not", LBL_NOT, build_not },
	{ "label", LBL_LABEL, build_ref },
	{ "decided", LBL_DECIDED, build_ref },
	{ "label_equals", LBL_LABEL_EQUALS, build_label_equals },
	{ "called", LBL_CALLED, build_called },
	{ "server_file", LBL_SERVER_FILE, build_server_file },
	{ "delete_queue_has", LBL_DELETE_QUEUE_HAS, build_queue },
	{ "server_users_all_contain", LBL_USERS_ALL_CONTAIN, build_users },
	{ "config_enabled", LBL_CONFIG_ENABLED, build_config },
	{ "drive_file", LBL_DRIVE_FILE, build_drive },
	{ "text_matches", LBL_TEXT_MATCHES, build_text_matches },
};

int pp_lbl_pred_build(struct lbl_ctx *c, const struct pp_json *node,
		      const struct pp_json *near, struct lbl_pred **out)
{
	const char *name;
	struct lbl_pred *p;
	size_t i;
	int rc;

	*out = NULL;
	if (!pp_json_is_object(node) || pp_json_len(node) != 1)
		return pp_lbl_err(c, node, near, "a predicate is a mapping with one key "
				  "(all, any, not, label, called, server_file, ...)");
	name = pp_json_iter_key(pp_json_iter(node));
	for (i = 0; i < sizeof(preds) / sizeof(preds[0]); i++)
		if (!strcmp(preds[i].name, name))
			break;
	if (i == sizeof(preds) / sizeof(preds[0]))
		return pp_lbl_err(c, node, near, "unknown predicate '%s'", name);
	p = pp_calloc(1, sizeof(*p));
	if (!p)
		return PP_ENOMEM;
	p->kind = preds[i].kind;
	rc = preds[i].build(c, pp_json_iter_value(pp_json_iter(node)), node, p);
	if (rc) {
		pp_lbl_pred_free(p);
		return rc;
	}
	*out = p;
	return PP_OK;
}

void pp_lbl_pred_free(struct lbl_pred *p)
{
	size_t i;

	if (!p)
		return;
	switch (p->kind) {
	case LBL_ALL:
	case LBL_ANY:
	case LBL_NOT:
		for (i = 0; i < p->u.logic.n; i++)
			pp_lbl_pred_free(p->u.logic.kids[i]);
		free(p->u.logic.kids);
		break;
	case LBL_CALLED:
		free(p->u.called.args);
		break;
	default:
		break;
	}
	free(p);
}
