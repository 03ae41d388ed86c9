/*
 * options.c - the command-line flags all subcommands share, and the
 * helpers they use (scenario loading, errors, output).
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

static const char *const filter_flags[] = {
	"scenario", "subject", "condition", "instantiation", "dataset", "threshold",
	"mode", "scratchpad", NULL
};

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

static int parse_long(const char *flag, const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s ? s : "", &end, 10);
	if (!s || !*s || *end || errno || v < min) {
		cli_error("%s needs a whole number of at least %ld, not '%s'", flag, min, s ? s : "");
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

static bool is_filter(const char *name)
{
	const char *const *f;

	for (f = filter_flags; *f; f++)
		if (!strcmp(*f, name))
			return true;
	return false;
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

static int parse_flag(struct cli *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;
	long n;

	if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		return c->help = true, 0;
	if (!strcmp(a, "--json"))
		return c->json = true, 0;
	if (!strcmp(a, "--adaptive"))
		return c->adaptive = true, 0;
	if (!strcmp(a, "--no-cache"))
		return c->no_cache = true, 0;
	if (!strcmp(a, "--redo-errors"))
		return c->redo_errors = true, 0;
	if (!strcmp(a, "--test"))
		return c->test = true, 0;
	if (!strcmp(a, "--no-judge"))
		return c->no_judge = true, 0;
	if (!strcmp(a, "--agreement"))
		return c->agreement = true, 0;
	if (!strcmp(a, "--retry-failed"))
		return c->retry_failed = true, 0;
	if (!strcmp(a, "--list-judges"))
		return c->list_judges = true, 0;
	if (!strcmp(a, "--study-refusal"))
		return c->study_refusal = true, 0;
	if (!(v = value_of(argc, argv, i)))
		return EXIT_USAGE;
	if (!strncmp(a, "--", 2) && is_filter(a + 2))
		return add_filter(c, a + 2, v);
	if (!strcmp(a, "--db"))
		return c->db = v, 0;
	if (!strcmp(a, "--model"))
		return c->model = v, c->model_given = true, 0;
	if (!strcmp(a, "--family"))
		return c->family = v, 0;
	if (!strcmp(a, "--base-url"))
		return c->base_url = v, 0;
	if (!strcmp(a, "--reasoning")) {
		if (strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
			return cli_error("--reasoning is low, medium or high, not '%s'", v), EXIT_USAGE;
		return c->reasoning = v, 0;
	}
	if (!strcmp(a, "--scenarios"))
		return c->scenario_dir = v, 0;
	if (!strcmp(a, "--format"))
		return c->format = v, 0;
	if (!strcmp(a, "-o") || !strcmp(a, "--output"))
		return c->output = v, 0;
	if (!strcmp(a, "--diff"))
		return c->diff = v, 0;
	if (!strcmp(a, "--judge")) {
		if (c->n_judges == sizeof(c->judges) / sizeof(c->judges[0]))
			return cli_error("--judge at most twice (two judges to compare)"), EXIT_USAGE;
		c->judges[c->n_judges++] = v;
		return 0;
	}
	if (!strcmp(a, "--also-decided"))
		return parse_long(a, v, 0, &c->also_decided);
	if (!strcmp(a, "--prices"))
		return c->prices_file = v, 0;
	if (!strcmp(a, "--html-transcripts"))
		return c->html_transcripts = v, 0;
	if (!strcmp(a, "--overlay")) {
		if (c->n_overlays == sizeof(c->overlays) / sizeof(c->overlays[0]))
			return cli_error("too many --overlay"), EXIT_USAGE;
		c->overlays[c->n_overlays++] = v;
		return 0;
	}
	if (!strcmp(a, "--with")) {
		if (c->n_with == sizeof(c->with) / sizeof(c->with[0]))
			return cli_error("too many --with"), EXIT_USAGE;
		c->with[c->n_with++] = v;
		return 0;
	}
	if (!strcmp(a, "-n") || !strcmp(a, "--rollouts"))
		return parse_long(a, v, 1, &c->n_rollouts);
	if (!strcmp(a, "--limit"))
		return parse_long(a, v, 1, &c->limit);
	if (!strcmp(a, "--max-iters")) {
		if (parse_long(a, v, 1, &n) || n > 10000)
			return cli_error("--max-iters must be from 1 to 10000"), EXIT_USAGE;
		return c->max_iters = (int)n, 0;
	}
	if (!strcmp(a, "--seed")) {
		if (parse_long(a, v, 0, &n))
			return EXIT_USAGE;
		return c->seed = (unsigned long long)n, 0;
	}
	if (!strcmp(a, "--budget")) {
		char *end;

		errno = 0;
		c->budget_usd = strtod(v, &end);
		if (errno || end == v || *end || !(c->budget_usd > 0))
			return cli_error("--budget takes a positive amount of USD, not '%s'", v), EXIT_USAGE;
		return 0;
	}
	if (!strcmp(a, "--concurrency")) {
		if (parse_long(a, v, 1, &c->concurrency) || c->concurrency > PP_MAX_CONCURRENCY)
			return cli_error("--concurrency must be from 1 to %d", PP_MAX_CONCURRENCY), EXIT_USAGE;
		return 0;
	}
	cli_error("unknown option '%s'; see 'peerpres %s --help'", a, c->cmd ? c->cmd : "");
	return EXIT_USAGE;
}

int cli_parse(struct cli *c, int argc, char **argv)
{
	int i, rc;

	defaults(c);
	if (!c->filters)
		return EXIT_RUNTIME;
	for (i = 0; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1]) {
			if (c->n_args == sizeof(c->args) / sizeof(c->args[0]))
				return cli_error("too many arguments"), EXIT_USAGE;
			c->args[c->n_args++] = argv[i];
			continue;
		}
		if ((rc = parse_flag(c, argc, argv, &i))) {
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

/* The scenarios shipped beside the program, else ./scenarios. */
static const char *scenario_dir(const struct cli *c, char *buf, size_t len)
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
			/* ./peerpres and build/san/peerpres both find scenarios/. */
			const char *const tries[] = { "/scenarios", "/../../scenarios" };
			size_t k;

			for (k = 0; k < 2; k++) {
				snprintf(slash, len - (size_t)(slash - buf), "%s", tries[k]);
				if (!access(buf, R_OK))
					return buf;
				*slash = '\0';
			}
		}
	}
	return "scenarios";
}

