/*
 * Client certificates (issue 16): the tenant's issuer, issuing from a CSR, the policy, the
 * list and revocation, and the check of a presented certificate (auth/clientcert.h).
 *
 * The issuer is an Ed25519 key made on a tenant's first issue: its 32-byte seed is wrapped
 * like a tenant key (XChaCha20-Poly1305 under a key derived from the master key, associated
 * data "kura cert issuer" || tenant_id, so a wrapped seed copied to another tenant does not
 * unwrap) and its self-signed CA certificate (CN "kura client CA", O = tenant code, CA:TRUE,
 * pathlen 0, keyCertSign) is kept beside it. Issued certificates: subject CN = login,
 * O = tenant code; SAN URI urn:kura:tenant:<code>:account:<id>; clientAuth only; not a CA;
 * 128-bit random serial; the key of the CSR (never its subject or extensions).
 *
 * SECURITY: a CSR is hostile input: bounded (KURA_CSR_PEM_MAX), one PEM block, its
 * signature verified, its key type and size checked before anything is signed. The
 * unwrapped seed lives in sodium_malloc'ed memory and is wiped on every path. A presented
 * certificate must chain to the tenant's issuer (GnuTLS, with its validity period), carry
 * the SAN URI of that tenant and account, and be an unrevoked row of client_certs for
 * (tenant, account, SHA-256): checked in the database on every request.
 */
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/clientcert.h"
#include "core/clock.h"
#include "core/log.h"
#include "notify/mail.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define CC_KDF_CONTEXT "kuracert"
#define CC_AD_PREFIX "kura cert issuer"
#define CC_SEED_BYTES 32
#define CC_WRAPPED_BYTES (24 + CC_SEED_BYTES + 16)
#define CC_SERIAL_BYTES 16
#define CC_ISSUER_DAYS (20 * 366)
#define CC_URI_MAX (64 + KURA_TENANT_CODE_MAX)

static unsigned char *cc_wrap_key;   /* sodium_malloc'ed, read-only after configure */

int clientcert_configure(const unsigned char *master)
{
	if (!master)
		return -EINVAL;
	if (!cc_wrap_key) {
		cc_wrap_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
		if (!cc_wrap_key)
			return -ENOMEM;
	}
	sodium_mprotect_readwrite(cc_wrap_key);
	if (crypto_kdf_derive_from_key(cc_wrap_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 1,
				       CC_KDF_CONTEXT, master) != 0) {
		sodium_free(cc_wrap_key);
		cc_wrap_key = NULL;
		return -EIO;
	}
	sodium_mprotect_readonly(cc_wrap_key);
	return 0;
}

void clientcert_shutdown(void)
{
	if (cc_wrap_key)
		sodium_free(cc_wrap_key);
	cc_wrap_key = NULL;
}

static void cc_ad(int64_t tenant_id, unsigned char ad[sizeof(CC_AD_PREFIX) - 1 + 8])
{
	uint64_t u = (uint64_t)tenant_id;
	size_t n = sizeof(CC_AD_PREFIX) - 1;
	int i;

	memcpy(ad, CC_AD_PREFIX, n);
	for (i = 7; i >= 0; i--) {
		ad[n + (size_t)i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
}

static int gt_errno(int gr)
{
	return gr == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
}

/* ---------------------------------------------------------------- policy */

int clientcert_policy_get(struct db *db, int64_t tenant_id, struct clientcert_policy *ret)
{
	struct db_stmt *st;
	int r;

	memset(ret, 0, sizeof(*ret));
	str_copy(ret->policy, sizeof(ret->policy), "off");
	str_copy(ret->login_field, sizeof(ret->login_field), "cn");
	ret->lifetime_days = 365;
	st = db_query(db, "SELECT policy, lifetime_days, self_service, login_field FROM tenant_client_certs"
			  " WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	if (r > 0) {
		str_copy(ret->policy, sizeof(ret->policy), db_text(st, 0));
		ret->lifetime_days = db_int(st, 1);
		ret->self_service = db_int(st, 2) != 0;
		str_copy(ret->login_field, sizeof(ret->login_field), db_text(st, 3));
	}
	db_done(st);
	return r < 0 ? r : 0;
}

bool clientcert_required(const struct clientcert_policy *p, const char *role)
{
	if (!strcmp(p->policy, "all"))
		return true;
	return !strcmp(p->policy, "managers") && role && !strcmp(role, "manager");
}

int clientcert_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
			  const char *policy, int64_t lifetime_days, int self_service)
{
	struct clientcert_policy p;
	json_t *det = NULL;
	int r;

	if ((policy && strcmp(policy, "off") && strcmp(policy, "managers") && strcmp(policy, "all")) ||
	    lifetime_days > KURA_CERT_LIFETIME_MAX_DAYS)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = clientcert_policy_get(db, tenant_id, &p);
	if (r < 0)
		goto out;
	if (policy)
		str_copy(p.policy, sizeof(p.policy), policy);
	if (lifetime_days > 0)
		p.lifetime_days = lifetime_days;
	if (self_service >= 0)
		p.self_service = self_service != 0;
	r = db_exec(db, "INSERT INTO tenant_client_certs (tenant_id, policy, lifetime_days, self_service)"
			" VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy,"
			" lifetime_days = excluded.lifetime_days, self_service = excluded.self_service",
		    "itii", tenant_id, p.policy, p.lifetime_days, (int64_t)p.self_service);
	if (r == 0) {
		det = json_pack("{s:s, s:I, s:b}", "client_certificate", p.policy, "lifetime_days",
				(json_int_t)p.lifetime_days, "self_service", p.self_service);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION,
							    .action = "client_certificate.policy",
							    .target = "tenant", .result = AUDIT_SUCCESS,
							    .details = det });
	}
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(det);
	return r;
}

