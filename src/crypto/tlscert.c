/*
 * A self-signed TLS certificate for a first start on localhost, made with GnuTLS: ECDSA
 * P-256, X.509 v3, 128-bit random serial, CN=localhost with SAN DNS:localhost,
 * IP:127.0.0.1 and IP:::1, not a CA, digitalSignature, serverAuth, valid from a minute ago
 * for 397 days (the longest browsers accept), signed with SHA-256. Real deployments bring
 * their own certificate.
 *
 * SECURITY: the private key is written owner-only (PKCS#8 PEM, unencrypted: the server must
 * start unattended) with O_EXCL, and its exported text is wiped before it is freed. Neither
 * file replaces an existing one; if the certificate cannot be written the key is removed.
 */
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#define TLSCERT_DAYS 397
#define TLSCERT_SERIAL_BYTES 16

/* Every GnuTLS failure here is an internal one: there is no user input. */
static int gnutls_to_errno(int gr)
{
	return gr == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
}

static int tlscert_fill(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	static const unsigned char ip4[4] = { 127, 0, 0, 1 };
	static const unsigned char ip6[16] = { [15] = 1 };
	unsigned char serial[TLSCERT_SERIAL_BYTES];
	unsigned char key_id[64];
	size_t key_id_size = sizeof(key_id);
	time_t now = (time_t)(clock_now_us() / 1000000);
	int gr;

	randombytes_buf(serial, sizeof(serial));
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);   /* positive, full length */

	if ((gr = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (gr = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (gr = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost",
						 9)) < 0 ||
	    (gr = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
							GNUTLS_FSAN_SET)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip4,
							sizeof(ip4), GNUTLS_FSAN_APPEND)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip6,
							sizeof(ip6), GNUTLS_FSAN_APPEND)) < 0 ||
	    (gr = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (gr = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (gr = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (gr = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id,
					     &key_id_size)) < 0 ||
	    (gr = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size)) < 0 ||
	    (gr = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
	    (gr = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)TLSCERT_DAYS * 86400)) <
		    0 ||
	    (gr = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
		return gnutls_to_errno(gr);
	return 0;
}

int tlscert_create_self_signed(const char *cert_path, const char *key_path)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, cert_pem = { NULL, 0 };
	bool key_written = false;
	int gr, r;

	if (!cert_path || !*cert_path || !key_path || !*key_path)
		return -EINVAL;
	if ((gr = gnutls_x509_privkey_init(&key)) < 0 ||
	    (gr = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
					       0)) < 0 ||
	    (gr = gnutls_x509_crt_init(&crt)) < 0) {
		r = gnutls_to_errno(gr);
		goto out;
	}
	r = tlscert_fill(crt, key);
	if (r < 0)
		goto out;
	if ((gr = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0 ||
	    (gr = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
						     GNUTLS_PKCS_PLAIN, &key_pem)) < 0) {
		r = gnutls_to_errno(gr);
		goto out;
	}
	r = crypto_write_new_file(key_path, key_pem.data, key_pem.size, 0600);
	if (r < 0)
		goto out;
	key_written = true;
	r = crypto_write_new_file(cert_path, cert_pem.data, cert_pem.size, 0644);
out:
	if (r < 0 && key_written)
		unlink(key_path);
	if (key_pem.data) {
		sodium_memzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return r;
}
