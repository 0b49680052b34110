/*
 * Local-filesystem blob backend.
 *
 * Layout: DIR/<tenant_id>/<id>, each tenant in its own directory (0700), blobs 0600.
 * Put: DIR/<tenant_id>/.tmp-<id> created O_EXCL|O_CLOEXEC|O_NOFOLLOW in the same directory,
 * written, fsync'ed, renamed over nothing (link-free rename to <id>, which cannot exist:
 * ids are 128 random bits), then the directory fsync'ed; only then does commit return 0.
 * A crash before the rename leaves a .tmp- file, invisible under any id: removed at the next
 * open when older than KURA_BLOB_TMP_STALE_S, and all of them by blob_sweep_tmp(), which
 * kura serve calls under its data directory lock. A crash after the directory fsync cannot
 * lose the blob; one before its row committed leaves an unreferenced blob, which the files
 * service's start-up sweep removes (blob_foreach).
 *
 * Large blobs (issue 11): the disk writes of every KURA_BLOB_WRITEBACK_BYTES start as they
 * are written (sync_file_range SYNC_FILE_RANGE_WRITE, no wait), so the fsync at commit finds
 * little left; past KURA_BLOB_WRITE_BUFFER the writes run on a thread of the writer's own
 * ("write-behind" below). Neither changes the contract: commit returns 0 only after the
 * file's fsync, the rename and the directory's fsync, and a failed write or writeback fails
 * the writer for good.
 *
 * While kura backup holds DIR/.backup-hold locked, a deletion renames the blob to
 * DIR/<tenant_id>/.held-<id> instead (the backup's database copy may still name it; the
 * backup removes the held blobs when it ends; blob.h, docs/operations.md).
 *
 * SECURITY: ids come from the store (random hex) and are checked for shape before they
 * reach a path, so no caller-provided string becomes a path component; tenant ids are
 * integers. fsync failure is fatal to the write: the temporary file is unlinked and the
 * error returned; nothing retries it (the page cache may have dropped the dirty pages).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "blob/blob_int.h"
#include "core/limits.h"
#include "core/log.h"

#define TMP_PREFIX ".tmp-"
#define PART_PREFIX ".part-"

struct local_store {
	struct blob_store base;
	char dir[PATH_MAX];
	int dir_fd;
};

struct local_writer {
	struct blob_writer base;
	struct local_store *bs;
	int64_t tenant_id;
	int fd;
	bool failed;
	bool part;                   /* tmp_path is a part: kept on abort */
	uint64_t size;
	uint64_t opened_at;          /* size when opened (a part's kept bytes) */
	uint64_t disk;               /* bytes handed to the file (the rest is in buf[cur]) */
	uint64_t wb_from;            /* writeback started for the bytes before this offset */
	/* write-behind (large blobs): two buffers, one thread */
	bool behind, no_behind, stop;
	unsigned char *buf[2];
	int cur;
	size_t n_cur;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const unsigned char *job;    /* the buffer the thread writes, NULL when idle */
	size_t job_n;
	uint64_t job_off;
	int behind_err;
	char id[BLOB_ID_LEN + 1];
	char tmp_path[PATH_MAX], path[PATH_MAX];
};

struct local_reader {
	struct blob_reader base;
	int fd;
	uint64_t size;
};

static const struct blob_ops local_ops;
static struct local_reader *local_reader_close(struct local_reader *r);

/* ---- helpers ---- */

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int tenant_dir(struct local_store *bs, int64_t tenant_id, char *buf, size_t size, bool create)
{
	int r;

	if (tenant_id <= 0)
		return -EINVAL;
	r = str_printf(buf, size, "%s/%lld", bs->dir, (long long)tenant_id);
	if (r < 0 || !create)
		return r;
	if (mkdir(buf, 0700) == 0)
		return fsync_dir(bs->dir);   /* the new directory entry must be durable too */
	return errno == EEXIST ? 0 : -errno;
}

/* Removes .tmp- files in one tenant directory left by a crash: those not written for
 * KURA_BLOB_TMP_STALE_S, so that a second process opening the store (or a restart while an
 * old process still finishes) never removes an upload that is still being written. */
