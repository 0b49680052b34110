/*
 * PostgreSQL backend of the db interface (libpq; issue 10, docs/scale-out.md).
 *
 * Each thread has its own connection (pthread key, closed at thread exit), as on SQLite.
 * Statements are prepared once per connection (PQprepare, cached by the SQL text's address
 * and checked by content, like db_sqlite.c) with the bound values' types declared: 'i'/'I'
 * int8, 't' text, 'b' bytea, 'n' left to the server. A statement runs whole when db_query()
 * binds it; db_step() walks the rows of its result, and reports its error at the first step
 * (where SQLite reports one). Results come as text: db_int() parses integers (and booleans,
 * numeric sums), db_blob() decodes bytea's hex form.
 *
 * SQLite undoes a failed statement and leaves its transaction open, and callers rely on it
 * (an INSERT that meets a unique name answers 409 and the transaction goes on or rolls back
 * cleanly); PostgreSQL aborts the whole transaction. So inside a transaction every statement
 * that is not a SELECT runs under a savepoint, rolled back to when the statement fails. The
 * savepoint costs no extra round trip: it is sent in one pipeline with the statement, and a
 * statement that succeeded leaves its savepoint open until the next write's pipeline releases
 * it (or COMMIT / ROLLBACK ends it), so a write is one round trip, not three.
 *
 * Write serialisation (db.h): db_begin() is BEGIN (READ COMMITTED); db_lock_tenant() takes
 * pg_advisory_xact_lock(tenant id), once per tenant and transaction. Migrations run under a
 * session advisory lock, so nodes starting together apply each one once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/db_int.h"
#include "store/embedded.h"

#define PG_STMT_CACHE 256
#define PG_PARAMS_MAX 64          /* placeholders in one statement */
#define PG_LOCKS_MAX 8            /* tenant locks remembered per transaction (more: asked again) */
#define PG_ERR_MAX 512

/* pg_type OIDs (src/include/catalog/pg_type.dat; stable) */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

struct prep {
	const char *key;      /* the caller's SQL pointer */
	char *sql;            /* its text when prepared */
	char types[PG_PARAMS_MAX + 1];   /* 'i', 't', 'b', 'n' per placeholder */
	char name[16];
};

struct db {
	int backend;          /* DB_BACKEND_PG, first (db_int.h) */
	PGconn *c;
	bool writing;         /* inside db_begin() */
	bool sp_open;         /* the last write's savepoint kura_stmt is still open */
	int64_t locks[PG_LOCKS_MAX];
	size_t n_locks;
	struct prep cache[PG_STMT_CACHE];
	size_t n_cache, next_evict;
	unsigned next_name;
	int64_t changes;
	char err[PG_ERR_MAX];
};

struct db_stmt {
	int backend;          /* DB_BACKEND_PG, first */
	struct db *db;
	const char *sql;
	PGresult *res;
	int err;              /* the statement's error, reported by the first db_step() */
	int row, n_rows;
	unsigned char **blobs;   /* bytea values of the current row decoded (per column), or NULL */
	int n_cols;
};

static db_trace_fn *trace_fn;
static void *trace_ctx;

void pg_db_trace(db_trace_fn *fn, void *ctx)
{
	trace_ctx = ctx;
	trace_fn = fn;
}

static void trace(struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	if (trace_fn)
		trace_fn(trace_ctx, db, ev, tenant_id, sql);
}

/* SQLSTATE to the errno values db.h promises. */
static int translate(const char *state)
{
	if (!state)
		return -EIO;
	if (!strcmp(state, "23505"))
		return -EEXIST;
	if (!strncmp(state, "23", 2))
		return -EINVAL;          /* other integrity constraint (foreign key, check, not null) */
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
	    !strcmp(state, "57014"))
		return -EBUSY;           /* serialization, deadlock, lock not available, cancelled */
	if (!strcmp(state, "53100"))
		return -ENOSPC;
	if (!strcmp(state, "53200"))
		return -ENOMEM;
	return -EIO;
}

