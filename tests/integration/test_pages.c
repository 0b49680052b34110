/*
 * Integration: the browser files of web/ as a real `kura serve` sends them. Every asset
 * (each file in a folder of web/, read from the source tree here, so a file the build did
 * not embed is caught) at GET /assets/<name>: 200, its bytes, the media type of its
 * extension, a strong ETag, Cache-Control: no-cache, nosniff; If-None-Match with that tag
 * (also weak or in a list) → 304 without a body, another tag → 200; HEAD → the headers and
 * no body. Every page (each web/<name>.html, by its route): its bytes, text/html, the one
 * page CSP (the same header on every page), no-store; a page without a case here fails.
 * Unknown assets, pages asked for as assets and asset paths with folders → 404 problem+json;
 * other methods → 405.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

#define TOKEN "Abcdefghijklmnopqrstuvwxyz0123456789_-ABCDE"   /* 43 characters, like real ones */

/* The value of response header name (first one), or NULL. */
static const char *header(const struct it_response *r, const char *name, char *buf, size_t size)
{
	const char *p = r->headers;
	size_t n = strlen(name);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *v = p + n + 1;

		if (strncasecmp(p, name, n) || p[n] != ':')
			continue;
		v += strspn(v, " ");
		snprintf(buf, size, "%.*s", (int)strcspn(v, "\r\n"), v);
		return buf;
	}
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static const char *type_of(const char *name)
{
	if (ends_with(name, ".html"))
		return "text/html; charset=utf-8";
	if (ends_with(name, ".js"))
		return "text/javascript; charset=utf-8";
	if (ends_with(name, ".css"))
		return "text/css; charset=utf-8";
	if (ends_with(name, ".svg"))
		return "image/svg+xml";
	if (ends_with(name, ".png"))
		return "image/png";
	if (ends_with(name, ".txt"))
		return "text/plain; charset=utf-8";
	fail_msg("%s: add its media type to this test and to cmake/embed_web.cmake", name);
	return NULL;
}

static struct it_response *get(struct it_server *s, const char *method, const char *path,
			       const char *if_none_match)
{
	char line[256];
	const char *hdrs[] = { line, NULL };
	struct it_request req = { .method = method, .path = path };

	if (if_none_match) {
		snprintf(line, sizeof(line), "If-None-Match: %s", if_none_match);
		req.headers = hdrs;
	}
	return it_request(s, &req);
}

/* One asset: the GET, the conditional GETs and the HEAD. etag: filled with its ETag. */
static void check_asset(struct it_server *s, const char *file, const char *name, char *etag, size_t size)
{
	char path[256], buf[512], list[256];
	size_t len;
	char *want = it_read_file(file, &len);
	struct it_response *r;

	assert_non_null(want);
	snprintf(path, sizeof(path), "/assets/%s", name);
	r = get(s, "GET", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->content_type, type_of(name));
	assert_int_equal(r->body_len, len);
	assert_memory_equal(r->body, want, len);
	assert_non_null(header(r, "ETag", etag, size));
	assert_int_equal(strlen(etag), 34);          /* "<32 hex>": strong, not W/ */
	assert_true(etag[0] == '"' && etag[33] == '"');
	assert_string_equal(header(r, "Cache-Control", buf, sizeof(buf)), "no-cache");
	assert_string_equal(header(r, "X-Content-Type-Options", buf, sizeof(buf)), "nosniff");
	assert_string_equal(header(r, "Content-Security-Policy", buf, sizeof(buf)),
			    "default-src 'none'; frame-ancestors 'none'");
	it_response_free(r);

	/* revalidation: the same tag (alone, weak, in a list) is 304 with no body */
	snprintf(list, sizeof(list), "\"0000\", W/%s", etag);
	{
		const char *same[] = { etag, list, "*" };
		size_t i;

		for (i = 0; i < 3; i++) {
			r = get(s, "GET", path, same[i]);
			IT_ASSERT_STATUS(r, 304);
			assert_int_equal(r->body_len, 0);
			assert_string_equal(header(r, "ETag", buf, sizeof(buf)), etag);
			assert_string_equal(header(r, "Cache-Control", buf, sizeof(buf)), "no-cache");
			it_response_free(r);
		}
	}
	r = get(s, "GET", path, "\"00000000000000000000000000000000\"");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, len);
	it_response_free(r);

	/* HEAD: the same headers, no body */
	r = get(s, "HEAD", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(r->body_len, 0);
	assert_string_equal(r->content_type, type_of(name));
	assert_string_equal(header(r, "ETag", buf, sizeof(buf)), etag);
	snprintf(list, sizeof(list), "%zu", len);
	assert_string_equal(header(r, "Content-Length", buf, sizeof(buf)), list);
	it_response_free(r);
	free(want);
}

