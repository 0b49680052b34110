/*
 * The compliance statement (A1, A2, A3, A5, E3, G3; docs/compliance.md), against a real
 * kura serve:
 * - a tenant's managers read it (GET /api/v1/compliance, json and the HTML download), users
 *   may not, bad parameters are refused, and the read is recorded;
 * - it shows the settings in force and follows them (the tenant's lockout threshold changed
 *   by its manager, the deployment default and the provider's address changed in kura.conf,
 *   the TLS versions and cipher suites of a TLS listener);
 * - a claim the running system cannot show says "no evidence" (no TLS on the test listener,
 *   no provider address, no declared certifications) and the row is not "evidenced";
 * - kura compliance report --format oscal validates against the OSCAL 1.1.3 schemas and its
 *   observations cite the audit chain's sequence range and checkpoint hash;
 * - kura compliance evidence needs an audit:read grant, is recorded in the tenant's log, and
 *   kura compliance verify accepts the bundle with the deployment's key and names a changed
 *   member, an added member and a foreign key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

static json_t *control(json_t *model, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(model, "controls"), i, v)
		if (!strcmp(it_json_str(v, "id"), id))
			return v;
	fail_msg("no control %s in the statement", id);
	return NULL;
}

/* The value of the evidence item whose label starts with label, or NULL. */
static const char *evidence(json_t *ctl, const char *label)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(ctl, "evidence"), i, v)
		if (!strncmp(it_json_str(v, "item"), label, strlen(label)))
			return it_json_str(v, "value");
	return NULL;
}

static bool missing_mentions(json_t *ctl, const char *text)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(ctl, "missing"), i, v)
		if (strstr(json_string_value(v), text))
			return true;
	return false;
}

