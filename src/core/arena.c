/* Bump allocator over 4 KiB blocks; large allocations get their own block. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/arena.h"

#define ARENA_BLOCK 4096
#define ARENA_ALIGN 16

struct block {
	struct block *next;
	size_t used, size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	arena_cleanup_fn fn;
	void *data;
};

struct arena {
	struct block *blocks;
	struct cleanup *cleanups;
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

struct arena *arena_free(struct arena *a)
{
	struct cleanup *c;
	struct block *b;

	if (!a)
		return NULL;
	while ((c = a->cleanups)) {
		a->cleanups = c->next;
		c->fn(c->data);
	}
	while ((b = a->blocks)) {
		a->blocks = b->next;
		/* request memory holds passwords from bodies and copies of session tokens */
		sodium_memzero(b->data, b->used);
		free(b);
	}
	free(a);
	return NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct block *b = a->blocks;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (n == 0)
		need = ARENA_ALIGN;
	if (need < n)
		return NULL;
	if (!b || b->size - b->used < need) {
		size_t size = need > ARENA_BLOCK / 2 ? need : ARENA_BLOCK;

		b = calloc(1, sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		if (size == ARENA_BLOCK || !a->blocks) {
			b->next = a->blocks;
			a->blocks = b;
		} else {
			/* keep the current block on top for small allocations */
			b->next = a->blocks->next;
			a->blocks->next = b;
		}
	}
	p = b->data + b->used;
	b->used += need;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *data)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}
