/*
 * Event reports and notices (issue 9; G2, G3, W4; docs/reports.md, docs/api.md):
 *   POST /api/v1/reports                       file a report or a records request (managers)
 *   GET  /api/v1/reports                       the tenant's reports
 *   GET  /api/v1/reports/{id}                  one report with its thread
 *   POST /api/v1/reports/{id}/messages         a message in the thread
 *   POST /api/v1/reports/{id}/close            the tenant closes its report
 *   POST /api/v1/reports/{id}/attachments?name=N   raw body: an attachment, sealed at rest
 *   GET  /api/v1/reports/{id}/attachments/{aid}    its download
 *   GET  /api/v1/reports/{id}/exports/{eid}    the signed records export (JSONL)
 *   POST /api/v1/notices                       post a notice (managers)
 *   GET  /api/v1/notices                       the caller's notices, with unread (everyone)
 *   GET  /api/v1/notices/posted                every notice with its reader count (managers)
 *   POST /api/v1/notices/{id}/read             the caller's first reading
 *   GET  /api/v1/notices/{id}/reads[?format=csv]   who read it and when (managers)
 *
 * SECURITY: the tenant is the session's; ids are looked up by (tenant, id), so another
 * tenant's ids are 404. Reports are the managers' (PERM_TENANT_READ: the contract's side of
 * the relationship with the provider); users read and acknowledge notices addressed to
 * them only. Attachments arrive as a bounded stream (KURA_REPORT_ATTACHMENT_MAX) into a
 * secret buffer and are sealed before they touch the disk.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/dbuf.h"
#include "core/limits.h"
#include "files/files.h"
#include "http/http_int.h"
#include "core/clock.h"
#include "notify/notify.h"
#include "reports/reports.h"
#include "store/db.h"
#include "tenant/rate.h"

#define TENANT(req) ((req)->session.account.tenant_id)

static int id_param(struct request *req, size_t i, int64_t *ret)
{
	const char *s = i < req->n_params ? req->params[i] : NULL;

	if (!s || s[0] < '1' || s[0] > '9' || safe_atoi64(s, ret) < 0 || *ret <= 0)
		return -ENOENT;
	return 0;
}

static const char *provider_to(struct request *req)
{
	return req->srv->cfg ? req->srv->cfg->provider_reports_mail : "";
}

static const char *public_url(struct request *req)
{
	return req->srv->cfg ? req->srv->cfg->public_url : "";
}

static enum MHD_Result rate_limited(struct request *req, enum rate_kind kind, int64_t limit, int64_t window_s)
{
	char subject[RATE_SUBJECT_MAX];
	int64_t retry = 0;
	int r;

	rate_subject_account(subject, req->session.account.id);
	r = rate_retry_after(req->db, TENANT(req), kind, subject, &retry);
	if (r < 0)
		return http_internal_error(req, r);
	return http_rate_limited(req, retry, limit, window_s,
				 kind == RATE_REPORT ? "you opened as many reports as you may for now; retry later"
						     : "you wrote as many report messages as you may for now; retry later");
}

static enum MHD_Result report_error(struct request *req, int r, const char *field)
{
	switch (r) {
	case -ENOENT:
		return http_problem(req, 404, "not-found", "no such report", NULL);
	case -EINVAL:
		return http_problem(req, 400, "invalid-field",
				    "text is clean UTF-8 (LF for new lines, no other control characters) within its bound",
				    field);
	case -EPERM:
		return http_problem(req, 409, "conflict", "the report is closed, or not a records request", NULL);
	case -E2BIG:
		return http_problem(req, 409, "limit-reached", "the report has as many messages or attachments as it may",
				    NULL);
	case -EDQUOT:
		return field && !strcmp(field, "name")
			       ? http_files_error(req, r, NULL)   /* an attachment over the storage quota: 507 */
			       : http_problem(req, 409, "limit-reached", "the tenant has as many open reports as it may", NULL);
	case -EFBIG:
		return http_problem(req, 413, "file-too-large", "attachments are at most 4 MiB", NULL);
	default:
		return http_files_error(req, r, field);
	}
}

