/*
 * Integration: folder listings sorted by the server (issue 15), GET
 * /api/v1/folders/{id}/children?sort=name|size|modified&order=asc|desc&limit=&after=, with
 * keyset paging through the opaque next cursor: every entry exactly once and in order for
 * each sort and direction (ties of size or time broken by id), with the label filter, the
 * old after=<name> paging still working, and bad parameters refused. The constant cost per
 * page in a folder of 100,000 entries is bench/listing.sh's (and unit/test_files checks the
 * query plans use the indexes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define N_FILES 23

static char folder[32];

static void put(struct it_server *s, const struct it_session *sess, const char *name, size_t size)
{
	char path[IT_STR * 2], enc[IT_STR];
	char *body = calloc(1, size + 1);
	struct it_response *r;

	memset(body, 'b', size);
	it_url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/folders/%s/files/%s", folder, enc);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = body, .body_len = size,
						.content_type = "application/octet-stream", .cookie = sess->token,
						.csrf = sess->csrf });
	assert_true(r->status == 201 || r->status == 200);
	it_response_free(r);
	free(body);
}

/* Every page of the listing with query; asserts the order; returns the names in order. */
static json_t *all_pages(struct it_server *s, const struct it_session *sess, const char *query,
			 const char *key, bool desc, int *ret_pages)
{
	json_t *out = json_array();
	char after[IT_STR * 2] = "", path[IT_STR * 4];
	long long prev_key = 0, prev_id = 0;
	const char *prev_name = NULL;
	int pages = 0;

	for (;;) {
		struct it_response *r;
		json_t *items, *it;
		size_t i;
		char enc[IT_STR * 3];

		it_url_encode(after, enc, sizeof(enc));
		snprintf(path, sizeof(path), "/api/v1/folders/%s/children?limit=5&%s%s%s", folder, query,
			 *after ? "&after=" : "", *after ? enc : "");
		r = it_get(s, sess, path);
		IT_ASSERT_STATUS(r, 200);
		items = json_object_get(r->json, "items");
		assert_true(json_array_size(items) <= 5);
		json_array_foreach(items, i, it) {
			const char *name = json_string_value(json_object_get(it, "name"));
			long long id = json_integer_value(json_object_get(it, "id"));

			if (key) {
				long long k = !strcmp(key, "size") ? json_integer_value(json_object_get(it, "size"))
								   : (long long)json_array_size(out);   /* see below */

				if (!strcmp(key, "size") && json_array_size(out) > 0) {
					if (desc)
						assert_true(k < prev_key || (k == prev_key && id < prev_id));
					else
						assert_true(k > prev_key || (k == prev_key && id > prev_id));
				}
				prev_key = k;
			} else if (prev_name) {
				assert_true(desc ? strcmp(name, prev_name) < 0 : strcmp(name, prev_name) > 0);
			}
			prev_id = id;
			json_array_append_new(out, json_string(name));
			prev_name = json_string_value(json_array_get(out, json_array_size(out) - 1));
		}
		pages++;
		if (!json_is_true(json_object_get(r->json, "more"))) {
			assert_true(json_is_null(json_object_get(r->json, "next")));
			it_response_free(r);
			break;
		}
		snprintf(after, sizeof(after), "%s", json_string_value(json_object_get(r->json, "next")));
		assert_true(*after);
		it_response_free(r);
		assert_true(pages < 100);
	}
	*ret_pages = pages;
	return out;
}

static void test_sorted_listing(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	json_t *names, *again;
	char name[64], path[IT_STR * 2];
	int i, pages;

	r = it_send(w->s, &w->auser, "POST", "/api/v1/folders/root/children", json_pack("{s:s}", "name", "big"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(folder, sizeof(folder), "%lld", (long long)json_integer_value(json_object_get(r->json, "id")));
	it_response_free(r);
	/* sizes repeat (ties broken by id); names not in size order */
	for (i = 0; i < N_FILES; i++) {
		snprintf(name, sizeof(name), "f-%02d-%s.txt", (i * 7) % N_FILES, i % 2 ? "日本" : "en");
		put(w->s, &w->auser, name, (size_t)(i % 5) * 10);
	}
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?limit=1000", folder);

	names = all_pages(w->s, &w->auser, "sort=name", NULL, false, &pages);
	assert_int_equal(json_array_size(names), N_FILES);
	assert_int_equal(pages, 5);
	json_decref(names);
	names = all_pages(w->s, &w->auser, "sort=name&order=desc", NULL, true, &pages);
	assert_int_equal(json_array_size(names), N_FILES);
	json_decref(names);
	names = all_pages(w->s, &w->auser, "sort=size", "size", false, &pages);
	assert_int_equal(json_array_size(names), N_FILES);
	json_decref(names);
	names = all_pages(w->s, &w->auser, "sort=size&order=desc", "size", true, &pages);
	assert_int_equal(json_array_size(names), N_FILES);
	json_decref(names);
	/* modified: upload order; a replacement moves the file to the end */
	names = all_pages(w->s, &w->auser, "sort=modified", "modified", false, &pages);
	assert_int_equal(json_array_size(names), N_FILES);
	snprintf(name, sizeof(name), "%s", json_string_value(json_array_get(names, 0)));
	json_decref(names);
	put(w->s, &w->auser, name, 3);
	names = all_pages(w->s, &w->auser, "sort=modified", "modified", false, &pages);
	assert_string_equal(json_string_value(json_array_get(names, N_FILES - 1)), name);
	json_decref(names);
	again = all_pages(w->s, &w->auser, "sort=modified&order=desc", "modified", true, &pages);
	assert_string_equal(json_string_value(json_array_get(again, 0)), name);
	assert_int_equal(json_array_size(again), N_FILES);
	json_decref(again);

	/* label filter with a sort */
	for (i = 0; i < 3; i++) {
		long long id;

		snprintf(name, sizeof(name), "/big/f-%02d-%s.txt", (i * 7) % N_FILES, i % 2 ? "日本" : "en");
		id = it_tree_id(w->s, &w->auser, name);
		assert_true(id > 0);
		snprintf(path, sizeof(path), "/api/v1/files/%lld/labels/hot", id);
		r = it_send(w->s, &w->auser, "PUT", path, NULL);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
	}
	names = all_pages(w->s, &w->auser, "sort=size&order=desc&label=hot", "size", true, &pages);
	assert_int_equal(json_array_size(names), 3);
	json_decref(names);

	/* the old paging by name still works */
	names = all_pages(w->s, &w->auser, "sort=name", NULL, false, &pages);
	{
		char enc[256];

		it_url_encode(json_string_value(json_array_get(names, 4)), enc, sizeof(enc));
		snprintf(path, sizeof(path), "/api/v1/folders/%s/children?limit=3&after=%s", folder, enc);
	}
	r = it_get(w->s, &w->auser, path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(json_array_get(json_object_get(r->json, "items"), 0), "name"),
			    json_string_value(json_array_get(names, 5)));
	it_response_free(r);
	json_decref(names);

	/* bad parameters */
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?sort=owner", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?order=up", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?sort=size&after=n/a/6162/1", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);   /* a cursor of another sort */
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?sort=size&after=s/a/x/1", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?after=n/a/2e2e/1", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);   /* ".." is no name */
	snprintf(path, sizeof(path), "/api/v1/folders/%s/children?sort=size&after=f-01-en.txt", folder);
	IT_EXPECT_GET(w->s, &w->auser, path, 400);   /* a name is a cursor of sort=name only */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sorted_listing, it_setup_world, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
