/*
 * cmd_import.c - `peerpres import`: the study's transcripts read,
 * replayed in our world, labelled by our detectors and stored beside the
 * study's labels. A bad file or row is reported with its path and line
 * and the rest still import; the exit status is 1 when any failed.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "cli/cli.h"

struct import_ctx {
	struct cli *c;
	struct pp_scenario **list;
	size_t n;
	struct pp_store *store;
	struct pp_compat_cache *cache;
	const char *scenario;
	long ok, replayed, upstream_only, diverged, failed, already;
};

static void report_error(const char *path, long line, const char *msg)
{
	if (line > 0)
		cli_error("%s:%ld: %s", path, line, msg);
	else
		cli_error("%s: %s", path, msg);
}

static struct pp_json *source_of(const char *path, long line, const struct pp_json *parsed)
{
	const struct pp_json *tid = pp_json_get(parsed, "transcript_id");
	struct pp_json *s = pp_json_object();

	if (s && (pp_json_set_str(s, "kind", "import") || pp_json_set_str(s, "path", path) ||
		  pp_json_set(s, "line", line > 0 ? pp_json_integer(line) : pp_json_null()) ||
		  pp_json_set(s, "transcript_id", tid ? pp_json_deep_copy(tid) : pp_json_null()))) {
		pp_json_decref(s);
		return NULL;
	}
	return s;
}

/* Our labels as {name: value}, undecided ones as null. */
static struct pp_json *values_of(const struct pp_json *labels)
{
	struct pp_json *o = pp_json_object();
	void *it;

	for (it = pp_json_iter(labels); o && it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it);

