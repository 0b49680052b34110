/*
 * Share-link API (W3, W5, F4, B2, D1; docs/shares.md, docs/api.md "Shares").
 *
 * Owner side (session routes, PERM_SHARES_WRITE): create links, list/show/label/revoke
 * one's own; with PERM_SHARES_ADMIN (managers) every link of the tenant and the expiry
 * policy. The delivery log (PERM_MAIL_LOG_READ) lists the tenant's own mails.
 *
 * Public side (R_PUBLIC routes, no account): /api/v1/links/{token}… . The token is the
 * credential; a link with a password also needs the link session cookie from
 * POST …/unlock (kura_link, HttpOnly; Secure; SameSite=Strict; Path=/api/v1/links/{token}).
 * Downloads and uploads reuse the files API's paths (http_file_download/_upload).
 *
 * SECURITY: the handler resolves the token first and from then on acts in the share's
 * tenant only (the actor is anonymous, "link:<id>", in that tenant). Unknown tokens are
 * 404 not-found; known links that are expired, revoked, used up or whose item was deleted
 * are 410 link-gone (one type for all; the reason is only in the audit record). Holding a
 * 256-bit token is needed to learn either, so 410 reveals nothing to a guesser. Every
 * access (view, unlock, download, upload, refusal) is an `access` audit record in the
 * share's tenant log; a request that cannot be recorded is not served.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files.h"
#include "files/shares.h"
#include "http/http_int.h"
#include "notify/maillog.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define TENANT(req) ((req)->session.account.tenant_id)
#define LINK_COOKIE "kura_link"

/* May this request see every link of the tenant (shares.admin, a read)? */
static bool is_admin(struct request *req)
{
	return http_permitted(req, PERM_SHARES_ADMIN, false);
}

