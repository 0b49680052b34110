/*
 * The erasure of a tenant (B3; docs/lifecycle.md "Erasure"): crypto-erase first, then
 * deletion, as a durable state machine in tenant_terminations (phase):
 *
 *   prepare      what the certificate needs, captured while the data is still there
 *                (counts, the audit chain head, key ids, the managers' addresses, a sample
 *                of blobs); recorded (tenant.erasure-start)
 *   keys         the ledger line is made durable (erasure-ledger.jsonl), then every tenant
 *                key row (current and rotated-out versions) is deleted in one transaction
 *                (SQLite's secure_delete overwrites the freed pages) and the WAL is
 *                checkpointed and truncated, so no copy of a wrapped key stays in the files;
 *                the runtime keyring's cached copies are dropped
 *   verify       each sampled file is opened through the files service: it must fail
 *   data         the tenant's blob directory (content, unfinished uploads, temporary files),
 *                then its rows, in batches of LIFECYCLE_BATCH
 *   certificate  signed, kept in the row, mailed (tenant.erasure-complete); state erased
 *
 * Each phase is idempotent and commits the next phase's name with its last change, so a kill
 * -9 anywhere resumes where it stopped. The tenant is 'terminated' throughout and never
 * served. Audit records, the contract's services and options and the termination row stay
 * (provider records; the audit records until their own retention ends).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "blob/blob.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/keyring_rt.h"
#include "files/files.h"
#include "lifecycle/lifecycle_int.h"
#include "notify/mail.h"
#include "store/db.h"
#include "tenant/tenant.h"

atomic_bool lifecycle_stopping;

/* Tables whose rows of the tenant are erased, children before parents (file_nodes is
 * deleted in batches before the rest). What stays: tenants, tenant_services,
 * tenant_options, tenant_terminations, option_terminations (the contract, provider-side),
 * announcement_tenants and incident_tenants (which notices reached it), and the audit chain (audit_events, audit_heads, audit_checkpoints) until its retention
 * ends. tests/unit/test_lifecycle.c checks that every table with a tenant_id is in one list. */
const char *const erasure_tables[] = {
	"dav_locks", "dav_props", "file_labels", "share_labels", "share_recipients", "share_sessions",
	"shares", "uploads", "file_nodes", "file_quotas", "app_passwords", "mfa_challenges",
	"mfa_recovery_codes", "mfa_totp", "webauthn_credentials", "webauthn_users", "mfa_policies",
	"password_resets", "invitations", "sessions", "client_cert_revocations", "client_certs",
	"tenant_client_cas", "tenant_client_certs", "tenant_ip_ranges", "tenant_security", "share_policies",
	"mail_outbox", "contacts", "announcement_reads", "login_misses", "access_approvals", "access_policy",
	"report_exports", "report_attachments", "report_messages", "reports", "notice_reads", "notice_targets",
	"notices", "rate_events", "accounts", "tenant_features",
	"tenant_keys", NULL,
};
const char *const erasure_kept_tables[] = {
	"tenant_services", "tenant_options", "tenant_terminations", "option_terminations", "audit_events",
	"audit_heads", "audit_checkpoints",
	/* the provider's record of which notices reached the tenant (no content of the tenant's) */
	"announcement_tenants", "incident_tenants",
	/* the provider's record of operator access requests to the tenant (C7; who read what under
	 * them is in the tenant's audit chain, kept as it is) */
	"access_requests", NULL,
};

void erasure_key_id(const void *wrapped, size_t n, char ret[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, wrapped, n);
	sodium_bin2hex(ret, 65, h, sizeof(h));
}

/* Records an erasure step in the tenant's chain (category operator); takes details. */
static int record(struct db *db, const struct actor *who, int64_t tenant_id, const char *code, const char *action,
		  json_t *details)
{
	int r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				     .category = AUDIT_OPERATOR, .action = action, .target = code,
				     .result = AUDIT_SUCCESS, .details = details });

	json_decref(details);
	return r;
}

static int set_phase(struct db *db, int64_t tenant_id, const char *phase)
{
	return db_exec(db, "UPDATE tenant_terminations SET phase = $2 WHERE tenant_id = $1", "it", tenant_id, phase);
}

static int commit_or_rollback(struct db *db, int r)
{
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int erasure_begin(struct db *db, const struct tenant *t)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_lock_tenant(db, t->id);
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET state = 'erasing', phase = 'prepare', started_us = $2,"
				" erasure_by = 'kura erasure scheduler (system)' WHERE tenant_id = $1 AND state = 'ended'",
			    "ii", t->id, clock_now_us());
	return commit_or_rollback(db, r);
}

/* ---------------------------------------------------------------- prepare */

static int64_t count(struct db *db, const char *sql, int64_t tenant_id)
{
	struct db_stmt *st = db_query(db, sql, "i", tenant_id);
	int64_t n = db_step(st) > 0 ? db_int(st, 0) : -1;

	db_done(st);
	return n;
}

