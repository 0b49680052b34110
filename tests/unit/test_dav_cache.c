/*
 * The PROPFIND answers kept per process (http/dav_cache.h; issue 11, docs/performance.md
 * step 16): an answer is found only at its tenant, code, path and generation; a new
 * generation replaces the old answer; the bounds (bytes, entries, one answer's size) hold
 * with the least recently used answer making room; an answer taken out stays readable after
 * it was replaced or evicted (AddressSanitizer finds a use after free); builds are bounded;
 * answers unused for a while go. Whether a server serves the kept answers correctly is
 * tests/integration/test_dav_cache.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/limits.h"
#include "http/dav_cache.h"

static char *text(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static char *block(size_t n, char c)
{
	char *p = malloc(n);

	assert_non_null(p);
	memset(p, c, n);
	return p;
}

static void expect_body(struct dav_answer *a, const char *want)
{
	size_t n;
	const char *b;

	assert_non_null(a);
	b = dav_answer_body(a, &n);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(b, want, n);
}

static int reset(void **state)
{
	(void)state;
	dav_cache_clear();
	return 0;
}

static void test_key_and_generation(void **state)
{
	struct dav_answer *a;
	struct dav_cache_stats st;

	(void)state;
	dav_answer_release(dav_cache_put(1, "alpha", "docs", 11, dav_cache_clock_us(), text("alpha docs"), 10));
	a = dav_cache_get(1, "alpha", "docs", 11);
	expect_body(a, "alpha docs");
	dav_answer_release(a);

	/* every part of the key, and the generation, must be equal */
	assert_null(dav_cache_get(1, "alpha", "docs", 12));
	assert_null(dav_cache_get(2, "alpha", "docs", 11));   /* another tenant's id */
	assert_null(dav_cache_get(1, "alphb", "docs", 11));   /* another code */
	assert_null(dav_cache_get(1, "alpha", "Docs", 11));
	assert_null(dav_cache_get(1, "alpha", "docs/", 11));
	assert_null(dav_cache_get(1, "alpha", "", 11));
	assert_null(dav_cache_get(1, NULL, "docs", 11));

	/* generation 0 names no state: never kept, never found */
	a = dav_cache_put(1, "alpha", "zero", 0, dav_cache_clock_us(), text("unkept"), 6);
	expect_body(a, "unkept");   /* the caller still sends it */
	dav_answer_release(a);
	assert_null(dav_cache_get(1, "alpha", "zero", 0));

	/* another tenant may have the same path: its own answer */
	dav_answer_release(dav_cache_put(2, "beta", "docs", 11, dav_cache_clock_us(), text("beta docs"), 9));
	a = dav_cache_get(1, "alpha", "docs", 11);
	expect_body(a, "alpha docs");
	dav_answer_release(a);
	a = dav_cache_get(2, "beta", "docs", 11);
	expect_body(a, "beta docs");
	dav_answer_release(a);

	dav_cache_stats(&st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.bytes, 19);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 6);   /* the NULL code and generation 0 are not looked up */
}

static void test_new_generation_replaces(void **state)
{
	struct dav_answer *held, *a;
	struct dav_cache_stats st;

	(void)state;
	dav_answer_release(dav_cache_put(1, "alpha", "", 5, dav_cache_clock_us(), text("old"), 3));
	held = dav_cache_get(1, "alpha", "", 5);   /* a response still sending it */
	dav_answer_release(dav_cache_put(1, "alpha", "", 6, dav_cache_clock_us(), text("new!"), 4));
	assert_null(dav_cache_get(1, "alpha", "", 5));
	a = dav_cache_get(1, "alpha", "", 6);
	expect_body(a, "new!");
	dav_answer_release(a);
	expect_body(held, "old");   /* replaced, still whole for whoever holds it */
	dav_answer_release(held);
	dav_cache_stats(&st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 4);
}

static void test_bounds(void **state)
{
	struct dav_answer *held, *a;
	struct dav_cache_stats st;
	char path[32];
	size_t big = (size_t)KURA_DAV_CACHE_ENTRY_BYTES;
	int fit = (int)(KURA_DAV_CACHE_BYTES / KURA_DAV_CACHE_ENTRY_BYTES);

	(void)state;
	/* one answer over the size of one is sent, never kept */
	a = dav_cache_put(1, "alpha", "huge", 1, dav_cache_clock_us(), block(big + 1, 'h'), big + 1);
	assert_non_null(a);
	dav_answer_release(a);
	assert_null(dav_cache_get(1, "alpha", "huge", 1));

	/* the byte bound: as many of the largest as fit, the least recently used goes first */
	for (int i = 0; i < fit; i++) {
		snprintf(path, sizeof(path), "big%d", i);
		dav_answer_release(dav_cache_put(1, "alpha", path, 1, dav_cache_clock_us(), block(big, (char)('a' + i)), big));
	}
	dav_cache_stats(&st);
	assert_int_equal(st.entries, fit);
	assert_int_equal(st.bytes, (size_t)fit * big);
	held = dav_cache_get(1, "alpha", "big0", 1);   /* now the most recently used */
	assert_non_null(held);
	dav_answer_release(dav_cache_put(1, "alpha", "one-more", 1, dav_cache_clock_us(), text("x"), 1));
	dav_cache_stats(&st);
	assert_true(st.bytes <= (size_t)KURA_DAV_CACHE_BYTES);
	assert_null(dav_cache_get(1, "alpha", "big1", 1));   /* the least recently used went */
	a = dav_cache_get(1, "alpha", "big0", 1);
	assert_non_null(a);
	dav_answer_release(a);
	dav_cache_clear();   /* everything forgotten, and what is held stays whole */
	{
		size_t n;
		const char *b = dav_answer_body(held, &n);

		assert_int_equal(n, big);
		assert_true(b[0] == 'a' && b[big - 1] == 'a');
	}
	dav_answer_release(held);

	/* the count bound */
	for (int i = 0; i < KURA_DAV_CACHE_ENTRIES + 10; i++) {
		snprintf(path, sizeof(path), "f%d", i);
		dav_answer_release(dav_cache_put(7, "g", path, 3, dav_cache_clock_us(), text("small"), 5));
	}
	dav_cache_stats(&st);
	assert_int_equal(st.entries, KURA_DAV_CACHE_ENTRIES);
	assert_null(dav_cache_get(7, "g", "f0", 3));
	a = dav_cache_get(7, "g", "f10", 3);
	assert_non_null(a);
	dav_answer_release(a);
}

