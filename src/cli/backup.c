/*
 * kura backup --data DIR --to DEST [--include-keys] [--keep-days N]
 * kura restore --from DEST [--snapshot NAME] --data NEWDIR [--keys DIR]
 * (F3; issue 8 "Export and backup"; docs/operations.md "Backup and restore").
 *
 * A backup is taken while kura serve runs. DEST holds a pool of blobs shared by every
 * snapshot and one folder per snapshot:
 *
 *   DEST/kura-backup                    "kura-backup-1": what this folder is
 *   DEST/blobs/<tenant>/<id>            a blob, byte for byte (ciphertext, as in DIR/blobs)
 *   DEST/blobs/<tenant>/<id>.sha256     "<sha256 hex> <size>": checked when it was copied
 *   DEST/snapshots/<UTC time>/          one backup, complete once it has this name
 *       kura.db                         the database (SQLite online backup API)
 *       manifest.json                   format, time, version, database hash, tenants, counts
 *       blobs.jsonl                     every blob the database references, one per line:
 *                                       {"tenant", "id", "size", "sha256"}, sorted by tenant
 *       kura.conf, signing.pub, signing-keys.pub, tls/cert.pem     (public or settings)
 *       keys/master.key, keys/signing.key, keys/tls/key.pem        (--include-keys only)
 *
 * Consistency: the database is copied first, in one read transaction (db_backup), then the
 * blobs that copy references. Blobs are immutable (written once under a new random id), so
 * each one read is exactly what the copy names; the one thing the server can do meanwhile is
 * delete a blob the copy still names (a purge, a replaced file). So before the copy, the
 * backup locks DIR/blobs/.backup-hold, and while it is locked the server renames the blobs
 * it deletes to .held-<id> instead (blob_delete); the backup reads a missing blob from there
 * and removes the held ones at its end. (A blob deleted before the hold belongs to a row
 * deleted before the copy: the copy does not name it.) Should a blob still vanish, the
 * snapshot starts again from a fresh database copy, at most KURA_BACKUP_ATTEMPTS times.
 *
 * Incremental: a blob already in the pool (same tenant and id, which name one content for
 * good) with its .sha256 and the source's size is not copied again. A copied blob is hashed
 * while it is read, written to a temporary name, fsync'ed, read back and hashed again, and
 * only then renamed into the pool with its .sha256: a blob in the pool was verified. The
 * database copy must pass PRAGMA integrity_check. A snapshot is built as NAME.tmp and
 * renamed when complete, so an interrupted backup never looks like one.
 *
 * Restore refuses a non-empty target, checks the database's hash and integrity, every blob's
 * size and SHA-256 against blobs.jsonl, and that the master key (from the snapshot or --keys)
 * is the one the database's key check value names (keycheck_master).
 *
 * Erasure (issue 8, not built here): the tenant keys are inside kura.db, wrapped by the
 * master key, so restoring an old snapshot brings back every tenant it held. blobs.jsonl and
 * the manifest are per tenant on purpose: an erasure ledger kept outside the backups (the
 * tenant ids and erasure times) can make restore drop a tenant's rows, keys and blobs, or a
 * backup leave them out; see docs/operations.md.
 *
 * SECURITY: paths inside DEST are built from integers and ids checked by blob_id_valid(),
 * never from text read out of a backup; the one walk over what DEST holds (--keep-days)
 * checks every name it reads (snapshot names, decimal tenant folders, blob ids), opens the
 * folders without following links and stays on DEST's device, and removes regular files
 * only, relative to their folder's descriptor. Everything is created 0600/0700 (umask 077). Keys
 * are copied only on request: a backup without them cannot be read without the master key.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "blob/blob.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/core.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "lifecycle/lifecycle.h"
#include "store/db.h"
#include "store/lease.h"

#define FORMAT "kura-backup-1"
#define COPY_BUF (1024 * 1024)
#define SHA_HEX (crypto_hash_sha256_BYTES * 2 + 1)

struct counts {
	int64_t blobs, copied, reused, bytes, bytes_copied;
};

static int say(const char *what, const char *msg)
{
	fprintf(stderr, "kura %s: %s\n", what, msg);
	return 1;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The directory part of path (for its fsync). */
static void parent_of(const char *path, char *buf, size_t size)
{
	char *slash;

	str_copy(buf, size, path);
	slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	else
		str_copy(buf, size, ".");
}

/* SHA-256 and size of a file. */
static int hash_file(const char *path, unsigned char *buf, char ret_hex[SHA_HEX], uint64_t *ret_size)
{
	crypto_hash_sha256_state h;
	unsigned char sum[crypto_hash_sha256_BYTES];
	uint64_t size = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0)
		return -errno;
	crypto_hash_sha256_init(&h);
	while ((n = read(fd, buf, COPY_BUF)) > 0) {
		crypto_hash_sha256_update(&h, buf, (size_t)n);
		size += (uint64_t)n;
	}
	if (n < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	crypto_hash_sha256_final(&h, sum);
	hex_encode(sum, sizeof(sum), ret_hex);
	*ret_size = size;
	return 0;
}

/* Copies src to dst through dst.tmp: hashed while read, fsync'ed, read back and hashed again,
 * then renamed and its directory fsync'ed. want_hex (may be NULL): the hash src must have
 * (-EBADMSG otherwise, nothing left at dst). -ENOENT when src does not exist. */
