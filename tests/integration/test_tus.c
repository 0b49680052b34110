/*
 * Integration: resumable uploads, tus 1.0 at /api/v1/uploads (issue 15), driven with curl
 * as a tus client would: OPTIONS, creation and creation-with-upload, PATCH in pieces, HEAD,
 * the offset rule (what is acknowledged is whole durable 64 KiB chunks), a connection cut
 * mid-PATCH and a server restart mid-upload (both resume from HEAD's offset), checksum
 * mismatch (460, nothing kept), termination, expiry (test clock), the quota at creation
 * (507), another account's or tenant's upload (404), and the committed file downloaded
 * byte-identical (also across a tenant key rotation), with the audit records upload.create, upload.terminate, upload.expire and
 * file.upload. GET /api/v1/uploads lists the caller's own unfinished uploads with their URLs
 * (what a reloaded page resumes from), across a key rotation and a restart.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "harness.h"

#define CHUNK 65536
#define DATA_LEN (5 * CHUNK + 1234)
#define FILE_NAME "報告書 2026 — tus.bin"

static unsigned char data[DATA_LEN];

static void fill_data(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < sizeof(data); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (unsigned char)(x >> 24);
	}
}

static void b64(const void *in, size_t n, char *out, size_t size)
{
	sodium_bin2base64(out, size, in, n, sodium_base64_VARIANT_ORIGINAL);
}

/* The value of response header name (case-insensitive), into buf; NULL when absent. */
static const char *hdr(const struct it_response *r, const char *name, char *buf, size_t size)
{
	const char *p = r->headers;
	size_t n = strlen(name);

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && !strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = len - (size_t)(v - p);
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(buf, size, "%.*s", (int)vl, v);
			return buf;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static long long hdr_int(const struct it_response *r, const char *name)
{
	char v[64];

	assert_non_null(hdr(r, name, v, sizeof(v)));
	return atoll(v);
}

static struct it_response *tus(struct it_server *s, const struct it_session *sess, const char *method,
			       const char *path, const char *const *headers, const void *body, size_t n)
{
	const char *h[12];
	size_t i = 0, k;

	h[i++] = "Tus-Resumable: 1.0.0";
	for (k = 0; headers && headers[k] && i < 11; k++)
		h[i++] = headers[k];
	h[i] = NULL;
	return it_request(s, &(struct it_request){ .method = method, .path = path, .headers = h,
						   .cookie = sess->token, .csrf = sess->csrf,
						   .body = body, .body_len = n,
						   .content_type = body ? "application/offset+octet-stream" : "" });
}

/* POST /api/v1/uploads for name in the root; the upload's path into loc. */
static long create(struct it_server *s, const struct it_session *sess, const char *name, long long length,
		   char *loc, size_t loc_size)
{
	char len[64], meta[IT_STR * 2], name64[IT_STR];
	struct it_response *r;
	long st;

	b64(name, strlen(name), name64, sizeof(name64));
	snprintf(len, sizeof(len), "Upload-Length: %lld", length);
	snprintf(meta, sizeof(meta), "Upload-Metadata: filename %s,filetype YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFt,"
		 "folder cm9vdA==,relativePath bnVsbA==", name64);
	r = tus(s, sess, "POST", "/api/v1/uploads", (const char *const[]){ len, meta, NULL }, NULL, 0);
	st = r->status;
	if (st == 201) {
		char v[IT_STR];

		assert_non_null(hdr(r, "Location", v, sizeof(v)));
		assert_string_equal(hdr(r, "Tus-Resumable", v, sizeof(v)) ? v : "", "1.0.0");
		assert_non_null(hdr(r, "Upload-Expires", v, sizeof(v)));
		hdr(r, "Location", loc, loc_size);
	}
	it_response_free(r);
	return st;
}

/* PATCH bytes [from, to) of data at offset from; returns the answer (caller frees). */
static struct it_response *patch(struct it_server *s, const struct it_session *sess, const char *loc,
				 size_t from, size_t to, const char *checksum)
{
	char off[64];

	snprintf(off, sizeof(off), "Upload-Offset: %zu", from);
	return tus(s, sess, "PATCH", loc, (const char *const[]){ off, checksum, NULL }, data + from, to - from);
}

static long long head_offset(struct it_server *s, const struct it_session *sess, const char *loc)
{
	struct it_response *r = tus(s, sess, "HEAD", loc, NULL, NULL, 0);
	long long off;

	IT_ASSERT_STATUS(r, 200);
	off = hdr_int(r, "Upload-Offset");
	assert_int_equal(hdr_int(r, "Upload-Length"), DATA_LEN);
	it_response_free(r);
	return off;
}

/* The root's file called name has exactly data's bytes. */
static void assert_download(struct it_server *s, const struct it_session *sess, const char *name)
{
	char path[64], want[IT_STR];
	long long id;
	struct it_response *r;

	snprintf(want, sizeof(want), "/%s", name);
	id = it_tree_id(s, sess, want);
	assert_true(id > 0);
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", id);
	r = it_get(s, sess, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, DATA_LEN);
	assert_memory_equal(r->body, data, DATA_LEN);
	it_response_free(r);
}

static void sha256_header(const void *p, size_t n, char *out, size_t size)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char enc[64];

	crypto_hash_sha256(h, p, n);
	b64(h, sizeof(h), enc, sizeof(enc));
	snprintf(out, size, "Upload-Checksum: sha256 %s", enc);
}

