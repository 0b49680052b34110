/*
 * Integration, generated from the route table: tenant isolation on every route behind a
 * session. The routes are not listed here: the test walks the server's own composed table
 * (http_routes(), src/http/http.h; this executable links kuracore for it) and talks to a
 * real `kura serve` like the other tests, so a new route is covered without a new case.
 *
 * Tenant alpha (A) gets one of each object a path can name: a folder, a file with a label,
 * a file in the trash, a share link with a label, accounts, an app password, a WebDAV lock,
 * a WebAuthn credential and a TOTP enrolment waiting for its code. Then bravo's manager (B),
 * once with a cookie session and once with an app password, sends every route of the table:
 *
 * - A route with wildcards gets A's ids, names and tokens substituted, every combination of
 *   the values its wildcards' rules give (a wildcard's rule is chosen by the literal segment
 *   before it: accounts/ → A's logins, folders/ → A's folder ids, …). The answer must be 404
 *   or 403: never 2xx, never 5xx. The exception is a name that is only a filter in the
 *   caller's own tenant (a label): there an answer of B's own (empty) view is right, but it
 *   may show nothing of A. A wildcard without a rule fails the test: add one below when a
 *   route brings a new kind of id.
 * - A route without wildcards names nothing of A's; it answers with B's own data, which must
 *   hold nothing of A's (its markers: names, tokens, content, addresses).
 * - A route that takes a JSON body gets {} first; while the answer is a 400 naming a member,
 *   the member is added from the dictionary below (A's ids for node_id and parent_id, which
 *   make the request one that must be refused; B's own password for a re-authentication),
 *   so the request gets past its validation to the lookup. An R_STREAM route gets a body.
 * - GET routes are also sent as HEAD. The WebDAV route gets every method of dav.c's table
 *   on A's tenant URLs (with A's lock token and a Destination in A).
 *
 * Afterwards A is exactly as before: its audit chain head (last seq and hash), its accounts,
 * folders, file, labels, trash, quota, shares, locks, settings, and the MFA state, WebAuthn
 * credentials and app passwords of its user are compared with a snapshot taken (twice, to
 * show that taking it changes nothing) before. The test prints how many routes and
 * requests it covered (ctest -V); KURA_XT_VERBOSE=1 prints every request and its answer.
 * Public routes are left out: their token is the credential (a share link works for anyone
 * who holds it), and A's tokens are among the markers B's answers must not show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "http/http.h"
#include "http/http_int.h"

#define VALUES_MAX 4
#define PROBE_MAX 8                  /* bodies tried per request */

/* What B sends and what is A's. */
struct world {
	struct it_world w;           /* alpha: amgr, auser; bravo: bmgr */
	char b_basic[IT_STR * 2];    /* "Authorization: Basic" line of bmgr@bravo's app password */
	char cert_id[32];            /* a client certificate of auser (issue 16) */
	char ca_id[32];              /* a CA of alpha's own for client certificates */
	char a_basic[IT_STR * 2];    /* auser@alpha's, for the lock */
	char folder_id[32], root_id[32], file_id[32], trash_id[32], share_id[32], app_id[32], webauthn_id[32];
	char lock_token[IT_STR], share_token[IT_STR], app_secret[IT_STR];
	char upload_id[IT_STR];      /* the token of an unfinished tus upload of amgr's */
	char contact_id[32], announce_id[32];   /* a contact of alpha's; an announcement to alpha only */
	char access_id[32];          /* an operator's access request to alpha, pending (C7) */
	char report_id[32], attachment_id[32], records_id[32], export_id[32], notice_id[32];   /* issue 9 */
	/* counts */
	size_t n_routes, n_public, n_requests;
};

#define A_FOLDER "xt-folder-7q"
#define A_FILE "xt-file-7q.txt"
#define A_TRASHED "xt-trashed-7q.txt"
#define A_CONTENT "xt-content-of-alpha-7q"
#define A_CASE "XT-CASE-ALPHA-7Q"
#define A_LABEL "xt-label-7q"
#define A_SHARE_LABEL "xt-sharelabel-7q"
#define A_APP_NAME "xt-app-7q"
#define A_NOTICE "xt-notice-7q"      /* the title of an announcement and of an incident to alpha only */
#define A_CONTACT "xt-contact-7q"
#define A_REPORT "xt-report-7q"
#define A_NOTICE "xt-notice-7q"

/* ---------------------------------------------------------------- A's objects */