static int copy_verified(const char *src, const char *dst, const char *want_hex, unsigned char *buf,
			 char ret_hex[SHA_HEX], uint64_t *ret_size)
{
	char tmp[PATH_MAX], dir[PATH_MAX], again[SHA_HEX];
	crypto_hash_sha256_state h;
	unsigned char sum[crypto_hash_sha256_BYTES];
	uint64_t size = 0, size2 = 0;
	struct stat st;
	int in = -1, out = -1, r = 0;
	ssize_t n;

	if (str_printf(tmp, sizeof(tmp), "%s.tmp", dst) < 0)
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	unlink(tmp);   /* a crash's leftover */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		r = -errno;
		goto out;
	}
	crypto_hash_sha256_init(&h);
	while ((n = read(in, buf, COPY_BUF)) > 0) {
		size_t off = 0;

		crypto_hash_sha256_update(&h, buf, (size_t)n);
		while (off < (size_t)n) {
			ssize_t w = write(out, buf + off, (size_t)n - off);

			if (w < 0) {
				r = -errno;
				goto out;
			}
			off += (size_t)w;
		}
		size += (uint64_t)n;
	}
	if (n < 0) {
		r = -errno;
		goto out;
	}
	/* a blob never changes: a size other than the one it had at open is damage */
	if (size != (uint64_t)st.st_size) {
		r = -EIO;
		goto out;
	}
	if (fsync(out) < 0) {   /* fatal, never retried */
		r = -errno;
		goto out;
	}
	close(out);
	out = -1;
	crypto_hash_sha256_final(&h, sum);
	hex_encode(sum, sizeof(sum), ret_hex);
	r = hash_file(tmp, buf, again, &size2);
	if (r < 0)
		goto out;
	if (strcmp(again, ret_hex) || size2 != size || (want_hex && strcmp(want_hex, ret_hex))) {
		r = -EBADMSG;
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		r = -errno;
		goto out;
	}
	parent_of(dst, dir, sizeof(dir));
	r = sync_dir(dir);
	*ret_size = size;
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A small file (settings, keys) copied with its mode kept private; -ENOENT when missing. */
static int copy_small(const char *from_dir, const char *name, const char *to_dir, unsigned char *buf)
{
	char src[PATH_MAX], dst[PATH_MAX], hex[SHA_HEX];
	struct stat st;
	uint64_t size;

	cli_path(src, sizeof(src), from_dir, name);
	cli_path(dst, sizeof(dst), to_dir, name);
	if (stat(src, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > KURA_BACKUP_SMALL_FILE_MAX)
		return -EFBIG;
	return copy_verified(src, dst, NULL, buf, hex, &size);
}

/* ---------------------------------------------------------------- the erasure ledger
 * DATADIR/erasure-ledger.jsonl (lifecycle.h) lists every key an erasure destroyed. It only
 * grows, so the newest copy holds every older one. A backup keeps a copy in its snapshot and
 * one at DEST/erasure-ledger.jsonl (what it had and the live one: it never forgets an erasure);
 * a restore writes into the new directory every line of the snapshot's copy, of DEST's and
 * of --ledger FILE (the live deployment's, when a tenant was erased after the last backup),
 * and applies it before anything is served: an erased tenant stays erased. */

/* Appends every whole line of path (if it exists) to out, each line once (seen: the lines
 * written so far); -EBADMSG for a line over the limit. */
static int ledger_add(FILE *out, const char *path, json_t *seen, long *ret_lines)
{
	FILE *in = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (!in)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (n > LIFECYCLE_LEDGER_LINE_MAX) {
			r = -EBADMSG;
			break;
		}
		if (line[n - 1] != '\n')
			continue;   /* a torn last line: the writer had not finished it */
		line[n - 1] = '\0';
		if (json_object_get(seen, line)) {
			continue;   /* in an earlier copy already */
		}
		if (json_object_set_new(seen, line, json_true()) < 0) {
			r = -ENOMEM;
			break;
		}
		line[n - 1] = '\n';
		if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
			r = -EIO;
			break;
		}
		(*ret_lines)++;
	}
	if (r == 0 && ferror(in))
		r = -EIO;
	free(line);
	fclose(in);
	return r;
}

/* Writes the union of the ledgers in srcs (NULL-terminated, missing ones skipped) to path,
 * durably (temp + fsync + rename). */
static int ledger_write(const char *path, const char *const *srcs, long *ret_lines)
{
	char tmp[PATH_MAX];
	FILE *out;
	int r = 0;

	*ret_lines = 0;
	if (str_printf(tmp, sizeof(tmp), "%s.tmp", path) < 0)
		return -ENAMETOOLONG;
	out = fopen(tmp, "wxe");
	if (!out && errno == EEXIST && unlink(tmp) == 0)
		out = fopen(tmp, "wxe");
	if (!out)
		return -errno;
	{
		json_t *seen = json_object();

		if (!seen)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && srcs[i]; i++)
			r = ledger_add(out, srcs[i], seen, ret_lines);
		json_decref(seen);
	}
	if (r == 0 && (fflush(out) != 0 || fsync(fileno(out)) < 0))
		r = -errno;
	if (fclose(out) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* ---------------------------------------------------------------- kura backup */

/* The pool's copy of one blob: reused when verified before with the source's size, else
 * copied. -ENOENT when the source is gone (the live state moved past the snapshot). */
static int pool_blob(const char *data, const char *dest, int64_t tenant, const char *id, unsigned char *buf,
		     struct counts *c, char ret_hex[SHA_HEX], uint64_t *ret_size)
{
	char src[PATH_MAX], dst[PATH_MAX], side[PATH_MAX], tmp[PATH_MAX], line[128], dir[PATH_MAX];
	struct stat s_src, s_dst;
	unsigned long long side_size = 0;
	FILE *f;
	int r;

	if (str_printf(src, sizeof(src), "%s/blobs/%lld/%s", data, (long long)tenant, id) < 0 ||
	    str_printf(dir, sizeof(dir), "%s/blobs/%lld", dest, (long long)tenant) < 0 ||
	    str_printf(dst, sizeof(dst), "%s/%s", dir, id) < 0 ||
	    str_printf(side, sizeof(side), "%s.sha256", dst) < 0 || str_printf(tmp, sizeof(tmp), "%s.tmp", side) < 0)
		return -ENAMETOOLONG;
	if (stat(src, &s_src) < 0) {
		/* deleted since the database copy: kept under its held name while we hold */
		if (errno != ENOENT ||
		    str_printf(src, sizeof(src), "%s/blobs/%lld/" BLOB_HELD_PREFIX "%s", data, (long long)tenant, id) < 0 ||
		    stat(src, &s_src) < 0)
			return -errno;
	}
	f = stat(dst, &s_dst) == 0 ? fopen(side, "re") : NULL;
	if (f) {
		bool ok = fgets(line, sizeof(line), f) && strlen(line) > 65 && line[64] == ' ' &&
			  sscanf(line + 65, "%llu", &side_size) == 1;

		fclose(f);
		if (ok && side_size == (unsigned long long)s_src.st_size &&
		    (unsigned long long)s_dst.st_size == side_size) {
			memcpy(ret_hex, line, 64);
			ret_hex[64] = '\0';
			*ret_size = side_size;
			c->reused++;
			return 0;
		}
	}
	r = make_dir(dir);
	if (r < 0)
		return r;
	r = copy_verified(src, dst, NULL, buf, ret_hex, ret_size);
	if (r < 0)
		return r;
	f = fopen(tmp, "wxe");
	if (!f)
		return -errno;
	fprintf(f, "%s %llu\n", ret_hex, (unsigned long long)*ret_size);
	r = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, side) < 0)
		r = -errno;
	if (r == 0)
		r = sync_dir(dir);
	if (r < 0) {
		unlink(tmp);
		unlink(dst);   /* a pool blob always has its .sha256 */
		return r;
	}
	c->copied++;
	c->bytes_copied += (int64_t)*ret_size;
	return 0;
}

