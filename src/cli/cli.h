/*
 * cli.h - what the subcommands share: options, scenario loading, errors.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/run.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Every flag. A command accepts the set its --help lists (main.c), so a
 * flag another command takes is an error here rather than ignored. */
enum cli_opt {
	OPT_JSON, OPT_ADAPTIVE, OPT_NO_CACHE, OPT_REDO_ERRORS, OPT_TEST, OPT_NO_JUDGE,
	OPT_AGREEMENT, OPT_RETRY_FAILED, OPT_LIST_JUDGES, OPT_STUDY_REFUSAL, OPT_WITH_ERRORS,
	OPT_EXCLUSIVE, OPT_SHARED,
	/* the dimension filters */
	OPT_SCENARIO, OPT_SUBJECT, OPT_CONDITION, OPT_INSTANTIATION, OPT_DATASET,
	OPT_THRESHOLD, OPT_MODE, OPT_SCRATCHPAD,
	/* the other flags with a value */
	OPT_DB, OPT_MODEL, OPT_FAMILY, OPT_BASE_URL, OPT_REASONING, OPT_SCENARIOS, OPT_FORMAT,
	OPT_OUTPUT, OPT_DIFF, OPT_JUDGE, OPT_ALSO_DECIDED, OPT_PRICES, OPT_HTML_TRANSCRIPTS,
	OPT_OVERLAY, OPT_WITH, OPT_ROLLOUTS, OPT_LIMIT, OPT_MAX_ITERS, OPT_SEED, OPT_BUDGET,
	OPT_CONCURRENCY, OPT_SCORED
};
#define OPT(o) (1ULL << OPT_##o)
/* The filters a store is read with (report, export, judge). */
#define OPTS_STORE_FILTERS (OPT(SCENARIO) | OPT(SUBJECT) | OPT(CONDITION) | \
			    OPT(INSTANTIATION) | OPT(DATASET) | OPT(THRESHOLD) | \
			    OPT(MODE) | OPT(SCRATCHPAD))
/* The filters that pick configs from the grid (plan, run, render, list). */
#define OPTS_FILTERS (OPTS_STORE_FILTERS | OPT(WITH))

struct cli {
	const char *cmd;
	const char *db;
	const char *model;
	const char *family;
	const char *base_url;
	const char *reasoning;
	const char *scenario_dir;
	const char *format;
	const char *output;
	const char *diff;
	const char *prices_file;    /* --prices FILE */
	const char *html_transcripts; /* report: --html-transcripts N|all */
	struct pp_json *filters;    /* dim -> [values] */
	const char *judges[2];      /* --judge, twice to compare two judges */
	size_t n_judges;
	long also_decided;          /* --also-decided N */
	bool no_judge;              /* run: --no-judge */
	bool agreement;             /* judge: --agreement */
	bool retry_failed;          /* judge: --retry-failed */
	bool list_judges;           /* judge: --list-judges */
	bool study_refusal;         /* report: --study-refusal */
	const char *overlays[8];
	size_t n_overlays;
	const char *with[16];
	size_t n_with;
	long n_rollouts;
	long scored;          /* --scored N: top up to N scored rollouts a config */
	long limit;
	long concurrency;
	bool adaptive;
	bool no_cache;
	bool redo_errors;
	bool with_errors;       /* export: error rollouts too */
	bool exclusive;         /* import: the store for this import alone */
	bool shared;            /* import: never alone, even in a store it creates */
	double budget_usd;
	int max_iters;
	double temperature;
	unsigned long long seed;
	bool json;
	bool test;
	bool help;
	bool model_given;
	int argc;          /* the whole command line, for the run record */
	char **argv;
	const char *args[64];       /* positional arguments */
	size_t n_args;
};

/* A connection per rollout in flight means thousands of descriptors:
 * raises the soft limit to the hard one. */
void cli_raise_fd_limit(void);

/* Parses argv after the subcommand name cmd, which accepts the flags of
 * the set opts (OPT() bits; --help always). Returns 0, or EXIT_USAGE
 * after printing why. */
int cli_parse(struct cli *c, const char *cmd, unsigned long long opts, int argc, char **argv);
void cli_release(struct cli *c);

/* Loads the scenarios, with the overlays applied, and checks every
 * --with and filter value against them (cli_check_with,
 * cli_check_filter_values). */
int cli_load_scenarios(const struct cli *c, struct pp_scenario ***list, size_t *n);
/* The scenario directory: --scenarios, $PEERPRES_SCENARIOS, beside the
 * program, or ./scenarios. Returns buf or a borrowed string. */
