/*
 * The end of a contract (lifecycle/): the day arithmetic in the tenant's zone (the end of a
 * day in Asia/Tokyo is 15:00 UTC, the day-1 rules of the catalog), the reminders due at
 * 14/7/1 days, the erasure's table list against the schema (every table with a tenant_id
 * is erased or kept on purpose), and the certificate: signed, verified, and a changed byte,
 * another key or a missing member named as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/lifecycle_int.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define DAY_US (24LL * 3600 * 1000000)

extern const char *const erasure_tables[];
extern const char *const erasure_kept_tables[];

static int64_t utc(const char *rfc3339)
{
	int64_t us = 0;

	assert_int_equal(clock_parse_rfc3339(rfc3339, &us), 0);
	return us;
}

static void test_day_in_tokyo(void **state)
{
	int64_t us;
	char d[11];

	(void)state;
	/* the end of 2026-12-31 in Tokyo is 2026-12-31T15:00:00Z (midnight JST) */
	assert_int_equal(clock_day_start("2026-12-31", 1, "Asia/Tokyo", &us), 0);
	assert_int_equal(us, utc("2026-12-31T15:00:00Z"));
	assert_int_equal(clock_day_start("2026-12-31", 0, "UTC", &us), 0);
	assert_int_equal(us, utc("2026-12-31T00:00:00Z"));
	/* one second before and after midnight JST fall on two days there, one day in UTC */
	assert_int_equal(clock_zone_date(utc("2026-12-31T14:59:59Z"), "Asia/Tokyo", d), 0);
	assert_string_equal(d, "2026-12-31");
	assert_int_equal(clock_zone_date(utc("2026-12-31T15:00:00Z"), "Asia/Tokyo", d), 0);
	assert_string_equal(d, "2027-01-01");
	/* a DST zone: the local midnight moves with the offset */
	assert_int_equal(clock_day_start("2026-03-08", 1, "America/New_York", &us), 0);
	assert_int_equal(us, utc("2026-03-09T04:00:00Z"));
	assert_int_equal(clock_day_start("2026-13-01", 0, "UTC", &us), -EINVAL);
	assert_int_equal(clock_day_start("2026-12-31T00:00:00Z", 0, "UTC", &us), -EINVAL);
}

static void test_deadlines(void **state)
{
	struct lifecycle_times t;
	struct catalog_effective e;
	const char *mail[] = { "MAIL" }, *docx[] = { "DOCX" }, *both[] = { "MAIL", "DOCX" }, *ztna[] = { "ZTNA" };

	(void)state;
	catalog_install(NULL);
	/* MAIL: 30 days, day 1 = the day after: the deadline is the end of the 30th day after */
	assert_int_equal(catalog_effective(mail, 1, &e), 0);
	assert_int_equal(lifecycle_times("Asia/Tokyo", "2026-12-31", &e, 7, &t), 0);
	assert_int_equal(t.ends_us, utc("2027-01-01T00:00:00+09:00"));
	assert_int_equal(t.deadline_us, utc("2027-01-31T00:00:00+09:00"));   /* the end of 2027-01-30 */
	assert_int_equal(t.erase_after_us, utc("2027-01-08T00:00:00+09:00"));
	/* DOCX: day 1 = the termination day: a day earlier */
	assert_int_equal(catalog_effective(docx, 1, &e), 0);
	assert_int_equal(lifecycle_times("Asia/Tokyo", "2026-12-31", &e, 7, &t), 0);
	assert_int_equal(t.deadline_us, utc("2027-01-30T00:00:00+09:00"));
	/* both: the shorter */
	assert_int_equal(catalog_effective(both, 2, &e), 0);
	assert_int_equal(lifecycle_times("Asia/Tokyo", "2026-12-31", &e, 7, &t), 0);
	assert_int_equal(t.deadline_us, utc("2027-01-30T00:00:00+09:00"));
	/* ZTNA: 90 days from the day after */
	assert_int_equal(catalog_effective(ztna, 1, &e), 0);
	assert_int_equal(lifecycle_times("Asia/Tokyo", "2026-12-31", &e, 7, &t), 0);
	assert_int_equal(t.deadline_us, utc("2027-04-01T00:00:00+09:00"));   /* the end of 2027-03-31, the 90th day after */
	/* a grace period as long as the deadline gives way: the erasure starts a day before */
	assert_int_equal(catalog_effective(docx, 1, &e), 0);
	assert_int_equal(lifecycle_times("Asia/Tokyo", "2026-12-31", &e, 90, &t), 0);
	assert_int_equal(t.erase_after_us, t.deadline_us - LIFECYCLE_ALERT_MARGIN_US);
}