static void keep_error(struct db *db, const PGresult *res)
{
	const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(db->c);
	size_t n;

	str_copy(db->err, sizeof(db->err), m && m[0] ? m : "unknown error");
	n = strlen(db->err);
	while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
		db->err[--n] = '\0';
}

/* Runs SQL without parameters (several statements allowed); 0 or the translated error. */
static int exec_plain(struct db *db, const char *sql)
{
	PGresult *res = PQexec(db->c, sql);
	ExecStatusType s = PQresultStatus(res);
	int r = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		keep_error(db, res);
		r = translate(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
		log_error("db.exec", "%s: %.200s", db->err, sql);
	}
	PQclear(res);
	return r;
}

static atomic_bool checked;   /* the database's encoding and collation, once per process */

static int check_database(struct db *db, char *err, size_t err_size)
{
	PGresult *res;
	int r = 0;

	if (atomic_load(&checked))
		return 0;
	res = PQexec(db->c, "SELECT datcollate, pg_encoding_to_char(encoding), current_database()"
			    " FROM pg_database WHERE datname = current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		str_printf(err, err_size, "cannot read the database's collation: %s", PQresultErrorMessage(res));
		r = -EIO;
	} else if (strcmp(PQgetvalue(res, 0, 1), "UTF8")) {
		str_printf(err, err_size, "PostgreSQL database %s has encoding %s; kura needs UTF8: CREATE DATABASE %s"
			   " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 (docs/scale-out.md)",
			   PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		r = -EINVAL;
	} else if (strcmp(PQgetvalue(res, 0, 0), "C") && strcmp(PQgetvalue(res, 0, 0), "POSIX")) {
		/* names sort, page and compare byte by byte on both backends (db.h "Portable SQL") */
		str_printf(err, err_size, "PostgreSQL database %s has collation %s; kura needs \"C\" (names compare"
			   " byte by byte, as on SQLite): CREATE DATABASE %s ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
			   " TEMPLATE template0 (docs/scale-out.md)", PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 0),
			   PQgetvalue(res, 0, 2));
		r = -EINVAL;
	}
	PQclear(res);
	if (r == 0)
		atomic_store(&checked, true);
	return r;
}

/* The server's notices (e.g. "already exists, skipping") become log lines, never raw stderr. */
static void on_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n && message[n - 1] == '\n')
		n--;
	log_event(LOG_DEBUG, "db.notice", "%.*s", (int)n, message);
}

struct db *pg_db_open(const char *url, char *err, size_t err_size)
{
	struct db *db = calloc(1, sizeof(*db));

	if (!db) {
		str_copy(err, err_size, "out of memory");
		return NULL;
	}
	db->backend = DB_BACKEND_PG;
	db->c = PQconnectdb(url);
	if (PQstatus(db->c) != CONNECTION_OK) {
		/* the message names host and database, never the password */
		str_printf(err, err_size, "cannot connect to PostgreSQL: %s", PQerrorMessage(db->c));
		return pg_db_close(db);
	}
	PQsetNoticeProcessor(db->c, on_notice, NULL);
	if (PQserverVersion(db->c) < 130000) {
		str_printf(err, err_size, "PostgreSQL %d is too old: kura needs 13 or later", PQserverVersion(db->c) / 10000);
		return pg_db_close(db);
	}
	if (check_database(db, err, err_size) < 0)
		return pg_db_close(db);
	return db;
}

struct db *pg_db_close(struct db *db)
{
	size_t i;

	if (!db)
		return NULL;
	for (i = 0; i < db->n_cache; i++)
		free(db->cache[i].sql);
	PQfinish(db->c);   /* an open transaction ends with the connection (rolled back) */
	free(db);
	return NULL;
}

static char *thread_url;
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_db_free(void *p)
{
	pg_db_close(p);
}

static void thread_key_init(void)
{
	pthread_key_create(&thread_key, thread_db_free);
}

