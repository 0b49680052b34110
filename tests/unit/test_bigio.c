/* Unit tests for the large-transfer paths (issue 11) on a real SQLite database and blob
 * directory: the download read-ahead (files_reader_readahead: in-order reads, ranges across
 * chunk edges, out-of-order reads, a tampered chunk refused before any of its bytes, a
 * reader closed midway leaves no thread, the process-wide thread bound) and the local blob
 * write-behind (blob_local.c: content, a failed write, an abort midway, parts). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "blob/blob.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/filecrypt.h"
#include "crypto/keyring_rt.h"
#include "files/files.h"
#include "store/db.h"
#include "tenant/tenant.h"

static struct {
	char dir[64], blobdir[96];
	struct db *db;
	unsigned char master[MASTER_KEY_BYTES];
	struct blob_store *bs;
	struct keyring_rt *kr;
	struct files *f;
	struct tenant t;
	int64_t root;
} fx;

static const struct actor tester = { ACTOR_ACCOUNT, 0, 0, "tester", "127.0.0.1", "unit" };

/* 3 MiB and a bit: 49 chunks, the last one short */
#define BIG ((size_t)(3 * 1024 * 1024 + 12345))
#define CH FILECRYPT_CHUNK

static unsigned char *big_data;

/* Threads of this process (/proc/self/task). */
static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int64_t upload(const char *name, const unsigned char *data, size_t n)
{
	struct files_upload *u = NULL;
	struct file_node node;
	size_t off = 0;

	assert_int_equal(files_upload_begin(fx.f, fx.db, fx.t.id, fx.root, name, "application/octet-stream",
					    -1, false, &u), 0);
	while (off < n) {
		size_t k = n - off < 61000 ? n - off : 61000;   /* like MHD's pieces: not chunk-sized */

		assert_int_equal(files_upload_write(u, data + off, k), 0);
		off += k;
	}
	assert_int_equal(files_upload_commit(u, fx.db, &tester, &node, NULL), 0);
	return node.id;
}

/* What http_file_download does: probe the first byte (checks the first chunk before the
 * answer starts), start the read-ahead, then read the body in blocks. */
static struct files_reader *open_like_download(int64_t id, uint64_t start, uint64_t len, bool *ret_ra)
{
	struct files_reader *r = NULL;
	unsigned char probe[1];
	size_t got = 0;

	assert_int_equal(files_open(fx.f, fx.db, fx.t.id, id, NULL, &r), 0);
	assert_int_equal(files_read(r, start, probe, 1, &got), 0);
	assert_int_equal(got, 1);
	*ret_ra = files_reader_readahead(r, start, len);
	return r;
}

/* Reads [start, start+len) in blocks of `block` and compares with data. */
static void read_range(int64_t id, uint64_t start, uint64_t len, size_t block)
{
	unsigned char *buf = malloc(block);
	int before = threads();
	uint64_t pos = 0;
	bool ra = false;
	struct files_reader *r = open_like_download(id, start, len, &ra);

	assert_non_null(buf);
	assert_true(ra);
	assert_int_equal(threads(), before + 1);
	while (pos < len) {
		size_t want = len - pos < block ? (size_t)(len - pos) : block, got = 0;

		assert_int_equal(files_read(r, start + pos, buf, want, &got), 0);
		assert_int_equal(got, want);
		assert_memory_equal(buf, big_data + start + pos, want);
		pos += got;
	}
	files_reader_close(r);
	assert_int_equal(threads(), before);
	free(buf);
}

static void test_readahead_in_order(void **state)
{
	int64_t id;

	(void)state;
	id = upload("ra.bin", big_data, BIG);
	read_range(id, 0, BIG, 256 * 1024);                    /* the whole file, MHD's block */
	read_range(id, 3 * CH - 7, BIG - 3 * CH - 93, 256 * 1024);   /* a range across chunk edges */
	read_range(id, 5 * CH + 1, 2 * 1024 * 1024, 100003);   /* odd blocks, ends mid-chunk */
	read_range(id, BIG - KURA_READAHEAD_MIN_BYTES, KURA_READAHEAD_MIN_BYTES, 4096);   /* the tail */
}

