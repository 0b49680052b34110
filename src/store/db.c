/*
 * The db.h calls, handed to the backend a handle belongs to (db_int.h), and what every
 * backend shares: helpers written on top of the primitives, so a backend implements only
 * those. The backend is chosen by the database's URL (db_url_is_pg): a postgresql:// or
 * postgres:// libpq URI is PostgreSQL (db_pg.c), anything else a SQLite file (db_sqlite.c).
 */
#include <stdlib.h>

#include "core/log.h"
#include "store/db_int.h"

#define KIND(p) (((const struct db_head *)(const void *)(p))->backend)
#define PG(p) (KIND(p) == DB_BACKEND_PG)

static int thread_backend = DB_BACKEND_SQLITE;   /* of db_set_path()'s database */

bool db_url_is_pg(const char *url)
{
	return url && (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11));
}

int db_url_resolve(const char *url, const char *dir, char *out, size_t size)
{
	const char *file = "kura.db";

	if (url && url[0]) {
		if (db_url_is_pg(url))
			return str_copy(out, size, url) < 0 ? -ENAMETOOLONG : 0;
		if (strncmp(url, "sqlite:", 7) || !url[7])
			return -EINVAL;
		file = url + 7;
	}
	if (file[0] == '/')
		return str_copy(out, size, file) < 0 ? -ENAMETOOLONG : 0;
	return str_printf(out, size, "%s/%s", dir, file) < 0 ? -ENAMETOOLONG : 0;
}

struct db *db_open(const char *path, char *err, size_t err_size)
{
	return db_url_is_pg(path) ? pg_db_open(path, err, err_size) : sqlite_db_open(path, err, err_size);
}

struct db *db_close(struct db *db)
{
	if (!db)
		return NULL;
	return PG(db) ? pg_db_close(db) : sqlite_db_close(db);
}

int db_set_path(const char *path)
{
	thread_backend = db_url_is_pg(path) ? DB_BACKEND_PG : DB_BACKEND_SQLITE;
	return thread_backend == DB_BACKEND_PG ? pg_db_set_path(path) : sqlite_db_set_path(path);
}

struct db *db_thread(void)
{
	return thread_backend == DB_BACKEND_PG ? pg_db_thread() : sqlite_db_thread();
}

int db_backup(const char *path, const char *dst_path, char *err, size_t err_size)
{
	if (db_url_is_pg(path)) {
		str_copy(err, err_size, "kura backup copies a SQLite database only; back up a PostgreSQL database"
			 " with pg_dump or its base backups and WAL archive (docs/scale-out.md \"Backups\")");
		return -ENOTSUP;
	}
	return sqlite_db_backup(path, dst_path, err, err_size);
}

int db_integrity_check(const char *path, char *err, size_t err_size)
{
	if (db_url_is_pg(path)) {
		str_copy(err, err_size, "no integrity check of a PostgreSQL database here: use its own tools"
			 " (pg_amcheck, data checksums; docs/scale-out.md \"Backups\")");
		return -ENOTSUP;
	}
	return sqlite_db_integrity_check(path, err, err_size);
}

int db_migrate(struct db *db)
{
	return PG(db) ? pg_db_migrate(db) : sqlite_db_migrate(db);
}

int db_begin(struct db *db)
{
	return PG(db) ? pg_db_begin(db) : sqlite_db_begin(db);
}

int db_commit(struct db *db)
{
	return PG(db) ? pg_db_commit(db) : sqlite_db_commit(db);
}

int db_commit_relaxed(struct db *db)
{
	return PG(db) ? pg_db_commit_relaxed(db) : sqlite_db_commit_relaxed(db);
}

uint64_t db_relaxed_owed(struct db *db)
{
	return PG(db) ? pg_db_relaxed_owed(db) : sqlite_db_relaxed_owed(db);
}

int db_work_alone(struct db *db, db_work_fn fn, void *ctx)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = fn(db, ctx);
	if (r > 0)
		r = -EINVAL;   /* a work returns 0 or <0 (db.h) */
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		(void)db_rollback(db);
	return r;
}

int db_combined(struct db *db, db_work_fn fn, void *ctx)
{
	if (!db || !fn)
		return -EINVAL;
	return PG(db) ? pg_db_combined(db, fn, ctx) : sqlite_db_combined(db, fn, ctx);
}

int db_rollback(struct db *db)
{
	return PG(db) ? pg_db_rollback(db) : sqlite_db_rollback(db);
}

bool db_in_transaction(struct db *db)
{
	return PG(db) ? pg_db_in_transaction(db) : sqlite_db_in_transaction(db);
}

void db_read_begin(struct db *db)
{
	if (db)
		PG(db) ? pg_db_read_begin(db) : sqlite_db_read_begin(db);
}

void db_read_end(struct db *db)
{
	if (db)
		PG(db) ? pg_db_read_end(db) : sqlite_db_read_end(db);
}

