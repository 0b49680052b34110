/*
 * Incidents (G1; issue 9): a record with a title, a severity, a status that moves
 * investigating → identified → monitoring → resolved, a timeline of updates, the affected
 * services and the affected tenants. Each update is delivered to each affected tenant through
 * its affected services' channels (notify/channels.h) by the outbox, and recorded in that
 * tenant's audit log (incident.notify).
 *
 * SECURITY: the public status (incident_public_json, /status and /status.atom) names
 * services and the provider's own words, never a tenant. A tenant's view
 * (incident_tenant_json) holds only the incidents that name it among the affected tenants.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "notice/notice_int.h"
#include "notify/channels.h"
#include "notify/mail.h"
#include "store/db.h"
#include "tenant/tenant.h"

static const char *const statuses[] = { "investigating", "identified", "monitoring", "resolved", NULL };
static const char *const statuses_ja[] = { "調査中", "原因特定", "経過観察", "解決" };
static const char *const services_all[] = { "MAIL", "DOCX", "IAAS", "ZTNA", "COLLAB", NULL };

bool incident_status_valid(const char *status)
{
	for (size_t i = 0; status && statuses[i]; i++)
		if (!strcmp(statuses[i], status))
			return true;
	return false;
}

bool incident_severity_valid(const char *s)
{
	return s && (!strcmp(s, "minor") || !strcmp(s, "major") || !strcmp(s, "critical"));
}

static const char *status_ja(const char *status)
{
	for (size_t i = 0; statuses[i]; i++)
		if (!strcmp(statuses[i], status))
			return statuses_ja[i];
	return status;
}

static void set_time(json_t *o, const char *key, int64_t us)
{
	char t[40];

	if (o && us > 0 && clock_format_utc(us, t, sizeof(t)) == 0)
		json_object_set_new(o, key, json_string(t));
}

static int op_audit(struct db *db, const struct actor *op, const char *action, int64_t id, const char *status)
{
	char target[40];
	json_t *d = json_pack("{s:s}", "status", status);
	int r;

	str_printf(target, sizeof(target), "incident:%lld", (long long)id);
	r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = op, .category = AUDIT_OPERATOR,
				 .action = action, .target = target, .result = AUDIT_SUCCESS, .details = d });
	json_decref(d);
	return r;
}

/* Services "MAIL,ZTNA" into a NULL-terminated vector (pointers into buf). */
static size_t services_split(const char *list, char *buf, size_t size, const char **vec, size_t max)
{
	char *save = NULL;
	size_t n = 0;

	if (str_copy(buf, size, list) < 0)
		return 0;
	for (char *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
		vec[n++] = t;
	vec[n] = NULL;
	return n;
}

/* Delivers update uid of incident id to every affected tenant, each in its own transaction. */
static int deliver_update(struct db *db, int64_t id, int64_t uid)
{
	char title_ja[KURA_ANNOUNCE_TITLE_MAX * 4 + 1], title_en[KURA_ANNOUNCE_TITLE_MAX * 4 + 1];
	char severity[16], status[16], svc_buf[64], url[CONFIG_STR + 16], target[40];
	const char *svc[8];
	char *plain_ja = NULL, *plain_en = NULL;
	struct dbuf ids;
	struct db_stmt *st;
	int r;

	st = db_query(db, "SELECT i.title_ja, i.title_en, i.severity, i.services, u.status, u.body_ja, u.body_en"
			  " FROM incidents i JOIN incident_updates u ON u.incident_id = i.id WHERE i.id = $1 AND u.id = $2",
		      "ii", id, uid);
	r = db_step(st);
	if (r > 0) {
		str_copy(title_ja, sizeof(title_ja), db_text(st, 0));
		str_copy(title_en, sizeof(title_en), db_text(st, 1));
		str_copy(severity, sizeof(severity), db_text(st, 2));
		str_copy(svc_buf, sizeof(svc_buf), db_text(st, 3));
		str_copy(status, sizeof(status), db_text(st, 4));
		plain_ja = markdown_plain(db_text(st, 5));
		plain_en = markdown_plain(db_text(st, 6));
	}
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	{
		char services_text[64];

		str_copy(services_text, sizeof(services_text), svc_buf);
		services_split(services_text, svc_buf, sizeof(svc_buf), svc, ARRAY_SIZE(svc) - 1);
		str_copy(services_text, sizeof(services_text), "");
		for (size_t i = 0; svc[i]; i++)
			str_printf(services_text + strlen(services_text), sizeof(services_text) - strlen(services_text),
				   "%s%s", i ? ", " : "", svc[i]);
		str_printf(url, sizeof(url), "%s/status", notice_public_url());
		dbuf_init(&ids, KURA_DB_LIST_MAX_BYTES);
		st = db_query(db, "SELECT tenant_id FROM incident_tenants WHERE incident_id = $1 ORDER BY tenant_id", "i", id);
		while ((r = db_step(st)) > 0) {
			int64_t t = db_int(st, 0);

			if (dbuf_add(&ids, &t, sizeof(t)) < 0)
				break;
		}
		db_done(st);
		if (r >= 0)
			r = dbuf_error(&ids);
		str_printf(target, sizeof(target), "incident:%lld", (long long)id);
		for (size_t i = 0; r >= 0 && plain_ja && plain_en && i < dbuf_len(&ids) / sizeof(int64_t); i++) {
			int64_t tid = ((int64_t *)dbuf_data(&ids))[i];
			size_t n_mgr = 0, n_con = 0;
			unsigned ch = 0;
			struct tenant t;
			char chname[64];
			json_t *d;

			r = tenant_get(db, tid, &t);
			if (r == -ENOENT) {
				r = 0;
				continue;
			}
			if (r == 0)
				r = db_begin(db);
			if (r < 0)
				break;
			r = notice_tenant_channels(db, tid, svc, NOTICE_INCIDENT, &ch);
			channels_name(ch, chname, sizeof(chname));
			if (r == 0 && (ch & (CHANNEL_MAIL_MANAGERS | CHANNEL_MAIL_CONTACTS))) {
				const struct mail_var vars[] = {
					MAIL_TEXT("tenant_name", t.name), MAIL_TEXT("title_ja", title_ja),
					MAIL_TEXT("title_en", title_en), MAIL_TEXT("status_ja", status_ja(status)),
					MAIL_TEXT("status_en", status), MAIL_TEXT("severity", severity),
					MAIL_TEXT("services", services_text), MAIL_TEXT("body_ja", plain_ja),
					MAIL_TEXT("body_en", plain_en), MAIL_TEXT("url", url),
				};
				const struct mail m = { .name = "incident-update", .zone = t.zone, .vars = vars,
							.n_vars = ARRAY_SIZE(vars) };

				if (ch & CHANNEL_MAIL_MANAGERS)
					r = notify_managers(db, tid, NULL, &m, &n_mgr);
				if (r == 0 && (ch & CHANNEL_MAIL_CONTACTS))
					r = contact_notify(db, tid, &m, &n_con);
			}
			d = json_pack("{s:s, s:s, s:I}", "status", status, "channels", chname, "mails",
				      (json_int_t)(n_mgr + n_con));
			if (r == 0)
				r = audit_record(db, &(struct audit_event){ .tenant_id = tid, .actor = &actor_system,
							 .category = AUDIT_DELIVERY, .action = "incident.notify",
							 .target = target, .result = AUDIT_SUCCESS, .details = d });
			json_decref(d);
			if (r == 0)
				r = db_commit(db);
			if (r < 0)
				db_rollback(db);
		}
		dbuf_free(&ids);
	}
	free(plain_ja);
	free(plain_en);
	return r < 0 ? r : 0;
}

static bool body_ok(const char *b)
{
	return b && *b && markdown_source_valid(b);
}

int incident_create(struct db *db, const struct actor *op, const struct incident_input *in, int64_t *ret_id,
		    char *err, size_t err_size)
{
	char services[64] = "";
	int64_t now = clock_now_us(), id = 0, uid = 0;
	struct dbuf ids;
	int r;

	if (!in->title_ja || !*in->title_ja || !utf8_is_clean_text(in->title_ja, strlen(in->title_ja)) ||
	    utf8_length(in->title_ja, strlen(in->title_ja)) > KURA_ANNOUNCE_TITLE_MAX || !in->title_en ||
	    !*in->title_en || !utf8_is_clean_text(in->title_en, strlen(in->title_en)) ||
	    utf8_length(in->title_en, strlen(in->title_en)) > KURA_ANNOUNCE_TITLE_MAX)
		return str_printf(err, err_size, "titles are 1-%d characters of one line", KURA_ANNOUNCE_TITLE_MAX),
		       -EINVAL;
	if (!incident_severity_valid(in->severity))
		return str_printf(err, err_size, "--severity is minor, major or critical"), -EINVAL;
	if (in->n_services == 0)
		return str_printf(err, err_size, "--service names the affected services"), -EINVAL;
	/* in the catalog's order, each once */
	for (size_t k = 0; services_all[k]; k++)
		for (size_t i = 0; i < in->n_services; i++)
			if (!strcmp(in->services[i], services_all[k])) {
				str_printf(services + strlen(services), sizeof(services) - strlen(services), "%s%s",
					   *services ? "," : "", services_all[k]);
				break;
			}
	for (size_t i = 0; i < in->n_services; i++)
		if (!tenant_service_valid(in->services[i]))
			return str_printf(err, err_size, "unknown service \"%s\"", in->services[i]), -EINVAL;
	if (!body_ok(in->body_ja) || !body_ok(in->body_en))
		return str_printf(err, err_size, "bodies are 1-%d bytes of UTF-8 text lines", KURA_ANNOUNCE_BODY_MAX),
		       -EINVAL;
	dbuf_init(&ids, KURA_DB_LIST_MAX_BYTES);
	for (size_t i = 0; i < in->n_tenants; i++) {
		struct tenant t;

		r = tenant_find(db, in->tenants[i], &t);
		if (r < 0) {
			str_printf(err, err_size, "no tenant \"%s\"", in->tenants[i]);
			dbuf_free(&ids);
			return r;
		}
		if (dbuf_add(&ids, &t.id, sizeof(t.id)) < 0)
			break;
	}
	if (in->n_tenants == 0) {   /* every active tenant of an affected service */
		struct db_stmt *st = db_query(db, "SELECT id FROM tenants WHERE status = 'active' ORDER BY id", NULL);

		while ((r = db_step(st)) > 0) {
			int64_t tid = db_int(st, 0);
			unsigned ch = 0;
			const char *svc[8];
			char buf[64];

			services_split(services, buf, sizeof(buf), svc, ARRAY_SIZE(svc) - 1);
			if (notice_tenant_channels(db, tid, svc, NOTICE_INCIDENT, &ch) == 0 && ch && dbuf_add(&ids, &tid, sizeof(tid)) < 0)
				break;
		}
		db_done(st);
	}
	r = dbuf_error(&ids);
	if (r == 0)
		r = db_begin(db);
	if (r < 0) {
		dbuf_free(&ids);
		return r;
	}
	r = db_insert(db, &id, "INSERT INTO incidents (title_ja, title_en, severity, status, services, created_us,"
			       " updated_us) VALUES ($1, $2, $3, 'investigating', $4, $5, $5) RETURNING id",
		      "tttti", in->title_ja, in->title_en, in->severity, services, now);
	for (size_t i = 0; r == 0 && i < dbuf_len(&ids) / sizeof(int64_t); i++)
		r = db_exec(db, "INSERT INTO incident_tenants (tenant_id, incident_id) VALUES ($1, $2)"
				" ON CONFLICT (tenant_id, incident_id) DO NOTHING", "ii", ((int64_t *)dbuf_data(&ids))[i], id);
	if (r == 0)
		r = db_insert(db, &uid, "INSERT INTO incident_updates (incident_id, status, body_ja, body_en, created_us)"
					" VALUES ($1, 'investigating', $2, $3, $4) RETURNING id",
			      "itti", id, in->body_ja, in->body_en, now);
	if (r == 0)
		r = op_audit(db, op, "incident.create", id, "investigating");
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	dbuf_free(&ids);
	if (r < 0)
		return r;
	*ret_id = id;
	r = deliver_update(db, id, uid);
	if (r < 0)
		log_warn("incident.deliver", "incident %lld: %s", (long long)id, strerror(-r));
	return 0;
}

int incident_update(struct db *db, const struct actor *op, int64_t id, const char *status, const char *body_ja,
		    const char *body_en)
{
	int64_t now = clock_now_us(), uid = 0, n = 0;
	struct db_stmt *st;
	int r;

	if (!incident_status_valid(status) || !body_ok(body_ja) || !body_ok(body_en))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT CASE WHEN status = 'resolved' THEN 1 ELSE 0 END,"
			  " (SELECT count(*) FROM incident_updates u WHERE u.incident_id = incidents.id)"
			  " FROM incidents WHERE id = $1", "i", id);
	r = db_step(st);
	if (r > 0) {
		n = db_int(st, 1);
		if (db_int(st, 0) == 1)
			r = -EPERM;     /* a resolved incident stays closed: a new one says more */
	}
	db_done(st);
	r = r < 0 ? r : r == 0 ? -ENOENT : n >= KURA_INCIDENT_UPDATES_MAX ? -E2BIG : 0;
	if (r == 0)
		r = db_exec(db, "UPDATE incidents SET status = $2, updated_us = $3,"
				" resolved_us = CASE WHEN $2 = 'resolved' THEN $3 ELSE resolved_us END WHERE id = $1",
			    "iti", id, status, now);
	if (r == 0)
		r = db_insert(db, &uid, "INSERT INTO incident_updates (incident_id, status, body_ja, body_en, created_us)"
					" VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      "ittti", id, status, body_ja, body_en, now);
	if (r == 0)
		r = op_audit(db, op, strcmp(status, "resolved") ? "incident.update" : "incident.resolve", id, status);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	r = deliver_update(db, id, uid);
	if (r < 0)
		log_warn("incident.deliver", "incident %lld: %s", (long long)id, strerror(-r));
	return 0;
}

/* ---------------------------------------------------------------- views */

static json_t *timeline(struct db *db, int64_t id, bool blocks)
{
	struct db_stmt *st = db_query(db, "SELECT status, body_ja, body_en, created_us FROM incident_updates"
					  " WHERE incident_id = $1 ORDER BY id LIMIT $2",
				      "ii", id, (int64_t)KURA_INCIDENT_UPDATES_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0) {
		json_t *u = json_pack("{s:s}", "status", db_text(st, 0));

		if (blocks) {
			json_object_set_new(u, "body_ja", markdown_parse(db_text(st, 1)));
			json_object_set_new(u, "body_en", markdown_parse(db_text(st, 2)));
		} else {
			json_object_set_new(u, "body_ja", json_string(db_text(st, 1)));
			json_object_set_new(u, "body_en", json_string(db_text(st, 2)));
		}
		set_time(u, "at", db_int(st, 3));
		json_array_append_new(arr, u);
	}
	db_done(st);
	return arr;
}

#define INCIDENT_COLUMNS "i.id, i.title_ja, i.title_en, i.severity, i.status, i.services, i.created_us," \
	" i.updated_us, COALESCE(i.resolved_us, 0)"

static json_t *incident_row(struct db_stmt *st)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)db_int(st, 0), "title_ja",
			      db_text(st, 1), "title_en", db_text(st, 2), "severity", db_text(st, 3), "status",
			      db_text(st, 4), "services", db_text(st, 5));

	set_time(o, "created_at", db_int(st, 6));
	set_time(o, "updated_at", db_int(st, 7));
	set_time(o, "resolved_at", db_int(st, 8));
	return o;
}

