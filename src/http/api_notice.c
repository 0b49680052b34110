/*
 * Provider and tenant talk (issue 9; docs/announcements.md): the tenant's contacts and their
 * public confirmation, the tenant's announcements with the first reading of each account,
 * the incidents that affect the tenant, and the public service status as JSON and as an
 * Atom feed (/status.atom).
 *
 * SECURITY: everything behind a session acts in the session's tenant only (notice.h looks
 * rows up by tenant). The public status names services and the provider's own words, never a
 * tenant; the Atom feed is built from that same public structure, every text XML-escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/limits.h"
#include "http/http_int.h"
#include "notice/notice.h"
#include "notify/notify.h"

/* ---------------------------------------------------------------- contacts */

static enum MHD_Result api_contacts_list(struct request *req)
{
	json_t *items = NULL;
	int r = contact_list(req->db, req->session.account.tenant_id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o, s:i}", "items", items, "max", KURA_CONTACTS_MAX));
}

static enum MHD_Result api_contacts_create(struct request *req)
{
	static const char *const roles[] = { "security", "technical", "notices", NULL };
	const char *name = NULL, *email = NULL, *role = NULL;
	const struct field spec[] = {
		{ .name = "name", .kind = FIELD_STRING, .required = true, .max_chars = KURA_CONTACT_NAME_MAX,
		  .ret_str = &name },
		{ .name = "email", .kind = FIELD_STRING, .required = true, .max_chars = KURA_EMAIL_MAX, .ret_str = &email },
		{ .name = "role", .kind = FIELD_ENUM, .required = true, .values = roles, .ret_str = &role },
	};
	enum MHD_Result res;
	json_t *o = NULL;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!*name || !utf8_is_clean_text(name, strlen(name)))
		return http_problem(req, 400, "invalid-field", "name: one line of text", "name");
	if (!mail_address_valid(email))
		return http_problem(req, 400, "invalid-field", "email: one address like name@example.com", "email");
	r = contact_create(req->db, &req->actor, req->session.account.tenant_id, name, email, role, &o);
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "this address has this role already", "email");
	if (r == -E2BIG)
		return http_problem(req, 409, "limit-reached", "the tenant has the most contacts it may have", NULL);
	if (r == -EAGAIN) {
		int64_t retry = 0, limit = 0, window = 0;

		r = contact_retry_after(req->db, req->session.account.tenant_id, email, &retry, &limit, &window);
		if (r < 0)
			return http_internal_error(req, r);
		return http_rate_limited(req, retry, limit, window,
					 "too many confirmation mails: this tenant or this address had as many as"
					 " it may for now; retry after the time given");
	}
	if (r < 0)
		return http_internal_error(req, r);
	mailer_wake(req->srv->mailer);
	return http_json(req, 201, o);
}

static enum MHD_Result api_contact_delete(struct request *req)
{
	int64_t id = 0;
	int r = safe_atoi64(req->params[0], &id) == 0 && id > 0
			? contact_delete(req->db, &req->actor, req->session.account.tenant_id, id)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such contact", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_contact_confirm(struct request *req)
{
	char email[KURA_EMAIL_MAX + 1];
	int r = contact_confirm(req->db, &req->actor, req->params[0], email, sizeof(email));

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "this link is unknown, used or expired", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:s, s:b}", "email", email, "confirmed", 1));
}

/* ---------------------------------------------------------------- announcements */

static enum MHD_Result api_announcements(struct request *req)
{
	const char *b = http_query(req, "before"), *l = http_query(req, "limit");
	int64_t before = 0, limit = KURA_ANNOUNCE_PAGE_DEFAULT, unread = 0;
	char detail[96];
	json_t *items = NULL, *o;
	bool more = false;
	int r;

