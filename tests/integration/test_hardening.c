/*
 * Files and WebDAV hardening (issue 14) against a real `kura serve`: metadata (dead
 * properties, folders, labels) counts toward the quota; NFC/NFD twins are one name and
 * bidirectional controls are refused; a move cannot pass the nesting limit with a deep
 * subtree; WebDAV locks follow the lock owner rule between two accounts of one tenant, end
 * with their owner and with their resource, and managers can break them; account ids are not
 * reused; active content is not served inline; PUT with Content-Range is refused; UNLOCK
 * takes a bare token; cross-site Basic requests are refused; parallel uploads against the
 * quota and parallel LOCKs have exact outcomes.
 *
 * Tenant alpha: manager alice, users bob and others made as needed, each with a read-write
 * app password for WebDAV. What is stored is checked the way alice sees it: the tree and the
 * trash, the quota, the locks (the one place the API shows account ids) and the audit log.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Hardening-manager-pw-1"
#define USER_PW "Hardening-user-pw-22"

struct env {
	struct it_server *s;
	struct it_session alice, bob;
	char alice_ap[IT_STR], bob_ap[IT_STR];
};

static struct env *E;

static void app_password(const struct it_session *sess, char *ret)
{
	struct it_response *r = it_send(E->s, sess, "POST", "/api/v1/me/app-passwords",
					json_pack("{s:s, s:s}", "name", "dav", "scope", "read-write"));

	IT_ASSERT_STATUS(r, 201);
	snprintf(ret, IT_STR, "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
}

static int setup(void **state)
{
	E = calloc(1, sizeof(*E));
	E->s = it_server_start(NULL);
	if (!E->s)
		return -1;
	it_create_tenant(E->s, "alpha", NULL);
	it_create_manager(E->s, "alpha", "alice", MGR_PW, &E->alice);
	it_create_account(E->s, &E->alice, "alpha", "bob", "user", USER_PW, &E->bob);
	app_password(&E->alice, E->alice_ap);
	app_password(&E->bob, E->bob_ap);
	*state = E;
	return 0;
}

static int teardown(void **state)
{
	int st;

	(void)state;
	st = it_server_stop(E->s);
	free(E);
	return st == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static void b64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i, o = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)in[i + 2] : 0);

		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

/* A request as user:secret with HTTP Basic (user NULL: none); body of n bytes with type ct;
 * extra headers NULL-terminated. */
static struct it_response *basic(const char *method, const char *path, const char *user, const char *secret,
				 const char *body, size_t n, const char *ct, ...)
{
	char auth[IT_STR * 4], raw[IT_STR * 2], enc[IT_STR * 3];
	const char *headers[12];
	size_t k = 0;
	va_list ap;
	const char *h;

	if (user) {
		snprintf(raw, sizeof(raw), "%s:%s", user, secret);
		b64(raw, enc);
		snprintf(auth, sizeof(auth), "Authorization: Basic %s", enc);
		headers[k++] = auth;
	}
	va_start(ap, ct);
	while ((h = va_arg(ap, const char *)) != NULL && k < 10)
		headers[k++] = h;
	va_end(ap);
	headers[k] = NULL;
	return it_request(E->s, &(struct it_request){ .method = method, .path = path, .body = body,
						     .body_len = body ? n : 0,
						     .content_type = body ? (ct ? ct : "application/octet-stream") : "",
						     .headers = headers });
}

#define ALICE "alice", E->alice_ap
#define BOB "bob", E->bob_ap

static long status_of(struct it_response *r)
{
	long st = r->status;

	it_response_free(r);
	return st;
}

static bool has(const struct it_response *r, const char *needle)
{
	return (r->body && strstr(r->body, needle)) || (r->headers && strstr(r->headers, needle));
}

/* What alice (alpha's manager) sees: the node at path in the tree, 0 when there is none. */
static long long node_id(const char *path)
{
	return it_tree_id(E->s, &E->alice, path);
}

/* Items of alpha, in the tree and in the trash, whose name `matches`. */
static long items_where(bool (*matches)(const char *name, const void *arg), const void *arg)
{
	json_t *tree = it_tree(E->s, &E->alice), *trash = it_trash(E->s, &E->alice), *n;
	long count = 0;
	size_t i;

	json_array_foreach(tree, i, n)
		count += matches(it_json_str(n, "name"), arg);
	json_array_foreach(trash, i, n)
		count += matches(it_json_str(n, "name"), arg);
	json_decref(tree);
	json_decref(trash);
	return count;
}

static bool name_is(const char *name, const void *arg)
{
	return !strcmp(name, arg);
}

static bool name_contains(const char *name, const void *arg)
{
	return strstr(name, arg) != NULL;
}

