/*
 * Client certificates (auth/clientcert.c, issue 16): CSR validation (PEM shape, size,
 * signature, key type and size), issuing (subject, SAN URI, clientAuth, lifetime) and the
 * binding check of a presented certificate (tenant, account, revocation, validity).
 * CSRs are made with certtool in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/clientcert.h"
#include "core/config.h"
#include "crypto/crypto.h"
#include "notify/notify_int.h"
#include "store/db.h"
#include "tenant/tenant.h"

/* the static parts (the issuer, signing) for certificates no request can make: expired ones */
#include "../../src/auth/clientcert.c"

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
	unsigned char master[MASTER_KEY_BYTES];
	struct config cfg;
	struct tenant t, other;
	struct account boss, bob, other_bob;
	struct actor boss_actor;
};

static const struct actor operator_actor = { ACTOR_OPERATOR, 0, 0, "op", "", "" };

static int setup(void **state)
{
	static const char *const svcs[] = { "ZTNA" };
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[512], pw[32];

	if (!fx || crypto_init() < 0 || pwhash_set_params(1, 8192) < 0)
		return -1;
	str_copy(fx->dir, sizeof(fx->dir), "/tmp/kura-test-cc-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	str_printf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->db = db_open(fx->path, err, sizeof(err));
	if (!fx->db || db_migrate(fx->db) < 0)
		return -1;
	config_defaults(&fx->cfg);
	auth_configure(&fx->cfg);
	randombytes_buf(fx->master, sizeof(fx->master));
	if (clientcert_configure(fx->master) < 0 || outbox_set_key(fx->master) < 0)
		return -1;
	if (tenant_create(fx->db, &operator_actor, fx->master, "acme", "Acme", svcs, 1, NULL, 0, &fx->t) < 0 ||
	    tenant_create(fx->db, &operator_actor, fx->master, "other", "Other", svcs, 1, NULL, 0, &fx->other) < 0)
		return -1;
	if (account_create_with_password(fx->db, &operator_actor, &fx->t, "boss", "boss@example.com", "manager", pw,
					 sizeof(pw)) < 0 ||
	    account_create_with_password(fx->db, &operator_actor, &fx->t, "bob", "bob@example.com", "user", pw,
					 sizeof(pw)) < 0 ||
	    account_create_with_password(fx->db, &operator_actor, &fx->other, "bob", "bob@example.org", "user", pw,
					 sizeof(pw)) < 0 ||
	    account_get(fx->db, fx->t.id, "boss", &fx->boss) < 0 || account_get(fx->db, fx->t.id, "bob", &fx->bob) < 0 ||
	    account_get(fx->db, fx->other.id, "bob", &fx->other_bob) < 0)
		return -1;
	fx->boss_actor = (struct actor){ ACTOR_ACCOUNT, fx->t.id, fx->boss.id, "boss", "127.0.0.1", "cmocka" };
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[160];

	db_close(fx->db);
	str_printf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	clientcert_shutdown();
	free(fx);
	return 0;
}

/* certtool: a key of the given options and a CSR for it; returns the CSR PEM (malloc) */
static char *make_csr(const struct fixture *fx, const char *name, const char *key_opts)
{
	char cmd[1024], p[256];
	FILE *f;
	char *buf;
	long n;

	str_printf(p, sizeof(p), "%s/%s.tmpl", fx->dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("cn = \"whoever\"\n", f);
	fclose(f);
	str_printf(cmd, sizeof(cmd),
		   "certtool --generate-privkey %s --outfile %s/%s.key >/dev/null 2>&1 && certtool"
		   " --generate-request --no-text --load-privkey %s/%s.key --template %s/%s.tmpl --outfile %s/%s.csr"
		   " >/dev/null 2>&1", key_opts, fx->dir, name, fx->dir, name, fx->dir, name, fx->dir, name);
	assert_int_equal(system(cmd), 0);
	str_printf(p, sizeof(p), "%s/%s.csr", fx->dir, name);
	f = fopen(p, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static gnutls_datum_t pem_to_der(const char *pem)
{
	gnutls_datum_t in = { (unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem) }, der = { NULL, 0 };

	assert_int_equal(gnutls_pem_base64_decode2("CERTIFICATE", &in, &der), 0);
	return der;
}

static void test_csr_check(void **state)
{
	struct fixture *fx = *state;
	const char *why = NULL;
	char *csr, *big, *two;
	size_t n;

	csr = make_csr(fx, "ec", "--key-type ecdsa --curve secp256r1");
	assert_int_equal(clientcert_csr_check(csr, &why), 0);
	n = strlen(csr);
	/* two requests, or a certificate beside it */
	two = calloc(1, 2 * n + 1);
	memcpy(two, csr, n);
	memcpy(two + n, csr, n);
	assert_int_equal(clientcert_csr_check(two, &why), -EINVAL);
	/* a flipped byte in the body: the signature (or the DER) fails */
	memcpy(two, csr, n + 1);
	two[n / 2] = two[n / 2] == 'A' ? 'B' : 'A';
	assert_int_equal(clientcert_csr_check(two, &why), -EINVAL);
	free(two);
	/* too long */
	big = calloc(1, KURA_CSR_PEM_MAX + n + 2);
	memset(big, ' ', KURA_CSR_PEM_MAX + 1);
	memcpy(big + KURA_CSR_PEM_MAX + 1, csr, n);
	assert_int_equal(clientcert_csr_check(big, &why), -EINVAL);
	assert_non_null(strstr(why, "8192"));
	free(big);
	assert_int_equal(clientcert_csr_check("", &why), -EINVAL);
	assert_int_equal(clientcert_csr_check("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
					      &why), -EINVAL);
	free(csr);
	/* key types: Ed25519 and P-384 taken, RSA 1024 and P-521 refused */
	csr = make_csr(fx, "ed", "--key-type ed25519");
	assert_int_equal(clientcert_csr_check(csr, &why), 0);
	free(csr);
	csr = make_csr(fx, "p384", "--key-type ecdsa --curve secp384r1");
	assert_int_equal(clientcert_csr_check(csr, &why), 0);
	free(csr);
	csr = make_csr(fx, "p521", "--key-type ecdsa --curve secp521r1");
	assert_int_equal(clientcert_csr_check(csr, &why), -EINVAL);
	assert_non_null(strstr(why, "key"));
	free(csr);
	csr = make_csr(fx, "rsa1k", "--key-type rsa --bits 1024");
	assert_int_equal(clientcert_csr_check(csr, &why), -EINVAL);
	free(csr);
}

static void test_issue_and_bind(void **state)
{
	struct fixture *fx = *state;
	const char *why = NULL, *reason = NULL;
	char *csr = make_csr(fx, "bob", "--key-type ecdsa --curve secp256r1"), *pem = NULL, *pem2 = NULL;
	json_t *item = NULL, *item2 = NULL, *list = NULL;
	gnutls_x509_crt_t crt;
	gnutls_datum_t der, der2;
	char buf[256];
	size_t n = sizeof(buf);
	unsigned crit;

	assert_int_equal(clientcert_issue(fx->db, &fx->boss_actor, fx->t.id, fx->t.code, &fx->bob, "laptop", csr, &pem,
					  &item, &why), 0);
	assert_non_null(pem);
	assert_string_equal(json_string_value(json_object_get(item, "login")), "bob");
	der = pem_to_der(pem);
	/* what it says: CN = login, O = tenant, the SAN URI with the account id, clientAuth */
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER), 0);
	assert_int_equal(gnutls_x509_crt_get_dn(crt, buf, &n), 0);
	assert_non_null(strstr(buf, "CN=bob"));
	assert_non_null(strstr(buf, "O=acme"));
	n = sizeof(buf);
	assert_int_equal(gnutls_x509_crt_get_subject_alt_name(crt, 0, buf, &n, &crit), GNUTLS_SAN_URI);
	{
		char want[128];

		str_printf(want, sizeof(want), "urn:kura:tenant:acme:account:%lld", (long long)fx->bob.id);
		assert_string_equal(buf, want);
	}
	n = sizeof(buf);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(crt, 0, buf, &n, &crit), 0);
	assert_string_equal(buf, GNUTLS_KP_TLS_WWW_CLIENT);
	assert_int_equal(gnutls_x509_crt_get_ca_status(crt, &crit), 0);
	/* default lifetime: 365 days */
	assert_true(gnutls_x509_crt_get_expiration_time(crt) - gnutls_x509_crt_get_activation_time(crt) ==
		    365 * 86400 + 60);
	gnutls_x509_crt_deinit(crt);

	/* bound to bob of acme only */
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason), 0);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->boss.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "unbound");
	assert_int_equal(clientcert_check(fx->db, fx->other.id, fx->other.code, fx->other_bob.id, der.data, der.size,
					  &reason), -EACCES);
	assert_string_equal(reason, "untrusted");
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, NULL, 0, &reason), -EACCES);
	assert_string_equal(reason, "absent");
	der.data[der.size / 2] ^= 1;
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	der.data[der.size / 2] ^= 1;

	/* the other tenant's issuer is its own: its certificate does not pass in acme */
	assert_int_equal(clientcert_issue(fx->db, &operator_actor, fx->other.id, fx->other.code, &fx->other_bob, "pc",
					  csr, &pem2, &item2, &why), 0);
	der2 = pem_to_der(pem2);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der2.data, der2.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "untrusted");
	assert_int_equal(clientcert_check(fx->db, fx->other.id, fx->other.code, fx->other_bob.id, der2.data, der2.size,
					  &reason), 0);

	/* listed by tenant, revoked at once */
	assert_int_equal(clientcert_list(fx->db, fx->t.id, 0, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	assert_int_equal(clientcert_revoke(fx->db, &fx->boss_actor, fx->other.id,
					   json_integer_value(json_object_get(item, "id"))), -ENOENT);
	assert_int_equal(clientcert_revoke(fx->db, &fx->boss_actor, fx->t.id,
					   json_integer_value(json_object_get(item, "id"))), 0);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "revoked");

	gnutls_free(der.data);
	gnutls_free(der2.data);
	json_decref(item);
	json_decref(item2);
	free(pem);
	free(pem2);
	free(csr);
}

