/*
 * cmd_export.c - `peerpres export`: stored rollouts in the study's own
 * formats (docs/import.md), so the study's analysis scripts, and our
 * importer, read them: one transcript file per rollout, the dataset's
 * JSONL layout, or its columns as CSV.
 *
 * Labels the rules left undecided are filled from a judge's verdicts, as
 * the study's dataset carries its judge's scores and refusals: the judge
 * report would apply (--judge J, else the one that wrote last; --judge
 * none exports the rules alone). A rule's value is never replaced, and a
 * failed verdict leaves the label null.
 *
 * upstream-json never overwrites a file: names are SCENARIO_CONFIG_INDEX,
 * so two stores exported into one directory can name the same file, and
 * a rollout overwritten there is lost without a word. Into a directory
 * that already existed, every name is checked before the first file is
 * written, and each file is created exclusively in case one appears
 * meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "cli/cli.h"

enum fmt { FMT_UPSTREAM_JSON, FMT_JSONL, FMT_CSV };

struct export_ctx {
	struct cli *c;
	struct pp_store *store;
	enum fmt fmt;
	FILE *out;          /* jsonl and csv */
	const char *judge;  /* "MODEL@VERSION" applied, or NULL */
	long n;
	long judged;        /* labels filled from verdicts */
	long left_out;      /* error rollouts not exported (no --with-errors) */
	struct pp_judge_fold *fold;   /* the judge's verdicts, folded into each config */
	bool said;          /* a failure one_config reported itself */
	bool made_dir;      /* upstream-json: -o DIR did not exist before */
};

static int parse_format(const char *s, enum fmt *f)
{
	if (!s)
		return -1;
	if (!strcmp(s, "upstream-json"))
		*f = FMT_UPSTREAM_JSON;
	else if (!strcmp(s, "jsonl"))
		*f = FMT_JSONL;
	else if (!strcmp(s, "csv"))
		*f = FMT_CSV;
	else
		return -1;
	return 0;
}

/* Where upstream-json writes a rollout: DIR/SCENARIO_CONFIGID_INDEX.json. */
static int target_path(struct pp_buf *b, const char *dir, const struct pp_json *config,
		       long long idx)
{
	pp_buf_reset(b);
	return pp_buf_addf(b, "%s/%s_%s_%lld.json", dir, pp_json_get_str(config, "scenario", "unknown"),
			   pp_json_get_str(config, "config_id", ""), idx);
}

/* more: how many other files of the export exist too. */
static void say_exists(const char *path, long more)
{
	char also[64] = "";

	if (more > 0)
		snprintf(also, sizeof(also), " (and %ld more of this export's files)", more);
	cli_error("'%s' already exists%s: upstream-json never overwrites a file, so nothing "
		  "was written; export into an empty or new directory", path, also);
}

static int write_file(const char *path, const struct pp_json *v)
{
	struct pp_buf b = PP_BUF_INIT;
	FILE *f;
	int rc = pp_json_dump(v, PP_JSON_PRETTY | PP_JSON_SHORT_REALS, &b);

	if (rc)
		return rc;
	/* "x": created here or not at all, even if another export wrote
	 * the name after the check. */
	if (!(f = fopen(path, "wx"))) {
		if (errno == EEXIST)
			cli_error("'%s' appeared during the export: upstream-json never overwrites "
				  "a file; export into an empty or new directory", path);
		else
			cli_error("cannot write '%s': %s", path, strerror(errno));
		pp_buf_release(&b);
		return PP_EIO;
	}
	if (fwrite(b.buf, 1, b.len, f) != b.len || fputc('\n', f) == EOF)
		rc = PP_EIO;
	if (fclose(f) && !rc)
		rc = PP_EIO;
	if (rc)
		cli_error("cannot write '%s': %s", path, strerror(errno));
	pp_buf_release(&b);
	return rc;
}

static int put_line(struct export_ctx *x, const struct pp_buf *b)
{
	if (fwrite(b->buf, 1, b->len, x->out) != b->len) {
		cli_error("cannot write the export: %s", strerror(errno));
		return PP_EIO;
	}
	return PP_OK;
}

/* The summary's view of a rollout (judge applied) over the stored
 * record: the labels the judge filled, the status they lead to, and
 * "judge" naming it (null when none was applied). */
static int fold_judge(struct export_ctx *x, struct pp_json *rollout, const struct pp_json *sr)
{
	const struct pp_json *labels = pp_json_get(sr, "labels");
	struct pp_json *ours = pp_json_get(rollout, "labels");
	void *it;
	int rc = pp_json_set(rollout, "judge", x->judge ? pp_json_string(x->judge) : pp_json_null());

	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it)) {
		if (strcmp(pp_json_get_str(pp_json_iter_value(it), "source", ""), "judge") || !ours)
			continue;
		rc = pp_json_set(ours, pp_json_iter_key(it), pp_json_deep_copy(pp_json_iter_value(it)));
		x->judged += !rc;
	}
	if (!rc && x->judge)
		rc = pp_json_set(rollout, "status", pp_json_incref(pp_json_get(sr, "status")));
	return rc;
}