/* Live items of alpha (the tree) called name. */
static long live_named(const char *name)
{
	json_t *tree = it_tree(E->s, &E->alice), *n;
	long count = 0;
	size_t i;

	json_array_foreach(tree, i, n)
		count += !strcmp(it_json_str(n, "name"), name);
	json_decref(tree);
	return count;
}

static bool name_starts_caf(const char *name, const void *arg)
{
	(void)arg;
	return !strncasecmp(name, "caf", 3);   /* as SQL's LIKE 'caf%' */
}

/* The depth of the deepest item in alpha's tree (the root's children are at 1). */
static long long max_depth(void)
{
	json_t *tree = it_tree(E->s, &E->alice), *n;
	long long d = 0;
	size_t i;

	json_array_foreach(tree, i, n)
		if (json_integer_value(json_object_get(n, "depth")) > d)
			d = json_integer_value(json_object_get(n, "depth"));
	json_decref(tree);
	return d;
}

/* The unexpired WebDAV locks of alpha (GET /api/v1/locks, a manager's view). */
static json_t *locks(void)
{
	struct it_response *r = it_get(E->s, &E->alice, "/api/v1/locks");
	json_t *items;

	IT_ASSERT_STATUS(r, 200);
	assert_false(json_is_true(json_object_get(r->json, "more")));
	items = json_incref(json_object_get(r->json, "items"));
	it_response_free(r);
	return items;
}

static long locks_on(const char *path)
{
	json_t *all = locks(), *l;
	long n = 0;
	size_t i;

	json_array_foreach(all, i, l)
		n += !strcmp(it_json_str(l, "path"), path);
	json_decref(all);
	return n;
}

/* The account id of the owner of the lock with this token: the one place the API shows ids. */
static long long lock_owner_id(const char *tok)
{
	json_t *all = locks(), *l;
	long long id = -1;
	size_t i;

	json_array_foreach(all, i, l)
		if (!strcmp(it_json_str(l, "token"), tok))
			id = (long long)json_integer_value(json_object_get(l, "account_id"));
	json_decref(all);
	assert_true(id > 0);
	return id;
}

static json_t *quota(void)
{
	struct it_response *r = it_get(E->s, &E->alice, "/api/v1/quota");
	json_t *q;

	IT_ASSERT_STATUS(r, 200);
	q = json_incref(r->json);
	it_response_free(r);
	return q;
}

static long long quota_num(const char *key)
{
	json_t *q = quota();
	long long v = json_integer_value(json_object_get(q, key));

	json_decref(q);
	return v;
}

static void set_quota(long long bytes)
{
	char b[32];
	json_t *j = NULL;

	snprintf(b, sizeof(b), "%lld", bytes);
	assert_int_equal(it_admin(E->s, &j, "tenant", "set-quota", "alpha", b, NULL), 0);
	json_decref(j);
}

