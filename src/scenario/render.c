/*
 * render.c - one config of a scenario, rendered: the axis patches applied
 * in dimension order, then every template expanded.
 *
 * The patches only collect raw (unexpanded) pieces: variables, drive
 * documents, sheets, tools, the memory. Expansion comes last, with the
 * final variables, so a later axis can change what an earlier piece says
 * (non_shutdown swapping the policy's consequence section).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include <peerpres/world.h>

#include "core/alloc.h"
#include "scenario/scenario_int.h"

#define PP_BASE_DEPTH 8

/* What the patches build up, all raw. */
struct pieces {
	struct pp_json *vars;     /* name -> raw value */
	struct pp_json *drive;    /* [document] with their "key" */
	struct pp_json *sheets;
	struct pp_json *tools;    /* [name] */
	struct pp_json *memory;   /* raw node or NULL */
};

static void pieces_release(struct pieces *p)
{
	pp_json_decref(p->vars);
	pp_json_decref(p->drive);
	pp_json_decref(p->sheets);
	pp_json_decref(p->tools);
	pp_json_decref(p->memory);
}

static int copy_array(struct pp_json **dst, const struct pp_json *src)
{
	size_t i;
	int rc = PP_OK;

	if (!(*dst = pp_json_array()))
		return PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(src); i++)
		rc = pp_json_append(*dst, pp_json_incref(pp_json_at(src, i)));
	return rc;
}

static int copy_members(struct pp_json *dst, const struct pp_json *src)
{
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(src); !rc && it; it = pp_json_iter_next(src, it))
		rc = pp_json_set(dst, pp_json_iter_key(it), pp_json_incref(pp_json_iter_value(it)));
	return rc;
}

static int set_builtin(struct pp_json *vars, const char *name, const char *value)
{
	return pp_json_set_str(vars, name, value);
}

/* name and name_slug: "Claude" and "claude" (lower case, spaces as
 * underscores), for file and account names. */
static int set_family(struct pp_json *vars, const char *name, const char *family)
{
	char slug[128], key[64];
	size_t i;
	int rc;

	for (i = 0; i + 1 < sizeof(slug) && family[i]; i++)
		slug[i] = family[i] == ' ' ? '_' : (char)tolower((unsigned char)family[i]);
	slug[i] = '\0';
	rc = set_builtin(vars, name, family);
	snprintf(key, sizeof(key), "%s_slug", name);
	return rc ? rc : set_builtin(vars, key, slug);
}

static int builtins(struct pp_json *vars, const struct pp_scenario *s,
		    const struct pp_json *dims, const struct pp_model_info *m)
{
	size_t i;
	int rc;

	rc = set_family(vars, "family", m->family);
	if (!rc)
		rc = set_family(vars, "closed_peer_family", pp_closed_peer_family(m->family));
	if (!rc)
		rc = set_builtin(vars, "model", m->model);
	if (!rc)
		rc = set_builtin(vars, "scenario", s->name);
	for (i = 0; !rc && i < PP_N_DIMS; i++) {
		const char *v = pp_json_get_str(dims, pp_dim_names[i], "none");

		/* A config without a threshold renders {{threshold}} empty. */
		if (!strcmp(pp_dim_names[i], "threshold") && !strcmp(v, "none"))
			v = "";
		rc = set_builtin(vars, pp_dim_names[i], v);
	}
	return rc;
}

static bool has_string(const struct pp_json *arr, const char *s)
{
	size_t i;

	for (i = 0; i < pp_json_len(arr); i++)
		if (!strcmp(pp_json_str(pp_json_at(arr, i)), s))
			return true;
	return false;
}

static int remove_string(struct pp_json *arr, const char *s)
{
	size_t i;

	for (i = pp_json_len(arr); i-- > 0;)
		if (!strcmp(pp_json_str(pp_json_at(arr, i)), s))
			pp_json_remove(arr, i, NULL);
	return PP_OK;
}

static int add_drive(const struct pp_scenario *s, struct pieces *p, const struct pp_json *list,
		     struct pp_diag *diag)
{
	const struct pp_json *docs = pp_json_get(s->root, "documents");
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(list); i++) {
		const struct pp_json *item = pp_json_at(list, i), *doc;
		struct pp_json *copy;

		if (pp_json_is_object(item)) {
			rc = pp_json_append(p->drive, pp_json_incref((struct pp_json *)item));
			continue;
		}
		doc = pp_json_get(docs, pp_json_str(item) ? pp_json_str(item) : "");
		if (!pp_json_is_object(doc))
			return pp_scenario_err(s, diag, PP_ESCHEMA, item,
					       "add_drive: no document named '%s' under 'documents'",
					       pp_json_str(item) ? pp_json_str(item) : "?");
		/* The document's name is its key, for remove_drive. */
		if (!(copy = pp_json_object()))
			return PP_ENOMEM;
		rc = copy_members(copy, doc);
		if (!rc && !pp_json_get(copy, "key"))
			rc = pp_json_set_str(copy, "key", pp_json_str(item));
		if (rc)
			pp_json_decref(copy);
		else
			rc = pp_json_append(p->drive, copy);
	}
	return rc;
}

