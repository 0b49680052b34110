/*
 * Lockout and throttling (C3, NIST SP 800-63B 5.2.2).
 *
 * Per account: N failures within a window lock the account for a duration (account.c
 * counts; the values are the tenant's settings here, over the kura.conf defaults). When an
 * account locks, the account's address and the tenant's managers are mailed, in the same
 * transaction as the lock.
 *
 * Per source address: refused credential checks (logins and HTTP Basic app-password
 * attempts) are counted per address, across accounts and tenants, in the table
 * address_throttle (migration 0029), so every node behind a load balancer sees the same
 * count and a restart forgets nothing. After KURA_THROTTLE_FREE_FAILURES failures within
 * KURA_THROTTLE_WINDOW_S, every further attempt from the address waits 2^k x
 * KURA_THROTTLE_BASE_MS (k = failures beyond the free ones), at most KURA_THROTTLE_MAX_MS,
 * counted from the address's last failure, before its credentials are looked at. So password
 * spraying slows down, while nobody else's account is locked by it, and a client that waits
 * the delay itself is not held at all. A failure is one upsert (atomic on both backends, no
 * lock: db.h "Cluster state"), a check one read by primary key; rows whose window has passed
 * go with throttle_prune (a background job, at most KURA_THROTTLE_TABLE rows kept, the
 * oldest windows first). Successes do not reset an address: an attacker with one valid
 * account could otherwise wipe the count between guesses.
 *
 * SECURITY: the delay sleeps a worker thread, so it is bounded twice, per process (these
 * are this node's threads, so they stay in memory): one delayed request per address at a
 * time, and at most KURA_THROTTLE_MAX_SLEEPERS (and half the workers); beyond either the
 * attempt is answered 429 at once (no credential check, Retry-After = the rest of the delay),
 * so an attacker cannot park every worker. IPv6 addresses count per /64 (one subscriber
 * usually holds a whole /64).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "notify/mail.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define KEY_BYTES 9   /* family + 4 (IPv4) or 8 (IPv6 /64) address bytes */

/* the addresses with a delayed request in flight on this node (at most max_sleepers) */
static unsigned char sleeping[KURA_THROTTLE_MAX_SLEEPERS][KEY_BYTES];
static unsigned sleepers, max_sleepers = KURA_THROTTLE_MAX_SLEEPERS;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;

static void key_of(const char *address, unsigned char key[KEY_BYTES])
{
	struct ipnet a;

	memset(key, 0, KEY_BYTES);
	if (ipaddr_parse(address, &a) < 0)
		return;   /* unknown addresses share one key */
	key[0] = a.family;
	memcpy(key + 1, a.addr, a.family == 4 ? 4 : 8);
}

static int64_t delay_ms(int64_t failures)
{
	int64_t k;

	if (failures < KURA_THROTTLE_FREE_FAILURES)
		return 0;
	k = failures - KURA_THROTTLE_FREE_FAILURES;
	if (k >= 16)
		return KURA_THROTTLE_MAX_MS;
	return (int64_t)KURA_THROTTLE_BASE_MS << k > KURA_THROTTLE_MAX_MS
		       ? KURA_THROTTLE_MAX_MS
		       : (int64_t)KURA_THROTTLE_BASE_MS << k;
}

#define WINDOW_US ((int64_t)KURA_THROTTLE_WINDOW_S * 1000000)

/* The address's row: 1 with its failures and last failure when its window is current,
 * 0 when it has none, <0 on a database error. */
static int row_of(struct db *db, const unsigned char key[KEY_BYTES], int64_t now, int64_t *ret_failures,
		  int64_t *ret_last_us)
{
	struct db_stmt *st = db_query(db, "SELECT failures, last_us FROM address_throttle"
					  " WHERE address_key = $1 AND window_start_us >= $2",
				      "bi", key, (size_t)KEY_BYTES, now - WINDOW_US);
	int r = db_step(st);

	if (r > 0) {
		*ret_failures = db_int(st, 0);
		*ret_last_us = db_int(st, 1);
	}
	db_done(st);
	return r;
}

