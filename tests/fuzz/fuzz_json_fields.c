/*
 * libFuzzer target for the JSON body path of the dispatcher in src/http/server.c (included
 * for the static json_depth()): json_loadb with the server's flags (JSON_REJECT_DUPLICATES),
 * the object check and the depth limit, then what http_take_fields() does with each member
 * (string length in characters vs bytes, embedded NUL refused). Checks that an accepted body
 * serializes and parses back equal, and that the depth is bounded by what was parsed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/server.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
