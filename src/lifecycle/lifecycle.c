/*
 * The schedule of a contract's end: terminate, terminate an option, cancel, reinstate, the
 * notices, and the scheduler that moves each termination along (lifecycle.h).
 *
 * Times: the contract ends at the start of the day after end_day in the tenant's zone
 * (clock_day_start); the erasure deadline is the end of the catalog's last day counted from
 * end_day (catalog_erasure_last_day's rule over the tenant's effective values); the erasure
 * starts at the end of the grace period, but never later than LIFECYCLE_ALERT_MARGIN_US
 * before the deadline. A pass that finds a termination not erased that close to its deadline
 * raises the alert once (log and mail to [lifecycle] alert_email).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "lifecycle/lifecycle_int.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "store/lease.h"
#include "tenant/tenant.h"

#define DAY_US (24LL * 3600 * 1000000)

static struct {
	uint32_t grace_days;
	char alert_email[256];
	char data_dir[4096];
	char public_url[256];
} conf = { LIFECYCLE_GRACE_DAYS_DEFAULT, "", ".", "https://localhost:8443" };

void lifecycle_configure(const struct lifecycle_config *c)
{
	conf.grace_days = c->grace_days <= LIFECYCLE_GRACE_DAYS_MAX ? c->grace_days : LIFECYCLE_GRACE_DAYS_DEFAULT;
	str_copy(conf.alert_email, sizeof(conf.alert_email), c->alert_email ? c->alert_email : "");
	str_copy(conf.data_dir, sizeof(conf.data_dir), c->data_dir ? c->data_dir : ".");
	str_copy(conf.public_url, sizeof(conf.public_url), c->public_url ? c->public_url : "");
}

const char *lifecycle_data_dir(void)
{
	return conf.data_dir;
}

/* ---------------------------------------------------------------- dates */

static bool date_valid(const char *d)
{
	int64_t us;

	return d && strlen(d) == 10 && clock_parse_rfc3339(d, &us) == 0;
}

int lifecycle_times(const char *zone, const char *end_day, const struct catalog_effective *e,
		    uint32_t grace_days, struct lifecycle_times *ret)
{
	struct catalog_params p = { .erasure_days = e->erasure_days, .erasure_day1_after = e->erasure_day1_after };
	int64_t last = catalog_erasure_last_day(&p);
	int r;

	r = clock_day_start(end_day, 1, zone, &ret->ends_us);
	if (r == 0)
		r = clock_day_start(end_day, last + 1, zone, &ret->deadline_us);
	if (r < 0)
		return r;
	ret->erase_after_us = ret->ends_us + (int64_t)grace_days * DAY_US;
	/* the erasure must finish before the deadline, always: a grace period as long as the
	 * deadline window gives way to it */
	if (ret->erase_after_us > ret->deadline_us - LIFECYCLE_ALERT_MARGIN_US)
		ret->erase_after_us = ret->deadline_us - LIFECYCLE_ALERT_MARGIN_US;
	if (ret->erase_after_us < ret->ends_us)
		ret->erase_after_us = ret->ends_us;
	return 0;
}

/* ---------------------------------------------------------------- what is erased */

/* The text lines of what the end erases, for the notice (one item a line). */
static void erased_text(const char *option, int64_t tenant_id, struct db *db, char *buf, size_t size)
{
	const struct catalog_option *o = NULL;

	buf[0] = '\0';
	if (!option) {
		str_copy(buf, size, "- files and folders (also in the trash) / ファイルとフォルダー (ごみ箱を含む)\n"
				    "- accounts, passwords, MFA, app passwords, sessions / アカウント、パスワード、多要素認証、アプリパスワード、セッション\n"
				    "- share links, upload requests, labels / 共有リンク、アップロード依頼、ラベル\n"
				    "- WebDAV properties and locks, client certificates, queued mail / WebDAV のプロパティとロック、クライアント証明書、送信待ちのメール\n"
				    "- the audit log after its retention period / 監査ログ (保存期間の終了後)");
		return;
	}
	o = lifecycle_option_of(db, tenant_id, option);
	for (size_t i = 0; o && i < o->n_owns; i++) {
		size_t n = strlen(buf);

		str_printf(buf + n, size - n, "%s- %s", n ? "\n" : "", catalog_data_name(o->owns[i]));
	}
	if (!buf[0])
		str_copy(buf, size, "- (no data of its own) / (固有のデータなし)");
}