static bool get_tenant(struct request *req, struct tenant *t, enum MHD_Result *ret)
{
	int r = tenant_get(req->db, TENANT(req), t);

	if (r < 0)
		*ret = http_internal_error(req, r);
	return r == 0;
}

static enum MHD_Result api_report_create(struct request *req)
{
	static const char *const kinds[] = { "report", "records-request", NULL };
	const char *kind = NULL, *category = NULL, *title = NULL, *desc = NULL, *from = NULL, *to = NULL;
	const struct field spec[] = {
		{ .name = "kind", .kind = FIELD_ENUM, .values = kinds, .ret_str = &kind },
		{ .name = "category", .kind = FIELD_ENUM, .values = report_categories, .ret_str = &category },
		{ .name = "title", .kind = FIELD_STRING, .required = true, .max_chars = KURA_REPORT_TITLE_MAX,
		  .ret_str = &title },
		{ .name = "description", .kind = FIELD_STRING, .required = true, .max_chars = KURA_REPORT_BODY_MAX,
		  .ret_str = &desc },
		{ .name = "from", .kind = FIELD_STRING, .max_chars = 40, .ret_str = &from },
		{ .name = "to", .kind = FIELD_STRING, .max_chars = 40, .ret_str = &to },
	};
	struct report_new n = { 0 };
	struct tenant t;
	enum MHD_Result res = MHD_NO;
	int64_t id = 0;
	json_t *out;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	n.kind = kind ? kind : "report";
	n.category = category ? category : !strcmp(n.kind, "records-request") ? "other" : NULL;
	if (!n.category)
		return http_problem(req, 400, "invalid-field", "category is required", "category");
	n.title = title;
	n.description = desc;
	if (!strcmp(n.kind, "records-request")) {
		if (!from || clock_parse_rfc3339(from, &n.from_us) < 0 || n.from_us <= 0)
			return http_problem(req, 400, "invalid-field", "from is an RFC 3339 time", "from");
		if (!to || clock_parse_rfc3339(to, &n.to_us) < 0 || n.to_us < n.from_us)
			return http_problem(req, 400, "invalid-field", "to is an RFC 3339 time, not before from", "to");
	} else if (from || to) {
		return http_problem(req, 400, "invalid-field", "from and to belong to a records request",
				    from ? "from" : "to");
	}
	if (!report_text_valid(title, KURA_REPORT_TITLE_MAX, true))
		return report_error(req, -EINVAL, "title");
	if (!report_text_valid(desc, KURA_REPORT_BODY_MAX, false))
		return report_error(req, -EINVAL, "description");
	if (!get_tenant(req, &t, &res))
		return res;
	r = reports_create(req->db, &req->actor, &t, &n, provider_to(req), &id);
	if (r == -EAGAIN)
		return rate_limited(req, RATE_REPORT, KURA_RATE_REPORTS, KURA_RATE_REPORTS_S);
	if (r < 0)
		return report_error(req, r, NULL);
	mailer_wake(req->srv->mailer);
	r = reports_get(req->db, t.id, id, &out);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 201, out);
}

static enum MHD_Result api_report_list(struct request *req)
{
	const char *st = http_query(req, "status");
	json_t *arr;
	int r;

	if (st && strcmp(st, "open") && strcmp(st, "all"))
		return http_problem(req, 400, "invalid-parameter", "status is open or all", "status");
	r = reports_list(req->db, TENANT(req), st && !strcmp(st, "open"), &arr);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "reports", arr));
}

static enum MHD_Result api_report_get(struct request *req)
{
	int64_t id;
	json_t *out;
	int r = id_param(req, 0, &id);

	if (r == 0)
		r = reports_get(req->db, TENANT(req), id, &out);
	if (r < 0)
		return report_error(req, r, NULL);
	return http_json(req, 200, out);
}

static enum MHD_Result api_report_message(struct request *req)
{
	const char *body = NULL;
	const struct field spec[] = {
		{ .name = "body", .kind = FIELD_STRING, .required = true, .max_chars = KURA_REPORT_BODY_MAX,
		  .ret_str = &body },
	};
	struct tenant t;
	enum MHD_Result res = MHD_NO;
	int64_t id;
	json_t *out;
	int r;

