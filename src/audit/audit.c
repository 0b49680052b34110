/*
 * audit_record(): the one call every decision and change goes through (F4, F5, F9).
 *
 * Each record joins its tenant's hash chain: the writer takes the chain head from
 * audit_heads (or this process's copy of it, checked by the update: see head_cache below),
 * hashes the record with the head as prev (canonical encoding in
 * docs/audit.md, computed only in this file), inserts it and moves the head, all with the
 * caller's db handle inside the caller's transaction (or a transaction of its own when the
 * caller has none), so a change that cannot be recorded does not happen and the head can
 * never disagree with the rows. The transaction holds the chain's tenant lock (store/db.h
 * "Write serialisation") from before the head is read, so two writers never read the same head.
 *
 * Bounded: target, details and user agents are cut to KURA_AUDIT_* limits on a UTF-8
 * boundary, and bytes that are not clean text are replaced, so every stored field can be
 * exported as JSON and re-hashed byte for byte by a verifier.
 */
#include <pthread.h>
#include <stdlib.h>

#include <gnutls/crypto.h>

#include "audit/audit_int.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/stats.h"
#include "store/db.h"

const struct actor actor_system = { ACTOR_SYSTEM, 0, 0, "system", "", "" };

static const char *const category_names[] = { "authentication", "operation", "access",
					       "delivery", "administration", "operator" };
static const char *const result_names[] = { "success", "failure", "denied" };

_Static_assert(ARRAY_SIZE(category_names) == AUDIT_N_CATEGORIES, "category table");

const char *audit_category_name(enum audit_category c)
{
	return (unsigned)c < ARRAY_SIZE(category_names) ? category_names[c] : "unknown";
}

const char *audit_result_name(enum audit_result r)
{
	return (unsigned)r < ARRAY_SIZE(result_names) ? result_names[r] : "unknown";
}

const char *actor_type_name(enum actor_type t)
{
	static const char *const names[] = { "anonymous", "account", "operator", "system" };
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}

int audit_category_parse(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(category_names); i++)
		if (!strcmp(s, category_names[i]))
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------- hashing */

void audit_sha256(const void *data, size_t n, unsigned char ret[AUDIT_HASH_BYTES])
{
	/* GnuTLS picks the CPU's SHA extensions where there are some (verification speed) */
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, ret) != 0)
		abort();   /* cannot fail for SHA-256 short of memory corruption */
}

struct audit_sha {
	gnutls_hash_hd_t h;
};

struct audit_sha *audit_sha_new(void)
{
	struct audit_sha *s = calloc(1, sizeof(*s));

	if (s && gnutls_hash_init(&s->h, GNUTLS_DIG_SHA256) != 0) {
		free(s);
		s = NULL;
	}
	return s;
}

void audit_sha_update(struct audit_sha *s, const void *data, size_t n)
{
	gnutls_hash(s->h, data, n);
}

void audit_sha_final(struct audit_sha *s, unsigned char ret[AUDIT_HASH_BYTES])
{
	gnutls_hash_deinit(s->h, ret);
	free(s);
}

static size_t put_str(unsigned char *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	if (n)
		memcpy(p + 4, s, n);
	return 4 + n;
}

int audit_content_hash(const struct audit_rec *r, unsigned char ret[AUDIT_HASH_BYTES])
{
	const char *f[] = { r->actor_type, r->actor, r->source_ip, r->user_agent, r->category,
			    r->action, r->target, r->result, r->details };
	unsigned char stack[8192], *buf = stack, *p;
	size_t need = 8, i;

	for (i = 0; i < ARRAY_SIZE(f); i++)
		need += 4 + (f[i] ? strlen(f[i]) : 0);
	if (need > sizeof(stack) && !(buf = malloc(need)))
		return -ENOMEM;
	audit_put64(buf, r->time_us);
	p = buf + 8;
	for (i = 0; i < ARRAY_SIZE(f); i++)
		p += put_str(p, f[i]);
	audit_sha256(buf, (size_t)(p - buf), ret);
	if (buf != stack)
		free(buf);
	return 0;
}

