/*
 * Event reports and notices (issue 9; G2, G3, W4), against a real kura serve and a real SMTP
 * server: a report thread both ways (the tenant's messages mailed to the operators' desk,
 * the operator's through kura admin mailed to the managers and shown in the portal's API),
 * every such mail in the tenant's delivery log; attachments sealed at rest (the marker is
 * nowhere under the data directory) and bounded; a records request answered with a signed
 * export that `kura audit verify` checks offline and that fails when one byte changes;
 * notices with first-reading receipts and their CSV; the other tenant sees none of it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DESK "desk@provider.example"

static int setup(void **state)
{
	struct it_world *w = calloc(1, sizeof(*w));
	const struct it_options o = { .extra_config = "[provider]\nreports_mail = " DESK "\n" };

	if (!w)
		return -1;
	w->s = it_server_start(&o);
	if (!w->s) {
		free(w);
		return -1;
	}
	*state = w;
	it_create_tenant(w->s, "alpha", NULL);
	it_create_tenant(w->s, "bravo", NULL);
	it_create_manager(w->s, "alpha", "amgr", IT_A_MGR_PW, &w->amgr);
	it_create_manager(w->s, "bravo", "bmgr", IT_B_MGR_PW, &w->bmgr);
	it_create_account(w->s, &w->amgr, "alpha", "auser", "user", IT_A_USER_PW, &w->auser);
	return 0;
}

static struct it_response *post_json(struct it_server *s, const struct it_session *sess, const char *path,
				     const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	struct it_response *r;

	assert_non_null(j);
	r = it_send(s, sess, "POST", path, j);   /* takes j */
	return r;
}

static struct it_response *post_raw(struct it_server *s, const struct it_session *sess, const char *path,
				    const void *data, size_t n, const char *type)
{
	const struct it_request rq = { .method = "POST", .path = path, .body = data, .body_len = n,
				       .content_type = type, .cookie = sess->token, .csrf = sess->csrf };

	return it_request(s, &rq);
}

static long long new_report(struct it_world *w, const char *body)
{
	struct it_response *r = post_json(w->s, &w->amgr, "/api/v1/reports", body);
	long long id;

	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	assert_true(id > 0);
	it_response_free(r);
	return id;
}

/* Does any file under dir hold needle? */
static bool tree_holds(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[1024];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found = tree_holds(path, needle);
		} else if (S_ISREG(st.st_mode)) {
			size_t n = 0;
			char *raw = it_read_file(path, &n);

			found = raw && memmem(raw, n, needle, strlen(needle)) != NULL;
			free(raw);
		}
	}
	closedir(d);
	return found;
}

/* The tenant's delivery log has a sent (or queued) mail to `to` with subject containing sub. */
static bool in_mail_log(struct it_world *w, const char *to, const char *sub)
{
	struct it_response *r = it_get(w->s, &w->amgr, "/api/v1/mail-log?limit=100");
	json_t *items, *it;
	bool found = false;
	size_t i;

	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	json_array_foreach(items, i, it) {
		const char *rcpt = it_json_str(it, "recipient"), *subject = it_json_str(it, "subject");

		if (rcpt && strstr(rcpt, to) && subject && strstr(subject, sub))
			found = true;
	}
	it_response_free(r);
	return found;
}

