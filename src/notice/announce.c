/*
 * Announcements (F1; issue 9): the provider's change, maintenance and incident notices,
 * targeted at every tenant, the tenants of some services, or named tenants.
 *
 * An announcement is delivered when its publish time has come (at once, or by the background
 * loop: announce_deliver_due is the mailer's task): each target tenant in its own
 * transaction gets a row of announcement_tenants (the channels of its services,
 * notify/channels.h, and the mails queued), the mails through the durable outbox, and a
 * record announcement.deliver in its own audit log. A crash halfway leaves the delivered
 * tenants as they are; the next round delivers the rest (the row's version says what each
 * tenant has). An edit is a new version (announcement_versions keeps each), delivered again
 * and shown as edited; a withdrawal is shown as such, never deleted.
 *
 * SECURITY: a tenant sees an announcement only through its own row of announcement_tenants
 * with the portal channel. Each account's first reading of each version is a row of
 * announcement_reads and a record announcement.read in the tenant's log, in one transaction
 * (evidence that the notice reached the customer). The operator's view counts readers and the
 * first reading per tenant, no account names (C7: those are in the tenant's own log).
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "notice/notice_int.h"
#include "notify/channels.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/tenant.h"

static char public_url[CONFIG_STR] = "https://localhost:8443";

void notice_configure(const char *url)
{
	size_t n;

	str_copy(public_url, sizeof(public_url), url ? url : "");
	n = strlen(public_url);
	while (n > 0 && public_url[n - 1] == '/')
		public_url[--n] = '\0';
}

const char *notice_public_url(void)
{
	return public_url;
}

int notice_tenant_channels(struct db *db, int64_t tenant_id, const char *const *services, enum notice_kind kind,
			   unsigned *ret)
{
	struct db_stmt *st = db_query(db, "SELECT service FROM tenant_services WHERE tenant_id = $1 ORDER BY service",
				      "i", tenant_id);
	unsigned ch = 0;
	int r;

	while ((r = db_step(st)) > 0) {
		const char *s = db_text(st, 0);
		bool in = !services;

		for (size_t i = 0; services && services[i]; i++)
			if (!strcmp(services[i], s))
				in = true;
		if (in)
			ch |= channels_for(s, kind);
	}
	db_done(st);
	*ret = ch;
	return r < 0 ? r : 0;
}

static void set_time(json_t *o, const char *key, int64_t us)
{
	char t[40];

	if (o && us > 0 && clock_format_utc(us, t, sizeof(t)) == 0)
		json_object_set_new(o, key, json_string(t));
}

/* ---------------------------------------------------------------- input */

static bool kind_valid(const char *k)
{
	return k && (!strcmp(k, "change") || !strcmp(k, "maintenance") || !strcmp(k, "incident"));
}

static bool title_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	return n > 0 && utf8_is_clean_text(t, n) && utf8_length(t, n) <= KURA_ANNOUNCE_TITLE_MAX;
}

/* Splits a target into its kind and items (pointers into buf): 'a' all, 's' services,
 * 't' tenants. -EINVAL for a malformed one. */
static int target_parse(const char *target, char *buf, size_t size, char *ret_kind, const char **items,
			size_t max, size_t *ret_n)
{
	char *p, *save = NULL;
	size_t n = 0;

	if (!target || !*target || strlen(target) > KURA_ANNOUNCE_TARGET_MAX || str_copy(buf, size, target) < 0)
		return -EINVAL;
	if (!strcmp(buf, "all")) {
		*ret_kind = 'a';
		*ret_n = 0;
		return 0;
	}
	p = buf;
	*ret_kind = 's';
	if (!strncmp(buf, "tenant:", 7)) {
		*ret_kind = 't';
		p = buf + 7;
	}
	for (char *tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n >= max)
			return -EINVAL;
		if (*ret_kind == 's' ? !tenant_service_valid(tok) : !tenant_code_valid(tok))
			return -EINVAL;
		items[n++] = tok;
	}
	if (n == 0)
		return -EINVAL;
	items[n] = NULL;
	*ret_n = n;
	return 0;
}

