/*
 * cmd_mock_server.c - `peerpres mock-server`: the OpenAI, Anthropic and
 * Gemini wire formats on 127.0.0.1, answered by the reference agents,
 * with latency and injected faults. Runs until SIGINT or SIGTERM.
 *
 * It takes flags no other command has, so it reads its command line
 * itself (main.c does not run cli_parse for it).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/mock.h>
#include <peerpres/status.h>

#include "cli/cli.h"

static struct pp_mock *running;

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		pp_mock_stop(running);
}

static int number(const char *flag, const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s ? s : "", &end, 10);
	if (!s || !*s || *end || errno || *out < min || *out > max) {
		cli_error("%s needs a whole number from %lld to %lld, not '%s'", flag, min, max,
			  s ? s : "");
		return EXIT_USAGE;
	}
	return 0;
}

static int parse(struct cli *c, struct pp_mock_options *o)
{
	long long v;
	int i;

	for (i = 1; i < c->argc; i++) {
		const char *a = c->argv[i], *val = i + 1 < c->argc ? c->argv[i + 1] : NULL;
		int rc = 0;

		if (!val) {
			cli_error("unknown option '%s' or missing value; see 'peerpres mock-server --help'", a);
			return EXIT_USAGE;
		}
		i++;
		if (!strcmp(a, "--port"))
			rc = number(a, val, 0, 65535, &v), o->port = (int)v;
		else if (!strcmp(a, "--latency-ms"))
			rc = number(a, val, 0, 3600000, &v), o->latency_ms = (long)v;
		else if (!strcmp(a, "--slow-ms"))
			rc = number(a, val, 1, 3600000, &v), o->slow_ms = (long)v;
		else if (!strcmp(a, "--retry-after-ms"))
			rc = number(a, val, 0, 3600000, &v), o->retry_after_ms = (long)v;
		else if (!strcmp(a, "--fault-seed"))
			rc = number(a, val, 0, (long long)(~0ULL >> 1), &v), o->fault_seed = (uint64_t)v;
		else if (!strcmp(a, "--faults"))
			o->faults = val;
		else if (!strcmp(a, "--fault-script"))
			o->script = val;
		else if (!strcmp(a, "--scenarios"))
			c->scenario_dir = val;
		else if (!strcmp(a, "--overlay") && c->n_overlays < sizeof(c->overlays) / sizeof(c->overlays[0]))
			c->overlays[c->n_overlays++] = val;
		else {
			cli_error("unknown option '%s'; see 'peerpres mock-server --help'", a);
			return EXIT_USAGE;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int cmd_mock_server(struct cli *c)
{
	struct pp_mock_options o;
	struct pp_scenario **list = NULL;
	struct pp_mock_stats st;
	struct sigaction sa;
	struct pp_diag diag;
	size_t n = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = parse(c, &o)))
		return rc;
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	cli_raise_fd_limit();
	o.scenarios = list;
	o.n_scenarios = n;
	pp_diag_clear(&diag);
	if ((rc = pp_mock_new(&running, &o, &diag))) {
		cli_diag(&diag);
		pp_scenario_list_free(list, n);
		return rc == PP_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("listening on 127.0.0.1:%d\n", pp_mock_port(running));
	fflush(stdout);
	rc = pp_mock_run(running);
	pp_mock_get_stats(running, &st);
	fprintf(stderr, "mock-server: %ld connections, %ld requests, %ld faults, %ld configs rendered\n",
		st.connections, st.requests, st.faults, st.renders);
	if (rc)
		cli_error("mock server failed: %s", pp_strerror(rc));
	{
		struct pp_mock *m = running;

		running = NULL;
		pp_mock_free(m);
	}
	pp_scenario_list_free(list, n);
	return rc ? EXIT_RUNTIME : 0;
}
