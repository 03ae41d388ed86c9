/*
 * template.c - `{{name}}` expansion (docs/scenario-format.md, Templates).
 *
 * Variables are expanded lazily and recursively: a variable's value may
 * hold more placeholders, up to PP_TPL_DEPTH levels (deeper means a
 * cycle). Each variable is expanded at most once per config and cached,
 * because the long documents (policies, memories) are built from nested
 * variables and referenced from many places. `{{{{` is a literal `{{`.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/scenario_int.h"

#define PP_TPL_DEPTH 16
#define PP_TPL_NAME_MAX 128

struct pp_tpl {
	const struct pp_scenario *s;
	struct pp_json *vars;      /* name -> raw value node (borrowed refs held) */
	struct pp_json *done;      /* name -> expanded string */
};

struct pp_tpl *pp_tpl_new(const struct pp_scenario *s, struct pp_json *vars)
{
	struct pp_tpl *t = pp_calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->s = s;
	t->vars = pp_json_incref(vars);
	t->done = pp_json_object();
	if (!t->done) {
		pp_tpl_free(t);
		return NULL;
	}
	return t;
}

void pp_tpl_free(struct pp_tpl *t)
{
	if (!t)
		return;
	pp_json_decref(t->vars);
	pp_json_decref(t->done);
	free(t);
}

/* The name between "{{" at *open and "}}" at close, spaces trimmed: its
 * length, with *open moved so the name starts at *open + 2. */
static size_t placeholder_name(const char **open, const char *close)
{
	size_t n = (size_t)(close - *open - 2);

	while (n && (*open)[2] == ' ') {
		(*open)++;
		n--;
	}
	while (n && (*open)[2 + n - 1] == ' ')
		n--;
	return n;
}

static int expand(struct pp_tpl *t, const struct pp_json *node, const char *text,
		  const char *where, int depth, struct pp_buf *out, struct pp_diag *diag);

/* Appends the expansion of variable `name`, expanding and caching it. */
static int expand_var(struct pp_tpl *t, const struct pp_json *node, const char *name,
		      const char *where, int depth, struct pp_buf *out, struct pp_diag *diag)
{
	struct pp_json *cached = pp_json_get(t->done, name), *raw;
	struct pp_buf val = PP_BUF_INIT, text = PP_BUF_INIT;
	int rc;

	if (cached)
		return pp_buf_add(out, pp_json_str(cached), pp_json_len(cached));
	raw = pp_json_get(t->vars, name);
	if (!raw)
		return pp_scenario_err(t->s, diag, PP_ETEMPLATE, node,
				       "unknown template variable '%s' (in %s)", name, where);
	if (depth >= PP_TPL_DEPTH)
		return pp_scenario_err(t->s, diag, PP_ETEMPLATE, raw,
				       "template variable '%s' nests deeper than %d levels (a cycle?)",
				       name, PP_TPL_DEPTH);
	if (!pp_scalar_text(raw, &text)) {
		pp_buf_release(&text);
		return pp_scenario_err(t->s, diag, PP_ETEMPLATE, raw,
				       "template variable '%s' is not a scalar", name);
	}
	rc = expand(t, raw, text.buf, where, depth + 1, &val, diag);
	if (!rc)
		rc = pp_json_set(t->done, name, pp_json_stringn(val.buf, val.len));
	if (!rc)
		rc = pp_buf_add(out, val.buf, val.len);
	pp_buf_release(&val);
	pp_buf_release(&text);
	return rc;
}

static int expand(struct pp_tpl *t, const struct pp_json *node, const char *text,
		  const char *where, int depth, struct pp_buf *out, struct pp_diag *diag)
{
	const char *p = text, *open, *close;
	char name[PP_TPL_NAME_MAX];
	size_t n;
	int rc;

	while ((open = strstr(p, "{{"))) {
		if ((rc = pp_buf_add(out, p, (size_t)(open - p))))
			return rc;
		if (!strncmp(open, "{{{{", 4)) {
			if ((rc = pp_buf_adds(out, "{{")))
				return rc;
			p = open + 4;
			continue;
		}
		close = strstr(open + 2, "}}");
		if (!close)
			return pp_scenario_err(t->s, diag, PP_ETEMPLATE, node,
					       "unclosed '{{' (in %s)", where);
		n = placeholder_name(&open, close);
		if (n == 0 || n >= sizeof(name))
			return pp_scenario_err(t->s, diag, PP_ETEMPLATE, node,
					       "bad placeholder name (in %s)", where);
		memcpy(name, open + 2, n);
		name[n] = '\0';
		if ((rc = expand_var(t, node, name, where, depth, out, diag)))
			return rc;
		p = close + 2;
	}
	return pp_buf_adds(out, p);
}

int pp_tpl_string(struct pp_tpl *t, const struct pp_json *node, const char *where,
		  struct pp_buf *out, struct pp_diag *diag)
{
	const char *s = pp_json_str(node);

