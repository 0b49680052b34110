/*
 * Integration: access controls (C3, C4) against a real `kura serve` and a real SMTP server.
 * Source-IP allowlist at login and on every request (clients bound to 127.0.0.2/.3 with
 * CURLOPT_INTERFACE), the self-lockout guard, trusted proxy + X-Forwarded-For, per-tenant
 * lockout settings and the lock mail, the per-address delay, password reset (single use,
 * expiry by restarting with KURA_TEST_CLOCK_OFFSET_S, manager-forced), app passwords
 * (scope, where they are refused, revocation, allowlist), cross-tenant separation and bad
 * input. Audit records are read the way the tenant's manager reads them (GET /api/v1/audit),
 * the provider's own chain with `kura admin audit provider-events`; that secrets are stored
 * only as hashes is shown by their absence from the raw bytes of kura.db and its WAL.
 */
#include <pthread.h>
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

#define MGR "chief.manager"
#define MGR_PW "Alpha-manager-pass-1"
#define BOB_PW "Bob-user-password-2"
#define NEW_PW "Fresh-bob-password-3"
#define IF2 "host!127.0.0.2"
#define IF3 "host!127.0.0.3"

/* ---------------------------------------------------------------- helpers */

/* A request with the session (cookie + CSRF), optional interface and extra headers. Takes body. */
static struct it_response *req_as(struct it_server *s, const struct it_session *sess, const char *iface,
				  const char *method, const char *path, json_t *body,
				  const char *const *headers)
{
	struct it_request rq = { .method = method, .path = path, .json = body,
				 .cookie = sess ? sess->token : NULL, .csrf = sess ? sess->csrf : NULL,
				 .interface = iface, .headers = headers };
	struct it_response *r = it_request(s, &rq);

	json_decref(body);
	return r;
}

/* POST /api/v1/session from an interface with extra headers; returns the status. */
static long login_as(struct it_server *s, const char *iface, const char *const *headers, const char *tenant,
		     const char *login, const char *pw, struct it_session *ret, struct it_response **ret_r)
{
	struct it_response *r = req_as(s, NULL, iface, "POST", "/api/v1/session",
				       json_pack("{s:s, s:s, s:s}", "tenant", tenant, "login", login,
						 "password", pw), headers);
	long st = r->status;

	if (st == 201 && ret) {
		size_t n = strcspn(r->set_cookie + 13, ";");

		memset(ret, 0, sizeof(*ret));
		memcpy(ret->token, r->set_cookie + 13, n < sizeof(ret->token) - 1 ? n : sizeof(ret->token) - 1);
		snprintf(ret->csrf, sizeof(ret->csrf), "%s", it_json_str(r->json, "csrf_token"));
	}
	if (ret_r)
		*ret_r = r;
	else
		it_response_free(r);
	return st;
}

static struct it_response *basic_req(struct it_server *s, const char *iface, const char *method,
				     const char *path, const char *user, const char *secret, json_t *body,
				     const char *extra)
{
	char line[IT_STR * 3], raw[IT_STR];
	const char *headers[3] = { line, extra, NULL };
	size_t n, i, o = 0;
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char enc[IT_STR * 2];

	snprintf(raw, sizeof(raw), "%s:%s", user, secret);
	n = strlen(raw);
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)raw[i] << 16 | (i + 1 < n ? (unsigned char)raw[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)raw[i + 2] : 0);

		enc[o++] = b64[(v >> 18) & 63];
		enc[o++] = b64[(v >> 12) & 63];
		enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		enc[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	enc[o] = '\0';
	snprintf(line, sizeof(line), "Authorization: Basic %s", enc);
	return req_as(s, NULL, iface, method, path, body, headers);
}

/* Records of the manager's tenant (GET /api/v1/audit with query; headers for requests that
 * come through the proxy) whose details mention both needles (NULL: anything). */
static long audit_with(struct it_server *s, const struct it_session *mgr, const char *const *headers,
		       const char *query, const char *needle, const char *needle2)
{
	json_t *ev = it_audit_events(s, mgr, headers, query), *e;
	long n = 0;
	size_t i;

	json_array_foreach(ev, i, e) {
		char *d = json_dumps(json_object_get(e, "details"), JSON_COMPACT);

		if ((!needle || (d && strstr(d, needle))) && (!needle2 || (d && strstr(d, needle2))))
			n++;
		free(d);
	}
	json_decref(ev);
	return n;
}

/* Records of the provider's own chain (requests that named no known tenant) with this action
 * and result, through `kura admin audit provider-events`, every page. */
static long provider_count(struct it_server *s, const char *action, const char *result)
{
	char after[32] = "0";
	long n = 0;

	for (;;) {
		json_t *j = NULL, *next;

		assert_int_equal(it_admin(s, &j, "audit", "provider-events", "--action", action, "--result", result,
					  "--after", after, NULL), 0);
		n += (long)json_array_size(json_object_get(j, "events"));
		next = json_object_get(j, "next_after");
		if (!json_is_integer(next)) {
			json_decref(j);
			return n;
		}
		snprintf(after, sizeof(after), "%lld", (long long)json_integer_value(next));
		json_decref(j);
	}
}

/* base64url without padding (a token's 43 characters) into its 32 bytes; the length. */
static size_t b64url_decode(const char *in, unsigned char *out, size_t size)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0, bits = 0;
	size_t o = 0;

	for (; *in && o < size; in++) {
		const char *p = strchr(t, *in);

		assert_non_null(p);
		v = v << 6 | (unsigned)(p - t);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return o;
}

/* A secret (text, base64url after the prefix) is stored only as its hash: neither its text
 * nor the bytes it encodes are anywhere in the raw database files. The files are read on
 * purpose: what is not stored cannot be shown through an interface. */
