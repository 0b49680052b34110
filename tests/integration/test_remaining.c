/*
 * Integration: what a refused login says beside the refusal (issue 15, docs/security.md
 * "Remaining tries"): the wrong passwords left before the lock ("remaining") and the end of
 * the lock ("locked_until"), without telling which login names exist. For the same sequence
 * of wrong passwords an active account, an invited account without a password yet, a
 * suspended account (with its right password), a login name without an account and a tenant
 * code that does not exist answer the same status, type, members and counts, and lock at
 * the same attempt. The second step: remaining after wrong codes, "locked_until" once
 * locked, "challenge-expired" for an expired challenge (the test clock), and the recovery
 * codes left after a login with one. The invitation and reset links: why a link is refused
 * ("used", "expired" by the test clock, "invalid"), the reset link checked before a password
 * is typed, and the weak-password "problem" slug the pages translate.
 */
#include <errno.h>
#include <setjmp.h>
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

#define MGR_PW "Remaining-manager-pw-1"
#define USER_PW "Remaining-user-pass-22"
#define WRONG_PW "not-the-password-4711"

/* One answer, reduced to what a client can compare: status, type, members, remaining and
 * whether locked_until is there (and its value for a plausibility check). */
struct answer {
	long status;
	char type[96];
	char members[256];
	long long remaining;
	char locked_until[64];
};

static void login_from(struct it_server *s, const char *iface, const char *tenant, const char *login,
		       const char *password, struct answer *a)
{
	json_t *body = json_pack("{s:s, s:s, s:s}", "tenant", tenant, "login", login, "password", password);
	struct it_request q = { .method = "POST", .path = "/api/v1/session", .json = body, .interface = iface };
	struct it_response *r = it_request(s, &q);
	const char *k;
	json_t *v;

	json_decref(body);
	memset(a, 0, sizeof(*a));
	assert_non_null(r);
	a->status = r->status;
	a->remaining = -1;
	if (r->json) {
		json_object_foreach(r->json, k, v) {
			if (!strcmp(k, "request_id"))
				continue;   /* differs on every answer */
			strncat(a->members, k, sizeof(a->members) - strlen(a->members) - 2);
			strcat(a->members, ",");
		}
		if (it_json_str(r->json, "type"))
			snprintf(a->type, sizeof(a->type), "%s", it_json_str(r->json, "type"));
		if (json_is_integer(json_object_get(r->json, "remaining")))
			a->remaining = json_integer_value(json_object_get(r->json, "remaining"));
		if (it_json_str(r->json, "locked_until"))
			snprintf(a->locked_until, sizeof(a->locked_until), "%s", it_json_str(r->json, "locked_until"));
	}
	it_response_free(r);
}

