/*
 * Event reports (issue 9; G2, G3; docs/reports.md): reports, their threads, attachments
 * sealed in the tenant's blob store, and the signed records export of a records request.
 *
 * SECURITY: every query names the tenant (the operator's commands find a report's tenant
 * first and then act in it). Texts are bounded (limits.h) and clean UTF-8 with LF only, so
 * they can go into mail bodies (and titles, one line, into subjects). Each change is one
 * transaction with its audit record and its mail: a message that cannot be recorded or
 * mailed is not stored. The provider's side is recorded in the tenant's chain (category
 * operator) and in the provider's chain with target tenant:CODE, which is what a records
 * request of the tenant exports.
 */
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "files/files.h"
#include "notify/mail.h"
#include "reports/reports.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"

static struct {
	char public_url[CONFIG_STR];
} settings = { "https://localhost:8443" };

void reports_configure(const struct config *cfg)
{
	size_t n;

	str_copy(settings.public_url, sizeof(settings.public_url), cfg->public_url);
	while ((n = strlen(settings.public_url)) > 0 && settings.public_url[n - 1] == '/')
		settings.public_url[n - 1] = '\0';
}

const char *const report_categories[] = { "security-incident", "failure", "question", "request", "other", NULL };

static const char *side_name(enum report_side s)
{
	return s == REPORT_SIDE_PROVIDER ? "provider" : "tenant";
}

bool report_text_valid(const char *text, size_t max, bool single_line)
{
	size_t n, cps = 0;

	if (!text || !*text)
		return false;
	n = strlen(text);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_decode((const unsigned char *)text + i, n - i, &cp);

		if (k == 0)
			return false;
		if ((cp < 0x20 && cp != '\t' && (cp != '\n' || single_line)) || (cp >= 0x7f && cp < 0xa0))
			return false;
		/* bidirectional formatting characters would reorder what the other side reads */
		if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return false;
		i += k;
		cps++;
	}
	return cps <= max;
}

static bool category_valid(const char *c)
{
	for (size_t i = 0; c && report_categories[i]; i++)
		if (!strcmp(c, report_categories[i]))
			return true;
	return false;
}

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (us <= 0 || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

/* The record of a change in the tenant's chain; the provider's side also in the provider's
 * chain, target tenant:CODE (what a records request exports). */
static int record(struct db *db, const struct actor *who, const struct tenant *t, enum report_side side,
		  const char *action, int64_t id, json_t *details)
{
	char target[48], ttarget[KURA_TENANT_CODE_MAX + 8];
	int r;

	str_printf(target, sizeof(target), "report:%lld", (long long)id);
	r = audit_record(db, &(struct audit_event){ .tenant_id = t->id, .actor = who,
				 .category = side == REPORT_SIDE_PROVIDER ? AUDIT_OPERATOR : AUDIT_OPERATION,
				 .action = action, .target = target, .result = AUDIT_SUCCESS, .details = details });
	if (r < 0 || side != REPORT_SIDE_PROVIDER)
		return r;
	str_printf(ttarget, sizeof(ttarget), "tenant:%s", t->code);
	json_t *d = json_pack("{s:I, s:s}", "report", (json_int_t)id, "action", action);

	r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = who, .category = AUDIT_OPERATOR,
				 .action = action, .target = ttarget, .result = AUDIT_SUCCESS, .details = d });
	json_decref(d);
	return r;
}

struct report_row {
	int64_t id;
	char kind[24], category[24], status[8];
	char title[KURA_REPORT_TITLE_MAX * 4 + 1];
	int64_t from_us, to_us;
};

static void read_row(struct db_stmt *st, void *ret)
{
	struct report_row *r = ret;

	r->id = db_int(st, 0);
	str_copy(r->kind, sizeof(r->kind), db_text(st, 1) ? db_text(st, 1) : "");
	str_copy(r->category, sizeof(r->category), db_text(st, 2) ? db_text(st, 2) : "");
	str_copy(r->status, sizeof(r->status), db_text(st, 3) ? db_text(st, 3) : "");
	str_copy(r->title, sizeof(r->title), db_text(st, 4) ? db_text(st, 4) : "");
	r->from_us = db_int(st, 5);
	r->to_us = db_int(st, 6);
}