int clientcert_login_field_set(struct db *db, const struct actor *who, int64_t tenant_id, const char *field)
{
	json_t *det = NULL;
	int r;

	if (!field || (strcmp(field, "cn") && strcmp(field, "email") && strcmp(field, "upn")))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_exec(db, "INSERT INTO tenant_client_certs (tenant_id, login_field) VALUES ($1, $2)"
			" ON CONFLICT (tenant_id) DO UPDATE SET login_field = excluded.login_field", "it", tenant_id, field);
	if (r == 0) {
		det = json_pack("{s:s}", "client_certificate_login_field", field);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION,
							    .action = "client_certificate.policy",
							    .target = "tenant", .result = AUDIT_SUCCESS,
							    .details = det });
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(det);
	return r;
}

/* ---------------------------------------------------------------- CSR */

static int csr_import(const char *pem, gnutls_x509_crq_t *ret, const char **ret_why)
{
	static const char begin[] = "-----BEGIN CERTIFICATE REQUEST-----";
	static const char begin_new[] = "-----BEGIN NEW CERTIFICATE REQUEST-----";
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t d;
	unsigned bits = 0;
	size_t n;
	int pk, gr;
	const char *first;

	*ret_why = "csr: is not a PEM certificate request";
	if (!pem)
		return -EINVAL;
	n = strlen(pem);
	if (n > KURA_CSR_PEM_MAX) {
		*ret_why = "csr: is longer than 8192 bytes";
		return -EINVAL;
	}
	/* exactly one PEM block, and it is a request (either label) */
	first = strstr(pem, "-----BEGIN ");
	if (!first || strstr(first + 1, "-----BEGIN ") ||
	    (strncmp(first, begin, sizeof(begin) - 1) && strncmp(first, begin_new, sizeof(begin_new) - 1)))
		return -EINVAL;
	if (gnutls_x509_crq_init(&crq) < 0)
		return -ENOMEM;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)n;
	if (gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto bad;
	if (gnutls_x509_crq_verify(crq, 0) < 0) {
		*ret_why = "csr: its signature does not verify";
		goto bad;
	}
	pk = gnutls_x509_crq_get_pk_algorithm(crq, &bits);
	*ret_why = "csr: the key must be Ed25519, ECDSA P-256 or P-384, or RSA of 2048 to 8192 bits";
	if (pk == GNUTLS_PK_RSA) {
		if (bits < 2048 || bits > KURA_CSR_RSA_BITS_MAX)
			goto bad;
	} else if (pk == GNUTLS_PK_ECDSA) {
		gnutls_pubkey_t pub = NULL;
		gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;

		gr = gnutls_pubkey_init(&pub);
		if (gr == 0)
			gr = gnutls_pubkey_import_x509_crq(pub, crq, 0);
		if (gr == 0)
			gr = gnutls_pubkey_export_ecc_raw(pub, &curve, NULL, NULL);
		if (pub)
			gnutls_pubkey_deinit(pub);
		if (gr < 0 || (curve != GNUTLS_ECC_CURVE_SECP256R1 && curve != GNUTLS_ECC_CURVE_SECP384R1))
			goto bad;
	} else if (pk != GNUTLS_PK_EDDSA_ED25519) {
		goto bad;
	}
	*ret_why = NULL;
	*ret = crq;
	return 0;
bad:
	gnutls_x509_crq_deinit(crq);
	return -EINVAL;
}

int clientcert_csr_check(const char *pem, const char **ret_why)
{
	gnutls_x509_crq_t crq = NULL;
	int r = csr_import(pem, &crq, ret_why);

	if (crq)
		gnutls_x509_crq_deinit(crq);
	return r;
}

/* ---------------------------------------------------------------- issuer */

struct issuer {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

static void issuer_clear(struct issuer *is)
{
	if (is->key)
		gnutls_x509_privkey_deinit(is->key);
	if (is->crt)
		gnutls_x509_crt_deinit(is->crt);
	memset(is, 0, sizeof(*is));
}

static int issuer_key_from_seed(const unsigned char *seed, gnutls_x509_privkey_t *ret)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	gnutls_datum_t x = { pk, sizeof(pk) }, k = { (unsigned char *)(uintptr_t)seed, CC_SEED_BYTES };
	gnutls_x509_privkey_t key = NULL;
	int r = 0;

	if (!sk)
		return -ENOMEM;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0 || gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k) < 0) {
		r = -EIO;
		if (key)
			gnutls_x509_privkey_deinit(key);
	} else {
		*ret = key;
	}
	sodium_free(sk);
	return r;
}

static int random_serial(gnutls_x509_crt_t crt)
{
	unsigned char serial[CC_SERIAL_BYTES];

	randombytes_buf(serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	return gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
}

static int issuer_make_cert(gnutls_x509_privkey_t key, const char *tenant_code, gnutls_x509_crt_t *ret)
{
	static const char cn[] = "kura client CA";
	unsigned char key_id[64];
	size_t key_id_size = sizeof(key_id);
	time_t now = (time_t)(clock_now_us() / 1000000);
	gnutls_x509_crt_t crt = NULL;
	int gr;

	if ((gr = gnutls_x509_crt_init(&crt)) < 0 || (gr = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (gr = random_serial(crt)) < 0 ||
	    (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, sizeof(cn) - 1)) < 0 ||
	    (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, tenant_code,
						 (unsigned)strlen(tenant_code))) < 0 ||
	    (gr = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (gr = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (gr = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (gr = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size)) < 0 ||
	    (gr = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
	    (gr = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)CC_ISSUER_DAYS * 86400)) < 0 ||
	    (gr = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA512, 0)) < 0) {
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return gt_errno(gr);
	}
	*ret = crt;
	return 0;
}

