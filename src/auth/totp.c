/*
 * TOTP (RFC 6238) with liboath: 160-bit secrets, SHA-1, 6 digits, 30-second steps, one step
 * of clock drift accepted either side. Enrolment gives an otpauth:// URI and its QR code
 * (libqrencode, rendered here as SVG) and is finished by a first valid code.
 *
 * Storage: the secret is sealed with XChaCha20-Poly1305 under a key derived from the master
 * key (mfa_seal_key()), associated data "kura totp" || tenant id || account id, so a sealed
 * secret copied to another account does not open. last_step keeps the highest accepted time
 * step; a code whose step is not above it is refused, so no code is accepted twice (also
 * not a code of an earlier step inside the window).
 *
 * SECURITY: the plain secret exists only in stack buffers that are wiped, and in the one
 * answer of the enrolment (URI and QR). Codes are compared in constant time
 * (oath_totp_validate4_callback with sodium_memcmp). Nothing secret is logged.
 */
#include <stdio.h>
#include <stdlib.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "auth/mfa_int.h"
#include "core/clock.h"
#include "store/db.h"

#define TOTP_DIGITS 6
#define TOTP_AD_PREFIX "kura totp"
#define TOTP_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TOTP_SEALED (TOTP_NONCE + KURA_TOTP_SECRET_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define TOTP_ALG "xchacha20poly1305"

static void totp_ad(int64_t tenant_id, int64_t account_id, unsigned char ad[sizeof(TOTP_AD_PREFIX) - 1 + 16])
{
	size_t n = sizeof(TOTP_AD_PREFIX) - 1;
	uint64_t t = (uint64_t)tenant_id, a = (uint64_t)account_id;
	int i;

	memcpy(ad, TOTP_AD_PREFIX, n);
	for (i = 7; i >= 0; i--) {
		ad[n + (size_t)i] = (unsigned char)(t & 0xff);
		ad[n + 8 + (size_t)i] = (unsigned char)(a & 0xff);
		t >>= 8;
		a >>= 8;
	}
}

static int seal(int64_t tenant_id, int64_t account_id, const unsigned char secret[KURA_TOTP_SECRET_BYTES],
		unsigned char out[TOTP_SEALED])
{
	unsigned char ad[sizeof(TOTP_AD_PREFIX) - 1 + 16];
	unsigned long long n = 0;

	if (!mfa_seal_key())
		return -EIO;
	totp_ad(tenant_id, account_id, ad);
	randombytes_buf(out, TOTP_NONCE);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + TOTP_NONCE, &n, secret, KURA_TOTP_SECRET_BYTES,
						       ad, sizeof(ad), NULL, out, mfa_seal_key()) != 0)
		return -EIO;
	return 0;
}

static int unseal(int64_t tenant_id, int64_t account_id, const void *sealed, size_t n_sealed,
		  unsigned char ret[KURA_TOTP_SECRET_BYTES])
{
	unsigned char ad[sizeof(TOTP_AD_PREFIX) - 1 + 16];
	const unsigned char *in = sealed;
	unsigned long long n = 0;

	if (!mfa_seal_key() || !sealed || n_sealed != TOTP_SEALED)
		return -EIO;
	totp_ad(tenant_id, account_id, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ret, &n, NULL, in + TOTP_NONCE, n_sealed - TOTP_NONCE,
						       ad, sizeof(ad), in, mfa_seal_key()) != 0 ||
	    n != KURA_TOTP_SECRET_BYTES) {
		sodium_memzero(ret, KURA_TOTP_SECRET_BYTES);
		return -EIO;
	}
	return 0;
}

/* ---------------------------------------------------------------- QR code as SVG */

static char *qr_svg(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	size_t cap, len = 0;
	char *svg = NULL;
	int x, y, w, quiet = 4, n;

	if (!qr)
		return NULL;
	w = qr->width;
	cap = 256 + (size_t)w * (size_t)w * 24;
	svg = malloc(cap);
	if (!svg)
		goto out;
	n = snprintf(svg, cap,
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
		     "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		     w + 2 * quiet, w + 2 * quiet);
	len = (size_t)n;
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x++) {
			if (!(qr->data[y * w + x] & 1))
				continue;
			n = snprintf(svg + len, cap - len, "M%d %dh1v1h-1z", x + quiet, y + quiet);
			if (n < 0 || (size_t)n >= cap - len)
				goto fail;
			len += (size_t)n;
		}
	n = snprintf(svg + len, cap - len, "\"/></svg>");
	if (n < 0 || (size_t)n >= cap - len)
		goto fail;
	goto out;
fail:
	sodium_memzero(svg, cap);
	free(svg);
	svg = NULL;
out:
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return svg;
}

