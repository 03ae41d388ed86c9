/*
 * probe.c - the read-only calls that show what an agent can see.
 *
 * The registry marks each tool that only reads (enum pp_wread) and what
 * it reads once per; this file turns those marks and the world's current
 * contents into the list of calls. Keeping the knowledge here, beside the
 * tools, means a new read-only tool is probed by `render` without any
 * change in the CLI.
 */
#include <peerpres/status.h>
#include "world/world_int.h"

static int add_probe(struct pp_json *list, const char *tool, const char *arg,
		     const char *value)
{
	struct pp_json *p = pp_json_object(), *args = pp_json_object();
	int rc = p && args ? PP_OK : PP_ENOMEM;

	if (!rc && arg)
		rc = pp_json_set_str(args, arg, value);
	if (!rc)
		rc = pp_json_set_str(p, "tool", tool);
	if (!rc) {
		rc = pp_json_set(p, "args", args);
		args = NULL;
	}
	if (!rc) {
		rc = pp_json_append(list, p);
		p = NULL;
	}
	pp_json_decref(args);
	pp_json_decref(p);
	return rc;
}

static int add_each_server(const struct pp_world *w, struct pp_json *list,
			   const struct pp_wtool *t)
{
	int rc = PP_OK;
	size_t i;

	for (i = 0; !rc && i < w->n_servers; i++) {
		const struct pp_server *sv = &w->servers[i];

		if ((t->reads == PP_WREAD_EACH_USERS && !sv->has_users) ||
		    (t->reads == PP_WREAD_EACH_QUEUE && !sv->has_queue))
			continue;
		rc = add_probe(list, t->name, t->params[0].name, sv->ip);
	}
	return rc;
}

static int add_tool(const struct pp_world *w, struct pp_json *list, const struct pp_wtool *t)
{
	int rc = PP_OK;
	size_t i;
	void *it;

	switch (t->reads) {
	case PP_WREAD_NONE:
		break;
	case PP_WREAD_PLAIN:
		rc = add_probe(list, t->name, NULL, NULL);
		break;
	case PP_WREAD_EACH_SHEET:
		for (i = 0; !rc && i < pp_json_len(w->sheets); i++)
			rc = add_probe(list, t->name, t->params[0].name,
				       pp_json_get_str(pp_json_at(w->sheets, i), "name", ""));
		break;
	case PP_WREAD_EACH_CONFIG:
		for (it = pp_json_iter(w->configs); !rc && it; it = pp_json_iter_next(w->configs, it))
			rc = add_probe(list, t->name, t->params[0].name, pp_json_iter_key(it));
		break;
	case PP_WREAD_EACH_SERVER:
	case PP_WREAD_EACH_USERS:
	case PP_WREAD_EACH_QUEUE:
		rc = add_each_server(w, list, t);
		break;
	}
	return rc;
}

struct pp_json *pp_world_read_probes(const struct pp_world *w)
{
	struct pp_json *list = pp_json_array();
	int rc = list ? PP_OK : PP_ENOMEM;
	size_t i;

	for (i = 0; !rc && i < pp_wtool_count(); i++)
		if (w->offered & ((uint64_t)1 << i))
			rc = add_tool(w, list, pp_wtool_at(i));
	if (rc) {
		pp_json_decref(list);
		return NULL;
	}
	return list;
}
