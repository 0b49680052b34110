/*
 * Files service additions for WebDAV (files_dav.h): path resolution, listing, COPY and
 * MOVE with Overwrite, dead properties, write locks.
 *
 * COPY of file content: the ciphertext blob is copied byte for byte into a new blob and the
 * file key is unwrapped under the source's blob id and wrapped again under the new one (the
 * wrap binds the blob id), so nothing is decrypted. All new blobs are written before the one
 * transaction that records every copied row, the usage change, the dead properties and the
 * audit record; if that transaction fails the new blobs are deleted again.
 *
 * Locks are kept per URL path (RFC 4918 6.1); the conflict check and the insert run in one
 * transaction (BEGIN IMMEDIATE), so two clients cannot both get an exclusive lock. Locks end
 * with the resource (trash, move, overwrite drop the locks at and below the old path in the
 * same transaction), with their account (a trigger, migration 0009), or when a manager
 * breaks them (files_dav_lock_break). Dead properties and copied items are charged to the
 * tenant's quota (files_charge) in the transaction that stores them.
 *
 * SECURITY: every statement names tenant_id, including the recursive walks; path segments
 * are checked with files_name_valid before they reach a query. Lock tokens are 122 random
 * bits (UUID v4 from libsodium). Counts and sizes are bounded by limits.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "blob/blob.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/log.h"
#include "crypto/filecrypt.h"
#include "crypto/keyring_rt.h"
#include "files/files_dav.h"
#include "files/files_int.h"
#include "store/db.h"

#define COPY_BLOCK (256 * 1024)

/* ---- paths and listing ---- */

/*
 * A path of up to RESOLVE_JOINED folders above its last segment in one statement: the root,
 * each folder joined by its parent and name, and the last segment by a LEFT JOIN, so the row
 * holds the parent and the node, or the parent alone (the name is free). No row (the root
 * not made yet, a folder missing or a file where a folder must be) and deeper paths go the
 * way of one lookup a segment (walk), which tells those cases apart.
 */
/* 0 parent and node; -ENOENT the parent and no node; 1 no answer here (walk); <0 errors.
 * ret_c not NULL: the node's content columns too, in the same statement (a file's). */
static int resolve_joined(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret_parent,
			  struct file_node *ret, struct file_content *ret_c)
{
	static const char *const sql[2][RESOLVE_JOINED + 1] = {
		{ RESOLVE_SQL_1, RESOLVE_SQL_2, RESOLVE_SQL_3, RESOLVE_SQL_4 },
		{ RESOLVE_CONTENT_SQL_1, RESOLVE_CONTENT_SQL_2, RESOLVE_CONTENT_SQL_3, RESOLVE_CONTENT_SQL_4 },
	};
	const char *q;
	char seg[RESOLVE_JOINED + 1][KURA_FILE_NAME_MAX + 1];
	struct db_stmt *st;
	size_t n = 0;
	int r;

	while (*path) {
		const char *s = path + 1, *end = strchr(s, '/');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (*path != '/' || len == 0 || len > KURA_FILE_NAME_MAX || n > RESOLVE_JOINED)
			return 1;
		memcpy(seg[n], s, len);
		seg[n][len] = '\0';
		if (files_name_nfc(seg[n], seg[n], sizeof(seg[n])) < 0)
			return 1;
		n++;
		path = s + len;
	}
	if (n < 1 || n > RESOLVE_JOINED + 1)
		return 1;
	q = sql[ret_c != NULL][n - 1];
	switch (n) {
	case 1:
		st = db_query(db, q, "it", tenant_id, seg[0]);
		break;
	case 2:
		st = db_query(db, q, "itt", tenant_id, seg[0], seg[1]);
		break;
	case 3:
		st = db_query(db, q, "ittt", tenant_id, seg[0], seg[1], seg[2]);
		break;
	default:
		st = db_query(db, q, "itttt", tenant_id, seg[0], seg[1], seg[2], seg[3]);
		break;
	}
	r = db_step(st);
	if (r > 0) {
		files_read_node_at(st, 0, ret_parent);
		if (db_is_null(st, 13)) {
			r = -ENOENT;
		} else {
			files_read_node_at(st, 13, ret);
			r = ret_c && ret->kind == NODE_FILE ? files_read_content_at(st, 26, tenant_id, ret_c) : 0;
		}
	} else if (r == 0) {
		r = 1;
	}
	db_done(st);
	return r;
}

/* Walks the segments of path up to stop ("/a/b") below the folder at *n, in place. */
static int walk(struct db *db, int64_t tenant_id, const char *path, const char *stop, struct file_node *n)
{
	char seg[KURA_FILE_NAME_MAX + 1];
	int r = 0;

	while (r == 0 && path < stop) {
		const char *s = path + 1, *end = memchr(s, '/', (size_t)(stop - s));
		size_t len = end ? (size_t)(end - s) : (size_t)(stop - s);

		if (*path != '/' || len == 0 || len > KURA_FILE_NAME_MAX)
			return -ENOENT;
		if (n->kind != NODE_FOLDER)
			return -ENOTDIR;
		memcpy(seg, s, len);
		seg[len] = '\0';
		r = files_lookup(db, tenant_id, n->id, seg, n);
		path = s + len;
	}
	return r;
}

int files_dav_resolve(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret)
{
	struct file_node parent, n;
	int r = *path ? resolve_joined(db, tenant_id, path, &parent, &n, NULL) : 1;

	if (r == 0)
		*ret = n;
	if (r <= 0)
		return r;
	r = files_root_node(db, tenant_id, &n);
	if (r == 0)
		r = walk(db, tenant_id, path, path + strlen(path), &n);
	if (r == 0)
		*ret = n;
	return r;
}

int files_dav_resolve_content(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret,
			      struct file_content *ret_c)
{
	struct file_node parent, n;
	int r;

