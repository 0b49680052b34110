/*
 * Integration: the account lifecycle end to end, against a real `kura serve`, the real
 * `kura admin` over admin.sock and a real SMTP server. Covers: operator creates tenants and
 * managers; the invitation mail carries the printed URL; invitation lookup, weak-password
 * refusals that leave the invitation usable, single use; managers invite users by API;
 * permissions of users; suspend/resume/delete ending sessions at once; a manager cannot
 * remove, suspend or demote themselves or the last active manager; the tenant's contract;
 * the account list's paging, its details (last sign-in, MFA state, lock) and search;
 * lockout and unlock (operator and manager); a password change
 * ending the other sessions; idle session expiry.
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

#define MGR "chief.manager"              /* 13 characters: long enough to be a password */
#define MGR_PW "Alpha-manager-pass-1"
#define USER_PW "Alpha-user-pass-2"
#define OPTION "webdav"

/* Tenant alpha (DOCX + OPTION) with an active manager MGR logged in as *mgr. */
static void make_alpha(struct it_server *s, struct it_session *mgr)
{
	it_create_tenant(s, "alpha", OPTION);
	it_create_manager(s, "alpha", MGR, MGR_PW, mgr);
}

/* prefix + token, malloc'd */
static char *path_of(const char *prefix, const char *token)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s%s", prefix, token) > 0);
	return p;
}

/* Members of an object with array members: does any array hold an object with code==code? */
static bool json_lists_code(const json_t *obj, const char *code)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		(void)key;
		for (i = 0; json_is_array(v) && i < json_array_size(v); i++) {
			const char *c = it_json_str(json_array_get(v, i), "code");

			if (c && !strcmp(c, code))
				return true;
		}
	}
	return false;
}

static bool is_ascii(const char *t)
{
	for (; *t; t++)
		if ((unsigned char)*t >= 0x80)
			return false;
	return true;
}

static void expect_weak(struct it_server *s, const char *inv_path, const char *password)
{
	struct it_response *r = it_send(s, NULL, "POST", inv_path,
					json_pack("{s:s}", "password", password));

	if (r->status != 400)
		print_error("password '%s' was not refused as weak\n", password);
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	assert_string_equal(it_json_str(r->json, "field"), "password");
	it_response_free(r);
	/* the invitation stays usable */
	IT_EXPECT_GET(s, NULL, inv_path, 200);
}

