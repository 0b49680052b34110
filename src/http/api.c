/*
 * JSON API v1 handlers (docs/api.md). Each runs after dispatch() has authenticated,
 * checked CSRF and authorized the request; each acts in req->session's tenant only.
 *
 * SECURITY: login answers one generic 401 for every refusal; account URLs are looked up
 * inside the caller's tenant, so another tenant's accounts are "not found". Every change
 * is recorded by the service call, in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "auth/access.h"
#include "core/clock.h"
#include "auth/mfa.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http_int.h"
#include "lifecycle/lifecycle.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!us)
		return json_null();
	clock_format_utc(us, buf, sizeof(buf));
	return json_string(buf);
}

static enum MHD_Result api_status(struct request *req)
{
	struct clock_sync cs = { 0 };
	json_t *clock;
	/* a health check that says ok only when this node can reach its database: one
	 * round trip (a load balancer polls this; a lost PostgreSQL connection is noticed
	 * here, and the next request's db_thread opens a new one) */
	struct db_stmt *probe = db_query(req->db, "SELECT 1", "");
	int alive = db_step(probe);   /* a NULL statement steps to -EIO */

	db_done(probe);
	if (alive <= 0) {
		log_error("http.status", "the database does not answer: %s", db_errmsg(req->db));
		http_add_header(req, "Retry-After", "5");
		return http_problem(req, 503, "unavailable", "the database does not answer; try again shortly", NULL);
	}
	if (clock_sync_state(&cs) == 0)
		clock = json_pack("{s:b, s:I, s:I}", "synchronized", cs.synchronized, "estimated_error_us",
				  (json_int_t)cs.est_error_us, "maximum_error_us", (json_int_t)cs.max_error_us);
	else
		clock = json_pack("{s:n}", "synchronized");
	return http_json(req, 200, json_pack("{s:s, s:s, s:o, s:o}", "status", "ok", "version",
					     KURA_VERSION, "time", time_json(clock_now_us()), "clock", clock));
}

static enum MHD_Result api_provider(struct request *req)
{
	const struct config *c = req->srv->cfg;

	return http_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", c->provider_name,
					     "address", c->provider_address, "contact", c->provider_contact,
					     "data_location", c->data_location, "jurisdiction",
					     c->jurisdiction, "time_zone", c->default_zone));
}

static json_t *me_json(const struct account *a, const char *tenant_code, const char *tenant_name)
{
	json_t *obj = account_json(a);

	if (obj) {
		json_object_del(obj, "locked");
		json_object_set_new(obj, "tenant", json_pack("{s:s, s:s}", "code", tenant_code, "name", tenant_name));
	}
	return obj;
}

static void set_session_cookie(struct request *req, const char *token)
{
	char cookie[128];

	str_printf(cookie, sizeof(cookie), "kura_session=%s; Path=/; HttpOnly; Secure; SameSite=Strict",
		   token);
	http_add_header(req, "Set-Cookie", cookie);
	sodium_memzero(cookie, sizeof(cookie));
}

/* The login record of a session opened with a client certificate: its SHA-256 and subject
 * (issue 16), beside the "session.create" of the login itself. */
static int login_cert_record(struct request *req, const struct tenant *t, const struct account *a)
{
	struct clientcert_seen seen;
	char target[KURA_LOGIN_MAX + 16];
	json_t *det;
	int r;

	clientcert_describe(req->cert_der, req->cert_len, &seen);
	str_printf(target, sizeof(target), "account:%s", a->login);
	det = json_pack("{s:s, s:s}", "sha256", seen.sha256, "subject", seen.subject);
	r = db_begin(req->db);
	if (r == 0)
		r = audit_record(req->db, &(struct audit_event){ .tenant_id = t->id, .actor = &req->actor,
							       .category = AUDIT_AUTHENTICATION,
							       .action = "session.client_certificate", .target = target,
							       .result = AUDIT_SUCCESS, .details = det });
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0)
		db_rollback(req->db);
	json_decref(det);
	return r;
}