/* A certificate of the tenant's issuer, bound to the account and recorded, but outside its
 * validity period: refused as untrusted. */
static void test_expired(void **state)
{
	struct fixture *fx = *state;
	const char *why = NULL, *reason = NULL;
	char *csr = make_csr(fx, "old", "--key-type ecdsa --curve secp256r1"), *pem = NULL;
	char sha[CLIENTCERT_SHA256_HEX];
	struct issuer is = { 0 };
	gnutls_x509_crq_t crq = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der = { NULL, 0 };
	json_t *item = NULL;

	/* a valid one first, so the tenant has its issuer */
	assert_int_equal(clientcert_issue(fx->db, &fx->boss_actor, fx->t.id, fx->t.code, &fx->bob, "now", csr, &pem,
					  &item, &why), 0);
	assert_int_equal(csr_import(csr, &crq, &why), 0);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(issuer_load_tx(fx->db, fx->t.id, fx->t.code, &is), 0);
	assert_int_equal(issue_sign(&is, crq, fx->t.code, &fx->bob, -2, &crt), 0);
	assert_int_equal(crt_sha256(crt, sha), 0);
	assert_int_equal(db_exec(fx->db, "INSERT INTO client_certs (tenant_id, account_id, name, sha256, subject,"
					 " serial, not_before_us, not_after_us, created_us, created_by) VALUES ($1, $2,"
					 " 'old', $3, '', '00', 0, 1, 0, 0)", "iit", fx->t.id, fx->bob.id, sha), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), 0);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "untrusted");
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crq_deinit(crq);
	issuer_clear(&is);
	json_decref(item);
	free(pem);
	free(csr);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The tenant's own CA: a certificate it issued counts when its mapped field names the
 * account (here the SAN e-mail = the account's address); not a CA, not another's. */
static void test_own_ca(void **state)
{
	struct fixture *fx = *state;
	char cmd[2048], p[256], *ca, *leaf;
	const char *why = NULL, *reason = NULL;
	gnutls_datum_t der;
	json_t *item = NULL;

	str_printf(cmd, sizeof(cmd),
		   "cd %s && printf 'cn = ca\\nca\\ncert_signing_key\\n' > ca.tmpl && certtool --generate-privkey"
		   " --key-type ecdsa --outfile ca.key >/dev/null 2>&1 && certtool --generate-self-signed --load-privkey"
		   " ca.key --template ca.tmpl --outfile ca.crt >/dev/null 2>&1 &&"
		   " printf 'cn = someone\\nemail = BOB@example.com\\ntls_www_client\\nsigning_key\\n' > l.tmpl &&"
		   " certtool --generate-privkey --key-type ecdsa --outfile l.key >/dev/null 2>&1 && certtool"
		   " --generate-certificate --load-privkey l.key --load-ca-certificate ca.crt --load-ca-privkey ca.key"
		   " --template l.tmpl --outfile l.crt >/dev/null 2>&1", fx->dir);
	assert_int_equal(system(cmd), 0);
	str_printf(p, sizeof(p), "%s/ca.crt", fx->dir);
	ca = slurp(p);
	str_printf(p, sizeof(p), "%s/l.crt", fx->dir);
	leaf = slurp(p);
	der = pem_to_der(leaf);
	/* not listed: untrusted */
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "untrusted");
	assert_int_equal(clientcert_ca_add(fx->db, &fx->boss_actor, fx->t.id, leaf, &item, &why), -EINVAL);
	assert_int_equal(clientcert_ca_add(fx->db, &fx->boss_actor, fx->t.id, ca, &item, &why), 0);
	json_decref(item);
	assert_int_equal(clientcert_ca_add(fx->db, &fx->boss_actor, fx->t.id, ca, &item, &why), -EEXIST);
	/* the default mapping is the CN ("someone"): unbound */
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "unbound");
	assert_int_equal(clientcert_login_field_set(fx->db, &fx->boss_actor, fx->t.id, "email"), 0);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->boss.id, der.data, der.size, &reason),
			 -EACCES);
	/* an S/MIME certificate of the same CA for the same address is no device certificate
	 * (the security review): its extended key usage is e-mail protection only */
	{
		gnutls_datum_t smime;
		char *sm;

		str_printf(cmd, sizeof(cmd),
			   "cd %s && printf 'cn = someone\\nemail = BOB@example.com\\nemail_protection_key\\nsigning_key\\n'"
			   " > s.tmpl && certtool --generate-certificate --load-privkey l.key --load-ca-certificate ca.crt"
			   " --load-ca-privkey ca.key --template s.tmpl --outfile s.crt >/dev/null 2>&1", fx->dir);
		assert_int_equal(system(cmd), 0);
		str_printf(p, sizeof(p), "%s/s.crt", fx->dir);
		sm = slurp(p);
		smime = pem_to_der(sm);
		assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, smime.data, smime.size,
						  &reason), -EACCES);
		assert_string_equal(reason, "untrusted");
		gnutls_free(smime.data);
		free(sm);
	}
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason), 0);
	/* the other tenant does not trust acme's CA */
	assert_int_equal(clientcert_check(fx->db, fx->other.id, fx->other.code, fx->other_bob.id, der.data, der.size,
					  &reason), -EACCES);
	/* now on acme's list: revocable */
	{
		json_t *list = NULL;

		assert_int_equal(clientcert_list(fx->db, fx->t.id, 0, &list), 0);
		assert_int_equal(json_array_size(list), 1);
		assert_int_equal(clientcert_revoke(fx->db, &fx->boss_actor, fx->t.id,
						   json_integer_value(json_object_get(json_array_get(list, 0), "id"))), 0);
		json_decref(list);
	}
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "revoked");
	/* the row goes with its account (ON DELETE CASCADE): the revocation stays, so the device
	 * is not enrolled again on its next use (for a later account of that address) */
	assert_int_equal(db_exec(fx->db, "DELETE FROM client_certs WHERE tenant_id = $1", "i", fx->t.id), 0);
	assert_int_equal(clientcert_check(fx->db, fx->t.id, fx->t.code, fx->bob.id, der.data, der.size, &reason),
			 -EACCES);
	assert_string_equal(reason, "revoked");
	gnutls_free(der.data);
	free(ca);
	free(leaf);
}

