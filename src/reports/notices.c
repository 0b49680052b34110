/*
 * Notices to users (issue 9; W4; docs/reports.md): a tenant's managers post notices to all
 * its users or to a list of accounts; each account's first reading is recorded (who, when):
 * the article-view log the managers read and download.
 *
 * SECURITY: every query names the tenant; an account sees only the notices addressed to it
 * (all, or a target row naming it), so reading another's notice is -ENOENT like one that
 * does not exist. Posting and each first reading are recorded in the tenant's audit chain.
 */
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/limits.h"
#include "reports/reports.h"
#include "store/db.h"

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (us <= 0 || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static int notice_record(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
			 enum audit_category cat, int64_t id, json_t *details)
{
	char target[48];

	str_printf(target, sizeof(target), "notice:%lld", (long long)id);
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who, .category = cat,
				 .action = action, .target = target, .result = AUDIT_SUCCESS, .details = details });
}

int notices_create(struct db *db, const struct actor *who, int64_t tenant_id, const char *title, const char *body,
		   const char *const *logins, size_t n_logins, int64_t *ret_id, const char **ret_unknown)
{
	int64_t id = 0, ids[KURA_NOTICE_TARGETS_MAX];
	struct account a;
	json_t *d, *names;
	int r;

	if (ret_unknown)
		*ret_unknown = NULL;
	if (!db || !who || !report_text_valid(title, KURA_REPORT_TITLE_MAX, true) ||
	    !report_text_valid(body, KURA_REPORT_BODY_MAX, false))
		return -EINVAL;
	if (n_logins > KURA_NOTICE_TARGETS_MAX)
		return -E2BIG;
	r = db_begin(db);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n_logins; i++) {
		r = account_get(db, tenant_id, logins[i], &a);
		if (r == -ENOENT && ret_unknown)
			*ret_unknown = logins[i];
		ids[i] = a.id;
	}
	if (r == 0)
		r = db_insert(db, &id,
			      "INSERT INTO notices (tenant_id, title, body, target_all, created_by_name, created_us)"
			      " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			      "ittiti", tenant_id, title, body, (int64_t)(n_logins == 0), who->name, clock_now_us());
	for (size_t i = 0; r == 0 && i < n_logins; i++) {
		r = db_exec(db, "INSERT INTO notice_targets (tenant_id, notice_id, account_id) VALUES ($1, $2, $3)"
				" ON CONFLICT DO NOTHING", "iii", tenant_id, id, ids[i]);
	}
	if (r == 0) {
		names = json_array();
		for (size_t i = 0; i < n_logins; i++)
			json_array_append_new(names, json_string(logins[i]));
		d = json_pack("{s:s, s:o}", "title", title, "to", n_logins ? names : json_string("all"));
		if (!n_logins)
			json_decref(names);
		r = notice_record(db, who, tenant_id, "notice.create", AUDIT_ADMINISTRATION, id, d);
		json_decref(d);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0 && ret_id)
		*ret_id = id;
	return r;
}

/* Notices addressed to account $2 of tenant $1. */
#define ADDRESSED \
	" (n.target_all = 1 OR EXISTS (SELECT 1 FROM notice_targets nt WHERE nt.notice_id = n.id" \
	" AND nt.tenant_id = n.tenant_id AND nt.account_id = $2))"

int notices_for_account(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int64_t unread = 0;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT n.id, n.title, n.body, n.created_by_name, n.created_us, r.read_us"
			  " FROM notices n LEFT JOIN notice_reads r ON r.notice_id = n.id AND r.account_id = $2"
			  " WHERE n.tenant_id = $1 AND" ADDRESSED " ORDER BY n.id DESC LIMIT $3",
		      "iii", tenant_id, account_id, (int64_t)KURA_NOTICE_LIST_MAX);
	while ((r = db_step(st)) > 0) {
		bool read = !db_is_null(st, 5);

		unread += !read;
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:o, s:b, s:o}", "id",
						     (json_int_t)db_int(st, 0), "title", db_text(st, 1), "body",
						     db_text(st, 2), "posted_by", db_text(st, 3), "posted_at",
						     time_json(db_int(st, 4)), "read", read, "read_at",
						     read ? time_json(db_int(st, 5)) : json_null()));
	}
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = json_pack("{s:o, s:I}", "notices", arr, "unread", (json_int_t)unread);
	return *ret ? 0 : -ENOMEM;
}

