/*
 * JSON API v1: multi-factor authentication (C3) — the account's own second factors
 * (/api/v1/me/mfa…, /api/v1/me/recovery-codes) and the tenant's MFA policy
 * (/api/v1/tenant/mfa-policy). docs/api.md lists them; docs/security.md explains them.
 *
 * SECURITY: every change asks for the current password again (account_verify_password,
 * which counts a wrong one toward the lockout); everything acts on the session's own
 * account in the session's own tenant, so there is no way to name another tenant's account
 * or credential. Secrets (TOTP secret, recovery codes) appear in exactly one answer and are
 * wiped from our buffers after it is queued.
 */
#include <stdlib.h>

#include <sodium.h>

#include "auth/mfa.h"
#include "http/http_int.h"
#include "store/db.h"

static enum MHD_Result not_allowed(struct request *req)
{
	return http_problem(req, 403, "mfa-not-allowed",
			    "your tenant's MFA policy is \"off\" for your role; ask a manager", NULL);
}

/* The answer that carries fresh recovery codes wipes them from memory once it is queued. */
static enum MHD_Result json_with_codes(struct request *req, unsigned status, json_t *obj,
				       recovery_codes_t codes, bool issued)
{
	enum MHD_Result res;

	if (obj && issued)
		json_object_set_new(obj, "recovery_codes", recovery_codes_json(codes));
	res = http_json(req, status, obj);
	sodium_memzero(codes, sizeof(recovery_codes_t));
	return res;
}

static enum MHD_Result api_me_mfa(struct request *req)
{
	const struct account *a = &req->session.account;
	struct mfa_state s;
	bool gate = false;
	json_t *obj, *creds = NULL;
	int r;

	r = mfa_state_get(req->db, a->tenant_id, a->id, &s);
	if (r == 0)
		r = mfa_enrolment_required(req->db, a, &gate);
	if (r == 0)
		r = webauthn_list(req->db, a->tenant_id, a->id, &creds);
	if (r < 0)
		return http_internal_error(req, r);
	obj = mfa_state_json(&s, gate);
	if (obj)
		json_object_set_new(json_object_get(obj, "webauthn"), "credentials", creds);
	else
		json_decref(creds);
	return http_json(req, 200, obj);
}

static enum MHD_Result api_me_totp_begin(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	struct totp_enrolment e = { 0 };
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res) || !http_reauth(req, password, &res))
		return res;
	r = totp_begin(req->db, &req->actor, &req->session.account, req->session.tenant_code, &e);
	if (r == -EPERM)
		return not_allowed(req);
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "TOTP is enrolled already; remove it first", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	res = http_json(req, 201, json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "secret", e.secret_b32,
					    "otpauth_uri", e.uri, "qr_svg", e.qr_svg, "digits", 6,
					    "period", KURA_TOTP_STEP_S, "algorithm", "SHA1"));
	totp_enrolment_clear(&e);
	return res;
}

static enum MHD_Result api_me_totp_confirm(struct request *req)
{
	const char *code = NULL;
	const struct field spec[] = {
		{ .name = "code", .kind = FIELD_STRING, .required = true, .max_chars = 16, .ret_str = &code },
	};
	recovery_codes_t codes;
	bool issued = false;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = totp_confirm(req->db, &req->actor, req->session.id, &req->session.account, code, codes, &issued);
	if (r == -ENOENT)
		return http_problem(req, 409, "conflict", "no TOTP enrolment is waiting; begin with POST /api/v1/me/mfa/totp",
				    NULL);
	if (r == -EACCES)
		return http_problem(req, 400, "mfa-code-invalid", "the code does not match; check the device's clock",
				    "code");
	if (r < 0)
		return http_internal_error(req, r);
	return json_with_codes(req, 200, json_pack("{s:b}", "totp", 1), codes, issued);
}

static enum MHD_Result api_me_totp_delete(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res) || !http_reauth(req, password, &res))
		return res;
	r = totp_remove(req->db, &req->actor, req->session.id, &req->session.account);
	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no TOTP is enrolled", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_me_recovery_codes(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	recovery_codes_t codes;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res) || !http_reauth(req, password, &res))
		return res;
	r = recovery_regenerate(req->db, &req->actor, req->session.id, &req->session.account, codes);
	if (r == -EPERM)
		return http_problem(req, 409, "conflict", "recovery codes need a second factor; enrol one first", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return json_with_codes(req, 200, json_object(), codes, true);
}

static enum MHD_Result api_me_webauthn_register(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	enum MHD_Result res;
	json_t *opts = NULL;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res) || !http_reauth(req, password, &res))
		return res;
	r = webauthn_register_begin(req->db, &req->actor, req->session.id, &req->session.account,
				    req->session.tenant_code, &opts);
	if (r == -EPERM)
		return not_allowed(req);
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "the account has the most authenticators allowed; remove one",
				    NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, opts);
}

