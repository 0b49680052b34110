/*
 * WebAuthn / FIDO2 relying party: registration and assertion ceremonies, verified with
 * libfido2 (ES256 and EdDSA credentials), several named credentials per account.
 *
 * Registration: webauthn_register_begin() stores the SHA-256 of a 32-byte random challenge
 * (5 minutes, bound to the account and the session that asked) and answers creation
 * options; webauthn_register_finish() checks clientDataJSON (type "webauthn.create", the
 * challenge, origin = public_url's origin, not cross-origin), decodes the attestation object
 * (libcbor), and lets libfido2 check the authenticator data (rpIdHash = SHA-256 of the RP ID,
 * user presence) and the attestation signature: "packed" with x5c (fido_cred_verify),
 * "packed" self-attestation (fido_cred_verify_self); "none" carries no signature, so the
 * rpIdHash and flags are checked here. The attestation certificate chain is not checked
 * against a trust store: kura does not restrict authenticator models.
 *
 * Assertion (login second step): clientDataJSON type "webauthn.get", challenge of the login
 * challenge, origin; fido_assert_verify() with the stored COSE public key checks rpIdHash,
 * user presence and the signature; the sign counter must increase unless authenticator and
 * record both say 0 (authenticators without a counter); a counter that does not increase is
 * refused and recorded (cloned authenticator?).
 *
 * SECURITY: every length is bounded (limits.h) before decoding, and the CBOR of the
 * attestation object and of the authenticator data (COSE key, extensions) is walked by
 * core/cborval.h before libcbor or libfido2 decode it: libcbor allocates what a header
 * declares before reading, so a 5-byte array header would otherwise cost gigabytes.
 * Credentials are looked up by tenant, account and credential id together, so another
 * account's or tenant's credential is simply not found.
 */
#include <stdlib.h>

#include <cbor.h>
#include <fido.h>
#include <fido/eddsa.h>
#include <fido/es256.h>
#include <sodium.h>

#include "auth/mfa_int.h"
#include "core/cborval.h"
#include "core/clock.h"
#include "store/db.h"

#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define FLAG_AT 0x40          /* attested credential data included */
#define FLAG_ED 0x80          /* extensions included */
#define AUTHDATA_FIXED 37     /* rpIdHash, flags, signCount */
#define ATTCRED_FIXED 18      /* aaguid, credentialIdLength */

struct blob {
	unsigned char *p;
	size_t n;
};

static void blob_clear(struct blob *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->n);
		free(b->p);
	}
	b->p = NULL;
	b->n = 0;
}

/* Decodes the base64url string member name of obj (at most max bytes). */
static int take_b64(json_t *obj, const char *name, size_t max, struct blob *ret)
{
	const char *s = json_string_value(json_object_get(obj, name));
	int r;

	if (!s || strlen(s) > (max * 4) / 3 + 4)
		return -EINVAL;
	ret->p = malloc(max ? max : 1);
	if (!ret->p)
		return -ENOMEM;
	r = b64url_decode(s, ret->p, max, &ret->n);
	if (r < 0)
		blob_clear(ret);
	return r;
}

/* The parts of a PublicKeyCredential (as the browser's JSON, base64url). */
struct credential {
	struct blob raw_id, client_data, att_obj, auth_data, sig;
};

static void credential_clear(struct credential *c)
{
	blob_clear(&c->raw_id);
	blob_clear(&c->client_data);
	blob_clear(&c->att_obj);
	blob_clear(&c->auth_data);
	blob_clear(&c->sig);
}

static int credential_parse(json_t *cred, bool assertion, struct credential *ret)
{
	json_t *resp = json_object_get(cred, "response");
	const char *type = json_string_value(json_object_get(cred, "type"));
	const char *id = json_string_value(json_object_get(cred, "id"));
	const char *raw = json_string_value(json_object_get(cred, "rawId"));
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(cred) || !json_is_object(resp) || !type || strcmp(type, "public-key") || !id ||
	    !raw || strcmp(id, raw))
		return -EINVAL;
	r = take_b64(cred, "rawId", KURA_WEBAUTHN_ID_MAX, &ret->raw_id);
	if (r == 0)
		r = take_b64(resp, "clientDataJSON", KURA_WEBAUTHN_CLIENTDATA_MAX, &ret->client_data);
	if (r == 0 && !assertion)
		r = take_b64(resp, "attestationObject", KURA_WEBAUTHN_ATTOBJ_MAX, &ret->att_obj);
	if (r == 0 && assertion)
		r = take_b64(resp, "authenticatorData", KURA_WEBAUTHN_ATTOBJ_MAX, &ret->auth_data);
	if (r == 0 && assertion)
		r = take_b64(resp, "signature", 1024, &ret->sig);
	if (r < 0)
		credential_clear(ret);
	return r;
}