static void test_reminders(void **state)
{
	int64_t ends = utc("2027-01-01T00:00:00+09:00"), days = 0;

	(void)state;
	/* 20 days before: none */
	assert_int_equal(lifecycle_reminders_due(1, ends, ends - 20 * DAY_US, &days), 0);
	assert_int_equal(days, 0);
	/* 14 days before: the 14-day one */
	assert_int_equal(lifecycle_reminders_due(1, ends, ends - 14 * DAY_US, &days), 2);
	assert_int_equal(days, 14);
	/* sent; 10 days before: nothing new */
	assert_int_equal(lifecycle_reminders_due(3, ends, ends - 10 * DAY_US, &days), 0);
	/* 7 and 1 */
	assert_int_equal(lifecycle_reminders_due(3, ends, ends - 7 * DAY_US + 1, &days), 4);
	assert_int_equal(days, 7);
	assert_int_equal(lifecycle_reminders_due(7, ends, ends - DAY_US, &days), 8);
	assert_int_equal(days, 1);
	/* the server was down for the 14 and 7 day ones: only the nearest is sent (both marked) */
	assert_int_equal(lifecycle_reminders_due(1, ends, ends - 3 * DAY_US, &days), 6);
	assert_int_equal(days, 7);
	/* after the end: none */
	assert_int_equal(lifecycle_reminders_due(1, ends, ends, &days), 0);
}

/* Every table of the schema with a tenant_id column is erased or kept on purpose. */
static void test_erasure_covers_schema(void **state)
{
	char dir[] = "/tmp/kura-unit-lifecycle-XXXXXX", path[128], err[256];
	struct db *db;
	struct db_stmt *st;
	int checked = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kura.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	st = db_query(db, "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS"
			  " (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name IN ('tenant_id', 'tenant'))", NULL);
	while (db_step(st) > 0) {
		const char *name = db_text(st, 0);
		bool found = false;

		for (size_t i = 0; erasure_tables[i]; i++)
			found |= !strcmp(erasure_tables[i], name);
		for (size_t i = 0; erasure_kept_tables[i]; i++)
			found |= !strcmp(erasure_kept_tables[i], name);
		if (!found)
			print_error("table %s has tenant data and is in neither list of lifecycle/erasure.c\n", name);
		assert_true(found);
		checked++;
	}
	db_done(st);
	assert_true(checked > 30);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static json_t *body(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:i}, s:[s], s:[], s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:[{s:s, s:i}],"
			 " s:{s:i}, s:{s:i, s:s}, s:{s:i, s:i}, s:{s:s}, s:s}",
			 "format", "kura-erasure-certificate/1", "tenant", "code", "alpha", "name", "アルファ", "id", 1,
			 "services", "DOCX", "options", "termination_date", "2026-12-31",
			 "contract_ended_at", "2027-01-01T00:00:00+09:00", "erasure_deadline", "2027-01-30T00:00:00+09:00",
			 "erasure_started_at", "2027-01-08T00:00:10+09:00", "erasure_completed_at",
			 "2027-01-08T00:00:12+09:00", "method", "technique", "cryptographic erase, then deletion",
			 "keys_destroyed", "key_id", "ab", "version", 1, "counts", "files", 3, "audit_chain_head",
			 "seq", 10, "hash", "00", "verification", "sampled", 2, "unreadable", 2, "performed_by", "system",
			 "x", "authorized_by", "root");
}

