/*
 * The access API (C3, C4, D3; docs/security.md): the handlers for the allowlist, the
 * tenant's lockout settings, password reset (with its page) and app passwords. The access
 * controls of the request gate itself (client address, allowlist per request, app
 * passwords as Basic, the login pre-check) are access.c.
 *
 * SECURITY: a new allowlist that would shut out the manager who sets it needs
 * confirm_lockout; every change is one transaction with its audit record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/http_int.h"
#include "notify/notify.h"
#include "store/db.h"

/* ---------------------------------------------------------------- allowlist */

static json_t *allowlist_view(struct request *req, const struct allowlist *al)
{
	json_t *obj = allowlist_json(al);

	if (obj) {
		json_object_set_new(obj, "your_address", json_string(req->client_ip));
		json_object_set_new(obj, "your_address_allowed",
				    json_boolean(allowlist_permits(al, "manager", req->client_ip)));
	}
	return obj;
}

static enum MHD_Result api_ip_allowlist_get(struct request *req)
{
	struct allowlist *al = arena_alloc(req->arena, sizeof(*al));
	int r = al ? allowlist_get(req->db, req->session.account.tenant_id, al) : -ENOMEM;

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, allowlist_view(req, al));
}

static enum MHD_Result api_ip_allowlist_put(struct request *req)
{
	struct allowlist *al = arena_alloc(req->arena, sizeof(*al));
	json_t *ranges = NULL, *v;
	char detail[200], field[32];
	int all = -1, confirm = -1, r;
	const struct field spec[] = {
		{ .name = "apply_to_all_users", .kind = FIELD_BOOL, .ret_bool = &all },
		{ .name = "confirm_lockout", .kind = FIELD_BOOL, .ret_bool = &confirm },
		/* an array of CIDR strings (may be empty); ipnet_parse judges each */
		{ .name = "ranges", .kind = FIELD_ARRAY, .required = true, .max_items = KURA_IP_ALLOWLIST_MAX,
		  .item = FIELD_STRING, .max_chars = KURA_MAX_JSON_BODY, .item_index = true, .ret_array = &ranges },
	};
	enum MHD_Result res;
	size_t i, j;

	if (!al)
		return http_internal_error(req, -ENOMEM);
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	memset(al, 0, sizeof(*al));
	al->apply_to_all = all == 1;
	json_array_foreach(ranges, i, v) {
		struct ipnet net;
		char why[160];

		str_printf(field, sizeof(field), "ranges[%zu]", i);
		if (ipnet_parse(json_string_value(v), &net, why, sizeof(why)) < 0) {
			str_printf(detail, sizeof(detail), "%s: %s", field, why);
			return http_problem(req, 400, "invalid-field", detail, field);
		}
		for (j = 0; j < al->n; j++)   /* the same range twice is kept once */
			if (!memcmp(&al->ranges[j], &net, sizeof(net)))
				break;
		if (j == al->n)
			al->ranges[al->n++] = net;
	}
	r = allowlist_replace(req->db, &req->actor, req->session.account.tenant_id, al, req->client_ip,
			      confirm == 1);
	if (r == -EPERM) {
		str_printf(detail, sizeof(detail),
			   "your current address %s is not in the new list, so you would be locked out; "
			   "add it, or send \"confirm_lockout\": true",
			   *req->client_ip ? req->client_ip : "(unknown)");
		return http_problem(req, 409, "self-lockout", detail, "ranges");
	}
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, allowlist_view(req, al));
}

/* ---------------------------------------------------------------- lockout settings */

static const struct {
	const char *name;
	uint32_t min, max;
} lockout_fields[3] = {
	{ "lockout_threshold", KURA_LOCKOUT_THRESHOLD_MIN, KURA_LOCKOUT_THRESHOLD_MAX },
	{ "lockout_window_seconds", KURA_LOCKOUT_WINDOW_MIN_S, KURA_LOCKOUT_WINDOW_MAX_S },
	{ "lockout_duration_seconds", KURA_LOCKOUT_DURATION_MIN_S, KURA_LOCKOUT_DURATION_MAX_S },
};

static enum MHD_Result security_view(struct request *req, unsigned status)
{
	const struct config *c = req->srv->cfg;
	struct lockout_policy def = { c->lockout_threshold, c->lockout_window_s, c->lockout_duration_s };
	struct lockout_policy eff = def;
	struct clientcert_policy cp;
	int r = lockout_policy_get(req->db, req->session.account.tenant_id, &eff);
	json_t *body;

	if (r == 0)
		r = clientcert_policy_get(req->db, req->session.account.tenant_id, &cp);
	if (r < 0)
		return http_internal_error(req, r);
	body = json_pack("{s:i, s:i, s:i, s:{s:i, s:i, s:i}}", "lockout_threshold", (int)eff.threshold,
				   "lockout_window_seconds", (int)eff.window_s, "lockout_duration_seconds",
				   (int)eff.duration_s, "defaults", "lockout_threshold", (int)def.threshold,
				   "lockout_window_seconds", (int)def.window_s, "lockout_duration_seconds",
				   (int)def.duration_s);
	if (body) {   /* client certificates (issue 16) */
		json_object_set_new(body, "client_certificate", json_string(cp.policy));
		json_object_set_new(body, "client_certificate_days", json_integer(cp.lifetime_days));
		json_object_set_new(body, "client_certificate_self_service", json_boolean(cp.self_service));
		json_object_set_new(body, "client_certificate_login_field", json_string(cp.login_field));
	}
	return http_json(req, status, body);
}