static void test_options_and_version(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char v[IT_STR];

	r = it_request(w->s, &(struct it_request){ .method = "OPTIONS", .path = "/api/v1/uploads",
						   .cookie = w->auser.token });
	IT_ASSERT_STATUS(r, 204);
	assert_string_equal(hdr(r, "Tus-Version", v, sizeof(v)), "1.0.0");
	assert_string_equal(hdr(r, "Tus-Resumable", v, sizeof(v)), "1.0.0");
	assert_non_null(strstr(hdr(r, "Tus-Extension", v, sizeof(v)), "creation-with-upload"));
	assert_non_null(strstr(v, "termination"));
	assert_non_null(strstr(v, "checksum"));
	assert_non_null(strstr(v, "expiration"));
	assert_int_equal(hdr_int(r, "Tus-Max-Size"), 64LL * 1024 * 1024 * 1024);
	assert_string_equal(hdr(r, "Tus-Checksum-Algorithm", v, sizeof(v)), "sha256");
	it_response_free(r);
	/* without a session: like every API route */
	r = it_request(w->s, &(struct it_request){ .method = "OPTIONS", .path = "/api/v1/uploads" });
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	/* another protocol version: 412 with the one supported */
	r = it_request(w->s, &(struct it_request){ .method = "POST", .path = "/api/v1/uploads",
						   .cookie = w->auser.token, .csrf = w->auser.csrf,
						   .headers = (const char *const[]){ "Tus-Resumable: 0.2.2",
										    "Upload-Length: 5", NULL } });
	IT_ASSERT_STATUS(r, 412);
	assert_string_equal(hdr(r, "Tus-Version", v, sizeof(v)), "1.0.0");
	it_response_free(r);
	/* without the CSRF token a cookie session changes nothing */
	r = it_request(w->s, &(struct it_request){ .method = "POST", .path = "/api/v1/uploads",
						   .cookie = w->auser.token,
						   .headers = (const char *const[]){ "Tus-Resumable: 1.0.0",
										    "Upload-Length: 5",
										    "Upload-Metadata: filename YQ==", NULL } });
	IT_ASSERT_STATUS(r, 403);
	it_response_free(r);
	/* bad headers */
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: -1", "Upload-Metadata: filename YQ==", NULL }, NULL, 0);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 5", "Upload-Metadata: filename !!!", NULL }, NULL, 0);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 5", "Upload-Metadata: filename Li4=", NULL }, NULL, 0);
	IT_ASSERT_PROBLEM(r, 400, "invalid-name");   /* ".." */
	it_response_free(r);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 5", "Upload-Metadata: filename YQ==,folder OTk5OTk5", NULL },
		NULL, 0);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.create"), 0);
}

