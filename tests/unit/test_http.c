/*
 * Unit tests for the static path and routing helpers of src/http/server.c, included here
 * (h2o t/00unit style): decode_path() against accept and refuse tables (bad and truncated
 * %-escapes, %00 and other control bytes raw or escaped, backslash raw or escaped, invalid
 * UTF-8 raw or escaped (overlong, surrogate, truncated), empty, "." and ".." segments raw or
 * escaped, query and fragment cut off); route_match() with literal and '*' patterns and
 * their parameters; json_depth() with the limit the dispatcher applies; the composed route
 * table (every file's slice: patterns, collisions, flags, permissions, Allow); and the typed request fields
 * (http_fields_check, fields.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../src/http/server.c"

static void test_decode_accept(void **state)
{
	static const struct { const char *raw, *want; } cases[] = {
		{ "/", "/" },
		{ "/api/v1/status", "/api/v1/status" },
		{ "/api/v1/status?x=1", "/api/v1/status" },
		{ "/api/v1/status#frag", "/api/v1/status" },
		{ "/api/v1/status?a=%00", "/api/v1/status" },      /* the query is not the path */
		{ "/?", "/" },
		{ "/a%20b", "/a b" },
		{ "/%41%62c", "/Abc" },
		{ "/%7e%7E", "/~~" },
		{ "/x%2e", "/x." },
		{ "/.x", "/.x" },
		{ "/...", "/..." },
		{ "/x..y", "/x..y" },
		{ "/a.b/c", "/a.b/c" },
		{ "/%E8%94%B5", "/蔵" },
		{ "/蔵/鍵", "/蔵/鍵" },
		{ "/a+b", "/a+b" },
		{ "/a%25b", "/a%b" },
		{ "/%2541", "/%41" },                             /* decoded once only */
	};
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = decode_path(a, cases[i].raw);

		if (!got)
			fail_msg("decode_path refused \"%s\"", cases[i].raw);
		if (strcmp(got, cases[i].want))
			fail_msg("decode_path(\"%s\") = \"%s\", want \"%s\"", cases[i].raw, got, cases[i].want);
	}
	arena_free(a);
}

static void test_decode_refuse(void **state)
{
	static const char *const cases[] = {
		"", "?", "#", "a", "api/v1", " /", "*",
		/* bad escapes */
		"/%", "/%4", "/a%", "/a%g0", "/a%0g", "/%%41", "/% 41", "/%+1", "/%-1", "/%4?1",
		/* NUL and control bytes, raw and escaped */
		"/%00", "/a%00b", "/a\x01", "/a\tb", "/a\nb", "/a\rb", "/a\x7f", "/a%7F", "/%0a", "/%0D",
		"/%1f", "/%09",
		/* backslash */
		"/a\\b", "/a%5cb", "/a%5Cb", "/..%5c..", "/\\",
		/* invalid UTF-8, raw and escaped */
		"/\xff", "/%ff", "/%C0%AF", "/\xc0\xaf", "/%ED%A0%80", "/%E8%94", "/%80", "/%c2%85",
		/* empty, "." and ".." segments */
		"//", "/a//b", "/a/", "/api/v1/status/", "/.", "/..", "/./a", "/../a", "/a/.", "/a/..",
		"/a/./b", "/a/../b", "/%2e", "/%2E%2e", "/a/%2e%2e/b", "/a/.%2e", "/a%2f%2fb", "/a%2f",
		"/%2f", "/%2e%2e%2fetc",
		/* an escaped slash never splits or joins segments */
		"/api/v1/accounts/x%2Funlock", "/a%2fb",
	};
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = decode_path(a, cases[i]);

		if (got)
			fail_msg("decode_path accepted \"%s\" as \"%s\"", cases[i], got);
	}
	arena_free(a);
}