/* One attempt at the snapshot in snap (an empty folder): the database, then its blobs.
 * -EAGAIN when a blob it names was deleted meanwhile (try again from a new copy). */
static int snapshot_once(const char *data, const char *dest, const char *snap, unsigned char *buf,
			 struct counts *c, json_t *tenants, char *err, size_t err_size)
{
	char dbsrc[PATH_MAX], dbdst[PATH_MAX], path[PATH_MAX], hex[SHA_HEX];
	struct db *db = NULL;
	struct db_stmt *st = NULL;
	FILE *list = NULL;
	int64_t cur_tenant = 0, t_blobs = 0, t_bytes = 0;
	uint64_t size;
	json_t *t = NULL;
	int r;

	cli_path(dbsrc, sizeof(dbsrc), data, "kura.db");
	cli_path(dbdst, sizeof(dbdst), snap, "kura.db");
	unlink(dbdst);
	r = db_backup(dbsrc, dbdst, err, err_size);
	if (r == 0)
		r = db_integrity_check(dbdst, err, err_size);
	if (r < 0)
		return r;
	db = db_open(dbdst, err, err_size);
	if (!db)
		return -EIO;
	cli_path(path, sizeof(path), snap, "blobs.jsonl");
	list = fopen(path, "we");
	if (!list) {
		r = -errno;
		str_printf(err, err_size, "cannot write %s: %s", path, strerror(-r));
		goto out;
	}
	/* the tenants the copy holds, each with what it references (trash included) */
	st = db_query(db, "SELECT id, code FROM tenants ORDER BY id", "");
	while ((r = db_step(st)) > 0)
		json_array_append_new(tenants, json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)db_int(st, 0),
							 "code", db_text(st, 1) ? db_text(st, 1) : "", "blobs",
							 (json_int_t)0, "bytes", (json_int_t)0));
	db_done(st);
	/* every blob the database names: files' contents and reports' sealed attachments (a
	 * file kept inline has its content in the copy itself: no blob) */
	st = db_query(db, "SELECT tenant_id, blob_id FROM file_nodes WHERE blob_id IS NOT NULL"
			  " AND inline_data IS NULL UNION"
			  " SELECT tenant_id, blob_id FROM report_attachments ORDER BY 1, 2", "");
	while ((r = db_step(st)) > 0) {
		int64_t tenant = db_int(st, 0);
		const char *id = db_text(st, 1);

		if (tenant <= 0 || !id || !blob_id_valid(id)) {
			str_printf(err, err_size, "the database names a blob that is not an id: tenant %lld", (long long)tenant);
			r = -EBADMSG;
			break;
		}
		r = pool_blob(data, dest, tenant, id, buf, c, hex, &size);
		if (r == -ENOENT) {
			r = -EAGAIN;
			break;
		}
		if (r < 0) {
			str_printf(err, err_size, "cannot copy blob %lld/%s: %s", (long long)tenant, id, strerror(-r));
			break;
		}
		fprintf(list, "{\"tenant\":%lld,\"id\":\"%s\",\"size\":%llu,\"sha256\":\"%s\"}\n", (long long)tenant, id,
			(unsigned long long)size, hex);
		c->blobs++;
		c->bytes += (int64_t)size;
		if (tenant != cur_tenant) {
			cur_tenant = tenant;
			t_blobs = t_bytes = 0;
			t = NULL;
			for (size_t i = 0; i < json_array_size(tenants); i++)
				if (json_integer_value(json_object_get(json_array_get(tenants, i), "id")) == tenant)
					t = json_array_get(tenants, i);
		}
		t_blobs++;
		t_bytes += (int64_t)size;
		if (t) {
			json_object_set_new(t, "blobs", json_integer(t_blobs));
			json_object_set_new(t, "bytes", json_integer(t_bytes));
		}
	}
	db_done(st);
	st = NULL;
	if (r == 0 && (fflush(list) != 0 || fsync(fileno(list)) != 0)) {
		r = -EIO;
		str_printf(err, err_size, "cannot write %s", path);
	}
out:
	if (list && fclose(list) != 0 && r == 0)
		r = -EIO;
	db_close(db);
	/* what the reading connection may have left beside the copy */
	cli_path(path, sizeof(path), snap, "kura.db-wal");
	unlink(path);
	cli_path(path, sizeof(path), snap, "kura.db-shm");
	unlink(path);
	return r;
}

/* DEST is a backup folder (made when missing or empty). */
static int dest_open(const char *dest, char *err, size_t err_size)
{
	char path[PATH_MAX], line[64] = "";
	DIR *d;
	struct dirent *de;
	bool empty = true;
	FILE *f;

	if (make_dir(dest) < 0) {
		str_printf(err, err_size, "cannot create %s: %s", dest, strerror(errno));
		return -EIO;
	}
	cli_path(path, sizeof(path), dest, "kura-backup");
	f = fopen(path, "re");
	if (f) {
		bool ok = fgets(line, sizeof(line), f) && !strcmp(line, FORMAT "\n");

		fclose(f);
		if (!ok) {
			str_printf(err, err_size, "%s is not a backup of this format (%s)", dest, FORMAT);
			return -EINVAL;
		}
		return 0;
	}
	d = opendir(dest);
	if (!d) {
		str_printf(err, err_size, "cannot read %s: %s", dest, strerror(errno));
		return -EIO;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty) {
		str_printf(err, err_size, "%s is neither empty nor a kura backup: choose another folder", dest);
		return -EEXIST;
	}
	f = fopen(path, "wxe");
	if (!f || fputs(FORMAT "\n", f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		if (f)
			fclose(f);
		str_printf(err, err_size, "cannot write %s", path);
		return -EIO;
	}
	fclose(f);
	cli_path(path, sizeof(path), dest, "blobs");
	if (make_dir(path) < 0)
		return -EIO;
	cli_path(path, sizeof(path), dest, "snapshots");
	if (make_dir(path) < 0)
		return -EIO;
	return sync_dir(dest);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -r of DEST/snapshots/NAME (NAME checked by the caller); 0 or -errno */
static int rm_tree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 || errno == ENOENT ? 0 : -errno;
}

/* An unfinished snapshot's folder and all in it (the erasure ledger too) */
static void rm_snapshot_tmp(const char *snap)
{
	(void)rm_tree(snap);
}

/* DATA/blobs/.backup-hold, locked: from now on the server keeps the blobs it deletes. */
static int hold_take(const char *data, int *ret_fd, char *err, size_t err_size)
{
	char path[PATH_MAX];
	int fd;

	if (str_printf(path, sizeof(path), "%s/blobs/%s", data, BLOB_BACKUP_HOLD) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		str_printf(err, err_size, "cannot open %s: %s", path, strerror(errno));
		return -EIO;
	}
	/* run as root beside a server that dropped to its user: the hold must be one the
	 * server can open, or it would not see it (docs/operations.md "Running as root") */
	if (geteuid() == 0) {
		struct stat st;
		char blobs[PATH_MAX];

		if (str_printf(blobs, sizeof(blobs), "%s/blobs", data) == 0 && stat(blobs, &st) == 0 && st.st_uid != 0 &&
		    fchown(fd, st.st_uid, st.st_gid) < 0) {
			str_printf(err, err_size, "cannot give %s to uid %u: %s", path, (unsigned)st.st_uid, strerror(errno));
			close(fd);
			return -EIO;
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		str_printf(err, err_size, "another kura backup of %s is running", data);
		return -EBUSY;
	}
	*ret_fd = fd;
	return 0;
}

/* The blobs the server deleted while we held them: garbage now. Still under the hold, so
 * no new one appears behind readdir for long; a later one waits for the next backup. */
static void hold_release(const char *data, int fd)
{
	char path[PATH_MAX], sub[PATH_MAX];
	DIR *d, *t;
	struct dirent *de, *te;

	if (fd < 0)
		return;
	cli_path(path, sizeof(path), data, "blobs");
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || str_printf(sub, sizeof(sub), "%s/%s", path, de->d_name) < 0)
			continue;
		t = opendir(sub);
		while (t && (te = readdir(t)))
			if (!strncmp(te->d_name, BLOB_HELD_PREFIX, strlen(BLOB_HELD_PREFIX)))
				unlinkat(dirfd(t), te->d_name, 0);
		if (t)
			closedir(t);
	}
	if (d)
		closedir(d);
	close(fd);
}