static int64_t api_mkdir(const char *parent, const char *name, long want)
{
	char path[128];
	struct it_response *r;
	int64_t id = 0;

	snprintf(path, sizeof(path), "/api/v1/folders/%s/children", parent);
	r = it_send(E->s, &E->alice, "POST", path, json_pack("{s:s}", "name", name));
	if (r->status != want)
		print_error("mkdir %s in %s: %ld %s\n", name, parent, r->status, r->body);
	IT_ASSERT_STATUS(r, want);
	if (want == 201)
		id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

/* Lock-Token of a LOCK answer, without the angle brackets, into tok. */
static void lock_token(const struct it_response *r, char *tok, size_t size)
{
	const char *p = strstr(r->headers, "Lock-Token: <"), *e;

	assert_non_null(p);
	p += strlen("Lock-Token: <");
	e = strchr(p, '>');
	assert_non_null(e);
	snprintf(tok, size, "%.*s", (int)(e - p), p);
}

static const char propname[] = "<D:propfind xmlns:D=\"DAV:\"><D:propname/></D:propfind>";

static const char lockinfo[] = "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
			       "<D:locktype><D:write/></D:locktype><D:owner>t</D:owner></D:lockinfo>";

static void lock_ok(const char *path, const char *user, const char *secret, const char *depth, char *tok,
		    size_t size)
{
	struct it_response *r = basic("LOCK", path, user, secret, lockinfo, strlen(lockinfo), "application/xml",
				      depth, NULL);

	if (r->status != 200 && r->status != 201)
		print_error("LOCK %s: %ld %s\n", path, r->status, r->body);
	assert_true(r->status == 200 || r->status == 201);
	lock_token(r, tok, size);
	it_response_free(r);
}

/* Before each test: a quota that leaves room, whatever the last test did. */
static int roomy(void **state)
{
	json_t *j = NULL;

	(void)state;
	return it_admin(E->s, &j, "tenant", "set-quota", "alpha", "10000000000", NULL) == 0 ? (json_decref(j), 0) : -1;
}

/* ---- storage outside the quota ---- */

static void test_metadata_counts_toward_quota(void **state)
{
	static const char fmt[] = "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><z:%s xmlns:z=\"urn:q\">%s"
				  "</z:%s></D:prop></D:set></D:propertyupdate>";
	char *value = malloc(2601), *body = malloc(4096);
	long long used, used2, item;
	struct it_response *r;
	int64_t folder;

	(void)state;
	memset(value, 'v', 2600);   /* with its item, it leaves less room than one more item */
	value[2600] = '\0';
	item = quota_num("item_bytes");
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/q", ALICE, NULL, 0, NULL, NULL)), 201);
	used = quota_num("used_bytes");
	set_quota(used + 3000);

	/* the first property fits: it costs its bytes and an item */
	snprintf(body, 4096, fmt, "one", value, "one");
	r = basic("PROPPATCH", "/dav/alpha/q", ALICE, body, strlen(body), "application/xml", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_true(has(r, "HTTP/1.1 200 OK"));
	it_response_free(r);
	used2 = quota_num("used_bytes");
	assert_true(used2 >= used + 2600 + item);
	assert_true(used2 > used + 3000 - 256);
	assert_int_equal(item, 256);
	assert_true(quota_num("metadata_bytes") >= 2 * item + 2600);
	assert_int_equal(quota_num("content_bytes") + quota_num("metadata_bytes"), used2);
	/* the second does not: 507 in the multistatus, nothing stored */
	snprintf(body, 4096, fmt, "two", value, "two");
	r = basic("PROPPATCH", "/dav/alpha/q", ALICE, body, strlen(body), "application/xml", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_true(has(r, "HTTP/1.1 507"));
	assert_false(has(r, "200 OK"));
	it_response_free(r);
	assert_int_equal(quota_num("used_bytes"), used2);
	/* nothing of it was stored: the collection's property names show "one" only */
	r = basic("PROPFIND", "/dav/alpha/q", ALICE, propname, strlen(propname), "application/xml", "Depth: 0", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_true(has(r, "one xmlns"));
	assert_false(has(r, "two"));
	it_response_free(r);
	/* nor an empty folder (WebDAV: 507, API: problem+json), nor a label */
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/q/sub", ALICE, NULL, 0, NULL, NULL)), 507);
	r = it_send(E->s, &E->alice, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "qq"));
	IT_ASSERT_PROBLEM(r, 507, "quota-exceeded");
	it_response_free(r);
	folder = node_id("/q");
	assert_true(folder > 0);
	{
		char path[128];

		snprintf(path, sizeof(path), "/api/v1/folders/%lld/labels/big", (long long)folder);
		for (int i = 0; i < 4; i++) {
			r = it_send(E->s, &E->alice, "PUT", path, NULL);
			if (r->status == 507)
				break;
			IT_ASSERT_STATUS(r, 204);
			it_response_free(r);
			snprintf(path, sizeof(path), "/api/v1/folders/%lld/labels/big%d", (long long)folder, i);
		}
		IT_ASSERT_PROBLEM(r, 507, "quota-exceeded");
		it_response_free(r);
	}
	assert_int_equal(quota_num("used_bytes") <= used + 3000, 1);
	/* removing the property gives its room back */
	snprintf(body, 4096, "<D:propertyupdate xmlns:D=\"DAV:\"><D:remove><D:prop><z:one xmlns:z=\"urn:q\"/>"
			     "</D:prop></D:remove></D:propertyupdate>");
	r = basic("PROPPATCH", "/dav/alpha/q", ALICE, body, strlen(body), "application/xml", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_true(has(r, "200 OK"));
	it_response_free(r);
	assert_true(quota_num("used_bytes") <= used2 - 2600 - item);
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/q/sub", ALICE, NULL, 0, NULL, NULL)), 201);
	set_quota(10000000000LL);
	free(value);
	free(body);
}

/* ---- names ---- */

static void test_names_nfc_and_bidi(void **state)
{
	struct it_response *r;
	char path[256];

	(void)state;
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/names", ALICE, NULL, 0, NULL, NULL)), 201);
	/* macOS sends NFD: "café" as "cafe" + U+0301; the NFC request names the same file */
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/names/cafe%CC%81.txt", ALICE, "nfd", 3, NULL, NULL)), 201);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/names/caf%C3%A9.txt", ALICE, "nfc!", 4, NULL, NULL)), 204);
	r = basic("GET", "/dav/alpha/names/cafe%CC%81.txt", ALICE, NULL, 0, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->body, "nfc!");
	it_response_free(r);
	assert_int_equal(items_where(name_starts_caf, NULL), 1);
	assert_int_equal(items_where(name_is, "caf\xc3\xa9.txt"), 1);   /* stored in NFC */
	r = basic("PROPFIND", "/dav/alpha/names/", ALICE, NULL, 0, NULL, "Depth: 1", NULL);
	IT_ASSERT_STATUS(r, 207);
	assert_true(has(r, "caf%C3%A9.txt"));
	assert_false(has(r, "cafe%CC%81.txt"));
	it_response_free(r);
	/* the API: a folder's NFD twin is the same name (409), an upload under it replaces */
	api_mkdir("root", "R\xc3\xa9sum\xc3\xa9", 201);
	api_mkdir("root", "Re\xcc\x81sume\xcc\x81", 409);
	{
		struct it_request req = { .method = "PUT", .path = "/api/v1/folders/root/files/na%C3%AFve.txt",
					  .body = "a", .body_len = 1, .content_type = "text/plain",
					  .cookie = E->alice.token, .csrf = E->alice.csrf };

		r = it_request(E->s, &req);
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
		req.path = "/api/v1/folders/root/files/nai%CC%88ve.txt";
		r = it_request(E->s, &req);
		IT_ASSERT_STATUS(r, 200);   /* replaced, not a twin */
		it_response_free(r);
	}
	/* right-to-left override and other bidi controls: refused everywhere */
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/names/evil%E2%80%AEtxt.exe", ALICE, "x", 1, NULL, NULL)),
			 400);
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/names/a%E2%81%A7b", ALICE, NULL, 0, NULL, NULL)), 403);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/names/lrm%E2%80%8E.txt", ALICE, "x", 1, NULL, NULL)), 400);
	r = it_send(E->s, &E->alice, "POST", "/api/v1/folders/root/children",
		    json_pack("{s:s}", "name", "invoice\xe2\x80\xae" "fdp.exe"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-name");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/folders/%lld",
		 node_id("/names"));
	r = it_send(E->s, &E->alice, "PATCH", path, json_pack("{s:s}", "name", "n\xe2\x80\xab" "a"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-name");
	it_response_free(r);
	/* U+202E, U+2067, U+200E, U+202B: in no name, live or in the trash */
	assert_int_equal(items_where(name_contains, "\xe2\x80\xae") + items_where(name_contains, "\xe2\x81\xa7") +
			 items_where(name_contains, "\xe2\x80\x8e") + items_where(name_contains, "\xe2\x80\xab"), 0);
}

/* ---- depth ---- */

static void test_move_checks_subtree_height(void **state)
{
	char parent[32], dest[IT_STR * 2], dav_a30[IT_STR], dav_a40[IT_STR];
	int64_t a = 0, b_top = 0, b = 0, a30 = 0;
	struct it_response *r;
	int i;

	(void)state;
	/* chain a: /ha1/.../ha40 (ha40 at depth 40); chain b: /hb1/.../hb30 (height 29) */
	strcpy(parent, "root");
	strcpy(dav_a40, "/dav/alpha");
	for (i = 1; i <= 40; i++) {
		char name[8];

		snprintf(name, sizeof(name), "ha%d", i);
		a = api_mkdir(parent, name, 201);
		snprintf(parent, sizeof(parent), "%lld", (long long)a);
		strcat(dav_a40, "/");
		strcat(dav_a40, name);
		if (i == 30) {
			a30 = a;
			snprintf(dav_a30, sizeof(dav_a30), "%s", dav_a40);
		}
	}
	strcpy(parent, "root");
	for (i = 1; i <= 30; i++) {
		char name[8];

		snprintf(name, sizeof(name), "hb%d", i);
		b = api_mkdir(parent, name, 201);
		if (i == 1)
			b_top = b;
		snprintf(parent, sizeof(parent), "%lld", (long long)b);
	}
	/* the API: into ha40 the deepest folder would be at 70 > 64 */
	snprintf(parent, sizeof(parent), "/api/v1/folders/%lld", (long long)b_top);
	r = it_send(E->s, &E->alice, "PATCH", parent, json_pack("{s:I}", "parent_id", (json_int_t)a));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* WebDAV MOVE and COPY likewise */
	snprintf(dest, sizeof(dest), "Destination: %s/hb1", dav_a40);
	assert_int_equal(status_of(basic("MOVE", "/dav/alpha/hb1", ALICE, NULL, 0, NULL, dest, NULL)), 403);
	assert_int_equal(status_of(basic("COPY", "/dav/alpha/hb1", ALICE, NULL, 0, NULL, dest, NULL)), 403);
	assert_int_equal(max_depth(), 40);
	/* into ha30 it fits (deepest at 60): allowed */
	snprintf(dest, sizeof(dest), "Destination: %s/hb1", dav_a30);
	assert_int_equal(status_of(basic("MOVE", "/dav/alpha/hb1", ALICE, NULL, 0, NULL, dest, NULL)), 201);
	(void)a30;
	assert_int_equal(max_depth(), 60);
}

/* The nesting limit holds through the trash (the security review: trashing the deep part,
 * moving its folder deep, then restoring reached depth 123 against 64). */
static void test_trash_restore_keeps_depth(void **state)
{
	char parent[32], path[IT_STR];
	int64_t a, x, t = 0, n = 0;
	struct it_response *r;
	int i;

	(void)state;
	/* /ta (depth 1) / tx (2) / tx1 ... tx30 (32); /tt1 ... /tt40 (40) */
	a = api_mkdir("root", "ta", 201);
	snprintf(parent, sizeof(parent), "%lld", (long long)a);
	x = api_mkdir(parent, "tx", 201);
	snprintf(parent, sizeof(parent), "%lld", (long long)x);
	for (i = 1; i <= 30; i++) {
		char name[8];

		snprintf(name, sizeof(name), "tx%d", i);
		n = api_mkdir(parent, name, 201);
		snprintf(parent, sizeof(parent), "%lld", (long long)n);
	}
	strcpy(parent, "root");
	for (i = 1; i <= 40; i++) {
		char name[8];

		snprintf(name, sizeof(name), "tt%d", i);
		t = api_mkdir(parent, name, 201);
		snprintf(parent, sizeof(parent), "%lld", (long long)t);
	}
	snprintf(path, sizeof(path), "/api/v1/folders/%lld", (long long)a);
	r = it_send(E->s, &E->alice, "PATCH", path, json_pack("{s:I}", "parent_id", (json_int_t)t));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	/* with the deep part in the trash, the move is still refused: a restore brings it back */
	snprintf(path, sizeof(path), "/api/v1/folders/%lld", (long long)x);
	r = it_send(E->s, &E->alice, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/folders/%lld", (long long)a);
	r = it_send(E->s, &E->alice, "PATCH", path, json_pack("{s:I}", "parent_id", (json_int_t)t));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/trash/%lld/restore", (long long)x);
	r = it_send(E->s, &E->alice, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "parent_id")), a);
	it_response_free(r);
}

/* ---- locks ---- */

static void test_lock_owner_rule_and_manager_break(void **state)
{
	char tok[IT_STR], ifh[IT_STR * 2], lt[IT_STR * 2], path[IT_STR * 2];
	struct it_response *r;

	(void)state;
	/* bob locks; alice (another account of the same tenant) cannot use or remove the lock */
	lock_ok("/dav/alpha/bobs.txt", BOB, "Depth: 0", tok, sizeof(tok));
	snprintf(ifh, sizeof(ifh), "If: (<%s>)", tok);
	snprintf(lt, sizeof(lt), "Lock-Token: <%s>", tok);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/bobs.txt", ALICE, "a", 1, NULL, NULL)), 423);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/bobs.txt", ALICE, "a", 1, NULL, ifh, NULL)), 423);
	assert_int_equal(status_of(basic("DELETE", "/dav/alpha/bobs.txt", ALICE, NULL, 0, NULL, ifh, NULL)), 423);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/bobs.txt", ALICE, NULL, 0, NULL, lt, NULL)), 403);
	r = basic("LOCK", "/dav/alpha/bobs.txt", ALICE, lockinfo, strlen(lockinfo), "application/xml", NULL);
	IT_ASSERT_STATUS(r, 423);
	it_response_free(r);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/bobs.txt", BOB, "b", 1, NULL, ifh, NULL)), 204);

	/* only a manager's interactive session lists and breaks other accounts' locks */
	IT_EXPECT_GET(E->s, &E->bob, "/api/v1/locks", 403);
	r = it_get(E->s, &E->alice, "/api/v1/locks");
	IT_ASSERT_STATUS(r, 200);
	assert_true(has(r, tok));
	assert_true(has(r, "\"login\":\"bob\""));
	assert_true(has(r, "\"path\":\"/bobs.txt\""));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/locks/%s", tok);
	r = basic("DELETE", path, "alice@alpha", E->alice_ap, NULL, 0, NULL, NULL);   /* an app password never administers */
	IT_ASSERT_STATUS(r, 403);
	it_response_free(r);
	r = it_send(E->s, &E->bob, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 403);
	it_response_free(r);
	r = it_send(E->s, &E->alice, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_send(E->s, &E->alice, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/bobs.txt", ALICE, "a", 1, NULL, NULL)), 204);
	assert_int_equal(it_audit_count(E->s, &E->alice, "action=dav.lock.break"), 1);
}

static void test_lock_ends_with_resource(void **state)
{
	char tok[IT_STR], path[64];
	struct it_response *r;
	long long id;

	(void)state;
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/ldir", BOB, NULL, 0, NULL, NULL)), 201);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/ldir/f.txt", BOB, "f", 1, NULL, NULL)), 201);
	lock_ok("/dav/alpha/ldir", BOB, "Depth: infinity", tok, sizeof(tok));
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/ldir/f.txt", ALICE, "x", 1, NULL, NULL)), 423);
	/* deleted through the API (not WebDAV): the lock on it and below goes with it */
	id = node_id("/ldir");
	assert_true(id > 0);
	snprintf(path, sizeof(path), "/api/v1/folders/%lld", id);
	r = it_send(E->s, &E->alice, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	assert_int_equal(locks_on("/ldir"), 0);
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/ldir", ALICE, NULL, 0, NULL, NULL)), 201);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/ldir/f.txt", ALICE, "y", 1, NULL, NULL)), 201);

	/* a rename through the API: the old path's lock does not stay behind for a newcomer */
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/ren.txt", BOB, "r", 1, NULL, NULL)), 201);
	lock_ok("/dav/alpha/ren.txt", BOB, "Depth: 0", tok, sizeof(tok));
	id = node_id("/ren.txt");
	assert_true(id > 0);
	snprintf(path, sizeof(path), "/api/v1/files/%lld", id);
	r = it_send(E->s, &E->alice, "PATCH", path, json_pack("{s:s}", "name", "renamed.txt"));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/ren.txt", ALICE, "n", 1, NULL, NULL)), 201);
}

