/*
 * Two kura nodes behind haproxy (issue 10, docs/scale-out.md "Two nodes behind a load
 * balancer"): one PostgreSQL database, one S3 bucket prefix (s3rver), nodes A and B, haproxy
 * in front (it_options.nodes = 2, harness.h "Two nodes").
 *
 * - Five wrong passwords, sent alternately straight to node A and node B, lock the account:
 *   the right password is then refused on both nodes (the lockout counter is the database's).
 * - kill -9 of node B while several clients upload through the proxy: every upload answered
 *   2xx is afterwards read back byte for byte through node A, and every tenant's audit chain
 *   verifies on node A.
 * - Mails queued through node A are delivered exactly once although both nodes run the
 *   mailer (each outbox row is claimed by one node for each attempt).
 *
 * Runs in every ctest pass (it asks for its two nodes itself).
 */
#include <pthread.h>
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

#define PW "Two-nodes-manager-pass-1"
#define USER_PW "Two-nodes-user-pass-2"
#define CLIENTS 6               /* uploading at once through the proxy */
#define MAX_UPLOADS 64          /* per client */
#define ACKED_BEFORE_KILL 12    /* uploads acknowledged before node B is killed ... */
#define ACKED_AFTER_KILL 12     /* ... and after it, through the surviving node */
#define LOAD_DEADLINE_S 120     /* a stuck load fails the test rather than hanging it */
#define MAILS 8

static struct it_server *S;

static int setup(void **state)
{
	(void)state;
	S = it_server_start(&(struct it_options){ .nodes = 2 });
	return S && S->peer ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return it_server_stop(S) == 0 ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the share counter and exclusive WebDAV locks, raced from both nodes ---- */

#define RACERS 8            /* 4 per node, directly to the nodes' ports */
#define RACE_TRIES 3        /* downloads per racer: 24 tries for a link of 5 */
#define LINK_MAX 5

struct racer {
	struct it_server *s;
	const char *path;
	const char *const *headers;
	const char *method, *body;
	int tries, ok, refused, other;
	long ok_status, refused_status, other_status;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < r->tries; i++) {
		struct it_response *res = it_request(r->s, &(struct it_request){
			.method = r->method, .path = r->path, .headers = r->headers, .body = r->body,
			.body_len = r->body ? strlen(r->body) : 0, .content_type = r->body ? "application/xml" : NULL });

		if (res->status == r->ok_status)
			r->ok++;
		else if (res->status == r->refused_status)
			r->refused++;
		else
			r->other++, r->other_status = res->status;
		it_response_free(res);
	}
	return NULL;
}

static void run_race(struct racer *proto, int *ok, int *refused)
{
	struct racer rc[RACERS];
	pthread_t t[RACERS];

	*ok = *refused = 0;
	for (int i = 0; i < RACERS; i++) {
		rc[i] = *proto;
		rc[i].s = it_node(S, i % 2);
		assert_int_equal(pthread_create(&t[i], NULL, race, &rc[i]), 0);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		*ok += rc[i].ok;
		*refused += rc[i].refused;
		if (rc[i].other)
			print_error("racer %d: %d other answers (last %ld)\n", i, rc[i].other, rc[i].other_status);
		assert_int_equal(rc[i].other, 0);
	}
}

