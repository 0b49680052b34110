/*
 * The operator commands: each handler, then the table (command.h) that names them, their
 * arguments, help and view. A handler gets the request's args (checked against its row by
 * mgmt_args_check, so the types are right; the values are its to validate) and returns the
 * socket's response: {"ok": true, "result": …} or {"ok": false, "error": …, "code": …}.
 *
 * SECURITY: every handler acts through the service functions the API uses, with their
 * checks and audit records, the operator (peer uid) as actor (F5). Reads show provider-side
 * state only: contracts, keys, the provider's own audit chain, mail queue counts; never a
 * tenant's content or its audit details (C7). manager.create works only while a tenant has
 * no active manager, so an operator cannot make themselves one later.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "compliance/compliance.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/limits.h"
#include "files/files.h"
#include "lifecycle/lifecycle.h"
#include "files/lockbox.h"
#include "mgmt/mgmt_int.h"
#include "notice/notice.h"
#include "notify/mail.h"
#include "notify/maillog.h"
#include "notify/notify.h"
#include "reports/reports.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"

/* ---------------------------------------------------------------- responses */

json_t *mgmt_fail(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "code", code);
}

#define fail mgmt_fail   /* the short name inside the module */

static json_t *ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_object());
}

static json_t *fail_errno(int r, const char *what)
{
	switch (r) {
	case -ENOENT: return fail("not-found", "%s: not found", what);
	case -EEXIST: return fail("conflict", "%s: exists already", what);
	case -EINVAL: return fail("invalid", "%s: invalid value", what);
	case -EPERM: return fail("conflict", "%s: not allowed in this state", what);
	default: return fail("internal", "%s: failed (%s)", what, strerror(-r));
	}
}

/* Copies a JSON array of strings into a NULL-free vector; -EINVAL on anything else. */
static int string_vector(json_t *arr, const char **vec, size_t max, size_t *ret_n)
{
	size_t i;
	json_t *v;

	*ret_n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max)
		return -EINVAL;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return -EINVAL;
		vec[i] = json_string_value(v);
	}
	*ret_n = json_array_size(arr);
	return 0;
}

static const char *arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* ---------------------------------------------------------------- tenants */

/* "MAIL, DOCX, IAAS, ZTNA or COLLAB" from the catalog */
static void service_names(char *buf, size_t size)
{
	const struct catalog_service *s;

	buf[0] = '\0';
	for (size_t i = 0; (s = catalog_service_at(i)) != NULL; i++) {
		size_t n = strlen(buf);

		str_printf(buf + n, size - n, "%s%s", i == 0 ? "" : i + 1 == CATALOG_N_SERVICES ? " or " : ", ",
			   s->code);
	}
}

static json_t *tenant_create_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *services[KURA_MAX_SERVICES], *options[KURA_MAX_OPTIONS];
	char known[64];
	const char *code = arg(args, "code"), *name = arg(args, "name");
	struct tenant t;
	size_t n_s, n_o;
	int r;

	if (!code || !tenant_code_valid(code))
		return fail("invalid", "tenant code must be 2-32 of a-z 0-9 - (not starting or ending with -)");
	if (!name || !*name)
		return fail("invalid", "--name is required");
	service_names(known, sizeof(known));
	if (string_vector(json_object_get(args, "services"), services, KURA_MAX_SERVICES, &n_s) < 0 || n_s == 0)
		return fail("invalid", "--service takes one or more of %s", known);
	for (size_t i = 0; i < n_s; i++)
		if (!tenant_service_valid(services[i]))
			return fail("invalid", "unknown service \"%s\": use %s", services[i], known);
	if (string_vector(json_object_get(args, "options"), options, KURA_MAX_OPTIONS, &n_o) < 0)
		return fail("invalid", "at most %d options", KURA_MAX_OPTIONS);
	for (size_t i = 0; i < n_o; i++)
		if (!tenant_option_valid(options[i]))
			return fail("invalid", "option \"%s\": 1-64 of A-Z a-z 0-9 . _ - :", options[i]);
	r = tenant_create(c->db, c->op, c->master_key, code, name, services, n_s, options, n_o, &t);
	if (r < 0)
		return fail_errno(r, code);
	return ok(tenant_json(c->db, &t));
}

static json_t *tenant_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *list = tenant_list_json(c->db), *row;
	size_t i;

	if (!list)
		return fail("internal", "cannot read the tenants");
	/* for people, each row with its services and creation time (tenant show's fields);
	 * --json keeps the short rows it always had */
	if (json_is_true(json_object_get(args, "people"))) {
		json_array_foreach(list, i, row) {
			struct tenant t;

			if (tenant_find(c->db, json_string_value(json_object_get(row, "code")), &t) == 0)
				json_array_set_new(list, i, tenant_json(c->db, &t));
		}
	}
	return ok(json_pack("{s:o}", "tenants", list));
}

/* For people: the effective values as one line each ("90 days, today included (DOCX)")
 * instead of the nested members --json keeps. */
static void people_contract(json_t *j)
{
	json_t *e = json_object_get(j, "effective"), *ret = json_object(), *v, *f = json_object_get(j, "features");
	const char *k;
	char line[256];
	size_t i;

	json_object_foreach(json_object_get(e, "retention"), k, v) {
		if (!strcmp(json_string_value(json_object_get(v, "period")), "contract"))
			str_printf(line, sizeof(line), "the contract period (%s)", json_string_value(json_object_get(v, "service")));
		else
			str_printf(line, sizeof(line), "%lld days%s (%s)", (long long)json_integer_value(json_object_get(v, "days")),
				   json_is_true(json_object_get(v, "include_today")) ? " including today" : " before today",
				   json_string_value(json_object_get(v, "service")));
		json_object_set_new(ret, k, json_string(line));
	}
	json_object_set_new(j, "retention", ret);
	v = json_object_get(e, "erasure");
	str_printf(line, sizeof(line), "within %lld days, day 1 = %s (%s)",
		   (long long)json_integer_value(json_object_get(v, "days")),
		   !strcmp(json_string_value(json_object_get(v, "day1")), "after-termination") ? "the day after termination"
											      : "the termination day",
		   json_string_value(json_object_get(v, "service")));
	json_object_set_new(j, "erasure", json_string(line));
	for (int n = 0; n < 2; n++) {
		const char *key = n ? "incident_notices" : "change_notices";
		json_t *ch;

		line[0] = '\0';
		json_array_foreach(json_object_get(e, key), i, ch) {
			size_t len = strlen(line);
			char svcs[64] = "";
			json_t *sv;
			size_t m;

			json_array_foreach(json_object_get(ch, "services"), m, sv) {
				size_t sl = strlen(svcs);

				str_printf(svcs + sl, sizeof(svcs) - sl, "%s%s", m ? "," : "", json_string_value(sv));
			}
			str_printf(line + len, sizeof(line) - len, "%s%s (%s)", i ? ", " : "",
				   json_string_value(json_object_get(ch, "channel")), svcs);
		}
		json_object_set_new(j, key, json_string(line));
	}
	v = json_object_get(e, "operator_access");
	str_printf(line, sizeof(line), "%s (%s)", json_string_value(json_object_get(v, "value")),
		   json_string_value(json_object_get(v, "service")));
	json_object_set_new(j, "operator_access", json_string(line));
	line[0] = '\0';
	json_object_foreach(json_object_get(e, "initial_state"), k, v) {
		size_t len = strlen(line);

		str_printf(line + len, sizeof(line) - len, "%s%s %s (%s)", len ? ", " : "", k,
			   json_is_true(json_object_get(v, "on")) ? "on" : "off",
			   json_string_value(json_object_get(v, "service")));
	}
	json_object_set_new(j, "initial_state", json_string(line));
	line[0] = '\0';
	json_object_foreach(f, k, v) {
		size_t len = strlen(line);

		str_printf(line + len, sizeof(line) - len, "%s%s %s", len ? ", " : "", k, json_is_true(v) ? "on" : "off");
	}
	json_object_set_new(j, "features", json_string(line));
	json_object_del(j, "effective");
}

static void people_termination(json_t *j);

static json_t *tenant_show_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	struct tenant t;
	int r;

	json_t *j;

	r = code ? tenant_find(c->db, code, &t) : -EINVAL;
	if (r < 0)
		return fail_errno(r, code ? code : "tenant");
	/* the contract with the effective catalog values and where each comes from */
	j = tenant_contract_json(c->db, &t, false);
	if (!j)
		return fail("internal", "cannot read the tenant's services");
	if (json_is_true(json_object_get(args, "people")))
		people_contract(j);
	/* the schedule of its end and the erasure deadline (B3), provider-side state */
	json_object_set_new(j, "termination", lifecycle_json(c->db, t.id, true));
	if (json_is_true(json_object_get(args, "people")))
		people_termination(j);
	return ok(j);
}

/* ---------------------------------------------------------------- the contract's end (B3) */

