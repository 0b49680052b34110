/*
 * Unit tests for notify: address and limit validation, message construction (folding,
 * RFC 2047 encoded-words, base64 body), and delivery through a REAL SMTP server: aiosmtpd
 * with its Maildir handler, started as a child process on a free loopback port. The
 * sender thread is checked end to end: queued -> sent (the Maildir holds the decoded
 * Japanese subject and body), a refused connection -> deferred with backoff, and a
 * permanent 5xx (message over the server's SIZE) -> failed.
 *
 * SECURITY: covers the header-injection cases ("a@b.c\r\nBcc: x@y.z"), second addresses,
 * display names, overlong addresses, subjects and bodies.
 *
 * mailer.c is included to reach its static message builder (h2o t/00unit style).
 * Every wait polls with a deadline; there are no fixed sleeps. The server gets
 * PR_SET_PDEATHSIG, so a crashed test leaves no server behind. KURA_TEST_PYTHON names the
 * Python that has aiosmtpd (default /usr/bin/python3, else python3 on PATH).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/notify/mailer.c"

#define WAIT_MS 60000   /* a poll: ends as soon as the state is reached */
#define SERVER_START_MS 60000
#define FILE_MAX (2 * 1024 * 1024)

struct fixture {
	char dir[256];
	char dbpath[300];
	struct db *db;
	struct mailer *mailer;
	pid_t servers[4];
	int n_servers;
	int closed_fd;         /* a bound, non-listening socket: connections are refused */
};

static struct fixture fx = { .closed_fd = -1 };

/* ---- helpers ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Binds 127.0.0.1:0; returns the socket (caller closes) and the port. */
static int bind_any(int *ret_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

static bool port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static const char *python(void)
{
	const char *p = getenv("KURA_TEST_PYTHON");

	if (p && *p)
		return p;
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Starts aiosmtpd (Maildir handler) on a free port; returns the port. size_limit 0 = default. */
static int smtp_server_start(const char *maildir, long size_limit)
{
	char listen[64], size[32], log[400];
	int64_t deadline;
	pid_t pid, parent;
	int fd, port, status, argc = 0;
	char *argv[16];

	fd = bind_any(&port);
	close(fd);
	str_printf(listen, sizeof(listen), "127.0.0.1:%d", port);
	str_printf(size, sizeof(size), "%ld", size_limit);
	str_printf(log, sizeof(log), "%s/smtpd-%d.log", fx.dir, port);

	argv[argc++] = (char *)python();
	argv[argc++] = "-m";
	argv[argc++] = "aiosmtpd";
	argv[argc++] = "-n";
	argv[argc++] = "-l";
	argv[argc++] = listen;
	argv[argc++] = "-c";
	argv[argc++] = "aiosmtpd.handlers.Mailbox";
	if (size_limit) {
		argv[argc++] = "-s";
		argv[argc++] = size;
	}
	argv[argc++] = (char *)maildir;
	argv[argc] = NULL;

	/* fork + exec rather than posix_spawn for PR_SET_PDEATHSIG: the server dies with the
	 * test even when the test crashes. Only async-signal-safe calls in the child. */
	parent = getpid();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd;

		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(126);
		lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
			if (lfd > 2)
				close(lfd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_true(fx.n_servers < (int)ARRAY_SIZE(fx.servers));
	fx.servers[fx.n_servers++] = pid;

	deadline = mono_ms() + SERVER_START_MS;
	while (!port_accepts(port)) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fx.servers[--fx.n_servers] = 0;
			fail_msg("aiosmtpd exited (status %d); see %s", status, log);
		}
		if (mono_ms() > deadline)
			fail_msg("aiosmtpd did not start listening on %d; see %s", port, log);
		nap_ms(50);
	}
	return port;
}

static void smtp_servers_stop(void)
{
	int64_t deadline;
	int i, status;

	for (i = 0; i < fx.n_servers; i++) {
		pid_t pid = fx.servers[i];

		if (pid <= 0)
			continue;
		kill(pid, SIGTERM);
		deadline = mono_ms() + 5000;
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (mono_ms() > deadline) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			nap_ms(20);
		}
		fx.servers[i] = 0;
	}
	fx.n_servers = 0;
}

