/*
 * Unit tests for the table of browser files that the build embeds from web/ (pages.h,
 * cmake/embed_web.cmake): names unique and URL-safe, media type by extension, strong ETags
 * of the SHA-256 form, pages exactly the top-level .html files; no dangling and no unused
 * file: every /assets/NAME or ./NAME that a page or module names is in the table, every
 * asset is named by some other file, and every page is served by a handler of pages.c;
 * every page loads the shared stylesheet and has no inline script, style or event handler;
 * the one page CSP allows nothing inline, and no other file under src/ sets a script-src.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/pages.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_table(void **state)
{
	size_t i, j, n_pages = 0, n_js = 0;

	(void)state;
	assert_true(page_n_files > 0);
	for (i = 0; i < page_n_files; i++) {
		const struct page_file *f = &page_files[i];
		const char *slash = strrchr(f->source, '/');
		const char *want;
		size_t k;

		/* the URL name is the file name, URL-safe and unique */
		assert_string_equal(slash ? slash + 1 : f->source, f->name);
		assert_true(f->name[0] != '.' && f->name[0] != '\0');
		for (k = 0; f->name[k]; k++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789._-", f->name[k]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(page_files[j].name, f->name);
		assert_ptr_equal(page_file_find(f->name), f);
		/* pages are the .html files at the top of web/ */
		assert_int_equal(f->is_page, !slash && ends_with(f->name, ".html"));
		n_pages += f->is_page;
		n_js += ends_with(f->name, ".js");
		/* media type by extension */
		want = ends_with(f->name, ".html") ? "text/html; charset=utf-8"
		     : ends_with(f->name, ".js") ? "text/javascript; charset=utf-8"
		     : ends_with(f->name, ".css") ? "text/css; charset=utf-8"
		     : ends_with(f->name, ".svg") ? "image/svg+xml"
		     : ends_with(f->name, ".png") ? "image/png" : NULL;
		if (want)
			assert_string_equal(f->type, want);
		/* a strong ETag: "<32 hex digits>"; the bytes end in a NUL that len leaves out */
		assert_int_equal(strlen(f->etag), 34);
		assert_true(f->etag[0] == '"' && f->etag[33] == '"');
		for (k = 1; k < 33; k++)
			assert_non_null(strchr("0123456789abcdef", f->etag[k]));
		assert_true(f->len > 0);
		assert_int_equal(f->data[f->len], '\0');
		assert_int_equal(strlen((const char *)f->data), f->len);   /* text: no NUL inside */
		for (j = 0; j < i; j++)
			if (!strcmp(page_files[j].etag, f->etag))
				assert_memory_equal(page_files[j].data, f->data, f->len);
	}
	assert_true(n_pages >= 6);
	assert_true(n_js >= 7);
	assert_null(page_file_find("nope.js"));
	assert_null(page_file_find(""));
	assert_null(page_file_find("js/login.js"));   /* names are flat: no folders in URLs */
}

/* Calls fn for every reference in text: "/assets/NAME" and "./NAME" up to a quote. */
static void each_ref(const char *text, void (*fn)(const char *name, size_t n, void *cls), void *cls)
{
	static const char *const marks[] = { "\"/assets/", "'/assets/", "'./", "\"./" };
	size_t m;

	for (m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		const char *p = text;

		while ((p = strstr(p, marks[m])) != NULL) {
			const char *name = p + strlen(marks[m]);
			size_t n = strcspn(name, "\"'");

			fn(name, n, cls);
			p = name + n;
		}
	}
}

struct refs {
	const struct page_file *from;
	bool *used;
	size_t n_refs;
};

static void check_ref(const char *name, size_t n, void *cls)
{
	struct refs *r = cls;
	char buf[128];
	const struct page_file *f;

	assert_true(n > 0 && n < sizeof(buf));
	memcpy(buf, name, n);
	buf[n] = '\0';
	f = page_file_find(buf);
	if (!f || f->is_page)
		fail_msg("web/%s names \"%s\", which is not an asset of web/", r->from->source, buf);
	r->used[f - page_files] = true;
	r->n_refs++;
}