static int get_row(struct db *db, int64_t tenant_id, int64_t id, struct report_row *ret)
{
	return db_one(db_query(db, "SELECT id, kind, category, status, title, from_us, to_us FROM reports"
				   " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id),
		      read_row, ret);
}

/* mail/report-to-provider.*.txt to the operators' address. */
static int mail_provider(struct db *db, const struct tenant *t, const struct report_row *rr, const char *author,
			 const char *message, bool new_report, const char *to)
{
	char id[24];
	const struct mail_var vars[] = {
		MAIL_TEXT("tenant_code", t->code),
		MAIL_TEXT("tenant_name", t->name),
		MAIL_TEXT("report_id", id),
		MAIL_TEXT("report_title", rr->title),
		MAIL_TEXT("report_category", rr->category),
		MAIL_TEXT("author", author),
		MAIL_TEXT("message", message),
		MAIL_FLAG("new_report", new_report),
	};
	const struct mail m = { .name = "report-to-provider", .vars = vars, .n_vars = ARRAY_SIZE(vars) };

	if (!to || !*to)
		return 0;   /* no address configured: kura admin report list shows it */
	str_printf(id, sizeof(id), "%lld", (long long)rr->id);
	return mail_queue(db, t->id, to, &m, NULL);
}

/* mail/report-to-tenant.*.txt to the tenant's active managers. */
static int mail_tenant(struct db *db, const struct tenant *t, const struct report_row *rr, const char *message,
		       bool closed, bool records, const char *public_url)
{
	char id[24], url[512];
	const struct mail_var vars[] = {
		MAIL_TEXT("tenant_name", t->name),
		MAIL_TEXT("report_id", id),
		MAIL_TEXT("report_title", rr->title),
		MAIL_TEXT("message", message),
		MAIL_TEXT("url", url),
		MAIL_FLAG("closed", closed),
		MAIL_FLAG("records_attached", records),
	};
	const struct mail m = { .name = "report-to-tenant", .zone = t->zone, .vars = vars,
				.n_vars = ARRAY_SIZE(vars) };

	str_printf(id, sizeof(id), "%lld", (long long)rr->id);
	(void)public_url;   /* the configured one (reports_configure) */
	str_printf(url, sizeof(url), "%s/reports#%lld", settings.public_url, (long long)rr->id);
	return notify_managers(db, t->id, NULL, &m, NULL);
}

/* The tenant's lock (what a read decides: open or closed, the counts); a provider-side change
 * also appends to the provider's chain (tenant 0), so that lock first: several tenants' locks
 * are taken in ascending order (store/db.h "Write serialisation"). */
static int lock(struct db *db, const struct tenant *t, enum report_side side)
{
	int r = side == REPORT_SIDE_PROVIDER ? db_lock_tenant(db, 0) : 0;

	return r == 0 ? db_lock_tenant(db, t->id) : r;
}

static int finish(struct db *db, int r)
{
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int reports_create(struct db *db, const struct actor *who, const struct tenant *t, const struct report_new *n,
		   const char *provider_to, int64_t *ret_id)
{
	bool records = n && n->kind && !strcmp(n->kind, "records-request");
	int64_t now = clock_now_us(), id = 0, open = 0;
	struct report_row rr;
	struct db_stmt *st;
	json_t *d;
	int r;

	if (!db || !who || !t || !n || !n->kind || (!records && strcmp(n->kind, "report")))
		return -EINVAL;
	if (!category_valid(n->category) || !report_text_valid(n->title, KURA_REPORT_TITLE_MAX, true) ||
	    !report_text_valid(n->description, KURA_REPORT_BODY_MAX, false))
		return -EINVAL;
	if (records && (n->from_us <= 0 || n->to_us < n->from_us))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	/* the count of open reports decides the insert */
	r = db_lock_tenant(db, t->id);
	if (r == 0) {
		st = db_query(db, "SELECT count(*) FROM reports WHERE tenant_id = $1 AND status = 'open'", "i", t->id);
		r = db_step(st);
		open = r > 0 ? db_int(st, 0) : 0;
		r = r > 0 ? 0 : r == 0 ? -EIO : r;
		db_done(st);
	}
	if (r == 0 && open >= KURA_REPORT_OPEN_MAX)
		r = -EDQUOT;
	/* each report mails the provider: a bounded number per account and hour */
	if (r == 0 && who->type == ACTOR_ACCOUNT) {
		char subject[RATE_SUBJECT_MAX];

		rate_subject_account(subject, who->account_id);
		r = rate_take(db, t->id, RATE_REPORT, subject);
	}
	if (r == 0)
		r = db_insert(db, &id,
			      "INSERT INTO reports (tenant_id, kind, category, title, created_by_name, created_us,"
			      " updated_us, from_us, to_us) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id",
			      "ittttiII", t->id, n->kind, n->category, n->title, who->name, now,
			      records ? n->from_us : 0, records ? n->to_us : 0);
	if (r == 0)
		r = db_exec(db, "INSERT INTO report_messages (tenant_id, report_id, side, author, body, created_us)"
				" VALUES ($1, $2, 'tenant', $3, $4, $5)", "iitti", t->id, id, who->name,
			    n->description, now);
	if (r == 0) {
		d = json_pack("{s:s, s:s, s:s}", "kind", n->kind, "category", n->category, "title", n->title);
		r = record(db, who, t, REPORT_SIDE_TENANT, "report.create", id, d);
		json_decref(d);
	}
	if (r == 0) {
		memset(&rr, 0, sizeof(rr));
		rr.id = id;
		str_copy(rr.category, sizeof(rr.category), n->category);
		str_copy(rr.title, sizeof(rr.title), n->title);
		r = mail_provider(db, t, &rr, who->name, n->description, true, provider_to);
	}
	r = finish(db, r);
	if (r == 0 && ret_id)
		*ret_id = id;
	return r;
}

int reports_message(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
		    enum report_side side, const char *body, const char *provider_to, const char *public_url)
{
	struct report_row rr;
	struct db_stmt *st;
	int64_t count = 0;
	int r;

	if (!db || !who || !t || !report_text_valid(body, KURA_REPORT_BODY_MAX, false))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	/* the thread's length decides the insert */
	r = lock(db, t, side);
	if (r == 0)
		r = get_row(db, t->id, id, &rr);
	if (r == 0 && strcmp(rr.status, "open"))
		r = -EPERM;
	if (r == 0) {
		st = db_query(db, "SELECT count(*) FROM report_messages WHERE tenant_id = $1 AND report_id = $2", "ii",
			      t->id, id);
		r = db_step(st);
		count = r > 0 ? db_int(st, 0) : 0;
		r = r > 0 ? 0 : r == 0 ? -EIO : r;
		db_done(st);
	}
	if (r == 0 && count >= KURA_REPORT_MESSAGES_MAX)
		r = -E2BIG;
	/* a tenant's message mails the provider: a bounded number per account and hour */
	if (r == 0 && side == REPORT_SIDE_TENANT && who->type == ACTOR_ACCOUNT) {
		char subject[RATE_SUBJECT_MAX];

		rate_subject_account(subject, who->account_id);
		r = rate_take(db, t->id, RATE_REPORT_MESSAGE, subject);
	}
	if (r == 0)
		r = db_exec(db, "INSERT INTO report_messages (tenant_id, report_id, side, author, body, created_us)"
				" VALUES ($1, $2, $3, $4, $5, $6)", "iittti", t->id, id, side_name(side), who->name,
			    body, clock_now_us());
	if (r == 0)
		r = db_exec(db, "UPDATE reports SET updated_us = $3 WHERE tenant_id = $1 AND id = $2", "iii", t->id,
			    id, clock_now_us());
	if (r == 0)
		r = record(db, who, t, side, "report.message", id, NULL);
	if (r == 0)
		r = side == REPORT_SIDE_TENANT ? mail_provider(db, t, &rr, who->name, body, false, provider_to)
					       : mail_tenant(db, t, &rr, body, false, false, public_url);
	return finish(db, r);
}

int reports_attach(struct db *db, struct files *f, const struct actor *who, int64_t tenant_id, int64_t id,
		   enum report_side side, const char *name, const char *content_type, const void *data,
		   size_t n, int64_t *ret_id)
{
	struct files_sealed s;
	struct report_row rr;
	struct tenant t;
	struct db_stmt *st;
	int64_t count = 0, aid = 0;
	json_t *d;
	int r;

	if (!db || !f || !who || !files_name_valid(name) || strlen(name) > 255 ||
	    !content_type || !files_content_type_valid(content_type))
		return -EINVAL;
	if (n > KURA_REPORT_ATTACHMENT_MAX)
		return -EFBIG;
	r = tenant_get(db, tenant_id, &t);
	if (r == 0)
		r = get_row(db, tenant_id, id, &rr);
	if (r == 0 && strcmp(rr.status, "open"))
		r = -EPERM;
	if (r < 0)
		return r;
	r = files_seal(f, db, tenant_id, data, n, &s);
	if (r < 0)
		return r;
	r = db_begin(db);
	if (r < 0)
		goto fail;
	/* the count of attachments decides the insert */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = get_row(db, tenant_id, id, &rr);
	if (r == 0 && strcmp(rr.status, "open"))
		r = -EPERM;
	if (r == 0) {
		st = db_query(db, "SELECT count(*) FROM report_attachments WHERE tenant_id = $1 AND report_id = $2",
			      "ii", tenant_id, id);
		r = db_step(st);
		count = r > 0 ? db_int(st, 0) : 0;
		r = r > 0 ? 0 : r == 0 ? -EIO : r;
		db_done(st);
	}
	if (r == 0 && count >= KURA_REPORT_ATTACHMENTS_MAX)
		r = -E2BIG;
	/* attachments are the tenant's stored data: they count against its quota */
	if (r == 0)
		r = files_sealed_charge(db, tenant_id, s.size);
	if (r == 0)
		r = db_insert(db, &aid,
			      "INSERT INTO report_attachments (tenant_id, report_id, side, author, name, content_type,"
			      " size, blob_id, key_version, wrapped_key, created_us) VALUES ($1, $2, $3, $4, $5, $6,"
			      " $7, $8, $9, $10, $11) RETURNING id",
			      "iittttitibi", tenant_id, id, side_name(side), who->name, name, content_type, s.size,
			      s.blob_id, s.key_version, s.wrapped, (size_t)sizeof(s.wrapped), clock_now_us());
	if (r == 0) {
		d = json_pack("{s:I, s:s, s:I}", "attachment", (json_int_t)aid, "name", name, "size",
			      (json_int_t)s.size);
		r = record(db, who, &t, side, "report.attach", id, d);
		json_decref(d);
	}
	r = finish(db, r);
	if (r < 0)
		goto fail;
	if (ret_id)
		*ret_id = aid;
	return 0;
fail:
	(void)files_sealed_delete(f, tenant_id, s.blob_id);
	return r;
}

int reports_close(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
		  enum report_side side, const char *public_url)
{
	struct report_row rr;
	int r;

	r = db_begin(db);
	if (r < 0)
		return r;
	r = lock(db, t, side);   /* the state read decides the update */
	if (r == 0)
		r = get_row(db, t->id, id, &rr);
	if (r == 0 && strcmp(rr.status, "open"))
		r = -EPERM;
	if (r == 0)
		r = db_exec(db, "UPDATE reports SET status = 'closed', closed_us = $3, updated_us = $3"
				" WHERE tenant_id = $1 AND id = $2", "iii", t->id, id, clock_now_us());
	if (r == 0)
		r = record(db, who, t, side, "report.close", id, NULL);
	if (r == 0 && side == REPORT_SIDE_PROVIDER)
		r = mail_tenant(db, t, &rr, "", true, false, public_url);
	return finish(db, r);
}

int reports_answer_records(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
			   const char *public_url, int64_t *ret_export_id)
{
	char target[KURA_TENANT_CODE_MAX + 8], buf[16384], msg[200];
	struct audit_filter f;
	struct audit_export *x;
	struct report_row rr;
	struct dbuf out;
	int64_t eid = 0;
	ssize_t k;
	json_t *d;
	int r, err = 0;

	r = get_row(db, t->id, id, &rr);
	if (r < 0)
		return r;
	if (strcmp(rr.kind, "records-request") || strcmp(rr.status, "open"))
		return -EPERM;
	str_printf(target, sizeof(target), "tenant:%s", t->code);
	memset(&f, 0, sizeof(f));
	f.from_us = rr.from_us;
	f.to_us = rr.to_us;
	f.target = target;
	/* the provider's chain: a verifiable JSONL run, the other tenants' records as omitted
	 * lines (hashes only, nothing of their content) */
	x = audit_export_open(db, 0, &f, AUDIT_FORMAT_JSONL, t->zone, &err);
	if (!x)
		return err ? err : -EIO;
	dbuf_init(&out, KURA_REPORT_EXPORT_MAX);
	while ((k = audit_export_read(x, db, buf, sizeof(buf))) > 0)
		if ((r = dbuf_add(&out, buf, (size_t)k)) < 0)
			break;
	audit_export_free(x);
	if (k < 0)
		r = (int)k;
	if (r < 0)
		goto out;
	r = db_begin(db);
	if (r < 0)
		goto out;
	r = lock(db, t, REPORT_SIDE_PROVIDER);
	if (r == 0)
		r = get_row(db, t->id, id, &rr);
	if (r == 0 && strcmp(rr.status, "open"))
		r = -EPERM;
	if (r == 0)
		r = db_insert(db, &eid,
			      "INSERT INTO report_exports (tenant_id, report_id, content, created_by_name, created_us)"
			      " VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      "iibti", t->id, id, dbuf_str(&out), dbuf_len(&out), who->name, clock_now_us());
	str_printf(msg, sizeof(msg), "The provider-side records (export %lld) are attached to this report.",
		   (long long)eid);
	if (r == 0)
		r = db_exec(db, "INSERT INTO report_messages (tenant_id, report_id, side, author, body, created_us)"
				" VALUES ($1, $2, 'provider', $3, $4, $5)", "iitti", t->id, id, who->name, msg,
			    clock_now_us());
	if (r == 0) {
		d = json_pack("{s:I, s:I}", "export", (json_int_t)eid, "bytes", (json_int_t)dbuf_len(&out));
		r = record(db, who, t, REPORT_SIDE_PROVIDER, "report.answer-records", id, d);
		json_decref(d);
	}
	if (r == 0)
		r = mail_tenant(db, t, &rr, msg, false, true, public_url);
	r = finish(db, r);
	if (r == 0 && ret_export_id)
		*ret_export_id = eid;
out:
	dbuf_free(&out);
	return r;
}

/* ---------------------------------------------------------------- reading */

static json_t *report_summary(struct db_stmt *st, bool with_tenant)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)db_int(st, 0),
			      "kind", db_text(st, 1), "category", db_text(st, 2), "title", db_text(st, 3), "status",
			      db_text(st, 4), "created_by", db_text(st, 5), "created_at", time_json(db_int(st, 6)),
			      "updated_at", time_json(db_int(st, 7)), "from", time_json(db_int(st, 8)), "to",
			      time_json(db_int(st, 9)));

	if (o && with_tenant)
		json_object_set_new(o, "tenant", json_string(db_text(st, 10) ? db_text(st, 10) : ""));
	return o;
}

