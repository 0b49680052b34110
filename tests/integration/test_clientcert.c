/*
 * Client-certificate login (issue 16) against a real HTTPS server: certificates issued by
 * kura from CSRs made with certtool, presented by the curl tool (--cert/--key); sign-in
 * with and without them, another account's, another tenant's, a revoked one, a session
 * cookie without its certificate, app passwords by HTTP Basic, and the X-Client-Cert header
 * from an untrusted peer and from a trusted proxy.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct it_server *srv;
static char dir[IT_STR];

/* curl tool: prints body, then "\n" and the status; returns the status (0 on failure). */
static long tool(const char *cert, const char *method, const char *path, const char *cookie, const char *csrf,
		 const char *body, const char *extra_header, char **ret_body)
{
	char url[IT_STR * 2], ca[IT_STR * 2], certp[IT_STR * 2], keyp[IT_STR * 2], ck[IT_STR * 2],
		cs[IT_STR * 2];
	const char *argv[40];
	char *out = NULL, *err = NULL, *nl;
	size_t n = 0;
	long st = 0;

	snprintf(url, sizeof(url), "%s%s", srv->base_url, path);
	snprintf(ca, sizeof(ca), "%s/tls/cert.pem", srv->data);
	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-sS";
	argv[n++] = "--cacert";
	argv[n++] = ca;
	argv[n++] = "-X";
	argv[n++] = method;
	argv[n++] = "-w";
	argv[n++] = "\n%{http_code}";
	if (cert) {
		snprintf(certp, sizeof(certp), "%s/%s.crt", dir, cert);
		snprintf(keyp, sizeof(keyp), "%s/%s.key", dir, cert);
		argv[n++] = "--cert";
		argv[n++] = certp;
		argv[n++] = "--key";
		argv[n++] = keyp;
	}
	if (cookie) {
		snprintf(ck, sizeof(ck), "Cookie: kura_session=%s", cookie);
		argv[n++] = "-H";
		argv[n++] = ck;
	}
	if (csrf) {
		snprintf(cs, sizeof(cs), "X-CSRF-Token: %s", csrf);
		argv[n++] = "-H";
		argv[n++] = cs;
	}
	if (extra_header) {
		argv[n++] = "-H";
		argv[n++] = extra_header;
	}
	if (!strcmp(method, "PROPFIND")) {
		argv[n++] = "-H";
		argv[n++] = "Depth: 1";
	}
	if (body) {
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/json";
		argv[n++] = "--data-binary";
		argv[n++] = body;
	}
	argv[n++] = "-D";
	argv[n++] = "-";
	argv[n++] = url;
	argv[n] = NULL;
	if (it_run(argv, 30, &out, &err) == 0 && out && (nl = strrchr(out, '\n'))) {
		st = strtol(nl + 1, NULL, 10);
		*nl = 0;
	}
	if (ret_body)
		*ret_body = out;
	else
		free(out);
	free(err);
	return st;
}

/* key + CSR with certtool; the CSR's subject is anything (kura sets its own) */
static void make_csr(const char *name)
{
	char tmpl[IT_STR * 2];
	FILE *f;

	snprintf(tmpl, sizeof(tmpl), "%s/%s.tmpl", dir, name);
	f = fopen(tmpl, "w");
	assert_non_null(f);
	fprintf(f, "cn = \"%s\"\n", name);
	fclose(f);
	{
		char cmd[IT_STR * 8];

		snprintf(cmd, sizeof(cmd),
			 "certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile %s/%s.key"
			 " >/dev/null 2>&1 && certtool --generate-request --load-privkey %s/%s.key --template"
			 " %s/%s.tmpl --outfile %s/%s.csr >/dev/null 2>&1", dir, name, dir, name, dir, name, dir,
			 name);
		assert_int_equal(system(cmd), 0);
	}
}

