/*
 * The sender thread: delivers due mail_outbox rows over SMTP with libcurl.
 *
 * Design: one thread per process. Each round selects up to MAILER_BATCH due rows
 * (queued or deferred, next_attempt_us <= now), claims each one with a compare-and-set on
 * next_attempt_us (a MAILER_LEASE_S lease: a second process skips it, and a crash
 * mid-send retries it after the lease instead of never), builds an RFC 5322 message,
 * sends it, and records the outcome: sent; deferred with exponential backoff
 * (KURA_MAIL_BACKOFF_MIN_S doubling up to KURA_MAIL_BACKOFF_MAX_S); or failed after
 * KURA_MAIL_MAX_ATTEMPTS or on a permanent (5xx) refusal of the recipient or message.
 * Between rounds it sleeps on a condition variable for mail_poll_s seconds or until
 * mailer_wake(). No db statement is held open across network I/O.
 *
 * SECURITY: nothing from a row reaches a header unencoded unless it is safe there: the
 * recipient is re-checked with mail_address_valid() before sending (a row written by other
 * code cannot inject CR/LF into To: or RCPT TO), the configured sender is checked once at
 * start, the subject is used verbatim only when it is printable ASCII without "=?" (else
 * RFC 2047 base64 encoded-words), and the body is always base64. Messages are bounded by
 * the outbox limits (MAILER_MESSAGE_MAX). Only smtp:// and smtps:// URLs are allowed; TLS
 * peers are verified (libcurl default); with starttls=try a relay that offers no STARTTLS
 * gets the mail (and any credentials) in clear text, so deployments that authenticate
 * should say "require". Bodies are never logged; the relay password is wiped on stop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/dbuf.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/stats.h"
#include "notify/notify_int.h"
#include "store/db.h"
#include "store/lease.h"

#define MAILER_BATCH 32
#define MAILER_LEASE_S (5 * 60)
#define MAILER_TIMEOUT_S 60L
#define MAILER_CONNECT_TIMEOUT_S 10L
#define MAILER_LINE_MAX 78            /* RFC 5322 2.1.1 recommended line length */
#define MAILER_B64_LINE 57            /* input bytes per 76-character base64 line */
#define MAILER_EWORD_BYTES 42         /* subject bytes per encoded-word (56 base64 chars) */
#define MAILER_HEADER_MAX (8 * 1024 + KURA_EMAIL_MAX * 2)
/* Body in CRLF form is at most twice the stored body; base64 adds 4/3 plus CRLF per line. */
#define MAILER_MESSAGE_MAX (3 * (size_t)KURA_MAIL_BODY_MAX + 4 * KURA_MAIL_SUBJECT_MAX + MAILER_HEADER_MAX)
#define MAILER_ERROR_MAX (CURL_ERROR_SIZE + 64)

struct mailer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool woken;
	char url[CONFIG_STR];
	char user[CONFIG_STR];
	char password[CONFIG_STR];
	char from[CONFIG_STR];
	long use_ssl;
	uint32_t poll_s;
	int (*task)(struct db *db);    /* mailer_set_task, under lock */
	int (*node_task)(struct db *db);   /* mailer_set_node_task, under lock */
};

/* A message being built and sent: core's bounded buffer in secret mode (a message holds
 * its body's links, so every copy it leaves behind is zeroed), and the read position of the
 * curl read callback. */
struct mbuf {
	struct dbuf d;
	size_t pos;
};

static void mbuf_init(struct mbuf *b, size_t max)
{
	dbuf_init_secret(&b->d, max);
	b->pos = 0;
}

static int mbuf_add(struct mbuf *b, const void *data, size_t n)
{
	return dbuf_add(&b->d, data, n);
}

static int mbuf_str(struct mbuf *b, const char *s)
{
	return dbuf_puts(&b->d, s);
}

static void mbuf_free(struct mbuf *b)
{
	dbuf_free(&b->d);
	b->pos = 0;
}

/* ---- message construction ---- */

static int add_date(struct mbuf *b, int64_t now_us)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(now_us / 1000000);
	char line[64];
	struct tm tm;
	int r;

	if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return -EINVAL;
	/* Names from our own tables: strftime's %a/%b would follow the process locale. */
	r = str_printf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
		       days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		       tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (r < 0)
		return r;
	return mbuf_str(b, line);
}

static bool subject_plain_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			return false;
	return !strstr(s, "=?");
}

/*
 * Folds a printable-ASCII subject at spaces so that lines stay within MAILER_LINE_MAX.
 * With b NULL it only checks; false when some word cannot be made to fit (the caller then
 * uses encoded-words). A fold goes before a space that is followed by a non-space, so no
 * continuation line is blank.
 */
