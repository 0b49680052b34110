/*
 * Operator access by approval (C7): requests, approvals, grants and the gate of the support
 * commands. See lockbox.h for the rules; docs/security.md "Operator access by approval".
 */
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "files/lockbox.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"

static struct {
	int64_t lapse_s;
	char public_url[CONFIG_STR];
} settings = { KURA_ACCESS_LAPSE_S, "https://localhost:8443" };

void lockbox_configure(const struct config *cfg)
{
	size_t n;

	settings.lapse_s = cfg->access_request_lapse_s;
	str_copy(settings.public_url, sizeof(settings.public_url), cfg->public_url);
	n = strlen(settings.public_url);
	while (n > 0 && settings.public_url[n - 1] == '/')
		settings.public_url[--n] = '\0';
}

bool lockbox_scope_valid(const char *scope)
{
	return scope && (!strcmp(scope, "files:read") || !strcmp(scope, "audit:read"));
}

/* One line of clean text without bidirectional controls (it reaches mails and the portal). */
static bool reason_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0, k;
	uint32_t cp;

	if (n == 0 || !utf8_is_clean_text(s, n) || utf8_length(s, n) > KURA_ACCESS_REASON_MAX)
		return false;
	while (i < n) {
		k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (k == 0 || cp == '\t' || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
		    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
			return false;
		i += k;
	}
	return true;
}

static bool case_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > KURA_ACCESS_CASE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._:#/-", c)))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- rows */

#define REQUEST_COLUMNS                                                                        \
	"id, tenant_id, operator, reason, case_ref, scope, hours, emergency, state,"           \
	" approvals_required, created_at, lapses_at, COALESCE(granted_at, 0), COALESCE(ends_at, 0)," \
	" COALESCE(decided_at, 0), COALESCE(decided_by, ''), COALESCE(revoked_at, 0),"         \
	" COALESCE(revoked_by, ''),"                                                           \
	" (SELECT count(*) FROM access_approvals p WHERE p.request_id = access_requests.id)"

/* The effective state at now: lapsed and expired come from the times. */
static void effective(struct lockbox_request *r, int64_t now)
{
	r->active = false;
	if (!strcmp(r->state, "pending") && now >= r->lapses_us) {
		str_copy(r->state, sizeof(r->state), "lapsed");
	} else if (!strcmp(r->state, "approved")) {
		if (now >= r->ends_us)
			str_copy(r->state, sizeof(r->state), "expired");
		else
			r->active = now >= r->granted_us;
	}
}

static void read_request(struct db_stmt *st, void *ret)
{
	struct lockbox_request *r = ret;

	memset(r, 0, sizeof(*r));
	r->id = db_int(st, 0);
	r->tenant_id = db_int(st, 1);
	str_copy(r->operator, sizeof(r->operator), db_text(st, 2));
	str_copy(r->reason, sizeof(r->reason), db_text(st, 3));
	str_copy(r->case_ref, sizeof(r->case_ref), db_text(st, 4));
	str_copy(r->scope, sizeof(r->scope), db_text(st, 5));
	r->hours = db_int(st, 6);
	r->emergency = db_int(st, 7) == 1;
	str_copy(r->state, sizeof(r->state), db_text(st, 8));
	r->approvals_required = db_int(st, 9);
	r->created_us = db_int(st, 10);
	r->lapses_us = db_int(st, 11);
	r->granted_us = db_int(st, 12);
	r->ends_us = db_int(st, 13);
	r->decided_us = db_int(st, 14);
	str_copy(r->decided_by, sizeof(r->decided_by), db_text(st, 15));
	r->revoked_us = db_int(st, 16);
	str_copy(r->revoked_by, sizeof(r->revoked_by), db_text(st, 17));
	r->approvals = db_int(st, 18);
	effective(r, clock_now_us());
}

int lockbox_get(struct db *db, int64_t tenant_id, int64_t id, struct lockbox_request *ret)
{
	if (tenant_id <= 0 || id <= 0)
		return -ENOENT;
	return db_one(db_query(db, "SELECT " REQUEST_COLUMNS " FROM access_requests WHERE tenant_id = $1 AND id = $2",
			       "ii", tenant_id, id),
		      read_request, ret);
}

