/*
 * libFuzzer target for the CBOR of WebAuthn (src/auth/webauthn.c included; core/cborval.c):
 * the input is an attestation object, and also, as it is, the authenticator data of an
 * assertion. Runs what registration and assertion run before the database: cborval, then
 * attestation_parse() (libcbor), the authenticator data into libfido2
 * (fido_cred_set_authdata_raw, which cbor_load()s the COSE key and extensions) and the
 * attestation check of "none" / "packed" (fido_cred_verify*); authdata_check() and
 * fido_assert_set_authdata_raw() for the assertion. Besides the sanitizers (and libFuzzer's
 * -malloc_limit_mb, which catches an allocation that grows with a declared length), checks
 * that cborval's verdict on the item is its exact length and repeatable, that libcbor reads
 * an item cborval accepts with exactly that length or refuses it as malformed (never as
 * truncated or out of memory), and that attestation_parse() only accepts what cborval
 * accepted whole, with authData no longer than the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/auth/webauthn.c"
#include "core/config.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char cd_hash[32];
	struct attestation att;
	struct blob b;
	struct cbor_load_result res;
	cbor_item_t *item;
	fido_cred_t *c;
	fido_assert_t *as;
	const char *reason = NULL;
	size_t len = 0, len2 = 0;
	int type = 0, ok;

	if (size > KURA_WEBAUTHN_ATTOBJ_MAX)
		return 0;
	setup_once();
	ok = cborval_item(data, size, KURA_WEBAUTHN_CBOR_DEPTH_MAX, &len) == 0;
	if (ok != (cborval_item(data, size, KURA_WEBAUTHN_CBOR_DEPTH_MAX, &len2) == 0) || len != len2 ||
	    (ok && (len < 1 || len > size)))
		abort();
	if (ok) {
		/* libcbor is stricter in places (UTF-8 of text strings, nested tags) and may refuse
		 * as malformed what cborval passed; it must never find the item truncated, run out
		 * of memory, or read a different length */
		item = cbor_load(data, len, &res);
		if (item ? res.read != len
			 : res.error.code != CBOR_ERR_MALFORMATED && res.error.code != CBOR_ERR_SYNTAXERROR)
			abort();
		if (item)
			cbor_decref(&item);
	}

	b.p = (unsigned char *)data;
	b.n = size;
	if (attestation_parse(&b, &att) == 0) {
		if (!ok || len != size || att.n_auth_data < AUTHDATA_FIXED || att.n_auth_data > size)
			abort();
		c = cred_from_authdata(att.auth_data, att.n_auth_data, &type);
		if (c) {
			if (verify_attestation(&att, cd_hash, c, &reason) < 0 && !reason)
				abort();
			fido_cred_free(&c);
		}
	}
	if (att.root)
		cbor_decref(&att.root);

	if (authdata_check(data, size, false) == 0) {
		as = fido_assert_new();
		if (as && fido_assert_set_count(as, 1) == FIDO_OK)
			(void)fido_assert_set_authdata_raw(as, 0, data, size);
		fido_assert_free(&as);
	}
	return 0;
}
