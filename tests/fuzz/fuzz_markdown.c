/*
 * libFuzzer target for the Markdown subset of announcement and incident bodies
 * (src/notice/markdown.c), whose output a browser turns into DOM nodes. Whatever the input,
 * the structure holds only the kinds the portal knows (blocks p, ul, ol; runs with text and
 * at most one of em, strong, code, or an href), every href is an absolute http(s) URL without
 * a space, quote, angle bracket or control character, the pieces are bounded by
 * KURA_MARKDOWN_BLOCKS_MAX, and the plain text for mails is produced as well. The input is a
 * C string (bytes after a NUL are not part of it), checked by markdown_source_valid first as
 * the callers do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/limits.h"
#include "notice/notice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_runs(json_t *runs)
{
	size_t i, k;
	json_t *r;

	if (!json_is_array(runs))
		abort();
	json_array_foreach(runs, i, r) {
		const char *href = json_string_value(json_object_get(r, "href"));

		if (!json_is_string(json_object_get(r, "text")) || json_object_size(r) > 2)
			abort();
		if (href) {
			if (strncasecmp(href, "https://", 8) && strncasecmp(href, "http://", 7))
				abort();
			if (strlen(href) > KURA_MARKDOWN_LINK_MAX)
				abort();
			for (k = 0; href[k]; k++)
				if ((unsigned char)href[k] <= 0x20 || strchr("\"'<>\\`\x7f", href[k]))
					abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1), *plain;
	json_t *blocks, *b, *item;
	size_t i, j, pieces = 0;

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	if (markdown_source_valid(src)) {
		blocks = markdown_parse(src);
		if (!blocks)
			abort();
		json_array_foreach(blocks, i, b) {
			const char *type = json_string_value(json_object_get(b, "type"));

			if (type && !strcmp(type, "p")) {
				check_runs(json_object_get(b, "inline"));
				pieces++;
			} else if (type && (!strcmp(type, "ul") || !strcmp(type, "ol"))) {
				json_array_foreach(json_object_get(b, "items"), j, item) {
					check_runs(item);
					pieces++;
				}
			} else {
				abort();
			}
		}
		if (pieces > KURA_MARKDOWN_BLOCKS_MAX)
			abort();
		json_decref(blocks);
		plain = markdown_plain(src);
		if (!plain)
			abort();
		free(plain);
	}
	free(src);
	return 0;
}
