/*
 * The key hierarchy: the master key (a key file) wraps each tenant's key; tenant keys wrap
 * file keys. A wrapped tenant key is nonce (24) || XChaCha20-Poly1305 ciphertext (32) || tag
 * (16), with associated data "kura tenant key" || tenant_id || version (8 bytes big-endian
 * each), so a wrapped key copied to another tenant or version does not unwrap.
 *
 * SECURITY: random 192-bit nonces (no counter state to lose); unwrapping verifies the tag
 * before anything is released, and on failure the output is zeroed. Plain tenant keys on
 * the stack are wiped before return.
 */
#include <sodium.h>

#include "crypto/crypto.h"

#define KEYRING_AD_PREFIX "kura tenant key"
#define KEYRING_AD_BYTES (sizeof(KEYRING_AD_PREFIX) - 1 + 8 + 8)
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

_Static_assert(NONCE_BYTES == 24, "nonce size");
_Static_assert(WRAPPED_KEY_BYTES ==
	       NONCE_BYTES + TENANT_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES,
	       "wrapped key size");
_Static_assert(MASTER_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "master key");

static void put_be64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static void keyring_ad(int64_t tenant_id, int64_t version, unsigned char ad[KEYRING_AD_BYTES])
{
	size_t n = sizeof(KEYRING_AD_PREFIX) - 1;

	memcpy(ad, KEYRING_AD_PREFIX, n);
	put_be64(ad + n, tenant_id);
	put_be64(ad + n + 8, version);
}

int keyring_new_tenant_key(const unsigned char *master, int64_t tenant_id, int64_t version,
			   unsigned char ret_wrapped[WRAPPED_KEY_BYTES])
{
	unsigned char key[TENANT_KEY_BYTES];
	unsigned char out[WRAPPED_KEY_BYTES];
	unsigned char ad[KEYRING_AD_BYTES];
	unsigned long long n_out = 0;
	int r;

	if (!master || !ret_wrapped)
		return -EINVAL;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(out, NONCE_BYTES);
	keyring_ad(tenant_id, version, ad);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_BYTES, &n_out, key,
						       sizeof(key), ad, sizeof(ad), NULL, out,
						       master) != 0 ||
	    n_out != WRAPPED_KEY_BYTES - NONCE_BYTES) {
		r = -EIO;
		goto out;
	}
	memcpy(ret_wrapped, out, sizeof(out));
	r = 0;
out:
	sodium_memzero(key, sizeof(key));
	return r;
}

int keyring_unwrap_tenant_key(const unsigned char *master, int64_t tenant_id, int64_t version,
			      const unsigned char wrapped[WRAPPED_KEY_BYTES],
			      unsigned char ret[TENANT_KEY_BYTES])
{
	unsigned char ad[KEYRING_AD_BYTES];
	unsigned long long n_out = 0;

	if (!ret)
		return -EINVAL;
	if (!master || !wrapped) {
		sodium_memzero(ret, TENANT_KEY_BYTES);
		return -EINVAL;
	}
	keyring_ad(tenant_id, version, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ret, &n_out, NULL, wrapped + NONCE_BYTES,
						       WRAPPED_KEY_BYTES - NONCE_BYTES, ad,
						       sizeof(ad), wrapped, master) != 0 ||
	    n_out != TENANT_KEY_BYTES) {
		sodium_memzero(ret, TENANT_KEY_BYTES);
		return -EACCES;
	}
	return 0;
}
