/*
 * Database interface. SQL uses $1..$N placeholders only (the subset SQLite and PostgreSQL
 * share); values are always bound, never formatted into SQL. Two backends behind the same
 * calls, one connection per thread on both: SQLite (db_sqlite.c, WAL mode) and PostgreSQL
 * (db_pg.c, libpq; issue 10, docs/scale-out.md), chosen by the database's URL; the SQL in
 * src/ is written once for both (see "Portable SQL" below).
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
 * - Recursive CTEs (WITH RECURSIVE; PostgreSQL wants both terms' columns of one type: ids
 *   are BIGINT there), partial indexes (CREATE INDEX … WHERE), subqueries with LIMIT inside
 *   IN (…), and WITH before UPDATE/DELETE work in both.
 * tests/unit/test_store.c test_portable_sql fails on the SQLite-only spellings above.
 *
 * ---- Column types: SQLite migration and its PostgreSQL twin ----
 * Migrations are per backend: src/store/migrations holds SQLite's; PostgreSQL's will keep the
 * same numbers beside them (issue 10). An applied migration is never edited (docs/HACKING.md
 * "How to add a migration"), so the existing files keep SQLite's spelling. What it means:
 *   INTEGER (always 64-bit in SQLite)  = BIGINT: every id, time in µs, size and counter. New
 *       SQLite migrations write BIGINT (the same INTEGER affinity), except for the row id,
 *       which stays "INTEGER PRIMARY KEY" (only that spelling is SQLite's rowid).
 *   INTEGER PRIMARY KEY [AUTOINCREMENT] = BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY.
 *       An identity never hands out an id twice; SQLite needs AUTOINCREMENT for that
 *       ("-- kura:autoincrement TABLE", db_sqlite.c).
 *   INTEGER 0/1 flags                   = SMALLINT, not BOOLEAN, so "flag = 0" reads the same.
 *   BLOB                                = BYTEA.
 *   TEXT                                = TEXT (UTF-8, collation "C").
 *   CREATE TRIGGER … BEGIN … END        = a plpgsql function and CREATE TRIGGER.
 *
 * ---- Search by name (issue 15) ----
 * A name search has no portable SQL, so it lives in the backend, behind the calls at the end
 * of this file (files/search.c uses them). SQLite (migration 0015): an FTS5 table name_search
 * (rowid = node id, trigram tokenizer, case_sensitive 0), fed by the files module in the
 * transaction of every name change (db_name_index, db_name_unindex_subtree; triggers cannot
 * write a virtual table with trusted_schema=OFF): a new or changed name is queued in
 * name_pending (migration 0032) and folded into name_search in batches (db_name_fold), always
 * before a search reads it; queried as one quoted phrase joined to file_nodes on id and name. Queries of 1 or 2 characters use the portable index
 * file_nodes_name_fold (tenant_id, lower(name)) as a prefix range (files/search.c).
 * PostgreSQL: the extension pg_trgm and CREATE INDEX file_nodes_name_trgm ON file_nodes
 * USING gin (lower(name COLLATE "und-x-icu") gin_trgm_ops) WHERE in_trash = 0 (ICU's root
 * locale folds case in every script, as FTS5 does; lower() under "C" folds ASCII only);
 * db_name_search is "… WHERE tenant_id = $2 AND in_trash = 0 AND lower(name COLLATE
 * "und-x-icu") LIKE '%' || lower($1 COLLATE "und-x-icu") || '%' ESCAPE '\\'" with %, _ and \\
 * escaped in C (trigram GIN answers LIKE of 3 or more characters), and db_name_index /
 * db_name_unindex_* do nothing (the index follows the column). The short-prefix index there
 * is (tenant_id, lower(name)): under the "C" collation the default operator class serves
 * files/search.c's range.
 *
 * ---- Write serialisation (the per-tenant lock) ----
 * SQLite serialises every writer: db_begin() takes a process-wide write mutex and BEGIN
 * IMMEDIATE, so no write transaction overlaps another. Code that reads and then writes what
 * it decided from the read (check-then-act) relies on that. A backend that runs writers side
 * by side (PostgreSQL at READ COMMITTED, several nodes) keeps those invariants only when such
 * a transaction takes its tenant's lock first, right after db_begin() and before its first
 * statement (a lock taken after a read does not make that read current):
 *   r = db_begin(db); if (r == 0) r = db_lock_tenant(db, tenant_id); …
 * The lock lasts to commit or rollback and is re-entrant (helpers that rely on it take it
 * again: files_charge, chain_append, the lockout steps). A transaction that needs several
 * tenants takes them in ascending order (the audit group commit). On SQLite it only checks
 * that a db_begin() transaction is open; on PostgreSQL it is pg_advisory_xact_lock. One
 * conditional UPDATE ("SET n = n + 1 WHERE n < max") is atomic on both and needs no lock;
 * neither does what a uniqueness constraint decides. tests/unit/lock_watch.h checks callers.
 * Who takes it, for which invariant:
 *   - audit chain head (one chain per tenant, 0 = the provider's): audit.c (each append, the
 *     group commit), checkpoint.c audit_prune;
 *   - quota and usage, and the file tree (a tree within the depth limit, nothing live under
 *     a trashed folder, no file wrapped with a tenant key version a rotation removed):
 *     files.c files_charge, mkdir, move, trash, restore, purge, labels; files_content.c
 *     upload commit, tenant key rotation; files_dav.c PROPPATCH, COPY, MOVE;
 *   - exclusive WebDAV locks: files_dav.c lock create, refresh, unlock, break;
 *   - reports (issue 9): reports.c create (open reports), message (thread length), attach
 *     (attachment count), close and answer-records (the state read); a provider-side change
 *     takes the provider's chain (0) first, then the tenant's;
 *   - share counters and the link-password counter: shares.c count_download, count_upload,
 *     unlock (both steps), and the share and label limits of create and labels;
 *   - lockout attempt counters: auth/account.c (reserve, settle, login, unlock),
 *     auth/reset.c reset_complete, auth/mfa.c (both second-step transactions);
 *   - counted limits and the last active manager: auth/account.c invite, create, update,
 *     delete; auth/apppass.c create; auth/allowlist.c replace (the list as a whole);
 *     notice/contacts.c create (KURA_CONTACTS_MAX);
 *   - MFA enrolment: auth/webauthn.c registration (single-use challenge), auth/totp.c
 *     confirm and auth/recovery.c regenerate (one set of recovery codes);
 *   - the tenant's features (D4): tenant/tenant.c tenant_features_set (the state read decides
 *     what the audit record says changed);
 *   - the end of a contract (B3): lifecycle/lifecycle.c terminate, terminate-option, cancel,
 *     reinstate and the end itself (the termination's state decides what may happen);
 *     lifecycle/erasure.c each erasure step that reads before it writes (prepare, keys,
 *     the rows, an option's end, the ledger).
 *   - operator access requests (C7): files/lockbox.c request (the catalog and the policy read
 *     decide), approve, deny, revoke (the state and the approvals read decide the grant).
 * Not taken: tenant creation (a unique code), sessions and link sessions, revocations,
 * policy upserts (single statements); audit_adopt (start-up, before serving; only SQLite
 * databases older than the hash chain have rows to adopt); the checkpoint round and the
 * other background jobs, which claim their lease from the database instead ("Cluster state").
 *
 * ---- Cluster state: what several nodes on one database share (issue 10) ----
 * Any node serves any request, so nothing a later request or another node must see is kept
 * in one process's memory. Where each piece lives, and what makes its check-then-act safe
 * with writers on several nodes (docs/scale-out.md "Shared state and background jobs"):
 *   - account lockout counters (accounts.failed_count, locked_until_us) and the names
 *     without an account (login_misses, 0022): the tenant lock (the lockout steps above);
 *   - the share-link password counter (shares.failed_count): the tenant lock (shares.c);
 *   - the per-address throttle (address_throttle, 0029; auth/throttle.c): one upsert per
 *     failure, "INSERT … ON CONFLICT (address_key) DO UPDATE SET failures = CASE …", atomic
 *     on both (PostgreSQL locks the conflicting row and computes the update on its newest
 *     version), and one read by key per check; no lock. Rows go with throttle_prune;
 *   - sessions, link sessions, MFA challenges, reset and invitation tokens, upload sessions:
 *     rows, each consumed or changed by a single conditional statement or under the tenant
 *     lock (above);
 *   - WebDAV locks (dav_locks, 0007): the tenant lock (exclusive locks, above);
 *   - the mail outbox: each row is claimed for one attempt by a compare-and-set on
 *     next_attempt_us (notify/mailer.c deliver_one: "UPDATE … SET next_attempt_us = lease
 *     WHERE id = $1 AND next_attempt_us = the value read"), one winner on both backends, so
 *     every node delivers and each mail is sent once (a crash mid-send retries after the
 *     MAILER_LEASE_S lease). PostgreSQL may add FOR UPDATE SKIP LOCKED to the batch select;
 *   - the background jobs: one lease each (job_leases, 0029; store/lease.h), claimed or
 *     renewed with one conditional upsert ("… DO UPDATE … WHERE until_us <= $now OR holder =
 *     $me"), so one live node runs each: "audit.checkpoint" (checkpoints and retention
 *     pruning), "files.purge" (trash purge, expired upload sessions), "lifecycle" (the
 *     termination scheduler and erasures), "mail.task" (client-certificate expiry notices,
 *     announcement delivery, throttle pruning), "ops.alerts" (quota and outbox alerts).
 *     A node's id is random at start (db_node_id, logged as "node.start"); kura.lock holds
 *     it, so the next process of that data directory ends a crashed one's leases at start.
 * Per process on purpose: the connection guard (http/guard.c: this node's sockets; limit
 * per client at the load balancer), the throttle's sleeper bounds (this node's worker
 * threads), the runtime keyring's cache of unwrapped tenant keys (by key version, so a
 * rotation elsewhere only leaves an unused entry), prepared statements, /metrics counters
 * (per node: scrape every node), the disk alert (this node's disk) and which alerts stand
 * (the "ops.alerts" holder's memory: a takeover may repeat an alert mail once).
 */
