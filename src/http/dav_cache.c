/*
 * PROPFIND answers kept per process (dav_cache.h): a hash table of the kept answers by
 * (tenant id, path), a least-recently-used list through them, one mutex over both. The
 * mutex covers the table, the list and the reference counts; an answer's bytes are written
 * once, before it is shared, and only read after.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "http/dav_cache.h"

#define BUCKETS 1024   /* a power of two, twice KURA_DAV_CACHE_ENTRIES */

struct dav_answer {
	struct dav_answer *next;         /* in its bucket */
	struct dav_answer *older, *newer;  /* the LRU list (newest at the head) */
	int64_t tenant_id, gen;
	int64_t used_s;                  /* last served or kept (CLOCK_MONOTONIC seconds) */
	int64_t read_us;                 /* when its generation was read (dav_cache_clock_us) */
	uint32_t hash;
	unsigned refs;                   /* the table's (while kept) and each taker's */
	bool kept;
	char *code, *path, *body;
	size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct dav_answer *table[BUCKETS];
static struct dav_answer *newest, *oldest;
static size_t n_kept, bytes_kept;
static uint64_t hits, misses;
static atomic_uint builds;
static atomic_size_t bytes_live;     /* every answer not yet freed, kept or only held */

int64_t dav_cache_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void unkeep(struct dav_answer *a);

/* Under lock: the answers unused for KURA_DAV_CACHE_AGE_S go (the least recently used end
 * of the list is the oldest use), so a listing nobody asks for any more, an erased
 * tenant's among them, leaves memory at the next look-up after that time. */
static void expire(int64_t now, int64_t age_s)
{
	while (oldest && now - oldest->used_s > age_s)
		unkeep(oldest);
}

static uint32_t key_hash(int64_t tenant_id, const char *path)
{
	uint64_t t = (uint64_t)tenant_id;
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (int i = 0; i < 8; i++, t >>= 8)
		h = (h ^ (uint8_t)t) * 16777619u;
	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 16777619u;
	return h;
}

static void answer_free(struct dav_answer *a)
{
	atomic_fetch_sub(&bytes_live, a->len);
	free(a->body);
	free(a->code);
	free(a->path);
	free(a);
}

/* Under lock: drops the table's reference; frees a when no taker holds one. */
static void unkeep(struct dav_answer *a)
{
	struct dav_answer **pp = &table[a->hash & (BUCKETS - 1)];

	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	if (a->older)
		a->older->newer = a->newer;
	else
		oldest = a->newer;
	if (a->newer)
		a->newer->older = a->older;
	else
		newest = a->older;
	a->next = a->older = a->newer = NULL;
	a->kept = false;
	n_kept--;
	bytes_kept -= a->len;
	if (--a->refs == 0)
		answer_free(a);
}

static struct dav_answer *find(int64_t tenant_id, const char *code, const char *path, uint32_t h)
{
	struct dav_answer *a;

	for (a = table[h & (BUCKETS - 1)]; a; a = a->next)
		if (a->hash == h && a->tenant_id == tenant_id && !strcmp(a->path, path) && !strcmp(a->code, code))
			return a;
	return NULL;
}

static void make_newest(struct dav_answer *a)
{
	if (newest == a)
		return;
	/* out of its place */
	if (a->older)
		a->older->newer = a->newer;
	else
		oldest = a->newer;
	a->newer->older = a->older;   /* a is not the newest, so it has a newer one */
	/* in at the head */
	a->older = newest;
	a->newer = NULL;
	newest->newer = a;
	newest = a;
}

struct dav_answer *dav_cache_get(int64_t tenant_id, const char *tenant_code, const char *path, int64_t gen)
{
	uint32_t h = key_hash(tenant_id, path);
	struct dav_answer *a;

