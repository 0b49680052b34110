/*
 * Unit tests for store (db_sqlite.c through db.h): migrations are idempotent; every bind
 * type letter (i I t b n) round-trips, with NULL from 'I' 0, 't' NULL and 'n'; a uniqueness
 * conflict is -EEXIST; a type string whose length differs from the placeholder count is
 * refused (db_query NULL, db_exec < 0) and binds nothing; a rolled-back transaction leaves
 * nothing; a second connection sees committed data only; the statement cache survives
 * 10,000 queries (ASan checks for leaks), a statement reused after being freed by
 * content (same address, different text), and eviction while a statement is in use; the
 * upgrade over 0009 (accounts rebuilt with AUTOINCREMENT) keeps every row and foreign key;
 * INSERT … RETURNING id through db_insert; the per-tenant lock only inside a transaction;
 * db_one's row, no-row and error answers; the db_begin() transactions of db_thread()
 * connections on one writer connection, with the statements that would cross it refused;
 * no string literal under src/ (outside
 * db_sqlite.c) uses SQL outside the portable subset of db.h.
 * Every test gets its own database in a mkdtemp directory.
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/limits.h"
#include "store/db.h"
#include "store/embedded.h"
#include "store/walbuf.h"
#include <sys/wait.h>

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[512];

	if (!fx)
		return -1;
	str_copy(fx->dir, sizeof(fx->dir), "/tmp/kura-test-store-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	str_printf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->db = db_open(fx->path, err, sizeof(err));
	if (!fx->db)
		return -1;
	if (db_migrate(fx->db) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char p[160];

	db_close(fx->db);
	unlink(fx->path);
	str_printf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	str_printf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static int64_t count_rows(struct db *db, const char *sql)
{
	struct db_stmt *st = db_query(db, sql, NULL);
	int64_t n;

	assert_non_null(st);
	assert_int_equal(db_step(st), 1);
	n = db_int(st, 0);
	db_done(st);
	return n;
}

static void make_table(struct db *db)
{
	assert_int_equal(db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, s TEXT,"
				     " b BLOB, u TEXT UNIQUE)", NULL), 0);
}

static void test_migrate_twice(void **state)
{
	struct fixture *fx = *state;
	int64_t n = count_rows(fx->db, "SELECT COUNT(*) FROM schema_migrations");

	assert_true(n >= 1);
	assert_int_equal(db_migrate(fx->db), 0);
	assert_int_equal(db_migrate(fx->db), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM schema_migrations"), n);
	/* the foundation tables exist */
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
					     " AND name IN ('tenants', 'accounts', 'sessions', 'audit_events')"), 4);
	assert_non_null(db_version());
}

/*
 * The generations two per-process copies trust (tenant/settings.c, http/dav_cache.c) move
 * only through triggers (migrations 0034, 0036). A later migration that rebuilds one of
 * their tables (SQLite's create, copy, drop, rename) drops its triggers without a word, and
 * the copies would serve old values from then on: every one must still be there, with the
 * tables it watches, after all migrations.
 */
static void test_generation_triggers(void **state)
{
	struct fixture *fx = *state;
	static const char *const watched[][2] = {
		{ "tenant_features", "tenants" }, { "tenant_client_certs", "tenants" },
		{ "tenant_security", "tenants" }, { "tenant_ip_ranges", "tenants" },
		{ "mfa_policies", "tenants" }, { "file_nodes", "file_quotas" },
		{ "dav_props", "file_quotas" }, { "dav_locks", "file_quotas" },
	};
	char sql[512];

	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
		const char *ev[] = { "INSERT", "UPDATE", "DELETE" };

		for (size_t k = 0; k < 3; k++) {
			snprintf(sql, sizeof(sql),
				 "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = '%s'"
				 " AND sql LIKE '%%AFTER %s%%' AND sql LIKE '%%UPDATE %s SET %s%%'",
				 watched[i][0], ev[k], watched[i][1],
				 !strcmp(watched[i][1], "tenants") ? "settings_gen" : "tree_gen");
			if (count_rows(fx->db, sql) != 1)
				fail_msg("no %s trigger on %s moves %s's generation", ev[k], watched[i][0],
					 watched[i][1]);
		}
	}
}

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;
	static const unsigned char blob[] = { 0, 1, 2, 0xff, 0, 0x80 };
	static const char *const text = "蔵 kura \"quoted\" 'single' ; DROP TABLE t; --";
	const void *p;
	struct db_stmt *st;
	size_t n;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s, b) VALUES ($1, $2, $3, $4)", "iitb",
				 (int64_t)1, INT64_MIN, text, blob, sizeof(blob)), 0);
	assert_int_equal(db_changes(fx->db), 1);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s, b) VALUES ($1, $2, $3, $4)", "iItb",
				 (int64_t)2, INT64_MAX, "", "", (size_t)0), 0);

	st = db_query(fx->db, "SELECT i, s, b FROM t WHERE id = $1", "i", (int64_t)1);
	assert_non_null(st);
	assert_int_equal(db_step(st), 1);
	assert_true(db_int(st, 0) == INT64_MIN);
	assert_string_equal(db_text(st, 1), text);
	p = db_blob(st, 2, &n);
	assert_int_equal(n, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_false(db_is_null(st, 0));
	assert_int_equal(db_step(st), 0);
	db_done(st);

	st = db_query(fx->db, "SELECT i, s, length(b), typeof(b) FROM t WHERE id = $1", "i", (int64_t)2);
	assert_int_equal(db_step(st), 1);
	assert_true(db_int(st, 0) == INT64_MAX);
	assert_string_equal(db_text(st, 1), "");
	assert_int_equal(db_int(st, 2), 0);
	db_done(st);

	/* the same statement with other values: bindings from the last use are gone */
	st = db_query(fx->db, "SELECT i, s, b FROM t WHERE id = $1", "i", (int64_t)2);
	assert_int_equal(db_step(st), 1);
	assert_true(db_int(st, 0) == INT64_MAX);
	db_done(st);
}

static void test_nulls(void **state)
{
	struct fixture *fx = *state;
	struct db_stmt *st;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s, b) VALUES ($1, $2, $3, $4)", "iItn",
				 (int64_t)1, (int64_t)0, (const char *)NULL), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s) VALUES ($1, $2, $3)", "iIt",
				 (int64_t)2, (int64_t)7, "x"), 0);
	st = db_query(fx->db, "SELECT i, s, b FROM t WHERE id = $1", "i", (int64_t)1);
	assert_int_equal(db_step(st), 1);
	assert_true(db_is_null(st, 0));
	assert_true(db_is_null(st, 1));
	assert_null(db_text(st, 1));
	assert_true(db_is_null(st, 2));
	db_done(st);
	/* 'I' with a value is a value; 'i' 0 is a zero, not NULL */
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 2 AND i = 7"), 1);
	assert_int_equal(db_exec(fx->db, "UPDATE t SET i = $1 WHERE id = 2", "i", (int64_t)0), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 2 AND i IS NOT NULL"), 1);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE i IS NULL"), 1);
}

static void test_unique_conflict(void **state)
{
	struct fixture *fx = *state;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, u) VALUES ($1, $2)", "it", (int64_t)1, "a"), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, u) VALUES ($1, $2)", "it", (int64_t)2, "a"),
			 -EEXIST);
	/* primary key conflict is a uniqueness conflict too */
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, u) VALUES ($1, $2)", "it", (int64_t)1, "b"),
			 -EEXIST);
	/* other constraints are not -EEXIST */
	assert_int_equal(db_exec(fx->db, "CREATE TABLE c (x INTEGER NOT NULL CHECK (x > 0))", NULL), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO c (x) VALUES ($1)", "i", (int64_t)-1), -EINVAL);
	assert_int_equal(db_exec(fx->db, "INSERT INTO c (x) VALUES ($1)", "n"), -EINVAL);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 1);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM c"), 0);
	/* the statement that failed is usable again */
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, u) VALUES ($1, $2)", "it", (int64_t)3, "c"), 0);
}

static void test_count_mismatch(void **state)
{
	struct fixture *fx = *state;

	make_table(fx->db);
	assert_null(db_query(fx->db, "SELECT $1, $2", "i", (int64_t)1));
	assert_null(db_query(fx->db, "SELECT $1", "ii", (int64_t)1, (int64_t)2));
	assert_null(db_query(fx->db, "SELECT $1", NULL));
	assert_null(db_query(fx->db, "SELECT $1", ""));
	assert_null(db_query(fx->db, "SELECT 1", "i", (int64_t)1));
	assert_true(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "i", (int64_t)1) < 0);
	assert_true(db_exec(fx->db, "INSERT INTO t (id) VALUES ($1)", "it", (int64_t)1, "x") < 0);
	/* an unknown type letter is refused too */
	assert_true(db_exec(fx->db, "INSERT INTO t (id) VALUES ($1)", "x", (int64_t)1) < 0);
	/* a placeholder number that is not $1..$N is refused (values would land elsewhere) */
	assert_true(db_exec(fx->db, "INSERT INTO t (id) VALUES ($2)", "i", (int64_t)1) < 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 0);
	/* a refused statement is not left busy: the same SQL works with the right values */
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id) VALUES ($1)", "i", (int64_t)5), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)6, "y"), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 2);
	/* db_step on a refused query is an error, and db_done(NULL) is harmless */
	assert_true(db_step(NULL) < 0);
	assert_null(db_done(NULL));
}