#ifndef KURA_STORE_DB_H
#define KURA_STORE_DB_H
#include "core/core.h"

struct db;
struct db_stmt;

/* ---- backends ----
 * A database is named by a URL ([store] db_url in kura.conf): unset or "sqlite:FILE" (FILE
 * relative to the data directory unless absolute; default kura.db) is SQLite, a libpq URI
 * "postgresql://…" or "postgres://…" (unix sockets: postgresql:///kura?host=/run/postgresql)
 * is PostgreSQL (db_pg.c; docs/scale-out.md). Every call below takes either. */
/* True when url names a PostgreSQL database. */
bool db_url_is_pg(const char *url);
/* The database of data directory dir for [store] db_url url ("" = kura.db): a SQLite file's
 * path, or the PostgreSQL URI as it is. -EINVAL for a URL of neither kind. */
int db_url_resolve(const char *url, const char *dir, char *out, size_t size) KURA_WUR;
/* True for a connection to PostgreSQL. */
bool db_is_pg(struct db *db);
/* True when the database server closed this connection (PostgreSQL went away: restart,
 * failover, a terminated session); the thread's next db_thread() opens a new one. Always false
 * on SQLite. */
bool db_lost(struct db *db);

/* Opens (creating) the database at path (a SQLite file or a PostgreSQL URI, as above). NULL
 * on failure, with a message in err. */
