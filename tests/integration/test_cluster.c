/*
 * State that several kura nodes on one database share (issue 10, docs/scale-out.md "Shared
 * state and background jobs"), shown with one real server whose restarts stand for other
 * nodes (two servers cannot share one SQLite data directory: kura.lock).
 *
 * - The per-address login throttle lives in the database: an address that earned a delay
 *   is still held after a restart (a new process, as another node would be).
 * - Background jobs run on the holder of their lease (job_leases): a lease held by a node
 *   that is gone without a word keeps its jobs from every other node until it runs out,
 *   then the next node takes them over (the test clock KURA_TEST_CLOCK_OFFSET_S moves past
 *   it); a graceful stop ends the node's leases; after kill -9 the restarted process ends
 *   its dead predecessor's leases at once (its id is in kura.lock); a copy made by kura
 *   restore runs every job at once (the leases it was copied with are the old deployment's).
 * The server's own log says who holds what ("job.lease", "node.start"); the database says it
 * too (read with SQLite's C API while the server runs, written only while it is stopped).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

static const char *const jobs[] = { "audit.checkpoint", "files.purge", "lifecycle", "mail.task", "ops.alerts" };
#define N_JOBS (sizeof(jobs) / sizeof(jobs[0]))
#define DEAD_NODE "0123456789abcdef"   /* a node that stopped answering */
#define WAIT_S 60                      /* for the server to reach a log line (not a timing) */

static sqlite3 *open_db(struct it_server *s)
{
	char path[IT_STR + 16];
	sqlite3 *h = NULL;

	snprintf(path, sizeof(path), "%s/kura.db", s->data);
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	return h;
}

