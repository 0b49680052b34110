/*
 * App passwords (C3, W2): named, scoped ("read" = GET/HEAD only, "read-write"), revocable
 * credentials for WebDAV and API clients, so those clients never hold the account password
 * and never bypass the second factor of the portal login.
 *
 * A secret is "kura_ap_" + 43 characters of base64url (32 random bytes, 256 bits). The
 * prefix makes leaked secrets recognizable to secret scanners. Only SHA-256(secret) is
 * stored. It is presented as HTTP Basic "login@tenant:secret" and looked up by its hash.
 *
 * Why SHA-256 and not Argon2id: Argon2id exists to make guessing a low-entropy, human-chosen
 * password expensive. A 256-bit random secret cannot be guessed whatever the hash, so a
 * fast hash loses nothing, while Argon2id on every WebDAV request (dozens per second for a
 * sync client) would cost tens of milliseconds and megabytes each and hand attackers a
 * cheap way to load the server.
 *
 * SECURITY: the look-up is an index probe by hash (no comparison loop over secrets); the
 * login and tenant in the user name must then match the secret's account, so a secret
 * works only with its own user name. Any wrong part gives the same -ENOENT. last-used time
 * and address are written at most every KURA_APP_PASSWORD_TOUCH_S or when the address
 * changes, so a busy client does not turn reads into writes. The raw secret is returned
 * once at creation and wiped from memory after use.
 */
#include <stdio.h>
#include <strings.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "store/db.h"

#define BASIC_HEADER_MAX 512

static json_t *time_or_null(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!us)
		return json_null();
	clock_format_utc(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *row_json(struct db_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)db_int(st, 0), "name",
			 db_text(st, 1), "scope", db_text(st, 2), "created_at", time_or_null(db_int(st, 3)),
			 "last_used_at", time_or_null(db_int(st, 4)), "last_used_address",
			 *db_text(st, 5) ? json_string(db_text(st, 5)) : json_null());
}

static int audit_apppass(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
			 json_t *details)
{
	char target[KURA_LOGIN_MAX + 16];

	str_printf(target, sizeof(target), "account:%s", who && who->name ? who->name : "");
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				    .category = AUDIT_AUTHENTICATION, .action = action, .target = target,
				    .result = AUDIT_SUCCESS, .details = details });
}

int apppass_create(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
		   const char *name, const char *scope, bool second_factor, char *ret_secret,
		   size_t secret_size, json_t **ret_json)
{
	char secret[APPPASS_SECRET_LEN + 1], token[TOKEN_STR_LEN + 1];
	unsigned char hash[TOKEN_HASH_BYTES];
	size_t n_name = name ? strlen(name) : 0;
	struct db_stmt *st;
	json_t *details = NULL, *item = NULL;
	int64_t count = 0, id, now = clock_now_us();
	int r;

	if (n_name == 0 || !utf8_is_clean_text(name, n_name) ||
	    utf8_length(name, n_name) > KURA_APP_PASSWORD_NAME_MAX || !scope ||
	    (strcmp(scope, "read") && strcmp(scope, "read-write")) || secret_size < sizeof(secret))
		return -EINVAL;
	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	str_printf(secret, sizeof(secret), "%s%s", APPPASS_PREFIX, token);
	token_hash(secret, hash);
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_lock_tenant(db, tenant_id);   /* the limit is counted before the insert */
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT COUNT(*) FROM app_passwords WHERE tenant_id = $1 AND account_id = $2",
		      "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0)
		count = db_int(st, 0);
	db_done(st);
	if (r < 0)
		goto out;
	if (count >= KURA_APP_PASSWORDS_PER_ACCOUNT) {
		r = -E2BIG;
		goto out;
	}
	r = db_insert(db, &id, "INSERT INTO app_passwords (tenant_id, account_id, name, scope, secret_hash,"
			      " created_us, second_factor) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
		      "iittbii", tenant_id, account_id, name, scope, hash, sizeof(hash), now,
		      (int64_t)second_factor);
	if (r < 0)
		goto out;
	details = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "name", name, "scope", scope);
	r = audit_apppass(db, who, tenant_id, "app_password.create", details);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT id, name, scope, created_us, COALESCE(last_used_us, 0), last_used_ip"
			  " FROM app_passwords WHERE id = $1", "i", id);
	if (db_step(st) > 0)
		item = row_json(st);
	db_done(st);
	if (!item) {
		r = -ENOMEM;
		goto out;
	}
	str_copy(ret_secret, secret_size, secret);
	*ret_json = item;