/* A data directory whose kura.conf names a PostgreSQL database ([store] db_url): kura backup
 * and restore copy a SQLite kura.db and the local blobs only; a PostgreSQL database is backed
 * up with its own tools (docs/scale-out.md "Backups"). */
static bool on_postgresql(const char *data)
{
	char path[PATH_MAX], err[256];
	struct config cfg;

	cli_path(path, sizeof(path), data, "kura.conf");
	return access(path, R_OK) == 0 && config_load(&cfg, path, err, sizeof(err)) == 0 && db_url_is_pg(cfg.db_url);
}

#define PG_REFUSAL "%s uses a PostgreSQL database ([store] db_url): kura %s copies a SQLite kura.db only;" \
	" back up PostgreSQL with pg_dump or pg_basebackup and its WAL archive, and the keys and blobs beside" \
	" it (docs/scale-out.md \"Backups\")"

static bool snapshot_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 31)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == 'T' || s[i] == 'Z' || s[i] == '-'))
			return false;
	return true;
}

/* ---------------------------------------------------------------- --keep-days: pruning
 * After a snapshot completed, under DEST's lock (no other backup runs): the snapshots whose
 * time (their name, UTC) is more than keep_days old go, never the one just made; then every
 * pool blob that no remaining snapshot's blobs.jsonl names, and the temporary files of
 * interrupted copies. A snapshot is renamed NAME.tmp before its files go, so a crash midway
 * never leaves something that looks like a snapshot; the next prune removes the rest. When
 * a remaining snapshot's blobs.jsonl cannot be read whole, no blob is removed (the pool
 * would lose what that snapshot needs). Names inside DEST come from readdir and are checked
 * (snapshot_name_valid, digits for a tenant, blob_id_valid) before they are used in a path. */

struct pruned {
	int64_t snapshots, blobs, bytes, temporary;
};