	if (id_param(req, 0, &id) < 0)
		return report_error(req, -ENOENT, NULL);
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!report_text_valid(body, KURA_REPORT_BODY_MAX, false))
		return report_error(req, -EINVAL, "body");
	if (!get_tenant(req, &t, &res))
		return res;
	r = reports_message(req->db, &req->actor, &t, id, REPORT_SIDE_TENANT, body, provider_to(req), public_url(req));
	if (r == -EAGAIN)
		return rate_limited(req, RATE_REPORT_MESSAGE, KURA_RATE_REPORT_MESSAGES, KURA_RATE_REPORT_MESSAGES_S);
	if (r < 0)
		return report_error(req, r, "body");
	mailer_wake(req->srv->mailer);
	r = reports_get(req->db, t.id, id, &out);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 201, out);
}

static enum MHD_Result api_report_close(struct request *req)
{
	struct tenant t;
	enum MHD_Result res = MHD_NO;
	int64_t id;
	json_t *out;
	int r;

	if (id_param(req, 0, &id) < 0)
		return report_error(req, -ENOENT, NULL);
	if (!get_tenant(req, &t, &res))
		return res;
	r = reports_close(req->db, &req->actor, &t, id, REPORT_SIDE_TENANT, public_url(req));
	if (r < 0)
		return report_error(req, r, NULL);
	r = reports_get(req->db, t.id, id, &out);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, out);
}

/* ---- attachments: a bounded raw body, sealed at the end ---- */

struct attach_ctx {
	struct dbuf buf;            /* the plaintext, a secret buffer */
	int64_t expected, report_id;
	const char *name, *content_type;
	int err;
};

static const char *header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, name);
}

static const struct stream_ops attach_ops;

static enum MHD_Result api_report_attach(struct request *req)
{
	const char *cl = header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *ct = header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *name = http_query(req, "name");
	struct attach_ctx *c;
	json_t *probe;
	int64_t id;
	int r;

	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	if (id_param(req, 0, &id) < 0)
		return report_error(req, -ENOENT, NULL);
	/* the report first: another tenant's id is 404 before any byte is taken */
	r = reports_get(req->db, TENANT(req), id, &probe);
	if (r < 0)
		return report_error(req, r, NULL);
	r = strcmp(json_string_value(json_object_get(probe, "status")), "open") ? -EPERM : 0;
	json_decref(probe);
	if (r < 0)
		return report_error(req, r, NULL);
	if (!name || !files_name_valid(name) || strlen(name) > 255)
		return http_problem(req, 400, "invalid-parameter", "name is a file name (1-255 bytes)", "name");
	if (!ct || !*ct)
		ct = "application/octet-stream";
	if (!files_content_type_valid(ct))
		return http_problem(req, 400, "invalid-field",
				    "Content-Type must be type/subtype in printable ASCII, at most 127 bytes",
				    "Content-Type");
	c = arena_alloc(req->arena, sizeof(*c));
	if (!c)
		return http_internal_error(req, -ENOMEM);
	memset(c, 0, sizeof(*c));
	c->expected = -1;
	if (cl && (safe_atoi64(cl, &c->expected) < 0 || c->expected < 0))
		return http_problem(req, 400, "invalid-field", "bad Content-Length", "Content-Length");
	if (c->expected > KURA_REPORT_ATTACHMENT_MAX)
		return report_error(req, -EFBIG, NULL);
	dbuf_init_secret(&c->buf, KURA_REPORT_ATTACHMENT_MAX);
	c->report_id = id;
	c->name = arena_strdup(req->arena, name);
	c->content_type = arena_strdup(req->arena, ct);
	if (!c->name || !c->content_type)
		return http_internal_error(req, -ENOMEM);
	req->stream_ctx = c;
	req->stream = &attach_ops;
	return MHD_YES;
}

static int attach_data(struct request *req, const char *data, size_t n)
{
	struct attach_ctx *c = req->stream_ctx;
	int r;

	if (!c)
		return -EINVAL;
	r = dbuf_add(&c->buf, data, n);
	if (r < 0) {
		c->err = r == -E2BIG ? -EFBIG : r;
		dbuf_free(&c->buf);
	}
	return r;
}