static json_t *statement(struct it_server *s, const struct it_session *mgr, const char *lang)
{
	char path[128];
	struct it_response *r;
	json_t *j;

	snprintf(path, sizeof(path), "/api/v1/compliance?lang=%s&format=json", lang);
	r = it_get(s, mgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(r->json);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

static void test_manager_reads_tenant_statement(void **state)
{
	struct it_world *w = *state;
	json_t *m, *v, *e1, *c3, *body;
	struct it_response *r;
	size_t i;

	/* an audit export checkpoints the chain (the worker would, later) */
	IT_EXPECT_GET(w->s, &w->amgr, "/api/v1/audit/export", 200);
	m = statement(w->s, &w->amgr, "en");

	assert_string_equal(it_json_str(m, "lang"), "en");
	assert_string_equal(it_json_str(json_object_get(m, "tenant"), "code"), "alpha");
	/* its own services only: alpha holds DOCX */
	assert_int_equal(json_array_size(json_object_get(m, "services")), 1);
	assert_string_equal(it_json_str(json_array_get(json_object_get(m, "services"), 0), "code"), "DOCX");
	/* every row of the catalog, each with kura's wording and a status */
	assert_int_equal(json_array_size(json_object_get(m, "controls")), 41);
	json_array_foreach(json_object_get(m, "controls"), i, v) {
		const char *st = it_json_str(v, "status");

		assert_true(strlen(it_json_str(v, "statement")) > 20);
		assert_true(!strcmp(st, "evidenced") || !strcmp(st, "partial") || !strcmp(st, "none"));
		/* a row is "evidenced" only when nothing is missing */
		if (!strcmp(st, "evidenced"))
			assert_int_equal(json_array_size(json_object_get(v, "missing")), 0);
	}
	/* the test listener has no TLS: E1 cannot claim it and says so */
	e1 = control(m, "E1");
	assert_string_not_equal(it_json_str(e1, "status"), "evidenced");
	assert_true(missing_mentions(e1, "without TLS"));
	assert_string_equal(evidence(e1, "TLS on the public listener"), "off");
	/* no certification is declared: A5 says so */
	assert_true(missing_mentions(control(m, "A5"), "certifications"));
	/* the audit chain of alpha verified now, with its checkpoint */
	assert_non_null(strstr(evidence(control(m, "F9"), "audit chain alpha"), "head sha256:"));
	assert_string_equal(it_json_str(json_array_get(json_object_get(m, "chains"), 0), "chain"), "alpha");
	/* the responsibility boundary of DOCX, and no other service's */
	assert_non_null(evidence(control(m, "A2"), "Document exchange"));
	assert_null(evidence(control(m, "A2"), "Hosted mail"));
	/* the lockout in force, then changed by the manager: the statement follows */
	c3 = control(m, "C3");
	assert_string_equal(evidence(c3, "lockout (this contract)"), "5 failures within 900 s lock for 900 s");
	assert_non_null(evidence(c3, "managers with a second factor"));
	json_decref(m);
	body = json_pack("{s:i}", "lockout_threshold", 7);
	r = it_send(w->s, &w->amgr, "PATCH", "/api/v1/tenant/security", body);   /* takes body */
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	m = statement(w->s, &w->amgr, "ja");
	assert_string_equal(it_json_str(m, "lang"), "ja");
	assert_string_equal(evidence(control(m, "C3"), "アカウントロック(この契約)"), "7回失敗(900秒以内)で900秒ロック");
	json_decref(m);
	/* another tenant's manager sees its own tenant only */
	m = statement(w->s, &w->bmgr, "en");
	assert_string_equal(it_json_str(json_object_get(m, "tenant"), "code"), "bravo");
	assert_string_equal(evidence(control(m, "C3"), "lockout (this contract)"), "5 failures within 900 s lock for 900 s");
	json_decref(m);
	/* recorded as an access in the tenant's own log */
	assert_true(it_audit_count(w->s, &w->amgr, "action=compliance.read&result=success") >= 2);
}

static void test_html_download_and_refusals(void **state)
{
	struct it_world *w = *state;
	struct it_response *r = it_get(w->s, &w->amgr, "/api/v1/compliance?lang=ja&format=html");

	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "text/html"));
	assert_non_null(strstr(r->headers, "attachment; filename=\"kura-statement-alpha-"));
	assert_non_null(strstr(r->headers, "style-src 'sha256-"));
	assert_non_null(strstr(r->body, "<html lang=\"ja\">"));
	assert_non_null(strstr(r->body, "証跡なし"));
	assert_non_null(strstr(r->body, "責任分界点"));
	assert_null(strstr(r->body, "<script"));
	it_response_free(r);
	/* users do not read it */
	IT_EXPECT_GET(w->s, &w->auser, "/api/v1/compliance", 403);
	r = it_get(w->s, &w->amgr, "/api/v1/compliance?lang=fr");
	IT_ASSERT_PROBLEM(r, 400, "invalid-parameter");
	it_response_free(r);
	r = it_get(w->s, &w->amgr, "/api/v1/compliance?format=pdf");
	IT_ASSERT_PROBLEM(r, 400, "invalid-parameter");
	it_response_free(r);
}

/* Each statement verifies the tenant's audit chain: at most KURA_RATE_COMPLIANCE (60) an
 * hour per tenant, then 429 with Retry-After; another tenant is not affected. */
static void test_statement_rate_limited(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	int i;

	for (i = 0; i < 60; i++) {
		r = it_get(w->s, &w->amgr, i % 2 ? "/api/v1/compliance?format=html" : "/api/v1/compliance");
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
	}
	r = it_get(w->s, &w->amgr, "/api/v1/compliance");
	IT_ASSERT_PROBLEM(r, 429, "rate-limited");
	assert_non_null(strcasestr(r->headers, "Retry-After: "));
	it_response_free(r);
	IT_EXPECT_GET(w->s, &w->bmgr, "/api/v1/compliance", 200);
}

static char *kura_out(struct it_server *s, const char *const *args, int *ret_status)
{
	const char *argv[16] = { KURA_BIN };
	size_t n = 1;
	char *out = NULL, *err = NULL;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	*ret_status = it_run(argv, 120, &out, &err);
	if (*ret_status != 0 && err && *err)
		print_message("kura %s: %s", argv[1], err);
	(void)s;
	free(err);
	return out;
}

