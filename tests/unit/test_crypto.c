/* Unit tests for crypto: tokens, Argon2id, password policy, key files, keyring, signing key,
 * self-signed TLS certificate. Files go to a mkdtemp directory under /tmp, removed after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/limits.h"
#include "crypto/crypto.h"

static char tmpdir[64];

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	assert_int_equal(str_printf(buf, size, "%s/%s", tmpdir, name), 0);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void test_token(void **state)
{
	char a[TOKEN_STR_LEN + 1], b[TOKEN_STR_LEN + 1], small[TOKEN_STR_LEN];
	unsigned char h1[TOKEN_HASH_BYTES], h2[TOKEN_HASH_BYTES], h3[TOKEN_HASH_BYTES];
	unsigned char expect[crypto_hash_sha256_BYTES];

	(void)state;
	assert_int_equal(token_new(a, sizeof(a)), 0);
	assert_int_equal(token_new(b, sizeof(b)), 0);
	assert_int_equal(token_new(small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(a), TOKEN_STR_LEN);
	assert_true(token_well_formed(a));
	assert_true(token_well_formed(b));
	assert_string_not_equal(a, b);

	assert_false(token_well_formed(NULL));
	assert_false(token_well_formed(""));
	assert_false(token_well_formed("abc"));
	assert_true(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa_"));
	assert_true(token_well_formed("0123456789abcdefghijklmnopqrstuvwxyzABCDE-_"));
	assert_false(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));   /* 42 */
	assert_false(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 44 */
	assert_false(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"));  /* std b64 */
	assert_false(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	assert_false(token_well_formed("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "));

	token_hash(a, h1);
	token_hash(a, h2);
	token_hash(b, h3);
	assert_memory_equal(h1, h2, sizeof(h1));
	assert_memory_not_equal(h1, h3, sizeof(h1));
	crypto_hash_sha256(expect, (const unsigned char *)a, strlen(a));
	assert_memory_equal(h1, expect, sizeof(h1));
	/* Known answer: SHA-256("abc"). */
	token_hash("abc", h1);
	assert_int_equal(h1[0], 0xba);
	assert_int_equal(h1[31], 0xad);
}

static void test_pwhash(void **state)
{
	char h1[PWHASH_STR_BYTES], h2[PWHASH_STR_BYTES];

	(void)state;
	assert_int_equal(pwhash_set_params(0, 8192), -EINVAL);
	assert_int_equal(pwhash_set_params(1, 1), -EINVAL);
	assert_int_equal(pwhash_set_params(1, 8192), 0);
	assert_int_equal(pwhash_hash("correct horse battery staple", h1), 0);
	assert_int_equal(pwhash_hash("correct horse battery staple", h2), 0);
	assert_true(strncmp(h1, "$argon2id$", 10) == 0);
	assert_non_null(strstr(h1, "m=8192,t=1,"));
	assert_string_not_equal(h1, h2);   /* salted */
	assert_int_equal(pwhash_verify(h1, "correct horse battery staple"), 0);
	assert_int_equal(pwhash_verify(h2, "correct horse battery staple"), 0);
	assert_int_equal(pwhash_verify(h1, "correct horse battery stapler"), -EACCES);
	assert_int_equal(pwhash_verify(h1, ""), -EACCES);
	assert_int_equal(pwhash_verify("not a hash", "x"), -EINVAL);
	pwhash_verify_dummy("whatever it is");
	pwhash_verify_dummy(NULL);
}

static void test_password_check(void **state)
{
	char long_pw[KURA_PASSWORD_MAX + 2];
	/* 12 code points, 36 bytes */
	const char *jp = "\xe3\x81\x8a\xe3\x81\xaf\xe3\x82\x88\xe3\x81\x86\xe7\xa9\xba\xe3\x81\xae"
			 "\xe8\x94\xb5\xe3\x81\xae\xe9\x8d\xb5\xe3\x82\x92\xe9\x96\x8b\xe3\x81\x91";
	int i;

	(void)state;
	assert_int_equal(password_check("short", NULL), PASSWORD_TOO_SHORT);
	assert_int_equal(password_check("elevenchars", NULL), PASSWORD_TOO_SHORT);
	assert_int_equal(password_check("twelve-chars", NULL), PASSWORD_OK);
	assert_int_equal(password_check("twelve-chars", "alice"), PASSWORD_OK);

	memset(long_pw, 'x', KURA_PASSWORD_MAX);
	long_pw[KURA_PASSWORD_MAX] = '\0';
	long_pw[5] = 'Q';
	assert_int_equal(password_check(long_pw, NULL), PASSWORD_OK);
	long_pw[KURA_PASSWORD_MAX] = 'y';
	long_pw[KURA_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(password_check(long_pw, NULL), PASSWORD_TOO_LONG);

	assert_int_equal(utf8_length(jp, strlen(jp)), 12);
	assert_int_equal(password_check(jp, NULL), PASSWORD_OK);
	assert_int_equal(password_check(jp + 3, NULL), PASSWORD_TOO_SHORT);   /* 11 */

	/* From the shipped list, in any case. */
	assert_int_equal(password_check("passwordpassword", NULL), PASSWORD_COMMON);
	assert_int_equal(password_check("PasswordPassword", NULL), PASSWORD_COMMON);
	assert_int_equal(password_check("123456789012", NULL), PASSWORD_COMMON);
	assert_int_equal(password_check("qwertyuiopasdfghjkl", NULL), PASSWORD_COMMON);
	assert_int_equal(password_check("passwordpassword!", NULL), PASSWORD_OK);

	assert_int_equal(password_check("alice.wonderland", "alice.wonderland"), PASSWORD_IS_LOGIN);
	assert_int_equal(password_check("Alice.Wonderland", "alice.WONDERLAND"), PASSWORD_IS_LOGIN);
	assert_int_equal(password_check("alice.wonderland", "alice"), PASSWORD_OK);

	assert_int_equal(password_check("twelve\nchars", NULL), PASSWORD_NOT_TEXT);
	assert_int_equal(password_check("twelve\x01" "chars!", NULL), PASSWORD_NOT_TEXT);
	assert_int_equal(password_check("twelve-chars\xff", NULL), PASSWORD_NOT_TEXT);
	assert_int_equal(password_check("with a tab\there", NULL), PASSWORD_OK);
	assert_int_equal(password_check(NULL, NULL), PASSWORD_NOT_TEXT);

	for (i = PASSWORD_OK; i <= PASSWORD_IS_LOGIN; i++) {
		assert_non_null(password_problem_text((enum password_problem)i));
		assert_true(strlen(password_problem_text((enum password_problem)i)) > 10);
	}
	assert_non_null(password_problem_text((enum password_problem)99));
}

static void test_keyfile(void **state)
{
	char path[256], other[256];
	unsigned char *key = NULL, *key2 = NULL;
	unsigned char junk[MASTER_KEY_BYTES] = { 1, 2, 3 };

	(void)state;
	path_in_tmp(path, sizeof(path), "master.key");
	assert_int_equal(keyfile_create(path, MASTER_KEY_BYTES), 0);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(keyfile_create(path, MASTER_KEY_BYTES), -EEXIST);
	assert_int_equal(keyfile_load(path, MASTER_KEY_BYTES, &key), 0);
	assert_non_null(key);
	assert_int_equal(keyfile_load(path, MASTER_KEY_BYTES, &key2), 0);
	assert_memory_equal(key, key2, MASTER_KEY_BYTES);
	key2 = keyfile_free(key2, MASTER_KEY_BYTES);
	assert_null(key2);
	assert_int_equal(keyfile_load(path, MASTER_KEY_BYTES + 1, &key2), -EINVAL);
	assert_null(key2);
	key = keyfile_free(key, MASTER_KEY_BYTES);
	assert_null(keyfile_free(NULL, 0));

	/* Readable by others: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(keyfile_load(path, MASTER_KEY_BYTES, &key), -EPERM);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keyfile_load(path, MASTER_KEY_BYTES, &key), -EPERM);
	assert_null(key);

	/* Wrong size: refused. */
	path_in_tmp(other, sizeof(other), "short.key");
	write_file(other, junk, sizeof(junk) - 1, 0600);
	assert_int_equal(keyfile_load(other, MASTER_KEY_BYTES, &key), -EINVAL);
	assert_null(key);

	path_in_tmp(other, sizeof(other), "missing.key");
	assert_int_equal(keyfile_load(other, MASTER_KEY_BYTES, &key), -ENOENT);
	assert_int_equal(keyfile_create(other, 0), -EINVAL);
	assert_int_equal(keyfile_create("/nonexistent-dir/x.key", 32), -ENOENT);
}

static void test_keyring(void **state)
{
	unsigned char master[MASTER_KEY_BYTES], other_master[MASTER_KEY_BYTES];
	unsigned char w1[WRAPPED_KEY_BYTES], w2[WRAPPED_KEY_BYTES], bad[WRAPPED_KEY_BYTES];
	unsigned char k1[TENANT_KEY_BYTES], k2[TENANT_KEY_BYTES], zero[TENANT_KEY_BYTES] = { 0 };
	size_t i;

	(void)state;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(other_master, sizeof(other_master));
	assert_int_equal(keyring_new_tenant_key(master, 7, 1, w1), 0);
	assert_int_equal(keyring_new_tenant_key(master, 7, 1, w2), 0);
	assert_memory_not_equal(w1, w2, sizeof(w1));   /* new key, new nonce */
	assert_int_equal(keyring_unwrap_tenant_key(master, 7, 1, w1, k1), 0);
	assert_int_equal(keyring_unwrap_tenant_key(master, 7, 1, w1, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_memory_not_equal(k1, zero, sizeof(k1));
	assert_int_equal(keyring_unwrap_tenant_key(master, 7, 1, w2, k2), 0);
	assert_memory_not_equal(k1, k2, sizeof(k1));

	memset(k2, 0xAA, sizeof(k2));
	assert_int_equal(keyring_unwrap_tenant_key(master, 8, 1, w1, k2), -EACCES);
	assert_memory_equal(k2, zero, sizeof(k2));
	assert_int_equal(keyring_unwrap_tenant_key(master, 7, 2, w1, k2), -EACCES);
	assert_int_equal(keyring_unwrap_tenant_key(master, -7, 1, w1, k2), -EACCES);
	assert_int_equal(keyring_unwrap_tenant_key(other_master, 7, 1, w1, k2), -EACCES);
	for (i = 0; i < WRAPPED_KEY_BYTES; i += 5) {
		memcpy(bad, w1, sizeof(bad));
		bad[i] ^= 0x01;
		memset(k2, 0xAA, sizeof(k2));
		assert_int_equal(keyring_unwrap_tenant_key(master, 7, 1, bad, k2), -EACCES);
		assert_memory_equal(k2, zero, sizeof(k2));
	}
	memcpy(bad, w1, sizeof(bad));
	bad[WRAPPED_KEY_BYTES - 1] ^= 0x80;
	assert_int_equal(keyring_unwrap_tenant_key(master, 7, 1, bad, k2), -EACCES);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(master, sizeof(master));
}

static void test_signkey(void **state)
{
	char key_path[256], pub_path[256], line[128];
	unsigned char sk[SIGN_SECRET_BYTES + 1], pk[SIGN_PUBLIC_BYTES], pk2[SIGN_PUBLIC_BYTES];
	unsigned char sig[crypto_sign_BYTES];
	size_t n;
	FILE *f;

	(void)state;
	assert_int_equal(signkey_create(tmpdir), 0);
	path_in_tmp(key_path, sizeof(key_path), "signing.key");
	path_in_tmp(pub_path, sizeof(pub_path), "signing.pub");
	assert_int_equal(file_mode(key_path), 0600);
	assert_int_equal(file_mode(pub_path), 0644);
	assert_int_equal(signkey_create(tmpdir), -EEXIST);

	f = fopen(key_path, "rb");
	assert_non_null(f);
	n = fread(sk, 1, sizeof(sk), f);
	fclose(f);
	assert_int_equal(n, SIGN_SECRET_BYTES);
	f = fopen(pub_path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strlen(line), SIGN_PUBLIC_BYTES * 2 + 1);
	assert_int_equal(line[SIGN_PUBLIC_BYTES * 2], '\n');
	assert_int_equal(sodium_hex2bin(pk, sizeof(pk), line, SIGN_PUBLIC_BYTES * 2, NULL, &n, NULL),
			 0);
	assert_int_equal(n, SIGN_PUBLIC_BYTES);
	/* The public file matches the secret, and the pair signs and verifies. */
	assert_int_equal(crypto_sign_ed25519_sk_to_pk(pk2, sk), 0);
	assert_memory_equal(pk, pk2, sizeof(pk));
	assert_int_equal(crypto_sign_detached(sig, NULL, (const unsigned char *)"kura", 4, sk), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)"kura", 4, pk), 0);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(signkey_create("/nonexistent-dir"), -ENOENT);
}

static gnutls_x509_crt_t load_cert(const char *path)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;

	assert_int_equal(gnutls_load_file(path, &d), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	gnutls_free(d.data);
	return crt;
}

static void test_tlscert(void **state)
{
	static const unsigned char ip4[4] = { 127, 0, 0, 1 };
	static const unsigned char ip6[16] = { [15] = 1 };
	char cert_path[256], key_path[256], cmd[600], san[256], dn[256];
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t crt;
	unsigned char serial[32];
	size_t size, serial_size = sizeof(serial);
	unsigned int critical = 0, usage = 0, ca = 0, status = 0, bits = 0;
	bool dns = false, v4 = false, v6 = false;
	time_t now = time(NULL);
	int i, type;

	(void)state;
	path_in_tmp(cert_path, sizeof(cert_path), "tls.crt");
	path_in_tmp(key_path, sizeof(key_path), "tls.key");
	assert_int_equal(tlscert_create_self_signed(cert_path, key_path), 0);
	assert_int_equal(file_mode(cert_path), 0644);
	assert_int_equal(file_mode(key_path), 0600);
	assert_int_equal(tlscert_create_self_signed(cert_path, key_path), -EEXIST);

	crt = load_cert(cert_path);
	assert_int_equal(gnutls_x509_crt_get_version(crt), 3);
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_ECDSA);
	assert_int_equal(gnutls_x509_crt_get_signature_algorithm(crt), GNUTLS_SIGN_ECDSA_SHA256);
	assert_int_equal(gnutls_x509_crt_get_serial(crt, serial, &serial_size), 0);
	assert_int_equal(serial_size, 16);
	assert_true((serial[0] & 0x80) == 0);
	size = sizeof(dn);
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, dn,
						       &size), 0);
	assert_string_equal(dn, "localhost");
	for (i = 0;; i++) {
		size = sizeof(san);
		type = gnutls_x509_crt_get_subject_alt_name(crt, (unsigned)i, san, &size, &critical);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		assert_true(type >= 0);
		if (type == GNUTLS_SAN_DNSNAME && size == 9 && memcmp(san, "localhost", 9) == 0)
			dns = true;
		if (type == GNUTLS_SAN_IPADDRESS && size == 4 && memcmp(san, ip4, 4) == 0)
			v4 = true;
		if (type == GNUTLS_SAN_IPADDRESS && size == 16 && memcmp(san, ip6, 16) == 0)
			v6 = true;
	}
	assert_int_equal(i, 3);
	assert_true(dns && v4 && v6);
	assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
	assert_true(gnutls_x509_crt_check_hostname(crt, "127.0.0.1"));
	assert_true(gnutls_x509_crt_check_hostname(crt, "::1"));
	assert_false(gnutls_x509_crt_check_hostname(crt, "example.com"));
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, NULL), 0);
	assert_int_equal(ca, 0);
	assert_int_equal(gnutls_x509_crt_get_key_usage(crt, &usage, &critical), 0);
	assert_int_equal(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);
	size = sizeof(san);
	assert_int_equal(gnutls_x509_crt_get_key_purpose_oid(crt, 0, san, &size, &critical), 0);
	assert_string_equal(san, GNUTLS_KP_TLS_WWW_SERVER);
	assert_true(gnutls_x509_crt_get_activation_time(crt) <= now);
	assert_true(gnutls_x509_crt_get_activation_time(crt) >= now - 120);
	assert_true(gnutls_x509_crt_get_expiration_time(crt) >= now + 396L * 86400);
	assert_true(gnutls_x509_crt_get_expiration_time(crt) <= now + 398L * 86400);
	assert_true(gnutls_x509_crt_check_issuer(crt, crt));
	/* The self-signature verifies when the certificate itself is the trust anchor. */
	assert_int_equal(gnutls_x509_crt_verify(crt, &crt, 1, 0, &status), 0);
	assert_int_equal(status, 0);

	/* The key file holds the certificate's key. */
	assert_int_equal(gnutls_load_file(key_path, &d), 0);
	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	assert_int_equal(gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0), 0);
	{
		unsigned char id1[64], id2[64];
		size_t n1 = sizeof(id1), n2 = sizeof(id2);

		assert_int_equal(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, id1,
								&n1), 0);
		assert_int_equal(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id2, &n2),
				 0);
		assert_int_equal(n1, n2);
		assert_memory_equal(id1, id2, n1);
	}
	gnutls_x509_privkey_deinit(key);
	sodium_memzero(d.data, d.size);
	gnutls_free(d.data);
	gnutls_x509_crt_deinit(crt);

	if (access("/usr/bin/certtool", X_OK) == 0) {
		assert_int_equal(str_printf(cmd, sizeof(cmd),
					    "/usr/bin/certtool -i --infile '%s' >/dev/null 2>&1",
					    cert_path), 0);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_versions(void **state)
{
	(void)state;
	assert_non_null(crypto_sodium_version());
	assert_non_null(crypto_gnutls_version());
	assert_true(strlen(crypto_sodium_version()) > 0);
	assert_true(strlen(crypto_gnutls_version()) > 0);
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init() < 0)
		return -1;
	if (str_copy(tmpdir, sizeof(tmpdir), "/tmp/kura-test-crypto-XXXXXX") < 0)
		return -1;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (str_printf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir) < 0)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),          cmocka_unit_test(test_pwhash),
		cmocka_unit_test(test_password_check), cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_keyring),        cmocka_unit_test(test_signkey),
		cmocka_unit_test(test_tlscert),        cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
