/* Checked number parsing, UTF-8 validation and bounded string formatting. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/core.h"

int safe_atoi64(const char *str, int64_t *ret)
{
	char *end = NULL;
	long long v;

	if (!str || !*str || (*str != '-' && (*str < '0' || *str > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(str, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

int safe_atou32(const char *str, uint32_t *ret)
{
	int64_t v;
	int r;

	if (!str || *str == '-')
		return -EINVAL;
	r = safe_atoi64(str, &v);
	if (r < 0)
		return r;
	if (v < 0 || v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

bool utf8_is_clean_text(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (k == 0)
			return false;
		if ((cp < 0x20 && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
			return false;
		i += k;
	}
	return true;
}

size_t utf8_length(const char *str, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)str[i] & 0xC0) != 0x80)
			count++;
	return count;
}

void url_strip_userinfo(const char *url, char *out, size_t size)
{
	const char *auth = strstr(url, "://"), *end, *at;

	if (!auth) {
		str_copy(out, size, url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	if (!at)
		str_copy(out, size, url);
	else
		str_printf(out, size, "%.*s%s", (int)(auth - url), url, at + 1);
}

int str_printf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -E2BIG : 0;
}

int str_copy(char *buf, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -E2BIG;
	if (n >= size) {
		memcpy(buf, src, size - 1);
		buf[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(buf, src, n + 1);
	return 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *secret_free(char *str)
{
	if (str) {
		sodium_memzero(str, strlen(str));
		free(str);
	}
	return NULL;
}