/* The option's catalog entry in one of the tenant's services, or NULL. */
const struct catalog_option *lifecycle_option_of(struct db *db, int64_t tenant_id, const char *option)
{
	char svcs[KURA_MAX_SERVICES][16];
	size_t n = 0;

	if (tenant_services(db, tenant_id, svcs, KURA_MAX_SERVICES, &n) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int k = catalog_index(svcs[i]);
		const struct catalog_option *o = k >= 0 ? catalog_option_find((size_t)k, option) : NULL;

		if (o)
			return o;
	}
	return NULL;
}

/* ---------------------------------------------------------------- notices */

/* Queues the notice to the tenant's managers inside the caller's transaction. days_left 0:
 * the first notice. */
static int notice(struct db *db, const struct tenant *t, const char *option, const char *end_day,
		  int64_t ends_us, int64_t deadline_us, int64_t days_left)
{
	char erased[1024], url[512], days[24];
	size_t n = 0;

	erased_text(option, t->id, db, erased, sizeof(erased));
	str_printf(url, sizeof(url), "%s/api/v1/export", conf.public_url);
	str_printf(days, sizeof(days), "%lld", (long long)days_left);
	const struct mail_var vars[] = {
		MAIL_TEXT("tenant_name", t->name), MAIL_TEXT("tenant_code", t->code),
		MAIL_TEXT("option", option ? option : ""), MAIL_FLAG("option_only", option != NULL),
		MAIL_FLAG("reminder", days_left > 0), MAIL_TEXT("end_day", end_day),
		MAIL_TIME("ends_at", ends_us), MAIL_TIME("deadline", deadline_us),
		MAIL_TEXT("days_left", days), MAIL_TEXT("erased", erased), MAIL_TEXT("export_url", url),
	};
	const struct mail m = { .name = "termination-notice", .zone = t->zone, .vars = vars,
				.n_vars = ARRAY_SIZE(vars) };

	return notify_managers(db, t->id, NULL, &m, &n);
}

/* Reminder bits: 2 = 14 days, 4 = 7 days, 8 = 1 day before the end. The bits of the
 * reminders due at now that were not sent; *ret_days the one to send (the nearest), 0 none. */
int64_t lifecycle_reminders_due(int64_t notices, int64_t ends_us, int64_t now, int64_t *ret_days)
{
	static const int64_t days[] = { 14, 7, 1 };
	int64_t bits = 0;

	*ret_days = 0;
	if (now >= ends_us)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(days); i++) {
		int64_t bit = 2LL << i;

		if (now >= ends_us - days[i] * DAY_US && !(notices & bit)) {
			bits |= bit;
			*ret_days = days[i];
		}
	}
	return bits;
}

/* ---------------------------------------------------------------- commands */

static int record(struct db *db, const struct actor *who, const struct tenant *t, const char *action,
		  json_t *details)
{
	int r = audit_record(db, &(struct audit_event){ .tenant_id = t->id, .actor = who,
				     .category = AUDIT_OPERATOR, .action = action, .target = t->code,
				     .result = AUDIT_SUCCESS, .details = details });

	json_decref(details);
	return r;
}

static int plan(struct db *db, const struct tenant *t, const char *date, struct lifecycle_times *ret)
{
	struct catalog_effective e;
	char today[11];
	int r;

	if (!date_valid(date))
		return -EINVAL;
	r = clock_zone_date(clock_now_us(), t->zone, today);
	if (r < 0)
		return r;
	if (strcmp(date, today) < 0)
		return -EINVAL;   /* the past */
	r = tenant_effective(db, t->id, &e);
	if (r == -ENOENT) {    /* no service of the catalog: the platform's 30 days from the day after */
		memset(&e, 0, sizeof(e));
		e.erasure_days = 30;
		e.erasure_day1_after = true;
		r = 0;
	}
	return r < 0 ? r : lifecycle_times(t->zone, date, &e, conf.grace_days, ret);
}

