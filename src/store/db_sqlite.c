/*
 * SQLite backend of the db interface.
 *
 * Each thread has its own connection (pthread key, closed at thread exit); WAL mode lets
 * readers run beside one writer; busy_timeout waits for the write lock instead of failing.
 * The write transactions of those connections run on one connection per database file
 * instead (the file's writer, under the write mutex: "One writer connection" below).
 * Prepared statements are cached per connection, keyed by the SQL text's address (SQL is
 * always a string literal) and checked by content, so the hot paths never re-parse SQL.
 * synchronous=FULL: a committed transaction survives power loss (audit and outbox rely on it).
 * db_commit() keeps that promise through a group commit instead of one fsync per transaction
 * (see "Group commit" below).
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/db.h"
#include "store/db_sqlite_names.h"
#include "store/embedded.h"
#include "store/walbuf.h"

#define DB_STMT_CACHE 96
#define DB_BUSY_TIMEOUT_MS 10000

struct db_stmt {
	int backend;           /* DB_BACKEND_SQLITE, first (db_int.h) */
	sqlite3_stmt *st;
	struct db *db;
	const char *sql;
	bool busy;
	bool orphan;           /* the writer's, still open when its transaction ended: refused */
	struct db *owner;      /* an orphan's: the connection whose transaction it was in */
};

/*
 * Writers of one database file are serialized by a process-wide mutex taken in db_begin
 * and released at commit or rollback, before SQLite's own write lock is asked for. Two
 * threads that want to write then queue on the mutex and wake at once, instead of one of
 * them polling through SQLite's busy handler, which sleeps up to 100 ms per try and made
 * concurrent writes wait for hundreds of milliseconds. The busy timeout still covers other
 * processes (a backup, the sqlite3 shell).
 */
#define DB_FILES_MAX 16

struct db_file {
	dev_t dev;
	ino_t ino;
	unsigned refs;
	pthread_mutex_t write_lock;
	/* group commit (db_commit): under sync_lock; sync_lock nests inside write_lock */
	pthread_mutex_t sync_lock;
	pthread_cond_t synced_cond;
	uint64_t committed;    /* transactions committed to the WAL, durable or not */
	uint64_t synced;       /* of those, the ones an fdatasync has covered */
	bool syncing;          /* a leader's fdatasync is under way */
	int sync_error;        /* sticky: once an fdatasync failed, every later commit fails */
	char path[PATH_MAX];   /* the database file; its WAL is path + "-wal" */
	ino_t wal_dir_synced;  /* the WAL whose directory entry a leader synced (leader only) */
	int wal_fd;            /* the WAL as a leader last opened it (leader only; -1: none) */
	dev_t wal_fd_dev;      /* and its file, to see that path + "-wal" still names it */
	ino_t wal_fd_ino;
	/* relaxed commits (db_commit_relaxed): the syncer thread makes them durable */
	uint64_t owed;         /* the newest relaxed commit */
	uint64_t durable_hi;   /* the newest commit made by db_commit (durable before it returns) */
	int64_t owed_since_us; /* monotonic time of the oldest relaxed commit not yet synced */
	pthread_cond_t owed_cond;
	pthread_t syncer;
	bool syncer_running, syncer_stop;
	/* names queued in name_pending since the last fold (db_name_fold; a hint, not a count:
	 * rolled-back queueings count too, and rows left by an earlier process do not) */
	_Atomic int64_t names_queued;
	/* db_combined(): the works waiting for the next combined transaction (combine_lock) */
	pthread_mutex_t combine_lock;
	struct db_work *combine_head, **combine_tail;
	bool combine_leader;   /* a thread runs a combined transaction */
	/* the id of the connection (a thread's, or a plain one) whose transaction committed
	 * last, on whichever connection it ran (under write_lock) */
	uint64_t last_owner;
	pthread_t combine_thread; /* which (combine_leader) */
	/* the connection db_begin() transactions of db_thread() connections run on (under
	 * write_lock; opened by the first, closed with the file) */
	struct db *writer;
	/* commits of db_begin() transactions, on any connection (incremented under write_lock):
	 * a connection that saw the latest one has a valid cache (db_begin's choice) */
	_Atomic uint64_t seq;
};

static struct db_file db_files[DB_FILES_MAX];

/* db_trace(): tests only; one branch on the hot paths otherwise. */
static db_trace_fn *trace_fn;
static void *trace_ctx;

void db_trace(db_trace_fn *fn, void *ctx)
{
	trace_ctx = ctx;
	trace_fn = fn;
}

static void trace(struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_ctx, db, ev, tenant_id, sql);
}
static pthread_mutex_t db_files_lock = PTHREAD_MUTEX_INITIALIZER;

struct db {
	int backend;           /* DB_BACKEND_SQLITE (0, from calloc), first (db_int.h) */
	sqlite3 *h;
	struct db_file *file;
	bool writing;          /* holds file->write_lock */
	bool grouped;          /* this transaction runs at synchronous=NORMAL: db_commit syncs */
	bool sync_normal;      /* the connection is at synchronous=NORMAL (autocommit_full) */
	bool snapshot;         /* a read snapshot (db_read_begin) is open: a deferred BEGIN */
	bool snapshot_due;     /* db_read_begin() was called: the BEGIN comes with the first read */
	sqlite3_stmt *fixed[10]; /* the transaction statements of fixed_sql, prepared once */
	struct db_stmt cache[DB_STMT_CACHE];
	size_t n_cache;
	bool share_writer;     /* db_thread()'s: db_begin() transactions run on file->writer */
	bool is_writer;        /* this is a file's writer (holds no reference to the file) */
	struct db *w;          /* in such a transaction: the writer, which runs every statement */
	uint64_t seen;         /* file->seq when this connection last committed or began a snapshot */
	uint64_t id;           /* unique in the process (db_file's last_owner) */
	unsigned orphans;      /* the writer's statements orphaned by this connection's transactions */
};

/*
 * One writer connection. SQLite discards a connection's whole page cache when its next
 * transaction finds the WAL changed by another connection, so with a connection per worker
 * thread every commit made each other thread's next transaction read its pages again (36
 * pread64 per small PUT at 32 clients, half of them in the write transaction, under the
 * write mutex; docs/performance.md step 18). Writes are serialized by the file's write mutex
 * anyway, so the db_begin() transactions of db_thread() connections run on one connection of
 * the file's, taken with the mutex, whose cache stays valid from one transaction to the next
 * while nothing else commits. Except when the thread's own connection saw the latest commit
 * (file->seq: its own commit, or a snapshot begun after it) and the writer's cache is not
 * the one to keep (the latest commit was this thread's, as with one client's requests one
 * after the other, or not the writer's): then the transaction runs there, as its reads did
 * (own_is_warm). The choice only picks a warm cache; SQLite checks the WAL
 * either way. Each db call resolves the connection it runs on (conn()): the writer from
 * db_begin() to the commit or rollback, the thread's own otherwise (reads, snapshots,
 * autocommit writes). A statement runs on the connection that prepared it, so two mistakes
 * that were harmless on one connection are refused, never run: stepping a statement of the
 * thread's own connection inside a transaction on the writer (it would read outside it), and
 * using a statement of the writer after its transaction (another thread may hold the writer
 * by then: the statement is reset at the end and marked an orphan).
 */
static struct db *conn(struct db *db)
{
	return db->w ? db->w : db;
}

struct db *db_close(struct db *db);

static struct db_file *db_file_get(const char *path)
{
	struct db_file *f = NULL;
	struct stat st;
	size_t i;

	if (stat(path, &st) < 0)
		return NULL;
	pthread_mutex_lock(&db_files_lock);
	for (i = 0; i < DB_FILES_MAX && !f; i++)
		if (db_files[i].refs && db_files[i].dev == st.st_dev && db_files[i].ino == st.st_ino)
			f = &db_files[i];
	for (i = 0; i < DB_FILES_MAX && !f; i++)
		if (!db_files[i].refs) {
			f = &db_files[i];
			f->dev = st.st_dev;
			f->ino = st.st_ino;
			pthread_mutex_init(&f->write_lock, NULL);
			pthread_mutex_init(&f->sync_lock, NULL);
			pthread_cond_init(&f->synced_cond, NULL);
			pthread_condattr_t ca;

			/* the syncer's deadlines are CLOCK_MONOTONIC (mono_us) */
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&f->owed_cond, &ca);
			pthread_condattr_destroy(&ca);
			f->owed = 0;
			f->durable_hi = 0;
			f->owed_since_us = 0;
			f->syncer_running = f->syncer_stop = false;
			f->committed = f->synced = 0;
			f->syncing = false;
			f->sync_error = 0;
			f->wal_dir_synced = 0;
			f->wal_fd = -1;
			f->writer = NULL;
			pthread_mutex_init(&f->combine_lock, NULL);
			f->combine_head = NULL;
			f->combine_tail = &f->combine_head;
			f->combine_leader = false;
			atomic_store(&f->seq, 0);
			if (!realpath(path, f->path))
				f->path[0] = '\0';   /* db_commit then falls back to synchronous=FULL */
		}
	if (f)
		f->refs++;
	pthread_mutex_unlock(&db_files_lock);
	return f;
}

