/*
 * PROPFIND answers kept per process (http/dav_cache.h; issue 11, docs/performance.md step
 * 16) against a real `kura serve`: a Depth 1 allprop answer on a folder is built once and
 * served again from memory (no member query: counted through the test seam
 * KURA_TEST_SQL_LOG, as test_dav_get does), each time with its access record, and never once
 * anything it shows has changed. Every way to change what a listing shows is tried right
 * after a kept answer, and the very next PROPFIND must show the change: WebDAV PUT (new and
 * overwrite), DELETE, MOVE, COPY, MKCOL, PROPPATCH (set and remove), LOCK and UNLOCK, the
 * files API's trash and restore, and statements of ANOTHER process on its own connection to
 * the database (this test, with SQLite's C API or libpq) on the nodes, the dead properties
 * and the locks. Without the generation's triggers (migration 0036) each of those would be
 * answered from the kept answer. A listing in which a lock shows is not kept (its timeout
 * counts down). Another tenant's folder of the same path has its own answer, and another
 * tenant's credential gets nothing of this one's. On two nodes (integration-2n) the change
 * goes through one node and the listing is read through both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define PW "Dav-cache-password-1"
#define ALLPROP "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"
#define MEMBERS_SQL "FROM file_nodes WHERE tenant_id = $1 AND parent_id = $2 AND in_trash = 0"

struct env {
	struct it_server *s;
	char rw[IT_STR], other[IT_STR];   /* app passwords: alpha's alice, beta's bert */
	struct it_session alice, bert;
	char log[IT_STR];                 /* KURA_TEST_SQL_LOG */
	long alpha_id;
};

static struct env *E;

static void app_password(const struct it_session *sess, char *ret)
{
	struct it_response *r = it_send(E->s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", "rw", "scope", "read-write"));

	IT_ASSERT_STATUS(r, 201);
	snprintf(ret, IT_STR, "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
}

/* One WebDAV request as login:secret with extra headers (NULL-ended). */
static struct it_response *dav(const char *method, const char *path, const char *login, const char *secret,
			       const char *body, ...)
{
	char auth[IT_STR * 4];
	const char *headers[8];
	size_t n = 0;
	va_list ap;
	const char *h;

	it_basic_auth(auth, sizeof(auth), login, secret);
	headers[n++] = auth;
	va_start(ap, body);
	while ((h = va_arg(ap, const char *)) != NULL && n < 7)
		headers[n++] = h;
	va_end(ap);
	headers[n] = NULL;
	return it_request(E->s, &(struct it_request){ .method = method, .path = path, .body = body,
						     .body_len = body ? strlen(body) : 0,
						     .content_type = body ? "application/xml" : "",
						     .headers = headers });
}

#define ALICE "alice", E->rw
#define BERT "bert", E->other

static void expect(const char *method, const char *path, const char *body, long status, ...)
{
	char auth[IT_STR * 4];
	const char *headers[8];
	size_t n = 0;
	va_list ap;
	const char *h;
	struct it_response *r;

	it_basic_auth(auth, sizeof(auth), ALICE);
	headers[n++] = auth;
	va_start(ap, status);
	while ((h = va_arg(ap, const char *)) != NULL && n < 7)
		headers[n++] = h;
	va_end(ap);
	headers[n] = NULL;
	r = it_request(E->s, &(struct it_request){ .method = method, .path = path, .body = body,
						  .body_len = body ? strlen(body) : 0,
						  .content_type = body ? "application/octet-stream" : "",
						  .headers = headers });
	IT_ASSERT_STATUS(r, status);
	it_response_free(r);
}

static long log_size(void)
{
	return it_sql_log_size(E->log);
}

/* Did the server run the member query since offset off? */
static bool listed_since(long off)
{
	char *text = it_sql_log_since(E->log, off);
	bool found;

	assert_non_null(text);
	found = strstr(text, MEMBERS_SQL) != NULL;
	free(text);
	return found;
}

static long records(const char *action)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_events WHERE action = '%s' AND tenant_id = %ld",
		 action, E->alpha_id);
	return it_db_count(E->s, sql);
}

/* PROPFIND Depth 1 allprop of path as login:secret: the 207's body (malloc'd); *ret_built
 * says whether the server ran the member query for it. */
static char *listing_as(const char *path, const char *login, const char *secret, bool *ret_built)
{
	long off = log_size();
	struct it_response *r = dav("PROPFIND", path, login, secret, ALLPROP, "Depth: 1", NULL);
	char *body;

	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strstr(r->body, "</D:multistatus>"));
	body = strdup(r->body);
	assert_non_null(body);
	it_response_free(r);
	if (ret_built)
		*ret_built = listed_since(off);
	return body;
}

