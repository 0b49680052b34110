/*
 * audit_record(): the one call every decision and change goes through (F4, F5).
 *
 * Foundation version: one row in audit_events, written with the caller's db handle so it
 * commits or rolls back with the change it records. Bounded: target and details are
 * limited (KURA_AUDIT_*), user agents truncated, so a client cannot grow the log row.
 * The tamper-evident log (hash chain, checkpoints) will replace the insert below.
 */
#include <stdlib.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/db.h"

const struct actor actor_system = { ACTOR_SYSTEM, 0, 0, "system", "", "" };

const char *audit_category_name(enum audit_category c)
{
	static const char *const names[] = { "authentication", "operation", "access",
					     "delivery", "administration", "operator" };
	return (unsigned)c < ARRAY_SIZE(names) ? names[c] : "unknown";
}

const char *audit_result_name(enum audit_result r)
{
	static const char *const names[] = { "success", "failure", "denied" };
	return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "unknown";
}

const char *actor_type_name(enum actor_type t)
{
	static const char *const names[] = { "anonymous", "account", "operator", "system" };
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}

/* Cuts s to at most max bytes on a UTF-8 boundary, into buf. */
static const char *bounded(const char *s, char *buf, size_t max)
{
	size_t n;

	if (!s)
		return "";
	n = strlen(s);
	if (n <= max)
		return s;
	while (n > max || (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80))
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

int audit_record(struct db *db, const struct audit_event *ev)
{
	const struct actor *a = ev->actor ? ev->actor : &actor_system;
	char ua[KURA_MAX_USER_AGENT + 1], target[KURA_AUDIT_TARGET_MAX + 1];
	char *details = NULL;
	int r;

	if (ev->details) {
		details = json_dumps(ev->details, JSON_COMPACT | JSON_SORT_KEYS);
		if (!details)
			return -ENOMEM;
		if (strlen(details) > KURA_AUDIT_DETAILS_MAX) {
			free(details);
			details = strdup("{\"truncated\":true}");
			if (!details)
				return -ENOMEM;
		}
	}
	r = db_exec(db,
		    "INSERT INTO audit_events (tenant_id, time_us, actor_type, actor, source_ip,"
		    " user_agent, category, action, target, result, details)"
		    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		    "Iittttttttt", ev->tenant_id, clock_now_us(), actor_type_name(a->type),
		    a->name ? a->name : "", a->source_ip ? a->source_ip : "",
		    bounded(a->user_agent, ua, KURA_MAX_USER_AGENT), audit_category_name(ev->category),
		    ev->action, bounded(ev->target, target, KURA_AUDIT_TARGET_MAX),
		    audit_result_name(ev->result), details ? details : "{}");
	if (r < 0)
		log_error("audit.write", "cannot record %s: %d", ev->action, r);
	free(details);
	return r;
}
