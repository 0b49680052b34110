/*
 * Unit tests for tenant: the code, service and option validators (accept and refuse
 * tables: uppercase, leading/trailing '-', 1 and 33 characters, non-ASCII); tenant_create
 * with services and options, its audit row, tenant_find/get/json; a duplicate code is
 * -EEXIST and an invalid service, option or name is -EINVAL with nothing half-created
 * (rows in tenants, tenant_services, tenant_options, tenant_keys counted afterwards); the
 * wrapped key in tenant_keys unwraps for its tenant id and version only, and only under
 * the master key; the role × permission matrix, every cell, against a table written here
 * AND against the table parsed from docs/permissions.md; role_parse and the names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "store/db.h"
#include "auth/access.h"
#include "auth/clientcert.h"
#include "auth/mfa.h"
#include "tenant/settings.h"
#include "tenant/tenant.h"
#include "lock_watch.h"

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
	unsigned char master[MASTER_KEY_BYTES];
};

static const struct actor operator_actor = { ACTOR_OPERATOR, 0, 0, "op", "", "" };

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[512];

	if (!fx || crypto_init() < 0)
		return -1;
	str_copy(fx->dir, sizeof(fx->dir), "/tmp/kura-test-tenant-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	str_printf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->db = db_open(fx->path, err, sizeof(err));
	if (!fx->db || db_migrate(fx->db) < 0)
		return -1;
	randombytes_buf(fx->master, sizeof(fx->master));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char p[160];

	db_close(fx->db);
	unlink(fx->path);
	str_printf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	str_printf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	rmdir(fx->dir);
	sodium_memzero(fx->master, sizeof(fx->master));
	free(fx);
	return 0;
}

static int64_t count(struct db *db, const char *sql)
{
	struct db_stmt *st = db_query(db, sql, NULL);
	int64_t n;

	assert_non_null(st);
	assert_int_equal(db_step(st), 1);
	n = db_int(st, 0);
	db_done(st);
	return n;
}

/* ---- validators ---- */