static void test_upload_in_pieces(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char loc[IT_STR], sum[IT_STR], v[IT_STR];
	json_t *ev;

	assert_int_equal(create(w->s, &w->auser, FILE_NAME, DATA_LEN, loc, sizeof(loc)), 201);
	assert_non_null(strstr(loc, "/api/v1/uploads/"));
	assert_int_equal(head_offset(w->s, &w->auser, loc), 0);
	/* 100000 bytes: the whole first chunk is durable, the rest of the piece is not kept */
	r = patch(w->s, &w->auser, loc, 0, 100000, NULL);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), CHUNK);
	assert_non_null(hdr(r, "Upload-Expires", v, sizeof(v)));
	it_response_free(r);
	assert_int_equal(head_offset(w->s, &w->auser, loc), CHUNK);
	/* a wrong offset: 409, with the right one */
	r = patch(w->s, &w->auser, loc, 100000, 120000, NULL);
	IT_ASSERT_PROBLEM(r, 409, "offset-mismatch");
	assert_int_equal(hdr_int(r, "Upload-Offset"), CHUNK);
	it_response_free(r);
	/* wrong media type */
	r = it_request(w->s, &(struct it_request){ .method = "PATCH", .path = loc, .cookie = w->auser.token,
						   .csrf = w->auser.csrf, .body = (const char *)data, .body_len = 10,
						   .content_type = "application/octet-stream",
						   .headers = (const char *const[]){ "Tus-Resumable: 1.0.0",
										    "Upload-Offset: 65536", NULL } });
	IT_ASSERT_STATUS(r, 415);
	it_response_free(r);
	/* exactly up to a chunk boundary: all of it is durable */
	r = patch(w->s, &w->auser, loc, CHUNK, 3 * CHUNK, NULL);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), 3 * CHUNK);
	it_response_free(r);
	/* more than Upload-Length: refused, nothing kept */
	{
		static unsigned char big[DATA_LEN + 10];

		memcpy(big, data, DATA_LEN);
		r = tus(w->s, &w->auser, "PATCH", loc, (const char *const[]){ "Upload-Offset: 196608", NULL },
			big + 3 * CHUNK, sizeof(big) - 3 * CHUNK);
		IT_ASSERT_PROBLEM(r, 413, "upload-too-long");
		it_response_free(r);
	}
	assert_int_equal(head_offset(w->s, &w->auser, loc), 3 * CHUNK);
	/* the rest, with a checksum: complete */
	sha256_header(data + 3 * CHUNK, DATA_LEN - 3 * CHUNK, sum, sizeof(sum));
	r = patch(w->s, &w->auser, loc, 3 * CHUNK, DATA_LEN, sum);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), DATA_LEN);
	it_response_free(r);
	/* done: the upload is gone, the file is there */
	r = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	assert_download(w->s, &w->auser, FILE_NAME);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.create"), 1);
	ev = it_audit_events(w->s, &w->amgr, NULL, "action=file.upload");
	assert_int_equal(json_array_size(ev), 1);
	{
		char *dump = json_dumps(json_array_get(ev, 0), 0);

		assert_non_null(strstr(dump, "tus.bin"));
		free(dump);
	}
	json_decref(ev);
}

/* A PATCH answered is a PATCH finished: the next one, sent the moment the answer is read, is
 * never refused as "busy" (the claim used to end only when the answered request was torn down,
 * after the client already had its 204). Many uploads in whole chunks, back to back. */
static void test_back_to_back_patches(void **state)
{
	struct it_world *w = *state;
	char loc[IT_STR], name[32];

	for (int u = 0; u < 25; u++) {
		snprintf(name, sizeof(name), "b2b-%d.bin", u);
		assert_int_equal(create(w->s, &w->auser, name, DATA_LEN, loc, sizeof(loc)), 201);
		for (size_t off = 0; off < DATA_LEN; off += CHUNK) {
			size_t to = off + CHUNK < DATA_LEN ? off + CHUNK : DATA_LEN;
			struct it_response *r = patch(w->s, &w->auser, loc, off, to, NULL);

			IT_ASSERT_STATUS(r, 204);
			assert_int_equal(hdr_int(r, "Upload-Offset"), (long long)to);
			it_response_free(r);
		}
	}
}

static void test_creation_with_upload(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char len[64], meta[IT_STR * 2], name64[IT_STR], loc[IT_STR];

	b64("cwu.bin", 7, name64, sizeof(name64));
	snprintf(len, sizeof(len), "Upload-Length: %d", DATA_LEN);
	snprintf(meta, sizeof(meta), "Upload-Metadata: filename %s", name64);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads", (const char *const[]){ len, meta, NULL }, data,
		2 * CHUNK + 7);
	IT_ASSERT_STATUS(r, 201);
	assert_int_equal(hdr_int(r, "Upload-Offset"), 2 * CHUNK);
	assert_non_null(hdr(r, "Location", loc, sizeof(loc)));
	it_response_free(r);
	r = patch(w->s, &w->auser, loc, 2 * CHUNK, DATA_LEN, NULL);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), DATA_LEN);
	it_response_free(r);
	assert_download(w->s, &w->auser, "cwu.bin");
	/* an empty file in one POST */
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 0", "Upload-Metadata: filename ZW1wdHk=", NULL }, NULL, 0);
	IT_ASSERT_STATUS(r, 201);
	assert_non_null(hdr(r, "Location", loc, sizeof(loc)));
	it_response_free(r);
	r = tus(w->s, &w->auser, "PATCH", loc, (const char *const[]){ "Upload-Offset: 0", NULL }, "", 0);
	/* no body: curl sends no Content-Type then; the answer is 415 or the completion */
	assert_true(r->status == 204 || r->status == 415);
	it_response_free(r);
}

