/*
 * Integration test: kura serve's system-call allowlist (issue 13, D2, docs/security.md
 * "System calls"). After start-up a program run by the server must not run: with the test
 * seam KURA_TEST_SANDBOX_EXEC=FILE, kura serve calls execve("/usr/bin/touch", FILE) once its
 * allowlist is in force; the kernel must kill the whole process with SIGSYS and FILE must not
 * exist. With [server] syscall_filter = off the same execve runs (touch creates FILE), which
 * shows the seam really reaches execve. Every other integration test runs its servers under
 * the allowlist, which is what shows the list is enough for kura's work.
 */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

extern char **environ;

/* kura serve on s's data directory with the seam set; its wait status */
static int serve_with_exec(struct it_server *s, const char *marker)
{
	char listen[64], env_seam[IT_STR + 64];
	const char *argv[] = { KURA_BIN, "serve", "--data", s->data, "--no-tls", "--listen", listen, NULL };
	char *envp[64];
	size_t n = 0;
	pid_t pid;
	int st = 0;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", it_free_port());
	snprintf(env_seam, sizeof(env_seam), "KURA_TEST_SANDBOX_EXEC=%s", marker);
	for (char **e = environ; *e && n < 62; e++)
		envp[n++] = *e;
	envp[n++] = env_seam;
	envp[n] = NULL;
	assert_int_equal(posix_spawn(&pid, KURA_BIN, NULL, NULL, (char *const *)argv, envp), 0);
	for (int i = 0; i < 600; i++) {   /* at most 60 s: it dies (or execs) right after start-up */
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			return st;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fail_msg("kura serve neither died nor ran the program within 60 s");
	return st;
}

static void sandbox_refuses_execve(void **state)
{
	struct it_server *s;
	char marker[IT_STR + 32], conf[IT_STR + 32];
	FILE *f;
	int st;

	(void)state;
	s = it_server_start(NULL);
	assert_non_null(s);
	IT_EXPECT_GET(s, NULL, "/api/v1/status", 200);   /* a server under the allowlist serves */
	assert_int_equal(it_server_halt(s), 0);

	snprintf(marker, sizeof(marker), "%s/executed", s->root);
	st = serve_with_exec(s, marker);
	assert_true(WIFSIGNALED(st));
	print_message("kura serve after execve: killed by signal %d (SIGSYS is %d)\n", WTERMSIG(st), SIGSYS);
	assert_int_equal(WTERMSIG(st), SIGSYS);
	assert_int_equal(access(marker, F_OK), -1);

	/* without the allowlist the seam's execve runs: touch creates the marker and exits 0 */
	snprintf(conf, sizeof(conf), "%s/kura.conf", s->data);
	f = fopen(conf, "a");
	assert_non_null(f);
	/* Landlock refuses to run programs too (test_landlock.c): off as well */
	fputs("\n[server]\nsyscall_filter = off\nlandlock = off\n", f);
	fclose(f);
	st = serve_with_exec(s, marker);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(marker, F_OK), 0);
	print_message("with syscall_filter = off the same execve ran\n");
	assert_int_equal(it_server_restart(s), 0);
	assert_int_equal(it_server_stop(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sandbox_refuses_execve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
