/*
 * The management plane (D1, C6): operators act through DIR/admin.sock, never the public
 * listener. One JSON request line, one JSON response line per connection:
 *   → {"command": "tenant.create", "args": {...}}
 *   ← {"ok": true, "result": {...}}  or  {"ok": false, "error": "...", "code": "not-found"}
 * Commands go through the same service functions, checks and audit as the API.
 */
#ifndef KURA_MGMT_MGMT_H
#define KURA_MGMT_MGMT_H
#include <jansson.h>

#include "core/core.h"

struct files;
struct mailer;
struct mgmt_server;

/* files: for the support commands that read a tenant's files under its grant (C7). */
struct mgmt_server *mgmt_start(const char *sock_path, const unsigned char *master_key,
			       struct mailer *mailer, struct files *files, char *err, size_t err_size);
struct mgmt_server *mgmt_stop(struct mgmt_server *m);

/* Client: sends request (borrowed), returns the parsed response in *ret. */
int mgmt_call(const char *sock_path, json_t *request, json_t **ret, char *err, size_t err_size);
#endif
