/*
 * Job leases and the node id (issue 10; db.h "Cluster state", docs/scale-out.md "Shared
 * state and background jobs"). Every background job of kura serve runs on every node and
 * asks for its lease before each round: the node that holds a job's lease runs it, the
 * others skip the round. A lease is one row of job_leases (migration 0029), claimed or
 * renewed with one conditional upsert, which is atomic on SQLite and PostgreSQL alike; it
 * runs out by time (until_us), so a node that dies without a word loses its jobs when its
 * leases end and another node takes them at its next round.
 */
#ifndef KURA_STORE_LEASE_H
#define KURA_STORE_LEASE_H
#include "store/db.h"

#define DB_NODE_ID_LEN 16        /* hex characters of a node id */
#define DB_LEASE_NAME_MAX 32     /* characters of a job's name */
#define DB_LEASE_GRACE_S 60      /* a lease outlives two rounds of its job by this much */

/* This process's node id: DB_NODE_ID_LEN random hex characters, made at first use. */
const char *db_node_id(void);

/* Claims (or renews) job name for this node until now + ttl_s, now the clock's
 * (clock_now_us, the test clock included). 1 when this node holds the lease now, 0 when
 * another node's lease has not run out, <0 on a database error or a bad name. Logs each
 * change of who holds it as this node sees it ("job.lease"). */
int db_lease_claim(struct db *db, const char *name, int64_t ttl_s) KURA_WUR;
/* The same for any holder at any time (tests; db_lease_claim calls it). */
int db_lease_claim_as(struct db *db, const char *name, const char *holder, int64_t now_us,
		      int64_t ttl_us) KURA_WUR;
/* The lease of a job that runs every interval_s seconds: two rounds and DB_LEASE_GRACE_S. */
int64_t db_lease_ttl_s(int64_t interval_s);
/* Ends every lease holder holds now (so another node takes its jobs at once): a graceful
 * stop (holder = db_node_id()), or at start-up the previous process of this data directory,
 * proven dead by the data-directory lock. Returns how many leases ended, or <0. */
int db_lease_release_all(struct db *db, const char *holder);
/* Ends every lease of every holder: a restored copy is a new deployment, and no node of the
 * one it was copied from runs its jobs (kura restore). 0 also for a database from before the
 * leases (it has none). */
int db_lease_forget_all(struct db *db) KURA_WUR;
#endif
