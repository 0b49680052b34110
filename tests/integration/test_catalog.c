/*
 * The service catalog end to end (issue 8 "Service catalog"; D4, F4, F9, B3): a new IAAS
 * tenant starts with sharing, WebDAV and app passwords off until a manager turns them on;
 * GET /api/v1/tenant shows the effective values of several services and where each comes
 * from; kura.conf [service.CODE] overrides reach the operator commands, and bad ones stop
 * the server at start-up; the audit retention sweep keeps each tenant's records for its own
 * services' periods (ZTNA 60 days, DOCX 90), driven by the test clock at restarts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define PW "Catalog-manager-pass-1"

static void create_tenant(struct it_server *s, const char *code, const char *services)
{
	json_t *j = NULL;

	assert_int_equal(it_admin(s, &j, "tenant", "create", code, "--name", code, "--service", services, NULL), 0);
	json_decref(j);
}

static const char *str_at(json_t *root, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(json_object_get(json_object_get(root, a), b), c);

	return json_string_value(v);
}

static struct it_response *propfind(struct it_server *s, const char *path, const char *user, const char *secret)
{
	char auth[IT_STR * 3];
	const char *headers[] = { auth, "Depth: 0", NULL };

	it_basic_auth(auth, sizeof(auth), user, secret);
	return it_request(s, &(struct it_request){ .method = "PROPFIND", .path = path, .headers = headers });
}

/* D4: IAAS starts closed; a manager opens what it needs; DOCX starts open */
static void test_iaas_starts_closed(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, dmgr;
	struct it_response *r;
	json_t *tn;
	char secret[IT_STR];

	create_tenant(s, "iaas1", "IAAS");
	it_create_manager(s, "iaas1", "boss", PW, &mgr);
	r = it_get(s, &mgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	tn = r->json;
	assert_true(json_is_false(json_object_get(json_object_get(tn, "features"), "sharing")));
	assert_true(json_is_false(json_object_get(json_object_get(tn, "features"), "webdav")));
	assert_true(json_is_false(json_object_get(json_object_get(tn, "features"), "app_passwords")));
	assert_string_equal(str_at(tn, "effective", "operator_access", "value"), "never");
	assert_string_equal(str_at(tn, "effective", "operator_access", "service"), "IAAS");
	assert_true(json_is_false(json_object_get(
		json_object_get(json_object_get(json_object_get(tn, "effective"), "initial_state"), "webdav"), "on")));
	/* the boundary of its three products, in both languages */
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(tn, "catalog"), 0),
							 "boundary")), 3);
	it_response_free(r);

	/* closed: links, app passwords (and so WebDAV) are refused, and recorded */
	r = it_send(s, &mgr, "POST", "/api/v1/shares", json_pack("{s:s}", "node_id", "root"));
	IT_ASSERT_PROBLEM(r, 403, "feature-off");
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "sync", "scope", "read"));
	IT_ASSERT_PROBLEM(r, 403, "feature-off");
	it_response_free(r);
	assert_true(it_audit_count(s, &mgr, "action=app_password.create&result=denied") >= 1);
	assert_true(it_audit_count(s, &mgr, "action=share.create&result=denied") >= 1);

	/* a bad body changes nothing */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:s}", "webdav", "yes"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:b}", "printing", 1));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	/* the manager turns app passwords and WebDAV on; sharing stays off */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:b, s:b}", "app_passwords", 1, "webdav", 1));
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(r->json, "webdav")));
	assert_true(json_is_false(json_object_get(r->json, "sharing")));
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &mgr, "action=tenant.features"), 1);
	r = it_send(s, &mgr, "POST", "/api/v1/me/app-passwords", json_pack("{s:s, s:s}", "name", "sync", "scope", "read"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	r = propfind(s, "/dav/iaas1/", "boss@iaas1", secret);
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);
	r = it_send(s, &mgr, "POST", "/api/v1/shares", json_pack("{s:s}", "node_id", "root"));
	IT_ASSERT_PROBLEM(r, 403, "feature-off");
	it_response_free(r);

	/* off again: the app password stops signing in, WebDAV stops */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:b}", "app_passwords", 0));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = propfind(s, "/dav/iaas1/", "boss@iaas1", secret);
	IT_ASSERT_STATUS(r, 403);   /* WebDAV clients get their answers as text */
	assert_non_null(strstr(r->body, " off for this tenant"));
	it_response_free(r);
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:b, s:b}", "app_passwords", 1, "webdav", 0));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	r = propfind(s, "/dav/iaas1/", "boss@iaas1", secret);
	IT_ASSERT_STATUS(r, 403);   /* WebDAV clients get their answers as text */
	assert_non_null(strstr(r->body, " off for this tenant"));
	it_response_free(r);

	/* DOCX starts open */
	create_tenant(s, "docx1", "DOCX");
	it_create_manager(s, "docx1", "boss", PW, &dmgr);
	r = it_get(s, &dmgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(json_object_get(r->json, "features"), "sharing")));
	assert_true(json_is_true(json_object_get(json_object_get(r->json, "features"), "webdav")));
	assert_true(json_is_true(json_object_get(json_object_get(r->json, "features"), "app_passwords")));
	it_response_free(r);
	/* a link made while sharing is on stops opening when a manager turns it off */
	r = it_send(s, &dmgr, "POST", "/api/v1/shares", json_pack("{s:s}", "node_id", "root"));
	IT_ASSERT_STATUS(r, 201);
	{
		char path[IT_STR];
		const char *url = it_json_str(r->json, "url"), *tok = url ? strstr(url, "/s/") : NULL;

		assert_non_null(tok);
		snprintf(path, sizeof(path), "/api/v1/links/%s", tok + 3);
		it_response_free(r);
		IT_EXPECT_GET(s, NULL, path, 200);
		r = it_send(s, &dmgr, "PATCH", "/api/v1/tenant/features", json_pack("{s:b}", "sharing", 0));
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
		IT_EXPECT_GET(s, NULL, path, 404);
	}
	/* a user may not change them */
	{
		struct it_session user;

		it_create_account(s, &dmgr, "docx1", "carol", "user", "Catalog-user-pass-22", &user);
		r = it_send(s, &user, "PATCH", "/api/v1/tenant/features", json_pack("{s:b}", "sharing", 1));
		IT_ASSERT_STATUS(r, 403);
		it_response_free(r);
	}
}