	memset(ret_c, 0, sizeof(*ret_c));
	ret_c->tenant_id = tenant_id;
	ret_c->bad = true;   /* a folder's: files_open_at answers -EISDIR before it looks */
	r = *path ? resolve_joined(db, tenant_id, path, &parent, &n, ret_c) : 1;
	if (r == 0)
		*ret = n;
	if (r <= 0) {
		if (r < 0)
			files_content_clear(ret_c);
		return r;
	}
	/* the root, and what the joined statement does not answer: a lookup a segment, then
	 * a file's node and content by its id (in the same snapshot) */
	r = files_root_node(db, tenant_id, &n);
	if (r == 0)
		r = walk(db, tenant_id, path, path + strlen(path), &n);
	if (r == 0 && n.kind == NODE_FILE)
		r = files_get_content(db, tenant_id, n.id, &n, ret_c);
	if (r == 0)
		*ret = n;
	return r;
}

int files_dav_resolve_leaf(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret_parent,
			   struct file_node *ret)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	int r;

	if (!slash || !slash[1])
		return -EINVAL;
	r = resolve_joined(db, tenant_id, path, ret_parent, ret, NULL);
	if (r <= 0)
		return r;
	r = files_root_node(db, tenant_id, ret_parent);
	if (r == 0)
		r = walk(db, tenant_id, path, slash, ret_parent);
	if (r == -ENOENT || (r == 0 && ret_parent->kind != NODE_FOLDER))
		return -ENOTDIR;   /* the parent is missing or a file */
	if (r < 0)
		return r;
	*ret = *ret_parent;
	return walk(db, tenant_id, slash, slash + strlen(slash), ret);
}

static size_t list_max = KURA_DAV_LIST_MAX;
static pthread_once_t list_max_once = PTHREAD_ONCE_INIT;

/* Test seam: KURA_TEST_DAV_LIST_MAX=N (1..KURA_DAV_LIST_MAX) lowers the limit, read once, so
 * that a test lists a truncated folder of a few dozen members instead of 100,001. */
static void list_max_init(void)
{
#ifdef KURA_TEST_HOOKS
	const char *e = getenv("KURA_TEST_DAV_LIST_MAX");
	uint32_t v;

	if (e && safe_atou32(e, &v) == 0 && v >= 1 && v <= KURA_DAV_LIST_MAX) {
		list_max = v;
		log_warn("dav.list_max", "KURA_TEST_DAV_LIST_MAX=%u: a listing stops after %u members", v, v);
	}
#endif
}

size_t files_dav_list_max(void)
{
	pthread_once(&list_max_once, list_max_init);
	return list_max;
}

int files_dav_children(struct db *db, int64_t tenant_id, int64_t folder_id, files_dav_node_fn fn,
		       void *ctx, bool *ret_more)
{
	const size_t max = files_dav_list_max();
	struct db_stmt *st = db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1"
					  " AND parent_id = $2 AND in_trash = 0 ORDER BY name LIMIT $3",
				      "iii", tenant_id, folder_id, (int64_t)max + 1);
	struct file_node n;
	size_t count = 0;
	int r;

	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		if (++count > max) {
			*ret_more = true;
			r = 0;
			break;
		}
		files_read_node(st, &n);
		r = fn(ctx, &n);
		if (r < 0)
			break;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