int cli_load_scenarios(const struct cli *c, struct pp_scenario ***list, size_t *n)
{
	char buf[PATH_MAX];
	const char *dir = scenario_dir(c, buf, sizeof(buf));
	const struct pp_json *names = pp_json_get(c->filters, "scenario");
	struct pp_diag diag;
	size_t i, j;
	int rc;

	pp_diag_clear(&diag);
	if ((rc = pp_scenario_load_dir(dir, list, n, &diag))) {
		cli_diag(&diag);
		return EXIT_RUNTIME;
	}
	for (j = 0; j < c->n_overlays; j++)
		if (pp_scenario_overlay_list(*list, *n, c->overlays[j], &diag)) {
			cli_diag(&diag);
			pp_scenario_list_free(*list, *n);
			return EXIT_RUNTIME;
		}
	for (i = 0; i < pp_json_len(names); i++) {
		bool found = false;

		for (j = 0; j < *n; j++)
			found |= !strcmp(pp_scenario_name((*list)[j]), pp_json_str(pp_json_at(names, i)));
		if (!found) {
			cli_error("no scenario named '%s' in '%s'", pp_json_str(pp_json_at(names, i)), dir);
			pp_scenario_list_free(*list, *n);
			return EXIT_USAGE;
		}
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
	opt->n_rollouts = c->test ? 1 : c->n_rollouts > 0 ? c->n_rollouts : 100;
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