out:
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(token, sizeof(token));
	return r;
}

int apppass_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT id, name, scope, created_us, COALESCE(last_used_us, 0),"
					  " last_used_ip FROM app_passwords WHERE tenant_id = $1"
					  " AND account_id = $2 ORDER BY id", "ii", tenant_id, account_id);
	json_t *arr = json_array();
	int r;

	while (arr && (r = db_step(st)) > 0)
		json_array_append_new(arr, row_json(st));
	db_done(st);
	if (!arr)
		return -ENOMEM;
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int apppass_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
		   int64_t id)
{
	json_t *details = NULL;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_exec(db, "DELETE FROM app_passwords WHERE id = $1 AND tenant_id = $2 AND account_id = $3",
		    "iii", id, tenant_id, account_id);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0) {
		details = json_pack("{s:I}", "id", (json_int_t)id);
		r = audit_apppass(db, who, tenant_id, "app_password.revoke", details);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

int apppass_revoke_account(struct db *db, int64_t tenant_id, int64_t account_id)
{
	return db_exec(db, "DELETE FROM app_passwords WHERE tenant_id = $1 AND account_id = $2", "ii",
		       tenant_id, account_id);
}

int apppass_revoke_weak_tx(struct db *db, const struct actor *who, int64_t tenant_id,
			   int64_t account_id, const char *reason)
{
	int64_t ids[KURA_APP_PASSWORDS_PER_ACCOUNT];
	struct db_stmt *st;
	size_t n = 0, i;
	int r;

	st = db_query(db, "SELECT id FROM app_passwords WHERE tenant_id = $1 AND account_id = $2"
			  " AND second_factor = 0 ORDER BY id LIMIT $3", "iii", tenant_id, account_id,
		      (int64_t)KURA_APP_PASSWORDS_PER_ACCOUNT);
	while ((r = db_step(st)) > 0)
		ids[n++] = db_int(st, 0);
	db_done(st);
	if (r < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		json_t *d = json_pack("{s:I, s:s}", "id", (json_int_t)ids[i], "reason", reason);

		r = db_exec(db, "DELETE FROM app_passwords WHERE tenant_id = $1 AND id = $2", "ii", tenant_id,
			    ids[i]);
		if (r == 0)
			r = audit_apppass(db, who, tenant_id, "app_password.revoke", d);
		json_decref(d);
	}
	return r;
}

static bool secret_well_formed(const char *secret)
{
	size_t n = strlen(APPPASS_PREFIX);

	return !strncmp(secret, APPPASS_PREFIX, n) && token_well_formed(secret + n);
}

int apppass_authenticate(struct db *db, const char *user, const char *secret, const char *address,
			 struct session *ret, int64_t *ret_id, bool *ret_read_only)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char login[KURA_LOGIN_MAX + 1];
	const char *at = strchr(user, '@');
	int64_t now = clock_now_us(), id, last_used;
	struct db_stmt *st;
	struct session s;
	bool read_only, touch;
	int r;

	if (!at || (size_t)(at - user) >= sizeof(login) || !secret_well_formed(secret))
		return -ENOENT;
	memcpy(login, user, (size_t)(at - user));
	login[at - user] = '\0';
	token_hash(secret, hash);
	st = db_query(db, "SELECT p.id, p.scope, COALESCE(p.last_used_us, 0), p.last_used_ip,"
			  " a.id, a.tenant_id, a.login, a.email, a.display_name, a.role, a.status,"
			  " a.must_change_password, a.locked_until_us, COALESCE(a.last_login_us, 0),"
			  " a.created_us, t.code, t.name, t.status, p.second_factor, t.settings_gen"
			  " FROM app_passwords p JOIN accounts a ON a.id = p.account_id AND a.tenant_id = p.tenant_id"
			  " JOIN tenants t ON t.id = p.tenant_id WHERE p.secret_hash = $1",
		      "b", hash, sizeof(hash));
	r = db_step(st);
	if (r <= 0) {
		db_done(st);
		return r < 0 ? r : -ENOENT;
	}
	memset(&s, 0, sizeof(s));
	id = db_int(st, 0);
	read_only = strcmp(db_text(st, 1), "read-write") != 0;
	last_used = db_int(st, 2);
	touch = now - last_used >= (int64_t)KURA_APP_PASSWORD_TOUCH_S * 1000000 ||
		strcmp(db_text(st, 3), address);
	s.account.id = db_int(st, 4);
	s.account.tenant_id = db_int(st, 5);
	str_copy(s.account.login, sizeof(s.account.login), db_text(st, 6));
	str_copy(s.account.email, sizeof(s.account.email), db_text(st, 7));
	str_copy(s.account.display_name, sizeof(s.account.display_name), db_text(st, 8));
	str_copy(s.account.role, sizeof(s.account.role), db_text(st, 9));
	str_copy(s.account.status, sizeof(s.account.status), db_text(st, 10));
	s.account.must_change_password = db_int(st, 11) != 0;
	s.account.locked_until_us = db_int(st, 12);
	s.account.last_login_us = db_int(st, 13);
	s.account.created_us = db_int(st, 14);
	str_copy(s.tenant_code, sizeof(s.tenant_code), db_text(st, 15));
	str_copy(s.tenant_name, sizeof(s.tenant_name), db_text(st, 16));
	/* the MFA gate treats the request like the session that made the app password */
	s.second_factor = db_int(st, 18) != 0;
	s.settings_gen = db_int(st, 19);
	s.settings_gen_read = true;
	str_copy(s.auth_method, sizeof(s.auth_method), "app_password");
	r = strcmp(db_text(st, 17), "active") || strcmp(s.account.status, "active") ||
		    strcmp(s.account.login, login) || strcmp(s.tenant_code, at + 1)
		    ? -ENOENT
		    : 0;
	db_done(st);
	if (r < 0)
		return r;
	if (touch) {
		r = db_exec(db, "UPDATE app_passwords SET last_used_us = $2, last_used_ip = $3 WHERE id = $1",
			    "iit", id, now, address);
		if (r < 0)
			return r;
	}
	s.created_us = s.last_seen_us = now;
	*ret = s;
	*ret_id = id;
	*ret_read_only = read_only;
	return 0;
}

