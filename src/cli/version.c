/* kura version: kura's version and those of every linked library (F7). */
#include <stdio.h>

#include <jansson.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "notify/notify.h"
#include "store/db.h"

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("kura %s\n", KURA_VERSION);
	printf("libmicrohttpd %s\n", http_mhd_version());
	printf("gnutls %s\n", crypto_gnutls_version());
	printf("libsodium %s\n", crypto_sodium_version());
	printf("sqlite %s\n", db_version());
	printf("jansson %s\n", jansson_version_str());
	printf("libcurl %s\n", notify_curl_version());
	printf("libinih %s\n", KURA_INIH_VERSION);
	return 0;
}
