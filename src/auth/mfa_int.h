/* Shared inside src/auth's MFA files (mfa.c, totp.c, recovery.c, webauthn.c). */
#ifndef KURA_AUTH_MFA_INT_H
#define KURA_AUTH_MFA_INT_H
#include "audit/audit.h"
#include "auth/mfa.h"

#define MFA_KEY_BYTES 32
/* Key sealing TOTP secrets (XChaCha20-Poly1305) and key of the recovery-code hash (BLAKE2b),
 * both derived from the master key by mfa_configure(). NULL before it ran. */
const unsigned char *mfa_seal_key(void);
const unsigned char *mfa_hash_key(void);
const char *mfa_rp_id(void);        /* host of public_url */
const char *mfa_origin(void);       /* scheme://host[:port] of public_url */

/* base64url without padding (a trailing '=' padding is accepted on input). Decoding:
 * -EINVAL on bad characters or when more than max bytes would result. */
int b64url_decode(const char *in, unsigned char *out, size_t max, size_t *ret_n) KURA_WUR;
char *b64url_encode(const unsigned char *in, size_t n);   /* malloc'd, NULL on ENOMEM */

/* "account:<login>" audit record in the authentication category. */
int mfa_audit(struct db *db, const struct actor *who, int64_t tenant_id, const char *login,
	      const char *action, enum audit_result result, json_t *details) KURA_WUR;

/* Inside the caller's transaction. */
int totp_verify_tx(struct db *db, int64_t tenant_id, int64_t account_id, const char *code,
		   const char **ret_reason) KURA_WUR;
int recovery_issue_tx(struct db *db, int64_t tenant_id, int64_t account_id,
		      recovery_codes_t ret) KURA_WUR;
int recovery_use_tx(struct db *db, int64_t tenant_id, int64_t account_id, const char *code) KURA_WUR;
/* Issues recovery codes when the account has none yet and now has a second factor. */
int recovery_issue_first_tx(struct db *db, int64_t tenant_id, int64_t account_id,
			    recovery_codes_t ret, bool *ret_issued) KURA_WUR;
/* When the account has no second factor left, its recovery codes go too. */
int recovery_drop_if_unused_tx(struct db *db, int64_t tenant_id, int64_t account_id) KURA_WUR;
/* Request options for navigator.credentials.get(); NULL *ret when there is no credential. */
int webauthn_request_options(struct db *db, int64_t tenant_id, int64_t account_id,
			     const unsigned char challenge[KURA_WEBAUTHN_CHALLENGE], json_t **ret) KURA_WUR;
/* Verifies an assertion against the account's credentials and the challenge whose SHA-256
 * is want_hash; updates the sign counter. -EACCES with *ret_reason on refusal; a counter
 * that did not increase is recorded by the caller from the reason "sign counter". */
int webauthn_assert_tx(struct db *db, int64_t tenant_id, int64_t account_id,
		       const unsigned char want_hash[32], json_t *assertion,
		       const char **ret_reason) KURA_WUR;
#endif