static void syncer_stop(struct db_file *f);

static void wal_forget(struct db_file *f);

static void db_file_put(struct db_file *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&db_files_lock);
	if (--f->refs == 0) {
		if (f->writer) {   /* no transaction is open on it: no connection is left */
			db_close(f->writer);
			f->writer = NULL;
		}
		syncer_stop(f);   /* syncs what relaxed commits still owe first */
		wal_forget(f);
		pthread_cond_destroy(&f->owed_cond);
		pthread_mutex_destroy(&f->write_lock);
		pthread_mutex_destroy(&f->sync_lock);
		pthread_cond_destroy(&f->synced_cond);
		pthread_mutex_destroy(&f->combine_lock);
	}
	pthread_mutex_unlock(&db_files_lock);
}

static int translate(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * SQLite's process-wide settings, before its first initialization (sqlite3_config refuses
 * them after): no memory statistics. With them on, every sqlite3_malloc and sqlite3_free
 * takes one global mutex, which the connections of all worker threads then queue on: a
 * quarter of the futex calls of 32 clients' GETs (docs/performance.md step 18). Nothing
 * in kura reads the statistics (sqlite3_memory_used, sqlite3_status) or sets a heap limit,
 * which are what they serve.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* SQLITE_MISUSE once initialized: kept as is */
}

static void sqlite_setup(void)
{
	pthread_once(&sqlite_once, sqlite_configure);
}

static _Atomic uint64_t conn_ids;   /* struct db's id: never reused, unlike an address */

static struct db *conn_open(const char *path, char *err, size_t err_size)
{
	static const char *const pragmas =
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA trusted_schema=OFF;"
		/* deleted and overwritten content is zeroed in the file, not left in free space:
		 * erased mail bodies (their links), revoked secrets' hashes and, at the end of a
		 * contract, a tenant's rows are gone from kura.db and its copies (issue 14) */
		"PRAGMA secure_delete=ON;"
		"PRAGMA temp_store=MEMORY;"
		/* no memory-mapped reads: a connection whose read transaction finds the WAL
		 * changed (after every other connection's commit: each download's audit record)
		 * discards its cache and unmaps the whole file, so each request paid an munmap and
		 * the page faults to map it again; pread of the few pages it needs is cheaper
		 * (4 KiB GET: 158 -> 128 us of CPU per request, docs/performance.md) */
		"PRAGMA mmap_size=0;";
	struct db *db = calloc(1, sizeof(*db));
	int rc;

	if (!db) {
		str_copy(err, err_size, "out of memory");
		return NULL;
	}
	db->id = atomic_fetch_add(&conn_ids, 1) + 1;
	sqlite_setup();
	/* a transaction's WAL frames in one write (store/walbuf.h); the default VFS if it
	 * cannot be registered */
	rc = sqlite3_open_v2(path, &db->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
			     SQLITE_OPEN_EXRESCODE, walbuf_register() == SQLITE_OK ? KURA_WALBUF_VFS : NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot open database %s: %s", path,
			   db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		return db_close(db);
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(db->h, pragmas, NULL, NULL, NULL);
	/* The checkpoint runs inside the COMMIT that finds the WAL at this length, under the
	 * write mutex: it copies the WAL's newest page versions back into the database and
	 * syncs both files, and every writer queues behind it. Its cost is mostly per page
	 * copied and per sync, and a longer WAL holds more versions of the same hot pages (the
	 * indexes' right-most leaves, the quota row, the chain head) of which only the newest
	 * is copied: at 4,000 frames (~16 MB) a small PUT's share of the checkpoints is 40 us,
	 * against 71 us at SQLite's 1,000 (docs/performance.md step 19). A checkpoint thread
	 * beside the writers was tried and lost: its last pass must still hold the mutex for
	 * the WAL to start over, and it doubled the syncs. */
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_autocheckpoint(db->h, KURA_DB_CHECKPOINT_FRAMES);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot configure database %s: %s", path, sqlite3_errmsg(db->h));
		return db_close(db);
	}
	return db;
}

struct db *db_open(const char *path, char *err, size_t err_size)
{
	struct db *db = conn_open(path, err, err_size);

	if (!db)
		return NULL;
	db->file = db_file_get(path);
	if (!db->file) {
		str_printf(err, err_size, "cannot open database %s: too many database files open", path);
		return db_close(db);
	}
	return db;
}

static bool lock_timed(pthread_mutex_t *m);

/* The writer's statements still orphaned by db's transactions (left without db_done):
 * their slots go back when db is closed (its thread ends), not only at their db_done. */
static void orphans_release(struct db *db)
{
	struct db_file *f = db->file;
	size_t i;

	if (!db->orphans || !f->writer || !lock_timed(&f->write_lock))
		return;
	for (i = 0; i < f->writer->n_cache; i++) {
		struct db_stmt *st = &f->writer->cache[i];

		if (st->orphan && st->owner == db) {
			st->orphan = false;
			st->owner = NULL;
			st->busy = false;
		}
	}
	db->orphans = 0;
	pthread_mutex_unlock(&f->write_lock);
}

struct db *db_close(struct db *db)
{
	size_t i;

	if (!db)
		return NULL;
	if (db->writing)
		db_rollback(db);   /* before the statements it runs are finalized */
	if (!db->is_writer && db->file)
		orphans_release(db);
	for (i = 0; i < db->n_cache; i++)
		sqlite3_finalize(db->cache[i].st);
	for (i = 0; i < ARRAY_SIZE(db->fixed); i++)
		sqlite3_finalize(db->fixed[i]);
	sqlite3_close(db->h);
	if (!db->is_writer)
		db_file_put(db->file);
	free(db);
	return NULL;
}

static char *thread_path;
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_db_free(void *p)
{
	db_close(p);
}

static void thread_key_init(void)
{
	pthread_key_create(&thread_key, thread_db_free);
}

int db_set_path(const char *path)
{
	pthread_once(&thread_once, thread_key_init);
	free(thread_path);
	thread_path = strdup(path);
	return thread_path ? 0 : -ENOMEM;
}

struct db *db_thread(void)
{
	struct db *db;
	char err[512];

	pthread_once(&thread_once, thread_key_init);
	db = pthread_getspecific(thread_key);
	if (db || !thread_path)
		return db;
	db = db_open(thread_path, err, sizeof(err));
	if (!db) {
		log_error("db.open", "%s", err);
		return NULL;
	}
	db->share_writer = true;
	pthread_setspecific(thread_key, db);
	return db;
}

static struct db_stmt *prepare(struct db *db, const char *sql)
{
	struct db_stmt *c;
	size_t i;

	for (i = 0; i < db->n_cache; i++) {
		c = &db->cache[i];
		/* the address finds it; SQLite's own copy of the text confirms it (a buffer may
		 * have been reused for other SQL) */
		if (c->sql == sql && !c->busy && !strcmp(sqlite3_sql(c->st), sql))
			return c;
	}
	if (db->n_cache == DB_STMT_CACHE) {
		/* cache full: evict the first idle entry, in place; busy entries never move, as
		 * callers hold pointers to them */
		for (i = 0; i < db->n_cache && db->cache[i].busy; i++)
			;
		if (i == db->n_cache) {
			log_error("db.prepare", "all %d cached statements are in use: %s", DB_STMT_CACHE, sql);
			return NULL;
		}
		c = &db->cache[i];
		sqlite3_finalize(c->st);
		c->st = NULL;
		c->sql = NULL;   /* an empty slot until the prepare below succeeds */
	} else {
		c = &db->cache[db->n_cache++];
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->st, NULL) != SQLITE_OK) {
		log_error("db.prepare", "%s: %s", sqlite3_errmsg(db->h), sql);
		sqlite3_finalize(c->st);
		c->st = NULL;
		c->sql = NULL;
		c->busy = false;
		if (c == &db->cache[db->n_cache - 1])
			db->n_cache--;
		return NULL;
	}
	c->db = db;
	c->sql = sql;
	c->busy = false;
	c->orphan = false;
	return c;
}

/* Index of placeholder $n. SQLite numbers named parameters in order of first appearance,
 * which is n itself whenever the SQL uses $1..$N in order (almost always): checked by name,
 * without formatting; otherwise looked up. */
