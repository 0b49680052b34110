/*
 * Integration: hostile CBOR in WebAuthn ceremonies against a real `kura serve` (issue 14).
 * A 5-byte attestation object such as 0x9a ffffffff (an array of 2^32 - 1 elements) made
 * libcbor allocate and zero for the declared count before reading: 2^28 took the server to
 * 2 GiB, 2^32 aborted the sanitizer build. Here every such body, sent with a valid
 * clientDataJSON so that it reaches the CBOR decoder, must answer 400 problem+json; the
 * same CBOR in the authenticator data of an assertion, for a registered credential, must be
 * refused like any wrong second factor (401, recorded as "authenticator data"). The server's
 * peak resident memory must not grow by more than RSS_GROWTH_MAX, and it must keep serving.
 *
 * The registered credential is a "none" attestation built here: rpIdHash = SHA-256 of the RP
 * ID 127.0.0.1 (checked in the creation options), flags UP|AT, a COSE ES256 key whose point
 * is the P-256 generator. "none" carries no signature, so no private key is needed.
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

#define MGR_PW "Manager-pass-for-cbor-1"
#define OPS_PW "Second-manager-pass-22"
#define RSS_GROWTH_MAX (256L * 1024 * 1024)

/* SHA-256("127.0.0.1") */
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

static const unsigned char cred_id[16] = "kura-cbor-test-1";

/* The hostile bodies: arrays, byte strings and maps declaring more than is there. */
static const struct {
	const char *what;
	unsigned char b[9];
	size_t n;
} hostile[] = {
	{ "array 2^32-1", { 0x9a, 0xff, 0xff, 0xff, 0xff }, 5 },
	{ "array 2^28", { 0x9a, 0x10, 0x00, 0x00, 0x00 }, 5 },
	{ "array 2^32 (64-bit count)", { 0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00 }, 9 },
	{ "bytes 2^32-1", { 0x5a, 0xff, 0xff, 0xff, 0xff }, 5 },
	{ "bytes 2^64-1", { 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
	{ "map 2^32-1", { 0xba, 0xff, 0xff, 0xff, 0xff }, 5 },
	{ "map 2^28", { 0xba, 0x10, 0x00, 0x00, 0x00 }, 5 },
	{ "indefinite arrays, no break", { 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f }, 9 },
};

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

/* clientDataJSON for type and challenge, at the server's origin, base64url. */
static char *client_data(struct it_server *s, const char *type, const char *challenge)
{
	char json[1024];

	snprintf(json, sizeof(json), "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\",\"crossOrigin\":false}",
		 type, challenge, s->public_url);
	return b64url((const unsigned char *)json, strlen(json));
}

/* Peak resident set of the server, bytes (VmHWM). */
static long server_peak_rss(struct it_server *s)
{
	char path[64], *text, *p;
	long kb;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	text = it_read_file(path, NULL);
	assert_non_null(text);
	p = strstr(text, "VmHWM:");
	assert_non_null(p);
	kb = strtol(p + 6, NULL, 10);
	free(text);
	return kb * 1024;
}

/* POST .../register/finish with this attestation object; the response. */
static struct it_response *finish(struct it_server *s, const struct it_session *mgr, const char *challenge,
				  const unsigned char *att, size_t n_att)
{
	char *cd = client_data(s, "webauthn.create", challenge), *ao = b64url(att, n_att);
	char *id = b64url(cred_id, sizeof(cred_id));
	struct it_response *r = it_send(s, mgr, "POST", "/api/v1/me/mfa/webauthn/register/finish",
					json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}}", "name", "key", "credential",
						  "id", id, "rawId", id, "type", "public-key", "response",
						  "clientDataJSON", cd, "attestationObject", ao));

	free(cd);
	free(ao);
	free(id);
	return r;
}

/* A registration ceremony's challenge (the RP ID checked). malloc'd. */
static char *register_begin(struct it_server *s, const struct it_session *mgr)
{
	struct it_response *r = it_send(s, mgr, "POST", "/api/v1/me/mfa/webauthn/register",
					json_pack("{s:s}", "password", MGR_PW));
	json_t *pk;
	char *ch;

	IT_ASSERT_STATUS(r, 200);
	pk = json_object_get(r->json, "publicKey");
	assert_string_equal(it_json_str(json_object_get(pk, "rp"), "id"), "127.0.0.1");
	ch = strdup(it_json_str(pk, "challenge"));
	assert_non_null(ch);
	it_response_free(r);
	return ch;
}

