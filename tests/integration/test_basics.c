/*
 * Integration: the command line and the basics of the public listener, against real
 * `kura init` / `kura serve` processes. Covers: init refusing an existing directory and the
 * files it creates; serve refusing plain HTTP on a non-loopback address and a port in use;
 * clean exit on SIGTERM (every teardown); the status and provider endpoints; the JSON-lines
 * log; the demo account's one-time password, the must-change-password state and the password
 * change; identical answers for every kind of failed login; logout; CSRF refusal that changes
 * nothing; and TLS (the certificate `init` wrote, and no TLS 1.0/1.1).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

#define NEW_PASSWORD "demo-admin-Passphrase-2"

/* A data directory made by `kura init` in a fresh temporary directory; root returned too. */
static void init_dir(char *root, size_t root_size, char *data, size_t data_size)
{
	const char *argv[] = { KURA_BIN, "init", "--data", data, NULL };
	char *out = NULL, *err = NULL;
	int status;

	assert_int_equal(it_mkdtemp(root, root_size), 0);
	snprintf(data, data_size, "%s/data", root);
	status = it_run(argv, 120, &out, &err);
	if (status != 0)
		print_error("kura init: %d\n%s\n%s\n", status, out, err);
	free(out);
	free(err);
	assert_int_equal(status, 0);
	assert_int_equal(it_conf_keep_root(data), 0);
}

static void test_version(void **state)
{
	const char *argv[] = { KURA_BIN, "version", NULL };
	char *out = NULL;

	(void)state;
	assert_int_equal(it_run(argv, 60, &out, NULL), 0);
	assert_non_null(strstr(out, KURA_VERSION));
	free(out);
}