static json_t *keys_json(struct db *db, int64_t tenant_id, const char *zone)
{
	json_t *a = json_array();
	struct db_stmt *st = db_query(db, "SELECT version, alg, wrapped, created_us FROM tenant_keys WHERE tenant_id = $1"
				      " ORDER BY version", "i", tenant_id);

	while (db_step(st) > 0) {
		char id[65], at[CLOCK_RFC3339_LEN] = "";
		size_t n = 0;
		const void *w = db_blob(st, 2, &n);

		erasure_key_id(w, n, id);
		(void)clock_format_zone(db_int(st, 3), zone, at, sizeof(at));
		json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s, s:i, s:s, s:s}", "key_id", id, "version",
						   (json_int_t)db_int(st, 0), "kind", "tenant data key",
						   "algorithm", "XChaCha20-Poly1305", "strength_bits", 256,
						   "wrapped_by", db_text(st, 1), "created_at", at));
	}
	db_done(st);
	return a;
}

static int ledger_each(const char *dir, int (*fn)(void *ctx, json_t *line), void *ctx);
static int ledger_find_fn(void *ctx, json_t *line);
struct ledger_find {
	int64_t tenant_id;
	const char *code;
	bool found;
	json_t *keys;   /* when not NULL: the ids of the entries found are appended */
};

/* The tenant's keys: from its rows, or (a restored copy whose keys the ledger destroyed
 * already) from the ledger. */
static json_t *keys_or_ledger(struct db *db, const struct tenant *t)
{
	json_t *a = keys_json(db, t->id, t->zone), *ids, *v;
	struct ledger_find lf = { .tenant_id = t->id, .code = t->code };
	size_t i;

	if (json_array_size(a) > 0)
		return a;
	ids = lf.keys = json_array();
	if (ledger_each(lifecycle_data_dir(), ledger_find_fn, &lf) == 0)
		json_array_foreach(ids, i, v)
			json_array_append_new(a, json_pack("{s:O, s:s, s:s, s:i, s:s}", "key_id", v, "kind",
							   "tenant data key", "algorithm", "XChaCha20-Poly1305",
							   "strength_bits", 256, "destroyed_by", "erasure ledger"));
	json_decref(ids);
	return a;
}

static int prepare(struct db *db, const struct tenant *t)
{
	json_t *info = NULL, *counts, *managers = json_array(), *sample = json_array(), *svcs = json_array(),
	       *opts = json_array();
	char svc[KURA_MAX_SERVICES][16], hash[65] = "";
	size_t n_svc = 0;
	int64_t seq = 0, records = 0;
	struct db_stmt *st;
	char *text = NULL;
	int r;

	r = db_begin(db);
	if (r < 0)
		goto out;
	r = db_lock_tenant(db, t->id);
	if (r == 0)
		r = audit_record(db, &(struct audit_event){ .tenant_id = t->id, .actor = &actor_system,
					 .category = AUDIT_OPERATOR, .action = "tenant.erasure-start",
					 .target = t->code, .result = AUDIT_SUCCESS });
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT seq, head FROM audit_heads WHERE tenant = $1", "i", t->id);
	if (db_step(st) > 0) {
		size_t n = 0;
		const void *h = db_blob(st, 1, &n);

		seq = db_int(st, 0);
		if (h && n == 32)
			sodium_bin2hex(hash, sizeof(hash), h, n);
	}
	db_done(st);
	for (size_t i = 0; erasure_tables[i]; i++) {
		char sql[160];
		int64_t c;

		str_printf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE tenant_id = $1", erasure_tables[i]);
		c = count(db, sql, t->id);
		if (c > 0)
			records += c;
	}
	counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			   "files", (json_int_t)count(db, "SELECT COUNT(*) FROM file_nodes WHERE tenant_id = $1 AND kind = 'file'", t->id),
			   "folders", (json_int_t)count(db, "SELECT COUNT(*) FROM file_nodes WHERE tenant_id = $1 AND kind = 'folder'"
							   " AND parent_id IS NOT NULL", t->id),
			   "bytes", (json_int_t)count(db, "SELECT COALESCE(SUM(size), 0) FROM file_nodes WHERE tenant_id = $1", t->id),
			   "accounts", (json_int_t)count(db, "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1", t->id),
			   "shares", (json_int_t)count(db, "SELECT COUNT(*) FROM shares WHERE tenant_id = $1", t->id),
			   "records", (json_int_t)records);
	/* the addresses now, the certificate is mailed after the accounts and contacts are gone:
	 * the active managers and the contact addresses the tenant registered and confirmed */
	st = db_query(db, "SELECT email FROM (SELECT email FROM accounts WHERE tenant_id = $1 AND role = 'manager'"
			  " AND status = 'active' UNION SELECT email FROM contacts WHERE tenant_id = $1 AND"
			  " confirmed_us IS NOT NULL) AS a ORDER BY email LIMIT $2", "ii", t->id,
		      (int64_t)(KURA_MAIL_MANAGERS_MAX + KURA_CONTACTS_MAX));
	while (db_step(st) > 0)
		json_array_append_new(managers, json_string(db_text(st, 0)));
	db_done(st);
	st = db_query(db, "SELECT id FROM (SELECT id FROM file_nodes WHERE tenant_id = $1 AND kind = 'file'"
			  " AND blob_id IS NOT NULL ORDER BY id LIMIT $2) AS a UNION SELECT id FROM (SELECT id FROM"
			  " file_nodes WHERE tenant_id = $1 AND kind = 'file' AND blob_id IS NOT NULL ORDER BY id DESC"
			  " LIMIT $2) AS b ORDER BY 1", "ii", t->id, (int64_t)(LIFECYCLE_SAMPLE_MAX / 2));
	while (db_step(st) > 0)
		json_array_append_new(sample, json_integer(db_int(st, 0)));
	db_done(st);
	if (tenant_services(db, t->id, svc, KURA_MAX_SERVICES, &n_svc) == 0)
		for (size_t i = 0; i < n_svc; i++)
			json_array_append_new(svcs, json_string(svc[i]));
	st = db_query(db, "SELECT option FROM tenant_options WHERE tenant_id = $1 ORDER BY option", "i", t->id);
	while (db_step(st) > 0)
		json_array_append_new(opts, json_string(db_text(st, 0)));
	db_done(st);
	info = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:{s:I, s:s}, s:o, s:o, s:o}", "code", t->code, "name",
			 t->name, "zone", t->zone, "services", svcs, "options", opts, "counts", counts,
			 "audit_head", "seq", (json_int_t)seq, "hash", hash, "keys", keys_or_ledger(db, t),
			 "managers", managers, "sample", sample);
	svcs = opts = managers = sample = NULL;
	text = info ? json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	r = text ? 0 : -ENOMEM;
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET info = $2, phase = 'keys' WHERE tenant_id = $1"
				" AND phase = 'prepare'", "it", t->id, text);
	r = commit_or_rollback(db, r);
	db = NULL;
