/*
 * The public listener on libmicrohttpd: request lifecycle, path validation, body limits,
 * the route table (composed from every handler file's slice) and the fixed request skeleton.
 *
 * Before dispatch, as soon as the headers are in: the strict request-line and header check
 * (a refusal closes the connection), then the drain. dispatch() then runs the stages in this
 * order, and no handler runs before all of them passed: parse (URL length, header size,
 * strict path decoding) → route (404, 405 with Allow) → body (size, media type, strict
 * JSON) → authenticate (R_NOAPP, R_PUBLIC goes on anonymous; a cookie session, or an app
 * password by HTTP Basic: api_access.c; WebDAV Basic only) → gates (source-IP allowlist and
 * app-password scope, CSRF for cookie sessions, password-change gate, MFA gate) → authorize
 * (the route's permission through http_permitted, the one choke point) → handler. Refusals
 * are problem+json responses; CSRF and permission denials are audit records. A refusal
 * made before a body the client sends without Expect: 100-continue is queued only after
 * that body was read and dropped (up to KURA_REFUSED_BODY_MAX), so it is not lost to a reset.
 *
 * SECURITY: the path is decoded here from the raw request target (MHD's URI log hook), not
 * from MHD's lenient unescaping: bad %-escapes, NUL and control bytes, invalid UTF-8, "."
 * and ".." segments and empty segments are refused before routing. Bodies are bounded by
 * KURA_MAX_JSON_BODY while they arrive; headers by KURA_MAX_HEADER_BYTES (MHD's memory
 * pool is the backstop). The client address is the TCP peer, or, when the peer is a
 * configured trusted proxy, the right-most untrusted X-Forwarded-For entry (access.c).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "auth/mfa.h"
#include "http/dav_cache.h"
#include "http/http_int.h"
#include "store/db.h"

/* MHD's own strictness: refuses spaces in the request target and HTTP/1.1 without Host
 * (0.9.75: MHD_OPTION_STRICT_FOR_CLIENT 1; later releases renamed it) */
#if MHD_VERSION >= 0x00097701
#define HTTP_STRICT_OPTION MHD_OPTION_CLIENT_DISCIPLINE_LVL, 1
#else
#define HTTP_STRICT_OPTION MHD_OPTION_STRICT_FOR_CLIENT, 1
#endif

/* The connection's pool holds the request line and headers, MHD's parsed copies of them,
 * the response's header lines and the read buffer the body arrives through (about half of
 * what is left: ~30 KiB pieces at 64 KiB). libmicrohttpd 0.9.75 zeroes the whole pool for
 * every request of a keep-alive connection, so it is no larger than a request within
 * KURA_MAX_HEADER_BYTES needs (docs/performance.md step 21). */
_Static_assert(KURA_CONNECTION_MEMORY >= 4 * KURA_MAX_HEADER_BYTES,
	       "room in the pool for the largest headers allowed, twice, and a read buffer");

/* ---------------------------------------------------------------- the route table */

/* Every handler file's slice (http_int.h), in matching order. A request takes the first
 * route whose pattern and method match; test_route_table (tests/unit/test_http.c) checks
 * that no two routes of one method match one path, so this order only decides the order
 * of an Allow list. */
static const struct {
	const struct route *routes;
	const size_t *n;
} slices[] = {
	{ dav_routes, &dav_n_routes },           /* /dav/ (any method): before every pattern */
	{ api_routes, &api_n_routes },           /* session, me, invitations, tenant, accounts */
	{ api_mfa_routes, &api_mfa_n_routes },   /* second factors, MFA policy */
	{ api_audit_routes, &api_audit_n_routes },
	{ api_files_routes, &api_files_n_routes },
	{ api_uploads_routes, &api_uploads_n_routes },   /* tus resumable uploads */
	{ api_archive_routes, &api_archive_n_routes },   /* ZIP of a folder */
	{ api_export_routes, &api_export_n_routes },     /* the tenant's or one's own data as a ZIP */
	{ api_access_routes, &api_access_n_routes },
	{ api_shares_routes, &api_shares_n_routes },
	{ api_certs_routes, &api_certs_n_routes },   /* client certificates */
	{ api_notice_routes, &api_notice_n_routes }, /* contacts, announcements, incidents, status */
	{ api_lockbox_routes, &api_lockbox_n_routes },   /* operator access by approval (C7) */
	{ api_reports_routes, &api_reports_n_routes },   /* event reports and notices (issue 9) */
	{ api_compliance_routes, &api_compliance_n_routes },   /* the compliance statement (A5) */
	{ page_routes, &page_n_routes },         /* pages and /assets/ */
};


static struct route route_table[HTTP_ROUTES_MAX];
static size_t route_count;
static bool route_overflow;
static pthread_once_t route_once = PTHREAD_ONCE_INIT;

static void routes_compose(void)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(slices); i++)
		for (j = 0; j < *slices[i].n; j++) {
			if (route_count == HTTP_ROUTES_MAX) {
				route_overflow = true;   /* http_start refuses to start */
				return;
			}
			route_table[route_count++] = slices[i].routes[j];
		}
}

const struct route *http_routes(size_t *ret_n)
{
	pthread_once(&route_once, routes_compose);
	*ret_n = route_count;
	return route_table;
}

static bool is_dav_path(const char *path)
{
	return !strncmp(path, DAV_PREFIX, strlen(DAV_PREFIX)) || !strcmp(path, "/dav");
}

/* ---------------------------------------------------------------- responses */

