/*
 * Files metadata: the folder tree, names, moves, trash, labels, quota, and the trash purger.
 *
 * Design: folders and files are rows of one table (file_nodes), so a name is unique per
 * folder across both kinds (a partial unique index over live rows). Deleting moves a node
 * to the trash: the deleted node gets trashed_us (a trash entry) and it and its subtree get
 * in_trash = 1, which takes them out of the tree and of the name index; restoring reverses
 * it for the subtree, skipping nodes that were trash entries of their own. Usage counts the
 * bytes of every file row of the tenant, trash included, and changes only in the
 * transaction that adds or removes those rows; metadata (every file, folder, label and dead
 * property row, KURA_QUOTA_ITEM_BYTES each, plus the bytes of the properties) is charged to
 * the same quota in meta_bytes, so a full quota refuses empty folders and properties too.
 * Names are stored in Unicode NFC (utf8proc): a name sent in NFD (macOS) is the same name,
 * so NFC/NFD twins cannot sit side by side; bidirectional controls are refused.
 *
 * SECURITY: every statement names tenant_id, including the recursive subtree and ancestor
 * walks, so no id of another tenant is ever reached. Names and labels are validated here,
 * whatever the caller. Every change is one transaction with its audit record.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <time.h>

#include <utf8proc.h>

#include "blob/blob.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/log.h"
#include "crypto/filecrypt.h"
#include "files/files_int.h"
#include "files/uploads.h"
#include "store/db.h"
#include "store/lease.h"
#include "tenant/tenant.h"

/* ---- validation ---- */

/* A bidirectional formatting character (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069): they make "evil\u202Etxt.exe" display as "evilexe.txt". */
static bool is_bidi_control(int32_t cp)
{
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

static bool has_bidi_control(const char *s, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t k;
	utf8proc_int32_t cp;

	while (n > 0) {
		k = utf8proc_iterate(p, (utf8proc_ssize_t)n, &cp);
		if (k <= 0 || is_bidi_control(cp))
			return true;
		p += k;
		n -= (size_t)k;
	}
	return false;
}

bool files_is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int files_name_nfc(const char *name, char *out, size_t size)
{
	utf8proc_uint8_t *nfc = NULL;
	size_t i, n;
	int r = -EINVAL;

	if (!name || !out)
		return -EINVAL;
	n = strlen(name);
	/* an NFD name is longer than its NFC form; bound the work before normalising */
	if (n == 0 || n > FILES_NAME_INPUT_MAX || !utf8_is_clean_text(name, n))
		return -EINVAL;
	if (files_is_ascii(name, n)) {
		/* ASCII is its own NFC (UAX #15) and holds no bidirectional control: the same
		 * checks as below without utf8proc's copy (every WebDAV path segment, issue 11) */
		if (n > KURA_FILE_NAME_MAX || n >= size || !strcmp(name, ".") || !strcmp(name, "..") ||
		    strpbrk(name, "/\t"))
			return -EINVAL;
		memmove(out, name, n + 1);   /* out may be name (files_dav.c normalises in place) */
		return 0;
	}
	nfc = utf8proc_NFC((const utf8proc_uint8_t *)name);
	if (!nfc)
		return -EINVAL;
	n = strlen((const char *)nfc);
	if (n == 0 || n > KURA_FILE_NAME_MAX || n >= size || !strcmp((char *)nfc, ".") ||
	    !strcmp((char *)nfc, "..") || !utf8_is_clean_text((char *)nfc, n) ||
	    has_bidi_control((char *)nfc, n))
		goto out;
	for (i = 0; i < n; i++)
		if (nfc[i] == '/' || nfc[i] == '\t')
			goto out;
	memcpy(out, nfc, n + 1);
	r = 0;
out:
	free(nfc);
	return r;
}

bool files_name_valid(const char *name)
{
	char buf[KURA_FILE_NAME_MAX + 1];

	return files_name_nfc(name, buf, sizeof(buf)) == 0;
}

bool files_label_valid(const char *label)
{
	size_t n;

	if (!label)
		return false;
	n = strlen(label);
	if (n == 0 || n > KURA_LABEL_MAX * 4 || strchr(label, '/') || strchr(label, '\t') ||
	    !utf8_is_clean_text(label, n) || has_bidi_control(label, n))
		return false;
	return utf8_length(label, n) <= KURA_LABEL_MAX;
}

bool files_content_type_valid(const char *ct)
{
	size_t i, n;
	const char *slash;

	if (!ct)
		return false;
	n = strlen(ct);
	slash = strchr(ct, '/');
	if (n < 3 || n > KURA_CONTENT_TYPE_MAX || !slash || slash == ct || !slash[1])
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)ct[i] < 0x20 || (unsigned char)ct[i] > 0x7e)
			return false;
	return true;
}

/* ---- rows ---- */

void files_read_node_at(struct db_stmt *st, int c, struct file_node *ret)
{
	const char *s;

	memset(ret, 0, sizeof(*ret));
	ret->id = db_int(st, c);
	ret->parent_id = db_is_null(st, c + 1) ? 0 : db_int(st, c + 1);
	s = db_text(st, c + 2);
	ret->kind = s && !strcmp(s, "file") ? NODE_FILE : NODE_FOLDER;
	str_copy(ret->name, sizeof(ret->name), db_text(st, c + 3) ? db_text(st, c + 3) : "");
	ret->size = db_int(st, c + 4);
	str_copy(ret->content_type, sizeof(ret->content_type), db_text(st, c + 5) ? db_text(st, c + 5) : "");
	str_copy(ret->etag, sizeof(ret->etag), db_text(st, c + 6) ? db_text(st, c + 6) : "");
	str_copy(ret->created_by, sizeof(ret->created_by), db_text(st, c + 7) ? db_text(st, c + 7) : "");
	ret->created_us = db_int(st, c + 8);
	ret->modified_us = db_int(st, c + 9);
	ret->trashed_us = db_is_null(st, c + 10) ? 0 : db_int(st, c + 10);
	str_copy(ret->trashed_by, sizeof(ret->trashed_by), db_text(st, c + 11) ? db_text(st, c + 11) : "");
	ret->in_trash = db_int(st, c + 12) != 0;
}

void files_read_node(struct db_stmt *st, void *row)
{
	files_read_node_at(st, 0, row);
}

int files_get_any(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret)
{
	return db_one(db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes"
			       " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id), files_read_node, ret);
}

int files_get(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret)
{
	return db_one(db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes"
			       " WHERE tenant_id = $1 AND id = $2 AND in_trash = 0", "ii", tenant_id, id),
		      files_read_node, ret);
}