int lockbox_find(struct db *db, int64_t id, struct lockbox_request *ret)
{
	if (id <= 0)
		return -ENOENT;
	return db_one(db_query(db, "SELECT " REQUEST_COLUMNS " FROM access_requests WHERE id = $1", "i", id),
		      read_request, ret);
}

static json_t *time_or_null(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (us <= 0)
		return json_null();
	clock_format_utc(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *text_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *lockbox_json(struct db *db, const struct lockbox_request *r, bool reads)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o,"
			      " s:o, s:o}",
			      "id", (json_int_t)r->id, "operator", r->operator, "reason", r->reason, "case", r->case_ref,
			      "scope", r->scope, "hours", (json_int_t)r->hours, "emergency", r->emergency,
			      "state", r->state, "active", r->active, "approvals", (json_int_t)r->approvals,
			      "approvals_required", (json_int_t)r->approvals_required,
			      "created_at", time_or_null(r->created_us), "lapses_at", time_or_null(r->lapses_us),
			      "granted_at", time_or_null(r->granted_us), "ends_at", time_or_null(r->ends_us),
			      "decided_at", time_or_null(r->decided_us), "decided_by", text_or_null(r->decided_by),
			      "revoked_at", time_or_null(r->revoked_us), "revoked_by", text_or_null(r->revoked_by));
	json_t *list = json_array();
	struct db_stmt *st;
	char target[48];

	if (!j || !list) {
		json_decref(j);
		json_decref(list);
		return NULL;
	}
	st = db_query(db, "SELECT login, approved_at FROM access_approvals WHERE tenant_id = $1 AND request_id = $2"
			  " ORDER BY approved_at, account_id", "ii", r->tenant_id, r->id);
	while (st && db_step(st) == 1)
		json_array_append_new(list, json_pack("{s:s, s:o}", "login", db_text(st, 0),
						      "approved_at", time_or_null(db_int(st, 1))));
	db_done(st);
	json_object_set_new(j, "approved_by", list);
	if (reads) {
		/* what was read under it: the records with its target, from the tenant's own chain */
		struct audit_filter f = { .limit = KURA_ACCESS_LIST_MAX, .target = target };
		json_t *q;

		str_printf(target, sizeof(target), "access-request:%lld", (long long)r->id);
		q = audit_query(db, r->tenant_id, &f);
		json_object_set_new(j, "events", q ? json_incref(json_object_get(q, "events")) : json_array());
		json_decref(q);
	}
	return j;
}

int lockbox_list(struct db *db, int64_t tenant_id, const char *state, int64_t before, int64_t limit,
		 json_t **ret)
{
	json_t *list = json_array(), *out;
	struct lockbox_request r;
	struct db_stmt *st;
	int64_t last = 0;
	int64_t n = 0;
	bool more = false;
	int s;

	if (!list)
		return -ENOMEM;
	if (limit < 1 || limit > KURA_ACCESS_LIST_MAX)
		limit = KURA_ACCESS_LIST_MAX;
	/* the effective state is computed in C, so the filter reads on past non-matching rows
	 * (each page still ends after at most limit matches) */
	st = db_query(db, "SELECT " REQUEST_COLUMNS " FROM access_requests WHERE ($1 = 0 OR tenant_id = $1)"
			  " AND ($2 = 0 OR id < $2) ORDER BY id DESC", "ii", tenant_id, before);
	if (!st) {
		json_decref(list);
		return -EIO;
	}
	while ((s = db_step(st)) == 1) {
		json_t *j;

		read_request(st, &r);
		if (state && strcmp(state, r.state))
			continue;
		if (n == limit) {
			more = true;
			break;
		}
		j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:b, s:I, s:I, s:o, s:o, s:o}",
			      "id", (json_int_t)r.id, "operator", r.operator, "reason", r.reason, "case", r.case_ref,
			      "scope", r.scope, "hours", (json_int_t)r.hours, "emergency", r.emergency,
			      "state", r.state, "active", r.active, "approvals", (json_int_t)r.approvals,
			      "approvals_required", (json_int_t)r.approvals_required,
			      "created_at", time_or_null(r.created_us), "lapses_at", time_or_null(r.lapses_us),
			      "ends_at", time_or_null(r.ends_us));
		if (j && tenant_id == 0) {
			struct tenant t;

			if (tenant_get(db, r.tenant_id, &t) == 0)
				json_object_set_new(j, "tenant", json_string(t.code));
		}
		if (!j || json_array_append_new(list, j) < 0) {
			s = -ENOMEM;
			break;
		}
		last = r.id;
		n++;
	}
	db_done(st);
	if (s < 0) {
		json_decref(list);
		return s;
	}
	out = json_pack("{s:o, s:o}", "requests", list, "next_before", more ? json_integer(last) : json_null());
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* ---------------------------------------------------------------- audit and mail */

