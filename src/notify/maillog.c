/*
 * Delivery log (W5): reads mail_outbox rows of one tenant. Every query names the tenant, so
 * a tenant never sees another tenant's mails or the provider's (tenant_id NULL).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/limits.h"
#include "notify/maillog.h"
#include "store/db.h"

#define MAILLOG_COLS "id, recipient, subject, state, attempts, created_us, sent_us," \
		     " next_attempt_us, last_error, message_id, body_bytes"

bool mail_state_valid(const char *state)
{
	return state && (!strcmp(state, "queued") || !strcmp(state, "sent") ||
			 !strcmp(state, "deferred") || !strcmp(state, "failed"));
}

static json_t *time_or_null(int64_t us, bool null)
{
	char buf[CLOCK_RFC3339_LEN];

	if (null || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static json_t *row_json(struct db_stmt *st)
{
	const char *state = db_text(st, 3);
	bool pending = state && (!strcmp(state, "queued") || !strcmp(state, "deferred"));

	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:s, s:s, s:I}", "id", (json_int_t)db_int(st, 0),
			 "recipient", db_text(st, 1) ? db_text(st, 1) : "", "subject",
			 db_text(st, 2) ? db_text(st, 2) : "", "state", state ? state : "",
			 "attempts", (json_int_t)db_int(st, 4), "queued_at",
			 time_or_null(db_int(st, 5), false), "sent_at",
			 time_or_null(db_int(st, 6), db_is_null(st, 6)), "next_attempt_at",
			 time_or_null(db_int(st, 7), !pending), "last_error",
			 db_text(st, 8) ? db_text(st, 8) : "", "message_id", db_text(st, 9) ? db_text(st, 9) : "",
			 "size", (json_int_t)db_int(st, 10));
}

json_t *mail_log_row_json(struct db *db, int64_t tenant_id, int64_t outbox_id)
{
	struct db_stmt *st = db_query(db, "SELECT " MAILLOG_COLS " FROM mail_outbox"
				      " WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, outbox_id);
	json_t *o = db_step(st) > 0 ? row_json(st) : json_null();

	db_done(st);
	return o;
}

int mail_log_list(struct db *db, int64_t tenant_id, const char *state, int64_t before,
		  size_t limit, json_t **ret_items, bool *ret_more)
{
	struct db_stmt *st;
	json_t *arr = json_array();
	size_t n = 0;
	int r;

	if (!arr)
		return -ENOMEM;
	if (limit == 0 || limit > KURA_PAGE_MAX || (state && !mail_state_valid(state))) {
		json_decref(arr);
		return -EINVAL;
	}
	st = db_query(db, "SELECT " MAILLOG_COLS " FROM mail_outbox WHERE tenant_id = $1"
		      " AND ($2 = 0 OR id < $2) AND ($3 IS NULL OR state = $3)"
		      " ORDER BY id DESC LIMIT $4", "iiti", tenant_id, before, state, (int64_t)limit + 1);
	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		if (n == limit) {
			*ret_more = true;
			break;
		}
		json_array_append_new(arr, row_json(st));
		n++;
	}
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret_items = arr;
	return 0;
}

int mail_queue_summary(struct db *db, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(CASE WHEN state = 'queued' THEN 1 END),"
				      " COUNT(CASE WHEN state = 'deferred' THEN 1 END),"
				      " COUNT(CASE WHEN state = 'sent' THEN 1 END),"
				      " COUNT(CASE WHEN state = 'failed' THEN 1 END),"
				      " COUNT(CASE WHEN body <> '' OR sealed IS NOT NULL THEN 1 END),"
				      " MIN(CASE WHEN state IN ('queued', 'deferred') THEN created_us END),"
				      " MIN(CASE WHEN state IN ('queued', 'deferred') THEN next_attempt_us END)"
				      " FROM mail_outbox", NULL);
	json_t *o = NULL;
	int r = db_step(st);

	if (r > 0)
		o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "queued", (json_int_t)db_int(st, 0),
			      "deferred", (json_int_t)db_int(st, 1), "sent", (json_int_t)db_int(st, 2),
			      "failed", (json_int_t)db_int(st, 3), "bodies_kept", (json_int_t)db_int(st, 4),
			      "oldest_waiting_at", time_or_null(db_int(st, 5), db_is_null(st, 5)),
			      "next_attempt_at", time_or_null(db_int(st, 6), db_is_null(st, 6)));
	db_done(st);
	if (r == 0)
		r = -EIO;   /* an aggregate always has its one row */
	if (r < 0)
		return r;
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
}