/* One rollout (sr: its summary entry), in the chosen format. */
static int one(struct export_ctx *x, const struct pp_json *config, const struct pp_json *sr,
	       long long idx)
{
	struct pp_json *rollout = NULL, *tr = NULL, *row = NULL;
	struct pp_buf b = PP_BUF_INIT;
	char id[200];
	int rc;

	rc = snprintf(id, sizeof(id), "%s:%lld", pp_json_get_str(config, "config_id", ""), idx);
	if (rc < 0 || rc >= (int)sizeof(id)) {
		cli_error("config id too long: %s", pp_json_get_str(config, "config_id", ""));
		return PP_ERANGE;
	}
	if ((rc = pp_store_get_rollout(x->store, id, &rollout))) {
		cli_error("cannot read rollout %s: %s", id, pp_store_errmsg(x->store));
		return rc;
	}
	rc = fold_judge(x, rollout, sr);
	if (!rc)
		rc = pp_compat_export_transcript(config, rollout, &tr);
	if (!rc && x->fmt == FMT_UPSTREAM_JSON) {
		if (!(rc = target_path(&b, x->c->output, config, idx)))
			rc = write_file(b.buf, tr);
	} else if (!rc) {
		rc = pp_compat_export_row(tr, rollout, x->fmt == FMT_JSONL, &row);
		if (!rc && x->fmt == FMT_JSONL &&
		    !(rc = pp_json_dump(row, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &b)))
			rc = pp_buf_addc(&b, '\n');
		else if (!rc && x->fmt == FMT_CSV)
			rc = pp_compat_export_csv(row, &b);
		if (!rc)
			rc = put_line(x, &b);
	}
	if (!rc)
		x->n++;
	else if (rc == PP_ENOMEM)
		cli_error("out of memory");
	pp_buf_release(&b);
	pp_json_decref(rollout);
	pp_json_decref(tr);
	pp_json_decref(row);
	return rc;
}

static int open_output(struct export_ctx *x)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = PP_OK;
	struct stat st;

	/* An existing file is refused before anything is read, so the
	 * export fails once, not once per rollout (or, selecting none,
	 * not at all). */
	if (x->fmt == FMT_UPSTREAM_JSON) {
		if (!mkdir(x->c->output, 0777)) {
			x->made_dir = true;
			return PP_OK;
		}
		if (errno != EEXIST) {
			cli_error("cannot create '%s': %s", x->c->output, strerror(errno));
			return PP_EIO;
		}
		if (stat(x->c->output, &st) || !S_ISDIR(st.st_mode)) {
			cli_error("'%s' is not a directory: --format upstream-json writes one file "
				  "per rollout into -o DIR", x->c->output);
			return PP_EIO;
		}
		return PP_OK;
	}
	if (!(x->out = cli_output(x->c)))
		return PP_EIO;
	if (x->fmt == FMT_CSV && !(rc = pp_compat_export_csv(NULL, &b)))
		rc = put_line(x, &b);
	pp_buf_release(&b);
	return rc;
}

/* upstream-json into a directory that was there: fails, writing nothing,
 * when a file the export would write exists already, naming the first
 * (in export order) and counting them. Only names are read: the configs'
 * records, then each config's indexes. */
static int check_targets(struct export_ctx *x, const struct pp_json *filters)
{
	struct pp_json *configs = NULL, *idxs = NULL;
	struct pp_buf path = PP_BUF_INIT, first = PP_BUF_INIT;
	struct stat st;
	long clashes = 0;
	size_t i, k;
	int rc;

	if (x->fmt != FMT_UPSTREAM_JSON || x->made_dir)
		return PP_OK;
	if ((rc = pp_store_configs(x->store, filters, &configs))) {
		cli_error("cannot read '%s': %s", x->c->db, pp_store_errmsg(x->store));
		return rc;
	}
	for (i = 0; !rc && i < pp_json_len(configs); i++) {
		const struct pp_json *config = pp_json_at(configs, i);

		/* Any key will do: only the indexes are used. */
		if ((rc = pp_store_extra_values(x->store, pp_json_get_str(config, "config_id", ""),
						"source_key", &idxs))) {
			cli_error("cannot read '%s': %s", x->c->db, pp_store_errmsg(x->store));
			goto out;
		}
		for (k = 0; !rc && k < pp_json_len(idxs); k++) {
			long long idx = 0;

			pp_json_int(pp_json_at(pp_json_at(idxs, k), 0), &idx);
			if ((rc = target_path(&path, x->c->output, config, idx)) ||
			    lstat(path.buf, &st))
				continue;
			if (!clashes++)
				rc = pp_buf_add(&first, path.buf, path.len);
		}
		pp_json_decref(idxs);
		idxs = NULL;
	}
	if (rc)
		cli_error("cannot check '%s': %s", x->c->output, pp_strerror(rc));
	else if (clashes) {
		say_exists(first.buf, clashes - 1);
		rc = PP_EIO;
	}
out:
	pp_json_decref(configs);
	pp_buf_release(&path);
	pp_buf_release(&first);
	return rc;
}