static void public_url(struct request *req, char *buf, size_t size)
{
	size_t n;

	str_copy(buf, size, req->srv->cfg ? req->srv->cfg->public_url : "");
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

static int id_param(struct request *req, size_t i, int64_t *ret)
{
	const char *s = i < req->n_params ? req->params[i] : NULL;

	if (!s || s[0] < '1' || s[0] > '9' || safe_atoi64(s, ret) < 0 || *ret <= 0)
		return -ENOENT;
	return 0;
}

static enum MHD_Result share_error(struct request *req, int r, const char *field)
{
	switch (r) {
	case -ENOENT:
		return http_problem(req, 404, "not-found", "no such link", field);
	case -EINVAL:
		return http_problem(req, 400, "invalid-field", "the value is not acceptable", field);
	case -E2BIG:
		return http_problem(req, 400, "invalid-field", "too many", field);
	case -EACCES:
		return http_problem(req, 403, "permission-denied",
				    "an app password changes only its own account's links; sign in to change others'", NULL);
	default:
		return http_internal_error(req, r);
	}
}

/* The share of path parameter 0 that this session may see: its own, or any with
 * shares.admin. Others' links are 404 for a user (their existence is not revealed). To
 * change another account's link (change) takes shares.admin for a change, which an app
 * password never has (it changes only its own links): -EACCES, recorded as a denial. */
static int visible_share(struct request *req, bool change, struct share *ret)
{
	int64_t id;
	int r = id_param(req, 0, &id);

	if (r == 0)
		r = shares_get(req->db, TENANT(req), id, ret);
	if (r == 0 && ret->created_by != req->session.account.id) {
		if (!is_admin(req)) {
			r = -ENOENT;
		} else if (change && !http_permitted(req, PERM_SHARES_ADMIN, true)) {
			json_t *d = json_pack("{s:s, s:s, s:I}", "permission", permission_name(PERM_SHARES_ADMIN),
					      "reason", "app password", "share", (json_int_t)ret->id);

			r = http_audit(req, 0, AUDIT_ACCESS, "permission.denied", req->path, AUDIT_DENIED, d);
			json_decref(d);
			r = r < 0 ? r : -EACCES;
		}
	}
	return r;
}

/* ---------------------------------------------------------------- owner side */

static enum MHD_Result api_shares_create(struct request *req)
{
	static const char *const kinds[] = { "download", "upload", NULL }, *const root[] = { "root", NULL };
	const char *recipients[KURA_SHARE_RECIPIENTS_MAX], *field = NULL, *kind = NULL, *node_name = NULL;
	char token[TOKEN_STR_LEN + 1], base[CONFIG_STR], detail[160];
	struct share_new in = { 0 };
	enum password_problem prob = PASSWORD_OK;
	json_t *to = NULL, *o;
	int notify = -1;
	const struct field spec[] = {
		{ .name = "node_id", .kind = FIELD_INT, .required = true, .min = 1, .max = INT64_MAX,
		  .values = root, .ret_int = &in.node_id, .ret_str = &node_name },
		{ .name = "kind", .kind = FIELD_ENUM, .values = kinds, .ret_str = &kind },
		/* shares_create judges the password (weak-password): no bound of its own here */
		{ .name = "password", .kind = FIELD_STRING, .max_chars = KURA_MAX_JSON_BODY, .nullable = true,
		  .ret_str = &in.password },
		{ .name = "expires_in_s", .kind = FIELD_INT, .min = 1, .max = KURA_SHARE_EXPIRY_CEILING_S,
		  .ret_int = &in.expires_in_s },
		{ .name = "max_downloads", .kind = FIELD_INT, .min = 1, .max = KURA_SHARE_DOWNLOADS_MAX,
		  .nullable = true, .ret_int = &in.max_downloads },
		{ .name = "notify_on_download", .kind = FIELD_BOOL, .ret_bool = &notify },
		{ .name = "recipients", .kind = FIELD_ARRAY, .max_items = KURA_SHARE_RECIPIENTS_MAX,
		  .item = FIELD_STRING, .max_chars = KURA_EMAIL_MAX, .ret_array = &to },
	};
	enum MHD_Result res;
	struct share s;
	int64_t id = 0;
	size_t i;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!http_feature_on(req, TENANT(req), CATALOG_FEATURE_SHARING, AUDIT_OPERATION, "share.create", &res))
		return res;
	in.kind = kind && !strcmp(kind, "upload") ? SHARE_UPLOAD : SHARE_DOWNLOAD;
	if (!authz_allowed(role_parse(req->session.account.role),
			   in.kind == SHARE_UPLOAD ? PERM_FILES_WRITE : PERM_FILES_READ))
		return http_problem(req, 403, "permission-denied", "your role does not allow this", NULL);
	if (node_name) {
		r = files_root(req->db, TENANT(req), &in.node_id);
		if (r < 0)
			return http_internal_error(req, r);
	}
	in.notify_on_download = notify == 1;
	json_array_foreach(to, i, o) {
		if (!mail_address_valid(json_string_value(o))) {
			str_printf(detail, sizeof(detail), "recipients[%zu] is not a valid e-mail address", i);
			return http_problem(req, 400, "invalid-field", detail, "recipients");
		}
		recipients[i] = json_string_value(o);
	}
	if (to) {
		in.recipients = recipients;
		in.n_recipients = json_array_size(to);
	}
	public_url(req, base, sizeof(base));
	in.public_url = base;
	in.sharer_login = req->session.account.login;
	r = shares_create(req->db, &req->actor, TENANT(req), &in, &id, token, &field, &prob);
	if (r == -EINVAL && prob != PASSWORD_OK)
		return http_problem(req, 400, "weak-password", password_problem_text(prob), "password");
	if (r == -EINVAL && field && !strcmp(field, "expires_in_s"))
		return http_problem(req, 400, "invalid-field",
				    "expires_in_s is beyond the tenant's maximum (GET /api/v1/tenant/share-policy)",
				    "expires_in_s");
	if (r == -EINVAL && field && !strcmp(field, "recipients"))
		return http_problem(req, 400, "invalid-field", "recipients must be distinct valid addresses",
				    "recipients");
	if (r == -ENOTDIR)
		return http_problem(req, 409, "conflict", "upload links go to a folder", "node_id");
	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such file or folder", "node_id");
	if (r == -E2BIG && field)
		return http_problem(req, 400, "invalid-field", "too many recipients", field);
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "the tenant has too many links; revoke some", NULL);
	if (r < 0)
		return share_error(req, r, field);
	if (in.n_recipients)
		mailer_wake(req->srv->mailer);
	r = shares_get(req->db, TENANT(req), id, &s);
	if (r < 0) {
		sodium_memzero(token, sizeof(token));
		return http_internal_error(req, r);
	}
	o = shares_json(req->db, &s, true);
	if (o) {
		char url[CONFIG_STR + 64];

		str_printf(url, sizeof(url), "%s/s/%s", base, token);
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "url", json_string(url));
		sodium_memzero(url, sizeof(url));
		str_printf(detail, sizeof(detail), "/api/v1/shares/%lld", (long long)id);
		http_add_header(req, "Location", detail);
	}
	sodium_memzero(token, sizeof(token));
	return http_json(req, 201, o);
}

