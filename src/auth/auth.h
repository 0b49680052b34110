/*
 * Accounts, invitations, password authentication with lockout, and sessions (C1, C3, C4).
 *
 * Every function takes the tenant it acts in (tenant_id) and puts it in every query, so an
 * account of another tenant is simply not found (-ENOENT). Mutations run in one
 * transaction with their audit record (and the mail they cause, through the outbox).
 */
#ifndef KURA_AUTH_AUTH_H
#define KURA_AUTH_AUTH_H
#include <jansson.h>

#include "core/core.h"
#include "core/limits.h"
#include "crypto/crypto.h"

struct db;
struct actor;
struct config;
struct tenant;

/* Settings taken from the config once at start-up (timeouts, lockout, public URL). */
void auth_configure(const struct config *cfg);

struct account {
	int64_t id;
	int64_t tenant_id;
	char login[KURA_LOGIN_MAX + 1];
	char email[KURA_EMAIL_MAX + 1];
	char display_name[KURA_DISPLAY_NAME_MAX * 4 + 1];
	char role[16];
	char status[16];           /* invited | active | suspended */
	bool must_change_password;
	int64_t locked_until_us;
	int64_t last_login_us;     /* 0 = never */
	int64_t created_us;
};

/* 1-64 of a-z 0-9 . _ -, starting with a letter or digit. */
bool account_login_valid(const char *login);
bool account_display_name_valid(const char *name);

int account_get(struct db *db, int64_t tenant_id, const char *login, struct account *ret) KURA_WUR;
int account_get_id(struct db *db, int64_t tenant_id, int64_t id, struct account *ret) KURA_WUR;
json_t *account_json(const struct account *a);
/* The managers' list: NULL members match all. q: a substring of the login, the e-mail or
 * the display name (ASCII letters in any case; at most KURA_ACCOUNT_QUERY_MAX bytes, else
 * -EINVAL); role: "manager" | "user"; status: "invited" | "active" | "suspended", or
 * "locked" (locked now, whatever the status). */
struct account_filter {
	const char *q, *role, *status;
};
bool account_filter_status_valid(const char *status);
/* Accounts of one tenant matching f, ordered by login, a page of them as JSON
 * (account_json() plus last_login_ip, locked_until and mfa: see docs/api.md), and how many
 * match in all. */
int account_list(struct db *db, int64_t tenant_id, const struct account_filter *f, int64_t limit,
		 int64_t offset, json_t **ret, int64_t *ret_total) KURA_WUR;
/* One account in the same form; -ENOENT when the tenant has no such login. */
int account_get_detail(struct db *db, int64_t tenant_id, const char *login, json_t **ret) KURA_WUR;

/* Creates an invited account and its invitation, queues the invitation mail, and writes
 * the link into ret_url. One transaction. -EEXIST when the login is taken. */
int account_invite(struct db *db, const struct actor *who, const struct tenant *t,
		   const char *login, const char *email, const char *role, const char *display_name,
		   struct account *ret, char *ret_url, size_t url_size) KURA_WUR;
/* Creates an active account with a random one-time password (must be changed at first
 * login), written into ret_password (size >= 32). Used for the demo tenant. */
int account_create_with_password(struct db *db, const struct actor *who, const struct tenant *t,
				 const char *login, const char *email, const char *role,
				 char *ret_password, size_t pw_size) KURA_WUR;

/* Fields to change; NULL = unchanged. The rules that keep a tenant manageable:
 * no one suspends, demotes or deletes themselves; the last active manager stays.
 * -EPERM for those (409), -EINVAL for bad values. Suspension ends the sessions. */
struct account_change {
	const char *status, *role, *display_name, *email;
};
int account_update(struct db *db, const struct actor *who, int64_t tenant_id, const char *login,
		   const struct account_change *change, struct account *ret) KURA_WUR;
/* The tenant's active managers. */
int account_active_managers(struct db *db, int64_t tenant_id, int64_t *ret) KURA_WUR;
int account_delete(struct db *db, const struct actor *who, int64_t tenant_id,
		   const char *login) KURA_WUR;
int account_unlock(struct db *db, const struct actor *who, int64_t tenant_id,
		   const char *login) KURA_WUR;

/* Password login. Exactly one Argon2id verification on every path, so timing does not tell
 * an unknown tenant or login from a wrong password. Counts failures and locks the account
 * (threshold within window → locked for duration). 0 and *ret on success; -EACCES on any
 * refusal. Records the result.
 * -EAGAIN (with *ret_tenant and *ret filled) when the password is right but the account has
 * a second factor (auth/mfa.h): no session before mfa_login_finish(); the failure counter
 * is not reset by the password alone. A caller that only checks r < 0 fails closed. */
int account_authenticate(struct db *db, const struct actor *who, const char *tenant_code,
			 const char *login, const char *password, struct tenant *ret_tenant,
			 struct account *ret) KURA_WUR;
/* Where a login name stands after a refusal (account.c "standing"), for the answer: the
 * tries left before the lock, or the end of the lock. A name without an account (or of a
 * tenant that does not exist) is counted the same way, so the answer does not tell whether
 * it exists (docs/security.md "Remaining tries"). */
struct login_standing {
	int64_t remaining;        /* wrong secrets left in the window before the lock */
	int64_t locked_until_us;  /* > now while locked (remaining is 0 then) */
};
int account_login_standing(struct db *db, const char *tenant_code, const char *login,
			   struct login_standing *ret) KURA_WUR;
int account_standing_id(struct db *db, int64_t tenant_id, int64_t account_id,
			struct login_standing *ret) KURA_WUR;
