/*
 * cmd_judge.c - `peerpres judge`: the judge asked about the labels the
 * rules left undecided, the judges in a store, and agreement between
 * the rules and a judge or between two judges. Also the judge stage at
 * the end of `run`.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <peerpres/judge.h>
#include <peerpres/status.h>

#include "cli/cli.h"
#include "core/monotonic.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct progress {
	double start_s, last_s;
	bool tty;                 /* a live line; otherwise a plain line now and then */
};

/* As run's: a live line at most ten times a second on a terminal, a
 * plain line every ten seconds in a log. */
static void progress_line(void *arg, const struct pp_judge_progress *pr)
{
	struct progress *p = arg;
	double t = pp_monotonic_s(), rate;

	if (p->start_s == 0)
		p->start_s = p->last_s = t;
	if (pr->done != pr->total && t - p->last_s < (p->tty ? 0.1 : 10.0))
		return;
	p->last_s = t;
	rate = t > p->start_s ? (double)pr->done / (t - p->start_s) : 0;
	fprintf(stderr, "%s%ld/%ld rollouts judged  %.1f/s  %ld in flight  %ld questions  "
		"%ld failed  %ld retries  %ld+%ld tokens  ETA %.0f s%s", p->tty ? "\r" : "",
		pr->done, pr->total, rate, pr->in_flight, pr->questions, pr->failed, pr->retries,
		pr->input_tokens, pr->output_tokens,
		rate > 0 ? (double)(pr->total - pr->done) / rate : 0.0, p->tty ? "   " : "\n");
	if (p->tty && pr->done == pr->total)
		fputc('\n', stderr);
}

/* "openai" of "openai/gpt-4.1-mini". */
static void provider_of(const char *model, char *out, size_t len)
{
	const char *slash = strchr(model, '/');
	size_t n = slash ? (size_t)(slash - model) : strlen(model);

	snprintf(out, len, "%.*s", (int)n, model);
}

/* "MODEL@VERSION" for a pass: the model, and the version when given. */
static int split_judge(const char *spec, char *model, size_t len, const char **version)
{
	const char *at = strrchr(spec, '@');

	*version = NULL;
	if (!at || strchr(at, '/')) {
		snprintf(model, len, "%s", spec);
		return 0;
	}
	if ((size_t)(at - spec) >= len || at == spec || !at[1])
		return -1;
	snprintf(model, len, "%.*s", (int)(at - spec), spec);
	*version = at + 1;
	return 0;
}

static void print_agreement(const struct pp_json *ag);

static void print_result(const char *judge, const char *version, const struct pp_judge_result *r)
{
	printf("judge %s (prompts %s): %ld undecided labels to judge, %ld judged before\n", judge,
	       version, r->undecided, r->cached);
	if (r->errors_left_out)
		printf("left out %ld error rollouts with undecided labels: a provider call failed"
		       " for good, so reports never read their labels\n", r->errors_left_out);
	if (r->forgotten)
		printf("forgot %ld failed verdicts to ask again\n", r->forgotten);
	printf("asked %ld questions about %ld rollouts: %ld labels decided (%ld of them left"
	       " undecided by the rules), %ld failed, %ld refused by the judge\n", r->questions,
	       r->rollouts, r->labels_ok, r->labels_settled, r->labels_failed, r->labels_refused);
	if (r->input_tokens || r->output_tokens)
		printf("judge usage: %ld input and %ld output tokens\n", r->input_tokens,
		       r->output_tokens);
	if (!strncmp(judge, "ref/", 4))
		printf("%s is the reference judge (fixed patterns), not a model\n", judge);
	if (r->labels_failed || r->labels_refused)
		printf("failed verdicts are kept and counted in reports; 'peerpres judge"
		       " --retry-failed' asks again\n");
	if (r->interrupted)
		printf("interrupted: run 'peerpres judge' again to go on\n");
}

/* After a pass with --also-decided: how the judge and the rules agree. */
static int agreement_after(struct pp_store *store, const struct cli *c, const char *judge,
			   const char *version, const struct pp_json *filters)
{
	struct pp_json *ag = NULL;
	char spec[700];

	if (c->also_decided <= 0)
		return 0;
	snprintf(spec, sizeof(spec), "%s@%s", judge, version);
	if (pp_judge_agreement(store, "rules", spec, filters, &ag)) {
		cli_error("cannot compute agreement: %s", pp_store_errmsg(store));
		return EXIT_RUNTIME;
	}
	print_agreement(ag);
	pp_json_decref(ag);
	return 0;
}

/* The undecided labels a judge without a key leaves, for the message. */
static long undecided_left(struct pp_store *store, const struct pp_judge_options *opt)
{
	struct pp_judge_result r;

	return pp_judge_count(store, opt, &r) ? -1 : r.undecided;
}

