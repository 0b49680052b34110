/*
 * Files API handlers (W1, B2, F2, F3; docs/api.md "Files"). Each runs after dispatch()
 * authenticated, checked CSRF and authorized the request (PERM_FILES_READ / _WRITE) and
 * acts in the session's tenant only, through the files service.
 *
 * Upload is a streaming route: the body goes piece by piece into the files service, which
 * encrypts and writes it; nothing buffers the file. Size and quota are checked from
 * Content-Length before the body and on every piece; a refused or failed upload, or a
 * client that goes away, aborts the writer, so no partial file exists and usage is
 * unchanged. Download streams decrypted chunks with Range, ETag/If-None-Match and an
 * RFC 6266/5987 Content-Disposition.
 *
 * SECURITY: ids in paths are looked up by (tenant, id), so ids of other tenants are 404
 * exactly like ids that do not exist. Names arrive percent-decoded and checked by the path
 * decoder (no NUL, control bytes, "." or "..") and again by the files service. A stored
 * blob that fails its integrity check is never sent: the first chunk is verified before the
 * status line; a later chunk that fails aborts the connection mid-body (the client sees a
 * truncated transfer, never wrong bytes). Both are audit records. User content never runs
 * as kura's origin: every download carries a sandboxing Content-Security-Policy and nosniff,
 * and goes out as an attachment (over WebDAV only the types a browser would execute). A PUT
 * with Content-Range is refused rather than taken for the whole content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "auth/auth.h"
#include "files/files.h"
#include "files/files_dav.h"
#include "http/http_int.h"
#include "store/db.h"

#define TENANT(req) ((req)->session.account.tenant_id)
#define STREAM_BLOCK (256 * 1024)   /* four content chunks per callback */

/* Maps a files-service error to a problem response (also for share links: http_int.h). */
enum MHD_Result http_files_error(struct request *req, int r, const char *what)
{
	switch (r) {
	case -ENOENT:
		return http_problem(req, 404, "not-found", "no such file or folder", NULL);
	case -EINVAL:
		return http_problem(req, 400, "invalid-name",
				    "names are 1-255 bytes of UTF-8 without '/', NUL or control characters,"
				    " and not \".\" or \"..\"; labels 1-64 characters without '/'",
				    what);
	case -EEXIST:
		return http_problem(req, 409, "conflict", "an item of that name exists in the folder", what);
	case -ENOTDIR:
		return http_problem(req, 409, "conflict", "the target is not a folder", what);
	case -EISDIR:
		return http_problem(req, 409, "conflict", "a folder of that name exists in the folder", what);
	case -ELOOP:
		return http_problem(req, 409, "conflict", "a folder cannot move into itself", what);
	case -EPERM:
		return http_problem(req, 409, "conflict", "the root folder cannot be moved or deleted", NULL);
	case -E2BIG:
		return http_problem(req, 409, "conflict", "too many labels, or folders nested too deep", what);
	case -EDQUOT:
		return http_problem(req, 507, "quota-exceeded",
				    "the tenant's storage quota does not leave room for this file", NULL);
	case -EFBIG:
		return http_problem(req, 413, "file-too-large", "files are at most 64 GiB", NULL);
	case -ENOSPC:
		return http_problem(req, 507, "insufficient-storage",
				    "the server's storage is full; nothing was stored", NULL);
	case -ENOLCK:
		return http_problem(req, 423, "file-locked",
				    "a WebDAV client holds a lock on this file or its folder; nothing was stored."
				    " Try again once it is unlocked or the lock expires (a manager can remove it)",
				    what);
	case -EBADMSG:
		return http_problem(req, 500, "integrity-error",
				    "the stored content failed its integrity check and is not sent", NULL);
	default:
		return http_internal_error(req, r);
	}
}

#define files_error http_files_error

static enum MHD_Result no_service(struct request *req)
{
	return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
}

/* Path parameter i as a node id: "root" or a positive integer. -ENOENT for anything else. */
static int node_param(struct request *req, size_t i, int64_t *ret)
{
	const char *s = i < req->n_params ? req->params[i] : NULL;

	if (!s)
		return -ENOENT;
	if (!strcmp(s, "root"))
		return files_root(req->db, TENANT(req), ret);
	if (s[0] < '1' || s[0] > '9' || safe_atoi64(s, ret) < 0 || *ret <= 0)
		return -ENOENT;
	return 0;
}

static bool path_is_files(struct request *req)
{
	return !strncmp(req->path, "/api/v1/files/", 14);
}

/* The live node of path parameter 0, of the kind the path names (files/ or folders/). */
static int node_of_path(struct request *req, struct file_node *ret)
{
	int64_t id;
	int r = node_param(req, 0, &id);

	if (r == 0)
		r = files_get(req->db, TENANT(req), id, ret);
	if (r == 0 && (ret->kind == NODE_FILE) != path_is_files(req))
		r = -ENOENT;
	return r;
}

static enum MHD_Result node_answer(struct request *req, unsigned status, const struct file_node *n)
{
	return http_json(req, status, files_node_json(req->db, TENANT(req), n));
}

static enum MHD_Result api_folder_get(struct request *req)
{
	struct file_node n;
	int r = node_of_path(req, &n);

	return r < 0 ? files_error(req, r, NULL) : node_answer(req, 200, &n);
}

static enum MHD_Result api_file_get(struct request *req)
{
	return api_folder_get(req);
}

/* Listing cursors (opaque to clients): "<sort>/<order>/<key>/<id>", sort n, s or m, order a
 * or d, key the name in hex (n) or a decimal integer. A '/' is in no name, so an after
 * without one is a name, as before cursors (sort=name, ascending). */
static const char sort_letter[] = { 'n', 's', 'm' };

