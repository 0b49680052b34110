/* Unit tests for the files service on a real SQLite database and blob directory: encrypted
 * upload and ranged reads, quota kept exact, fault injection during an upload (nothing
 * stored, usage unchanged), key rotation (also in the middle of an upload), trash purge,
 * what dead properties cost (the bytes of UTF-8 text, as migration 0009 counted them); every
 * change of the tree, the quota, WebDAV locks and share counters takes the tenant's write
 * lock first in its transaction (store/db.h "Write serialisation"). */
#include <dirent.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "blob/blob.h"
#include "crypto/filecrypt.h"
#include "crypto/keyring_rt.h"
#include "crypto/crypto.h"
#include "files/files.h"
#include "files/files_dav.h"
#include "files/files_int.h"
#include "files/shares.h"
#include "lock_watch.h"
#include "store/db.h"
#include "tenant/tenant.h"

static struct {
	char dir[64], blobdir[96];
	struct db *db;
	unsigned char master[MASTER_KEY_BYTES];
	struct blob_store *bs;
	struct keyring_rt *kr;
	struct files *f;
	struct tenant t;
	int64_t root;
} fx;

static const struct actor tester = { ACTOR_ACCOUNT, 0, 0, "tester", "127.0.0.1", "unit" };

static int blob_count(void)
{
	char d[128];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(d, sizeof(d), "%s/%lld", fx.blobdir, (long long)fx.t.id);
	dir = opendir(d);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

static int64_t usage(void)
{
	int64_t q = 0, u = 0;

	assert_int_equal(files_quota(fx.db, fx.t.id, &q, &u), 0);
	return u;
}

static int upload(const char *name, const unsigned char *data, size_t n, struct file_node *ret)
{
	struct files_upload *u = NULL;
	size_t off = 0;
	int r = files_upload_begin(fx.f, fx.db, fx.t.id, fx.root, name, "application/octet-stream",
				   -1, false, &u);

	while (r == 0 && off < n) {
		size_t k = n - off < 10000 ? n - off : 10000;

		r = files_upload_write(u, data + off, k);
		off += k;
	}
	if (r < 0) {
		files_upload_abort(u);
		return r;
	}
	return files_upload_commit(u, fx.db, &tester, ret, NULL);
}

static void expect_content(int64_t id, const unsigned char *data, size_t n)
{
	struct files_reader *r = NULL;
	unsigned char *buf = malloc(n + 1);
	size_t got = 0;

	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, id, NULL, &r), 0);
	assert_int_equal(files_read(r, 0, buf, n + 100, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(buf, data, n);
	if (n > 65546) {
		assert_int_equal(files_read(r, 65530, buf, 16, &got), 0);   /* across a chunk edge */
		assert_int_equal(got, 16);
		assert_memory_equal(buf, data + 65530, 16);
	}
	files_reader_close(r);
	free(buf);
}

/* The plan of sql: every detail line joined by '|'. */
static void plan(const char *sql, char *buf, size_t size, const char *types, ...)
{
	char q[2048];
	struct db_stmt *st;
	size_t len = 0;

	(void)types;
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	if (!strcmp(types, "tiii"))
		st = db_query(fx.db, q, types, "\"abc\"", fx.t.id, (int64_t)0, (int64_t)10);
	else if (!strcmp(types, "it"))
		st = db_query(fx.db, q, types, fx.t.id, "0123456789abcdef");
	else
		st = db_query(fx.db, q, types, fx.t.id, "ab", "ab\xf4\x8f\xbf\xbf", (int64_t)0, (int64_t)10);
	assert_non_null(st);
	buf[0] = '\0';
	while (db_step(st) > 0)
		len += (size_t)snprintf(buf + len, size - len, "%s|", db_text(st, 3) ? db_text(st, 3) : "");
	db_done(st);
}

/* Search by name (issue 15): substrings through the trigram index, short prefixes through
 * the lower(name) index, never a scan of file_nodes; names follow renames and purges. */
static void test_search(void **state)
{
	static const char *const names[] = { "報告書2026.txt", "Quarterly REPORT.pdf", "report-x.txt", "abc.txt" };
	char p[1024];
	struct file_node n, dir;
	json_t *items = NULL;
	bool more = true;
	size_t i;

	(void)state;
	plan(db_name_search_sql, p, sizeof(p), "tiii");
	assert_non_null(strstr(p, "VIRTUAL TABLE INDEX"));
	assert_null(strstr(p, "SCAN n"));
	assert_null(strstr(p, "SCAN file_nodes"));
	plan(FILES_SEARCH_PREFIX_SQL, p, sizeof(p), "ittii");
	assert_non_null(strstr(p, "file_nodes_name_fold"));
	assert_null(strstr(p, "SCAN file_nodes"));
	/* the sweep's look-up of a blob: the blob index, which leaves inline files out (0033) */
	plan(FILES_BLOB_REFERENCED_SQL, p, sizeof(p), "it");
	assert_non_null(strstr(p, "file_nodes_blob"));
	assert_null(strstr(p, "SCAN file_nodes"));
	{
		struct db_stmt *st = db_query(fx.db, "SELECT sql FROM sqlite_master WHERE name = 'file_nodes_blob'", "");

		assert_int_equal(db_step(st), 1);
		assert_non_null(strstr(db_text(st, 0), "inline_data IS NULL"));   /* a small upload writes no entry */
		db_done(st);
	}

	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "検索", &dir), 0);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(upload(names[i], (const unsigned char *)"x", 1, &n), 0);
	assert_int_equal(files_search(fx.db, fx.t.id, "REPORT", 0, 10, &items, &more), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_false(more);
	json_decref(items);
	assert_int_equal(files_search(fx.db, fx.t.id, "告書2", 0, 10, &items, &more), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "path")),
			    "/報告書2026.txt");
	json_decref(items);
	/* renamed: the new name is found, the old one not */
	assert_int_equal(files_move(fx.db, &tester, fx.t.id, n.id, dir.id, "zeta.txt", NULL), 0);
	assert_int_equal(files_search(fx.db, fx.t.id, "abc", 0, 10, &items, &more), 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	assert_int_equal(files_search(fx.db, fx.t.id, "zeta", 0, 10, &items, &more), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "path")),
			    "/検索/zeta.txt");
	json_decref(items);
	/* purged: gone from the index too */
	assert_int_equal(files_trash(fx.db, &tester, fx.t.id, n.id), 0);
	assert_int_equal(files_search(fx.db, fx.t.id, "zeta", 0, 10, &items, &more), 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	assert_int_equal(files_purge(fx.f, fx.db, &tester, fx.t.id, n.id), 0);
	{
		struct db_stmt *st = db_query(fx.db, "SELECT COUNT(*) FROM name_search WHERE rowid = $1", "i", n.id);

		assert_int_equal(db_step(st), 1);
		assert_int_equal(db_int(st, 0), 0);
		db_done(st);
	}
	/* bad queries */
	assert_int_equal(files_search(fx.db, fx.t.id, "", 0, 10, &items, &more), -EINVAL);
	assert_int_equal(files_search(fx.db, fx.t.id, "a\x01b", 0, 10, &items, &more), -EINVAL);
	assert_int_equal(files_search(fx.db, fx.t.id, "\xff", 0, 10, &items, &more), -EINVAL);
}

/* Sorted listings (issue 15): every statement reads the folder's index in order, so a page
 * costs the same in a big folder as in a small one: no scan, no sort step. */