/* A pass of the judge spec over the rollouts filters select (borrowed). */
static int pass(const struct cli *c, struct pp_store *store, const char *spec,
		const struct pp_json *filters, const char *base_url,
		const volatile sig_atomic_t *stop, bool in_run)
{
	struct pp_judge_options opt;
	struct pp_judge_result res;
	struct progress prog = { 0, 0, false };
	struct pp_diag diag;
	char judge[512], prov[64];
	int rc = 0;

	memset(&opt, 0, sizeof(opt));
	if (split_judge(spec, judge, sizeof(judge), &opt.prompt_version)) {
		cli_error("bad judge '%s' (PROVIDER/MODEL or PROVIDER/MODEL@PROMPT_VERSION)", spec);
		return EXIT_USAGE;
	}
	opt.judge = judge;
	opt.provider.base_url = base_url;
	opt.filters = filters;
	opt.also_decided = c->also_decided;
	opt.retry_failed = c->retry_failed;
	opt.concurrency = c->concurrency;
	opt.stop = stop;
	prog.tty = isatty(STDERR_FILENO);
	opt.progress = progress_line;
	opt.progress_arg = &prog;
	pp_diag_clear(&diag);
	rc = pp_judge_run(store, &opt, &res, &diag);
	if (rc && strstr(diag.msg, "no API key")) {
		long left = undecided_left(store, &opt);

		/* A run whose rules decided everything needs no judge. */
		provider_of(judge, prov, sizeof(prov));
		if (!in_run || left)
			cli_error("no key for %s: %ld labels stay undecided; run 'peerpres judge' later",
				  prov, left);
		if (!in_run)
			cli_diag(&diag);
		rc = in_run ? 0 : EXIT_RUNTIME;
	} else if (rc == PP_EPROVIDER) {
		/* The judge cannot be reached: what is stored stays, the rest
		 * waits for a later pass; a run has still done its work. */
		cli_diag(&diag);
		cli_error("%ld labels stay undecided; run 'peerpres judge' later",
			  undecided_left(store, &opt));
		rc = in_run ? 0 : EXIT_RUNTIME;
	} else if (rc) {
		cli_diag(&diag);
		rc = rc == PP_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
	} else {
		print_result(judge, opt.prompt_version ? opt.prompt_version : PP_JUDGE_PROMPT_VERSION,
			     &res);
		rc = agreement_after(store, c, judge, opt.prompt_version ? opt.prompt_version
							 : PP_JUDGE_PROMPT_VERSION, filters);
		if (!rc && res.interrupted)
			rc = EXIT_RUNTIME;
	}
	return rc;
}

int cli_judge_stage(const struct cli *c, struct pp_store *store,
		    const volatile sig_atomic_t *stop)
{
	const char *judge = c->n_judges ? c->judges[0] : PP_JUDGE_DEFAULT_MODEL;
	struct pp_json *filters;
	char jp[64], mp[64];
	int rc;

	if (c->no_judge)
		return 0;
	/* The run's own model and filters: nothing to resolve. */
	if (!(filters = cli_store_filters(c)))
		return EXIT_RUNTIME;
	/* The run's endpoint serves the judge only when both speak to the
	 * same provider (a gateway, the mock server). */
	provider_of(judge, jp, sizeof(jp));
	provider_of(c->model, mp, sizeof(mp));
	rc = pass(c, store, judge, filters, strcmp(jp, mp) ? NULL : c->base_url, stop, true);
	pp_json_decref(filters);
	return rc;
}

static void print_judges(const struct pp_json *list)
{
	size_t i;

	if (!pp_json_len(list)) {
		printf("no verdicts in this store; run 'peerpres judge'\n");
		return;
	}
	printf("%-32s %-10s %8s %8s %8s %8s %8s  %s\n", "judge", "prompts", "verdicts", "ok",
	       "failed", "refused", "rollouts", "last");
	for (i = 0; i < pp_json_len(list); i++) {
		const struct pp_json *e = pp_json_at(list, i);
		long long n[6] = { 0 };
		static const char *const keys[] = {
			"verdicts", "ok", "failed", "refused", "rollouts",
		};
		size_t k;

		for (k = 0; k < 5; k++)
			pp_json_int(pp_json_get(e, keys[k]), &n[k]);
		printf("%-32s %-10s %8lld %8lld %8lld %8lld %8lld  %s\n",
		       pp_json_get_str(e, "judge", ""), pp_json_get_str(e, "prompt_version", ""),
		       n[0], n[1], n[2], n[3], n[4], pp_json_get_str(e, "last_at", ""));
	}
}

static void print_row(const char *name, const struct pp_json *st)
{
	long long n = 0, agree = 0;
	double pct = 0, kappa = 0;
	char k[16] = "-";

	pp_json_int(pp_json_get(st, "n"), &n);
	pp_json_int(pp_json_get(st, "agree"), &agree);
	pp_json_num(pp_json_get(st, "percent"), &pct);
	if (pp_json_num(pp_json_get(st, "kappa"), &kappa))
		snprintf(k, sizeof(k), "%.3f", kappa);
	printf("%-20s %7lld %7lld %8.1f%% %8s\n", name, n, agree, pct, k);
}