int lifecycle_terminate(struct db *db, const struct actor *who, int64_t tenant_id, const char *date,
			json_t **ret)
{
	struct lifecycle_times tm;
	struct tenant t;
	struct db_stmt *st;
	int64_t now = clock_now_us(), notices, skip;
	int r;

	r = tenant_get(db, tenant_id, &t);
	if (r == 0)
		r = plan(db, &t, date, &tm);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT state FROM tenant_terminations WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	if (r > 0)
		r = strcmp(db_text(st, 0), "scheduled") ? -EPERM : -EEXIST;
	db_done(st);
	if (r == 0 && strcmp(t.status, "active"))
		r = -EPERM;
	if (r < 0)
		goto out;
	/* reminders whose day has passed already are not sent late */
	notices = 1 | lifecycle_reminders_due(1, tm.ends_us, now, &skip);
	r = db_exec(db, "INSERT INTO tenant_terminations (tenant_id, end_day, ends_us, erase_after_us, deadline_us,"
			" state, notices, scheduled_by, scheduled_us) VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7, $8)",
		    "itiiiiti", tenant_id, date, tm.ends_us, tm.erase_after_us, tm.deadline_us, notices, who->name, now);
	if (r == 0)
		r = notice(db, &t, NULL, date, tm.ends_us, tm.deadline_us, 0);
	if (r == 0)
		r = record(db, who, &t, "tenant.terminate",
			   json_pack("{s:s, s:I, s:I, s:I}", "end_day", date, "ends_us", (json_int_t)tm.ends_us,
				     "erase_after_us", (json_int_t)tm.erase_after_us, "deadline_us",
				     (json_int_t)tm.deadline_us));
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	else if (ret)
		*ret = lifecycle_json(db, tenant_id, true);
	return r;
}

int lifecycle_terminate_option(struct db *db, const struct actor *who, int64_t tenant_id,
			       const char *option, const char *date, json_t **ret)
{
	struct lifecycle_times tm;
	struct tenant t;
	struct db_stmt *st;
	int64_t now = clock_now_us(), notices, skip;
	int r;

	r = tenant_get(db, tenant_id, &t);
	if (r == 0 && (!option || !tenant_option_valid(option)))
		r = -EINVAL;
	if (r == 0)
		r = plan(db, &t, date, &tm);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT 1 FROM tenant_options WHERE tenant_id = $1 AND option = $2", "it", tenant_id, option);
	r = db_step(st);
	db_done(st);
	if (r == 0)
		r = -ENOENT;
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT 1 FROM option_terminations WHERE tenant_id = $1 AND option = $2", "it", tenant_id,
		      option);
	r = db_step(st) > 0 ? -EEXIST : 0;
	db_done(st);
	if (r == 0)
		r = strcmp(t.status, "active") ? -EPERM : 0;
	if (r < 0)
		goto out;
	notices = 1 | lifecycle_reminders_due(1, tm.ends_us, now, &skip);
	r = db_exec(db, "INSERT INTO option_terminations (tenant_id, option, end_day, ends_us, deadline_us, state,"
			" notices, scheduled_by, scheduled_us) VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7, $8)",
		    "ittiiiti", tenant_id, option, date, tm.ends_us, tm.deadline_us, notices, who->name, now);
	if (r == 0)
		r = notice(db, &t, option, date, tm.ends_us, tm.deadline_us, 0);
	if (r == 0)
		r = record(db, who, &t, "tenant.terminate-option",
			   json_pack("{s:s, s:s, s:I, s:I}", "option", option, "end_day", date, "ends_us",
				     (json_int_t)tm.ends_us, "deadline_us", (json_int_t)tm.deadline_us));
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	else if (ret)
		*ret = lifecycle_json(db, tenant_id, true);
	return r;
}