static json_t *request_details(const struct lockbox_request *r)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:b}", "grant_id", (json_int_t)r->id, "case", r->case_ref,
			 "reason", r->reason, "scope", r->scope, "hours", (json_int_t)r->hours, "emergency", r->emergency);
}

/* In the tenant's chain (target the request, so its detail lists it) and in the provider's
 * own chain (F5: the operators' work log, which outlives the tenant's erasure; target the
 * tenant), like every read under a grant (lockbox_record_read): a request, its refusal,
 * each decision and a revocation. The caller holds the provider's lock, then the tenant's. */
static int record(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
		  const struct lockbox_request *r, enum audit_result res, json_t *details)
{
	enum audit_category cat = who->type == ACTOR_OPERATOR ? AUDIT_OPERATOR : AUDIT_ADMINISTRATION;
	char target[48], tenant[32];
	json_t *pd;
	int ret;

	str_printf(target, sizeof(target), "access-request:%lld", (long long)r->id);
	ret = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who, .category = cat,
				    .action = action, .target = r->id ? target : "access-request",
				    .result = res, .details = details });
	if (ret < 0)
		return ret;
	pd = details ? json_deep_copy(details) : json_object();
	if (!pd)
		return -ENOMEM;
	json_object_set_new(pd, "tenant_id", json_integer(tenant_id));
	str_printf(tenant, sizeof(tenant), "tenant-id:%lld", (long long)tenant_id);
	ret = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = who, .category = cat,
				    .action = action, .target = tenant, .result = res, .details = pd });
	json_decref(pd);
	return ret;
}

static int mail_managers(struct db *db, const struct tenant *t, const struct lockbox_request *r)
{
	char id[24], hours[24], url[CONFIG_STR + 32];
	const struct mail_var req_vars[] = {
		MAIL_TEXT("operator", r->operator), MAIL_TEXT("tenant_name", t->name), MAIL_TEXT("access_id", id),
		MAIL_TEXT("case_ref", r->case_ref), MAIL_TEXT("reason", r->reason), MAIL_TEXT("scope", r->scope),
		MAIL_TEXT("hours", hours), MAIL_TEXT("url", url), MAIL_TIME("lapses_at", r->lapses_us),
	};
	const struct mail_var em_vars[] = {
		MAIL_TEXT("operator", r->operator), MAIL_TEXT("tenant_name", t->name), MAIL_TEXT("access_id", id),
		MAIL_TEXT("case_ref", r->case_ref), MAIL_TEXT("reason", r->reason), MAIL_TEXT("scope", r->scope),
		MAIL_TEXT("hours", hours), MAIL_TEXT("url", url), MAIL_TIME("ends_at", r->ends_us),
	};
	const struct mail m = r->emergency
		? (struct mail){ .name = "access-emergency", .zone = t->zone, .vars = em_vars, .n_vars = ARRAY_SIZE(em_vars) }
		: (struct mail){ .name = "access-request", .zone = t->zone, .vars = req_vars, .n_vars = ARRAY_SIZE(req_vars) };

	str_printf(id, sizeof(id), "%lld", (long long)r->id);
	str_printf(hours, sizeof(hours), "%lld", (long long)r->hours);
	str_printf(url, sizeof(url), "%s/access", settings.public_url);
	return notify_managers(db, t->id, NULL, &m, NULL);
}

