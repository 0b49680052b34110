/*
 * The WAL-gathering VFS (walbuf.h): a shim over SQLite's default VFS in the way of SQLite's
 * own test_vfstrace.c and the "VFS shim" pattern of https://sqlite.org/vfs.html. Only files
 * opened with SQLITE_OPEN_WAL are buffered; every other file, and every other method, goes
 * to the default VFS as it is.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "store/walbuf.h"

#define WAL_HEADER_BYTES 32         /* the WAL file's own header, at offset 0 */
#define FRAME_HEADER_BYTES 24       /* each frame: page number, database size (commit), salts, checksums */

struct wb_file {
	sqlite3_file base;           /* first: SQLite sees this */
	sqlite3_file *real;          /* the default VFS's file, in the same allocation */
	bool wal;
	pthread_mutex_t lock;        /* buf, len, start, commit_next (the barrier of another thread flushes) */
	unsigned char *buf;          /* KURA_WALBUF_BYTES, allocated at the first write */
	size_t len;                  /* bytes held, from file offset start */
	sqlite3_int64 start;
	bool commit_next;            /* the last write was a commit frame's header: its page ends the commit */
	sqlite3_int64 end;           /* this generation's bytes this handle wrote or holds end here */
	unsigned char salt[8];       /* the generation's salts (WAL header bytes 16-23, frame 8-15) */
	bool salted;
	pthread_t owner;             /* the thread of the last write (flush_all) */
	struct wb_file *prev, *next; /* the open WAL files (wals) */
};

/* the real file follows struct wb_file, aligned as malloc aligns */
#define REAL_OFFSET ((sizeof(struct wb_file) + 15) & ~(size_t)15)

static sqlite3_vfs *root;
static sqlite3_vfs wb_vfs;
static pthread_mutex_t wals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wb_file *wals;
static atomic_int pending;           /* WAL files holding bytes */
static atomic_ullong file_writes, sqlite_writes, overwrites;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes what p holds, with p->lock held, and forgets it whatever the result: a failure
 * is the calling method's (xWrite, xRead, xSync, ...: SQLite ends that transaction), and
 * bytes kept past it could later land on frames another writer put there since. */
static int flush_locked(struct wb_file *p)
{
	int rc;

	if (!p->len)
		return SQLITE_OK;
	rc = p->real->pMethods->xWrite(p->real, p->buf, (int)p->len, p->start);
	atomic_fetch_add_explicit(&file_writes, 1, memory_order_relaxed);
	p->len = 0;
	p->commit_next = false;
	atomic_fetch_sub_explicit(&pending, 1, memory_order_relaxed);
	return rc;
}

static int flush(struct wb_file *p)
{
	int rc;

	if (!p->wal)
		return SQLITE_OK;
	pthread_mutex_lock(&p->lock);
	rc = flush_locked(p);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* The safety net, for a path of SQLite that would publish frames without the commit frame
 * this file recognises: before this thread's connection publishes a wal-index header
 * (xShmBarrier) or hands on a lock (xShmLock unlock), nothing its WAL writes held stays
 * held. SQLite 3.40 has already written every committed byte at its commit frame, and what
 * is left at a write lock's release is a rolled-back transaction's spill (dead frames), so
 * this normally writes nothing or dead bytes. Only the calling thread's files: a reader in
 * another thread never writes (or could drop) a writer's bytes. Neither caller can report a
 * failure, and a header published over bytes that are not in the file would point readers at
 * stale pages, so a failure here ends the process before that (as a kill -9 would: nothing
 * unwritten was acknowledged) rather than keep bytes that could later overwrite another
 * writer's frames. */
static void flush_all(void)
{
	pthread_t self = pthread_self();
	struct wb_file *p;
	int rc = SQLITE_OK;

	if (!atomic_load_explicit(&pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&wals_lock);
	for (p = wals; p && rc == SQLITE_OK; p = p->next) {
		pthread_mutex_lock(&p->lock);
		if (p->len && pthread_equal(p->owner, self))
			rc = flush_locked(p);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&wals_lock);
	if (rc != SQLITE_OK) {
		log_error("db.wal", "a write to the WAL failed where SQLite cannot be told (error %d): stopping"
			  " before it publishes frames that are not in the file", rc);
		abort();
	}
}

/* ---- io methods ---- */

static int wb_close(sqlite3_file *f)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p), rc2;

	if (p->wal) {
		pthread_mutex_lock(&wals_lock);
		if (p->prev)
			p->prev->next = p->next;
		else
			wals = p->next;
		if (p->next)
			p->next->prev = p->prev;
		pthread_mutex_unlock(&wals_lock);
		pthread_mutex_destroy(&p->lock);
		free(p->buf);
		p->buf = NULL;
	}
	rc2 = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, buf, n, off);
}

