/* The S3 blob backend (src/blob/blob_s3.c) against a real S3-compatible server, s3rver on
 * loopback (tests/s3): small and multipart puts, ranged reads across part boundaries,
 * delete, list, parts of resumable uploads (keep, cut inside a piece, commit), the tenant's
 * erasure, [blob] settings checks, and failures: 503 SlowDown from a fault proxy in front of
 * the server is retried; more than the retries allow fails the put with nothing visible; the
 * server killed in the middle of a multipart upload leaves nothing visible either. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "blob/blob.h"
#include "blob/blob_int.h"
#include "core/config.h"
#include "core/limits.h"
#include "s3rver.h"

static char root[64];
static struct s3rver srv;

static struct config s3_config(int port, const char *url)
{
	struct config cfg;

	config_defaults(&cfg);
	str_copy(cfg.blob_url, sizeof(cfg.blob_url), url);
	str_printf(cfg.blob_endpoint, sizeof(cfg.blob_endpoint), "http://127.0.0.1:%d", port);
	str_copy(cfg.blob_access_key, sizeof(cfg.blob_access_key), S3RVER_KEY);
	str_copy(cfg.blob_secret_key, sizeof(cfg.blob_secret_key), S3RVER_KEY);
	cfg.blob_timeout_s = 10;
	return cfg;
}

static struct blob_store *open_at(int port)
{
	struct config cfg = s3_config(port, "s3://" S3RVER_BUCKET "/unit/t");
	char err[512] = "";
	struct blob_store *bs = blob_open(&cfg, "/nonexistent", err, sizeof(err));

	if (!bs)
		fprintf(stderr, "blob_open: %s\n", err);
	assert_non_null(bs);
	assert_string_equal(blob_backend(bs), "s3");
	assert_true(blob_shared(bs));
	return bs;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
}

static void put(struct blob_store *bs, int64_t tenant, const void *data, size_t n, size_t step, char *ret_id)
{
	struct blob_writer *w = NULL;
	size_t off;

	assert_int_equal(blob_writer_open(bs, tenant, &w), 0);
	str_copy(ret_id, BLOB_ID_LEN + 1, blob_writer_id(w));
	for (off = 0; off < n; off += step)
		assert_int_equal(blob_write(w, (const char *)data + off, n - off < step ? n - off : step), 0);
	assert_int_equal(blob_writer_size(w), n);
	assert_int_equal(blob_commit(w), 0);
}

/* The whole blob, in reads of step bytes (at offset start first, then from 0). */
static void check(struct blob_store *bs, int64_t tenant, const char *id, const unsigned char *want, size_t n,
		  size_t step)
{
	struct blob_reader *r = NULL;
	unsigned char *got = malloc(n + 1);
	size_t off = 0, k;

	assert_non_null(got);
	assert_int_equal(blob_reader_open(bs, tenant, id, &r), 0);
	assert_int_equal(blob_reader_size(r), n);
	while (off < n) {
		assert_int_equal(blob_read_at(r, off, got + off, step, &k), 0);
		assert_true(k > 0);
		off += k;
	}
	assert_int_equal(blob_read_at(r, n, got, 1, &k), 0);
	assert_int_equal(k, 0);
	assert_memory_equal(got, want, n);
	blob_reader_close(r);
	free(got);
}

struct count_ctx {
	int64_t tenant;
	const char *id;
	unsigned n, found;
};

static int count_cb(void *ctx, int64_t tenant_id, const char *id, int64_t mtime_us)
{
	struct count_ctx *c = ctx;

	assert_true(mtime_us > 0);
	if (tenant_id == c->tenant)
		c->n++;
	if (c->id && !strcmp(id, c->id))
		c->found++;
	return 0;
}

static unsigned count_blobs(struct blob_store *bs, int64_t tenant, const char *id, unsigned *ret_found)
{
	struct count_ctx c = { tenant, id, 0, 0 };

	assert_int_equal(blob_foreach(bs, count_cb, &c), 0);
	if (ret_found)
		*ret_found = c.found;
	return c.n;
}

