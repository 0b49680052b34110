/*
 * Integration: small files kept inline in the database (issue 11, docs/performance.md "Small
 * files inline in the database"). A file of at most KURA_INLINE_MAX_BYTES (64 KiB) leaves no
 * blob, through the API and WebDAV, and reads back byte for byte; one byte more is a blob.
 * Replacing inline → blob → inline leaves exactly the blobs the rows name (the old blob
 * deleted); COPY and MOVE of an inline file and of a folder holding both kinds; trash and
 * purge; a flipped byte in a row's inline ciphertext is refused like a tampered blob (500
 * integrity-error, recorded), and the row holds ciphertext only; kill -9 right after
 * acknowledged small uploads loses none.
 * Where the content is kept is read from the database itself (it_db_count); the blobs are
 * counted in DIR/blobs or in the S3 bucket.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

#define INLINE_MAX (64 * 1024)   /* KURA_INLINE_MAX_BYTES */

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

/* Committed blobs of every tenant: DIR/blobs/<tenant>/<id>, or the bucket's objects. */
static int count_blobs(struct it_server *s)
{
	char dir[IT_STR + 16], sub[2 * IT_STR];
	struct dirent *de, *fe;
	DIR *d, *t;
	int count = 0;

	if (it_blob_s3())
		snprintf(dir, sizeof(dir), "%s/kura/it", s->s3_dir);
	else
		snprintf(dir, sizeof(dir), "%s/blobs", s->data);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		t = opendir(sub);
		if (!t)
			continue;
		while ((fe = readdir(t)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			size_t len = strlen(fe->d_name), suf = strlen("._S3rver_object");

			/* s3rver: <id>._S3rver_object beside its metadata files */
			if (it_blob_s3() && (len < suf || strcmp(fe->d_name + len - suf, "._S3rver_object")))
				continue;
			count++;
		}
		closedir(t);
	}
	closedir(d);
	return count;
}

static struct it_response *put_api(struct it_server *s, const struct it_session *sess, const char *name,
				   const void *data, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/folders/root/files/%s", name);
	return it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = data ? data : "",
						   .body_len = n, .content_type = "application/octet-stream",
						   .cookie = sess->token, .csrf = sess->csrf });
}

static int64_t upload(struct it_server *s, const struct it_session *sess, const char *name, const void *data,
		      size_t n)
{
	struct it_response *r = put_api(s, sess, name, data, n);
	int64_t id;

	if (r->status != 201 && r->status != 200)
		print_error("upload %s: %ld %s\n", name, r->status, r->body);
	assert_true(r->status == 201 || r->status == 200);
	id = json_integer_value(json_object_get(r->json, "id"));
	assert_true(id > 0);
	it_response_free(r);
	return id;
}

static void expect_content(struct it_server *s, const struct it_session *sess, int64_t id, const void *data,
			   size_t n)
{
	char path[128];
	struct it_response *r;

	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", (long long)id);
	r = it_get(s, sess, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, n);
	if (n)
		assert_memory_equal(r->body, data, n);
	it_response_free(r);
}

/* 1 when the file's row holds its content, 0 when a blob does. */
static long is_inline(struct it_server *s, int64_t id)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM file_nodes WHERE id = %lld AND inline_data IS NOT NULL",
		 (long long)id);
	return it_db_count(s, sql);
}

/* Blobs the rows name: files without inline content (every tenant). */
static long blob_rows(struct it_server *s)
{
	return it_db_count(s, "SELECT count(*) FROM file_nodes WHERE kind = 'file' AND inline_data IS NULL");
}

