/*
 * Integration: share links (W3, W5, F4, B2, D1) on a real server with a real SMTP server.
 * Tenants alpha (manager amgr, users auser and auser2) and bravo (manager bmgr).
 *
 * A file shared with two recipients: both mails arrive with the link and never the
 * password; the link downloads (Range too), each download counts, the limit gives 410, the
 * sharer is mailed once on the first download; the share shows each recipient's mail
 * state and the delivery log lists the mails. Password links: wrong password 403 and an
 * audit record, the right one a scoped cookie, then the download; ten wrong passwords lock
 * the link. Expiry (short), the tenant policy, revocation, upload links (sanitized and
 * de-duplicated names, quota), who sees and revokes which link, cross-tenant isolation,
 * concurrent downloads against the limit, and bad input that changes nothing.
 */
#include <pthread.h>
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

#define A_MGR_PW "Alpha-manager-pass-1"
#define A_USER_PW "Alpha-user-pass-2"
#define A_USER2_PW "Alpha-user2-pass-4"
#define B_MGR_PW "Bravo-manager-pass-3"
#define LINK_PW "Link-password-Kura-77"
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

struct world {
	struct it_server *s;
	struct it_session amgr, auser, auser2, bmgr;
};

static int setup_world(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->s = it_server_start(NULL);
	if (!w->s) {
		free(w);
		return -1;
	}
	*state = w;
	it_create_tenant(w->s, "alpha", NULL);
	it_create_tenant(w->s, "bravo", NULL);
	it_create_manager(w->s, "alpha", "amgr", A_MGR_PW, &w->amgr);
	it_create_manager(w->s, "bravo", "bmgr", B_MGR_PW, &w->bmgr);
	it_create_account(w->s, &w->amgr, "alpha", "auser", "user", A_USER_PW, &w->auser);
	it_create_account(w->s, &w->amgr, "alpha", "auser2", "user", A_USER2_PW, &w->auser2);
	return 0;
}