static void test_small_put_get_delete(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	struct blob_reader *r = NULL;
	unsigned char data[1000], buf[64];
	char id[BLOB_ID_LEN + 1], other[BLOB_ID_LEN + 1];
	size_t k;

	(void)state;
	fill(data, sizeof(data), 1);
	put(bs, 1, data, sizeof(data), 333, id);
	assert_true(blob_id_valid(id));
	check(bs, 1, id, data, sizeof(data), 100);
	/* a range in the middle, and one over the end */
	assert_int_equal(blob_reader_open(bs, 1, id, &r), 0);
	assert_int_equal(blob_read_at(r, 500, buf, 10, &k), 0);
	assert_int_equal(k, 10);
	assert_memory_equal(buf, data + 500, 10);
	assert_int_equal(blob_read_at(r, 990, buf, 64, &k), 0);
	assert_int_equal(k, 10);
	assert_memory_equal(buf, data + 990, 10);
	blob_reader_close(r);
	/* per-tenant: tenant 2 has no such blob */
	assert_int_equal(blob_reader_open(bs, 2, id, &r), -ENOENT);
	/* an empty blob */
	put(bs, 1, data, 0, 1, other);
	check(bs, 1, other, data, 0, 1);
	assert_int_equal(blob_delete(bs, 1, other), 0);
	/* ids of the wrong shape never reach the service */
	assert_int_equal(blob_reader_open(bs, 1, "../1/x", &r), -EINVAL);
	assert_int_equal(blob_delete(bs, 1, "ABC"), -EINVAL);
	assert_int_equal(blob_delete(bs, 1, id), 0);
	assert_int_equal(blob_delete(bs, 1, id), -ENOENT);
	assert_int_equal(blob_reader_open(bs, 1, id, &r), -ENOENT);
	blob_close(bs);
}

static void test_multipart(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	struct blob_writer *w = NULL;
	size_t n = 2 * KURA_S3_PART_MIB * 1024 * 1024 + 12345;
	unsigned char *data = malloc(n), buf[300];
	char id[BLOB_ID_LEN + 1], aborted[BLOB_ID_LEN + 1];
	struct blob_reader *r = NULL;
	unsigned found;
	size_t k;

	(void)state;
	assert_non_null(data);
	fill(data, n, 7);
	put(bs, 3, data, n, 65536 + 17, id);   /* three parts, the last short */
	check(bs, 3, id, data, n, 1 << 20);
	/* a read across the first part boundary */
	assert_int_equal(blob_reader_open(bs, 3, id, &r), 0);
	assert_int_equal(blob_read_at(r, KURA_S3_PART_MIB * 1024 * 1024 - 150, buf, sizeof(buf), &k), 0);
	assert_int_equal(k, sizeof(buf));
	assert_memory_equal(buf, data + KURA_S3_PART_MIB * 1024 * 1024 - 150, sizeof(buf));
	blob_reader_close(r);
	assert_int_equal(count_blobs(bs, 3, id, &found), 1);
	assert_int_equal(found, 1);
	/* an aborted multipart upload: nothing under its id */
	assert_int_equal(blob_writer_open(bs, 3, &w), 0);
	str_copy(aborted, sizeof(aborted), blob_writer_id(w));
	assert_int_equal(blob_write(w, data, n), 0);
	blob_abort(w);
	assert_int_equal(blob_reader_open(bs, 3, aborted, &r), -ENOENT);
	assert_int_equal(count_blobs(bs, 3, aborted, &found), 1);
	assert_int_equal(found, 0);
	/* the nth write fails (as a full disk would): the writer is done, nothing visible */
	assert_int_equal(blob_writer_open(bs, 3, &w), 0);
	str_copy(aborted, sizeof(aborted), blob_writer_id(w));
	blob_fault_set(BLOB_FAULT_WRITE, 1);
	assert_int_equal(blob_write(w, data, n), -ENOSPC);
	assert_int_equal(blob_write(w, data, 1), -EINVAL);
	assert_int_not_equal(blob_commit(w), 0);
	assert_int_equal(blob_reader_open(bs, 3, aborted, &r), -ENOENT);
	/* the commit fails (fsync's fault: before Complete): nothing visible */
	assert_int_equal(blob_writer_open(bs, 3, &w), 0);
	str_copy(aborted, sizeof(aborted), blob_writer_id(w));
	assert_int_equal(blob_write(w, data, n), 0);
	blob_fault_set(BLOB_FAULT_FSYNC, 1);
	assert_int_not_equal(blob_commit(w), 0);
	assert_int_equal(blob_reader_open(bs, 3, aborted, &r), -ENOENT);
	assert_int_equal(blob_delete(bs, 3, id), 0);
	free(data);
	blob_close(bs);
}