static enum MHD_Result attach_end(struct request *req)
{
	struct attach_ctx *c = req->stream_ctx;
	int64_t aid = 0;
	json_t *out;
	int r;

	if (!c)
		return http_internal_error(req, -EINVAL);
	if (c->err)
		return report_error(req, c->err, NULL);
	if (c->expected >= 0 && dbuf_len(&c->buf) != (size_t)c->expected) {
		dbuf_free(&c->buf);
		return http_problem(req, 400, "upload-incomplete", NULL, NULL);
	}
	r = reports_attach(req->db, req->srv->files, &req->actor, TENANT(req), c->report_id, REPORT_SIDE_TENANT,
			   c->name, c->content_type, dbuf_str(&c->buf), dbuf_len(&c->buf), &aid);
	dbuf_free(&c->buf);
	if (r < 0)
		return report_error(req, r, "name");
	r = reports_get(req->db, TENANT(req), c->report_id, &out);
	if (r < 0)
		return http_internal_error(req, r);
	json_object_set_new(out, "attachment_id", json_integer(aid));
	return http_json(req, 201, out);
}

static void attach_abort(struct request *req, bool client_gone)
{
	struct attach_ctx *c = req->stream_ctx;

	(void)client_gone;
	if (c)
		dbuf_free(&c->buf);
}

static const struct stream_ops attach_ops = { attach_data, attach_end, attach_abort };

static enum MHD_Result api_report_attachment_get(struct request *req)
{
	struct report_attachment meta;
	struct files_reader *rd = NULL;
	int64_t id, aid;
	char target[48];
	size_t got = 0;
	void *buf;
	int r = id_param(req, 0, &id);

	if (r == 0)
		r = id_param(req, 1, &aid);
	if (r == 0)
		r = reports_attachment_open(req->db, req->srv->files, TENANT(req), id, aid, &meta, &rd);
	if (r == -EINVAL)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	if (r < 0)
		return report_error(req, r, NULL);
	buf = malloc(meta.size ? (size_t)meta.size : 1);
	r = buf ? files_read(rd, 0, buf, (size_t)meta.size, &got) : -ENOMEM;
	files_reader_close(rd);
	if (r == 0 && got != (size_t)meta.size)
		r = -EBADMSG;
	str_printf(target, sizeof(target), "report:%lld", (long long)id);
	if (r == 0) {
		json_t *d = json_pack("{s:I, s:s}", "attachment", (json_int_t)aid, "name", meta.name);

		r = http_audit(req, 0, AUDIT_ACCESS, "report.attachment.download", target, AUDIT_SUCCESS, d);
		json_decref(d);
	}
	if (r < 0) {
		free(buf);
		return report_error(req, r, NULL);
	}
	http_add_header(req, "Content-Disposition", http_content_disposition(req->arena, meta.name));
	{
		enum MHD_Result res = http_respond(req, 200, meta.content_type, buf, got);

		free(buf);
		return res;
	}
}

static enum MHD_Result api_report_export_get(struct request *req)
{
	int64_t id, eid;
	char target[48], disp[96];
	void *buf = NULL;
	size_t n = 0;
	enum MHD_Result res = MHD_NO;
	int r = id_param(req, 0, &id);

	if (r == 0)
		r = id_param(req, 1, &eid);
	if (r == 0)
		r = reports_export_get(req->db, TENANT(req), id, eid, &buf, &n);
	if (r < 0)
		return report_error(req, r, NULL);
	str_printf(target, sizeof(target), "report:%lld", (long long)id);
	{
		json_t *d = json_pack("{s:I}", "export", (json_int_t)eid);

		r = http_audit(req, 0, AUDIT_ACCESS, "report.export.download", target, AUDIT_SUCCESS, d);
		json_decref(d);
	}
	if (r < 0) {
		free(buf);
		return http_internal_error(req, r);
	}
	str_printf(disp, sizeof(disp), "attachment; filename=\"kura-records-report-%lld-%lld.jsonl\"", (long long)id,
		   (long long)eid);
	http_add_header(req, "Content-Disposition", disp);
	res = http_respond(req, 200, "application/x-ndjson", buf, n);
	free(buf);
	return res;
}