void audit_chain_hash(int64_t tenant, int64_t seq, const unsigned char prev[AUDIT_HASH_BYTES],
		      const unsigned char content[AUDIT_HASH_BYTES], unsigned char ret[AUDIT_HASH_BYTES])
{
	unsigned char buf[sizeof(AUDIT_RECORD_TAG) - 1 + 16 + 2 * AUDIT_HASH_BYTES], *p = buf;

	memcpy(p, AUDIT_RECORD_TAG, sizeof(AUDIT_RECORD_TAG) - 1);
	p += sizeof(AUDIT_RECORD_TAG) - 1;
	audit_put64(p, tenant);
	audit_put64(p + 8, seq);
	memcpy(p + 16, prev, AUDIT_HASH_BYTES);
	memcpy(p + 16 + AUDIT_HASH_BYTES, content, AUDIT_HASH_BYTES);
	audit_sha256(buf, sizeof(buf), ret);
}

int audit_rec_hash(struct audit_rec *r)
{
	int ret = audit_content_hash(r, r->content);

	if (ret == 0)
		audit_chain_hash(r->tenant, r->seq, r->prev, r->content, r->hash);
	return ret;
}

/* ---------------------------------------------------------------- writing */

/* Cuts s to at most max bytes on a UTF-8 boundary and replaces what is not clean text
 * (invalid UTF-8, control bytes) with '?', into buf (max + 1 bytes). */
static const char *clean(const char *s, char *buf, size_t max)
{
	size_t n;

	if (!s)
		return "";
	n = strlen(s);
	if (n <= max && utf8_is_clean_text(s, n))
		return s;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!utf8_is_clean_text(buf, n))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
				buf[i] = '?';
	return buf;
}

/*
 * The heads this process moved last, one slot per chain key modulo AUDIT_HEAD_CACHE: the
 * next record of a chain is hashed with the cached head, and the head row is moved with
 * "UPDATE … WHERE seq = cached AND head = cached", so an append is two statements (the head,
 * the row) instead of three (a read of the head before them). The update's condition is what
 * makes the cache safe: it hashes with exactly the head the database holds under the
 * chain's tenant lock, or it changes no row, and then the head is read and the record hashed
 * again (a rolled-back transaction, another process or node, another database file in
 * the same process, a slot shared by two chains). A stale slot costs one statement, never
 * a wrong link (test_audit.c test_head_cache_stale).
 */
#define AUDIT_HEAD_CACHE 256
static struct head_slot {
	int64_t tenant, seq;   /* seq 0: empty */
	unsigned char head[AUDIT_HASH_BYTES];
} head_cache[AUDIT_HEAD_CACHE];
static pthread_mutex_t head_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool head_cached(int64_t tenant, int64_t *seq, unsigned char head[AUDIT_HASH_BYTES])
{
	struct head_slot *s = &head_cache[(uint64_t)tenant % AUDIT_HEAD_CACHE];
	bool hit;

	pthread_mutex_lock(&head_cache_lock);
	hit = s->seq > 0 && s->tenant == tenant;
	if (hit) {
		*seq = s->seq;
		memcpy(head, s->head, AUDIT_HASH_BYTES);
	}
	pthread_mutex_unlock(&head_cache_lock);
	return hit;
}

static void head_cache_set(int64_t tenant, int64_t seq, const unsigned char head[AUDIT_HASH_BYTES])
{
	struct head_slot *s = &head_cache[(uint64_t)tenant % AUDIT_HEAD_CACHE];

	pthread_mutex_lock(&head_cache_lock);
	s->tenant = tenant;
	s->seq = seq;
	if (seq > 0)
		memcpy(s->head, head, AUDIT_HASH_BYTES);
	pthread_mutex_unlock(&head_cache_lock);
}

