/*
 * Integration: ZIP download of a folder, GET /api/v1/folders/{id}/archive (issue 15). The
 * archive of a tree with Japanese and hostile names, an empty folder, an empty file and a
 * file of several chunks is read back with Python's zipfile (python3 -c), which checks every
 * entry's CRC and the layout: names (UTF-8 flag set on every entry), bytes, folders. Also:
 * the access record folder.archive with the counts, another tenant's folder is 404, a file
 * id is 404, and the empty root gives an empty archive.
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

#define BIG (3 * 65536 + 999)

static void put(struct it_server *s, const struct it_session *sess, long long folder, const char *name,
		const char *body, size_t n)
{
	char path[IT_STR * 2], enc[IT_STR];
	struct it_response *r;

	it_url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/files/%s", folder, enc);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = body, .body_len = n,
						.content_type = "application/octet-stream", .cookie = sess->token,
						.csrf = sess->csrf });
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
}

static long long mkdir_in(struct it_server *s, const struct it_session *sess, long long parent, const char *name)
{
	char path[64];
	struct it_response *r;
	long long id;

	snprintf(path, sizeof(path), "/api/v1/folders/%lld/children", parent);
	r = it_send(s, sess, "POST", path, json_pack("{s:s}", "name", name));
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

static const char check_py[] =
	"import sys, zipfile, json\n"
	"z = zipfile.ZipFile(sys.argv[1])\n"
	"assert z.testzip() is None\n"
	"out = {}\n"
	"for i in z.infolist():\n"
	"    assert i.flag_bits & 0x800, i.filename\n"
	"    assert i.compress_type == zipfile.ZIP_STORED\n"
	"    d = z.read(i)\n"
	"    out[i.filename] = [len(d), sum(d) % 65521, d[:8].hex()]\n"
	"print(json.dumps(out, ensure_ascii=False, sort_keys=True))\n";

static void test_archive(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char *big = malloc(BIG), zip[IT_STR * 2], py[IT_STR * 2], path[64], *out = NULL, *err = NULL;
	long long root, docs, sub, empty;
	long sum = 0;
	size_t i;
	FILE *f;
	json_t *j, *e;

	for (i = 0; i < BIG; i++) {
		big[i] = (char)(i * 31 + i / 7);
		sum += (unsigned char)big[i];
	}
	root = it_tree_id(w->s, &w->auser, "/");
	(void)root;
	r = it_get(w->s, &w->auser, "/api/v1/folders/root");
	IT_ASSERT_STATUS(r, 200);
	root = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);

	/* the empty root first: an empty archive */
	r = it_get(w->s, &w->auser, "/api/v1/folders/root/archive");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->content_type, "application/zip");
	assert_int_equal(r->body_len, 22);
	assert_memory_equal(r->body, "PK\x05\x06", 4);
	it_response_free(r);

	docs = mkdir_in(w->s, &w->auser, root, "資料 2026");
	sub = mkdir_in(w->s, &w->auser, docs, "報告書");
	empty = mkdir_in(w->s, &w->auser, docs, "空のフォルダ");
	(void)empty;
	put(w->s, &w->auser, docs, "見積書.txt", "お見積り", strlen("お見積り"));
	put(w->s, &w->auser, sub, "big.bin", big, BIG);
	put(w->s, &w->auser, sub, "empty.txt", "", 0);
	put(w->s, &w->auser, docs, "<img src=x onerror=alert(1)>.txt", "x", 1);
	put(w->s, &w->auser, docs, "cafe\xcc\x81.txt", "nfd", 3);
	/* a name with "\\" (a separator to some Windows extractors: "..\\..\\x" would climb out
	 * of the extraction folder) is kept by a rename; its entry in a ZIP has "_" instead */
	put(w->s, &w->auser, docs, "evil.txt", "w", 1);
	{
		char p[64];

		snprintf(p, sizeof(p), "/api/v1/files/%lld", it_tree_id(w->s, &w->auser, "/資料 2026/evil.txt"));
		r = it_send(w->s, &w->auser, "PATCH", p, json_pack("{s:s}", "name", "..\\..\\evil.txt"));
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
	}

	snprintf(path, sizeof(path), "/api/v1/folders/%lld/archive", docs);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->content_type, "application/zip");
	assert_non_null(strstr(r->headers, "filename*=UTF-8''%E8%B3%87%E6%96%99%202026.zip"));
	snprintf(zip, sizeof(zip), "%s/a.zip", w->s->root);
	snprintf(py, sizeof(py), "%s/check.py", w->s->root);
	f = fopen(zip, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(r->body, 1, r->body_len, f), r->body_len);
	fclose(f);
	it_response_free(r);
	f = fopen(py, "w");
	assert_non_null(f);
	fputs(check_py, f);
	fclose(f);
	{
		const char *argv[] = { "/usr/bin/python3", py, zip, NULL };

		assert_int_equal(it_run(argv, 60, &out, &err), 0);
	}
	j = json_loads(out, 0, NULL);
	if (!j)
		print_error("python: %s\n%s\n", out, err);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 8);
	e = json_object_get(j, "報告書/big.bin");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_array_get(e, 0)), BIG);
	assert_int_equal(json_integer_value(json_array_get(e, 1)), sum % 65521);
	e = json_object_get(j, "見積書.txt");
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_array_get(e, 0)), strlen("お見積り"));
	assert_non_null(json_object_get(j, "報告書/"));
	assert_non_null(json_object_get(j, "空のフォルダ/"));
	assert_non_null(json_object_get(j, "報告書/empty.txt"));
	assert_non_null(json_object_get(j, "<img src=x onerror=alert(1)>.txt"));
	assert_non_null(json_object_get(j, "café.txt"));   /* stored NFC */
	if (!json_object_get(j, ".._.._evil.txt")) print_error("entries: %s\n", out);
	assert_non_null(json_object_get(j, ".._.._evil.txt"));
	json_decref(j);
	free(out);
	free(err);
	out = err = NULL;

	/* a selection: a file and a folder with its subtree, the items at the top level */
	{
		char sel[128];
		long long est = it_tree_id(w->s, &w->auser, "/資料 2026/見積書.txt");
		const char *argv[] = { "/usr/bin/python3", py, zip, NULL };

		snprintf(sel, sizeof(sel), "/api/v1/archive?ids=%lld,%lld", est, sub);
		r = it_get(w->s, &w->auser, sel);
		IT_ASSERT_STATUS(r, 200);
		f = fopen(zip, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(r->body, 1, r->body_len, f), r->body_len);
		fclose(f);
		it_response_free(r);
		assert_int_equal(it_run(argv, 60, &out, &err), 0);
		j = json_loads(out, 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_object_size(j), 4);
		assert_non_null(json_object_get(j, "見積書.txt"));
		assert_non_null(json_object_get(j, "報告書/"));
		assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "報告書/big.bin"), 0)), BIG);
		assert_non_null(json_object_get(j, "報告書/empty.txt"));
		json_decref(j);
		free(out);
		free(err);
		IT_EXPECT_GET(w->s, &w->bmgr, sel, 404);   /* another tenant's ids */
		snprintf(sel, sizeof(sel), "/api/v1/archive?ids=%lld,%lld", est, est);
		IT_EXPECT_GET(w->s, &w->auser, sel, 400);
		IT_EXPECT_GET(w->s, &w->auser, "/api/v1/archive?ids=", 400);
		IT_EXPECT_GET(w->s, &w->auser, "/api/v1/archive?ids=1,", 400);
		IT_EXPECT_GET(w->s, &w->auser, "/api/v1/archive?ids=-1", 400);
		IT_EXPECT_GET(w->s, &w->auser, "/api/v1/archive", 400);
		assert_int_equal(it_audit_count(w->s, &w->amgr, "action=selection.archive"), 1);
	}
	free(big);

	/* the access is on record, with the counts */
	j = it_audit_events(w->s, &w->amgr, NULL, "action=folder.archive");
	assert_int_equal(json_array_size(j), 2);
	{
		char *dump = json_dumps(j, 0);

		assert_non_null(strstr(dump, "\"files\": 6") ? dump : strstr(dump, "\"files\":6"));
		free(dump);
	}
	json_decref(j);

	/* not a folder, another tenant's, nothing */
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/archive", it_tree_id(w->s, &w->auser, "/資料 2026/見積書.txt"));
	IT_EXPECT_GET(w->s, &w->auser, path, 404);
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/archive", docs);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/folders/999999/archive", 404);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/folders/x/archive", 404);
	r = it_request(w->s, &(struct it_request){ .method = "GET", .path = path });
	IT_ASSERT_STATUS(r, 401);
	it_response_free(r);
}