/*
 * The listing of alpha's path, kept: read until the server answers twice from memory (one
 * read per node warms it, so two reads in a row without the member query show that every
 * node the requests reach keeps it), each read identical. Returns the listing.
 */
static char *kept_listing(const char *path)
{
	char *first = listing_as(path, ALICE, NULL), *again;
	int from_memory = 0;
	bool built;

	for (int i = 0; i < 6 && from_memory < 2; i++) {
		again = listing_as(path, ALICE, &built);
		assert_string_equal(again, first);
		from_memory = built ? 0 : from_memory + 1;
		free(again);
	}
	assert_int_equal(from_memory, 2);
	return first;
}

/* The listing right after a change: the server must not answer from memory, and what it
 * answers is returned. */
static char *fresh_listing(const char *path)
{
	bool built;
	char *l = listing_as(path, ALICE, &built);

	assert_true(built);
	return l;
}

/* Another process's statement on the server's database (its own connection). */
static void other_process(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(it_db_exec_blob(E->s, sql, NULL, 0), 0);
}

static int setup(void **state)
{
	E = calloc(1, sizeof(*E));
	E->s = it_server_start_sql_log(&(struct it_options){ 0 }, E->log);
	if (!E->s)
		return -1;
	it_create_tenant(E->s, "alpha", NULL);
	it_create_tenant(E->s, "beta", NULL);
	it_create_manager(E->s, "alpha", "alice", PW, &E->alice);
	it_create_manager(E->s, "beta", "bert", PW, &E->bert);
	app_password(&E->alice, E->rw);
	app_password(&E->bert, E->other);
	E->alpha_id = it_db_count(E->s, "SELECT id FROM tenants WHERE code = 'alpha'");
	if (E->alpha_id <= 0)
		return -1;
	expect("MKCOL", "/dav/alpha/docs", NULL, 201, NULL);
	expect("PUT", "/dav/alpha/docs/a.txt", "alpha's a", 201, NULL);
	expect("PUT", "/dav/alpha/docs/b.txt", "alpha's b", 201, NULL);
	*state = E;
	return 0;
}

static int teardown(void **state)
{
	int status = it_server_stop(E->s);

	(void)state;
	if (!getenv("KURA_IT_KEEP"))
		unlink(E->log);
	free(E);
	return status == 0 ? 0 : -1;
}

/* Kept, served identical from memory, every read recorded; not for what is not kept. */
static void test_kept_and_recorded(void **state)
{
	long before = records("dav.propfind");
	char *l;
	bool built;
	struct it_response *r;

	(void)state;
	l = kept_listing("/dav/alpha/docs/");
	assert_non_null(strstr(l, "<D:href>/dav/alpha/docs/a.txt</D:href>"));
	assert_non_null(strstr(l, "<D:href>/dav/alpha/docs/b.txt</D:href>"));
	/* the same folder named without its slash: the same answer (the same hrefs) */
	{
		char *same = listing_as("/dav/alpha/docs", ALICE, NULL);

		assert_string_equal(same, l);
		free(same);
	}
	free(l);
	/* every read has its record, from memory or not */
	assert_true(records("dav.propfind") - before >= 4);
	before = records("dav.propfind");
	free(listing_as("/dav/alpha/docs/", ALICE, &built));
	assert_false(built);
	assert_int_equal(records("dav.propfind"), before + 1);

	/* Depth 0 and a named-property PROPFIND are answered as before, never from memory */
	r = dav("PROPFIND", "/dav/alpha/docs/", ALICE, ALLPROP, "Depth: 0", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_null(strstr(r->body, "a.txt"));
	it_response_free(r);
	r = dav("PROPFIND", "/dav/alpha/docs/", ALICE,
		"<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag/></D:prop></D:propfind>",
		"Depth: 1", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strstr(r->body, "a.txt"));
	assert_null(strstr(r->body, "supportedlock"));
	it_response_free(r);
}

/* Each change through the server shows in the next listing. */
static void test_changes_through_the_server(void **state)
{
	const char *d = "/dav/alpha/docs/";
	char *l;
	struct it_response *r;

	(void)state;
	free(kept_listing(d));
	expect("PUT", "/dav/alpha/docs/c.txt", "new", 201, NULL);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/c.txt<"));
	free(l);

	free(kept_listing(d));
	expect("PUT", "/dav/alpha/docs/c.txt", "overwritten, longer", 204, NULL);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "<D:getcontentlength>19</D:getcontentlength>"));
	free(l);

	free(kept_listing(d));
	expect("MOVE", "/dav/alpha/docs/c.txt", NULL, 201, "Destination: /dav/alpha/docs/moved.txt", NULL);
	l = fresh_listing(d);
	assert_null(strstr(l, "docs/c.txt<"));
	assert_non_null(strstr(l, "docs/moved.txt<"));
	free(l);

	free(kept_listing(d));
	expect("COPY", "/dav/alpha/docs/moved.txt", NULL, 201, "Destination: /dav/alpha/docs/copied.txt", NULL);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/copied.txt<"));
	free(l);

	free(kept_listing(d));
	expect("MKCOL", "/dav/alpha/docs/sub", NULL, 201, NULL);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/sub/<"));
	free(l);

	free(kept_listing(d));
	expect("DELETE", "/dav/alpha/docs/copied.txt", NULL, 204, NULL);
	l = fresh_listing(d);
	assert_null(strstr(l, "copied.txt"));
	free(l);

	/* a dead property set, then removed */
	free(kept_listing(d));
	r = dav("PROPPATCH", "/dav/alpha/docs/a.txt", ALICE,
		"<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:x-test\"><D:set><D:prop>"
		"<Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>", NULL);
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	l = fresh_listing(d);
	assert_non_null(strstr(l, ">blue</"));
	free(l);
	free(kept_listing(d));
	r = dav("PROPPATCH", "/dav/alpha/docs/a.txt", ALICE,
		"<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:x-test\"><D:remove><D:prop>"
		"<Z:colour/></D:prop></D:remove></D:propertyupdate>", NULL);
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	l = fresh_listing(d);
	assert_null(strstr(l, ">blue</"));
	free(l);
}