#define SUMMARY_COLS "r.id, r.kind, r.category, r.title, r.status, r.created_by_name, r.created_us," \
	" r.updated_us, r.from_us, r.to_us, t.code"

int reports_list(struct db *db, int64_t tenant_id, bool open_only, json_t **ret)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int r;

	if (!arr)
		return -ENOMEM;
	if (tenant_id)
		st = db_query(db, "SELECT " SUMMARY_COLS " FROM reports r JOIN tenants t ON t.id = r.tenant_id"
				  " WHERE r.tenant_id = $1 AND ($2 = 0 OR r.status = 'open') ORDER BY r.id DESC LIMIT $3",
			      "iii", tenant_id, (int64_t)open_only, (int64_t)KURA_REPORT_LIST_MAX);
	else
		st = db_query(db, "SELECT " SUMMARY_COLS " FROM reports r JOIN tenants t ON t.id = r.tenant_id"
				  " WHERE ($1 = 0 OR r.status = 'open') ORDER BY r.id DESC LIMIT $2",
			      "ii", (int64_t)open_only, (int64_t)KURA_REPORT_LIST_MAX);
	while ((r = db_step(st)) > 0)
		json_array_append_new(arr, report_summary(st, tenant_id == 0));
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int reports_find_tenant(struct db *db, int64_t id, int64_t *ret_tenant_id)
{
	struct db_stmt *st = db_query(db, "SELECT tenant_id FROM reports WHERE id = $1", "i", id);
	int r = db_step(st);

	if (r > 0)
		*ret_tenant_id = db_int(st, 0);
	db_done(st);
	return r > 0 ? 0 : r == 0 ? -ENOENT : r;
}

