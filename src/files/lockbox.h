/*
 * Operator access by approval (C7, issue 9; docs/security.md "Operator access by approval"),
 * after Customer Lockbox and Access Approval: an operator asks for one tenant's data (reason,
 * case, scope, hours), the tenant's managers approve (one or two distinct managers, the
 * tenant's policy) or deny, an unanswered request lapses (KURA_ACCESS_LAPSE_S, kura.conf),
 * a grant ends by itself at its end and can be revoked at once by a manager or an operator.
 * An emergency request is a grant at once, mailed to the managers in the same transaction.
 * A tenant whose effective catalog says operator access "never" (IAAS) refuses every request,
 * emergency or not, and the refused attempt is recorded in its log.
 *
 * SECURITY: lockbox_check() is the one gate of the support commands (mgmt/commands.c): it
 * answers 0 only for a grant of this tenant, of this operator, active now (approved or
 * emergency, not revoked, before its end), with the scope asked for, while the catalog still
 * allows consent. Every read under a grant is recorded by lockbox_record_read() in the
 * tenant's own audit chain (actor: the operator; details: grant id and case) before the data
 * leaves kura; a read that cannot be recorded does not happen. States "lapsed" and "expired"
 * are computed from the stored times at every read, so no worker has to run for a grant to
 * end. Requests are looked up by (tenant, id): another tenant's id is -ENOENT.
 */
#ifndef KURA_FILES_LOCKBOX_H
#define KURA_FILES_LOCKBOX_H
#include <jansson.h>

#include "core/core.h"
#include "core/limits.h"

struct db;
struct actor;
struct config;

struct lockbox_request {
	int64_t id, tenant_id;
	char operator[96];
	char reason[KURA_ACCESS_REASON_MAX * 4 + 1];
	char case_ref[KURA_ACCESS_CASE_MAX + 1];
	char scope[16];                  /* files:read | audit:read */
	int64_t hours;
	bool emergency;
	char state[16];                  /* pending approved denied revoked lapsed expired (effective now) */
	bool active;                     /* a grant in force now */
	int64_t approvals, approvals_required;
	int64_t created_us, lapses_us, granted_us, ends_us, decided_us, revoked_us;
	char decided_by[96], revoked_by[96];
};

/* Public URL (for the portal link in mails) and the lapse of pending requests; serve start-up. */
void lockbox_configure(const struct config *cfg);
/* "files:read" and "audit:read" only. */
bool lockbox_scope_valid(const char *scope);

/* A new request by operator op for tenant_id. Validates reason (1..KURA_ACCESS_REASON_MAX
 * code points of one line of clean text), case_ref (1..KURA_ACCESS_CASE_MAX of [A-Za-z0-9._:#/-]),
 * scope and hours (1..KURA_ACCESS_HOURS_MAX): -EINVAL. -EACCES when the tenant's catalog says
 * never (the refusal recorded in the tenant's log, committed); -EBUSY when KURA_ACCESS_PENDING_MAX
 * requests of the tenant wait already (not for an emergency); -EAGAIN when the tenant had
 * KURA_RATE_ACCESS_REQUESTS requests (emergency ones too) within KURA_RATE_ACCESS_REQUESTS_S
 * (tenant/rate.h RATE_ACCESS_REQUEST). Mails the managers (request or
 * emergency) in the transaction of the request and its audit record. */
int lockbox_request(struct db *db, const struct actor *op, int64_t tenant_id, const char *reason,
		    const char *case_ref, const char *scope, int64_t hours, bool emergency,
		    struct lockbox_request *ret) KURA_WUR;
int lockbox_get(struct db *db, int64_t tenant_id, int64_t id, struct lockbox_request *ret) KURA_WUR;
/* The operator's side: a request by id whatever its tenant. */
int lockbox_find(struct db *db, int64_t id, struct lockbox_request *ret) KURA_WUR;
/* The request with its approvals ([{login, approved_at}]) and, with reads, the audit records
 * made under it (its reads, newest last, at most KURA_ACCESS_LIST_MAX). */
json_t *lockbox_json(struct db *db, const struct lockbox_request *r, bool reads);
/* Requests newest first: of tenant_id (0: every tenant, for operators, with "tenant" codes),
 * ids below before (0: from the newest), at most limit (1..KURA_ACCESS_LIST_MAX); state NULL or
 * one effective state to filter. {"requests": [...], "next_before": id or null}. */
int lockbox_list(struct db *db, int64_t tenant_id, const char *state, int64_t before, int64_t limit,
		 json_t **ret) KURA_WUR;
/* A manager's decision. Approve: -EALREADY when this manager approved already; the grant
 * starts when the approvals reach the tenant's policy. Both: -EPERM unless pending (lapsed,
 * decided or revoked). Recorded in the tenant's log. */
int lockbox_approve(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		    struct lockbox_request *ret) KURA_WUR;
int lockbox_deny(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		 struct lockbox_request *ret) KURA_WUR;
/* Ends a pending request or an active grant at once (manager or operator); -EPERM when it is
 * over already. Recorded. */
int lockbox_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		   struct lockbox_request *ret) KURA_WUR;

/* The tenant's policy: 1 or 2 distinct managers must approve (1 without a row). Lowering 2
 * to 1 takes two managers: the first call records the request (-EINPROGRESS, committed and
 * recorded); it takes effect when another manager, whose account existed before that
 * request, asks the same within the lapse of access requests. The request mails every active
 * manager (access-policy-lowering) in its transaction. */
int lockbox_policy_get(struct db *db, int64_t tenant_id, int64_t *ret) KURA_WUR;
int lockbox_policy_set(struct db *db, const struct actor *who, int64_t tenant_id, int64_t required) KURA_WUR;

/* The gate of the support commands: the newest grant of operator op (by name) for tenant_id
 * active now with scope. 0 with *ret; -EACCES when the catalog says never; -ENOENT when none
 * is active, and then why in why ("no grant", "expired", "revoked", "denied", "lapsed",
 * "pending", "scope" when only another scope is active). */
int lockbox_check(struct db *db, const struct actor *op, int64_t tenant_id, const char *scope,
		  struct lockbox_request *ret, char *why, size_t why_size) KURA_WUR;
/* One read under grant g in the tenant's chain: action ("support.ls" …), target, details
 * (borrowed, may be NULL; grant id and case are added). Its own transaction. */
int lockbox_record_read(struct db *db, const struct actor *op, const struct lockbox_request *g,
			const char *action, const char *target, json_t *details) KURA_WUR;
#endif