static void test_oscal_valid(void **state)
{
	struct it_world *w = *state;
	char dep[600], ten[600], script[600];
	int st;

	snprintf(dep, sizeof(dep), "%s/oscal-deployment.json", w->s->root);
	snprintf(ten, sizeof(ten), "%s/oscal-alpha.json", w->s->root);
	IT_EXPECT_GET(w->s, &w->amgr, "/api/v1/audit/export", 200);   /* a checkpoint to cite */
	free(kura_out(w->s, (const char *[]){ "compliance", "report", "--data", w->s->data, "--format", "oscal", "--lang",
					      "en", "--out", dep, NULL }, &st));
	assert_int_equal(st, 0);
	free(kura_out(w->s, (const char *[]){ "compliance", "report", "--data", w->s->data, "--tenant", "alpha",
					      "--format", "oscal", "--out", ten, NULL }, &st));
	assert_int_equal(st, 0);
	snprintf(script, sizeof(script), "%s/tests/compliance/oscal_validate.mjs", KURA_SOURCE_DIR);
	{
		const char *argv[] = { "/usr/bin/env", "node", script, dep, ten, NULL };
		char *out = NULL, *err = NULL;

		st = it_run(argv, 240, &out, &err);
		if (st != 0)
			print_message("%s%s\n", out ? out : "", err ? err : "");
		assert_int_equal(st, 0);
		free(out);
		free(err);
	}
}

static void test_report_follows_config(void **state)
{
	struct it_server *s = it_server_start(&(struct it_options){ .tls = true,
		.extra_config = "[security]\nlockout_threshold = 8\n[provider]\naddress = 東京都千代田区 1-1\n" });
	char *out;
	json_t *m, *a3;
	int st;

	(void)state;
	assert_non_null(s);
	out = kura_out(s, (const char *[]){ "compliance", "report", "--data", s->data, "--format", "json", "--lang", "en", NULL },
		       &st);
	assert_int_equal(st, 0);
	m = json_loads(out, 0, NULL);
	free(out);
	assert_non_null(m);
	/* the deployment's statement: every service, the default in force */
	assert_true(json_is_null(json_object_get(m, "tenant")));
	assert_int_equal(json_array_size(json_object_get(m, "services")), 5);
	assert_string_equal(evidence(control(m, "C3"), "lockout (deployment default)"), "8 failures within 900 s lock for 900 s");
	/* served with TLS: the versions and the suites GnuTLS derives from the priority in force */
	assert_string_equal(evidence(control(m, "E1"), "TLS versions"), "TLS 1.3, TLS 1.2");
	assert_non_null(strstr(evidence(control(m, "E1"), "cipher suites"), "AES_256_GCM"));
	assert_null(strstr(evidence(control(m, "E1"), "cipher suites"), "CBC"));
	assert_non_null(evidence(control(m, "E1"), "server certificate key"));
	a3 = control(m, "A3");
	assert_string_equal(evidence(a3, "address"), "東京都千代田区 1-1");
	/* what kura.conf leaves empty is named as missing, not claimed */
	assert_true(missing_mentions(a3, "[provider]"));
	assert_string_not_equal(it_json_str(a3, "status"), "evidenced");
	json_decref(m);
	assert_int_equal(it_server_stop(s), 0);
}

static unsigned char *read_bin(const char *path, size_t *ret_n)
{
	char *p = it_read_file(path, ret_n);

	assert_non_null(p);
	return (unsigned char *)p;
}