/* A read that is not the next in order stops the read-ahead; the reads stay right. */
static void test_readahead_out_of_order(void **state)
{
	unsigned char buf[70000];
	int before = threads();
	int64_t id;
	size_t got = 0;
	bool ra = false;
	struct files_reader *r;

	(void)state;
	id = upload("ooo.bin", big_data, BIG);
	r = open_like_download(id, 0, BIG, &ra);
	assert_true(ra);
	assert_int_equal(files_read(r, 0, buf, sizeof(buf), &got), 0);
	assert_memory_equal(buf, big_data, sizeof(buf));
	assert_int_equal(files_read(r, 20 * CH + 5, buf, sizeof(buf), &got), 0);   /* a jump */
	assert_int_equal(got, sizeof(buf));
	assert_memory_equal(buf, big_data + 20 * CH + 5, sizeof(buf));
	assert_int_equal(threads(), before);                   /* stopped, joined */
	assert_int_equal(files_read(r, 100, buf, sizeof(buf), &got), 0);   /* back */
	assert_memory_equal(buf, big_data + 100, sizeof(buf));
	files_reader_close(r);
}

static void blob_path_of(int64_t id, char *path, size_t size)
{
	struct db_stmt *st = db_query(fx.db, "SELECT blob_id FROM file_nodes WHERE tenant_id = $1 AND id = $2",
				      "ii", fx.t.id, id);

	assert_int_equal(db_step(st), 1);
	snprintf(path, size, "%s/%lld/%s", fx.blobdir, (long long)fx.t.id, db_text(st, 0));
	db_done(st);
}

/* A chunk whose tag fails is refused by the reader before any byte of it comes out, also
 * when the read-ahead decrypted it on its own thread; the chunks before it read fine. */
static void test_readahead_tampered(void **state)
{
	const uint64_t bad = 10;
	unsigned char buf[CH], zero[CH];
	char path[256];
	int64_t id;
	uint64_t i;
	size_t got;
	bool ra = false;
	struct files_reader *r;
	int fd;
	unsigned char c;

	(void)state;
	memset(zero, 0, sizeof(zero));
	id = upload("bad.bin", big_data, BIG);
	blob_path_of(id, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, FILECRYPT_HEADER_BYTES + bad * FILECRYPT_RECORD + 100), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, FILECRYPT_HEADER_BYTES + bad * FILECRYPT_RECORD + 100), 1);
	close(fd);

	r = open_like_download(id, 0, BIG, &ra);
	assert_true(ra);
	for (i = 0; i < bad; i++) {
		assert_int_equal(files_read(r, i * CH, buf, CH, &got), 0);
		assert_memory_equal(buf, big_data + i * CH, CH);
	}
	memset(buf, 0, sizeof(buf));
	got = 12345;
	assert_int_equal(files_read(r, bad * CH, buf, CH, &got), -EBADMSG);
	assert_int_equal(got, 12345);                          /* nothing reported read */
	assert_memory_equal(buf, zero, CH);                    /* and nothing of it written */
	/* the same again, and the chunk after it is still fine on its own */
	assert_int_equal(files_read(r, bad * CH, buf, 10, &got), -EBADMSG);
	assert_memory_equal(buf, zero, 10);
	assert_int_equal(files_read(r, (bad + 1) * CH, buf, CH, &got), 0);
	assert_memory_equal(buf, big_data + (bad + 1) * CH, CH);
	files_reader_close(r);

	/* a block that spans the bad chunk fails whole */
	r = open_like_download(id, 0, BIG, &ra);
	assert_int_equal(files_read(r, 0, buf, CH, &got), 0);
	{
		unsigned char *blk = calloc(1, 12 * CH);

		assert_non_null(blk);
		assert_int_equal(files_read(r, CH, blk, 12 * CH, &got), -EBADMSG);
		assert_memory_equal(blk + (bad - 1) * CH, zero, CH);   /* chunk 10's place: untouched */
		free(blk);
	}
	files_reader_close(r);
}

/* Readers closed midway (a client that went away) leave no thread behind; past
 * KURA_READAHEAD_THREADS readers read without one, correctly. */
