/*
 * Start-up of the crypto module and the library versions `kura version` prints.
 * sodium_init() must run before any other function here; GnuTLS initialises itself
 * when its library is loaded.
 */
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "crypto/crypto.h"

int crypto_init(void)
{
	/* 0 on first success, 1 when already initialised, -1 on failure. */
	if (sodium_init() < 0)
		return -EIO;
	return 0;
}

const char *crypto_sodium_version(void)
{
	return sodium_version_string();
}

const char *crypto_gnutls_version(void)
{
	return gnutls_check_version(NULL);
}
