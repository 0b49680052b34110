/*
 * Resumable uploads: tus 1.0.0 at /api/v1/uploads (issue 15; docs/api.md "Resumable
 * uploads", docs/files.md "Resumable uploads"). Core protocol plus the extensions
 * creation, creation-with-upload, termination, checksum (sha256) and expiration.
 *
 *   OPTIONS /api/v1/uploads        what the server supports (Tus-Version, Tus-Extension, ...)
 *   POST    /api/v1/uploads        a new upload: Upload-Length, Upload-Metadata (filename,
 *                                  folder or parent_id, filetype or content_type); a body
 *                                  of application/offset+octet-stream is its first bytes
 *   HEAD    /api/v1/uploads/{id}   Upload-Offset (durable), Upload-Length, Upload-Expires
 *   PATCH   /api/v1/uploads/{id}   bytes at Upload-Offset; Upload-Checksum: sha256 <base64>
 *   DELETE  /api/v1/uploads/{id}   termination
 *   GET     /api/v1/uploads        (not tus) the caller's own unfinished uploads in this tenant,
 *                                  with their URLs, so a reloaded page can resume them
 *
 * The offset a PATCH acknowledges is what is durable: whole 64 KiB chunks, sealed and
 * fsync'ed, and recorded (files/uploads.c). The piece of an unfinished chunk at the end of a
 * PATCH is not kept, so the answer's Upload-Offset may be smaller than what was sent; the
 * client sends from there. The last byte completes the upload: the file is recorded like a
 * PUT upload (file.upload or file.replace) in the transaction that drops the upload.
 *
 * SECURITY: every route is behind a session or an app password like the rest of the API
 * (CSRF on a cookie session's changes); an upload is found by (tenant, account, token), so
 * another account's or tenant's upload is a 404 like one that does not exist, before any
 * header is judged. Headers are parsed strictly (decimal integers, bounded base64 metadata);
 * bytes past Upload-Length are refused; a PATCH whose checksum does not match keeps nothing
 * (460). One request writes an upload at a time (423 for a second).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files.h"
#include "files/files_dav.h"
#include "files/uploads.h"
#include "http/http_int.h"
#include "store/db.h"

#define TENANT(req) ((req)->session.account.tenant_id)
#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,creation-with-upload,termination,checksum,expiration"
#define TUS_CONTENT_TYPE "application/offset+octet-stream"
#define UPLOADS_PATH "/api/v1/uploads/"

struct patch_ctx {
	struct upload_info info;
	struct files_upload *u;
	crypto_hash_sha256_state sha;
	unsigned char want_sum[crypto_hash_sha256_BYTES];
	bool has_sum, claimed, created;
	int err;                      /* sticky: the data refused (answered at end) */
};

static const char *header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, name);
}

static void tus_headers(struct request *req)
{
	http_add_header(req, "Tus-Resumable", TUS_VERSION);
	http_add_header(req, "Cache-Control", "no-store");
}

static enum MHD_Result no_service(struct request *req)
{
	return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
}

/* A decimal integer >= 0 without sign, spaces or leading zeros beyond "0". */
static bool parse_count(const char *s, int64_t *ret)
{
	if (!s || !*s || (s[0] == '0' && s[1]) || s[0] < '0' || s[0] > '9')
		return false;
	return safe_atoi64(s, ret) == 0 && *ret >= 0;
}

/* 412 when the request does not speak tus 1.0.0 (OPTIONS needs not say). */
static bool version_ok(struct request *req, enum MHD_Result *ret)
{
	const char *v = header(req, "Tus-Resumable");

	if (v && !strcmp(v, TUS_VERSION))
		return true;
	http_add_header(req, "Tus-Version", TUS_VERSION);
	*ret = http_problem(req, 412, "tus-version", "send Tus-Resumable: 1.0.0", "Tus-Resumable");
	return false;
}

static void expires_header(struct request *req, int64_t us)
{
	char date[40];

	http_date_format(us, date, sizeof(date));
	http_add_header(req, "Upload-Expires", date);
}

static void offset_header(struct request *req, int64_t offset)
{
	char v[24];

	str_printf(v, sizeof(v), "%lld", (long long)offset);
	http_add_header(req, "Upload-Offset", v);
}

