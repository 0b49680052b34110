/*
 * Signed checkpoints, provider-wide roots, retention pruning and the background worker.
 *
 * A checkpoint signs (tenant, seq, head hash, time, clock-sync state) with the deployment's
 * Ed25519 key; a verifier holding only the public key can then trust every record that
 * hashes forward to it. The worker signs one for each chain whose head moved, at least
 * every minute, plus one root per round over the sorted (tenant, seq, head) list of all
 * chains, so the provider commits to every tenant's head at once.
 *
 * Pruning deletes a prefix of a chain: the records up to the newest checkpoint c such that
 * every record with seq <= c is past its category's retention. The checkpoint at c stays,
 * and the first kept record's prev hash is its head: verification starts there. A record
 * of a short-retention category after a longer-kept one therefore waits for it (kept too
 * long, never too short). Each pruning that deleted something is itself recorded.
 *
 * Every checkpoint and root row records the public key that signed it, so after a key
 * rotation (signkeys.c) each one is still verified with its own key.
 *
 * SECURITY: the secret key is copied into sodium_malloc'ed memory here (wiped when replaced
 * or forgotten) and only used through audit_sign_key(), under a lock, so a rotation never
 * meets a signature half-way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit_int.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/db.h"
#include "store/lease.h"

#define DAY_US (86400LL * 1000000)

/* The deployment's signing key: a copy in sodium_malloc'ed memory that a rotation replaces
 * while the server runs, so every use holds signing_lock. */
static pthread_mutex_t signing_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *signing_key;          /* SIGN_SECRET_BYTES, NULL: none set */
static uint32_t retention[AUDIT_N_CATEGORIES] = { 90, 90, 90, 90, 90, 90 };

int audit_set_signing_key(const unsigned char *sk)
{
	int r = 0;

	pthread_mutex_lock(&signing_lock);
	if (!sk) {
		if (signing_key)
			sodium_free(signing_key);   /* wipes */
		signing_key = NULL;
	} else {
		if (!signing_key)
			signing_key = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		if (signing_key)
			memcpy(signing_key, sk, crypto_sign_SECRETKEYBYTES);
		else
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&signing_lock);
	return r;
}

int audit_public_key(unsigned char ret[AUDIT_KEY_BYTES])
{
	int r = 0;

	pthread_mutex_lock(&signing_lock);
	if (signing_key)
		crypto_sign_ed25519_sk_to_pk(ret, signing_key);
	else
		r = -ENOKEY;
	pthread_mutex_unlock(&signing_lock);
	return r;
}

int audit_public_key_hex(char ret[AUDIT_PUBLIC_KEY_HEX])
{
	unsigned char pk[AUDIT_KEY_BYTES];
	int r = audit_public_key(pk);

	if (r == 0)
		hex_encode(pk, sizeof(pk), ret);
	return r;
}

void audit_set_retention(const uint32_t days[AUDIT_N_CATEGORIES])
{
	for (int i = 0; i < AUDIT_N_CATEGORIES; i++)
		retention[i] = days[i] ? days[i] : 90;
}

int audit_sign_key(const unsigned char *msg, size_t n, unsigned char ret[AUDIT_SIG_BYTES],
		   unsigned char ret_pk[AUDIT_KEY_BYTES])
{
	int r = 0;

	pthread_mutex_lock(&signing_lock);
	if (!signing_key)
		r = -ENOKEY;
	else if (crypto_sign_ed25519_detached(ret, NULL, msg, n, signing_key) != 0)
		r = -EIO;
	else if (ret_pk)
		crypto_sign_ed25519_sk_to_pk(ret_pk, signing_key);
	pthread_mutex_unlock(&signing_lock);
	return r;
}

int audit_sign(const void *msg, size_t n, unsigned char ret_sig[64], unsigned char ret_pk[AUDIT_KEY_BYTES])
{
	_Static_assert(AUDIT_SIG_BYTES == 64, "Ed25519");
	return audit_sign_key(msg, n, ret_sig, ret_pk);
}

size_t audit_ckpt_message(const struct audit_ckpt *c, unsigned char msg[AUDIT_CKPT_MSG_MAX])
{
	unsigned char *p = msg;

	memcpy(p, AUDIT_CHECKPOINT_TAG, sizeof(AUDIT_CHECKPOINT_TAG) - 1);
	p += sizeof(AUDIT_CHECKPOINT_TAG) - 1;
	audit_put64(p, c->tenant);
	audit_put64(p + 8, c->seq);
	memcpy(p + 16, c->head, AUDIT_HASH_BYTES);
	p += 16 + AUDIT_HASH_BYTES;
	audit_put64(p, c->time_us);
	p[8] = c->synced ? 1 : 0;
	audit_put64(p + 9, c->est_error_us);
	audit_put64(p + 17, c->max_error_us);
	p += 25;
	return (size_t)(p - msg);
}

