/*
 * Integration (issue 14): request header lines that libmicrohttpd 0.9.75 accepts but a proxy
 * in front may read otherwise (request smuggling) are refused with 400 invalid-header, and
 * the connection is closed, so nothing after them is read as another request. Exact bytes
 * over raw sockets: white space before the colon ("Transfer-Encoding : chunked"), obs-fold
 * continuation lines, NUL and other control bytes in values, bare LF line ends, duplicate
 * Host / Content-Length / Transfer-Encoding, Transfer-Encoding with Content-Length, codings
 * other than chunked, a header name that is not a token, a NUL in the request target. And
 * what is fine stays fine: no or several spaces or a tab after the colon, HTTP/1.0 without
 * Host, pipelined requests on one connection, a chunked body. And an answer decided before
 * a body the client sends without asking waits for that body's end (the connection is kept).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define READ_DEADLINE_S 15.0   /* generous: the server answers at once */

/* Number of "HTTP/1.1 NNN " status lines in text (kura's bodies do not hold that string). */
static int count_responses(const char *text)
{
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, "HTTP/1.1 ")) != NULL) {
		if (p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' &&
		    p[11] <= '9' && p[12] == ' ')
			n++;
		p += 9;
	}
	return n;
}

/* Sends n raw bytes on a fresh connection and reads until the server closes it. */
static char *exchange(struct it_server *s, const char *bytes, size_t n, bool *ret_closed)
{
	int fd = it_raw_connect(s, NULL);
	char *out;

	assert_true(fd >= 0);
	assert_int_equal(it_raw_send(fd, bytes, n), 0);
	out = it_raw_read(fd, READ_DEADLINE_S, ret_closed);
	close(fd);
	return out;
}

/* The request is refused with one 400 invalid-header problem and the connection closed. */
static void expect_refused_at(struct it_server *s, const char *bytes, size_t n, const char *file, int line)
{
	bool closed = false;
	char *out = exchange(s, bytes, n, &closed);
	const char *body = strstr(out, "\r\n\r\n");
	json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
	const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;

	if (strncmp(out, "HTTP/1.1 400 ", 13) || !strstr(out, "application/problem+json") || !type ||
	    strcmp(type, IT_PROBLEM_PREFIX "invalid-header") || count_responses(out) != 1 || !closed) {
		print_error("request:\n%.*s\n---\nanswer (%s):\n%s\n", (int)n, bytes,
			    closed ? "closed" : "still open", out);
		json_decref(j);
		free(out);
		_fail(file, line);
		return;
	}
	json_decref(j);
	free(out);
}
#define EXPECT_REFUSED(s, lit) expect_refused_at(s, lit, sizeof(lit) - 1, __FILE__, __LINE__)

/* Each request is answered with want_status; `n_responses` status lines in all. */
static void expect_served_at(struct it_server *s, const char *bytes, size_t n, const char *want_status,
			     int n_responses, const char *file, int line)
{
	bool closed = false;
	char *out = exchange(s, bytes, n, &closed);
	const char *p = out;
	int i;

	for (i = 0; i < n_responses && p; i++) {
		p = strstr(p, "HTTP/1.");
		if (p && strncmp(p + 9, want_status, strlen(want_status)))
			p = NULL;
		else if (p)
			p += 9;
	}
	if (!p || count_responses(out) != n_responses) {
		print_error("request:\n%.*s\n---\nanswer (want %d x %s):\n%s\n", (int)n, bytes, n_responses,
			    want_status, out);
		free(out);
		_fail(file, line);
		return;
	}
	free(out);
}
#define EXPECT_SERVED(s, lit, st, n) expect_served_at(s, lit, sizeof(lit) - 1, st, n, __FILE__, __LINE__)

#define STATUS "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
#define CLOSE "Connection: close\r\n\r\n"

