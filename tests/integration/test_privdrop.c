/*
 * Integration test: kura serve started as root drops to an unprivileged user (issue 13, D2,
 * docs/operations.md "Running as root"). With [server] user = nobody and a data directory
 * that belongs to nobody, the running server's /proc/PID/status shows nobody's ids in all
 * four Uid and Gid fields and no capability (CapEff, CapPrm 0), it serves, sends mail and
 * writes, and what it writes belongs to nobody, as does the hold a `kura backup` run by root
 * beside it takes on the blobs. Refused, each with its reason: a data
 * directory or an entry in it that is not the user's, a user that does not exist, and (when
 * there is no user kura) root without [server] user. Skipped when the suite does not run as
 * root.
 */
#include <ftw.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Privdrop-manager-pw-2026"

static uid_t to_uid;
static gid_t to_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, to_uid, to_gid);
}

static void append(const char *data, const char *text)
{
	char conf[IT_STR + 16];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/kura.conf", data);
	f = fopen(conf, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* the value fields of line "Name:" of /proc/PID/status, e.g. "65534\t65534\t65534\t65534" */
static void status_line(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64], *text, *p, *end;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = it_read_file(path, NULL);
	assert_non_null(text);
	p = strstr(text, name);
	assert_non_null(p);
	p += strlen(name);
	p += strspn(p, " \t");
	end = strchr(p, '\n');
	snprintf(buf, size, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
	free(text);
}

/* serve once on s's data directory: must refuse with want in its stderr */
static void expect_refusal(struct it_server *s, const char *want)
{
	char *err = NULL;
	int st = it_serve_once(s, 30, NULL, &err);

	print_message("refused (%d): %s", st, err ? err : "");
	assert_true(st > 0);
	assert_non_null(err);
	assert_non_null(strstr(err, want));
	free(err);
}

static void drops_to_nobody(void **state)
{
	struct it_server *s;
	struct it_session mgr;
	struct it_response *r;
	struct passwd *pw;
	struct stat st;
	char want[64], line[256], path[IT_STR + 64], stray[IT_STR + 32];
	long long id;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: the suite does not run as root, so there is no root to drop\n");
		skip();
	}
	pw = getpwnam("nobody");
	assert_non_null(pw);
	to_uid = pw->pw_uid;
	to_gid = pw->pw_gid;
	s = it_server_start(NULL);   /* kura init as root; the harness's user = root */
	assert_non_null(s);
	assert_int_equal(it_server_halt(s), 0);
	append(s->data, "\n[server]\nuser = nobody\n");

	/* a data directory that is still root's is refused, with the command that fixes it */
	expect_refusal(s, "chown -R nobody:");
	assert_int_equal(nftw(s->data, chown_one, 16, FTW_PHYS), 0);
	assert_int_equal(chmod(s->root, 0711), 0);   /* nobody passes through the test's directory */
	snprintf(stray, sizeof(stray), "%s/stray", s->data);
	assert_int_equal(mkdir(stray, 0700), 0);      /* root's, right in the data directory */
	expect_refusal(s, "/stray belongs to uid 0");
	assert_int_equal(rmdir(stray), 0);

	assert_int_equal(it_server_restart(s), 0);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)to_uid, (unsigned)to_uid, (unsigned)to_uid,
		 (unsigned)to_uid);
	status_line(s->pid, "Uid:", line, sizeof(line));
	print_message("kura serve (pid %d) Uid: %s\n", (int)s->pid, line);
	assert_string_equal(line, want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)to_gid, (unsigned)to_gid, (unsigned)to_gid,
		 (unsigned)to_gid);
	status_line(s->pid, "Gid:", line, sizeof(line));
	print_message("kura serve Gid: %s\n", line);
	assert_string_equal(line, want);
	status_line(s->pid, "CapEff:", line, sizeof(line));
	print_message("kura serve CapEff: %s\n", line);
	assert_string_equal(line, "0000000000000000");
	status_line(s->pid, "CapPrm:", line, sizeof(line));
	assert_string_equal(line, "0000000000000000");
	status_line(s->pid, "NoNewPrivs:", line, sizeof(line));
	assert_string_equal(line, "1");

	/* it works as nobody: the management socket, mail (the invitation), an upload */
	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	/* more than KURA_INLINE_MAX_BYTES: a blob (a smaller file is kept in its row) */
	static char body[70000];

	memset(body, 'd', sizeof(body));
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = "/api/v1/folders/root/files/a.txt",
						.body = body, .body_len = sizeof(body),
						.content_type = "application/octet-stream",
						.cookie = mgr.token, .csrf = mgr.csrf });
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content", id);
	r = it_get(s, &mgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, sizeof(body));
	it_response_free(r);
	/* what it made is nobody's: the management socket, the tenant's blob folder */
	snprintf(path, sizeof(path), "%s/admin.sock", s->data);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, to_uid);
	snprintf(path, sizeof(path), "%s/blobs", s->data);
	{
		char tdir[IT_STR + 96];
		int found = 0;

		for (int t = 1; t < 64 && !found; t++) {
			snprintf(tdir, sizeof(tdir), "%s/%d", path, t);
			if (lstat(tdir, &st) == 0) {
				found = 1;
				print_message("%s: uid %u\n", tdir, (unsigned)st.st_uid);
				assert_int_equal(st.st_uid, to_uid);
			}
		}
		assert_true(found);
	}
	/* kura backup run by root beside it: its hold on the blobs must be one the server can
	 * open (it keeps deleted blobs while the hold is locked), so it is nobody's too */
	{
		char dest[IT_STR + 16], *out = NULL, *err = NULL;
		const char *argv[] = { KURA_BIN, "backup", "--data", s->data, "--to", dest, NULL };

		snprintf(dest, sizeof(dest), "%s/backup", s->root);
		if (it_run(argv, 120, &out, &err) != 0)
			fail_msg("kura backup: %s\n%s", out ? out : "", err ? err : "");
		assert_non_null(strstr(out, "integrity ok"));
		free(out);
		free(err);
		snprintf(path, sizeof(path), "%s/blobs/.backup-hold", s->data);
		assert_int_equal(lstat(path, &st), 0);
		print_message("%s after a backup by root: uid %u\n", path, (unsigned)st.st_uid);
		assert_int_equal(st.st_uid, to_uid);
	}
	assert_int_equal(it_server_halt(s), 0);

	/* a user that does not exist */
	append(s->data, "\n[server]\nuser = kura-no-such-user\n");
	expect_refusal(s, "user = kura-no-such-user: there is no such user");
	/* root without [server] user: the user kura, and when there is none, refused */
	append(s->data, "\n[server]\nuser =\n");
	if (!getpwnam("kura"))
		expect_refusal(s, "there is no user kura");
	append(s->data, "\n[server]\nuser = root\n");
	assert_int_equal(it_server_restart(s), 0);
	status_line(s->pid, "Uid:", line, sizeof(line));
	assert_string_equal(line, "0\t0\t0\t0");   /* said so and kept, as configured */
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drops_to_nobody),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