static void part_append(struct blob_store *bs, int64_t tenant, const char *part, uint64_t keep,
			const void *data, size_t n, bool sync)
{
	struct blob_writer *w = NULL;

	assert_int_equal(blob_part_open(bs, tenant, part, keep, &w), 0);
	assert_int_equal(blob_writer_size(w), keep);
	assert_int_equal(blob_write(w, data, n), 0);
	if (sync)
		assert_int_equal(blob_part_sync(w), 0);
	blob_abort(w);   /* the part stays */
}

static void test_parts(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	struct blob_writer *w = NULL;
	unsigned char data[4096], want[4096];
	char part[BLOB_ID_LEN + 1] = "0123456789abcdef0123456789abcdef", id[BLOB_ID_LEN + 1];
	unsigned found;

	(void)state;
	fill(data, sizeof(data), 3);
	assert_int_equal(blob_part_delete(bs, 4, part), -ENOENT);
	assert_int_equal(blob_part_open(bs, 4, part, 10, &w), -ENOENT);
	part_append(bs, 4, part, 0, data, 100, true);              /* [0,100) synced */
	part_append(bs, 4, part, 100, data + 100, 50, false);      /* not synced: gone */
	assert_int_equal(blob_part_open(bs, 4, part, 151, &w), -ENOENT);
	part_append(bs, 4, part, 100, data + 100, 300, true);      /* [100,400) */
	part_append(bs, 4, part, 400, data + 400, 200, true);      /* [400,600), not recorded... */
	/* ...the caller recorded 250 as durable: cut inside the piece [100,400) */
	assert_int_equal(blob_part_open(bs, 4, part, 250, &w), 0);
	assert_int_equal(blob_write(w, data + 1000, 70), 0);
	assert_int_equal(blob_part_sync(w), 0);
	assert_int_equal(blob_write(w, data + 2000, 30), 0);       /* committed without a sync */
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_commit(w), 0);
	memcpy(want, data, 250);
	memcpy(want + 250, data + 1000, 70);
	memcpy(want + 320, data + 2000, 30);
	check(bs, 4, id, want, 350, 64);
	/* parts are no blobs, and the commit took the part away (as the local rename does) */
	assert_int_equal(count_blobs(bs, 4, id, &found), 1);
	assert_int_equal(found, 1);
	assert_int_equal(blob_part_delete(bs, 4, part), -ENOENT);
	/* blob_part_delete of an open part; a bad part id */
	part_append(bs, 4, part, 0, data, 10, true);
	assert_int_equal(blob_part_delete(bs, 4, part), 0);
	assert_int_equal(blob_part_delete(bs, 4, "nope"), -EINVAL);
	assert_int_equal(blob_delete(bs, 4, id), 0);
	blob_close(bs);
}

