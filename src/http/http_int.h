/* Shared inside src/http: the request context, routes, responses and JSON input helpers. */
#ifndef KURA_HTTP_HTTP_INT_H
#define KURA_HTTP_HTTP_INT_H
#include <microhttpd.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/clientcert.h"
#include "core/arena.h"
#include "core/config.h"
#include "files/files.h"
#include "http/http.h"
#include "tenant/settings.h"
#include "tenant/tenant.h"

struct db;

struct http_server {
	struct MHD_Daemon *daemon;
	const struct config *cfg;
	struct mailer *mailer;
	struct files *files;           /* NULL: the files API answers 503 */
	bool tls;
	bool header_layout;            /* MHD's header layout is one server.c knows (strictness check) */
	struct guard *guard;
	unsigned max_connections, per_address;   /* in force (the open-file limit may lower them) */
	/* graceful stop (http_drain): new requests get 503 while the ones in flight finish */
	atomic_bool draining;
	atomic_uint active;            /* requests past their headers and not yet completed */
	/* access: [server] trusted_proxies, parsed at start */
	struct ipnet trusted[KURA_TRUSTED_PROXIES_MAX];
	size_t n_trusted;
	/* [server] client_cert_proxies: the only peers whose X-Client-Cert is read (a separate
	 * opt-in: a proxy trusted for client addresses may pass a client's header through) */
	struct ipnet cert_proxies[KURA_TRUSTED_PROXIES_MAX];
	size_t n_cert_proxies;
};

/* ---- connection guard (guard.c): per-address limits, header and body deadlines ---- */
struct guard;
struct guard_conn;
/* per_address: connections per IPv4 address / IPv6 /64; exempt (borrowed): peers not limited */
struct guard *guard_new(const struct config *cfg, unsigned per_address, const struct ipnet *exempt,
			size_t n_exempt);
struct guard *guard_free(struct guard *g);   /* after MHD_stop_daemon */
/* MHD's accept policy callback and MHD_OPTION_NOTIFY_CONNECTION; cls is the guard */
enum MHD_Result guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void guard_notify(void *cls, struct MHD_Connection *con, void **socket_context,
		  enum MHD_ConnectionNotificationCode code);
struct guard_conn *guard_conn_of(struct MHD_Connection *con);
/* A request's phases; each accepts NULL */
void guard_headers_done(struct guard *g, struct guard_conn *c);   /* now the body */
void guard_body(struct guard *g, struct guard_conn *c, size_t n);
void guard_body_done(struct guard *g, struct guard_conn *c);      /* handler and answer */
void guard_request_done(struct guard *g, struct guard_conn *c);   /* wait for the next headers */
/* "timeout" or "limit" when the guard cut the connection, else NULL */
const char *guard_cut_reason(struct guard *g, struct guard_conn *c);

struct header {
	struct header *next;
	const char *name, *value;
};

#define REQUEST_MAX_PARAMS 4

/* One request. Owned by MHD's per-request pointer; all its memory is in the arena. */
struct request {
	struct arena *arena;
	struct http_server *srv;
	struct MHD_Connection *con;
	const char *method;
	char *raw_uri;                 /* as received, NULL when over KURA_MAX_URL_BYTES */
	const char *target;            /* the request target as received, whatever its length (a copy:
				        * libmicrohttpd's bounded read buffer holds it, so it is bounded
				        * by that; MHD later cuts its own string at '?') */
	char *path;                    /* percent-decoded, validated */
	const char *log_path;          /* what logs show: the route pattern when the path holds a secret */
	const struct route *route;     /* the matched route, for /metrics (NULL: none matched) */
	const char *params[REQUEST_MAX_PARAMS];
	size_t n_params;
	char request_id[17];
	char client_ip[INET6_ADDRSTRLEN];
	const char *user_agent;
	int64_t start_us;
	bool started, body_too_large;
	char *body;
	size_t body_len, body_cap;
	json_t *json;                  /* parsed body of routes that take one */
	struct db *db;
	struct actor actor;
	struct session session;        /* valid when has_session */
	bool has_session;
	int64_t app_password_id;       /* access: > 0 when authenticated by an app password (session.id 0) */
	bool app_password_read_only;
	bool dav;                      /* /dav/: WebDAV-style errors, Basic challenge (dav.c) */
	struct guard_conn *gconn;      /* the connection's guard entry (NULL if untracked) */
	bool in_flight;                /* counted in srv->active */
	const char *cut_reason;        /* set when the request was cut: "timeout", "shutdown" */
	const char *basic_tenant;      /* /dav/<tenant>/: the tenant of a Basic user without "@" */
	struct header *headers;        /* extra response headers */
	unsigned status;               /* sent status, for the access log; 0 = not answered yet */
	/* an answer made before a body the client sends without asking (no Expect:
	 * 100-continue) is queued once that body was read and dropped, so the client reads the
	 * answer instead of a reset (server.c http_respond_response) */
	bool at_headers;               /* handle_request's first call: an answer may wait */
	struct MHD_Response *waiting;  /* the answer that waits for the body's end */
	unsigned waiting_status;
	uint64_t dropped;              /* body bytes read and dropped while it waits */
	/* streaming body (R_STREAM routes) */
	const struct stream_ops *stream;
	void *stream_ctx;              /* the handler's, released by stream->abort */
	bool stream_failed;            /* data() refused a piece: the rest is discarded */
	bool stream_ended;             /* end() ran */
	/* client certificates (api_certs.c): the presented one, read once */
	bool cert_read;
	const unsigned char *cert_der; /* NULL: none (TLS peer or trusted proxy's X-Client-Cert) */
	size_t cert_len;
	/* http_feature_on: the tenant's features, read once per request (access.c) */
	int64_t features_tenant;       /* whose features[] holds; 0 = none read yet */
	bool features[8];
	/* http_tenant_settings: the session's tenant's settings, once per request (access.c) */
	int64_t settings_tenant;       /* whose *settings holds; 0 = none yet */
	struct tenant_settings *settings;
};