/* The snapshot name's time: "YYYYMMDDTHHMMSSZ" and an optional "-N"; -1 when it is not one. */
static int64_t snapshot_time(const char *name)
{
	struct tm tm = { 0 };
	char z = 0;

	if (strlen(name) < 16 || sscanf(name, "%4d%2d%2dT%2d%2d%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
					  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* One line of a snapshot's blobs.jsonl, checked: what restore copies and what a prune keeps
 * are read by the same rule. */
struct blob_line {
	int64_t tenant, size;
	char id[BLOB_ID_LEN + 1];
	char sha256[SHA_HEX];
};

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* 0, -E2BIG for a line over KURA_BACKUP_LINE_MAX, -EBADMSG for one that is not a blob's */
static int blob_line_parse(const char *line, size_t n, struct blob_line *ret)
{
	json_t *j;
	const char *id, *sha;
	int r = 0;

	if (n > KURA_BACKUP_LINE_MAX)
		return -E2BIG;
	j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	ret->tenant = json_integer_value(json_object_get(j, "tenant"));
	ret->size = json_integer_value(json_object_get(j, "size"));
	id = json_string_value(json_object_get(j, "id"));
	sha = json_string_value(json_object_get(j, "sha256"));
	if (!j || ret->tenant <= 0 || ret->size < 0 || !blob_id_valid(id) || !hex64(sha)) {
		r = -EBADMSG;
	} else {
		str_copy(ret->id, sizeof(ret->id), id);
		str_copy(ret->sha256, sizeof(ret->sha256), sha);
	}
	json_decref(j);
	return r;
}

/* A snapshot's blobs.jsonl, opened for reading (its path into path); NULL with err set. */
static FILE *blob_list_open(const char *snap, char *path, size_t path_size, char *err, size_t err_size)
{
	FILE *f;

	cli_path(path, path_size, snap, "blobs.jsonl");
	f = fopen(path, "re");
	if (!f)
		str_printf(err, err_size, "cannot read %s: %s", path, strerror(errno));
	return f;
}

/* Adds every blob of snap's blobs.jsonl to keep ("tenant/id"). */
static int keep_listed(const char *snap, json_t *keep, char *err, size_t err_size)
{
	char path[PATH_MAX], key[64];
	struct blob_line b;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	FILE *f;
	int r = 0;

	f = blob_list_open(snap, path, sizeof(path), err, err_size);
	if (!f)
		return -EIO;
	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		r = blob_line_parse(line, (size_t)n, &b);
		if (r < 0) {
			str_printf(err, err_size, "%s line %ld is not a blob's: no blob is removed from the pool", path,
				   lineno);
		} else {
			str_printf(key, sizeof(key), "%lld/%s", (long long)b.tenant, b.id);
			r = json_object_set_new(keep, key, json_true()) == 0 ? 0 : -ENOMEM;
		}
	}
	if (r == 0 && ferror(f)) {
		str_printf(err, err_size, "cannot read %s", path);
		r = -EIO;
	}
	free(line);
	fclose(f);
	return r;
}

/* Pool blobs of one tenant's folder that keep does not name, and temporary files. */
/* Pool blobs of one tenant's folder that keep does not name, and temporary files. The folder
 * is opened without following a link and must be a real directory on the pool's device, and
 * only regular files in it are removed, each relative to the folder's descriptor: a link or a
 * mount planted in DEST never leads a prune outside it. */
static int prune_tenant(int pool_fd, dev_t pool_dev, const char *tenant, json_t *keep, struct pruned *p)
{
	char id[BLOB_ID_LEN + 1], key[64];
	struct dirent *de;
	struct stat dst;
	bool changed = false;
	int fd = openat(pool_fd, tenant, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;
	DIR *d;

	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? 0 : -errno;   /* a link or a file: not ours */
	if (fstat(fd, &dst) < 0 || dst.st_dev != pool_dev) {
		close(fd);
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name, *rest = name + BLOB_ID_LEN;
		struct stat st;
		bool tmp;

		if (strlen(name) < BLOB_ID_LEN)
			continue;
		memcpy(id, name, BLOB_ID_LEN);
		id[BLOB_ID_LEN] = '\0';
		if (!blob_id_valid(id))
			continue;
		tmp = !strcmp(rest, ".tmp") || !strcmp(rest, ".sha256.tmp");
		if (!tmp && strcmp(rest, "") && strcmp(rest, ".sha256"))
			continue;   /* not the pool's: left alone */
		str_printf(key, sizeof(key), "%s/%s", tenant, id);
		if (!tmp && json_object_get(keep, key))
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;   /* only files the pool wrote */
		if (unlinkat(fd, name, 0) < 0) {
			r = -errno;
			break;
		}
		changed = true;
		if (tmp) {
			p->temporary++;
		} else if (!*rest) {
			p->blobs++;
			p->bytes += (int64_t)st.st_size;
		}
	}
	if (r == 0 && changed && fsync(fd) < 0)
		r = -errno;
	closedir(d);   /* closes fd */
	if (r == 0)
		(void)unlinkat(pool_fd, tenant, AT_REMOVEDIR);   /* when it is empty now */
	return r;
}

static int prune(const char *dest, int64_t now_s, unsigned keep_days, const char *made, struct pruned *p,
		 char *err, size_t err_size)
{
	char snaps[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX], pool[PATH_MAX];
	json_t *keep = json_object(), *old = json_array();
	struct stat pst;
	int pool_fd = -1;
	DIR *d = NULL;
	struct dirent *de;
	size_t i;
	json_t *v;
	int r = 0;

	if (!keep || !old) {
		r = -ENOMEM;
		goto out;
	}
	cli_path(snaps, sizeof(snaps), dest, "snapshots");
	d = opendir(snaps);
	if (!d) {
		r = -errno;
		str_printf(err, err_size, "cannot read %s: %s", snaps, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int64_t t;

		if (n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) {
			char base[32];

			if (n - 4 < sizeof(base)) {
				memcpy(base, de->d_name, n - 4);
				base[n - 4] = '\0';
				if (snapshot_name_valid(base))   /* an interrupted backup's or prune's */
					json_array_append_new(old, json_string(de->d_name));
			}
			continue;
		}
		if (!snapshot_name_valid(de->d_name) || !strcmp(de->d_name, made))
			continue;
		t = snapshot_time(de->d_name);
		if (t >= 0 && t < now_s - (int64_t)keep_days * 86400)
			json_array_append_new(old, json_string(de->d_name));
	}
	closedir(d);
	d = NULL;
	json_array_foreach(old, i, v) {
		const char *name = json_string_value(v);
		size_t n = strlen(name);

		if (str_printf(path, sizeof(path), "%s/%s", snaps, name) < 0)
			continue;
		if (n > 4 && !strcmp(name + n - 4, ".tmp")) {
			str_copy(tmp, sizeof(tmp), path);
		} else {
			if (str_printf(tmp, sizeof(tmp), "%s.tmp", path) < 0)
				continue;
			(void)rm_tree(tmp);
			if (rename(path, tmp) < 0 || sync_dir(snaps) < 0) {
				r = -errno;
				str_printf(err, err_size, "cannot remove the snapshot %s: %s", path, strerror(errno));
				goto out;
			}
			p->snapshots++;
		}
		r = rm_tree(tmp);
		if (r < 0) {
			str_printf(err, err_size, "cannot remove %s: %s", tmp, strerror(-r));
			goto out;
		}
	}
	if ((r = sync_dir(snaps)) < 0)
		goto out;
	/* what the snapshots left name */
	d = opendir(snaps);
	if (!d) {
		r = -errno;
		goto out;
	}
	while (r == 0 && (de = readdir(d)))
		if (snapshot_name_valid(de->d_name) && str_printf(path, sizeof(path), "%s/%s", snaps, de->d_name) == 0)
			r = keep_listed(path, keep, err, err_size);
	closedir(d);
	d = NULL;
	if (r < 0)
		goto out;
	cli_path(pool, sizeof(pool), dest, "blobs");
	pool_fd = open(pool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pool_fd < 0 || fstat(pool_fd, &pst) < 0 || !(d = fdopendir(pool_fd))) {
		r = -errno;
		str_printf(err, err_size, "cannot read %s: %s", pool, strerror(errno));
		if (pool_fd >= 0)
			close(pool_fd);
		goto out;
	}
	while (r == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		/* a tenant's folder is its id in decimal, as pool_blob names it (no leading zero:
		 * "007" would never match a listed "7/…") */
		if (n == 0 || n > 19 || de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != n)
			continue;
		r = prune_tenant(pool_fd, pst.st_dev, de->d_name, keep, p);
		if (r < 0)
			str_printf(err, err_size, "cannot prune %s/%s: %s", pool, de->d_name, strerror(-r));
	}
	if (r == 0 && fsync(pool_fd) < 0)
		r = -errno;
out:
	if (d)
		closedir(d);
	json_decref(keep);
	json_decref(old);
	return r;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "to", required_argument, NULL, 't' },
		{ "include-keys", no_argument, NULL, 'k' }, { "keep-days", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char use[] = "usage: kura backup --data DIR --to DEST [--include-keys] [--keep-days N]\n";
	uint32_t keep_days = 0;
	struct pruned pr = { 0 };
	const char *data = NULL, *dest = NULL;
	char err[1024] = "", name[32], final[PATH_MAX], snap[PATH_MAX], path[PATH_MAX], hex[SHA_HEX],
	     when[CLOCK_RFC3339_LEN];
	unsigned char *buf = NULL;
	struct counts c = { 0 };
	json_t *tenants = NULL, *manifest = NULL;
	bool keys = false;
	int64_t now = clock_now_us();
	uint64_t db_size = 0;
	int ch, r = -EIO, attempt, lock = -1, hold = -1, ret = 1;

	snap[0] = final[0] = '\0';
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': data = optarg; break;
		case 't': dest = optarg; break;
		case 'k': keys = true; break;
		case 'K':
			if (safe_atou32(optarg, &keep_days) < 0 || keep_days < 1 || keep_days > KURA_BACKUP_KEEP_DAYS_MAX) {
				fprintf(stderr, "kura backup: --keep-days must be 1 to %d (days of snapshots to keep)\n",
					KURA_BACKUP_KEEP_DAYS_MAX);
				return 2;
			}
			break;
		case 'h': fputs(use, stdout); return 0;
		default: fputs(use, stderr); return 2;
		}
	}
	if (!data || !dest || optind != argc) {
		fputs(use, stderr);
		return 2;
	}
	if (crypto_init() < 0)
		return say("backup", "libsodium failed to initialize");
	if (on_postgresql(data)) {
		str_printf(err, sizeof(err), PG_REFUSAL, data, "backup");
		return say("backup", err);
	}
	cli_path(path, sizeof(path), data, "kura.db");
	if (access(path, R_OK) < 0) {
		str_printf(err, sizeof(err), "no database at %s: %s", path, strerror(errno));
		return say("backup", err);
	}
	/* the snapshot copies DIR/blobs under the hold (BLOB_BACKUP_HOLD); content in an S3
	 * bucket is neither there nor held: refuse rather than write a snapshot without it */
	{
		struct config cfg;

		cli_path(path, sizeof(path), data, "kura.conf");
		if (config_load(&cfg, path, err, sizeof(err)) < 0 && access(path, F_OK) == 0)
			return say("backup", err);
		if (access(path, F_OK) == 0 && cfg.blob_url[0]) {
			str_printf(err, sizeof(err), "file content is in an S3 bucket ([blob] url = %s), which kura backup "
				   "does not copy: keep the bucket's versioning on and back up the database "
				   "(docs/scale-out.md \"Object storage (S3)\")", cfg.blob_url);
			return say("backup", err);
		}
	}
	if (dest_open(dest, err, sizeof(err)) < 0)
		return say("backup", err);
	/* one backup at a time into DEST */
	cli_path(path, sizeof(path), dest, ".lock");
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		str_printf(err, sizeof(err), "another kura backup is writing to %s", dest);
		say("backup", err);
		goto out;
	}
	buf = malloc(COPY_BUF);
	if (!buf)
		goto out;
	clock_format_utc(now, when, sizeof(when));
	/* 2026-12-01T10:43:05.123456Z -> 20261201T104305Z */
	{
		size_t k = 0;

		for (size_t i = 0; when[i] && when[i] != '.' && k + 2 < sizeof(name); i++)
			if (when[i] != '-' && when[i] != ':')
				name[k++] = when[i];
		name[k++] = 'Z';
		name[k] = '\0';
	}
	/* a second backup within the same second: NAME-2, NAME-3 … (they sort after NAME) */
	for (int k = 1; k < 100; k++) {
		char base[sizeof(name)];

		str_copy(base, sizeof(base), name);
		if (k > 1) {
			base[strcspn(base, "-")] = '\0';
			str_printf(name, sizeof(name), "%s-%d", base, k);
		}
		if (str_printf(final, sizeof(final), "%s/snapshots/%s", dest, name) < 0 ||
		    str_printf(snap, sizeof(snap), "%s.tmp", final) < 0)
			goto out;
		if (access(final, F_OK) < 0)
			break;
	}
	if (access(final, F_OK) == 0) {
		str_printf(err, sizeof(err), "%s exists already: wait a second and run again", final);
		say("backup", err);
		goto out;
	}
	rm_snapshot_tmp(snap);   /* an interrupted backup's */
	if (hold_take(data, &hold, err, sizeof(err)) < 0) {
		say("backup", err);
		goto out;
	}
	for (attempt = 1; attempt <= KURA_BACKUP_ATTEMPTS; attempt++) {
		json_decref(tenants);
		tenants = json_array();
		if (!tenants || make_dir(snap) < 0)
			goto out;
		r = snapshot_once(data, dest, snap, buf, &c, tenants, err, sizeof(err));
		if (r != -EAGAIN)
			break;
		fprintf(stderr, "kura backup: a blob was deleted while it was copied; starting again from a new"
				" database copy (attempt %d)\n", attempt + 1);
		c.blobs = c.bytes = c.reused = 0;
		rm_snapshot_tmp(snap);
	}
	if (r == -EAGAIN)
		str_printf(err, sizeof(err), "the data changed under %d attempts: try again at a quieter time",
			   KURA_BACKUP_ATTEMPTS);
	if (r < 0) {
		say("backup", err[0] ? err : strerror(-r));
		goto out;
	}
	/* settings and public keys; the secret keys only on request */
	r = copy_small(data, "kura.conf", snap, buf);
	if (r == 0)
		r = copy_small(data, "signing.pub", snap, buf);
	if (r == 0 && (r = copy_small(data, "signing-keys.pub", snap, buf)) == -ENOENT)
		r = 0;
	cli_path(path, sizeof(path), snap, "tls");
	if (r == 0 && (r = make_dir(path)) == 0 && (r = copy_small(data, "tls/cert.pem", snap, buf)) == -ENOENT)
		r = 0;
	if (r == 0) {
		/* the erasure ledger: into the snapshot, and the pool's newest copy */
		char live[PATH_MAX];
		long lines = 0;

		cli_path(live, sizeof(live), data, LIFECYCLE_LEDGER_FILE);
		cli_path(path, sizeof(path), snap, LIFECYCLE_LEDGER_FILE);
		r = ledger_write(path, (const char *const[]){ live, NULL }, &lines);
		/* the pool's: what it had and the live one, so it never forgets an erasure (a live
		 * ledger lost or older than the pool's takes nothing away) */
		cli_path(path, sizeof(path), dest, LIFECYCLE_LEDGER_FILE);
		if (r == 0)
			r = ledger_write(path, (const char *const[]){ path, live, NULL }, &lines);
	}
	if (r == 0 && keys) {
		cli_path(path, sizeof(path), snap, "keys");
		r = make_dir(path);
		if (r == 0)
			r = copy_small(data, "master.key", path, buf);
		if (r == 0)
			r = copy_small(data, "signing.key", path, buf);
		cli_path(path, sizeof(path), snap, "keys/tls");
		if (r == 0 && (r = make_dir(path)) == 0) {
			cli_path(path, sizeof(path), snap, "keys");
			if ((r = copy_small(data, "tls/key.pem", path, buf)) == -ENOENT)
				r = 0;
		}
	}
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot copy the settings and keys of %s: %s", data, strerror(-r));
		say("backup", err);
		goto out;
	}
	cli_path(path, sizeof(path), snap, "kura.db");
	r = hash_file(path, buf, hex, &db_size);
	if (r < 0)
		goto out;
	manifest = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I}, s:o, s:{s:I, s:I, s:I, s:I, s:I}, s:b}",
			     "format", FORMAT, "snapshot", name, "created_at", when, "kura_version", KURA_VERSION,
			     "database", "file", "kura.db", "sha256", hex, "size", (json_int_t)db_size, "tenants",
			     json_incref(tenants), "blobs", "count", (json_int_t)c.blobs, "bytes", (json_int_t)c.bytes,
			     "copied", (json_int_t)c.copied, "reused", (json_int_t)c.reused, "bytes_copied",
			     (json_int_t)c.bytes_copied, "keys_included", keys);
	cli_path(path, sizeof(path), snap, "manifest.json");
	if (!manifest || json_dump_file(manifest, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
		say("backup", "cannot write manifest.json");
		goto out;
	}
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		r = fd >= 0 && fsync(fd) == 0 ? 0 : -EIO;
		if (fd >= 0)
			close(fd);
	}
	if (r == 0)
		r = sync_dir(snap);
	if (r == 0 && rename(snap, final) < 0)
		r = -errno;
	cli_path(path, sizeof(path), dest, "snapshots");
	if (r == 0)
		r = sync_dir(path);
	if (r < 0) {
		say("backup", "cannot complete the snapshot");
		goto out;
	}
	printf("snapshot: %s\ndatabase: %llu bytes, integrity ok\ntenants: %zu\nblobs: %lld (%lld bytes)\n"
	       "copied: %lld (%lld bytes)\nalready in the backup: %lld\nkeys included: %s\n",
	       final, (unsigned long long)db_size, json_array_size(tenants), (long long)c.blobs, (long long)c.bytes,
	       (long long)c.copied, (long long)c.bytes_copied, (long long)c.reused, keys ? "yes" : "no");
	ret = 0;
	if (keep_days > 0) {
		err[0] = '\0';
		r = prune(dest, now / 1000000, keep_days, name, &pr, err, sizeof(err));
		printf("pruned: %lld snapshot(s) older than %u days, %lld blob(s) (%lld bytes) no snapshot names,"
		       " %lld temporary file(s)\n", (long long)pr.snapshots, (unsigned)keep_days, (long long)pr.blobs,
		       (long long)pr.bytes, (long long)pr.temporary);
		if (r < 0) {
			/* the snapshot stands; the exit status tells the scheduler the pruning did not */
			say("backup", err[0] ? err : strerror(-r));
			ret = 1;
		}
	}
