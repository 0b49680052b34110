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
 */
#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "notify/notify.h"
#include "store/db.h"

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
	unsigned char rnd[OUTBOX_MSGID_RANDOM];
	char hex[2 * OUTBOX_MSGID_RANDOM + 1];
	char msgid[2 * OUTBOX_MSGID_RANDOM + 16];
	size_t n_subject, n_body;
	int64_t now;
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

	now = clock_now_us();
	if (tenant_id == 0)
		r = db_exec(db,
			    "INSERT INTO mail_outbox (tenant_id, recipient, subject, body, state,"
			    " attempts, next_attempt_us, message_id, created_us)"
			    " VALUES (NULL, $1, $2, $3, 'queued', 0, $4, $5, $4)",
			    "tttit", to, subject, body, now, msgid);
	else
		r = db_exec(db,
			    "INSERT INTO mail_outbox (tenant_id, recipient, subject, body, state,"
			    " attempts, next_attempt_us, message_id, created_us)"
			    " VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $5)",
			    "itttit", tenant_id, to, subject, body, now, msgid);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = db_last_id(db);
	return 0;
}