/* Reads the chosen judge's verdicts, as report applies them; x->judge
 * names it ("MODEL@VERSION" in buf) or stays NULL. */
static int open_judge(struct export_ctx *x, struct pp_judge_fold **fold, char buf[700])
{
	struct pp_json *applied = NULL;
	int rc = pp_store_judge_fold_open(x->store, x->c->n_judges ? x->c->judges[0] : NULL, fold);

	if (!rc)
		rc = pp_store_judge_fold_record(*fold, &applied);
	if (rc) {
		cli_error("cannot apply the judge: %s", pp_store_errmsg(x->store));
		return rc;
	}
	if (applied) {
		snprintf(buf, 700, "%s@%s", pp_json_get_str(applied, "judge", ""),
			 pp_json_get_str(applied, "prompt_version", ""));
		x->judge = buf;
	}
	pp_json_decref(applied);
	return PP_OK;
}

/* One config's rollouts (pp_store_summary_each: its summary alone is
 * read, so an export's memory does not grow with the store). A failure
 * here is said here; x->said then tells the caller. */
static int one_config(void *arg, struct pp_json *summary)
{
	struct export_ctx *x = arg;
	const struct pp_json *config = pp_json_at(summary, 0);
	const struct pp_json *rollouts = pp_json_get(config, "rollouts");
	size_t k;
	int rc = pp_store_judge_fold(x->fold, summary);

	if (rc)
		cli_error("cannot apply the judge: %s", pp_store_errmsg(x->store));
	for (k = 0; !rc && k < pp_json_len(rollouts); k++) {
		const struct pp_json *sr = pp_json_at(rollouts, k);
		long long idx = 0;

		/* A provider failure ended it: its labels describe no
		 * behaviour, and a script that reads the study's columns would
		 * count them as some. */
		if (!x->c->with_errors && !strcmp(pp_json_get_str(sr, "status", ""), "error")) {
			x->left_out++;
			continue;
		}
		pp_json_int(pp_json_get(sr, "idx"), &idx);
		rc = one(x, config, sr, idx);
	}
	x->said = rc != PP_OK;
	return rc;
}

int cmd_export(struct cli *c)
{
	struct export_ctx x;
	struct pp_json *filters = NULL, *ids = NULL;
	char judge[700];
	int rc;

	memset(&x, 0, sizeof(x));
	x.c = c;
	if (cli_no_args(c, "export"))
		return EXIT_USAGE;
	if (c->n_judges > 1) {
		cli_error("export takes one --judge");
		return EXIT_USAGE;
	}
	if (parse_format(c->format, &x.fmt)) {
		cli_error("export needs --format upstream-json, jsonl or csv%s%s%s",
			  c->format ? " (not '" : "", c->format ? c->format : "", c->format ? "')" : "");
		return EXIT_USAGE;
	}
	if (x.fmt == FMT_UPSTREAM_JSON && (!c->output || !strcmp(c->output, "-"))) {
		cli_error("--format upstream-json writes one file per rollout: give the directory "
			  "with -o DIR");
		return EXIT_USAGE;
	}
	if (cli_open_store(c, &x.store, true))
		return EXIT_RUNTIME;
	/* Before the output: a usage error leaves no file behind. */
	if ((rc = cli_check_store_filters(c, x.store)) ||
	    (rc = cli_arm_filters(c, x.store, &filters))) {
		pp_store_close(x.store);
		return rc;
	}
	if ((rc = open_output(&x)) || (rc = check_targets(&x, filters)))
		goto out;
	if ((rc = pp_store_config_ids(x.store, filters, &ids))) {
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(x.store));
		rc = rc ? rc : PP_ENOMEM;
		goto out;
	}
	cli_note_nothing_selected(c, pp_json_len(ids));
	if ((rc = open_judge(&x, &x.fold, judge)))
		goto out;
	if ((rc = pp_store_summary_each(x.store, filters, one_config, &x)) && !x.said)
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(x.store));
	if (!rc && x.out && fflush(x.out)) {
		cli_error("cannot write the export: %s", strerror(errno));
		rc = PP_EIO;
	}
	fprintf(stderr, "exported %ld rollout(s) from '%s' as %s%s%s\n", x.n, c->db, c->format,
		c->output ? " to " : "", c->output ? c->output : "");
	if (x.left_out)
		fprintf(stderr, "%ld error rollout(s) left out: a provider failure ended them, so their"
			" labels describe no behaviour ('--with-errors' exports them, marked by"
			" peerpres_status)\n", x.left_out);
	if (x.judge)
		fprintf(stderr, "%ld undecided labels filled from the verdicts of %s ('--judge none':"
			" the rules only)\n", x.judged, x.judge);
out:
	if (x.out && x.out != stdout && fclose(x.out) && !rc) {
		cli_error("cannot write '%s': %s", c->output, strerror(errno));
		rc = PP_EIO;
	}
	pp_json_decref(filters);
	pp_json_decref(ids);
	pp_store_judge_fold_free(x.fold);
	pp_store_close(x.store);
	return rc ? EXIT_RUNTIME : 0;
}
