/*
 * Integration test harness: runs a real `kura serve` on loopback, with its own temporary data
 * directory, its own ports and a real SMTP server (python3 -m aiosmtpd, Maildir handler), and
 * talks to it the way clients do (libcurl, JSON parsed with jansson). Nothing is mocked.
 *
 * Every server lives in a fresh directory under $TMPDIR (default /tmp), so test executables
 * can run in parallel. Children get PR_SET_PDEATHSIG so a crashed test leaves no server
 * behind. Set KURA_IT_KEEP=1 to keep the temporary directories for inspection, and
 * KURA_IT_VALGRIND=1 to run every kura serve under valgrind memcheck (an error or a definite
 * leak makes the server exit 99, so the test fails at teardown; use a build without
 * sanitizers, e.g. build-release/tests/integration/it_test_<name>).
 *
 * KURA_IT_BLOB=s3 gives every server an S3 blob store instead of DIR/blobs: a real s3rver
 * (tests/s3) of its own on loopback, objects under root/s3, [blob] written into kura.conf;
 * it lives as long as the server's directory (restarts keep it). ctest runs a few suites so
 * as integration-s3/<name>.
 *
 * Assertion helpers are macros so that cmocka reports the test's own file and line.
 */
#ifndef KURA_IT_HARNESS_H
#define KURA_IT_HARNESS_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

#define IT_PROBLEM_PREFIX "urn:kura:problem:"
#define IT_STR 512

struct it_options {
	bool demo;                 /* `kura init --demo`; the password lands in demo_password */
	bool tls;                  /* serve HTTPS (no --no-tls) with DIR/tls/cert.pem */
	const char *extra_config;  /* appended to kura.conf after the harness's own overrides */
	/* A second node of that server's deployment (issue 10; PostgreSQL only): its own data
	 * directory, blobs, ports and admin socket, the same database ([store] db_url) and the
	 * same keys (master.key, signing.key and its public files, copied in before it starts;
	 * docs/scale-out.md "What each node needs"). */
	struct it_server *node_of;
	bool pg;                   /* on PostgreSQL whatever KURA_IT_BACKEND says */
	/* 2: two nodes behind haproxy (also KURA_IT_TOPOLOGY=2nodes for every server the test
	 * starts; harness.h "Two nodes"). */
	int nodes;
};

struct it_server {
	char root[IT_STR / 2];     /* temporary directory, removed at stop */
	char data[IT_STR];         /* DIR given to kura (root/data) */
	char maildir[IT_STR];      /* the SMTP server's Maildir (root/mail) */
	char log_path[IT_STR];     /* the server's stderr (root/server.log) */
	char base_url[IT_STR];     /* http://127.0.0.1:PORT or https://localhost:PORT */
	char public_url[IT_STR];   /* what [server] public_url was set to */
	char demo_password[IT_STR];
	int port, smtp_port;
	bool tls;
	pid_t pid, smtp_pid;
	bool exited;               /* reaped by it_server_wait_exit; it_server_stop returns ... */
	int exit_status;           /* ... this status then */
	char db_url[IT_STR];       /* KURA_IT_BACKEND=pg: [store] db_url of its own database, else "" */
	pid_t s3_pid;              /* KURA_IT_BLOB=s3: its s3rver (else -1)... */
	int s3_port;
	char s3_dir[IT_STR];       /* ...and its objects: DIR/kura/it/<tenant>/<id>._S3rver_object */
	/* Two nodes (it_options.nodes = 2 or KURA_IT_TOPOLOGY=2nodes): this struct is node A
	 * (pid, data, admin socket, log_path are A's) and port/base_url are haproxy's. */
	int node_port;             /* the port kura serve listens on (== port with one node) */
	char node_url[IT_STR];     /* the node's own base URL (== base_url with one node) */
	struct it_server *peer;    /* node B: an it_server of its own (node_of this one) */
	pid_t proxy_pid;           /* haproxy (else -1), config and log in root/haproxy.* */
	struct it_server *direct;  /* it_node(s, 0): a view of node A without the proxy */
};

/* --- Two nodes behind haproxy (issue 10) ---
 * With it_options.nodes = 2, or KURA_IT_TOPOLOGY=2nodes in the environment (every server a
 * test starts), it_server_start makes a deployment of two nodes: one PostgreSQL database, one
 * s3rver and bucket prefix shared by both, node A (this struct: pid, data, admin socket,
 * server.log), node B (s->peer, it_options.node_of A, the same kura.conf settings), and
 * haproxy in front (HTTP mode, round robin, no stickiness, X-Forwarded-For, health check
 * GET /api/v1/status, config root/haproxy.cfg). s->port and s->base_url are haproxy's, so a
 * test talks to the proxy unchanged; public_url is the proxy's; [server] trusted_proxies names
 * haproxy's source address (IT_PROXY_SOURCE), so the nodes see the client's address.
 * it_server_restart and it_server_halt act on both nodes; it_server_stop stops all. */