int lifecycle_cancel(struct db *db, const struct actor *who, int64_t tenant_id)
{
	int64_t now = clock_now_us(), n_opts = 0;
	struct tenant t;
	struct db_stmt *st;
	int r, found = 0;

	r = tenant_get(db, tenant_id, &t);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT state, ends_us FROM tenant_terminations WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	if (r > 0) {
		found = 1;
		if (strcmp(db_text(st, 0), "scheduled") || now >= db_int(st, 1))
			r = -EPERM;
	}
	db_done(st);
	if (r < 0)
		goto out;
	if (found)
		r = db_exec(db, "DELETE FROM tenant_terminations WHERE tenant_id = $1", "i", tenant_id);
	if (r == 0)
		r = db_exec(db, "DELETE FROM option_terminations WHERE tenant_id = $1 AND state = 'scheduled'"
				" AND ends_us > $2", "ii", tenant_id, now);
	n_opts = r == 0 ? db_changes(db) : 0;
	if (r == 0 && !found && n_opts == 0)
		r = -ENOENT;
	if (r == 0)
		r = record(db, who, &t, "tenant.cancel-termination",
			   json_pack("{s:b, s:I}", "contract", found, "options", (json_int_t)n_opts));
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	return r;
}

int lifecycle_reinstate(struct db *db, const struct actor *who, int64_t tenant_id)
{
	int64_t now = clock_now_us();
	struct tenant t;
	struct db_stmt *st;
	int r;

	r = tenant_get(db, tenant_id, &t);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT state, erase_after_us FROM tenant_terminations WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	if (r == 0)
		r = -ENOENT;
	else if (r > 0)
		r = !strcmp(db_text(st, 0), "scheduled") ? -ENOENT
		    : strcmp(db_text(st, 0), "ended") || now >= db_int(st, 1) ? -EPERM : 0;
	db_done(st);
	if (r == 0)
		r = db_exec(db, "DELETE FROM tenant_terminations WHERE tenant_id = $1", "i", tenant_id);
	if (r == 0)
		r = db_exec(db, "UPDATE tenants SET status = 'active', updated_us = $2 WHERE id = $1", "ii",
			    tenant_id, now);
	if (r == 0)
		r = record(db, who, &t, "tenant.reinstate", NULL);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	return r;
}

/* ---------------------------------------------------------------- reading */

static json_t *time_json(int64_t us, const char *zone)
{
	char buf[CLOCK_RFC3339_LEN];

	return clock_format_zone(us, zone, buf, sizeof(buf)) == 0 ? json_string(buf) : json_null();
}

static json_t *erased_list(struct db *db, int64_t tenant_id, const char *option)
{
	json_t *a = json_array();
	const struct catalog_option *o;

	if (!option) {
		static const char *const all[] = { "files", "folders", "trash", "accounts", "sessions",
						   "app_passwords", "mfa", "shares", "labels", "dav_properties",
						   "dav_locks", "client_certs", "queued_mail", "uploads" };

		for (size_t i = 0; i < ARRAY_SIZE(all); i++)
			json_array_append_new(a, json_string(all[i]));
		return a;
	}
	o = lifecycle_option_of(db, tenant_id, option);
	for (size_t i = 0; o && i < o->n_owns; i++)
		json_array_append_new(a, json_string(catalog_data_name(o->owns[i])));
	return a;
}

