/*
 * The tenant settings every authenticated request checks (issue 11, docs/performance.md
 * step 11): its features (D4), its client-certificate policy (issue 16), its source-IP
 * allowlist and the ranges (C4) and its MFA policy (C3), five statements, kept per process
 * and checked against the tenant's generation.
 *
 * SECURITY: a copy is used only for the tenant it was read for (keyed by tenant id, and the
 * code compared) and only at exactly the generation it was read at: tenants.settings_gen,
 * bumped by triggers (migration 0034) in the transaction of every write of those five
 * tables, by any process or node (kura admin, another node on PostgreSQL, an erasure). The
 * caller passes the generation it read with the tenant's row in the statement that found
 * the account and the tenant active (apppass_authenticate, session_lookup), so a change
 * committed before that read is always seen: the copy is never older than the database at
 * the request's own read. A copy holds settings, never a login: the app password or
 * session, the account and the tenant's status are read on every request as before.
 * A setting added to struct tenant_settings needs its table's bump triggers (a migration,
 * both backends, like 0034), or a change to it would not be seen.
 */
#ifndef KURA_TENANT_SETTINGS_H
#define KURA_TENANT_SETTINGS_H
#include <stdint.h>

#include "auth/access.h"
#include "auth/clientcert.h"
#include "auth/mfa.h"
#include "core/catalog.h"
#include "core/core.h"
#include "core/limits.h"

/* KURA_TENANT_CACHE_MAX tenants (core/limits.h) in sets of KURA_TENANT_CACHE_WAYS by tenant
 * id, the least recently used of a set making room; one static array (1.9 MiB) whose pages
 * the kernel provides as they are first written. */

struct tenant_settings {
	bool features[CATALOG_N_FEATURES];   /* tenant_features (tenant_features_get) */
	struct clientcert_policy cert;       /* tenant_client_certs (clientcert_policy_get) */
	struct mfa_policy mfa;               /* mfa_policies (mfa_policy_get; is_default: kura.conf's) */
	struct allowlist allow;              /* tenant_security, tenant_ip_ranges (allowlist_get) */
};

/* The five reads from the database, in the caller's transaction or snapshot. */
int tenant_settings_read(struct db *db, int64_t tenant_id, struct tenant_settings *ret) KURA_WUR;
/* The settings of tenant_id (its code: code) at generation gen, which the caller read from
 * tenants.settings_gen before (in the same statement that found the tenant active): the
 * cached copy when it was read at exactly gen, else read from the database (after gen, so
 * never older than gen) and kept. Thread-safe. */
int tenant_settings_get(struct db *db, int64_t tenant_id, const char *code, int64_t gen,
			struct tenant_settings *ret) KURA_WUR;
/* Tests: forget every copy; counts since the start (or the last reset). */
void tenant_settings_cache_reset(void);
struct tenant_settings_stats {
	uint64_t hits, misses;
};
void tenant_settings_cache_stats(struct tenant_settings_stats *ret);
#endif