static void start_mailer(const char *url)
{
	struct config cfg;

	config_defaults(&cfg);
	assert_int_equal(str_copy(cfg.smtp_url, sizeof(cfg.smtp_url), url), 0);
	assert_int_equal(str_copy(cfg.smtp_from, sizeof(cfg.smtp_from), "noreply@kura.example"), 0);
	assert_int_equal(str_copy(cfg.smtp_starttls, sizeof(cfg.smtp_starttls), "try"), 0);
	cfg.mail_poll_s = 1;
	fx.mailer = mailer_start(&cfg);
	assert_non_null(fx.mailer);
}

/* Polls the row until its state is want (and attempts >= min_attempts) or the deadline. */
static void wait_state(int64_t id, const char *want, int64_t min_attempts)
{
	int64_t deadline = mono_ms() + WAIT_MS, attempts = -1;
	char state[16] = "";
	struct db_stmt *st;

	for (;;) {
		st = db_query(fx.db, "SELECT state, attempts FROM mail_outbox WHERE id = $1", "i", id);
		assert_int_equal(db_step(st), 1);
		str_copy(state, sizeof(state), db_text(st, 0));
		attempts = db_int(st, 1);
		db_done(st);
		if (!strcmp(state, want) && attempts >= min_attempts)
			return;
		if (mono_ms() > deadline)
			fail_msg("mail %lld: state %s attempts %lld, want %s", (long long)id, state,
				 (long long)attempts, want);
		nap_ms(20);
	}
}

static char *read_file_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, FILE_MAX + 1);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, FILE_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The unfolded value of header name in msg (headers end at the first empty line). */
static bool header_get(const char *msg, const char *name, char *out, size_t size)
{
	size_t n_name = strlen(name), o = 0;
	const char *p = msg, *eol;

	while (*p && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (!strncasecmp(p, name, n_name) && p[n_name] == ':') {
			p += n_name + 1;
			for (;;) {
				for (; p < eol; p++)
					if (*p != '\r' && o + 1 < size)
						out[o++] = *p;
				if (!*eol || (eol[1] != ' ' && eol[1] != '\t'))
					break;
				p = eol + 1;
				eol = strchr(p, '\n');
				if (!eol)
					eol = p + strlen(p);
			}
			out[o] = '\0';
			return true;
		}
		p = *eol ? eol + 1 : eol;
	}
	return false;
}

static const char *body_start(const char *msg)
{
	const char *a = strstr(msg, "\n\n"), *b = strstr(msg, "\r\n\r\n");

	if (b && (!a || b < a))
		return b + 4;
	return a ? a + 2 : NULL;
}

/* Decodes a header value of plain words and =?UTF-8?B?...?= encoded-words (RFC 2047:
 * whitespace between adjacent encoded-words is dropped). */
static void decode_header(const char *v, char *out, size_t size)
{
	size_t o = 0, n, bin_len;
	bool prev_encoded = false;
	const char *p = v, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p) {
		end = p;
		while (*end && *end != ' ' && *end != '\t')
			end++;
		n = (size_t)(end - p);
		if (n > 12 && !strncasecmp(p, "=?UTF-8?B?", 10) && !strncmp(end - 2, "?=", 2)) {
			assert_int_equal(sodium_base642bin((unsigned char *)out + o, size - o - 1, p + 10,
							   n - 12, NULL, &bin_len, NULL,
							   sodium_base64_VARIANT_ORIGINAL), 0);
			/* every encoded-word holds whole characters */
			assert_true(utf8_is_clean_text(out + o, bin_len));
			o += bin_len;
			prev_encoded = true;
		} else {
			if (o && !prev_encoded) {
				assert_true(o + 1 < size);
				out[o++] = ' ';
			}
			assert_true(o + n < size);
			memcpy(out + o, p, n);
			o += n;
			prev_encoded = false;
		}
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	out[o] = '\0';
}

