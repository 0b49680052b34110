/*
 * Integration: bad input on the public listener gets a clear 4xx and changes nothing.
 * One real server with tenant alpha (manager amgr, user ursula). Every case checks the
 * status, Content-Type application/problem+json, a `type` under urn:kura:problem: and a
 * `status` member equal to the HTTP status, then that the account list is exactly as before
 * (and at the end, that no invitation mail went out for any refused request). Covers:
 * malformed JSON, non-objects, duplicate members, nesting, invalid UTF-8, wrong types,
 * unknown and missing members, out-of-range values (all or nothing on PATCH), bodies over
 * 64 KiB, missing or wrong Content-Type, paths with .., //, bad percent-encoding, NUL or
 * excessive length, unknown paths, wrong methods (Allow), query parameters out of range,
 * and oversized request headers; members checked by their declared kinds (integers,
 * "root", arrays, nullable, enumerations) name the member they refuse.
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
#define URSULA_PW "Alpha-ursula-pass-2"

struct world {
	struct it_server *s;
	struct it_session mgr, ursula;
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
	it_create_manager(w->s, "alpha", "amgr", A_MGR_PW, &w->mgr);
	it_create_account(w->s, &w->mgr, "alpha", "ursula", "user", URSULA_PW, &w->ursula);
	return 0;
}

static int teardown_world(void **state)
{
	struct world *w = *state;
	int status = it_server_stop(w->s);

	free(w);
	return status == 0 ? 0 : -1;
}

/* The full account list as the manager sees it (a new reference). */
static json_t *snapshot(struct world *w)
{
	struct it_response *r = it_get(w->s, &w->mgr, "/api/v1/accounts?limit=1000");
	json_t *items;

	IT_ASSERT_STATUS(r, 200);
	items = json_incref(json_object_get(r->json, "items"));
	assert_true(json_is_array(items));
	it_response_free(r);
	return items;
}

static void assert_unchanged_at(struct world *w, json_t *before, const char *what,
				const char *file, int line)
{
	json_t *after = snapshot(w);

	if (!json_equal(before, after)) {
		char *a = json_dumps(before, JSON_SORT_KEYS), *b = json_dumps(after, JSON_SORT_KEYS);

		print_error("%s changed the accounts:\nbefore %s\nafter  %s\n", what, a, b);
		free(a);
		free(b);
		json_decref(after);
		_fail(file, line);
		return;
	}
	json_decref(after);
}
#define ASSERT_UNCHANGED(w, before, what) assert_unchanged_at(w, before, what, __FILE__, __LINE__)

/* Sends a raw body as the manager (cookie + CSRF). content_type NULL = application/json. */
static struct it_response *raw(struct world *w, const char *method, const char *path,
			       const char *body, size_t len, const char *content_type)
{
	struct it_request req = { .method = method, .path = path, .body = body, .body_len = len,
				  .content_type = content_type, .cookie = w->mgr.token,
				  .csrf = w->mgr.csrf };

	return it_request(w->s, &req);
}

/* status st and one of the problem types (NULL-terminated) */
static void assert_problem_one_of_at(const struct it_response *r, long st,
				     const char *const *types, const char *file, int line)
{
	const char *got = it_json_str(r->json, "type");
	size_t i;

	it_assert_problem_at(r, st, NULL, file, line);
	for (i = 0; types[i]; i++) {
		char want[128];

		snprintf(want, sizeof(want), IT_PROBLEM_PREFIX "%s", types[i]);
		if (got && !strcmp(got, want))
			return;
	}
	print_error("unexpected problem type %s: %s\n", got ? got : "(none)", r->body);
	_fail(file, line);
}
#define ASSERT_PROBLEM_ONE_OF(r, st, ...) do { \
		static const char *const t_[] = { __VA_ARGS__, NULL }; \
		assert_problem_one_of_at(r, st, t_, __FILE__, __LINE__); \
	} while (0)

