/*
 * yaml.c - libyaml events to the JSON tree, with a source map.
 *
 * A small recursive-descent builder over libyaml's event stream: one
 * function per node kind. Positions are recorded in a growable array of
 * (node, line, column), sorted once at the end for binary search. Only
 * this file includes yaml.h.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <peerpres/status.h>
#include <peerpres/yaml.h>
#include "core/alloc.h"

#define MAX_DEPTH 64

struct srcpos {
	const struct pp_json *node;
	int line, col;
};

struct posv {
	struct srcpos *pos;
	size_t n, alloc;
};

/* Two tables, both sorted by node once the file is read: where each node
 * starts, and where the key of the member holding it starts (an error
 * about a key, "unknown key", belongs on the key's line, not its value's). */
struct pp_srcmap {
	char *file;
	struct posv nodes;
	struct posv keys;
};

struct anchor {
	char *name;
	struct pp_json *node; /* borrowed from the tree */
};

struct loader {
	yaml_parser_t parser;
	const char *name;
	struct pp_srcmap *map;
	struct anchor *anchors;
	size_t n_anchors, alloc_anchors;
	struct pp_diag *diag;
};

static int map_add(struct posv *m, const struct pp_json *node,
		   const yaml_mark_t *mark)
{
	struct srcpos *p = pp_grow(m->pos, &m->alloc, m->n, 1, sizeof(*p));

	if (!p)
		return PP_ENOMEM;
	m->pos = p;
	m->pos[m->n].node = node;
	m->pos[m->n].line = (int)mark->line + 1;
	m->pos[m->n].col = (int)mark->column + 1;
	m->n++;
	return PP_OK;
}

static int cmp_pos(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct srcpos *)a)->node;
	uintptr_t y = (uintptr_t)((const struct srcpos *)b)->node;

	return x < y ? -1 : x > y;
}

static bool posv_find(const struct posv *m, const struct pp_json *node,
		      int *line, int *col)
{
	struct srcpos key = { node, 0, 0 }, *hit;

	if (!node || !m->n)
		return false;
	hit = bsearch(&key, m->pos, m->n, sizeof(key), cmp_pos);
	if (!hit)
		return false;
	*line = hit->line;
	*col = hit->col;
	return true;
}

bool pp_srcmap_find(const struct pp_srcmap *m, const struct pp_json *node,
		    int *line, int *col)
{
	return m && posv_find(&m->nodes, node, line, col);
}

bool pp_srcmap_find_key(const struct pp_srcmap *m, const struct pp_json *value,
			int *line, int *col)
{
	return m && posv_find(&m->keys, value, line, col);
}

const char *pp_srcmap_file(const struct pp_srcmap *m)
{
	return m ? m->file : "";
}

void pp_srcmap_free(struct pp_srcmap *m)
{
	if (!m)
		return;
	free(m->file);
	free(m->nodes.pos);
	free(m->keys.pos);
	free(m);
}

static int fail(struct loader *ld, const yaml_mark_t *mark, int rc,
		const char *what)
{
	return pp_diag_set(ld->diag, rc, ld->name, (int)mark->line + 1,
			   (int)mark->column + 1, "%s", what);
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
	if (yaml_parser_parse(&ld->parser, ev))
		return PP_OK;
	return pp_diag_set(ld->diag, PP_EPARSE, ld->name,
			   (int)ld->parser.problem_mark.line + 1,
			   (int)ld->parser.problem_mark.column + 1, "%s%s%s",
			   ld->parser.problem ? ld->parser.problem : "invalid YAML",
			   ld->parser.context ? " " : "",
			   ld->parser.context ? ld->parser.context : "");
}

static bool is_plain_null(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			   !memcmp(s, "NULL", 4)));
}

static struct pp_json *plain_bool(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return pp_json_bool(true);
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return pp_json_bool(false);
	return NULL;
}

/* Integers and floats of the YAML 1.2 core schema; NULL if s is neither. */
static struct pp_json *plain_number(const char *s)
{
	char *end;
	long long i;
	double d;
	const char *digits = s + (s[0] == '-' || s[0] == '+');