/* Reads the chain head of r->tenant into r->seq (the next seq) and r->prev. */
static int read_head(struct db *db, struct audit_rec *r)
{
	struct db_stmt *st = db_query(db, "SELECT seq, head FROM audit_heads WHERE tenant = $1", "i", r->tenant);
	int step = db_step(st);

	if (step > 0) {
		size_t n;
		const void *h = db_blob(st, 1, &n);

		r->seq = db_int(st, 0) + 1;
		if (n != AUDIT_HASH_BYTES)
			step = -EIO;
		else
			memcpy(r->prev, h, AUDIT_HASH_BYTES);
	} else if (step == 0) {
		r->seq = 1;
		memset(r->prev, 0, AUDIT_HASH_BYTES);
	}
	db_done(st);
	return step < 0 ? step : 0;
}

/* Appends r (seq, prev, hashes filled in here) to its chain. Inside a transaction. */
static int chain_append(struct db *db, struct audit_rec *r, int64_t *ret_id)
{
	int64_t seq0;
	bool moved = false;
	int ret;

	if (r->tenant < 0 || r->tenant >= AUDIT_CHAIN_KEY_LIMIT)
		return -ERANGE;
	ret = db_lock_tenant(db, r->tenant);   /* the head is read, then moved */
	if (ret < 0)
		return ret;
	if (head_cached(r->tenant, &seq0, r->prev)) {
		r->seq = seq0 + 1;
		ret = audit_rec_hash(r);
		if (ret < 0)
			return ret;
		ret = db_exec(db, "UPDATE audit_heads SET seq = $2, head = $3 WHERE tenant = $1 AND seq = $4"
				  " AND head = $5",
			      "iibib", r->tenant, r->seq, r->hash, (size_t)AUDIT_HASH_BYTES, seq0, r->prev,
			      (size_t)AUDIT_HASH_BYTES);
		if (ret < 0)
			return ret;
		moved = db_changes(db) == 1;
	}
	if (!moved) {
		/* no cached head, or not the database's: read it and hash again */
		ret = read_head(db, r);
		if (ret == 0)
			ret = audit_rec_hash(r);
		if (ret == 0)
			ret = db_exec(db, "INSERT INTO audit_heads (tenant, seq, head) VALUES ($1, $2, $3)"
					  " ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, head = excluded.head",
				      "iib", r->tenant, r->seq, r->hash, (size_t)AUDIT_HASH_BYTES);
		if (ret < 0) {
			head_cache_set(r->tenant, 0, NULL);
			return ret;
		}
	}
	if (r->seq >= AUDIT_SEQ_LIMIT)
		ret = -ERANGE;
	else if (ret_id)
		/* adopting a legacy row: it exists, give it its place in the chain */
		ret = db_exec(db, "UPDATE audit_events SET id = $5, seq = $2, prev_hash = $3, hash = $4 WHERE id = $1",
			      "iibbi", *ret_id, r->seq, r->prev, (size_t)AUDIT_HASH_BYTES, r->hash,
			      (size_t)AUDIT_HASH_BYTES, audit_row_id(r->tenant, r->seq));
	else
		ret = db_exec(db,
			      "INSERT INTO audit_events (id, tenant_id, time_us, actor_type, actor, source_ip,"
			      " user_agent, category, action, target, result, details, seq, prev_hash, hash)"
			      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
			      "iIitttttttttibb", audit_row_id(r->tenant, r->seq), r->tenant, r->time_us,
			      r->actor_type, r->actor, r->source_ip, r->user_agent, r->category, r->action,
			      r->target, r->result, r->details, r->seq, r->prev, (size_t)AUDIT_HASH_BYTES, r->hash,
			      (size_t)AUDIT_HASH_BYTES);
	/* on failure the caller rolls back, and the head row with it: forget the slot */
	head_cache_set(r->tenant, ret == 0 ? r->seq : 0, r->hash);
	return ret;
}