static int teardown_world(void **state)
{
	struct world *w = *state;
	int status = it_server_stop(w->s);

	free(w);
	return status == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

static int64_t upload(struct it_server *s, const struct it_session *sess, const char *folder, const char *name,
		      const void *data, size_t n)
{
	char path[512];
	struct it_request req = { .method = "PUT", .path = path, .body = data, .body_len = n,
				  .content_type = "application/octet-stream", .cookie = sess->token,
				  .csrf = sess->csrf };
	struct it_response *r;
	int64_t id;

	snprintf(path, sizeof(path), "/api/v1/folders/%s/files/%s", folder, name);
	r = it_request(s, &req);
	if (r->status != 201 && r->status != 200)
		print_error("upload %s: %ld %s\n", name, r->status, r->body);
	assert_true(r->status == 201 || r->status == 200);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

static int64_t mkdir_in(struct it_server *s, const struct it_session *sess, const char *parent, const char *name)
{
	char path[256];
	struct it_response *r;
	int64_t id;

	snprintf(path, sizeof(path), "/api/v1/folders/%s/children", parent);
	r = it_send(s, sess, "POST", path, json_pack("{s:s}", "name", name));
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

/* POST /api/v1/shares with body (taken over); on 201 fills token and returns the id. */
static int64_t share(struct it_server *s, const struct it_session *sess, json_t *body, char *token,
		     size_t token_size)
{
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/shares", body);
	int64_t id;

	if (r->status != 201)
		print_error("share: %ld %s\n", r->status, r->body);
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	assert_true(id > 0);
	snprintf(token, token_size, "%s", it_json_str(r->json, "token"));
	assert_int_equal(strlen(token), 43);
	assert_non_null(strstr(it_json_str(r->json, "url"), "/s/"));
	it_response_free(r);
	return id;
}

/* A public request to /api/v1/links/<token><rest>, with a link cookie and a Range if given.
 * Takes over json. */
static struct it_response *link_req(struct it_server *s, const char *method, const char *token, const char *rest,
				    const char *cookie, const char *range, json_t *json)
{
	char path[512], ch[256], rh[128];
	const char *hdrs[3] = { NULL, NULL, NULL };
	size_t n = 0;
	struct it_request req = { .method = method, .path = path, .json = json, .headers = hdrs };

	snprintf(path, sizeof(path), "/api/v1/links/%s%s", token, rest);
	if (cookie) {
		snprintf(ch, sizeof(ch), "Cookie: kura_link=%s", cookie);
		hdrs[n++] = ch;
	}
	if (range) {
		snprintf(rh, sizeof(rh), "Range: %s", range);
		hdrs[n++] = rh;
	}
	{
		struct it_response *r = it_request(s, &req);

		json_decref(json);
		return r;
	}
}

static struct it_response *link_put(struct it_server *s, const char *token, const char *name, const void *data,
				    size_t n, const char *cookie)
{
	char path[512], ch[256];
	const char *hdrs[2] = { NULL, NULL };
	struct it_request req = { .method = "PUT", .path = path, .body = data, .body_len = n,
				  .content_type = "application/octet-stream", .headers = hdrs };

	snprintf(path, sizeof(path), "/api/v1/links/%s/upload/%s", token, name);
	if (cookie) {
		snprintf(ch, sizeof(ch), "Cookie: kura_link=%s", cookie);
		hdrs[0] = ch;
	}
	return it_request(s, &req);
}

/* Access records of alpha matching action (and result when not NULL), as amgr reads them. */
static long audit_count(struct world *w, const char *action, const char *result)
{
	char query[512];

	snprintf(query, sizeof(query), "category=access&action=%s%s%s", action, result ? "&result=" : "",
		 result ? result : "");
	return it_audit_count(w->s, &w->amgr, query);
}

/* The share's recipients' mail states once none is queued any more (waits a little). */
static json_t *share_when_sent(struct it_server *s, const struct it_session *sess, int64_t id)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/api/v1/shares/%lld", (long long)id);
	for (i = 0; i < IT_WAIT_S * 10; i++) {
		struct it_response *r = it_get(s, sess, path);
		json_t *rc, *o;
		size_t k;
		bool all = true;

		IT_ASSERT_STATUS(r, 200);
		rc = json_object_get(r->json, "recipients");
		json_array_foreach(rc, k, o) {
			const char *st = it_json_str(json_object_get(o, "mail"), "state");

			if (!st || strcmp(st, "sent"))
				all = false;
		}
		if (all) {
			o = json_incref(r->json);
			it_response_free(r);
			return o;
		}
		it_response_free(r);
		usleep(100 * 1000);
	}
	fail_msg("the share's mails were not all sent");
	return NULL;
}

/* ---- tests ---- */

static void test_share_file_mail_download_limit(void **state)
{
	struct world *w = *state;
	const size_t n = 200000;
	unsigned char *data = random_bytes(n, 7);
	char token[64], url_part[80];
	struct it_response *r;
	struct it_mail *m;
	json_t *sh, *rc;
	int64_t fid, id;

	fid = upload(w->s, &w->auser, "root", "report.pdf", data, n);
	id = share(w->s, &w->auser,
		   json_pack("{s:I, s:[s,s], s:i, s:b}", "node_id", (json_int_t)fid, "recipients",
			     "r1@recipients.example.org", "r2@recipients.example.org", "max_downloads", 2,
			     "notify_on_download", 1), token, sizeof(token));
	snprintf(url_part, sizeof(url_part), "/s/%s", token);

	/* both recipients get the link (Japanese and English), never a password */
	m = it_wait_for_mail(w->s, "r1@recipients.example.org", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, url_part));
	assert_non_null(strstr(m->body, "report.pdf"));
	assert_non_null(strstr(m->body, "共有"));
	assert_non_null(strstr(m->body, "shared"));
	it_mail_free(m);
	m = it_wait_for_mail(w->s, "r2@recipients.example.org", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, url_part));
	it_mail_free(m);

	/* the share shows its recipients with their mail states */
	sh = share_when_sent(w->s, &w->auser, id);
	rc = json_object_get(sh, "recipients");
	assert_int_equal(json_array_size(rc), 2);
	assert_string_equal(it_json_str(json_array_get(rc, 0), "email"), "r1@recipients.example.org");
	assert_string_equal(it_json_str(json_object_get(json_array_get(rc, 0), "mail"), "state"), "sent");
	assert_string_equal(it_json_str(sh, "state"), "live");
	json_decref(sh);

	/* the public page and its module */
	{
		char path[128];
		struct it_request req = { .method = "GET", .path = path };

		snprintf(path, sizeof(path), "/s/%s", token);
		r = it_request(w->s, &req);
		IT_ASSERT_STATUS(r, 200);
		assert_non_null(strstr(r->body, "/assets/share.js"));
		assert_null(strstr(r->body, "<script>"));
		it_response_free(r);
	}

	/* info without a password: name, size, expiry */
	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "item"), "name"), "report.pdf");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r->json, "item"), "size")), n);
	assert_int_equal(json_integer_value(json_object_get(r->json, "downloads_left")), 2);
	it_response_free(r);

	/* download 1: everything */
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, n);
	assert_memory_equal(r->body, data, n);
	it_response_free(r);

	/* the sharer hears of the first download */
	m = it_wait_for_mail(w->s, "auser@alpha.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "report.pdf"));
	it_mail_free(m);

	/* a HEAD is recorded but not counted; so is a 304 */
	r = link_req(w->s, "HEAD", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	{
		char inm[200], lpath[128];
		const char *e = strcasestr(r->headers, "\nETag: "), *hdrs[] = { inm, NULL };
		struct it_response *r2;

		assert_non_null(e);
		snprintf(inm, sizeof(inm), "If-None-Match: %.*s", (int)strcspn(e + 7, "\r\n"), e + 7);
		snprintf(lpath, sizeof(lpath), "/api/v1/links/%s/content", token);
		r2 = it_request(w->s, &(struct it_request){ .method = "GET", .path = lpath, .headers = hdrs });
		IT_ASSERT_STATUS(r2, 304);
		it_response_free(r2);
	}
	it_response_free(r);
	assert_int_equal(audit_count(w, "link.head", "success"), 1);
	assert_int_equal(audit_count(w, "link.not_modified", "success"), 1);

	/* download 2: a range */
	r = link_req(w->s, "GET", token, "/content", NULL, "bytes=1000-1999", NULL);
	IT_ASSERT_STATUS(r, 206);
	assert_int_equal(r->body_len, 1000);
	assert_memory_equal(r->body, data + 1000, 1000);
	it_response_free(r);

	/* the limit is reached */
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	it_response_free(r);
	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	it_response_free(r);

	/* only one notice */
	assert_int_equal(it_mails_before_marker(w->s, "auser@alpha.example.com"), 0);

	/* counted and recorded */
	r = it_get(w->s, &w->auser, "/api/v1/shares?limit=1");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 0),
							     "downloads")), 2);
	assert_string_equal(it_json_str(json_array_get(json_object_get(r->json, "items"), 0), "state"), "exhausted");
	it_response_free(r);
	assert_int_equal(audit_count(w, "link.download", "success"), 2);
	assert_true(audit_count(w, "link.view", "success") >= 1);
	assert_true(audit_count(w, "link.refused", "denied") >= 2);

	/* the delivery log (managers): the tenant's mails with their states */
	r = it_get(w->s, &w->amgr, "/api/v1/mail-log");
	IT_ASSERT_STATUS(r, 200);
	{
		json_t *it;
		size_t i;
		int found = 0;

		json_array_foreach(json_object_get(r->json, "items"), i, it) {
			if (strstr(it_json_str(it, "recipient"), "@recipients.example.org")) {
				found++;
				assert_string_equal(it_json_str(it, "state"), "sent");
				assert_non_null(it_json_str(it, "subject"));
				assert_non_null(it_json_str(it, "queued_at"));
				assert_null(json_object_get(it, "body"));
			}
		}
		assert_int_equal(found, 2);
	}
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/mail-log?state=failed");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 0);
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/mail-log", 403);
	r = it_get(w->s, &w->amgr, "/api/v1/mail-log?state=bounced-ish");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	free(data);
}