static void test_code_valid(void **state)
{
	static const char *const good[] = {
		"ab", "a1", "1a", "00", "a-b", "a--b", "acme-corp", "x9-y8-z7",
		"abcdefghijklmnopqrstuvwxyz012345",   /* 32 */
	};
	static const char *const bad[] = {
		"", "a", "-", "-ab", "ab-", "Ab", "aB", "ACME", "a_b", "a.b", "a b", " ab", "ab ",
		"a/b", "a\tb", "a\nb", "ａｂ", "äb", "蔵蔵", "ab\xff",
		"abcdefghijklmnopqrstuvwxyz0123456",  /* 33 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		if (!tenant_code_valid(good[i]))
			fail_msg("code refused: \"%s\"", good[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (tenant_code_valid(bad[i]))
			fail_msg("code accepted: \"%s\"", bad[i]);
	}
}

static void test_service_valid(void **state)
{
	static const char *const good[] = { "MAIL", "DOCX", "IAAS", "ZTNA", "COLLAB" };
	static const char *const bad[] = { "", "mail", "Mail", "MAIL ", " MAIL", "MAILX", "MAI",
					   "SMTP", "COLLAB\n", "ＭＡＩＬ" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (!tenant_service_valid(good[i]))
			fail_msg("service refused: \"%s\"", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (tenant_service_valid(bad[i]))
			fail_msg("service accepted: \"%s\"", bad[i]);
}

static void test_option_valid(void **state)
{
	static const char *const good[] = {
		"a", "A", "0", "-", ".", "_", ":", "storage:100GB", "Region.JP_east-1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 64 */
	};
	static const char *const bad[] = {
		"", " ", "a b", "a/b", "a=b", "a,b", "a;b", "a\tb", "a\nb", "é", "蔵", "a\x7f",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 65 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (!tenant_option_valid(good[i]))
			fail_msg("option refused: \"%s\"", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (tenant_option_valid(bad[i]))
			fail_msg("option accepted: \"%s\"", bad[i]);
}

/* ---- create ---- */

static void test_create(void **state)
{
	struct fixture *fx = *state;
	static const char *const svcs[] = { "MAIL", "COLLAB", "MAIL" };  /* one named twice */
	static const char *const opts[] = { "storage:100GB", "sla.gold" };
	struct tenant t, t2;
	json_t *j, *arr;

	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "acme", "Acme 株式会社",
				       svcs, ARRAY_SIZE(svcs), opts, ARRAY_SIZE(opts), &t), 0);
	assert_true(t.id > 0);
	assert_string_equal(t.code, "acme");
	assert_string_equal(t.name, "Acme 株式会社");
	assert_string_equal(t.status, "active");
	assert_string_equal(t.zone, "Asia/Tokyo");
	assert_true(t.created_us > 0);

	assert_int_equal(tenant_find(fx->db, "acme", &t2), 0);
	assert_int_equal(t2.id, t.id);
	assert_int_equal(tenant_get(fx->db, t.id, &t2), 0);
	assert_string_equal(t2.code, "acme");
	assert_int_equal(tenant_find(fx->db, "nope", &t2), -ENOENT);
	assert_int_equal(tenant_get(fx->db, t.id + 1000, &t2), -ENOENT);

	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM tenant_services"), 2);
	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM tenant_options"), 2);
	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM tenant_keys WHERE version = 1"
				       " AND alg = 'xchacha20poly1305'"), 1);
	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM audit_events WHERE action = 'tenant.create'"
				       " AND result = 'success' AND tenant_id = (SELECT id FROM tenants"
				       " WHERE code = 'acme')"), 1);

	j = tenant_json(fx->db, &t);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "acme");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
	assert_string_equal(json_string_value(json_object_get(j, "time_zone")), "Asia/Tokyo");
	arr = json_object_get(j, "services");
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "COLLAB");
	assert_string_equal(json_string_value(json_array_get(arr, 1)), "MAIL");
	arr = json_object_get(j, "options");
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "sla.gold");
	assert_non_null(json_string_value(json_object_get(j, "created_at")));
	json_decref(j);

	/* no options at all, no ret */
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", svcs, 1,
				       NULL, 0, NULL), 0);
	j = tenant_list_json(fx->db);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "code")), "acme");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "code")), "beta");
	json_decref(j);
}

static void assert_counts(struct db *db, int64_t tenants, int64_t services, int64_t options,
			  int64_t keys, int64_t audits)
{
	assert_int_equal(count(db, "SELECT COUNT(*) FROM tenants"), tenants);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM tenant_services"), services);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM tenant_options"), options);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM tenant_keys"), keys);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM audit_events WHERE action = 'tenant.create'"),
			 audits);
}

static void test_create_refusals(void **state)
{
	struct fixture *fx = *state;
	static const char *const one[] = { "MAIL" };
	static const char *const three[] = { "DOCX", "IAAS", "ZTNA" };
	static const char *const bad_svc[] = { "MAIL", "mail" };
	static const char *const opts[] = { "a", "b", "c" };
	static const char *const bad_opt[] = { "ok", "not ok" };
	static const char *const nine[] = { "MAIL", "DOCX", "IAAS", "ZTNA", "COLLAB", "MAIL", "DOCX",
					    "IAAS", "ZTNA" };
	const char *many_opts[KURA_MAX_OPTIONS + 1];
	char long_name[KURA_TENANT_NAME_MAX * 3 + 8];
	struct tenant t;
	size_t i;

	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "acme", "Acme", one, 1,
				       opts, 1, &t), 0);
	assert_counts(fx->db, 1, 1, 1, 1, 1);

	/* duplicate code: -EEXIST and none of the second tenant's services, options, key or audit */
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "acme", "Other", three, 3,
				       opts, 3, &t), -EEXIST);
	assert_counts(fx->db, 1, 1, 1, 1, 1);

	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", bad_svc, 2,
				       NULL, 0, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", one, 1,
				       bad_opt, 2, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", one, 0,
				       NULL, 0, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", nine, 9,
				       NULL, 0, &t), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(many_opts); i++)
		many_opts[i] = "x";
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", one, 1,
				       many_opts, ARRAY_SIZE(many_opts), &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "Beta", "Beta", one, 1,
				       NULL, 0, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "", one, 1,
				       NULL, 0, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "a\nb", one, 1,
				       NULL, 0, &t), -EINVAL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "\xc0\xaf", one, 1,
				       NULL, 0, &t), -EINVAL);
	/* the name limit is in characters: 200 three-byte characters pass, 201 do not */
	for (i = 0; i < KURA_TENANT_NAME_MAX; i++)
		memcpy(long_name + 3 * i, "蔵", 3);
	long_name[3 * KURA_TENANT_NAME_MAX] = '\0';
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "gamma", long_name, one, 1,
				       NULL, 0, &t), 0);
	assert_string_equal(t.name, long_name);
	str_copy(long_name + 3 * KURA_TENANT_NAME_MAX, 2, "x");
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "delta", long_name, one, 1,
				       NULL, 0, &t), -EINVAL);
	assert_counts(fx->db, 2, 2, 1, 2, 2);
	/* the failed attempts left no transaction open */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_commit(fx->db), 0);
}

