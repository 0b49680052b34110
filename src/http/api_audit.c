/*
 * Audit endpoints (F4, F6, F9, G3; docs/api.md, docs/audit.md):
 *   GET /api/v1/audit              the tenant's events, filtered, paged by seq (managers)
 *   GET /api/v1/audit/export       the same, streamed as verifiable JSONL or as CSV
 *   GET /api/v1/audit/public-key   the deployment's verification key (public)
 *   GET /api/v1/me/logins          the caller's own sign-in history (any role)
 *
 * SECURITY: the tenant is always the session's tenant, never a parameter; the permission is
 * checked by dispatch() through authz_allowed(). Every query parameter is bounded
 * (KURA_AUDIT_FILTER_MAX, KURA_PAGE_MAX), checked as clean UTF-8 and refused with
 * problem+json when malformed. Exports are streamed in bounded batches
 * (MHD_create_response_from_callback) and are themselves recorded (audit.export).
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/limits.h"
#include "http/http_int.h"
#include "store/db.h"

/* Reads the filter parameters; on a bad one, sends the problem and returns false. */
static bool take_filter(struct request *req, struct audit_filter *f, bool paging, enum MHD_Result *ret)
{
	static const char *const text_params[] = { "actor", "action", "target" };
	const char **text_dst[] = { &f->actor, &f->action, &f->target };
	const char *v;
	int64_t n;

	memset(f, 0, sizeof(*f));
	f->limit = KURA_PAGE_DEFAULT;
	if ((v = http_query(req, "from")) && (clock_parse_rfc3339(v, &f->from_us) < 0 || f->from_us <= 0)) {
		*ret = http_problem(req, 400, "invalid-parameter", "from must be an RFC 3339 time", "from");
		return false;
	}
	if ((v = http_query(req, "to")) && (clock_parse_rfc3339(v, &f->to_us) < 0 || f->to_us <= 0)) {
		*ret = http_problem(req, 400, "invalid-parameter", "to must be an RFC 3339 time", "to");
		return false;
	}
	if (f->from_us && f->to_us && f->to_us < f->from_us) {
		*ret = http_problem(req, 400, "invalid-parameter", "to is before from", "to");
		return false;
	}
	if ((v = http_query(req, "category"))) {
		int c = audit_category_parse(v);

		if (c < 0) {
			*ret = http_problem(req, 400, "invalid-parameter",
					    "category is one of authentication, operation, access, delivery,"
					    " administration, operator", "category");
			return false;
		}
		f->category = audit_category_name((enum audit_category)c);
	}
	if ((v = http_query(req, "result"))) {
		if (strcmp(v, "success") && strcmp(v, "failure") && strcmp(v, "denied")) {
			*ret = http_problem(req, 400, "invalid-parameter", "result is success, failure or denied",
					    "result");
			return false;
		}
		f->result = v;
	}
	for (size_t i = 0; i < ARRAY_SIZE(text_params); i++) {
		v = http_query(req, text_params[i]);
		if (!v)
			continue;
		if (!*v || strlen(v) > KURA_AUDIT_FILTER_MAX || !utf8_is_clean_text(v, strlen(v))) {
			*ret = http_problem(req, 400, "invalid-parameter", "1-512 bytes of text", text_params[i]);
			return false;
		}
		*text_dst[i] = v;
	}
	if (!paging)
		return true;
	if ((v = http_query(req, "limit"))) {
		if (safe_atoi64(v, &n) < 0 || n < 1 || n > KURA_PAGE_MAX) {
			*ret = http_problem(req, 400, "invalid-parameter", "limit is 1 to 1000", "limit");
			return false;
		}
		f->limit = n;
	}
	if ((v = http_query(req, "after"))) {
		if (safe_atoi64(v, &n) < 0 || n < 0) {
			*ret = http_problem(req, 400, "invalid-parameter", "after is a sequence number", "after");
			return false;
		}
		f->after_seq = n;
	}
	if ((v = http_query(req, "order"))) {
		if (strcmp(v, "oldest") && strcmp(v, "newest")) {
			*ret = http_problem(req, 400, "invalid-parameter", "order is oldest or newest", "order");
			return false;
		}
		f->newest_first = !strcmp(v, "newest");
	}
	if ((v = http_query(req, "before"))) {
		if (!f->newest_first || f->after_seq || safe_atoi64(v, &n) < 0 || n < 1) {
			*ret = http_problem(req, 400, "invalid-parameter",
					    "before is a sequence number, with order=newest (and without after)",
					    "before");
			return false;
		}
		f->before_seq = n;
	}
	if (f->newest_first && f->after_seq) {
		*ret = http_problem(req, 400, "invalid-parameter", "after pages order=oldest; use before", "after");
		return false;
	}
	return true;
}

static enum MHD_Result api_audit_list(struct request *req)
{
	struct audit_filter f;
	enum MHD_Result res;
	json_t *out;

	if (!take_filter(req, &f, true, &res))
		return res;
	out = audit_query(req->db, req->session.account.tenant_id, &f);
	if (!out)
		return http_internal_error(req, -EIO);
	return http_json(req, 200, out);
}

struct stream {
	struct audit_export *x;
};