static int import_crt_pem(const char *pem, gnutls_x509_crt_t *ret)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem) };
	gnutls_x509_crt_t crt = NULL;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		gnutls_x509_crt_deinit(crt);
		return -EIO;
	}
	*ret = crt;
	return 0;
}

/* The tenant's issuer certificate only (for verification); -ENOENT when it has none. */
static int issuer_cert(struct db *db, int64_t tenant_id, gnutls_x509_crt_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT issuer_pem FROM tenant_client_certs WHERE tenant_id = $1"
					  " AND issuer_pem IS NOT NULL", "i", tenant_id);
	int r = db_step(st);

	if (r > 0)
		r = import_crt_pem(db_text(st, 0), ret);
	else if (r == 0)
		r = -ENOENT;
	db_done(st);
	return r;
}

/* The issuer with its key, made (and stored) when the tenant has none yet. Inside the
 * caller's transaction, with the tenant's lock. */
static int issuer_load_tx(struct db *db, int64_t tenant_id, const char *tenant_code, struct issuer *ret)
{
	unsigned char ad[sizeof(CC_AD_PREFIX) - 1 + 8];
	unsigned char wrapped[CC_WRAPPED_BYTES];
	unsigned char *seed = NULL;
	unsigned long long n_out = 0;
	gnutls_datum_t pem = { NULL, 0 };
	struct issuer is = { 0 };
	struct db_stmt *st;
	const void *blob;
	size_t n = 0;
	bool have = false;
	int r;

	if (!cc_wrap_key)
		return -ENOKEY;
	seed = sodium_malloc(CC_SEED_BYTES);
	if (!seed)
		return -ENOMEM;
	cc_ad(tenant_id, ad);
	st = db_query(db, "SELECT issuer_key, issuer_pem FROM tenant_client_certs WHERE tenant_id = $1"
			  " AND issuer_key IS NOT NULL", "i", tenant_id);
	r = db_step(st);
	if (r > 0) {
		blob = db_blob(st, 0, &n);
		if (n != sizeof(wrapped) ||
		    crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &n_out, NULL, (const unsigned char *)blob + 24,
							       n - 24, ad, sizeof(ad), blob, cc_wrap_key) != 0 ||
		    n_out != CC_SEED_BYTES)
			r = -EACCES;
		else
			r = import_crt_pem(db_text(st, 1), &is.crt);
		have = true;
	}
	db_done(st);
	if (r < 0)
		goto out;
	if (!have) {
		randombytes_buf(seed, CC_SEED_BYTES);
		randombytes_buf(wrapped, 24);
		crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + 24, &n_out, seed, CC_SEED_BYTES, ad,
							   sizeof(ad), NULL, wrapped, cc_wrap_key);
	}
	r = issuer_key_from_seed(seed, &is.key);
	if (r < 0)
		goto out;
	if (!have) {
		r = issuer_make_cert(is.key, tenant_code, &is.crt);
		if (r == 0 && gnutls_x509_crt_export2(is.crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
			r = -EIO;
		if (r == 0)
			r = db_exec(db, "INSERT INTO tenant_client_certs (tenant_id, issuer_key, issuer_pem)"
					" VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET"
					" issuer_key = excluded.issuer_key, issuer_pem = excluded.issuer_pem",
				    "ibt", tenant_id, wrapped, sizeof(wrapped), (const char *)pem.data);
		if (r < 0)
			goto out;
	}
	*ret = is;
	memset(&is, 0, sizeof(is));
out:
	gnutls_free(pem.data);
	issuer_clear(&is);
	sodium_free(seed);
	return r;
}

/* ---------------------------------------------------------------- issue */

static void account_uri(char *buf, size_t size, const char *tenant_code, int64_t account_id)
{
	str_printf(buf, size, "urn:kura:tenant:%s:account:%lld", tenant_code, (long long)account_id);
}

static int crt_sha256(gnutls_x509_crt_t crt, char ret[CLIENTCERT_SHA256_HEX])
{
	unsigned char fp[32];
	size_t n = sizeof(fp);

	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &n) < 0 || n != sizeof(fp))
		return -EIO;
	hex_encode(fp, n, ret);
	return 0;
}

static void crt_subject(gnutls_x509_crt_t crt, char *ret, size_t size)
{
	size_t n = size;

	if (gnutls_x509_crt_get_dn(crt, ret, &n) < 0)
		ret[0] = 0;
	ret[size - 1] = 0;
}

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!us || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

#define CC_COLS "c.id, a.login, c.name, c.sha256, c.subject, c.serial, c.not_before_us, c.not_after_us," \
		" c.created_us, COALESCE(c.revoked_us, 0)"

