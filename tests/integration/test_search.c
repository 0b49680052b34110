/*
 * Integration: search by name, GET /api/v1/search (issue 15). Across the tenant's files and
 * folders with their paths; case-insensitive; NFC (a query in NFD finds the NFC name);
 * Japanese substrings; queries of one or two characters as prefixes; hostile names and
 * queries (FTS5 syntax, quotes, markup) taken literally; trash and other tenants excluded;
 * renames followed; keyset paging with the opaque next cursor; bad input refused.
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

#define FOLD_BATCH 256   /* KURA_NAME_FOLD_BATCH (src/core/limits.h) */

static long long put_file(struct it_server *s, const struct it_session *sess, const char *folder,
			  const char *name)
{
	char enc[IT_STR * 3], path[IT_STR * 4];
	struct it_response *r;
	long long id;

	it_url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/folders/%s/files/%s", folder, enc);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = "x", .body_len = 1,
						.content_type = "application/octet-stream", .cookie = sess->token,
						.csrf = sess->csrf });
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

/* GET /api/v1/search?q=<q>&<extra>: the answer (asserts st). */
static json_t *search(struct it_server *s, const struct it_session *sess, const char *q, const char *extra,
		      long st)
{
	char enc[IT_STR * 3], path[IT_STR * 4];
	struct it_response *r;
	json_t *j;

	it_url_encode(q, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/search?q=%s%s%s", enc, extra ? "&" : "", extra ? extra : "");
	r = it_get(s, sess, path);
	if (r->status != st)
		print_error("GET %s: %ld %s\n", path, r->status, r->body);
	IT_ASSERT_STATUS(r, st);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

/* The names of a search's items, sorted, joined by '|'. */
static char *names(json_t *res, char *buf, size_t size)
{
	json_t *items = json_object_get(res, "items"), *it;
	const char *v[64];
	size_t n = 0, i, k, len = 0;

	json_array_foreach(items, i, it) {
		if (n < 64)
			v[n++] = json_string_value(json_object_get(it, "name"));
	}
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			const char *t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "|" : "", v[i]);
	json_decref(res);
	return buf;
}

#define FOUND(q, want) do { \
		char b_[4096]; \
		assert_string_equal(names(search(w->s, &w->auser, q, NULL, 200), b_, sizeof(b_)), want); \
	} while (0)

