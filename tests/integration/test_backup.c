/*
 * Integration: kura backup / kura restore (issue 8 "Export and backup", F3). With kura serve
 * running and a writer thread uploading, replacing and deleting files of tenant alpha all the
 * while, a first backup is taken; a second one copies fewer blobs (only what changed: the
 * pool is incremental). The restore is refused into a non-empty folder and without keys,
 * then done into a new folder with the keys given by --keys; kura serve started on it
 * serves every tenant's files byte-identical (each file's SHA-256 through the API compared
 * with the original's at the second backup), the same sessions, and `kura admin audit
 * verify` passes for every tenant's chain and the provider's. A damaged blob in the backup
 * makes a restore fail.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "harness.h"

#define BIG (3 * 65536 + 77)

static void put(struct it_server *s, const struct it_session *sess, long long folder, const char *name,
		const char *body, size_t n, long want)
{
	char path[IT_STR * 2], enc[IT_STR];
	struct it_response *r;

	it_url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/files/%s", folder, enc);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = body, .body_len = n,
						.content_type = "application/octet-stream", .cookie = sess->token,
						.csrf = sess->csrf });
	if (want)
		IT_ASSERT_STATUS(r, want);
	it_response_free(r);
}

static long long root_of(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_get(s, sess, "/api/v1/folders/root");
	long long id;

	IT_ASSERT_STATUS(r, 200);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

/* {path: sha256 of the content} of every file of the session's tenant, through the API. */
static json_t *contents(struct it_server *s, const struct it_session *sess)
{
	json_t *tree = it_tree(s, sess), *out = json_object(), *n;
	size_t i;

	json_array_foreach(tree, i, n) {
		char path[64], hex[crypto_hash_sha256_BYTES * 2 + 1];
		unsigned char sum[crypto_hash_sha256_BYTES];
		struct it_response *r;

		if (strcmp(it_json_str(n, "kind"), "file"))
			continue;
		snprintf(path, sizeof(path), "/api/v1/files/%lld/content",
			 (long long)json_integer_value(json_object_get(n, "id")));
		r = it_get(s, sess, path);
		IT_ASSERT_STATUS(r, 200);
		crypto_hash_sha256(sum, (const unsigned char *)r->body, r->body_len);
		sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
		json_object_set_new(out, it_json_str(n, "path"), json_string(hex));
		it_response_free(r);
	}
	json_decref(tree);
	return out;
}

struct writer {
	const char *big;             /* replaced.bin's content: a blob (more than KURA_INLINE_MAX_BYTES) */
	struct it_server *s;
	const struct it_session *sess;
	long long folder;
	atomic_bool stop;
	int n;
};

/* Keeps alpha busy: new files (small: kept in their rows), a file replaced again and again
 * (a blob, more than KURA_INLINE_MAX_BYTES: its old blob is deleted). */
static void *write_loop(void *p)
{
	struct writer *w = p;
	char name[64], body[128];

	while (!atomic_load(&w->stop)) {
		snprintf(name, sizeof(name), "w-%d.txt", w->n);
		snprintf(body, sizeof(body), "written while backing up, %d", w->n);
		put(w->s, w->sess, w->folder, name, body, strlen(body), 0);
		put(w->s, w->sess, w->folder, "replaced.bin", w->big + w->n % 64, 70000, 0);
		w->n++;
	}
	return NULL;
}

/* kura backup --data DIR --to DEST; the number after "label: " in its output. */
static long backup(struct it_server *s, const char *dest, long *ret_reused)
{
	const char *argv[] = { KURA_BIN, "backup", "--data", s->data, "--to", dest, NULL };
	char *out = NULL, *err = NULL, *p;
	long copied = -1;

	if (it_run(argv, 120, &out, &err) != 0)
		print_error("kura backup: %s\n%s\n", out ? out : "", err ? err : "");
	assert_non_null(out);
	p = strstr(out, "\ncopied: ");
	assert_non_null(p);
	copied = strtol(p + 9, NULL, 10);
	p = strstr(out, "\nalready in the backup: ");
	assert_non_null(p);
	*ret_reused = strtol(p + 24, NULL, 10);
	assert_non_null(strstr(out, "integrity ok"));
	free(out);
	free(err);
	return copied;
}