struct db *db_open(const char *path, char *err, size_t err_size);
struct db *db_close(struct db *db);

/* The calling thread's connection to the database set with db_set_path(). Closed at thread exit. */
int db_set_path(const char *path);
struct db *db_thread(void);

/* A consistent copy of the database at path into dst_path (a new file), made with SQLite's
 * online backup API in one step, i.e. one read transaction: the copy is the database as one
 * commit left it while kura serve goes on writing (kura backup). -EIO with err; -ENOTSUP
 * with a pointer to pg_dump for a PostgreSQL URI. */
int db_backup(const char *path, const char *dst_path, char *err, size_t err_size) KURA_WUR;
/* PRAGMA integrity_check of the database file at path: 0 when "ok", -EBADMSG with its first
 * complaint in err, -EIO when it cannot be read; -ENOTSUP for a PostgreSQL URI. */
int db_integrity_check(const char *path, char *err, size_t err_size) KURA_WUR;

/* Applies every embedded migration not yet applied, each in its own transaction. */
int db_migrate(struct db *db);

/* Write transactions (BEGIN IMMEDIATE on SQLite): take the write lock up front. A statement
 * belongs to the transaction it was made in: one made before db_begin() is not stepped
 * inside it, and one made inside is done (db_done) before the commit or rollback. SQLite
 * runs the transaction on another connection than the thread's reads (db_sqlite.c "One
 * writer connection") and refuses either statement (db_step < 0, logged). */
