/*
 * The runtime keyring (keyring_rt.c): the master key (sodium_malloc, no-dump) and a small
 * cache of unwrapped tenant keys, keyed by (tenant, version), for the server process.
 * Thread-safe. Callers get copies of keys into their own buffers and wipe them.
 */
#ifndef KURA_CRYPTO_KEYRING_RT_H
#define KURA_CRYPTO_KEYRING_RT_H
#include "core/core.h"
#include "crypto/crypto.h"

struct db;
struct keyring_rt;

/* Copies master (MASTER_KEY_BYTES). NULL when out of (locked) memory. */
struct keyring_rt *keyring_rt_new(const unsigned char *master);
struct keyring_rt *keyring_rt_free(struct keyring_rt *k);
/* The tenant's newest key version and key, read from tenant_keys through db. */
int keyring_rt_current(struct keyring_rt *k, struct db *db, int64_t tenant_id,
		       int64_t *ret_version, unsigned char ret_key[TENANT_KEY_BYTES]) KURA_WUR;
/* A given version; -ENOENT when the tenant has no such version. */
int keyring_rt_get(struct keyring_rt *k, struct db *db, int64_t tenant_id, int64_t version,
		   unsigned char ret_key[TENANT_KEY_BYTES]) KURA_WUR;
/* Drops every cached key of the tenant (after rotation or erasure). */
void keyring_rt_forget(struct keyring_rt *k, int64_t tenant_id);
/* Drops every cached key whose (tenant, version) is no longer in tenant_keys: what another
 * process deleted (a rotation by `kura admin`, an erasure on another node). The number
 * dropped, or <0 when the database could not be read (nothing dropped then). */
int keyring_rt_recheck(struct keyring_rt *k, struct db *db);
/* How many unwrapped keys the cache holds now (/metrics). */
unsigned keyring_rt_cached(struct keyring_rt *k);
#endif