static int param_index(sqlite3_stmt *st, int n, char *name, size_t size)
{
	const char *have = sqlite3_bind_parameter_name(st, n);
	int v = 0;

	if (have && have[0] == '$' && have[1] >= '1' && have[1] <= '9') {
		const char *p = have + 1;

		while (*p >= '0' && *p <= '9' && v < 100000)
			v = v * 10 + (*p++ - '0');
		if (!*p && v == n)
			return n;
	}
	str_printf(name, size, "$%d", n);
	return sqlite3_bind_parameter_index(st, name);
}

static void snapshot_open(struct db *db);
static int autocommit_full(struct db *db);

struct db_stmt *vquery(struct db *db, const char *sql, const char *types, va_list ap)
{
	struct db_stmt *st;
	struct db *c;
	char name[8];
	int i, idx, rc = SQLITE_OK;

	if (!db || !(st = prepare(c = conn(db), sql)))
		return NULL;
	if ((db->snapshot || db->snapshot_due) && !sqlite3_stmt_readonly(st->st))
		db_read_end(db);   /* a write runs on its own, as outside a snapshot */
	else if (db->snapshot_due)
		snapshot_open(db);   /* the group's first read: its snapshot starts here */
	if (c->sync_normal && !sqlite3_stmt_readonly(st->st) && autocommit_full(c) < 0)
		return NULL;
	if ((size_t)sqlite3_bind_parameter_count(st->st) != (types ? strlen(types) : 0)) {
		log_error("db.bind", "%zu values for %d placeholders: %s", types ? strlen(types) : 0,
			  sqlite3_bind_parameter_count(st->st), sql);
		return NULL;
	}
	for (i = 0; types && types[i]; i++) {
		idx = param_index(st->st, i + 1, name, sizeof(name));
		switch (types[i]) {
		case 'i': {
			int64_t v = va_arg(ap, int64_t);
			rc = idx ? sqlite3_bind_int64(st->st, idx, v) : SQLITE_RANGE;
			break;
		}
		case 'I': {
			int64_t v = va_arg(ap, int64_t);
			rc = !idx ? SQLITE_RANGE : v ? sqlite3_bind_int64(st->st, idx, v)
						     : sqlite3_bind_null(st->st, idx);
			break;
		}
		case 't': {
			const char *v = va_arg(ap, const char *);
			rc = !idx ? SQLITE_RANGE : v ? sqlite3_bind_text(st->st, idx, v, -1, SQLITE_STATIC)
						     : sqlite3_bind_null(st->st, idx);
			break;
		}
		case 'b': {
			const void *v = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = idx ? sqlite3_bind_blob64(st->st, idx, v, n, SQLITE_STATIC) : SQLITE_RANGE;
			break;
		}
		case 'n':
			rc = idx ? sqlite3_bind_null(st->st, idx) : SQLITE_RANGE;
			break;
		default:
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK) {
			log_error("db.bind", "parameter %d of: %s", i + 1, sql);
			sqlite3_reset(st->st);
			sqlite3_clear_bindings(st->st);
			return NULL;
		}
	}
	st->busy = true;
	trace(db, DB_TRACE_STATEMENT, 0, sql);
	return st;
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

int db_step(struct db_stmt *st)
{
	int rc;

	if (!st)
		return -EIO;
	/* run only by the connection that holds it (One writer connection) */
	if (st->orphan || st->db->w) {
		log_error("db.step", "statement %s its write transaction, not run: %s",
			  st->orphan ? "used after the end of" : "of the thread's own connection inside", st->sql);
		return -EIO;
	}
	rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		log_error("db.step", "%s: %s", sqlite3_errmsg(st->db->h), st->sql);
	return translate(rc);
}

struct db_stmt *db_done(struct db_stmt *st)
{
	if (st && st->orphan) {
		/* reset at the end of its transaction; its slot in the writer's cache goes back
		 * under the write mutex (held already when a transaction of the owner's is open) */
		struct db *owner = st->owner;
		bool held = owner->writing;

		if (!held && !lock_timed(&owner->file->write_lock))
			return NULL;   /* logged; the slot stays taken, and goes back at db_close */
		st->orphan = false;
		st->owner = NULL;
		st->busy = false;
		owner->orphans--;
		if (!held)
			pthread_mutex_unlock(&owner->file->write_lock);
		return NULL;
	}
	if (st) {
		sqlite3_reset(st->st);
		sqlite3_clear_bindings(st->st);
		st->busy = false;
	}
	return NULL;
}

/* An orphan's columns are not read (another thread may hold the writer by now): NULL, 0. */
static bool orphan_read(struct db_stmt *st)
{
	if (!st->orphan)
		return false;
	log_error("db.column", "column of a statement read after the end of its write transaction: %s", st->sql);
	return true;
}

int64_t db_int(struct db_stmt *st, int col)
{
	return orphan_read(st) ? 0 : sqlite3_column_int64(st->st, col);
}

const char *db_text(struct db_stmt *st, int col)
{
	return orphan_read(st) ? NULL : (const char *)sqlite3_column_text(st->st, col);
}

const void *db_blob(struct db_stmt *st, int col, size_t *ret_n)
{
	const void *p = orphan_read(st) ? NULL : sqlite3_column_blob(st->st, col);

	*ret_n = p ? (size_t)sqlite3_column_bytes(st->st, col) : 0;
	return p;
}

bool db_is_null(struct db_stmt *st, int col)
{
	return orphan_read(st) || sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

/* The statements every transaction runs (two to six per request, and a combined
 * transaction's two per work), prepared once per connection instead of parsed by
 * sqlite3_exec each time. */
static const char *const fixed_sql[] = { "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
					 "PRAGMA synchronous=NORMAL", "PRAGMA synchronous=FULL",
					 "SAVEPOINT kura_work", "ROLLBACK TO kura_work",
					 "RELEASE kura_work", NULL };
_Static_assert(sizeof(fixed_sql) / sizeof(fixed_sql[0]) - 1 <=
		       sizeof(((struct db *)0)->fixed) / sizeof(sqlite3_stmt *),
	       "a prepared slot for each of fixed_sql");

static int exec_plain(struct db *db, const char *sql)
{
	sqlite3_stmt **fixed = NULL;
	int rc;

	for (size_t i = 0; fixed_sql[i]; i++)
		if (!strcmp(sql, fixed_sql[i])) {
			fixed = &db->fixed[i];
			break;
		}
	if (fixed && (*fixed || sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, fixed, NULL) == SQLITE_OK)) {
		while ((rc = sqlite3_step(*fixed)) == SQLITE_ROW)
			;
		sqlite3_reset(*fixed);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	} else if (!fixed && autocommit_full(db) < 0) {
		rc = SQLITE_IOERR;   /* it could write, and the level is not FULL */
	} else {
		rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		log_error("db.exec", "%s: %s", sqlite3_errmsg(db->h), sql);
	return translate(rc);
}

/* Group commit (below) runs each db_begin() transaction at synchronous=NORMAL, and the
 * connection stays there after it: setting the level is a PRAGMA, which SQLite parses again
 * at every run (two per transaction). Every statement that may write outside a transaction
 * (an autocommit write: vquery's not read-only statements, exec_plain's scripts) first puts
 * the connection back at FULL here, so an autocommit write is durable when it returns, as
 * before. A failure refuses that statement. */
static int autocommit_full(struct db *db)
{
	if (!db->sync_normal || !sqlite3_get_autocommit(db->h))
		return 0;   /* inside a transaction: its commit decides */
	if (exec_plain(db, "PRAGMA synchronous=FULL") < 0)
		return -EIO;
	db->sync_normal = false;
	return 0;
}

/* The end of a transaction on the writer: a statement of it still open is reset now, while
 * this thread holds the writer, and refused from here on (db_step, db_done). */
static void writer_release(struct db *db)
{
	struct db *w = db->w;
	size_t i;

	for (i = 0; i < w->n_cache; i++) {
		struct db_stmt *st = &w->cache[i];

		if (!st->busy || st->orphan)
			continue;
		log_error("db.stmt", "statement still open at the end of its transaction, refused from now on: %s",
			  st->sql);
		sqlite3_reset(st->st);
		sqlite3_clear_bindings(st->st);
		st->orphan = true;
		st->owner = db;
		db->orphans++;
	}
	if (!sqlite3_get_autocommit(w->h) && exec_plain(w, "ROLLBACK") < 0)
		log_error("db.rollback", "the writer connection is still in a transaction: writes fail until it ends");
	w->grouped = false;
	w->writing = false;
	db->w = NULL;
}

static void write_unlock(struct db *db)
{
	if (db->w)
		writer_release(db);
	db->grouped = false;   /* the level stays NORMAL until an autocommit write (autocommit_full) */
	if (db->writing) {
		db->writing = false;
		pthread_mutex_unlock(&db->file->write_lock);
		trace(db, DB_TRACE_END, 0, NULL);
	}
}

/*
 * Read snapshots (db.h db_read_begin). Each statement outside a transaction is a read
 * transaction of its own, and a read transaction that finds the WAL changed since this
 * connection's last one (after any other connection's commit: every request's access
 * record is one) discards the connection's whole page cache and takes a WAL read mark
 * anew (fcntl locks on the -shm). A request's ~15 reads before its access record thus
 * re-read their pages from the kernel (~20 pread64 per 4 KiB GET). A deferred BEGIN makes
 * them one read transaction: one snapshot, at most one cache reset and one read mark.
 * The BEGIN waits for the group's first read (snapshot_due), so a group that reads
 * nothing costs nothing.
 * The snapshot never holds a write: a statement that writes, db_begin() and
 * audit_record() end it first, and what runs after reads the latest state again.
 */
void db_read_begin(struct db *db)
{
	if (!db || db->snapshot || db->writing || !sqlite3_get_autocommit(db->h))
		return;
	db->snapshot_due = true;
}

/* The deferred BEGIN of a due snapshot, at its first read (vquery): a group that reads
 * nothing (an upload's end, which only writes) costs no BEGIN and COMMIT. */
static void snapshot_open(struct db *db)
{
	uint64_t seq = atomic_load(&db->file->seq);   /* the snapshot is at least this new */

	db->snapshot_due = false;
	if (db->writing || !sqlite3_get_autocommit(db->h))
		return;
	if (exec_plain(db, "BEGIN") == 0) {
		db->seen = seq;
		db->snapshot = true;
		trace(db, DB_TRACE_SNAPSHOT, 0, NULL);
	}
}

void db_read_end(struct db *db)
{
	if (!db)
		return;
	db->snapshot_due = false;
	if (!db->snapshot)
		return;
	db->snapshot = false;
	/* a read transaction commits even with read statements still open (they keep their
	 * read lock until they are reset, as an autocommit read would) */
	if (!sqlite3_get_autocommit(db->h) && exec_plain(db, "COMMIT") < 0)
		(void)exec_plain(db, "ROLLBACK");
}

/* Under the write mutex: the transaction runs on the thread's own connection, not the
 * writer, when the own connection's cache holds the newest state (One writer): it saw the
 * latest commit, its own or through a snapshot begun after it. When the writer's is warm
 * too, the own one still wins: the thread's next snapshot then needs no reload either,
 * where a commit on the writer would make it read its pages again (one client's requests,
 * one after the other). */
static bool own_is_warm(struct db *db)
{
	struct db_file *f = db->file;
	uint64_t seq = atomic_load(&f->seq);

	/* and the thread's is the only one in use: the latest commit was this thread's (one
	 * client's requests, one after the other), or the writer's cache is cold anyway. When
	 * another thread's commit on the writer was the latest and this thread's snapshot came
	 * after it (many clients), both are warm: the writer keeps its cache, as running the
	 * transaction here would make it cold for every transaction after it, and the thread's
	 * own is read again at its next snapshot anyway (after any other thread's commit) */
	return db->seen == seq && (f->last_owner == db->id || !(f->writer && f->writer->seen == seq));
}

/* The file's write mutex, waited for up to DB_BUSY_TIMEOUT_MS (logged when not granted). */
static bool lock_timed(pthread_mutex_t *m)
{
	struct timespec deadline;
	int r;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DB_BUSY_TIMEOUT_MS / 1000;
	r = pthread_mutex_timedlock(m, &deadline);
	if (r != 0)
		log_error("db.lock", "write lock not granted: %s", strerror(r));
	return r == 0;
}

int db_begin(struct db *db)
{
	struct db *c;
	int r;

	if (db->writing)
		return -EBUSY;  /* a transaction is already open on this connection */
	db_read_end(db);
	if (!lock_timed(&db->file->write_lock))
		return -EBUSY;
	db->writing = true;
	pthread_mutex_lock(&db->file->sync_lock);
	r = db->file->sync_error;
	pthread_mutex_unlock(&db->file->sync_lock);
	if (r < 0) {
		write_unlock(db);
		return r;   /* an fdatasync failed: nothing is committed any more */
	}
	if (db->share_writer && db->file->path[0] && sqlite3_get_autocommit(db->h) && !own_is_warm(db)) {
		struct db_file *f = db->file;
		char err[256];

		if (!f->writer && (f->writer = conn_open(f->path, err, sizeof(err))) != NULL) {
			f->writer->file = f;
			f->writer->is_writer = true;
			/* every write transaction runs here, and its cache stays valid from one
			 * to the next (nothing else writes): large enough for the indexes' pages
			 * that writes touch (docs/performance.md step 21); a failure keeps SQLite's
			 * default */
			char pragma[48];

			str_printf(pragma, sizeof(pragma), "PRAGMA cache_size=-%d", KURA_DB_WRITER_CACHE_KIB);
			if (sqlite3_exec(f->writer->h, pragma, NULL, NULL, NULL) != SQLITE_OK)
				log_warn("db.begin", "writer cache_size: %s", sqlite3_errmsg(f->writer->h));
		} else if (!f->writer) {
			log_warn("db.begin", "no writer connection (%s): the transaction runs on the thread's own", err);
		}
		if (f->writer) {
			db->w = f->writer;
			db->w->writing = true;
		}
	}
	c = conn(db);
	/* group commit (db_commit): the safety level may only change outside a transaction */
	if (db->file->path[0]) {
		r = c->sync_normal ? 0 : exec_plain(c, "PRAGMA synchronous=NORMAL");
		if (r < 0) {
			write_unlock(db);
			return r;
		}
		c->sync_normal = c->grouped = true;
	}
	r = exec_plain(c, "BEGIN IMMEDIATE");
	if (r < 0)
		write_unlock(db);
	else
		trace(db, DB_TRACE_BEGIN, 0, NULL);
	return r;
}

/* A db_begin() transaction committed on c: c's cache holds the newest state. */
static void seq_committed(struct db *db, struct db *c)
{
	c->seen = atomic_fetch_add(&db->file->seq, 1) + 1;
	db->file->last_owner = db->id;
}

static int commit_full(struct db *db)
{
	struct db *c = conn(db);
	int r = exec_plain(c, "COMMIT");

	if (r == 0)
		seq_committed(db, c);
	/* a failed COMMIT may leave the transaction open (the caller rolls back) or end it */
	if (r == 0 || sqlite3_get_autocommit(c->h))
		write_unlock(db);
	return r;
}

/*
 * Group commit. A COMMIT under synchronous=FULL fsyncs the WAL while this process's write
 * mutex is held, so concurrent writers (32 clients uploading, audit batches of readers)
 * queued for one fsync each, one after the other. db_commit() instead commits with
 * synchronous=NORMAL (set by db_begin, back to FULL before the connection's next autocommit
 * write, autocommit_full: the frames are written to the WAL, not yet synced), releases the write mutex, and then waits until
 * an fdatasync of the WAL that started after its COMMIT has returned: whichever waiter
 * finds no sync under way becomes the leader and syncs for every transaction committed so
 * far. db_commit() therefore still
 * returns 0 only once the transaction is durable, as synchronous=FULL did; only the fsync is
 * shared, and the next writer can append to the WAL while it runs.
 *
 * Sound because the WAL is append-only until a checkpoint, and SQLite syncs the WAL before
 * every checkpoint and the database after it under NORMAL too: an fdatasync of the WAL file
 * makes every frame written before it durable, and recovery replays committed frames in
 * order, so a durable transaction never depends on a later one. Others may read a committed
 * transaction before its sync; anything they acknowledge is recorded by a later transaction
 * of their own (the audit chain, the outbox claim), whose durable commit covers the earlier
 * frames; a reader whose record commits relaxed (db_commit_relaxed) first waits for every
 * durable commit before it, so it never answers with a change that is not yet durable.
 * Autocommit writes outside db_begin() run at synchronous=FULL (autocommit_full).
 * A failed fdatasync is never retried (what the kernel dropped is unknown): every later
 * commit on the file fails too.
 */
/* The file's identity (device and inode number; at, path as statx takes them), asked for
 * alone: a stat() also asks for the times, and on a kernel with multigrain timestamps
 * (Linux 6.13 and later, ext4, XFS, btrfs, tmpfs) a file whose times were read gets a
 * fine-grained time at its next write, so every write after it changed the inode and every
 * fdatasync also wrote the inode (ext4 without a journal: a second synchronous disk write,
 * ~50 us a commit; docs/performance.md step 17). statx with STATX_INO alone leaves the
 * times unread (the device comes with every statx); fstatat where statx is missing. */
static int file_id(int at, const char *path, int flags, dev_t *ret_dev, ino_t *ret_ino)
{
	struct statx sx;
	struct stat st;

	if (statx(at, path, flags, STATX_INO, &sx) == 0 && (sx.stx_mask & STATX_INO)) {
		*ret_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		*ret_ino = (ino_t)sx.stx_ino;
		return 0;
	}
	/* no statx (ENOSYS, or refused by a seccomp profile), or no inode number from it (a
	 * FUSE file system may leave it out): the answer, an absent WAL's ENOENT included, is
	 * fstatat's own */
	if (fstatat(at, path, &st, flags) < 0)
		return -errno;
	*ret_dev = st.st_dev;
	*ret_ino = st.st_ino;
	return 0;
}

/* Closes the kept WAL descriptor. Its inode number can name another file once closed: the
 * directory entry of whatever WAL comes next is synced anew. */
static void wal_forget(struct db_file *f)
{
	if (f->wal_fd < 0)
		return;
	close(f->wal_fd);
	f->wal_fd = -1;
	f->wal_dir_synced = 0;
}

/* The WAL's descriptor for a leader's fdatasync: the one kept in f while path + "-wal"
 * still names its file (one statx instead of an open, a statx and a close per sync: step 23
 * of docs/performance.md), else the WAL opened anew and kept. SQLite replaces the WAL only when
 * the last connection to the file closes (and kura keeps its writer open), but a WAL that
 * is not the one kept is never synced in its place. Leader only (wait_durable). -ENOENT: no
 * WAL (checkpointed and removed). */
static int wal_descriptor(struct db_file *f, const char *wal)
{
	dev_t dev;
	ino_t ino;
	int fd, r;

	r = file_id(AT_FDCWD, wal, 0, &dev, &ino);
	if (r == 0 && f->wal_fd >= 0 && dev == f->wal_fd_dev && ino == f->wal_fd_ino)
		return f->wal_fd;
	wal_forget(f);
	if (r < 0)
		return r;
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* the file opened: a WAL made between the look-up and the open, too */
	r = file_id(fd, "", AT_EMPTY_PATH, &dev, &ino);
	if (r < 0) {
		close(fd);
		return r;
	}
	f->wal_fd = fd;
	f->wal_fd_dev = dev;
	f->wal_fd_ino = ino;
	return fd;
}

/* 0 synced; <0 with *ret_synced_failed: the fdatasync itself failed (what the kernel
 * dropped is unknown: sticky); <0 without: nothing was synced (no descriptor left, EMFILE
 * under load …), the frames are still in the page cache for a later sync to cover. */
static int wal_fdatasync(struct db_file *f, bool *ret_sync_failed)
{
	char wal[PATH_MAX + 8], dir[PATH_MAX];
	bool is_wal = true;
	int fd, dfd, r;

	*ret_sync_failed = false;
	if (str_printf(wal, sizeof(wal), "%s-wal", f->path) < 0)
		return -ENAMETOOLONG;
	fd = wal_descriptor(f, wal);
	if (fd == -ENOENT) {   /* checkpointed and removed: the frames are in the file */
		fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		is_wal = false;
	}
	if (fd < 0)
		return fd;
	r = fdatasync(fd) < 0 ? -errno : 0;
	*ret_sync_failed = r < 0;
	/* a WAL made since the last sync: its directory entry too, as SQLite does at the first
	 * sync of a new WAL (which under NORMAL comes only at a checkpoint), else a power loss
	 * can take the whole file, and the commits in it, away */
	if (r == 0 && is_wal && f->wal_fd_ino != f->wal_dir_synced) {
		char *slash;

		str_copy(dir, sizeof(dir), f->path);
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			r = -errno;   /* nothing known synced: not sticky */
		} else {
			r = fsync(dfd) < 0 ? -errno : 0;
			*ret_sync_failed = r < 0;
			close(dfd);
			if (r == 0)
				f->wal_dir_synced = f->wal_fd_ino;
		}
	}
	if (!is_wal)
		close(fd);
	else if (*ret_sync_failed)
		wal_forget(f);   /* after a failed sync: nothing more through that descriptor */
	return r;
}

static int wait_durable(struct db_file *f, uint64_t mine)
{
	int r, mine_err = 0;

	pthread_mutex_lock(&f->sync_lock);
	/* each waiter leads at most one attempt: one whose sync could not even start (no
	 * descriptor) fails its own commit, and the others still try theirs */
	while (f->synced < mine && f->sync_error == 0 && mine_err == 0) {
		uint64_t upto;
		bool sync_failed;

		if (f->syncing) {
			pthread_cond_wait(&f->synced_cond, &f->sync_lock);
			continue;
		}
		f->syncing = true;
		upto = f->committed;   /* every commit so far is in the WAL: one sync covers them */
		pthread_mutex_unlock(&f->sync_lock);
		r = wal_fdatasync(f, &sync_failed);
		pthread_mutex_lock(&f->sync_lock);
		f->syncing = false;
		if (r < 0 && sync_failed) {
			f->sync_error = r;
			log_error("db.sync", "fdatasync of %s-wal failed: %s; no commit succeeds from now on",
				  f->path, strerror(-r));
		} else if (r < 0) {
			mine_err = r;
			log_error("db.sync", "cannot open %s-wal to sync it: %s; this commit is not known to be durable",
				  f->path, strerror(-r));
		} else if (upto > f->synced) {
			f->synced = upto;
		}
		pthread_cond_broadcast(&f->synced_cond);
	}
	r = f->synced >= mine ? 0 : f->sync_error ? f->sync_error : mine_err ? mine_err : -EIO;
	pthread_mutex_unlock(&f->sync_lock);
	return r;
}

/* db_commit up to its fsync: committed to the WAL and the write mutex released; *ret_mine
 * is the commit wait_durable() must see synced (0: durable already, synchronous=FULL). */
static int commit_begin(struct db *db, uint64_t *ret_mine)
{
	struct db_file *f = db->file;
	struct db *c = conn(db);
	uint64_t mine = 0;
	int r;

	*ret_mine = 0;
	if (!c->grouped)
		return commit_full(db);
	pthread_mutex_lock(&f->sync_lock);
	r = f->sync_error;
	pthread_mutex_unlock(&f->sync_lock);
	if (r < 0)
		return r;   /* the caller rolls back: nothing is committed after a failed sync */
	r = exec_plain(c, "COMMIT");
	if (r == 0) {
		seq_committed(db, c);
		pthread_mutex_lock(&f->sync_lock);   /* still under the write mutex: WAL order */
		mine = ++f->committed;
		f->durable_hi = mine;
		pthread_mutex_unlock(&f->sync_lock);
	}
	/* a failed COMMIT may leave the transaction open (the caller rolls back) or end it */
	if (r == 0 || sqlite3_get_autocommit(c->h))
		write_unlock(db);
	*ret_mine = mine;
	return r;
}

int db_commit(struct db *db)
{
	uint64_t mine;
	int r = commit_begin(db, &mine);

	if (r == 0 && mine)
		r = wait_durable(db->file, mine);
	return r;
}

/*
 * Combined write transactions (db.h db_combined). Under load the write mutex is the queue
 * every upload waits in, and each transaction in it pays a BEGIN, a COMMIT (the WAL write
 * of every page it touched: 14 for a small PUT, of which the quota row, the chain head,
 * page 1 and index leaves are the same pages for the next PUT) and a hand-off of the mutex
 * to the next thread. Here a thread that finds another's combined transaction under way
 * queues its work and sleeps; when that transaction has committed, the first queued thread
 * leads the next one with every work queued by then, each in a savepoint of its own
 * (ROLLBACK TO undoes a failed one alone), and commits once. The leader gives the lead up
 * right after its COMMIT, so the next batch runs during the fsync, then waits for the fsync
 * that covers the batch (the group commit, wait_durable) and wakes each of its threads
 * once, with its result: the others sleep through both steps, where each waiting for the
 * fsync itself cost a second wake-up per work and a herd on sync_lock at every sync. The
 * works live on the waiting callers' stacks, which stay valid until they are woken (as
 * audit.c's group commit of records).
 */
struct db_work {
	db_work_fn fn;
	void *ctx;
	struct db_work *next;
	pthread_cond_t wake;   /* signalled when done, or when it is to lead the next batch */
	int result;
	bool taken;            /* in a batch under way: its leader reports the result */
	bool done;
};

/* The works of batch, in order, in one transaction on db; each work's result in it. */
static int combined_run(struct db *db, struct db_work *batch, uint64_t *ret_mine)
{
	struct db_work *p;
	bool several = batch->next != NULL;
	int r = db_begin(db);

	*ret_mine = 0;
	for (p = batch; p; p = p->next) {
		if (r < 0) {
			p->result = r;
			continue;
		}
		if (several && (r = exec_plain(conn(db), "SAVEPOINT kura_work")) < 0) {
			p->result = r;
			continue;
		}
		p->result = p->fn(db, p->ctx);
		if (p->result > 0)
			p->result = -EINVAL;   /* a work returns 0 or <0 (db.h) */
		if (!several) {
			r = p->result;
		} else if (p->result < 0) {
			r = exec_plain(conn(db), "ROLLBACK TO kura_work");
			if (r == 0)
				r = exec_plain(conn(db), "RELEASE kura_work");
		} else {
			r = exec_plain(conn(db), "RELEASE kura_work");
		}
		/* an error that ended the transaction (SQLite rolls back on some, e.g. a full
		 * disk) took every work before this one with it */
		if (r == 0 && sqlite3_get_autocommit(conn(db)->h))
			r = -EIO;
	}
	if (r == 0)
		r = commit_begin(db, ret_mine);
	if (r < 0)
		db_rollback(db);
	/* a failed transaction fails every work with its error (a work's own refusal may have
	 * been judged against another's change that is now undone); else each keeps its own */
	for (p = batch; p && r < 0; p = p->next)
		p->result = r;
	return r;
}

int db_combined(struct db *db, db_work_fn fn, void *ctx)
{
	struct db_file *f = db->file;
	struct db_work me = { .fn = fn, .ctx = ctx };

	if (db->writing || db_in_transaction(db))
		return -EBUSY;
	db_read_end(db);
	if (!f->path[0])   /* no group commit for this file: one transaction each */
		return db_work_alone(db, fn, ctx);
	pthread_mutex_lock(&f->combine_lock);
	if (f->combine_leader && pthread_equal(f->combine_thread, pthread_self())) {
		/* a work that asked for a combined transaction of its own (through another
		 * connection): it would wait for itself; the caller's bug */
		pthread_mutex_unlock(&f->combine_lock);
		log_error("db.combined", "called from inside a combined transaction's work");
		return -EDEADLK;
	}
	pthread_cond_init(&me.wake, NULL);
	*f->combine_tail = &me;
	f->combine_tail = &me.next;
	while (!me.done) {
		struct db_work *batch, *p, *next;
		uint64_t mine;
		bool any = false;
		int durable = 0;

		if (me.taken || f->combine_leader) {
			pthread_cond_wait(&me.wake, &f->combine_lock);
			continue;
		}
		f->combine_leader = true;
		f->combine_thread = pthread_self();
		batch = f->combine_head;
		f->combine_head = NULL;
		f->combine_tail = &f->combine_head;
		for (p = batch; p; p = p->next)
			p->taken = true;
		pthread_mutex_unlock(&f->combine_lock);

		(void)combined_run(db, batch, &mine);

		pthread_mutex_lock(&f->combine_lock);
		f->combine_leader = false;
		if (f->combine_head)   /* queued meanwhile: its first leads the next batch */
			pthread_cond_signal(&f->combine_head->wake);
		pthread_mutex_unlock(&f->combine_lock);
		for (p = batch; p; p = p->next)
			any |= p->result == 0;
		if (any && mine)   /* the fsync that covers the batch (during the next one) */
			durable = wait_durable(f, mine);
		pthread_mutex_lock(&f->combine_lock);
		for (p = batch; p; p = next) {
			next = p->next;   /* p may return (and its stack go) once done and unlocked */
			if (p->result == 0)
				p->result = durable;
			p->done = true;
			if (p != &me)
				pthread_cond_signal(&p->wake);
		}
	}
	pthread_mutex_unlock(&f->combine_lock);
	pthread_cond_destroy(&me.wake);
	return me.result;
}

/*
 * Relaxed commits (db.h db_commit_relaxed): the transaction is committed to the WAL, which
 * is in the kernel's page cache when COMMIT returns, so it survives the process being
 * killed; its fdatasync is owed. The next durable commit's sync covers it (the WAL is
 * synced as a whole), and a syncer thread per database file, started at the first relaxed
 * commit, syncs whatever is still owed KURA_DB_RELAXED_SYNC_MS after the oldest such
 * commit. A power loss inside that window can lose a suffix of relaxed commits, never a
 * durable one nor one a durable commit followed (recovery replays a prefix of the WAL).
 */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *syncer_main(void *p)
{
	struct db_file *f = p;

	pthread_mutex_lock(&f->sync_lock);
	for (;;) {
		if (f->owed > f->synced && f->sync_error == 0) {
			int64_t due = f->owed_since_us + KURA_DB_RELAXED_SYNC_MS * 1000, now = mono_us();
			uint64_t upto = f->owed;

			if (now < due && !f->syncer_stop) {
				struct timespec ts;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				ts.tv_sec += (due - now) / 1000000;
				ts.tv_nsec += (long)((due - now) % 1000000) * 1000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&f->owed_cond, &f->sync_lock, &ts);
				continue;
			}
			pthread_mutex_unlock(&f->sync_lock);
			int r = wait_durable(f, upto);   /* leads a sync or waits for one */
			pthread_mutex_lock(&f->sync_lock);
			if (r < 0 && f->sync_error == 0 && f->synced < upto) {
				if (f->syncer_stop)
					break;   /* logged by wait_durable; nothing more can be done */
				f->owed_since_us = mono_us();   /* not started (no descriptor): retry later */
			}
			continue;
		}
		if (f->syncer_stop)
			break;
		pthread_cond_wait(&f->owed_cond, &f->sync_lock);
	}
	pthread_mutex_unlock(&f->sync_lock);
	return NULL;
}

