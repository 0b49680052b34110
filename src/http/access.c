/*
 * The access controls of the request gate on the public listener (C3, C4, D3;
 * docs/security.md): the client address behind trusted proxies, the per-request source-IP
 * allowlist check, the app password branch of the session step, and the login pre-check
 * (per-address throttle and allowlist before the password is looked at). Declared in
 * http/access.h; server.c and api.c call them. The API handlers for these settings are in
 * api_access.c.
 *
 * SECURITY: the allowlist refusal at login is decided before and independently of the
 * password (a dummy Argon2id verification keeps the timing), so a 403 never says the
 * password was right and outside attempts cannot lock an account. A session whose address
 * leaves the list is ended on the spot. App passwords are taken only as HTTP Basic, only
 * without a session cookie, never on routes marked R_NOAPP, and a read-only one only for
 * GET/HEAD. Basic requests carry no cookie and so need no CSRF token; a browser never
 * holds Basic credentials for kura because the API never sends a Basic challenge, and a
 * mutating Basic request that a browser marks as cross-site (Sec-Fetch-Site) is refused
 * all the same. Every refusal is an audit record with the address.
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

/* ---------------------------------------------------------------- client address */

int access_configure(struct http_server *srv, char *err, size_t err_size)
{
	char msg[200];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r = ipnet_parse_list(srv->cfg->trusted_proxies, srv->trusted, ARRAY_SIZE(srv->trusted),
				 &srv->n_trusted, msg, sizeof(msg));

	if (r < 0)
		str_printf(err, err_size, "%s: [server] trusted_proxies: %s", srv->cfg->path, msg);
	if (r == 0) {
		r = ipnet_parse_list(srv->cfg->client_cert_proxies, srv->cert_proxies, ARRAY_SIZE(srv->cert_proxies),
				     &srv->n_cert_proxies, msg, sizeof(msg));
		if (r < 0)
			str_printf(err, err_size, "%s: [server] client_cert_proxies: %s", srv->cfg->path, msg);
	}
	/* the same worker count http_start uses */
	throttle_configure(srv->cfg->threads ? srv->cfg->threads : cpus > 0 ? (unsigned)cpus : 1);
	return r;
}

struct xff_sum {
	char buf[KURA_XFF_MAX_BYTES + 2];
	size_t n;
	bool too_long;
};

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				   const char *value, size_t value_size)
{
	struct xff_sum *x = cls;

	(void)kind;
	(void)key_size;
	if (strcasecmp(key, "X-Forwarded-For"))
		return MHD_YES;
	/* several headers are one list (RFC 9110 5.3), in order */
	if (x->n + value_size + 1 > KURA_XFF_MAX_BYTES) {
		x->too_long = true;
		return MHD_NO;
	}
	if (x->n)
		x->buf[x->n++] = ',';
	memcpy(x->buf + x->n, value, value_size);
	x->n += value_size;
	x->buf[x->n] = '\0';
	return MHD_YES;
}

void access_resolve_client(struct request *req)
{
	struct xff_sum *x;
	char peer[INET6_ADDRSTRLEN];

	if (req->srv->n_trusted == 0)
		return;
	x = arena_alloc(req->arena, sizeof(*x));
	if (!x) {
		req->client_ip[0] = '\0';   /* unknown: fails closed */
		return;
	}
	x->n = 0;
	x->too_long = false;
	x->buf[0] = '\0';
	MHD_get_connection_values_n(req->con, MHD_HEADER_KIND, collect_xff, x);
	str_copy(peer, sizeof(peer), req->client_ip);
	if (x->too_long) {
		struct ipnet p;

		/* only a trusted peer's header counts, so only then is "too long" a refusal */
		if (ipaddr_parse(peer, &p) == 0) {
			size_t i;

			for (i = 0; i < req->srv->n_trusted; i++)
				if (ipnet_contains(&req->srv->trusted[i], &p))
					req->client_ip[0] = '\0';
		}
		return;
	}
	client_address_resolve(req->srv->trusted, req->srv->n_trusted, peer, x->n ? x->buf : NULL,
			       req->client_ip, sizeof(req->client_ip));
}