static void test_route_match(void **state)
{
	struct request req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.arena = arena_new();
	assert_non_null(req.arena);

	assert_true(route_match("/api/v1/status", "/api/v1/status", &req));
	assert_int_equal(req.n_params, 0);
	assert_false(route_match("/api/v1/status", "/api/v1/statu", &req));
	assert_false(route_match("/api/v1/status", "/api/v1/statuses", &req));
	assert_false(route_match("/api/v1/status", "/api/v1/status/x", &req));
	assert_false(route_match("/api/v1/status", "/API/v1/status", &req));
	assert_true(route_match("/", "/", &req));
	assert_false(route_match("/", "/x", &req));

	assert_true(route_match("/api/v1/accounts/*", "/api/v1/accounts/alice", &req));
	assert_int_equal(req.n_params, 1);
	assert_string_equal(req.params[0], "alice");
	assert_true(route_match("/api/v1/accounts/*", "/api/v1/accounts/蔵.x-1", &req));
	assert_string_equal(req.params[0], "蔵.x-1");
	assert_false(route_match("/api/v1/accounts/*", "/api/v1/accounts/", &req));
	assert_false(route_match("/api/v1/accounts/*", "/api/v1/accounts", &req));
	assert_false(route_match("/api/v1/accounts/*", "/api/v1/accounts/a/b", &req));
	assert_false(route_match("/api/v1/accounts/*", "/api/v1/accountsx/a", &req));

	assert_true(route_match("/api/v1/accounts/*/unlock", "/api/v1/accounts/bob/unlock", &req));
	assert_int_equal(req.n_params, 1);
	assert_string_equal(req.params[0], "bob");
	assert_false(route_match("/api/v1/accounts/*/unlock", "/api/v1/accounts/bob/unlock/x", &req));
	assert_false(route_match("/api/v1/accounts/*/unlock", "/api/v1/accounts//unlock", &req));
	assert_false(route_match("/api/v1/accounts/*/unlock", "/api/v1/accounts/bob/lock", &req));

	assert_true(route_match("/x/*/y/*", "/x/1/y/2", &req));
	assert_int_equal(req.n_params, 2);
	assert_string_equal(req.params[0], "1");
	assert_string_equal(req.params[1], "2");
	/* more '*' than REQUEST_MAX_PARAMS: refused rather than overflowing params */
	assert_false(route_match("/*/*/*/*/*", "/a/b/c/d/e", &req));
	assert_true(route_match("/*/*/*/*", "/a/b/c/d", &req));
	assert_int_equal(req.n_params, 4);
	assert_string_equal(req.params[3], "d");
	arena_free(req.arena);
}

/* The composed route table (every handler file's slice): each route is reachable by a
 * decoded path and only through its own row (no two routes of one method match one path, and
 * nothing else matches a path under /dav/), the lookup of dispatch() finds it, its flags make
 * sense together, a route behind a session needs a permission some role has, and a route
 * whose path carries a secret is one the log redaction knows. */
static void test_route_table(void **state)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL };
	const struct route *table;
	struct request req;
	struct arena *a = arena_new();
	size_t n, i, j, k, hits, total = 0, n_dav = 0;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.arena = a;
	table = http_routes(&n);
	assert_false(route_overflow);
	for (i = 0; i < ARRAY_SIZE(slices); i++) {
		assert_true(*slices[i].n > 0);
		total += *slices[i].n;
	}
	assert_int_equal(n, total);
	assert_true(n + 64 <= HTTP_ROUTES_MAX);   /* room for the next features */
	for (i = 0; i < n; i++) {
		const struct route *rt = &table[i], *found;
		char sample[160], allow[128], redacted[256], *p;
		const char *q, *m;
		char *path;

		/* flags and method */
		assert_true(rt->pattern[0] == '/');
		assert_non_null(rt->fn);
		assert_false((rt->flags & R_BODY) && (rt->flags & R_STREAM));
		if (rt->flags & R_DAV) {
			assert_string_equal(rt->method, "*");
			assert_true(rt->flags & R_STREAM);
			assert_false(rt->flags & R_PUBLIC);
			assert_int_equal(rt->pattern[strlen(rt->pattern) - 1], '/');
			n_dav++;
		} else {
			for (k = 0; methods[k] && strcmp(methods[k], rt->method); k++)
				;
			if (!methods[k])
				fail_msg("%s %s: not a method the API serves", rt->method, rt->pattern);
		}
		/* the pattern with each '*' replaced by "x%41" (decoded: "xA"); a prefix gets it after */
		for (q = rt->pattern, p = sample; *q; q++) {
			if (*q == '*') {
				memcpy(p, "x%41", 4);
				p += 4;
			} else {
				*p++ = *q;
			}
		}
		*p = '\0';
		if (rt->flags & R_DAV)
			str_printf(sample, sizeof(sample), "%sx%%41", rt->pattern);
		path = decode_path(a, sample);
		assert_non_null(path);
		m = (rt->flags & R_DAV) ? NULL : rt->method;
		assert_true(route_matches(rt, m, path, &req));
		for (j = 0; !(rt->flags & R_DAV) && j < req.n_params; j++)
			assert_string_equal(req.params[j], "xA");
		/* only this row serves the path with this method (a /dav/ path: with any method) */
		for (j = 0, hits = 0; j < n; j++)
			if (route_matches(&table[j], m, path, &req))
				hits++;
		if (hits != 1)
			fail_msg("%s %s: %zu routes serve %s", rt->method, rt->pattern, hits, path);
		/* dispatch()'s lookup finds it */
		found = route_find(&req, m ? m : "PROPFIND", path, allow, sizeof(allow));
		assert_ptr_equal(found, rt);
		/* a route behind a session needs a permission that some role has */
		if (!(rt->flags & R_PUBLIC))
			assert_true(authz_allowed(ROLE_MANAGER, rt->perm));
		/* a secret in the path never reaches the log, whatever the method */
		if (rt->flags & R_SECRET) {
			const char *shown = redact_path(path, redacted, sizeof(redacted));

			if (shown == path)
				fail_msg("%s %s carries a secret, but redact_path() does not know its prefix",
					 rt->method, rt->pattern);
		}
	}
	assert_int_equal(n_dav, 1);
	arena_free(a);
}

