/* Unit tests for job leases (store/lease.h, issue 10): two connections to one database stand
 * for two nodes. A lease is exclusive while it runs, renewable by its holder, taken over once
 * it has run out, and ended by its holder; of two nodes claiming at once exactly one wins. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "store/db.h"
#include "store/lease.h"

#define S 1000000LL
#define RACE_JOBS 200

struct fixture {
	char dir[64], path[128];
	struct db *a, *b;   /* node a, node b */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx)
		return -1;
	str_copy(fx->dir, sizeof(fx->dir), "/tmp/kura-test-lease-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	str_printf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->a = db_open(fx->path, err, sizeof(err));
	if (!fx->a || db_migrate(fx->a) < 0)
		return -1;
	fx->b = db_open(fx->path, err, sizeof(err));
	if (!fx->b)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	db_close(fx->a);
	db_close(fx->b);
	str_printf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static int64_t lease_int(struct db *db, const char *name, const char *col)
{
	char sql[128];
	struct db_stmt *st;
	int64_t v = -1;

	str_printf(sql, sizeof(sql), "SELECT %s FROM job_leases WHERE name = $1", col);
	st = db_query(db, sql, "t", name);
	if (db_step(st) > 0)
		v = db_int(st, 0);
	db_done(st);
	return v;
}

static void expect_holder(struct db *db, const char *name, const char *want)
{
	struct db_stmt *st = db_query(db, "SELECT holder FROM job_leases WHERE name = $1", "t", name);

	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 0), want);
	db_done(st);
}

static void test_exclusive_and_expiry(void **state)
{
	struct fixture *fx = *state;
	const int64_t t0 = 1700000000 * S;

	/* a claims; b cannot while a's lease runs, on the other connection */
	assert_int_equal(db_lease_claim_as(fx->a, "job.x", "node-a", t0, 10 * S), 1);
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "node-b", t0 + 1 * S, 10 * S), 0);
	expect_holder(fx->b, "job.x", "node-a");
	/* a renews: its lease now runs to t0 + 15 s, and it was claimed at t0 still */
	assert_int_equal(db_lease_claim_as(fx->a, "job.x", "node-a", t0 + 5 * S, 10 * S), 1);
	assert_int_equal(lease_int(fx->b, "job.x", "until_us"), t0 + 15 * S);
	assert_int_equal(lease_int(fx->b, "job.x", "claimed_us"), t0);
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "node-b", t0 + 15 * S - 1, 10 * S), 0);
	/* a falls silent: once its lease has run out, b takes the job over, and a cannot take it back */
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "node-b", t0 + 15 * S, 10 * S), 1);
	expect_holder(fx->a, "job.x", "node-b");
	assert_int_equal(lease_int(fx->a, "job.x", "claimed_us"), t0 + 15 * S);
	assert_int_equal(db_lease_claim_as(fx->a, "job.x", "node-a", t0 + 16 * S, 10 * S), 0);
	/* jobs are leased one by one */
	assert_int_equal(db_lease_claim_as(fx->a, "job.y", "node-a", t0 + 16 * S, 10 * S), 1);
	/* b stops: its leases end at once, and a takes job.x without waiting */
	assert_int_equal(db_lease_release_all(fx->b, "node-b"), 1);
	assert_int_equal(db_lease_claim_as(fx->a, "job.x", "node-a", t0 + 17 * S, 10 * S), 1);
	expect_holder(fx->b, "job.x", "node-a");
	expect_holder(fx->b, "job.y", "node-a");
	/* bad input changes nothing */
	assert_int_equal(db_lease_claim_as(fx->b, "", "node-b", t0 + 99 * S, 10 * S), -EINVAL);
	assert_int_equal(db_lease_claim_as(fx->b, "Job X", "node-b", t0 + 99 * S, 10 * S), -EINVAL);
	assert_int_equal(db_lease_claim_as(fx->b, "a.name.longer.than.thirty-two.chars", "node-b", t0, S), -EINVAL);
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "", t0 + 99 * S, 10 * S), -EINVAL);
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "node-b", t0 + 99 * S, 0), -EINVAL);
	assert_int_equal(db_lease_claim_as(fx->b, "job.x", "node-b", INT64_MAX - 5, 10 * S), -EINVAL);
	expect_holder(fx->b, "job.x", "node-a");
}

/* db_lease_claim: this process's node id and the clock */
static void test_claim_now(void **state)
{
	struct fixture *fx = *state;
	const char *me = db_node_id();

	assert_int_equal(strlen(me), DB_NODE_ID_LEN);
	assert_int_equal(strspn(me, "0123456789abcdef"), DB_NODE_ID_LEN);
	assert_ptr_equal(db_node_id(), me);
	assert_int_equal(db_lease_claim(fx->a, "job.now", db_lease_ttl_s(60)), 1);
	expect_holder(fx->b, "job.now", me);
	assert_true(lease_int(fx->b, "job.now", "until_us") >= clock_now_us() + 179 * S);
	assert_int_equal(db_lease_claim(fx->b, "job.now", 60), 1);   /* the same node, another connection */
	/* another node's lease that has not run out is left alone */
	assert_int_equal(db_lease_claim_as(fx->b, "job.other", "node-z", clock_now_us(), 3600 * S), 1);
	assert_int_equal(db_lease_claim(fx->a, "job.other", 60), 0);
	expect_holder(fx->a, "job.other", "node-z");
	assert_int_equal(db_lease_claim(fx->a, "job.other", 0), -EINVAL);
}

struct racer {
	const char *path, *holder;
	int wins[RACE_JOBS];
	int errors;
	pthread_barrier_t *go;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char err[256], name[32];
	struct db *db = db_open(r->path, err, sizeof(err));

	pthread_barrier_wait(r->go);
	for (int i = 0; db && i < RACE_JOBS; i++) {
		int c;

		str_printf(name, sizeof(name), "race.%d", i);
		c = db_lease_claim_as(db, name, r->holder, 1700000000 * S, 60 * S);
		if (c < 0)
			r->errors++;
		else
			r->wins[i] = c;
	}
	if (!db)
		r->errors++;
	db_close(db);
	return NULL;
}

/* two nodes claim the same fresh jobs at the same moment: each job has one winner */
static void test_race(void **state)
{
	struct fixture *fx = *state;
	pthread_barrier_t go;
	struct racer r[2] = { { .path = fx->path, .holder = "node-a", .go = &go },
			      { .path = fx->path, .holder = "node-b", .go = &go } };
	pthread_t th[2];
	int won[2] = { 0, 0 };

	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	assert_int_equal(r[0].errors + r[1].errors, 0);
	for (int i = 0; i < RACE_JOBS; i++) {
		char name[32];

		assert_int_equal(r[0].wins[i] + r[1].wins[i], 1);
		str_printf(name, sizeof(name), "race.%d", i);
		expect_holder(fx->a, name, r[0].wins[i] ? "node-a" : "node-b");
		won[r[0].wins[i] ? 0 : 1]++;
	}
	print_message("race: node-a won %d, node-b %d of %d jobs\n", won[0], won[1], RACE_JOBS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exclusive_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
