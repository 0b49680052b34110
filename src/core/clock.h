/*
 * Time (F6): UTC microseconds since the epoch everywhere; formatting in UTC or a tenant's
 * zone; the kernel's clock-synchronization state from adjtimex(2).
 */
#ifndef KURA_CORE_CLOCK_H
#define KURA_CORE_CLOCK_H
#include "core/core.h"

#define CLOCK_RFC3339_LEN 40

/* Makes TZ present in the environment (with the meaning of an unset TZ), so the zone
 * conversions below only ever replace its value: main() calls it before any thread starts. */
void clock_init(void);
int64_t clock_now_us(void);
/* Test hook: KURA_TEST_CLOCK_OFFSET_S in the environment shifts the clock (read once). */

/* "2026-11-22T02:33:19.123456Z"; years 0000-9999, else -EINVAL; -E2BIG when size is short */
int clock_format_utc(int64_t us, char *buf, size_t size);
/* HTTP-date (IMF-fixdate): "Sun, 22 Nov 2026 02:33:19 GMT" (30 bytes with the NUL) */
int clock_format_http(int64_t us, char *buf, size_t size);
/* ISO 8601 with the zone's offset, e.g. "2026-11-22T11:33:19+09:00"; zone is an IANA name. */
int clock_format_zone(int64_t us, const char *zone, char *buf, size_t size);

/* Parses RFC 3339 "2026-11-22T11:33:19[.123456](Z|+09:00)" (also a plain date
 * "2026-11-22" = its UTC midnight) into UTC µs; -EINVAL on anything else. */
int clock_parse_rfc3339(const char *str, int64_t *ret_us);

/* Whole days in a zone. The start (local midnight, as UTC µs) of the day add_days after date
 * ("YYYY-MM-DD") in zone (an IANA name): the end of 2026-12-31 in Asia/Tokyo is
 * clock_day_start("2026-12-31", 1, "Asia/Tokyo"), 2026-12-31T15:00:00Z. -EINVAL on a bad
 * date or zone, -ERANGE past CLOCK_DAYS_MAX. */
#define CLOCK_DAYS_MAX 36600
int clock_day_start(const char *date, int64_t add_days, const char *zone, int64_t *ret_us) KURA_WUR;
/* The day ("YYYY-MM-DD") that us falls on in zone. */
int clock_zone_date(int64_t us, const char *zone, char ret[11]) KURA_WUR;

struct clock_sync {
	bool synchronized;      /* kernel says the clock is disciplined (no TIME_ERROR) */
	int64_t est_error_us;   /* estimated error */
	int64_t max_error_us;   /* maximum error */
	int64_t offset_us;      /* the offset the kernel is still correcting (adjtimex offset) */
};
int clock_sync_state(struct clock_sync *ret);

/* Test seam, for golden outputs only (tests/unit/test_golden.c): from now on clock_now_us()
 * answers now_us and clock_sync_state() *sync (NULL: the kernel's); now_us 0 unfreezes.
 * Nothing in kura calls it. */
void clock_test_freeze(int64_t now_us, const struct clock_sync *sync);
#endif