/* The Allow list of a 405 names every method of the path, in table order. */
static void test_route_allow(void **state)
{
	struct request req;
	char allow[128];

	(void)state;
	memset(&req, 0, sizeof(req));
	req.arena = arena_new();
	assert_non_null(req.arena);
	assert_null(route_find(&req, "PUT", "/api/v1/accounts/bob", allow, sizeof(allow)));
	assert_string_equal(allow, "GET, PATCH, DELETE");
	assert_null(route_find(&req, "DELETE", "/api/v1/me", allow, sizeof(allow)));
	assert_string_equal(allow, "GET, PATCH");
	assert_null(route_find(&req, "GET", "/api/v1/me/mfa/webauthn/register", allow, sizeof(allow)));
	assert_string_equal(allow, "POST, DELETE");
	assert_null(route_find(&req, "GET", "/api/v1/nothing", allow, sizeof(allow)));
	assert_string_equal(allow, "");
	/* every method under /dav/ (and /dav itself) goes to the one WebDAV route */
	assert_non_null(route_find(&req, "PROPFIND", "/dav/alpha/x", allow, sizeof(allow)));
	assert_non_null(route_find(&req, "BREW", "/dav", allow, sizeof(allow)));
	assert_null(route_find(&req, "GET", "/davx", allow, sizeof(allow)));
	arena_free(req.arena);
}

/* dav.c's method table: the read methods are exactly those a read-only app password may
 * use, every name is listed once, and the list ends. */
static void test_dav_method_table(void **state)
{
	static const char *const reads[] = { "OPTIONS", "GET", "HEAD", "PROPFIND" };
	size_t i, j, n_read = 0;
	const char *m;

	(void)state;
	for (i = 0; (m = dav_method_name(i)) != NULL; i++) {
		for (j = 0; j < i; j++)
			assert_string_not_equal(dav_method_name(j), m);
		if (dav_method_is_read(m))
			n_read++;
	}
	assert_int_equal(i, 12);
	assert_int_equal(n_read, ARRAY_SIZE(reads));
	for (i = 0; i < ARRAY_SIZE(reads); i++)
		assert_true(dav_method_is_read(reads[i]));
	assert_false(dav_method_is_read("PUT"));
	assert_false(dav_method_is_read("get"));
	assert_false(dav_method_is_read("BREW"));
	assert_false(dav_method_is_read(""));
}

static void test_json_depth(void **state)
{
	char buf[256];
	json_error_t jerr;
	json_t *v;
	size_t d;

	(void)state;
	v = json_loads("{}", 0, &jerr);
	assert_int_equal(json_depth(v), 1);
	json_decref(v);
	v = json_loads("{\"a\": [1, {\"b\": [[]]}], \"c\": 1}", 0, &jerr);
	assert_int_equal(json_depth(v), 5);
	json_decref(v);
	v = json_loads("7", JSON_DECODE_ANY, &jerr);
	assert_int_equal(json_depth(v), 0);
	json_decref(v);
	for (d = 1; d <= KURA_MAX_JSON_DEPTH + 1; d++) {
		size_t k;

		buf[0] = '\0';
		for (k = 0; k < d; k++)
			buf[k] = '[';
		for (k = 0; k < d; k++)
			buf[d + k] = ']';
		buf[2 * d] = '\0';
		v = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
		assert_non_null(v);
		assert_int_equal(json_depth(v), d);
		json_decref(v);
	}
	/* duplicates are refused with the dispatcher's flags */
	assert_null(json_loads("{\"a\": 1, \"a\": 2}", JSON_REJECT_DUPLICATES, &jerr));
}

