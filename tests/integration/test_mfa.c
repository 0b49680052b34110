/*
 * Integration: multi-factor authentication against a real `kura serve` (C3). TOTP codes come
 * from oathtool (the secret read from the otpauth:// URI the server answered), so the server
 * is checked against an independent RFC 6238 implementation. Covers: the enrolment gate of a
 * manager the policy obliges to use MFA; TOTP enrolment, the two-step login, ±1 step, no code
 * accepted twice; recovery codes (once each, regenerated); wrong second factors counting
 * toward the lockout, also across a repeated password step; the policy endpoints with
 * validation, re-authentication and role checks; the login body rules; cross-tenant
 * isolation of the policy, the challenges and the second factors.
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

#define MGR_PW "Manager-pass-for-mfa-1"
#define USER_PW "User-pass-for-mfa-22"

static int setup_mfa_server(void **state)
{
	struct it_options o = { .extra_config = "[security]\nmfa_managers_default = required\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

static json_t *pw_body(const char *password)
{
	return json_pack("{s:s}", "password", password);
}

/* Begins and confirms TOTP for sess (code of the previous step: the ±1 window). Returns the
 * base32 secret (malloc'd) and fills codes with the recovery codes when they were issued. */
static char *enrol_totp(struct it_server *s, const struct it_session *sess, const char *password,
			json_t **ret_codes)
{
	struct it_response *r;
	const char *uri, *p;
	char code[8], *secret;
	size_t n;

	r = it_send(s, sess, "POST", "/api/v1/me/mfa/totp", pw_body(password));
	IT_ASSERT_STATUS(r, 201);
	uri = it_json_str(r->json, "otpauth_uri");
	assert_non_null(uri);
	assert_int_equal(strncmp(uri, "otpauth://totp/kura:", 20), 0);
	assert_non_null(strstr(uri, "issuer=kura"));
	assert_non_null(strstr(it_json_str(r->json, "qr_svg"), "<svg"));
	p = strstr(uri, "secret=");
	assert_non_null(p);
	p += 7;
	n = strcspn(p, "&");
	assert_int_equal(n, 32);   /* 160 bits in base32 */
	secret = strndup(p, n);
	assert_string_equal(secret, it_json_str(r->json, "secret"));
	it_response_free(r);

	it_totp_wait_mid_step();
	it_totp_code(secret, "now - 30 seconds", code);
	r = it_send(s, sess, "POST", "/api/v1/me/mfa/totp/confirm", json_pack("{s:s}", "code", code));
	IT_ASSERT_STATUS(r, 200);
	if (ret_codes) {
		*ret_codes = json_incref(json_object_get(r->json, "recovery_codes"));
	}
	it_response_free(r);
	return secret;
}

/* Password step that must answer 202; the challenge is returned (malloc'd). */
static char *password_step(struct it_server *s, const char *tenant, const char *login, const char *password)
{
	struct it_response *r = it_send(s, NULL, "POST", "/api/v1/session",
					json_pack("{s:s, s:s, s:s}", "tenant", tenant, "login", login,
						  "password", password));
	char *challenge;

	IT_ASSERT_STATUS(r, 202);
	assert_true(json_is_true(json_object_get(r->json, "mfa_required")));
	assert_null(r->set_cookie[0] ? r->set_cookie : NULL);   /* no session yet */
	assert_non_null(it_json_str(r->json, "expires_at"));
	challenge = strdup(it_json_str(r->json, "challenge"));
	it_response_free(r);
	return challenge;
}

/* Second step with member (otp / recovery_code) = value; answers status; fills ret on 201. */
static void second_step(struct it_server *s, const char *challenge, const char *member, const char *value,
			long status, struct it_session *ret)
{
	struct it_response *r = it_send(s, NULL, "POST", "/api/v1/session",
					json_pack("{s:s, s:s}", "challenge", challenge, member, value));

	if (status == 401)
		IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	else
		IT_ASSERT_STATUS(r, status);
	if (status == 201 && ret) {
		const char *c = strchr(r->set_cookie, '=');

		assert_non_null(c);
		snprintf(ret->token, sizeof(ret->token), "%.*s", (int)strcspn(c + 1, ";"), c + 1);
		snprintf(ret->csrf, sizeof(ret->csrf), "%s", it_json_str(r->json, "csrf_token"));
	}
	it_response_free(r);
}