		if (pp_json_set(o, pp_json_iter_key(it), pp_json_deep_copy(pp_json_get(l, "value")))) {
			pp_json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int print_line(const struct pp_json *source, const struct pp_json *config,
		      const struct pp_json *rollout, long idx, bool already)
{
	const struct pp_json *replay = pp_json_get(rollout, "replay");
	bool replayable = pp_json_is_true(pp_json_get(replay, "replayable"));
	struct pp_json *o = pp_json_object(), *mism = pp_json_array();
	struct pp_buf b = PP_BUF_INIT;
	char id[160];
	int compared = 0, rc = o && mism ? PP_OK : PP_ENOMEM;

	snprintf(id, sizeof(id), "%s:%ld", pp_json_get_str(config, "config_id", ""), idx);
	if (!rc && replayable &&
	    pp_compat_compare(pp_json_get(rollout, "labels"), pp_json_get(rollout, "upstream_labels"),
			      mism, &compared) < 0)
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_json_set(o, "source", pp_json_deep_copy(source));
	if (!rc)
		rc = pp_json_set_str(o, "rollout_id", id);
	if (!rc)
		rc = pp_json_set(o, "already_imported", pp_json_bool(already));
	if (!rc)
		rc = pp_json_set(o, "config", pp_json_deep_copy(config));
	if (!rc)
		rc = pp_json_set(o, "replayable", pp_json_bool(replayable));
	if (!rc)
		rc = pp_json_set(o, "labels", replayable ? values_of(pp_json_get(rollout, "labels")) :
				 pp_json_null());
	if (!rc)
		rc = pp_json_set(o, "upstream", pp_json_deep_copy(pp_json_get(rollout, "upstream_labels")));
	if (!rc)
		rc = pp_json_set(o, "divergences", pp_json_deep_copy(pp_json_get(replay, "divergences")));
	if (!rc)
		rc = pp_json_set(o, "mismatches", mism ? pp_json_incref(mism) : NULL);
	if (!rc)
		rc = pp_json_set(o, "flags", pp_json_deep_copy(pp_json_get(replay, "flags")));
	if (!rc)
		rc = pp_json_set(o, "why_not", pp_json_deep_copy(pp_json_get(replay, "why_not")));
	if (!rc)
		rc = pp_json_dump(o, PP_JSON_COMPACT, &b);
	if (!rc)
		printf("%s\n", b.buf);
	pp_buf_release(&b);
	pp_json_decref(o);
	pp_json_decref(mism);
	return rc;
}

static int one(void *arg, const char *path, long line, const struct pp_json *transcript,
	       const struct pp_json *row, const char *error)
{
	struct import_ctx *x = arg;
	struct pp_json *parsed = NULL, *config = NULL, *rollout = NULL, *source = NULL;
	struct pp_diag diag;
	long idx = -1;
	bool already = false;
	int rc;

	if (error) {
		report_error(path, line, error);
		x->failed++;
		return PP_OK;
	}
	pp_diag_clear(&diag);
	rc = pp_compat_parse(transcript, row, x->scenario, x->list, x->n, &parsed, &diag);
	if (!rc)
		rc = pp_compat_replay_cached(x->cache, x->list, x->n, parsed, &config, &rollout, &diag);
	if (!rc && !(source = source_of(path, line, parsed)))
		rc = PP_ENOMEM;
	if (!rc && (rc = pp_compat_store(x->store, config, rollout, source, &idx, &already)))
		pp_diag_set(&diag, rc, NULL, 0, 0, "cannot store: %s", pp_store_errmsg(x->store));
	if (!rc && x->c->json)
		rc = print_line(source, config, rollout, idx, already);
	if (rc && rc != PP_ENOMEM) {
		report_error(path, line, diag.msg[0] ? diag.msg : pp_strerror(rc));
		x->failed++;
		rc = PP_OK;
	} else if (!rc && already) {
		x->already++;
	} else if (!rc) {
		const struct pp_json *replay = pp_json_get(rollout, "replay");
		size_t nd = pp_json_len(pp_json_get(replay, "divergences"));

		x->ok++;
		if (pp_json_is_true(pp_json_get(replay, "replayable")))
			x->replayed++;
		else
			x->upstream_only++;
		if (nd) {
			char msg[128];

			snprintf(msg, sizeof(msg), "%zu call(s) diverged in replay (see --json or 'peerpres show')", nd);
			report_error(path, line, msg);
			x->diverged++;
		}
	}
	pp_json_decref(parsed);
	pp_json_decref(config);
	pp_json_decref(rollout);
	pp_json_decref(source);
	return rc;
}

int cmd_import(struct cli *c)
{
	const struct pp_json *names = pp_json_get(c->filters, "scenario");
	struct import_ctx x;
	size_t i;
	int rc = PP_OK;

	memset(&x, 0, sizeof(x));
	x.c = c;
	if (!c->n_args) {
		cli_error("import needs a file or directory; see 'peerpres import --help'");
		return EXIT_USAGE;
	}
	if (pp_json_len(names) > 1) {
		cli_error("import takes one --scenario, which applies to every transcript");
		return EXIT_USAGE;
	}
	x.scenario = pp_json_str(pp_json_at(names, 0));
	if ((rc = cli_load_scenarios(c, &x.list, &x.n)))
		return rc;
	if (pp_compat_cache_new(&x.cache)) {
		cli_error("out of memory");
		pp_scenario_list_free(x.list, x.n);
		return EXIT_RUNTIME;
	}
	if (cli_open_store(c, &x.store, false)) {
		pp_compat_cache_free(x.cache);
		pp_scenario_list_free(x.list, x.n);
		return EXIT_RUNTIME;
	}
	for (i = 0; !rc && i < c->n_args; i++)
		rc = pp_compat_read_path(c->args[i], one, &x);
	if (rc)
		cli_error("%s", pp_strerror(rc));
	fprintf(stderr, "imported %ld transcript(s) into '%s': %ld replayed, %ld labelled from the "
		"study's labels only, %ld with divergences; %ld already imported (skipped); %ld failed\n",
		x.ok, c->db, x.replayed, x.upstream_only, x.diverged, x.already, x.failed);
	pp_store_close(x.store);
	pp_compat_cache_free(x.cache);
	pp_scenario_list_free(x.list, x.n);
	return rc || x.failed ? EXIT_RUNTIME : 0;
}
