/*
 * libFuzzer target for http_date_parse() of src/http/api_files.c (included): the HTTP-date of
 * If-Modified-Since and If-Unmodified-Since (RFC 9110 5.6.7, IMF-fixdate), and its
 * counterpart clock_format_http() (src/core/clock.c) that writes Last-Modified. Checks that
 * a date that parses and can be written again (years 0-9999) reads back as the same second,
 * and that for the first 8 input bytes taken as a time in microseconds, writing then
 * parsing gives that time's second.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/api_files.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64];
	int64_t t, us = 0;
	size_t i;

	if (size > 256)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	t = http_date_parse(s);
	if (t < -1)
		abort();
	if (t >= 0 && t <= INT64_MAX / 1000000 && clock_format_http(t * 1000000, buf, sizeof(buf)) == 0 &&
	    http_date_parse(buf) != t)
		abort();
	free(s);
	if (size >= 8) {
		for (i = 0; i < 8; i++)
			us |= (int64_t)((uint64_t)data[i] << (8 * i));
		if (us >= 0 && clock_format_http(us, buf, sizeof(buf)) == 0) {
			if (strlen(buf) != 29 || http_date_parse(buf) != us / 1000000)
				abort();
		}
	}
	if (http_date_parse(NULL) != -1)
		abort();
	return 0;
}