/* manager issues a certificate for login from name's CSR; writes name.crt; returns its id */
static long issue(const struct it_session *mgr, const char *login, const char *name)
{
	char path[IT_STR], p[IT_STR * 2], *csr;
	json_t *body = NULL, *j;
	struct it_response *r;
	FILE *f;
	long id;

	make_csr(name);
	snprintf(p, sizeof(p), "%s/%s.csr", dir, name);
	csr = it_read_file(p, NULL);
	assert_non_null(csr);
	body = json_pack("{s:s, s:s}", "csr", csr, "name", name);
	snprintf(path, sizeof(path), "/api/v1/accounts/%s/certificates", login);
	r = it_send(srv, mgr, "POST", path, body);
	if (r->status != 201)
		fprintf(stderr, "issue %s: %ld %s\n", name, r->status, r->body);
	IT_ASSERT_STATUS(r, 201);
	j = json_object_get(r->json, "certificate");
	assert_true(json_is_string(j));
	snprintf(p, sizeof(p), "%s/%s.crt", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(json_string_value(j), f);
	fclose(f);
	id = (long)json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	free(csr);
	return id;
}

/* The tenant's own CA (certtool) and certificates it issues: NAME.crt/.key with CN cn */
static void make_own_ca(void)
{
	char cmd[IT_STR * 8];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'cn = \"Alpha Device CA\"\\nca\\ncert_signing_key\\nexpiration_days = 30\\n' > ca.tmpl &&"
		 " certtool --generate-privkey --key-type ecdsa --outfile ca.key >/dev/null 2>&1 &&"
		 " certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.crt"
		 " >/dev/null 2>&1", dir);
	assert_int_equal(system(cmd), 0);
}

static void make_own_cert(const char *name, const char *cn)
{
	char cmd[IT_STR * 8];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'cn = \"%s\"\\ntls_www_client\\nsigning_key\\nexpiration_days = 30\\n' > %s.tmpl &&"
		 " certtool --generate-privkey --key-type ecdsa --outfile %s.key >/dev/null 2>&1 &&"
		 " certtool --generate-certificate --load-privkey %s.key --load-ca-certificate ca.crt"
		 " --load-ca-privkey ca.key --template %s.tmpl --outfile %s.crt >/dev/null 2>&1",
		 dir, cn, name, name, name, name, name);
	assert_int_equal(system(cmd), 0);
}

static long login(const char *cert, const char *tenant, const char *user, char *ret_cookie, char *ret_csrf)
{
	char body[IT_STR], *out = NULL, *c;
	long st;

	snprintf(body, sizeof(body), "{\"tenant\":\"%s\",\"login\":\"%s\",\"password\":\"correct horse battery 9\"}",
		 tenant, user);
	st = tool(cert, "POST", "/api/v1/session", NULL, NULL, body, NULL, &out);
	if (st == 401)
		assert_non_null(strstr(out, "urn:kura:problem:authentication-failed"));
	if (st == 201 && ret_cookie && (c = strstr(out, "kura_session="))) {
		sscanf(c + 13, "%200[^;]", ret_cookie);
		c = strstr(out, "\"csrf_token\"");
		assert_non_null(c);
		sscanf(c, "\"csrf_token\": \"%200[^\"]", ret_csrf);
		if (!*ret_csrf)
			sscanf(c, "\"csrf_token\":\"%200[^\"]", ret_csrf);
	}
	free(out);
	return st;
}