/* Which writes are held: appends only. A write into bytes that are already in the file
 * (below p->end: SQLite rewriting a page or, at the commit, the checksums of frames it
 * rewrote, walRewriteChecksums) goes straight through, after what is held, so that its
 * failure is its own call's and never waits for a barrier that cannot report it. p->end is
 * per WAL generation: the salts in the WAL header and in every frame header say which, so
 * a generation begun by another connection (after a checkpoint) starts this handle's count
 * again at its first frame there. */
static int wb_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	struct wb_file *p = (struct wb_file *)f;
	const unsigned char *d = data;
	bool commit_header = false, ends_commit, in_buf;
	int rc = SQLITE_OK;

	if (!p->wal)
		return p->real->pMethods->xWrite(p->real, data, n, off);
	atomic_fetch_add_explicit(&sqlite_writes, 1, memory_order_relaxed);
	pthread_mutex_lock(&p->lock);
	p->owner = pthread_self();
	if (off == 0 && n == WAL_HEADER_BYTES) {
		memcpy(p->salt, d + 16, sizeof(p->salt));   /* a new generation from the start */
		p->salted = true;
		p->end = 0;
	} else if (n == FRAME_HEADER_BYTES && off >= WAL_HEADER_BYTES) {
		static const unsigned char none[8];

		commit_header = be32(d + 4) != 0;
		/* zero salts: a frame whose checksums SQLite writes at the commit (a transaction
		 * that rewrote a frame in place, walEncodeFrame with iReCksum), this generation's */
		if (memcmp(d + 8, none, sizeof(none)) && (!p->salted || memcmp(p->salt, d + 8, sizeof(p->salt)))) {
			memcpy(p->salt, d + 8, sizeof(p->salt));
			p->salted = true;
			p->end = off;   /* before this: other connections' frames of this generation */
		}
	}
	ends_commit = p->commit_next && !commit_header;
	p->commit_next = false;
	in_buf = p->len && off >= p->start && off <= p->start + (sqlite3_int64)p->len &&
		 off + n <= p->start + KURA_WALBUF_BYTES;
	if (p->len && !in_buf)
		rc = flush_locked(p);   /* what does not follow or fit: the held bytes first */
	if (rc == SQLITE_OK && !in_buf && off >= p->end && !p->buf && n <= KURA_WALBUF_BYTES)
		p->buf = malloc(KURA_WALBUF_BYTES);   /* none: the writes go straight through */
	if (rc == SQLITE_OK && !in_buf && (off < p->end || n > KURA_WALBUF_BYTES || !p->buf)) {
		if (off < p->end)
			atomic_fetch_add_explicit(&overwrites, 1, memory_order_relaxed);
		rc = p->real->pMethods->xWrite(p->real, data, n, off);
		atomic_fetch_add_explicit(&file_writes, 1, memory_order_relaxed);
	} else if (rc == SQLITE_OK) {
		size_t at;

		if (!p->len) {
			p->start = off;
			atomic_fetch_add_explicit(&pending, 1, memory_order_release);
		}
		at = (size_t)(off - p->start);
		memcpy(p->buf + at, data, (size_t)n);
		if (at + (size_t)n > p->len)
			p->len = at + (size_t)n;
		p->commit_next = commit_header;
		/* the commit frame's page: the transaction goes to the file now, and a failure
		 * is this write's, so SQLite fails the commit */
		if (ends_commit)
			rc = flush_locked(p);
	}
	if (rc == SQLITE_OK && off + n > p->end)
		p->end = off + n;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *ret)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p);

	return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, ret);
}