/* ---------------------------------------------------------------- per request */

bool access_has_basic(struct request *req)
{
	const char *h = MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	return h && *h;
}

static int audit_address(struct request *req, int64_t tenant_id, const char *action, const char *target,
			 const char *reason)
{
	json_t *d = json_pack("{s:s, s:s}", "reason", reason, "address", req->client_ip);
	int r = audit_record(req->db, &(struct audit_event){ .tenant_id = tenant_id, .actor = &req->actor,
				     .category = AUDIT_AUTHENTICATION, .action = action,
				     .target = target, .result = AUDIT_DENIED, .details = d });

	json_decref(d);
	return r;
}

bool access_authenticate_basic(struct request *req, enum MHD_Result *ret)
{
	const char *h = MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *site = MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, "Sec-Fetch-Site");
	char user[KURA_LOGIN_MAX + KURA_TENANT_CODE_MAX + 2], secret[APPPASS_SECRET_LEN + 2];
	char target[KURA_LOGIN_MAX + KURA_TENANT_CODE_MAX + 16];
	int64_t retry = 0;
	bool ro = false;
	int r;

	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD") && site && strcmp(site, "same-origin") &&
	    strcmp(site, "none")) {
		*ret = http_problem(req, 403, "csrf-token-invalid", "cross-site request with HTTP Basic", NULL);
		return false;
	}
	if (throttle_delay(req->db, req->client_ip, req->request_id, &retry) == -EBUSY) {
		char v[24];

		str_printf(v, sizeof(v), "%lld", (long long)retry);
		http_add_header(req, "Retry-After", v);
		*ret = http_problem(req, 429, "too-many-requests", "too many failed attempts from your address", NULL);
		return false;
	}
	r = basic_auth_parse(h, user, sizeof(user), secret, sizeof(secret));
	/* WebDAV: /dav/<tenant>/ names the tenant, so "login" alone means login@tenant */
	if (r == 0 && req->basic_tenant && !strchr(user, '@') && strlen(user) <= KURA_LOGIN_MAX &&
	    strlen(req->basic_tenant) <= KURA_TENANT_CODE_MAX) {
		char full[sizeof(user)];

		str_printf(full, sizeof(full), "%s@%s", user, req->basic_tenant);
		str_copy(user, sizeof(user), full);
	}
	if (r == 0)
		r = apppass_authenticate(req->db, user, secret, req->client_ip, &req->session,
					 &req->app_password_id, &ro);
	sodium_memzero(secret, sizeof(secret));
	if (r == -EINVAL || r == -ENOENT) {
		throttle_failure(req->db, req->client_ip);
		str_printf(target, sizeof(target), "app-password:%s", r == -EINVAL ? "" : user);
		r = audit_address(req, 0, "app_password.authenticate", target, "bad credentials");
		(void)r;   /* the refusal stands either way */
		*ret = http_problem(req, 401, "authentication-failed",
				    "HTTP Basic needs login@tenant and a valid app password", NULL);
		return false;
	}
	if (r < 0) {
		*ret = http_internal_error(req, r);
		return false;
	}
	req->has_session = true;
	req->app_password_read_only = ro;
	req->actor.type = ACTOR_ACCOUNT;
	req->actor.tenant_id = req->session.account.tenant_id;
	req->actor.account_id = req->session.account.id;
	req->actor.name = req->session.account.login;
	/* D4: app passwords of a tenant that has them off do not sign in */
	if (!http_feature_on(req, req->session.account.tenant_id, CATALOG_FEATURE_APP_PASSWORDS,
			     AUDIT_AUTHENTICATION, "app_password.authenticate", ret)) {
		req->has_session = false;
		return false;
	}
	/* client certificates (issue 16): the same refusal as a wrong app password */
	if (!http_cert_ok(req, req->session.account.tenant_id, req->session.tenant_code, &req->session.account,
			  NULL, "app_password.authenticate", NULL, &r)) {
		req->has_session = false;
		*ret = r < 0 ? http_internal_error(req, r)
			     : http_problem(req, 401, "authentication-failed",
					    "HTTP Basic needs login@tenant and a valid app password", NULL);
		return false;
	}
	return true;
}