static void test_client_certificates(void **state)
{
	struct it_options o = { .tls = true, .extra_config = "[server]\ntrusted_proxies = 127.0.0.3/32, 127.0.0.4/32\n"
							       "client_cert_proxies = 127.0.0.3/32\n" };
	struct it_session boss, boss2;
	char cookie[256] = "", csrf[256] = "", bcookie[256] = "", bcsrf[256] = "", *out, hdr[IT_STR * 8], p[IT_STR * 2], *pem, *q;
	struct it_response *r;
	json_t *body;
	long bob_id, revoked_id;
	size_t i;

	(void)state;
	assert_int_equal(it_mkdtemp(dir, sizeof(dir)), 0);
	srv = it_server_start(&o);
	assert_non_null(srv);
	it_create_tenant(srv, "alpha", NULL);
	it_create_manager(srv, "alpha", "boss", "correct horse battery 9", &boss);
	it_create_account(srv, &boss, "alpha", "bob", "user", "correct horse battery 9", NULL);
	it_create_account(srv, &boss, "alpha", "carol", "user", "correct horse battery 9", NULL);
	it_create_tenant(srv, "beta", NULL);
	it_create_manager(srv, "beta", "boss", "correct horse battery 9", &boss2);
	it_create_account(srv, &boss2, "beta", "bob", "user", "correct horse battery 9", NULL);

	/* a bad CSR changes nothing */
	body = json_pack("{s:s, s:s}", "csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
			 "name", "x");
	r = it_send(srv, &boss, "POST", "/api/v1/accounts/bob/certificates", body);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	bob_id = issue(&boss, "bob", "bob");
	/* carol's lifetime is 10 days: her owner is told by mail (within 14 days of the end) */
	r = it_send(srv, &boss, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "client_certificate_days", 10));
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "client_certificate_days")), 10);
	it_response_free(r);
	issue(&boss, "carol", "carol");
	r = it_send(srv, &boss, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "client_certificate_days", 365));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	{
		struct it_mail *m = it_wait_for_mail(srv, "carol@alpha.example.com", 30);

		assert_non_null(m);
		assert_non_null(strstr(m->body, "expires at"));
		assert_non_null(strstr(m->body, "\"carol\" of the account carol"));
		it_mail_free(m);
	}
	revoked_id = issue(&boss, "bob", "bobold");
	issue(&boss2, "bob", "betabob");
	issue(&boss, "bob", "bob2");   /* bob's second device */
	assert_true(bob_id > 0 && revoked_id > 0);

	issue(&boss, "boss", "boss");

	/* policy off: no certificate needed */
	assert_int_equal(login(NULL, "alpha", "bob", NULL, NULL), 201);
	/* a manager does not lock themself out: only from a session with their certificate */
	body = json_pack("{s:s}", "client_certificate", "all");
	r = it_send(srv, &boss, "PATCH", "/api/v1/tenant/security", body);
	IT_ASSERT_PROBLEM(r, 409, "client-certificate-required");
	it_response_free(r);
	assert_int_equal(login("boss", "alpha", "boss", bcookie, bcsrf), 201);
	out = NULL;
	assert_int_equal(tool("boss", "PATCH", "/api/v1/tenant/security", bcookie, bcsrf,
			      "{\"client_certificate\":\"all\"}", NULL, &out), 200);
	assert_non_null(strstr(out, "\"client_certificate\":\"all\""));
	free(out);
	/* the manager's old session (no certificate) ends its use */
	IT_EXPECT_GET(srv, &boss, "/api/v1/me", 401);

	/* required: absent, another account's, another tenant's → the wrong-password refusal */
	assert_int_equal(login(NULL, "alpha", "bob", NULL, NULL), 401);
	assert_int_equal(login("carol", "alpha", "bob", NULL, NULL), 401);
	assert_int_equal(login("betabob", "alpha", "bob", NULL, NULL), 401);
	/* revoked at once */
	snprintf(p, sizeof(p), "/api/v1/certificates/%ld", revoked_id);
	assert_int_equal(login("bobold", "alpha", "bob", NULL, NULL), 201);
	assert_int_equal(tool("boss", "DELETE", p, bcookie, bcsrf, NULL, NULL, NULL), 204);
	assert_int_equal(login("bobold", "alpha", "bob", NULL, NULL), 401);
	/* present and valid → signs in; the session needs the same certificate */
	assert_int_equal(login("bob", "alpha", "bob", cookie, csrf), 201);
	assert_true(*cookie);
	assert_int_equal(tool("bob", "GET", "/api/v1/me", cookie, NULL, NULL, NULL, NULL), 200);
	assert_int_equal(tool(NULL, "GET", "/api/v1/me", cookie, NULL, NULL, NULL, NULL), 401);
	assert_int_equal(tool("carol", "GET", "/api/v1/me", cookie, NULL, NULL, NULL, NULL), 401);
	assert_int_equal(tool("bob2", "GET", "/api/v1/me", cookie, NULL, NULL, NULL, NULL), 401);
	assert_int_equal(login("bob2", "alpha", "bob", NULL, NULL), 201);
	/* a user asks for their own certificate only when the tenant allows it */
	{
		char csrbody[IT_STR * 8], csrp[IT_STR * 2], *csr;
		json_t *b;
		char *j;

		make_csr("bobself");
		snprintf(csrp, sizeof(csrp), "%s/bobself.csr", dir);
		csr = it_read_file(csrp, NULL);
		b = json_pack("{s:s, s:s}", "csr", csr, "name", "self");
		j = json_dumps(b, 0);
		snprintf(csrbody, sizeof(csrbody), "%s", j);
		free(j);
		json_decref(b);
		free(csr);
		out = NULL;
		assert_int_equal(tool("bob", "POST", "/api/v1/me/certificates", cookie, csrf, csrbody, NULL, &out), 403);
		assert_non_null(strstr(out, "permission-denied"));
		free(out);
		assert_int_equal(tool("boss", "PATCH", "/api/v1/tenant/security", bcookie, bcsrf,
				      "{\"client_certificate_self_service\":true}", NULL, NULL), 200);
		assert_int_equal(tool("bob", "POST", "/api/v1/me/certificates", cookie, csrf, csrbody, NULL, NULL), 201);
		out = NULL;
		assert_int_equal(tool("bob", "GET", "/api/v1/me/certificates", cookie, NULL, NULL, NULL, &out), 200);
		assert_non_null(strstr(out, "\"name\":\"self\""));
		assert_null(strstr(out, "carol"));
		free(out);
	}
	/* app passwords (HTTP Basic, API and WebDAV) need the certificate as well */
	{
		char basic[IT_STR * 2], *secret;
		json_t *j;

		out = NULL;
		assert_int_equal(tool("bob", "POST", "/api/v1/me/app-passwords", cookie, csrf,
				      "{\"name\":\"sync\",\"scope\":\"read\"}", NULL, &out), 201);
		j = json_loads(strstr(out, "\r\n\r\n") + 4, 0, NULL);
		assert_non_null(j);
		secret = strdup(json_string_value(json_object_get(j, "secret")));
		json_decref(j);
		free(out);
		it_basic_auth(basic, sizeof(basic), "bob@alpha", secret);
		free(secret);
		assert_int_equal(tool("bob", "GET", "/api/v1/me", NULL, NULL, NULL, basic, NULL), 200);
		assert_int_equal(tool("bob", "PROPFIND", "/dav/alpha/", NULL, NULL, NULL, basic, NULL), 207);
		out = NULL;
		assert_int_equal(tool(NULL, "GET", "/api/v1/me", NULL, NULL, NULL, basic, &out), 401);
		assert_non_null(strstr(out, "authentication-failed"));
		free(out);
		assert_int_equal(tool("carol", "PROPFIND", "/dav/alpha/", NULL, NULL, NULL, basic, NULL), 401);
	}
	/* the other tenant is unaffected */
	assert_int_equal(login(NULL, "beta", "bob", NULL, NULL), 201);

	/* X-Client-Cert: from 127.0.0.1 (not in client_cert_proxies) ignored */
	snprintf(p, sizeof(p), "%s/bob.crt", dir);
	pem = it_read_file(p, NULL);
	assert_non_null(pem);
	q = hdr + snprintf(hdr, sizeof(hdr), "X-Client-Cert: ");
	for (i = 0; pem[i]; i++)
		if ((pem[i] >= 'A' && pem[i] <= 'Z') || (pem[i] >= 'a' && pem[i] <= 'z') ||
		    (pem[i] >= '0' && pem[i] <= '9'))
			*q++ = pem[i];
		else
			q += snprintf(q, 4, "%%%02X", (unsigned char)pem[i]);
	*q = 0;
	free(pem);
	{
		char body2[IT_STR];

		snprintf(body2, sizeof(body2), "{\"tenant\":\"alpha\",\"login\":\"bob\",\"password\":\"correct horse battery 9\"}");
		assert_int_equal(tool(NULL, "POST", "/api/v1/session", NULL, NULL, body2, hdr, NULL), 401);
	}
	{
		/* from the trusted proxy 127.0.0.3 it counts */
		struct it_request rq = { .method = "POST", .path = "/api/v1/session", .interface = "host!127.0.0.3" };
		const char *hs[] = { hdr, NULL };

		rq.headers = hs;
		rq.json = json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", "bob", "password",
				    "correct horse battery 9");
		r = it_request(srv, &rq);
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
		hs[0] = "X-Client-Cert: junk";
		r = it_request(srv, &rq);
		IT_ASSERT_STATUS(r, 401);
		it_response_free(r);
		/* the header twice (a proxy that appends, the client's own first): none counts */
		{
			const char *two[] = { hdr, hdr, NULL };

			rq.headers = two;
			r = it_request(srv, &rq);
			IT_ASSERT_STATUS(r, 401);
			it_response_free(r);
		}
		/* a proxy trusted for client addresses only (127.0.0.4) is not one for certificates */
		hs[0] = hdr;
		rq.headers = hs;
		rq.interface = "host!127.0.0.4";
		r = it_request(srv, &rq);
		IT_ASSERT_STATUS(r, 401);
		it_response_free(r);
		json_decref(rq.json);
	}
	/* managers list them */
	out = NULL;
	assert_int_equal(tool("boss", "GET", "/api/v1/certificates", bcookie, NULL, NULL, NULL, &out), 200);
	assert_non_null(strstr(out, "\"name\":\"bobold\""));
	assert_non_null(strstr(out, "\"name\":\"carol\""));
	assert_null(strstr(out, "betabob"));
	free(out);
	/* the tenant's own CA, its certificates mapped to logins by subject CN */
	{
		char cap[IT_STR * 2], *ca, *j;
		json_t *b;

		make_own_ca();
		make_own_cert("extcarol", "carol");
		make_own_cert("extbob", "bob");
		assert_int_equal(login("extcarol", "alpha", "carol", NULL, NULL), 401);   /* CA not listed yet */
		snprintf(cap, sizeof(cap), "%s/ca.crt", dir);
		ca = it_read_file(cap, NULL);
		assert_non_null(ca);
		b = json_pack("{s:s}", "pem", ca);
		j = json_dumps(b, 0);
		json_decref(b);
		out = NULL;
		assert_int_equal(tool("boss", "POST", "/api/v1/tenant/client-cas", bcookie, bcsrf, j, NULL, &out), 201);
		assert_non_null(strstr(out, "Alpha Device CA"));
		free(out);
		assert_int_equal(tool("boss", "POST", "/api/v1/tenant/client-cas", bcookie, bcsrf, j, NULL, NULL), 409);
		free(j);
		/* a leaf is not a CA */
		snprintf(cap, sizeof(cap), "%s/bob.crt", dir);
		free(ca);
		ca = it_read_file(cap, NULL);
		b = json_pack("{s:s}", "pem", ca);
		j = json_dumps(b, 0);
		json_decref(b);
		assert_int_equal(tool("boss", "POST", "/api/v1/tenant/client-cas", bcookie, bcsrf, j, NULL, NULL), 400);
		free(j);
		free(ca);
		assert_int_equal(login("extcarol", "alpha", "carol", NULL, NULL), 201);
		assert_int_equal(login("extbob", "alpha", "carol", NULL, NULL), 401);   /* names bob */
		assert_int_equal(login("extbob", "beta", "bob", NULL, NULL), 201);      /* beta: policy off */
		out = NULL;
		assert_int_equal(tool("boss", "GET", "/api/v1/tenant/client-cas", bcookie, NULL, NULL, NULL, &out), 200);
		assert_non_null(strstr(out, "Alpha Device CA"));
		free(out);
		/* on the tenant's list after its first use, so it can be revoked */
		out = NULL;
		assert_int_equal(tool("boss", "GET", "/api/v1/certificates", bcookie, NULL, NULL, NULL, &out), 200);
		assert_non_null(strstr(out, "\"name\":\"tenant CA\""));
		free(out);
		/* the other tenant's manager sees none of it */
		r = it_get(srv, &boss2, "/api/v1/tenant/client-cas");
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(json_array_size(json_object_get(r->json, "items")), 0);
		it_response_free(r);
	}
	/* the refusals are in the tenant's audit log with the reason; logins with a certificate
	 * carry its fingerprint and subject */
	out = NULL;
	assert_int_equal(tool("boss", "GET", "/api/v1/audit?limit=1000", bcookie, NULL, NULL, NULL, &out), 200);
	assert_non_null(strstr(out, "\"certificate\":\"absent\""));
	assert_non_null(strstr(out, "\"certificate\":\"unbound\""));
	assert_non_null(strstr(out, "\"certificate\":\"untrusted\""));
	assert_non_null(strstr(out, "\"certificate\":\"revoked\""));
	assert_non_null(strstr(out, "\"certificate\":\"not the session's\""));
	assert_non_null(strstr(out, "session.client_certificate"));
	assert_non_null(strstr(out, "CN=bob,O=alpha"));
	free(out);
	(void)bob_id;
	it_server_stop(srv);
	it_rmtree(dir);
}

