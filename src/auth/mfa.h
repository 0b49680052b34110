/*
 * Multi-factor authentication (C3): TOTP (RFC 6238, liboath), WebAuthn/FIDO2 (libfido2),
 * single-use recovery codes, the per-tenant MFA policy, and the login second step.
 *
 * Every function takes the tenant and the account it acts on and names both in every
 * query. Changes run in one transaction with their audit record. Secrets: the TOTP secret
 * is sealed under a key derived from the master key; recovery codes and challenges are
 * stored as hashes only; nothing secret is logged.
 */
#ifndef KURA_AUTH_MFA_H
#define KURA_AUTH_MFA_H
#include <jansson.h>

#include "auth/auth.h"
#include "core/core.h"
#include "core/limits.h"

struct db;
struct actor;
struct config;
struct tenant;

/* Once at start-up, before threads: derives the MFA keys from the master key (kept in
 * sodium_malloc'ed memory), and takes public_url's origin and host (the WebAuthn RP ID)
 * and the default policy for managers. */
int mfa_configure(const struct config *cfg, const unsigned char *master) KURA_WUR;
void mfa_shutdown(void);

/* ---- policy ---- */
enum mfa_requirement { MFA_OFF = 0, MFA_OPTIONAL, MFA_REQUIRED };
struct mfa_policy {
	enum mfa_requirement managers;   /* optional | required */
	enum mfa_requirement users;      /* off | optional | required */
	bool is_default;                 /* no row: the deployment default applies */
};
int mfa_policy_get(struct db *db, int64_t tenant_id, struct mfa_policy *ret) KURA_WUR;
/* -EINVAL when managers is "off". One transaction with its audit record. */
int mfa_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
		   const struct mfa_policy *p) KURA_WUR;
json_t *mfa_policy_json(const struct mfa_policy *p);
const char *mfa_requirement_name(enum mfa_requirement r);
int mfa_requirement_parse(const char *str, enum mfa_requirement *ret) KURA_WUR;
enum mfa_requirement mfa_policy_for_role(const struct mfa_policy *p, const char *role);

/* ---- what an account has ---- */
struct mfa_state {
	bool totp;                /* confirmed */
	bool totp_pending;        /* begun, not confirmed */
	int64_t n_webauthn;
	int64_t n_recovery;       /* unused recovery codes */
};
int mfa_state_get(struct db *db, int64_t tenant_id, int64_t account_id, struct mfa_state *ret) KURA_WUR;
bool mfa_state_enrolled(const struct mfa_state *s);
/* *ret true when the tenant's policy requires MFA for the account's role and the account
 * has no second factor: its sessions may only enrol one (the enrolment gate). */
int mfa_enrolment_required(struct db *db, const struct account *a, bool *ret) KURA_WUR;
/* The gate for one request (C3): true when the policy requires a second factor of the
 * account's role and either the account has none or the request's session was opened with
 * the password alone (second_factor false). A session never gains rights from an
 * enrolment made elsewhere: enrolling ends the account's other sessions. */
int mfa_gate(struct db *db, const struct account *a, bool second_factor, bool *ret) KURA_WUR;
/* The same with the tenant's policy as mfa_policy_get read it (tenant/settings.h keeps a
 * copy): a default one (is_default) takes kura.conf's default for managers now. */
int mfa_gate_policy(struct db *db, const struct account *a, const struct mfa_policy *p, bool second_factor,
		    bool *ret) KURA_WUR;
/* -EPERM when the policy is "off" for the account's role (users may not enrol). */
int mfa_enrolment_allowed(struct db *db, const struct account *a) KURA_WUR;
json_t *mfa_state_json(const struct mfa_state *s, bool enrolment_required);

/* ---- recovery codes ---- */
#define RECOVERY_CODE_STR (KURA_RECOVERY_CODE_CHARS + KURA_RECOVERY_CODE_CHARS / 4)
typedef char recovery_codes_t[KURA_RECOVERY_CODES][RECOVERY_CODE_STR];
/* New set, replacing the old (password checked by the caller). Own transaction + audit.
 * -EPERM when the account has no second factor. */
int recovery_regenerate(struct db *db, const struct actor *who, int64_t session_id,
			const struct account *a, recovery_codes_t ret) KURA_WUR;
/* JSON array of the codes, for the one answer that shows them. */
json_t *recovery_codes_json(recovery_codes_t codes);

/* ---- TOTP ---- */
struct totp_enrolment {
	char secret_b32[64];
	char uri[512];
	char *qr_svg;             /* malloc'd; free with totp_enrolment_clear() */
};
/* Begins (or restarts) enrolment. -EEXIST when a confirmed TOTP exists. */
int totp_begin(struct db *db, const struct actor *who, const struct account *a,
	       const char *tenant_code, struct totp_enrolment *ret) KURA_WUR;
void totp_enrolment_clear(struct totp_enrolment *e);
/* Confirms with a first code. -ENOENT nothing pending, -EACCES wrong code. When this is the
 * account's first second factor, recovery codes are issued into ret_codes (*ret_issued). */
int totp_confirm(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
		 const char *code, recovery_codes_t ret_codes, bool *ret_issued) KURA_WUR;
int totp_remove(struct db *db, const struct actor *who, int64_t session_id,
		const struct account *a) KURA_WUR;

/* ---- WebAuthn ---- */
int webauthn_register_begin(struct db *db, const struct actor *who, int64_t session_id,
			    const struct account *a, const char *tenant_code,
			    json_t **ret_options) KURA_WUR;
/* Verifies the attestation (see webauthn.c) and stores the credential. -EACCES with
 * *ret_reason when verification fails, -EINVAL for malformed input, -ENOENT when there is
 * no open registration, -E2BIG over KURA_WEBAUTHN_PER_ACCOUNT, -EEXIST for a credential
 * already registered. */
int webauthn_register_finish(struct db *db, const struct actor *who, int64_t session_id,
			     const struct account *a, const char *name, json_t *credential,
			     json_t **ret_cred, recovery_codes_t ret_codes, bool *ret_issued,
			     const char **ret_reason) KURA_WUR;
int webauthn_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret) KURA_WUR;
int webauthn_remove(struct db *db, const struct actor *who, int64_t session_id,
		    const struct account *a, int64_t id) KURA_WUR;

/* ---- the login second step ---- */
struct mfa_login {
	char challenge[TOKEN_STR_LEN + 1];
	int64_t expires_us;
	json_t *methods;          /* array of names */
	json_t *webauthn;         /* request options, or NULL */
};
/* After a correct password of an account with a second factor: a new challenge (stored
 * hashed, 5 minutes, single use, bound to the account). */
int mfa_login_begin(struct db *db, const struct account *a, struct mfa_login *ret) KURA_WUR;
void mfa_login_clear(struct mfa_login *l);
/* Second step: exactly one of otp, recovery_code, webauthn. On success the challenge is
 * spent, the login recorded and *ret_tenant, *ret filled. -ETIMEDOUT when the challenge is
 * unknown, expired or used up (the password step must be done again); -EACCES for every
 * other refusal (a wrong factor counts toward the account lockout and is recorded). */
/* The tenant and account a pending challenge belongs to, without spending or recording
 * anything (for checks that must come before the second factor is tried). -ENOENT when
 * there is no such challenge. */
int mfa_login_whose(struct db *db, const char *challenge, struct tenant *ret_tenant,
		    struct account *ret) KURA_WUR;
int mfa_login_finish(struct db *db, const struct actor *who, const char *challenge,
		     const char *otp, const char *recovery_code, json_t *webauthn,
		     struct tenant *ret_tenant, struct account *ret) KURA_WUR;
#endif