static void test_certificate(void **state)
{
	unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
	json_t *b = body(), *problems = NULL;
	char *cert = NULL, *html;
	size_t n;

	(void)state;
	assert_int_equal(crypto_init(), 0);
	crypto_sign_ed25519_keypair(pk, sk);
	crypto_sign_ed25519_keypair(other_pk, other_sk);
	assert_int_equal(audit_set_signing_key(sk), 0);
	assert_int_equal(certificate_sign(b, &cert), 0);
	n = strlen(cert);
	assert_int_equal(certificate_verify(cert, n, pk, &problems), 0);
	assert_int_equal(json_array_size(problems), 0);
	json_decref(problems);
	/* another key */
	assert_int_equal(certificate_verify(cert, n, other_pk, &problems), -EBADMSG);
	assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "another signing key"));
	json_decref(problems);
	/* every single changed byte fails */
	for (size_t i = 0; i < n; i++) {
		char saved = cert[i];

		cert[i] = (char)(saved == 'x' ? 'y' : saved ^ 1);
		assert_int_equal(certificate_verify(cert, n, pk, &problems), -EBADMSG);
		assert_true(json_array_size(problems) > 0);
		json_decref(problems);
		cert[i] = saved;
	}
	/* the content changed and re-written canonically: the signature names it */
	{
		json_t *f = json_loads(cert, 0, NULL);
		char *t;

		json_object_set_new(json_object_get(json_object_get(f, "certificate"), "counts"), "files", json_integer(2));
		t = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		assert_non_null(t);
		{
			size_t len = strlen(t);
			char *t2 = malloc(len + 2);

			memcpy(t2, t, len);
			t2[len] = '\n';
			t2[len + 1] = '\0';
			assert_int_equal(certificate_verify(t2, len + 1, pk, &problems), -EBADMSG);
			assert_int_equal(json_array_size(problems), 1);
			assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "signature does not match"));
			json_decref(problems);
			free(t2);
		}
		free(t);
		json_decref(f);
	}
	/* an unsigned member beside the signed two, written canonically: refused by name */
	{
		json_t *f = json_loads(cert, 0, NULL);
		char *t, *t2;
		size_t len;

		json_object_set_new(f, "note", json_string("erased on request"));
		t = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		assert_non_null(t);
		len = strlen(t);
		t2 = malloc(len + 2);
		memcpy(t2, t, len);
		t2[len] = '\n';
		t2[len + 1] = '\0';
		assert_int_equal(certificate_verify(t2, len + 1, pk, &problems), -EBADMSG);
		assert_int_equal(json_array_size(problems), 1);
		assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "not signed"));
		json_decref(problems);
		free(t2);
		free(t);
		json_decref(f);
	}
	html = certificate_html(cert);
	assert_non_null(html);
	assert_non_null(strstr(html, "消去証明書"));
	assert_non_null(strstr(html, "Erasure certificate"));
	assert_non_null(strstr(html, "alpha"));
	free(html);
	free(cert);
	json_decref(b);
	(void)audit_set_signing_key(NULL);
}

/* Security review: the erasure's verification tells a sampled file whose key is destroyed
 * (unreadable) from one whose record is gone (missing) and one refused for another reason
 * (its key still there); the certificate says what happened to the WAL (here a reader holds
 * it, so it is not truncated) instead of "truncated" always; kura erasure verify accepts the
 * counts and names each shortfall as a note. The erasure resumes at its verify phase. */
