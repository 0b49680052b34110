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
	return catalog_index(service) >= 0;
}

bool tenant_option_offered(const char *option, const char *const *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int idx = catalog_index(svcs[i]);

		if (idx >= 0 && catalog_option_find((size_t)idx, option))
			return true;
	}
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
	struct catalog_effective eff;
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
	/* D4: the features start as the catalog says for these services (IAAS: closed) */
	r = catalog_effective(svcs, n_services, &eff);
	if (r < 0)
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
	if (r == 0)
		r = db_exec(db, "INSERT INTO tenant_features (tenant_id, sharing, webdav, app_passwords, updated_us)"
				" VALUES ($1, $2, $3, $4, $5)", "iiiii", id,
			    (int64_t)eff.initial_on[CATALOG_FEATURE_SHARING], (int64_t)eff.initial_on[CATALOG_FEATURE_WEBDAV],
			    (int64_t)eff.initial_on[CATALOG_FEATURE_APP_PASSWORDS], now);
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
	details = json_pack("{s:s, s:s, s:{s:b, s:b, s:b}}", "code", code, "name", name, "features",
			    "sharing", eff.initial_on[CATALOG_FEATURE_SHARING], "webdav",
			    eff.initial_on[CATALOG_FEATURE_WEBDAV], "app_passwords",
			    eff.initial_on[CATALOG_FEATURE_APP_PASSWORDS]);
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

/* ---- the service catalog applied to a tenant ---- */

int tenant_services(struct db *db, int64_t tenant_id, char ret[][16], size_t max, size_t *ret_n)
{
	struct db_stmt *st = db_query(db, "SELECT service FROM tenant_services WHERE tenant_id = $1"
					  " ORDER BY service", "i", tenant_id);
	size_t n = 0;
	int r;

	while ((r = db_step(st)) > 0 && n < max)
		str_copy(ret[n++], sizeof(ret[0]), db_text(st, 0));
	db_done(st);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int tenant_effective(struct db *db, int64_t tenant_id, struct catalog_effective *ret)
{
	char codes[KURA_MAX_SERVICES][16];
	const char *ptrs[KURA_MAX_SERVICES];
	size_t n = 0;
	int r = tenant_services(db, tenant_id, codes, KURA_MAX_SERVICES, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		ptrs[i] = codes[i];
	return catalog_effective(ptrs, n, ret);
}

static const char *service_code(int idx)
{
	const struct catalog_service *s = catalog_service_at((size_t)idx);

	return s ? s->code : "";
}

static json_t *retention_json(const struct catalog_retention *r)
{
	if (r->period == CATALOG_PERIOD_CONTRACT)
		return json_pack("{s:s, s:n, s:n}", "period", "contract", "days", "include_today");
	return json_pack("{s:s, s:i, s:b}", "period", "days", "days", (int)r->days, "include_today",
			 r->include_today);
}

/* [{"channel": "portal", "services": ["DOCX", ...]}, ...] for the channels in bits */
static json_t *channels_json(unsigned bits, const unsigned *from)
{
	json_t *arr = json_array();

	for (unsigned c = 0; arr && c < CATALOG_N_CHANNELS; c++) {
		json_t *svcs;

		if (!(bits & (1u << c)))
			continue;
		svcs = json_array();
		for (int i = 0; from && svcs && i < CATALOG_N_SERVICES; i++)
			if (from[c] & (1u << i))
				json_array_append_new(svcs, json_string(service_code(i)));
		json_array_append_new(arr, from ? json_pack("{s:s, s:o}", "channel", catalog_channel_name(1u << c),
							   "services", svcs)
						: json_string(catalog_channel_name(1u << c)));
		if (!from)
			json_decref(svcs);
	}
	return arr;
}

json_t *tenant_effective_json(const struct catalog_effective *e)
{
	json_t *ret = json_object(), *retention = json_object(), *initial = json_object();

	for (size_t c = 0; c < CATALOG_N_CATEGORIES; c++) {
		json_t *r = retention_json(&e->retention[c]);

		json_object_set_new(r, "service", json_string(service_code(e->retention_from[c])));
		json_object_set_new(retention, catalog_category_name(c), r);
	}
	for (size_t f = 0; f < CATALOG_N_FEATURES; f++)
		json_object_set_new(initial, catalog_feature_name(f),
				    json_pack("{s:b, s:s}", "on", e->initial_on[f], "service",
					      service_code(e->initial_from[f])));
	json_object_set_new(ret, "retention", retention);
	json_object_set_new(ret, "erasure",
			    json_pack("{s:i, s:s, s:i, s:s}", "days", (int)e->erasure_days, "day1",
				      e->erasure_day1_after ? "after-termination" : "termination-day",
				      "last_day_after_termination",
				      (int)(e->erasure_day1_after ? e->erasure_days : e->erasure_days - 1),
				      "service", service_code(e->erasure_from)));
	json_object_set_new(ret, "change_notices", channels_json(e->change_channels, e->change_from));
	json_object_set_new(ret, "incident_notices", channels_json(e->incident_channels, e->incident_from));
	json_object_set_new(ret, "operator_access",
			    json_pack("{s:s, s:s}", "value", catalog_access_name(e->operator_access), "service",
				      service_code(e->access_from)));
	json_object_set_new(ret, "initial_state", initial);
	return ret;
}

static bool holds(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

json_t *tenant_catalog_service_json(size_t service, json_t *options)
{
	const struct catalog_service *s = catalog_service_at(service);
	const struct catalog_params *p = catalog_params_of(service);
	json_t *ret, *boundary = json_array(), *opts = json_array(), *retention = json_object(),
	       *initial = json_object();

	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_boundary; i++) {
		const struct catalog_boundary *b = &s->boundary[i];

		json_array_append_new(boundary, json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
							  "scope", "ja", b->scope_ja, "en", b->scope_en,
							  "provider", "ja", b->provider_ja, "en", b->provider_en,
							  "tenant", "ja", b->tenant_ja, "en", b->tenant_en));
	}
	for (size_t i = 0; i < s->n_options; i++) {
		const struct catalog_option *o = &s->options[i];
		json_t *owns = json_array();

		for (size_t k = 0; k < o->n_owns; k++)
			json_array_append_new(owns, json_string(catalog_data_name(o->owns[k])));
		json_array_append_new(opts, json_pack("{s:s, s:{s:s, s:s}, s:o, s:b}", "code", o->code, "name",
						      "ja", o->name_ja, "en", o->name_en, "owns", owns,
						      "contracted", options && holds(options, o->code)));
	}
	for (size_t c = 0; c < CATALOG_N_CATEGORIES; c++)
		json_object_set_new(retention, catalog_category_name(c), retention_json(&p->retention[c]));
	for (size_t f = 0; f < CATALOG_N_FEATURES; f++)
		json_object_set_new(initial, catalog_feature_name(f), json_boolean(p->initial_on[f]));
	ret = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:i, s:s}, s:o, s:o, s:s, s:o, s:o, s:o}", "code", s->code,
			"name", "ja", s->name_ja, "en", s->name_en, "retention", retention, "erasure", "days",
			(int)p->erasure_days, "day1", p->erasure_day1_after ? "after-termination" : "termination-day",
			"change_notices", channels_json(p->change_channels, NULL), "incident_notices",
			channels_json(p->incident_channels, NULL), "operator_access",
			catalog_access_name(p->operator_access), "initial_state", initial, "boundary", boundary,
			"options", opts);
	return ret;
}