static void test_references(void **state)
{
	bool *used = calloc(page_n_files, sizeof(*used));
	size_t i;

	(void)state;
	assert_non_null(used);
	for (i = 0; i < page_n_files; i++) {
		const struct page_file *f = &page_files[i];
		struct refs r = { f, used, 0 };

		if (!ends_with(f->name, ".html") && !ends_with(f->name, ".js"))
			continue;
		/* web/vendor/: built third-party files (tus-js-client), named by a page; their
		 * bundler's internal "./x.js" strings are not assets */
		if (!strncmp(f->source, "vendor/", 7))
			continue;
		each_ref((const char *)f->data, check_ref, &r);
		if (f->is_page) {
			const char *html = (const char *)f->data, *p;

			/* the shared stylesheet; no inline script, style or event handler */
			assert_non_null(strstr(html, "<link rel=\"stylesheet\" href=\"/assets/kura.css\">"));
			for (p = html; (p = strstr(p, "<script")) != NULL; p++) {
				const char *src = strstr(p, " src=\"/assets/"), *end = strchr(p, '>');

				if (!src || !end || src > end)
					fail_msg("web/%s has a script that is not a file of /assets/", f->source);
			}
			assert_null(strstr(html, "<style"));
			assert_null(strstr(html, " style="));
			assert_null(strstr(html, "javascript:"));
			for (p = html; (p = strstr(p, " on")) != NULL; p++) {
				size_t k = 3;

				while (p[k] >= 'a' && p[k] <= 'z')
					k++;
				if (p[k] == '=')
					fail_msg("web/%s has an inline event handler", f->source);
			}
		}
	}
	for (i = 0; i < page_n_files; i++)
		if (!page_files[i].is_page && !used[i])
			fail_msg("web/%s is named by no page or module: remove it", page_files[i].source);
	free(used);
}

/* Every page_send(req, "NAME") in pages.c names a page, and every page has one. */
static void test_page_handlers(void **state)
{
	char path[512], *src;
	const char *p;
	bool served[64] = { false };
	size_t i, n = 0;

	(void)state;
	assert_true(page_n_files <= 64);
	snprintf(path, sizeof(path), "%s/src/http/pages.c", KURA_SOURCE_DIR);
	src = read_all(path);
	for (p = src; (p = strstr(p, "return page_send(req, \"")) != NULL; n++) {
		const struct page_file *f;
		char name[64];
		size_t len;

		p += strlen("return page_send(req, \"");
		len = strcspn(p, "\"");
		assert_true(len < sizeof(name));
		memcpy(name, p, len);
		name[len] = '\0';
		f = page_file_find(name);
		if (!f || !f->is_page)
			fail_msg("pages.c serves \"%s\", which is not a page of web/", name);
		served[f - page_files] = true;
	}
	assert_true(n >= 6);
	for (i = 0; i < page_n_files; i++)
		if (page_files[i].is_page && !served[i])
			fail_msg("web/%s has no route: add a handler and a row of page_routes to pages.c",
				 page_files[i].source);
	free(src);
}

/* One CSP for every page: nothing inline, and no other source file writes a script-src. */
static void test_one_csp(void **state)
{
	char dir[512], path[1024];
	struct dirent *e;
	DIR *d;
	size_t n = 0;

	(void)state;
	assert_non_null(strstr(PAGE_CSP, "default-src 'none'"));
	assert_non_null(strstr(PAGE_CSP, "script-src 'self'"));
	assert_non_null(strstr(PAGE_CSP, "style-src 'self'"));
	assert_non_null(strstr(PAGE_CSP, "frame-ancestors 'none'"));
	assert_null(strstr(PAGE_CSP, "unsafe"));
	assert_null(strstr(PAGE_CSP, "*"));
	snprintf(dir, sizeof(dir), "%s/src/http", KURA_SOURCE_DIR);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char *text;

		if (!ends_with(e->d_name, ".c") && !ends_with(e->d_name, ".h"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = read_all(path);
		if (strcmp(e->d_name, "pages.h") && strstr(text, "script-src"))
			fail_msg("src/http/%s sets its own script-src: use PAGE_CSP (pages.h)", e->d_name);
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_page_handlers),
		cmocka_unit_test(test_one_csp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
