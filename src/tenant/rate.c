/*
 * Rate limits counted in the database (tenant/rate.h). SECURITY: the count and the insert
 * run in the caller's transaction under the tenant's lock, so parallel requests, on one node
 * or several, cannot each see room; the statements are the portable subset (store/db.h).
 */
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "store/db.h"
#include "tenant/rate.h"

static const struct {
	const char *name;
	int64_t max, window_s;
} kinds[] = {
	[RATE_CONTACT_MAIL] = { "contact.mail", KURA_RATE_CONTACT_MAILS, KURA_RATE_CONTACT_MAILS_S },
	[RATE_CONTACT_ADDRESS] = { "contact.address", KURA_RATE_CONTACT_ADDRESS, KURA_RATE_CONTACT_ADDRESS_S },
	[RATE_REPORT] = { "report.create", KURA_RATE_REPORTS, KURA_RATE_REPORTS_S },
	[RATE_REPORT_MESSAGE] = { "report.message", KURA_RATE_REPORT_MESSAGES, KURA_RATE_REPORT_MESSAGES_S },
	[RATE_ACCESS_REQUEST] = { "access.request", KURA_RATE_ACCESS_REQUESTS, KURA_RATE_ACCESS_REQUESTS_S },
	[RATE_COMPLIANCE] = { "compliance.read", KURA_RATE_COMPLIANCE, KURA_RATE_COMPLIANCE_S },
};

void rate_subject_account(char buf[RATE_SUBJECT_MAX], int64_t account_id)
{
	str_printf(buf, RATE_SUBJECT_MAX, "account:%lld", (long long)account_id);
}

void rate_subject_address(char buf[RATE_SUBJECT_MAX], const char *email)
{
	size_t i = strlen("address:");

	str_printf(buf, RATE_SUBJECT_MAX, "address:%s", email ? email : "");
	for (; buf[i]; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
}

/* The number of events in the window and the oldest one's time. */
static int count(struct db *db, int64_t tenant_id, enum rate_kind k, const char *subject, int64_t since,
		 int64_t *ret_n, int64_t *ret_oldest)
{
	struct db_stmt *st = db_query(db, "SELECT count(*), min(at_us) FROM rate_events WHERE tenant_id = $1"
					  " AND kind = $2 AND subject = $3 AND at_us > $4",
				      "itti", tenant_id, kinds[k].name, subject, since);
	int r = st ? db_step(st) : -EIO;

	if (r > 0) {
		*ret_n = db_int(st, 0);
		*ret_oldest = db_is_null(st, 1) ? 0 : db_int(st, 1);
	}
	db_done(st);
	return r > 0 ? 0 : r == 0 ? -EIO : r;
}

int rate_take(struct db *db, int64_t tenant_id, enum rate_kind k, const char *subject)
{
	int64_t now = clock_now_us(), since, n = 0, oldest = 0;
	int r;

	if (!db || (size_t)k >= ARRAY_SIZE(kinds) || !subject || !db_in_transaction(db))
		return -EINVAL;
	since = now - kinds[k].window_s * 1000000;
	r = db_exec(db, "DELETE FROM rate_events WHERE tenant_id = $1 AND kind = $2 AND subject = $3 AND at_us <= $4",
		    "itti", tenant_id, kinds[k].name, subject, since);
	if (r == 0)
		r = count(db, tenant_id, k, subject, since, &n, &oldest);
	if (r == 0 && n >= kinds[k].max)
		r = -EAGAIN;
	if (r == 0)
		r = db_exec(db, "INSERT INTO rate_events (tenant_id, kind, subject, at_us) VALUES ($1, $2, $3, $4)",
			    "itti", tenant_id, kinds[k].name, subject, now);
	return r;
}

int rate_retry_after(struct db *db, int64_t tenant_id, enum rate_kind k, const char *subject, int64_t *ret_s)
{
	int64_t now = clock_now_us(), since, n = 0, oldest = 0, us;
	int r;

	*ret_s = 0;
	if (!db || (size_t)k >= ARRAY_SIZE(kinds) || !subject)
		return -EINVAL;
	since = now - kinds[k].window_s * 1000000;
	r = count(db, tenant_id, k, subject, since, &n, &oldest);
	if (r < 0 || n < kinds[k].max)
		return r;
	/* room again when the oldest counted event leaves the window */
	us = oldest + kinds[k].window_s * 1000000 - now;
	*ret_s = us <= 0 ? 1 : (us + 999999) / 1000000;
	return 0;
}
