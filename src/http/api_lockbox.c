/*
 * Operator access by approval (C7, issue 9; docs/api.md, docs/security.md):
 *   GET   /api/v1/access-requests                the tenant's requests, newest first, paged
 *   GET   /api/v1/access-requests/{id}           one, with its approvals and what was read under it
 *   POST  /api/v1/access-requests/{id}/approve   a manager's approval (the policy may want two)
 *   POST  /api/v1/access-requests/{id}/deny      refuses it
 *   POST  /api/v1/access-requests/{id}/revoke    ends a request or grant at once
 *   GET   /api/v1/access-policy                  how many distinct managers must approve
 *   PATCH /api/v1/access-policy                  {"approvals_required": 1 | 2}
 *
 * SECURITY: the tenant is the session's, never a parameter; a request is looked up by
 * (tenant, id), so another tenant's id is a 404 like one that does not exist. Reads need
 * PERM_SECURITY_READ, decisions PERM_SECURITY_WRITE (managers), never an app password
 * (R_NOAPP: a secret kept in a client's configuration must not open the tenant to the
 * provider), and CSRF like every mutating request. Each decision is recorded in the tenant's
 * log by files/lockbox.c in its own transaction.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/limits.h"
#include "files/lockbox.h"
#include "http/http_int.h"
#include "notify/notify.h"
#include "store/db.h"

static bool take_id(struct request *req, int64_t *ret, enum MHD_Result *res)
{
	if (req->n_params < 1 || safe_atoi64(req->params[0], ret) < 0 || *ret <= 0) {
		*res = http_problem(req, 404, "not-found", "no such access request", NULL);
		return false;
	}
	return true;
}

static enum MHD_Result api_access_requests_list(struct request *req)
{
	static const char *const states[] = { "pending", "approved", "denied", "revoked", "lapsed", "expired" };
	const char *v, *state = NULL;
	int64_t before = 0, limit = KURA_ACCESS_LIST_MAX;
	json_t *out = NULL;
	int r;

	if ((v = http_query(req, "state"))) {
		for (size_t i = 0; i < ARRAY_SIZE(states); i++)
			if (!strcmp(v, states[i]))
				state = states[i];
		if (!state)
			return http_problem(req, 400, "invalid-parameter",
					    "state is pending, approved, denied, revoked, lapsed or expired", "state");
	}
	if ((v = http_query(req, "before")) && (safe_atoi64(v, &before) < 0 || before < 1))
		return http_problem(req, 400, "invalid-parameter", "before is a request id", "before");
	if ((v = http_query(req, "limit")) && (safe_atoi64(v, &limit) < 0 || limit < 1 || limit > KURA_ACCESS_LIST_MAX))
		return http_problem(req, 400, "invalid-parameter", "limit is 1 to 100", "limit");
	r = lockbox_list(req->db, req->session.account.tenant_id, state, before, limit, &out);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, out);
}

static enum MHD_Result api_access_request_get(struct request *req)
{
	struct lockbox_request lr;
	enum MHD_Result res;
	int64_t id;
	json_t *j;
	int r;

	if (!take_id(req, &id, &res))
		return res;
	r = lockbox_get(req->db, req->session.account.tenant_id, id, &lr);
	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such access request", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	j = lockbox_json(req->db, &lr, true);
	if (!j)
		return http_internal_error(req, -ENOMEM);
	return http_json(req, 200, j);
}

typedef int decide_fn(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		      struct lockbox_request *ret);

static enum MHD_Result decide(struct request *req, decide_fn *fn)
{
	struct lockbox_request lr;
	enum MHD_Result res;
	int64_t id;
	int r;

	if (!take_id(req, &id, &res))
		return res;
	r = fn(req->db, &req->actor, req->session.account.tenant_id, id, &lr);
	switch (r) {
	case 0: return http_json(req, 200, lockbox_json(req->db, &lr, false));
	case -ENOENT: return http_problem(req, 404, "not-found", "no such access request", NULL);
	case -EALREADY:
		return http_problem(req, 409, "already-approved",
				    "you approved this request already: another manager's approval is needed", NULL);
	case -EPERM:
		return http_problem(req, 409, "access-request-closed",
				    "this request is no longer open (decided, lapsed, ended or revoked)", NULL);
	default: return http_internal_error(req, r);
	}
}

static enum MHD_Result api_access_request_approve(struct request *req)
{
	return decide(req, lockbox_approve);
}

static enum MHD_Result api_access_request_deny(struct request *req)
{
	return decide(req, lockbox_deny);
}

static enum MHD_Result api_access_request_revoke(struct request *req)
{
	return decide(req, lockbox_revoke);
}

static enum MHD_Result api_access_policy_get(struct request *req)
{
	int64_t n = 1;
	int r = lockbox_policy_get(req->db, req->session.account.tenant_id, &n);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:I}", "approvals_required", (json_int_t)n));
}

static enum MHD_Result api_access_policy_patch(struct request *req)
{
	int64_t n = 0;
	const struct field spec[] = {
		{ .name = "approvals_required", .kind = FIELD_INT, .required = true, .min = 1, .max = 2, .ret_int = &n },
	};
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = lockbox_policy_set(req->db, &req->actor, req->session.account.tenant_id, n);
	if (r == -EINPROGRESS)
		mailer_wake(req->srv->mailer);
	if (r == -EINPROGRESS)
		return http_json(req, 202, json_pack("{s:I, s:b, s:s}", "approvals_required", (json_int_t)2,
						     "lowering_requested", true, "detail",
						     "recorded: another manager must confirm lowering the rule to one"));
	if (r < 0)
		return http_internal_error(req, r);
	return api_access_policy_get(req);
}

const struct route api_lockbox_routes[] = {
	{ "GET", "/api/v1/access-requests", api_access_requests_list, R_NOAPP, PERM_SECURITY_READ },
	{ "GET", "/api/v1/access-requests/*", api_access_request_get, R_NOAPP, PERM_SECURITY_READ },
	{ "POST", "/api/v1/access-requests/*/approve", api_access_request_approve, R_NOAPP, PERM_SECURITY_WRITE },
	{ "POST", "/api/v1/access-requests/*/deny", api_access_request_deny, R_NOAPP, PERM_SECURITY_WRITE },
	{ "POST", "/api/v1/access-requests/*/revoke", api_access_request_revoke, R_NOAPP, PERM_SECURITY_WRITE },
	{ "GET", "/api/v1/access-policy", api_access_policy_get, R_NOAPP, PERM_SECURITY_READ },
	{ "PATCH", "/api/v1/access-policy", api_access_policy_patch, R_BODY | R_NOAPP, PERM_SECURITY_WRITE },
};
const size_t api_lockbox_n_routes = ARRAY_SIZE(api_lockbox_routes);
