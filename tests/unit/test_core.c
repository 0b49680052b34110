/* Unit tests for core: checked parsing, UTF-8, arena, config, clock, the bounded buffer (dbuf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/core.h"
#include "core/dbuf.h"

static void test_safe_atoi(void **state)
{
	int64_t v;
	uint32_t u;

	(void)state;
	assert_int_equal(safe_atoi64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(safe_atoi64("-7", &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(safe_atoi64("", &v), -EINVAL);
	assert_int_equal(safe_atoi64("12x", &v), -EINVAL);
	assert_int_equal(safe_atoi64(" 1", &v), -EINVAL);
	assert_int_equal(safe_atoi64("99999999999999999999", &v), -ERANGE);
	assert_int_equal(safe_atou32("4294967295", &u), 0);
	assert_int_equal(safe_atou32("4294967296", &u), -ERANGE);
	assert_int_equal(safe_atou32("-1", &u), -EINVAL);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_is_clean_text("hello", 5));
	assert_true(utf8_is_clean_text("蔵の鍵", strlen("蔵の鍵")));
	assert_int_equal(utf8_length("蔵の鍵", strlen("蔵の鍵")), 3);
	assert_false(utf8_is_clean_text("a\nb", 3));
	assert_false(utf8_is_clean_text("\xc0\xaf", 2));          /* overlong '/' */
	assert_false(utf8_is_clean_text("\xed\xa0\x80", 3));      /* surrogate */
	assert_false(utf8_is_clean_text("\xe3\x81", 2));          /* truncated */
	assert_false(utf8_is_clean_text("\xc2\x85", 2));          /* C1 control NEL */
	assert_false(utf8_is_clean_text("a\0b", 3));
}

static void test_arena(void **state)
{
	struct arena *a = arena_new();
	char *s, *big;
	int i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < 1000; i++) {
		s = arena_printf(a, "item %d", i);
		assert_non_null(s);
		assert_true(((uintptr_t)s & 15) == 0);
	}
	big = arena_alloc(a, 100000);
	assert_non_null(big);
	memset(big, 1, 100000);
	s = arena_strdup(a, "after");
	assert_string_equal(s, "after");
	assert_null(arena_free(a));
	assert_null(arena_free(NULL));
}

static void test_str(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(str_copy(buf, sizeof(buf), "abc"), 0);
	assert_int_equal(str_copy(buf, sizeof(buf), "abcd"), -E2BIG);
	assert_string_equal(buf, "abc");
	assert_int_equal(str_printf(buf, sizeof(buf), "%d", 12345), -E2BIG);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config(void **state)
{
	char dir[] = "/tmp/kura-test-config-XXXXXX";
	char path[256], err[512];
	struct config cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	str_printf(path, sizeof(path), "%s/kura.conf", dir);
	assert_int_equal(config_write_default(path), 0);
	assert_int_equal(config_write_default(path), -EEXIST);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:8443");
	assert_int_equal(cfg.session_idle_s, 1800);
	assert_string_equal(cfg.default_zone, "Asia/Tokyo");

	write_file(path, "[server]\nlisten = 127.0.0.1:9000\n[security]\nsession_idle_seconds = 60\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:9000");
	assert_int_equal(cfg.session_idle_s, 60);

	write_file(path, "[server]\nlisen = 1\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown setting [server] lisen"));
	assert_non_null(strstr(err, "line 2"));

	write_file(path, "[security]\nsession_idle_seconds = 5\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	write_file(path, "[mail]\nstarttls = maybe\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -ENOENT);
	rmdir(dir);
}

static void write_bytes(const char *path, const char *bytes, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
}

/* config_load(path) fails with -EINVAL and a message that names the file, the line and what */
static void expect_config_error_at(const char *path, unsigned line, const char *what, const char *file,
				   int src_line)
{
	struct config cfg;
	char err[512], where[320];

	str_printf(where, sizeof(where), "%s line %u: ", path, line);
	if (config_load(&cfg, path, err, sizeof(err)) != -EINVAL || strncmp(err, where, strlen(where)) ||
	    !strstr(err, what)) {
		print_error("config error \"%s\", want \"%s...%s\"\n", err, where, what);
		_fail(file, src_line);
	}
}
#define EXPECT_CONFIG_ERROR(path, line, what) expect_config_error_at(path, line, what, __FILE__, __LINE__)