int announce_check(const struct announce_input *in, bool edit, char *err, size_t err_size)
{
	char buf[KURA_ANNOUNCE_TARGET_MAX + 1], kind;
	const char *items[KURA_ANNOUNCE_TENANTS_MAX + 1];
	size_t n;

	if (!edit || in->kind) {
		if (!kind_valid(in->kind))
			return str_printf(err, err_size, "--kind is change, maintenance or incident"), -EINVAL;
	}
	if ((!edit || in->target) &&
	    target_parse(in->target, buf, sizeof(buf), &kind, items, KURA_ANNOUNCE_TENANTS_MAX, &n) < 0)
		return str_printf(err, err_size, "--target is all, SVC[,SVC...] (MAIL, DOCX, IAAS, ZTNA, COLLAB) or"
				  " tenant:CODE[,CODE...] (at most %d)", KURA_ANNOUNCE_TENANTS_MAX), -EINVAL;
	if ((!edit || in->title_ja) && !title_valid(in->title_ja))
		return str_printf(err, err_size, "--title-ja is 1-%d characters of one line", KURA_ANNOUNCE_TITLE_MAX),
		       -EINVAL;
	if ((!edit || in->title_en) && !title_valid(in->title_en))
		return str_printf(err, err_size, "--title-en is 1-%d characters of one line", KURA_ANNOUNCE_TITLE_MAX),
		       -EINVAL;
	if ((!edit || in->body_ja) && (!in->body_ja || !*in->body_ja || !markdown_source_valid(in->body_ja)))
		return str_printf(err, err_size, "the Japanese body is 1-%d bytes of UTF-8 text lines",
				  KURA_ANNOUNCE_BODY_MAX), -EINVAL;
	if ((!edit || in->body_en) && (!in->body_en || !*in->body_en || !markdown_source_valid(in->body_en)))
		return str_printf(err, err_size, "the English body is 1-%d bytes of UTF-8 text lines",
				  KURA_ANNOUNCE_BODY_MAX), -EINVAL;
	if (in->from_us < 0 || in->until_us < 0 || (!edit && !in->from_us != !in->until_us) ||
	    (in->from_us && in->until_us && in->until_us < in->from_us))
		return str_printf(err, err_size, "--from and --until come together, --until not before --from"), -EINVAL;
	return 0;
}

/* ---------------------------------------------------------------- operator side */

static int provider_audit(struct db *db, const struct actor *op, const char *action, int64_t id, int64_t version)
{
	char target[48];
	json_t *d = json_pack("{s:I}", "version", (json_int_t)version);
	int r;

	str_printf(target, sizeof(target), "announcement:%lld", (long long)id);
	r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = op, .category = AUDIT_OPERATOR,
				 .action = action, .target = target, .result = AUDIT_SUCCESS, .details = d });
	json_decref(d);
	return r;
}

static int version_insert(struct db *db, int64_t id, int64_t now)
{
	return db_exec(db, "INSERT INTO announcement_versions (announcement_id, version, title_ja, title_en, body_ja,"
			   " body_en, from_us, until_us, created_us) SELECT id, version, title_ja, title_en, body_ja,"
			   " body_en, from_us, until_us, $2 FROM announcements WHERE id = $1", "ii", id, now);
}

int announce_create(struct db *db, const struct actor *op, const struct announce_input *in, int64_t *ret_id)
{
	char err[256], buf[KURA_ANNOUNCE_TARGET_MAX + 1], kind;
	const char *items[KURA_ANNOUNCE_TENANTS_MAX + 1];
	int64_t now = clock_now_us(), id = 0, publish = in->publish_us > 0 ? in->publish_us : now;
	size_t n = 0;
	int r;

	if (announce_check(in, false, err, sizeof(err)) < 0)
		return -EINVAL;
	/* named tenants must exist (a typo is an error, not an announcement to nobody) */
	r = target_parse(in->target, buf, sizeof(buf), &kind, items, KURA_ANNOUNCE_TENANTS_MAX, &n);
	for (size_t i = 0; r == 0 && kind == 't' && i < n; i++) {
		struct tenant t;

		r = tenant_find(db, items[i], &t);
	}
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_insert(db, &id, "INSERT INTO announcements (kind, target, version, title_ja, title_en, body_ja, body_en,"
			       " from_us, until_us, publish_us, created_us, updated_us)"
			       " VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
		      "ttttttIIii", in->kind, in->target, in->title_ja, in->title_en, in->body_ja, in->body_en,
		      in->from_us, in->until_us, publish, now);
	if (r == 0)
		r = version_insert(db, id, now);
	if (r == 0)
		r = provider_audit(db, op, "announcement.create", id, 1);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	*ret_id = id;
	if (publish <= now && (r = announce_deliver_due(db)) < 0)
		log_warn("announce.deliver", "announcement %lld: %s", (long long)id, strerror(-r));
	return 0;
}