static int page_params(struct request *req, int64_t *ret_before, int64_t *ret_limit, enum MHD_Result *ret)
{
	const char *b = http_query(req, "before"), *l = http_query(req, "limit");

	*ret_before = 0;
	*ret_limit = KURA_PAGE_DEFAULT;
	if (b && (safe_atoi64(b, ret_before) < 0 || *ret_before < 1)) {
		*ret = http_problem(req, 400, "invalid-field", "before is an id", "before");
		return -EINVAL;
	}
	if (l && (safe_atoi64(l, ret_limit) < 0 || *ret_limit < 1 || *ret_limit > KURA_PAGE_MAX)) {
		*ret = http_problem(req, 400, "invalid-field", "limit is 1 to 1000", "limit");
		return -EINVAL;
	}
	return 0;
}

static enum MHD_Result api_shares_list(struct request *req)
{
	const char *all = http_query(req, "all"), *label = http_query(req, "label");
	enum MHD_Result res;
	json_t *items = NULL;
	int64_t before, limit;
	bool more = false;
	int r;

	if (page_params(req, &before, &limit, &res) < 0)
		return res;
	if (all && strcmp(all, "1") && strcmp(all, "0"))
		return http_problem(req, 400, "invalid-field", "all is 1 or 0", "all");
	if (label && !files_label_valid(label))
		return http_problem(req, 400, "invalid-field", "label is 1-64 characters without '/'", "label");
	if (all && !strcmp(all, "1") && !is_admin(req)) {
		json_t *d = json_pack("{s:s}", "permission", permission_name(PERM_SHARES_ADMIN));

		r = http_audit(req, 0, AUDIT_ACCESS, "permission.denied", req->path, AUDIT_DENIED, d);
		json_decref(d);
		(void)r;
		return http_problem(req, 403, "permission-denied", "only managers list every link", NULL);
	}
	r = shares_list(req->db, TENANT(req), all && !strcmp(all, "1") ? 0 : req->session.account.id, label,
			before, (size_t)limit, &items, &more);
	if (r < 0)
		return share_error(req, r, NULL);
	return http_json(req, 200, json_pack("{s:o, s:b}", "items", items, "more", more));
}

static enum MHD_Result api_share_get(struct request *req)
{
	struct share s;
	int r = visible_share(req, false, &s);

	return r < 0 ? share_error(req, r, NULL) : http_json(req, 200, shares_json(req->db, &s, true));
}

static enum MHD_Result api_share_delete(struct request *req)
{
	struct share s;
	int r = visible_share(req, true, &s);

	if (r == 0)
		r = shares_revoke(req->db, &req->actor, TENANT(req), s.id);
	return r < 0 ? share_error(req, r, NULL) : http_empty(req, 204);
}

static enum MHD_Result api_share_label_put(struct request *req)
{
	struct share s;
	int r = visible_share(req, true, &s);

	if (r == 0)
		r = shares_label_add(req->db, &req->actor, TENANT(req), s.id, req->params[1]);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-name", "labels are 1-64 characters without '/'", "label");
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "too many labels", "label");
	return r < 0 ? share_error(req, r, NULL) : http_empty(req, 204);
}

static enum MHD_Result api_share_label_delete(struct request *req)
{
	struct share s;
	int r = visible_share(req, true, &s);

	if (r == 0)
		r = shares_label_remove(req->db, &req->actor, TENANT(req), s.id, req->params[1]);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-name", "labels are 1-64 characters without '/'", "label");
	return r < 0 ? share_error(req, r, NULL) : http_empty(req, 204);
}

