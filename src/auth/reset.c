/*
 * Password reset (C4): self-service by mailed link, and manager-forced reset.
 *
 * A reset token is 256 random bits (token_new), mailed as PUBLIC_URL/reset/<token>, stored
 * only as its SHA-256, valid KURA_RESET_TTL_S, single use; a new request spends the
 * account's older unused tokens. Setting a password through a token ends every session of
 * the account, clears its failure count and lock (the mailbox owner proved control), and
 * spends the token in the same transaction, with the audit record.
 *
 * SECURITY: the self-service request never tells whether the tenant or login exists: the
 * caller always gets the same answer, and both paths run the same queries in one
 * transaction with an audit record; only the token insert and the mail differ. Requests
 * are limited to KURA_RESETS_PER_HOUR per account so the form cannot be used to flood a
 * mailbox. A weak password is refused before the token is claimed, so it stays usable. A
 * manager-forced reset removes the password at once (the old one stops working), ends the
 * sessions and revokes the account's app passwords, since a forced reset usually means the
 * credentials are suspected.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "notify/mail.h"
#include "store/db.h"
#include "tenant/tenant.h"

static char public_url[CONFIG_STR] = "https://localhost:8443";

void reset_configure(const char *url)
{
	size_t n;

	str_copy(public_url, sizeof(public_url), url);
	n = strlen(public_url);
	while (n > 0 && public_url[n - 1] == '/')
		public_url[--n] = '\0';
}

static int audit_reset(struct db *db, const struct actor *who, int64_t tenant_id,
		       enum audit_category cat, const char *action, const char *login,
		       enum audit_result result, const char *reason)
{
	char target[KURA_LOGIN_MAX * 4 + 16];
	json_t *details = reason ? json_pack("{s:s}", "reason", reason) : NULL;
	int r;

	str_printf(target, sizeof(target), "account:%.256s", login);
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who, .category = cat,
				 .action = action, .target = target, .result = result,
				 .details = details });
	json_decref(details);
	return r;
}

/* Stores a new token for the account (spending older ones) and queues its mail
 * (mail/password-reset.*.txt). */
static int issue(struct db *db, const struct tenant *t, const struct account *a, bool forced,
		 const char *token, int64_t now)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char url[CONFIG_STR + 64];
	int64_t expires = now + (int64_t)KURA_RESET_TTL_S * 1000000;
	const struct mail_var vars[] = {
		MAIL_FLAG("forced", forced),
		MAIL_TEXT("tenant_name", t->name),
		MAIL_TEXT("tenant_code", t->code),
		MAIL_TEXT("login", a->login),
		MAIL_TIME("expires_at", expires),
		MAIL_TEXT("url", url),
	};
	const struct mail m = { .name = "password-reset", .zone = t->zone, .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	int r;

	token_hash(token, hash);
	r = str_printf(url, sizeof(url), "%s/reset/%s", public_url, token);
	if (r == 0)
		r = db_exec(db, "INSERT INTO password_resets (token_hash, tenant_id, account_id, created_us,"
				" expires_us) VALUES ($1, $2, $3, $4, $5)",
			    "biiii", hash, sizeof(hash), t->id, a->id, now, expires);
	if (r == 0)
		r = mail_queue(db, t->id, a->email, &m, NULL);
	sodium_memzero(url, sizeof(url));
	return r;
}

int reset_request(struct db *db, const struct actor *who, const char *tenant_code, const char *login)
{
	char token[TOKEN_STR_LEN + 1];
	struct tenant t = { 0 };
	struct account a = { 0 };
	struct db_stmt *st;
	const char *reason = NULL;
	int64_t now = clock_now_us(), recent = 0;
	int r;

	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	if (tenant_find(db, tenant_code, &t) < 0 || strcmp(t.status, "active")) {
		t.id = 0;
		reason = "unknown tenant";
	} else if (account_get(db, t.id, login, &a) < 0) {
		a.id = 0;
		reason = "unknown login";
	} else if (strcmp(a.status, "active")) {
		reason = "account not active";
	}
	r = db_begin(db);
	if (r < 0)
		goto out;
	/* the hourly count is read in the transaction that issues, under the tenant's lock, so
	 * parallel requests cannot each see room and mail more than KURA_RESETS_PER_HOUR; the
	 * same queries run whether or not the account exists (id 0 matches nothing) */
	r = t.id ? db_lock_tenant(db, t.id) : 0;
	if (r == 0) {
		st = db_query(db, "SELECT COUNT(*) FROM password_resets WHERE account_id = $1 AND created_us > $2",
			      "ii", a.id, now - 3600LL * 1000000);
		r = db_step(st);
		if (r > 0)
			recent = db_int(st, 0);
		db_done(st);
		r = r < 0 ? r : 0;
	}
	if (r == 0 && !reason && recent >= KURA_RESETS_PER_HOUR)
		reason = "too many requests";
	if (r == 0)
		r = db_exec(db, "UPDATE password_resets SET used_us = $2 WHERE account_id = $1 AND used_us IS NULL",
		    "ii", reason ? (int64_t)0 : a.id, now);
	if (r == 0 && !reason)
		r = issue(db, &t, &a, false, token, now);
	if (r == 0)
		r = audit_reset(db, who, t.id, AUDIT_AUTHENTICATION, "password.reset.request", login,
				reason ? AUDIT_FAILURE : AUDIT_SUCCESS, reason);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
out:
	sodium_memzero(token, sizeof(token));
	return r;
}

