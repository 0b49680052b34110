/*
 * Shared-state benchmark (not a test): what the state moved into the database (issue 10)
 * costs per call on SQLite, in a release build, synchronous=FULL as in kura serve.
 *
 *   cluster_state_bench DIR N
 *
 * N refused logins counted (throttle_failure: one upsert, its own durable transaction) over
 * N / 16 addresses; N checks (throttle_peek_ms: one read by key); N lease renewals
 * (db_lease_claim_as: one conditional upsert, durable); N lease claims refused to another
 * holder; then one prune of a full table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auth/access.h"
#include "core/clock.h"
#include "store/db.h"
#include "store/lease.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, long n, double s)
{
	printf("%-44s %8ld calls %8.3f s %10.0f /s %8.1f us each\n", what, n, s, n / s, s * 1e6 / n);
}

static void addr_of(long i, char *buf, size_t size)
{
	snprintf(buf, size, "10.%ld.%ld.%ld", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

int main(int argc, char **argv)
{
	char path[512], err[256], addr[32];
	struct db *db;
	int64_t n = 0;
	long i, addrs;
	double t;
	int64_t pruned = 0, sink = 0;

	if (argc != 3 || safe_atoi64(argv[2], &n) < 0 || n < 16 || n > 100000000) {
		fprintf(stderr, "usage: cluster_state_bench DIR N (N >= 16)\n");
		return 2;
	}
	addrs = (long)(n / 16);
	snprintf(path, sizeof(path), "%s/kura.db", argv[1]);
	db = db_open(path, err, sizeof(err));
	if (!db || db_migrate(db) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t = now_s();
	for (i = 0; i < n; i++) {
		addr_of(i % addrs, addr, sizeof(addr));
		throttle_failure(db, addr);
	}
	report("throttle_failure (durable upsert)", (long)n, now_s() - t);
	t = now_s();
	for (i = 0; i < n; i++) {
		addr_of(i % addrs, addr, sizeof(addr));
		sink += throttle_peek_ms(db, addr);
	}
	report("throttle check (read by key)", (long)n, now_s() - t);
	t = now_s();
	for (i = 0; i < n; i++)
		if (db_lease_claim_as(db, "bench.job", "node-a", clock_now_us(), 60 * 1000000LL) != 1)
			return 1;
	report("lease renewal (durable conditional upsert)", (long)n, now_s() - t);
	t = now_s();
	for (i = 0; i < n; i++)
		if (db_lease_claim_as(db, "bench.job", "node-b", clock_now_us(), 60 * 1000000LL) != 0)
			return 1;
	report("lease claim refused (another holder)", (long)n, now_s() - t);
	t = now_s();
	if (throttle_prune(db, clock_now_us() + 3600 * 1000000LL, &pruned) < 0)
		return 1;
	printf("%-44s %8lld rows  %8.3f s\n", "throttle_prune (all windows passed)", (long long)pruned, now_s() - t);
	db_close(db);
	return sink < 0;
}