static bool subject_fold(struct mbuf *b, const char *s, int *ret_err)
{
	size_t col = strlen("Subject: "), seg;
	const char *p = s, *q;
	int r;

	while (*p) {
		/* a segment: the leading spaces and the word after them */
		q = p;
		while (*q == ' ')
			q++;
		while (*q && *q != ' ')
			q++;
		seg = (size_t)(q - p);
		if (col + seg > MAILER_LINE_MAX && p != s && *p == ' ' && p[seg - 1] != ' ') {
			if (b && (r = mbuf_str(b, "\r\n")) < 0) {
				*ret_err = r;
				return false;
			}
			col = 0;
		}
		if (col + seg > MAILER_LINE_MAX)
			return false;
		if (b && (r = mbuf_add(b, p, seg)) < 0) {
			*ret_err = r;
			return false;
		}
		col += seg;
		p = q;
	}
	return true;
}

/* Length of the longest prefix of s (n bytes) of at most max bytes ending on a UTF-8
 * character boundary, so that no encoded-word splits a character (RFC 2047 5.3). */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
	size_t k;

	if (n <= max)
		return n;
	k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k ? k : max;
}

static int add_subject(struct mbuf *b, const char *subject)
{
	char b64[sodium_base64_ENCODED_LEN(MAILER_EWORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	size_t n = strlen(subject), off = 0, k;
	int r = 0;

	if ((r = mbuf_str(b, "Subject: ")) < 0)
		return r;
	if (subject_plain_ok(subject) && subject_fold(NULL, subject, &r)) {
		if (!subject_fold(b, subject, &r))
			return r ? r : -EINVAL;
		return mbuf_str(b, "\r\n");
	}
	/* RFC 2047 B encoding, one encoded-word per line after the first */
	while (off < n) {
		k = utf8_prefix(subject + off, n - off, MAILER_EWORD_BYTES);
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)subject + off, k,
				  sodium_base64_VARIANT_ORIGINAL);
		if ((off && (r = mbuf_str(b, "\r\n ")) < 0) || (r = mbuf_str(b, "=?UTF-8?B?")) < 0 ||
		    (r = mbuf_str(b, b64)) < 0 || (r = mbuf_str(b, "?=")) < 0)
			return r;
		off += k;
	}
	return mbuf_str(b, "\r\n");
}

/* The body in canonical form (CRLF line ends, RFC 2045 2.10), base64 in 76-char lines. */
static int add_body(struct mbuf *b, const char *body)
{
	char b64[sodium_base64_ENCODED_LEN(MAILER_B64_LINE, sodium_base64_VARIANT_ORIGINAL)];
	struct mbuf crlf;
	size_t off, k;
	const char *p;
	int r = 0;

	mbuf_init(&crlf, 2 * strlen(body) + 1);
	for (p = body; *p && r == 0; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			r = mbuf_add(&crlf, "\r", 1);
		if (r == 0)
			r = mbuf_add(&crlf, p, 1);
	}
	for (off = 0; r == 0 && off < dbuf_len(&crlf.d); off += k) {
		k = dbuf_len(&crlf.d) - off < MAILER_B64_LINE ? dbuf_len(&crlf.d) - off : MAILER_B64_LINE;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)dbuf_str(&crlf.d) + off, k,
				  sodium_base64_VARIANT_ORIGINAL);
		if ((r = mbuf_str(b, b64)) == 0)
			r = mbuf_str(b, "\r\n");
	}
	mbuf_free(&crlf);
	return r;
}

static int message_build(struct mbuf *b, const char *from, const char *to, const char *subject,
			 const char *body, const char *msgid, int64_t now_us)
{
	char line[MAILER_HEADER_MAX];
	int r;

	if ((r = add_date(b, now_us)) < 0)
		return r;
	if ((r = str_printf(line, sizeof(line), "From: %s\r\nTo: %s\r\n", from, to)) < 0 ||
	    (r = mbuf_str(b, line)) < 0)
		return r;
	if ((r = add_subject(b, subject)) < 0)
		return r;
	if ((r = str_printf(line, sizeof(line),
			    "Message-ID: %s\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: text/plain; charset=UTF-8\r\n"
			    "Content-Transfer-Encoding: base64\r\n"
			    "\r\n", msgid)) < 0 ||
	    (r = mbuf_str(b, line)) < 0)
		return r;
	return add_body(b, body);
}

