/*
 * floor_curl.c - what libcurl alone costs per request, the lower bound
 * under peerpres's CPU per model call (issue: under 100 us a call).
 *
 * N POSTs of a chat request the size of a first turn (about 5.6 KB) to
 * the mock server, C of them in flight, driven the way src/net/multi.c
 * drives them: epoll, curl_multi_socket_action, one easy handle per slot
 * reset and set up again for each request, the same options. Nothing is
 * parsed, built or stored: what this program spends is libcurl and the
 * system calls under it. Prints "us per request".
 *
 *   floor_curl URL CONCURRENCY N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <curl/curl.h>

/* A config the mock server answers as the reference agents. */
#define MOCK_CONFIG \
	"X-Peerpres-Config: {\"condition\":\"good_peer\",\"dataset\":\"none\"," \
	"\"family\":\"ChatGPT\",\"instantiation\":\"file_only\",\"mode\":\"none\"," \
	"\"model\":\"openai/gpt-4.1\",\"scenario\":\"exfiltration_transfer\"," \
	"\"scratchpad\":\"off\",\"subject\":\"self\",\"threshold\":\"none\"}"

static int epfd;
static long timer_ms = -1;
static char body[6000];
static struct curl_slist *headers;

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp)
{
	struct epoll_event ev = { 0 };

	(void)e, (void)u, (void)sp;
	if (what == CURL_POLL_REMOVE)
		return epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL), 0;
	ev.data.fd = s;
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev))
		epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *u)
{
	(void)m, (void)u;
	timer_ms = ms;
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *u)
{
	(void)p, (void)u;
	return size * n;
}

static void start(CURLM *m, CURL *e, const char *url)
{
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_multi_add_handle(m, e);
}

/* A first turn's size: a long system prompt, one user message, a tool. */
static void make_body(void)
{
	char filler[5001];

	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	snprintf(body, sizeof(body),
		 "{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
		 "{\"role\":\"user\",\"content\":\"Do the task.\"}],\"tools\":[{\"type\":"
		 "\"function\",\"function\":{\"name\":\"end_task\",\"description\":\"end\","
		 "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}", filler);
}

static double cpu_seconds(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 +
	       r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* Hands the ready sockets (or the timer) to curl. */
static void pump(CURLM *m)
{
	struct epoll_event ev[256];
	int n = epoll_wait(epfd, ev, 256, timer_ms < 0 ? 100 : (int)timer_ms), i, running;

	if (n == 0) {
		timer_ms = -1; /* fired: curl sets the next one if any */
		curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	for (i = 0; i < n; i++)
		curl_multi_socket_action(m, ev[i].data.fd,
					 (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
					 (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0), &running);
}

int main(int argc, char **argv)
{
	long conc, total, started = 0, done = 0, failed = 0, i;
	CURLM *m;
	CURLMsg *msg;
	int queued;

	if (argc != 4 || (conc = strtol(argv[2], NULL, 10)) < 1 || (total = strtol(argv[3], NULL, 10)) < conc) {
		fprintf(stderr, "usage: floor_curl URL CONCURRENCY N (N >= CONCURRENCY)\n");
		return 2;
	}
	make_body();
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Authorization: Bearer floor");
	headers = curl_slist_append(headers, "Expect:");
	headers = curl_slist_append(headers, MOCK_CONFIG);
	headers = curl_slist_append(headers, "X-Peerpres-Seed: 1");
	curl_global_init(CURL_GLOBAL_ALL);
	m = curl_multi_init();
	epfd = epoll_create1(0);
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conc);
	curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	for (i = 0; i < conc; i++, started++)
		start(m, curl_easy_init(), argv[1]);
	while (done < total) {
		pump(m);
		while ((msg = curl_multi_info_read(m, &queued))) {
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			failed += msg->data.result != CURLE_OK || status != 200;
			curl_multi_remove_handle(m, msg->easy_handle);
			done++;
			if (started < total) {
				start(m, msg->easy_handle, argv[1]);
				started++;
			}
		}
	}
	printf("libcurl alone: %ld requests at %ld in flight (%ld not 200): %.1f us per request\n",
	       total, conc, failed, cpu_seconds() / total * 1e6);
	return failed ? 1 : 0;
}
