/*
 * Unit tests of src/reports (issue 9): the text rule of reports and notices, the bounds, the
 * state rules (a closed report takes nothing more), the first reading of a notice, tenancy
 * (another tenant's ids are -ENOENT), and that every check-then-act transaction takes its
 * tenant's lock first (a provider-side change the provider chain's first: ascending order).
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
#include "core/limits.h"
#include "core/clock.h"
#include "reports/reports.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"
#include "lock_watch.h"

static struct {
	char dir[64], dbpath[96];
	struct db *db;
	struct tenant a, b;
} fx;

static const struct actor mgr = { .type = ACTOR_ACCOUNT, .name = "amgr", .source_ip = "", .user_agent = "" };
static const struct actor op = { .type = ACTOR_OPERATOR, .name = "root(uid 0)", .source_ip = "", .user_agent = "" };

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void add_tenant(const char *code, struct tenant *t)
{
	int64_t id = 0;

	assert_int_equal(db_insert(fx.db, &id, "INSERT INTO tenants (code, name, created_us, updated_us)"
					       " VALUES ($1, $1, 0, 0) RETURNING id", "t", code), 0);
	assert_int_equal(tenant_get(fx.db, id, t), 0);
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	str_copy(fx.dir, sizeof(fx.dir), "/tmp/kura-test-reports-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	str_printf(fx.dbpath, sizeof(fx.dbpath), "%s/kura.db", fx.dir);
	fx.db = db_open(fx.dbpath, err, sizeof(err));
	if (!fx.db || db_migrate(fx.db) < 0)
		return -1;
	add_tenant("alpha", &fx.a);
	add_tenant("bravo", &fx.b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx.db = db_close(fx.db);
	nftw(fx.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_text_rule(void **state)
{
	(void)state;
	assert_true(report_text_valid("Login fails", 200, true));
	assert_true(report_text_valid("二行\nの本文\tタブ", 200, false));
	assert_false(report_text_valid("two\nlines", 200, true));
	assert_false(report_text_valid("cr\r\nlf", 200, false));
	assert_false(report_text_valid("", 200, false));
	assert_false(report_text_valid("bell\a", 200, false));
	assert_false(report_text_valid("c1\xc2\x85", 200, false));
	assert_false(report_text_valid("rlo\xe2\x80\xae", 200, false));
	assert_false(report_text_valid("bad\xff", 200, false));
	assert_true(report_text_valid("あいう", 3, true));     /* code points, not bytes */
	assert_false(report_text_valid("あいうえ", 3, true));
}

static void test_thread_rules_and_locks(void **state)
{
	struct report_new n = { .kind = "report", .category = "failure", .title = "Down", .description = "It is down." };
	struct lock_watch w;
	int64_t id = 0, other = 0;
	json_t *j = NULL;

	(void)state;
	n.category = "gossip";
	assert_int_equal(reports_create(fx.db, &mgr, &fx.a, &n, NULL, &id), -EINVAL);
	n.category = "failure";
	lock_watch_start(&w, fx.db, fx.a.id);
	assert_int_equal(reports_create(fx.db, &mgr, &fx.a, &n, NULL, &id), 0);
	assert_locked_first(&w);
	lock_watch_start(&w, fx.db, fx.a.id);
	assert_int_equal(reports_message(fx.db, &mgr, &fx.a, id, REPORT_SIDE_TENANT, "more", NULL, NULL), 0);
	assert_locked_first(&w);
	/* the provider's side: its chain's lock first (ascending order), then the tenant's */
	lock_watch_start(&w, fx.db, 0);
	assert_int_equal(reports_message(fx.db, &op, &fx.a, id, REPORT_SIDE_PROVIDER, "answer", NULL, NULL), 0);
	assert_locked_first(&w);
	assert_int_equal(reports_get(fx.db, fx.a.id, id, &j), 0);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 3);
	json_decref(j);
	/* another tenant's id is not found */
	assert_int_equal(reports_get(fx.db, fx.b.id, id, &j), -ENOENT);
	assert_int_equal(reports_message(fx.db, &mgr, &fx.b, id, REPORT_SIDE_TENANT, "x", NULL, NULL), -ENOENT);
	assert_int_equal(reports_close(fx.db, &mgr, &fx.b, id, REPORT_SIDE_TENANT, NULL), -ENOENT);
	/* a plain report is not a records request */
	assert_int_equal(reports_answer_records(fx.db, &op, &fx.a, id, NULL, &other), -EPERM);
	lock_watch_start(&w, fx.db, 0);
	assert_int_equal(reports_close(fx.db, &op, &fx.a, id, REPORT_SIDE_PROVIDER, NULL), 0);
	assert_locked_first(&w);
	assert_int_equal(reports_close(fx.db, &mgr, &fx.a, id, REPORT_SIDE_TENANT, NULL), -EPERM);
	assert_int_equal(reports_message(fx.db, &mgr, &fx.a, id, REPORT_SIDE_TENANT, "late", NULL, NULL), -EPERM);
	/* records requests need a range */
	n.kind = "records-request";
	n.category = "other";
	assert_int_equal(reports_create(fx.db, &mgr, &fx.a, &n, NULL, &other), -EINVAL);
	n.from_us = 2000;
	n.to_us = 1000;
	assert_int_equal(reports_create(fx.db, &mgr, &fx.a, &n, NULL, &other), -EINVAL);
}