int db_begin(struct db *db) KURA_WUR;
int db_commit(struct db *db) KURA_WUR;
/* Commits like db_commit(), but returns once the transaction is committed and visible,
 * without waiting for its fsync: it survives kura being killed (SQLite: the WAL frames are
 * in the kernel's page cache; PostgreSQL: the server has them), and becomes durable against
 * power loss with the next durable commit or at the latest KURA_DB_RELAXED_SYNC_MS later
 * (SQLite: a syncer thread per database file; PostgreSQL: synchronous_commit = off, which
 * its WAL writer flushes within 3 x wal_writer_delay). It does wait for every durable
 * commit before it that is still in its fsync (SQLite: the read it records may have seen
 * that change; PostgreSQL shows a synchronous commit only once it is flushed). Only for the
 * records of reads (audit.c: category "access", result "success"), never for a change. */
int db_commit_relaxed(struct db *db) KURA_WUR;
/* Commits (of any connection to db's file) made with db_commit_relaxed() and not yet
 * covered by an fsync: 0 once they are durable (tests). PostgreSQL: 0 (the server's). */
uint64_t db_relaxed_owed(struct db *db);
int db_rollback(struct db *db);
/* One write transaction's work, run by db_combined(): fn(db, ctx) makes its changes on db
 * (the connection to use for every statement: perhaps another thread's) and returns 0, or
 * <0 to undo them. It begins, commits and rolls back nothing itself. */
typedef int (*db_work_fn)(struct db *db, void *ctx);
/* Runs fn in a write transaction and commits it durably, as db_begin(), fn, db_commit() (or
 * db_rollback() when fn fails) would, and returns fn's result or the commit's. SQLite: the
 * works of threads that call this while another's transaction is under way run together
 * in the next transaction, one after the other in their order of arrival, each inside a
 * savepoint of its own, so a work that fails is undone alone and the others commit; one
 * BEGIN, one COMMIT and one hand-off of the write mutex for all of them, and the pages
 * they share (the quota row, the chain head, index leaves) are written once. A failed
 * commit fails them all. PostgreSQL: a transaction for each. Not inside a transaction
 * (-EBUSY), nor from inside a work through another connection (-EDEADLK: it would wait for
 * the transaction it is part of). */
int db_combined(struct db *db, db_work_fn fn, void *ctx) KURA_WUR;
/* True inside a transaction this connection began (audit_record joins it, else makes its own).
 * False in a read snapshot. */
bool db_in_transaction(struct db *db);
/* A read snapshot: the reads that follow on this connection see one state of the database,
 * the one of their first read (SQLite: one deferred read transaction instead of one per
 * statement, which keeps the connection's page cache between them; db_sqlite.c). It ends
 * with db_read_end(), and by itself before anything writes: a writing statement,
 * db_begin(), audit_record(); what follows sees the latest state again. server.c opens it
 * for a request's dispatch and for a WebDAV method's run, and closes it when they return,
 * so it is never held while an answer is sent or a body arrives; code that waits (the
 * throttle's delay, a download's first S3 read) ends it first. In WAL mode a reader never
 * blocks a writer; a snapshot held only keeps a checkpoint from passing it. No-op inside a
 * transaction; no-op on PostgreSQL (each statement its own round trip either way). */