const struct tenant_settings *http_tenant_settings(struct request *req, int64_t tenant_id, int *ret_err)
{
	struct tenant_settings *s;
	int r;

	*ret_err = 0;
	/* SECURITY: only the session's own tenant, at the generation read with its row */
	if (!req->has_session || !req->session.settings_gen_read || tenant_id <= 0 ||
	    tenant_id != req->session.account.tenant_id)
		return NULL;
	if (req->settings && req->settings_tenant == tenant_id)
		return req->settings;
	s = arena_alloc(req->arena, sizeof(*s));
	if (!s) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	r = tenant_settings_get(req->db, tenant_id, req->session.tenant_code, req->session.settings_gen, s);
	if (r < 0) {
		*ret_err = r;
		return NULL;
	}
	req->settings = s;
	req->settings_tenant = tenant_id;
	return s;
}

int http_mfa_gate(struct request *req, bool *ret)
{
	int r;
	const struct tenant_settings *s = http_tenant_settings(req, req->session.account.tenant_id, &r);

	if (r < 0)
		return r;
	return s ? mfa_gate_policy(req->db, &req->session.account, &s->mfa, req->session.second_factor, ret)
		 : mfa_gate(req->db, &req->session.account, req->session.second_factor, ret);
}

bool access_request_allowed(struct request *req, const char *method, enum MHD_Result *ret)
{
	char target[KURA_LOGIN_MAX + 16];
	int r;
	const struct tenant_settings *s = http_tenant_settings(req, req->session.account.tenant_id, &r);

	if (s)
		r = allowlist_permits(&s->allow, req->session.account.role, req->client_ip) ? 0 : -EACCES;
	else if (r == 0)
		r = allowlist_check(req->db, req->session.account.tenant_id, req->session.account.role,
				    req->client_ip);

	if (r == -EACCES) {
		char detail[INET6_ADDRSTRLEN + 96];

		/* recorded in the tenant's own log, like the login refusal: its managers see why a
		 * session ended or an app password was refused (F4) */
		str_printf(target, sizeof(target), "account:%s", req->session.account.login);
		if (!req->app_password_id) {
			/* the session's address left the list: the session ends now */
			r = db_begin(req->db);
			if (r == 0)
				r = session_end(req->db, req->session.id);
			if (r == 0)
				r = audit_address(req, req->session.account.tenant_id, "session.end", target,
						  "ip-not-allowed");
			if (r == 0)
				r = db_commit(req->db);
			if (r < 0) {
				db_rollback(req->db);
				*ret = http_internal_error(req, r);
				return false;
			}
			http_add_header(req, "Set-Cookie",
					"kura_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
		} else {
			r = audit_address(req, req->session.account.tenant_id, "app_password.authenticate", target,
					  "ip-not-allowed");
			(void)r;
		}
		str_printf(detail, sizeof(detail), "your address %s is not in your tenant's allowed networks",
			   *req->client_ip ? req->client_ip : "(unknown)");
		*ret = http_problem(req, 403, "ip-not-allowed", detail, NULL);
		return false;
	}
	if (r < 0) {
		*ret = http_internal_error(req, r);
		return false;
	}
	if (req->app_password_id && req->app_password_read_only && strcmp(method, "GET") &&
	    !(req->dav && dav_method_is_read(method))) {
		json_t *d = json_pack("{s:s, s:s, s:I}", "path", req->path, "method", req->method,
				      "app_password", (json_int_t)req->app_password_id);

		r = http_audit(req, 0, AUDIT_ACCESS, "permission.denied", req->path, AUDIT_DENIED, d);
		json_decref(d);
		(void)r;
		*ret = http_problem(req, 403, "permission-denied",
				    "this app password is read-only (GET and HEAD; PROPFIND and OPTIONS on WebDAV)",
				    NULL);
		return false;
	}
	return true;
}

bool access_throttle_check(struct request *req, enum MHD_Result *ret)
{
	int64_t retry = 0;
	char v[24];

	if (throttle_delay(req->db, req->client_ip, req->request_id, &retry) != -EBUSY)
		return true;
	str_printf(v, sizeof(v), "%lld", (long long)retry);
	http_add_header(req, "Retry-After", v);
	*ret = http_problem(req, 429, "too-many-requests", "too many failed attempts from your address; wait", NULL);
	return false;
}

/* The login refusal for an address outside the list: audit record, 403. */
static enum MHD_Result login_refused(struct request *req, int64_t tenant_id, const char *login)
{
	char target[KURA_LOGIN_MAX + 16], detail[INET6_ADDRSTRLEN + 96];
	int r;

	throttle_failure(req->db, req->client_ip);
	str_printf(target, sizeof(target), "account:%.64s", login);
	r = db_begin(req->db);
	if (r == 0)
		r = audit_address(req, tenant_id, "session.create", target, "ip-not-allowed");
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0) {
		db_rollback(req->db);
		return http_internal_error(req, r);
	}
	str_printf(detail, sizeof(detail), "your address %s is not in the tenant's allowed networks",
		   *req->client_ip ? req->client_ip : "(unknown)");
	return http_problem(req, 403, "ip-not-allowed", detail, NULL);
}