static void assert_not_stored(struct it_server *s, const char *secret, const char *prefix)
{
	unsigned char raw[64];
	const char *b64 = secret + strlen(prefix);
	size_t n;

	assert_int_equal(strncmp(secret, prefix, strlen(prefix)), 0);
	n = b64url_decode(b64, raw, sizeof(raw));
	assert_int_equal(n, 32);
	assert_false(it_db_files_hold(s, secret, strlen(secret)));
	assert_false(it_db_files_hold(s, b64, strlen(b64)));
	assert_false(it_db_files_hold(s, raw, n));
}

/* Token after "/reset/" in a mail, malloc'd. */
static char *reset_token(const char *text)
{
	const char *p = strstr(text, "/reset/");
	size_t n;

	if (!p)
		return NULL;
	p += strlen("/reset/");
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	return strndup(p, n);
}

static void put_list(struct it_server *s, const struct it_session *mgr, const char *iface, json_t *body,
		     long want)
{
	struct it_response *r = req_as(s, mgr, iface, "PUT", "/api/v1/tenant/ip-allowlist", body, NULL);

	if (r->status != want)
		print_error("PUT ip-allowlist: %ld %s\n", r->status, r->body);
	IT_ASSERT_STATUS(r, want);
	it_response_free(r);
}

/* alpha with manager MGR (session *mgr from 127.0.0.1) and user bob (*bob). */
static void make_alpha(struct it_server *s, struct it_session *mgr, struct it_session *bob)
{
	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", MGR, MGR_PW, mgr);
	it_create_account(s, mgr, "alpha", "bob", "user", BOB_PW, bob);
}

/* ---------------------------------------------------------------- allowlist */