int files_lookup(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
		 struct file_node *ret)
{
	char nfc[KURA_FILE_NAME_MAX + 1];

	if (files_name_nfc(name, nfc, sizeof(nfc)) < 0)
		return -ENOENT;
	return db_one(db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes"
			       " WHERE tenant_id = $1 AND parent_id = $2 AND name = $3"
			       " AND in_trash = 0", "iit", tenant_id, parent_id, nfc), files_read_node, ret);
}

static int root_id(struct db *db, int64_t tenant_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT id FROM file_nodes WHERE tenant_id = $1"
					  " AND parent_id IS NULL", "i", tenant_id);
	int r = db_step(st);

	if (r > 0) {
		*ret = db_int(st, 0);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int files_root(struct db *db, int64_t tenant_id, int64_t *ret_id)
{
	int64_t now = clock_now_us();
	int r = root_id(db, tenant_id, ret_id);

	if (r != -ENOENT)
		return r;
	r = db_exec(db, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, created_by_name,"
			" created_us, modified_us) VALUES ($1, NULL, 'folder', '', 'system', $2, $2)",
		    "ii", tenant_id, now);
	if (r < 0 && r != -EEXIST)  /* -EEXIST: another request made it first */
		return r;
	return root_id(db, tenant_id, ret_id);
}

int files_root_node(struct db *db, int64_t tenant_id, struct file_node *ret)
{
	int64_t id;
	int r = db_one(db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1"
				    " AND parent_id IS NULL", "i", tenant_id),
		       files_read_node, ret);

	if (r == 0)
		return ret->in_trash ? -ENOENT : 0;   /* as files_get would answer */
	if (r != -ENOENT)
		return r;
	r = files_root(db, tenant_id, &id);   /* none yet: made, then read */
	return r < 0 ? r : files_get(db, tenant_id, id, ret);
}

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!us)
		return json_null();
	clock_format_utc(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *node_labels(struct db *db, int64_t tenant_id, int64_t id)
{
	json_t *arr = json_array();
	struct db_stmt *st = db_query(db, "SELECT label FROM file_labels WHERE tenant_id = $1"
					  " AND node_id = $2 ORDER BY label", "ii", tenant_id, id);

	while (arr && db_step(st) > 0)
		json_array_append_new(arr, json_string(db_text(st, 0)));
	db_done(st);
	return arr;
}

json_t *files_node_json(struct db *db, int64_t tenant_id, const struct file_node *n)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "id", (json_int_t)n->id,
			      "kind", n->kind == NODE_FILE ? "file" : "folder", "name", n->name,
			      "parent_id", n->parent_id ? json_integer(n->parent_id) : json_null(),
			      "created_at", time_json(n->created_us), "modified_at",
			      time_json(n->modified_us), "created_by", n->created_by, "labels",
			      node_labels(db, tenant_id, n->id));

	if (!o)
		return NULL;
	if (n->kind == NODE_FILE) {
		json_object_set_new(o, "size", json_integer(n->size));
		json_object_set_new(o, "content_type", json_string(n->content_type));
		json_object_set_new(o, "etag", json_string(n->etag));
	}
	if (n->trashed_us) {
		json_object_set_new(o, "trashed_at", time_json(n->trashed_us));
		json_object_set_new(o, "trashed_by", json_string(n->trashed_by));
	}
	return o;
}

/* ---- audit and usage ---- */

int files_audit(struct db *db, const struct actor *who, int64_t tenant_id,
		enum audit_category cat, const char *action, int64_t id, enum audit_result res,
		json_t *details)
{
	char target[48];

	str_printf(target, sizeof(target), "node:%lld", (long long)id);
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
						       .category = cat, .action = action,
						       .target = target, .result = res,
						       .details = details });
}

int files_quota_row(struct db *db, int64_t tenant_id)
{
	return db_exec(db, "INSERT INTO file_quotas (tenant_id, quota_bytes, used_bytes, meta_bytes)"
			   " VALUES ($1, $2, 0, 0) ON CONFLICT (tenant_id) DO NOTHING", "ii", tenant_id,
		       (int64_t)KURA_QUOTA_DEFAULT_BYTES);
}

int files_charge(struct db *db, int64_t tenant_id, int64_t content_delta, int64_t meta_delta)
{
	int64_t quota = 0, content = 0, meta = 0;
	struct db_stmt *st;
	/* the quota check reads usage and then moves it (store/db.h "Write serialisation") */
	int r = db_lock_tenant(db, tenant_id);

	if (r < 0)
		return r;
	/* the usual case in one statement: the row is there, the change fits the quota and
	 * takes no part below zero; otherwise nothing changed and the row is read below for
	 * the exact answer (-EDQUOT, a clamp, a row to make) */
	st = db_query(db, "UPDATE file_quotas SET used_bytes = used_bytes + $2, meta_bytes = meta_bytes + $3"
			  " WHERE tenant_id = $1 AND used_bytes + $2 >= 0 AND meta_bytes + $3 >= 0"
			  " AND ($2 + $3 <= 0 OR used_bytes + meta_bytes + $2 + $3 <= quota_bytes)"
			  " RETURNING tenant_id",
		      "iii", tenant_id, content_delta, meta_delta);
	r = db_step(st);
	db_done(st);
	if (r != 0)
		return r < 0 ? r : 0;
	/* the row, made first when the tenant has none yet (one statement less per upload than
	 * an INSERT … DO NOTHING before every read) */
	st = db_query(db, "SELECT quota_bytes, used_bytes, meta_bytes FROM file_quotas WHERE tenant_id = $1", "i",
		      tenant_id);
	r = db_step(st);
	if (r > 0) {
		quota = db_int(st, 0);
		content = db_int(st, 1);
		meta = db_int(st, 2);
	}
	db_done(st);
	if (r == 0) {
		r = files_quota_row(db, tenant_id);
		if (r == 0)
			r = files_quota_parts(db, tenant_id, &quota, &content, &meta);
	}
	if (r < 0)
		return r;
	if (content_delta + meta_delta > 0 && content + meta + content_delta + meta_delta > quota)
		return -EDQUOT;
	if (content + content_delta < 0 || meta + meta_delta < 0) {
		log_error("files.usage", "tenant %lld usage would go below zero; clamped",
			  (long long)tenant_id);
		if (content + content_delta < 0)
			content_delta = -content;
		if (meta + meta_delta < 0)
			meta_delta = -meta;
	}
	return db_exec(db, "UPDATE file_quotas SET used_bytes = used_bytes + $2, meta_bytes = meta_bytes + $3"
			   " WHERE tenant_id = $1", "iii", tenant_id, content_delta, meta_delta);
}

