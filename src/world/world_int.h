/*
 * world_int.h - the inside of struct pp_world, shared by the files of
 * src/world.
 *
 * A world is plain C data: the drive, the servers, the shutdown log and
 * the tool log are arrays of owned records; only the read-only workbook
 * and the config files stay JSON trees, because they are rendered from
 * and dumped as JSON anyway.
 *
 * JSON is shared, never copied, where nobody changes it: the workbook is
 * the spec's own array; `configs` is the world's own mapping of names to
 * the spec's file mappings, and a var tool replaces a file with a changed
 * copy rather than edit it; a logged call's converted arguments are
 * never changed after the call. So the state and the tool log hand out
 * references to these, and a world, its spec, its dumps and other
 * worlds of the same spec stay apart without deep copies.
 *
 * A tool call runs in two phases so that an allocation failure never
 * leaves the world half-changed: a handler first allocates everything it
 * needs and renders its result, then calls pp_wcall_emit() (the last step
 * that can fail: it copies the result into the log and the caller's
 * buffer), and only then changes the world, with no further allocation.
 * Handlers that change nothing let the dispatcher emit for them.
 */
#ifndef PP_WORLD_INT_H
#define PP_WORLD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/world.h>

/* Caps (every growable thing in the world has one). */
#define PP_WORLD_OUT_MAX  ((size_t)1 << 20)  /* text of one tool result */
#define PP_WORLD_TEXT_MAX ((size_t)4 << 20)  /* a string argument, a drive file */
#define PP_WORLD_STEP_S   7                  /* clock step per tool call */
#define PP_WORLD_TIME_LEN 20                 /* "YYYY-MM-DD HH:MM:SS" + NUL */
#define PP_WORLD_STAMP_MAX 32                /* server file last_modified */
/* Room kept at the end of a cut result for the note that says so. */
#define PP_WORLD_CUT_NOTE_MAX 64
/* Cap of the scratch buffer: renders may run a little past the output
 * cap before they are cut back under it. */
#define PP_WORLD_SCRATCH_MAX (PP_WORLD_OUT_MAX + PP_WORLD_CUT_NOTE_MAX)

/* Cloud drive file. */
struct pp_wfile {
	long long id;
	char *filename;
	char *content;          /* content_len bytes, NUL-terminated */
	size_t content_len;
	size_t chars;           /* size: UTF-8 code points of content */
	char *owner;
	char *last_modified;    /* NULL: none */
};

/* Sorted by id (new files get the largest id + 1, so appending keeps the
 * order). */
struct pp_wdrive {
	struct pp_wfile **v;
	size_t n, cap;
};

struct pp_wstrvec {
	char **v;
	size_t n, cap;
};

/* Server file; records move between servers by pointer. */
struct pp_sfile {
	char *filename;
	char last_modified[PP_WORLD_STAMP_MAX];
	long long size;         /* bytes, 64-bit: weight files are ~820 GB */
	char *summary;
};

struct pp_sfvec {
	struct pp_sfile **v;
	size_t n, cap;
};

struct pp_server {
	char *ip;
	struct pp_sfvec files;  /* insertion order */
	bool has_users;         /* the spec gave a "users" list */
	struct pp_wstrvec users;
	bool has_queue;         /* the spec gave a "delete_queue" list */
	struct pp_wstrvec queue;
};

struct pp_wshutdown {
	char *system_id;
	char time[PP_WORLD_TIME_LEN];
};

struct pp_wlog {
	int turn;
	const char *tool;       /* the registry's name, or tool_owned */
	char *tool_owned;       /* a copy of a name the registry lacks */
	struct pp_json *args;   /* after list-literal conversion; never changed */
	bool ok;
	char *result;
	size_t result_len;
	char time[PP_WORLD_TIME_LEN];
};

struct pp_world {
	long long clock_s;              /* seconds since 1970-01-01 00:00:00 */
	char now[PP_WORLD_TIME_LEN];    /* clock_s formatted */
	int turn;
	uint64_t offered;               /* bit i: registry tool i is offered */
	struct pp_wdrive drive;
	struct pp_json *sheets;         /* array of {name, columns, rows}: the spec's */
	struct pp_json *configs;        /* object: filename -> mapping (shared) */
	struct pp_server *servers;
	size_t n_servers;
	char *memory;                   /* NULL: no memory document */
	long long memory_reads;
	struct pp_wshutdown *shutdowns;
	size_t n_shutdowns, cap_shutdowns;
	struct pp_wlog *log;
	size_t n_log, cap_log;
	struct pp_buf scratch;          /* result being rendered, reused */
};

/* Parameter types of the tool registry. */
enum pp_wptype {
	PP_WP_STRING,   /* a JSON string */
	PP_WP_ID,       /* an integer, or a string holding one */
	PP_WP_STRLIST   /* an array of strings */
};

#define PP_WTOOL_MAX_PARAMS 3

struct pp_wcall;

struct pp_wparam {
	const char *name;
	enum pp_wptype type;
	const char *desc;
};

/* How a tool reads the world without changing it, for
 * pp_world_read_probes; PP_WREAD_NONE for tools that write (or, like
 * search_server_file_by_filename, need an argument no listing gives). */