int notices_posted(struct db *db, int64_t tenant_id, json_t **ret)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT n.id, n.title, n.body, n.target_all, n.created_by_name, n.created_us,"
			  " (SELECT count(*) FROM notice_reads r WHERE r.tenant_id = n.tenant_id AND r.notice_id = n.id),"
			  " CASE WHEN n.target_all = 1 THEN (SELECT count(*) FROM accounts a WHERE a.tenant_id = n.tenant_id"
			  " AND a.status = 'active') ELSE (SELECT count(*) FROM notice_targets t WHERE"
			  " t.tenant_id = n.tenant_id AND t.notice_id = n.id) END"
			  " FROM notices n WHERE n.tenant_id = $1 ORDER BY n.id DESC LIMIT $2",
		      "ii", tenant_id, (int64_t)KURA_NOTICE_LIST_MAX);
	while ((r = db_step(st)) > 0) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I}", "id", (json_int_t)db_int(st, 0), "title",
				      db_text(st, 1), "body", db_text(st, 2), "posted_by", db_text(st, 4),
				      "posted_at", time_json(db_int(st, 5)), "readers", (json_int_t)db_int(st, 6),
				      "recipients", (json_int_t)db_int(st, 7));
		json_t *to = json_array();

		if (db_int(st, 3)) {
			json_decref(to);
			to = json_string("all");
		} else {
			struct db_stmt *t = db_query(db, "SELECT a.login FROM notice_targets nt JOIN accounts a ON"
							 " a.id = nt.account_id AND a.tenant_id = nt.tenant_id WHERE"
							 " nt.tenant_id = $1 AND nt.notice_id = $2 ORDER BY a.login",
						     "ii", tenant_id, db_int(st, 0));
			while (db_step(t) > 0)
				json_array_append_new(to, json_string(db_text(t, 0)));
			db_done(t);
		}
		json_object_set_new(o, "to", to);
		json_array_append_new(arr, o);
	}
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = json_pack("{s:o}", "notices", arr);
	return *ret ? 0 : -ENOMEM;
}

int notices_read(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id, const char *login,
		 int64_t id, bool *ret_first)
{
	struct db_stmt *st;
	int64_t now = clock_now_us();
	int r;

	*ret_first = false;
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT n.id FROM notices n WHERE n.tenant_id = $1 AND n.id = $3 AND" ADDRESSED, "iii",
		      tenant_id, account_id, id);
	r = db_step(st);
	db_done(st);
	r = r > 0 ? 0 : r == 0 ? -ENOENT : r;
	if (r == 0) {
		/* the first reading only: the primary key keeps it, and no row comes back later */
		int64_t got = 0;

		r = db_insert(db, &got, "INSERT INTO notice_reads (tenant_id, notice_id, account_id, login, read_us)"
				       " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING notice_id",
			      "iiiti", tenant_id, id, account_id, login, now);
		*ret_first = r == 0;
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0 && *ret_first)
		r = notice_record(db, who, tenant_id, "notice.read", AUDIT_ACCESS, id, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int notices_reads(struct db *db, int64_t tenant_id, int64_t id, json_t **ret)
{
	json_t *arr = json_array(), *o = NULL;
	struct db_stmt *st;
	int r;

	if (!arr)
		return -ENOMEM;
	st = db_query(db, "SELECT id, title FROM notices WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id);
	r = db_step(st);
	if (r > 0)
		o = json_pack("{s:I, s:s}", "id", (json_int_t)db_int(st, 0), "title", db_text(st, 1));
	db_done(st);
	if (r <= 0) {
		json_decref(arr);
		return r == 0 ? -ENOENT : r;
	}
	st = db_query(db, "SELECT login, read_us FROM notice_reads WHERE tenant_id = $1 AND notice_id = $2"
			  " ORDER BY read_us, login LIMIT $3", "iii", tenant_id, id, (int64_t)KURA_NOTICE_READS_MAX);
	while ((r = db_step(st)) > 0)
		json_array_append_new(arr, json_pack("{s:s, s:o}", "login", db_text(st, 0), "read_at",
						     time_json(db_int(st, 1))));
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		json_decref(o);
		return r;
	}
	json_object_set_new(o, "reads", arr);
	*ret = o;
	return 0;
}