static const char *status_title(const char *type)
{
	static const struct { const char *type, *title; } titles[] = {
		{ "invalid-json", "The body is not valid JSON" },
		{ "invalid-field", "A field is invalid" },
		{ "invalid-path", "The request path is invalid" },
		{ "invalid-parameter", "A query parameter is invalid" },
		{ "weak-password", "The password is not acceptable" },
		{ "authentication-required", "Authentication is required" },
		{ "authentication-failed", "Authentication failed" },
		{ "challenge-expired", "The sign-in step has expired or is used up; log in again" },
		{ "csrf-token-invalid", "The CSRF token is missing or wrong" },
		{ "permission-denied", "Permission denied" },
		{ "password-change-required", "The password must be changed first" },
		{ "mfa-enrolment-required", "A second factor must be enrolled first" },
		{ "mfa-code-invalid", "The code is wrong or expired" },
		{ "mfa-not-allowed", "The tenant's policy does not offer MFA to this role" },
		{ "webauthn-verification-failed", "The authenticator's answer did not verify" },
		{ "not-found", "Not found" },
		{ "method-not-allowed", "Method not allowed" },
		{ "conflict", "Conflict" },
		{ "invitation-invalid", "The invitation is invalid, used or expired" },
		{ "body-too-large", "The body is too large" },
		{ "headers-too-large", "The request headers are too large" },
		{ "invalid-header", "The request line or headers are malformed" },
		{ "unsupported-media-type", "Unsupported media type" },
		{ "invalid-name", "The name is not acceptable" },
		{ "quota-exceeded", "The tenant's storage quota would be exceeded" },
		{ "file-too-large", "The file is over the size limit" },
		{ "insufficient-storage", "The server has no room to store this" },
		{ "integrity-error", "Stored data failed its integrity check" },
		{ "range-not-satisfiable", "The range is not satisfiable" },
		{ "precondition-failed", "A precondition failed" },
		{ "upload-incomplete", "The body ended before Content-Length bytes" },
		{ "link-gone", "The link has expired, was revoked or is used up" },
		{ "link-password-required", "The link needs its password first" },
		{ "link-password-invalid", "The link password is wrong" },
		{ "link-locked", "The link is locked after too many wrong passwords" },
		{ "internal-error", "Internal error" },
		{ "unavailable", "Temporarily unavailable" },
		{ "storage-full", "The server's storage is full" },
		/* access */
		{ "ip-not-allowed", "The source address is not allowed" },
		{ "self-lockout", "The change would lock you out" },
		{ "too-many-requests", "Too many failed attempts; wait" },
		{ "reset-token-invalid", "The password reset link is invalid, used or expired" },
		{ "app-password-not-allowed", "App passwords cannot be used here" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(titles); i++)
		if (!strcmp(titles[i].type, type))
			return titles[i].title;
	return "Error";
}

void http_add_header(struct request *req, const char *name, const char *value)
{
	struct header *h = arena_alloc(req->arena, sizeof(*h));

	if (!h)
		return;
	h->name = name;
	h->value = arena_strdup(req->arena, value);
	h->next = req->headers;
	req->headers = h;
}

enum MHD_Result http_respond(struct request *req, unsigned status, const char *content_type,
			     const void *body, size_t n)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	return http_respond_response(req, status, content_type, resp);
}