int pg_db_set_path(const char *url)
{
	pthread_once(&thread_once, thread_key_init);
	free(thread_url);
	thread_url = strdup(url);
	return thread_url ? 0 : -ENOMEM;
}

struct db *pg_db_thread(void)
{
	struct db *db;
	char err[512];

	pthread_once(&thread_once, thread_key_init);
	db = pthread_getspecific(thread_key);
	if (db && PQstatus(db->c) != CONNECTION_OK) {
		/* the server went away (restart, failover): a new connection, outside any transaction */
		PQreset(db->c);
		if (PQstatus(db->c) != CONNECTION_OK) {
			log_error("db.open", "PostgreSQL connection lost: %s", PQerrorMessage(db->c));
			return NULL;
		}
		for (size_t i = 0; i < db->n_cache; i++)
			free(db->cache[i].sql);
		db->n_cache = db->next_evict = 0;
		db->writing = false;
		db->sp_open = false;
		db->n_locks = 0;
	}
	if (db || !thread_url)
		return db;
	db = pg_db_open(thread_url, err, sizeof(err));
	if (!db) {
		log_error("db.open", "%s", err);
		return NULL;
	}
	pthread_setspecific(thread_key, db);
	return db;
}

/* The prepared statement for sql with these value types, preparing it when new. */
static struct prep *prepare(struct db *db, const char *sql, const char *types, size_t n)
{
	Oid oids[PG_PARAMS_MAX];
	char norm[PG_PARAMS_MAX + 1];
	struct prep *p = NULL;
	PGresult *res;
	size_t i;

	for (i = 0; i < n; i++) {
		char t = types[i] == 'I' ? 'i' : types[i];

		norm[i] = t;
		oids[i] = t == 'i' ? OID_INT8 : t == 't' ? OID_TEXT : t == 'b' ? OID_BYTEA : 0;
	}
	norm[n] = '\0';
	for (i = 0; i < db->n_cache; i++) {
		p = &db->cache[i];
		if (p->key == sql && !strcmp(p->types, norm) && !strcmp(p->sql, sql))
			return p;
	}
	if (db->n_cache == PG_STMT_CACHE) {
		char dealloc[32];

		p = &db->cache[db->next_evict];
		db->next_evict = (db->next_evict + 1) % PG_STMT_CACHE;
		str_printf(dealloc, sizeof(dealloc), "DEALLOCATE %s", p->name);
		if (exec_plain(db, dealloc) < 0)
			return NULL;
		free(p->sql);
		p->sql = NULL;
		p->key = NULL;
	} else {
		p = &db->cache[db->n_cache];
	}
	str_printf(p->name, sizeof(p->name), "k%u", db->next_name++);
	res = PQprepare(db->c, p->name, sql, (int)n, oids);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		keep_error(db, res);
		log_error("db.prepare", "%s: %s", db->err, sql);
		PQclear(res);
		return NULL;   /* a new slot stays unused, an evicted one empty (key NULL) */
	}
	PQclear(res);
	p->key = sql;
	p->sql = strdup(sql);
	memcpy(p->types, norm, n + 1);
	if (!p->sql)
		p->key = NULL;
	if (p == &db->cache[db->n_cache])
		db->n_cache++;
	return p->sql ? p : NULL;
}

static bool is_select(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
		sql++;
	return !strncasecmp(sql, "SELECT", 6);
}

/* A write inside a transaction, under its savepoint, in one round trip: one pipeline releases
 * the previous write's savepoint (when still open), sets a new one and runs the statement.
 * Returns the statement's result (NULL when it could not be sent); *err is < 0 when the
 * savepoint could not be set or the pipeline not sent (the statement did not run). */