static int mail_lowering(struct db *db, int64_t tenant_id, const char *requested_by, int64_t confirm_by)
{
	char url[CONFIG_STR + 32];
	struct tenant t;
	int r = tenant_get(db, tenant_id, &t);

	if (r < 0)
		return r;
	str_printf(url, sizeof(url), "%s/access", settings.public_url);
	{
		const struct mail_var vars[] = {
			MAIL_TEXT("requested_by", requested_by), MAIL_TEXT("tenant_name", t.name),
			MAIL_TEXT("url", url), MAIL_TIME("confirm_by", confirm_by),
		};
		const struct mail m = { .name = "access-policy-lowering", .zone = t.zone, .vars = vars,
					.n_vars = ARRAY_SIZE(vars) };

		return notify_managers(db, tenant_id, NULL, &m, NULL);
	}
}

/* ---------------------------------------------------------------- requests */

static int access_never(struct db *db, int64_t tenant_id, bool *ret)
{
	struct catalog_effective e;
	int r = tenant_effective(db, tenant_id, &e);

	/* fails closed: a tenant whose services cannot be read is treated as "never" */
	*ret = r < 0 || e.operator_access == CATALOG_ACCESS_NEVER;
	return r == -ENOENT ? 0 : r;
}

int lockbox_request(struct db *db, const struct actor *op, int64_t tenant_id, const char *reason,
		    const char *case_ref, const char *scope, int64_t hours, bool emergency,
		    struct lockbox_request *ret)
{
	struct lockbox_request r = { 0 };
	int64_t now = clock_now_us(), required = 1;
	struct tenant t;
	bool never;
	json_t *details;
	int rc;

	if (!op || op->type != ACTOR_OPERATOR || !reason_valid(reason) || !case_valid(case_ref) ||
	    !lockbox_scope_valid(scope) || hours < 1 || hours > KURA_ACCESS_HOURS_MAX)
		return -EINVAL;
	rc = tenant_get(db, tenant_id, &t);
	if (rc < 0)
		return rc;
	r.tenant_id = tenant_id;
	str_copy(r.operator, sizeof(r.operator), op->name);
	str_copy(r.reason, sizeof(r.reason), reason);
	str_copy(r.case_ref, sizeof(r.case_ref), case_ref);
	str_copy(r.scope, sizeof(r.scope), scope);
	r.hours = hours;
	r.emergency = emergency;
	rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_lock_tenant(db, 0);   /* the provider's chain first, then the tenant's (db.h) */
	if (rc == 0)
		rc = db_lock_tenant(db, tenant_id);
	if (rc == 0)
		rc = access_never(db, tenant_id, &never);
	if (rc == 0 && never) {
		/* C7: IAAS staff have no access at all; the attempt itself is evidence */
		details = request_details(&r);
		json_object_set_new(details, "refused", json_string("the service catalog says operator access: never"));
		rc = record(db, op, tenant_id, emergency ? "access.emergency" : "access.request", &r, AUDIT_DENIED,
			    details);
		json_decref(details);
		if (rc == 0)
			rc = db_commit(db);
		if (rc < 0) {
			db_rollback(db);
			return rc;
		}
		return -EACCES;
	}
	if (rc == 0 && !emergency) {
		/* each request mails every manager: a bounded number may wait at once */
		struct db_stmt *st = db_query(db, "SELECT count(*) FROM access_requests WHERE tenant_id = $1"
						  " AND state = 'pending' AND lapses_at > $2", "ii", tenant_id, now);

		rc = st ? db_step(st) : -EIO;
		rc = rc == 1 ? (db_int(st, 0) >= KURA_ACCESS_PENDING_MAX ? -EBUSY : 0) : rc < 0 ? rc : -EIO;
		db_done(st);
	}
	/* every request, emergency or not, mails every manager: a bounded number per hour */
	if (rc == 0)
		rc = rate_take(db, tenant_id, RATE_ACCESS_REQUEST, "");
	if (rc == 0)
		rc = lockbox_policy_get(db, tenant_id, &required);
	if (rc == 0) {
		r.approvals_required = required;
		r.created_us = now;
		r.lapses_us = now + settings.lapse_s * 1000000;
		if (emergency) {
			r.granted_us = now;
			r.ends_us = now + hours * 3600 * 1000000;
			r.decided_us = now;
			str_copy(r.decided_by, sizeof(r.decided_by), op->name);
		}
		rc = db_insert(db, &r.id,
			       "INSERT INTO access_requests (tenant_id, operator, reason, case_ref, scope, hours, emergency,"
			       " state, approvals_required, created_at, lapses_at, granted_at, ends_at, decided_at, decided_by)"
			       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
			       "ittttiitiiiIIIt", tenant_id, r.operator, r.reason, r.case_ref, r.scope, hours,
			       (int64_t)emergency, emergency ? "approved" : "pending", required, now, r.lapses_us,
			       r.granted_us, r.ends_us, r.decided_us, emergency ? r.decided_by : NULL);
	}
	if (rc == 0) {
		details = request_details(&r);
		rc = record(db, op, tenant_id, emergency ? "access.emergency" : "access.request", &r, AUDIT_SUCCESS,
			    details);
		json_decref(details);
	}
	if (rc == 0)
		rc = mail_managers(db, &t, &r);
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return lockbox_get(db, tenant_id, r.id, ret);
}