static void test_smuggling_vectors_refused(void **state)
{
	struct it_server *s = *state;

	/* white space before the colon: MHD took it as an unknown header and framed the body by
	 * Content-Length, so "GET /api/v1/status" after the 5 bytes "0\r\n\r\n" was a second
	 * request (a proxy honouring the chunked coding sees one request) */
	EXPECT_REFUSED(s, "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nTransfer-Encoding : chunked\r\n"
			  "Content-Length: 5\r\n\r\n0\r\n\r\n" STATUS CLOSE);
	EXPECT_REFUSED(s, "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A\t: b\r\n" CLOSE);
	/* obs-fold: MHD glued the continuation to the previous header's name */
	EXPECT_REFUSED(s, STATUS "X-A: one\r\n two\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS "X-A: one\r\n\tTransfer-Encoding: chunked\r\n" CLOSE);
	/* NUL and control bytes in values (MHD cut the value at the NUL) */
	EXPECT_REFUSED(s, STATUS "X-A: a\0b\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS "Transfer-Encoding: chunked\0\r\nContent-Length: 0\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS "X-A: a\x01z\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS "X-A: a\x7fz\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS "X-A: a\rb\r\n" CLOSE);
	/* a bare LF ends a line for MHD, not for every proxy */
	EXPECT_REFUSED(s, "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\nX-A: b\r\n" CLOSE);
	EXPECT_REFUSED(s, "GET /api/v1/status HTTP/1.1\nHost: 127.0.0.1\r\n" CLOSE);
	/* duplicates and conflicting framing */
	EXPECT_REFUSED(s, STATUS "Host: evil.example\r\n" CLOSE);
	EXPECT_REFUSED(s, "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}");
	EXPECT_REFUSED(s, "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n"
			  "\r\n2\r\n{}\r\n0\r\n\r\n");
	EXPECT_REFUSED(s, "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
			  "2\r\n{}\r\n0\r\n\r\n");
	EXPECT_REFUSED(s, "POST /api/v1/session HTTP/1.0\r\nContent-Type: application/json\r\n"
			  "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
	/* names that are not tokens, and an empty one */
	EXPECT_REFUSED(s, STATUS "X(A): b\r\n" CLOSE);
	EXPECT_REFUSED(s, STATUS ": b\r\n" CLOSE);
	/* a NUL in the request target (MHD's string ends there) and a doubled space */
	EXPECT_REFUSED(s, "GET /api/v1/status\0/x HTTP/1.1\r\nHost: 127.0.0.1\r\n" CLOSE);
	EXPECT_REFUSED(s, "GET  /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" CLOSE);
	/* a target over KURA_MAX_URL_BYTES (2048) goes through the same checks: CL + TE with a
	 * smuggled request behind is refused (the security review found the long target skipped
	 * them, answered 414, kept the connection, and served the smuggled request) */
	{
		char req[8192], q[3100];
		int n;

		memset(q, 'a', sizeof(q) - 1);
		q[sizeof(q) - 1] = '\0';
		n = snprintf(req, sizeof(req), "GET /api/v1/status?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
			     "GET /api/v1/provider HTTP/1.1\r\nHost: 127.0.0.1\r\n" CLOSE, q);
		expect_refused_at(s, req, (size_t)n, __FILE__, __LINE__);
		/* well-formed but too long: 414, and the connection ends with it */
		n = snprintf(req, sizeof(req), "GET /api/v1/status?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
			     STATUS CLOSE, q);
		{
			bool closed = false;
			char *out = exchange(s, req, (size_t)n, &closed);

			assert_int_equal(strncmp(out, "HTTP/1.1 414 ", 13), 0);
			assert_int_equal(count_responses(out), 1);
			assert_true(closed);
			free(out);
		}
	}
}

static void test_wellformed_requests_served(void **state)
{
	struct it_server *s = *state;

	EXPECT_SERVED(s, STATUS "Accept:*/*\r\nX-A: \t spaced \t\r\n" CLOSE, "200", 1);
	EXPECT_SERVED(s, "GET /api/v1/status?x=%20y HTTP/1.0\r\n\r\n", "200", 1);
	EXPECT_SERVED(s, "\r\nGET /api/v1/status HTTP/1.0\r\n\r\n", "200", 1);   /* RFC 9112 2.2 */
	/* keep-alive: three pipelined requests on one connection, a body in between */
	EXPECT_SERVED(s, STATUS "\r\n"
			 "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			 "Content-Length: 2\r\n\r\n{}"
			 STATUS "User-Agent: strict-test\r\n" CLOSE, "", 3);
	/* a chunked body (the login is refused for its content, not its framing) */
	{
		static const char req[] = "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
					  "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
					  "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
		bool closed = false;
		char *out = exchange(s, req, sizeof(req) - 1, &closed);

		assert_int_equal(strncmp(out, "HTTP/1.1 400 ", 13), 0);
		assert_null(strstr(out, "invalid-header"));
		assert_non_null(strstr(out, "invalid-field"));
		free(out);
	}
}

/* --- answers before a body the client sends without asking ---------------------------- */

#define UNASKED_BODY (1024 * 1024)   /* well under KURA_REFUSED_BODY_MAX (16 MiB) */
#define REFUSED_BODY_MAX (16 * 1024 * 1024)

/* Sends head, then body_n bytes of 'x' (chunked in 64 KiB chunks and a last chunk when
 * chunked), the way a client that does not wait for an interim answer does. The result of
 * the sends: 0, or -errno once the server stopped reading. */
static int send_unasked(int fd, const char *head, size_t body_n, bool chunked)
{
	static char piece[64 * 1024];
	int r = it_raw_send(fd, head, strlen(head));

	memset(piece, 'x', sizeof(piece));
	while (r == 0 && body_n > 0) {
		size_t k = body_n < sizeof(piece) ? body_n : sizeof(piece);
		char size_line[32];

		if (chunked) {
			snprintf(size_line, sizeof(size_line), "%zx\r\n", k);
			r = it_raw_send(fd, size_line, strlen(size_line));
		}
		if (r == 0)
			r = it_raw_send(fd, piece, k);
		if (r == 0 && chunked)
			r = it_raw_send(fd, "\r\n", 2);
		body_n -= k;
	}
	if (r == 0 && chunked)
		r = it_raw_send(fd, "0\r\n\r\n", 5);
	return r;
}

/* The answer to what was sent on fd starts with "HTTP/1.1 <status> " and the connection
 * serves the next request: the body was read to its end, not left to turn the close into
 * a reset. */
static void expect_answer_then_served(int fd, const char *status)
{
	bool closed = false;
	char *out = it_raw_read_response(fd, READ_DEADLINE_S, &closed);
	char want[16];

	snprintf(want, sizeof(want), "HTTP/1.1 %s ", status);
	if (strncmp(out, want, strlen(want)) || count_responses(out) != 1 || closed) {
		print_error("answer (want %s, connection kept; %s):\n%s\n", status,
			    closed ? "closed" : "open", out);
		free(out);
		fail();
	}
	free(out);
	assert_int_equal(it_raw_send(fd, STATUS CLOSE, strlen(STATUS CLOSE)), 0);
	out = it_raw_read(fd, READ_DEADLINE_S, &closed);
	assert_int_equal(strncmp(out, "HTTP/1.1 200 ", 13), 0);
	assert_int_equal(count_responses(out), 1);
	free(out);
}

#define DAV_PUT "PUT /dav/acme/early.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"

/* A refusal decided from the headers alone (401 without credentials, 413 from a JSON
 * route's Content-Length) waits until a body the client sends without Expect:
 * 100-continue is read and dropped, then keeps the connection: Windows' and many
 * libraries' PUTs, which otherwise saw a reset instead of the 401 that asks for the
 * password. A client that asks first gets the answer at once; a body over
 * KURA_REFUSED_BODY_MAX is not read for nothing. */
static void test_early_answer_waits_for_body(void **state)
{
	struct it_server *s = *state;
	char head[512];
	bool closed = false;
	char *out;
	int fd;

	/* Content-Length, no credentials */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	snprintf(head, sizeof(head), DAV_PUT "Content-Length: %d\r\n\r\n", UNASKED_BODY);
	assert_int_equal(send_unasked(fd, head, UNASKED_BODY, false), 0);
	expect_answer_then_served(fd, "401");
	close(fd);

	/* chunked */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	assert_int_equal(send_unasked(fd, DAV_PUT "Transfer-Encoding: chunked\r\n\r\n", UNASKED_BODY, true), 0);
	expect_answer_then_served(fd, "401");
	close(fd);

	/* a JSON route's body over 64 KiB: 413 after the body */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	snprintf(head, sizeof(head), "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", 100 * 1024);
	assert_int_equal(send_unasked(fd, head, 100 * 1024, false), 0);
	expect_answer_then_served(fd, "413");
	close(fd);

	/* Expect: 100-continue: the answer at once, no 100, the connection ends */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	snprintf(head, sizeof(head), DAV_PUT "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		 UNASKED_BODY);
	assert_int_equal(it_raw_send(fd, head, strlen(head)), 0);
	out = it_raw_read(fd, READ_DEADLINE_S, &closed);
	assert_int_equal(strncmp(out, "HTTP/1.1 401 ", 13), 0);
	assert_null(strstr(out, "100 Continue"));
	assert_true(closed);
	free(out);
	close(fd);

	/* over the bound: the answer at once, before any of the body, and the end */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	snprintf(head, sizeof(head), DAV_PUT "Content-Length: %d\r\n\r\n", REFUSED_BODY_MAX + 1);
	assert_int_equal(it_raw_send(fd, head, strlen(head)), 0);
	out = it_raw_read(fd, READ_DEADLINE_S, &closed);
	assert_int_equal(strncmp(out, "HTTP/1.1 401 ", 13), 0);
	assert_true(closed);
	free(out);
	close(fd);

	/* chunked past the bound: dropped up to it, then the connection ends */
	fd = it_raw_connect(s, NULL);
	assert_true(fd >= 0);
	(void)send_unasked(fd, DAV_PUT "Transfer-Encoding: chunked\r\n\r\n", REFUSED_BODY_MAX + 256 * 1024, true);
	assert_true(it_raw_wait_closed(fd, READ_DEADLINE_S));
	close(fd);

	/* and the server goes on */
	EXPECT_SERVED(s, STATUS CLOSE, "200", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smuggling_vectors_refused),
		cmocka_unit_test(test_wellformed_requests_served),
		cmocka_unit_test(test_early_answer_waits_for_body),
	};
	return cmocka_run_group_tests(tests, it_setup_server, it_teardown_server);
}