/* The termination as one line for people ("none" when nothing is scheduled). */
static void people_termination(json_t *j)
{
	json_t *t = json_object_get(j, "termination"), *o;
	char line[1024] = "none";
	size_t i;

	const char *state = json_string_value(json_object_get(t, "state"));
	bool erasing = state && !strcmp(state, "erasing");

	if (json_is_object(t) && json_object_get(t, "end_day"))
		str_printf(line, sizeof(line), "%s, last day %s (ends %s), reinstatable until %s, erasure deadline %s%s%s",
			   json_string_value(json_object_get(t, "state")), json_string_value(json_object_get(t, "end_day")),
			   json_string_value(json_object_get(t, "ends_at")),
			   json_string_value(json_object_get(t, "grace_until")),
			   json_string_value(json_object_get(t, "erasure_deadline")),
			   erasing ? ", phase " : "", erasing ? json_string_value(json_object_get(t, "phase")) : "");
	json_array_foreach(json_object_get(t, "options"), i, o) {
		size_t n = strlen(line);

		str_printf(line + n, sizeof(line) - n, "; option %s %s, last day %s, erasure deadline %s",
			   json_string_value(json_object_get(o, "option")), json_string_value(json_object_get(o, "state")),
			   json_string_value(json_object_get(o, "end_day")),
			   json_string_value(json_object_get(o, "erasure_deadline")));
	}
	json_object_set_new(j, "termination", json_string(line));
}

static json_t *lifecycle_fail(int r, const char *code)
{
	switch (r) {
	case -EINVAL: return fail("invalid", "%s: the date must be YYYY-MM-DD, today or later in the tenant's zone", code);
	case -EEXIST: return fail("conflict", "%s: a termination is scheduled already (cancel-termination first)", code);
	case -EPERM: return fail("conflict", "%s: not in this state (see kura admin tenant show %s)", code, code);
	default: return fail_errno(r, code);
	}
}

static json_t *tenant_terminate_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	json_t *res = NULL;
	struct tenant t;
	int r;

	r = code ? tenant_find(c->db, code, &t) : -ENOENT;
	if (r < 0)
		return fail_errno(r, code ? code : "tenant");
	r = lifecycle_terminate(c->db, c->op, t.id, arg(args, "on"), &res);
	if (r < 0)
		return lifecycle_fail(r, code);
	mailer_wake(c->mailer);
	return ok(res);
}

static json_t *tenant_terminate_option_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code"), *option = arg(args, "option");
	json_t *res = NULL;
	struct tenant t;
	int r;

	r = code ? tenant_find(c->db, code, &t) : -ENOENT;
	if (r < 0)
		return fail_errno(r, code ? code : "tenant");
	r = lifecycle_terminate_option(c->db, c->op, t.id, option, arg(args, "on"), &res);
	if (r == -ENOENT)
		return fail("not-found", "%s has no option %s", code, option ? option : "");
	if (r < 0)
		return lifecycle_fail(r, code);
	mailer_wake(c->mailer);
	return ok(res);
}

static json_t *tenant_cancel_termination_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	struct tenant t;
	int r;

	r = code ? tenant_find(c->db, code, &t) : -ENOENT;
	if (r == 0)
		r = lifecycle_cancel(c->db, c->op, t.id);
	if (r == -ENOENT)
		return fail("not-found", "%s: no termination is scheduled", code ? code : "tenant");
	if (r < 0)
		return lifecycle_fail(r, code);
	return ok(json_pack("{s:s, s:s}", "tenant", code, "termination", "cancelled"));
}

static json_t *tenant_reinstate_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	struct tenant t;
	int r;

	r = code ? tenant_find(c->db, code, &t) : -ENOENT;
	if (r == 0)
		r = lifecycle_reinstate(c->db, c->op, t.id);
	if (r == -ENOENT)
		return fail("not-found", "%s: its contract has not ended", code ? code : "tenant");
	if (r == -EPERM)
		return fail("conflict", "%s: the grace period is over (the erasure has started or is done)", code);
	if (r < 0)
		return fail_errno(r, code);
	return ok(json_pack("{s:s, s:s}", "tenant", code, "status", "active"));
}

/* The signed certificate (provider-side: the provider keeps it, B3) or its HTML view. */
static json_t *tenant_certificate_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code"), *format = arg(args, "format");
	char *cert = NULL, *html = NULL;
	struct tenant t;
	json_t *res;
	int r;

	if (format && strcmp(format, "json") && strcmp(format, "html"))
		return fail("invalid", "--format is json or html");
	r = code ? tenant_find(c->db, code, &t) : -ENOENT;
	if (r == 0)
		r = lifecycle_certificate(c->db, t.id, &cert);
	if (r == -ENOENT)
		return fail("not-found", "%s: no erasure certificate (the tenant is not erased)", code ? code : "tenant");
	if (r < 0)
		return fail_errno(r, code);
	if (format && !strcmp(format, "html")) {
		html = certificate_html(cert);
		res = html ? json_pack("{s:s}", "html", html) : NULL;
	} else {
		res = json_pack("{s:s}", "certificate", cert);
	}
	free(cert);
	free(html);
	return res ? ok(res) : fail("internal", "cannot render the certificate");
}

/* The catalog with this deployment's [service.CODE] overrides applied (provider-side data:
 * no tenant is read). For people, one row per service with its main numbers. */
static json_t *service_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	bool people = json_is_true(json_object_get(args, "people"));
	json_t *list = json_array();

	(void)c;
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		json_t *s = tenant_catalog_service_json(i, NULL);

		if (people && s) {
			const struct catalog_params *p = catalog_params_of(i);
			const struct catalog_service *cs = catalog_service_at(i);
			char ret[128] = "", opts[256] = "";

			for (size_t k = 0; k < CATALOG_N_CATEGORIES; k++) {
				size_t n = strlen(ret);

				if (p->retention[k].period == CATALOG_PERIOD_CONTRACT)
					str_printf(ret + n, sizeof(ret) - n, "%scontract", k ? " " : "");
				else
					str_printf(ret + n, sizeof(ret) - n, "%s%u%s", k ? " " : "", p->retention[k].days,
						   p->retention[k].include_today ? "t" : "");
			}
			for (size_t k = 0; k < cs->n_options; k++) {
				size_t n = strlen(opts);

				str_printf(opts + n, sizeof(opts) - n, "%s%s", k ? ", " : "", cs->options[k].code);
			}
			json_decref(s);
			s = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "code", cs->code, "retention", ret,
				      "erasure", "", "access", catalog_access_name(p->operator_access),
				      "initial", "", "options", opts, "name", cs->name_en);
			if (s) {
				char e[48], in[48];

				str_printf(e, sizeof(e), "%u days, day 1 = %s", p->erasure_days,
					   p->erasure_day1_after ? "day after" : "that day");
				str_printf(in, sizeof(in), "sharing %s, webdav %s, app-pw %s",
					   p->initial_on[0] ? "on" : "off", p->initial_on[1] ? "on" : "off",
					   p->initial_on[2] ? "on" : "off");
				json_object_set_new(s, "erasure", json_string(e));
				json_object_set_new(s, "initial", json_string(in));
			}
		}
		if (!s) {
			json_decref(list);
			return fail("internal", "cannot list the catalog");
		}
		json_array_append_new(list, s);
	}
	return ok(json_pack("{s:o}", "services", list));
}

static json_t *tenant_rotate_key_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	int64_t version = 0, n_files = 0;
	struct tenant t;
	int r;

	r = code ? tenant_find(c->db, code, &t) : -EINVAL;
	if (r == 0)
		r = files_rotate_tenant_key(c->db, NULL, c->op, c->master_key, t.id, &version, &n_files);
	if (r < 0)
		return fail_errno(r, code ? code : "tenant");
	return ok(json_pack("{s:s, s:I, s:I}", "tenant", code, "key_version", (json_int_t)version,
			    "files_rewrapped", (json_int_t)n_files));
}

static json_t *tenant_set_quota_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code");
	json_t *q = json_object_get(args, "quota_bytes");
	int64_t quota = 0, used = 0;
	struct tenant t;
	int r;

	if (!json_is_integer(q) || json_integer_value(q) < 0)
		return fail("invalid", "quota must be a whole number of bytes");
	r = code ? tenant_find(c->db, code, &t) : -EINVAL;
	if (r == 0)
		r = files_quota_set(c->db, c->op, t.id, json_integer_value(q));
	if (r == 0)
		r = files_quota(c->db, t.id, &quota, &used);
	if (r < 0)
		return fail_errno(r, code ? code : "tenant");
	return ok(json_pack("{s:s, s:I, s:I}", "tenant", code, "quota_bytes", (json_int_t)quota,
			    "used_bytes", (json_int_t)used));
}

/* ---------------------------------------------------------------- accounts */

static json_t *manager_create_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "tenant"), *login = arg(args, "login"), *email = arg(args, "email");
	int64_t n_active = 0;
	char url[512];
	struct account a;
	struct tenant t;
	json_t *res;
	int r;

	if (!code || !login || !email)
		return fail("invalid", "tenant, login and --email are required");
	r = tenant_find(c->db, code, &t);
	if (r < 0)
		return fail_errno(r, code);
	/* C7: an operator starts a tenant's management, but once it has an active manager
	 * only the tenant invites further managers; otherwise an operator could make
	 * themselves a manager and read the tenant's data without its consent */
	r = account_active_managers(c->db, t.id, &n_active);
	if (r < 0)
		return fail_errno(r, code);
	if (n_active > 0)
		return fail("conflict",
			    "tenant %s has an active manager: its managers invite further managers "
			    "(operators do not act inside a tenant without its approval, C7)",
			    code);
	if (!account_login_valid(login))
		return fail("invalid", "login must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit");
	if (!mail_address_valid(email))
		return fail("invalid", "--email must be one address like name@example.com");
	r = account_invite(c->db, c->op, &t, login, email, "manager", NULL, &a, url, sizeof(url));
	if (r < 0)
		return fail_errno(r, login);
	mailer_wake(c->mailer);
	res = account_json(&a);
	json_object_set_new(res, "tenant", json_string(t.code));
	json_object_set_new(res, "invitation_url", json_string(url));
	return ok(res);
}

