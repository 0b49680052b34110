/*
 * Crash leftovers in the blob store (issue 14) on a real `kura serve`: a starting server
 * holds the data directory lock (a second one refuses to start), removes every temporary
 * file of an unfinished upload whatever its age, and deletes committed blobs that no file
 * row names (live or in the trash), while every referenced file, the trash included, reads
 * back intact. Leftovers are planted by hand (a fresh .tmp- file, an unreferenced blob) and
 * made for real by kill -9 during parallel uploads (the pattern of test_audit_crash.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Leftover-manager-pw-1"
#define UPLOADERS 4
#define INLINE_MAX (64 * 1024)   /* KURA_INLINE_MAX_BYTES: a file up to it has no blob */
#define ROUNDS 3

/* The tenant's blob directory is DIR/blobs/<its id>; with one tenant that has stored a file,
 * it is the only one there. Its id. */
static long long only_tenant_dir(struct it_server *s)
{
	char dir[IT_STR * 2];
	struct dirent *de;
	long long id = -1;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/blobs", s->data);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_int_equal(strspn(de->d_name, "0123456789"), strlen(de->d_name));
		id = strtoll(de->d_name, NULL, 10);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	return id;
}

static void write_bytes(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Files in DIR/blobs/<tenant> whose names start with prefix ("" = blobs, not dot files). */
static int count_in(struct it_server *s, long long tenant, const char *prefix)
{
	char dir[IT_STR * 2];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/blobs/%lld", s->data, tenant);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*prefix ? !strncmp(de->d_name, prefix, strlen(prefix)) : de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* Every blob file is a file's content and every file's content is there, seen the way the
 * tenant's manager sees the store: no temporary files; as many blob files as the tenant has
 * files larger than INLINE_MAX, live and in the trash (each has a blob of its own: an upload,
 * a COPY and a replacement each write a new one, and a replaced one is deleted; a smaller one
 * is kept in its row, issue 11), so an unreferenced blob
 * shows as one too many; and every live file reads back (a one-byte range opens and
 * authenticates its first chunk), so a file whose blob is missing fails. */
static void assert_store_consistent(struct it_server *s, const struct it_session *mgr, long long tenant)
{
	const char *first_byte[] = { "Range: bytes=0-0", NULL };
	json_t *tree = it_tree(s, mgr), *trash = it_trash(s, mgr), *n;
	int files = 0;
	size_t i;

	assert_int_equal(count_in(s, tenant, ".tmp-"), 0);
	json_array_foreach(tree, i, n) {
		char path[128];
		struct it_response *r;

		if (strcmp(it_json_str(n, "kind"), "file"))
			continue;
		files += json_integer_value(json_object_get(n, "size")) > INLINE_MAX;
		snprintf(path, sizeof(path), "/api/v1/files/%lld/content",
			 (long long)json_integer_value(json_object_get(n, "id")));
		r = it_request(s, &(struct it_request){ .method = "GET", .path = path, .cookie = mgr->token,
						       .headers = first_byte });
		if (r->status != 206)
			fail_msg("%s (%s): %ld, its blob is missing or damaged", it_json_str(n, "path"), path, r->status);
		assert_int_equal(r->body_len, 1);
		it_response_free(r);
	}
	json_array_foreach(trash, i, n) {
		assert_string_equal(it_json_str(n, "kind"), "file");   /* a folder's files would go uncounted */
		files += json_integer_value(json_object_get(n, "size")) > INLINE_MAX;
	}
	if (count_in(s, tenant, "") != files)
		fail_msg("%d blob files, %d files: a blob no file names, or a file without its blob",
			 count_in(s, tenant, ""), files);
	json_decref(tree);
	json_decref(trash);
}

static struct it_response *put(struct it_server *s, const struct it_session *sess, const char *name,
			       const void *data, size_t n)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/folders/root/files/%s", name);
	return it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = data, .body_len = n,
						  .content_type = "application/octet-stream",
						  .cookie = sess->token, .csrf = sess->csrf });
}