static void test_wrapped_key(void **state)
{
	struct fixture *fx = *state;
	static const char *const one[] = { "MAIL" };
	unsigned char wrapped[WRAPPED_KEY_BYTES], key[TENANT_KEY_BYTES], key_b[TENANT_KEY_BYTES];
	unsigned char other_master[MASTER_KEY_BYTES], zero[TENANT_KEY_BYTES] = { 0 };
	struct tenant a, b;
	struct db_stmt *st;
	const void *p;
	size_t n;

	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "aa", "A", one, 1, NULL, 0, &a), 0);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "bb", "B", one, 1, NULL, 0, &b), 0);

	st = db_query(fx->db, "SELECT wrapped FROM tenant_keys WHERE tenant_id = $1 AND version = 1",
		      "i", a.id);
	assert_int_equal(db_step(st), 1);
	p = db_blob(st, 0, &n);
	assert_int_equal(n, WRAPPED_KEY_BYTES);
	memcpy(wrapped, p, n);
	db_done(st);

	assert_int_equal(keyring_unwrap_tenant_key(fx->master, a.id, 1, wrapped, key), 0);
	assert_memory_not_equal(key, zero, sizeof(key));
	/* another tenant id, another version, another master: refused, output zeroed */
	assert_int_equal(keyring_unwrap_tenant_key(fx->master, b.id, 1, wrapped, key_b), -EACCES);
	assert_memory_equal(key_b, zero, sizeof(key_b));
	assert_int_equal(keyring_unwrap_tenant_key(fx->master, a.id, 2, wrapped, key_b), -EACCES);
	randombytes_buf(other_master, sizeof(other_master));
	assert_int_equal(keyring_unwrap_tenant_key(other_master, a.id, 1, wrapped, key_b), -EACCES);
	/* a flipped bit anywhere fails the tag */
	wrapped[30] ^= 1;
	assert_int_equal(keyring_unwrap_tenant_key(fx->master, a.id, 1, wrapped, key_b), -EACCES);

	/* B's key is its own, and differs from A's */
	st = db_query(fx->db, "SELECT wrapped FROM tenant_keys WHERE tenant_id = $1", "i", b.id);
	assert_int_equal(db_step(st), 1);
	p = db_blob(st, 0, &n);
	assert_int_equal(n, WRAPPED_KEY_BYTES);
	memcpy(wrapped, p, n);
	db_done(st);
	assert_int_equal(keyring_unwrap_tenant_key(fx->master, b.id, 1, wrapped, key_b), 0);
	assert_memory_not_equal(key, key_b, sizeof(key));
	assert_int_equal(keyring_unwrap_tenant_key(fx->master, a.id, 1, wrapped, key), -EACCES);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(key_b, sizeof(key_b));
}