static json_t *row_json(struct db_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)db_int(st, 0),
			 "login", db_text(st, 1), "name", db_text(st, 2), "sha256", db_text(st, 3), "subject",
			 db_text(st, 4), "serial", db_text(st, 5), "not_before", time_json(db_int(st, 6)),
			 "not_after", time_json(db_int(st, 7)), "created_at", time_json(db_int(st, 8)),
			 "revoked_at", time_json(db_int(st, 9)));
}

static int issue_sign(const struct issuer *is, gnutls_x509_crq_t crq, const char *tenant_code,
		      const struct account *a, int64_t days, gnutls_x509_crt_t *ret)
{
	char uri[CC_URI_MAX];
	unsigned char key_id[64];
	size_t key_id_size = sizeof(key_id);
	time_t now = (time_t)(clock_now_us() / 1000000);
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	int gr;

	account_uri(uri, sizeof(uri), tenant_code, a->id);
	if ((gr = gnutls_pubkey_init(&pub)) < 0 || (gr = gnutls_pubkey_import_x509_crq(pub, crq, 0)) < 0 ||
	    (gr = gnutls_x509_crt_init(&crt)) < 0 || (gr = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (gr = random_serial(crt)) < 0 || (gr = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 ||
	    (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, a->login,
						 (unsigned)strlen(a->login))) < 0 ||
	    (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, tenant_code,
						 (unsigned)strlen(tenant_code))) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, uri, (unsigned)strlen(uri),
							GNUTLS_FSAN_SET)) < 0 ||
	    (gr = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (gr = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (gr = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
	    (gr = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size)) < 0) {
		/* fails below */
	}
	if (gr >= 0) {   /* the authority key id: the issuer's subject key id */
		key_id_size = sizeof(key_id);
		if ((gr = gnutls_x509_crt_get_subject_key_id(is->crt, key_id, &key_id_size, NULL)) >= 0)
			gr = gnutls_x509_crt_set_authority_key_id(crt, key_id, key_id_size);
	}
	if (gr >= 0 && (gr = gnutls_x509_crt_set_activation_time(crt, now - 60)) >= 0 &&
	    (gr = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400)) >= 0)
		gr = gnutls_x509_crt_sign2(crt, is->crt, is->key, GNUTLS_DIG_SHA512, 0);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (gr < 0) {
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return gt_errno(gr);
	}
	*ret = crt;
	return 0;
}

int clientcert_issue(struct db *db, const struct actor *who, int64_t tenant_id,
		     const char *tenant_code, const struct account *a, const char *name,
		     const char *csr_pem, char **ret_pem, json_t **ret_item, const char **ret_why)
{
	struct clientcert_policy pol;
	struct issuer is = { 0 };
	gnutls_x509_crq_t crq = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	char sha[CLIENTCERT_SHA256_HEX], subject[KURA_CERT_SUBJECT_MAX + 1], serial_hex[2 * CC_SERIAL_BYTES + 1];
	unsigned char serial[CC_SERIAL_BYTES + 4];
	size_t serial_n = sizeof(serial);
	json_t *det = NULL, *item = NULL;
	struct db_stmt *st;
	char *out = NULL;
	int64_t id = 0, now = clock_now_us(), nb, na;
	int r;

	r = csr_import(csr_pem, &crq, ret_why);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		goto out_free;
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = clientcert_policy_get(db, tenant_id, &pol);
	if (r == 0) {
		st = db_query(db, "SELECT COUNT(*) FROM client_certs WHERE tenant_id = $1 AND account_id = $2"
				  " AND revoked_us IS NULL AND not_after_us > $3", "iii", tenant_id, a->id, now);
		r = db_step(st);
		if (r > 0)
			r = db_int(st, 0) >= KURA_CERTS_PER_ACCOUNT ? -E2BIG : 0;
		db_done(st);
	}
	if (r == 0)
		r = issuer_load_tx(db, tenant_id, tenant_code, &is);
	if (r == 0)
		r = issue_sign(&is, crq, tenant_code, a, pol.lifetime_days, &crt);
	if (r < 0)
		goto out;
	if (crt_sha256(crt, sha) < 0 || gnutls_x509_crt_get_serial(crt, serial, &serial_n) < 0 ||
	    serial_n > CC_SERIAL_BYTES + 1 || gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) < 0) {
		r = -EIO;
		goto out;
	}
	hex_encode(serial, serial_n > CC_SERIAL_BYTES ? CC_SERIAL_BYTES : serial_n, serial_hex);
	crt_subject(crt, subject, sizeof(subject));
	nb = (int64_t)gnutls_x509_crt_get_activation_time(crt) * 1000000;
	na = (int64_t)gnutls_x509_crt_get_expiration_time(crt) * 1000000;
	r = db_insert(db, &id, "INSERT INTO client_certs (tenant_id, account_id, name, sha256, subject, serial,"
			       " not_before_us, not_after_us, created_us, created_by) VALUES ($1, $2, $3, $4, $5,"
			       " $6, $7, $8, $9, $10) RETURNING id",
		      "iittttiiii", tenant_id, a->id, name, sha, subject, serial_hex, nb, na, now, who->account_id);
	if (r == 0) {
		char target[KURA_LOGIN_MAX + 16];

		str_printf(target, sizeof(target), "account:%s", a->login);
		det = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "name", name, "sha256", sha,
				"subject", subject);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION,
							    .action = "client_certificate.issue", .target = target,
							    .result = AUDIT_SUCCESS, .details = det });
	}
	if (r == 0) {
		st = db_query(db, "SELECT " CC_COLS " FROM client_certs c JOIN accounts a ON a.id = c.account_id"
				  " WHERE c.tenant_id = $1 AND c.id = $2", "ii", tenant_id, id);
		r = db_step(st);
		if (r > 0)
			item = row_json(st);
		r = r < 0 ? r : item ? 0 : -ENOMEM;
		db_done(st);
	}
	if (r == 0) {
		out = strdup((const char *)pem.data);
		r = out ? db_commit(db) : -ENOMEM;
	}
