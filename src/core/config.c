/*
 * kura.conf parsing with libinih; every key is declared once in the table below.
 *
 * The file is read whole (at most KURA_CONFIG_MAX_BYTES) and handed to libinih one line at a
 * time by our own reader, so that what libinih would take silently is refused with the file
 * and line: a NUL or other control byte (libinih stops at a NUL), a line longer than its line
 * buffer (it would split it into two lines) and an indented line (it would append it to the
 * previous value). Every error names the file and, where there is one, the line.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "core/config.h"
#include "core/limits.h"

enum kind { K_STR, K_U32 };

struct key {
	const char *section, *name;
	enum kind kind;
	size_t off, size;
	uint32_t min, max;
	const char *help;
	const char *const *choices;   /* K_STR: the only values allowed, NULL-terminated (or NULL) */
};

#define S(sec, nm, field, help) { sec, nm, K_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0, help, NULL }
#define E(sec, nm, field, help, ...) { sec, nm, K_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0, help, (const char *const[]){ __VA_ARGS__, NULL } }
#define U(sec, nm, field, lo, hi, help) { sec, nm, K_U32, offsetof(struct config, field), 0, lo, hi, help, NULL }

static const struct key keys[] = {
	S("server", "listen", listen, "public listener ADDR:PORT ([::1]:8443 for IPv6)"),
	S("server", "public_url", public_url, "base URL of this deployment, used in mailed links"),
	S("server", "tls_cert", tls_cert, "PEM certificate chain (relative to the data dir)"),
	S("server", "tls_key", tls_key, "PEM private key (relative to the data dir)"),
	U("server", "threads", threads, 0, 256, "worker threads, 0 = sixteen per CPU up to 64 (PostgreSQL: four per CPU)"),
	S("server", "trusted_proxies", trusted_proxies,
	  "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is used (empty: none)"),
	S("server", "client_cert_proxies", client_cert_proxies,
	  "comma-separated CIDRs of TLS-terminating proxies whose X-Client-Cert is used (empty: none)"),
	U("server", "max_connections", max_connections, KURA_MAX_CONNECTIONS_MIN, KURA_MAX_CONNECTIONS_MAX,
	  "open connections in all (the open-file limit is raised to fit)"),
	U("server", "max_connections_per_address", max_connections_per_address, 1, KURA_MAX_CONNECTIONS_MAX / 2,
	  "open connections from one IPv4 address or IPv6 /64 (trusted proxies: no limit); at most half of max_connections"),
	U("server", "header_timeout_seconds", header_timeout_s, 1, 3600,
	  "time for a request's headers, from the connection or the previous answer; trickling does not extend it"),
	U("server", "body_timeout_seconds", body_timeout_s, 1, 3600,
	  "a request body must arrive at body_min_rate after this many seconds"),
	U("server", "body_min_rate", body_min_rate, 1, 1000000000,
	  "bytes per second a request body must average (after body_timeout_seconds)"),
	U("server", "drain_seconds", drain_s, 0, 3600,
	  "on SIGTERM, how long requests in flight may finish (new ones get 503)"),
	S("server", "metrics_listen", metrics_listen,
	  "loopback ADDR:PORT (127.0.0.1:9464, [::1]:9464) of the Prometheus /metrics listener (empty: none)"),
	E("server", "syscall_filter", syscall_filter,
	  "on | off: after start-up only the system calls a running server needs (seccomp); another kills the process",
	  "on", "off"),
	E("server", "landlock", landlock,
	  "on | off: after start-up file access is limited to the data directory and what a running server reads (Landlock)",
	  "on", "off"),
	S("server", "user", user,
	  "started as root: the user it drops to after binding its listeners (empty: kura; root: stay root)"),
	U("security", "session_idle_seconds", session_idle_s, 10, 86400, "idle session timeout"),
	U("security", "session_absolute_seconds", session_absolute_s, 10, 7 * 86400, "absolute session lifetime"),
	U("security", "invitation_ttl_seconds", invitation_ttl_s, 60, 30 * 86400, "invitation link lifetime"),
	U("security", "pwhash_ops", pwhash_ops, 1, 20, "Argon2id passes"),
	U("security", "pwhash_mem_kib", pwhash_mem_kib, 8, 4 * 1024 * 1024, "Argon2id memory in KiB"),
	U("security", "lockout_threshold", lockout_threshold, 1, 1000, "failed logins that lock an account"),
	U("security", "lockout_window_seconds", lockout_window_s, 1, 86400, "window in which failures count"),
	U("security", "lockout_duration_seconds", lockout_duration_s, 1, 7 * 86400, "how long a lock lasts"),
	E("security", "mfa_managers_default", mfa_managers_default,
	  "required | optional: MFA for managers of tenants that set no policy", "required", "optional"),
	U("security", "access_request_lapse_seconds", access_request_lapse_s, KURA_ACCESS_LAPSE_MIN_S,
	  KURA_ACCESS_LAPSE_MAX_S, "an operator's access request lapses when no manager answers it in this time (C7)"),
	S("mail", "smtp_url", smtp_url, "relay: smtp://host:port (STARTTLS when offered) or smtps://host:port"),
	S("mail", "smtp_user", smtp_user, "relay user name (empty: no authentication)"),
	S("mail", "smtp_password", smtp_password, "relay password"),
	S("mail", "from", smtp_from, "envelope and header sender"),
	E("mail", "starttls", smtp_starttls, "try | require | off", "try", "require", "off"),
	U("mail", "poll_seconds", mail_poll_s, 1, 3600, "how often the outbox is checked when idle"),
	S("provider", "name", provider_name, "provider's name (A3)"),
	S("provider", "address", provider_address, "provider's postal address"),
	S("provider", "contact", provider_contact, "contact desk"),
	S("provider", "reports_mail", provider_reports_mail,
	  "operators' address: tenants' event reports and their messages are mailed here (empty: not mailed)"),
	S("provider", "data_location", data_location, "where customer data is stored"),
	S("provider", "jurisdiction", jurisdiction, "court of jurisdiction"),
	S("provider", "default_zone", default_zone, "time zone shown to tenants (IANA name)"),
	U("audit", "retention_days", audit_retention_days, KURA_AUDIT_RETENTION_MIN, KURA_AUDIT_RETENTION_MAX, "days audit records are kept, today included"),
	U("audit", "authentication_retention_days", audit_retention_cat[0], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "operation_retention_days", audit_retention_cat[1], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "access_retention_days", audit_retention_cat[2], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "delivery_retention_days", audit_retention_cat[3], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "administration_retention_days", audit_retention_cat[4], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "operator_retention_days", audit_retention_cat[5], 0, KURA_AUDIT_RETENTION_MAX, "0 = retention_days"),
	U("audit", "checkpoint_seconds", audit_checkpoint_s, 1, 3600, "signed checkpoint interval"),
	U("audit", "prune_seconds", audit_prune_s, 60, 86400, "how often retention is applied"),
	U("storage", "reserve_mib", reserve_mib, 0, 1024 * 1024 * 1024,
	  "free space (MiB) on the data directory's filesystem kept for the database and audit log"),
	U("storage", "reserve_percent", reserve_percent, 0, 50,
	  "... or this percentage of the filesystem, whichever is larger; below it new content is 507"),
	S("blob", "url", blob_url,
	  "where file content (ciphertext) is kept: empty = DIR/blobs on this machine; s3://BUCKET[/PREFIX] = an S3-compatible store"),
	S("blob", "endpoint", blob_endpoint,
	  "S3: https://HOST[:PORT] of the service (http:// only for a loopback address)"),
	S("blob", "region", blob_region, "S3: the region requests are signed for (SigV4)"),
	S("blob", "access_key", blob_access_key, "S3: access key id"),
	S("blob", "secret_key", blob_secret_key, "S3: secret access key (keep kura.conf 0600; never logged)"),
	E("blob", "addressing", blob_addressing,
	  "S3: path (ENDPOINT/BUCKET/KEY) | virtual (BUCKET.HOST/KEY)", "path", "virtual"),
	S("blob", "ca_file", blob_ca_file, "S3: PEM CA bundle that signs the endpoint's certificate (empty: the system's)"),
	U("blob", "part_mib", blob_part_mib, KURA_S3_PART_MIB_MIN, KURA_S3_PART_MIB_MAX,
	  "S3: multipart part size in MiB, also the memory each upload in flight buffers"),
	U("blob", "timeout_seconds", blob_timeout_s, 5, 3600, "S3: time for one request, its transfer included"),
	U("lifecycle", "grace_days", grace_days, 0, 90,
	  "days after a contract ends in which an operator may reinstate it (the erasure starts after them)"),
	S("lifecycle", "alert_email", alert_email,
	  "operators' address for alerts (an erasure that may miss its deadline); empty: the log only"),
	S("ops", "alert_mail", alert_mail, "the operators' address for capacity alerts (empty: log lines only)"),
	U("ops", "disk_alert_percent", disk_alert_percent, 1, 100,
	  "alert when the data directory's filesystem is used over this percentage (100: never)"),
	U("ops", "quota_alert_percent", quota_alert_percent, 1, 100,
	  "alert when a tenant's storage quota is used over this percentage (100: never)"),
	U("ops", "outbox_alert_backlog", outbox_alert_backlog, 1, 1000000,
	  "alert when more mails than this wait in the outbox (queued or deferred)"),
	U("ops", "check_seconds", alert_check_s, 1, 86400, "how often the capacity thresholds are checked"),
	U("ops", "alert_repeat_seconds", alert_repeat_s, 60, 30 * 86400,
	  "an alert that still stands is raised again after this long (not at every check)"),
	S("store", "db_url", db_url,
	  "the database: empty = kura.db in the data directory, sqlite:FILE, or a libpq URI postgresql://… (docs/scale-out.md)"),
	E("log", "level", log_level, "debug | info | warn | error", "debug", "info", "warn", "error"),
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	str_copy(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8443");
	str_copy(cfg->public_url, sizeof(cfg->public_url), "https://localhost:8443");
	str_copy(cfg->tls_cert, sizeof(cfg->tls_cert), "tls/cert.pem");
	str_copy(cfg->tls_key, sizeof(cfg->tls_key), "tls/key.pem");
	cfg->max_connections = KURA_MAX_CONNECTIONS;
	cfg->max_connections_per_address = KURA_CONNECTIONS_PER_ADDRESS;
	cfg->header_timeout_s = KURA_HEADER_TIMEOUT_S;
	cfg->body_timeout_s = KURA_BODY_TIMEOUT_S;
	cfg->body_min_rate = KURA_BODY_MIN_RATE;
	cfg->drain_s = KURA_DRAIN_S;
	str_copy(cfg->syscall_filter, sizeof(cfg->syscall_filter), "on");
	str_copy(cfg->landlock, sizeof(cfg->landlock), "on");
	cfg->session_idle_s = KURA_SESSION_IDLE_S;
	cfg->session_absolute_s = KURA_SESSION_ABSOLUTE_S;
	cfg->invitation_ttl_s = KURA_INVITATION_TTL_S;
	cfg->pwhash_ops = 3;
	cfg->pwhash_mem_kib = 64 * 1024;
	cfg->lockout_threshold = KURA_LOCKOUT_THRESHOLD;
	cfg->lockout_window_s = KURA_LOCKOUT_WINDOW_S;
	cfg->lockout_duration_s = KURA_LOCKOUT_DURATION_S;
	str_copy(cfg->mfa_managers_default, sizeof(cfg->mfa_managers_default), "required");
	cfg->access_request_lapse_s = KURA_ACCESS_LAPSE_S;
	str_copy(cfg->smtp_url, sizeof(cfg->smtp_url), "smtp://127.0.0.1:25");
	str_copy(cfg->smtp_from, sizeof(cfg->smtp_from), "kura@localhost");
	str_copy(cfg->smtp_starttls, sizeof(cfg->smtp_starttls), "try");
	cfg->mail_poll_s = 10;
	str_copy(cfg->provider_name, sizeof(cfg->provider_name), "kura demo provider");
	str_copy(cfg->data_location, sizeof(cfg->data_location), "Japan");
	str_copy(cfg->jurisdiction, sizeof(cfg->jurisdiction), "Tokyo District Court");
	str_copy(cfg->default_zone, sizeof(cfg->default_zone), "Asia/Tokyo");
	cfg->audit_retention_days = 90;
	cfg->audit_checkpoint_s = 60;
	cfg->audit_prune_s = 3600;
	cfg->reserve_mib = KURA_RESERVE_MIB_DEFAULT;
	cfg->grace_days = 7;
	str_copy(cfg->blob_region, sizeof(cfg->blob_region), "us-east-1");
	str_copy(cfg->blob_addressing, sizeof(cfg->blob_addressing), "path");
	cfg->blob_part_mib = KURA_S3_PART_MIB;
	cfg->blob_timeout_s = KURA_S3_TIMEOUT_S;
	cfg->reserve_percent = KURA_RESERVE_PERCENT_DEFAULT;
	cfg->disk_alert_percent = KURA_ALERT_STORAGE_PERCENT;
	cfg->quota_alert_percent = KURA_ALERT_STORAGE_PERCENT;
	cfg->outbox_alert_backlog = KURA_ALERT_OUTBOX_BACKLOG;
	cfg->alert_check_s = KURA_ALERT_CHECK_S;
	cfg->alert_repeat_s = KURA_ALERT_REPEAT_S;
	str_copy(cfg->log_level, sizeof(cfg->log_level), "info");
	catalog_defaults(cfg->services);
}

struct load_ctx {
	struct config *cfg;
	const char *path;
	char *err;
	size_t err_size;
	int failed;
	/* the reader's position in the file read into memory */
	const char *pos, *end;
	unsigned line;        /* of the line last handed to libinih */
};

static void load_fail(struct load_ctx *ctx, const char *fmt, ...) KURA_PRINTF(2, 3);
static void load_fail(struct load_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ctx->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_printf(ctx->err, ctx->err_size, "%s line %u: %s", ctx->path, ctx->line, msg);
	ctx->failed = 1;
}

/* libinih's reader (fgets-like): one whole line per call, or NULL at the end or on a line
 * libinih would not take as written (then ctx->failed is set and parsing stops). */
static char *read_line(char *buf, int size, void *stream)
{
	struct load_ctx *ctx = stream;
	const char *nl, *p;
	size_t n;

	if (ctx->failed || ctx->pos >= ctx->end)
		return NULL;
	ctx->line++;
	nl = memchr(ctx->pos, '\n', (size_t)(ctx->end - ctx->pos));
	n = nl ? (size_t)(nl - ctx->pos) + 1 : (size_t)(ctx->end - ctx->pos);
	for (p = ctx->pos; p < ctx->pos + n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\0') {
			load_fail(ctx, "contains a NUL byte");
			return NULL;
		}
		if ((c < 0x20 && c != '\t' && c != '\n' && !(c == '\r' && p + 1 < ctx->end && p[1] == '\n')) ||
		    c == 0x7f) {
			load_fail(ctx, "contains the control byte 0x%02x", c);
			return NULL;
		}
	}
	if (n + 1 > (size_t)size) {
		load_fail(ctx, "is longer than %d bytes", size - 2);
		return NULL;
	}
	if (n > 0 && (ctx->pos[0] == ' ' || ctx->pos[0] == '\t')) {
		/* libinih would take an indented line as the continuation of the previous value */
		size_t k = strspn(ctx->pos, " \t");

		if (k < n && ctx->pos[k] != '\r' && ctx->pos[k] != '\n' && ctx->pos[k] != ';' &&
		    ctx->pos[k] != '#') {
			load_fail(ctx, "starts with white space (continuation lines are not supported)");
			return NULL;
		}
	}
	memcpy(buf, ctx->pos, n);
	buf[n] = '\0';
	ctx->pos += n;
	return buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	size_t i;

	if (ctx->failed)
		return 0;
	if (!strncmp(section, "service.", 8)) {
		char msg[256];

		if (catalog_set(ctx->cfg->services, section + 8, name, value, msg, sizeof(msg)) < 0) {
			load_fail(ctx, "%s", msg);
			return 0;
		}
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		char *field = (char *)ctx->cfg + k->off;
		uint32_t v;

		if (strcmp(k->section, section) || strcmp(k->name, name))
			continue;
		if (k->kind == K_STR) {
			if (k->choices) {
				size_t j;

				for (j = 0; k->choices[j] && strcmp(k->choices[j], value); j++)
					;
				if (!k->choices[j]) {
					char list[128] = "";

					for (j = 0; k->choices[j]; j++) {
						if (j)
							strncat(list, ", ", sizeof(list) - strlen(list) - 1);
						strncat(list, k->choices[j], sizeof(list) - strlen(list) - 1);
					}
					load_fail(ctx, "[%s] %s must be one of %s", section, name, list);
					return 0;
				}
			}
			if (str_copy(field, k->size, value) < 0) {
				load_fail(ctx, "[%s] %s is longer than %zu bytes", section, name, k->size - 1);
				return 0;
			}
			return 1;
		}
		if (safe_atou32(value, &v) < 0 || v < k->min || v > k->max) {
			load_fail(ctx, "[%s] %s must be a number from %u to %u", section, name, k->min, k->max);
			return 0;
		}
		*(uint32_t *)(void *)field = v;
		return 1;
	}
	load_fail(ctx, "unknown setting [%s] %s", section, name);
	return 0;
}