static enum MHD_Result uploads_error(struct request *req, int r)
{
	switch (r) {
	case -EMLINK:
		return http_problem(req, 429, "too-many-uploads",
				    "too many unfinished uploads: finish or terminate some first", NULL);
	case -EBUSY:
		return http_problem(req, 423, "upload-busy",
				    "another request is writing this upload; retry shortly", NULL);
	case -ENOENT:
		return http_problem(req, 404, "not-found", "no such upload", NULL);
	case -EEXIST:
		return http_problem(req, 409, "conflict", "a file of that name exists", "filename");
	default:
		return http_files_error(req, r, "filename");
	}
}

/* ---- OPTIONS ---- */

static enum MHD_Result api_uploads_options(struct request *req)
{
	char max[24];

	tus_headers(req);
	str_printf(max, sizeof(max), "%lld", (long long)KURA_FILE_MAX_BYTES);
	http_add_header(req, "Tus-Version", TUS_VERSION);
	http_add_header(req, "Tus-Extension", TUS_EXTENSIONS);
	http_add_header(req, "Tus-Max-Size", max);
	http_add_header(req, "Tus-Checksum-Algorithm", "sha256");
	return http_empty(req, 204);
}

/* ---- PATCH (and the body of a creation-with-upload POST) ---- */

static const struct stream_ops patch_ops;

static int patch_data(struct request *req, const char *data, size_t n)
{
	struct patch_ctx *c = req->stream_ctx;
	int r;

	if (!c || !c->u)
		return -EINVAL;
	if (files_upload_received(c->u) + n > (uint64_t)c->info.length)
		r = -ERANGE;   /* past Upload-Length */
	else
		r = files_upload_write(c->u, data, n);
	if (r == 0 && c->has_sum)
		crypto_hash_sha256_update(&c->sha, (const unsigned char *)data, n);
	if (r < 0) {
		c->err = r;
		c->u = files_upload_abort(c->u);   /* the part keeps its durable end */
	}
	return r;
}

/* Keeps what is durable of this request's bytes: whole chunks, fsync'ed, then recorded. */
static int patch_keep(struct request *req, struct patch_ctx *c, int64_t *ret_offset)
{
	int64_t offset = c->info.offset;
	int r = files_upload_pause(c->u, true, &offset);

	c->u = NULL;
	if (r == 0)
		r = uploads_advance(req->db, &c->info, offset);
	if (r == 0) {
		c->info.offset = offset;
		*ret_offset = offset;
	}
	return r;
}

static enum MHD_Result patch_answer(struct request *req, struct patch_ctx *c, int64_t offset)
{
	offset_header(req, offset);
	expires_header(req, c->info.expires_us);
	if (c->created) {
		char loc[sizeof(UPLOADS_PATH) + UPLOAD_TOKEN_LEN];

		str_printf(loc, sizeof(loc), "%s%s", UPLOADS_PATH, req->params[0]);
		http_add_header(req, "Location", loc);
		return http_empty(req, 201);
	}
	return http_empty(req, 204);
}

static enum MHD_Result patch_finish(struct request *req)
{
	struct patch_ctx *c = req->stream_ctx;
	unsigned char got[crypto_hash_sha256_BYTES];
	struct file_node n;
	int64_t offset = 0;
	bool created = false;
	int r;