static void test_operator_invites_manager(void **state)
{
	struct it_server *s = *state;
	char host_part[64], long_pw[130];
	json_t *j = NULL;
	struct it_mail *m;
	struct it_response *r;
	char *url, *token, *inv_path, *page_path;

	/* tenants by the operator */
	assert_int_equal(it_admin(s, &j, "tenant", "create", "alpha", "--name", "Alpha Corp",
				  "--service", "DOCX", "--option", OPTION, NULL), 0);
	assert_true(json_is_object(j));
	json_decref(j);
	assert_int_equal(it_admin(s, &j, "tenant", "create", "bravo", "--name", "Bravo Inc",
				  "--service", "DOCX", NULL), 0);
	json_decref(j);
	assert_true(it_admin(s, &j, "tenant", "create", "alpha", "--name", "Again",
			     "--service", "DOCX", NULL) > 0);
	json_decref(j);
	assert_int_equal(it_admin(s, &j, "tenant", "list", NULL), 0);
	assert_true(json_lists_code(j, "alpha"));
	assert_true(json_lists_code(j, "bravo"));
	json_decref(j);
	assert_int_equal(it_admin(s, &j, "tenant", "show", "alpha", NULL), 0);
	assert_string_equal(it_json_str(j, "code"), "alpha");
	assert_string_equal(it_json_str(j, "name"), "Alpha Corp");
	json_decref(j);
	assert_true(it_admin(s, &j, "tenant", "show", "nosuch", NULL) > 0);
	json_decref(j);

	/* a manager: the printed invitation URL uses public_url's host and is mailed */
	assert_int_equal(it_admin(s, &j, "manager", "create", "alpha", MGR, "--email",
				  MGR "@alpha.example.com", NULL), 0);
	assert_non_null(it_json_str(j, "invitation_url"));
	url = strdup(it_json_str(j, "invitation_url"));
	json_decref(j);
	snprintf(host_part, sizeof(host_part), "://127.0.0.1:%d/invite/", s->port);
	if (!strstr(url, host_part))
		print_error("invitation_url %s lacks %s\n", url, host_part);
	assert_non_null(strstr(url, host_part));
	m = it_wait_for_mail(s, MGR "@alpha.example.com", 30);
	assert_non_null(m);
	if (!strstr(m->body, url))
		print_error("mail body lacks %s:\n%s\n", url, m->body);
	assert_non_null(strstr(m->body, url));
	/* mail/invitation.*.txt: the expiry in the tenant's zone (Asia/Tokyo), never in UTC */
	assert_non_null(strstr(m->body, "+09:00、1 回のみ有効"));
	assert_non_null(strstr(m->body, "+09:00):"));
	assert_null(strstr(m->body, "UTC"));
	assert_true(is_ascii(m->headers));          /* RFC 2047 subject, no raw 8-bit */
	assert_non_null(strcasestr(m->headers, "\nSubject:"));
	token = it_extract_invitation_token(url);
	assert_non_null(token);
	assert_true(strlen(token) >= 32);
	it_mail_free(m);
	free(url);

	/* the invitation page and the invitation */
	page_path = path_of("/invite/", token);
	IT_EXPECT_GET(s, NULL, page_path, 200);
	inv_path = path_of("/api/v1/invitations/", token);
	r = it_get(s, NULL, inv_path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "tenant"), "alpha");
	assert_string_equal(it_json_str(r->json, "login"), MGR);
	assert_true(json_is_string(json_object_get(r->json, "expires_at")));
	it_response_free(r);

	/* weak passwords are refused and leave the invitation usable */
	expect_weak(s, inv_path, "abcdefghijk");                       /* 11 characters */
	expect_weak(s, inv_path, "蔵蔵蔵蔵蔵蔵蔵蔵蔵蔵蔵");              /* 11 code points */
	expect_weak(s, inv_path, MGR);                                 /* equals the login */
	expect_weak(s, inv_path, "passwordpassword");                  /* common */
	expect_weak(s, inv_path, "123456789012");                      /* common */
	memset(long_pw, 'x', 129);
	long_pw[129] = '\0';
	expect_weak(s, inv_path, long_pw);                             /* over 128 */
	IT_ASSERT_LOGIN(s, "alpha", MGR, MGR_PW, 401, NULL);           /* still invited */

	r = it_send(s, NULL, "POST", inv_path, json_pack("{s:s}", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* single use */
	r = it_send(s, NULL, "POST", inv_path, json_pack("{s:s}", "password", "Another-pass-99"));
	IT_ASSERT_PROBLEM(r, 410, "invitation-invalid");
	it_response_free(r);
	r = it_get(s, NULL, inv_path);
	IT_ASSERT_PROBLEM(r, 410, "invitation-invalid");
	it_response_free(r);
	r = it_get(s, NULL, "/api/v1/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	IT_ASSERT_PROBLEM(r, 410, "invitation-invalid");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", MGR, "Another-pass-99", 401, NULL);
	/* the token was used in request paths, also in ones no route takes (405), but the
	 * server's log never shows it */
	r = it_send(s, NULL, "DELETE", inv_path, NULL);
	IT_ASSERT_STATUS(r, 405);
	it_response_free(r);
	{
		char *log = it_read_file(s->log_path, NULL);

		assert_non_null(log);
		assert_non_null(strstr(log, "/api/v1/invitations/*"));
		if (strstr(log, token))
			fail_msg("the invitation token appears in the server log");
		free(log);
	}
	free(inv_path);
	free(page_path);
	free(token);

	/* the manager logs in */
	{
		struct it_session mgr;

		IT_ASSERT_LOGIN(s, "alpha", MGR, MGR_PW, 201, &mgr);
		r = it_get(s, &mgr, "/api/v1/me");
		IT_ASSERT_STATUS(r, 200);
		assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "code"),
				    "alpha");
		assert_string_equal(it_json_str(r->json, "login"), MGR);
		assert_string_equal(it_json_str(r->json, "email"), MGR "@alpha.example.com");
		assert_string_equal(it_json_str(r->json, "role"), "manager");
		assert_string_equal(it_json_str(r->json, "status"), "active");
		assert_true(json_is_false(json_object_get(r->json, "must_change_password")));
		it_response_free(r);
		/* a manager of alpha is nobody in bravo */
		IT_ASSERT_LOGIN(s, "bravo", MGR, MGR_PW, 401, NULL);
		/* now that alpha has an active manager, the operator cannot add managers of their
		 * own choosing (C7): alpha's managers invite */
		assert_true(it_admin(s, &j, "manager", "create", "alpha", "ops", "--email",
				     "ops@provider.example", NULL) > 0);
		json_decref(j);
		IT_EXPECT_GET(s, &mgr, "/api/v1/accounts/ops", 404);
	}
}