static json_t *get_json(struct it_server *s, const struct it_session *sess, const char *path)
{
	struct it_response *r = it_get(s, sess, path);
	json_t *j;

	IT_ASSERT_STATUS(r, 200);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

static void test_manager_gate_and_totp_login(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, again;
	struct it_response *r;
	json_t *codes = NULL, *j;
	char *secret, *ch, code[8], code_next[8];

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);

	/* the policy obliges managers; without a factor the session can only enrol one */
	j = get_json(s, &mgr, "/api/v1/me/mfa");
	assert_true(json_is_true(json_object_get(j, "enrolment_required")));
	json_decref(j);
	r = it_get(s, &mgr, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/tenant/mfa-policy");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me", 200);

	/* a wrong password is refused before anything starts */
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp", pw_body("not-the-password-123"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	/* a wrong first code does not confirm */
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp/confirm", json_pack("{s:s}", "code", "12345x"));
	IT_ASSERT_PROBLEM(r, 400, "mfa-code-invalid");
	it_response_free(r);

	secret = enrol_totp(s, &mgr, MGR_PW, &codes);
	assert_int_equal(json_array_size(codes), 10);
	/* the gate is gone for the same session */
	IT_EXPECT_GET(s, &mgr, "/api/v1/accounts", 200);
	j = get_json(s, &mgr, "/api/v1/me/mfa");
	assert_true(json_is_true(json_object_get(json_object_get(j, "totp"), "enrolled")));
	assert_int_equal(json_integer_value(json_object_get(j, "recovery_codes_remaining")), 10);
	{
		char *text = json_dumps(j, 0);

		assert_null(strstr(text, secret));   /* never the secret again */
		free(text);
	}
	json_decref(j);
	/* enrolling twice is a conflict */
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp", pw_body(MGR_PW));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);

	/* password alone gives a challenge, not a session */
	ch = password_step(s, "alpha", "boss", MGR_PW);
	it_totp_wait_mid_step();
	it_totp_code(secret, NULL, code);
	it_totp_code(secret, "now + 30 seconds", code_next);
	second_step(s, ch, "otp", code, 201, &again);
	IT_EXPECT_GET(s, &again, "/api/v1/accounts", 200);
	/* the challenge is single use: the sign-in must start again */
	{
		struct it_response *r2 = it_send(s, NULL, "POST", "/api/v1/session",
						 json_pack("{s:s, s:s}", "challenge", ch, "otp", code_next));

		IT_ASSERT_PROBLEM(r2, 401, "challenge-expired");
		it_response_free(r2);
	}
	free(ch);
	/* the same code (step) never again */
	ch = password_step(s, "alpha", "boss", MGR_PW);
	second_step(s, ch, "otp", code, 401, NULL);
	/* the next step (+1) is accepted once, then neither it nor older codes */
	second_step(s, ch, "otp", code_next, 201, NULL);
	free(ch);
	ch = password_step(s, "alpha", "boss", MGR_PW);
	second_step(s, ch, "otp", code_next, 401, NULL);
	second_step(s, ch, "otp", code, 401, NULL);
	free(ch);

	/* a recovery code works once, with any case and dashes */
	{
		const char *rc = json_string_value(json_array_get(codes, 0));
		char upper[32];
		size_t i;

		for (i = 0; rc[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)(rc[i] >= 'a' && rc[i] <= 'z' ? rc[i] - 32 : rc[i]);
		upper[i] = '\0';
		ch = password_step(s, "alpha", "boss", MGR_PW);
		second_step(s, ch, "recovery_code", upper, 201, NULL);
		free(ch);
		ch = password_step(s, "alpha", "boss", MGR_PW);
		second_step(s, ch, "recovery_code", rc, 401, NULL);
		free(ch);
	}
	j = get_json(s, &mgr, "/api/v1/me/mfa");
	assert_int_equal(json_integer_value(json_object_get(j, "recovery_codes_remaining")), 9);
	json_decref(j);

	/* regenerating voids the old set */
	r = it_send(s, &mgr, "POST", "/api/v1/me/recovery-codes", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "recovery_codes")), 10);
	it_response_free(r);
	ch = password_step(s, "alpha", "boss", MGR_PW);
	second_step(s, ch, "recovery_code", json_string_value(json_array_get(codes, 1)), 401, NULL);
	free(ch);

	/* removing TOTP needs the password; afterwards the policy gate is back */
	r = it_send(s, &mgr, "DELETE", "/api/v1/me/mfa/totp", pw_body("not-the-password-123"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", "/api/v1/me/mfa/totp", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);
	j = get_json(s, &mgr, "/api/v1/me/mfa");
	assert_int_equal(json_integer_value(json_object_get(j, "recovery_codes_remaining")), 0);
	json_decref(j);
	IT_ASSERT_LOGIN(s, "alpha", "boss", MGR_PW, 201, NULL);

	json_decref(codes);
	free(secret);
}

/* The attack of issue 14: someone who knows only the password of a manager who has not
 * enrolled yet opens an enrolment-only session and keeps it; the manager then enrols. That
 * session must not gain rights: enrolling ends every other session of the account, and the
 * gate looks at how the session was opened. Removing a factor ends the other sessions too. */
static void test_session_before_enrolment_gains_nothing(void **state)
{
	struct it_server *s = *state;
	struct it_session victim, attacker, second;
	struct it_response *r;
	char *secret, *ch, code[8];

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &victim);
	IT_ASSERT_LOGIN(s, "alpha", "boss", MGR_PW, 201, &attacker);
	r = it_get(s, &attacker, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);

	/* the real manager enrols TOTP in their own session */
	secret = enrol_totp(s, &victim, MGR_PW, NULL);
	IT_EXPECT_GET(s, &victim, "/api/v1/accounts", 200);

	/* the attacker's session is gone: no accounts, no app password, no factor changes */
	IT_EXPECT_GET(s, &attacker, "/api/v1/accounts", 401);
	IT_EXPECT_GET(s, &attacker, "/api/v1/me", 401);
	r = it_send(s, &attacker, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "x", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 401);
	it_response_free(r);
	r = it_send(s, &attacker, "DELETE", "/api/v1/me/mfa/totp", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 401);
	it_response_free(r);
	/* and the password alone now opens no session at all */
	ch = password_step(s, "alpha", "boss", MGR_PW);
	free(ch);

	/* a second full session; removing the factor in the first ends it */
	ch = password_step(s, "alpha", "boss", MGR_PW);
	it_totp_wait_mid_step();
	it_totp_code(secret, NULL, code);
	second_step(s, ch, "otp", code, 201, &second);
	free(ch);
	IT_EXPECT_GET(s, &second, "/api/v1/accounts", 200);
	r = it_send(s, &victim, "DELETE", "/api/v1/me/mfa/totp", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_EXPECT_GET(s, &second, "/api/v1/me", 401);
	/* the session that removed it is gated again: the policy wants a factor it has no more */
	r = it_get(s, &victim, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);
	free(secret);
}

/* GET /api/v1/quota (behind the MFA gate) with an app password: the status */
static long ap_status(struct it_server *s, const char *user, const char *secret)
{
	char auth[IT_STR * 3];
	const char *headers[2] = { auth, NULL };
	struct it_response *r;
	long st;

	it_basic_auth(auth, sizeof(auth), user, secret);
	r = it_request(s, &(struct it_request){ .method = "GET", .path = "/api/v1/quota", .headers = headers });
	st = r->status;
	it_response_free(r);
	return st;
}

static char *make_app_password(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", "client", "scope", "read-write"));
	char *secret;

	IT_ASSERT_STATUS(r, 201);
	secret = strdup(it_json_str(r->json, "secret"));
	it_response_free(r);
	return secret;
}

/* The app-password form of the attack (security review): an app password made in a session
 * opened with the password alone is worth no more than that session. It is refused while
 * the policy requires MFA, and it ends when the account enrols a factor or its password
 * changes; one made in a session with a second factor keeps working. */
static void test_app_passwords_follow_their_session(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, carol, dave, carol2;
	char *weak, *strong, *weak_d, *secret, *ch, code[8];
	struct it_response *r;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	free(enrol_totp(s, &mgr, MGR_PW, NULL));
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, &carol);
	it_create_account(s, &mgr, "alpha", "dave", "user", USER_PW, &dave);

	/* users' MFA is optional: a password-only session makes a working app password */
	weak = make_app_password(s, &carol);
	assert_int_equal(ap_status(s, "carol@alpha", weak), 200);
	/* carol enrols TOTP: the app password made without a factor is revoked, and recorded */
	secret = enrol_totp(s, &carol, USER_PW, NULL);
	assert_int_equal(ap_status(s, "carol@alpha", weak), 401);
	r = it_get(s, &mgr, "/api/v1/audit?action=app_password.revoke&limit=10");
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, "the account enrolled one"));
	it_response_free(r);
	/* one made in a session opened with the second factor survives a policy change */
	ch = password_step(s, "alpha", "carol", USER_PW);
	it_totp_wait_mid_step();
	it_totp_code(secret, "now + 30 seconds", code);
	second_step(s, ch, "otp", code, 201, &carol2);
	free(ch);
	strong = make_app_password(s, &carol2);

	/* dave has no factor: his password-only app password stops once users must use MFA */
	weak_d = make_app_password(s, &dave);
	assert_int_equal(ap_status(s, "dave@alpha", weak_d), 200);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "required", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	assert_int_equal(ap_status(s, "dave@alpha", weak_d), 403);
	assert_int_equal(ap_status(s, "carol@alpha", strong), 200);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "optional", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	assert_int_equal(ap_status(s, "dave@alpha", weak_d), 200);
	/* dave changes his password: the password-only app password ends with the old password */
	r = it_send(s, &dave, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", USER_PW, "new_password", "Dave-new-pass-for-mfa-3"));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	assert_int_equal(ap_status(s, "dave@alpha", weak_d), 401);
	assert_int_equal(ap_status(s, "carol@alpha", strong), 200);
	free(weak);
	free(strong);
	free(weak_d);
	free(secret);
}