enum pp_wread {
	PP_WREAD_NONE,
	PP_WREAD_PLAIN,        /* no argument */
	PP_WREAD_EACH_SHEET,   /* once per sheet name */
	PP_WREAD_EACH_CONFIG,  /* once per config filename */
	PP_WREAD_EACH_SERVER,  /* once per server ip */
	PP_WREAD_EACH_USERS,   /* once per server that has a users list */
	PP_WREAD_EACH_QUEUE    /* once per server that has a delete queue */
};

struct pp_wtool {
	const char *name;
	const char *desc;
	int (*run)(struct pp_wcall *c);   /* PP_OK or PP_ENOMEM */
	unsigned n_params;
	struct pp_wparam params[PP_WTOOL_MAX_PARAMS];
	enum pp_wread reads;
};

/* One call being run. Arguments are bound by parameter position. */
struct pp_wcall {
	struct pp_world *w;
	const struct pp_wtool *tool;
	const char *str[PP_WTOOL_MAX_PARAMS];      /* PP_WP_STRING values */
	size_t len[PP_WTOOL_MAX_PARAMS];           /* their byte lengths */
	long long id[PP_WTOOL_MAX_PARAMS];         /* PP_WP_ID values */
	const struct pp_json *list[PP_WTOOL_MAX_PARAMS]; /* PP_WP_STRLIST */
	struct pp_buf *res;     /* the result text (w->scratch) */
	bool ok;                /* false: the call failed in the world */
	bool cut;               /* res overflowed: the result will be cut */
	/* Filled by pp_wcall_emit. */
	struct pp_buf *out;
	char *result;
	size_t result_len;
	bool emitted;
};

/* tools.c: the registry. */
const struct pp_wtool *pp_wtool_find(const char *name, size_t *index);
size_t pp_wtool_count(void);
const struct pp_wtool *pp_wtool_at(size_t i);

/* args.c: list-literal conversion and binding. */
/* *out is a new copy of v with every list-literal string converted. */
int pp_wargs_convert(const struct pp_json *v, struct pp_json **out);
/* Binds args (converted; orig as given, for string parameters) to the
 * call's parameters. Returns PP_OK with c->ok false and an error text in
 * c->res when the arguments do not fit, or PP_ENOMEM. */
int pp_wargs_bind(struct pp_wcall *c, const struct pp_json *args,
		  const struct pp_json *orig);

/* world.c */
/* Copies the rendered result to the log and the caller's buffer: the last
 * fallible step of a call. Long results are cut at PP_WORLD_OUT_MAX. */
int pp_wcall_emit(struct pp_wcall *c);
/* Sets c->ok = false and writes "Error: ..." as the result. */
int pp_wcall_error(struct pp_wcall *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets c->ok = false and writes the text as the result (for "Failed to"
 * results, which the study returned rather than raised). */
int pp_wcall_fail(struct pp_wcall *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Wrap every render into c->res: overflowing the output cap is not an
 * error (the result is cut when emitted), so PP_ERANGE becomes PP_OK and
 * later renders of the call add nothing. */
int pp_wcall_fit(struct pp_wcall *c, int rc);

/* Loading, freeing and dumping the parts (each file owns its part). */
int pp_wdrive_load(struct pp_world *w, const struct pp_json *spec,
		   struct pp_diag *diag);
void pp_wdrive_release(struct pp_wdrive *d);
struct pp_json *pp_wdrive_state(const struct pp_world *w);

int pp_wsheets_load(struct pp_world *w, const struct pp_json *spec,
		    struct pp_diag *diag);
int pp_wconfigs_load(struct pp_world *w, const struct pp_json *spec,
		     struct pp_diag *diag);

int pp_wservers_load(struct pp_world *w, const struct pp_json *spec,
		     struct pp_diag *diag);
void pp_wservers_release(struct pp_world *w);
struct pp_json *pp_wservers_state(const struct pp_world *w);


/* Tool handlers. */
int pp_wt_list_files(struct pp_wcall *c);
int pp_wt_create_file(struct pp_wcall *c);
int pp_wt_append_to_file(struct pp_wcall *c);
int pp_wt_delete_file(struct pp_wcall *c);
int pp_wt_list_sheets(struct pp_wcall *c);
int pp_wt_view_sheet(struct pp_wcall *c);
int pp_wt_view_config(struct pp_wcall *c);
int pp_wt_add_var(struct pp_wcall *c);
int pp_wt_remove_var(struct pp_wcall *c);
int pp_wt_modify_var(struct pp_wcall *c);
int pp_wt_execute_shutdown(struct pp_wcall *c);
int pp_wt_retrieve_memory(struct pp_wcall *c);
int pp_wt_list_server_ips(struct pp_wcall *c);
int pp_wt_list_server_files(struct pp_wcall *c);
int pp_wt_search_server_file(struct pp_wcall *c);
int pp_wt_delete_server_file(struct pp_wcall *c);
int pp_wt_transfer_server_files(struct pp_wcall *c);
int pp_wt_rename_server_file(struct pp_wcall *c);
int pp_wt_copy_server_file(struct pp_wcall *c);
int pp_wt_list_server_users(struct pp_wcall *c);
int pp_wt_add_server_user(struct pp_wcall *c);
int pp_wt_remove_server_user(struct pp_wcall *c);
int pp_wt_list_server_delete_queue(struct pp_wcall *c);
int pp_wt_add_server_delete_queue(struct pp_wcall *c);
int pp_wt_remove_server_delete_queue(struct pp_wcall *c);
int pp_wt_reasoning_scratchpad(struct pp_wcall *c);
int pp_wt_end_task(struct pp_wcall *c);

#endif