/* GET /api/v1/shares/{id}/access: the link's access log, oldest first, after/limit paging
 * by the audit sequence (W3, F4). Whoever may see the link may read it; reading records
 * nothing. */
static enum MHD_Result api_share_access(struct request *req)
{
	const char *a = http_query(req, "after"), *l = http_query(req, "limit");
	int64_t after = 0, limit = KURA_PAGE_DEFAULT, next = 0;
	json_t *items = NULL;
	struct share s;
	int r;

	if (a && (safe_atoi64(a, &after) < 0 || after < 0))
		return http_problem(req, 400, "invalid-field", "after is a sequence number (next_after)", "after");
	if (l && (safe_atoi64(l, &limit) < 0 || limit < 1 || limit > KURA_SHARE_ACCESS_PAGE_MAX))
		return http_problem(req, 400, "invalid-field", "limit is 1 to 500", "limit");
	r = visible_share(req, false, &s);
	if (r == 0)
		r = shares_access_list(req->db, &s, after, (size_t)limit, &items, &next);
	if (r < 0)
		return share_error(req, r, NULL);
	return http_json(req, 200, json_pack("{s:I, s:o, s:o}", "share_id", (json_int_t)s.id, "items", items,
					     "next_after", next ? json_integer(next) : json_null()));
}

static json_t *policy_json(const struct share_policy *p)
{
	return json_pack("{s:I, s:I, s:I}", "default_expiry_s", (json_int_t)p->default_expiry_s,
			 "max_expiry_s", (json_int_t)p->max_expiry_s, "ceiling_s",
			 (json_int_t)KURA_SHARE_EXPIRY_CEILING_S);
}

static enum MHD_Result api_share_policy_get(struct request *req)
{
	struct share_policy p;
	int r = shares_policy_get(req->db, TENANT(req), &p);

	return r < 0 ? http_internal_error(req, r) : http_json(req, 200, policy_json(&p));
}

static enum MHD_Result api_share_policy_patch(struct request *req)
{
	struct share_policy p;
	const struct field spec[] = {
		{ .name = "default_expiry_s", .kind = FIELD_INT, .min = 1, .max = KURA_SHARE_EXPIRY_CEILING_S,
		  .ret_int = &p.default_expiry_s },
		{ .name = "max_expiry_s", .kind = FIELD_INT, .min = 1, .max = KURA_SHARE_EXPIRY_CEILING_S,
		  .ret_int = &p.max_expiry_s },
	};
	enum MHD_Result res;
	int r;

	r = shares_policy_get(req->db, TENANT(req), &p);
	if (r < 0)
		return http_internal_error(req, r);
	/* members that are absent keep the stored value */
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (p.default_expiry_s > p.max_expiry_s)
		return http_problem(req, 400, "invalid-field", "default_expiry_s must not pass max_expiry_s",
				    "default_expiry_s");
	r = shares_policy_set(req->db, &req->actor, TENANT(req), &p);
	return r < 0 ? share_error(req, r, NULL) : http_json(req, 200, policy_json(&p));
}

static enum MHD_Result api_mail_log(struct request *req)
{
	const char *state = http_query(req, "state");
	enum MHD_Result res;
	json_t *items = NULL;
	int64_t before, limit;
	bool more = false;
	int r;

	if (page_params(req, &before, &limit, &res) < 0)
		return res;
	if (state && !mail_state_valid(state))
		return http_problem(req, 400, "invalid-field", "state is queued, sent, deferred or failed", "state");
	r = mail_log_list(req->db, TENANT(req), state, before, (size_t)limit, &items, &more);
	if (r < 0)
		return share_error(req, r, NULL);
	return http_json(req, 200, json_pack("{s:o, s:b}", "items", items, "more", more));
}

/* ---------------------------------------------------------------- public side */

struct link {
	struct share s;
	enum share_gone gone;
	char actor_name[32];
};

/* 410 link-gone, with the reason for the recipient's page: "expired", "revoked",
 * "limit-reached" or "deleted" (only a holder of the token can see it, docs/shares.md). */