static void test_allowlist(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob, m1, m2, b3;
	struct it_response *r, *r2;
	char *body_a, *body_b;
	int i;

	make_alpha(s, &mgr, &bob);

	/* empty list: everyone from anywhere */
	r = it_get(s, &mgr, "/api/v1/tenant/ip-allowlist");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "ranges")), 0);
	assert_string_equal(it_json_str(r->json, "your_address"), "127.0.0.1");
	it_response_free(r);
	assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, MGR_PW, NULL, NULL), 201);
	/* users cannot read or change it */
	IT_EXPECT_GET(s, &bob, "/api/v1/tenant/ip-allowlist", 403);
	put_list(s, &bob, NULL, json_pack("{s:[s]}", "ranges", "127.0.0.0/8"), 403);

	/* the self-lockout guard: 409 naming the address, nothing changed */
	r = req_as(s, &mgr, NULL, "PUT", "/api/v1/tenant/ip-allowlist",
		   json_pack("{s:[s]}", "ranges", "127.0.0.2/32"), NULL);
	IT_ASSERT_PROBLEM(r, 409, "self-lockout");
	assert_non_null(strstr(it_json_str(r->json, "detail"), "127.0.0.1"));
	it_response_free(r);
	r = it_get(s, &mgr, "/api/v1/tenant/ip-allowlist");
	assert_int_equal(json_array_size(json_object_get(r->json, "ranges")), 0);
	it_response_free(r);

	/* .1 and .2 allowed; canonical form comes back */
	put_list(s, &mgr, NULL, json_pack("{s:[s,s,s]}", "ranges", "127.0.0.1", "127.0.0.2/32", "127.0.0.1/32"), 200);
	r = it_get(s, &mgr, "/api/v1/tenant/ip-allowlist");
	assert_int_equal(json_array_size(json_object_get(r->json, "ranges")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r->json, "ranges"), 0)), "127.0.0.1/32");
	assert_true(json_is_true(json_object_get(r->json, "your_address_allowed")));
	it_response_free(r);
	assert_int_equal(login_as(s, NULL, NULL, "alpha", MGR, MGR_PW, &m1, NULL), 201);
	assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, MGR_PW, &m2, NULL), 201);
	/* a user is not covered unless apply_to_all_users */
	assert_int_equal(login_as(s, IF3, NULL, "alpha", "bob", BOB_PW, &b3, NULL), 201);

	/* remove .2: the session used from .2 gets 403 and is gone */
	put_list(s, &m1, NULL, json_pack("{s:[s]}", "ranges", "127.0.0.1/32"), 200);
	r = req_as(s, &m2, IF2, "GET", "/api/v1/me", NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	assert_non_null(strstr(it_json_str(r->json, "detail"), "127.0.0.2"));
	it_response_free(r);
	r = req_as(s, &m2, NULL, "GET", "/api/v1/me", NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	assert_int_equal(audit_with(s, &m1, NULL, "action=session.end&result=denied", "127.0.0.2", NULL), 1);
	/* m1 and bob's session from .3 still work */
	IT_EXPECT_GET(s, &m1, "/api/v1/me", 200);
	r = req_as(s, &b3, IF3, "GET", "/api/v1/me", NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	/* login from .2: 403 whether the password is right or wrong, and for unknown logins */
	assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, MGR_PW, NULL, &r), 403);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	assert_string_equal(r->set_cookie, "");
	assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, "wrong-password-42", NULL, &r2), 403);
	json_object_del(r->json, "request_id");
	json_object_del(r2->json, "request_id");
	body_a = json_dumps(r->json, JSON_SORT_KEYS);
	body_b = json_dumps(r2->json, JSON_SORT_KEYS);
	assert_string_equal(body_a, body_b);
	free(body_a);
	free(body_b);
	it_response_free(r);
	it_response_free(r2);
	assert_int_equal(login_as(s, IF2, NULL, "alpha", "nosuchlogin", "x-wrong-password", NULL, NULL), 403);
	/* refusals from outside do not count toward the lock */
	for (i = 0; i < 6; i++)
		assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, "wrong-password-42", NULL, NULL), 403);
	assert_int_equal(login_as(s, NULL, NULL, "alpha", MGR, MGR_PW, NULL, NULL), 201);
	assert_true(audit_with(s, &m1, NULL, "action=session.create", "ip-not-allowed", "127.0.0.2") >= 8);
	/* unknown tenants stay the generic 401 */
	assert_int_equal(login_as(s, IF2, NULL, "nosuch", MGR, MGR_PW, NULL, NULL), 401);

	/* apply to all users: bob's session from .3 ends, bob logs in only from .1 */
	put_list(s, &m1, NULL, json_pack("{s:[s], s:b}", "ranges", "127.0.0.1/32", "apply_to_all_users", 1), 200);
	r = req_as(s, &b3, IF3, "GET", "/api/v1/me", NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	it_response_free(r);
	assert_int_equal(login_as(s, IF3, NULL, "alpha", "bob", BOB_PW, NULL, NULL), 403);
	assert_int_equal(login_as(s, NULL, NULL, "alpha", "bob", BOB_PW, NULL, NULL), 201);

	/* confirmed self-lockout: applied, and the manager's own session ends */
	put_list(s, &m1, NULL, json_pack("{s:[s], s:b}", "ranges", "127.0.0.2/32", "confirm_lockout", 1), 200);
	r = it_get(s, &m1, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	it_response_free(r);
	assert_int_equal(login_as(s, IF2, NULL, "alpha", MGR, MGR_PW, &m2, NULL), 201);
	/* empty list again: no restriction */
	put_list(s, &m2, IF2, json_pack("{s:[]}", "ranges"), 200);
	assert_int_equal(login_as(s, IF3, NULL, "alpha", MGR, MGR_PW, NULL, NULL), 201);
}

static void expect_bad_put(struct it_server *s, const struct it_session *mgr, json_t *body, const char *field)
{
	struct it_response *r = req_as(s, mgr, NULL, "PUT", "/api/v1/tenant/ip-allowlist", body, NULL);

	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	if (field && (!it_json_str(r->json, "field") || strcmp(it_json_str(r->json, "field"), field)))
		fail_msg("field %s, want %s (%s)", it_json_str(r->json, "field"), field, r->body);
	it_response_free(r);
}

static void test_allowlist_bad_input(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob;
	struct it_response *r;
	json_t *many = json_array();
	int i;

	make_alpha(s, &mgr, &bob);
	put_list(s, &mgr, NULL, json_pack("{s:[s, s]}", "ranges", "127.0.0.0/8", "2001:db8::/32"), 200);

	expect_bad_put(s, &mgr, json_pack("{s:[s, s]}", "ranges", "127.0.0.0/8", "10.0.0.1/8"), "ranges[1]");
	expect_bad_put(s, &mgr, json_pack("{s:[s]}", "ranges", "10.0.0.0/33"), "ranges[0]");
	expect_bad_put(s, &mgr, json_pack("{s:[s]}", "ranges", "10.0.0/8"), "ranges[0]");
	expect_bad_put(s, &mgr, json_pack("{s:[s]}", "ranges", "fe80::1%lo/128"), "ranges[0]");
	expect_bad_put(s, &mgr, json_pack("{s:[s]}", "ranges", " 10.0.0.0/8"), "ranges[0]");
	expect_bad_put(s, &mgr, json_pack("{s:[i]}", "ranges", 10), "ranges[0]");
	expect_bad_put(s, &mgr, json_pack("{s:s}", "ranges", "10.0.0.0/8"), "ranges");
	expect_bad_put(s, &mgr, json_pack("{s:[s], s:s}", "ranges", "127.0.0.0/8", "apply_to_all_users", "yes"),
		       "apply_to_all_users");
	expect_bad_put(s, &mgr, json_pack("{s:[s], s:i}", "ranges", "127.0.0.0/8", "confirm_lockout", 1),
		       "confirm_lockout");
	expect_bad_put(s, &mgr, json_pack("{s:[s], s:b}", "ranges", "127.0.0.0/8", "extra", 1), "extra");
	expect_bad_put(s, &mgr, json_pack("{}"), "ranges");
	for (i = 0; i < 101; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "10.0.%d.0/24", i);
		json_array_append_new(many, json_string(buf));
	}
	json_array_append_new(many, json_string("127.0.0.0/8"));
	expect_bad_put(s, &mgr, json_pack("{s:o}", "ranges", many), "ranges");
	/* nothing changed */
	r = it_get(s, &mgr, "/api/v1/tenant/ip-allowlist");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "ranges")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r->json, "ranges"), 1)),
			    "2001:db8::/32");
	it_response_free(r);
	/* a list of exactly the limit is accepted */
	many = json_array();
	for (i = 0; i < 99; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "10.1.%d.0/24", i);
		json_array_append_new(many, json_string(buf));
	}
	json_array_append_new(many, json_string("127.0.0.0/8"));
	put_list(s, &mgr, NULL, json_pack("{s:o}", "ranges", many), 200);
}

/* ---------------------------------------------------------------- trusted proxy */