static void test_user_lifecycle(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, user, user2;
	struct it_response *r;
	struct it_mail *m;
	char *token, *inv_path;
	json_t *body;

	make_alpha(s, &mgr);

	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s, s:s}", "login", "alice", "email",
			      "alice@alpha.example.com", "role", "user", "display_name", "Alice"));
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "login"), "alice");
	assert_string_equal(it_json_str(r->json, "email"), "alice@alpha.example.com");
	assert_string_equal(it_json_str(r->json, "display_name"), "Alice");
	assert_string_equal(it_json_str(r->json, "role"), "user");
	assert_string_equal(it_json_str(r->json, "status"), "invited");
	assert_true(json_is_false(json_object_get(r->json, "locked")));
	assert_true(json_is_null(json_object_get(r->json, "last_login_at")));
	it_response_free(r);

	/* the login exists now */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "alice", "email",
			      "other@alpha.example.com", "role", "user"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* an invited account cannot be activated by hand, nor log in */
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/alice",
		    json_pack("{s:s}", "status", "active"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "alice", USER_PW, 401, NULL);

	/* the invitation arrives by mail and is accepted */
	m = it_wait_for_mail(s, "alice@alpha.example.com", 30);
	assert_non_null(m);
	token = it_extract_invitation_token(m->body);
	assert_non_null(token);
	it_mail_free(m);
	inv_path = path_of("/api/v1/invitations/", token);
	r = it_get(s, NULL, inv_path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "login"), "alice");
	assert_string_equal(it_json_str(r->json, "tenant"), "alpha");
	it_response_free(r);
	r = it_send(s, NULL, "POST", inv_path, json_pack("{s:s}", "password", USER_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	free(inv_path);
	free(token);

	/* a user is no manager */
	IT_ASSERT_LOGIN(s, "alpha", "alice", USER_PW, 201, &user);
	r = it_get(s, &user, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "role"), "user");
	assert_string_equal(it_json_str(r->json, "status"), "active");
	it_response_free(r);
	r = it_get(s, &user, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(s, &user, "/api/v1/accounts/" MGR);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(s, &user, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "eve", "email", "eve@alpha.example.com",
			      "role", "manager"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(s, &user, "PATCH", "/api/v1/accounts/alice",
		    json_pack("{s:s}", "role", "manager"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts/eve");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts/alice");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "status"), "active");
	assert_string_equal(it_json_str(r->json, "role"), "user");
	assert_true(json_is_string(json_object_get(r->json, "last_login_at")));
	it_response_free(r);

	/* suspension ends the session at once and refuses logins */
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/alice",
		    json_pack("{s:s}", "status", "suspended"));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "status"), "suspended");
	it_response_free(r);
	r = it_get(s, &user, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "alice", USER_PW, 401, NULL);

	/* resumed, she logs in again; the old session stays ended */
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/alice",
		    json_pack("{s:s}", "status", "active"));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "status"), "active");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "alice", USER_PW, 201, &user2);
	IT_EXPECT_GET(s, &user2, "/api/v1/me", 200);
	IT_EXPECT_GET(s, &user, "/api/v1/me", 401);

	/* other members */
	body = json_pack("{s:s, s:s}", "display_name", "Alice A.", "email",
			 "alice.a@alpha.example.com");
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/alice", body);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "display_name"), "Alice A.");
	assert_string_equal(it_json_str(r->json, "email"), "alice.a@alpha.example.com");
	assert_string_equal(it_json_str(r->json, "role"), "user");
	it_response_free(r);

	/* deletion ends the session; the account is gone */
	r = it_send(s, &mgr, "DELETE", "/api/v1/accounts/alice", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_get(s, &user2, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts/alice");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", "/api/v1/accounts/alice", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "alice", USER_PW, 401, NULL);
}

