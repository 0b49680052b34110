/*
 * kura doctor --data DIR [--json]: checks a data directory and its configuration without a
 * running server (D2, F2, F6; docs/operations.md "Doctor"): modes and owners of the directory,
 * the keys, the configuration and the database; keys present; the TLS certificate's expiry;
 * the TLS settings; clock synchronisation; what the listeners expose; disk space. Each
 * finding has a severity (ok, info, warn, serious); the exit status is 1 when any is
 * serious, else 0 (2 for a usage error).
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/sandbox.h"
#include "core/limits.h"
#include "http/http.h"
#include "store/db.h"

#define DOCTOR_CERT_WARN_DAYS 30       /* a certificate expiring sooner is a warning */
#define DOCTOR_CERT_MAX_BYTES (1024 * 1024)

enum severity { SEV_OK, SEV_INFO, SEV_WARN, SEV_SERIOUS };
static const char *const sev_names[] = { "ok", "info", "warn", "serious" };

struct doctor {
	json_t *findings;
	int worst;
	uid_t owner;            /* the data directory's owner: every file must be theirs */
};

static void finding(struct doctor *d, enum severity sev, const char *check, const char *fmt, ...) KURA_PRINTF(4, 5);
static void finding(struct doctor *d, enum severity sev, const char *check, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(d->findings, json_pack("{s:s, s:s, s:s}", "severity", sev_names[sev], "check", check,
						     "message", msg));
	if ((int)sev > d->worst)
		d->worst = (int)sev;
}

static void path_of(char *buf, size_t size, const char *dir, const char *name)
{
	if (name[0] == '/')
		str_copy(buf, size, name);
	else
		cli_path(buf, size, dir, name);
}