/* The 201 answer of a completed login: the session cookie, CSRF token and the account. */
static enum MHD_Result login_done(struct request *req, const struct tenant *t, const struct account *a,
				  const char *auth_method)
{
	char token[TOKEN_STR_LEN + 1], csrf[TOKEN_STR_LEN + 1];
	int64_t expires;
	json_t *body;
	int r;

	char cert[CLIENTCERT_SHA256_HEX];

	http_cert_bound(req, t->id, t->code, a, cert);
	r = session_create_cert(req->db, a, auth_method, cert, req->client_ip, req->user_agent, token, csrf,
				&expires);
	if (r == 0 && *cert)
		r = login_cert_record(req, t, a);
	if (r < 0)
		return http_internal_error(req, r);
	set_session_cookie(req, token);
	body = json_pack("{s:s, s:o, s:i, s:o}", "csrf_token", csrf, "expires_at", time_json(expires),
			 "idle_timeout_seconds", (int)session_idle_seconds(), "account",
			 me_json(a, t->code, t->name));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(csrf, sizeof(csrf));
	if (body && !strcmp(auth_method, "recovery_code")) {
		/* the login spent a recovery code: how many are left, for the page to say */
		struct mfa_state ms;

		if (mfa_state_get(req->db, t->id, a->id, &ms) == 0)
			json_object_set_new(body, "recovery_codes_remaining", json_integer(ms.n_recovery));
	}
	return http_json(req, 201, body);
}

/* The 401 of a refused login, with where the login name stands (auth.h login_standing):
 * "remaining" wrong secrets before the lock, and "locked_until" while locked. A name with no
 * account answers the same shape and count (account.c "standing"; docs/security.md). */
static enum MHD_Result login_refused_with(struct request *req, const struct login_standing *st)
{
	json_t *extra = json_pack("{s:I}", "remaining", (json_int_t)st->remaining);

	if (extra && st->locked_until_us > clock_now_us())
		json_object_set_new(extra, "locked_until", time_json(st->locked_until_us));
	return http_problem_more(req, 401, "authentication-failed",
				 "the tenant, login ID or password is wrong, or the account cannot log in", NULL,
				 extra);
}

/* ... for the password step, by the names the client sent */
static enum MHD_Result login_failed_answer(struct request *req, const char *tenant, const char *login)
{
	struct login_standing st;
	int r = account_login_standing(req->db, tenant, login, &st);

	return r < 0 ? http_internal_error(req, r) : login_refused_with(req, &st);
}

/* ... for the second step, by the account of the challenge */
static enum MHD_Result second_failed_answer(struct request *req, const struct tenant *t,
					    const struct account *a)
{
	struct login_standing st;
	int r = account_standing_id(req->db, t->id, a->id, &st);

	return r < 0 ? http_internal_error(req, r) : login_refused_with(req, &st);
}

/* Client certificates (issue 16): when the policy requires one of the account, it is checked
 * before the password (a thief with the password alone cannot even try it) and refused like
 * a wrong password, recorded with the reason; counted against the address, not the account. */
static bool login_cert_ok(struct request *req, const struct tenant *t, const struct account *a,
			  const char *password, enum MHD_Result *ret)
{
	struct login_standing st;
	int err = 0;

	if (http_cert_ok(req, t->id, t->code, a, NULL, "session.create", NULL, &err))
		return true;
	if (err < 0) {
		*ret = http_internal_error(req, err);
		return false;
	}
	if (password)
		pwhash_verify_dummy(password);
	access_login_failed(req);
	if (!password) {   /* the second step: the challenge showed the account exists already */
		*ret = second_failed_answer(req, t, a);
		return false;
	}
	/* the password step answers what a login name without an account would (security
	 * review: the account's own standing never moved for these, so it told them apart) */
	err = account_cert_refused(req->db, t->id, a->login, &st);
	*ret = err < 0 ? http_internal_error(req, err) : login_refused_with(req, &st);
	return false;
}