typedef enum MHD_Result (*handler_fn)(struct request *req);

/* Routes flagged R_STREAM get their body as it arrives instead of buffered: their handler
 * runs as soon as the headers passed every check of dispatch(); it either answers at once
 * (e.g. 413 or 507 from Content-Length; the body is then discarded) or sets req->stream and
 * req->stream_ctx and returns MHD_YES. Then data() gets each piece of the body and
 * returns <0 to refuse the rest (discarded; end() still runs and must answer); end() runs
 * when the body is complete and answers. abort() runs from the completion callback whatever
 * happened (client gone, answered early, or done) and releases stream_ctx if still set. */
struct stream_ops {
	int (*data)(struct request *req, const char *data, size_t n);
	handler_fn end;
	void (*abort)(struct request *req, bool client_gone);
};

/* ---- routes (docs/HACKING.md "How to add an endpoint") ----
 * Each handler file declares its slice of the route table beside its handlers (the
 * handlers are static there); server.c composes the slices (http_routes) and dispatch()
 * runs a request through the fixed stages (server.c) before the route's handler. */
#define R_PUBLIC    0x1    /* no session needed */
#define R_BODY      0x2    /* takes a JSON body */
#define R_PWCHANGE  0x4    /* allowed while the password must be changed */
#define R_MFAENROL  0x8    /* allowed while the MFA policy demands an enrolment (mfa.h) */
#define R_STREAM    0x10   /* dispatched before the body; the handler sets req->stream (below) */
#define R_NOAPP     0x20   /* never with an app password (credential and session management) */
#define R_SECRET    0x40   /* the path carries a secret token: logs show the route pattern instead */
#define R_DAV       0x80   /* WebDAV: pattern is a path prefix, method "*" (every method), app
			    * passwords only, permission by method (dav_method_is_read) */

#define HTTP_ROUTES_MAX 512   /* the composed table; test_route_table checks the room */

/* /metrics (metrics.c): one request done, by its route's index in the composed table
 * (SIZE_MAX: none matched), its status and how long it took */
void metrics_request(size_t route_index, unsigned status, int64_t us);

struct route {
	const char *method;     /* "GET", ...; HEAD is served by the GET route; "*" with R_DAV */
	const char *pattern;    /* '*' matches one path segment (at most REQUEST_MAX_PARAMS) */
	handler_fn fn;
	unsigned flags;
	enum permission perm;   /* what the role must allow (a route behind a session) */
};

/* The slices, one per handler file (the order of http_routes is server.c's). */
extern const struct route api_certs_routes[];
extern const size_t api_certs_n_routes;
extern const struct route api_lockbox_routes[];   /* operator access by approval (api_lockbox.c) */
extern const size_t api_lockbox_n_routes;
extern const struct route api_reports_routes[];   /* api_reports.c: reports and notices (issue 9) */
extern const size_t api_reports_n_routes;
extern const struct route api_compliance_routes[];   /* api_compliance.c: the statement (A5) */
extern const size_t api_compliance_n_routes;
/* Client certificates (api_certs.c). The gate: when the tenant's policy requires a
 * certificate of this account (or the session was opened with one, session_sha256 not
 * empty: then the same one), the request's certificate must be valid and bound to the
 * account; a refusal is recorded in the tenant's audit log (action, the reason) and false
 * returned. ret_seen (may be NULL) gets the certificate presented. <0 from the database
 * in *ret_err (then false as well). */