static void test_policy(void **state)
{
	struct fixture *fx = *state;
	struct clientcert_policy p;

	assert_int_equal(clientcert_policy_get(fx->db, fx->t.id, &p), 0);
	assert_string_equal(p.policy, "off");
	assert_int_equal(p.lifetime_days, 365);
	assert_false(clientcert_required(&p, "manager"));
	assert_int_equal(clientcert_policy_set(fx->db, &fx->boss_actor, fx->t.id, "managers", 30, 1), 0);
	assert_int_equal(clientcert_policy_get(fx->db, fx->t.id, &p), 0);
	assert_true(clientcert_required(&p, "manager"));
	assert_false(clientcert_required(&p, "user"));
	assert_int_equal(p.lifetime_days, 30);
	assert_true(p.self_service);
	assert_int_equal(clientcert_policy_set(fx->db, &fx->boss_actor, fx->t.id, "some", 0, -1), -EINVAL);
	assert_int_equal(clientcert_policy_set(fx->db, &fx->boss_actor, fx->t.id, "all", 0, -1), 0);
	assert_int_equal(clientcert_policy_get(fx->db, fx->t.id, &p), 0);
	assert_true(clientcert_required(&p, "user"));
	assert_int_equal(p.lifetime_days, 30);
	/* the expiry notice: once, for what expires within 14 days only */
	{
		char *csr = make_csr(fx, "soon", "--key-type ecdsa --curve secp256r1"), *pem = NULL;
		const char *why = NULL;
		json_t *item = NULL;

		assert_int_equal(clientcert_issue(fx->db, &fx->boss_actor, fx->t.id, fx->t.code, &fx->bob, "soon", csr,
						  &pem, &item, &why), 0);   /* 30 days */
		assert_int_equal(clientcert_expiry_notify(fx->db), 0);
		free(pem);
		json_decref(item);
		assert_int_equal(clientcert_policy_set(fx->db, &fx->boss_actor, fx->t.id, NULL, 14, -1), 0);
		assert_int_equal(clientcert_issue(fx->db, &fx->boss_actor, fx->t.id, fx->t.code, &fx->bob, "soon", csr,
						  &pem, &item, &why), 0);
		assert_int_equal(clientcert_expiry_notify(fx->db), 1);
		assert_int_equal(clientcert_expiry_notify(fx->db), 0);
		free(pem);
		json_decref(item);
		free(csr);
	}
	/* the other tenant is untouched */
	assert_int_equal(clientcert_policy_get(fx->db, fx->other.id, &p), 0);
	assert_string_equal(p.policy, "off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_csr_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_and_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