out:
	if (db)
		db_rollback(db);
	json_decref(info);
	json_decref(svcs);
	json_decref(opts);
	json_decref(managers);
	json_decref(sample);
	free(text);
	return r;
}

/* ---------------------------------------------------------------- the ledger */

static void ledger_path(const char *dir, char *buf, size_t size)
{
	str_printf(buf, size, "%s/%s", dir, LIFECYCLE_LEDGER_FILE);
}

/* Each line of the ledger, parsed, to fn; -EBADMSG on a line that is not a ledger entry. */
static int ledger_each(const char *dir, int (*fn)(void *ctx, json_t *line), void *ctx)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	ledger_path(dir, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		json_t *j;

		if (n > LIFECYCLE_LEDGER_LINE_MAX) {
			r = -EBADMSG;
			break;
		}
		if (line[n - 1] != '\n' && feof(f))
			break;   /* a last line torn by a crash before its fsync: its keys were not yet destroyed */
		j = json_loadb(line, (size_t)n, 0, NULL);
		if (!json_is_object(j) || !json_is_array(json_object_get(j, "keys")) ||
		    !json_is_integer(json_object_get(j, "tenant_id")) || !json_is_string(json_object_get(j, "code")))
			r = -EBADMSG;
		else
			r = fn(ctx, j);
		json_decref(j);
	}
	free(line);
	fclose(f);
	return r;
}

static int ledger_find_fn(void *ctx, json_t *line)
{
	struct ledger_find *lf = ctx;

	if (json_integer_value(json_object_get(line, "tenant_id")) == lf->tenant_id &&
	    !strcmp(json_string_value(json_object_get(line, "code")), lf->code)) {
		lf->found = true;
		if (lf->keys)
			json_array_extend(lf->keys, json_object_get(line, "keys"));
	}
	return 0;
}

/* Appends the tenant's line (once) and makes it durable before any key goes. */
/* A last line torn by a crash before its fsync (no newline) is cut off before the next line
 * is appended, so it never joins a whole line into one ledger_each() cannot read. */
static int ledger_untear(int fd)
{
	char buf[4096];
	off_t end = lseek(fd, 0, SEEK_END), at = end;

	if (end < 0)
		return -errno;
	while (at > 0) {
		size_t n = at > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)at;
		ssize_t got = pread(fd, buf, n, at - (off_t)n);

		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n') {
				off_t keep = at - (off_t)n + (off_t)i;

				return keep == end || ftruncate(fd, keep) == 0 ? 0 : -errno;
			}
		at -= (off_t)n;
	}
	return end == 0 || ftruncate(fd, 0) == 0 ? 0 : -errno;
}

static int ledger_append(const struct tenant *t, json_t *info, const char *end_day, int64_t ends_us,
			 int64_t deadline_us)
{
	struct ledger_find lf = { .tenant_id = t->id, .code = t->code };
	json_t *line, *ids = json_array(), *k;
	char path[4096], *text;
	size_t i;
	int fd, dfd, r;

	r = ledger_each(lifecycle_data_dir(), ledger_find_fn, &lf);
	if (r < 0 || lf.found) {
		json_decref(ids);
		return r;
	}
	json_array_foreach(json_object_get(info, "keys"), i, k)
		json_array_append(ids, json_object_get(k, "key_id"));
	line = json_pack("{s:i, s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:o}", "v", 1, "tenant_id", (json_int_t)t->id,
			 "code", t->code, "created_us", (json_int_t)t->created_us, "end_day", end_day, "ends_us",
			 (json_int_t)ends_us, "deadline_us", (json_int_t)deadline_us, "recorded_us",
			 (json_int_t)clock_now_us(), "keys", ids);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(line);
	if (!text)
		return -ENOMEM;
	ledger_path(lifecycle_data_dir(), path, sizeof(path));
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	r = fd < 0 ? -errno : 0;
	if (r == 0)
		r = ledger_untear(fd);
	if (r == 0) {
		size_t len = strlen(text);

		text[len] = '\n';   /* json_dumps left room for the NUL */
		if (write(fd, text, len + 1) != (ssize_t)(len + 1) || fsync(fd) < 0)
			r = errno ? -errno : -EIO;
		close(fd);
	}
	free(text);
	dfd = r == 0 ? open(lifecycle_data_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			r = -errno;
		close(dfd);
	}
	return r;
}

