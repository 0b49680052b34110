/*
 * Integration (issue 12): `kura admin` through the command table against a real server.
 * For people it prints aligned tables (Japanese names aligned by display width) and
 * key: value lines; with --json it prints the result JSON as it always did (the rows of
 * tenant list keep exactly code, name, status). Errors go to stderr with exit 1, usage
 * errors exit 2, nothing on stdout. The two read-only provider commands: mail queue
 * (counts, no content) and audit provider-events (the provider's chain, never a tenant's:
 * C7). The socket checks a request's args against the table whoever sends it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Admin-test-manager-pw-1"
#define JA_NAME "株式会社アルファ"   /* 16 display columns, 24 bytes */

/* kura admin --data DIR args… (NULL-terminated) as an operator types it; stdout and stderr
 * into *out and *err (malloc'd); the exit status. */
static int admin(struct it_server *s, char **out, char **err, ...)
{
	const char *argv[32];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = KURA_BIN;
	argv[n++] = "admin";
	argv[n++] = "--data";
	argv[n++] = s->data;
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	*out = *err = NULL;
	return it_run(argv, 60, out, err);
}

/* One raw request line to DIR/admin.sock, the parsed response. */
static json_t *socket_call(struct it_server *s, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t n = 0;
	ssize_t k;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	json_t *j;

	assert_true(fd >= 0);
	assert_true(strlen(s->data) + sizeof("/admin.sock") <= sizeof(sa.sun_path));
	memcpy(sa.sun_path, s->data, strlen(s->data));
	memcpy(sa.sun_path + strlen(s->data), "/admin.sock", sizeof("/admin.sock"));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	shutdown(fd, SHUT_WR);
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = '\0';
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	return j;
}

/* The line of text that starts with prefix, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, strlen(prefix)))
			return p;
	return NULL;
}

static int setup(void **state)
{
	struct it_server *s = it_server_start(NULL);
	char *out, *err;

	if (!s)
		return -1;
	*state = s;
	/* as an operator creates a tenant: the result for people */
	if (admin(s, &out, &err, "tenant", "create", "alpha", "--name", JA_NAME, "--service", "DOCX,MAIL", NULL) != 0 ||
	    !line_starting(out, "name:        " JA_NAME "\n") || !line_starting(out, "services:    DOCX, MAIL\n")) {
		print_error("tenant create printed: %s / %s\n", out, err);
		return -1;
	}
	free(out);
	free(err);
	it_create_tenant(s, "bravo-corp", NULL);
	return 0;
}

static int teardown(void **state)
{
	return it_server_stop(*state) == 0 ? 0 : -1;
}

static void test_tenant_list_table_and_json(void **state)
{
	struct it_server *s = *state;
	char *out, *err, *again;
	json_t *j, *rows, *row;
	const char *key;
	size_t i;

	/* people: a table, the Japanese name's column as wide as it shows */
	assert_int_equal(admin(s, &out, &err, "tenant", "list", NULL), 0);
	assert_string_equal(err, "");
	assert_non_null(line_starting(out, "code        name               services    status  created\n"));
	assert_non_null(line_starting(out, "alpha       " JA_NAME "   DOCX, MAIL  active  20"));
	assert_non_null(line_starting(out, "bravo-corp  Tenant bravo-corp  DOCX        active  20"));
	free(out);
	free(err);

	/* --json: the JSON of before, indented by two; rows of code, name and status only */
	assert_int_equal(admin(s, &out, &err, "--json", "tenant", "list", NULL), 0);
	j = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	again = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(again);
	assert_int_equal(strlen(out), strlen(again) + 1);
	assert_memory_equal(out, again, strlen(again));
	free(again);
	assert_int_equal(json_object_size(j), 1);
	rows = json_object_get(j, "tenants");
	assert_int_equal(json_array_size(rows), 2);
	json_array_foreach(rows, i, row) {
		static const char *const keys[] = { "code", "name", "status" };
		size_t k = 0;
		json_t *v;

		json_object_foreach(row, key, v) {
			assert_true(k < 3);
			assert_string_equal(key, keys[k++]);
		}
		assert_int_equal(k, 3);
	}
	assert_string_equal(it_json_str(json_array_get(rows, 0), "name"), JA_NAME);
	json_decref(j);
	free(out);
	free(err);
}

