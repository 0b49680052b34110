/*
 * Shared inside src/audit: the canonical encoding of records and checkpoints (docs/audit.md),
 * SHA-256 and the signing key. Every hash and signature in the audit log is computed here,
 * so the writer, the exporter and both verifiers agree byte for byte.
 */
#ifndef KURA_AUDIT_AUDIT_INT_H
#define KURA_AUDIT_AUDIT_INT_H
#include "audit/audit.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_SIG_BYTES 64
#define AUDIT_RECORD_TAG "KURA-AUDIT-RECORD-1"
#define AUDIT_CHECKPOINT_TAG "KURA-AUDIT-CHECKPOINT-1"
#define AUDIT_ROOT_TAG "KURA-AUDIT-ROOT-1"
#define AUDIT_EXPORT_TAG "KURA-AUDIT-EXPORT-1"
/* A root's message: tag + time + n + root + flag. */
#define AUDIT_ROOT_MSG_BYTES (sizeof(AUDIT_ROOT_TAG) - 1 + 16 + AUDIT_HASH_BYTES + 1)
/* The largest canonical checkpoint message: tag + 3 int64 + head + flag + 2 int64. */
#define AUDIT_CKPT_MSG_MAX (sizeof(AUDIT_CHECKPOINT_TAG) + 8 * 5 + AUDIT_HASH_BYTES + 1)

/* One record as stored and hashed. Strings are borrowed. */
struct audit_rec {
	int64_t tenant, seq, time_us;
	const char *actor_type, *actor, *source_ip, *user_agent, *category, *action, *target,
		*result, *details;
	unsigned char prev[AUDIT_HASH_BYTES], content[AUDIT_HASH_BYTES], hash[AUDIT_HASH_BYTES];
};

struct audit_ckpt {
	int64_t tenant, seq, time_us;
	unsigned char head[AUDIT_HASH_BYTES];
	bool synced;
	int64_t est_error_us, max_error_us;
	unsigned char sig[AUDIT_SIG_BYTES];
	bool has_key;                            /* key is the public key that signed it */
	unsigned char key[AUDIT_KEY_BYTES];
};

/* content = SHA-256 over the length-prefixed content fields; -ENOMEM only. */
int audit_content_hash(const struct audit_rec *r, unsigned char ret[AUDIT_HASH_BYTES]) KURA_WUR;
/* hash = SHA-256(tag || tenant || seq || prev || content) */
void audit_chain_hash(int64_t tenant, int64_t seq, const unsigned char prev[AUDIT_HASH_BYTES],
		      const unsigned char content[AUDIT_HASH_BYTES], unsigned char ret[AUDIT_HASH_BYTES]);
/* Both of the above into r->content and r->hash. */
int audit_rec_hash(struct audit_rec *r) KURA_WUR;
/* The bytes a checkpoint signature covers; returns their length. */
size_t audit_ckpt_message(const struct audit_ckpt *c, unsigned char msg[AUDIT_CKPT_MSG_MAX]);
bool audit_ckpt_verify(const struct audit_ckpt *c, const unsigned char pk[32]) KURA_WUR;
/* The bytes a provider-wide root's signature covers; returns AUDIT_ROOT_MSG_BYTES. */
size_t audit_root_message(int64_t time_us, int64_t n_chains, const unsigned char root[AUDIT_HASH_BYTES],
			  bool synced, unsigned char msg[AUDIT_ROOT_MSG_BYTES]);

void audit_sha256(const void *data, size_t n, unsigned char ret[AUDIT_HASH_BYTES]);
/* Incremental SHA-256 (for the export trailer). */
struct audit_sha;
struct audit_sha *audit_sha_new(void);
void audit_sha_update(struct audit_sha *s, const void *data, size_t n);
void audit_sha_final(struct audit_sha *s, unsigned char ret[AUDIT_HASH_BYTES]);   /* frees s */

/* Signs with the deployment key set by audit_set_signing_key; -ENOKEY without one. The
 * public key that signed goes to ret_pk (may be NULL), taken under the same lock. */