int announce_edit(struct db *db, const struct actor *op, int64_t id, const struct announce_input *in)
{
	char err[256];
	int64_t now = clock_now_us(), version = 0;
	struct db_stmt *st;
	bool published = false;
	int r;

	if (announce_check(in, true, err, sizeof(err)) < 0 || in->kind || in->target)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT version, CASE WHEN published_us IS NULL THEN 0 ELSE 1 END,"
			  " CASE WHEN withdrawn_us IS NULL THEN 0 ELSE 1 END FROM announcements WHERE id = $1", "i", id);
	r = db_step(st);
	if (r > 0) {
		version = db_int(st, 0) + 1;
		published = db_int(st, 1) == 1;
		if (db_int(st, 2) == 1)
			r = -EPERM;
	}
	db_done(st);
	r = r < 0 ? r : r == 0 ? -ENOENT : 0;
	/* a published one is delivered again (as edited) by the next round: published_us
	 * cleared, its publish time now */
	if (r == 0)
		r = db_exec(db, "UPDATE announcements SET version = $2, title_ja = COALESCE($3, title_ja),"
				" title_en = COALESCE($4, title_en), body_ja = COALESCE($5, body_ja),"
				" body_en = COALESCE($6, body_en), from_us = CASE WHEN $7 = 0 THEN from_us ELSE $7 END,"
				" until_us = CASE WHEN $8 = 0 THEN until_us ELSE $8 END, updated_us = $9,"
				" published_us = NULL, publish_us = CASE WHEN $10 = 1 THEN $9 ELSE publish_us END"
				" WHERE id = $1",
			    "iittttiiii", id, version, in->title_ja, in->title_en, in->body_ja, in->body_en, in->from_us,
			    in->until_us, now, (int64_t)published);
	if (r == 0)
		r = version_insert(db, id, now);
	if (r == 0)
		r = provider_audit(db, op, "announcement.edit", id, version);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	if (published && (r = announce_deliver_due(db)) < 0)
		log_warn("announce.deliver", "announcement %lld: %s", (long long)id, strerror(-r));
	return 0;
}

