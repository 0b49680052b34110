/*
 * Database interface. SQL uses $1..$N placeholders only (the subset SQLite and PostgreSQL
 * share); values are always bound, never formatted into SQL. One backend today (SQLite,
 * WAL mode, one connection per thread); PostgreSQL is meant to sit behind the same calls
 * (issue 10), so the SQL in src/ is written once for both (see "Portable SQL" below).
 *
 * Query convenience: db_query(db, sql, types, ...) prepares (cached), binds and returns a
 * statement positioned before the first row. types has one letter per placeholder:
 *   'i' int64_t, 'I' int64_t where 0 binds NULL (optional ids), 't' const char * (NULL binds
 *   NULL), 'b' const void *, size_t, 'n' NULL.
 * Step with db_step() (1 row, 0 done, <0 error); release with db_done() (always).
 * New rows: db_insert() runs an "INSERT … RETURNING id" and hands back the id.
 *
 * Tenant data: every table holding tenant data has tenant_id, and the modules that own the
 * tables take the request's tenant id in every function. SQL outside those modules never
 * touches tenant tables.
 *
 * ---- Portable SQL (what the statements in src/ may use) ----
 * - Placeholders $1..$N, each bound with a type letter; a backend may send those types to
 *   the server (PostgreSQL: int8, text, bytea), so "$1 IS NULL OR col = $1" needs no cast.
 * - New ids come from "INSERT … RETURNING id" (SQLite >= 3.35; Debian 12 has 3.40.1), never
 *   from a last-insert-id call, which PostgreSQL does not have and which a trigger or a second
 *   INSERT in between would move.
 * - Upserts: "ON CONFLICT (cols) DO NOTHING" / "DO UPDATE SET c = excluded.c". Not INSERT OR
 *   IGNORE/REPLACE, REPLACE INTO.
 * - Functions both have: COALESCE, CASE, substr, length (characters of text), lower, count,
 *   sum, min, max (aggregates only: two-argument scalar max()/min() are SQLite's; GREATEST
 *   is PostgreSQL's), "||". Not: GLOB, strftime/datetime/julianday, IFNULL, instr, printf,
 *   typeof, randomblob, CAST(x AS BLOB), octet_length (SQLite only from 3.43), rowid, LIMIT -1,
 *   PRAGMA (db_sqlite.c alone says PRAGMA). Byte lengths of text are counted in C.
 * - Results read with db_int() are integers: a comparison in a select list is written
 *   "CASE WHEN c THEN 1 ELSE 0 END" (PostgreSQL returns a boolean for a bare "c IS NULL"),
 *   and every branch of a CASE has the same type (no "ELSE 0" beside boolean branches).
 *   Flags are integer columns compared with "= 0" / "= 1", never used bare as conditions.
 * - NULL-safe equality: "a IS NOT DISTINCT FROM b" is standard and both have it (SQLite
 *   >= 3.39), but PostgreSQL never uses an index for it. Where NULL stands for one key (the
 *   provider's audit chain: tenant_id NULL) the statement comes in two forms, "col = $1" and
 *   "col IS NULL AND $1 = 0", chosen in C, so both backends search the index (audit_int.h
 *   AUDIT_CHAIN_SQL). Never SQLite's "col IS $1".
 * - Text compares byte by byte (ORDER BY name, name > $3 for paging, UNIQUE): SQLite's
 *   BINARY collation; a PostgreSQL database must use the "C" collation to sort the same.
 * - Recursive CTEs (WITH RECURSIVE), partial indexes (CREATE INDEX … WHERE), subqueries with
 *   LIMIT inside IN (…), and WITH before UPDATE/DELETE work in both.
 *
 * ---- Column types: SQLite migration ↔ its PostgreSQL twin ----
 * Migrations are per backend (the files in src/store/migrations are SQLite's; PostgreSQL's keep the
 * same numbers beside them, issue 10). Applied migrations are never edited (docs/HACKING.md
 * "How to add a migration"), so the existing files keep SQLite's spelling; what each means:
 *   INTEGER (SQLite integers are always 64-bit)  ↔ BIGINT: every id, time in µs, size and
 *       counter. New SQLite migrations write BIGINT (same INTEGER affinity) except for the
 *       row id, which must stay "INTEGER PRIMARY KEY" to be SQLite's rowid.
 *   INTEGER PRIMARY KEY [AUTOINCREMENT]        ↔ BIGINT GENERATED ALWAYS AS IDENTITY
 *       PRIMARY KEY. A PostgreSQL identity never hands out an id twice; on SQLite that takes
 *       AUTOINCREMENT ("-- kura:autoincrement TABLE", db_sqlite.c).
 *   INTEGER 0/1 flags                         ↔ SMALLINT (not BOOLEAN: "flag = 0" stays valid)
 *   BLOB                                       ↔ BYTEA
 *   TEXT                                       ↔ TEXT (UTF-8, collation "C")
 *   CREATE TRIGGER … BEGIN … END               ↔ a plpgsql function + CREATE TRIGGER
 *
 * ---- Write serialisation (the per-tenant lock) ----
 * Today SQLite serialises every writer: db_begin() takes a process-wide write mutex and
 * BEGIN IMMEDIATE, so a write transaction never overlaps another one. Code that reads
 * and then writes what it decided from the read (check-then-act) relies on that. A
 * backend that lets writers run side by side (PostgreSQL on several nodes, READ COMMITTED)
 * keeps those invariants only if such a transaction first takes the tenant's lock:
 *   r = db_begin(db); … r = db_lock_tenant(db, tenant_id);   (before the first read)
 * The lock is held to commit or rollback, is re-entrant, and is taken in ascending tenant
 * order when one transaction needs several (audit group commit). No-op on SQLite (it only
 * checks that a db_begin() transaction is open); SELECT pg_advisory_xact_lock(…) on
 * PostgreSQL. A single conditional UPDATE ("… SET n = n + 1 WHERE n < max") is atomic on
 * both backends and needs no lock; a uniqueness constraint needs none either.
 * The invariants that take it, and where:
 *   - audit chain head (one hash chain per tenant; 0 = provider): audit.c chain_append and
 *     the group commit, checkpoint.c audit_prune;
 *   - quota and usage: files.c files_charge, and every transaction that changes a tenant's
 *     file tree (the tree stays a tree within the depth limit, no live item under a trashed
 *     folder, no file wrapped with a rotated-out tenant key): files.c, files_content.c,
 *     files_dav.c;
 *   - share counters and the link-password counter: shares.c shares_count_download/_upload,
 *     shares_unlock, and the per-tenant share and label limits;
 *   - exclusive WebDAV locks: files_dav.c lock create, refresh, unlock, break;
 *   - lockout attempt counters: auth/account.c (reserve, settle, unlock), auth/reset.c,
 *     auth/mfa.c (second step);
 *   - limits counted before an insert (accounts per tenant, app passwords per account), the
 *     last active manager (auth/account.c), single-use WebAuthn registration challenges.
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
/* Takes tenant_id's write lock (0: the provider's own state) for the rest of the current
 * db_begin() transaction; see "Write serialisation" above. 0, or -EINVAL outside such a
 * transaction or for a negative id (the caller's bug: logged). */
