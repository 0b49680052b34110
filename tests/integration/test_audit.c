/*
 * Integration: the audit log over the public API and the CLI, on a real server with two
 * tenants, alpha (manager amgr, user auser) and bravo (manager bmgr). Checked: a manager's
 * query and both export formats hold only the own tenant's events (never bravo's, never
 * the provider's); users get 403 on the log and see only their own sign-ins at
 * /api/v1/me/logins; every bad parameter is a 400 problem; the JSONL export verifies with
 * `kura audit verify` and the key of GET /api/v1/audit/public-key, and a one-byte change
 * makes it fail naming the record; `kura admin audit verify` checks in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"



/* The shared world, plus a failed login in bravo, so bravo's log holds something alpha must
 * never see. */
static int setup_audit_world(void **state)
{
	int r = it_setup_world(state);

	if (r == 0) {
		struct it_world *w = *state;

		IT_ASSERT_LOGIN(w->s, "bravo", "bmgr", "wrong-password-bravo", 401, NULL);
	}
	return r;
}

static void test_query_is_tenant_scoped(void **state)
{
	struct it_world *w = *state;
	struct it_response *r = it_get(w->s, &w->amgr, "/api/v1/audit?limit=1000");
	json_t *ev;
	size_t i;

	IT_ASSERT_STATUS(r, 200);
	assert_true(json_array_size(json_object_get(r->json, "events")) > 3);
	json_array_foreach(json_object_get(r->json, "events"), i, ev) {
		const char *actor = json_string_value(json_object_get(json_object_get(ev, "actor"), "name"));
		const char *target = json_string_value(json_object_get(ev, "target"));

		assert_string_not_equal(actor, "bmgr");
		assert_null(strstr(target, "bmgr"));
		assert_null(strstr(target, "bravo"));
	}
	assert_null(strstr(r->body, "bravo"));
	it_response_free(r);
	/* bravo's manager sees bravo's failed login, alpha's does not, with any filter */
	r = it_get(w->s, &w->bmgr, "/api/v1/audit?result=failure&category=authentication");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "events")), 1);
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/audit?result=failure&category=authentication");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "events")), 0);
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/audit?actor=bmgr");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "events")), 0);
	it_response_free(r);
	/* paging: after= is a seq within one's own chain only */
	r = it_get(w->s, &w->amgr, "/api/v1/audit?limit=2");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "events")), 2);
	assert_true(json_is_integer(json_object_get(r->json, "next_after")));
	it_response_free(r);
	/* newest first (the portal's Logs page): pages by before=, the same records reversed */
	{
		struct it_response *all = it_get(w->s, &w->amgr, "/api/v1/audit?limit=1000");
		json_t *asc = json_object_get(all->json, "events");
		size_t n = json_array_size(asc), k;
		json_int_t before;
		char path[96];

		IT_ASSERT_STATUS(all, 200);
		r = it_get(w->s, &w->amgr, "/api/v1/audit?order=newest&limit=2");
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(json_array_size(json_object_get(r->json, "events")), 2);
		assert_null(json_object_get(r->json, "next_after"));
		for (k = 0; k < 2; k++)
			assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), k), "seq")),
					 json_integer_value(json_object_get(json_array_get(asc, n - 1 - k), "seq")));
		before = json_integer_value(json_object_get(r->json, "next_before"));
		assert_int_equal(before, json_integer_value(json_object_get(json_array_get(asc, n - 2), "seq")));
		it_response_free(r);
		snprintf(path, sizeof(path), "/api/v1/audit?order=newest&limit=1000&before=%lld", (long long)before);
		r = it_get(w->s, &w->amgr, path);
		IT_ASSERT_STATUS(r, 200);
		/* the rest of the chain, newest first */
		assert_int_equal(json_array_size(json_object_get(r->json, "events")), n - 2);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0), "seq")),
				 before - 1);
		assert_true(json_is_null(json_object_get(r->json, "next_before")));
		it_response_free(r);
		it_response_free(all);
	}
}