/* Seconds since 1970 of an RFC 3339 UTC time ("2026-12-01T03:15:00Z", fraction ignored). */
static long long epoch_of(const char *t)
{
	struct tm tm = { 0 };

	if (sscanf(t, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static void assert_same(const struct answer *a, const struct answer *b, const char *what)
{
	if (a->status != b->status || strcmp(a->type, b->type) || strcmp(a->members, b->members) ||
	    a->remaining != b->remaining || !*a->locked_until != !*b->locked_until)
		fail_msg("%s: %ld %s [%s] remaining %lld locked %s  vs  %ld %s [%s] remaining %lld locked %s", what,
			 a->status, a->type, a->members, a->remaining, a->locked_until, b->status, b->type,
			 b->members, b->remaining, b->locked_until);
	/* both locks end together (same duration), within a minute */
	if (*a->locked_until) {
		long long ta = epoch_of(a->locked_until), tb = epoch_of(b->locked_until);

		assert_true(ta > 0 && tb > 0);
		assert_true(ta - tb <= 60 && tb - ta <= 60);
	}
}

static void patch(struct it_server *s, const struct it_session *mgr, const char *path, json_t *body, long status)
{
	struct it_response *r = it_send(s, mgr, "PATCH", path, body);

	IT_ASSERT_STATUS(r, status);
	it_response_free(r);
}

/* Tenant alpha with lockout threshold 3: bob active, carol invited (no password), dave
 * suspended, and "nobody" without an account, each from its own address (the per-address
 * delay stays out of it). Then bravo with the default policy against a tenant code that
 * does not exist. */
static void test_known_and_unknown_alike(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bmgr;
	struct answer a[4], first;
	const char *names[4] = { "bob", "carol", "dave", "nobody" };
	const char *pws[4] = { WRONG_PW, WRONG_PW, USER_PW, WRONG_PW };   /* dave: his right one */
	const char *ifaces[4] = { "host!127.0.0.11", "host!127.0.0.12", "host!127.0.0.13", "host!127.0.0.14" };
	struct it_response *r;
	int i, n;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	patch(s, &mgr, "/api/v1/tenant/security", json_pack("{s:i}", "lockout_threshold", 3), 200);
	it_create_account(s, &mgr, "alpha", "bob", "user", USER_PW, NULL);
	it_create_account(s, &mgr, "alpha", "dave", "user", USER_PW, NULL);
	patch(s, &mgr, "/api/v1/accounts/dave", json_pack("{s:s}", "status", "suspended"), 200);
	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "carol", "email", "carol@example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);

	for (n = 1; n <= 5; n++) {
		for (i = 0; i < 4; i++)
			login_from(s, ifaces[i], "alpha", names[i], pws[i], &a[i]);
		for (i = 1; i < 4; i++)
			assert_same(&a[0], &a[i], names[i]);
		assert_int_equal(a[0].status, 401);
		assert_string_equal(a[0].type, IT_PROBLEM_PREFIX "authentication-failed");
		/* 2, 1, then locked (remaining 0 with the end of the lock), and it stays locked */
		assert_int_equal(a[0].remaining, n < 3 ? 3 - n : 0);
		assert_int_equal(*a[0].locked_until != 0, n >= 3);
	}
	/* the right password of a locked account answers the same as any other try */
	login_from(s, ifaces[0], "alpha", "bob", USER_PW, &first);
	assert_same(&first, &a[3], "bob's right password while locked");

	/* the default policy (5), an existing tenant against one that does not exist */
	it_create_tenant(s, "bravo", NULL);
	it_create_manager(s, "bravo", "erin", MGR_PW, &bmgr);
	for (n = 1; n <= 6; n++) {
		login_from(s, "host!127.0.0.21", "bravo", "erin", WRONG_PW, &a[0]);
		login_from(s, "host!127.0.0.22", "nosuchtenant", "erin", WRONG_PW, &a[1]);
		login_from(s, "host!127.0.0.23", "bravo", "nobody", WRONG_PW, &a[2]);
		assert_same(&a[0], &a[1], "unknown tenant");
		assert_same(&a[0], &a[2], "unknown login");
		assert_int_equal(a[0].remaining, n < 5 ? 5 - n : 0);
		assert_int_equal(*a[0].locked_until != 0, n >= 5);
	}
	/* the manager unlocks: the account counts from the full threshold again */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/bob/unlock", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	login_from(s, ifaces[0], "alpha", "bob", WRONG_PW, &first);
	assert_int_equal(first.remaining, 2);
	assert_int_equal(*first.locked_until, 0);
}

/* The second step: wrong codes with the tries left, the lock, an expired challenge, and the
 * recovery codes left after a login with one. */
static void test_second_step(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, user;
	struct it_response *r;
	char code[8], *secret, *challenge;
	const char *p;
	json_t *codes;
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "frank", "user", USER_PW, &user);
	r = it_send(s, &user, "POST", "/api/v1/me/mfa/totp", json_pack("{s:s}", "password", USER_PW));
	IT_ASSERT_STATUS(r, 201);
	secret = strdup(it_json_str(r->json, "secret"));
	it_response_free(r);
	it_totp_wait_mid_step();
	it_totp_code(secret, "now", code);
	r = it_send(s, &user, "POST", "/api/v1/me/mfa/totp/confirm", json_pack("{s:s}", "code", code));
	IT_ASSERT_STATUS(r, 200);
	codes = json_incref(json_object_get(r->json, "recovery_codes"));
	it_response_free(r);

#define STEP1() do { \
		r = it_send(s, NULL, "POST", "/api/v1/session", \
			    json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", "frank", "password", USER_PW)); \
		IT_ASSERT_STATUS(r, 202); \
		challenge = strdup(it_json_str(r->json, "challenge")); \
		it_response_free(r); \
	} while (0)

	/* a recovery code: the login says how many are left */
	STEP1();
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", challenge,
								   "recovery_code", json_string_value(json_array_get(codes, 0))));
	IT_ASSERT_STATUS(r, 201);
	assert_int_equal(json_integer_value(json_object_get(r->json, "recovery_codes_remaining")), 9);
	it_response_free(r);
	free(challenge);

	/* wrong codes: 4, 3, … left; the fifth locks */
	STEP1();
	for (i = 1; i <= 5; i++) {
		r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", challenge,
									   "otp", "000000"));
		IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
		assert_int_equal(json_integer_value(json_object_get(r->json, "remaining")), 5 - i);
		if (i < 5)
			assert_null(it_json_str(r->json, "locked_until"));
		else
			assert_non_null(it_json_str(r->json, "locked_until"));
		it_response_free(r);
	}
	free(challenge);
	/* the password step of the locked account: the same refusal, with the lock's end */
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", "frank", "password", USER_PW));
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	assert_non_null(p = it_json_str(r->json, "locked_until"));
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/frank/unlock", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* an unknown challenge, and one that expired (the clock moved past its 5 minutes) */
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s}", "challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "otp", "123456"));
	IT_ASSERT_PROBLEM(r, 401, "challenge-expired");
	it_response_free(r);
	STEP1();
	setenv("KURA_TEST_CLOCK_OFFSET_S", "400", 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	it_totp_code(secret, "now + 400 seconds", code);
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", challenge, "otp", code));
	IT_ASSERT_PROBLEM(r, 401, "challenge-expired");
	assert_string_equal(it_json_str(r->json, "field"), "challenge");
	it_response_free(r);
	free(challenge);
	json_decref(codes);
	free(secret);
#undef STEP1
}