out:
	if (r < 0)
		db_rollback(db);
out_free:
	if (r == 0) {
		*ret_pem = out;
		*ret_item = item;
		out = NULL;
		item = NULL;
	}
	free(out);
	json_decref(item);
	json_decref(det);
	gnutls_free(pem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (crq)
		gnutls_x509_crq_deinit(crq);
	issuer_clear(&is);
	return r;
}

/* ---------------------------------------------------------------- list, revoke */

int clientcert_list(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT " CC_COLS " FROM client_certs c JOIN accounts a ON a.id = c.account_id"
			  " AND a.tenant_id = c.tenant_id WHERE c.tenant_id = $1 AND ($2 = 0 OR c.account_id = $2)"
			  " ORDER BY c.id DESC LIMIT $3", "iii", tenant_id, account_id, (int64_t)KURA_CERT_LIST_MAX);
	while ((r = db_step(st)) > 0)
		json_array_append_new(arr, row_json(st));
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int clientcert_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	json_t *det = NULL;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_exec(db, "UPDATE client_certs SET revoked_us = $3 WHERE tenant_id = $1 AND id = $2"
			" AND revoked_us IS NULL", "iii", tenant_id, id, clock_now_us());
	if (r == 0 && db_changes(db) != 1) {
		struct db_stmt *st = db_query(db, "SELECT 1 FROM client_certs WHERE tenant_id = $1 AND id = $2",
					      "ii", tenant_id, id);

		r = db_step(st);
		r = r < 0 ? r : r == 0 ? -ENOENT : 1;   /* 1: revoked already, nothing to do */
		db_done(st);
	}
	/* the revocation outlives the row, which goes with its account */
	if (r == 0)
		r = db_exec(db, "INSERT INTO client_cert_revocations (tenant_id, sha256, revoked_us)"
				" SELECT tenant_id, sha256, revoked_us FROM client_certs WHERE tenant_id = $1 AND id = $2"
				" ON CONFLICT (tenant_id, sha256) DO NOTHING", "ii", tenant_id, id);
	if (r == 0) {
		det = json_pack("{s:I}", "id", (json_int_t)id);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION,
							    .action = "client_certificate.revoke",
							    .target = "client_certificate", .result = AUDIT_SUCCESS,
							    .details = det });
	}
	if (r >= 0) {
		r = db_commit(db);
	}
	if (r < 0)
		db_rollback(db);
	json_decref(det);
	return r;
}

/* ---------------------------------------------------------------- the tenant's own CAs */

static json_t *ca_row_json(struct db_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)db_int(st, 0), "subject", db_text(st, 1),
			 "sha256", db_text(st, 2), "not_after", time_json(db_int(st, 3)), "created_at",
			 time_json(db_int(st, 4)));
}

int clientcert_ca_add(struct db *db, const struct actor *who, int64_t tenant_id, const char *pem,
		      json_t **ret_item, const char **ret_why)
{
	gnutls_x509_crt_t crt = NULL;
	char sha[CLIENTCERT_SHA256_HEX], subject[KURA_CERT_SUBJECT_MAX + 1];
	const char *first;
	json_t *det = NULL, *item = NULL;
	struct db_stmt *st;
	unsigned crit = 0;
	int64_t id = 0, now = clock_now_us(), na;
	time_t now_s = (time_t)(now / 1000000);
	int r;

	*ret_why = "pem: is not one PEM CA certificate";
	if (!pem || strlen(pem) > KURA_CERT_PEM_MAX)
		return -EINVAL;
	first = strstr(pem, "-----BEGIN ");
	if (!first || strncmp(first, "-----BEGIN CERTIFICATE-----", 27) || strstr(first + 1, "-----BEGIN "))
		return -EINVAL;
	if (import_crt_pem(pem, &crt) < 0)
		return -EINVAL;
	r = -EINVAL;
	if (gnutls_x509_crt_get_ca_status(crt, &crit) <= 0) {
		*ret_why = "pem: is not a CA certificate (basicConstraints CA:TRUE)";
		goto out_free;
	}
	if (gnutls_x509_crt_get_expiration_time(crt) <= now_s || gnutls_x509_crt_get_activation_time(crt) > now_s) {
		*ret_why = "pem: the CA certificate is not in its validity period";
		goto out_free;
	}
	if (crt_sha256(crt, sha) < 0)
		goto out_free;
	crt_subject(crt, subject, sizeof(subject));
	na = (int64_t)gnutls_x509_crt_get_expiration_time(crt) * 1000000;
	*ret_why = NULL;
	r = db_begin(db);
	if (r < 0)
		goto out_free;
	r = db_lock_tenant(db, tenant_id);
	if (r == 0) {
		st = db_query(db, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sha256 = $2 THEN 1 ELSE 0 END), 0)"
				  " FROM tenant_client_cas WHERE tenant_id = $1", "it", tenant_id, sha);
		r = db_step(st);
		if (r > 0)
			r = db_int(st, 1) ? -EEXIST : db_int(st, 0) >= KURA_CLIENT_CAS_MAX ? -E2BIG : 0;
		db_done(st);
	}
	if (r == 0)
		r = db_insert(db, &id, "INSERT INTO tenant_client_cas (tenant_id, pem, subject, sha256, not_after_us,"
				       " created_us) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", "itttii", tenant_id,
			      pem, subject, sha, na, now);
	if (r == 0) {
		det = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "subject", subject, "sha256", sha);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION, .action = "client_ca.add",
							    .target = "tenant", .result = AUDIT_SUCCESS, .details = det });
	}
	if (r == 0) {
		st = db_query(db, "SELECT id, subject, sha256, not_after_us, created_us FROM tenant_client_cas"
				  " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id);
		r = db_step(st);
		if (r > 0)
			item = ca_row_json(st);
		r = r < 0 ? r : item ? 0 : -ENOMEM;
		db_done(st);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0) {
		*ret_item = item;
		item = NULL;
	}
out_free:
	json_decref(item);
	json_decref(det);
	gnutls_x509_crt_deinit(crt);
	return r;
}