/* Says which labels the pooled kappa is over when some are left out. */
static void print_kappa_note(const struct pp_json *ag)
{
	const struct pp_json *names = pp_json_get(pp_json_get(ag, "all"), "kappa_labels");
	size_t i, n = pp_json_len(names), all = pp_json_len(pp_json_get(ag, "labels"));

	if (n == all)
		return;
	if (!n) {
		printf("kappa of all: undefined, as no label has a kappa of its own\n");
		return;
	}
	printf("kappa of all: over the %zu of %zu labels with a kappa of their own:", n, all);
	for (i = 0; i < n; i++)
		printf("%s %s", i ? "," : "", pp_json_str(pp_json_at(names, i)));
	putchar('\n');
}

static void print_agreement(const struct pp_json *ag)
{
	const struct pp_json *labels = pp_json_get(ag, "labels"), *failed = pp_json_get(ag, "failed");
	void *it;

	printf("agreement of %s and %s, over the labels both decide\n",
	       pp_json_get_str(ag, "a", ""), pp_json_get_str(ag, "b", ""));
	printf("%-20s %7s %7s %9s %8s\n", "label", "n", "agree", "percent", "kappa");
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it))
		print_row(pp_json_iter_key(it), pp_json_iter_value(it));
	print_row("all", pp_json_get(ag, "all"));
	print_kappa_note(ag);
	for (it = pp_json_iter(failed); it; it = pp_json_iter_next(failed, it)) {
		long long fa = 0, fb = 0;

		pp_json_int(pp_json_get(pp_json_iter_value(it), "a"), &fa);
		pp_json_int(pp_json_get(pp_json_iter_value(it), "b"), &fb);
		printf("%s: the other decided it where the judge failed: %s %lld, %s %lld\n",
		       pp_json_iter_key(it), pp_json_get_str(ag, "a", ""), fa,
		       pp_json_get_str(ag, "b", ""), fb);
	}
}

static void print_json(const struct pp_json *v)
{
	struct pp_buf b = PP_BUF_INIT;

	if (!pp_json_dump(v, PP_JSON_PRETTY | PP_JSON_SORT_KEYS, &b))
		printf("%s\n", b.buf);
	pp_buf_release(&b);
}

static int list_judges(const struct cli *c, struct pp_store *store)
{
	struct pp_json *list = NULL;

	if (pp_store_judges(store, &list)) {
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(store));
		return EXIT_RUNTIME;
	}
	if (c->json)
		print_json(list);
	else
		print_judges(list);
	pp_json_decref(list);
	return 0;
}

/* The two sources to compare: rules and the latest judge, rules and the
 * judge named, or the two judges named. */
static int agreement(const struct cli *c, struct pp_store *store, const struct pp_json *filters)
{
	struct pp_json *ag = NULL, *list = NULL;
	const char *a = "rules", *b = NULL;
	char latest[700];
	int rc = EXIT_RUNTIME;

	if (c->n_judges == 2) {
		a = c->judges[0];
		b = c->judges[1];
	} else if (c->n_judges == 1) {
		b = c->judges[0];
	} else if (!pp_store_judges(store, &list) && pp_json_len(list)) {
		snprintf(latest, sizeof(latest), "%s@%s",
			 pp_json_get_str(pp_json_at(list, 0), "judge", ""),
			 pp_json_get_str(pp_json_at(list, 0), "prompt_version", ""));
		b = latest;
	}
	if (!b) {
		cli_error("no verdicts in '%s'; run 'peerpres judge' first", c->db);
		goto out;
	}
	if (pp_judge_agreement(store, a, b, filters, &ag)) {
		cli_error("cannot compare '%s' and '%s': %s", a, b, pp_store_errmsg(store));
		goto out;
	}
	if (c->json)
		print_json(ag);
	else
		print_agreement(ag);
	rc = 0;
out:
	pp_json_decref(ag);
	pp_json_decref(list);
	return rc;
}

int cmd_judge(struct cli *c)
{
	struct pp_store *store = NULL;
	struct pp_json *filters = NULL;
	int rc;

	if (cli_no_args(c, "judge"))
		return EXIT_USAGE;
	if (c->n_judges == 2 && !c->agreement) {
		cli_error("two --judge are for --agreement; a pass takes one");
		return EXIT_USAGE;
	}
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	if ((rc = cli_check_store_filters(c, store)) || (rc = cli_arm_filters(c, store, &filters))) {
		pp_store_close(store);
		return rc;
	}
	if (c->list_judges) {
		rc = list_judges(c, store);
	} else if (c->agreement) {
		rc = agreement(c, store, filters);
	} else {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		rc = pass(c, store, c->n_judges ? c->judges[0] : PP_JUDGE_DEFAULT_MODEL, filters,
			  c->base_url, &stop_requested, false);
	}
	pp_json_decref(filters);
	pp_store_close(store);
	return rc;
}