static void test_thread_both_ways(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	struct it_mail *m;
	char path[128], file[IT_STR + 32];
	long long id;
	json_t *msgs;
	FILE *f;

	id = new_report(w, "{\"category\": \"failure\", \"title\": \"Login fails\","
			   " \"description\": \"Nobody can sign in since 9:00.\\nSecond line.\"}");
	/* tenant -> operators' desk */
	m = it_wait_for_mail(w->s, DESK, 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "Nobody can sign in since 9:00."));
	assert_non_null(strstr(m->body, "alpha"));
	it_mail_free(m);
	assert_true(in_mail_log(w, DESK, "Login fails"));

	/* the operator sees it and replies with a file */
	{
		json_t *res = NULL;

		assert_int_equal(it_admin(w->s, &res, "report", "list", "--open", NULL), 0);
		char *txt = json_dumps(res, 0);

		assert_non_null(strstr(txt, "Login fails"));
		free(txt);
		json_decref(res);
	}
	snprintf(file, sizeof(file), "%s/reply.txt", w->s->root);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("We are looking into it.\nA fix is coming.\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%lld", id);
	assert_int_equal(it_admin(w->s, NULL, "report", "reply", path, "--body-file", file, NULL), 0);
	/* provider -> managers by mail, and in the portal's thread */
	m = it_wait_for_mail(w->s, "amgr", 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "We are looking into it."));
	assert_non_null(strstr(m->body, "/reports#"));
	it_mail_free(m);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	msgs = json_object_get(r->json, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(it_json_str(json_array_get(msgs, 1), "side"), "provider");
	assert_non_null(strstr(it_json_str(json_array_get(msgs, 1), "body"), "A fix is coming."));
	it_response_free(r);

	/* the tenant answers in the thread: mailed to the desk again */
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/messages", id);
	r = post_json(w->s, &w->amgr, path, "{\"body\": \"Thank you, it works again.\"}");
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(w->s, DESK, 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "Thank you, it works again."));
	it_mail_free(m);

	/* the operator closes: mailed, and the thread takes nothing more */
	snprintf(path, sizeof(path), "%lld", id);
	assert_int_equal(it_admin(w->s, NULL, "report", "close", path, NULL), 0);
	assert_int_not_equal(it_admin(w->s, NULL, "report", "close", path, NULL), 0);
	m = it_wait_for_mail(w->s, "amgr", 30);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "closed this report"));
	it_mail_free(m);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/messages", id);
	r = post_json(w->s, &w->amgr, path, "{\"body\": \"one more\"}");
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* every mail of the thread is in the delivery log */
	assert_true(in_mail_log(w, "amgr", "report #"));

	/* the operator reads the thread: recorded in the tenant's chain first (C7) */
	snprintf(path, sizeof(path), "%lld", id);
	assert_int_equal(it_admin(w->s, NULL, "report", "show", path, NULL), 0);
	assert_true(it_audit_count(w->s, &w->amgr, "action=report.show&category=operator") == 1);

	/* recorded in the tenant's chain (both sides) */
	assert_true(it_audit_count(w->s, &w->amgr, "action=report.create") == 1);
	assert_true(it_audit_count(w->s, &w->amgr, "action=report.message") == 2);
	assert_true(it_audit_count(w->s, &w->amgr, "action=report.close&category=operator") == 1);
}

static void test_bad_input(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	static const char *const bad[] = {
		"{\"category\": \"gossip\", \"title\": \"t\", \"description\": \"d\"}",
		"{\"category\": \"other\", \"title\": \"two\\nlines\", \"description\": \"d\"}",
		"{\"category\": \"other\", \"title\": \"t\", \"description\": \"cr\\r\\nlf\"}",
		"{\"category\": \"other\", \"title\": \"\", \"description\": \"d\"}",
		"{\"category\": \"other\", \"title\": \"t\"}",
		"{\"category\": \"other\", \"title\": \"t\", \"description\": \"d\", \"from\": \"2026-01-01T00:00:00Z\"}",
		"{\"kind\": \"records-request\", \"title\": \"t\", \"description\": \"d\", \"from\": \"yesterday\","
		" \"to\": \"2026-01-01T00:00:00Z\"}",
		"{\"kind\": \"records-request\", \"title\": \"t\", \"description\": \"d\", \"from\": \"2026-02-01T00:00:00Z\","
		" \"to\": \"2026-01-01T00:00:00Z\"}",
		"{\"category\": \"other\", \"title\": \"t\", \"description\": \"d\", \"extra\": 1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post_json(w->s, &w->amgr, "/api/v1/reports", bad[i]);
		if (r->status != 400)
			print_error("case %zu answered %ld\n", i, r->status);
		assert_int_equal(r->status, 400);
		it_response_free(r);
	}
	/* users do not file reports: their managers do */
	r = post_json(w->s, &w->auser, "/api/v1/reports", "{\"category\": \"other\", \"title\": \"t\", \"description\": \"d\"}");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->amgr, "/api/v1/reports/0", 404);
	IT_EXPECT_GET(w->s, &w->amgr, "/api/v1/reports/abc", 404);
}