static void test_checksum_and_termination(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char loc[IT_STR], sum[IT_STR];

	assert_int_equal(create(w->s, &w->auser, "sum.bin", DATA_LEN, loc, sizeof(loc)), 201);
	/* the checksum of other bytes: 460, nothing of the PATCH kept */
	sha256_header(data + 1, 2 * CHUNK, sum, sizeof(sum));
	r = patch(w->s, &w->auser, loc, 0, 2 * CHUNK, sum);
	IT_ASSERT_PROBLEM(r, 460, "checksum-mismatch");
	it_response_free(r);
	assert_int_equal(head_offset(w->s, &w->auser, loc), 0);
	r = patch(w->s, &w->auser, loc, 0, 2 * CHUNK, "Upload-Checksum: md5 AAAA");
	IT_ASSERT_PROBLEM(r, 400, "checksum-algorithm");
	it_response_free(r);
	sha256_header(data, 2 * CHUNK, sum, sizeof(sum));
	r = patch(w->s, &w->auser, loc, 0, 2 * CHUNK, sum);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), 2 * CHUNK);
	it_response_free(r);
	/* termination */
	r = tus(w->s, &w->auser, "DELETE", loc, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	r = patch(w->s, &w->auser, loc, 2 * CHUNK, DATA_LEN, NULL);
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.terminate"), 1);
	assert_int_equal(it_tree_id(w->s, &w->auser, "/sum.bin"), 0);
}

