/*
 * Integration: the stages of dispatch() (src/http/server.c) refuse in their fixed order:
 * parse → route → body → authenticate → gates (allowlist and app-password scope, CSRF,
 * password change, MFA) → authorize → handler. Each request here fails two stages at once
 * and must get the earlier stage's answer: a bad path before an unknown route, an unknown
 * route or method before a bad body, a bad body before a missing session, an app password on
 * a session-management route before the public login, a missing session before CSRF, CSRF
 * before the password-change gate and before the permission, the MFA gate before the
 * permission. On the demo server (its admin must change the password first) with a second
 * tenant whose users need MFA.
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
#define A_USER_PW "Alpha-user-pass-2"

static void expect_at(struct it_server *s, const struct it_request *req, long status, const char *type,
		      const char *file, int line)
{
	struct it_response *r = it_request(s, req);

	if (r->status != status)
		print_error("%s %s: %ld %s\n", req->method, req->path, r->status, r->body ? r->body : "");
	it_assert_problem_at(r, status, type, file, line);
	it_response_free(r);
}
#define EXPECT(s, req, st, type) expect_at(s, req, st, type, __FILE__, __LINE__)

static void test_stage_order(void **state)
{
	struct it_server *s = *state;
	struct it_session admin, amgr, auser;
	char basic[IT_STR * 2];
	const char *basic_h[] = { basic, NULL };
	static const char account[] = "{\"login\":\"eve\",\"email\":\"eve@alpha.example.com\",\"role\":\"user\"}";
	struct it_response *r;

	/* parse before route: a bad path that matches nothing is a bad path */
	EXPECT(s, (&(struct it_request){ .method = "GET", .path = "/nosuch/a%00b", .path_as_is = true }), 400,
	       "invalid-path");
	/* route before body: an unknown path, or a method the path lacks, with a bad body */
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/nosuch", .body = "{", .body_len = 1 }),
	       404, "not-found");
	EXPECT(s, (&(struct it_request){ .method = "PUT", .path = "/api/v1/me", .body = "{", .body_len = 1 }), 405,
	       "method-not-allowed");
	/* body before authenticate: no session, and the body is wrong */
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = "{", .body_len = 1 }),
	       400, "invalid-json");
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .content_type = "text/plain" }),
	       415, "unsupported-media-type");
	EXPECT(s, (&(struct it_request){ .method = "GET", .path = "/api/v1/me", .body = "x", .body_len = 1,
					 .content_type = "text/plain" }),
	       415, "unsupported-media-type");
	/* authenticate: no app password on the login route, before it runs as a public route */
	it_basic_auth(basic, sizeof(basic), "admin@demo", "not-an-app-password");
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/session", .body = "{}", .body_len = 2,
					 .headers = basic_h }),
	       403, "app-password-not-allowed");
	/* authenticate before the gates: no session and no CSRF token */
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account) }),
	       401, "authentication-required");

	/* CSRF before the password-change gate (the demo admin must change its password) */
	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 201, &admin);
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .cookie = admin.token }),
	       403, "csrf-token-invalid");
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .cookie = admin.token, .csrf = admin.csrf }),
	       403, "password-change-required");

	/* CSRF before the permission: a user may not create accounts */
	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "amgr", A_MGR_PW, &amgr);
	it_create_account(s, &amgr, "alpha", "auser", "user", A_USER_PW, &auser);
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .cookie = auser.token }),
	       403, "csrf-token-invalid");
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .cookie = auser.token, .csrf = auser.csrf }),
	       403, "permission-denied");
	/* the MFA gate before the permission: users of alpha now need a second factor */
	r = it_send(s, &amgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "required", "password", A_MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	EXPECT(s, (&(struct it_request){ .method = "GET", .path = "/api/v1/accounts", .cookie = auser.token }), 403,
	       "mfa-enrolment-required");
	EXPECT(s, (&(struct it_request){ .method = "POST", .path = "/api/v1/accounts", .body = account,
					 .body_len = strlen(account), .cookie = auser.token, .csrf = auser.csrf }),
	       403, "mfa-enrolment-required");
	/* ... which lets through what enrolling needs */
	IT_EXPECT_GET(s, &auser, "/api/v1/me/mfa", 200);
	/* nothing of the refused requests happened */
	IT_EXPECT_GET(s, &amgr, "/api/v1/accounts/eve", 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stage_order, it_setup_demo_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
