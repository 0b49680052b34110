/*
 * Provider and tenant talk (issue 9): contacts (contacts.c), announcements (announce.c),
 * incidents (incident.c) and the safe Markdown subset of their bodies (markdown.c).
 * docs/announcements.md describes both sides.
 *
 * SECURITY: every tenant-side call takes the tenant id and looks rows up by (tenant, id), so
 * another tenant's ids are -ENOENT. A tenant sees an announcement only once it was delivered
 * to it (a row of announcement_tenants) and an incident only when it is among the affected
 * tenants. The public status calls (incident_public_json) name services, never tenants.
 * Bodies are Markdown source kept as text; what a browser gets is the structure of
 * markdown_parse (text runs, emphasis, http(s) links), never markup (F1, G1).
 */
#ifndef KURA_NOTICE_NOTICE_H
#define KURA_NOTICE_NOTICE_H
#include <jansson.h>

#include "core/core.h"

struct actor;
struct db;
struct dbuf;
struct mail;

/* The public base URL for links in mails (kura serve, at start). */
void notice_configure(const char *public_url);
/* [server] public_url without a trailing slash. */
const char *notice_public_url(void);

/* ---- markdown.c: paragraphs, "- "/"* "/"1. " lists, *em*, _em_, **strong**, `code`,
 * [text](http(s)://…) and \-escapes; anything else is text. */
/* [{"type": "p", "inline": [...]}, {"type": "ul"|"ol", "items": [[...], ...]}], each inline
 * {"text": T} with "em", "strong" or "code": true, or {"text": T, "href": URL}. NULL when
 * out of memory. At most KURA_MARKDOWN_BLOCKS_MAX blocks and items; the rest joins the last. */
json_t *markdown_parse(const char *src);
/* The same as plain text for a mail: links as "text <URL>", markers dropped. malloc'd. */
char *markdown_plain(const char *src);
/* True when a body is acceptable: at most KURA_ANNOUNCE_BODY_MAX bytes of UTF-8 lines
 * (LF; tab allowed; no other control character). */
bool markdown_source_valid(const char *src);

/* ---- contacts.c ---- */
bool contact_role_valid(const char *role);
/* The tenant's contacts, oldest first (id, name, email, role, confirmed, confirmed_at,
 * created_at). */
int contact_list(struct db *db, int64_t tenant_id, json_t **ret) KURA_WUR;
/* Registers a contact and mails its confirmation link, in one transaction with its audit
 * record (contact.create). -EEXIST: the address has that role already; -E2BIG: the tenant
 * has KURA_CONTACTS_MAX; -EAGAIN: the tenant sent KURA_RATE_CONTACT_MAILS confirmation mails
 * within KURA_RATE_CONTACT_MAILS_S, or KURA_RATE_CONTACT_ADDRESS to this address within
 * KURA_RATE_CONTACT_ADDRESS_S (contact_retry_after); -EINVAL: a bad name, address or role. */
/* After -EAGAIN: the seconds until contact_create may mail email again, and which limit. */
int contact_retry_after(struct db *db, int64_t tenant_id, const char *email, int64_t *ret_s, int64_t *ret_limit,
			int64_t *ret_window_s) KURA_WUR;
int contact_create(struct db *db, const struct actor *who, int64_t tenant_id, const char *name,
		   const char *email, const char *role, json_t **ret) KURA_WUR;
int contact_delete(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id) KURA_WUR;
/* Uses a confirmation token once (before its expiry): -ENOENT when unknown, used or expired.
 * *ret_email gets the address (may be NULL). */
int contact_confirm(struct db *db, const struct actor *who, const char *token, char *ret_email,
		    size_t email_size) KURA_WUR;
/* Inside the caller's transaction: queues m to the tenant's confirmed contacts (each
 * address once); *ret_n the number queued. */
int contact_notify(struct db *db, int64_t tenant_id, const struct mail *m, size_t *ret_n) KURA_WUR;

/* ---- announce.c ---- */
struct announce_input {
	const char *kind;            /* change, maintenance, incident */
	const char *target;          /* all | SVC[,SVC…] | tenant:CODE[,CODE…] */
	const char *title_ja, *title_en, *body_ja, *body_en;
	int64_t from_us, until_us;   /* the window (0: none) */
	int64_t publish_us;          /* 0: now */
};
/* Checks an input (an edit passes NULL for what stays): 0, or -EINVAL with the reason. */
int announce_check(const struct announce_input *in, bool edit, char *err, size_t err_size);
/* Creates it (announcement.create in the provider's log) and, when due, delivers it. */
int announce_create(struct db *db, const struct actor *op, const struct announce_input *in,
		    int64_t *ret_id) KURA_WUR;
/* A new version with what in sets (NULL / 0 keeps); delivered again when published. */
int announce_edit(struct db *db, const struct actor *op, int64_t id, const struct announce_input *in) KURA_WUR;
int announce_withdraw(struct db *db, const struct actor *op, int64_t id) KURA_WUR;
/* Delivers every announcement (or version) that is due and not delivered yet, each target
 * tenant in its own transaction; the background loop's task. Mails queued, or <0. */
int announce_deliver_due(struct db *db) KURA_WUR;
json_t *announce_list_json(struct db *db);
/* One announcement, its versions and the delivery and reading per tenant; NULL: none. */
json_t *announce_show_json(struct db *db, int64_t id);
/* The tenant's announcements for an account, newest first, ids below before (0: from the
 * newest), at most limit; each with "unread" (this account has not read its version). */
int announce_tenant_list(struct db *db, int64_t tenant_id, int64_t account_id, int64_t before,
			 int64_t limit, json_t **ret_items, bool *ret_more, int64_t *ret_unread) KURA_WUR;
/* Records the account's first reading of the current version (table and tenant audit,
 * announcement.read); a later reading changes nothing. -ENOENT when the tenant has no such
 * announcement. *ret_first true when this was the first. */
int announce_read(struct db *db, const struct actor *who, int64_t tenant_id, int64_t account_id,
		  int64_t id, bool *ret_first) KURA_WUR;

/* ---- incident.c ---- */
bool incident_status_valid(const char *status);
bool incident_severity_valid(const char *severity);
struct incident_input {
	const char *title_ja, *title_en, *severity;
	const char *const *services;   /* affected service codes */
	size_t n_services;
	const char *const *tenants;    /* affected tenant codes; none: every tenant of the services */
	size_t n_tenants;
	const char *status;            /* of this update */
	const char *body_ja, *body_en;
};
/* Creates it with its first update and delivers that update. -ENOENT for an unknown tenant
 * code (named in err). */
int incident_create(struct db *db, const struct actor *op, const struct incident_input *in,
		    int64_t *ret_id, char *err, size_t err_size) KURA_WUR;
/* One timeline entry (status, bodies) and its delivery; -EPERM once resolved. */
int incident_update(struct db *db, const struct actor *op, int64_t id, const char *status,
		    const char *body_ja, const char *body_en) KURA_WUR;
json_t *incident_list_json(struct db *db);
json_t *incident_show_json(struct db *db, int64_t id);
/* The public status: {"components": [{service, status}], "incidents": [... timeline, no tenants]}. */
json_t *incident_public_json(struct db *db);
/* The incidents affecting the tenant, newest first, each with its whole timeline. */
json_t *incident_tenant_json(struct db *db, int64_t tenant_id);
#endif
