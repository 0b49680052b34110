/*
 * The durable outbox: outbox_enqueue() validates one mail and inserts it into mail_outbox
 * with the caller's db handle, inside the caller's transaction (no BEGIN/COMMIT here), so
 * the mail exists exactly when the change that caused it does. The sender thread
 * (mailer.c) picks it up from there.
 *
 * SECURITY: the recipient ends up in the SMTP envelope (RCPT TO) and in the To: header, so
 * mail_address_valid() admits only one bare mailbox: no CR/LF (header and SMTP command
 * injection), no spaces, quotes, angle brackets, commas or semicolons (no second address,
 * no display name), one '@', LDH domain labels, at most KURA_EMAIL_MAX bytes. The subject
 * must be one line of clean UTF-8 (no CR/LF or other controls) of at most
 * KURA_MAIL_SUBJECT_MAX bytes; the body clean UTF-8 lines of at most KURA_MAIL_BODY_MAX
 * bytes in total. The sender base64-encodes body and non-ASCII subjects anyway, so these
 * checks keep stored data honest rather than being the only line of defence.
 *
 * Bodies hold working links (invitation, reset and share tokens), so they never reach the
 * database in clear: mail_outbox.sealed holds the body sealed under the outbox key (derived
 * from the master key by outbox_set_key, so a copy of kura.db or its WAL without master.key
 * reveals none), and mailer.c erases it once the mail is sent or failed. Without a key set
 * (unit tests, or a process that is not kura serve) a random key for this process is used.
 */
#include <pthread.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "notify/notify_int.h"
#include "store/db.h"

#define OUTBOX_KDF_CONTEXT "kura-box"   /* crypto_kdf_CONTEXTBYTES */
#define OUTBOX_AD_PREFIX "kura mail body"
#define OUTBOX_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define OUTBOX_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

_Static_assert(sizeof(OUTBOX_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");

static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *box_key;   /* sodium_malloc, crypto_aead_xchacha20poly1305_ietf_KEYBYTES */

int outbox_set_key(const unsigned char *master)
{
	int r = 0;

	if (!master || sodium_init() < 0)
		return -EINVAL;
	pthread_mutex_lock(&box_lock);
	if (!box_key)
		box_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	if (!box_key ||
	    crypto_kdf_derive_from_key(box_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 1, OUTBOX_KDF_CONTEXT,
				       master) != 0)
		r = -ENOMEM;
	pthread_mutex_unlock(&box_lock);
	return r;
}

/* The outbox key into key; a random one for this process when none was set. */
static int box_key_get(unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
	int r = 0;

	if (sodium_init() < 0)
		return -EIO;
	pthread_mutex_lock(&box_lock);
	if (!box_key) {
		box_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
		if (box_key) {
			randombytes_buf(box_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
			log_warn("mail.key", "no outbox key set: mail bodies are sealed under a key of this process only");
		}
	}
	if (box_key)
		memcpy(key, box_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	else
		r = -ENOMEM;
	pthread_mutex_unlock(&box_lock);
	return r;
}

static int box_ad(const char *msgid, unsigned char *ad, size_t size, size_t *ret_n)
{
	size_t np = sizeof(OUTBOX_AD_PREFIX) - 1, nm = strlen(msgid);

	if (np + nm > size)
		return -E2BIG;
	memcpy(ad, OUTBOX_AD_PREFIX, np);
	memcpy(ad + np, msgid, nm);
	*ret_n = np + nm;
	return 0;
}

int outbox_seal(const char *msgid, const char *body, size_t n, unsigned char **ret, size_t *ret_n)
{
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], ad[sizeof(OUTBOX_AD_PREFIX) + 256];
	unsigned char *out = NULL;
	unsigned long long n_ct = 0;
	size_t n_ad;
	int r;

	if (!msgid || !body || n > KURA_MAIL_BODY_MAX)
		return -EINVAL;
	r = box_ad(msgid, ad, sizeof(ad), &n_ad);
	if (r == 0)
		r = box_key_get(key);
	if (r < 0)
		goto out;
	out = malloc(OUTBOX_NONCE + n + OUTBOX_TAG);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	randombytes_buf(out, OUTBOX_NONCE);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + OUTBOX_NONCE, &n_ct, (const unsigned char *)body, n, ad,
						       n_ad, NULL, out, key) != 0) {
		r = -EIO;
		goto out;
	}
	*ret = out;
	*ret_n = OUTBOX_NONCE + (size_t)n_ct;
	out = NULL;
out:
	free(out);
	sodium_memzero(key, sizeof(key));
	return r;
}

int outbox_open(const char *msgid, const unsigned char *sealed, size_t n, char **ret)
{
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], ad[sizeof(OUTBOX_AD_PREFIX) + 256];
	unsigned long long n_pt = 0;
	char *out = NULL;
	size_t n_ad;
	int r;

	if (!msgid || !sealed || n < OUTBOX_NONCE + OUTBOX_TAG || n > OUTBOX_NONCE + KURA_MAIL_BODY_MAX + OUTBOX_TAG)
		return -EBADMSG;
	r = box_ad(msgid, ad, sizeof(ad), &n_ad);
	if (r == 0)
		r = box_key_get(key);
	if (r < 0)
		goto out;
	out = malloc(n - OUTBOX_NONCE - OUTBOX_TAG + 1);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &n_pt, NULL, sealed + OUTBOX_NONCE,
						       n - OUTBOX_NONCE, ad, n_ad, sealed, key) != 0) {
		r = -EBADMSG;
		goto out;
	}
	out[n_pt] = '\0';
	*ret = out;
	out = NULL;
