/*
 * A SQLite VFS over the default one that gathers a transaction's writes to the WAL into one
 * write (docs/performance.md, step 15). SQLite writes each WAL frame as two pwrite()s, its
 * 24-byte header and its page, so a small PUT's transaction of ~15 frames made ~30 system
 * calls. Here a WAL file's appends (its new frames) are held in a buffer while they follow
 * each other, and go to the file in one write:
 *   - right after the page of the commit frame (the frame header whose "database size"
 *     field is not zero), inside that xWrite, so a failed write fails the commit;
 *   - before anything else touches the WAL file (xRead, xSync, xTruncate, xFileSize,
 *     xFileControl, xClose), before a write that does not follow the buffer, and when the
 *     buffer is full.
 * A write into bytes already in the file (a page SQLite rewrites in place, the checksums it
 * rewrites after the commit frame) is not held: it goes straight through, so its failure is
 * its own call's. Held bytes are never kept past a failed write. As a safety net for a path
 * this does not know, xShmBarrier and xShmLock's unlock on the database file write what the
 * calling thread's WAL still holds; a failure there, where SQLite cannot be told, stops the
 * process before a wal-index header could point a reader at bytes not in the file.
 * SQLite tells readers about new frames only after the commit frame (the wal-index header,
 * written after the barrier), so no reader of this or another process is ever pointed at
 * bytes that are not in the file yet: what the buffer delays is only what no one may read
 * yet and nothing has acknowledged. A kill -9 loses the same as without it: a transaction
 * whose commit frame was not written. The main database file, the journal and everything
 * else pass through untouched. unit/test_walbuf fails chosen writes under it.
 */
#ifndef KURA_STORE_WALBUF_H
#define KURA_STORE_WALBUF_H
#include <stdint.h>

#define KURA_WALBUF_VFS "kura-walbuf"
#define KURA_WALBUF_BYTES (128 * 1024)   /* per open WAL: ~31 frames of 4 KiB pages */

/* Registers the VFS (once; thread-safe): 0, or a SQLite error code. */
int walbuf_register(void);

#ifdef KURA_TEST_HOOKS
/* Writes that reached the WAL files of this process since the start, the xWrite calls
 * SQLite made to them, and those of them that went straight through as overwrites. */
void walbuf_stats(uint64_t *ret_file_writes, uint64_t *ret_sqlite_writes, uint64_t *ret_overwrites);
#endif
#endif