enum MHD_Result http_respond_response(struct request *req, unsigned status,
				      const char *content_type, struct MHD_Response *resp)
{
	struct header *h;
	enum MHD_Result ret;

	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (req->srv->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	for (h = req->headers; h; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
	if (!MHD_get_response_header(resp, "Cache-Control"))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (!MHD_get_response_header(resp, "Content-Security-Policy"))
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; frame-ancestors 'none'");
	if (req->at_headers && !req->waiting) {
		/* before a body the client sends without asking: queued now, MHD would stop
		 * reading, close, and the unread body would turn the close into a reset that
		 * can reach the client before the answer; so the answer waits for the body's end
		 * (handle_request drops the body) */
		req->waiting = resp;
		req->waiting_status = status;
		return MHD_YES;
	}
	req->status = status;
	ret = MHD_queue_response(req->con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Whether an answer given now, before the body, should wait for it: the client sends a body
 * (a Content-Length above 0 or chunked) without waiting for an interim answer (no Expect:
 * 100-continue, which MHD honours on HTTP/1.1 alone), and it is at most
 * KURA_REFUSED_BODY_MAX bytes or of unknown length. A longer one is not read for nothing:
 * the answer goes at once and the connection ends, as before. */
static bool body_comes_unasked(struct MHD_Connection *con, const char *version)
{
	const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *ex = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	int64_t n = 0;

	if (ex && !strcasecmp(ex, "100-continue") && version && !strcmp(version, MHD_HTTP_VERSION_1_1))
		return false;
	if (te)
		return true;   /* chunked (headers_malformed refused every other coding) */
	if (!cl || safe_atoi64(cl, &n) < 0)
		return false;
	return n > 0 && n <= KURA_REFUSED_BODY_MAX;
}

enum MHD_Result http_respond_stream(struct request *req, unsigned status, const char *content_type,
				    MHD_ContentReaderCallback reader, void *cls,
				    MHD_ContentReaderFreeCallback free_cls)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, reader, cls, free_cls);
	if (!resp) {
		free_cls(cls);
		return MHD_NO;
	}
	return http_respond_response(req, status, content_type, resp);
}

enum MHD_Result http_json(struct request *req, unsigned status, json_t *obj)
{
	char *text;
	enum MHD_Result ret;

	if (!obj)
		return http_internal_error(req, -ENOMEM);
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return http_internal_error(req, -ENOMEM);
	ret = http_respond(req, status, "application/json", text, strlen(text));
	free(text);
	return ret;
}

enum MHD_Result http_empty(struct request *req, unsigned status)
{
	return http_respond(req, status, NULL, "", 0);
}

enum MHD_Result http_problem(struct request *req, unsigned status, const char *type,
			     const char *detail, const char *field)
{
	return http_problem_more(req, status, type, detail, field, NULL);
}

enum MHD_Result http_problem_more(struct request *req, unsigned status, const char *type, const char *detail,
				  const char *field, json_t *more)
{
	char urn[96];
	json_t *obj;
	char *text;
	enum MHD_Result ret;

	if (req->dav) {
		/* WebDAV clients get the status and a line of text, and a Basic challenge on 401 */
		char line[512];

		(void)field;
		json_decref(more);
		if (status == 401)
			http_add_header(req, "WWW-Authenticate", "Basic realm=\"kura\", charset=\"UTF-8\"");
		str_printf(line, sizeof(line), "%s%s%s\n", status_title(type), detail ? ": " : "",
			   detail ? detail : "");
		return http_respond(req, status, "text/plain; charset=utf-8", line, strlen(line));
	}
	str_printf(urn, sizeof(urn), "urn:kura:problem:%s", type);
	obj = json_pack("{s:s, s:s, s:i}", "type", urn, "title", status_title(type), "status", status);
	if (!obj) {
		json_decref(more);
		return MHD_NO;
	}
	/* extension members (RFC 9457 3.2) never replace the standard ones */
	if (more) {
		const char *k;
		json_t *v;

		json_object_foreach(more, k, v)
			if (!json_object_get(obj, k) && strcmp(k, "detail") && strcmp(k, "field") &&
			    strcmp(k, "request_id"))
				json_object_set(obj, k, v);
		json_decref(more);
	}
	if (detail)
		json_object_set_new(obj, "detail", json_string(detail));
	if (field)
		json_object_set_new(obj, "field", json_string(field));
	json_object_set_new(obj, "request_id", json_string(req->request_id));
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return MHD_NO;
	ret = http_respond(req, status, "application/problem+json", text, strlen(text));
	free(text);
	return ret;
}

enum MHD_Result http_internal_error(struct request *req, int err)
{
	if (err == -EBUSY)
		return http_problem(req, 503, "unavailable", "the database is busy; retry", NULL);
	if (db_lost(req->db)) {
		/* PostgreSQL closed the connection under the request: an open transaction ended
		 * with it (rolled back), and the next request reconnects. Only a connection lost
		 * during COMMIT itself leaves the outcome unknown to the server too; the answer
		 * claims nothing either way ("does not answer"), and the log says which request */
		log_error("http.error", "request %s %s: the database connection was lost", req->request_id,
			  req->log_path ? req->log_path : req->path ? req->path : "");
		http_add_header(req, "Retry-After", "5");
		return http_problem(req, 503, "unavailable", "the database does not answer; try again shortly", NULL);
	}
	if (err == -ENOSPC) {
		/* the disk is full: not a bug of kura, and nothing was done; the audit record of a
		 * read could not be written, so it is not served (issue 14) */
		log_error("http.error", "request %s %s: storage full", req->request_id,
			  req->log_path ? req->log_path : req->path ? req->path : "");
		http_add_header(req, "Retry-After", "60");
		return http_problem(req, 503, "storage-full",
				    "the server's storage is full, so this request could not be recorded"
				    " and was not carried out; retry later", NULL);
	}
	log_error("http.error", "request %s %s failed: %s", req->request_id,
		  req->log_path ? req->log_path : req->path ? req->path : "",
		  strerror(-err));
	return http_problem(req, 500, "internal-error", "nothing was changed; see the server log", NULL);
}

enum MHD_Result http_rate_limited(struct request *req, int64_t retry_s, int64_t limit, int64_t window_s,
				  const char *detail)
{
	char v[24];
	json_t *det;
	int r;

	if (retry_s < 1)
		retry_s = 1;
	/* a refusal, recorded like a permission denial (every caller is behind a session): a
	 * tenant's log shows who kept hitting a limit, and an attacker's flood leaves a trace */
	det = json_pack("{s:s, s:I, s:I}", "path", req->path ? req->path : "", "limit", (json_int_t)limit,
			"window_seconds", (json_int_t)window_s);
	r = http_audit(req, 0, AUDIT_ACCESS, "rate.limited", req->path, AUDIT_DENIED, det);
	json_decref(det);
	(void)r;  /* the refusal stands whether or not it could be recorded */
	str_printf(v, sizeof(v), "%lld", (long long)retry_s);
	http_add_header(req, "Retry-After", v);
	return http_problem_more(req, 429, "rate-limited", detail, NULL,
				 json_pack("{s:I, s:I, s:I}", "limit", (json_int_t)limit, "window_seconds",
					   (json_int_t)window_s, "retry_after", (json_int_t)retry_s));
}

const char *http_query(struct request *req, const char *key)
{
	return MHD_lookup_connection_value(req->con, MHD_GET_ARGUMENT_KIND, key);
}

int http_audit(struct request *req, int64_t tenant_id, enum audit_category cat, const char *action,
	       const char *target, enum audit_result result, json_t *details)
{
	return audit_record(req->db, &(struct audit_event){
					     .tenant_id = tenant_id ? tenant_id : req->actor.tenant_id,
					     .actor = &req->actor, .category = cat, .action = action,
					     .target = target, .result = result, .details = details });
}

/* ---------------------------------------------------------------- JSON input */

static size_t json_depth(json_t *v)
{
	size_t max = 0, d;
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			d = json_depth(child);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			d = json_depth(child);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- path */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the path part of the raw target strictly. NULL when it is not acceptable. Under
 * /dav/ a trailing "/" (a collection's URL) is kept; elsewhere it is an empty segment. */
static char *decode_path(struct arena *a, const char *raw)
{
	size_t n = strcspn(raw, "?#"), i, o = 0;
	char *out, *seg;
	bool dav;

	if (n == 0 || raw[0] != '/')
		return NULL;
	out = arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return NULL;
			hi = hexval(raw[i + 1]);
			lo = hexval(raw[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			/* an escaped "/" would make one segment look like two (or hide one): refuse */
			if (c == '/')
				return NULL;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return NULL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!utf8_is_clean_text(out, o))
		return NULL;
	/* segments: no empty ones (except a lone "/"), no "." or ".." */
	if (o == 1)
		return out;
	dav = is_dav_path(out);
	for (seg = out + 1;; ) {
		char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (len == 0 && !end && dav && seg > out + 1)
			break;   /* the trailing "/" of a WebDAV collection */
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return NULL;
		if (!end)
			break;
		seg = end + 1;
	}
	return out;
}

char *http_decode_path(struct arena *a, const char *raw)
{
	return decode_path(a, raw);
}

/* Matches path against pattern; fills params. */
static bool route_match(const char *pattern, const char *path, struct request *req)
{
	size_t n_params = 0;

	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t len = strcspn(path, "/");

			if (len == 0 || n_params == REQUEST_MAX_PARAMS)
				return false;
			req->params[n_params++] = arena_strndup(req->arena, path, len);
			path += len;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	if (*pattern || *path)
		return false;
	req->n_params = n_params;
	return true;
}

/* Does rt serve path with method (NULL: with some method)? An R_DAV route serves every
 * method under its prefix ("/dav/", and "/dav" itself); the others fill req->params. */
static bool route_matches(const struct route *rt, const char *method, const char *path, struct request *req)
{
	if (rt->flags & R_DAV) {
		size_t n = strlen(rt->pattern);

		return !strncmp(path, rt->pattern, n) ||
		       (n > 1 && !strncmp(path, rt->pattern, n - 1) && path[n - 1] == '\0');
	}
	return (!method || !strcmp(rt->method, method)) && route_match(rt->pattern, path, req);
}

/* The first route of the table for method and path, with req->params filled; NULL when
 * none, and then allow lists the methods of the routes whose pattern matched (a 405). */
static const struct route *route_find(struct request *req, const char *method, const char *path,
				      char *allow, size_t size)
{
	const struct route *table, *found = NULL;
	size_t n, i;

	table = http_routes(&n);
	allow[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct route *rt = &table[i];

		if (!route_matches(rt, NULL, path, req))
			continue;
		if ((rt->flags & R_DAV) || !strcmp(rt->method, method)) {
			found = rt;
			break;
		}
		if (!strstr(allow, rt->method)) {
			if (*allow)
				strncat(allow, ", ", size - strlen(allow) - 1);
			strncat(allow, rt->method, size - strlen(allow) - 1);
		}
	}
	/* route_match of later patterns may have overwritten params: match again */
	if (found && !(found->flags & R_DAV))
		route_match(found->pattern, path, req);
	return found;
}

/* ---------------------------------------------------------------- dispatch */

struct header_sum {
	size_t total;
};

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				  const char *value, size_t value_size)
{
	struct header_sum *s = cls;

	(void)kind;
	(void)key;
	(void)value;
	s->total += key_size + value_size + 4;
	return MHD_YES;
}

static bool content_type_is_json(struct request *req)
{
	const char *ct = MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n))
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static bool is_mutating(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

/*
 * dispatch(): the fixed request skeleton as stages, in this order. Each stage either lets
 * the request go on (true) or has queued its answer in d->result (false); no handler runs
 * before every stage passed, and a stage relies on what the earlier ones established.
 */
struct dispatch {
	struct request *req;
	const char *method;            /* the routed method: HEAD is routed and judged as GET */
	const struct route *route;     /* set by stage_route */
	enum MHD_Result result;        /* the answer of the stage that refused */
};

/* parse: the request target and headers are within bounds and the path decodes strictly
 * (req->path); /dav/ requests get WebDAV-style answers from here on (req->dav). */
static bool stage_parse(struct dispatch *d)
{
	struct request *req = d->req;
	struct header_sum hs = { 0 };

	if (!req->raw_uri) {
		d->result = http_problem(req, 414, "invalid-path", "the request target is too long", NULL);
		return false;
	}
	MHD_get_connection_values_n(req->con, MHD_HEADER_KIND, sum_header, &hs);
	if (hs.total > KURA_MAX_HEADER_BYTES) {
		http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
		d->result = http_problem(req, 431, "headers-too-large", "request headers are over 16 KiB", NULL);
		return false;
	}
	req->path = decode_path(req->arena, req->raw_uri);
	if (req->path && is_dav_path(req->path)) {
		req->dav = true;
		if (strchr(req->raw_uri, '#'))   /* a fragment is never part of a request target */
			req->path = NULL;
	}
	if (!req->path) {
		d->result = http_problem(req, 400, "invalid-path",
					 "the path has bad escapes, control bytes, empty, \".\" or \"..\" segments",
					 NULL);
		return false;
	}
	return true;
}

/* route: the route of the path and method (d->route, req->params), else 405 with Allow or
 * 404; a route whose path carries a secret is logged by its pattern (req->log_path). */
static bool stage_route(struct dispatch *d)
{
	struct request *req = d->req;
	char allow[128];

	d->route = route_find(req, d->method, req->path, allow, sizeof(allow));
	if (!d->route && *allow) {
		if (strstr(allow, "GET"))
			strncat(allow, ", HEAD", sizeof(allow) - strlen(allow) - 1);
		http_add_header(req, "Allow", allow);
		d->result = http_problem(req, 405, "method-not-allowed", NULL, NULL);
		return false;
	}
	if (!d->route) {
		d->result = http_problem(req, 404, "not-found", "no such resource", NULL);
		return false;
	}
	req->route = d->route;
	if (d->route->flags & R_SECRET)
		req->log_path = d->route->pattern;
	return true;
}

/* body: an R_BODY route's body is a JSON object within KURA_MAX_JSON_BODY and
 * KURA_MAX_JSON_DEPTH, sent as application/json, without duplicate members (req->json); a
 * route without R_BODY takes none; an R_STREAM route's body comes later, to its stream. */
static bool stage_body(struct dispatch *d)
{
	struct request *req = d->req;
	json_error_t jerr;

	if (d->route->flags & R_STREAM)
		return true;
	if (!(d->route->flags & R_BODY)) {
		if (req->body_len == 0 && !req->body_too_large)
			return true;
		d->result = http_problem(req, 415, "unsupported-media-type", "this request takes no body", NULL);
		return false;
	}
	if (req->body_too_large) {
		d->result = http_problem(req, 413, "body-too-large", "JSON bodies are at most 64 KiB", NULL);
		return false;
	}
	if (!content_type_is_json(req)) {
		d->result = http_problem(req, 415, "unsupported-media-type",
					 "send the body as Content-Type: application/json", NULL);
		return false;
	}
	req->json = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->json) {
		d->result = http_problem(req, 400, "invalid-json", jerr.text, NULL);
		return false;
	}
	arena_cleanup_add(req->arena, (arena_cleanup_fn)json_decref, req->json);
	if (!json_is_object(req->json)) {
		d->result = http_problem(req, 400, "invalid-json", "the body must be a JSON object", NULL);
		return false;
	}
	if (json_depth(req->json) > KURA_MAX_JSON_DEPTH) {
		d->result = http_problem(req, 400, "invalid-json", "the body is nested too deep", NULL);
		return false;
	}
	return true;
}

/* authenticate: the request's database (req->db); no app password on an R_NOAPP route; an
 * R_PUBLIC route goes on anonymous; every other request has a session (req->session and
 * req->actor): WebDAV an app password by HTTP Basic only (a login without "@tenant" in the
 * tenant of its URL), the API a cookie session, or an app password by Basic without a cookie
 * (api_access.c). */
static bool stage_authenticate(struct dispatch *d)
{
	struct request *req = d->req;
	const struct route *rt = d->route;
	const char *cookie;
	int r;

	req->db = db_thread();
	if (!req->db) {
		/* PostgreSQL went away and a new connection failed (db_thread logged why):
		 * a retryable 503, which also takes the node out of a load balancer's pool */
		http_add_header(req, "Retry-After", "5");
		d->result = http_problem(req, 503, "unavailable", "the database does not answer; try again shortly",
					 NULL);
		return false;
	}
	/* the request's reads, up to its first write or audit record, in one snapshot (db.h);
	 * dispatch() closes it */
	db_read_begin(req->db);
	if ((rt->flags & R_NOAPP) && access_has_basic(req)) {
		d->result = http_problem(req, 403, "app-password-not-allowed",
					 "app passwords are for WebDAV and API clients; log in with your password",
					 NULL);
		return false;
	}
	if (rt->flags & R_PUBLIC)
		return true;
	cookie = MHD_lookup_connection_value(req->con, MHD_COOKIE_KIND, "kura_session");
	if (rt->flags & R_DAV) {
		const char *t = req->path + strlen(DAV_PREFIX);

		if (!access_has_basic(req)) {
			d->result = http_problem(req, 401, "authentication-required",
						 "use your login and an app password (HTTP Basic)", NULL);
			return false;
		}
		req->basic_tenant = *t ? arena_strndup(req->arena, t, strcspn(t, "/")) : NULL;
		return access_authenticate_basic(req, &d->result);
	}
	if (!cookie && access_has_basic(req))
		return access_authenticate_basic(req, &d->result);
	r = cookie ? session_lookup(req->db, cookie, &req->session) : -ENOENT;
	if (r == -ENOENT) {
		d->result = http_problem(req, 401, "authentication-required", "log in first", NULL);
		return false;
	}
	if (r < 0) {
		d->result = http_internal_error(req, r);
		return false;
	}
	req->has_session = true;
	req->actor.type = ACTOR_ACCOUNT;
	req->actor.tenant_id = req->session.account.tenant_id;
	req->actor.account_id = req->session.account.id;
	req->actor.name = req->session.account.login;
	/* client certificates: the session's own, or one the policy now requires */
	if (!http_cert_ok(req, req->session.account.tenant_id, req->session.tenant_code, &req->session.account,
			  req->session.client_cert_sha256, "session.certificate", NULL, &r)) {
		d->result = r < 0 ? http_internal_error(req, r)
				  : http_problem(req, 401, "authentication-required", "log in first", NULL);
		return false;
	}
	return true;
}

/* gates, for a session, in this order: the source-IP allowlist and an app password's scope
 * (api_access.c); the CSRF token of a cookie session on a mutating method (a refusal is
 * recorded); the password-change gate (R_PWCHANGE routes pass); the MFA gate (R_MFAENROL
 * routes pass): the policy requires a second factor that the account does not have or that
 * this session was not opened with (an app password counts as the session that made it:
 * one made with the password alone is refused too). */
static bool stage_gates(struct dispatch *d)
{
	struct request *req = d->req;
	const struct route *rt = d->route;
	bool gate = false;
	int r;

	if (!access_request_allowed(req, d->method, &d->result))
		return false;
	if (is_mutating(d->method) && !req->app_password_id &&
	    !session_csrf_ok(&req->session, MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, "X-CSRF-Token"))) {
		r = http_audit(req, 0, AUDIT_ACCESS, "csrf.refused", req->path, AUDIT_DENIED, NULL);
		(void)r;  /* refused either way */
		d->result = http_problem(req, 403, "csrf-token-invalid",
					 "send the csrf_token of the login response in X-CSRF-Token", NULL);
		return false;
	}
	if (req->session.account.must_change_password) {
		if (rt->flags & R_PWCHANGE)
			return true;
		d->result = http_problem(req, 403, "password-change-required",
					 "set a new password with POST /api/v1/me/password", NULL);
		return false;
	}
	if (rt->flags & R_MFAENROL)
		return true;
	r = http_mfa_gate(req, &gate);
	if (r < 0) {
		d->result = http_internal_error(req, r);
		return false;
	}
	if (gate) {
		d->result = http_problem(req, 403, "mfa-enrolment-required",
					 "your tenant requires a second factor: enrol one with POST "
					 "/api/v1/me/mfa/totp or /api/v1/me/mfa/webauthn/register", NULL);
		return false;
	}
	return true;
}

/* authorize: the route's permission (files.read for WebDAV's read methods) through the one
 * choke point, http_permitted; a denial is recorded. */
static bool stage_authorize(struct dispatch *d)
{
	struct request *req = d->req;
	enum permission perm = d->route->perm;
	json_t *det;
	int r;

	if ((d->route->flags & R_DAV) && dav_method_is_read(req->method))
		perm = PERM_FILES_READ;
	if (http_permitted(req, perm, is_mutating(d->method)))
		return true;
	det = json_pack("{s:s, s:s}", "permission", permission_name(perm), "path", req->path);
	r = http_audit(req, 0, AUDIT_ACCESS, "permission.denied", req->path, AUDIT_DENIED, det);
	json_decref(det);
	(void)r;  /* the refusal stands whether or not it could be recorded */
	d->result = http_problem(req, 403, "permission-denied", "your role does not allow this", NULL);
	return false;
}

/* parse → route → body → authenticate → (behind a session) gates → authorize → handler.
 * An R_STREAM route's handler runs here before its body arrives (handle_request). */
static enum MHD_Result dispatch_stages(struct dispatch *d)
{
	if (!stage_parse(d) || !stage_route(d) || !stage_body(d) || !stage_authenticate(d))
		return d->result;
	if (!(d->route->flags & R_PUBLIC) && (!stage_gates(d) || !stage_authorize(d)))
		return d->result;
	return d->route->fn(d->req);
}

static enum MHD_Result dispatch(struct request *req)
{
	struct dispatch d = { .req = req, .method = !strcmp(req->method, "HEAD") ? "GET" : req->method };
	enum MHD_Result res = dispatch_stages(&d);

	db_read_end(req->db);   /* never held while the answer goes out or the body comes in */
	return res;
}

bool http_permitted(struct request *req, enum permission p, bool mutating)
{
	return authz_allowed(role_parse(req->session.account.role), p) &&
	       (!req->app_password_id || authz_app_password_allowed(p, mutating));
}

/* True when the request goes to an R_STREAM route: then dispatch() runs before the body. */
static bool is_stream_request(struct request *req)
{
	const struct route *table;
	const char *path;
	size_t n, i;

	if (!req->raw_uri || !(path = decode_path(req->arena, req->raw_uri)))
		return false;
	/* the /dav/ route is R_STREAM: dav.c takes every body as a stream (PUT) or bounded (XML);
	 * a read without a body is dispatched once complete (http_int.h dav_request_whole) */
	table = http_routes(&n);
	for (i = 0; i < n; i++)
		if ((table[i].flags & R_STREAM) && route_matches(&table[i], req->method, path, req))
			return !((table[i].flags & R_DAV) && dav_request_whole(req));
	return false;
}

/* ---------------------------------------------------------------- header strictness */

/*
 * libmicrohttpd 0.9.75 takes header lines that a proxy in front of kura may read otherwise
 * (request smuggling): "Transfer-Encoding : chunked" becomes a header named
 * "Transfer-Encoding " that MHD ignores (MHD refuses white space before the colon only in
 * its *permissive* mode, an inverted test), an obs-fold continuation line is glued to the
 * previous header's *name*, a NUL byte silently cuts a value, and bare LF ends lines. MHD
 * has no option that refuses these, and what it keeps of a header cannot show them. But it
 * parses the request in place in its read buffer: the request line, then each header line
 * as name, colon (overwritten by NUL), optional white space, value, CRLF (both overwritten
 * by NUL), in the order they arrived, and MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE is the
 * byte count from the method to the end of the empty line. So a request is exactly what
 * its headers say when every header's name starts where the previous line's value + CRLF
 * ended, and the last one + CRLF CRLF ends at the header size. A folded line (whose name
 * MHD moved), a NUL (bytes after the value), a bare LF (one byte short), a line MHD
 * dropped: each breaks that chain. This relies on MHD's layout, which was read in the
 * 0.9.75 source (connection.c: get_next_header_line, process_header_line,
 * process_broken_line; 0.9.76 is the same); header_layout_known() limits it to those
 * versions. Left over: a NUL right before a bare LF looks like CRLF once MHD overwrote
 * both; MHD then keeps the value without the NUL.
 *
 * The rest does not depend on MHD's layout: header names must be tokens (RFC 9110 5.1),
 * values free of control bytes other than HTAB, at most one Host, Content-Length and
 * Transfer-Encoding, not both of the last two, Transfer-Encoding only "chunked" and not
 * in HTTP/1.0 (RFC 9112 6.1). A refusal is 400 and closes the connection, so nothing
 * after the bad request is read as another one.
 */
static bool header_layout_known(void)
{
	const char *v = MHD_get_version();

	return v && (!strcmp(v, "0.9.75") || !strcmp(v, "0.9.76"));
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

struct header_walk {
	uintptr_t cursor;          /* where the next header line must start (layout check) */
	uintptr_t end;             /* method + MHD's header size */
	bool layout;
	const char *bad;           /* what is wrong; NULL while nothing is */
	unsigned n_host, n_cl, n_te;
	const char *te;
};

static bool name_is(const char *key, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp(key, name, n);
}

static enum MHD_Result walk_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				   const char *value, size_t value_size)
{
	struct header_walk *w = cls;
	uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
	size_t i;

	(void)kind;
	if (w->layout) {
		/* first, so that nothing below reads outside the header block */
		if (k != w->cursor || v < k + key_size + 1 || v + value_size + 2 > w->end) {
			w->bad = "a header line is folded, holds a NUL byte or ends in a bare LF";
			return MHD_NO;
		}
		for (i = key_size + 1; i < v - k; i++)
			if (key[i] != ' ' && key[i] != '\t') {
				w->bad = "a header line is malformed";
				return MHD_NO;
			}
		w->cursor = v + value_size + 2;
	}
	if (key_size == 0) {
		w->bad = "a header has an empty name";
		return MHD_NO;
	}
	for (i = 0; i < key_size; i++)
		if (!is_tchar((unsigned char)key[i])) {
			w->bad = "a header name holds white space or a character that is not allowed";
			return MHD_NO;
		}
	for (i = 0; i < value_size; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			w->bad = "a header value holds a control byte";
			return MHD_NO;
		}
	}
	if (name_is(key, key_size, "Host"))
		w->n_host++;
	else if (name_is(key, key_size, "Content-Length"))
		w->n_cl++;
	else if (name_is(key, key_size, "Transfer-Encoding")) {
		w->n_te++;
		w->te = value;
	}
	return MHD_YES;
}

/* NULL when the request line and headers are acceptable, else what is wrong with them. */
static const char *headers_malformed(struct request *req, const char *method, const char *version)
{
	struct header_walk w = { 0 };
	const union MHD_ConnectionInfo *ci;
	size_t i, n_method = strlen(method);

	for (i = 0; i < n_method; i++)
		if (!is_tchar((unsigned char)method[i]))
			return "the method is not a token";
	/* the target as libmicrohttpd holds it, however long: a target over KURA_MAX_URL_BYTES
	 * is refused (414) only after these checks, never instead of them */
	for (i = 0; req->target[i]; i++)
		if ((unsigned char)req->target[i] <= 0x20 || req->target[i] == 0x7f)
			return "the request target holds a control byte or white space";
	ci = req->srv->header_layout
	     ? MHD_get_connection_info(req->con, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE) : NULL;
	if (ci) {
		/* "METHOD SP target SP version CRLF": MHD's strings are in place in one buffer */
		if ((uintptr_t)version != (uintptr_t)method + n_method + 1 + strlen(req->target) + 1)
			return "the request line is malformed";
		w.layout = true;
		w.cursor = (uintptr_t)version + strlen(version) + 2;
		w.end = (uintptr_t)method + ci->header_size;
		if (w.cursor + 2 > w.end)
			return "the request line is malformed";
	}
	MHD_get_connection_values_n(req->con, MHD_HEADER_KIND, walk_header, &w);
	if (w.bad)
		return w.bad;
	if (w.layout && w.cursor + 2 != w.end)
		return "a header line is folded, holds a NUL byte or ends in a bare LF";
	if (w.n_host > 1)
		return "more than one Host header";
	if (w.n_cl > 1 || w.n_te > 1)
		return "more than one Content-Length or Transfer-Encoding header";
	if (w.n_te && w.n_cl)
		return "both Transfer-Encoding and Content-Length";
	if (w.n_te && (strcasecmp(w.te, "chunked") || !strcmp(version, MHD_HTTP_VERSION_1_0)))
		return "Transfer-Encoding other than chunked (or in HTTP/1.0)";
	return NULL;
}

/* ---------------------------------------------------------------- MHD callbacks */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct http_server *srv = cls;
	struct request *req = calloc(1, sizeof(*req));
	const union MHD_ConnectionInfo *ci;
	unsigned char id[8];

	if (!req)
		return NULL;
	req->arena = arena_new();
	if (!req->arena) {
		free(req);
		return NULL;
	}
	req->srv = srv;
	req->con = con;
	req->gconn = guard_conn_of(con);
	req->start_us = clock_now_us();
	randombytes_buf(id, sizeof(id));
	hex_encode(id, sizeof(id), req->request_id);
	req->target = uri ? arena_strdup(req->arena, uri) : "";
	if (!req->target)
		req->target = "";
	if (uri && strlen(uri) <= KURA_MAX_URL_BYTES)
		req->raw_uri = (char *)req->target;
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  req->client_ip, sizeof(req->client_ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  req->client_ip, sizeof(req->client_ip));
	}
	req->actor.type = ACTOR_ANONYMOUS;
	req->actor.name = "";
	req->actor.source_ip = req->client_ip;
	req->actor.user_agent = "";
	return req;
}