/* ---- roles and permissions ---- */

#define N_ROLES 3
#define N_PERMS 15
static const enum role roles[N_ROLES] = { ROLE_NONE, ROLE_USER, ROLE_MANAGER };
static const enum permission perms[N_PERMS] = { PERM_SELF, PERM_TENANT_READ, PERM_ACCOUNT_READ,
						PERM_ACCOUNT_WRITE, PERM_MFA_POLICY_WRITE,
						PERM_FILES_READ, PERM_FILES_WRITE, PERM_SECURITY_READ,
						PERM_SECURITY_WRITE, PERM_SHARES_WRITE,
						PERM_SHARES_ADMIN, PERM_MAIL_LOG_READ, PERM_AUDIT_READ,
						PERM_LOCKS_ADMIN, PERM_CONTACTS_ADMIN };
/* docs/permissions.md, by hand: rows permission, columns none, user, manager */
static const bool expected[N_PERMS][N_ROLES] = {
	[PERM_SELF] = { false, true, true },
	[PERM_TENANT_READ] = { false, false, true },
	[PERM_ACCOUNT_READ] = { false, false, true },
	[PERM_ACCOUNT_WRITE] = { false, false, true },
	[PERM_MFA_POLICY_WRITE] = { false, false, true },
	[PERM_FILES_READ] = { false, true, true },
	[PERM_FILES_WRITE] = { false, true, true },
	[PERM_SECURITY_READ] = { false, false, true },
	[PERM_SECURITY_WRITE] = { false, false, true },
	[PERM_SHARES_WRITE] = { false, true, true },
	[PERM_SHARES_ADMIN] = { false, false, true },
	[PERM_MAIL_LOG_READ] = { false, false, true },
	[PERM_AUDIT_READ] = { false, false, true },
	[PERM_LOCKS_ADMIN] = { false, false, true },
	[PERM_CONTACTS_ADMIN] = { false, false, true },
};

/* D4 and the catalog rule at creation: an IAAS tenant starts with sharing, WebDAV and app
 * passwords off (recorded with the creation); DOCX with them on; a manager's change takes
 * the tenant lock first and records what changed, nothing when nothing changes */
static void test_features_from_catalog(void **state)
{
	struct fixture *fx = *state;
	static const char *const iaas[] = { "DOCX", "IAAS" }, *const docx[] = { "DOCX" };
	const int on_webdav[CATALOG_N_FEATURES] = { -1, 1, -1 }, none[CATALOG_N_FEATURES] = { -1, -1, -1 };
	bool f[CATALOG_N_FEATURES];
	struct lock_watch w;
	struct tenant a, b;
	json_t *j;

	catalog_install(NULL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "closed", "Closed", iaas, 2, NULL, 0, &a), 0);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "open", "Open", docx, 1, NULL, 0, &b), 0);
	assert_int_equal(tenant_features_get(fx->db, a.id, f), 0);
	assert_false(f[CATALOG_FEATURE_SHARING] || f[CATALOG_FEATURE_WEBDAV] || f[CATALOG_FEATURE_APP_PASSWORDS]);
	assert_false(tenant_feature_on(fx->db, a.id, CATALOG_FEATURE_WEBDAV));
	assert_true(tenant_feature_on(fx->db, b.id, CATALOG_FEATURE_WEBDAV));
	assert_true(tenant_feature_on(fx->db, b.id, CATALOG_FEATURE_SHARING));
	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM audit_events WHERE action = 'tenant.create'"
				       " AND details LIKE '%\"webdav\":false%'"), 1);

	j = tenant_contract_json(fx->db, &a, true);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "effective"),
									  "operator_access"), "service")), "IAAS");
	assert_int_equal(json_array_size(json_object_get(j, "catalog")), 2);
	json_decref(j);

	lock_watch_start(&w, fx->db, a.id);
	assert_int_equal(tenant_features_set(fx->db, &operator_actor, a.id, on_webdav, f), 0);
	assert_locked_first(&w);
	assert_true(f[CATALOG_FEATURE_WEBDAV]);
	assert_false(f[CATALOG_FEATURE_SHARING]);
	assert_true(tenant_feature_on(fx->db, a.id, CATALOG_FEATURE_WEBDAV));
	assert_int_equal(tenant_features_set(fx->db, &operator_actor, a.id, on_webdav, f), 0);
	assert_int_equal(tenant_features_set(fx->db, &operator_actor, a.id, none, f), 0);
	assert_int_equal(count(fx->db, "SELECT COUNT(*) FROM audit_events WHERE action = 'tenant.features'"), 1);
}