int files_props_cost(struct db_stmt *st, int64_t *ret)
{
	int64_t sum = 0;
	int r;

	/* text reaches the db layer NUL-terminated and is bound by strlen: no NUL inside */
	while ((r = db_step(st)) > 0) {
		sum += KURA_QUOTA_ITEM_BYTES;
		for (int col = 0; col < 3; col++)
			sum += (int64_t)strlen(db_text(st, col) ? db_text(st, col) : "");
	}
	db_done(st);
	if (r < 0)
		return r;
	*ret = sum;
	return 0;
}

/* The quota row's parts and its tree generation; a tenant without the row yet has stored
 * nothing and has no generation (0). */
static int quota_row(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_content,
		     int64_t *ret_meta, int64_t *ret_gen)
{
	struct db_stmt *st = db_query(db, "SELECT quota_bytes, used_bytes, meta_bytes, tree_gen FROM file_quotas"
					  " WHERE tenant_id = $1", "i", tenant_id);
	int r = db_step(st);

	if (r > 0) {
		*ret_quota = db_int(st, 0);
		*ret_content = db_int(st, 1);
		*ret_meta = db_int(st, 2);
		*ret_gen = db_int(st, 3);
		r = 0;
	} else if (r == 0) {
		*ret_quota = KURA_QUOTA_DEFAULT_BYTES;
		*ret_content = 0;
		*ret_meta = 0;
		*ret_gen = 0;
	}
	db_done(st);
	return r;
}

int files_quota_parts(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_content,
		      int64_t *ret_meta)
{
	int64_t gen;

	return quota_row(db, tenant_id, ret_quota, ret_content, ret_meta, &gen);
}

int files_quota(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_used)
{
	int64_t gen;

	return files_quota_gen(db, tenant_id, ret_quota, ret_used, &gen);
}

int files_quota_gen(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_used, int64_t *ret_gen)
{
	int64_t content = 0, meta = 0;
	int r = quota_row(db, tenant_id, ret_quota, &content, &meta, ret_gen);

	if (r == 0)
		*ret_used = content + meta;
	return r;
}

int files_quota_set(struct db *db, const struct actor *who, int64_t tenant_id, int64_t quota_bytes)
{
	json_t *d = NULL;
	int r;

	if (quota_bytes < 0)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = files_quota_row(db, tenant_id);
	if (r == 0)
		r = db_exec(db, "UPDATE file_quotas SET quota_bytes = $2 WHERE tenant_id = $1", "ii",
			    tenant_id, quota_bytes);
	if (r == 0) {
		d = json_pack("{s:I}", "quota_bytes", (json_int_t)quota_bytes);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_OPERATOR,
							    .action = "files.quota.set",
							    .target = "quota", .result = AUDIT_SUCCESS,
							    .details = d });
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

/* ---- tree ---- */