static void test_listing_plans(void **state)
{
	static const char *const index_of[3] = { "file_nodes_name", "file_nodes_size", "file_nodes_modified" };
	char q[2048], p[1024];
	int s, d, l;

	(void)state;
	for (s = 0; s < 3; s++)
		for (d = 0; d < 2; d++)
			for (l = 0; l < 2; l++) {
				struct db_stmt *st;
				size_t len = 0;

				snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", files_list_sql[s][d][l]);
				if (s == 0)
					st = db_query(fx.db, q, l ? "iitiit" : "iitii", fx.t.id, fx.root, "m",
						      (int64_t)5, (int64_t)10, "hot");
				else
					st = db_query(fx.db, q, l ? "iiiiit" : "iiiii", fx.t.id, fx.root, (int64_t)5,
						      (int64_t)5, (int64_t)10, "hot");
				assert_non_null(st);
				p[0] = '\0';
				while (db_step(st) > 0)
					len += (size_t)snprintf(p + len, sizeof(p) - len, "%s|",
								db_text(st, 3) ? db_text(st, 3) : "");
				db_done(st);
				if (!strstr(p, index_of[s]) || strstr(p, "TEMP B-TREE") || strstr(p, "SCAN file_nodes"))
					fail_msg("listing [%d][%d][%d]: %s", s, d, l, p);
			}
}

/* PROPFIND's member list (issue 11, migration 0031): read from the covering index
 * file_nodes_dav alone, in name order, never from file_nodes' rows (which hold inline
 * content: ~8 a page). */
static void test_dav_entries_plan(void **state)
{
	char q[1024], p[1024];
	struct db_stmt *st;
	size_t len = 0;

	(void)state;
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", FILES_DAV_ENTRIES_SQL);
	st = db_query(fx.db, q, "iii", fx.t.id, fx.root, (int64_t)10);
	assert_non_null(st);
	p[0] = '\0';
	while (db_step(st) > 0)
		len += (size_t)snprintf(p + len, sizeof(p) - len, "%s|", db_text(st, 3) ? db_text(st, 3) : "");
	db_done(st);
	if (!strstr(p, "COVERING INDEX file_nodes_dav") || strstr(p, "TEMP B-TREE"))
		fail_msg("files_dav_entries: %s", p);
}

/* The WebDAV path statements (files_int.h RESOLVE_SQL_<n>) search from the root down, one
 * index search a folder: never a scan of the tenant's nodes (what SQLite chose for the
 * plain joins, starting from the last folder). */
static void test_resolve_plans(void **state)
{
	/* the plain statements, then a GET's with the content columns (the same plans) */
	const char *sql[] = { RESOLVE_SQL_1, RESOLVE_SQL_2, RESOLVE_SQL_3, RESOLVE_SQL_4,
			      RESOLVE_CONTENT_SQL_1, RESOLVE_CONTENT_SQL_2, RESOLVE_CONTENT_SQL_3,
			      RESOLVE_CONTENT_SQL_4 };
	char q[4096], p[1024];
	struct db_stmt *st;

	(void)state;
	for (size_t k = 0; k < 8; k++) {
		size_t len = 0, n = 0, i = k % 4;

		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[k]);
		st = i == 0   ? db_query(fx.db, q, "it", fx.t.id, "a")
		     : i == 1 ? db_query(fx.db, q, "itt", fx.t.id, "a", "b")
		     : i == 2 ? db_query(fx.db, q, "ittt", fx.t.id, "a", "b", "c")
			      : db_query(fx.db, q, "itttt", fx.t.id, "a", "b", "c", "d");
		assert_non_null(st);
		p[0] = '\0';
		while (db_step(st) > 0) {
			const char *d = db_text(st, 3) ? db_text(st, 3) : "";

			len += (size_t)snprintf(p + len, sizeof(p) - len, "%s|", d);
			if (strstr(d, "(tenant_id=? AND parent_id=?") || strstr(d, "USING INTEGER PRIMARY KEY"))
				n++;
		}
		db_done(st);
		/* the root by (tenant, parent NULL), each folder and the name by (tenant, parent, name) */
		if (n != i + 2 || strstr(p, "SCAN") || strstr(p, "(tenant_id=?)"))
			fail_msg("RESOLVE_%sSQL_%zu: %s", k < 4 ? "" : "CONTENT_", i + 1, p);
	}
}

static void test_upload_read(void **state)
{
	const size_t n = 300000;
	unsigned char *data = malloc(n);
	struct file_node node;
	int64_t before = usage();

	(void)state;
	randombytes_buf(data, n);
	assert_int_equal(upload("a.bin", data, n, &node), 0);
	assert_int_equal(node.size, n);
	assert_int_equal(usage(), before + (int64_t)n + KURA_QUOTA_ITEM_BYTES);   /* content + the item */
	expect_content(node.id, data, n);
	/* another tenant id does not reach it */
	assert_int_equal(files_get(fx.db, fx.t.id + 1000, node.id, &node), -ENOENT);
	free(data);
}

/* An upload into folder parent; the commit is refused with guard (NULL: none set). */
static int upload_in(int64_t parent, const char *name, const char *text, files_upload_guard_fn guard, void *ctx,
		     int (*between)(void))
{
	struct files_upload *u = NULL;
	struct file_node n;
	int r = files_upload_begin(fx.f, fx.db, fx.t.id, parent, name, "text/plain", -1, false, &u);

	if (r == 0)
		r = files_upload_write(u, text, strlen(text));
	if (r < 0) {
		files_upload_abort(u);
		return r;
	}
	if (guard)
		files_upload_set_guard(u, guard, ctx);
	if (between && (r = between()) < 0) {
		files_upload_abort(u);
		return r;
	}
	return files_upload_commit(u, fx.db, &tester, &n, NULL);
}

static struct files_dav_lock held;

static int take_lock(const char *path, bool infinite)
{
	memset(&held, 0, sizeof(held));
	held.path = path;
	held.infinite = infinite;
	held.timeout_s = 60;
	return files_dav_lock_create(fx.db, &tester, fx.t.id, &held);
}

static int drop_lock(void)
{
	return files_dav_unlock(fx.db, &tester, fx.t.id, held.path, held.token);
}

static const char *between_path;
static int lock_between(void)
{
	return take_lock(between_path, false);
}

struct guard_seen {
	int calls, ret;
	bool had_old, locks;
};

static int guard_cb(void *ctx, struct db *db, const struct file_node *old, bool locks)
{
	struct guard_seen *g = ctx;

	assert_ptr_equal(db, fx.db);
	g->calls++;
	g->had_old = old != NULL;
	g->locks = locks;
	return g->ret;
}

static char *content_of(int64_t parent, const char *name)
{
	struct file_node n;
	struct files_reader *rd = NULL;
	static char buf[256];
	size_t got = 0;

	assert_int_equal(files_lookup(fx.db, fx.t.id, parent, name, &n), 0);
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, n.id, NULL, &rd), 0);
	assert_int_equal(files_read(rd, 0, buf, sizeof(buf) - 1, &got), 0);
	buf[got] = '\0';
	files_reader_close(rd);
	return buf;
}

/* Uploads without a lock token respect WebDAV locks (files_dav_locks_refuse), when they
 * begin and at the commit; a guard replaces that check at the commit. */