const char *cli_scenario_dir(const struct cli *c, char *buf, size_t len);

/* --scored beside -n and --test (run, plan): 0, or EXIT_USAGE said. */
int cli_check_scored(const struct cli *c);

/* filters.c: every --with names an extension some scenario has:
 * EXIT_USAGE, said, listing them, when one does not (a typo would run
 * the plain grid). */
int cli_check_with(const struct cli *c, struct pp_scenario **list, size_t n);
/* A filter value that is no value of its dimension in the scenarios
 * (nor, given a store, in the store) is a usage error naming the flag
 * and the values there are: a typo would select nothing. Returns 0 or
 * EXIT_USAGE (EXIT_RUNTIME when out of memory). */
int cli_check_filter_values(const struct cli *c, struct pp_scenario **list, size_t n,
			    struct pp_store *store);
/* The same for the commands that read a store (report, export, judge):
 * the values come from the installed scenarios and from the store. */
int cli_check_store_filters(const struct cli *c, struct pp_store *store);
/* plan, run and render: filters that select no config are a usage error
 * ("no config matches these filters: ..."); a run of nothing is a
 * mistake. Returns 0, EXIT_USAGE or EXIT_RUNTIME. */
int cli_check_some_config(const struct cli *c, struct pp_scenario **list, size_t n);
/* report and export: a note on stderr that the filters selected nothing
 * in the store, when filters were given and n is 0. */
void cli_note_nothing_selected(const struct cli *c, size_t n);
/* The run options the flags describe. */
void cli_run_options(const struct cli *c, struct pp_run_options *opt);

/* "peerpres: message" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For commands that take no arguments: EXIT_USAGE, said, when c has
 * any (an arm label left unquoted is the usual cause), else 0. */
int cli_no_args(const struct cli *c, const char *command);
void cli_diag(const struct pp_diag *d);

/* Opens the store of --db; with must_exist, a missing file is an error
 * rather than a new empty store. Prints why on failure. */
int cli_open_store(const struct cli *c, struct pp_store **store, bool must_exist);

/* The runs row of a command that writes to the store
 * (pp_store_begin_run): command, its whole argv, the version, and
 * model (may be NULL). A new value, or NULL when out of memory. */
struct pp_json *cli_run_record(const struct cli *c, const char *command, const char *model);

/* The store filters the flags describe: the dimension filters, plus the
 * model when --model was given. A new value, or NULL. */
struct pp_json *cli_store_filters(const struct cli *c);

/* filters.c: the store filters (cli_store_filters) of report, export and
 * judge, --model resolved against store: a model the store holds is
 * itself; an arm's label as the report prints it ("ref/synthetic
 * [max_iters=5]", see docs/report.md) becomes the plain model and
 * "config_id", the configs the report shows under that label (over the
 * whole store or over the other filters). A label that names no arm is
 * a usage error listing the store's models and arm labels. *out is new.
 * Returns 0, EXIT_USAGE or EXIT_RUNTIME (message printed). */
int cli_arm_filters(const struct cli *c, struct pp_store *store, struct pp_json **out);
/* When filters (cli_arm_filters') select an arm, gives summary's
 * configs its label as model and its "variant", so the report of one
 * arm says which it is. PP_OK or PP_ENOMEM. */
int cli_label_arm(const struct cli *c, const struct pp_json *filters, struct pp_json *summary);

/* Opens -o FILE or stdout. */
FILE *cli_output(const struct cli *c);

int cmd_list(struct cli *c);
int cmd_plan(struct cli *c);
int cmd_run(struct cli *c);
int cmd_report(struct cli *c);
int cmd_show(struct cli *c);
int cmd_render(struct cli *c);
int cmd_validate(struct cli *c);
int cmd_import(struct cli *c);
/* Reads its own flags from c->argv (cli_parse is not run for it). */
int cmd_mock_server(struct cli *c);
int cmd_export(struct cli *c);
int cmd_judge(struct cli *c);

/* The judge stage at the end of a run (cmd_judge.c): judges the store's
 * undecided labels with the default judge, or says why it is skipped
 * (no API key: how many labels stay undecided). stop: the run's signal
 * flag. Returns 0, or EXIT_RUNTIME when judging failed. */
int cli_judge_stage(const struct cli *c, struct pp_store *store,
		    const volatile sig_atomic_t *stop);

#endif