static void test_users_cannot_read_the_log(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	json_t *ev;
	size_t i;

	r = it_get(w->s, &w->auser, "/api/v1/audit");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(w->s, &w->auser, "/api/v1/audit/export?format=csv");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(w->s, NULL, "/api/v1/audit");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	/* own sign-ins only */
	r = it_get(w->s, &w->auser, "/api/v1/me/logins");
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_array_size(json_object_get(r->json, "logins")) >= 1);
	json_array_foreach(json_object_get(r->json, "logins"), i, ev)
		assert_string_equal(json_string_value(json_object_get(ev, "source_ip")), "127.0.0.1");
	assert_null(strstr(r->body, "amgr"));
	it_response_free(r);
	/* a manager's own logins do not include bravo's failed one */
	r = it_get(w->s, &w->bmgr, "/api/v1/me/logins");
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, "\"failure\""));
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/me/logins");
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(r->body, "\"failure\""));
	it_response_free(r);
}

static void test_bad_parameters(void **state)
{
	struct it_world *w = *state;
	static const char *const bad[] = {
		"/api/v1/audit?category=bogus", "/api/v1/audit?result=maybe", "/api/v1/audit?limit=0",
		"/api/v1/audit?limit=1001", "/api/v1/audit?limit=ten", "/api/v1/audit?after=-1",
		"/api/v1/audit?from=yesterday", "/api/v1/audit?to=2026-13-01T00:00:00Z",
		"/api/v1/audit?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
		"/api/v1/audit/export?format=xml", "/api/v1/audit/export?from=2026-11-01",
		"/api/v1/me/logins?limit=100000", "/api/v1/audit?order=random",
		"/api/v1/audit?before=5", "/api/v1/audit?order=newest&before=0",
		"/api/v1/audit?order=newest&after=3",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct it_response *r = it_get(w->s, &w->amgr, bad[i]);

		if (r->status != 400 && !(i == 10 && r->status == 200))
			print_error("%s answered %ld\n", bad[i], r->status);
		if (i != 10)   /* a plain date is a valid from */
			IT_ASSERT_PROBLEM(r, 400, "invalid-parameter");
		it_response_free(r);
	}
}

static void test_export_verifies_offline(void **state)
{
	struct it_world *w = *state;
	struct it_response *r, *pk;
	char path[IT_STR + 32], *out = NULL, *err = NULL, *p;
	const char *key;
	FILE *f;
	int status;

	pk = it_get(w->s, NULL, "/api/v1/audit/public-key");
	IT_ASSERT_STATUS(pk, 200);
	key = it_json_str(pk->json, "public_key");
	assert_non_null(key);
	assert_int_equal(strlen(key), 64);

	r = it_get(w->s, &w->amgr, "/api/v1/audit/export?format=jsonl");
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "application/x-ndjson"));
	assert_null(strstr(r->body, "bravo"));
	assert_null(strstr(r->body, "bmgr"));
	snprintf(path, sizeof(path), "%s/alpha.jsonl", w->s->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	{
		const char *argv[] = { KURA_BIN, "audit", "verify", path, "--key", key, NULL };

		status = it_run(argv, 60, &out, &err);
		if (status != 0)
			print_error("verify: %s %s\n", out ? out : "", err ? err : "");
		assert_int_equal(status, 0);
		assert_non_null(strstr(out, "OK:"));
		free(out);
		free(err);
	}
	/* one byte changed in the first record: fails at seq 1 */
	p = strstr(r->body, "\"seq\":1,");
	assert_non_null(p);
	p = strstr(p, "\"action\":\"") + 10;
	*p = *p == 'x' ? 'y' : 'x';
	f = fopen(path, "w");
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	{
		const char *argv[] = { KURA_BIN, "audit", "verify", path, "--key", key, NULL };

		status = it_run(argv, 60, &out, &err);
		assert_int_equal(status, 1);
		assert_non_null(strstr(out, "FAILED at record seq 1"));
		free(out);
		free(err);
	}
	it_response_free(r);
	it_response_free(pk);
	/* in place, through the management socket */
	assert_int_equal(it_admin(w->s, NULL, "audit", "verify", "alpha", NULL), 0);
	assert_int_equal(it_admin(w->s, NULL, "audit", "verify", "provider", NULL), 0);
	assert_int_equal(it_admin(w->s, NULL, "audit", "public-key", NULL), 0);
}