static void sweep_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct stat st;
	char p[PATH_MAX];
	time_t stale = time(NULL) - KURA_BLOB_TMP_STALE_S;
	unsigned n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		if (str_printf(p, sizeof(p), "%s/%s", path, de->d_name) == 0 &&
		    lstat(p, &st) == 0 && st.st_mtime < stale && unlink(p) == 0)
			n++;
	}
	closedir(d);
	if (n) {
		if (fsync_dir(path) < 0)
			log_warn("blob.sweep", "fsync of %s failed", path);
		log_info("blob.sweep", "removed %u unfinished blob(s) in %s", n, path);
	}
}

static void sweep(struct local_store *bs)
{
	DIR *d = opendir(bs->dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (str_printf(p, sizeof(p), "%s/%s", bs->dir, de->d_name) == 0)
			sweep_dir(p);
	}
	closedir(d);
}

/* True for a tenant directory's name: a positive decimal tenant id. */
static bool tenant_dir_name(const char *name, int64_t *ret)
{
	return name[0] >= '1' && name[0] <= '9' && safe_atoi64(name, ret) == 0 && *ret > 0;
}

static int local_sweep_tmp(struct local_store *bs, unsigned *ret_n)
{
	DIR *d, *td;
	struct dirent *de, *te;
	char p[PATH_MAX], f[PATH_MAX];
	unsigned n = 0;
	int64_t tid;
	int r = 0;

	if (!bs)
		return -EINVAL;
	d = opendir(bs->dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		unsigned here = 0;

		if (!tenant_dir_name(de->d_name, &tid) ||
		    str_printf(p, sizeof(p), "%s/%s", bs->dir, de->d_name) < 0 || !(td = opendir(p)))
			continue;
		while ((te = readdir(td)) != NULL) {
			if (strncmp(te->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) ||
			    str_printf(f, sizeof(f), "%s/%s", p, te->d_name) < 0)
				continue;
			if (unlink(f) == 0)
				here++;
			else if (r == 0)
				r = -errno;
		}
		closedir(td);
		if (here && fsync_dir(p) < 0 && r == 0)
			r = -EIO;
		n += here;
	}
	closedir(d);
	if (n)
		log_info("blob.sweep", "removed %u temporary file(s) of unfinished uploads", n);
	if (ret_n)
		*ret_n = n;
	return r;
}