#define IT_PROXY_SOURCE "127.0.0.9"
/* True when it_server_start makes two nodes by default (KURA_IT_TOPOLOGY=2nodes). */
bool it_two_nodes(void);
/* Node i (0: A, 1: B) addressed directly, without the proxy; s itself with one node. The
 * view of A is refreshed by each call (its pid after a restart). */
struct it_server *it_node(struct it_server *s, int i);

/* KURA_IT_BLOB=s3: the [blob] secret_key the harness writes (s3rver checks the access key,
 * not V4 signatures, so any secret passes); a test looks for it where it must never be. */
#define IT_S3_SECRET "kura-it-s3-secret-never-logged"

/* True when the servers keep their blobs in S3 (KURA_IT_BLOB=s3). */
bool it_blob_s3(void);
/* Calls fn for every object file of the server's blob store (DIR/blobs or the s3rver
 * directory), with its bytes; fn returning nonzero stops. The number of files seen. */
int it_blob_files(struct it_server *s, int (*fn)(void *ctx, const char *path, const char *data, size_t n),
		  void *ctx);

struct it_response {
	long status;               /* 0 when the transfer failed (see curl_code) */
	CURLcode curl_code;
	char curl_error[CURL_ERROR_SIZE];
	char content_type[IT_STR];
	char allow[IT_STR];
	char set_cookie[1024];     /* the whole kura_session Set-Cookie value, "" if none */
	char *headers;             /* all response header lines */
	char *body;                /* NUL-terminated */
	size_t body_len;
	json_t *json;              /* parsed body when it is JSON, else NULL */
};

struct it_session {
	char token[IT_STR];        /* kura_session cookie value */
	char csrf[IT_STR];
};

/* One request; everything optional but method and path. */
struct it_request {
	const char *method;
	const char *path;          /* e.g. /api/v1/me; sent as is when path_as_is */
	const char *body;          /* raw body (may hold any bytes); body_len bytes */
	size_t body_len;
	json_t *json;              /* borrowed; serialised as the body when body is NULL */
	const char *content_type;  /* NULL: application/json when there is a body; "" : none */
	const char *cookie;        /* kura_session token */
	const char *csrf;          /* X-CSRF-Token value */
	const char *const *headers;/* extra "Name: value" lines, NULL-terminated */
	const char *interface;     /* CURLOPT_INTERFACE, e.g. "host!127.0.0.2" */
	bool path_as_is;
	long ssl_version;          /* CURLOPT_SSLVERSION when non-zero */
};

/* Mail as stored by the SMTP server: raw headers and the decoded body text. */
struct it_mail {
	char *headers;
	char *body;
};

/* --- servers --- */
/* Starts SMTP + `kura init` + `kura serve` and waits for /api/v1/status. NULL on failure
 * (the reason and the server log are printed). */
struct it_server *it_server_start(const struct it_options *opts);
/* SIGTERM, wait, clean up. Returns the server's exit status (-1 if it was killed or died
 * from a signal). Frees s. */
int it_server_stop(struct it_server *s);
/* Stops `kura serve` and starts it again on the same data directory and port (the SMTP
 * server keeps running); the child inherits the test's environment at this moment, e.g.
 * KURA_TEST_CLOCK_OFFSET_S. 0 when it answers again. */
int it_server_restart(struct it_server *s);
/* Stops `kura serve` only (SIGTERM, wait); the data directory and SMTP server stay, so
 * it_server_restart can start it again. Returns its exit status (-1: killed or signalled). */
int it_server_halt(struct it_server *s);
/* Runs `kura serve` on s's data directory and port in the foreground and waits up to
 * timeout_s for it to exit (a start that must be refused); output into *ret_out, *ret_err
 * (malloc'd, may be NULL). Returns its exit status, -1 when it had to be killed. */
int it_serve_once(struct it_server *s, int timeout_s, char **ret_out, char **ret_err);
/* cmocka setup/teardown for a plain server (no demo, no TLS) in *state. */
int it_setup_server(void **state);
int it_setup_demo_server(void **state);
int it_teardown_server(void **state);