struct ledger_apply {
	struct db *db;
	int64_t destroyed;
	int r;
};

static int ledger_apply_fn(void *ctx, json_t *line)
{
	struct ledger_apply *la = ctx;
	struct db *db = la->db;
	int64_t tenant_id = json_integer_value(json_object_get(line, "tenant_id")), n = 0;
	json_t *ids = json_object_get(line, "keys"), *v;
	struct db_stmt *st;
	struct {
		int64_t version;
	} hit[LIFECYCLE_LEDGER_KEYS_MAX];
	struct tenant t;
	size_t i, n_hit = 0;
	int r;

	if (json_array_size(ids) > LIFECYCLE_LEDGER_KEYS_MAX)
		return -EBADMSG;
	if (tenant_get(db, tenant_id, &t) < 0 || strcmp(t.code, json_string_value(json_object_get(line, "code"))))
		return 0;   /* not this deployment's tenant (or gone entirely) */
	st = db_query(db, "SELECT version, wrapped FROM tenant_keys WHERE tenant_id = $1", "i", tenant_id);
	while (db_step(st) > 0 && n_hit < ARRAY_SIZE(hit)) {
		char id[65];
		size_t len = 0;
		const void *w = db_blob(st, 1, &len);

		erasure_key_id(w, len, id);
		json_array_foreach(ids, i, v)
			if (json_is_string(v) && !strcmp(json_string_value(v), id))
				hit[n_hit++].version = db_int(st, 0);
	}
	db_done(st);
	if (n_hit == 0 && count(db, "SELECT COUNT(*) FROM tenant_terminations WHERE tenant_id = $1 AND state = 'erased'",
				tenant_id) > 0)
		return 0;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	for (i = 0; r == 0 && i < n_hit; i++) {
		r = db_exec(db, "DELETE FROM tenant_keys WHERE tenant_id = $1 AND version = $2", "ii", tenant_id,
			    hit[i].version);
		n += r == 0 ? db_changes(db) : 0;
	}
	if (r == 0)
		r = db_exec(db, "UPDATE tenants SET status = 'terminated', updated_us = $2 WHERE id = $1", "ii", tenant_id,
			    clock_now_us());
	/* a restored copy's queued mail of the tenant (links, file names) is never sent */
	if (r == 0)
		r = db_exec(db, "DELETE FROM mail_outbox WHERE tenant_id = $1 AND state IN ('queued', 'deferred')", "i",
			    tenant_id);
	/* the erasure finishes here too: a row in erasing (or a new one from the ledger) */
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET state = 'erasing', phase = CASE WHEN phase = 'done'"
				" THEN 'data' ELSE phase END, started_us = COALESCE(started_us, $2)"
				" WHERE tenant_id = $1 AND state <> 'erasing'", "ii", tenant_id, clock_now_us());
	if (r == 0 && count(db, "SELECT COUNT(*) FROM tenant_terminations WHERE tenant_id = $1", tenant_id) == 0)
		r = db_exec(db, "INSERT INTO tenant_terminations (tenant_id, end_day, ends_us, erase_after_us, deadline_us,"
				" state, phase, notices, scheduled_by, scheduled_us, erasure_by, started_us)"
				" VALUES ($1, $2, $3, $3, $4, 'erasing', 'prepare', 15, 'erasure ledger', $5,"
				" 'erasure ledger (kura serve start-up)', $5)", "itiii", tenant_id,
			    json_string_value(json_object_get(line, "end_day")) ? json_string_value(json_object_get(line, "end_day")) : "",
			    (int64_t)json_integer_value(json_object_get(line, "ends_us")),
			    (int64_t)json_integer_value(json_object_get(line, "deadline_us")), clock_now_us());
	if (r == 0)
		r = record(db, &actor_system, tenant_id, t.code, "tenant.erasure-ledger",
			   json_pack("{s:I}", "keys_destroyed", (json_int_t)n));
	r = commit_or_rollback(db, r);
	if (r == 0)
		la->destroyed += n;
	return r;
}

int erasure_ledger_apply(struct db *db, const char *data_dir, int64_t *ret_n)
{
	struct ledger_apply la = { .db = db };
	int r = ledger_each(data_dir, ledger_apply_fn, &la);

	if (r == 0 && la.destroyed > 0) {
		(void)db_checkpoint_truncate(db);
		log_warn("lifecycle.ledger", "the erasure ledger destroyed %lld key(s) of erased tenants that this database"
			 " still held (a restored copy); their erasure completes now", (long long)la.destroyed);
	}
	if (ret_n)
		*ret_n = la.destroyed;
	return r;
}