static void cursor_format(const struct files_cursor *c, enum files_sort sort, bool desc, char *buf,
			  size_t size)
{
	char key[2 * KURA_FILE_NAME_MAX + 1];

	if (sort == FILES_SORT_NAME)
		hex_encode((const unsigned char *)c->name, strlen(c->name), key);
	else
		str_printf(key, sizeof(key), "%lld", (long long)c->key);
	str_printf(buf, size, "%c/%c/%s/%lld", sort_letter[sort], desc ? 'd' : 'a', key, (long long)c->id);
}

static int hex_val(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int cursor_parse(const char *s, enum files_sort sort, bool desc, struct files_cursor *ret)
{
	const char *key, *slash;
	char num[24];
	size_t n, i;

	memset(ret, 0, sizeof(*ret));
	if (!strchr(s, '/')) {   /* a name */
		if (sort != FILES_SORT_NAME || desc || !files_name_valid(s) ||
		    files_name_nfc(s, ret->name, sizeof(ret->name)) < 0)
			return -EINVAL;
		ret->id = INT64_MAX;   /* after that name (names are unique in a folder) */
		ret->set = true;
		return 0;
	}
	if (strlen(s) < 7 || s[0] != sort_letter[sort] || s[1] != '/' || s[2] != (desc ? 'd' : 'a') || s[3] != '/')
		return -EINVAL;
	key = s + 4;
	slash = strchr(key, '/');
	if (!slash || safe_atoi64(slash + 1, &ret->id) < 0 || ret->id <= 0)
		return -EINVAL;
	n = (size_t)(slash - key);
	if (sort == FILES_SORT_NAME) {
		if (n == 0 || n % 2 || n / 2 > KURA_FILE_NAME_MAX)
			return -EINVAL;
		for (i = 0; i < n / 2; i++) {
			int hi = hex_val(key[2 * i]), lo = hex_val(key[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			ret->name[i] = (char)(hi << 4 | lo);
		}
		ret->name[n / 2] = '\0';
		if (!files_name_valid(ret->name))
			return -EINVAL;
	} else {
		if (n == 0 || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, key, n);
		num[n] = '\0';
		if (safe_atoi64(num, &ret->key) < 0)
			return -EINVAL;
	}
	ret->set = true;
	return 0;
}

static enum MHD_Result api_folder_children(struct request *req)
{
	static const char *const sorts[] = { "name", "size", "modified" };
	const char *label = http_query(req, "label"), *after = http_query(req, "after");
	const char *limit_s = http_query(req, "limit"), *sort_s = http_query(req, "sort");
	const char *order_s = http_query(req, "order");
	char next_s[2 * KURA_FILE_NAME_MAX + 64];
	struct files_cursor cur = { 0 }, next = { 0 };
	enum files_sort sort = FILES_SORT_NAME;
	struct file_node n;
	json_t *items = NULL;
	int64_t limit = KURA_PAGE_DEFAULT;
	bool more = false, desc = false;
	size_t i;
	int r;

	if (limit_s && (safe_atoi64(limit_s, &limit) < 0 || limit < 1 || limit > KURA_PAGE_MAX))
		return http_problem(req, 400, "invalid-field", "limit is 1 to 1000", "limit");
	if (sort_s) {
		for (i = 0; i < ARRAY_SIZE(sorts) && strcmp(sorts[i], sort_s); i++)
			;
		if (i == ARRAY_SIZE(sorts))
			return http_problem(req, 400, "invalid-field", "sort is name, size or modified", "sort");
		sort = (enum files_sort)i;
	}
	if (order_s && strcmp(order_s, "asc") && strcmp(order_s, "desc"))
		return http_problem(req, 400, "invalid-field", "order is asc or desc", "order");
	desc = order_s && !strcmp(order_s, "desc");
	if (after && cursor_parse(after, sort, desc, &cur) < 0)
		return http_problem(req, 400, "invalid-field",
				    "after must be the next cursor of a page of the same sort and order", "after");
	r = node_of_path(req, &n);
	if (r == 0)
		r = files_list_sorted(req->db, TENANT(req), n.id, label, sort, desc, &cur, (size_t)limit,
				      &items, &more, &next);
	if (r < 0)
		return files_error(req, r, "label");
	if (more)
		cursor_format(&next, sort, desc, next_s, sizeof(next_s));
	return http_json(req, 200, json_pack("{s:o, s:o, s:b, s:o}", "folder",
					     files_node_json(req->db, TENANT(req), &n), "items", items,
					     "more", more, "next", more ? json_string(next_s) : json_null()));
}

/* GET /api/v1/search?q=&limit=&after= (issue 15): by name across the tenant's tree. */
static enum MHD_Result api_search(struct request *req)
{
	const char *q = http_query(req, "q"), *limit_s = http_query(req, "limit");
	const char *after_s = http_query(req, "after");
	int64_t limit = KURA_SEARCH_PAGE_DEFAULT, after = 0;
	json_t *items = NULL, *last;
	bool more = false;
	int r;

	if (!q || !*q)
		return http_problem(req, 400, "invalid-field", "q: what the names should contain", "q");
	if (limit_s && (safe_atoi64(limit_s, &limit) < 0 || limit < 1 || limit > KURA_SEARCH_PAGE_MAX))
		return http_problem(req, 400, "invalid-field", "limit is 1 to 200", "limit");
	if (after_s && (safe_atoi64(after_s, &after) < 0 || after < 0))
		return http_problem(req, 400, "invalid-field", "after: the next cursor of the previous page", "after");
	r = files_search(req->db, TENANT(req), q, after, (size_t)limit, &items, &more);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-field",
				    "q: 1 to 100 characters of text without control characters", "q");
	if (r < 0)
		return files_error(req, r, "q");
	last = json_array_get(items, json_array_size(items) - 1);
	return http_json(req, 200, json_pack("{s:o, s:b, s:o}", "items", items, "more", more, "next",
					     more && last ? json_sprintf("%lld", (long long)json_integer_value(
									 json_object_get(last, "id")))
							 : json_null()));
}

static enum MHD_Result api_folder_create(struct request *req)
{
	const char *name = NULL;
	int reuse = -1;
	const struct field spec[] = {
		{ .name = "name", .kind = FIELD_STRING, .required = true, .max_chars = KURA_FILE_NAME_MAX,
		  .ret_str = &name },
		{ .name = "reuse", .kind = FIELD_BOOL, .ret_bool = &reuse },
	};
	struct file_node parent, n;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = node_of_path(req, &parent);
	if (r == 0)
		r = files_mkdir(req->db, &req->actor, TENANT(req), parent.id, name, &n);
	/* reuse: a folder of that name is the answer (200, nothing changes), as mkdir -p; an
	 * uploaded folder tree merges into the folders that exist. A file of that name stays 409. */
	if (r == -EEXIST && reuse == 1 && files_lookup(req->db, TENANT(req), parent.id, name, &n) == 0 &&
	    n.kind == NODE_FOLDER)
		return node_answer(req, 200, &n);
	if (r < 0)
		return files_error(req, r, "name");
	return node_answer(req, 201, &n);
}

static enum MHD_Result api_node_patch(struct request *req)
{
	static const char *const root[] = { "root", NULL };
	const char *name = NULL, *parent_name = NULL;
	int64_t parent = 0;
	const struct field spec[] = {
		/* the files service's rules decide a name (invalid-name): no bound of its own here */
		{ .name = "name", .kind = FIELD_STRING, .max_chars = KURA_MAX_JSON_BODY, .ret_str = &name },
		{ .name = "parent_id", .kind = FIELD_INT, .min = 1, .max = INT64_MAX, .values = root,
		  .ret_int = &parent, .ret_str = &parent_name },
	};
	enum MHD_Result res;
	struct file_node n;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!name && !parent && !parent_name)
		return http_problem(req, 400, "invalid-field", "send name, parent_id or both", NULL);
	if (name && !files_name_valid(name))
		return files_error(req, -EINVAL, "name");
	if (parent_name) {
		r = files_root(req->db, TENANT(req), &parent);
		if (r < 0)
			return http_internal_error(req, r);
	}
	r = node_of_path(req, &n);
	if (r == 0)
		r = files_move(req->db, &req->actor, TENANT(req), n.id, parent, name, &n);
	if (r == -ENOENT && parent)
		return http_problem(req, 404, "not-found", "no such item or target folder", "parent_id");
	if (r < 0)
		return files_error(req, r, name ? "name" : "parent_id");
	return node_answer(req, 200, &n);
}

static enum MHD_Result api_node_delete(struct request *req)
{
	struct file_node n;
	int r = node_of_path(req, &n);

	if (r == 0)
		r = files_trash(req->db, &req->actor, TENANT(req), n.id);
	return r < 0 ? files_error(req, r, NULL) : http_empty(req, 204);
}

/* ---- labels ---- */

static enum MHD_Result api_label_put(struct request *req)
{
	struct file_node n;
	int r = node_of_path(req, &n);

	if (r == 0)
		r = files_label_add(req->db, &req->actor, TENANT(req), n.id, req->params[1]);
	return r < 0 ? files_error(req, r, "label") : http_empty(req, 204);
}

static enum MHD_Result api_label_delete(struct request *req)
{
	struct file_node n;
	int r = node_of_path(req, &n);

	if (r == 0)
		r = files_label_remove(req->db, &req->actor, TENANT(req), n.id, req->params[1]);
	return r < 0 ? files_error(req, r, "label") : http_empty(req, 204);
}

static enum MHD_Result api_labels_list(struct request *req)
{
	json_t *arr = NULL;
	int r = files_labels(req->db, TENANT(req), &arr);

	return r < 0 ? files_error(req, r, NULL) : http_json(req, 200, json_pack("{s:o}", "labels", arr));
}

static enum MHD_Result api_label_items(struct request *req)
{
	json_t *arr = NULL;
	int r = files_label_find(req->db, TENANT(req), req->params[0], &arr);

	return r < 0 ? files_error(req, r, "label")
		     : http_json(req, 200, json_pack("{s:s, s:o}", "label", req->params[0], "items", arr));
}

/* ---- trash ---- */

static enum MHD_Result api_trash_list(struct request *req)
{
	json_t *arr = NULL;
	int r = files_trash_list(req->db, TENANT(req), &arr);

	return r < 0 ? files_error(req, r, NULL)
		     : http_json(req, 200, json_pack("{s:o, s:i}", "items", arr, "retention_days",
						     KURA_TRASH_RETENTION_S / 86400));
}

static enum MHD_Result api_trash_restore(struct request *req)
{
	struct file_node n;
	int64_t id;
	int r = node_param(req, 0, &id);

	if (r == 0)
		r = files_restore(req->db, &req->actor, TENANT(req), id, &n);
	return r < 0 ? files_error(req, r, NULL) : node_answer(req, 200, &n);
}

static enum MHD_Result api_trash_purge(struct request *req)
{
	int64_t id;
	int r;

	if (!req->srv->files)
		return no_service(req);
	r = node_param(req, 0, &id);
	if (r == 0)
		r = files_purge(req->srv->files, req->db, &req->actor, TENANT(req), id);
	return r < 0 ? files_error(req, r, NULL) : http_empty(req, 204);
}

static enum MHD_Result api_quota(struct request *req)
{
	int64_t quota = 0, content = 0, meta = 0, used;
	int r = files_quota_parts(req->db, TENANT(req), &quota, &content, &meta);

	if (r < 0)
		return http_internal_error(req, r);
	used = content + meta;
	return http_json(req, 200, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "quota_bytes",
					     (json_int_t)quota, "used_bytes", (json_int_t)used,
					     "available_bytes", (json_int_t)(quota > used ? quota - used : 0),
					     "content_bytes", (json_int_t)content, "metadata_bytes",
					     (json_int_t)meta, "item_bytes", (json_int_t)KURA_QUOTA_ITEM_BYTES,
					     "max_file_bytes", (json_int_t)KURA_FILE_MAX_BYTES));
}