/* D4: whether the tenant has the feature on (tenant_features, set by the catalog at creation
 * and by its managers). When off, records the refusal (action, category) and answers 403
 * feature-off into *ret; a read failure is a 500. */
bool http_feature_on(struct request *req, int64_t tenant_id, enum catalog_feature f, enum audit_category cat,
		     const char *action, enum MHD_Result *ret) KURA_WUR;
/* The settings of the session's tenant (tenant/settings.h) at the generation its
 * authentication read, once per request: NULL when tenant_id is not the tenant of the
 * request's session, or its generation was not read (the caller reads the database), or
 * with <0 in *ret_err when they could not be read. */
const struct tenant_settings *http_tenant_settings(struct request *req, int64_t tenant_id, int *ret_err);
/* The MFA gate (mfa_gate) of the request's session, with the policy of its settings. */
int http_mfa_gate(struct request *req, bool *ret) KURA_WUR;
bool http_cert_ok(struct request *req, int64_t tenant_id, const char *tenant_code,
		  const struct account *a, const char *session_sha256, const char *action,
		  struct clientcert_seen *ret_seen, int *ret_err);   /* ret_seen zeroed when nothing was checked */
/* The SHA-256 of the request's certificate when it is valid and bound to the account, else
 * "" (what a new session records). */
void http_cert_bound(struct request *req, int64_t tenant_id, const char *tenant_code, const struct account *a,
		     char ret_sha256[CLIENTCERT_SHA256_HEX]);
extern const struct route api_routes[], api_mfa_routes[], api_audit_routes[], api_files_routes[],
	api_access_routes[], api_shares_routes[], page_routes[], dav_routes[], api_uploads_routes[],
	api_archive_routes[], api_notice_routes[], api_export_routes[];
extern const size_t api_n_routes, api_mfa_n_routes, api_audit_n_routes, api_files_n_routes,
	api_access_n_routes, api_shares_n_routes, page_n_routes, dav_n_routes, api_uploads_n_routes,
	api_archive_n_routes, api_notice_n_routes, api_export_n_routes;

/* responses: each queues exactly one response and returns MHD's result */
void http_add_header(struct request *req, const char *name, const char *value);
enum MHD_Result http_respond(struct request *req, unsigned status, const char *content_type,
			     const void *body, size_t n);
/* A response produced piece by piece by reader (MHD_create_response_from_callback);
 * free_cls(cls) runs when it is done, or at once when the response cannot be made. */
enum MHD_Result http_respond_stream(struct request *req, unsigned status, const char *content_type,
				    MHD_ContentReaderCallback reader, void *cls,
				    MHD_ContentReaderFreeCallback free_cls);
enum MHD_Result http_json(struct request *req, unsigned status, json_t *obj);  /* steals obj */
enum MHD_Result http_empty(struct request *req, unsigned status);
/* Queues resp (destroying it) with the security headers and this request's extra headers. */
enum MHD_Result http_respond_response(struct request *req, unsigned status,
				      const char *content_type, struct MHD_Response *resp);
/* type is the slug after urn:kura:problem: ; field may be NULL */
enum MHD_Result http_problem(struct request *req, unsigned status, const char *type,
			     const char *detail, const char *field);
/* The same with extension members from more (taken over, may be NULL; never type, title,
 * status, detail, field or request_id): {"remaining": 3} of a wrong link password. */
enum MHD_Result http_problem_more(struct request *req, unsigned status, const char *type, const char *detail,
				  const char *field, json_t *more);
enum MHD_Result http_internal_error(struct request *req, int err);
/* 429 rate-limited with Retry-After: retry_s seconds (at least 1), recorded as rate.limited
 * (denied; outside any transaction); limit and window_s are
 * the named limit that was reached (core/limits.h KURA_RATE_*), given in the answer. */
enum MHD_Result http_rate_limited(struct request *req, int64_t retry_s, int64_t limit, int64_t window_s,
				  const char *detail);

