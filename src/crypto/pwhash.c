/*
 * Password hashing with Argon2id (libsodium crypto_pwhash_str_alg). The cost is set once at
 * start-up by pwhash_set_params(), before any thread starts, and read by every hash after.
 *
 * SECURITY: pwhash_verify_dummy() verifies against a fixed hash made with the same cost, so
 * a login for an account that does not exist takes as long as one for an account that does
 * (no user enumeration by timing). The dummy hash is of random bytes nobody knows.
 */
#include <pthread.h>

#include <sodium.h>

#include "crypto/crypto.h"

_Static_assert(PWHASH_STR_BYTES == crypto_pwhash_STRBYTES, "pwhash string size");

static unsigned long long pwhash_ops = 3;
static size_t pwhash_mem = (size_t)65536 * 1024;

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PWHASH_STR_BYTES];

int pwhash_set_params(uint32_t ops, uint32_t mem_kib)
{
	size_t mem = (size_t)mem_kib * 1024;

	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MAX)
		return -EINVAL;
	pwhash_ops = ops;
	pwhash_mem = mem;
	return 0;
}

int pwhash_hash(const char *password, char ret[PWHASH_STR_BYTES])
{
	char out[PWHASH_STR_BYTES];

	if (!password)
		return -EINVAL;
	if (crypto_pwhash_str_alg(out, password, strlen(password), pwhash_ops, pwhash_mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;   /* the only way it fails with valid parameters */
	memcpy(ret, out, sizeof(out));
	return 0;
}

int pwhash_verify(const char *hash, const char *password)
{
	if (!hash || !password || strnlen(hash, PWHASH_STR_BYTES) >= PWHASH_STR_BYTES ||
	    strncmp(hash, "$argon2", 7) != 0)
		return -EINVAL;
	if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
		return -EACCES;
	return 0;
}

static void dummy_make(void)
{
	unsigned char secret[32];
	char text[sizeof(secret) * 2 + 1];

	randombytes_buf(secret, sizeof(secret));
	hex_encode(secret, sizeof(secret), text);
	if (crypto_pwhash_str_alg(dummy_hash, text, strlen(text), pwhash_ops, pwhash_mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
}

void pwhash_verify_dummy(const char *password)
{
	const char *p = password ? password : "";
	volatile int sink;

	pthread_once(&dummy_once, dummy_make);
	if (dummy_hash[0]) {
		sink = crypto_pwhash_str_verify(dummy_hash, p, strlen(p));   /* always fails */
		(void)sink;
	}
}
