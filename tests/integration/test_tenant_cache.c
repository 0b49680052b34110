/*
 * The per-process copy of a tenant's settings (tenant/settings.h, issue 11) against a real
 * `kura serve`: each setting the request checks (the WebDAV feature, the source-IP
 * allowlist and its ranges, the MFA policy, the client-certificate policy) is changed by
 * ANOTHER process on its own connection to the database (this test, with SQLite's C API or
 * libpq: neither the server nor its management socket takes part), right after a request
 * that filled the copy; the very next request must obey the new value, and obey it again
 * when it is put back. Without the generation's triggers (migration 0034) the server would
 * answer from its copy. A change to one tenant leaves the other's answers alone, and a
 * cookie session (session_lookup's generation) is held to the new allowlist as well, and
 * a contract ended by another process refuses the next request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PW "Cache-test-password-1"

struct env {
	struct it_server *s;
	char alpha[IT_STR], beta[IT_STR];     /* app passwords of alpha's and beta's managers */
	struct it_session alice, bert;
	long alpha_id, beta_id;
};

static struct env *E;

static void app_password(const struct it_session *sess, char *ret)
{
	struct it_response *r = it_send(E->s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", "cache", "scope", "read-write"));

	IT_ASSERT_STATUS(r, 201);
	snprintf(ret, IT_STR, "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
}

/* The status of one WebDAV request of tenant's manager with its app password. */
static long dav(const char *method, const char *tenant, const char *login, const char *secret, const char *body)
{
	char auth[IT_STR * 4], path[IT_STR];
	const char *headers[] = { auth, NULL };
	struct it_response *r;
	long st;

	it_basic_auth(auth, sizeof(auth), login, secret);
	snprintf(path, sizeof(path), "/dav/%s/note.txt", tenant);
	r = it_request(E->s, &(struct it_request){ .method = method, .path = path, .body = body,
						  .body_len = body ? strlen(body) : 0, .content_type = "",
						  .headers = headers });
	st = r->status;
	it_response_free(r);
	return st;
}

#define ALPHA_GET() dav("GET", "alpha", "alice", E->alpha, NULL)
#define BETA_GET() dav("GET", "beta", "bert", E->beta, NULL)

/* One statement on the server's database from this process's own connection. */
static void other_process(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(it_db_exec_blob(E->s, sql, NULL, 0), 0);
}

static long gen(long tenant_id)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT settings_gen FROM tenants WHERE id = %ld", tenant_id);
	return it_db_count(E->s, sql);
}

static int setup(void **state)
{
	E = calloc(1, sizeof(*E));
	E->s = it_server_start(&(struct it_options){ 0 });
	if (!E->s)
		return -1;
	it_create_tenant(E->s, "alpha", NULL);
	it_create_tenant(E->s, "beta", NULL);
	it_create_manager(E->s, "alpha", "alice", PW, &E->alice);
	it_create_manager(E->s, "beta", "bert", PW, &E->bert);
	app_password(&E->alice, E->alpha);
	app_password(&E->bert, E->beta);
	E->alpha_id = it_db_count(E->s, "SELECT id FROM tenants WHERE code = 'alpha'");
	E->beta_id = it_db_count(E->s, "SELECT id FROM tenants WHERE code = 'beta'");
	if (E->alpha_id <= 0 || E->beta_id <= 0)
		return -1;
	*state = E;
	return 0;
}

static int teardown(void **state)
{
	int status = it_server_stop(E->s);

	(void)state;
	free(E);
	return status == 0 ? 0 : -1;
}

static void test_other_process_changes(void **state)
{
	long g;

	(void)state;
	assert_int_equal(dav("PUT", "alpha", "alice", E->alpha, "alpha's"), 201);
	assert_int_equal(dav("PUT", "beta", "bert", E->beta, "beta's"), 201);
	assert_int_equal(ALPHA_GET(), 200);
	assert_int_equal(BETA_GET(), 200);

	/* the WebDAV feature (tenant_features): off, the next GET is refused; beta's is not */
	g = gen(E->alpha_id);
	other_process("UPDATE tenant_features SET webdav = 0 WHERE tenant_id = %ld", E->alpha_id);
	assert_true(gen(E->alpha_id) != g);   /* the trigger, in the writer's transaction */
	assert_int_equal(ALPHA_GET(), 403);
	assert_int_equal(BETA_GET(), 200);
	assert_int_equal(ALPHA_GET(), 403);
	other_process("UPDATE tenant_features SET webdav = 1 WHERE tenant_id = %ld", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 200);

	/* the allowlist (tenant_ip_ranges; a manager is always under it): loopback is outside */
	assert_int_equal(ALPHA_GET(), 200);
	other_process("INSERT INTO tenant_ip_ranges (tenant_id, position, cidr) VALUES (%ld, 0, '192.0.2.0/24')",
		      E->alpha_id);
	assert_int_equal(ALPHA_GET(), 403);
	assert_int_equal(BETA_GET(), 200);
	other_process("DELETE FROM tenant_ip_ranges WHERE tenant_id = %ld", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 200);

	/* the MFA policy (mfa_policies): required for managers; the app password was made by a
	 * session opened with the password alone */
	other_process("INSERT INTO mfa_policies (tenant_id, managers, users, updated_us) VALUES (%ld, 'required',"
		      " 'optional', 1)", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 403);
	other_process("DELETE FROM mfa_policies WHERE tenant_id = %ld", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 200);

	/* the client-certificate policy (tenant_client_certs): every account needs one, and
	 * this request has none */
	other_process("INSERT INTO tenant_client_certs (tenant_id, policy) VALUES (%ld, 'all')", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 401);
	assert_int_equal(BETA_GET(), 200);
	other_process("UPDATE tenant_client_certs SET policy = 'off' WHERE tenant_id = %ld", E->alpha_id);
	assert_int_equal(ALPHA_GET(), 200);

	/* the allowlist's scope (tenant_security) for users: set and unset, answers unchanged
	 * for the manager, but the generation moves */
	g = gen(E->alpha_id);
	other_process("INSERT INTO tenant_security (tenant_id, ip_apply_to_all, updated_us) VALUES (%ld, 1, 1)",
		      E->alpha_id);
	assert_true(gen(E->alpha_id) != g);
	assert_int_equal(ALPHA_GET(), 200);

	/* a cookie session: its next request meets the new list (and the session ends) */
	IT_EXPECT_GET(E->s, &E->alice, "/api/v1/me", 200);
	other_process("INSERT INTO tenant_ip_ranges (tenant_id, position, cidr) VALUES (%ld, 0, '192.0.2.0/24')",
		      E->alpha_id);
	IT_EXPECT_GET(E->s, &E->alice, "/api/v1/me", 403);
	IT_EXPECT_GET(E->s, &E->bert, "/api/v1/me", 200);
	assert_int_equal(BETA_GET(), 200);

	/* the end of a contract is the tenant's row, read on every request: beta's next
	 * request is refused, its settings copy notwithstanding */
	other_process("UPDATE tenants SET status = 'terminated' WHERE id = %ld", E->beta_id);
	assert_int_equal(BETA_GET(), 401);
	IT_EXPECT_GET(E->s, &E->bert, "/api/v1/me", 401);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_process_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