static void test_init_creates_and_refuses_existing_dir(void **state)
{
	static const char *const files[] = { "kura.conf", "master.key", "signing.key",
					     "signing.pub", "tls/cert.pem", "tls/key.pem", "kura.db" };
	char root[IT_STR / 2], data[IT_STR], path[3 * IT_STR], empty[2 * IT_STR];
	const char *again[] = { KURA_BIN, "init", "--data", data, NULL };
	const char *into_empty[] = { KURA_BIN, "init", "--data", empty, NULL };
	char *key_before, *key_after, *err = NULL;
	size_t len_before, len_after, i;
	struct stat st;
	int status;

	(void)state;
	init_dir(root, sizeof(root), data, sizeof(data));
	assert_int_equal(stat(data, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", data, files[i]);
		if (stat(path, &st) != 0)
			print_error("kura init did not create %s\n", files[i]);
		assert_int_equal(stat(path, &st), 0);
	}
	/* secret keys are readable by the owner only */
	snprintf(path, sizeof(path), "%s/master.key", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	snprintf(path, sizeof(path), "%s/signing.key", data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);

	/* a second init on the same directory fails and leaves the keys alone */
	snprintf(path, sizeof(path), "%s/master.key", data);
	key_before = it_read_file(path, &len_before);
	assert_non_null(key_before);
	status = it_run(again, 120, NULL, &err);
	assert_true(status > 0);
	assert_true(strlen(err) > 0);
	free(err);
	key_after = it_read_file(path, &len_after);
	assert_non_null(key_after);
	assert_int_equal(len_before, len_after);
	assert_memory_equal(key_before, key_after, len_before);
	free(key_before);
	free(key_after);

	/* an existing, empty directory is refused too */
	snprintf(empty, sizeof(empty), "%s/empty", root);
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_true(it_run(into_empty, 120, NULL, NULL) > 0);
	snprintf(path, sizeof(path), "%s/kura.conf", empty);
	assert_int_not_equal(stat(path, &st), 0);

	assert_int_equal(it_rmtree(root), 0);
}

/* serve with these arguments must exit by itself with a non-zero status and say why */
static void expect_serve_refuses(const char *data, const char *addr, bool no_tls)
{
	const char *argv[] = { KURA_BIN, "serve", "--data", data, "--listen", addr,
			       no_tls ? "--no-tls" : NULL, NULL };
	char *err = NULL;
	int status = it_run(argv, 30, NULL, &err);

	if (status <= 0)
		print_error("serve --listen %s%s: status %d (want an exit > 0)\n%s\n", addr,
			    no_tls ? " --no-tls" : "", status, err);
	assert_true(status > 0);
	assert_true(strlen(err) > 0);
	free(err);
}

static void test_serve_refuses_plain_http_off_loopback(void **state)
{
	char root[IT_STR / 2], data[IT_STR], addr[64];

	(void)state;
	init_dir(root, sizeof(root), data, sizeof(data));
	snprintf(addr, sizeof(addr), "0.0.0.0:%d", it_free_port());
	expect_serve_refuses(data, addr, true);
	snprintf(addr, sizeof(addr), "192.0.2.1:%d", it_free_port());
	expect_serve_refuses(data, addr, true);
	assert_int_equal(it_rmtree(root), 0);
}

static void test_serve_refuses_port_in_use(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char root[IT_STR / 2], data[IT_STR], addr[64];
	int fd;

	(void)state;
	init_dir(root, sizeof(root), data, sizeof(data));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	expect_serve_refuses(data, addr, true);
	close(fd);
	assert_int_equal(it_rmtree(root), 0);
}

/* "2026-11-22T02:33:19.123456Z" */
static bool is_rfc3339_us(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (!t || strlen(t) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
			return false;
	}
	return true;
}

static void test_status_provider_and_log(void **state)
{
	struct it_server *s = *state;
	struct it_response *r = it_get(s, NULL, "/api/v1/status");
	json_t *clock;
	char *log, *line, *save = NULL;
	size_t n_lines = 0;

	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "application/json"));
	assert_true(json_is_object(r->json));
	assert_string_equal(it_json_str(r->json, "status"), "ok");
	assert_string_equal(it_json_str(r->json, "version"), KURA_VERSION);
	assert_true(is_rfc3339_us(it_json_str(r->json, "time")));
	clock = json_object_get(r->json, "clock");
	assert_true(json_is_object(clock));
	assert_true(json_is_boolean(json_object_get(clock, "synchronized")));
	assert_true(json_is_integer(json_object_get(clock, "estimated_error_us")));
	assert_true(json_is_integer(json_object_get(clock, "maximum_error_us")));
	it_response_free(r);

	/* the harness can speak from another loopback address (for allowlist tests) */
	{
		struct it_request req = { .method = "GET", .path = "/api/v1/status",
					  .interface = "host!127.0.0.2" };

		r = it_request(s, &req);
		IT_ASSERT_STATUS(r, 200);
		it_response_free(r);
	}

	r = it_get(s, NULL, "/api/v1/provider");
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_object(r->json));
	assert_true(json_is_string(json_object_get(r->json, "name")));
	assert_true(json_is_string(json_object_get(r->json, "address")));
	assert_true(json_is_string(json_object_get(r->json, "contact")));
	assert_true(json_is_string(json_object_get(r->json, "data_location")));
	assert_true(json_is_string(json_object_get(r->json, "jurisdiction")));
	assert_string_equal(it_json_str(r->json, "time_zone"), "Asia/Tokyo");
	it_response_free(r);

	/* the server's stderr is JSON lines, one object per line */
	log = it_read_file(s->log_path, NULL);
	assert_non_null(log);
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		if (!json_is_object(j))
			print_error("log line is not a JSON object: %s\n", line);
		assert_true(json_is_object(j));
		json_decref(j);
		n_lines++;
	}
	assert_true(n_lines > 0);
	free(log);
}

/* Logs in as demo/admin with the one-time password and sets NEW_PASSWORD; ret is a fresh
 * session with the new password. */