static void test_lock_ends_with_owner_and_ids_not_reused(void **state)
{
	struct it_session carol, dave;
	char carol_ap[IT_STR], dave_ap[IT_STR], tok[IT_STR], probe[IT_STR], lt[IT_STR * 2];
	struct it_response *r;
	long long carol_id, dave_id, alice_id, bob_id;

	(void)state;
	it_create_account(E->s, &E->alice, "alpha", "carol", "user", USER_PW, &carol);
	app_password(&carol, carol_ap);
	lock_ok("/dav/alpha/carols.txt", "carol", carol_ap, "Depth: 0", tok, sizeof(tok));
	carol_id = lock_owner_id(tok);
	/* the newest id: above alice's and bob's, the tenant's (and the server's) other accounts */
	lock_ok("/dav/alpha/id-probe.txt", ALICE, "Depth: 0", probe, sizeof(probe));
	alice_id = lock_owner_id(probe);
	snprintf(lt, sizeof(lt), "Lock-Token: <%s>", probe);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/id-probe.txt", ALICE, NULL, 0, NULL, lt, NULL)), 204);
	lock_ok("/dav/alpha/id-probe.txt", BOB, "Depth: 0", probe, sizeof(probe));
	bob_id = lock_owner_id(probe);
	snprintf(lt, sizeof(lt), "Lock-Token: <%s>", probe);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/id-probe.txt", BOB, NULL, 0, NULL, lt, NULL)), 204);
	assert_true(carol_id > alice_id && carol_id > bob_id);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/carols.txt", ALICE, "x", 1, NULL, NULL)), 423);
	r = it_send(E->s, &E->alice, "DELETE", "/api/v1/accounts/carol", NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	/* the lock ended with its owner */
	assert_int_equal(locks_on("/carols.txt"), 0);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/carols.txt", ALICE, "x", 1, NULL, NULL)), 204);
	/* the next account does not get carol's id (SQLite would reuse the highest id) */
	it_create_account(E->s, &E->alice, "alpha", "dave", "user", USER_PW, &dave);
	app_password(&dave, dave_ap);
	lock_ok("/dav/alpha/daves.txt", "dave", dave_ap, "Depth: 0", tok, sizeof(tok));
	dave_id = lock_owner_id(tok);
	assert_true(dave_id > carol_id);
	snprintf(lt, sizeof(lt), "Lock-Token: <%s>", tok);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/daves.txt", "dave", dave_ap, NULL, 0, NULL, lt, NULL)),
			 204);
}