/* The typed request fields of fields.c: each kind's accept and refuse cases, the member the
 * refusal names, nullable members and their state, and outputs left alone on refusal. */
static json_t *parse(const char *text)
{
	json_error_t jerr;
	/* JSON_ALLOW_NUL: the dispatcher's parser refuses \u0000 already; the fields check
	 * refuses it on its own too */
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

static void expect_refused(const struct field *spec, size_t n, const char *body, const char *field)
{
	struct field_error e;
	json_t *v = parse(body);

	memset(&e, 0, sizeof(e));
	if (http_fields_check(v, spec, n, &e) != -EINVAL)
		fail_msg("accepted %s", body);
	if (strcmp(e.field, field))
		fail_msg("%s: field \"%s\", want \"%s\" (%s)", body, e.field, field, e.detail);
	assert_true(e.detail[0] != '\0');
	json_decref(v);
}

static void test_fields(void **state)
{
	static const char *const kinds[] = { "download", "upload", NULL }, *const root[] = { "root", NULL };
	const char *name = NULL, *kind = NULL, *node_name = NULL, *pw = NULL;
	int64_t node = 0, count = 7;
	int flag = 5;
	json_t *list = NULL, *v;
	enum field_state pw_state = FIELD_SET, count_state = FIELD_SET;
	struct field_error e;
	const struct field spec[] = {
		{ .name = "name", .kind = FIELD_STRING, .max_chars = 3, .ret_str = &name },
		{ .name = "node_id", .kind = FIELD_INT, .required = true, .min = 1, .max = INT64_MAX,
		  .values = root, .ret_int = &node, .ret_str = &node_name },
		{ .name = "kind", .kind = FIELD_ENUM, .values = kinds, .ret_str = &kind },
		{ .name = "password", .kind = FIELD_STRING, .max_chars = 64, .nullable = true, .ret_str = &pw,
		  .ret_state = &pw_state },
		{ .name = "count", .kind = FIELD_INT, .min = 1, .max = 10, .nullable = true, .ret_int = &count,
		  .ret_state = &count_state },
		{ .name = "flag", .kind = FIELD_BOOL, .ret_bool = &flag },
		{ .name = "list", .kind = FIELD_ARRAY, .max_items = 2, .item = FIELD_STRING, .max_chars = 4,
		  .ret_array = &list },
		{ .name = "ids", .kind = FIELD_ARRAY, .max_items = 3, .item = FIELD_INT, .min = 1, .max = 9,
		  .item_index = true },
		{ .name = "obj", .kind = FIELD_OBJECT },
	};
	const size_t n = ARRAY_SIZE(spec);

	(void)state;
	/* everything absent but the required member */
	v = parse("{\"node_id\": 42}");
	assert_int_equal(http_fields_check(v, spec, n, &e), 0);
	assert_int_equal(node, 42);
	assert_null(node_name);
	assert_null(name);
	assert_null(kind);
	assert_null(pw);
	assert_int_equal(pw_state, FIELD_ABSENT);
	assert_int_equal(count, 7);               /* the caller's default stays */
	assert_int_equal(count_state, FIELD_ABSENT);
	assert_int_equal(flag, -1);
	assert_null(list);
	json_decref(v);

	/* everything set; "root" instead of a number; nulls where nullable */
	v = parse("{\"node_id\": \"root\", \"name\": \"蔵ab\", \"kind\": \"upload\", \"password\": null,"
		  " \"count\": null, \"flag\": false, \"list\": [\"a\", \"bcde\"], \"ids\": [1, 9], \"obj\": {}}");
	node = 0;
	assert_int_equal(http_fields_check(v, spec, n, &e), 0);
	assert_string_equal(node_name, "root");
	assert_int_equal(node, 0);                /* no integer came */
	assert_string_equal(name, "蔵ab");       /* three code points */
	assert_string_equal(kind, "upload");
	assert_null(pw);
	assert_int_equal(pw_state, FIELD_NULL);
	assert_int_equal(count_state, FIELD_NULL);
	assert_int_equal(count, 7);
	assert_int_equal(flag, 0);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 2);
	json_decref(v);
	v = parse("{\"node_id\": 9223372036854775807, \"count\": 10, \"password\": \"x\", \"list\": []}");
	assert_int_equal(http_fields_check(v, spec, n, &e), 0);
	assert_int_equal(node, INT64_MAX);
	assert_int_equal(count, 10);
	assert_int_equal(count_state, FIELD_SET);
	assert_string_equal(pw, "x");
	assert_int_equal(pw_state, FIELD_SET);
	json_decref(v);

	expect_refused(spec, n, "{}", "node_id");                                   /* required */
	expect_refused(spec, n, "{\"node_id\": 1, \"nodeid\": 1}", "nodeid");          /* unknown */
	expect_refused(spec, n, "{\"node_id\": 0}", "node_id");                      /* below min */
	expect_refused(spec, n, "{\"node_id\": -5}", "node_id");
	expect_refused(spec, n, "{\"node_id\": 1.0}", "node_id");                    /* a real */
	expect_refused(spec, n, "{\"node_id\": \"1\"}", "node_id");                  /* a string */
	expect_refused(spec, n, "{\"node_id\": \"Root\"}", "node_id");
	expect_refused(spec, n, "{\"node_id\": null}", "node_id");                   /* not nullable */
	expect_refused(spec, n, "{\"node_id\": true}", "node_id");
	expect_refused(spec, n, "{\"node_id\": 1, \"count\": 11}", "count");          /* above max */
	expect_refused(spec, n, "{\"node_id\": 1, \"count\": 0}", "count");
	expect_refused(spec, n, "{\"node_id\": 1, \"count\": \"root\"}", "count");    /* no names */
	expect_refused(spec, n, "{\"node_id\": 1, \"name\": \"abcd\"}", "name");      /* 4 > 3 */
	expect_refused(spec, n, "{\"node_id\": 1, \"name\": \"a\\u0000b\"}", "name");  /* NUL */
	expect_refused(spec, n, "{\"node_id\": 1, \"name\": null}", "name");
	expect_refused(spec, n, "{\"node_id\": 1, \"name\": 3}", "name");
	expect_refused(spec, n, "{\"node_id\": 1, \"kind\": \"Upload\"}", "kind");
	expect_refused(spec, n, "{\"node_id\": 1, \"kind\": \"upload\\u0000x\"}", "kind");
	expect_refused(spec, n, "{\"node_id\": 1, \"kind\": null}", "kind");
	expect_refused(spec, n, "{\"node_id\": 1, \"kind\": [\"upload\"]}", "kind");
	expect_refused(spec, n, "{\"node_id\": 1, \"flag\": 1}", "flag");
	expect_refused(spec, n, "{\"node_id\": 1, \"flag\": null}", "flag");
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": \"a\"}", "list");         /* not an array */
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": null}", "list");
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": [\"a\", \"b\", \"c\"]}", "list");   /* 3 > 2 */
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": [\"a\", 1]}", "list");     /* item kind */
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": [\"abcde\"]}", "list");    /* item length */
	expect_refused(spec, n, "{\"node_id\": 1, \"list\": [\"a\\u0000\"]}", "list");
	expect_refused(spec, n, "{\"node_id\": 1, \"ids\": [1, 10]}", "ids[1]");       /* item bounds, indexed */
	expect_refused(spec, n, "{\"node_id\": 1, \"ids\": [\"1\"]}", "ids[0]");
	expect_refused(spec, n, "{\"node_id\": 1, \"ids\": [1, 2, 3, 4]}", "ids");
	expect_refused(spec, n, "{\"node_id\": 1, \"obj\": []}", "obj");
	expect_refused(spec, n, "{\"node_id\": 1, \"password\": 5}", "password");
	/* an unknown member is named whole, however long */
	expect_refused(spec, n, "{\"node_id\": 1, \"x234567890123456789012345678901234567890123456789012345678901234567890"
		       "1234567890123456789012345678901234567890\": 1}",
		       "x2345678901234567890123456789012345678901234567890123456789012345678901234567890"
		       "123456789012345678901234567890");

	/* a refused body leaves the outputs as the caller had them (the handler does not run) */
	name = "kept";
	v = parse("{\"node_id\": 1, \"name\": \"ok\", \"count\": 99}");
	count = 3;
	assert_int_equal(http_fields_check(v, spec, n, &e), -EINVAL);
	assert_int_equal(count, 3);
	assert_string_equal(e.field, "count");
	assert_non_null(strstr(e.detail, "from 1 to 10"));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_accept), cmocka_unit_test(test_decode_refuse),
		cmocka_unit_test(test_route_match),   cmocka_unit_test(test_route_table),
		cmocka_unit_test(test_route_allow),   cmocka_unit_test(test_dav_method_table),
		cmocka_unit_test(test_json_depth),    cmocka_unit_test(test_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