static void demo_set_password(struct it_server *s, struct it_session *ret)
{
	struct it_session one_time;
	struct it_response *r;

	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 201, &one_time);
	r = it_send(s, &one_time, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", s->demo_password,
			      "new_password", NEW_PASSWORD));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "demo", "admin", NEW_PASSWORD, 201, ret);
}

static void test_demo_one_time_password(void **state)
{
	struct it_server *s = *state;
	struct it_session sess;
	struct it_response *r;
	json_t *acct, *items;
	size_t i;
	bool found = false;

	/* the printed password logs in; the cookie is locked down */
	r = it_send(s, NULL, "POST", "/api/v1/session",
		    json_pack("{s:s, s:s, s:s}", "tenant", "demo", "login", "admin",
			      "password", s->demo_password));
	IT_ASSERT_STATUS(r, 201);
	assert_true(strncmp(r->set_cookie, "kura_session=", 13) == 0);
	assert_true(r->set_cookie[13] != ';' && r->set_cookie[13] != '\0');
	assert_true(it_cookie_has_attr(r->set_cookie, "HttpOnly"));
	assert_true(it_cookie_has_attr(r->set_cookie, "Secure"));
	assert_true(it_cookie_has_attr(r->set_cookie, "SameSite=Strict"));
	assert_true(it_cookie_has_attr(r->set_cookie, "Path=/"));
	assert_true(json_is_string(json_object_get(r->json, "csrf_token")));
	assert_true(strlen(it_json_str(r->json, "csrf_token")) > 0);
	assert_true(json_is_string(json_object_get(r->json, "expires_at")));
	assert_int_equal(json_integer_value(json_object_get(r->json, "idle_timeout_seconds")),
			 1800);
	acct = json_object_get(r->json, "account");
	assert_string_equal(it_json_str(acct, "login"), "admin");
	assert_string_equal(it_json_str(acct, "role"), "manager");
	assert_true(json_is_true(json_object_get(acct, "must_change_password")));
	it_response_free(r);

	/* the must-change session may only read /me, set its password or log out */
	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 201, &sess);
	r = it_get(s, &sess, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_object_get(r->json, "tenant"), "code"), "demo");
	assert_true(json_is_true(json_object_get(r->json, "must_change_password")));
	it_response_free(r);
	r = it_get(s, &sess, "/api/v1/accounts");
	IT_ASSERT_PROBLEM(r, 403, "password-change-required");
	it_response_free(r);
	r = it_get(s, &sess, "/api/v1/tenant");
	IT_ASSERT_PROBLEM(r, 403, "password-change-required");
	it_response_free(r);
	r = it_send(s, &sess, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "eve", "email", "eve@example.com",
			      "role", "user"));
	IT_ASSERT_PROBLEM(r, 403, "password-change-required");
	it_response_free(r);

	/* a weak new password is refused */
	r = it_send(s, &sess, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", s->demo_password,
			      "new_password", "short"));
	IT_ASSERT_PROBLEM(r, 400, "weak-password");
	it_response_free(r);
	/* a wrong current password is refused and names the field */
	r = it_send(s, &sess, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", "not-the-password-1",
			      "new_password", NEW_PASSWORD));
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	assert_string_equal(it_json_str(r->json, "field"), "current_password");
	it_response_free(r);

	r = it_send(s, &sess, "POST", "/api/v1/me/password",
		    json_pack("{s:s, s:s}", "current_password", s->demo_password,
			      "new_password", NEW_PASSWORD));
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);

	/* the session that changed the password goes on, now unrestricted */
	r = it_get(s, &sess, "/api/v1/me");
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_false(json_object_get(r->json, "must_change_password")));
	it_response_free(r);
	r = it_get(s, &sess, "/api/v1/accounts");
	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_true(json_is_array(items));
	for (i = 0; i < json_array_size(items); i++)
		if (!strcmp(it_json_str(json_array_get(items, i), "login"), "admin"))
			found = true;
	assert_true(found);
	it_response_free(r);
	IT_EXPECT_GET(s, &sess, "/api/v1/tenant", 200);

	/* the one-time password is gone */
	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 401, NULL);
	IT_ASSERT_LOGIN(s, "demo", "admin", NEW_PASSWORD, 201, NULL);
}