	if (gen == 0 || !tenant_code || !path)
		return NULL;
	pthread_mutex_lock(&lock);
	expire(now_s(), KURA_DAV_CACHE_AGE_S);
	a = find(tenant_id, tenant_code, path, h);
	if (a && a->gen == gen) {
		a->refs++;
		a->used_s = now_s();
		make_newest(a);
		hits++;
	} else {
		a = NULL;
		misses++;
	}
	pthread_mutex_unlock(&lock);
	return a;
}

struct dav_answer *dav_cache_put(int64_t tenant_id, const char *tenant_code, const char *path, int64_t gen,
				 int64_t read_us, char *body, size_t len)
{
	struct dav_answer *a = calloc(1, sizeof(*a)), *old;
	bool keep;

	if (!a) {
		free(body);
		return NULL;
	}
	a->body = body;
	a->len = len;
	a->read_us = read_us;
	atomic_fetch_add(&bytes_live, len);
	if (!tenant_code || !path || !(a->code = strdup(tenant_code)) || !(a->path = strdup(path))) {
		answer_free(a);   /* frees body too */
		return NULL;
	}
	a->tenant_id = tenant_id;
	a->gen = gen;
	a->hash = key_hash(tenant_id, path);
	a->refs = 1;   /* the caller's */
	a->used_s = now_s();
	pthread_mutex_lock(&lock);
	expire(a->used_s, KURA_DAV_CACHE_AGE_S);
	old = find(tenant_id, tenant_code, path, a->hash);
	/* an answer read before the one kept is older than it: sent, not kept in its place;
	 * and none is kept while the answers still held by responses (replaced or evicted
	 * ones among them) would pass KURA_DAV_CACHE_LIVE_BYTES with it */
	keep = gen != 0 && len <= (size_t)KURA_DAV_CACHE_ENTRY_BYTES && (!old || old->read_us <= read_us) &&
	       atomic_load(&bytes_live) <= (size_t)KURA_DAV_CACHE_LIVE_BYTES;
	if (old && keep)
		unkeep(old);   /* a newer generation, or the same one built twice */
	if (keep) {
		while (oldest && (n_kept >= KURA_DAV_CACHE_ENTRIES || bytes_kept + len > (size_t)KURA_DAV_CACHE_BYTES))
			unkeep(oldest);
		a->next = table[a->hash & (BUCKETS - 1)];
		table[a->hash & (BUCKETS - 1)] = a;
		a->older = newest;
		if (newest)
			newest->newer = a;
		else
			oldest = a;
		newest = a;
		a->kept = true;
		a->refs++;   /* the table's */
		n_kept++;
		bytes_kept += len;
	}
	pthread_mutex_unlock(&lock);
	return a;
}

const char *dav_answer_body(const struct dav_answer *a, size_t *ret_len)
{
	*ret_len = a->len;
	return a->body;
}

void dav_answer_release(void *cls)
{
	struct dav_answer *a = cls;
	bool last;

	if (!a)
		return;
	pthread_mutex_lock(&lock);
	last = --a->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last)
		answer_free(a);
}

bool dav_cache_build_begin(void)
{
	unsigned n = atomic_fetch_add(&builds, 1);

	if (n < KURA_DAV_CACHE_BUILDS)
		return true;
	atomic_fetch_sub(&builds, 1);
	return false;
}

void dav_cache_build_end(void)
{
	atomic_fetch_sub(&builds, 1);
}

void dav_cache_stats(struct dav_cache_stats *ret)
{
	pthread_mutex_lock(&lock);
	*ret = (struct dav_cache_stats){ n_kept, bytes_kept, atomic_load(&bytes_live), hits, misses };
	pthread_mutex_unlock(&lock);
}

void dav_cache_drop_unused(int64_t age_s)
{
	pthread_mutex_lock(&lock);
	expire(now_s(), age_s);
	pthread_mutex_unlock(&lock);
}

void dav_cache_clear(void)
{
	pthread_mutex_lock(&lock);
	while (oldest)
		unkeep(oldest);
	hits = misses = 0;
	pthread_mutex_unlock(&lock);
}
