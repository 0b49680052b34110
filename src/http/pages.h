/*
 * The browser files of web/, embedded at build time (cmake/embed_web.cmake writes the table
 * into web_files.c): pages (the .html files at the top of web/, served by their routes: /login, /invite/{token} …)
 * and assets (the files in web/js, web/css …, served as /assets/<name> by page_asset).
 */
#ifndef KURA_HTTP_PAGES_H
#define KURA_HTTP_PAGES_H
#include <stdbool.h>
#include <stddef.h>

/* The one Content-Security-Policy of every page: script, style, image and fetch from this
 * origin only; no inline script or style, no plugins, no <base>, forms post here only, never
 * in a frame. Assets get the server's default "default-src 'none'". */
#define PAGE_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';" \
		 " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

struct page_file {
	const char *name;          /* URL name: "login.html", "login.js" (unique) */
	const char *source;        /* path under web/: "login.html", "js/login.js" */
	const char *type;          /* media type, "text/javascript; charset=utf-8" */
	const unsigned char *data; /* the bytes, followed by a NUL */
	size_t len;                /* without the NUL */
	const char *etag;          /* strong entity tag with its quotes: "\"0123…\"" */
	bool is_page;              /* a page (web/NAME.html): served by its route, not as an asset */
};

extern const struct page_file page_files[];
extern const size_t page_n_files;

/* The entry called name, or NULL. */
const struct page_file *page_file_find(const char *name);

#endif