/* ---- WebDAV locks, for managers (PERM_LOCKS_ADMIN) ---- */

struct lock_list {
	struct request *req;
	json_t *items;
};

static int lock_item(void *ctx, const struct files_dav_lock *l)
{
	struct lock_list *ll = ctx;
	struct account a;
	char expires[CLOCK_RFC3339_LEN];
	json_t *o;

	clock_format_utc(l->expires_us, expires, sizeof(expires));
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "token", l->token, "path", *l->path ? l->path : "/",
		      "scope", l->shared ? "shared" : "exclusive", "depth", l->infinite ? "infinity" : "0",
		      "account_id", (json_int_t)l->account_id, "owner", l->owner_xml, "expires_at", expires);
	if (!o)
		return -ENOMEM;
	if (account_get_id(ll->req->db, TENANT(ll->req), l->account_id, &a) == 0)
		json_object_set_new(o, "login", json_string(a.login));
	else
		json_object_set_new(o, "login", json_null());
	return json_array_append_new(ll->items, o) < 0 ? -ENOMEM : 0;
}

static enum MHD_Result api_locks_list(struct request *req)
{
	struct lock_list ll = { req, json_array() };
	bool more = false;
	int r;

	if (!ll.items)
		return http_internal_error(req, -ENOMEM);
	r = files_dav_locks_all(req->db, TENANT(req), lock_item, &ll, &more);
	if (r < 0) {
		json_decref(ll.items);
		return http_internal_error(req, r);
	}
	return http_json(req, 200, json_pack("{s:o, s:b}", "items", ll.items, "more", more));
}

