/*
 * main.c - the peerpres program: a table of subcommands, one file each.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/judge.h>

#include "cli/cli.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

/* Declared here rather than in cli.h, which this command does not own. */

struct command {
	const char *name;
	int (*fn)(struct cli *c);
	unsigned long long opts;   /* the flags the help lists: OPT() bits */
	const char *usage;
	const char *help;
};

#define PP_STR_(x) #x
#define PP_STR(x) PP_STR_(x)

#define FILTER_HELP \
	"filters (repeatable or comma-separated; omitted = all):\n" \
	"  --subject self|peer|closed_weight_peer|open_weight_peer|fictional_peer\n" \
	"  --scenario S  --condition C  --instantiation I  --dataset D\n" \
	"  --threshold T  --mode monitoring|non_monitoring\n" \
	"  --scratchpad off|normal|monitored|unmonitored (chooses the mode)\n" \
	"  --with NAME   add an opt-in grid extension (memory_hard, cross_model)\n"

/* The flags MODEL_HELP lists. */
#define MODEL_OPTS (OPT(MODEL) | OPT(FAMILY) | OPT(BASE_URL) | OPT(REASONING) | OPT(ROLLOUTS) | \
		    OPT(MAX_ITERS) | OPT(SEED) | OPT(SCENARIOS) | OPT(OVERLAY) | OPT(PRICES))

/* What run takes; plan takes it too, so a run's line can be previewed. */
#define RUN_OPTS (OPTS_FILTERS | MODEL_OPTS | OPT(DB) | OPT(LIMIT) | OPT(TEST) | \
		  OPT(CONCURRENCY) | OPT(ADAPTIVE) | OPT(NO_CACHE) | OPT(BUDGET) | \
		  OPT(REDO_ERRORS) | OPT(JUDGE) | OPT(NO_JUDGE) | OPT(SCORED))

#define STORE_FILTER_HELP \
	"  --scenario S  --subject S  --condition C  --instantiation I\n" \
	"  --dataset D  --threshold T  --mode M  --scratchpad P\n" \
	"                           only those configs (repeatable or a,b); a value\n" \
	"                           no scenario and no stored config has is an error\n"

#define MODEL_HELP \
	"  --model PROVIDER/MODEL   default ref/synthetic (reference agents)\n" \
	"  --family NAME            the agents' family name when the id does not say\n" \
	"  --base-url URL           the endpoint (openai-compat, a gateway, the mock server)\n" \
	"  --reasoning low|medium|high   reasoning effort asked of reasoning models\n" \
	"  -n, --rollouts N         rollouts per config (default 100 for run)\n" \
	"  --max-iters N            loop iterations (default 30)\n" \
	"  --seed S                 mixed into every rollout's seed (default 0)\n" \
	"  --scenarios DIR          scenario files (default: the installed scenarios/)\n" \
	"  --overlay FILE           YAML whose keys replace the scenarios' (repeatable)\n" \
	"  --prices FILE            prices over the built-in ones (default ./peerpres-prices.json)\n"