/* POST body to /api/v1/accounts as the manager: problem st/type, nothing changed. */
static void post_account_at(struct world *w, const char *body, size_t len, long st,
			    const char *type, const char *field, const char *file, int line)
{
	json_t *before = snapshot(w);
	struct it_response *r = raw(w, "POST", "/api/v1/accounts", body, len, NULL);

	if (r->status != st)
		print_error("body: %.300s\n", body);
	it_assert_problem_at(r, st, type, file, line);
	if (field) {
		const char *f = it_json_str(r->json, "field");

		if (!f || strcmp(f, field)) {
			print_error("field '%s', want '%s'\n", f ? f : "(none)", field);
			_fail(file, line);
		}
	}
	it_response_free(r);
	assert_unchanged_at(w, before, body, file, line);
	json_decref(before);
}
#define POST_ACCOUNT(w, body, st, type, field) \
	post_account_at(w, body, strlen(body), st, type, field, __FILE__, __LINE__)

#define EMAIL "\"email\":\"x@alpha.example.com\""

static void test_malformed_json(void **state)
{
	struct world *w = *state;
	char deep[256];
	size_t i, n = 0;

	POST_ACCOUNT(w, "{\"login\":\"x1\",", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "{\"login\":\"x1\" " EMAIL "}", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "{'login':'x1'}", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "[{\"login\":\"x1\"," EMAIL ",\"role\":\"user\"}]", 400, "invalid-json",
		     NULL);
	POST_ACCOUNT(w, "\"x1\"", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "null", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\"} trailing", 400,
		     "invalid-json", NULL);
	/* duplicate members */
	POST_ACCOUNT(w, "{\"login\":\"x1\",\"login\":\"x2\"," EMAIL ",\"role\":\"user\"}", 400,
		     "invalid-json", NULL);
	/* nested 20 deep */
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"login\":\"x1\"," EMAIL
			      ",\"role\":\"user\",\"display_name\":");
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[");
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "]");
	snprintf(deep + n, sizeof(deep) - n, "}");
	POST_ACCOUNT(w, deep, 400, "invalid-json", NULL);
}

static void test_invalid_utf8(void **state)
{
	struct world *w = *state;

	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"display_name\":\"a\xff"
		     "b\"}", 400, "invalid-json", NULL);
	POST_ACCOUNT(w, "{\"login\":\"x\xc0\xaf\"," EMAIL ",\"role\":\"user\"}", 400,
		     "invalid-json", NULL);                         /* overlong */
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"display_name\":\"\xed"
		     "\xa0\x80\"}", 400, "invalid-json", NULL);    /* surrogate */
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"display_name\":\"\xe3"
		     "\x81\"}", 400, "invalid-json", NULL);        /* truncated */
}

