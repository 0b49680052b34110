/*
 * libFuzzer target for the WebAuthn credential as the browser sends it (src/auth/webauthn.c
 * included): the PublicKeyCredential JSON object (credential_parse: base64url members,
 * bounded), its clientDataJSON (client_data_check: type, challenge, origin, crossOrigin),
 * and then everything registration and assertion do before the database (attestation
 * object, authenticator data, libfido2's checks; an assertion is verified against a fixed
 * ES256 key, which never signed anything). RP ID files.example.com, origin
 * https://files.example.com. Checks: decoded members within their limits
 * (KURA_WEBAUTHN_ID_MAX, _CLIENTDATA_MAX, _ATTOBJ_MAX); id equal to rawId and the only
 * base64url spelling of the decoded bytes (a byte >= 0x80 once decoded as a digit); a
 * refusal with a reason; an accepted clientDataJSON has the asked type and the origin;
 * nothing verifies.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/auth/webauthn.c"
#include "core/config.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* P-256 generator as an uncompressed point without the 04 prefix (x | y) */
static const unsigned char pub_g[64] = {
	0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
	0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
	0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
	0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static void setup_once(void)
{
	static bool done;
	static unsigned char master[32];
	struct config cfg;

	if (done)
		return;
	done = true;
	if (crypto_init() < 0)
		abort();
	config_defaults(&cfg);
	str_copy(cfg.public_url, sizeof(cfg.public_url), "https://files.example.com");
	if (mfa_configure(&cfg, master) < 0)
		abort();
}

static void check_client_data(const struct blob *cd, const char *type)
{
	unsigned char hash[32];
	const char *reason = NULL;
	json_t *j;

	if (client_data_check(cd, type, hash, &reason) < 0) {
		if (!reason)
			abort();
		return;
	}
	j = json_loadb((const char *)cd->p, cd->n, 0, NULL);
	if (!j || strcmp(json_string_value(json_object_get(j, "type")), type) ||
	    strcmp(json_string_value(json_object_get(j, "origin")), "https://files.example.com"))
		abort();
	json_decref(j);
}

static void registration(const struct credential *cr)
{
	static const unsigned char cd_hash[32];
	struct attestation att;
	fido_cred_t *c;
	const char *reason = NULL;
	int type = 0;

	check_client_data(&cr->client_data, "webauthn.create");
	if (attestation_parse(&cr->att_obj, &att) == 0) {
		c = cred_from_authdata(att.auth_data, att.n_auth_data, &type);
		if (c) {
			if (verify_attestation(&att, cd_hash, c, &reason) < 0 && !reason)
				abort();
			fido_cred_free(&c);
		}
	}
	if (att.root)
		cbor_decref(&att.root);
}

static void assertion(const struct credential *cr)
{
	static const unsigned char cd_hash[32];
	fido_assert_t *as;
	es256_pk_t *pk;

	check_client_data(&cr->client_data, "webauthn.get");
	if (authdata_check(cr->auth_data.p, cr->auth_data.n, false) < 0)
		return;
	as = fido_assert_new();
	pk = es256_pk_new();
	if (as && pk && fido_assert_set_rp(as, mfa_rp_id()) == FIDO_OK &&
	    fido_assert_set_clientdata_hash(as, cd_hash, sizeof(cd_hash)) == FIDO_OK &&
	    fido_assert_set_count(as, 1) == FIDO_OK &&
	    fido_assert_set_authdata_raw(as, 0, cr->auth_data.p, cr->auth_data.n) == FIDO_OK &&
	    fido_assert_set_sig(as, 0, cr->sig.p, cr->sig.n) == FIDO_OK &&
	    fido_assert_set_up(as, FIDO_OPT_TRUE) == FIDO_OK && es256_pk_from_ptr(pk, pub_g, sizeof(pub_g)) == FIDO_OK &&
	    fido_assert_verify(as, 0, COSE_ES256, pk) == FIDO_OK)
		abort();   /* nobody holds the generator's private key in this corpus */
	es256_pk_free(&pk);
	fido_assert_free(&as);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct credential cr;
	json_t *j;
	int kind;

	if (size > KURA_MAX_JSON_BODY)
		return 0;
	setup_once();
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	for (kind = 0; kind < 2; kind++) {
		if (credential_parse(j, kind == 1, &cr) < 0)
			continue;
		if (cr.raw_id.n > KURA_WEBAUTHN_ID_MAX || cr.client_data.n > KURA_WEBAUTHN_CLIENTDATA_MAX ||
		    cr.att_obj.n > KURA_WEBAUTHN_ATTOBJ_MAX || cr.auth_data.n > KURA_WEBAUTHN_ATTOBJ_MAX ||
		    strcmp(json_string_value(json_object_get(j, "id")), json_string_value(json_object_get(j, "rawId"))))
			abort();
		/* one spelling per credential id: encoding the decoded id gives the text back
		 * (without '=' padding) */
		{
			const char *raw = json_string_value(json_object_get(j, "rawId"));
			char *again = b64url_encode(cr.raw_id.p, cr.raw_id.n);
			size_t n = strlen(raw);

			while (n && raw[n - 1] == '=')
				n--;
			if (!again || strlen(again) != n || memcmp(again, raw, n))
				abort();
			free(again);
		}
		if (kind == 0)
			registration(&cr);
		else
			assertion(&cr);
		credential_clear(&cr);
	}
	json_decref(j);
	return 0;
}
