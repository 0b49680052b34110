/*
 * Integration tests of the keys at start-up and of signing key rotation (issue 14,
 * docs/operations.md "Keys at start-up", docs/audit.md "Signing keys"), on a real
 * `kura serve`:
 *   - a wrong master key: the start is refused (exit 1, the message names master.key),
 *     also for a data directory from before the check value; the right key starts it;
 *   - a swapped signing key (both files from another deployment), a swapped signing.pub, and
 *     a swapped key in a data directory from before the key registry: each refused, naming
 *     the file; the right key starts it;
 *   - rotation with `kura admin audit rotate-signing-key`: the old checkpoints still verify
 *     with the old key, the new ones are signed by the new key, `kura audit verify` of an
 *     export spanning the rotation needs both keys, and the server starts again after it.
 * A data directory "from before" is made by editing kura.db itself (tamper_*, below): the
 * only test here that opens the database file, since no interface makes or shows that state.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

#define MGR_PW "Keys-manager-pass-1"
#define REFUSE_DEADLINE_S 60

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void data_file(struct it_server *s, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", s->data, name);
}

/* Copies src over s's data directory file name (mode). */
static void copy_in(struct it_server *s, const char *src, const char *name, mode_t mode)
{
	char dst[IT_STR + 64];
	size_t n = 0;
	char *text = it_read_file(src, &n);

	assert_non_null(text);
	data_file(s, name, dst, sizeof(dst));
	write_file(dst, text, n, mode);
	free(text);
}

static char *read_data(struct it_server *s, const char *name, size_t *ret_n)
{
	char path[IT_STR + 64];
	char *text;

	data_file(s, name, path, sizeof(path));
	text = it_read_file(path, ret_n);
	assert_non_null(text);
	return text;
}

/* Simulating an old data directory means editing kura.db: rows deleted, columns cleared.
 * tamper_exec does that, tamper_count reads back exactly those rows (whether start-up
 * adopted or repaired them). SQLite's C API with a busy timeout (the server may be running),
 * not the sqlite3 command. No other integration test queries the database (test_access and
 * test_outbox scan its raw bytes for secrets that must not be there). */
static sqlite3 *tamper_open(struct it_server *s)
{
	char db[IT_STR + 16];
	sqlite3 *h = NULL;

	snprintf(db, sizeof(db), "%s/kura.db", s->data);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	return h;
}

static void tamper_exec(struct it_server *s, const char *sql)
{
	sqlite3 *h = tamper_open(s);
	char *err = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
	sqlite3_close(h);
}