static json_t *services_array(const char *list)
{
	char buf[64];
	const char *svc[8];
	json_t *arr = json_array();

	services_split(list, buf, sizeof(buf), svc, ARRAY_SIZE(svc) - 1);
	for (size_t i = 0; arr && svc[i]; i++)
		json_array_append_new(arr, json_string(svc[i]));
	return arr;
}

json_t *incident_list_json(struct db *db)
{
	struct db_stmt *st = db_query(db, "SELECT " INCIDENT_COLUMNS ", (SELECT count(*) FROM incident_tenants t"
					  " WHERE t.incident_id = i.id) FROM incidents i ORDER BY i.id DESC LIMIT $1",
				      "i", (int64_t)KURA_ANNOUNCE_LIST_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0) {
		json_t *o = incident_row(st);

		json_object_set_new(o, "tenants", json_integer(db_int(st, 9)));
		json_array_append_new(arr, o);
	}
	db_done(st);
	return arr;
}

json_t *incident_show_json(struct db *db, int64_t id)
{
	struct db_stmt *st = db_query(db, "SELECT " INCIDENT_COLUMNS " FROM incidents i WHERE i.id = $1", "i", id);
	json_t *o = NULL, *tenants;

	if (db_step(st) > 0)
		o = incident_row(st);
	db_done(st);
	if (!o)
		return NULL;
	json_object_set_new(o, "timeline", timeline(db, id, false));
	st = db_query(db, "SELECT count(*) FROM incident_tenants WHERE incident_id = $1", "i", id);
	if (db_step(st) > 0)
		json_object_set_new(o, "tenants_total", json_integer(db_int(st, 0)));
	db_done(st);
	tenants = json_array();
	st = db_query(db, "SELECT t.code FROM incident_tenants x JOIN tenants t ON t.id = x.tenant_id"
			  " WHERE x.incident_id = $1 ORDER BY t.code LIMIT $2",
		      "ii", id, (int64_t)KURA_ANNOUNCE_SHOW_TENANTS_MAX);
	while (tenants && db_step(st) > 0)
		json_array_append_new(tenants, json_pack("{s:s}", "tenant", db_text(st, 0)));
	db_done(st);
	json_object_set_new(o, "tenants", tenants);
	return o;
}