/* ---- smaller points ---- */

static void test_active_content_range_put_bare_unlock(void **state)
{
	static const char html[] = "<html><script>alert(document.cookie)</script></html>";
	static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
	struct it_response *r;
	char tok[IT_STR], lt[IT_STR * 2], path[64];

	(void)state;
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/page.html", ALICE, html, strlen(html), "text/html", NULL)),
			 201);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/pic.svg", ALICE, svg, strlen(svg), "image/svg+xml", NULL)),
			 201);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/plain.txt", ALICE, "t", 1, "text/plain", NULL)), 201);
	r = basic("GET", "/dav/alpha/page.html", ALICE, NULL, 0, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(has(r, "Content-Disposition: attachment"));
	assert_true(has(r, "X-Content-Type-Options: nosniff"));
	assert_true(has(r, "sandbox"));
	it_response_free(r);
	r = basic("GET", "/dav/alpha/pic.svg", ALICE, NULL, 0, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(has(r, "Content-Disposition: attachment"));
	assert_true(has(r, "sandbox"));
	it_response_free(r);
	/* harmless types stay inline for WebDAV clients, still sandboxed */
	r = basic("GET", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_false(has(r, "Content-Disposition"));
	assert_true(has(r, "sandbox"));
	it_response_free(r);
	/* the API: always an attachment, sandboxed, nosniff */
	snprintf(path, sizeof(path), "/api/v1/files/%lld/content",
		 node_id("/page.html"));
	r = it_get(E->s, &E->alice, path);
	IT_ASSERT_STATUS(r, 200);
	assert_true(has(r, "Content-Disposition: attachment"));
	assert_true(has(r, "sandbox"));
	assert_true(has(r, "X-Content-Type-Options: nosniff"));
	it_response_free(r);

	/* PUT with Content-Range: 400, nothing changed (RFC 9110 14.5) */
	r = basic("PUT", "/dav/alpha/plain.txt", ALICE, "XX", 2, "text/plain", "Content-Range: bytes 0-1/2", NULL);
	IT_ASSERT_STATUS(r, 400);
	it_response_free(r);
	{
		struct it_request req = { .method = "PUT", .path = "/api/v1/folders/root/files/plain.txt",
					  .body = "XX", .body_len = 2, .content_type = "text/plain",
					  .cookie = E->alice.token, .csrf = E->alice.csrf,
					  .headers = (const char *const[]){ "Content-Range: bytes 0-1/2", NULL } };

		r = it_request(E->s, &req);
		IT_ASSERT_PROBLEM(r, 400, "invalid-field");
		it_response_free(r);
	}
	r = basic("GET", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL, NULL);
	assert_string_equal(r->body, "t");
	it_response_free(r);

	/* UNLOCK with a bare token, as Windows' client sends it */
	lock_ok("/dav/alpha/plain.txt", ALICE, "Depth: 0", tok, sizeof(tok));
	snprintf(lt, sizeof(lt), "Lock-Token: %s", tok);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL, lt, NULL)), 204);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/plain.txt", BOB, "b", 1, NULL, NULL)), 204);
	assert_int_equal(status_of(basic("UNLOCK", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL,
					 "Lock-Token: <>", NULL)), 400);
}