/* Two steps when the account has a second factor (auth/mfa.h): {tenant, login, password}
 * answers 202 with a challenge; {challenge, otp | recovery_code | webauthn} answers 201. */
static enum MHD_Result api_login(struct request *req)
{
	const char *tenant = NULL, *login = NULL, *password = NULL;
	const char *challenge = NULL, *otp = NULL, *recovery = NULL;
	json_t *webauthn = NULL;
	const struct field spec[] = {
		{ .name = "tenant", .kind = FIELD_STRING, .max_chars = KURA_TENANT_CODE_MAX * 4,
		  .ret_str = &tenant },
		{ .name = "login", .kind = FIELD_STRING, .max_chars = KURA_LOGIN_MAX * 4, .ret_str = &login },
		{ .name = "password", .kind = FIELD_STRING, .max_chars = KURA_PASSWORD_MAX,
		  .ret_str = &password },
		{ .name = "challenge", .kind = FIELD_STRING, .max_chars = TOKEN_STR_LEN * 2,
		  .ret_str = &challenge },
		{ .name = "otp", .kind = FIELD_STRING, .max_chars = 16, .ret_str = &otp },
		{ .name = "recovery_code", .kind = FIELD_STRING, .max_chars = 64, .ret_str = &recovery },
		{ .name = "webauthn", .kind = FIELD_OBJECT },
	};
	struct mfa_login ml = { 0 };
	bool known = false;
	struct tenant t;
	struct account a;
	enum MHD_Result res;
	char detail[64];
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	webauthn = json_object_get(req->json, "webauthn");
	if (challenge) {
		if (tenant || login || password)
			return http_problem(req, 400, "invalid-field",
					    "send either tenant, login and password, or a challenge with one second factor",
					    tenant ? "tenant" : login ? "login" : "password");
		if ((otp != NULL) + (recovery != NULL) + (webauthn != NULL) != 1)
			return http_problem(req, 400, "invalid-field",
					    "with a challenge send exactly one of otp, recovery_code, webauthn", "challenge");
		if (!access_throttle_check(req, &res))   /* access: per-address delay */
			return res;
		/* access: the allowlist again, in case the challenge moved to another address, and
		 * before the second factor is tried: a refusal spends and records nothing of it */
		known = mfa_login_whose(req->db, challenge, &t, &a) == 0;
		if (known && (!access_login_address_ok(req, &t, &a, &res) || !login_cert_ok(req, &t, &a, NULL, &res)))
			return res;
		r = mfa_login_finish(req->db, &req->actor, challenge, otp, recovery, webauthn, &t, &a);
		if (r == -ETIMEDOUT) {
			access_login_failed(req);   /* access: per-address count */
			return http_problem(req, 401, "challenge-expired",
					    "this sign-in step has expired or is used up; log in again", "challenge");
		}
		if (r == -EACCES) {
			access_login_failed(req);   /* access: per-address count */
			if (!known)   /* the account went meanwhile */
				return http_problem(req, 401, "challenge-expired",
						    "this sign-in step has expired or is used up; log in again",
						    "challenge");
			return second_failed_answer(req, &t, &a);
		}
		if (r < 0)
			return http_internal_error(req, r);
		return login_done(req, &t, &a, otp ? "totp" : recovery ? "recovery_code" : "webauthn");
	}
	if (otp || recovery || webauthn)
		return http_problem(req, 400, "invalid-field", "a second factor needs the challenge of the password step",
				    otp ? "otp" : recovery ? "recovery_code" : "webauthn");
	if (!tenant || !login || !password) {
		const char *missing = !tenant ? "tenant" : !login ? "login" : "password";

		str_printf(detail, sizeof(detail), "%s: is required", missing);
		return http_problem(req, 400, "invalid-field", detail, missing);
	}
	/* access: per-address throttle and source-IP allowlist, before the password */
	if (!access_login_precheck(req, tenant, login, password, &res))
		return res;
	if (account_login_valid(login) && tenant_find(req->db, tenant, &t) == 0 &&
	    account_get(req->db, t.id, login, &a) == 0 && !login_cert_ok(req, &t, &a, password, &res))
		return res;
	r = account_authenticate(req->db, &req->actor, tenant, login, password, &t, &a);
	if (r == -EACCES) {
		access_login_failed(req);   /* access: per-address count; lock mail */
		return login_failed_answer(req, tenant, login);
	}
	if (r == -EAGAIN) {
		json_t *body;

		r = mfa_login_begin(req->db, &a, &ml);
		if (r < 0)
			return http_internal_error(req, r);
		body = json_pack("{s:b, s:s, s:O, s:o}", "mfa_required", 1, "challenge", ml.challenge, "methods",
				 ml.methods, "expires_at", time_json(ml.expires_us));
		if (body && ml.webauthn)
			json_object_set(body, "webauthn", ml.webauthn);
		mfa_login_clear(&ml);
		return http_json(req, 202, body);
	}
	if (r < 0)
		return http_internal_error(req, r);
	return login_done(req, &t, &a, "password");
}