static void test_manager_cannot_remove_self(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, deputy;
	struct it_response *r;

	make_alpha(s, &mgr);

	r = it_send(s, &mgr, "DELETE", "/api/v1/accounts/" MGR, NULL);
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/" MGR,
		    json_pack("{s:s}", "status", "suspended"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/" MGR, json_pack("{s:s}", "role", "user"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "role"), "manager");
	assert_string_equal(it_json_str(r->json, "status"), "active");
	it_response_free(r);

	/* with a second manager, each can act on the other, never on themselves */
	it_create_account(s, &mgr, "alpha", "deputy", "manager", USER_PW, &deputy);
	IT_EXPECT_GET(s, &deputy, "/api/v1/accounts", 200);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/deputy",
		    json_pack("{s:s}", "status", "suspended"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	IT_EXPECT_GET(s, &deputy, "/api/v1/me", 401);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/deputy",
		    json_pack("{s:s}", "status", "active"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "deputy", USER_PW, 201, &deputy);
	r = it_send(s, &deputy, "DELETE", "/api/v1/accounts/deputy", NULL);
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	r = it_send(s, &deputy, "DELETE", "/api/v1/accounts/" MGR, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me", 401);
	/* deputy is now the last active manager */
	r = it_send(s, &deputy, "PATCH", "/api/v1/accounts/deputy",
		    json_pack("{s:s}", "role", "user"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	IT_EXPECT_GET(s, &deputy, "/api/v1/accounts", 200);
}

static bool is_time(const json_t *v)
{
	const char *t = json_string_value(v);

	return t && strlen(t) == 27 && t[4] == '-' && t[10] == 'T' && t[26] == 'Z';
}

static void test_tenant_contract(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, user;
	struct it_response *r;
	json_t *services, *options;
	size_t i;
	bool has_option = false;

	make_alpha(s, &mgr);
	r = it_get(s, &mgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "code"), "alpha");
	assert_string_equal(it_json_str(r->json, "name"), "Tenant alpha");
	assert_string_equal(it_json_str(r->json, "status"), "active");
	assert_string_equal(it_json_str(r->json, "time_zone"), "Asia/Tokyo");
	assert_true(is_time(json_object_get(r->json, "created_at")));
	services = json_object_get(r->json, "services");
	assert_true(json_is_array(services));
	assert_int_equal(json_array_size(services), 1);
	assert_string_equal(json_string_value(json_array_get(services, 0)), "DOCX");
	options = json_object_get(r->json, "options");
	assert_true(json_is_array(options));
	for (i = 0; i < json_array_size(options); i++) {
		const char *o = json_string_value(json_array_get(options, i));

		if (o && !strcmp(o, OPTION))
			has_option = true;
	}
	assert_true(has_option);
	it_response_free(r);

	/* operator's view agrees */
	{
		json_t *j = NULL;

		assert_int_equal(it_admin(s, &j, "tenant", "show", "alpha", NULL), 0);
		assert_string_equal(it_json_str(j, "code"), "alpha");
		json_decref(j);
	}
	/* a user reads the /me of their own tenant */
	it_create_account(s, &mgr, "alpha", "ulrich", "user", USER_PW, &user);
	r = it_get(s, &user, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "code"), "alpha");
	assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "name"),
			    "Tenant alpha");
	assert_true(is_time(json_object_get(r->json, "created_at")));
	assert_true(is_time(json_object_get(r->json, "last_login_at")));
	it_response_free(r);
}

static void test_account_list_paging(void **state)
{
	static const char *const logins[] = { "zoe", "bob", "mia" };
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	json_t *items;
	const char *prev = "";
	size_t i;

	make_alpha(s, &mgr);
	for (i = 0; i < 3; i++) {
		char email[64];

		snprintf(email, sizeof(email), "%s@alpha.example.com", logins[i]);
		r = it_send(s, &mgr, "POST", "/api/v1/accounts",
			    json_pack("{s:s, s:s, s:s}", "login", logins[i], "email", email,
				      "role", "user"));
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
	}
	/* default page: everything, ordered by login */
	r = it_get(s, &mgr, "/api/v1/accounts");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "limit")), 100);
	assert_int_equal(json_integer_value(json_object_get(r->json, "offset")), 0);
	items = json_object_get(r->json, "items");
	assert_int_equal(json_array_size(items), 4);
	for (i = 0; i < 4; i++) {
		const char *l = it_json_str(json_array_get(items, i), "login");

		assert_non_null(l);
		assert_true(strcmp(prev, l) < 0);
		prev = l;
	}
	assert_string_equal(it_json_str(json_array_get(items, 0), "login"), "bob");
	it_response_free(r);

	r = it_get(s, &mgr, "/api/v1/accounts?limit=2&offset=1");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "limit")), 2);
	assert_int_equal(json_integer_value(json_object_get(r->json, "offset")), 1);
	items = json_object_get(r->json, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(it_json_str(json_array_get(items, 0), "login"), MGR);
	assert_string_equal(it_json_str(json_array_get(items, 1), "login"), "mia");
	it_response_free(r);

	r = it_get(s, &mgr, "/api/v1/accounts?limit=10&offset=4");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 0);
	it_response_free(r);
}