static void test_invalid_fields(void **state)
{
	struct world *w = *state;
	char long_login[192];
	json_t *before = snapshot(w);
	struct it_response *r;

	/* wrong types */
	POST_ACCOUNT(w, "{\"login\":42," EMAIL ",\"role\":\"user\"}", 400, "invalid-field",
		     "login");
	POST_ACCOUNT(w, "{\"login\":\"x1\",\"email\":[\"x@alpha.example.com\"],\"role\":\"user\"}",
		     400, "invalid-field", "email");
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":true}", 400, "invalid-field",
		     "role");
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"display_name\":7}", 400,
		     "invalid-field", "display_name");
	/* unknown member */
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"is_admin\":true}", 400,
		     "invalid-field", "is_admin");
	/* missing members */
	POST_ACCOUNT(w, "{\"login\":\"x1\",\"role\":\"user\"}", 400, "invalid-field", "email");
	POST_ACCOUNT(w, "{" EMAIL ",\"role\":\"user\"}", 400, "invalid-field", "login");
	POST_ACCOUNT(w, "{}", 400, "invalid-field", NULL);
	/* out of range */
	POST_ACCOUNT(w, "{\"login\":\"Bad Login\"," EMAIL ",\"role\":\"user\"}", 400,
		     "invalid-field", "login");
	POST_ACCOUNT(w, "{\"login\":\"-dash\"," EMAIL ",\"role\":\"user\"}", 400, "invalid-field",
		     "login");
	POST_ACCOUNT(w, "{\"login\":\"\"," EMAIL ",\"role\":\"user\"}", 400, "invalid-field",
		     "login");
	POST_ACCOUNT(w, "{\"login\":\"../ursula\"," EMAIL ",\"role\":\"user\"}", 400,
		     "invalid-field", "login");
	snprintf(long_login, sizeof(long_login), "{\"login\":\"%065d\"," EMAIL ",\"role\":\"user\"}",
		 1);
	POST_ACCOUNT(w, long_login, 400, "invalid-field", "login");
	POST_ACCOUNT(w, "{\"login\":\"x1\",\"email\":\"not-an-address\",\"role\":\"user\"}", 400,
		     "invalid-field", "email");
	POST_ACCOUNT(w, "{\"login\":\"x1\"," EMAIL ",\"role\":\"operator\"}", 400,
		     "invalid-field", "role");

	/* PATCH is all or nothing */
	r = it_send(w->s, &w->mgr, "PATCH", "/api/v1/accounts/ursula",
		    json_pack("{s:s, s:b}", "status", "suspended", "is_admin", 1));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "is_admin");
	it_response_free(r);
	r = it_send(w->s, &w->mgr, "PATCH", "/api/v1/accounts/ursula",
		    json_pack("{s:s, s:s}", "display_name", "Renamed", "status", "deleted"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "status");
	it_response_free(r);
	r = it_send(w->s, &w->mgr, "PATCH", "/api/v1/accounts/ursula",
		    json_pack("{s:s, s:s}", "display_name", "Renamed", "role", "root"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->mgr, "PATCH", "/api/v1/accounts/ursula",
		    json_pack("{s:i}", "status", 1));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	ASSERT_UNCHANGED(w, before, "PATCH with a bad member");
	IT_EXPECT_GET(w->s, &w->ursula, "/api/v1/me", 200);

	/* the login endpoint checks its body too */
	r = it_send(w->s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:i, s:s, s:s}", "tenant", 1, "login", "amgr", "password",
			      A_MGR_PW));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "tenant");
	it_response_free(r);
	r = it_send(w->s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s, s:s}", "tenant", "alpha", "login", "amgr",
			      "password", A_MGR_PW, "remember", "yes"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "remember");
	it_response_free(r);
	r = it_send(w->s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s}", "tenant", "alpha", "login", "amgr"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	assert_string_equal(it_json_str(r->json, "field"), "password");
	it_response_free(r);
	{
		struct it_request req = { .method = "POST", .path = "/api/v1/session",
					  .body = "{\"tenant\":", .body_len = 10 };

		r = it_request(w->s, &req);
		IT_ASSERT_PROBLEM(r, 400, "invalid-json");
		it_response_free(r);
	}
	/* an unknown tenant is a failed login, not bad input */
	IT_ASSERT_LOGIN(w->s, "nosuchtenant", "amgr", A_MGR_PW, 401, NULL);
	IT_ASSERT_LOGIN(w->s, "alpha", "amgr", A_MGR_PW, 201, NULL);
	json_decref(before);
}

static void test_escaped_oddities(void **state)
{
	struct world *w = *state;
	json_t *before = snapshot(w);
	static const char *const bodies[] = {
		"{\"login\":\"x\\u0000y\"," EMAIL ",\"role\":\"user\"}",        /* NUL */
		"{\"login\":\"x1\"," EMAIL ",\"role\":\"user\",\"display_name\":\"\\ud800\"}",
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct it_response *r = raw(w, "POST", "/api/v1/accounts", bodies[i],
					    strlen(bodies[i]), NULL);

		ASSERT_PROBLEM_ONE_OF(r, 400, "invalid-json", "invalid-field");
		it_response_free(r);
	}
	ASSERT_UNCHANGED(w, before, "escaped NUL / lone surrogate");
	json_decref(before);
}

