/*
 * Integration test: the mail outbox keeps no working links (issue 14, docs/security.md
 * "Mail bodies"). An invitation, a password reset and a share-link mail are sent through
 * the real SMTP sink; once the outbox says they are sent, the raw bytes of kura.db and its
 * WAL must not contain any of their tokens (queued bodies are sealed, sent ones erased),
 * while the delivery log still has recipient, subject, state, message id and size. The
 * outbox's state comes from `kura admin mail queue` (counts only); the database files are
 * read raw on purpose, to show what is not in them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define WAIT_S 30

/* The outbox as the provider sees it (`kura admin mail queue`: counts, no content): how many
 * mails are not sent (queued, deferred or failed), and how many still hold a body. */
static long not_sent(struct it_server *s, long *ret_bodies, long *ret_sent)
{
	json_t *j = NULL;
	long n;

	assert_int_equal(it_admin(s, &j, "mail", "queue", NULL), 0);
	n = (long)(json_integer_value(json_object_get(j, "queued")) + json_integer_value(json_object_get(j, "deferred")) +
		   json_integer_value(json_object_get(j, "failed")));
	if (ret_sent)
		*ret_sent = (long)json_integer_value(json_object_get(j, "sent"));
	if (ret_bodies)
		*ret_bodies = (long)json_integer_value(json_object_get(j, "bodies_kept"));
	json_decref(j);
	return n;
}

/* The 43-character token after marker ("/reset/", "/s/") in text, into out. */
static void token_after(const char *text, const char *marker, char *out, size_t size)
{
	const char *p = strstr(text, marker);
	size_t n;

	assert_non_null(p);
	p += strlen(marker);
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	assert_int_equal(n, 43);
	assert_true(n < size);
	memcpy(out, p, n);
	out[n] = '\0';
}

static const char *mail_body(struct it_server *s, const char *to, char *buf, size_t size)
{
	struct it_mail *m = it_wait_for_mail(s, to, WAIT_S);

	assert_non_null(m);
	snprintf(buf, size, "%s", m->body);
	it_mail_free(m);
	return buf;
}

/* Is needle anywhere in the file's raw bytes? (A missing file holds nothing.) */
static bool file_has(const char *path, const char *needle)
{
	size_t n = 0, k = strlen(needle);
	char *raw = it_read_file(path, &n);
	bool found = false;

	for (size_t i = 0; raw && i + k <= n && !found; i++)
		found = !memcmp(raw + i, needle, k);
	free(raw);
	return found;
}

static void test_no_tokens_in_database(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	char body[8192], tokens[3][64], path[512], db[IT_STR + 16], wal[IT_STR + 16];
	struct it_response *r;
	json_t *items;
	char *inv;
	int64_t fid;
	double end;
	long bodies = -1, sent = 0;
	size_t i;

	/* an invitation */
	r = it_send(s, &w->amgr, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "carol", "email", "carol@alpha.example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	inv = it_extract_invitation_token(mail_body(s, "carol@alpha.example.com", body, sizeof(body)));
	assert_non_null(inv);
	snprintf(tokens[0], sizeof(tokens[0]), "%s", inv);
	free(inv);

	/* a password reset */
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "alpha", "login", "auser"));
	IT_ASSERT_STATUS(r, 202);
	it_response_free(r);
	token_after(mail_body(s, "auser@alpha.example.com", body, sizeof(body)), "/reset/", tokens[1], sizeof(tokens[1]));

	/* a share link mailed to a recipient */
	snprintf(path, sizeof(path), "/api/v1/folders/root/files/report.txt");
	{
		struct it_request req = { .method = "PUT", .path = path, .body = "hello", .body_len = 5,
					  .content_type = "application/octet-stream", .cookie = w->auser.token,
					  .csrf = w->auser.csrf };

		r = it_request(s, &req);
		assert_true(r->status == 201 || r->status == 200);
		fid = json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
	}
	r = it_send(s, &w->auser, "POST", "/api/v1/shares",
		    json_pack("{s:I, s:[s]}", "node_id", (json_int_t)fid, "recipients", "partner@example.org"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	token_after(mail_body(s, "partner@example.org", body, sizeof(body)), "/s/", tokens[2], sizeof(tokens[2]));

	/* every mail recorded as sent (the SMTP sink has them before the sender records it) */
	end = (double)time(NULL) + WAIT_S;
	while (not_sent(s, NULL, NULL) != 0 && (double)time(NULL) < end)
		usleep(50 * 1000);
	assert_int_equal(not_sent(s, &bodies, &sent), 0);
	assert_true(sent >= 6);   /* the world's three invitations and these three */
	assert_int_equal(bodies, 0);   /* every sent mail's body erased */

	/* the raw bytes of the database and its write-ahead log hold none of the links */
	snprintf(db, sizeof(db), "%s/kura.db", s->data);
	snprintf(wal, sizeof(wal), "%s/kura.db-wal", s->data);
	for (i = 0; i < 3; i++) {
		if (file_has(db, tokens[i]) || file_has(wal, tokens[i]))
			print_error("token %zu (%s) found in the database files\n", i, tokens[i]);
		assert_false(file_has(db, tokens[i]));
		assert_false(file_has(wal, tokens[i]));
	}

	/* the delivery log keeps what it needs */
	r = it_get(s, &w->amgr, "/api/v1/mail-log");
	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_true(json_array_size(items) >= 3);
	for (i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);

		assert_string_equal(it_json_str(it, "state"), "sent");
		assert_true(json_integer_value(json_object_get(it, "size")) > 0);
		assert_non_null(strstr(it_json_str(it, "message_id"), "@kura>"));
		assert_true(strlen(it_json_str(it, "subject")) > 0);
		assert_null(json_object_get(it, "body"));
	}
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_tokens_in_database, it_setup_world, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
