/*
 * The access controls of the request gate (access.c): what server.c's dispatch and the
 * login handlers in api.c ask before a request or a password is looked at. Part of the
 * http module's inside (http_int.h includes it); the access API handlers are api_access.c.
 */
#ifndef KURA_HTTP_ACCESS_H
#define KURA_HTTP_ACCESS_H
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

struct account;
struct http_server;
struct request;
struct tenant;

/* Parses [server] trusted_proxies and sizes the throttle for the worker count. */
int access_configure(struct http_server *srv, char *err, size_t err_size);
/* Replaces req->client_ip by the X-Forwarded-For client when the peer is a trusted proxy. */
void access_resolve_client(struct request *req);
bool access_has_basic(struct request *req);
/* Each returns false after queuing the refusal in *ret_result. */
bool access_authenticate_basic(struct request *req, enum MHD_Result *ret_result);
bool access_request_allowed(struct request *req, const char *method, enum MHD_Result *ret_result);
bool access_login_precheck(struct request *req, const char *tenant, const char *login,
			   const char *password, enum MHD_Result *ret_result);
void access_login_failed(struct request *req);
/* The per-address delay alone (second login step). */
bool access_throttle_check(struct request *req, enum MHD_Result *ret_result);
/* Allowlist for an authenticated account before its session is made (second login step). */
bool access_login_address_ok(struct request *req, const struct tenant *t, const struct account *a,
			     enum MHD_Result *ret_result);
#endif
