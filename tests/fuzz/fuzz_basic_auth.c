/*
 * libFuzzer target for basic_auth_parse() (src/auth/apppass.c): the Authorization header of
 * WebDAV and API clients, "Basic base64(user:secret)" (RFC 7617). Buffers are sized as in
 * access_authenticate_basic(). Checks on an accepted header: user and secret are terminated
 * within their buffers, clean UTF-8 without control characters, the user holds no ':' (the
 * first colon splits), and base64 of "user:secret" is what the header carried (nothing
 * dropped or added); a refused header leaves an error and no partial promise.
 */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "auth/access.h"

#define USER_SIZE 256
#define SECRET_SIZE 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h, user[USER_SIZE], secret[SECRET_SIZE], joined[USER_SIZE + SECRET_SIZE + 1];
	char b64[sizeof(joined) * 4 / 3 + 8];
	const char *p;
	size_t nu, ns, n;
	int r;

	if (size > 8192)
		return 0;
	h = malloc(size + 1);
	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	memset(user, 0xa5, sizeof(user));
	memset(secret, 0xa5, sizeof(secret));
	r = basic_auth_parse(h, user, sizeof(user), secret, sizeof(secret));
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0) {
		nu = strnlen(user, sizeof(user));
		ns = strnlen(secret, sizeof(secret));
		if (nu == sizeof(user) || ns == sizeof(secret) || strchr(user, ':') ||
		    !utf8_is_clean_text(user, nu) || !utf8_is_clean_text(secret, ns))
			abort();
		memcpy(joined, user, nu);
		joined[nu] = ':';
		memcpy(joined + nu + 1, secret, ns);
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)joined, nu + 1 + ns,
				  sodium_base64_VARIANT_ORIGINAL);
		p = h + 6;
		while (*p == ' ')
			p++;
		n = strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		if (strncasecmp(h, "Basic ", 6) || n != strlen(b64) || memcmp(p, b64, n))
			abort();
	}
	free(h);
	return 0;
}
