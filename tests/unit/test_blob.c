/* Unit tests for the local blob store: put/get/range/delete, per-tenant prefixes, the
 * temp+fsync+rename protocol (an unfinished put is invisible and swept at the next open),
 * and fault injection (the Nth write, fsync or rename fails → nothing visible). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blob/blob.h"
#include "core/limits.h"

static char root[64];

/* Files in DIR/<tenant> whose name starts with prefix. */
static int count(int64_t tenant, const char *prefix)
{
	char dir[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%lld", root, (long long)tenant);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || !strncmp(de->d_name, ".tmp-", 5))
			if (!strncmp(de->d_name, prefix, strlen(prefix)))
				n++;
	closedir(d);
	return n;
}

static struct blob_store *open_store(void)
{
	char err[256];
	struct blob_store *bs = blob_open_local(root, err, sizeof(err));

	assert_non_null(bs);
	return bs;
}

static void put(struct blob_store *bs, int64_t tenant, const void *data, size_t n, char *ret_id)
{
	struct blob_writer *w = NULL;

	assert_int_equal(blob_writer_open(bs, tenant, &w), 0);
	assert_true(blob_id_valid(blob_writer_id(w)));
	str_copy(ret_id, BLOB_ID_LEN + 1, blob_writer_id(w));
	assert_int_equal(blob_write(w, data, n / 2), 0);
	assert_int_equal(blob_write(w, (const char *)data + n / 2, n - n / 2), 0);
	assert_int_equal(blob_writer_size(w), n);
	assert_int_equal(blob_commit(w), 0);
}

static void test_put_get_range_delete(void **state)
{
	struct blob_store *bs = open_store();
	char id[BLOB_ID_LEN + 1], buf[64];
	struct blob_reader *r = NULL;
	const char data[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t got = 0;

	(void)state;
	put(bs, 1, data, sizeof(data) - 1, id);
	assert_int_equal(count(1, ".tmp-"), 0);
	assert_int_equal(blob_reader_open(bs, 1, id, &r), 0);
	assert_int_equal(blob_reader_size(r), sizeof(data) - 1);
	assert_int_equal(blob_read_at(r, 10, buf, 6, &got), 0);
	assert_int_equal(got, 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(blob_read_at(r, 30, buf, 20, &got), 0);   /* short at the end */
	assert_int_equal(got, 6);
	assert_int_equal(blob_read_at(r, 100, buf, 20, &got), 0);
	assert_int_equal(got, 0);
	blob_reader_close(r);
	/* another tenant's prefix does not have it */
	assert_int_equal(blob_reader_open(bs, 2, id, &r), -ENOENT);
	/* ids are checked for shape before they become paths */
	assert_int_equal(blob_reader_open(bs, 1, "../../etc/passwd", &r), -EINVAL);
	assert_int_equal(blob_reader_open(bs, 1, "0123456789ABCDEF0123456789abcdef", &r), -EINVAL);
	assert_int_equal(blob_delete(bs, 2, id), -ENOENT);
	assert_int_equal(blob_delete(bs, 1, id), 0);
	assert_int_equal(blob_reader_open(bs, 1, id, &r), -ENOENT);
	assert_int_equal(blob_delete(bs, 1, id), -ENOENT);
	assert_int_equal(blob_writer_open(bs, 0, (struct blob_writer **)&r), -EINVAL);
	blob_close(bs);
}

/* Sets the modification time of tenant's temp files `age` seconds into the past. */
static void age_temp_files(int64_t tenant, time_t age)
{
	char dir[PATH_MAX], p[PATH_MAX * 2];
	struct timespec ts[2];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%lld", root, (long long)tenant);
	d = opendir(dir);
	assert_non_null(d);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	while ((de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		}
	closedir(d);
}

static void test_abort_and_crash(void **state)
{
	struct blob_store *bs = open_store();
	struct blob_writer *w = NULL, *crashed = NULL;
	struct blob_reader *r = NULL;
	char id[BLOB_ID_LEN + 1], kept[BLOB_ID_LEN + 1];
	int before = count(3, "");

	(void)state;
	assert_int_equal(blob_writer_open(bs, 3, &w), 0);
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_write(w, "abc", 3), 0);
	assert_int_equal(count(3, ".tmp-"), 1);
	assert_int_equal(blob_reader_open(bs, 3, id, &r), -ENOENT);   /* not visible before commit */
	assert_null(blob_abort(w));
	assert_int_equal(count(3, ""), before);

	/* "crash": a writer that is never committed nor aborted, and a committed blob */
	put(bs, 3, "durable", 7, kept);
	assert_int_equal(blob_writer_open(bs, 3, &crashed), 0);
	assert_int_equal(blob_write(crashed, "half", 4), 0);
	assert_int_equal(count(3, ".tmp-"), 1);
	blob_close(bs);
	/* a temp file still being written (recent) survives a second opening of the store */
	bs = open_store();
	assert_int_equal(count(3, ".tmp-"), 1);
	blob_close(bs);
	age_temp_files(3, 2 * KURA_BLOB_TMP_STALE_S);
	bs = open_store();   /* restart: the stale leftover is swept, the committed blob stays */
	assert_int_equal(count(3, ".tmp-"), 0);
	assert_int_equal(blob_reader_open(bs, 3, kept, &r), 0);
	blob_reader_close(r);
	/* the crashed writer's handle is still ours to free in this process; its path is gone */
	blob_abort(crashed);
	blob_close(bs);
}

static void fault_case(enum blob_fault kind, unsigned nth, int want)
{
	struct blob_store *bs = open_store();
	struct blob_writer *w = NULL;
	struct blob_reader *r = NULL;
	char id[BLOB_ID_LEN + 1], big[10000];
	int before = count(4, ""), rc = 0, i;

	memset(big, 'x', sizeof(big));
	blob_fault_set(kind, nth);
	assert_int_equal(blob_writer_open(bs, 4, &w), 0);
	str_copy(id, sizeof(id), blob_writer_id(w));
	for (i = 0; i < 5 && rc == 0; i++)
		rc = blob_write(w, big, sizeof(big));
	if (rc < 0) {
		assert_int_equal(rc, want);
		assert_int_equal(blob_write(w, big, 1), -EINVAL);   /* failed writers stay failed */
		assert_int_equal(blob_commit(w), -EIO);
	} else {
		assert_int_equal(blob_commit(w), want);
	}
	assert_int_equal(count(4, ""), before);                 /* nothing visible, no temp left */
	assert_int_equal(blob_reader_open(bs, 4, id, &r), -ENOENT);
	blob_fault_set(BLOB_FAULT_NONE, 0);
	blob_close(bs);
}

static void test_fault_injection(void **state)
{
	(void)state;
	fault_case(BLOB_FAULT_WRITE, 1, -ENOSPC);
	fault_case(BLOB_FAULT_WRITE, 3, -ENOSPC);
	fault_case(BLOB_FAULT_FSYNC, 1, -EIO);    /* file fsync */
	fault_case(BLOB_FAULT_FSYNC, 2, -EIO);    /* directory fsync after the rename */
	fault_case(BLOB_FAULT_RENAME, 1, -EIO);
}

static int setup(void **state)
{
	(void)state;
	str_copy(root, sizeof(root), "/tmp/kura-blob-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_range_delete),
		cmocka_unit_test(test_abort_and_crash),
		cmocka_unit_test(test_fault_injection),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