static json_t *account_unlock_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "tenant"), *login = arg(args, "login");
	struct tenant t;
	int r;

	if (!code || !login)
		return fail("invalid", "tenant and login are required");
	r = tenant_find(c->db, code, &t);
	if (r < 0)
		return fail_errno(r, code);
	r = account_unlock(c->db, c->op, t.id, login);
	if (r < 0)
		return fail_errno(r, login);
	return ok(json_pack("{s:s, s:s, s:b}", "tenant", code, "login", login, "unlocked", 1));
}

/* ---------------------------------------------------------------- mail */

static json_t *mail_test_cmd(const struct mgmt_ctx *c, json_t *args)
{
	/* a provider mail through the outbox, like every other: its delivery (or the SMTP
	 * error) shows in the delivery log and the server log */
	const char *to = arg(args, "to");
	const struct mail_var vars[] = { MAIL_TIME("sent_at", clock_now_us()) };
	const struct mail test = { .name = "test", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	int64_t id = 0;
	int r;

	if (!to || !mail_address_valid(to))
		return fail("invalid", "give one address like name@example.com");
	r = db_begin(c->db);
	if (r == 0)
		r = mail_queue(c->db, 0, to, &test, &id);
	if (r == 0)
		r = audit_record(c->db, &(struct audit_event){ .tenant_id = 0, .actor = c->op,
					 .category = AUDIT_OPERATOR, .action = "mail.test",
					 .target = "mail", .result = AUDIT_SUCCESS });
	if (r == 0)
		r = db_commit(c->db);
	if (r < 0)
		db_rollback(c->db);
	if (r < 0)
		return fail_errno(r, "mail");
	return ok(json_pack("{s:s, s:I}", "to", to, "outbox_id", (json_int_t)id));
}

/* Counts and times of the whole outbox: whether mail is flowing, nothing of any mail's
 * content (no recipient, subject or body), so it shows no tenant's data (C7). */
static json_t *mail_queue_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *res = NULL;
	int r;

	(void)args;
	r = mail_queue_summary(c->db, &res);
	if (r < 0)
		return fail_errno(r, "mail queue");
	return ok(res);
}

/* ---------------------------------------------------------------- audit */

static json_t *audit_public_key_cmd(const struct mgmt_ctx *c, json_t *args)
{
	char pk[AUDIT_PUBLIC_KEY_HEX];
	json_t *keys;

	(void)args;
	if (audit_public_key_hex(pk) < 0)
		return fail("internal", "the signing key is not loaded");
	keys = audit_keys_json(c->db);
	if (!keys)
		return fail("internal", "cannot read the signing keys");
	return ok(json_pack("{s:s, s:s, s:o}", "algorithm", "ed25519", "public_key", pk, "keys", keys));
}

static json_t *audit_rotate_signing_key_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *res = NULL;
	int r;

	(void)args;
	r = audit_keys_rotate(c->db, c->op, &res);
	if (r == -EBUSY)
		return fail("conflict", "an earlier rotation is not complete yet: restart kura serve to complete it");
	if (r == -E2BIG)
		return fail("conflict", "this deployment has %d signing keys already", KURA_AUDIT_KEYS_MAX);
	if (r < 0)
		return fail_errno(r, "signing key rotation");
	return ok(res);
}

static json_t *audit_verify_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "tenant");
	unsigned char pks[KURA_AUDIT_KEYS_MAX][AUDIT_KEY_BYTES];
	struct audit_verify_result res;
	struct tenant t;
	size_t n_pks = 0;
	int64_t id = 0;
	int r;

	if (!code)
		return fail("invalid", "a tenant code (or \"provider\") is required");
	if (strcmp(code, "provider")) {
		r = tenant_find(c->db, code, &t);
		if (r < 0)
			return fail_errno(r, code);
		id = t.id;
	}
	/* every registered key: each checkpoint verifies with the key that signed it */
	if (audit_keys_list(c->db, pks, ARRAY_SIZE(pks), &n_pks) < 0 || n_pks == 0)
		return fail("internal", "the signing keys are not registered");
	r = audit_verify_db_keys(c->db, id, (const unsigned char (*)[AUDIT_KEY_BYTES])pks, n_pks, &res);
	if (r < 0)
		return fail_errno(r, code);
	r = audit_record(c->db, &(struct audit_event){ .tenant_id = id, .actor = c->op,
				 .category = AUDIT_OPERATOR, .action = "audit.verify", .target = "audit",
				 .result = res.ok ? AUDIT_SUCCESS : AUDIT_FAILURE });
	if (r < 0)
		return fail_errno(r, code);
	return ok(audit_verify_result_json(&res));
}

/* The provider's own chain (tenant 0: requests that named no tenant, operator actions on
 * the provider, key rotations), never a tenant's: a tenant's log is read by its managers
 * through the API (C7). */
static json_t *audit_provider_events_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct audit_filter f = { .limit = KURA_ADMIN_EVENTS_MAX };
	json_t *v, *res;

	f.action = arg(args, "action");
	f.result = arg(args, "result");
	if (f.action && (!*f.action || strlen(f.action) > KURA_AUDIT_FILTER_MAX ||
			 !utf8_is_clean_text(f.action, strlen(f.action))))
		return fail("invalid", "--action is 1-%d bytes of text, e.g. session.create", KURA_AUDIT_FILTER_MAX);
	if (f.result && strcmp(f.result, "success") && strcmp(f.result, "failure") && strcmp(f.result, "denied"))
		return fail("invalid", "--result is success, failure or denied");
	if ((v = json_object_get(args, "after")))
		f.after_seq = json_integer_value(v);
	if ((v = json_object_get(args, "limit"))) {
		f.limit = json_integer_value(v);
		if (f.limit < 1 || f.limit > KURA_ADMIN_EVENTS_MAX)
			return fail("invalid", "--limit is 1 to %d", KURA_ADMIN_EVENTS_MAX);
	}
	res = audit_query(c->db, 0, &f);
	if (!res)
		return fail("internal", "cannot read the provider's audit log");
	return ok(res);
}

/* ---------------------------------------------------------------- announcements, incidents */

/* A positional ID (announcement, incident): 1 or more. */
static int64_t id_arg(json_t *args, const char *key)
{
	int64_t id = 0;
	const char *v = arg(args, key);

	return v && safe_atoi64(v, &id) == 0 && id > 0 ? id : 0;
}

/* An optional RFC 3339 time option into *ret (0 when absent). */
static int time_arg(json_t *args, const char *key, int64_t *ret)
{
	const char *v = arg(args, key);

	*ret = 0;
	return v ? clock_parse_rfc3339(v, ret) : 0;
}

static json_t *announce_create_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct announce_input in = { .kind = arg(args, "kind"), .target = arg(args, "target"),
				     .title_ja = arg(args, "title_ja"), .title_en = arg(args, "title_en"),
				     .body_ja = arg(args, "body_ja"), .body_en = arg(args, "body_en") };
	char err[256];
	int64_t id = 0;
	json_t *res;
	int r;

	if (time_arg(args, "from", &in.from_us) < 0 || time_arg(args, "until", &in.until_us) < 0 ||
	    time_arg(args, "publish", &in.publish_us) < 0)
		return fail("invalid", "times are RFC 3339, e.g. 2026-12-01T22:00:00+09:00");
	if (announce_check(&in, false, err, sizeof(err)) < 0)
		return fail("invalid", "%s", err);
	r = announce_create(c->db, c->op, &in, &id);
	if (r == -ENOENT)
		return fail("not-found", "a tenant of --target does not exist");
	if (r < 0)
		return fail_errno(r, "announcement");
	mailer_wake(c->mailer);
	res = announce_show_json(c->db, id);
	return res ? ok(res) : fail("internal", "announcement %lld: cannot read it back", (long long)id);
}

static json_t *announce_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *list = announce_list_json(c->db);

	(void)args;
	return list ? ok(json_pack("{s:o}", "announcements", list)) : fail("internal", "cannot read the announcements");
}

static json_t *announce_show_cmd(const struct mgmt_ctx *c, json_t *args)
{
	int64_t id = id_arg(args, "id");
	json_t *res = id ? announce_show_json(c->db, id) : NULL;

	return res ? ok(res) : fail("not-found", "no announcement %s", arg(args, "id") ? arg(args, "id") : "");
}