int clientcert_ca_list(struct db *db, int64_t tenant_id, json_t **ret)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT id, subject, sha256, not_after_us, created_us FROM tenant_client_cas"
			  " WHERE tenant_id = $1 ORDER BY id", "i", tenant_id);
	while ((r = db_step(st)) > 0)
		json_array_append_new(arr, ca_row_json(st));
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int clientcert_ca_delete(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	json_t *det = NULL;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_exec(db, "DELETE FROM tenant_client_cas WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0) {
		det = json_pack("{s:I}", "id", (json_int_t)id);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_ADMINISTRATION, .action = "client_ca.delete",
							    .target = "tenant", .result = AUDIT_SUCCESS, .details = det });
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(det);
	return r;
}

/* Whether crt's field (cn, email, upn) names the account (login, or its e-mail address for
 * the SAN kinds). */
/* A certificate meant for a TLS client: when it has an extended key usage, TLS client
 * authentication (or any purpose) is among them; when it has a key usage, digital signature
 * is. An S/MIME or server certificate of the same CA is not a device certificate. */
static bool client_purpose_ok(gnutls_x509_crt_t crt)
{
	unsigned int usage = 0, critical = 0, i;
	char oid[128];
	size_t n;
	bool any_eku = false, client = false;
	int r;

	for (i = 0;; i++) {
		n = sizeof(oid);
		r = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &n, &critical);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0)
			return false;
		any_eku = true;
		if (!strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) || !strcmp(oid, GNUTLS_KP_ANY))
			client = true;
	}
	if (any_eku && !client)
		return false;
	r = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return true;
	return r >= 0 && (usage & GNUTLS_KEY_DIGITAL_SIGNATURE);
}

static bool external_names(gnutls_x509_crt_t crt, const char *field, const char *login, const char *email)
{
	char buf[KURA_EMAIL_MAX + 2];
	unsigned i;

	if (!strcmp(field, "cn")) {
		size_t n = sizeof(buf) - 1;

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &n) < 0 ||
		    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, NULL, &(size_t){ 0 }) !=
			    GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return false;   /* none, or more than one CN */
		buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = 0;
		return strlen(buf) == n && !strcmp(buf, login);
	}
	for (i = 0; i < 16; i++) {
		size_t n = sizeof(buf) - 1;
		unsigned crit;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &n, &crit);

		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t < 0)
			continue;
		if (!strcmp(field, "email") ? t != GNUTLS_SAN_RFC822NAME
					    : !(t == GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL ||
						(t == GNUTLS_SAN_OTHERNAME &&
						 gnutls_x509_crt_get_subject_alt_othername_oid(crt, i, NULL, &(size_t){ 0 }) ==
							 GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL)))
			continue;
		buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = 0;
		if (strlen(buf) != n)
			continue;
		/* an e-mail SAN names the account by its (non-empty) address only; a UPN by its
		 * address or its login */
		if ((*email && !strcasecmp(buf, email)) || (!strcmp(field, "upn") && !strcmp(buf, login)))
			return true;
	}
	return false;
}

/* A certificate of one of the tenant's own CAs that names the account: 0, and it is on the
 * tenant's list from now on (so managers see and revoke it); -EACCES with *ret_reason. */