/* ---------------------------------------------------------------- keys */

/* The outcome of a WAL checkpoint with truncation, as the certificate states it. */
static const char *wal_outcome(int r)
{
	return r == 0 ? "truncated" : r == -EBUSY ? "not truncated (a reader held it)" : "not truncated (failed)";
}

/* Keeps the outcome in the erasure's info (the row), for the certificate: best effort,
 * since the keys are gone already; without it the certificate says "not recorded". */
static void note_wal(struct db *db, const struct tenant *t, json_t *info, const char *when, int r)
{
	json_t *wal = json_object_get(info, "wal");
	char *text;
	int w;

	if (!json_is_object(wal)) {
		wal = json_object();
		json_object_set_new(info, "wal", wal);
	}
	json_object_set_new(wal, when, json_string(wal_outcome(r)));
	text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		log_warn("lifecycle.wal", "tenant %s: the WAL's outcome could not be recorded", t->code);
		return;
	}
	w = db_begin(db);
	if (w == 0)
		w = db_exec(db, "UPDATE tenant_terminations SET info = $2 WHERE tenant_id = $1", "it", t->id, text);
	free(text);
	if (commit_or_rollback(db, w) < 0)
		log_warn("lifecycle.wal", "tenant %s: the WAL's outcome could not be recorded", t->code);
}

static int destroy_keys(const struct lifecycle_env *env, struct db *db, const struct tenant *t, json_t *info,
			const char *end_day, int64_t ends_us, int64_t deadline_us)
{
	int r = ledger_append(t, info, end_day, ends_us, deadline_us);
	int64_t n = 0;

	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, t->id);
	if (r == 0)
		r = db_exec(db, "DELETE FROM tenant_keys WHERE tenant_id = $1", "i", t->id);
	n = r == 0 ? db_changes(db) : 0;
	if (r == 0)
		r = set_phase(db, t->id, "verify");
	if (r == 0)
		r = record(db, &actor_system, t->id, t->code, "tenant.erasure-keys",
			   json_pack("{s:I}", "keys_destroyed", (json_int_t)n));
	r = commit_or_rollback(db, r);
	if (r < 0)
		return r;
	if (env && env->keyring)
		keyring_rt_forget(env->keyring, t->id);
	/* the freed pages are overwritten (secure_delete); the WAL still holds the old pages
	 * until a checkpoint copies the database back and truncates it */
	r = db_checkpoint_truncate(db);
	if (r < 0)
		log_warn("lifecycle.wal", "tenant %s: the WAL is %s; the certificate says so, and the next"
			 " checkpoint overwrites it", t->code, wal_outcome(r));
	/* what happened goes into the certificate as it is (issue) */
	note_wal(db, t, info, "after_keys_destroyed", r);
	return 0;
}

/* ---------------------------------------------------------------- verify */

/* Why a sampled file did not open after the keys were destroyed: "unreadable" when the
 * tenant key of its version is gone (what the crypto-erase must achieve), "missing" when its
 * row is gone (it proves nothing either way), "other" for anything else (its key is still
 * there, or the check itself failed): only the first counts as evidence. */
static const char *sample_outcome(struct db *db, int64_t tenant_id, int64_t file_id)
{
	struct db_stmt *st = db_query(db, "SELECT (SELECT count(*) FROM tenant_keys k WHERE k.tenant_id = n.tenant_id"
					  " AND k.version = n.key_version) FROM file_nodes n WHERE n.tenant_id = $1"
					  " AND n.id = $2", "ii", tenant_id, file_id);
	int r = st ? db_step(st) : -EIO;
	const char *out = r < 0 ? "other" : r == 0 ? "missing" : db_int(st, 0) == 0 ? "unreadable" : "other";

	db_done(st);
	return out;
}

static int verify(const struct lifecycle_env *env, struct db *db, const struct tenant *t, json_t *info)
{
	json_t *sample = json_object_get(info, "sample"), *v, *results = json_array(), *ver;
	size_t i, unreadable = 0, missing = 0, other = 0;
	char *text;
	int r;

	json_array_foreach(sample, i, v) {
		struct files_reader *rd = NULL;
		struct file_node node;
		const char *outcome;

		r = env && env->files ? files_open(env->files, db, t->id, json_integer_value(v), &node, &rd) : -ENOKEY;
		if (r == 0) {
			/* it opened: a key that unwraps it is still there (no read needed to know) */
			rd = files_reader_close(rd);
			log_error("lifecycle.verify", "tenant %s: file %lld still opens after its keys were destroyed",
				  t->code, (long long)json_integer_value(v));
			json_decref(results);
			return -EIO;
		}
		outcome = sample_outcome(db, t->id, json_integer_value(v));
		if (!strcmp(outcome, "unreadable"))
			unreadable++;
		else if (!strcmp(outcome, "missing"))
			missing++;
		else
			other++;
		if (strcmp(outcome, "unreadable"))
			log_warn("lifecycle.verify", "tenant %s: sampled file %lld is %s (%s), not evidence of the erase",
				 t->code, (long long)json_integer_value(v), outcome, strerror(-r));
		json_array_append_new(results, json_pack("{s:I, s:s, s:s}", "file", (json_int_t)json_integer_value(v),
							 "outcome", outcome, "result", strerror(-r)));
	}
	ver = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "method",
			"each sampled file opened through the files service after the keys were destroyed;"
			" unreadable: refused for want of its destroyed key; missing: its record was gone;"
			" other: refused for another reason",
			"sampled", (json_int_t)json_array_size(sample), "unreadable", (json_int_t)unreadable,
			"missing", (json_int_t)missing, "other", (json_int_t)other, "results", results);
	json_object_set_new(info, "verification", ver);
	text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	r = db_begin(db);
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET info = $2, phase = 'data' WHERE tenant_id = $1", "it",
			    t->id, text);
	free(text);
	return commit_or_rollback(db, r);
}