int basic_auth_parse(const char *header, char *ret_user, size_t user_size, char *ret_secret,
		     size_t secret_size)
{
	unsigned char buf[BASIC_HEADER_MAX];
	const char *b64, *end;
	size_t n_bin = 0, n_b64;
	const char *colon;
	int r = -EINVAL;

	if (!header || strlen(header) > BASIC_HEADER_MAX || strncasecmp(header, "Basic ", 6))
		return -EINVAL;
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	n_b64 = strlen(b64);
	while (n_b64 && b64[n_b64 - 1] == ' ')
		n_b64--;
	/* only the alphabet: libsodium 1.0.18 decodes any byte >= 0x80 as some digit */
	if (n_b64 == 0 ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n_b64 ||
	    sodium_base642bin(buf, sizeof(buf) - 1, b64, n_b64, NULL, &n_bin, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + n_b64)
		goto out;
	buf[n_bin] = '\0';
	if (strlen((char *)buf) != n_bin || !utf8_is_clean_text((char *)buf, n_bin))
		goto out;
	colon = strchr((char *)buf, ':');
	if (!colon || (size_t)(colon - (char *)buf) >= user_size || strlen(colon + 1) >= secret_size)
		goto out;
	memcpy(ret_user, buf, (size_t)(colon - (char *)buf));
	ret_user[colon - (char *)buf] = '\0';
	str_copy(ret_secret, secret_size, colon + 1);
	r = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}