static void test_upload_respects_locks(void **state)
{
	const char *svc[] = { "DOCX" };
	struct file_node a, b;
	struct guard_seen g = { 0 };
	struct tenant t2;
	int64_t root2 = 0;

	(void)state;
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "la", &a), 0);
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, a.id, "lb", &b), 0);
	assert_int_equal(upload_in(b.id, "f", "one", NULL, NULL, NULL), 0);

	/* an infinite lock on a folder above: no new file, no replacement below it */
	assert_int_equal(take_lock("/la", true), 0);
	assert_int_equal(upload_in(b.id, "g", "new", NULL, NULL, NULL), -ENOLCK);
	assert_int_equal(upload_in(b.id, "f", "two", NULL, NULL, NULL), -ENOLCK);
	assert_int_equal(drop_lock(), 0);
	/* a Depth 0 lock on the folder: its membership (a new file), not its files' content */
	assert_int_equal(take_lock("/la/lb", false), 0);
	assert_int_equal(upload_in(b.id, "g", "new", NULL, NULL, NULL), -ENOLCK);
	assert_int_equal(upload_in(b.id, "f", "two", NULL, NULL, NULL), 0);
	assert_int_equal(drop_lock(), 0);
	/* a lock on the file: not replaced; another name in the folder is free */
	assert_int_equal(take_lock("/la/lb/f", false), 0);
	assert_int_equal(upload_in(b.id, "f", "three", NULL, NULL, NULL), -ENOLCK);
	assert_int_equal(upload_in(b.id, "g", "new", NULL, NULL, NULL), 0);
	assert_string_equal(content_of(b.id, "f"), "two");
	assert_int_equal(drop_lock(), 0);

	/* a lock taken after the begin, before the commit: refused at the commit, nothing kept */
	between_path = "/la/lb/f";
	assert_int_equal(upload_in(b.id, "f", "four", NULL, NULL, lock_between), -ENOLCK);
	assert_string_equal(content_of(b.id, "f"), "two");
	/* a guard replaces the check: it sees the node and that a lock exists */
	g.ret = 0;
	assert_int_equal(upload_in(b.id, "f", "five", guard_cb, &g, NULL), -ENOLCK);   /* refused at the begin */
	assert_int_equal(g.calls, 0);
	assert_int_equal(drop_lock(), 0);
	between_path = "/la/lb/f";
	assert_int_equal(upload_in(b.id, "f", "five", guard_cb, &g, lock_between), 0);
	assert_int_equal(g.calls, 1);
	assert_true(g.had_old);
	assert_true(g.locks);
	assert_string_equal(content_of(b.id, "f"), "five");
	assert_int_equal(drop_lock(), 0);
	g.ret = -ESTALE;
	assert_int_equal(upload_in(b.id, "h", "six", guard_cb, &g, NULL), -ESTALE);
	assert_int_equal(g.calls, 2);
	assert_false(g.had_old);
	assert_false(g.locks);   /* the tenant holds no lock now */
	assert_int_equal(files_lookup(fx.db, fx.t.id, b.id, "h", &a), -ENOENT);

	/* another tenant's lock on the same path refuses nothing here */
	assert_int_equal(tenant_create(fx.db, &actor_system, fx.master, "unit2", "Unit 2", svc, 1, NULL, 0, &t2), 0);
	assert_int_equal(files_root(fx.db, t2.id, &root2), 0);
	held = (struct files_dav_lock){ .path = "/la", .infinite = true, .timeout_s = 60 };
	assert_int_equal(files_dav_lock_create(fx.db, &tester, t2.id, &held), 0);
	assert_int_equal(upload_in(b.id, "i", "seven", NULL, NULL, NULL), 0);
	assert_int_equal(files_dav_locks_refuse(fx.db, t2.id, root2, "la", true), -ENOLCK);
	assert_int_equal(files_dav_locks_refuse(fx.db, fx.t.id, a.id, "x", false), 0);
	assert_int_equal(files_dav_unlock(fx.db, &tester, t2.id, "/la", held.token), 0);
}

static void test_fault_during_upload(void **state)
{
	static const enum blob_fault kinds[] = { BLOB_FAULT_WRITE, BLOB_FAULT_FSYNC, BLOB_FAULT_RENAME,
						 BLOB_FAULT_FSYNC };
	static const unsigned nth[] = { 3, 1, 1, 2 };
	unsigned char data[200000];
	struct file_node node;
	int64_t before = usage();
	int blobs = blob_count();
	size_t i;

	(void)state;
	randombytes_buf(data, sizeof(data));
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		blob_fault_set(kinds[i], nth[i]);
		assert_true(upload("faulty.bin", data, sizeof(data), &node) < 0);
		assert_int_equal(files_lookup(fx.db, fx.t.id, fx.root, "faulty.bin", &node), -ENOENT);
		assert_int_equal(usage(), before);
		assert_int_equal(blob_count(), blobs);
	}
	blob_fault_set(BLOB_FAULT_NONE, 0);
}

static void test_quota_exact(void **state)
{
	unsigned char data[5000];
	struct file_node node;
	int64_t before = usage();

	(void)state;
	randombytes_buf(data, sizeof(data));
	/* each new file costs its bytes and one item of metadata */
	assert_int_equal(files_quota_set(fx.db, &actor_system, fx.t.id, before + 6000 + 2 * KURA_QUOTA_ITEM_BYTES), 0);
	assert_int_equal(upload("q1", data, 5000, &node), 0);
	assert_int_equal(upload("q2", data, 1001, &node), -EDQUOT);
	assert_int_equal(usage(), before + 5000 + KURA_QUOTA_ITEM_BYTES);
	assert_int_equal(upload("q2", data, 1000, &node), 0);
	assert_int_equal(usage(), before + 6000 + 2 * KURA_QUOTA_ITEM_BYTES);
	assert_int_equal(files_quota_set(fx.db, &actor_system, fx.t.id, (int64_t)1 << 40), 0);
}

static void test_rotation(void **state)
{
	unsigned char d1[70000], d2[1000], d3[3000];
	struct file_node n1, n2, n3;
	struct files_upload *u = NULL;
	struct db_stmt *st;
	int64_t version = 0, count = 0;

	(void)state;
	randombytes_buf(d1, sizeof(d1));
	randombytes_buf(d2, sizeof(d2));
	randombytes_buf(d3, sizeof(d3));
	assert_int_equal(upload("r1", d1, sizeof(d1), &n1), 0);
	assert_int_equal(upload("r2", d2, sizeof(d2), &n2), 0);
	/* an upload that spans a rotation */
	assert_int_equal(files_upload_begin(fx.f, fx.db, fx.t.id, fx.root, "r3", NULL, -1, false, &u), 0);
	assert_int_equal(files_upload_write(u, d3, sizeof(d3)), 0);
	assert_int_equal(files_rotate_tenant_key(fx.db, fx.kr, &actor_system, fx.master, fx.t.id,
						 &version, &count), 0);
	assert_true(version >= 2);
	assert_true(count >= 2);
	assert_int_equal(files_upload_commit(u, fx.db, &tester, &n3, NULL), 0);
	st = db_query(fx.db, "SELECT count(*), min(version) FROM tenant_keys WHERE tenant_id = $1", "i", fx.t.id);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 1);   /* the old version is gone */
	assert_int_equal(db_int(st, 1), version);
	db_done(st);
	expect_content(n1.id, d1, sizeof(d1));
	expect_content(n2.id, d2, sizeof(d2));
	expect_content(n3.id, d3, sizeof(d3));
	/* twice more, with an empty cache */
	keyring_rt_forget(fx.kr, fx.t.id);
	assert_int_equal(files_rotate_tenant_key(fx.db, NULL, &actor_system, fx.master, fx.t.id, &version,
						 &count), 0);
	expect_content(n1.id, d1, sizeof(d1));
}