static enum MHD_Result api_security_get(struct request *req)
{
	return security_view(req, 200);
}

static enum MHD_Result api_security_patch(struct request *req)
{
	static const char *const cert_policies[] = { "off", "managers", "all", NULL };
	static const char *const cert_fields[] = { "cn", "email", "upn", NULL };
	const char *cert_field = NULL;
	int64_t vals[3] = { 0, 0, 0 }, cert_days = 0;
	const char *cert_policy = NULL;
	int cert_self = -1;
	enum field_state state[3];
	bool changed[3];
	struct field spec[7];
	struct lockout_policy set;
	enum MHD_Result res;
	size_t i;
	int r;

	/* each an integer within its bounds, or null: back to the deployment default */
	for (i = 0; i < 3; i++)
		spec[i] = (struct field){ .name = lockout_fields[i].name, .kind = FIELD_INT,
					  .min = lockout_fields[i].min, .max = lockout_fields[i].max,
					  .nullable = true, .ret_int = &vals[i], .ret_state = &state[i] };
	spec[3] = (struct field){ .name = "client_certificate", .kind = FIELD_ENUM, .values = cert_policies,
				  .ret_str = &cert_policy };
	spec[4] = (struct field){ .name = "client_certificate_days", .kind = FIELD_INT, .min = 1,
				  .max = KURA_CERT_LIFETIME_MAX_DAYS, .ret_int = &cert_days };
	spec[5] = (struct field){ .name = "client_certificate_self_service", .kind = FIELD_BOOL,
				  .ret_bool = &cert_self };
	spec[6] = (struct field){ .name = "client_certificate_login_field", .kind = FIELD_ENUM,
				  .values = cert_fields, .ret_str = &cert_field };
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (cert_policy || cert_days > 0 || cert_self >= 0) {
		struct clientcert_policy want = { .self_service = false };

		/* no manager locks themself out: a policy that would require a certificate of the
		 * caller is set only from a session opened with one */
		str_copy(want.policy, sizeof(want.policy), cert_policy ? cert_policy : "off");
		if (cert_policy && clientcert_required(&want, req->session.account.role) &&
		    !*req->session.client_cert_sha256)
			return http_problem(req, 409, "client-certificate-required",
					    "this policy would require a certificate of you: sign in with yours first",
					    "client_certificate");
		r = clientcert_policy_set(req->db, &req->actor, req->session.account.tenant_id, cert_policy,
					  cert_days, cert_self);
		if (r < 0)
			return http_internal_error(req, r);
	}
	if (cert_field) {
		r = clientcert_login_field_set(req->db, &req->actor, req->session.account.tenant_id, cert_field);
		if (r < 0)
			return http_internal_error(req, r);
	}
	for (i = 0; i < 3; i++) {
		changed[i] = state[i] != FIELD_ABSENT;
		if (state[i] == FIELD_NULL)
			vals[i] = 0;
	}
	set.threshold = (uint32_t)vals[0];
	set.window_s = (uint32_t)vals[1];
	set.duration_s = (uint32_t)vals[2];
	r = lockout_policy_set(req->db, &req->actor, req->session.account.tenant_id, &set, changed);
	if (r < 0)
		return http_internal_error(req, r);
	return security_view(req, 200);
}

/* ---------------------------------------------------------------- password reset */

static enum MHD_Result api_password_reset_request(struct request *req)
{
	const char *tenant = NULL, *login = NULL;
	const struct field spec[] = {
		{ .name = "tenant", .kind = FIELD_STRING, .required = true,
		  .max_chars = KURA_TENANT_CODE_MAX * 4, .ret_str = &tenant },
		{ .name = "login", .kind = FIELD_STRING, .required = true, .max_chars = KURA_LOGIN_MAX * 4,
		  .ret_str = &login },
	};
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = reset_request(req->db, &req->actor, tenant, login);
	if (r < 0)
		return http_internal_error(req, r);
	mailer_wake(req->srv->mailer);
	return http_empty(req, 202);
}

/* 410 with "reason": used (or spent by a newer request), expired or invalid */
static enum MHD_Result reset_gone(struct request *req)
{
	return http_problem_more(req, 410, "reset-token-invalid", "ask for a new password reset link", NULL,
				 json_pack("{s:s}", "reason", token_refusal(req->db, true, req->params[0])));
}

/* Whether the page's link still works, before a password is typed: changes nothing. */
static enum MHD_Result api_password_reset_peek(struct request *req)
{
	char at[40];
	int64_t expires = 0;
	int r = reset_peek(req->db, req->params[0], &expires);