/* Under db_files_lock, at the file's last reference: no connection can commit any more. */
static void syncer_stop(struct db_file *f)
{
	bool running;

	pthread_mutex_lock(&f->sync_lock);
	running = f->syncer_running;
	f->syncer_stop = true;
	pthread_cond_signal(&f->owed_cond);
	pthread_mutex_unlock(&f->sync_lock);
	if (running)
		pthread_join(f->syncer, NULL);
}

int db_commit_relaxed(struct db *db)
{
	struct db_file *f = db->file;
	struct db *c = conn(db);
	uint64_t before = 0, upto = 0;
	bool owe = false;
	int r;

	if (!c->grouped)
		return commit_full(db);   /* synchronous=FULL: durable at once */
	pthread_mutex_lock(&f->sync_lock);
	r = f->sync_error;
	pthread_mutex_unlock(&f->sync_lock);
	if (r < 0)
		return r;
	r = exec_plain(c, "COMMIT");
	if (r == 0) {
		bool first_owed;

		seq_committed(db, c);
		pthread_mutex_lock(&f->sync_lock);   /* still under the write mutex: WAL order */
		f->committed++;
		first_owed = f->owed <= f->synced;
		if (first_owed)
			f->owed_since_us = mono_us();
		f->owed = f->committed;
		/* the read this records may have seen a change whose own db_commit is still in
		 * its fsync: answering before that change is durable could serve what a power
		 * loss then undoes (with its record gone too). Wait for it, not for this one */
		if (f->durable_hi > f->synced)
			before = f->durable_hi;
		upto = f->owed;
		if (!f->syncer_running) {
			f->syncer_running = pthread_create(&f->syncer, NULL, syncer_main, f) == 0;
			owe = !f->syncer_running;   /* no thread: sync now, as db_commit */
		} else if (first_owed) {
			/* the syncer sleeps until something is owed; while something is, it already
			 * waits for the deadline of the oldest, which a later commit does not move
			 * (a wake-up per read cost a futex call and a context switch each) */
			pthread_cond_signal(&f->owed_cond);
		}
		pthread_mutex_unlock(&f->sync_lock);
	}
	if (r == 0 || sqlite3_get_autocommit(c->h))
		write_unlock(db);
	if (owe) {
		log_warn("db.sync", "no syncer thread for %s: relaxed commits are synced at once", f->path);
		r = wait_durable(f, upto);
	} else if (r == 0 && before) {
		r = wait_durable(f, before);
	}
	return r;
}