static void test_trash_purge(void **state)
{
	static unsigned char data[4000], big[KURA_INLINE_MAX_BYTES + 1];
	struct file_node node, node2, folder;
	int64_t before, n = 0;
	int blobs;

	(void)state;
	randombytes_buf(data, sizeof(data));
	randombytes_buf(big, sizeof(big));
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "old", &folder), 0);
	/* one file kept inline (no blob), one a blob: the purge deletes the one blob there is */
	assert_int_equal(upload("purge-me", data, sizeof(data), &node), 0);
	assert_int_equal(files_move(fx.db, &tester, fx.t.id, node.id, folder.id, NULL, &node), 0);
	assert_int_equal(upload("purge-me-too", big, sizeof(big), &node2), 0);
	assert_int_equal(files_move(fx.db, &tester, fx.t.id, node2.id, folder.id, NULL, &node2), 0);
	before = usage();
	blobs = blob_count();
	assert_int_equal(files_trash(fx.db, &tester, fx.t.id, folder.id), 0);
	assert_int_equal(files_get(fx.db, fx.t.id, node.id, &node), -ENOENT);
	assert_int_equal(files_purge_expired(fx.f, fx.db, 1, &n), 0);   /* nothing that old */
	assert_int_equal(n, 0);
	assert_int_equal(files_purge_expired(fx.f, fx.db, INT64_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(usage(), before - (int64_t)sizeof(data) - (int64_t)sizeof(big) - 3 * KURA_QUOTA_ITEM_BYTES);
	assert_int_equal(blob_count(), blobs - 1);
	assert_int_equal(files_get(fx.db, fx.t.id, node2.id, &node2), -ENOENT);
	assert_int_equal(files_restore(fx.db, &tester, fx.t.id, folder.id, &folder), -ENOENT);
}

/* A dead property costs KURA_QUOTA_ITEM_BYTES plus the UTF-8 bytes of namespace, name and
 * value, counted in C (files_props_cost) exactly as migration 0009 counted them in SQL
 * (length(CAST(x AS BLOB))): charged when set, re-charged when changed, refunded in full
 * when the folder holding it is purged. */
static void test_props_cost(void **state)
{
	static const char ns[] = "urn:例え:ns", name[] = "名前";
	static const char xml1[] = "<x:名前 xmlns:x=\"urn:例え:ns\">値は日本語</x:名前>";
	static const char xml2[] = "<x:名前 xmlns:x=\"urn:例え:ns\">v</x:名前>";
	struct files_dav_propop set1 = { false, ns, name, xml1 }, set2 = { false, ns, name, xml2 };
	struct file_node folder;
	struct db_stmt *st;
	int64_t base, with_folder, n = 0, sql_bytes;

	(void)state;
	base = usage();
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "props", &folder), 0);
	with_folder = usage();
	assert_int_equal(with_folder, base + KURA_QUOTA_ITEM_BYTES);
	assert_int_equal(files_dav_proppatch(fx.db, &tester, fx.t.id, folder.id, &set1, 1), 0);
	st = db_query(fx.db, "SELECT 256 + length(CAST(ns AS BLOB)) + length(CAST(name AS BLOB))"
			     " + length(CAST(xml AS BLOB)) FROM dav_props WHERE node_id = $1", "i", folder.id);
	assert_int_equal(db_step(st), 1);
	sql_bytes = db_int(st, 0);
	db_done(st);
	assert_int_equal(sql_bytes, KURA_QUOTA_ITEM_BYTES + strlen(ns) + strlen(name) + strlen(xml1));
	assert_int_equal(usage(), with_folder + sql_bytes);
	assert_int_equal(files_dav_proppatch(fx.db, &tester, fx.t.id, folder.id, &set2, 1), 0);
	assert_int_equal(usage(), with_folder + KURA_QUOTA_ITEM_BYTES + (int64_t)(strlen(ns) + strlen(name) +
										   strlen(xml2)));
	assert_int_equal(files_trash(fx.db, &tester, fx.t.id, folder.id), 0);
	assert_int_equal(files_purge_expired(fx.f, fx.db, INT64_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(usage(), base);
}

/* Each call runs its transactions with the tenant's lock taken first (lock_watch.h). */
#define LOCKED_FIRST(call)                                          \
	do {                                                        \
		struct lock_watch w_;                               \
		lock_watch_start(&w_, fx.db, fx.t.id);              \
		assert_int_equal((call), 0);                        \
		assert_locked_first(&w_);                           \
	} while (0)

/* The writers of the tree, the quota, dead properties, WebDAV locks, labels, the tenant key
 * and share counters take the tenant's lock before their first statement, so a backend
 * that runs writers side by side keeps what they check (store/db.h). */
static void test_tenant_lock_first(void **state)
{
	unsigned char data[3000];
	struct files_dav_propop prop = { false, "urn:x", "p", "<x:p xmlns:x=\"urn:x\">1</x:p>" };
	struct files_dav_lock l = { .path = "/lk/f2", .timeout_s = 60 }, got;
	char token[TOKEN_STR_LEN + 1], root[256], session[TOKEN_STR_LEN + 1];
	struct share_new sn = { .kind = SHARE_DOWNLOAD, .password = "a long share password 1",
				.public_url = "https://kura.example" };
	struct share_new up = { .kind = SHARE_UPLOAD, .public_url = "https://kura.example" };
	struct file_node folder, file, other;
	struct lock_watch w;
	struct share sh;
	const char *field = NULL;
	enum password_problem prob;
	int64_t share_id = 0, upload_id = 0, version = 0, n = 0, locked = 0, expires = 0;
	bool created = false, mail = false;

	(void)state;
	randombytes_buf(data, sizeof(data));
	LOCKED_FIRST(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "lk", &folder));
	LOCKED_FIRST(upload("lk-file", data, sizeof(data), &file));
	LOCKED_FIRST(files_move(fx.db, &tester, fx.t.id, file.id, folder.id, "f", &file));
	LOCKED_FIRST(files_label_add(fx.db, &tester, fx.t.id, file.id, "red"));
	LOCKED_FIRST(files_label_remove(fx.db, &tester, fx.t.id, file.id, "red"));
	LOCKED_FIRST(files_dav_proppatch(fx.db, &tester, fx.t.id, file.id, &prop, 1));
	LOCKED_FIRST(files_dav_copy(fx.f, fx.db, &tester, fx.t.id, file.id, folder.id, "f2", false, false,
				    &created));
	LOCKED_FIRST(files_dav_lock_create(fx.db, &tester, fx.t.id, &l));
	LOCKED_FIRST(files_dav_lock_refresh(fx.db, &tester, fx.t.id, "/lk/f2", l.token, 120, &got, root,
					    sizeof(root)));
	LOCKED_FIRST(files_dav_unlock(fx.db, &tester, fx.t.id, "/lk/f2", l.token));
	LOCKED_FIRST(files_dav_lock_create(fx.db, &tester, fx.t.id, &l));
	LOCKED_FIRST(files_dav_lock_break(fx.db, &tester, fx.t.id, l.token, &got, root, sizeof(root)));
	LOCKED_FIRST(files_dav_move(fx.db, &tester, fx.t.id, file.id, fx.root, "moved", false, &created));
	LOCKED_FIRST(files_rotate_tenant_key(fx.db, fx.kr, &actor_system, fx.master, fx.t.id, &version, &n));

	/* share links: creation (the limit), the password counter, the download and upload counters */
	LOCKED_FIRST(shares_create(fx.db, &tester, fx.t.id, &(struct share_new){ .kind = sn.kind, .node_id = file.id,
				   .password = sn.password, .public_url = sn.public_url }, &share_id, token,
				   &field, &prob));
	assert_int_equal(shares_get(fx.db, fx.t.id, share_id, &sh), 0);
	lock_watch_start(&w, fx.db, fx.t.id);
	assert_int_equal(shares_unlock(fx.db, &tester, &sh, "a wrong share password", session, &expires, &locked, NULL),
			 -EACCES);
	assert_locked_first(&w);
	assert_int_equal(w.n_tx, 2);   /* the attempt is counted, then settled */
	LOCKED_FIRST(shares_unlock(fx.db, &tester, &sh, sn.password, session, &expires, &locked, NULL));
	LOCKED_FIRST(shares_count_download(fx.db, &tester, &sh, &file, NULL, sn.public_url, &mail));
	up.node_id = folder.id;
	LOCKED_FIRST(shares_create(fx.db, &tester, fx.t.id, &up, &upload_id, token, &field, &prob));
	assert_int_equal(shares_get(fx.db, fx.t.id, upload_id, &sh), 0);
	LOCKED_FIRST(shares_label_add(fx.db, &tester, fx.t.id, upload_id, "blue"));
	assert_int_equal(files_lookup(fx.db, fx.t.id, folder.id, "f2", &other), 0);
	LOCKED_FIRST(shares_count_upload(fx.db, &tester, &sh, &other));

	LOCKED_FIRST(files_trash(fx.db, &tester, fx.t.id, folder.id));
	LOCKED_FIRST(files_restore(fx.db, &tester, fx.t.id, folder.id, &folder));
	assert_int_equal(files_trash(fx.db, &tester, fx.t.id, folder.id), 0);
	LOCKED_FIRST(files_purge(fx.f, fx.db, &tester, fx.t.id, folder.id));
}

