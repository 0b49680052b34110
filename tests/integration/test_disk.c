/*
 * A full disk (issue 14) against a real `kura serve`. kura keeps a free-space reserve on the
 * data directory's filesystem ([storage] reserve_mib / reserve_percent) so the database and
 * the audit log can always write: below it new content is refused (507), while reads,
 * logins, deletion and trash purge go on; a read whose audit record cannot be written (a
 * disk filled by someone else) answers 503 storage-full, never 500.
 *
 * Two tests: one sets the reserve above the free space of the test's own filesystem (works
 * anywhere); one runs the server on a 64 MiB tmpfs mounted by the test, fills it through
 * kura and then from outside. Mounting needs root (CAP_SYS_ADMIN); when it is not permitted
 * that test is skipped and says so loudly.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Disk-manager-password-1"

static void b64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i, o = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)in[i + 2] : 0);

		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

struct world {
	struct it_server *s;
	struct it_session mgr;
	char auth[IT_STR * 4];         /* "Authorization: Basic ..." for WebDAV */
};

static void world_start(struct world *w, const char *extra)
{
	struct it_options o = { .extra_config = extra };
	struct it_response *r;
	char raw[IT_STR * 2], enc[IT_STR * 3];

	w->s = it_server_start(&o);
	assert_non_null(w->s);
	it_create_tenant(w->s, "disk", NULL);
	it_create_manager(w->s, "disk", "dmgr", MGR_PW, &w->mgr);
	r = it_send(w->s, &w->mgr, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "dav", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(raw, sizeof(raw), "dmgr@disk:%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	b64(raw, enc);
	snprintf(w->auth, sizeof(w->auth), "Authorization: Basic %s", enc);
}

static struct it_response *dav(struct world *w, const char *method, const char *path, const void *body,
			       size_t n, const char *extra)
{
	const char *headers[] = { w->auth, extra, NULL };

	return it_request(w->s, &(struct it_request){ .method = method, .path = path, .body = body,
						     .body_len = body ? n : 0,
						     .content_type = body ? "application/octet-stream" : "",
						     .headers = headers });
}

static long dav_status(struct world *w, const char *method, const char *path, const void *body, size_t n,
		       const char *extra)
{
	struct it_response *r = dav(w, method, path, body, n, extra);
	long st = r->status;

	it_response_free(r);
	return st;
}

static struct it_response *api_put(struct world *w, const char *name, const void *body, size_t n)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/folders/root/files/%s", name);
	return it_request(w->s, &(struct it_request){ .method = "PUT", .path = path, .body = body, .body_len = n,
						     .content_type = "application/octet-stream",
						     .cookie = w->mgr.token, .csrf = w->mgr.csrf });
}

static int64_t node_id(struct world *w, const char *name)
{
	struct it_response *r = it_get(w->s, &w->mgr, "/api/v1/folders/root/children");
	json_t *it;
	size_t i;
	int64_t id = 0;

	IT_ASSERT_STATUS(r, 200);
	json_array_foreach(json_object_get(r->json, "items"), i, it)
		if (!strcmp(it_json_str(it, "name"), name))
			id = json_integer_value(json_object_get(it, "id"));
	it_response_free(r);
	assert_true(id > 0);
	return id;
}

static long api_status(struct world *w, const char *method, const char *path)
{
	struct it_response *r = it_send(w->s, &w->mgr, method, path, NULL);
	long st = r->status;

	if (st >= 500 && st != 503 && st != 507)
		print_error("%s %s: %ld %s\n", method, path, st, r->body);
	it_response_free(r);
	return st;
}

/* Purges every trash entry; each must answer 204. Returns how many. */
static int purge_all(struct world *w)
{
	struct it_response *r = it_get(w->s, &w->mgr, "/api/v1/trash");
	char path[128];
	json_t *it;
	size_t k;
	int n = 0;

	IT_ASSERT_STATUS(r, 200);
	json_array_foreach(json_object_get(r->json, "items"), k, it) {
		snprintf(path, sizeof(path), "/api/v1/trash/%lld", (long long)json_integer_value(json_object_get(it, "id")));
		assert_int_equal(api_status(w, "DELETE", path), 204);
		n++;
	}
	it_response_free(r);
	assert_true(n > 0);
	return n;
}

/* What a reserve may never stop: reads, login, deletion, purge. */
static void reads_and_deletes_work(struct world *w, const char *keep, const char *doomed, const char *content)
{
	struct it_response *r;

	r = dav(w, "GET", keep, NULL, 0, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->body, content);
	it_response_free(r);
	r = dav(w, "PROPFIND", "/dav/disk/", NULL, 0, "Depth: 1");
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	IT_ASSERT_LOGIN(w->s, "disk", "dmgr", MGR_PW, 201, NULL);
	assert_int_equal(dav_status(w, "DELETE", doomed, NULL, 0, NULL), 204);
	purge_all(w);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The reserve above the free space: nothing new is stored, everything else works. */
static void test_reserve_refuses_new_content(void **state)
{
	struct world w;
	char conf[IT_STR * 2];
	struct it_response *r;

	(void)state;
	world_start(&w, NULL);
	assert_int_equal(dav_status(&w, "PUT", "/dav/disk/keep.txt", "kept", 4, NULL), 201);
	assert_int_equal(dav_status(&w, "PUT", "/dav/disk/doomed.txt", "doomed", 6, NULL), 201);
	assert_int_equal(dav_status(&w, "PUT", "/dav/disk/trashed.bin", "t", 1, NULL), 201);
	assert_int_equal(dav_status(&w, "DELETE", "/dav/disk/trashed.bin", NULL, 0, NULL), 204);
	/* 1 PiB of reserve: more than any test machine has free */
	snprintf(conf, sizeof(conf), "%s/kura.conf", w.s->data);
	append(conf, "\n[storage]\nreserve_mib = 1073741824\n");
	assert_int_equal(it_server_restart(w.s), 0);

	r = dav(&w, "PUT", "/dav/disk/new.txt", "new", 3, NULL);
	IT_ASSERT_STATUS(r, 507);
	it_response_free(r);
	r = api_put(&w, "new.txt", "new", 3);
	IT_ASSERT_PROBLEM(r, 507, "insufficient-storage");
	it_response_free(r);
	r = dav(&w, "PUT", "/dav/disk/keep.txt", "replaced", 8, NULL);   /* replacing is new content too */
	IT_ASSERT_STATUS(r, 507);
	it_response_free(r);
	assert_int_equal(dav_status(&w, "MKCOL", "/dav/disk/dir", NULL, 0, NULL), 507);
	r = it_send(w.s, &w.mgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "dir"));
	IT_ASSERT_PROBLEM(r, 507, "insufficient-storage");
	it_response_free(r);
	assert_int_equal(dav_status(&w, "COPY", "/dav/disk/keep.txt", NULL, 0, "Destination: /dav/disk/copy.txt"),
			 507);
	{
		static const char pp[] = "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><z:a xmlns:z=\"urn:z\">b"
					 "</z:a></D:prop></D:set></D:propertyupdate>";

		r = dav(&w, "PROPPATCH", "/dav/disk/keep.txt", pp, strlen(pp), NULL);
	}
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strstr(r->body, "507"));
	it_response_free(r);
	reads_and_deletes_work(&w, "/dav/disk/keep.txt", "/dav/disk/doomed.txt", "kept");
	assert_int_equal(dav_status(&w, "GET", "/dav/disk/new.txt", NULL, 0, NULL), 404);
	assert_int_equal(it_server_stop(w.s), 0);
}