	if (b && (safe_atoi64(b, &before) < 0 || before < 1))
		return http_problem(req, 400, "invalid-field", "before: an announcement's id", "before");
	if (l && (safe_atoi64(l, &limit) < 0 || limit < 1 || limit > KURA_ANNOUNCE_PAGE_MAX)) {
		str_printf(detail, sizeof(detail), "limit: a number from 1 to %d", KURA_ANNOUNCE_PAGE_MAX);
		return http_problem(req, 400, "invalid-field", detail, "limit");
	}
	r = announce_tenant_list(req->db, req->session.account.tenant_id, req->session.account.id, before, limit,
				 &items, &more, &unread);
	if (r < 0)
		return http_internal_error(req, r);
	o = json_pack("{s:o, s:I, s:b}", "items", items, "unread", (json_int_t)unread, "more", more);
	if (o && more && json_array_size(items))
		json_object_set(o, "next_before",
				json_object_get(json_array_get(items, json_array_size(items) - 1), "id"));
	return http_json(req, 200, o);
}

static enum MHD_Result api_announcement_read(struct request *req)
{
	int64_t id = 0;
	bool first = false;
	int r = safe_atoi64(req->params[0], &id) == 0 && id > 0
			? announce_read(req->db, &req->actor, req->session.account.tenant_id, req->session.account.id,
					id, &first)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such announcement", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:I, s:b, s:b}", "id", (json_int_t)id, "read", 1, "first", first));
}

/* ---------------------------------------------------------------- incidents, status */

static enum MHD_Result api_incidents(struct request *req)
{
	json_t *items = incident_tenant_json(req->db, req->session.account.tenant_id);

	if (!items)
		return http_internal_error(req, -ENOMEM);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_service_status(struct request *req)
{
	json_t *o = incident_public_json(req->db);

	if (!o)
		return http_internal_error(req, -ENOMEM);
	http_add_header(req, "Cache-Control", "no-cache");
	return http_json(req, 200, o);
}

/* Text as XML character data or an attribute value. Control characters other than tab and
 * LF cannot occur (bodies and titles are checked on the way in); they are dropped anyway. */
static void xml_text(struct dbuf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': dbuf_puts(b, "&amp;"); break;
		case '<': dbuf_puts(b, "&lt;"); break;
		case '>': dbuf_puts(b, "&gt;"); break;
		case '"': dbuf_puts(b, "&quot;"); break;
		case '\'': dbuf_puts(b, "&apos;"); break;
		default:
			if (c >= 0x20 || c == '\t' || c == '\n')
				dbuf_add(b, s, 1);
		}
	}
}

/* A timeline entry's blocks as plain text for the feed. */
static void blocks_text(struct dbuf *b, json_t *blocks)
{
	size_t i, j, k;
	json_t *blk, *items, *item, *run;

	json_array_foreach(blocks, i, blk) {
		if (i)
			dbuf_puts(b, "\n\n");
		items = json_object_get(blk, "items");
		if (!items) {
			json_array_foreach(json_object_get(blk, "inline"), k, run)
				xml_text(b, json_string_value(json_object_get(run, "text")));
			continue;
		}
		json_array_foreach(items, j, item) {
			dbuf_puts(b, j ? "\n- " : "- ");
			json_array_foreach(item, k, run)
				xml_text(b, json_string_value(json_object_get(run, "text")));
		}
	}
}

static enum MHD_Result api_status_atom(struct request *req)
{
	json_t *o = incident_public_json(req->db), *incidents, *inc, *u, *svc;
	const char *base = notice_public_url();
	const char *updated = NULL;
	struct dbuf b;
	size_t i, j;
	char *out;
	size_t n;