/* clientDataJSON: type, challenge (its SHA-256 into ret_hash), origin, not cross-origin. */
static int client_data_check(const struct blob *cd, const char *want_type, unsigned char ret_hash[32],
			     const char **ret_reason)
{
	unsigned char challenge[KURA_WEBAUTHN_CHALLENGE + 8];
	json_error_t jerr;
	json_t *j = json_loadb((const char *)cd->p, cd->n, JSON_REJECT_DUPLICATES, &jerr);
	const char *type, *ch, *origin;
	size_t n = 0;
	int r = -EACCES;

	if (!json_is_object(j)) {
		*ret_reason = "clientDataJSON is not a JSON object";
		goto out;
	}
	type = json_string_value(json_object_get(j, "type"));
	ch = json_string_value(json_object_get(j, "challenge"));
	origin = json_string_value(json_object_get(j, "origin"));
	if (!type || strcmp(type, want_type)) {
		*ret_reason = "clientDataJSON type";
		goto out;
	}
	if (!origin || strcmp(origin, mfa_origin())) {
		*ret_reason = "origin";
		goto out;
	}
	if (json_is_true(json_object_get(j, "crossOrigin"))) {
		*ret_reason = "cross-origin";
		goto out;
	}
	if (!ch || b64url_decode(ch, challenge, sizeof(challenge), &n) < 0 || n != KURA_WEBAUTHN_CHALLENGE) {
		*ret_reason = "challenge";
		goto out;
	}
	crypto_hash_sha256(ret_hash, challenge, n);
	r = 0;
out:
	json_decref(j);
	return r;
}

/* ---------------------------------------------------------------- registration */

static int user_handle(struct db *db, const struct account *a, unsigned char ret[32])
{
	struct db_stmt *st = db_query(db, "SELECT handle FROM webauthn_users WHERE tenant_id = $1 AND account_id = $2",
				      "ii", a->tenant_id, a->id);
	const void *p;
	size_t n = 0;
	int r = db_step(st);

	if (r > 0) {
		p = db_blob(st, 0, &n);
		if (p && n == 32)
			memcpy(ret, p, 32);
		else
			r = -EIO;
	}
	db_done(st);
	if (r != 0)
		return r < 0 ? r : 0;
	randombytes_buf(ret, 32);
	return db_exec(db, "INSERT INTO webauthn_users (account_id, tenant_id, handle) VALUES ($1, $2, $3)",
		       "iib", a->id, a->tenant_id, ret, (size_t)32);
}

static json_t *cred_descriptors(struct db *db, int64_t tenant_id, int64_t account_id)
{
	struct db_stmt *st = db_query(db, "SELECT credential_id FROM webauthn_credentials WHERE tenant_id = $1"
					  " AND account_id = $2 ORDER BY id", "ii", tenant_id, account_id);
	json_t *arr = json_array();
	const void *p;
	size_t n;
	char *id;

	while (arr && db_step(st) > 0) {
		p = db_blob(st, 0, &n);
		id = p ? b64url_encode(p, n) : NULL;
		if (id)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "type", "public-key", "id", id));
		free(id);
	}
	db_done(st);
	return arr;
}