static void test_names(void **state)
{
	char longname[300];

	(void)state;
	memset(longname, 'a', sizeof(longname));
	longname[256] = '\0';
	assert_false(files_name_valid(longname));
	longname[255] = '\0';
	assert_true(files_name_valid(longname));
	assert_false(files_name_valid(""));
	assert_false(files_name_valid("."));
	assert_false(files_name_valid(".."));
	assert_false(files_name_valid("a/b"));
	assert_false(files_name_valid("a\tb"));
	assert_false(files_name_valid("a\x01"));
	assert_false(files_name_valid("\xff\xfe"));
	assert_true(files_name_valid("...") && files_name_valid("報告書.pdf") && files_name_valid(".hidden"));
	/* bidirectional controls: "evil\u202Etxt.exe" shows as "evilexe.txt" */
	assert_false(files_name_valid("evil\xe2\x80\xae" "txt.exe"));
	assert_false(files_name_valid("a\xe2\x80\x8e" "b") || files_name_valid("a\xe2\x80\x8f" "b"));
	assert_false(files_name_valid("a\xe2\x80\xaa" "b") || files_name_valid("a\xe2\x81\xa6" "b") ||
		     files_name_valid("a\xe2\x81\xa9" "b") || files_name_valid("a\xd8\x9c" "b"));
	assert_false(files_label_valid("x\xe2\x80\xae" "y"));
	assert_true(files_name_valid("a\xe2\x80\x8d" "b"));   /* ZWJ (emoji sequences) stays */
	/* ASCII skips utf8proc (issue 11), with the same checks: in place, the size, DEL */
	{
		char buf[16] = "plain.txt", small[4];

		assert_true(files_is_ascii(buf, strlen(buf)) && !files_is_ascii("caf\xc3\xa9", 5));
		assert_int_equal(files_name_nfc(buf, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "plain.txt");
		assert_int_equal(files_name_nfc("abcd", small, sizeof(small)), -EINVAL);
		assert_int_equal(files_name_nfc("abc", small, sizeof(small)), 0);
		assert_false(files_name_valid("a\x7f") || files_name_valid("a\r") || files_name_valid("/"));
	}
	/* NFD in, NFC stored: one name */
	{
		char nfc[KURA_FILE_NAME_MAX + 1];
		struct file_node a, b;

		assert_int_equal(files_name_nfc("cafe\xcc\x81", nfc, sizeof(nfc)), 0);
		assert_string_equal(nfc, "caf\xc3\xa9");
		assert_int_equal(files_name_nfc("\xe3\x81\x8b\xe3\x82\x99", nfc, sizeof(nfc)), 0);   /* か + ゙ */
		assert_string_equal(nfc, "\xe3\x81\x8c");                                            /* が */
		assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "Re\xcc\x81sume\xcc\x81", &a), 0);
		assert_string_equal(a.name, "R\xc3\xa9sum\xc3\xa9");
		assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "R\xc3\xa9sum\xc3\xa9", &b), -EEXIST);
		assert_int_equal(files_lookup(fx.db, fx.t.id, fx.root, "Re\xcc\x81sume\xcc\x81", &b), 0);
		assert_int_equal(b.id, a.id);
		/* 255 bytes after normalisation is the limit, whatever the input form */
		memset(longname, 'a', 254);
		memcpy(longname + 253, "e\xcc\x81", 4);   /* 253 + "é" (2 bytes in NFC) = 255 */
		assert_true(files_name_valid(longname));
	}
	assert_false(files_label_valid("a/b"));
	assert_true(files_label_valid("秘密"));
	assert_true(files_content_type_valid("text/plain; charset=utf-8"));
	assert_false(files_content_type_valid("text"));
	assert_false(files_content_type_valid("text/plain\r\nX: y"));
}