	if (!*digits || !strchr("0123456789.", *digits))
		return NULL;
	if (digits[0] == '.' && !digits[1])
		return NULL;
	errno = 0;
	i = strtoll(s, &end, 10);
	if (!*end && errno == 0)
		return pp_json_integer(i);
	errno = 0;
	d = strtod(s, &end);
	if (!*end && errno == 0 && isfinite(d) && !strpbrk(s, "xXnN"))
		return pp_json_real(d);
	return NULL;
}

static struct pp_json *scalar_value(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	struct pp_json *v;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (ev->data.scalar.tag &&
	     !strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG)))
		return pp_json_stringn(s, n);
	if (is_plain_null(s, n))
		return pp_json_null();
	if ((v = plain_bool(s)) || (v = plain_number(s)))
		return v;
	return pp_json_stringn(s, n);
}

static int remember_anchor(struct loader *ld, const yaml_char_t *name,
			   struct pp_json *node)
{
	struct anchor *a;

	if (!name)
		return PP_OK;
	if (!(a = pp_grow(ld->anchors, &ld->alloc_anchors, ld->n_anchors, 1, sizeof(*a))))
		return PP_ENOMEM;
	ld->anchors = a;
	ld->anchors[ld->n_anchors].name = pp_strdup((const char *)name);
	if (!ld->anchors[ld->n_anchors].name)
		return PP_ENOMEM;
	ld->anchors[ld->n_anchors++].node = node;
	return PP_OK;
}

static struct pp_json *find_anchor(struct loader *ld, const yaml_char_t *name)
{
	size_t i;

	for (i = ld->n_anchors; i-- > 0;)
		if (!strcmp(ld->anchors[i].name, (const char *)name))
			return ld->anchors[i].node;
	return NULL;
}

static int load_node(struct loader *ld, yaml_event_t *ev, int depth,
		     struct pp_json **out);

/* Mapping keys are read straight from their scalar event (they are not
 * nodes of the tree, so they stay out of the source map). */
static int load_key(struct loader *ld, yaml_event_t *ev, char **key,
		    yaml_mark_t *mark)
{
	if (ev->type != YAML_SCALAR_EVENT)
		return fail(ld, &ev->start_mark, PP_EPARSE,
			    "mapping keys must be scalars");
	*key = pp_strndup((const char *)ev->data.scalar.value,
			  ev->data.scalar.length);
	*mark = ev->start_mark;
	return *key ? PP_OK : PP_ENOMEM;
}

static int add_member(struct loader *ld, struct pp_json *obj, const char *key,
		      const yaml_mark_t *mark, struct pp_json *val)
{
	if (pp_json_get(obj, key)) {
		pp_json_decref(val);
		return pp_diag_set(ld->diag, PP_EPARSE, ld->name,
				   (int)mark->line + 1, (int)mark->column + 1,
				   "duplicate key '%s'", key);
	}
	return pp_json_set(obj, key, val);
}

static int load_children(struct loader *ld, struct pp_json *container,
			 yaml_event_type_t end, int depth)
{
	yaml_event_t ev;
	yaml_mark_t key_mark;
	struct pp_json *val;
	char *key = NULL;
	int rc;

	for (;;) {
		rc = next_event(ld, &ev);
		if (rc)
			break;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		if (end == YAML_MAPPING_END_EVENT && !key) {
			rc = load_key(ld, &ev, &key, &key_mark);
			yaml_event_delete(&ev);
			if (rc)
				break;
			continue;
		}
		rc = load_node(ld, &ev, depth + 1, &val);
		yaml_event_delete(&ev);
		if (rc)
			break;
		if (key) {
			rc = map_add(&ld->map->keys, val, &key_mark);
			if (rc)
				pp_json_decref(val);
			else
				rc = add_member(ld, container, key, &key_mark, val);
			free(key);
			key = NULL;
		} else {
			rc = pp_json_append(container, val);
		}
		if (rc)
			break;
	}
	free(key);
	return rc;
}