static enum MHD_Result link_gone(struct request *req, enum share_gone g)
{
	static const char *const why[] = { [SHARE_EXPIRED] = "expired", [SHARE_REVOKED] = "revoked",
					   [SHARE_EXHAUSTED] = "limit-reached", [SHARE_TARGET_GONE] = "deleted" };
	const char *reason = (unsigned)g < ARRAY_SIZE(why) && why[g] ? why[g] : "expired";

	return http_problem_more(req, 410, "link-gone",
				 "this link has expired, was revoked, or reached its download limit", NULL,
				 json_pack("{s:s}", "reason", reason));
}

/* Resolves the token of path parameter 0 and makes the request's actor the anonymous link
 * user in the share's tenant. false: an answer is queued in *ret (404, 410, 401). */
static bool link_open(struct request *req, struct link *l, bool need_unlock, const char *action,
		      enum MHD_Result *ret)
{
	json_t *d;
	int r = shares_resolve(req->db, req->params[0], &l->s, &l->gone);

	if (r == -ENOENT) {
		log_info("share.link", "unknown link token from %s", req->client_ip);
		*ret = http_problem(req, 404, "not-found", "no such link", NULL);
		return false;
	}
	if (r < 0) {
		*ret = http_internal_error(req, r);
		return false;
	}
	str_printf(l->actor_name, sizeof(l->actor_name), "link:%lld", (long long)l->s.id);
	/* D4: with sharing off (never turned on, or turned off again) no link opens; it answers
	 * as an unknown one, and the refusal is recorded in the tenant's log */
	if (!tenant_feature_on(req->db, l->s.tenant_id, CATALOG_FEATURE_SHARING)) {
		req->actor.type = ACTOR_ANONYMOUS;
		req->actor.tenant_id = l->s.tenant_id;
		req->actor.account_id = 0;
		req->actor.name = l->actor_name;
		d = json_pack("{s:s, s:s}", "reason", "sharing-off", "wanted", action);
		r = shares_audit(req->db, &req->actor, &l->s, "link.refused", AUDIT_DENIED, d);
		json_decref(d);
		(void)r;
		*ret = http_problem(req, 404, "not-found", "no such link", NULL);
		return false;
	}
	req->actor.type = ACTOR_ANONYMOUS;
	req->actor.tenant_id = l->s.tenant_id;
	req->actor.account_id = 0;
	req->actor.name = l->actor_name;
	if (l->gone != SHARE_LIVE) {
		d = json_pack("{s:s, s:s}", "reason", shares_gone_name(l->gone), "wanted", action);
		r = shares_audit(req->db, &req->actor, &l->s, "link.refused", AUDIT_DENIED, d);
		json_decref(d);
		(void)r;    /* refused either way */
		*ret = link_gone(req, l->gone);
		return false;
	}
	if (need_unlock &&
	    !shares_session_ok(req->db, &l->s, MHD_lookup_connection_value(req->con, MHD_COOKIE_KIND, LINK_COOKIE))) {
		d = json_pack("{s:s, s:s}", "reason", "password required", "wanted", action);
		r = shares_audit(req->db, &req->actor, &l->s, "link.refused", AUDIT_DENIED, d);
		json_decref(d);
		(void)r;
		*ret = http_problem(req, 401, "link-password-required",
				    "this link has a password: POST it to /api/v1/links/{token}/unlock first", NULL);
		return false;
	}
	return true;
}

static json_t *node_public_json(const struct file_node *n)
{
	char mod[CLOCK_RFC3339_LEN];

	clock_format_utc(n->modified_us, mod, sizeof(mod));
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s}", "id", (json_int_t)n->id, "kind",
			 n->kind == NODE_FOLDER ? "folder" : "file", "name", n->name, "size", (json_int_t)n->size,
			 "content_type", n->content_type, "modified_at", mod);
}

static enum MHD_Result api_link_get(struct request *req)
{
	const char *folder_s = http_query(req, "folder"), *after = http_query(req, "after");
	char expires[CLOCK_RFC3339_LEN];
	struct tenant t = { 0 };
	struct file_node n, f;
	enum MHD_Result res;
	struct link l;
	json_t *o, *items = NULL, *d;
	bool unlocked, more = false;
	int64_t folder = 0;
	int r;