/* A lock shows at once, is never served from memory while it shows, and its end shows. */
static void test_locks(void **state)
{
	const char *d = "/dav/alpha/docs/";
	char token[IT_STR] = "", hdr[IT_STR + 16];
	const char *lt;
	struct it_response *r;
	char *l;
	bool built;

	(void)state;
	free(kept_listing(d));
	r = dav("LOCK", "/dav/alpha/docs/b.txt", ALICE,
		"<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
		"<D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>",
		"Timeout: Second-600", NULL);
	IT_ASSERT_STATUS(r, 200);
	lt = strstr(r->body, "urn:uuid:");
	assert_non_null(lt);
	for (size_t i = 0; lt[i] && lt[i] != '<' && i + 1 < sizeof(token); i++)
		token[i] = lt[i];
	it_response_free(r);
	l = fresh_listing(d);
	assert_non_null(strstr(l, token));
	free(l);
	/* while the lock shows, each listing is built again (its timeout counts down) */
	for (int i = 0; i < 3; i++) {
		l = listing_as(d, ALICE, &built);
		assert_true(built);
		assert_non_null(strstr(l, "<D:timeout>Second-"));
		free(l);
	}
	snprintf(hdr, sizeof(hdr), "Lock-Token: <%s>", token);
	expect("UNLOCK", "/dav/alpha/docs/b.txt", NULL, 204, hdr, NULL);
	l = fresh_listing(d);
	assert_null(strstr(l, token));
	free(l);
	free(kept_listing(d));
}

/* The files API's trash and restore (the portal's path) show too. */
static void test_trash_and_restore(void **state)
{
	const char *d = "/dav/alpha/docs/";
	long id = it_db_count(E->s, "SELECT id FROM file_nodes WHERE name = 'b.txt' AND in_trash = 0");
	char path[IT_STR];
	struct it_response *r;
	char *l;

	(void)state;
	assert_true(id > 0);
	free(kept_listing(d));
	snprintf(path, sizeof(path), "/api/v1/files/%ld", id);
	r = it_send(E->s, &E->alice, "DELETE", path, NULL);
	assert_true(r->status == 200 || r->status == 204);
	it_response_free(r);
	l = fresh_listing(d);
	assert_null(strstr(l, "docs/b.txt<"));
	free(l);
	free(kept_listing(d));
	snprintf(path, sizeof(path), "/api/v1/trash/%ld/restore", id);
	r = it_send(E->s, &E->alice, "POST", path, NULL);
	assert_true(r->status == 200 || r->status == 204);
	it_response_free(r);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/b.txt<"));
	free(l);
}