static enum MHD_Result handle_request(struct MHD_Connection *con, const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size, struct request *req)
{
	const char *cl, *ua;

	if (!req->started) {
		const char *bad;

		req->started = true;
		req->method = method;
		if ((bad = headers_malformed(req, method, version))) {
			/* close: the bytes after a request we cannot frame are not another request */
			http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
			return http_problem(req, 400, "invalid-header", bad, NULL);
		}
		if (!req->raw_uri) {
			/* refused before its body is read: the connection ends with the answer */
			http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
			return http_problem(req, 414, "invalid-path", "the request target is too long", NULL);
		}
		req->at_headers = body_comes_unasked(con, version);   /* on_request clears it */
		/* in flight from here; while draining, new requests are turned away (the check
		 * comes after the count, so http_drain either sees this one or it sees the drain) */
		atomic_fetch_add(&req->srv->active, 1);
		req->in_flight = true;
		if (atomic_load(&req->srv->draining)) {
			char after[16];

			str_printf(after, sizeof(after), "%d", KURA_DRAIN_RETRY_AFTER_S);
			http_add_header(req, MHD_HTTP_HEADER_RETRY_AFTER, after);
			http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
			return http_problem(req, 503, "unavailable", "the server is shutting down; retry", NULL);
		}
		ua = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
		req->user_agent = ua ? ua : "";
		req->actor.user_agent = req->user_agent;
		access_resolve_client(req);   /* access: X-Forwarded-For from trusted proxies */
		if (is_stream_request(req))
			return dispatch(req);   /* checks now; the body goes to stream->data */
		cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			int64_t v;

			if (safe_atoi64(cl, &v) < 0 || v < 0 || v > KURA_MAX_JSON_BODY) {
				req->path = req->raw_uri;
				return http_problem(req, 413, "body-too-large",
						    "JSON bodies are at most 64 KiB", NULL);
			}
		}
		return MHD_YES;
	}
	if (req->waiting) {
		/* answered before the body: the body is dropped, then the answer goes */
		struct MHD_Response *resp = req->waiting;
		enum MHD_Result ret;

		if (*upload_data_size > 0) {
			req->dropped += *upload_data_size;
			*upload_data_size = 0;
			if (req->dropped > KURA_REFUSED_BODY_MAX) {
				/* chunked, and longer than an answer is worth waiting for */
				req->cut_reason = "refused-body";
				return MHD_NO;
			}
			return MHD_YES;
		}
		req->waiting = NULL;
		req->status = req->waiting_status;
		ret = MHD_queue_response(req->con, req->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (req->stream || (req->status && !req->body)) {
		/* streaming, or answered before the body (then the body is discarded) */
		if (*upload_data_size > 0) {
			size_t n = *upload_data_size;

			*upload_data_size = 0;
			if (req->stream && !req->status && !req->stream_failed &&
			    req->stream->data(req, upload_data, n) < 0)
				req->stream_failed = true;
			return MHD_YES;
		}
		if (req->status || !req->stream || req->stream_ended)
			return MHD_YES;
		req->stream_ended = true;
		/* the WebDAV method itself runs here (a GET's lookups): its reads in one
		 * snapshot too, up to its first write or record (db.h db_read_begin) */
		db_read_begin(req->db);
		enum MHD_Result res = req->stream->end(req);

		db_read_end(req->db);
		return res;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->body_too_large || req->body_len + n > KURA_MAX_JSON_BODY) {
			req->body_too_large = true;
			return MHD_YES;
		}
		if (!req->body) {
			req->body_cap = KURA_MAX_JSON_BODY;
			req->body = arena_alloc(req->arena, req->body_cap + 1);
			if (!req->body)
				return MHD_NO;
		}
		memcpy(req->body + req->body_len, upload_data, n);
		req->body_len += n;
		return MHD_YES;
	}
	return dispatch(req);
}