static void test_other_accounts_get_404(void **state)
{
	struct it_world *w = *state;
	const struct it_session *others[] = { &w->amgr, &w->bmgr };
	struct it_response *r;
	char loc[IT_STR], bad[IT_STR];
	size_t i;

	assert_int_equal(create(w->s, &w->auser, "mine.bin", DATA_LEN, loc, sizeof(loc)), 201);
	r = patch(w->s, &w->auser, loc, 0, CHUNK + 1, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	for (i = 0; i < 2; i++) {
		r = tus(w->s, others[i], "HEAD", loc, NULL, NULL, 0);
		IT_ASSERT_STATUS(r, 404);
		it_response_free(r);
		r = patch(w->s, others[i], loc, CHUNK, DATA_LEN, NULL);
		IT_ASSERT_PROBLEM(r, 404, "not-found");
		it_response_free(r);
		r = tus(w->s, others[i], "DELETE", loc, NULL, NULL, 0);
		IT_ASSERT_PROBLEM(r, 404, "not-found");
		it_response_free(r);
	}
	/* a token that is not one: 404 as well */
	snprintf(bad, sizeof(bad), "%.*s0", (int)strlen(loc) - 1, loc);
	if (!strcmp(bad, loc))
		bad[strlen(bad) - 1] = '1';
	r = tus(w->s, &w->auser, "HEAD", bad, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	r = tus(w->s, &w->auser, "HEAD", "/api/v1/uploads/..%2f..%2fx", NULL, NULL, 0);
	assert_true(r->status == 404 || r->status == 400);
	it_response_free(r);
	assert_int_equal(head_offset(w->s, &w->auser, loc), CHUNK);
}

static void test_quota_at_creation(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	json_t *j = NULL;
	char loc[IT_STR];

	assert_int_equal(it_admin(w->s, &j, "tenant", "set-quota", "alpha", "1000000", NULL), 0);
	json_decref(j);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 2000000", "Upload-Metadata: filename YmlnLmJpbg==", NULL },
		NULL, 0);
	IT_ASSERT_PROBLEM(r, 507, "quota-exceeded");
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.create"), 0);
	assert_int_equal(create(w->s, &w->auser, "fits.bin", DATA_LEN, loc, sizeof(loc)), 201);
}

/* One WebDAV request as auser (its read-write app password in secret). */
static struct it_response *dav_as(struct it_server *s, const char *secret, const char *method, const char *path,
				  const char *body, const char *extra)
{
	char auth[IT_STR * 2];

	it_basic_auth(auth, sizeof(auth), "auser", secret);
	return it_request(s, &(struct it_request){ .method = method, .path = path, .body = body,
						   .body_len = body ? strlen(body) : 0,
						   .content_type = body ? "application/xml" : "",
						   .headers = (const char *const[]){ auth, extra, NULL } });
}

static void lock_token(const struct it_response *r, char *token, size_t size)
{
	const char *p = r->headers ? strstr(r->headers, "Lock-Token: <") : NULL, *e;

	assert_non_null(p);
	p += strlen("Lock-Token: <");
	e = strchr(p, '>');
	assert_non_null(e);
	snprintf(token, size, "%.*s", (int)(e - p), p);
}

/* A WebDAV client's lock on the target (an editor holding the file open) refuses an
 * upload that carries no lock token, with a problem the portal tells apart from a busy
 * upload (file-locked): at the creation, at a PATCH (the upload stays, to finish once the
 * lock is gone), and through the files API's PUT. After the UNLOCK the same upload ends. */
static void test_webdav_lock_refuses(void **state)
{
	static const char lockinfo[] = "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
				       "<D:locktype><D:write/></D:locktype></D:lockinfo>";
	struct it_world *w = *state;
	struct it_response *r;
	char secret[IT_STR], token[IT_STR], loc[IT_STR], later_loc[IT_STR];
	json_t *j;

	r = it_send(w->s, &w->auser, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "editor", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	r = dav_as(w->s, secret, "PUT", "/dav/alpha/doc.txt", "edited in an editor", NULL);
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	r = dav_as(w->s, secret, "LOCK", "/dav/alpha/doc.txt", lockinfo, "Timeout: Second-600");
	IT_ASSERT_STATUS(r, 200);
	lock_token(r, token, sizeof(token));
	it_response_free(r);

	/* tus: refused at the creation, nothing is created */
	assert_int_equal(create(w->s, &w->auser, "doc.txt", DATA_LEN, loc, sizeof(loc)), 423);
	r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
		(const char *const[]){ "Upload-Length: 5", "Upload-Metadata: filename ZG9jLnR4dA==", NULL }, NULL, 0);
	IT_ASSERT_PROBLEM(r, 423, "file-locked");
	it_response_free(r);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.create"), 0);
	/* the files API's PUT: refused before the body */
	r = it_request(w->s, &(struct it_request){ .method = "PUT", .path = "/api/v1/folders/root/files/doc.txt",
						   .cookie = w->auser.token, .csrf = w->auser.csrf,
						   .body = "from the portal", .body_len = 15,
						   .content_type = "text/plain" });
	IT_ASSERT_PROBLEM(r, 423, "file-locked");
	it_response_free(r);
	r = dav_as(w->s, secret, "GET", "/dav/alpha/doc.txt", NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->body, "edited in an editor");
	it_response_free(r);

	/* a lock taken while a tus upload runs: its next PATCH is refused and the upload stays */
	assert_int_equal(create(w->s, &w->auser, "later.bin", DATA_LEN, loc, sizeof(loc)), 201);
	snprintf(later_loc, sizeof(later_loc), "%s", loc);
	r = patch(w->s, &w->auser, loc, 0, CHUNK, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = dav_as(w->s, secret, "LOCK", "/dav/alpha/later.bin", lockinfo, NULL);
	IT_ASSERT_STATUS(r, 201);   /* an unmapped URL: the lock makes an empty file */
	it_response_free(r);
	r = patch(w->s, &w->auser, loc, CHUNK, DATA_LEN, NULL);
	IT_ASSERT_PROBLEM(r, 423, "file-locked");
	it_response_free(r);
	r = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(hdr_int(r, "Upload-Offset"), CHUNK);
	it_response_free(r);

	/* a lock taken while the last PATCH's bytes come: the upload is kept, without its last
	 * chunk, and ends once the lock is gone */
	{
		char head[4096], auth_loc[IT_STR * 2], *answer;
		struct it_response *h;
		int fd = it_raw_connect(w->s, NULL), n;
		long long kept;

		r = dav_as(w->s, secret, "LOCK", "/dav/alpha/last.bin", lockinfo, NULL);   /* makes it, empty */
		IT_ASSERT_STATUS(r, 201);
		lock_token(r, token, sizeof(token));
		it_response_free(r);
		snprintf(auth_loc, sizeof(auth_loc), "Lock-Token: <%s>", token);
		r = dav_as(w->s, secret, "UNLOCK", "/dav/alpha/last.bin", NULL, auth_loc);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
		assert_int_equal(create(w->s, &w->auser, "last.bin", DATA_LEN, loc, sizeof(loc)), 201);
		assert_true(fd >= 0);
		n = snprintf(head, sizeof(head),
			     "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: kura_session=%s\r\nX-CSRF-Token: %s\r\n"
			     "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
			     "Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n",
			     loc, w->auser.token, w->auser.csrf, DATA_LEN);
		assert_int_equal(it_raw_send(fd, head, (size_t)n), 0);
		assert_int_equal(it_raw_send(fd, data, DATA_LEN / 2), 0);
		assert_true(it_raw_wait_consumed(fd, IT_WAIT_S));
		r = dav_as(w->s, secret, "LOCK", "/dav/alpha/last.bin", lockinfo, NULL);
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
		assert_int_equal(it_raw_send(fd, data + DATA_LEN / 2, DATA_LEN - DATA_LEN / 2), 0);
		answer = it_raw_read_response(fd, IT_WAIT_S, NULL);
		assert_non_null(answer);
		assert_non_null(strstr(answer, "HTTP/1.1 423"));
		assert_non_null(strstr(answer, "file-locked"));
		free(answer);
		close(fd);
		h = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
		IT_ASSERT_STATUS(h, 200);
		kept = hdr_int(h, "Upload-Offset");
		it_response_free(h);
		assert_true(kept > 0 && kept < DATA_LEN && kept % CHUNK == 0);
		r = dav_as(w->s, secret, "GET", "/dav/alpha/last.bin", NULL, NULL);
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(r->body_len, 0);   /* the locked file is untouched */
		it_response_free(r);
	}

	/* a manager breaks the locks (the portal's Locks page); the uploads end, and the
	 * editor's file can be replaced */
	r = it_get(w->s, &w->amgr, "/api/v1/locks");
	IT_ASSERT_STATUS(r, 200);
	j = json_object_get(r->json, "items");
	assert_int_equal(json_array_size(j), 3);
	for (size_t i = 0; i < json_array_size(j); i++) {
		char path[IT_STR * 2];
		struct it_response *d;

		snprintf(path, sizeof(path), "/api/v1/locks/%s", it_json_str(json_array_get(j, i), "token"));
		d = it_send(w->s, &w->amgr, "DELETE", path, NULL);
		IT_ASSERT_STATUS(d, 204);
		it_response_free(d);
	}
	it_response_free(r);
	{
		struct it_response *h = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
		size_t kept = (size_t)hdr_int(h, "Upload-Offset");

		it_response_free(h);
		r = patch(w->s, &w->auser, loc, kept, DATA_LEN, NULL);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
		r = dav_as(w->s, secret, "GET", "/dav/alpha/last.bin", NULL, NULL);
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(r->body_len, DATA_LEN);
		assert_memory_equal(r->body, data, DATA_LEN);
		it_response_free(r);
	}
	r = patch(w->s, &w->auser, later_loc, CHUNK, DATA_LEN, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = dav_as(w->s, secret, "GET", "/dav/alpha/later.bin", NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, DATA_LEN);
	assert_memory_equal(r->body, data, DATA_LEN);
	it_response_free(r);
	assert_int_equal(create(w->s, &w->auser, "doc.txt", 5, loc, sizeof(loc)), 201);
}

/* Sends a PATCH of all the rest by hand and closes the connection half-way. */
static void cut_patch(struct it_server *s, const struct it_session *sess, const char *loc, size_t from,
		      size_t send_n)
{
	char head[4096];
	int fd = it_raw_connect(s, NULL);
	int n;

	assert_true(fd >= 0);
	n = snprintf(head, sizeof(head),
		     "PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: kura_session=%s\r\nX-CSRF-Token: %s\r\n"
		     "Tus-Resumable: 1.0.0\r\nUpload-Offset: %zu\r\n"
		     "Content-Type: application/offset+octet-stream\r\nContent-Length: %zu\r\n\r\n",
		     loc, sess->token, sess->csrf, from, (size_t)DATA_LEN - from);
	assert_int_equal(it_raw_send(fd, head, (size_t)n), 0);
	assert_int_equal(it_raw_send(fd, data + from, send_n), 0);
	/* the server has read what was sent (an RST throws away what it has not: then fewer
	 * chunks would be kept, however long a fixed sleep waited on a loaded machine) */
	assert_true(it_raw_wait_consumed(fd, IT_WAIT_S));
	/* cut hard (RST), as a dropped network path or a killed client looks */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger)), 0);
	close(fd);
}

