/*
 * libFuzzer target for mail_address_valid() (src/notify/outbox.c): the recipient goes into
 * RCPT TO and the To: header. An accepted address must be at most KURA_EMAIL_MAX bytes, have
 * exactly one '@' with a non-empty local part of at most 64 bytes, no byte outside printable
 * ASCII (so no CR, LF, NUL, space or UTF-8), none of the characters that start a second
 * address, a display name, a comment or a quoted string, and an LDH domain without empty
 * labels or a label starting or ending with '-'. The input is a C string: bytes after a NUL
 * are not part of it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/limits.h"
#include "notify/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_domain(const char *d)
{
	size_t n = strlen(d), i, label = 0;

	if (n == 0 || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
		abort();
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (label == 0 || label > 63 || d[i - label] == '-' || d[i - 1] == '-')
				abort();
			label = 0;
			continue;
		}
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", d[i]))
			abort();
		label++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *addr, *at;
	size_t i;

	addr = malloc(size + 1);
	if (!addr)
		return 0;
	memcpy(addr, data, size);
	addr[size] = '\0';
	if (mail_address_valid(addr)) {
		size_t n = strlen(addr);

		if (n == 0 || n > KURA_EMAIL_MAX)
			abort();
		at = strchr(addr, '@');
		if (!at || at == addr || strchr(at + 1, '@') || at - addr > 64)
			abort();
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)addr[i];

			if (c <= 0x20 || c >= 0x7f || strchr("\"<>,\\();:[]", c))
				abort();
		}
		check_domain(at + 1);
	}
	free(addr);
	return 0;
}