int reports_record_read(struct db *db, const struct actor *op, const struct tenant *t, int64_t id)
{
	int r = db_begin(db);

	if (r == 0)
		r = lock(db, t, REPORT_SIDE_PROVIDER);
	if (r == 0)
		r = record(db, op, t, REPORT_SIDE_PROVIDER, "report.show", id, NULL);
	return finish(db, r);
}

int reports_get(struct db *db, int64_t tenant_id, int64_t id, json_t **ret)
{
	json_t *o = NULL, *msgs = json_array(), *atts = json_array(), *exps = json_array();
	struct db_stmt *st;
	int r;

	if (!msgs || !atts || !exps) {
		r = -ENOMEM;
		goto fail;
	}
	st = db_query(db, "SELECT " SUMMARY_COLS " FROM reports r JOIN tenants t ON t.id = r.tenant_id"
			  " WHERE r.tenant_id = $1 AND r.id = $2", "ii", tenant_id, id);
	r = db_step(st);
	if (r > 0)
		o = report_summary(st, false);
	db_done(st);
	if (r <= 0) {
		r = r == 0 ? -ENOENT : r;
		goto fail;
	}
	st = db_query(db, "SELECT id, side, author, body, created_us FROM report_messages WHERE tenant_id = $1"
			  " AND report_id = $2 ORDER BY id", "ii", tenant_id, id);
	while ((r = db_step(st)) > 0)
		json_array_append_new(msgs, json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)db_int(st, 0),
						      "side", db_text(st, 1), "author", db_text(st, 2), "body",
						      db_text(st, 3), "created_at", time_json(db_int(st, 4))));
	db_done(st);
	if (r < 0)
		goto fail;
	st = db_query(db, "SELECT id, side, author, name, content_type, size, created_us FROM report_attachments"
			  " WHERE tenant_id = $1 AND report_id = $2 ORDER BY id", "ii", tenant_id, id);
	while ((r = db_step(st)) > 0)
		json_array_append_new(atts, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o}", "id",
						      (json_int_t)db_int(st, 0), "side", db_text(st, 1), "author",
						      db_text(st, 2), "name", db_text(st, 3), "content_type",
						      db_text(st, 4), "size", (json_int_t)db_int(st, 5), "created_at",
						      time_json(db_int(st, 6))));
	db_done(st);
	if (r < 0)
		goto fail;
	st = db_query(db, "SELECT id, length(content), created_us FROM report_exports WHERE tenant_id = $1"
			  " AND report_id = $2 ORDER BY id", "ii", tenant_id, id);
	while ((r = db_step(st)) > 0)
		json_array_append_new(exps, json_pack("{s:I, s:I, s:o}", "id", (json_int_t)db_int(st, 0), "size",
						      (json_int_t)db_int(st, 1), "created_at",
						      time_json(db_int(st, 2))));
	db_done(st);
	if (r < 0)
		goto fail;
	json_object_set_new(o, "messages", msgs);
	json_object_set_new(o, "attachments", atts);
	json_object_set_new(o, "exports", exps);
	*ret = o;
	return 0;