static void test_readahead_close_and_bound(void **state)
{
	struct files_reader *r[KURA_READAHEAD_THREADS + 1];
	unsigned char buf[1000];
	int before = threads();
	int64_t id;
	size_t i, got;
	bool ra;

	(void)state;
	id = upload("many.bin", big_data, BIG);
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		r[i] = open_like_download(id, 0, BIG, &ra);
		assert_true(ra == (i < KURA_READAHEAD_THREADS));
		assert_int_equal(files_read(r[i], 2 * CH - 500, buf, sizeof(buf), &got), 0);
		assert_memory_equal(buf, big_data + 2 * CH - 500, sizeof(buf));
	}
	assert_int_equal(threads(), before + KURA_READAHEAD_THREADS);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		files_reader_close(r[i]);
	assert_int_equal(threads(), before);
	/* a small body never starts one */
	r[0] = open_like_download(id, 0, KURA_READAHEAD_MIN_BYTES - 1, &ra);
	assert_false(ra);
	files_reader_close(r[0]);
}

/* ---- write-behind ---- */

static int tmp_files(void)
{
	char d[128];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(d, sizeof(d), "%s/%lld", fx.blobdir, (long long)fx.t.id);
	dir = opendir(d);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) != NULL)
		if (!strncmp(de->d_name, ".tmp-", 5))
			n++;
	closedir(dir);
	return n;
}

static void write_pieces(struct blob_writer *w, const unsigned char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		size_t k = n - off < 65552 ? n - off : 65552;   /* a sealed record at a time */

		assert_int_equal(blob_write(w, p + off, k), 0);
		off += k;
	}
}

static void expect_blob(const char *id, const unsigned char *data, size_t n)
{
	struct blob_reader *r = NULL;
	unsigned char *buf = malloc(n);
	size_t got = 0;

	assert_non_null(buf);
	assert_int_equal(blob_reader_open(fx.bs, fx.t.id, id, &r), 0);
	assert_int_equal(blob_reader_size(r), n);
	assert_int_equal(blob_read_at(r, 0, buf, n, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(buf, data, n);
	blob_reader_close(r);
	free(buf);
}

static void test_write_behind(void **state)
{
	struct blob_writer *w = NULL;
	char id[BLOB_ID_LEN + 1];
	int before = threads();

	(void)state;
	/* small: written by the caller, no thread */
	assert_int_equal(blob_writer_open(fx.bs, fx.t.id, &w), 0);
	write_pieces(w, big_data, KURA_BLOB_WRITE_BUFFER);
	assert_int_equal(threads(), before);
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_commit(w), 0);
	expect_blob(id, big_data, KURA_BLOB_WRITE_BUFFER);

	/* large: written behind by a thread of its own, gone after commit */
	assert_int_equal(blob_writer_open(fx.bs, fx.t.id, &w), 0);
	write_pieces(w, big_data, BIG);
	assert_int_equal(blob_writer_size(w), BIG);
	assert_int_equal(threads(), before + 1);
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_commit(w), 0);
	assert_int_equal(threads(), before);
	expect_blob(id, big_data, BIG);
	assert_int_equal(tmp_files(), 0);

	/* aborted midway: no thread, no temporary file */
	assert_int_equal(blob_writer_open(fx.bs, fx.t.id, &w), 0);
	write_pieces(w, big_data, 2 * KURA_BLOB_WRITE_BUFFER + 5000);
	assert_int_equal(threads(), before + 1);
	blob_abort(w);
	assert_int_equal(threads(), before);
	assert_int_equal(tmp_files(), 0);

	/* a write that fails while written behind fails the blob for good */
	assert_int_equal(blob_writer_open(fx.bs, fx.t.id, &w), 0);
	write_pieces(w, big_data, 2 * KURA_BLOB_WRITE_BUFFER);
	blob_fault_set(BLOB_FAULT_WRITE, 1);
	assert_int_equal(blob_write(w, big_data, 1000), -ENOSPC);
	assert_int_not_equal(blob_write(w, big_data, 1000), 0);
	assert_int_not_equal(blob_commit(w), 0);
	assert_int_equal(threads(), before);
	assert_int_equal(tmp_files(), 0);
}