static void test_wrong_factors_lock_the_account(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, user;
	char *secret, *ch, code[8];
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	free(enrol_totp(s, &mgr, MGR_PW, NULL));
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, &user);
	secret = enrol_totp(s, &user, USER_PW, NULL);

	/* 3 wrong codes, the password again (which must not reset the count), 2 more: locked */
	ch = password_step(s, "alpha", "carol", USER_PW);
	for (i = 0; i < 3; i++)
		second_step(s, ch, "otp", "000000", 401, NULL);
	free(ch);
	ch = password_step(s, "alpha", "carol", USER_PW);
	for (i = 0; i < 2; i++)
		second_step(s, ch, "recovery_code", "aaaa-bbbb-cccc-dddd", 401, NULL);
	/* locked: even the right code with an open challenge fails, and so does the password */
	it_totp_wait_mid_step();
	it_totp_code(secret, "now + 30 seconds", code);
	second_step(s, ch, "otp", code, 401, NULL);
	free(ch);
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 401, NULL);
	/* the manager unlocks; the right factor works again */
	{
		struct it_response *r = it_send(s, &mgr, "POST", "/api/v1/accounts/carol/unlock", NULL);

		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
	}
	ch = password_step(s, "alpha", "carol", USER_PW);
	second_step(s, ch, "otp", code, 201, NULL);
	free(ch);
	/* a challenge is spent after KURA_MFA_CHALLENGE_ATTEMPTS (5) wrong factors */
	ch = password_step(s, "alpha", "carol", USER_PW);
	second_step(s, ch, "otp", "111111", 401, NULL);
	free(ch);
	free(secret);
}