/* The whole file, NUL-terminated, at most KURA_CONFIG_MAX_BYTES. */
static int read_file(const char *path, char **ret_text, size_t *ret_len, char *err, size_t err_size)
{
	struct stat st;
	char *text = NULL;
	size_t n = 0;
	ssize_t k;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		str_printf(err, err_size, "cannot open %s: %s", path, strerror(errno));
		return r == -ENOENT ? -ENOENT : r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		str_printf(err, err_size, "cannot read %s: not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > KURA_CONFIG_MAX_BYTES) {
		str_printf(err, err_size, "%s is larger than %d bytes", path, KURA_CONFIG_MAX_BYTES);
		r = -EFBIG;
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		str_printf(err, err_size, "cannot read %s: out of memory", path);
		r = -ENOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size && (k = read(fd, text + n, (size_t)st.st_size - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			str_printf(err, err_size, "cannot read %s: %s", path, strerror(errno));
			r = -EIO;
			goto out;
		}
		n += (size_t)k;
	}
	text[n] = '\0';
	*ret_text = text;
	*ret_len = n;
	text = NULL;
	r = 0;
out:
	free(text);
	close(fd);
	return r;
}

/* "127.x.y.z:PORT" or "[::1]:PORT", numeric, port 1-65535 */
static bool is_loopback_listen(const char *v)
{
	char host[64];
	const char *colon;
	struct in6_addr a6;
	struct in_addr a4;
	uint32_t port;
	size_t n;

	if (v[0] == '[') {
		colon = strstr(v, "]:");
		n = colon ? (size_t)(colon - v - 1) : 0;
		if (!colon || n == 0 || n >= sizeof(host))
			return false;
		memcpy(host, v + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1 || !IN6_IS_ADDR_LOOPBACK(&a6))
			return false;
		colon++;
	} else {
		colon = strrchr(v, ':');
		n = colon ? (size_t)(colon - v) : 0;
		if (!colon || n == 0 || n >= sizeof(host))
			return false;
		memcpy(host, v, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, &a4) != 1 || (ntohl(a4.s_addr) >> 24) != 127)
			return false;
	}
	return safe_atou32(colon + 1, &port) == 0 && port >= 1 && port <= 65535;
}