/* The write-behind thread's own pwrite fails (the disk filled while it wrote a buffer): the
 * caller has already been told its bytes were taken, so the failure must come back from a
 * later blob_write or from commit, never be lost; the blob is not committed, the thread
 * ends and the temporary file is removed. */
static void test_write_behind_thread_fails(void **state)
{
	struct blob_writer *w = NULL;
	int before = threads(), r = 0;
	size_t off = 0, k;

	(void)state;
	assert_int_equal(blob_writer_open(fx.bs, fx.t.id, &w), 0);
	write_pieces(w, big_data, 2 * KURA_BLOB_WRITE_BUFFER);
	assert_int_equal(threads(), before + 1);
	blob_fault_set(BLOB_FAULT_PWRITE, 1);
	/* the first piece after it is taken: its bytes go into a buffer, the thread writes */
	k = 65552;
	assert_int_equal(blob_write(w, big_data, k), 0);
	for (off = k; off < 4 * (size_t)KURA_BLOB_WRITE_BUFFER && r == 0; off += k)
		r = blob_write(w, big_data + off % (BIG - k), k);
	if (r == 0)
		r = blob_commit(w);   /* the error is sticky: commit reports it at the latest */
	else
		assert_int_not_equal(blob_commit(w), 0);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(threads(), before);
	assert_int_equal(tmp_files(), 0);
}

/* A part (resumable upload) written behind: what part_sync made durable is all there when
 * it is opened again, and the blob it becomes is whole. */
static void test_write_behind_part(void **state)
{
	static const char part[] = "0123456789abcdef0123456789abcdef";
	struct blob_writer *w = NULL;
	char id[BLOB_ID_LEN + 1];
	const size_t first = 2 * KURA_BLOB_WRITE_BUFFER + 777;
	int before = threads();

	(void)state;
	assert_int_equal(blob_part_open(fx.bs, fx.t.id, part, 0, &w), 0);
	write_pieces(w, big_data, first);
	assert_int_equal(blob_part_sync(w), 0);
	blob_abort(w);   /* keeps the part */
	assert_int_equal(threads(), before);
	assert_int_equal(blob_part_open(fx.bs, fx.t.id, part, first, &w), 0);
	write_pieces(w, big_data + first, BIG - first);
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_commit(w), 0);
	assert_int_equal(threads(), before);
	expect_blob(id, big_data, BIG);
}

static int setup(void **state)
{
	char err[256], path[128];
	const char *svc[] = { "DOCX" };

	(void)state;
	if (crypto_init() < 0 || pwhash_set_params(1, 8192) < 0)
		return -1;
	str_copy(fx.dir, sizeof(fx.dir), "/tmp/kura-bigio-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(path, sizeof(path), "%s/kura.db", fx.dir);
	snprintf(fx.blobdir, sizeof(fx.blobdir), "%s/blobs", fx.dir);
	fx.db = db_open(path, err, sizeof(err));
	if (!fx.db || db_migrate(fx.db) < 0)
		return -1;
	randombytes_buf(fx.master, sizeof(fx.master));
	if (tenant_create(fx.db, &actor_system, fx.master, "unit", "Unit", svc, 1, NULL, 0, &fx.t) < 0)
		return -1;
	fx.bs = blob_open_local(fx.blobdir, err, sizeof(err));
	fx.kr = keyring_rt_new(fx.master);
	fx.f = files_new(fx.bs, fx.kr);
	if (!fx.f || files_root(fx.db, fx.t.id, &fx.root) < 0)
		return -1;
	big_data = malloc(BIG);
	if (!big_data)
		return -1;
	randombytes_buf(big_data, BIG);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(big_data);
	files_free(fx.f);
	keyring_rt_free(fx.kr);
	blob_close(fx.bs);
	db_close(fx.db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readahead_in_order),
		cmocka_unit_test(test_readahead_out_of_order),
		cmocka_unit_test(test_readahead_tampered),
		cmocka_unit_test(test_readahead_close_and_bound),
		cmocka_unit_test(test_write_behind),
		cmocka_unit_test(test_write_behind_thread_fails),
		cmocka_unit_test(test_write_behind_part),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