	if (!s)
		return PP_EINVAL;
	if (!strstr(s, "{{"))
		return pp_buf_add(out, s, pp_json_len(node));
	return expand(t, node, s, where, 0, out, diag);
}

/*
 * The containers of a tree: a rendered config shares every subtree that
 * holds no template with the scenario (a reference each), and copies a
 * container only from its first child that changed. A config used to
 * copy the whole of its world and routes: about 80 KB a config, kept
 * while its rollouts run, and most of the memory a rollout of its own
 * config took. The rendered tree is read-only from then on.
 */
/* A container's result: its copy if a child changed, else itself. */
static int tree_done(int rc, struct pp_json *res, const struct pp_json *in, struct pp_json **out)
{
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*out = res ? res : pp_json_incref((struct pp_json *)in);
	return PP_OK;
}

static int tree_array(struct pp_tpl *t, const struct pp_json *in, const char *where,
		      struct pp_json **out, struct pp_diag *diag)
{
	struct pp_json *res = NULL, *child;
	size_t i, j;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(in); i++) {
		if ((rc = pp_tpl_tree(t, pp_json_at(in, i), where, &child, diag)))
			break;
		if (!res && child == pp_json_at(in, i)) {
			pp_json_decref(child);
			continue;
		}
		if (!res && !(res = pp_json_array()))
			rc = PP_ENOMEM;
		for (j = pp_json_len(res); !rc && j < i; j++)
			rc = pp_json_append(res, pp_json_incref((struct pp_json *)pp_json_at(in, j)));
		if (!rc)
			rc = pp_json_append(res, child);
		else
			pp_json_decref(child);
	}
	return tree_done(rc, res, in, out);
}

static int tree_object(struct pp_tpl *t, const struct pp_json *in, const char *where,
		       struct pp_json **out, struct pp_diag *diag)
{
	struct pp_json *res = NULL, *child;
	void *it, *kept;
	int rc = PP_OK;

	for (it = pp_json_iter(in); !rc && it; it = pp_json_iter_next(in, it)) {
		if ((rc = pp_tpl_tree(t, pp_json_iter_value(it), where, &child, diag)))
			break;
		if (!res && child == pp_json_iter_value(it)) {
			pp_json_decref(child);
			continue;
		}
		if (!res && !(res = pp_json_object()))
			rc = PP_ENOMEM;
		/* The first change: the members before it, as they are. */
		for (kept = pp_json_len(res) ? it : pp_json_iter(in); !rc && kept != it;
		     kept = pp_json_iter_next(in, kept))
			rc = pp_json_set(res, pp_json_iter_key(kept),
					 pp_json_incref(pp_json_iter_value(kept)));
		if (!rc)
			rc = pp_json_set(res, pp_json_iter_key(it), child);
		else
			pp_json_decref(child);
	}
	return tree_done(rc, res, in, out);
}

int pp_tpl_tree(struct pp_tpl *t, const struct pp_json *in, const char *where,
		struct pp_json **out, struct pp_diag *diag)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc;

	*out = NULL;
	switch (pp_json_type(in)) {
	case PP_JSON_ARRAY:
		return tree_array(t, in, where, out, diag);
	case PP_JSON_OBJECT:
		return tree_object(t, in, where, out, diag);
	case PP_JSON_STRING:
		if (strstr(pp_json_str(in), "{{"))
			break;
		/* fall through */
	default:
		*out = pp_json_incref((struct pp_json *)in);
		return PP_OK;
	}
	rc = pp_tpl_string(t, in, where, &b, diag);
	if (!rc && !(*out = pp_json_stringn(b.buf, b.len)))
		rc = PP_ENOMEM;
	pp_buf_release(&b);
	return rc;
}

/* Does text hold the placeholder {{name}}? Parsed as expand() does. */
static bool text_uses(const char *text, const char *name)
{
	const char *p = text, *open, *close;
	size_t n, len = strlen(name);

	while ((open = strstr(p, "{{"))) {
		if (!strncmp(open, "{{{{", 4)) {
			p = open + 4;
			continue;
		}
		if (!(close = strstr(open + 2, "}}")))
			return false;
		n = placeholder_name(&open, close);
		if (n == len && !strncmp(open + 2, name, len))
			return true;
		p = close + 2;
	}
	return false;
}

bool pp_tpl_uses(const struct pp_json *tree, const char *name)
{
	void *it;
	size_t i;

	switch (pp_json_type(tree)) {
	case PP_JSON_STRING:
		return text_uses(pp_json_str(tree), name);
	case PP_JSON_ARRAY:
		for (i = 0; i < pp_json_len(tree); i++)
			if (pp_tpl_uses(pp_json_at(tree, i), name))
				return true;
		return false;
	case PP_JSON_OBJECT:
		for (it = pp_json_iter(tree); it; it = pp_json_iter_next(tree, it))
			if (pp_tpl_uses(pp_json_iter_value(it), name))
				return true;
		return false;
	default:
		return false;
	}
}
