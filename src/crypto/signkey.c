/*
 * The deployment's Ed25519 signing key (signs exported audit checkpoints and the like):
 * DIR/signing.key holds the 64-byte libsodium secret key, DIR/signing.pub the public key
 * in hex and a newline, for anyone who wants to verify.
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

int signkey_create(const char *dir)
{
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	char pub_hex[SIGN_PUBLIC_BYTES * 2 + 2];
	unsigned char pk[SIGN_PUBLIC_BYTES];
	unsigned char *sk = NULL;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	r = str_printf(key_path, sizeof(key_path), "%s/signing.key", dir);
	if (r < 0)
		return r;
	r = str_printf(pub_path, sizeof(pub_path), "%s/signing.pub", dir);
	if (r < 0)
		return r;
	sk = sodium_malloc(SIGN_SECRET_BYTES);
	if (!sk)
		return -ENOMEM;
	if (crypto_sign_keypair(pk, sk) != 0) {
		r = -EIO;
		goto out;
	}
	hex_encode(pk, sizeof(pk), pub_hex);
	pub_hex[SIGN_PUBLIC_BYTES * 2] = '\n';
	pub_hex[SIGN_PUBLIC_BYTES * 2 + 1] = '\0';
	r = crypto_write_new_file(key_path, sk, SIGN_SECRET_BYTES, 0600);
	if (r < 0)
		goto out;
	r = crypto_write_new_file(pub_path, pub_hex, SIGN_PUBLIC_BYTES * 2 + 1, 0644);
	if (r < 0)
		unlink(key_path);
out:
	sodium_memzero(sk, SIGN_SECRET_BYTES);
	sodium_free(sk);
	return r;
}
