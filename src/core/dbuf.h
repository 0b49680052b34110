/*
 * One growable byte buffer with a maximum fixed at creation (after curl's dynbuf,
 * curlx_dyn_init(s, toobig)). Everything that builds output or a list of unknown length
 * piece by piece uses it: WebDAV answers, audit exports, lists read from the database.
 *
 * The bytes are always followed by a NUL (so a text buffer is a C string), and never more
 * than max bytes are held: an append that would pass max, or that cannot get memory, fails
 * and changes nothing. The first failure is also kept (dbuf_error) and every later append
 * fails with it, so a writer may append many pieces and check once at the end. A secret
 * buffer (dbuf_init_secret) zeroes every copy it leaves behind when it grows and when it is
 * freed.
 *
 * Arrays of fixed-size elements fit too: append each element's bytes; malloc'd memory is
 * aligned for any type, so (T *)dbuf_data(b) holds dbuf_len(b) / sizeof(T) elements.
 *
 * The struct lives where its user keeps it (on the stack, in another struct); its fields
 * are read through the functions below.
 */
#ifndef KURA_CORE_DBUF_H
#define KURA_CORE_DBUF_H
#include <stdarg.h>

#include "core/core.h"

/* The largest max a buffer takes (a larger one is lowered to it): growth never overflows. */
#define DBUF_MAX_LIMIT (SIZE_MAX / 4)

struct dbuf {
	char *p;        /* the bytes and a NUL; NULL until the first append */
	size_t n;       /* bytes held, without the NUL */
	size_t cap;     /* bytes allocated, with the NUL */
	size_t max;     /* most bytes it may hold */
	int err;        /* first failure (-E2BIG, -ENOMEM, -EINVAL), until dbuf_reset */
	bool secret;    /* zero what it leaves behind */
};

/* An empty buffer that holds at most max bytes. Allocates nothing yet. */
void dbuf_init(struct dbuf *b, size_t max);
/* The same for a buffer that will hold a secret (a message with links, a token). */
void dbuf_init_secret(struct dbuf *b, size_t max);

/* Appends: 0, or -E2BIG (over max), -ENOMEM, -EINVAL (a bad format), or the earlier
 * failure. On failure nothing is appended. */
int dbuf_add(struct dbuf *b, const void *data, size_t n);
int dbuf_puts(struct dbuf *b, const char *s);
int dbuf_printf(struct dbuf *b, const char *fmt, ...) KURA_PRINTF(2, 3);
int dbuf_vprintf(struct dbuf *b, const char *fmt, va_list ap) KURA_PRINTF(2, 0);

/* The bytes (NUL-terminated; "" while empty), borrowed until the next append or reset. */
const char *dbuf_str(const struct dbuf *b);
/* The same bytes, writable: for arrays of elements changed in place. NULL while empty. */
void *dbuf_data(struct dbuf *b);
size_t dbuf_len(const struct dbuf *b);
/* The first failure since init or reset, or 0. */
int dbuf_error(const struct dbuf *b);

/* Hands the bytes over: malloc'd, NUL-terminated, the caller frees them (and, for a
 * secret buffer, zeroes them first). *ret_len (may be NULL) gets the length. The buffer is
 * empty afterwards. NULL, with the buffer emptied, when an append had failed or there is no
 * memory. */
char *dbuf_take(struct dbuf *b, size_t *ret_len);
/* Empty again, the failure forgotten; the memory is kept for the next use. */
void dbuf_reset(struct dbuf *b);
/* Releases the memory; the buffer is empty (and usable) again with the same max. Accepts
 * NULL. */
void dbuf_free(struct dbuf *b);
#endif
