/*
 * Audit records (F4, F5, C1, C2). Every mutating request, authentication result and
 * permission denial calls audit_record() with the same db handle as the change it records,
 * inside the same transaction where there is one, so a change that cannot be recorded does
 * not happen: a failing audit_record() makes the caller roll back and fail the request.
 *
 * Behind the call (docs/audit.md): one SHA-256 hash chain per tenant (tenant 0 = the
 * provider chain), numbered by a per-tenant sequence, its head kept in audit_heads in the
 * same transaction; Ed25519-signed checkpoints made by a background worker and at every
 * export; retention pruning that keeps the chain verifiable from the oldest kept
 * checkpoint; query, streaming export (JSONL, CSV) and offline verification.
 */
#ifndef KURA_AUDIT_AUDIT_H
#define KURA_AUDIT_AUDIT_H
#include <stdio.h>
#include <sys/types.h>

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
/* "operation" -> AUDIT_OPERATION; -1 when unknown. */
int audit_category_parse(const char *name);

/* The system actor, for start-up and background work. */
extern const struct actor actor_system;

#define AUDIT_N_CATEGORIES 6
#define AUDIT_KEY_BYTES 32
#define AUDIT_PUBLIC_KEY_HEX 65

/* ---- deployment settings (serve start-up) ---- */
/* Copies the 64-byte Ed25519 secret key (wiped when replaced); NULL forgets it. */
int audit_set_signing_key(const unsigned char *sk);
/* The public half of the signing key; -ENOKEY without one. */
int audit_public_key(unsigned char ret[AUDIT_KEY_BYTES]) KURA_WUR;
/* Hex public key of the signing key into ret (AUDIT_PUBLIC_KEY_HEX); -ENOKEY without one. */
int audit_public_key_hex(char ret[AUDIT_PUBLIC_KEY_HEX]) KURA_WUR;

/* Signs msg with the deployment's key (erasure certificates, lifecycle/certificate.c: the
 * caller puts its own domain tag in msg); its public key into ret_pk. -ENOKEY without one. */
int audit_sign(const void *msg, size_t n, unsigned char ret_sig[64], unsigned char ret_pk[AUDIT_KEY_BYTES]) KURA_WUR;

/* ---- signing keys (signkeys.c, docs/audit.md "Signing keys") ---- */
/* At start-up, before anything is signed: checks the secret key sk (loaded from
 * DIR/signing.key) and DIR/signing.pub against what the database holds (the registry of
 * the deployment's signing keys, and the newest checkpoint and root, which must verify
 * with the key that signed them); completes or undoes a rotation a crash interrupted;
 * registers the key of a data directory from before the registry (only if it signed the
 * newest checkpoint); then makes sk the signing key and rewrites DIR/signing-keys.pub.
 * -EKEYREJECTED with the reason, naming the file, in err; other <0 on I/O errors. */
int audit_keys_open(struct db *db, const char *dir, const unsigned char *sk, char *err,
		    size_t err_size) KURA_WUR;
/* Deliberate rotation (kura admin audit rotate-signing-key): a new key pair replaces
 * DIR/signing.key and DIR/signing.pub, the old public key stays registered (retired) to
 * verify what it signed, and the rotation is recorded by who in the provider's and every
 * tenant's chain. *ret: {"public_key", "previous_key", "rotated_at"}. Needs audit_keys_open. */
int audit_keys_rotate(struct db *db, const struct actor *who, json_t **ret) KURA_WUR;
/* Every registered key: [{"public_key", "state", "created_at", "retired_at"}], newest first. */
json_t *audit_keys_json(struct db *db);
/* The registered public keys (current and retired), at most max, into ret. */
int audit_keys_list(struct db *db, unsigned char (*ret)[AUDIT_KEY_BYTES], size_t max,
		    size_t *ret_n) KURA_WUR;
/* Retention in days per category, each counting today as day 1 (default 90 each). */
void audit_set_retention(const uint32_t days[AUDIT_N_CATEGORIES]);

/* Chains rows written before the hash chain existed (seq NULL), in id order. */
int audit_adopt(struct db *db) KURA_WUR;

/* ---- checkpoints and retention ---- */
/* Signs a checkpoint for every chain whose head moved since its last checkpoint, then one
 * provider-wide checkpoint over all heads. *ret_n = chains checkpointed (may be NULL). */
