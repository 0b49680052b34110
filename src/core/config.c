/* kura.conf parsing with libinih; every key is declared once in the table below. */
#include <fcntl.h>
#include <stdio.h>
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
};

#define S(sec, nm, field, help) { sec, nm, K_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0, help }
#define U(sec, nm, field, lo, hi, help) { sec, nm, K_U32, offsetof(struct config, field), 0, lo, hi, help }

static const struct key keys[] = {
	S("server", "listen", listen, "public listener ADDR:PORT ([::1]:8443 for IPv6)"),
	S("server", "public_url", public_url, "base URL of this deployment, used in mailed links"),
	S("server", "tls_cert", tls_cert, "PEM certificate chain (relative to the data dir)"),
	S("server", "tls_key", tls_key, "PEM private key (relative to the data dir)"),
	U("server", "threads", threads, 0, 256, "worker threads, 0 = four per CPU"),
	S("server", "trusted_proxies", trusted_proxies,
	  "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is used (empty: none)"),
	U("security", "session_idle_seconds", session_idle_s, 10, 86400, "idle session timeout"),
	U("security", "session_absolute_seconds", session_absolute_s, 10, 7 * 86400, "absolute session lifetime"),
	U("security", "invitation_ttl_seconds", invitation_ttl_s, 60, 30 * 86400, "invitation link lifetime"),
	U("security", "pwhash_ops", pwhash_ops, 1, 20, "Argon2id passes"),
	U("security", "pwhash_mem_kib", pwhash_mem_kib, 8, 4 * 1024 * 1024, "Argon2id memory in KiB"),
	U("security", "lockout_threshold", lockout_threshold, 1, 1000, "failed logins that lock an account"),
	U("security", "lockout_window_seconds", lockout_window_s, 1, 86400, "window in which failures count"),
	U("security", "lockout_duration_seconds", lockout_duration_s, 1, 7 * 86400, "how long a lock lasts"),
	S("security", "mfa_managers_default", mfa_managers_default,
	  "required | optional: MFA for managers of tenants that set no policy"),
	S("mail", "smtp_url", smtp_url, "relay: smtp://host:port (STARTTLS when offered) or smtps://host:port"),
	S("mail", "smtp_user", smtp_user, "relay user name (empty: no authentication)"),
	S("mail", "smtp_password", smtp_password, "relay password"),
	S("mail", "from", smtp_from, "envelope and header sender"),
	S("mail", "starttls", smtp_starttls, "try | require | off"),
	U("mail", "poll_seconds", mail_poll_s, 1, 3600, "how often the outbox is checked when idle"),
	S("provider", "name", provider_name, "provider's name (A3)"),
	S("provider", "address", provider_address, "provider's postal address"),
	S("provider", "contact", provider_contact, "contact desk"),
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
	S("log", "level", log_level, "debug | info | warn | error"),
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	str_copy(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8443");
	str_copy(cfg->public_url, sizeof(cfg->public_url), "https://localhost:8443");
	str_copy(cfg->tls_cert, sizeof(cfg->tls_cert), "tls/cert.pem");
	str_copy(cfg->tls_key, sizeof(cfg->tls_key), "tls/key.pem");
	cfg->session_idle_s = KURA_SESSION_IDLE_S;
	cfg->session_absolute_s = KURA_SESSION_ABSOLUTE_S;
	cfg->invitation_ttl_s = KURA_INVITATION_TTL_S;
	cfg->pwhash_ops = 3;
	cfg->pwhash_mem_kib = 64 * 1024;
	cfg->lockout_threshold = KURA_LOCKOUT_THRESHOLD;
	cfg->lockout_window_s = KURA_LOCKOUT_WINDOW_S;
	cfg->lockout_duration_s = KURA_LOCKOUT_DURATION_S;
	str_copy(cfg->mfa_managers_default, sizeof(cfg->mfa_managers_default), "required");
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
	cfg->reserve_percent = KURA_RESERVE_PERCENT_DEFAULT;
	str_copy(cfg->log_level, sizeof(cfg->log_level), "info");
}

struct load_ctx {
	struct config *cfg;
	char *err;
	size_t err_size;
	int failed;
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	size_t i;

	if (ctx->failed)
		return 0;
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		char *field = (char *)ctx->cfg + k->off;
		uint32_t v;

		if (strcmp(k->section, section) || strcmp(k->name, name))
			continue;
		if (k->kind == K_STR) {
			if (str_copy(field, k->size, value) < 0) {
				str_printf(ctx->err, ctx->err_size, "[%s] %s is longer than %zu bytes",
					   section, name, k->size - 1);
				ctx->failed = 1;
				return 0;
			}
			return 1;
		}
		if (safe_atou32(value, &v) < 0 || v < k->min || v > k->max) {
			str_printf(ctx->err, ctx->err_size, "[%s] %s must be a number from %u to %u",
				   section, name, k->min, k->max);
			ctx->failed = 1;
			return 0;
		}
		*(uint32_t *)(void *)field = v;
		return 1;
	}
	str_printf(ctx->err, ctx->err_size, "unknown setting [%s] %s", section, name);
	ctx->failed = 1;
	return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t err_size)
{
	struct load_ctx ctx = { cfg, err, err_size, 0 };
	int r;

	config_defaults(cfg);
	r = ini_parse(path, on_key, &ctx);
	if (r == -1) {
		str_printf(err, err_size, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (ctx.failed) {
		/* ini_parse returns the line of the first error; put it in front of the message */
		char msg[256];

		str_copy(msg, sizeof(msg), err);
		str_printf(err, err_size, "%s line %d: %s", path, r, msg);
		return -EINVAL;
	}
	if (r != 0) {
		str_printf(err, err_size, "line %d: not an INI line", r);
		return -EINVAL;
	}
	if (strcmp(cfg->mfa_managers_default, "required") && strcmp(cfg->mfa_managers_default, "optional")) {
		str_printf(err, err_size, "[security] mfa_managers_default must be required or optional");
		return -EINVAL;
	}
	if (strcmp(cfg->smtp_starttls, "try") && strcmp(cfg->smtp_starttls, "require") &&
	    strcmp(cfg->smtp_starttls, "off")) {
		str_printf(err, err_size, "[mail] starttls must be try, require or off");
		return -EINVAL;
	}
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error")) {
		str_printf(err, err_size, "[log] level must be debug, info, warn or error");
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
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}
