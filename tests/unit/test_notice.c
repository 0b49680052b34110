/*
 * The Markdown subset of announcement and incident bodies (src/notice/markdown.c) with hostile
 * input, and the channel table (src/notify/channels.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/limits.h"
#include "notice/notice.h"
#include "notify/channels.h"

static char *parsed(const char *src)
{
	json_t *b = markdown_parse(src);
	char *s;

	assert_non_null(b);
	s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(b);
	return s;
}

#define EXPECT_PARSE(src, want) do { \
		char *got_ = parsed(src); \
		assert_string_equal(got_, want); \
		free(got_); \
	} while (0)

static void test_subset(void **state)
{
	(void)state;
	EXPECT_PARSE("", "[]");
	EXPECT_PARSE("Hello *you* and **all** `x`",
		     "[{\"inline\":[{\"text\":\"Hello \"},{\"em\":true,\"text\":\"you\"},{\"text\":\" and \"},"
		     "{\"strong\":true,\"text\":\"all\"},{\"text\":\" \"},{\"code\":true,\"text\":\"x\"}],\"type\":\"p\"}]");
	/* two paragraphs; a line break inside one is kept */
	EXPECT_PARSE("a\nb\n\nc", "[{\"inline\":[{\"text\":\"a\\nb\"}],\"type\":\"p\"},{\"inline\":[{\"text\":\"c\"}],"
				  "\"type\":\"p\"}]");
	/* a list, an item continued on the next line, then an ordered list after a blank line */
	EXPECT_PARSE("- one\n  more\n* two\n\n1. first",
		     "[{\"items\":[[{\"text\":\"one more\"}],[{\"text\":\"two\"}]],\"type\":\"ul\"},"
		     "{\"items\":[[{\"text\":\"first\"}]],\"type\":\"ol\"}]");
	EXPECT_PARSE("see [the docs](https://kura.example/docs?a=1&b=2)",
		     "[{\"inline\":[{\"text\":\"see \"},{\"href\":\"https://kura.example/docs?a=1&b=2\","
		     "\"text\":\"the docs\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("\\*not em\\*", "[{\"inline\":[{\"text\":\"*not em*\"}],\"type\":\"p\"}]");
}

static void test_hostile(void **state)
{
	(void)state;
	/* raw HTML is text, never markup */
	EXPECT_PARSE("<script>alert(1)</script><img src=x onerror=alert(1)>",
		     "[{\"inline\":[{\"text\":\"<script>alert(1)</script><img src=x onerror=alert(1)>\"}],\"type\":\"p\"}]");
	/* links to other schemes stay text, whatever the spelling */
	EXPECT_PARSE("[x](javascript:alert(1))", "[{\"inline\":[{\"text\":\"[x](javascript:alert(1))\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](JaVaScRiPt:alert(1))", "[{\"inline\":[{\"text\":\"[x](JaVaScRiPt:alert(1))\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](data:text/html,<b>)", "[{\"inline\":[{\"text\":\"[x](data:text/html,<b>)\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](//evil.example/)", "[{\"inline\":[{\"text\":\"[x](//evil.example/)\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](https://)", "[{\"inline\":[{\"text\":\"[x](https://)\"}],\"type\":\"p\"}]");
	/* an attribute break-out in the address: refused (quotes, spaces, angle brackets) */
	EXPECT_PARSE("[x](https://a.example/\"onmouseover=alert(1))",
		     "[{\"inline\":[{\"text\":\"[x](https://a.example/\\\"onmouseover=alert(1))\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](https://a.example/ y)", "[{\"inline\":[{\"text\":\"[x](https://a.example/ y)\"}],\"type\":\"p\"}]");
	EXPECT_PARSE("[x](https://a.example/<b>)", "[{\"inline\":[{\"text\":\"[x](https://a.example/<b>)\"}],\"type\":\"p\"}]");
	/* nothing nests: markup inside a link text or emphasis is text */
	EXPECT_PARSE("**[a](https://a.example)**",
		     "[{\"inline\":[{\"strong\":true,\"text\":\"[a](https://a.example)\"}],\"type\":\"p\"}]");
	/* unclosed markers are text */
	EXPECT_PARSE("**open *half `tick [link](https://x.example",
		     "[{\"inline\":[{\"text\":\"**open *half `tick [link](https://x.example\"}],\"type\":\"p\"}]");
	/* bidirectional controls and other characters are data (the portal shows them visibly) */
	EXPECT_PARSE("\xe2\x80\xae" "abc", "[{\"inline\":[{\"text\":\"\\u202Eabc\"}],\"type\":\"p\"}]");
}

static void test_many_blocks_bounded(void **state)
{
	size_t n = KURA_MARKDOWN_BLOCKS_MAX * 3;
	char *src = malloc(n * 4 + 1);
	json_t *b;

	(void)state;
	for (size_t i = 0; i < n; i++)
		memcpy(src + 4 * i, "- x\n", 4);
	src[4 * n] = '\0';
	b = markdown_parse(src);
	assert_non_null(b);
	/* at most the limit of pieces: the rest joins the last item */
	assert_int_equal(json_array_size(b), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(b, 0), "items")), KURA_MARKDOWN_BLOCKS_MAX);
	json_decref(b);
	/* paragraphs too (found by fuzz_markdown): the last piece takes the rest */
	for (size_t i = 0; i < n; i++)
		memcpy(src + 4 * i, i % 2 ? "\n\n\n\n" : "para", 4);
	b = markdown_parse(src);
	assert_non_null(b);
	assert_int_equal(json_array_size(b), KURA_MARKDOWN_BLOCKS_MAX);
	json_decref(b);
	free(src);
}

