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

/* ---------------------------------------------------------------- JSON helpers */

/* Refuses members not in names[]. */
static bool only_members(struct request *req, const char *const *names, size_t n, enum MHD_Result *ret)
{
	const char *key;
	json_t *v;
	char detail[160];
	size_t i;

	json_object_foreach(req->json, key, v) {
		for (i = 0; i < n && strcmp(names[i], key); i++)
			;
		if (i == n) {
			str_printf(detail, sizeof(detail), "unknown member \"%.64s\"", key);
			*ret = http_problem(req, 400, "invalid-field", detail, key);
			return false;
		}
	}
	return true;
}

/* Optional boolean member: -1 absent, 0/1; false after a 400. */
static bool take_bool(struct request *req, const char *name, int *val, enum MHD_Result *ret)
{
	json_t *v = json_object_get(req->json, name);
	char detail[96];

	*val = -1;
	if (!v)
		return true;
	if (!json_is_boolean(v)) {
		str_printf(detail, sizeof(detail), "%s: must be true or false", name);
		*ret = http_problem(req, 400, "invalid-field", detail, name);
		return false;
	}
	*val = json_is_true(v);
	return true;
}

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

enum MHD_Result api_ip_allowlist_get(struct request *req)
{
	struct allowlist *al = arena_alloc(req->arena, sizeof(*al));
	int r = al ? allowlist_get(req->db, req->session.account.tenant_id, al) : -ENOMEM;

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, allowlist_view(req, al));
}

enum MHD_Result api_ip_allowlist_put(struct request *req)
{
	static const char *const names[] = { "ranges", "apply_to_all_users", "confirm_lockout" };
	struct allowlist *al = arena_alloc(req->arena, sizeof(*al));
	json_t *ranges = json_object_get(req->json, "ranges"), *v;
	char detail[200], field[32];
	enum MHD_Result res;
	int all, confirm, r;
	size_t i, j;

	if (!al)
		return http_internal_error(req, -ENOMEM);
	if (!only_members(req, names, ARRAY_SIZE(names), &res) ||
	    !take_bool(req, "apply_to_all_users", &all, &res) || !take_bool(req, "confirm_lockout", &confirm, &res))
		return res;
	if (!json_is_array(ranges))
		return http_problem(req, 400, "invalid-field",
				    "ranges: is required, an array of CIDR strings (may be empty)", "ranges");
	if (json_array_size(ranges) > KURA_IP_ALLOWLIST_MAX) {
		str_printf(detail, sizeof(detail), "ranges: at most %d ranges", KURA_IP_ALLOWLIST_MAX);
		return http_problem(req, 400, "invalid-field", detail, "ranges");
	}
	memset(al, 0, sizeof(*al));
	al->apply_to_all = all == 1;
	json_array_foreach(ranges, i, v) {
		struct ipnet net;
		char why[160];

		str_printf(field, sizeof(field), "ranges[%zu]", i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			str_printf(detail, sizeof(detail), "%s: must be a string", field);
			return http_problem(req, 400, "invalid-field", detail, field);
		}
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
	int r = lockout_policy_get(req->db, req->session.account.tenant_id, &eff);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, status,
			 json_pack("{s:i, s:i, s:i, s:{s:i, s:i, s:i}}", "lockout_threshold", (int)eff.threshold,
				   "lockout_window_seconds", (int)eff.window_s, "lockout_duration_seconds",
				   (int)eff.duration_s, "defaults", "lockout_threshold", (int)def.threshold,
				   "lockout_window_seconds", (int)def.window_s, "lockout_duration_seconds",
				   (int)def.duration_s));
}

enum MHD_Result api_security_get(struct request *req)
{
	return security_view(req, 200);
}

enum MHD_Result api_security_patch(struct request *req)
{
	const char *names[3] = { lockout_fields[0].name, lockout_fields[1].name, lockout_fields[2].name };
	uint32_t vals[3] = { 0, 0, 0 };
	bool changed[3] = { false, false, false };
	struct lockout_policy set;
	enum MHD_Result res;
	char detail[160];
	size_t i;
	int r;

	if (!only_members(req, names, 3, &res))
		return res;
	for (i = 0; i < 3; i++) {
		json_t *v = json_object_get(req->json, names[i]);
		json_int_t n;

		if (!v)
			continue;
		changed[i] = true;
		if (json_is_null(v))
			continue;   /* back to the deployment default */
		n = json_is_integer(v) ? json_integer_value(v) : -1;
		if (n < lockout_fields[i].min || n > lockout_fields[i].max) {
			str_printf(detail, sizeof(detail), "%s: must be an integer from %u to %u, or null for the default",
				   names[i], lockout_fields[i].min, lockout_fields[i].max);
			return http_problem(req, 400, "invalid-field", detail, names[i]);
		}
		vals[i] = (uint32_t)n;
	}
	set.threshold = vals[0];
	set.window_s = vals[1];
	set.duration_s = vals[2];
	r = lockout_policy_set(req->db, &req->actor, req->session.account.tenant_id, &set, changed);
	if (r < 0)
		return http_internal_error(req, r);
	return security_view(req, 200);
}

/* ---------------------------------------------------------------- password reset */

enum MHD_Result api_password_reset_request(struct request *req)
{
	const char *tenant = NULL, *login = NULL;
	const struct field spec[] = {
		{ "tenant", FIELD_STRING, true, KURA_TENANT_CODE_MAX * 4, &tenant, NULL },
		{ "login", FIELD_STRING, true, KURA_LOGIN_MAX * 4, &login, NULL },
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

enum MHD_Result api_password_reset_complete(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ "password", FIELD_STRING, true, KURA_PASSWORD_MAX * 2, &password, NULL },
	};
	enum password_problem problem;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = reset_complete(req->db, &req->actor, req->params[0], password, &problem);
	if (r == -ENOENT)
		return http_problem(req, 410, "reset-token-invalid", "ask for a new password reset link", NULL);
	if (r == -EINVAL)
		return http_problem(req, 400, "weak-password", password_problem_text(problem), "password");
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

enum MHD_Result api_account_password_reset(struct request *req)
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

enum MHD_Result api_app_passwords_list(struct request *req)
{
	json_t *items = NULL;
	int r = apppass_list(req->db, req->session.account.tenant_id, req->session.account.id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

enum MHD_Result api_app_passwords_create(struct request *req)
{
	const char *name = NULL, *scope = NULL;
	const struct field spec[] = {
		{ "name", FIELD_STRING, true, KURA_APP_PASSWORD_NAME_MAX, &name, NULL },
		{ "scope", FIELD_STRING, true, 16, &scope, NULL },
	};
	char secret[APPPASS_SECRET_LEN + 1];
	json_t *item = NULL;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!*name || !utf8_is_clean_text(name, strlen(name)))
		return http_problem(req, 400, "invalid-field", "name: must be 1 to 100 characters of text", "name");
	if (strcmp(scope, "read") && strcmp(scope, "read-write"))
		return http_problem(req, 400, "invalid-field", "scope: must be \"read\" or \"read-write\"", "scope");
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

enum MHD_Result api_app_password_delete(struct request *req)
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
