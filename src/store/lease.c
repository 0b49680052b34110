/*
 * Job leases (lease.h). Portable SQL only (db.h "Portable SQL"): the claim is
 *
 *   INSERT INTO job_leases … ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, …
 *     WHERE job_leases.until_us <= $now OR job_leases.holder = $me
 *
 * one statement: on SQLite every writer is serialised, on PostgreSQL the conflicting row is
 * locked and its WHERE evaluated on the newest version, so of two nodes claiming at once
 * exactly one changes the row (db_changes() = 1) and the other sees 0. No tenant lock.
 *
 * SECURITY: a node id is no secret and grants nothing; it only names who runs a job. A lease
 * makes a duplicate run rare, not impossible (a holder stalled past its lease while another
 * node claims): the jobs stay safe to run twice (each step is a conditional write or under
 * its tenant's lock, db.h "Write serialisation").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/lease.h"

#define LEASE_SEEN_MAX 16   /* jobs whose holder this process remembers for its log */

static pthread_once_t node_once = PTHREAD_ONCE_INIT;
static char node_id[DB_NODE_ID_LEN + 1];

static void node_make(void)
{
	unsigned char raw[DB_NODE_ID_LEN / 2];

	if (sodium_init() < 0)
		abort();
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(node_id, sizeof(node_id), raw, sizeof(raw));
}

const char *db_node_id(void)
{
	pthread_once(&node_once, node_make);
	return node_id;
}

int64_t db_lease_ttl_s(int64_t interval_s)
{
	return (interval_s > 0 ? 2 * interval_s : 0) + DB_LEASE_GRACE_S;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > DB_LEASE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

int db_lease_claim_as(struct db *db, const char *name, const char *holder, int64_t now_us, int64_t ttl_us)
{
	bool own = false;
	int64_t n = 0;
	int r;

	if (!db || !name_ok(name) || !holder || !*holder || ttl_us <= 0 || now_us > INT64_MAX - ttl_us)
		return -EINVAL;
	/* a write transaction of its own: on SQLite it queues for the write lock beside the
	 * other writers instead of retrying in busy_timeout's growing sleeps */
	if (!db_in_transaction(db)) {
		r = db_begin(db);
		if (r < 0)
			return r;
		own = true;
	}
	r = db_exec(db, "INSERT INTO job_leases (name, holder, until_us, claimed_us) VALUES ($1, $2, $3, $4)"
			" ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_us = excluded.until_us,"
			" claimed_us = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.claimed_us"
			" ELSE excluded.claimed_us END"
			" WHERE job_leases.until_us <= $4 OR job_leases.holder = $2",
		    "ttii", name, holder, now_us + ttl_us, now_us);
	if (r == 0)
		n = db_changes(db);
	if (own) {
		if (r == 0)
			r = db_commit(db);
		if (r < 0)
			db_rollback(db);
	}
	if (r < 0)
		return r;
	return n == 1 ? 1 : 0;
}

/* ---- the log: one line each time the holder of a job changes, as this node sees it ---- */

static struct {
	pthread_mutex_t lock;
	size_t n;
	struct {
		char name[DB_LEASE_NAME_MAX + 1];
		char holder[64];
	} seen[LEASE_SEEN_MAX];
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* true when holder is the one last logged for name */
static bool seen_is(const char *name, const char *holder)
{
	bool same = false;

	pthread_mutex_lock(&seen.lock);
	for (size_t i = 0; i < seen.n; i++)
		if (!strcmp(seen.seen[i].name, name)) {
			same = !strcmp(seen.seen[i].holder, holder);
			break;
		}
	pthread_mutex_unlock(&seen.lock);
	return same;
}

/* true when holder differs from the one last logged for name (and remembers it) */
static bool seen_changed(const char *name, const char *holder)
{
	bool changed = true;
	size_t i;

	pthread_mutex_lock(&seen.lock);
	for (i = 0; i < seen.n; i++)
		if (!strcmp(seen.seen[i].name, name))
			break;
	if (i == seen.n && seen.n < LEASE_SEEN_MAX) {
		str_copy(seen.seen[i].name, sizeof(seen.seen[i].name), name);
		seen.seen[i].holder[0] = '\0';
		seen.n++;
	}
	if (i < seen.n) {
		changed = strcmp(seen.seen[i].holder, holder) != 0;
		str_copy(seen.seen[i].holder, sizeof(seen.seen[i].holder), holder);
	}
	pthread_mutex_unlock(&seen.lock);
	return changed;
}

/* who holds name now, and until when (for the log only: it may be stale at once) */
static void holder_of(struct db *db, const char *name, char *ret, size_t size, int64_t *ret_until)
{
	struct db_stmt *st = db_query(db, "SELECT holder, until_us FROM job_leases WHERE name = $1", "t", name);

	*ret = '\0';
	*ret_until = 0;
	if (db_step(st) > 0 && db_text(st, 0)) {
		str_copy(ret, size, db_text(st, 0));
		*ret_until = db_int(st, 1);
	}
	db_done(st);
}

int db_lease_claim(struct db *db, const char *name, int64_t ttl_s)
{
	const char *me = db_node_id();
	char before[64], until[24];
	int64_t now = clock_now_us(), until_us = 0;
	int r;

	if (ttl_s <= 0 || ttl_s > INT64_MAX / 1000000)
		return -EINVAL;
	if (!db || !name_ok(name))
		return -EINVAL;
	/* the holder before, for the log: a renewal (the usual case) needs no read */
	before[0] = '\0';
	if (!seen_is(name, me))
		holder_of(db, name, before, sizeof(before), &until_us);
	r = db_lease_claim_as(db, name, me, now, ttl_s * 1000000);
	if (r < 0) {
		log_error("job.lease", "cannot claim job %s: %s", name, db_errmsg(db));
		return r;
	}
	if (r == 1 && seen_changed(name, me)) {
		log_fields(LOG_INFO, "job.lease",
			   (const char *const[]){ "job", name, "node", me, "state", "claimed", "previous",
						  *before && strcmp(before, me) ? before : "", NULL });
	} else if (r == 0) {
		holder_of(db, name, before, sizeof(before), &until_us);
		if (seen_changed(name, before)) {
			str_printf(until, sizeof(until), "%lld", (long long)until_us);
			log_fields(LOG_INFO, "job.lease",
				   (const char *const[]){ "job", name, "node", me, "state", "held", "holder", before,
							  "until_us", until, NULL });
		}
	}
	return r;
}

int db_lease_forget_all(struct db *db)
{
	/* the migration by its name, so an older copy's missing table is no error */
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM schema_migrations WHERE name LIKE $1", "t",
				      "%cluster_state.sql");
	int r = db_step(st);
	int64_t n = r > 0 ? db_int(st, 0) : 0;

	db_done(st);
	if (r < 0)
		return r;
	return n > 0 ? db_exec(db, "DELETE FROM job_leases", "") : 0;
}

int db_lease_release_all(struct db *db, const char *holder)
{
	int r;

	if (!db || !holder || !*holder)
		return -EINVAL;
	r = db_exec(db, "DELETE FROM job_leases WHERE holder = $1", "t", holder);
	if (r < 0)
		return r;
	return (int)db_changes(db);
}