static void test_plain(void **state)
{
	char *p;

	(void)state;
	p = markdown_plain("Hello *you*.\n\n- [docs](https://kura.example/d)\n- two\n\nEnd");
	assert_string_equal(p, "Hello you.\n\n- docs <https://kura.example/d>\n- two\n\nEnd");
	free(p);
	p = markdown_plain("[x](javascript:alert(1))");
	assert_string_equal(p, "[x](javascript:alert(1))");
	free(p);
}

static void test_source_valid(void **state)
{
	char *big = malloc(KURA_ANNOUNCE_BODY_MAX + 2);

	(void)state;
	assert_true(markdown_source_valid("a\n\tb\n"));
	assert_false(markdown_source_valid("a\r\nb"));        /* CR */
	assert_false(markdown_source_valid("a\x1b[31mb"));     /* ESC */
	assert_false(markdown_source_valid("\xff\xfe"));        /* not UTF-8 */
	assert_false(markdown_source_valid(NULL));
	memset(big, 'a', KURA_ANNOUNCE_BODY_MAX + 1);
	big[KURA_ANNOUNCE_BODY_MAX + 1] = '\0';
	assert_false(markdown_source_valid(big));
	big[KURA_ANNOUNCE_BODY_MAX] = '\0';
	assert_true(markdown_source_valid(big));
	free(big);
}

static void test_channels(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(channels_for("MAIL", NOTICE_CHANGE), CHANNEL_MAIL_MANAGERS);
	assert_int_equal(channels_for("DOCX", NOTICE_CHANGE), CHANNEL_PORTAL);
	assert_int_equal(channels_for("IAAS", NOTICE_CHANGE), CHANNEL_PORTAL);
	assert_int_equal(channels_for("ZTNA", NOTICE_CHANGE), CHANNEL_PORTAL | CHANNEL_MAIL_MANAGERS);
	assert_int_equal(channels_for("COLLAB", NOTICE_CHANGE), CHANNEL_PORTAL | CHANNEL_MAIL_CONTACTS);
	assert_int_equal(channels_for("NOPE", NOTICE_CHANGE), 0);
	assert_int_equal(channels_for(NULL, NOTICE_CHANGE), 0);
	channels_name(CHANNEL_PORTAL | CHANNEL_MAIL_CONTACTS, buf, sizeof(buf));
	assert_string_equal(buf, "portal,contacts");
	/* the catalog is the table: a [service.MAIL] override is what delivery obeys */
	{
		struct catalog_params p[CATALOG_N_SERVICES];
		char err[128];

		catalog_defaults(p);
		assert_int_equal(catalog_set(p, "MAIL", "change_notices", "portal,managers", err, sizeof(err)), 0);
		catalog_install(p);
		assert_int_equal(channels_for("MAIL", NOTICE_CHANGE), CHANNEL_PORTAL | CHANNEL_MAIL_MANAGERS);
		assert_int_equal(channels_for("MAIL", NOTICE_INCIDENT), catalog_params_of(catalog_index("MAIL"))->incident_channels);
		catalog_install(NULL);
		assert_int_equal(channels_for("MAIL", NOTICE_CHANGE), CHANNEL_MAIL_MANAGERS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subset),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_many_blocks_bounded),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_source_valid),
		cmocka_unit_test(test_channels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
