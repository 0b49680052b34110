/*
 * Accounts of a tenant: invitation, one-time passwords, changes, deletion, unlock, and
 * password authentication with lockout (C1, C2, C3, C4).
 *
 * SECURITY: the login answer never tells which of tenant, login or password was wrong, and
 * every path spends one Argon2id verification, so timing does not tell either. Lock state
 * lives on the account; a locked account answers like a wrong password. Invitation tokens
 * are 256-bit, stored hashed, single use and expiring. Every query names the tenant.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/mfa.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/tenant.h"

static struct {
	uint32_t session_idle_s, session_absolute_s, invitation_ttl_s;
	uint32_t lockout_threshold, lockout_window_s, lockout_duration_s;
	char public_url[CONFIG_STR];
} settings = { KURA_SESSION_IDLE_S, KURA_SESSION_ABSOLUTE_S, KURA_INVITATION_TTL_S,
	       KURA_LOCKOUT_THRESHOLD, KURA_LOCKOUT_WINDOW_S, KURA_LOCKOUT_DURATION_S,
	       "https://localhost:8443" };

void auth_configure(const struct config *cfg)
{
	settings.session_idle_s = cfg->session_idle_s;
	settings.session_absolute_s = cfg->session_absolute_s;
	settings.invitation_ttl_s = cfg->invitation_ttl_s;
	settings.lockout_threshold = cfg->lockout_threshold;
	settings.lockout_window_s = cfg->lockout_window_s;
	settings.lockout_duration_s = cfg->lockout_duration_s;
	str_copy(settings.public_url, sizeof(settings.public_url), cfg->public_url);
	reset_configure(cfg->public_url);   /* access: reset links */
	/* no trailing slash, so links are built as URL + "/invite/…" */
	while (*settings.public_url && settings.public_url[strlen(settings.public_url) - 1] == '/')
		settings.public_url[strlen(settings.public_url) - 1] = '\0';
}

uint32_t session_idle_seconds(void)
{
	return settings.session_idle_s;
}

uint32_t session_absolute_seconds(void)
{
	return settings.session_absolute_s;
}