/* The per-process copy of a tenant's settings (tenant/settings.h, issue 11): the first
 * look-up at a generation reads the five settings statements, the next ones none; a change
 * through ANOTHER connection (the CLI, another node) by each writer of a cached setting
 * moves tenants.settings_gen in its own transaction (migration 0034's triggers), so the
 * look-up at the generation read after it sees the change; one tenant's copy never answers
 * for another (nor for a wrong code); the copy is bounded (KURA_TENANT_CACHE_MAX). */
struct stmt_count {
	struct db *db;
	int n;
};

static void stmt_count_cb(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	struct stmt_count *c = ctx;

	(void)tenant_id;
	(void)sql;
	if (ev == DB_TRACE_STATEMENT && db == c->db)
		c->n++;
}

static int64_t settings_gen(struct db *db, int64_t tenant_id)
{
	struct db_stmt *st = db_query(db, "SELECT settings_gen FROM tenants WHERE id = $1", "i", tenant_id);
	int64_t g;

	assert_int_equal(db_step(st), 1);
	g = db_int(st, 0);
	db_done(st);
	return g;
}

/* The settings of t as a request reads them: the generation with the tenant's row, then the
 * copy at that generation; the statements the look-up ran into *ret_n. */
static void settings_now(struct db *db, const struct tenant *t, struct tenant_settings *ret, int *ret_n)
{
	struct stmt_count c = { db, 0 };
	int64_t g = settings_gen(db, t->id);

	db_trace(stmt_count_cb, &c);
	assert_int_equal(tenant_settings_get(db, t->id, t->code, g, ret), 0);
	db_trace(NULL, NULL);
	*ret_n = c.n;
}

/* Security review: a look-up inside a write transaction that changed a setting reads the
 * uncommitted value; kept, a rollback would leave it cached under the committed generation.
 * Such a read is used and not kept. */
static void test_settings_rollback_not_cached(void **state)
{
	struct fixture *fx = *state;
	static const char *const docx[] = { "DOCX" };
	struct tenant_settings s;
	struct tenant a;
	int64_t g;
	int n;

	catalog_install(NULL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "gamma", "Gamma", docx, 1, NULL, 0, &a), 0);
	tenant_settings_cache_reset();
	g = settings_gen(fx->db, a.id);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO tenant_features (tenant_id, sharing, webdav, app_passwords,"
					 " updated_us) VALUES ($1, 1, 0, 1, 0) ON CONFLICT (tenant_id) DO UPDATE SET webdav = 0",
				 "i", a.id), 0);
	assert_int_equal(tenant_settings_get(fx->db, a.id, a.code, g, &s), 0);
	assert_false(s.features[CATALOG_FEATURE_WEBDAV]);   /* the transaction's own view */
	assert_int_equal(db_rollback(fx->db), 0);
	assert_true(settings_gen(fx->db, a.id) == g);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);                              /* nothing was kept: read again */
	assert_true(s.features[CATALOG_FEATURE_WEBDAV]);     /* the committed value */
}