int announce_withdraw(struct db *db, const struct actor *op, int64_t id)
{
	int64_t now = clock_now_us();
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = db_exec(db, "UPDATE announcements SET withdrawn_us = $2, updated_us = $2 WHERE id = $1"
			" AND withdrawn_us IS NULL", "ii", id, now);
	if (r == 0 && db_changes(db) != 1) {
		struct db_stmt *st = db_query(db, "SELECT id FROM announcements WHERE id = $1", "i", id);

		r = db_step(st) > 0 ? -EPERM : -ENOENT;
		db_done(st);
	}
	if (r == 0)
		r = provider_audit(db, op, "announcement.withdraw", id, 0);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

/* ---------------------------------------------------------------- delivery */

struct due {
	int64_t id, version, from_us, until_us;
	char kind[16];
	char target[KURA_ANNOUNCE_TARGET_MAX + 1];
	char *title_ja, *title_en, *plain_ja, *plain_en;
};

static const char *kind_ja(const char *k)
{
	return !strcmp(k, "change") ? "変更" : !strcmp(k, "maintenance") ? "メンテナンス" : "障害";
}

/* One tenant in one transaction; *ret_mails the mails queued (0 also when it had it). */
static int deliver_tenant(struct db *db, const struct due *d, int64_t tenant_id, const char *const *services,
			  size_t *ret_mails)
{
	char url[CONFIG_STR + 32], chname[64], target[48];
	size_t n_mgr = 0, n_con = 0;
	unsigned ch = 0;
	struct tenant t;
	json_t *details;
	int r;

	*ret_mails = 0;
	r = tenant_get(db, tenant_id, &t);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = notice_tenant_channels(db, tenant_id, services,
				   !strcmp(d->kind, "incident") ? NOTICE_INCIDENT : NOTICE_CHANGE, &ch);
	if (r < 0 || ch == 0)
		goto out;    /* none of its services is targeted */
	channels_name(ch, chname, sizeof(chname));
	r = db_exec(db, "INSERT INTO announcement_tenants (tenant_id, announcement_id, version, channels, mails,"
			" delivered_us) VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (tenant_id, announcement_id)"
			" DO UPDATE SET version = excluded.version, channels = excluded.channels, mails = 0,"
			" delivered_us = excluded.delivered_us WHERE announcement_tenants.version < excluded.version",
		    "iiiti", tenant_id, d->id, d->version, chname, clock_now_us());
	if (r < 0 || db_changes(db) != 1)
		goto out;    /* it has this version already */
	str_printf(url, sizeof(url), "%s/announcements", notice_public_url());
	if (ch & (CHANNEL_MAIL_MANAGERS | CHANNEL_MAIL_CONTACTS)) {
		const struct mail_var vars[] = {
			MAIL_TEXT("tenant_name", t.name), MAIL_TEXT("kind_ja", kind_ja(d->kind)),
			MAIL_TEXT("kind_en", d->kind), MAIL_TEXT("title_ja", d->title_ja),
			MAIL_TEXT("title_en", d->title_en), MAIL_TEXT("body_ja", d->plain_ja),
			MAIL_TEXT("body_en", d->plain_en), MAIL_FLAG("edited", d->version > 1),
			MAIL_FLAG("has_window", d->from_us > 0 || d->until_us > 0),
			MAIL_TIME("window_from", d->from_us), MAIL_TIME("window_until", d->until_us),
			MAIL_FLAG("on_portal", (ch & CHANNEL_PORTAL) != 0), MAIL_TEXT("url", url),
		};
		const struct mail m = { .name = "announcement", .zone = t.zone, .vars = vars,
					.n_vars = ARRAY_SIZE(vars) };

		if (ch & CHANNEL_MAIL_MANAGERS)
			r = notify_managers(db, tenant_id, NULL, &m, &n_mgr);
		if (r == 0 && (ch & CHANNEL_MAIL_CONTACTS))
			r = contact_notify(db, tenant_id, &m, &n_con);
	}
	if (r == 0)
		r = db_exec(db, "UPDATE announcement_tenants SET mails = $3 WHERE tenant_id = $1 AND announcement_id = $2",
			    "iii", tenant_id, d->id, (int64_t)(n_mgr + n_con));
	details = json_pack("{s:I, s:s, s:I}", "version", (json_int_t)d->version, "channels", chname, "mails",
			    (json_int_t)(n_mgr + n_con));
	str_printf(target, sizeof(target), "announcement:%lld", (long long)d->id);
	if (r == 0)
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = &actor_system,
					 .category = AUDIT_DELIVERY, .action = "announcement.deliver",
					 .target = target, .result = AUDIT_SUCCESS, .details = details });
	json_decref(details);
	if (r == 0)
		*ret_mails = n_mgr + n_con;
out:
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

static void due_free(struct due *d)
{
	free(d->title_ja);
	free(d->title_en);
	free(d->plain_ja);
	free(d->plain_en);
	memset(d, 0, sizeof(*d));
}

/* The tenants of one target, ids ascending, into ids (a dbuf of int64_t). */
static int target_tenants(struct db *db, char kind, const char *const *items, size_t n, struct dbuf *ids)
{
	struct db_stmt *st;
	int r = 0;

	if (kind == 't') {
		for (size_t i = 0; i < n && r == 0; i++) {
			struct tenant t;

			if (tenant_find(db, items[i], &t) == 0 && !strcmp(t.status, "active"))
				r = dbuf_add(ids, &t.id, sizeof(t.id));
		}
		return r;
	}
	st = db_query(db, "SELECT id FROM tenants WHERE status = 'active' ORDER BY id", NULL);
	while ((r = db_step(st)) > 0) {
		int64_t id = db_int(st, 0);

		if (dbuf_add(ids, &id, sizeof(id)) < 0)
			break;
	}
	db_done(st);
	return r < 0 ? r : dbuf_error(ids);
}