/* Depth of a folder (root = 0) and whether `needle` is among its ancestors (itself included). */
int files_ancestry(struct db *db, int64_t tenant_id, int64_t folder_id, int64_t needle,
		   int64_t *ret_depth, bool *ret_found)
{
	struct db_stmt *st = db_query(
		db,
		"WITH RECURSIVE anc(id, parent_id, depth) AS ("
		" SELECT id, parent_id, 0 FROM file_nodes WHERE tenant_id = $1 AND id = $2"
		" UNION ALL SELECT n.id, n.parent_id, anc.depth + 1 FROM file_nodes n"
		" JOIN anc ON n.id = anc.parent_id WHERE n.tenant_id = $1 AND anc.depth < 1000)"
		" SELECT max(depth), sum(CASE WHEN id = $3 THEN 1 ELSE 0 END) FROM anc",
		"iii", tenant_id, folder_id, needle);
	int r = db_step(st);

	if (r > 0) {
		*ret_depth = db_int(st, 0);
		*ret_found = db_int(st, 1) > 0;
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int files_subtree_height(struct db *db, int64_t tenant_id, int64_t id, int64_t *ret_height)
{
	struct db_stmt *st = db_query(
		db,
		/* trashed descendants count: a restore brings them back below it */
		"WITH RECURSIVE sub(id, h) AS (SELECT $2, 0 UNION ALL SELECT n.id, sub.h + 1"
		" FROM file_nodes n JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1"
		" AND sub.h < $3)"
		" SELECT max(h) FROM sub", "iii", tenant_id, id, (int64_t)KURA_FOLDER_DEPTH_MAX + 1);
	int r = db_step(st);

	if (r > 0) {
		*ret_height = db_int(st, 0);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int files_node_path(struct db *db, int64_t tenant_id, int64_t id, char *buf, size_t size)
{
	struct db_stmt *st = db_query(
		db,
		"WITH RECURSIVE anc(id, parent_id, name, depth) AS ("
		" SELECT id, parent_id, name, 0 FROM file_nodes WHERE tenant_id = $1 AND id = $2"
		" UNION ALL SELECT n.id, n.parent_id, n.name, anc.depth + 1 FROM file_nodes n"
		" JOIN anc ON n.id = anc.parent_id WHERE n.tenant_id = $1 AND anc.depth < 1000)"
		" SELECT name, CASE WHEN parent_id IS NULL THEN 1 ELSE 0 END FROM anc ORDER BY depth DESC",
		"ii", tenant_id, id);
	size_t len = 0;
	bool any = false;
	int r;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	while ((r = db_step(st)) > 0) {
		const char *name = db_text(st, 0);
		size_t n = name ? strlen(name) : 0;

		any = true;
		if (db_int(st, 1))
			continue;   /* the root: "" */
		if (len + 1 + n >= size) {
			r = -ENAMETOOLONG;
			break;
		}
		buf[len++] = '/';
		memcpy(buf + len, name, n);
		len += n;
		buf[len] = '\0';
	}
	db_done(st);
	if (r == 0 && !any)
		r = -ENOENT;
	return r;
}

/* ---- free-space reserve ---- */

static struct {
	pthread_mutex_t lock;
	char dir[PATH_MAX];
	uint64_t min_bytes;
	uint32_t percent;
	bool set, warned;
} reserve = { .lock = PTHREAD_MUTEX_INITIALIZER };

int files_set_reserve(const char *dir, uint32_t reserve_mib, uint32_t reserve_percent)
{
	struct statvfs sv;

	if (!dir || reserve_percent > 100)
		return -EINVAL;
	if (statvfs(dir, &sv) < 0)
		return -errno;
	pthread_mutex_lock(&reserve.lock);
	str_copy(reserve.dir, sizeof(reserve.dir), dir);
	reserve.min_bytes = (uint64_t)reserve_mib * 1024 * 1024;
	reserve.percent = reserve_percent;
	reserve.set = true;
	pthread_mutex_unlock(&reserve.lock);
	return 0;
}

int files_space_check(int64_t need)
{
	struct statvfs sv;
	uint64_t keep, avail, total;
	uint32_t pct;
	char dir[PATH_MAX];
	int r;

	pthread_mutex_lock(&reserve.lock);
	if (!reserve.set) {
		pthread_mutex_unlock(&reserve.lock);
		return 0;
	}
	str_copy(dir, sizeof(dir), reserve.dir);
	keep = reserve.min_bytes;
	pct = reserve.percent;
	pthread_mutex_unlock(&reserve.lock);
	if (statvfs(dir, &sv) < 0) {
		r = -errno;
		pthread_mutex_lock(&reserve.lock);
		if (!reserve.warned)
			log_warn("files.space", "statvfs of %s failed: %s; free space is not checked", dir,
				 strerror(-r));
		reserve.warned = true;
		pthread_mutex_unlock(&reserve.lock);
		return 0;
	}
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;   /* what an unprivileged writer may still use */
	if (total / 100 * pct > keep)
		keep = total / 100 * pct;
	if (need < 0)
		need = 0;
	if (avail < keep || avail - keep < (uint64_t)need)
		return -ENOSPC;
	return 0;
}

/* The live folder parent_id, checked for kind and depth (for a new child). */
static int check_parent(struct db *db, int64_t tenant_id, int64_t parent_id)
{
	struct file_node p;
	int64_t depth = 0;
	bool found = false;
	int r = files_get(db, tenant_id, parent_id, &p);

	if (r < 0)
		return r;
	if (p.kind != NODE_FOLDER)
		return -ENOTDIR;
	r = files_ancestry(db, tenant_id, parent_id, 0, &depth, &found);
	if (r == 0 && depth + 1 > KURA_FOLDER_DEPTH_MAX)
		r = -E2BIG;
	return r;
}

int files_list(struct db *db, int64_t tenant_id, int64_t folder_id, const char *label,
	       const char *after, size_t limit, json_t **ret_items, bool *ret_more)
{
	struct file_node parent, n;
	struct db_stmt *st;
	json_t *items;
	size_t count = 0;
	int r;

	r = files_get(db, tenant_id, folder_id, &parent);
	if (r < 0)
		return r;
	if (parent.kind != NODE_FOLDER)
		return -ENOTDIR;
	if (label && !files_label_valid(label))
		return -EINVAL;
	if (limit == 0 || limit > KURA_PAGE_MAX)
		limit = KURA_PAGE_MAX;
	items = json_array();
	if (!items)
		return -ENOMEM;
	if (label)
		st = db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1"
				  " AND parent_id = $2 AND in_trash = 0 AND name > $3 AND id IN"
				  " (SELECT node_id FROM file_labels WHERE tenant_id = $1 AND label = $4)"
				  " ORDER BY name LIMIT $5", "iitti", tenant_id, folder_id,
			      after ? after : "", label, (int64_t)limit + 1);
	else
		st = db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1"
				  " AND parent_id = $2 AND in_trash = 0 AND name > $3"
				  " ORDER BY name LIMIT $4", "iiti", tenant_id, folder_id,
			      after ? after : "", (int64_t)limit + 1);
	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		if (count == limit) {
			*ret_more = true;
			break;
		}
		files_read_node(st, &n);
		json_array_append_new(items, files_node_json(db, tenant_id, &n));
		count++;
	}
	db_done(st);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	*ret_items = items;
	return 0;
}

/* The sorted listings: [sort][desc][label]; $1 tenant, $2 folder, $3 key (name, size or
 * modified_us), $4 id, $5 limit, $6 label. A row-value comparison is the keyset (SQLite 3.15+,
 * PostgreSQL), read off the folder's index in its order. */
#define LIST_SQL(col, cmp, dir, lab) \
	"SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1 AND parent_id = $2" \
	" AND in_trash = 0 AND (" col ", id) " cmp " ($3, $4)" lab \
	" ORDER BY " col " " dir ", id " dir " LIMIT $5"
#define LIST_LABEL " AND id IN (SELECT node_id FROM file_labels WHERE tenant_id = $1 AND label = $6)"
const char *const files_list_sql[3][2][2] = {
	{ { LIST_SQL("name", ">", "ASC", ""), LIST_SQL("name", ">", "ASC", LIST_LABEL) },
	  { LIST_SQL("name", "<", "DESC", ""), LIST_SQL("name", "<", "DESC", LIST_LABEL) } },
	{ { LIST_SQL("size", ">", "ASC", ""), LIST_SQL("size", ">", "ASC", LIST_LABEL) },
	  { LIST_SQL("size", "<", "DESC", ""), LIST_SQL("size", "<", "DESC", LIST_LABEL) } },
	{ { LIST_SQL("modified_us", ">", "ASC", ""), LIST_SQL("modified_us", ">", "ASC", LIST_LABEL) },
	  { LIST_SQL("modified_us", "<", "DESC", ""), LIST_SQL("modified_us", "<", "DESC", LIST_LABEL) } },
};

int files_list_sorted(struct db *db, int64_t tenant_id, int64_t folder_id, const char *label,
		      enum files_sort sort, bool desc, const struct files_cursor *after, size_t limit,
		      json_t **ret_items, bool *ret_more, struct files_cursor *ret_next)
{
	struct files_cursor next = { 0 };
	struct file_node parent, n;
	const char *sql;
	struct db_stmt *st;
	json_t *items;
	size_t count = 0;
	bool more = false;
	int r;

	if (!db || !ret_items || !ret_more || !ret_next || (unsigned)sort > FILES_SORT_MODIFIED)
		return -EINVAL;
	r = files_get(db, tenant_id, folder_id, &parent);
	if (r < 0)
		return r;
	if (parent.kind != NODE_FOLDER)
		return -ENOTDIR;
	if (label && !files_label_valid(label))
		return -EINVAL;
	if (limit == 0 || limit > KURA_PAGE_MAX)
		limit = KURA_PAGE_MAX;
	items = json_array();
	if (!items)
		return -ENOMEM;
	sql = files_list_sql[sort][desc][label != NULL];
	/* no cursor: before the first entry of the order */
	if (sort == FILES_SORT_NAME)
		st = db_query(db, sql, label ? "iitiit" : "iitii", tenant_id, folder_id,
			      after && after->set ? after->name : (desc ? "\xf4\x8f\xbf\xbf" : ""),
			      after && after->set ? after->id : (desc ? INT64_MAX : 0), (int64_t)limit + 1, label);
	else
		st = db_query(db, sql, label ? "iiiiit" : "iiiii", tenant_id, folder_id,
			      after && after->set ? after->key : (desc ? INT64_MAX : INT64_MIN),
			      after && after->set ? after->id : (desc ? INT64_MAX : 0), (int64_t)limit + 1, label);
	while ((r = db_step(st)) > 0) {
		if (count == limit) {
			more = true;
			break;
		}
		files_read_node(st, &n);
		json_array_append_new(items, files_node_json(db, tenant_id, &n));
		next.set = true;
		next.id = n.id;
		str_copy(next.name, sizeof(next.name), n.name);
		next.key = sort == FILES_SORT_SIZE ? n.size : n.modified_us;
		count++;
	}
	db_done(st);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	*ret_items = items;
	*ret_more = more;
	*ret_next = next;
	return 0;
}

int files_mkdir(struct db *db, const struct actor *who, int64_t tenant_id, int64_t parent_id,
		const char *name, struct file_node *ret)
{
	int64_t now = clock_now_us(), id = 0;
	char nfc[KURA_FILE_NAME_MAX + 1];
	json_t *d = NULL;
	int r;

	if (files_name_nfc(name, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	name = nfc;
	r = files_space_check(0);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the tree: the parent stays a live folder */
	if (r == 0)
		r = check_parent(db, tenant_id, parent_id);
	if (r == 0)
		r = db_insert(db, &id, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, created_by,"
				      " created_by_name, created_us, modified_us)"
				      " VALUES ($1, $2, 'folder', $3, $4, $5, $6, $6) RETURNING id", "iitIti",
			      tenant_id, parent_id, name, who ? who->account_id : 0,
			      who && who->name ? who->name : "", now);
	if (r == 0)
		r = files_name_index(db, id, name);
	if (r == 0)
		r = files_charge(db, tenant_id, 0, KURA_QUOTA_ITEM_BYTES);
	if (r == 0) {
		d = json_pack("{s:s, s:I}", "name", name, "parent_id", (json_int_t)parent_id);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION, "folder.create", id,
				AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		r = files_get(db, tenant_id, id, ret);
	return r;
}

int files_move(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
	       int64_t new_parent, const char *new_name, struct file_node *ret)
{
	struct file_node n;
	int64_t depth = 0, height = 0;
	char nfc[KURA_FILE_NAME_MAX + 1];
	bool loop = false;
	json_t *d = NULL;
	int r;

	if (new_name && files_name_nfc(new_name, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	if (new_name)
		new_name = nfc;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the tree: no cycle, within the depth limit */
	if (r == 0)
		r = files_get(db, tenant_id, id, &n);
	if (r == 0 && n.parent_id == 0)
		r = -EPERM;   /* the root stays where it is */
	if (r < 0)
		goto out;
	if (!new_parent)
		new_parent = n.parent_id;
	if (!new_name)
		new_name = n.name;
	if (new_parent != n.parent_id) {
		r = check_parent(db, tenant_id, new_parent);
		if (r == 0)
			r = files_ancestry(db, tenant_id, new_parent, id, &depth, &loop);
		if (r == 0 && loop && n.kind == NODE_FOLDER)
			r = -ELOOP;
		/* the deepest item below it must stay within the nesting limit too */
		if (r == 0 && n.kind == NODE_FOLDER)
			r = files_subtree_height(db, tenant_id, id, &height);
		if (r == 0 && depth + 1 + height > KURA_FOLDER_DEPTH_MAX)
			r = -E2BIG;
		if (r < 0)
			goto out;
	}
	/* WebDAV locks are on paths: the old path and what was below it are gone (RFC 4918 9.9.4) */
	if (new_parent != n.parent_id || strcmp(new_name, n.name)) {
		r = files_locks_drop_node(db, tenant_id, id);
		if (r < 0)
			goto out;
	}
	r = db_exec(db, "UPDATE file_nodes SET parent_id = $3, name = $4, modified_us = $5"
			" WHERE tenant_id = $1 AND id = $2", "iiiti", tenant_id, id, new_parent,
		    new_name, clock_now_us());
	if (r == 0)
		r = files_name_index(db, id, new_name);
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:s, s:I, s:I}", "from_name", n.name, "to_name", new_name,
		      "from_parent_id", (json_int_t)n.parent_id, "to_parent_id", (json_int_t)new_parent);
	r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
			n.kind == NODE_FILE ? "file.move" : "folder.move", id, AUDIT_SUCCESS, d);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		r = files_get(db, tenant_id, id, ret);
	return r;
}

/* ---- trash ---- */

int files_trash(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	struct file_node n;
	int64_t now = clock_now_us();
	json_t *d = NULL;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the tree: the whole subtree goes */
	if (r == 0)
		r = files_get(db, tenant_id, id, &n);
	if (r == 0 && n.parent_id == 0)
		r = -EPERM;
	/* the locks on it and below end with it, whichever interface deleted it */
	if (r == 0)
		r = files_locks_drop_node(db, tenant_id, id);
	if (r == 0)
		r = db_exec(db,
			    "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
			    " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1 AND n.in_trash = 0)"
			    " UPDATE file_nodes SET in_trash = 1 WHERE tenant_id = $1"
			    " AND id IN (SELECT id FROM sub)", "ii", tenant_id, id);
	if (r == 0)
		r = db_exec(db, "UPDATE file_nodes SET trashed_us = $3, trashed_by_name = $4"
				" WHERE tenant_id = $1 AND id = $2", "iiit", tenant_id, id, now,
			    who && who->name ? who->name : "");
	if (r == 0) {
		d = json_pack("{s:s, s:s}", "name", n.name, "kind", n.kind == NODE_FILE ? "file" : "folder");
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
				n.kind == NODE_FILE ? "file.trash" : "folder.trash", id, AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

int files_restore(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		  struct file_node *ret)
{
	struct file_node n, p;
	int64_t parent = 0;
	json_t *d = NULL;
	bool to_top = false;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the tree: back under a live folder */
	if (r == 0)
		r = files_get_any(db, tenant_id, id, &n);
	if (r == 0 && !n.trashed_us)
		r = -ENOENT;   /* not a trash entry (live, or inside a trashed folder) */
	if (r < 0)
		goto out;
	parent = n.parent_id;
	if (files_get(db, tenant_id, parent, &p) < 0 || p.kind != NODE_FOLDER) {
		r = root_id(db, tenant_id, &parent);
		if (r < 0)
			goto out;
	}
	/* the nesting limit holds on the way back too: the old place may have moved deeper
	 * meanwhile; then the entry comes back at the top of the tree (nothing is stuck in the
	 * trash), and says so in the audit record */
	{
		int64_t depth = 0, height = 0, top = 0;
		bool loop = false;

		r = files_ancestry(db, tenant_id, parent, 0, &depth, &loop);
		if (r == 0 && n.kind == NODE_FOLDER)
			r = files_subtree_height(db, tenant_id, id, &height);
		if (r == 0 && depth + 1 + height > KURA_FOLDER_DEPTH_MAX) {
			r = root_id(db, tenant_id, &top);
			if (r == 0 && 1 + height > KURA_FOLDER_DEPTH_MAX)
				r = -E2BIG;
			if (r == 0 && top != parent)
				to_top = true;
			parent = top;
		}
		if (r < 0)
			goto out;
	}
	r = db_exec(db,
		    "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
		    " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1 AND n.trashed_us IS NULL)"
		    " UPDATE file_nodes SET in_trash = 0 WHERE tenant_id = $1"
		    " AND id IN (SELECT id FROM sub)", "ii", tenant_id, id);
	if (r == 0)
		r = db_exec(db, "UPDATE file_nodes SET trashed_us = NULL, trashed_by_name = NULL,"
				" parent_id = $3 WHERE tenant_id = $1 AND id = $2", "iii", tenant_id, id,
			    parent);
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:I}", "name", n.name, "parent_id", (json_int_t)parent);
	if (d && to_top)
		json_object_set_new(d, "moved_to_top", json_string("its folder is now nested too deep"));
	r = files_audit(db, who, tenant_id, AUDIT_OPERATION,
			n.kind == NODE_FILE ? "file.restore" : "folder.restore", id, AUDIT_SUCCESS, d);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		r = files_get(db, tenant_id, id, ret);
	return r;
}

int files_trash_list(struct db *db, int64_t tenant_id, json_t **ret_items)
{
	struct db_stmt *st = db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes"
					  " WHERE tenant_id = $1 AND trashed_us IS NOT NULL"
					  " ORDER BY trashed_us DESC LIMIT $2", "ii", tenant_id,
				      (int64_t)KURA_PAGE_MAX);
	json_t *items = json_array();
	struct file_node n;
	int r;

	if (!items) {
		db_done(st);
		return -ENOMEM;
	}
	while ((r = db_step(st)) > 0) {
		json_t *o;

		files_read_node(st, &n);
		o = files_node_json(db, tenant_id, &n);
		if (o)
			json_object_set_new(o, "purge_after", time_json(n.trashed_us +
									(int64_t)KURA_TRASH_RETENTION_S * 1000000));
		json_array_append_new(items, o);
	}
	db_done(st);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	*ret_items = items;
	return 0;
}

struct doomed {
	char id[BLOB_ID_LEN + 1];
};

/* Deletes trash entry id and its subtree in the caller's transaction; the blob ids to delete
 * after commit go to *ret_blobs (malloc'd), their count to *ret_n. */
static int purge_rows(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		      struct doomed **ret_blobs, size_t *ret_n)
{
	struct dbuf list;   /* of struct doomed */
	size_t n = 0;
	int64_t bytes = 0, count = 0, meta = 0;
	struct file_node node;
	struct db_stmt *st;
	json_t *d = NULL;
	int r;

	dbuf_init(&list, (size_t)KURA_TREE_LIST_MAX * sizeof(struct doomed));
	r = db_lock_tenant(db, tenant_id);   /* the tree and the usage it gives back */
	if (r == 0)
		r = files_get_any(db, tenant_id, id, &node);
	if (r == 0 && !node.trashed_us)
		r = -ENOENT;
	if (r < 0)
		return r;
	st = db_query(db,
		      "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
		      " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1)"
		      " SELECT CASE WHEN inline_data IS NULL THEN blob_id END, size FROM file_nodes"
		      " WHERE tenant_id = $1 AND id IN (SELECT id FROM sub)", "ii", tenant_id, id);
	while ((r = db_step(st)) > 0) {
		const char *b = db_text(st, 0);

		count++;
		bytes += db_int(st, 1);
		if (!b || !blob_id_valid(b))
			continue;   /* a folder, or a file kept inline: the row was its content */
		{
			struct doomed dm;

			str_copy(dm.id, sizeof(dm.id), b);
			r = dbuf_add(&list, &dm, sizeof(dm));
			if (r < 0)
				break;
			n++;
		}
	}
	db_done(st);
	if (r == 0) {
		/* what its labels and dead properties cost, before they go with the rows */
		int64_t props = 0;

		st = db_query(db,
			      "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
			      " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1)"
			      " SELECT count(*) FROM file_labels WHERE tenant_id = $1"
			      " AND node_id IN (SELECT id FROM sub)", "ii", tenant_id, id);
		r = db_step(st);
		if (r > 0)
			meta = (count + db_int(st, 0)) * KURA_QUOTA_ITEM_BYTES;
		r = r < 0 ? r : 0;
		db_done(st);
		if (r == 0)
			r = files_props_cost(db_query(db,
				"WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
				" JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1)"
				" SELECT ns, name, xml FROM dav_props WHERE tenant_id = $1"
				" AND node_id IN (SELECT id FROM sub)", "ii", tenant_id, id), &props);
		meta += props;
	}
	if (r == 0)
		r = db_name_unindex_subtree(db, tenant_id, id);
	if (r == 0)
		r = db_exec(db,
			    "WITH RECURSIVE sub(id) AS (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n"
			    " JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1)"
			    " DELETE FROM file_nodes WHERE tenant_id = $1 AND id IN (SELECT id FROM sub)",
			    "ii", tenant_id, id);
	if (r == 0)
		r = files_charge(db, tenant_id, -bytes, -meta);
	if (r == 0) {
		d = json_pack("{s:s, s:I, s:I}", "name", node.name, "items", (json_int_t)count, "bytes",
			      (json_int_t)bytes);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION, "trash.purge", id, AUDIT_SUCCESS, d);
		json_decref(d);
	}
	if (r < 0) {
		dbuf_free(&list);
		return r;
	}
	*ret_blobs = n ? (struct doomed *)(void *)dbuf_take(&list, NULL) : NULL;   /* malloc: aligned */
	*ret_n = *ret_blobs ? n : 0;
	dbuf_free(&list);
	return n && !*ret_blobs ? -ENOMEM : 0;
}

static void delete_blobs(struct files *f, int64_t tenant_id, struct doomed *blobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int r = blob_delete(f->bs, tenant_id, blobs[i].id);

		if (r < 0 && r != -ENOENT)
			log_warn("files.purge", "blob %s of tenant %lld not deleted: %s (unreferenced now)",
				 blobs[i].id, (long long)tenant_id, strerror(-r));
	}
	free(blobs);
}

int files_purge(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	struct doomed *blobs = NULL;
	size_t n = 0;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = purge_rows(db, who, tenant_id, id, &blobs, &n);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		free(blobs);
		return r;
	}
	delete_blobs(f, tenant_id, blobs, n);
	return 0;
}

