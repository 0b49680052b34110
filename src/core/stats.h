/*
 * Process-wide counters and latency histograms for /metrics (src/http/metrics.c): lock-free
 * atomics, so any thread records without waiting. The buckets are fixed (STATS_BOUNDS_US),
 * so a histogram's size never depends on what the network sends.
 */
#ifndef KURA_CORE_STATS_H
#define KURA_CORE_STATS_H
#include <stdatomic.h>
#include <stdint.h>

#define STATS_BUCKETS 14
/* upper bounds in microseconds: 0.5 ms … 30 s (the +Inf bucket is the count) */
#define STATS_BOUNDS_US { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, \
			  1000000, 2500000, 10000000, 30000000 }
extern const int64_t stats_bounds_us[STATS_BUCKETS];

struct stats_hist {
	_Atomic uint64_t bucket[STATS_BUCKETS];   /* per bucket, not cumulative */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

void stats_observe(struct stats_hist *h, int64_t us);

/* audit (src/audit/audit.c): audit_record() whole, and the group commit's COMMIT */
extern struct stats_hist stats_audit_append, stats_audit_commit;
/* mail delivery attempts (src/notify/mailer.c) */
extern _Atomic uint64_t stats_mail_sent, stats_mail_deferred, stats_mail_failed;
/* unwrapped tenant keys in the server's cache now (src/crypto/keyring_rt.c; a gauge) */
extern _Atomic uint64_t stats_key_cache_entries;
#endif