static void test_attachments_sealed_and_bounded(void **state)
{
	struct it_world *w = *state;
	static const char marker[] = "PLAINTEXT-MARKER-7f3a9c-report-attachment";
	struct it_response *r;
	char path[160];
	long long id, aid;
	char *big;

	id = new_report(w, "{\"category\": \"security-incident\", \"title\": \"Phishing\","
			   " \"description\": \"See the attached headers.\"}");
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=headers.txt", id);
	r = post_raw(w->s, &w->amgr, path, marker, strlen(marker), "text/plain");
	IT_ASSERT_STATUS(r, 201);
	aid = json_integer_value(json_object_get(r->json, "attachment_id"));
	assert_true(aid > 0);
	assert_int_equal(json_array_size(json_object_get(r->json, "attachments")), 1);
	it_response_free(r);

	/* the download gives the bytes back; the disk never held them */
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments/%lld", id, aid);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, strlen(marker));
	assert_memory_equal(r->body, marker, strlen(marker));
	assert_non_null(strstr(r->headers, "headers.txt"));
	it_response_free(r);
	assert_false(tree_holds(w->s->data, marker));
	assert_false(tree_holds(w->s->data, "PLAINTEXT-MARKER"));
	/* a tenant key rotation re-wraps the attachment's key with the files' (the old key is gone) */
	assert_int_equal(it_admin(w->s, NULL, "tenant", "rotate-key", "alpha", NULL), 0);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_memory_equal(r->body, marker, strlen(marker));
	it_response_free(r);

	/* bounds: one over the size, a bad name, and the count */
	big = calloc(1, 4 * 1024 * 1024 + 1);
	assert_non_null(big);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=big.bin", id);
	{
		/* refused from its Content-Length: with Expect the body is never sent (without it
		 * curl may still be sending when the server answers and closes: a broken pipe) */
		static const char *const expect[] = { "Expect: 100-continue", NULL };
		const struct it_request rq = { .method = "POST", .path = path, .body = big,
					       .body_len = 4 * 1024 * 1024 + 1,
					       .content_type = "application/octet-stream", .cookie = w->amgr.token,
					       .csrf = w->amgr.csrf, .headers = expect };

		r = it_request(w->s, &rq);
	}
	IT_ASSERT_PROBLEM(r, 413, "file-too-large");
	it_response_free(r);
	free(big);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=a%%2Fb", id);
	r = post_raw(w->s, &w->amgr, path, "x", 1, "text/plain");
	IT_ASSERT_PROBLEM(r, 400, "invalid-parameter");
	it_response_free(r);
	for (int i = 1; i < 10; i++) {
		snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=n%d.txt", id, i);
		r = post_raw(w->s, &w->amgr, path, "x", 1, "text/plain");
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
	}
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=eleven.txt", id);
	r = post_raw(w->s, &w->amgr, path, "x", 1, "text/plain");
	IT_ASSERT_PROBLEM(r, 409, "limit-reached");
	it_response_free(r);

	/* attachments count against the tenant's storage quota */
	{
		struct it_response *b = post_json(w->s, &w->bmgr, "/api/v1/reports",
						  "{\"category\": \"other\", \"title\": \"Quota\", \"description\": \"q\"}");
		long long bid = json_integer_value(json_object_get(b->json, "id"));
		static char kb[2048];

		IT_ASSERT_STATUS(b, 201);
		it_response_free(b);
		it_mail_free(it_wait_for_mail(w->s, DESK, 30));
		assert_int_equal(it_admin(w->s, NULL, "tenant", "set-quota", "bravo", "1000", NULL), 0);
		memset(kb, 'k', sizeof(kb));
		snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=kb.bin", bid);
		b = post_raw(w->s, &w->bmgr, path, kb, sizeof(kb), "application/octet-stream");
		IT_ASSERT_PROBLEM(b, 507, "quota-exceeded");
		it_response_free(b);
		b = post_raw(w->s, &w->bmgr, path, kb, 100, "application/octet-stream");
		IT_ASSERT_STATUS(b, 201);
		it_response_free(b);
		b = it_get(w->s, &w->bmgr, "/api/v1/quota");
		IT_ASSERT_STATUS(b, 200);
		assert_int_equal(json_integer_value(json_object_get(b->json, "content_bytes")), 100);
		assert_int_equal(json_integer_value(json_object_get(b->json, "used_bytes")),
				 100 + json_integer_value(json_object_get(b->json, "item_bytes")));
		it_response_free(b);
	}

	/* the other tenant's manager: not found, and not even an upload of its own */
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments/%lld", id, aid);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments?name=x.txt", id);
	r = post_raw(w->s, &w->bmgr, path, "x", 1, "text/plain");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	/* a restart's sweep of unreferenced blobs keeps the attachment (its blob is named by
	 * report_attachments, not by a file) */
	assert_int_equal(it_server_restart(w->s), 0);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/attachments/%lld", id, aid);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, strlen(marker));
	assert_memory_equal(r->body, marker, strlen(marker));
	it_response_free(r);
}