	if (!o)
		return http_internal_error(req, -ENOMEM);
	incidents = json_object_get(o, "incidents");
	json_array_foreach(incidents, i, inc) {
		const char *t = json_string_value(json_object_get(inc, "updated_at"));

		if (t && (!updated || strcmp(t, updated) > 0))
			updated = t;
	}
	dbuf_init(&b, KURA_DB_LIST_MAX_BYTES);
	dbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
	dbuf_puts(&b, "  <title>kura status / 稼働状況</title>\n  <id>");
	xml_text(&b, base);
	dbuf_puts(&b, "/status</id>\n  <link rel=\"alternate\" type=\"text/html\" href=\"");
	xml_text(&b, base);
	dbuf_puts(&b, "/status\"/>\n  <link rel=\"self\" type=\"application/atom+xml\" href=\"");
	xml_text(&b, base);
	dbuf_printf(&b, "/status.atom\"/>\n  <updated>%s</updated>\n  <author><name>kura</name></author>\n",
		    updated ? updated : "1970-01-01T00:00:00.000000Z");
	json_array_foreach(incidents, i, inc) {
		long long id = (long long)json_integer_value(json_object_get(inc, "id"));

		dbuf_printf(&b, "  <entry>\n    <id>");
		xml_text(&b, base);
		dbuf_printf(&b, "/status#incident-%lld</id>\n    <title>", id);
		xml_text(&b, json_string_value(json_object_get(inc, "title_en")));
		dbuf_puts(&b, " / ");
		xml_text(&b, json_string_value(json_object_get(inc, "title_ja")));
		dbuf_puts(&b, " [");
		xml_text(&b, json_string_value(json_object_get(inc, "status")));
		dbuf_puts(&b, "]</title>\n    <link rel=\"alternate\" type=\"text/html\" href=\"");
		xml_text(&b, base);
		dbuf_printf(&b, "/status#incident-%lld\"/>\n    <published>", id);
		xml_text(&b, json_string_value(json_object_get(inc, "created_at")));
		dbuf_puts(&b, "</published>\n    <updated>");
		xml_text(&b, json_string_value(json_object_get(inc, "updated_at")));
		dbuf_puts(&b, "</updated>\n");
		json_array_foreach(json_object_get(inc, "services"), j, svc) {
			dbuf_puts(&b, "    <category term=\"");
			xml_text(&b, json_string_value(svc));
			dbuf_puts(&b, "\"/>\n");
		}
		dbuf_puts(&b, "    <content type=\"text\">Severity: ");
		xml_text(&b, json_string_value(json_object_get(inc, "severity")));
		json_array_foreach(json_object_get(inc, "timeline"), j, u) {
			dbuf_puts(&b, "\n\n");
			xml_text(&b, json_string_value(json_object_get(u, "at")));
			dbuf_puts(&b, " ");
			xml_text(&b, json_string_value(json_object_get(u, "status")));
			dbuf_puts(&b, "\n");
			blocks_text(&b, json_object_get(u, "body_en"));
			dbuf_puts(&b, "\n");
			blocks_text(&b, json_object_get(u, "body_ja"));
		}
		dbuf_puts(&b, "</content>\n  </entry>\n");
	}
	dbuf_puts(&b, "</feed>\n");
	json_decref(o);
	out = dbuf_take(&b, &n);
	if (!out)
		return http_internal_error(req, -ENOMEM);
	http_add_header(req, "Cache-Control", "no-cache");
	{
		enum MHD_Result res = http_respond(req, 200, "application/atom+xml; charset=utf-8", out, n);

		free(out);
		return res;
	}
}

/* ---------------------------------------------------------------- routes */

const struct route api_notice_routes[] = {
	{ "GET", "/api/v1/contacts", api_contacts_list, 0, PERM_CONTACTS_ADMIN },
	{ "POST", "/api/v1/contacts", api_contacts_create, R_BODY, PERM_CONTACTS_ADMIN },
	{ "DELETE", "/api/v1/contacts/*", api_contact_delete, 0, PERM_CONTACTS_ADMIN },
	{ "POST", "/api/v1/contact-confirmations/*", api_contact_confirm, R_PUBLIC | R_SECRET | R_NOAPP, PERM_SELF },
	{ "GET", "/api/v1/announcements", api_announcements, 0, PERM_SELF },
	{ "POST", "/api/v1/announcements/*/read", api_announcement_read, 0, PERM_SELF },
	{ "GET", "/api/v1/incidents", api_incidents, 0, PERM_SELF },
	{ "GET", "/api/v1/service-status", api_service_status, R_PUBLIC, PERM_SELF },
	{ "GET", "/status.atom", api_status_atom, R_PUBLIC, PERM_SELF },
};
const size_t api_notice_n_routes = ARRAY_SIZE(api_notice_routes);