static void test_delete_tenant_and_list(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	char a[BLOB_ID_LEN + 1], b[BLOB_ID_LEN + 1], c[BLOB_ID_LEN + 1];
	char part[BLOB_ID_LEN + 1] = "fedcba9876543210fedcba9876543210";
	unsigned char data[100];
	unsigned n = 0, found;

	(void)state;
	fill(data, sizeof(data), 9);
	put(bs, 5, data, sizeof(data), 100, a);
	put(bs, 5, data, sizeof(data), 100, b);
	put(bs, 6, data, sizeof(data), 100, c);
	part_append(bs, 5, part, 0, data, 10, true);
	assert_int_equal(count_blobs(bs, 5, NULL, NULL), 2);
	assert_int_equal(blob_delete_tenant(bs, 5, &n), 0);
	assert_int_equal(n, 3);   /* two blobs and the part's piece */
	assert_int_equal(count_blobs(bs, 5, NULL, NULL), 0);
	assert_int_equal(blob_part_delete(bs, 5, part), -ENOENT);
	assert_int_equal(count_blobs(bs, 6, c, &found), 1);   /* another tenant's stay */
	assert_int_equal(found, 1);
	assert_int_equal(blob_delete_tenant(bs, 5, &n), 0);   /* idempotent */
	assert_int_equal(n, 0);
	assert_int_equal(blob_sweep_tmp(bs, &n), 0);
	assert_int_equal(blob_delete(bs, 6, c), 0);
	blob_close(bs);
}

/* More than one listing page (ListObjectsV2 answers 1000 keys a page). */
static void test_list_pages(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	unsigned i, n = 0;
	char id[BLOB_ID_LEN + 1];

	(void)state;
	for (i = 0; i < 1005; i++)
		put(bs, 7, "x", 1, 1, id);
	assert_int_equal(count_blobs(bs, 7, NULL, NULL), 1005);
	assert_int_equal(blob_delete_tenant(bs, 7, &n), 0);
	assert_int_equal(n, 1005);
	blob_close(bs);
}

/* ---- a fault proxy: relays TCP to s3rver, or answers 503 SlowDown to whole connections ---- */

static struct {
	int listen_fd, port, upstream;
	atomic_int fail_next;      /* connections to answer with 503 */
	atomic_int failed;         /* 503s sent */
	atomic_int generation;     /* bumped to drop every relay */
	atomic_int relays;         /* relays still open */
	pthread_t thread;
} proxy;

struct relay {
	int a, gen;
};

static void *relay_main(void *arg)
{
	struct relay *rl = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)proxy.upstream) };
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[65536];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (b >= 0 && connect(b, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
		struct pollfd p[2] = { { rl->a, POLLIN, 0 }, { b, POLLIN, 0 } };

		while (atomic_load(&proxy.generation) == rl->gen) {
			int k = poll(p, 2, 100), i;

			if (k < 0)
				break;
			for (i = 0; i < 2 && k > 0; i++) {
				if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
					ssize_t n = read(p[i].fd, buf, sizeof(buf));

					if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
						goto done;
				}
			}
		}
	}
done:
	if (b >= 0)
		close(b);
	close(rl->a);
	free(rl);
	atomic_fetch_sub(&proxy.relays, 1);
	return NULL;
}

/* Reads the request's headers and body (Content-Length), answers 503 SlowDown, closes. */
static void answer_503(int fd)
{
	static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
				   "<Message>Please reduce your request rate.</Message></Error>";
	char buf[65536], resp[512], *cl;
	size_t have = 0;
	long want = -1;

	while (have < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *end;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (want < 0 && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "\ncontent-length:");
			want = (long)(end + 4 - buf) + (cl ? strtol(cl + 16, NULL, 10) : 0);
		}
		if (want >= 0 && (long)have >= want)
			break;
		if (want >= 0 && have == sizeof(buf) - 1)
			have = 0, want -= (long)sizeof(buf) - 1;   /* a big body: drain */
	}
	str_printf(resp, sizeof(resp), "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
				       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
	/* counted before it is sent: the client may act on the answer (and the test check the
	 * count) before this thread runs again */
	atomic_fetch_add(&proxy.failed, 1);
	if (write(fd, resp, strlen(resp)) < 0)
		fprintf(stderr, "proxy: write failed\n");
	close(fd);
}

static void *proxy_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(proxy.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;
		struct relay *rl;

		if (fd < 0)
			return NULL;
		if (atomic_load(&proxy.fail_next) > 0) {
			atomic_fetch_sub(&proxy.fail_next, 1);
			answer_503(fd);
			continue;
		}
		rl = malloc(sizeof(*rl));
		rl->a = fd;
		rl->gen = atomic_load(&proxy.generation);
		atomic_fetch_add(&proxy.relays, 1);
		pthread_create(&t, NULL, relay_main, rl);
		pthread_detach(t);
	}
}