static void test_records_request_verifies_offline(void **state)
{
	struct it_world *w = *state;
	struct it_response *r, *pk;
	char path[160], file[IT_STR + 32], idtxt[24], *out = NULL, *err = NULL, *p;
	long long id, eid;
	const char *key;
	int status;
	FILE *f;

	/* something provider-side about alpha first: an operator reply in another report */
	id = new_report(w, "{\"category\": \"question\", \"title\": \"Q\", \"description\": \"q\"}");
	{
		struct it_mail *m = it_wait_for_mail(w->s, DESK, 30);

		it_mail_free(m);
	}
	snprintf(file, sizeof(file), "%s/answer.txt", w->s->root);
	f = fopen(file, "w");
	fputs("answer\n", f);
	fclose(f);
	snprintf(idtxt, sizeof(idtxt), "%lld", id);
	assert_int_equal(it_admin(w->s, NULL, "report", "reply", idtxt, "--body-file", file, NULL), 0);
	it_mail_free(it_wait_for_mail(w->s, "amgr", 30));

	/* and about bravo: in alpha's export only as an omitted line (hashes, no content) */
	{
		struct it_response *b = post_json(w->s, &w->bmgr, "/api/v1/reports",
						  "{\"category\": \"question\", \"title\": \"Bravo's secret question\","
						  " \"description\": \"bravo-only-text\"}");
		char bid[24];

		IT_ASSERT_STATUS(b, 201);
		snprintf(bid, sizeof(bid), "%lld", (long long)json_integer_value(json_object_get(b->json, "id")));
		it_response_free(b);
		it_mail_free(it_wait_for_mail(w->s, DESK, 30));
		assert_int_equal(it_admin(w->s, NULL, "report", "reply", bid, "--body-file", file, NULL), 0);
		it_mail_free(it_wait_for_mail(w->s, "bmgr", 30));
	}
	id = new_report(w, "{\"kind\": \"records-request\", \"title\": \"Records of 2026\","
			   " \"description\": \"Please send the provider-side records.\","
			   " \"from\": \"2020-01-01T00:00:00Z\", \"to\": \"2099-12-31T23:59:59Z\"}");
	it_mail_free(it_wait_for_mail(w->s, DESK, 30));
	snprintf(idtxt, sizeof(idtxt), "%lld", id);
	/* only a records request is answered with records */
	{
		char other[24];

		snprintf(other, sizeof(other), "%lld", id - 1);
		assert_int_not_equal(it_admin(w->s, NULL, "report", "answer-records", other, NULL), 0);
	}
	assert_int_equal(it_admin(w->s, NULL, "report", "answer-records", idtxt, NULL), 0);
	{
		struct it_mail *m = it_wait_for_mail(w->s, "amgr", 30);

		assert_non_null(m);
		assert_non_null(strstr(m->body, "kura audit verify"));
		it_mail_free(m);
	}
	snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	eid = json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "exports"), 0), "id"));
	assert_true(eid > 0);
	it_response_free(r);

	snprintf(path, sizeof(path), "/api/v1/reports/%lld/exports/%lld", id, eid);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "application/x-ndjson"));
	/* the provider's records about alpha, nothing of bravo's */
	assert_non_null(strstr(r->body, "tenant:alpha"));
	assert_non_null(strstr(r->body, "report.message"));
	assert_null(strstr(r->body, "tenant:bravo"));
	assert_null(strstr(r->body, "bravo"));
	assert_non_null(strstr(r->body, "\"omitted\""));
	pk = it_get(w->s, NULL, "/api/v1/audit/public-key");
	IT_ASSERT_STATUS(pk, 200);
	key = it_json_str(pk->json, "public_key");
	snprintf(file, sizeof(file), "%s/records.jsonl", w->s->root);
	f = fopen(file, "w");
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	{
		const char *argv[] = { KURA_BIN, "audit", "verify", file, "--key", key, NULL };

		status = it_run(argv, 60, &out, &err);
		if (status != 0)
			print_error("verify: %s %s\n", out ? out : "", err ? err : "");
		assert_int_equal(status, 0);
		free(out);
		free(err);
	}
	/* one byte changed in a record of the export: it fails */
	p = strstr(r->body, "tenant:alpha");
	assert_non_null(p);
	p[7] = 'A';
	f = fopen(file, "w");
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	{
		const char *argv[] = { KURA_BIN, "audit", "verify", file, "--key", key, NULL };

		status = it_run(argv, 60, &out, &err);
		assert_int_equal(status, 1);
		assert_non_null(strstr(out, "FAILED"));
		free(out);
		free(err);
	}
	it_response_free(r);
	it_response_free(pk);
}