int webauthn_register_begin(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
			    const char *tenant_code, json_t **ret_options)
{
	unsigned char handle[32], challenge[KURA_WEBAUTHN_CHALLENGE], h[32];
	char user_name[KURA_TENANT_CODE_MAX + KURA_LOGIN_MAX + 2];
	int64_t now = clock_now_us();
	char *ch = NULL, *uh = NULL;
	json_t *opts = NULL;
	struct mfa_state s;
	int r;

	r = mfa_enrolment_allowed(db, a);
	if (r == 0)
		r = mfa_state_get(db, a->tenant_id, a->id, &s);
	if (r < 0)
		return r;
	if (s.n_webauthn >= KURA_WEBAUTHN_PER_ACCOUNT)
		return -E2BIG;
	randombytes_buf(challenge, sizeof(challenge));
	crypto_hash_sha256(h, challenge, sizeof(challenge));
	str_printf(user_name, sizeof(user_name), "%s:%s", tenant_code, a->login);
	r = db_begin(db);
	if (r < 0)
		return r;
	r = user_handle(db, a, handle);
	if (r == 0)
		r = db_exec(db, "DELETE FROM mfa_challenges WHERE account_id = $1 AND purpose = 'webauthn-register'",
			    "i", a->id);
	if (r == 0)
		r = db_exec(db, "INSERT INTO mfa_challenges (purpose, webauthn_hash, tenant_id, account_id, session_id,"
				" created_us, expires_us) VALUES ('webauthn-register', $1, $2, $3, $4, $5, $6)",
			    "biiiii", h, sizeof(h), a->tenant_id, a->id, session_id, now,
			    now + (int64_t)KURA_MFA_CHALLENGE_TTL_S * 1000000);
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.webauthn.register.begin", AUDIT_SUCCESS, NULL);
	if (r < 0)
		goto out;
	ch = b64url_encode(challenge, sizeof(challenge));
	uh = b64url_encode(handle, sizeof(handle));
	if (!ch || !uh) {
		r = -ENOMEM;
		goto out;
	}
	opts = json_pack("{s:{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:[{s:s, s:i}, {s:s, s:i}], s:i, s:s,"
			 " s:{s:s, s:s, s:b}, s:o}}",
			 "publicKey", "rp", "id", mfa_rp_id(), "name", "kura", "user", "id", uh, "name",
			 user_name, "displayName", *a->display_name ? a->display_name : a->login,
			 "challenge", ch, "pubKeyCredParams", "type", "public-key", "alg", COSE_ES256, "type",
			 "public-key", "alg", COSE_EDDSA, "timeout", KURA_MFA_CHALLENGE_TTL_S * 1000,
			 "attestation", "none", "authenticatorSelection", "userVerification", "preferred",
			 "residentKey", "discouraged", "requireResidentKey", 0, "excludeCredentials",
			 cred_descriptors(db, a->tenant_id, a->id));
	if (!opts) {
		r = -ENOMEM;
		goto out;
	}
	r = db_commit(db);
out:
	if (r < 0) {
		db_rollback(db);
		json_decref(opts);
		opts = NULL;
	}
	sodium_memzero(challenge, sizeof(challenge));
	free(ch);
	free(uh);
	if (r == 0)
		*ret_options = opts;
	return r;
}

/* Authenticator data (WebAuthn §6.1): rpIdHash, flags, signCount; the attested credential
 * data (aaguid, id length, id, COSE key) when AT is set, which registration needs and an
 * assertion does not carry; the extensions map when ED is set; nothing after. libfido2
 * cbor_load()s the COSE key and the extensions, so their CBOR is checked here first. */
static int authdata_check(const unsigned char *ad, size_t n, bool registration)
{
	size_t off = AUTHDATA_FIXED, id_len, n_items;
	unsigned char flags;

	if (!ad || n < AUTHDATA_FIXED)
		return -EINVAL;
	flags = ad[32];
	if (!!(flags & FLAG_AT) != registration)
		return -EINVAL;
	if (flags & FLAG_AT) {
		if (n - off < ATTCRED_FIXED)
			return -EINVAL;
		id_len = ((size_t)ad[off + 16] << 8) | ad[off + 17];
		off += ATTCRED_FIXED;
		if (id_len > n - off)
			return -EINVAL;
		off += id_len;
	}
	n_items = (flags & FLAG_AT ? 1 : 0) + (flags & FLAG_ED ? 1 : 0);
	return cborval_sequence(ad + off, n - off, n_items, KURA_WEBAUTHN_CBOR_DEPTH_MAX);
}

struct attestation {
	cbor_item_t *root;
	const char *fmt;              /* points into fmt_buf */
	char fmt_buf[16];
	const unsigned char *auth_data;
	size_t n_auth_data;
	cbor_item_t *att_stmt;        /* borrowed from root */
	bool has_x5c;
};