static char *b64url(const unsigned char *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = al[p[i] >> 2];
		*o++ = al[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = al[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = al[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = al[p[i] >> 2];
		*o++ = al[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = al[p[i] >> 2];
		*o++ = al[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = al[(p[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

/* A "none" attestation for RP ID 127.0.0.1 (as test_webauthn.c builds it): rpIdHash, UP|AT,
 * a credential id and a COSE ES256 key (the P-256 generator). */
static size_t none_attestation(unsigned char *obj, const unsigned char *cred_id, size_t n_id)
{
	static const unsigned char rp_hash[32] = {
		0x12, 0xca, 0x17, 0xb4, 0x9a, 0xf2, 0x28, 0x94, 0x36, 0xf3, 0x03, 0xe0, 0x16, 0x60, 0x30, 0xa2,
		0x1e, 0x52, 0x5d, 0x26, 0x6e, 0x20, 0x92, 0x67, 0x43, 0x38, 0x01, 0xa8, 0xfd, 0x40, 0x71, 0xa0,
	};
	static const unsigned char cose_es256[] = {
		0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20,
		0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
		0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
		0x22, 0x58, 0x20,
		0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
		0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
	};
	unsigned char ad[256];
	size_t n = 0, n_ad;

	memcpy(ad, rp_hash, 32);
	ad[32] = 0x41;
	memset(ad + 33, 0, 4 + 16);
	n_ad = 53;
	ad[n_ad++] = 0;
	ad[n_ad++] = (unsigned char)n_id;
	memcpy(ad + n_ad, cred_id, n_id);
	n_ad += n_id;
	memcpy(ad + n_ad, cose_es256, sizeof(cose_es256));
	n_ad += sizeof(cose_es256);
	obj[n++] = 0xa3;
	memcpy(obj + n, "\x63" "fmt" "\x64" "none", 9);
	n += 9;
	memcpy(obj + n, "\x67" "attStmt" "\xa0", 9);
	n += 9;
	memcpy(obj + n, "\x68" "authData" "\x58", 10);
	n += 10;
	obj[n++] = (unsigned char)n_ad;
	memcpy(obj + n, ad, n_ad);
	return n + n_ad;
}

static void register_webauthn(struct it_server *s, const struct it_session *sess, const char *password,
			      char *ret_id, size_t size)
{
	static const unsigned char cred_id[16] = "kura-xtenant-key";
	unsigned char obj[512];
	char cd_json[1024], *cd, *ao, *id;
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/me/mfa/webauthn/register",
					json_pack("{s:s}", "password", password));
	const char *challenge;

	IT_ASSERT_STATUS(r, 200);
	challenge = it_json_str(json_object_get(r->json, "publicKey"), "challenge");
	assert_non_null(challenge);
	snprintf(cd_json, sizeof(cd_json),
		 "{\"type\":\"webauthn.create\",\"challenge\":\"%s\",\"origin\":\"%s\",\"crossOrigin\":false}",
		 challenge, s->public_url);
	it_response_free(r);
	cd = b64url((const unsigned char *)cd_json, strlen(cd_json));
	ao = b64url(obj, none_attestation(obj, cred_id, sizeof(cred_id)));
	id = b64url(cred_id, sizeof(cred_id));
	r = it_send(s, sess, "POST", "/api/v1/me/mfa/webauthn/register/finish",
		    json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "name", "xt-key-7q", "credential", "id", id,
			      "rawId", id, "type", "public-key", "response", "clientDataJSON", cd, "attestationObject",
			      ao));
	IT_ASSERT_STATUS(r, 201);
	snprintf(ret_id, size, "%lld", (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	free(cd);
	free(ao);
	free(id);
}

static void id_of(const struct it_response *r, char *buf, size_t size)
{
	json_t *id = json_object_get(r->json, "id");

	assert_true(json_is_integer(id));
	snprintf(buf, size, "%lld", (long long)json_integer_value(id));
}

static struct it_response *upload(struct it_server *s, const struct it_session *sess, const char *path,
				  const char *body)
{
	return it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = body,
						   .body_len = strlen(body), .content_type = "text/plain",
						   .cookie = sess->token, .csrf = sess->csrf });
}

static void make_alpha(struct world *x)
{
	static const char lockinfo[] = "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
				       "<D:locktype><D:write/></D:locktype></D:lockinfo>";
	struct it_server *s = x->w.s;
	struct it_session *amgr = &x->w.amgr, *auser = &x->w.auser;
	struct it_response *r;
	char path[IT_STR];
	const char *h, *headers[3];

	r = it_get(s, amgr, "/api/v1/folders/root");
	IT_ASSERT_STATUS(r, 200);
	id_of(r, x->root_id, sizeof(x->root_id));
	it_response_free(r);
	r = it_send(s, amgr, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", A_FOLDER));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->folder_id, sizeof(x->folder_id));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/folders/%s/files/" A_FILE, x->folder_id);
	r = upload(s, amgr, path, A_CONTENT);
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->file_id, sizeof(x->file_id));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/files/%s/labels/" A_LABEL, x->file_id);
	r = it_send(s, amgr, "PUT", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/folders/%s/files/" A_TRASHED, x->folder_id);
	r = upload(s, amgr, path, A_CONTENT);
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->trash_id, sizeof(x->trash_id));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/files/%s", x->trash_id);
	r = it_send(s, amgr, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	r = it_send(s, amgr, "POST", "/api/v1/shares", json_pack("{s:I}", "node_id", (json_int_t)strtoll(x->file_id, NULL, 10)));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->share_id, sizeof(x->share_id));
	snprintf(x->share_token, sizeof(x->share_token), "%s", it_json_str(r->json, "token"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/shares/%s/labels/" A_SHARE_LABEL, x->share_id);
	r = it_send(s, amgr, "PUT", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* the user's credentials: a WebAuthn key, an app password (made after the key: one made
	 * with the password alone ends when a factor is enrolled), a TOTP enrolment pending */
	register_webauthn(s, auser, IT_A_USER_PW, x->webauthn_id, sizeof(x->webauthn_id));
	r = it_send(s, auser, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", A_APP_NAME, "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->app_id, sizeof(x->app_id));
	snprintf(x->app_secret, sizeof(x->app_secret), "%s", it_json_str(r->json, "secret"));
	it_basic_auth(x->a_basic, sizeof(x->a_basic), "auser@alpha", x->app_secret);
	it_response_free(r);
	r = it_send(s, auser, "POST", "/api/v1/me/mfa/totp", json_pack("{s:s}", "password", IT_A_USER_PW));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);

	/* a client certificate of the user, from a CSR made with certtool */
	{
		char cmd[IT_STR * 4], csrp[IT_STR + 16], *csr;

		snprintf(csrp, sizeof(csrp), "%s/a.csr", s->root);
		snprintf(cmd, sizeof(cmd),
			 "printf 'cn = x\\n' > %s/a.tmpl && certtool --generate-privkey --key-type ed25519 --outfile"
			 " %s/a.key >/dev/null 2>&1 && certtool --generate-request --no-text --load-privkey %s/a.key"
			 " --template %s/a.tmpl --outfile %s >/dev/null 2>&1", s->root, s->root, s->root, s->root, csrp);
		assert_int_equal(system(cmd), 0);
		csr = it_read_file(csrp, NULL);
		assert_non_null(csr);
		r = it_send(s, amgr, "POST", "/api/v1/accounts/auser/certificates",
			    json_pack("{s:s, s:s}", "csr", csr, "name", "a-laptop"));
		free(csr);
		IT_ASSERT_STATUS(r, 201);
		id_of(r, x->cert_id, sizeof(x->cert_id));
		it_response_free(r);
		/* and a CA of the tenant's own */
		snprintf(csrp, sizeof(csrp), "%s/ca.crt", s->root);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && printf 'cn = ca\\nca\\ncert_signing_key\\n' > ca.tmpl && certtool --generate-privkey"
			 " --key-type ed25519 --outfile ca.key >/dev/null 2>&1 && certtool --generate-self-signed"
			 " --load-privkey ca.key --template ca.tmpl --outfile ca.crt >/dev/null 2>&1", s->root);
		assert_int_equal(system(cmd), 0);
		csr = it_read_file(csrp, NULL);
		assert_non_null(csr);
		r = it_send(s, amgr, "POST", "/api/v1/tenant/client-cas", json_pack("{s:s}", "pem", csr));
		free(csr);
		IT_ASSERT_STATUS(r, 201);
		id_of(r, x->ca_id, sizeof(x->ca_id));
		it_response_free(r);
	}

	/* a WebDAV lock on the file */
	headers[0] = x->a_basic;
	headers[1] = "Depth: 0";
	headers[2] = NULL;
	r = it_request(s, &(struct it_request){ .method = "LOCK", .path = "/dav/alpha/" A_FOLDER "/" A_FILE,
						.body = lockinfo, .body_len = strlen(lockinfo),
						.content_type = "application/xml", .headers = headers });
	assert_true(r->status == 200 || r->status == 201);
	h = strcasestr(r->headers, "Lock-Token: <");
	assert_non_null(h);
	snprintf(x->lock_token, sizeof(x->lock_token), "%.*s", (int)strcspn(h + 13, ">"), h + 13);
	it_response_free(r);

	/* an unfinished resumable upload (tus) with a durable chunk: its id is the URL token */
	{
		static char chunk[65536 + 10];

		memset(chunk, 'u', sizeof(chunk));
		r = it_request(s, &(struct it_request){ .method = "POST", .path = "/api/v1/uploads",
							.cookie = amgr->token, .csrf = amgr->csrf, .body = chunk,
							.body_len = sizeof(chunk),
							.content_type = "application/offset+octet-stream",
							.headers = (const char *const[]){ "Tus-Resumable: 1.0.0",
											  "Upload-Length: 200000",
											  "Upload-Metadata: filename eHQtdHVz",
											  NULL } });
		IT_ASSERT_STATUS(r, 201);
		h = strcasestr(r->headers, "Location: /api/v1/uploads/");
		assert_non_null(h);
		snprintf(x->upload_id, sizeof(x->upload_id), "%.*s", (int)strcspn(h + 26, "\r\n"), h + 26);
		it_response_free(r);
	}
	/* a contact, an announcement and an incident of alpha's alone (issue 9) */
	r = it_send(s, amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", A_CONTACT, "email", A_CONTACT "@alpha.example.com", "role",
			      "security"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(x->contact_id, sizeof(x->contact_id), "%lld",
		 (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	{
		char body[IT_STR];
		json_t *j = NULL;
		FILE *f;

		snprintf(body, sizeof(body), "%s/notice.md", s->root);
		f = fopen(body, "w");
		assert_non_null(f);
		fputs(A_NOTICE " body\n", f);
		fclose(f);
		assert_int_equal(it_admin(s, &j, "announce", "create", "--kind", "change", "--target", "tenant:alpha",
					  "--title-ja", A_NOTICE, "--title-en", A_NOTICE, "--body-ja-file", body,
					  "--body-en-file", body, NULL), 0);
		snprintf(x->announce_id, sizeof(x->announce_id), "%lld",
			 (long long)json_integer_value(json_object_get(j, "id")));
		json_decref(j);
		j = NULL;
		assert_int_equal(it_admin(s, &j, "incident", "create", "--title-ja", A_NOTICE, "--title-en", A_NOTICE,
					  "--severity", "minor", "--service", "DOCX", "--tenant", "alpha", "--body-ja-file",
					  body, "--body-en-file", body, NULL), 0);
		json_decref(j);
	}
	/* alpha sees both: the requests below must not */
	r = it_get(s, amgr, "/api/v1/announcements");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	it_response_free(r);
	r = it_get(s, auser, "/api/v1/incidents");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	it_response_free(r);

	/* an operator's request for access to alpha's files, waiting for its managers (C7) */
	{
		json_t *j = NULL;

		assert_int_equal(it_admin(s, &j, "access", "request", "alpha", "--reason", "xt probe", "--case",
					  A_CASE, "--scope", "files:read", "--hours", "1", NULL), 0);
		snprintf(x->access_id, sizeof(x->access_id), "%lld",
			 (long long)json_integer_value(json_object_get(j, "id")));
		json_decref(j);
	}

	/* issue 9: a report with an attachment, a records request answered with an export, a
	 * notice to all */
	r = it_send(s, amgr, "POST", "/api/v1/reports",
		    json_pack("{s:s, s:s, s:s}", "category", "question", "title", A_REPORT, "description", A_REPORT));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->report_id, sizeof(x->report_id));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/reports/%s/attachments?name=" A_FILE, x->report_id);
	r = it_request(s, &(struct it_request){ .method = "POST", .path = path, .cookie = amgr->token,
						.csrf = amgr->csrf, .body = A_CONTENT, .body_len = strlen(A_CONTENT),
						.content_type = "text/plain" });
	IT_ASSERT_STATUS(r, 201);
	snprintf(x->attachment_id, sizeof(x->attachment_id), "%lld",
		 (long long)json_integer_value(json_object_get(r->json, "attachment_id")));
	it_response_free(r);
	r = it_send(s, amgr, "POST", "/api/v1/reports",
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "records-request", "title", A_REPORT, "description",
			      A_REPORT, "from", "2020-01-01T00:00:00Z", "to", "2099-01-01T00:00:00Z"));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->records_id, sizeof(x->records_id));
	it_response_free(r);
	assert_int_equal(it_admin(s, NULL, "report", "answer-records", x->records_id, NULL), 0);
	snprintf(path, sizeof(path), "/api/v1/reports/%s", x->records_id);
	r = it_get(s, amgr, path);
	IT_ASSERT_STATUS(r, 200);
	snprintf(x->export_id, sizeof(x->export_id), "%lld",
		 (long long)json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "exports"), 0),
							       "id")));
	it_response_free(r);
	r = it_send(s, amgr, "POST", "/api/v1/notices", json_pack("{s:s, s:s}", "title", A_NOTICE, "body", A_NOTICE));
	IT_ASSERT_STATUS(r, 201);
	id_of(r, x->notice_id, sizeof(x->notice_id));
	it_response_free(r);
}

/* HEAD of A's upload as its owner: status and offset. */
static json_t *upload_view(struct it_server *s, const struct it_session *amgr, const char *id)
{
	char path[IT_STR * 2];
	struct it_response *r;
	const char *h;
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/uploads/%s", id);
	r = it_request(s, &(struct it_request){ .method = "HEAD", .path = path, .cookie = amgr->token,
						.headers = (const char *const[]){ "Tus-Resumable: 1.0.0", NULL } });
	IT_ASSERT_STATUS(r, 200);
	h = strcasestr(r->headers, "Upload-Offset: ");
	assert_non_null(h);
	j = json_pack("{s:i, s:I}", "status", (int)r->status, "offset", (json_int_t)strtoll(h + 15, NULL, 10));
	it_response_free(r);
	return j;
}

/* ---------------------------------------------------------------- A's state */

/* GET path as sess: the JSON answer (a new reference). */
static json_t *view(struct it_server *s, const struct it_session *sess, const char *path)
{
	struct it_response *r = it_get(s, sess, path);
	json_t *j;

	if (r->status != 200)
		print_error("GET %s: %ld %s\n", path, r->status, r->body);
	IT_ASSERT_STATUS(r, 200);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

/* The last record of A's audit chain: {seq, hash}. */
static json_t *audit_head(struct it_server *s, const struct it_session *amgr)
{
	char path[128];
	json_t *last = NULL, *page;
	long long after = 0;

	for (;;) {
		json_t *events, *next;

		snprintf(path, sizeof(path), "/api/v1/audit?limit=1000&after=%lld", after);
		page = view(s, amgr, path);
		events = json_object_get(page, "events");
		if (json_array_size(events)) {
			json_t *e = json_array_get(events, json_array_size(events) - 1);

			json_decref(last);
			last = json_pack("{s:O, s:O}", "seq", json_object_get(e, "seq"), "hash", json_object_get(e, "hash"));
		}
		next = json_object_get(page, "next_after");
		if (!json_is_integer(next)) {
			json_decref(page);
			break;
		}
		after = json_integer_value(next);
		json_decref(page);
	}
	assert_non_null(last);
	return last;
}

static json_t *alpha_state(struct world *x)
{
	struct it_server *s = x->w.s;
	const struct it_session *m = &x->w.amgr, *u = &x->w.auser;
	static const char *const mgr_views[] = {
		"/api/v1/tenant", "/api/v1/accounts?limit=1000", "/api/v1/folders/root/children?limit=1000",
		"/api/v1/labels", "/api/v1/labels/" A_LABEL, "/api/v1/trash", "/api/v1/quota",
		"/api/v1/shares?all=1&limit=1000", "/api/v1/locks", "/api/v1/tenant/security",
		"/api/v1/tenant/ip-allowlist", "/api/v1/tenant/share-policy", "/api/v1/tenant/mfa-policy",
		"/api/v1/me", "/api/v1/certificates", "/api/v1/tenant/client-cas", "/api/v1/contacts",
		"/api/v1/announcements", "/api/v1/incidents", "/api/v1/access-requests", "/api/v1/access-policy",
		"/api/v1/reports", "/api/v1/notices/posted",
	};
	static const char *const user_views[] = {
		"/api/v1/me", "/api/v1/me/mfa", "/api/v1/me/mfa/webauthn", "/api/v1/me/app-passwords",
		"/api/v1/me/certificates", "/api/v1/announcements", "/api/v1/notices",
	};
	json_t *st = json_object();
	char path[IT_STR];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mgr_views); i++)
		json_object_set_new(st, mgr_views[i], view(s, m, mgr_views[i]));
	for (i = 0; i < ARRAY_SIZE(user_views); i++) {
		snprintf(path, sizeof(path), "auser %s", user_views[i]);
		json_object_set_new(st, path, view(s, u, user_views[i]));
	}
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?limit=1000", x->folder_id);
	json_object_set_new(st, path, view(s, m, path));
	snprintf(path, sizeof(path), "/api/v1/files/%s", x->file_id);
	json_object_set_new(st, path, view(s, m, path));
	snprintf(path, sizeof(path), "/api/v1/shares/%s", x->share_id);
	json_object_set_new(st, path, view(s, m, path));
	json_object_set_new(st, "upload", upload_view(s, m, x->upload_id));
	snprintf(path, sizeof(path), "/api/v1/reports/%s", x->report_id);
	json_object_set_new(st, path, view(s, m, path));
	/* last: every view above is a read that records nothing */
	json_object_set_new(st, "audit head", audit_head(s, m));
	return st;
}

static void assert_same_state(json_t *before, json_t *after, const char *when)
{
	const char *key;
	json_t *v;

	json_object_foreach(before, key, v) {
		json_t *w = json_object_get(after, key);

		if (!json_equal(v, w)) {
			char *a = json_dumps(v, JSON_SORT_KEYS), *b = w ? json_dumps(w, JSON_SORT_KEYS) : NULL;

			print_error("%s: alpha's %s changed:\nbefore %s\nafter  %s\n", when, key, a, b ? b : "(none)");
			free(a);
			free(b);
			fail();
		}
	}
}

/* ---------------------------------------------------------------- the rules */

/* A wildcard's values, chosen by the literal segment before it. strict: A's ids and tokens,
 * which B must never reach (404 or 403); not strict: a name that filters B's own data. */
struct rule {
	const char *segment;
	bool strict;
	const char *values[VALUES_MAX];
};

/* A body member the dictionary can fill when a 400 names it (strict: it names A's object). */
struct member {
	const char *name;
	bool strict;
	bool integer;
	const char *value;
	bool array;                  /* sent as a one-item array of the value (a list of ids) */
};

static const struct rule *rule_for(const struct rule *rules, size_t n, const char *segment, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(rules[i].segment) == len && !strncmp(rules[i].segment, segment, len))
			return &rules[i];
	return NULL;
}