json_t *lifecycle_json(struct db *db, int64_t tenant_id, bool provider)
{
	struct tenant t;
	struct db_stmt *st;
	json_t *j = NULL, *opts = json_array();
	int r;

	if (tenant_get(db, tenant_id, &t) < 0) {
		json_decref(opts);
		return json_null();
	}
	st = db_query(db, "SELECT option, end_day, ends_us, deadline_us, state, finished_us FROM option_terminations"
			  " WHERE tenant_id = $1 ORDER BY option", "i", tenant_id);
	while ((r = db_step(st)) > 0) {
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "option", db_text(st, 0), "end_day",
				      db_text(st, 1), "ends_at", time_json(db_int(st, 2), t.zone),
				      "erasure_deadline", time_json(db_int(st, 3), t.zone), "state", db_text(st, 4),
				      "erases", erased_list(db, tenant_id, db_text(st, 0)));

		if (o && !db_is_null(st, 5))
			json_object_set_new(o, "erased_at", time_json(db_int(st, 5), t.zone));
		json_array_append_new(opts, o);
	}
	db_done(st);
	st = db_query(db, "SELECT end_day, ends_us, erase_after_us, deadline_us, state, phase, notices,"
			  " scheduled_by, started_us, finished_us, CASE WHEN certificate IS NULL THEN 0 ELSE 1 END"
			  " FROM tenant_terminations"
			  " WHERE tenant_id = $1", "i", tenant_id);
	if (db_step(st) > 0) {
		int64_t n = db_int(st, 6);
		json_t *sent = json_array();

		if (n & 1)
			json_array_append_new(sent, json_string("scheduled"));
		if (n & 2)
			json_array_append_new(sent, json_string("14-days"));
		if (n & 4)
			json_array_append_new(sent, json_string("7-days"));
		if (n & 8)
			json_array_append_new(sent, json_string("1-day"));
		j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "state", db_text(st, 4), "end_day",
			      db_text(st, 0), "ends_at", time_json(db_int(st, 1), t.zone), "grace_until",
			      time_json(db_int(st, 2), t.zone), "erasure_deadline", time_json(db_int(st, 3), t.zone),
			      "notices_sent", sent, "erases", erased_list(db, tenant_id, NULL), "export",
			      "GET /api/v1/export");
		if (j && provider) {
			struct db_stmt *k;

			json_object_set_new(j, "phase", json_string(db_text(st, 5)));
			json_object_set_new(j, "scheduled_by", json_string(db_text(st, 7)));
			if (!db_is_null(st, 8))
				json_object_set_new(j, "erasure_started_at", time_json(db_int(st, 8), t.zone));
			if (!db_is_null(st, 9))
				json_object_set_new(j, "erasure_finished_at", time_json(db_int(st, 9), t.zone));
			json_object_set_new(j, "certificate", json_boolean(db_int(st, 10)));
			k = db_query(db, "SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1", "i", tenant_id);
			if (db_step(k) > 0)
				json_object_set_new(j, "keys_held", json_integer(db_int(k, 0)));
			db_done(k);
		}
	}
	db_done(st);
	if (!j && json_array_size(opts) == 0) {
		json_decref(opts);
		return json_null();
	}
	if (!j)
		j = json_pack("{s:s}", "state", "active");
	if (j)
		json_object_set_new(j, "options", opts);
	else
		json_decref(opts);
	return j ? j : json_null();
}