int db_lock_tenant(struct db *db, int64_t tenant_id)
{
	if (!db) {
		log_error("db.lock", "tenant lock %lld asked for without a connection", (long long)tenant_id);
		return -EINVAL;
	}
	return PG(db) ? pg_db_lock_tenant(db, tenant_id) : sqlite_db_lock_tenant(db, tenant_id);
}

static struct db_stmt *vquery(struct db *db, const char *sql, const char *types, va_list ap)
{
	if (!db)
		return NULL;
	return PG(db) ? pg_vquery(db, sql, types, ap) : sqlite_vquery(db, sql, types, ap);
}

struct db_stmt *db_query(struct db *db, const char *sql, const char *types, ...)
{
	struct db_stmt *st;
	va_list ap;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	return st;
}

int db_exec(struct db *db, const char *sql, const char *types, ...)
{
	struct db_stmt *st;
	va_list ap;
	int r;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	if (!st)
		return -EIO;
	while ((r = db_step(st)) > 0)
		;
	db_done(st);
	return r;
}

int db_insert(struct db *db, int64_t *ret_id, const char *sql, const char *types, ...)
{
	struct db_stmt *st;
	int64_t id = 0;
	va_list ap;
	int r, rows = 0;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	if (!st)
		return -EIO;
	/* SQLite makes the change on the first step and hands out the RETURNING rows after */
	while ((r = db_step(st)) > 0)
		if (rows++ == 0)
			id = db_int(st, 0);
	db_done(st);
	if (r < 0)
		return r;
	if (rows != 1) {
		if (rows > 1)
			log_error("db.insert", "%d rows returned by: %s", rows, sql);
		return rows ? -EIO : -ENOENT;
	}
	*ret_id = id;
	return 0;
}

int db_step(struct db_stmt *st)
{
	if (!st)
		return -EIO;
	return PG(st) ? pg_db_step(st) : sqlite_db_step(st);
}

struct db_stmt *db_done(struct db_stmt *st)
{
	if (!st)
		return NULL;
	return PG(st) ? pg_db_done(st) : sqlite_db_done(st);
}

int db_one(struct db_stmt *st, db_row_fn *fn, void *ret)
{
	int r = db_step(st);   /* a NULL st steps to -EIO */

	if (r > 0) {
		fn(st, ret);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int64_t db_int(struct db_stmt *st, int col)
{
	return PG(st) ? pg_db_int(st, col) : sqlite_db_int(st, col);
}

const char *db_text(struct db_stmt *st, int col)
{
	return PG(st) ? pg_db_text(st, col) : sqlite_db_text(st, col);
}

const void *db_blob(struct db_stmt *st, int col, size_t *ret_n)
{
	return PG(st) ? pg_db_blob(st, col, ret_n) : sqlite_db_blob(st, col, ret_n);
}

bool db_is_null(struct db_stmt *st, int col)
{
	return PG(st) ? pg_db_is_null(st, col) : sqlite_db_is_null(st, col);
}

int db_name_index(struct db *db, int64_t id, const char *name)
{
	return PG(db) ? pg_db_name_index(db, id, name) : sqlite_db_name_index(db, id, name);
}


int db_name_fold(struct db *db, int64_t min_queued)
{
	return PG(db) ? pg_db_name_fold(db, min_queued) : sqlite_db_name_fold(db, min_queued);
}

int db_name_unindex_subtree(struct db *db, int64_t tenant_id, int64_t id)
{
	return PG(db) ? pg_db_name_unindex_subtree(db, tenant_id, id) : sqlite_db_name_unindex_subtree(db, tenant_id, id);
}

int db_name_unindex_leaves(struct db *db, int64_t tenant_id, int64_t limit)
{
	return PG(db) ? pg_db_name_unindex_leaves(db, tenant_id, limit) : sqlite_db_name_unindex_leaves(db, tenant_id, limit);
}

int db_checkpoint_truncate(struct db *db)
{
	return PG(db) ? pg_db_checkpoint_truncate(db) : sqlite_db_checkpoint_truncate(db);
}

struct db_stmt *db_name_search(struct db *db, int64_t tenant_id, const char *text, int64_t after,
			       int64_t limit, char *scratch, size_t scratch_size)
{
	if (!db)
		return NULL;
	return PG(db) ? pg_db_name_search(db, tenant_id, text, after, limit, scratch, scratch_size)
		      : sqlite_db_name_search(db, tenant_id, text, after, limit, scratch, scratch_size);
}

int64_t db_changes(struct db *db)
{
	return PG(db) ? pg_db_changes(db) : sqlite_db_changes(db);
}

const char *db_errmsg(struct db *db)
{
	if (!db)
		return "no connection";
	return PG(db) ? pg_db_errmsg(db) : sqlite_db_errmsg(db);
}

const char *db_version(void)
{
	return sqlite_db_version();
}

bool db_is_pg(struct db *db)
{
	return db && PG(db);
}

bool db_lost(struct db *db)
{
	return db && PG(db) && pg_db_lost(db);
}

void db_trace(db_trace_fn *fn, void *ctx)
{
	sqlite_db_trace(fn, ctx);
	pg_db_trace(fn, ctx);
}
