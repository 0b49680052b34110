/*
 * Integration: large transfers on a real server (issue 11). A file of several MiB uploaded
 * (written behind on the local store, in parts on S3) comes back whole, and ranges across
 * chunk edges that the download read-ahead serves come back exact; a client that stops
 * reading a large download midway and then goes away leaves no thread behind in the server
 * (the read-ahead thread it had is joined). Runs on the local store and, in integration-pg,
 * on S3.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"

#define BIG ((size_t)(8 * 1024 * 1024 + 4321))   /* 129 chunks, the last one short */

static unsigned char *big;
static int64_t big_id;

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

static struct it_response *get_content(struct it_server *s, const struct it_session *sess, int64_t id,
				       const char *range)
{
	char path[128];
	const char *headers[] = { range, NULL };
	struct it_request req = { .method = "GET", .path = path, .cookie = sess->token,
				  .headers = range ? headers : NULL };

	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", (long long)id);
	return it_request(s, &req);
}

/* Threads of the server process (/proc/PID/task). */
/* The server's read-ahead threads (named kura-readahead, files_content.c): counted by name,
 * since other threads come and go on their own (the relaxed-commit syncer, write-behind
 * threads finishing, background jobs) and a count of all of them is not a count of these. */
static int server_threads(struct it_server *s)
{
	char p[96], comm[32];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/task", (int)s->pid);
	d = opendir(p);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%.16s/comm", (int)s->pid, de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;   /* the thread ended meanwhile */
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "kura-readahead", 14))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Waits (up to 30 s) until the server runs want read-ahead threads; the count it last saw. */
static int wait_threads(struct it_server *s, int want)
{
	int i, n = 0;

	for (i = 0; i < 300; i++) {
		n = server_threads(s);
		if (n == want)
			break;
		usleep(100 * 1000);
	}
	return n;
}

static void test_large_round_trip_and_ranges(void **state)
{
	struct it_world *w = *state;
	static const struct { uint64_t a, b; } ranges[] = {
		{ 65530, 2 * 1024 * 1024 + 100 },          /* from inside chunk 0 across many edges */
		{ 3 * 65536 - 1, BIG - 1 },                /* a chunk's last byte to the end */
		{ 100 * 65536, 100 * 65536 + 1024 * 1024 - 1 },   /* chunk-aligned, exactly 1 MiB */
	};
	char path[1024], range[96];
	struct it_request put = { .method = "PUT", .path = path, .body_len = BIG,
				  .content_type = "application/octet-stream", .cookie = w->auser.token,
				  .csrf = w->auser.csrf };
	struct it_response *r;
	size_t i;

	big = random_bytes(BIG, 11);
	put.body = (const char *)big;
	snprintf(path, sizeof(path), "/api/v1/folders/root/files/big.bin");
	r = it_request(w->s, &put);
	IT_ASSERT_STATUS(r, 201);
	big_id = json_integer_value(json_object_get(r->json, "id"));
	assert_int_equal(json_integer_value(json_object_get(r->json, "size")), (json_int_t)BIG);
	it_response_free(r);

	r = get_content(w->s, &w->auser, big_id, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, BIG);
	assert_memory_equal(r->body, big, BIG);
	it_response_free(r);
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint64_t n = ranges[i].b - ranges[i].a + 1;

		snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)ranges[i].a,
			 (unsigned long long)ranges[i].b);
		r = get_content(w->s, &w->auser, big_id, range);
		IT_ASSERT_STATUS(r, 206);
		assert_int_equal(r->body_len, n);
		assert_memory_equal(r->body, big + ranges[i].a, n);
		it_response_free(r);
	}
	snprintf(range, sizeof(range), "Range: bytes=-%zu", (size_t)1500000);   /* a suffix */
	r = get_content(w->s, &w->auser, big_id, range);
	IT_ASSERT_STATUS(r, 206);
	assert_int_equal(r->body_len, 1500000);
	assert_memory_equal(r->body, big + BIG - 1500000, 1500000);
	it_response_free(r);
}

/* A client that stops reading midway holds the download (and its read-ahead thread) until it
 * goes; once it has gone, the server is back to the threads it had. */
static void test_client_gone_mid_download(void **state)
{
	struct it_world *w = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)w->s->port) };
	char head[1024], buf[65536];
	int fd, n, before, during, rcvbuf = 32 * 1024;
	size_t got = 0;

	assert_true(big_id > 0);
	before = server_threads(w->s);
	n = snprintf(head, sizeof(head),
		     "GET /api/v1/files/%lld/content HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: kura_session=%s\r\n\r\n",
		     (long long)big_id, w->auser.token);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	/* a small window, so that most of the body waits in the server, not in socket buffers */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(it_raw_send(fd, head, (size_t)n), 0);
	while (got < 300000) {
		ssize_t k = read(fd, buf, sizeof(buf));

		assert_true(k > 0);
		got += (size_t)k;
	}
	/* the download is under way: its read-ahead thread runs (or waits for a free slot) */
	during = wait_threads(w->s, before + 1);
	assert_int_equal(during, before + 1);
	close(fd);
	assert_int_equal(wait_threads(w->s, before), before);
	/* and the server still serves */
	{
		struct it_response *r = get_content(w->s, &w->auser, big_id, "Range: bytes=0-99");

		IT_ASSERT_STATUS(r, 206);
		assert_memory_equal(r->body, big, 100);
		it_response_free(r);
	}
	free(big);
	big = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_round_trip_and_ranges),
		cmocka_unit_test(test_client_gone_mid_download),
	};

	return cmocka_run_group_tests(tests, it_setup_world, it_teardown_world);
}