void db_read_begin(struct db *db);
void db_read_end(struct db *db);
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

/* ---- search by name (see "Search by name" above) ---- */
/* Records node id's name in the index, replacing what it held for id (in the caller's
 * transaction). SQLite: queues the id (name_pending, migration 0032); the name, as
 * file_nodes holds it then, reaches name_search at the next fold (db_name_fold), which
 * db_name_search always runs first. */
int db_name_index(struct db *db, int64_t id, const char *name) KURA_WUR;
/* SQLite: folds queued names into name_search, KURA_NAME_FOLD_BATCH per transaction, once
 * at least min_queued were queued since the last fold (0: every queued name, now). Outside a
 * transaction, each batch is a transaction of its own, committed relaxed (db_commit_relaxed:
 * the index is derived from file_nodes, and a batch a power loss undoes leaves its names
 * queued); inside the caller's write transaction, in it. PostgreSQL: nothing (the trigram
 * index follows the column). */
int db_name_fold(struct db *db, int64_t min_queued) KURA_WUR;
/* Drops node id of the tenant and everything below it from the index. */
int db_name_unindex_subtree(struct db *db, int64_t tenant_id, int64_t id) KURA_WUR;
/* Drops from the index the first limit leaves (nodes without children, by id) of the tenant:
 * the nodes an erasure batch deletes next (lifecycle/erasure.c). */
int db_name_unindex_leaves(struct db *db, int64_t tenant_id, int64_t limit) KURA_WUR;
/* Copies the write-ahead log back into the database and truncates it, so pages that
 * secure_delete overwrote leave no older copy in the WAL (a crypto-erase); -EBUSY while a
 * reader holds it. PostgreSQL: a CHECKPOINT (its WAL segments are recycled). */
int db_checkpoint_truncate(struct db *db);
/* The ids, ascending, of the tenant's live nodes (not the root) whose name contains text
 * (3 or more characters, NFC; case-insensitive), greater than after, at most limit: a
 * statement of one integer column, or NULL. scratch (at least 2 * strlen(text) + 3 bytes)
 * holds the backend's query text and must live until the statement is done. */
struct db_stmt *db_name_search(struct db *db, int64_t tenant_id, const char *text, int64_t after,
			       int64_t limit, char *scratch, size_t scratch_size);
/* The SQL db_name_search runs ($1 the backend's query text, $2 tenant, $3 after, $4 limit),
 * for tests that check its query plan. */
extern const char db_name_search_sql[];

/* Rows the last INSERT, UPDATE or DELETE of this connection changed. */
int64_t db_changes(struct db *db);
const char *db_errmsg(struct db *db);
const char *db_version(void);

/* ---- tests ---- */
/* What a connection does, for tests: on SQLite the tenant lock changes nothing observable,
 * so this is how a test shows that code relying on serialised writers takes its tenant's
 * lock first in its transaction (tests/unit/lock_watch.h). */
enum db_trace_event {
	DB_TRACE_BEGIN,        /* db_begin() succeeded */
	DB_TRACE_LOCK,         /* db_lock_tenant(tenant_id) succeeded */
	DB_TRACE_STATEMENT,    /* a statement (sql) is about to run */
	DB_TRACE_END,          /* the transaction ended (commit or rollback) */
	DB_TRACE_SNAPSHOT,     /* a read snapshot began (db_read_begin's deferred BEGIN; SQLite) */
};
typedef void db_trace_fn(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id,
			 const char *sql);
/* fn runs for every event on every connection until db_trace(NULL, NULL). Set it while no
 * other thread uses the database. */
void db_trace(db_trace_fn *fn, void *ctx);
#endif
