/*
 * The public listener: JSON API, invitation page, later WebDAV and the portal.
 * libmicrohttpd with a thread pool; TLS 1.2/1.3 through GnuTLS, or plain HTTP on loopback.
 */
#ifndef KURA_HTTP_HTTP_H
#define KURA_HTTP_HTTP_H
#include "core/core.h"

struct config;
struct mailer;
struct files;
struct http_server;

struct http_options {
	const struct config *cfg;
	int listen_fd;              /* bound and listening; the server takes it over */
	const char *tls_cert_pem;   /* NULL = plain HTTP */
	const char *tls_key_pem;
	struct mailer *mailer;      /* woken after a request queues mail */
	struct files *files;        /* the files service (borrowed), NULL without one */
	unsigned threads;
};

struct http_server *http_start(const struct http_options *opt, char *err, size_t err_size);
/* Graceful stop: after http_drain_begin, new requests are answered 503 (Retry-After,
 * Connection: close) while those in flight (http_in_flight) go on; http_stop then closes
 * whatever is left, and uploads cut there are recorded with the reason "shutdown". */
void http_drain_begin(struct http_server *srv);
unsigned http_in_flight(struct http_server *srv);
struct http_server *http_stop(struct http_server *srv);

/* Binds and listens on "ADDR:PORT" or "[V6]:PORT". Refuses with a clear message. Sets
 * *ret_loopback when the address is a loopback address. */
int http_listen(const char *addr_port, bool *ret_loopback, char *err, size_t err_size);

/* GnuTLS priority string: TLS 1.3 and 1.2 only, AEAD ciphers with forward secrecy
 * (Mozilla "intermediate"). */
#define HTTP_TLS_PRIORITIES                                                                   \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"   \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:"          \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-FFDHE2048:"        \
	"%SERVER_PRECEDENCE"

const char *http_mhd_version(void);

/* The composed route table (every handler file's slice, src/http/http_int.h has struct
 * route): *ret_n routes, static, in matching order. For tests and tools that walk every
 * endpoint (tests/integration/test_routes_crosstenant.c); the server uses it itself. */
struct route;
const struct route *http_routes(size_t *ret_n);
#endif
