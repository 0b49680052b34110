/*
 * For unit tests: does code that relies on serialised writers take its tenant's lock
 * (store/db.h "Write serialisation") first in each of its transactions, before its first
 * statement? On SQLite the lock changes nothing observable, so the test watches the
 * connection's trace (db_trace): every transaction begun on db while watching must start
 * with db_lock_tenant(tenant) — an audit record appended at the end, which locks the chain,
 * is too late and does not count.
 *
 *   struct lock_watch w;
 *   lock_watch_start(&w, db, tenant_id);
 *   assert_int_equal(files_mkdir(db, ...), 0);
 *   assert_locked_first(&w);        (stops watching)
 *
 * Include after cmocka.h.
 */
#ifndef KURA_TESTS_LOCK_WATCH_H
#define KURA_TESTS_LOCK_WATCH_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"

struct lock_watch {
	struct db *db;          /* only this connection's events (a purger thread has its own) */
	int64_t tenant;         /* the lock each transaction must take first */
	int n_tx;               /* transactions begun */
	int n_first;            /* of them, those whose first step was that lock */
	bool in_tx, fresh;      /* inside one; nothing happened in it yet */
	char bad[200];          /* the first transaction that did something else first */
};

static inline void lock_watch_cb(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id,
				 const char *sql)
{
	struct lock_watch *w = ctx;

	if (db != w->db)
		return;
	switch (ev) {
	case DB_TRACE_BEGIN:
		w->in_tx = w->fresh = true;
		w->n_tx++;
		break;
	case DB_TRACE_LOCK:
		if (w->fresh && tenant_id == w->tenant)
			w->n_first++;
		else if (w->fresh && !w->bad[0])
			snprintf(w->bad, sizeof(w->bad), "transaction %d locked tenant %lld first", w->n_tx,
				 (long long)tenant_id);
		w->fresh = false;
		break;
	case DB_TRACE_STATEMENT:
		if (w->in_tx && w->fresh && !w->bad[0])
			snprintf(w->bad, sizeof(w->bad), "transaction %d ran before the lock: %.150s", w->n_tx,
				 sql ? sql : "?");
		w->fresh = false;
		break;
	case DB_TRACE_END:
		w->in_tx = w->fresh = false;
		break;
	case DB_TRACE_SNAPSHOT:
		break;
	}
}

static inline void lock_watch_start(struct lock_watch *w, struct db *db, int64_t tenant_id)
{
	memset(w, 0, sizeof(*w));
	w->db = db;
	w->tenant = tenant_id;
	db_trace(lock_watch_cb, w);
}

static inline void lock_watch_stop(void)
{
	db_trace(NULL, NULL);
}

/* Every transaction since lock_watch_start (at least one) took the tenant's lock first. */
#define assert_locked_first(w)                                                                    \
	do {                                                                                      \
		lock_watch_stop();                                                                \
		if ((w)->n_tx == 0)                                                               \
			fail_msg("no transaction ran");                                           \
		if ((w)->n_first != (w)->n_tx)                                                    \
			fail_msg("%d of %d transactions took tenant %lld's lock first; %s",       \
				 (w)->n_first, (w)->n_tx, (long long)(w)->tenant, (w)->bad);      \
	} while (0)
#endif