static enum MHD_Result api_lock_delete(struct request *req)
{
	char path[KURA_MAX_URL_BYTES + 1];
	struct files_dav_lock l;
	int r = files_dav_lock_break(req->db, &req->actor, TENANT(req), req->params[0], &l, path, sizeof(path));

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such lock (it may have expired)", NULL);
	return r < 0 ? http_internal_error(req, r) : http_empty(req, 204);
}

/* ---- upload (streaming) ---- */

struct upload_ctx {
	struct files_upload *u;
	int64_t expected;        /* Content-Length, -1 when chunked */
	int err;                 /* first error of data() */
	char name[KURA_FILE_NAME_MAX + 1];
	int64_t tenant_id, parent_id;
	const char *path;        /* http_file_upload_path: the target, resolved at the commit */
	http_upload_done_fn done;
	http_upload_refused_fn refused;   /* NULL: files_error */
	void *cls;
};

static const char *header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, name);
}

static const struct stream_ops upload_ops;

/* The files API's answer to a committed upload: Location and the node. */
static enum MHD_Result upload_done_files(struct request *req, const struct file_node *n, bool created,
					 void *cls)
{
	char loc[64];

	(void)cls;
	str_printf(loc, sizeof(loc), "/api/v1/files/%lld", (long long)n->id);
	http_add_header(req, "Location", loc);
	return node_answer(req, created ? 201 : 200, n);
}

static enum MHD_Result file_upload(struct request *req, int64_t tenant_id, int64_t parent_id,
				   const struct file_node *parent, const struct file_node *old, const char *path,
				   const char *name, bool no_replace, files_upload_guard_fn guard,
				   http_upload_refused_fn refused, http_upload_done_fn done, void *cls)
{
	const char *cl = header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	struct upload_ctx *c;
	int r;

	if (!req->srv->files)
		return no_service(req);
	/* a partial PUT would be taken for the whole content (RFC 9110 14.5: refuse it) */
	if (header(req, "Content-Range"))
		return http_problem(req, 400, "invalid-field",
				    "PUT with Content-Range is not supported: send the whole content", "Content-Range");
	c = arena_alloc(req->arena, sizeof(*c));
	if (!c)
		return http_internal_error(req, -ENOMEM);
	memset(c, 0, sizeof(*c));
	c->expected = -1;
	if (cl && (safe_atoi64(cl, &c->expected) < 0 || c->expected < 0))
		return http_problem(req, 400, "invalid-field", "bad Content-Length", "Content-Length");
	if (!files_name_valid(name))
		return files_error(req, -EINVAL, "name");
	if (ct && !files_content_type_valid(ct)) {
		if (!req->dav)
			return http_problem(req, 400, "invalid-field",
					    "Content-Type must be type/subtype in printable ASCII, at most 127 bytes",
					    "Content-Type");
		ct = NULL;   /* WebDAV clients send what they send: store the default type */
	}
	if (path)
		r = files_upload_begin_path(req->srv->files, tenant_id, path, ct, c->expected, no_replace, &c->u);
	else if (parent)
		r = files_upload_begin_at(req->srv->files, req->db, tenant_id, parent, old, name, ct, c->expected,
					  no_replace, &c->u);
	else
		r = files_upload_begin(req->srv->files, req->db, tenant_id, parent_id, name, ct, c->expected,
				       no_replace, &c->u);
	if (r == -EEXIST)
		return http_problem(req, 412, "precondition-failed",
				    "If-None-Match: * and a file of that name exists", NULL);
	if (r < 0)
		return files_error(req, r, "name");
	if (guard)
		files_upload_set_guard(c->u, guard, cls);
	str_copy(c->name, sizeof(c->name), name);
	c->tenant_id = tenant_id;
	c->parent_id = parent_id;
	c->path = path;   /* the caller's, in the request's arena (dav.c d->path) */
	c->done = done;
	c->refused = refused;
	c->cls = cls;
	req->stream_ctx = c;
	req->stream = &upload_ops;
	return MHD_YES;
}

