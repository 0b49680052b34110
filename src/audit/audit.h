/*
 * Audit records (F4, F5, C1, C2). Every mutating request, authentication result and
 * permission denial calls audit_record() with the same db handle as the change it records,
 * inside the same transaction where there is one, so a change that cannot be recorded does
 * not happen: a failing audit_record() makes the caller roll back and fail the request.
 *
 * The foundation stores rows in audit_events; the tamper-evident log (hash chain, signed
 * checkpoints) replaces what stands behind this call without changing its callers.
 */
#ifndef KURA_AUDIT_AUDIT_H
#define KURA_AUDIT_AUDIT_H
#include <jansson.h>

#include "core/core.h"

struct db;

enum actor_type { ACTOR_ANONYMOUS, ACTOR_ACCOUNT, ACTOR_OPERATOR, ACTOR_SYSTEM };

/* Who is acting and from where. Borrowed pointers; lives as long as the request. */
struct actor {
	enum actor_type type;
	int64_t tenant_id;         /* the actor's tenant (accounts), 0 otherwise */
	int64_t account_id;        /* 0 unless an account */
	const char *name;          /* login, operator's user name, "system" */
	const char *source_ip;     /* "" when not from the network */
	const char *user_agent;    /* "" when none */
};

enum audit_category {
	AUDIT_AUTHENTICATION,
	AUDIT_OPERATION,
	AUDIT_ACCESS,
	AUDIT_DELIVERY,
	AUDIT_ADMINISTRATION,
	AUDIT_OPERATOR,
};

enum audit_result { AUDIT_SUCCESS, AUDIT_FAILURE, AUDIT_DENIED };

struct audit_event {
	int64_t tenant_id;              /* the tenant whose log holds it; 0 = provider log */
	const struct actor *actor;
	enum audit_category category;
	const char *action;             /* stable dotted name: "session.create", "account.suspend" */
	const char *target;             /* what it acted on: "account:alice", "tenant:demo" */
	enum audit_result result;
	json_t *details;                /* borrowed, may be NULL; small */
};

int audit_record(struct db *db, const struct audit_event *ev) KURA_WUR;

const char *audit_category_name(enum audit_category c);
const char *audit_result_name(enum audit_result r);
const char *actor_type_name(enum actor_type t);

/* The system actor, for start-up and background work. */
extern const struct actor actor_system;
#endif