	if (r == -ENOENT)
		return reset_gone(req);
	if (r < 0)
		return http_internal_error(req, r);
	clock_format_utc(expires, at, sizeof(at));
	return http_json(req, 200, json_pack("{s:s}", "expires_at", at));
}

static enum MHD_Result api_password_reset_complete(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true,
		  .max_chars = KURA_PASSWORD_MAX * 2, .ret_str = &password },
	};
	enum password_problem problem;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = reset_complete(req->db, &req->actor, req->params[0], password, &problem);
	if (r == -ENOENT)
		return reset_gone(req);
	if (r == -EINVAL)
		return http_problem_more(req, 400, "weak-password", password_problem_text(problem), "password",
					 json_pack("{s:s}", "problem", password_problem_code(problem)));
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_account_password_reset(struct request *req)
{
	int r = account_login_valid(req->params[0])
			? reset_force(req->db, &req->actor, req->session.account.tenant_id, req->params[0])
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such account in this tenant", NULL);
	if (r == -EPERM)
		return http_problem(req, 409, "conflict",
				    "not allowed: use POST /api/v1/me/password for yourself; an invited account "
				    "sets its password from its invitation", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	mailer_wake(req->srv->mailer);
	return http_empty(req, 204);
}

/* ---------------------------------------------------------------- app passwords */

static enum MHD_Result api_app_passwords_list(struct request *req)
{
	json_t *items = NULL;
	int r = apppass_list(req->db, req->session.account.tenant_id, req->session.account.id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_app_passwords_create(struct request *req)
{
	static const char *const scopes[] = { "read", "read-write", NULL };
	const char *name = NULL, *scope = NULL;
	const struct field spec[] = {
		{ .name = "name", .kind = FIELD_STRING, .required = true,
		  .max_chars = KURA_APP_PASSWORD_NAME_MAX, .ret_str = &name },
		{ .name = "scope", .kind = FIELD_ENUM, .required = true, .values = scopes, .ret_str = &scope },
	};
	char secret[APPPASS_SECRET_LEN + 1];
	json_t *item = NULL;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!http_feature_on(req, req->session.account.tenant_id, CATALOG_FEATURE_APP_PASSWORDS,
			     AUDIT_AUTHENTICATION, "app_password.create", &res))
		return res;
	if (!*name || !utf8_is_clean_text(name, strlen(name)))
		return http_problem(req, 400, "invalid-field", "name: must be 1 to 100 characters of text", "name");
	r = apppass_create(req->db, &req->actor, req->session.account.tenant_id, req->session.account.id, name,
			   scope, req->session.second_factor, secret, sizeof(secret), &item);
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "an account has at most 50 app passwords; revoke one", NULL);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-field", "name or scope is invalid", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	json_object_set_new(item, "secret", json_string(secret));
	json_object_set_new(item, "username", json_pack("s++", req->session.account.login, "@",
							req->session.tenant_code));
	sodium_memzero(secret, sizeof(secret));
	return http_json(req, 201, item);
}

static enum MHD_Result api_app_password_delete(struct request *req)
{
	int64_t id;
	int r = safe_atoi64(req->params[0], &id) == 0 && id > 0
			? apppass_revoke(req->db, &req->actor, req->session.account.tenant_id,
					 req->session.account.id, id)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such app password of yours", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: the source-IP allowlist, lockout settings, password reset and app
 * passwords. server.c composes every file's slice into the route table (docs/HACKING.md
 * "How to add an endpoint"). */
const struct route api_access_routes[] = {
	{ "POST", "/api/v1/accounts/*/password-reset", api_account_password_reset, 0, PERM_ACCOUNT_WRITE },
	{ "GET", "/api/v1/tenant/ip-allowlist", api_ip_allowlist_get, 0, PERM_SECURITY_READ },
	{ "PUT", "/api/v1/tenant/ip-allowlist", api_ip_allowlist_put, R_BODY | R_NOAPP, PERM_SECURITY_WRITE },
	{ "GET", "/api/v1/tenant/security", api_security_get, 0, PERM_SECURITY_READ },
	{ "PATCH", "/api/v1/tenant/security", api_security_patch, R_BODY | R_NOAPP, PERM_SECURITY_WRITE },
	{ "POST", "/api/v1/password-reset", api_password_reset_request, R_PUBLIC | R_BODY | R_NOAPP,
	  PERM_SELF },
	{ "GET", "/api/v1/password-reset/*", api_password_reset_peek, R_PUBLIC | R_SECRET | R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/password-reset/*", api_password_reset_complete, R_PUBLIC | R_SECRET | R_BODY | R_NOAPP,
	  PERM_SELF },
	{ "GET", "/api/v1/me/app-passwords", api_app_passwords_list, R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/app-passwords", api_app_passwords_create, R_BODY | R_NOAPP, PERM_SELF },
	{ "DELETE", "/api/v1/me/app-passwords/*", api_app_password_delete, R_NOAPP, PERM_SELF },
};
const size_t api_access_n_routes = ARRAY_SIZE(api_access_routes);
