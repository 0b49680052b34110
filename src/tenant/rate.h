/*
 * Rate limits of actions that mail or notify someone (security review): a contact's
 * confirmation mail, an event report and its messages, an operator's access request. Each
 * counted event is a row of rate_events (tenant, kind, subject, time), so the count is the
 * database's and every node of a multi-node deployment (issue 10) sees it; no process
 * memory. The limits are named in core/limits.h (KURA_RATE_*).
 */
#ifndef KURA_TENANT_RATE_H
#define KURA_TENANT_RATE_H
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/limits.h"

struct db;

enum rate_kind {
	RATE_CONTACT_MAIL,      /* per tenant (subject "") */
	RATE_CONTACT_ADDRESS,   /* per tenant and address (rate_subject_address) */
	RATE_REPORT,            /* per account (rate_subject_account) */
	RATE_REPORT_MESSAGE,    /* per account */
	RATE_ACCESS_REQUEST,    /* per tenant */
	RATE_COMPLIANCE,        /* statements built for the tenant's managers (per tenant) */
};

#define RATE_SUBJECT_MAX (KURA_EMAIL_MAX + 16)

/* "account:ID" / "address:" + the address in ASCII lower case. */
void rate_subject_account(char buf[RATE_SUBJECT_MAX], int64_t account_id);
void rate_subject_address(char buf[RATE_SUBJECT_MAX], const char *email);

/* Counts one event of (tenant, kind, subject). Runs inside the caller's transaction, which
 * holds the tenant's lock (the count decides the insert, store/db.h "Write serialisation"),
 * so a rolled-back action is not counted. -EAGAIN when the kind's limit is reached within
 * its window (nothing recorded); rows of the key older than the window go on the way. */
int rate_take(struct db *db, int64_t tenant_id, enum rate_kind kind, const char *subject) KURA_WUR;

/* Seconds until (tenant, kind, subject) has room again (0: it has room now): the
 * Retry-After of a refusal. */
int rate_retry_after(struct db *db, int64_t tenant_id, enum rate_kind kind, const char *subject,
		     int64_t *ret_s) KURA_WUR;

#endif