static void app_password(struct it_server *s, const struct it_session *sess, char *ret)
{
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", "inline", "scope", "read-write"));

	IT_ASSERT_STATUS(r, 201);
	snprintf(ret, IT_STR, "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
}

static struct it_response *dav(struct it_server *s, const char *auth, const char *method, const char *path,
			       const void *body, size_t n, const char *extra)
{
	const char *headers[] = { auth, extra, NULL };

	return it_request(s, &(struct it_request){ .method = method, .path = path, .body = body, .body_len = n,
						   .content_type = body ? "application/octet-stream" : "",
						   .headers = headers });
}

static void test_small_put_is_inline(void **state)
{
	struct it_world *w = *state;
	unsigned char *d = random_bytes(4096, 1), *e = random_bytes(1000, 2);
	char secret[IT_STR], auth[IT_STR * 3];
	struct it_response *r;
	int blobs = count_blobs(w->s);
	int64_t id, empty;
	long long dav_id;

	/* the API: no blob, the row holds it, it reads back */
	id = upload(w->s, &w->amgr, "small.bin", d, 4096);
	assert_int_equal(count_blobs(w->s), blobs);
	assert_int_equal(is_inline(w->s, id), 1);
	expect_content(w->s, &w->amgr, id, d, 4096);
	empty = upload(w->s, &w->amgr, "empty.bin", NULL, 0);
	assert_int_equal(is_inline(w->s, empty), 1);
	expect_content(w->s, &w->amgr, empty, NULL, 0);
	{
		const char *range[] = { "Range: bytes=100-199", NULL };
		char path[128];

		snprintf(path, sizeof(path), "/api/v1/files/%lld/content", (long long)id);
		r = it_request(w->s, &(struct it_request){ .method = "GET", .path = path, .cookie = w->amgr.token,
							   .headers = range });
		IT_ASSERT_STATUS(r, 206);
		assert_int_equal(r->body_len, 100);
		assert_memory_equal(r->body, d + 100, 100);
		it_response_free(r);
	}

	/* only ciphertext in the database: a small file made of a marker is nowhere in its files */
	{
		static const char marker[] = "KURA-INLINE-PLAINTEXT-7c2d";
		char text[2000];
		int64_t m;

		for (size_t i = 0; i < sizeof(text); i++)
			text[i] = marker[i % (sizeof(marker) - 1)];
		m = upload(w->s, &w->amgr, "marker.txt", text, sizeof(text));
		assert_int_equal(is_inline(w->s, m), 1);
		assert_false(it_db_files_hold(w->s, marker, strlen(marker)));
		expect_content(w->s, &w->amgr, m, text, sizeof(text));
	}

	/* WebDAV: the same */
	app_password(w->s, &w->amgr, secret);
	it_basic_auth(auth, sizeof(auth), "amgr", secret);
	r = dav(w->s, auth, "PUT", "/dav/alpha/dav-small.bin", e, 1000, NULL);
	assert_true(r->status == 201 || r->status == 204);
	it_response_free(r);
	assert_int_equal(count_blobs(w->s), blobs);
	dav_id = it_tree_id(w->s, &w->amgr, "/dav-small.bin");
	assert_true(dav_id > 0);
	assert_int_equal(is_inline(w->s, dav_id), 1);
	r = dav(w->s, auth, "GET", "/dav/alpha/dav-small.bin", NULL, 0, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, 1000);
	assert_memory_equal(r->body, e, 1000);
	it_response_free(r);
	free(d);
	free(e);
}

static void test_limit_and_limit_plus_one(void **state)
{
	struct it_world *w = *state;
	unsigned char *d = random_bytes(INLINE_MAX + 1, 3);
	int blobs = count_blobs(w->s);
	int64_t at, over;

	at = upload(w->s, &w->amgr, "at-limit.bin", d, INLINE_MAX);
	assert_int_equal(count_blobs(w->s), blobs);
	assert_int_equal(is_inline(w->s, at), 1);
	over = upload(w->s, &w->amgr, "over-limit.bin", d, INLINE_MAX + 1);
	assert_int_equal(count_blobs(w->s), blobs + 1);
	assert_int_equal(is_inline(w->s, over), 0);
	expect_content(w->s, &w->amgr, at, d, INLINE_MAX);
	expect_content(w->s, &w->amgr, over, d, INLINE_MAX + 1);
	assert_int_equal(count_blobs(w->s), blob_rows(w->s));
	free(d);
}

static void test_replace_both_ways(void **state)
{
	struct it_world *w = *state;
	unsigned char *small = random_bytes(3000, 4), *big = random_bytes(200000, 5), *small2 = random_bytes(5, 6);
	int blobs = count_blobs(w->s);
	int64_t id;

	id = upload(w->s, &w->auser, "flip.bin", small, 3000);
	assert_int_equal(is_inline(w->s, id), 1);
	/* inline → blob */
	assert_int_equal(upload(w->s, &w->auser, "flip.bin", big, 200000), id);
	assert_int_equal(is_inline(w->s, id), 0);
	assert_int_equal(count_blobs(w->s), blobs + 1);
	expect_content(w->s, &w->auser, id, big, 200000);
	/* blob → inline: the old blob goes */
	assert_int_equal(upload(w->s, &w->auser, "flip.bin", small2, 5), id);
	assert_int_equal(is_inline(w->s, id), 1);
	assert_int_equal(count_blobs(w->s), blobs);
	expect_content(w->s, &w->auser, id, small2, 5);
	/* inline → inline */
	assert_int_equal(upload(w->s, &w->auser, "flip.bin", small, 3000), id);
	assert_int_equal(count_blobs(w->s), blobs);
	expect_content(w->s, &w->auser, id, small, 3000);
	assert_int_equal(count_blobs(w->s), blob_rows(w->s));
	free(small);
	free(big);
	free(small2);
}

static void test_copy_move_trash(void **state)
{
	struct it_world *w = *state;
	unsigned char *a = random_bytes(777, 7), *b = random_bytes(100000, 8);
	char secret[IT_STR], auth[IT_STR * 3];
	struct it_response *r;
	long long copy, moved, c1, c2, folder;
	int blobs;
	int64_t id;

	app_password(w->s, &w->bmgr, secret);
	it_basic_auth(auth, sizeof(auth), "bmgr", secret);
	id = upload(w->s, &w->bmgr, "orig.txt", a, 777);
	blobs = count_blobs(w->s);
	r = dav(w->s, auth, "COPY", "/dav/bravo/orig.txt", NULL, 0, "Destination: /dav/bravo/copy.txt");
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	copy = it_tree_id(w->s, &w->bmgr, "/copy.txt");
	assert_true(copy > 0 && copy != id);
	assert_int_equal(is_inline(w->s, copy), 1);
	assert_int_equal(count_blobs(w->s), blobs);
	expect_content(w->s, &w->bmgr, copy, a, 777);
	expect_content(w->s, &w->bmgr, id, a, 777);
	r = dav(w->s, auth, "MOVE", "/dav/bravo/copy.txt", NULL, 0, "Destination: /dav/bravo/moved.txt");
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	moved = it_tree_id(w->s, &w->bmgr, "/moved.txt");
	assert_int_equal(moved, copy);
	expect_content(w->s, &w->bmgr, moved, a, 777);

	/* a folder with an inline file and a blob: both copied, each as it was */
	r = dav(w->s, auth, "MKCOL", "/dav/bravo/mixed", NULL, 0, NULL);
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	r = dav(w->s, auth, "PUT", "/dav/bravo/mixed/a.txt", a, 777, NULL);
	it_response_free(r);
	r = dav(w->s, auth, "PUT", "/dav/bravo/mixed/b.bin", b, 100000, NULL);
	it_response_free(r);
	blobs = count_blobs(w->s);
	r = dav(w->s, auth, "COPY", "/dav/bravo/mixed", NULL, 0, "Destination: /dav/bravo/mixed2");
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	c1 = it_tree_id(w->s, &w->bmgr, "/mixed2/a.txt");
	c2 = it_tree_id(w->s, &w->bmgr, "/mixed2/b.bin");
	assert_int_equal(is_inline(w->s, c1), 1);
	assert_int_equal(is_inline(w->s, c2), 0);
	assert_int_equal(count_blobs(w->s), blobs + 1);
	expect_content(w->s, &w->bmgr, c1, a, 777);
	expect_content(w->s, &w->bmgr, c2, b, 100000);

	/* trash and purge: the inline row goes, the blob with its row */
	folder = it_tree_id(w->s, &w->bmgr, "/mixed2");
	{
		char path[128];

		snprintf(path, sizeof(path), "/api/v1/folders/%lld", folder);
		r = it_send(w->s, &w->bmgr, "DELETE", path, NULL);
		assert_true(r->status == 200 || r->status == 204);
		it_response_free(r);
		snprintf(path, sizeof(path), "/api/v1/trash/%lld", folder);
		r = it_send(w->s, &w->bmgr, "DELETE", path, NULL);
		assert_true(r->status == 200 || r->status == 204);
		it_response_free(r);
	}
	assert_int_equal(count_blobs(w->s), blobs);
	assert_int_equal(count_blobs(w->s), blob_rows(w->s));
	free(a);
	free(b);
}

static void test_flipped_inline_byte(void **state)
{
	struct it_world *w = *state;
	unsigned char *d = random_bytes(20000, 9), *ct;
	char sql[200];
	struct it_response *r;
	size_t n = 0;
	int64_t id;
	long before;

	id = upload(w->s, &w->auser, "tamper.bin", d, 20000);
	assert_int_equal(is_inline(w->s, id), 1);
	snprintf(sql, sizeof(sql), "SELECT inline_data FROM file_nodes WHERE id = %lld", (long long)id);
	ct = it_db_blob(w->s, sql, &n);
	assert_non_null(ct);
	assert_int_equal(n, 32 + 20000 + 16);   /* header, one sealed chunk: what a blob would hold */
	assert_false(memmem(ct, n, d, 64) != NULL);   /* ciphertext only */
	ct[32 + 5000] ^= 0x40;
	snprintf(sql, sizeof(sql), "UPDATE file_nodes SET inline_data = $1 WHERE id = %lld", (long long)id);
	assert_int_equal(it_db_exec_blob(w->s, sql, ct, n), 0);
	before = it_audit_count(w->s, &w->amgr, "action=file.integrity&result=failure");
	snprintf(sql, sizeof(sql), "/api/v1/files/%lld/content", (long long)id);
	r = it_get(w->s, &w->auser, sql);
	IT_ASSERT_PROBLEM(r, 500, "integrity-error");
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=file.integrity&result=failure"), before + 1);
	/* a cut one is refused whole as well */
	snprintf(sql, sizeof(sql), "UPDATE file_nodes SET inline_data = $1 WHERE id = %lld", (long long)id);
	ct[32 + 5000] ^= 0x40;
	assert_int_equal(it_db_exec_blob(w->s, sql, ct, n - 1), 0);
	snprintf(sql, sizeof(sql), "/api/v1/files/%lld/content", (long long)id);
	r = it_get(w->s, &w->auser, sql);
	IT_ASSERT_PROBLEM(r, 500, "integrity-error");
	it_response_free(r);
	/* restored, it reads again */
	snprintf(sql, sizeof(sql), "UPDATE file_nodes SET inline_data = $1 WHERE id = %lld", (long long)id);
	assert_int_equal(it_db_exec_blob(w->s, sql, ct, n), 0);
	expect_content(w->s, &w->auser, id, d, 20000);
	free(ct);
	free(d);
}

static void test_kill9_after_small_puts(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	int64_t ids[40];
	unsigned char *d = random_bytes(40 * 97, 10);
	int status;

	for (int i = 0; i < 40; i++) {
		char name[32];

		snprintf(name, sizeof(name), "acked-%d.bin", i);
		ids[i] = upload(s, &w->amgr, name, d + i * 97, 97);
	}
	/* no chance to checkpoint or close anything: every acknowledged PUT was committed */
	kill(s->pid, SIGKILL);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFSIGNALED(status));
	s->pid = -1;
	assert_int_equal(it_server_restart(s), 0);
	IT_ASSERT_LOGIN(s, "alpha", "amgr", IT_A_MGR_PW, 201, &w->amgr);
	IT_ASSERT_LOGIN(s, "alpha", "auser", IT_A_USER_PW, 201, &w->auser);
	IT_ASSERT_LOGIN(s, "bravo", "bmgr", IT_B_MGR_PW, 201, &w->bmgr);
	for (int i = 0; i < 40; i++)
		expect_content(s, &w->amgr, ids[i], d + i * 97, 97);
	assert_int_equal(it_admin(s, NULL, "audit", "verify", "alpha", NULL), 0);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_put_is_inline),
		cmocka_unit_test(test_limit_and_limit_plus_one),
		cmocka_unit_test(test_replace_both_ways),
		cmocka_unit_test(test_copy_move_trash),
		cmocka_unit_test(test_flipped_inline_byte),
		cmocka_unit_test(test_kill9_after_small_puts),
	};

	return cmocka_run_group_tests(tests, it_setup_world, it_teardown_world);
}
