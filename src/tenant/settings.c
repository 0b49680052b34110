/*
 * The per-process copy of the tenant settings every request checks (tenant/settings.h).
 * KURA_TENANT_CACHE_MAX entries in sets of KURA_TENANT_CACHE_WAYS, a set chosen by tenant
 * id, each set under its own mutex: a look-up copies the entry out under the lock (about
 * 1.9 KiB), so no reader ever sees one half-replaced. A miss reads the database outside
 * the lock and stores the copy under the generation the caller read before it: the copy
 * is then at least as new as that generation, and equality is the only test, so a bump
 * committed by anyone makes every process read again at its next request. Two threads
 * missing at once both read; the later store wins, and a store older than the entry is
 * harmless (the next request, at the newer generation, reads again).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/db.h"
#include "tenant/settings.h"
#include "tenant/tenant.h"

#define N_SETS (KURA_TENANT_CACHE_MAX / KURA_TENANT_CACHE_WAYS)
_Static_assert(KURA_TENANT_CACHE_MAX % KURA_TENANT_CACHE_WAYS == 0 && N_SETS > 0, "whole sets");

struct entry {
	int64_t tenant_id;                   /* 0: empty */
	int64_t gen;
	uint64_t used;                       /* the set's clock at the last hit or store */
	char code[KURA_TENANT_CODE_MAX + 1];
	struct tenant_settings s;
};

static struct set {
	pthread_mutex_t lock;
	uint64_t clock;
	struct entry e[KURA_TENANT_CACHE_WAYS];
} sets[N_SETS];
static pthread_once_t sets_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t n_hits, n_misses;

static void sets_init(void)
{
	for (size_t i = 0; i < N_SETS; i++)
		pthread_mutex_init(&sets[i].lock, NULL);
}

static struct set *set_of(int64_t tenant_id)
{
	pthread_once(&sets_once, sets_init);
	return &sets[(uint64_t)tenant_id % N_SETS];
}

int tenant_settings_read(struct db *db, int64_t tenant_id, struct tenant_settings *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	r = tenant_features_get(db, tenant_id, ret->features);
	if (r == 0)
		r = clientcert_policy_get(db, tenant_id, &ret->cert);
	if (r == 0)
		r = mfa_policy_get(db, tenant_id, &ret->mfa);
	if (r == 0)
		r = allowlist_get(db, tenant_id, &ret->allow);
	return r;
}

int tenant_settings_get(struct db *db, int64_t tenant_id, const char *code, int64_t gen,
			struct tenant_settings *ret)
{
	struct set *set;
	struct entry *e, *victim;
	size_t i;
	int r;

	if (tenant_id <= 0 || !code || strlen(code) > KURA_TENANT_CODE_MAX)
		return tenant_settings_read(db, tenant_id, ret);
	set = set_of(tenant_id);
	pthread_mutex_lock(&set->lock);
	for (i = 0; i < KURA_TENANT_CACHE_WAYS; i++) {
		e = &set->e[i];
		if (e->tenant_id == tenant_id && e->gen == gen && !strcmp(e->code, code)) {
			e->used = ++set->clock;
			*ret = e->s;
			pthread_mutex_unlock(&set->lock);
			atomic_fetch_add_explicit(&n_hits, 1, memory_order_relaxed);
			return 0;
		}
	}
	pthread_mutex_unlock(&set->lock);
	atomic_fetch_add_explicit(&n_misses, 1, memory_order_relaxed);
	r = tenant_settings_read(db, tenant_id, ret);
	if (r < 0)
		return r;
	/* read inside a write transaction, the values may be its own uncommitted change (the
	 * trigger's new generation not committed either): a rollback would leave them cached
	 * under the committed generation. Such a read is used, never kept (security review). */
	if (db_in_transaction(db))
		return 0;
	pthread_mutex_lock(&set->lock);
	/* the tenant's own entry if it has one (never two for one tenant), else an empty or the
	 * least recently used one */
	victim = NULL;
	for (i = 0; i < KURA_TENANT_CACHE_WAYS; i++) {
		e = &set->e[i];
		if (e->tenant_id == tenant_id) {
			victim = e;
			break;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	victim->tenant_id = tenant_id;
	victim->gen = gen;
	victim->used = ++set->clock;
	str_copy(victim->code, sizeof(victim->code), code);
	victim->s = *ret;
	pthread_mutex_unlock(&set->lock);
	return 0;
}

void tenant_settings_cache_reset(void)
{
	for (size_t i = 0; i < N_SETS; i++) {
		struct set *set = set_of((int64_t)i);

		pthread_mutex_lock(&set->lock);
		memset(set->e, 0, sizeof(set->e));
		set->clock = 0;
		pthread_mutex_unlock(&set->lock);
	}
	atomic_store(&n_hits, 0);
	atomic_store(&n_misses, 0);
}

void tenant_settings_cache_stats(struct tenant_settings_stats *ret)
{
	ret->hits = atomic_load(&n_hits);
	ret->misses = atomic_load(&n_misses);
}