/* Runs fn inside a transaction holding the tenant's lock, on the request as it stands. */
static int decide(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id, const char *what,
		  struct lockbox_request *ret)
{
	struct lockbox_request r;
	int64_t now = clock_now_us();
	const char *action;
	json_t *details;
	int rc, n;

	rc = db_begin(db);
	if (rc < 0)
		return rc;
	rc = db_lock_tenant(db, 0);   /* the provider's chain first, then the tenant's (db.h) */
	if (rc == 0)
		rc = db_lock_tenant(db, tenant_id);
	if (rc == 0)
		rc = lockbox_get(db, tenant_id, id, &r);
	if (rc < 0)
		goto out;
	if (!strcmp(what, "revoke")) {
		if (strcmp(r.state, "pending") && strcmp(r.state, "approved")) {
			rc = -EPERM;
			goto out;
		}
		rc = db_exec(db, "UPDATE access_requests SET state = 'revoked', revoked_at = $3, revoked_by = $4"
				 " WHERE tenant_id = $1 AND id = $2", "iiit", tenant_id, id, now, who->name);
		action = "access.revoke";
	} else if (strcmp(r.state, "pending")) {
		rc = -EPERM;
		goto out;
	} else if (!strcmp(what, "deny")) {
		rc = db_exec(db, "UPDATE access_requests SET state = 'denied', decided_at = $3, decided_by = $4"
				 " WHERE tenant_id = $1 AND id = $2 AND state = 'pending'", "iiit", tenant_id, id, now,
			     who->name);
		action = "access.deny";
	} else {
		struct db_stmt *st;

		if (who->type != ACTOR_ACCOUNT || who->account_id <= 0) {
			rc = -EPERM;
			goto out;
		}
		st = db_query(db, "SELECT 1 FROM access_approvals WHERE tenant_id = $1 AND request_id = $2 AND account_id = $3",
			      "iii", tenant_id, id, who->account_id);
		n = st ? db_step(st) : -EIO;
		db_done(st);
		if (n != 0) {
			rc = n < 0 ? n : -EALREADY;
			goto out;
		}
		rc = db_exec(db, "INSERT INTO access_approvals (request_id, tenant_id, account_id, login, approved_at)"
				 " VALUES ($1, $2, $3, $4, $5)", "iiiti", id, tenant_id, who->account_id, who->name, now);
		/* distinct managers counted by account id (the primary key): the same manager
		 * approving twice never makes two */
		if (rc == 0 && r.approvals + 1 >= r.approvals_required)
			rc = db_exec(db, "UPDATE access_requests SET state = 'approved', granted_at = $3, ends_at = $4,"
					 " decided_at = $3, decided_by = $5 WHERE tenant_id = $1 AND id = $2 AND state = 'pending'",
				     "iiiit", tenant_id, id, now, now + r.hours * 3600 * 1000000, who->name);
		action = "access.approve";
	}
	if (rc == 0) {
		details = request_details(&r);
		rc = record(db, who, tenant_id, action, &r, AUDIT_SUCCESS, details);
		json_decref(details);
	}
out:
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return lockbox_get(db, tenant_id, id, ret);
}