static void test_body_limits_and_media_type(void **state)
{
	struct world *w = *state;
	json_t *before = snapshot(w);
	size_t big_len = 70 * 1024, n;
	char *big = malloc(big_len + 1);
	const char *ok = "{\"login\":\"x1\"," EMAIL ",\"role\":\"user\"}";
	struct it_response *r;

	/* over 64 KiB, otherwise a valid request */
	assert_non_null(big);
	n = (size_t)snprintf(big, big_len, "{\"login\":\"x1\"," EMAIL
			     ",\"role\":\"user\",\"display_name\":\"");
	memset(big + n, 'a', big_len - n - 2);
	memcpy(big + big_len - 2, "\"}", 2);
	big[big_len] = '\0';
	r = raw(w, "POST", "/api/v1/accounts", big, big_len, NULL);
	IT_ASSERT_PROBLEM(r, 413, "body-too-large");
	it_response_free(r);
	r = it_request(w->s, &(struct it_request){ .method = "POST", .path = "/api/v1/session",
						   .body = big, .body_len = big_len });
	IT_ASSERT_PROBLEM(r, 413, "body-too-large");
	it_response_free(r);
	free(big);
	ASSERT_UNCHANGED(w, before, "a body over 64 KiB");

	/* no Content-Type, or another one */
	r = raw(w, "POST", "/api/v1/accounts", ok, strlen(ok), "");
	IT_ASSERT_PROBLEM(r, 415, "unsupported-media-type");
	it_response_free(r);
	r = raw(w, "POST", "/api/v1/accounts", ok, strlen(ok), "text/plain");
	IT_ASSERT_PROBLEM(r, 415, "unsupported-media-type");
	it_response_free(r);
	r = raw(w, "POST", "/api/v1/accounts", ok, strlen(ok), "application/x-www-form-urlencoded");
	IT_ASSERT_PROBLEM(r, 415, "unsupported-media-type");
	it_response_free(r);
	r = raw(w, "PATCH", "/api/v1/accounts/ursula", "{\"status\":\"suspended\"}", 22, "");
	IT_ASSERT_PROBLEM(r, 415, "unsupported-media-type");
	it_response_free(r);
	ASSERT_UNCHANGED(w, before, "a body without Content-Type: application/json");
	IT_EXPECT_GET(w->s, &w->ursula, "/api/v1/me", 200);
	json_decref(before);
}

/* A path that must be refused as invalid (400 invalid-path) or not found (404). */
static void bad_path_at(struct world *w, const char *method, const char *path, const char *file,
			int line)
{
	struct it_request req = { .method = method, .path = path, .path_as_is = true,
				  .cookie = w->mgr.token, .csrf = w->mgr.csrf };
	struct it_response *r = it_request(w->s, &req);

	if (r->status == 400) {
		it_assert_problem_at(r, 400, "invalid-path", file, line);
	} else if (r->status == 404) {
		it_assert_problem_at(r, 404, "not-found", file, line);
	} else if (!(r->status == 414 && strlen(path) > 2048)) {
		print_error("%s %.200s: HTTP %ld, want 400 invalid-path or 404\n%s\n", method, path,
			    r->status, r->body);
		_fail(file, line);
	}
	it_response_free(r);
}
#define BAD_PATH(w, m, p) bad_path_at(w, m, p, __FILE__, __LINE__)

static void test_bad_paths(void **state)
{
	struct world *w = *state;
	json_t *before = snapshot(w);
	char *long_path;
	struct it_response *r;

	BAD_PATH(w, "GET", "/api/v1/accounts/../tenant");
	BAD_PATH(w, "GET", "/api/v1/../v1/accounts");
	BAD_PATH(w, "DELETE", "/api/v1/accounts/x/../ursula");
	BAD_PATH(w, "DELETE", "/api/v1/accounts/%2e%2e/accounts/ursula");
	BAD_PATH(w, "DELETE", "/api/v1/accounts/ursula/..");
	BAD_PATH(w, "GET", "/api/v1//accounts");
	BAD_PATH(w, "DELETE", "/api/v1/accounts//ursula");
	BAD_PATH(w, "GET", "/api/v1/accounts/%zz");
	BAD_PATH(w, "GET", "/api/v1/accounts/%");
	BAD_PATH(w, "DELETE", "/api/v1/accounts/ursula%00");
	BAD_PATH(w, "DELETE", "/api/v1/accounts/ursula%2f..");
	BAD_PATH(w, "GET", "/api/v1/invitations/..%2f..%2fstatus");
	assert_true(asprintf(&long_path, "/api/v1/accounts/%03000d", 7) > 0);
	BAD_PATH(w, "GET", long_path);
	free(long_path);
	ASSERT_UNCHANGED(w, before, "a bad path");
	IT_EXPECT_GET(w->s, &w->ursula, "/api/v1/me", 200);

	/* unknown paths */
	r = it_get(w->s, &w->mgr, "/api/v1/nope");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(w->s, NULL, "/api/v2/status");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(w->s, &w->mgr, "/api/v1/accounts/ursula/nope");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(w->s, NULL, "/no/such/page");
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	json_decref(before);
}