/* issue 14: what libinih takes silently (a NUL ends its parsing, long lines are split, indented
 * lines continue the previous value) is refused; every error names the file and the line */
static void test_config_strict(void **state)
{
	static const char nul[] = "[server]\nthreads = 2\n\0[security]\nsession_idle_seconds = 5\n";
	char dir[] = "/tmp/kura-test-config-XXXXXX";
	char path[256], err[512], text[600];
	struct config cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	str_printf(path, sizeof(path), "%s/kura.conf", dir);

	/* the NUL on line 3 hid an invalid value after it */
	write_bytes(path, nul, sizeof(nul) - 1);
	EXPECT_CONFIG_ERROR(path, 3, "NUL byte");
	write_file(path, "[server]\nlisten = 127.0.0.1:1\x01\n");
	EXPECT_CONFIG_ERROR(path, 2, "control byte 0x01");
	/* CRLF line ends are fine */
	write_file(path, "[server]\r\nthreads = 3\r\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.threads, 3);
	/* libinih would split this line and parse its tail as a line of its own */
	{
		char xs[301];

		memset(xs, 'x', 300);
		xs[300] = '\0';
		str_printf(text, sizeof(text), "[provider]\nname = %s\n", xs);
		write_file(path, text);
	}
	EXPECT_CONFIG_ERROR(path, 2, "is longer than");
	/* libinih would append " threads = 9" to the previous value */
	write_file(path, "[server]\nlisten = 127.0.0.1:9000\n  threads = 9\n");
	EXPECT_CONFIG_ERROR(path, 3, "continuation lines are not supported");
	/* an indented comment and blank lines with spaces are fine */
	write_file(path, "[server]\nlisten = 127.0.0.1:9000\n  # note\n   \nthreads = 9\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.threads, 9);

	/* every other error names the file and line too */
	write_file(path, "[server]\nthreads = 2\nnot an ini line\n");
	EXPECT_CONFIG_ERROR(path, 3, "not an INI line");
	write_file(path, "# c\n[mail]\nstarttls = maybe\n");
	EXPECT_CONFIG_ERROR(path, 3, "[mail] starttls must be one of try, require, off");
	write_file(path, "[log]\n\nlevel = loud\n");
	EXPECT_CONFIG_ERROR(path, 3, "[log] level must be one of");
	write_file(path, "[security]\nmfa_managers_default = sometimes\n");
	EXPECT_CONFIG_ERROR(path, 2, "[security] mfa_managers_default must be one of required, optional");
	write_file(path, "[security]\nsession_idle_seconds = 5\n");
	EXPECT_CONFIG_ERROR(path, 2, "[security] session_idle_seconds must be a number");
	write_file(path, "[nope]\nx = 1\n");
	EXPECT_CONFIG_ERROR(path, 2, "unknown setting [nope] x");

	/* the per-address connection limit leaves room for other addresses */
	write_file(path, "[server]\nmax_connections = 100\nmax_connections_per_address = 51\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "at most half of max_connections"));
	write_file(path, "[server]\nmax_connections = 100\nmax_connections_per_address = 50\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_connections_per_address, 50);

	/* a directory is not a config file */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(config_load(&cfg, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	rmdir(path);
	rmdir(dir);
}

/* The zone conversions never add TZ to the environment or remove it: that grows or shifts
 * the environment's array under another thread's getenv (libpq's connect read a freed
 * array). After clock_init TZ is present, and conversions in both functions leave the
 * array where it was and TZ's value as it was. */
static void test_clock_env(void **state)
{
	extern char **environ;
	char **env, before[256], buf[CLOCK_RFC3339_LEN];
	int64_t us;
	int i;

	(void)state;
	clock_init();
	assert_non_null(getenv("TZ"));
	str_copy(before, sizeof(before), getenv("TZ"));
	env = environ;
	for (i = 0; i < 100; i++) {
		assert_int_equal(clock_format_zone(1795314799000000LL, i % 2 ? "Asia/Tokyo" : "UTC", buf, sizeof(buf)), 0);
		assert_int_equal(clock_day_start("2026-12-31", 1, "Asia/Tokyo", &us), 0);
	}
	assert_ptr_equal(environ, env);
	assert_string_equal(getenv("TZ"), before);
	assert_int_equal(us, 1798729200000000LL);   /* 2027-01-01T00:00:00+09:00 */
}

static void test_clock(void **state)
{
	char buf[CLOCK_RFC3339_LEN];
	struct clock_sync cs;

	(void)state;
	assert_int_equal(clock_format_utc(1795314799123456LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-22T02:33:19.123456Z");
	assert_int_equal(clock_format_zone(1795314799123456LL, "Asia/Tokyo", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-22T11:33:19+09:00");
	assert_int_equal(clock_format_zone(1795314799000000LL, "America/New_York", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-21T21:33:19-05:00");
	/* the hand-written conversion agrees with gmtime_r over centuries, leap days, negatives */
	{
		static const int64_t secs[] = { 0, -1, 86399, 86400, 951782400, 951868800, 4107542399,
						 1709164800, 253402300799LL, -2208988800LL, 1795314799 };
		char want[64], http[40];
		struct tm tm;
		size_t i;

		for (i = 0; i < ARRAY_SIZE(secs); i++) {
			time_t tt = (time_t)secs[i];

			assert_non_null(gmtime_r(&tt, &tm));
			strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000007Z", &tm);
			assert_int_equal(clock_format_utc(secs[i] * 1000000 + 7, buf, sizeof(buf)), 0);
			assert_string_equal(buf, want);
			strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
			assert_int_equal(clock_format_http(secs[i] * 1000000 + 999999, http, sizeof(http)), 0);
			assert_string_equal(http, want);
		}
		for (i = 0; i < 200000; i++) {
			int64_t s2 = (int64_t)i * 86400 * 3 + (int64_t)i * 7919 - 30000000000LL;
			time_t tt = (time_t)s2;

			assert_non_null(gmtime_r(&tt, &tm));
			strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
			assert_int_equal(clock_format_http(s2 * 1000000, http, sizeof(http)), 0);
			assert_string_equal(http, want);
		}
		assert_int_equal(clock_format_utc(253402300800LL * 1000000, buf, sizeof(buf)), -EINVAL);
		assert_int_equal(clock_format_http(0, http, 10), -E2BIG);
	}
	assert_true(clock_now_us() > 1700000000000000LL);
	assert_int_equal(clock_sync_state(&cs), 0);
}

/* dbuf: the maximum holds exactly (max bytes fit, one more does not), a failed append
 * changes nothing and the failure sticks, sizes near SIZE_MAX never wrap, the bytes are
 * always NUL-terminated, printf is not cut at any fixed size, take hands over and empties. */
static void test_dbuf_limits(void **state)
{
	struct dbuf b;
	char big[5000];
	size_t n = 0, i;
	char *p;

	(void)state;
	dbuf_init(&b, 10);
	assert_string_equal(dbuf_str(&b), "");
	assert_null(dbuf_data(&b));
	assert_int_equal(dbuf_len(&b), 0);
	assert_int_equal(dbuf_puts(&b, "0123456789"), 0);
	assert_int_equal(dbuf_len(&b), 10);
	assert_string_equal(dbuf_str(&b), "0123456789");
	assert_int_equal(dbuf_add(&b, "x", 1), -E2BIG);        /* one past max */
	assert_int_equal(dbuf_len(&b), 10);                     /* unchanged */
	assert_string_equal(dbuf_str(&b), "0123456789");
	assert_int_equal(dbuf_add(&b, "", 0), -E2BIG);         /* sticky */
	assert_int_equal(dbuf_error(&b), -E2BIG);
	assert_null(dbuf_take(&b, &n));                         /* a failed buffer hands nothing over */
	assert_int_equal(dbuf_error(&b), 0);
	assert_int_equal(dbuf_len(&b), 0);
	assert_int_equal(dbuf_puts(&b, "ok"), 0);               /* usable again, same max */
	assert_int_equal(dbuf_printf(&b, "%s", "123456789"), -E2BIG);
	assert_string_equal(dbuf_str(&b), "ok");
	dbuf_reset(&b);
	assert_int_equal(dbuf_error(&b), 0);
	assert_string_equal(dbuf_str(&b), "");
	assert_int_equal(dbuf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(dbuf_str(&b), "42-x");
	p = dbuf_take(&b, &n);
	assert_non_null(p);
	assert_string_equal(p, "42-x");
	assert_int_equal(n, 4);
	free(p);
	assert_int_equal(dbuf_len(&b), 0);
	p = dbuf_take(&b, &n);                                  /* empty: "" of its own */
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(n, 0);
	free(p);
	dbuf_free(&b);
	dbuf_free(NULL);

	/* huge lengths are refused before any arithmetic on them */
	dbuf_init(&b, SIZE_MAX);
	assert_int_equal(b.max, DBUF_MAX_LIMIT);
	assert_int_equal(dbuf_puts(&b, "abc"), 0);
	assert_int_equal(dbuf_add(&b, "x", SIZE_MAX), -E2BIG);
	dbuf_reset(&b);
	assert_int_equal(dbuf_puts(&b, "abc"), 0);
	assert_int_equal(dbuf_add(&b, "x", SIZE_MAX - 2), -E2BIG);
	dbuf_reset(&b);
	assert_int_equal(dbuf_puts(&b, "abc"), 0);
	assert_int_equal(dbuf_add(&b, "x", DBUF_MAX_LIMIT - 2), -E2BIG);
	assert_string_equal(dbuf_str(&b), "abc");
	dbuf_free(&b);

	/* growth across many doublings keeps every byte and the NUL */
	dbuf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	for (i = 0; i < 100; i++) {
		assert_int_equal(dbuf_add(&b, big, sizeof(big)), 0);
		assert_int_equal(dbuf_str(&b)[dbuf_len(&b)], '\0');
	}
	assert_int_equal(dbuf_len(&b), 100 * sizeof(big));
	for (i = 0; i < 100; i++)
		assert_memory_equal(dbuf_str(&b) + i * sizeof(big), big, sizeof(big));
	/* printf longer than any fixed scratch buffer */
	dbuf_reset(&b);
	assert_int_equal(dbuf_printf(&b, "<%.*s>", (int)sizeof(big), big), 0);
	assert_int_equal(dbuf_len(&b), sizeof(big) + 2);
	assert_int_equal(dbuf_str(&b)[sizeof(big) + 1], '>');
	assert_int_equal(dbuf_str(&b)[sizeof(big) + 2], '\0');
	dbuf_free(&b);

	/* exactly at the limit through printf, and one byte over */
	dbuf_init(&b, 8);
	assert_int_equal(dbuf_printf(&b, "%08d", 7), 0);
	assert_string_equal(dbuf_str(&b), "00000007");
	dbuf_reset(&b);
	assert_int_equal(dbuf_printf(&b, "%09d", 7), -E2BIG);
	assert_int_equal(dbuf_len(&b), 0);
	assert_string_equal(dbuf_str(&b), "");
	dbuf_free(&b);
}

/* Arrays of elements, and a secret buffer (same behaviour; its old copies are zeroed). */
static void test_dbuf_arrays_secret(void **state)
{
	struct dbuf b;
	int64_t v, *ids;
	size_t i;

	(void)state;
	dbuf_init(&b, 100 * sizeof(int64_t));
	for (v = 1; v <= 100; v++)
		assert_int_equal(dbuf_add(&b, &v, sizeof(v)), 0);
	assert_int_equal(dbuf_add(&b, &v, sizeof(v)), -E2BIG);
	ids = dbuf_data(&b);
	assert_int_equal(dbuf_len(&b) / sizeof(*ids), 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(ids[i], (int64_t)i + 1);
	dbuf_free(&b);

	dbuf_init_secret(&b, 1 << 16);
	for (i = 0; i < 1000; i++)
		assert_int_equal(dbuf_puts(&b, "secret-"), 0);
	assert_int_equal(dbuf_len(&b), 7000);
	assert_int_equal(strncmp(dbuf_str(&b) + 6993, "secret-", 7), 0);
	dbuf_reset(&b);
	assert_string_equal(dbuf_str(&b), "");
	assert_int_equal(dbuf_puts(&b, "again"), 0);
	assert_string_equal(dbuf_str(&b), "again");
	dbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safe_atoi), cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_arena),     cmocka_unit_test(test_str),
		cmocka_unit_test(test_config),    cmocka_unit_test(test_config_strict),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_clock_env),
		cmocka_unit_test(test_dbuf_limits), cmocka_unit_test(test_dbuf_arrays_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
