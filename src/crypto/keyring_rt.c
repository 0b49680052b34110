/*
 * The runtime keyring: the master key and a small cache of unwrapped tenant keys, for the
 * server process. Tenant keys are read from tenant_keys (wrapped) and unwrapped with the
 * master key on first use; the cache holds at most KURA_KEY_CACHE_ENTRIES, evicting the
 * least recently used.
 *
 * SECURITY: the master key and the cache live in one sodium_malloc'ed region (guard pages,
 * locked, excluded from core dumps where the kernel allows), wiped by sodium_free. Callers
 * get copies into their own buffers, which they wipe. A key cached for (tenant, version) is
 * valid as long as that version exists: rotation makes a new version and deletes the old
 * ones, and keyring_rt_forget() drops them here; what another process deleted (`kura admin
 * tenant rotate-key`, an erasure run by another node) keyring_rt_recheck() drops, which every
 * node runs every KURA_KEY_CACHE_RECHECK_S (cli/serve.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/limits.h"
#include "core/stats.h"
#include "crypto/keyring_rt.h"
#include "store/db.h"

struct cache_entry {
	int64_t tenant_id, version;   /* tenant_id 0 = empty */
	uint64_t used;
	unsigned char key[TENANT_KEY_BYTES];
};

struct secrets {
	unsigned char master[MASTER_KEY_BYTES];
	struct cache_entry cache[KURA_KEY_CACHE_ENTRIES];
};

struct keyring_rt {
	pthread_mutex_t lock;
	struct secrets *s;            /* sodium_malloc */
	uint64_t tick;
};

struct keyring_rt *keyring_rt_new(const unsigned char *master)
{
	struct keyring_rt *k;

	if (!master)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->s = sodium_malloc(sizeof(*k->s));
	if (!k->s) {
		free(k);
		return NULL;
	}
	sodium_memzero(k->s, sizeof(*k->s));
	memcpy(k->s->master, master, MASTER_KEY_BYTES);
	pthread_mutex_init(&k->lock, NULL);
	return k;
}

struct keyring_rt *keyring_rt_free(struct keyring_rt *k)
{
	if (!k)
		return NULL;
	sodium_free(k->s);
	pthread_mutex_destroy(&k->lock);
	free(k);
	return NULL;
}

/* With k->lock held: the gauge /metrics shows (core/stats.h). */
static void publish_count(struct keyring_rt *k)
{
	uint64_t n = 0;

	for (size_t i = 0; i < KURA_KEY_CACHE_ENTRIES; i++)
		n += k->s->cache[i].tenant_id != 0;
	atomic_store(&stats_key_cache_entries, n);
}

static bool cache_lookup(struct keyring_rt *k, int64_t tenant_id, int64_t version,
			 unsigned char *ret)
{
	size_t i;
	bool hit = false;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < KURA_KEY_CACHE_ENTRIES; i++) {
		struct cache_entry *e = &k->s->cache[i];

		if (e->tenant_id == tenant_id && e->version == version) {
			e->used = ++k->tick;
			memcpy(ret, e->key, TENANT_KEY_BYTES);
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return hit;
}

static void cache_store(struct keyring_rt *k, int64_t tenant_id, int64_t version,
			const unsigned char *key)
{
	struct cache_entry *victim = NULL;
	size_t i;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < KURA_KEY_CACHE_ENTRIES; i++) {
		struct cache_entry *e = &k->s->cache[i];

		if (e->tenant_id == tenant_id && e->version == version) {
			victim = e;
			break;
		}
		if (!victim || e->tenant_id == 0 || (victim->tenant_id != 0 && e->used < victim->used))
			victim = e;
	}
	victim->tenant_id = tenant_id;
	victim->version = version;
	victim->used = ++k->tick;
	memcpy(victim->key, key, TENANT_KEY_BYTES);
	publish_count(k);
	pthread_mutex_unlock(&k->lock);
}

void keyring_rt_forget(struct keyring_rt *k, int64_t tenant_id)
{
	size_t i;

	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	for (i = 0; i < KURA_KEY_CACHE_ENTRIES; i++)
		if (k->s->cache[i].tenant_id == tenant_id)
			sodium_memzero(&k->s->cache[i], sizeof(k->s->cache[i]));
	publish_count(k);
	pthread_mutex_unlock(&k->lock);
}

