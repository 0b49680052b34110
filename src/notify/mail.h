/*
 * Mail templates (mail/<name>.ja.txt and mail/<name>.en.txt, embedded at build time by
 * cmake/embed_mail.cmake): the one place where a kura mail gets its subject and body.
 *
 * A caller names a template and gives its values by name; mail_render() fills both
 * languages and joins them, Japanese first:
 *   subject  "[kura] <ja subject> / <en subject>"
 *   body     "<ja body>\n----\n<en body>"
 * Placeholders are {{name}} (text or time) and sections {{#flag}}...{{/flag}} (kept when
 * the flag is true) and {{^flag}}...{{/flag}} (kept when false); a section tag alone on
 * its line takes the line with it. Times are written in the mail's zone (the tenant's,
 * default Asia/Tokyo) as 2026-11-22T11:33:19+09:00. mail/placeholders.txt lists every
 * name and its kind; a template using another name does not build.
 *
 * SECURITY: rendering is strict so that no mail goes out half-filled: a placeholder
 * without a value, a value the template does not use, a value of the wrong kind or given
 * twice, and an unknown template are errors (-EINVAL, -ENOENT), never an empty hole. A
 * subject value must be one line of clean UTF-8 (no CR, LF or other controls: no header
 * injection); a body value clean UTF-8 lines (LF, no CR). Values are bounded by
 * KURA_MAIL_VALUE_MAX, the results by KURA_MAIL_SUBJECT_MAX and KURA_MAIL_BODY_MAX
 * (-E2BIG). Bodies hold working links: mail_render() output is wiped by mail_rendered_free,
 * and the outbox seals it (docs/security.md "Mail bodies").
 */
#ifndef KURA_NOTIFY_MAIL_H
#define KURA_NOTIFY_MAIL_H
#include "core/core.h"

struct db;

#define MAIL_DEFAULT_ZONE "Asia/Tokyo"

enum mail_var_kind { MAIL_VAR_TEXT, MAIL_VAR_TIME, MAIL_VAR_FLAG };

/* One named value; build with MAIL_TEXT, MAIL_TIME, MAIL_FLAG. Borrowed, not copied. */
struct mail_var {
	const char *name;
	enum mail_var_kind kind;
	const char *text;      /* MAIL_VAR_TEXT */
	int64_t time_us;       /* MAIL_VAR_TIME: UTC µs */
	bool flag;             /* MAIL_VAR_FLAG */
};
#define MAIL_TEXT(n, v) { .name = (n), .kind = MAIL_VAR_TEXT, .text = (v) }
#define MAIL_TIME(n, us) { .name = (n), .kind = MAIL_VAR_TIME, .time_us = (us) }
#define MAIL_FLAG(n, b) { .name = (n), .kind = MAIL_VAR_FLAG, .flag = (b) }

/* What to render: the template's name ("invitation" = mail/invitation.{ja,en}.txt), the
 * zone for times (an IANA name; NULL = MAIL_DEFAULT_ZONE) and the values. All borrowed. */
struct mail {
	const char *name;
	const char *zone;
	const struct mail_var *vars;
	size_t n_vars;
};

struct mail_rendered {
	char *subject;
	char *body;
};

/* Fills ret (both strings malloc'd; free with mail_rendered_free). On failure ret is left
 * untouched and the reason is logged ("mail.template"). */
int mail_render(const struct mail *m, struct mail_rendered *ret) KURA_WUR;
/* Wipes and frees both strings; safe on a zeroed struct. */
void mail_rendered_free(struct mail_rendered *r);

/* Renders m and queues it to one address with outbox_enqueue() (tenant_id 0 = provider
 * mail), with the caller's db handle: inside the caller's transaction when there is one. */
int mail_queue(struct db *db, int64_t tenant_id, const char *to, const struct mail *m,
	       int64_t *ret_id) KURA_WUR;

/* Inside the caller's transaction (-EINVAL outside one): renders m once and queues it to
 * every active manager of the tenant, each distinct address once, in address order, at
 * most KURA_MAIL_MANAGERS_MAX, leaving out `except` (may be NULL; e.g. the address the
 * caller already mailed). Addresses that mail_address_valid() refuses are skipped. The
 * number queued into *ret_n (may be NULL). */
int notify_managers(struct db *db, int64_t tenant_id, const char *except, const struct mail *m,
		    size_t *ret_n) KURA_WUR;
#endif