static void test_rollback(void **state)
{
	struct fixture *fx = *state;
	int i;

	make_table(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	for (i = 1; i <= 10; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it",
					 (int64_t)i, "doomed"), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 10);
	assert_int_equal(db_rollback(fx->db), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 0);
	/* rollback outside a transaction is a no-op */
	assert_int_equal(db_rollback(fx->db), 0);
	/* commit keeps */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id) VALUES ($1)", "i", (int64_t)1), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 1);
	/* commit without a transaction is an error */
	assert_true(db_commit(fx->db) < 0);
}

static void test_two_connections(void **state)
{
	struct fixture *fx = *state;
	struct db *other;
	char err[512];

	make_table(fx->db);
	other = db_open(fx->path, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(db_migrate(other), 0);  /* already applied by the first */

	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)1, "one"), 0);
	/* not committed: the other connection does not see it */
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t"), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t WHERE s = 'one'"), 1);

	/* and the other way round */
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)2, "two"), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 2);
	assert_null(db_close(other));
	assert_null(db_close(NULL));
}

/* Read groups (db_read_begin, issue 11): the reads of a group share one snapshot; a change
 * (an autocommit write, db_begin) ends the group first and sees the newest state; inside a
 * group db_in_transaction is false (the audit and the other modules ask it whether a write
 * transaction is open). */
static void test_read_group(void **state)
{
	struct fixture *fx = *state;
	struct db *other;
	char err[512];

	make_table(fx->db);
	other = db_open(fx->path, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)1, "one"), 0);

	db_read_begin(fx->db);
	assert_false(db_in_transaction(fx->db));
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 1);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)2, "two"), 0);
	/* the group's snapshot: not yet the other connection's row */
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 1);
	/* a change ends the group: it applies at once, and the reads after it see everything */
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)3, "three"), 0);
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t"), 3);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)4, "four"), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 4);
	db_read_end(fx->db);   /* already ended: nothing */

	/* db_begin in a group: the write transaction reads the newest state */
	db_read_begin(fx->db);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 4);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)5, "five"), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_true(db_in_transaction(fx->db));
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 5);
	db_read_begin(fx->db);   /* in a write transaction: nothing */
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)6, "six"), 0);
	assert_int_equal(db_commit(fx->db), 0);
	db_read_end(fx->db);
	assert_false(db_in_transaction(fx->db));
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t"), 6);

	/* the end of a group lets the next read see the other connection's commits */
	db_read_begin(fx->db);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 6);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)7, "seven"), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 6);
	db_read_end(fx->db);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 7);
	assert_null(db_close(other));
}

/* Group commit (db_sqlite.c): concurrent writers on their own connections share the WAL's
 * fdatasync; every db_commit still returns 0 with its row there for everyone, and each
 * connection's autocommit writes after a commit or a rollback run at synchronous=FULL (2),
 * so they stay synced (the connection stays at NORMAL, 1, until such a write: the level is
 * a PRAGMA that SQLite parses at every run). */
#define GC_THREADS 8
#define GC_TXNS 40

struct gc_arg {
	const char *path;
	int64_t base;
	int failures;
};

static int64_t sync_level(struct db *db)
{
	struct db_stmt *st = db_query(db, "PRAGMA synchronous", NULL);
	int64_t v = -1;

	if (st && db_step(st) == 1)
		v = db_int(st, 0);
	db_done(st);
	return v;
}

/* The level an autocommit write leaves the connection at (it ran at that level). */
static int64_t write_level(struct db *db)
{
	if (db_exec(db, "DELETE FROM t WHERE id < 0", NULL) < 0)
		return -1;
	return sync_level(db);
}

