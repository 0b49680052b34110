/*
 * Blob store: immutable byte strings under per-tenant prefixes, named by random ids the
 * store picks. Streaming put (writer: write, commit → id, abort), ranged get, delete.
 * Two backends behind the same calls (an ops table, blob_int.h): the local filesystem
 * (blob_local.c, the default) and an S3-compatible object store (blob_s3.c, [blob] url =
 * s3://...). Blobs hold ciphertext only (the files module encrypts before writing).
 *
 * Durability contract: after blob_commit() returns 0 the blob survives a crash; before
 * that, nothing of it is visible under its id. A failed fsync fails the write for good
 * (never retried).
 */
#ifndef KURA_BLOB_BLOB_H
#define KURA_BLOB_BLOB_H
#include "core/core.h"

#define BLOB_ID_LEN 32          /* hex characters of a 128-bit random id */
#define BLOB_PART_ID_LEN BLOB_ID_LEN

struct blob_store;
struct blob_writer;
struct blob_reader;

struct config;
/* Opens the store [blob] in cfg names: the local store at local_dir (blob_open_local) when url
 * is unset, else the S3 bucket (blob_s3.c). NULL on failure with a message in err (never the
 * secret key). */
struct blob_store *blob_open(const struct config *cfg, const char *local_dir, char *err, size_t err_size);
/* Opens the local store rooted at dir (created 0700 when missing) and removes temporary
 * files a crash left behind. NULL on failure with a message in err. */
struct blob_store *blob_open_local(const char *dir, char *err, size_t err_size);
/* "local" or "s3". */
const char *blob_backend(const struct blob_store *bs);
/* True when other nodes may write to the same store (S3): start-up sweeps then keep a grace
 * age (KURA_S3_SHARED_GRACE_S) instead of trusting the data directory lock. */
bool blob_shared(const struct blob_store *bs);
struct blob_store *blob_close(struct blob_store *bs);

/* Starts a new blob for the tenant; its id is fixed now (blob_writer_id). */
int blob_writer_open(struct blob_store *bs, int64_t tenant_id, struct blob_writer **ret) KURA_WUR;
const char *blob_writer_id(const struct blob_writer *w);
uint64_t blob_writer_size(const struct blob_writer *w);
/* Appends n bytes. After a failure the writer only accepts blob_abort(). */
int blob_write(struct blob_writer *w, const void *data, size_t n) KURA_WUR;
/* Makes the blob durable and visible under its id, and frees the writer (also on failure,
 * when nothing is left behind). */
int blob_commit(struct blob_writer *w) KURA_WUR;
/* Drops an uncommitted blob and frees the writer. Accepts NULL; returns NULL. */
struct blob_writer *blob_abort(struct blob_writer *w);

/* ---- parts: blobs written over several requests (resumable uploads, issue 15) ----
 * A part lives at DIR/<tenant_id>/.part-<part_id> (part_id has the shape of a blob id; on S3
 * as pieces PREFIX/<tenant_id>/.part-<part_id>/<offset>, one per sync: blob_s3.c),
 * survives restarts and blob_sweep_tmp(), and becomes a blob by blob_commit() on a writer
 * blob_part_open() gave (a new random blob id). blob_abort() on such a writer closes it and
 * keeps the part; blob_part_delete() removes it. */
/* Opens the part for appending after its first keep bytes (what the caller recorded as
 * durable; anything after it is cut off), creating it when keep is 0. -ENOENT when keep > 0
 * and the part is missing or shorter than keep. */
int blob_part_open(struct blob_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
		   struct blob_writer **ret) KURA_WUR;
/* Makes what was written durable (fsync; a failure fails the writer for good). */
int blob_part_sync(struct blob_writer *w) KURA_WUR;
/* Removes a part; -ENOENT when it does not exist. */
int blob_part_delete(struct blob_store *bs, int64_t tenant_id, const char *part_id);

