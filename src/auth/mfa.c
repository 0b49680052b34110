/*
 * Multi-factor authentication: keys, the per-tenant policy, an account's MFA state and the
 * enrolment gate, and the login second step (challenge → TOTP, recovery code or WebAuthn).
 *
 * Design: the password step (account_authenticate) answers -EAGAIN for an account with a
 * second factor; mfa_login_begin() then stores a challenge (SHA-256 of a 256-bit token, 5
 * minutes, bound to the account, at most KURA_MFA_CHALLENGE_ATTEMPTS wrong factors). The
 * session exists only after mfa_login_finish() verified one factor; the check, the
 * spending of the challenge and of the factor (TOTP step, recovery code, sign counter) and
 * the login record are one transaction, so two concurrent requests cannot both use one.
 *
 * SECURITY: keys for sealing TOTP secrets and hashing recovery codes are derived from the
 * master key (crypto_kdf, distinct subkey ids) and kept in sodium_malloc'ed, read-only
 * memory. A wrong second factor counts toward the account lockout like a wrong password,
 * and the password step does not reset the failure counter of an account with MFA, so
 * re-entering the password does not buy more guesses. Every refusal answers the same.
 */
#include <stdio.h>
#include <stdlib.h>

#include <fido.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "auth/mfa_int.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "tenant/tenant.h"

static struct {
	unsigned char *keys;                  /* seal key || hash key, sodium_malloc'ed */
	char rp_id[CONFIG_STR];
	char origin[CONFIG_STR];
	enum mfa_requirement managers_default;
} mfa = { NULL, "localhost", "https://localhost:8443", MFA_REQUIRED };

#define KDF_CONTEXT "kura-mfa"   /* crypto_kdf_CONTEXTBYTES = 8 */
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");

