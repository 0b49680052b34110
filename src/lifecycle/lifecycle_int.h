/* Shared inside the lifecycle module only. */
#ifndef KURA_LIFECYCLE_LIFECYCLE_INT_H
#define KURA_LIFECYCLE_LIFECYCLE_INT_H
#include <stdatomic.h>

#include "core/catalog.h"
#include "lifecycle/lifecycle.h"

struct tenant;

/* The instants of a termination (UTC µs). */
struct lifecycle_times {
	int64_t ends_us;          /* the end of end_day in the zone */
	int64_t erase_after_us;   /* the end of the grace period (capped before the deadline) */
	int64_t deadline_us;      /* the end of the erasure's last day */
};
/* From end_day (YYYY-MM-DD) in zone, the tenant's effective catalog values and the grace. */
int lifecycle_times(const char *zone, const char *end_day, const struct catalog_effective *e,
		    uint32_t grace_days, struct lifecycle_times *ret) KURA_WUR;
/* The reminders (bits 2, 4, 8: 14, 7, 1 days before) due at now that notices lacks; *ret_days
 * the nearest of them (0: none). */
int64_t lifecycle_reminders_due(int64_t notices, int64_t ends_us, int64_t now, int64_t *ret_days);
const struct catalog_option *lifecycle_option_of(struct db *db, int64_t tenant_id, const char *option);
const char *lifecycle_data_dir(void);
/* ended -> erasing (phase prepare), once. */
int erasure_begin(struct db *db, const struct tenant *t) KURA_WUR;
/* Set while the server stops: a running erasure stops between batches (it resumes). */
extern atomic_bool lifecycle_stopping;
/* The termination scheduler's job lease (store/lease.h), claimed before each pass and renewed
 * between the steps and batches of an erasure, which may outlast one lease: false when
 * another node holds it now (the erasure stops there and resumes on the holder). */
#define LIFECYCLE_LEASE "lifecycle"
bool lifecycle_lease_renew(struct db *db);
#endif
