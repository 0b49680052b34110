/*
 * The PostgreSQL backend's statement savepoints (src/store/db_pg.c), on a database of the
 * harness's cluster through the db interface itself: a write that fails inside a transaction
 * is undone alone and the transaction goes on (as on SQLite), whatever came before it in the
 * transaction — a first write, a write after successful ones, after failed ones, after a
 * SELECT, many in a row. Each write is sent with its savepoint in one pipeline and leaves the
 * savepoint open until the next write or the commit (docs/scale-out.md "Benchmarks"), so
 * these are the orders in which an open savepoint meets the next statement.
 *
 * Runs on PostgreSQL in both ctest passes (it starts the cluster itself), so it is not
 * repeated as integration-pg/test_pg_store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "store/db.h"

#define MANY 300   /* writes in one transaction, every seventh a conflict */

static const char ins[] = "INSERT INTO t (id, v) VALUES ($1, $2)";

static int setup(void **state)
{
	char url[512], err[256];
	struct db *db;

	if (it_pg_new_database(url, sizeof(url)) < 0)
		return -1;
	db = db_open(url, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = db;
	return db_exec(db, "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT NOT NULL)", NULL) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	db_close(*state);
	return 0;
}

static int64_t count(struct db *db, const char *where)
{
	char sql[128];
	struct db_stmt *st;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE %s", where);
	st = db_query(db, sql, NULL);
	if (db_step(st) == 1)
		n = db_int(st, 0);
	db_done(st);
	return n;
}

static void wipe(struct db *db)
{
	assert_int_equal(db_exec(db, "DELETE FROM t", NULL), 0);
}

/* ok, conflict, ok, ok: the conflict is undone alone, both sides of it are committed */
static void test_conflict_between_writes(void **state)
{
	struct db *db = *state;

	wipe(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)1, "a"), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)1, "again"), -EEXIST);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)2, "b"), 0);
	assert_int_equal(db_exec(db, "UPDATE t SET v = $1 WHERE id <= $2", "ti", "c", (int64_t)2), 0);
	assert_int_equal(db_changes(db), 2);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count(db, "v = 'c'"), 2);
	assert_int_equal(count(db, "true"), 2);
}

/* the first write of a transaction fails (no savepoint before it), the next ones go on */
static void test_conflict_first(void **state)
{
	struct db *db = *state;

	wipe(db);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)5, "old"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)5, "new"), -EEXIST);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)5, "newer"), -EEXIST);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)6, "x"), 0);
	assert_int_equal(count(db, "true"), 2);   /* a SELECT between, inside the savepoint */
	assert_int_equal(db_exec(db, ins, "it", (int64_t)7, "y"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count(db, "v = 'old'"), 1);
	assert_int_equal(count(db, "true"), 3);
}

/* a rollback after successful writes (their savepoints released or still open) undoes all */
static void test_rollback_undoes_all(void **state)
{
	struct db *db = *state;

	wipe(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)1, "a"), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)2, "b"), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)2, "b"), -EEXIST);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)3, "c"), 0);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(count(db, "true"), 0);
	/* the connection is usable for the next transaction */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)4, "d"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count(db, "true"), 1);
}

/* many writes in one transaction, conflicts among them: exactly the others are committed */
static void test_many(void **state)
{
	struct db *db = *state;
	int64_t want = 0;

	wipe(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_lock_tenant(db, 1), 0);
	for (int64_t i = 1; i <= MANY; i++) {
		if (i % 7 == 0) {
			assert_int_equal(db_exec(db, ins, "it", i - 1, "dup"), -EEXIST);
		} else {
			assert_int_equal(db_exec(db, ins, "it", i, "v"), 0);
			want++;
		}
	}
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(count(db, "true"), want);
	assert_int_equal(count(db, "v = 'dup'"), 0);
}

/* a statement error that is not a conflict inside a transaction: reported, the commit fails
 * and nothing of the transaction stays */
static void test_aborted_transaction(void **state)
{
	struct db *db = *state;

	wipe(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, ins, "it", (int64_t)1, "a"), 0);
	assert_true(db_exec(db, "SELECT 1 / (id - id) FROM t", NULL) < 0);   /* aborts the transaction */
	assert_true(db_exec(db, ins, "it", (int64_t)2, "b") < 0);
	assert_true(db_commit(db) < 0);
	assert_false(db_in_transaction(db));
	assert_int_equal(count(db, "true"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conflict_between_writes),
		cmocka_unit_test(test_conflict_first),
		cmocka_unit_test(test_rollback_undoes_all),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_aborted_transaction),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