static void test_show_and_errors(void **state)
{
	struct it_server *s = *state;
	char *out, *err;

	assert_int_equal(admin(s, &out, &err, "tenant", "show", "alpha", NULL), 0);
	/* values aligned after the longest key, retention.administration */
	assert_non_null(line_starting(out, "code:                      alpha\n"));
	assert_non_null(line_starting(out, "name:                      " JA_NAME "\n"));
	assert_non_null(line_starting(out, "options:                   -\n"));
	assert_non_null(line_starting(out, "created_at:                20"));
	/* the effective catalog values, one line each, naming their service (issue 8): MAIL keeps
	 * the 90 days before today, DOCX erases sooner */
	assert_non_null(line_starting(out, "retention.operation:       90 days before today (MAIL)\n"));
	assert_non_null(line_starting(out, "erasure:                   within 30 days, day 1 = the termination day (DOCX)\n"));
	assert_non_null(line_starting(out, "features:                  sharing on, webdav on, app_passwords on\n"));
	free(out);
	free(err);

	/* a refused command: stderr, exit 1, in both forms */
	assert_int_equal(admin(s, &out, &err, "tenant", "show", "nosuch", NULL), 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "kura admin: nosuch: not found\n");
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "--json", "tenant", "show", "nosuch", NULL), 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "kura admin: nosuch: not found\n");
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "tenant", "create", "alpha", "--name", "Again", "--service", "DOCX", NULL), 1);
	assert_string_equal(err, "kura admin: alpha: exists already\n");
	free(out);
	free(err);

	/* usage errors: exit 2, the command's own usage named, nothing sent */
	assert_int_equal(admin(s, &out, &err, "tenant", "show", NULL), 2);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "kura admin: wrong number of arguments: kura admin tenant show CODE\n"));
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "tenant", "set-quota", "alpha", "lots", NULL), 2);
	assert_non_null(strstr(err, "BYTES must be a whole number"));
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "tenant", "create", "gamma", "--service", "DOCX", NULL), 2);
	assert_non_null(strstr(err, "--name NAME is required"));
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "tenant", "show", "gamma", NULL), 1);   /* nothing was created */
	free(out);
	free(err);
	/* an unknown command: the whole usage, generated from the table */
	assert_int_equal(admin(s, &out, &err, "tenant", "explode", NULL), 2);
	assert_non_null(strstr(err, "unknown command \"tenant explode\""));
	assert_non_null(strstr(err, "\n  audit provider-events [--action ACTION]"));
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "--help", NULL), 0);
	assert_non_null(strstr(out, "\n  tenant create CODE --name NAME --service SVC[,SVC…] [--option OPT …]\n"));
	assert_non_null(strstr(out, "\n  mail queue\n"));
	assert_string_equal(err, "");
	free(out);
	free(err);
}

static void test_mail_queue(void **state)
{
	struct it_server *s = *state;
	struct it_mail *m;
	json_t *j = NULL;
	double end = (double)time(NULL) + 30;
	char *out, *err;

	assert_int_equal(it_admin(s, NULL, "mail", "test", "queue-probe@example.org", NULL), 0);
	m = it_wait_for_mail(s, "queue-probe@example.org", 30);
	assert_non_null(m);
	it_mail_free(m);
	for (;;) {
		assert_int_equal(it_admin(s, &j, "mail", "queue", NULL), 0);
		if (json_integer_value(json_object_get(j, "queued")) + json_integer_value(json_object_get(j, "deferred")) ==
			    0 ||
		    (double)time(NULL) > end)
			break;
		json_decref(j);
		usleep(50 * 1000);
	}
	assert_int_equal(json_integer_value(json_object_get(j, "queued")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "deferred")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "failed")), 0);
	assert_true(json_integer_value(json_object_get(j, "sent")) >= 1);   /* the probe */
	assert_int_equal(json_integer_value(json_object_get(j, "bodies_kept")), 0);
	assert_true(json_is_null(json_object_get(j, "oldest_waiting_at")));
	/* counts and times only: no recipient, subject or body of anyone's mail */
	{
		char *text = json_dumps(j, JSON_COMPACT);

		assert_null(strstr(text, "@"));
		free(text);
	}
	json_decref(j);
	assert_int_equal(admin(s, &out, &err, "mail", "queue", NULL), 0);
	assert_non_null(line_starting(out, "queued:             0\n"));
	assert_non_null(line_starting(out, "bodies_kept:        0\n"));
	free(out);
	free(err);
}