int keyring_rt_recheck(struct keyring_rt *k, struct db *db)
{
	struct { int64_t tenant_id, version; } held[KURA_KEY_CACHE_ENTRIES];
	bool gone[KURA_KEY_CACHE_ENTRIES] = { false };
	size_t i, j, n = 0;
	int dropped = 0;

	if (!k || !db)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);   /* which keys, not the keys: the lock is not held over queries */
	for (i = 0; i < KURA_KEY_CACHE_ENTRIES; i++)
		if (k->s->cache[i].tenant_id != 0) {
			held[n].tenant_id = k->s->cache[i].tenant_id;
			held[n++].version = k->s->cache[i].version;
		}
	pthread_mutex_unlock(&k->lock);
	for (i = 0; i < n; i++) {
		struct db_stmt *st = db_query(db, "SELECT 1 FROM tenant_keys WHERE tenant_id = $1 AND version = $2",
					      "ii", held[i].tenant_id, held[i].version);
		int r = db_step(st);

		db_done(st);
		if (r < 0)
			return r;   /* unknown: a key is dropped only when it is known to be gone */
		gone[i] = r == 0;
	}
	pthread_mutex_lock(&k->lock);
	for (i = 0; i < n; i++) {
		if (!gone[i])
			continue;
		for (j = 0; j < KURA_KEY_CACHE_ENTRIES; j++) {
			struct cache_entry *e = &k->s->cache[j];

			if (e->tenant_id == held[i].tenant_id && e->version == held[i].version) {
				sodium_memzero(e, sizeof(*e));
				dropped++;
			}
		}
	}
	publish_count(k);
	pthread_mutex_unlock(&k->lock);
	return dropped;
}

unsigned keyring_rt_cached(struct keyring_rt *k)
{
	unsigned n = 0;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < KURA_KEY_CACHE_ENTRIES; i++)
		n += k->s->cache[i].tenant_id != 0;
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* Reads and unwraps (tenant, version); version 0 = the newest. */
static int load(struct keyring_rt *k, struct db *db, int64_t tenant_id, int64_t version,
		int64_t *ret_version, unsigned char *ret_key)
{
	struct db_stmt *st;
	unsigned char wrapped[WRAPPED_KEY_BYTES];
	const void *p;
	size_t n = 0;
	int64_t v;
	int r;

	if (version > 0)
		st = db_query(db, "SELECT version, wrapped FROM tenant_keys"
				  " WHERE tenant_id = $1 AND version = $2", "ii", tenant_id, version);
	else
		st = db_query(db, "SELECT version, wrapped FROM tenant_keys"
				  " WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1", "i", tenant_id);
	r = db_step(st);
	if (r == 0)
		r = -ENOENT;
	if (r < 0) {
		db_done(st);
		return r;
	}
	v = db_int(st, 0);
	p = db_blob(st, 1, &n);
	if (!p || n != sizeof(wrapped)) {
		db_done(st);
		return -EBADMSG;
	}
	memcpy(wrapped, p, n);
	db_done(st);
	if (cache_lookup(k, tenant_id, v, ret_key)) {
		*ret_version = v;
		return 0;
	}
	r = keyring_unwrap_tenant_key(k->s->master, tenant_id, v, wrapped, ret_key);
	if (r < 0)
		return r;
	cache_store(k, tenant_id, v, ret_key);
	*ret_version = v;
	return 0;
}

int keyring_rt_current(struct keyring_rt *k, struct db *db, int64_t tenant_id,
		       int64_t *ret_version, unsigned char ret_key[TENANT_KEY_BYTES])
{
	if (!k || !db || tenant_id <= 0)
		return -EINVAL;
	return load(k, db, tenant_id, 0, ret_version, ret_key);
}

int keyring_rt_get(struct keyring_rt *k, struct db *db, int64_t tenant_id, int64_t version,
		   unsigned char ret_key[TENANT_KEY_BYTES])
{
	int64_t v;

	if (!k || !db || tenant_id <= 0 || version <= 0)
		return -EINVAL;
	if (cache_lookup(k, tenant_id, version, ret_key))
		return 0;
	return load(k, db, tenant_id, version, &v, ret_key);
}