int files_dav_entries(struct db *db, int64_t tenant_id, int64_t folder_id, files_dav_entry_fn fn,
		      void *ctx, bool *ret_more)
{
	const size_t max = files_dav_list_max();
	/* one row past the limit tells "more" from "exactly the limit" */
	struct db_stmt *st = db_query(db, FILES_DAV_ENTRIES_SQL, "iii", tenant_id, folder_id,
				      (int64_t)max + 1);
	size_t count = 0;
	int r;

	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		struct files_dav_entry e;
		const char *kind = db_text(st, 1), *name = db_text(st, 2), *ct = db_text(st, 4),
			   *etag = db_text(st, 5);

		if (++count > max) {
			*ret_more = true;   /* the first max members, by name, went to fn */
			r = 0;
			break;
		}
		e = (struct files_dav_entry){ .id = db_int(st, 0), .size = db_int(st, 3),
					      .created_us = db_int(st, 6), .modified_us = db_int(st, 7),
					      .folder = !(kind && !strcmp(kind, "file")),
					      .name = name ? name : "", .content_type = ct ? ct : "",
					      .etag = etag ? etag : "" };
		r = fn(ctx, &e);
		if (r < 0)
			break;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

/* ---- dead properties ---- */

int files_dav_props(struct db *db, int64_t tenant_id, int64_t node_id, bool with_children,
		    files_dav_prop_fn fn, void *ctx)
{
	struct db_stmt *st;
	int r;

	if (with_children) {
		/* most tenants have no dead property at all: one index probe instead of one per
		 * member */
		st = db_query(db, "SELECT 1 FROM dav_props WHERE tenant_id = $1 LIMIT 1", "i", tenant_id);
		r = db_step(st);
		db_done(st);
		if (r <= 0)
			return r;
	}
	if (with_children)
		/* two index walks, the node's rows and its children's (CROSS JOIN: SQLite keeps
		 * file_nodes outside); an OR in one query made SQLite scan every dead property
		 * of the tenant */
		st = db_query(db, "SELECT node_id, ns, name, xml FROM dav_props WHERE tenant_id = $1"
				  " AND node_id = $2 UNION ALL SELECT p.node_id, p.ns, p.name, p.xml"
				  " FROM file_nodes n CROSS JOIN dav_props p WHERE n.tenant_id = $1"
				  " AND n.parent_id = $2 AND n.in_trash = 0 AND p.tenant_id = n.tenant_id"
				  " AND p.node_id = n.id ORDER BY 1, 2, 3", "ii", tenant_id, node_id);
	else
		st = db_query(db, "SELECT node_id, ns, name, xml FROM dav_props WHERE tenant_id = $1"
				  " AND node_id = $2 ORDER BY ns, name", "ii", tenant_id, node_id);
	while ((r = db_step(st)) > 0) {
		struct files_dav_prop p = { db_int(st, 0), db_text(st, 1), db_text(st, 2), db_text(st, 3) };

		if (!p.ns || !p.name || !p.xml)
			continue;
		r = fn(ctx, &p);
		if (r < 0)
			break;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

/* What the dead properties of one node cost the quota. */
static int props_cost(struct db *db, int64_t tenant_id, int64_t node_id, int64_t *ret)
{
	*ret = 0;
	return files_props_cost(db_query(db, "SELECT ns, name, xml FROM dav_props WHERE tenant_id = $1"
					 " AND node_id = $2", "ii", tenant_id, node_id), ret);
}

static bool prop_name_ok(const char *s, bool empty_ok)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	return (empty_ok || n > 0) && n <= KURA_DAV_PROP_NAME_MAX && utf8_is_clean_text(s, n);
}

int files_dav_proppatch(struct db *db, const struct actor *who, int64_t tenant_id, int64_t node_id,
			const struct files_dav_propop *ops, size_t n)
{
	struct file_node node;
	struct db_stmt *st;
	json_t *d = NULL, *names = NULL;
	int64_t count = 0, cost_before = 0, cost_after = 0;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (!prop_name_ok(ops[i].ns, true) || !prop_name_ok(ops[i].name, false))
			return -EINVAL;
		if (!ops[i].remove && (!ops[i].xml || strlen(ops[i].xml) > KURA_DAV_PROP_BYTES_MAX))
			return -EFBIG;
	}
	for (i = 0; i < n; i++)
		if (!ops[i].remove && (r = files_space_check(0)) < 0)
			return r;
	names = json_array();
	if (!names)
		return -ENOMEM;
	r = db_begin(db);
	if (r < 0) {
		json_decref(names);
		return r;
	}
	r = db_lock_tenant(db, tenant_id);   /* the property limit and the quota */
	if (r == 0)
		r = files_get(db, tenant_id, node_id, &node);
	if (r == 0)
		r = props_cost(db, tenant_id, node_id, &cost_before);
	for (i = 0; r == 0 && i < n; i++) {
		if (ops[i].remove)
			r = db_exec(db, "DELETE FROM dav_props WHERE tenant_id = $1 AND node_id = $2"
					" AND ns = $3 AND name = $4", "iitt", tenant_id, node_id,
				    ops[i].ns, ops[i].name);
		else
			r = db_exec(db, "INSERT INTO dav_props (tenant_id, node_id, ns, name, xml)"
					" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (node_id, ns, name)"
					" DO UPDATE SET xml = excluded.xml", "iittt", tenant_id, node_id,
				    ops[i].ns, ops[i].name, ops[i].xml);
		json_array_append_new(names, json_pack("{s:s, s:s, s:s}", "op", ops[i].remove ? "remove" : "set",
						       "ns", ops[i].ns, "name", ops[i].name));
	}
	if (r == 0) {
		st = db_query(db, "SELECT count(*) FROM dav_props WHERE tenant_id = $1 AND node_id = $2",
			      "ii", tenant_id, node_id);
		r = db_step(st);
		count = r > 0 ? db_int(st, 0) : 0;
		r = r < 0 ? r : 0;
		db_done(st);
		if (r == 0 && count > KURA_DAV_PROPS_PER_NODE)
			r = -E2BIG;
	}
	/* properties are stored bytes: they count toward the quota like content */
	if (r == 0)
		r = props_cost(db, tenant_id, node_id, &cost_after);
	if (r == 0)
		r = files_charge(db, tenant_id, 0, cost_after - cost_before);
	if (r == 0) {
		d = json_pack("{s:s, s:O}", "name", node.name, "properties", names);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION, "dav.proppatch", node_id,
				AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	json_decref(names);
	return r;
}

/* ---- copy and move ---- */

/* Inside the caller's transaction: node n goes to the trash with its subtree (files_trash). */
static int trash_in_tx(struct db *db, const struct actor *who, int64_t tenant_id,
		       const struct file_node *n, const char *why)
{
	json_t *d;
	int r = files_locks_drop_node(db, tenant_id, n->id);

	if (r == 0)
		r = db_exec(db,
			    "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
			    " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1 AND n.in_trash = 0)"
			    " UPDATE file_nodes SET in_trash = 1 WHERE tenant_id = $1"
			    " AND id IN (SELECT id FROM sub)", "ii", tenant_id, n->id);

	if (r == 0)
		r = db_exec(db, "UPDATE file_nodes SET trashed_us = $3, trashed_by_name = $4"
				" WHERE tenant_id = $1 AND id = $2", "iiit", tenant_id, n->id, clock_now_us(),
			    who && who->name ? who->name : "");
	if (r < 0)
		return r;
	d = json_pack("{s:s, s:s, s:s}", "name", n->name, "kind", n->kind == NODE_FILE ? "file" : "folder",
		      "reason", why);
	r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
			n->kind == NODE_FILE ? "file.trash" : "folder.trash", n->id, AUDIT_SUCCESS, d);
	json_decref(d);
	return r;
}

/* The destination's parent must be a live folder that can take one more level. */
static int check_dst_parent(struct db *db, int64_t tenant_id, int64_t parent_id, int64_t src_id,
			    int64_t extra_depth)
{
	struct file_node p;
	int64_t depth = 0;
	bool loop = false;
	int r = files_get(db, tenant_id, parent_id, &p);

	if (r < 0)
		return r;
	if (p.kind != NODE_FOLDER)
		return -ENOTDIR;
	r = files_ancestry(db, tenant_id, parent_id, src_id, &depth, &loop);
	if (r == 0 && loop)
		r = -ELOOP;
	if (r == 0 && depth + 1 + extra_depth > KURA_FOLDER_DEPTH_MAX)
		r = -E2BIG;
	return r;
}

/* An existing destination: -EEXIST unless overwrite, else trashed (same transaction). */
static int clear_dst(struct db *db, const struct actor *who, int64_t tenant_id, int64_t parent_id,
		     const char *name, bool overwrite, int64_t src_id, bool *ret_created)
{
	struct file_node old;
	int r = files_lookup(db, tenant_id, parent_id, name, &old);

	*ret_created = r == -ENOENT;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (old.id == src_id)
		return -ELOOP;
	if (!overwrite)
		return -EEXIST;
	return trash_in_tx(db, who, tenant_id, &old, "overwritten");
}

struct copy_item {
	int64_t id, parent_id, new_id, size, key_version;
	bool folder;
	bool inl;                    /* kept inline: the copy's row gets the same inline_data */
	char name[KURA_FILE_NAME_MAX + 1];
	char content_type[KURA_CONTENT_TYPE_MAX + 1];
	char alg[32];
	char blob[BLOB_ID_LEN + 1], new_blob[BLOB_ID_LEN + 1];
	unsigned char wrapped[WRAPPED_KEY_BYTES];
	int64_t depth;
};

static int copy_plan(struct db *db, int64_t tenant_id, int64_t src_id, bool recursive,
		     struct copy_item **ret, size_t *ret_n)
{
	struct dbuf list;   /* of struct copy_item */
	size_t n = 0;
	struct db_stmt *st;
	int r;

	dbuf_init(&list, (size_t)KURA_DAV_COPY_NODES_MAX * sizeof(struct copy_item));

	st = db_query(db,
		      "WITH RECURSIVE sub(id, depth) AS (SELECT $2, 0 UNION ALL SELECT n.id, sub.depth + 1"
		      " FROM file_nodes n JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1"
		      " AND n.in_trash = 0 AND sub.depth < $3)"
		      " SELECT f.id, f.parent_id, f.kind, f.name, f.size, f.content_type, f.blob_id,"
		      " f.alg, f.key_version, f.wrapped_key, sub.depth,"
		      " CASE WHEN f.inline_data IS NULL THEN 0 ELSE 1 END FROM sub JOIN file_nodes f"
		      " ON f.id = sub.id WHERE f.tenant_id = $1 AND f.in_trash = 0 ORDER BY sub.depth, f.id",
		      "iii", tenant_id, src_id, (int64_t)(recursive ? KURA_FOLDER_DEPTH_MAX : 0));
	while ((r = db_step(st)) > 0) {
		struct copy_item item = { 0 }, *it = &item;
		const void *w;
		size_t wn = 0;

		if (n == KURA_DAV_COPY_NODES_MAX) {
			r = -E2BIG;
			break;
		}
		it->id = db_int(st, 0);
		it->parent_id = db_int(st, 1);
		it->folder = !strcmp(db_text(st, 2) ? db_text(st, 2) : "", "folder");
		str_copy(it->name, sizeof(it->name), db_text(st, 3) ? db_text(st, 3) : "");
		it->size = db_int(st, 4);
		str_copy(it->content_type, sizeof(it->content_type), db_text(st, 5) ? db_text(st, 5) : "");
		it->depth = db_int(st, 10);
		if (!it->folder) {
			w = db_blob(st, 9, &wn);
			if (!db_text(st, 6) || !db_text(st, 7) || !w || wn != WRAPPED_KEY_BYTES ||
			    str_copy(it->blob, sizeof(it->blob), db_text(st, 6)) < 0) {
				r = -EBADMSG;
				break;
			}
			str_copy(it->alg, sizeof(it->alg), db_text(st, 7));
			it->key_version = db_int(st, 8);
			memcpy(it->wrapped, w, wn);
			it->inl = db_int(st, 11) != 0;
		}
		r = dbuf_add(&list, it, sizeof(*it));
		if (r < 0)
			break;
		n++;
	}
	db_done(st);
	if (r == 0 && n == 0)
		r = -ENOENT;
	if (r < 0) {
		dbuf_free(&list);
		return r;
	}
	*ret = (struct copy_item *)(void *)dbuf_take(&list, NULL);   /* malloc: aligned for any type */
	*ret_n = n;
	return *ret ? 0 : -ENOMEM;
}

/* New blob with the same ciphertext as it->blob; the file key re-wrapped for it. A file kept
 * inline gets a new random id only (its ciphertext is copied row to row in the transaction:
 * copy_inline). */
static int copy_blob(struct files *f, struct db *db, int64_t tenant_id, struct copy_item *it)
{
	unsigned char tkey[TENANT_KEY_BYTES], fkey[FILECRYPT_KEY_BYTES];
	struct blob_reader *br = NULL;
	struct blob_writer *w = NULL;
	unsigned char *buf = NULL;
	uint64_t off = 0, size;
	int64_t version = 0;
	int r;

	r = keyring_rt_get(f->kr, db, tenant_id, it->key_version, tkey);
	if (r == 0)
		r = filekey_unwrap(tkey, tenant_id, it->key_version, it->blob, it->wrapped, fkey);
	if (r == 0)
		r = keyring_rt_current(f->kr, db, tenant_id, &version, tkey);
	if (r < 0)
		goto out;
	if (it->inl) {
		blob_new_id(it->new_blob);
		r = filekey_wrap(tkey, tenant_id, version, it->new_blob, fkey, it->wrapped);
		if (r == 0)
			it->key_version = version;
		goto out;
	}
	r = blob_reader_open(f->bs, tenant_id, it->blob, &br);
	if (r == -ENOENT)
		r = -EBADMSG;
	if (r == 0)
		r = blob_writer_open(f->bs, tenant_id, &w);
	buf = r == 0 ? malloc(COPY_BLOCK) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	if (r < 0)
		goto out;
	size = blob_reader_size(br);
	while (off < size && r == 0) {
		size_t got = 0;

		r = blob_read_at(br, off, buf, COPY_BLOCK, &got);
		if (r == 0 && got == 0)
			r = -EBADMSG;
		if (r == 0)
			r = blob_write(w, buf, got);
		off += got;
	}
	if (r < 0)
		goto out;
	str_copy(it->new_blob, sizeof(it->new_blob), blob_writer_id(w));
	r = filekey_wrap(tkey, tenant_id, version, it->new_blob, fkey, it->wrapped);
	if (r < 0)
		goto out;
	it->key_version = version;
	r = blob_commit(w);
	w = NULL;
	if (r < 0)
		it->new_blob[0] = '\0';
out:
	sodium_memzero(tkey, sizeof(tkey));
	sodium_memzero(fkey, sizeof(fkey));
	blob_abort(w);
	blob_reader_close(br);
	free(buf);
	return r;
}

/* The inline ciphertext of the source row into its copy, in the copy's transaction: still the
 * content the copy's key was unwrapped from (the same blob_id), else -EAGAIN (replaced
 * since the plan was read; the client may try again). */
static int copy_inline(struct db *db, int64_t tenant_id, const struct copy_item *it)
{
	struct db_stmt *st;
	int r;

	r = db_exec(db, "UPDATE file_nodes SET inline_data = (SELECT s.inline_data FROM file_nodes s"
			" WHERE s.tenant_id = $1 AND s.id = $2 AND s.blob_id = $4) WHERE tenant_id = $1"
			" AND id = $3", "iiit", tenant_id, it->id, it->new_id, it->blob);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT 1 FROM file_nodes WHERE tenant_id = $1 AND id = $2 AND inline_data IS NOT NULL",
		      "ii", tenant_id, it->new_id);
	r = db_step(st);
	db_done(st);
	return r < 0 ? r : r == 0 ? -EAGAIN : 0;
}