size_t audit_root_message(int64_t time_us, int64_t n_chains, const unsigned char root[AUDIT_HASH_BYTES],
			  bool synced, unsigned char msg[AUDIT_ROOT_MSG_BYTES])
{
	size_t off = sizeof(AUDIT_ROOT_TAG) - 1;

	memcpy(msg, AUDIT_ROOT_TAG, off);
	audit_put64(msg + off, time_us);
	audit_put64(msg + off + 8, n_chains);
	memcpy(msg + off + 16, root, AUDIT_HASH_BYTES);
	msg[off + 16 + AUDIT_HASH_BYTES] = synced ? 1 : 0;
	return AUDIT_ROOT_MSG_BYTES;
}

int audit_ckpt_sign(struct audit_ckpt *c)
{
	unsigned char msg[AUDIT_CKPT_MSG_MAX];
	int r = audit_sign_key(msg, audit_ckpt_message(c, msg), c->sig, c->key);

	c->has_key = r == 0;
	return r;
}

bool audit_ckpt_verify(const struct audit_ckpt *c, const unsigned char pk[32])
{
	unsigned char msg[AUDIT_CKPT_MSG_MAX];
	size_t n = audit_ckpt_message(c, msg);

	return crypto_sign_ed25519_verify_detached(c->sig, msg, n, pk) == 0;
}

size_t audit_export_message(int64_t tenant, const unsigned char file_hash[AUDIT_HASH_BYTES],
			    unsigned char *msg)
{
	memcpy(msg, AUDIT_EXPORT_TAG, sizeof(AUDIT_EXPORT_TAG) - 1);
	audit_put64(msg + sizeof(AUDIT_EXPORT_TAG) - 1, tenant);
	memcpy(msg + sizeof(AUDIT_EXPORT_TAG) - 1 + 8, file_hash, AUDIT_HASH_BYTES);
	return sizeof(AUDIT_EXPORT_TAG) - 1 + 8 + AUDIT_HASH_BYTES;
}

/* ---------------------------------------------------------------- checkpoints */

static int store_checkpoint(struct db *db, struct audit_ckpt *c)
{
	struct clock_sync cs = { 0 };
	int r;

	c->time_us = clock_now_us();
	if (clock_sync_state(&cs) == 0) {
		c->synced = cs.synchronized;
		c->est_error_us = cs.est_error_us;
		c->max_error_us = cs.max_error_us;
	} else {
		c->synced = false;
		c->est_error_us = c->max_error_us = -1;
	}
	r = audit_ckpt_sign(c);
	if (r < 0)
		return r;
	return db_exec(db, "INSERT INTO audit_checkpoints (tenant, seq, head, time_us, clock_synced,"
			   " est_error_us, max_error_us, signature, public_key)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		       "iibiiiibb", c->tenant, c->seq, c->head, (size_t)AUDIT_HASH_BYTES, c->time_us,
		       (int64_t)c->synced, c->est_error_us, c->max_error_us, c->sig, (size_t)AUDIT_SIG_BYTES,
		       c->key, (size_t)AUDIT_KEY_BYTES);
}