static ssize_t export_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct db *db = db_thread();
	ssize_t n;

	(void)pos;
	if (!db)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = audit_export_read(s->x, db, buf, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void export_free(void *cls)
{
	struct stream *s = cls;

	if (s) {
		audit_export_free(s->x);
		free(s);
	}
}

static enum MHD_Result api_audit_export(struct request *req)
{
	const char *format = http_query(req, "format");
	enum audit_format fmt;
	struct audit_filter f;
	struct tenant t;
	struct stream *s;
	enum MHD_Result res;
	char disp[160], date[CLOCK_RFC3339_LEN];
	json_t *d;
	int r, err = 0;

	if (!format || !strcmp(format, "jsonl"))
		fmt = AUDIT_FORMAT_JSONL;
	else if (!strcmp(format, "csv"))
		fmt = AUDIT_FORMAT_CSV;
	else
		return http_problem(req, 400, "invalid-parameter", "format is jsonl or csv", "format");
	if (!take_filter(req, &f, false, &res))
		return res;
	r = tenant_get(req->db, req->session.account.tenant_id, &t);
	if (r < 0)
		return http_internal_error(req, r);
	/* the export is an access to the log: recorded first, so the export itself covers it */
	d = json_pack("{s:s}", "format", fmt == AUDIT_FORMAT_CSV ? "csv" : "jsonl");
	r = http_audit(req, 0, AUDIT_ACCESS, "audit.export", "audit", AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0)
		return http_internal_error(req, r);
	s = calloc(1, sizeof(*s));
	if (!s)
		return http_internal_error(req, -ENOMEM);
	s->x = audit_export_open(req->db, t.id, &f, fmt, t.zone, &err);
	if (!s->x) {
		free(s);
		return http_internal_error(req, err ? err : -EIO);
	}
	clock_format_utc(clock_now_us(), date, sizeof(date));
	date[10] = '\0';
	str_printf(disp, sizeof(disp), "attachment; filename=\"kura-audit-%s-%s.%s\"", t.code, date,
		   fmt == AUDIT_FORMAT_CSV ? "csv" : "jsonl");
	http_add_header(req, "Content-Disposition", disp);
	return http_respond_stream(req, 200,
				   fmt == AUDIT_FORMAT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson",
				   export_reader, s, export_free);
}

static enum MHD_Result api_audit_public_key(struct request *req)
{
	char pk[AUDIT_PUBLIC_KEY_HEX];

	json_t *keys;

	if (audit_public_key_hex(pk) < 0)
		return http_problem(req, 503, "unavailable", "the signing key is not loaded", NULL);
	/* every key that signed this deployment's checkpoints: an export spanning a rotation
	 * verifies with all of them (docs/audit.md "Signing keys") */
	keys = audit_keys_json(req->db);
	if (!keys)
		return http_internal_error(req, -EIO);
	return http_json(req, 200, json_pack("{s:s, s:s, s:o}", "algorithm", "ed25519", "public_key", pk, "keys", keys));
}

static enum MHD_Result api_me_logins(struct request *req)
{
	struct audit_filter f;
	enum MHD_Result res;
	char target[KURA_LOGIN_MAX + 16];
	json_t *out, *logins, *ev;
	size_t i;

	if (!take_filter(req, &f, true, &res))
		return res;
	/* only the caller's own sign-ins, whatever else was asked */
	str_printf(target, sizeof(target), "account:%s", req->session.account.login);
	f.category = "authentication";
	f.action = "session.create";
	f.target = target;
	f.actor = NULL;
	/* a login name can be reused after an account is deleted: never show this account the
	 * sign-ins of an earlier holder of its name */
	if (f.from_us < req->session.account.created_us)
		f.from_us = req->session.account.created_us;
	out = audit_query(req->db, req->session.account.tenant_id, &f);
	if (!out)
		return http_internal_error(req, -EIO);
	logins = json_array();
	json_array_foreach(json_object_get(out, "events"), i, ev) {
		json_t *reason = json_object_get(json_object_get(ev, "details"), "reason");

		json_array_append_new(logins, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "seq",
							json_object_get(ev, "seq"), "time", json_object_get(ev, "time"),
							"result", json_object_get(ev, "result"), "source_ip",
							json_object_get(ev, "source_ip"), "user_agent",
							json_object_get(ev, "user_agent"), "reason",
							reason ? reason : json_null()));
	}
	res = http_json(req, 200, json_pack("{s:o, s:O}", "logins", logins, "next_after",
					    json_object_get(out, "next_after")));
	json_decref(out);
	return res;
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: the audit log (docs/audit.md) and the caller's sign-ins. server.c
 * composes every file's slice into the route table (docs/HACKING.md "How to add an
 * endpoint"). */
const struct route api_audit_routes[] = {
	{ "GET", "/api/v1/me/logins", api_me_logins, 0, PERM_SELF },
	{ "GET", "/api/v1/audit", api_audit_list, 0, PERM_AUDIT_READ },
	{ "GET", "/api/v1/audit/export", api_audit_export, 0, PERM_AUDIT_READ },
	{ "GET", "/api/v1/audit/public-key", api_audit_public_key, R_PUBLIC, PERM_SELF },
};
const size_t api_audit_n_routes = ARRAY_SIZE(api_audit_routes);