int lifecycle_certificate(struct db *db, int64_t tenant_id, char **ret)
{
	struct db_stmt *st = db_query(db, "SELECT certificate FROM tenant_terminations WHERE tenant_id = $1"
				      " AND certificate IS NOT NULL", "i", tenant_id);
	int r = db_step(st);

	if (r > 0) {
		*ret = strdup(db_text(st, 0));
		r = *ret ? 0 : -ENOMEM;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

/* ---------------------------------------------------------------- the scheduler */

struct due {
	int64_t tenant_id;
	char state[16];
	char end_day[11];
	int64_t ends_us, erase_after_us, deadline_us, notices;
	bool alerted;
};

static int alert(struct db *db, const struct tenant *t, const struct due *d, const char *reason)
{
	char deadline[CLOCK_RFC3339_LEN];
	int r = 0;

	(void)clock_format_zone(d->deadline_us, t->zone, deadline, sizeof(deadline));
	log_error("lifecycle.deadline", "the erasure of tenant %s is not complete (state %s) and its deadline is %s: %s",
		  t->code, d->state, deadline, reason);
	r = db_begin(db);
	if (r < 0)
		return r;
	if (conf.alert_email[0]) {
		const struct mail_var vars[] = {
			MAIL_TEXT("tenant_code", t->code), MAIL_TIME("deadline", d->deadline_us),
			MAIL_TEXT("state", d->state), MAIL_TEXT("reason", reason),
		};
		const struct mail m = { .name = "erasure-alert", .zone = t->zone, .vars = vars,
					.n_vars = ARRAY_SIZE(vars) };

		r = mail_queue(db, 0, conf.alert_email, &m, NULL);
	}
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET alerted = 1 WHERE tenant_id = $1", "i", t->id);
	if (r == 0)
		r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = &actor_system,
					 .category = AUDIT_OPERATOR, .action = "tenant.erasure-alert",
					 .target = t->code, .result = AUDIT_FAILURE,
					 .details = NULL });
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

/* The end of the contract: not served from now on; its sessions end. */
static int end_contract(struct db *db, const struct tenant *t, int64_t now)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_lock_tenant(db, t->id);
	if (r == 0)
		r = db_exec(db, "UPDATE tenant_terminations SET state = 'ended' WHERE tenant_id = $1 AND state = 'scheduled'",
			    "i", t->id);
	if (r == 0)
		r = db_exec(db, "UPDATE tenants SET status = 'terminated', updated_us = $2 WHERE id = $1", "ii", t->id, now);
	if (r == 0)
		r = db_exec(db, "DELETE FROM sessions WHERE tenant_id = $1", "i", t->id);
	if (r == 0)
		r = db_exec(db, "DELETE FROM share_sessions WHERE tenant_id = $1", "i", t->id);
	/* links that would sign someone in later: invitations and password resets */
	if (r == 0)
		r = db_exec(db, "DELETE FROM invitations WHERE tenant_id = $1", "i", t->id);
	if (r == 0)
		r = db_exec(db, "DELETE FROM password_resets WHERE tenant_id = $1", "i", t->id);
	/* mail of the tenant not sent yet (links, file names) is not sent after the end */
	if (r == 0)
		r = db_exec(db, "DELETE FROM mail_outbox WHERE tenant_id = $1 AND state IN ('queued', 'deferred')", "i",
			    t->id);
	/* no operator access after the end (B3, C7): pending requests and grants end with it */
	if (r == 0)
		r = db_exec(db, "UPDATE access_requests SET state = 'revoked', revoked_by = 'contract end', revoked_at = $2"
				" WHERE tenant_id = $1 AND state IN ('pending', 'approved')", "ii", t->id, now);
	if (r == 0)
		r = record(db, &actor_system, t, "tenant.end", NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	else
		log_info("lifecycle.end", "the contract of tenant %s has ended; it is no longer served", t->code);
	return r;
}

static int send_reminder(struct db *db, const struct tenant *t, const char *table, const char *option,
			 const struct due *d, int64_t bits, int64_t days)
{
	int r = db_begin(db);

	if (r < 0)
		return r;
	if (!strcmp(table, "tenant"))
		r = db_exec(db, "UPDATE tenant_terminations SET notices = notices + $2 WHERE tenant_id = $1", "ii",
			    t->id, bits);
	else
		r = db_exec(db, "UPDATE option_terminations SET notices = notices + $3 WHERE tenant_id = $1"
				" AND option = $2", "iti", t->id, option, bits);
	if (r == 0)
		r = notice(db, t, option, d->end_day, d->ends_us, d->deadline_us, days);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int lifecycle_end_due(struct db *db, int64_t now_us)
{
	int64_t ids[64];
	size_t n = 0;
	struct db_stmt *st;
	int r;

	do {
		n = 0;
		st = db_query(db, "SELECT tenant_id FROM tenant_terminations WHERE state = 'scheduled' AND ends_us <= $1"
				  " ORDER BY tenant_id LIMIT $2", "ii", now_us, (int64_t)ARRAY_SIZE(ids));
		while ((r = db_step(st)) > 0)
			ids[n++] = db_int(st, 0);
		db_done(st);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			struct tenant t;

			r = tenant_get(db, ids[i], &t);
			if (r == 0)
				r = end_contract(db, &t, now_us);
			if (r < 0)
				return r;   /* it would come back: stop here rather than loop */
		}
	} while (n == ARRAY_SIZE(ids));
	return 0;
}

/* The next instant a pass has something to do (an end, the end of a grace period, an
 * option's end), or INT64_MAX. */
static int64_t next_due(struct db *db, int64_t now_us)
{
	struct db_stmt *st = db_query(db, "SELECT MIN(t) FROM (SELECT ends_us AS t FROM tenant_terminations WHERE state = 'scheduled'"
				      " UNION ALL SELECT erase_after_us FROM tenant_terminations WHERE state = 'ended'"
				      " UNION ALL SELECT ends_us FROM option_terminations WHERE state = 'scheduled') AS d"
				      " WHERE t > $1", "i", now_us);
	int64_t next = INT64_MAX;

	if (db_step(st) > 0 && !db_is_null(st, 0))
		next = db_int(st, 0);
	db_done(st);
	return next;
}

#define DUE_MAX 256   /* terminations handled per pass (the next pass takes the rest) */

static int tick_tenants(const struct lifecycle_env *env, struct db *db, int64_t now, int64_t *ret_erased)
{
	struct due *due = calloc(DUE_MAX, sizeof(*due));
	struct db_stmt *st;
	size_t n = 0;
	int r, first = 0;

	if (!due)
		return -ENOMEM;
	st = db_query(db, "SELECT tenant_id, state, end_day, ends_us, erase_after_us, deadline_us, notices, alerted"
			  " FROM tenant_terminations WHERE state <> 'erased' ORDER BY deadline_us LIMIT $1", "i",
		      (int64_t)DUE_MAX);
	while ((r = db_step(st)) > 0) {
		struct due *d = &due[n++];

		d->tenant_id = db_int(st, 0);
		str_copy(d->state, sizeof(d->state), db_text(st, 1));
		str_copy(d->end_day, sizeof(d->end_day), db_text(st, 2));
		d->ends_us = db_int(st, 3);
		d->erase_after_us = db_int(st, 4);
		d->deadline_us = db_int(st, 5);
		d->notices = db_int(st, 6);
		d->alerted = db_int(st, 7) != 0;
	}
	db_done(st);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct due *d = &due[i];
		struct tenant t;
		int64_t days = 0, bits;
		int e = 0;

		if (tenant_get(db, d->tenant_id, &t) < 0)
			continue;
		if (!strcmp(d->state, "scheduled")) {
			bits = lifecycle_reminders_due(d->notices, d->ends_us, now, &days);
			if (bits)
				e = send_reminder(db, &t, "tenant", NULL, d, bits, days);
			if (e == 0 && now >= d->ends_us) {
				e = end_contract(db, &t, now);
				if (e == 0)
					str_copy(d->state, sizeof(d->state), "ended");
			}
		}
		if (e == 0 && !strcmp(d->state, "ended") && now >= d->erase_after_us) {
			e = erasure_begin(db, &t);
			if (e == 0)
				str_copy(d->state, sizeof(d->state), "erasing");
		}
		if (e == 0 && !strcmp(d->state, "erasing")) {
			e = erasure_run(env, db, t.id);
			if (e == 0)
				(*ret_erased)++;
		}
		if (e < 0) {
			log_error("lifecycle.step", "tenant %s: %s", t.code, strerror(-e));
			if (!first)
				first = e;
		}
		/* the deadline alert: not erased this close to the deadline (or a step failed) */
		if (!d->alerted && (e < 0 || now >= d->deadline_us - LIFECYCLE_ALERT_MARGIN_US)) {
			struct db_stmt *q = db_query(db, "SELECT state FROM tenant_terminations WHERE tenant_id = $1",
						     "i", t.id);
			bool erased = db_step(q) > 0 && !strcmp(db_text(q, 0), "erased");

			db_done(q);
			if (!erased)
				(void)alert(db, &t, d, e < 0 ? strerror(-e) : "the deadline is less than a day away");
		}
	}
	free(due);
	return r < 0 ? r : first;
}