/* remaining and whether locked_until is in a refused login's answer (body after the headers) */
static void refused_standing(const char *user, long long *ret_remaining, bool *ret_locked)
{
	char body[IT_STR], *out = NULL, *b;
	json_t *j;

	snprintf(body, sizeof(body), "{\"tenant\":\"alpha\",\"login\":\"%s\",\"password\":\"correct horse battery 9\"}",
		 user);
	assert_int_equal(tool(NULL, "POST", "/api/v1/session", NULL, NULL, body, NULL, &out), 401);
	b = strstr(out, "\r\n\r\n");
	assert_non_null(b);
	j = json_loads(b + 4, 0, NULL);
	assert_non_null(j);
	assert_string_equal(it_json_str(j, "type"), IT_PROBLEM_PREFIX "authentication-failed");
	*ret_remaining = json_integer_value(json_object_get(j, "remaining"));
	*ret_locked = json_object_get(j, "locked_until") != NULL;
	json_decref(j);
	free(out);
}

/* Security review: an account that must present a certificate, tried without one, answers
 * the tries left exactly as a login name without an account (they move, then "lock"), while
 * the account itself is not locked: with its certificate it still signs in. */
static void test_cert_refusal_like_unknown(void **state)
{
	struct it_options o = { .tls = true };
	struct it_session boss;
	char bcookie[256] = "", bcsrf[256] = "";
	long long rk = 0, ru = 0;
	bool lk = false, lu = false;
	struct it_response *r;

	(void)state;
	assert_int_equal(it_mkdtemp(dir, sizeof(dir)), 0);
	srv = it_server_start(&o);
	assert_non_null(srv);
	it_create_tenant(srv, "alpha", NULL);
	it_create_manager(srv, "alpha", "boss", "correct horse battery 9", &boss);
	it_create_account(srv, &boss, "alpha", "bob", "user", "correct horse battery 9", NULL);
	r = it_send(srv, &boss, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "lockout_threshold", 3));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	issue(&boss, "bob", "bob");
	issue(&boss, "boss", "boss");
	assert_int_equal(login("boss", "alpha", "boss", bcookie, bcsrf), 201);
	assert_int_equal(tool("boss", "PATCH", "/api/v1/tenant/security", bcookie, bcsrf,
			      "{\"client_certificate\":\"all\"}", NULL, NULL), 200);
	for (int n = 1; n <= 4; n++) {
		refused_standing("bob", &rk, &lk);
		refused_standing("nobody", &ru, &lu);
		assert_int_equal(rk, ru);
		assert_int_equal(lk, lu);
		assert_int_equal(rk, n < 3 ? 3 - n : 0);
		assert_int_equal(lk, n >= 3);
	}
	/* bob's own count was not touched: with his certificate he signs in */
	assert_int_equal(login("bob", "alpha", "bob", NULL, NULL), 201);
	it_server_stop(srv);
	it_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_certificates),
		cmocka_unit_test(test_cert_refusal_like_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