static void test_open_reports_bounded(void **state)
{
	const struct report_new n = { .kind = "report", .category = "question", .title = "Q", .description = "q" };
	int64_t id = 0;
	json_t *list = NULL;

	struct actor who = mgr;

	(void)state;
	/* several managers: one account may open KURA_RATE_REPORTS an hour */
	for (int i = 0; i < KURA_REPORT_OPEN_MAX; i++) {
		who.account_id = 1000 + i / KURA_RATE_REPORTS;
		assert_int_equal(reports_create(fx.db, &who, &fx.b, &n, NULL, &id), 0);
	}
	who.account_id = 5000;
	assert_int_equal(reports_create(fx.db, &who, &fx.b, &n, NULL, &id), -EDQUOT);
	assert_int_equal(reports_list(fx.db, fx.b.id, true, &list), 0);
	assert_int_equal(json_array_size(list), KURA_REPORT_OPEN_MAX);
	json_decref(list);
}

/* tenant/rate.c: the count is the database's, per (tenant, kind, subject); a full window
 * refuses with the wait until its oldest event leaves; events older than the window neither
 * count nor stay. */
static void test_rate_events(void **state)
{
	const struct report_new n = { .kind = "report", .category = "question", .title = "R", .description = "r" };
	struct actor who = mgr;
	char subject[RATE_SUBJECT_MAX];
	int64_t id = 0, retry = -1, before = 0, after = 0;
	struct db_stmt *st;

	(void)state;
	who.account_id = 77;
	rate_subject_account(subject, who.account_id);
	assert_string_equal(subject, "account:77");
	/* an event of two hours ago: removed as the next one is counted */
	assert_int_equal(db_exec(fx.db, "INSERT INTO rate_events (tenant_id, kind, subject, at_us) VALUES ($1,"
				 " 'report.create', $2, $3)", "iti", fx.a.id, subject,
				 clock_now_us() - 2 * 3600 * 1000000LL), 0);
	for (int i = 0; i < KURA_RATE_REPORTS; i++)
		assert_int_equal(reports_create(fx.db, &who, &fx.a, &n, NULL, &id), 0);
	st = db_query(fx.db, "SELECT count(*) FROM rate_events WHERE tenant_id = $1 AND subject = $2", "it", fx.a.id,
		      subject);
	assert_int_equal(db_step(st), 1);
	assert_int_equal(db_int(st, 0), KURA_RATE_REPORTS);
	db_done(st);
	assert_int_equal(rate_retry_after(fx.db, fx.a.id, RATE_REPORT, subject, &retry), 0);
	assert_true(retry >= 1 && retry <= KURA_RATE_REPORTS_S);
	st = db_query(fx.db, "SELECT count(*) FROM reports WHERE tenant_id = $1", "i", fx.a.id);
	assert_int_equal(db_step(st), 1);
	before = db_int(st, 0);
	db_done(st);
	assert_int_equal(reports_create(fx.db, &who, &fx.a, &n, NULL, &id), -EAGAIN);
	st = db_query(fx.db, "SELECT count(*) FROM reports WHERE tenant_id = $1", "i", fx.a.id);
	assert_int_equal(db_step(st), 1);
	after = db_int(st, 0);
	db_done(st);
	assert_int_equal(after, before);
	/* another account, another tenant: their own counts */
	who.account_id = 78;
	assert_int_equal(reports_create(fx.db, &who, &fx.a, &n, NULL, &id), 0);
	rate_subject_account(subject, 78);
	assert_int_equal(rate_retry_after(fx.db, fx.a.id, RATE_REPORT, subject, &retry), 0);
	assert_int_equal(retry, 0);
	/* outside a transaction nothing is counted */
	assert_int_equal(rate_take(fx.db, fx.a.id, RATE_REPORT, subject), -EINVAL);
	rate_subject_address(subject, "Mixed.Case@Example.COM");
	assert_string_equal(subject, "address:mixed.case@example.com");
}

static void test_notice_first_reading(void **state)
{
	const char *const to[] = { "nobody" };
	bool first = false;
	int64_t id = 0, acct = 0;
	const char *unknown = NULL;
	json_t *j = NULL;

	(void)state;
	assert_int_equal(db_insert(fx.db, &acct, "INSERT INTO accounts (tenant_id, login, email, display_name, role,"
						 " status, password_hash, created_us, updated_us) VALUES ($1, 'auser',"
						 " 'u@example.com', '', 'user', 'active', '', 0, 0) RETURNING id",
				   "i", fx.a.id), 0);
	assert_int_equal(notices_create(fx.db, &mgr, fx.a.id, "T", "b", to, 1, &id, &unknown), -ENOENT);
	assert_string_equal(unknown, "nobody");
	assert_int_equal(notices_create(fx.db, &mgr, fx.a.id, "Title", "Body", NULL, 0, &id, &unknown), 0);
	assert_int_equal(notices_read(fx.db, &mgr, fx.a.id, acct, "auser", id, &first), 0);
	assert_true(first);
	assert_int_equal(notices_read(fx.db, &mgr, fx.a.id, acct, "auser", id, &first), 0);
	assert_false(first);
	assert_int_equal(notices_read(fx.db, &mgr, fx.b.id, acct, "auser", id, &first), -ENOENT);
	assert_int_equal(notices_reads(fx.db, fx.a.id, id, &j), 0);
	assert_int_equal(json_array_size(json_object_get(j, "reads")), 1);
	json_decref(j);
	assert_int_equal(notices_reads(fx.db, fx.b.id, id, &j), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_rule),
		cmocka_unit_test(test_thread_rules_and_locks),
		cmocka_unit_test(test_open_reports_bounded),
		cmocka_unit_test(test_rate_events),
		cmocka_unit_test(test_notice_first_reading),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