/* A secret file: present (or serious when required), a regular file, the owner's only. */
static void secret_file(struct doctor *d, const char *dir, const char *name, const char *what, bool required)
{
	char path[4096];
	struct stat st;

	path_of(path, sizeof(path), dir, name);
	if (lstat(path, &st) < 0) {
		finding(d, required ? SEV_SERIOUS : SEV_WARN, "keys", "%s %s is missing (%s)", what, path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		finding(d, SEV_SERIOUS, "keys", "%s %s is not a regular file", what, path);
		return;
	}
	if (st.st_mode & 077)
		finding(d, SEV_SERIOUS, "file-modes", "%s %s has mode %04o: others can read it (chmod 600)", what, path,
			(unsigned)(st.st_mode & 07777));
	else
		finding(d, SEV_OK, "file-modes", "%s %s: mode %04o", what, path, (unsigned)(st.st_mode & 07777));
	if (st.st_uid != d->owner)
		finding(d, SEV_SERIOUS, "file-owners", "%s %s belongs to uid %u, not to the data directory's owner %u",
			what, path, (unsigned)st.st_uid, (unsigned)d->owner);
}

static void data_dir(struct doctor *d, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		finding(d, SEV_SERIOUS, "data-dir", "%s is not a directory", dir);
		return;
	}
	d->owner = st.st_uid;
	if (st.st_mode & 077)
		finding(d, SEV_SERIOUS, "file-modes", "data directory %s has mode %04o: it must be its owner's only (chmod 700)",
			dir, (unsigned)(st.st_mode & 07777));
	else
		finding(d, SEV_OK, "file-modes", "data directory %s: mode %04o, uid %u", dir,
			(unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	if (st.st_uid == 0)
		finding(d, SEV_WARN, "file-owners", "the data directory belongs to root: run kura serve as an unprivileged "
			"user (contrib/kura.service)");
}

static void plain_file(struct doctor *d, const char *dir, const char *name, const char *what, bool secret_inside)
{
	char path[4096];
	struct stat st;

	cli_path(path, sizeof(path), dir, name);
	if (stat(path, &st) < 0) {
		finding(d, SEV_SERIOUS, "data-dir", "%s %s is missing", what, path);
		return;
	}
	if (st.st_mode & (secret_inside ? 077 : 022))
		finding(d, SEV_SERIOUS, "file-modes", "%s %s has mode %04o (chmod 600)", what, path,
			(unsigned)(st.st_mode & 07777));
	else if (st.st_mode & 077)
		finding(d, SEV_WARN, "file-modes", "%s %s has mode %04o: others can read it (chmod 600)", what, path,
			(unsigned)(st.st_mode & 07777));
	if (st.st_uid != d->owner)
		finding(d, SEV_SERIOUS, "file-owners", "%s %s belongs to uid %u, not to the data directory's owner %u",
			what, path, (unsigned)st.st_uid, (unsigned)d->owner);
}

static void certificate(struct doctor *d, const char *path)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t pem = { 0 };
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;
	time_t exp, now = time(NULL);

	if (!f) {
		finding(d, SEV_SERIOUS, "certificate", "cannot read the TLS certificate %s: %s", path, strerror(errno));
		return;
	}
	buf = malloc(DOCTOR_CERT_MAX_BYTES);
	if (buf)
		n = fread(buf, 1, DOCTOR_CERT_MAX_BYTES, f);
	fclose(f);
	pem.data = (unsigned char *)buf;
	pem.size = (unsigned)n;
	if (!buf || gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0) {
		finding(d, SEV_SERIOUS, "certificate", "%s is not a PEM certificate", path);
		goto out;
	}
	exp = gnutls_x509_crt_get_expiration_time(crt);
	if (exp == (time_t)-1)
		finding(d, SEV_SERIOUS, "certificate", "%s: no expiry date", path);
	else if (exp <= now)
		finding(d, SEV_SERIOUS, "certificate", "%s expired %lld days ago", path, (long long)(now - exp) / 86400);
	else if (exp - now < DOCTOR_CERT_WARN_DAYS * 86400)
		finding(d, SEV_WARN, "certificate", "%s expires in %lld days", path, (long long)(exp - now) / 86400);
	else
		finding(d, SEV_OK, "certificate", "%s valid for %lld more days", path, (long long)(exp - now) / 86400);
	if (gnutls_x509_crt_check_issuer(crt, crt))
		finding(d, SEV_WARN, "certificate", "%s is self-signed: browsers will not trust it (give kura a "
			"certificate from a CA: [server] tls_cert, tls_key)", path);
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	free(buf);
}

static void tls_settings(struct doctor *d, const struct config *cfg, const char *dir)
{
	gnutls_priority_t prio;
	const char *where = NULL;
	char path[4096];

	if (gnutls_priority_init(&prio, HTTP_TLS_PRIORITIES, &where) < 0) {
		finding(d, SEV_SERIOUS, "tls", "this GnuTLS (%s) does not take kura's TLS priorities (at \"%s\")",
			gnutls_check_version(NULL), where ? where : "?");
	} else {
		gnutls_priority_deinit(prio);
		finding(d, SEV_OK, "tls", "TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy, server order "
			"(GnuTLS %s)", gnutls_check_version(NULL));
	}
	path_of(path, sizeof(path), dir, cfg->tls_cert);
	certificate(d, path);
	secret_file(d, dir, cfg->tls_key, "TLS private key", true);
}

/* what kura serve will do with its privileges and file access (D2, docs/security.md) */
static void sandbox_check(struct doctor *d, const struct config *cfg)
{
	char why[256] = "";
	int abi;

	if (!strcmp(cfg->user, "root"))
		finding(d, SEV_WARN, "sandbox", "[server] user = root: started as root, kura serve keeps root");
	else if (!getpwnam(cfg->user[0] ? cfg->user : SANDBOX_DEFAULT_USER))
		finding(d, SEV_WARN, "sandbox", "there is no user %s: started as root, kura serve refuses to start"
			" (useradd --system %s, or [server] user = NAME)", cfg->user[0] ? cfg->user : SANDBOX_DEFAULT_USER,
			cfg->user[0] ? cfg->user : SANDBOX_DEFAULT_USER);
	else
		finding(d, SEV_OK, "sandbox", "started as root, kura serve drops to the user %s after binding",
			cfg->user[0] ? cfg->user : SANDBOX_DEFAULT_USER);
	if (strcmp(cfg->syscall_filter, "on"))
		finding(d, SEV_WARN, "sandbox", "[server] syscall_filter = off: no system-call allowlist");
	else
		finding(d, SEV_OK, "sandbox", "system-call allowlist on (seccomp)");
	abi = sandbox_landlock_abi(why, sizeof(why));
	if (strcmp(cfg->landlock, "on"))
		finding(d, SEV_WARN, "sandbox", "[server] landlock = off: file access is not restricted");
	else if (abi > 0)
		finding(d, SEV_OK, "sandbox", "Landlock ABI %d: file access limited to the data directory and what a server"
			" reads", abi);
	else
		finding(d, SEV_WARN, "sandbox", "Landlock is not available, file access is not restricted: %s", why);
}

static void clock_check(struct doctor *d)
{
	struct clock_sync cs;

	if (clock_sync_state(&cs) < 0)
		finding(d, SEV_WARN, "clock", "cannot read the kernel's clock state (adjtimex): %s", strerror(errno));
	else if (!cs.synchronized)
		finding(d, SEV_WARN, "clock", "the kernel says the clock is not synchronised (maximum error %.3f s): "
			"audit times and checkpoints rely on it; run an NTP client (systemd-timesyncd, chrony)",
			cs.max_error_us / 1e6);
	else
		finding(d, SEV_OK, "clock", "synchronised (estimated error %.6f s, maximum %.6f s)", cs.est_error_us / 1e6,
			cs.max_error_us / 1e6);
}

static bool listen_is_loopback(const char *v)
{
	return !strncmp(v, "127.", 4) || !strncmp(v, "[::1]:", 6);
}

static void listeners(struct doctor *d, const struct config *cfg, const char *dir)
{
	char path[4096];
	struct stat st;

	if (listen_is_loopback(cfg->listen))
		finding(d, SEV_INFO, "listeners", "public listener %s is on loopback (behind a proxy on this host)",
			cfg->listen);
	else
		finding(d, SEV_INFO, "listeners", "public listener %s is reachable from the network (HTTPS)", cfg->listen);
	if (!cfg->metrics_listen[0])
		finding(d, SEV_INFO, "listeners", "no metrics listener ([server] metrics_listen)");
	else if (listen_is_loopback(cfg->metrics_listen))
		finding(d, SEV_OK, "listeners", "metrics on %s (loopback only)", cfg->metrics_listen);
	else
		finding(d, SEV_SERIOUS, "listeners", "metrics on %s is not loopback", cfg->metrics_listen);
	cli_path(path, sizeof(path), dir, "admin.sock");
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			finding(d, SEV_SERIOUS, "listeners", "%s is not a socket", path);
		else if (st.st_mode & 077)
			finding(d, SEV_SERIOUS, "listeners", "management socket %s has mode %04o: others may connect",
				path, (unsigned)(st.st_mode & 07777));
		else
			finding(d, SEV_OK, "listeners", "management socket %s: the owner's only (mode %04o)", path,
				(unsigned)(st.st_mode & 07777));
	} else {
		finding(d, SEV_INFO, "listeners", "no management socket %s (kura serve is not running)", path);
	}
}