static int setup_proxy(void **state)
{
	struct it_options o = { .extra_config = "[server]\ntrusted_proxies = 127.0.0.1/32, 10.0.0.0/8\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

static void test_trusted_proxy(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob, m;
	const char *xff_ok[] = { "X-Forwarded-For: 198.51.100.1, 203.0.113.7", NULL };
	const char *xff_chain[] = { "X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 10.0.0.9", NULL };
	const char *xff_bad[] = { "X-Forwarded-For: 203.0.113.7, 198.51.100.1", NULL };
	const char *xff_port[] = { "X-Forwarded-For: 203.0.113.7:4711", NULL };
	const char *xff_9[] = { "X-Forwarded-For: 203.0.113.9", NULL };
	struct it_response *r;

	make_alpha(s, &mgr, &bob);
	/* the manager's address is the XFF client: the guard checks that one */
	r = req_as(s, &mgr, NULL, "PUT", "/api/v1/tenant/ip-allowlist",
		   json_pack("{s:[s]}", "ranges", "203.0.113.0/24"), NULL);
	IT_ASSERT_PROBLEM(r, 409, "self-lockout");   /* no XFF: the proxy 127.0.0.1 itself */
	it_response_free(r);
	r = req_as(s, &mgr, NULL, "PUT", "/api/v1/tenant/ip-allowlist",
		   json_pack("{s:[s]}", "ranges", "203.0.113.0/24"), xff_ok);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "your_address"), "203.0.113.7");
	it_response_free(r);
	/* several headers form one list; trusted hops on the right are skipped */
	r = req_as(s, &mgr, NULL, "GET", "/api/v1/tenant/ip-allowlist", NULL, xff_chain);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "your_address"), "203.0.113.7");
	it_response_free(r);
	/* logins */
	assert_int_equal(login_as(s, NULL, xff_9, "alpha", MGR, MGR_PW, &m, NULL), 201);
	assert_int_equal(login_as(s, NULL, xff_bad, "alpha", MGR, MGR_PW, NULL, NULL), 403);
	assert_int_equal(login_as(s, NULL, NULL, "alpha", MGR, MGR_PW, NULL, NULL), 403);
	assert_int_equal(login_as(s, NULL, xff_port, "alpha", MGR, MGR_PW, NULL, NULL), 403);
	/* an untrusted peer's X-Forwarded-For is ignored */
	assert_int_equal(login_as(s, IF2, xff_ok, "alpha", MGR, MGR_PW, NULL, NULL), 403);
	/* the session is bound to the list: a request whose right-most untrusted hop is outside ends it */
	r = req_as(s, &m, NULL, "GET", "/api/v1/me", NULL, xff_bad);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	assert_non_null(strstr(it_json_str(r->json, "detail"), "198.51.100.1"));
	it_response_free(r);
	r = req_as(s, &m, NULL, "GET", "/api/v1/me", NULL, xff_9);
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	/* read through the proxy as the manager does now, with a session from an allowed address */
	assert_int_equal(login_as(s, NULL, xff_9, "alpha", MGR, MGR_PW, &m, NULL), 201);
	{
		json_t *ev = it_audit_events(s, &m, xff_9, "result=denied"), *e;
		size_t i;
		long n = 0;

		json_array_foreach(ev, i, e)
			n += !strcmp(it_json_str(e, "source_ip"), "198.51.100.1");
		json_decref(ev);
		assert_int_equal(n, 2);
	}
}

/* ---------------------------------------------------------------- lockout */

static void expect_bad_patch(struct it_server *s, const struct it_session *mgr, json_t *body, const char *field)
{
	struct it_response *r = it_send(s, mgr, "PATCH", "/api/v1/tenant/security", body);

	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), field);
	it_response_free(r);
}

static long json_int(const json_t *o, const char *k)
{
	return (long)json_integer_value(json_object_get(o, k));
}

static void test_lockout_settings_and_mail(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob, bmgr, bbob;
	struct it_response *r;
	struct it_mail *m;
	int i;

	make_alpha(s, &mgr, &bob);
	it_create_tenant(s, "bravo", NULL);
	it_create_manager(s, "bravo", "boss", "Bravo-manager-pass-9", &bmgr);
	it_create_account(s, &bmgr, "bravo", "bob", "user", BOB_PW, &bbob);

	r = it_get(s, &mgr, "/api/v1/tenant/security");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_int(r->json, "lockout_threshold"), 5);
	assert_int_equal(json_int(r->json, "lockout_window_seconds"), 900);
	assert_int_equal(json_int(r->json, "lockout_duration_seconds"), 900);
	it_response_free(r);
	IT_EXPECT_GET(s, &bob, "/api/v1/tenant/security", 403);

	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/security", json_pack("{s:i, s:i}", "lockout_threshold", 3,
									     "lockout_duration_seconds", 600));
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_int(r->json, "lockout_threshold"), 3);
	assert_int_equal(json_int(r->json, "lockout_duration_seconds"), 600);
	assert_int_equal(json_int(json_object_get(r->json, "defaults"), "lockout_threshold"), 5);
	it_response_free(r);
	/* bad input changes nothing */
	expect_bad_patch(s, &mgr, json_pack("{s:i}", "lockout_threshold", 0), "lockout_threshold");
	expect_bad_patch(s, &mgr, json_pack("{s:i}", "lockout_threshold", 101), "lockout_threshold");
	expect_bad_patch(s, &mgr, json_pack("{s:s}", "lockout_threshold", "3"), "lockout_threshold");
	expect_bad_patch(s, &mgr, json_pack("{s:f}", "lockout_threshold", 2.5), "lockout_threshold");
	expect_bad_patch(s, &mgr, json_pack("{s:b}", "lockout_threshold", 1), "lockout_threshold");
	expect_bad_patch(s, &mgr, json_pack("{s:i}", "lockout_window_seconds", 59), "lockout_window_seconds");
	expect_bad_patch(s, &mgr, json_pack("{s:I}", "lockout_duration_seconds", (json_int_t)1 << 40),
			 "lockout_duration_seconds");
	expect_bad_patch(s, &mgr, json_pack("{s:i}", "lockout", 3), "lockout");
	r = it_get(s, &mgr, "/api/v1/tenant/security");
	assert_int_equal(json_int(r->json, "lockout_threshold"), 3);
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &mgr, "action=tenant.security.update") +
			 it_audit_count(s, &bmgr, "action=tenant.security.update"), 1);

	/* alpha's bob locks after 3 failures; the lock mail reaches him and the manager */
	for (i = 0; i < 3; i++)
		IT_ASSERT_LOGIN(s, "alpha", "bob", "wrong-password-42", 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "bob", BOB_PW, 401, NULL);
	m = it_wait_for_mail(s, "bob@alpha.example.com", 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "locked"));
	assert_non_null(strstr(m->body, "127.0.0.1"));
	/* the account's own variant of mail/account-locked.*.txt, times in the tenant's zone */
	assert_non_null(strstr(m->body, "If this was not you"));
	assert_null(strstr(m->body, "from the account list"));
	assert_non_null(strstr(m->body, "+09:00 after repeated failed logins"));
	it_mail_free(m);
	m = it_wait_for_mail(s, MGR "@alpha.example.com", 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "bob"));
	assert_non_null(strstr(m->body, "unlock"));
	assert_non_null(strstr(m->body, "A manager can unlock it from the account list."));
	assert_null(strstr(m->body, "If this was not you"));
	it_mail_free(m);
	assert_int_equal(it_audit_count(s, &mgr, "action=account.lock") + it_audit_count(s, &bmgr, "action=account.lock"),
			 1);

	/* bravo keeps the default of 5: alpha's setting does not reach it */
	r = it_get(s, &bmgr, "/api/v1/tenant/security");
	assert_int_equal(json_int(r->json, "lockout_threshold"), 5);
	it_response_free(r);
	for (i = 0; i < 3; i++)
		IT_ASSERT_LOGIN(s, "bravo", "bob", "wrong-password-42", 401, NULL);
	IT_ASSERT_LOGIN(s, "bravo", "bob", BOB_PW, 201, NULL);

	/* the manager unlocks */
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/bob/unlock", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "bob", BOB_PW, 201, NULL);
	/* null goes back to the default */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/security", json_pack("{s:n}", "lockout_threshold"));
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_int(r->json, "lockout_threshold"), 5);
	assert_int_equal(json_int(r->json, "lockout_duration_seconds"), 600);
	it_response_free(r);
}