static PGresult *exec_saved(struct db *db, const char *name, int n, const char *const *values,
			    const int *lengths, const int *formats, int *err)
{
	PGconn *c = db->c;
	PGresult *res, *out = NULL;
	const int release = db->sp_open ? 1 : 0;   /* results: [RELEASE] SAVEPOINT statement sync */
	int got = 0, nulls = 0;
	bool ok, saved = false;

	*err = 0;
	if (!PQenterPipelineMode(c)) {
		keep_error(db, NULL);
		*err = -EIO;
		return NULL;
	}
	ok = !release || PQsendQueryParams(c, "RELEASE SAVEPOINT kura_stmt", 0, NULL, NULL, NULL, NULL, 0);
	ok = ok && PQsendQueryParams(c, "SAVEPOINT kura_stmt", 0, NULL, NULL, NULL, NULL, 0);
	ok = ok && PQsendQueryPrepared(c, name, n, values, lengths, formats, 0);
	ok = PQpipelineSync(c) && ok;
	if (!ok) {
		keep_error(db, NULL);
		*err = -EIO;
	}
	/* one result per query sent, each followed by a NULL, then the sync's */
	for (;;) {
		ExecStatusType s;

		res = PQgetResult(c);
		if (!res) {
			if (++nulls > 2 || PQstatus(c) == CONNECTION_BAD)
				break;   /* nothing more will come */
			continue;
		}
		nulls = 0;
		s = PQresultStatus(res);
		if (s == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (++got == release + 2 && !out) {
			out = res;   /* the statement's: the caller reads it, or its error */
			continue;
		}
		if (got == release + 1 && s == PGRES_COMMAND_OK) {
			saved = true;
		} else if (s != PGRES_COMMAND_OK && !*err) {
			keep_error(db, res);
			*err = translate(PQresultErrorField(res, PG_DIAG_SQLSTATE));
			log_error("db.exec", "%s: savepoint", db->err);
		}
		PQclear(res);
	}
	(void)PQexitPipelineMode(c);
	db->sp_open = saved && !*err;
	if (!*err && !out) {
		keep_error(db, NULL);
		*err = -EIO;
	}
	return out;
}

struct db_stmt *pg_vquery(struct db *db, const char *sql, const char *types, va_list ap)
{
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX], formats[PG_PARAMS_MAX];
	char ints[PG_PARAMS_MAX][24];
	size_t n = types ? strlen(types) : 0, i;
	struct db_stmt *st;
	struct prep *p;
	bool savepoint;
	ExecStatusType s;

	if (n > PG_PARAMS_MAX) {
		log_error("db.bind", "%zu values, at most %d: %s", n, PG_PARAMS_MAX, sql);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		lengths[i] = 0;
		formats[i] = 0;
		switch (types[i]) {
		case 'i':
		case 'I': {
			int64_t v = va_arg(ap, int64_t);

			if (types[i] == 'I' && !v) {
				values[i] = NULL;
			} else {
				str_printf(ints[i], sizeof(ints[i]), "%lld", (long long)v);
				values[i] = ints[i];
			}
			break;
		}
		case 't':
			values[i] = va_arg(ap, const char *);
			break;
		case 'b': {
			const void *v = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);

			if (len > INT32_MAX) {
				log_error("db.bind", "parameter %zu of %zu bytes: %s", i + 1, len, sql);
				return NULL;
			}
			values[i] = v ? (v && len ? v : "") : NULL;   /* NULL pointer: SQL NULL, as in SQLite */
			lengths[i] = (int)len;
			formats[i] = 1;
			break;
		}
		case 'n':
			values[i] = NULL;
			break;
		default:
			log_error("db.bind", "parameter %zu has type '%c': %s", i + 1, types[i], sql);
			return NULL;
		}
	}
	p = prepare(db, sql, types ? types : "", n);
	if (!p)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->backend = DB_BACKEND_PG;
	st->db = db;
	st->sql = sql;
	trace(db, DB_TRACE_STATEMENT, 0, sql);
	savepoint = db->writing && !is_select(sql);
	if (savepoint) {
		st->res = exec_saved(db, p->name, (int)n, values, lengths, formats, &st->err);
		if (st->err < 0)
			return st;
	} else {
		st->res = PQexecPrepared(db->c, p->name, (int)n, values, lengths, formats, 0);
	}
	s = PQresultStatus(st->res);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
		const char *cmd = PQcmdStatus(st->res);

		st->n_rows = PQntuples(st->res);
		st->n_cols = PQnfields(st->res);
		if (!strncmp(cmd, "INSERT", 6) || !strncmp(cmd, "UPDATE", 6) || !strncmp(cmd, "DELETE", 6) ||
		    !strncmp(cmd, "MERGE", 5))
			db->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
		/* its savepoint stays open: the next write's pipeline or COMMIT releases it */
	} else {
		const char *state = PQresultErrorField(st->res, PG_DIAG_SQLSTATE);

		keep_error(db, st->res);
		st->err = translate(state);
		if (!state || strncmp(state, "23", 2))
			log_error("db.step", "%s: %s", db->err, sql);
		if (savepoint) {
			(void)exec_plain(db, "ROLLBACK TO SAVEPOINT kura_stmt; RELEASE SAVEPOINT kura_stmt");
			db->sp_open = false;
		}
	}
	return st;
}

