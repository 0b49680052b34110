/* Clock: UTC µs, RFC 3339 formatting, zone conversion with tzcode, adjtimex sync state. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <time.h>

#include "core/clock.h"

static int64_t offset_us;
static pthread_once_t offset_once = PTHREAD_ONCE_INIT;
/* clock_test_freeze (unit tests with golden outputs): 0 = the real clock */
static _Atomic int64_t frozen_us;
static _Atomic bool frozen_sync_set;
static struct clock_sync frozen_sync;

static void offset_init(void)
{
#ifdef KURA_TEST_HOOKS
	const char *s = getenv("KURA_TEST_CLOCK_OFFSET_S");
	int64_t v;

	if (s && safe_atoi64(s, &v) == 0)
		offset_us = v * 1000000;
#endif
}

int64_t clock_now_us(void)
{
	struct timespec ts;

	int64_t frozen = frozen_us;

	if (frozen)
		return frozen;
	pthread_once(&offset_once, offset_init);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + offset_us;
}

/*
 * UTC formatting without gmtime_r/strftime: glibc takes a process-wide lock in both (the
 * time zone state), and a WebDAV listing formats two dates per entry. Days since the epoch
 * become a civil date by Howard Hinnant's algorithm (proleptic Gregorian, exact for every
 * int64 day count we can meet); digits are written directly.
 */