/* --- PostgreSQL (KURA_IT_BACKEND=pg) ---
 * With KURA_IT_BACKEND=pg every server gets its own database (CREATE DATABASE … TEMPLATE
 * template0 LC_COLLATE 'C' LC_CTYPE 'C.UTF-8') in one PostgreSQL 15 cluster per test executable: initdb in a
 * temporary directory, `postgres` listening on a unix socket only (listen_addresses ''),
 * started at the first server and stopped at exit (run as the postgres user when the tests
 * run as root, which postgres refuses to be). ctest runs every integration suite this way a
 * second time, as integration-pg/<name>. */
/* True when the servers of this run use PostgreSQL. */
bool it_backend_pg(void);
/* A new empty database of the run's cluster: its libpq URI into url. 0, or -1 (printed). */
int it_pg_new_database(char *url, size_t size);
/* Runs one statement as the cluster's superuser on its postgres database (what a test does to
 * the server behind kura: refuse connections, end sessions). 0, or -1 (printed). */
int it_pg_admin(const char *sql);

/* --- waiting for a condition (never for a while) ---
 * A test that needs something the server does in the background (a mail sent, a fold, a
 * sweep, a cut noticed) polls for it and fails only after IT_WAIT_S: generous, because a
 * loaded CI machine under ASan may take seconds where a quiet one takes milliseconds; the
 * poll ends as soon as the condition holds, so the deadline costs nothing when it passes. */
#define IT_WAIT_S 60
/* CLOCK_MONOTONIC in seconds. */
double it_now_s(void);
void it_sleep_ms(long ms);
/* Polls cond every 50 ms until it is true or IT_WAIT_S passed; the caller asserts after. */
#define IT_POLL_UNTIL(cond)                                                       \
	do {                                                                      \
		double it_end_ = it_now_s() + IT_WAIT_S;                          \
		while (!(cond) && it_now_s() < it_end_)                           \
			it_sleep_ms(50);                                          \
	} while (0)

/* --- processes --- */
/* Runs argv (argv[0] a path) with a deadline; stdout/stderr captured into malloc'd strings
 * (the caller frees; either may be NULL). Returns the exit status, or -1 after a signal or
 * the deadline. */
int it_run(const char *const argv[], int timeout_s, char **ret_out, char **ret_err);
/* kura admin --json --data DIR args...(NULL-terminated). Stdout parsed as JSON into *ret_json
 * (NULL when not JSON; pass NULL to ignore). Returns the exit status. */
int it_admin(struct it_server *s, json_t **ret_json, ...) __attribute__((sentinel));
/* Free loopback TCP port (bind to 0, read, close). */
int it_free_port(void);
/* Run as root: appends [server] user = root to DIR/kura.conf (kura serve refuses to keep root
 * unless told so; test_privdrop.c tests the drop). 0 or -1. */
int it_conf_keep_root(const char *data);
/* Makes a fresh temporary directory; path into buf. */
int it_mkdtemp(char *buf, size_t size);
/* rm -rf */
int it_rmtree(const char *path);
char *it_read_file(const char *path, size_t *ret_len);
/* The test seam KURA_TEST_SQL_LOG (cli/serve.c: every statement the server runs, a line
 * each): it_server_start with a fresh log file (its path into log, IT_STR bytes, for
 * it_sql_log_since; unlinked by the caller unless KURA_IT_KEEP), NULL as it_server_start.
 * it_sql_log_size: the log's size now (the offset of what comes next); it_sql_log_since:
 * the lines added from offset off on (malloc'd). */
struct it_server *it_server_start_sql_log(const struct it_options *opts, char *log);
long it_sql_log_size(const char *log);
char *it_sql_log_since(const char *log, long off);

/* --- HTTP --- */
struct it_response *it_request(struct it_server *s, const struct it_request *req);
struct it_response *it_get(struct it_server *s, const struct it_session *sess, const char *path);
/* Sends method+path with the session's cookie and CSRF token. Takes over body (may be NULL). */
struct it_response *it_send(struct it_server *s, const struct it_session *sess,
			    const char *method, const char *path, json_t *body);
struct it_response *it_response_free(struct it_response *r);
/* "Authorization: Basic base64(user:secret)" into buf (an it_request header line). */
void it_basic_auth(char *buf, size_t size, const char *user, const char *secret);
/* POST /api/v1/session. Returns the HTTP status; on 201 fills *ret (may be NULL). */
long it_login(struct it_server *s, const char *tenant, const char *login, const char *password,
	      struct it_session *ret);