fail:
	json_decref(o);
	json_decref(msgs);
	json_decref(atts);
	json_decref(exps);
	return r;
}

int reports_attachment_open(struct db *db, struct files *f, int64_t tenant_id, int64_t report_id, int64_t id,
			    struct report_attachment *ret_meta, struct files_reader **ret)
{
	unsigned char wrapped[72];
	char blob_id[40] = "";
	int64_t version = 0;
	struct db_stmt *st;
	const void *p;
	size_t n = 0;
	int r;

	if (!f)
		return -EINVAL;
	st = db_query(db, "SELECT id, name, content_type, size, blob_id, key_version, wrapped_key"
			  " FROM report_attachments WHERE tenant_id = $1 AND report_id = $2 AND id = $3",
		      "iii", tenant_id, report_id, id);
	r = db_step(st);
	if (r > 0) {
		ret_meta->id = db_int(st, 0);
		str_copy(ret_meta->name, sizeof(ret_meta->name), db_text(st, 1) ? db_text(st, 1) : "");
		str_copy(ret_meta->content_type, sizeof(ret_meta->content_type), db_text(st, 2) ? db_text(st, 2) : "");
		ret_meta->size = db_int(st, 3);
		version = db_int(st, 5);
		p = db_blob(st, 6, &n);
		if (!db_text(st, 4) || str_copy(blob_id, sizeof(blob_id), db_text(st, 4)) < 0 || !p ||
		    n != sizeof(wrapped))
			r = -EBADMSG;
		else
			memcpy(wrapped, p, n), r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	if (r < 0)
		return r;
	return files_open_sealed(f, db, tenant_id, blob_id, version, wrapped, (uint64_t)ret_meta->size, ret);
}

int reports_export_get(struct db *db, int64_t tenant_id, int64_t report_id, int64_t id, void **ret, size_t *ret_n)
{
	struct db_stmt *st = db_query(db, "SELECT content FROM report_exports WHERE tenant_id = $1 AND report_id = $2"
					  " AND id = $3", "iii", tenant_id, report_id, id);
	const void *p;
	size_t n = 0;
	int r = db_step(st);

	if (r > 0) {
		p = db_blob(st, 0, &n);
		*ret = malloc(n ? n : 1);
		if (!*ret)
			r = -ENOMEM;
		else
			memcpy(*ret, p, n), *ret_n = n, r = 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}