static enum MHD_Result api_logout(struct request *req)
{
	char target[KURA_LOGIN_MAX + 16];
	int r;

	str_printf(target, sizeof(target), "account:%s", req->session.account.login);
	r = db_begin(req->db);
	if (r == 0)
		r = session_end(req->db, req->session.id);
	if (r == 0)
		r = http_audit(req, 0, AUDIT_AUTHENTICATION, "session.delete", target, AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0) {
		db_rollback(req->db);
		return http_internal_error(req, r);
	}
	http_add_header(req, "Set-Cookie", "kura_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
	return http_empty(req, 204);
}

static enum MHD_Result api_me(struct request *req)
{
	return http_json(req, 200, me_json(&req->session.account, req->session.tenant_code,
					   req->session.tenant_name));
}

bool http_reauth(struct request *req, const char *password, enum MHD_Result *ret)
{
	int r;

	/* re-authentication is a password guess like a login: same per-address delay */
	if (!access_throttle_check(req, ret))
		return false;
	r = account_verify_password(req->db, &req->actor, req->session.account.tenant_id,
				    req->session.account.id, password);
	if (r == -EACCES) {
		throttle_failure(req->db, req->client_ip);
		*ret = http_problem(req, 403, "permission-denied", "the password is wrong", "password");
		return false;
	}
	if (r < 0) {
		*ret = http_internal_error(req, r);
		return false;
	}
	return true;
}

/* Tells the old address that an account's e-mail changed (a stolen session must not
 * quietly redirect reset mail). Best effort after the change committed: logged if it
 * cannot be queued. */
static void email_change_notice(struct request *req, int64_t tenant_id, const char *login,
				const char *old_email, const char *new_email)
{
	const struct mail_var vars[] = {
		MAIL_TEXT("login", login),
		MAIL_TEXT("tenant_code", req->session.tenant_code),
		MAIL_TEXT("new_email", new_email),
	};
	const struct mail m = { .name = "email-changed", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	int r;

	r = db_begin(req->db);
	if (r == 0)
		r = mail_queue(req->db, tenant_id, old_email, &m, NULL);
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0) {
		db_rollback(req->db);
		log_warn("mail.notice", "could not queue the e-mail change notice: %d", r);
	}
	mailer_wake(req->srv->mailer);
}

/* Own profile: display name freely; e-mail only with the current password (C4), and the old
 * address is told of the change, so a stolen session cannot quietly redirect reset mail. */
static enum MHD_Result api_me_patch(struct request *req)
{
	const char *email = NULL, *display_name = NULL, *password = NULL;
	const struct field spec[] = {
		{ .name = "email", .kind = FIELD_STRING, .max_chars = KURA_EMAIL_MAX, .ret_str = &email },
		{ .name = "display_name", .kind = FIELD_STRING, .max_chars = KURA_DISPLAY_NAME_MAX,
		  .ret_str = &display_name },
		{ .name = "password", .kind = FIELD_STRING, .max_chars = KURA_PASSWORD_MAX * 2,
		  .ret_str = &password },
	};
	struct account_change c = { 0 };
	const struct account *me = &req->session.account;
	struct account a;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (email && !mail_address_valid(email))
		return http_problem(req, 400, "invalid-field", "email: must be one address like name@example.com",
				    "email");
	if (display_name && !account_display_name_valid(display_name))
		return http_problem(req, 400, "invalid-field", "display_name: must be text without control characters",
				    "display_name");
	if (email && !password)
		return http_problem(req, 400, "invalid-field", "password: changing the e-mail needs the current password",
				    "password");
	if (password && !http_reauth(req, password, &res))
		return res;
	c.email = email;
	c.display_name = display_name;
	r = account_update(req->db, &req->actor, me->tenant_id, me->login, &c, &a);
	if (r < 0)
		return http_internal_error(req, r);
	if (email && strcmp(email, me->email))
		email_change_notice(req, me->tenant_id, me->login, me->email, email);
	return http_json(req, 200, me_json(&a, req->session.tenant_code, req->session.tenant_name));
}

static enum MHD_Result weak_password(struct request *req, enum password_problem p, const char *field)
{
	return http_problem_more(req, 400, "weak-password", password_problem_text(p), field,
				 json_pack("{s:s}", "problem", password_problem_code(p)));
}

static enum MHD_Result api_me_password(struct request *req)
{
	const char *current = NULL, *next = NULL;
	const struct field spec[] = {
		{ .name = "current_password", .kind = FIELD_STRING, .required = true,
		  .max_chars = KURA_PASSWORD_MAX, .ret_str = &current },
		{ .name = "new_password", .kind = FIELD_STRING, .required = true,
		  .max_chars = KURA_PASSWORD_MAX * 2, .ret_str = &next },
	};
	enum password_problem problem;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = account_change_password(req->db, &req->actor, req->session.account.tenant_id,
				    req->session.account.id, current, next, req->session.id, &problem);
	if (r == -EACCES)
		return http_problem(req, 403, "permission-denied", "the current password is wrong",
				    "current_password");
	if (r == -EINVAL)
		return weak_password(req, problem, "new_password");
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

/* 410 with "reason": used, expired or invalid (auth.h invitation_why) */
static enum MHD_Result invitation_gone(struct request *req)
{
	return http_problem_more(req, 410, "invitation-invalid", "ask your manager for a new invitation", NULL,
				 json_pack("{s:s}", "reason", invitation_why(req->db, req->params[0])));
}

static enum MHD_Result api_invitation_get(struct request *req)
{
	char tenant[KURA_TENANT_CODE_MAX + 1], login[KURA_LOGIN_MAX + 1];
	int64_t expires;
	int r = invitation_peek(req->db, req->params[0], tenant, sizeof(tenant), login, sizeof(login), &expires);