/* MHD's access handler: the request itself, then the guard's idea of where it is (headers
 * done, body bytes, body done or answered). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct request *req = *con_cls;
	struct http_server *srv = cls;
	bool first;
	size_t n;
	enum MHD_Result ret;

	(void)url;
	if (!req)
		return MHD_NO;
	first = !req->started;
	n = *upload_data_size;
	ret = handle_request(con, method, version, upload_data, upload_data_size, req);
	req->at_headers = false;
	if (first)
		guard_headers_done(srv->guard, req->gconn);
	else if (n > 0)
		guard_body(srv->guard, req->gconn, n);
	if (req->status || (!first && n == 0))
		guard_body_done(srv->guard, req->gconn);
	return ret;
}

/* For requests that matched no secret-carrying route (a 404, 405, bad path or early 413):
 * the segment after a token prefix is replaced, so a mistyped or refused request never
 * writes an invitation, reset or link token into the log. */
static const char *redact_path(const char *p, char *buf, size_t size)
{
	static const char *const prefixes[] = { "/invite/", "/reset/", "/s/", "/api/v1/invitations/",
						"/api/v1/password-reset/", "/api/v1/links/",
						"/contact-confirm/", "/api/v1/contact-confirmations/" };
	size_t i, n;

	if (!p)
		return "";
	for (i = 0; i < ARRAY_SIZE(prefixes); i++) {
		n = strlen(prefixes[i]);
		if (!strncmp(p, prefixes[i], n)) {
			const char *rest = p + n + strcspn(p + n, "/?");

			str_printf(buf, size, "%s*%s", prefixes[i], *rest == '/' ? rest : "");
			return buf;
		}
	}
	return p;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *req = *con_cls;
	char status[8], dur[24], redacted[KURA_MAX_URL_BYTES + 64];

	(void)con;
	if (!req)
		return;
	if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		req->cut_reason = "shutdown";       /* the drain time was over (http_stop) */
	else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		req->cut_reason = guard_cut_reason(srv->guard, req->gconn);   /* "timeout", or NULL */
	if (req->stream)
		req->stream->abort(req, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (req->waiting) {
		/* its body never ended: the answer was not sent; the log shows what it was */
		MHD_destroy_response(req->waiting);
		req->waiting = NULL;
		req->status = req->waiting_status;
	}
	guard_request_done(srv->guard, req->gconn);
	if (req->in_flight)
		atomic_fetch_sub(&srv->active, 1);
	if (req->started) {
		int64_t took = clock_now_us() - req->start_us;

		metrics_request(req->route ? (size_t)(req->route - route_table) : SIZE_MAX, req->status, took);
		str_printf(status, sizeof(status), "%u", req->status);
		str_printf(dur, sizeof(dur), "%lld", (long long)took);
		log_fields(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_INFO : LOG_WARN, "http.request",
			   (const char *const[]){ "request_id", req->request_id, "method",
						  req->method ? req->method : "", "path",
						  req->log_path ? req->log_path
						  : redact_path(req->path ? req->path : req->raw_uri, redacted,
								sizeof(redacted)),
						  "status", status, "duration_us", dur, "client",
						  req->client_ip, req->cut_reason ? "cut" : NULL,
						  req->cut_reason, NULL });
	}
	arena_free(req->arena);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) KURA_PRINTF(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http.mhd", "%s", msg);
}

/* ---------------------------------------------------------------- start, stop */

int http_listen(const char *addr_port, bool *ret_loopback, char *err, size_t err_size)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[256];
	const char *port, *colon;
	int fd = -1, one = 1, r;
	size_t hn;

	if (addr_port[0] == '[') {
		colon = strstr(addr_port, "]:");
		if (!colon)
			goto bad;
		hn = (size_t)(colon - addr_port - 1);
		port = colon + 2;
		if (hn >= sizeof(host))
			goto bad;
		memcpy(host, addr_port + 1, hn);
	} else {
		colon = strrchr(addr_port, ':');
		if (!colon)
			goto bad;
		hn = (size_t)(colon - addr_port);
		port = colon + 1;
		if (hn >= sizeof(host) || memchr(addr_port, ':', hn))
			goto bad;
		memcpy(host, addr_port, hn);
	}
	host[hn] = '\0';
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(hn ? host : NULL, port, &hints, &res);
	if (r != 0)
		goto bad;
	if (res->ai_family == AF_INET)
		*ret_loopback = (ntohl(((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr.s_addr) >> 24) == 127;
	else
		*ret_loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr);
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		str_printf(err, err_size, "cannot create a socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		str_printf(err, err_size, "cannot listen on %s: %s%s", addr_port, strerror(errno),
			   errno == EADDRINUSE ? " (another process uses this port)" : "");
		goto fail;
	}
	if (listen(fd, 512) < 0) {
		str_printf(err, err_size, "cannot listen on %s: %s", addr_port, strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
bad:
	str_printf(err, err_size, "bad listen address \"%s\": use ADDR:PORT or [IPv6]:PORT with numeric values",
		   addr_port);
	if (res)
		freeaddrinfo(res);
	return -EINVAL;
fail:
	r = -errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return r ? r : -EIO;
}

/* Raises the soft open-file limit to fit max_connections + KURA_FD_RESERVE; when the hard
 * limit does not allow that, lowers the connection limits to what fits (and says so). */
static int fit_open_files(struct http_server *srv, char *err, size_t err_size)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)srv->max_connections + KURA_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		str_printf(err, err_size, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	if (rl.rlim_cur < need) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur < need) {
		unsigned fit = rl.rlim_cur > KURA_FD_RESERVE + KURA_MAX_CONNECTIONS_MIN
			       ? (unsigned)(rl.rlim_cur - KURA_FD_RESERVE) : 0;

		if (!fit) {
			str_printf(err, err_size, "the open-file limit (%llu) is too low: kura needs at least %d "
				   "(raise LimitNOFILE / ulimit -n)", (unsigned long long)rl.rlim_cur,
				   KURA_FD_RESERVE + KURA_MAX_CONNECTIONS_MIN);
			return -EMFILE;
		}
		log_warn("http.limits", "the open-file limit is %llu: serving at most %u connections, not %u "
			 "(raise LimitNOFILE / ulimit -n)", (unsigned long long)rl.rlim_cur, fit,
			 srv->max_connections);
		srv->max_connections = fit;
		if (srv->per_address > fit / 2)
			srv->per_address = fit / 2;
	}
	return 0;
}