static json_t *announce_edit_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct announce_input in = { .title_ja = arg(args, "title_ja"), .title_en = arg(args, "title_en"),
				     .body_ja = arg(args, "body_ja"), .body_en = arg(args, "body_en") };
	int64_t id = id_arg(args, "id");
	char err[256];
	json_t *res;
	int r;

	if (!id)
		return fail("invalid", "ID is an announcement's number");
	if (time_arg(args, "from", &in.from_us) < 0 || time_arg(args, "until", &in.until_us) < 0)
		return fail("invalid", "times are RFC 3339, e.g. 2026-12-01T22:00:00+09:00");
	if (!in.title_ja && !in.title_en && !in.body_ja && !in.body_en && !in.from_us && !in.until_us)
		return fail("invalid", "give what changes: --title-ja, --title-en, --body-ja-file, --body-en-file,"
				       " --from, --until");
	if (announce_check(&in, true, err, sizeof(err)) < 0)
		return fail("invalid", "%s", err);
	r = announce_edit(c->db, c->op, id, &in);
	if (r == -EPERM)
		return fail("conflict", "announcement %lld is withdrawn", (long long)id);
	if (r < 0)
		return fail_errno(r, "announcement");
	mailer_wake(c->mailer);
	res = announce_show_json(c->db, id);
	return res ? ok(res) : fail("internal", "announcement %lld: cannot read it back", (long long)id);
}

static json_t *announce_withdraw_cmd(const struct mgmt_ctx *c, json_t *args)
{
	int64_t id = id_arg(args, "id");
	int r = id ? announce_withdraw(c->db, c->op, id) : -EINVAL;
	json_t *res;

	if (r == -EPERM)
		return fail("conflict", "announcement %lld is withdrawn already", (long long)id);
	if (r < 0)
		return fail_errno(r, "announcement");
	res = announce_show_json(c->db, id);
	return res ? ok(res) : fail("internal", "announcement %lld: cannot read it back", (long long)id);
}

static json_t *incident_create_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *services[KURA_MAX_SERVICES + 1], *tenants[KURA_ANNOUNCE_TENANTS_MAX + 1];
	struct incident_input in = { .title_ja = arg(args, "title_ja"), .title_en = arg(args, "title_en"),
				     .severity = arg(args, "severity"), .services = services, .tenants = tenants,
				     .body_ja = arg(args, "body_ja"), .body_en = arg(args, "body_en") };
	char err[256] = "";
	int64_t id = 0;
	json_t *res;
	int r;

	if (string_vector(json_object_get(args, "services"), services, KURA_MAX_SERVICES, &in.n_services) < 0)
		return fail("invalid", "--service takes one or more of MAIL, DOCX, IAAS, ZTNA, COLLAB");
	if (string_vector(json_object_get(args, "tenants"), tenants, KURA_ANNOUNCE_TENANTS_MAX, &in.n_tenants) < 0)
		return fail("invalid", "--tenant takes at most %d tenant codes", KURA_ANNOUNCE_TENANTS_MAX);
	r = incident_create(c->db, c->op, &in, &id, err, sizeof(err));
	if (r == -EINVAL || r == -ENOENT)
		return fail(r == -EINVAL ? "invalid" : "not-found", "%s", *err ? err : "invalid incident");
	if (r < 0)
		return fail_errno(r, "incident");
	mailer_wake(c->mailer);
	res = incident_show_json(c->db, id);
	return res ? ok(res) : fail("internal", "incident %lld: cannot read it back", (long long)id);
}

static json_t *incident_update_status(const struct mgmt_ctx *c, json_t *args, const char *status)
{
	int64_t id = id_arg(args, "id");
	json_t *res;
	int r;

	if (!id)
		return fail("invalid", "ID is an incident's number");
	if (!incident_status_valid(status))
		return fail("invalid", "--status is investigating, identified, monitoring or resolved");
	r = incident_update(c->db, c->op, id, status, arg(args, "body_ja"), arg(args, "body_en"));
	if (r == -EINVAL)
		return fail("invalid", "bodies are 1-%d bytes of UTF-8 text lines", KURA_ANNOUNCE_BODY_MAX);
	if (r == -EPERM)
		return fail("conflict", "incident %lld is resolved (a new incident says more)", (long long)id);
	if (r == -E2BIG)
		return fail("conflict", "incident %lld has %d updates", (long long)id, KURA_INCIDENT_UPDATES_MAX);
	if (r < 0)
		return fail_errno(r, "incident");
	mailer_wake(c->mailer);
	res = incident_show_json(c->db, id);
	return res ? ok(res) : fail("internal", "incident %lld: cannot read it back", (long long)id);
}

static json_t *incident_update_cmd(const struct mgmt_ctx *c, json_t *args)
{
	return incident_update_status(c, args, arg(args, "status"));
}

static json_t *incident_resolve_cmd(const struct mgmt_ctx *c, json_t *args)
{
	return incident_update_status(c, args, "resolved");
}

static json_t *incident_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *list = incident_list_json(c->db);

	(void)args;
	return list ? ok(json_pack("{s:o}", "incidents", list)) : fail("internal", "cannot read the incidents");
}

static json_t *incident_show_cmd(const struct mgmt_ctx *c, json_t *args)
{
	int64_t id = id_arg(args, "id");
	json_t *res = id ? incident_show_json(c->db, id) : NULL;

	return res ? ok(res) : fail("not-found", "no incident %s", arg(args, "id") ? arg(args, "id") : "");
}

/* ---------------------------------------------------------------- operator access (C7) */

/* A support read whose record could not be written, or whose grant ended between the
 * check and the record (lockbox_record_read: -EACCES): nothing of the tenant's was handed out. */
static json_t *read_refused(int rc)
{
	if (rc == -EACCES)
		return fail("forbidden", "the grant ended before the read could be recorded: nothing was read out (C7)");
	return fail_errno(rc, "recording the read");
}

/* The request's id from a positional: a whole number > 0. */
static int request_id_arg(json_t *args, const char *key, int64_t *ret)
{
	const char *s = arg(args, key);

	return s && safe_atoi64(s, ret) == 0 && *ret > 0 ? 0 : -EINVAL;
}

static json_t *request_result(const struct mgmt_ctx *c, const struct lockbox_request *r)
{
	json_t *j = lockbox_json(c->db, r, false);
	struct tenant t;

	if (!j)
		return fail("internal", "cannot show the request");
	/* the tenant's people stay the tenant's (C7): how many approved, not who */
	json_object_del(j, "approved_by");
	if (r->decided_by[0] && strcmp(r->decided_by, r->operator))
		json_object_set_new(j, "decided_by", json_string("a manager of the tenant"));
	if (r->revoked_by[0] && strcmp(r->revoked_by, c->op->name) && strcmp(r->revoked_by, r->operator))
		json_object_set_new(j, "revoked_by", json_string("a manager of the tenant"));
	if (tenant_get(c->db, r->tenant_id, &t) == 0)
		json_object_set_new(j, "tenant", json_string(t.code));
	return ok(j);
}

static json_t *access_request_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "code"), *reason = arg(args, "reason"), *case_ref = arg(args, "case"),
		   *scope = arg(args, "scope");
	json_t *h = json_object_get(args, "hours");
	bool emergency = json_is_true(json_object_get(args, "emergency"));
	struct lockbox_request r;
	struct tenant t;
	int rc;

	if (!code || tenant_find(c->db, code, &t) < 0)
		return fail("not-found", "%s: no such tenant", code ? code : "tenant");
	if (!lockbox_scope_valid(scope))
		return fail("invalid", "--scope is files:read or audit:read");
	if (!json_is_integer(h) || json_integer_value(h) < 1 || json_integer_value(h) > KURA_ACCESS_HOURS_MAX)
		return fail("invalid", "--hours is 1 to %d", KURA_ACCESS_HOURS_MAX);
	if (!reason || !*reason || strlen(reason) > KURA_ACCESS_REASON_MAX * 4)
		return fail("invalid", "--reason is 1-%d characters of one line", KURA_ACCESS_REASON_MAX);
	if (!case_ref || !*case_ref || strlen(case_ref) > KURA_ACCESS_CASE_MAX)
		return fail("invalid", "--case is 1-%d of A-Z a-z 0-9 . _ : # / -", KURA_ACCESS_CASE_MAX);
	rc = lockbox_request(c->db, c->op, t.id, reason, case_ref, scope, json_integer_value(h), emergency, &r);
	if (rc == -EACCES)
		return fail("forbidden",
			    "tenant %s: its service catalog says operator access \"never\" (IAAS staff have no access "
			    "at all, C7); the request is refused%s and the attempt is recorded in the tenant's log",
			    code, emergency ? ", emergency or not," : "");
	if (rc == -EBUSY)
		return fail("conflict", "tenant %s has %d requests waiting for its managers already: revoke one "
			    "(kura admin access revoke ID) or wait for an answer", code, KURA_ACCESS_PENDING_MAX);
	if (rc == -EAGAIN) {
		int64_t retry = 0;

		if (rate_retry_after(c->db, t.id, RATE_ACCESS_REQUEST, "", &retry) < 0)
			retry = KURA_RATE_ACCESS_REQUESTS_S;
		return fail("too-many-requests", "tenant %s had %d access requests within %d minutes already, each "
			    "mailing its managers: retry in %lld seconds", code, KURA_RATE_ACCESS_REQUESTS,
			    KURA_RATE_ACCESS_REQUESTS_S / 60, (long long)retry);
	}
	if (rc == -EINVAL)
		return fail("invalid", "--reason is 1-%d characters of one line without control characters; --case is "
			    "1-%d of A-Z a-z 0-9 . _ : # / -", KURA_ACCESS_REASON_MAX, KURA_ACCESS_CASE_MAX);
	if (rc < 0)
		return fail_errno(rc, code);
	mailer_wake(c->mailer);
	return request_result(c, &r);
}

