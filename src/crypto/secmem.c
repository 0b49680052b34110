/*
 * Secret scratch memory reused per thread.
 *
 * sodium_malloc gives guard pages, mlock and exclusion from core dumps, at the price of an
 * mmap, several mprotect calls and an munmap per allocation: on a 4 KiB download that was a
 * fifth of the server's CPU (every file open builds a cipher state). Blocks are therefore
 * kept: secmem_free wipes a block and returns it to the calling thread's cache (a few per
 * size class), where the next secmem_alloc of that class finds it. What is cached is always
 * zeroed, and so is every block handed out (a new one is zeroed once), which lets
 * secmem_free_used wipe only the bytes a caller wrote; the cache is released with
 * sodium_free when the thread ends. Sizes above the largest class go straight to
 * sodium_malloc/sodium_free.
 */
#include <pthread.h>

#include <sodium.h>

#include "crypto/crypto.h"

static const size_t class_size[] = { 64, 1024, 64 * 1024 + 64 };
#define N_CLASSES (sizeof(class_size) / sizeof(class_size[0]))
#define PER_CLASS 4

struct secmem_cache {
	void *blocks[N_CLASSES][PER_CLASS];
	unsigned n[N_CLASSES];
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_release(void *p)
{
	struct secmem_cache *c = p;
	unsigned k, i;

	for (k = 0; k < N_CLASSES; k++)
		for (i = 0; i < c->n[k]; i++)
			sodium_free(c->blocks[k][i]);
	sodium_free(c);
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_release);
}

static struct secmem_cache *cache_get(void)
{
	struct secmem_cache *c;

	pthread_once(&cache_once, cache_key_init);
	c = pthread_getspecific(cache_key);
	if (!c) {
		c = sodium_malloc(sizeof(*c));
		if (!c)
			return NULL;
		memset(c, 0, sizeof(*c));
		pthread_setspecific(cache_key, c);
	}
	return c;
}

static int class_of(size_t n)
{
	unsigned k;

	for (k = 0; k < N_CLASSES; k++)
		if (n <= class_size[k])
			return (int)k;
	return -1;
}

void *secmem_alloc(size_t n)
{
	int k = class_of(n);
	struct secmem_cache *c;
	void *p;

	if (k < 0)
		return sodium_malloc(n);
	c = cache_get();
	if (c && c->n[k] > 0)
		return c->blocks[k][--c->n[k]];
	p = sodium_malloc(class_size[k]);
	if (p)
		memset(p, 0, class_size[k]);   /* a block is all zero when handed out (secmem_free_used) */
	return p;
}

void secmem_free(void *p, size_t n)
{
	secmem_free_used(p, n, n);
}

void secmem_free_used(void *p, size_t n, size_t used)
{
	int k = class_of(n);
	struct secmem_cache *c;

	if (!p)
		return;
	if (k < 0) {
		sodium_free(p);
		return;
	}
	/* the rest of a block handed out all zero (secmem_alloc) is still zero */
	sodium_memzero(p, used < n ? used : class_size[k]);
	c = cache_get();
	if (c && c->n[k] < PER_CLASS) {
		c->blocks[k][c->n[k]++] = p;
		return;
	}
	sodium_free(p);
}
