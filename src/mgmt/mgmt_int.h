/* What the management server hands a command's handler (mgmt.c → commands.c). */
#ifndef KURA_MGMT_MGMT_INT_H
#define KURA_MGMT_MGMT_INT_H
#include "mgmt/command.h"

struct actor;
struct db;
struct files;
struct mailer;

struct mgmt_ctx {
	struct db *db;                     /* this connection's handle */
	const struct actor *op;            /* the operator (peer uid), actor of every record */
	const unsigned char *master_key;   /* borrowed from kura serve */
	struct mailer *mailer;
	struct files *files;               /* borrowed: the support commands' reads (C7) */
};

/* {"ok": false, "error": message, "code": code}: a refused command's response. */
json_t *mgmt_fail(const char *code, const char *fmt, ...) KURA_PRINTF(2, 3);
#endif