/* ---- SMTP ---- */

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
	struct mbuf *b = userp;
	size_t n = size * nmemb;

	if (n > dbuf_len(&b->d) - b->pos)
		n = dbuf_len(&b->d) - b->pos;
	memcpy(dst, dbuf_str(&b->d) + b->pos, n);
	b->pos += n;
	return n;
}

/* Outcome of one attempt. */
struct attempt {
	bool ok;
	bool permanent;
	char error[MAILER_ERROR_MAX];
};

static void smtp_send(const struct mailer *m, const char *to, struct mbuf *msg, struct attempt *ret)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char rcpt_addr[KURA_EMAIL_MAX + 3];
	char from_addr[CONFIG_STR + 2];
	struct curl_slist *rcpt = NULL, *tmp;
	CURL *c = NULL;
	CURLcode rc;
	long code = 0;

	memset(ret, 0, sizeof(*ret));
	if (str_printf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to) < 0 ||
	    str_printf(from_addr, sizeof(from_addr), "<%s>", m->from) < 0) {
		str_copy(ret->error, sizeof(ret->error), "address too long");
		ret->permanent = true;
		goto out;
	}
	c = curl_easy_init();
	tmp = curl_slist_append(rcpt, rcpt_addr);
	if (!c || !tmp) {
		str_copy(ret->error, sizeof(ret->error), "out of memory");
		goto out;
	}
	rcpt = tmp;
	msg->pos = 0;
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, msg);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)dbuf_len(&msg->d)); /* SIZE= when offered */
	curl_easy_setopt(c, CURLOPT_USE_SSL, m->use_ssl);
	if (m->user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, m->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, m->password);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT, MAILER_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, MAILER_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		ret->ok = true;
		goto out;
	}
	str_printf(ret->error, sizeof(ret->error), "%s (smtp %ld)",
		   errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
	/*
	 * Permanent: a 5xx refusal inside the mail transaction (RCPT, DATA, end of data, or
	 * MAIL with 552 "too big"): libcurl reports those as SEND_ERROR / WEIRD_SERVER_REPLY.
	 * Other MAIL refusals concern our configured sender, and 5xx to AUTH, STARTTLS or the
	 * greeting is relay configuration: those are deferred so that fixing the
	 * configuration lets the queue drain.
	 */
	if (code >= 500 && code < 600 && (rc == CURLE_SEND_ERROR || rc == CURLE_WEIRD_SERVER_REPLY))
		ret->permanent = !(strncmp(errbuf, "MAIL failed", 11) == 0 && code != 552);
out:
	curl_slist_free_all(rcpt);
	if (c)
		curl_easy_cleanup(c);
}

/* ---- outbox rows ---- */

static int64_t backoff_s(int64_t attempts)
{
	int64_t s = KURA_MAIL_BACKOFF_MIN_S;

	while (--attempts > 0 && s < KURA_MAIL_BACKOFF_MAX_S)
		s *= 2;
	return s < KURA_MAIL_BACKOFF_MAX_S ? s : KURA_MAIL_BACKOFF_MAX_S;
}

static void record(struct db *db, int64_t id, const char *to, int64_t attempts,
		   const struct attempt *a)
{
	int64_t now = clock_now_us(), next;
	bool failed;
	int r;

	attempts++;
	/* sent or failed for good: the body (with its links) is erased, the log entry stays */
	if (a->ok) {
		r = db_exec(db, "UPDATE mail_outbox SET state = 'sent', sent_us = $2,"
				" attempts = $3, last_error = '', body = '', sealed = NULL WHERE id = $1",
			    "iii", id, now, attempts);
		log_info("mail.sent", "mail %lld to %s sent", (long long)id, to);
		atomic_fetch_add(&stats_mail_sent, 1);
	} else {
		failed = a->permanent || attempts >= KURA_MAIL_MAX_ATTEMPTS;
		next = failed ? now : now + backoff_s(attempts) * 1000000;
		r = failed ? db_exec(db, "UPDATE mail_outbox SET state = 'failed', attempts = $2, last_error = $3,"
					 " next_attempt_us = $4, body = '', sealed = NULL WHERE id = $1",
				     "iiti", id, attempts, a->error, next)
			   : db_exec(db, "UPDATE mail_outbox SET state = 'deferred', attempts = $2, last_error = $3,"
					 " next_attempt_us = $4 WHERE id = $1",
				     "iiti", id, attempts, a->error, next);
		atomic_fetch_add(failed ? &stats_mail_failed : &stats_mail_deferred, 1);
		if (failed)
			log_warn("mail.failed", "mail %lld to %s failed after %lld attempts: %s",
				 (long long)id, to, (long long)attempts, a->error);
		else
			log_warn("mail.deferred", "mail %lld to %s deferred (attempt %lld): %s",
				 (long long)id, to, (long long)attempts, a->error);
	}
	if (r < 0)
		log_error("mail.record", "cannot record the outcome of mail %lld: %s",
			  (long long)id, db_errmsg(db));
}