static int setup(void **state)
{
	char err[256], path[128];
	const char *svc[] = { "DOCX" };

	(void)state;
	if (crypto_init() < 0 || pwhash_set_params(1, 8192) < 0)
		return -1;
	str_copy(fx.dir, sizeof(fx.dir), "/tmp/kura-files-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(path, sizeof(path), "%s/kura.db", fx.dir);
	snprintf(fx.blobdir, sizeof(fx.blobdir), "%s/blobs", fx.dir);
	fx.db = db_open(path, err, sizeof(err));
	if (!fx.db || db_migrate(fx.db) < 0)
		return -1;
	randombytes_buf(fx.master, sizeof(fx.master));
	if (tenant_create(fx.db, &actor_system, fx.master, "unit", "Unit", svc, 1, NULL, 0, &fx.t) < 0)
		return -1;
	fx.bs = blob_open_local(fx.blobdir, err, sizeof(err));
	fx.kr = keyring_rt_new(fx.master);
	fx.f = files_new(fx.bs, fx.kr);
	if (!fx.f || files_root(fx.db, fx.t.id, &fx.root) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	files_free(fx.f);
	keyring_rt_free(fx.kr);
	blob_close(fx.bs);
	db_close(fx.db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Names stored in NFD before the NFC rule: rewritten once, unless the NFC twin exists. */
static void test_normalize_legacy(void **state)
{
	struct file_node n;
	int64_t count = -1;

	(void)state;
	/* the first start after the upgrade already ran it (fresh database: nothing to do) */
	assert_int_equal(files_normalize_legacy(fx.db, &count), 0);
	assert_int_equal(db_exec(fx.db, "INSERT INTO files_pending (task) VALUES ('nfc-names')", ""), 0);
	assert_int_equal(db_exec(fx.db, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, created_us,"
					" modified_us) VALUES ($1, $2, 'folder', $3, 1, 1), ($1, $2, 'folder', $4, 1, 1),"
					" ($1, $2, 'folder', $5, 1, 1)", "iittt", fx.t.id, fx.root,
			 "old-nai\xcc\x88ve", "twin-e\xcc\x81", "twin-\xc3\xa9"), 0);
	assert_int_equal(db_exec(fx.db, "INSERT INTO dav_locks (token, tenant_id, path, depth_inf, shared,"
					" account_id, timeout_s, expires_us, created_us) VALUES"
					" ('urn:uuid:nfd', $1, $2, 0, 0, 0, 60, 1, 1), ('urn:uuid:ascii', $1, '/plain', 0, 0,"
					" 0, 60, 1, 1)", "it", fx.t.id, "/old-nai\xcc\x88ve/x"), 0);
	assert_int_equal(files_lookup(fx.db, fx.t.id, fx.root, "old-nai\xcc\x88ve", &n), -ENOENT);
	assert_int_equal(files_normalize_legacy(fx.db, &count), 0);
	assert_int_equal(count, 1);
	{
		struct db_stmt *st = db_query(fx.db, "SELECT path FROM dav_locks ORDER BY token", "");

		assert_int_equal(db_step(st), 1);
		assert_string_equal(db_text(st, 0), "/plain");
		assert_int_equal(db_step(st), 1);
		assert_string_equal(db_text(st, 0), "/old-na\xc3\xafve/x");
		db_done(st);
	}
	assert_int_equal(files_lookup(fx.db, fx.t.id, fx.root, "old-nai\xcc\x88ve", &n), 0);
	assert_string_equal(n.name, "old-na\xc3\xafve");
	assert_int_equal(files_lookup(fx.db, fx.t.id, fx.root, "twin-\xc3\xa9", &n), 0);   /* the NFC one */
	/* done: a second run does nothing */
	assert_int_equal(files_normalize_legacy(fx.db, &count), 0);
}

/* Security review (issue 11): a WebDAV COPY held the request's read snapshot (server.c opens
 * it for the dispatch and for a method's end, db_read_begin) over its whole blob copy.
 * files_dav_copy reads its plan (copy_plan, keyring_rt_get: reads, in the snapshot), then
 * copies every file's ciphertext blob by blob (copy_blob: local or S3 reads and writes,
 * seconds to minutes for a large tree), and only its db_begin() ends the snapshot. All that
 * time the connection keeps its WAL read mark, so no checkpoint can pass it: the WAL grows
 * with every other commit (db.h says code that waits ends the snapshot first, as the
 * throttle's delay and a download's first blob read do). Before the read snapshot every read
 * was a transaction of its own and nothing was held during the copy.
 * Here: a request-like snapshot, then a COPY of a 4 MiB file; at each of the copy's first
 * blob writes (blob_test_on_write, so the check happens inside the copy whatever the disk's
 * speed: CI once ran a timed version of this test too fast for it) another connection
 * commits and runs a PASSIVE checkpoint; a checkpoint that cannot take every frame of the
 * WAL is pinned by a reader. Expected: none pinned (db_read_end(db) before the copy loop in
 * files_dav_copy; without it every checkpoint was pinned). */
struct pin_check {
	sqlite3 *h;
	int rounds, pinned;
};

static void pin_check_on_write(void *arg)
{
	struct pin_check *c = arg;
	int nlog = 0, nckpt = 0;

	if (c->rounds >= 4)
		return;
	assert_int_equal(sqlite3_exec(c->h, "INSERT INTO review_pin (x) VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(c->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt), SQLITE_OK);
	c->rounds++;
	if (nckpt < nlog)
		c->pinned++;
}

static void test_copy_holds_no_snapshot(void **state)
{
	const size_t big = 4u << 20;
	unsigned char *data = malloc(big);
	char path[160];
	struct file_node src, n;
	struct pin_check c = { 0 };
	bool created = false;
	int r;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 31 + i / 4093);
	assert_int_equal(upload("pin-src.bin", data, big, &src), 0);
	free(data);
	snprintf(path, sizeof(path), "%s/kura.db", fx.dir);
	assert_int_equal(sqlite3_open_v2(path, &c.h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(c.h, 5000);
	assert_int_equal(sqlite3_exec(c.h, "CREATE TABLE IF NOT EXISTS review_pin (x INTEGER)", NULL, NULL, NULL),
			 SQLITE_OK);

	/* what server.c does for a request: a snapshot, its first reads (the resolve) */
	db_read_begin(fx.db);
	assert_int_equal(files_get(fx.db, fx.t.id, src.id, &n), 0);
	blob_test_on_write_arg = &c;
	blob_test_on_write = pin_check_on_write;
	r = files_dav_copy(fx.f, fx.db, &tester, fx.t.id, src.id, fx.root, "pin-copy.bin", false, false, &created);
	blob_test_on_write = NULL;
	blob_test_on_write_arg = NULL;
	db_read_end(fx.db);
	assert_int_equal(r, 0);
	assert_true(created);
	sqlite3_exec(c.h, "DROP TABLE review_pin", NULL, NULL, NULL);
	sqlite3_close(c.h);
	print_message("COPY of 4 MiB: %d checkpoints inside it, %d of them pinned by a reader\n", c.rounds, c.pinned);
	assert_int_equal(c.rounds, 4);
	assert_int_equal(c.pinned, 0);   /* FAILS without db_read_end before the copy loop */
}

/* Statements counted through db_trace on this test's connection. */
static void count_statement(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	(void)tenant_id;
	(void)sql;
	if (ev == DB_TRACE_STATEMENT && db == fx.db)
		(*(int *)ctx)++;
}

/* A small PUT's statements (issue 11: each is microseconds of its CPU). The WebDAV path
 * resolution of up to four segments is one statement (it took the root's id, its row, then
 * a lookup a segment); an upload's
 * transaction reads its parent and the file of that name in one statement, and charges the
 * quota in one (an UPDATE that refuses what does not fit; the read after it only then);
 * files_upload_begin_at takes the parent and the old node as the caller read them (only the
 * quota is read). Each bound FAILS with the statements before. The answers stay the same:
 * resolve_leaf's parent and node, -ENOENT and -ENOTDIR, a replacement charged exactly. */
static void test_upload_statements(void **state)
{
	unsigned char data[4096];
	struct file_node a, b, parent, node, got;
	struct files_upload *u = NULL;
	bool created = true;
	int64_t before;
	int n = 0;

	(void)state;
	randombytes_buf(data, sizeof(data));
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "st", &a), 0);
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, a.id, "in", &b), 0);
	db_trace(count_statement, &n);
	assert_int_equal(files_dav_resolve(fx.db, fx.t.id, "/st/in", &got), 0);
	db_trace(NULL, NULL);
	assert_int_equal(got.id, b.id);
	assert_int_equal(n, 1);   /* the root, "st", "in" joined: 4 before (the root's id, its row, a lookup a segment) */

	n = 0;
	db_trace(count_statement, &n);
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/st/in/new.bin", &parent, &node), -ENOENT);
	db_trace(NULL, NULL);
	assert_int_equal(n, 1);   /* the parent and the name in one */
	assert_int_equal(parent.id, b.id);
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/st/gone/new.bin", &got, &node), -ENOTDIR);

	before = usage();
	n = 0;
	db_trace(count_statement, &n);
	assert_int_equal(files_upload_begin_at(fx.f, fx.db, fx.t.id, &parent, NULL, "new.bin", "text/plain", -1,
					       false, &u), 0);
	assert_int_equal(n, 1);   /* the quota: the parent and the name as resolved (3 with files_upload_begin) */
	assert_int_equal(files_upload_write(u, data, sizeof(data)), 0);
	n = 0;
	assert_int_equal(files_upload_commit(u, fx.db, &tester, &node, &created), 0);
	db_trace(NULL, NULL);
	assert_true(created);
	/* the tenant key, the parent and the name, the quota, the row, the name queue, the
	 * record's three: 10 before (the parent, the name, the quota read, then its change) */
	assert_true(n <= 8);
	assert_int_equal(usage(), before + (int64_t)sizeof(data) + KURA_QUOTA_ITEM_BYTES);

	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/st/in/new.bin", &parent, &got), 0);
	assert_int_equal(got.id, node.id);
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/st/in/new.bin/x", &parent, &got), -ENOTDIR);
	/* a replacement: the old node passed on, the same id, charged by the difference */
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/st/in/new.bin", &parent, &got), 0);
	assert_int_equal(files_upload_begin_at(fx.f, fx.db, fx.t.id, &parent, &got, "new.bin", "text/plain", -1,
					       false, &u), 0);
	assert_int_equal(files_upload_write(u, data, 100), 0);
	assert_int_equal(files_upload_commit(u, fx.db, &tester, &node, &created), 0);
	assert_false(created);
	assert_int_equal(node.id, got.id);
	assert_int_equal(usage(), before + 100 + KURA_QUOTA_ITEM_BYTES);
	expect_content(node.id, data, 100);
	/* what the joined statement does not answer goes a lookup a segment, with the same
	 * answers: a missing folder, a file where a folder must be, a deeper path */
	assert_int_equal(files_dav_resolve(fx.db, fx.t.id, "/st/gone/x", &got), -ENOENT);
	assert_int_equal(files_dav_resolve(fx.db, fx.t.id, "/st/in/new.bin/x", &got), -ENOTDIR);
	assert_int_equal(files_dav_resolve(fx.db, fx.t.id, "/st/in/new.bin", &got), 0);
	assert_int_equal(got.id, node.id);
	assert_int_equal(files_dav_resolve(fx.db, fx.t.id, "/st//in", &got), -ENOENT);
	{
		struct file_node d = b, leaf;
		char deep[64] = "/st/in";
		int i;

		for (i = 0; i < 4; i++) {
			char name[8];

			snprintf(name, sizeof(name), "d%d", i);
			assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, d.id, name, &d), 0);
			strncat(deep, "/", sizeof(deep) - strlen(deep) - 1);
			strncat(deep, name, sizeof(deep) - strlen(deep) - 1);
			assert_int_equal(files_dav_resolve(fx.db, fx.t.id, deep, &got), 0);
			assert_int_equal(got.id, d.id);
		}
		strncat(deep, "/none", sizeof(deep) - strlen(deep) - 1);
		assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, deep, &got, &leaf), -ENOENT);
		assert_int_equal(got.id, d.id);
	}
	/* a folder of that name, as the caller read it: refused before any byte */
	assert_int_equal(files_upload_begin_at(fx.f, fx.db, fx.t.id, &a, &b, "in", "text/plain", -1, false, &u),
			 -EISDIR);
}