static const struct command commands[] = {
	{ "list", cmd_list, OPTS_FILTERS | OPT(SCENARIOS) | OPT(OVERLAY),
	  "peerpres list [scenarios|conditions|tools|models] [FILTERS]",
	  "Lists the scenarios, the grid's dimension values, the tools or the models.\n\n"
	  FILTER_HELP
	  "  --scenarios DIR          scenario files (default: the installed scenarios/)\n"
	  "  --overlay FILE           YAML whose keys replace the scenarios' (repeatable)\n" },
	{ "plan", cmd_plan, RUN_OPTS | OPT(JSON),
	  "peerpres plan [FILTERS] [--model M] [-n N] [--json]",
	  "Shows the configs and rollouts a run would do. Makes no model call.\n\n"
	  FILTER_HELP MODEL_HELP
	  "  --test                   the plan of 'run --test': the first config of each\n"
	  "                           scenario, one rollout\n"
	  "  --scored N               a run that tops configs up to N scored rollouts:\n"
	  "                           the N a config it starts at least, and -n the most\n"
	  "  --json                   machine-readable plan\n\n"
	  "Also takes the options only a run uses (--db, --limit, --concurrency,\n"
	  "--adaptive, --no-cache, --budget, --redo-errors, --judge, --no-judge), so\n"
	  "that a run's command line with 'plan' for 'run' previews it: when the store\n"
	  "(--db, default peerpres.db) exists, the plan also says what of it is stored\n"
	  "and what the run (with --scored, its first round) would start.\n" },
	{ "run", cmd_run, RUN_OPTS,
	  "peerpres run [--model M] [FILTERS] [-n N] [--db FILE] [--limit N] [--test]",
	  "Runs the plan and stores every rollout. Resumable: the same command\n"
	  "again does only what is missing.\n\n" FILTER_HELP MODEL_HELP
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  --limit N                do at most N rollouts now\n"
	  "  --test                   one rollout of the first config of each scenario\n"
	  "  --concurrency N          rollouts in flight at once (default " PP_STR(PP_DEFAULT_CONCURRENCY) ")\n"
	  "  --adaptive               lower the concurrency on rate limits, raise it when clean\n"
	  "  --no-cache               ask the model even where the response cache holds the answer\n"
	  "  --budget USD             start no rollout once the calls cost this much\n"
	  "  --redo-errors            run again the rollouts stored with status error\n"
	  "  --scored N               top each config up until N of its rollouts are\n"
	  "                           scored, in rounds; -n is then the most it may\n"
	  "                           take (default 2N)\n"
	  "  --judge PROVIDER/MODEL   the judge of the undecided labels at the end\n"
	  "                           (default " PP_JUDGE_DEFAULT_MODEL "; see 'peerpres judge')\n"
	  "  --no-judge               leave undecided labels for 'peerpres judge'\n" },
	{ "report", cmd_report,
	  OPTS_STORE_FILTERS | OPT(DB) | OPT(FORMAT) | OPT(OUTPUT) | OPT(MODEL) |
	  OPT(HTML_TRANSCRIPTS) | OPT(JUDGE) | OPT(STUDY_REFUSAL),
	  "peerpres report [--db FILE] [--format md|csv|json|html] [-o FILE] [FILTERS] [--model M]",
	  "Rates per config and per group with n and Wilson 95% intervals.\n\n"
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  --format md|csv|json|html  default md\n"
	  "  --format html            one self-contained page: tables, charts and a\n"
	  "                           transcript viewer (docs/report.md)\n"
	  "  -o, --output FILE        the file (default stdout)\n"
	  "  --html-transcripts N|all at most N transcripts in the page, misaligned\n"
	  "                           ones first (default all)\n"
	  "  --judge J                the judge whose verdicts fill undecided labels:\n"
	  "                           PROVIDER/MODEL[@VERSION], or none (default: the\n"
	  "                           judge that wrote last)\n"
	  "  --study-refusal          also the refusal rows with the study's Claude-only\n"
	  "                           adjustment, marked refusal_study, for comparison\n"
	  "  --model M                only rollouts of that model (imports: import/...),\n"
	  "                           or of one arm as the report labels it:\n"
	  "                           'ref/synthetic [max_iters=5]'\n"
	  STORE_FILTER_HELP },
	{ "judge", cmd_judge,
	  OPTS_STORE_FILTERS | OPT(DB) | OPT(JUDGE) | OPT(BASE_URL) | OPT(CONCURRENCY) |
	  OPT(ALSO_DECIDED) | OPT(RETRY_FAILED) | OPT(LIST_JUDGES) | OPT(AGREEMENT) | OPT(JSON) |
	  OPT(MODEL),
	  "peerpres judge [--db FILE] [--judge PROVIDER/MODEL] [--also-decided N] [FILTERS]",
	  "Asks the judge model about every label the rules left undecided and stores\n"
	  "its verdicts (a cache: a label judged once by a judge and prompt version is\n"
	  "not asked again). docs/judge.md has the details.\n\n"
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  --judge PROVIDER/MODEL   the judge (default " PP_JUDGE_DEFAULT_MODEL "); ref/judge is\n"
	  "                           the offline reference judge\n"
	  "  --base-url URL           the judge's endpoint (openai-compat, the mock server)\n"
	  "  --concurrency N          rollouts with a question in flight at once (default 32)\n"
	  "  --also-decided N         also judge N rollouts the rules decided, and print\n"
	  "                           how the rules and the judge agree\n"
	  "  --retry-failed           ask again where the judge failed or refused\n"
	  "  --list-judges            list the judges with verdicts in the store\n"
	  "  --agreement              percent agreement and Cohen's kappa: rules and the\n"
	  "                           latest judge, rules and --judge J, or two --judge\n"
	  "                           (\"rules\" names the rules; J@VERSION a prompt version)\n"
	  "  --json                   machine-readable --list-judges and --agreement\n"
	  "  --model M                only rollouts of that model (as for report)\n"
	  STORE_FILTER_HELP },
	{ "show", cmd_show, OPT(DB) | OPT(JUDGE) | OPT(JSON),
	  "peerpres show ROLLOUT_ID [--db FILE] [--judge J] [--json]",
	  "Prints one rollout: transcript, tool calls, labels with evidence, and the\n"
	  "judge's verdict beside each label it was asked about.\n"
	  "ROLLOUT_ID is CONFIG_ID:INDEX; a unique prefix of the config id will do.\n\n"
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  --judge J                whose verdicts: MODEL[@VERSION], or none (default:\n"
	  "                           the judge that wrote last, as for report)\n"
	  "  --json                   the record as JSON, with the judges' verdicts\n" },
	{ "render", cmd_render, OPTS_FILTERS | MODEL_OPTS | OPT(DIFF),
	  "peerpres render CONFIG_ID | FILTERS [--diff CONFIG_ID]",
	  "Prints exactly what the model will see for a config: prompts, tool\n"
	  "declarations and what each read-only tool returns on the initial world,\n"
	  "then lint findings. --diff shows only what differs from another config.\n\n"
	  FILTER_HELP MODEL_HELP },
	{ "import", cmd_import,
	  OPT(DB) | OPT(SCENARIO) | OPT(JSON) | OPT(CONCURRENCY) | OPT(SCENARIOS) | OPT(EXCLUSIVE) |
	  OPT(SHARED),
	  "peerpres import FILE_OR_DIR... [--db FILE] [--scenario S] [--json] [--exclusive|--shared]",
	  "Reads the study's transcripts (JSON files, JSONL datasets, directories;\n"
	  "- for standard input, JSONL or one transcript: zcat rows.jsonl.gz | ...),\n"
	  "replays each in a fresh world of its config, labels it with our detectors\n"
	  "and stores it beside the study's labels. docs/import.md has the details.\n\n"
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  --scenario S             the scenario of every transcript (else from\n"
	  "                           the metadata, or inferred from the tools used)\n"
	  "  --json                   one line per transcript: source, config, our\n"
	  "                           labels, the study's labels, divergences\n"
	  "  --concurrency N          threads that parse and replay (default and\n"
	  "                           most: one per core)\n"
	  "  --exclusive              take the store for this import alone: no\n"
	  "                           write-ahead log (each page written once, about\n"
	  "                           15% faster on a large import); other processes\n"
	  "                           wait for it, and it fails if one has it open.\n"
	  "                           The default for a store the import creates\n"
	  "  --shared                 keep the write-ahead log, so that a report or\n"
	  "                           a run can read and write the store meanwhile,\n"
	  "                           even when the import creates it\n"
	  "  --scenarios DIR          scenario files (default: the installed scenarios/)\n" },
	{ "export", cmd_export,
	  OPTS_STORE_FILTERS | OPT(FORMAT) | OPT(DB) | OPT(OUTPUT) | OPT(JUDGE) | OPT(MODEL) |
	  OPT(WITH_ERRORS),
	  "peerpres export --format upstream-json|jsonl|csv [--db FILE] [-o FILE_OR_DIR] [FILTERS]",
	  "Writes stored rollouts in the study's formats: upstream-json (one transcript\n"
	  "file per rollout in the directory -o DIR), jsonl (one row per rollout with\n"
	  "the released dataset's columns and transcript_json) or csv (the same\n"
	  "columns without transcript_json). Labels the rules left undecided are filled\n"
	  "from the judge's verdicts, else null. The output\n"
	  "imports back with 'peerpres import'; docs/import.md has the details.\n\n"
	  "  --db FILE                the store (default peerpres.db)\n"
	  "  -o, --output FILE_OR_DIR the file (jsonl, csv; default stdout) or directory\n"
	  "  --judge J                whose verdicts fill undecided labels (as for report);\n"
	  "                           none: the rules' labels only\n"
	  "  --with-errors            also the rollouts a provider failure ended (status\n"
	  "                           error, in peerpres_status; their labels empty): left\n"
	  "                           out by default, since the study's scripts would count\n"
	  "                           them as behaviour\n"
	  "  --model M                only rollouts of that model (imports: import/...),\n"
	  "                           or of one arm as the report labels it:\n"
	  "                           'ref/synthetic [max_iters=5]'\n"
	  STORE_FILTER_HELP },
	{ "mock-server", cmd_mock_server, 0,
	  "peerpres mock-server [--port P] [--latency-ms L] [--faults SPEC] [--scenarios DIR]",
	  "Serves the OpenAI, Anthropic and Gemini wire formats on 127.0.0.1,\n"
	  "answering as the reference agents, until SIGINT or SIGTERM. Prints\n"
	  "\"listening on 127.0.0.1:PORT\" first. docs/mock-server.md has the details.\n\n"
	  "  --port P                 port to listen on; 0 (default) picks a free one\n"
	  "  --latency-ms L           delay every response by L ms\n"
	  "  --faults SPEC            per-response fault probabilities, e.g.\n"
	  "                           429=0.1,500=0.05,503=0.05,reset=0.05,truncate=0.05,\n"
	  "                           slow=0.02,malformed=0.02 (any status 400-599)\n"
	  "  --fault-seed S           seed of the fault draws (default 0)\n"
	  "  --fault-script LIST      faults of the first responses, in order (429,ok,reset)\n"
	  "  --retry-after-ms N       429s carry retry-after-ms: N (default Retry-After: 1)\n"
	  "  --slow-ms N              how long a slow response is held (default 10000)\n"
	  "  --scenarios DIR          scenario files (default: the installed scenarios/)\n"
	  "  --overlay FILE           as for run: the same overlays the client used\n" },
	{ "validate", cmd_validate, OPT(MODEL) | OPT(FAMILY) | OPT(OVERLAY),
	  "peerpres validate SCENARIO.yaml... [--model M] [--family NAME] [--overlay FILE]",
	  "Checks scenario files: their shape, every template of every config,\n"
	  "and every reference route against the labels it declares.\n\n"
	  "  --model PROVIDER/MODEL   render the templates as for this model's agents\n"
	  "                           (default: reference agents named as Gemini)\n"
	  "  --family NAME            the agents' family name when the id does not say\n"
	  "  --overlay FILE           check the files with this overlay applied, as a run\n"
	  "                           with it would use them (repeatable)\n" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: peerpres <command> [options]\n\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\n'peerpres <command> --help' tells more. peerpres %s\n", PP_VERSION);
}

int main(int argc, char **argv)
{
	struct cli c;
	size_t i;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("peerpres %s\n", PP_VERSION);
		return 0;
	}
	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (commands[i].fn == cmd_mock_server) {
			/* It parses its own flags; only --help is seen here. */
			memset(&c, 0, sizeof(c));
			c.help = argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"));
		} else if ((rc = cli_parse(&c, commands[i].name, commands[i].opts, argc - 2, argv + 2))) {
			return rc;
		}
		c.cmd = commands[i].name;
		c.argc = argc - 1;
		c.argv = argv + 1;
		if (c.help) {
			printf("usage: %s\n\n%s", commands[i].usage, commands[i].help);
			rc = 0;
		} else {
			rc = commands[i].fn(&c);
		}
		cli_release(&c);
		return rc;
	}
	cli_error("'%s' is not a command; see 'peerpres --help'", argv[1]);
	return EXIT_USAGE;
}