/* A Message-ID as outbox_enqueue writes it: "<...>" of visible ASCII, checked again here
 * because it is copied into a header verbatim. */
static bool msgid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n < 3 || n > 128 || s[0] != '<' || s[n - 1] != '>')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7F)
			return false;
	return true;
}

/* Claims, sends and records one due message. */
static void deliver_one(const struct mailer *m, struct db *db, int64_t id, int64_t due_us)
{
	struct mbuf msg;
	char to[KURA_EMAIL_MAX + 1] = "", *opened = NULL;
	const char *body;
	struct db_stmt *st = NULL;
	struct attempt a;
	int64_t now = clock_now_us(), attempts = 0;
	int r;

	mbuf_init(&msg, MAILER_MESSAGE_MAX);
	/* Compare-and-set on next_attempt_us: whoever moves it first owns the attempt. */
	r = db_exec(db, "UPDATE mail_outbox SET next_attempt_us = $2 WHERE id = $1"
			" AND state IN ('queued', 'deferred') AND next_attempt_us = $3",
		    "iii", id, now + (int64_t)MAILER_LEASE_S * 1000000, due_us);
	if (r < 0 || db_changes(db) != 1)
		goto out;

	st = db_query(db, "SELECT recipient, subject, body, message_id, attempts, sealed"
			  " FROM mail_outbox WHERE id = $1", "i", id);
	if (db_step(st) != 1)
		goto out;
	attempts = db_int(st, 4);
	if (str_copy(to, sizeof(to), db_text(st, 0)) < 0 || !mail_address_valid(to)) {
		memset(&a, 0, sizeof(a));
		a.permanent = true;
		str_copy(a.error, sizeof(a.error), "invalid recipient address");
		st = db_done(st);
		str_copy(to, sizeof(to), "(invalid)");
		record(db, id, to, attempts, &a);
		goto out;
	}
	/* the sealed body (rows from before sealing have it in clear) */
	body = db_text(st, 2);
	r = !db_text(st, 1) || !body || !msgid_ok(db_text(st, 3)) ? -EINVAL : 0;
	if (r == 0 && !db_is_null(st, 5)) {
		size_t n = 0;
		const void *sealed = db_blob(st, 5, &n);

		r = outbox_open(db_text(st, 3), sealed, n, &opened);
		body = opened;
	}
	if (r == 0)
		r = message_build(&msg, m->from, to, db_text(st, 1), body, db_text(st, 3), clock_now_us());
	st = db_done(st);
	if (r < 0) {
		memset(&a, 0, sizeof(a));
		a.permanent = r != -ENOMEM;
		if (r == -EBADMSG)
			str_copy(a.error, sizeof(a.error), "the sealed body does not open (another master key?)");
		else
			str_printf(a.error, sizeof(a.error), "cannot build message (error %d)", r);
		record(db, id, to, attempts, &a);
		goto out;
	}
	smtp_send(m, to, &msg, &a);
	record(db, id, to, attempts, &a);
out:
	db_done(st);
	secret_free(opened);
	mbuf_free(&msg);
}

/* One round; returns the number of due rows seen (MAILER_BATCH means: look again). */
static int mailer_round(struct mailer *m, struct db *db)
{
	int64_t ids[MAILER_BATCH], due[MAILER_BATCH];
	struct db_stmt *st;
	int n = 0, i, r;

	st = db_query(db, "SELECT id, next_attempt_us FROM mail_outbox"
			  " WHERE state IN ('queued', 'deferred') AND next_attempt_us <= $1"
			  /* an ended or erased tenant's mail is not sent (B3), provider mail is */
			  " AND (tenant_id IS NULL OR tenant_id = 0 OR tenant_id NOT IN"
			  " (SELECT id FROM tenants WHERE status = 'terminated'))"
			  " ORDER BY id LIMIT 32", "i", clock_now_us());
	while (n < MAILER_BATCH && (r = db_step(st)) == 1) {
		ids[n] = db_int(st, 0);
		due[n] = db_int(st, 1);
		n++;
	}
	db_done(st);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&m->lock);
		r = m->stop;
		pthread_mutex_unlock(&m->lock);
		if (r)
			break;
		deliver_one(m, db, ids[i], due[i]);
	}
	return n;
}