static long tamper_count(struct it_server *s, const char *sql)
{
	sqlite3 *h = tamper_open(s);
	sqlite3_stmt *st = NULL;
	long n;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* `kura serve` must refuse to start, with a message containing want. */
static void assert_refused(struct it_server *s, const char *want)
{
	char *out = NULL, *err = NULL;
	int status = it_serve_once(s, REFUSE_DEADLINE_S, &out, &err);

	if (status != 1 || !err || !strstr(err, want))
		fprintf(stderr, "kura serve exited %d (want 1)\nstderr: %s\nwanted: %s\n", status, err ? err : "", want);
	assert_int_equal(status, 1);
	assert_non_null(err);
	assert_non_null(strstr(err, want));
	free(out);
	free(err);
}

/* GET the tenant's JSONL export into root/name; returns its path (static buffer per call). */
static void export_to(struct it_server *s, const struct it_session *mgr, const char *name, char *path, size_t size)
{
	struct it_response *r = it_get(s, mgr, "/api/v1/audit/export?format=jsonl");

	IT_ASSERT_STATUS(r, 200);
	snprintf(path, size, "%s/%s", s->root, name);
	write_file(path, r->body, r->body_len, 0600);
	it_response_free(r);
}

/* kura audit verify FILE with the given --key arguments; the exit status, stdout in *out. */
static int verify(const char *file, const char *k1, const char *k2, char **out)
{
	const char *argv[] = { KURA_BIN, "audit", "verify", file, "--key", k1, k2 ? "--key" : NULL, k2, NULL };

	return it_run(argv, 60, out, NULL);
}

static void test_wrong_master_key(void **state)
{
	struct it_server *s = *state;
	char path[IT_STR + 64];
	unsigned char wrong[32];
	char *good;
	size_t n = 0;
	FILE *rnd;

	it_create_tenant(s, "alpha", NULL);
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM deployment_keys WHERE name = 'master.check'"), 1);
	assert_int_equal(it_server_halt(s), 0);
	good = read_data(s, "master.key", &n);
	assert_int_equal(n, 32);
	rnd = fopen("/dev/urandom", "re");
	assert_non_null(rnd);
	assert_int_equal(fread(wrong, 1, sizeof(wrong), rnd), sizeof(wrong));
	fclose(rnd);
	data_file(s, "master.key", path, sizeof(path));
	write_file(path, wrong, sizeof(wrong), 0600);
	assert_refused(s, "master.key is not the master key of this data directory");

	/* a data directory from before the check value: no tenant key opens with it */
	tamper_exec(s, "DELETE FROM deployment_keys");
	assert_refused(s, "master.key is not the master key of this data directory");
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM deployment_keys"), 0);   /* not adopted */

	/* the right key: the check value is derived again from the tenant key it opens */
	write_file(path, good, n, 0600);
	assert_int_equal(it_server_restart(s), 0);
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM deployment_keys WHERE name = 'master.check'"), 1);
	it_create_tenant(s, "bravo", NULL);
	free(good);
}

static void test_swapped_signing_key(void **state)
{
	struct it_server *s = *state;
	char other[IT_STR + 16], okey[IT_STR + 32], opub[IT_STR + 32], path[IT_STR + 64];
	const char *init[] = { KURA_BIN, "init", "--data", other, NULL };
	struct it_session mgr;
	char *key, *pub;
	size_t nk = 0, np = 0;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "amgr", MGR_PW, &mgr);
	export_to(s, &mgr, "before.jsonl", path, sizeof(path));    /* signs a checkpoint */
	key = it_read_file(path, &nk);
	assert_non_null(key);
	assert_non_null(strstr(key, "{\"type\":\"checkpoint\""));   /* there is one to tamper with */
	free(key);
	assert_int_equal(it_server_halt(s), 0);
	key = read_data(s, "signing.key", &nk);
	pub = read_data(s, "signing.pub", &np);
	snprintf(other, sizeof(other), "%s/other", s->root);
	assert_int_equal(it_run(init, 120, NULL, NULL), 0);
	snprintf(okey, sizeof(okey), "%s/signing.key", other);
	snprintf(opub, sizeof(opub), "%s/signing.pub", other);

	/* another deployment's key pair, both files */
	copy_in(s, okey, "signing.key", 0600);
	copy_in(s, opub, "signing.pub", 0644);
	assert_refused(s, "signing.key is not this deployment's signing key");

	/* the right secret key, another public key */
	data_file(s, "signing.key", path, sizeof(path));
	write_file(path, key, nk, 0600);
	assert_refused(s, "signing.pub does not hold the public half of");

	/* a data directory from before the key registry: the newest checkpoint tells */
	tamper_exec(s, "DELETE FROM audit_signing_keys; UPDATE audit_checkpoints SET public_key = NULL;"
		       " UPDATE audit_roots SET public_key = NULL");
	copy_in(s, okey, "signing.key", 0600);
	assert_refused(s, "signing.key did not sign the newest audit");
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM audit_signing_keys"), 0);   /* not adopted */

	/* the right pair: registered again, from that evidence */
	write_file(path, key, nk, 0600);
	data_file(s, "signing.pub", path, sizeof(path));
	write_file(path, pub, np, 0644);
	assert_int_equal(it_server_restart(s), 0);
	{
		json_t *j = NULL, *k;
		size_t i, current = 0;

		/* registered again, as the operator sees it: one current key, this one */
		assert_int_equal(it_admin(s, &j, "audit", "public-key", NULL), 0);
		json_array_foreach(json_object_get(j, "keys"), i, k)
			current += !strcmp(it_json_str(k, "state"), "current");
		assert_int_equal(current, 1);
		assert_memory_equal(it_json_str(j, "public_key"), pub, 64);
		json_decref(j);
	}
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM audit_signing_keys WHERE state = 'current'"), 1);
	assert_int_equal(tamper_count(s, "SELECT COUNT(*) FROM audit_checkpoints WHERE public_key IS NULL"), 0);
	free(key);
	free(pub);
}