/* The item of login in r's "items", or NULL. */
static json_t *item_of(const struct it_response *r, const char *login)
{
	json_t *items = json_object_get(r->json, "items");
	size_t i;

	for (i = 0; i < json_array_size(items); i++)
		if (!strcmp(it_json_str(json_array_get(items, i), "login"), login))
			return json_array_get(items, i);
	return NULL;
}

/* GET path answers 200 with exactly the logins (in order, comma-separated) and total. */
static void expect_logins(struct it_server *s, const struct it_session *mgr, const char *path,
			  const char *logins, json_int_t total)
{
	struct it_response *r = it_get(s, mgr, path);
	json_t *items;
	char got[512] = "";
	size_t i;

	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	for (i = 0; i < json_array_size(items); i++) {
		if (i)
			strcat(got, ",");
		strcat(got, it_json_str(json_array_get(items, i), "login"));
	}
	if (strcmp(got, logins) || json_integer_value(json_object_get(r->json, "total")) != total)
		print_error("%s: got [%s] total %lld, want [%s] total %lld\n", path, got,
			    (long long)json_integer_value(json_object_get(r->json, "total")), logins,
			    (long long)total);
	assert_string_equal(got, logins);
	assert_int_equal(json_integer_value(json_object_get(r->json, "total")), total);
	it_response_free(r);
}