static const char *worse(const char *a, const char *b)
{
	static const char *const order[] = { "operational", "degraded", "partial_outage", "major_outage" };
	size_t ia = 0, ib = 0;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (!strcmp(order[i], a))
			ia = i;
		if (!strcmp(order[i], b))
			ib = i;
	}
	return ib > ia ? b : a;
}

json_t *incident_public_json(struct db *db)
{
	const char *state[ARRAY_SIZE(services_all)];
	json_t *o, *components = json_array(), *incidents = json_array();
	struct db_stmt *st;

	for (size_t i = 0; services_all[i]; i++)
		state[i] = "operational";
	st = db_query(db, "SELECT " INCIDENT_COLUMNS " FROM incidents i ORDER BY CASE WHEN i.status = 'resolved'"
			  " THEN 1 ELSE 0 END, i.id DESC LIMIT $1", "i", (int64_t)KURA_STATUS_INCIDENTS_MAX);
	while (incidents && db_step(st) > 0) {
		json_t *row = incident_row(st);
		bool open = strcmp(db_text(st, 4), "resolved") != 0;
		const char *sev = db_text(st, 3);
		const char *s = !strcmp(sev, "critical") ? "major_outage" : !strcmp(sev, "major") ? "partial_outage"
												   : "degraded";

		json_object_set_new(row, "services", services_array(db_text(st, 5)));
		for (size_t i = 0; open && services_all[i]; i++)
			if (strstr(db_text(st, 5), services_all[i]))
				state[i] = worse(state[i], s);
		json_array_append_new(incidents, row);
	}
	db_done(st);
	for (size_t i = 0; incidents && i < json_array_size(incidents); i++) {
		json_t *row = json_array_get(incidents, i);

		json_object_set_new(row, "timeline",
				    timeline(db, json_integer_value(json_object_get(row, "id")), true));
	}
	for (size_t i = 0; components && services_all[i]; i++)
		json_array_append_new(components, json_pack("{s:s, s:s}", "service", services_all[i], "status", state[i]));
	o = json_pack("{s:o, s:o}", "components", components, "incidents", incidents);
	return o;
}

json_t *incident_tenant_json(struct db *db, int64_t tenant_id)
{
	struct db_stmt *st = db_query(db, "SELECT " INCIDENT_COLUMNS " FROM incidents i JOIN incident_tenants x"
					  " ON x.incident_id = i.id WHERE x.tenant_id = $1 ORDER BY i.id DESC LIMIT $2",
				      "ii", tenant_id, (int64_t)KURA_STATUS_INCIDENTS_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0) {
		json_t *row = incident_row(st);

		json_object_set_new(row, "services", services_array(db_text(st, 5)));
		json_array_append_new(arr, row);
	}
	db_done(st);
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		json_t *row = json_array_get(arr, i);

		json_object_set_new(row, "timeline", timeline(db, json_integer_value(json_object_get(row, "id")), true));
	}
	return arr;
}