static void free_blobs(struct db_stmt *st)
{
	if (!st->blobs)
		return;
	for (int i = 0; i < st->n_cols; i++)
		free(st->blobs[i]);
	free(st->blobs);
	st->blobs = NULL;
}

int pg_db_step(struct db_stmt *st)
{
	if (st->err)
		return st->err;
	free_blobs(st);
	if (st->row < st->n_rows) {
		st->row++;
		return 1;
	}
	return 0;
}

struct db_stmt *pg_db_done(struct db_stmt *st)
{
	free_blobs(st);
	PQclear(st->res);
	free(st);
	return NULL;
}

/* The current row's value of col, NULL for SQL NULL or no row. */
static const char *value(struct db_stmt *st, int col)
{
	int r = st->row - 1;

	if (!st->res || r < 0 || r >= st->n_rows || col < 0 || col >= st->n_cols || PQgetisnull(st->res, r, col))
		return NULL;
	return PQgetvalue(st->res, r, col);
}

int64_t pg_db_int(struct db_stmt *st, int col)
{
	const char *v = value(st, col);

	if (!v)
		return 0;
	if (PQftype(st->res, col) == OID_BOOL)
		return v[0] == 't';
	return strtoll(v, NULL, 10);   /* int2/4/8, and numeric sums ("12" or "12.0") */
}

const char *pg_db_text(struct db_stmt *st, int col)
{
	return value(st, col);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const void *pg_db_blob(struct db_stmt *st, int col, size_t *ret_n)
{
	const char *v = value(st, col);
	size_t n, i;
	unsigned char *out;

	*ret_n = 0;
	if (!v)
		return NULL;
	n = (size_t)PQgetlength(st->res, st->row - 1, col);
	if (PQftype(st->res, col) != OID_BYTEA || n < 2 || v[0] != '\\' || v[1] != 'x') {
		*ret_n = n;   /* text read as bytes, as SQLite does */
		return n ? v : NULL;
	}
	n = (n - 2) / 2;
	if (n == 0)
		return NULL;   /* SQLite's answer for an empty blob */
	if (!st->blobs && !(st->blobs = calloc((size_t)st->n_cols, sizeof(*st->blobs))))
		return NULL;
	if (!st->blobs[col]) {
		out = malloc(n);
		if (!out)
			return NULL;
		for (i = 0; i < n; i++) {
			int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);

			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[i] = (unsigned char)(hi << 4 | lo);
		}
		st->blobs[col] = out;
	}
	*ret_n = n;
	return st->blobs[col];
}

bool pg_db_is_null(struct db_stmt *st, int col)
{
	return value(st, col) == NULL;
}

int pg_db_begin(struct db *db)
{
	int r;

	if (db->writing)
		return -EBUSY;   /* a transaction is already open on this connection */
	r = exec_plain(db, "BEGIN");
	if (r == 0) {
		db->writing = true;
		db->sp_open = false;
		db->n_locks = 0;
		trace(db, DB_TRACE_BEGIN, 0, NULL);
	}
	return r;
}

