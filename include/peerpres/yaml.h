/*
 * yaml.h - YAML files read into the JSON tree type, with positions.
 *
 * Plain scalars are typed by the YAML 1.2 core schema (null, ~, true,
 * false, integers, floats); everything else, and every quoted scalar, is a
 * string. Anchors and aliases are resolved (an alias shares the anchored
 * value). Every node's line and column are kept in a source map so later
 * checks can point at the offending place.
 */
#ifndef PEERPRES_YAML_H
#define PEERPRES_YAML_H

#include <stdbool.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_srcmap;

/* Reads one YAML document from path. On success *root is a new value and
 * *map a new source map (free with pp_srcmap_free); map may be NULL if the
 * caller needs no positions. Errors go to diag with line and column. */
int pp_yaml_load_file(const char *path, struct pp_json **root,
		      struct pp_srcmap **map, struct pp_diag *diag);
int pp_yaml_load_string(const char *text, size_t len, const char *name,
			struct pp_json **root, struct pp_srcmap **map,
			struct pp_diag *diag);

/* Position of a node read by the loader (the node pointer itself, not a
 * copy). Returns false when unknown. */
bool pp_srcmap_find(const struct pp_srcmap *m, const struct pp_json *node,
		    int *line, int *col);
/* Position of the key of the mapping member whose value is `value` (the
 * node itself). Returns false when unknown, as for the root. */
bool pp_srcmap_find_key(const struct pp_srcmap *m, const struct pp_json *value,
			int *line, int *col);
const char *pp_srcmap_file(const struct pp_srcmap *m);
void pp_srcmap_free(struct pp_srcmap *m);

#endif
