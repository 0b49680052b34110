/*
 * libFuzzer target for parse_timeout() of src/http/dav.c (included): the LOCK Timeout header
 * (RFC 4918 10.7, "Second-N" or "Infinite", several comma-separated). Checks that the
 * answer is always within 1..KURA_DAV_LOCK_TIMEOUT_MAX_S, and is the default
 * KURA_DAV_LOCK_TIMEOUT_S when the header names no "Second-" value at all.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/dav.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t t;
	char *h;

	if (size > KURA_MAX_HEADER_BYTES)
		return 0;
	h = malloc(size + 1);
	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	t = parse_timeout(h);
	if (t < 1 || t > KURA_DAV_LOCK_TIMEOUT_MAX_S)
		abort();
	if (!strcasestr(h, "Second-") && t != KURA_DAV_LOCK_TIMEOUT_S)
		abort();
	if (parse_timeout(NULL) != KURA_DAV_LOCK_TIMEOUT_S)
		abort();
	free(h);
	return 0;
}
