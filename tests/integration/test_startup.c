/*
 * Integration (issue 14): `kura serve` refuses a bad start-up with a message that says what
 * is actually wrong. Covers: something that is not a socket at DIR/admin.sock (a directory
 * was reported as "Address already in use"; a regular file was silently deleted), and
 * kura.conf errors that libinih would take silently (a NUL byte ended parsing), each named
 * with the file and line.
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
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

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

/* serve must exit by itself with a status > 0 and a stderr that contains every string of want */
static void expect_refusal_at(const char *data, const char *const *want, const char *file, int line)
{
	char addr[64];
	const char *argv[] = { KURA_BIN, "serve", "--data", data, "--listen", addr, "--no-tls", NULL };
	char *err = NULL;
	int status;
	size_t i;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", it_free_port());
	status = it_run(argv, 30, NULL, &err);
	if (status <= 0) {
		print_error("kura serve: status %d (want an exit > 0)\n%s\n", status, err ? err : "");
		free(err);
		_fail(file, line);
		return;
	}
	for (i = 0; want[i]; i++) {
		if (!err || !strstr(err, want[i])) {
			print_error("kura serve's stderr lacks \"%s\":\n%s\n", want[i], err ? err : "");
			free(err);
			_fail(file, line);
			return;
		}
	}
	free(err);
}
#define EXPECT_REFUSAL(data, ...) do { \
		const char *const w_[] = { __VA_ARGS__, NULL }; \
		expect_refusal_at(data, w_, __FILE__, __LINE__); \
	} while (0)

static void test_admin_sock_not_a_socket(void **state)
{
	char root[IT_STR / 2], data[IT_STR], sock[2 * IT_STR], inside[3 * IT_STR];
	struct stat st;
	FILE *f;

	(void)state;
	init_dir(root, sizeof(root), data, sizeof(data));
	snprintf(sock, sizeof(sock), "%s/admin.sock", data);

	/* a directory: said as such, not "Address already in use" */
	assert_int_equal(mkdir(sock, 0700), 0);
	EXPECT_REFUSAL(data, sock, "is a directory");
	assert_int_equal(rmdir(sock), 0);

	/* a regular file: refused and left alone (it used to be deleted silently) */
	f = fopen(sock, "w");
	assert_non_null(f);
	fputs("not a socket\n", f);
	fclose(f);
	EXPECT_REFUSAL(data, sock, "is a regular file");
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(unlink(sock), 0);

	/* a symbolic link (even to a directory) is not followed */
	snprintf(inside, sizeof(inside), "%s/elsewhere", root);
	assert_int_equal(mkdir(inside, 0700), 0);
	assert_int_equal(symlink(inside, sock), 0);
	EXPECT_REFUSAL(data, sock, "is a symbolic link");
	assert_int_equal(unlink(sock), 0);
	assert_int_equal(it_rmtree(root), 0);
}

static void append(const char *path, const char *bytes, size_t n)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

static int count_lines(const char *path)
{
	size_t len = 0, i;
	char *text = it_read_file(path, &len);
	int n = 0;

	assert_non_null(text);
	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

static void test_config_errors_name_file_and_line(void **state)
{
	static const char nul[] = "[security]\nsession_idle_seconds = 60\0\nlockout_threshold = 0\n";
	char root[IT_STR / 2], data[IT_STR], conf[2 * IT_STR], want[3 * IT_STR];
	char *orig;
	size_t len = 0;
	int n;

	(void)state;
	init_dir(root, sizeof(root), data, sizeof(data));
	snprintf(conf, sizeof(conf), "%s/kura.conf", data);
	orig = it_read_file(conf, &len);
	assert_non_null(orig);

	/* a NUL byte used to end parsing silently, hiding the bad value after it */
	n = count_lines(conf);
	append(conf, nul, sizeof(nul) - 1);
	snprintf(want, sizeof(want), "%s line %d: contains a NUL byte", conf, n + 2);
	EXPECT_REFUSAL(data, want);

	/* a bad choice names the file and the line (it named neither) */
	{
		FILE *f = fopen(conf, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(orig, 1, len, f), len);
		fclose(f);
	}
	n = count_lines(conf);
	append(conf, "[mail]\nstarttls = maybe\n", 24);
	snprintf(want, sizeof(want), "%s line %d: [mail] starttls must be one of", conf, n + 2);
	EXPECT_REFUSAL(data, want);
	free(orig);
	assert_int_equal(it_rmtree(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_sock_not_a_socket),
		cmocka_unit_test(test_config_errors_name_file_and_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