static int deliver_one(struct db *db, struct due *d, size_t *ret_mails)
{
	char buf[KURA_ANNOUNCE_TARGET_MAX + 1], kind;
	const char *items[KURA_ANNOUNCE_TENANTS_MAX + 1];
	struct dbuf ids;
	size_t n = 0, mails;
	int r;

	dbuf_init(&ids, KURA_DB_LIST_MAX_BYTES);
	r = target_parse(d->target, buf, sizeof(buf), &kind, items, KURA_ANNOUNCE_TENANTS_MAX, &n);
	if (r == 0)
		r = target_tenants(db, kind, items, n, &ids);
	for (size_t i = 0; r == 0 && i < dbuf_len(&ids) / sizeof(int64_t); i++) {
		r = deliver_tenant(db, d, ((int64_t *)dbuf_data(&ids))[i], kind == 's' ? items : NULL, &mails);
		*ret_mails += mails;
	}
	dbuf_free(&ids);
	if (r == 0)   /* done with this version (an edit meanwhile leaves it due) */
		r = db_exec(db, "UPDATE announcements SET published_us = $3 WHERE id = $1 AND version = $2"
				" AND published_us IS NULL", "iii", d->id, d->version, clock_now_us());
	return r;
}

int announce_deliver_due(struct db *db)
{
	size_t mails = 0;
	int r = 0;

	/* one at a time, oldest first, each read afresh: an edit or withdrawal in between counts */
	for (int rounds = 0; r == 0 && rounds < 100; rounds++) {
		struct db_stmt *st = db_query(db, "SELECT id, version, kind, target, title_ja, title_en, body_ja,"
						  " body_en, COALESCE(from_us, 0), COALESCE(until_us, 0) FROM announcements"
						  " WHERE published_us IS NULL AND withdrawn_us IS NULL AND publish_us <= $1"
						  " ORDER BY publish_us, id LIMIT 1", "i", clock_now_us());
		struct due d = { 0 };

		r = db_step(st);
		if (r > 0) {
			d.id = db_int(st, 0);
			d.version = db_int(st, 1);
			str_copy(d.kind, sizeof(d.kind), db_text(st, 2));
			str_copy(d.target, sizeof(d.target), db_text(st, 3));
			d.title_ja = strdup(db_text(st, 4));
			d.title_en = strdup(db_text(st, 5));
			d.plain_ja = markdown_plain(db_text(st, 6));
			d.plain_en = markdown_plain(db_text(st, 7));
			d.from_us = db_int(st, 8);
			d.until_us = db_int(st, 9);
		}
		db_done(st);
		if (r <= 0)
			break;
		r = (d.title_ja && d.title_en && d.plain_ja && d.plain_en) ? deliver_one(db, &d, &mails) : -ENOMEM;
		if (r < 0)
			log_warn("announce.deliver", "announcement %lld: %s", (long long)d.id, strerror(-r));
		due_free(&d);
	}
	return r < 0 ? r : (int)(mails > INT32_MAX ? INT32_MAX : mails);
}

/* ---------------------------------------------------------------- reading */

json_t *announce_list_json(struct db *db)
{
	struct db_stmt *st = db_query(db, "SELECT a.id, a.kind, a.target, a.version, a.title_en, a.publish_us,"
					  " COALESCE(a.published_us, 0), COALESCE(a.withdrawn_us, 0),"
					  " (SELECT count(*) FROM announcement_tenants t WHERE t.announcement_id = a.id),"
					  " (SELECT count(*) FROM announcement_reads r WHERE r.announcement_id = a.id)"
					  " FROM announcements a ORDER BY a.id DESC LIMIT $1",
				      "i", (int64_t)KURA_ANNOUNCE_LIST_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "id", (json_int_t)db_int(st, 0),
				      "kind", db_text(st, 1), "target", db_text(st, 2), "version",
				      (json_int_t)db_int(st, 3), "title_en", db_text(st, 4), "state",
				      db_int(st, 7) ? "withdrawn" : db_int(st, 6) ? "published" : "scheduled",
				      "tenants", (json_int_t)db_int(st, 8), "reads", (json_int_t)db_int(st, 9));

		set_time(o, "publish_at", db_int(st, 5));
		json_array_append_new(arr, o);
	}
	db_done(st);
	return arr;
}