static void ended(struct db *db)
{
	if (db->writing) {
		db->writing = false;
		db->sp_open = false;
		db->n_locks = 0;
		trace(db, DB_TRACE_END, 0, NULL);
	}
}

/* sql ends with COMMIT; one round trip (a simple query may hold several statements) */
static int commit_with(struct db *db, const char *sql)
{
	PGresult *res = PQexec(db->c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		keep_error(db, res);
		r = translate(PQresultErrorField(res, PG_DIAG_SQLSTATE));
		log_error("db.commit", "%s", db->err);
	} else if (strcmp(PQcmdStatus(res), "COMMIT")) {
		/* a transaction a failed statement aborted ends in ROLLBACK */
		str_copy(db->err, sizeof(db->err), "the transaction was rolled back");
		log_error("db.commit", "%s", db->err);
		r = -EIO;
	}
	PQclear(res);
	if (PQtransactionStatus(db->c) == PQTRANS_IDLE)
		ended(db);
	return r;
}

int pg_db_commit(struct db *db)
{
	return commit_with(db, "COMMIT");
}

/* db.h: the server's WAL writer flushes an asynchronous commit within 3 x wal_writer_delay;
 * a later synchronous commit flushes it with its own */
int pg_db_commit_relaxed(struct db *db)
{
	return commit_with(db, "SET LOCAL synchronous_commit TO OFF; COMMIT");
}

uint64_t pg_db_relaxed_owed(struct db *db)
{
	(void)db;
	return 0;
}

int pg_db_rollback(struct db *db)
{
	int r = 0;

	if (PQtransactionStatus(db->c) != PQTRANS_IDLE)
		r = exec_plain(db, "ROLLBACK");
	ended(db);
	return r;
}

/* PostgreSQL commits each work in a transaction of its own: the server's WAL writer already
 * groups the flushes of concurrent commits (commit_delay aside), and a combined transaction
 * would hold every member's tenant lock until the last one's work is done. */
int pg_db_combined(struct db *db, db_work_fn fn, void *ctx)
{
	return db_work_alone(db, fn, ctx);
}

bool pg_db_lost(struct db *db)
{
	return PQstatus(db->c) == CONNECTION_BAD;
}

bool pg_db_in_transaction(struct db *db)
{
	return PQtransactionStatus(db->c) != PQTRANS_IDLE;
}

/* Read snapshots (db.h): none. Each statement is a round trip to the server either way,
 * and the server keeps its own buffers; a BEGIN and a COMMIT would add two. */
void pg_db_read_begin(struct db *db)
{
	(void)db;
}

void pg_db_read_end(struct db *db)
{
	(void)db;
}

int pg_db_lock_tenant(struct db *db, int64_t tenant_id)
{
	struct db_stmt *st;
	size_t i;
	int r;

	if (tenant_id < 0 || !db->writing || PQtransactionStatus(db->c) == PQTRANS_IDLE) {
		log_error("db.lock", "tenant lock %lld asked for outside a write transaction", (long long)tenant_id);
		return -EINVAL;
	}
	for (i = 0; i < db->n_locks; i++)
		if (db->locks[i] == tenant_id)
			break;
	if (i == db->n_locks) {
		st = db_query(db, "SELECT pg_advisory_xact_lock($1)", "i", tenant_id);
		r = db_step(st);
		db_done(st);
		if (r < 0)
			return r;
		if (db->n_locks < PG_LOCKS_MAX)
			db->locks[db->n_locks++] = tenant_id;
	}
	trace(db, DB_TRACE_LOCK, tenant_id, NULL);
	return 0;
}

int64_t pg_db_changes(struct db *db)
{
	return db->changes;
}

const char *pg_db_errmsg(struct db *db)
{
	return db->err[0] ? db->err : PQerrorMessage(db->c);
}