/* scheme://host[:port] and host from a URL like https://files.example.com:8443/base */
static int parse_public_url(const char *url, char *origin, size_t o_size, char *host, size_t h_size)
{
	const char *p = strstr(url, "://"), *h, *end, *colon;
	size_t n;

	if (!p || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
		return -EINVAL;
	h = p + 3;
	end = h + strcspn(h, "/?#");
	n = (size_t)(end - url);
	if (end == h || n >= o_size)
		return -EINVAL;
	memcpy(origin, url, n);
	origin[n] = '\0';
	if (*h == '[') {   /* IPv6 literal: WebAuthn RP IDs are domains; keep it for completeness */
		colon = memchr(h, ']', (size_t)(end - h));
		if (!colon)
			return -EINVAL;
		colon++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if (!colon)
			colon = end;
	}
	n = (size_t)(colon - h);
	if (n == 0 || n >= h_size)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	for (n = 0; host[n]; n++)
		if (host[n] >= 'A' && host[n] <= 'Z')
			host[n] = (char)(host[n] - 'A' + 'a');
	return 0;
}

int mfa_configure(const struct config *cfg, const unsigned char *master)
{
	if (!master || oath_init() != OATH_OK)
		return -EINVAL;
	fido_init(0);
	if (parse_public_url(cfg->public_url, mfa.origin, sizeof(mfa.origin), mfa.rp_id,
			     sizeof(mfa.rp_id)) < 0)
		return -EINVAL;
	mfa.managers_default = strcmp(cfg->mfa_managers_default, "optional") ? MFA_REQUIRED : MFA_OPTIONAL;
	if (!mfa.keys) {
		mfa.keys = sodium_malloc(2 * MFA_KEY_BYTES);
		if (!mfa.keys)
			return -ENOMEM;
	}
	sodium_mprotect_readwrite(mfa.keys);
	if (crypto_kdf_derive_from_key(mfa.keys, MFA_KEY_BYTES, 1, KDF_CONTEXT, master) != 0 ||
	    crypto_kdf_derive_from_key(mfa.keys + MFA_KEY_BYTES, MFA_KEY_BYTES, 2, KDF_CONTEXT, master) != 0) {
		sodium_free(mfa.keys);
		mfa.keys = NULL;
		return -EIO;
	}
	sodium_mprotect_readonly(mfa.keys);
	return 0;
}

void mfa_shutdown(void)
{
	if (mfa.keys)
		sodium_free(mfa.keys);   /* zeroes before it unmaps */
	mfa.keys = NULL;
}

const unsigned char *mfa_seal_key(void)
{
	return mfa.keys;
}

const unsigned char *mfa_hash_key(void)
{
	return mfa.keys ? mfa.keys + MFA_KEY_BYTES : NULL;
}

const char *mfa_rp_id(void)
{
	return mfa.rp_id;
}

const char *mfa_origin(void)
{
	return mfa.origin;
}

int b64url_decode(const char *in, unsigned char *out, size_t max, size_t *ret_n)
{
	size_t n = strlen(in), bin_len = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n == 0 || (n * 3) / 4 > max)
		return -EINVAL;
	/* only the alphabet: libsodium 1.0.18 decodes any byte >= 0x80 as some digit */
	if (strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return -EINVAL;
	if (sodium_base642bin(out, max, in, n, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -EINVAL;
	*ret_n = bin_len;
	return 0;
}

char *b64url_encode(const unsigned char *in, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(len);

	if (out)
		sodium_bin2base64(out, len, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int mfa_audit(struct db *db, const struct actor *who, int64_t tenant_id, const char *login,
	      const char *action, enum audit_result result, json_t *details)
{
	char target[KURA_LOGIN_MAX + 16];

	str_printf(target, sizeof(target), "account:%s", login);
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				    .category = AUDIT_AUTHENTICATION, .action = action,
				    .target = target, .result = result, .details = details });
}

/* ---------------------------------------------------------------- policy */

const char *mfa_requirement_name(enum mfa_requirement r)
{
	return r == MFA_REQUIRED ? "required" : r == MFA_OPTIONAL ? "optional" : "off";
}

int mfa_requirement_parse(const char *str, enum mfa_requirement *ret)
{
	if (!str)
		return -EINVAL;
	if (!strcmp(str, "required"))
		*ret = MFA_REQUIRED;
	else if (!strcmp(str, "optional"))
		*ret = MFA_OPTIONAL;
	else if (!strcmp(str, "off"))
		*ret = MFA_OFF;
	else
		return -EINVAL;
	return 0;
}

int mfa_policy_get(struct db *db, int64_t tenant_id, struct mfa_policy *ret)
{
	struct db_stmt *st = db_query(db, "SELECT managers, users FROM mfa_policies WHERE tenant_id = $1",
				      "i", tenant_id);
	struct mfa_policy p = { mfa.managers_default, MFA_OPTIONAL, true };
	int r = db_step(st);

	if (r > 0) {
		p.is_default = false;
		if (mfa_requirement_parse(db_text(st, 0), &p.managers) < 0 ||
		    mfa_requirement_parse(db_text(st, 1), &p.users) < 0)
			r = -EIO;
	}
	db_done(st);
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

int mfa_policy_set(struct db *db, const struct actor *who, int64_t tenant_id, const struct mfa_policy *p)
{
	json_t *details = NULL;
	int r;

	if (p->managers == MFA_OFF)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_exec(db, "INSERT INTO mfa_policies (tenant_id, managers, users, updated_us) VALUES ($1, $2, $3, $4)"
			" ON CONFLICT (tenant_id) DO UPDATE SET managers = excluded.managers,"
			" users = excluded.users, updated_us = excluded.updated_us",
		    "itti", tenant_id, mfa_requirement_name(p->managers), mfa_requirement_name(p->users),
		    clock_now_us());
	if (r == 0) {
		details = json_pack("{s:s, s:s}", "managers", mfa_requirement_name(p->managers), "users",
				    mfa_requirement_name(p->users));
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
					 .category = AUDIT_ADMINISTRATION, .action = "mfa.policy.update",
					 .target = "tenant", .result = AUDIT_SUCCESS, .details = details });
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

json_t *mfa_policy_json(const struct mfa_policy *p)
{
	return json_pack("{s:s, s:s, s:b}", "managers", mfa_requirement_name(p->managers), "users",
			 mfa_requirement_name(p->users), "default", p->is_default);
}

enum mfa_requirement mfa_policy_for_role(const struct mfa_policy *p, const char *role)
{
	return !strcmp(role, "manager") ? p->managers : p->users;
}

/* ---------------------------------------------------------------- state and gate */

int mfa_state_get(struct db *db, int64_t tenant_id, int64_t account_id, struct mfa_state *ret)
{
	struct db_stmt *st = db_query(
		db, "SELECT (SELECT COUNT(*) FROM mfa_totp WHERE tenant_id = $1 AND account_id = $2"
		    "         AND confirmed_us IS NOT NULL),"
		    " (SELECT COUNT(*) FROM mfa_totp WHERE tenant_id = $1 AND account_id = $2"
		    "         AND confirmed_us IS NULL),"
		    " (SELECT COUNT(*) FROM webauthn_credentials WHERE tenant_id = $1 AND account_id = $2),"
		    " (SELECT COUNT(*) FROM mfa_recovery_codes WHERE tenant_id = $1 AND account_id = $2"
		    "         AND used_us IS NULL)",
		"ii", tenant_id, account_id);
	int r = db_step(st);

	if (r > 0) {
		ret->totp = db_int(st, 0) > 0;
		ret->totp_pending = db_int(st, 1) > 0;
		ret->n_webauthn = db_int(st, 2);
		ret->n_recovery = db_int(st, 3);
		r = 0;
	} else if (r == 0) {
		r = -EIO;
	}
	db_done(st);
	return r;
}

bool mfa_state_enrolled(const struct mfa_state *s)
{
	return s->totp || s->n_webauthn > 0;
}

int mfa_enrolment_required(struct db *db, const struct account *a, bool *ret)
{
	/* the gate for a session that has every factor the account has */
	return mfa_gate(db, a, true, ret);
}

int mfa_gate(struct db *db, const struct account *a, bool second_factor, bool *ret)
{
	struct mfa_policy p;
	int r = mfa_policy_get(db, a->tenant_id, &p);

	if (r < 0)
		return r;
	return mfa_gate_policy(db, a, &p, second_factor, ret);
}

int mfa_gate_policy(struct db *db, const struct account *a, const struct mfa_policy *policy, bool second_factor,
		    bool *ret)
{
	struct mfa_policy p = *policy;
	struct mfa_state s;
	int r;

	if (p.is_default)
		p.managers = mfa.managers_default;
	if (mfa_policy_for_role(&p, a->role) != MFA_REQUIRED) {
		*ret = false;
		return 0;
	}
	r = mfa_state_get(db, a->tenant_id, a->id, &s);
	if (r < 0)
		return r;
	*ret = !mfa_state_enrolled(&s) || !second_factor;
	return 0;
}

int mfa_enrolment_allowed(struct db *db, const struct account *a)
{
	struct mfa_policy p;
	int r = mfa_policy_get(db, a->tenant_id, &p);

	if (r < 0)
		return r;
	return mfa_policy_for_role(&p, a->role) == MFA_OFF ? -EPERM : 0;
}

json_t *mfa_state_json(const struct mfa_state *s, bool enrolment_required)
{
	return json_pack("{s:{s:b, s:b}, s:{s:I}, s:I, s:b}", "totp", "enrolled", s->totp, "pending",
			 s->totp_pending, "webauthn", "count", (json_int_t)s->n_webauthn,
			 "recovery_codes_remaining", (json_int_t)s->n_recovery, "enrolment_required",
			 enrolment_required);
}

/* ---------------------------------------------------------------- login second step */

int mfa_login_begin(struct db *db, const struct account *a, struct mfa_login *ret)
{
	unsigned char token_h[TOKEN_HASH_BYTES], wa[KURA_WEBAUTHN_CHALLENGE], wa_h[32];
	int64_t now = clock_now_us(), expires = now + (int64_t)KURA_MFA_CHALLENGE_TTL_S * 1000000;
	struct mfa_login l = { .expires_us = expires };
	struct mfa_state s;
	int r;

	r = mfa_state_get(db, a->tenant_id, a->id, &s);
	if (r < 0)
		return r;
	r = token_new(l.challenge, sizeof(l.challenge));
	if (r < 0)
		return r;
	token_hash(l.challenge, token_h);
	randombytes_buf(wa, sizeof(wa));
	crypto_hash_sha256(wa_h, wa, sizeof(wa));
	l.methods = json_array();
	if (!l.methods) {
		r = -ENOMEM;
		goto out;
	}
	if (s.totp)
		json_array_append_new(l.methods, json_string("totp"));
	if (s.n_webauthn > 0) {
		json_array_append_new(l.methods, json_string("webauthn"));
		r = webauthn_request_options(db, a->tenant_id, a->id, wa, &l.webauthn);
		if (r < 0)
			goto out;
	}
	if (s.n_recovery > 0)
		json_array_append_new(l.methods, json_string("recovery_code"));
	r = db_begin(db);
	if (r < 0)
		goto out;
	/* spent and expired challenges of this account go; a few open ones may coexist */
	r = db_exec(db, "DELETE FROM mfa_challenges WHERE account_id = $1 AND (used_us IS NOT NULL"
			" OR expires_us <= $2)", "ii", a->id, now);
	if (r == 0)
		r = db_exec(db, "INSERT INTO mfa_challenges (purpose, token_hash, webauthn_hash, tenant_id,"
				" account_id, created_us, expires_us) VALUES ('login', $1, $2, $3, $4, $5, $6)",
			    "bbiiii", token_h, sizeof(token_h), wa_h, sizeof(wa_h), a->tenant_id, a->id, now,
			    expires);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
out:
	sodium_memzero(wa, sizeof(wa));
	if (r < 0) {
		mfa_login_clear(&l);
		return r;
	}
	*ret = l;
	return 0;
}

void mfa_login_clear(struct mfa_login *l)
{
	sodium_memzero(l->challenge, sizeof(l->challenge));
	json_decref(l->methods);
	json_decref(l->webauthn);
	l->methods = l->webauthn = NULL;
}

struct challenge_row {
	int64_t id, tenant_id, account_id, attempts, expires_us;
	unsigned char webauthn_hash[32];
};

static int challenge_find(struct db *db, const char *token, struct challenge_row *ret)
{
	unsigned char h[TOKEN_HASH_BYTES];
	struct db_stmt *st;
	const void *p;
	size_t n = 0;
	int r;

	if (!token_well_formed(token))
		return -ENOENT;
	token_hash(token, h);
	st = db_query(db, "SELECT id, tenant_id, account_id, attempts, expires_us, webauthn_hash"
			  " FROM mfa_challenges WHERE token_hash = $1 AND purpose = 'login'"
			  " AND used_us IS NULL", "b", h, sizeof(h));
	r = db_step(st);
	if (r > 0) {
		memset(ret, 0, sizeof(*ret));
		ret->id = db_int(st, 0);
		ret->tenant_id = db_int(st, 1);
		ret->account_id = db_int(st, 2);
		ret->attempts = db_int(st, 3);
		ret->expires_us = db_int(st, 4);
		p = db_blob(st, 5, &n);
		if (p && n == sizeof(ret->webauthn_hash))
			memcpy(ret->webauthn_hash, p, n);
		r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

/* A wrong second factor, its attempt reserved (mfa_login_finish): the challenge is spent
 * once its attempts are used up, the refusal is recorded and the account's attempt settles
 * as a failure (which may lock it). */
static int second_factor_refused(struct db *db, const struct actor *who, const struct challenge_row *c,
				 const struct account *a, const char *method, const char *reason)
{
	json_t *details = json_pack("{s:s, s:s}", "method", method, "reason", reason);
	int r;

	r = db_begin(db);
	if (r == 0)
		r = db_exec(db, "UPDATE mfa_challenges SET used_us = $3 WHERE id = $1 AND used_us IS NULL"
				" AND attempts >= $2",
			    "iii", c->id, (int64_t)KURA_MFA_CHALLENGE_ATTEMPTS, clock_now_us());
	if (r == 0 && !strcmp(reason, "sign counter did not increase"))
		r = mfa_audit(db, who, a->tenant_id, a->login, "webauthn.counter", AUDIT_DENIED, details);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	if (r < 0)
		return r;
	return account_second_factor_failed(db, who, a->tenant_id, a->id, a->login, method, reason);
}

/* Reserves one attempt of the challenge and one of the account's lockout, in one
 * transaction, before the factor is checked: so at most KURA_MFA_CHALLENGE_ATTEMPTS
 * factors are ever checked against one challenge, and no more than the lockout allows
 * against the account, however many requests run at once. 0 reserved; -EACCES with
 * *ret_reason when refused. */
static int second_factor_reserve(struct db *db, const struct challenge_row *c, const struct account *a,
				 const char **ret_reason)
{
	int r = db_begin(db), v;

	if (r < 0)
		return r;
	r = db_lock_tenant(db, a->tenant_id);   /* the lockout counters (auth/account.c) */
	if (r == 0)
		r = db_exec(db, "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1"
				" AND used_us IS NULL AND attempts < $2 AND expires_us > $3",
			    "iii", c->id, (int64_t)KURA_MFA_CHALLENGE_ATTEMPTS, clock_now_us());
	if (r == 0 && db_changes(db) != 1) {
		*ret_reason = "challenge spent";
		r = -EACCES;
	}
	if (r == 0) {
		v = account_attempt_reserve_tx(db, a->tenant_id, a->id);
		if (v == -EACCES || v == -EBUSY) {
			*ret_reason = v == -EACCES ? "locked" : "attempt limit reached";
			r = -EACCES;
		} else {
			r = v;
		}
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int mfa_login_whose(struct db *db, const char *challenge, struct tenant *ret_tenant,
		    struct account *ret)
{
	struct challenge_row c;
	int r = challenge_find(db, challenge, &c);

	if (r == 0)
		r = tenant_get(db, c.tenant_id, ret_tenant);
	if (r == 0)
		r = account_get_id(db, c.tenant_id, c.account_id, ret);
	return r;
}

int mfa_login_finish(struct db *db, const struct actor *who, const char *challenge, const char *otp,
		     const char *recovery_code, json_t *webauthn, struct tenant *ret_tenant,
		     struct account *ret)
{
	const char *method = otp ? "totp" : recovery_code ? "recovery_code" : "webauthn";
	const char *reason = NULL;
	struct challenge_row c;
	struct tenant t;
	struct account a;
	int r, v;

	r = challenge_find(db, challenge, &c);
	if (r == -ENOENT) {
		/* nothing to count against: no account is known */
		json_t *d = json_pack("{s:s, s:s}", "method", method, "reason", "unknown or spent challenge");

		r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = who,
					 .category = AUDIT_AUTHENTICATION, .action = "session.create",
					 .target = "challenge", .result = AUDIT_FAILURE, .details = d });
		json_decref(d);
		return r < 0 ? r : -ETIMEDOUT;
	}
	if (r < 0)
		return r;
	r = tenant_get(db, c.tenant_id, &t);
	if (r == 0)
		r = account_get_id(db, c.tenant_id, c.account_id, &a);
	if (r == -ENOENT)
		return -EACCES;
	if (r < 0)
		return r;
	if (c.expires_us <= clock_now_us())
		reason = "challenge expired";
	else if (c.attempts >= KURA_MFA_CHALLENGE_ATTEMPTS)
		reason = "challenge spent";
	else if (strcmp(t.status, "active") || strcmp(a.status, "active"))
		reason = "account cannot log in";
	if (!reason) {
		r = second_factor_reserve(db, &c, &a, &reason);
		if (r < 0 && r != -EACCES)
			return r;
	}
	if (reason) {
		bool over = !strcmp(reason, "challenge expired") || !strcmp(reason, "challenge spent");

		r = account_second_factor_refused(db, who, t.id, a.id, a.login, method, reason, false);
		return r < 0 ? r : over ? -ETIMEDOUT : -EACCES;
	}

	r = db_begin(db);
	if (r < 0)
		return r;
	/* the factor's own counter (TOTP step, WebAuthn sign count) is read, then moved, and
	 * the lockout counters after it */
	r = db_lock_tenant(db, t.id);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	if (otp)
		v = totp_verify_tx(db, t.id, a.id, otp, &reason);
	else if (recovery_code) {
		v = recovery_use_tx(db, t.id, a.id, recovery_code);
		if (v == -EACCES)
			reason = "wrong recovery code";
	} else {
		v = webauthn_assert_tx(db, t.id, a.id, c.webauthn_hash, webauthn, &reason);
	}
	if (v == -EACCES || v == -EINVAL) {
		db_rollback(db);
		r = second_factor_refused(db, who, &c, &a, method, reason ? reason : "malformed");
		return r < 0 ? r : -EACCES;
	}
	r = v;
	if (r == 0)
		r = db_exec(db, "UPDATE mfa_challenges SET used_us = $2 WHERE id = $1 AND used_us IS NULL",
			    "ii", c.id, clock_now_us());
	if (r == 0 && db_changes(db) != 1)
		r = -EACCES;   /* spent meanwhile */
	if (r == 0)
		r = account_login_record_tx(db, who, t.id, a.id, a.login, method);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		if (r == -EACCES) {
			/* locked (or the challenge spent) while the factor was checked */
			r = account_second_factor_refused(db, who, t.id, a.id, a.login, method, "locked", true);
			return r < 0 ? r : -EACCES;
		}
		return r;
	}
	if (!strcmp(method, "recovery_code"))
		log_info("auth.mfa", "recovery code used");
	*ret_tenant = t;
	*ret = a;
	return 0;
}