int audit_checkpoint_round(struct db *db, int64_t *ret_n) KURA_WUR;
/* Deletes tenant's records past retention at now_us, keeping the chain verifiable from a
 * kept checkpoint, and records that it ran. *ret_deleted = records deleted. */
int audit_prune(struct db *db, int64_t tenant, int64_t now_us, int64_t *ret_deleted) KURA_WUR;
int audit_prune_all(struct db *db, int64_t now_us) KURA_WUR;

/* Background worker: checkpoints every checkpoint_s, prunes every prune_s. */
struct audit_worker;
struct audit_worker *audit_worker_start(unsigned checkpoint_s, unsigned prune_s);
struct audit_worker *audit_worker_stop(struct audit_worker *w);

/* ---- reading ---- */
struct audit_filter {
	int64_t from_us, to_us;       /* inclusive; 0 = open */
	const char *category, *actor, *action, *result, *target;   /* NULL = any */
	int64_t after_seq;            /* paging, oldest first */
	bool newest_first;            /* newest first instead, paged by before_seq */
	int64_t before_seq;           /* with newest_first: seq < before_seq; 0 = from the head */
	int64_t limit;                /* 1..KURA_PAGE_MAX */
};
/* {"events": [...], "next_after": seq or null} of tenant only (newest_first:
 * "next_before" instead). NULL on failure. Exports ignore the paging members. */
json_t *audit_query(struct db *db, int64_t tenant, const struct audit_filter *f);
/* How many records of tenant name target with this category and actor (an index search). */
int audit_count_target(struct db *db, int64_t tenant, const char *target, const char *category,
		       const char *actor, int64_t *ret) KURA_WUR;

enum audit_format { AUDIT_FORMAT_JSONL, AUDIT_FORMAT_CSV };
struct audit_export;
/* Prepares a streaming export of tenant's log (checkpoints it first). zone: IANA name for
 * CSV times. NULL on failure with *ret_err set. */
struct audit_export *audit_export_open(struct db *db, int64_t tenant, const struct audit_filter *f,
				       enum audit_format format, const char *zone, int *ret_err);
/* Next bytes into buf (up to max): >0 bytes, 0 at the end, <0 error. Uses db for reads. */
ssize_t audit_export_read(struct audit_export *x, struct db *db, char *buf, size_t max);
struct audit_export *audit_export_free(struct audit_export *x);

/* ---- verification ---- */
struct audit_verify_result {
	bool ok;
	int64_t tenant;
	int64_t records, omitted, checkpoints;   /* items checked */
	int64_t first_seq, last_seq;
	uint64_t bytes;
	int64_t bad_seq;                         /* the first record that fails, 0 if none/unknown */
	long bad_line;                           /* line of an export, 0 in place */
	char reason[256];
};
/* Checks a JSONL export read from f against the trusted public keys pks[0..n_pks): each
 * checkpoint and the trailer must verify with the key they name (one of pks), or, in an
 * export that names none, with one of pks; then the chain, sequence gaps, coverage by
 * signed checkpoints, the signed trailer. 0 when the file could be read (look at
 * ret->ok), <0 on I/O errors. */
int audit_verify_file_keys(FILE *f, const unsigned char (*pks)[AUDIT_KEY_BYTES], size_t n_pks,
			   struct audit_verify_result *ret) KURA_WUR;
/* The same with one trusted key. */
int audit_verify_file(FILE *f, const unsigned char pk[32], struct audit_verify_result *ret) KURA_WUR;
/* Checks tenant's chain in the database, from its oldest kept checkpoint. */
int audit_verify_db_keys(struct db *db, int64_t tenant, const unsigned char (*pks)[AUDIT_KEY_BYTES],
			 size_t n_pks, struct audit_verify_result *ret) KURA_WUR;
int audit_verify_db(struct db *db, int64_t tenant, const unsigned char pk[32],
		    struct audit_verify_result *ret) KURA_WUR;
/* Parses 64 hex digits (or a signing.pub file's content) into pk. */
int audit_parse_public_key(const char *hex, unsigned char pk[32]) KURA_WUR;
json_t *audit_verify_result_json(const struct audit_verify_result *r);
#endif
