/*
 * Crash safety of the audit log on a real server (issue 4, F9): `kura serve` is killed with
 * SIGKILL, in rounds, while four clients change their profiles (recorded inside the
 * change's own transaction) and download a file (recorded by the audit group commit, since
 * a read has no transaction). After every restart the tenant's chain verifies in place, and
 * every request the server acknowledged has its event: an acknowledged change by its exact
 * value, acknowledged downloads by count.
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define WORKERS 4
#define ROUNDS 3
#define USER_PW "Crash-test-passphrase-4"
#define MGR_PW "Crash-manager-passphrase-4"

struct worker {
	struct it_server *s;
	struct it_session sess;
	int id;
	char file_path[64];
	volatile int *stop;
	char (*acked)[32];          /* display names the server acknowledged */
	size_t n_acked, cap;
	long downloads;             /* downloads the server acknowledged */
	int seq;
};

/* No cmocka assertions in here: the worker only records what the server answered. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct it_response *r;

	while (!*w->stop) {
		char name[32];

		snprintf(name, sizeof(name), "w%d-%d", w->id, w->seq++);
		r = it_send(w->s, &w->sess, "PATCH", "/api/v1/me", json_pack("{s:s}", "display_name", name));
		if (r->status == 200 && w->n_acked < w->cap) {
			memcpy(w->acked[w->n_acked], name, sizeof(name));
			__atomic_store_n(&w->n_acked, w->n_acked + 1, __ATOMIC_RELEASE);   /* read by the killer */
		}
		it_response_free(r);
		r = it_get(w->s, &w->sess, w->file_path);
		if (r->status == 200)
			__atomic_store_n(&w->downloads, w->downloads + 1, __ATOMIC_RELEASE);
		it_response_free(r);
	}
	return NULL;
}

/* True when every worker had a change and a download acknowledged since *seen (then *seen
 * is updated): the kill comes when each has work acknowledged in this round, not after a
 * time that a slow machine may spend without any. */
static bool all_progressed(struct worker *w, size_t (*seen)[2])
{
	for (int i = 0; i < WORKERS; i++)
		if (__atomic_load_n(&w[i].n_acked, __ATOMIC_ACQUIRE) <= seen[i][0] ||
		    (size_t)__atomic_load_n(&w[i].downloads, __ATOMIC_ACQUIRE) <= seen[i][1])
			return false;
	return true;
}

/* Every event with this action in the tenant's log (paged). */
static json_t *events(struct it_server *s, const struct it_session *mgr, const char *action)
{
	json_t *all = json_array();
	long long after = 0;

	for (;;) {
		char path[256];
		struct it_response *r;
		json_t *next;

		snprintf(path, sizeof(path), "/api/v1/audit?action=%s&limit=1000&after=%lld", action, after);
		r = it_get(s, mgr, path);
		IT_ASSERT_STATUS(r, 200);
		json_array_extend(all, json_object_get(r->json, "events"));
		next = json_object_get(r->json, "next_after");
		if (!json_is_integer(next)) {
			it_response_free(r);
			return all;
		}
		after = json_integer_value(next);
		it_response_free(r);
	}
}

static void test_kill9_keeps_acknowledged_events(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct worker w[WORKERS];
	pthread_t th[WORKERS];
	volatile int stop = 0;
	long downloads = 0, recorded;
	int round, i, status;
	char file_path[64];
	struct it_request up = { 0 };
	struct it_response *r;
	json_t *ev, *e;
	size_t k;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	up.method = "PUT";
	up.path = "/api/v1/folders/root/files/shared.bin";
	up.body = "some bytes that every worker downloads";
	up.body_len = strlen(up.body);
	up.content_type = "application/octet-stream";
	up.cookie = mgr.token;
	up.csrf = mgr.csrf;
	r = it_request(s, &up);
	assert_true(r->status == 201 || r->status == 200);
	snprintf(file_path, sizeof(file_path), "/api/v1/files/%lld/content",
		 (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);

	memset(w, 0, sizeof(w));
	for (i = 0; i < WORKERS; i++) {
		char login[16];

		snprintf(login, sizeof(login), "user%d", i);
		it_create_account(s, &mgr, "alpha", login, "user", USER_PW, &w[i].sess);
		w[i].s = s;
		w[i].id = i;
		w[i].stop = &stop;
		w[i].cap = 100000;
		w[i].acked = calloc(w[i].cap, sizeof(*w[i].acked));
		assert_non_null(w[i].acked);
		memcpy(w[i].file_path, file_path, sizeof(file_path));
	}

	for (round = 0; round < ROUNDS; round++) {
		size_t seen[WORKERS][2];

		stop = 0;
		for (i = 0; i < WORKERS; i++) {
			seen[i][0] = w[i].n_acked;
			seen[i][1] = (size_t)w[i].downloads;
			assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
		}
		IT_POLL_UNTIL(all_progressed(w, seen));
		assert_true(all_progressed(w, seen));
		/* then more requests in flight, a different while each round */
		usleep(300000 + 250000 * (useconds_t)round);
		/* the crash: no chance to finish anything in flight */
		kill(s->pid, SIGKILL);
		assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
		assert_true(WIFSIGNALED(status));
		s->pid = -1;
		stop = 1;
		for (i = 0; i < WORKERS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(it_server_restart(s), 0);
		/* the chain verifies in place after the crash */
		assert_int_equal(it_admin(s, NULL, "audit", "verify", "alpha", NULL), 0);
	}

	/* every acknowledged change is recorded with its value */
	ev = events(s, &mgr, "account.update");
	for (i = 0; i < WORKERS; i++) {
		assert_true(w[i].n_acked > 0);
		for (k = 0; k < w[i].n_acked; k++) {
			size_t j;
			bool found = false;

			json_array_foreach(ev, j, e) {
				const char *dn = json_string_value(
					json_object_get(json_object_get(e, "details"), "display_name"));

				if (dn && !strcmp(dn, w[i].acked[k])) {
					found = true;
					break;
				}
			}
			if (!found)
				fail_msg("acknowledged change %s has no audit record", w[i].acked[k]);
		}
		downloads += w[i].downloads;
		free(w[i].acked);
	}
	json_decref(ev);
	/* every acknowledged download is recorded (a download in flight at the kill may be
	 * recorded without its answer arriving, never the other way round) */
	ev = events(s, &mgr, "file.download");
	recorded = (long)json_array_size(ev);
	json_decref(ev);
	print_message("acknowledged: %ld downloads, recorded: %ld\n", downloads, recorded);
	assert_true(downloads > 0);
	assert_true(recorded >= downloads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_keeps_acknowledged_events, it_setup_server,
						it_teardown_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