static void proxy_start(int upstream)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	proxy.upstream = upstream;
	proxy.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(proxy.listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(proxy.listen_fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(listen(proxy.listen_fd, 64), 0);
	proxy.port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&proxy.thread, NULL, proxy_main, NULL), 0);
	pthread_detach(proxy.thread);
}

/* The next n connections get 503; open ones are dropped so the next request connects anew. */
static void proxy_fail(int n)
{
	atomic_store(&proxy.failed, 0);
	atomic_store(&proxy.fail_next, n);
	atomic_fetch_add(&proxy.generation, 1);
	/* every relay has seen the new generation (its 100 ms poll) and closed, so the next
	 * request connects anew: waited for, up to 60 s, not assumed after a fixed sleep that a
	 * loaded machine may not schedule the relays in */
	for (int i = 0; i < 60 * 100 && atomic_load(&proxy.relays) > 0; i++)
		usleep(10 * 1000);
	assert_int_equal(atomic_load(&proxy.relays), 0);
}

static void test_retry_on_503(void **state)
{
	struct blob_store *bs;
	struct blob_reader *r = NULL;
	unsigned char data[5000];
	char id[BLOB_ID_LEN + 1], lost[BLOB_ID_LEN + 1];
	struct blob_writer *w = NULL;
	unsigned found;

	(void)state;
	proxy_start(srv.port);
	bs = open_at(proxy.port);
	fill(data, sizeof(data), 11);
	/* two SlowDowns, then through: the put succeeds on its third try */
	proxy_fail(2);
	put(bs, 8, data, sizeof(data), 1000, id);
	assert_int_equal(atomic_load(&proxy.failed), 2);
	check(bs, 8, id, data, sizeof(data), 4096);
	/* more SlowDowns than KURA_S3_ATTEMPTS: the commit fails, nothing visible */
	assert_int_equal(blob_writer_open(bs, 8, &w), 0);
	str_copy(lost, sizeof(lost), blob_writer_id(w));
	assert_int_equal(blob_write(w, data, sizeof(data)), 0);
	proxy_fail(KURA_S3_ATTEMPTS);
	assert_int_equal(blob_commit(w), -EIO);
	assert_int_equal(atomic_load(&proxy.failed), KURA_S3_ATTEMPTS);
	assert_int_equal(blob_reader_open(bs, 8, lost, &r), -ENOENT);
	assert_int_equal(count_blobs(bs, 8, lost, &found), 1);
	assert_int_equal(found, 0);
	/* a read retried too */
	proxy_fail(1);
	check(bs, 8, id, data, sizeof(data), 4096);
	assert_int_equal(atomic_load(&proxy.failed), 1);
	assert_int_equal(blob_delete(bs, 8, id), 0);
	blob_close(bs);
}

/* The server dies between two parts of a multipart upload: the commit fails (after its
 * retries) and, with the server back on the same data, no object has the blob's id. */
static void test_server_down_mid_upload(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	size_t part = (size_t)KURA_S3_PART_MIB * 1024 * 1024;
	unsigned char *data = malloc(part);
	char id[BLOB_ID_LEN + 1];
	struct blob_writer *w = NULL;
	struct blob_reader *r = NULL;
	unsigned found;
	int port = srv.port;

	(void)state;
	assert_non_null(data);
	fill(data, part, 13);
	assert_int_equal(blob_writer_open(bs, 9, &w), 0);
	str_copy(id, sizeof(id), blob_writer_id(w));
	assert_int_equal(blob_write(w, data, part), 0);
	assert_int_equal(blob_write(w, data, part), 0);   /* the first part went out */
	s3rver_stop(&srv);
	assert_int_not_equal(blob_write(w, data, part), 0);   /* the second cannot */
	assert_int_not_equal(blob_commit(w), 0);
	assert_int_equal(s3rver_start(&srv, srv.dir, port), 0);
	assert_int_equal(blob_reader_open(bs, 9, id, &r), -ENOENT);
	assert_int_equal(count_blobs(bs, 9, id, &found), 0);
	assert_int_equal(found, 0);
	free(data);
	blob_close(bs);
}

