/*
 * Tenants (contracts) and their subscriptions (A4): a code, a name, service codes from
 * CONTROLS.md (MAIL, DOCX, IAAS, ZTNA, COLLAB) and options. Each tenant gets its own data
 * key, wrapped by the master key, at creation (B1, E2).
 *
 * Roles and permissions (C2, C5): the permission matrix is the table in tenant.c and
 * docs/permissions.md; authz_allowed() is the one place that answers "may this role do
 * this"; deny by default.
 */
#ifndef KURA_TENANT_TENANT_H
#define KURA_TENANT_TENANT_H
#include <jansson.h>

#include "core/catalog.h"
#include "core/core.h"
#include "core/limits.h"

struct db;
struct actor;

struct tenant {
	int64_t id;
	char code[KURA_TENANT_CODE_MAX + 1];
	char name[KURA_TENANT_NAME_MAX * 4 + 1];
	char status[16];
	char zone[64];
	int64_t created_us;
};

/* 2-32 of a-z 0-9 -, starting with a letter or digit. */
bool tenant_code_valid(const char *code);
/* A service code of the catalog (core/catalog.h). */
bool tenant_service_valid(const char *service);
/* True when one of svcs[0..n) offers the option in the catalog (an option that owns data or
 * switches a feature); other options are contract items (A4: "storage:100GB") that own none. */
bool tenant_option_offered(const char *option, const char *const *svcs, size_t n);
/* 1-64 of a-z A-Z 0-9 . _ - : */
bool tenant_option_valid(const char *option);

/* Creates the tenant, its subscriptions and its first data key in one transaction with its
 * audit record. -EEXIST when the code is taken, -EINVAL for bad input. */
int tenant_create(struct db *db, const struct actor *who, const unsigned char *master_key,
		  const char *code, const char *name, const char *const *services, size_t n_services,
		  const char *const *options, size_t n_options, struct tenant *ret) KURA_WUR;
/* -ENOENT when there is no such tenant. */
int tenant_find(struct db *db, const char *code, struct tenant *ret) KURA_WUR;
int tenant_get(struct db *db, int64_t id, struct tenant *ret) KURA_WUR;
/* The contract as JSON: code, name, status, time_zone, services, options, created_at. */
json_t *tenant_json(struct db *db, const struct tenant *t);
/* All tenants as a JSON array of tenant_json objects. */
json_t *tenant_list_json(struct db *db);

/* ---- the service catalog applied to a tenant (docs/lifecycle.md "Service catalog") ---- */
/* The tenant's service codes (at most KURA_MAX_SERVICES) into ret, their count in *ret_n. */
int tenant_services(struct db *db, int64_t tenant_id, char ret[][16], size_t max, size_t *ret_n) KURA_WUR;
/* The effective values for the tenant's services (the longest retention, the shortest erasure
 * deadline ...), each naming the service it comes from. */
int tenant_effective(struct db *db, int64_t tenant_id, struct catalog_effective *ret) KURA_WUR;
json_t *tenant_effective_json(const struct catalog_effective *e);
/* One service of the catalog with the parameters in force; options marked "contracted" when
 * options (may be NULL) holds them. */
json_t *tenant_catalog_service_json(size_t service, json_t *options);
/* tenant_json plus "features", "effective" and (with_catalog) "catalog": each contracted
 * service's boundary, options and parameters. */
json_t *tenant_contract_json(struct db *db, const struct tenant *t, bool with_catalog);

/* The features the catalog starts (D4): sharing, WebDAV, app passwords. A tenant without a
 * row (none since migration 0018) has them on. */
int tenant_features_get(struct db *db, int64_t tenant_id, bool ret[CATALOG_N_FEATURES]) KURA_WUR;
/* False also when the state cannot be read (fails closed). */
bool tenant_feature_on(struct db *db, int64_t tenant_id, enum catalog_feature f) KURA_WUR;
/* want[i]: 1 on, 0 off, -1 unchanged; recorded (tenant.features) when something changes. */
int tenant_features_set(struct db *db, const struct actor *who, int64_t tenant_id,
			const int want[CATALOG_N_FEATURES], bool ret[CATALOG_N_FEATURES]) KURA_WUR;

/* ---- roles and permissions ---- */
enum role { ROLE_NONE = 0, ROLE_USER, ROLE_MANAGER };
enum permission {
	PERM_SELF,            /* own profile, own password, own session */
	PERM_TENANT_READ,     /* the contract (A4) */
	PERM_ACCOUNT_READ,    /* list and show accounts of the tenant */
	PERM_ACCOUNT_WRITE,   /* create, suspend, resume, delete, unlock, change roles */
	PERM_MFA_POLICY_WRITE,/* the tenant's MFA policy (C3) */
	PERM_FILES_READ,      /* list, download, labels, trash and quota of the tenant's files */
	PERM_FILES_WRITE,     /* upload, create folders, rename, move, delete, restore, label */
	/* access: */
	PERM_SECURITY_READ,   /* the tenant's IP allowlist and lockout settings */
	PERM_SECURITY_WRITE,  /* change them */
	/* shares (W3, W5): */
	PERM_SHARES_WRITE,    /* create share and upload-request links; list and revoke one's own */
	PERM_SHARES_ADMIN,    /* list and revoke every link of the tenant; the link expiry policy */
	PERM_MAIL_LOG_READ,   /* the tenant's mail delivery log */
	PERM_AUDIT_READ,      /* query and export the tenant's audit log (F4, F9) */
	PERM_LOCKS_ADMIN,     /* list and break every WebDAV lock of the tenant (issue 14) */
	PERM_CONTACTS_ADMIN,  /* the tenant's contacts: list, register, delete (issue 9) */
};
enum role role_parse(const char *name);
const char *role_name(enum role r);
const char *permission_name(enum permission p);
/* The choke point: true only when the matrix grants p to r. */
bool authz_allowed(enum role r, enum permission p) KURA_WUR;
/* The second half of it for requests authenticated by an app password (API and WebDAV
 * clients, whose secrets sit in client configuration): they may read what the role may
 * read, and change only files and the account's own share links, never accounts,
 * security settings or policies (those need an interactive session with its MFA). */
bool authz_app_password_allowed(enum permission p, bool mutating) KURA_WUR;
#endif