uint64_t db_relaxed_owed(struct db *db)
{
	struct db_file *f = db ? db->file : NULL;
	uint64_t n = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->sync_lock);
	if (f->owed > f->synced)
		n = f->owed - f->synced;
	pthread_mutex_unlock(&f->sync_lock);
	return n;
}

int db_rollback(struct db *db)
{
	struct db *c = conn(db);
	int r = 0;

	if (!sqlite3_get_autocommit(c->h))
		r = exec_plain(c, "ROLLBACK");
	db->snapshot = db->snapshot_due = false;
	write_unlock(db);
	return r;
}

bool db_in_transaction(struct db *db)
{
	return db->w || (!sqlite3_get_autocommit(db->h) && !db->snapshot);
}

/*
 * The per-tenant lock (db.h "Write serialisation"): every SQLite writer already holds the
 * file's write mutex and BEGIN IMMEDIATE's lock from db_begin() to the end, which covers
 * every tenant at once; what is left is to refuse a call outside such a transaction, where
 * another backend would have nothing to hold the lock to.
 */
int db_lock_tenant(struct db *db, int64_t tenant_id)
{
	if (!db || tenant_id < 0 || !db->writing || sqlite3_get_autocommit(conn(db)->h)) {
		log_error("db.lock", "tenant lock %lld asked for outside a write transaction",
			  (long long)tenant_id);
		return -EINVAL;
	}
	trace(db, DB_TRACE_LOCK, tenant_id, NULL);
	return 0;
}