/* A password login of an existing account refused because the client certificate it must
 * present is missing or wrong (issue 16): counted as a name without an account (login_misses,
 * the tenant's policy) and answered with that standing, so the tries left move and "lock"
 * exactly as for a login name that does not exist (security review), while the account's
 * own count, which only attempts with its certificate reach, is left alone: a client without
 * the certificate can neither tell that the account exists nor lock it. Own transaction. */
int account_cert_refused(struct db *db, int64_t tenant_id, const char *login, struct login_standing *ret) KURA_WUR;
/* Lockout attempts (account.c "lockout"): inside the caller's transaction, counts one
 * attempt of the account before its secret is checked. 0 reserved; -EACCES the account is
 * locked; -EBUSY the window's attempts are used up (failures and checks in flight). */
int account_attempt_reserve_tx(struct db *db, int64_t tenant_id, int64_t account_id) KURA_WUR;
/* A wrong second factor whose attempt was reserved: recorded, counted as a failure, and
 * locks the account when failures reach the threshold (one lock, one mail). Own transaction. */
int account_second_factor_failed(struct db *db, const struct actor *who, int64_t tenant_id,
				 int64_t account_id, const char *login, const char *method,
				 const char *reason) KURA_WUR;
/* A second factor refused without counting as a failure: recorded; its reserved attempt
 * (reserved true: it was refused after the reservation, e.g. locked meanwhile) is released. */
int account_second_factor_refused(struct db *db, const struct actor *who, int64_t tenant_id,
				  int64_t account_id, const char *login, const char *method,
				  const char *reason, bool reserved) KURA_WUR;
/* A completed login (after the second factor): resets the failure counter, sets the last
 * login, records "session.create". Runs inside the caller's transaction. */
int account_login_record_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *login, const char *method) KURA_WUR;
/* Re-authentication before a security change (MFA settings): 0 when password is the
 * account's; -EACCES otherwise, recorded and counted like a wrong password. */
int account_verify_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *password) KURA_WUR;

/* Changes the password after checking the current one (-EACCES) and the policy
 * (-EINVAL with *ret_problem). Ends the account's other sessions (keep_session_id stays). */
int account_change_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *current, const char *new_password,
			    int64_t keep_session_id, enum password_problem *ret_problem) KURA_WUR;

/* Invitations. -ENOENT for an unknown, used or expired token; invitation_why() then tells
 * which ("used", "expired" or "invalid") to the holder of the token, for the page. */
const char *invitation_why(struct db *db, const char *token);
/* The same for either kind of mailed token (reset true: password_resets). */
const char *token_refusal(struct db *db, bool reset, const char *token);
int invitation_peek(struct db *db, const char *token, char *ret_tenant, size_t tenant_size,
		    char *ret_login, size_t login_size, int64_t *ret_expires_us) KURA_WUR;
int invitation_accept(struct db *db, const struct actor *who, const char *token,
		      const char *password, enum password_problem *ret_problem) KURA_WUR;

/* ---- sessions ---- */
struct session {
	int64_t id;
	int64_t created_us, last_seen_us, expires_us;
	char auth_method[16];     /* "password", or the second factor: "totp", "webauthn", "recovery_code" */
	bool second_factor;       /* opened (or since upgraded) with a second factor */
	unsigned char csrf_hash[TOKEN_HASH_BYTES];
	struct account account;
	char tenant_code[KURA_TENANT_CODE_MAX + 1];
	char tenant_name[KURA_TENANT_NAME_MAX * 4 + 1];
	char client_cert_sha256[65];   /* the certificate it was opened with, "" for none (issue 16) */
	/* tenants.settings_gen, read with the tenant's row by session_lookup and
	 * apppass_authenticate (settings_gen_read): the generation of the tenant's settings the
	 * request may take from the process's copy (tenant/settings.h) */
	int64_t settings_gen;
	bool settings_gen_read;
};

/* New session for an authenticated account: ret_token is the cookie value, ret_csrf the
 * CSRF token (both TOKEN_STR_LEN + 1 bytes). The database keeps only their hashes. */
int session_create(struct db *db, const struct account *a, const char *auth_method,
		   const char *client_ip, const char *user_agent, char *ret_token, char *ret_csrf,
		   int64_t *ret_expires_us) KURA_WUR;
/* The same, recording the SHA-256 (hex) of the client certificate it was opened with (NULL
 * or "": none); such a session needs that certificate on every request (issue 16). */
int session_create_cert(struct db *db, const struct account *a, const char *auth_method,
			const char *client_cert_sha256, const char *client_ip, const char *user_agent,
			char *ret_token, char *ret_csrf, int64_t *ret_expires_us) KURA_WUR;
/* Finds a live session (idle and absolute timeouts checked; an expired one is deleted) for
 * an active account of an active tenant. -ENOENT when there is none. */
int session_lookup(struct db *db, const char *token, struct session *ret) KURA_WUR;
bool session_csrf_ok(const struct session *s, const char *csrf) KURA_WUR;
int session_end(struct db *db, int64_t session_id);
/* Ends every session of the account except keep_id (0 = all). */
int session_end_account(struct db *db, int64_t account_id, int64_t keep_id);
/* A second factor of the account was enrolled, changed or removed, inside the caller's
 * transaction: every other session of the account ends; when method is not NULL (an
 * enrolment) the session keep_id, which just proved that factor, now counts as opened with
 * it, and the app passwords made in password-only sessions are revoked. */
int session_factor_changed_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			      int64_t account_id, int64_t keep_id, const char *method) KURA_WUR;
uint32_t session_idle_seconds(void);
uint32_t session_absolute_seconds(void);
#endif