enum MHD_Result http_file_upload(struct request *req, int64_t tenant_id, int64_t parent_id,
				 const char *name, bool no_replace, http_upload_done_fn done, void *cls)
{
	return file_upload(req, tenant_id, parent_id, NULL, NULL, NULL, name, no_replace, NULL, NULL, done, cls);
}

enum MHD_Result http_file_upload_at(struct request *req, int64_t tenant_id, const struct file_node *parent,
				    const struct file_node *old, const char *name, bool no_replace,
				    files_upload_guard_fn guard, http_upload_refused_fn refused,
				    http_upload_done_fn done, void *cls)
{
	return file_upload(req, tenant_id, parent->id, parent, old, NULL, name, no_replace, guard, refused, done,
			   cls);
}

enum MHD_Result http_file_upload_path(struct request *req, int64_t tenant_id, const char *path, bool no_replace,
				      files_upload_guard_fn guard, http_upload_refused_fn refused,
				      http_upload_done_fn done, void *cls)
{
	const char *name = path ? strrchr(path, '/') : NULL;

	if (!name)
		return http_internal_error(req, -EINVAL);
	return file_upload(req, tenant_id, 0, NULL, NULL, path, name + 1, no_replace, guard, refused, done, cls);
}

static enum MHD_Result api_file_upload_begin(struct request *req)
{
	const char *inm = header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct file_node parent;
	int r = node_of_path(req, &parent);

	if (r < 0)
		return files_error(req, r, "name");
	return http_file_upload(req, TENANT(req), parent.id, req->params[1], inm && !strcmp(inm, "*"),
				upload_done_files, NULL);
}

static int upload_data(struct request *req, const char *data, size_t n)
{
	struct upload_ctx *c = req->stream_ctx;
	int r;

	if (!c || !c->u)
		return -EINVAL;
	if (c->expected >= 0 && files_upload_received(c->u) + n > (uint64_t)c->expected)
		r = -EINVAL;     /* more than announced: MHD does not allow it; belt and braces */
	else
		r = files_upload_write(c->u, data, n);
	if (r < 0) {
		c->err = r;
		c->u = files_upload_abort(c->u);   /* free the temp blob now, not at the end */
	}
	return r;
}

static int audit_upload_failure(struct request *req, struct upload_ctx *c, const char *reason)
{
	/* an upload resolved at its commit names its path: the parent may not exist */
	json_t *d = c->path ? json_pack("{s:s, s:s, s:s}", "name", c->name, "path", c->path, "reason", reason)
			    : json_pack("{s:s, s:I, s:s}", "name", c->name, "parent_id", (json_int_t)c->parent_id,
					"reason", reason);
	int r = http_audit(req, c->tenant_id, AUDIT_OPERATION, "file.upload", c->name, AUDIT_FAILURE, d);

	json_decref(d);
	return r;
}

static enum MHD_Result upload_end(struct request *req)
{
	struct upload_ctx *c = req->stream_ctx;
	struct file_node n;
	bool created = false;
	int r;

	if (!c)
		return http_internal_error(req, -EINVAL);
	if (c->err) {
		r = audit_upload_failure(req, c, strerror(-c->err));
		(void)r;   /* the refusal stands either way */
		return files_error(req, c->err, "name");
	}
	if (c->expected >= 0 && files_upload_received(c->u) != (uint64_t)c->expected) {
		c->u = files_upload_abort(c->u);
		return http_problem(req, 400, "upload-incomplete", NULL, NULL);
	}
	r = files_upload_commit(c->u, req->db, &req->actor, &n, &created);
	c->u = NULL;   /* commit freed it */
	if (r < 0) {
		int k = audit_upload_failure(req, c, strerror(-r));

		(void)k;
		if (r == -EEXIST)
			return http_problem(req, 412, "precondition-failed",
					    "a file of that name was stored meanwhile; nothing was replaced", NULL);
		if (c->refused && (r == -ENOLCK || r == -ESTALE || (c->path && (r == -ENOTDIR || r == -EISDIR))))
			return c->refused(req, r, c->cls);
		return files_error(req, r, "name");
	}
	return c->done(req, &n, created, c->cls);
}

static void upload_abort(struct request *req, bool client_gone)
{
	struct upload_ctx *c = req->stream_ctx;

	if (!c || !c->u)
		return;
	c->u = files_upload_abort(c->u);
	if (client_gone) {
		/* nobody to answer; the attempt is still on record */
		req->db = req->db ? req->db : db_thread();
		/* the reason: cut by the server ("shutdown" at the end of the drain time, "timeout"
		 * by the connection guard) or the client went away */
		if (req->db && c->tenant_id &&
		    audit_upload_failure(req, c, req->cut_reason ? req->cut_reason : "client disconnected") < 0)
			log_warn("files.upload", "could not record the aborted upload of %s", c->name);
	}
	log_info("files.upload", "upload of \"%s\" aborted%s%s%s; nothing stored", c->name,
		 client_gone ? " (" : "", client_gone ? (req->cut_reason ? req->cut_reason : "client disconnected") : "",
		 client_gone ? ")" : "");
}

static const struct stream_ops upload_ops = { upload_data, upload_end, upload_abort };

/* ---- download ---- */

struct download {
	struct files_reader *rd;
	uint64_t start, len;
	int64_t tenant_id, node_id;
	enum actor_type actor_type;
	char actor_name[KURA_LOGIN_MAX + 1];
	char client_ip[INET6_ADDRSTRLEN];
	int64_t account_id;
};

static void download_free(void *cls)
{
	struct download *d = cls;

	files_reader_close(d->rd);
	free(d);
}