json_t *tenant_contract_json(struct db *db, const struct tenant *t, bool with_catalog)
{
	struct catalog_effective e;
	bool on[CATALOG_N_FEATURES];
	json_t *ret = tenant_json(db, t), *features, *cat;
	size_t i;
	json_t *v;

	if (!ret || tenant_effective(db, t->id, &e) < 0 || tenant_features_get(db, t->id, on) < 0)
		return json_decref(ret), NULL;
	features = json_object();
	for (i = 0; i < CATALOG_N_FEATURES; i++)
		json_object_set_new(features, catalog_feature_name(i), json_boolean(on[i]));
	json_object_set_new(ret, "features", features);
	json_object_set_new(ret, "effective", tenant_effective_json(&e));
	if (with_catalog) {
		cat = json_array();
		json_array_foreach(json_object_get(ret, "services"), i, v) {
			int idx = catalog_index(json_string_value(v));

			if (idx >= 0)
				json_array_append_new(cat, tenant_catalog_service_json((size_t)idx,
										json_object_get(ret, "options")));
		}
		json_object_set_new(ret, "catalog", cat);
	}
	return ret;
}

int tenant_features_get(struct db *db, int64_t tenant_id, bool ret[CATALOG_N_FEATURES])
{
	struct db_stmt *st = db_query(db, "SELECT sharing, webdav, app_passwords FROM tenant_features"
					  " WHERE tenant_id = $1", "i", tenant_id);
	int r = db_step(st);

	for (int i = 0; i < CATALOG_N_FEATURES; i++)
		ret[i] = r > 0 ? db_int(st, i) != 0 : true;
	db_done(st);
	return r < 0 ? r : 0;
}

bool tenant_feature_on(struct db *db, int64_t tenant_id, enum catalog_feature f)
{
	bool on[CATALOG_N_FEATURES];

	if ((unsigned)f >= CATALOG_N_FEATURES || tenant_features_get(db, tenant_id, on) < 0)
		return false;
	return on[f];
}

int tenant_features_set(struct db *db, const struct actor *who, int64_t tenant_id,
			const int want[CATALOG_N_FEATURES], bool ret[CATALOG_N_FEATURES])
{
	bool cur[CATALOG_N_FEATURES], changed = false;
	json_t *d = NULL;
	int r, i;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the state read decides what is recorded */
	if (r == 0)
		r = tenant_features_get(db, tenant_id, cur);
	if (r < 0)
		goto out;
	d = json_object();
	for (i = 0; i < CATALOG_N_FEATURES; i++)
		if (want[i] >= 0 && (want[i] != 0) != cur[i]) {
			cur[i] = want[i] != 0;
			changed = true;
			json_object_set_new(d, catalog_feature_name((size_t)i), json_boolean(cur[i]));
		}
	if (changed) {
		r = db_exec(db, "INSERT INTO tenant_features (tenant_id, sharing, webdav, app_passwords, updated_us)"
				" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET"
				" sharing = $2, webdav = $3, app_passwords = $4, updated_us = $5",
			    "iiiii", tenant_id, (int64_t)cur[0], (int64_t)cur[1], (int64_t)cur[2], clock_now_us());
		if (r == 0)
			r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
						 .category = AUDIT_ADMINISTRATION, .action = "tenant.features",
						 .target = "tenant", .result = AUDIT_SUCCESS, .details = d });
	}
out:
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	if (r == 0 && ret)
		memcpy(ret, cur, sizeof(cur));
	return r;
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