static void test_failed_logins_are_identical(void **state)
{
	struct it_server *s = *state;
	static const char *const cases[][3] = {
		{ "demo", "admin", "wrong-password-123" },      /* wrong password */
		{ "demo", "nobody", "wrong-password-123" },     /* unknown login */
		{ "nosuchtenant", "admin", "wrong-password-123" }, /* unknown tenant */
	};
	json_t *first = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct it_response *r = it_send(s, NULL, "POST", "/api/v1/session",
						json_pack("{s:s, s:s, s:s}", "tenant", cases[i][0],
							  "login", cases[i][1],
							  "password", cases[i][2]));

		IT_ASSERT_PROBLEM(r, 401, "authentication-failed");
		assert_string_equal(r->set_cookie, "");
		json_object_del(r->json, "request_id");
		if (!first) {
			first = json_incref(r->json);
		} else if (!json_equal(first, r->json)) {
			char *a = json_dumps(first, JSON_SORT_KEYS);

			print_error("login failure %zu differs:\n%s\n%s\n", i, a, r->body);
			free(a);
			fail();
		}
		it_response_free(r);
	}
	json_decref(first);
	/* the demo admin still logs in: three failures do not lock */
	IT_ASSERT_LOGIN(s, "demo", "admin", s->demo_password, 201, NULL);
}