/* A small answer decrypted whole into one buffer (http_file_download): wiped when MHD is
 * done with it, as the reader's own buffers are. */
struct small_body {
	size_t n;
	char data[];
};

static void small_body_free(void *cls)
{
	struct small_body *b = cls;

	sodium_memzero(b->data, b->n);
	free(b);
}

static void integrity_audit(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
			    uint64_t offset)
{
	json_t *det = json_pack("{s:I}", "offset", (json_int_t)offset);
	int r = files_audit(db, who, tenant_id, AUDIT_ACCESS, "file.integrity", id, AUDIT_FAILURE, det);

	json_decref(det);
	log_error("files.integrity", "tenant %lld node %lld failed its integrity check at offset %llu%s",
		  (long long)tenant_id, (long long)id, (unsigned long long)offset,
		  r < 0 ? " (and the audit record failed)" : "");
}

static ssize_t download_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct download *d = cls;
	size_t want, got = 0;
	int r;

	if (pos >= d->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	want = d->len - pos < max ? (size_t)(d->len - pos) : max;
	r = files_read(d->rd, d->start + pos, buf, want, &got);
	if (r < 0 || got == 0) {
		struct actor a = { d->actor_type, d->tenant_id, d->account_id, d->actor_name,
				   d->client_ip, "" };
		struct db *db = db_thread();

		if (r == -EBADMSG && db)
			integrity_audit(db, &a, d->tenant_id, d->node_id, d->start + pos);
		else
			log_error("files.download", "read of node %lld failed: %s", (long long)d->node_id,
				  strerror(r < 0 ? -r : EIO));
		return MHD_CONTENT_READER_END_WITH_ERROR;   /* the client sees a cut transfer */
	}
	return (ssize_t)got;
}

/* Parses a single "bytes=a-b" / "bytes=a-" / "bytes=-n" range against size. 1 = a range,
 * 0 = no usable Range (serve everything), -1 = unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *ret_start, uint64_t *ret_len)
{
	char a[24], b[24];
	const char *dash;
	int64_t x = -1, y = -1;
	size_t na, nb;

	if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0;
	h += 6;
	dash = strchr(h, '-');
	if (!dash)
		return 0;
	na = (size_t)(dash - h);
	nb = strlen(dash + 1);
	if (na >= sizeof(a) || nb >= sizeof(b) || (na == 0 && nb == 0))
		return 0;
	memcpy(a, h, na);
	a[na] = '\0';
	memcpy(b, dash + 1, nb);
	b[nb] = '\0';
	if ((na && (safe_atoi64(a, &x) < 0 || x < 0)) || (nb && (safe_atoi64(b, &y) < 0 || y < 0)))
		return 0;
	if (!na) {                      /* suffix: the last y bytes */
		if (y == 0 || size == 0)
			return -1;
		*ret_len = (uint64_t)y < size ? (uint64_t)y : size;
		*ret_start = size - *ret_len;
		return 1;
	}
	if (nb && y < x)
		return 0;
	if ((uint64_t)x >= size)
		return -1;
	*ret_start = (uint64_t)x;
	*ret_len = (!nb || (uint64_t)y >= size ? size - 1 : (uint64_t)y) - (uint64_t)x + 1;
	return 1;
}

