/*
 * Integration test: kura serve's file access under Landlock (issue 13, D2, docs/security.md
 * "File access"). With the test seam KURA_TEST_SANDBOX_OPEN=PATH, kura serve opens PATH once
 * everything is in force and logs the outcome. A file outside the allowed set (the test's
 * own directory beside the data directory, and /etc/hostname) must be refused with EACCES
 * ("Permission denied") while the server still does its work in the data directory (a
 * manager invited by mail, an upload read back, the audit export); with [server] landlock =
 * off the same open succeeds, which shows the seam really opens. Every other integration
 * test runs its servers under Landlock, which is what shows the allowed set is enough.
 * Skipped, with the reason, when the kernel offers no Landlock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Landlock-manager-pw-2026"

/* restarts s with the seam on path; the server's log line about it */
static char *open_outcome(struct it_server *s, const char *path)
{
	char *log, *p, *end, want[IT_STR + 64];

	assert_int_equal(setenv("KURA_TEST_SANDBOX_OPEN", path, 1), 0);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_SANDBOX_OPEN");
	log = it_read_file(s->log_path, NULL);
	assert_non_null(log);
	snprintf(want, sizeof(want), "open %s: ", path);
	p = strstr(log, want);
	if (!p)
		fail_msg("no sandbox.test line for %s in the server log:\n%s", path, log);
	p += strlen(want);
	end = strchr(p, '"');
	assert_non_null(end);
	*end = '\0';
	p = strdup(p);
	free(log);
	print_message("kura serve, open %s: %s\n", path, p);
	return p;
}

static void landlock_confines_files(void **state)
{
	struct it_server *s;
	struct it_session mgr;
	struct it_response *r;
	char outside[IT_STR + 32], conf[IT_STR + 32], path[128], *log, *got;
	FILE *f;
	long long id;

	(void)state;
	s = it_server_start(NULL);
	assert_non_null(s);
	log = it_read_file(s->log_path, NULL);
	assert_non_null(log);
	if (strstr(log, "no file access restriction")) {
		char *p = strstr(log, "no file access restriction");

		print_message("skipped: this kernel offers no Landlock (%.*s)\n", (int)strcspn(p, "\"}"), p);
		free(log);
		assert_int_equal(it_server_stop(s), 0);
		skip();
	}
	assert_non_null(strstr(log, "\"sandbox.landlock\""));
	free(log);

	snprintf(outside, sizeof(outside), "%s/outside.txt", s->root);
	f = fopen(outside, "w");
	assert_non_null(f);
	fputs("not the server's\n", f);
	fclose(f);
	got = open_outcome(s, outside);
	assert_string_equal(got, "Permission denied");
	free(got);
	got = open_outcome(s, "/etc/hostname");
	assert_string_equal(got, "Permission denied");
	free(got);

	/* its own work still runs: management socket, mail, blobs, database, audit export */
	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = "/api/v1/folders/root/files/a.txt",
						.body = "confined", .body_len = 8,
						.content_type = "application/octet-stream",
						.cookie = mgr.token, .csrf = mgr.csrf });
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", id);
	r = it_get(s, &mgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, 8);
	assert_memory_equal(r->body, "confined", 8);
	it_response_free(r);
	/* the management socket still names its peer in the audit log (getpwuid_r reads /etc/passwd) */
	{
		struct passwd *pw = getpwuid(geteuid());
		char opname[128];

		assert_non_null(pw);
		snprintf(opname, sizeof(opname), "%s(uid %u)", pw->pw_name, (unsigned)geteuid());
		r = it_get(s, &mgr, "/api/v1/audit?limit=1000");
		IT_ASSERT_STATUS(r, 200);
		if (!strstr(r->body, opname))
			fail_msg("no audit event by the operator %s:\n%s", opname, r->body);
		it_response_free(r);
	}
	r = it_get(s, &mgr, "/api/v1/audit/export?format=jsonl");
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);

	/* without Landlock the same open succeeds: the seam really opens */
	snprintf(conf, sizeof(conf), "%s/kura.conf", s->data);
	f = fopen(conf, "a");
	assert_non_null(f);
	fputs("\n[server]\nlandlock = off\n", f);
	fclose(f);
	got = open_outcome(s, outside);
	assert_string_equal(got, "opened");
	free(got);
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(landlock_confines_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