	if (folder_s && (safe_atoi64(folder_s, &folder) < 0 || folder < 1))
		return http_problem(req, 400, "invalid-field", "folder is a folder id", "folder");
	if (after && !files_name_valid(after))
		return http_problem(req, 400, "invalid-field", "after must be a name", "after");
	if (!link_open(req, &l, false, "view", &res))
		return res;
	unlocked = shares_session_ok(req->db, &l.s, MHD_lookup_connection_value(req->con, MHD_COOKIE_KIND,
										 LINK_COOKIE));
	clock_format_utc(l.s.expires_us, expires, sizeof(expires));
	if (tenant_get(req->db, l.s.tenant_id, &t) < 0 || !t.zone[0])
		str_copy(t.zone, sizeof(t.zone), "Asia/Tokyo");
	/* time_zone: the tenant's, for the page to show times in (names no tenant) */
	o = json_pack("{s:s, s:b, s:b, s:s, s:s}", "kind", l.s.kind == SHARE_UPLOAD ? "upload" : "download",
		      "password_required", l.s.has_password, "unlocked", unlocked, "expires_at", expires,
		      "time_zone", t.zone);
	if (!o)
		return http_internal_error(req, -ENOMEM);
	if (unlocked) {
		r = shares_node(req->db, &l.s, l.s.node_id, &n);
		if (r == 0 && folder)
			r = shares_node(req->db, &l.s, folder, &f);
		else
			f = n;
		if (r == 0 && f.kind == NODE_FOLDER && l.s.kind == SHARE_DOWNLOAD)
			r = files_list(req->db, l.s.tenant_id, f.id, NULL, after, KURA_PAGE_MAX, &items, &more);
		if (r < 0) {
			json_decref(o);
			return r == -ENOENT ? http_problem(req, 404, "not-found", "no such folder in this link",
							   "folder")
					    : http_internal_error(req, r);
		}
		json_object_set_new(o, "item", node_public_json(&n));
		if (folder)
			json_object_set_new(o, "folder", node_public_json(&f));
		if (l.s.kind == SHARE_DOWNLOAD && l.s.max_downloads)
			json_object_set_new(o, "downloads_left", json_integer(l.s.max_downloads - l.s.downloads));
		if (items) {
			json_t *pub = json_array(), *it;
			size_t i;

			/* only what an outsider needs: no creator, labels or etags */
			json_array_foreach(items, i, it) {
				json_array_append_new(pub, json_pack("{s:O, s:O, s:O, s:O}", "id",
								     json_object_get(it, "id"), "kind",
								     json_object_get(it, "kind"), "name",
								     json_object_get(it, "name"), "size",
								     json_object_get(it, "size")));
			}
			json_decref(items);
			json_object_set_new(o, "items", pub);
			json_object_set_new(o, "more", json_boolean(more));
		}
	}
	d = json_pack("{s:b, s:I}", "unlocked", unlocked, "folder", (json_int_t)folder);
	r = shares_audit(req->db, &req->actor, &l.s, "link.view", AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0) {
		json_decref(o);
		return http_internal_error(req, r);
	}
	return http_json(req, 200, o);
}

static enum MHD_Result api_link_unlock(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	char session[TOKEN_STR_LEN + 1], cookie[256], until[CLOCK_RFC3339_LEN];
	int64_t expires = 0, locked = 0;
	enum MHD_Result res;
	struct link l;
	int r, remaining = 0;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!link_open(req, &l, false, "unlock", &res))
		return res;
	if (!l.s.has_password)
		return http_problem(req, 409, "conflict", "this link has no password", NULL);
	r = shares_unlock(req->db, &req->actor, &l.s, password, session, &expires, &locked, &remaining);
	if (r == -EAGAIN || (r == -EACCES && locked)) {
		char retry[24];

		clock_format_utc(locked, until, sizeof(until));
		str_printf(retry, sizeof(retry), "%lld", (long long)((locked - clock_now_us()) / 1000000 + 1));
		http_add_header(req, "Retry-After", retry);
		return http_problem_more(req, 429, "link-locked",
					 "too many wrong passwords: this link is locked for a while", NULL,
					 json_pack("{s:s}", "locked_until", until));
	}
	/* remaining: wrong passwords this link still takes in the window before it locks
	 * (KURA_SHARE_PW_FAILURES per KURA_SHARE_PW_WINDOW_S); telling it weakens nothing */
	if (r == -EACCES)
		return http_problem_more(req, 403, "link-password-invalid", "the password is wrong", "password",
					 json_pack("{s:i}", "remaining", remaining));
	if (r < 0)
		return http_internal_error(req, r);
	str_printf(cookie, sizeof(cookie), LINK_COOKIE "=%s; Path=/api/v1/links/%s; Max-Age=%d; HttpOnly; Secure;"
		   " SameSite=Strict", session, req->params[0], KURA_SHARE_SESSION_S);
	http_add_header(req, "Set-Cookie", cookie);
	sodium_memzero(session, sizeof(session));
	sodium_memzero(cookie, sizeof(cookie));
	clock_format_utc(expires, until, sizeof(until));
	return http_json(req, 200, json_pack("{s:s}", "expires_at", until));
}

