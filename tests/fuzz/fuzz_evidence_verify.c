/*
 * libFuzzer target for the evidence-bundle verifier (src/compliance/evidence.c,
 * compliance_verify_bundle): `kura compliance verify` reads bundles from third parties by
 * design (a ustar reader, a canonical-JSON manifest, the audit export inside). Input: a
 * 32-byte Ed25519 public key, then the bundle. Besides the sanitizers, checks that the
 * answer is always an object whose "ok" is true exactly when "problems" is empty.
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "compliance/compliance.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	json_t *res = NULL;

	if (!init) {
		if (crypto_init() < 0)
			abort();
		init = true;
	}
	if (size < 32)
		return 0;
	if (compliance_verify_bundle(data + 32, size - 32, data, &res) != 0 || !json_is_object(res))
		abort();
	if (json_is_true(json_object_get(res, "ok")) != (json_array_size(json_object_get(res, "problems")) == 0))
		abort();
	json_decref(res);
	return 0;
}