void totp_enrolment_clear(struct totp_enrolment *e)
{
	sodium_memzero(e->secret_b32, sizeof(e->secret_b32));
	sodium_memzero(e->uri, sizeof(e->uri));
	if (e->qr_svg) {
		sodium_memzero(e->qr_svg, strlen(e->qr_svg));
		free(e->qr_svg);
	}
	e->qr_svg = NULL;
}

/* ---------------------------------------------------------------- enrolment */

int totp_begin(struct db *db, const struct actor *who, const struct account *a, const char *tenant_code,
	       struct totp_enrolment *ret)
{
	unsigned char secret[KURA_TOTP_SECRET_BYTES], sealed[TOTP_SEALED];
	struct totp_enrolment e = { 0 };
	struct mfa_state s;
	char *b32 = NULL;
	size_t b32_len = 0;
	int r;

	r = mfa_enrolment_allowed(db, a);
	if (r == 0)
		r = mfa_state_get(db, a->tenant_id, a->id, &s);
	if (r < 0)
		return r;
	if (s.totp)
		return -EEXIST;
	randombytes_buf(secret, sizeof(secret));
	r = seal(a->tenant_id, a->id, secret, sealed);
	if (r < 0)
		goto out;
	if (oath_base32_encode((const char *)secret, sizeof(secret), &b32, &b32_len) != OATH_OK) {
		r = -ENOMEM;
		goto out;
	}
	/* RFC 4648 padding is not used in otpauth URIs */
	while (b32_len > 0 && b32[b32_len - 1] == '=')
		b32[--b32_len] = '\0';
	r = str_copy(e.secret_b32, sizeof(e.secret_b32), b32);
	/* label: issuer prefix "kura:", account name "tenant:login" (":" escaped as %3A) */
	if (r == 0)
		r = str_printf(e.uri, sizeof(e.uri),
			       "otpauth://totp/kura:%s%%3A%s?secret=%s&issuer=kura&algorithm=SHA1&digits=%d&period=%d",
			       tenant_code, a->login, b32, TOTP_DIGITS, KURA_TOTP_STEP_S);
	if (r < 0)
		goto out;
	e.qr_svg = qr_svg(e.uri);
	if (!e.qr_svg) {
		r = -ENOMEM;
		goto out;
	}
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_exec(db, "DELETE FROM mfa_totp WHERE tenant_id = $1 AND account_id = $2 AND confirmed_us IS NULL",
		    "ii", a->tenant_id, a->id);
	if (r == 0)
		r = db_exec(db, "INSERT INTO mfa_totp (account_id, tenant_id, alg, secret_sealed, created_us)"
				" VALUES ($1, $2, $3, $4, $5)", "iitbi", a->id, a->tenant_id, TOTP_ALG, sealed,
			    sizeof(sealed), clock_now_us());
	if (r == -EEXIST)
		r = -EEXIST;   /* a concurrent enrolment confirmed meanwhile */
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.totp.begin", AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
out:
	sodium_memzero(secret, sizeof(secret));
	if (b32) {
		sodium_memzero(b32, b32_len);
		free(b32);
	}
	if (r < 0) {
		totp_enrolment_clear(&e);
		return r;
	}
	*ret = e;
	return 0;
}

