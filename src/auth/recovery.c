/*
 * Recovery codes: ten single-use codes, issued with an account's first second factor and
 * regenerated on request (which voids the old set). Each is 16 characters from a 32-letter
 * alphabet without look-alikes (80 bits), shown as xxxx-xxxx-xxxx-xxxx.
 *
 * SECURITY: only a keyed BLAKE2b hash (key derived from the master key; the tenant and
 * account ids are hashed in) is stored, so a database copy alone neither shows the codes nor
 * allows testing guesses offline. A code is found by its hash and spent with a conditional
 * UPDATE in the login transaction, so it works once even under concurrent use. Input is
 * normalised (case, dashes and spaces) before hashing.
 */
#include <sodium.h>

#include "auth/mfa_int.h"
#include "core/clock.h"
#include "store/db.h"

#define RC_ALPHABET "abcdefghjkmnpqrstuvwxyz23456789"   /* 31 letters and digits */
#define RC_HASH_BYTES 32

_Static_assert(RECOVERY_CODE_STR == KURA_RECOVERY_CODE_CHARS + 3 + 1, "xxxx-xxxx-xxxx-xxxx + NUL");

/* Lower-case code letters without separators; -EINVAL when it cannot be a code. */
static int normalise(const char *in, char out[KURA_RECOVERY_CODE_CHARS + 1])
{
	size_t n = 0;

	for (; *in; in++) {
		char c = *in;

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!strchr(RC_ALPHABET, c) || c == '\0' || n == KURA_RECOVERY_CODE_CHARS)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == KURA_RECOVERY_CODE_CHARS ? 0 : -EINVAL;
}

static int code_hash(int64_t tenant_id, int64_t account_id, const char *norm, unsigned char ret[RC_HASH_BYTES])
{
	crypto_generichash_state st;
	unsigned char ids[16];
	uint64_t t = (uint64_t)tenant_id, a = (uint64_t)account_id;
	int i;

	if (!mfa_hash_key())
		return -EIO;
	for (i = 7; i >= 0; i--) {
		ids[i] = (unsigned char)(t & 0xff);
		ids[8 + i] = (unsigned char)(a & 0xff);
		t >>= 8;
		a >>= 8;
	}
	crypto_generichash_init(&st, mfa_hash_key(), MFA_KEY_BYTES, RC_HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)"kura recovery", 13);
	crypto_generichash_update(&st, ids, sizeof(ids));
	crypto_generichash_update(&st, (const unsigned char *)norm, strlen(norm));
	crypto_generichash_final(&st, ret, RC_HASH_BYTES);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int recovery_issue_tx(struct db *db, int64_t tenant_id, int64_t account_id, recovery_codes_t ret)
{
	char norm[KURA_RECOVERY_CODE_CHARS + 1];
	unsigned char h[RC_HASH_BYTES];
	int64_t now = clock_now_us();
	size_t i, j, o;
	int r;

	r = db_exec(db, "DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND account_id = $2", "ii",
		    tenant_id, account_id);
	for (i = 0; r == 0 && i < KURA_RECOVERY_CODES; i++) {
		for (j = 0; j < KURA_RECOVERY_CODE_CHARS; j++)
			norm[j] = RC_ALPHABET[randombytes_uniform(sizeof(RC_ALPHABET) - 1)];
		norm[j] = '\0';
		for (j = 0, o = 0; j < KURA_RECOVERY_CODE_CHARS; j++) {
			if (j && j % 4 == 0)
				ret[i][o++] = '-';
			ret[i][o++] = norm[j];
		}
		ret[i][o] = '\0';
		r = code_hash(tenant_id, account_id, norm, h);
		if (r == 0)
			r = db_exec(db, "INSERT INTO mfa_recovery_codes (tenant_id, account_id, code_hash, created_us)"
					" VALUES ($1, $2, $3, $4)", "iibi", tenant_id, account_id, h, sizeof(h), now);
	}
	sodium_memzero(norm, sizeof(norm));
	if (r < 0)
		sodium_memzero(ret, sizeof(recovery_codes_t));
	return r;
}

int recovery_issue_first_tx(struct db *db, int64_t tenant_id, int64_t account_id, recovery_codes_t ret,
			    bool *ret_issued)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM mfa_recovery_codes WHERE tenant_id = $1"
					  " AND account_id = $2", "ii", tenant_id, account_id);
	int64_t n = 0;
	int r = db_step(st);

	if (r > 0)
		n = db_int(st, 0);
	db_done(st);
	if (r < 0)
		return r;
	*ret_issued = false;
	if (n > 0)
		return 0;
	r = recovery_issue_tx(db, tenant_id, account_id, ret);
	if (r == 0)
		*ret_issued = true;
	return r;
}

int recovery_drop_if_unused_tx(struct db *db, int64_t tenant_id, int64_t account_id)
{
	struct mfa_state s;
	int r = mfa_state_get(db, tenant_id, account_id, &s);

	if (r == 0 && !mfa_state_enrolled(&s))
		r = db_exec(db, "DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND account_id = $2",
			    "ii", tenant_id, account_id);
	return r;
}

int recovery_regenerate(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
			recovery_codes_t ret)
{
	struct mfa_state s;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, a->tenant_id);   /* codes only while a factor is enrolled */
	if (r == 0)
		r = mfa_state_get(db, a->tenant_id, a->id, &s);
	if (r == 0 && !mfa_state_enrolled(&s))
		r = -EPERM;
	if (r == 0)
		r = recovery_issue_tx(db, a->tenant_id, a->id, ret);
	if (r == 0)
		r = session_factor_changed_tx(db, who, a->tenant_id, a->id, session_id, NULL);
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.recovery_codes.regenerate", AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		sodium_memzero(ret, sizeof(recovery_codes_t));
	}
	return r;
}

int recovery_use_tx(struct db *db, int64_t tenant_id, int64_t account_id, const char *code)
{
	char norm[KURA_RECOVERY_CODE_CHARS + 1];
	unsigned char h[RC_HASH_BYTES];
	int r;

	if (!code || normalise(code, norm) < 0)
		return -EACCES;
	r = code_hash(tenant_id, account_id, norm, h);
	sodium_memzero(norm, sizeof(norm));
	if (r < 0)
		return r;
	r = db_exec(db, "UPDATE mfa_recovery_codes SET used_us = $4 WHERE tenant_id = $1 AND account_id = $2"
			" AND code_hash = $3 AND used_us IS NULL", "iibi", tenant_id, account_id, h, sizeof(h),
		    clock_now_us());
	if (r == 0 && db_changes(db) != 1)
		r = -EACCES;
	return r;
}

json_t *recovery_codes_json(recovery_codes_t codes)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < KURA_RECOVERY_CODES; i++)
		json_array_append_new(arr, json_string(codes[i]));
	return arr;
}