/* The managers' view of each account (C1, C3): last sign-in time and address, the second
 * factors enrolled (counts, never a secret), the lock's end; and the server-side search by
 * login, name or e-mail, role and status (locked included) with the total for paging. */
static void test_account_list_details_and_filter(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	json_t *a, *mfa;
	char *secret, code[8], longq[300];
	int i;

	make_alpha(s, &mgr);
	it_create_account(s, &mgr, "alpha", "bob", "user", USER_PW, NULL);
	it_create_account(s, &mgr, "alpha", "dave", "user", USER_PW, NULL);
	r = it_send(s, &mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s, s:s}", "login", "carol", "email", "carol@beta.example.org",
			      "role", "manager", "display_name", "Carol Example"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	for (i = 0; i < 5; i++)
		IT_ASSERT_LOGIN(s, "alpha", "dave", "wrong-password-42", 401, NULL);
	/* the manager enrols TOTP: ten recovery codes come with it */
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp", json_pack("{s:s}", "password", MGR_PW));
	IT_ASSERT_STATUS(r, 201);
	secret = strdup(it_json_str(r->json, "secret"));
	it_response_free(r);
	it_totp_wait_mid_step();
	it_totp_code(secret, NULL, code);
	r = it_send(s, &mgr, "POST", "/api/v1/me/mfa/totp/confirm", json_pack("{s:s}", "code", code));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	r = it_get(s, &mgr, "/api/v1/accounts");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "total")), 4);
	assert_null(strstr(r->body, secret));
	assert_null(strstr(r->body, "password_hash"));
	/* bob signed in (it_create_account logs in) from the loopback address */
	a = item_of(r, "bob");
	assert_non_null(a);
	assert_string_equal(it_json_str(a, "last_login_ip"), "127.0.0.1");
	assert_true(json_is_string(json_object_get(a, "last_login_at")));
	assert_true(json_is_null(json_object_get(a, "locked_until")));
	mfa = json_object_get(a, "mfa");
	assert_true(json_is_false(json_object_get(mfa, "enrolled")));
	assert_true(json_is_false(json_object_get(mfa, "totp")));
	assert_int_equal(json_integer_value(json_object_get(mfa, "security_keys")), 0);
	assert_int_equal(json_integer_value(json_object_get(mfa, "recovery_codes_remaining")), 0);
	/* the manager: TOTP and ten recovery codes */
	mfa = json_object_get(item_of(r, MGR), "mfa");
	assert_true(json_is_true(json_object_get(mfa, "enrolled")));
	assert_true(json_is_true(json_object_get(mfa, "totp")));
	assert_int_equal(json_integer_value(json_object_get(mfa, "recovery_codes_remaining")), 10);
	/* dave: locked, with the time it ends */
	a = item_of(r, "dave");
	assert_true(json_is_true(json_object_get(a, "locked")));
	assert_true(json_is_string(json_object_get(a, "locked_until")));
	/* carol: invited, never signed in */
	a = item_of(r, "carol");
	assert_string_equal(it_json_str(a, "last_login_ip"), "");
	assert_true(json_is_null(json_object_get(a, "last_login_at")));
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts/dave");
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_string(json_object_get(r->json, "locked_until")));
	assert_non_null(json_object_get(r->json, "mfa"));
	it_response_free(r);

	/* search: login, display name (any case), e-mail; LIKE's own characters are literal */
	expect_logins(s, &mgr, "/api/v1/accounts?q=bo", "bob", 1);
	expect_logins(s, &mgr, "/api/v1/accounts?q=CAROL%20ex", "carol", 1);
	expect_logins(s, &mgr, "/api/v1/accounts?q=beta.example", "carol", 1);
	expect_logins(s, &mgr, "/api/v1/accounts?q=%25", "", 0);
	expect_logins(s, &mgr, "/api/v1/accounts?q=b_b", "", 0);
	expect_logins(s, &mgr, "/api/v1/accounts?role=manager", "carol," MGR, 2);
	expect_logins(s, &mgr, "/api/v1/accounts?status=invited", "carol", 1);
	expect_logins(s, &mgr, "/api/v1/accounts?status=locked", "dave", 1);
	expect_logins(s, &mgr, "/api/v1/accounts?role=user&status=active", "bob,dave", 2);
	/* paging keeps the total of all matches */
	expect_logins(s, &mgr, "/api/v1/accounts?role=user&limit=1&offset=1", "dave", 2);
	expect_logins(s, &mgr, "/api/v1/accounts?q=&role=&status=", "bob,carol," MGR ",dave", 4);
	/* bad filters change nothing and name the parameter */
	r = it_get(s, &mgr, "/api/v1/accounts?status=deleted");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "status");
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/accounts?role=admin");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	memset(longq, 'a', sizeof(longq));
	memcpy(longq, "/api/v1/accounts?q=", 19);
	longq[19 + 255] = '\0';
	r = it_get(s, &mgr, longq);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	/* the unlock clears the lock's end */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/dave/unlock", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	expect_logins(s, &mgr, "/api/v1/accounts?status=locked", "", 0);
	free(secret);
}