out:
	if (ret != 0 && snap[0])
		rm_snapshot_tmp(snap);
	hold_release(data, hold);
	json_decref(manifest);
	json_decref(tenants);
	free(buf);
	if (lock >= 0)
		close(lock);
	return ret;
}

/* ---------------------------------------------------------------- kura restore */

/* The newest complete snapshot's name into ret (names sort by time). */
static int newest_snapshot(const char *from, char *ret, size_t size)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int r = -ENOENT;

	cli_path(path, sizeof(path), from, "snapshots");
	d = opendir(path);
	if (!d)
		return -errno;
	ret[0] = '\0';
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 2 || n >= size || strstr(de->d_name, ".tmp"))
			continue;
		if (strcmp(de->d_name, ret) > 0) {
			str_copy(ret, size, de->d_name);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

/* Every blob of blobs.jsonl from the pool into DATA/blobs, each checked. */
static int restore_blobs(const char *from, const char *snap, const char *data, unsigned char *buf,
			 struct counts *c, char *err, size_t err_size)
{
	char path[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], hex[SHA_HEX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	uint64_t size;
	int64_t made = 0;
	FILE *f;
	int r = 0;

	f = blob_list_open(snap, path, sizeof(path), err, err_size);
	if (!f)
		return -EIO;
	cli_path(dir, sizeof(dir), data, "blobs");
	r = make_dir(dir);
	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		struct blob_line b;

		lineno++;
		r = blob_line_parse(line, (size_t)n, &b);
		if (r < 0) {
			str_printf(err, err_size, "%s line %ld: %s", path, lineno,
				   r == -E2BIG ? "too long" : "not a blob line");
			r = -EBADMSG;
			break;
		}
		/* (the place where an erasure ledger would skip an erased tenant's blobs) */
		if (b.tenant != made) {
			if (str_printf(dir, sizeof(dir), "%s/blobs/%lld", data, (long long)b.tenant) < 0 ||
			    make_dir(dir) < 0) {
				r = -EIO;
				break;
			}
			made = b.tenant;
		}
		if (str_printf(src, sizeof(src), "%s/blobs/%lld/%s", from, (long long)b.tenant, b.id) < 0 ||
		    str_printf(dst, sizeof(dst), "%s/blobs/%lld/%s", data, (long long)b.tenant, b.id) < 0) {
			r = -ENAMETOOLONG;
			break;
		}
		r = copy_verified(src, dst, b.sha256, buf, hex, &size);
		if (r == 0 && size != (uint64_t)b.size)
			r = -EBADMSG;
		if (r < 0)
			str_printf(err, err_size, "blob %lld/%s of the backup: %s", (long long)b.tenant, b.id,
				   r == -EBADMSG ? "its content does not match its SHA-256 (damaged)" : strerror(-r));
		if (r == 0) {
			c->blobs++;
			c->bytes += (int64_t)size;
		}
	}
	free(line);
	fclose(f);
	return r;
}

static bool dir_empty_or_missing(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return errno == ENOENT;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' }, { "data", required_argument, NULL, 'd' },
		{ "snapshot", required_argument, NULL, 's' }, { "keys", required_argument, NULL, 'k' },
		{ "ledger", required_argument, NULL, 'l' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char use[] = "usage: kura restore --from DEST [--snapshot NAME] --data NEWDIR [--keys DIR]"
				  " [--ledger FILE]\n";
	const char *from = NULL, *data = NULL, *keys = NULL, *want = NULL, *ledger = NULL;
	int64_t erased_keys = 0;
	long ledger_lines = 0;
	char err[1024] = "", name[32], snap[PATH_MAX], path[PATH_MAX], path2[PATH_MAX], hex[SHA_HEX],
	     keydir[PATH_MAX];
	unsigned char *buf = NULL, *master = NULL;
	struct counts c = { 0 };
	struct db *db = NULL;
	json_t *manifest = NULL;
	struct stat st;
	uint64_t size;
	int ch, r, ret = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': from = optarg; break;
		case 'd': data = optarg; break;
		case 's': want = optarg; break;
		case 'k': keys = optarg; break;
		case 'l': ledger = optarg; break;
		case 'h': fputs(use, stdout); return 0;
		default: fputs(use, stderr); return 2;
		}
	}
	if (!from || !data || optind != argc) {
		fputs(use, stderr);
		return 2;
	}
	if (on_postgresql(data)) {
		char perr[1024];

		str_printf(perr, sizeof(perr), PG_REFUSAL, data, "restore");
		return say("restore", perr);
	}
	if (crypto_init() < 0)
		return say("restore", "libsodium failed to initialize");
	if (!dir_empty_or_missing(data)) {
		str_printf(err, sizeof(err), "%s is not empty: restore into a new folder", data);
		return say("restore", err);
	}
	if (ledger && access(ledger, R_OK) < 0) {
		str_printf(err, sizeof(err), "--ledger %s: %s", ledger, strerror(errno));
		return say("restore", err);
	}
	if (want && !snapshot_name_valid(want))
		return say("restore", "--snapshot is a name from DEST/snapshots (such as 20261201T104305Z)");
	if (want)
		str_copy(name, sizeof(name), want);
	else if (newest_snapshot(from, name, sizeof(name)) < 0) {
		str_printf(err, sizeof(err), "%s holds no complete snapshot", from);
		return say("restore", err);
	}
	if (str_printf(snap, sizeof(snap), "%s/snapshots/%s", from, name) < 0)
		return say("restore", "path too long");
	cli_path(path, sizeof(path), snap, "manifest.json");
	if (stat(path, &st) < 0 || st.st_size > KURA_BACKUP_SMALL_FILE_MAX ||
	    !(manifest = json_load_file(path, 0, NULL)) ||
	    !json_is_string(json_object_get(manifest, "format")) ||
	    strcmp(json_string_value(json_object_get(manifest, "format")), FORMAT)) {
		str_printf(err, sizeof(err), "%s is not a complete snapshot of format %s", snap, FORMAT);
		say("restore", err);
		goto out;
	}
	/* the keys: the snapshot's own (--include-keys), else the operator's copy */
	cli_path(keydir, sizeof(keydir), snap, "keys");
	if (keys)
		str_copy(keydir, sizeof(keydir), keys);
	cli_path(path, sizeof(path), keydir, "master.key");
	if (access(path, R_OK) < 0) {
		str_printf(err, sizeof(err), "the snapshot holds no keys: give --keys DIR, a folder with this"
			   " deployment's master.key and signing.key");
		say("restore", err);
		goto out;
	}
	buf = malloc(COPY_BUF);
	if (!buf || make_dir(data) < 0) {
		str_printf(err, sizeof(err), "cannot create %s", data);
		say("restore", err);
		goto out;
	}
	/* the database: its recorded hash, then integrity */
	cli_path(path, sizeof(path), snap, "kura.db");
	cli_path(path2, sizeof(path2), data, "kura.db");
	r = copy_verified(path, path2, json_string_value(json_object_get(json_object_get(manifest, "database"),
								       "sha256")),
			  buf, hex, &size);
	if (r == 0)
		r = db_integrity_check(path2, err, sizeof(err));
	if (r < 0) {
		if (!err[0] || r == -EBADMSG)
			str_printf(err, sizeof(err), "the database of %s: %s", snap,
				   r == -EBADMSG ? "damaged (hash or integrity_check)" : strerror(-r));
		say("restore", err);
		goto out;
	}
	r = restore_blobs(from, snap, data, buf, &c, err, sizeof(err));
	if (r < 0) {
		say("restore", err[0] ? err : strerror(-r));
		goto out;
	}
	r = copy_small(snap, "kura.conf", data, buf);
	if (r == 0)
		r = copy_small(snap, "signing.pub", data, buf);
	if (r == 0 && (r = copy_small(snap, "signing-keys.pub", data, buf)) == -ENOENT)
		r = 0;
	cli_path(path, sizeof(path), data, "tls");
	if (r == 0 && (r = make_dir(path)) == 0 && (r = copy_small(snap, "tls/cert.pem", data, buf)) == -ENOENT)
		r = 0;
	if (r == 0)
		r = copy_small(keydir, "master.key", data, buf);
	if (r == 0)
		r = copy_small(keydir, "signing.key", data, buf);
	if (r == 0 && (r = copy_small(keydir, "tls/key.pem", data, buf)) == -ENOENT)
		r = 0;
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot restore the settings and keys: %s", strerror(-r));
		say("restore", err);
		goto out;
	}
	/* the master key must be the one this database was made with */
	cli_path(path, sizeof(path), data, "master.key");
	r = keyfile_load(path, MASTER_KEY_BYTES, &master);
	cli_path(path2, sizeof(path2), data, "kura.db");
	db = r == 0 ? db_open(path2, err, sizeof(err)) : NULL;
	r = db ? keycheck_master(db, master) : -EIO;
	if (r < 0) {
		db = db_close(db);
		str_printf(err, sizeof(err), r == -EKEYREJECTED ? "%s/master.key is not the master key of this backup's"
				 " database: give the right one with --keys" : "cannot check the master key in %s: %s",
			   keydir, strerror(-r));
		say("restore", err);
		goto out;
	}
	/* the erasure ledger: every copy known, applied before the directory is ever served */
	{
		char in_snap[PATH_MAX], in_pool[PATH_MAX];

		cli_path(in_snap, sizeof(in_snap), snap, LIFECYCLE_LEDGER_FILE);
		cli_path(in_pool, sizeof(in_pool), from, LIFECYCLE_LEDGER_FILE);
		cli_path(path, sizeof(path), data, LIFECYCLE_LEDGER_FILE);
		r = ledger_write(path, (const char *const[]){ in_snap, in_pool, ledger, NULL }, &ledger_lines);
		if (r == 0)
			r = erasure_ledger_apply(db, data, &erased_keys);
	}
	if (r < 0) {
		db = db_close(db);
		str_printf(err, sizeof(err), "cannot apply the erasure ledger: %s", strerror(-r));
		say("restore", err);
		goto out;
	}
	/* a new deployment: the nodes of the copied one run none of its background jobs */
	r = db_lease_forget_all(db);
	db = db_close(db);
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot end the copied database's job leases: %s", strerror(-r));
		say("restore", err);
		goto out;
	}
	printf("restored: %s\ninto: %s\ndatabase: integrity ok, master key matches\nblobs: %lld (%lld bytes), "
	       "each checked against its SHA-256\nerasure ledger: %ld entries, %lld keys of erased tenants destroyed"
	       " in this copy%s\n", snap, data, (long long)c.blobs, (long long)c.bytes, ledger_lines,
	       (long long)erased_keys, erased_keys ? " (kura serve completes their erasure before it serves)" : "");
	ret = 0;
out:
	keyfile_free(master, MASTER_KEY_BYTES);
	json_decref(manifest);
	free(buf);
	return ret;
}