/* ---------------------------------------------------------------- per-address delay */

struct bg_login {
	struct it_server *s;
	long status;
};

static void *bg_login_run(void *arg)
{
	struct bg_login *b = arg;

	__atomic_store_n(&b->status, login_as(b->s, NULL, NULL, "alpha", "nosuch", "wrong-password-42", NULL, NULL),
			 __ATOMIC_SEQ_CST);
	return NULL;
}

/* The server logs each delay when it begins ("auth.throttle", request_id, delay_ms): the
 * tests read who was held, and how long, from the server itself, not from a wall clock. */
static long throttle_lines(struct it_server *s)
{
	char *log = it_read_file(s->log_path, NULL), *p;
	long n = 0;

	for (p = log; p && (p = strstr(p, "\"auth.throttle\"")); p++)
		n++;
	free(log);
	return n;
}

/* delay_ms logged for the request that answered r, or -1 when it was not held at all */
static long logged_delay(struct it_server *s, const struct it_response *r)
{
	char id[64], needle[96], *log, *line, *end, *d;
	const char *h = strcasestr(r->headers, "X-Request-Id: ");
	long ms = -1;

	assert_non_null(h);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(h + 14, "\r\n"), h + 14);
	snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", id);
	log = it_read_file(s->log_path, NULL);
	assert_non_null(log);
	for (line = log; *line; line = *end ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		if (strstr(line, "\"auth.throttle\"") && (d = strstr(line, "\"delay_ms\":\"")) && d < end) {
			char *m = strstr(line, needle);

			if (m && m < end)
				ms = strtol(d + 12, NULL, 10);
		}
	}
	free(log);
	return ms;
}

static long login_delay(struct it_server *s, const char *iface, const char *login, const char *pw, long status)
{
	struct it_response *r;
	long ms;

	assert_int_equal(login_as(s, iface, NULL, "alpha", login, pw, NULL, &r), status);
	ms = logged_delay(s, r);
	it_response_free(r);
	return ms;
}

static void test_per_address_delay(void **state)
{
	/* the delays are read from the server's log, and a node bounds its own sleepers (one
	 * delayed login per address per node: docs/scale-out.md): with two nodes
	 * (KURA_IT_TOPOLOGY) the test talks to node A itself, not through the proxy */
	struct it_server *s = it_node(*state, 0);
	struct it_session mgr, bob;
	struct bg_login bg;
	struct it_response *r;
	pthread_t th;
	long n, ms;
	int i;

	make_alpha(s, &mgr, &bob);
	/* spraying unknown logins from 127.0.0.1: 10 failures are free */
	for (i = 0; i < 10; i++)
		assert_int_equal(login_delay(s, NULL, "spray", "wrong-password-42", 401), -1);
	/* then 100, 200, 400, 800, 1600 ms, each counted from the last failure */
	for (i = 0; i < 4; i++)
		assert_int_equal(login_as(s, NULL, NULL, "alpha", "spray", "wrong-password-42", NULL, NULL), 401);
	ms = login_delay(s, NULL, "spray", "wrong-password-42", 401);
	if (ms <= 800 || ms > 1600)
		fail_msg("the 15th failure was held %ld ms, want 1600 less the time since the 14th", ms);
	/* a second attempt while one is being delayed (3200 ms): 429 at once, before the
	 * delayed one answers, and not held itself */
	bg.s = s;
	bg.status = 0;
	n = throttle_lines(s);
	assert_int_equal(pthread_create(&th, NULL, bg_login_run, &bg), 0);
	for (i = 0; i < 300 && throttle_lines(s) == n; i++)
		usleep(10 * 1000);
	assert_int_equal(throttle_lines(s), n + 1);   /* the background login is in its delay */
	r = req_as(s, NULL, NULL, "POST", "/api/v1/session",
		   json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", MGR, "password", MGR_PW), NULL);
	IT_ASSERT_PROBLEM(r, 429, "too-many-requests");
	assert_int_equal(__atomic_load_n(&bg.status, __ATOMIC_SEQ_CST), 0);
	assert_non_null(strcasestr(r->headers, "Retry-After:"));
	assert_int_equal(logged_delay(s, r), -1);
	it_response_free(r);
	pthread_join(th, NULL);
	assert_int_equal(bg.status, 401);
	/* another address is not slowed, and nobody is locked out */
	assert_int_equal(login_delay(s, IF2, MGR, MGR_PW, 201), -1);
	/* the delay (now 5 s, the cap) applies to correct passwords too: it comes before the check */
	assert_true(login_delay(s, NULL, MGR, MGR_PW, 201) > 3000);
	/* a client that waits out the delay itself (the scenario is the wait) is not held */
	sleep(5);
	assert_int_equal(login_delay(s, NULL, MGR, MGR_PW, 201), -1);
	/* failed Basic attempts count as well: 127.0.0.3 is slowed after 10 */
	for (i = 0; i < 12; i++) {
		r = basic_req(s, IF3, "GET", "/api/v1/me", "bob@alpha", "kura_ap_wrong", NULL, NULL);
		IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
		it_response_free(r);
	}
	r = basic_req(s, IF3, "GET", "/api/v1/me", "bob@alpha", "kura_ap_wrong", NULL, NULL);
	assert_true(logged_delay(s, r) > 0);
	it_response_free(r);
}

/* ---------------------------------------------------------------- password reset */

static int setup_two(void **state)
{
	return it_setup_server(state);
}

static char *request_reset_mail(struct it_server *s, const char *login)
{
	struct it_response *r = it_send(s, NULL, "POST", "/api/v1/password-reset",
					json_pack("{s:s, s:s}", "tenant", "alpha", "login", login));
	char to[IT_STR];
	struct it_mail *m;
	char *token;

	IT_ASSERT_STATUS(r, 202);
	assert_int_equal(r->body_len, 0);
	it_response_free(r);
	snprintf(to, sizeof(to), "%s@alpha.example.com", login);
	m = it_wait_for_mail(s, to, 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, s->public_url));
	token = reset_token(m->body);
	assert_non_null(token);
	assert_true(strlen(token) == 43);
	it_mail_free(m);
	return token;
}

