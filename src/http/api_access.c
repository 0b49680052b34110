/*
 * Access controls on the public listener (C3, C4, D3; docs/security.md): the client
 * address behind trusted proxies, the per-request source-IP allowlist check, the app
 * password branch of the session step, the login pre-check (per-address throttle and
 * allowlist before the password is looked at), and the handlers for the allowlist, the
 * tenant's lockout settings, password reset (with its page) and app passwords.
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
	if (throttle_delay(req->client_ip, req->request_id, &retry) == -EBUSY) {
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
		throttle_failure(req->client_ip);
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
	return true;
}

bool access_request_allowed(struct request *req, const char *method, enum MHD_Result *ret)
{
	char target[KURA_LOGIN_MAX + 16];
	int r = allowlist_check(req->db, req->session.account.tenant_id, req->session.account.role,
				req->client_ip);

	if (r == -EACCES) {
		char detail[INET6_ADDRSTRLEN + 96];

		str_printf(target, sizeof(target), "account:%s", req->session.account.login);
		if (!req->app_password_id) {
			/* the session's address left the list: the session ends now */
			r = db_begin(req->db);
			if (r == 0)
				r = session_end(req->db, req->session.id);
			if (r == 0)
				r = audit_address(req, 0, "session.end", target, "ip-not-allowed");
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
			r = audit_address(req, 0, "app_password.authenticate", target, "ip-not-allowed");
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

	if (throttle_delay(req->client_ip, req->request_id, &retry) != -EBUSY)
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

	throttle_failure(req->client_ip);
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
	throttle_failure(req->client_ip);
	mailer_wake(req->srv->mailer);   /* a lock may have queued mail */
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

static enum MHD_Result api_security_get(struct request *req)
{
	return security_view(req, 200);
}

static enum MHD_Result api_security_patch(struct request *req)
{
	int64_t vals[3] = { 0, 0, 0 };
	enum field_state state[3];
	bool changed[3];
	struct field spec[3];
	struct lockout_policy set;
	enum MHD_Result res;
	size_t i;
	int r;

	/* each an integer within its bounds, or null: back to the deployment default */
	for (i = 0; i < 3; i++)
		spec[i] = (struct field){ .name = lockout_fields[i].name, .kind = FIELD_INT,
					  .min = lockout_fields[i].min, .max = lockout_fields[i].max,
					  .nullable = true, .ret_int = &vals[i], .ret_state = &state[i] };
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
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
		return http_problem(req, 410, "reset-token-invalid", "ask for a new password reset link", NULL);
	if (r == -EINVAL)
		return http_problem(req, 400, "weak-password", password_problem_text(problem), "password");
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
	if (!*name || !utf8_is_clean_text(name, strlen(name)))
		return http_problem(req, 400, "invalid-field", "name: must be 1 to 100 characters of text", "name");
	r = apppass_create(req->db, &req->actor, req->session.account.tenant_id, req->session.account.id, name,
			   scope, secret, sizeof(secret), &item);
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
	{ "POST", "/api/v1/password-reset/*", api_password_reset_complete, R_PUBLIC | R_SECRET | R_BODY | R_NOAPP,
	  PERM_SELF },
	{ "GET", "/api/v1/me/app-passwords", api_app_passwords_list, R_NOAPP, PERM_SELF },
	{ "POST", "/api/v1/me/app-passwords", api_app_passwords_create, R_BODY | R_NOAPP, PERM_SELF },
	{ "DELETE", "/api/v1/me/app-passwords/*", api_app_password_delete, R_NOAPP, PERM_SELF },
};
const size_t api_access_n_routes = ARRAY_SIZE(api_access_routes);