/* A bucket name as S3 allows it for both addressing styles: 3-63 of [a-z0-9.-], starting and
 * ending with a letter or digit. */
static bool bucket_valid(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == '-'))
			return false;
	return true;
}

/* A key prefix: segments of [A-Za-z0-9._-] separated by single '/', none "." or "..", so that
 * no key needs escaping and none can be read as another. */
static bool prefix_valid(const char *p)
{
	const char *seg = p;

	if (!*p)
		return true;
	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (!*p)
				return true;
			seg = p + 1;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     *p == '.' || *p == '_' || *p == '-')) {
			return false;
		}
	}
}

/* HOST[:PORT] whose host is 127.A.B.C (digits), [::1] or localhost: a DNS name that only
 * starts like one (127.example.com) is not a loopback address. */
static bool loopback_host(const char *h)
{
	const char *port;
	size_t n;

	if (!strncmp(h, "[::1]", 5))
		port = h + 5;
	else if (!strncmp(h, "localhost", 9))
		port = h + 9;
	else {
		unsigned a, b, c, d;
		int end = 0;

		if (sscanf(h, "%3u.%3u.%3u.%3u%n", &a, &b, &c, &d, &end) != 4 || a != 127 || b > 255 || c > 255 ||
		    d > 255 || !(h[0] >= '0' && h[0] <= '9'))
			return false;
		for (const char *p = h; p < h + end; p++)
			if (!(*p == '.' || (*p >= '0' && *p <= '9')))
				return false;
		port = h + end;
	}
	if (!*port)
		return true;
	if (*port != ':' || !port[1])
		return false;
	n = strspn(port + 1, "0123456789");
	return n > 0 && n <= 5 && port[1 + n] == '\0';
}

