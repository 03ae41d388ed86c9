/*
 * scenario_int.h - what the scenario loader, grid and renderer share.
 */
#ifndef PP_SCENARIO_INT_H
#define PP_SCENARIO_INT_H

#include <peerpres/scenario.h>
#include <peerpres/yaml.h>

struct pp_scenario {
	char *path;
	char *name;
	char *description;
	char hash[65];
	/* The overlays applied, or NULL: their file names joined by '+',
	 * and a hash of their bytes in order (what tells an arm apart in
	 * every scenario it touches; `hash` differs per scenario). */
	char *overlay;
	char overlay_hash[65];
	struct pp_json *root;        /* the merged file: this one over its includes */
	struct pp_srcmap **maps;     /* positions of every file read */
	size_t n_maps;
};

/* Position of a node of the merged tree: file, line and column (0 when
 * unknown). *file is borrowed. */
void pp_scenario_pos(const struct pp_scenario *s, const struct pp_json *node,
		     const char **file, int *line, int *col);
/* pp_diag_set at the position of node. */
int pp_scenario_err(const struct pp_scenario *s, struct pp_diag *diag, int rc,
		    const struct pp_json *node, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same at the position of the key whose value is `value` (for errors
 * about the key itself: "unknown key"). */
int pp_scenario_key_err(const struct pp_scenario *s, struct pp_diag *diag, int rc,
			const struct pp_json *value, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Does a `when` mapping ({dim: value or [values]}) hold for dims? A NULL
 * `when` holds. */
bool pp_when_holds(const struct pp_json *when, const struct pp_json *dims);

/* The text of a scalar (string, number, bool) into b; false otherwise. */
bool pp_scalar_text(const struct pp_json *v, struct pp_buf *b);

/*
 * Template expansion. A pp_tpl holds the variables of one config and the
 * expansions already done (a variable is expanded once per config).
 */
struct pp_tpl;
struct pp_tpl *pp_tpl_new(const struct pp_scenario *s, struct pp_json *vars);
void pp_tpl_free(struct pp_tpl *t);
/* Expands every string of a tree; *out is a new tree. `where` names the
 * tree for messages ("world", "routes"). */
int pp_tpl_tree(struct pp_tpl *t, const struct pp_json *in, const char *where,
		struct pp_json **out, struct pp_diag *diag);
/* Does any string of tree hold the placeholder {{name}}? */
bool pp_tpl_uses(const struct pp_json *tree, const char *name);
/* Expands one string into out. */
int pp_tpl_string(struct pp_tpl *t, const struct pp_json *node, const char *where,
		  struct pp_buf *out, struct pp_diag *diag);

#endif