static void test_settings_cache(void **state)
{
	struct fixture *fx = *state;
	static const char *const docx[] = { "DOCX" };
	const int webdav_off[CATALOG_N_FEATURES] = { -1, 0, -1 };
	const struct mfa_policy required = { MFA_REQUIRED, MFA_OPTIONAL, false };
	struct tenant_settings s, direct;
	struct tenant_settings_stats st;
	struct allowlist al = { 0 };
	struct tenant a, b;
	struct db *other;
	bool f[CATALOG_N_FEATURES];
	char err[512];
	int n;

	catalog_install(NULL);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "alpha", "Alpha", docx, 1, NULL, 0, &a), 0);
	assert_int_equal(tenant_create(fx->db, &operator_actor, fx->master, "beta", "Beta", docx, 1, NULL, 0, &b), 0);
	other = db_open(fx->path, err, sizeof(err));
	assert_non_null(other);
	tenant_settings_cache_reset();

	/* a miss reads the five statements; the same generation again reads none */
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_true(s.features[CATALOG_FEATURE_WEBDAV]);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tenant_settings_read(fx->db, a.id, &direct), 0);
	assert_memory_equal(&s, &direct, sizeof(s));
	tenant_settings_cache_stats(&st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);

	/* beta's settings are beta's, and a's id with another code is not a's copy */
	assert_int_equal(tenant_features_set(fx->db, &operator_actor, b.id, webdav_off, f), 0);
	settings_now(fx->db, &b, &s, &n);
	assert_int_equal(n, 5);
	assert_false(s.features[CATALOG_FEATURE_WEBDAV]);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 0);
	assert_true(s.features[CATALOG_FEATURE_WEBDAV]);
	tenant_settings_cache_stats(&st);
	assert_int_equal(st.misses, 2);

	/* each writer, on another connection: the next look-up sees its change (a's copy is
	 * in the cache before each) */
	assert_int_equal(tenant_features_set(other, &operator_actor, a.id, webdav_off, f), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_false(s.features[CATALOG_FEATURE_WEBDAV]);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 0);

	assert_int_equal(mfa_policy_set(other, &operator_actor, a.id, &required), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_int_equal(s.mfa.managers, MFA_REQUIRED);
	assert_false(s.mfa.is_default);

	assert_int_equal(ipnet_parse("192.0.2.0/24", &al.ranges[0], err, sizeof(err)), 0);
	al.n = 1;
	al.apply_to_all = true;
	assert_int_equal(allowlist_replace(other, &operator_actor, a.id, &al, "192.0.2.7", true), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_int_equal(s.allow.n, 1);
	assert_true(s.allow.apply_to_all);
	assert_false(allowlist_permits(&s.allow, "user", "198.51.100.1"));
	al.n = 0;
	assert_int_equal(allowlist_replace(other, &operator_actor, a.id, &al, "192.0.2.7", true), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(s.allow.n, 0);

	assert_int_equal(clientcert_policy_set(other, &operator_actor, a.id, "all", 0, -1), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_string_equal(s.cert.policy, "all");
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tenant_settings_read(fx->db, a.id, &direct), 0);
	assert_memory_equal(&s, &direct, sizeof(s));

	/* a's id under another code is not a's copy */
	assert_int_equal(tenant_settings_get(fx->db, a.id, "beta", settings_gen(fx->db, a.id), &s), 0);
	tenant_settings_cache_stats(&st);
	assert_int_equal(st.misses, 8);
	assert_string_equal(s.cert.policy, "all");

	/* bounded: twice KURA_TENANT_CACHE_MAX other tenants (ids without rows) push a's out */
	for (int64_t i = 1; i <= 2 * KURA_TENANT_CACHE_MAX; i++)
		assert_int_equal(tenant_settings_get(fx->db, 1000000 + i, "x", 0, &s), 0);
	settings_now(fx->db, &a, &s, &n);
	assert_int_equal(n, 5);
	assert_string_equal(s.cert.policy, "all");
	assert_null(db_close(other));
}

static void test_authz_matrix(void **state)
{
	size_t r, p;

	(void)state;
	for (p = 0; p < N_PERMS; p++)
		for (r = 0; r < N_ROLES; r++)
			if (authz_allowed(roles[r], perms[p]) != expected[perms[p]][roles[r]])
				fail_msg("authz_allowed(%s, %s) is wrong", role_name(roles[r]),
					 permission_name(perms[p]));
	/* out-of-range values are denied */
	for (r = 0; r < N_ROLES; r++)
		assert_false(authz_allowed(roles[r], (enum permission)N_PERMS));
	for (r = 0; r < N_ROLES; r++)
		assert_false(authz_allowed(roles[r], (enum permission)-1));
	for (p = 0; p < N_PERMS; p++) {
		assert_false(authz_allowed((enum role)3, perms[p]));
		assert_false(authz_allowed((enum role)-1, perms[p]));
	}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '`')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '`' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* The "## Matrix" table of docs/permissions.md: | `perm` | what | endpoints | manager | user | */
static void test_authz_matches_doc(void **state)
{
	char path[512], line[1024];
	bool seen[N_PERMS] = { false };
	bool in_matrix = false;
	FILE *f;
	size_t p, rows = 0;

	(void)state;
	str_printf(path, sizeof(path), "%s/docs/permissions.md", KURA_SOURCE_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *cells[8], *save = NULL, *c;
		size_t n = 0;

		if (!strncmp(line, "## ", 3)) {
			in_matrix = !strncmp(line, "## Matrix", 9);
			continue;
		}
		if (!in_matrix || line[0] != '|' || strstr(line, "---") || strstr(line, "| permission"))
			continue;
		for (c = strtok_r(line, "|", &save); c && n < ARRAY_SIZE(cells); c = strtok_r(NULL, "|", &save))
			cells[n++] = trim(c);
		/* permission, what, endpoints, manager, user */
		assert_true(n >= 5);
		for (p = 0; p < N_PERMS && strcmp(permission_name(perms[p]), cells[0]); p++)
			;
		if (p == N_PERMS)
			fail_msg("docs/permissions.md names a permission the code lacks: %s", cells[0]);
		assert_true(!strcmp(cells[3], "yes") || !strcmp(cells[3], "no"));
		assert_true(!strcmp(cells[4], "yes") || !strcmp(cells[4], "no"));
		if (authz_allowed(ROLE_MANAGER, perms[p]) != !strcmp(cells[3], "yes"))
			fail_msg("manager × %s differs from docs/permissions.md", cells[0]);
		if (authz_allowed(ROLE_USER, perms[p]) != !strcmp(cells[4], "yes"))
			fail_msg("user × %s differs from docs/permissions.md", cells[0]);
		assert_false(authz_allowed(ROLE_NONE, perms[p]));
		seen[p] = true;
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, N_PERMS);
	for (p = 0; p < N_PERMS; p++)
		if (!seen[p])
			fail_msg("docs/permissions.md lacks %s", permission_name(perms[p]));
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(role_parse("manager"), ROLE_MANAGER);
	assert_int_equal(role_parse("user"), ROLE_USER);
	assert_int_equal(role_parse("Manager"), ROLE_NONE);
	assert_int_equal(role_parse("USER"), ROLE_NONE);
	assert_int_equal(role_parse("admin"), ROLE_NONE);
	assert_int_equal(role_parse("none"), ROLE_NONE);
	assert_int_equal(role_parse(""), ROLE_NONE);
	assert_int_equal(role_parse("manager "), ROLE_NONE);
	assert_int_equal(role_parse(NULL), ROLE_NONE);
	assert_string_equal(role_name(ROLE_MANAGER), "manager");
	assert_string_equal(role_name(ROLE_USER), "user");
	assert_string_equal(role_name(ROLE_NONE), "none");
	assert_string_equal(permission_name(PERM_SELF), "self");
	assert_string_equal(permission_name(PERM_ACCOUNT_WRITE), "account.write");
	assert_string_equal(permission_name((enum permission)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_valid),
		cmocka_unit_test(test_service_valid),
		cmocka_unit_test(test_option_valid),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrapped_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_from_catalog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_rollback_not_cached, setup, teardown),
		cmocka_unit_test(test_authz_matrix),
		cmocka_unit_test(test_authz_matches_doc),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