	if (!c)
		return http_internal_error(req, -EINVAL);
	if (c->err == -ERANGE)
		return http_problem(req, 413, "upload-too-long", "more bytes than Upload-Length", NULL);
	if (c->err)
		return uploads_error(req, c->err);
	if (c->has_sum) {
		crypto_hash_sha256_final(&c->sha, got);
		if (sodium_memcmp(got, c->want_sum, sizeof(got))) {
			c->u = files_upload_abort(c->u);   /* nothing of this request is kept */
			return http_problem(req, 460, "checksum-mismatch",
					    "the bytes do not match Upload-Checksum; nothing was kept",
					    "Upload-Checksum");
		}
	}
	if (files_upload_received(c->u) < (uint64_t)c->info.length) {
		r = patch_keep(req, c, &offset);
		if (r < 0)
			return uploads_error(req, r);
		return patch_answer(req, c, offset);
	}
	/* a WebDAV lock taken while the last bytes came would refuse the commit, and the
	 * refusal would end the upload: keep it instead, without its last chunk, to finish once
	 * the lock is gone (the commit checks again, for a lock taken after this) */
	{
		struct file_node old;
		int e = files_lookup(req->db, c->info.tenant_id, c->info.parent_id, c->info.name, &old);

		r = e < 0 && e != -ENOENT ? e
					  : files_dav_locks_refuse(req->db, c->info.tenant_id, c->info.parent_id,
								   c->info.name, e == 0);
	}
	if (r == -ENOLCK && c->info.length > 0) {
		int64_t kept = c->info.offset;
		int k = files_upload_pause(c->u, false, &kept);

		c->u = NULL;
		if (k == 0 && kept < c->info.length)
			k = uploads_advance(req->db, &c->info, kept);
		if (k < 0)
			return uploads_error(req, k);
		offset_header(req, kept < c->info.length ? kept : c->info.offset);
		return uploads_error(req, r);
	}
	if (r < 0 && r != -ENOLCK) {
		c->u = files_upload_abort(c->u);
		return uploads_error(req, r);
	}
	r = files_upload_commit(c->u, req->db, &req->actor, &n, &created);
	c->u = NULL;   /* freed */
	if (r < 0) {
		/* the upload cannot become its file (a folder took the name, the quota filled up
		 * meanwhile, storage failed): it is over */
		int k = uploads_remove(req->srv->files, req->db, &req->actor, &c->info, "upload.fail");

		if (k < 0 && k != -ENOENT)
			log_warn("files.uploads", "upload %lld not removed: %s", (long long)c->info.id,
				 strerror(-k));
		return uploads_error(req, r);
	}
	return patch_answer(req, c, c->info.length);
}

static void patch_abort(struct request *req, bool client_gone)
{
	struct patch_ctx *c = req->stream_ctx;
	int64_t offset = 0;

	if (!c)
		return;
	if (c->u && client_gone && !c->has_sum && !c->err) {
		/* the connection broke mid-PATCH: keep the whole chunks that arrived */
		req->db = req->db ? req->db : db_thread();
		if (!req->db || patch_keep(req, c, &offset) < 0)
			log_warn("files.uploads", "upload %lld: progress of a cut PATCH not kept",
				 (long long)c->info.id);
	}
	c->u = files_upload_abort(c->u);
	if (c->claimed)
		uploads_release(req->srv->files, c->info.id);
	c->claimed = false;
	sodium_memzero(&c->sha, sizeof(c->sha));
}

/* The claim ends before the answer is queued, not when the request is done: a client that
 * sends its next PATCH as soon as it reads this answer (tus-js-client does, on a second
 * connection) must not meet 423 while the finished request is still being torn down. The
 * writer is closed first, so nothing of this request touches the part afterwards. */
static enum MHD_Result patch_end(struct request *req)
{
	enum MHD_Result res = patch_finish(req);
	struct patch_ctx *c = req->stream_ctx;

	if (c) {
		c->u = files_upload_abort(c->u);
		if (c->claimed)
			uploads_release(req->srv->files, c->info.id);
		c->claimed = false;
	}
	return res;
}

static const struct stream_ops patch_ops = { patch_data, patch_end, patch_abort };