/* Ranged reads. -ENOENT when there is no such blob (for this tenant). */
int blob_reader_open(struct blob_store *bs, int64_t tenant_id, const char *id,
		     struct blob_reader **ret) KURA_WUR;
uint64_t blob_reader_size(const struct blob_reader *r);
/* Reads exactly n bytes at offset (short only at the end: *ret_n says how many). */
int blob_read_at(struct blob_reader *r, uint64_t offset, void *buf, size_t n,
		 size_t *ret_n) KURA_WUR;
struct blob_reader *blob_reader_close(struct blob_reader *r);

/* ---- start-up sweeps (kura serve, under the data directory lock, before serving) ----
 * Sound on one node with its own local store only: no other process writes blobs then.
 * With a store shared by several nodes (S3, scale-out) another node's blob may be committed
 * but not yet recorded: such a sweep must be claimed through the database and keep a grace
 * age (e.g. blobs older than an hour), not run at every start. */
/* Removes every temporary file, whatever its age: with the data directory locked no other
 * process writes to the store, and this one has not started any upload yet. */
int blob_sweep_tmp(struct blob_store *bs, unsigned *ret_n) KURA_WUR;
/* Calls fn for every committed blob: tenant id, blob id, modification time (UTC µs). fn
 * may delete the blob it is given; fn returning <0 stops with that value. */
typedef int (*blob_each_fn)(void *ctx, int64_t tenant_id, const char *id, int64_t mtime_us);
int blob_foreach(struct blob_store *bs, blob_each_fn fn, void *ctx) KURA_WUR;

/* Local store only (kura backup refuses an S3 store; docs/scale-out.md: bucket versioning):
 * kura backup (src/cli/backup.c) holds DIR/BLOB_BACKUP_HOLD locked (flock, exclusive) from
 * before its database copy until it ends; while it does, blob_delete() renames a blob to
 * DIR/<tenant>/BLOB_HELD_PREFIX<id> instead of removing it, so every blob the copy names can
 * still be read. The backup removes the held blobs when it ends. */
#define BLOB_BACKUP_HOLD ".backup-hold"
#define BLOB_HELD_PREFIX ".held-"
/* Removes a blob; -ENOENT when it does not exist. Durable (directory fsync) on return. */
int blob_delete(struct blob_store *bs, int64_t tenant_id, const char *id);
/* True when id has the shape of a blob id. */
bool blob_id_valid(const char *id);
/* 32 random hex characters (BLOB_ID_LEN) and the NUL: a new blob id, also the id a file kept
 * inline in its database row (files_content.c) binds its key wrapping to. */
void blob_new_id(char id[BLOB_ID_LEN + 1]);
/* Removes every file of the tenant (blobs, parts, temporary files) and its directory (the
 * erasure of a tenant); *ret_n counts the files. A missing directory is 0: it is idempotent. */
int blob_delete_tenant(struct blob_store *bs, int64_t tenant_id, unsigned *ret_n) KURA_WUR;

/* ---- fault injection (tests) ---- */
enum blob_fault { BLOB_FAULT_NONE, BLOB_FAULT_WRITE, BLOB_FAULT_FSYNC, BLOB_FAULT_RENAME, BLOB_FAULT_PWRITE };
/* The nth operation of that kind from now fails (write: ENOSPC, fsync and rename: EIO).
 * WRITE is the nth blob_write call; PWRITE the nth pwrite(2) into a local blob file, on
 * whichever thread makes it (a large blob's write-behind thread included): ENOSPC.
 * Also set once at blob_open_local() from KURA_TEST_BLOB_FAULT="write:N" (or fsync:N,
 * rename:N, pwrite:N), which a production deployment never sets; the server logs a warning
 * if so. */
void blob_fault_set(enum blob_fault kind, unsigned nth);
#ifdef KURA_TEST_HOOKS
/* Called at the start of every blob_write when set (tests only: a test that must act at a
 * known point inside a long blob copy, not after a guess of how long it takes). */
extern void (*blob_test_on_write)(void *arg);
extern void *blob_test_on_write_arg;
#endif
#endif