struct link_download {
	struct link *l;
};

/* Counts the download (atomically; the limit may have been reached meanwhile) and records
 * it, before the first byte goes out. A HEAD or a 304 is no download (nothing counted), but
 * it is an access to the link (W3): recorded (link.head, link.not_modified) before the
 * answer, or no answer. */
static bool link_download_start(struct request *req, const struct file_node *n, enum http_download_kind kind,
				uint64_t start, uint64_t len, void *cls, enum MHD_Result *ret)
{
	struct link *l = cls;
	char base[CONFIG_STR];
	bool mail = false;
	json_t *d;
	int r;

	if (kind != DOWNLOAD_BODY) {
		d = json_pack("{s:I, s:s}", "node_id", (json_int_t)n->id, "name", n->name);
		r = shares_audit(req->db, &req->actor, &l->s, kind == DOWNLOAD_HEAD ? "link.head" : "link.not_modified",
				 AUDIT_SUCCESS, d);
		json_decref(d);
		if (r < 0) {
			*ret = http_internal_error(req, r);
			return false;
		}
		return true;
	}
	d = json_pack("{s:I, s:s, s:I, s:I}", "node_id", (json_int_t)n->id, "name", n->name, "offset",
		      (json_int_t)start, "length", (json_int_t)len);

	public_url(req, base, sizeof(base));
	r = shares_count_download(req->db, &req->actor, &l->s, n, d, base, &mail);
	json_decref(d);
	if (r == -ESTALE) {
		d = json_pack("{s:s, s:s}", "reason", "exhausted", "wanted", "download");
		r = shares_audit(req->db, &req->actor, &l->s, "link.refused", AUDIT_DENIED, d);
		json_decref(d);
		(void)r;
		*ret = link_gone(req, SHARE_EXHAUSTED);
		return false;
	}
	if (r < 0) {
		*ret = http_internal_error(req, r);
		return false;
	}
	if (mail)
		mailer_wake(req->srv->mailer);
	return true;
}

static enum MHD_Result link_download(struct request *req, bool by_id)
{
	enum MHD_Result res;
	struct file_content c;
	struct file_node n;
	struct link *l = arena_alloc(req->arena, sizeof(*l));
	int64_t id = 0;
	int r;

	if (!l)
		return http_internal_error(req, -ENOMEM);
	if (!link_open(req, l, true, "download", &res))
		return res;
	if (l->s.kind != SHARE_DOWNLOAD)
		return http_problem(req, 404, "not-found", "this is an upload link", NULL);
	if (by_id)
		r = id_param(req, 1, &id);
	else
		r = 0, id = l->s.node_id;
	/* the node with its key in one statement (issue 11), then whether the link reaches it
	 * (its ancestors up to the shared folder); nothing of it is used unless it does */
	if (r == 0)
		r = files_get_content(req->db, l->s.tenant_id, id, &n, &c);
	if (r == 0) {
		r = shares_node_at(req->db, &l->s, &n);
		if (r == 0 && n.kind != NODE_FILE)
			r = -ENOENT;
		if (r < 0)
			files_content_clear(&c);
	}
	if (r < 0)
		return r == -ENOENT ? http_problem(req, 404, "not-found", "no such file in this link", NULL)
				    : http_internal_error(req, r);
	return http_file_download_at(req, l->s.tenant_id, &n, &c, link_download_start, l);
}