int files_purge_expired(struct files *f, struct db *db, int64_t cutoff_us, int64_t *ret_n)
{
	int64_t total = 0;
	int r = 0;

	for (;;) {
		struct db_stmt *st = db_query(db, "SELECT tenant_id, id FROM file_nodes"
						  " WHERE trashed_us IS NOT NULL AND trashed_us < $1"
						  " ORDER BY trashed_us LIMIT 1", "i", cutoff_us);
		int64_t tenant_id, id;
		struct doomed *blobs = NULL;
		size_t n = 0;

		r = db_step(st);
		if (r <= 0) {
			db_done(st);
			break;
		}
		tenant_id = db_int(st, 0);
		id = db_int(st, 1);
		db_done(st);
		r = db_begin(db);
		if (r < 0)
			break;
		r = purge_rows(db, &actor_system, tenant_id, id, &blobs, &n);
		if (r == 0)
			r = db_commit(db);
		if (r < 0) {
			db_rollback(db);
			free(blobs);
			break;
		}
		delete_blobs(f, tenant_id, blobs, n);
		total++;
	}
	if (ret_n)
		*ret_n = total;
	return r;
}

/* Only text with a byte outside printable ASCII can change under NFC. (Tested in C: the
 * GLOB that did it in SQL is SQLite's.) */
