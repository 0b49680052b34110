/*
 * Integration test: GET /api/v1/status is a health check that says ok only when the node can
 * reach its database (docs/api.md, docs/operations.md "Health check"). A load balancer polls
 * it (haproxy's `option httpchk` in the two-node suites), so a node that lost PostgreSQL must
 * answer 503 `unavailable` with Retry-After, and every other request too, instead of a 200 on
 * the status and a 500 on the next real request; once the database takes connections again
 * the node recovers by itself (a new connection per worker, db_pg.c).
 *
 * On SQLite the database is a file of the node itself: the check answers 200. The database
 * going away is tested where it can go away, in integration-pg/test_health: the test refuses
 * new connections to the server's database (ALTER DATABASE … ALLOW_CONNECTIONS false) and
 * ends the server's sessions (pg_terminate_backend).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The database name of a harness PostgreSQL URL "postgresql:///NAME?host=…". */
static void pg_db_name(const struct it_server *s, char *buf, size_t size)
{
	const char *p = strstr(s->db_url, ":///");
	size_t n;

	assert_non_null(p);
	p += 4;
	n = strcspn(p, "?");
	assert_true(n > 0 && n < size);
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static void pg_cut(const char *db, bool cut)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS %s", db, cut ? "false" : "true");
	assert_int_equal(it_pg_admin(sql), 0);
	if (cut) {
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'",
			 db);
		assert_int_equal(it_pg_admin(sql), 0);
	}
}

static void status_says_database_state(void **state)
{
	struct it_server *s = *state;
	struct it_response *r;
	char db[64];
	int ok_after = -1;

	r = it_get(s, NULL, "/api/v1/status");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "status"), "ok");
	it_response_free(r);
	if (!s->db_url[0]) {
		print_message("SQLite: the database is the node's own file; the outage half runs on PostgreSQL\n");
		return;
	}

	pg_db_name(s, db, sizeof(db));
	pg_cut(db, true);
	for (int i = 0; i < 3; i++) {   /* a request that needs the database, on a worker whose session just ended */
		r = it_send(s, NULL, "POST", "/api/v1/session",
			    json_pack("{s:s, s:s, s:s}", "tenant", "demo", "login", "admin", "password", s->demo_password));
		IT_ASSERT_PROBLEM(r, 503, "unavailable");
		it_response_free(r);
	}

	/* every worker either finds its session ended (the query fails) or cannot open a new one */
	for (int i = 0; i < 6; i++) {
		r = it_get(s, NULL, "/api/v1/status");
		IT_ASSERT_PROBLEM(r, 503, "unavailable");
		assert_non_null(strcasestr(r->headers, "\nRetry-After: 5"));
		it_response_free(r);
	}
	pg_cut(db, false);
	for (int i = 0; i < IT_WAIT_S * 20 && ok_after < 0; i++) {   /* a poll: as soon as it is back */
		r = it_get(s, NULL, "/api/v1/status");
		if (r->status == 200)
			ok_after = i;
		else
			IT_ASSERT_PROBLEM(r, 503, "unavailable");
		it_response_free(r);
		if (ok_after < 0)
			usleep(50000);
	}
	print_message("status answered 200 again after %d tries\n", ok_after);
	assert_true(ok_after >= 0);
	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 201, NULL);   /* a real request, after the outage */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(status_says_database_state, it_setup_demo_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
