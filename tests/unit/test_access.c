/* Unit tests for access: CIDR parsing and matching, X-Forwarded-For resolution, HTTP Basic
 * parsing, the per-address throttle, and the trusted_proxies setting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/access.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/db.h"

static void expect_canon(const char *in, const char *want)
{
	char detail[160], buf[KURA_CIDR_TEXT_MAX];
	struct ipnet n;

	if (ipnet_parse(in, &n, detail, sizeof(detail)) != 0)
		fail_msg("%s refused: %s", in, detail);
	ipnet_format(&n, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void expect_refused(const char *in, const char *detail_has)
{
	char detail[160] = "";
	struct ipnet n;

	if (ipnet_parse(in, &n, detail, sizeof(detail)) == 0)
		fail_msg("%s was accepted", in);
	if (detail_has && !strstr(detail, detail_has))
		fail_msg("%s: detail \"%s\" lacks \"%s\"", in, detail, detail_has);
}

static void test_cidr_parse(void **state)
{
	(void)state;
	expect_canon("203.0.113.0/24", "203.0.113.0/24");
	expect_canon("127.0.0.1", "127.0.0.1/32");
	expect_canon("0.0.0.0/0", "0.0.0.0/0");
	expect_canon("2001:DB8::/32", "2001:db8::/32");
	expect_canon("2001:0db8:0000::/48", "2001:db8::/48");
	expect_canon("::1", "::1/128");
	expect_canon("::/0", "::/0");
	expect_canon("10.1.2.128/25", "10.1.2.128/25");

	expect_refused("", NULL);
	expect_refused("203.0.113.5/24", "did you mean 203.0.113.0/24");
	expect_refused("2001:db8::1/32", "did you mean 2001:db8::/32");
	expect_refused("203.0.113.0/33", "0-32");
	expect_refused("2001:db8::/129", "0-128");
	expect_refused("203.0.113.0/", NULL);
	expect_refused("203.0.113.0/024", NULL);
	expect_refused("203.0.113.0/+8", NULL);
	expect_refused("203.0.113.0/-1", NULL);
	expect_refused("203.0.113.0/8/8", NULL);
	expect_refused("203.0.113/24", NULL);           /* inet_aton shorthand */
	expect_refused("010.0.0.0/8", NULL);            /* leading zero (octal in inet_aton) */
	expect_refused("0x7f.0.0.1", NULL);
	expect_refused(" 10.0.0.0/8", NULL);
	expect_refused("10.0.0.0/8 ", NULL);
	expect_refused("10.0.0.0 /8", NULL);
	expect_refused("fe80::1%eth0/128", NULL);       /* zone id */
	expect_refused("::ffff:10.0.0.0/104", "IPv4-mapped");
	expect_refused("256.0.0.0/8", NULL);
	expect_refused("example.com/24", NULL);
	expect_refused("1.2.3.4/32\n", NULL);
	expect_refused("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
}

static bool contains(const char *net, const char *addr)
{
	char detail[160];
	struct ipnet n, a;

	assert_int_equal(ipnet_parse(net, &n, detail, sizeof(detail)), 0);
	assert_int_equal(ipaddr_parse(addr, &a), 0);
	return ipnet_contains(&n, &a);
}