static bool code_well_formed(const char *code)
{
	size_t i;

	if (!code || strlen(code) != TOTP_DIGITS)
		return false;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

static int ct_compare(void *handle, const char *test_otp)
{
	const char *given = handle;

	return sodium_memcmp(given, test_otp, TOTP_DIGITS) == 0 ? 0 : 1;
}

/* Checks code against the secret of row (confirmed or not); *ret_step is its time step. */
static int check_code(int64_t tenant_id, int64_t account_id, const void *sealed, size_t n_sealed,
		      const char *code, int64_t *ret_step)
{
	unsigned char secret[KURA_TOTP_SECRET_BYTES];
	uint64_t counter = 0;
	int pos = 0, v, r;

	if (!code_well_formed(code))
		return -EACCES;
	r = unseal(tenant_id, account_id, sealed, n_sealed, secret);
	if (r < 0)
		return r;
	v = oath_totp_validate4_callback((const char *)secret, sizeof(secret),
					 (time_t)(clock_now_us() / 1000000), KURA_TOTP_STEP_S, 0,
					 TOTP_DIGITS, KURA_TOTP_WINDOW, &pos, &counter, 0, ct_compare,
					 (void *)code);
	sodium_memzero(secret, sizeof(secret));
	if (v < 0)
		return -EACCES;
	*ret_step = (int64_t)counter;
	return 0;
}

int totp_confirm(struct db *db, const struct actor *who, int64_t session_id, const struct account *a,
		 const char *code, recovery_codes_t ret_codes, bool *ret_issued)
{
	struct db_stmt *st;
	unsigned char sealed[TOTP_SEALED];
	const void *p;
	size_t n = 0;
	int64_t step = 0;
	int r;

	*ret_issued = false;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, a->tenant_id);   /* the first recovery codes are issued once */
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT secret_sealed FROM mfa_totp WHERE tenant_id = $1 AND account_id = $2"
			  " AND confirmed_us IS NULL", "ii", a->tenant_id, a->id);
	r = db_step(st);
	if (r > 0) {
		p = db_blob(st, 0, &n);
		if (p && n == sizeof(sealed))
			memcpy(sealed, p, n);
		else
			n = 0;
	}
	db_done(st);
	if (r == 0)
		r = -ENOENT;
	if (r < 0)
		goto out;
	r = check_code(a->tenant_id, a->id, sealed, n, code, &step);
	if (r == 0)
		r = db_exec(db, "UPDATE mfa_totp SET confirmed_us = $3, last_step = $4"
				" WHERE tenant_id = $1 AND account_id = $2 AND confirmed_us IS NULL",
			    "iiii", a->tenant_id, a->id, clock_now_us(), step);
	if (r == 0)
		r = recovery_issue_first_tx(db, a->tenant_id, a->id, ret_codes, ret_issued);
	/* the enrolling session just proved the code; every other session ends */
	if (r == 0)
		r = session_factor_changed_tx(db, who, a->tenant_id, a->id, session_id, "totp");
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.totp.enrol", AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0) {
		db_rollback(db);
		*ret_issued = false;
		sodium_memzero(ret_codes, sizeof(recovery_codes_t));
	}
	sodium_memzero(sealed, sizeof(sealed));
	return r;
}

int totp_remove(struct db *db, const struct actor *who, int64_t session_id, const struct account *a)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_exec(db, "DELETE FROM mfa_totp WHERE tenant_id = $1 AND account_id = $2", "ii", a->tenant_id, a->id);
	if (r == 0 && db_changes(db) == 0)
		r = -ENOENT;
	if (r == 0)
		r = recovery_drop_if_unused_tx(db, a->tenant_id, a->id);
	if (r == 0)
		r = session_factor_changed_tx(db, who, a->tenant_id, a->id, session_id, NULL);
	if (r == 0)
		r = mfa_audit(db, who, a->tenant_id, a->login, "mfa.totp.remove", AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int totp_verify_tx(struct db *db, int64_t tenant_id, int64_t account_id, const char *code,
		   const char **ret_reason)
{
	unsigned char sealed[TOTP_SEALED];
	struct db_stmt *st;
	const void *p;
	size_t n = 0;
	int64_t last = 0, step = 0;
	int r;

	st = db_query(db, "SELECT secret_sealed, last_step FROM mfa_totp WHERE tenant_id = $1"
			  " AND account_id = $2 AND confirmed_us IS NOT NULL", "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0) {
		p = db_blob(st, 0, &n);
		if (p && n == sizeof(sealed))
			memcpy(sealed, p, n);
		else
			n = 0;
		last = db_int(st, 1);
	}
	db_done(st);
	if (r < 0)
		return r;
	if (r == 0) {
		*ret_reason = "no TOTP enrolled";
		return -EACCES;
	}
	r = check_code(tenant_id, account_id, sealed, n, code, &step);
	sodium_memzero(sealed, sizeof(sealed));
	if (r == -EACCES) {
		*ret_reason = "wrong code";
		return r;
	}
	if (r < 0)
		return r;
	if (step <= last) {
		*ret_reason = "code already used";
		return -EACCES;
	}
	r = db_exec(db, "UPDATE mfa_totp SET last_step = $3 WHERE tenant_id = $1 AND account_id = $2"
			" AND last_step < $3", "iii", tenant_id, account_id, step);
	if (r == 0 && db_changes(db) != 1) {
		*ret_reason = "code already used";
		return -EACCES;
	}
	return r;
}
