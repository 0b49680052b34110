/*
 * Tenants, subscriptions, tenant keys, and the role/permission matrix.
 *
 * SECURITY: tenant codes, names, services and options come from operators through the
 * management plane; they are validated here against fixed alphabets and limits so the
 * same rules hold whatever the caller. The tenant key is created with the tenant, in the
 * same transaction, so no tenant ever exists without its own key.
 */
#include <stdlib.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "store/db.h"
#include "tenant/tenant.h"

static const char *const services[] = { "MAIL", "DOCX", "IAAS", "ZTNA", "COLLAB" };

bool tenant_code_valid(const char *code)
{
	size_t i, n = strlen(code);

	if (n < KURA_TENANT_CODE_MIN || n > KURA_TENANT_CODE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = code[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return false;
	}
	return code[n - 1] != '-';
}

bool tenant_service_valid(const char *service)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(services); i++)
		if (!strcmp(service, services[i]))
			return true;
	return false;
}

bool tenant_option_valid(const char *option)
{
	size_t i, n = strlen(option);

	if (n < 1 || n > KURA_OPTION_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = option[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

/* A db_row_fn: the columns id, code, name, status, zone, created_us into a struct tenant. */
static void read_tenant(struct db_stmt *st, void *row)
{
	struct tenant *ret = row;

	memset(ret, 0, sizeof(*ret));
	ret->id = db_int(st, 0);
	str_copy(ret->code, sizeof(ret->code), db_text(st, 1));
	str_copy(ret->name, sizeof(ret->name), db_text(st, 2));
	str_copy(ret->status, sizeof(ret->status), db_text(st, 3));
	str_copy(ret->zone, sizeof(ret->zone), db_text(st, 4));
	ret->created_us = db_int(st, 5);
}

int tenant_find(struct db *db, const char *code, struct tenant *ret)
{
	return db_one(db_query(db, "SELECT id, code, name, status, zone, created_us"
			       " FROM tenants WHERE code = $1", "t", code), read_tenant, ret);
}

int tenant_get(struct db *db, int64_t id, struct tenant *ret)
{
	return db_one(db_query(db, "SELECT id, code, name, status, zone, created_us"
			       " FROM tenants WHERE id = $1", "i", id), read_tenant, ret);
}

int tenant_create(struct db *db, const struct actor *who, const unsigned char *master_key,
		  const char *code, const char *name, const char *const *svcs, size_t n_services,
		  const char *const *options, size_t n_options, struct tenant *ret)
{
	unsigned char wrapped[WRAPPED_KEY_BYTES];
	int64_t now = clock_now_us(), id;
	json_t *details = NULL;
	size_t i, n_name = strlen(name);
	int r;

	if (!tenant_code_valid(code) || n_name == 0 || utf8_length(name, n_name) > KURA_TENANT_NAME_MAX ||
	    !utf8_is_clean_text(name, n_name) || n_services == 0 || n_services > KURA_MAX_SERVICES ||
	    n_options > KURA_MAX_OPTIONS)
		return -EINVAL;
	for (i = 0; i < n_services; i++)
		if (!tenant_service_valid(svcs[i]))
			return -EINVAL;
	for (i = 0; i < n_options; i++)
		if (!tenant_option_valid(options[i]))
			return -EINVAL;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_insert(db, &id, "INSERT INTO tenants (code, name, created_us, updated_us)"
			      " VALUES ($1, $2, $3, $3) RETURNING id", "tti", code, name, now);
	if (r < 0)
		goto out;
	for (i = 0; i < n_services && r == 0; i++) {
		r = db_exec(db, "INSERT INTO tenant_services (tenant_id, service) VALUES ($1, $2)", "it",
			    id, svcs[i]);
		if (r == -EEXIST)
			r = 0;  /* the same service named twice */
	}
	for (i = 0; i < n_options && r == 0; i++) {
		r = db_exec(db, "INSERT INTO tenant_options (tenant_id, option) VALUES ($1, $2)", "it",
			    id, options[i]);
		if (r == -EEXIST)
			r = 0;
	}
	if (r < 0)
		goto out;
	r = keyring_new_tenant_key(master_key, id, 1, wrapped);
	if (r < 0)
		goto out;
	r = db_exec(db, "INSERT INTO tenant_keys (tenant_id, version, alg, wrapped, created_us)"
			" VALUES ($1, 1, $2, $3, $4)", "itbi", id, KEY_WRAP_ALG, wrapped,
		    sizeof(wrapped), now);
	if (r < 0)
		goto out;
	details = json_pack("{s:s, s:s}", "code", code, "name", name);
	r = audit_record(db, &(struct audit_event){ .tenant_id = id, .actor = who,
				   .category = AUDIT_OPERATOR, .action = "tenant.create",
				   .target = code, .result = AUDIT_SUCCESS, .details = details });
	if (r < 0)
		goto out;
	r = db_commit(db);
	if (r < 0)
		goto out;
	if (ret)
		r = tenant_get(db, id, ret);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

static json_t *string_column(struct db *db, const char *sql, int64_t id)
{
	json_t *arr = json_array();
	struct db_stmt *st = db_query(db, sql, "i", id);

	while (arr && db_step(st) > 0)
		json_array_append_new(arr, json_string(db_text(st, 0)));
	db_done(st);
	return arr;
}

json_t *tenant_json(struct db *db, const struct tenant *t)
{
	char created[CLOCK_RFC3339_LEN];

	clock_format_utc(t->created_us, created, sizeof(created));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "code", t->code, "name", t->name,
			 "status", t->status, "time_zone", t->zone, "services",
			 string_column(db, "SELECT service FROM tenant_services WHERE tenant_id = $1"
					   " ORDER BY service", t->id),
			 "options",
			 string_column(db, "SELECT option FROM tenant_options WHERE tenant_id = $1"
					   " ORDER BY option", t->id),
			 "created_at", created);
}

json_t *tenant_list_json(struct db *db)
{
	json_t *arr = json_array();
	struct db_stmt *st = db_query(db, "SELECT id, code, name, status, zone, created_us"
					  " FROM tenants ORDER BY code", NULL);
	struct tenant t;

	while (arr && db_step(st) > 0) {
		read_tenant(st, &t);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "code", t.code, "name",
						     t.name, "status", t.status));
	}
	db_done(st);
	return arr;
}

/* ---- the permission matrix (docs/permissions.md) ---- */

static const struct {
	enum permission perm;
	bool user, manager;
} matrix[] = {
	{ PERM_SELF, true, true },
	{ PERM_TENANT_READ, false, true },
	{ PERM_ACCOUNT_READ, false, true },
	{ PERM_ACCOUNT_WRITE, false, true },
	{ PERM_MFA_POLICY_WRITE, false, true },
	{ PERM_FILES_READ, true, true },
	{ PERM_FILES_WRITE, true, true },
	{ PERM_SECURITY_READ, false, true },
	{ PERM_SECURITY_WRITE, false, true },
	{ PERM_SHARES_WRITE, true, true },
	{ PERM_SHARES_ADMIN, false, true },
	{ PERM_MAIL_LOG_READ, false, true },
	{ PERM_AUDIT_READ, false, true },
	{ PERM_LOCKS_ADMIN, false, true },
	{ PERM_CONTACTS_ADMIN, false, true },
};

bool authz_allowed(enum role r, enum permission p)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(matrix); i++) {
		if (matrix[i].perm != p)
			continue;
		if (r == ROLE_MANAGER)
			return matrix[i].manager;
		if (r == ROLE_USER)
			return matrix[i].user;
		return false;
	}
	return false;
}

bool authz_app_password_allowed(enum permission p, bool mutating)
{
	return !mutating || p == PERM_FILES_READ || p == PERM_FILES_WRITE || p == PERM_SHARES_WRITE;
}

enum role role_parse(const char *name)
{
	if (name && !strcmp(name, "manager"))
		return ROLE_MANAGER;
	if (name && !strcmp(name, "user"))
		return ROLE_USER;
	return ROLE_NONE;
}

const char *role_name(enum role r)
{
	return r == ROLE_MANAGER ? "manager" : r == ROLE_USER ? "user" : "none";
}

const char *permission_name(enum permission p)
{
	static const char *const names[] = { "self", "tenant.read", "account.read", "account.write",
					     "mfa.policy.write", "files.read", "files.write", "security.read",
					     "security.write", "shares.write", "shares.admin",
					     "mail.log.read", "audit.read", "locks.admin",
					     "contacts.admin" };
	return (unsigned)p < ARRAY_SIZE(names) ? names[p] : "unknown";
}
