/*
 * Inside the store module: the backend seam. db.c holds the public calls of db.h and hands
 * each to the backend the handle belongs to, SQLite (db_sqlite.c) or PostgreSQL (db_pg.c).
 * Every backend's struct db and struct db_stmt begin with an int backend (DB_BACKEND_*),
 * which is all db.c reads of them. A backend implements the primitives below; db_exec,
 * db_insert and db_one are written once in db.c on top of them.
 */
#ifndef KURA_STORE_DB_INT_H
#define KURA_STORE_DB_INT_H
#include <stdarg.h>

#include "store/db.h"

enum { DB_BACKEND_SQLITE = 0, DB_BACKEND_PG = 1 };

struct db_head {
	int backend;
};

/* A db_combined() work in a transaction of its own, through the dispatching db_begin,
 * db_commit and db_rollback (db.c): PostgreSQL's db_combined, and SQLite's for a file
 * without group commit. */
int db_work_alone(struct db *db, db_work_fn fn, void *ctx);

#define DB_BACKEND_PROTOTYPES(p)                                                                   \
	struct db *p##_db_open(const char *path, char *err, size_t err_size);                      \
	struct db *p##_db_close(struct db *db);                                                    \
	int p##_db_set_path(const char *path);                                                     \
	struct db *p##_db_thread(void);                                                            \
	int p##_db_migrate(struct db *db);                                                         \
	int p##_db_begin(struct db *db);                                                           \
	int p##_db_commit(struct db *db);                                                          \
	int p##_db_commit_relaxed(struct db *db);                                                  \
	uint64_t p##_db_relaxed_owed(struct db *db);                                               \
	int p##_db_rollback(struct db *db);                                                        \
	int p##_db_combined(struct db *db, db_work_fn fn, void *ctx);                              \
	bool p##_db_in_transaction(struct db *db);                                                 \
	void p##_db_read_begin(struct db *db);                                                     \
	void p##_db_read_end(struct db *db);                                                       \
	int p##_db_lock_tenant(struct db *db, int64_t tenant_id);                                  \
	struct db_stmt *p##_vquery(struct db *db, const char *sql, const char *types, va_list ap); \
	int p##_db_step(struct db_stmt *st);                                                       \
	struct db_stmt *p##_db_done(struct db_stmt *st);                                           \
	int64_t p##_db_int(struct db_stmt *st, int col);                                           \
	const char *p##_db_text(struct db_stmt *st, int col);                                      \
	const void *p##_db_blob(struct db_stmt *st, int col, size_t *ret_n);                       \
	bool p##_db_is_null(struct db_stmt *st, int col);                                          \
	int p##_db_name_index(struct db *db, int64_t id, const char *name);                        \
	int p##_db_name_fold(struct db *db, int64_t min_queued);                                   \
	int p##_db_name_unindex_subtree(struct db *db, int64_t tenant_id, int64_t id);             \
	int p##_db_name_unindex_leaves(struct db *db, int64_t tenant_id, int64_t limit);           \
	int p##_db_checkpoint_truncate(struct db *db);                                             \
	struct db_stmt *p##_db_name_search(struct db *db, int64_t tenant_id, const char *text,     \
					   int64_t after, int64_t limit, char *scratch,             \
					   size_t scratch_size);                                    \
	int64_t p##_db_changes(struct db *db);                                                     \
	const char *p##_db_errmsg(struct db *db);                                                  \
	void p##_db_trace(db_trace_fn *fn, void *ctx);

DB_BACKEND_PROTOTYPES(sqlite)
DB_BACKEND_PROTOTYPES(pg)

/* SQLite only (a PostgreSQL database is copied with pg_dump: docs/scale-out.md) */
int sqlite_db_backup(const char *path, const char *dst_path, char *err, size_t err_size);
int sqlite_db_integrity_check(const char *path, char *err, size_t err_size);
const char *sqlite_db_version(void);
/* unused: db.c's own versions run on every backend */
struct db_stmt *sqlite_db_query(struct db *db, const char *sql, const char *types, ...);
int sqlite_db_exec(struct db *db, const char *sql, const char *types, ...);
const char *pg_db_version(void);
/* PostgreSQL only: the server closed this connection (db_lost) */
bool pg_db_lost(struct db *db);
#endif