int lockbox_approve(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		    struct lockbox_request *ret)
{
	return decide(db, who, tenant_id, id, "approve", ret);
}

int lockbox_deny(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		 struct lockbox_request *ret)
{
	return decide(db, who, tenant_id, id, "deny", ret);
}

int lockbox_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		   struct lockbox_request *ret)
{
	return decide(db, who, tenant_id, id, "revoke", ret);
}

/* ---------------------------------------------------------------- policy */

int lockbox_policy_get(struct db *db, int64_t tenant_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT approvals_required FROM access_policy WHERE tenant_id = $1", "i",
				      tenant_id);
	int r = st ? db_step(st) : -EIO;

	*ret = r == 1 ? db_int(st, 0) : 1;
	db_done(st);
	return r < 0 ? r : 0;
}

int lockbox_policy_set(struct db *db, const struct actor *who, int64_t tenant_id, int64_t required)
{
	const char *action = "access.policy";
	int64_t now = clock_now_us(), current = 1, req_at = 0;
	char by[96] = "";
	struct db_stmt *st;
	int r, step;

	if (required != 1 && required != 2)
		return -EINVAL;
	r = db_begin(db);
	if (r == 0)
		r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT approvals_required, lower_requested_by, lower_requested_at FROM access_policy"
			  " WHERE tenant_id = $1", "i", tenant_id);
	step = db_step(st);
	if (step == 1) {
		current = db_int(st, 0);
		str_copy(by, sizeof(by), db_text(st, 1) ? db_text(st, 1) : "");
		req_at = db_int(st, 2);
	}
	db_done(st);
	if (step < 0) {
		r = step;
		goto out;
	}
	if (current == 2 && required == 1) {
		/* lowering the two-manager rule takes two managers: the first asks; another
		 * manager, whose account existed before that request and which has not lapsed,
		 * confirms (one manager, or a manager account made for it, cannot do it alone) */
		bool confirms = false;

		if (by[0] && strcmp(by, who->name) && now - req_at <= settings.lapse_s * 1000000) {
			st = db_query(db, "SELECT 1 FROM accounts WHERE tenant_id = $1 AND login = $2 AND role = 'manager'"
					  " AND created_us < $3", "iti", tenant_id, who->name, req_at);
			confirms = db_step(st) == 1;
			db_done(st);
		}
		if (!confirms) {
			r = db_exec(db, "UPDATE access_policy SET lower_requested_by = $2, lower_requested_at = $3"
					" WHERE tenant_id = $1", "iti", tenant_id, who->name, now);
			action = "access.policy-lower-requested";
			/* every active manager hears of it, in the request's transaction: the
			 * second manager who could confirm, and the others who could object; once
			 * per request (the same manager asking again within the lapse renews it) */
			if (r == 0 && !(by[0] && !strcmp(by, who->name) && now - req_at <= settings.lapse_s * 1000000))
				r = mail_lowering(db, tenant_id, who->name, now + settings.lapse_s * 1000000);
			if (r == 0)
				r = -EINPROGRESS;
		}
	}
	if (r == 0)
		r = db_exec(db, "INSERT INTO access_policy (tenant_id, approvals_required, updated_at) VALUES ($1, $2, $3)"
				" ON CONFLICT (tenant_id) DO UPDATE SET approvals_required = excluded.approvals_required,"
				" updated_at = excluded.updated_at, lower_requested_by = NULL, lower_requested_at = NULL",
			    "iii", tenant_id, required, now);
	if (r == 0 || r == -EINPROGRESS) {
		json_t *d = json_pack("{s:I, s:I}", "approvals_required", (json_int_t)required, "was", (json_int_t)current);
		int a = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
					     .category = AUDIT_ADMINISTRATION, .action = action,
					     .target = "access-policy", .result = AUDIT_SUCCESS, .details = d });

		json_decref(d);
		if (a < 0)
			r = a;
	}
	if (r == 0 || r == -EINPROGRESS) {
		int c = db_commit(db);

		if (c < 0)
			db_rollback(db);   /* a failed commit may leave the transaction open */
		return c < 0 ? c : r;
	}
out:
	if (db_in_transaction(db))
		db_rollback(db);
	return r;
}

/* ---------------------------------------------------------------- the gate */