static void test_notices_and_receipts(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char path[128];
	long long all_id, some_id;
	json_t *list;

	r = post_json(w->s, &w->amgr, "/api/v1/notices",
		      "{\"title\": \"Maintenance on Friday\", \"body\": \"The office is closed.\\nBack on Monday.\"}");
	IT_ASSERT_STATUS(r, 201);
	all_id = json_integer_value(json_object_get(r->json, "id"));
	assert_string_equal(it_json_str(r->json, "to"), "all");
	it_response_free(r);
	r = post_json(w->s, &w->amgr, "/api/v1/notices", "{\"title\": \"Managers only\", \"body\": \"b\", \"to\": [\"amgr\"]}");
	IT_ASSERT_STATUS(r, 201);
	some_id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	/* bad input, an unknown login, and a user cannot post */
	r = post_json(w->s, &w->amgr, "/api/v1/notices", "{\"title\": \"x\", \"body\": \"b\", \"to\": [\"nobody\"]}");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = post_json(w->s, &w->amgr, "/api/v1/notices", "{\"title\": \"a\\nb\", \"body\": \"b\"}");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = post_json(w->s, &w->auser, "/api/v1/notices", "{\"title\": \"x\", \"body\": \"b\"}");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);

	/* the user sees the notice for all, unread, not the managers' one */
	r = it_get(w->s, &w->auser, "/api/v1/notices");
	IT_ASSERT_STATUS(r, 200);
	list = json_object_get(r->json, "notices");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(r->json, "unread")), 1);
	assert_false(json_is_true(json_object_get(json_array_get(list, 0), "read")));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/read", some_id);
	r = it_send(w->s, &w->auser, "POST", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	/* reads: the first one counts */
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/read", all_id);
	r = it_send(w->s, &w->auser, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(r->json, "first")));
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_false(json_is_true(json_object_get(r->json, "first")));
	it_response_free(r);
	r = it_get(w->s, &w->auser, "/api/v1/notices");
	assert_int_equal(json_integer_value(json_object_get(r->json, "unread")), 0);
	it_response_free(r);

	/* the managers see who read it, as JSON and CSV */
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/reads", all_id);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	list = json_object_get(r->json, "reads");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(it_json_str(json_array_get(list, 0), "login"), "auser");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/reads?format=csv", all_id);
	r = it_get(w->s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "text/csv"));
	assert_non_null(strstr(r->body, "notice_id,title,login,read_at\r\n"));
	assert_non_null(strstr(r->body, "\"Maintenance on Friday\",\"auser\",\"20"));
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->auser, path, 403);
	r = it_get(w->s, &w->amgr, "/api/v1/notices/posted");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "notices")), 2);
	it_response_free(r);
	assert_true(it_audit_count(w->s, &w->amgr, "action=notice.read") == 1);
	assert_true(it_audit_count(w->s, &w->amgr, "action=notice.create") == 2);

	/* the other tenant: nothing */
	r = it_get(w->s, &w->bmgr, "/api/v1/notices");
	assert_int_equal(json_array_size(json_object_get(r->json, "notices")), 0);
	it_response_free(r);
	r = it_get(w->s, &w->bmgr, "/api/v1/notices/posted");
	assert_int_equal(json_array_size(json_object_get(r->json, "notices")), 0);
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/reads", all_id);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/read", all_id);
	r = it_send(w->s, &w->bmgr, "POST", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
}

