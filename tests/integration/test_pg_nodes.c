/*
 * Two kura nodes on one PostgreSQL database (issue 10, docs/scale-out.md): the invariants
 * that rely on serialised writers (store/db.h "Write serialisation") hold when the writers
 * are two processes. Node A is initialised on a fresh database of the harness's cluster;
 * node B has its own data directory, blobs, ports and admin socket, and A's keys and
 * database (it_options.node_of). Both nodes upload into one tenant at once until its quota
 * is full: exactly as many files as fit are taken (no more: the quota is never exceeded;
 * no fewer: a refused upload is a 507, never an error of colliding writers), the usage is
 * the sum of what was taken, and the tenant's audit chain, appended to by both nodes at
 * once, verifies from either node.
 *
 * Runs on PostgreSQL in both ctest passes (it starts the cluster itself), so it is not
 * repeated as integration-pg/test_pg_nodes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

#define FILE_BYTES 1000
#define FIT 12             /* uploads the quota leaves room for */
#define CLIENTS 4          /* per node, at once */
#define TRIES 12           /* per client: together 8 x what fits */
#define PW "Hammer-manager-pass-1"

struct nodes {
	struct it_server *a, *b;
};

static int setup(void **state)
{
	struct nodes *n = calloc(1, sizeof(*n));
	struct it_options oa = { .pg = true }, ob = { 0 };

	if (!n)
		return -1;
	n->a = it_server_start(&oa);
	if (n->a) {
		ob.node_of = n->a;
		n->b = it_server_start(&ob);
	}
	*state = n;
	return n->a && n->b ? 0 : -1;
}

static int teardown(void **state)
{
	struct nodes *n = *state;
	int r = 0;

	if (n->b && it_server_stop(n->b) != 0)
		r = -1;
	if (n->a && it_server_stop(n->a) != 0)
		r = -1;
	free(n);
	return r;
}

struct hammer {
	struct it_server *s;
	const struct it_session *sess;
	char prefix[8];
	int created, refused, other;
	long other_status;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	static unsigned char data[FILE_BYTES];
	char path[128];

	for (int i = 0; i < TRIES; i++) {
		struct it_request req = { .method = "PUT", .path = path, .body = (const char *)data,
					  .body_len = sizeof(data), .content_type = "application/octet-stream",
					  .cookie = h->sess->token, .csrf = h->sess->csrf };
		struct it_response *r;

		snprintf(path, sizeof(path), "/api/v1/folders/root/files/%s-%02d.bin", h->prefix, i);
		r = it_request(h->s, &req);
		if (r->status == 201)
			h->created++;
		else if (r->status == 507)
			h->refused++;
		else
			h->other++, h->other_status = r->status;
		it_response_free(r);
	}
	return NULL;
}

static json_t *quota(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_get(s, sess, "/api/v1/quota");
	json_t *j;

	IT_ASSERT_STATUS(r, 200);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

static void test_two_nodes_quota_and_audit_chain(void **state)
{
	struct nodes *n = *state;
	struct it_session mgr;
	struct hammer h[2 * CLIENTS];
	pthread_t t[2 * CLIENTS];
	int created = 0, refused = 0, other = 0;
	json_t *q, *j = NULL;
	long long used, item, limit;
	char arg[32];

	it_create_tenant(n->a, "hammer", NULL);
	it_create_manager(n->a, "hammer", "hmgr", PW, &mgr);
	/* the session is the database's: node B knows it */
	IT_EXPECT_GET(n->b, &mgr, "/api/v1/me", 200);

	q = quota(n->a, &mgr);
	used = json_integer_value(json_object_get(q, "used_bytes"));
	item = json_integer_value(json_object_get(q, "item_bytes"));
	json_decref(q);
	assert_true(item > 0);
	/* room for FIT files and half of one more */
	limit = used + FIT * (FILE_BYTES + item) + (FILE_BYTES + item) / 2;
	snprintf(arg, sizeof(arg), "%lld", limit);
	assert_int_equal(it_admin(n->b, &j, "tenant", "set-quota", "hammer", arg, NULL), 0);
	json_decref(j);

	for (int i = 0; i < 2 * CLIENTS; i++) {
		h[i] = (struct hammer){ .s = i < CLIENTS ? n->a : n->b, .sess = &mgr };
		snprintf(h[i].prefix, sizeof(h[i].prefix), "%c%d", i < CLIENTS ? 'a' : 'b', i);
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
	}
	for (int i = 0; i < 2 * CLIENTS; i++) {
		pthread_join(t[i], NULL);
		created += h[i].created;
		refused += h[i].refused;
		other += h[i].other;
		print_message("client %s on node %c: %d created, %d refused\n", h[i].prefix, h[i].prefix[0],
			      h[i].created, h[i].refused);
		if (h[i].other)
			print_error("client %s: %d answers other than 201 and 507 (last %ld)\n", h[i].prefix,
				    h[i].other, h[i].other_status);
	}
	assert_int_equal(other, 0);
	assert_int_equal(created, FIT);
	assert_int_equal(refused, 2 * CLIENTS * TRIES - FIT);

	/* the usage is what was taken, read from either node */
	q = quota(n->b, &mgr);
	assert_int_equal(json_integer_value(json_object_get(q, "used_bytes")), used + FIT * (FILE_BYTES + item));
	assert_true(json_integer_value(json_object_get(q, "used_bytes")) <= limit);
	json_decref(q);

	/* one audit chain, appended to by both nodes at once: whole, from either node */
	assert_int_equal(it_admin(n->a, NULL, "audit", "verify", "hammer", NULL), 0);
	assert_int_equal(it_admin(n->b, NULL, "audit", "verify", "hammer", NULL), 0);
	assert_int_equal(it_audit_count(n->a, &mgr, "action=file.upload&result=success"), FIT);
}

/* kura backup and restore copy a SQLite kura.db: on PostgreSQL they refuse, naming pg_dump
 * (docs/scale-out.md "Backups"), and write nothing. */
static void test_backup_refused_on_postgresql(void **state)
{
	struct nodes *n = *state;
	char dest[IT_STR], snap[IT_STR + 16];
	char *out = NULL, *err = NULL;
	struct stat st;

	snprintf(dest, sizeof(dest), "%s/backup", n->a->root);
	{
		const char *argv[] = { KURA_BIN, "backup", "--data", n->a->data, "--to", dest, NULL };

		assert_int_not_equal(it_run(argv, 60, &out, &err), 0);
	}
	assert_non_null(err);
	assert_non_null(strstr(err, "pg_dump"));
	free(out);
	free(err);
	out = err = NULL;
	snprintf(snap, sizeof(snap), "%s", dest);
	assert_int_not_equal(stat(snap, &st), 0);
	{
		const char *argv[] = { KURA_BIN, "restore", "--from", dest, "--data", n->b->data, NULL };

		assert_int_not_equal(it_run(argv, 60, &out, &err), 0);
	}
	assert_non_null(err);
	assert_non_null(strstr(err, "pg_dump"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_nodes_quota_and_audit_chain),
		cmocka_unit_test(test_backup_refused_on_postgresql),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