	if (r == -ENOENT)
		return invitation_gone(req);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:s, s:s, s:o}", "tenant", tenant, "login", login,
					     "expires_at", time_json(expires)));
}

static enum MHD_Result api_invitation_accept(struct request *req)
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
	r = invitation_accept(req->db, &req->actor, req->params[0], password, &problem);
	if (r == -ENOENT)
		return invitation_gone(req);
	if (r == -EINVAL)
		return weak_password(req, problem, "password");
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

/* The contract (A4) with the service catalog applied (docs/lifecycle.md "Service catalog"):
 * the effective retention, erasure deadline, notice channels, operator access and initial
 * state with the service each comes from, the features in force, and each contracted
 * service's responsibility boundary and options. */
static enum MHD_Result api_tenant(struct request *req)
{
	struct tenant t;
	json_t *j;
	int r = tenant_get(req->db, req->session.account.tenant_id, &t);

	if (r < 0)
		return http_internal_error(req, r);
	j = tenant_contract_json(req->db, &t, true);
	if (!j)
		return http_internal_error(req, -EIO);
	/* the end of the contract when one is scheduled (B3): the day, the erasure deadline,
	 * what will be erased and how to export; null otherwise */
	json_object_set_new(j, "termination", lifecycle_json(req->db, t.id, false));
	return http_json(req, 200, j);
}