static const char *link_cookie(const struct it_response *r, char *buf, size_t size)
{
	const char *p = r->headers ? strstr(r->headers, "kura_link=") : NULL;
	size_t n;

	if (!p)
		return NULL;
	p += strlen("kura_link=");
	n = strcspn(p, ";\r\n");
	snprintf(buf, size, "%.*s", (int)n, p);
	return buf;
}

static void test_password_link(void **state)
{
	struct world *w = *state;
	char token[64], cookie[128], attr[160];
	unsigned char *data = random_bytes(5000, 11);
	struct it_response *r;
	struct it_mail *m;
	int64_t fid;
	long before;
	int i;

	fid = upload(w->s, &w->auser, "root", "secret.bin", data, 5000);
	/* a weak link password is refused, nothing is created */
	r = it_send(w->s, &w->auser, "POST", "/api/v1/shares",
		    json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "password", "short"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	it_response_free(r);

	share(w->s, &w->auser, json_pack("{s:I, s:s, s:[s]}", "node_id", (json_int_t)fid, "password", LINK_PW,
					 "recipients", "pw@recipients.example.org"), token, sizeof(token));
	m = it_wait_for_mail(w->s, "pw@recipients.example.org", IT_WAIT_S);
	assert_non_null(m);
	assert_null(strstr(m->body, LINK_PW));
	assert_non_null(strstr(m->body, "パスワード"));
	it_mail_free(m);

	/* before the password: no name, no content */
	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(r->json, "password_required")));
	assert_null(json_object_get(r->json, "item"));
	it_response_free(r);
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "link-password-required");
	it_response_free(r);

	/* wrong password: refused and recorded */
	before = audit_count(w, "link.unlock", "failure");
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "Wrong-password-123"));
	IT_ASSERT_PROBLEM(r, 403, "link-password-invalid");
	assert_null(link_cookie(r, cookie, sizeof(cookie)));
	it_response_free(r);
	assert_int_equal(audit_count(w, "link.unlock", "failure"), before + 1);

	/* right password: a cookie scoped to this link */
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", LINK_PW));
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(link_cookie(r, cookie, sizeof(cookie)));
	assert_int_equal(strlen(cookie), 43);
	snprintf(attr, sizeof(attr), "Path=/api/v1/links/%s;", token);
	assert_non_null(strstr(r->headers, attr));
	assert_non_null(strstr(r->headers, "HttpOnly"));
	assert_non_null(strstr(r->headers, "Secure"));
	assert_non_null(strstr(r->headers, "SameSite=Strict"));
	it_response_free(r);

	r = link_req(w->s, "GET", token, "", cookie, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "item"), "name"), "secret.bin");
	it_response_free(r);
	r = link_req(w->s, "GET", token, "/content", cookie, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, 5000);
	assert_memory_equal(r->body, data, 5000);
	it_response_free(r);
	/* a session of one link does nothing for another */
	{
		char t2[64];

		share(w->s, &w->auser, json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "password", LINK_PW), t2,
		      sizeof(t2));
		r = link_req(w->s, "GET", t2, "/content", cookie, NULL, NULL);
		IT_ASSERT_PROBLEM(r, 401, "link-password-required");
		it_response_free(r);

		/* ten wrong passwords lock the link, even for the right one */
		for (i = 0; i < 9; i++) {
			r = link_req(w->s, "POST", t2, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "nope"));
			IT_ASSERT_PROBLEM(r, 403, "link-password-invalid");
			it_response_free(r);
		}
		r = link_req(w->s, "POST", t2, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "nope"));
		IT_ASSERT_PROBLEM(r, 429, "link-locked");
		it_response_free(r);
		r = link_req(w->s, "POST", t2, "/unlock", NULL, NULL, json_pack("{s:s}", "password", LINK_PW));
		IT_ASSERT_PROBLEM(r, 429, "link-locked");
		assert_non_null(strstr(r->headers, "Retry-After"));
		it_response_free(r);
		assert_true(audit_count(w, "link.unlock", "denied") >= 1);
	}
	free(data);
}

