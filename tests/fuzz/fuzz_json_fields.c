/*
 * libFuzzer target for the JSON body path of the dispatcher in src/http/server.c (included
 * for the static json_depth()): json_loadb with the server's flags (JSON_REJECT_DUPLICATES),
 * the object check and the depth limit, then what http_take_fields() does with each member
 * (string length in characters vs bytes, embedded NUL refused), and http_fields_check()
 * (fields.c) with a spec of every kind. Checks that an accepted body serializes and parses
 * back equal, that the depth is bounded by what was parsed, that a refusal names a member
 * and that what the check accepted is what the spec allows.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/server.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "a", "b", NULL };

static void check_fields(json_t *json)
{
	const char *s = NULL, *e = NULL, *alt = NULL;
	int64_t i = -7;
	int b = 0;
	json_t *arr = NULL;
	enum field_state st = FIELD_ABSENT;
	struct field_error err;
	const struct field spec[] = {
		{ .name = "s", .kind = FIELD_STRING, .max_chars = 8, .ret_str = &s },
		{ .name = "b", .kind = FIELD_BOOL, .ret_bool = &b },
		{ .name = "o", .kind = FIELD_OBJECT },
		{ .name = "i", .kind = FIELD_INT, .min = -5, .max = 5, .values = names, .nullable = true,
		  .ret_int = &i, .ret_str = &alt, .ret_state = &st },
		{ .name = "e", .kind = FIELD_ENUM, .values = names, .ret_str = &e },
		{ .name = "l", .kind = FIELD_ARRAY, .max_items = 3, .item = FIELD_INT, .min = 0, .max = 9,
		  .item_index = true, .ret_array = &arr },
	};
	size_t k;

	memset(&err, 0, sizeof(err));
	if (http_fields_check(json, spec, ARRAY_SIZE(spec), &err) < 0) {
		/* nothing is required here: the refusal names a member the body has (or an item
		 * of "l", the indexed array) */
		if (!err.detail[0])
			abort();
		if (!json_object_get(json, err.field) && (strncmp(err.field, "l[", 2) || !json_object_get(json, "l")))
			abort();
		return;
	}
	if (s && (strlen(s) > 8 * 4 || utf8_length(s, strlen(s)) > 8))
		abort();
	if (b != -1 && b != 0 && b != 1)
		abort();
	if (st == FIELD_SET && !alt && (i < -5 || i > 5))
		abort();
	if (alt && strcmp(alt, "a") && strcmp(alt, "b"))
		abort();
	if (e && strcmp(e, "a") && strcmp(e, "b"))
		abort();
	if (arr) {
		if (!json_is_array(arr) || json_array_size(arr) > 3)
			abort();
		for (k = 0; k < json_array_size(arr); k++) {
			json_t *v = json_array_get(arr, k);

			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 9)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	const char *key;
	json_t *json, *v, *back;
	char *text;

	if (size > KURA_MAX_JSON_BODY)
		return 0;
	json = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!json) {
		if (strnlen(jerr.text, sizeof(jerr.text)) == sizeof(jerr.text))
			abort();
		return 0;
	}
	if (!json_is_object(json) || json_depth(json) > KURA_MAX_JSON_DEPTH) {
		json_decref(json);
		return 0;
	}
	/* an object's depth is at least 1 and at most the number of opening brackets */
	if (json_depth(json) < 1 || json_depth(json) > size)
		abort();
	json_object_foreach(json, key, v) {
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			size_t len = json_string_length(v);

			/* what http_take_fields accepts: no NUL inside, valid UTF-8 (jansson's rule) */
			if (strlen(s) == len && utf8_length(s, len) > len)
				abort();
		}
		if (strlen(key) > size)
			abort();
	}
	check_fields(json);
	text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		abort();
	back = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!back || !json_equal(json, back))
		abort();
	json_decref(back);
	free(text);
	json_decref(json);
	return 0;
}
