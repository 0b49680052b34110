/*
 * Unit tests for the connection guard's address keys and counters (src/http/guard.c,
 * included here to reach its static functions): IPv4 addresses and IPv6 /64 prefixes are
 * the units of the per-address limit, trusted proxies are not limited, counters come and go
 * with their connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../src/http/guard.c"

static struct sockaddr_in6 v6(const char *text)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
	return sa;
}

static struct sockaddr_in v4(const char *text)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, text, &sa.sin_addr), 1);
	return sa;
}

static struct guard_key key(const void *sa)
{
	struct guard_key k;
	struct ipnet net;

	assert_true(key_of(sa, &k, &net));
	return k;
}

static void test_keys(void **state)
{
	struct sockaddr_in6 a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2:ffff:ee:dd:5"), c = v6("2001:db8:1:3::1");
	struct sockaddr_in d = v4("192.0.2.1"), e = v4("192.0.2.2");
	struct guard_key ka = key(&a), kb = key(&b), kc = key(&c), kd = key(&d), ke = key(&e);
	char text[INET6_ADDRSTRLEN + 4];

	(void)state;
	/* one /64 is one key, whatever its host half */
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_memory_not_equal(&ka, &kc, sizeof(ka));
	/* IPv4: the whole address */
	assert_memory_not_equal(&kd, &ke, sizeof(kd));
	assert_int_equal(kd.family, 4);
	key_text(&kb, text, sizeof(text));
	assert_string_equal(text, "2001:db8:1:2::/64");
	key_text(&kd, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
	assert_false(key_of(NULL, &ka, &(struct ipnet){ 0 }));
}

static void test_limit_per_key(void **state)
{
	struct config cfg = { .header_timeout_s = 20, .body_timeout_s = 20, .body_min_rate = 500 };
	struct ipnet proxy;
	char detail[64];
	struct guard *g;
	struct sockaddr_in6 a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2::99"), c = v6("2001:db8:9::1");
	struct sockaddr_in p = v4("10.0.0.7");
	struct guard_key ka = key(&a), kp = key(&p);

	(void)state;
	assert_int_equal(ipnet_parse("10.0.0.0/8", &proxy, detail, sizeof(detail)), 0);
	g = guard_new(&cfg, 2, &proxy, 1);
	assert_non_null(g);
	assert_int_equal(guard_accept(g, (struct sockaddr *)&a, sizeof(a)), MHD_YES);
	pthread_mutex_lock(&g->lock);
	assert_int_equal(count_add(g, &ka), 0);
	assert_int_equal(count_add(g, &ka), 0);
	pthread_mutex_unlock(&g->lock);
	/* the /64 is full: another host in it is refused, another /64 is not */
	assert_int_equal(guard_accept(g, (struct sockaddr *)&b, sizeof(b)), MHD_NO);
	assert_int_equal(guard_accept(g, (struct sockaddr *)&a, sizeof(a)), MHD_NO);
	assert_int_equal(guard_accept(g, (struct sockaddr *)&c, sizeof(c)), MHD_YES);
	/* one that got past the policy check is counted and reported over the limit */
	pthread_mutex_lock(&g->lock);
	assert_int_equal(count_add(g, &ka), -E2BIG);
	count_del(g, &ka);
	count_del(g, &ka);
	pthread_mutex_unlock(&g->lock);
	assert_int_equal(guard_accept(g, (struct sockaddr *)&b, sizeof(b)), MHD_YES);
	pthread_mutex_lock(&g->lock);
	count_del(g, &ka);
	assert_null(count_find(g, &ka));   /* the counter is gone with its last connection */
	pthread_mutex_unlock(&g->lock);
	/* a trusted proxy is never limited (the policy does not look at counters for it) */
	pthread_mutex_lock(&g->lock);
	assert_int_equal(count_add(g, &kp), 0);
	assert_int_equal(count_add(g, &kp), 0);
	assert_int_equal(count_add(g, &kp), -E2BIG);
	pthread_mutex_unlock(&g->lock);
	assert_int_equal(guard_accept(g, (struct sockaddr *)&p, sizeof(p)), MHD_YES);
	assert_null(guard_free(g));
	assert_null(guard_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_limit_per_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
