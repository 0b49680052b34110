/*
 * What every kura file needs: the error convention, checked number parsing, small string
 * helpers and the banned-function list.
 *
 * Error convention: functions return int, 0 on success or a negative errno code:
 *   -EINVAL bad input, -ENOENT not found, -EEXIST conflict, -EACCES denied,
 *   -EPERM  not allowed in this state, -ENOMEM, -EIO storage failure, -EBUSY try later,
 *   -ETIMEDOUT expired, -E2BIG over a limit.
 * Constructors return NULL on failure. Destructors accept NULL and return NULL.
 */
#ifndef KURA_CORE_CORE_H
#define KURA_CORE_CORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KURA_WUR __attribute__((warn_unused_result))
#define KURA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Checked parsing: the whole string must be a number in range; 0 or -EINVAL/-ERANGE. */
int safe_atoi64(const char *str, int64_t *ret);
int safe_atou32(const char *str, uint32_t *ret);

/* True when str is valid UTF-8 without NUL or C0/C1 control characters (tab allowed). */
bool utf8_is_clean_text(const char *str, size_t n);
/* One code point of strict UTF-8 (RFC 3629) at s, n bytes available, into *ret_cp: its
 * length in bytes, 0 when the bytes there are not UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);
/* Number of code points in valid UTF-8. */
size_t utf8_length(const char *str, size_t n);

/* Formats into buf; returns 0, or -E2BIG when it did not fit (buf then holds a prefix). */
int str_printf(char *buf, size_t size, const char *fmt, ...) KURA_PRINTF(3, 4);
/* Copies src into buf; -E2BIG when it did not fit. */
int str_copy(char *buf, size_t size, const char *src);
/* url without the user information of its authority (scheme://USER[:PASSWORD]@host...):
 * libcurl takes those as credentials, so they are a secret in logs and reports. */
void url_strip_userinfo(const char *url, char *out, size_t size);
/* Hex encoding of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Frees a string that held a secret after zeroing it. Returns NULL. */
char *secret_free(char *str);

#include "core/banned.h"
#endif
