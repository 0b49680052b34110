/*
 * Access controls around authentication (C3, C4, D3): the per-tenant source-IP allowlist
 * and client-address resolution behind trusted proxies (allowlist.c), per-address
 * throttling and per-tenant lockout settings with the lock mail (throttle.c), password
 * reset by mailed single-use token (reset.c), and app passwords for WebDAV and API
 * clients (apppass.c).
 *
 * Like auth.h: every function that touches tenant data takes the tenant id and puts it in
 * every query; mutations run in one transaction with their audit record (and their mail,
 * through the outbox). docs/security.md explains the choices.
 */
#ifndef KURA_AUTH_ACCESS_H
#define KURA_AUTH_ACCESS_H
#include <jansson.h>

#include "core/core.h"
#include "core/limits.h"
#include "crypto/crypto.h"

struct db;
struct actor;
struct session;

/* ---- addresses and CIDR ranges (allowlist.c) ---- */
struct ipnet {
	uint8_t family;             /* 4 or 6 */
	uint8_t prefix;             /* 0-32 or 0-128; 32/128 for a single address */
	unsigned char addr[16];     /* network order; IPv4 in the first 4 bytes */
};

/* Strict CIDR: "A.B.C.D/N" or "IPV6/N" (a bare address means /32 or /128). inet_pton
 * forms only (no zone ids, no leading zeros in IPv4, no spaces), prefix in decimal
 * without leading zeros. Host bits must be zero (refused, not masked) and IPv4-mapped
 * IPv6 ranges are refused: write IPv4 as IPv4. On error ret_detail says why. */
int ipnet_parse(const char *text, struct ipnet *ret, char *ret_detail, size_t detail_size) KURA_WUR;
/* A single address; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4. -EINVAL if not one. */
int ipaddr_parse(const char *text, struct ipnet *ret) KURA_WUR;
/* Canonical text: inet_ntop form + "/" + prefix. size >= KURA_CIDR_TEXT_MAX. */
void ipnet_format(const struct ipnet *net, char *buf, size_t size);
bool ipnet_contains(const struct ipnet *net, const struct ipnet *addr);
/* Comma-separated CIDR list (spaces around commas allowed), e.g. [server] trusted_proxies. */
int ipnet_parse_list(const char *csv, struct ipnet *ret, size_t max, size_t *ret_n,
		     char *err, size_t err_size) KURA_WUR;

/* The client address of a request: the TCP peer, unless the peer is inside trusted;
 * then the right-most address of xff (all X-Forwarded-For values joined by ",", may be
 * NULL) that is not inside trusted. At most KURA_XFF_MAX_HOPS entries are walked; an
 * entry that is not a bare address, or too many hops, gives "" (unknown: no allowlist
 * range matches it). Only trusted hops and no untrusted one: the left-most hop. */
void client_address_resolve(const struct ipnet *trusted, size_t n_trusted, const char *peer,
			    const char *xff, char *ret, size_t size);

/* ---- the tenant's allowlist (allowlist.c) ---- */
struct allowlist {
	size_t n;
	bool apply_to_all;
	struct ipnet ranges[KURA_IP_ALLOWLIST_MAX];
};
int allowlist_get(struct db *db, int64_t tenant_id, struct allowlist *ret) KURA_WUR;
/* Does the list let an account of this role ("manager"/"user") in from address? An empty
 * list lets everyone in; users only when apply_to_all; "" (unknown) is in no range. */
bool allowlist_permits(const struct allowlist *al, const char *role, const char *address) KURA_WUR;
/* allowlist_get + allowlist_permits: 0 allowed, -EACCES refused, <0 errors. */
int allowlist_check(struct db *db, int64_t tenant_id, const char *role, const char *address) KURA_WUR;
/* Login pre-check, before the password is looked at: -EACCES when the tenant exists, its
 * list applies and address is outside it. An unknown login counts as covered, so the
 * answer does not single out managers; see docs/security.md. Sets *ret_tenant_id. */
int allowlist_login_check(struct db *db, const char *tenant_code, const char *login,
			  const char *address, int64_t *ret_tenant_id) KURA_WUR;
/* Replaces the list (ranges already validated). -EPERM when the new list would shut out
 * the caller's address and !confirm_lockout. One transaction with its audit record. */
int allowlist_replace(struct db *db, const struct actor *who, int64_t tenant_id,
		      const struct allowlist *next, const char *caller_address,
		      bool confirm_lockout) KURA_WUR;
json_t *allowlist_json(const struct allowlist *al);

/* ---- per-address throttling (throttle.c; the counts in the database, shared by every node) ---- */
/* Before a credential check from address: sleeps what is left of the delay the address has
 * earned (2^k x KURA_THROTTLE_BASE_MS after KURA_THROTTLE_FREE_FAILURES failures in the
 * window, capped at KURA_THROTTLE_MAX_MS, counted from its last failure) and returns 0;
 * -EBUSY without sleeping when this address already has a delayed request in flight on this
 * node or the process has as many delayed requests as it allows, with the seconds to wait in
 * *ret_retry_after_s (answer 429). IPv6 counts per /64. A delay is logged ("auth.throttle",
 * with request_id and delay_ms) when it begins, so operators and tests see who was held.
 * Outside a transaction (it may sleep). */