static void *gc_writer(void *p)
{
	struct gc_arg *a = p;
	char err[256];
	struct db *db = db_open(a->path, err, sizeof(err));
	int i;

	if (!db) {
		a->failures++;
		return NULL;
	}
	for (i = 0; i < GC_TXNS; i++) {
		if (db_begin(db) < 0 ||
		    db_exec(db, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", a->base + i, "gc") < 0 ||
		    db_commit(db) < 0 || sync_level(db) != 1 || write_level(db) != 2)
			a->failures++;
	}
	if (db_begin(db) < 0 || db_rollback(db) < 0 || write_level(db) != 2)
		a->failures++;
	db_close(db);
	return NULL;
}

static void test_group_commit(void **state)
{
	struct fixture *fx = *state;
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	int i;

	make_table(fx->db);
	assert_int_equal(sync_level(fx->db), 2);
	for (i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){ fx->path, (int64_t)i * 1000 + 1, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, gc_writer, &args[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'gc'"), GC_THREADS * GC_TXNS);
	assert_int_equal(write_level(fx->db), 2);
}

/* A group commit whose WAL cannot be opened for its fdatasync (no file descriptor left:
 * EMFILE under load) fails that commit, but the file stays writable once descriptors are
 * free again: only a failed fdatasync itself is sticky. The leaders keep the WAL's
 * descriptor once they opened it (wal_descriptor): the database is opened anew here, so
 * that the failing commit is its first sync. */
static void test_group_commit_no_fd(void **state)
{
	struct fixture *fx = *state;
	struct rlimit old, low;
	char err[256];
	int lowest;

	make_table(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (1, 'a')", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	db_close(fx->db);
	fx->db = db_open(fx->path, err, sizeof(err));
	assert_non_null(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (2, 'b')", NULL), 0);
	/* every descriptor below the lowest free one is in use: a limit there makes open fail */
	lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_true(db_commit(fx->db) < 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* descriptors again: the next transactions commit */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (3, 'c')", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 3);
}

/* How many of this process's descriptors name the file st describes. */
static int open_fds_on(const struct stat *st)
{
	char p[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		struct stat o;

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (stat(p, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino)
			n++;
	}
	return n;
}

/* The leaders' kept WAL descriptor is used only while path + "-wal" names its file: a file
 * put in its place (here a copy, as SQLite itself would make a new WAL after the last
 * connection closed it) is opened and synced instead, and the commits go on. */
static void test_group_commit_wal_replaced(void **state)
{
	struct fixture *fx = *state;
	char wal[160], moved[160], cmd[400];
	struct stat a, b;
	int on_old;

	make_table(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (1, 'a')", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	snprintf(moved, sizeof(moved), "%s-wal.moved", fx->path);
	assert_int_equal(stat(wal, &a), 0);
	on_old = open_fds_on(&a);   /* SQLite's connections' and the kept one */
	assert_true(on_old >= 2);
	assert_int_equal(rename(wal, moved), 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", moved, wal);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(stat(wal, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (2, 'b')", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 2);
	/* the leader opened the new file and keeps it (SQLite itself still writes the moved one) */
	assert_true(open_fds_on(&b) >= 1);
	assert_int_equal(open_fds_on(&a), on_old - 1);   /* and no longer the old one */
	unlink(moved);
}

/* One writer connection (db_sqlite.c): the db_begin() transactions of db_thread()
 * connections run on the file's writer. Threads writing at once each read their own writes
 * inside their transaction and see every other thread's after; a statement of the thread's
 * own connection stepped inside its transaction is refused (it would read outside it), as
 * is a statement of the writer used after its transaction ended (another thread may hold
 * the writer by then), and db_done gives such a statement's cache slot back, outside a
 * transaction or inside the next: 200 of them in a row leave the writer usable, and so do
 * 120 threads that end without giving theirs back. A thread whose own connection saw the
 * latest commit runs its transaction there. */
#define OW_THREADS 4
#define OW_TXNS 50

struct ow_arg {
	int64_t base;
	int failures;
};

static void *ow_writer(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();
	struct db_stmt *st;
	int i;

	if (!db) {
		a->failures++;
		return NULL;
	}
	for (i = 0; i < OW_TXNS; i++) {
		int64_t id = a->base + i;

		if (db_begin(db) < 0 || db_exec(db, "INSERT INTO t (id, s) VALUES ($1, 'ow')", "i", id) < 0 ||
		    db_changes(db) != 1) {
			a->failures++;
			db_rollback(db);
			continue;
		}
		st = db_query(db, "SELECT count(*) FROM t WHERE id >= $1 AND id <= $2", "ii", a->base, id);
		if (db_step(st) != 1 || db_int(st, 0) != i + 1)   /* its own writes, inside */
			a->failures++;
		db_done(st);
		if (db_commit(db) < 0)
			a->failures++;
	}
	return NULL;
}

static void *ow_misuse(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();
	struct db_stmt *outside, *inside;
	int i;

	if (!db) {
		a->failures++;
		return NULL;
	}
	outside = db_query(db, "SELECT count(*) FROM t", NULL);
	if (!outside || db_begin(db) < 0 || db_step(outside) != -EIO)
		a->failures++;
	db_done(outside);
	if (db_rollback(db) < 0)
		a->failures++;
	for (i = 0; i < 200; i++) {
		if (db_begin(db) < 0) {
			a->failures++;
			continue;
		}
		inside = db_query(db, "SELECT s FROM t WHERE id = $1", "i", (int64_t)1);
		if (!inside || db_step(inside) != 1 || strcmp(db_text(inside, 0), "one") != 0)
			a->failures++;
		if (db_commit(db) < 0)
			a->failures++;
		if (db_step(inside) != -EIO || db_text(inside, 0) || db_int(inside, 0) || !db_is_null(inside, 0))
			a->failures++;   /* an orphan: refused, no column read */
		db_done(inside);
	}
	/* an orphan given back inside the next transaction (the write mutex already held) */
	inside = NULL;
	if (db_begin(db) < 0 || !(inside = db_query(db, "SELECT s FROM t WHERE id = 1", NULL)) ||
	    db_step(inside) != 1 || db_commit(db) < 0 || db_begin(db) < 0)
		a->failures++;
	db_done(inside);
	/* the writer is whole: a transaction still runs, and its statements go back */
	if (db_exec(db, "UPDATE t SET s = 'uno' WHERE id = 1", NULL) < 0 || db_changes(db) != 1 || db_commit(db) < 0)
		a->failures++;
	/* after it, statements run on the thread's own connection again: an autocommit write at
	 * FULL (the writer stays at NORMAL, group commit) */
	if (write_level(db) != 2)
		a->failures++;
	return NULL;
}

/* The thread ends with an orphan it never gave back: its slot returns at the thread's
 * db_close (more threads than the writer has slots). */
static void *ow_leaver(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();
	struct db_stmt *st;

	if (!db || db_begin(db) < 0) {
		a->failures++;
		return NULL;
	}
	st = db_query(db, "SELECT s FROM t WHERE id = 1", NULL);
	if (!st || db_step(st) != 1 || db_commit(db) < 0)
		a->failures++;
	return NULL;   /* no db_done */
}

/* A read snapshot's count (it makes the thread's own cache current). */
static int64_t ow_snapshot_count(struct db *db, const char *sql)
{
	int64_t n;

	db_read_begin(db);
	n = count_rows(db, sql);
	db_read_end(db);
	return n;
}

/* db_begin, then a statement of the thread's own connection stepped inside the transaction:
 * 1 when the transaction runs there, -EIO (refused) when it runs on the writer. */
static int ow_begin_where(struct db *db)
{
	struct db_stmt *st = db_query(db, "SELECT count(*) FROM t", NULL);
	int r = !st || db_begin(db) < 0 ? -EPROTO : db_step(st);

	db_done(st);
	return r;
}

/* One client's requests one after the other: once the thread's commit is the latest (its
 * first ran on the writer, after other threads'), a snapshot begun after it makes the
 * thread's own cache the warm one, and the transaction runs there (a statement of its own
 * connection then steps inside it); after another thread's commit, on the writer again. */
static void *ow_own(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();

	if (!db) {
		a->failures++;
		return NULL;
	}
	if (db_begin(db) < 0 || db_exec(db, "UPDATE t SET s = s WHERE id = 1", NULL) < 0 || db_commit(db) < 0)
		a->failures++;
	if (ow_snapshot_count(db, "SELECT count(*) FROM t WHERE id = 1") != 1)
		a->failures++;
	if (ow_begin_where(db) != 1)   /* on its own connection */
		a->failures++;
	if (db_exec(db, "INSERT INTO t (id, s) VALUES ($1, 'own')", "i", a->base) < 0 || db_commit(db) < 0)
		a->failures++;
	/* its own commit keeps it warm: the next one runs there too */
	if (ow_begin_where(db) != 1)
		a->failures++;
	if (db_commit(db) < 0)
		a->failures++;
	return NULL;
}

/* Another thread's transaction: a new thread's own cache is cold, so it runs on the writer. */
static void *ow_other(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();

	if (!db || db_begin(db) < 0 || db_exec(db, "INSERT INTO t (id, s) VALUES ($1, 'other')", "i", a->base) < 0 ||
	    db_commit(db) < 0)
		a->failures++;
	return NULL;
}

/* Many clients: another thread's commit on the writer was the latest, and this thread's
 * snapshot came after it, so both caches are warm: the transaction runs on the writer, which
 * keeps its cache for the next (a statement of the thread's own connection is refused inside
 * it); once this thread's commit is the latest, on its own connection again. */
static void *ow_after_other(void *p)
{
	struct ow_arg *a = p;
	struct db *db = db_thread();

	if (!db) {
		a->failures++;
		return NULL;
	}
	if (ow_snapshot_count(db, "SELECT count(*) FROM t WHERE s = 'other'") != 1)
		a->failures++;
	if (ow_begin_where(db) != -EIO)   /* on the writer */
		a->failures++;
	if (db_exec(db, "INSERT INTO t (id, s) VALUES ($1, 'after')", "i", a->base) < 0 || db_commit(db) < 0)
		a->failures++;
	if (ow_snapshot_count(db, "SELECT count(*) FROM t WHERE s = 'after'") != 1)
		a->failures++;
	if (ow_begin_where(db) != 1)   /* its own */
		a->failures++;
	if (db_commit(db) < 0)
		a->failures++;
	return NULL;
}

static void test_one_writer(void **state)
{
	struct fixture *fx = *state;
	pthread_t th[OW_THREADS + 1];
	struct ow_arg args[OW_THREADS + 1];
	int i;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (1, 'one')", NULL), 0);
	assert_int_equal(db_set_path(fx->path), 0);
	for (i = 0; i <= OW_THREADS; i++) {
		args[i] = (struct ow_arg){ (int64_t)(i + 1) * 1000, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, i < OW_THREADS ? ow_writer : ow_misuse, &args[i]), 0);
	}
	for (i = 0; i <= OW_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'ow'"), OW_THREADS * OW_TXNS);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'uno'"), 1);
	/* threads that end with an orphan each, one after the other, more than the slots */
	for (i = 0; i < 120; i++) {
		args[0] = (struct ow_arg){ 0, 0 };
		assert_int_equal(pthread_create(&th[0], NULL, ow_leaver, &args[0]), 0);
		assert_int_equal(pthread_join(th[0], NULL), 0);
		assert_int_equal(args[0].failures, 0);
	}
	args[0] = (struct ow_arg){ 900000, 0 };
	assert_int_equal(pthread_create(&th[0], NULL, ow_own, &args[0]), 0);
	assert_int_equal(pthread_join(th[0], NULL), 0);
	assert_int_equal(args[0].failures, 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'own'"), 1);
	args[0] = (struct ow_arg){ 910000, 0 };
	assert_int_equal(pthread_create(&th[0], NULL, ow_other, &args[0]), 0);
	assert_int_equal(pthread_join(th[0], NULL), 0);
	assert_int_equal(args[0].failures, 0);
	args[0] = (struct ow_arg){ 920000, 0 };
	assert_int_equal(pthread_create(&th[0], NULL, ow_after_other, &args[0]), 0);
	assert_int_equal(pthread_join(th[0], NULL), 0);
	assert_int_equal(args[0].failures, 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'after'"), 1);
}

#ifdef KURA_TEST_HOOKS
/* Rows of t as a fresh process with the default VFS reads them from the files. */
static int64_t rows_in_another_process(const char *path)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *h = NULL;
		sqlite3_stmt *st = NULL;
		int n = -1;

		if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		_exit(n < 0 || n > 250 ? 255 : n);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* store/walbuf.h: a transaction's WAL frames reach the file in one write, right at its
 * commit: the -wal file holds them before the commit returns, and another connection and
 * another process (the default VFS, reading the files) see the rows at once. */
static void test_walbuf_gathers(void **state)
{
	struct fixture *fx = *state;
	char err[256], blob[3000];
	uint64_t fw0, sw0, ow0, fw1, sw1, ow1;
	struct db *other = db_open(fx->path, err, sizeof(err));
	int i;

	assert_non_null(other);
	memset(blob, 'x', sizeof(blob));
	make_table(fx->db);
	walbuf_stats(&fw0, &sw0, &ow0);
	assert_int_equal(db_begin(fx->db), 0);
	for (i = 0; i < 12; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, b) VALUES ($1, $2)", "ib", (int64_t)i + 1, blob,
					 sizeof(blob)), 0);
	assert_int_equal(db_commit(fx->db), 0);
	walbuf_stats(&fw1, &sw1, &ow1);
	assert_int_equal(ow1, ow0);
	/* SQLite wrote each frame as a header and a page; the file got one write (or two
	 * when the transaction began the WAL again at its start) */
	assert_true(sw1 - sw0 >= 24);
	assert_true(fw1 - fw0 <= 2);
	assert_int_equal(count_rows(other, "SELECT count(*) FROM t"), 12);
	assert_int_equal(rows_in_another_process(fx->path), 12);

	/* a transaction larger than the buffer, one that is rolled back, and a small one
	 * after it: each as committed, no more, for every reader */
	assert_int_equal(db_begin(fx->db), 0);
	for (i = 12; i < 120; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, b) VALUES ($1, $2)", "ib", (int64_t)i + 1, blob,
					 sizeof(blob)), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(rows_in_another_process(fx->path), 120);
	assert_int_equal(db_begin(fx->db), 0);
	for (i = 120; i < 200; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, b) VALUES ($1, $2)", "ib", (int64_t)i + 1, blob,
					 sizeof(blob)), 0);
	db_rollback(fx->db);
	assert_int_equal(db_exec(fx->db, "UPDATE t SET i = 7 WHERE id = 3", NULL), 0);
	assert_int_equal(count_rows(other, "SELECT count(*) FROM t"), 120);
	assert_int_equal(count_rows(other, "SELECT i FROM t WHERE id = 3"), 7);
	assert_int_equal(rows_in_another_process(fx->path), 120);
	assert_int_equal(db_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", NULL), 0);
	assert_int_equal(rows_in_another_process(fx->path), 120);
	db_close(other);
	db_close(fx->db);
	fx->db = NULL;
	assert_int_equal(db_integrity_check(fx->path, err, sizeof(err)), 0);
	fx->db = db_open(fx->path, err, sizeof(err));
	assert_non_null(fx->db);
}

/* Copies kura.db and kura.db-wal (not the -shm) into a new directory and opens the copy
 * in a child process with the default VFS, so SQLite recovers the WAL from its frames:
 * sum(i) of t there, or -1 when the copy does not open or check out. */
static int64_t recovered_sum(const char *dir, const char *path)
{
	char copy[160], cmd[512];
	pid_t pid;
	int status = 0;

	str_printf(copy, sizeof(copy), "%s/copy", dir);
	str_printf(cmd, sizeof(cmd), "mkdir -p %s && cp %s %s/kura.db && cp %s-wal %s/kura.db-wal", copy, path, copy,
		   path, copy);
	assert_int_equal(system(cmd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *h = NULL;
		sqlite3_stmt *st = NULL;
		char db[200];
		int ok = 0;
		long long sum = -1, n = 0;

		snprintf(db, sizeof(db), "%s/kura.db", copy);
		if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
			ok = 1;
		sqlite3_finalize(st);
		if (ok && sqlite3_prepare_v2(h, "SELECT coalesce(sum(i), 0), count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			sum = sqlite3_column_int64(st, 0);
			n = sqlite3_column_int64(st, 1);
		}
		_exit(ok && sum == 0 && n == 200 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	str_printf(cmd, sizeof(cmd), "rm -rf %s", copy);
	assert_int_equal(system(cmd), 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

struct walbuf_load {
	const char *path;
	atomic_bool stop;
	atomic_int bad;
};

/* Reads that must always see a whole transaction: every row's i sums to 0 */
static void *walbuf_reader(void *arg)
{
	struct walbuf_load *w = arg;
	char err[256];
	struct db *db = db_open(w->path, err, sizeof(err));

	if (!db) {
		atomic_store(&w->bad, 1);
		return NULL;
	}
	while (!atomic_load(&w->stop)) {
		struct db_stmt *st = db_query(db, "SELECT coalesce(sum(i), 0), count(*) FROM t", NULL);

		if (db_step(st) != 1 || db_int(st, 0) != 0)
			atomic_store(&w->bad, 1);
		db_done(st);
	}
	db_close(db);
	return NULL;
}

/* Writers move amounts between rows (the sum stays 0), in transactions of every size, some
 * rolled back, while readers in other threads and checkpoints run: no reader ever sees a
 * torn transaction and the database checks out. */
static void test_walbuf_under_load(void **state)
{
	struct fixture *fx = *state;
	struct walbuf_load w = { fx->path, false, 0 };
	uint64_t fw0, sw0, ow0, fw1, sw1, ow1;
	pthread_t readers[2];
	char err[256], blob[2000];
	int i, k;

	make_table(fx->db);
	/* a small page cache: transactions spill and rewrite their frames (walRewriteChecksums) */
	assert_int_equal(db_exec(fx->db, "PRAGMA cache_size=8", NULL), 0);
	memset(blob, 'y', sizeof(blob));
	for (i = 0; i < 200; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, b) VALUES ($1, 0, $2)", "ib", (int64_t)i + 1, blob,
					 sizeof(blob)), 0);
	for (k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&readers[k], NULL, walbuf_reader, &w), 0);
	walbuf_stats(&fw0, &sw0, &ow0);
	for (i = 0; i < 300; i++) {
		int64_t n = 1 + i % 97, a = 1 + (i * 7) % 200, b = 1 + (i * 13) % 200;

		assert_int_equal(db_begin(fx->db), 0);
		assert_int_equal(db_exec(fx->db, "UPDATE t SET i = i + $1, b = randomblob(2000) WHERE id = $2", "ii", n, a), 0);
		for (k = 0; k < i % 40; k++)   /* up to ~40 more pages: past the buffer */
			assert_int_equal(db_exec(fx->db, "UPDATE t SET b = randomblob(2000) WHERE id = $1", "i",
						 (int64_t)1 + (i + k) % 200), 0);
		assert_int_equal(db_exec(fx->db, "UPDATE t SET i = i - $1 WHERE id = $2", "ii", n, b), 0);
		if (i % 5 == 4)
			db_rollback(fx->db);
		else
			assert_int_equal(db_commit(fx->db), 0);
		if (i % 50 == 49)
			assert_int_equal(db_exec(fx->db, "PRAGMA wal_checkpoint(PASSIVE)", NULL), 0);
	}
	atomic_store(&w.stop, true);
	for (k = 0; k < 2; k++)
		pthread_join(readers[k], NULL);
	walbuf_stats(&fw1, &sw1, &ow1);
	assert_true(ow1 > ow0);           /* frames rewritten in place: that path ran */
	assert_true(fw1 - fw0 < sw1 - sw0);   /* and the appends were gathered */
	assert_int_equal(atomic_load(&w.bad), 0);
	assert_int_equal(count_rows(fx->db, "SELECT coalesce(sum(i), 0) FROM t"), 0);
	/* the files as a crash would leave them (no wal-index): SQLite's recovery reads every
	 * frame and its checksum from the WAL file and finds the last commit whole */
	assert_true(recovered_sum(fx->dir, fx->path) == 0);
	db_close(fx->db);
	fx->db = NULL;
	assert_int_equal(db_integrity_check(fx->path, err, sizeof(err)), 0);
	fx->db = db_open(fx->path, err, sizeof(err));
	assert_non_null(fx->db);
}
#endif

/* Combined write transactions (db_combined): works that arrive while another's transaction
 * runs are committed together in the next one, each in its own savepoint: one that fails
 * (a unique conflict, or its own refusal after it wrote) is undone alone, the others
 * commit, and each caller gets its own result. Two transactions for six works here: the
 * first holds its transaction until the five others are queued (in an order of their own). */
#define CW_THREADS 6

struct cw_arg {
	const char *path;
	int n;                  /* 0: the slow first work */
	_Atomic int *arrived;   /* the others, about to call db_combined */
	int result;
};

static _Atomic int cw_begins;

static void cw_trace(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	(void)ctx;
	(void)db;
	(void)tenant_id;
	(void)sql;
	if (ev == DB_TRACE_BEGIN)
		atomic_fetch_add(&cw_begins, 1);
}

static int cw_work(struct db *db, void *ctx)
{
	struct cw_arg *a = ctx;
	int r;

	if (a->n == 0) {
		int waited = 0;

		r = db_exec(db, "INSERT INTO t (id, s, u) VALUES (1, 'cw', 'first')", NULL);
		while (atomic_load(a->arrived) < CW_THREADS - 1 && waited++ < 5000)
			usleep(1000);
		usleep(200 * 1000);   /* they queue meanwhile */
		return r;
	}
	/* works 2 and 3 insert the same unique value: the later one conflicts */
	r = db_exec(db, "INSERT INTO t (id, s, u) VALUES ($1, 'cw', $2)", "it", (int64_t)10 + a->n,
		    a->n == 2 || a->n == 3 ? "same" : a->n == 1 ? "one" : a->n == 4 ? "four" : "five");
	if (r == 0 && a->n == 4)
		r = -EPERM;   /* wrote, then refused: its row must go */
	return r;
}

static void *cw_thread(void *p)
{
	struct cw_arg *a = p;
	char err[256];
	struct db *db = db_open(a->path, err, sizeof(err));

	if (!db) {
		a->result = -EIO;
		return NULL;
	}
	if (a->n > 0) {
		while (atomic_load(a->arrived) < 0)   /* until the first work runs */
			usleep(1000);
		atomic_fetch_add(a->arrived, 1);
	}
	a->result = db_combined(db, cw_work, a);
	db_close(db);
	return NULL;
}

/* a work that asks for a combined transaction of its own, on another connection */
static int cw_reentry_work(struct db *db, void *ctx)
{
	struct db *other = ctx;
	struct cw_arg inner = { .n = 5 };

	if (db_combined(other, cw_work, &inner) != -EDEADLK)
		return -EPROTO;
	return db_exec(db, "INSERT INTO t (id, s, u) VALUES (40, 'cw', 'outer')", NULL);
}

static void test_combined(void **state)
{
	struct fixture *fx = *state;
	pthread_t th[CW_THREADS];
	struct cw_arg args[CW_THREADS];
	_Atomic int arrived = -1;
	int i;

	make_table(fx->db);
	atomic_store(&cw_begins, 0);
	db_trace(cw_trace, NULL);
	for (i = 0; i < CW_THREADS; i++) {
		args[i] = (struct cw_arg){ .path = fx->path, .n = i, .arrived = &arrived, .result = 1 };
		assert_int_equal(pthread_create(&th[i], NULL, cw_thread, &args[i]), 0);
		if (i == 0) {
			while (atomic_load(&cw_begins) == 0)   /* the first work's transaction runs */
				usleep(1000);
			atomic_store(&arrived, 0);
		}
	}
	for (i = 0; i < CW_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	db_trace(NULL, NULL);
	assert_int_equal(args[0].result, 0);
	assert_int_equal(args[1].result, 0);
	/* whichever of 2 and 3 came second conflicts */
	assert_true((args[2].result == 0 && args[3].result == -EEXIST) ||
		    (args[3].result == 0 && args[2].result == -EEXIST));
	assert_int_equal(args[4].result, -EPERM);
	assert_int_equal(args[5].result, 0);
	assert_int_equal(atomic_load(&cw_begins), 2);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE s = 'cw'"), 4);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id IN (1, 11, 15)"), 3);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE u = 'same'"), 1);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 14"), 0);
	/* alone, and refused inside a transaction */
	args[1] = (struct cw_arg){ .path = fx->path, .n = 5, .arrived = &arrived };
	assert_int_equal(db_exec(fx->db, "DELETE FROM t WHERE id = 15", NULL), 0);
	assert_int_equal(db_combined(fx->db, cw_work, &args[1]), 0);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 15"), 1);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_combined(fx->db, cw_work, &args[1]), -EBUSY);
	assert_int_equal(db_rollback(fx->db), 0);
	/* from inside a work, through another connection: refused, not a deadlock; the outer
	 * work commits */
	{
		char err[256];
		struct db *other = db_open(fx->path, err, sizeof(err));

		assert_non_null(other);
		assert_int_equal(db_combined(fx->db, cw_reentry_work, other), 0);
		assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 40"), 1);
		db_close(other);
	}
}

/* The checkpoint length (KURA_DB_CHECKPOINT_FRAMES, db_sqlite.c conn_open): the WAL grows past
 * SQLite's default 1,000 frames before a commit copies it back, and no further than the
 * limit and one transaction's frames (the file keeps its longest length). */
static void test_checkpoint_length(void **state)
{
	struct fixture *fx = *state;
	char wal[160], blob[1500];
	int64_t page = count_rows(fx->db, "PRAGMA page_size"), frames, id = 0;
	struct stat st;
	int i, k;

	make_table(fx->db);
	memset(blob, 'c', sizeof(blob));
	/* ~10 new pages a transaction (two rows a page), 8,000 frames and more in all */
	for (i = 0; i < 800; i++) {
		assert_int_equal(db_begin(fx->db), 0);
		for (k = 0; k < 20; k++)
			assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, b) VALUES ($1, 0, $2)", "ib",
						 ++id, blob, sizeof(blob)), 0);
		assert_int_equal(db_commit(fx->db), 0);
	}
	str_printf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_int_equal(stat(wal, &st), 0);
	frames = ((int64_t)st.st_size - 32) / (page + 24);
	assert_true(frames > 1000 + 100);
	assert_true(frames <= KURA_DB_CHECKPOINT_FRAMES + 100);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), id);
}