/*
 * Group commit for records that come without a transaction of their own (reads, refusals,
 * logins): each caller queues its record and waits; whichever caller finds no commit under
 * way becomes the leader, appends every queued record in one transaction and commits once,
 * then wakes the others with the common result. Every caller still returns only after its
 * record is durable (synchronous=FULL), so "no access without its record" holds, but N
 * concurrent requests share one fsync instead of queueing for N. The records live on the
 * waiting callers' stacks, which stay valid until they are woken.
 *
 * A batch made only of records of successful reads (category "access", result "success":
 * a download, a PROPFIND, a listing) commits with db_commit_relaxed(): the record is in the
 * chain and visible before the read is answered and survives kura being killed, and is
 * fsynced with the next durable commit or KURA_DB_RELAXED_SYNC_MS later at the latest. A
 * power loss inside that window can lose the newest read records (a suffix of the chain:
 * it still verifies), never a change, a refusal, a login or anything a durable commit
 * followed. Reads are served without waiting for a disk flush; writes still wait for theirs
 * (docs/performance.md, docs/audit.md).
 */
struct pending {
	struct audit_rec *rec;
	struct pending *next;
	pthread_cond_t wake;   /* signalled when done, or when it is to lead the next batch */
	int result;
	bool done;
	bool relaxed;   /* the record of a read: db_commit_relaxed() is enough (see below) */
};

/* The chains of a batch, locked in ascending order before any is appended to: two group
 * commits on a backend with real per-tenant locks never wait for each other in a circle. */
static int lock_batch(struct db *db, const struct pending *batch)
{
	int64_t last = -1;

	for (;;) {
		int64_t next = INT64_MAX;
		const struct pending *p;
		int r;

		for (p = batch; p; p = p->next)
			if (p->rec->tenant > last && p->rec->tenant < next)
				next = p->rec->tenant;
		if (next == INT64_MAX)
			return 0;
		r = db_lock_tenant(db, next);
		if (r < 0)
			return r;
		last = next;
	}
}

/* Each waiter sleeps on its own condition variable: the leader wakes the members of its
 * batch and the first of the next one (who leads it), not every waiter (a broadcast woke
 * all of them after every batch, to find most still queued: a futex call, a context switch
 * and a turn on group_lock each). */
static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *group_head, **group_tail = &group_head;
static bool group_leader;

static int group_commit(struct db *db, struct pending *me)
{
	pthread_cond_init(&me->wake, NULL);
	pthread_mutex_lock(&group_lock);
	me->rec->time_us = clock_now_us();  /* under the lock: times follow queue order */
	*group_tail = me;
	group_tail = &me->next;
	while (!me->done) {
		struct pending *batch, *p, *next;
		int r;

		if (group_leader) {
			pthread_cond_wait(&me->wake, &group_lock);
			continue;
		}
		group_leader = true;
		batch = group_head;
		group_head = NULL;
		group_tail = &group_head;
		pthread_mutex_unlock(&group_lock);

		bool relaxed = true;

		r = db_begin(db);
		if (r == 0)
			r = lock_batch(db, batch);
		for (p = batch; p && r == 0; p = p->next) {
			r = chain_append(db, p->rec, NULL);
			relaxed = relaxed && p->relaxed;
		}
		if (r == 0) {
			int64_t t0 = clock_now_us();

			r = relaxed ? db_commit_relaxed(db) : db_commit(db);
			stats_observe(&stats_audit_commit, clock_now_us() - t0);
		}
		if (r < 0)
			db_rollback(db);

		pthread_mutex_lock(&group_lock);
		for (p = batch; p; p = next) {
			next = p->next;   /* p may return (and its stack go) once done and unlocked */
			p->result = r;
			p->done = true;
			if (p != me)
				pthread_cond_signal(&p->wake);
		}
		group_leader = false;
		if (group_head)   /* queued meanwhile: its first leads the next batch */
			pthread_cond_signal(&group_head->wake);
	}
	pthread_mutex_unlock(&group_lock);
	pthread_cond_destroy(&me->wake);
	return me->result;
}