static int read_head(struct db *db, int64_t tenant, int64_t *ret_seq, unsigned char head[AUDIT_HASH_BYTES])
{
	struct db_stmt *st = db_query(db, "SELECT seq, head FROM audit_heads WHERE tenant = $1", "i", tenant);
	int r = db_step(st);

	if (r > 0) {
		size_t n;
		const void *h = db_blob(st, 1, &n);

		*ret_seq = db_int(st, 0);
		r = n == AUDIT_HASH_BYTES ? 0 : -EIO;
		if (r == 0)
			memcpy(head, h, AUDIT_HASH_BYTES);
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	return r;
}

int audit_checkpoint_now(struct db *db, int64_t tenant, struct audit_ckpt *ret)
{
	struct audit_ckpt c = { .tenant = tenant };
	bool own = !db_in_transaction(db);
	int r;

	if (own && (r = db_begin(db)) < 0)
		return r;
	r = read_head(db, tenant, &c.seq, c.head);
	if (r == 0)
		r = store_checkpoint(db, &c);
	if (own && r == 0)
		r = db_commit(db);
	if (own && r < 0)
		db_rollback(db);
	if (r == 0 && ret)
		*ret = c;
	return r;
}

struct head_row {
	int64_t tenant, seq, ckpt_seq;
	unsigned char head[AUDIT_HASH_BYTES];
};

int audit_checkpoint_round(struct db *db, int64_t *ret_n)
{
	struct head_row *rows;
	struct dbuf heads;
	size_t n, i;
	int64_t moved = 0;
	struct db_stmt *st;
	int r, step;

	{
		unsigned char pk[AUDIT_KEY_BYTES];

		if (audit_public_key(pk) < 0)
			return -ENOKEY;
	}
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT h.tenant, h.seq, h.head, (SELECT MAX(c.seq) FROM audit_checkpoints c"
			  " WHERE c.tenant = h.tenant) FROM audit_heads h ORDER BY h.tenant", NULL);
	dbuf_init(&heads, KURA_DB_LIST_MAX_BYTES);
	while ((step = db_step(st)) > 0) {
		struct head_row row;
		size_t hn;
		const void *h = db_blob(st, 2, &hn);

		if (hn != AUDIT_HASH_BYTES) {
			step = -EIO;
			break;
		}
		row.tenant = db_int(st, 0);
		row.seq = db_int(st, 1);
		row.ckpt_seq = db_is_null(st, 3) ? 0 : db_int(st, 3);
		memcpy(row.head, h, AUDIT_HASH_BYTES);
		if ((step = dbuf_add(&heads, &row, sizeof(row))) < 0)
			break;
	}
	db_done(st);
	r = step;
	rows = dbuf_data(&heads);
	n = dbuf_len(&heads) / sizeof(*rows);
	for (i = 0; r == 0 && i < n; i++) {
		struct audit_ckpt c = { .tenant = rows[i].tenant, .seq = rows[i].seq };

		if (rows[i].ckpt_seq >= rows[i].seq)
			continue;
		memcpy(c.head, rows[i].head, AUDIT_HASH_BYTES);
		r = store_checkpoint(db, &c);
		moved++;
	}
	if (r == 0 && moved) {
		/* the provider-wide root: SHA-256 over (tenant, seq, head) sorted by tenant */
		unsigned char *list = malloc(n * 48 + 1), root[AUDIT_HASH_BYTES];
		unsigned char msg[AUDIT_ROOT_MSG_BYTES], sig[AUDIT_SIG_BYTES];
		unsigned char pk[AUDIT_KEY_BYTES];
		struct clock_sync cs = { 0 };
		int64_t now = clock_now_us();

		if (!list) {
			r = -ENOMEM;
		} else {
			for (i = 0; i < n; i++) {
				audit_put64(list + i * 48, rows[i].tenant);
				audit_put64(list + i * 48 + 8, rows[i].seq);
				memcpy(list + i * 48 + 16, rows[i].head, AUDIT_HASH_BYTES);
			}
			audit_sha256(list, n * 48, root);
			free(list);
			if (clock_sync_state(&cs) < 0)
				cs.synchronized = false;
			r = audit_sign_key(msg, audit_root_message(now, (int64_t)n, root, cs.synchronized, msg), sig,
					   pk);
			if (r == 0)
				r = db_exec(db, "INSERT INTO audit_roots (time_us, n_chains, root, clock_synced,"
						" signature, public_key) VALUES ($1, $2, $3, $4, $5, $6)",
					    "iibibb", now, (int64_t)n, root, (size_t)AUDIT_HASH_BYTES,
					    (int64_t)cs.synchronized, sig, (size_t)AUDIT_SIG_BYTES, pk,
					    (size_t)AUDIT_KEY_BYTES);
		}
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	dbuf_free(&heads);
	if (r == 0 && ret_n)
		*ret_n = moved;
	return r;
}

/* ---------------------------------------------------------------- retention */

_Static_assert(AUDIT_N_CATEGORIES == CATALOG_N_CATEGORIES, "the catalog indexes audit categories");

/* Start of today in zone, minus span days: the oldest instant kept. */
static int64_t cutoff_span_us(int64_t now, const char *zone, int64_t span)
{
	char buf[CLOCK_RFC3339_LEN];
	int64_t off = 0, local;
	size_t n;

	if (zone && clock_format_zone(now, zone, buf, sizeof(buf)) == 0 && (n = strlen(buf)) >= 6 &&
	    (buf[n - 6] == '+' || buf[n - 6] == '-')) {
		off = ((buf[n - 5] - '0') * 10 + (buf[n - 4] - '0')) * 3600LL +
		      ((buf[n - 2] - '0') * 10 + (buf[n - 1] - '0')) * 60LL;
		if (buf[n - 6] == '-')
			off = -off;
	}
	off *= 1000000;
	local = now + off;
	local -= ((local % DAY_US) + DAY_US) % DAY_US;
	return local - span * DAY_US - off;
}

/* days counting today as day 1 */
static int64_t cutoff_us(int64_t now, const char *zone, uint32_t days)
{
	return cutoff_span_us(now, zone, (int64_t)days - 1);
}

/* The tenant's retention from its services' catalog entries (the longest per category,
 * docs/lifecycle.md "Service catalog") into cut[] and what applied into *ret_applied;
 * -ENOENT when the tenant has no service of the catalog. */
static int catalog_cutoffs(struct db *db, int64_t tenant, int64_t now_us, const char *zone,
			   int64_t cut[AUDIT_N_CATEGORIES], json_t **ret_applied)
{
	char codes[KURA_MAX_SERVICES][16];
	const char *ptrs[KURA_MAX_SERVICES];
	struct catalog_effective e;
	struct db_stmt *st;
	size_t n = 0;
	json_t *applied;
	int r;

	st = db_query(db, "SELECT service FROM tenant_services WHERE tenant_id = $1 ORDER BY service", "i", tenant);
	while ((r = db_step(st)) > 0 && n < KURA_MAX_SERVICES) {
		str_copy(codes[n], sizeof(codes[n]), db_text(st, 0));
		ptrs[n] = codes[n];
		n++;
	}
	db_done(st);
	if (r < 0)
		return r;
	r = catalog_effective(ptrs, n, &e);
	if (r < 0)
		return r;
	applied = json_object();
	for (int i = 0; i < AUDIT_N_CATEGORIES; i++) {
		const struct catalog_retention *rt = &e.retention[i];
		const struct catalog_service *from = catalog_service_at((size_t)e.retention_from[i]);

		/* the contract period: nothing of the category expires while the tenant exists */
		cut[i] = rt->period == CATALOG_PERIOD_CONTRACT ? INT64_MIN
							      : cutoff_span_us(now_us, zone, catalog_retention_span(rt));
		json_object_set_new(applied, catalog_category_name((size_t)i),
				    rt->period == CATALOG_PERIOD_CONTRACT
					    ? json_pack("{s:s, s:s}", "period", "contract", "service", from->code)
					    : json_pack("{s:i, s:b, s:s}", "days", (int)rt->days, "include_today",
							rt->include_today, "service", from->code));
	}
	*ret_applied = applied;
	return 0;
}

int audit_prune(struct db *db, int64_t tenant, int64_t now_us, int64_t *ret_deleted)
{
	int64_t cut[AUDIT_N_CATEGORIES], override = 0, head_seq = 0, first_kept = 0, upto, c = 0, deleted = 0;
	unsigned char head[AUDIT_HASH_BYTES];
	char zone[64] = "UTC";
	json_t *applied = NULL;
	struct db_stmt *st;
	int r, i;

	r = db_begin(db);
	if (r < 0)
		return r;
	/* the head read below decides what may go: no record may join the chain meanwhile */
	r = db_lock_tenant(db, tenant);
	if (r < 0)
		goto out;
	if (tenant) {
		st = db_query(db, "SELECT zone, COALESCE(audit_retention_days, 0) FROM tenants WHERE id = $1",
			      "i", tenant);
		if (db_step(st) > 0) {
			str_copy(zone, sizeof(zone), db_text(st, 0));
			override = db_int(st, 1);
		}
		db_done(st);
	}
	/* a tenant's own override, else its services' catalog values, else (the provider's chain,
	 * a tenant without a catalog service) the deployment's [audit] settings */
	r = tenant && override <= 0 ? catalog_cutoffs(db, tenant, now_us, zone, cut, &applied) : -ENOENT;
	if (r == -ENOENT)
		for (i = 0; i < AUDIT_N_CATEGORIES; i++)
			cut[i] = cutoff_us(now_us, zone, override > 0 ? (uint32_t)override : retention[i]);
	else if (r < 0)
		goto out;
	r = read_head(db, tenant, &head_seq, head);
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	/* the first record that must be kept; everything before it has expired */
	st = db_query(db, AUDIT_ALL_SQL("SELECT seq FROM audit_events WHERE",
					"AND NOT ((category = 'authentication' AND time_us < $2)"
					" OR (category = 'operation' AND time_us < $3)"
					" OR (category = 'access' AND time_us < $4)"
					" OR (category = 'delivery' AND time_us < $5)"
					" OR (category = 'administration' AND time_us < $6)"
					" OR (category = 'operator' AND time_us < $7)) ORDER BY id LIMIT 1"),
		      "iiiiiii", tenant, cut[0], cut[1], cut[2], cut[3], cut[4], cut[5]);
	r = db_step(st);
	if (r > 0 && !db_is_null(st, 0))
		first_kept = db_int(st, 0);
	db_done(st);
	if (r < 0)
		goto out;
	r = 0;
	upto = first_kept ? first_kept - 1 : head_seq;
	if (upto <= 0)
		goto out;
	st = db_query(db, "SELECT MAX(seq) FROM audit_checkpoints WHERE tenant = $1 AND seq <= $2", "ii",
		      tenant, upto);
	if (db_step(st) > 0 && !db_is_null(st, 0))
		c = db_int(st, 0);
	db_done(st);
	if (c < upto && upto == head_seq) {
		/* everything expired: sign the head now so the chain stays anchored */
		struct audit_ckpt ck;

		r = audit_checkpoint_now(db, tenant, &ck);
		if (r < 0)
			goto out;
		c = ck.seq;
	}
	if (c <= 0)
		goto out;
	r = db_exec(db, AUDIT_RUN_SQL("DELETE FROM audit_events WHERE", "0", "$2", ""), "ii", tenant, audit_seq_bound(c));
	if (r < 0)
		goto out;
	deleted = db_changes(db);
	r = db_exec(db, "DELETE FROM audit_checkpoints WHERE tenant = $1 AND seq < $2", "ii", tenant, c);
	if (r == 0 && deleted > 0) {
		json_t *d = applied ? json_pack("{s:I, s:I, s:O}", "deleted", (json_int_t)deleted, "through_seq",
						(json_int_t)c, "retention", applied)
				    : json_pack("{s:I, s:I, s:I}", "deleted", (json_int_t)deleted, "through_seq",
						(json_int_t)c, "retention_days",
						(json_int_t)(override > 0 ? override : retention[0]));

		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant, .actor = &actor_system,
					 .category = AUDIT_ADMINISTRATION, .action = "audit.prune",
					 .target = "audit", .result = AUDIT_SUCCESS, .details = d });
		json_decref(d);
	}
out:
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0 && ret_deleted)
		*ret_deleted = deleted;
	json_decref(applied);
	return r;
}