static void *mailer_main(void *arg)
{
	struct mailer *m = arg;
	struct timespec deadline;
	struct db *db;
	int n;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		int (*task)(struct db *) = m->task, (*node_task)(struct db *) = m->node_task;

		pthread_mutex_unlock(&m->lock);
		n = 0;
		db = db_thread();
		if (db && node_task && node_task(db) < 0)
			log_warn("mail.task", "this node's periodic task failed");
		/* the periodic task runs on one node, the holder of its lease (store/lease.h); every
		 * node delivers, each row claimed by its own compare-and-set (deliver_one) */
		if (db && task && db_lease_claim(db, "mail.task", db_lease_ttl_s(m->poll_s)) == 1 && task(db) < 0)
			log_warn("mail.task", "the mail sender's periodic task failed");
		if (db)
			n = mailer_round(m, db);
		else
			log_error("mail.db", "no database connection for the mail sender");
		pthread_mutex_lock(&m->lock);
		if (m->stop)
			break;
		if (n == MAILER_BATCH || m->woken) {
			m->woken = false;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += m->poll_s;
		while (!m->stop && !m->woken &&
		       pthread_cond_timedwait(&m->cond, &m->lock, &deadline) == 0)
			;
		m->woken = false;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- public ---- */

void mailer_set_task(struct mailer *m, int (*task)(struct db *db))
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->task = task;
	m->woken = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void mailer_set_node_task(struct mailer *m, int (*task)(struct db *db))
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->node_task = task;
	pthread_mutex_unlock(&m->lock);
}

static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe; the mailer is the server's only curl user, so it
 * initialises libcurl once here. curl_global_cleanup is left to process exit (tests call
 * it themselves). */
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct mailer *mailer_start(const struct config *cfg)
{
	struct mailer *m = NULL;
	pthread_condattr_t ca;
	bool lock_ok = false, cond_ok = false;

	if (!cfg)
		return NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		log_error("mail.start", "libcurl initialisation failed");
		return NULL;
	}
	if (!mail_address_valid(cfg->smtp_from)) {
		log_error("mail.start", "[mail] from is not a valid address");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (str_copy(m->url, sizeof(m->url), cfg->smtp_url) < 0 ||
	    str_copy(m->user, sizeof(m->user), cfg->smtp_user) < 0 ||
	    str_copy(m->password, sizeof(m->password), cfg->smtp_password) < 0 ||
	    str_copy(m->from, sizeof(m->from), cfg->smtp_from) < 0)
		goto fail;
	if (!strcmp(cfg->smtp_starttls, "try") || !cfg->smtp_starttls[0])
		m->use_ssl = CURLUSESSL_TRY;
	else if (!strcmp(cfg->smtp_starttls, "require"))
		m->use_ssl = CURLUSESSL_ALL;
	else if (!strcmp(cfg->smtp_starttls, "off"))
		m->use_ssl = CURLUSESSL_NONE;
	else {
		log_error("mail.start", "[mail] starttls must be try, require or off");
		goto fail;
	}
	if (m->user[0] && m->use_ssl != CURLUSESSL_ALL && strncmp(m->url, "smtps://", 8))
		log_warn("mail.start", "SMTP credentials may be sent in clear text; set [mail] starttls = require");
	m->poll_s = cfg->mail_poll_s ? cfg->mail_poll_s : 10;
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		goto fail;
	lock_ok = true;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&m->cond, &ca) == 0)
		cond_ok = true;
	pthread_condattr_destroy(&ca);
	if (!cond_ok)
		goto fail;
	if (pthread_create(&m->thread, NULL, mailer_main, m) != 0)
		goto fail;
	{
		char shown[sizeof(m->url)];

		url_strip_userinfo(m->url, shown, sizeof(shown));   /* smtp://USER:PASSWORD@ stays out */
		log_info("mail.start", "mail sender started (%s, libcurl %s)", shown, notify_curl_version());
	}
	return m;
fail:
	if (cond_ok)
		pthread_cond_destroy(&m->cond);
	if (lock_ok)
		pthread_mutex_destroy(&m->lock);
	sodium_memzero(m->password, sizeof(m->password));
	free(m);
	return NULL;
}

void mailer_wake(struct mailer *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->woken = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

struct mailer *mailer_stop(struct mailer *m)
{
	if (!m)
		return NULL;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	sodium_memzero(m->password, sizeof(m->password));
	free(m);
	return NULL;
}

const char *notify_curl_version(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v && v->version ? v->version : "unknown";
}