static void test_logout(void **state)
{
	struct it_server *s = *state;
	struct it_session sess, other;
	struct it_request req = { .method = "DELETE", .path = "/api/v1/session" };
	struct it_response *r;

	/* no cookie, or a made-up one */
	r = it_get(s, NULL, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	memset(&other, 0, sizeof(other));
	snprintf(other.token, sizeof(other.token), "%s",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	r = it_get(s, &other, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);

	demo_set_password(s, &sess);
	IT_ASSERT_LOGIN(s, "demo", "admin", NEW_PASSWORD, 201, &other);

	/* logout needs the CSRF token like every other mutating request */
	req.cookie = sess.token;
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	IT_EXPECT_GET(s, &sess, "/api/v1/me", 200);

	r = it_send(s, &sess, "DELETE", "/api/v1/session", NULL);
	IT_ASSERT_STATUS(r, 204);
	assert_true(strncmp(r->set_cookie, "kura_session=", 13) == 0);
	assert_true(it_cookie_has_attr(r->set_cookie, "Max-Age=0") ||
		    strcasestr(r->set_cookie, "Expires=") != NULL);
	it_response_free(r);

	r = it_get(s, &sess, "/api/v1/me");
	IT_ASSERT_PROBLEM(r, 401, "authentication-required");
	it_response_free(r);
	/* only that session ended */
	IT_EXPECT_GET(s, &other, "/api/v1/me", 200);
}

static bool list_has_login(struct it_server *s, const struct it_session *sess, const char *login)
{
	struct it_response *r = it_get(s, sess, "/api/v1/accounts?limit=1000");
	json_t *items;
	bool found = false;
	size_t i;

	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_true(json_is_array(items));
	for (i = 0; i < json_array_size(items); i++) {
		const char *l = it_json_str(json_array_get(items, i), "login");

		if (l && !strcmp(l, login))
			found = true;
	}
	it_response_free(r);
	return found;
}

static void test_csrf_refusal_changes_nothing(void **state)
{
	struct it_server *s = *state;
	struct it_session sess, sess2;
	json_t *mallory = json_pack("{s:s, s:s, s:s}", "login", "mallory", "email",
				    "mallory@demo.example.com", "role", "manager");
	struct it_request req = { .method = "POST", .path = "/api/v1/accounts", .json = mallory };
	struct it_response *r;
	struct it_mail *m;

	demo_set_password(s, &sess);
	IT_ASSERT_LOGIN(s, "demo", "admin", NEW_PASSWORD, 201, &sess2);
	req.cookie = sess.token;

	/* no token */
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	/* a wrong token */
	req.csrf = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	/* an empty one */
	req.csrf = "";
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	/* the token of another session of the same account */
	req.csrf = sess2.csrf;
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	json_decref(mallory);

	/* PATCH and a password change without the token */
	req = (struct it_request){ .method = "PATCH", .path = "/api/v1/accounts/admin",
				   .body = "{\"display_name\":\"owned\"}", .body_len = 24,
				   .cookie = sess.token };
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);
	req = (struct it_request){ .method = "POST", .path = "/api/v1/me/password",
				   .body = "{\"current_password\":\"" NEW_PASSWORD
					   "\",\"new_password\":\"attacker-chosen-pw-1\"}",
				   .cookie = sess.token };
	req.body_len = strlen(req.body);
	r = it_request(s, &req);
	IT_ASSERT_PROBLEM(r, 403, "csrf-token-invalid");
	it_response_free(r);

	/* nothing changed */
	r = it_get(s, &sess, "/api/v1/accounts/mallory");
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_false(list_has_login(s, &sess, "mallory"));
	r = it_get(s, &sess, "/api/v1/accounts/admin");
	IT_ASSERT_STATUS(r, 200);
	assert_string_not_equal(it_json_str(r->json, "display_name"), "owned");
	it_response_free(r);
	IT_ASSERT_LOGIN(s, "demo", "admin", NEW_PASSWORD, 201, NULL);
	IT_EXPECT_GET(s, &sess2, "/api/v1/me", 200);

	/* with the token it works; once that mail is out, none was queued for mallory */
	r = it_send(s, &sess, "POST", "/api/v1/accounts",
		    json_pack("{s:s, s:s, s:s}", "login", "trudy", "email",
			      "trudy@demo.example.com", "role", "user"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(s, "trudy@demo.example.com", 30);
	assert_non_null(m);
	it_mail_free(m);
	m = it_wait_for_mail(s, "mallory@", 0);
	assert_null(m);
}

static void test_tls(void **state)
{
	struct it_options o = { .tls = true };
	struct it_server *s = it_server_start(&o);
	struct it_request req = { .method = "GET", .path = "/api/v1/status" };
	struct it_response *r;

	(void)state;
	assert_non_null(s);
	/* it_server_start already waited for HTTPS with the CA file; check TLS 1.2 explicitly */
	req.ssl_version = CURL_SSLVERSION_TLSv1_2;
	r = it_request(s, &req);
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	/* a client that speaks at most TLS 1.1 gets no connection */
	req.ssl_version = CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1;
	r = it_request(s, &req);
	if (r->curl_code == CURLE_OK)
		print_error("TLS <= 1.1 client was answered HTTP %ld\n", r->status);
	else if (getenv("KURA_IT_VERBOSE"))
		print_message("TLS <= 1.1 client refused: %s\n", r->curl_error);
	assert_int_not_equal(r->curl_code, CURLE_OK);
	assert_int_equal(r->status, 0);
	it_response_free(r);

	/* the API proper answers over HTTPS too */
	IT_ASSERT_LOGIN(s, "nosuchtenant", "admin", "wrong-password-123", 401, NULL);
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_init_creates_and_refuses_existing_dir),
		cmocka_unit_test(test_serve_refuses_plain_http_off_loopback),
		cmocka_unit_test(test_serve_refuses_port_in_use),
		cmocka_unit_test_setup_teardown(test_status_provider_and_log, it_setup_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_demo_one_time_password,
						it_setup_demo_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_failed_logins_are_identical,
						it_setup_demo_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_logout, it_setup_demo_server,
						it_teardown_server),
		cmocka_unit_test_setup_teardown(test_csrf_refusal_changes_nothing,
						it_setup_demo_server, it_teardown_server),
		cmocka_unit_test(test_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
