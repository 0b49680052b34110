/*
 * Random tokens (sessions, CSRF, invitations): 256 random bits as base64url without padding,
 * 43 characters. The database stores only the SHA-256 of the token text, so a stolen
 * database does not hand out live sessions.
 *
 * SECURITY: the raw random bytes are wiped after encoding; token_well_formed() lets callers
 * refuse junk before any look-up; comparisons of stored hashes use sodium_memcmp.
 */
#include <sodium.h>

#include "core/limits.h"
#include "crypto/crypto.h"

_Static_assert(TOKEN_BYTES == KURA_TOKEN_BYTES, "one token size");

_Static_assert(TOKEN_HASH_BYTES == crypto_hash_sha256_BYTES, "token hash is SHA-256");
_Static_assert(TOKEN_STR_LEN + 1 ==
	       sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	       "token text length");

int token_new(char *ret, size_t size)
{
	unsigned char raw[TOKEN_BYTES];

	if (!ret || size < TOKEN_STR_LEN + 1)
		return -EINVAL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(ret, size, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

bool token_well_formed(const char *str)
{
	size_t i;
	char c;

	if (!str)
		return false;
	for (i = 0; i < TOKEN_STR_LEN; i++) {
		c = str[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;   /* also stops at the NUL of a short string */
	}
	return str[TOKEN_STR_LEN] == '\0';
}

void token_hash(const char *token, unsigned char ret[TOKEN_HASH_BYTES])
{
	crypto_hash_sha256(ret, (const unsigned char *)token, strlen(token));
}