/* Token after marker ("/invite/", "/reset/") in a mail, malloc'd. */
static char *token_after(const char *text, const char *marker)
{
	const char *p = strstr(text, marker);

	assert_non_null(p);
	p += strlen(marker);
	return strndup(p, strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
}

static void expect_gone(struct it_server *s, const char *method, const char *path, json_t *body,
			const char *type, const char *reason)
{
	struct it_response *r = it_send(s, NULL, method, path, body);

	IT_ASSERT_PROBLEM(r, 410, type);
	assert_string_equal(it_json_str(r->json, "reason"), reason);
	it_response_free(r);
}

static void test_link_reasons(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	struct it_mail *m;
	char path[256], path2[256], *tok, *old;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	expect_gone(s, "GET", "/api/v1/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
		    "invitation-invalid", "invalid");
	expect_gone(s, "GET", "/api/v1/invitations/short", NULL, "invitation-invalid", "invalid");

	/* an invitation: a weak password names its problem; accepted, the link is "used" */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "gina", "email", "gina@example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(s, "gina@example.com", 30);
	assert_non_null(m);
	tok = token_after(m->body, "/invite/");
	it_mail_free(m);
	snprintf(path, sizeof(path), "/api/v1/invitations/%s", tok);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "short"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	assert_string_equal(it_json_str(r->json, "problem"), "too-short");
	it_response_free(r);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "gina-gina-gina"));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	expect_gone(s, "GET", path, NULL, "invitation-invalid", "used");
	expect_gone(s, "POST", path, json_pack("{s:s}", "password", USER_PW), "invitation-invalid", "used");
	free(tok);

	/* another invitation, and a reset link, outlived by the clock (72 h, 30 min) */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "hank", "email", "hank@example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(s, "hank@example.com", 30);
	assert_non_null(m);
	tok = token_after(m->body, "/invite/");
	it_mail_free(m);
	snprintf(path, sizeof(path), "/api/v1/invitations/%s", tok);
	free(tok);
	IT_EXPECT_GET(s, NULL, path, 200);

	/* a reset: the link checked before the password; a newer request spends the older */
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "alpha", "login", "boss"));
	IT_ASSERT_STATUS(r, 202);
	it_response_free(r);
	m = it_wait_for_mail(s, "boss@", 30);
	assert_non_null(m);
	old = token_after(m->body, "/reset/");
	it_mail_free(m);
	snprintf(path2, sizeof(path2), "/api/v1/password-reset/%s", old);
	r = it_get(s, NULL, path2);
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(it_json_str(r->json, "expires_at"));
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "alpha", "login", "boss"));
	IT_ASSERT_STATUS(r, 202);
	it_response_free(r);
	m = it_wait_for_mail(s, "boss@", 30);
	assert_non_null(m);
	tok = token_after(m->body, "/reset/");
	it_mail_free(m);
	expect_gone(s, "GET", path2, NULL, "reset-token-invalid", "used");
	free(old);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset/short", json_pack("{s:s}", "password", USER_PW));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	assert_string_equal(it_json_str(r->json, "reason"), "invalid");
	it_response_free(r);
	snprintf(path2, sizeof(path2), "/api/v1/password-reset/%s", tok);
	free(tok);
	r = it_send(s, NULL, "POST", path2, json_pack("{s:s}", "password", "passwordpassword"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	assert_string_equal(it_json_str(r->json, "problem"), "common");
	it_response_free(r);
	IT_EXPECT_GET(s, NULL, path2, 200);   /* a weak password leaves it usable */

	setenv("KURA_TEST_CLOCK_OFFSET_S", "260000", 1);   /* 72 h and a bit */
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	expect_gone(s, "GET", path, NULL, "invitation-invalid", "expired");
	expect_gone(s, "POST", path, json_pack("{s:s}", "password", USER_PW), "invitation-invalid", "expired");
	expect_gone(s, "GET", path2, NULL, "reset-token-invalid", "expired");
	expect_gone(s, "POST", path2, json_pack("{s:s}", "password", USER_PW), "reset-token-invalid", "expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_and_unknown_alike, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_second_step, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_link_reasons, it_setup_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