/* Value of string member key of r->json, or NULL. */
const char *it_json_str(const json_t *obj, const char *key);
/* Does the Set-Cookie value carry this attribute (case-insensitive; "Path=/" etc.)? */
bool it_cookie_has_attr(const char *set_cookie, const char *attr);

/* After the test signalled s->pid itself: waits up to timeout_s for kura serve to exit and
 * returns its exit status (-1 after a signal, -2 when still running); it_server_stop then
 * only cleans up and returns the same status. */
int it_server_wait_exit(struct it_server *s, double timeout_s);

/* --- raw sockets (issue 14): exact bytes, for what libcurl will not send --- */
/* A TCP connection to the server's port from from_ip (e.g. "127.0.0.2"; NULL: any). The fd,
 * or -errno. */
int it_raw_connect(struct it_server *s, const char *from_ip);
/* Sends all n bytes. 0 or -errno. */
int it_raw_send(int fd, const void *bytes, size_t n);
/* Everything received within timeout_s or until the peer closes (*ret_closed, may be NULL).
 * Malloc'd, NUL-terminated (the caller frees). */
char *it_raw_read(int fd, double timeout_s, bool *ret_closed);
/* Like it_raw_read, but returns as soon as one whole response (headers and its
 * Content-Length body) has arrived: a deadline for a poll, not a time the answer must take. */
char *it_raw_read_response(int fd, double timeout_s, bool *ret_closed);
/* True when the peer closes the connection (EOF or reset) within timeout_s. */
bool it_raw_wait_closed(int fd, double timeout_s);
/* True when, within timeout_s, the server has read every byte sent on fd (nothing unacked
 * here, nothing unread in its socket: /proc/net/tcp), e.g. before a test cuts the connection
 * with RST, which would throw away what the server had not read yet. IPv4 loopback only. */
bool it_raw_wait_consumed(int fd, double timeout_s);

/* --- TOTP (oathtool, an independent RFC 6238 implementation) --- */
/* Waits until the current 30 s step has a few seconds left on both sides, so a code made
 * now is checked by the server in the same step. */
void it_totp_wait_mid_step(void);
/* The 6-digit code of the base32 secret at `when` (oathtool -N syntax, NULL = now). */
void it_totp_code(const char *secret, const char *when, char ret[8]);

/* --- mail --- */
/* Waits up to timeout_s for a new message whose recipient contains `to`. The message is
 * marked as read (moved to cur/) so the next call waits for another one. NULL on timeout. */
struct it_mail *it_wait_for_mail(struct it_server *s, const char *to, int timeout_s);
struct it_mail *it_mail_free(struct it_mail *m);
/* "No mail was sent" made checkable: queues a marker mail through the server's outbox
 * (`kura admin mail test`), waits for it, and returns how many other unread mails whose
 * recipient contains `to` arrived before it (the outbox delivers in order, so a mail queued
 * earlier would be there by then). -1 when the marker did not arrive. */
int it_mails_before_marker(struct it_server *s, const char *to);
/* Registers a contact address (role notices) of mgr's tenant and confirms it through the
 * link of its confirmation mail (issue 9 "Contacts"). */
void it_confirmed_contact(struct it_server *s, const struct it_session *mgr, const char *email);
/* Token after "/invite/" in text, malloc'd, or NULL. */
char *it_extract_invitation_token(const char *text);
/* The whole https?://.../invite/<token> URL in text, malloc'd, or NULL. */
char *it_extract_invitation_url(const char *text);

/* --- scenario helpers (assert on failure) --- */
/* Operator creates tenant code (service DOCX, option if non-NULL). */
void it_create_tenant_at(struct it_server *s, const char *code, const char *option,
			 const char *file, int line);
/* Operator creates manager login in tenant code; the invitation is read from the mailbox and
 * accepted with password; then logs in (ret may be NULL). */
void it_create_manager_at(struct it_server *s, const char *code, const char *login,
			  const char *password, struct it_session *ret, const char *file, int line);
/* Manager creates an account (role "user" or "manager") by API; it is accepted by mail
 * invitation with password; then logs in (ret may be NULL). */
void it_create_account_at(struct it_server *s, const struct it_session *mgr, const char *code,
			  const char *login, const char *role, const char *password,
			  struct it_session *ret, const char *file, int line);
#define it_create_tenant(s, code, option) it_create_tenant_at(s, code, option, __FILE__, __LINE__)
#define it_create_manager(s, code, login, pw, ret) \
	it_create_manager_at(s, code, login, pw, ret, __FILE__, __LINE__)