static json_t *access_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "tenant"), *state = arg(args, "state");
	json_t *v, *res = NULL;
	int64_t before = 0, tid = 0;
	struct tenant t;
	int rc;

	if (code) {
		if (tenant_find(c->db, code, &t) < 0)
			return fail("not-found", "%s: no such tenant", code);
		tid = t.id;
	}
	if (state && strcmp(state, "pending") && strcmp(state, "approved") && strcmp(state, "denied") &&
	    strcmp(state, "revoked") && strcmp(state, "lapsed") && strcmp(state, "expired"))
		return fail("invalid", "--state is pending, approved, denied, revoked, lapsed or expired");
	if ((v = json_object_get(args, "before")))
		before = json_integer_value(v);
	rc = lockbox_list(c->db, tid, state, before, KURA_ACCESS_LIST_MAX, &res);
	if (rc < 0)
		return fail_errno(rc, "access requests");
	return ok(res);
}

static json_t *access_show_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct lockbox_request r;
	int64_t id;

	if (request_id_arg(args, "id", &id) < 0)
		return fail("invalid", "ID is a request's number");
	if (lockbox_find(c->db, id, &r) < 0)
		return fail("not-found", "access request %lld: not found", (long long)id);
	return request_result(c, &r);
}

static json_t *access_revoke_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct lockbox_request r;
	int64_t id;
	int rc;

	if (request_id_arg(args, "id", &id) < 0)
		return fail("invalid", "ID is a request's number");
	rc = lockbox_find(c->db, id, &r);
	if (rc == 0)
		rc = lockbox_revoke(c->db, c->op, r.tenant_id, id, &r);
	if (rc == -EPERM)
		return fail("conflict", "access request %lld is %s already", (long long)id, r.state);
	if (rc < 0)
		return fail_errno(rc, "access request");
	return request_result(c, &r);
}

/* The grant that lets this operator read tenant code within scope, or the refusal saying why. */
static json_t *support_gate(const struct mgmt_ctx *c, const char *code, const char *scope, struct tenant *t,
			    struct lockbox_request *g)
{
	char why[32];
	int rc;

	if (!code || tenant_find(c->db, code, t) < 0)
		return fail("not-found", "%s: no such tenant", code ? code : "tenant");
	if (!strcmp(t->status, "terminated"))
		return fail("forbidden", "tenant %s: its contract has ended: no operator access after the end (B3, C7)",
			    code);
	rc = lockbox_check(c->db, c->op, t->id, scope, g, why, sizeof(why));
	if (rc == 0)
		return NULL;
	if (rc == -EACCES)
		return fail("forbidden", "tenant %s: its service catalog says operator access \"never\" (C7)", code);
	if (rc != -ENOENT)
		return fail_errno(rc, code);
	if (!strcmp(why, "scope"))
		return fail("forbidden", "tenant %s: your active grant does not cover %s; ask for a grant with --scope %s",
			    code, scope, scope);
	return fail("forbidden",
		    "tenant %s: no active %s grant for you (%s%s); ask with kura admin access request and wait for "
		    "its managers' approval (C7)", code, scope, !strcmp(why, "no grant") ? "" : "your latest request is ",
		    why);
}

/* Walks PATH ("/", "/a/b") from the tenant's root to a live folder or file. */
static int resolve_path(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret)
{
	char buf[KURA_MAX_URL_BYTES + 1], *save = NULL, *seg;
	int64_t id;
	int r;

	if (!path || path[0] != '/' || str_copy(buf, sizeof(buf), path) < 0)
		return -EINVAL;
	r = files_root(db, tenant_id, &id);
	if (r == 0)
		r = files_get(db, tenant_id, id, ret);
	for (seg = strtok_r(buf, "/", &save); r == 0 && seg; seg = strtok_r(NULL, "/", &save)) {
		if (ret->kind != NODE_FOLDER)
			return -ENOTDIR;
		r = files_lookup(db, tenant_id, ret->id, seg, ret);
	}
	return r;
}

static json_t *support_ls_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *path = arg(args, "path");
	struct lockbox_request g;
	struct file_node n;
	struct tenant t;
	json_t *refused, *items = NULL, *d;
	bool more = false;
	int rc;

	refused = support_gate(c, arg(args, "code"), "files:read", &t, &g);
	if (refused)
		return refused;
	if (!path || !*path || strlen(path) > KURA_MAX_URL_BYTES || !utf8_is_clean_text(path, strlen(path)))
		return fail("invalid", "PATH is a folder like / or /reports/2026");
	rc = resolve_path(c->db, t.id, path, &n);
	if (rc < 0)
		return fail_errno(rc, path);
	if (n.kind == NODE_FOLDER)
		rc = files_list(c->db, t.id, n.id, NULL, NULL, KURA_SUPPORT_LIST_MAX, &items, &more);
	else
		items = json_pack("[o]", files_node_json(c->db, t.id, &n));
	if (rc < 0 || !items)
		return fail_errno(rc < 0 ? rc : -ENOMEM, path);
	/* recorded before anything leaves kura: a read that cannot be recorded does not happen */
	d = json_pack("{s:I, s:I}", "node_id", (json_int_t)n.id, "entries", (json_int_t)json_array_size(items));
	rc = lockbox_record_read(c->db, c->op, &g, "support.ls", path, d);
	json_decref(d);
	if (rc < 0) {
		json_decref(items);
		return read_refused(rc);
	}
	return ok(json_pack("{s:s, s:s, s:I, s:o, s:b}", "tenant", t.code, "path", path, "grant", (json_int_t)g.id,
			    "entries", items, "truncated", more));
}

static json_t *support_get_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct files_reader *rd = NULL;
	struct lockbox_request g;
	struct file_node n;
	struct tenant t;
	unsigned char *buf = NULL;
	char *b64 = NULL, target[48];
	json_t *refused, *d, *res = NULL;
	size_t got = 0;
	int64_t id;
	int rc;

	refused = support_gate(c, arg(args, "code"), "files:read", &t, &g);
	if (refused)
		return refused;
	if (request_id_arg(args, "file_id", &id) < 0)
		return fail("invalid", "FILE_ID is a file's number (support ls shows it)");
	if (!c->files)
		return fail("internal", "file storage is not available to the management socket");
	rc = files_open(c->files, c->db, t.id, id, &n, &rd);
	if (rc < 0)
		return fail_errno(rc, "file");
	if (n.size > KURA_SUPPORT_GET_MAX) {
		files_reader_close(rd);
		return fail("invalid", "file %lld is larger than support get hands out (%d bytes)", (long long)id,
			    KURA_SUPPORT_GET_MAX);
	}
	buf = malloc((size_t)n.size + 1);
	rc = buf ? files_read(rd, 0, buf, (size_t)n.size, &got) : -ENOMEM;
	files_reader_close(rd);
	if (rc == 0 && got != (size_t)n.size)
		rc = -EIO;
	if (rc == 0) {
		size_t b64_len = sodium_base64_ENCODED_LEN(got, sodium_base64_VARIANT_ORIGINAL);

		b64 = malloc(b64_len);
		if (b64)
			sodium_bin2base64(b64, b64_len, buf, got, sodium_base64_VARIANT_ORIGINAL);
		else
			rc = -ENOMEM;
	}
	if (rc == 0) {
		str_printf(target, sizeof(target), "node:%lld", (long long)id);
		d = json_pack("{s:I, s:s, s:I}", "node_id", (json_int_t)id, "name", n.name, "size", (json_int_t)n.size);
		rc = lockbox_record_read(c->db, c->op, &g, "support.get", target, d);
		json_decref(d);
	}
	if (rc == 0)
		res = ok(json_pack("{s:s, s:I, s:s, s:I, s:I, s:s}", "tenant", t.code, "file_id", (json_int_t)id,
				   "name", n.name, "size", (json_int_t)n.size, "grant", (json_int_t)g.id,
				   "content_base64", b64));
	if (buf)
		sodium_memzero(buf, (size_t)n.size);
	free(buf);
	if (b64)
		sodium_memzero(b64, strlen(b64));
	free(b64);
	return res ? res : rc == -EACCES ? read_refused(rc) : fail_errno(rc, "file");
}

static json_t *support_audit_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct audit_filter f = { .limit = KURA_ADMIN_EVENTS_MAX };
	const char *from = arg(args, "from"), *to = arg(args, "to");
	struct lockbox_request g;
	struct tenant t;
	json_t *refused, *v, *res, *d;
	int rc;

	refused = support_gate(c, arg(args, "code"), "audit:read", &t, &g);
	if (refused)
		return refused;
	if (from && (clock_parse_rfc3339(from, &f.from_us) < 0 || f.from_us <= 0))
		return fail("invalid", "--from is an RFC 3339 time");
	if (to && (clock_parse_rfc3339(to, &f.to_us) < 0 || f.to_us <= 0))
		return fail("invalid", "--to is an RFC 3339 time");
	if (f.from_us && f.to_us && f.to_us < f.from_us)
		return fail("invalid", "--to is before --from");
	if ((v = json_object_get(args, "after")))
		f.after_seq = json_integer_value(v);
	res = audit_query(c->db, t.id, &f);
	if (!res)
		return fail("internal", "cannot read the tenant's audit log");
	d = json_pack("{s:s?, s:s?, s:I, s:I}", "from", from, "to", to, "after", (json_int_t)f.after_seq,
		      "records", (json_int_t)json_array_size(json_object_get(res, "events")));
	rc = lockbox_record_read(c->db, c->op, &g, "support.audit", "audit", d);
	json_decref(d);
	if (rc < 0) {
		json_decref(res);
		return read_refused(rc);
	}
	json_object_set_new(res, "tenant", json_string(t.code));
	json_object_set_new(res, "grant", json_integer(g.id));
	return ok(res);
}