/* Calls check_asset for every file in the folders of web/ (not node_modules, no dotfiles). */
static size_t walk_assets(struct it_server *s, const char *dir, int depth, char (*etags)[64], size_t n, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			n = walk_assets(s, path, depth + 1, etags, n, max);
		} else if (depth > 0 && !ends_with(e->d_name, "~")) {
			size_t i;

			assert_true(n < max);
			check_asset(s, path, e->d_name, etags[n], sizeof(etags[n]));
			for (i = 0; i < n; i++)   /* different files, different tags */
				assert_string_not_equal(etags[i], etags[n]);
			n++;
		}
	}
	closedir(d);
	return n;
}

static void test_assets(void **state)
{
	struct it_server *s = *state;
	char etags[64][64];
	size_t n = walk_assets(s, KURA_SOURCE_DIR "/web", 0, etags, 0, 64);

	assert_true(n >= 8);   /* kura.js, the page modules, webauthn.js, kura.css */
	print_message("checked %zu assets\n", n);
}

static void test_pages(void **state)
{
	static const struct { const char *path, *file; } pages[] = {
		{ "/", "index.html" },
		{ "/login", "login.html" },
		{ "/mfa", "mfa.html" },
		{ "/invite/" TOKEN, "invite.html" },
		{ "/reset/" TOKEN, "reset.html" },
		{ "/reset", "reset.html" },
		{ "/s/" TOKEN, "share.html" },
		{ "/files", "app.html" },
		{ "/trash", "app.html" },
		{ "/shares", "app.html" },
		{ "/account", "app.html" },
		{ "/accounts", "app.html" },
		{ "/security", "app.html" },
		{ "/logs", "app.html" },
		{ "/contract", "app.html" },
		{ "/announcements", "app.html" },
		{ "/contacts", "app.html" },
		{ "/status", "status.html" },
		{ "/contact-confirm/" TOKEN, "contact.html" },
		{ "/access", "app.html" },
		{ "/compliance", "app.html" },
		{ "/reports", "app.html" },
		{ "/notices", "app.html" },
	};
	enum { N_APP_PATHS = 14 };
	struct it_server *s = *state;
	char csp[512] = "", buf[512], path[1024];
	struct dirent *e;
	size_t i, n = 0;
	DIR *d;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		struct it_response *r = get(s, "GET", pages[i].path, NULL);
		size_t len;
		char *want;

		snprintf(path, sizeof(path), "%s/web/%s", KURA_SOURCE_DIR, pages[i].file);
		want = it_read_file(path, &len);
		assert_non_null(want);
		IT_ASSERT_STATUS(r, 200);
		assert_string_equal(r->content_type, "text/html; charset=utf-8");
		assert_int_equal(r->body_len, len);
		assert_memory_equal(r->body, want, len);
		assert_string_equal(header(r, "Cache-Control", buf, sizeof(buf)), "no-store");
		assert_non_null(header(r, "Content-Security-Policy", buf, sizeof(buf)));
		assert_non_null(strstr(buf, "script-src 'self'"));
		assert_non_null(strstr(buf, "style-src 'self'"));
		assert_null(strstr(buf, "unsafe"));
		if (i == 0)
			snprintf(csp, sizeof(csp), "%s", buf);
		assert_string_equal(buf, csp);   /* one CSP for every page */
		it_response_free(r);
		free(want);
		r = get(s, "HEAD", pages[i].path, NULL);
		IT_ASSERT_STATUS(r, 200);
		assert_int_equal(r->body_len, 0);
		it_response_free(r);
	}
	/* every page of web/ has a case above */
	d = opendir(KURA_SOURCE_DIR "/web");
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		bool found = false;

		if (!ends_with(e->d_name, ".html"))
			continue;
		for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
			found |= !strcmp(pages[i].file, e->d_name);
		if (!found)
			fail_msg("web/%s: add its route to this test", e->d_name);
		n++;
	}
	closedir(d);
	/* app.html is served at the portal's paths (one entry each), counted once; reset.html
	 * at /reset/<token> and /reset (the request form) */
	assert_int_equal(n, sizeof(pages) / sizeof(pages[0]) - (N_APP_PATHS - 1) - 1);
}

static void test_refusals(void **state)
{
	static const char *const missing[] = {
		"/assets/nope.js", "/assets/login.html", "/assets/js/login.js", "/assets/kura.JS",
		"/assets/package.json", "/assets/eslint.config.js",
	};
	struct it_server *s = *state;
	struct it_response *r;
	size_t i;

	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		r = get(s, "GET", missing[i], NULL);
		IT_ASSERT_PROBLEM(r, 404, "not-found");
		it_response_free(r);
	}
	r = get(s, "HEAD", "/assets/nope.js", NULL);
	IT_ASSERT_STATUS(r, 404);
	assert_int_equal(r->body_len, 0);
	it_response_free(r);
	r = get(s, "PUT", "/assets/login.js", NULL);
	IT_ASSERT_PROBLEM(r, 405, "method-not-allowed");
	assert_non_null(strstr(r->allow, "GET"));
	it_response_free(r);
	r = get(s, "POST", "/login", NULL);
	IT_ASSERT_PROBLEM(r, 405, "method-not-allowed");
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assets),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, it_setup_server, it_teardown_server);
}