/* docs/security.md: a mutating Basic request a browser marks cross-site is refused (403
 * csrf-token-invalid), under /dav/ as on the API; reads are not. */
static void test_cross_site_basic(void **state)
{
	struct it_response *r;

	(void)state;
	r = basic("PUT", "/dav/alpha/xsite.txt", ALICE, "x", 1, NULL, "Sec-Fetch-Site: cross-site", NULL);
	IT_ASSERT_STATUS(r, 403);
	assert_true(has(r, "cross-site"));
	it_response_free(r);
	assert_int_equal(status_of(basic("DELETE", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL,
					 "Sec-Fetch-Site: same-site", NULL)), 403);
	assert_int_equal(status_of(basic("PROPPATCH", "/dav/alpha/plain.txt", ALICE, "<x/>", 4, "application/xml",
					 "Sec-Fetch-Site: cross-site", NULL)), 403);
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/xs", ALICE, NULL, 0, NULL,
					 "Sec-Fetch-Site: cross-site", NULL)), 403);
	r = it_request(E->s, &(struct it_request){ .method = "POST", .path = "/api/v1/folders/root/children",
						  .body = "{\"name\":\"xs\"}", .body_len = 13,
						  .headers = (const char *const[]){ "Sec-Fetch-Site: cross-site", NULL } });
	IT_ASSERT_STATUS(r, 401);   /* no credentials at all: nothing to ride on */
	it_response_free(r);
	assert_int_equal(items_where(name_is, "xsite.txt") + items_where(name_is, "xs"), 0);
	assert_int_equal(live_named("plain.txt"), 1);
	/* reads and same-origin or direct (none) requests go through */
	assert_int_equal(status_of(basic("GET", "/dav/alpha/plain.txt", ALICE, NULL, 0, NULL,
					 "Sec-Fetch-Site: cross-site", NULL)), 200);
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/xsite.txt", ALICE, "x", 1, NULL,
					 "Sec-Fetch-Site: same-origin", NULL)), 201);
	assert_int_equal(status_of(basic("DELETE", "/dav/alpha/xsite.txt", ALICE, NULL, 0, NULL,
					 "Sec-Fetch-Site: none", NULL)), 204);
}