/* ---------------------------------------------------------------- notices */

static enum MHD_Result notice_error(struct request *req, int r, const char *field)
{
	switch (r) {
	case -ENOENT:
		return http_problem(req, 404, "not-found", "no such notice", field);
	case -EINVAL:
		return http_problem(req, 400, "invalid-field",
				    "text is clean UTF-8 (LF for new lines, no other control characters) within its bound",
				    field);
	case -E2BIG:
		return http_problem(req, 400, "invalid-field", "too many accounts", field);
	default:
		return http_internal_error(req, r);
	}
}

static enum MHD_Result api_notice_create(struct request *req)
{
	const char *title = NULL, *body = NULL, *unknown = NULL;
	const char *logins[KURA_NOTICE_TARGETS_MAX];
	json_t *to = NULL, *v;
	const struct field spec[] = {
		{ .name = "title", .kind = FIELD_STRING, .required = true, .max_chars = KURA_REPORT_TITLE_MAX,
		  .ret_str = &title },
		{ .name = "body", .kind = FIELD_STRING, .required = true, .max_chars = KURA_REPORT_BODY_MAX,
		  .ret_str = &body },
		{ .name = "to", .kind = FIELD_ARRAY, .item = FIELD_STRING, .max_chars = KURA_LOGIN_MAX,
		  .max_items = KURA_NOTICE_TARGETS_MAX, .item_index = true, .ret_array = &to },
	};
	enum MHD_Result res = MHD_NO;
	int64_t id = 0;
	size_t n = 0, i;
	json_t *out;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!report_text_valid(title, KURA_REPORT_TITLE_MAX, true))
		return notice_error(req, -EINVAL, "title");
	if (!report_text_valid(body, KURA_REPORT_BODY_MAX, false))
		return notice_error(req, -EINVAL, "body");
	json_array_foreach(to, i, v) {
		logins[n++] = json_string_value(v);
	}
	r = notices_create(req->db, &req->actor, TENANT(req), title, body, logins, n, &id, &unknown);
	if (r == -ENOENT)
		return http_problem(req, 400, "invalid-field", "no such account in this tenant", "to");
	if (r < 0)
		return notice_error(req, r, NULL);
	r = notices_posted(req->db, TENANT(req), &out);
	if (r < 0)
		return http_internal_error(req, r);
	{
		json_t *arr = json_object_get(out, "notices"), *it, *one = NULL;

		json_array_foreach(arr, i, it)
			if (json_integer_value(json_object_get(it, "id")) == id)
				one = json_incref(it);
		json_decref(out);
		return one ? http_json(req, 201, one) : http_internal_error(req, -EIO);
	}
}

static enum MHD_Result api_notice_mine(struct request *req)
{
	json_t *out;
	int r = notices_for_account(req->db, TENANT(req), req->session.account.id, &out);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, out);
}

static enum MHD_Result api_notice_posted(struct request *req)
{
	json_t *out;
	int r = notices_posted(req->db, TENANT(req), &out);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, out);
}

static enum MHD_Result api_notice_read(struct request *req)
{
	bool first = false;
	int64_t id;
	int r = id_param(req, 0, &id);

	if (r == 0)
		r = notices_read(req->db, &req->actor, TENANT(req), req->session.account.id, req->session.account.login,
				 id, &first);
	if (r < 0)
		return notice_error(req, r, NULL);
	return http_json(req, 200, json_pack("{s:I, s:b, s:b}", "id", (json_int_t)id, "read", 1, "first", first));
}

/* One CSV cell, quoted (RFC 4180), with a leading apostrophe before what a spreadsheet
 * would run as a formula. */
static int csv_cell(struct dbuf *b, const char *s, bool last)
{
	int r = dbuf_puts(b, "\"");

	if (r == 0 && s && strchr("=+-@\t\r", s[0]) && s[0])
		r = dbuf_puts(b, "'");
	for (; r == 0 && s && *s; s++)
		r = *s == '"' ? dbuf_puts(b, "\"\"") : dbuf_add(b, s, 1);
	if (r == 0)
		r = dbuf_puts(b, last ? "\"\r\n" : "\",");
	return r;
}