static void test_lockout_and_unlock(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	json_t *j = NULL;
	int round, i;

	make_alpha(s, &mgr);
	it_create_account(s, &mgr, "alpha", "bob", "user", USER_PW, NULL);

	for (round = 0; round < 2; round++) {
		for (i = 0; i < 5; i++)
			IT_ASSERT_LOGIN(s, "alpha", "bob", "wrong-password-42", 401, NULL);
		/* locked: the right password gets the same answer */
		IT_ASSERT_LOGIN(s, "alpha", "bob", USER_PW, 401, NULL);
		r = it_get(s, &mgr, "/api/v1/accounts/bob");
		IT_ASSERT_STATUS(r, 200);
		assert_true(json_is_true(json_object_get(r->json, "locked")));
		it_response_free(r);

		if (round == 0) {
			/* the operator unlocks */
			assert_int_equal(it_admin(s, &j, "account", "unlock", "alpha", "bob", NULL),
					 0);
			json_decref(j);
		} else {
			/* the manager unlocks */
			r = it_send(s, &mgr, "POST", "/api/v1/accounts/bob/unlock", NULL);
			IT_ASSERT_STATUS(r, 204);
			it_response_free(r);
		}
		IT_ASSERT_LOGIN(s, "alpha", "bob", USER_PW, 201, NULL);
		r = it_get(s, &mgr, "/api/v1/accounts/bob");
		IT_ASSERT_STATUS(r, 200);
		assert_true(json_is_false(json_object_get(r->json, "locked")));
		it_response_free(r);
	}

	/* unknown accounts */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/nobody/unlock", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_true(it_admin(s, &j, "account", "unlock", "alpha", "nobody", NULL) > 0);
	json_decref(j);
}

static void test_password_change_ends_other_sessions(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, a, b;
	struct it_response *r;

	make_alpha(s, &mgr);
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, &a);
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 201, &b);
	/* each login makes new tokens */
	assert_string_not_equal(a.token, b.token);
	assert_string_not_equal(a.csrf, b.csrf);

	r = it_send(s, &a, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", USER_PW, "new_password",
			      "Carol-new-pass-3"));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_EXPECT_GET(s, &a, "/api/v1/me", 200);
	r = it_get(s, &b, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "carol", "Carol-new-pass-3", 201, NULL);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me", 200);
}

/* Own profile: the display name freely, the e-mail only with the current password, and the
 * old address is told of the change. */