/* several services: the longest retention, the shortest erasure deadline, each named */
static void test_effective_values(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct it_response *r;
	json_t *e, *j = NULL;
	char *out = NULL;

	create_tenant(s, "mixed", "DOCX,ZTNA,MAIL");
	it_create_manager(s, "mixed", "boss", PW, &mgr);
	r = it_get(s, &mgr, "/api/v1/tenant");
	IT_ASSERT_STATUS(r, 200);
	e = json_object_get(r->json, "effective");
	/* ZTNA keeps visibility (access) logs for the contract period */
	assert_string_equal(str_at(e, "retention", "access", "period"), "contract");
	assert_string_equal(str_at(e, "retention", "access", "service"), "ZTNA");
	/* MAIL's 90 days before today beat DOCX's 90 including today and ZTNA's 60 */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(e, "retention"),
									    "operation"), "days")), 90);
	assert_string_equal(str_at(e, "retention", "operation", "service"), "MAIL");
	/* DOCX's 30 days from the termination day are the shortest */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "erasure"), "days")), 30);
	assert_string_equal(it_json_str(json_object_get(e, "erasure"), "day1"), "termination-day");
	assert_string_equal(it_json_str(json_object_get(e, "erasure"), "service"), "DOCX");
	assert_int_equal(json_array_size(json_object_get(r->json, "catalog")), 3);
	it_response_free(r);

	/* the operator sees the same, with the deployment's override of ZTNA (extra_config) */
	assert_int_equal(it_admin(s, &j, "tenant", "show", "mixed", NULL), 0);
	assert_string_equal(str_at(j, "effective", "operator_access", "value"), "consent");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "effective"), "erasure"),
							  "days")), 30);
	json_decref(j);
	create_tenant(s, "vpn", "ZTNA");
	assert_int_equal(it_admin(s, &j, "tenant", "show", "vpn", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "effective"), "erasure"),
							  "days")), 45);
	json_decref(j);
	assert_int_equal(it_admin(s, &j, "service", "list", NULL), 0);
	assert_int_equal(json_array_size(json_object_get(j, "services")), 5);
	assert_string_equal(it_json_str(json_array_get(json_object_get(j, "services"), 3), "code"), "ZTNA");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(json_object_get(j, "services"), 3),
									    "erasure"), "days")), 45);
	json_decref(j);
	/* for people: one row per service */
	{
		char dash[] = "--data";
		const char *argv[] = { KURA_BIN, "admin", dash, s->data, "service", "list", NULL };

		assert_int_equal(it_run(argv, 30, &out, NULL), 0);
		assert_non_null(strstr(out, "ZTNA"));
		assert_non_null(strstr(out, "45 days, day 1 = day after"));
		assert_non_null(strstr(out, "sharing off, webdav off, app-pw off"));   /* IAAS */
		free(out);
	}
}