static void test_expiry_policy_revoke(void **state)
{
	struct world *w = *state;
	char token[64], t2[64], path[64];
	struct it_response *r;
	int64_t fid, id;

	fid = upload(w->s, &w->auser, "root", "soon.txt", "short-lived", 11);

	/* policy: users read it, only managers change it */
	r = it_get(w->s, &w->auser, "/api/v1/tenant/share-policy");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "default_expiry_s")), 7 * 86400);
	assert_int_equal(json_integer_value(json_object_get(r->json, "max_expiry_s")), 30 * 86400);
	it_response_free(r);
	r = it_send(w->s, &w->auser, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:i}", "max_expiry_s", 60));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/tenant/share-policy",
		    json_pack("{s:i, s:i}", "default_expiry_s", 600, "max_expiry_s", 3600));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/tenant/share-policy", json_pack("{s:i}", "default_expiry_s", 7200));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(w->s, &w->auser, "POST", "/api/v1/shares",
		    json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "expires_in_s", 7200));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	/* a link of two minutes (seconds would run out on a machine that stalls between the
	 * share and its first use) */
	share(w->s, &w->auser, json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "expires_in_s", 120), token,
	      sizeof(token));
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	/* four minutes later by the test clock */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "240", 1);
	assert_int_equal(it_server_restart(w->s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	assert_string_equal(it_json_str(r->json, "reason"), "expired");
	it_response_free(r);

	/* revoke: the owner; others' users get 404; then 410 */
	id = share(w->s, &w->auser, json_pack("{s:I}", "node_id", (json_int_t)fid), t2, sizeof(t2));
	snprintf(path, sizeof(path), "/api/v1/shares/%lld", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->auser2, path, 404);
	r = it_send(w->s, &w->auser2, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = link_req(w->s, "GET", t2, "/content", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = it_send(w->s, &w->auser, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = link_req(w->s, "GET", t2, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	assert_string_equal(it_json_str(r->json, "reason"), "revoked");
	it_response_free(r);

	/* unknown tokens are 404 */
	r = link_req(w->s, "GET", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = link_req(w->s, "GET", "junk", "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	/* back to the defaults for the other tests */
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/tenant/share-policy",
		    json_pack("{s:i, s:i}", "max_expiry_s", 30 * 86400, "default_expiry_s", 7 * 86400));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
}

static bool listed(json_t *items, int64_t id)
{
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it)
		if (json_integer_value(json_object_get(it, "id")) == id)
			return true;
	return false;
}

static void test_managers_and_users(void **state)
{
	struct world *w = *state;
	char token[64], path[64];
	struct it_response *r;
	int64_t fid, mine, other;

	fid = upload(w->s, &w->auser2, "root", "u2.txt", "user two", 8);
	other = share(w->s, &w->auser2, json_pack("{s:I}", "node_id", (json_int_t)fid), token, sizeof(token));
	fid = upload(w->s, &w->auser, "root", "u1.txt", "user one", 8);
	mine = share(w->s, &w->auser, json_pack("{s:I}", "node_id", (json_int_t)fid), token, sizeof(token));

	r = it_get(w->s, &w->auser, "/api/v1/shares");
	IT_ASSERT_STATUS(r, 200);
	assert_true(listed(json_object_get(r->json, "items"), mine));
	assert_false(listed(json_object_get(r->json, "items"), other));
	it_response_free(r);
	r = it_get(w->s, &w->auser, "/api/v1/shares?all=1");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/shares?all=1");
	IT_ASSERT_STATUS(r, 200);
	assert_true(listed(json_object_get(r->json, "items"), mine));
	assert_true(listed(json_object_get(r->json, "items"), other));
	it_response_free(r);

	/* labels on shares (B2) and the filter */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/labels/project-x", (long long)other);
	r = it_send(w->s, &w->auser2, "PUT", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/shares?all=1&label=project-x");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	assert_true(listed(json_object_get(r->json, "items"), other));
	it_response_free(r);

	/* a manager revokes a user's link */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld", (long long)other);
	r = it_send(w->s, &w->amgr, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_get(w->s, &w->auser2, path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "state"), "revoked");
	assert_false(json_is_null(json_object_get(r->json, "revoked_at")));
	it_response_free(r);

	/* bravo's manager sees nothing of alpha */
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	snprintf(path, sizeof(path), "/api/v1/shares/%lld", (long long)mine);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	r = it_send(w->s, &w->bmgr, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(w->s, &w->amgr, path);
	assert_string_equal(it_json_str(r->json, "state"), "live");
	it_response_free(r);
	r = it_get(w->s, &w->bmgr, "/api/v1/shares?all=1");
	IT_ASSERT_STATUS(r, 200);
	assert_false(listed(json_object_get(r->json, "items"), mine));
	assert_false(listed(json_object_get(r->json, "items"), other));
	it_response_free(r);
	r = it_get(w->s, &w->bmgr, "/api/v1/mail-log?limit=1000");
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(r->body, "alpha.example.com"));
	assert_null(strstr(r->body, "recipients.example.org"));
	it_response_free(r);
}

static void test_upload_link(void **state)
{
	struct world *w = *state;
	char token[64], path[128], inbox_s[32];
	unsigned char *big;
	struct it_response *r;
	json_t *j = NULL;
	int64_t inbox, fid;
	long uploads;

	inbox = mkdir_in(w->s, &w->auser, "root", "inbox");
	snprintf(inbox_s, sizeof(inbox_s), "%lld", (long long)inbox);
	fid = upload(w->s, &w->auser, inbox_s, "existing.txt", "x", 1);
	/* an upload link goes to a folder */
	r = it_send(w->s, &w->auser, "POST", "/api/v1/shares",
		    json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "kind", "upload"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	share(w->s, &w->auser, json_pack("{s:I, s:s, s:[s]}", "node_id", (json_int_t)inbox, "kind", "upload",
					 "recipients", "uploader@recipients.example.org"), token, sizeof(token));
	{
		struct it_mail *m = it_wait_for_mail(w->s, "uploader@recipients.example.org", IT_WAIT_S);

		assert_non_null(m);
		assert_non_null(strstr(m->body, "upload"));
		it_mail_free(m);
	}

	uploads = audit_count(w, "link.upload", "success");
	r = link_put(w->s, token, "report.pdf", "first", 5, NULL);
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "name"), "report.pdf");
	it_response_free(r);
	r = link_put(w->s, token, "report.pdf", "second", 6, NULL);
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "name"), "report (2).pdf");
	it_response_free(r);
	r = link_put(w->s, token, "report.pdf", "third", 5, NULL);
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "name"), "report (3).pdf");
	it_response_free(r);
	r = link_put(w->s, token, "a%3Ab%2A%3F.txt", "odd", 3, NULL);
	IT_ASSERT_STATUS(r, 201);
	assert_string_equal(it_json_str(r->json, "name"), "a_b__.txt");
	it_response_free(r);
	r = link_put(w->s, token, "...", "dots", 4, NULL);
	IT_ASSERT_PROBLEM(r, 400, "invalid-name");
	it_response_free(r);
	assert_int_equal(audit_count(w, "link.upload", "success"), uploads + 4);

	/* they landed in the folder, the first one untouched */
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/children", (long long)inbox);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 5);
	assert_non_null(strstr(r->body, "\"report (2).pdf\""));
	it_response_free(r);

	/* an upload link does not download, a download route does not upload */
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	/* quota: the tenant's quota holds for outsiders too */
	r = it_get(w->s, &w->amgr, "/api/v1/quota");
	{
		char q[32];

		snprintf(q, sizeof(q), "%lld",
			 (long long)json_integer_value(json_object_get(r->json, "used_bytes")) + 1000);
		it_response_free(r);
		assert_int_equal(it_admin(w->s, &j, "tenant", "set-quota", "alpha", q, NULL), 0);
		json_decref(j);
	}
	big = random_bytes(5000, 3);
	r = link_put(w->s, token, "big.bin", big, 5000, NULL);
	IT_ASSERT_PROBLEM(r, 507, "quota-exceeded");
	it_response_free(r);
	assert_int_equal(it_admin(w->s, &j, "tenant", "set-quota", "alpha", "10000000000", NULL), 0);
	json_decref(j);
	free(big);
}

/* The access log of one link (W3, F4): every access through it, in order, with the client's
 * address, what was reached and how it ended; the remaining password tries of a failed
 * unlock; the reason of a 410; who may read the log; paging and its bounds. */
static void test_access_log(void **state)
{
	struct world *w = *state;
	static const struct { const char *action, *result, *reason, *name; } want[] = {
		{ "view", "success", NULL, NULL },
		{ "unlock", "failure", "wrong-password", NULL },
		{ "unlock", "failure", "wrong-password", NULL },
		{ "refused", "denied", "password-required", NULL },
		{ "unlock", "success", NULL, NULL },
		{ "download", "success", NULL, "log.bin" },
		{ "download", "success", NULL, "log.bin" },
		{ "refused", "denied", "limit-reached", NULL },
	};
	char token[64], cookie[128], path[128], other[64];
	unsigned char *data = random_bytes(3000, 5);
	struct it_response *r;
	json_t *items, *it;
	int64_t fid, id, oid, next;
	size_t i;

	fid = upload(w->s, &w->auser, "root", "log.bin", data, 3000);
	id = share(w->s, &w->auser, json_pack("{s:I, s:s, s:i}", "node_id", (json_int_t)fid, "password", LINK_PW,
					      "max_downloads", 2), token, sizeof(token));
	/* another link of the same file: its accesses are not this one's */
	oid = share(w->s, &w->auser, json_pack("{s:I}", "node_id", (json_int_t)fid), other, sizeof(other));
	r = link_req(w->s, "GET", other, "", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "time_zone"), "Asia/Tokyo");
	it_response_free(r);
	/* each wrong password says how many tries are left before the link locks */
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "Wrong-password-1"));
	IT_ASSERT_PROBLEM(r, 403, "link-password-invalid");
	assert_int_equal(json_integer_value(json_object_get(r->json, "remaining")), 9);
	it_response_free(r);
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "Wrong-password-2"));
	IT_ASSERT_PROBLEM(r, 403, "link-password-invalid");
	assert_int_equal(json_integer_value(json_object_get(r->json, "remaining")), 8);
	it_response_free(r);
	r = link_req(w->s, "GET", token, "/content", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 401, "link-password-required");
	it_response_free(r);
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", LINK_PW));
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(link_cookie(r, cookie, sizeof(cookie)));
	it_response_free(r);
	for (i = 0; i < 2; i++) {
		r = link_req(w->s, "GET", token, "/content", cookie, NULL, NULL);
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
	}
	r = link_req(w->s, "GET", token, "/content", cookie, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	assert_string_equal(it_json_str(r->json, "reason"), "limit-reached");
	it_response_free(r);

	/* the owner reads the log: each access, in order, from the test's address */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_int_equal(json_array_size(items), N_OF(want));
	json_array_foreach(items, i, it) {
		assert_string_equal(it_json_str(it, "action"), want[i].action);
		assert_string_equal(it_json_str(it, "result"), want[i].result);
		assert_string_equal(it_json_str(it, "address"), "127.0.0.1");
		assert_non_null(it_json_str(it, "time"));
		if (want[i].reason)
			assert_string_equal(it_json_str(it, "reason"), want[i].reason);
		else
			assert_null(json_object_get(it, "reason"));
		if (want[i].name)
			assert_string_equal(it_json_str(it, "name"), want[i].name);
		/* no actor, hash or user agent: only the access */
		assert_null(json_object_get(it, "hash"));
		assert_null(json_object_get(it, "user_agent"));
	}
	assert_true(json_is_null(json_object_get(r->json, "next_after")));
	it_response_free(r);

	/* the list counts the accesses of each link */
	r = it_get(w->s, &w->auser, "/api/v1/shares?limit=10");
	IT_ASSERT_STATUS(r, 200);
	json_array_foreach(json_object_get(r->json, "items"), i, it) {
		if (json_integer_value(json_object_get(it, "id")) == id)
			assert_int_equal(json_integer_value(json_object_get(it, "accesses")), N_OF(want));
		if (json_integer_value(json_object_get(it, "id")) == oid)
			assert_int_equal(json_integer_value(json_object_get(it, "accesses")), 1);
	}
	it_response_free(r);

	/* paging: three, then the rest after next_after */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access?limit=3", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 3);
	next = json_integer_value(json_object_get(r->json, "next_after"));
	assert_true(next > 0);
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access?after=%lld", (long long)id, (long long)next);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), N_OF(want) - 3);
	assert_string_equal(it_json_str(json_array_get(json_object_get(r->json, "items"), 0), "action"), "refused");
	it_response_free(r);

	/* who may read it: the owner and the tenant's managers; not another user, not bravo */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access", (long long)id);
	IT_EXPECT_GET(w->s, &w->amgr, path, 200);
	IT_EXPECT_GET(w->s, &w->auser2, path, 404);
	IT_EXPECT_GET(w->s, &w->bmgr, path, 404);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/shares/999999/access", 404);

	/* bounds of the query */
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access?limit=0", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access?limit=501", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/shares/%lld/access?after=-1", (long long)id);
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	free(data);
}

