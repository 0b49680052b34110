/*
 * Unit: operator access by approval (files/lockbox.c, C7). A support read is recorded only
 * while its grant is still active: the grant the support command checked may end (revoked
 * by a manager, or expired) before the read is recorded, and then nothing is read out.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "files/lockbox.h"
#include "store/db.h"
#include "tenant/tenant.h"

static struct {
	char dir[64], dbpath[96];
	struct db *db;
	struct tenant a;
} fx;

static const struct actor op = { .type = ACTOR_OPERATOR, .name = "root(uid 0)", .source_ip = "", .user_agent = "" };

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char err[256];
	int64_t id = 0;

	(void)state;
	str_copy(fx.dir, sizeof(fx.dir), "/tmp/kura-test-lockbox-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	str_printf(fx.dbpath, sizeof(fx.dbpath), "%s/kura.db", fx.dir);
	fx.db = db_open(fx.dbpath, err, sizeof(err));
	if (!fx.db || db_migrate(fx.db) < 0)
		return -1;
	if (db_insert(fx.db, &id, "INSERT INTO tenants (code, name, created_us, updated_us)"
				  " VALUES ('alpha', 'alpha', 0, 0) RETURNING id", NULL) < 0 ||
	    db_exec(fx.db, "INSERT INTO tenant_services (tenant_id, service) VALUES ($1, 'DOCX')", "i", id) < 0 ||
	    tenant_get(fx.db, id, &fx.a) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx.db = db_close(fx.db);
	nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int64_t reads_recorded(int64_t chain)
{
	struct db_stmt *st = db_query(fx.db, "SELECT COUNT(*) FROM audit_events WHERE COALESCE(tenant_id, 0) = $1"
				      " AND action = 'support.ls'", "i", chain);
	int64_t n = db_step(st) > 0 ? db_int(st, 0) : -1;

	db_done(st);
	return n;
}

static void test_read_after_revoke_is_refused(void **state)
{
	struct lockbox_request g, now;
	char why[32];

	(void)state;
	/* an emergency grant is active at once */
	assert_int_equal(lockbox_request(fx.db, &op, fx.a.id, "disk failure on node 3", "INC-42", "files:read", 1,
					 true, &g), 0);
	assert_int_equal(lockbox_check(fx.db, &op, fx.a.id, "files:read", &now, why, sizeof(why)), 0);
	assert_int_equal(now.id, g.id);
	/* the support command checked it; while it reads, the grant is revoked */
	assert_int_equal(lockbox_record_read(fx.db, &op, &now, "support.ls", "/", NULL), 0);
	assert_int_equal(reads_recorded(fx.a.id), 1);
	assert_int_equal(reads_recorded(0), 1);   /* the provider's chain has it too (F5) */
	assert_int_equal(lockbox_revoke(fx.db, &op, fx.a.id, g.id, &g), 0);
	assert_int_equal(lockbox_record_read(fx.db, &op, &now, "support.ls", "/", NULL), -EACCES);
	assert_int_equal(reads_recorded(fx.a.id), 1);   /* refused, nothing recorded as read */
	assert_int_equal(reads_recorded(0), 1);
	assert_false(db_in_transaction(fx.db));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_after_revoke_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