static void expect_405_at(struct world *w, const char *method, const char *path,
			  const char *allowed, const char *file, int line)
{
	struct it_request req = { .method = method, .path = path, .cookie = w->mgr.token,
				  .csrf = w->mgr.csrf };
	struct it_response *r = it_request(w->s, &req);
	char want[64];
	const char *p;

	if (r->status != 405)
		print_error("%s %s\n", method, path);
	it_assert_problem_at(r, 405, "method-not-allowed", file, line);
	/* every method in the comma-separated list `allowed` is in Allow */
	for (p = allowed; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] ? 1 : 0)) {
		size_t n = strcspn(p, ",");

		snprintf(want, sizeof(want), "%.*s", (int)n, p);
		if (!strstr(r->allow, want)) {
			print_error("%s %s: Allow '%s' lacks %s\n", method, path, r->allow, want);
			_fail(file, line);
		}
	}
	it_response_free(r);
}
#define EXPECT_405(w, m, p, allowed) expect_405_at(w, m, p, allowed, __FILE__, __LINE__)

static void test_wrong_methods(void **state)
{
	struct world *w = *state;
	json_t *before = snapshot(w);

	EXPECT_405(w, "PUT", "/api/v1/status", "GET");
	EXPECT_405(w, "DELETE", "/api/v1/status", "GET");
	EXPECT_405(w, "GET", "/api/v1/session", "POST,DELETE");
	EXPECT_405(w, "DELETE", "/api/v1/tenant", "GET");
	EXPECT_405(w, "PATCH", "/api/v1/accounts", "GET,POST");
	EXPECT_405(w, "PUT", "/api/v1/accounts/ursula", "GET,PATCH,DELETE");
	EXPECT_405(w, "GET", "/api/v1/accounts/ursula/unlock", "POST");
	EXPECT_405(w, "PUT", "/api/v1/me/password", "POST");
	ASSERT_UNCHANGED(w, before, "a wrong method");
	json_decref(before);
}

static void query_at(struct world *w, const char *query, const char *field, const char *file,
		     int line)
{
	char path[128];
	struct it_response *r;
	const char *got;

	snprintf(path, sizeof(path), "/api/v1/accounts?%s", query);
	r = it_get(w->s, &w->mgr, path);
	it_assert_problem_at(r, 400, "invalid-field", file, line);
	got = it_json_str(r->json, "field");
	if (!got || strcmp(got, field)) {
		print_error("?%s: field '%s', want '%s'\n", query, got ? got : "(none)", field);
		_fail(file, line);
	}
	it_response_free(r);
}
#define QUERY(w, q, f) query_at(w, q, f, __FILE__, __LINE__)

static void test_query_out_of_range(void **state)
{
	struct world *w = *state;

	QUERY(w, "limit=0", "limit");
	QUERY(w, "limit=1001", "limit");
	QUERY(w, "limit=abc", "limit");
	QUERY(w, "limit=10x", "limit");
	QUERY(w, "limit=-1", "limit");
	QUERY(w, "limit=99999999999999999999", "limit");
	QUERY(w, "offset=-1", "offset");
	QUERY(w, "offset=x", "offset");
	IT_EXPECT_GET(w->s, &w->mgr, "/api/v1/accounts?limit=1000", 200);
	IT_EXPECT_GET(w->s, &w->mgr, "/api/v1/accounts?limit=1", 200);
}

static void test_oversized_headers(void **state)
{
	struct world *w = *state;
	size_t n = 17 * 1024;
	char *h = malloc(n + 16);
	const char *headers[] = { h, NULL };
	struct it_request req = { .method = "GET", .path = "/api/v1/me", .cookie = w->mgr.token,
				  .headers = headers };
	struct it_response *r;

	assert_non_null(h);
	memcpy(h, "X-Filler: ", 10);
	memset(h + 10, 'a', n);
	h[10 + n] = '\0';
	r = it_request(w->s, &req);
	if (r->status < 400 || r->status > 499)
		print_error("17 KiB header: HTTP %ld (%s), want 431 or another 4xx\n", r->status,
			    r->curl_error);
	assert_true(r->status >= 400 && r->status <= 499);
	it_response_free(r);
	/* many small ones adding up */
	{
		const char *many[40];
		char *lines[39];
		size_t i;

		for (i = 0; i < 39; i++) {
			lines[i] = malloc(600);
			assert_non_null(lines[i]);
			snprintf(lines[i], 600, "X-Filler-%zu: %0580d", i, 0);
			many[i] = lines[i];
		}
		many[39] = NULL;
		req.headers = many;
		r = it_request(w->s, &req);
		assert_true(r->status >= 400 && r->status <= 499);
		it_response_free(r);
		for (i = 0; i < 39; i++)
			free(lines[i]);
	}
	free(h);
	/* the server is fine afterwards */
	IT_EXPECT_GET(w->s, &w->mgr, "/api/v1/me", 200);
}