#define it_create_account(s, mgr, code, login, role, pw, ret) \
	it_create_account_at(s, mgr, code, login, role, pw, ret, __FILE__, __LINE__)

/* --- assertions --- */
void it_assert_status_at(const struct it_response *r, long status, const char *file, int line);
void it_assert_problem_at(const struct it_response *r, long status, const char *type,
			  const char *file, int line);
void it_assert_login_at(struct it_server *s, const char *tenant, const char *login,
			const char *password, long status, struct it_session *ret,
			const char *file, int line);
#define IT_ASSERT_STATUS(r, st) it_assert_status_at(r, st, __FILE__, __LINE__)
/* Content-Type application/problem+json, type urn:kura:problem:<type>, status member. */
#define IT_ASSERT_PROBLEM(r, st, type) it_assert_problem_at(r, st, type, __FILE__, __LINE__)
/* Login answers st (201 fills ret; 401 must be authentication-failed). */
#define IT_ASSERT_LOGIN(s, t, l, p, st, ret) it_assert_login_at(s, t, l, p, st, ret, __FILE__, __LINE__)
/* Every JSON error / success check in one call: GET path with sess answers st. Frees. */
#define IT_EXPECT_GET(s, sess, path, st) do { \
		struct it_response *r_ = it_get(s, sess, path); \
		it_assert_status_at(r_, st, __FILE__, __LINE__); \
		it_response_free(r_); \
	} while (0)

/* --- a two-tenant world: tenants alpha and bravo, manager amgr and user auser in alpha,
 * manager bmgr in bravo, all logged in (passwords IT_A_MGR_PW, IT_A_USER_PW, IT_B_MGR_PW) --- */
#define IT_A_MGR_PW "Alpha-manager-pass-1"
#define IT_A_USER_PW "Alpha-user-pass-2"
#define IT_B_MGR_PW "Bravo-manager-pass-3"
struct it_world {
	struct it_server *s;
	struct it_session amgr, auser, bmgr;
};
int it_setup_world(void **state);
int it_teardown_world(void **state);

/* --- state read the way a tenant's manager or user reads it (issue 12: tests do not open
 * kura.db; provider-side state comes from `kura admin`) --- */
/* Every record of the session's tenant's audit log that GET /api/v1/audit gives for query
 * (its filters, e.g. "action=file.head&result=success"; NULL: all), every page of it; headers:
 * extra request lines or NULL. A new array; asserts on a failed request. */
json_t *it_audit_events(struct it_server *s, const struct it_session *mgr, const char *const *headers,
			const char *query);
/* How many records it_audit_events finds (no extra headers). */
long it_audit_count(struct it_server *s, const struct it_session *mgr, const char *query);
/* Every node of the session's tenant's tree below the root (not the trash), parents before
 * their children, by paging GET /api/v1/folders/{id}/children; each node gets "path" ("/a/b")
 * and "depth" (1 for the root's children). A new array; asserts on a failed request. */
json_t *it_tree(struct it_server *s, const struct it_session *sess);
/* The tree's node at path ("/a/b"), or 0 when there is none. */
long long it_tree_id(struct it_server *s, const struct it_session *sess, const char *path);
/* The items of GET /api/v1/trash (entries, not their subtrees). A new array. */
json_t *it_trash(struct it_server *s, const struct it_session *sess);
/* Percent-encodes text for a URL path segment or query value into buf. */
void it_url_encode(const char *text, char *buf, size_t size);
/* Do the raw bytes of DIR/kura.db or DIR/kura.db-wal hold needle (n bytes)? For tests that
 * prove what is NOT stored (a secret kept only as its hash); a missing file holds nothing. */
bool it_db_files_hold(struct it_server *s, const void *needle, size_t n);
/* Where content is kept (issue 11: small files inline in file_nodes.inline_data) is shown by
 * no interface, so these read the database itself: kura.db with SQLite's C API (busy timeout;
 * the server may run), or the server's PostgreSQL database with libpq. it_db_count: the
 * first column of the first row of sql, an integer (-1 on failure). it_db_blob: its bytes
 * (malloc'd; NULL on failure). it_db_exec_blob: runs sql with the blob as parameter $1. */
long it_db_count(struct it_server *s, const char *sql);
unsigned char *it_db_blob(struct it_server *s, const char *sql, size_t *ret_n);
int it_db_exec_blob(struct it_server *s, const char *sql, const void *blob, size_t n);

#endif