/* D4: a manager turns sharing, WebDAV or app passwords on (or off again). Members left out
 * stay as they are. */
static enum MHD_Result api_tenant_features_patch(struct request *req)
{
	int want[CATALOG_N_FEATURES] = { -1, -1, -1 };
	bool now[CATALOG_N_FEATURES];
	const struct field spec[] = {
		{ .name = "sharing", .kind = FIELD_BOOL, .ret_bool = &want[CATALOG_FEATURE_SHARING] },
		{ .name = "webdav", .kind = FIELD_BOOL, .ret_bool = &want[CATALOG_FEATURE_WEBDAV] },
		{ .name = "app_passwords", .kind = FIELD_BOOL, .ret_bool = &want[CATALOG_FEATURE_APP_PASSWORDS] },
	};
	enum MHD_Result res;
	json_t *j;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = tenant_features_set(req->db, &req->actor, req->session.account.tenant_id, want, now);
	if (r < 0)
		return http_internal_error(req, r);
	j = json_object();
	for (size_t i = 0; i < CATALOG_N_FEATURES; i++)
		json_object_set_new(j, catalog_feature_name(i), json_boolean(now[i]));
	return http_json(req, 200, j);
}

static bool page_param(struct request *req, const char *key, int64_t def, int64_t min, int64_t max,
		       int64_t *ret, enum MHD_Result *ret_res)
{
	const char *v = http_query(req, key);
	char detail[96];

	*ret = def;
	if (!v)
		return true;
	if (safe_atoi64(v, ret) < 0 || *ret < min || *ret > max) {
		str_printf(detail, sizeof(detail), "%s: must be a number from %lld to %lld", key,
			   (long long)min, (long long)max);
		*ret_res = http_problem(req, 400, "invalid-field", detail, key);
		return false;
	}
	return true;
}

/* ?q= ?role= ?status= of GET /api/v1/accounts into f (absent or empty: any). */
static bool account_filter_take(struct request *req, struct account_filter *f, enum MHD_Result *ret_res)
{
	const char *v;

	memset(f, 0, sizeof(*f));
	if ((v = http_query(req, "q")) && *v) {
		if (strlen(v) > KURA_ACCOUNT_QUERY_MAX || !utf8_is_clean_text(v, strlen(v))) {
			*ret_res = http_problem(req, 400, "invalid-field", "q: at most 254 bytes of text", "q");
			return false;
		}
		f->q = v;
	}
	if ((v = http_query(req, "role")) && *v) {
		if (role_parse(v) == ROLE_NONE) {
			*ret_res = http_problem(req, 400, "invalid-field", "role: must be \"manager\" or \"user\"",
						"role");
			return false;
		}
		f->role = v;
	}
	if ((v = http_query(req, "status")) && *v) {
		if (!account_filter_status_valid(v)) {
			*ret_res = http_problem(req, 400, "invalid-field",
						"status: must be invited, active, suspended or locked", "status");
			return false;
		}
		f->status = v;
	}
	return true;
}

static enum MHD_Result api_accounts_list(struct request *req)
{
	struct account_filter f;
	int64_t limit, offset, total = 0;
	enum MHD_Result res;
	json_t *items;
	int r;