int64_t db_changes(struct db *db)
{
	return sqlite3_changes64(conn(db)->h);
}

const char *db_errmsg(struct db *db)
{
	return sqlite3_errmsg(conn(db)->h);
}

/* ---- search by name (db.h "Search by name"; migration 0015) ---- */

const char db_name_search_sql[] =
	"SELECT n.id FROM name_search s JOIN file_nodes n ON n.id = s.rowid AND n.name = s.name"
	" WHERE name_search MATCH $1 AND s.rowid > $3 AND n.tenant_id = $2 AND n.in_trash = 0"
	" AND n.parent_id IS NOT NULL ORDER BY s.rowid LIMIT $4";

/*
 * The name index in batches (migration 0032; docs/performance.md "Name index in batches"):
 * writing name_search costs an FTS5 segment per transaction (its tokenizing, its pages and
 * their WAL frames, the merges), ~90 µs of CPU per uploaded file. A name change queues the
 * node id instead (one row of an integer table); a fold replaces the queued ids' rows in
 * name_search by their names in file_nodes, one segment per batch. A queued node deleted
 * before the fold takes its queue row with it (ON DELETE CASCADE); its older index row, if
 * any, goes with db_name_unindex_* as before, and the search's join on id AND name never
 * matches a row whose name is no longer the node's.
 */