bool access_login_address_ok(struct request *req, const struct tenant *t, const struct account *a,
			     enum MHD_Result *ret)
{
	int r = allowlist_check(req->db, t->id, a->role, req->client_ip);

	if (r == 0)
		return true;
	*ret = r == -EACCES ? login_refused(req, t->id, a->login) : http_internal_error(req, r);
	return false;
}

bool access_login_precheck(struct request *req, const char *tenant, const char *login,
			   const char *password, enum MHD_Result *ret)
{
	int64_t tenant_id = 0;
	int r;

	if (!access_throttle_check(req, ret))
		return false;
	r = allowlist_login_check(req->db, tenant, login, req->client_ip, &tenant_id);
	if (r == 0)
		return true;
	if (r != -EACCES) {
		*ret = http_internal_error(req, r);
		return false;
	}
	/* refused before the password is looked at; same time as a verification */
	pwhash_verify_dummy(password);
	*ret = login_refused(req, tenant_id, login);
	return false;
}

void access_login_failed(struct request *req)
{
	throttle_failure(req->db, req->client_ip);
	mailer_wake(req->srv->mailer);   /* a lock may have queued mail */
}

bool http_feature_on(struct request *req, int64_t tenant_id, enum catalog_feature f, enum audit_category cat,
		     const char *action, enum MHD_Result *ret)
{
	static const char *const what[CATALOG_N_FEATURES] = {
		"sharing with outside parties is off for this tenant; a manager can turn it on (Contract page)",
		"WebDAV is off for this tenant; a manager can turn it on (Contract page)",
		"app passwords are off for this tenant; a manager can turn them on (Contract page)",
	};
	_Static_assert(CATALOG_N_FEATURES <= ARRAY_SIZE(req->features), "request's feature memo");
	bool *on = req->features;
	json_t *d;
	int r;

	/* read once per request: an app password's sign-in and the WebDAV gate both ask, within
	 * the request's one read snapshot (db.h db_read_begin), so a second read could only
	 * answer the same */
	if (tenant_id <= 0 || req->features_tenant != tenant_id) {
		const struct tenant_settings *s = http_tenant_settings(req, tenant_id, &r);

		if (s)
			memcpy(on, s->features, sizeof(s->features));
		else if (r == 0)
			r = tenant_features_get(req->db, tenant_id, on);
		if (r < 0) {
			req->features_tenant = 0;
			*ret = http_internal_error(req, r);
			return false;
		}
		req->features_tenant = tenant_id;
	}
	if (on[f])
		return true;
	d = json_pack("{s:s}", "feature", catalog_feature_name(f));
	r = http_audit(req, tenant_id, cat, action, catalog_feature_name(f), AUDIT_DENIED, d);
	json_decref(d);
	(void)r;   /* refused either way */
	*ret = http_problem(req, 403, "feature-off", what[f], NULL);
	return false;
}