static void test_search(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char folder[32], path[128];
	long long id, old;
	json_t *res, *it;

	r = it_send(w->s, &w->amgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "資料"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(folder, sizeof(folder), "%lld", (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	put_file(w->s, &w->auser, folder, "報告書2026.txt");
	put_file(w->s, &w->auser, "root", "Quarterly REPORT.pdf");
	put_file(w->s, &w->auser, "root", "report-final.docx");
	put_file(w->s, &w->auser, "root", "<img src=x onerror=alert(1)>.txt");
	put_file(w->s, &w->auser, "root", "\"quoted\" AND NEAR(x).txt");
	put_file(w->s, &w->auser, "root", "cafe\xcc\x81.txt");   /* NFD: stored NFC "café.txt" */
	old = put_file(w->s, &w->auser, "root", "report-old.txt");
	put_file(w->s, &w->bmgr, "root", "report-bravo.txt");
	snprintf(path, sizeof(path), "/api/v1/files/%lld", old);
	r = it_send(w->s, &w->auser, "DELETE", path, NULL);   /* to the trash */
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* substring, case-insensitive; not the trash, not bravo's */
	FOUND("report", "Quarterly REPORT.pdf|report-final.docx");
	FOUND("RePoRt-F", "report-final.docx");
	/* Japanese substrings, with the path */
	res = search(w->s, &w->auser, "告書2", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(res, "items")), 1);
	it = json_array_get(json_object_get(res, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "path")), "/資料/報告書2026.txt");
	assert_string_equal(json_string_value(json_object_get(it, "kind")), "file");
	json_decref(res);
	FOUND("資料", "資料");              /* two characters: a prefix */
	FOUND("報告", "報告書2026.txt");
	FOUND("告書", "");                  /* not a prefix: two characters find no substring */
	FOUND("書2026", "報告書2026.txt");
	/* one or two characters: a prefix */
	FOUND("報", "報告書2026.txt");
	FOUND("re", "report-final.docx");
	FOUND("Qu", "Quarterly REPORT.pdf");
	FOUND("告", "");
	/* NFC: the decomposed query finds the composed name; case folds beyond ASCII */
	FOUND("cafe\xcc\x81", "café.txt");
	FOUND("CAFÉ", "café.txt");
	/* hostile queries are text */
	FOUND("\"quoted\" AND", "\"quoted\" AND NEAR(x).txt");
	FOUND("NEAR(", "\"quoted\" AND NEAR(x).txt");
	FOUND("<img src", "<img src=x onerror=alert(1)>.txt");
	FOUND("*", "");
	FOUND("%", "");
	FOUND("name:report", "");
	FOUND("\"", "\"quoted\" AND NEAR(x).txt");
	/* bravo sees only its own */
	{
		char b[256];

		assert_string_equal(names(search(w->s, &w->bmgr, "report", NULL, 200), b, sizeof(b)),
				    "report-bravo.txt");
		assert_string_equal(names(search(w->s, &w->bmgr, "告書2", NULL, 200), b, sizeof(b)), "");
	}
	/* renames are followed */
	id = it_tree_id(w->s, &w->auser, "/report-final.docx");
	assert_true(id > 0);
	snprintf(path, sizeof(path), "/api/v1/files/%lld", id);
	r = it_send(w->s, &w->auser, "PATCH", path, json_pack("{s:s}", "name", "zeta-renamed.docx"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	FOUND("zeta", "zeta-renamed.docx");
	FOUND("report", "Quarterly REPORT.pdf");
	/* restored from the trash: found again */
	snprintf(path, sizeof(path), "/api/v1/trash/%lld/restore", old);
	r = it_send(w->s, &w->auser, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	FOUND("report", "Quarterly REPORT.pdf|report-old.txt");
}

static void test_search_paging_and_bad_input(void **state)
{
	struct it_world *w = *state;
	char name[64], extra[64], got[4096] = "", longq[512];
	const char *next = NULL;
	json_t *res = NULL;
	int i, pages = 0, total = 0;

	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "page-%d.txt", i);
		put_file(w->s, &w->auser, "root", name);
	}
	snprintf(extra, sizeof(extra), "limit=3");
	for (;;) {
		json_t *items, *it;
		size_t k;

		res = search(w->s, &w->auser, "page-", extra, 200);
		items = json_object_get(res, "items");
		json_array_foreach(items, k, it) {
			strcat(got, json_string_value(json_object_get(it, "name")));
			total++;
		}
		pages++;
		assert_true(json_array_size(items) <= 3);
		next = json_string_value(json_object_get(res, "next"));
		if (!json_is_true(json_object_get(res, "more"))) {
			assert_true(json_is_null(json_object_get(res, "next")));
			json_decref(res);
			break;
		}
		assert_non_null(next);
		snprintf(extra, sizeof(extra), "limit=3&after=%s", next);
		json_decref(res);
		assert_true(pages < 10);
	}
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);
	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "page-%d.txt", i);
		assert_non_null(strstr(got, name));
	}
	/* bad input */
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=abc&limit=0", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=abc&limit=201", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=abc&after=-1", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=abc&after=x", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=a%01b", 400);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/search?q=%ff%fe", 400);
	memset(longq, 'a', 101);
	longq[101] = '\0';
	res = search(w->s, &w->auser, longq, NULL, 400);
	json_decref(res);
	longq[100] = '\0';
	res = search(w->s, &w->auser, longq, NULL, 200);
	json_decref(res);
	/* without a session */
	{
		struct it_response *r = it_request(w->s, &(struct it_request){ .method = "GET",
									      .path = "/api/v1/search?q=page" });

		IT_ASSERT_PROBLEM(r, 401, "authentication-required");
		it_response_free(r);
	}
}

static long sqlite_count(struct it_server *s, const char *sql)
{
	return it_backend_pg() ? 0 : it_db_count(s, sql);   /* PostgreSQL queues nothing */
}

/* METHOD /api/v1/<what>/<id><tail> */
static void node_send(struct it_server *s, const struct it_session *sess, const char *method, const char *what,
		      long long id, const char *tail, json_t *body, long st)
{
	char path[128];
	struct it_response *r;

	snprintf(path, sizeof(path), "/api/v1/%s/%lld%s", what, id, tail);
	r = it_send(s, sess, method, path, body);
	IT_ASSERT_STATUS(r, st);
	it_response_free(r);
}