/* What of A's a response must not show (unless the request itself sent it). */
static const char *const *markers(const struct world *x)
{
	static const char *m[20];
	size_t n = 0;

	m[n++] = A_FOLDER;
	m[n++] = A_FILE;
	m[n++] = A_TRASHED;
	m[n++] = A_CONTENT;
	m[n++] = A_LABEL;
	m[n++] = A_SHARE_LABEL;
	m[n++] = A_APP_NAME;
	m[n++] = A_REPORT;
	m[n++] = A_NOTICE;
	m[n++] = "xt-key-7q";
	m[n++] = "@alpha.example.com";
	m[n++] = "auser";
	m[n++] = x->share_token;
	m[n++] = x->lock_token;
	m[n++] = x->app_secret;
	m[n++] = x->upload_id;
	m[n++] = A_NOTICE;
	m[n++] = A_CONTACT;
	m[n++] = A_CASE;
	m[n] = NULL;
	return m;
}

struct attempt {
	const char *method, *path;
	bool strict;                 /* the request names something of A's */
	bool basic;                  /* B's app password rather than its cookie session */
	unsigned flags;              /* the route's */
	const char *const *headers;  /* extra lines (WebDAV), NULL-terminated */
};

/* Sends one attempt as B (probing a JSON body), checks every answer; the final status. */
static long attempt(struct world *x, const struct attempt *a, const struct member *dict, size_t n_dict)
{
	const char *const *mk = markers(x);
	json_t *body = (a->flags & R_BODY) ? json_object() : NULL;
	bool tried[16] = { false }, strict = a->strict;
	long status = 0;
	int round;

	for (round = 0; round < PROBE_MAX; round++) {
		const char *headers[8];
		char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		struct it_response *r;
		const char *field;
		size_t i, n = 0;

		if (a->basic)
			headers[n++] = x->b_basic;
		for (i = 0; a->headers && a->headers[i] && n < 7; i++)
			headers[n++] = a->headers[i];
		headers[n] = NULL;
		r = it_request(x->w.s, &(struct it_request){
			.method = a->method, .path = a->path,
			.body = text ? text : (a->flags & R_STREAM) ? "xt-probe-by-bravo" : NULL,
			.body_len = text ? strlen(text) : (a->flags & R_STREAM) ? 17 : 0,
			.content_type = text ? "application/json" : (a->flags & R_STREAM) ? "text/plain" : "",
			.cookie = a->basic ? NULL : x->w.bmgr.token, .csrf = a->basic ? NULL : x->w.bmgr.csrf,
			.headers = headers });
		x->n_requests++;
		status = r->status;
		if (getenv("KURA_XT_VERBOSE"))   /* every request and its answer, to see what was covered */
			print_message("%-8s %s%s%s%s -> %ld %s\n", a->method, a->path, a->basic ? " [app password]" : "",
				      text ? " " : "", text ? text : "", status, it_json_str(r->json, "type") ? it_json_str(r->json, "type") + 17 : "");
		if (status == 0 || status >= 500)
			fail_msg("%s %s%s: %ld %s %s", a->method, a->path, a->basic ? " (app password)" : "", status,
				 r->curl_error, r->body ? r->body : "");
		if (strict && status >= 200 && status < 300)
			fail_msg("%s %s%s with %s: %ld, B reached A's object: %s", a->method, a->path,
				 a->basic ? " (app password)" : "", text ? text : "no body", status, r->body);
		for (i = 0; mk[i]; i++) {
			if (!*mk[i] || strstr(a->path, mk[i]) || (text && strstr(text, mk[i])))
				continue;   /* what B sent itself may come back */
			if ((r->body && strstr(r->body, mk[i])) || (r->headers && strstr(r->headers, mk[i])))
				fail_msg("%s %s%s: the answer shows alpha's \"%s\": %s", a->method, a->path,
					 a->basic ? " (app password)" : "", mk[i], r->body);
		}
		/* a 400 of the body: fill the member it names from the dictionary; or drop a member
		 * it refused, or (naming none) add the next one, until the request gets past its
		 * validation; a member the dictionary cannot fill ends the probing */
		field = status == 400 && body ? it_json_str(r->json, "field") : NULL;
		free(text);
		if (status != 400 || !body) {
			it_response_free(r);
			break;
		}
		if (field && json_object_get(body, field)) {
			json_object_del(body, field);   /* refused as sent: try the next member instead */
			field = NULL;
		}
		for (i = 0; i < n_dict && (tried[i] || (field && strcmp(dict[i].name, field))); i++)
			;   /* the member it names, or the next untried one */
		it_response_free(r);
		if (i == n_dict)
			break;
		tried[i] = true;
		{
			json_t *v = dict[i].integer ? json_integer(strtoll(dict[i].value, NULL, 10))
						    : json_string(dict[i].value);

			json_object_set_new(body, dict[i].name, dict[i].array ? json_pack("[o]", v) : v);
		}
		strict = strict || dict[i].strict;
	}
	json_decref(body);
	if (strict && status != 404 && status != 403)
		fail_msg("%s %s%s: %ld after %d bodies; want 404 or 403", a->method, a->path,
			 a->basic ? " (app password)" : "", status, round + 1);
	return status;
}

