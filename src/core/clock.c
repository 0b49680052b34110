/* Clock: UTC µs, RFC 3339 formatting, zone conversion with tzcode, adjtimex sync state. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <time.h>

#include "core/clock.h"

static int64_t offset_us;
static pthread_once_t offset_once = PTHREAD_ONCE_INIT;

static void offset_init(void)
{
	const char *s = getenv("KURA_TEST_CLOCK_OFFSET_S");
	int64_t v;

	if (s && safe_atoi64(s, &v) == 0)
		offset_us = v * 1000000;
}

int64_t clock_now_us(void)
{
	struct timespec ts;

	pthread_once(&offset_once, offset_init);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + offset_us;
}

int clock_format_utc(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&t, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
		return -EINVAL;
	return str_printf(buf, size, "%s.%06dZ", base, (int)(us % 1000000));
}

/* tzset/localtime_r use the process-wide TZ, so conversions are serialized. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

int clock_format_zone(int64_t us, const char *zone, char *buf, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	char *saved = NULL;
	const char *old;
	struct tm tm;
	char base[32];
	long off;
	int r = 0;

	pthread_mutex_lock(&tz_lock);
	old = getenv("TZ");
	if (old)
		saved = strdup(old);
	setenv("TZ", zone, 1);
	tzset();
	if (!localtime_r(&t, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
		r = -EINVAL;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	free(saved);
	if (r < 0)
		return r;
	off = tm.tm_gmtoff / 60;
	return str_printf(buf, size, "%s%c%02ld:%02ld", base, off < 0 ? '-' : '+',
			  labs(off) / 60, labs(off) % 60);
}

int clock_sync_state(struct clock_sync *ret)
{
	struct timex tx = { 0 };
	int state = adjtimex(&tx);

	if (state < 0)
		return -errno;
	ret->synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	ret->est_error_us = tx.esterror;
	ret->max_error_us = tx.maxerror;
	return 0;
}