int db_lock_tenant(struct db *db, int64_t tenant_id) KURA_WUR;

struct db_stmt *db_query(struct db *db, const char *sql, const char *types, ...);
/* Runs a statement that returns no rows. Returns 0, -EEXIST on a uniqueness conflict, <0 else. */
int db_exec(struct db *db, const char *sql, const char *types, ...);
/* Runs an "INSERT … RETURNING id": 0 and *ret_id, -EEXIST on a uniqueness conflict, -ENOENT
 * when no row came back (ON CONFLICT DO NOTHING), <0 else. */
int db_insert(struct db *db, int64_t *ret_id, const char *sql, const char *types, ...) KURA_WUR;
int db_step(struct db_stmt *st);
struct db_stmt *db_done(struct db_stmt *st);

/* A module's reader of the current row into its struct (ret). */
typedef void db_row_fn(struct db_stmt *st, void *ret);
/* Steps st once: 0 with the row read by fn into ret, -ENOENT when there is none, <0 on an
 * error (a NULL st, from a failed db_query, is -EIO). Releases st in every case. */
int db_one(struct db_stmt *st, db_row_fn *fn, void *ret) KURA_WUR;

int64_t db_int(struct db_stmt *st, int col);
const char *db_text(struct db_stmt *st, int col);            /* NULL for SQL NULL */
const void *db_blob(struct db_stmt *st, int col, size_t *ret_n);
bool db_is_null(struct db_stmt *st, int col);

/* Rows the last INSERT, UPDATE or DELETE of this connection changed. */
int64_t db_changes(struct db *db);
const char *db_errmsg(struct db *db);
const char *db_version(void);

/* ---- tests ---- */
/* fn(ctx, db, tenant_id) runs for every db_lock_tenant() that succeeds, on any connection,
 * so tests can check that an invariant's code takes its lock inside its transaction (on
 * SQLite the lock itself changes nothing observable). NULL stops it. Set before threads. */
typedef void db_lock_observer_fn(void *ctx, struct db *db, int64_t tenant_id);
void db_lock_observe(db_lock_observer_fn *fn, void *ctx);
#endif