static void test_share_limit_and_dav_lock_from_both_nodes(void **state)
{
	struct it_server *a = it_node(S, 0);
	struct it_session mgr;
	struct it_response *r;
	static const char data[] = "raced from two nodes";
	char path[160], auth[IT_STR * 2];
	int ok, refused;

	(void)state;
	it_create_tenant(a, "racet", NULL);
	it_create_manager(a, "racet", "rmgr", PW, &mgr);
	r = it_request(a, &(struct it_request){ .method = "PUT", .path = "/api/v1/folders/root/files/r.txt",
					       .body = data, .body_len = sizeof(data) - 1,
					       .content_type = "text/plain", .cookie = mgr.token, .csrf = mgr.csrf });
	IT_ASSERT_STATUS(r, 201);
	{
		json_int_t fid = json_integer_value(json_object_get(r->json, "id"));

		it_response_free(r);
		r = it_send(a, &mgr, "POST", "/api/v1/shares",
			    json_pack("{s:I, s:i}", "node_id", fid, "max_downloads", LINK_MAX));
	}
	IT_ASSERT_STATUS(r, 201);
	snprintf(path, sizeof(path), "/api/v1/links/%s/content", it_json_str(r->json, "token"));
	it_response_free(r);

	/* the download counter (shares.c count_download under the tenant lock): exactly the
	 * link's limit is served, however the downloads are spread over the nodes */
	run_race(&(struct racer){ .path = path, .method = "GET", .tries = RACE_TRIES, .ok_status = 200,
				  .refused_status = 410 }, &ok, &refused);
	assert_int_equal(ok, LINK_MAX);
	assert_int_equal(refused, RACERS * RACE_TRIES - LINK_MAX);

	/* exclusive WebDAV locks (files_dav.c lock create under the tenant lock): of eight
	 * LOCKs at once on one file from both nodes, exactly one is granted */
	r = it_send(a, &mgr, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "race", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	it_basic_auth(auth, sizeof(auth), "rmgr@racet", it_json_str(r->json, "secret"));
	it_response_free(r);
	{
		const char *headers[] = { auth, "Depth: 0", "Timeout: Second-600", NULL };
		static const char lockinfo[] =
			"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:lockinfo xmlns:D=\"DAV:\">"
			"<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
			"<D:owner>racer</D:owner></D:lockinfo>";

		run_race(&(struct racer){ .path = "/dav/racet/r.txt", .method = "LOCK", .headers = headers,
					  .body = lockinfo, .tries = 1, .ok_status = 200, .refused_status = 423 },
			 &ok, &refused);
	}
	assert_int_equal(ok, 1);
	assert_int_equal(refused, RACERS - 1);
	assert_int_equal(it_admin(it_node(S, 1), NULL, "audit", "verify", "racet", NULL), 0);
}

/* ---- (a) lockout across nodes ---- */

static void test_lockout_spread_over_both_nodes(void **state)
{
	struct it_server *a = it_node(S, 0), *b = it_node(S, 1);
	struct it_session mgr;
	struct it_response *r;

	(void)state;
	assert_true(a != b && a->port != b->port && a->port != S->port);
	it_create_tenant(S, "lockt", NULL);
	it_create_manager(S, "lockt", "lmgr", PW, &mgr);
	it_create_account(S, &mgr, "lockt", "bob", "user", USER_PW, NULL);
	/* the right password works on either node before */
	IT_ASSERT_LOGIN(it_node(S, 0), "lockt", "bob", USER_PW, 201, NULL);
	IT_ASSERT_LOGIN(it_node(S, 1), "lockt", "bob", USER_PW, 201, NULL);
	for (int i = 0; i < 5; i++)
		IT_ASSERT_LOGIN(it_node(S, i % 2), "lockt", "bob", "wrong-password-42", 401, NULL);
	/* the sixth, right, login is refused on both nodes */
	IT_ASSERT_LOGIN(it_node(S, 0), "lockt", "bob", USER_PW, 401, NULL);
	IT_ASSERT_LOGIN(it_node(S, 1), "lockt", "bob", USER_PW, 401, NULL);
	for (int i = 0; i < 2; i++) {
		r = it_get(it_node(S, i), &mgr, "/api/v1/accounts/bob");
		IT_ASSERT_STATUS(r, 200);
		assert_true(json_is_true(json_object_get(r->json, "locked")));
		it_response_free(r);
	}
}

/* ---- (b) kill -9 of one node under an upload load ---- */

struct upload {
	char name[48];
	long long id;
	size_t len;
	unsigned seed;
};

struct client {
	int n;
	const struct it_session *sess;
	struct upload acked[MAX_UPLOADS];
	int n_acked, n_failed;
	long last_failure;
};

static volatile int acked_total, stop_load;

/* The bytes of upload (client, i): sizes from 1 byte to about 300 KiB, content from its seed. */
static unsigned char *content(unsigned seed, size_t len)
{
	unsigned char *d = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; d && i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (unsigned char)x;
	}
	return d;
}

static void *uploader(void *arg)
{
	struct client *c = arg;
	double end = now_s() + LOAD_DEADLINE_S;

	for (int i = 0; i < MAX_UPLOADS && !stop_load && now_s() < end; i++) {
		struct upload u = { .seed = (unsigned)(c->n * 1000 + i + 1) };
		char path[128];
		unsigned char *d;
		struct it_response *r;

		u.len = 1 + (u.seed * 7919u) % (300 * 1024);
		snprintf(u.name, sizeof(u.name), "c%d-%02d.bin", c->n, i);
		snprintf(path, sizeof(path), "/api/v1/folders/root/files/%s", u.name);
		d = content(u.seed, u.len);
		if (!d)
			break;
		r = it_request(S, &(struct it_request){ .method = "PUT", .path = path, .body = (const char *)d,
							.body_len = u.len, .content_type = "application/octet-stream",
							.cookie = c->sess->token, .csrf = c->sess->csrf });
		free(d);
		if (r->status >= 200 && r->status < 300 && r->json) {
			u.id = json_integer_value(json_object_get(r->json, "id"));
			c->acked[c->n_acked++] = u;
			__atomic_add_fetch(&acked_total, 1, __ATOMIC_SEQ_CST);
		} else {
			c->n_failed++;   /* not acknowledged: nothing is promised about it */
			c->last_failure = r->status;
		}
		it_response_free(r);
	}
	return NULL;
}

static void wait_acked(int n)
{
	double end = now_s() + LOAD_DEADLINE_S;

	while (__atomic_load_n(&acked_total, __ATOMIC_SEQ_CST) < n && now_s() < end)
		usleep(20 * 1000);
	assert_true(__atomic_load_n(&acked_total, __ATOMIC_SEQ_CST) >= n);
}