/* the holder of job's lease, "" when none */
static void holder_of(struct it_server *s, const char *job, char *ret, size_t size)
{
	sqlite3 *h = open_db(s);
	sqlite3_stmt *st;

	ret[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT holder FROM job_leases WHERE name = ?", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(ret, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* the one integer the query answers (-1: no row) */
static long long db_count(struct it_server *s, const char *sql)
{
	sqlite3 *h = open_db(s);
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* the server's log has a line with every one of the needles (NULL-terminated) */
static bool log_has(struct it_server *s, const char *const *needles)
{
	char *log = it_read_file(s->log_path, NULL), *line, *end;
	bool found = false;

	for (line = log; log && *line && !found; line = *end ? end + 1 : end) {
		size_t i;

		end = line + strcspn(line, "\n");
		for (i = 0; needles[i]; i++) {
			char *m = strstr(line, needles[i]);

			if (!m || m >= end)
				break;
		}
		found = !needles[i];
	}
	free(log);
	return found;
}

static void wait_log(struct it_server *s, const char *const *needles)
{
	for (int i = 0; i < WAIT_S * 20; i++) {
		if (log_has(s, needles))
			return;
		usleep(50 * 1000);
	}
	fail_msg("no line with %s%s%s in the server log", needles[0], needles[1] ? " and " : "",
		 needles[1] ? needles[1] : "");
}

/* this process's node id, from its "node.start" line */
static void node_of(struct it_server *s, char ret[17])
{
	char *log, *p;

	wait_log(s, (const char *const[]){ "\"node.start\"", NULL });
	log = it_read_file(s->log_path, NULL);
	p = log ? strstr(log, "\"node.start\"") : NULL;
	p = p ? strstr(p, "\"node\":\"") : NULL;
	assert_non_null(p);
	snprintf(ret, 17, "%s", p + 8);
	assert_int_equal(strspn(ret, "0123456789abcdef"), 16);
	free(log);
}

static void wait_claimed_all(struct it_server *s, const char *previous)
{
	char job[64], prev[64];

	snprintf(prev, sizeof(prev), "\"previous\":\"%s\"", previous);
	for (size_t i = 0; i < N_JOBS; i++) {
		snprintf(job, sizeof(job), "\"job\":\"%s\"", jobs[i]);
		wait_log(s, (const char *const[]){ "\"job.lease\"", job, "\"state\":\"claimed\"", prev, NULL });
	}
}

static void expect_holders(struct it_server *s, const char *want)
{
	char holder[64];

	for (size_t i = 0; i < N_JOBS; i++) {
		holder_of(s, jobs[i], holder, sizeof(holder));
		if (strcmp(holder, want))
			fail_msg("job %s is held by \"%s\", not \"%s\"", jobs[i], holder, want);
	}
}

static void test_leases(void **state)
{
	struct it_server *s = *state;
	char node[17], node2[17], node3[17], sql[512], off[32], count[48];
	sqlite3 *h;
	int status;

	/* one node: it takes every job */
	node_of(s, node);
	wait_claimed_all(s, "");
	expect_holders(s, node);

	/* a graceful stop ends its leases */
	assert_int_equal(it_server_halt(s), 0);
	expect_holders(s, "");

	/* another node holds every job and is gone without a word: its leases run 10 minutes more */
	h = open_db(s);
	for (size_t i = 0; i < N_JOBS; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO job_leases (name, holder, until_us, claimed_us)"
			 " VALUES ('%s', '" DEAD_NODE "', %lld, %lld)", jobs[i],
			 (long long)(time(NULL) + 600) * 1000000, (long long)time(NULL) * 1000000);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(h);
	/* this node starts: every job stays with the holder while its lease runs */
	assert_int_equal(it_server_restart(s), 0);
	node_of(s, node2);
	assert_string_not_equal(node2, node);
	for (size_t i = 0; i < N_JOBS; i++) {
		char job[64];

		snprintf(job, sizeof(job), "\"job\":\"%s\"", jobs[i]);
		wait_log(s, (const char *const[]){ "\"job.lease\"", job, "\"state\":\"held\"",
						   "\"holder\":\"" DEAD_NODE "\"", NULL });
	}
	expect_holders(s, DEAD_NODE);
	assert_false(log_has(s, (const char *const[]){ "\"job.lease\"", "\"state\":\"claimed\"", NULL }));

	/* 20 minutes later (the test clock) the leases have run out: this node takes every job */
	assert_int_equal(it_server_halt(s), 0);
	snprintf(off, sizeof(off), "%d", 1200);
	setenv("KURA_TEST_CLOCK_OFFSET_S", off, 1);
	assert_int_equal(it_server_restart(s), 0);
	node_of(s, node2);
	wait_claimed_all(s, DEAD_NODE);
	expect_holders(s, node2);

	/* kill -9: nobody ends its leases, but the next process of this data directory knows the
	 * dead one (kura.lock) and ends them at start, so the jobs do not wait for them to run out */
	kill(s->pid, SIGKILL);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	s->pid = -1;
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");   /* its leases run 20 minutes and more from now */
	assert_int_equal(it_server_restart(s), 0);
	node_of(s, node3);
	snprintf(sql, sizeof(sql), "\"previous\":\"%s\"", node2);
	snprintf(count, sizeof(count), "\"leases_released\":\"%zu\"", N_JOBS);
	wait_log(s, (const char *const[]){ "\"node.start\"", sql, count, NULL });
	wait_claimed_all(s, "");
	expect_holders(s, node3);
}

/* ---------------------------------------------------------------- a restored copy */

/* A copy restored from a backup is a new deployment: the leases its database was copied with
 * belong to the nodes of the old one, so the copy's first node runs every job at once. */
static void test_restore(void **state)
{
	struct it_server *s = *state;
	char node[17], dest[IT_STR + 16], into[IT_STR + 16], orig[IT_STR + 16], *out = NULL, *err = NULL;

	node_of(s, node);
	wait_claimed_all(s, "");
	snprintf(dest, sizeof(dest), "%s/backups", s->root);
	snprintf(into, sizeof(into), "%s/restored", s->root);
	{
		const char *argv[] = { KURA_BIN, "backup", "--data", s->data, "--to", dest, NULL };

		if (it_run(argv, 120, &out, &err) != 0)
			fail_msg("kura backup: %s\n%s", out ? out : "", err ? err : "");
		free(out);
		free(err);
	}
	{
		const char *argv[] = { KURA_BIN, "restore", "--from", dest, "--data", into, "--keys", s->data, NULL };

		out = err = NULL;
		if (it_run(argv, 120, &out, &err) != 0)
			fail_msg("kura restore: %s\n%s", out ? out : "", err ? err : "");
		free(out);
		free(err);
	}
	/* the old deployment goes on (its node keeps its leases, in its own database) ... */
	expect_holders(s, node);
	/* ... and the copy is served instead */
	assert_int_equal(it_server_halt(s), 0);
	snprintf(orig, sizeof(orig), "%s.orig", s->data);
	assert_int_equal(rename(s->data, orig), 0);
	assert_int_equal(rename(into, s->data), 0);
	assert_int_equal(it_server_restart(s), 0);
	node_of(s, node);
	wait_claimed_all(s, "");
	expect_holders(s, node);
	it_rmtree(orig);
}

/* ---------------------------------------------------------------- the login throttle */

static long failed_login(struct it_server *s, char *ret_request_id, size_t size)
{
	struct it_response *r = it_send(s, NULL, "POST", "/api/v1/session",
					json_pack("{s:s, s:s, s:s}", "tenant", "nosuch", "login", "spray",
						  "password", "wrong-password-42"));
	const char *h = strcasestr(r->headers, "X-Request-Id: ");
	long st = r->status;

	assert_non_null(h);
	snprintf(ret_request_id, size, "%.*s", (int)strcspn(h + 14, "\r\n"), h + 14);
	it_response_free(r);
	return st;
}

static void test_throttle_restart(void **state)
{
	struct it_server *s = *state;
	char id[128], needle[192];

	/* 11 refused logins from 127.0.0.1: 10 are free, the 12th attempt is to wait 200 ms */
	for (int i = 0; i < 11; i++)
		assert_int_equal(failed_login(s, id, sizeof(id)), 401);
	assert_int_equal(db_count(s, "SELECT failures FROM address_throttle"), 11);
	/* a new process (another node, a restart) still holds the address. Its clock runs 30 s
	 * behind (the test clock), so the 200 ms earned are still to come however long the restart
	 * took; the delay is capped at 5 s */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "-30", 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	assert_int_equal(failed_login(s, id, sizeof(id)), 401);
	snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", id);
	assert_true(log_has(s, (const char *const[]){ "\"auth.throttle\"", needle, NULL }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_leases, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_throttle_restart, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_restore, it_setup_server, it_teardown_server),
	};

	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