/* ---- races ---- */

#define RACERS 8

struct racer {
	pthread_barrier_t *go;
	char path[128];
	const char *body;
	size_t n;
	bool lock;
	long status;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct it_response *resp;

	pthread_barrier_wait(r->go);
	if (r->lock)
		resp = basic("LOCK", r->path, ALICE, lockinfo, strlen(lockinfo), "application/xml", "Depth: 0", NULL);
	else
		resp = basic("PUT", r->path, ALICE, r->body, r->n, NULL, NULL);
	r->status = resp->status;
	it_response_free(resp);
	return NULL;
}

static void run_racers(struct racer *rs)
{
	pthread_barrier_t go;
	pthread_t th[RACERS];
	int i;

	pthread_barrier_init(&go, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		rs[i].go = &go;
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
}

static void test_parallel_uploads_against_quota(void **state)
{
	enum { SIZE = 20000, FITS = 3 };
	struct racer rs[RACERS];
	char *data = malloc(SIZE);
	long long before, item;
	int i, ok = 0, full = 0;

	(void)state;
	memset(data, 'p', SIZE);
	/* the trash emptied first, so that every stored byte is in the tree the API lists */
	{
		json_t *trash = it_trash(E->s, &E->alice), *n;
		size_t k;

		json_array_foreach(trash, k, n) {
			char path[64];
			struct it_response *r;

			snprintf(path, sizeof(path), "/api/v1/trash/%lld",
				 (long long)json_integer_value(json_object_get(n, "id")));
			r = it_send(E->s, &E->alice, "DELETE", path, NULL);
			IT_ASSERT_STATUS(r, 204);
			it_response_free(r);
		}
		json_decref(trash);
	}
	assert_int_equal(status_of(basic("MKCOL", "/dav/alpha/race", ALICE, NULL, 0, NULL, NULL)), 201);
	before = quota_num("used_bytes");
	item = quota_num("item_bytes");
	set_quota(before + FITS * (SIZE + item));   /* room for exactly FITS new files */
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < RACERS; i++) {
		snprintf(rs[i].path, sizeof(rs[i].path), "/dav/alpha/race/f%d.bin", i);
		rs[i].body = data;
		rs[i].n = SIZE;
	}
	run_racers(rs);
	for (i = 0; i < RACERS; i++) {
		if (rs[i].status == 201)
			ok++;
		else if (rs[i].status == 507)
			full++;
		else
			fail_msg("racer %d: %ld", i, rs[i].status);
	}
	print_message("parallel PUTs: %d stored, %d refused\n", ok, full);
	assert_int_equal(ok, FITS);
	assert_int_equal(full, RACERS - FITS);
	assert_int_equal(quota_num("used_bytes"), before + FITS * (SIZE + item));
	/* the counter is the sum of what is stored, and FITS files are */
	{
		json_t *tree = it_tree(E->s, &E->alice), *trash = it_trash(E->s, &E->alice), *n;
		long long sum = 0;
		long fbin = 0;
		size_t k;

		assert_int_equal(json_array_size(trash), 0);
		json_array_foreach(tree, k, n) {
			const char *name = it_json_str(n, "name");
			size_t len = strlen(name);

			sum += json_integer_value(json_object_get(n, "size"));
			fbin += (name[0] == 'f' || name[0] == 'F') && len >= 5 && !strcasecmp(name + len - 4, ".bin");
		}
		json_decref(tree);
		json_decref(trash);
		assert_int_equal(quota_num("content_bytes"), sum);
		assert_int_equal(fbin, FITS);   /* as SQL's LIKE 'f%.bin' */
	}
	set_quota(10000000000LL);
	free(data);
}