static void test_erasure_outcomes(void **state)
{
	char dir[] = "/tmp/kura-unit-erasure-XXXXXX", path[128], err[256], *info;
	unsigned char pk[32], sk[64];
	int64_t tid = 0, root = 0, gone = 0, kept = 0, now = clock_now_us();
	json_t *file, *c, *ver, *problems = NULL, *notes;
	struct db_stmt *st;
	struct db *db;
	sqlite3 *reader = NULL;
	char *cert;

	(void)state;
	assert_int_equal(crypto_init(), 0);
	crypto_sign_ed25519_keypair(pk, sk);
	assert_int_equal(audit_set_signing_key(sk), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kura.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	assert_int_equal(db_insert(db, &tid, "INSERT INTO tenants (code, name, created_us, updated_us)"
					     " VALUES ('alpha', 'alpha', 0, 0) RETURNING id", ""), 0);
	/* key version 1 destroyed (no row), version 2 still there */
	assert_int_equal(db_exec(db, "INSERT INTO tenant_keys (tenant_id, version, alg, wrapped, created_us)"
				 " VALUES ($1, 2, 'xchacha20poly1305', $2, 0)", "ib", tid, "k", (size_t)1), 0);
	assert_int_equal(db_insert(db, &root, "INSERT INTO file_nodes (tenant_id, kind, name, created_us, modified_us)"
					      " VALUES ($1, 'folder', '', 0, 0) RETURNING id", "i", tid), 0);
	assert_int_equal(db_insert(db, &gone, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, blob_id,"
					      " key_version, created_us, modified_us) VALUES ($1, $2, 'file', 'a.txt', 'b1',"
					      " 1, 0, 0) RETURNING id", "ii", tid, root), 0);
	assert_int_equal(db_insert(db, &kept, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, blob_id,"
					      " key_version, created_us, modified_us) VALUES ($1, $2, 'file', 'c.txt', 'b3',"
					      " 2, 0, 0) RETURNING id", "ii", tid, root), 0);
	assert_int_equal(asprintf(&info, "{\"services\":[\"DOCX\"],\"options\":[],\"counts\":{\"files\":3},"
				  "\"audit_head\":{\"seq\":0,\"hash\":\"00\"},\"keys\":[{\"key_id\":\"ab\",\"version\":1}],"
				  "\"managers\":[],\"sample\":[%lld,%lld,%lld]}", (long long)gone,
				  (long long)(kept + 1000), (long long)kept) > 0, true);
	assert_int_equal(db_exec(db, "INSERT INTO tenant_terminations (tenant_id, end_day, ends_us, erase_after_us,"
				 " deadline_us, state, phase, scheduled_by, scheduled_us, started_us, info) VALUES ($1,"
				 " '2026-12-31', $2, $3, $4, 'erasing', 'verify', 'root', 0, $3, $5)", "iiiit", tid,
				 now - 10 * DAY_US, now - DAY_US, now + 30 * DAY_US, info), 0);
	free(info);
	/* a reader holds the WAL (a snapshot that reads from it) through the whole run */
	assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM tenants;", NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(erasure_run(NULL, db, tid), 0);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);

	st = db_query(db, "SELECT certificate, state FROM tenant_terminations WHERE tenant_id = $1", "i", tid);
	assert_int_equal(db_step(st), 1);
	assert_string_equal(db_text(st, 1), "erased");
	cert = strdup(db_text(st, 0));
	db_done(st);
	file = json_loads(cert, 0, NULL);
	c = json_object_get(file, "certificate");
	ver = json_object_get(c, "verification");
	assert_int_equal(json_integer_value(json_object_get(ver, "sampled")), 3);
	assert_int_equal(json_integer_value(json_object_get(ver, "unreadable")), 1);
	assert_int_equal(json_integer_value(json_object_get(ver, "missing")), 1);
	assert_int_equal(json_integer_value(json_object_get(ver, "other")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ver, "results"), 0),
							      "outcome")), "unreadable");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ver, "results"), 1),
							      "outcome")), "missing");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ver, "results"), 2),
							      "outcome")), "other");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "wal"), "before_certificate")),
			    "not truncated (a reader held it)");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "wal"), "after_keys_destroyed")),
			    "not recorded");
	assert_null(strstr(json_string_value(json_object_get(json_object_get(c, "method"), "crypto_erase")),
			   "WAL truncated"));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(c, "method"), "crypto_erase")),
			       "a reader held it"));
	json_decref(file);
	/* it verifies, and says what was short */
	assert_int_equal(certificate_verify(cert, strlen(cert), pk, &problems), 0);
	json_decref(problems);
	notes = certificate_notes(cert, strlen(cert));
	assert_int_equal(json_array_size(notes), 3);
	assert_non_null(strstr(json_string_value(json_array_get(notes, 0)), "1 of 3 sampled files were missing"));
	assert_non_null(strstr(json_string_value(json_array_get(notes, 1)), "another reason"));
	assert_non_null(strstr(json_string_value(json_array_get(notes, 2)), "a reader held it"));
	json_decref(notes);
	free(cert);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* Counts that do not add up to the files sampled are named (a readable one never gets a
 * certificate); unreadable, missing and other together do. */
static void test_certificate_counts(void **state)
{
	unsigned char pk[32], sk[64];
	json_t *b, *problems = NULL;
	char *cert = NULL;

	(void)state;
	crypto_sign_ed25519_keypair(pk, sk);
	assert_int_equal(audit_set_signing_key(sk), 0);
	b = body();
	json_object_set_new(b, "verification", json_pack("{s:i, s:i, s:i, s:i}", "sampled", 3, "unreadable", 1,
							 "missing", 1, "other", 1));
	assert_int_equal(certificate_sign(b, &cert), 0);
	assert_int_equal(certificate_verify(cert, strlen(cert), pk, &problems), 0);
	json_decref(problems);
	free(cert);
	json_object_set_new(b, "verification", json_pack("{s:i, s:i, s:i}", "sampled", 3, "unreadable", 1, "missing", 1));
	assert_int_equal(certificate_sign(b, &cert), 0);
	assert_int_equal(certificate_verify(cert, strlen(cert), pk, &problems), -EBADMSG);
	assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "do not add up"));
	json_decref(problems);
	free(cert);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_in_tokyo),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_reminders),
		cmocka_unit_test(test_erasure_covers_schema),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_certificate_counts),
		cmocka_unit_test(test_erasure_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