static void test_resume_after_cut_and_restart(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char loc[IT_STR];
	long long off = 0;
	double end;

	assert_int_equal(create(w->s, &w->auser, FILE_NAME, DATA_LEN, loc, sizeof(loc)), 201);
	/* the connection breaks after 2.5 chunks: the two whole ones are kept */
	cut_patch(w->s, &w->auser, loc, 0, 2 * CHUNK + CHUNK / 2);
	end = it_now_s() + IT_WAIT_S;
	for (;;) {
		r = tus(w->s, &w->auser, "HEAD", loc, NULL, NULL, 0);
		IT_ASSERT_STATUS(r, 200);
		off = hdr_int(r, "Upload-Offset");
		it_response_free(r);
		if (off == 2 * CHUNK)
			break;
		assert_true(it_now_s() < end);   /* the server noticed the cut */
		it_sleep_ms(50);
	}
	/* one more chunk, then the server restarts. The cut request records its whole chunks and
	 * then ends its claim (api_uploads.c patch_abort: the claim covers the record), so a PATCH
	 * sent the moment HEAD shows the offset may meet 423 upload-busy for that instant; a tus
	 * client retries 423 (tus-js-client does), and so does this one. */
	while ((r = patch(w->s, &w->auser, loc, 2 * CHUNK, 3 * CHUNK + 100, NULL))->status == 423 &&
	       it_now_s() < end) {
		it_response_free(r);
		it_sleep_ms(50);
	}
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), 3 * CHUNK);
	it_response_free(r);
	/* the tenant key rotates meanwhile (old versions are deleted): the upload's key moves too */
	{
		json_t *j = NULL;

		assert_int_equal(it_admin(w->s, &j, "tenant", "rotate-key", "alpha", NULL), 0);
		json_decref(j);
	}
	assert_int_equal(it_server_restart(w->s), 0);
	assert_int_equal(head_offset(w->s, &w->auser, loc), 3 * CHUNK);
	r = patch(w->s, &w->auser, loc, 3 * CHUNK, DATA_LEN, NULL);
	IT_ASSERT_STATUS(r, 204);
	assert_int_equal(hdr_int(r, "Upload-Offset"), DATA_LEN);
	it_response_free(r);
	assert_download(w->s, &w->auser, FILE_NAME);
}