int audit_sign_key(const unsigned char *msg, size_t n, unsigned char ret[AUDIT_SIG_BYTES],
		   unsigned char ret_pk[AUDIT_KEY_BYTES]) KURA_WUR;
int audit_ckpt_sign(struct audit_ckpt *c) KURA_WUR;
/* Makes and stores a signed checkpoint at tenant's current head (inside the caller's
 * transaction, or its own). ret may be NULL. -ENOENT when the chain is empty. */
int audit_checkpoint_now(struct db *db, int64_t tenant, struct audit_ckpt *ret) KURA_WUR;
/* The signed export trailer message: tag || tenant || file hash. */
size_t audit_export_message(int64_t tenant, const unsigned char file_hash[AUDIT_HASH_BYTES],
			    unsigned char *msg);

static inline void audit_put64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
}

/*
 * One chain's rows of audit_events by tenant_id, as SQL: AUDIT_CHAIN_SQL(tenant, "SELECT … WHERE",
 * "AND …") is "… WHERE tenant_id = $1 AND …" for a tenant and "… WHERE tenant_id IS NULL AND
 * $1 = 0 AND …" for the provider chain (0), whose rows keep tenant_id NULL; $1 is the chain
 * key, bound with 'i'. Two statements chosen here rather than one "tenant_id IS NOT DISTINCT
 * FROM $1": the same rows, but PostgreSQL never searches an index for IS NOT DISTINCT FROM,
 * and these run over the largest table (store/db.h "Portable SQL"). This form is for the
 * statements that search audit_events_tenant_target (a target and its count); everything
 * else reads a run of the chain by its key, AUDIT_RUN_SQL below.
 */
#define AUDIT_CHAIN_SQL(tenant, head, tail) \
	((tenant) ? head " tenant_id = $1 " tail : head " tenant_id IS NULL AND $1 = 0 " tail)

/*
 * The record's place in its chain is its primary key (migration 0035): the row of chain c
 * (tenant id, 0 for the provider) at seq s has id (c + 1) * 2^40 + s, so a run of one chain
 * in seq order is a range of the table's own key, and no separate (tenant_id, seq) index is
 * written with every record. Ids below 2^40 are rows written before the hash chain (seq
 * NULL), which audit_adopt() moves into their chain. A chain holds at most 2^40 - 1 records
 * and the chain key stays below AUDIT_CHAIN_KEY_LIMIT, so ids stay below 2^63.
 *
 * AUDIT_RUN_SQL(head, lo, hi, tail) is "head id > <id of seq lo> AND id <= <id of seq hi>
 * tail" for the chain $1 (bound with 'i', the chain key as in AUDIT_CHAIN_SQL); lo and hi
 * are SQL (a placeholder or a number) for seqs in 0 .. AUDIT_SEQ_LIMIT; "ORDER BY id" is seq
 * order. Both backends search the primary key for it (test_audit.c test_chain_sql_uses_index).
 */
#define AUDIT_SEQ_LIMIT ((int64_t)1 << 40)
#define AUDIT_SEQ_LIMIT_SQL "1099511627776"
#define AUDIT_CHAIN_KEY_LIMIT ((int64_t)1 << 22)
#define AUDIT_ROW_ID_SQL(seq) "(($1 + 1) * " AUDIT_SEQ_LIMIT_SQL " + " seq ")"
#define AUDIT_RUN_SQL(head, lo, hi, tail) \
	head " id > " AUDIT_ROW_ID_SQL(lo) " AND id <= " AUDIT_ROW_ID_SQL(hi) " " tail
/* The whole chain $1. */
#define AUDIT_ALL_SQL(head, tail) AUDIT_RUN_SQL(head, "0", AUDIT_SEQ_LIMIT_SQL, tail)

static inline int64_t audit_row_id(int64_t chain, int64_t seq)
{
	return (chain + 1) * AUDIT_SEQ_LIMIT + seq;
}

/* seq clamped into 0 .. AUDIT_SEQ_LIMIT for AUDIT_RUN_SQL's bounds. */
static inline int64_t audit_seq_bound(int64_t seq)
{
	return seq < 0 ? 0 : seq > AUDIT_SEQ_LIMIT ? AUDIT_SEQ_LIMIT : seq;
}

#endif