/* ---------------------------------------------------------------- data */

/* Rows per transaction: LIFECYCLE_BATCH; KURA_TEST_ERASURE_BATCH (1..LIFECYCLE_BATCH) in the
 * environment makes it smaller, so that a test's kill -9 finds an erasure in the middle of
 * its rows (read once, like KURA_TEST_CLOCK_OFFSET_S). */
static int64_t batch_rows(void)
{
	static int64_t batch;

	if (!batch) {
#ifdef KURA_TEST_HOOKS
		const char *v = getenv("KURA_TEST_ERASURE_BATCH");
#else
		const char *v = NULL;
#endif
		long long b = v ? strtoll(v, NULL, 10) : 0;

		batch = b >= 1 && b <= LIFECYCLE_BATCH ? b : LIFECYCLE_BATCH;
	}
	return batch;
}

static int delete_rows(struct db *db, const struct tenant *t)
{
	int64_t batch = batch_rows();
	int r;

	/* the file tree, leaves first (parent_id keeps a folder until its children are gone) */
	for (;;) {
		if (atomic_load(&lifecycle_stopping) || !lifecycle_lease_renew(db))
			return -EINTR;
		r = db_begin(db);
		if (r < 0)
			return r;
		r = db_name_unindex_leaves(db, t->id, batch);
		if (r == 0)
			r = db_exec(db, "DELETE FROM file_nodes WHERE id IN (SELECT n.id FROM file_nodes n WHERE n.tenant_id = $1"
					" AND NOT EXISTS (SELECT 1 FROM file_nodes c WHERE c.tenant_id = $1 AND c.parent_id = n.id)"
					" ORDER BY n.id LIMIT $2)", "ii", t->id, batch);
		if (r == 0 && db_changes(db) == 0) {
			db_rollback(db);
			break;
		}
		r = commit_or_rollback(db, r);
		if (r < 0)
			return r;
	}
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, t->id);
	for (size_t i = 0; r == 0 && erasure_tables[i]; i++) {
		char sql[128];

		str_printf(sql, sizeof(sql), "DELETE FROM %s WHERE tenant_id = $1", erasure_tables[i]);
		r = db_exec(db, sql, "i", t->id);
	}
	if (r == 0)
		r = set_phase(db, t->id, "certificate");
	return commit_or_rollback(db, r);
}

/* ---------------------------------------------------------------- certificate */