static int restore(const char *dest, const char *into, const char *keys, char **ret_err)
{
	const char *argv[] = { KURA_BIN, "restore", "--from", dest, "--data", into, keys ? "--keys" : NULL, keys, NULL };
	char *out = NULL, *err = NULL;
	int st = it_run(argv, 120, &out, &err);

	free(out);
	if (ret_err)
		*ret_err = err;
	else
		free(err);
	return st;
}

static void verify_chain(struct it_server *s, const char *code, bool has_records)
{
	json_t *j = NULL;

	assert_int_equal(it_admin(s, &j, "audit", "verify", code, NULL), 0);
	assert_non_null(j);
	if (!json_is_true(json_object_get(j, "ok"))) {
		char *d = json_dumps(j, 0);

		print_error("audit verify %s: %s\n", code, d);
		free(d);
	}
	assert_true(json_is_true(json_object_get(j, "ok")));
	if (has_records)
		assert_true(json_integer_value(json_object_get(j, "last_seq")) > 0);
	json_decref(j);
}

static void test_backup_restore(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	char dest[IT_STR * 2], into[IT_STR * 2], orig[IT_STR * 2], path[IT_STR * 3], *big = malloc(BIG), *err = NULL;
	struct writer wr = { .s = s, .sess = &w->amgr };
	long copied1, copied2, reused1, reused2;
	long long aroot, broot, docs;
	json_t *want_a, *want_b, *got;
	pthread_t th;
	int i;

	for (i = 0; i < BIG; i++)
		big[i] = (char)(i * 13 + i / 3);
	aroot = root_of(s, &w->amgr);
	broot = root_of(s, &w->bmgr);
	{
		struct it_response *r = it_send(s, &w->amgr, "POST", "/api/v1/folders/root/children",
						json_pack("{s:s}", "name", "資料"));

		IT_ASSERT_STATUS(r, 201);
		docs = json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
	}
	for (i = 0; i < 12; i++) {
		char name[32], body[64];

		snprintf(name, sizeof(name), "報告-%02d.txt", i);
		snprintf(body, sizeof(body), "alpha file %d", i);
		put(s, &w->amgr, docs, name, body, strlen(body), 201);
		snprintf(body, sizeof(body), "bravo file %d", i);
		put(s, &w->bmgr, broot, name, body, strlen(body), 201);
	}
	put(s, &w->amgr, aroot, "big.bin", big, BIG, 201);
	put(s, &w->auser, aroot, "user.txt", "by the user", 11, 201);
	put(s, &w->bmgr, broot, "big.bin", big + 1, BIG - 1, 201);

	/* first backup, with alpha being written to */
	snprintf(dest, sizeof(dest), "%s/backup", s->root);
	wr.folder = aroot;
	wr.big = big;
	assert_int_equal(pthread_create(&th, NULL, write_loop, &wr), 0);
	while (wr.n < 3)
		usleep(10000);
	copied1 = backup(s, dest, &reused1);
	atomic_store(&wr.stop, true);
	pthread_join(th, NULL);
	/* every blob once (a deleted blob makes it start again from a new database copy: then
	 * what the first attempt copied counts as already in the backup): both big.bin and
	 * replaced.bin; the small files are inline, inside the database copy (issue 11) */
	assert_true(copied1 >= 3);
	(void)reused1;

	/* the second copies only what is new */
	put(s, &w->amgr, docs, "after.bin", big + 2, BIG - 2, 201);   /* a new blob */
	copied2 = backup(s, dest, &reused2);
	assert_true(copied2 >= 1);
	assert_true(copied2 < copied1);
	assert_true(reused2 >= 2);
	{
		/* the blobs the server deleted during the backups were held, then removed */
		char cmd[IT_STR * 2], *out = NULL;
		const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "find '%s/blobs' -name '.held-*' | wc -l", s->data);
		assert_int_equal(it_run(argv, 10, &out, NULL), 0);
		assert_int_equal(strtol(out, NULL, 10), 0);
		free(out);
	}
	want_a = contents(s, &w->amgr);
	want_b = contents(s, &w->bmgr);
	assert_true(json_object_size(want_a) >= 16);
	assert_int_equal(json_object_size(want_b), 13);

	/* refused: a non-empty target, no keys */
	snprintf(into, sizeof(into), "%s/restored", s->root);
	assert_int_not_equal(restore(dest, s->data, s->data, NULL), 0);
	assert_int_not_equal(restore(dest, into, NULL, &err), 0);
	assert_non_null(strstr(err, "--keys"));
	free(err);
	it_rmtree(into);
	assert_int_equal(restore(dest, into, s->data, &err), 0);
	free(err);

	/* the restored deployment serves what the original held at the second backup */
	assert_int_equal(it_server_halt(s), 0);
	snprintf(orig, sizeof(orig), "%s.orig", s->data);
	assert_int_equal(rename(s->data, orig), 0);
	assert_int_equal(rename(into, s->data), 0);
	assert_int_equal(it_server_restart(s), 0);
	got = contents(s, &w->amgr);
	assert_true(json_equal(got, want_a));
	json_decref(got);
	got = contents(s, &w->bmgr);
	assert_true(json_equal(got, want_b));
	json_decref(got);
	verify_chain(s, "alpha", true);
	verify_chain(s, "bravo", true);
	verify_chain(s, "provider", false);
	json_decref(want_a);
	json_decref(want_b);

	/* a damaged blob in the backup: the restore fails and says which */
	{
		FILE *f;
		char line[256], id[64] = "", snapdir[IT_STR * 2];
		long long tenant = 0;
		const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
		char cmd[IT_STR * 4], *out = NULL;

		/* the snapshot kura restore takes: the greatest name (a second one in the same
		 * second is NAME-2, which "*Z" would miss) */
		snprintf(cmd, sizeof(cmd), "ls -d %s/snapshots/* | grep -v '[.]tmp$' | LC_ALL=C sort | tail -1", dest);
		argv[2] = cmd;
		assert_int_equal(it_run(argv, 10, &out, NULL), 0);
		out[strcspn(out, "\n")] = '\0';
		snprintf(snapdir, sizeof(snapdir), "%s", out);
		free(out);
		snprintf(path, sizeof(path), "%s/blobs.jsonl", snapdir);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		assert_int_equal(sscanf(line, "{\"tenant\":%lld,\"id\":\"%32[0-9a-f]\"", &tenant, id), 2);
		snprintf(path, sizeof(path), "%s/blobs/%lld/%s", dest, tenant, id);
		f = fopen(path, "r+b");
		assert_non_null(f);
		fseek(f, 40, SEEK_SET);
		i = fgetc(f);
		fseek(f, 40, SEEK_SET);
		fputc(0x5a ^ i, f);
		fclose(f);
		snprintf(into, sizeof(into), "%s/restored2", s->root);
		assert_int_not_equal(restore(dest, into, orig, &err), 0);
		assert_non_null(strstr(err, id));
		free(err);
	}
	it_rmtree(orig);
	free(big);
}

