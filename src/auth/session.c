/*
 * Sessions: 256-bit random tokens, stored as SHA-256 hashes, with an idle and an absolute
 * timeout, and a CSRF token per session (also stored hashed).
 *
 * SECURITY: the cookie holds the only copy of the token; a database leak gives no usable
 * session. Lookups go by hash (an index probe, not a comparison loop over secrets); the
 * CSRF token is compared in constant time. last_seen is written at most every
 * SESSION_TOUCH_US, or a quarter of the idle timeout when that is shorter, so a busy session
 * does not turn every read into a write and no session ends sooner than 3/4 of a timeout
 * after a request (a request is counted within idle/4 of when it happened).
 *
 * Each session records how it was opened (auth_method: "password" or the second factor);
 * the MFA gate reads it (mfa_gate), and a factor enrolled, changed or removed ends every
 * other session of the account (session_factor_changed_tx), so a session opened with the
 * password alone never gains rights from an enrolment made in another one.
 */
#include <sodium.h>

#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "store/db.h"

#define SESSION_TOUCH_US (15 * 1000000LL)

int session_create(struct db *db, const struct account *a, const char *auth_method,
		   const char *client_ip, const char *user_agent, char *ret_token, char *ret_csrf,
		   int64_t *ret_expires_us)
{
	return session_create_cert(db, a, auth_method, NULL, client_ip, user_agent, ret_token, ret_csrf,
				   ret_expires_us);
}

int session_create_cert(struct db *db, const struct account *a, const char *auth_method,
			const char *client_cert_sha256, const char *client_ip, const char *user_agent,
			char *ret_token, char *ret_csrf, int64_t *ret_expires_us)
{
	char token[TOKEN_STR_LEN + 1], csrf[TOKEN_STR_LEN + 1];
	unsigned char token_h[TOKEN_HASH_BYTES], csrf_h[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), expires = now + (int64_t)session_absolute_seconds() * 1000000;
	int r;

	r = token_new(token, sizeof(token));
	if (r == 0)
		r = token_new(csrf, sizeof(csrf));
	if (r < 0)
		goto out;
	token_hash(token, token_h);
	token_hash(csrf, csrf_h);
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_exec(db, "INSERT INTO sessions (token_hash, csrf_hash, tenant_id, account_id, created_us,"
			" last_seen_us, expires_us, client_ip, user_agent, auth_method, client_cert_sha256)"
			" VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10)",
		    "bbiiiitttt", token_h, sizeof(token_h), csrf_h, sizeof(csrf_h), a->tenant_id, a->id, now,
		    expires, client_ip, user_agent, auth_method,
		    client_cert_sha256 && *client_cert_sha256 ? client_cert_sha256 : NULL);
	/* bound the sessions one account can hold: the oldest beyond the limit end */
	if (r == 0)
		r = db_exec(db, "DELETE FROM sessions WHERE account_id = $1 AND id NOT IN"
				" (SELECT id FROM sessions WHERE account_id = $1 ORDER BY id DESC LIMIT $2)",
			    "ii", a->id, (int64_t)KURA_SESSIONS_PER_ACCOUNT);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		goto out;
	}
	memcpy(ret_token, token, sizeof(token));
	memcpy(ret_csrf, csrf, sizeof(csrf));
	*ret_expires_us = expires;
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(csrf, sizeof(csrf));
	return r;
}