static int tick_options(struct db *db, int64_t now)
{
	struct db_stmt *st;
	struct {
		int64_t tenant_id;
		char option[80];
		struct due d;
	} *due = calloc(DUE_MAX, sizeof(*due));
	size_t n = 0;
	int r;

	if (!due)
		return -ENOMEM;
	st = db_query(db, "SELECT tenant_id, option, end_day, ends_us, deadline_us, notices FROM option_terminations"
			  " WHERE state = 'scheduled' ORDER BY ends_us LIMIT $1", "i", (int64_t)DUE_MAX);
	while ((r = db_step(st)) > 0) {
		due[n].tenant_id = db_int(st, 0);
		str_copy(due[n].option, sizeof(due[n].option), db_text(st, 1));
		str_copy(due[n].d.end_day, sizeof(due[n].d.end_day), db_text(st, 2));
		due[n].d.ends_us = db_int(st, 3);
		due[n].d.deadline_us = db_int(st, 4);
		due[n].d.notices = db_int(st, 5);
		n++;
	}
	db_done(st);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct tenant t;
		int64_t days = 0, bits;
		int e = 0;

		if (tenant_get(db, due[i].tenant_id, &t) < 0 || strcmp(t.status, "active"))
			continue;   /* a whole-contract end takes the option's data with it */
		bits = lifecycle_reminders_due(due[i].d.notices, due[i].d.ends_us, now, &days);
		if (bits)
			e = send_reminder(db, &t, "option", due[i].option, &due[i].d, bits, days);
		if (e == 0 && now >= due[i].d.ends_us)
			e = erasure_option(db, &actor_system, t.id, due[i].option);
		if (e < 0)
			log_error("lifecycle.option", "tenant %s option %s: %s", t.code, due[i].option, strerror(-e));
	}
	free(due);
	return r;
}