/* http://HOST[:PORT] with a loopback host, or https://HOST[:PORT]; no path, user or query. */
static bool endpoint_valid(const char *e)
{
	const char *host;
	size_t i;

	if (!strncmp(e, "https://", 8))
		host = e + 8;
	else if (!strncmp(e, "http://", 7))
		host = e + 7;
	else
		return false;
	if (!*host)
		return false;
	for (i = 0; host[i]; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
		      (host[i] >= '0' && host[i] <= '9') || strchr(".-:[]", host[i])))
			return false;
	if (host == e + 7)
		return loopback_host(host);
	return true;
}

/* [blob]: the S3 settings make sense together, or are all unset with local files. */
static int blob_check(const struct config *cfg, const char *path, char *err, size_t err_size)
{
	const char *u = cfg->blob_url, *slash;
	size_t n;

	if (!u[0]) {
		if (cfg->blob_endpoint[0] || cfg->blob_access_key[0] || cfg->blob_secret_key[0] || cfg->blob_ca_file[0]) {
			str_printf(err, err_size, "%s: [blob] endpoint, access_key, secret_key and ca_file are for "
				   "url = s3://...; with local files (url unset) leave them unset", path);
			return -EINVAL;
		}
		return 0;
	}
	if (strncmp(u, "s3://", 5)) {
		str_printf(err, err_size, "%s: [blob] url = %s: must be s3://BUCKET or s3://BUCKET/PREFIX "
			   "(or unset for local files)", path, u);
		return -EINVAL;
	}
	u += 5;
	slash = strchr(u, '/');
	n = slash ? (size_t)(slash - u) : strlen(u);
	if (!bucket_valid(u, n) || (slash && (!slash[1] || slash[strlen(slash) - 1] == '/' || !prefix_valid(slash + 1)))) {
		str_printf(err, err_size, "%s: [blob] url: the bucket must be 3-63 of a-z 0-9 . - and the prefix "
			   "segments of A-Z a-z 0-9 . _ - separated by single /", path);
		return -EINVAL;
	}
	if (!endpoint_valid(cfg->blob_endpoint)) {
		str_printf(err, err_size, "%s: [blob] endpoint = %s: must be https://HOST[:PORT] (http:// only for "
			   "a loopback address), without a path", path, cfg->blob_endpoint);
		return -EINVAL;
	}
	if (!cfg->blob_region[0] || !cfg->blob_access_key[0] || !cfg->blob_secret_key[0]) {
		str_printf(err, err_size, "%s: [blob] url = s3://... needs region, access_key and secret_key", path);
		return -EINVAL;
	}
	if (!strcmp(cfg->blob_addressing, "virtual") && strchr(cfg->blob_url + 5, '.') &&
	    strchr(cfg->blob_url + 5, '.') < (slash ? slash : cfg->blob_url + strlen(cfg->blob_url))) {
		str_printf(err, err_size, "%s: [blob] addressing = virtual: a bucket name with dots does not match "
			   "the endpoint's TLS certificate; use addressing = path", path);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t err_size)
{
	struct load_ctx ctx = { .cfg = cfg, .path = path, .err = err, .err_size = err_size };
	char *text = NULL;
	size_t len = 0;
	int r;

	config_defaults(cfg);
	if (str_copy(cfg->path, sizeof(cfg->path), path) < 0) {
		str_printf(err, err_size, "config path too long: %s", path);
		return -ENAMETOOLONG;
	}
	r = read_file(path, &text, &len, err, err_size);
	if (r < 0)
		return r;
	ctx.pos = text;
	ctx.end = text + len;
	r = ini_parse_stream(read_line, &ctx, on_key, &ctx);
	free(text);
	if (ctx.failed)
		return -EINVAL;
	if (r != 0) {
		str_printf(err, err_size, "%s line %d: not an INI line (want [section], name = value or a comment)",
			   path, r);
		return -EINVAL;
	}
	if (cfg->metrics_listen[0] && !is_loopback_listen(cfg->metrics_listen)) {
		str_printf(err, err_size,
			   "%s: [server] metrics_listen = %s: must be a loopback address with a port (127.0.0.1:9464 or "
			   "[::1]:9464); /metrics is for a scraper on this host, never a public address",
			   path, cfg->metrics_listen);
		return -EINVAL;
	}
	if (cfg->db_url[0] && strncmp(cfg->db_url, "sqlite:", 7) && strncmp(cfg->db_url, "postgresql://", 13) &&
	    strncmp(cfg->db_url, "postgres://", 11)) {
		str_printf(err, err_size, "%s: [store] db_url must be sqlite:FILE or a PostgreSQL URI postgresql://…", path);
		return -EINVAL;
	}
	if (blob_check(cfg, path, err, err_size) < 0)
		return -EINVAL;
	if (cfg->max_connections_per_address > cfg->max_connections / 2) {
		str_printf(err, err_size,
			   "%s: [server] max_connections_per_address (%u) must be at most half of max_connections (%u), "
			   "so that other addresses are still served",
			   path, cfg->max_connections_per_address, cfg->max_connections);
		return -EINVAL;
	}
	return 0;
}

int config_write_default(const char *path)
{
	struct config def;
	const char *section = "";
	FILE *f = NULL;
	int fd, r = 0;
	size_t i;

	config_defaults(&def);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	fprintf(f, "# kura configuration. Every setting is shown with its default.\n"
		   "# Unknown settings are errors. See docs/configuration.md.\n");
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)&def + k->off;

		if (strcmp(section, k->section)) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		}
		fprintf(f, "# %s\n", k->help);
		if (k->kind == K_STR)
			fprintf(f, "%s%s = %s\n", *field ? "" : ";", k->name, field);
		else
			fprintf(f, "%s = %u\n", k->name, *(const uint32_t *)(const void *)field);
	}
	fprintf(f, "\n# Per-service parameters (retention, erasure deadline, notice channels, operator\n"
		   "# access, initial state) default to the service statements; override one with\n"
		   "# a [service.CODE] section, e.g.\n"
		   "# [service.ZTNA]\n# erasure_days = 90\n"
		   "# See docs/configuration.md and `kura admin service list`.\n");
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}