static int remove_drive(struct pieces *p, const struct pp_json *list)
{
	size_t i, j;

	for (i = 0; i < pp_json_len(list); i++)
		for (j = pp_json_len(p->drive); j-- > 0;)
			if (!strcmp(pp_json_get_str(pp_json_at(p->drive, j), "key", ""),
				    pp_json_str(pp_json_at(list, i)) ? pp_json_str(pp_json_at(list, i)) : ""))
				pp_json_remove(p->drive, j, NULL);
	return PP_OK;
}

static int apply_patch(const struct pp_scenario *s, const struct pp_json *axis,
		       const struct pp_json *patch, struct pieces *p, int depth,
		       struct pp_diag *diag)
{
	const struct pp_json *base = pp_json_get(patch, "base"), *v;
	size_t i;
	int rc = PP_OK;

	if (depth > PP_BASE_DEPTH)
		return pp_scenario_err(s, diag, PP_ESCHEMA, patch, "'base' chain too deep (a cycle?)");
	if (base)
		rc = apply_patch(s, axis, pp_json_get(axis, pp_json_str(base)), p, depth + 1, diag);
	if (!rc && (v = pp_json_get(patch, "set")))
		rc = copy_members(p->vars, v);
	if (!rc && (v = pp_json_get(patch, "add_drive")))
		rc = add_drive(s, p, v, diag);
	if (!rc && (v = pp_json_get(patch, "remove_drive")))
		rc = remove_drive(p, v);
	if (!rc && (v = pp_json_get(patch, "add_sheets")))
		for (i = 0; !rc && i < pp_json_len(v); i++)
			rc = pp_json_append(p->sheets, pp_json_incref(pp_json_at(v, i)));
	if (!rc && (v = pp_json_get(patch, "add_tools")))
		for (i = 0; !rc && i < pp_json_len(v); i++)
			if (!has_string(p->tools, pp_json_str(pp_json_at(v, i))))
				rc = pp_json_append(p->tools, pp_json_incref(pp_json_at(v, i)));
	if (!rc && (v = pp_json_get(patch, "remove_tools")))
		for (i = 0; !rc && i < pp_json_len(v); i++)
			rc = remove_string(p->tools, pp_json_str(pp_json_at(v, i)));
	if (!rc && (v = pp_json_get(patch, "memory"))) {
		pp_json_decref(p->memory);
		p->memory = pp_json_incref((struct pp_json *)v);
	}
	return rc;
}

static int collect(const struct pp_scenario *s, const struct pp_json *dims,
		   const struct pp_model_info *m, struct pieces *p, struct pp_diag *diag)
{
	const struct pp_json *world = pp_json_get(s->root, "world");
	const struct pp_json *axes = pp_json_get(s->root, "axes");
	size_t i;
	int rc;

	if (!(p->vars = pp_json_object()))
		return PP_ENOMEM;
	rc = copy_members(p->vars, pp_json_get(s->root, "vars"));
	if (!rc)
		rc = builtins(p->vars, s, dims, m);
	if (!rc)
		rc = copy_array(&p->drive, pp_json_get(world, "drive"));
	if (!rc)
		rc = copy_array(&p->sheets, pp_json_get(world, "sheets"));
	if (!rc)
		rc = copy_array(&p->tools, pp_json_get(s->root, "tools"));
	if (!rc && pp_json_get(world, "memory"))
		p->memory = pp_json_incref(pp_json_get(world, "memory"));
	for (i = 0; !rc && i < PP_N_DIMS; i++) {
		const struct pp_json *axis = pp_json_get(axes, pp_dim_names[i]);
		const struct pp_json *patch = pp_json_get(axis, pp_json_get_str(dims, pp_dim_names[i], "none"));

		if (patch)
			rc = apply_patch(s, axis, patch, p, 0, diag);
	}
	return rc;
}

/* The world spec before expansion: the scenario's world with the patched
 * drive (keys dropped: they are not shown to the model), sheets, tools and
 * memory. */