int lockbox_check(struct db *db, const struct actor *op, int64_t tenant_id, const char *scope,
		  struct lockbox_request *ret, char *why, size_t why_size)
{
	struct lockbox_request r;
	struct db_stmt *st;
	bool never, other_scope = false;
	char last[16] = "";
	int s;

	str_copy(why, why_size, "no grant");
	if (!op || op->type != ACTOR_OPERATOR || !lockbox_scope_valid(scope))
		return -EINVAL;
	s = access_never(db, tenant_id, &never);
	if (s < 0)
		return s;
	if (never) {
		str_copy(why, why_size, "never");
		return -EACCES;
	}
	st = db_query(db, "SELECT " REQUEST_COLUMNS " FROM access_requests WHERE tenant_id = $1 AND operator = $2"
			  " ORDER BY id DESC", "it", tenant_id, op->name);
	if (!st)
		return -EIO;
	while ((s = db_step(st)) == 1) {
		read_request(st, &r);
		if (strcmp(r.scope, scope)) {
			other_scope |= r.active;
			continue;
		}
		if (!last[0])
			str_copy(last, sizeof(last), r.state);   /* the newest of this scope says why */
		if (!r.active)
			continue;
		db_done(st);
		*ret = r;
		return 0;
	}
	db_done(st);
	if (s < 0)
		return s;
	if (other_scope && (!last[0] || strcmp(last, "pending")))
		str_copy(why, why_size, "scope");
	else if (last[0])
		str_copy(why, why_size, last);
	return -ENOENT;
}

int lockbox_record_read(struct db *db, const struct actor *op, const struct lockbox_request *g,
			const char *action, const char *target, json_t *details)
{
	json_t *d = details ? json_deep_copy(details) : json_object();
	char grant[48];
	int r;

	if (!d)
		return -ENOMEM;
	str_printf(grant, sizeof(grant), "access-request:%lld", (long long)g->id);
	json_object_set_new(d, "grant_id", json_integer(g->id));
	json_object_set_new(d, "case", json_string(g->case_ref));
	json_object_set_new(d, "scope", json_string(g->scope));
	json_object_set_new(d, "path", json_string(target));
	/* The grant is checked again under the tenant's lock, in the transaction of the record:
	 * a grant revoked or expired since support_gate() read it refuses the read (-EACCES),
	 * and nothing leaves kura (C7: no read without an active, in-scope grant). Target is
	 * the grant, so the request's detail lists what was read under it; the path or file
	 * read is in details. */
	r = db_begin(db);
	if (r == 0)
		r = db_lock_tenant(db, 0);   /* the provider's chain first, then the tenant's (db.h) */
	if (r == 0)
		r = db_lock_tenant(db, g->tenant_id);
	if (r == 0) {
		struct lockbox_request now;
		char why[32];

		r = lockbox_check(db, op, g->tenant_id, g->scope, &now, why, sizeof(why));
		if (r == -ENOENT || (r == 0 && now.id != g->id))
			r = -EACCES;
	}
	if (r == 0)
		r = audit_record(db, &(struct audit_event){ .tenant_id = g->tenant_id, .actor = op,
					 .category = AUDIT_OPERATOR, .action = action, .target = grant,
					 .result = AUDIT_SUCCESS, .details = d });
	if (r == 0) {
		/* and in the provider's own chain, the operators' work log (F5): which tenant,
		 * which grant, what; it outlives the tenant's erasure */
		char tenant[32];
		json_t *pd = json_pack("{s:I, s:I, s:s, s:s}", "tenant_id", (json_int_t)g->tenant_id, "grant_id",
				       (json_int_t)g->id, "case", g->case_ref, "path", target ? target : "");

		str_printf(tenant, sizeof(tenant), "tenant-id:%lld", (long long)g->tenant_id);
		r = pd ? audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = op,
					      .category = AUDIT_OPERATOR, .action = action, .target = tenant,
					      .result = AUDIT_SUCCESS, .details = pd })
		       : -ENOMEM;
		json_decref(pd);
	}
	if (r == 0)
		r = db_commit(db);
	else if (db_in_transaction(db))
		db_rollback(db);
	json_decref(d);
	return r;
}