/* Sends body (taken over) as the manager and expects a 400 of type naming field (NULL: no
 * field member). */
static void expect_400_at(struct world *w, const char *method, const char *path, json_t *body,
			  const char *type, const char *field, const char *file, int line)
{
	struct it_response *r = it_send(w->s, &w->mgr, method, path, body);
	const char *got = it_json_str(r->json, "field");

	it_assert_problem_at(r, 400, type, file, line);
	if (field ? !got || strcmp(got, field) : got != NULL) {
		print_error("%s %s: field '%s', want '%s': %s\n", method, path, got ? got : "(none)",
			    field ? field : "(none)", r->body);
		_fail(file, line);
	}
	it_response_free(r);
}
#define EXPECT_400(w, m, p, body, type, field) expect_400_at(w, m, p, body, type, field, __FILE__, __LINE__)

/* Members checked by their declared kinds (integer bounds, "root" instead of an id, arrays
 * and their sizes, nullable and not, enumerations): the refusal names the member, and the
 * accepted forms still work (issue 12 moved these checks out of the handlers). */
static void test_typed_members(void **state)
{
	struct world *w = *state;
	json_t *before = snapshot(w), *many = json_array();
	struct it_response *r;
	char folder[96], file[128];
	int i;

	r = it_send(w->s, &w->mgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "typed"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(folder, sizeof(folder), "/api/v1/folders/%lld",
		 (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	r = it_request(w->s, &(struct it_request){ .method = "PUT", .path = "/api/v1/folders/root/files/typed.txt",
						   .body = "x", .body_len = 1, .content_type = "text/plain",
						   .cookie = w->mgr.token, .csrf = w->mgr.csrf });
	IT_ASSERT_STATUS(r, 201);
	snprintf(file, sizeof(file), "%lld", (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);

	/* PATCH of a node: parent_id is a positive integer or "root"; name a string */
	EXPECT_400(w, "PATCH", folder, json_pack("{s:i}", "parent_id", 0), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:i}", "parent_id", -3), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:f}", "parent_id", 1.5), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:s}", "parent_id", "up"), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:s}", "parent_id", "1"), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:n}", "parent_id"), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:b}", "parent_id", 1), "invalid-field", "parent_id");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:i}", "name", 7), "invalid-field", "name");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:n}", "name"), "invalid-field", "name");
	EXPECT_400(w, "PATCH", folder, json_pack("{s:s, s:i}", "name", "x", "owner", 1), "invalid-field", "owner");
	EXPECT_400(w, "PATCH", folder, json_pack("{}"), "invalid-field", NULL);
	EXPECT_400(w, "PATCH", folder, json_pack("{s:s}", "name", "a/b"), "invalid-name", "name");
	r = it_send(w->s, &w->mgr, "PATCH", folder, json_pack("{s:s, s:s}", "parent_id", "root", "name", "typed2"));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "name"), "typed2");
	it_response_free(r);

	/* POST /api/v1/shares */
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{}"), "invalid-field", "node_id");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:n}", "node_id"), "invalid-field", "node_id");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:i}", "node_id", 0), "invalid-field", "node_id");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s}", "node_id", file), "invalid-field", "node_id");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:n}", "node_id", "root", "kind"), "invalid-field",
		   "kind");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:i}", "node_id", "root", "kind", 1),
		   "invalid-field", "kind");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:n}", "node_id", "root", "expires_in_s"),
		   "invalid-field", "expires_in_s");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:i}", "node_id", "root", "max_downloads", 1000001),
		   "invalid-field", "max_downloads");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:s}", "node_id", "root", "notify_on_download", "yes"),
		   "invalid-field", "notify_on_download");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:n}", "node_id", "root", "recipients"),
		   "invalid-field", "recipients");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:i}", "node_id", "root", "password", 5),
		   "invalid-field", "password");
	for (i = 0; i < 21; i++)
		json_array_append_new(many, json_sprintf("r%d@alpha.example.com", i));
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:o}", "node_id", "root", "recipients", many),
		   "invalid-field", "recipients");
	EXPECT_400(w, "POST", "/api/v1/shares", json_pack("{s:s, s:[s, s]}", "node_id", "root", "recipients",
							   "ok@alpha.example.com", "not an address"),
		   "invalid-field", "recipients");
	/* null where it means "none": password and max_downloads */
	r = it_send(w->s, &w->mgr, "POST", "/api/v1/shares",
		    json_pack("{s:s, s:n, s:n, s:b}", "node_id", "root", "password", "max_downloads",
			      "notify_on_download", 0));
	IT_ASSERT_STATUS(r, 201);
	assert_true(json_is_false(json_object_get(r->json, "password_required")) ||
		    !json_object_get(r->json, "password_required"));
	it_response_free(r);

	/* the share policy: integers within 1 .. 365 days, not null */
	EXPECT_400(w, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:s}", "max_expiry_s", "5"),
		   "invalid-field", "max_expiry_s");
	EXPECT_400(w, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:n}", "default_expiry_s"),
		   "invalid-field", "default_expiry_s");
	EXPECT_400(w, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:i}", "default_expiry_s", 0),
		   "invalid-field", "default_expiry_s");
	EXPECT_400(w, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:i}", "ttl", 5), "invalid-field", "ttl");
	/* an enumeration: status of an account, scope of an app password */
	EXPECT_400(w, "PATCH", "/api/v1/accounts/ursula", json_pack("{s:s}", "status", "Active"), "invalid-field",
		   "status");
	EXPECT_400(w, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "x", "scope", "write"),
		   "invalid-field", "scope");
	EXPECT_400(w, "POST", "/api/v1/me/app-passwords", json_pack("{s:s}", "name", "x"), "invalid-field", "scope");
	/* client certificates (issue 16): the policy's members, a CSR, a CA */
	EXPECT_400(w, "PATCH", "/api/v1/tenant/security", json_pack("{s:s}", "client_certificate", "some"),
		   "invalid-field", "client_certificate");
	EXPECT_400(w, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "client_certificate_days", 0),
		   "invalid-field", "client_certificate_days");
	EXPECT_400(w, "PATCH", "/api/v1/tenant/security", json_pack("{s:s}", "client_certificate_login_field", "dn"),
		   "invalid-field", "client_certificate_login_field");
	EXPECT_400(w, "POST", "/api/v1/accounts/ursula/certificates",
		   json_pack("{s:s, s:s}", "csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
			     "name", "x"), "invalid-field", "csr");
	EXPECT_400(w, "POST", "/api/v1/accounts/ursula/certificates", json_pack("{s:s}", "name", "x"), "invalid-field",
		   "csr");
	EXPECT_400(w, "POST", "/api/v1/tenant/client-cas", json_pack("{s:s}", "pem", "not a certificate"), "invalid-field",
		   "pem");
	ASSERT_UNCHANGED(w, before, "typed members");
	json_decref(before);
}

static void test_no_mail_for_refused_requests(void **state)
{
	struct world *w = *state;
	struct it_response *r;
	struct it_mail *m;

	/* a good request as a marker: once its mail is out, nothing else may be waiting */
	r = it_send(w->s, &w->mgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "marker", "email",
			      "marker@alpha.example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(w->s, "marker@alpha.example.com", 30);
	assert_non_null(m);
	it_mail_free(m);
	m = it_wait_for_mail(w->s, "@", 0);
	if (m)
		print_error("unexpected mail:\n%s\n", m->headers);
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_invalid_fields),
		cmocka_unit_test(test_escaped_oddities),
		cmocka_unit_test(test_body_limits_and_media_type),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_wrong_methods),
		cmocka_unit_test(test_query_out_of_range),
		cmocka_unit_test(test_oversized_headers),
		cmocka_unit_test(test_typed_members),
		cmocka_unit_test(test_no_mail_for_refused_requests),
	};

	return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