int audit_prune_all(struct db *db, int64_t now_us)
{
	struct db_stmt *st;
	struct dbuf list;
	int64_t *ids, deleted;
	size_t n, i;
	int r = 0, step;

	dbuf_init(&list, KURA_DB_LIST_MAX_BYTES);
	st = db_query(db, "SELECT tenant FROM audit_heads ORDER BY tenant", NULL);
	while ((step = db_step(st)) > 0) {
		int64_t id = db_int(st, 0);

		if ((step = dbuf_add(&list, &id, sizeof(id))) < 0)
			break;
	}
	db_done(st);
	r = step;
	ids = dbuf_data(&list);
	n = dbuf_len(&list) / sizeof(*ids);
	for (i = 0; r == 0 && i < n; i++) {
		deleted = 0;
		r = audit_prune(db, ids[i], now_us, &deleted);
		if (r == 0 && deleted)
			log_info("audit.prune", "tenant %lld: %lld records past retention deleted",
				 (long long)ids[i], (long long)deleted);
	}
	dbuf_free(&list);
	return r;
}

/* ---------------------------------------------------------------- worker */

struct audit_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	unsigned checkpoint_s, prune_s;
};

static void *worker_run(void *arg)
{
	struct audit_worker *w = arg;
	int64_t last_prune = 0;
	struct timespec until;
	struct db *db = db_thread();
	int r;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		/* one node signs and prunes: the holder of the lease (store/lease.h) */
		if (db && db_lease_claim(db, "audit.checkpoint", db_lease_ttl_s(w->checkpoint_s)) == 1) {
			int64_t now = clock_now_us(), n = 0;

			r = audit_checkpoint_round(db, &n);
			if (r < 0)
				log_error("audit.checkpoint", "checkpoint round failed: %s", strerror(-r));
			if (now - last_prune >= (int64_t)w->prune_s * 1000000) {
				r = audit_prune_all(db, now);
				if (r < 0)
					log_error("audit.prune", "pruning failed: %s", strerror(-r));
				last_prune = now;
			}
		}
		pthread_mutex_lock(&w->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += w->checkpoint_s;
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct audit_worker *audit_worker_start(unsigned checkpoint_s, unsigned prune_s)
{
	struct audit_worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w)
		return NULL;
	w->checkpoint_s = checkpoint_s ? checkpoint_s : 60;
	w->prune_s = prune_s ? prune_s : 3600;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, worker_run, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

struct audit_worker *audit_worker_stop(struct audit_worker *w)
{
	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return NULL;
}
