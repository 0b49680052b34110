/* kura version: kura's version, and with --deps those of every linked library (F7, deps.c). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "http/http.h"
#include "notify/notify.h"
#include "store/db.h"

int cmd_version(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--deps"))
		return cmd_version_deps();
	if (argc != 1) {
		fputs("usage: kura version [--deps]\n", stderr);
		return 2;
	}
#ifdef KURA_TEST_HOOKS
	printf("kura %s (a test build: KURA_TEST_* seams compiled in, not for production)\n", KURA_VERSION);
#else
	printf("kura %s\n", KURA_VERSION);
#endif
	printf("libmicrohttpd %s\n", http_mhd_version());
	printf("gnutls %s\n", crypto_gnutls_version());
	printf("libsodium %s\n", crypto_sodium_version());
	printf("sqlite %s\n", db_version());
	printf("jansson %s\n", jansson_version_str());
	printf("libcurl %s\n", notify_curl_version());
	printf("libinih %s\n", KURA_INIH_VERSION);
	return 0;
}
