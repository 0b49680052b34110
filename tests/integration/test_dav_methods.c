/*
 * Integration: WebDAV method dispatch (dav.c's method table) against a real `kura serve`.
 * OPTIONS and every 405 list the table's methods in its order; a method outside the table is
 * 405 for a read-write app password and 403 for a read-only one (only the table's read
 * methods are reads); a read-only app password may use exactly OPTIONS, GET, HEAD and
 * PROPFIND; MKCOL refuses any body with 415 (also one over the XML body limit, which is 413
 * for the methods that take XML) and creates nothing; PUT streams (a file larger than the XML
 * limit is stored whole).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PW "Dav-methods-password-1"
#define ALLOW "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK"
#define BIG (64 * 1024 + 1)

struct env {
	struct it_server *s;
	char rw[IT_STR * 2], ro[IT_STR * 2];   /* Authorization header lines */
};

static void app_password(struct it_server *s, const struct it_session *sess, const char *scope, char *ret)
{
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", scope, "scope", scope));

	IT_ASSERT_STATUS(r, 201);
	it_basic_auth(ret, IT_STR * 2, "alice@alpha", it_json_str(r->json, "secret"));
	it_response_free(r);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct it_session a;

	if (!e)
		return -1;
	e->s = it_server_start(NULL);
	if (!e->s) {
		free(e);
		return -1;
	}
	it_create_tenant(e->s, "alpha", NULL);
	it_create_manager(e->s, "alpha", "alice", PW, &a);
	app_password(e->s, &a, "read-write", e->rw);
	app_password(e->s, &a, "read", e->ro);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int status = it_server_stop(e->s);

	free(e);
	return status == 0 ? 0 : -1;
}

static struct it_response *dav(struct env *e, const char *auth, const char *method, const char *path,
			       const char *body, size_t n)
{
	const char *headers[] = { auth, "Depth: 0", NULL };

	return it_request(e->s, &(struct it_request){ .method = method, .path = path, .body = body,
						     .body_len = n, .content_type = body ? "application/xml" : "",
						     .headers = headers });
}

static long status_of(struct it_response *r)
{
	long st = r->status;

	it_response_free(r);
	return st;
}

static void test_allow_and_unknown_methods(void **state)
{
	struct env *e = *state;
	struct it_response *r;

	r = dav(e, e->rw, "OPTIONS", "/dav/alpha/", NULL, 0);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->allow, ALLOW);
	assert_non_null(strstr(r->headers, "DAV: 1, 2"));
	it_response_free(r);
	/* outside the table: 405 with the same list (after the write permission) */
	r = dav(e, e->rw, "BREW", "/dav/alpha/", NULL, 0);
	IT_ASSERT_STATUS(r, 405);
	assert_string_equal(r->allow, ALLOW);
	it_response_free(r);
	r = dav(e, e->rw, "SEARCH", "/dav/alpha/x", "<x/>", 4);
	IT_ASSERT_STATUS(r, 405);
	assert_string_equal(r->allow, ALLOW);
	it_response_free(r);
	/* ... which a read-only app password does not have */
	assert_int_equal(status_of(dav(e, e->ro, "BREW", "/dav/alpha/", NULL, 0)), 403);
	/* MKCOL of something that exists and PUT on a collection: 405 with the list */
	r = dav(e, e->rw, "MKCOL", "/dav/alpha/", NULL, 0);
	IT_ASSERT_STATUS(r, 405);
	assert_string_equal(r->allow, ALLOW);
	it_response_free(r);
	assert_int_equal(status_of(dav(e, e->rw, "MKCOL", "/dav/alpha/col", NULL, 0)), 201);
	r = dav(e, e->rw, "PUT", "/dav/alpha/col", "x", 1);
	IT_ASSERT_STATUS(r, 405);
	assert_string_equal(r->allow, ALLOW);
	it_response_free(r);
}

static void test_read_methods(void **state)
{
	static const char *const writes[] = { "PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK" };
	struct env *e = *state;
	size_t i;

	assert_int_equal(status_of(dav(e, e->rw, "PUT", "/dav/alpha/read.txt", "hello", 5)), 201);
	assert_int_equal(status_of(dav(e, e->ro, "OPTIONS", "/dav/alpha/", NULL, 0)), 200);
	assert_int_equal(status_of(dav(e, e->ro, "GET", "/dav/alpha/read.txt", NULL, 0)), 200);
	assert_int_equal(status_of(dav(e, e->ro, "HEAD", "/dav/alpha/read.txt", NULL, 0)), 200);
	assert_int_equal(status_of(dav(e, e->ro, "PROPFIND", "/dav/alpha/read.txt", NULL, 0)), 207);
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		long st = status_of(dav(e, e->ro, writes[i], "/dav/alpha/read.txt", NULL, 0));

		if (st != 403)
			print_error("%s with a read-only app password: %ld\n", writes[i], st);
		assert_int_equal(st, 403);
	}
}

static void test_bodies(void **state)
{
	struct env *e = *state;
	char *big = malloc(BIG);
	struct it_response *r;

	assert_non_null(big);
	memset(big, 'a', BIG);
	/* MKCOL takes no body, of any size; nothing is created */
	r = dav(e, e->rw, "MKCOL", "/dav/alpha/m1", "<x/>", 4);
	IT_ASSERT_STATUS(r, 415);
	assert_non_null(strstr(r->body, "MKCOL takes no body"));
	it_response_free(r);
	assert_int_equal(status_of(dav(e, e->rw, "MKCOL", "/dav/alpha/m2", big, BIG)), 415);
	assert_int_equal(status_of(dav(e, e->rw, "PROPFIND", "/dav/alpha/m1", NULL, 0)), 404);
	assert_int_equal(status_of(dav(e, e->rw, "PROPFIND", "/dav/alpha/m2", NULL, 0)), 404);
	/* the XML methods: over the limit is 413 */
	assert_int_equal(status_of(dav(e, e->rw, "PROPFIND", "/dav/alpha/", big, BIG)), 413);
	assert_int_equal(status_of(dav(e, e->rw, "PROPPATCH", "/dav/alpha/", big, BIG)), 413);
	assert_int_equal(status_of(dav(e, e->rw, "LOCK", "/dav/alpha/lk", big, BIG)), 413);
	/* PUT streams: more than the XML limit is a file like any other */
	assert_int_equal(status_of(dav(e, e->rw, "PUT", "/dav/alpha/big.bin", big, BIG)), 201);
	r = dav(e, e->rw, "GET", "/dav/alpha/big.bin", NULL, 0);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, BIG);
	it_response_free(r);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_and_unknown_methods),
		cmocka_unit_test(test_read_methods),
		cmocka_unit_test(test_bodies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