static enum MHD_Result api_me_webauthn_finish(struct request *req)
{
	const char *name = NULL, *reason = NULL;
	json_t *credential = NULL, *cred = NULL;
	const struct field spec[] = {
		{ .name = "name", .kind = FIELD_STRING, .required = true, .max_chars = KURA_WEBAUTHN_NAME_MAX,
		  .ret_str = &name },
		{ .name = "credential", .kind = FIELD_OBJECT, .required = true },
	};
	recovery_codes_t codes;
	bool issued = false;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	credential = json_object_get(req->json, "credential");
	r = webauthn_register_finish(req->db, &req->actor, req->session.id, &req->session.account, name,
				     credential, &cred, codes, &issued, &reason);
	if (r == -EINVAL && !name[0])
		return http_problem(req, 400, "invalid-field", "name: 1 to 64 characters of text", "name");
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-field",
				    "credential: a PublicKeyCredential with base64url id, rawId, response."
				    "clientDataJSON and response.attestationObject; name: 1 to 64 characters",
				    "credential");
	if (r == -EACCES || r == -ENOENT) {
		json_t *d = json_pack("{s:s}", "reason", reason ? reason : "");
		int a = http_audit(req, 0, AUDIT_AUTHENTICATION, "mfa.webauthn.register", "webauthn",
				   AUDIT_FAILURE, d);

		json_decref(d);
		if (a < 0)
			return http_internal_error(req, a);
		return http_problem(req, 400, "webauthn-verification-failed", reason, "credential");
	}
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "this authenticator is registered already", "credential");
	if (r < 0)
		return http_internal_error(req, r);
	return json_with_codes(req, 201, cred, codes, issued);
}

static enum MHD_Result api_me_webauthn_list(struct request *req)
{
	json_t *items = NULL;
	int r = webauthn_list(req->db, req->session.account.tenant_id, req->session.account.id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_me_webauthn_delete(struct request *req)
{
	const char *password = NULL;
	const struct field spec[] = {
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	enum MHD_Result res;
	int64_t id;
	int r;

	if (safe_atoi64(req->params[0], &id) < 0 || id <= 0)
		return http_problem(req, 404, "not-found", "no such authenticator", NULL);
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res) || !http_reauth(req, password, &res))
		return res;
	r = webauthn_remove(req->db, &req->actor, req->session.id, &req->session.account, id);
	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such authenticator", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_mfa_policy_get(struct request *req)
{
	struct mfa_policy p;
	int r = mfa_policy_get(req->db, req->session.account.tenant_id, &p);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, mfa_policy_json(&p));
}

static enum MHD_Result api_mfa_policy_patch(struct request *req)
{
	const char *managers = NULL, *users = NULL, *password = NULL;
	const struct field spec[] = {
		{ .name = "managers", .kind = FIELD_STRING, .max_chars = 16, .ret_str = &managers },
		{ .name = "users", .kind = FIELD_STRING, .max_chars = 16, .ret_str = &users },
		{ .name = "password", .kind = FIELD_STRING, .required = true, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
	};
	struct mfa_policy p;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = mfa_policy_get(req->db, req->session.account.tenant_id, &p);
	if (r < 0)
		return http_internal_error(req, r);
	if (managers && (mfa_requirement_parse(managers, &p.managers) < 0 || p.managers == MFA_OFF))
		return http_problem(req, 400, "invalid-field", "managers: must be \"required\" or \"optional\"",
				    "managers");
	if (users && mfa_requirement_parse(users, &p.users) < 0)
		return http_problem(req, 400, "invalid-field", "users: must be \"off\", \"optional\" or \"required\"",
				    "users");
	if (!http_reauth(req, password, &res))
		return res;
	r = mfa_policy_set(req->db, &req->actor, req->session.account.tenant_id, &p);
	if (r < 0)
		return http_internal_error(req, r);
	r = mfa_policy_get(req->db, req->session.account.tenant_id, &p);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, mfa_policy_json(&p));
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: the caller's second factors and the tenant's MFA policy. server.c
 * composes every file's slice into the route table (docs/HACKING.md "How to add an
 * endpoint"). */
const struct route api_mfa_routes[] = {
	{ "GET", "/api/v1/me/mfa", api_me_mfa, R_MFAENROL | R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/mfa/totp", api_me_totp_begin, R_BODY | R_MFAENROL | R_NOAPP, PERM_SELF },
	{ "DELETE", "/api/v1/me/mfa/totp", api_me_totp_delete, R_BODY | R_MFAENROL | R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/mfa/totp/confirm", api_me_totp_confirm, R_BODY | R_MFAENROL | R_NOAPP,
	  PERM_SELF },
	{ "GET", "/api/v1/me/mfa/webauthn", api_me_webauthn_list, R_MFAENROL | R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/mfa/webauthn/register", api_me_webauthn_register, R_BODY | R_MFAENROL | R_NOAPP,
	  PERM_SELF },
	{ "POST", "/api/v1/me/mfa/webauthn/register/finish", api_me_webauthn_finish, R_BODY | R_MFAENROL | R_NOAPP,
	  PERM_SELF },
	{ "DELETE", "/api/v1/me/mfa/webauthn/*", api_me_webauthn_delete, R_BODY | R_MFAENROL | R_NOAPP,
	  PERM_SELF },
	{ "POST", "/api/v1/me/recovery-codes", api_me_recovery_codes, R_BODY | R_MFAENROL | R_NOAPP,
	  PERM_SELF },
	{ "GET", "/api/v1/tenant/mfa-policy", api_mfa_policy_get, 0, PERM_TENANT_READ },
	{ "PATCH", "/api/v1/tenant/mfa-policy", api_mfa_policy_patch, R_BODY | R_NOAPP, PERM_MFA_POLICY_WRITE },
};
const size_t api_mfa_n_routes = ARRAY_SIZE(api_mfa_routes);