static long long put_ok(struct it_server *s, const struct it_session *sess, const char *name, const void *data,
			size_t n)
{
	struct it_response *r = put(s, sess, name, data, n);
	long long id;

	assert_true(r->status == 201 || r->status == 200);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

static long long upload(struct it_server *s, const struct it_session *sess, const char *name, const char *text)
{
	struct it_response *r = put(s, sess, name, text, strlen(text));
	long long id;

	assert_true(r->status == 201 || r->status == 200);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

static void expect_content(struct it_server *s, const struct it_session *sess, long long id, const void *data,
			   size_t n)
{
	char path[128];
	struct it_response *r;

	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", id);
	r = it_get(s, sess, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, n);
	assert_memory_equal(r->body, data, n);
	it_response_free(r);
}

static void test_lock_and_sweep_at_start(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	char path[IT_STR * 2], other[IT_STR * 2], port[32], *err = NULL;
	static unsigned char bigdata[INLINE_MAX + 1000];
	long long tenant, kept, trashed, replaced, big;
	struct it_response *r;
	int st;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	kept = upload(s, &mgr, "kept.txt", "kept content");   /* small files: kept in their rows */
	big = put_ok(s, &mgr, "big.bin", bigdata, sizeof(bigdata));   /* a blob */
	tenant = only_tenant_dir(s);
	trashed = upload(s, &mgr, "trashed.txt", "in the trash");
	replaced = upload(s, &mgr, "replaced.txt", "first version");
	assert_int_equal(upload(s, &mgr, "replaced.txt", "second version"), replaced);
	snprintf(path, sizeof(path), "/api/v1/files/%lld", trashed);
	r = it_send(s, &mgr, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* a second server on the same data directory refuses to start */
	{
		const char *argv[] = { KURA_BIN, "serve", "--data", s->data, "--listen", port, "--no-tls", NULL };

		snprintf(port, sizeof(port), "127.0.0.1:%d", it_free_port());
		st = it_run(argv, 60, NULL, &err);
		assert_int_equal(st, 1);
		assert_non_null(err);
		assert_non_null(strstr(err, "another kura serve is using"));
		free(err);
	}

	/* leftovers: a fresh temporary file and a committed blob whose row never committed;
	 * a blob under a tenant the database does not know is not the sweep's to judge */
	snprintf(path, sizeof(path), "%s/blobs/%lld/.tmp-0123456789abcdef0123456789abcdef", s->data, tenant);
	write_bytes(path, "half an upload");
	snprintf(path, sizeof(path), "%s/blobs/%lld/fedcba9876543210fedcba9876543210", s->data, tenant);
	write_bytes(path, "a blob nobody names");
	snprintf(other, sizeof(other), "%s/blobs/999", s->data);
	assert_int_equal(mkdir(other, 0700), 0);
	snprintf(other, sizeof(other), "%s/blobs/999/00000000000000000000000000000001", s->data);
	write_bytes(other, "unknown tenant");
	assert_int_equal(count_in(s, tenant, ".tmp-"), 1);
	assert_int_equal(count_in(s, tenant, ""), 2);   /* big.bin's and the one nobody names */

	assert_int_equal(it_server_restart(s), 0);
	IT_ASSERT_LOGIN(s, "alpha", "boss", MGR_PW, 201, &mgr);
	assert_store_consistent(s, &mgr, tenant);
	assert_int_equal(count_in(s, tenant, ""), 1);   /* big.bin's (kept, trashed, replaced: inline) */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0);
	expect_content(s, &mgr, kept, "kept content", 12);
	expect_content(s, &mgr, big, bigdata, sizeof(bigdata));
	expect_content(s, &mgr, replaced, "second version", 14);
	snprintf(path, sizeof(path), "/api/v1/trash/%lld/restore", trashed);
	r = it_send(s, &mgr, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	expect_content(s, &mgr, trashed, "in the trash", 12);
}

struct uploader {
	struct it_server *s;
	struct it_session sess;
	int id;
	volatile int *stop;
	unsigned char *data;
	size_t n;
	long long acked[4096];
	size_t n_acked;
	int seq;
};

/* No cmocka assertions here: only what the server answered is recorded. */
static void *uploads(void *arg)
{
	struct uploader *u = arg;

	while (!*u->stop && u->n_acked < 4096) {
		char name[32];
		struct it_response *r;

		snprintf(name, sizeof(name), "u%d-%d.bin", u->id, u->seq++);
		r = put(u->s, &u->sess, name, u->data, u->n);
		if (r->status == 201) {
			u->acked[u->n_acked] = json_integer_value(json_object_get(r->json, "id"));
			__atomic_store_n(&u->n_acked, u->n_acked + 1, __ATOMIC_RELEASE);   /* read by the killer */
		}
		it_response_free(r);
	}
	return NULL;
}

/* Uploads the server acknowledged so far, over all uploaders. */
static size_t acked_now(const struct uploader *u)
{
	size_t n = 0;

	for (size_t i = 0; i < UPLOADERS; i++)
		n += __atomic_load_n(&u[i].n_acked, __ATOMIC_ACQUIRE);
	return n;
}

static void test_kill9_during_uploads_leaves_nothing(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct uploader *u = calloc(UPLOADERS, sizeof(*u));
	pthread_t th[UPLOADERS];
	volatile int stop = 0;
	unsigned char *data = malloc(3 * 1024 * 1024);
	long long tenant, warm;
	size_t i, k, acked = 0;
	int round, st;

	for (i = 0; i < 3 * 1024 * 1024; i++)
		data[i] = (unsigned char)(i * 31 + 7);
	it_create_tenant(s, "beta", NULL);
	it_create_manager(s, "beta", "bmgr", MGR_PW, &mgr);
	warm = put_ok(s, &mgr, "warm-up.bin", data, 100000);   /* the tenant's blob directory exists */
	tenant = only_tenant_dir(s);
	for (i = 0; i < UPLOADERS; i++) {
		u[i].s = s;
		u[i].sess = mgr;
		u[i].id = (int)i;
		u[i].stop = &stop;
		u[i].data = data;
		/* half of them small: kept in their rows (issue 11), acknowledged after one commit */
		u[i].n = i % 2 ? 100 + 4096 * i : 1024 * 1024 + 4096 * i;
	}
	for (round = 0; round < ROUNDS; round++) {
		size_t before = acked_now(u);

		stop = 0;
		for (i = 0; i < UPLOADERS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, uploads, &u[i]), 0);
		/* the kill comes once an upload of this round was acknowledged (not after a time
		 * that a slow machine may spend without one), then a different while each round */
		IT_POLL_UNTIL(acked_now(u) > before);
		assert_true(acked_now(u) > before);
		usleep(100000 + 200000 * (useconds_t)round);
		kill(s->pid, SIGKILL);   /* uploads in flight: temporary files, maybe a blob without its row */
		assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
		assert_true(WIFSIGNALED(st));
		s->pid = -1;
		stop = 1;
		for (i = 0; i < UPLOADERS; i++)
			pthread_join(th[i], NULL);
		print_message("round %d: %d temporary file(s) left by the crash\n", round,
			      count_in(s, tenant, ".tmp-"));
		assert_int_equal(it_server_restart(s), 0);
		IT_ASSERT_LOGIN(s, "beta", "bmgr", MGR_PW, 201, &mgr);
		assert_store_consistent(s, &mgr, tenant);
		for (i = 0; i < UPLOADERS; i++)
			u[i].sess = mgr;
	}
	/* every acknowledged upload is there, byte for byte */
	for (i = 0; i < UPLOADERS; i++)
		for (k = 0; k < u[i].n_acked; k++, acked++)
			expect_content(s, &mgr, u[i].acked[k], data, u[i].n);
	expect_content(s, &mgr, warm, data, 100000);
	print_message("%zu acknowledged uploads read back intact\n", acked);
	assert_true(acked > 0);
	free(u);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_and_sweep_at_start, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_kill9_during_uploads_leaves_nothing, it_setup_server,
						it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