/*
 * The negative cache (SQLite only): a bit per hash of an address key, set for every address
 * with a row in address_throttle when this process first checks one, and for every failure
 * this process counts, before its row is written. A clear bit means the address has no
 * row, so throttle_delay() skips its SELECT (one statement, about 6 % of an authenticated
 * request's CPU). Exact on SQLite: one `kura serve` per database (the data directory's
 * kura.lock), and no other process counts failures (the CLI only deletes rows, which a set
 * bit covers: a bit is never cleared, it only costs the SELECT). A bit shared by two
 * addresses costs the SELECT too. On PostgreSQL other nodes count failures this process
 * never sees: every check reads the row, as before.
 */
#define SEEN_BITS 65536u
static _Atomic uint64_t seen[SEEN_BITS / 64];
static atomic_bool seen_loaded;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t seen_bit(const unsigned char key[KEY_BYTES])
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; i < KEY_BYTES; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % SEEN_BITS;
}

static void seen_mark(const unsigned char key[KEY_BYTES])
{
	uint32_t b = seen_bit(key);

	atomic_fetch_or(&seen[b / 64], (uint64_t)1 << (b % 64));
}

/* True when the address certainly has no row (SQLite, the cache loaded, its bit clear). */
static bool seen_clear(struct db *db, const unsigned char key[KEY_BYTES])
{
	uint32_t b = seen_bit(key);

	if (db_is_pg(db))
		return false;
	if (!atomic_load(&seen_loaded)) {
		struct db_stmt *st;
		int r;

		pthread_mutex_lock(&seen_lock);
		if (!atomic_load(&seen_loaded)) {
			st = db_query(db, "SELECT address_key FROM address_throttle", "");
			while ((r = db_step(st)) > 0) {
				size_t n;
				const void *k = db_blob(st, 0, &n);

				if (n == KEY_BYTES)
					seen_mark(k);
			}
			db_done(st);
			if (r == 0)
				atomic_store(&seen_loaded, true);   /* else: read the rows next time */
		}
		pthread_mutex_unlock(&seen_lock);
		if (!atomic_load(&seen_loaded))
			return false;
	}
	return !(atomic_load(&seen[b / 64]) & ((uint64_t)1 << (b % 64)));
}

int64_t throttle_peek_ms(struct db *db, const char *address)
{
	unsigned char key[KEY_BYTES];
	int64_t failures = 0, last = 0;

	key_of(address, key);
	if (!db || row_of(db, key, clock_now_us(), &failures, &last) <= 0)
		return 0;
	return delay_ms(failures);
}

void throttle_configure(unsigned workers)
{
	pthread_mutex_lock(&sleep_lock);
	max_sleepers = workers / 2 < KURA_THROTTLE_MAX_SLEEPERS ? workers / 2 : KURA_THROTTLE_MAX_SLEEPERS;
	pthread_mutex_unlock(&sleep_lock);
}

int throttle_delay(struct db *db, const char *address, const char *request_id, int64_t *ret_retry_after_s)
{
	char delay[24];
	unsigned char key[KEY_BYTES];
	struct timespec ts;
	int64_t ms = 0, now = clock_now_us(), failures = 0, last = 0;
	unsigned i;
	int r;

	key_of(address, key);
	if (db && seen_clear(db, key))
		return 0;   /* no failure counted for the address: no row to read */
	r = db ? row_of(db, key, now, &failures, &last) : -EIO;
	if (r < 0)   /* the credential check that follows needs the database as well */
		log_error("auth.throttle", "cannot read the address's failures: %s", db ? db_errmsg(db) : "no database");
	if (r > 0) {
		/* what is left of the delay since the last failure */
		int64_t left_us = last + delay_ms(failures) * 1000 - now;

		ms = left_us > 0 ? (left_us + 999) / 1000 : 0;
	}
	if (ms == 0)
		return 0;
	if (ms > KURA_THROTTLE_MAX_MS)   /* a last failure "in the future": another node's clock */
		ms = KURA_THROTTLE_MAX_MS;
	pthread_mutex_lock(&sleep_lock);
	for (i = 0; i < sleepers; i++)
		if (!memcmp(sleeping[i], key, KEY_BYTES))
			break;
	if (i < sleepers || sleepers >= max_sleepers) {
		pthread_mutex_unlock(&sleep_lock);
		*ret_retry_after_s = (ms + 999) / 1000;
		return -EBUSY;
	}
	memcpy(sleeping[sleepers++], key, KEY_BYTES);
	pthread_mutex_unlock(&sleep_lock);

	str_printf(delay, sizeof(delay), "%lld", (long long)ms);
	log_fields(LOG_INFO, "auth.throttle",
		   (const char *const[]){ "request_id", request_id ? request_id : "", "delay_ms", delay, NULL });

	/* the credentials are then checked against the state after the wait, and no read
	 * snapshot (db.h db_read_begin) pins the WAL while this sleeps */
	db_read_end(db);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;

	pthread_mutex_lock(&sleep_lock);
	for (i = 0; i < sleepers; i++)
		if (!memcmp(sleeping[i], key, KEY_BYTES)) {
			memcpy(sleeping[i], sleeping[--sleepers], KEY_BYTES);
			break;
		}
	pthread_mutex_unlock(&sleep_lock);
	return 0;
}