int reset_force(struct db *db, const struct actor *who, int64_t tenant_id, const char *login)
{
	char token[TOKEN_STR_LEN + 1];
	struct tenant t;
	struct account a;
	int64_t now = clock_now_us();
	int r;

	r = account_get(db, tenant_id, login, &a);
	if (r < 0)
		return r;
	if ((who && who->type == ACTOR_ACCOUNT && who->account_id == a.id) || !strcmp(a.status, "invited"))
		return -EPERM;
	r = tenant_get(db, tenant_id, &t);
	if (r == 0)
		r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_exec(db, "UPDATE accounts SET password_hash = NULL, must_change_password = 0, updated_us = $3"
			" WHERE tenant_id = $1 AND id = $2", "iii", tenant_id, a.id, now);
	if (r == 0)
		r = session_end_account(db, a.id, 0);
	if (r == 0)
		r = apppass_revoke_account(db, tenant_id, a.id);
	if (r == 0)
		r = db_exec(db, "UPDATE password_resets SET used_us = $2 WHERE account_id = $1 AND used_us IS NULL",
			    "ii", a.id, now);
	if (r == 0)
		r = issue(db, &t, &a, true, token, now);
	if (r == 0)
		r = audit_reset(db, who, tenant_id, AUDIT_ADMINISTRATION, "password.reset.force", login,
				AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
out:
	sodium_memzero(token, sizeof(token));
	return r;
}

int reset_peek(struct db *db, const char *token, int64_t *ret_expires_us)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	struct db_stmt *st;
	int r;

	if (!token_well_formed(token))
		return -ENOENT;
	token_hash(token, hash);
	st = db_query(db, "SELECT expires_us FROM password_resets WHERE token_hash = $1"
			  " AND used_us IS NULL AND expires_us > $2", "bi", hash, sizeof(hash), clock_now_us());
	r = db_step(st);
	if (r > 0)
		*ret_expires_us = db_int(st, 0);
	db_done(st);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int reset_complete(struct db *db, const struct actor *who, const char *token, const char *password,
		   enum password_problem *ret_problem)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char pwhash[PWHASH_STR_BYTES];
	int64_t now = clock_now_us(), id = 0, tenant_id = 0, account_id = 0;
	struct account a;
	struct db_stmt *st;
	int r;

	*ret_problem = PASSWORD_OK;
	if (!token_well_formed(token))
		return -ENOENT;
	token_hash(token, hash);
	st = db_query(db, "SELECT id, tenant_id, account_id FROM password_resets WHERE token_hash = $1"
			  " AND used_us IS NULL AND expires_us > $2", "bi", hash, sizeof(hash), now);
	r = db_step(st);
	if (r > 0) {
		id = db_int(st, 0);
		tenant_id = db_int(st, 1);
		account_id = db_int(st, 2);
	}
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = account_get_id(db, tenant_id, account_id, &a);
	if (r < 0)
		return r;
	*ret_problem = password_check(password, a.login);
	if (*ret_problem != PASSWORD_OK)
		return -EINVAL;   /* the token is not claimed: it stays usable */
	r = pwhash_hash(password, pwhash);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_lock_tenant(db, tenant_id);   /* the lockout counters are cleared below */
	/* claim the token; a concurrent use of the same token finds it spent */
	if (r == 0)
		r = db_exec(db, "UPDATE password_resets SET used_us = $2 WHERE id = $1 AND used_us IS NULL"
				" AND expires_us > $2", "ii", id, now);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET password_hash = $3, must_change_password = 0,"
				" failed_count = 0, failed_window_start_us = 0, locked_until_us = 0,"
				" updated_us = $4 WHERE tenant_id = $1 AND id = $2",
			    "iiti", tenant_id, account_id, pwhash, now);
	if (r == 0)
		r = db_exec(db, "UPDATE password_resets SET used_us = $2 WHERE account_id = $1 AND used_us IS NULL",
			    "ii", account_id, now);
	if (r == 0)
		r = session_end_account(db, account_id, 0);
	if (r == 0)
		r = apppass_revoke_weak_tx(db, who, tenant_id, account_id,
					   "made without a second factor; the password was reset");
	if (r == 0)
		r = audit_reset(db, who, tenant_id, AUDIT_AUTHENTICATION, "password.reset", a.login,
				AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
out:
	sodium_memzero(pwhash, sizeof(pwhash));
	return r;
}