int session_lookup(struct db *db, const char *token, struct session *ret)
{
	unsigned char h[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), idle = (int64_t)session_idle_seconds() * 1000000;
	struct db_stmt *st;
	size_t n;
	const void *csrf;
	struct session s;
	int r;

	if (!token || !token_well_formed(token))
		return -ENOENT;
	token_hash(token, h);
	st = db_query(db, "SELECT s.id, s.created_us, s.last_seen_us, s.expires_us, s.csrf_hash,"
			  " a.id, a.tenant_id, a.login, a.email, a.display_name, a.role, a.status,"
			  " a.must_change_password, a.locked_until_us, COALESCE(a.last_login_us, 0),"
			  " a.created_us, t.code, t.name, t.status, s.auth_method,"
			  " COALESCE(s.client_cert_sha256, ''), t.settings_gen"
			  " FROM sessions s JOIN accounts a ON a.id = s.account_id AND a.tenant_id = s.tenant_id"
			  " JOIN tenants t ON t.id = s.tenant_id WHERE s.token_hash = $1",
		      "b", h, sizeof(h));
	r = db_step(st);
	if (r <= 0) {
		db_done(st);
		return r < 0 ? r : -ENOENT;
	}
	memset(&s, 0, sizeof(s));
	s.id = db_int(st, 0);
	s.created_us = db_int(st, 1);
	s.last_seen_us = db_int(st, 2);
	s.expires_us = db_int(st, 3);
	csrf = db_blob(st, 4, &n);
	if (n == sizeof(s.csrf_hash))
		memcpy(s.csrf_hash, csrf, n);
	s.account.id = db_int(st, 5);
	s.account.tenant_id = db_int(st, 6);
	str_copy(s.account.login, sizeof(s.account.login), db_text(st, 7));
	str_copy(s.account.email, sizeof(s.account.email), db_text(st, 8));
	str_copy(s.account.display_name, sizeof(s.account.display_name), db_text(st, 9));
	str_copy(s.account.role, sizeof(s.account.role), db_text(st, 10));
	str_copy(s.account.status, sizeof(s.account.status), db_text(st, 11));
	s.account.must_change_password = db_int(st, 12) != 0;
	s.account.locked_until_us = db_int(st, 13);
	s.account.last_login_us = db_int(st, 14);
	s.account.created_us = db_int(st, 15);
	str_copy(s.tenant_code, sizeof(s.tenant_code), db_text(st, 16));
	str_copy(s.tenant_name, sizeof(s.tenant_name), db_text(st, 17));
	str_copy(s.auth_method, sizeof(s.auth_method), db_text(st, 19));
	str_copy(s.client_cert_sha256, sizeof(s.client_cert_sha256), db_text(st, 20));
	s.second_factor = strcmp(s.auth_method, "password") != 0;
	s.settings_gen = db_int(st, 21);
	s.settings_gen_read = true;
	r = strcmp(db_text(st, 18), "active") ? -ENOENT : 0;
	db_done(st);
	if (r == 0 && (now >= s.expires_us || now - s.last_seen_us >= idle ||
		       strcmp(s.account.status, "active"))) {
		session_end(db, s.id);
		r = -ENOENT;
	}
	if (r < 0)
		return r;
	if (now - s.last_seen_us >= (idle / 4 < SESSION_TOUCH_US ? idle / 4 : SESSION_TOUCH_US)) {
		r = db_exec(db, "UPDATE sessions SET last_seen_us = $2 WHERE id = $1", "ii", s.id, now);
		if (r < 0)
			return r;
		s.last_seen_us = now;
	}
	*ret = s;
	return 0;
}

bool session_csrf_ok(const struct session *s, const char *csrf)
{
	unsigned char h[TOKEN_HASH_BYTES];

	if (!csrf || !token_well_formed(csrf))
		return false;
	token_hash(csrf, h);
	return sodium_memcmp(h, s->csrf_hash, sizeof(h)) == 0;
}

int session_end(struct db *db, int64_t session_id)
{
	return db_exec(db, "DELETE FROM sessions WHERE id = $1", "i", session_id);
}

int session_end_account(struct db *db, int64_t account_id, int64_t keep_id)
{
	return db_exec(db, "DELETE FROM sessions WHERE account_id = $1 AND id <> $2", "ii", account_id, keep_id);
}

int session_factor_changed_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			      int64_t account_id, int64_t keep_id, const char *method)
{
	int r = session_end_account(db, account_id, keep_id);

	if (r == 0 && method && keep_id)
		r = db_exec(db, "UPDATE sessions SET auth_method = $3 WHERE id = $1 AND account_id = $2",
			    "iit", keep_id, account_id, method);
	if (r == 0 && method)
		r = apppass_revoke_weak_tx(db, who, tenant_id, account_id,
					   "made without a second factor; the account enrolled one");
	return r;
}