/* Relaxed commits (db_commit_relaxed, the records of reads): committed and visible at once
 * for every connection, synced later: by the next durable commit, or by the file's syncer
 * thread within KURA_DB_RELAXED_SYNC_MS. An autocommit write after it runs at synchronous=FULL. */
static void test_relaxed_commit(void **state)
{
	struct fixture *fx = *state;
	char err[256];
	struct db *other = db_open(fx->path, err, sizeof(err));
	int i;

	assert_non_null(other);
	make_table(fx->db);
	assert_int_equal(db_relaxed_owed(fx->db), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (1, 'read')", NULL), 0);
	assert_int_equal(db_commit_relaxed(fx->db), 0);
	assert_int_equal(write_level(fx->db), 2);
	/* not waited for: its fsync is still owed (unless the syncer was already that quick) */
	assert_int_equal(count_rows(other, "SELECT COUNT(*) FROM t WHERE s = 'read'"), 1);
	/* a durable commit covers every relaxed one before it */
	assert_int_equal(db_begin(other), 0);
	assert_int_equal(db_exec(other, "INSERT INTO t (id, s) VALUES (2, 'write')", NULL), 0);
	assert_int_equal(db_commit(other), 0);
	assert_int_equal(db_relaxed_owed(fx->db), 0);
	/* with nothing after it, the syncer makes it durable: poll (not a timing assertion:
	 * only that it happens at all, within a generous 60 s) */
	for (i = 0; i < 3; i++) {
		int waited;

		assert_int_equal(db_begin(fx->db), 0);
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES ($1, 'read')", "i",
					 (int64_t)(10 + i)), 0);
		assert_int_equal(db_commit_relaxed(fx->db), 0);
		for (waited = 0; db_relaxed_owed(fx->db) && waited < 60000; waited += 5)
			usleep(5000);
		assert_int_equal(db_relaxed_owed(fx->db), 0);
	}
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 5);
	/* the last connection's close stops the syncer (ASan/valgrind: no thread left) */
	assert_null(db_close(other));
}