static int attestation_parse(const struct blob *b, struct attestation *ret)
{
	struct cbor_load_result res;
	struct cbor_pair *pairs;
	size_t i, n;

	memset(ret, 0, sizeof(*ret));
	/* bounds first: cbor_load() allocates what the headers declare */
	if (cborval_item(b->p, b->n, KURA_WEBAUTHN_CBOR_DEPTH_MAX, &n) < 0 || n != b->n)
		return -EINVAL;
	ret->root = cbor_load(b->p, b->n, &res);
	if (!ret->root || res.error.code != CBOR_ERR_NONE || res.read != b->n || !cbor_isa_map(ret->root) ||
	    !cbor_map_is_definite(ret->root))
		return -EINVAL;
	pairs = cbor_map_handle(ret->root);
	n = cbor_map_size(ret->root);
	for (i = 0; i < n; i++) {
		cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
		size_t kl;

		if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
			return -EINVAL;
		kl = cbor_string_length(k);
		if (kl == 3 && !memcmp(cbor_string_handle(k), "fmt", 3)) {
			if (!cbor_isa_string(v) || !cbor_string_is_definite(v) ||
			    cbor_string_length(v) >= sizeof(ret->fmt_buf))
				return -EINVAL;
			memcpy(ret->fmt_buf, cbor_string_handle(v), cbor_string_length(v));
			ret->fmt_buf[cbor_string_length(v)] = '\0';
			ret->fmt = ret->fmt_buf;
		} else if (kl == 8 && !memcmp(cbor_string_handle(k), "authData", 8)) {
			if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
				return -EINVAL;
			ret->auth_data = cbor_bytestring_handle(v);
			ret->n_auth_data = cbor_bytestring_length(v);
		} else if (kl == 7 && !memcmp(cbor_string_handle(k), "attStmt", 7)) {
			struct cbor_pair *sp;
			size_t j;

			if (!cbor_isa_map(v) || !cbor_map_is_definite(v))
				return -EINVAL;
			ret->att_stmt = v;
			sp = cbor_map_handle(v);
			for (j = 0; j < cbor_map_size(v); j++)
				if (cbor_isa_string(sp[j].key) && cbor_string_is_definite(sp[j].key) &&
				    cbor_string_length(sp[j].key) == 3 &&
				    !memcmp(cbor_string_handle(sp[j].key), "x5c", 3))
					ret->has_x5c = true;
		}
	}
	if (!ret->fmt || !ret->auth_data || !ret->att_stmt)
		return -EINVAL;
	return authdata_check(ret->auth_data, ret->n_auth_data, true);
}

/* A fido_cred_t holding the authenticator data, for the first COSE type that parses. */
static fido_cred_t *cred_from_authdata(const unsigned char *ad, size_t n, int *ret_type)
{
	static const int types[] = { COSE_ES256, COSE_EDDSA };
	fido_cred_t *c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		c = fido_cred_new();
		if (!c)
			return NULL;
		if (fido_cred_set_type(c, types[i]) == FIDO_OK && fido_cred_set_authdata_raw(c, ad, n) == FIDO_OK) {
			*ret_type = types[i];
			return c;
		}
		fido_cred_free(&c);
	}
	return NULL;
}

static int verify_attestation(const struct attestation *att, const unsigned char cd_hash[32],
			      fido_cred_t *c, const char **ret_reason)
{
	unsigned char rp_hash[32];
	unsigned char *stmt = NULL;
	size_t stmt_cap = 0, stmt_len;
	int r = -EACCES, fr;

	if (fido_cred_set_clientdata_hash(c, cd_hash, 32) != FIDO_OK ||
	    fido_cred_set_rp(c, mfa_rp_id(), "kura") != FIDO_OK) {
		*ret_reason = "libfido2 refused the parameters";
		return -EACCES;
	}
	if (!strcmp(att->fmt, "none")) {
		/* no signature to check: rpIdHash and user presence by hand */
		crypto_hash_sha256(rp_hash, (const unsigned char *)mfa_rp_id(), strlen(mfa_rp_id()));
		if (cbor_map_size(att->att_stmt) != 0) {
			*ret_reason = "attestation \"none\" with a statement";
		} else if (sodium_memcmp(rp_hash, att->auth_data, 32) != 0) {
			*ret_reason = "rpIdHash";
		} else if (!(fido_cred_flags(c) & FLAG_UP)) {
			*ret_reason = "user presence";
		} else {
			r = 0;
		}
		return r;
	}
	if (strcmp(att->fmt, "packed")) {
		*ret_reason = "attestation format not accepted (none and packed are)";
		return -EACCES;
	}
	stmt_len = cbor_serialize_alloc(att->att_stmt, &stmt, &stmt_cap);
	if (!stmt_len || fido_cred_set_fmt(c, "packed") != FIDO_OK ||
	    fido_cred_set_attstmt(c, stmt, stmt_len) != FIDO_OK) {
		*ret_reason = "attestation statement";
		goto out;
	}
	fr = att->has_x5c ? fido_cred_verify(c) : fido_cred_verify_self(c);
	if (fr != FIDO_OK) {
		*ret_reason = fr == FIDO_ERR_INVALID_SIG ? "attestation signature" : "authenticator data";
		goto out;
	}
	r = 0;
out:
	free(stmt);
	return r;
}

