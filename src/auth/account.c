/*
 * Accounts of a tenant: invitation, one-time passwords, changes, deletion, unlock, and
 * password authentication with lockout (C1, C2, C3, C4).
 *
 * SECURITY: the login answer never tells which of tenant, login or password was wrong, and
 * every path spends one Argon2id verification, so timing does not tell either. Lock state
 * lives on the account; a locked account answers like a wrong password, and each attempt
 * is counted atomically before its secret is checked (see "lockout" below). Invitation tokens
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
#include "notify/mail.h"
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

/* A db_row_fn: ACCOUNT_COLUMNS into a struct account. */
static void read_account(struct db_stmt *st, void *row)
{
	struct account *a = row;

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

int account_get(struct db *db, int64_t tenant_id, const char *login, struct account *ret)
{
	return db_one(db_query(db, "SELECT " ACCOUNT_COLUMNS " FROM accounts"
			       " WHERE tenant_id = $1 AND login = $2", "it", tenant_id, login), read_account, ret);
}

int account_get_id(struct db *db, int64_t tenant_id, int64_t id, struct account *ret)
{
	return db_one(db_query(db, "SELECT " ACCOUNT_COLUMNS " FROM accounts"
			       " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id), read_account, ret);
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

/* The columns of the managers' view after ACCOUNT_COLUMNS: the last sign-in's address, the
 * lock's end, and which second factors the account has (counts only, never a secret). */
#define ACCOUNT_DETAIL_COLUMNS                                                               \
	ACCOUNT_COLUMNS ", last_login_ip,"                                                       \
	" (SELECT COUNT(*) FROM mfa_totp m WHERE m.tenant_id = accounts.tenant_id"             \
	"   AND m.account_id = accounts.id AND m.confirmed_us IS NOT NULL),"                    \
	" (SELECT COUNT(*) FROM webauthn_credentials w WHERE w.tenant_id = accounts.tenant_id" \
	"   AND w.account_id = accounts.id),"                                                   \
	" (SELECT COUNT(*) FROM mfa_recovery_codes c WHERE c.tenant_id = accounts.tenant_id"   \
	"   AND c.account_id = accounts.id AND c.used_us IS NULL)"

/* One row of ACCOUNT_DETAIL_COLUMNS as account_json() plus last_login_ip, locked_until and
 * mfa {enrolled, totp, security_keys, recovery_codes_remaining}. */
static json_t *account_detail_json(struct db_stmt *st)
{
	char until[CLOCK_RFC3339_LEN];
	struct account a;
	json_t *obj;
	bool totp;
	int64_t keys;

	read_account(st, &a);
	obj = account_json(&a);
	if (!obj)
		return NULL;
	totp = db_int(st, 12) > 0;
	keys = db_int(st, 13);
	json_object_set_new(obj, "last_login_ip", json_string(db_text(st, 11)));
	if (a.locked_until_us > clock_now_us()) {
		clock_format_utc(a.locked_until_us, until, sizeof(until));
		json_object_set_new(obj, "locked_until", json_string(until));
	} else {
		json_object_set_new(obj, "locked_until", json_null());
	}
	json_object_set_new(obj, "mfa", json_pack("{s:b, s:b, s:I, s:I}", "enrolled", totp || keys > 0,
						  "totp", totp, "security_keys", (json_int_t)keys,
						  "recovery_codes_remaining", (json_int_t)db_int(st, 14)));
	return obj;
}

int account_get_detail(struct db *db, int64_t tenant_id, const char *login, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT " ACCOUNT_DETAIL_COLUMNS " FROM accounts"
					  " WHERE tenant_id = $1 AND login = $2", "it", tenant_id, login);
	int r = db_step(st);

	if (r > 0) {
		*ret = account_detail_json(st);
		r = *ret ? 0 : -ENOMEM;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

/* The filter as SQL after "WHERE tenant_id = $1": $2 the LIKE pattern of q ('' = any),
 * $3 role, $4 status ('' = any; "locked" = locked now), $5 now. */
#define ACCOUNT_FILTER_SQL                                                                   \
	" AND ($2 = '' OR lower(login) LIKE $2 ESCAPE '!' OR lower(email) LIKE $2 ESCAPE '!'"  \
	"      OR lower(display_name) LIKE $2 ESCAPE '!')"                                     \
	" AND ($3 = '' OR role = $3)"                                                           \
	" AND ($4 = '' OR ($4 = 'locked' AND locked_until_us > $5) OR status = $4)"

bool account_filter_status_valid(const char *status)
{
	return !strcmp(status, "invited") || !strcmp(status, "active") || !strcmp(status, "suspended") ||
	       !strcmp(status, "locked");
}

int account_list(struct db *db, int64_t tenant_id, const struct account_filter *f, int64_t limit,
		 int64_t offset, json_t **ret, int64_t *ret_total)
{
	/* the substring as a LIKE pattern: ASCII lowered like lower() does in both backends,
	 * the pattern's own characters escaped with '!' */
	char pattern[KURA_ACCOUNT_QUERY_MAX * 2 + 3];
	const char *q = f && f->q ? f->q : "", *role = f && f->role ? f->role : "";
	const char *status = f && f->status ? f->status : "";
	int64_t now = clock_now_us();
	struct db_stmt *st;
	size_t i, n = 0;
	json_t *arr, *obj;
	int r;

	if (strlen(q) > KURA_ACCOUNT_QUERY_MAX)
		return -EINVAL;
	if (*q) {
		pattern[n++] = '%';
		for (i = 0; q[i]; i++) {
			char c = q[i];

			if (c == '%' || c == '_' || c == '!')
				pattern[n++] = '!';
			pattern[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		pattern[n++] = '%';
	}
	pattern[n] = '\0';
	st = db_query(db, "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1" ACCOUNT_FILTER_SQL,
		      "ittti", tenant_id, pattern, role, status, now);
	r = db_step(st);
	if (r > 0)
		*ret_total = db_int(st, 0);
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -EIO;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT " ACCOUNT_DETAIL_COLUMNS " FROM accounts WHERE tenant_id = $1"
			  ACCOUNT_FILTER_SQL " ORDER BY login LIMIT $6 OFFSET $7",
		      "itttiii", tenant_id, pattern, role, status, now, limit, offset);
	while ((r = db_step(st)) > 0) {
		obj = account_detail_json(st);
		if (!obj || json_array_append_new(arr, obj) < 0) {
			r = -ENOMEM;
			break;
		}
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

/* mail/invitation.*.txt to the invited address, in the caller's transaction. */
static int invitation_mail(struct db *db, const struct tenant *t, const char *login, const char *email,
			   const char *role, const char *display_name, const char *url, int64_t expires_us)
{
	const struct mail_var vars[] = {
		MAIL_TEXT("addressee", display_name && *display_name ? display_name : login),
		MAIL_TEXT("tenant_name", t->name),
		MAIL_TEXT("tenant_code", t->code),
		MAIL_TEXT("role", role),
		MAIL_TIME("expires_at", expires_us),
		MAIL_TEXT("url", url),
		MAIL_TEXT("login", login),
	};
	const struct mail m = { .name = "invitation", .zone = t->zone, .vars = vars, .n_vars = ARRAY_SIZE(vars) };

	return mail_queue(db, t->id, email, &m, NULL);
}

int account_invite(struct db *db, const struct actor *who, const struct tenant *t, const char *login,
		   const char *email, const char *role, const char *display_name, struct account *ret,
		   char *ret_url, size_t url_size)
{
	char token[TOKEN_STR_LEN + 1], url[CONFIG_STR + 64];
	unsigned char hash[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), expires_us, id, count = 0;
	json_t *details = NULL;
	int r;

	r = validate_new(login, email, role, display_name);
	if (r < 0)
		return r;
	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	token_hash(token, hash);
	expires_us = now + (int64_t)settings.invitation_ttl_s * 1000000;
	r = str_printf(url, sizeof(url), "%s/invite/%s", settings.public_url, token);
	if (r < 0)
		goto out;

	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_lock_tenant(db, t->id);   /* the account limit is counted before the insert */
	if (r == 0)
		r = tenant_account_count(db, t->id, &count);
	if (r == 0 && count >= KURA_ACCOUNTS_PER_TENANT)
		r = -E2BIG;
	if (r < 0)
		goto out;
	r = db_insert(db, &id, "INSERT INTO accounts (tenant_id, login, email, display_name, role, status,"
			      " created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 'invited', $6, $6)"
			      " RETURNING id",
		      "itttti", t->id, login, email, display_name ? display_name : "", role, now);
	if (r < 0)
		goto out;
	r = db_exec(db, "INSERT INTO invitations (token_hash, tenant_id, account_id, created_us, expires_us)"
			" VALUES ($1, $2, $3, $4, $5)", "biiii", hash, sizeof(hash), t->id, id, now, expires_us);
	if (r < 0)
		goto out;
	r = invitation_mail(db, t, login, email, role, display_name, url, expires_us);
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
	r = db_lock_tenant(db, t->id);   /* the account limit is counted before the insert */
	if (r == 0)
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
	r = db_lock_tenant(db, tenant_id);   /* the last active manager is counted, then changed */
	if (r == 0)
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
	r = db_lock_tenant(db, tenant_id);   /* the last active manager is counted, then deleted */
	if (r == 0)
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
	r = db_lock_tenant(db, tenant_id);   /* the lockout counters */
	if (r == 0)
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

/* ---------------------------------------------------------------- lockout (C3)
 *
 * Each check of an existing account's secret (password at login or re-authentication, a
 * second factor) is one attempt, and the lock decision is taken in the database, never from
 * a row read before the ~75 ms hash:
 *  1. reserve: one conditional UPDATE adds the attempt to attempts_pending before the
 *     secret is looked at; it changes nothing, and the attempt is refused unchecked, while
 *     the account is locked or the window's failures plus the checks still running have
 *     reached the threshold. However many requests arrive at once, at most `threshold`
 *     secrets are being checked or have failed per window; a refused attempt answers like
 *     a wrong password.
 *  2. settle, in a transaction that reads the row again: a wrong secret moves from pending
 *     to failed_count and, once failed_count reaches the threshold, locks the account with
 *     an UPDATE from unlocked to locked, so exactly one request locks, mails and records the
 *     lock, after exactly `threshold` wrong secrets. A right secret leaves pending; one that
 *     completes a login also clears failed_count, only while the account is unlocked; the
 *     right password of an account with a second factor is refused when the account was
 *     locked meanwhile.
 * A check cut by a crash leaves a pending count behind; it is void once no attempt was
 * reserved for KURA_LOCKOUT_PENDING_STALE_S. Every step that reads or moves the counters runs
 * in a transaction holding the tenant's write lock (store/db.h "Write serialisation").
 */
static struct lockout_policy lockout_defaults(void)
{
	return (struct lockout_policy){ settings.lockout_threshold, settings.lockout_window_s,
					settings.lockout_duration_s };
}

/* The account's locked_until_us (0 when it does not exist: -ENOENT). */
static int locked_until(struct db *db, int64_t tenant_id, int64_t account_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT locked_until_us FROM accounts WHERE tenant_id = $1"
					  " AND id = $2", "ii", tenant_id, account_id);
	int r = db_step(st);

	*ret = r > 0 ? db_int(st, 0) : 0;
	db_done(st);
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* SQL pieces with $3 = now, $4 = window (µs), $6 = the stale age of pending counts (µs) */
#define FAILED_NOW "(CASE WHEN $3 - failed_window_start_us > $4 THEN 0 ELSE failed_count END)"
#define PENDING_NOW "(CASE WHEN $3 - attempts_pending_us > $6 THEN 0 ELSE attempts_pending END)"
#define PENDING_LESS_ONE "(CASE WHEN attempts_pending > 0 THEN attempts_pending - 1 ELSE 0 END)"

int account_attempt_reserve_tx(struct db *db, int64_t tenant_id, int64_t account_id)
{
	struct lockout_policy pol = lockout_defaults();
	int64_t now = clock_now_us(), locked = 0;
	int r = db_lock_tenant(db, tenant_id);   /* the lockout counters (see above) */

	if (r == 0)
		r = lockout_policy_get(db, tenant_id, &pol);
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET"
				" failed_count = " FAILED_NOW ","
				" failed_window_start_us = CASE WHEN $3 - failed_window_start_us > $4 THEN $3"
				" ELSE failed_window_start_us END,"
				" attempts_pending = " PENDING_NOW " + 1, attempts_pending_us = $3"
				" WHERE tenant_id = $1 AND id = $2 AND locked_until_us <= $3"
				" AND " FAILED_NOW " + " PENDING_NOW " < $5",
			    "iiiiii", tenant_id, account_id, now, (int64_t)pol.window_s * 1000000,
			    (int64_t)pol.threshold, (int64_t)KURA_LOCKOUT_PENDING_STALE_S * 1000000);
	if (r < 0 || db_changes(db) == 1)
		return r;
	r = locked_until(db, tenant_id, account_id, &locked);
	if (r < 0)
		return r;
	return locked > now ? -EACCES : -EBUSY;
}

/* Step 1 in its own transaction: 0 reserved, -EACCES locked, -EBUSY the window's attempts
 * are used up (by failures or by checks still running). */
static int attempt_reserve(struct db *db, int64_t tenant_id, int64_t account_id)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = account_attempt_reserve_tx(db, tenant_id, account_id);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

/* A reserved attempt that is no failure leaves pending. Inside the caller's transaction. */
static int attempt_release_tx(struct db *db, int64_t tenant_id, int64_t account_id)
{
	int r = db_lock_tenant(db, tenant_id);

	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET attempts_pending = " PENDING_LESS_ONE
				" WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
	return r;
}

/* A right secret that does not complete a login (password step of an MFA account,
 * re-authentication): -EACCES when the account was locked meanwhile, else the attempt
 * leaves pending. Inside the caller's transaction. */
static int attempt_right_tx(struct db *db, int64_t tenant_id, int64_t account_id)
{
	int64_t now = clock_now_us(), locked = 0;
	int r;

	r = attempt_release_tx(db, tenant_id, account_id);
	if (r == 0)
		r = locked_until(db, tenant_id, account_id, &locked);
	if (r < 0)
		return r;
	return locked > now ? -EACCES : 0;
}

/* How a refused attempt settles. */
enum attempt_outcome {
	ATTEMPT_NONE,     /* nothing was reserved: refused before the check */
	ATTEMPT_WRONG,    /* a wrong secret: counts as a failure, and may lock */
	ATTEMPT_RETURN,   /* not a guess (locked meanwhile, …): the reservation goes back */
	ATTEMPT_MISS,     /* a login name without an account: counted in login_misses */
};

/* ---------------------------------------------------------------- standing
 *
 * A refused login answers where the login name stands: the wrong secrets left before the
 * lock, or the end of the lock (issue 15). SECURITY: that must not tell which names exist.
 * A name without an account is therefore counted in login_misses exactly as an account is
 * in accounts (same window, threshold and duration: the tenant's policy, or the defaults
 * for a tenant code that does not exist), "locks" the same way, and is refused unchecked
 * while "locked"; every refusal of an existing account that is not about a wrong secret
 * (no password set yet, suspended) counts as a wrong secret, so the count moves alike for
 * every name. The table holds at most KURA_LOGIN_MISSES_MAX names; when full, the one
 * changed longest ago goes (docs/security.md "Remaining tries" says what that leaves). */
static void standing_of(const struct lockout_policy *pol, int64_t now, int64_t failed, int64_t start,
			int64_t locked, struct login_standing *ret)
{
	if (locked > now) {
		ret->remaining = 0;
		ret->locked_until_us = locked;
		return;
	}
	if (now - start > (int64_t)pol->window_s * 1000000)
		failed = 0;
	ret->locked_until_us = 0;
	ret->remaining = failed >= (int64_t)pol->threshold ? 0 : (int64_t)pol->threshold - failed;
}

/* The row of a name without an account: 1 found, 0 none, <0 error. */
static int miss_get(struct db *db, int64_t tenant_id, const char *tenant_code, const char *login,
		    int64_t v[3])
{
	struct db_stmt *st = db_query(db, "SELECT failed_count, failed_window_start_us, locked_until_us"
					  " FROM login_misses WHERE tenant_id = $1 AND tenant_code = $2"
					  " AND login = $3", "itt", tenant_id, tenant_code, login);
	int r = db_step(st);

	if (r > 0) {
		v[0] = db_int(st, 0);
		v[1] = db_int(st, 1);
		v[2] = db_int(st, 2);
	}
	db_done(st);
	return r;
}

/* A wrong password for a name without an account, counted like an account's (see
 * login_failed): nothing while "locked", else one more failure in the window, and the
 * "lock" at the threshold. Inside the caller's transaction, with tenant_id's lock taken. */
static int miss_failed_tx(struct db *db, int64_t tenant_id, const char *tenant_code, const char *login,
			  const struct lockout_policy *pol)
{
	int64_t now = clock_now_us(), v[3] = { 0, 0, 0 }, n, start, locked = 0, count = 0;
	struct db_stmt *st;
	int r, found;

	found = miss_get(db, tenant_id, tenant_code, login, v);
	if (found < 0)
		return found;
	if (found && v[2] > now)
		return 0;   /* "locked": refused unchecked, like a locked account */
	if (!found || now - v[1] > (int64_t)pol->window_s * 1000000) {
		n = 1;
		start = now;
	} else {
		n = v[0] + 1;
		start = v[1];
	}
	if (n >= (int64_t)pol->threshold) {
		locked = now + (int64_t)pol->duration_s * 1000000;
		n = 0;
		start = 0;
	}
	if (found)
		return db_exec(db, "UPDATE login_misses SET failed_count = $4, failed_window_start_us = $5,"
				   " locked_until_us = $6, updated_us = $7 WHERE tenant_id = $1"
				   " AND tenant_code = $2 AND login = $3",
			       "ittiiii", tenant_id, tenant_code, login, n, start, locked, now);
	/* bounded: when full, the name changed longest ago is forgotten */
	st = db_query(db, "SELECT COUNT(*) FROM login_misses", "");
	r = db_step(st);
	if (r > 0)
		count = db_int(st, 0);
	db_done(st);
	if (r < 0)
		return r;
	if (count >= KURA_LOGIN_MISSES_MAX) {
		r = db_exec(db, "DELETE FROM login_misses WHERE updated_us <="
				" (SELECT MIN(updated_us) FROM login_misses)", "");
		if (r < 0)
			return r;
	}
	return db_exec(db, "INSERT INTO login_misses (tenant_id, tenant_code, login, failed_count,"
			   " failed_window_start_us, locked_until_us, updated_us)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		       "ittiiii", tenant_id, tenant_code, login, n, start, locked, now);
}

int account_standing_id(struct db *db, int64_t tenant_id, int64_t account_id, struct login_standing *ret)
{
	struct lockout_policy pol = lockout_defaults();
	struct db_stmt *st;
	int64_t v[3] = { 0, 0, 0 };
	int r = lockout_policy_get(db, tenant_id, &pol);

	if (r < 0)
		return r;
	st = db_query(db, "SELECT failed_count, failed_window_start_us, locked_until_us FROM accounts"
			  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0) {
		v[0] = db_int(st, 0);
		v[1] = db_int(st, 1);
		v[2] = db_int(st, 2);
	}
	db_done(st);
	if (r < 0)
		return r;
	standing_of(&pol, clock_now_us(), v[0], v[1], v[2], ret);
	return 0;
}

/* An inactive tenant is one that does not exist, for the login (account_authenticate). */
static bool tenant_for_login(struct db *db, const char *tenant_code, struct tenant *t)
{
	return tenant_find(db, tenant_code, t) == 0 && !strcmp(t->status, "active");
}

int account_login_standing(struct db *db, const char *tenant_code, const char *login,
			   struct login_standing *ret)
{
	struct lockout_policy pol = lockout_defaults();
	int64_t v[3] = { 0, 0, 0 };
	struct tenant t;
	struct account a;
	int r;

	if (!tenant_for_login(db, tenant_code, &t)) {
		r = miss_get(db, 0, tenant_code, login, v);
	} else {
		r = account_get(db, t.id, login, &a);
		if (r == 0)
			return account_standing_id(db, t.id, a.id, ret);
		if (r != -ENOENT)
			return r;
		r = lockout_policy_get(db, t.id, &pol);
		if (r == 0)
			r = miss_get(db, t.id, "", login, v);
	}
	if (r < 0)
		return r;
	standing_of(&pol, clock_now_us(), v[0], v[1], v[2], ret);
	return 0;
}

int account_cert_refused(struct db *db, int64_t tenant_id, const char *login, struct login_standing *ret)
{
	struct lockout_policy pol = lockout_defaults();
	int64_t v[3] = { 0, 0, 0 };
	int r = db_begin(db);

	if (r < 0)
		return r;
	/* the miss count is read, then "locks" at the threshold (miss_failed_tx) */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = lockout_policy_get(db, tenant_id, &pol);
	if (r == 0)
		r = miss_failed_tx(db, tenant_id, "", login, &pol);
	if (r == 0)
		r = miss_get(db, tenant_id, "", login, v);
	if (r >= 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	standing_of(&pol, clock_now_us(), v[0], v[1], v[2], ret);
	return 0;
}

/* A login with a tenant code that names no active tenant: recorded, and counted as a name
 * without an account (tenant 0, the code as typed) with the default policy. */
static int unknown_tenant_failed(struct db *db, const struct actor *who, const char *tenant_code,
				 const char *login)
{
	struct lockout_policy pol = lockout_defaults();
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_lock_tenant(db, 0);
	if (r == 0)
		r = miss_failed_tx(db, 0, tenant_code, login, &pol);
	if (r == 0)
		r = audit_login(db, who, 0, login, AUDIT_FAILURE, "unknown tenant");
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

/* Records a refused login and settles its attempt (see above). Own transaction. */
static int login_failed(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
			const char *login, const char *reason, enum attempt_outcome outcome)
{
	int64_t now = clock_now_us(), until = 0, n = 0, locked = 0;
	struct lockout_policy pol = lockout_defaults();
	struct db_stmt *st;
	bool locks = false;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	/* the failure count is read, then locks the account at the threshold */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = lockout_policy_get(db, tenant_id, &pol);
	if (r == 0 && account_id && outcome == ATTEMPT_RETURN)
		r = attempt_release_tx(db, tenant_id, account_id);
	if (r == 0 && !account_id && outcome == ATTEMPT_MISS)
		r = miss_failed_tx(db, tenant_id, "", login, &pol);
	if (r == 0 && account_id && outcome == ATTEMPT_WRONG) {
		/* from pending to failed, in the window the reservation opened (or a new one) */
		r = db_exec(db, "UPDATE accounts SET attempts_pending = " PENDING_LESS_ONE ","
				" failed_count = CASE WHEN $3 - failed_window_start_us > $4 THEN 1"
				" ELSE failed_count + 1 END,"
				" failed_window_start_us = CASE WHEN $3 - failed_window_start_us > $4 THEN $3"
				" ELSE failed_window_start_us END"
				" WHERE tenant_id = $1 AND id = $2 AND locked_until_us <= $3",
			    "iiii", tenant_id, account_id, now, (int64_t)pol.window_s * 1000000);
		if (r == 0) {
			st = db_query(db, "SELECT failed_count, locked_until_us FROM accounts"
					  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, account_id);
			r = db_step(st);
			if (r > 0) {
				n = db_int(st, 0);
				locked = db_int(st, 1);
			}
			db_done(st);
			r = r < 0 ? r : 0;
		}
		if (r == 0 && locked <= now && n >= (int64_t)pol.threshold) {
			until = now + (int64_t)pol.duration_s * 1000000;
			r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
					" locked_until_us = $3 WHERE tenant_id = $1 AND id = $2"
					" AND locked_until_us <= $4",
				    "iiii", tenant_id, account_id, until, now);
			locks = r == 0 && db_changes(db) == 1;
		}
		/* access: the account and the tenant's managers are told, once, with the lock */
		if (r == 0 && locks)
			r = lockout_notify(db, tenant_id, account_id, who ? who->source_ip : "", until);
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

static const char *refusal_reason(int reserve_result)
{
	return reserve_result == -EACCES ? "locked" : "attempt limit reached";
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

	if (!tenant_for_login(db, tenant_code, &t)) {
		pwhash_verify_dummy(password);
		r = unknown_tenant_failed(db, who, tenant_code, login);
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
		r = login_failed(db, who, t.id, 0, login, "unknown login", ATTEMPT_MISS);
		return r < 0 ? r : -EACCES;
	}
	/* 1: the attempt is counted before the hash, or refused (locked, or used up) unchecked */
	r = attempt_reserve(db, t.id, a.id);
	if (r == -EACCES || r == -EBUSY) {
		sodium_memzero(hash, sizeof(hash));
		pwhash_verify_dummy(password);
		r = login_failed(db, who, t.id, a.id, login, refusal_reason(r), ATTEMPT_NONE);
		return r < 0 ? r : -EACCES;
	}
	if (r < 0) {
		sodium_memzero(hash, sizeof(hash));
		return r;
	}
	if (!*hash) {
		pwhash_verify_dummy(password);
		reason = "no password set";
	} else {
		v = pwhash_verify(hash, password);
		sodium_memzero(hash, sizeof(hash));
		if (v == -EACCES)
			reason = "wrong password";
		else if (v < 0)
			return v;   /* the reservation stays: counted as a failure */
	}
	if (!reason && strcmp(a.status, "active"))
		reason = !strcmp(a.status, "suspended") ? "suspended" : "invitation not accepted";
	if (reason) {
		/* no password set or suspended counts as a wrong password: the count of an
		 * existing name moves like that of a name without an account (see "standing") */
		r = login_failed(db, who, t.id, a.id, login, reason, ATTEMPT_WRONG);
		return r < 0 ? r : -EACCES;
	}
	/* 2: settle. MFA: the password alone neither completes the login nor resets the count */
	{
		struct mfa_state ms;

		r = mfa_state_get(db, t.id, a.id, &ms);
		if (r < 0)
			return r;
		if (mfa_state_enrolled(&ms)) {
			r = db_begin(db);
			if (r < 0)
				return r;
			r = attempt_right_tx(db, t.id, a.id);
			if (r == 0)
				r = audit_login_method(db, who, t.id, login, "session.password", AUDIT_SUCCESS,
						       NULL, "password");
			if (r == 0)
				r = db_commit(db);
			if (r < 0)
				db_rollback(db);
			if (r == -EACCES) {
				/* locked while the hash ran: the right password is no better than a wrong one */
				r = login_failed(db, who, t.id, a.id, login, "locked", ATTEMPT_RETURN);
				return r < 0 ? r : -EACCES;
			}
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
	/* only while still unlocked: failures counted by concurrent requests since the
	 * reservation may have locked the account, and a success must not lift that lock */
	r = db_lock_tenant(db, t.id);
	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
				" attempts_pending = " PENDING_LESS_ONE ", locked_until_us = 0, last_login_us = $3,"
				" last_login_ip = $4"
				" WHERE tenant_id = $1 AND id = $2 AND locked_until_us <= $3",
			    "iiit", t.id, a.id, clock_now_us(), who && who->source_ip ? who->source_ip : "");
	if (r == 0 && db_changes(db) != 1) {
		db_rollback(db);
		r = login_failed(db, who, t.id, a.id, login, "locked", ATTEMPT_RETURN);
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
	char why[96];

	str_printf(why, sizeof(why), "second factor %s: %s", method, reason);
	return login_failed(db, who, tenant_id, account_id, login, why, ATTEMPT_WRONG);
}

int account_second_factor_refused(struct db *db, const struct actor *who, int64_t tenant_id,
				  int64_t account_id, const char *login, const char *method,
				  const char *reason, bool reserved)
{
	char why[96];

	str_printf(why, sizeof(why), "second factor %s: %s", method, reason);
	return login_failed(db, who, tenant_id, account_id, login, why,
			    reserved ? ATTEMPT_RETURN : ATTEMPT_NONE);
}

int account_login_record_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *login, const char *method)
{
	/* only while still unlocked (see account_authenticate): -EACCES makes the caller roll back */
	int r = db_lock_tenant(db, tenant_id);

	if (r == 0)
		r = db_exec(db, "UPDATE accounts SET failed_count = 0, failed_window_start_us = 0,"
				" attempts_pending = " PENDING_LESS_ONE ", locked_until_us = 0, last_login_us = $3,"
				" last_login_ip = $4"
				" WHERE tenant_id = $1 AND id = $2 AND locked_until_us <= $3",
			    "iiit", tenant_id, account_id, clock_now_us(),
			    who && who->source_ip ? who->source_ip : "");

	if (r == 0 && db_changes(db) != 1)
		r = -EACCES;
	if (r == 0)
		r = audit_login_method(db, who, tenant_id, login, "session.create", AUDIT_SUCCESS, NULL,
				       method);
	return r;
}

/* The current password of a signed-in account, as one lockout attempt (re-authentication
 * before a security change, password change). 0 and *ret_a when right; -EACCES for a wrong
 * password or a locked account (recorded with `what`); <0 on errors. */
static int password_attempt(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *password, const char *what,
			    struct account *ret_a)
{
	char hash[PWHASH_STR_BYTES] = "", why[96];
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
	/* a locked account re-authenticates no better than it logs in: otherwise a session
	 * could go on guessing the password past the lockout */
	r = attempt_reserve(db, tenant_id, a.id);
	if (r == -EACCES || r == -EBUSY) {
		sodium_memzero(hash, sizeof(hash));
		pwhash_verify_dummy(password);
		str_printf(why, sizeof(why), "%s (%s)", refusal_reason(r), what);
		r = login_failed(db, who, tenant_id, a.id, a.login, why, ATTEMPT_NONE);
		return r < 0 ? r : -EACCES;
	}
	if (r < 0) {
		sodium_memzero(hash, sizeof(hash));
		return r;
	}
	if (*hash)
		r = pwhash_verify(hash, password);
	else {
		pwhash_verify_dummy(password);
		r = -EACCES;
	}
	sodium_memzero(hash, sizeof(hash));
	if (r == -EACCES) {
		str_printf(why, sizeof(why), "wrong password (%s)", what);
		r = login_failed(db, who, tenant_id, a.id, a.login, why, ATTEMPT_WRONG);
		return r < 0 ? r : -EACCES;
	}
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = attempt_right_tx(db, tenant_id, a.id);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == -EACCES) {
		str_printf(why, sizeof(why), "locked (%s)", what);
		r = login_failed(db, who, tenant_id, a.id, a.login, why, ATTEMPT_RETURN);
		return r < 0 ? r : -EACCES;
	}
	if (r == 0)
		*ret_a = a;
	return r;
}

int account_verify_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *password)
{
	struct account a;

	return password_attempt(db, who, tenant_id, account_id, password, "re-authentication", &a);
}

int account_change_password(struct db *db, const struct actor *who, int64_t tenant_id,
			    int64_t account_id, const char *current, const char *new_password,
			    int64_t keep_session_id, enum password_problem *ret_problem)
{
	char new_hash[PWHASH_STR_BYTES];
	struct account a;
	int r;

	*ret_problem = PASSWORD_OK;
	r = password_attempt(db, who, tenant_id, account_id, current, "password change", &a);
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
	/* whoever knew the old password and made an app password with it alone keeps nothing */
	if (r == 0)
		r = apppass_revoke_weak_tx(db, who, tenant_id, a.id, "made without a second factor; the password changed");
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

/* Why a token of table (invitations or password_resets) is refused: "used" (or spent by a
 * newer one), "expired", or "invalid" (unknown). Only the holder of the 256-bit token can
 * ask, and learns nothing about any other token or account. */
const char *token_refusal(struct db *db, bool reset, const char *token)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	struct db_stmt *st;
	const char *why = "invalid";

	if (!token_well_formed(token))
		return why;
	token_hash(token, hash);
	st = db_query(db, reset ? "SELECT COALESCE(used_us, 0), expires_us FROM password_resets"
				  " WHERE token_hash = $1"
				: "SELECT COALESCE(used_us, 0), expires_us FROM invitations WHERE token_hash = $1",
		      "b", hash, sizeof(hash));
	if (db_step(st) > 0)
		why = db_int(st, 0) ? "used" : db_int(st, 1) <= clock_now_us() ? "expired" : "invalid";
	db_done(st);
	return why;
}

const char *invitation_why(struct db *db, const char *token)
{
	return token_refusal(db, false, token);
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