/* A slow disk, for the test below: while sync_gate is set, fdatasync (kura's and SQLite's
 * calls resolve to this one) waits; otherwise it is the system call. */
static atomic_int sync_gate, gate_opened;

int fdatasync(int fd)
{
	while (atomic_load(&sync_gate))
		usleep(1000);
	return (int)syscall(SYS_fdatasync, fd);
}

struct slow_writer {
	const char *path;
	int r;
};

static void *slow_write(void *p)
{
	struct slow_writer *a = p;
	char err[256];
	struct db *db = db_open(a->path, err, sizeof(err));

	a->r = db ? db_begin(db) : -EIO;
	if (a->r == 0)
		a->r = db_exec(db, "INSERT INTO t (id, s) VALUES (1, 'change')", NULL);
	if (a->r == 0)
		a->r = db_commit(db);   /* durable: waits in its fdatasync while the gate is shut */
	db_close(db);
	return NULL;
}

static void *open_gate(void *p)
{
	(void)p;
	usleep(200000);
	atomic_store(&gate_opened, 1);
	atomic_store(&sync_gate, 0);
	return NULL;
}

/* A read may see a change whose durable commit is still in its fdatasync; the read's record,
 * committed relaxed, must not let it be answered before that change is durable (else a power
 * loss undoes the change and the record, and the client has what they were). So
 * db_commit_relaxed returns only after the disk caught up: after the gate opened. */