static void write_bin(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A valid ustar header checksum for the 512-byte header h (changed by a test). */
static void fix_tar_checksum(unsigned char *h)
{
	unsigned sum = 0;
	char field[8];

	for (int i = 0; i < 512; i++)
		sum += (unsigned)(i >= 148 && i < 156 ? ' ' : h[i]);
	snprintf(field, sizeof(field), "%06o", sum);
	memcpy(h + 148, field, 7);
}

static char *verify(struct it_server *s, const char *file, const char *key, int *ret_status)
{
	return kura_out(s, (const char *[]){ "compliance", "verify", file, "--key", key, NULL }, ret_status);
}

static void test_evidence_bundle(void **state)
{
	struct it_world *w = *state;
	char bundle[600], bad[600], key[600], other[600];
	unsigned char *b;
	size_t n;
	char *out;
	int st;
	const char *const ev_args[] = { "compliance", "evidence", "--data", w->s->data, "--tenant", "alpha", "--from",
					"2020-01-01", "--to", "2099-12-31", "--out", bundle, NULL };

	snprintf(bundle, sizeof(bundle), "%s/evidence-alpha.tar", w->s->root);
	snprintf(bad, sizeof(bad), "%s/evidence-bad.tar", w->s->root);
	snprintf(key, sizeof(key), "%s/signing.pub", w->s->data);
	/* without an audit:read grant the operator gets nothing (C7) */
	free(kura_out(w->s, ev_args, &st));
	assert_int_equal(st, 1);
	assert_int_equal(it_admin(w->s, NULL, "access", "request", "alpha", "--reason", "監査 / audit", "--case", "AUD-7",
				  "--scope", "audit:read", "--hours", "1", "--emergency", NULL), 0);
	free(kura_out(w->s, ev_args, &st));
	assert_int_equal(st, 0);
	assert_true(it_audit_count(w->s, &w->amgr, "action=compliance.evidence") >= 1);

	out = verify(w->s, bundle, key, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "OK: "));
	assert_non_null(strstr(out, "tenant alpha"));
	free(out);

	/* one byte of the audit export changed: named */
	b = read_bin(bundle, &n);
	{
		unsigned char *p = memmem(b, n, "\"seq\":", 6);

		assert_non_null(p);
		p[6] = p[6] == '1' ? '2' : '1';
	}
	write_bin(bad, b, n);
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "audit.jsonl does not match its SHA-256"));
	free(out);
	free(b);

	/* a member renamed (so one is missing and one is added): both named */
	b = read_bin(bundle, &n);
	{
		/* the tar header: the name and its NUL (the manifest names it too, in quotes) */
		unsigned char *p = memmem(b, n, "config.json\0", 12);
		unsigned sum = 0;
		unsigned char *h;
		char field[8];

		assert_non_null(p);
		memcpy(p, "config.jsom", 11);
		/* a valid header checksum, so the change is judged by the manifest */
		h = p;
		for (int i = 0; i < 512; i++)
			sum += (unsigned)(i >= 148 && i < 156 ? ' ' : h[i]);
		snprintf(field, sizeof(field), "%06o", sum);
		memcpy(h + 148, field, 7);
	}
	remove(bad);
	write_bin(bad, b, n);
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "config.json is listed in the manifest but missing"));
	assert_non_null(strstr(out, "config.jsom is in the bundle but not in the manifest"));
	free(out);
	free(b);

	/* a member appended after the end blocks (tar -i, or another reader, would unpack it
	 * unchecked): refused */
	b = read_bin(bundle, &n);
	{
		unsigned char *x = malloc(n + 1024);
		unsigned char *h = memmem(b, n, "config.json\0", 12);

		assert_non_null(x);
		assert_non_null(h);
		memcpy(x, b, n);
		/* a copy of config.json's header, renamed, with an empty body */
		memcpy(x + n, h, 512);
		memset(x + n + 512, 0, 512);
		memcpy(x + n, "extra.json\0", 11);
		memcpy(x + n + 124, "00000000000", 11);
		fix_tar_checksum(x + n);
		remove(bad);
		write_bin(bad, x, n + 1024);
		free(x);
	}
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "bytes follow the end of the tar file"));
	free(out);
	free(b);

	/* a ustar prefix: tar unpacks the member as x/config.json, not as the name checked */
	b = read_bin(bundle, &n);
	{
		unsigned char *h = memmem(b, n, "config.json\0", 12);

		assert_non_null(h);
		memcpy(h + 345, "x", 2);
		fix_tar_checksum(h);
	}
	remove(bad);
	write_bin(bad, b, n);
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "has a name a bundle never has"));
	free(out);
	free(b);

	/* a name with terminal control bytes (the report prints names): refused */
	b = read_bin(bundle, &n);
	{
		unsigned char *h = memmem(b, n, "config.json\0", 12);

		assert_non_null(h);
		memcpy(h, "\x1b[2Jconfig", 11);
		fix_tar_checksum(h);
	}
	remove(bad);
	write_bin(bad, b, n);
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "has a name a bundle never has"));
	assert_null(strchr(out, 0x1b));
	free(out);
	free(b);

	/* the manifest's unsigned part names a "key" with terminal escapes: the report quotes
	 * it, but never as control bytes */
	b = read_bin(bundle, &n);
	{
		unsigned char *p = memmem(b, n, "\"public_key\":\"", 14);

		assert_non_null(p);
		memcpy(p + 14, "\\u001b", 6);
	}
	remove(bad);
	write_bin(bad, b, n);
	out = verify(w->s, bad, key, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "names a signing key other than the one given"));
	assert_null(strchr(out, 0x1b));
	free(out);
	free(b);

	/* another deployment's key: the signature does not verify */
	snprintf(other, sizeof(other), "%s/other.pub", w->s->root);
	write_bin(other, "0000000000000000000000000000000000000000000000000000000000000001\n", 65);
	out = verify(w->s, bundle, other, &st);
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "signature"));
	free(out);
}