struct http_server *http_start(const struct http_options *opt, char *err, size_t err_size)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	unsigned threads = opt->threads;

	if (!srv) {
		str_copy(err, err_size, "out of memory");
		return NULL;
	}
	srv->cfg = opt->cfg;
	srv->mailer = opt->mailer;
	srv->files = opt->files;
	srv->tls = opt->tls_cert_pem != NULL;
	srv->header_layout = header_layout_known();
	atomic_init(&srv->draining, false);
	atomic_init(&srv->active, 0);
	if (!srv->header_layout)
		log_warn("http.strict", "libmicrohttpd %s: the header layout check is off (it knows 0.9.75 "
			 "and 0.9.76); folded header lines and NUL bytes in values are left to the library",
			 MHD_get_version());
	{
		size_t n;

		http_routes(&n);
		if (route_overflow) {
			str_printf(err, err_size, "the route table has more than %d routes", HTTP_ROUTES_MAX);
			goto fail;
		}
	}
	if (access_configure(srv, err, err_size) < 0)
		goto fail;
	srv->max_connections = opt->cfg->max_connections;
	srv->per_address = opt->cfg->max_connections_per_address;
	if (fit_open_files(srv, err, err_size) < 0)
		goto fail;
	srv->guard = guard_new(opt->cfg, srv->per_address, srv->trusted, srv->n_trusted);
	if (!srv->guard) {
		str_copy(err, err_size, "cannot start the connection guard");
		goto fail;
	}
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		bool pg = opt->cfg->db_url[0] && strncmp(opt->cfg->db_url, "sqlite:", 7);

		/* requests wait on the disk (the audit group commit, fsync of uploads), not only
		 * on the CPU, and a worker that waits holds up every connection it serves: more
		 * workers than CPUs let waiting requests share a commit and, on SQLite, a combined
		 * write transaction (docs/performance.md step 20). On PostgreSQL each worker holds
		 * a server connection and commits alone: four per CPU */
		threads = (n > 0 ? (unsigned)n : 1) * (pg ? KURA_THREADS_PER_CPU_PG : KURA_THREADS_PER_CPU);
		if (!pg && threads > KURA_THREADS_DEFAULT_MAX)
			threads = KURA_THREADS_DEFAULT_MAX;
	}
	/* MHD splits the connection limit evenly over its workers */
	if (threads > srv->max_connections / 4)
		threads = srv->max_connections / 4;
	if (srv->tls) {
		flags |= MHD_USE_TLS;
		srv->daemon = MHD_start_daemon(
			flags, 0, guard_accept, srv->guard, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
			on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, opt->listen_fd,
			MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
			guard_notify, srv->guard, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(size_t)KURA_CONNECTION_MEMORY, MHD_OPTION_CONNECTION_LIMIT, srv->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KURA_CONNECTION_TIMEOUT_S, HTTP_STRICT_OPTION,
			MHD_OPTION_HTTPS_MEM_KEY, opt->tls_key_pem, MHD_OPTION_HTTPS_MEM_CERT,
			opt->tls_cert_pem,
			/* a trust list makes MHD ask for a client certificate (GNUTLS_CERT_REQUEST:
			 * optional); nothing is judged in the handshake, api_certs.c checks the
			 * certificate per request against the request's tenant (issue 16) */
			MHD_OPTION_HTTPS_MEM_TRUST, opt->tls_cert_pem, MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES, MHD_OPTION_END);
	} else {
		srv->daemon = MHD_start_daemon(
			flags, 0, guard_accept, srv->guard, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
			on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, opt->listen_fd,
			MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
			guard_notify, srv->guard, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(size_t)KURA_CONNECTION_MEMORY, MHD_OPTION_CONNECTION_LIMIT, srv->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KURA_CONNECTION_TIMEOUT_S, HTTP_STRICT_OPTION,
			MHD_OPTION_END);
	}
	if (!srv->daemon) {
		str_copy(err, err_size, "the HTTP server did not start (bad TLS certificate or key?)");
		goto fail;
	}
	log_info("http.limits", "at most %u connections, %u per address; request headers within %u s, "
		 "bodies at %u bytes/s after %u s", srv->max_connections, srv->per_address,
		 opt->cfg->header_timeout_s, opt->cfg->body_min_rate, opt->cfg->body_timeout_s);
	return srv;
fail:
	srv->guard = guard_free(srv->guard);
	free(srv);
	return NULL;
}

void http_drain_begin(struct http_server *srv)
{
	if (srv)
		atomic_store(&srv->draining, true);
}

unsigned http_in_flight(struct http_server *srv)
{
	return srv ? atomic_load(&srv->active) : 0;
}

struct http_server *http_stop(struct http_server *srv)
{
	if (!srv)
		return NULL;
	/* closes every connection: what is still in flight ends with reason "shutdown" */
	MHD_stop_daemon(srv->daemon);
	srv->guard = guard_free(srv->guard);
	free(srv);
	dav_cache_clear();   /* every response that held a kept answer is gone */
	return NULL;
}

const char *http_mhd_version(void)
{
	return MHD_get_version();
}