static void test_other_tenant_sees_no_reports(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char path[128];
	long long id = new_report(w, "{\"category\": \"request\", \"title\": \"Only alpha\", \"description\": \"d\"}");

	r = it_get(w->s, &w->bmgr, "/api/v1/reports");
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(r->body, "Only alpha"));
	assert_null(strstr(r->body, "Login fails"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/messages", id);
	r = post_json(w->s, &w->bmgr, path, "{\"body\": \"hi\"}");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/close", id);
	r = it_send(w->s, &w->bmgr, "POST", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld", id);
	IT_EXPECT_GET(w->s, &w->amgr, path, 200);
}

/* A 429 rate-limited answer: Retry-After in 1..window seconds, the limit named. */
static void assert_rate_limited(struct it_response *r, long limit, long window_s)
{
	const char *h;
	long retry;

	IT_ASSERT_PROBLEM(r, 429, "rate-limited");
	h = strcasestr(r->headers, "\nRetry-After:");
	assert_non_null(h);
	retry = strtol(h + strlen("\nRetry-After:"), NULL, 10);
	assert_true(retry >= 1 && retry <= window_s);
	assert_int_equal(json_integer_value(json_object_get(r->json, "limit")), limit);
	assert_int_equal(json_integer_value(json_object_get(r->json, "window_seconds")), window_s);
}

static size_t report_count(struct it_world *w)
{
	struct it_response *r = it_get(w->s, &w->amgr, "/api/v1/reports");
	size_t n;

	IT_ASSERT_STATUS(r, 200);
	n = json_array_size(json_object_get(r->json, "reports"));
	it_response_free(r);
	return n;
}

/* Security review: every report and every message of the tenant's side mails the provider's
 * desk, so one account may open 10 an hour and write 30 messages an hour (counted in the
 * database); a refusal changes nothing, another account's count is its own. */
static void test_reports_rate_limited(void **state)
{
	struct it_world *w = *state;
	struct it_session rater;
	struct it_response *r;
	char path[96];
	long long first = 0;
	size_t before;

	it_create_account(w->s, &w->amgr, "alpha", "rater", "manager", "Rater-manager-pw-1", &rater);
	for (int i = 0; i < 10; i++) {
		r = post_json(w->s, &rater, "/api/v1/reports",
			      "{\"category\": \"other\", \"title\": \"Flood\", \"description\": \"d\"}");
		IT_ASSERT_STATUS(r, 201);
		if (!first)
			first = json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
	}
	before = report_count(w);
	r = post_json(w->s, &rater, "/api/v1/reports", "{\"category\": \"other\", \"title\": \"Flood\", \"description\": \"d\"}");
	assert_rate_limited(r, 10, 3600);
	it_response_free(r);
	assert_int_equal(report_count(w), before);

	snprintf(path, sizeof(path), "/api/v1/reports/%lld/messages", first);
	for (int i = 0; i < 30; i++) {
		r = post_json(w->s, &rater, path, "{\"body\": \"again\"}");
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
	}
	r = post_json(w->s, &rater, path, "{\"body\": \"once more\"}");
	assert_rate_limited(r, 30, 3600);
	it_response_free(r);
	/* the other manager of the tenant still writes */
	r = post_json(w->s, &w->amgr, path, "{\"body\": \"from amgr\"}");
	IT_ASSERT_STATUS(r, 201);
	assert_int_equal(json_array_size(json_object_get(r->json, "messages")), 1 + 30 + 1);
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_both_ways),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_attachments_sealed_and_bounded),
		cmocka_unit_test(test_records_request_verifies_offline),
		cmocka_unit_test(test_notices_and_receipts),
		cmocka_unit_test(test_other_tenant_sees_no_reports),
		cmocka_unit_test(test_reports_rate_limited),
	};

	return cmocka_run_group_tests(tests, setup, it_teardown_world);
}