static void test_login_body_rules(void **state)
{
	struct it_server *s = *state;
	struct it_response *r;

	it_create_tenant(s, "alpha", NULL);
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s, s:i}", "tenant", "alpha", "login", "x", "password", "y", "extra", 1));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "extra");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "challenge", "abc", "password", "y", "otp", "123456"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "challenge", "abc", "otp", "123456", "recovery_code", "x"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", "abc", "webauthn", "x"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", "x", "otp", "123456"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	/* a well-formed but unknown challenge: the sign-in step must start again */
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s}", "challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "otp", "123456"));
	IT_ASSERT_PROBLEM(r, 401, "challenge-expired");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", "short", "recovery_code", "aaaa"));
	IT_ASSERT_PROBLEM(r, 401, "challenge-expired");
	it_response_free(r);
}

static void test_policy(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, user;
	struct it_response *r;
	json_t *j;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	free(enrol_totp(s, &mgr, MGR_PW, NULL));
	{
		char *ch = password_step(s, "alpha", "boss", MGR_PW);

		free(ch);
	}
	j = get_json(s, &mgr, "/api/v1/tenant/mfa-policy");
	assert_string_equal(it_json_str(j, "managers"), "required");
	assert_string_equal(it_json_str(j, "users"), "optional");
	assert_true(json_is_true(json_object_get(j, "default")));
	json_decref(j);

	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, &user);
	IT_EXPECT_GET(s, &user, "/api/v1/me", 200);

	/* validation, re-authentication, role */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "managers", "off", "password", MGR_PW));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "sometimes", "password", MGR_PW));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy", json_pack("{s:s}", "users", "required"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "required", "password", "wrong-password-123"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(s, &user, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "off", "password", USER_PW));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(s, &user, "/api/v1/tenant/mfa-policy");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);

	/* users required: the user's session is now enrolment-only */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "required", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "users"), "required");
	assert_true(json_is_false(json_object_get(r->json, "default")));
	it_response_free(r);
	r = it_get(s, &user, "/api/v1/tenant");
	IT_ASSERT_PROBLEM(r, 403, "mfa-enrolment-required");
	it_response_free(r);
	j = get_json(s, &user, "/api/v1/me/mfa");
	assert_true(json_is_true(json_object_get(j, "enrolment_required")));
	json_decref(j);

	/* users off: a user may not enrol */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "off", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = it_send(s, &user, "POST", "/api/v1/me/mfa/totp", pw_body(USER_PW));
	IT_ASSERT_PROBLEM(r, 403, "mfa-not-allowed");
	it_response_free(r);
	r = it_send(s, &user, "POST", "/api/v1/me/mfa/webauthn/register", pw_body(USER_PW));
	IT_ASSERT_PROBLEM(r, 403, "mfa-not-allowed");
	it_response_free(r);
	/* recovery codes need a factor */
	r = it_send(s, &user, "POST", "/api/v1/me/recovery-codes", pw_body(USER_PW));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* managers optional: a manager without MFA works */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "managers", "optional", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
}

