/*
 * Integration (issue 14): SIGTERM drains instead of cutting. Uploads in flight when the
 * signal comes may finish for [server] drain_seconds; new requests meanwhile get 503
 * problem+json with Retry-After and Connection: close; an upload still running at the end
 * is cut (closed without a 2xx) and recorded as file.upload failure with the reason
 * "shutdown"; the server exits 0. And an upload whose body trickles below body_min_rate is
 * cut by the connection guard and recorded with the reason "timeout".
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Alpha-manager-pass-1"
#define USER_PW "Alpha-user-pass-2"
#define DEADLINE_S 30.0   /* generous; every wait below is a poll that ends as soon as it can */

struct world {
	struct it_server *s;
	struct it_session mgr, user;
};

static struct world *world_start(const char *extra)
{
	struct it_options o = { .extra_config = extra };
	struct world *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->s = it_server_start(&o);
	assert_non_null(w->s);
	it_create_tenant(w->s, "alpha", NULL);
	it_create_manager(w->s, "alpha", "amgr", MGR_PW, &w->mgr);
	it_create_account(w->s, &w->mgr, "alpha", "auser", "user", USER_PW, &w->user);
	return w;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens an upload of `total` bytes and waits for "100 Continue": then the server has taken
 * the request's headers (the request is in flight). Returns the connection. */
static int upload_open(struct world *w, const char *name, size_t total)
{
	char head[2048];
	int fd = it_raw_connect(w->s, NULL), n;
	double end = now_s() + DEADLINE_S;
	char *got = NULL;

	assert_true(fd >= 0);
	n = snprintf(head, sizeof(head),
		     "PUT /api/v1/folders/root/files/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Cookie: kura_session=%s\r\nX-CSRF-Token: %s\r\nContent-Length: %zu\r\n"
		     "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n",
		     name, w->user.token, w->user.csrf, total);
	assert_int_equal(it_raw_send(fd, head, (size_t)n), 0);
	while (now_s() < end) {
		bool closed = false;

		got = it_raw_read(fd, 0.2, &closed);
		if (strstr(got, "100 Continue") || closed)
			break;
		free(got);
		got = NULL;
	}
	if (!got || !strstr(got, "HTTP/1.1 100 Continue"))
		print_error("no 100 Continue for %s: %s\n", name, got ? got : "(nothing)");
	assert_non_null(got);
	assert_non_null(strstr(got, "HTTP/1.1 100 Continue"));
	free(got);
	return fd;
}

static void send_bytes(int fd, size_t n)
{
	char *buf = malloc(n);

	assert_non_null(buf);
	memset(buf, 'k', n);
	assert_int_equal(it_raw_send(fd, buf, n), 0);
	free(buf);
}

/* GET /api/v1/status on a fresh connection: the raw answer (malloc'd). */
static char *status_raw(struct world *w)
{
	static const char req[] = "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	int fd = it_raw_connect(w->s, NULL);
	char *out;

	if (fd < 0)
		return strdup("");
	if (it_raw_send(fd, req, sizeof(req) - 1) < 0) {
		close(fd);
		return strdup("");
	}
	out = it_raw_read(fd, 5.0, NULL);
	close(fd);
	return out;
}

/* file.upload failures of name whose details.reason is reason, in alpha's log as its
 * manager reads it. */
static long upload_failed(struct world *w, const char *name, const char *reason)
{
	char query[IT_STR];
	json_t *ev, *e;
	long n = 0;
	size_t i;

	snprintf(query, sizeof(query), "action=file.upload&result=failure&target=%s", name);
	ev = it_audit_events(w->s, &w->mgr, NULL, query);
	json_array_foreach(ev, i, e) {
		const char *why = json_string_value(json_object_get(json_object_get(e, "details"), "reason"));

		n += why && !strcmp(why, reason);
	}
	json_decref(ev);
	return n;
}

/* Files called name in alpha (tree and trash) with this size (-1: any), as its manager sees. */
static long files_named(struct world *w, const char *name, long long size)
{
	json_t *tree = it_tree(w->s, &w->mgr), *trash = it_trash(w->s, &w->mgr), *n;
	long count = 0;
	size_t i;

	json_array_foreach(tree, i, n)
		count += !strcmp(it_json_str(n, "name"), name) &&
			 (size < 0 || json_integer_value(json_object_get(n, "size")) == size);
	json_array_foreach(trash, i, n)
		count += !strcmp(it_json_str(n, "name"), name) &&
			 (size < 0 || json_integer_value(json_object_get(n, "size")) == size);
	json_decref(tree);
	json_decref(trash);
	return count;
}

/* SIGTERM with two uploads in flight: new requests get 503 meanwhile, the one that sends its
 * rest finishes (201). The drain is long (600 s) so that nothing here races with its end: a
 * second SIGTERM then cuts what is left at once (the stuck one), as the end of the drain
 * does (test_drain_time_over_cuts). */
static void test_sigterm_drains(void **state)
{
	struct world *w = world_start("[server]\ndrain_seconds = 600\n");
	int stuck, shortfd, status;
	char *out;
	double end;
	bool closed = false;

	(void)state;
	/* two uploads in flight: one will finish during the drain, one never sends the rest */
	stuck = upload_open(w, "stuck.bin", 1000000);
	send_bytes(stuck, 1000);
	shortfd = upload_open(w, "short.bin", 20000);
	send_bytes(shortfd, 10000);

	assert_int_equal(kill(w->s->pid, SIGTERM), 0);
	/* new requests are answered 503 with Retry-After while the drain runs */
	end = now_s() + DEADLINE_S;
	for (out = status_raw(w); now_s() < end && strncmp(out, "HTTP/1.1 503 ", 13); out = status_raw(w))
		free(out);
	if (strncmp(out, "HTTP/1.1 503 ", 13))
		print_error("no 503 while draining: %s\n", out);
	assert_int_equal(strncmp(out, "HTTP/1.1 503 ", 13), 0);
	assert_non_null(strstr(out, "Retry-After: 5\r\n"));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	assert_non_null(strstr(out, "application/problem+json"));
	assert_non_null(strstr(out, "urn:kura:problem:unavailable"));
	free(out);

	/* the upload in flight finishes and is answered */
	send_bytes(shortfd, 10000);
	out = it_raw_read_response(shortfd, DEADLINE_S, &closed);
	if (!strstr(out, "HTTP/1.1 201 "))
		print_error("the upload in flight was not completed during the drain: %s\n", out);
	assert_non_null(strstr(out, "HTTP/1.1 201 "));
	free(out);
	close(shortfd);

	/* the drain still waits for the stuck one; a second SIGTERM cuts it at once: a 503 or a
	 * clean close, never a 2xx */
	assert_int_equal(it_server_wait_exit(w->s, 0.5), -2);
	assert_int_equal(kill(w->s->pid, SIGTERM), 0);
	out = it_raw_read(stuck, DEADLINE_S, &closed);
	assert_true(closed);
	assert_null(strstr(out, "HTTP/1.1 2"));
	free(out);
	close(stuck);
	status = it_server_wait_exit(w->s, DEADLINE_S);
	assert_int_equal(status, 0);

	/* what was stored, as the manager sees it once the server is back */
	assert_int_equal(it_server_restart(w->s), 0);
	IT_ASSERT_LOGIN(w->s, "alpha", "amgr", MGR_PW, 201, &w->mgr);
	assert_int_equal(files_named(w, "short.bin", 20000), 1);
	assert_int_equal(files_named(w, "short.bin", -1), 1);
	assert_int_equal(files_named(w, "stuck.bin", -1), 0);
	assert_int_equal(upload_failed(w, "stuck.bin", "shutdown"), 1);
	assert_int_equal(it_server_stop(w->s), 0);
	free(w);
}

/* An upload still in flight when drain_seconds are over is cut (closed without a 2xx) and
 * recorded with the reason "shutdown"; the server exits 0. Nothing has to happen within the
 * drain here, so its one second is no race on a slow machine. */
static void test_drain_time_over_cuts(void **state)
{
	struct world *w = world_start("[server]\ndrain_seconds = 1\n");
	int stuck;
	char *out;
	bool closed = false;

	(void)state;
	stuck = upload_open(w, "stuck.bin", 1000000);
	send_bytes(stuck, 1000);
	assert_int_equal(kill(w->s->pid, SIGTERM), 0);
	out = it_raw_read(stuck, DEADLINE_S, &closed);
	assert_true(closed);
	assert_null(strstr(out, "HTTP/1.1 2"));
	free(out);
	close(stuck);
	assert_int_equal(it_server_wait_exit(w->s, DEADLINE_S), 0);
	assert_int_equal(it_server_restart(w->s), 0);
	IT_ASSERT_LOGIN(w->s, "alpha", "amgr", MGR_PW, 201, &w->mgr);
	assert_int_equal(files_named(w, "stuck.bin", -1), 0);
	assert_int_equal(upload_failed(w, "stuck.bin", "shutdown"), 1);
	assert_int_equal(it_server_stop(w->s), 0);
	free(w);
}

/* with nothing in flight the drain ends at once (the server does not wait drain_seconds) */
static void test_idle_stop_exits_zero(void **state)
{
	struct world *w = world_start("[server]\ndrain_seconds = 600\n");
	int idle = it_raw_connect(w->s, NULL);   /* an idle keep-alive connection is not in flight */

	(void)state;
	assert_true(idle >= 0);
	assert_int_equal(kill(w->s->pid, SIGTERM), 0);
	/* 600 s of drain would outlast this deadline: an early exit shows nothing was waited for */
	assert_int_equal(it_server_wait_exit(w->s, DEADLINE_S), 0);
	close(idle);
	assert_int_equal(it_server_stop(w->s), 0);
	free(w);
}

static void test_trickled_upload_recorded_as_timeout(void **state)
{
	struct world *w = world_start("[server]\nbody_timeout_seconds = 2\nbody_min_rate = 1000\n");
	int fd = upload_open(w, "slow.bin", 100000), n = 0;
	double end = now_s() + DEADLINE_S;

	(void)state;
	/* 10 bytes every 200 ms: 50 bytes/s, below the 1000 bytes/s the guard asks */
	while (now_s() < end) {
		if (it_raw_wait_closed(fd, 0.2))
			break;
		if (it_raw_send(fd, "0123456789", 10) < 0)
			break;
	}
	close(fd);
	/* the record is written when the server has aborted the upload */
	while (now_s() < end && (n = upload_failed(w, "slow.bin", "timeout")) != 1) {
		struct timespec ts = { 0, 100 * 1000000L };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(n, 1);
	assert_int_equal(files_named(w, "slow.bin", -1), 0);
	assert_int_equal(it_server_stop(w->s), 0);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm_drains),
		cmocka_unit_test(test_drain_time_over_cuts),
		cmocka_unit_test(test_idle_stop_exits_zero),
		cmocka_unit_test(test_trickled_upload_recorded_as_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