static int external_check(struct db *db, int64_t tenant_id, int64_t account_id, gnutls_x509_crt_t crt,
			  const char *sha, const char **ret_reason)
{
	gnutls_x509_crt_t cas[KURA_CLIENT_CAS_MAX];
	struct clientcert_policy pol;
	char login[KURA_LOGIN_MAX + 1] = "", email[KURA_EMAIL_MAX + 1] = "", subject[KURA_CERT_SUBJECT_MAX + 1];
	unsigned n = 0, i, status = 0;
	struct db_stmt *st;
	int r;

	st = db_query(db, "SELECT pem FROM tenant_client_cas WHERE tenant_id = $1 ORDER BY id LIMIT $2", "ii",
		      tenant_id, (int64_t)KURA_CLIENT_CAS_MAX);
	while ((r = db_step(st)) > 0 && n < KURA_CLIENT_CAS_MAX)
		if (import_crt_pem(db_text(st, 0), &cas[n]) == 0)
			n++;
	db_done(st);
	if (r < 0)
		goto out;
	r = -EACCES;   /* no CA of its own, or none that signed it: "untrusted" */
	if (n == 0)
		goto out;
	/* the chain, at GnuTLS's "medium" security profile (no MD5/SHA-1 signatures, no RSA
	 * under 2048 bits), for a client certificate that is not itself a CA */
	if (gnutls_x509_crt_verify(crt, cas, n, GNUTLS_PROFILE_TO_VFLAGS(GNUTLS_PROFILE_MEDIUM), &status) < 0 ||
	    status != 0 || gnutls_x509_crt_get_ca_status(crt, NULL) > 0 || !client_purpose_ok(crt))
		goto out;
	*ret_reason = "unbound";
	r = clientcert_policy_get(db, tenant_id, &pol);
	if (r == 0) {
		st = db_query(db, "SELECT login, COALESCE(email, '') FROM accounts WHERE tenant_id = $1 AND id = $2", "ii",
			      tenant_id, account_id);
		r = db_step(st);
		if (r > 0) {
			str_copy(login, sizeof(login), db_text(st, 0));
			str_copy(email, sizeof(email), db_text(st, 1));
		}
		r = r < 0 ? r : r == 0 ? -EACCES : 0;
		db_done(st);
	}
	if (r == 0 && !external_names(crt, pol.login_field, login, email))
		r = -EACCES;
	if (r < 0)
		goto out;
	/* on the list: the binding (tenant, account, SHA-256) and revocation as for kura's own */
	st = db_query(db, "SELECT account_id, COALESCE(revoked_us, 0) FROM client_certs WHERE tenant_id = $1"
			  " AND sha256 = $2", "it", tenant_id, sha);
	r = db_step(st);
	if (r > 0) {
		*ret_reason = db_int(st, 0) != account_id ? "unbound" : db_int(st, 1) ? "revoked" : NULL;
		r = *ret_reason ? -EACCES : 0;
		db_done(st);
		goto out;
	}
	db_done(st);
	if (r < 0)
		goto out;
	/* revoked once, revoked for good: not enrolled again for a later account */
	st = db_query(db, "SELECT 1 FROM client_cert_revocations WHERE tenant_id = $1 AND sha256 = $2", "it",
		      tenant_id, sha);
	r = db_step(st);
	db_done(st);
	if (r != 0) {
		if (r > 0) {
			*ret_reason = "revoked";
			r = -EACCES;
		}
		goto out;
	}
	crt_subject(crt, subject, sizeof(subject));
	if (db_in_transaction(db)) {
		r = -EACCES;
		goto out;
	}
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_exec(db, "INSERT INTO client_certs (tenant_id, account_id, name, sha256, subject, serial,"
			" not_before_us, not_after_us, created_us, created_by) VALUES ($1, $2, 'tenant CA', $3, $4,"
			" '', $5, $6, $7, 0) ON CONFLICT (tenant_id, sha256) DO NOTHING",
		    "iittiii", tenant_id, account_id, sha, subject,
		    (int64_t)gnutls_x509_crt_get_activation_time(crt) * 1000000,
		    (int64_t)gnutls_x509_crt_get_expiration_time(crt) * 1000000, clock_now_us());
	if (r == 0 && db_changes(db) != 1) {
		/* another request enrolled it meanwhile, maybe for another account: that row decides */
		int k;

		st = db_query(db, "SELECT account_id, COALESCE(revoked_us, 0) FROM client_certs WHERE tenant_id = $1"
				  " AND sha256 = $2", "it", tenant_id, sha);
		k = db_step(st);
		*ret_reason = k <= 0 || db_int(st, 0) != account_id ? "unbound" : db_int(st, 1) ? "revoked" : NULL;
		db_done(st);
		r = k < 0 ? k : *ret_reason ? -EACCES : 0;
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0)
		*ret_reason = NULL;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(cas[i]);
	return r;
}

/* ---------------------------------------------------------------- check */

void clientcert_describe(const unsigned char *der, size_t n, struct clientcert_seen *ret)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)der, (unsigned)n };
	gnutls_x509_crt_t crt = NULL;

	memset(ret, 0, sizeof(*ret));
	if (!der || !n || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) == 0) {
		if (crt_sha256(crt, ret->sha256) < 0)
			ret->sha256[0] = 0;
		crt_subject(crt, ret->subject, sizeof(ret->subject));
	}
	gnutls_x509_crt_deinit(crt);
}

/* True when the certificate's SAN URIs hold exactly the expected one (and no other kura URI). */
static bool san_bound(gnutls_x509_crt_t crt, const char *want)
{
	char buf[CC_URI_MAX + 64];
	bool found = false;
	unsigned i;

	for (i = 0; i < 16; i++) {
		size_t n = sizeof(buf) - 1;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &n, NULL);

		if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (t == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (t < 0)
			return false;
		if (t != GNUTLS_SAN_URI)
			continue;
		buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = 0;
		if (strlen(buf) != n)
			return false;   /* a NUL inside */
		if (!strcmp(buf, want))
			found = true;
		else if (!strncmp(buf, "urn:kura:", 9))
			return false;
	}
	return found;
}