static void test_kill_one_node_under_upload_load(void **state)
{
	static const char *const tenants[] = { "lockt", "loada", "loadb" };
	struct it_session mgr[2];
	struct client c[CLIENTS];
	pthread_t t[CLIENTS];
	struct it_server *a = it_node(S, 0);
	int checked = 0, failed = 0, at_kill;

	(void)state;
	it_create_tenant(S, "loada", NULL);
	it_create_manager(S, "loada", "amgr", PW, &mgr[0]);
	it_create_tenant(S, "loadb", NULL);
	it_create_manager(S, "loadb", "bmgr", PW, &mgr[1]);
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ .n = i, .sess = &mgr[i % 2] };
		assert_int_equal(pthread_create(&t[i], NULL, uploader, &c[i]), 0);
	}
	wait_acked(ACKED_BEFORE_KILL);
	at_kill = __atomic_load_n(&acked_total, __ATOMIC_SEQ_CST);
	assert_int_equal(kill(S->peer->pid, SIGKILL), 0);
	assert_int_equal(it_server_wait_exit(S->peer, 10), -1);
	/* the load goes on through the proxy, which now finds node A only */
	wait_acked(at_kill + ACKED_AFTER_KILL);
	stop_load = 1;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		failed += c[i].n_failed;
		if (c[i].n_failed)
			print_message("client %d: %d uploads not acknowledged (last answer %ld)\n", i,
				      c[i].n_failed, c[i].last_failure);
	}
	print_message("%d uploads acknowledged (%d before the kill), %d not\n", acked_total, at_kill, failed);

	/* every acknowledged upload, byte for byte, through the surviving node */
	for (int i = 0; i < CLIENTS; i++) {
		for (int k = 0; k < c[i].n_acked; k++) {
			const struct upload *u = &c[i].acked[k];
			unsigned char *want = content(u->seed, u->len);
			char path[96];
			struct it_response *r;

			snprintf(path, sizeof(path), "/api/v1/files/%lld/content", u->id);
			r = it_get(a, c[i].sess, path);
			IT_ASSERT_STATUS(r, 200);
			assert_int_equal(r->body_len, u->len);
			assert_memory_equal(r->body, want, u->len);
			it_response_free(r);
			free(want);
			checked++;
		}
	}
	assert_int_equal(checked, acked_total);
	/* every tenant's audit chain (both nodes appended to it until one died mid-way) */
	for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++)
		assert_int_equal(it_admin(a, NULL, "audit", "verify", tenants[i], NULL), 0);
	/* node B comes back on its data directory and serves the same files */
	assert_int_equal(it_server_restart(S->peer), 0);
	{
		const struct upload *u = &c[0].acked[0];
		unsigned char *want = content(u->seed, u->len);
		char path[96];
		struct it_response *r;

		snprintf(path, sizeof(path), "/api/v1/files/%lld/content", u->id);
		r = it_get(S->peer, c[0].sess, path);
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(r->body_len, u->len);
		assert_memory_equal(r->body, want, u->len);
		it_response_free(r);
		free(want);
	}
}

/* ---- (c) a queued mail is sent once, both nodes running the mailer ---- */

static void test_mail_delivered_once(void **state)
{
	char to[64];
	json_t *j = NULL;
	double end;
	long long waiting = -1;

	(void)state;
	/* both mailers run (node B is back when the test before ended early) */
	if (S->peer->pid <= 0 || S->peer->exited)
		assert_int_equal(it_server_restart(S->peer), 0);
	for (int i = 0; i < MAILS; i++) {
		snprintf(to, sizeof(to), "once-%d@example.org", i);
		assert_int_equal(it_admin(it_node(S, 0), NULL, "mail", "test", to, NULL), 0);
	}
	for (int i = 0; i < MAILS; i++) {
		struct it_mail *m;

		snprintf(to, sizeof(to), "once-%d@example.org", i);
		m = it_wait_for_mail(S, to, 30);
		assert_non_null(m);
		it_mail_free(m);
	}
	/* the outbox has nothing left to send (no attempt of these rows is pending) ... */
	end = now_s() + 30;
	while (now_s() < end && waiting != 0) {
		assert_int_equal(it_admin(it_node(S, 1), &j, "mail", "queue", NULL), 0);
		waiting = json_integer_value(json_object_get(j, "queued")) +
			  json_integer_value(json_object_get(j, "deferred"));
		json_decref(j);
		j = NULL;
		if (waiting)
			usleep(100 * 1000);
	}
	assert_int_equal(waiting, 0);
	/* ... and no second copy of any of them arrived before a marker queued after them */
	assert_int_equal(it_mails_before_marker(S, "once-"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockout_spread_over_both_nodes),
		cmocka_unit_test(test_kill_one_node_under_upload_load),
		cmocka_unit_test(test_mail_delivered_once),
		cmocka_unit_test(test_share_limit_and_dav_lock_from_both_nodes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
