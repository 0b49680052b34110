/*
 * Database interface. SQL uses $1..$N placeholders only (the subset SQLite and PostgreSQL
 * share); values are always bound, never formatted into SQL. One backend today (SQLite,
 * WAL mode, one connection per thread); PostgreSQL is meant to sit behind the same calls.
 *
 * Query convenience: db_query(db, sql, types, ...) prepares (cached), binds and returns a
 * statement positioned before the first row. types has one letter per placeholder:
 *   'i' int64_t, 'I' int64_t where 0 binds NULL (optional ids), 't' const char * (NULL binds
 *   NULL), 'b' const void *, size_t, 'n' NULL.
 * Step with db_step() (1 row, 0 done, <0 error); release with db_done() (always).
 *
 * Tenant data: every table holding tenant data has tenant_id, and the modules that own the
 * tables take the request's tenant id in every function. SQL outside those modules never
 * touches tenant tables.
 */
#ifndef KURA_STORE_DB_H
#define KURA_STORE_DB_H
#include "core/core.h"

struct db;
struct db_stmt;

/* Opens (creating) the database at path. NULL on failure, with a message in err. */
struct db *db_open(const char *path, char *err, size_t err_size);
struct db *db_close(struct db *db);

/* The calling thread's connection to the database set with db_set_path(). Closed at thread exit. */
int db_set_path(const char *path);
struct db *db_thread(void);

/* Applies every embedded migration not yet applied, each in its own transaction. */
int db_migrate(struct db *db);

/* Write transactions (BEGIN IMMEDIATE on SQLite): take the write lock up front. */
int db_begin(struct db *db) KURA_WUR;
int db_commit(struct db *db) KURA_WUR;
int db_rollback(struct db *db);
/* True inside a transaction this connection began (audit_record joins it, else makes its own). */
bool db_in_transaction(struct db *db);

struct db_stmt *db_query(struct db *db, const char *sql, const char *types, ...);
/* Runs a statement that returns no rows. Returns 0, -EEXIST on a uniqueness conflict, <0 else. */
int db_exec(struct db *db, const char *sql, const char *types, ...);
int db_step(struct db_stmt *st);
struct db_stmt *db_done(struct db_stmt *st);

int64_t db_int(struct db_stmt *st, int col);
const char *db_text(struct db_stmt *st, int col);            /* NULL for SQL NULL */
const void *db_blob(struct db_stmt *st, int col, size_t *ret_n);
bool db_is_null(struct db_stmt *st, int col);

int64_t db_last_id(struct db *db);
int64_t db_changes(struct db *db);
const char *db_errmsg(struct db *db);
const char *db_version(void);
#endif