static bool has_checkpoint_by(const char *text, const char *hex)
{
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "\"key\":\"%s\",\"signature\"", hex);
	for (p = text; (p = strstr(p, "{\"type\":\"checkpoint\"")); p++) {
		const char *end = strchr(p, '\n'), *k = strstr(p, want);

		if (k && end && k < end)
			return true;
	}
	return false;
}

static void test_rotation(void **state)
{
	struct it_server *s = *state;
	char old_hex[80], new_hex[80], e1[IT_STR + 32], e2[IT_STR + 32], list[IT_STR + 64], *out = NULL, *text;
	struct it_session mgr;
	json_t *j = NULL, *keys;
	size_t n = 0;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "amgr", MGR_PW, &mgr);
	assert_int_equal(it_admin(s, &j, "audit", "public-key", NULL), 0);
	snprintf(old_hex, sizeof(old_hex), "%s", it_json_str(j, "public_key"));
	assert_int_equal(strlen(old_hex), 64);
	json_decref(j);
	export_to(s, &mgr, "before.jsonl", e1, sizeof(e1));

	assert_int_equal(it_admin(s, &j, "audit", "rotate-signing-key", NULL), 0);
	assert_string_equal(it_json_str(j, "previous_key"), old_hex);
	snprintf(new_hex, sizeof(new_hex), "%s", it_json_str(j, "public_key"));
	assert_int_equal(strlen(new_hex), 64);
	assert_string_not_equal(new_hex, old_hex);
	json_decref(j);
	text = read_data(s, "signing.pub", &n);
	assert_memory_equal(text, new_hex, 64);
	free(text);

	/* new records after the rotation (a sign-in), then an export spanning it */
	IT_ASSERT_LOGIN(s, "alpha", "amgr", MGR_PW, 201, &mgr);
	export_to(s, &mgr, "after.jsonl", e2, sizeof(e2));
	text = it_read_file(e2, &n);
	assert_non_null(text);
	assert_true(has_checkpoint_by(text, old_hex));     /* the old ones keep their key */
	assert_true(has_checkpoint_by(text, new_hex));     /* the new ones are signed by the new key */
	assert_non_null(strstr(text, "\"action\":\"audit.signing_key.rotate\""));
	free(text);

	/* both keys verify it; either alone does not */
	assert_int_equal(verify(e2, old_hex, new_hex, &out), 0);
	assert_non_null(strstr(out, "OK: "));
	free(out);
	assert_int_equal(verify(e2, new_hex, NULL, &out), 1);
	assert_non_null(strstr(out, "not one of the trusted keys"));
	free(out);
	assert_int_equal(verify(e2, old_hex, NULL, &out), 1);
	free(out);
	/* the export made before the rotation still verifies with the old key alone */
	assert_int_equal(verify(e1, old_hex, NULL, &out), 0);
	free(out);
	/* DIR/signing-keys.pub lists both: the file to hand to tenants */
	data_file(s, "signing-keys.pub", list, sizeof(list));
	assert_int_equal(verify(e2, list, NULL, &out), 0);
	free(out);

	/* the public-key command and the API show both, the new one current */
	assert_int_equal(it_admin(s, &j, "audit", "public-key", NULL), 0);
	assert_string_equal(it_json_str(j, "public_key"), new_hex);
	keys = json_object_get(j, "keys");
	assert_int_equal(json_array_size(keys), 2);
	assert_string_equal(it_json_str(json_array_get(keys, 0), "state"), "current");
	assert_string_equal(it_json_str(json_array_get(keys, 1), "public_key"), old_hex);
	assert_string_equal(it_json_str(json_array_get(keys, 1), "state"), "retired");
	json_decref(j);

	/* the rotated data directory starts, and its chain verifies in place with both keys */
	assert_int_equal(it_server_restart(s), 0);
	assert_int_equal(it_admin(s, &j, "audit", "verify", "alpha", NULL), 0);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	assert_int_equal(it_admin(s, &j, "audit", "verify", "provider", NULL), 0);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_master_key, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_swapped_signing_key, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_rotation, it_setup_server, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