static int64_t new_parent_of(const struct copy_item *items, size_t n, int64_t old_parent)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].id == old_parent)
			return items[i].new_id;
	return 0;
}

int files_dav_copy(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id,
		   int64_t src_id, int64_t dst_parent, const char *dst_name, bool recursive,
		   bool overwrite, bool *ret_created)
{
	struct copy_item *items = NULL;
	size_t n = 0, i;
	int64_t bytes = 0, now = clock_now_us(), max_depth = 0, meta = 0;
	char nfc[KURA_FILE_NAME_MAX + 1];
	bool created = false, in_tx = false;
	json_t *d = NULL;
	int r;

	if (!f || files_name_nfc(dst_name, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	dst_name = nfc;
	r = copy_plan(db, tenant_id, src_id, recursive, &items, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (items[i].depth > max_depth)
			max_depth = items[i].depth;
		if (!items[i].folder)
			bytes += items[i].size;
	}
	/* the blob copies take as long as their bytes: no read snapshot is held through them (it
	 * would keep every checkpoint from passing this connection's WAL read mark); the
	 * transaction below reads the newest state and checks what matters again */
	db_read_end(db);
	/* the copies need room on the disk before the first blob is written */
	r = files_space_check(bytes + bytes / 4096 + 64 * (int64_t)n);
	for (i = 0; i < n && r == 0; i++)
		if (!items[i].folder)
			r = copy_blob(f, db, tenant_id, &items[i]);
	if (r < 0)
		goto out;
	r = db_begin(db);
	if (r < 0)
		goto out;
	in_tx = true;
	/* the copies' keys were wrapped before this transaction: if a tenant-key rotation has
	 * committed since, that version is gone and the copies would be unreadable; fail and let
	 * the client try again (nothing is recorded, the new blobs are removed below). The tenant
	 * lock keeps the next rotation out until this commits, and the tree and quota as read. */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0) {
		unsigned char tkey[TENANT_KEY_BYTES];
		int64_t current = 0;

		r = keyring_rt_current(f->kr, db, tenant_id, &current, tkey);
		sodium_memzero(tkey, sizeof(tkey));
		for (i = 0; i < n && r == 0; i++)
			if (!items[i].folder && items[i].key_version != current)
				r = -EAGAIN;
	}
	if (r == 0)
		r = check_dst_parent(db, tenant_id, dst_parent, items[0].folder ? src_id : 0, max_depth);
	if (r == 0)
		r = clear_dst(db, who, tenant_id, dst_parent, dst_name, overwrite, src_id, &created);
	if (r == 0) {
		struct file_node still;

		/* as for MOVE: the cleared destination must not have held the source */
		if (files_get(db, tenant_id, src_id, &still) == -ENOENT)
			r = -ELOOP;
	}
	for (i = 0; i < n && r == 0; i++) {
		int64_t c = 0;

		r = props_cost(db, tenant_id, items[i].id, &c);
		meta += KURA_QUOTA_ITEM_BYTES + c;
	}
	if (r == 0)
		r = files_charge(db, tenant_id, bytes, meta);
	for (i = 0; i < n && r == 0; i++) {
		struct copy_item *it = &items[i];
		int64_t parent = i == 0 ? dst_parent : new_parent_of(items, i, it->parent_id);
		const char *name = i == 0 ? dst_name : it->name;

		if (!parent) {
			r = -EIO;
			break;
		}
		if (it->folder) {
			r = db_insert(db, &it->new_id, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name,"
					" created_by, created_by_name, created_us, modified_us)"
					" VALUES ($1, $2, 'folder', $3, $4, $5, $6, $6) RETURNING id", "iitIti",
				      tenant_id, parent, name, who ? who->account_id : 0,
				      who && who->name ? who->name : "", now);
		} else {
			unsigned char raw[16];
			char etag[33];

			randombytes_buf(raw, sizeof(raw));
			hex_encode(raw, sizeof(raw), etag);
			r = db_insert(db, &it->new_id, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name,"
					" size, content_type, etag, blob_id, alg, key_version, wrapped_key, created_by,"
					" created_by_name, created_us, modified_us) VALUES ($1, $2, 'file', $3, $4,"
					" $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id", "iitittttibIti",
				      tenant_id, parent, name, it->size, it->content_type, etag, it->new_blob,
				      it->alg, it->key_version, it->wrapped, sizeof(it->wrapped),
				      who ? who->account_id : 0, who && who->name ? who->name : "", now);
			if (r == 0 && it->inl)
				r = copy_inline(db, tenant_id, it);
		}
		if (r == 0)
			r = files_name_index(db, it->new_id, name);
		if (r < 0)
			break;
		r = db_exec(db, "INSERT INTO dav_props (tenant_id, node_id, ns, name, xml)"
				" SELECT tenant_id, $3, ns, name, xml FROM dav_props"
				" WHERE tenant_id = $1 AND node_id = $2", "iii", tenant_id, it->id, it->new_id);
	}
	if (r == 0) {
		d = json_pack("{s:I, s:s, s:I, s:I, s:I, s:b}", "from_id", (json_int_t)src_id, "to_name",
			      dst_name, "to_parent_id", (json_int_t)dst_parent, "items", (json_int_t)n,
			      "bytes", (json_int_t)bytes, "overwrote", !created);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
				items[0].folder ? "folder.copy" : "file.copy", items[0].new_id,
				AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0) {
		if (in_tx)
			db_rollback(db);
		for (i = 0; i < n; i++) {
			if (items[i].new_blob[0] && !items[i].inl) {
				int k = blob_delete(f->bs, tenant_id, items[i].new_blob);

				if (k < 0 && k != -ENOENT)
					log_warn("files.copy", "blob %s left unreferenced: %s",
						 items[i].new_blob, strerror(-k));
			}
		}
	}
	free(items);
	json_decref(d);
	if (r == 0 && ret_created)
		*ret_created = created;
	return r;
}

int files_dav_move(struct db *db, const struct actor *who, int64_t tenant_id, int64_t src_id,
		   int64_t dst_parent, const char *dst_name, bool overwrite, bool *ret_created)
{
	struct file_node n;
	int64_t height = 0;
	char nfc[KURA_FILE_NAME_MAX + 1];
	bool created = false;
	json_t *d = NULL;
	int r;

	if (files_name_nfc(dst_name, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	dst_name = nfc;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the tree: no cycle, within the depth limit */
	if (r == 0)
		r = files_get(db, tenant_id, src_id, &n);
	if (r == 0 && n.parent_id == 0)
		r = -EPERM;
	/* the moved subtree's own height counts: its deepest item must stay within the limit */
	if (r == 0 && n.kind == NODE_FOLDER)
		r = files_subtree_height(db, tenant_id, src_id, &height);
	if (r == 0)
		r = check_dst_parent(db, tenant_id, dst_parent, n.kind == NODE_FOLDER ? src_id : 0, height);
	if (r == 0)
		r = clear_dst(db, who, tenant_id, dst_parent, dst_name, overwrite, src_id, &created);
	/* a destination that contained the source took it to the trash with it: refuse, or the
	 * source would live on outside both the tree and the trash (and keep its quota) */
	if (r == 0 && files_get(db, tenant_id, src_id, &n) == -ENOENT)
		r = -ELOOP;
	if (r == 0)
		r = files_locks_drop_node(db, tenant_id, src_id);
	if (r == 0)
		r = db_exec(db, "UPDATE file_nodes SET parent_id = $3, name = $4, modified_us = $5"
				" WHERE tenant_id = $1 AND id = $2", "iiiti", tenant_id, src_id, dst_parent,
			    dst_name, clock_now_us());
	if (r == 0)
		r = files_name_index(db, src_id, dst_name);
	if (r == 0) {
		d = json_pack("{s:s, s:s, s:I, s:I, s:b}", "from_name", n.name, "to_name", dst_name,
			      "from_parent_id", (json_int_t)n.parent_id, "to_parent_id",
			      (json_int_t)dst_parent, "overwrote", !created);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
				n.kind == NODE_FILE ? "file.move" : "folder.move", src_id, AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret_created)
		*ret_created = created;
	return r;
}

/* ---- locks ---- */

#define LOCK_COLS "token, path, depth_inf, shared, owner_xml, account_id, timeout_s, expires_us"

static void read_lock(struct db_stmt *st, struct files_dav_lock *l)
{
	memset(l, 0, sizeof(*l));
	str_copy(l->token, sizeof(l->token), db_text(st, 0) ? db_text(st, 0) : "");
	l->path = db_text(st, 1) ? db_text(st, 1) : "";
	l->infinite = db_int(st, 2) != 0;
	l->shared = db_int(st, 3) != 0;
	str_copy(l->owner_xml, sizeof(l->owner_xml), db_text(st, 4) ? db_text(st, 4) : "");
	l->account_id = db_int(st, 5);
	l->timeout_s = db_int(st, 6);
	l->expires_us = db_int(st, 7);
}

/* Locks on path or an infinite one on an ancestor ($2 = path); below: path is an ancestor.
 * '' is the root: every other path starts with '' || '/'. */
#define LOCK_ON_SQL \
	"(path = $2 OR (depth_inf = 1 AND substr($2, 1, length(path) + 1) = path || '/'))"
#define LOCK_BELOW_SQL "(substr(path, 1, length($2) + 1) = $2 || '/')"

#define LOCK_PARENT_SQL " OR path = $4) ORDER BY (path = $4 AND depth_inf = 0)"

int files_dav_locks(struct db *db, int64_t tenant_id, const char *path, unsigned scope,
		    files_dav_lock_fn fn, void *ctx)
{
	struct db_stmt *st;
	struct files_dav_lock l;
	const char *slash;
	char *parent = NULL;
	int r;

	if ((scope & FILES_DAV_LOCKS_PARENT) && (!(scope & FILES_DAV_LOCKS_ON) || !*path ||
						  !(slash = strrchr(path, '/'))))
		return -EINVAL;
	if ((scope & FILES_DAV_LOCKS_PARENT) && !(parent = strndup(path, (size_t)(slash - path))))
		return -ENOMEM;
	if (scope == FILES_DAV_LOCKS_ON)
		st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND expires_us > $3"
				  " AND " LOCK_ON_SQL, "iti", tenant_id, path, clock_now_us());
	else if (scope == FILES_DAV_LOCKS_BELOW)
		st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND expires_us > $3"
				  " AND " LOCK_BELOW_SQL, "iti", tenant_id, path, clock_now_us());
	else if (scope == (FILES_DAV_LOCKS_ON | FILES_DAV_LOCKS_PARENT))
		st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND expires_us > $3"
				  " AND (" LOCK_ON_SQL LOCK_PARENT_SQL, "itit", tenant_id, path, clock_now_us(),
			      parent);
	else if (scope == (FILES_DAV_LOCKS_ON | FILES_DAV_LOCKS_BELOW | FILES_DAV_LOCKS_PARENT))
		st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND expires_us > $3"
				  " AND (" LOCK_ON_SQL " OR " LOCK_BELOW_SQL LOCK_PARENT_SQL, "itit", tenant_id,
			      path, clock_now_us(), parent);
	else
		st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND expires_us > $3"
				  " AND (" LOCK_ON_SQL " OR " LOCK_BELOW_SQL ")", "iti", tenant_id, path,
			      clock_now_us());
	while ((r = db_step(st)) > 0) {
		read_lock(st, &l);
		r = fn(ctx, &l);
		if (r < 0)
			break;
	}
	db_done(st);
	free(parent);
	return r < 0 ? r : 0;
}