int db_name_index(struct db *db, int64_t id, const char *name)
{
	int r;

	(void)name;   /* read from file_nodes at the fold: the name as it is then */
	/* a node above the fold's mark is folded by its id alone: nothing to write (every new
	 * upload); one at or below it (a rename, a move, a reused id) is queued */
	r = db_exec(db, "INSERT INTO name_pending (id) SELECT $1 WHERE $1 <= (SELECT folded_upto"
			" FROM name_index_state WHERE id = 1) ON CONFLICT DO NOTHING", "i", id);
	if (r == 0)
		atomic_fetch_add(&db->file->names_queued, 1);
	return r;
}

#define FOLD_SET "SELECT id FROM name_pending ORDER BY id LIMIT $1"

/* The nodes above the mark, at most a batch of them: how many, and the last id (0: none). */
static int new_range(struct db *db, int64_t *ret_mark, int64_t *ret_upto, int64_t *ret_n)
{
	struct db_stmt *st = db_query(db, "SELECT s.folded_upto, COALESCE(max(n.id), s.folded_upto), count(n.id)"
					  " FROM name_index_state s LEFT JOIN (SELECT id FROM file_nodes WHERE id >"
					  " (SELECT folded_upto FROM name_index_state WHERE id = 1) ORDER BY id LIMIT $1) n"
					  " WHERE s.id = 1", "i", (int64_t)KURA_NAME_FOLD_BATCH);
	int r = db_step(st);

	if (r > 0) {
		*ret_mark = db_int(st, 0);
		*ret_upto = db_int(st, 1);
		*ret_n = db_int(st, 2);
		r = 0;
	} else if (r == 0) {
		r = -EIO;   /* the mark's row (migration 0032) is missing */
	}
	db_done(st);
	return r;
}

/* One batch, in the caller's write transaction: the nodes created since the last fold (above
 * the mark folded_upto), then the queued ids; the larger of the two counts, or < 0. */
static int64_t name_fold_batch(struct db *db)
{
	int64_t n, mark = 0, upto = 0, n_new = 0;
	int r = new_range(db, &mark, &upto, &n_new);

	if (r == 0 && n_new > 0) {
		/* (no index row can be above the mark; deleted first all the same) */
		r = db_exec(db, "DELETE FROM name_search WHERE rowid > $1 AND rowid <= $2", "ii", mark, upto);
		if (r == 0)
			r = db_exec(db, "INSERT INTO name_search (rowid, name) SELECT id, name FROM file_nodes"
					" WHERE id > $1 AND id <= $2 AND parent_id IS NOT NULL", "ii", mark, upto);
		if (r == 0)
			r = db_exec(db, "UPDATE name_index_state SET folded_upto = $1 WHERE id = 1", "i", upto);
	}
	if (r == 0)
		r = db_exec(db, "DELETE FROM name_search WHERE rowid IN (" FOLD_SET ")", "i",
			    (int64_t)KURA_NAME_FOLD_BATCH);
	if (r == 0)
		r = db_exec(db, "INSERT INTO name_search (rowid, name) SELECT n.id, n.name FROM (" FOLD_SET ") p"
				" JOIN file_nodes n ON n.id = p.id WHERE n.parent_id IS NOT NULL",
			    "i", (int64_t)KURA_NAME_FOLD_BATCH);
	if (r == 0)
		r = db_exec(db, "DELETE FROM name_pending WHERE id IN (" FOLD_SET ")", "i",
			    (int64_t)KURA_NAME_FOLD_BATCH);
	if (r < 0)
		return r;
	n = db_changes(db);
	return n > n_new ? n : n_new;
}

/* Nothing to fold: no queued id, no node above the mark. */
static bool name_queue_empty(struct db *db, int *ret_r)
{
	struct db_stmt *st = db_query(db, "SELECT 1 FROM name_pending UNION ALL SELECT 1 FROM file_nodes"
					  " WHERE id > (SELECT folded_upto FROM name_index_state WHERE id = 1) LIMIT 1",
				      NULL);
	int r = db_step(st);

	db_done(st);
	*ret_r = r < 0 ? r : 0;
	return r == 0;
}

int db_name_fold(struct db *db, int64_t min_queued)
{
	int64_t n, claimed = 0;
	int r = 0;

	if (!db)
		return -EINVAL;
	if (min_queued > 0) {
		/* one thread claims the batch; the others go on */
		if (atomic_load(&db->file->names_queued) < min_queued)
			return 0;
		claimed = atomic_exchange(&db->file->names_queued, 0);
		if (claimed < min_queued) {
			atomic_fetch_add(&db->file->names_queued, claimed);
			return 0;
		}
	}
	if (db->writing) {   /* in the caller's transaction */
		do
			n = name_fold_batch(db);
		while (n == KURA_NAME_FOLD_BATCH && min_queued == 0);
		return n < 0 ? (int)n : 0;
	}
	if (db_in_transaction(db))
		return -EBUSY;   /* a read transaction cannot write (none of kura's holds one here) */
	for (;;) {
		if (name_queue_empty(db, &r) || r < 0)
			return r;
		r = db_begin(db);
		if (r < 0)
			return r;
		n = name_fold_batch(db);
		if (n < 0) {
			db_rollback(db);
			return (int)n;
		}
		r = db_commit_relaxed(db);
		if (r < 0) {
			db_rollback(db);
			return r;
		}
		if (min_queued > 0)
			return 0;
		if (n < KURA_NAME_FOLD_BATCH) {
			atomic_store(&db->file->names_queued, 0);   /* all folded */
			return 0;
		}
	}
}

int db_name_unindex_subtree(struct db *db, int64_t tenant_id, int64_t id)
{
	return db_exec(db, "DELETE FROM name_search WHERE rowid IN (WITH RECURSIVE sub(id) AS"
			   " (SELECT $2 UNION ALL SELECT n.id FROM file_nodes n JOIN sub ON n.parent_id = sub.id"
			   " WHERE n.tenant_id = $1) SELECT id FROM sub)", "ii", tenant_id, id);
}

int db_name_unindex_leaves(struct db *db, int64_t tenant_id, int64_t limit)
{
	return db_exec(db, "DELETE FROM name_search WHERE rowid IN (SELECT n.id FROM file_nodes n WHERE n.tenant_id = $1"
			   " AND NOT EXISTS (SELECT 1 FROM file_nodes c WHERE c.tenant_id = $1 AND c.parent_id = n.id)"
			   " ORDER BY n.id LIMIT $2)", "ii", tenant_id, limit);
}

int db_checkpoint_truncate(struct db *db)
{
	int busy = 0, rc;

	if (db->writing)
		return -EBUSY;   /* its own transaction would hold the checkpoint off */
	db_read_end(db);
	rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, &busy);
	if (rc == SQLITE_BUSY || busy)
		return -EBUSY;
	return rc == SQLITE_OK ? 0 : -EIO;
}

struct db_stmt *db_name_search(struct db *db, int64_t tenant_id, const char *text, int64_t after,
			       int64_t limit, char *scratch, size_t scratch_size)
{
	size_t n = text ? strlen(text) : 0, i, o = 0;
	char *phrase = scratch;

	/* one FTS5 phrase: "…" with every '"' doubled, so nothing of text is FTS5 syntax */
	if (!scratch || scratch_size < 2 * n + 3)
		return NULL;
	phrase[o++] = '"';
	for (i = 0; i < n; i++) {
		if (text[i] == '"')
			phrase[o++] = '"';
		phrase[o++] = text[i];
	}
	phrase[o++] = '"';
	phrase[o] = '\0';
	/* every queued name first: a search never misses a committed name */
	if (db_name_fold(db, 0) < 0)
		return NULL;
	return db_query(db, db_name_search_sql, "tiii", phrase, tenant_id, after, limit);
}