static void test_csv_export(void **state)
{
	struct it_world *w = *state;
	struct it_response *r = it_get(w->s, &w->amgr, "/api/v1/audit/export?format=csv&category=authentication");

	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "text/csv"));
	assert_memory_equal(r->body, "\xEF\xBB\xBF\"seq\"", 8);
	assert_non_null(strstr(r->body, "+09:00\""));
	assert_null(strstr(r->body, "\"operation\""));
	assert_null(strstr(r->body, "bmgr"));
	assert_non_null(strstr(r->headers, "attachment; filename=\"kura-audit-alpha-"));
	it_response_free(r);
}

static void restart_at(struct it_server *s, const char *offset_s)
{
	setenv("KURA_TEST_CLOCK_OFFSET_S", offset_s, 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
}

/* seq of the first record the manager can read, and how many audit.prune records there are */
static void first_seq_and_prunes(struct it_server *s, const struct it_session *mgr, long *ret_first,
				 long *ret_prunes)
{
	struct it_response *r = it_get(s, mgr, "/api/v1/audit?limit=1");

	IT_ASSERT_STATUS(r, 200);
	*ret_first = (long)json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0),
							       "seq"));
	it_response_free(r);
	r = it_get(s, mgr, "/api/v1/audit?action=audit.prune&limit=1000");
	IT_ASSERT_STATUS(r, 200);
	*ret_prunes = (long)json_array_size(json_object_get(r->json, "events"));
	it_response_free(r);
}

/* Retention end to end (F4): records outlive 30 days and are pruned after the 90 days of
 * the default, by the server's own worker, with the chain still verifiable in place. Time
 * moves by the test clock at restarts; the worker prunes when it starts. */
static void test_retention_expiry(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	long first, last, prunes, i;
	json_t *j = NULL;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", "Retention-manager-pass-1", &mgr);
	IT_ASSERT_LOGIN(s, "alpha", "boss", "not-the-password-000", 401, NULL);
	r = it_get(s, &mgr, "/api/v1/audit?limit=1000");
	IT_ASSERT_STATUS(r, 200);
	last = (long)json_integer_value(json_object_get(
		json_array_get(json_object_get(r->json, "events"), json_array_size(json_object_get(r->json, "events")) - 1),
		"seq"));
	it_response_free(r);
	first_seq_and_prunes(s, &mgr, &first, &prunes);
	assert_true(first >= 1 && first < last);

	/* 30 days on: everything is kept */
	restart_at(s, "2592000");
	IT_ASSERT_LOGIN(s, "alpha", "boss", "Retention-manager-pass-1", 201, &mgr);
	first_seq_and_prunes(s, &mgr, &i, &prunes);
	assert_int_equal(i, first);
	assert_int_equal(prunes, 0);

	/* 100 days on: the old records go (polled: the worker runs beside the listener) */
	restart_at(s, "8640000");
	IT_ASSERT_LOGIN(s, "alpha", "boss", "Retention-manager-pass-1", 201, &mgr);
	for (i = 0; i < IT_WAIT_S * 10; i++) {   /* a poll */
		first_seq_and_prunes(s, &mgr, &first, &prunes);
		if (first > last)
			break;
		usleep(100 * 1000);
	}
	assert_true(first > last);
	assert_true(prunes >= 1);
	/* what is left still verifies from the kept checkpoint */
	assert_int_equal(it_admin(s, &j, "audit", "verify", "alpha", NULL), 0);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_is_tenant_scoped),
		cmocka_unit_test(test_users_cannot_read_the_log),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_export_verifies_offline),
		cmocka_unit_test(test_csv_export),
	};
	const struct CMUnitTest own_server[] = {
		cmocka_unit_test_setup_teardown(test_retention_expiry, it_setup_server, it_teardown_server),
	};
	int failed = cmocka_run_group_tests(tests, setup_audit_world, it_teardown_world);

	return failed + cmocka_run_group_tests(own_server, NULL, NULL);
}