static void new_token(char out[FILES_DAV_TOKEN_LEN + 1])
{
	unsigned char u[16];
	char hex[33];

	randombytes_buf(u, sizeof(u));
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	hex_encode(u, sizeof(u), hex);
	str_printf(out, FILES_DAV_TOKEN_LEN + 1, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
		   hex + 12, hex + 16, hex + 20);
}

static int lock_audit(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
		      const char *path, json_t *details)
{
	char target[KURA_AUDIT_TARGET_MAX];

	str_printf(target, sizeof(target), "dav:%.500s", *path ? path : "/");
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
						       .category = AUDIT_OPERATION, .action = action,
						       .target = target, .result = AUDIT_SUCCESS,
						       .details = details });
}

int files_dav_lock_create(struct db *db, const struct actor *who, int64_t tenant_id,
			  struct files_dav_lock *l)
{
	int64_t now = clock_now_us(), count = 0, conflicts = 0;
	struct db_stmt *st;
	json_t *d = NULL;
	int r;

	if (!l || !l->path)
		return -EINVAL;
	if (l->timeout_s <= 0 || l->timeout_s > KURA_DAV_LOCK_TIMEOUT_MAX_S)
		l->timeout_s = KURA_DAV_LOCK_TIMEOUT_S;
	r = db_begin(db);
	if (r < 0)
		return r;
	/* no two conflicting locks: the conflict is counted before the insert */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = db_exec(db, "DELETE FROM dav_locks WHERE tenant_id = $1 AND expires_us <= $2", "ii",
			    tenant_id, now);
	if (r < 0)
		goto out;
	/* a conflict: any lock on it or an infinite ancestor, and with Depth infinity any lock
	 * below; shared locks only conflict with exclusive ones */
	if (l->infinite)
		st = db_query(db, "SELECT count(*) FROM dav_locks WHERE tenant_id = $1"
				  " AND (" LOCK_ON_SQL " OR " LOCK_BELOW_SQL ") AND (shared = 0 OR $3 = 0)",
			      "iti", tenant_id, l->path, (int64_t)l->shared);
	else
		st = db_query(db, "SELECT count(*) FROM dav_locks WHERE tenant_id = $1"
				  " AND " LOCK_ON_SQL " AND (shared = 0 OR $3 = 0)",
			      "iti", tenant_id, l->path, (int64_t)l->shared);
	r = db_step(st);
	conflicts = r > 0 ? db_int(st, 0) : 0;
	db_done(st);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT count(*) FROM dav_locks WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	count = r > 0 ? db_int(st, 0) : 0;
	db_done(st);
	if (r < 0)
		goto out;
	r = conflicts ? -EAGAIN : count >= KURA_DAV_LOCKS_PER_TENANT ? -E2BIG : 0;
	if (r < 0)
		goto out;
	new_token(l->token);
	l->account_id = who ? who->account_id : 0;
	l->expires_us = now + l->timeout_s * 1000000;
	r = db_exec(db, "INSERT INTO dav_locks (token, tenant_id, path, depth_inf, shared, owner_xml,"
			" account_id, timeout_s, expires_us, created_us) VALUES ($1, $2, $3, $4, $5, $6,"
			" $7, $8, $9, $10)", "titiitiiii", l->token, tenant_id, l->path,
		    (int64_t)l->infinite, (int64_t)l->shared, l->owner_xml,
		    l->account_id, l->timeout_s, l->expires_us, now);
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:s, s:s, s:I}", "scope", l->shared ? "shared" : "exclusive", "depth",
		      l->infinite ? "infinity" : "0", "token", l->token, "timeout_s", (json_int_t)l->timeout_s);
	r = lock_audit(db, who, tenant_id, "dav.lock", l->path, d);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