out:
	free(out);
	sodium_memzero(key, sizeof(key));
	return r;
}

#define OUTBOX_LOCAL_MAX 64      /* RFC 5321 4.5.3.1.1 */
#define OUTBOX_LABEL_MAX 63      /* RFC 1035 2.3.4 */
#define OUTBOX_MSGID_RANDOM 16   /* bytes of randomness in a Message-ID */

/* Local part characters: printable ASCII without the RFC 5322 specials that could start
 * a second address, a comment, a quoted string or a display name. Dots are accepted
 * anywhere (Japanese mobile carriers issued addresses like "taro..x.@docomo.ne.jp"). */
static bool local_char_ok(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7F)
		return false;
	return !strchr("\"<>,\\();:[]@", c);
}

static bool domain_valid(const char *d, size_t n)
{
	size_t i, label = 0;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > OUTBOX_LABEL_MAX)
			return false;
	}
	return label > 0 && d[n - 1] != '-';
}

bool mail_address_valid(const char *addr)
{
	const char *at;
	size_t n, i, n_local;

	if (!addr)
		return false;
	n = strnlen(addr, KURA_EMAIL_MAX + 1);
	if (n == 0 || n > KURA_EMAIL_MAX)
		return false;
	at = strchr(addr, '@');
	if (!at || strchr(at + 1, '@'))
		return false;
	n_local = (size_t)(at - addr);
	if (n_local == 0 || n_local > OUTBOX_LOCAL_MAX)
		return false;
	for (i = 0; i < n_local; i++)
		if (!local_char_ok((unsigned char)addr[i]))
			return false;
	return domain_valid(at + 1, n - n_local - 1);
}

/* Valid UTF-8 text of clean lines: LF or CRLF line ends, no other control characters. */
static bool body_valid(const char *body, size_t n)
{
	const char *p = body, *end = body + n, *nl;
	size_t len;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (nl && len > 0 && p[len - 1] == '\r')
			len--;
		if (!utf8_is_clean_text(p, len))
			return false;
		if (!nl)
			break;
		p = nl + 1;
	}
	return true;
}

int outbox_enqueue(struct db *db, int64_t tenant_id, const char *to, const char *subject,
		   const char *body, int64_t *ret_id)
{
	unsigned char rnd[OUTBOX_MSGID_RANDOM], *sealed = NULL;
	char hex[2 * OUTBOX_MSGID_RANDOM + 1];
	char msgid[2 * OUTBOX_MSGID_RANDOM + 16];
	size_t n_subject, n_body, n_sealed = 0;
	int64_t now, id = 0;
	int r;

	if (!db || !to || !subject || !body || tenant_id < 0)
		return -EINVAL;
	if (!mail_address_valid(to))
		return -EINVAL;
	n_subject = strnlen(subject, KURA_MAIL_SUBJECT_MAX + 1);
	if (n_subject > KURA_MAIL_SUBJECT_MAX || !utf8_is_clean_text(subject, n_subject))
		return -EINVAL;
	n_body = strnlen(body, KURA_MAIL_BODY_MAX + 1);
	if (n_body > KURA_MAIL_BODY_MAX || !body_valid(body, n_body))
		return -EINVAL;

	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	r = str_printf(msgid, sizeof(msgid), "<%s@kura>", hex);
	if (r < 0)
		return r;

	r = outbox_seal(msgid, body, n_body, &sealed, &n_sealed);
	if (r < 0)
		return r;
	now = clock_now_us();
	/* tenant_id 0 binds NULL: provider mail */
	r = db_insert(db, &id,
		      "INSERT INTO mail_outbox (tenant_id, recipient, subject, body, sealed, body_bytes, state,"
		      " attempts, next_attempt_us, message_id, created_us)"
		      " VALUES ($1, $2, $3, '', $4, $5, 'queued', 0, $6, $7, $6) RETURNING id",
		      "Ittbiit", tenant_id, to, subject, sealed, n_sealed, (int64_t)n_body, now, msgid);
	free(sealed);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	return 0;
}