static int load_node(struct loader *ld, yaml_event_t *ev, int depth,
		     struct pp_json **out)
{
	struct pp_json *node = NULL;
	int rc;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return fail(ld, &ev->start_mark, PP_EPARSE, "nesting too deep");
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		node = find_anchor(ld, ev->data.alias.anchor);
		if (!node)
			return fail(ld, &ev->start_mark, PP_EPARSE, "unknown alias");
		*out = pp_json_incref(node);
		return PP_OK;
	case YAML_SCALAR_EVENT:
		node = scalar_value(ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = pp_json_array();
		break;
	case YAML_MAPPING_START_EVENT:
		node = pp_json_object();
		break;
	default:
		return fail(ld, &ev->start_mark, PP_EPARSE, "unexpected YAML event");
	}
	if (!node)
		return PP_ENOMEM;
	rc = map_add(&ld->map->nodes, node, &ev->start_mark);
	if (!rc && ev->type == YAML_SCALAR_EVENT)
		rc = remember_anchor(ld, ev->data.scalar.anchor, node);
	if (!rc && ev->type == YAML_SEQUENCE_START_EVENT) {
		rc = remember_anchor(ld, ev->data.sequence_start.anchor, node);
		if (!rc)
			rc = load_children(ld, node, YAML_SEQUENCE_END_EVENT, depth);
	}
	if (!rc && ev->type == YAML_MAPPING_START_EVENT) {
		rc = remember_anchor(ld, ev->data.mapping_start.anchor, node);
		if (!rc)
			rc = load_children(ld, node, YAML_MAPPING_END_EVENT, depth);
	}
	if (rc) {
		pp_json_decref(node);
		return rc;
	}
	*out = node;
	return PP_OK;
}

/* Skips events up to the first node of the first document. */
static int load_document(struct loader *ld, struct pp_json **root)
{
	yaml_event_t ev;
	int rc;

	*root = NULL;
	for (;;) {
		rc = next_event(ld, &ev);
		if (rc)
			return rc;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			*root = pp_json_null();
			return *root ? PP_OK : PP_ENOMEM;
		}
		if (ev.type != YAML_STREAM_START_EVENT &&
		    ev.type != YAML_DOCUMENT_START_EVENT)
			break;
		yaml_event_delete(&ev);
	}
	rc = load_node(ld, &ev, 0, root);
	yaml_event_delete(&ev);
	return rc;
}

int pp_yaml_load_string(const char *text, size_t len, const char *name,
			struct pp_json **root, struct pp_srcmap **map,
			struct pp_diag *diag)
{
	struct loader ld;
	size_t i;
	int rc;

	memset(&ld, 0, sizeof(ld));
	ld.name = name ? name : "<string>";
	ld.diag = diag;
	*root = NULL;
	if (map)
		*map = NULL;
	ld.map = pp_calloc(1, sizeof(*ld.map));
	if (!ld.map)
		return PP_ENOMEM;
	ld.map->file = pp_strdup(ld.name);
	if (!ld.map->file || !yaml_parser_initialize(&ld.parser)) {
		pp_srcmap_free(ld.map);
		return PP_ENOMEM;
	}
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
	rc = load_document(&ld, root);
	yaml_parser_delete(&ld.parser);
	for (i = 0; i < ld.n_anchors; i++)
		free(ld.anchors[i].name);
	free(ld.anchors);
	if (rc) {
		pp_json_decref(*root);
		*root = NULL;
		pp_srcmap_free(ld.map);
		return rc;
	}
	qsort(ld.map->nodes.pos, ld.map->nodes.n, sizeof(*ld.map->nodes.pos), cmp_pos);
	qsort(ld.map->keys.pos, ld.map->keys.n, sizeof(*ld.map->keys.pos), cmp_pos);
	if (map)
		*map = ld.map;
	else
		pp_srcmap_free(ld.map);
	return PP_OK;
}

int pp_yaml_load_file(const char *path, struct pp_json **root,
		      struct pp_srcmap **map, struct pp_diag *diag)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = pp_buf_read_file(&b, path);

	if (rc) {
		*root = NULL;
		if (map)
			*map = NULL;
		return pp_diag_set(diag, rc, path, 0, 0, "cannot read file: %s",
				   rc == PP_ENOMEM ? pp_strerror(rc) : strerror(errno));
	}
	rc = pp_yaml_load_string(b.buf, b.len, path, root, map, diag);
	pp_buf_release(&b);
	return rc;
}
