/*
 * Integration test: kura doctor --data DIR (issue 13, docs/operations.md "Doctor") on a data
 * directory made by kura init: no serious finding and exit 0; then each of a world-readable
 * master key, a group-readable TLS key, an open data directory and a missing signing key is
 * a serious finding that names the file, with exit 1; put right, exit 0 again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Runs kura doctor --json; its exit status, and the findings of severity sev (a new array) */
static int doctor(const char *dir, const char *sev, json_t **ret_found)
{
	const char *argv[] = { KURA_BIN, "doctor", "--data", dir, "--json", NULL };
	char *out = NULL, *err = NULL;
	int status = it_run(argv, 60, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL), *f, *found = json_array();
	size_t i;

	if (!j)
		fprintf(stderr, "kura doctor: not JSON:\n%s\n%s\n", out ? out : "", err ? err : "");
	assert_non_null(j);
	json_array_foreach(json_object_get(j, "findings"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "severity")), sev))
			json_array_append(found, f);
	json_decref(j);
	free(out);
	free(err);
	*ret_found = found;
	return status;
}

/* exit 1 and a serious finding of check whose message names needle */
static void expect_serious(const char *dir, const char *check, const char *needle)
{
	json_t *found = NULL, *f;
	bool hit = false;
	size_t i;

	assert_int_equal(doctor(dir, "serious", &found), 1);
	json_array_foreach(found, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "check")), check) &&
		    strstr(json_string_value(json_object_get(f, "message")), needle)) {
			print_message("serious: %s\n", json_string_value(json_object_get(f, "message")));
			hit = true;
		}
	assert_true(hit);
	json_decref(found);
}

static void expect_clean(const char *dir)
{
	json_t *found = NULL;
	int status = doctor(dir, "serious", &found);

	if (json_array_size(found))
		fprintf(stderr, "unexpected: %s\n", json_dumps(found, 0));
	assert_int_equal(json_array_size(found), 0);
	assert_int_equal(status, 0);
	json_decref(found);
}

static void doctor_findings(void **state)
{
	char root[IT_STR], dir[IT_STR + 8], path[IT_STR + 32];
	const char *init[] = { KURA_BIN, "init", "--data", dir, NULL };
	json_t *info = NULL, *f;
	bool backups = false;
	size_t i;

	(void)state;
	assert_int_equal(it_mkdtemp(root, sizeof(root)), 0);
	snprintf(dir, sizeof(dir), "%s/data", root);
	assert_int_equal(it_run(init, 120, NULL, NULL), 0);
	expect_clean(dir);
	/* what is not built yet says so */
	assert_int_equal(doctor(dir, "info", &info), 0);
	json_array_foreach(info, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "check")), "backups") &&
		    strstr(json_string_value(json_object_get(f, "message")), "not checked"))
			backups = true;
	assert_true(backups);
	json_decref(info);
	/* the erasure deadlines are read from the database: none here, none overdue */
	{
		bool erasure = false;

		assert_int_equal(doctor(dir, "ok", &info), 0);
		json_array_foreach(info, i, f)
			if (!strcmp(json_string_value(json_object_get(f, "check")), "erasure") &&
			    strstr(json_string_value(json_object_get(f, "message")), "no erasure is overdue"))
				erasure = true;
		assert_true(erasure);
		json_decref(info);
	}

	snprintf(path, sizeof(path), "%s/master.key", dir);
	assert_int_equal(chmod(path, 0644), 0);
	expect_serious(dir, "file-modes", "master.key");
	assert_int_equal(chmod(path, 0600), 0);
	expect_clean(dir);

	snprintf(path, sizeof(path), "%s/tls/key.pem", dir);
	assert_int_equal(chmod(path, 0640), 0);
	expect_serious(dir, "file-modes", "key.pem");
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(chmod(dir, 0755), 0);
	expect_serious(dir, "file-modes", "data directory");
	assert_int_equal(chmod(dir, 0700), 0);

	snprintf(path, sizeof(path), "%s/signing.key", dir);
	{
		char moved[IT_STR + 32];

		snprintf(moved, sizeof(moved), "%s/signing.key.away", root);
		assert_int_equal(rename(path, moved), 0);
		expect_serious(dir, "keys", "signing.key");
		assert_int_equal(rename(moved, path), 0);
	}
	expect_clean(dir);
	assert_int_equal(it_rmtree(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doctor_findings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