static void test_relaxed_waits_for_durable(void **state)
{
	struct fixture *fx = *state;
	static struct slow_writer w;   /* static: the writer may outlive a failed assertion */
	pthread_t wt, gt;

	w = (struct slow_writer){ fx->path, 0 };

	make_table(fx->db);
	/* a durable commit first: the WAL exists and its directory entry is synced */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (100, 'warm')", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	atomic_store(&gate_opened, 0);
	atomic_store(&sync_gate, 1);
	assert_int_equal(pthread_create(&wt, NULL, slow_write, &w), 0);
	while (count_rows(fx->db, "SELECT COUNT(*) FROM t WHERE id = 1") != 1)
		usleep(1000);   /* the change is committed and visible, not yet durable */
	assert_int_equal(pthread_create(&gt, NULL, open_gate, NULL), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, s) VALUES (2, 'read record')", NULL), 0);
	assert_int_equal(db_commit_relaxed(fx->db), 0);
	assert_int_equal(atomic_load(&gate_opened), 1);
	assert_int_equal(pthread_join(gt, NULL), 0);
	assert_int_equal(pthread_join(wt, NULL), 0);
	assert_int_equal(w.r, 0);
}

static void test_open_fails(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(db_open("/nonexistent-dir/kura/x.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/kura/x.db"));
}

static void test_cache_loop(void **state)
{
	struct fixture *fx = *state;
	struct db_stmt *st;
	int64_t i, sum = 0;

	make_table(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s) VALUES ($1, $2, $3)", "iit",
					 i + 1, i, "row"), 0);
		st = db_query(fx->db, "SELECT i FROM t WHERE id = $1", "i", i + 1);
		assert_non_null(st);
		assert_int_equal(db_step(st), 1);
		sum += db_int(st, 0);
		db_done(st);
	}
	assert_int_equal(db_commit(fx->db), 0);
	assert_true(sum == 10000LL * 9999 / 2);
	/* a statement still in use is not handed out again: nested use of the same SQL */
	st = db_query(fx->db, "SELECT i FROM t WHERE id = $1", "i", (int64_t)1);
	assert_int_equal(db_step(st), 1);
	{
		struct db_stmt *inner = db_query(fx->db, "SELECT i FROM t WHERE id = $1", "i", (int64_t)3);

		assert_non_null(inner);
		assert_ptr_not_equal(inner, st);
		assert_int_equal(db_step(inner), 1);
		assert_int_equal(db_int(inner, 0), 2);
		db_done(inner);
	}
	assert_int_equal(db_int(st, 0), 0);
	db_done(st);
}

/* SQL in a buffer: the cache is keyed by address, so the same buffer with new text must not
 * run the old statement. */
static void test_cache_same_address_new_text(void **state)
{
	struct fixture *fx = *state;
	char sql[64];
	struct db_stmt *st;

	str_copy(sql, sizeof(sql), "SELECT 1");
	st = db_query(fx->db, sql, NULL);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 1);
	db_done(st);
	str_copy(sql, sizeof(sql), "SELECT 2");
	st = db_query(fx->db, sql, NULL);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 2);
	db_done(st);
}

/* Fills the cache with distinct statements, holds one, and makes the cache evict: the held
 * statement must still be the one the caller prepared. */
static void test_cache_eviction_keeps_busy(void **state)
{
	struct fixture *fx = *state;
	enum { N = 200 };
	char *sqls[N];
	struct db_stmt *held, *st;
	int i;

	for (i = 0; i < N; i++)
		assert_true(asprintf(&sqls[i], "SELECT %d", i) > 0);
	/* hold each in turn while the others churn through the cache */
	for (i = 0; i < N; i++) {
		int j;

		held = db_query(fx->db, sqls[i], NULL);
		assert_non_null(held);
		for (j = 0; j < N; j++) {
			if (j == i)
				continue;
			st = db_query(fx->db, sqls[j], NULL);
			assert_non_null(st);
			assert_int_equal(db_step(st), 1);
			assert_int_equal(db_int(st, 0), j);
			db_done(st);
		}
		assert_int_equal(db_step(held), 1);
		assert_int_equal(db_int(held, 0), i);
		db_done(held);
	}
	for (i = 0; i < N; i++)
		free(sqls[i]);
}

static long long one_int(struct db *db, const char *sql)
{
	struct db_stmt *st = db_query(db, sql, "");
	long long v = -1;

	if (db_step(st) > 0)
		v = db_int(st, 0);
	db_done(st);
	return v;
}

static bool file_holds(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 20];
	size_t n, k = strlen(needle), i;
	bool found = false;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i + k <= n && !found; i++)
		found = !memcmp(buf + i, needle, k);
	return found;
}

/* Overwritten and deleted content leaves the file (PRAGMA secure_delete): an erased mail
 * body or a deleted row is not readable in free space afterwards. */
static void test_secure_delete(void **state)
{
	struct fixture *fx = *state;
	static const char marker[] = "kura-erased-marker-5e1f";
	char wal[160];
	int i;

	make_table(fx->db);
	for (i = 1; i <= 20; i++)
		assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s) VALUES ($1, 0, $2)", "it",
					 (int64_t)i, i == 7 ? marker : "some other text of a row"), 0);
	assert_int_equal(db_exec(fx->db, "UPDATE t SET s = '' WHERE id = 7", ""), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (id, i, s) VALUES (99, 0, $1)", "t", marker), 0);
	assert_int_equal(db_exec(fx->db, "DELETE FROM t WHERE id = 99", ""), 0);
	fx->db = db_close(fx->db);   /* the last connection: the WAL is checkpointed into the file */
	str_printf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_false(file_holds(fx->path, marker));
	assert_false(file_holds(wal, marker));
	fx->db = db_open(fx->path, (char[256]){ 0 }, 256);
	assert_non_null(fx->db);
}

/* A database as the migrations before 0009 left it, with accounts, sessions, app
 * passwords and locks, upgraded: nothing lost, foreign keys still cascade, ids never come
 * back, and an account's locks end with it. */
/* 0015 (issue 15): the nodes that exist before it are in the name index after it, and the
 * search statement finds them (the root, named '', is not indexed). */
static void test_upgrade_name_search(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *h = NULL;
	char scratch[64];
	struct db_stmt *st;
	size_t i;
	int n = 0;

	fx->db = db_close(fx->db);
	{
		char p[160];

		unlink(fx->path);
		str_printf(p, sizeof(p), "%s-wal", fx->path);
		unlink(p);
		str_printf(p, sizeof(p), "%s-shm", fx->path);
		unlink(p);
	}
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE schema_migrations ("
				      " name TEXT PRIMARY KEY, applied_us INTEGER NOT NULL)", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < embedded_n_migrations && strcmp(embedded_migrations[i].name, "0015") < 0; i++) {
		char *sql = sqlite3_mprintf("%s; INSERT INTO schema_migrations VALUES (%Q, 1)",
					    embedded_migrations[i].text, embedded_migrations[i].name);

		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
	assert_int_equal(sqlite3_exec(h,
		"INSERT INTO tenants (id, code, name, created_us, updated_us) VALUES (1, 't', 'T', 1, 1);"
		"INSERT INTO file_nodes (id, tenant_id, parent_id, kind, name, created_us, modified_us) VALUES"
		" (1, 1, NULL, 'folder', '', 1, 1), (2, 1, 1, 'folder', '議事録フォルダ', 1, 1),"
		" (3, 1, 2, 'file', 'Minutes-2025.TXT', 1, 1);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	fx->db = db_open(fx->path, (char[256]){ 0 }, 256);
	assert_non_null(fx->db);
	assert_int_equal(db_migrate(fx->db), 0);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM name_search"), 2);
	st = db_name_search(fx->db, 1, "事録フ", 0, 10, scratch, sizeof(scratch));
	while (db_step(st) > 0) {
		assert_int_equal(db_int(st, 0), 2);
		n++;
	}
	db_done(st);
	assert_int_equal(n, 1);
	st = db_name_search(fx->db, 1, "minutes", 0, 10, scratch, sizeof(scratch));
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 3);
	db_done(st);
	st = db_name_search(fx->db, 2, "minutes", 0, 10, scratch, sizeof(scratch));   /* another tenant */
	assert_int_equal(db_step(st), 0);
	db_done(st);
}

static void test_upgrade_accounts_autoincrement(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *h = NULL;
	int64_t id = 0;
	size_t i;

	fx->db = db_close(fx->db);
	{
		char p[160];

		unlink(fx->path);   /* setup migrated it: start from nothing */
		str_printf(p, sizeof(p), "%s-wal", fx->path);
		unlink(p);
		str_printf(p, sizeof(p), "%s-shm", fx->path);
		unlink(p);
	}
	assert_int_equal(sqlite3_open(fx->path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA foreign_keys=ON; CREATE TABLE schema_migrations ("
				      " name TEXT PRIMARY KEY, applied_us INTEGER NOT NULL)", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < embedded_n_migrations && strcmp(embedded_migrations[i].name, "0009") < 0; i++) {
		char *sql = sqlite3_mprintf("%s; INSERT INTO schema_migrations VALUES (%Q, 1)",
					    embedded_migrations[i].text, embedded_migrations[i].name);

		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
	assert_int_equal(sqlite3_exec(h,
		"INSERT INTO tenants (id, code, name, created_us, updated_us) VALUES (1, 't', 'T', 1, 1);"
		"INSERT INTO accounts (id, tenant_id, login, email, role, status, created_us, updated_us) VALUES"
		" (1, 1, 'a', 'a@x', 'manager', 'active', 1, 1), (2, 1, 'b', 'b@x', 'user', 'active', 1, 1),"
		" (3, 1, 'c', 'c@x', 'user', 'active', 1, 1);"
		"INSERT INTO sessions (token_hash, csrf_hash, tenant_id, account_id, created_us, last_seen_us,"
		" expires_us, client_ip) VALUES (x'01', x'01', 1, 3, 1, 1, 1, ''), (x'02', x'02', 1, 1, 1, 1, 1, '');"
		"INSERT INTO app_passwords (tenant_id, account_id, name, scope, secret_hash, created_us)"
		" VALUES (1, 3, 'n', 'read', x'03', 1);"
		"INSERT INTO dav_locks (token, tenant_id, path, depth_inf, shared, account_id, timeout_s,"
		" expires_us, created_us) VALUES ('l2', 1, '/b', 0, 0, 2, 60, 9e15, 1),"
		" ('l9', 1, '/gone', 0, 0, 9, 60, 9e15, 1);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	fx->db = db_open(fx->path, (char[256]){ 0 }, 256);
	assert_non_null(fx->db);
	assert_int_equal(db_migrate(fx->db), 0);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM accounts"), 3);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM sessions"), 2);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM app_passwords"), 1);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM dav_locks"), 1);   /* l9's account never existed */
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM sqlite_master WHERE name = 'accounts'"
					 " AND sql LIKE '%AUTOINCREMENT%'"), 1);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	/* cascades still work, the highest id is not handed out again, locks end with accounts */
	assert_int_equal(db_exec(fx->db, "DELETE FROM accounts WHERE id = 3", ""), 0);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM sessions"), 1);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM app_passwords"), 0);
	assert_int_equal(db_insert(fx->db, &id, "INSERT INTO accounts (tenant_id, login, email, role, status,"
					       " created_us, updated_us) VALUES (1, 'd', 'd@x', 'user', 'active', 1, 1)"
					       " RETURNING id", ""), 0);
	assert_int_equal(id, 4);
	assert_int_equal(db_exec(fx->db, "DELETE FROM accounts WHERE id = 2", ""), 0);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM dav_locks"), 0);
	/* and running the migrations again changes nothing */
	assert_int_equal(db_migrate(fx->db), 0);
	assert_int_equal(one_int(fx->db, "SELECT count(*) FROM accounts"), 2);
}