/* ---------------------------------------------------------------- event reports */

/* What tenants filed with the provider (issue 9; G2, G3): their reports are addressed to the
 * provider, so the operator reads them (their attachments stay sealed in the tenant's store;
 * the list shows their names and sizes). Every action is recorded in the tenant's chain
 * (operator) and in the provider's chain with target tenant:CODE. */
static json_t *report_list_cmd(const struct mgmt_ctx *c, json_t *args)
{
	json_t *arr = NULL;
	int r = reports_list(c->db, 0, json_is_true(json_object_get(args, "open")), &arr);

	if (r < 0)
		return fail_errno(r, "reports");
	return ok(json_pack("{s:o}", "reports", arr));
}

/* The report's tenant from its id; a bad id is "not-found". */
static int report_of(const struct mgmt_ctx *c, json_t *args, int64_t *ret_id, struct tenant *t)
{
	const char *s = arg(args, "id");
	int64_t tid = 0;
	int r;

	if (!s || s[0] < '1' || s[0] > '9' || safe_atoi64(s, ret_id) < 0)
		return -ENOENT;
	r = reports_find_tenant(c->db, *ret_id, &tid);
	if (r == 0)
		r = tenant_get(c->db, tid, t);
	return r;
}

static json_t *report_show_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct tenant t;
	int64_t id = 0;
	json_t *res = NULL;
	int r = report_of(c, args, &id, &t);

	if (r == 0)
		r = reports_get(c->db, t.id, id, &res);
	/* recorded before it is shown: the thread is the tenant's (C7) */
	if (r == 0 && (r = reports_record_read(c->db, c->op, &t, id)) < 0)
		json_decref(res);
	if (r < 0)
		return fail_errno(r, "report");
	json_object_set_new(res, "tenant", json_string(t.code));
	return ok(res);
}

static json_t *report_reply_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *body = arg(args, "body");
	struct tenant t;
	int64_t id = 0;
	int r = report_of(c, args, &id, &t);

	if (r < 0)
		return fail_errno(r, "report");
	if (!report_text_valid(body, KURA_REPORT_BODY_MAX, false))
		return fail("invalid", "the body is 1-%d characters of UTF-8 text (LF line ends)", KURA_REPORT_BODY_MAX);
	r = reports_message(c->db, c->op, &t, id, REPORT_SIDE_PROVIDER, body, NULL, NULL);
	if (r == -EPERM)
		return fail("conflict", "report %lld is closed", (long long)id);
	if (r < 0)
		return fail_errno(r, "report");
	mailer_wake(c->mailer);
	return ok(json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "tenant", t.code, "replied", 1));
}

static json_t *report_close_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct tenant t;
	int64_t id = 0;
	int r = report_of(c, args, &id, &t);

	if (r == 0)
		r = reports_close(c->db, c->op, &t, id, REPORT_SIDE_PROVIDER, NULL);
	if (r == -EPERM)
		return fail("conflict", "report %lld is closed already", (long long)id);
	if (r < 0)
		return fail_errno(r, "report");
	mailer_wake(c->mailer);
	return ok(json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "tenant", t.code, "status", "closed"));
}

static json_t *report_answer_records_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct tenant t;
	int64_t id = 0, eid = 0;
	int r = report_of(c, args, &id, &t);

	if (r == 0)
		r = reports_answer_records(c->db, c->op, &t, id, NULL, &eid);
	if (r == -EPERM)
		return fail("conflict", "report %lld is not an open records request", (long long)id);
	if (r == -E2BIG)
		return fail("conflict", "the export would pass %d bytes: ask the tenant for a shorter range",
			    KURA_REPORT_EXPORT_MAX);
	if (r < 0)
		return fail_errno(r, "report");
	mailer_wake(c->mailer);
	return ok(json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "tenant", t.code, "export", (json_int_t)eid));
}

/* ---------------------------------------------------------------- the table */

#define ARG(key, opt, meta, kind, flags) { key, opt, meta, kind, flags }
#define POS(key, meta) ARG(key, NULL, meta, MGMT_ARG_TEXT, 0)
#define END { NULL, NULL, NULL, 0, 0 }

/* ---------------------------------------------------------------- compliance (A5, G3) */

static json_t *base64_result(json_t *res, const void *data, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(len);

	if (!b64) {
		json_decref(res);
		return fail("internal", "out of memory");
	}
	sodium_bin2base64(b64, len, data, n, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(res, "content_base64", json_string(b64));
	free(b64);
	return ok(res);
}

/* The statement of the deployment or of one tenant: settings, counts and chain checkpoints,
 * never a tenant's content (provider-side state; recorded as an operator action). */
static json_t *compliance_report_cmd(const struct mgmt_ctx *c, json_t *args)
{
	const char *code = arg(args, "tenant"), *lang = arg(args, "lang"), *format = arg(args, "format");
	struct tenant t = { .id = 0 };
	json_t *model, *res;
	char *text = NULL;
	int r;

	if (!lang)
		lang = "ja";
	if (!format)
		format = "html";
	if (strcmp(lang, "ja") && strcmp(lang, "en"))
		return fail("invalid", "--lang is ja or en");
	if (strcmp(format, "html") && strcmp(format, "json") && strcmp(format, "oscal"))
		return fail("invalid", "--format is html, json or oscal");
	if (code && (r = tenant_find(c->db, code, &t)) < 0)
		return fail_errno(r, code);
	model = compliance_model(c->db, t.id, lang, &r);
	if (!model)
		return fail_errno(r, code ? code : "statement");
	if (!strcmp(format, "html")) {
		text = compliance_html(model);
	} else {
		json_t *o = !strcmp(format, "oscal") ? compliance_oscal(model) : json_incref(model);

		text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
	}
	json_decref(model);
	if (!text)
		return fail("internal", "the statement could not be rendered");
	r = audit_record(c->db, &(struct audit_event){ .tenant_id = t.id, .actor = c->op, .category = AUDIT_OPERATOR,
						       .action = "compliance.report", .target = "compliance",
						       .result = AUDIT_SUCCESS });
	if (r < 0) {
		free(text);
		return fail_errno(r, "audit");
	}
	res = json_pack("{s:s, s:s, s:s, s:s}", "tenant", code ? code : "", "lang", lang, "format", format, "media_type",
			!strcmp(format, "html") ? "text/html; charset=utf-8" : "application/json");
	res = base64_result(res, text, strlen(text));
	free(text);
	return res;
}

/* "YYYY-MM-DD" (a whole day in zone, end = its last µs) or RFC 3339. */
static int day_arg(const char *s, const char *zone, bool end, int64_t *ret)
{
	int64_t us;

	if (!s)
		return -EINVAL;
	if (strlen(s) == 10) {
		if (clock_day_start(s, end ? 1 : 0, zone, &us) < 0)
			return -EINVAL;
		*ret = end ? us - 1 : us;
		return 0;
	}
	return clock_parse_rfc3339(s, ret) < 0 ? -EINVAL : 0;
}

/* The evidence bundle reads the tenant's audit records: it needs the operator's active
 * audit:read grant (C7) and is recorded in the tenant's chain before it leaves kura. */
static json_t *compliance_evidence_cmd(const struct mgmt_ctx *c, json_t *args)
{
	struct lockbox_request g;
	struct tenant t;
	int64_t from, to;
	unsigned char *bundle = NULL;
	unsigned char h[32];
	char hex[65];
	size_t n = 0;
	json_t *refused, *d, *res;
	int r;

	refused = support_gate(c, arg(args, "tenant"), "audit:read", &t, &g);
	if (refused)
		return refused;
	if (day_arg(arg(args, "from"), t.zone, false, &from) < 0 || day_arg(arg(args, "to"), t.zone, true, &to) < 0 ||
	    from > to)
		return fail("invalid", "--from and --to are days (YYYY-MM-DD, in the tenant's zone) or RFC 3339 times, "
				       "from before to");
	d = json_pack("{s:s, s:s}", "from", arg(args, "from"), "to", arg(args, "to"));
	r = lockbox_record_read(c->db, c->op, &g, "compliance.evidence", "audit", d);
	json_decref(d);
	if (r < 0)
		return read_refused(r);
	r = compliance_evidence(c->db, c->op, t.id, from, to, &bundle, &n);
	if (r == -E2BIG)
		return fail("invalid", "the bundle would exceed %d bytes: choose a shorter range", KURA_EVIDENCE_MAX);
	if (r < 0)
		return fail_errno(r, "evidence");
	crypto_hash_sha256(h, bundle, n);
	hex_encode(h, sizeof(h), hex);
	res = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "tenant", t.code, "from", arg(args, "from"), "to", arg(args, "to"),
			"bytes", (json_int_t)n, "sha256", hex, "grant", (json_int_t)g.id);
	res = base64_result(res, bundle, n);
	free(bundle);
	return res;
}