const char *db_version(void)
{
	return sqlite3_libversion();
}

/*
 * "-- kura:autoincrement TABLE" in a migration: TABLE's "INTEGER PRIMARY KEY" becomes
 * "INTEGER PRIMARY KEY AUTOINCREMENT", so SQLite never hands out a deleted row's id again
 * (without it, deleting the row with the highest id makes that id the next one: a new
 * account would inherit whatever still names the old id). SQLite cannot ALTER that, so the
 * table is rebuilt the documented way (https://sqlite.org/lang_altertable.html, "other
 * kinds of table schema changes"): foreign keys off, create the new table from the current
 * definition (whatever columns earlier migrations added), copy, drop, rename, re-create its
 * indexes and triggers, check the foreign keys, commit. Runs inside the migration's
 * transaction; the caller turned foreign keys off before it began.
 */
static int rebuild_autoincrement(struct db *db, const char *table)
{
	struct db_stmt *st;
	char *create = NULL, *sql = NULL, **extra = NULL;
	size_t n_extra = 0, i;
	const char *pk, *open;
	int r;

	st = db_query(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1", "t", table);
	r = db_step(st);
	if (r > 0 && db_text(st, 0))
		create = strdup(db_text(st, 0));
	db_done(st);
	if (r <= 0 || !create) {
		free(create);
		return r < 0 ? r : -ENOENT;
	}
	if (strcasestr(create, "AUTOINCREMENT")) {
		free(create);
		return 0;
	}
	pk = strcasestr(create, "INTEGER PRIMARY KEY");
	open = strchr(create, '(');
	if (!pk || !open || pk < open) {
		free(create);
		return -EINVAL;
	}
	/* CREATE TABLE <table>__rebuild (...columns up to the key... AUTOINCREMENT ...rest) */
	pk += strlen("INTEGER PRIMARY KEY");
	if (asprintf(&sql, "CREATE TABLE \"%s__rebuild\" %.*s AUTOINCREMENT%s", table, (int)(pk - open), open,
		     pk) < 0) {
		sql = NULL;
		r = -ENOMEM;
		goto out;
	}
	st = db_query(db, "SELECT sql FROM sqlite_master WHERE tbl_name = $1 AND type IN ('index', 'trigger')"
			  " AND sql IS NOT NULL", "t", table);
	while ((r = db_step(st)) > 0) {
		char **ne = realloc(extra, (n_extra + 1) * sizeof(*extra));

		if (!ne || !(ne[n_extra] = strdup(db_text(st, 0)))) {
			extra = ne ? ne : extra;
			r = -ENOMEM;
			break;
		}
		extra = ne;
		n_extra++;
	}
	db_done(st);
	if (r < 0)
		goto out;
	r = exec_plain(db, sql);
	free(sql);
	sql = NULL;
	if (r == 0 && asprintf(&sql, "INSERT INTO \"%s__rebuild\" SELECT * FROM \"%s\";"
				     " DROP TABLE \"%s\"; ALTER TABLE \"%s__rebuild\" RENAME TO \"%s\"",
			       table, table, table, table, table) < 0) {
		sql = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = exec_plain(db, sql);
	for (i = 0; i < n_extra && r == 0; i++)
		r = exec_plain(db, extra[i]);
out:
	for (i = 0; i < n_extra; i++)
		free(extra[i]);
	free(extra);
	free(sql);
	free(create);
	return r;
}

/* Runs the "-- kura:autoincrement TABLE" lines of a migration's text. */
static int migration_directives(struct db *db, const char *text, bool *ret_any)
{
	static const char tag[] = "-- kura:autoincrement ";
	const char *p = text;
	int r = 0;

	*ret_any = false;
	while (r == 0 && (p = strstr(p, tag)) != NULL) {
		char table[64];
		size_t n;

		p += strlen(tag);
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		if (n == 0 || n >= sizeof(table))
			return -EINVAL;
		memcpy(table, p, n);
		table[n] = '\0';
		*ret_any = true;
		r = rebuild_autoincrement(db, table);
		p += n;
	}
	return r;
}

/* PRAGMA foreign_key_check: 0 when no row breaks a foreign key. */
static int foreign_keys_hold(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db->h, "PRAGMA foreign_key_check", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW) {
		log_error("db.migrate", "a rebuilt table breaks a foreign key");
		return -EINVAL;
	}
	return rc == SQLITE_DONE ? 0 : translate(rc);
}

static int migrate(struct db *db);

/* On the connection itself, never the writer: PRAGMA foreign_keys, which a table rebuild
 * turns off around its transaction, is a setting of the connection. */
int db_migrate(struct db *db)
{
	bool share = db->share_writer;
	int r;

	db->share_writer = false;
	r = migrate(db);
	db->share_writer = share;
	return r;
}

static int migrate(struct db *db)
{
	size_t i;
	int r;

	r = exec_plain(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " name TEXT PRIMARY KEY, applied_us INTEGER NOT NULL)");
	if (r < 0)
		return r;
	for (i = 0; i < embedded_n_migrations; i++) {
		const struct embedded_file *m = &embedded_migrations[i];
		struct db_stmt *st;
		bool rebuild;
		int have;

		st = db_query(db, "SELECT 1 FROM schema_migrations WHERE name = $1", "t", m->name);
		have = db_step(st);
		db_done(st);
		if (have < 0)
			return have;
		if (have)
			continue;
		/* a table rebuild needs foreign keys off, which only works outside a transaction */
		rebuild = strstr(m->text, "-- kura:autoincrement ") != NULL;
		if (rebuild && (r = exec_plain(db, "PRAGMA foreign_keys=OFF")) < 0)
			return r;
		r = db_begin(db);
		if (r == 0)
			r = migration_directives(db, m->text, &rebuild);
		if (r == 0)
			r = exec_plain(db, m->text);
		if (r == 0 && rebuild)
			r = foreign_keys_hold(db);
		if (r == 0)
			r = db_exec(db, "INSERT INTO schema_migrations (name, applied_us) VALUES ($1, $2)",
				    "ti", m->name, clock_now_us());
		if (r == 0)
			r = db_commit(db);
		if (r < 0)
			db_rollback(db);
		if (exec_plain(db, "PRAGMA foreign_keys=ON") < 0 && r == 0)
			r = -EIO;
		if (r < 0) {
			log_error("db.migrate", "migration %s failed", m->name);
			return r;
		}
		log_info("db.migrate", "applied %s", m->name);
	}
	return 0;
}

/* ---- backup (kura backup; docs/operations.md "Backup and restore") ---- */

int db_backup(const char *path, const char *dst_path, char *err, size_t err_size)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc, tries = 0, r = -EIO;

	sqlite_setup();
	rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot open %s: %s", path, src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(src, DB_BUSY_TIMEOUT_MS);
	rc = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
			     SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot create %s: %s", dst_path, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		str_printf(err, err_size, "cannot start the backup of %s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	/* every page in one step: one read transaction on the source, so the copy is the
	 * database as one commit left it, whatever kura serve writes meanwhile (in WAL mode
	 * the writer does not wait for this reader). Stepping in pieces would restart the copy
	 * at every commit of another connection. */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(100);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++tries < 600);
	if (rc != SQLITE_DONE) {
		str_printf(err, err_size, "the backup of %s failed: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "the backup of %s failed: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	/* the copy is one self-contained file (no -wal beside it); kura serve turns WAL on again */
	rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot finish %s: %s", dst_path, sqlite3_errmsg(dst));
		goto out;
	}
	r = 0;
out:
	if (b)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	sqlite3_close(src);
	return r;
}

static int integrity_row(void *cls, int n, char **values, char **names)
{
	char *first = cls;

	(void)names;
	if (n > 0 && values[0] && !first[0])
		str_copy(first, 256, values[0]);
	return 0;
}

int db_integrity_check(const char *path, char *err, size_t err_size)
{
	sqlite3 *h = NULL;
	char first[256] = "";
	int rc, r = -EIO;

	sqlite_setup();
	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "cannot open %s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_exec(h, "PRAGMA integrity_check", integrity_row, first, NULL);
	if (rc != SQLITE_OK) {
		str_printf(err, err_size, "integrity_check of %s failed: %s", path, sqlite3_errmsg(h));
		goto out;
	}
	if (strcmp(first, "ok")) {
		str_printf(err, err_size, "integrity_check of %s: %s", path, first[0] ? first : "no answer");
		r = -EBADMSG;
		goto out;
	}
	r = 0;
out:
	sqlite3_close(h);
	return r;
}