void throttle_failure(struct db *db, const char *address)
{
	unsigned char key[KEY_BYTES];
	int64_t now = clock_now_us();
	bool own;
	int r;

	key_of(address, key);
	seen_mark(key);   /* before the row exists: a check after it never skips the row */
	/* one statement: a new row, or the row's count (restarted when its window has passed).
	 * Its own write transaction unless the caller has one (on SQLite it then queues for the
	 * write lock instead of retrying in busy_timeout's growing sleeps) */
	own = db && !db_in_transaction(db);
	r = !db ? -EIO : own ? db_begin(db) : 0;
	if (r < 0)
		own = false;   /* nothing to end */
	if (r == 0)
		r = db_exec(db, "INSERT INTO address_throttle (address_key, failures, window_start_us, last_us)"
			     " VALUES ($1, 1, $2, $2) ON CONFLICT (address_key) DO UPDATE SET"
			     " failures = CASE WHEN address_throttle.window_start_us < $3 THEN 1"
			     " WHEN address_throttle.failures >= $4 THEN address_throttle.failures"
			     " ELSE address_throttle.failures + 1 END,"
			     " window_start_us = CASE WHEN address_throttle.window_start_us < $3 THEN $2"
			     " ELSE address_throttle.window_start_us END, last_us = $2",
			    "biii", key, (size_t)KEY_BYTES, now, now - WINDOW_US, (int64_t)INT32_MAX);
	if (own && r == 0)
		r = db_commit(db);
	if (own && r < 0)
		db_rollback(db);
	if (r < 0)
		log_error("auth.throttle", "cannot count a failure of the address: %s", db ? db_errmsg(db) : "no database");
}

int throttle_prune(struct db *db, int64_t now_us, int64_t *ret_n)
{
	int64_t n;
	int r;

	if (!db)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_exec(db, "DELETE FROM address_throttle WHERE window_start_us < $1", "i", now_us - WINDOW_US);
	n = r == 0 ? db_changes(db) : 0;
	/* beyond the bound, the oldest windows go (an attacker's many addresses within one window) */
	if (r == 0)
		r = db_exec(db, "DELETE FROM address_throttle WHERE window_start_us <"
				" (SELECT window_start_us FROM address_throttle ORDER BY window_start_us DESC"
				" LIMIT 1 OFFSET $1)",
			    "i", (int64_t)KURA_THROTTLE_TABLE - 1);
	if (r == 0)
		n += db_changes(db);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	if (ret_n)
		*ret_n = n;
	return 0;
}

int throttle_reset_all(struct db *db)
{
	return db ? db_exec(db, "DELETE FROM address_throttle", "") : -EINVAL;
}

/* ---------------------------------------------------------------- tenant lockout settings */

/* The tenant's own values (0 = not set). */
static int policy_row(struct db *db, int64_t tenant_id, struct lockout_policy *ret)
{
	struct db_stmt *st = db_query(db, "SELECT COALESCE(lockout_threshold, 0), COALESCE(lockout_window_s, 0),"
					  " COALESCE(lockout_duration_s, 0) FROM tenant_security WHERE tenant_id = $1",
				      "i", tenant_id);
	int r = db_step(st);

	memset(ret, 0, sizeof(*ret));
	if (r > 0) {
		ret->threshold = (uint32_t)db_int(st, 0);
		ret->window_s = (uint32_t)db_int(st, 1);
		ret->duration_s = (uint32_t)db_int(st, 2);
	}
	db_done(st);
	return r < 0 ? r : 0;
}