static void test_webauthn_input_validation(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/webauthn/register", pw_body(MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	{
		json_t *pk = json_object_get(r->json, "publicKey");

		assert_string_equal(it_json_str(json_object_get(pk, "rp"), "id"), "127.0.0.1");
		assert_int_equal(strlen(it_json_str(pk, "challenge")), 43);   /* 32 bytes */
		assert_string_equal(it_json_str(json_object_get(pk, "user"), "name"), "alpha:boss");
	}
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/webauthn/register/finish",
		    json_pack("{s:s, s:s}", "name", "k", "credential", "x"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/webauthn/register/finish",
		    json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "name", "k", "credential", "id", "AAAA",
			      "rawId", "AAAA", "type", "public-key", "response", "clientDataJSON", "e30",
			      "attestationObject", "oA"));
	IT_ASSERT_PROBLEM(r, 400, "webauthn-verification-failed");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/webauthn/register/finish",
		    json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "name", "k", "credential", "id", "A*",
			      "rawId", "A*", "type", "public-key", "response", "clientDataJSON", "e30",
			      "attestationObject", "oA"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", "/api/v1/me/mfa/webauthn/99", pw_body(MGR_PW));
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", "/api/v1/me/mfa/webauthn/abc", pw_body(MGR_PW));
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me/mfa/webauthn", 200);
}

