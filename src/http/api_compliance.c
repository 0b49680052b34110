/*
 * The tenant's compliance statement for its managers (A1, A2, A5; docs/compliance.md):
 * GET /api/v1/compliance?lang=ja|en&format=json|html. The same statement kura compliance
 * report --tenant writes, over the tenant's own services only, each claim with its evidence.
 * json is what the portal shows (web/js/compliance.js puts it into the page with the DOM);
 * html is the standalone document, sent as a download.
 *
 * SECURITY: the tenant is the session's, never a parameter; the statement holds settings,
 * counts and the tenant's own chain checkpoint, no content. Reading it is recorded (access).
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "core/clock.h"
#include "http/http_int.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"

static enum MHD_Result api_compliance(struct request *req)
{
	const char *lang = http_query(req, "lang"), *format = http_query(req, "format");
	struct tenant t;
	json_t *model, *d;
	char *html;
	enum MHD_Result res;
	int r, err = 0;

	if (!lang)
		lang = "ja";
	if (!format)
		format = "json";
	if (strcmp(lang, "ja") && strcmp(lang, "en"))
		return http_problem(req, 400, "invalid-parameter", "lang is ja or en", "lang");
	if (strcmp(format, "json") && strcmp(format, "html"))
		return http_problem(req, 400, "invalid-parameter", "format is json or html", "format");
	r = tenant_get(req->db, req->session.account.tenant_id, &t);
	if (r < 0)
		return http_internal_error(req, r);
	/* each statement verifies the tenant's whole audit chain: counted per tenant
	 * (KURA_RATE_COMPLIANCE), in the database so every node sees the count */
	r = db_begin(req->db);
	if (r == 0)
		r = db_lock_tenant(req->db, t.id);
	if (r == 0)
		r = rate_take(req->db, t.id, RATE_COMPLIANCE, "");
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0 && db_in_transaction(req->db))
		db_rollback(req->db);
	if (r == -EAGAIN) {
		int64_t retry = 0;

		r = rate_retry_after(req->db, t.id, RATE_COMPLIANCE, "", &retry);
		if (r < 0)
			return http_internal_error(req, r);
		return http_rate_limited(req, retry, KURA_RATE_COMPLIANCE, KURA_RATE_COMPLIANCE_S,
					 "the statement was built as often as it may be for now; retry later");
	}
	if (r < 0)
		return http_internal_error(req, r);
	d = json_pack("{s:s, s:s}", "lang", lang, "format", format);
	r = http_audit(req, 0, AUDIT_ACCESS, "compliance.read", "compliance", AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0)
		return http_internal_error(req, r);
	model = compliance_model(req->db, t.id, lang, &err);
	if (!model)
		return http_internal_error(req, err ? err : -EIO);
	if (!strcmp(format, "json"))
		return http_json(req, 200, model);
	html = compliance_html(model);
	json_decref(model);
	if (!html)
		return http_internal_error(req, -ENOMEM);
	{
		char csp[256], disp[160], date[CLOCK_RFC3339_LEN];

		compliance_html_csp(csp, sizeof(csp));
		clock_format_utc(clock_now_us(), date, sizeof(date));
		date[10] = '\0';
		str_printf(disp, sizeof(disp), "attachment; filename=\"kura-statement-%s-%s-%s.html\"", t.code, date, lang);
		http_add_header(req, "Content-Security-Policy", csp);
		http_add_header(req, "Content-Disposition", disp);
	}
	res = http_respond(req, 200, "text/html; charset=utf-8", html, strlen(html));
	free(html);
	return res;
}

const struct route api_compliance_routes[] = {
	{ "GET", "/api/v1/compliance", api_compliance, 0, PERM_SECURITY_READ },
};
const size_t api_compliance_n_routes = ARRAY_SIZE(api_compliance_routes);