/* kura backup … --keep-days days; its exit status, output and errors (malloc'd) */
static int backup_keep(struct it_server *s, const char *dest, const char *days, char **ret_out, char **ret_err)
{
	const char *argv[] = { KURA_BIN, "backup", "--data", s->data, "--to", dest, "--keep-days", days, NULL };

	return it_run(argv, 120, ret_out, ret_err);
}

/* Output of a shell command, malloc'd */
static char *sh(const char *cmd)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char *out = NULL;

	assert_int_equal(it_run(argv, 10, &out, NULL), 0);
	return out;
}

/* The ids blobs.jsonl of DEST/snapshots/name lists, one per line, sorted */
static char *listed(const char *dest, const char *name)
{
	char cmd[IT_STR * 4];

	snprintf(cmd, sizeof(cmd), "sed 's/.*\"id\":\"\\([0-9a-f]*\\)\".*/\\1/' '%s/snapshots/%s/blobs.jsonl' | sort",
		 dest, name);
	return sh(cmd);
}

/* --keep-days: snapshots older than N days go (never the one just made), then the pool's
 * blobs that no snapshot left names; what is left restores. A snapshot whose list cannot be
 * read stops the pool's sweep (nothing of the pool removed) and the exit status says so. */
static void test_backup_keep_days(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	char dest[IT_STR * 2], cmd[IT_STR * 8], into[IT_STR * 2], first[64], *big = malloc(BIG), *out = NULL,
	     *err = NULL, *ids1, *ids2, *pool, *p;
	long long root = root_of(s, &w->amgr);
	long reused;
	int i;

	for (i = 0; i < BIG; i++)
		big[i] = (char)(i * 7 + i / 5);
	put(s, &w->amgr, root, "kept.bin", big, BIG, 201);
	put(s, &w->amgr, root, "replaced.bin", big + 1, BIG - 1, 201);
	snprintf(dest, sizeof(dest), "%s/backup-keep", s->root);
	assert_true(backup(s, dest, &reused) == 2);
	snprintf(cmd, sizeof(cmd), "ls '%s/snapshots'", dest);
	out = sh(cmd);
	out[strcspn(out, "\n")] = '\0';
	snprintf(first, sizeof(first), "%s", out);
	free(out);
	ids1 = listed(dest, first);
	/* the first snapshot made to look 7 years old; replaced.bin's first blob is then named
	 * by it alone */
	snprintf(cmd, sizeof(cmd), "mv '%s/snapshots/%s' '%s/snapshots/20191231T235959Z'", dest, first, dest);
	free(sh(cmd));
	put(s, &w->amgr, root, "replaced.bin", big + 2, BIG - 2, 200);   /* replaced: its old blob deleted */

	assert_int_equal(backup_keep(s, dest, "0", NULL, NULL), 2);   /* refused: 1 to 3650 */
	assert_int_equal(backup_keep(s, dest, "30", &out, &err), 0);
	print_message("%s", out);
	assert_non_null(strstr(out, "pruned: 1 snapshot(s) older than 30 days, 1 blob(s)"));
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "ls '%s/snapshots'", dest);
	out = sh(cmd);
	assert_null(strstr(out, "20191231T235959Z"));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));   /* one snapshot left */
	out[strcspn(out, "\n")] = '\0';
	ids2 = listed(dest, out);
	free(out);
	/* the pool holds exactly what the remaining snapshot names */
	snprintf(cmd, sizeof(cmd), "find '%s/blobs' -type f ! -name '*.sha256' -printf '%%f\\n' | sort", dest);
	pool = sh(cmd);
	assert_string_equal(pool, ids2);
	free(pool);
	snprintf(cmd, sizeof(cmd), "find '%s/blobs' -type f -name '*.sha256' | wc -l", dest);
	out = sh(cmd);
	assert_int_equal(strtol(out, NULL, 10), 2);
	free(out);
	/* kept.bin's blob is in both lists; replaced.bin's first one only in the removed one */
	{
		int gone = 0, both = 0;

		for (p = strtok(ids1, "\n"); p; p = strtok(NULL, "\n"))
			if (strstr(ids2, p))
				both++;
			else
				gone++;
		assert_int_equal(gone, 1);
		assert_int_equal(both, 1);
	}
	free(ids1);
	free(ids2);
	snprintf(into, sizeof(into), "%s/restored-keep", s->root);
	assert_int_equal(restore(dest, into, s->data, &err), 0);
	free(err);
	it_rmtree(into);

	/* a snapshot whose list is damaged: the new snapshot is made, nothing leaves the pool */
	snprintf(cmd, sizeof(cmd), "cd '%s/snapshots' && d=$(ls | head -1) && echo 'not json' >> \"$d/blobs.jsonl\" && "
		 "mv \"$d\" 20991231T000000Z", dest);   /* a name in the future: never old enough */
	free(sh(cmd));
	put(s, &w->amgr, root, "replaced.bin", big + 3, BIG - 3, 200);
	assert_int_equal(backup_keep(s, dest, "30", &out, &err), 1);
	assert_non_null(strstr(out, "snapshot: "));
	assert_non_null(strstr(err, "no blob is removed from the pool"));
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "find '%s/blobs' -type f ! -name '*.sha256' | wc -l", dest);
	out = sh(cmd);
	assert_int_equal(strtol(out, NULL, 10), 3);   /* kept.bin, both later replaced.bin blobs */
	free(out);
	free(big);
}