/* B's cookie session still works; else (it logged itself out) a new one. */
static void keep_bravo(struct world *x)
{
	struct it_response *r = it_get(x->w.s, &x->w.bmgr, "/api/v1/me");

	if (r->status == 401)
		IT_ASSERT_LOGIN(x->w.s, "bravo", "bmgr", IT_B_MGR_PW, 201, &x->w.bmgr);
	it_response_free(r);
}

/* Every combination of the values of pattern's wildcards, each sent with method. */
static void route_attempts(struct world *x, const struct route *rt, const char *method, bool basic,
			   const struct rule *rules, size_t n_rules, const struct member *dict, size_t n_dict)
{
	const struct rule *wild[REQUEST_MAX_PARAMS];
	size_t n_wild = 0, combos = 1, c, k;
	const char *p, *seg = NULL;
	size_t seg_len = 0;

	for (p = rt->pattern; *p; p++) {
		if (*p == '/' && p[1] != '*') {
			seg = p + 1;
			seg_len = strcspn(seg, "/");
		}
		if (*p != '*')
			continue;
		assert_true(n_wild < REQUEST_MAX_PARAMS);
		wild[n_wild] = seg ? rule_for(rules, n_rules, seg, seg_len) : NULL;
		if (!wild[n_wild])
			fail_msg("%s %s: no substitution rule for the wildcard after \"%.*s/\": add one to the rules "
				 "of tests/integration/test_routes_crosstenant.c", rt->method, rt->pattern,
				 (int)seg_len, seg ? seg : "");
		for (k = 0; k < VALUES_MAX && wild[n_wild]->values[k]; k++)
			;
		assert_true(k > 0);
		combos *= k;
		n_wild++;
	}
	for (c = 0; c < combos; c++) {
		char path[IT_STR * 2], *o = path;
		size_t rest = c, w = 0;
		bool strict = false;

		for (p = rt->pattern; *p; p++) {
			if (*p == '*') {
				size_t nv, v;

				for (nv = 0; nv < VALUES_MAX && wild[w]->values[nv]; nv++)
					;
				v = rest % nv;
				rest /= nv;
				strict = strict || wild[w]->strict;
				o += snprintf(o, sizeof(path) - (size_t)(o - path), "%s", wild[w]->values[v]);
				w++;
			} else if ((size_t)(o - path) < sizeof(path) - 1) {
				*o++ = *p;
			}
		}
		*o = '\0';
		attempt(x, &(struct attempt){ .method = method, .path = path, .strict = strict, .basic = basic,
					      .flags = rt->flags }, dict, n_dict);
		if (!n_wild && strcmp(method, "GET") && strcmp(method, "HEAD"))
			keep_bravo(x);
	}
}