static void test_crosstenant_and_scope(void **state)
{
	struct world *w = *state;
	char token[64], path[128], fold_s[32];
	struct it_response *r;
	int64_t fold, inside, outside, bfile;

	bfile = upload(w->s, &w->bmgr, "root", "bravo-secret.txt", "bravo data", 10);
	fold = mkdir_in(w->s, &w->auser, "root", "shared-folder");
	snprintf(fold_s, sizeof(fold_s), "%lld", (long long)fold);
	inside = upload(w->s, &w->auser, fold_s, "in.txt", "inside", 6);
	outside = upload(w->s, &w->auser, "root", "out.txt", "outside", 7);
	share(w->s, &w->auser, json_pack("{s:I}", "node_id", (json_int_t)fold), token, sizeof(token));

	/* the folder listing */
	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "item"), "kind"), "folder");
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	assert_string_equal(it_json_str(json_array_get(json_object_get(r->json, "items"), 0), "name"), "in.txt");
	it_response_free(r);

	snprintf(path, sizeof(path), "/files/%lld/content", (long long)inside);
	r = link_req(w->s, "GET", token, path, NULL, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, 6);
	it_response_free(r);
	/* outside the shared folder, and another tenant's file: not found */
	snprintf(path, sizeof(path), "/files/%lld/content", (long long)outside);
	r = link_req(w->s, "GET", token, path, NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	snprintf(path, sizeof(path), "/files/%lld/content", (long long)bfile);
	r = link_req(w->s, "GET", token, path, NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	snprintf(path, sizeof(path), "?folder=%lld", (long long)bfile);
	r = link_req(w->s, "GET", token, path, NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);

	/* bravo cannot share alpha's file */
	r = it_send(w->s, &w->bmgr, "POST", "/api/v1/shares", json_pack("{s:I}", "node_id", (json_int_t)inside));
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	/* the shared item goes to the trash: the link is gone */
	snprintf(path, sizeof(path), "/api/v1/folders/%lld", (long long)fold);
	r = it_send(w->s, &w->auser, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = link_req(w->s, "GET", token, "", NULL, NULL, NULL);
	IT_ASSERT_PROBLEM(r, 410, "link-gone");
	it_response_free(r);
}

/* A request as amgr with a read-write app password (HTTP Basic). */
static struct it_response *as_app(struct it_server *s, const char *secret, const char *method, const char *path)
{
	char auth[IT_STR * 3];
	const char *hdrs[] = { auth, NULL };
	struct it_request req = { .method = method, .path = path, .headers = hdrs };

	it_basic_auth(auth, sizeof(auth), "amgr@alpha", secret);
	return it_request(s, &req);
}

/* Issue 14: an app password changes only its own account's links (docs/security.md "App
 * passwords"), even a manager's: another user's link is 403 with it, and stays active; the
 * manager's own link is revoked with it; the same manager with a session revokes the user's. */
static void test_app_password_scope(void **state)
{
	struct world *w = *state;
	char token[64], secret[IT_STR], path[256], upath[128], mpath[128];
	struct it_response *r;
	int64_t fid, user_share, own_share;

	r = it_send(w->s, &w->amgr, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "sync", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	fid = upload(w->s, &w->auser, "root", "scope.txt", "scope", 5);
	user_share = share(w->s, &w->auser, json_pack("{s:I}", "node_id", (json_int_t)fid), token, sizeof(token));
	own_share = share(w->s, &w->amgr, json_pack("{s:I}", "node_id", (json_int_t)fid), token, sizeof(token));
	snprintf(upath, sizeof(upath), "/api/v1/shares/%lld", (long long)user_share);
	snprintf(mpath, sizeof(mpath), "/api/v1/shares/%lld", (long long)own_share);

	/* reading every link is a read: allowed */
	r = as_app(w->s, secret, "GET", upath);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	/* changing another account's link: refused and recorded, the link unchanged */
	r = as_app(w->s, secret, "DELETE", upath);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	snprintf(path, sizeof(path), "%s/labels/x", upath);
	r = as_app(w->s, secret, "PUT", path);
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	r = it_get(w->s, &w->auser, upath);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "state"), "live");
	it_response_free(r);
	assert_true(audit_count(w, "permission.denied", "denied") >= 2);
	/* its own link: revoked */
	r = as_app(w->s, secret, "DELETE", mpath);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	/* the same manager signed in: revokes the user's link */
	r = it_send(w->s, &w->amgr, "DELETE", upath, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_get(w->s, &w->auser, upath);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "state"), "revoked");
	it_response_free(r);
}