static void test_provider_events_only_the_provider(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	json_t *j = NULL, *e;
	char *out, *err;
	size_t i;
	bool probe = false, stranger = false;

	/* alpha's own events: a manager and a failed login in alpha's log */
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	IT_ASSERT_LOGIN(s, "alpha", "boss", "Wrong-password-123", 401, NULL);
	assert_true(it_audit_count(s, &mgr, "action=session.create&result=failure") >= 1);
	/* and one that names no tenant: the provider's */
	IT_ASSERT_LOGIN(s, "no-such-tenant", "stranger", "Wrong-password-123", 401, NULL);
	assert_int_equal(it_admin(s, NULL, "mail", "test", "probe-2@example.org", NULL), 0);

	assert_int_equal(it_admin(s, &j, "audit", "provider-events", NULL), 0);
	assert_true(json_is_null(json_object_get(j, "next_after")));
	json_array_foreach(json_object_get(j, "events"), i, e) {
		probe |= !strcmp(it_json_str(e, "action"), "mail.test");
		stranger |= strstr(it_json_str(e, "target"), "stranger") != NULL;
		/* nothing of alpha: not its accounts, its manager's sign-ins or its contract */
		assert_null(strstr(it_json_str(e, "target"), "boss"));
		assert_string_not_equal(it_json_str(json_object_get(e, "actor"), "name"), "boss");
		assert_string_not_equal(it_json_str(e, "action"), "tenant.create");
	}
	assert_true(probe);
	assert_true(stranger);
	json_decref(j);
	/* filters and paging */
	assert_int_equal(it_admin(s, &j, "audit", "provider-events", "--action", "mail.test", "--limit", "1", NULL), 0);
	assert_int_equal(json_array_size(json_object_get(j, "events")), 1);
	assert_true(json_is_integer(json_object_get(j, "next_after")));
	json_decref(j);
	assert_int_equal(admin(s, &out, &err, "audit", "provider-events", "--limit", "0", NULL), 1);
	assert_string_equal(err, "kura admin: --limit is 1 to 100\n");
	free(out);
	free(err);
	assert_int_equal(admin(s, &out, &err, "audit", "provider-events", "--result", "maybe", NULL), 1);
	free(out);
	free(err);
	/* for people: the events as a table */
	assert_int_equal(admin(s, &out, &err, "audit", "provider-events", "--action", "mail.test", NULL), 0);
	assert_non_null(line_starting(out, "seq  "));
	assert_non_null(strstr(out, "  mail.test  mail    success  admin.sock\n"));
	free(out);
	free(err);
	/* a tenant's log is not there to ask for */
	assert_int_equal(admin(s, &out, &err, "audit", "provider-events", "alpha", NULL), 2);
	free(out);
	free(err);
}

static void test_socket_checks_args(void **state)
{
	struct it_server *s = *state;
	json_t *r;

	r = socket_call(s, "{\"command\": \"tenant.show\", \"args\": {\"code\": \"alpha\", \"as\": \"root\"}}\n");
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(it_json_str(r, "code"), "invalid");
	assert_non_null(strstr(it_json_str(r, "error"), "takes no argument \"as\""));
	json_decref(r);
	r = socket_call(s, "{\"command\": \"tenant.set-quota\", \"args\": {\"code\": \"alpha\", \"quota_bytes\": \"9\"}}\n");
	assert_string_equal(it_json_str(r, "code"), "invalid");
	json_decref(r);
	r = socket_call(s, "{\"command\": \"tenant.show\", \"args\": [\"alpha\"]}\n");
	assert_string_equal(it_json_str(r, "code"), "invalid");
	json_decref(r);
	r = socket_call(s, "{\"command\": \"tenant.drop\", \"args\": {}}\n");
	assert_non_null(strstr(it_json_str(r, "error"), "unknown command \"tenant.drop\""));
	json_decref(r);
	/* a well-formed request, as kura admin --json sends it */
	r = socket_call(s, "{\"command\": \"tenant.show\", \"args\": {\"code\": \"alpha\"}}\n");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(it_json_str(json_object_get(r, "result"), "name"), JA_NAME);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tenant_list_table_and_json),
		cmocka_unit_test(test_show_and_errors),
		cmocka_unit_test(test_mail_queue),
		cmocka_unit_test(test_provider_events_only_the_provider),
		cmocka_unit_test(test_socket_checks_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