static bool nfc_may_change(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return true;
	return false;
}

int files_normalize_legacy(struct db *db, int64_t *ret_n)
{
	struct db_stmt *st;
	int64_t n = 0;
	int r, pending;

	st = db_query(db, "SELECT 1 FROM files_pending WHERE task = 'nfc-names'", "");
	pending = db_step(st);
	db_done(st);
	if (pending <= 0)
		return pending;
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT tenant_id, id, name FROM file_nodes WHERE parent_id IS NOT NULL", "");
	while (r == 0 && db_step(st) > 0) {
		const char *name = db_text(st, 2);
		utf8proc_uint8_t *nfc = nfc_may_change(name) ? utf8proc_NFC((const utf8proc_uint8_t *)name) : NULL;

		if (nfc && strcmp((const char *)nfc, name)) {
			int k = db_exec(db, "UPDATE file_nodes SET name = $3 WHERE tenant_id = $1 AND id = $2",
					"iit", db_int(st, 0), db_int(st, 1), (const char *)nfc);

			if (k == 0)
				k = files_name_index(db, db_int(st, 1), (const char *)nfc);
			if (k == -EEXIST)
				log_warn("files.nfc", "tenant %lld node %lld keeps its NFD name: the NFC form is"
					 " taken in its folder", (long long)db_int(st, 0), (long long)db_int(st, 1));
			else if (k < 0)
				r = k;
			else
				n++;
		}
		free(nfc);
	}
	db_done(st);
	st = r == 0 ? db_query(db, "SELECT token, path FROM dav_locks", "") : NULL;
	while (r == 0 && db_step(st) > 0) {
		const char *path = db_text(st, 1);
		utf8proc_uint8_t *nfc = nfc_may_change(path) ? utf8proc_NFC((const utf8proc_uint8_t *)path) : NULL;

		if (nfc && strcmp((const char *)nfc, path))
			r = db_exec(db, "UPDATE dav_locks SET path = $2 WHERE token = $1", "tt", db_text(st, 0),
				    (const char *)nfc);
		free(nfc);
	}
	db_done(st);
	if (r == 0)
		r = db_exec(db, "DELETE FROM files_pending WHERE task = 'nfc-names'", "");
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	if (n)
		log_info("files.nfc", "%lld stored name(s) rewritten in Unicode NFC", (long long)n);
	if (ret_n)
		*ret_n = n;
	return 0;
}

