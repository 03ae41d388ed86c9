/*
 * options.c - the command-line flags, and the helpers the subcommands
 * share (scenario loading, errors, output). Each command accepts only the
 * flags of its set (main.c), so a flag it would ignore is an error.
 */
#include <errno.h>
#include <limits.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <peerpres/rollout.h>
#include <peerpres/status.h>

#include "cli/cli.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

/* Every flag by name; the filters' names (less "--") are their
 * dimensions. */
static const struct flag {
	const char *name;
	enum cli_opt opt;
	bool takes_value;
} flags[] = {
	{ "--json", OPT_JSON, false }, { "--adaptive", OPT_ADAPTIVE, false },
	{ "--no-cache", OPT_NO_CACHE, false }, { "--redo-errors", OPT_REDO_ERRORS, false },
	{ "--test", OPT_TEST, false }, { "--no-judge", OPT_NO_JUDGE, false },
	{ "--agreement", OPT_AGREEMENT, false }, { "--retry-failed", OPT_RETRY_FAILED, false },
	{ "--list-judges", OPT_LIST_JUDGES, false }, { "--study-refusal", OPT_STUDY_REFUSAL, false },
	{ "--with-errors", OPT_WITH_ERRORS, false }, { "--exclusive", OPT_EXCLUSIVE, false },
	{ "--shared", OPT_SHARED, false },
	{ "--scenario", OPT_SCENARIO, true }, { "--subject", OPT_SUBJECT, true },
	{ "--condition", OPT_CONDITION, true }, { "--instantiation", OPT_INSTANTIATION, true },
	{ "--dataset", OPT_DATASET, true }, { "--threshold", OPT_THRESHOLD, true },
	{ "--mode", OPT_MODE, true }, { "--scratchpad", OPT_SCRATCHPAD, true },
	{ "--db", OPT_DB, true }, { "--model", OPT_MODEL, true }, { "--family", OPT_FAMILY, true },
	{ "--base-url", OPT_BASE_URL, true }, { "--reasoning", OPT_REASONING, true },
	{ "--scenarios", OPT_SCENARIOS, true }, { "--format", OPT_FORMAT, true },
	{ "-o", OPT_OUTPUT, true }, { "--output", OPT_OUTPUT, true }, { "--diff", OPT_DIFF, true },
	{ "--judge", OPT_JUDGE, true }, { "--also-decided", OPT_ALSO_DECIDED, true },
	{ "--prices", OPT_PRICES, true }, { "--html-transcripts", OPT_HTML_TRANSCRIPTS, true },
	{ "--overlay", OPT_OVERLAY, true }, { "--with", OPT_WITH, true },
	{ "-n", OPT_ROLLOUTS, true }, { "--rollouts", OPT_ROLLOUTS, true },
	{ "--limit", OPT_LIMIT, true }, { "--max-iters", OPT_MAX_ITERS, true },
	{ "--seed", OPT_SEED, true }, { "--budget", OPT_BUDGET, true },
	{ "--concurrency", OPT_CONCURRENCY, true }, { "--scored", OPT_SCORED, true },
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("peerpres: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_diag(const struct pp_diag *d)
{
	struct pp_buf b = PP_BUF_INIT;

	pp_diag_format(d, &b);
	cli_error("%s", b.buf);
	pp_buf_release(&b);
}

/* One message whichever bound is broken: a range when there is a maximum. */
static int parse_long(const char *flag, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max) {
		if (max == LONG_MAX)
			cli_error("%s needs a whole number of at least %ld, not '%s'", flag, min, s);
		else
			cli_error("%s must be a whole number from %ld to %ld, not '%s'", flag, min, max, s);
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

/* --subject self,peer and --subject self --subject peer both work. */
static int add_filter(struct cli *c, const char *dim, const char *value)
{
	struct pp_json *list = pp_json_get(c->filters, dim);
	const char *p = value, *comma;

	if (!list) {
		list = pp_json_array();
		if (!list || pp_json_set(c->filters, dim, list))
			return EXIT_RUNTIME;
	}
	do {
		comma = strchr(p, ',');
		if (pp_json_append(list, comma ? pp_json_stringn(p, (size_t)(comma - p)) : pp_json_string(p)))
			return EXIT_RUNTIME;
		p = comma ? comma + 1 : NULL;
	} while (p);
	return 0;
}

static void defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->db = "peerpres.db";
	c->model = "ref/synthetic";
	c->n_rollouts = -1;
	c->max_iters = PP_DEFAULT_MAX_ITERS;
	c->concurrency = PP_DEFAULT_CONCURRENCY;
	c->temperature = 1.0;
	c->filters = pp_json_object();
}

/* Flags that take a value: the value, or NULL after printing why. */
static const char *value_of(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		cli_error("%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int set_switch(struct cli *c, enum cli_opt opt)
{
	switch (opt) {
	case OPT_JSON: c->json = true; break;
	case OPT_ADAPTIVE: c->adaptive = true; break;
	case OPT_NO_CACHE: c->no_cache = true; break;
	case OPT_REDO_ERRORS: c->redo_errors = true; break;
	case OPT_TEST: c->test = true; break;
	case OPT_NO_JUDGE: c->no_judge = true; break;
	case OPT_AGREEMENT: c->agreement = true; break;
	case OPT_RETRY_FAILED: c->retry_failed = true; break;
	case OPT_LIST_JUDGES: c->list_judges = true; break;
	case OPT_STUDY_REFUSAL: c->study_refusal = true; break;
	case OPT_WITH_ERRORS: c->with_errors = true; break;
	case OPT_EXCLUSIVE: c->exclusive = true; break;
	case OPT_SHARED: c->shared = true; break;
	default: break;
	}
	return 0;
}

/* The flags that may be given more than once, into their arrays. */
static int add_repeated(struct cli *c, const char *a, const char *v)
{
	if (!strcmp(a, "--judge")) {
		if (c->n_judges == sizeof(c->judges) / sizeof(c->judges[0]))
			return cli_error("--judge at most twice (two judges to compare)"), EXIT_USAGE;
		c->judges[c->n_judges++] = v;
	} else if (!strcmp(a, "--overlay")) {
		if (c->n_overlays == sizeof(c->overlays) / sizeof(c->overlays[0]))
			return cli_error("too many --overlay"), EXIT_USAGE;
		c->overlays[c->n_overlays++] = v;
	} else {
		if (c->n_with == sizeof(c->with) / sizeof(c->with[0]))
			return cli_error("too many --with"), EXIT_USAGE;
		c->with[c->n_with++] = v;
	}
	return 0;
}

static int set_number(struct cli *c, enum cli_opt opt, const char *a, const char *v)
{
	long n;
	char *end;

	switch (opt) {
	case OPT_ALSO_DECIDED:
		return parse_long(a, v, 0, LONG_MAX, &c->also_decided);
	case OPT_ROLLOUTS:
		return parse_long(a, v, 1, LONG_MAX, &c->n_rollouts);
	case OPT_SCORED:
		return parse_long(a, v, 1, LONG_MAX / 2, &c->scored);
	case OPT_LIMIT:
		return parse_long(a, v, 1, LONG_MAX, &c->limit);
	case OPT_MAX_ITERS:
		if (parse_long(a, v, 1, 10000, &n))
			return EXIT_USAGE;
		return c->max_iters = (int)n, 0;
	case OPT_SEED:
		if (parse_long(a, v, 0, LONG_MAX, &n))
			return EXIT_USAGE;
		return c->seed = (unsigned long long)n, 0;
	case OPT_CONCURRENCY:
		return parse_long(a, v, 1, PP_MAX_CONCURRENCY, &c->concurrency);
	default:
		errno = 0;
		c->budget_usd = strtod(v, &end);
		if (errno || end == v || *end || !(c->budget_usd > 0))
			return cli_error("--budget takes a positive amount of USD, not '%s'", v), EXIT_USAGE;
		return 0;
	}
}

static int set_value(struct cli *c, const struct flag *f, const char *v)
{
	switch (f->opt) {
	case OPT_DB: c->db = v; return 0;
	case OPT_MODEL:
		/* One model (or arm) at a time: a second one used to win
		 * silently. */
		if (c->model_given)
			return cli_error("--model given twice ('%s', then '%s'): give one", c->model, v),
			       EXIT_USAGE;
		c->model = v;
		c->model_given = true;
		return 0;
	case OPT_FAMILY: c->family = v; return 0;
	case OPT_BASE_URL: c->base_url = v; return 0;
	case OPT_SCENARIOS: c->scenario_dir = v; return 0;
	case OPT_FORMAT: c->format = v; return 0;
	case OPT_OUTPUT: c->output = v; return 0;
	case OPT_DIFF: c->diff = v; return 0;
	case OPT_PRICES: c->prices_file = v; return 0;
	case OPT_HTML_TRANSCRIPTS: c->html_transcripts = v; return 0;
	case OPT_REASONING:
		if (strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
			return cli_error("--reasoning is low, medium or high, not '%s'", v), EXIT_USAGE;
		c->reasoning = v;
		return 0;
	case OPT_JUDGE: case OPT_OVERLAY: case OPT_WITH:
		return add_repeated(c, f->name, v);
	default:
		if (f->opt >= OPT_SCENARIO && f->opt <= OPT_SCRATCHPAD)
			return add_filter(c, f->name + 2, v);
		return set_number(c, f->opt, f->name, v);
	}
}

static const struct flag *find_flag(const char *name, unsigned long long opts)
{
	size_t i;

	for (i = 0; i < N_FLAGS; i++)
		if (!strcmp(flags[i].name, name))
			return opts & (1ULL << flags[i].opt) ? &flags[i] : NULL;
	return NULL;
}

static int parse_flag(struct cli *c, unsigned long long opts, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;
	const struct flag *f;

	if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		return c->help = true, 0;
	if (!(f = find_flag(a, opts))) {
		fprintf(stderr, "peerpres %s: unknown option '%s' (see 'peerpres %s --help')\n",
			c->cmd, a, c->cmd);
		return EXIT_USAGE;
	}
	if (!f->takes_value)
		return set_switch(c, f->opt);
	if (!(v = value_of(argc, argv, i)))
		return EXIT_USAGE;
	return set_value(c, f, v);
}

int cli_parse(struct cli *c, const char *cmd, unsigned long long opts, int argc, char **argv)
{
	int i, rc;

	defaults(c);
	c->cmd = cmd;
	if (!c->filters)
		return EXIT_RUNTIME;
	for (i = 0; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1]) {
			if (c->n_args == sizeof(c->args) / sizeof(c->args[0]))
				return cli_error("too many arguments"), EXIT_USAGE;
			c->args[c->n_args++] = argv[i];
			continue;
		}
		if ((rc = parse_flag(c, opts, argc, argv, &i))) {
			cli_release(c);
			return rc;
		}
	}
	return 0;
}

void cli_release(struct cli *c)
{
	pp_json_decref(c->filters);
	c->filters = NULL;
}

/* Where the scenarios are looked for, from the program's directory: the
 * source tree (./peerpres, build/san/peerpres) and `make install`'s
 * PREFIX/bin beside PREFIX/share/peerpres. */
static const char *const beside_program[] = {
	"/scenarios", "/../../scenarios", "/../share/peerpres/scenarios",
};
#define N_BESIDE (sizeof(beside_program) / sizeof(beside_program[0]))

/* The scenarios shipped with the program, else ./scenarios. */
const char *cli_scenario_dir(const struct cli *c, char *buf, size_t len)
{
	const char *env = getenv("PEERPRES_SCENARIOS");
	ssize_t n;
	char *slash;

	if (c->scenario_dir)
		return c->scenario_dir;
	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", buf, len - 32);
	if (n > 0) {
		buf[n] = '\0';
		if ((slash = strrchr(buf, '/'))) {
			size_t k;

			for (k = 0; k < N_BESIDE; k++) {
				snprintf(slash, len - (size_t)(slash - buf), "%s", beside_program[k]);
				if (!access(buf, R_OK))
					return buf;
				*slash = '\0';
			}
		}
	}
	return "scenarios";
}

/* After a failure to read the default ./scenarios: where else we looked,
 * and how to say where they are. */
static void hint_scenarios(const struct cli *c, const char *dir)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (c->scenario_dir || getenv("PEERPRES_SCENARIOS") || strcmp(dir, "scenarios") ||
	    !access(dir, R_OK))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	cli_error("no scenario files beside the program (%s/scenarios, %s/../share/peerpres/scenarios) "
		  "or in ./scenarios: give --scenarios DIR or set PEERPRES_SCENARIOS "
		  "(`make install` puts them in PREFIX/share/peerpres/scenarios)", exe, exe);
}

int cli_load_scenarios(const struct cli *c, struct pp_scenario ***list, size_t *n)
{
	char buf[PATH_MAX];
	const char *dir = cli_scenario_dir(c, buf, sizeof(buf));
	struct pp_diag diag;
	size_t j;
	int rc;

	pp_diag_clear(&diag);
	if ((rc = pp_scenario_load_dir(dir, list, n, &diag))) {
		cli_diag(&diag);
		hint_scenarios(c, dir);
		return EXIT_RUNTIME;
	}
	for (j = 0; j < c->n_overlays; j++)
		if (pp_scenario_overlay_list(*list, *n, c->overlays[j], &diag)) {
			cli_diag(&diag);
			pp_scenario_list_free(*list, *n);
			return EXIT_RUNTIME;
		}
	if ((rc = cli_check_with(c, *list, *n)) || (rc = cli_check_filter_values(c, *list, *n, NULL)))
		pp_scenario_list_free(*list, *n);
	return rc;
}

int cli_check_scored(const struct cli *c)
{
	if (!c->scored)
		return 0;
	if (c->test) {
		cli_error("--scored tops up the plan's configs and --test runs one rollout of a"
			  " config per scenario: give one of them");
		return EXIT_USAGE;
	}
	if (c->n_rollouts > 0 && c->n_rollouts < c->scored) {
		cli_error("with --scored %ld, -n is the most rollouts a config may take: it must be"
			  " at least %ld, not %ld", c->scored, c->scored, c->n_rollouts);
		return EXIT_USAGE;
	}
	return 0;
}

void cli_run_options(const struct cli *c, struct pp_run_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->model = c->model;
	opt->family = c->family;
	opt->provider.base_url = c->base_url;
	opt->provider.reasoning = c->reasoning;
	opt->filters = c->filters;
	opt->with = c->with;
	opt->n_with = c->n_with;
	opt->n_rollouts = c->test ? 1 : c->n_rollouts > 0 ? c->n_rollouts :
			  c->scored > 0 ? 2 * c->scored : 100;
	opt->scored_target = c->test ? 0 : c->scored;
	opt->max_iters = c->max_iters;
	opt->token_cap = PP_DEFAULT_TOKEN_CAP;
	opt->temperature = c->temperature;
	opt->seed = c->seed;
	opt->limit = c->limit;
	opt->concurrency = c->concurrency;
	opt->adaptive = c->adaptive;
	opt->no_cache = c->no_cache;
	opt->redo_errors = c->redo_errors;
	opt->budget_usd = c->budget_usd;
	opt->one_per_scenario = c->test;
	opt->prices_file = c->prices_file;
}

FILE *cli_output(const struct cli *c)
{
	FILE *f;

	if (!c->output || !strcmp(c->output, "-"))
		return stdout;
	if (!(f = fopen(c->output, "w")))
		cli_error("cannot write '%s': %s", c->output, strerror(errno));
	return f;
}

int cli_open_store(const struct cli *c, struct pp_store **store, bool must_exist)
{
	struct pp_diag diag;

	if (must_exist && access(c->db, R_OK)) {
		cli_error("cannot read store '%s': %s", c->db, strerror(errno));
		return EXIT_RUNTIME;
	}
	pp_diag_clear(&diag);
	if (pp_store_open(store, c->db, &diag)) {
		cli_diag(&diag);
		return EXIT_RUNTIME;
	}
	return 0;
}

struct pp_json *cli_run_record(const struct cli *c, const char *command, const char *model)
{
	struct pp_json *r = pp_json_object(), *args = pp_json_array();
	size_t n = strlen(PP_VERSION);
	int i, rc = r && args ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < c->argc; i++)
		rc = pp_json_append(args, pp_json_string(c->argv[i]));
	if (rc) {
		pp_json_decref(args);
		pp_json_decref(r);
		return NULL;
	}
	/* pp_json_set takes args whether or not it succeeds */
	if (pp_json_set(r, "argv", args) || pp_json_set_str(r, "command", command) ||
	    pp_json_set_str(r, "version", PP_VERSION) ||
	    pp_json_set(r, "dirty", pp_json_bool(n > 6 && !strcmp(PP_VERSION + n - 6, "-dirty"))) ||
	    pp_json_set(r, "model", model ? pp_json_string(model) : pp_json_null())) {
		pp_json_decref(r);
		return NULL;
	}
	return r;
}

struct pp_json *cli_store_filters(const struct cli *c)
{
	struct pp_json *f = pp_json_deep_copy(c->filters), *models;

	if (f && c->model_given) {
		models = pp_json_array();
		if (!models || pp_json_append(models, pp_json_string(c->model)) ||
		    pp_json_set(f, "model", models)) {
			pp_json_decref(f);
			return NULL;
		}
	}
	return f;
}

void cli_raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cli_no_args(const struct cli *c, const char *command)
{
	if (!c->n_args)
		return 0;
	cli_error("%s takes no arguments ('%s'); see 'peerpres %s --help'%s", command, c->args[0],
		  command, c->args[0][0] == '[' ?
		  "; an arm label holds a space: quote it, --model 'MODEL [KEY=VALUE]'" : "");
	return EXIT_USAGE;
}