/* Parses "sha256 <base64>" into c; false when it answered (400). */
static bool take_checksum(struct request *req, struct patch_ctx *c, enum MHD_Result *ret)
{
	const char *v = header(req, "Upload-Checksum");
	size_t n = 0;

	if (!v)
		return true;
	if (strncmp(v, "sha256 ", 7)) {
		*ret = http_problem(req, 400, "checksum-algorithm", "only sha256 is supported",
				    "Upload-Checksum");
		return false;
	}
	if (sodium_base642bin(c->want_sum, sizeof(c->want_sum), v + 7, strlen(v + 7), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(c->want_sum)) {
		*ret = http_problem(req, 400, "invalid-field", "Upload-Checksum: sha256 and base64 of 32 bytes",
				    "Upload-Checksum");
		return false;
	}
	c->has_sum = true;
	crypto_hash_sha256_init(&c->sha);
	return true;
}

/* Starts writing c->info at its durable offset (the request claimed it already). */
static enum MHD_Result patch_start(struct request *req, struct patch_ctx *c)
{
	unsigned char *key = secmem_alloc(FILECRYPT_KEY_BYTES);
	int r;

	if (!key)
		return http_internal_error(req, -ENOMEM);
	r = uploads_file_key(req->srv->files, req->db, &c->info, key);
	if (r == 0)
		r = files_upload_resume(req->srv->files, req->db,
					&(struct files_resume){ .tenant_id = c->info.tenant_id,
								.upload_row = c->info.id,
								.parent_id = c->info.parent_id,
								.length = c->info.length,
								.offset = c->info.offset,
								.name = c->info.name,
								.content_type = c->info.content_type,
								.part_id = c->info.part_id,
								.file_key = key,
								.header = c->info.header },
					&c->u);
	secmem_free(key, FILECRYPT_KEY_BYTES);
	if (r < 0)
		return uploads_error(req, r);
	req->stream_ctx = c;
	req->stream = &patch_ops;
	return MHD_YES;
}

static struct patch_ctx *ctx_new(struct request *req)
{
	struct patch_ctx *c = arena_alloc(req->arena, sizeof(*c));

	if (c)
		memset(c, 0, sizeof(*c));
	return c;
}

/* Claims the upload for this request; released by patch_abort (which always runs once
 * req->stream is set) or here on an early answer. */
static int claim(struct request *req, struct patch_ctx *c)
{
	int r = uploads_claim(req->srv->files, c->info.id);

	c->claimed = r == 0;
	return r;
}

static enum MHD_Result api_upload_patch(struct request *req)
{
	const char *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE), *off = header(req, "Upload-Offset");
	struct patch_ctx *c;
	enum MHD_Result res;
	int64_t offset;
	int r;

	if (!req->srv->files)
		return no_service(req);
	tus_headers(req);
	c = ctx_new(req);
	if (!c)
		return http_internal_error(req, -ENOMEM);
	r = uploads_get(req->db, TENANT(req), req->session.account.id, req->params[0], &c->info);
	if (r < 0)
		return uploads_error(req, r);
	if (!version_ok(req, &res))
		return res;
	if (!ct || strcasecmp(ct, TUS_CONTENT_TYPE))
		return http_problem(req, 415, "unsupported-media-type",
				    "PATCH takes Content-Type: " TUS_CONTENT_TYPE, "Content-Type");
	if (!parse_count(off, &offset))
		return http_problem(req, 400, "invalid-field", "Upload-Offset must be a decimal byte count",
				    "Upload-Offset");
	if (offset != c->info.offset) {
		offset_header(req, c->info.offset);
		return http_problem(req, 409, "offset-mismatch",
				    "Upload-Offset is not the upload's offset: HEAD it and send from there",
				    "Upload-Offset");
	}
	if (!take_checksum(req, c, &res))
		return res;
	r = claim(req, c);
	if (r < 0)
		return uploads_error(req, r);
	res = patch_start(req, c);
	if (!req->stream) {
		uploads_release(req->srv->files, c->info.id);
		c->claimed = false;
	}
	return res;
}

/* ---- POST: creation (and creation-with-upload) ---- */

struct metadata {
	char name[4 * KURA_FILE_NAME_MAX + 1];   /* before NFC (NFD is longer) */
	char type[KURA_CONTENT_TYPE_MAX + 1];
	char folder[24];
	char prefix[UPLOAD_PREFIX_HEX + 2];   /* one more: a longer value is refused, not cut */
	bool has_name, has_type, has_folder, has_prefix;
};

/* One "key base64" pair of Upload-Metadata into its field; -EINVAL for a bad pair. Unknown
 * keys are ignored (clients send their own, e.g. tus-js-client's relativePath). */