static int wb_lock(sqlite3_file *f, int level)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->xLock(p->real, level);
}

static int wb_unlock(sqlite3_file *f, int level)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->xUnlock(p->real, level);
}

static int wb_check_reserved(sqlite3_file *f, int *ret)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, ret);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc;

	if (op == SQLITE_FCNTL_VFSNAME) {
		rc = p->real->pMethods->xFileControl(p->real, op, arg);
		if (rc == SQLITE_OK) {
			char *inner = *(char **)arg;

			*(char **)arg = sqlite3_mprintf("%s/%z", KURA_WALBUF_VFS, inner);
		}
		return rc;
	}
	rc = flush(p);
	return rc != SQLITE_OK ? rc : p->real->pMethods->xFileControl(p->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

static int wb_device_characteristics(sqlite3_file *f)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int wb_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **ret)
{
	struct wb_file *p = (struct wb_file *)f;

	if (p->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return p->real->pMethods->xShmMap(p->real, region, size, extend, ret);
}

static int wb_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct wb_file *p = (struct wb_file *)f;

	if (flags & SQLITE_SHM_UNLOCK)
		flush_all();   /* nothing buffered outlives the lock that guarded its writing */
	if (p->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMLOCK;
	return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *f)
{
	struct wb_file *p = (struct wb_file *)f;

	flush_all();   /* before a wal-index header is written after it, or read */
	if (p->real->pMethods->iVersion >= 2)
		p->real->pMethods->xShmBarrier(p->real);
}

static int wb_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->iVersion < 2 ? SQLITE_OK : p->real->pMethods->xShmUnmap(p->real, delete_flag);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **ret)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc = flush(p);

	*ret = NULL;
	if (rc != SQLITE_OK || p->real->pMethods->iVersion < 3)
		return rc;   /* no memory map: SQLite reads */
	return p->real->pMethods->xFetch(p->real, off, n, ret);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *page)
{
	struct wb_file *p = (struct wb_file *)f;

	return p->real->pMethods->iVersion < 3 ? SQLITE_OK : p->real->pMethods->xUnfetch(p->real, off, page);
}

static const sqlite3_io_methods wb_io = {
	3,
	wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
	wb_check_reserved, wb_file_control, wb_sector_size, wb_device_characteristics,
	wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

/* ---- the VFS ---- */

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *ret_flags)
{
	struct wb_file *p = (struct wb_file *)f;
	int rc;

	(void)vfs;
	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file *)((char *)p + REAL_OFFSET);
	rc = root->xOpen(root, name, p->real, flags, ret_flags);
	if (!p->real->pMethods)
		return rc;   /* nothing open: SQLite calls no xClose */
	p->base.pMethods = &wb_io;
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && p->real->pMethods->iVersion >= 3) {
		p->wal = true;
		pthread_mutex_init(&p->lock, NULL);
		pthread_mutex_lock(&wals_lock);
		p->next = wals;
		if (wals)
			wals->prev = p;
		wals = p;
		pthread_mutex_unlock(&wals_lock);
	}
	return rc;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

static void do_register(void)
{
	root = sqlite3_vfs_find(NULL);
	if (!root || root->iVersion < 3)
		return;   /* a default VFS without what this passes through: none registered */
	wb_vfs = *root;
	wb_vfs.zName = KURA_WALBUF_VFS;
	wb_vfs.szOsFile = (int)(REAL_OFFSET + (size_t)root->szOsFile);
	wb_vfs.xOpen = wb_open;
	wb_vfs.pNext = NULL;
	registered = sqlite3_vfs_register(&wb_vfs, 0);
}

int walbuf_register(void)
{
	pthread_once(&once, do_register);
	return registered;
}

#ifdef KURA_TEST_HOOKS
void walbuf_stats(uint64_t *ret_file_writes, uint64_t *ret_sqlite_writes, uint64_t *ret_overwrites)
{
	*ret_file_writes = atomic_load(&file_writes);
	*ret_sqlite_writes = atomic_load(&sqlite_writes);
	*ret_overwrites = atomic_load(&overwrites);
}
#endif