const char *pg_db_version(void)
{
	static char buf[32];

	str_printf(buf, sizeof(buf), "libpq %d", PQlibVersion());
	return buf;
}

/* ---- search by name (db.h "Search by name"; migrations-pg/0015) ---- */

static const char pg_name_search_sql[] =
	"SELECT id FROM file_nodes WHERE tenant_id = $2 AND in_trash = 0 AND parent_id IS NOT NULL"
	" AND lower(name COLLATE \"und-x-icu\") LIKE '%' || lower($1 COLLATE \"und-x-icu\") || '%' ESCAPE '\\'"
	" AND id > $3 ORDER BY id LIMIT $4";

int pg_db_name_index(struct db *db, int64_t id, const char *name)
{
	(void)db, (void)id, (void)name;
	return 0;   /* the trigram index follows the column */
}

int pg_db_name_fold(struct db *db, int64_t min_queued)
{
	(void)db, (void)min_queued;
	return 0;   /* nothing is queued */
}

int pg_db_name_unindex_subtree(struct db *db, int64_t tenant_id, int64_t id)
{
	(void)db, (void)tenant_id, (void)id;
	return 0;
}

int pg_db_name_unindex_leaves(struct db *db, int64_t tenant_id, int64_t limit)
{
	(void)db, (void)tenant_id, (void)limit;
	return 0;
}

int pg_db_checkpoint_truncate(struct db *db)
{
	/* the WAL's segments are recycled after a checkpoint; needs superuser or pg_checkpoint */
	return exec_plain(db, "CHECKPOINT");
}

struct db_stmt *pg_db_name_search(struct db *db, int64_t tenant_id, const char *text, int64_t after,
				  int64_t limit, char *scratch, size_t scratch_size)
{
	size_t n = text ? strlen(text) : 0, i, o = 0;

	/* a LIKE pattern's inside: %, _ and the escape itself escaped (lower-cased in SQL, as the
	 * index is: ICU's root locale) */
	if (!scratch || scratch_size < 2 * n + 3)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = text[i];

		if (c == '%' || c == '_' || c == '\\')
			scratch[o++] = '\\';
		scratch[o++] = c;
	}
	scratch[o] = '\0';
	return db_query(db, pg_name_search_sql, "tiii", scratch, tenant_id, after, limit);
}

/* ---- migrations (src/store/migrations-pg, the twins of src/store/migrations) ---- */

int pg_db_migrate(struct db *db)
{
	size_t i;
	int r;

	r = exec_plain(db, "SELECT pg_advisory_lock(1802859105, 0)");   /* "kura"; the two-key form: never a tenant lock's key */
	if (r < 0)
		return r;
	r = exec_plain(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " name TEXT PRIMARY KEY, applied_us BIGINT NOT NULL)");
	for (i = 0; r == 0 && i < embedded_n_pg_migrations; i++) {
		const struct embedded_file *m = &embedded_pg_migrations[i];
		struct db_stmt *st;
		int have;

		st = db_query(db, "SELECT 1 FROM schema_migrations WHERE name = $1", "t", m->name);
		have = db_step(st);
		db_done(st);
		if (have < 0) {
			r = have;
			break;
		}
		if (have)
			continue;
		r = exec_plain(db, "BEGIN");
		if (r == 0)
			r = exec_plain(db, m->text);
		if (r == 0)
			r = db_exec(db, "INSERT INTO schema_migrations (name, applied_us) VALUES ($1, $2)", "ti",
				    m->name, clock_now_us());
		if (r == 0)
			r = exec_plain(db, "COMMIT");
		if (r < 0) {
			(void)exec_plain(db, "ROLLBACK");
			log_error("db.migrate", "migration %s failed: %s", m->name, db->err);
			break;
		}
		log_info("db.migrate", "applied %s", m->name);
	}
	(void)exec_plain(db, "SELECT pg_advisory_unlock(1802859105, 0)");
	return r;
}