/* Security review (issue 11): --keep-days followed a symlink planted in DEST/blobs. prune() took
 * every all-digit name under DEST/blobs as a tenant folder and prune_tenant() opendir()s it,
 * which follows a symbolic link, then unlinks every blob-id-named file there that no
 * snapshot lists under that (fake) tenant number. Whoever can write DEST (a shared backup
 * mount, a compromised backup host) thus makes the next `kura backup --keep-days` delete
 * files outside DEST with the backup's privileges: here a folder of its own, and the live
 * blobs of the tenant in DATA/blobs (its files no longer download). Now a tenant folder is
 * opened with O_NOFOLLOW|O_DIRECTORY, must be on DEST's device, and only its regular files
 * are removed, with unlinkat (backup.c prune_tenant). */
static void test_backup_prune_symlink(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	char dest[IT_STR * 2], victim[IT_STR * 2], cmd[IT_STR * 16], *big = malloc(BIG), *out = NULL, *err = NULL;
	long long root = root_of(s, &w->amgr);
	long live_before, live_after;
	bool victim_kept;
	long reused;
	int i;

	for (i = 0; i < BIG; i++)
		big[i] = (char)(i * 11 + i / 3);
	put(s, &w->amgr, root, "live.bin", big, BIG, 201);   /* a blob in DATA/blobs/<tenant> */
	snprintf(dest, sizeof(dest), "%s/backup-symlink", s->root);
	assert_true(backup(s, dest, &reused) >= 1);
	/* a folder outside DEST with a file named like a blob, linked in as tenant 424242 */
	snprintf(victim, sizeof(victim), "%s/victim", s->root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo keep > '%s/0123456789abcdef0123456789abcdef' && "
		 "ln -s '%s' '%s/blobs/424242'", victim, victim, victim, dest);
	free(sh(cmd));
	/* the live tenant folder linked in under another number: no snapshot lists 424243/<id> */
	snprintf(cmd, sizeof(cmd), "t=$(ls -t '%s/blobs' | grep -E '^[0-9]+$' | head -1) && "
		 "ln -s '%s/blobs/'\"$t\" '%s/blobs/424243' && find -L '%s/blobs/424243' -maxdepth 1 -type f | wc -l",
		 s->data, s->data, dest, dest);
	out = sh(cmd);
	live_before = strtol(out, NULL, 10);
	free(out);
	assert_true(live_before >= 1);

	assert_int_equal(backup_keep(s, dest, "30", &out, &err), 0);
	print_message("%s", out);
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "ls '%s'", victim);
	out = sh(cmd);
	print_message("outside DEST after the prune: [%s]\n", out);
	victim_kept = strstr(out, "0123456789abcdef0123456789abcdef") != NULL;
	free(out);
	snprintf(cmd, sizeof(cmd), "find -L '%s/blobs/424243' -maxdepth 1 -type f | wc -l", dest);
	out = sh(cmd);
	live_after = strtol(out, NULL, 10);
	free(out);
	print_message("live blobs of the linked tenant: %ld before, %ld after\n", live_before, live_after);
	free(big);
	assert_true(victim_kept);                   /* FAILS: deleted through the link */
	assert_int_equal(live_after, live_before);   /* FAILS: the live blobs are gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_restore, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_backup_keep_days, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_backup_prune_symlink, it_setup_world, it_teardown_world),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