json_t *announce_show_json(struct db *db, int64_t id)
{
	struct db_stmt *st = db_query(db, "SELECT kind, target, version, title_ja, title_en, body_ja, body_en,"
					  " COALESCE(from_us, 0), COALESCE(until_us, 0), publish_us,"
					  " COALESCE(published_us, 0), COALESCE(withdrawn_us, 0), created_us"
					  " FROM announcements WHERE id = $1", "i", id);
	json_t *o = NULL, *versions, *tenants;

	if (db_step(st) > 0) {
		o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)id, "kind",
			      db_text(st, 0), "target", db_text(st, 1), "version", (json_int_t)db_int(st, 2),
			      "title_ja", db_text(st, 3), "title_en", db_text(st, 4), "body_ja", db_text(st, 5),
			      "body_en", db_text(st, 6), "state",
			      db_int(st, 11) ? "withdrawn" : db_int(st, 10) ? "published" : "scheduled");
		set_time(o, "from", db_int(st, 7));
		set_time(o, "until", db_int(st, 8));
		set_time(o, "publish_at", db_int(st, 9));
		set_time(o, "published_at", db_int(st, 10));
		set_time(o, "withdrawn_at", db_int(st, 11));
		set_time(o, "created_at", db_int(st, 12));
	}
	db_done(st);
	if (!o)
		return NULL;
	versions = json_array();
	st = db_query(db, "SELECT version, title_en, created_us FROM announcement_versions WHERE announcement_id = $1"
			  " ORDER BY version", "i", id);
	while (versions && db_step(st) > 0) {
		json_t *v = json_pack("{s:I, s:s}", "version", (json_int_t)db_int(st, 0), "title_en", db_text(st, 1));

		set_time(v, "created_at", db_int(st, 2));
		json_array_append_new(versions, v);
	}
	db_done(st);
	json_object_set_new(o, "versions", versions);
	/* totals over every tenant; the rows below are the first KURA_ANNOUNCE_SHOW_TENANTS_MAX */
	st = db_query(db, "SELECT count(*), COALESCE(sum(mails), 0) FROM announcement_tenants WHERE announcement_id = $1",
		      "i", id);
	if (db_step(st) > 0) {
		json_object_set_new(o, "tenants_total", json_integer(db_int(st, 0)));
		json_object_set_new(o, "mails_total", json_integer(db_int(st, 1)));
	}
	db_done(st);
	st = db_query(db, "SELECT count(DISTINCT tenant_id), count(DISTINCT account_id) FROM announcement_reads"
			  " WHERE announcement_id = $1", "i", id);
	if (db_step(st) > 0) {
		json_object_set_new(o, "tenants_read", json_integer(db_int(st, 0)));
		json_object_set_new(o, "readers_total", json_integer(db_int(st, 1)));
	}
	db_done(st);
	tenants = json_array();
	st = db_query(db, "SELECT t.code, d.channels, d.version, d.mails, d.delivered_us,"
			  " (SELECT count(DISTINCT r.account_id) FROM announcement_reads r WHERE r.tenant_id = d.tenant_id"
			  "  AND r.announcement_id = d.announcement_id),"
			  " (SELECT COALESCE(min(r.read_us), 0) FROM announcement_reads r WHERE r.tenant_id = d.tenant_id"
			  "  AND r.announcement_id = d.announcement_id)"
			  " FROM announcement_tenants d JOIN tenants t ON t.id = d.tenant_id"
			  " WHERE d.announcement_id = $1 ORDER BY t.code LIMIT $2",
		      "ii", id, (int64_t)KURA_ANNOUNCE_SHOW_TENANTS_MAX);
	while (tenants && db_step(st) > 0) {
		json_t *t = json_pack("{s:s, s:s, s:I, s:I, s:I}", "tenant", db_text(st, 0), "channels",
				      db_text(st, 1), "version", (json_int_t)db_int(st, 2), "mails",
				      (json_int_t)db_int(st, 3), "readers", (json_int_t)db_int(st, 5));

		set_time(t, "delivered_at", db_int(st, 4));
		if (db_int(st, 6) > 0)
			set_time(t, "first_read_at", db_int(st, 6));
		else
			json_object_set_new(t, "first_read_at", json_string("-"));
		json_array_append_new(tenants, t);
	}
	db_done(st);
	json_object_set_new(o, "tenants", tenants);
	return o;
}

/* A tenant sees an announcement delivered to it with the portal channel. */
#define VISIBLE "EXISTS (SELECT 1 FROM announcement_tenants d WHERE d.tenant_id = $1 AND d.announcement_id = a.id" \
		" AND d.channels LIKE '%portal%')"