static void test_own_profile_change(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, u;
	struct it_response *r;
	struct it_mail *m;

	make_alpha(s, &mgr);
	it_create_account(s, &mgr, "alpha", "dave", "user", USER_PW, &u);
	r = it_send(s, &u, "PATCH", "/api/v1/me", json_pack("{s:s}", "display_name", "デイブ"));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "display_name"), "デイブ");
	it_response_free(r);
	/* e-mail without, or with a wrong, current password: refused, nothing changes */
	r = it_send(s, &u, "PATCH", "/api/v1/me", json_pack("{s:s}", "email", "evil@attacker.example"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &u, "PATCH", "/api/v1/me",
		    json_pack("{s:s, s:s}", "email", "evil@attacker.example", "password", "Wrong-password-1"));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(s, &u, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(it_json_str(r->json, "email"), "attacker"));
	it_response_free(r);
	/* with it: changed, and the old address hears of it */
	r = it_send(s, &u, "PATCH", "/api/v1/me",
		    json_pack("{s:s, s:s}", "email", "dave.new@alpha.example.com", "password", USER_PW));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "email"), "dave.new@alpha.example.com");
	it_response_free(r);
	m = it_wait_for_mail(s, "dave@", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "dave.new@alpha.example.com"));
	it_mail_free(m);
	/* a manager's view agrees */
	r = it_get(s, &mgr, "/api/v1/accounts/dave");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "email"), "dave.new@alpha.example.com");
	it_response_free(r);
	/* a manager changing someone else's address: the old address hears of it too */
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/dave", json_pack("{s:s}", "email", "dave3@alpha.example.com"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	m = it_wait_for_mail(s, "dave.new@", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "dave3@alpha.example.com"));
	it_mail_free(m);
	/* ...but not their own, which goes through PATCH /api/v1/me with the password */
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/" MGR, json_pack("{s:s}", "email", "evil@attacker.example"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* re-authentication counts toward the lockout, and a locked account cannot re-authenticate
	 * even with the right password (a session must not go on guessing past the lock) */
	for (int i = 0; i < 5; i++) {
		r = it_send(s, &u, "PATCH", "/api/v1/me",
			    json_pack("{s:s, s:s}", "display_name", "x", "password", "Wrong-password-2"));
		IT_ASSERT_PROBLEM(r, 403, "permission-denied");
		it_response_free(r);
	}
	r = it_send(s, &u, "PATCH", "/api/v1/me", json_pack("{s:s, s:s}", "display_name", "x", "password", USER_PW));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "dave", USER_PW, 401, NULL);
}

static int setup_short_idle(void **state)
{
	struct it_options o = { .extra_config = "[security]\nsession_idle_seconds = 10\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

static void test_session_idle_expiry(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;

	make_alpha(s, &mgr);
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", MGR, "password",
			      MGR_PW));
	IT_ASSERT_STATUS(r, 201);
	assert_int_equal(json_integer_value(json_object_get(r->json, "idle_timeout_seconds")),
			 10);
	it_response_free(r);

	/* requests keep it alive ("ends after N seconds without a request"): a request 6 s
	 * after the last one must find the session alive with a 10 s idle timeout ... Time
	 * moves by the test clock (KURA_TEST_CLOCK_OFFSET_S at a restart), not by sleeping;
	 * sessions live in the database, so they outlive the restart. */
	IT_ASSERT_LOGIN(s, "alpha", MGR, MGR_PW, 201, &mgr);
	setenv("KURA_TEST_CLOCK_OFFSET_S", "6", 1);
	assert_int_equal(it_server_restart(s), 0);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me", 200);
	setenv("KURA_TEST_CLOCK_OFFSET_S", "12", 1);
	assert_int_equal(it_server_restart(s), 0);
	IT_EXPECT_GET(s, &mgr, "/api/v1/me", 200);
	/* ... 11 s of silence end it */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "23", 1);
	assert_int_equal(it_server_restart(s), 0);
	r = it_get(s, &mgr, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", MGR, MGR_PW, 201, NULL);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_operator_invites_manager, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_user_lifecycle, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_manager_cannot_remove_self, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_tenant_contract, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_account_list_paging, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_account_list_details_and_filter, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_lockout_and_unlock, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_password_change_ends_other_sessions,
						it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_own_profile_change, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_session_idle_expiry, setup_short_idle,
						it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
