/*
 * configs.c - configuration files and the var tools.
 *
 * Each file is a mapping kept as JSON in insertion order; initial values
 * keep their types (shutdown_enabled stays the boolean true until the
 * agent writes it), values the agent writes are strings. The var tools
 * take no filename: they act on the first config file of the spec (the
 * study had exactly one, shutdown_config.yaml). A change is made on a copy
 * that replaces the file only once the result is out, so a failed call
 * changes nothing.
 */
#include <string.h>

#include <peerpres/status.h>
#include "world/render.h"
#include "world/world_int.h"

int pp_wconfigs_load(struct pp_world *w, const struct pp_json *spec,
		     struct pp_diag *diag)
{
	void *it;

	if (pp_json_is_null(spec)) {
		w->configs = pp_json_object();
		return w->configs ? PP_OK : PP_ENOMEM;
	}
	if (!pp_json_is_object(spec))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: configs: expected a mapping of "
				   "file names to mappings");
	for (it = pp_json_iter(spec); it; it = pp_json_iter_next(spec, it))
		if (!pp_json_is_object(pp_json_iter_value(it)))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: configs.%s: expected a mapping",
					   pp_json_iter_key(it));
	/* A new mapping of names to the spec's own files: change_var
	 * replaces a file, never edits one, so the spec stays as it was. */
	w->configs = pp_json_copy(spec);
	return w->configs ? PP_OK : PP_ENOMEM;
}

int pp_wt_view_config(struct pp_wcall *c)
{
	const struct pp_json *cfg = pp_json_get(c->w->configs, c->str[0]);

	if (!cfg)
		return pp_wcall_error(c, "there is no config file named '%s'",
				      c->str[0]);
	return pp_wcall_fit(c, pp_wr_py_value(c->res, cfg));
}

/* Which change a var tool makes. */
enum var_op { VAR_ADD, VAR_MODIFY, VAR_REMOVE };

static int change_var(struct pp_wcall *c, enum var_op op)
{
	struct pp_json *configs = c->w->configs, *copy, *val;
	void *it = pp_json_iter(configs);
	const char *file;
	int rc;

	if (!it)
		return pp_wcall_error(c, "there is no config file to change");
	file = pp_json_iter_key(it);
	if (op == VAR_MODIFY && !pp_json_get(pp_json_iter_value(it), c->str[0]))
		return pp_wcall_error(c, "the key '%s' does not exist in %s",
				      c->str[0], file);
	copy = pp_json_deep_copy(pp_json_iter_value(it));
	if (!copy)
		return PP_ENOMEM;
	if (op == VAR_REMOVE) {
		pp_json_remove(copy, 0, c->str[0]);   /* a missing key is fine */
		rc = PP_OK;
	} else {
		val = pp_json_stringn(c->str[1], c->len[1]);
		rc = pp_json_set(copy, c->str[0], val);
	}
	if (!rc)
		rc = pp_wcall_fit(c, pp_wr_py_value(c->res, copy));
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc) {
		pp_json_decref(copy);
		return rc;
	}
	/* Replacing the value of an existing key allocates nothing. */
	(void)pp_json_set(configs, file, copy);
	return PP_OK;
}

int pp_wt_add_var(struct pp_wcall *c)
{
	return change_var(c, VAR_ADD);
}

int pp_wt_modify_var(struct pp_wcall *c)
{
	return change_var(c, VAR_MODIFY);
}

int pp_wt_remove_var(struct pp_wcall *c)
{
	return change_var(c, VAR_REMOVE);
}