/* {"fmt": "none", "attStmt": {}, "authData": rpIdHash | UP|AT | 0 | aaguid | id | COSE key} */
static size_t none_attestation(unsigned char *obj)
{
	unsigned char ad[256];
	size_t n = 0, n_ad = 0;

	memcpy(ad, rp_hash, 32);
	ad[32] = 0x41;
	memset(ad + 33, 0, 4 + 16);
	n_ad = 53;
	ad[n_ad++] = 0;
	ad[n_ad++] = sizeof(cred_id);
	memcpy(ad + n_ad, cred_id, sizeof(cred_id));
	n_ad += sizeof(cred_id);
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

/* Managers may go without a second factor, so "ops" (who has none) keeps a full session to
 * unlock "boss" and read the audit log whatever the enrolment rules do to boss's sessions. */
static int setup_server(void **state)
{
	struct it_options o = { .extra_config = "[security]\nmfa_managers_default = optional\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

static void test_hostile_cbor(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, ops;
	struct it_response *r;
	unsigned char obj[512], ad[64];
	char *ch, *cd, *id, *ad64;
	long rss0;
	size_t i, n;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "ops", "manager", OPS_PW, &ops);
	rss0 = server_peak_rss(s);

	/* registration: each hostile attestation object is refused as malformed, and the
	 * ceremony stays open (the challenge is spent only by a verified credential) */
	ch = register_begin(s, &mgr);
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		r = finish(s, &mgr, ch, hostile[i].b, hostile[i].n);
		if (r->status != 400)
			fail_msg("%s: status %ld (%s)", hostile[i].what, r->status, r->curl_error);
		IT_ASSERT_PROBLEM(r, 400, "invalid-field");
		assert_string_equal(it_json_str(r->json, "field"), "credential");
		it_response_free(r);
	}
	/* the same inside authData (the COSE key libfido2 would decode) */
	n = none_attestation(obj);
	memcpy(obj + n - sizeof(cose_es256), "\x9a\xff\xff\xff\xff", 5);
	obj[28] -= sizeof(cose_es256) - 5;   /* authData's length byte */
	r = finish(s, &mgr, ch, obj, n - sizeof(cose_es256) + 5);
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	/* a well-formed "none" credential is registered with the same challenge */
	n = none_attestation(obj);
	r = finish(s, &mgr, ch, obj, n);
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	free(ch);

	/* assertion: extensions (ED) that declare 2^32 - 1 entries, for the registered id */
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct it_response *login = it_send(s, NULL, "POST", "/api/v1/session",
						    json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", "boss",
							      "password", MGR_PW));
		const char *wch;

		IT_ASSERT_STATUS(login, 202);
		wch = it_json_str(json_object_get(json_object_get(login->json, "webauthn"), "publicKey"),
				  "challenge");
		assert_non_null(wch);
		memcpy(ad, rp_hash, 32);
		ad[32] = 0x81;                      /* UP | ED */
		memset(ad + 33, 0, 3);
		ad[36] = (unsigned char)(i + 1);    /* sign count */
		memcpy(ad + 37, hostile[i].b, hostile[i].n);
		ad64 = b64url(ad, 37 + hostile[i].n);
		cd = client_data(s, "webauthn.get", wch);
		id = b64url(cred_id, sizeof(cred_id));
		r = it_send(s, NULL, "POST", "/api/v1/session",
			    json_pack("{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s, s:s}}}", "challenge",
				      it_json_str(login->json, "challenge"), "webauthn", "id", id, "rawId", id, "type",
				      "public-key", "response", "clientDataJSON", cd, "authenticatorData", ad64,
				      "signature", "MEUCIQ"));
		if (r->status != 401)
			fail_msg("assertion, %s: status %ld (%s)", hostile[i].what, r->status, r->curl_error);
		IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
		it_response_free(r);
		it_response_free(login);
		free(ad64);
		free(cd);
		free(id);
		/* wrong second factors count toward the lockout (threshold 5): unlock each time */
		r = it_send(s, &ops, "POST", "/api/v1/accounts/boss/unlock", NULL);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
	}
	/* recorded as a refused authenticator data, not as something else */
	r = it_get(s, &ops, "/api/v1/audit?result=failure&category=authentication&limit=1000");
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, "authenticator data"));
	it_response_free(r);

	IT_EXPECT_GET(s, &ops, "/api/v1/me", 200);
	assert_true(server_peak_rss(s) - rss0 < RSS_GROWTH_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_cbor, setup_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
