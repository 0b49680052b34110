/*
 * Integration: tenant isolation on the public API. Two tenants on one real server: alpha
 * (manager amgr, user shared) and bravo (manager bmgr, users bob and shared; "shared" exists
 * in both). For alpha's manager every account URL naming a bravo account answers 404
 * not-found exactly as for a login that exists nowhere, and bravo's accounts are unchanged
 * as bravo's manager sees them; lists, /tenant and /me show one tenant only; credentials,
 * CSRF tokens, lockouts and WebDAV locks (GET/DELETE /api/v1/locks) do not cross tenants;
 * the same login in two tenants is two accounts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define A_MGR_PW "Alpha-manager-pass-1"
#define A_SHARED_PW "Alpha-shared-pass-2"
#define B_MGR_PW "Bravo-manager-pass-3"
#define B_BOB_PW "Bravo-bob-pass-4"
#define B_SHARED_PW "Bravo-shared-pass-5"

struct world {
	struct it_server *s;
	struct it_session amgr, ashared, bmgr, bbob, bshared;
};

static int setup_world(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->s = it_server_start(NULL);
	if (!w->s) {
		free(w);
		return -1;
	}
	*state = w;
	it_create_tenant(w->s, "alpha", NULL);
	it_create_tenant(w->s, "bravo", NULL);
	it_create_manager(w->s, "alpha", "amgr", A_MGR_PW, &w->amgr);
	it_create_manager(w->s, "bravo", "bmgr", B_MGR_PW, &w->bmgr);
	it_create_account(w->s, &w->amgr, "alpha", "shared", "user", A_SHARED_PW, &w->ashared);
	it_create_account(w->s, &w->bmgr, "bravo", "bob", "user", B_BOB_PW, &w->bbob);
	it_create_account(w->s, &w->bmgr, "bravo", "shared", "user", B_SHARED_PW, &w->bshared);
	return 0;
}

static int teardown_world(void **state)
{
	struct world *w = *state;
	int status = it_server_stop(w->s);

	free(w);
	return status == 0 ? 0 : -1;
}

/* The account as sess's manager sees it (a new reference). */
static json_t *account_as(struct it_server *s, const struct it_session *sess, const char *login)
{
	char path[128];
	struct it_response *r;
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/accounts/%s", login);
	r = it_get(s, sess, path);
	IT_ASSERT_STATUS(r, 200);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

static void expect_404(struct it_server *s, const struct it_session *sess, const char *method,
		       const char *path, json_t *body)
{
	struct it_response *r = it_send(s, sess, method, path, body);

	if (r->status != 404)
		print_error("%s %s\n", method, path);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
}

/* Every account URL alpha's manager could aim at login. */
static void attack_account(struct it_server *s, const struct it_session *sess, const char *login)
{
	char path[128], unlock[160];

	snprintf(path, sizeof(path), "/api/v1/accounts/%s", login);
	snprintf(unlock, sizeof(unlock), "%s/unlock", path);
	expect_404(s, sess, "GET", path, NULL);
	expect_404(s, sess, "PATCH", path, json_pack("{s:s}", "display_name", "owned by alpha"));
	expect_404(s, sess, "PATCH", path, json_pack("{s:s}", "status", "suspended"));
	expect_404(s, sess, "PATCH", path, json_pack("{s:s}", "role", "manager"));
	expect_404(s, sess, "PATCH", path, json_pack("{s:s}", "email", "thief@alpha.example.com"));
	expect_404(s, sess, "POST", unlock, NULL);
	expect_404(s, sess, "DELETE", path, NULL);
}

static void test_other_tenants_accounts_do_not_exist(void **state)
{
	struct world *w = *state;
	static const char *const b_logins[] = { "bmgr", "bob" };
	size_t i;

	for (i = 0; i < 2; i++) {
		json_t *before = account_as(w->s, &w->bmgr, b_logins[i]), *after;

		attack_account(w->s, &w->amgr, b_logins[i]);
		after = account_as(w->s, &w->bmgr, b_logins[i]);
		if (!json_equal(before, after)) {
			char *a = json_dumps(before, JSON_SORT_KEYS);
			char *b = json_dumps(after, JSON_SORT_KEYS);

			print_error("bravo's %s changed:\n%s\n%s\n", b_logins[i], a, b);
			free(a);
			free(b);
			fail();
		}
		json_decref(before);
		json_decref(after);
	}
	/* the same answers as for a login that exists nowhere */
	attack_account(w->s, &w->amgr, "nosuchlogin");

	/* bravo's people still work */
	IT_EXPECT_GET(w->s, &w->bbob, "/api/v1/me", 200);
	IT_EXPECT_GET(w->s, &w->bmgr, "/api/v1/accounts", 200);
	IT_ASSERT_LOGIN(w->s, "bravo", "bob", B_BOB_PW, 201, NULL);
	IT_ASSERT_LOGIN(w->s, "bravo", "bmgr", B_MGR_PW, 201, NULL);
}

static void test_same_login_two_accounts(void **state)
{
	struct world *w = *state;
	json_t *b_before = account_as(w->s, &w->bmgr, "shared"), *b_after, *a;
	struct it_response *r;

	/* alpha's manager changes alpha's "shared" only */
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/accounts/shared",
		    json_pack("{s:s}", "display_name", "Alpha's shared"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	a = account_as(w->s, &w->amgr, "shared");
	assert_string_equal(it_json_str(a, "display_name"), "Alpha's shared");
	json_decref(a);
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/accounts/shared",
		    json_pack("{s:s}", "status", "suspended"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->ashared, "/api/v1/me", 401);
	IT_EXPECT_GET(w->s, &w->bshared, "/api/v1/me", 200);
	b_after = account_as(w->s, &w->bmgr, "shared");
	assert_true(json_equal(b_before, b_after));
	json_decref(b_before);
	json_decref(b_after);
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/accounts/shared",
		    json_pack("{s:s}", "status", "active"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	IT_ASSERT_LOGIN(w->s, "alpha", "shared", A_SHARED_PW, 201, &w->ashared);

	/* alpha may create its own "bob"; bravo's bob is untouched, also by its deletion */
	r = it_send(w->s, &w->amgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "bob", "email", "bob@alpha.example.com",
			      "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "status"), "invited");
	it_response_free(r);
	r = it_send(w->s, &w->amgr, "DELETE", "/api/v1/accounts/bob", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	a = account_as(w->s, &w->bmgr, "bob");
	assert_string_equal(it_json_str(a, "status"), "active");
	assert_string_equal(it_json_str(a, "email"), "bob@bravo.example.com");
	json_decref(a);
	IT_EXPECT_GET(w->s, &w->bbob, "/api/v1/me", 200);
}

/* The logins in sess's account list (limit 1000) as one comma-framed string ",a,b,". */
static char *list_logins(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_get(s, sess, "/api/v1/accounts?limit=1000");
	size_t i, cap = 4096, len = 1;
	char *out = calloc(1, cap);
	json_t *items;

	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_true(json_is_array(items));
	out[0] = ',';
	for (i = 0; i < json_array_size(items); i++) {
		const char *l = it_json_str(json_array_get(items, i), "login");

		assert_non_null(l);
		assert_true(len + strlen(l) + 2 < cap);
		len += (size_t)snprintf(out + len, cap - len, "%s,", l);
	}
	it_response_free(r);
	return out;
}

static void test_views_show_one_tenant(void **state)
{
	struct world *w = *state;
	struct it_response *r;
	char *a = list_logins(w->s, &w->amgr), *b = list_logins(w->s, &w->bmgr);

	assert_non_null(strstr(a, ",amgr,"));
	assert_non_null(strstr(a, ",shared,"));
	assert_null(strstr(a, ",bmgr,"));
	assert_null(strstr(a, ",bob,"));
	assert_non_null(strstr(b, ",bmgr,"));
	assert_non_null(strstr(b, ",bob,"));
	assert_null(strstr(b, ",amgr,"));
	free(a);
	free(b);

	r = it_get(w->s, &w->amgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "code"), "alpha");
	assert_null(strstr(r->body, "bravo"));
	it_response_free(r);
	r = it_get(w->s, &w->bmgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "code"), "bravo");
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "code"), "alpha");
	it_response_free(r);
	r = it_get(w->s, &w->bshared, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "code"), "bravo");
	it_response_free(r);
}