/* JSON body members by spec (fields.c): checks kinds and limits, refuses unknown members.
 * On failure it has sent a 400 invalid-field problem naming the member in "field" and
 * returns false (the handler returns *ret_result). Write specs with designated
 * initializers; what a kind does not use stays zero.
 *   FIELD_STRING  a string of at most max_chars code points, no NUL       → *ret_str
 *   FIELD_BOOL    true or false                                          → *ret_bool (-1 absent)
 *   FIELD_OBJECT  an object (the handler reads it from req->json)
 *   FIELD_INT     an integer in [min, max]; or, when values is set, one of those strings
 *                 instead (e.g. "root")                        → *ret_int, or *ret_str
 *   FIELD_ENUM    one of values (NULL-terminated)                         → *ret_str
 *   FIELD_ARRAY   at most max_items items, each of kind item (FIELD_STRING, FIELD_INT or
 *                 FIELD_ENUM, with the limits above); an item's problem names the member,
 *                 or "name[i]" with item_index                  → *ret_array (borrowed)
 * nullable: an explicit null is taken (outputs stay absent) and reported in *ret_state,
 * which tells every kind's absent / null / set apart. Strings, bools and arrays read as
 * absent first; *ret_int is only written when an integer came, so preset the default. */
enum field_kind { FIELD_STRING, FIELD_BOOL, FIELD_OBJECT, FIELD_INT, FIELD_ENUM, FIELD_ARRAY };
enum field_state { FIELD_ABSENT, FIELD_NULL, FIELD_SET };
struct field {
	const char *name;
	enum field_kind kind;
	bool required;
	size_t max_chars;              /* FIELD_STRING (and string items): code points */
	const char **ret_str;          /* NULL when absent or null */
	int *ret_bool;                 /* -1 when absent or null */
	int64_t min, max;              /* FIELD_INT (and integer items), inclusive */
	int64_t *ret_int;
	const char *const *values;     /* FIELD_ENUM: the allowed strings; FIELD_INT: names taken instead */
	size_t max_items;              /* FIELD_ARRAY */
	enum field_kind item;          /* FIELD_ARRAY: the kind of each item */
	bool item_index;               /* FIELD_ARRAY: an item's problem names "name[i]" */
	json_t **ret_array;            /* FIELD_ARRAY: NULL when absent or null */
	bool nullable;
	enum field_state *ret_state;   /* may be NULL */
};
bool http_take_fields(struct request *req, const struct field *spec, size_t n,
		      enum MHD_Result *ret_result);
/* The check alone (for tests and non-HTTP callers): 0, or -EINVAL with the problem's
 * detail and field in *ret_error. */
struct field_error {
	char detail[256];
	const char *field;             /* the member (borrowed from the body or the spec), or item */
	char item[80];                 /* "name[i]" of an array item */
};
int http_fields_check(json_t *obj, const struct field *spec, size_t n, struct field_error *ret_error);

/* The permission choke point for an authenticated request: the role's matrix, and for an
 * app password its narrower scope (authz_app_password_allowed). dispatch() checks the
 * route's permission with it; handlers ask it again for what depends on the target (e.g.
 * acting on another account's share link needs shares.admin). */
bool http_permitted(struct request *req, enum permission p, bool mutating) KURA_WUR;

/* Audit record for this request's actor, in the tenant of the session (or tenant_id). */
int http_audit(struct request *req, int64_t tenant_id, enum audit_category cat, const char *action,
	       const char *target, enum audit_result result, json_t *details);

const char *http_query(struct request *req, const char *key);

/* Re-authentication before a security change: checks password against the session's
 * account (a wrong one is recorded and counts toward the lockout). False when it has
 * already answered (403 field "password", or an internal error). */
bool http_reauth(struct request *req, const char *password, enum MHD_Result *ret);

/* ---- files (api_files.c) ---- */
/* Media types a browser would execute or render as a document with script (HTML, SVG,
 * XML, JavaScript, PDF...): served as attachments everywhere (api_files.c). */
bool http_type_is_active(const char *content_type);
/* The Content-Security-Policy of user file content: nothing loads, nothing runs, and the
 * document is a unique opaque origin (sandbox) even if a browser renders it. */
#define FILE_CONTENT_CSP "default-src 'none'; frame-ancestors 'none'; sandbox"
/* Shared with share links (api_shares.c): the files API's download and streaming upload
 * paths for any tenant and node the caller has already authorized. */
struct file_node;
enum MHD_Result http_files_error(struct request *req, int r, const char *what);
/* What a download answer gives: the content (200/206), its headers only (HEAD), or
 * "not modified" (304 to a conditional GET or HEAD). */
enum http_download_kind { DOWNLOAD_BODY, DOWNLOAD_HEAD, DOWNLOAD_NOT_MODIFIED };
/* Runs once the answer is known, before it is sent (not for 412, 416 or an integrity
 * failure): records the access, for every kind (and may refuse: then it queued *ret_result,
 * returns false). start and len: the range served (0, 0 for a 304). */
typedef bool (*http_download_start_fn)(struct request *req, const struct file_node *n,
				       enum http_download_kind kind, uint64_t start, uint64_t len,
				       void *cls, enum MHD_Result *ret_result);