static void disk(struct doctor *d, const struct config *cfg, const char *dir)
{
	struct statvfs vfs;
	double total, avail, pct, reserve;

	if (statvfs(dir, &vfs) < 0 || vfs.f_blocks == 0) {
		finding(d, SEV_WARN, "disk", "cannot read the free space of %s", dir);
		return;
	}
	total = (double)vfs.f_blocks * vfs.f_frsize;
	avail = (double)vfs.f_bavail * vfs.f_frsize;
	pct = (total - avail) * 100.0 / total;
	reserve = (double)cfg->reserve_mib * 1048576.0;
	if (total * cfg->reserve_percent / 100.0 > reserve)
		reserve = total * cfg->reserve_percent / 100.0;
	if (avail < reserve)
		finding(d, SEV_SERIOUS, "disk", "%.0f MiB free, below the reserve of %.0f MiB: new content is refused (507)",
			avail / 1048576.0, reserve / 1048576.0);
	else if (pct > cfg->disk_alert_percent)
		finding(d, SEV_WARN, "disk", "%.1f %% of the filesystem used (alert over %u %%), %.0f MiB free", pct,
			cfg->disk_alert_percent, avail / 1048576.0);
	else
		finding(d, SEV_OK, "disk", "%.1f %% of the filesystem used, %.0f MiB free", pct, avail / 1048576.0);
}

static void print_people(const struct doctor *d)
{
	size_t i;
	json_t *f;

	json_array_foreach(d->findings, i, f)
		printf("%-8s %-12s %s\n", json_string_value(json_object_get(f, "severity")),
		       json_string_value(json_object_get(f, "check")), json_string_value(json_object_get(f, "message")));
}