int throttle_delay(struct db *db, const char *address, const char *request_id, int64_t *ret_retry_after_s) KURA_WUR;
/* Delayed requests allowed at once on this node: half the worker threads, at most
 * KURA_THROTTLE_MAX_SLEEPERS. */
void throttle_configure(unsigned workers);
/* Counts a refused credential check of address (one upsert; errors are logged). */
void throttle_failure(struct db *db, const char *address);
/* The delay the address has earned after its last failure, in ms (for logs and tests). */
int64_t throttle_peek_ms(struct db *db, const char *address);
/* Deletes the rows whose window has passed at now_us and, beyond KURA_THROTTLE_TABLE rows, the
 * oldest (the pruning job, under the lease "auth.prune"); *ret_n the rows deleted. */
int throttle_prune(struct db *db, int64_t now_us, int64_t *ret_n) KURA_WUR;
/* Forgets every address (tests). */
int throttle_reset_all(struct db *db);

/* ---- per-tenant lockout settings (throttle.c) ---- */
struct lockout_policy {
	uint32_t threshold, window_s, duration_s;
};
/* Fills the tenant's settings over *ret, which holds the deployment defaults on entry. */
int lockout_policy_get(struct db *db, int64_t tenant_id, struct lockout_policy *ret) KURA_WUR;
/* Sets the tenant's values; 0 in a field = back to the default. Validated by the caller
 * against the KURA_LOCKOUT_* bounds (-EINVAL otherwise). One transaction with audit. */
int lockout_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
		       const struct lockout_policy *set, const bool changed[3]) KURA_WUR;
/* Inside the caller's transaction: queues the lock mail to the account and the tenant's
 * active managers (notify_managers: at most KURA_MAIL_MANAGERS_MAX). */
int lockout_notify(struct db *db, int64_t tenant_id, int64_t account_id, const char *address,
		   int64_t locked_until_us) KURA_WUR;

/* ---- password reset (reset.c) ---- */
void reset_configure(const char *public_url);
/* Self-service: always the same outcome for the caller (0) whether or not the account
 * exists; mails a link when it does, is active and is under KURA_RESETS_PER_HOUR. */
int reset_request(struct db *db, const struct actor *who, const char *tenant_code,
		  const char *login) KURA_WUR;
/* Manager-forced: removes the password, ends sessions, revokes app passwords, mails a
 * link. -ENOENT unknown login, -EPERM for oneself or an invited account. */
int reset_force(struct db *db, const struct actor *who, int64_t tenant_id, const char *login) KURA_WUR;
/* A usable reset token's expiry, changing nothing: 0, or -ENOENT unknown, used or expired
 * (token_refusal(db, true, token) tells which). */
int reset_peek(struct db *db, const char *token, int64_t *ret_expires_us) KURA_WUR;
/* Sets the password from a token: -ENOENT unknown, used or expired; -EINVAL weak (token
 * stays usable, *ret_problem says why). Ends every session of the account. */
int reset_complete(struct db *db, const struct actor *who, const char *token,
		   const char *password, enum password_problem *ret_problem) KURA_WUR;

/* ---- app passwords (apppass.c) ---- */
#define APPPASS_PREFIX "kura_ap_"
#define APPPASS_SECRET_LEN (sizeof(APPPASS_PREFIX) - 1 + 43)
/* Creates one; the secret (shown once) goes to ret_secret (>= APPPASS_SECRET_LEN + 1).
 * -E2BIG over KURA_APP_PASSWORDS_PER_ACCOUNT, -EINVAL bad name or scope. */
int apppass_create(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
		   const char *name, const char *scope, bool second_factor, char *ret_secret,
		   size_t secret_size, json_t **ret_json) KURA_WUR;
int apppass_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret) KURA_WUR;
/* -ENOENT when the id is not one of this account's. */
int apppass_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
		   int64_t id) KURA_WUR;
/* Revokes all of an account's app passwords (inside the caller's transaction). */
int apppass_revoke_account(struct db *db, int64_t tenant_id, int64_t account_id) KURA_WUR;
/* Revokes the account's app passwords made in a session opened with the password alone,
 * each recorded (app_password.revoke with the reason), inside the caller's transaction:
 * when the account enrols a second factor or its password changes. */
int apppass_revoke_weak_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			   int64_t account_id, const char *reason) KURA_WUR;
/* HTTP Basic "login@tenant:secret" (decoded user and password): fills *ret like
 * session_lookup (id 0) for an active account of an active tenant, the app password's id
 * and whether it is read-only. Updates last-used at most every KURA_APP_PASSWORD_TOUCH_S
 * or when the address changes. -ENOENT for any wrong part. */
int apppass_authenticate(struct db *db, const char *user, const char *secret, const char *address,
			 struct session *ret, int64_t *ret_id, bool *ret_read_only) KURA_WUR;
/* Parses an Authorization header value "Basic base64(user:secret)" into user and secret.
 * -EINVAL when it is not Basic or malformed. */
int basic_auth_parse(const char *header, char *ret_user, size_t user_size, char *ret_secret,
		     size_t secret_size) KURA_WUR;
#endif