int lifecycle_tick(const struct lifecycle_env *env, int64_t now_us, int64_t *ret_erased)
{
	struct db *db = db_thread();
	int64_t erased = 0;
	int r, r2;

	if (!db)
		return -EIO;
	r = tick_options(db, now_us);
	r2 = tick_tenants(env, db, now_us, &erased);
	if (ret_erased)
		*ret_erased = erased;
	if (env && env->mailer)
		mailer_wake(env->mailer);
	return r < 0 ? r : r2;
}

/* ---------------------------------------------------------------- the worker */

bool lifecycle_lease_renew(struct db *db)
{
	return db_lease_claim(db, LIFECYCLE_LEASE, db_lease_ttl_s(LIFECYCLE_TICK_S)) == 1;
}

struct lifecycle_worker {
	struct lifecycle_env env;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, woken;
};

static void *worker_main(void *arg)
{
	struct lifecycle_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec until;
		struct db *db;
		int64_t erased = 0;

		w->woken = false;
		pthread_mutex_unlock(&w->lock);
		/* one node runs the scheduler: the holder of the lease (store/lease.h) */
		db = db_thread();
		if (db && lifecycle_lease_renew(db) &&
		    lifecycle_tick(&w->env, clock_now_us(), &erased) < 0)
			log_warn("lifecycle.tick", "a pass of the termination scheduler did not complete; it runs again");
		/* hourly, and at the next end exactly (the end of a day must not wait for the hour) */
		{
			int64_t now = clock_now_us(), next = db ? next_due(db, now) : INT64_MAX;
			int64_t wait_s = LIFECYCLE_TICK_S;

			if (next != INT64_MAX && (next - now) / 1000000 + 1 < wait_s)
				wait_s = (next - now) / 1000000 + 1;
			pthread_mutex_lock(&w->lock);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += (time_t)wait_s;
		}
		while (!w->stop && !w->woken)
			if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0)
				break;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct lifecycle_worker *lifecycle_worker_start(const struct lifecycle_env *env)
{
	struct lifecycle_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->env = *env;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return NULL;
	}
	return w;
}

void lifecycle_worker_wake(struct lifecycle_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->woken = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct lifecycle_worker *lifecycle_worker_stop(struct lifecycle_worker *w)
{
	if (!w)
		return NULL;
	atomic_store(&lifecycle_stopping, true);   /* a running erasure stops between batches */
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return NULL;
}
