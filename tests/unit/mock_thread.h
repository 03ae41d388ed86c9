/*
 * mock_thread.h - a mock server on a thread of the test process, for the
 * transport and mock server tests (test_net.c, test_mock.c).
 */
#ifndef PP_TEST_MOCK_THREAD_H
#define PP_TEST_MOCK_THREAD_H

#include <pthread.h>
#include <stdio.h>

#include <peerpres/http.h>
#include <peerpres/mock.h>
#include <peerpres/scenario.h>
#include <peerpres/status.h>

struct mock_thread {
	struct pp_mock *m;
	pthread_t thread;
	int rc;
	struct pp_scenario **list;
	size_t n;
	char base[64];          /* "http://127.0.0.1:PORT" */
};

static inline void *mock_thread_main(void *arg)
{
	struct mock_thread *mt = arg;

	mt->rc = pp_mock_run(mt->m);
	return NULL;
}

/* Starts a server with o (scenarios from ./scenarios when with_scenarios). */
static inline int mock_thread_start(struct mock_thread *mt, struct pp_mock_options *o,
				    bool with_scenarios)
{
	struct pp_diag d;
	int rc;

	memset(mt, 0, sizeof(*mt));
	pp_diag_clear(&d);
	if (pp_http_global_init())
		return PP_EPROVIDER;
	if (with_scenarios && (rc = pp_scenario_load_dir("scenarios", &mt->list, &mt->n, &d)))
		return rc;
	o->scenarios = mt->list;
	o->n_scenarios = mt->n;
	if ((rc = pp_mock_new(&mt->m, o, &d))) {
		fprintf(stderr, "mock: %s\n", d.msg);
		pp_scenario_list_free(mt->list, mt->n);
		return rc;
	}
	snprintf(mt->base, sizeof(mt->base), "http://127.0.0.1:%d", pp_mock_port(mt->m));
	if (pthread_create(&mt->thread, NULL, mock_thread_main, mt)) {
		pp_mock_free(mt->m);
		pp_scenario_list_free(mt->list, mt->n);
		return PP_EIO;
	}
	return PP_OK;
}

/* Stops and frees the server; its counters go to st (may be NULL). */
static inline void mock_thread_stop(struct mock_thread *mt, struct pp_mock_stats *st)
{
	pp_mock_stop(mt->m);
	pthread_join(mt->thread, NULL);
	if (st)
		pp_mock_get_stats(mt->m, st);
	pp_mock_free(mt->m);
	pp_scenario_list_free(mt->list, mt->n);
}

#endif