/* s3rver does not check V4 signatures, so the signer is checked against known answers: the
 * two examples of AWS's "Signature Calculations for the Authorization Header" (virtual host,
 * query sorted) and two of kura's own shapes (path style, encoded query values), whose
 * signatures botocore 1.43 (S3SigV4Auth) computed for the same request and time. */
static void test_sigv4_known_answers(void **state)
{
	static const struct {
		const char *method, *path, *query, *host, *hash, *sig;
	} v[] = {
		{ "GET", "/", "max-keys=2&prefix=J", "examplebucket.s3.amazonaws.com",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },
		{ "GET", "/", "lifecycle=", "examplebucket.s3.amazonaws.com",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },
		{ "PUT", "/kura/unit/t/1/0123456789abcdef0123456789abcdef", "partNumber=2&uploadId=a%2Bb%3D",
		  "127.0.0.1:4568", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		  "b573daf6d9be1a9cb85047e5c01b4b87a918f8d52e26f6e5a82707f6c8fde227" },
		{ "GET", "/kura", "continuation-token=1%2F2%2B3%3D&list-type=2&max-keys=1000&prefix=unit%2Ft%2F",
		  "127.0.0.1:4568", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "69e093f0d29c12dafa0cbb784a3ee3ce188cd677740f0caef5ac77f7f7da7e7a" },
	};
	char auth[512], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(blob_s3_sigv4(&(struct blob_s3_sig){ .method = v[i].method, .path = v[i].path,
								      .query = v[i].query, .host = v[i].host,
								      .payload_hash = v[i].hash,
								      .amz_date = "20130524T000000Z",
								      .region = "us-east-1",
								      .access_key = "AKIAIOSFODNN7EXAMPLE",
								      .secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
					       auth, sizeof(auth)), 0);
		str_printf(want, sizeof(want), "Signature=%s", v[i].sig);
		assert_non_null(strstr(auth, want));
		assert_non_null(strstr(auth, "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
					     "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "));
	}
}