/* The WebDAV route: every method of dav.c's table on A's URLs. */
static void dav_attempts(struct world *x)
{
	static const char *const paths[] = { "/dav/alpha/", "/dav/alpha/" A_FOLDER "/",
					     "/dav/alpha/" A_FOLDER "/" A_FILE, "/dav/alpha/nothing-here" };
	char lock[IT_STR * 2], iflock[IT_STR * 2];
	const char *headers[] = { lock, iflock, "Depth: 0", "Destination: /dav/alpha/" A_FOLDER "/xt-copy-by-bravo",
				  NULL };
	const char *m;
	size_t i, k;

	snprintf(lock, sizeof(lock), "Lock-Token: <%s>", x->lock_token);
	snprintf(iflock, sizeof(iflock), "If: (<%s>)", x->lock_token);
	for (i = 0; (m = dav_method_name(i)) != NULL; i++)
		for (k = 0; k < ARRAY_SIZE(paths); k++)
			attempt(x, &(struct attempt){ .method = m, .path = paths[k], .strict = true, .basic = true,
						      .flags = !strcmp(m, "PUT") ? R_STREAM : 0, .headers = headers },
				NULL, 0);
}

static void test_every_route_across_tenants(void **state)
{
	struct world *x = *state;
	const struct route *table;
	size_t n, i, pass;
	json_t *before, *again, *after;
	struct it_response *r;
	const struct rule rules[] = {
		{ "accounts", true, { "auser", "amgr" } },
		{ "folders", true, { x->folder_id, x->root_id } },
		{ "files", true, { x->file_id, A_FILE } },
		{ "trash", true, { x->trash_id, x->file_id } },
		{ "labels", false, { A_LABEL, A_SHARE_LABEL } },
		{ "locks", true, { x->lock_token } },
		{ "app-passwords", true, { x->app_id } },
		{ "webauthn", true, { x->webauthn_id } },
		{ "shares", true, { x->share_id } },
		{ "certificates", true, { x->cert_id } },
		{ "client-cas", true, { x->ca_id } },
		{ "uploads", true, { x->upload_id } },
		{ "contacts", true, { x->contact_id } },
		{ "announcements", true, { x->announce_id } },
		{ "access-requests", true, { x->access_id } },
		{ "reports", true, { x->report_id, x->records_id } },
		{ "attachments", true, { x->attachment_id } },
		{ "exports", true, { x->export_id } },
		{ "notices", true, { x->notice_id } },
	};
	const struct member dict[] = {
		{ "name", false, false, "xt-name-by-bravo", false },
		{ "parent_id", true, true, x->folder_id, false },
		{ "node_id", true, true, x->file_id, false },
		{ "password", false, false, IT_B_MGR_PW, false },
		{ "body", false, false, "xt-body-by-bravo", false },
		{ "title", false, false, "xt-title-by-bravo", false },
		{ "description", false, false, "xt-description-by-bravo", false },
		{ "category", false, false, "other", false },
		{ "ids", true, true, x->file_id, true },   /* POST /api/v1/archive */
	};

	before = alpha_state(x);
	again = alpha_state(x);
	assert_same_state(before, again, "taking the snapshot");
	json_decref(again);

	table = http_routes(&n);
	assert_true(n > 0);
	/* pass 0: the routes that name nothing of A's (B's own views must show nothing of A's);
	 * pass 1: those with wildcards, and WebDAV. Each with B's session, then its app password. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct route *rt = &table[i];
			bool wild = strchr(rt->pattern, '*') != NULL || (rt->flags & R_DAV);
			int basic;

			if (rt->flags & R_PUBLIC) {
				x->n_public += pass == 0;
				continue;
			}
			if (wild != (pass == 1))
				continue;
			x->n_routes++;
			if (rt->flags & R_DAV) {
				dav_attempts(x);
				continue;
			}
			for (basic = 0; basic < 2; basic++) {
				route_attempts(x, rt, rt->method, basic, rules, ARRAY_SIZE(rules), dict, ARRAY_SIZE(dict));
				if (!strcmp(rt->method, "GET"))
					route_attempts(x, rt, "HEAD", basic, rules, ARRAY_SIZE(rules), dict,
						       ARRAY_SIZE(dict));
			}
		}
	}
	after = alpha_state(x);
	assert_same_state(before, after, "after bravo's requests");
	json_decref(before);
	json_decref(after);
	/* and A's people and credentials still work */
	IT_EXPECT_GET(x->w.s, &x->w.amgr, "/api/v1/me", 200);
	IT_EXPECT_GET(x->w.s, &x->w.auser, "/api/v1/me", 200);
	r = it_request(x->w.s, &(struct it_request){ .method = "PROPFIND", .path = "/dav/alpha/",
						     .headers = (const char *const[]){ x->a_basic, "Depth: 0", NULL } });
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	print_message("cross-tenant: %zu routes behind a session covered (%zu of the table's %zu are public), "
		      "%zu requests\n", x->n_routes, x->n_public, n, x->n_requests);
	assert_int_equal(x->n_routes + x->n_public, n);
}

static int setup(void **state)
{
	struct world *x = calloc(1, sizeof(*x));
	void *w = NULL;
	struct it_response *r;

	if (!x || it_setup_world(&w) < 0) {
		free(x);
		return -1;
	}
	x->w = *(struct it_world *)w;
	free(w);
	*state = x;
	r = it_send(x->w.s, &x->w.bmgr, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "bravo-probe", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	it_basic_auth(x->b_basic, sizeof(x->b_basic), "bmgr@bravo", it_json_str(r->json, "secret"));
	it_response_free(r);
	make_alpha(x);
	return 0;
}

static int teardown(void **state)
{
	struct world *x = *state;
	int status = it_server_stop(x->w.s);

	free(x);
	return status == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_across_tenants),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
