/*
 * Outgoing mail (F1, W5): a durable outbox table and one sender thread.
 *
 * outbox_enqueue() inserts into mail_outbox with the caller's db handle, so a mail is
 * queued in the same transaction as the change that causes it (an invitation is either
 * created and mailed, or neither). The sender thread delivers due messages over SMTP with
 * libcurl (STARTTLS when offered, or as configured), records each attempt, and retries
 * with exponential backoff: state queued -> sent, or deferred (retry later) -> failed
 * after KURA_MAIL_MAX_ATTEMPTS. The body is kept sealed while the mail waits and erased
 * when it is sent or has failed; the delivery log keeps the rest. Callers do not write
 * subjects and bodies themselves: mail.h renders them from the templates in mail/.
 */
#ifndef KURA_NOTIFY_NOTIFY_H
#define KURA_NOTIFY_NOTIFY_H
#include "core/core.h"

struct db;
struct config;
struct mailer;

/* Derives the key that seals queued mail bodies from the master key (kura serve, at start).
 * Without it, a random key for this process only is used. */
int outbox_set_key(const unsigned char *master) KURA_WUR;

/* Queues one plain-text UTF-8 mail (its body sealed, docs/security.md "Mail bodies"). tenant_id 0 = provider mail. to is one address.
 * subject and body are UTF-8 (Japanese is fine); -EINVAL for bad address or over limits. */
int outbox_enqueue(struct db *db, int64_t tenant_id, const char *to, const char *subject,
		   const char *body, int64_t *ret_id) KURA_WUR;

/* True when addr is an acceptable single mailbox (local@domain, no spaces, CR, LF, <, >,
 * length within KURA_EMAIL_MAX). */
bool mail_address_valid(const char *addr);

/* Starts the sender thread; it opens its own db connection via db_thread(). */
struct mailer *mailer_start(const struct config *cfg);
/* Tells the sender that a message was queued (after the enqueuing transaction committed). */
void mailer_wake(struct mailer *m);
/* A task the sender runs with its db connection before each round of deliveries (every
 * [mail] poll seconds, or when woken), so mail it queues goes out in that round: the
 * announcement of expiring client certificates (auth/clientcert.c). It must be cheap when
 * there is nothing to do. One task; NULL removes it. */
void mailer_set_task(struct mailer *m, int (*task)(struct db *db));
/* A task run before each round on every node (no lease), on the mailer's thread: what each
 * process must do about its own memory (cli/serve.c: the key cache's recheck). */
void mailer_set_node_task(struct mailer *m, int (*task)(struct db *db));
/* Stops the thread after the current attempt; returns NULL. */
struct mailer *mailer_stop(struct mailer *m);

const char *notify_curl_version(void);
#endif