/* [blob] in kura.conf: checked as a whole; the secret never appears in a message. */
static void test_config(void **state)
{
	static const struct {
		const char *text;
		const char *want;   /* in the error, NULL: loads */
	} cases[] = {
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://127.0.0.1:9\naccess_key = a\nsecret_key = TOPSECRET\n", NULL },
		{ "[blob]\nurl = s3://kura\nendpoint = https://s3.example.com\nregion = eu-west-1\naccess_key = a\n"
		  "secret_key = TOPSECRET\naddressing = virtual\nca_file = /etc/ssl/ca.pem\npart_mib = 16\n", NULL },
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://s3.example.com\naccess_key = a\nsecret_key = TOPSECRET\n",
		  "loopback" },
		/* a DNS name that merely starts like a loopback address is not one */
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://127.attacker.example\naccess_key = a\nsecret_key = TOPSECRET\n",
		  "loopback" },
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://127.0.0.1.attacker.example:80\naccess_key = a\n"
		  "secret_key = TOPSECRET\n", "loopback" },
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://[::1].x\naccess_key = a\nsecret_key = TOPSECRET\n", "loopback" },
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://[::1]:9000\naccess_key = a\nsecret_key = TOPSECRET\n", NULL },
		{ "[blob]\nurl = s3://kura/p\nendpoint = http://localhost:9000\naccess_key = a\nsecret_key = TOPSECRET\n", NULL },
		{ "[blob]\nurl = s3://kura/p\nendpoint = https://h/path\naccess_key = a\nsecret_key = TOPSECRET\n", "endpoint" },
		{ "[blob]\nurl = s3://kura/p\nendpoint = https://h\naccess_key = a\n", "secret_key" },
		{ "[blob]\nurl = s3://Kura\nendpoint = https://h\naccess_key = a\nsecret_key = TOPSECRET\n", "bucket" },
		{ "[blob]\nurl = s3://kura/../x\nendpoint = https://h\naccess_key = a\nsecret_key = TOPSECRET\n", "prefix" },
		{ "[blob]\nurl = file:/x\n", "s3://" },
		{ "[blob]\nendpoint = https://h\nsecret_key = TOPSECRET\n", "leave them unset" },
		{ "[blob]\nurl = s3://kura\nendpoint = https://h\naccess_key = a\nsecret_key = TOPSECRET\nsecret = x\n",
		  "unknown setting [blob] secret" },
		{ "[blob]\nurl = s3://kura\nendpoint = https://h\naccess_key = a\nsecret_key = TOPSECRET\npart_mib = 5\n",
		  "part_mib" },
		{ "[blob]\nurl = s3://my.bucket\nendpoint = https://h\naccess_key = a\nsecret_key = TOPSECRET\n"
		  "addressing = virtual\n", "dots" },
	};
	char path[128], err[1024];
	struct config cfg;
	size_t i;

	(void)state;
	str_printf(path, sizeof(path), "%s/kura.conf", root);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		int r;

		assert_non_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		err[0] = '\0';
		r = config_load(&cfg, path, err, sizeof(err));
		if (!cases[i].want) {
			if (r != 0)
				fprintf(stderr, "case %zu: %s\n", i, err);
			assert_int_equal(r, 0);
			continue;
		}
		if (r == 0 || !strstr(err, cases[i].want))
			fprintf(stderr, "case %zu: want \"%s\" in \"%s\"\n", i, cases[i].want, err);
		assert_int_not_equal(r, 0);
		assert_non_null(strstr(err, cases[i].want));
		assert_null(strstr(err, "TOPSECRET"));
	}
	/* url unset: the local store, as before the seam */
	{
		struct blob_store *bs;
		char dir[128];

		config_defaults(&cfg);
		str_printf(dir, sizeof(dir), "%s/local", root);
		bs = blob_open(&cfg, dir, err, sizeof(err));
		assert_non_null(bs);
		assert_string_equal(blob_backend(bs), "local");
		assert_false(blob_shared(bs));
		blob_close(bs);
	}
	/* an unknown access key: the open fails and says so, without the secret */
	cfg = s3_config(srv.port, "s3://" S3RVER_BUCKET "/unit/t");
	str_copy(cfg.blob_access_key, sizeof(cfg.blob_access_key), "NOBODY");
	str_copy(cfg.blob_secret_key, sizeof(cfg.blob_secret_key), "TOPSECRET");
	assert_null(blob_open(&cfg, "/nonexistent", err, sizeof(err)));
	assert_non_null(strstr(err, "access denied"));
	assert_null(strstr(err, "TOPSECRET"));
	/* a bucket that does not exist */
	cfg = s3_config(srv.port, "s3://no-such-bucket");
	assert_null(blob_open(&cfg, "/nonexistent", err, sizeof(err)));
	assert_non_null(strstr(err, "no such bucket"));
}

/* Only what kura wrote is in the bucket: the bytes given to blob_write, nothing else (the
 * files module encrypts before; test_files' S3 run checks that no plaintext arrives). */
static void test_objects_on_disk(void **state)
{
	struct blob_store *bs = open_at(srv.port);
	char id[BLOB_ID_LEN + 1], path[1024];
	struct stat st;

	(void)state;
	put(bs, 10, "MARKER-BYTES", 12, 12, id);
	str_printf(path, sizeof(path), "%s/" S3RVER_BUCKET "/unit/t/10/%s._S3rver_object", srv.dir, id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 12);
	assert_int_equal(blob_delete(bs, 10, id), 0);
	assert_int_not_equal(stat(path, &st), 0);
	blob_close(bs);
}

static int setup(void **state)
{
	char dir[128];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	str_copy(root, sizeof(root), "/tmp/kura-blob-s3-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	str_printf(dir, sizeof(dir), "%s/s3", root);
	return s3rver_start(&srv, dir, 0);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	s3rver_stop(&srv);
	str_printf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_put_get_delete),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_delete_tenant_and_list),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_retry_on_503),
		cmocka_unit_test(test_server_down_mid_upload),
		cmocka_unit_test(test_sigv4_known_answers),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_objects_on_disk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