struct orphan_sweep {
	struct files *f;
	struct db *db;
	int64_t before_us, n, last_tenant;
	bool tenant_known;
};

static int orphan_cb(void *ctx, int64_t tenant_id, const char *id, int64_t mtime_us)
{
	struct orphan_sweep *o = ctx;
	struct db_stmt *st;
	struct tenant t;
	int r;

	if (mtime_us >= o->before_us)
		return 0;   /* written since this process started: not ours to judge */
	if (tenant_id != o->last_tenant) {
		o->last_tenant = tenant_id;
		r = tenant_get(o->db, tenant_id, &t);
		if (r < 0 && r != -ENOENT)
			return r;
		o->tenant_known = r == 0;
		if (!o->tenant_known)
			log_warn("files.sweep", "blob directory of unknown tenant %lld left alone",
				 (long long)tenant_id);
	}
	if (!o->tenant_known)
		return 0;
	/* referenced by a file whose content is a blob (an inline file's blob_id names no blob:
	 * files_content.c), or by a report's sealed attachment (reports/reports.c) */
	st = db_query(o->db, FILES_BLOB_REFERENCED_SQL, "it", tenant_id, id);
	r = db_step(st);
	db_done(st);
	if (r != 0)
		return r < 0 ? r : 0;   /* referenced (or the query failed: stop, delete nothing more) */
	r = blob_delete(o->f->bs, tenant_id, id);
	if (r < 0 && r != -ENOENT)
		return r;
	log_info("files.sweep", "removed unreferenced blob %s of tenant %lld", id, (long long)tenant_id);
	o->n++;
	return 0;
}

