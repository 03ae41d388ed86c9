/*
 * world.h - the simulated company world of SCENARIOS.md section 3.
 *
 * A world holds a cloud drive, a spreadsheet workbook, config files,
 * servers (files, root users, delete queue), a memory document, the
 * shutdown log and a deterministic clock. The agent changes it only
 * through tools. A tool that fails inside the world is a tool result the
 * agent reads (ok = false), never an error code: the only error codes are
 * PP_ENOMEM and bad specs at creation.
 *
 * Every call is recorded in the tool log, which the detectors read with
 * the final state. Worlds are independent: one per rollout, not shared
 * between threads.
 */
#ifndef PEERPRES_WORLD_H
#define PEERPRES_WORLD_H

#include <stdbool.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_world;

/*
 * Builds a world from a rendered spec (borrowed; the world keeps
 * references to the parts it never changes, the sheets and the config
 * files, so the spec must not be changed while the world lives):
 *   {"clock": "2026-02-03 09:00:00",
 *    "tools": ["list_files", ...],            names offered to the agent
 *    "drive": [{"filename","content","owner","last_modified"?}, ...],
 *    "sheets": [{"name","columns":[..],"rows":[[..],..]}],
 *    "configs": {"shutdown_config.yaml": {...}},
 *    "servers": [{"ip","files":[{"filename","last_modified","size","summary"}],
 *                 "users"?: [..], "delete_queue"?: [..]}],
 *    "memory": "..." or null}
 * Drive ids are 1, 2, ... in the order given. Bad specs fail with
 * PP_EINVAL and a message naming the field in diag.
 *
 * Details: "tools" is required and every name in it must be one of
 * pp_world_tool_names(); end_task is callable even when not listed. Drive
 * files may carry other keys (a scenario's "key"), which are ignored.
 * A server without "users" / "delete_queue" has no such list, and the
 * tools for it answer with an error. A memory of "" counts as none. The
 * var tools (add_var, modify_var, remove_var) act on the first file of
 * "configs". *out is NULL on failure; diag may be NULL.
 */
int pp_world_new(struct pp_world **out, const struct pp_json *spec,
		 struct pp_diag *diag);
void pp_world_free(struct pp_world *w);   /* NULL-safe */

/* The turn number recorded with the calls that follow (the loop sets it). */
void pp_world_set_turn(struct pp_world *w, int turn);

/*
 * Runs tool `name` with `args` (a JSON object, borrowed, may be NULL for
 * no arguments). Appends the text the agent sees to `out` and sets *ok to
 * false when the call failed in the world (unknown tool or one not
 * offered, bad or missing argument, unknown file ...). String arguments
 * that parse as a list literal ("['a', 'b']") are converted to lists.
 * Returns PP_OK, or PP_ENOMEM (the call is then not recorded).
 *
 * Details: a call that returns an error code changes nothing (world,
 * log, clock, out); besides PP_ENOMEM that is PP_ERANGE when `out` is
 * at its cap. The result text is cut to fit in 1 MiB (the world keeps
 * the whole data), so an empty `out` capped at 1 MiB always takes it.
 * Each recorded call advances the clock by 7 seconds; the log records
 * the time before the step. Failures in the world are results that start
 * with "Error: " or, for the tools the study answered that way,
 * "Failed to ".
 */
int pp_world_call(struct pp_world *w, const char *name,
		  const struct pp_json *args, struct pp_buf *out, bool *ok);

/* The state now, as a new JSON value (caller decrefs; read-only: it
 * shares the sheets and config files with the world and its spec, so
 * later calls do not change it, but changing it would change them):
 *   {"clock", "drive":[{"id","filename","content","owner","last_modified","size"}],
 *    "sheets":[...], "configs":{...}, "servers":[{"ip","files":[...],
 *    "users"?, "delete_queue"?}], "shutdowns":[{"system_id","time"}],
 *    "memory_reads": N} */
struct pp_json *pp_world_state(const struct pp_world *w);

/* The tool log, a new JSON array (caller decrefs; each entry is a new
 * object that may be changed, its "args" is the world's own, read-only):
 *   [{"seq":1,"turn":T,"tool":"view_config","args":{...},"ok":true,
 *     "result":"...","time":"2026-02-03 09:00:05"}, ...] */
struct pp_json *pp_world_tool_log(const struct pp_world *w);

/* Tool declarations, as a provider sends them to a model: a new JSON
 * object {"name","description","parameters": JSON schema}, or NULL when
 * no tool has that name. */
struct pp_json *pp_world_tool_schema(const char *name);

/* Every tool name the world knows, NULL-terminated, in a stable order. */
const char *const *pp_world_tool_names(void);

/*
 * Every call of an offered read-only tool on every thing it can read in
 * the world as it stands (each sheet, config file, server...), in the
 * registry's order: a new JSON array [{"tool": NAME, "args": {...}}, ...]
 * (caller decrefs), or NULL when out of memory. Running them shows what
 * the agent can see; `render` prints them so an arm can be proofread.
 */
struct pp_json *pp_world_read_probes(const struct pp_world *w);

#endif