	if (!page_param(req, "limit", KURA_PAGE_DEFAULT, 1, KURA_PAGE_MAX, &limit, &res) ||
	    !page_param(req, "offset", 0, 0, INT32_MAX, &offset, &res) || !account_filter_take(req, &f, &res))
		return res;
	r = account_list(req->db, req->session.account.tenant_id, &f, limit, offset, &items, &total);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o, s:I, s:I, s:I}", "items", items, "limit", (json_int_t)limit,
					     "offset", (json_int_t)offset, "total", (json_int_t)total));
}

static enum MHD_Result account_not_found(struct request *req)
{
	return http_problem(req, 404, "not-found", "no such account in this tenant", NULL);
}

static enum MHD_Result api_accounts_create(struct request *req)
{
	const char *login = NULL, *email = NULL, *role = NULL, *display_name = NULL;
	const struct field spec[] = {
		{ .name = "login", .kind = FIELD_STRING, .required = true, .max_chars = KURA_LOGIN_MAX,
		  .ret_str = &login },
		{ .name = "email", .kind = FIELD_STRING, .required = true, .max_chars = KURA_EMAIL_MAX,
		  .ret_str = &email },
		{ .name = "role", .kind = FIELD_STRING, .required = true, .max_chars = 16, .ret_str = &role },
		{ .name = "display_name", .kind = FIELD_STRING, .max_chars = KURA_DISPLAY_NAME_MAX,
		  .ret_str = &display_name },
	};
	struct tenant t;
	struct account a;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!account_login_valid(login))
		return http_problem(req, 400, "invalid-field",
				    "login: must be 1 to 64 characters of a-z 0-9 . _ -, starting with a letter or digit",
				    "login");
	if (!mail_address_valid(email))
		return http_problem(req, 400, "invalid-field", "email: must be one address like name@example.com",
				    "email");
	if (role_parse(role) == ROLE_NONE)
		return http_problem(req, 400, "invalid-field", "role: must be \"manager\" or \"user\"", "role");
	if (display_name && !account_display_name_valid(display_name))
		return http_problem(req, 400, "invalid-field", "display_name: must be text without control characters",
				    "display_name");
	r = tenant_get(req->db, req->session.account.tenant_id, &t);
	if (r == 0)
		r = account_invite(req->db, &req->actor, &t, login, email, role, display_name, &a, NULL, 0);
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "an account with this login exists", "login");
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "the tenant has reached its account limit", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	mailer_wake(req->srv->mailer);
	return http_json(req, 201, account_json(&a));
}

static enum MHD_Result api_account_get(struct request *req)
{
	json_t *obj = NULL;
	int r = account_login_valid(req->params[0])
			? account_get_detail(req->db, req->session.account.tenant_id, req->params[0], &obj)
			: -ENOENT;

	if (r == -ENOENT)
		return account_not_found(req);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, obj);
}

static enum MHD_Result api_account_patch(struct request *req)
{
	static const char *const states[] = { "active", "suspended", NULL };
	struct account_change c = { 0 };
	struct account before;
	bool notify_old = false;
	const struct field spec[] = {
		{ .name = "status", .kind = FIELD_ENUM, .values = states, .ret_str = &c.status },
		{ .name = "role", .kind = FIELD_STRING, .max_chars = 16, .ret_str = &c.role },
		{ .name = "display_name", .kind = FIELD_STRING, .max_chars = KURA_DISPLAY_NAME_MAX,
		  .ret_str = &c.display_name },
		{ .name = "email", .kind = FIELD_STRING, .max_chars = KURA_EMAIL_MAX, .ret_str = &c.email },
	};
	struct account a;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (c.role && role_parse(c.role) == ROLE_NONE)
		return http_problem(req, 400, "invalid-field", "role: must be \"manager\" or \"user\"", "role");
	if (c.email && !mail_address_valid(c.email))
		return http_problem(req, 400, "invalid-field", "email: must be one address like name@example.com",
				    "email");
	if (c.display_name && !account_display_name_valid(c.display_name))
		return http_problem(req, 400, "invalid-field", "display_name: must be text without control characters",
				    "display_name");
	if (!account_login_valid(req->params[0]))
		return account_not_found(req);
	if (c.email && !strcmp(req->params[0], req->session.account.login))
		return http_problem(req, 409, "conflict",
				    "change your own e-mail with PATCH /api/v1/me and your current password",
				    "email");
	if (c.email && account_get(req->db, req->session.account.tenant_id, req->params[0], &before) == 0 &&
	    strcmp(before.email, c.email))
		notify_old = true;
	r = account_update(req->db, &req->actor, req->session.account.tenant_id, req->params[0], &c, &a);
	if (r == 0 && notify_old)
		email_change_notice(req, req->session.account.tenant_id, a.login, before.email, a.email);
	if (r == -ENOENT)
		return account_not_found(req);
	if (r == -EPERM)
		return http_problem(req, 409, "conflict",
				    "not allowed: it would act on yourself, remove the last active manager, "
				    "or activate an account that has not accepted its invitation", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, account_json(&a));
}