/* a bad [service.CODE] key or value stops the server at start-up, naming it */
static void test_bad_config_refused(void **state)
{
	struct it_server *s = *state;
	static const struct { const char *text, *says; } bad[] = {
		{ "[service.ZTNA]\nerasure_deadline = 3\n", "unknown setting [service.ZTNA] erasure_deadline" },
		{ "[service.ZTNA]\nerasure_days = 0\n", "[service.ZTNA] erasure_days must be a number of days" },
		{ "[service.VPN]\nerasure_days = 3\n", "unknown service [service.VPN]" },
	};
	char path[IT_STR * 2];
	char *orig, *err = NULL;
	size_t n;

	snprintf(path, sizeof(path), "%s/kura.conf", s->data);
	orig = it_read_file(path, &n);
	assert_non_null(orig);
	assert_int_equal(it_server_halt(s), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fwrite(orig, 1, n, f);
		fputs(bad[i].text, f);
		fclose(f);
		assert_true(it_serve_once(s, 30, NULL, &err) != 0);
		if (!err || !strstr(err, bad[i].says))
			fail_msg("start-up error \"%s\" does not say \"%s\"", err ? err : "", bad[i].says);
		free(err);
		err = NULL;
	}
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fwrite(orig, 1, n, f);
		fclose(f);
	}
	free(orig);
	assert_int_equal(it_server_restart(s), 0);
}

static void restart_at(struct it_server *s, const char *offset_s)
{
	setenv("KURA_TEST_CLOCK_OFFSET_S", offset_s, 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
}

static long first_seq(struct it_server *s, const struct it_session *mgr)
{
	struct it_response *r = it_get(s, mgr, "/api/v1/audit?limit=1");
	long seq;

	IT_ASSERT_STATUS(r, 200);
	seq = (long)json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0), "seq"));
	it_response_free(r);
	return seq;
}

static long last_seq(struct it_server *s, const struct it_session *mgr)
{
	struct it_response *r = it_get(s, mgr, "/api/v1/audit?limit=1000");
	json_t *ev;
	long seq;

	IT_ASSERT_STATUS(r, 200);
	ev = json_object_get(r->json, "events");
	seq = (long)json_integer_value(json_object_get(json_array_get(ev, json_array_size(ev) - 1), "seq"));
	it_response_free(r);
	return seq;
}

/* F4, F9: each tenant's records are kept for its own services' periods. 70 days on, the
 * ZTNA tenant's 60-day records are gone while the DOCX tenant keeps its 90 days. */
static void test_retention_per_tenant(void **state)
{
	struct it_server *s = *state;
	struct it_session z, d;
	long z_first, z_last, d_first, i;
	struct it_response *r;

	create_tenant(s, "zeta", "ZTNA");
	create_tenant(s, "delta", "DOCX");
	it_create_manager(s, "zeta", "boss", PW, &z);
	it_create_manager(s, "delta", "boss", PW, &d);
	z_first = first_seq(s, &z);
	z_last = last_seq(s, &z);
	d_first = first_seq(s, &d);
	assert_true(z_first >= 1 && z_first < z_last);

	/* 70 days on (the worker prunes when it starts; polled, it runs beside the listener) */
	restart_at(s, "6048000");
	IT_ASSERT_LOGIN(s, "zeta", "boss", PW, 201, &z);
	IT_ASSERT_LOGIN(s, "delta", "boss", PW, 201, &d);
	for (i = 0; i < IT_WAIT_S * 10 && first_seq(s, &z) <= z_last; i++)
		usleep(100 * 1000);
	assert_true(first_seq(s, &z) > z_last);
	assert_int_equal(first_seq(s, &d), d_first);
	/* the pruning record says what applied, and from which service */
	r = it_get(s, &z, "/api/v1/audit?action=audit.prune&limit=10");
	IT_ASSERT_STATUS(r, 200);
	{
		json_t *det = json_object_get(json_array_get(json_object_get(r->json, "events"), 0), "details");
		json_t *ret = json_object_get(det, "retention");

		assert_int_equal(json_integer_value(json_object_get(json_object_get(ret, "operation"), "days")), 60);
		assert_string_equal(it_json_str(json_object_get(ret, "operation"), "service"), "ZTNA");
		assert_string_equal(it_json_str(json_object_get(ret, "access"), "period"), "contract");
	}
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &d, "action=audit.prune"), 0);
	assert_int_equal(it_admin(s, NULL, "audit", "verify", "zeta", NULL), 0);
}

static int setup(void **state)
{
	struct it_options o = { .extra_config = "[service.ZTNA]\nerasure_days = 45\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iaas_starts_closed, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_effective_values, setup, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_bad_config_refused, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_retention_per_tenant, it_setup_server, it_teardown_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