/* Erasures (B3): one not complete whose deadline has passed is serious, one due within a day
 * a warning (the scheduler alerts too; this is the check without a server). */
static void erasures(struct doctor *d, const char *dir, const char *url)
{
	char path[PATH_MAX], err[256];
	struct db *db;
	struct db_stmt *st;
	int64_t now = clock_now_us(), late = 0, soon = 0;
	int r;

	if (db_url_resolve(url, dir, path, sizeof(path)) < 0) {
		finding(d, SEV_WARN, "erasure", "not checked: [store] db_url names no database");
		return;
	}
	db = db_open(path, err, sizeof(err));
	if (!db) {
		finding(d, SEV_WARN, "erasure", "not checked: cannot open %s: %s",
			db_url_is_pg(path) ? "the PostgreSQL database" : path, err);
		return;
	}
	st = db_query(db, "SELECT t.code, tt.deadline_us FROM tenant_terminations tt JOIN tenants t ON t.id ="
			  " tt.tenant_id WHERE tt.state <> 'erased' AND tt.deadline_us < $1 ORDER BY tt.deadline_us",
		      "i", now + 86400LL * 1000000);
	while ((r = db_step(st)) > 0) {
		int64_t deadline = db_int(st, 1);
		char t[40] = "";

		(void)clock_format_utc(deadline, t, sizeof(t));
		if (deadline < now) {
			late++;
			finding(d, SEV_SERIOUS, "erasure", "tenant %s: the erasure deadline %s has passed and its erasure"
				" is not complete (kura admin tenant show %s)", db_text(st, 0), t, db_text(st, 0));
		} else {
			soon++;
			finding(d, SEV_WARN, "erasure", "tenant %s: the erasure deadline %s is less than a day away"
				" and its erasure is not complete", db_text(st, 0), t);
		}
	}
	db_done(st);
	if (r < 0)
		finding(d, SEV_WARN, "erasure", "not checked: the database has no termination records (%s)",
			strerror(-r));
	else if (!late && !soon)
		finding(d, SEV_OK, "erasure", "no erasure is overdue or due within a day");
	db_close(db);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage_line[] = "usage: kura doctor --data DIR [--json]\n";
	struct doctor d = { .findings = json_array() };
	const char *dir = NULL;
	char path[4096], err[1024];
	struct config cfg;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_line, stdout); json_decref(d.findings); return 0;
		default: fputs(usage_line, stderr); json_decref(d.findings); return 2;
		}
	}
	if (!dir || optind != argc) {
		fputs(usage_line, stderr);
		json_decref(d.findings);
		return 2;
	}
	d.owner = geteuid();
	data_dir(&d, dir);
	cli_path(path, sizeof(path), dir, "kura.conf");
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		finding(&d, SEV_SERIOUS, "config", "%s", err);
		config_defaults(&cfg);
	} else {
		finding(&d, SEV_OK, "config", "%s reads without errors", path);
	}
	/* kura.conf may hold the relay password */
	plain_file(&d, dir, "kura.conf", "configuration", cfg.smtp_password[0] != '\0');
	secret_file(&d, dir, "master.key", "master key", true);
	secret_file(&d, dir, "signing.key", "audit signing key", true);
	if (!db_url_is_pg(cfg.db_url))
		plain_file(&d, dir, "kura.db", "database", true);
	tls_settings(&d, &cfg, dir);
	sandbox_check(&d, &cfg);
	clock_check(&d);
	listeners(&d, &cfg, dir);
	disk(&d, &cfg, dir);
	if (!cfg.alert_mail[0])
		finding(&d, SEV_WARN, "alerts", "[ops] alert_mail is not set: capacity alerts are log lines only");
	else
		finding(&d, SEV_OK, "alerts", "capacity alerts go to %s", cfg.alert_mail);
	finding(&d, SEV_INFO, "backups", "not checked: the backups' destination is not recorded in DIR; run "
		"kura backup --data DIR --to DEST on a schedule and watch its exit status (docs/operations.md)");
	erasures(&d, dir, cfg.db_url);

	if (json) {
		json_t *out = json_pack("{s:s, s:O}", "worst", sev_names[d.worst], "findings", d.findings);

		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(out);
	} else {
		print_people(&d);
	}
	json_decref(d.findings);
	return d.worst == SEV_SERIOUS ? 1 : 0;
}