static char mounted[IT_STR];   /* unmounted by teardown when a test fails half-way */

static int unmount_teardown(void **state)
{
	(void)state;
	if (mounted[0]) {
		umount2(mounted, MNT_DETACH);
		rmdir(mounted);
		mounted[0] = '\0';
	}
	return 0;
}

static uint64_t free_bytes(const char *dir)
{
	struct statvfs sv;

	assert_int_equal(statvfs(dir, &sv), 0);
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* Writes zeros into path until the filesystem is full. */
static void fill(const char *path)
{
	static char block[64 * 1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	for (;;) {
		ssize_t k = write(fd, block, sizeof(block));

		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
	}
	/* the last few bytes */
	while (write(fd, block, 1) == 1)
		;
	close(fd);
}

/* The server on a 64 MiB tmpfs with an 8 MiB reserve: uploads stop at the reserve, and the
 * rest keeps working; a disk filled from outside gives 503, not 500. */
static void test_tmpfs_fills_up(void **state)
{
	enum { CHUNK = 2 * 1024 * 1024 };
	char mnt[IT_STR], filler[IT_STR * 2], path[128], *old_tmp = NULL;
	unsigned char *data = malloc(CHUNK);
	struct world w;
	struct it_response *r;
	int i, stored = 0, refused = 0, n503 = 0;
	int64_t id;
	long st;

	(void)state;
	assert_int_equal(it_mkdtemp(mnt, sizeof(mnt)), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0700") < 0) {
		int e = errno;

		rmdir(mnt);
		free(data);
		print_message("\n*** SKIPPED test_tmpfs_fills_up: cannot mount a tmpfs on %s: %s\n"
			      "*** (needs root with CAP_SYS_ADMIN; the reserve itself is still tested by\n"
			      "*** test_reserve_refuses_new_content)\n\n", mnt, strerror(e));
		skip();
	}
	snprintf(mounted, sizeof(mounted), "%s", mnt);
	if (getenv("TMPDIR"))
		old_tmp = strdup(getenv("TMPDIR"));
	setenv("TMPDIR", mnt, 1);
	world_start(&w, "[storage]\nreserve_mib = 8\nreserve_percent = 0\n");
	if (old_tmp)
		setenv("TMPDIR", old_tmp, 1);
	else
		unsetenv("TMPDIR");
	free(old_tmp);

	for (i = 0; i < CHUNK; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(dav_status(&w, "PUT", "/dav/disk/trashed.bin", data, CHUNK, NULL), 201);
	assert_int_equal(dav_status(&w, "DELETE", "/dav/disk/trashed.bin", NULL, 0, NULL), 204);
	/* fill it through kura: 2 MiB at a time until the reserve says no */
	for (i = 0; i < 40 && !refused; i++) {
		snprintf(path, sizeof(path), "/dav/disk/f%02d.bin", i);
		st = dav_status(&w, "PUT", path, data, CHUNK, NULL);
		if (st == 201)
			stored++;
		else if (st == 507)
			refused++;
		else
			fail_msg("PUT %s: %ld", path, st);
	}
	print_message("tmpfs: %d files of 2 MiB stored, then 507; %llu KiB free\n", stored,
		      (unsigned long long)free_bytes(mnt) / 1024);
	assert_true(stored >= 5);
	assert_int_equal(refused, 1);
	assert_true(free_bytes(mnt) >= 6 * 1024 * 1024);   /* the reserve held (less what the db wrote) */
	r = api_put(&w, "api.bin", data, CHUNK);
	IT_ASSERT_PROBLEM(r, 507, "insufficient-storage");
	it_response_free(r);
	/* a chunked upload of unknown size stops as the reserve is reached */
	{
		const char *headers[] = { w.auth, "Transfer-Encoding: chunked", NULL };
		unsigned char *big = malloc(16 * 1024 * 1024);

		memset(big, 'x', 16 * 1024 * 1024);
		r = it_request(w.s, &(struct it_request){ .method = "PUT", .path = "/dav/disk/chunked.bin",
							 .body = (const char *)big, .body_len = 16 * 1024 * 1024,
							 .content_type = "application/octet-stream",
							 .headers = headers });
		assert_true(r->status == 507 || r->status == 0);   /* 0: the server cut the body short */
		it_response_free(r);
		free(big);
		assert_int_equal(dav_status(&w, "GET", "/dav/disk/chunked.bin", NULL, 0, NULL), 404);
	}
	/* reads, login, delete and purge all work at the reserve */
	{
		struct it_response *g = dav(&w, "GET", "/dav/disk/f00.bin", NULL, 0, NULL);

		IT_ASSERT_STATUS(g, 200);
		assert_int_equal(g->body_len, CHUNK);
		assert_memory_equal(g->body, data, CHUNK);
		it_response_free(g);
	}
	r = dav(&w, "PROPFIND", "/dav/disk/", NULL, 0, "Depth: 1");
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	IT_ASSERT_LOGIN(w.s, "disk", "dmgr", MGR_PW, 201, NULL);
	assert_int_equal(dav_status(&w, "DELETE", "/dav/disk/f01.bin", NULL, 0, NULL), 204);
	assert_int_equal(purge_all(&w), 2);
	/* the purge gave the room back */
	assert_int_equal(dav_status(&w, "PUT", "/dav/disk/again.bin", data, CHUNK, NULL), 201);

	/* someone else fills the disk to the last byte: kura answers, never 500 */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fill(filler);
	id = node_id(&w, "f00.bin");
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", (long long)id);
	for (i = 0; i < 300 && n503 < 3; i++) {
		r = it_get(w.s, &w.mgr, path);
		if (r->status == 503) {
			IT_ASSERT_PROBLEM(r, 503, "storage-full");
			n503++;
		} else if (r->status != 200) {
			fail_msg("GET on a full disk: %ld %s", r->status, r->body);
		}
		it_response_free(r);
	}
	print_message("full disk: %d of %d downloads answered 503 storage-full, the rest 200\n", n503, i);
	st = dav_status(&w, "PROPFIND", "/dav/disk/", NULL, 0, "Depth: 0");
	assert_true(st == 207 || st == 503);
	{
		long login = it_login(w.s, "disk", "dmgr", MGR_PW, NULL);

		assert_true(login == 201 || login == 503);
	}
	st = dav_status(&w, "PUT", "/dav/disk/more.bin", "m", 1, NULL);
	assert_int_equal(st, 507);
	/* space comes back: everything works again */
	assert_int_equal(unlink(filler), 0);
	r = it_get(w.s, &w.mgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, CHUNK);
	it_response_free(r);
	assert_int_equal(it_admin(w.s, NULL, "audit", "verify", "disk", NULL), 0);
	assert_int_equal(it_server_stop(w.s), 0);
	assert_int_equal(umount(mnt), 0);
	mounted[0] = '\0';
	rmdir(mnt);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_refuses_new_content),
		cmocka_unit_test_teardown(test_tmpfs_fills_up, unmount_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