static char *decode_body(const char *b64)
{
	size_t n = strlen(b64), bin_len = 0;
	char *out = calloc(1, n + 1);

	assert_non_null(out);
	assert_int_equal(sodium_base642bin((unsigned char *)out, n, b64, n, " \r\n", &bin_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	out[bin_len] = '\0';
	return out;
}

/* The expected body after the sender's CRLF canonicalisation. */
static char *crlf(const char *s)
{
	char *out = calloc(1, 2 * strlen(s) + 1), *o = out;
	const char *p;

	assert_non_null(out);
	for (p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			*o++ = '\r';
		*o++ = *p;
	}
	return out;
}

/* ---- fixture ---- */

static int setup(void **state)
{
	char err[256];

	(void)state;
	str_copy(fx.dir, sizeof(fx.dir), "/tmp/kura-notify-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	str_printf(fx.dbpath, sizeof(fx.dbpath), "%s/kura.db", fx.dir);
	fx.db = db_open(fx.dbpath, err, sizeof(err));
	if (!fx.db || db_migrate(fx.db) < 0 || db_set_path(fx.dbpath) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx.mailer = mailer_stop(fx.mailer);
	fx.db = db_close(fx.db);
	smtp_servers_stop();
	if (fx.closed_fd >= 0)
		close(fx.closed_fd);
	if (fx.dir[0])
		nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return 0;
}

/* ---- tests ---- */

static void test_address(void **state)
{
	static const char *const good[] = {
		"a@b.c", "taro.yamada@example.co.jp", "x+tag@sub-domain.example", "kura@localhost",
		"o'brien@example.ie", "taro..x.@docomo.ne.jp", "A_B-c=d@EXAMPLE.COM", "1@2.3",
	};
	static const char *const bad[] = {
		"", "abc", "@b.c", "a@", "a@@b.c", "a@b@c.d", "a b@c.d", "\"a\"@b.c", "<a@b.c>",
		"A <a@b.c>", "a@b.c\r\nBcc: x@y.z", "a@b.c\n", "a\r@b.c", "a@b.c ", " a@b.c",
		"a,b@c.d", "a@b.c,d@e.f", "a;b@c.d", "a(b)@c.d", "a\\b@c.d", "a:b@c.d",
		"a@-b.c", "a@b-.c", "a@b..c", "a@.b.c", "a@b.c.", "a@b_c.d", "a@b.c\t",
		"\xc3\xbc@b.c", "a@\xc3\xbc.de", "a@[127.0.0.1]",
	};
	char local[80], label[80], addr[400];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (!mail_address_valid(good[i]))
			fail_msg("refused good address %s", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (mail_address_valid(bad[i]))
			fail_msg("accepted bad address %s", bad[i]);
	assert_false(mail_address_valid(NULL));

	/* local part 64 ok, 65 not */
	memset(local, 'l', 64);
	local[64] = '\0';
	str_printf(addr, sizeof(addr), "%s@b.c", local);
	assert_true(mail_address_valid(addr));
	str_printf(addr, sizeof(addr), "%sl@b.c", local);
	assert_false(mail_address_valid(addr));
	/* label 63 ok, 64 not */
	memset(label, 'd', 63);
	label[63] = '\0';
	str_printf(addr, sizeof(addr), "a@%s.c", label);
	assert_true(mail_address_valid(addr));
	str_printf(addr, sizeof(addr), "a@%sd.c", label);
	assert_false(mail_address_valid(addr));
	/* total 254 ok (64 + 1 + 63.63.61), 255 not */
	str_printf(addr, sizeof(addr), "%s@%.63s.%.63s.%.61s", local,
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(addr), KURA_EMAIL_MAX);
	assert_true(mail_address_valid(addr));
	str_printf(addr, sizeof(addr), "%s@%.63s.%.63s.%.62s", local,
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		   "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(addr), KURA_EMAIL_MAX + 1);
	assert_false(mail_address_valid(addr));
}

static void test_enqueue_limits(void **state)
{
	char *subject = malloc(KURA_MAIL_SUBJECT_MAX + 2);
	char *body = malloc(KURA_MAIL_BODY_MAX + 2);
	struct db_stmt *st;
	int64_t id = 0;

	(void)state;
	assert_non_null(subject);
	assert_non_null(body);
	/* The caller owns the transaction: everything queued here is rolled back. */
	assert_int_equal(db_begin(fx.db), 0);

	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c\r\nBcc: x@y.z", "s", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "nobody", "s", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b@c.d", "s", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s\r\nBcc: x@y.z", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s\n", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "\xe6\x8b", "b", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s", "bare\rCR", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s", "bell\a", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s", "\xff", &id), -EINVAL);
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", NULL, "b", &id), -EINVAL);

	memset(subject, 'S', KURA_MAIL_SUBJECT_MAX + 1);
	subject[KURA_MAIL_SUBJECT_MAX + 1] = '\0';
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", subject, "b", &id), -EINVAL);
	subject[KURA_MAIL_SUBJECT_MAX] = '\0';
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", subject, "b", &id), 0);

	memset(body, 'B', KURA_MAIL_BODY_MAX + 1);
	body[KURA_MAIL_BODY_MAX + 1] = '\0';
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s", body, &id), -EINVAL);
	body[KURA_MAIL_BODY_MAX] = '\0';
	body[10] = '\n';
	body[20] = '\r';
	body[21] = '\n';
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "s", body, &id), 0);

	/* a stored row: queued, due now, provider mail (NULL tenant), fresh Message-ID */
	assert_int_equal(outbox_enqueue(fx.db, 0, "a@b.c", "件名", "本文\n", &id), 0);
	assert_true(id > 0);
	st = db_query(fx.db, "SELECT state, attempts, tenant_id IS NULL, message_id,"
			     " next_attempt_us = created_us, last_error FROM mail_outbox WHERE id = $1",
		      "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "queued");
	assert_int_equal(db_int(st, 1), 0);
	assert_int_equal(db_int(st, 2), 1);
	assert_int_equal(strlen(db_text(st, 3)), 1 + 32 + strlen("@kura>"));
	assert_int_equal(db_text(st, 3)[0], '<');
	assert_non_null(strstr(db_text(st, 3), "@kura>"));
	assert_int_equal(db_int(st, 4), 1);
	assert_string_equal(db_text(st, 5), "");
	db_done(st);

	assert_int_equal(db_rollback(fx.db), 0);
	free(subject);
	free(body);
}

/* Every header line ends in CRLF and stays within 78 characters. */
static void check_header_lines(const struct mbuf *b)
{
	const char *p = dbuf_str(&b->d), *end = p + dbuf_len(&b->d), *eol;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(eol);
		assert_true(eol > p && eol[-1] == '\r');         /* CRLF only */
		if (eol - 1 == p)
			return;                                  /* end of headers */
		if ((size_t)(eol - 1 - p) > MAILER_LINE_MAX)
			fail_msg("header line too long: %.*s", (int)(eol - 1 - p), p);
		p = eol + 1;
	}
	fail();
}

static void build_and_check(const char *subject, const char *body, bool want_plain)
{
	struct mbuf b;
	char value[4096], decoded[4096];
	char *raw, *got, *want;

	mbuf_init(&b, MAILER_MESSAGE_MAX);
	assert_int_equal(message_build(&b, "from@kura.example", "to@kura.example", subject, body,
				       "<0123@kura>", 1795314799000000LL), 0);
	check_header_lines(&b);
	raw = calloc(1, dbuf_len(&b.d) + 1);
	assert_non_null(raw);
	memcpy(raw, dbuf_str(&b.d), dbuf_len(&b.d));
	assert_non_null(strstr(raw, "Date: Sun, 22 Nov 2026 02:33:19 +0000\r\n"));
	assert_non_null(strstr(raw, "\r\nFrom: from@kura.example\r\nTo: to@kura.example\r\n"));
	assert_non_null(strstr(raw, "\r\nMessage-ID: <0123@kura>\r\nMIME-Version: 1.0\r\n"
				    "Content-Type: text/plain; charset=UTF-8\r\n"
				    "Content-Transfer-Encoding: base64\r\n\r\n"));
	assert_true(header_get(raw, "Subject", value, sizeof(value)));
	assert_int_equal(strstr(value, "=?UTF-8?B?") == NULL, want_plain);
	decode_header(value, decoded, sizeof(decoded));
	assert_string_equal(decoded, subject);
	/* body lines of at most 76 base64 characters */
	for (got = (char *)body_start(raw); got && *got;) {
		char *eol = strstr(got, "\r\n");

		assert_non_null(eol);
		assert_true(eol - got <= 76);
		got = eol + 2;
	}
	got = decode_body(body_start(raw));
	want = crlf(body);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(raw);
	mbuf_free(&b);
}

static void test_message_build(void **state)
{
	char long_ascii[600], word[120], body[3000];
	size_t i;

	(void)state;
	build_and_check("Welcome to kura", "Hello\nworld\r\n", true);
	build_and_check("", "", true);
	build_and_check("「招待」kura へのご招待", "「招待」\n", false);
	build_and_check("ご招待のお知らせ：株式会社サンプルの共有フォルダ「二〇二六年度 第三四半期 決算資料」"
			"へのアクセス権が付与されました。期限は七十二時間です。",
			"「招待」\n以下のリンクから登録してください。\n", false);
	/* a literal encoded-word in an ASCII subject is encoded, not passed through */
	build_and_check("=?UTF-8?B?5oub5b6F?=", "x", false);
	/* long ASCII subject: folded at spaces, stays plain */
	long_ascii[0] = '\0';
	for (i = 0; i < 40; i++)
		strncat(long_ascii, "folding ", sizeof(long_ascii) - strlen(long_ascii) - 1);
	strncat(long_ascii, "end", sizeof(long_ascii) - strlen(long_ascii) - 1);
	build_and_check(long_ascii, "x", true);
	/* a word that cannot fit on a line: encoded-words instead */
	memset(word, 'w', 100);
	word[100] = '\0';
	build_and_check(word, "x", false);
	/* tab in a subject: encoded */
	build_and_check("a\tb", "x", false);
	/* body of many lines, lines longer than 57 bytes, CR LF already present */
	body[0] = '\0';
	for (i = 0; i < 30; i++)
		strncat(body, "行の長いテキスト line with some ASCII too, 0123456789\r\nshort\n",
			sizeof(body) - strlen(body) - 1);
	build_and_check("body", body, true);
}

struct expect {
	const char *to;
	const char *subject;
	const char *body;
	int64_t id;
	bool seen;
};

static void test_delivery(void **state)
{
	static char long_subject[] =
		"ご招待のお知らせ：株式会社サンプルの共有フォルダ「二〇二六年度 第三四半期 決算資料」"
		"へのアクセス権が付与されました。";
	struct expect ex[] = {
		{ "taro@example.jp", "「招待」kura へのご招待", "「招待」", 0, false },
		{ "hanako.y@mail.example.com", "Welcome to kura",
		  "Hello Hanako,\n\nyou have been invited.\nhttps://kura.example/i/abc\n", 0, false },
		{ "jiro+kura@example.co.jp", long_subject,
		  "「招待」\r\n以下のリンクから登録してください。\r\n", 0, false },
	};
	char maildir[400], newdir[420], url[64], path[800], value[4096], decoded[4096];
	struct dirent *de;
	struct db_stmt *st;
	DIR *d;
	size_t i, n_files = 0;
	int port;

	(void)state;
	str_printf(maildir, sizeof(maildir), "%s/maildir", fx.dir);
	port = smtp_server_start(maildir, 0);

	/* queued in one transaction, as a caller would */
	assert_int_equal(db_begin(fx.db), 0);
	for (i = 0; i < ARRAY_SIZE(ex); i++)
		assert_int_equal(outbox_enqueue(fx.db, 0, ex[i].to, ex[i].subject, ex[i].body, &ex[i].id), 0);
	assert_int_equal(db_commit(fx.db), 0);

	str_printf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	start_mailer(url);
	mailer_wake(fx.mailer);
	for (i = 0; i < ARRAY_SIZE(ex); i++)
		wait_state(ex[i].id, "sent", 1);
	fx.mailer = mailer_stop(fx.mailer);

	for (i = 0; i < ARRAY_SIZE(ex); i++) {
		st = db_query(fx.db, "SELECT attempts, sent_us IS NOT NULL, last_error, body, sealed IS NULL,"
				     " body_bytes FROM mail_outbox WHERE id = $1", "i", ex[i].id);
		assert_int_equal(db_step(st), 1);
		assert_int_equal(db_int(st, 0), 1);
		assert_int_equal(db_int(st, 1), 1);
		assert_string_equal(db_text(st, 2), "");
		/* sent: the body is gone, its size stays in the log */
		assert_string_equal(db_text(st, 3), "");
		assert_int_equal(db_int(st, 4), 1);
		assert_int_equal(db_int(st, 5), (int64_t)strlen(ex[i].body));
		db_done(st);
	}

	/* 'sent' is recorded after the server's 250, which aiosmtpd sends after the Maildir write */
	str_printf(newdir, sizeof(newdir), "%s/new", maildir);
	d = opendir(newdir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char *raw, *body;
		struct expect *e = NULL;

		if (de->d_name[0] == '.')
			continue;
		n_files++;
		str_printf(path, sizeof(path), "%s/%s", newdir, de->d_name);
		raw = read_file_all(path);
		assert_true(header_get(raw, "X-RcptTo", value, sizeof(value)));
		for (i = 0; i < ARRAY_SIZE(ex); i++)
			if (!strcmp(value + strspn(value, " "), ex[i].to))
				e = &ex[i];
		if (!e)
			fail_msg("unexpected recipient %s", value);
		assert_false(e->seen);
		e->seen = true;
		assert_true(header_get(raw, "X-MailFrom", value, sizeof(value)));
		assert_string_equal(value + strspn(value, " "), "noreply@kura.example");
		assert_true(header_get(raw, "To", value, sizeof(value)));
		assert_string_equal(value + strspn(value, " "), e->to);
		assert_true(header_get(raw, "Subject", value, sizeof(value)));
		decode_header(value, decoded, sizeof(decoded));
		assert_string_equal(decoded, e->subject);
		assert_true(header_get(raw, "Message-ID", value, sizeof(value)));
		assert_non_null(strstr(value, "@kura>"));
		assert_true(header_get(raw, "Date", value, sizeof(value)));
		assert_non_null(strstr(value, " +0000"));
		assert_true(header_get(raw, "Content-Type", value, sizeof(value)));
		assert_non_null(strstr(value, "charset=UTF-8"));
		body = decode_body(body_start(raw));
		{
			char *want = crlf(e->body);

			assert_string_equal(body, want);
			free(want);
		}
		free(body);
		free(raw);
	}
	closedir(d);
	assert_int_equal(n_files, ARRAY_SIZE(ex));
	for (i = 0; i < ARRAY_SIZE(ex); i++)
		assert_true(ex[i].seen);
}

static void test_deferred(void **state)
{
	struct db_stmt *st;
	char url[64];
	int64_t id, before = clock_now_us();
	int port;

	(void)state;
	/* bound but not listening: every connection is refused */
	fx.closed_fd = bind_any(&port);
	assert_int_equal(outbox_enqueue(fx.db, 0, "later@example.jp", "再送", "本文", &id), 0);
	str_printf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	start_mailer(url);
	mailer_wake(fx.mailer);
	wait_state(id, "deferred", 1);
	fx.mailer = mailer_stop(fx.mailer);

	st = db_query(fx.db, "SELECT attempts, last_error, next_attempt_us, sent_us IS NULL"
			     " FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 1);
	assert_true(strlen(db_text(st, 1)) > 0);
	assert_non_null(strstr(db_text(st, 1), "(smtp 0)"));
	/* first backoff: KURA_MAIL_BACKOFF_MIN_S from the attempt */
	assert_true(db_int(st, 2) >= before + (KURA_MAIL_BACKOFF_MIN_S - 1) * 1000000LL);
	assert_true(db_int(st, 2) <= clock_now_us() + KURA_MAIL_BACKOFF_MIN_S * 1000000LL);
	assert_int_equal(db_int(st, 3), 1);
	db_done(st);
	/* deferred: the body waits, sealed */
	st = db_query(fx.db, "SELECT body, sealed IS NOT NULL FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "");
	assert_int_equal(db_int(st, 1), 1);
	db_done(st);

	assert_int_equal(backoff_s(1), KURA_MAIL_BACKOFF_MIN_S);
	assert_int_equal(backoff_s(2), 2 * KURA_MAIL_BACKOFF_MIN_S);
	assert_int_equal(backoff_s(KURA_MAIL_MAX_ATTEMPTS), KURA_MAIL_BACKOFF_MAX_S);
	assert_int_equal(backoff_s(1000), KURA_MAIL_BACKOFF_MAX_S);
}

static void test_permanent(void **state)
{
	char maildir[400], url[64], *body;
	struct db_stmt *st;
	int64_t id;
	int port;

	(void)state;
	/* the server refuses messages over 2000 bytes at MAIL FROM SIZE=: 552, permanent */
	str_printf(maildir, sizeof(maildir), "%s/maildir-small", fx.dir);
	port = smtp_server_start(maildir, 2000);
	body = malloc(5001);
	assert_non_null(body);
	memset(body, 'z', 5000);
	body[5000] = '\0';
	assert_int_equal(outbox_enqueue(fx.db, 0, "big@example.jp", "大きい", body, &id), 0);
	free(body);
	str_printf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	start_mailer(url);
	mailer_wake(fx.mailer);
	wait_state(id, "failed", 1);
	fx.mailer = mailer_stop(fx.mailer);

	st = db_query(fx.db, "SELECT attempts, last_error, body, sealed IS NULL FROM mail_outbox WHERE id = $1",
		      "i", id);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 1);
	assert_non_null(strstr(db_text(st, 1), "552"));
	/* failed for good: the body is gone too */
	assert_string_equal(db_text(st, 2), "");
	assert_int_equal(db_int(st, 3), 1);
	db_done(st);
	/* the deferred mail of test_deferred is not due yet: untouched by this sender */
	st = db_query(fx.db, "SELECT COUNT(*) FROM mail_outbox WHERE state = 'deferred' AND attempts = 1",
		      NULL);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), 1);
	db_done(st);
}

/* The claim is a compare-and-set: a row whose next_attempt_us moved (another sender took
 * it) is left alone; a row that is not valid to send fails without reaching the network. */
static void test_claim(void **state)
{
	struct mailer m = { .use_ssl = CURLUSESSL_NONE };
	struct db_stmt *st;
	int64_t id, due;

	(void)state;
	str_copy(m.url, sizeof(m.url), "smtp://127.0.0.1:1");
	str_copy(m.from, sizeof(m.from), "noreply@kura.example");
	assert_int_equal(outbox_enqueue(fx.db, 0, "claim@example.jp", "s", "b", &id), 0);
	st = db_query(fx.db, "SELECT next_attempt_us FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	due = db_int(st, 0);
	db_done(st);

	deliver_one(&m, fx.db, id, due - 1);
	st = db_query(fx.db, "SELECT state, attempts, next_attempt_us FROM mail_outbox WHERE id = $1",
		      "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "queued");
	assert_int_equal(db_int(st, 1), 0);
	assert_int_equal(db_int(st, 2), due);
	db_done(st);

	/* a row written behind outbox_enqueue's back with a header-injecting recipient */
	assert_int_equal(db_exec(fx.db, "UPDATE mail_outbox SET recipient = $2 WHERE id = $1", "it",
				 id, "a@b.c\r\nBcc: x@y.z"), 0);
	deliver_one(&m, fx.db, id, due);
	st = db_query(fx.db, "SELECT state, attempts, last_error FROM mail_outbox WHERE id = $1",
		      "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "failed");
	assert_int_equal(db_int(st, 1), 1);
	assert_string_equal(db_text(st, 2), "invalid recipient address");
	db_done(st);
}

/* Queued bodies are sealed under the outbox key: the row holds no plaintext; a body that
 * does not open (the key changed) fails for good without reaching the network, and is
 * erased; a row from before sealing (body in clear) is still sent. */
static void test_sealed_body(void **state)
{
	static const char secret[] = "https://kura.example/reset/SECRET-TOKEN-0123456789";
	unsigned char master[32], other[32];
	struct mailer m = { .use_ssl = CURLUSESSL_NONE };
	struct db_stmt *st;
	const void *blob;
	char *opened = NULL;
	size_t n = 0;
	int64_t id, due;

	(void)state;
	memset(master, 0x11, sizeof(master));
	memset(other, 0x22, sizeof(other));
	str_copy(m.url, sizeof(m.url), "smtp://127.0.0.1:1");
	str_copy(m.from, sizeof(m.from), "noreply@kura.example");
	assert_int_equal(outbox_set_key(master), 0);
	assert_int_equal(outbox_enqueue(fx.db, 0, "sealed@example.jp", "s", secret, &id), 0);
	st = db_query(fx.db, "SELECT body, sealed, message_id, next_attempt_us FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "");
	blob = db_blob(st, 1, &n);
	assert_non_null(blob);
	assert_null(memmem(blob, n, "SECRET-TOKEN", 12));
	assert_int_equal(outbox_open(db_text(st, 2), blob, n, &opened), 0);
	assert_string_equal(opened, secret);
	secret_free(opened);
	/* bound to its message id */
	assert_int_equal(outbox_open("<other@kura>", blob, n, &opened), -EBADMSG);
	due = db_int(st, 3);
	db_done(st);

	assert_int_equal(outbox_set_key(other), 0);
	deliver_one(&m, fx.db, id, due);
	st = db_query(fx.db, "SELECT state, last_error, sealed IS NULL FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "failed");
	assert_non_null(strstr(db_text(st, 1), "does not open"));
	assert_int_equal(db_int(st, 2), 1);
	db_done(st);
	assert_int_equal(outbox_set_key(master), 0);

	/* a row queued before sealing existed: built from its clear body and tried (the relay
	 * at port 1 refuses: deferred, not failed as an unbuildable message would be) */
	assert_int_equal(db_exec(fx.db, "UPDATE mail_outbox SET state = 'queued', sealed = NULL, body = 'legacy body',"
					" next_attempt_us = 5 WHERE id = $1", "i", id), 0);
	deliver_one(&m, fx.db, id, 5);
	st = db_query(fx.db, "SELECT state, last_error, body FROM mail_outbox WHERE id = $1", "i", id);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), "deferred");
	assert_non_null(strstr(db_text(st, 1), "(smtp 0)"));
	assert_string_equal(db_text(st, 2), "legacy body");
	db_done(st);
}

static void test_version(void **state)
{
	(void)state;
	assert_non_null(notify_curl_version());
	assert_true(strlen(notify_curl_version()) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_enqueue_limits),
		cmocka_unit_test(test_message_build),
		cmocka_unit_test(test_delivery),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_sealed_body),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