int clientcert_check(struct db *db, int64_t tenant_id, const char *tenant_code, int64_t account_id,
		     const unsigned char *der, size_t n, const char **ret_reason)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)der, (unsigned)n };
	gnutls_x509_crt_t crt = NULL, ca = NULL;
	char sha[CLIENTCERT_SHA256_HEX], uri[CC_URI_MAX];
	struct db_stmt *st;
	unsigned status = 0;
	int r;

	*ret_reason = "absent";
	if (!der || !n)
		return -EACCES;
	*ret_reason = "unparsable";
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0 || crt_sha256(crt, sha) < 0) {
		r = -EACCES;
		goto out;
	}
	*ret_reason = "untrusted";
	r = issuer_cert(db, tenant_id, &ca);
	if (r == -ENOENT || r == -EIO)
		r = -EACCES;   /* the tenant never issued one: only its own CAs can count */
	else if (r < 0)
		goto out;
	if (r == 0 && (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status != 0))
		r = -EACCES;
	if (r == 0 && gnutls_x509_crt_get_ca_status(crt, NULL) > 0)
		r = -EACCES;
	if (r < 0) {   /* not kura's: maybe one of the tenant's own CAs */
		r = external_check(db, tenant_id, account_id, crt, sha, ret_reason);
		goto out;
	}
	*ret_reason = "unbound";
	account_uri(uri, sizeof(uri), tenant_code, account_id);
	if (!san_bound(crt, uri)) {
		r = -EACCES;
		goto out;
	}
	st = db_query(db, "SELECT account_id, COALESCE(revoked_us, 0) FROM client_certs WHERE tenant_id = $1"
			  " AND sha256 = $2", "it", tenant_id, sha);
	r = db_step(st);
	if (r > 0) {
		*ret_reason = db_int(st, 0) != account_id ? "unbound" : db_int(st, 1) ? "revoked" : NULL;
		r = *ret_reason ? -EACCES : 0;
	} else if (r == 0) {
		*ret_reason = "unknown";
		r = -EACCES;
	}
	db_done(st);
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	return r;
}

/* ---------------------------------------------------------------- expiry notice */

int clientcert_expiry_notify(struct db *db)
{
	int64_t ids[KURA_CERT_EXPIRY_BATCH];
	int64_t now = clock_now_us(), soon = now + (int64_t)KURA_CERT_EXPIRY_NOTICE_DAYS * 86400 * 1000000;
	struct db_stmt *st;
	size_t n = 0, i;
	int queued = 0, r;

	st = db_query(db, "SELECT id FROM client_certs WHERE expiry_mailed = 0 AND not_after_us <= $1"
			  " AND not_after_us > $2 AND revoked_us IS NULL ORDER BY not_after_us LIMIT $3",
		      "iii", soon, now, (int64_t)KURA_CERT_EXPIRY_BATCH);
	while ((r = db_step(st)) > 0)
		ids[n++] = db_int(st, 0);
	db_done(st);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		char login[KURA_LOGIN_MAX + 1] = "", email[KURA_EMAIL_MAX + 1] = "", name[KURA_CERT_NAME_MAX * 4 + 1] = "",
		     sha[CLIENTCERT_SHA256_HEX] = "", status[16] = "";
		int64_t tenant_id = 0, not_after = 0;
		struct tenant t;

		r = db_begin(db);
		if (r < 0)
			return r;
		r = db_exec(db, "UPDATE client_certs SET expiry_mailed = 1 WHERE id = $1 AND expiry_mailed = 0", "i",
			    ids[i]);
		if (r == 0 && db_changes(db) != 1)
			r = 1;   /* taken by someone else */
		if (r == 0) {
			st = db_query(db, "SELECT c.tenant_id, a.login, a.email, c.name, c.sha256, c.not_after_us, a.status"
					  " FROM client_certs c JOIN accounts a ON a.id = c.account_id AND"
					  " a.tenant_id = c.tenant_id WHERE c.id = $1", "i", ids[i]);
			r = db_step(st);
			if (r > 0) {
				tenant_id = db_int(st, 0);
				str_copy(login, sizeof(login), db_text(st, 1));
				str_copy(email, sizeof(email), db_text(st, 2) ? db_text(st, 2) : "");
				str_copy(name, sizeof(name), db_text(st, 3));
				str_copy(sha, sizeof(sha), db_text(st, 4));
				not_after = db_int(st, 5);
				str_copy(status, sizeof(status), db_text(st, 6));
			}
			r = r < 0 ? r : r == 0 ? 1 : 0;
			db_done(st);
		}
		if (r == 0)
			r = tenant_get(db, tenant_id, &t);
		if (r == 0 && *email && !strcmp(status, "active")) {
			const struct mail_var vars[] = {
				MAIL_TEXT("tenant_name", t.name), MAIL_TEXT("tenant_code", t.code),
				MAIL_TEXT("login", login), MAIL_TEXT("cert_name", name),
				MAIL_TEXT("cert_sha256", sha), MAIL_TIME("expires_at", not_after),
			};
			const struct mail m = { .name = "client-certificate-expiry", .zone = t.zone, .vars = vars,
						.n_vars = ARRAY_SIZE(vars) };

			r = mail_queue(db, tenant_id, email, &m, NULL);
			if (r == 0)
				queued++;
		}
		if (r >= 0)
			r = db_commit(db);
		if (r < 0) {
			db_rollback(db);
			if (r == -EBUSY || r == -ENOSPC || r == -ENOMEM)
				return r;   /* for now: the next round tries again */
			/* this one cannot be mailed (a bad address, a template value): it must not
			 * block the others in every later round, so it is marked and logged */
			log_error("cert.expiry", "expiry notice of certificate %lld not sent: %s", (long long)ids[i],
				  strerror(-r));
			r = db_begin(db);
			if (r == 0)
				r = db_exec(db, "UPDATE client_certs SET expiry_mailed = 1 WHERE id = $1", "i", ids[i]);
			if (r == 0)
				r = db_commit(db);
			if (r < 0) {
				db_rollback(db);
				return r;
			}
		}
	}
	return queued;
}
