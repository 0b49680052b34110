/*
 * The bounded growable buffer of dbuf.h. Capacity doubles (from DBUF_FIRST) up to max + 1
 * (the NUL); every size computation is checked against max before it is made, and max is at
 * most DBUF_MAX_LIMIT, so no sum or product here can wrap.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/dbuf.h"

#define DBUF_FIRST 256

static void init(struct dbuf *b, size_t max, bool secret)
{
	memset(b, 0, sizeof(*b));
	b->max = max < DBUF_MAX_LIMIT ? max : DBUF_MAX_LIMIT;
	b->secret = secret;
}

void dbuf_init(struct dbuf *b, size_t max)
{
	init(b, max, false);
}

void dbuf_init_secret(struct dbuf *b, size_t max)
{
	init(b, max, true);
}

static int fail(struct dbuf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

/* Room for n more bytes and the NUL. */
static int grow(struct dbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (n > b->max - b->n)
		return fail(b, -E2BIG);
	need = b->n + n + 1;                  /* <= max + 1 <= DBUF_MAX_LIMIT + 1 */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : DBUF_FIRST;
	while (cap < need)
		cap *= 2;                         /* < 2 * need: no wrap */
	if (cap > b->max + 1)
		cap = b->max + 1;
	if (b->secret) {
		/* realloc could leave a copy of the secret behind in freed memory */
		p = malloc(cap);
		if (!p)
			return fail(b, -ENOMEM);
		if (b->p) {
			memcpy(p, b->p, b->n + 1);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
	} else {
		p = realloc(b->p, cap);
		if (!p)
			return fail(b, -ENOMEM);
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int dbuf_add(struct dbuf *b, const void *data, size_t n)
{
	int r = grow(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

int dbuf_puts(struct dbuf *b, const char *s)
{
	return dbuf_add(b, s, strlen(s));
}

int dbuf_vprintf(struct dbuf *b, const char *fmt, va_list ap)
{
	va_list again;
	int len, r;

	if (b->err)
		return b->err;
	va_copy(again, ap);
	len = vsnprintf(NULL, 0, fmt, ap);
	if (len < 0) {
		va_end(again);
		return fail(b, -EINVAL);
	}
	r = grow(b, (size_t)len);
	if (r == 0 && vsnprintf(b->p + b->n, (size_t)len + 1, fmt, again) != len)
		r = fail(b, -EINVAL);
	va_end(again);
	if (r < 0) {
		if (b->p)
			b->p[b->n] = '\0';
		return r;
	}
	b->n += (size_t)len;
	return 0;
}

int dbuf_printf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = dbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

const char *dbuf_str(const struct dbuf *b)
{
	return b->p ? b->p : "";
}

void *dbuf_data(struct dbuf *b)
{
	return b->p;
}

size_t dbuf_len(const struct dbuf *b)
{
	return b->n;
}

int dbuf_error(const struct dbuf *b)
{
	return b->err;
}

char *dbuf_take(struct dbuf *b, size_t *ret_len)
{
	char *p;

	if (b->err) {
		dbuf_free(b);
		return NULL;
	}
	p = b->p ? b->p : calloc(1, 1);
	if (p && ret_len)
		*ret_len = b->n;
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void dbuf_reset(struct dbuf *b)
{
	if (b->p) {
		if (b->secret)
			sodium_memzero(b->p, b->cap);
		b->p[0] = '\0';
	}
	b->n = 0;
	b->err = 0;
}

void dbuf_free(struct dbuf *b)
{
	if (!b)
		return;
	if (b->p && b->secret)
		sodium_memzero(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->err = 0;
}