static int issue(const struct lifecycle_env *env, struct db *db, const struct tenant *t, json_t *info)
{
	struct db_stmt *st;
	char end_day[11] = "", by[128] = "", runner[128] = "", *cert = NULL, pub[AUDIT_PUBLIC_KEY_HEX] = "";
	char ended[CLOCK_RFC3339_LEN] = "", deadline[CLOCK_RFC3339_LEN] = "", started[CLOCK_RFC3339_LEN] = "",
	     finished[CLOCK_RFC3339_LEN] = "", certhash[65], crypto_erase[512];
	int64_t now = clock_now_us(), started_us = now;
	const char *after_keys, *before_cert;
	json_t *body, *m, *wal;
	size_t i;
	int r;

	st = db_query(db, "SELECT end_day, ends_us, deadline_us, started_us, scheduled_by, erasure_by FROM"
			  " tenant_terminations WHERE tenant_id = $1", "i", t->id);
	r = db_step(st);
	if (r > 0) {
		str_copy(end_day, sizeof(end_day), db_text(st, 0));
		(void)clock_format_zone(db_int(st, 1), t->zone, ended, sizeof(ended));
		(void)clock_format_zone(db_int(st, 2), t->zone, deadline, sizeof(deadline));
		started_us = db_is_null(st, 3) ? now : db_int(st, 3);
		str_copy(by, sizeof(by), db_text(st, 4));
		str_copy(runner, sizeof(runner), db_text(st, 5));
	}
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	(void)clock_format_zone(started_us, t->zone, started, sizeof(started));
	(void)clock_format_zone(now, t->zone, finished, sizeof(finished));
	/* the WAL once more: what the keys' step could not truncate (a reader held it) is
	 * truncated now if it can be; the certificate says exactly what happened when */
	after_keys = json_string_value(json_object_get(json_object_get(info, "wal"), "after_keys_destroyed"));
	before_cert = wal_outcome(db_checkpoint_truncate(db));
	wal = json_pack("{s:s, s:s}", "after_keys_destroyed", after_keys ? after_keys : "not recorded",
			"before_certificate", before_cert);
	if (after_keys && !strcmp(after_keys, "truncated"))
		str_copy(crypto_erase, sizeof(crypto_erase),
			 "every tenant data key (current and rotated-out versions) deleted from the database with"
			 " secure_delete and the WAL truncated right after; each file key was wrapped only by these keys");
	else
		str_printf(crypto_erase, sizeof(crypto_erase),
			   "every tenant data key (current and rotated-out versions) deleted from the database with"
			   " secure_delete; the WAL right after: %s; before this certificate: %s; each file key was"
			   " wrapped only by these keys", after_keys ? after_keys : "not recorded", before_cert);
	body = json_pack("{s:s, s:{s:s, s:s, s:I}, s:O, s:O, s:s, s:s, s:s, s:s, s:s,"
			 " s:{s:s, s:s, s:s, s:s}, s:O, s:O, s:O, s:o, s:O, s:{s:s}, s:s, s:s}",
			 "format", "kura-erasure-certificate/1",
			 "tenant", "code", t->code, "name", t->name, "id", (json_int_t)t->id,
			 "services", json_object_get(info, "services"), "options", json_object_get(info, "options"),
			 "termination_date", end_day, "contract_ended_at", ended, "erasure_deadline", deadline,
			 "erasure_started_at", started, "erasure_completed_at", finished,
			 "method", "technique", "cryptographic erase, then deletion",
			 "sanitization", "purge (NIST SP 800-88 Rev. 2: cryptographic erase)",
			 "crypto_erase", crypto_erase,
			 "deletion", "blobs (content, unfinished uploads), files, folders, trash, accounts, sessions,"
				     " app passwords, MFA secrets, share links, labels, WebDAV properties and locks,"
				     " client certificates, queued mail",
			 "keys_destroyed", json_object_get(info, "keys"), "counts", json_object_get(info, "counts"),
			 "audit_chain_head", json_object_get(info, "audit_head"), "wal", wal,
			 "verification", json_object_get(info, "verification") ? json_object_get(info, "verification")
										: json_null(),
			 "performed_by", "system", runner, "authorized_by", by,
			 "kept_after_erasure", "the tenant's audit records until their retention ends; the contract"
					       " (code, name, services, options) and this certificate");
	if (!body)
		return -ENOMEM;
	r = certificate_sign(body, &cert);
	json_decref(body);
	if (r < 0)
		return r;
	erasure_key_id(cert, strlen(cert), certhash);
	if (audit_public_key_hex(pub) < 0)
		str_copy(pub, sizeof(pub), "-");
	r = db_begin(db);
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET certificate = $2, finished_us = $3, state = 'erased',"
				" phase = 'done' WHERE tenant_id = $1", "iti", t->id, cert, now);
	if (r == 0)
		r = record(db, &actor_system, t->id, t->code, "tenant.erasure-complete",
			   json_pack("{s:s}", "certificate_sha256", certhash));
	/* the certificate to the managers' addresses captured before the erasure, as provider
	 * mail (the tenant's own outbox rows are gone) */
	json_array_foreach(json_object_get(info, "managers"), i, m) {
		const struct mail_var vars[] = {
			MAIL_TEXT("tenant_name", t->name), MAIL_TEXT("tenant_code", t->code),
			MAIL_TIME("erased_at", now), MAIL_TEXT("public_key", pub), MAIL_TEXT("certificate", cert),
		};
		const struct mail mm = { .name = "erasure-certificate", .zone = t->zone, .vars = vars,
					 .n_vars = ARRAY_SIZE(vars) };

		if (r == 0 && json_is_string(m))
			r = mail_queue(db, 0, json_string_value(m), &mm, NULL);
	}
	/* what prepare() captured to do its work goes now: the addresses (mailed above) and the
	 * sampled file ids; the certificate keeps what it states (kept_after_erasure) */
	if (r == 0) {
		json_t *kept = json_deep_copy(info);
		char *text;

		json_object_del(kept, "managers");
		json_object_del(kept, "sample");
		text = kept ? json_dumps(kept, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		r = text ? db_exec(db, "UPDATE tenant_terminations SET info = $2 WHERE tenant_id = $1", "it", t->id, text)
			 : -ENOMEM;
		free(text);
		json_decref(kept);
	}
	r = commit_or_rollback(db, r);
	free(cert);
	if (r == 0)
		log_info("lifecycle.erased", "tenant %s is erased; its certificate is kept (kura admin tenant certificate %s)",
			 t->code, t->code);
	(void)env;
	return r;
}

/* ---------------------------------------------------------------- the run */