static void test_password_reset(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob, bob2;
	struct it_response *r, *r2;
	char path[IT_STR], *token, *token2;

	make_alpha(s, &mgr, &bob);
	IT_ASSERT_LOGIN(s, "alpha", "bob", BOB_PW, 201, &bob2);
	token = request_reset_mail(s, "bob");

	/* unknown login, unknown tenant, invited/odd input: the same 202, and no mail */
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "alpha",
									   "login", "nobody"));
	r2 = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "nosuch",
									    "login", "bob"));
	IT_ASSERT_STATUS(r, 202);
	IT_ASSERT_STATUS(r2, 202);
	assert_int_equal(r->body_len, 0);
	assert_int_equal(r2->body_len, 0);
	it_response_free(r);
	it_response_free(r2);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:i}", "tenant", "alpha",
									   "login", 5));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	assert_int_equal(it_mails_before_marker(s, "@"), 0);

	/* the page */
	snprintf(path, sizeof(path), "/reset/%s", token);
	r = it_get(s, NULL, path);
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, "/assets/reset.js"));
	assert_non_null(strstr(r->headers, "script-src 'self'"));
	it_response_free(r);
	IT_EXPECT_GET(s, NULL, "/assets/reset.js", 200);

	/* weak password: 400, the token stays usable */
	snprintf(path, sizeof(path), "/api/v1/password-reset/%s", token);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "short"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	it_response_free(r);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "bob"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	it_response_free(r);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", NEW_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	/* every session ended; old password gone; new one works */
	IT_EXPECT_GET(s, &bob, "/api/v1/me", 401);
	IT_EXPECT_GET(s, &bob2, "/api/v1/me", 401);
	IT_ASSERT_LOGIN(s, "alpha", "bob", BOB_PW, 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "bob", NEW_PW, 201, &bob);
	/* single use; unknown tokens */
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "Another-fine-pass-4"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    json_pack("{s:s}", "password", "Another-fine-pass-4"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset/short", json_pack("{s:s}", "password", "Another-fine-pass-4"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset"), 1);
	/* the unknown login in alpha's log, the unknown tenant in the provider's */
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset.request&result=failure"), 1);
	assert_int_equal(provider_count(s, "password.reset.request", "failure"), 1);
	assert_int_equal(provider_count(s, "password.reset", "success"), 0);
	/* the reset token is kept only as its hash */
	assert_not_stored(s, token, "");
	free(token);

	/* a newer request spends the older link */
	token = request_reset_mail(s, "bob");
	token2 = request_reset_mail(s, "bob");
	snprintf(path, sizeof(path), "/api/v1/password-reset/%s", token);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "Another-fine-pass-4"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
	free(token);

	/* expiry: 31 minutes later the link is dead */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "1860", 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	snprintf(path, sizeof(path), "/api/v1/password-reset/%s", token2);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "Another-fine-pass-4"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "bob", NEW_PW, 201, NULL);
	free(token2);
}

static void test_forced_reset(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob;
	struct it_response *r;
	struct it_mail *m;
	char path[IT_STR], *token, secret[IT_STR];

	make_alpha(s, &mgr, &bob);
	r = it_send(s, &bob, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "dav",
									     "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);

	/* users may not; a manager may not on themselves; unknown accounts are 404 */
	r = it_send(s, &bob, "POST", "/api/v1/accounts/" MGR "/password-reset", NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/" MGR "/password-reset", NULL);
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/accounts/nosuch/password-reset", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	r = it_send(s, &mgr, "POST", "/api/v1/accounts/bob/password-reset", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	/* the password, the sessions and the app passwords stop working at once */
	IT_EXPECT_GET(s, &bob, "/api/v1/me", 401);
	IT_ASSERT_LOGIN(s, "alpha", "bob", BOB_PW, 401, NULL);
	r = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", secret, NULL, NULL);
	IT_ASSERT_STATUS(r, 401);
	it_response_free(r);
	m = it_wait_for_mail(s, "bob@alpha.example.com", 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "manager"));
	token = reset_token(m->body);
	assert_non_null(token);
	it_mail_free(m);
	snprintf(path, sizeof(path), "/api/v1/password-reset/%s", token);
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", NEW_PW));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", "bob", NEW_PW, 201, NULL);
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset.force"), 1);
	free(token);
}