static json_t *cred_row_json(struct db_stmt *st)
{
	char created[CLOCK_RFC3339_LEN], used[CLOCK_RFC3339_LEN];
	int64_t alg = db_int(st, 2), last = db_is_null(st, 6) ? 0 : db_int(st, 6);

	const void *cid;
	size_t n_cid = 0;
	char *cid_text;
	json_t *obj;

	clock_format_utc(db_int(st, 5), created, sizeof(created));
	if (last)
		clock_format_utc(last, used, sizeof(used));
	cid = db_blob(st, 7, &n_cid);
	cid_text = cid ? b64url_encode(cid, n_cid) : NULL;
	obj = json_pack("{s:I, s:s, s:s, s:s?, s:I, s:s, s:s, s:o}", "id", (json_int_t)db_int(st, 0), "name",
			db_text(st, 1), "algorithm", alg == COSE_EDDSA ? "EdDSA" : "ES256", "credential_id",
			cid_text, "sign_count", (json_int_t)db_int(st, 3), "attestation", db_text(st, 4),
			"created_at", created, "last_used_at", last ? json_string(used) : json_null());
	free(cid_text);
	return obj;
}

#define CRED_COLUMNS "id, name, alg, sign_count, fmt, created_us, last_used_us, credential_id"

static bool name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && utf8_is_clean_text(name, n) && utf8_length(name, n) <= KURA_WEBAUTHN_NAME_MAX;
}

int webauthn_register_finish(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
			     const char *name, json_t *credential, json_t **ret_cred, recovery_codes_t ret_codes,
			     bool *ret_issued, const char **ret_reason)
{
	struct credential cr;
	struct attestation att = { 0 };
	unsigned char cd_hash[32], ch_hash[32];
	fido_cred_t *c = NULL;
	json_t *details = NULL;
	struct db_stmt *st;
	int type = 0, r;
	int64_t id = 0, challenge_id = 0;

	*ret_issued = false;
	*ret_reason = "malformed credential";
	if (!name_valid(name))
		return -EINVAL;
	r = credential_parse(credential, false, &cr);
	if (r < 0)
		return r;
	r = client_data_check(&cr.client_data, "webauthn.create", ch_hash, ret_reason);
	if (r < 0)
		goto out;
	crypto_hash_sha256(cd_hash, cr.client_data.p, cr.client_data.n);
	r = attestation_parse(&cr.att_obj, &att);
	if (r < 0)
		goto out;
	c = cred_from_authdata(att.auth_data, att.n_auth_data, &type);
	if (!c) {
		*ret_reason = "authenticator data (ES256 and EdDSA credentials are accepted)";
		r = -EACCES;
		goto out;
	}
	r = verify_attestation(&att, cd_hash, c, ret_reason);
	if (r < 0)
		goto out;
	if (fido_cred_id_len(c) != cr.raw_id.n || memcmp(fido_cred_id_ptr(c), cr.raw_id.p, cr.raw_id.n)) {
		*ret_reason = "credential id differs from the authenticator data";
		r = -EACCES;
		goto out;
	}

	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_lock_tenant(db, a->tenant_id);   /* the challenge is found open, then spent */
	if (r < 0)
		goto rollback;
	/* the challenge: this account's, asked by this session, open; found by its hash */
	st = db_query(db, "SELECT id FROM mfa_challenges WHERE purpose = 'webauthn-register' AND tenant_id = $1"
			  " AND account_id = $2 AND session_id = $3 AND webauthn_hash = $4 AND used_us IS NULL"
			  " AND expires_us > $5", "iiibi", a->tenant_id, a->id, session_id, ch_hash,
		      sizeof(ch_hash), clock_now_us());
	r = db_step(st);
	if (r > 0)
		challenge_id = db_int(st, 0);
	db_done(st);
	if (r == 0) {
		*ret_reason = "no open registration for this challenge";
		r = -ENOENT;
	}
	if (r < 0)
		goto rollback;
	r = db_exec(db, "UPDATE mfa_challenges SET used_us = $2 WHERE id = $1", "ii", challenge_id, clock_now_us());
	if (r == 0)
		r = db_insert(db, &id, "INSERT INTO webauthn_credentials (tenant_id, account_id, credential_id, alg,"
				      " public_key, sign_count, fmt, name, created_us)"
				      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
			      "iibibitti", a->tenant_id, a->id, cr.raw_id.p, cr.raw_id.n, (int64_t)type,
			      fido_cred_pubkey_ptr(c), fido_cred_pubkey_len(c), (int64_t)fido_cred_sigcount(c),
			      att.fmt, name, clock_now_us());
	if (r < 0)
		goto rollback;
	r = recovery_issue_first_tx(db, a->tenant_id, a->id, ret_codes, ret_issued);
	if (r == 0) {
		details = json_pack("{s:s, s:s, s:s}", "name", name, "algorithm",
				    type == COSE_EDDSA ? "EdDSA" : "ES256", "attestation", att.fmt);
		r = session_factor_changed_tx(db, who, a->tenant_id, a->id, session_id, "webauthn");
		if (r == 0)
			r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.webauthn.register", AUDIT_SUCCESS,
				      details);
	}
	if (r == 0) {
		st = db_query(db, "SELECT " CRED_COLUMNS " FROM webauthn_credentials WHERE tenant_id = $1 AND id = $2",
			      "ii", a->tenant_id, id);
		if (db_step(st) > 0)
			*ret_cred = cred_row_json(st);
		else
			r = -EIO;
		db_done(st);
	}
	if (r == 0)
		r = db_commit(db);