static void test_credentials_and_tokens_do_not_cross(void **state)
{
	struct world *w = *state;
	struct it_request req = { .method = "POST", .path = "/api/v1/accounts" };
	struct it_response *r;
	json_t *body;

	IT_ASSERT_LOGIN(w->s, "bravo", "amgr", A_MGR_PW, 401, NULL);
	IT_ASSERT_LOGIN(w->s, "alpha", "bmgr", B_MGR_PW, 401, NULL);
	IT_ASSERT_LOGIN(w->s, "bravo", "shared", A_SHARED_PW, 401, NULL);
	IT_ASSERT_LOGIN(w->s, "alpha", "shared", B_SHARED_PW, 401, NULL);

	/* alpha's cookie with bravo's CSRF token */
	body = json_pack("{s:s, s:s, s:s}", "login", "mixer", "email", "mixer@alpha.example.com",
			 "role", "user");
	req.json = body;
	req.cookie = w->amgr.token;
	req.csrf = w->bmgr.csrf;
	r = it_request(w->s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	/* bravo's cookie with alpha's */
	req.cookie = w->bmgr.token;
	req.csrf = w->amgr.csrf;
	r = it_request(w->s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	json_decref(body);
	IT_EXPECT_GET(w->s, &w->amgr, "/api/v1/accounts/mixer", 404);
	IT_EXPECT_GET(w->s, &w->bmgr, "/api/v1/accounts/mixer", 404);
}

static void test_lockout_is_per_tenant(void **state)
{
	struct world *w = *state;
	json_t *j = NULL, *acct;
	int i;

	for (i = 0; i < 5; i++)
		IT_ASSERT_LOGIN(w->s, "bravo", "shared", "wrong-password-42", 401, NULL);
	IT_ASSERT_LOGIN(w->s, "bravo", "shared", B_SHARED_PW, 401, NULL);
	/* alpha's "shared" is not locked */
	IT_ASSERT_LOGIN(w->s, "alpha", "shared", A_SHARED_PW, 201, NULL);
	acct = account_as(w->s, &w->amgr, "shared");
	assert_true(json_is_false(json_object_get(acct, "locked")));
	json_decref(acct);

	/* unlocking alpha's "shared" (by operator or alpha's manager) leaves bravo's locked */
	assert_int_equal(it_admin(w->s, &j, "account", "unlock", "alpha", "shared", NULL), 0);
	json_decref(j);
	expect_404(w->s, &w->amgr, "POST", "/api/v1/accounts/bob/unlock", NULL);
	IT_ASSERT_LOGIN(w->s, "bravo", "shared", B_SHARED_PW, 401, NULL);
	acct = account_as(w->s, &w->bmgr, "shared");
	assert_true(json_is_true(json_object_get(acct, "locked")));
	json_decref(acct);

	assert_int_equal(it_admin(w->s, &j, "account", "unlock", "bravo", "shared", NULL), 0);
	json_decref(j);
	IT_ASSERT_LOGIN(w->s, "bravo", "shared", B_SHARED_PW, 201, &w->bshared);
}

/* WebDAV locks (GET/DELETE /api/v1/locks): bravo's manager neither sees nor breaks a lock
 * held in alpha, and alpha's lock is unchanged afterwards. */
static void test_locks_do_not_cross(void **state)
{
	struct world *w = *state;
	static const char lockinfo[] = "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
				       "<D:locktype><D:write/></D:locktype></D:lockinfo>";
	char auth[IT_STR * 2], secret[IT_STR], token[IT_STR], path[IT_STR * 2];
	const char *headers[3] = { auth, "Depth: 0", NULL };
	struct it_response *r;
	const char *h;

	r = it_send(w->s, &w->ashared, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "dav", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	it_basic_auth(auth, sizeof(auth), "shared@alpha", secret);
	r = it_request(w->s, &(struct it_request){ .method = "LOCK", .path = "/dav/alpha/locked.txt",
						   .body = lockinfo, .body_len = strlen(lockinfo),
						   .content_type = "application/xml", .headers = headers });
	assert_true(r->status == 200 || r->status == 201);
	h = strcasestr(r->headers, "Lock-Token: <");
	assert_non_null(h);
	snprintf(token, sizeof(token), "%.*s", (int)strcspn(h + 13, ">"), h + 13);
	it_response_free(r);

	r = it_get(w->s, &w->bmgr, "/api/v1/locks");
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(r->body, token));
	assert_null(strstr(r->body, "locked.txt"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/locks/%s", token);
	r = it_send(w->s, &w->bmgr, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	/* still there for alpha */
	r = it_get(w->s, &w->amgr, "/api/v1/locks");
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, token));
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_tenants_accounts_do_not_exist),
		cmocka_unit_test(test_same_login_two_accounts),
		cmocka_unit_test(test_views_show_one_tenant),
		cmocka_unit_test(test_credentials_and_tokens_do_not_cross),
		cmocka_unit_test(test_lockout_is_per_tenant),
		cmocka_unit_test(test_locks_do_not_cross),
	};

	return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