/* A slow answer read before the one kept is older: it is sent, and leaves the newer kept. */
static void test_older_answer_does_not_replace(void **state)
{
	struct dav_answer *a;
	int64_t t_old = dav_cache_clock_us(), t_new = t_old + 1000;

	(void)state;
	dav_answer_release(dav_cache_put(1, "alpha", "d", 22, t_new, text("newer"), 5));
	a = dav_cache_put(1, "alpha", "d", 21, t_old, text("older"), 5);
	expect_body(a, "older");   /* its own request still gets it */
	dav_answer_release(a);
	assert_null(dav_cache_get(1, "alpha", "d", 21));
	a = dav_cache_get(1, "alpha", "d", 22);
	expect_body(a, "newer");
	dav_answer_release(a);
}

/* Answers replaced while responses still hold them count: past KURA_DAV_CACHE_LIVE_BYTES
 * nothing more is kept until the holders let go. */
static void test_held_answers_bound(void **state)
{
	size_t big = (size_t)KURA_DAV_CACHE_ENTRY_BYTES;
	int n = (int)(KURA_DAV_CACHE_LIVE_BYTES / KURA_DAV_CACHE_ENTRY_BYTES) + 2;
	struct dav_answer **held = calloc((size_t)n, sizeof(*held)), *a;
	struct dav_cache_stats st;
	int kept = 0;

	(void)state;
	assert_non_null(held);
	for (int i = 0; i < n; i++) {   /* a new generation each time, each still being sent */
		dav_answer_release(dav_cache_put(1, "alpha", "hot", 100 + i, dav_cache_clock_us(), block(big, 'z'), big));
		held[i] = dav_cache_get(1, "alpha", "hot", 100 + i);
		kept += held[i] != NULL;
	}
	dav_cache_stats(&st);
	assert_true(st.live <= (size_t)KURA_DAV_CACHE_LIVE_BYTES + big);
	assert_true(kept < n);
	for (int i = 0; i < n; i++)
		dav_answer_release(held[i]);
	free(held);
	dav_cache_stats(&st);
	assert_true(st.live <= big);   /* only what the table keeps */
	dav_answer_release(dav_cache_put(1, "alpha", "hot", 999, dav_cache_clock_us(), text("again"), 5));
	a = dav_cache_get(1, "alpha", "hot", 999);
	expect_body(a, "again");
	dav_answer_release(a);
}

static void test_builds_bounded(void **state)
{
	(void)state;
	for (int i = 0; i < KURA_DAV_CACHE_BUILDS; i++)
		assert_true(dav_cache_build_begin());
	assert_false(dav_cache_build_begin());
	dav_cache_build_end();
	assert_true(dav_cache_build_begin());
	for (int i = 0; i < KURA_DAV_CACHE_BUILDS; i++)
		dav_cache_build_end();
	assert_true(dav_cache_build_begin());
	dav_cache_build_end();
}

static void test_unused_answers_go(void **state)
{
	struct dav_answer *a;

	(void)state;
	dav_answer_release(dav_cache_put(1, "alpha", "stale", 1, dav_cache_clock_us(), text("s"), 1));
	sleep(2);
	dav_answer_release(dav_cache_put(1, "alpha", "fresh", 1, dav_cache_clock_us(), text("f"), 1));
	dav_cache_drop_unused(1);
	assert_null(dav_cache_get(1, "alpha", "stale", 1));
	a = dav_cache_get(1, "alpha", "fresh", 1);
	assert_non_null(a);
	dav_answer_release(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_key_and_generation, reset),
		cmocka_unit_test_setup(test_new_generation_replaces, reset),
		cmocka_unit_test_setup(test_bounds, reset),
		cmocka_unit_test_setup(test_older_answer_does_not_replace, reset),
		cmocka_unit_test_setup(test_held_answers_bound, reset),
		cmocka_unit_test_setup(test_builds_bounded, reset),
		cmocka_unit_test_setup_teardown(test_unused_answers_go, reset, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