/* Another process's writes: the triggers move the generation in its transaction. */
static void test_other_process(void **state)
{
	const char *d = "/dav/alpha/docs/";
	long node = it_db_count(E->s, "SELECT id FROM file_nodes WHERE name = 'a.txt'");
	char *l;

	(void)state;
	assert_true(node > 0);
	free(kept_listing(d));
	other_process("UPDATE file_nodes SET name = 'renamed-by-sql.txt' WHERE id = %ld", node);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/renamed-by-sql.txt<"));
	assert_null(strstr(l, "docs/a.txt<"));
	free(l);
	free(kept_listing(d));
	other_process("UPDATE file_nodes SET name = 'a.txt' WHERE id = %ld", node);
	l = fresh_listing(d);
	assert_non_null(strstr(l, "docs/a.txt<"));
	free(l);

	free(kept_listing(d));
	other_process("INSERT INTO dav_props (tenant_id, node_id, ns, name, xml) VALUES (%ld, %ld, 'urn:x-test', 'mark',"
		      " '<mark xmlns=\"urn:x-test\">by-sql</mark>')", E->alpha_id, node);
	l = fresh_listing(d);
	assert_non_null(strstr(l, ">by-sql</mark>"));
	free(l);
	free(kept_listing(d));
	other_process("DELETE FROM dav_props WHERE node_id = %ld AND name = 'mark'", node);
	l = fresh_listing(d);
	assert_null(strstr(l, "by-sql"));
	free(l);

	/* a node deleted by another process (an erasure's statement, say) */
	expect("PUT", "/dav/alpha/docs/doomed.txt", "x", 201, NULL);
	free(kept_listing(d));
	other_process("DELETE FROM file_nodes WHERE name = 'doomed.txt' AND tenant_id = %ld", E->alpha_id);
	l = fresh_listing(d);
	assert_null(strstr(l, "doomed.txt"));
	free(l);
}

/* An answer over one piece (which is streamed, chunked, when it is not kept) is written whole
 * and kept: the first and every next one are the same bytes, with a Content-Length. */
static void test_large_answer(void **state)
{
	char path[IT_STR], name[300];
	struct it_response *first, *again;
	long off;

	(void)state;
	expect("MKCOL", "/dav/alpha/many", NULL, 201, NULL);
	memset(name, 'x', 200);
	name[200] = '\0';
	for (int i = 0; i < 120; i++) {
		snprintf(path, sizeof(path), "/dav/alpha/many/m%03d-%s.txt", i, name);
		expect("PUT", path, "m", 201, NULL);
	}
	for (int round = 0; round < 2; round++) {   /* one read per node (integration-2n) */
		off = log_size();
		first = dav("PROPFIND", "/dav/alpha/many/", ALICE, ALLPROP, "Depth: 1", NULL);
		IT_ASSERT_STATUS(first, 207);
		if (listed_since(off))
			break;
		it_response_free(first);
		first = NULL;
	}
	assert_non_null(first);
	assert_true(first->body_len > 64 * 1024);
	assert_non_null(strcasestr(first->headers, "Content-Length:"));
	assert_non_null(strstr(first->body, "many/m119-"));
	assert_non_null(strstr(first->body, "</D:multistatus>\n"));
	for (int i = 0; i < 4; i++) {
		off = log_size();
		again = dav("PROPFIND", "/dav/alpha/many/", ALICE, ALLPROP, "Depth: 1", NULL);
		IT_ASSERT_STATUS(again, 207);
		assert_int_equal(again->body_len, first->body_len);
		assert_memory_equal(again->body, first->body, first->body_len);
		if (!listed_since(off)) {
			assert_non_null(strcasestr(again->headers, "Content-Length:"));
			assert_null(strcasestr(again->headers, "Transfer-Encoding: chunked"));
			it_response_free(again);
			break;
		}
		assert_true(i < 3);   /* kept by the node that built it by now */
		it_response_free(again);
	}
	it_response_free(first);
}

/* Tenants: the same path of another tenant is its own answer; a foreign credential gets
 * nothing, kept or not. */
static void test_tenants(void **state)
{
	char *a, *b;
	struct it_response *r;
	char auth[IT_STR * 4];
	const char *headers[] = { auth, NULL };

	(void)state;
	it_basic_auth(auth, sizeof(auth), BERT);
	r = it_request(E->s, &(struct it_request){ .method = "MKCOL", .path = "/dav/beta/docs", .headers = headers });
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	r = it_request(E->s, &(struct it_request){ .method = "PUT", .path = "/dav/beta/docs/beta-only.txt",
						  .body = "b", .body_len = 1, .content_type = "text/plain",
						  .headers = headers });
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	a = kept_listing("/dav/alpha/docs/");
	b = listing_as("/dav/beta/docs/", BERT, NULL);
	assert_null(strstr(b, "a.txt"));
	assert_non_null(strstr(b, "/dav/beta/docs/beta-only.txt<"));
	free(b);
	b = listing_as("/dav/beta/docs/", BERT, NULL);   /* kept for beta now, too */
	assert_null(strstr(b, "a.txt"));
	free(b);
	r = dav("PROPFIND", "/dav/alpha/docs/", BERT, ALLPROP, "Depth: 1", NULL);
	assert_true(r->status == 401 || r->status == 404);   /* as without a kept answer */
	assert_null(strstr(r->body ? r->body : "", "a.txt"));
	it_response_free(r);
	b = kept_listing("/dav/alpha/docs/");
	assert_string_equal(a, b);   /* beta's writes changed nothing of alpha's */
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_recorded),
		cmocka_unit_test(test_changes_through_the_server),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_trash_and_restore),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_large_answer),
		cmocka_unit_test(test_tenants),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