/* Files whose name starts with ".part-" anywhere under DIR/blobs. */
static int count_parts(struct it_server *s)
{
	char path[IT_STR * 2], sub[IT_STR * 3];
	DIR *d, *td;
	struct dirent *de, *te;
	int n = 0;

	/* on S3 a part is a folder of pieces, PREFIX/<tenant>/.part-<id>/<offset> (blob_s3.c) */
	if (it_blob_s3())
		snprintf(path, sizeof(path), "%s/kura/it", s->s3_dir);
	else
		snprintf(path, sizeof(path), "%s/blobs", s->data);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		td = opendir(sub);
		while (td && (te = readdir(td)) != NULL)
			n += !strncmp(te->d_name, ".part-", 6);
		if (td)
			closedir(td);
	}
	closedir(d);
	return n;
}

static void test_expiry(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	struct it_session fresh;
	char loc[IT_STR];

	assert_int_equal(create(w->s, &w->auser, "late.bin", DATA_LEN, loc, sizeof(loc)), 201);
	r = patch(w->s, &w->auser, loc, 0, CHUNK, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	assert_int_equal(count_parts(w->s), 1);
	/* 23 h later it is still there */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "82800", 1);
	assert_int_equal(it_server_restart(w->s), 0);
	assert_int_equal(it_login(w->s, "alpha", "auser", IT_A_USER_PW, &fresh), 201);
	assert_int_equal(head_offset(w->s, &fresh, loc), CHUNK);
	/* 25 h: expired, swept (row, part, record) */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "90000", 1);
	assert_int_equal(it_server_restart(w->s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	assert_int_equal(it_login(w->s, "alpha", "auser", IT_A_USER_PW, &fresh), 201);
	r = tus(w->s, &fresh, "HEAD", loc, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 404);
	it_response_free(r);
	assert_int_equal(it_login(w->s, "alpha", "amgr", IT_A_MGR_PW, &w->amgr), 201);
	IT_POLL_UNTIL(it_audit_count(w->s, &w->amgr, "action=upload.expire") >= 1);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.expire"), 1);
	assert_int_equal(count_parts(w->s), 0);
}

/* The reference client: tests/tus/tus.test.mjs drives tus-js-client (pinned in
 * tests/tus/package-lock.json) on node against this server as auser. */
static void test_tus_js_client(void **state)
{
	struct it_world *w = *state;
	char *out = NULL, *err = NULL;
	const char *argv[] = { "/usr/bin/node", KURA_SOURCE_DIR "/tests/tus/tus.test.mjs", w->s->base_url,
			       w->auser.token, w->auser.csrf, NULL };
	int st = it_run(argv, 240, &out, &err);

	if (st != 0)
		print_error("tus.test.mjs exited %d\n%s\n%s\n", st, out ? out : "", err ? err : "");
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "tus.test: ok"));
	free(out);
	free(err);
	assert_true(it_tree_id(w->s, &w->auser, "/tus-js-resume.bin") > 0);
	assert_int_equal(it_tree_id(w->s, &w->auser, "/tus-js-gone.bin"), 0);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=upload.terminate"), 1);
}

/* The caller's listed uploads (GET /api/v1/uploads); the caller decrefs. */
static json_t *listed(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_get(s, sess, "/api/v1/uploads");
	json_t *items;

	IT_ASSERT_STATUS(r, 200);
	assert_non_null(r->json);
	assert_int_equal(json_integer_value(json_object_get(r->json, "max")), 64);
	items = json_incref(json_object_get(r->json, "items"));
	assert_true(json_is_array(items));
	it_response_free(r);
	return items;
}