/* INSERT … RETURNING id through db_insert: the new row's id, whatever the connection did
 * after (another INSERT in the same transaction), -EEXIST on a conflict (nothing inserted,
 * *ret_id untouched), -ENOENT when ON CONFLICT DO NOTHING returned no row. */
static void test_insert_returning(void **state)
{
	struct fixture *fx = *state;
	int64_t a = 0, b = 0, c = -1;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "CREATE TABLE other (id INTEGER PRIMARY KEY, x INTEGER)", NULL), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_insert(fx->db, &a, "INSERT INTO t (i, u) VALUES ($1, $2) RETURNING id", "it",
				   (int64_t)7, "one"), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO other (id, x) VALUES (100, 1)", NULL), 0);
	assert_int_equal(db_insert(fx->db, &b, "INSERT INTO t (i, u) VALUES ($1, $2) RETURNING id", "it",
				   (int64_t)8, "two"), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(db_insert(fx->db, &c, "INSERT INTO t (i, u) VALUES ($1, $2) RETURNING id", "it",
				   (int64_t)9, "one"), -EEXIST);
	assert_int_equal(c, -1);
	assert_int_equal(db_insert(fx->db, &c, "INSERT INTO t (i, u) VALUES ($1, $2) ON CONFLICT (u) DO NOTHING"
				   " RETURNING id", "it", (int64_t)9, "one"), -ENOENT);
	assert_int_equal(c, -1);
	assert_int_equal(count_rows(fx->db, "SELECT COUNT(*) FROM t"), 2);
	/* a statement that cannot be prepared or bound */
	assert_int_equal(db_insert(fx->db, &c, "INSERT INTO t (i) VALUES ($1) RETURNING id", "ii",
				   (int64_t)1, (int64_t)2), -EIO);
	assert_int_equal(c, -1);
}

struct lock_seen {
	int calls, begins, ends, statements;
	int64_t tenant;
	bool in_tx;
};

static void lock_seen_cb(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id,
			 const char *sql)
{
	struct lock_seen *s = ctx;

	switch (ev) {
	case DB_TRACE_BEGIN:
		s->begins++;
		break;
	case DB_TRACE_END:
		s->ends++;
		break;
	case DB_TRACE_STATEMENT:
		assert_non_null(sql);
		s->statements++;
		break;
	case DB_TRACE_LOCK:
		s->calls++;
		s->tenant = tenant_id;
		s->in_tx = db_in_transaction(db);
		break;
	case DB_TRACE_SNAPSHOT:
		break;
	}
}

/* The per-tenant lock exists only inside a db_begin() transaction: refused before it, after
 * commit and after rollback, and for a negative id; inside it is granted (again and again:
 * re-entrant), for the provider (0) too; the trace sees each grant, transaction and
 * statement. */
static void test_lock_tenant(void **state)
{
	struct fixture *fx = *state;
	struct lock_seen seen = { 0 };

	db_trace(lock_seen_cb, &seen);
	assert_int_equal(db_lock_tenant(fx->db, 1), -EINVAL);
	assert_int_equal(db_lock_tenant(NULL, 1), -EINVAL);
	assert_int_equal(seen.calls, 0);

	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_lock_tenant(fx->db, 5), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.tenant, 5);
	assert_true(seen.in_tx);
	assert_int_equal(db_lock_tenant(fx->db, 5), 0);
	assert_int_equal(db_lock_tenant(fx->db, 0), 0);
	assert_int_equal(seen.tenant, 0);
	assert_int_equal(db_lock_tenant(fx->db, -1), -EINVAL);
	assert_int_equal(seen.calls, 3);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(db_lock_tenant(fx->db, 5), -EINVAL);

	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_lock_tenant(fx->db, 2), 0);
	assert_int_equal(db_rollback(fx->db), 0);
	assert_int_equal(db_lock_tenant(fx->db, 2), -EINVAL);
	assert_int_equal(seen.calls, 4);
	assert_int_equal(seen.begins, 2);
	assert_int_equal(seen.ends, 2);
	assert_int_equal(seen.statements, 0);
	assert_int_equal(db_exec(fx->db, "SELECT 1", NULL), 0);
	assert_int_equal(seen.statements, 1);

	db_trace(NULL, NULL);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_lock_tenant(fx->db, 3), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(seen.calls, 4);
}

/* A read snapshot (db_read_begin): the reads on one connection see one state, not another
 * connection's commit after their first read; it is no transaction of the caller's
 * (db_in_transaction false, so audit_record makes its own); a statement that writes, or
 * db_begin(), ends it first, and what follows reads the latest state again. */
static int64_t snap_v(struct db *db)
{
	struct db_stmt *st = db_query(db, "SELECT v FROM snap", NULL);
	int64_t v = db_step(st) > 0 ? db_int(st, 0) : -1;

	db_done(st);
	return v;
}