rollback:
	if (r < 0) {
		db_rollback(db);
		*ret_issued = false;
		sodium_memzero(ret_codes, sizeof(recovery_codes_t));
	}
out:
	fido_cred_free(&c);
	if (att.root)
		cbor_decref(&att.root);
	credential_clear(&cr);
	json_decref(details);
	return r;
}

int webauthn_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT " CRED_COLUMNS " FROM webauthn_credentials WHERE tenant_id = $1"
					  " AND account_id = $2 ORDER BY id", "ii", tenant_id, account_id);
	json_t *arr = json_array();
	int r;

	while (arr && (r = db_step(st)) > 0)
		json_array_append_new(arr, cred_row_json(st));
	db_done(st);
	if (!arr)
		return -ENOMEM;
	*ret = arr;
	return 0;
}

int webauthn_remove(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
		    int64_t id)
{
	json_t *details = json_pack("{s:I}", "id", (json_int_t)id);
	int r = db_begin(db);

	if (r < 0) {
		json_decref(details);
		return r;
	}
	r = db_exec(db, "DELETE FROM webauthn_credentials WHERE tenant_id = $1 AND account_id = $2 AND id = $3",
		    "iii", a->tenant_id, a->id, id);
	if (r == 0 && db_changes(db) == 0)
		r = -ENOENT;
	if (r == 0)
		r = recovery_drop_if_unused_tx(db, a->tenant_id, a->id);
	if (r == 0)
		r = session_factor_changed_tx(db, who, a->tenant_id, a->id, session_id, NULL);
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.webauthn.remove", AUDIT_SUCCESS, details);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

/* ---------------------------------------------------------------- assertion */

int webauthn_request_options(struct db *db, int64_t tenant_id, int64_t account_id,
			     const unsigned char challenge[KURA_WEBAUTHN_CHALLENGE], json_t **ret)
{
	char *ch = b64url_encode(challenge, KURA_WEBAUTHN_CHALLENGE);
	json_t *opts;

	if (!ch)
		return -ENOMEM;
	opts = json_pack("{s:{s:s, s:s, s:i, s:s, s:o}}", "publicKey", "challenge", ch, "rpId", mfa_rp_id(),
			 "timeout", KURA_MFA_CHALLENGE_TTL_S * 1000, "userVerification", "preferred",
			 "allowCredentials", cred_descriptors(db, tenant_id, account_id));
	free(ch);
	if (!opts)
		return -ENOMEM;
	*ret = opts;
	return 0;
}

int webauthn_assert_tx(struct db *db, int64_t tenant_id, int64_t account_id, const unsigned char want_hash[32],
		       json_t *assertion, const char **ret_reason)
{
	struct credential cr;
	unsigned char ch_hash[32], cd_hash[32], pub[64];
	fido_assert_t *as = NULL;
	es256_pk_t *es = NULL;
	eddsa_pk_t *ed = NULL;
	struct db_stmt *st;
	const void *p;
	size_t n_pub = 0;
	int64_t row = 0, alg = 0, stored = 0;
	uint32_t count;
	int r;

	*ret_reason = "malformed assertion";
	r = credential_parse(assertion, true, &cr);
	if (r < 0)
		return r;
	r = authdata_check(cr.auth_data.p, cr.auth_data.n, false);
	if (r < 0) {
		*ret_reason = "authenticator data";
		goto out;
	}
	r = client_data_check(&cr.client_data, "webauthn.get", ch_hash, ret_reason);
	if (r < 0)
		goto out;
	if (sodium_memcmp(ch_hash, want_hash, 32) != 0) {
		*ret_reason = "challenge";
		r = -EACCES;
		goto out;
	}
	crypto_hash_sha256(cd_hash, cr.client_data.p, cr.client_data.n);
	st = db_query(db, "SELECT id, alg, public_key, sign_count FROM webauthn_credentials WHERE tenant_id = $1"
			  " AND account_id = $2 AND credential_id = $3", "iib", tenant_id, account_id,
		      cr.raw_id.p, cr.raw_id.n);
	r = db_step(st);
	if (r > 0) {
		row = db_int(st, 0);
		alg = db_int(st, 1);
		p = db_blob(st, 2, &n_pub);
		if (p && n_pub <= sizeof(pub))
			memcpy(pub, p, n_pub);
		else
			n_pub = 0;
		stored = db_int(st, 3);
	}
	db_done(st);
	if (r < 0)
		goto out;
	if (r == 0) {
		*ret_reason = "unknown credential";
		r = -EACCES;
		goto out;
	}
	r = -EACCES;
	*ret_reason = "signature";
	as = fido_assert_new();
	if (!as || fido_assert_set_rp(as, mfa_rp_id()) != FIDO_OK ||
	    fido_assert_set_clientdata_hash(as, cd_hash, sizeof(cd_hash)) != FIDO_OK ||
	    fido_assert_set_count(as, 1) != FIDO_OK ||
	    fido_assert_set_authdata_raw(as, 0, cr.auth_data.p, cr.auth_data.n) != FIDO_OK ||
	    fido_assert_set_sig(as, 0, cr.sig.p, cr.sig.n) != FIDO_OK ||
	    fido_assert_set_up(as, FIDO_OPT_TRUE) != FIDO_OK) {
		*ret_reason = "authenticator data";
		goto out;
	}
	if (alg == COSE_ES256) {
		es = es256_pk_new();
		if (!es || es256_pk_from_ptr(es, pub, n_pub) != FIDO_OK ||
		    fido_assert_verify(as, 0, COSE_ES256, es) != FIDO_OK)
			goto out;
	} else if (alg == COSE_EDDSA) {
		ed = eddsa_pk_new();
		if (!ed || eddsa_pk_from_ptr(ed, pub, n_pub) != FIDO_OK ||
		    fido_assert_verify(as, 0, COSE_EDDSA, ed) != FIDO_OK)
			goto out;
	} else {
		goto out;
	}
	count = fido_assert_sigcount(as, 0);
	if ((count != 0 || stored != 0) && (int64_t)count <= stored) {
		*ret_reason = "sign counter did not increase";
		goto out;
	}
	r = db_exec(db, "UPDATE webauthn_credentials SET sign_count = $3, last_used_us = $4"
			" WHERE tenant_id = $1 AND id = $2", "iiii", tenant_id, row, (int64_t)count, clock_now_us());
	if (r == 0)
		*ret_reason = NULL;
out:
	fido_assert_free(&as);
	es256_pk_free(&es);
	eddsa_pk_free(&ed);
	credential_clear(&cr);
	return r;
}