static void test_parallel_locks(void **state)
{
	struct racer rs[RACERS];
	int i, ok = 0, refused = 0;

	(void)state;
	assert_int_equal(status_of(basic("PUT", "/dav/alpha/contended.txt", ALICE, "c", 1, NULL, NULL)), 201);
	memset(rs, 0, sizeof(rs));
	for (i = 0; i < RACERS; i++) {
		snprintf(rs[i].path, sizeof(rs[i].path), "/dav/alpha/contended.txt");
		rs[i].lock = true;
	}
	run_racers(rs);
	for (i = 0; i < RACERS; i++) {
		if (rs[i].status == 200)
			ok++;
		else if (rs[i].status == 423)
			refused++;
		else
			fail_msg("locker %d: %ld", i, rs[i].status);
	}
	assert_int_equal(ok, 1);
	assert_int_equal(refused, RACERS - 1);
	assert_int_equal(locks_on("/contended.txt"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_metadata_counts_toward_quota, roomy),
		cmocka_unit_test_setup(test_names_nfc_and_bidi, roomy),
		cmocka_unit_test_setup(test_move_checks_subtree_height, roomy),
		cmocka_unit_test_setup(test_trash_restore_keeps_depth, roomy),
		cmocka_unit_test_setup(test_lock_owner_rule_and_manager_break, roomy),
		cmocka_unit_test_setup(test_lock_ends_with_resource, roomy),
		cmocka_unit_test_setup(test_lock_ends_with_owner_and_ids_not_reused, roomy),
		cmocka_unit_test_setup(test_active_content_range_put_bare_unlock, roomy),
		cmocka_unit_test_setup(test_cross_site_basic, roomy),
		cmocka_unit_test_setup(test_parallel_uploads_against_quota, roomy),
		cmocka_unit_test_setup(test_parallel_locks, roomy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