static enum MHD_Result api_account_delete(struct request *req)
{
	int r = account_login_valid(req->params[0])
			? account_delete(req->db, &req->actor, req->session.account.tenant_id, req->params[0])
			: -ENOENT;

	if (r == -ENOENT)
		return account_not_found(req);
	if (r == -EPERM)
		return http_problem(req, 409, "conflict",
				    "not allowed: you cannot delete yourself or the last active manager", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_account_unlock(struct request *req)
{
	int r = account_login_valid(req->params[0])
			? account_unlock(req->db, &req->actor, req->session.account.tenant_id, req->params[0])
			: -ENOENT;

	if (r == -ENOENT)
		return account_not_found(req);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: the session, the caller's account, invitations, the tenant and its
 * accounts (docs/api.md). server.c composes every file's slice into the route table
 * (docs/HACKING.md "How to add an endpoint"). */
const struct route api_routes[] = {
	{ "GET", "/api/v1/status", api_status, R_PUBLIC, PERM_SELF },
	{ "GET", "/api/v1/provider", api_provider, R_PUBLIC, PERM_SELF },
	{ "POST", "/api/v1/session", api_login, R_PUBLIC | R_BODY | R_NOAPP, PERM_SELF },
	{ "DELETE", "/api/v1/session", api_logout, R_PWCHANGE | R_MFAENROL | R_NOAPP, PERM_SELF },
	{ "GET", "/api/v1/me", api_me, R_PWCHANGE | R_MFAENROL, PERM_SELF },
	{ "PATCH", "/api/v1/me", api_me_patch, R_BODY | R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/password", api_me_password, R_BODY | R_PWCHANGE | R_NOAPP, PERM_SELF },
	{ "GET", "/api/v1/invitations/*", api_invitation_get, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "POST", "/api/v1/invitations/*", api_invitation_accept, R_PUBLIC | R_SECRET | R_BODY, PERM_SELF },
	{ "GET", "/api/v1/tenant", api_tenant, 0, PERM_TENANT_READ },
	{ "PATCH", "/api/v1/tenant/features", api_tenant_features_patch, R_BODY | R_NOAPP, PERM_SECURITY_WRITE },
	{ "GET", "/api/v1/accounts", api_accounts_list, 0, PERM_ACCOUNT_READ },
	{ "POST", "/api/v1/accounts", api_accounts_create, R_BODY, PERM_ACCOUNT_WRITE },
	{ "GET", "/api/v1/accounts/*", api_account_get, 0, PERM_ACCOUNT_READ },
	{ "PATCH", "/api/v1/accounts/*", api_account_patch, R_BODY, PERM_ACCOUNT_WRITE },
	{ "DELETE", "/api/v1/accounts/*", api_account_delete, 0, PERM_ACCOUNT_WRITE },
	{ "POST", "/api/v1/accounts/*/unlock", api_account_unlock, 0, PERM_ACCOUNT_WRITE },
};
const size_t api_n_routes = ARRAY_SIZE(api_routes);