struct race {
	struct it_server *s;
	const char *token;
	long status;
};

static void *race_one(void *arg)
{
	struct race *rc = arg;
	struct it_response *r = link_req(rc->s, "GET", rc->token, "/content", NULL, NULL, NULL);

	rc->status = r->status;
	it_response_free(r);
	return NULL;
}

/* Records of one share of alpha (target share:<id>) with this action and result. */
static long share_audit_count(struct world *w, int64_t share_id, const char *action, const char *result)
{
	char query[512];

	snprintf(query, sizeof(query), "target=share:%lld&action=%s&result=%s", (long long)share_id, action, result);
	return it_audit_count(w->s, &w->amgr, query);
}

#define UNLOCK_RACERS 40

struct unlock_race {
	struct it_server *s;
	const char *token;
	pthread_barrier_t *go;
	long status;
};

static void *unlock_one(void *arg)
{
	struct unlock_race *u = arg;
	struct it_response *r;

	pthread_barrier_wait(u->go);
	r = link_req(u->s, "POST", u->token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", "Wrong-guess-42"));
	u->status = r->status;
	it_response_free(r);
	return NULL;
}

/* Issue 14: 40 wrong link passwords at once check exactly KURA_SHARE_PW_FAILURES (10) of them
 * (audit result failure = a password verified); the rest are refused as locked without a
 * check (denied), and so is the right password afterwards. */
static void test_unlock_race(void **state)
{
	struct world *w = *state;
	struct unlock_race u[UNLOCK_RACERS];
	pthread_t th[UNLOCK_RACERS];
	pthread_barrier_t go;
	char token[64];
	struct it_response *r;
	int64_t fid, sid;
	int i, wrong = 0, locked = 0;

	fid = upload(w->s, &w->auser, "root", "race-pw.bin", "guarded", 7);
	sid = share(w->s, &w->auser, json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "password", LINK_PW), token,
		    sizeof(token));
	assert_int_equal(pthread_barrier_init(&go, NULL, UNLOCK_RACERS), 0);
	for (i = 0; i < UNLOCK_RACERS; i++) {
		u[i] = (struct unlock_race){ w->s, token, &go, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, unlock_one, &u[i]), 0);
	}
	for (i = 0; i < UNLOCK_RACERS; i++) {
		pthread_join(th[i], NULL);
		wrong += u[i].status == 403;
		locked += u[i].status == 429;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(share_audit_count(w, sid, "link.unlock", "failure"), 10);
	assert_int_equal(share_audit_count(w, sid, "link.unlock", "denied"), UNLOCK_RACERS - 10);
	assert_int_equal(wrong + locked, UNLOCK_RACERS);
	assert_true(wrong <= 10);
	r = link_req(w->s, "POST", token, "/unlock", NULL, NULL, json_pack("{s:s}", "password", LINK_PW));
	IT_ASSERT_PROBLEM(r, 429, "link-locked");
	it_response_free(r);
	assert_int_equal(share_audit_count(w, sid, "link.unlock", "success"), 0);
}