struct utc_tm {
	int64_t year;
	unsigned mon, day, hour, min, sec, wday, usec;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void utc_split(int64_t us, struct utc_tm *t)
{
	int64_t s = floor_div(us, 1000000), days = floor_div(s, 86400), rem = s - days * 86400;
	int64_t z = days + 719468, era = floor_div(z, 146097);
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	t->usec = (unsigned)(us - s * 1000000);
	t->day = doy - (153 * mp + 2) / 5 + 1;
	t->mon = mp < 10 ? mp + 3 : mp - 9;
	t->year = (int64_t)yoe + era * 400 + (t->mon <= 2);
	t->hour = (unsigned)(rem / 3600);
	t->min = (unsigned)(rem / 60 % 60);
	t->sec = (unsigned)(rem % 60);
	t->wday = (unsigned)((days % 7 + 11) % 7);   /* 1970-01-01 was a Thursday (4) */
}

static char *put_digits(char *p, unsigned v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

int clock_format_utc(int64_t us, char *buf, size_t size)
{
	struct utc_tm t;
	char *p = buf;

	utc_split(us, &t);
	if (t.year < 0 || t.year > 9999)
		return -EINVAL;
	if (size < sizeof("2026-11-22T02:33:19.123456Z"))
		return -E2BIG;
	p = put_digits(p, (unsigned)t.year, 4);
	*p++ = '-';
	p = put_digits(p, t.mon, 2);
	*p++ = '-';
	p = put_digits(p, t.day, 2);
	*p++ = 'T';
	p = put_digits(p, t.hour, 2);
	*p++ = ':';
	p = put_digits(p, t.min, 2);
	*p++ = ':';
	p = put_digits(p, t.sec, 2);
	*p++ = '.';
	p = put_digits(p, t.usec, 6);
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

int clock_format_http(int64_t us, char *buf, size_t size)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct utc_tm t;
	char *p = buf;

	utc_split(us, &t);
	if (t.year < 0 || t.year > 9999)
		return -EINVAL;
	if (size < sizeof("Sun, 06 Nov 1994 08:49:37 GMT"))
		return -E2BIG;
	memcpy(p, days + 3 * t.wday, 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = put_digits(p, t.day, 2);
	*p++ = ' ';
	memcpy(p, months + 3 * (t.mon - 1), 3);
	p += 3;
	*p++ = ' ';
	p = put_digits(p, (unsigned)t.year, 4);
	*p++ = ' ';
	p = put_digits(p, t.hour, 2);
	*p++ = ':';
	p = put_digits(p, t.min, 2);
	*p++ = ':';
	p = put_digits(p, t.sec, 2);
	memcpy(p, " GMT", 5);
	return 0;
}

/*
 * tzset/localtime_r/mktime use the process-wide TZ, so conversions are serialized, and each
 * sets TZ to its zone and back. Never by adding or removing TZ: setenv of a variable the
 * environment lacks grows (reallocates) the environment's array, and unsetenv shifts it,
 * under any other thread's getenv (libpq's PQconnectdb reads PGHOST and others, libcurl its
 * proxy variables): a worker thread opening its database connection crashed in getenv
 * while a tenant's date was converted. clock_init() therefore makes TZ present once, before
 * any thread starts (TZ=":/etc/localtime" means what an unset TZ means in glibc), and a
 * conversion only replaces its value, which glibc does in place, keeping every value it
 * handed out.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t tz_once = PTHREAD_ONCE_INIT;

#define TZ_UNSET_MEANING ":/etc/localtime"

static void tz_present(void)
{
	if (!getenv("TZ"))
		(void)setenv("TZ", TZ_UNSET_MEANING, 0);
}

void clock_init(void)
{
	pthread_once(&tz_once, tz_present);
}

/* Under tz_lock: TZ set to zone; the previous value (to give to tz_restore), or NULL. */
static char *tz_switch(const char *zone)
{
	const char *old;
	char *saved;

	clock_init();   /* main() ran it before any thread; a test or a library user may not have */
	old = getenv("TZ");
	saved = strdup(old ? old : TZ_UNSET_MEANING);
	setenv("TZ", zone, 1);
	tzset();
	return saved;
}

static void tz_restore(char *saved)
{
	setenv("TZ", saved ? saved : TZ_UNSET_MEANING, 1);
	tzset();
	free(saved);
}

int clock_format_zone(int64_t us, const char *zone, char *buf, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	char *saved;
	struct tm tm;
	char base[32];
	long off;
	int r = 0;

	pthread_mutex_lock(&tz_lock);
	saved = tz_switch(zone);
	if (!localtime_r(&t, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
		r = -EINVAL;
	tz_restore(saved);
	pthread_mutex_unlock(&tz_lock);
	if (r < 0)
		return r;
	off = tm.tm_gmtoff / 60;
	return str_printf(buf, size, "%s%c%02ld:%02ld", base, off < 0 ? '-' : '+',
			  labs(off) / 60, labs(off) % 60);
}

static bool digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int clock_parse_rfc3339(const char *str, int64_t *ret_us)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	int64_t frac = 0, off = 0;
	const char *p;
	struct tm tm = { 0 };
	time_t t;

	if (!str || strlen(str) > 40 || !digits(str, 4, &y) || str[4] != '-' || !digits(str + 5, 2, &mo) ||
	    str[7] != '-' || !digits(str + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -EINVAL;
	p = str + 10;
	if (*p) {
		if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2, &h) || p[3] != ':' ||
		    !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &sec) || h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		p += 9;
		if (*p == '.') {
			int n = 0;

			for (p++; *p >= '0' && *p <= '9'; p++, n++)
				if (n < 6)
					frac = frac * 10 + (*p - '0');
			if (n == 0)
				return -EINVAL;
			for (; n < 6; n++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
				return -EINVAL;
			off = (oh * 3600LL + om * 60) * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -EINVAL;
		}
		if (*p)
			return -EINVAL;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 && y != 1969)
		return -EINVAL;
	*ret_us = ((int64_t)t - off) * 1000000 + frac;
	return 0;
}

int clock_sync_state(struct clock_sync *ret)
{
	struct timex tx = { 0 };
	int state;

	if (frozen_sync_set) {
		*ret = frozen_sync;
		return 0;
	}
	state = adjtimex(&tx);
	if (state < 0)
		return -errno;
	ret->synchronized = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	ret->est_error_us = tx.esterror;
	ret->max_error_us = tx.maxerror;
	ret->offset_us = (tx.status & STA_NANO) ? tx.offset / 1000 : tx.offset;
	return 0;
}

void clock_test_freeze(int64_t now_us, const struct clock_sync *sync)
{
	frozen_sync_set = false;
	if (sync)
		frozen_sync = *sync;
	frozen_sync_set = sync != NULL;
	frozen_us = now_us;
}

/* ---- whole days in a zone (the end of a contract, B3) ---- */

int clock_day_start(const char *date, int64_t add_days, const char *zone, int64_t *ret_us)
{
	int64_t day_us;
	struct tm tm = { 0 };
	char *saved;
	time_t t;
	int r = 0;

	/* a plain date only: its UTC midnight, then whole days on, then the same wall-clock
	 * midnight in zone (mktime under the zone's rules, so a DST change is honoured) */
	if (!date || strlen(date) != 10 || clock_parse_rfc3339(date, &day_us) < 0 || !zone || !*zone)
		return -EINVAL;
	if (add_days < -CLOCK_DAYS_MAX || add_days > CLOCK_DAYS_MAX)
		return -ERANGE;
	t = (time_t)(day_us / 1000000 + add_days * 86400);
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	tm.tm_isdst = -1;
	pthread_mutex_lock(&tz_lock);
	saved = tz_switch(zone);
	t = mktime(&tm);
	if (t == (time_t)-1)
		r = -EINVAL;
	tz_restore(saved);
	pthread_mutex_unlock(&tz_lock);
	if (r == 0)
		*ret_us = (int64_t)t * 1000000;
	return r;
}

int clock_zone_date(int64_t us, const char *zone, char ret[11])
{
	char buf[CLOCK_RFC3339_LEN];
	int r = clock_format_zone(us, zone, buf, sizeof(buf));

	if (r < 0)
		return r;
	memcpy(ret, buf, 10);
	ret[10] = '\0';
	return 0;
}