static void test_list_unfinished(void **state)
{
	struct it_world *w = *state;
	const struct it_session *others[] = { &w->amgr, &w->bmgr };
	struct it_response *r;
	char loc[IT_STR], gone[IT_STR], path[64], prefix[80];
	json_t *items, *it, *body;
	long long folder;
	size_t i;

	items = listed(w->s, &w->auser);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	/* one in a folder, cut after a chunk; one in the root, never written */
	body = json_pack("{s:s}", "name", "受信フォルダー");
	r = it_request(w->s, &(struct it_request){ .method = "POST", .path = "/api/v1/folders/root/children",
						   .cookie = w->auser.token, .csrf = w->auser.csrf, .json = body });
	IT_ASSERT_STATUS(r, 201);
	folder = (long long)json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	json_decref(body);
	{
		char len[64], meta[IT_STR * 2], name64[IT_STR], f[32], f64[64];

		b64(FILE_NAME, strlen(FILE_NAME), name64, sizeof(name64));
		snprintf(f, sizeof(f), "%lld", folder);
		b64(f, strlen(f), f64, sizeof(f64));
		snprintf(len, sizeof(len), "Upload-Length: %d", DATA_LEN);
		unsigned char h[crypto_hash_sha256_BYTES];
		char hex[crypto_hash_sha256_BYTES * 2 + 1], hex64[128];

		crypto_hash_sha256(h, data, CHUNK);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		b64(hex, strlen(hex), hex64, sizeof(hex64));
		snprintf(prefix, sizeof(prefix), "%s", hex);
		snprintf(meta, sizeof(meta), "Upload-Metadata: filename %s,folder %s,prefix_sha256 %s", name64,
			 f64, hex64);
		r = tus(w->s, &w->auser, "POST", "/api/v1/uploads", (const char *const[]){ len, meta, NULL }, NULL, 0);
		IT_ASSERT_STATUS(r, 201);
		assert_non_null(hdr(r, "Location", loc, sizeof(loc)));
		it_response_free(r);
	}
	r = patch(w->s, &w->auser, loc, 0, CHUNK + 10, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	assert_int_equal(create(w->s, &w->auser, "later.bin", 77, gone, sizeof(gone)), 201);

	/* the key rotates and the server restarts: the URLs stay what they were */
	{
		json_t *j = NULL;

		assert_int_equal(it_admin(w->s, &j, "tenant", "rotate-key", "alpha", NULL), 0);
		json_decref(j);
	}
	assert_int_equal(it_server_restart(w->s), 0);
	items = listed(w->s, &w->auser);
	assert_int_equal(json_array_size(items), 2);
	it = json_array_get(items, 0);
	assert_string_equal(it_json_str(it, "url"), loc);
	assert_string_equal(it_json_str(it, "name"), FILE_NAME);
	assert_string_equal(it_json_str(it, "content_type"), "application/octet-stream");
	assert_string_equal(it_json_str(it, "folder_path"), "/受信フォルダー");
	assert_int_equal(json_integer_value(json_object_get(it, "folder_id")), folder);
	assert_int_equal(json_integer_value(json_object_get(it, "length")), DATA_LEN);
	assert_int_equal(json_integer_value(json_object_get(it, "offset")), CHUNK);
	assert_non_null(it_json_str(it, "created_at"));
	assert_non_null(it_json_str(it, "expires_at"));
	assert_string_equal(it_json_str(it, "prefix_sha256"), prefix);
	it = json_array_get(items, 1);
	assert_string_equal(it_json_str(it, "url"), gone);
	assert_true(json_is_null(json_object_get(it, "prefix_sha256")));
	assert_string_equal(it_json_str(it, "folder_path"), "/");
	assert_int_equal(json_integer_value(json_object_get(it, "offset")), 0);
	json_decref(items);

	/* a prefix_sha256 that is not one: 400, nothing made */
	{
		const char *bad[] = { "YWJj", /* "abc" */
				      /* 64 upper-case hex characters */
				      "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUYwMTIzNDU2Nzg5QUJDREVGMDEyMzQ1Njc4OUFCQ0RFRg==" };

		for (i = 0; i < 2; i++) {
			char meta[256];

			snprintf(meta, sizeof(meta), "Upload-Metadata: filename eC5iaW4=,prefix_sha256 %s", bad[i]);
			r = tus(w->s, &w->auser, "POST", "/api/v1/uploads",
				(const char *const[]){ "Upload-Length: 5", meta, NULL }, NULL, 0);
			IT_ASSERT_PROBLEM(r, 400, "invalid-field");
			it_response_free(r);
		}
		items = listed(w->s, &w->auser);
		assert_int_equal(json_array_size(items), 2);
		json_decref(items);
	}
	/* nobody else sees them: not the tenant's manager, not another tenant */
	for (i = 0; i < 2; i++) {
		items = listed(w->s, others[i]);
		assert_int_equal(json_array_size(items), 0);
		json_decref(items);
	}

	/* the listed URL resumes (from its offset) and terminates */
	r = tus(w->s, &w->auser, "DELETE", gone, NULL, NULL, 0);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	assert_int_equal(head_offset(w->s, &w->auser, loc), CHUNK);
	r = patch(w->s, &w->auser, loc, CHUNK, DATA_LEN, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	items = listed(w->s, &w->auser);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	snprintf(path, sizeof(path), "/受信フォルダー/%s", FILE_NAME);
	assert_true(it_tree_id(w->s, &w->auser, path) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options_and_version, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_upload_in_pieces, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_creation_with_upload, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_back_to_back_patches, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_checksum_and_termination, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_other_accounts_get_404, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_quota_at_creation, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_webdav_lock_refuses, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_resume_after_cut_and_restart, it_setup_world,
						it_teardown_world),
		cmocka_unit_test_setup_teardown(test_expiry, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_tus_js_client, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_list_unfinished, it_setup_world, it_teardown_world),
	};

	if (sodium_init() < 0)
		return 1;
	fill_data();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