bool account_login_valid(const char *login)
{
	size_t i, n = strlen(login);

	if (n < KURA_LOGIN_MIN || n > KURA_LOGIN_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = login[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

bool account_display_name_valid(const char *name)
{
	size_t n = strlen(name);

	return utf8_is_clean_text(name, n) && utf8_length(name, n) <= KURA_DISPLAY_NAME_MAX;
}

#define ACCOUNT_COLUMNS                                                                     \
	"id, tenant_id, login, email, display_name, role, status, must_change_password,"    \
	" locked_until_us, COALESCE(last_login_us, 0), created_us"

static void read_account(struct db_stmt *st, struct account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = db_int(st, 0);
	a->tenant_id = db_int(st, 1);
	str_copy(a->login, sizeof(a->login), db_text(st, 2));
	str_copy(a->email, sizeof(a->email), db_text(st, 3));
	str_copy(a->display_name, sizeof(a->display_name), db_text(st, 4));
	str_copy(a->role, sizeof(a->role), db_text(st, 5));
	str_copy(a->status, sizeof(a->status), db_text(st, 6));
	a->must_change_password = db_int(st, 7) != 0;
	a->locked_until_us = db_int(st, 8);
	a->last_login_us = db_int(st, 9);
	a->created_us = db_int(st, 10);
}

/* Steps st once: 0 and *ret for a row, -ENOENT for none. Releases st. */
static int one_account(struct db_stmt *st, struct account *ret)
{
	int r = db_step(st);

	if (r > 0) {
		read_account(st, ret);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int account_get(struct db *db, int64_t tenant_id, const char *login, struct account *ret)
{
	return one_account(db_query(db, "SELECT " ACCOUNT_COLUMNS " FROM accounts"
				    " WHERE tenant_id = $1 AND login = $2", "it", tenant_id, login), ret);
}

int account_get_id(struct db *db, int64_t tenant_id, int64_t id, struct account *ret)
{
	return one_account(db_query(db, "SELECT " ACCOUNT_COLUMNS " FROM accounts"
				    " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id), ret);
}

json_t *account_json(const struct account *a)
{
	char created[CLOCK_RFC3339_LEN], last[CLOCK_RFC3339_LEN];

	clock_format_utc(a->created_us, created, sizeof(created));
	if (a->last_login_us)
		clock_format_utc(a->last_login_us, last, sizeof(last));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:o}", "login", a->login,
			 "email", a->email, "display_name", a->display_name, "role", a->role,
			 "status", a->status, "locked", a->locked_until_us > clock_now_us(),
			 "must_change_password", a->must_change_password, "created_at", created,
			 "last_login_at", a->last_login_us ? json_string(last) : json_null());
}

int account_list(struct db *db, int64_t tenant_id, int64_t limit, int64_t offset, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE tenant_id = $1"
					  " ORDER BY login LIMIT $2 OFFSET $3", "iii", tenant_id, limit, offset);
	json_t *arr = json_array();
	struct account a;
	int r;

	if (!arr) {
		db_done(st);
		return -ENOMEM;
	}
	while ((r = db_step(st)) > 0) {
		read_account(st, &a);
		json_array_append_new(arr, account_json(&a));
	}
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

static int validate_new(const char *login, const char *email, const char *role, const char *display_name)
{
	if (!account_login_valid(login) || !mail_address_valid(email) || role_parse(role) == ROLE_NONE ||
	    (display_name && !account_display_name_valid(display_name)))
		return -EINVAL;
	return 0;
}

static int audit_account(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
			 const char *login, enum audit_result result, json_t *details)
{
	char target[KURA_LOGIN_MAX + 16];
	enum audit_category cat = who && who->type == ACTOR_OPERATOR ? AUDIT_OPERATOR : AUDIT_ADMINISTRATION;

	str_printf(target, sizeof(target), "account:%s", login);
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				    .category = cat, .action = action, .target = target,
				    .result = result, .details = details });
}

static int tenant_account_count(struct db *db, int64_t tenant_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1", "i", tenant_id);
	int r = db_step(st);

	if (r > 0) {
		*ret = db_int(st, 0);
		r = 0;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

int account_invite(struct db *db, const struct actor *who, const struct tenant *t, const char *login,
		   const char *email, const char *role, const char *display_name, struct account *ret,
		   char *ret_url, size_t url_size)
{
	char token[TOKEN_STR_LEN + 1], url[CONFIG_STR + 64], expires[CLOCK_RFC3339_LEN];
	unsigned char hash[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), expires_us, id, count = 0;
	json_t *details = NULL;
	char *subject = NULL, *body = NULL;
	int r;

	r = validate_new(login, email, role, display_name);
	if (r < 0)
		return r;
	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	token_hash(token, hash);
	expires_us = now + (int64_t)settings.invitation_ttl_s * 1000000;
	clock_format_utc(expires_us, expires, sizeof(expires));
	r = str_printf(url, sizeof(url), "%s/invite/%s", settings.public_url, token);
	if (r < 0)
		goto out;

	r = db_begin(db);
	if (r < 0)
		goto out;
	r = tenant_account_count(db, t->id, &count);
	if (r == 0 && count >= KURA_ACCOUNTS_PER_TENANT)
		r = -E2BIG;
	if (r < 0)
		goto out;
	r = db_exec(db, "INSERT INTO accounts (tenant_id, login, email, display_name, role, status,"
			" created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 'invited', $6, $6)",
		    "itttti", t->id, login, email, display_name ? display_name : "", role, now);
	if (r < 0)
		goto out;
	id = db_last_id(db);
	r = db_exec(db, "INSERT INTO invitations (token_hash, tenant_id, account_id, created_us, expires_us)"
			" VALUES ($1, $2, $3, $4, $5)", "biiii", hash, sizeof(hash), t->id, id, now, expires_us);
	if (r < 0)
		goto out;
	if (asprintf(&subject, "[kura] %s への招待 / Invitation to %s", t->name, t->name) < 0 ||
	    asprintf(&body,
		     "%s 様\n\n"
		     "kura のテナント「%s」(%s) に %s として招待されました。\n"
		     "次のリンクからパスワードを設定してください (有効期限 %s UTC、1 回のみ有効):\n\n"
		     "%s\n\n"
		     "ログイン ID: %s\n\n"
		     "心当たりがない場合は、このメールを破棄してください。\n\n"
		     "----\n"
		     "You have been invited to the kura tenant \"%s\" (%s) as %s.\n"
		     "Set your password with this link (valid once, until %s UTC):\n\n"
		     "%s\n\n"
		     "Login ID: %s\n\n"
		     "If you did not expect this, ignore this mail.\n",
		     display_name && *display_name ? display_name : login, t->name, t->code, role,
		     expires, url, login, t->name, t->code, role, expires, url, login) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = outbox_enqueue(db, t->id, email, subject, body, NULL);
	if (r < 0)
		goto out;
	details = json_pack("{s:s, s:s}", "role", role, "email", email);
	r = audit_account(db, who, t->id, "account.invite", login, AUDIT_SUCCESS, details);
	if (r < 0)
		goto out;
	r = db_commit(db);
	if (r < 0)
		goto out;
	if (ret)
		r = account_get_id(db, t->id, id, ret);
	if (r == 0 && ret_url)
		str_copy(ret_url, url_size, url);
out:
	if (r < 0)
		db_rollback(db);
	sodium_memzero(token, sizeof(token));
	sodium_memzero(url, sizeof(url));
	if (body)
		sodium_memzero(body, strlen(body));
	free(body);
	free(subject);
	json_decref(details);
	return r;
}

int account_create_with_password(struct db *db, const struct actor *who, const struct tenant *t,
				 const char *login, const char *email, const char *role,
				 char *ret_password, size_t pw_size)
{
	/* 20 characters from an alphabet without look-alikes: ~115 bits */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char password[21], hash[PWHASH_STR_BYTES];
	int64_t now = clock_now_us(), count = 0;
	size_t i;
	int r;

	r = validate_new(login, email, role, NULL);
	if (r < 0 || pw_size < sizeof(password))
		return -EINVAL;
	for (i = 0; i < sizeof(password) - 1; i++)
		password[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	password[sizeof(password) - 1] = '\0';
	r = pwhash_hash(password, hash);
	if (r < 0)
		goto out;
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = tenant_account_count(db, t->id, &count);
	if (r == 0 && count >= KURA_ACCOUNTS_PER_TENANT)
		r = -E2BIG;
	if (r == 0)
		r = db_exec(db, "INSERT INTO accounts (tenant_id, login, email, role, status, password_hash,"
			" must_change_password, created_us, updated_us)"
			" VALUES ($1, $2, $3, $4, 'active', $5, 1, $6, $6)",
		    "itttti", t->id, login, email, role, hash, now);
	if (r == 0)
		r = audit_account(db, who, t->id, "account.create", login, AUDIT_SUCCESS,
				  NULL);
	if (r == 0)
		r = db_commit(db);
	if (r == 0)
		str_copy(ret_password, pw_size, password);
out:
	if (r < 0)
		db_rollback(db);
	sodium_memzero(password, sizeof(password));
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int account_active_managers(struct db *db, int64_t tenant_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1"
					  " AND role = 'manager' AND status = 'active'", "i", tenant_id);
	int r = db_step(st);

	if (r > 0) {
		*ret = db_int(st, 0);
		r = 0;
	}
	db_done(st);
	return r;
}

/* Would this change leave the tenant without an active manager, or act on oneself? */
static int check_keeps_manager(struct db *db, const struct actor *who, const struct account *a,
			       bool removes_manager)
{
	int64_t n = 0;
	int r;

	if (who && who->type == ACTOR_ACCOUNT && who->account_id == a->id)
		return -EPERM;
	if (!removes_manager || strcmp(a->role, "manager") || strcmp(a->status, "active"))
		return 0;
	r = account_active_managers(db, a->tenant_id, &n);
	if (r < 0)
		return r;
	return n <= 1 ? -EPERM : 0;
}

int account_update(struct db *db, const struct actor *who, int64_t tenant_id, const char *login,
		   const struct account_change *c, struct account *ret)
{
	struct account a;
	json_t *details = NULL;
	bool suspend, demote;
	int r;

	if ((c->status && strcmp(c->status, "active") && strcmp(c->status, "suspended")) ||
	    (c->role && role_parse(c->role) == ROLE_NONE) ||
	    (c->display_name && !account_display_name_valid(c->display_name)) ||
	    (c->email && !mail_address_valid(c->email)))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = account_get(db, tenant_id, login, &a);
	if (r < 0)
		goto out;
	suspend = c->status && !strcmp(c->status, "suspended") && strcmp(a.status, "suspended");
	demote = c->role && !strcmp(c->role, "user") && !strcmp(a.role, "manager");
	if (c->status && !strcmp(c->status, "active") && !strcmp(a.status, "invited")) {
		r = -EPERM;  /* an invited account becomes active by accepting the invitation */
		goto out;
	}
	if (suspend || demote) {
		r = check_keeps_manager(db, who, &a, true);
		if (r < 0)
			goto out;
	}
	r = db_exec(db, "UPDATE accounts SET status = COALESCE($3, status), role = COALESCE($4, role),"
			" display_name = COALESCE($5, display_name), email = COALESCE($6, email),"
			" updated_us = $7 WHERE tenant_id = $1 AND id = $2",
		    "iitttti", tenant_id, a.id, c->status, c->role, c->display_name, c->email, clock_now_us());
	if (r < 0)
		goto out;
	if (suspend) {
		r = session_end_account(db, a.id, 0);
		if (r < 0)
			goto out;
	}
	details = json_object();
	if (c->status)
		json_object_set_new(details, "status", json_string(c->status));
	if (c->role)
		json_object_set_new(details, "role", json_string(c->role));
	if (c->display_name)
		json_object_set_new(details, "display_name", json_string(c->display_name));
	if (c->email)
		json_object_set_new(details, "email", json_string(c->email));
	r = audit_account(db, who, tenant_id,
			  suspend ? "account.suspend"
			  : c->status && !strcmp(c->status, "active") && strcmp(a.status, "active")
				  ? "account.resume"
				  : "account.update",
			  login, AUDIT_SUCCESS, details);
	if (r < 0)
		goto out;
	r = db_commit(db);
	if (r == 0 && ret)
		r = account_get_id(db, tenant_id, a.id, ret);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

int account_delete(struct db *db, const struct actor *who, int64_t tenant_id, const char *login)
{
	struct account a;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = account_get(db, tenant_id, login, &a);
	if (r == 0)
		r = check_keeps_manager(db, who, &a, true);
	/* sessions and invitations go with the account (ON DELETE CASCADE) */
	if (r == 0)
		r = db_exec(db, "DELETE FROM accounts WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, a.id);
	if (r == 0)
		r = audit_account(db, who, tenant_id, "account.delete", login, AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int account_unlock(struct db *db, const struct actor *who, int64_t tenant_id, const char *login)
{
	struct account a;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = account_get(db, tenant_id, login, &a);
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
				" locked_until_us = 0, updated_us = $3 WHERE tenant_id = $1 AND id = $2",
			    "iii", tenant_id, a.id, clock_now_us());
	if (r == 0)
		r = audit_account(db, who, tenant_id, "account.unlock", login, AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

static int audit_login_method(struct db *db, const struct actor *who, int64_t tenant_id,
			      const char *login, const char *action, enum audit_result result,
			      const char *reason, const char *method)
{
	char target[KURA_LOGIN_MAX + 16];
	json_t *details = NULL;
	int r;

	if (reason || method) {
		details = json_object();
		if (reason)
			json_object_set_new(details, "reason", json_string(reason));
		if (method)
			json_object_set_new(details, "method", json_string(method));
	}
	str_printf(target, sizeof(target), "account:%s", login);
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				 .category = AUDIT_AUTHENTICATION, .action = action,
				 .target = target, .result = result, .details = details });
	json_decref(details);
	return r;
}

static int audit_login(struct db *db, const struct actor *who, int64_t tenant_id, const char *login,
		       enum audit_result result, const char *reason)
{
	return audit_login_method(db, who, tenant_id, login, "session.create", result, reason, NULL);
}

/* Records a refused login; on a wrong password also counts the failure and may lock. */
static int login_failed(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
			const char *login, const char *reason, bool count)
{
	int64_t now = clock_now_us(), window;
	/* access: the tenant's lockout settings over the kura.conf defaults */
	struct lockout_policy pol = { settings.lockout_threshold, settings.lockout_window_s,
				      settings.lockout_duration_s };
	struct db_stmt *st;
	int64_t n = 0, start = 0;
	bool locks = false;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = lockout_policy_get(db, tenant_id, &pol);
	window = (int64_t)pol.window_s * 1000000;
	if (r == 0 && count && account_id) {
		st = db_query(db, "SELECT failed_count, failed_window_start_us FROM accounts"
				  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
		if (db_step(st) > 0) {
			n = db_int(st, 0);
			start = db_int(st, 1);
		}
		db_done(st);
		if (now - start > window) {
			n = 0;
			start = now;
		}
		n++;
		locks = n >= pol.threshold;
		r = db_exec(db, "UPDATE accounts SET failed_count = $3, failed_window_start_us = $4,"
				" locked_until_us = $5 WHERE tenant_id = $1 AND id = $2",
			    "iiiii", tenant_id, account_id, locks ? (int64_t)0 : n, locks ? (int64_t)0 : start,
			    locks ? now + (int64_t)pol.duration_s * 1000000 : (int64_t)0);
		/* access: the account and the tenant's managers are told, with the lock */
		if (r == 0 && locks)
			r = lockout_notify(db, tenant_id, account_id, who ? who->source_ip : "",
					   now + (int64_t)pol.duration_s * 1000000);
	}
	if (r == 0)
		r = audit_login(db, who, tenant_id, login, AUDIT_FAILURE, reason);
	if (r == 0 && locks) {
		char target[KURA_LOGIN_MAX + 16];

		str_printf(target, sizeof(target), "account:%s", login);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = &actor_system,
					 .category = AUDIT_AUTHENTICATION, .action = "account.lock",
					 .target = target, .result = AUDIT_SUCCESS });
		log_warn("auth.lock", "account locked after %lld failures", (long long)n);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int account_authenticate(struct db *db, const struct actor *who, const char *tenant_code,
			 const char *login, const char *password, struct tenant *ret_tenant,
			 struct account *ret)
{
	char hash[PWHASH_STR_BYTES] = "";
	struct tenant t;
	struct account a;
	struct db_stmt *st;
	const char *reason = NULL;
	int r, v;

	if (tenant_find(db, tenant_code, &t) < 0 || strcmp(t.status, "active")) {
		pwhash_verify_dummy(password);
		r = audit_login(db, who, 0, login, AUDIT_FAILURE, "unknown tenant");
		return r < 0 ? r : -EACCES;
	}
	st = db_query(db, "SELECT " ACCOUNT_COLUMNS ", COALESCE(password_hash, '') FROM accounts"
			  " WHERE tenant_id = $1 AND login = $2", "it", t.id, login);
	r = db_step(st);
	if (r > 0) {
		read_account(st, &a);
		str_copy(hash, sizeof(hash), db_text(st, 11));
	}
	db_done(st);
	if (r < 0)
		return r;
	if (r == 0) {
		pwhash_verify_dummy(password);
		r = login_failed(db, who, t.id, 0, login, "unknown login", false);
		return r < 0 ? r : -EACCES;
	}
	if (!*hash) {
		pwhash_verify_dummy(password);
		reason = "no password set";
	} else {
		v = pwhash_verify(hash, password);
		if (v == -EACCES)
			reason = "wrong password";
		else if (v < 0)
			return v;
	}
	if (!reason && a.locked_until_us > clock_now_us())
		reason = "locked";
	if (!reason && strcmp(a.status, "active"))
		reason = !strcmp(a.status, "suspended") ? "suspended" : "invitation not accepted";
	sodium_memzero(hash, sizeof(hash));
	if (reason) {
		/* failures count only while the account is not locked, so a lock is not extended */
		r = login_failed(db, who, t.id, a.id, login, reason,
				 !strcmp(reason, "wrong password") && a.locked_until_us <= clock_now_us());
		return r < 0 ? r : -EACCES;
	}
	/* MFA: the password alone neither completes the login nor resets the failure counter */
	{
		struct mfa_state ms;

		r = mfa_state_get(db, t.id, a.id, &ms);
		if (r < 0)
			return r;
		if (mfa_state_enrolled(&ms)) {
			r = audit_login_method(db, who, t.id, login, "session.password", AUDIT_SUCCESS,
					       NULL, "password");
			if (r < 0)
				return r;
			*ret_tenant = t;
			*ret = a;
			return -EAGAIN;
		}
	}
	r = db_begin(db);
	if (r < 0)
		return r;
	/* only while still unlocked: failures counted by concurrent requests since the check
	 * above may have locked the account, and a success must not lift that lock */
	r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
			" locked_until_us = 0, last_login_us = $3 WHERE tenant_id = $1 AND id = $2"
			" AND locked_until_us <= $3",
		    "iii", t.id, a.id, clock_now_us());
	if (r == 0 && db_changes(db) != 1) {
		db_rollback(db);
		r = login_failed(db, who, t.id, a.id, login, "locked", false);
		return r < 0 ? r : -EACCES;
	}
	if (r == 0)
		r = audit_login(db, who, t.id, login, AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	*ret_tenant = t;
	*ret = a;
	return 0;
}

int account_second_factor_failed(struct db *db, const struct actor *who, int64_t tenant_id,
				 int64_t account_id, const char *login, const char *method,
				 const char *reason)
{
	struct account a;
	char why[96];
	int r = account_get_id(db, tenant_id, account_id, &a);

	if (r < 0)
		return r;
	str_printf(why, sizeof(why), "second factor %s: %s", method, reason);
	return login_failed(db, who, tenant_id, account_id, login, why, a.locked_until_us <= clock_now_us());
}

int account_login_record_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *login, const char *method)
{
	/* only while still unlocked (see account_authenticate): -EACCES makes the caller roll back */
	int r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
			    " locked_until_us = 0, last_login_us = $3 WHERE tenant_id = $1 AND id = $2"
			    " AND locked_until_us <= $3",
			"iii", tenant_id, account_id, clock_now_us());

	if (r == 0 && db_changes(db) != 1)
		r = -EACCES;
	if (r == 0)
		r = audit_login_method(db, who, tenant_id, login, "session.create", AUDIT_SUCCESS, NULL,
				       method);
	return r;
}

int account_verify_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *password)
{
	char hash[PWHASH_STR_BYTES] = "";
	struct account a;
	struct db_stmt *st;
	int r;

	st = db_query(db, "SELECT " ACCOUNT_COLUMNS ", COALESCE(password_hash, '') FROM accounts"
			  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0) {
		read_account(st, &a);
		str_copy(hash, sizeof(hash), db_text(st, 11));
	}
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	if (*hash)
		r = pwhash_verify(hash, password);
	else {
		pwhash_verify_dummy(password);
		r = -EACCES;
	}
	sodium_memzero(hash, sizeof(hash));
	if (r == -EACCES) {
		r = login_failed(db, who, tenant_id, a.id, a.login, "wrong password (re-authentication)",
				 a.locked_until_us <= clock_now_us());
		return r < 0 ? r : -EACCES;
	}
	/* a locked account re-authenticates no better than it logs in: otherwise a session
	 * could go on guessing the password past the lockout */
	if (r == 0 && a.locked_until_us > clock_now_us()) {
		r = login_failed(db, who, tenant_id, a.id, a.login, "locked (re-authentication)", false);
		return r < 0 ? r : -EACCES;
	}
	return r;
}

int account_change_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *current, const char *new_password,
			    int64_t keep_session_id, enum password_problem *ret_problem)
{
	char hash[PWHASH_STR_BYTES] = "", new_hash[PWHASH_STR_BYTES];
	struct account a;
	struct db_stmt *st;
	const char *reason = NULL;
	bool locked;
	int r;

	*ret_problem = PASSWORD_OK;
	st = db_query(db, "SELECT " ACCOUNT_COLUMNS ", COALESCE(password_hash, '') FROM accounts"
			  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0) {
		read_account(st, &a);
		str_copy(hash, sizeof(hash), db_text(st, 11));
	}
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = *hash ? pwhash_verify(hash, current) : -EACCES;
	sodium_memzero(hash, sizeof(hash));
	/* as at login: a locked account answers like a wrong password, and failures count only
	 * while it is not locked (counting would reset locked_until_us and lift the lock) */
	locked = a.locked_until_us > clock_now_us();
	if (r == -EACCES)
		reason = "wrong current password";
	else if (r == 0 && locked)
		reason = "locked";
	if (reason) {
		r = login_failed(db, who, tenant_id, a.id, a.login, reason, !locked);
		return r < 0 ? r : -EACCES;
	}
	if (r < 0)
		return r;
	*ret_problem = password_check(new_password, a.login);
	if (*ret_problem != PASSWORD_OK)
		return -EINVAL;
	r = pwhash_hash(new_password, new_hash);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET password_hash = $3, must_change_password = 0,"
				" updated_us = $4 WHERE tenant_id = $1 AND id = $2",
			    "iiti", tenant_id, a.id, new_hash, clock_now_us());
	if (r == 0)
		r = session_end_account(db, a.id, keep_session_id);
	if (r == 0) {
		char target[KURA_LOGIN_MAX + 16];

		str_printf(target, sizeof(target), "account:%s", a.login);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
					 .category = AUDIT_AUTHENTICATION, .action = "password.change",
					 .target = target, .result = AUDIT_SUCCESS });
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	sodium_memzero(new_hash, sizeof(new_hash));
	return r;
}

/* Finds a usable invitation: not used, not expired. Columns: id, tenant_id, account_id. */
static int invitation_find(struct db *db, const char *token, int64_t *ret_id, int64_t *ret_tenant,
			   int64_t *ret_account, int64_t *ret_expires)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	struct db_stmt *st;
	int r;

	if (!token_well_formed(token))
		return -ENOENT;
	token_hash(token, hash);
	st = db_query(db, "SELECT id, tenant_id, account_id, expires_us FROM invitations"
			  " WHERE token_hash = $1 AND used_us IS NULL AND expires_us > $2",
		      "bi", hash, sizeof(hash), clock_now_us());
	r = db_step(st);
	if (r > 0) {
		*ret_id = db_int(st, 0);
		*ret_tenant = db_int(st, 1);
		*ret_account = db_int(st, 2);
		*ret_expires = db_int(st, 3);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int invitation_peek(struct db *db, const char *token, char *ret_tenant, size_t tenant_size,
		    char *ret_login, size_t login_size, int64_t *ret_expires_us)
{
	int64_t id, tenant_id, account_id, expires;
	struct tenant t;
	struct account a;
	int r;

	r = invitation_find(db, token, &id, &tenant_id, &account_id, &expires);
	if (r == 0)
		r = tenant_get(db, tenant_id, &t);
	if (r == 0)
		r = account_get_id(db, tenant_id, account_id, &a);
	if (r < 0)
		return r;
	str_copy(ret_tenant, tenant_size, t.code);
	str_copy(ret_login, login_size, a.login);
	*ret_expires_us = expires;
	return 0;
}

int invitation_accept(struct db *db, const struct actor *who, const char *token, const char *password,
		      enum password_problem *ret_problem)
{
	char hash[PWHASH_STR_BYTES];
	int64_t id, tenant_id, account_id, expires, now;
	struct account a;
	int r;

	*ret_problem = PASSWORD_OK;
	r = invitation_find(db, token, &id, &tenant_id, &account_id, &expires);
	if (r == 0)
		r = account_get_id(db, tenant_id, account_id, &a);
	if (r < 0)
		return r;
	*ret_problem = password_check(password, a.login);
	if (*ret_problem != PASSWORD_OK)
		return -EINVAL;
	r = pwhash_hash(password, hash);
	if (r < 0)
		return r;
	now = clock_now_us();
	r = db_begin(db);
	if (r < 0)
		goto out;
	/* claim the token; a concurrent accept of the same token finds it used */
	r = db_exec(db, "UPDATE invitations SET used_us = $2 WHERE id = $1 AND used_us IS NULL"
			" AND expires_us > $2", "ii", id, now);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET password_hash = $3, must_change_password = 0,"
				" status = CASE status WHEN 'invited' THEN 'active' ELSE status END,"
				" updated_us = $4 WHERE tenant_id = $1 AND id = $2",
			    "iiti", tenant_id, account_id, hash, now);
	/* any other open invitation of this account is spent too */
	if (r == 0)
		r = db_exec(db, "UPDATE invitations SET used_us = $2 WHERE account_id = $1 AND used_us IS NULL",
			    "ii", account_id, now);
	if (r == 0) {
		char target[KURA_LOGIN_MAX + 16];

		str_printf(target, sizeof(target), "account:%s", a.login);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
					 .category = AUDIT_AUTHENTICATION, .action = "invitation.accept",
					 .target = target, .result = AUDIT_SUCCESS });
	}
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	sodium_memzero(hash, sizeof(hash));
	return r;
}