/* Relay credentials written into [mail] smtp_url (libcurl takes smtp://USER:PASSWORD@HOST)
 * are a secret like smtp_password: neither the bundle's config.json nor the log has them. */
#define RELAY_PW "relay-pw-never-in-a-bundle"

static void test_evidence_leaves_out_url_credentials(void **state)
{
	struct it_server *s = it_server_start(&(struct it_options){
		.extra_config = "[mail]\nsmtp_url = smtp://relayuser:" RELAY_PW "@127.0.0.1:1\n" });
	char bundle[600], *log;
	unsigned char *b;
	size_t n;
	int st;

	(void)state;
	assert_non_null(s);
	snprintf(bundle, sizeof(bundle), "%s/evidence-alpha.tar", s->root);
	it_create_tenant(s, "alpha", NULL);
	assert_int_equal(it_admin(s, NULL, "access", "request", "alpha", "--reason", "監査 / audit", "--case", "AUD-8",
				  "--scope", "audit:read", "--hours", "1", "--emergency", NULL), 0);
	free(kura_out(s, (const char *[]){ "compliance", "evidence", "--data", s->data, "--tenant", "alpha", "--from",
					   "2020-01-01", "--to", "2099-12-31", "--out", bundle, NULL }, &st));
	assert_int_equal(st, 0);
	b = read_bin(bundle, &n);
	assert_null(memmem(b, n, RELAY_PW, strlen(RELAY_PW)));
	assert_null(memmem(b, n, "relayuser", strlen("relayuser")));
	/* what is kept: the relay itself */
	assert_non_null(memmem(b, n, "smtp://127.0.0.1:1", strlen("smtp://127.0.0.1:1")));
	free(b);
	log = it_read_file(s->log_path, &n);
	assert_non_null(log);
	assert_non_null(strstr(log, "mail sender started (smtp://127.0.0.1:1,"));
	assert_null(strstr(log, RELAY_PW));
	free(log);
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_manager_reads_tenant_statement, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_html_download_and_refusals, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_oscal_valid, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_statement_rate_limited, it_setup_world, it_teardown_world),
		cmocka_unit_test(test_report_follows_config),
		cmocka_unit_test_setup_teardown(test_evidence_bundle, it_setup_world, it_teardown_world),
		cmocka_unit_test(test_evidence_leaves_out_url_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