static void test_cidr_contains(void **state)
{
	struct ipnet a;

	(void)state;
	assert_true(contains("127.0.0.1/32", "127.0.0.1"));
	assert_false(contains("127.0.0.1/32", "127.0.0.2"));
	assert_true(contains("10.1.2.128/25", "10.1.2.255"));
	assert_false(contains("10.1.2.128/25", "10.1.2.127"));
	assert_true(contains("0.0.0.0/0", "198.51.100.7"));
	assert_false(contains("0.0.0.0/0", "2001:db8::1"));       /* families never mix */
	assert_false(contains("::/0", "198.51.100.7"));
	assert_true(contains("::/0", "2001:db8::1"));
	assert_true(contains("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(contains("2001:db8::/33", "2001:db8:8000::1"));
	/* an IPv4-mapped client address is compared as IPv4 */
	assert_true(contains("192.0.2.0/24", "::ffff:192.0.2.9"));
	assert_int_equal(ipaddr_parse("::ffff:192.0.2.9", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(ipaddr_parse("192.0.2.9/32", &a), -EINVAL);
	assert_int_equal(ipaddr_parse("", &a), -EINVAL);
}

static void resolve(const char *trusted_csv, const char *peer, const char *xff, const char *want)
{
	struct ipnet trusted[KURA_TRUSTED_PROXIES_MAX];
	char err[160], got[64];
	size_t n;

	assert_int_equal(ipnet_parse_list(trusted_csv, trusted, KURA_TRUSTED_PROXIES_MAX, &n, err, sizeof(err)), 0);
	client_address_resolve(trusted, n, peer, xff, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("trusted=%s peer=%s xff=%s: got \"%s\", want \"%s\"", trusted_csv, peer,
			 xff ? xff : "(none)", got, want);
}

static void test_forwarded_for(void **state)
{
	char big[KURA_XFF_MAX_BYTES + 64];
	size_t i;

	(void)state;
	/* no trusted proxies: the header is ignored */
	resolve("", "198.51.100.1", "203.0.113.9", "198.51.100.1");
	/* the peer is not trusted: ignored */
	resolve("10.0.0.0/8", "198.51.100.1", "203.0.113.9", "198.51.100.1");
	/* trusted peer: the right-most untrusted entry */
	resolve("10.0.0.0/8", "10.0.0.5", "203.0.113.9", "203.0.113.9");
	resolve("10.0.0.0/8", "10.0.0.5", "1.1.1.1, 203.0.113.9", "203.0.113.9");
	resolve("10.0.0.0/8", "10.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.7", "203.0.113.9");
	/* what the client wrote on the left does not matter, even junk */
	resolve("10.0.0.0/8", "10.0.0.5", "junk, 127.0.0.1,203.0.113.9", "203.0.113.9");
	/* IPv6 and mapped forms come out canonical */
	resolve("10.0.0.0/8", "10.0.0.5", "2001:DB8::0001", "2001:db8::1");
	resolve("10.0.0.0/8, ::1/128", "::1", "::ffff:192.0.2.1", "192.0.2.1");
	/* no header or an empty one: the proxy itself */
	resolve("10.0.0.0/8", "10.0.0.5", NULL, "10.0.0.5");
	resolve("10.0.0.0/8", "10.0.0.5", "  ", "10.0.0.5");
	/* only trusted hops: the left-most of them */
	resolve("10.0.0.0/8", "10.0.0.5", "10.0.0.1, 10.0.0.2", "10.0.0.1");
	/* malformed entries where a trusted hop wrote them: unknown (fails closed) */
	resolve("10.0.0.0/8", "10.0.0.5", "203.0.113.9:4711", "");
	resolve("10.0.0.0/8", "10.0.0.5", "[2001:db8::1]", "");
	resolve("10.0.0.0/8", "10.0.0.5", "203.0.113.9,", "");
	resolve("10.0.0.0/8", "10.0.0.5", "unknown", "");
	/* too many trusted hops to walk */
	big[0] = '\0';
	for (i = 0; i < KURA_XFF_MAX_HOPS + 1; i++)
		strncat(big, i ? ",10.0.0.1" : "10.0.0.1", sizeof(big) - strlen(big) - 1);
	resolve("10.0.0.0/8", "10.0.0.5", big, "");
	/* over the byte limit */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + sizeof(big) - 12, "203.0.113.9", 11);
	resolve("10.0.0.0/8", "10.0.0.5", big, "");
}

static void test_trusted_proxies_setting(void **state)
{
	struct ipnet t[KURA_TRUSTED_PROXIES_MAX];
	char err[160], csv[4096] = "";
	size_t n, i;

	(void)state;
	assert_int_equal(ipnet_parse_list("", t, KURA_TRUSTED_PROXIES_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ipnet_parse_list("127.0.0.1/32, 10.0.0.0/8,::1", t, KURA_TRUSTED_PROXIES_MAX, &n, err,
					  sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ipnet_parse_list("127.0.0.1/32,,10.0.0.0/8", t, KURA_TRUSTED_PROXIES_MAX, &n, err,
					  sizeof(err)), -EINVAL);
	assert_int_equal(ipnet_parse_list("10.0.0.1/8", t, KURA_TRUSTED_PROXIES_MAX, &n, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "host bits"));
	for (i = 0; i <= KURA_TRUSTED_PROXIES_MAX; i++)
		strncat(csv, "10.0.0.0/8,", sizeof(csv) - strlen(csv) - 1);
	csv[strlen(csv) - 1] = '\0';
	assert_int_equal(ipnet_parse_list(csv, t, KURA_TRUSTED_PROXIES_MAX, &n, err, sizeof(err)), -E2BIG);
}

static void basic(const char *user_secret, int want, const char *want_user, const char *want_secret)
{
	char header[512], b64[400], user[100], secret[100];

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)user_secret, strlen(user_secret),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(header, sizeof(header), "Basic %s", b64);
	assert_int_equal(basic_auth_parse(header, user, sizeof(user), secret, sizeof(secret)), want);
	if (want == 0) {
		assert_string_equal(user, want_user);
		assert_string_equal(secret, want_secret);
	}
}

static void test_basic_auth(void **state)
{
	char user[100], secret[100];

	(void)state;
	basic("alice@alpha:kura_ap_x", 0, "alice@alpha", "kura_ap_x");
	basic("alice@alpha:with:colon", 0, "alice@alpha", "with:colon");
	basic("no-colon", -EINVAL, NULL, NULL);
	basic("ctl\001@alpha:x", -EINVAL, NULL, NULL);
	assert_int_equal(basic_auth_parse("Bearer abc", user, sizeof(user), secret, sizeof(secret)), -EINVAL);
	assert_int_equal(basic_auth_parse("Basic !!!!", user, sizeof(user), secret, sizeof(secret)), -EINVAL);
	assert_int_equal(basic_auth_parse("Basic ", user, sizeof(user), secret, sizeof(secret)), -EINVAL);
	assert_int_equal(basic_auth_parse("basic YTpi", user, sizeof(user), secret, sizeof(secret)), 0);
	assert_string_equal(user, "a");
	assert_string_equal(secret, "b");
	/* NUL inside the decoded credentials */
	assert_int_equal(basic_auth_parse("Basic YQBiOmM=", user, sizeof(user), secret, sizeof(secret)), -EINVAL);
	/* a byte >= 0x80 where a digit belongs: libsodium 1.0.18 decodes it as one (fuzz_basic_auth) */
	assert_int_equal(basic_auth_parse("Basic 5p2x5LqsQGFjbWU60L/QsNGA0L7Qu9GM", user, sizeof(user), secret,
					  sizeof(secret)), 0);
	assert_int_equal(basic_auth_parse("Basic 5p2x5LqsQGFjbWU60L\xebQsNGA0L7Qu9GM", user, sizeof(user), secret,
					  sizeof(secret)), -EINVAL);
}

/* The per-address throttle counts in the database (address_throttle): two connections to
 * one database stand for two nodes, so a failure counted through one slows the other. */
static void test_throttle(void **state)
{
	char dir[] = "/tmp/kura-test-throttle-XXXXXX", path[96], err[256], cmd[160];
	struct db *db, *db2;
	int64_t retry = 0, n = -1, last_us = 0;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kura.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	db2 = db_open(path, err, sizeof(err));
	assert_non_null(db2);
	assert_int_equal(throttle_reset_all(db), 0);
	for (i = 0; i < KURA_THROTTLE_FREE_FAILURES; i++) {
		assert_int_equal(throttle_peek_ms(db, "192.0.2.1"), 0);
		throttle_failure(i % 2 ? db : db2, "192.0.2.1");
	}
	assert_int_equal(throttle_peek_ms(db, "192.0.2.1"), KURA_THROTTLE_BASE_MS);
	assert_int_equal(throttle_peek_ms(db2, "192.0.2.1"), KURA_THROTTLE_BASE_MS);
	throttle_failure(db, "192.0.2.1");
	assert_int_equal(throttle_peek_ms(db2, "192.0.2.1"), 2 * KURA_THROTTLE_BASE_MS);
	for (i = 0; i < 20; i++)
		throttle_failure(db, "192.0.2.1");
	assert_int_equal(throttle_peek_ms(db, "192.0.2.1"), KURA_THROTTLE_MAX_MS);
	/* other addresses are not slowed down */
	assert_int_equal(throttle_peek_ms(db, "192.0.2.2"), 0);
	/* IPv6 counts per /64 */
	for (i = 0; i < KURA_THROTTLE_FREE_FAILURES; i++) {
		last_us = clock_now_us();   /* the last failure is counted at this time or later */
		throttle_failure(db, i % 2 ? "2001:db8:1:2::1" : "2001:db8:1:2:ffff::9");
	}
	assert_int_equal(throttle_peek_ms(db, "2001:db8:1:2::77"), KURA_THROTTLE_BASE_MS);
	assert_int_equal(throttle_peek_ms(db, "2001:db8:1:3::1"), 0);
	/* the delay is slept, on the other "node" too: the check returns no earlier than the
	 * delay after the last failure (however long the commits in between took) */
	assert_int_equal(throttle_delay(db2, "2001:db8:1:2::5", NULL, &retry), 0);
	assert_true(clock_now_us() >= last_us + KURA_THROTTLE_BASE_MS * 1000);
	/* the window ends: pruning an hour later forgets every address */
	assert_int_equal(throttle_prune(db, clock_now_us(), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(throttle_prune(db, clock_now_us() + 3600 * 1000000LL, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(throttle_peek_ms(db, "192.0.2.1"), 0);
	/* the table is bounded: pruning a full one drops the oldest windows, the newest stay */
	throttle_failure(db, "192.0.2.1");
	assert_int_equal(db_begin(db), 0);   /* one transaction: fast */
	for (i = 0; i < KURA_THROTTLE_TABLE + 10; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "10.%d.%d.1", (i >> 8) & 0xff, i & 0xff);
		throttle_failure(db, addr);
	}
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(throttle_prune(db, clock_now_us(), &n), 0);
	assert_true(n >= 1);
	assert_int_equal(throttle_peek_ms(db, "192.0.2.1"), 0);   /* the oldest: gone */
	for (i = 0; i < KURA_THROTTLE_FREE_FAILURES; i++)
		throttle_failure(db, "10.16.9.1");   /* the newest stayed: counting on */
	assert_true(throttle_peek_ms(db, "10.16.9.1") > 0);
	assert_int_equal(throttle_reset_all(db), 0);
	db_close(db2);
	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void count_statements(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id,
			     const char *sql)
{
	(void)db;
	(void)tenant_id;
	(void)sql;
	if (ev == DB_TRACE_STATEMENT)
		++*(int *)ctx;
}

/* On SQLite an address with no failure counted is not looked up (throttle.c "negative
 * cache"): no statement for its check; once a failure is counted for it, every check reads
 * its row again, and the delay applies. */
static void test_throttle_clean_address(void **state)
{
	char dir[] = "/tmp/kura-test-throttle-XXXXXX", path[96], err[256], cmd[160];
	struct db *db;
	int64_t retry = 0;
	int n = 0, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kura.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	assert_int_equal(throttle_delay(db, "198.51.100.7", NULL, &retry), 0);   /* loads the cache */
	db_trace(count_statements, &n);
	assert_int_equal(throttle_delay(db, "198.51.100.7", NULL, &retry), 0);
	assert_int_equal(n, 0);
	for (i = 0; i < KURA_THROTTLE_FREE_FAILURES; i++)
		throttle_failure(db, "198.51.100.7");
	n = 0;
	assert_int_equal(throttle_peek_ms(db, "198.51.100.7"), KURA_THROTTLE_BASE_MS);
	assert_int_equal(throttle_delay(db, "198.51.100.7", NULL, &retry), 0);   /* slept */
	assert_int_equal(n, 2);
	db_trace(NULL, NULL);
	assert_int_equal(throttle_reset_all(db), 0);
	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),       cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_forwarded_for),    cmocka_unit_test(test_trusted_proxies_setting),
		cmocka_unit_test(test_basic_auth),       cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_throttle_clean_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