/* GET a file's content with Range, ETag/If-None-Match and Content-Disposition. */
enum MHD_Result http_file_download(struct request *req, int64_t tenant_id, int64_t node_id,
				   http_download_start_fn start, void *cls);
struct file_content;
/* The same for a node and its content as the caller read them in this request's snapshot
 * (WebDAV's GET: files_dav_resolve_content), so they are not read again; takes c's memory
 * (files.h files_open_at) whatever the answer. */
enum MHD_Result http_file_download_at(struct request *req, int64_t tenant_id, const struct file_node *n,
				      struct file_content *c, http_download_start_fn start, void *cls);
/* The files API's http_download_start_fn (also WebDAV's): the access record file.download,
 * file.head or file.not_modified. */
bool http_download_record(struct request *req, const struct file_node *n, enum http_download_kind kind,
			  uint64_t start, uint64_t len, void *cls, enum MHD_Result *ret_result);
/* Answers a committed upload. */
typedef enum MHD_Result (*http_upload_done_fn)(struct request *req, const struct file_node *n,
					       bool created, void *cls);
/* Starts a streaming upload (R_STREAM routes) of name into folder parent_id of tenant_id;
 * the commit is recorded with req->actor. */
enum MHD_Result http_file_upload(struct request *req, int64_t tenant_id, int64_t parent_id,
				 const char *name, bool no_replace, http_upload_done_fn done,
				 void *cls);
/* Answers a commit that guard refused with code r (its own codes). */
typedef enum MHD_Result (*http_upload_refused_fn)(struct request *req, int r, void *cls);
/* http_file_upload into the folder parent with old the node of that name in it (NULL:
 * none), both as the caller read them in this request's snapshot (files_upload_begin_at),
 * and guard the commit's check of locks and preconditions (files_upload_set_guard, with
 * cls): its refusals (-ENOLCK, -ESTALE) are answered by refused. */
enum MHD_Result http_file_upload_at(struct request *req, int64_t tenant_id, const struct file_node *parent,
				    const struct file_node *old, const char *name, bool no_replace,
				    files_upload_guard_fn guard, http_upload_refused_fn refused,
				    http_upload_done_fn done, void *cls);
/* http_file_upload_at for a small body (files_upload_begin_path: at most
 * KURA_UPLOAD_DEFER_MAX_BYTES) to the tenant-relative path, resolved only in the commit's
 * transaction, after the body: refused also answers its -ENOTDIR (no parent folder) and
 * -EISDIR (a folder of that name). path must live as long as the request (its arena). */
enum MHD_Result http_file_upload_path(struct request *req, int64_t tenant_id, const char *path, bool no_replace,
				      files_upload_guard_fn guard, http_upload_refused_fn refused,
				      http_upload_done_fn done, void *cls);
/* Conditional request headers (RFC 9110 13.2.2) against a resource with this quoted ETag
 * (NULL: none) and modification time (-1: none; the date conditions are then ignored, 13.1.3):
 * 0 go on, 304 or 412 answer that (api_files.c). */
unsigned http_preconditions(struct request *req, const char *etag, int64_t modified_us, bool exists);
/* attachment; filename="ascii"; filename*=UTF-8''pct-encoded (RFC 6266, RFC 5987). */
char *http_content_disposition(struct arena *a, const char *name);
/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), size >= 30. */
void http_date_format(int64_t us, char *buf, size_t size);

/* ---- WebDAV (dav.c; docs/webdav.md) ---- */
#define DAV_PREFIX "/dav/"
/* Read methods for the files.read permission and read-only app passwords (dav.c's method
 * table says which). */
bool dav_method_is_read(const char *method);
/* A WebDAV read (GET, HEAD, OPTIONS, PROPFIND) that announces no body (no Content-Length
 * or 0, no Transfer-Encoding): server.c dispatches it once the request is complete, not
 * before its body as the other /dav/ requests, and dav.c runs the method in that dispatch,
 * so the credential's and the method's reads share one read snapshot (issue 11). An answer
 * queued before the request is complete makes libmicrohttpd close the connection after it,
 * so a read answered in the first call (headers only) lost its keep-alive. */
bool dav_request_whole(struct request *req);
/* The i-th method of that table, NULL past the last: for tests that try every method. */
const char *dav_method_name(size_t i);
/* The strict path decoder of dispatch() (server.c): NULL when not acceptable. Under /dav/ a
 * trailing "/" is kept. */
char *http_decode_path(struct arena *a, const char *raw);

/* ---- access: the request gate's controls (access.c) ---- */
#include "http/access.h"
#endif