int lockout_policy_get(struct db *db, int64_t tenant_id, struct lockout_policy *ret)
{
	struct lockout_policy own;
	int r = policy_row(db, tenant_id, &own);

	if (r < 0)
		return r;
	if (own.threshold)
		ret->threshold = own.threshold;
	if (own.window_s)
		ret->window_s = own.window_s;
	if (own.duration_s)
		ret->duration_s = own.duration_s;
	return 0;
}

static json_t *policy_json(const struct lockout_policy *p)
{
	return json_pack("{s:o, s:o, s:o}",
			 "lockout_threshold", p->threshold ? json_integer(p->threshold) : json_null(),
			 "lockout_window_seconds", p->window_s ? json_integer(p->window_s) : json_null(),
			 "lockout_duration_seconds", p->duration_s ? json_integer(p->duration_s) : json_null());
}

int lockout_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
		       const struct lockout_policy *set, const bool changed[3])
{
	struct lockout_policy old, next;
	json_t *details = NULL;
	int r;

	if ((changed[0] && set->threshold &&
	     (set->threshold < KURA_LOCKOUT_THRESHOLD_MIN || set->threshold > KURA_LOCKOUT_THRESHOLD_MAX)) ||
	    (changed[1] && set->window_s &&
	     (set->window_s < KURA_LOCKOUT_WINDOW_MIN_S || set->window_s > KURA_LOCKOUT_WINDOW_MAX_S)) ||
	    (changed[2] && set->duration_s &&
	     (set->duration_s < KURA_LOCKOUT_DURATION_MIN_S || set->duration_s > KURA_LOCKOUT_DURATION_MAX_S)))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = policy_row(db, tenant_id, &old);
	if (r < 0)
		goto out;
	next = old;
	if (changed[0])
		next.threshold = set->threshold;
	if (changed[1])
		next.window_s = set->window_s;
	if (changed[2])
		next.duration_s = set->duration_s;
	r = db_exec(db, "INSERT INTO tenant_security (tenant_id, lockout_threshold, lockout_window_s,"
			" lockout_duration_s, updated_us) VALUES ($1, $2, $3, $4, $5)"
			" ON CONFLICT (tenant_id) DO UPDATE SET lockout_threshold = excluded.lockout_threshold,"
			" lockout_window_s = excluded.lockout_window_s,"
			" lockout_duration_s = excluded.lockout_duration_s, updated_us = excluded.updated_us",
		    "iIIIi", tenant_id, (int64_t)next.threshold, (int64_t)next.window_s,
		    (int64_t)next.duration_s, clock_now_us());
	if (r < 0)
		goto out;
	details = json_pack("{s:o, s:o}", "old", policy_json(&old), "new", policy_json(&next));
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				 .category = AUDIT_ADMINISTRATION, .action = "tenant.security.update",
				 .target = "tenant:security", .result = AUDIT_SUCCESS, .details = details });
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}

/* ---------------------------------------------------------------- the lock mail */

/* mail/account-locked.*.txt: to the account itself, or (to_manager) to the tenant's
 * other active managers. */
static int lock_mail(struct db *db, const struct tenant *t, const struct account *a, const char *address,
		     int64_t locked_until_us, bool to_manager)
{
	const struct mail_var vars[] = {
		MAIL_TEXT("tenant_name", t->name),
		MAIL_TEXT("tenant_code", t->code),
		MAIL_TEXT("login", a->login),
		MAIL_TIME("locked_until", locked_until_us),
		MAIL_TEXT("address", address && *address ? address : "-"),
		MAIL_FLAG("to_manager", to_manager),
	};
	const struct mail m = { .name = "account-locked", .zone = t->zone, .vars = vars, .n_vars = ARRAY_SIZE(vars) };

	if (to_manager)
		return notify_managers(db, t->id, a->email, &m, NULL);
	return mail_queue(db, t->id, a->email, &m, NULL);
}

int lockout_notify(struct db *db, int64_t tenant_id, int64_t account_id, const char *address,
		   int64_t locked_until_us)
{
	struct account a;
	struct tenant t;
	int r;

	r = tenant_get(db, tenant_id, &t);
	if (r == 0)
		r = account_get_id(db, tenant_id, account_id, &a);
	if (r == 0)
		r = lock_mail(db, &t, &a, address, locked_until_us, false);
	if (r == 0)
		r = lock_mail(db, &t, &a, address, locked_until_us, true);
	return r;
}