const struct mgmt_command mgmt_commands[] = {
	{ "tenant.create",
	  "a tenant (contract): its own data key, wrapped by the master key\n"
	  "SVC: MAIL, DOCX, IAAS, ZTNA, COLLAB\n"
	  "OPT: an option of the catalog (kura admin service list) or another contract item",
	  (const struct mgmt_arg[]){ POS("code", "CODE"),
				     ARG("name", "name", "NAME", MGMT_ARG_TEXT, 0),
				     ARG("services", "service", "SVC", MGMT_ARG_LIST, 0),
				     ARG("options", "option", "OPT", MGMT_ARG_EACH, MGMT_ARG_OPTIONAL), END },
	  tenant_create_cmd, NULL, NULL },
	{ "tenant.list", "the tenants (contracts)",
	  (const struct mgmt_arg[]){ ARG("people", NULL, NULL, MGMT_ARG_PEOPLE, 0), END },
	  tenant_list_cmd, "tenants",
	  (const struct mgmt_column[]){ { "code", "code" }, { "name", "name" }, { "services", "services" },
					{ "status", "status" }, { "created", "created_at" }, { NULL, NULL } } },
	{ "tenant.show", "one tenant's contract, with the effective catalog values and their services",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), ARG("people", NULL, NULL, MGMT_ARG_PEOPLE, 0), END },
	  tenant_show_cmd, NULL, NULL },
	{ "tenant.terminate", "schedules the end of the contract at the end of DATE (the tenant's zone);\n"
			      "managers are told now and 14, 7, 1 days before; the data is erased by the deadline",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), ARG("on", "on", "YYYY-MM-DD", MGMT_ARG_TEXT, 0), END },
	  tenant_terminate_cmd, NULL, NULL },
	{ "tenant.terminate-option", "schedules the end of one option: its data is erased and its feature\n"
				     "switched off at the end of DATE",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), POS("option", "OPTION"),
				     ARG("on", "on", "YYYY-MM-DD", MGMT_ARG_TEXT, 0), END },
	  tenant_terminate_option_cmd, NULL, NULL },
	{ "tenant.cancel-termination", "cancels a scheduled termination (the contract's and its options') before the end",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), END }, tenant_cancel_termination_cmd, NULL, NULL },
	{ "tenant.reinstate", "brings an ended contract back within the grace period (before the erasure)",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), END }, tenant_reinstate_cmd, NULL, NULL },
	{ "tenant.certificate", "the signed erasure certificate of an erased tenant (--format html: its ja/en view)",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), ARG("format", "format", "json|html", MGMT_ARG_TEXT,
							     MGMT_ARG_OPTIONAL), END },
	  tenant_certificate_cmd, NULL, NULL },
	{ "tenant.rotate-key", "a new tenant key; file keys re-wrapped, content untouched",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), END }, tenant_rotate_key_cmd, NULL, NULL },
	{ "tenant.set-quota", "the tenant's file storage quota in bytes",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), ARG("quota_bytes", NULL, "BYTES", MGMT_ARG_COUNT, 0),
				     END },
	  tenant_set_quota_cmd, NULL, NULL },
	{ "service.list", "the service catalog: each service's promises with this deployment's\n"
			  "[service.CODE] overrides (retention: days per category, t = today included)",
	  (const struct mgmt_arg[]){ ARG("people", NULL, NULL, MGMT_ARG_PEOPLE, 0), END },
	  service_list_cmd, "services",
	  (const struct mgmt_column[]){ { "code", "code" }, { "name", "name" }, { "retention", "retention" },
					{ "erasure", "erasure" }, { "operator access", "access" },
					{ "initial state", "initial" }, { "options", "options" }, { NULL, NULL } } },
	{ "manager.create", "the tenant's first manager: mails an invitation, prints its link\n"
			    "(only while the tenant has no active manager, C7)",
	  (const struct mgmt_arg[]){ POS("tenant", "CODE"), POS("login", "LOGIN"),
				     ARG("email", "email", "ADDR", MGMT_ARG_TEXT, 0), END },
	  manager_create_cmd, NULL, NULL },
	{ "account.unlock", "ends an account's lockout",
	  (const struct mgmt_arg[]){ POS("tenant", "CODE"), POS("login", "LOGIN"), END },
	  account_unlock_cmd, NULL, NULL },
	{ "mail.test", "queues a test mail through the outbox (checks SMTP)",
	  (const struct mgmt_arg[]){ POS("to", "ADDR"), END }, mail_test_cmd, NULL, NULL },
	{ "mail.queue", "the outbox counted: mails per state, bodies still kept, the next attempt\n"
			"(no recipient, subject or body)",
	  (const struct mgmt_arg[]){ END }, mail_queue_cmd, NULL, NULL },
	{ "audit.public-key", "the keys that verify audit exports (current and retired)",
	  (const struct mgmt_arg[]){ END }, audit_public_key_cmd, NULL, NULL },
	{ "audit.rotate-signing-key", "a new signing key; old public keys stay valid for what they signed",
	  (const struct mgmt_arg[]){ END }, audit_rotate_signing_key_cmd, NULL, NULL },
	{ "audit.verify", "checks a tenant's (or the provider's) audit chain in place",
	  (const struct mgmt_arg[]){ POS("tenant", "CODE|provider"), END }, audit_verify_cmd, NULL, NULL },
	{ "audit.provider-events", "the provider's own audit chain, oldest first (a tenant's log is\n"
				   "its managers' to read, C7); page on with --after the last seq",
	  (const struct mgmt_arg[]){ ARG("action", "action", "ACTION", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("result", "result", "RESULT", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("after", "after", "SEQ", MGMT_ARG_COUNT, MGMT_ARG_OPTIONAL),
				     ARG("limit", "limit", "N", MGMT_ARG_COUNT, MGMT_ARG_OPTIONAL), END },
	  audit_provider_events_cmd, "events",
	  (const struct mgmt_column[]){ { "seq", "seq" }, { "time", "time" }, { "actor", "actor.name" },
					{ "action", "action" }, { "target", "target" }, { "result", "result" },
					{ "source", "source_ip" }, { NULL, NULL } } },
	{ "announce.create",
	  "a change, maintenance or incident notice to the target tenants, through each service's\n"
	  "channel (docs/announcements.md); bodies in the Markdown subset; TIME is RFC 3339;\n"
	  "--publish later: the background loop delivers it then",
	  (const struct mgmt_arg[]){ ARG("kind", "kind", "change|maintenance|incident", MGMT_ARG_TEXT, 0),
				     ARG("target", "target", "all|SVC,…|tenant:CODE,…", MGMT_ARG_TEXT, 0),
				     ARG("title_ja", "title-ja", "TITLE", MGMT_ARG_TEXT, 0),
				     ARG("title_en", "title-en", "TITLE", MGMT_ARG_TEXT, 0),
				     ARG("body_ja", "body-ja-file", "FILE", MGMT_ARG_FILE, 0),
				     ARG("body_en", "body-en-file", "FILE", MGMT_ARG_FILE, 0),
				     ARG("from", "from", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("until", "until", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("publish", "publish", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL), END },
	  announce_create_cmd, NULL, NULL },
	{ "announce.list", "the announcements, newest first (state, tenants reached, readings)",
	  (const struct mgmt_arg[]){ END }, announce_list_cmd, "announcements",
	  (const struct mgmt_column[]){ { "id", "id" }, { "kind", "kind" }, { "state", "state" },
					{ "target", "target" }, { "version", "version" }, { "publish", "publish_at" },
					{ "tenants", "tenants" }, { "reads", "reads" }, { "title", "title_en" },
					{ NULL, NULL } } },
	{ "announce.show", "one announcement: its versions, delivery and first reading per tenant\n"
			   "(readers counted; who read is in the tenant's own log, C7)",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, announce_show_cmd, NULL, NULL },
	{ "announce.edit", "a new version (shown as edited), delivered again when it was published",
	  (const struct mgmt_arg[]){ POS("id", "ID"),
				     ARG("title_ja", "title-ja", "TITLE", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("title_en", "title-en", "TITLE", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("body_ja", "body-ja-file", "FILE", MGMT_ARG_FILE, MGMT_ARG_OPTIONAL),
				     ARG("body_en", "body-en-file", "FILE", MGMT_ARG_FILE, MGMT_ARG_OPTIONAL),
				     ARG("from", "from", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("until", "until", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL), END },
	  announce_edit_cmd, NULL, NULL },
	{ "announce.withdraw", "withdraws an announcement: shown as withdrawn, never delivered again",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, announce_withdraw_cmd, NULL, NULL },
	{ "incident.create", "an incident record (status investigating) and its first update, delivered\n"
			     "through the affected services' channels; without --tenant every tenant\n"
			     "of those services is affected; SEV: minor, major, critical",
	  (const struct mgmt_arg[]){ ARG("title_ja", "title-ja", "TITLE", MGMT_ARG_TEXT, 0),
				     ARG("title_en", "title-en", "TITLE", MGMT_ARG_TEXT, 0),
				     ARG("severity", "severity", "SEV", MGMT_ARG_TEXT, 0),
				     ARG("services", "service", "SVC", MGMT_ARG_LIST, 0),
				     ARG("tenants", "tenant", "CODE", MGMT_ARG_LIST, MGMT_ARG_OPTIONAL),
				     ARG("body_ja", "body-ja-file", "FILE", MGMT_ARG_FILE, 0),
				     ARG("body_en", "body-en-file", "FILE", MGMT_ARG_FILE, 0), END },
	  incident_create_cmd, NULL, NULL },
	{ "incident.update", "a timeline entry: STATUS investigating, identified or monitoring",
	  (const struct mgmt_arg[]){ POS("id", "ID"), ARG("status", "status", "STATUS", MGMT_ARG_TEXT, 0),
				     ARG("body_ja", "body-ja-file", "FILE", MGMT_ARG_FILE, 0),
				     ARG("body_en", "body-en-file", "FILE", MGMT_ARG_FILE, 0), END },
	  incident_update_cmd, NULL, NULL },
	{ "incident.resolve", "the last timeline entry: the incident is resolved",
	  (const struct mgmt_arg[]){ POS("id", "ID"), ARG("body_ja", "body-ja-file", "FILE", MGMT_ARG_FILE, 0),
				     ARG("body_en", "body-en-file", "FILE", MGMT_ARG_FILE, 0), END },
	  incident_resolve_cmd, NULL, NULL },
	{ "incident.list", "the incidents, newest first",
	  (const struct mgmt_arg[]){ END }, incident_list_cmd, "incidents",
	  (const struct mgmt_column[]){ { "id", "id" }, { "severity", "severity" }, { "status", "status" },
					{ "services", "services" }, { "tenants", "tenants" },
					{ "updated", "updated_at" }, { "title", "title_en" }, { NULL, NULL } } },
	{ "incident.show", "one incident: its timeline and the affected tenants",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, incident_show_cmd, NULL, NULL },
	{ "access.request", "asks tenant CODE's managers for access to its data (C7); they approve in the\n"
			    "portal. --emergency: at once, the managers told by mail and in the portal.\n"
			    "Refused always for tenants whose catalog says never (IAAS)",
	  (const struct mgmt_arg[]){ POS("code", "CODE"),
				     ARG("reason", "reason", "TEXT", MGMT_ARG_TEXT, 0),
				     ARG("case", "case", "CASE", MGMT_ARG_TEXT, 0),
				     ARG("scope", "scope", "files:read|audit:read", MGMT_ARG_TEXT, 0),
				     ARG("hours", "hours", "N", MGMT_ARG_COUNT, 0),
				     ARG("emergency", "emergency", "", MGMT_ARG_FLAG, MGMT_ARG_OPTIONAL), END },
	  access_request_cmd, NULL, NULL },
	{ "access.list", "operator access requests and grants, newest first; page on with --before",
	  (const struct mgmt_arg[]){ ARG("tenant", "tenant", "CODE", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("state", "state", "STATE", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("before", "before", "ID", MGMT_ARG_COUNT, MGMT_ARG_OPTIONAL), END },
	  access_list_cmd, "requests",
	  (const struct mgmt_column[]){ { "id", "id" }, { "tenant", "tenant" }, { "scope", "scope" },
					{ "state", "state" }, { "emergency", "emergency" }, { "hours", "hours" },
					{ "operator", "operator" }, { "case", "case" }, { "ends", "ends_at" },
					{ NULL, NULL } } },
	{ "access.show", "one access request: its state, approvals and times",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, access_show_cmd, NULL, NULL },
	{ "access.revoke", "ends an access request or grant at once",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, access_revoke_cmd, NULL, NULL },
	{ "support.ls", "a folder of tenant CODE (needs your active files:read grant; recorded in\n"
			"the tenant's log)",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), POS("path", "PATH"), END }, support_ls_cmd, "entries",
	  (const struct mgmt_column[]){ { "id", "id" }, { "kind", "kind" }, { "name", "name" }, { "size", "size" },
					{ "modified", "modified_at" }, { NULL, NULL } } },
	{ "support.get", "decrypts one file of tenant CODE into FILE (needs your active files:read\n"
			 "grant; recorded in the tenant's log)",
	  (const struct mgmt_arg[]){ POS("code", "CODE"), POS("file_id", "FILE_ID"),
				     ARG("out", "out", "FILE", MGMT_ARG_OUT, 0), END },
	  support_get_cmd, NULL, NULL },
	{ "support.audit", "tenant CODE's audit log (needs your active audit:read grant; recorded\n"
			   "in the tenant's log); page on with --after the last seq",
	  (const struct mgmt_arg[]){ POS("code", "CODE"),
				     ARG("from", "from", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("to", "to", "TIME", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("after", "after", "SEQ", MGMT_ARG_COUNT, MGMT_ARG_OPTIONAL), END },
	  support_audit_cmd, "events",
	  (const struct mgmt_column[]){ { "seq", "seq" }, { "time", "time" }, { "actor", "actor.name" },
					{ "action", "action" }, { "target", "target" }, { "result", "result" },
					{ NULL, NULL } } },
	{ "report.list", "tenants' event reports and records requests, newest first",
	  (const struct mgmt_arg[]){ ARG("open", "open", NULL, MGMT_ARG_FLAG, MGMT_ARG_OPTIONAL), END },
	  report_list_cmd, "reports",
	  (const struct mgmt_column[]){ { "id", "id" }, { "tenant", "tenant" }, { "kind", "kind" },
					{ "category", "category" }, { "status", "status" }, { "title", "title" },
					{ "updated", "updated_at" }, { NULL, NULL } } },
	{ "report.show", "one report with its thread (attachments by name and size)",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, report_show_cmd, NULL, NULL },
	{ "report.reply", "the provider's message in a report's thread (mailed to the tenant's managers)",
	  (const struct mgmt_arg[]){ POS("id", "ID"), ARG("body", "body-file", "FILE", MGMT_ARG_FILE, 0), END },
	  report_reply_cmd, NULL, NULL },
	{ "report.close", "closes a report (mailed to the tenant's managers)",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, report_close_cmd, NULL, NULL },
	{ "report.answer-records", "answers a records request with a signed export of the provider's\n"
				   "records about the tenant in its range (kura audit verify checks it)",
	  (const struct mgmt_arg[]){ POS("id", "ID"), END }, report_answer_records_cmd, NULL, NULL },
	{ "compliance.report", "the compliance statement of the deployment or of tenant CODE, each claim\n"
			       "with its evidence (docs/compliance.md)",
	  (const struct mgmt_arg[]){ ARG("tenant", "tenant", "CODE", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("lang", "lang", "ja|en", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("format", "format", "html|json|oscal", MGMT_ARG_TEXT, MGMT_ARG_OPTIONAL),
				     ARG("out", "out", "FILE", MGMT_ARG_OUT, 0), END },
	  compliance_report_cmd, NULL, NULL },
	{ "compliance.evidence", "a signed evidence bundle of tenant CODE for a range (needs your active\n"
				 "audit:read grant; recorded in the tenant's log); kura compliance verify checks it",
	  (const struct mgmt_arg[]){ ARG("tenant", "tenant", "CODE", MGMT_ARG_TEXT, 0),
				     ARG("from", "from", "DATE", MGMT_ARG_TEXT, 0), ARG("to", "to", "DATE", MGMT_ARG_TEXT, 0),
				     ARG("out", "out", "FILE", MGMT_ARG_OUT, 0), END },
	  compliance_evidence_cmd, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct mgmt_command *mgmt_command_find(const char *name)
{
	const struct mgmt_command *c;

	for (c = mgmt_commands; name && c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static const struct mgmt_arg *arg_find(const struct mgmt_command *cmd, const char *key)
{
	const struct mgmt_arg *a;

	for (a = cmd->args; a->key; a++)
		if (!strcmp(a->key, key))
			return a;
	return NULL;
}

int mgmt_args_check(const struct mgmt_command *cmd, json_t *args, char *err, size_t err_size)
{
	const struct mgmt_arg *a;
	const char *key;
	json_t *v;
	bool good;

	if (!args)
		return 0;
	if (!json_is_object(args)) {
		str_copy(err, err_size, "args must be an object");
		return -EINVAL;
	}
	json_object_foreach(args, key, v) {
		a = arg_find(cmd, key);
		if (!a) {
			str_printf(err, err_size, "%s takes no argument \"%s\"", cmd->name, key);
			return -EINVAL;
		}
		switch (a->kind) {
		case MGMT_ARG_TEXT:
		case MGMT_ARG_FILE: good = json_is_string(v); break;
		case MGMT_ARG_LIST:
		case MGMT_ARG_EACH: good = json_is_array(v); break;
		case MGMT_ARG_COUNT: good = json_is_integer(v) && json_integer_value(v) >= 0; break;
		case MGMT_ARG_PEOPLE:
		case MGMT_ARG_FLAG: good = json_is_boolean(v); break;
		case MGMT_ARG_OUT: good = false; break;   /* kura admin's side only */
		default: good = false; break;
		}
		if (!good) {
			str_printf(err, err_size, "argument \"%s\" of %s has the wrong type", key, cmd->name);
			return -EINVAL;
		}
	}
	return 0;
}