int announce_tenant_list(struct db *db, int64_t tenant_id, int64_t account_id, int64_t before, int64_t limit,
			 json_t **ret_items, bool *ret_more, int64_t *ret_unread)
{
	struct db_stmt *st;
	json_t *arr = json_array();
	int64_t n = 0;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT a.id, a.kind, a.version, a.title_ja, a.title_en, a.body_ja, a.body_en,"
			  " COALESCE(a.from_us, 0), COALESCE(a.until_us, 0), a.updated_us, COALESCE(a.withdrawn_us, 0),"
			  " (SELECT min(d.delivered_us) FROM announcement_tenants d WHERE d.tenant_id = $1"
			  "  AND d.announcement_id = a.id),"
			  " COALESCE((SELECT min(r.read_us) FROM announcement_reads r WHERE r.tenant_id = $1"
			  "  AND r.announcement_id = a.id AND r.account_id = $2 AND r.version = a.version), 0)"
			  " FROM announcements a WHERE " VISIBLE " AND ($3 = 0 OR a.id < $3) ORDER BY a.id DESC LIMIT $4",
		      "iiii", tenant_id, account_id, before, limit + 1);
	while ((r = db_step(st)) > 0) {
		json_t *o;

		if (++n > limit) {
			*ret_more = true;
			break;
		}
		o = json_pack("{s:I, s:s, s:I, s:b, s:s, s:s, s:o, s:o, s:b, s:b}", "id", (json_int_t)db_int(st, 0),
			      "kind", db_text(st, 1), "version", (json_int_t)db_int(st, 2), "edited", db_int(st, 2) > 1,
			      "title_ja", db_text(st, 3), "title_en", db_text(st, 4), "body_ja",
			      markdown_parse(db_text(st, 5)), "body_en", markdown_parse(db_text(st, 6)), "withdrawn",
			      db_int(st, 10) > 0, "unread", db_int(st, 12) == 0 && db_int(st, 10) == 0);
		set_time(o, "from", db_int(st, 7));
		set_time(o, "until", db_int(st, 8));
		set_time(o, "updated_at", db_int(st, 9));
		set_time(o, "published_at", db_int(st, 11));
		set_time(o, "read_at", db_int(st, 12));
		json_array_append_new(arr, o);
	}
	db_done(st);
	if (r < 0)
		goto fail;
	st = db_query(db, "SELECT count(*) FROM announcements a WHERE " VISIBLE " AND a.withdrawn_us IS NULL"
			  " AND NOT EXISTS (SELECT 1 FROM announcement_reads r WHERE r.tenant_id = $1"
			  " AND r.announcement_id = a.id AND r.account_id = $2 AND r.version = a.version)",
		      "ii", tenant_id, account_id);
	r = db_step(st);
	if (r > 0)
		*ret_unread = db_int(st, 0);
	db_done(st);
	if (r < 0)
		goto fail;
	*ret_items = arr;
	return 0;
fail:
	json_decref(arr);
	return r;
}

int announce_read(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id, int64_t id,
		  bool *ret_first)
{
	struct db_stmt *st;
	int64_t version = 0, now = clock_now_us();
	char target[48];
	json_t *d;
	int r;

	*ret_first = false;
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT a.version FROM announcements a WHERE a.id = $2 AND " VISIBLE, "ii", tenant_id, id);
	r = db_step(st);
	if (r > 0)
		version = db_int(st, 0);
	db_done(st);
	r = r < 0 ? r : r == 0 ? -ENOENT : 0;
	if (r == 0)
		r = db_exec(db, "INSERT INTO announcement_reads (tenant_id, announcement_id, account_id, version, read_us)"
				" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, announcement_id, account_id, version)"
				" DO NOTHING", "iiiii", tenant_id, id, account_id, version, now);
	if (r == 0 && db_changes(db) == 1) {
		*ret_first = true;
		str_printf(target, sizeof(target), "announcement:%lld", (long long)id);
		d = json_pack("{s:I}", "version", (json_int_t)version);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
					 .category = AUDIT_ACCESS, .action = "announcement.read", .target = target,
					 .result = AUDIT_SUCCESS, .details = d });
		json_decref(d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}
