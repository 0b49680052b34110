/*
 * The browser side of kura: the pages /login, /mfa, /invite/{token}, /reset/{token},
 * /s/{token} and /, and the assets under /assets/ (ES modules, the stylesheet). All of them
 * are the files of web/, which the build embeds into one table (cmake/embed_web.cmake →
 * page_files[], pages.h) with the media type and a strong ETag of each; nothing is written
 * in C here. A page is a static document: its module reads the token from the address and
 * talks to the JSON API (no server-rendered data).
 *
 * Caching: pages keep the server's default Cache-Control: no-store, because their addresses
 * carry secret tokens that no cache should keep, and they are a few hundred bytes. Assets
 * are Cache-Control: no-cache with their ETag: the browser asks again on every load and
 * gets a 304 without a body while the bytes are the same. Their URLs carry no content hash
 * (pages and modules name /assets/login.js directly), so a max-age would let a browser run
 * an old module with a new page after an upgrade; revalidating a handful of small files
 * costs little.
 *
 * SECURITY: every page gets the one PAGE_CSP (pages.h): script, style, image and fetch from
 * this origin only, no inline script or style, never framed. The scripts put data into the
 * page with textContent and DOM calls only (web/eslint.config.js forbids innerHTML and the
 * like, ctest web/lint). Assets get the default CSP "default-src 'none'" and every response
 * nosniff (server.c). The asset name is one path segment that decode_path has checked; it
 * is only compared with the table's names, never used as a file name.
 */
#include <string.h>

#include "http/http_int.h"
#include "http/pages.h"

const struct page_file *page_file_find(const char *name)
{
	size_t i;

	for (i = 0; i < page_n_files; i++)
		if (!strcmp(page_files[i].name, name))
			return &page_files[i];
	return NULL;
}

static enum MHD_Result send_file(struct request *req, const struct page_file *f)
{
	struct MHD_Response *resp;

	/* the table is static: MHD sends it from where it is, no copy */
	resp = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	return http_respond_response(req, 200, f->type, resp);
}

static enum MHD_Result page_asset(struct request *req)
{
	const struct page_file *f = page_file_find(req->params[0]);
	unsigned st;

	if (!f || f->is_page)
		return http_problem(req, 404, "not-found", "no such asset", NULL);
	http_add_header(req, MHD_HTTP_HEADER_ETAG, f->etag);
	http_add_header(req, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* If-None-Match → 304 (the same conditions as a file download; no modification date) */
	st = http_preconditions(req, f->etag, -1, true);
	if (st == 304)   /* MHD writes Content-Length: 0 on it, as on the files API's 304 */
		return http_respond(req, 304, NULL, "", 0);
	if (st)
		return http_problem(req, st, "precondition-failed", "the asset's ETag does not match", NULL);
	return send_file(req, f);
}

static enum MHD_Result page_send(struct request *req, const char *name)
{
	const struct page_file *f = page_file_find(name);

	if (!f || !f->is_page)   /* every page handler names a file of web/: test_pages checks it */
		return http_internal_error(req, -ENOENT);
	http_add_header(req, "Content-Security-Policy", PAGE_CSP);
	return send_file(req, f);
}

static enum MHD_Result page_index(struct request *req)
{
	return page_send(req, "index.html");
}

static enum MHD_Result page_login(struct request *req)
{
	return page_send(req, "login.html");
}

static enum MHD_Result page_mfa(struct request *req)
{
	return page_send(req, "mfa.html");
}

static enum MHD_Result page_invite(struct request *req)
{
	return page_send(req, "invite.html");
}

static enum MHD_Result page_reset(struct request *req)
{
	return page_send(req, "reset.html");
}

static enum MHD_Result page_share(struct request *req)
{
	return page_send(req, "share.html");
}

/* The portal (app.html): one page for every view; its module routes by the path. */
static enum MHD_Result page_status(struct request *req)
{
	return page_send(req, "status.html");
}

static enum MHD_Result page_contact_confirm(struct request *req)
{
	return page_send(req, "contact.html");
}

static enum MHD_Result page_app(struct request *req)
{
	return page_send(req, "app.html");
}

/* ---------------------------------------------------------------- routes */

/* What this file serves: the browser pages and the files of web/ (ES modules and styles by
 * name, ETag and 304). server.c composes every file's slice into the route table
 * (docs/HACKING.md "How to add an endpoint"). */
const struct route page_routes[] = {
	{ "GET", "/reset/*", page_reset, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "GET", "/reset", page_reset, R_PUBLIC, PERM_SELF },   /* the request form */
	{ "GET", "/s/*", page_share, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "GET", "/invite/*", page_invite, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "GET", "/login", page_login, R_PUBLIC, PERM_SELF },
	{ "GET", "/mfa", page_mfa, R_PUBLIC, PERM_SELF },
	{ "GET", "/files", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/trash", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/shares", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/account", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/accounts", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/security", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/logs", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/contract", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/announcements", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/contacts", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/status", page_status, R_PUBLIC, PERM_SELF },
	{ "GET", "/contact-confirm/*", page_contact_confirm, R_PUBLIC | R_SECRET, PERM_SELF },
	{ "GET", "/access", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/compliance", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/reports", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/notices", page_app, R_PUBLIC, PERM_SELF },
	{ "GET", "/assets/*", page_asset, R_PUBLIC, PERM_SELF },
	{ "GET", "/", page_index, R_PUBLIC, PERM_SELF },
};
const size_t page_n_routes = ARRAY_SIZE(page_routes);