int erasure_run(const struct lifecycle_env *env, struct db *db, int64_t tenant_id)
{
	struct tenant t;
	int r = tenant_get(db, tenant_id, &t);

	while (r == 0) {
		char phase[16] = "", end_day[11] = "";
		int64_t ends_us = 0, deadline_us = 0;
		json_t *info = NULL;
		struct db_stmt *st = db_query(db, "SELECT phase, info, state, end_day, ends_us, deadline_us FROM"
					      " tenant_terminations WHERE tenant_id = $1", "i", tenant_id);

		r = db_step(st);
		if (r > 0 && strcmp(db_text(st, 2), "erasing"))
			r = strcmp(db_text(st, 2), "erased") ? -EPERM : 0;
		else if (r > 0) {
			str_copy(phase, sizeof(phase), db_text(st, 0));
			info = json_loads(db_text(st, 1), 0, NULL);
			str_copy(end_day, sizeof(end_day), db_text(st, 3));
			ends_us = db_int(st, 4);
			deadline_us = db_int(st, 5);
			r = info ? 1 : -EBADMSG;
		} else if (r == 0) {
			r = -ENOENT;
		}
		db_done(st);
		if (r <= 0) {
			json_decref(info);
			return r;
		}
		int64_t t0 = clock_now_us();

		if (atomic_load(&lifecycle_stopping) || !lifecycle_lease_renew(db))
			r = -EINTR;
		else if (!strcmp(phase, "prepare"))
			r = prepare(db, &t);
		else if (!strcmp(phase, "keys"))
			r = destroy_keys(env, db, &t, info, end_day, ends_us, deadline_us);
		else if (!strcmp(phase, "verify"))
			r = verify(env, db, &t, info);
		else if (!strcmp(phase, "data")) {
			unsigned n = 0;

			r = env && env->blobs ? blob_delete_tenant(env->blobs, tenant_id, &n) : 0;
			if (r == 0)
				r = delete_rows(db, &t);
		} else if (!strcmp(phase, "certificate"))
			r = issue(env, db, &t, info);
		else
			r = -EBADMSG;
		json_decref(info);
		log_info("lifecycle.erasure", "tenant %s: %s %s in %lld ms", t.code, phase, r == 0 ? "done" : strerror(-r),
			 (long long)((clock_now_us() - t0) / 1000));
	}
	return r;
}

/* ---------------------------------------------------------------- an option's end */

int erasure_option(struct db *db, const struct actor *who, int64_t tenant_id, const char *option)
{
	const struct catalog_option *o = lifecycle_option_of(db, tenant_id, option);
	static const char *const feature_col[CATALOG_N_FEATURES] = { "sharing", "webdav", "app_passwords" };
	struct tenant t;
	json_t *erased = json_array();
	int r = tenant_get(db, tenant_id, &t);

	if (r < 0) {
		json_decref(erased);
		return r;
	}
	r = db_begin(db);
	if (r == 0)
		r = db_lock_tenant(db, tenant_id);
	for (size_t i = 0; r == 0 && o && i < o->n_owns; i++) {
		static const char *const sql[CATALOG_N_DATA][5] = {
			[CATALOG_DATA_DAV_PROPERTIES] = { "DELETE FROM dav_props WHERE tenant_id = $1" },
			[CATALOG_DATA_DAV_LOCKS] = { "DELETE FROM dav_locks WHERE tenant_id = $1" },
			[CATALOG_DATA_APP_PASSWORDS] = { "DELETE FROM app_passwords WHERE tenant_id = $1" },
			[CATALOG_DATA_UPLOAD_LINKS] = { "DELETE FROM shares WHERE tenant_id = $1 AND kind = 'upload'",
							"DELETE FROM uploads WHERE tenant_id = $1" },
			[CATALOG_DATA_CLIENT_CERTS] = { "DELETE FROM client_cert_revocations WHERE tenant_id = $1",
							"DELETE FROM client_certs WHERE tenant_id = $1",
							"DELETE FROM tenant_client_cas WHERE tenant_id = $1",
							"DELETE FROM tenant_client_certs WHERE tenant_id = $1" },
			[CATALOG_DATA_MAIL_LOG] = { "DELETE FROM mail_outbox WHERE tenant_id = $1 AND state IN ('sent', 'failed')" },
			[CATALOG_DATA_LABELS] = { "DELETE FROM file_labels WHERE tenant_id = $1",
						  "DELETE FROM share_labels WHERE tenant_id = $1" },
		};
		for (size_t k = 0; r == 0 && k < 5 && sql[o->owns[i]][k]; k++)
			r = db_exec(db, sql[o->owns[i]][k], "i", tenant_id);
		json_array_append_new(erased, json_string(catalog_data_name(o->owns[i])));
	}
	if (r == 0 && o && o->feature >= 0 && o->feature < CATALOG_N_FEATURES) {
		char q[160];

		str_printf(q, sizeof(q), "UPDATE tenant_features SET %s = 0, updated_us = $2 WHERE tenant_id = $1",
			   feature_col[o->feature]);
		r = db_exec(db, q, "ii", tenant_id, clock_now_us());
	}
	if (r == 0)
		r = db_exec(db, "DELETE FROM tenant_options WHERE tenant_id = $1 AND option = $2", "it", tenant_id, option);
	if (r == 0)
		r = db_exec(db, "UPDATE option_terminations SET state = 'erased', finished_us = $3 WHERE tenant_id = $1"
				" AND option = $2", "iti", tenant_id, option, clock_now_us());
	if (r == 0)
		r = record(db, who, tenant_id, t.code, "tenant.option-erased",
			   json_pack("{s:s, s:O, s:s}", "option", option, "erased", erased,
							      "feature_off", o && o->feature >= 0
									     ? catalog_feature_name((size_t)o->feature) : ""));
	json_decref(erased);
	return commit_or_rollback(db, r);
}