static void test_concurrent_limit(void **state)
{
	struct world *w = *state;
	char token[64];
	struct race rc[10];
	pthread_t th[10];
	int64_t fid;
	int i, ok = 0, gone = 0;

	fid = upload(w->s, &w->auser, "root", "race.bin", "0123456789", 10);
	share(w->s, &w->auser, json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "max_downloads", 3), token,
	      sizeof(token));
	for (i = 0; i < 10; i++) {
		rc[i] = (struct race){ w->s, token, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race_one, &rc[i]), 0);
	}
	for (i = 0; i < 10; i++) {
		pthread_join(th[i], NULL);
		ok += rc[i].status == 200;
		gone += rc[i].status == 410;
	}
	assert_int_equal(ok, 3);
	assert_int_equal(gone, 7);
}

static void test_bad_input(void **state)
{
	struct world *w = *state;
	struct it_response *r;
	json_t *many = json_array();
	int64_t fid;
	size_t before;
	int i;

	fid = upload(w->s, &w->auser, "root", "bad.txt", "b", 1);
	r = it_get(w->s, &w->auser, "/api/v1/shares?limit=1000");
	before = json_array_size(json_object_get(r->json, "items"));
	it_response_free(r);
	for (i = 0; i < 21; i++) {
		char a[64];

		snprintf(a, sizeof(a), "r%d@recipients.example.org", i);
		json_array_append_new(many, json_string(a));
	}
	r = it_send(w->s, &w->auser, "POST", "/api/v1/shares", json_pack("{s:I, s:o}", "node_id", (json_int_t)fid,
									      "recipients", many));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
#define BAD(body, st, type) do { \
		r = it_send(w->s, &w->auser, "POST", "/api/v1/shares", body); \
		IT_ASSERT_PROBLEM(r, st, type); \
		it_response_free(r); \
	} while (0)
	BAD(json_pack("{s:I, s:[s]}", "node_id", (json_int_t)fid, "recipients", "not an address"), 400, "invalid-field");
	BAD(json_pack("{s:I, s:[s]}", "node_id", (json_int_t)fid, "recipients", "a@b.example\r\nBcc: x@y.example"),
	    400, "invalid-field");
	BAD(json_pack("{s:I, s:[s,s]}", "node_id", (json_int_t)fid, "recipients", "d@x.example", "D@x.example"),
	    400, "invalid-field");
	BAD(json_pack("{s:I, s:[i]}", "node_id", (json_int_t)fid, "recipients", 5), 400, "invalid-field");
	BAD(json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "expires_in_s", 0), 400, "invalid-field");
	BAD(json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "expires_in_s", 40 * 86400), 400, "invalid-field");
	BAD(json_pack("{s:I, s:i}", "node_id", (json_int_t)fid, "max_downloads", 0), 400, "invalid-field");
	BAD(json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "max_downloads", "5"), 400, "invalid-field");
	BAD(json_pack("{s:I, s:s}", "node_id", (json_int_t)fid, "kind", "sideways"), 400, "invalid-field");
	BAD(json_pack("{s:I, s:b}", "node_id", (json_int_t)fid, "surprise", 1), 400, "invalid-field");
	BAD(json_pack("{s:s}", "node_id", "12"), 400, "invalid-field");
	BAD(json_pack("{s:I}", "node_id", (json_int_t)999999), 404, "not-found");
	BAD(json_pack("{s:I, s:s, s:i}", "node_id", (json_int_t)fid, "kind", "upload", "max_downloads", 3), 400,
	    "invalid-field");
	r = it_get(w->s, &w->auser, "/api/v1/shares?limit=1000");
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), before);
	it_response_free(r);
	r = it_get(w->s, &w->auser, "/api/v1/shares?limit=0");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/shares/abc", 404);
	r = link_req(w->s, "POST", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/unlock", NULL, NULL,
		     json_pack("{s:i}", "password", 5));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_file_mail_download_limit),
		cmocka_unit_test(test_password_link),
		cmocka_unit_test(test_expiry_policy_revoke),
		cmocka_unit_test(test_managers_and_users),
		cmocka_unit_test(test_upload_link),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_crosstenant_and_scope),
		cmocka_unit_test(test_app_password_scope),
		cmocka_unit_test(test_concurrent_limit),
		cmocka_unit_test(test_unlock_race),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
