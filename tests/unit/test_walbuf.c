/*
 * store/walbuf.h under a write that fails: a VFS that fails chosen writes to the WAL is the
 * default one, and the WAL shim is registered over it. Each case runs its transaction in a
 * child process that ends without closing (as a kill -9 does); the parent then opens the
 * files with the plain unix VFS, which recovers the WAL from its frames and checksums. A
 * commit that returned OK must be there after the recovery; a failed write must fail its
 * COMMIT. (The review that asked for this found a commit frame's rewritten header held past
 * the commit, its failure lost, and the transaction gone after recovery.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/core.h"
#include "store/walbuf.h"

enum fault { NO_FAULT, FAULT_HEADER_REWRITE, FAULT_GATHERED };

static sqlite3_vfs *unix_vfs, faulty;
static sqlite3_io_methods faulty_io;
static enum fault armed;
static int failed;

struct ff {
	sqlite3_file base;
	sqlite3_file *real;
	int wal;
};

#define REAL(f) (((struct ff *)(f))->real)

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	sqlite3_int64 size = 0;

	if (armed && ((struct ff *)f)->wal) {
		REAL(f)->pMethods->xFileSize(REAL(f), &size);
		/* the last frame's header written again (walRewriteChecksums at the commit) */
		if (armed == FAULT_HEADER_REWRITE && n == 24 && o + 24 + 4096 == size) {
			failed++;
			return SQLITE_IOERR_WRITE;
		}
		/* the shim's one write of a transaction's frames */
		if (armed == FAULT_GATHERED && n > 24 + 4096) {
			failed++;
			return SQLITE_IOERR_WRITE;
		}
	}
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 s) { return REAL(f)->pMethods->xTruncate(REAL(f), s); }
static int f_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int f_size(sqlite3_file *f, sqlite3_int64 *s) { return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int f_control(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shm_map(sqlite3_file *f, int a, int b, int c, void volatile **d)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), a, b, c, d);
}
static int f_shm_lock(sqlite3_file *f, int a, int b, int c) { return REAL(f)->pMethods->xShmLock(REAL(f), a, b, c); }
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int d) { return REAL(f)->pMethods->xShmUnmap(REAL(f), d); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p) { return REAL(f)->pMethods->xFetch(REAL(f), o, n, p); }
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static int f_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct ff *p = (struct ff *)f;
	int rc;

	(void)v;
	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file *)(p + 1);
	rc = unix_vfs->xOpen(unix_vfs, name, p->real, flags, out);
	if (!p->real->pMethods)
		return rc;
	p->wal = (flags & SQLITE_OPEN_WAL) != 0;
	p->base.pMethods = &faulty_io;
	return rc;
}

static int setup(void **state)
{
	(void)state;
	unix_vfs = sqlite3_vfs_find(NULL);
	faulty = *unix_vfs;
	faulty.zName = "faulty";
	faulty.szOsFile = (int)(sizeof(struct ff) + (size_t)unix_vfs->szOsFile);
	faulty.xOpen = f_open;
	faulty_io = (sqlite3_io_methods){ 3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock,
					  f_reserved, f_control, f_sector, f_device, f_shm_map, f_shm_lock,
					  f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch };
	/* the default: the shim registered after it wraps it */
	if (sqlite3_vfs_register(&faulty, 1) != SQLITE_OK || walbuf_register() != SQLITE_OK)
		return -1;
	return 0;
}

static long long rows(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix") == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* One row, then in one transaction 3,000 more and an update of pages the transaction
 * spilled already (a small page cache: frames rewritten in place, checksums rewritten at
 * the commit), at synchronous=NORMAL as kura's transactions commit. The child's exit
 * status: 0 COMMIT returned OK, 3 it failed. */
static int run(const char *path, enum fault fault)
{
	char p[256];
	pid_t pid;
	int status = 0;

	unlink(path);
	str_printf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	str_printf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, KURA_WALBUF_VFS);

		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
					      " PRAGMA cache_size=10; CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT);"
					      " CREATE INDEX tb ON t(b); INSERT INTO t (b) VALUES ('x');",
					  NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
					      " WHERE i < 3000) INSERT INTO t (b) SELECT hex(randomblob(50)) FROM c;",
					  NULL, NULL, NULL);
		armed = fault;
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "UPDATE t SET b = b || 'y' WHERE a < 20", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (fault && !failed)
			_exit(4);   /* the fault was never reached: the case tests nothing */
		_exit(rc == SQLITE_OK ? 0 : 3);   /* no close, no checkpoint: as a kill -9 */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_commit_survives(void **state)
{
	char path[] = "/tmp/kura-walbuf-XXXXXX", db[64];

	(void)state;
	assert_non_null(mkdtemp(path));
	str_printf(db, sizeof(db), "%s/t.db", path);
	assert_int_equal(run(db, NO_FAULT), 0);
	assert_int_equal(rows(db), 3001);
}

/* A failed write of a header SQLite rewrites after the commit frame: COMMIT fails, and the
 * recovery finds the row from before it (never "acknowledged, then lost"). */
static void test_rewrite_failure_fails_commit(void **state)
{
	char path[] = "/tmp/kura-walbuf-XXXXXX", db[64];
	int st;

	(void)state;
	assert_non_null(mkdtemp(path));
	str_printf(db, sizeof(db), "%s/t.db", path);
	st = run(db, FAULT_HEADER_REWRITE);
	assert_int_not_equal(st, 4);
	assert_int_equal(st, 3);
	assert_int_equal(rows(db), 1);
}

/* A failed write of the gathered frames (the commit frame among them): COMMIT fails. */
static void test_gathered_failure_fails_commit(void **state)
{
	char path[] = "/tmp/kura-walbuf-XXXXXX", db[64];

	(void)state;
	assert_non_null(mkdtemp(path));
	str_printf(db, sizeof(db), "%s/t.db", path);
	assert_int_equal(run(db, FAULT_GATHERED), 3);
	assert_int_equal(rows(db), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_survives),
		cmocka_unit_test(test_rewrite_failure_fails_commit),
		cmocka_unit_test(test_gathered_failure_fails_commit),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