int audit_record(struct db *db, const struct audit_event *ev)
{
	const struct actor *a = ev->actor ? ev->actor : &actor_system;
	char ua[KURA_MAX_USER_AGENT + 1], target[KURA_AUDIT_TARGET_MAX + 1];
	char name[KURA_AUDIT_TARGET_MAX + 1], ip[64], action[KURA_AUDIT_TARGET_MAX + 1];
	struct audit_rec rec = { 0 };
	char *details = NULL;
	int64_t t0 = clock_now_us();
	int r;

	if (!db || !ev || ev->tenant_id < 0)
		return -EINVAL;
	if (ev->details) {
		details = json_dumps(ev->details, JSON_COMPACT | JSON_SORT_KEYS);
		if (!details)
			return -ENOMEM;
		if (strlen(details) > KURA_AUDIT_DETAILS_MAX) {
			free(details);
			details = strdup("{\"truncated\":true}");
			if (!details)
				return -ENOMEM;
		}
	}
	rec.tenant = ev->tenant_id;
	rec.actor_type = actor_type_name(a->type);
	rec.actor = clean(a->name, name, KURA_AUDIT_TARGET_MAX);
	rec.source_ip = clean(a->source_ip, ip, sizeof(ip) - 1);
	rec.user_agent = clean(a->user_agent, ua, KURA_MAX_USER_AGENT);
	rec.category = audit_category_name(ev->category);
	rec.action = clean(ev->action, action, KURA_AUDIT_TARGET_MAX);
	rec.target = clean(ev->target, target, KURA_AUDIT_TARGET_MAX);
	rec.result = audit_result_name(ev->result);
	rec.details = details ? details : "{}";
	db_read_end(db);   /* the record is written, and what follows reads the latest state */
	if (db_in_transaction(db)) {
		/* part of the caller's change: it commits or rolls back with it */
		rec.time_us = clock_now_us();
		r = chain_append(db, &rec, NULL);
	} else {
		r = group_commit(db, &(struct pending){
			.rec = &rec,
			.relaxed = ev->category == AUDIT_ACCESS && ev->result == AUDIT_SUCCESS });
	}
	if (r < 0)
		log_error("audit.write", "cannot record %s: %d", ev->action ? ev->action : "?", r);
	stats_observe(&stats_audit_append, clock_now_us() - t0);
	free(details);
	return r;
}

int audit_adopt(struct db *db)
{
	struct db_stmt *st = NULL;
	struct dbuf list;
	int64_t *ids, n, i;
	int r, step;

	dbuf_init(&list, KURA_DB_LIST_MAX_BYTES);
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT id FROM audit_events WHERE seq IS NULL ORDER BY id", NULL);
	while ((step = db_step(st)) > 0) {
		int64_t id = db_int(st, 0);

		if ((step = dbuf_add(&list, &id, sizeof(id))) < 0)
			break;
	}
	st = db_done(st);
	r = step;
	ids = dbuf_data(&list);
	n = (int64_t)(dbuf_len(&list) / sizeof(*ids));
	for (i = 0; r == 0 && i < n; i++) {
		struct audit_rec rec = { 0 };

		st = db_query(db, "SELECT COALESCE(tenant_id, 0), time_us, actor_type, actor, source_ip,"
				  " user_agent, category, action, target, result, details FROM audit_events"
				  " WHERE id = $1", "i", ids[i]);
		r = db_step(st);
		if (r > 0) {
			char *f[9] = { 0 };
			int k;

			rec.tenant = db_int(st, 0);
			rec.time_us = db_int(st, 1);
			/* copies: the row is updated below while st is still open */
			for (k = 0; k < 9; k++)
				if (!(f[k] = strdup(db_text(st, 2 + k) ? db_text(st, 2 + k) : "")))
					r = -ENOMEM;
			st = db_done(st);
			rec.actor_type = f[0];
			rec.actor = f[1];
			rec.source_ip = f[2];
			rec.user_agent = f[3];
			rec.category = f[4];
			rec.action = f[5];
			rec.target = f[6];
			rec.result = f[7];
			rec.details = f[8];
			if (r > 0)
				r = chain_append(db, &rec, &ids[i]);
			for (k = 0; k < 9; k++)
				free(f[k]);
		} else if (r == 0) {
			r = -EIO;
		}
		st = db_done(st);
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	else if (n)
		log_info("audit.adopt", "chained %lld records written before the hash chain", (long long)n);
	dbuf_free(&list);
	return r;
}
