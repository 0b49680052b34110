/*
 * Integration test: /metrics on [server] metrics_listen and the capacity alerts (issue 13,
 * docs/operations.md "Metrics", "Alerts").
 * - A real kura serve with metrics_listen on loopback: the exposition passes `promtool check
 *   metrics` (Debian's prometheus package), requests are counted by route pattern (never by
 *   path) and status, audit appends are timed, tenants' storage and quota, the outbox, key
 *   ages, the clock and the disk are there; the public listener has no /metrics.
 * - metrics_listen on a non-loopback address: kura serve refuses to start, naming it.
 * - A tenant over 80 % of a real tiny quota: one log line and one mail to [ops] alert_mail,
 *   not one per check; raising the quota clears it.
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

#define WAIT_S 30
#define OPS_MAIL "ops@example.test"

struct mbuf {
	char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct mbuf *b = user;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);

	if (!q)
		return 0;
	memcpy(q + b->n, ptr, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* GET url; the body (malloc'd) and the status */
static char *get(const char *url, long *ret_status)
{
	CURL *c = curl_easy_init();
	struct mbuf b = { 0 };

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	*ret_status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	curl_easy_cleanup(c);
	return b.p ? b.p : strdup("");
}

/* The value of the sample line that starts with name_and_labels (followed by a space), or -1 */
static double sample(const char *text, const char *name_and_labels)
{
	size_t n = strlen(name_and_labels);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name_and_labels, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static char *scrape(int port)
{
	char url[128];
	long st;
	char *body;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	body = get(url, &st);
	assert_int_equal(st, 200);
	return body;
}

static void promtool_check(struct it_server *s, const char *text)
{
	char path[IT_STR + 32], cmd[IT_STR + 96];
	char *out = NULL, *err = NULL;
	FILE *f;
	int status;

	snprintf(path, sizeof(path), "%s/metrics.txt", s->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
	{
		const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		status = it_run(argv, 60, &out, &err);
	}
	if (status != 0)
		fprintf(stderr, "promtool check metrics exited %d:\n%s%s\n", status, out ? out : "", err ? err : "");
	assert_int_equal(status, 0);
	print_message("promtool check metrics: ok (%zu bytes)\n", strlen(text));
	free(out);
	free(err);
}

static void metrics_scrape(void **state)
{
	int mport = it_free_port();
	char extra[256], url[IT_STR + 32];
	struct it_options o = { .extra_config = extra };
	struct it_server *s;
	char *before, *after, *pub;
	double n0, n1, a0, a1;
	long st;

	(void)state;
	snprintf(extra, sizeof(extra), "[server]\nmetrics_listen = 127.0.0.1:%d\n", mport);
	s = it_server_start(&o);
	assert_non_null(s);
	it_create_tenant(s, "alpha", NULL);

	before = scrape(mport);
	promtool_check(s, before);
	n0 = sample(before, "kura_http_requests_total{method=\"GET\",route=\"/api/v1/status\",status=\"200\"}");
	a0 = sample(before, "kura_audit_append_seconds_count");
	assert_true(a0 >= 1);   /* tenant.create was recorded */

	for (int i = 0; i < 3; i++)
		IT_EXPECT_GET(s, NULL, "/api/v1/status", 200);
	IT_ASSERT_LOGIN(s, "alpha", "nobody", "wrong-password-1", 401, NULL);   /* recorded: an audit append */
	IT_EXPECT_GET(s, NULL, "/no/such/path/a1b2c3", 404);

	after = scrape(mport);
	promtool_check(s, after);
	n1 = sample(after, "kura_http_requests_total{method=\"GET\",route=\"/api/v1/status\",status=\"200\"}");
	a1 = sample(after, "kura_audit_append_seconds_count");
	print_message("GET /api/v1/status 200: %.0f -> %.0f; audit appends %.0f -> %.0f\n", n0, n1, a0, a1);
	assert_true(n1 >= (n0 < 0 ? 0 : n0) + 3);
	assert_true(a1 > a0);
	assert_true(sample(after, "kura_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/status\"}") >= 3);
	/* a path no route matches is counted as such: the path itself is never a label */
	assert_true(sample(after, "kura_http_requests_total{method=\"\",route=\"unmatched\",status=\"404\"}") >= 1);
	assert_null(strstr(after, "a1b2c3"));
	assert_true(sample(after, "kura_tenant_storage_quota_bytes{tenant=\"alpha\"}") > 0);
	assert_true(sample(after, "kura_tenant_storage_used_bytes{tenant=\"alpha\"}") >= 0);
	assert_true(sample(after, "kura_tenant_key_age_seconds{tenant=\"alpha\"}") >= 0);
	assert_true(sample(after, "kura_key_age_seconds{key=\"master\"}") >= 0);
	assert_true(sample(after, "kura_outbox_mails{state=\"queued\"}") >= 0);
	assert_true(sample(after, "kura_clock_synchronized") >= 0);
	assert_true(sample(after, "kura_disk_size_bytes") > 0);
	assert_true(sample(after, "kura_database_up") == 1);
	/* the kept PROPFIND answers (test_dav_cache serves them; none here) */
	assert_true(sample(after, "kura_dav_cache_answers") == 0);
	assert_true(sample(after, "kura_dav_cache_bytes") == 0);
	assert_true(sample(after, "kura_dav_cache_hits_total") == 0);

	/* the public listener has no /metrics */
	snprintf(url, sizeof(url), "%s/metrics", s->base_url);
	pub = get(url, &st);
	assert_int_equal(st, 404);
	assert_null(strstr(pub, "kura_http_requests_total"));
	free(pub);
	/* and the metrics listener serves nothing else */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/status", mport);
	free(get(url, &st));
	assert_int_equal(st, 404);

	free(before);
	free(after);
	assert_int_equal(it_server_stop(s), 0);
}

/* A key version that leaves the database in another process (`kura admin tenant rotate-key`
 * here; on several nodes also an erasure run by another node) leaves this node's memory
 * within KURA_KEY_CACHE_RECHECK_S plus an outbox poll (1 s here): before, the server kept the
 * old unwrapped key until it was evicted or the server restarted. */
static void key_cache_drops_rotated_key(void **state)
{
	int mport = it_free_port();
	char extra[256], path[IT_STR];
	struct it_options o = { .extra_config = extra };
	static const char content[] = "a file whose key the server caches";
	struct it_session mgr;
	struct it_response *r;
	struct it_server *s;
	char *text;
	double n = -1;
	long long id;
	int waited;

	(void)state;
	snprintf(extra, sizeof(extra), "[server]\nmetrics_listen = 127.0.0.1:%d\n", mport);
	s = it_server_start(&o);
	assert_non_null(s);
	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "amgr", IT_A_MGR_PW, &mgr);
	{
		struct it_request rq = { .method = "PUT", .path = "/api/v1/folders/root/files/k.txt", .body = content,
					 .body_len = sizeof(content) - 1, .content_type = "application/octet-stream",
					 .cookie = mgr.token, .csrf = mgr.csrf };

		r = it_request(s, &rq);
		IT_ASSERT_STATUS(r, 201);
		id = (long long)json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
	}
	text = scrape(mport);
	assert_true(sample(text, "kura_key_cache_entries") == 1);   /* alpha's key, version 1 */
	free(text);

	assert_int_equal(it_admin(s, NULL, "tenant", "rotate-key", "alpha", NULL), 0);   /* deletes version 1 */
	for (waited = 0; waited < IT_WAIT_S * 10; waited++) {   /* KURA_KEY_CACHE_RECHECK_S is 5: a poll, not a timing */
		text = scrape(mport);
		n = sample(text, "kura_key_cache_entries");
		free(text);
		if (n == 0)
			break;
		usleep(100000);
	}
	print_message("the rotated-out key left the cache after %.1f s\n", waited / 10.0);
	assert_true(n == 0);

	/* the file is read with the new version, which is cached in its turn */
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", id);
	{
		struct it_request rq = { .method = "GET", .path = path, .cookie = mgr.token };

		r = it_request(s, &rq);
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(r->body_len, sizeof(content) - 1);
		assert_memory_equal(r->body, content, sizeof(content) - 1);
		it_response_free(r);
	}
	text = scrape(mport);
	assert_true(sample(text, "kura_key_cache_entries") == 1);
	free(text);
	assert_int_equal(it_server_stop(s), 0);
}

static void metrics_refuses_public_address(void **state)
{
	static const char *const bad[] = { "0.0.0.0:9464", "[::]:9464", "192.0.2.1:9464", "localhost:9464",
					   "127.0.0.1", "[::1]:0" };
	struct it_server *s;

	(void)state;
	s = it_server_start(NULL);
	assert_non_null(s);
	assert_int_equal(it_server_halt(s), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[IT_STR + 16], *orig, *out = NULL, *err = NULL;
		size_t n;
		FILE *f;
		int status;

		snprintf(path, sizeof(path), "%s/kura.conf", s->data);
		orig = it_read_file(path, &n);
		assert_non_null(orig);
		f = fopen(path, "a");
		assert_non_null(f);
		fprintf(f, "\n[server]\nmetrics_listen = %s\n", bad[i]);
		fclose(f);
		status = it_serve_once(s, 60, &out, &err);
		if (status != 1 || !err || !strstr(err, "metrics_listen"))
			fprintf(stderr, "metrics_listen = %s: kura serve exited %d\n%s\n", bad[i], status, err ? err : "");
		assert_int_equal(status, 1);
		assert_non_null(strstr(err, "must be a loopback address"));
		print_message("metrics_listen = %s refused\n", bad[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fwrite(orig, 1, n, f);
		fclose(f);
		free(orig);
		free(out);
		free(err);
	}
	assert_int_equal(it_server_restart(s), 0);
	assert_int_equal(it_server_stop(s), 0);
}

static int log_count(struct it_server *s, const char *needle)
{
	size_t n;
	char *text = it_read_file(s->log_path, &n);
	int count = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		count++;
	free(text);
	return count;
}

static void alerts_tiny_quota(void **state)
{
	struct it_options o = { .extra_config = "[ops]\nalert_mail = " OPS_MAIL "\ncheck_seconds = 1\n"
						"alert_repeat_seconds = 3600\n"
						/* this machine's own disk must not add its alert */
						"disk_alert_percent = 100\n" };
	struct it_server *s;
	struct it_session mgr;
	struct it_mail *m;
	struct it_response *r;
	json_t *q = NULL, *body;
	long long used;
	char quota[32];
	int i;

	(void)state;
	s = it_server_start(&o);
	assert_non_null(s);
	it_create_tenant(s, "tiny", NULL);
	it_create_manager(s, "tiny", "tmgr", "Tiny-manager-pass-1", &mgr);
	/* something stored: a folder counts against the quota */
	body = json_pack("{s:s}", "name", "reports");
	r = it_send(s, &mgr, "POST", "/api/v1/folders/root/children", body);   /* takes body */
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	assert_int_equal(it_admin(s, &q, "tenant", "set-quota", "tiny", "1000000000", NULL), 0);
	used = (long long)json_integer_value(json_object_get(q, "used_bytes"));
	json_decref(q);
	assert_true(used > 0);
	assert_int_equal(log_count(s, "\"ops.alert\""), 0);
	/* a real tiny quota: what is stored is 90 % of it */
	snprintf(quota, sizeof(quota), "%lld", used * 10 / 9);
	assert_int_equal(it_admin(s, &q, "tenant", "set-quota", "tiny", quota, NULL), 0);
	json_decref(q);

	m = it_wait_for_mail(s, OPS_MAIL, WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "kura raised a capacity alert"));
	assert_non_null(strstr(m->body, "tenant tiny"));
	assert_non_null(strstr(m->body, "over 80 %"));
	print_message("alert mail: %.*s\n", (int)strcspn(strstr(m->body, "tenant tiny"), "\n"),
		      strstr(m->body, "tenant tiny"));
	it_mail_free(m);
	assert_int_equal(log_count(s, "quota:tiny"), 1);
	/* further checks (one a second) while it stands: no second mail, no second log line */
	sleep(3);
	assert_int_equal(it_mails_before_marker(s, OPS_MAIL), 0);
	assert_int_equal(log_count(s, "quota:tiny"), 1);

	/* room again: the alert is over */
	assert_int_equal(it_admin(s, &q, "tenant", "set-quota", "tiny", "1000000000", NULL), 0);
	json_decref(q);
	for (i = 0; i < WAIT_S * 10 && log_count(s, "ops.alert.cleared") == 0; i++)
		usleep(100000);
	assert_true(log_count(s, "ops.alert.cleared") >= 1);
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metrics_scrape),
		cmocka_unit_test(key_cache_drops_rotated_key),
		cmocka_unit_test(metrics_refuses_public_address),
		cmocka_unit_test(alerts_tiny_quota),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