/* attachment; filename="ascii"; filename*=UTF-8''pct-encoded (RFC 6266, RFC 5987) */
char *http_content_disposition(struct arena *a, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name), i, o = 0, q = 0;
	char *ascii = arena_alloc(a, n + 1), *enc = arena_alloc(a, 3 * n + 1);

	if (!ascii || !enc)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		ascii[q++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ? (char)c : '_';
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&+-.^_`|~", c)) {
			enc[o++] = (char)c;
		} else {
			enc[o++] = '%';
			enc[o++] = hex[c >> 4];
			enc[o++] = hex[c & 15];
		}
	}
	ascii[q] = '\0';
	enc[o] = '\0';
	return arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

bool http_type_is_active(const char *ct)
{
	static const char *const active[] = {
		"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
		"text/xsl", "application/xslt+xml", "application/rdf+xml", "application/mathml+xml",
		"text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript",
		"application/pdf", "application/x-shockwave-flash", "multipart/x-mixed-replace",
		"application/vnd.wap.xhtml+xml", "text/vtt", "text/cache-manifest",
	};
	size_t i, n;

	if (!ct || !*ct)
		return false;
	n = strcspn(ct, "; \t");
	for (i = 0; i < ARRAY_SIZE(active); i++)
		if (strlen(active[i]) == n && !strncasecmp(ct, active[i], n))
			return true;
	/* any other XML media type (application/foo+xml) can carry script as well */
	return n > 4 && !strncasecmp(ct + n - 4, "+xml", 4);
}

/* Does the list (If-Match / If-None-Match value) name the quoted tag? "*" matches any
 * existing resource; strong: W/ tags never match (If-Match). */
static bool etag_matches(const char *list, const char *quoted, bool strong)
{
	const char *p;
	size_t n = strlen(quoted);

	if (!list)
		return false;
	while (*list == ' ')
		list++;
	if (!strcmp(list, "*"))
		return true;
	for (p = list; (p = strstr(p, quoted)) != NULL; p += n) {
		/* the quoted tag, optionally W/-prefixed, as one list element */
		char after = p[n];
		bool weak = p - list >= 2 && p[-2] == 'W' && p[-1] == '/';

		if ((after == '\0' || after == ',' || after == ' ') && !(weak && strong))
			return true;
	}
	return false;
}

void http_date_format(int64_t us, char *buf, size_t size)
{
	if (clock_format_http(us, buf, size) < 0)
		str_copy(buf, size, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* An HTTP-date (IMF-fixdate) in seconds; -1 when it is not one. A date before 1970 is 0:
 * every file is newer (timegm's negative answers would otherwise read as "no date", so an
 * If-Unmodified-Since of 1900 was ignored instead of failing; fuzz_http_date found it). */
static int64_t http_date_parse(const char *s)
{
	struct tm tm;
	const char *end;
	time_t t;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	t = timegm(&tm);
	return t < 0 ? 0 : (int64_t)t;
}

unsigned http_preconditions(struct request *req, const char *etag, int64_t modified_us, bool exists)
{
	const bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	const char *im = header(req, MHD_HTTP_HEADER_IF_MATCH);
	const char *ius = header(req, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE);
	const char *inm = header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims = header(req, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	int64_t mod_s = modified_us / 1000000, t;

	/* RFC 9110 13.2.2, in this order */
	if (im) {
		if (!exists || !etag || !etag_matches(im, etag, true))
			return 412;
	} else if (ius && exists && modified_us >= 0 && (t = http_date_parse(ius)) >= 0 && mod_s > t) {
		return 412;
	}
	if (inm) {
		if (exists && etag && etag_matches(inm, etag, false))
			return get ? 304 : 412;
		if (exists && !etag && strstr(inm, "*"))
			return get ? 304 : 412;
	} else if (ims && get && exists && modified_us >= 0 && (t = http_date_parse(ims)) >= 0 && mod_s <= t) {
		return 304;
	}
	return 0;
}

/* The files API's own access record for a download (also WebDAV's GET and HEAD): a HEAD
 * and a 304 reveal the file's size, type and version, so they are accesses too (F4). */
bool http_download_record(struct request *req, const struct file_node *n, enum http_download_kind kind,
			  uint64_t start, uint64_t len, void *cls, enum MHD_Result *ret_result)
{
	static const char *const actions[] = { "file.download", "file.head", "file.not_modified" };
	json_t *det = kind == DOWNLOAD_NOT_MODIFIED
			      ? json_pack("{s:s}", "name", n->name)
			      : json_pack("{s:s, s:I, s:I}", "name", n->name, "offset", (json_int_t)start, "length",
					  (json_int_t)len);
	int r = files_audit(req->db, &req->actor, TENANT(req), AUDIT_ACCESS, actions[kind], n->id, AUDIT_SUCCESS,
			    det);

	(void)cls;
	json_decref(det);
	if (r < 0) {
		*ret_result = http_internal_error(req, r);   /* not logged, not served */
		return false;
	}
	return true;
}

enum MHD_Result http_file_download(struct request *req, int64_t tenant_id, int64_t id,
				   http_download_start_fn start_fn, void *cls)
{
	struct file_content c;
	struct file_node n;
	int r;

	if (!req->srv->files)
		return no_service(req);
	/* the node and its key in one statement (files_open read the node, then the key) */
	r = files_get_content(req->db, tenant_id, id, &n, &c);
	if (r < 0)
		return files_error(req, r, NULL);
	return http_file_download_at(req, tenant_id, &n, &c, start_fn, cls);
}

enum MHD_Result http_file_download_at(struct request *req, int64_t tenant_id, const struct file_node *node,
				      struct file_content *c, http_download_start_fn start_fn, void *cls)
{
	const bool head = !strcmp(req->method, "HEAD");
	struct files_reader *rd = NULL;
	struct download *d = NULL;
	struct MHD_Response *resp;
	const struct file_node n = *node;
	const int64_t id = n.id;
	uint64_t start = 0, len = 0;
	char etag[64], crange[96], lastmod[40], probe[1];
	const char *disp;
	unsigned status = 200, pre;
	enum MHD_Result res;
	size_t got = 0;
	int r, rng;

	if (!req->srv->files) {
		files_content_clear(c);
		return no_service(req);
	}
	r = files_open_at(req->srv->files, req->db, tenant_id, &n, c, &rd);
	if (r == -EISDIR)
		r = -ENOENT;
	if (r == -EBADMSG)
		integrity_audit(req->db, &req->actor, tenant_id, id, 0);
	if (r < 0)
		return files_error(req, r, NULL);
	str_printf(etag, sizeof(etag), "\"%s\"", n.etag);
	http_date_format(n.modified_us, lastmod, sizeof(lastmod));
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Last-Modified", lastmod);
	http_add_header(req, "Cache-Control", "private, no-cache");
	pre = http_preconditions(req, etag, n.modified_us, true);
	if (pre == 304) {
		files_reader_close(rd);
		if (!start_fn(req, &n, DOWNLOAD_NOT_MODIFIED, 0, 0, cls, &res))
			return res;
		return http_empty(req, 304);
	}
	if (pre) {
		files_reader_close(rd);
		return http_problem(req, pre, "precondition-failed", "If-Match or If-Unmodified-Since", NULL);
	}
	len = (uint64_t)n.size;
	rng = parse_range(header(req, MHD_HTTP_HEADER_RANGE), (uint64_t)n.size, &start, &len);
	if (rng < 0) {
		files_reader_close(rd);
		str_printf(crange, sizeof(crange), "bytes */%lld", (long long)n.size);
		http_add_header(req, "Content-Range", crange);
		return http_problem(req, 416, "range-not-satisfiable", NULL, NULL);
	}
	if (rng > 0) {
		status = 206;
		str_printf(crange, sizeof(crange), "bytes %llu-%llu/%lld", (unsigned long long)start,
			   (unsigned long long)(start + len - 1), (long long)n.size);
		http_add_header(req, "Content-Range", crange);
	}
	/* the database is read (node, key, inline content): the blob's first chunk may come
	 * from S3, and no read snapshot waits for it (db.h db_read_begin) */
	db_read_end(req->db);
	/* verify the first chunk the answer needs before the status line goes out */
	if (len > 0 && (r = files_read(rd, start, probe, 1, &got)) < 0) {
		files_reader_close(rd);
		if (r == -EBADMSG)
			integrity_audit(req->db, &req->actor, tenant_id, id, start);
		return files_error(req, r, NULL);
	}
	if (!start_fn(req, &n, head ? DOWNLOAD_HEAD : DOWNLOAD_BODY, start, len, cls, &res)) {
		files_reader_close(rd);
		return res;
	}
	if (!head && len <= KURA_DOWNLOAD_BUFFER_MAX) {
		/* small: decrypted at once and answered from one buffer, so the headers and the
		 * body leave in one write and no stream block (STREAM_BLOCK) is allocated */
		struct small_body *b = malloc(sizeof(*b) + (size_t)len + 1);

		if (!b) {
			files_reader_close(rd);
			return http_internal_error(req, -ENOMEM);
		}
		b->n = (size_t)len;
		r = len ? files_read(rd, start, b->data, (size_t)len, &got) : 0;
		if (r == 0 && got != len)
			r = -EBADMSG;   /* shorter than its recorded size */
		files_reader_close(rd);
		if (r < 0) {
			small_body_free(b);
			if (r == -EBADMSG)
				integrity_audit(req->db, &req->actor, tenant_id, id, start);
			return files_error(req, r, NULL);
		}
		resp = MHD_create_response_from_buffer_with_free_callback_cls((size_t)len, b->data,
									      small_body_free, b);
		if (!resp) {
			small_body_free(b);
			return http_internal_error(req, -ENOMEM);
		}
		goto respond;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		files_reader_close(rd);
		return http_internal_error(req, -ENOMEM);
	}
	if (!head)   /* a large body: decrypted ahead on a second core while it is sent */
		(void)files_reader_readahead(rd, start, len);
	d->rd = rd;
	d->start = start;
	d->len = len;
	d->tenant_id = tenant_id;
	d->node_id = n.id;
	d->actor_type = req->actor.type;
	d->account_id = req->actor.account_id;
	str_copy(d->actor_name, sizeof(d->actor_name), req->actor.name ? req->actor.name : "");
	str_copy(d->client_ip, sizeof(d->client_ip), req->client_ip);
	resp = MHD_create_response_from_callback(len, STREAM_BLOCK, download_read, d, download_free);
	if (!resp) {
		download_free(d);
		return http_internal_error(req, -ENOMEM);
	}
respond:
	/* the API always downloads; WebDAV clients show what they fetch, so there only the
	 * types a browser would run (HTML, SVG, XML...) go out as attachments */
	disp = !req->dav || http_type_is_active(n.content_type) ? http_content_disposition(req->arena, n.name) : NULL;
	if (disp)
		http_add_header(req, "Content-Disposition", disp);
	/* user content never runs as kura's origin, even when a browser renders it */
	http_add_header(req, "Content-Security-Policy", FILE_CONTENT_CSP);
	http_add_header(req, "Accept-Ranges", "bytes");
	return http_respond_response(req, status, n.content_type[0] ? n.content_type : "application/octet-stream",
				     resp);
}

static enum MHD_Result api_file_content(struct request *req)
{
	int64_t id;
	int r = node_param(req, 0, &id);

	if (r < 0)
		return files_error(req, r, NULL);
	return http_file_download(req, TENANT(req), id, http_download_record, NULL);
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: files (docs/api.md "Files"); "root" names the tenant's root folder.
 * server.c composes every file's slice into the route table (docs/HACKING.md "How to add an
 * endpoint"). */
const struct route api_files_routes[] = {
	{ "GET", "/api/v1/folders/*", api_folder_get, 0, PERM_FILES_READ },
	{ "PATCH", "/api/v1/folders/*", api_node_patch, R_BODY, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/folders/*", api_node_delete, 0, PERM_FILES_WRITE },
	{ "GET", "/api/v1/folders/*/children", api_folder_children, 0, PERM_FILES_READ },
	{ "POST", "/api/v1/folders/*/children", api_folder_create, R_BODY, PERM_FILES_WRITE },
	{ "PUT", "/api/v1/folders/*/files/*", api_file_upload_begin, R_STREAM, PERM_FILES_WRITE },
	{ "PUT", "/api/v1/folders/*/labels/*", api_label_put, 0, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/folders/*/labels/*", api_label_delete, 0, PERM_FILES_WRITE },
	{ "GET", "/api/v1/files/*", api_file_get, 0, PERM_FILES_READ },
	{ "PATCH", "/api/v1/files/*", api_node_patch, R_BODY, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/files/*", api_node_delete, 0, PERM_FILES_WRITE },
	{ "GET", "/api/v1/files/*/content", api_file_content, 0, PERM_FILES_READ },
	{ "PUT", "/api/v1/files/*/labels/*", api_label_put, 0, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/files/*/labels/*", api_label_delete, 0, PERM_FILES_WRITE },
	{ "GET", "/api/v1/labels", api_labels_list, 0, PERM_FILES_READ },
	{ "GET", "/api/v1/labels/*", api_label_items, 0, PERM_FILES_READ },
	{ "GET", "/api/v1/trash", api_trash_list, 0, PERM_FILES_READ },
	{ "POST", "/api/v1/trash/*/restore", api_trash_restore, 0, PERM_FILES_WRITE },
	{ "DELETE", "/api/v1/trash/*", api_trash_purge, 0, PERM_FILES_WRITE },
	{ "GET", "/api/v1/quota", api_quota, 0, PERM_FILES_READ },
	{ "GET", "/api/v1/search", api_search, 0, PERM_FILES_READ },
	{ "GET", "/api/v1/locks", api_locks_list, 0, PERM_LOCKS_ADMIN },
	{ "DELETE", "/api/v1/locks/*", api_lock_delete, 0, PERM_LOCKS_ADMIN },
};
const size_t api_files_n_routes = ARRAY_SIZE(api_files_routes);