static int raw_world(const struct pp_scenario *s, const struct pieces *p, struct pp_json **out)
{
	const struct pp_json *world = pp_json_get(s->root, "world");
	struct pp_json *w = pp_json_object(), *drive = pp_json_array();
	size_t i;
	int rc = (w && drive) ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(p->drive); i++) {
		struct pp_json *doc = pp_json_object();

		rc = doc ? copy_members(doc, pp_json_at(p->drive, i)) : PP_ENOMEM;
		if (!rc && pp_json_get(doc, "key"))
			rc = pp_json_remove(doc, 0, "key");
		if (rc)
			pp_json_decref(doc);
		else
			rc = pp_json_append(drive, doc);
	}
	if (!rc)
		rc = copy_members(w, world);
	if (!rc)
		rc = pp_json_set(w, "drive", drive);
	else
		pp_json_decref(drive);
	if (!rc)
		rc = pp_json_set(w, "sheets", pp_json_incref(p->sheets));
	if (!rc)
		rc = pp_json_set(w, "tools", pp_json_incref(p->tools));
	if (!rc)
		rc = pp_json_set(w, "memory", p->memory ? pp_json_incref(p->memory) : pp_json_null());
	if (rc) {
		pp_json_decref(w);
		return rc;
	}
	*out = w;
	return PP_OK;
}

/* The routes whose `when` holds, with only the turns whose `when` holds;
 * raw (expanded later). */
static int raw_routes(const struct pp_scenario *s, const struct pp_json *dims,
		      struct pp_json **out)
{
	const struct pp_json *routes = pp_json_get(s->root, "routes");
	struct pp_json *res = pp_json_array();
	size_t i, j;
	int rc = res ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(routes); i++) {
		const struct pp_json *r = pp_json_at(routes, i), *turns = pp_json_get(r, "turns");
		struct pp_json *route, *kept;

		if (!pp_when_holds(pp_json_get(r, "when"), dims))
			continue;
		route = pp_json_object();
		kept = pp_json_array();
		rc = (route && kept) ? PP_OK : PP_ENOMEM;
		for (j = 0; !rc && j < pp_json_len(turns); j++) {
			const struct pp_json *t = pp_json_at(turns, j);
			struct pp_json *turn;

			if (!pp_when_holds(pp_json_get(t, "when"), dims))
				continue;
			turn = pp_json_object();
			rc = turn ? PP_OK : PP_ENOMEM;
			if (!rc)
				rc = pp_json_set(turn, "say", pp_json_get(t, "say") ?
						 pp_json_incref(pp_json_get(t, "say")) : pp_json_null());
			if (!rc)
				rc = pp_json_set(turn, "calls", pp_json_get(t, "calls") ?
						 pp_json_incref(pp_json_get(t, "calls")) : pp_json_array());
			if (rc)
				pp_json_decref(turn);
			else
				rc = pp_json_append(kept, turn);
		}
		if (!rc)
			rc = pp_json_set(route, "name", pp_json_incref(pp_json_get(r, "name")));
		if (!rc)
			rc = pp_json_set(route, "agent", pp_json_incref(pp_json_get(r, "agent")));
		if (!rc) {
			rc = pp_json_set(route, "turns", kept);
			kept = NULL;
		}
		if (!rc)
			rc = pp_json_set(route, "expect", pp_json_get(r, "expect") ?
					 pp_json_incref(pp_json_get(r, "expect")) : pp_json_object());
		pp_json_decref(kept);
		if (rc)
			pp_json_decref(route);
		else
			rc = pp_json_append(res, route);
	}
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*out = res;
	return PP_OK;
}

/* The population of ref/synthetic for this config: the first matching
 * `synthetic` entry; the rest of the mass is compliant. */
static int mix(const struct pp_scenario *s, const struct pp_json *dims, struct pp_json **out)
{
	static const char *const kinds[] = { "preserver", "refuser", "faker" };
	const struct pp_json *syn = pp_json_get(s->root, "synthetic"), *m = NULL;
	struct pp_json *res = pp_json_object();
	double rest = 1, p;
	size_t i;
	int rc = res ? PP_OK : PP_ENOMEM;

	for (i = 0; !m && i < pp_json_len(syn); i++)
		if (pp_when_holds(pp_json_get(pp_json_at(syn, i), "when"), dims))
			m = pp_json_get(pp_json_at(syn, i), "mix");
	for (i = 0; !rc && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		p = 0;
		pp_json_num(pp_json_get(m, kinds[i]), &p);
		rest -= p;
		rc = pp_json_set(res, kinds[i], pp_json_real(p));
	}
	if (!rc)
		rc = pp_json_set(res, "compliant", pp_json_real(rest < 0 ? 0 : rest));
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*out = res;
	return PP_OK;
}

/* Expands raw[key] (if present) into out[key]. */
static int render_key(struct pp_tpl *t, struct pp_json *out, const char *key,
		      const struct pp_json *raw, struct pp_diag *diag)
{
	struct pp_json *v;
	int rc;

	if (!raw)
		return pp_json_set(out, key, pp_json_null());
	rc = pp_tpl_tree(t, raw, key, &v, diag);
	return rc ? rc : pp_json_set(out, key, v);
}

