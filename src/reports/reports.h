/*
 * Event reports and notices (issue 9; G2, G3, W4; docs/reports.md).
 *
 * Reports: a tenant's manager files a report (category, title, description) or a request
 * for the provider-side records of a time range; both sides write in its thread; each
 * message is mailed to the other side (the operators' [provider] reports_mail address, or
 * the tenant's active managers). Attachments are sealed like file content in the tenant's
 * blob store. The operator answers a records request with a signed export of the
 * provider's audit chain (its records naming the tenant, in the range), kept with the
 * report for the tenant to download and verify offline (kura audit verify).
 *
 * Notices: a tenant's managers post notices to all its users or a list of accounts; each
 * account's first reading is recorded (who, when) and listed for the managers.
 *
 * Tenancy: every function takes the tenant id and every query names it, so another
 * tenant's ids are -ENOENT. The operator's functions take tenant 0 to mean "any tenant"
 * (reports_list, reports_find_tenant) and act in the report's own tenant after that.
 * Every change runs in one transaction with its audit record and its mail.
 * Errors: -EINVAL bad value, -ENOENT not found, -EPERM closed report or wrong kind,
 * -E2BIG over a named bound (limits.h), -EDQUOT too many open reports.
 */
#ifndef KURA_REPORTS_REPORTS_H
#define KURA_REPORTS_REPORTS_H
#include <jansson.h>

#include "core/core.h"

struct db;
struct actor;
struct files;
struct tenant;
struct config;

/* serve start-up: [server] public_url for the portal links in mails. */
void reports_configure(const struct config *cfg);

enum report_side { REPORT_SIDE_TENANT, REPORT_SIDE_PROVIDER };

/* The fixed categories, NULL-terminated: security-incident, failure, question, request, other. */
extern const char *const report_categories[];

/* True when text is clean UTF-8 of 1..max code points where only LF and tab are control
 * characters (CR is refused: send LF). single_line: no LF either. */
bool report_text_valid(const char *text, size_t max, bool single_line);

struct report_new {
	const char *kind;          /* "report" | "records-request" */
	const char *category;      /* one of report_categories ("other" for a records request) */
	const char *title;
	const char *description;
	int64_t from_us, to_us;    /* records-request: the range (inclusive) */
};

/* Files a report for tenant t as who (an account); mails the operators at provider_to
 * (NULL or "": nobody, the operator sees it in kura admin report list). -EAGAIN: who opened
 * KURA_RATE_REPORTS within KURA_RATE_REPORTS_S (tenant/rate.h RATE_REPORT). */
int reports_create(struct db *db, const struct actor *who, const struct tenant *t, const struct report_new *n,
		   const char *provider_to, int64_t *ret_id) KURA_WUR;
/* A message in the thread; side tenant mails provider_to, side provider the managers.
 * -EAGAIN: the tenant's account wrote KURA_RATE_REPORT_MESSAGES within
 * KURA_RATE_REPORT_MESSAGES_S (RATE_REPORT_MESSAGE). */
int reports_message(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
		    enum report_side side, const char *body, const char *provider_to,
		    const char *public_url) KURA_WUR;
/* Seals data as an attachment of report id (at most KURA_REPORT_ATTACHMENTS_MAX). */
int reports_attach(struct db *db, struct files *f, const struct actor *who, int64_t tenant_id, int64_t id,
		   enum report_side side, const char *name, const char *content_type, const void *data,
		   size_t n, int64_t *ret_id) KURA_WUR;
int reports_close(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
		  enum report_side side, const char *public_url) KURA_WUR;
/* The operator's answer to a records request: exports the provider chain's records whose
 * target is tenant:CODE in the request's range (JSONL, signed; the other records of the run
 * as "omitted" lines without content), keeps it with the report, and tells the managers. */
int reports_answer_records(struct db *db, const struct actor *who, const struct tenant *t, int64_t id,
			   const char *public_url, int64_t *ret_export_id) KURA_WUR;

/* tenant_id 0: every tenant's (the operator's list, with the tenant code). */
int reports_list(struct db *db, int64_t tenant_id, bool open_only, json_t **ret) KURA_WUR;
/* One report with its messages, attachments (meta only) and exports (meta only). */
int reports_get(struct db *db, int64_t tenant_id, int64_t id, json_t **ret) KURA_WUR;
/* An operator's reading of a report's thread (kura admin report show), recorded in the
 * tenant's chain and in the provider's (report.show) before it is shown. */
int reports_record_read(struct db *db, const struct actor *op, const struct tenant *t, int64_t id) KURA_WUR;
/* The tenant of report id (for the operator's commands). */
int reports_find_tenant(struct db *db, int64_t id, int64_t *ret_tenant_id) KURA_WUR;

struct files_reader;
struct report_attachment {
	int64_t id, size;
	char name[256];
	char content_type[128];
};
int reports_attachment_open(struct db *db, struct files *f, int64_t tenant_id, int64_t report_id, int64_t id,
			    struct report_attachment *ret_meta, struct files_reader **ret) KURA_WUR;
/* The signed export: malloc'd bytes into *ret (the caller frees). */
int reports_export_get(struct db *db, int64_t tenant_id, int64_t report_id, int64_t id, void **ret,
		       size_t *ret_n) KURA_WUR;

/* ---- notices (notices.c) ---- */
/* logins: NULL or empty for all users of the tenant; else at most KURA_NOTICE_TARGETS_MAX
 * logins of its accounts (-ENOENT naming the first unknown one in *ret_unknown). */
int notices_create(struct db *db, const struct actor *who, int64_t tenant_id, const char *title, const char *body,
		   const char *const *logins, size_t n_logins, int64_t *ret_id, const char **ret_unknown) KURA_WUR;
/* The caller's notices, newest first, each with "read" and "read_at". */
int notices_for_account(struct db *db, int64_t tenant_id, int64_t account_id, json_t **ret) KURA_WUR;
/* The managers' list: every notice with its target, count of targets and readers. */
int notices_posted(struct db *db, int64_t tenant_id, json_t **ret) KURA_WUR;
/* Records the first reading of notice id by the account (later readings change nothing);
 * -ENOENT when the notice is not addressed to it. *ret_first: this was the first. */
int notices_read(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id, const char *login,
		 int64_t id, bool *ret_first) KURA_WUR;
/* Who read notice id and when, oldest first: [{"login", "read_at"}]. */
int notices_reads(struct db *db, int64_t tenant_id, int64_t id, json_t **ret) KURA_WUR;
#endif