/* The unexpired lock token if it applies to path: its holder and, optionally, the row. */
static int lock_applying(struct db *db, int64_t tenant_id, const char *path, const char *token,
			 struct files_dav_lock *ret, char *ret_root, size_t root_size)
{
	struct db_stmt *st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1"
					  " AND token = $4 AND expires_us > $3 AND " LOCK_ON_SQL,
				      "itit", tenant_id, path, clock_now_us(), token);
	int r = db_step(st);

	if (r > 0) {
		read_lock(st, ret);
		if (ret_root)
			str_copy(ret_root, root_size, ret->path);
		ret->path = ret_root;
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int files_dav_lock_refresh(struct db *db, const struct actor *who, int64_t tenant_id,
			   const char *path, const char *token, int64_t timeout_s,
			   struct files_dav_lock *ret, char *ret_root, size_t root_size)
{
	struct files_dav_lock l;
	json_t *d = NULL;
	int r;

	if (timeout_s <= 0 || timeout_s > KURA_DAV_LOCK_TIMEOUT_MAX_S)
		timeout_s = KURA_DAV_LOCK_TIMEOUT_S;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the lock read is the lock changed */
	if (r == 0)
		r = lock_applying(db, tenant_id, path, token, &l, ret_root, root_size);
	if (r == 0 && who && l.account_id != who->account_id)
		r = -EPERM;
	if (r == 0) {
		l.timeout_s = timeout_s;
		l.expires_us = clock_now_us() + timeout_s * 1000000;
		r = db_exec(db, "UPDATE dav_locks SET timeout_s = $3, expires_us = $4 WHERE tenant_id = $1"
				" AND token = $2", "itii", tenant_id, token, timeout_s, l.expires_us);
	}
	if (r == 0) {
		d = json_pack("{s:s, s:I}", "token", token, "timeout_s", (json_int_t)timeout_s);
		r = lock_audit(db, who, tenant_id, "dav.lock.refresh", ret_root ? ret_root : path, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		*ret = l;
	return r;
}

int files_dav_unlock(struct db *db, const struct actor *who, int64_t tenant_id, const char *path,
		     const char *token)
{
	struct files_dav_lock l;
	char root[KURA_MAX_URL_BYTES + 1];
	json_t *d = NULL;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the lock read is the lock removed */
	if (r == 0)
		r = lock_applying(db, tenant_id, path, token, &l, root, sizeof(root));
	if (r == 0 && who && l.account_id != who->account_id)
		r = -EPERM;
	if (r == 0)
		r = db_exec(db, "DELETE FROM dav_locks WHERE tenant_id = $1 AND token = $2", "it",
			    tenant_id, token);
	if (r == 0) {
		d = json_pack("{s:s}", "token", token);
		r = lock_audit(db, who, tenant_id, "dav.unlock", root, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

int files_dav_locks_all(struct db *db, int64_t tenant_id, files_dav_lock_fn fn, void *ctx, bool *ret_more)
{
	struct db_stmt *st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1"
					  " AND expires_us > $2 ORDER BY path, token LIMIT $3", "iii", tenant_id,
				      clock_now_us(), (int64_t)KURA_LOCKS_LIST_MAX + 1);
	struct files_dav_lock l;
	size_t n = 0;
	int r;

	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		if (++n > KURA_LOCKS_LIST_MAX) {
			*ret_more = true;
			break;
		}
		read_lock(st, &l);
		r = fn(ctx, &l);
		if (r < 0)
			break;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

int files_dav_lock_break(struct db *db, const struct actor *who, int64_t tenant_id, const char *token,
			 struct files_dav_lock *ret, char *ret_path, size_t path_size)
{
	struct files_dav_lock l;
	struct db_stmt *st;
	json_t *d = NULL;
	int r;

	if (!token || !*token || strlen(token) > FILES_DAV_TOKEN_LEN)
		return -ENOENT;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the lock read is the lock broken */
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	st = db_query(db, "SELECT " LOCK_COLS " FROM dav_locks WHERE tenant_id = $1 AND token = $2"
			  " AND expires_us > $3", "iti", tenant_id, token, clock_now_us());
	r = db_step(st);
	if (r > 0) {
		read_lock(st, &l);
		str_copy(ret_path, path_size, l.path);
		l.path = ret_path;
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	if (r == 0)
		r = db_exec(db, "DELETE FROM dav_locks WHERE tenant_id = $1 AND token = $2", "it", tenant_id,
			    token);
	if (r == 0) {
		d = json_pack("{s:s, s:I}", "token", token, "holder_account_id", (json_int_t)l.account_id);
		r = lock_audit(db, who, tenant_id, "dav.lock.break", ret_path, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		*ret = l;
	return r;
}

static int refuse_any(void *ctx, const struct files_dav_lock *l)
{
	(void)ctx;
	(void)l;
	return -ENOLCK;
}

int files_dav_locks_refuse(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
			   bool replace)
{
	/* the whole path, however deep: an infinite lock on a short ancestor covers it */
	const size_t size = (KURA_FOLDER_DEPTH_MAX + 2) * (KURA_FILE_NAME_MAX + 1) + 1;
	struct db_stmt *st = db_query(db, "SELECT 1 FROM dav_locks WHERE tenant_id = $1 AND expires_us > $2 LIMIT 1",
				      "ii", tenant_id, clock_now_us());
	char *path;
	size_t len;
	int r = db_step(st);

	db_done(st);
	if (r <= 0)
		return r;   /* no lock in the tenant (0), or the error */
	path = malloc(size);
	if (!path)
		return -ENOMEM;
	r = files_node_path(db, tenant_id, parent_id, path, size - KURA_FILE_NAME_MAX - 2);
	if (r == 0) {
		len = strlen(path);
		r = str_printf(path + len, size - len, "/%s", name);
	}
	if (r == 0)
		r = files_dav_locks(db, tenant_id, path, FILES_DAV_LOCKS_ON | (replace ? 0 : FILES_DAV_LOCKS_PARENT),
				    refuse_any, NULL);
	free(path);
	return r;
}

int files_dav_locks_drop(struct db *db, int64_t tenant_id, const char *path)
{
	return db_exec(db, "DELETE FROM dav_locks WHERE tenant_id = $1 AND (path = $2 OR " LOCK_BELOW_SQL ")",
		       "it", tenant_id, path);
}

int files_locks_drop_node(struct db *db, int64_t tenant_id, int64_t id)
{
	char path[KURA_MAX_URL_BYTES + 2];
	int r = files_node_path(db, tenant_id, id, path, sizeof(path));

	if (r == -ENAMETOOLONG)
		return 0;   /* longer than any URL: no lock can name it */
	return r < 0 ? r : files_dav_locks_drop(db, tenant_id, path);
}