static int local_foreach(struct local_store *bs, blob_each_fn fn, void *ctx)
{
	DIR *d, *td;
	struct dirent *de, *te;
	struct stat st;
	char p[PATH_MAX], f[PATH_MAX];
	int64_t tid;
	int r = 0;

	if (!bs || !fn)
		return -EINVAL;
	d = opendir(bs->dir);
	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!tenant_dir_name(de->d_name, &tid) ||
		    str_printf(p, sizeof(p), "%s/%s", bs->dir, de->d_name) < 0 || !(td = opendir(p)))
			continue;
		while (r == 0 && (te = readdir(td)) != NULL) {
			if (!blob_id_valid(te->d_name) || str_printf(f, sizeof(f), "%s/%s", p, te->d_name) < 0 ||
			    lstat(f, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			r = fn(ctx, tid, te->d_name,
			       (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000);
		}
		closedir(td);
	}
	closedir(d);
	return r;
}

/* ---- store ---- */

struct blob_store *blob_open_local(const char *dir, char *err, size_t err_size)
{
	struct local_store *bs = calloc(1, sizeof(*bs));

	if (!bs) {
		str_copy(err, err_size, "out of memory");
		return NULL;
	}
	bs->dir_fd = -1;
	if (str_copy(bs->dir, sizeof(bs->dir), dir) < 0) {
		str_printf(err, err_size, "blob directory path too long");
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		str_printf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	bs->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bs->dir_fd < 0) {
		str_printf(err, err_size, "cannot open %s: %s", dir, strerror(errno));
		goto fail;
	}
	bs->base.ops = &local_ops;
	sweep(bs);
	blob_fault_from_env();
	return &bs->base;
fail:
	free(bs);
	return NULL;
}

static struct local_store *local_close(struct local_store *bs)
{
	if (bs) {
		if (bs->dir_fd >= 0)
			close(bs->dir_fd);
		free(bs);
	}
	return NULL;
}

/* ---- put ---- */

static int local_writer_open(struct local_store *bs, int64_t tenant_id, struct local_writer **ret)
{
	struct local_writer *w;
	unsigned char raw[BLOB_ID_LEN / 2];
	char dir[PATH_MAX];
	int r;

	if (!bs || !ret)
		return -EINVAL;
	r = tenant_dir(bs, tenant_id, dir, sizeof(dir), true);
	if (r < 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->base.ops = &local_ops;
	w->bs = bs;
	w->tenant_id = tenant_id;
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), w->id);
	if (str_printf(w->tmp_path, sizeof(w->tmp_path), "%s/" TMP_PREFIX "%s", dir, w->id) < 0 ||
	    str_printf(w->path, sizeof(w->path), "%s/%s", dir, w->id) < 0) {
		free(w);
		return -ENAMETOOLONG;
	}
	w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

static const char *local_writer_id(const struct local_writer *w)
{
	return w->id;
}

static uint64_t local_writer_size(const struct local_writer *w)
{
	return w->size;
}

/* Starts the disk writes of every full KURA_BLOB_WRITEBACK_BYTES written before end since
 * the last start, without waiting for them: the fsync at commit then finds little left to
 * write, and the disk works while the rest arrives. Durability is unchanged: commit still
 * fsyncs before it returns. A failure fails the writer for good, like a failed fsync. */
static int writeback(struct local_writer *w, uint64_t end)
{
	uint64_t n = end - w->wb_from;

	if (n < KURA_BLOB_WRITEBACK_BYTES)
		return 0;
	n -= n % KURA_BLOB_WRITEBACK_BYTES;
	if (sync_file_range(w->fd, (off_t)w->wb_from, (off_t)n, SYNC_FILE_RANGE_WRITE) < 0 &&
	    errno != ESPIPE && errno != EINVAL) {
		log_error("blob.write", "writeback of %s failed: %s", w->tmp_path, strerror(errno));
		return -EIO;
	}
	w->wb_from += n;
	return 0;
}

/* Writes n bytes at offset off, then starts the writeback of what is complete. */
static int write_at(struct local_writer *w, const unsigned char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t k;

		if (blob_fault_hit(BLOB_FAULT_PWRITE))
			return -ENOSPC;
		k = pwrite(w->fd, p, n, (off_t)off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return writeback(w, off);
}

/* ---- write-behind: a large blob's writes run on a thread of their own ----
 * Once a writer has taken KURA_BLOB_WRITE_BUFFER bytes, what arrives is gathered into one of two
 * buffers of that size; a full buffer goes to the writer's thread, which writes it (and
 * starts its writeback) while the request's thread receives and encrypts the next. At most
 * one buffer is in flight, so a writer holds 2 x KURA_BLOB_WRITE_BUFFER; at most
 * KURA_BLOB_WRITE_THREADS such threads run in the process (beyond it, and for small blobs,
 * the request's thread writes itself, as before). A failure of the thread is sticky and
 * comes back from the next blob_write or from commit; commit waits for the thread, then
 * fsyncs as before. */
static atomic_int behind_threads;

/* The buffers are mapped, not malloc'ed: they go back to the system when the blob is done
 * instead of staying in the arena of whichever worker thread ran the upload. */
static unsigned char *buf_new(void)
{
	void *p = mmap(NULL, KURA_BLOB_WRITE_BUFFER, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void buf_free(unsigned char *p)
{
	if (p)
		munmap(p, KURA_BLOB_WRITE_BUFFER);
}

static void *behind_main(void *cls)
{
	struct local_writer *w = cls;

	pthread_setname_np(pthread_self(), "kura-blobwrite");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->job && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->job)
			break;
		{
			const unsigned char *p = w->job;
			size_t n = w->job_n;
			uint64_t off = w->job_off;
			int r;

			pthread_mutex_unlock(&w->mu);
			r = write_at(w, p, n, off);
			pthread_mutex_lock(&w->mu);
			if (r < 0 && w->behind_err == 0)
				w->behind_err = r;
			w->job = NULL;
			pthread_cond_broadcast(&w->cv);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until the thread holds no buffer; its sticky error or 0. */
static int behind_idle(struct local_writer *w)
{
	int r;

	pthread_mutex_lock(&w->mu);
	while (w->job)
		pthread_cond_wait(&w->cv, &w->mu);
	r = w->behind_err;
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* Ends the thread (after its buffer is written); its sticky error or 0. */
static int behind_stop(struct local_writer *w)
{
	int r;

	if (!w->behind)
		return 0;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	atomic_fetch_sub(&behind_threads, 1);
	w->behind = false;
	r = w->behind_err;
	return r;
}

/* Starts buffering and the thread for a blob that just grew past KURA_BLOB_WRITE_BUFFER;
 * false (keep writing directly) when the process runs its most threads or memory is short. */
static bool behind_start(struct local_writer *w)
{
	if (atomic_fetch_add(&behind_threads, 1) >= KURA_BLOB_WRITE_THREADS)
		goto no;
	w->buf[0] = buf_new();
	w->buf[1] = buf_new();
	if (!w->buf[0] || !w->buf[1] || pthread_mutex_init(&w->mu, NULL) != 0)
		goto no_mem;
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		goto no_mem;
	}
	if (pthread_create(&w->thread, NULL, behind_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		goto no_mem;
	}
	w->behind = true;
	w->cur = 0;
	w->n_cur = 0;
	return true;
no_mem:
	buf_free(w->buf[0]);
	buf_free(w->buf[1]);
	w->buf[0] = w->buf[1] = NULL;
no:
	atomic_fetch_sub(&behind_threads, 1);
	w->no_behind = true;
	return false;
}

/* Hands the current buffer to the thread (waiting for the one before) and switches to the
 * other. */
static int behind_hand(struct local_writer *w)
{
	int r = behind_idle(w);

	if (r < 0)
		return r;
	pthread_mutex_lock(&w->mu);
	w->job = w->buf[w->cur];
	w->job_n = w->n_cur;
	w->job_off = w->disk;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->disk += w->n_cur;
	w->cur ^= 1;
	w->n_cur = 0;
	return 0;
}

/* Everything accepted is in the file (not yet durable): the thread idle, the partial
 * buffer written by the caller. */
static int behind_flush(struct local_writer *w)
{
	int r;

	if (!w->behind)
		return 0;
	r = behind_idle(w);
	if (r == 0 && w->n_cur > 0)
		r = write_at(w, w->buf[w->cur], w->n_cur, w->disk);
	if (r == 0) {
		w->disk += w->n_cur;
		w->n_cur = 0;
	}
	return r;
}

static int local_write(struct local_writer *w, const void *data, size_t n)
{
	const unsigned char *p = data;
	int r = 0;

	if (!w || w->failed || w->fd < 0)
		return -EINVAL;
	if (blob_fault_hit(BLOB_FAULT_WRITE)) {
		r = -ENOSPC;
		goto fail;
	}
	if (!w->behind && !w->no_behind && w->size - w->opened_at + n > KURA_BLOB_WRITE_BUFFER)
		(void)behind_start(w);
	if (!w->behind) {
		r = write_at(w, p, n, w->disk);
		if (r < 0)
			goto fail;
		w->disk += n;
		w->size += n;
		return 0;
	}
	while (n > 0) {
		size_t take = KURA_BLOB_WRITE_BUFFER - w->n_cur;

		if (take > n)
			take = n;
		memcpy(w->buf[w->cur] + w->n_cur, p, take);
		w->n_cur += take;
		w->size += take;
		p += take;
		n -= take;
		if (w->n_cur == KURA_BLOB_WRITE_BUFFER && (r = behind_hand(w)) < 0)
			goto fail;
	}
	return 0;
fail:
	w->failed = true;
	return r;
}

static void writer_free(struct local_writer *w, bool remove_tmp)
{
	(void)behind_stop(w);
	buf_free(w->buf[0]);
	buf_free(w->buf[1]);
	if (w->fd >= 0)
		close(w->fd);
	if (remove_tmp)
		unlink(w->tmp_path);
	free(w);
}

static int local_commit(struct local_writer *w)
{
	char dir[PATH_MAX];
	int r;

	if (!w)
		return -EINVAL;
	if (w->failed) {
		writer_free(w, !w->part);
		return -EIO;
	}
	r = behind_flush(w);
	if (r == 0)
		r = behind_stop(w);
	if (r < 0) {
		log_error("blob.write", "write of %s failed: %s", w->tmp_path, strerror(-r));
		goto fail;
	}
	if (blob_fault_hit(BLOB_FAULT_FSYNC)) {
		r = -EIO;
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		r = -errno;      /* fatal: never retried */
		log_error("blob.fsync", "fsync of %s failed: %s", w->tmp_path, strerror(-r));
		goto fail;
	}
	r = close(w->fd) < 0 ? -errno : 0;
	w->fd = -1;
	if (r < 0)
		goto fail;
	if (blob_fault_hit(BLOB_FAULT_RENAME)) {
		r = -EIO;
		goto fail;
	}
	if (renameat2(AT_FDCWD, w->tmp_path, AT_FDCWD, w->path, RENAME_NOREPLACE) < 0) {
		r = -errno;
		goto fail;
	}
	r = tenant_dir(w->bs, w->tenant_id, dir, sizeof(dir), false);
	if (r == 0)
		r = blob_fault_hit(BLOB_FAULT_FSYNC) ? -EIO : fsync_dir(dir);
	if (r < 0) {
		/* the rename may or may not be durable: take it back so the caller's "failed"
		 * is true; a crash now leaves at most an unreferenced blob, never a missing one */
		log_error("blob.fsync", "directory fsync after %s failed: %s", w->path, strerror(-r));
		unlink(w->path);
		goto fail;
	}
	buf_free(w->buf[0]);
	buf_free(w->buf[1]);
	free(w);
	return 0;
fail:
	writer_free(w, !w->part);
	return r;
}

static struct local_writer *local_abort(struct local_writer *w)
{
	if (w)
		writer_free(w, !w->part);
	return NULL;
}

static int part_path(struct local_store *bs, int64_t tenant_id, const char *part_id, bool create,
		     char *dir, size_t dir_size, char *buf, size_t size)
{
	int r;

	if (!bs || !blob_id_valid(part_id))
		return -EINVAL;
	r = tenant_dir(bs, tenant_id, dir, dir_size, create);
	if (r == 0)
		r = str_printf(buf, size, "%s/" PART_PREFIX "%s", dir, part_id);
	return r;
}

static int local_part_open(struct local_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
		   struct local_writer **ret)
{
	struct local_writer *w;
	unsigned char raw[BLOB_ID_LEN / 2];
	char dir[PATH_MAX];
	struct stat st;
	int r;

	if (!ret || keep > (uint64_t)INT64_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->base.ops = &local_ops;
	w->bs = bs;
	w->tenant_id = tenant_id;
	w->part = true;
	r = part_path(bs, tenant_id, part_id, true, dir, sizeof(dir), w->tmp_path, sizeof(w->tmp_path));
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), w->id);
	if (r == 0)
		r = str_printf(w->path, sizeof(w->path), "%s/%s", dir, w->id);
	if (r < 0)
		goto fail;
	if (keep == 0) {
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0 || fsync_dir(dir) < 0) {
			r = -errno;
			goto fail;
		}
	} else {
		w->fd = open(w->tmp_path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (w->fd < 0 || fstat(w->fd, &st) < 0) {
			r = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < keep) {
			r = -ENOENT;
			goto fail;
		}
		if ((uint64_t)st.st_size > keep && ftruncate(w->fd, (off_t)keep) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (lseek(w->fd, (off_t)keep, SEEK_SET) < 0) {
		r = -errno;
		goto fail;
	}
	w->size = keep;
	w->opened_at = keep;   /* a short PATCH on a long part is written directly */
	w->disk = keep;
	w->wb_from = keep;
	*ret = w;
	return 0;
fail:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return r;
}

static int local_part_sync(struct local_writer *w)
{
	if (!w || !w->part || w->failed || w->fd < 0)
		return -EINVAL;
	if (behind_flush(w) < 0 || blob_fault_hit(BLOB_FAULT_FSYNC) || fsync(w->fd) < 0) {
		w->failed = true;      /* fatal: never retried */
		log_error("blob.fsync", "fsync of %s failed", w->tmp_path);
		return -EIO;
	}
	return 0;
}

static int local_part_delete(struct local_store *bs, int64_t tenant_id, const char *part_id)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int r = part_path(bs, tenant_id, part_id, false, dir, sizeof(dir), path, sizeof(path));

	if (r < 0)
		return r;
	if (unlink(path) < 0)
		return -errno;
	return fsync_dir(dir);
}

/* ---- get ---- */

static int blob_path(struct local_store *bs, int64_t tenant_id, const char *id, char *buf, size_t size)
{
	char dir[PATH_MAX];
	int r;

	if (!bs || !blob_id_valid(id))
		return -EINVAL;
	r = tenant_dir(bs, tenant_id, dir, sizeof(dir), false);
	if (r == 0)
		r = str_printf(buf, size, "%s/%s", dir, id);
	return r;
}

static int local_reader_open(struct local_store *bs, int64_t tenant_id, const char *id,
		     struct local_reader **ret)
{
	struct local_reader *rd;
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = blob_path(bs, tenant_id, id, path, sizeof(path));
	if (r < 0)
		return r;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->base.ops = &local_ops;
	rd->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (rd->fd < 0 || fstat(rd->fd, &st) < 0) {
		r = -errno;
		local_reader_close(rd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		local_reader_close(rd);
		return -EIO;
	}
	rd->size = (uint64_t)st.st_size;
	*ret = rd;
	return 0;
}

static uint64_t local_reader_size(const struct local_reader *r)
{
	return r->size;
}

static int local_read_at(struct local_reader *r, uint64_t offset, void *buf, size_t n, size_t *ret_n)
{
	unsigned char *p = buf;
	size_t done = 0;

	if (!r || offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	while (done < n) {
		ssize_t k = pread(r->fd, p + done, n - done, (off_t)(offset + done));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	*ret_n = done;
	return 0;
}

static struct local_reader *local_reader_close(struct local_reader *r)
{
	if (r) {
		if (r->fd >= 0)
			close(r->fd);
		free(r);
	}
	return NULL;
}

/* Is a kura backup running on this store (DIR/.backup-hold locked)? Then a deleted blob is
 * kept as .held-<id> until the backup ends, since the database copy it took may still name
 * it (docs/operations.md "Backup and restore"). */
static bool backup_holds(struct local_store *bs)
{
	int fd = openat(bs->dir_fd, BLOB_BACKUP_HOLD, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool held = false;

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static int local_delete(struct local_store *bs, int64_t tenant_id, const char *id)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = blob_path(bs, tenant_id, id, path, sizeof(path));

	if (r < 0)
		return r;
	if (backup_holds(bs)) {
		char held[PATH_MAX];

		r = tenant_dir(bs, tenant_id, dir, sizeof(dir), false);
		if (r == 0 && str_printf(held, sizeof(held), "%s/" BLOB_HELD_PREFIX "%s", dir, id) < 0)
			r = -ENAMETOOLONG;
		if (r < 0)
			return r;
		if (rename(path, held) < 0)
			return -errno;
		return fsync_dir(dir);
	}
	if (unlink(path) < 0)
		return -errno;
	r = tenant_dir(bs, tenant_id, dir, sizeof(dir), false);
	return r < 0 ? r : fsync_dir(dir);
}

static int local_delete_tenant(struct local_store *bs, int64_t tenant_id, unsigned *ret_n)
{
	char dir[PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;
	int r = tenant_dir(bs, tenant_id, dir, sizeof(dir), false), dfd;

	*ret_n = 0;
	if (r < 0)
		return r;
	dfd = openat(bs->dir_fd, dir + strlen(bs->dir) + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	/* every entry is a regular file kura wrote (ids, .tmp-, .part-); nothing nests */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
		n++;
	}
	if (r == 0 && fsync(dirfd(d)) < 0)
		r = -errno;
	closedir(d);
	if (r == 0 && unlinkat(bs->dir_fd, dir + strlen(bs->dir) + 1, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	if (r == 0)
		r = fsync_dir(bs->dir);
	*ret_n = n;
	return r;
}

/* ---- the ops table (blob_int.h): the public calls of blob.h land here through blob.c ---- */

#define LS(b) ((struct local_store *)(void *)(b))
#define LW(b) ((struct local_writer *)(void *)(b))
#define LR(b) ((struct local_reader *)(void *)(b))

static void op_close(struct blob_store *bs)
{
	local_close(LS(bs));
}

static int op_writer_open(struct blob_store *bs, int64_t tenant_id, struct blob_writer **ret)
{
	struct local_writer *w;
	int r = local_writer_open(LS(bs), tenant_id, &w);

	if (r == 0)
		*ret = &w->base;
	return r;
}

static const char *op_writer_id(const struct blob_writer *w)
{
	return local_writer_id((const struct local_writer *)(const void *)w);
}

static uint64_t op_writer_size(const struct blob_writer *w)
{
	return local_writer_size((const struct local_writer *)(const void *)w);
}

static int op_write(struct blob_writer *w, const void *data, size_t n)
{
	return local_write(LW(w), data, n);
}

static int op_commit(struct blob_writer *w)
{
	return local_commit(LW(w));
}

static void op_abort(struct blob_writer *w)
{
	local_abort(LW(w));
}

static int op_part_open(struct blob_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
			struct blob_writer **ret)
{
	struct local_writer *w;
	int r = local_part_open(LS(bs), tenant_id, part_id, keep, &w);

	if (r == 0)
		*ret = &w->base;
	return r;
}

static int op_part_sync(struct blob_writer *w)
{
	return local_part_sync(LW(w));
}

static int op_part_delete(struct blob_store *bs, int64_t tenant_id, const char *part_id)
{
	return local_part_delete(LS(bs), tenant_id, part_id);
}

static int op_reader_open(struct blob_store *bs, int64_t tenant_id, const char *id, struct blob_reader **ret)
{
	struct local_reader *r;
	int k = local_reader_open(LS(bs), tenant_id, id, &r);

	if (k == 0)
		*ret = &r->base;
	return k;
}

static uint64_t op_reader_size(const struct blob_reader *r)
{
	return local_reader_size((const struct local_reader *)(const void *)r);
}

static int op_read_at(struct blob_reader *r, uint64_t offset, void *buf, size_t n, size_t *ret_n)
{
	return local_read_at(LR(r), offset, buf, n, ret_n);
}

static void op_reader_close(struct blob_reader *r)
{
	local_reader_close(LR(r));
}

static int op_sweep_tmp(struct blob_store *bs, unsigned *ret_n)
{
	return local_sweep_tmp(LS(bs), ret_n);
}

static int op_foreach(struct blob_store *bs, blob_each_fn fn, void *ctx)
{
	return local_foreach(LS(bs), fn, ctx);
}

static int op_delete(struct blob_store *bs, int64_t tenant_id, const char *id)
{
	return local_delete(LS(bs), tenant_id, id);
}

static int op_delete_tenant(struct blob_store *bs, int64_t tenant_id, unsigned *ret_n)
{
	return local_delete_tenant(LS(bs), tenant_id, ret_n);
}

static const struct blob_ops local_ops = {
	.name = "local", .shared = false,
	.close = op_close, .writer_open = op_writer_open, .writer_id = op_writer_id,
	.writer_size = op_writer_size, .write = op_write, .commit = op_commit, .abort = op_abort,
	.part_open = op_part_open, .part_sync = op_part_sync, .part_delete = op_part_delete,
	.reader_open = op_reader_open, .reader_size = op_reader_size, .read_at = op_read_at,
	.reader_close = op_reader_close, .sweep_tmp = op_sweep_tmp, .foreach = op_foreach,
	.delete = op_delete, .delete_tenant = op_delete_tenant,
};
