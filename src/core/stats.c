/* Counters and histograms for /metrics (stats.h). */
#include "core/stats.h"

const int64_t stats_bounds_us[STATS_BUCKETS] = STATS_BOUNDS_US;

struct stats_hist stats_audit_append, stats_audit_commit;
_Atomic uint64_t stats_mail_sent, stats_mail_deferred, stats_mail_failed;
_Atomic uint64_t stats_key_cache_entries;

void stats_observe(struct stats_hist *h, int64_t us)
{
	int i;

	if (us < 0)
		us = 0;
	for (i = 0; i < STATS_BUCKETS && us > stats_bounds_us[i]; i++)
		;
	if (i < STATS_BUCKETS)
		atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}