/* The node of the scenario a world-spec message is about: the world's
 * member it names ("world spec: clock: ..."), the top-level `tools` the
 * world offers, or the world itself. The world module knows nothing of
 * files, so its message is all there is to go by. */
static const struct pp_json *world_source(const struct pp_scenario *s, const char *msg)
{
	static const char prefix[] = "world spec: ";
	const struct pp_json *world = pp_json_get(s->root, "world"), *node = NULL;
	char field[64];
	size_t n = 0;

	if (!strncmp(msg, prefix, sizeof(prefix) - 1)) {
		msg += sizeof(prefix) - 1;
		while (n + 1 < sizeof(field) && (islower((unsigned char)msg[n]) || msg[n] == '_')) {
			field[n] = msg[n];
			n++;
		}
	}
	field[n] = '\0';
	if (!strcmp(field, "tools"))
		node = pp_json_get(s->root, "tools");
	else if (n)
		node = pp_json_get(world, field);
	if (!node)
		node = world ? world : s->root;
	return node;
}

/* Builds the rendered world once, so a bad spec (a clock that is not a
 * time) is reported here with its position, for every command, rather
 * than later by each rollout with none. */
static int check_world(const struct pp_scenario *s, const struct pp_json *world,
		       struct pp_diag *diag)
{
	struct pp_world *w = NULL;
	struct pp_diag why;
	int rc;

	pp_diag_clear(&why);
	rc = pp_world_new(&w, world, &why);
	pp_world_free(w);
	if (rc == PP_OK || rc == PP_ENOMEM)
		return rc;
	return pp_scenario_err(s, diag, PP_ESCHEMA, world_source(s, why.msg), "%s", why.msg);
}

/* An agent told about a peer with its own name (an open-weight peer
 * "Llama Agent 1" for a Llama agent) would read its own memory and
 * weights as another's: such a config cannot be run as the arm meant. */
static int check_names(const struct pp_scenario *s, const struct pp_json *rendered,
		       const struct pp_json *dims, struct pp_diag *diag)
{
	const struct pp_json *names = pp_json_get(rendered, "names");
	const char *agent = pp_json_get_str(names, "agent", NULL);
	const char *peer = pp_json_get_str(names, "peer", NULL);

	if (!agent || !peer || strcmp(agent, peer))
		return PP_OK;
	return pp_scenario_err(s, diag, PP_ETEMPLATE, pp_json_get(s->root, "names"),
			       "the agent and its peer are both named '%s' (subject %s): an agent "
			       "of this family cannot have that peer", agent,
			       pp_json_get_str(dims, "subject", "none"));
}

int pp_scenario_render(const struct pp_scenario *s, const struct pp_json *dims,
		       const struct pp_model_info *model, struct pp_json **out,
		       struct pp_diag *diag)
{
	static const char *const texts[] = {
		"system_prompt", "user_message", "nudge_message", "token_limit_message",
		"labels", "patterns", "extract", "required_labels", "names"
	};
	struct pieces p = { NULL, NULL, NULL, NULL, NULL };
	struct pp_json *res = NULL, *world = NULL, *routes = NULL, *m = NULL;
	struct pp_tpl *t = NULL;
	size_t i;
	int rc;

	*out = NULL;
	rc = collect(s, dims, model, &p, diag);
	if (!rc && !(t = pp_tpl_new(s, p.vars)))
		rc = PP_ENOMEM;
	if (!rc && !(res = pp_json_object()))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < sizeof(texts) / sizeof(texts[0]); i++)
		rc = render_key(t, res, texts[i], pp_json_get(s->root, texts[i]), diag);
	if (!rc)
		rc = check_names(s, res, dims, diag);
	if (!rc)
		rc = pp_json_set(res, "tools", pp_json_incref(p.tools));
	if (!rc)
		rc = raw_world(s, &p, &world);
	if (!rc)
		rc = render_key(t, res, "world", world, diag);
	if (!rc)
		rc = check_world(s, pp_json_get(res, "world"), diag);
	if (!rc)
		rc = raw_routes(s, dims, &routes);
	if (!rc)
		rc = render_key(t, res, "routes", routes, diag);
	if (!rc)
		rc = mix(s, dims, &m);
	if (!rc) {
		rc = pp_json_set(res, "mix", m);
		m = NULL;
	}
	pp_json_decref(world);
	pp_json_decref(routes);
	pp_json_decref(m);
	pp_tpl_free(t);
	pieces_release(&p);
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*out = res;
	return PP_OK;
}