static enum MHD_Result api_notice_reads(struct request *req)
{
	const char *format = http_query(req, "format");
	char target[48], disp[80];
	struct dbuf b;
	json_t *out, *row;
	int64_t id;
	size_t i;
	enum MHD_Result res = MHD_NO;
	int r = id_param(req, 0, &id);

	if (format && strcmp(format, "json") && strcmp(format, "csv"))
		return http_problem(req, 400, "invalid-parameter", "format is json or csv", "format");
	if (r == 0)
		r = notices_reads(req->db, TENANT(req), id, &out);
	if (r < 0)
		return notice_error(req, r, NULL);
	str_printf(target, sizeof(target), "notice:%lld", (long long)id);
	r = http_audit(req, 0, AUDIT_ACCESS, "notice.reads", target, AUDIT_SUCCESS, NULL);
	if (r < 0) {
		json_decref(out);
		return http_internal_error(req, r);
	}
	if (!format || !strcmp(format, "json"))
		return http_json(req, 200, out);
	dbuf_init(&b, (size_t)KURA_NOTICE_READS_MAX * 200 + 256);
	r = dbuf_puts(&b, "notice_id,title,login,read_at\r\n");
	json_array_foreach(json_object_get(out, "reads"), i, row) {
		char nid[24];

		str_printf(nid, sizeof(nid), "%lld", (long long)id);
		if (r == 0)
			r = csv_cell(&b, nid, false);
		if (r == 0)
			r = csv_cell(&b, json_string_value(json_object_get(out, "title")), false);
		if (r == 0)
			r = csv_cell(&b, json_string_value(json_object_get(row, "login")), false);
		if (r == 0)
			r = csv_cell(&b, json_string_value(json_object_get(row, "read_at")), true);
	}
	json_decref(out);
	if (r < 0) {
		dbuf_free(&b);
		return http_internal_error(req, r);
	}
	str_printf(disp, sizeof(disp), "attachment; filename=\"kura-notice-%lld-reads.csv\"", (long long)id);
	http_add_header(req, "Content-Disposition", disp);
	res = http_respond(req, 200, "text/csv; charset=utf-8", dbuf_str(&b), dbuf_len(&b));
	dbuf_free(&b);
	return res;
}

/* ---------------------------------------------------------------- routes */

const struct route api_reports_routes[] = {
	{ "POST", "/api/v1/reports", api_report_create, R_BODY, PERM_TENANT_READ },
	{ "GET", "/api/v1/reports", api_report_list, 0, PERM_TENANT_READ },
	{ "GET", "/api/v1/reports/*", api_report_get, 0, PERM_TENANT_READ },
	{ "POST", "/api/v1/reports/*/messages", api_report_message, R_BODY, PERM_TENANT_READ },
	{ "POST", "/api/v1/reports/*/close", api_report_close, 0, PERM_TENANT_READ },
	{ "POST", "/api/v1/reports/*/attachments", api_report_attach, R_STREAM, PERM_TENANT_READ },
	{ "GET", "/api/v1/reports/*/attachments/*", api_report_attachment_get, 0, PERM_TENANT_READ },
	{ "GET", "/api/v1/reports/*/exports/*", api_report_export_get, 0, PERM_TENANT_READ },
	{ "POST", "/api/v1/notices", api_notice_create, R_BODY, PERM_ACCOUNT_WRITE },
	{ "GET", "/api/v1/notices", api_notice_mine, 0, PERM_SELF },
	{ "GET", "/api/v1/notices/posted", api_notice_posted, 0, PERM_ACCOUNT_READ },
	{ "POST", "/api/v1/notices/*/read", api_notice_read, 0, PERM_SELF },
	{ "GET", "/api/v1/notices/*/reads", api_notice_reads, 0, PERM_ACCOUNT_READ },
};
const size_t api_reports_n_routes = ARRAY_SIZE(api_reports_routes);