/* ---------------------------------------------------------------- app passwords */

static void test_app_passwords(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob;
	struct it_response *r;
	char ro[IT_STR], rw[IT_STR], bob_secret[IT_STR], path[IT_STR];
	const char *cross_site = "Sec-Fetch-Site: cross-site";
	long ro_id;

	make_alpha(s, &mgr, &bob);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "reader",
									     "scope", "read"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(ro, sizeof(ro), "%s", it_json_str(r->json, "secret"));
	assert_int_equal(strncmp(ro, "kura_ap_", 8), 0);
	assert_int_equal(strlen(ro), 8 + 43);
	assert_string_equal(it_json_str(r->json, "username"), MGR "@alpha");
	assert_string_equal(it_json_str(r->json, "scope"), "read");
	ro_id = (long)json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "同期クライアント",
									     "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(rw, sizeof(rw), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	r = it_send(s, &bob, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "bob's",
									     "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(bob_secret, sizeof(bob_secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	/* bad input */
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "x", "scope", "write"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "", "scope", "read"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s}", "name", "x"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	/* read scope: GET ok (no cookie, no CSRF), PATCH refused */
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "login"), MGR);
	it_response_free(r);
	r = basic_req(s, NULL, "HEAD", "/api/v1/accounts", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = basic_req(s, NULL, "PATCH", "/api/v1/accounts/bob", MGR "@alpha", ro,
		      json_pack("{s:s}", "display_name", "Bob R"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	/* the files API: read scope reads, cannot upload (a streaming route, refused before the body);
	 * read-write uploads (an empty file) */
	r = basic_req(s, NULL, "GET", "/api/v1/quota", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = basic_req(s, NULL, "PUT", "/api/v1/folders/root/files/a.txt", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = basic_req(s, NULL, "PUT", "/api/v1/folders/root/files/a.txt", MGR "@alpha", rw, NULL, NULL);
	if (r->status != 201 && r->status != 200)
		fail_msg("read-write app password upload: %ld %s", r->status, r->body);
	it_response_free(r);
	/* read-write changes files without a CSRF token... */
	r = basic_req(s, NULL, "POST", "/api/v1/folders/root/children", MGR "@alpha", rw,
		      json_pack("{s:s}", "name", "from-client"), NULL);
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	/* ...unless a browser marks it cross-site */
	r = basic_req(s, NULL, "POST", "/api/v1/folders/root/children", MGR "@alpha", rw,
		      json_pack("{s:s}", "name", "cross-site"), cross_site);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	/* ...but never administers, whatever the role may do: a stolen client secret must not
	 * invite a manager of the attacker's choosing, change accounts or unlock them (the
	 * review's finding); reading stays possible */
	r = basic_req(s, NULL, "POST", "/api/v1/accounts", MGR "@alpha", rw,
		      json_pack("{s:s, s:s, s:s}", "login", "evilmgr", "email", "evil@evil.example", "role",
				"manager"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = basic_req(s, NULL, "PATCH", "/api/v1/accounts/bob", MGR "@alpha", rw,
		      json_pack("{s:s}", "display_name", "Bob W"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = basic_req(s, NULL, "POST", "/api/v1/accounts/bob/unlock", MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/accounts/evilmgr", MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	/* the role still decides: bob's app password cannot manage accounts */
	r = basic_req(s, NULL, "GET", "/api/v1/accounts", "bob@alpha", bob_secret, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);

	/* never at the portal login, app-password, password, session or security endpoints */
	r = basic_req(s, NULL, "POST", "/api/v1/session", MGR "@alpha", rw,
		      json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", MGR, "password", rw), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	assert_string_equal(r->set_cookie, "");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "alpha", MGR, rw, 401, NULL);
	r = basic_req(s, NULL, "GET", "/api/v1/me/app-passwords", MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "POST", "/api/v1/me/app-passwords", MGR "@alpha", rw,
		      json_pack("{s:s, s:s}", "name", "more", "scope", "read-write"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/me/app-passwords/%ld", ro_id);
	r = basic_req(s, NULL, "DELETE", path, MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "POST", "/api/v1/me/password", MGR "@alpha", rw,
		      json_pack("{s:s, s:s}", "current_password", MGR_PW, "new_password", "Whatever-pass-77"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "DELETE", "/api/v1/session", MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "PUT", "/api/v1/tenant/ip-allowlist", MGR "@alpha", rw, json_pack("{s:[]}", "ranges"),
		      NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	/* nor at the MFA endpoints: an app password can neither enrol nor remove a second factor */
	r = basic_req(s, NULL, "GET", "/api/v1/me/mfa", MGR "@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "POST", "/api/v1/me/mfa/totp", MGR "@alpha", rw, json_pack("{}"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "POST", "/api/v1/me/recovery-codes", MGR "@alpha", rw, json_pack("{}"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "PATCH", "/api/v1/tenant/mfa-policy", MGR "@alpha", rw, json_pack("{}"), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);
	r = basic_req(s, NULL, "PATCH", "/api/v1/tenant/security", MGR "@alpha", rw,
		      json_pack("{s:i}", "lockout_threshold", 1), NULL);
	IT_ASSERT_PROBLEM(r, 403, "app-password-not-allowed");
	it_response_free(r);

	/* wrong secret, someone else's name, another tenant, the account password: 401 */
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@alpha", "kura_ap_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		      NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@bravo", rw, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@alpha", MGR_PW, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);

	/* the list: names, scopes, last use, no secrets */
	r = it_get(s, &mgr, "/api/v1/me/app-passwords");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 2);
	{
		json_t *first = json_array_get(json_object_get(r->json, "items"), 0);

		assert_string_equal(it_json_str(first, "name"), "reader");
		assert_true(json_is_string(json_object_get(first, "last_used_at")));
		assert_string_equal(it_json_str(first, "last_used_address"), "127.0.0.1");
		assert_null(json_object_get(first, "secret"));
	}
	assert_null(strstr(r->body, ro));
	it_response_free(r);
	/* three app passwords (bob's one besides these two), each kept only as its hash */
	r = it_get(s, &bob, "/api/v1/me/app-passwords");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	it_response_free(r);
	assert_not_stored(s, ro, "kura_ap_");
	assert_not_stored(s, rw, "kura_ap_");
	assert_not_stored(s, bob_secret, "kura_ap_");

	/* the allowlist applies to app passwords */
	put_list(s, &mgr, NULL, json_pack("{s:[s], s:b}", "ranges", "127.0.0.1/32", "apply_to_all_users", 1), 200);
	r = basic_req(s, IF2, "GET", "/api/v1/me", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	it_response_free(r);
	r = basic_req(s, IF2, "GET", "/api/v1/me", "bob@alpha", bob_secret, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 403, "ip-not-allowed");
	it_response_free(r);
	/* both refusals are in the tenant's own log, where its manager reads them */
	assert_int_equal(audit_with(s, &mgr, NULL, "action=app_password.authenticate&result=denied", "ip-not-allowed",
				    "127.0.0.2"), 2);
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	/* revocation: 204, then 401; someone else's id is 404 */
	r = it_send(s, &bob, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", MGR "@alpha", ro, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);
	r = it_send(s, &mgr, "DELETE", "/api/v1/me/app-passwords/abc", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &mgr, "action=app_password.revoke"), 1);
	assert_int_equal(it_audit_count(s, &mgr, "action=app_password.create"), 3);

	/* a suspended account's app passwords stop at once, over the API and WebDAV alike, and
	 * work again when the account is resumed */
	put_list(s, &mgr, NULL, json_pack("{s:[], s:b}", "ranges", "apply_to_all_users", 0), 200);
	r = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", bob_secret, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/bob", json_pack("{s:s}", "status", "suspended"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", bob_secret, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
	it_response_free(r);
	r = basic_req(s, NULL, "PROPFIND", "/dav/alpha/", "bob", bob_secret, NULL, "Depth: 0");
	assert_int_equal(r->status, 401);
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/accounts/bob", json_pack("{s:s}", "status", "active"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", bob_secret, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
}

/* ---------------------------------------------------------------- cross-tenant */

static void test_cross_tenant(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, bob, bmgr, bbob;
	struct it_response *r;

	make_alpha(s, &mgr, &bob);
	it_create_tenant(s, "bravo", NULL);
	it_create_manager(s, "bravo", "boss", "Bravo-manager-pass-9", &bmgr);
	it_create_account(s, &bmgr, "bravo", "bob", "user", BOB_PW, &bbob);

	/* alpha locks down to .1 for everyone and a threshold of 1 */
	put_list(s, &mgr, NULL, json_pack("{s:[s], s:b}", "ranges", "127.0.0.1/32", "apply_to_all_users", 1), 200);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "lockout_threshold", 1));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	/* bravo sees its own, untouched settings */
	r = it_get(s, &bmgr, "/api/v1/tenant/ip-allowlist");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "ranges")), 0);
	assert_true(json_is_false(json_object_get(r->json, "apply_to_all_users")));
	it_response_free(r);
	r = it_get(s, &bmgr, "/api/v1/tenant/security");
	assert_int_equal(json_int(r->json, "lockout_threshold"), 5);
	it_response_free(r);
	/* bravo's people log in from anywhere; alpha's do not */
	assert_int_equal(login_as(s, IF2, NULL, "bravo", "boss", "Bravo-manager-pass-9", NULL, NULL), 201);
	assert_int_equal(login_as(s, IF2, NULL, "bravo", "bob", BOB_PW, NULL, NULL), 201);
	assert_int_equal(login_as(s, IF2, NULL, "alpha", "bob", BOB_PW, NULL, NULL), 403);
	/* one failure does not lock bravo's bob */
	IT_ASSERT_LOGIN(s, "bravo", "bob", "wrong-password-42", 401, NULL);
	IT_ASSERT_LOGIN(s, "bravo", "bob", BOB_PW, 201, NULL);
	/* bravo's changes do not reach alpha either */
	put_list(s, &bmgr, NULL, json_pack("{s:[s]}", "ranges", "127.0.0.0/8"), 200);
	r = it_get(s, &mgr, "/api/v1/tenant/ip-allowlist");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r->json, "ranges"), 0)), "127.0.0.1/32");
	it_response_free(r);
	/* app passwords do not cross: bravo's bob secret with alpha's bob name */
	r = it_send(s, &bbob, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "b", "scope", "read"));
	IT_ASSERT_STATUS(r, 201);
	{
		char secret[IT_STR];
		struct it_response *r2;

		snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
		r2 = basic_req(s, NULL, "GET", "/api/v1/me", "bob@alpha", secret, NULL, NULL);
		IT_ASSERT_PROBLEM(r2, 401, "authentication-failed");
		it_response_free(r2);
		r2 = basic_req(s, NULL, "GET", "/api/v1/me", "bob@bravo", secret, NULL, NULL);
		IT_ASSERT_STATUS(r2, 200);
		it_response_free(r2);
	}
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_allowlist, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_allowlist_bad_input, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_trusted_proxy, setup_proxy, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_lockout_settings_and_mail, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_per_address_delay, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_password_reset, setup_two, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_forced_reset, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_app_passwords, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_cross_tenant, it_setup_server, it_teardown_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