int files_sweep_orphans(struct files *f, struct db *db, int64_t before_us, int64_t *ret_n)
{
	struct orphan_sweep o = { f, db, before_us, 0, 0, false };
	int r;

	if (!f || !db)
		return -EINVAL;
	r = blob_foreach(f->bs, orphan_cb, &o);
	if (o.n)
		log_info("files.sweep", "removed %lld unreferenced blob(s)", (long long)o.n);
	if (ret_n)
		*ret_n = o.n;
	return r;
}

static void *purger_main(void *arg)
{
	struct files *f = arg;
	struct db *db = db_thread();

	pthread_mutex_lock(&f->lock);
	while (!f->stopping) {
		struct timespec ts;
		int64_t n = 0;
		int r;

		pthread_mutex_unlock(&f->lock);
		/* one node purges and sweeps: the holder of the lease (store/lease.h) */
		if (!db || db_lease_claim(db, "files.purge", db_lease_ttl_s(KURA_TRASH_PURGE_INTERVAL_S)) != 1)
			goto next_round;
		r = db ? files_purge_expired(f, db, clock_now_us() -
						    (int64_t)KURA_TRASH_RETENTION_S * 1000000, &n)
		       : -EIO;
		if (r < 0)
			log_error("files.purge", "trash purge failed: %s", strerror(-r));
		else if (n)
			log_info("files.purge", "purged %lld trash entries older than %d days",
				 (long long)n, KURA_TRASH_RETENTION_S / 86400);
		n = 0;
		r = db ? uploads_sweep_expired(f, db, clock_now_us(), &n) : -EIO;
		if (r < 0)
			log_error("files.uploads", "sweep of expired uploads failed: %s", strerror(-r));
		else if (n)
			log_info("files.uploads", "removed %lld expired unfinished upload(s)", (long long)n);
next_round:
		pthread_mutex_lock(&f->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += KURA_TRASH_PURGE_INTERVAL_S;
		while (!f->stopping && pthread_cond_timedwait(&f->wake, &f->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int files_start_purger(struct files *f)
{
	if (!f || f->purger_running)
		return -EINVAL;
	if (pthread_create(&f->purger, NULL, purger_main, f) != 0)
		return -EAGAIN;
	f->purger_running = true;
	return 0;
}

struct files *files_new(struct blob_store *bs, struct keyring_rt *kr)
{
	struct files *f;

	if (!bs || !kr)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->bs = bs;
	f->kr = kr;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	return f;
}

struct files *files_free(struct files *f)
{
	if (!f)
		return NULL;
	if (f->purger_running) {
		pthread_mutex_lock(&f->lock);
		f->stopping = true;
		pthread_cond_broadcast(&f->wake);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->purger, NULL);
	}
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return NULL;
}

/* ---- labels ---- */

int files_label_add(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		    const char *label)
{
	struct file_node n;
	struct db_stmt *st;
	int64_t count = 0;
	bool committed = false;
	json_t *d = NULL;
	int r;

	if (!files_label_valid(label))
		return -EINVAL;
	r = files_space_check(0);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the label limit is counted before the insert */
	if (r == 0)
		r = files_get(db, tenant_id, id, &n);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT count(*) FROM file_labels WHERE tenant_id = $1 AND node_id = $2",
		      "ii", tenant_id, id);
	if (db_step(st) > 0)
		count = db_int(st, 0);
	db_done(st);
	r = db_exec(db, "INSERT INTO file_labels (tenant_id, node_id, label, created_us)"
			" VALUES ($1, $2, $3, $4)", "iiti", tenant_id, id, label, clock_now_us());
	if (r == -EEXIST) {   /* already there: nothing changes, nothing to record */
		r = 0;
		goto out;
	}
	if (r == 0 && count >= KURA_LABELS_PER_ITEM)
		r = -E2BIG;
	if (r == 0)
		r = files_charge(db, tenant_id, 0, KURA_QUOTA_ITEM_BYTES);
	if (r == 0) {
		d = json_pack("{s:s}", "label", label);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION, "label.add", id, AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	committed = r == 0;
out:
	if (!committed)
		db_rollback(db);
	json_decref(d);
	return r;
}

int files_label_remove(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		       const char *label)
{
	struct file_node n;
	json_t *d = NULL;
	int r;

	if (!files_label_valid(label))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* usage moves */
	if (r == 0)
		r = files_get(db, tenant_id, id, &n);
	if (r == 0)
		r = db_exec(db, "DELETE FROM file_labels WHERE tenant_id = $1 AND node_id = $2"
				" AND label = $3", "iit", tenant_id, id, label);
	if (r == 0 && db_changes(db) == 0)
		r = -ENOENT;
	if (r == 0)
		r = files_charge(db, tenant_id, 0, -KURA_QUOTA_ITEM_BYTES);
	if (r == 0) {
		d = json_pack("{s:s}", "label", label);
		r = files_audit(db, who, tenant_id, AUDIT_OPERATION, "label.remove", id, AUDIT_SUCCESS, d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

int files_label_find(struct db *db, int64_t tenant_id, const char *label, json_t **ret_items)
{
	struct db_stmt *st;
	struct file_node n;
	json_t *items;
	int r;

	if (!files_label_valid(label))
		return -EINVAL;
	items = json_array();
	if (!items)
		return -ENOMEM;
	st = db_query(db, "SELECT " FILES_NODE_COLS " FROM file_nodes WHERE tenant_id = $1"
			  " AND in_trash = 0 AND id IN (SELECT node_id FROM file_labels"
			  " WHERE tenant_id = $1 AND label = $2) ORDER BY name, id LIMIT $3", "iti",
		      tenant_id, label, (int64_t)KURA_PAGE_MAX);
	while ((r = db_step(st)) > 0) {
		files_read_node(st, &n);
		json_array_append_new(items, files_node_json(db, tenant_id, &n));
	}
	db_done(st);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	*ret_items = items;
	return 0;
}

int files_labels(struct db *db, int64_t tenant_id, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT l.label, count(*) FROM file_labels l"
					  " JOIN file_nodes n ON n.id = l.node_id AND n.tenant_id = $1"
					  " WHERE l.tenant_id = $1 AND n.in_trash = 0"
					  " GROUP BY l.label ORDER BY l.label LIMIT $2", "ii", tenant_id,
				      (int64_t)KURA_PAGE_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0)
		json_array_append_new(arr, json_pack("{s:s, s:I}", "label", db_text(st, 0), "count",
						     (json_int_t)db_int(st, 1)));
	db_done(st);
	if (!arr)
		return -ENOMEM;
	*ret = arr;
	return 0;
}