/* Security review: POST /api/v1/archive takes the ids in a JSON body, so a selection whose
 * GET address would pass the 2,048-byte request target (414) comes as one ZIP; the same
 * checks as the GET (each id the caller's tenant's, once, not the root, names unique, at most
 * 1,000), the CSRF token like any POST, one selection.archive record. */
static void test_selection_post(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char zip[IT_STR * 2], py[IT_STR * 2], name[32], *url, *out = NULL, *err = NULL;
	long long root, ids[600];
	size_t n = 0, len;
	json_t *arr, *j;
	FILE *f;

	r = it_get(w->s, &w->auser, "/api/v1/folders/root");
	IT_ASSERT_STATUS(r, 200);
	root = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "sel-%03d", i);
		ids[i] = mkdir_in(w->s, &w->auser, root, name);
	}
	/* the GET form cannot carry them */
	url = malloc(16 + 600 * 24);
	len = (size_t)sprintf(url, "/api/v1/archive?ids=");
	for (int i = 0; i < 600; i++)
		len += (size_t)sprintf(url + len, "%s%lld", i ? "," : "", ids[i]);
	assert_true(len > 2048);
	r = it_get(w->s, &w->auser, url);
	assert_int_equal(r->status, 414);
	it_response_free(r);
	free(url);

	arr = json_array();
	for (int i = 0; i < 600; i++)
		json_array_append_new(arr, json_integer(ids[i]));
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:o}", "ids", arr));
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->content_type, "application/zip");
	snprintf(zip, sizeof(zip), "%s/sel.zip", w->s->root);
	snprintf(py, sizeof(py), "%s/check.py", w->s->root);
	f = fopen(zip, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(r->body, 1, r->body_len, f), r->body_len);
	fclose(f);
	it_response_free(r);
	f = fopen(py, "w");
	assert_non_null(f);
	fputs(check_py, f);
	fclose(f);
	{
		const char *argv[] = { "/usr/bin/python3", py, zip, NULL };

		assert_int_equal(it_run(argv, 60, &out, &err), 0);
	}
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 600);
	assert_non_null(json_object_get(j, "sel-000/"));
	assert_non_null(json_object_get(j, "sel-599/"));
	json_decref(j);
	free(out);
	free(err);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=selection.archive"), 1);

	/* bad input changes nothing and records nothing */
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:[I,I]}", "ids", ids[0], ids[0]));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:[]}", "ids"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:[s]}", "ids", "1"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:[i]}", "ids", 0));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	arr = json_array();
	for (int i = 0; i < 1001; i++)
		json_array_append_new(arr, json_integer(i + 1));
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:o}", "ids", arr));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", "/api/v1/archive", json_pack("{s:[I]}", "ids", root));
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	/* another tenant's manager: alpha's ids are not found */
	r = it_send(w->s, &w->bmgr, "POST", "/api/v1/archive", json_pack("{s:[I,I]}", "ids", ids[0], ids[1]));
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	/* without the CSRF token: refused like any POST of a session */
	r = it_request(w->s, &(struct it_request){ .method = "POST", .path = "/api/v1/archive",
						   .body = "{\"ids\":[1]}", .body_len = 11,
						   .content_type = "application/json", .cookie = w->auser.token });
	assert_int_equal(r->status, 403);
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=selection.archive"), 1);
	n = (size_t)it_audit_count(w->s, &w->amgr, "action=selection.archive&result=success");
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_archive, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_selection_post, it_setup_world, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