/* files_upload_begin_path of path, then n bytes of data: both must succeed; the commit's
 * result is returned (its node into *ret). */
static int put_path(const char *path, const unsigned char *data, size_t n, bool no_replace, struct file_node *ret,
		    bool *ret_created)
{
	struct files_upload *u = NULL;

	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, path, NULL, (int64_t)n, no_replace, &u), 0);
	assert_int_equal(files_upload_write(u, data, n), 0);
	return files_upload_commit(u, fx.db, &tester, ret, ret_created);
}

/* files_upload_begin_path (WebDAV's small PUT, issue 11 step 22): no statement before the
 * body; the commit resolves the path and checks what the caller would have checked before
 * it, in its transaction, with the same answers (-ENOTDIR, -EISDIR, -EEXIST, -EDQUOT) and
 * nothing stored, replaced or charged on a refusal. A body over the bound, a path that is
 * not tenant-relative or names no file: refused at once. */
static void test_upload_path(void **state)
{
	unsigned char data[4096];
	struct file_node a, node, got, parent;
	struct files_upload *u = NULL;
	bool created = false;
	int64_t before, q = 0, used = 0;
	int n = 0;

	(void)state;
	randombytes_buf(data, sizeof(data));
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "up", &a), 0);
	before = usage();
	db_trace(count_statement, &n);
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "/up/p.bin", "text/plain", sizeof(data), false, &u),
			 0);
	db_trace(NULL, NULL);
	assert_int_equal(n, 0);
	assert_int_equal(files_upload_write(u, data, sizeof(data)), 0);
	assert_int_equal(files_upload_commit(u, fx.db, &tester, &node, &created), 0);
	assert_true(created);
	assert_int_equal(node.parent_id, a.id);
	assert_int_equal(usage(), before + (int64_t)sizeof(data) + KURA_QUOTA_ITEM_BYTES);
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/up/p.bin", &parent, &got), 0);
	assert_int_equal(got.id, node.id);
	expect_content(node.id, data, sizeof(data));
	/* a replacement: the same node, charged by the difference */
	assert_int_equal(put_path("/up/p.bin", data, 10, false, &got, &created), 0);
	assert_false(created);
	assert_int_equal(got.id, node.id);
	assert_int_equal(usage(), before + 10 + KURA_QUOTA_ITEM_BYTES);
	expect_content(node.id, data, 10);
	/* the refusals at the commit */
	before = usage();
	assert_int_equal(put_path("/gone/x.bin", data, 1, false, &got, &created), -ENOTDIR);
	assert_int_equal(put_path("/up/p.bin/x.bin", data, 1, false, &got, &created), -ENOTDIR);
	assert_int_equal(put_path("/up", data, 1, false, &got, &created), -EISDIR);
	assert_int_equal(put_path("/up/p.bin", data, 1, true, &got, &created), -EEXIST);
	assert_int_equal(files_quota(fx.db, fx.t.id, &q, &used), 0);
	assert_int_equal(files_quota_set(fx.db, &actor_system, fx.t.id, used), 0);
	assert_int_equal(put_path("/up/q.bin", data, 1, false, &got, &created), -EDQUOT);
	assert_int_equal(files_quota_set(fx.db, &actor_system, fx.t.id, q), 0);
	assert_int_equal(usage(), before);
	expect_content(node.id, data, 10);
	assert_int_equal(files_dav_resolve_leaf(fx.db, fx.t.id, "/up/q.bin", &parent, &got), -ENOENT);
	/* with no guard, the locks of the parent as resolved: a Depth 0 lock on it refuses a
	 * new member */
	assert_int_equal(take_lock("/up", false), 0);
	assert_int_equal(put_path("/up/l.bin", data, 1, false, &got, &created), -ENOLCK);
	assert_int_equal(drop_lock(), 0);
	assert_int_equal(usage(), before);
	/* deeper than one statement resolves (a lookup a segment) */
	{
		struct file_node d = a;
		const char *names[] = { "d1", "d2", "d3", "d4", "d5" };
		size_t k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, d.id, names[k], &d), 0);
		assert_int_equal(put_path("/up/d1/d2/d3/d4/d5/deep.bin", data, 4, false, &got, &created), 0);
		assert_int_equal(got.parent_id, d.id);
		expect_content(got.id, data, 4);
	}
	/* refused at once */
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "/up/big.bin", NULL, KURA_UPLOAD_DEFER_MAX_BYTES + 1,
						 false, &u), -EFBIG);
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "up/x.bin", NULL, 1, false, &u), -EINVAL);
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "/up/", NULL, 1, false, &u), -EINVAL);
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "/up/x.bin", NULL, -1, false, &u), -EINVAL);
	assert_int_equal(files_upload_begin_path(fx.f, fx.t.id, "/up/x.bin", "bad type", 1, false, &u), -EINVAL);
}