/* A world whose server does not fold in the background (KURA_TEST_NO_IDLE_FOLD, serve.c):
 * what the test finds waiting is what the requests left, whatever the clock. */
static int setup_world_no_idle_fold(void **state)
{
	int r;

	setenv("KURA_TEST_NO_IDLE_FOLD", "1", 1);
	r = it_setup_world(state);
	unsetenv("KURA_TEST_NO_IDLE_FOLD");
	return r;
}

/* The name index in batches (issue 11, migration 0032): on SQLite a new or changed name is
 * queued and folded into the index in batches; every search folds first, so what was PUT,
 * renamed, moved, trashed or purged just before a search is what the search sees. */
static void test_search_queued_names(void **state)
{
	struct it_world *w = *state;
	char folder[32], name[64], extra[64], sql[160];
	long long id, moved, purged;
	struct it_response *r;
	json_t *res;
	int i, total = 0, pages = 0;

	r = it_send(w->s, &w->amgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "archive"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(folder, sizeof(folder), "%lld", (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	/* PUT just before the search: not yet in the index, and found */
	id = put_file(w->s, &w->auser, "root", "fresh-upload.txt");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_search WHERE rowid = %lld", id);
	assert_int_equal(sqlite_count(w->s, sql), 0);
	FOUND("fresh-up", "fresh-upload.txt");
	if (!it_backend_pg())
		assert_int_equal(it_db_count(w->s, sql), 1);   /* folded */
	/* renamed before its fold: the new name only */
	id = put_file(w->s, &w->auser, "root", "alpha-queued.txt");
	node_send(w->s, &w->auser, "PATCH", "files", id, "", json_pack("{s:s}", "name", "omega-queued.txt"), 200);
	FOUND("alpha-queued", "");
	FOUND("omega-queued", "omega-queued.txt");
	/* renamed after its fold: its id is queued; the old name is not found, the new one is */
	node_send(w->s, &w->auser, "PATCH", "files", id, "", json_pack("{s:s}", "name", "sigma-queued.txt"), 200);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_pending WHERE id = %lld", id);
	if (!it_backend_pg())
		assert_int_equal(it_db_count(w->s, sql), 1);
	FOUND("omega-queued", "");
	FOUND("sigma-queued", "sigma-queued.txt");
	assert_int_equal(sqlite_count(w->s, "SELECT count(*) FROM name_pending"), 0);   /* folded */
	/* moved while queued: found with its new path */
	moved = put_file(w->s, &w->auser, "root", "moving-file.txt");
	node_send(w->s, &w->auser, "PATCH", "files", moved, "",
		  json_pack("{s:I}", "parent_id", (json_int_t)atoll(folder)), 200);
	res = search(w->s, &w->auser, "moving-file", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(res, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res, "items"), 0), "path")),
			    "/archive/moving-file.txt");
	json_decref(res);
	/* trashed before its fold: not found; restored: found */
	id = put_file(w->s, &w->auser, "root", "trashed-queued.txt");
	node_send(w->s, &w->auser, "DELETE", "files", id, "", NULL, 204);
	FOUND("trashed-queued", "");
	node_send(w->s, &w->auser, "POST", "trash", id, "/restore", NULL, 200);
	FOUND("trashed-queued", "trashed-queued.txt");
	/* purged before its fold: nothing of it left, queued or indexed; and purged while its
	 * rename is queued */
	id = put_file(w->s, &w->auser, "root", "purged-renamed.txt");
	FOUND("purged-renamed", "purged-renamed.txt");
	node_send(w->s, &w->auser, "PATCH", "files", id, "", json_pack("{s:s}", "name", "purged-renamed2.txt"), 200);
	node_send(w->s, &w->auser, "DELETE", "files", id, "", NULL, 204);
	node_send(w->s, &w->auser, "DELETE", "trash", id, "", NULL, 204);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_pending WHERE id = %lld", id);
	assert_int_equal(sqlite_count(w->s, sql), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_search WHERE rowid = %lld", id);
	assert_int_equal(sqlite_count(w->s, sql), 0);
	purged = put_file(w->s, &w->auser, "root", "purged-queued.txt");
	node_send(w->s, &w->auser, "DELETE", "files", purged, "", NULL, 204);
	node_send(w->s, &w->auser, "DELETE", "trash", purged, "", NULL, 204);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_pending WHERE id = %lld", purged);
	assert_int_equal(sqlite_count(w->s, sql), 0);
	FOUND("purged-queued", "");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM name_search WHERE rowid = %lld", purged);
	assert_int_equal(sqlite_count(w->s, sql), 0);
	/* more than a batch without a search: the uploads fold by themselves, and the search
	 * finds every one */
	for (i = 0; i < FOLD_BATCH + 10; i++) {
		snprintf(name, sizeof(name), "bulk-%03d.bin", i);
		put_file(w->s, &w->auser, folder, name);
	}
	if (!it_backend_pg()) {
		long folded = it_db_count(w->s, "SELECT count(*) FROM name_search WHERE name LIKE 'bulk-%'");

		assert_true(folded > 0 && folded < FOLD_BATCH + 10);   /* some by the uploads, not all */
	}
	snprintf(extra, sizeof(extra), "limit=200");
	for (;;) {
		res = search(w->s, &w->auser, "bulk-", extra, 200);
		total += (int)json_array_size(json_object_get(res, "items"));
		pages++;
		if (!json_is_true(json_object_get(res, "more"))) {
			json_decref(res);
			break;
		}
		snprintf(extra, sizeof(extra), "limit=200&after=%s", json_string_value(json_object_get(res, "next")));
		json_decref(res);
		assert_true(pages < 5);
	}
	assert_int_equal(total, FOLD_BATCH + 10);
}

/* Names that no upload folds (new folders, a rename of an indexed node) are folded in the
 * background within seconds (serve.c node_task, every KURA_KEY_CACHE_RECHECK_S), not left for
 * the next search to pay; and a search afterwards finds them. What waits is made on a server
 * whose background fold is off (KURA_TEST_NO_IDLE_FOLD), so the fold cannot run between the
 * requests and the count of what they left; then the server runs again with the fold on, and
 * the test waits (IT_WAIT_S, a poll) for the background fold alone: no search, no upload. */
static long wait_folded(struct it_server *s, const char *waiting)
{
	long left = -1;
	double t0 = it_now_s();

	IT_POLL_UNTIL((left = it_db_count(s, waiting)) == 0);
	print_message("the waiting names were folded after %.1f s without a search\n", it_now_s() - t0);
	return left;
}

static void restart_idle_fold(struct it_server *s, bool on)
{
	if (!on)
		setenv("KURA_TEST_NO_IDLE_FOLD", "1", 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_NO_IDLE_FOLD");
}

static void test_search_idle_fold(void **state)
{
	struct it_world *w = *state;
	static const char waiting[] = "SELECT (SELECT count(*) FROM file_nodes WHERE id > (SELECT folded_upto FROM"
				      " name_index_state)) + (SELECT count(*) FROM name_pending)";
	char name[64];
	long long id = 0;

	for (int i = 0; i < 20; i++) {
		struct it_response *r;

		snprintf(name, sizeof(name), "idle-folder-%02d", i);
		r = it_send(w->s, &w->amgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", name));
		IT_ASSERT_STATUS(r, 201);
		id = (long long)json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
	}
	if (it_backend_pg()) {   /* pg_trgm follows the column: nothing waits */
		FOUND("idle-folder-19", "idle-folder-19");
		return;
	}
	assert_true(it_db_count(w->s, waiting) >= 20);
	restart_idle_fold(w->s, true);
	assert_int_equal(wait_folded(w->s, waiting), 0);
	/* a rename of a folded node waits in name_pending, and is folded the same way */
	restart_idle_fold(w->s, false);
	node_send(w->s, &w->amgr, "PATCH", "folders", id, "", json_pack("{s:s}", "name", "idle-renamed"), 200);
	assert_int_equal(it_db_count(w->s, "SELECT count(*) FROM name_pending"), 1);
	restart_idle_fold(w->s, true);
	assert_int_equal(wait_folded(w->s, waiting), 0);
	FOUND("idle-renamed", "idle-renamed");
	FOUND("idle-folder-19", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_search, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_search_paging_and_bad_input, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_search_queued_names, setup_world_no_idle_fold, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_search_idle_fold, setup_world_no_idle_fold, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