static enum MHD_Result api_link_content(struct request *req)
{
	return link_download(req, false);
}

static enum MHD_Result api_link_file_content(struct request *req)
{
	return link_download(req, true);
}

static enum MHD_Result link_upload_done(struct request *req, const struct file_node *n, bool created,
					void *cls)
{
	struct link *l = cls;
	int r = shares_count_upload(req->db, &req->actor, &l->s, n);

	(void)created;
	if (r < 0)
		log_error("share.upload", "upload %lld through link %lld stored, but its access record failed",
			  (long long)n->id, (long long)l->s.id);
	return http_json(req, 201, json_pack("{s:s, s:I}", "name", n->name, "size", (json_int_t)n->size));
}

static enum MHD_Result api_link_upload(struct request *req)
{
	char clean[KURA_FILE_NAME_MAX + 1], name[KURA_FILE_NAME_MAX + 1];
	enum MHD_Result res;
	struct file_node folder;
	struct link *l = arena_alloc(req->arena, sizeof(*l));
	int r;

	if (!l)
		return http_internal_error(req, -ENOMEM);
	if (!link_open(req, l, true, "upload", &res))
		return res;
	if (l->s.kind != SHARE_UPLOAD)
		return http_problem(req, 404, "not-found", "this is not an upload link", NULL);
	if (shares_sanitize_name(req->params[1], clean, sizeof(clean)) < 0)
		return http_problem(req, 400, "invalid-name", "the file name has nothing usable left", "name");
	r = shares_node(req->db, &l->s, l->s.node_id, &folder);
	if (r == 0 && folder.kind != NODE_FOLDER)
		r = -ENOENT;
	if (r == 0)
		r = shares_free_name(req->db, l->s.tenant_id, folder.id, clean, name, sizeof(name));
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "too many files of that name in the folder", "name");
	if (r < 0)
		return http_files_error(req, r, "name");
	return http_file_upload(req, l->s.tenant_id, folder.id, name, true, link_upload_done, l);
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: shares (docs/api.md "Shares"; shares.admin is checked in the
 * handlers too), the delivery log, and the public share links. server.c composes every
 * file's slice into the route table (docs/HACKING.md "How to add an endpoint"). */
const struct route api_shares_routes[] = {
	{ "GET", "/api/v1/shares", api_shares_list, 0, PERM_SHARES_WRITE },
	{ "POST", "/api/v1/shares", api_shares_create, R_BODY, PERM_SHARES_WRITE },
	{ "GET", "/api/v1/shares/*", api_share_get, 0, PERM_SHARES_WRITE },
	{ "DELETE", "/api/v1/shares/*", api_share_delete, 0, PERM_SHARES_WRITE },
	{ "GET", "/api/v1/shares/*/access", api_share_access, 0, PERM_SHARES_WRITE },
	{ "PUT", "/api/v1/shares/*/labels/*", api_share_label_put, 0, PERM_SHARES_WRITE },
	{ "DELETE", "/api/v1/shares/*/labels/*", api_share_label_delete, 0, PERM_SHARES_WRITE },
	{ "GET", "/api/v1/tenant/share-policy", api_share_policy_get, 0, PERM_SHARES_WRITE },
	{ "PATCH", "/api/v1/tenant/share-policy", api_share_policy_patch, R_BODY, PERM_SHARES_ADMIN },
	{ "GET", "/api/v1/mail-log", api_mail_log, 0, PERM_MAIL_LOG_READ },
	/* share links: public, the token (and the link session of a password) is the check */
	{ "GET", "/api/v1/links/*", api_link_get, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "POST", "/api/v1/links/*/unlock", api_link_unlock, R_PUBLIC | R_SECRET | R_BODY, PERM_SELF },
	{ "GET", "/api/v1/links/*/content", api_link_content, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "GET", "/api/v1/links/*/files/*/content", api_link_file_content, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "PUT", "/api/v1/links/*/upload/*", api_link_upload, R_PUBLIC | R_SECRET | R_STREAM, PERM_SELF },
};
const size_t api_shares_n_routes = ARRAY_SIZE(api_shares_routes);