static void test_read_snapshot(void **state)
{
	struct fixture *fx = *state;
	struct db *other;
	char err[256];

	other = db_open(fx->path, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(db_exec(fx->db, "CREATE TABLE snap (v INTEGER)", NULL), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO snap (v) VALUES (1)", NULL), 0);

	db_read_begin(fx->db);
	assert_false(db_in_transaction(fx->db));
	assert_int_equal(snap_v(fx->db), 1);
	assert_int_equal(db_exec(other, "UPDATE snap SET v = 2", NULL), 0);
	assert_int_equal(snap_v(fx->db), 1);   /* the snapshot's state */
	db_read_end(fx->db);
	assert_int_equal(snap_v(fx->db), 2);

	/* a write ends it: it commits on its own, and the reads after it see the latest state */
	db_read_begin(fx->db);
	assert_int_equal(snap_v(fx->db), 2);
	assert_int_equal(db_exec(other, "UPDATE snap SET v = 3", NULL), 0);
	assert_int_equal(db_exec(fx->db, "UPDATE snap SET v = v + 10", NULL), 0);
	assert_false(db_in_transaction(fx->db));
	assert_int_equal(snap_v(other), 13);

	/* so does db_begin: a write transaction as always */
	db_read_begin(fx->db);
	assert_int_equal(snap_v(fx->db), 13);
	assert_int_equal(db_exec(other, "UPDATE snap SET v = 4", NULL), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_true(db_in_transaction(fx->db));
	assert_int_equal(snap_v(fx->db), 4);
	assert_int_equal(db_exec(fx->db, "UPDATE snap SET v = 5", NULL), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(snap_v(other), 5);
	/* inside a transaction it is nothing; ending none is nothing */
	assert_int_equal(db_begin(fx->db), 0);
	db_read_begin(fx->db);
	assert_true(db_in_transaction(fx->db));
	assert_int_equal(db_commit(fx->db), 0);
	db_read_end(fx->db);
	db_read_end(NULL);
	assert_int_equal(db_exec(fx->db, "DROP TABLE snap", NULL), 0);
	db_close(other);
}

struct row_t {
	int64_t i;
	char s[16];
};

static void read_row_t(struct db_stmt *st, void *ret)
{
	struct row_t *r = ret;

	r->i = db_int(st, 0);
	str_copy(r->s, sizeof(r->s), db_text(st, 1) ? db_text(st, 1) : "");
}

/* db_one: the row through the module's reader, -ENOENT for none, -EIO for a statement that
 * failed to prepare; the statement is released each time (the cache would run out of idle
 * entries and ASan would see a leak otherwise). */
static void test_one_row(void **state)
{
	struct fixture *fx = *state;
	struct row_t r = { 0 };
	int k;

	make_table(fx->db);
	assert_int_equal(db_exec(fx->db, "INSERT INTO t (i, s) VALUES (42, 'x')", NULL), 0);
	for (k = 0; k < 200; k++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(db_one(db_query(fx->db, "SELECT i, s FROM t WHERE i = $1", "i", (int64_t)42),
					read_row_t, &r), 0);
		assert_int_equal(r.i, 42);
		assert_string_equal(r.s, "x");
		assert_int_equal(db_one(db_query(fx->db, "SELECT i, s FROM t WHERE i = $1", "i", (int64_t)43),
					read_row_t, &r), -ENOENT);
	}
	assert_int_equal(db_one(db_query(fx->db, "SELECT nope FROM t", NULL), read_row_t, &r), -EIO);
}

/* ---- the portable subset (db.h "Portable SQL") ----
 * Every string literal of every .c and .h file under src/ but the SQLite backend is checked for
 * SQL that only SQLite understands or that PostgreSQL reads differently. Comments are
 * skipped; literals are checked one by one, so the patterns are ones no literal of a
 * statement fragment contains by accident. */
static const char *const sqlite_only[] = {
	" IS $",            /* SQLite's NULL-safe "=": AUDIT_CHAIN_SQL or IS NOT DISTINCT FROM */
	"GLOB ",
	"AS BLOB",          /* CAST(x AS BLOB): BLOB is no PostgreSQL type; count bytes in C */
	"INSERT OR ",
	"REPLACE INTO",
	"strftime(",
	"datetime(",
	"julianday(",
	"IFNULL(",
	"LIMIT -1",
	"rowid",
	"PRAGMA ",
	"sqlite_master",
	"last_insert_rowid",
	"IS NULL FROM",     /* a boolean in a select list: CASE WHEN … THEN 1 ELSE 0 END */
	"IS NOT NULL FROM",
	"IS NULL,",
	"IS NOT NULL,",
};

static char portable_report[4096];
static size_t portable_n;

static void check_literal(const char *file, int line, const char *lit, size_t n)
{
	char buf[2048];
	size_t i, k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;

	memcpy(buf, lit, k);
	buf[k] = '\0';
	for (i = 0; i < sizeof(sqlite_only) / sizeof(sqlite_only[0]); i++) {
		size_t used = strlen(portable_report);

		if (!strstr(buf, sqlite_only[i]))
			continue;
		portable_n++;
		if (used + 200 < sizeof(portable_report))
			snprintf(portable_report + used, sizeof(portable_report) - used, "%s:%d: \"%s\" in \"%.80s\"\n",
				 file + strlen(KURA_SOURCE_DIR) + 1, line, sqlite_only[i], buf);
	}
}

static void scan_c_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t n = 0, i;
	int line = 1;

	assert_non_null(f);
	assert_int_equal(getdelim(&text, &n, '\0', f) >= 0, 1);
	fclose(f);
	n = strlen(text);
	for (i = 0; i < n; i++) {
		if (text[i] == '\n') {
			line++;
		} else if (text[i] == '/' && text[i + 1] == '*') {
			for (i += 2; i + 1 < n && !(text[i] == '*' && text[i + 1] == '/'); i++)
				line += text[i] == '\n';
			i++;
		} else if (text[i] == '/' && text[i + 1] == '/') {
			while (i < n && text[i] != '\n')
				i++;
			i--;
		} else if (text[i] == '\'') {
			for (i++; i < n && text[i] != '\''; i++)
				i += text[i] == '\\';
		} else if (text[i] == '"') {
			size_t start = ++i;

			for (; i < n && text[i] != '"'; i++)
				i += text[i] == '\\';
			check_literal(path, line, text + start, i - start);
		}
	}
	free(text);
}

static int scan_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t n = strlen(p);

	(void)sb;
	(void)ftw;
	if (flag == FTW_F && n > 2 && (!strcmp(p + n - 2, ".c") || !strcmp(p + n - 2, ".h")) &&
	    !strstr(p, "/store/db_sqlite.c"))
		scan_c_file(p);
	return 0;
}

static void test_portable_sql(void **state)
{
	char src[512];

	(void)state;
	str_printf(src, sizeof(src), "%s/src", KURA_SOURCE_DIR);
	portable_report[0] = '\0';
	portable_n = 0;
	assert_int_equal(nftw(src, scan_entry, 16, FTW_PHYS), 0);
	if (portable_n)
		fprintf(stderr, "%zu SQLite-only construct(s) in shared SQL:\n%s", portable_n, portable_report);
	assert_int_equal(portable_n, 0);
}

/* Every SQLite migration has its PostgreSQL twin of the same name (src/store/migrations-pg,
 * store/db.h "Column types"), and no twin is without its SQLite migration. */
static void test_migration_twins(void **state)
{
	(void)state;
	for (size_t i = 0; i < embedded_n_migrations || i < embedded_n_pg_migrations; i++) {
		const char *a = i < embedded_n_migrations ? embedded_migrations[i].name : "(none)";
		const char *b = i < embedded_n_pg_migrations ? embedded_pg_migrations[i].name : "(none)";

		if (strcmp(a, b))
			fprintf(stderr, "migration %zu: %s in src/store/migrations, %s in src/store/migrations-pg\n", i,
				a, b);
		assert_string_equal(a, b);
	}
}

/* kura backup's copy: what was committed when it was taken, not a transaction in progress
 * (db_backup reads in one read transaction beside the writer); the copy passes
 * integrity_check, and a damaged copy does not. */
static void test_backup_copy(void **state)
{
	struct fixture *fx = *state;
	char copy[160], err[512], p[176];
	struct db *c;
	FILE *f;

	str_printf(copy, sizeof(copy), "%s/copy.db", fx->dir);
	assert_int_equal(db_exec(fx->db, "INSERT INTO tenants (code, name, created_us, updated_us)"
				 " VALUES ('alpha', 'A', 1, 1)", NULL), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO tenants (code, name, created_us, updated_us)"
				 " VALUES ('bravo', 'B', 1, 1)", NULL), 0);
	assert_int_equal(db_backup(fx->path, copy, err, sizeof(err)), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(db_integrity_check(copy, err, sizeof(err)), 0);
	c = db_open(copy, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(count_rows(c, "SELECT count(*) FROM tenants"), 1);
	db_close(c);
	/* a page of the copy overwritten */
	f = fopen(copy, "r+b");
	assert_non_null(f);
	fseek(f, 4096 + 8, SEEK_SET);
	for (int i = 0; i < 512; i++)
		fputc(0xa5, f);
	fclose(f);
	assert_true(db_integrity_check(copy, err, sizeof(err)) < 0);
	unlink(copy);
	str_printf(p, sizeof(p), "%s-wal", copy);
	unlink(p);
	str_printf(p, sizeof(p), "%s-shm", copy);
	unlink(p);
	str_printf(p, sizeof(p), "%s-journal", copy);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_triggers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secure_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_accounts_autoincrement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_name_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nulls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relaxed_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relaxed_waits_for_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_no_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_wal_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_writer, setup, teardown),
#ifdef KURA_TEST_HOOKS
		cmocka_unit_test_setup_teardown(test_walbuf_gathers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walbuf_under_load, setup, teardown),
#endif
		cmocka_unit_test(test_open_fails),
		cmocka_unit_test_setup_teardown(test_cache_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_same_address_new_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_eviction_keeps_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_returning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_tenant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_copy, setup, teardown),
		cmocka_unit_test(test_portable_sql),
		cmocka_unit_test(test_migration_twins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
