/*
 * The tenant's mail delivery log (W5): the rows of the durable outbox that belong to one
 * tenant, with their state (queued, sent, deferred, failed), attempts, times and last error.
 * Read-only; the sender (mailer.c) is the only writer of states. Bodies are never shown:
 * they may hold links (share and invitation tokens), and are erased once a mail is sent or
 * failed; "size" is the body's size in bytes.
 */
#ifndef KURA_NOTIFY_MAILLOG_H
#define KURA_NOTIFY_MAILLOG_H
#include <jansson.h>

#include "core/core.h"

struct db;

bool mail_state_valid(const char *state);
/* One mail as JSON (no body). */
json_t *mail_log_row_json(struct db *db, int64_t tenant_id, int64_t outbox_id);
/* The tenant's own mails, newest first, before id `before` (0 = from the newest), at most
 * limit; state may be NULL (all). */
int mail_log_list(struct db *db, int64_t tenant_id, const char *state, int64_t before,
		  size_t limit, json_t **ret_items, bool *ret_more) KURA_WUR;
/* The whole outbox counted for the provider (kura admin mail queue): mails per state, how
 * many still hold a body (sealed while waiting; 0 once all are done), the oldest waiting
 * mail's queue time and the next attempt. Counts and times only: no recipient, subject or
 * body of any tenant's mail. */
int mail_queue_summary(struct db *db, json_t **ret) KURA_WUR;
#endif