static int metadata_pair(struct metadata *m, const char *key, size_t key_len, const char *val,
			 size_t val_len)
{
	char *out = NULL;
	size_t cap = 0, n = 0;
	bool *has = NULL;

	if (key_len == 8 && !strncmp(key, "filename", 8)) {
		out = m->name, cap = sizeof(m->name), has = &m->has_name;
	} else if ((key_len == 8 && !strncmp(key, "filetype", 8)) ||
		   (key_len == 12 && !strncmp(key, "content_type", 12))) {
		out = m->type, cap = sizeof(m->type), has = &m->has_type;
	} else if (key_len == 13 && !strncmp(key, "prefix_sha256", 13)) {
		out = m->prefix, cap = sizeof(m->prefix), has = &m->has_prefix;
	} else if ((key_len == 6 && !strncmp(key, "folder", 6)) ||
		   (key_len == 9 && !strncmp(key, "parent_id", 9))) {
		out = m->folder, cap = sizeof(m->folder), has = &m->has_folder;
	} else {
		return 0;
	}
	if (*has)
		return -EINVAL;   /* twice */
	if (sodium_base642bin((unsigned char *)out, cap - 1, val, val_len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || memchr(out, '\0', n))
		return -EINVAL;
	out[n] = '\0';
	*has = true;
	return 0;
}

static int parse_metadata(const char *s, struct metadata *m)
{
	memset(m, 0, sizeof(*m));
	if (!s)
		return 0;
	if (strlen(s) > KURA_UPLOAD_METADATA_MAX)
		return -E2BIG;
	while (*s) {
		const char *end = strchr(s, ','), *sp;
		size_t len;
		int r;

		while (*s == ' ')
			s++;
		len = end ? (size_t)(end - s) : strlen(s);
		sp = memchr(s, ' ', len);
		if (len == 0)
			return -EINVAL;
		r = sp ? metadata_pair(m, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp - s) - 1)
		       : metadata_pair(m, s, len, "", 0);
		if (r < 0)
			return r;
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

static enum MHD_Result api_uploads_create(struct request *req)
{
	const char *len_h = header(req, "Upload-Length"), *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char token[UPLOAD_TOKEN_LEN + 1], loc[sizeof(UPLOADS_PATH) + UPLOAD_TOKEN_LEN];
	struct metadata m;
	struct patch_ctx *c;
	enum MHD_Result res;
	int64_t length, parent = 0, body = 0;
	bool with_body;
	int r;

	if (!req->srv->files)
		return no_service(req);
	tus_headers(req);
	if (!version_ok(req, &res))
		return res;
	if (header(req, "Upload-Defer-Length"))
		return http_problem(req, 400, "invalid-field", "creation-defer-length is not supported",
				    "Upload-Defer-Length");
	if (!parse_count(len_h, &length))
		return http_problem(req, 400, "invalid-field", "Upload-Length must be a decimal byte count",
				    "Upload-Length");
	if (length > KURA_FILE_MAX_BYTES)
		return http_problem(req, 413, "file-too-large", "files are at most 64 GiB", "Upload-Length");
	if (cl && (safe_atoi64(cl, &body) < 0 || body < 0))
		return http_problem(req, 400, "invalid-field", "bad Content-Length", "Content-Length");
	with_body = body > 0 || header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (with_body && (!ct || strcasecmp(ct, TUS_CONTENT_TYPE)))
		return http_problem(req, 415, "unsupported-media-type",
				    "the first bytes go as Content-Type: " TUS_CONTENT_TYPE, "Content-Type");
	r = parse_metadata(header(req, "Upload-Metadata"), &m);
	if (r < 0)
		return http_problem(req, 400, "invalid-field",
				    "Upload-Metadata: comma-separated \"key base64\" pairs, each key once",
				    "Upload-Metadata");
	if (!m.has_name)
		return http_problem(req, 400, "invalid-field", "Upload-Metadata needs filename",
				    "Upload-Metadata");
	if (!m.has_folder || !strcmp(m.folder, "root"))
		r = files_root(req->db, TENANT(req), &parent);
	else
		r = parse_count(m.folder, &parent) && parent > 0 ? 0 : -ENOENT;
	if (r < 0)
		return uploads_error(req, r);
	if (m.has_prefix && !uploads_prefix_valid(m.prefix))
		return http_problem(req, 400, "invalid-field",
				    "prefix_sha256 must be the SHA-256 of the first bytes in lower-case hex",
				    "Upload-Metadata");
	if (m.has_type && !files_content_type_valid(m.type))
		return http_problem(req, 400, "invalid-field",
				    "filetype must be type/subtype in printable ASCII, at most 127 bytes",
				    "Upload-Metadata");
	c = ctx_new(req);
	if (!c)
		return http_internal_error(req, -ENOMEM);
	r = uploads_create(req->srv->files, req->db, &req->actor, TENANT(req), parent, m.name,
			   m.has_type ? m.type : NULL, length, m.has_prefix ? m.prefix : NULL, token,
			   &c->info);
	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such folder", "folder");
	if (r < 0)
		return uploads_error(req, r);
	str_printf(loc, sizeof(loc), "%s%s", UPLOADS_PATH, token);
	sodium_memzero(token, sizeof(token));
	if (with_body) {
		/* creation-with-upload: the body is the first bytes; Location comes with the answer */
		req->params[0] = arena_strdup(req->arena, loc + strlen(UPLOADS_PATH));
		req->n_params = 1;
		c->created = true;
		if (!take_checksum(req, c, &res))
			return res;
		r = claim(req, c);
		if (r < 0)
			return uploads_error(req, r);
		res = patch_start(req, c);
		if (!req->stream) {
			uploads_release(req->srv->files, c->info.id);
			c->claimed = false;
		}
		return res;
	}
	http_add_header(req, "Location", loc);
	expires_header(req, c->info.expires_us);
	offset_header(req, 0);
	return http_empty(req, 201);
}

/* ---- HEAD, DELETE ---- */

static enum MHD_Result api_upload_head(struct request *req)
{
	struct upload_info u;
	enum MHD_Result res;
	char v[24];
	int r;

	if (!req->srv->files)
		return no_service(req);
	tus_headers(req);
	r = uploads_get(req->db, TENANT(req), req->session.account.id, req->params[0], &u);
	if (r < 0)
		return uploads_error(req, r);
	if (!version_ok(req, &res))
		return res;
	offset_header(req, u.offset);
	str_printf(v, sizeof(v), "%lld", (long long)u.length);
	http_add_header(req, "Upload-Length", v);
	expires_header(req, u.expires_us);
	return http_empty(req, 200);
}

static enum MHD_Result api_upload_delete(struct request *req)
{
	struct upload_info u;
	enum MHD_Result res;
	int r;

	if (!req->srv->files)
		return no_service(req);
	tus_headers(req);
	r = uploads_get(req->db, TENANT(req), req->session.account.id, req->params[0], &u);
	if (r < 0)
		return uploads_error(req, r);
	if (!version_ok(req, &res))
		return res;
	r = uploads_claim(req->srv->files, u.id);
	if (r < 0)
		return uploads_error(req, r);
	r = uploads_remove(req->srv->files, req->db, &req->actor, &u, "upload.terminate");
	uploads_release(req->srv->files, u.id);
	if (r < 0)
		return uploads_error(req, r);
	return http_empty(req, 204);
}

/* ---- the caller's unfinished uploads (JSON; not part of tus) ---- */

static enum MHD_Result api_uploads_list(struct request *req)
{
	json_t *items = NULL;
	int r;

	if (!req->srv->files)
		return no_service(req);
	r = uploads_list(req->srv->files, req->db, TENANT(req), req->session.account.id, &items);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o, s:I}", "items", items, "max",
					     (json_int_t)KURA_UPLOADS_PER_ACCOUNT_MAX));
}

const struct route api_uploads_routes[] = {
	{ "GET", "/api/v1/uploads", api_uploads_list, 0, PERM_FILES_WRITE },
	{ "OPTIONS", "/api/v1/uploads", api_uploads_options, 0, PERM_FILES_WRITE },
	{ "POST", "/api/v1/uploads", api_uploads_create, R_STREAM, PERM_FILES_WRITE },
	{ "GET", "/api/v1/uploads/*", api_upload_head, 0, PERM_FILES_WRITE },
	{ "PATCH", "/api/v1/uploads/*", api_upload_patch, R_STREAM, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/uploads/*", api_upload_delete, 0, PERM_FILES_WRITE },
};
const size_t api_uploads_n_routes = ARRAY_SIZE(api_uploads_routes);
