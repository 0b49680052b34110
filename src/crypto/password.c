/*
 * Password policy (NIST SP 800-63B): length in code points between KURA_PASSWORD_MIN and
 * KURA_PASSWORD_MAX, clean UTF-8 text, not the login, not in the shipped list of common and
 * breached passwords. No composition rules.
 *
 * The list (data/common-passwords.txt, embedded at build time) is indexed once, on first
 * use, into a sorted array of slices of the embedded text and binary-searched; comparison
 * folds ASCII case, so no copy of the password is ever made.
 *
 * SECURITY: the password is only read, never copied or logged.
 */
#include <pthread.h>
#include <stdlib.h>

#include "core/limits.h"
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

/* The sentences in password_problem_text() name these numbers. */
_Static_assert(KURA_PASSWORD_MIN == 12 && KURA_PASSWORD_MAX == 128, "update the texts");

struct pw_slice {
	const char *str;
	size_t n;
};

static pthread_once_t common_once = PTHREAD_ONCE_INIT;
static struct pw_slice *common;
static size_t n_common;

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int slice_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i, n = na < nb ? na : nb;
	unsigned char ca, cb;

	for (i = 0; i < n; i++) {
		ca = ascii_lower((unsigned char)a[i]);
		cb = ascii_lower((unsigned char)b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return na < nb ? -1 : na > nb ? 1 : 0;
}

static int slice_qsort_cmp(const void *a, const void *b)
{
	const struct pw_slice *x = a, *y = b;

	return slice_cmp(x->str, x->n, y->str, y->n);
}

static void common_index(void)
{
	const char *text = embedded_common_passwords, *end, *p, *nl;
	size_t lines = 0, n;

	if (!text)
		return;
	end = text + embedded_common_passwords_len;
	for (p = text; p < end; p++)
		if (*p == '\n')
			lines++;
	common = calloc(lines + 1, sizeof(*common));
	if (!common)
		return;   /* no list: every password passes this check (logged by no one) */
	for (p = text; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		n = (size_t)(nl - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n) {
			common[n_common].str = p;
			common[n_common].n = n;
			n_common++;
		}
	}
	qsort(common, n_common, sizeof(*common), slice_qsort_cmp);
}

static bool common_contains(const char *password, size_t n)
{
	size_t lo = 0, hi, mid;
	int c;

	pthread_once(&common_once, common_index);
	hi = n_common;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = slice_cmp(password, n, common[mid].str, common[mid].n);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

enum password_problem password_check(const char *password, const char *login)
{
	size_t n, cps;

	if (!password)
		return PASSWORD_NOT_TEXT;
	n = strlen(password);
	if (!utf8_is_clean_text(password, n))
		return PASSWORD_NOT_TEXT;
	cps = utf8_length(password, n);
	if (cps < KURA_PASSWORD_MIN)
		return PASSWORD_TOO_SHORT;
	if (cps > KURA_PASSWORD_MAX)
		return PASSWORD_TOO_LONG;
	if (login && slice_cmp(password, n, login, strlen(login)) == 0)
		return PASSWORD_IS_LOGIN;
	if (common_contains(password, n))
		return PASSWORD_COMMON;
	return PASSWORD_OK;
}

const char *password_problem_text(enum password_problem p)
{
	switch (p) {
	case PASSWORD_OK:
		return "The password is acceptable.";
	case PASSWORD_TOO_SHORT:
		return "The password must be at least 12 characters long.";
	case PASSWORD_TOO_LONG:
		return "The password must be at most 128 characters long.";
	case PASSWORD_NOT_TEXT:
		return "The password must be valid text without control characters.";
	case PASSWORD_COMMON:
		return "This password is too common; choose another.";
	case PASSWORD_IS_LOGIN:
		return "The password must not be the same as the user ID.";
	}
	return "The password is not acceptable.";
}

const char *password_problem_code(enum password_problem p)
{
	switch (p) {
	case PASSWORD_OK:
		return "ok";
	case PASSWORD_TOO_SHORT:
		return "too-short";
	case PASSWORD_TOO_LONG:
		return "too-long";
	case PASSWORD_NOT_TEXT:
		return "not-text";
	case PASSWORD_COMMON:
		return "common";
	case PASSWORD_IS_LOGIN:
		return "is-login";
	}
	return "unknown";
}
