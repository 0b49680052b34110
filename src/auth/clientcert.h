/*
 * Client certificates (issue 16, C3 for ZTNA and COLLAB): a device proves itself with a
 * certificate that kura's per-tenant issuer signed from the device's CSR (the private key
 * never leaves the device), and a tenant policy requires one of its managers or of
 * everyone on every sign-in, app password and WebDAV request (docs/security.md
 * "Client certificates").
 *
 * A certificate is bound to one account of one tenant three ways, all checked: the chain
 * to that tenant's issuer, the SAN URI urn:kura:tenant:<code>:account:<id> (account ids are
 * never reused), and a row of client_certs (tenant, account, SHA-256) that is not revoked —
 * read from the database on every request, so a revocation counts at once.
 */
#ifndef KURA_AUTH_CLIENTCERT_H
#define KURA_AUTH_CLIENTCERT_H
#include <jansson.h>

#include "core/core.h"
#include "core/limits.h"

struct db;
struct actor;
struct account;

#define CLIENTCERT_SHA256_HEX 65

/* Derives the issuer wrapping key from the master key; once at start. */
int clientcert_configure(const unsigned char *master) KURA_WUR;
void clientcert_shutdown(void);

struct clientcert_policy {
	char policy[16];           /* "off", "managers", "all" */
	int64_t lifetime_days;
	bool self_service;         /* users may have a certificate issued for themselves */
	char login_field[8];       /* the tenant's own CAs: "cn", "email" or "upn" */
};
/* The tenant's policy (defaults without a row). */
int clientcert_policy_get(struct db *db, int64_t tenant_id, struct clientcert_policy *ret) KURA_WUR;
/* Sets the members given (NULL policy, lifetime <= 0, self_service < 0: unchanged), recorded
 * as "client_certificate.policy". -EINVAL for a bad value. */
int clientcert_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
			  const char *policy, int64_t lifetime_days, int self_service) KURA_WUR;
/* The field of the tenant's own CAs' certificates that names the account ("cn", "email",
 * "upn"); recorded as "client_certificate.policy". */
int clientcert_login_field_set(struct db *db, const struct actor *who, int64_t tenant_id,
			       const char *field) KURA_WUR;

/* The tenant's own CAs. add: one PEM CA certificate (CA:TRUE, in its validity period, at
 * most KURA_CERT_PEM_MAX bytes), at most KURA_CLIENT_CAS_MAX per tenant (-E2BIG), the same
 * one twice -EEXIST; -EINVAL with *ret_why. Recorded ("client_ca.add", "client_ca.delete"). */
int clientcert_ca_add(struct db *db, const struct actor *who, int64_t tenant_id, const char *pem,
		      json_t **ret_item, const char **ret_why) KURA_WUR;
int clientcert_ca_list(struct db *db, int64_t tenant_id, json_t **ret) KURA_WUR;
int clientcert_ca_delete(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id) KURA_WUR;
/* Whether the policy requires a certificate of an account with this role. */
bool clientcert_required(const struct clientcert_policy *p, const char *role);

/* Problems of a CSR (clientcert_csr_check): -EINVAL with *ret_why one of these texts. */
/* Checks a CSR PEM: at most KURA_CSR_PEM_MAX bytes, one PEM block, its self-signature,
 * and its key: Ed25519, ECDSA P-256/P-384, or RSA 2048..KURA_CSR_RSA_BITS_MAX bits. */
int clientcert_csr_check(const char *pem, const char **ret_why) KURA_WUR;

/* Issues a certificate for the account from the CSR (made the tenant's issuer first if it
 * has none), records it and "client_certificate.issue"; *ret_pem (malloc) the certificate,
 * *ret_item its JSON. -EINVAL (*ret_why) for a bad CSR. */
int clientcert_issue(struct db *db, const struct actor *who, int64_t tenant_id,
		     const char *tenant_code, const struct account *a, const char *name,
		     const char *csr_pem, char **ret_pem, json_t **ret_item, const char **ret_why) KURA_WUR;

/* The tenant's certificates (newest first), or one account's when account_id > 0. */
int clientcert_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret) KURA_WUR;
/* Revokes one (recorded); -ENOENT when the tenant has no such certificate. */
int clientcert_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id) KURA_WUR;

/* Announces by mail to its owner each unrevoked certificate that expires within
 * KURA_CERT_EXPIRY_NOTICE_DAYS and was not announced yet (once: expiry_mailed), at most
 * KURA_CERT_EXPIRY_BATCH per call; each in its own transaction with the mail. The mail
 * sender's task (notify.h mailer_set_task). Returns how many were queued, or <0. */
int clientcert_expiry_notify(struct db *db);

/* What a presented certificate is (clientcert_check). */
struct clientcert_seen {
	char sha256[CLIENTCERT_SHA256_HEX];   /* "" when none was presented */
	char subject[KURA_CERT_SUBJECT_MAX + 1];
};
/* Reads the fingerprint and subject of a DER certificate (both "" when it does not parse). */
void clientcert_describe(const unsigned char *der, size_t n, struct clientcert_seen *ret);
/* 0 when the DER certificate (NULL: none) is valid now and bound to the account; else
 * -EACCES with *ret_reason: "absent", "unparsable", "untrusted" (not the tenant's issuer,
 * or outside its validity), "unbound" (another account or tenant), "unknown" (not issued
 * here), "revoked". */
int clientcert_check(struct db *db, int64_t tenant_id, const char *tenant_code, int64_t account_id,
		     const unsigned char *der, size_t n, const char **ret_reason) KURA_WUR;
#endif
