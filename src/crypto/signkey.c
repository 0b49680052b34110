/*
 * The deployment's Ed25519 signing key (signs exported audit checkpoints and the like):
 * DIR/signing.key holds the 64-byte libsodium secret key, DIR/signing.pub the public key
 * in hex and a newline, for anyone who wants to verify.
 *
 * A rotation (src/audit/signkeys.c) makes a new pair under other names and renames it
 * into place; signkey_write_public rewrites the public half.
 *
 * SECURITY: the secret is made in sodium_malloc'ed memory, written owner-only with O_EXCL
 * (an existing key is never replaced), and wiped before return. If the public half cannot
 * be written, the secret file is removed so no half-made key pair is left.
 */
#include <limits.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

_Static_assert(SIGN_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 secret size");
_Static_assert(SIGN_PUBLIC_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 public size");

static void pub_text(const unsigned char pk[SIGN_PUBLIC_BYTES], char out[SIGN_PUBLIC_BYTES * 2 + 2])
{
	hex_encode(pk, SIGN_PUBLIC_BYTES, out);
	out[SIGN_PUBLIC_BYTES * 2] = '\n';
	out[SIGN_PUBLIC_BYTES * 2 + 1] = '\0';
}

int signkey_create_pair(const char *key_path, const char *pub_path, unsigned char *ret_sk)
{
	char pub_hex[SIGN_PUBLIC_BYTES * 2 + 2];
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char *sk = NULL;
	int r;

	if (!key_path || !pub_path)
		return -EINVAL;
	sk = sodium_malloc(SIGN_SECRET_BYTES);
	if (!sk)
		return -ENOMEM;
	if (crypto_sign_keypair(pk, sk) != 0) {
		r = -EIO;
		goto out;
	}
	pub_text(pk, pub_hex);
	r = crypto_write_new_file(key_path, sk, SIGN_SECRET_BYTES, 0600);
	if (r < 0)
		goto out;
	r = crypto_write_new_file(pub_path, pub_hex, SIGN_PUBLIC_BYTES * 2 + 1, 0644);
	if (r < 0) {
		unlink(key_path);
		goto out;
	}
	if (ret_sk)
		memcpy(ret_sk, sk, SIGN_SECRET_BYTES);
out:
	sodium_memzero(sk, SIGN_SECRET_BYTES);
	sodium_free(sk);
	return r;
}

int signkey_create(const char *dir)
{
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	r = str_printf(key_path, sizeof(key_path), "%s/signing.key", dir);
	if (r < 0)
		return r;
	r = str_printf(pub_path, sizeof(pub_path), "%s/signing.pub", dir);
	if (r < 0)
		return r;
	return signkey_create_pair(key_path, pub_path, NULL);
}

int signkey_write_public(const char *pub_path, const unsigned char pk[SIGN_PUBLIC_BYTES])
{
	char pub_hex[SIGN_PUBLIC_BYTES * 2 + 2];

	if (!pub_path || !pk)
		return -EINVAL;
	pub_text(pk, pub_hex);
	return crypto_replace_file(pub_path, pub_hex, SIGN_PUBLIC_BYTES * 2 + 1, 0644);
}