/* The allowlist is checked again at the second step, before the factor is tried: from an
 * address outside the list the step is refused, and neither the challenge nor the code is
 * spent (the same challenge and code then work from inside). */
static void test_allowlist_at_second_step(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, again;
	struct it_response *r;
	json_t *body;
	char *secret, *ch, code[8];

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	secret = enrol_totp(s, &mgr, MGR_PW, NULL);
	r = it_send(s, &mgr, "PUT", "/api/v1/tenant/ip-allowlist", json_pack("{s:[s]}", "ranges", "127.0.0.1/32"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	it_totp_wait_mid_step();
	ch = password_step(s, "alpha", "boss", MGR_PW);
	it_totp_code(secret, NULL, code);
	body = json_pack("{s:s, s:s}", "challenge", ch, "otp", code);
	r = it_request(s, &(struct it_request){ .method = "POST", .path = "/api/v1/session", .json = body,
						.interface = "host!127.0.0.2" });
	json_decref(body);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	assert_string_equal(r->set_cookie, "");
	it_response_free(r);
	second_step(s, ch, "otp", code, 201, &again);
	IT_EXPECT_GET(s, &again, "/api/v1/me", 200);
	free(ch);
	free(secret);
}

static void test_cross_tenant(void **state)
{
	struct it_server *s = *state;
	struct it_session a, b;
	struct it_response *r;
	char *secret_a, *secret_b, *ch, code[8];
	json_t *j;

	it_create_tenant(s, "alpha", NULL);
	it_create_tenant(s, "beta", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &a);
	it_create_manager(s, "beta", "boss", MGR_PW, &b);
	secret_a = enrol_totp(s, &a, MGR_PW, NULL);
	secret_b = enrol_totp(s, &b, MGR_PW, NULL);
	assert_string_not_equal(secret_a, secret_b);

	/* A's manager changes A's policy; B's stays the default */
	r = it_send(s, &a, "PATCH", "/api/v1/tenant/mfa-policy",
		    json_pack("{s:s, s:s}", "users", "required", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	j = get_json(s, &b, "/api/v1/tenant/mfa-policy");
	assert_string_equal(it_json_str(j, "users"), "optional");
	json_decref(j);

	/* A's factor does not complete B's login: challenge of B, code of A */
	it_totp_wait_mid_step();
	it_totp_code(secret_a, "now + 30 seconds", code);
	ch = password_step(s, "beta", "boss", MGR_PW);
	second_step(s, ch, "otp", code, 401, NULL);
	free(ch);
	/* A's password at B (same login, other tenant) */
	IT_ASSERT_LOGIN(s, "beta", "boss", "Another-tenant-pass-1", 401, NULL);
	/* A's code works at A */
	ch = password_step(s, "alpha", "boss", MGR_PW);
	second_step(s, ch, "otp", code, 201, NULL);
	free(ch);
	/* one tenant's session sees only its own account's factors */
	j = get_json(s, &b, "/api/v1/me/mfa/webauthn");
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
	free(secret_a);
	free(secret_b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_manager_gate_and_totp_login, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_session_before_enrolment_gains_nothing, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_app_passwords_follow_their_session, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_wrong_factors_lock_the_account, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_login_body_rules, setup_mfa_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_policy, setup_mfa_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_webauthn_input_validation, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_allowlist_at_second_step, setup_mfa_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_cross_tenant, setup_mfa_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