/* Reads all of what r holds and compares it with data. */
static void expect_reader(struct files_reader *r, const unsigned char *data, size_t n)
{
	unsigned char *buf = malloc(n + 1);
	size_t got = 0;

	assert_non_null(buf);
	assert_int_equal(files_read(r, 0, buf, n + 1, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(buf, data, n);
	files_reader_close(r);
	free(buf);
}

/* files_dav_resolve_content then files_open_at, as WebDAV's GET; the statements counted. */
static int dav_open(const char *path, int64_t tenant_id, struct file_node *ret, struct files_reader **rd, int *n)
{
	struct file_content c;
	int r;

	*n = 0;
	*rd = NULL;
	db_trace(count_statement, n);
	r = files_dav_resolve_content(fx.db, fx.t.id, path, ret, &c);
	if (r == 0)
		r = files_open_at(fx.f, fx.db, tenant_id, ret, &c, rd);
	db_trace(NULL, NULL);
	files_content_clear(&c);
	return r;
}

/* A download's statements (issue 11): WebDAV's GET resolved its path (one statement), then
 * files_open read the node by id again and then its key and inline content (two more); the
 * portal's and a share's download by id read the node, then the key. Now the node, the key
 * and the inline content come in one statement either way, carried to files_open_at, which
 * reads nothing else (the tenant key is the keyring's copy). Each bound FAILS with the
 * statements before (3 and 2). The checks stay: another tenant's id or content, a folder,
 * a damaged key, a key bound to another blob id, a size the stored layout disagrees with. */
static void test_download_statements(void **state)
{
	const size_t big_n = 200000;   /* past KURA_INLINE_MAX_BYTES: in a blob */
	unsigned char small[4096], *big = malloc(big_n);
	struct file_node d, e, sm, bg, got;
	struct files_reader *rd = NULL;
	struct file_content c;
	char deep[96] = "/dl";
	bool created = false;
	int n = 0;

	(void)state;
	assert_non_null(big);
	randombytes_buf(small, sizeof(small));
	randombytes_buf(big, big_n);
	assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, fx.root, "dl", &d), 0);
	{
		struct files_upload *u = NULL;

		assert_int_equal(files_upload_begin(fx.f, fx.db, fx.t.id, d.id, "small.bin", "text/plain", -1,
						    false, &u), 0);
		assert_int_equal(files_upload_write(u, small, sizeof(small)), 0);
		assert_int_equal(files_upload_commit(u, fx.db, &tester, &sm, NULL), 0);
		assert_int_equal(files_upload_begin(fx.f, fx.db, fx.t.id, d.id, "big.bin", "text/plain", -1, false,
						    &u), 0);
		assert_int_equal(files_upload_write(u, big, big_n), 0);
		assert_int_equal(files_upload_commit(u, fx.db, &tester, &bg, NULL), 0);
	}

	/* by id (the portal, share links, archives): one statement, was two */
	db_trace(count_statement, &n);
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, sm.id, &got, &rd), 0);
	db_trace(NULL, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(got.etag, sm.etag);
	expect_reader(rd, small, sizeof(small));
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, bg.id, NULL, &rd), 0);
	expect_reader(rd, big, big_n);
	/* WebDAV's GET: the path, the node and its key in one statement, was three */
	assert_int_equal(dav_open("/dl/small.bin", fx.t.id, &got, &rd, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got.id, sm.id);
	assert_int_equal(got.size, (int64_t)sizeof(small));
	expect_reader(rd, small, sizeof(small));
	assert_int_equal(dav_open("/dl/big.bin", fx.t.id, &got, &rd, &n), 0);
	assert_int_equal(n, 1);
	expect_reader(rd, big, big_n);
	/* a path deeper than the joined statements: a lookup a segment, then the file by id */
	e = d;
	for (int i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "e%d", i);
		assert_int_equal(files_mkdir(fx.db, &tester, fx.t.id, e.id, name, &e), 0);
		strncat(deep, "/", sizeof(deep) - strlen(deep) - 1);
		strncat(deep, name, sizeof(deep) - strlen(deep) - 1);
	}
	assert_int_equal(files_dav_copy(fx.f, fx.db, &tester, fx.t.id, sm.id, e.id, "small.bin", false, false,
					&created), 0);
	strncat(deep, "/small.bin", sizeof(deep) - strlen(deep) - 1);
	assert_int_equal(dav_open(deep, fx.t.id, &got, &rd, &n), 0);
	expect_reader(rd, small, sizeof(small));

	/* the checks: a folder, a missing name, another tenant's id, content read for another
	 * tenant */
	assert_int_equal(dav_open("/dl", fx.t.id, &got, &rd, &n), -EISDIR);
	assert_int_equal(got.kind, NODE_FOLDER);
	assert_int_equal(dav_open("/dl/none.bin", fx.t.id, &got, &rd, &n), -ENOENT);
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id + 1000, sm.id, NULL, &rd), -ENOENT);
	assert_int_equal(files_get_content(fx.db, fx.t.id + 1000, sm.id, &got, &c), -ENOENT);
	assert_int_equal(dav_open("/dl/small.bin", fx.t.id + 1000, &got, &rd, &n), -ENOENT);
	assert_null(rd);
	/* the key is unwrapped bound to the blob id: the small file's row naming the big
	 * file's blob id fails, as a damaged key does */
	assert_int_equal(db_exec(fx.db, "UPDATE file_nodes SET blob_id = (SELECT blob_id FROM file_nodes"
				 " WHERE id = $2) WHERE tenant_id = $1 AND id = $3", "iii", fx.t.id, bg.id, sm.id), 0);
	assert_int_equal(dav_open("/dl/small.bin", fx.t.id, &got, &rd, &n), -EBADMSG);
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, sm.id, NULL, &rd), -EBADMSG);
	assert_int_equal(db_exec(fx.db, "UPDATE file_nodes SET wrapped_key = X'00' WHERE tenant_id = $1 AND id = $2",
				 "ii", fx.t.id, bg.id), 0);
	assert_int_equal(dav_open("/dl/big.bin", fx.t.id, &got, &rd, &n), -EBADMSG);
	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, bg.id, NULL, &rd), -EBADMSG);
	/* the stored layout is checked against the recorded size */
	assert_int_equal(files_dav_copy(fx.f, fx.db, &tester, fx.t.id, e.id, d.id, "deep", true, false, &created), 0);
	assert_int_equal(db_exec(fx.db, "UPDATE file_nodes SET size = size + 1 WHERE tenant_id = $1"
				 " AND parent_id = (SELECT id FROM file_nodes WHERE tenant_id = $1 AND parent_id = $2"
				 " AND name = 'deep')", "ii", fx.t.id, d.id), 0);
	assert_int_equal(dav_open("/dl/deep/small.bin", fx.t.id, &got, &rd, &n), -EBADMSG);
	assert_null(rd);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_props_cost),
		cmocka_unit_test(test_tenant_lock_first),
		cmocka_unit_test(test_upload_read),
		cmocka_unit_test(test_fault_during_upload),
		cmocka_unit_test(test_upload_respects_locks),
		cmocka_unit_test(test_quota_exact),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_trash_purge),
		cmocka_unit_test(test_normalize_legacy),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_dav_entries_plan),
		cmocka_unit_test(test_resolve_plans),
		cmocka_unit_test(test_listing_plans),
		cmocka_unit_test(test_copy_holds_no_snapshot),
		cmocka_unit_test(test_upload_statements),
		cmocka_unit_test(test_upload_path),
		cmocka_unit_test(test_download_statements),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
