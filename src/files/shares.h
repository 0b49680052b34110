/*
 * Share links (W3, W5, F4, B2, D1): a user shares a file or folder through a link mailed to
 * recipients (download link), or asks outsiders to upload into a folder (upload-request
 * link). Each link has a 256-bit token (stored hashed), an optional Argon2id password, an
 * expiry within the tenant's policy, an optional download limit, recipients whose mails go
 * through the outbox (their delivery state is read back by outbox row id), labels, and
 * an optional first-download notice to the sharer. docs/shares.md has the whole design.
 *
 * Tenancy: the owner side takes the tenant id in every call. The public side starts from a
 * token: shares_resolve() finds the share and from then on every query uses the share's
 * tenant, and every node reached through a link is checked to lie inside the shared subtree.
 * Changes run in one transaction with their audit record (and their mails). Every access
 * through a link is an `access` audit record in the share's tenant log.
 *
 * Errors: -EINVAL bad input, -ENOENT not found, -ESTALE the link is gone (expired,
 * revoked, download limit reached, or its item deleted), -EACCES wrong password,
 * -EAGAIN link locked after too many wrong passwords, -E2BIG over a count limit.
 */
#ifndef KURA_FILES_SHARES_H
#define KURA_FILES_SHARES_H
#include <jansson.h>

#include "audit/audit.h"
#include "core/core.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "files/files.h"

struct db;
struct actor;

/* ---- tenant policy (expiry default and maximum, seconds) ---- */
struct share_policy {
	int64_t default_expiry_s, max_expiry_s;
};
int shares_policy_get(struct db *db, int64_t tenant_id, struct share_policy *ret) KURA_WUR;
/* 1 <= default <= max <= KURA_SHARE_EXPIRY_CEILING_S, else -EINVAL. Audited. */
int shares_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
		      const struct share_policy *p) KURA_WUR;

/* ---- owner side ---- */
enum share_kind { SHARE_DOWNLOAD, SHARE_UPLOAD };

enum share_gone {
	SHARE_LIVE = 0,
	SHARE_EXPIRED,
	SHARE_REVOKED,
	SHARE_EXHAUSTED,      /* the download limit is reached */
	SHARE_TARGET_GONE,    /* the shared item is in the trash or purged */
};

struct share {
	int64_t id, tenant_id;
	enum share_kind kind;
	int64_t node_id;               /* 0 when the item was purged */
	int64_t created_by;            /* account id, 0 when the account is gone */
	char created_by_name[KURA_LOGIN_MAX + 1];
	bool has_password, notify_on_download;
	int64_t expires_us, max_downloads /* 0 = none */, downloads, uploads;
	int64_t created_us, revoked_us, locked_until_us;
};

struct share_new {
	enum share_kind kind;
	int64_t node_id;
	const char *password;              /* NULL: none */
	int64_t expires_in_s;              /* 0: the tenant default */
	int64_t max_downloads;             /* 0: no limit (download links only) */
	bool notify_on_download;
	const char *const *recipients;     /* n_recipients addresses */
	size_t n_recipients;
	const char *public_url;            /* base of the mailed link, no trailing '/' */
	const char *sharer_login;          /* the password may not equal it */
};

/* Creates the link, mails the recipients through the outbox and records "share.create",
 * in one transaction. ret_token (TOKEN_STR_LEN + 1) gets the only copy of the token.
 * -EINVAL (with *ret_field naming the member) for bad input; ret_problem for a password
 * refused by the policy. Call mailer_wake() after it returned 0 with recipients. */
int shares_create(struct db *db, const struct actor *who, int64_t tenant_id,
		  const struct share_new *in, int64_t *ret_id, char *ret_token,
		  const char **ret_field, enum password_problem *ret_problem) KURA_WUR;
int shares_get(struct db *db, int64_t tenant_id, int64_t id, struct share *ret) KURA_WUR;
/* The share as JSON; with_recipients adds recipients with their mail states (W5). */
json_t *shares_json(struct db *db, const struct share *s, bool with_recipients);
/* Links of the tenant (created_by 0 = every account's), newest first, at most limit,
 * before id `before` (0 = from the newest), only those carrying label when not NULL. */
int shares_list(struct db *db, int64_t tenant_id, int64_t created_by, const char *label,
		int64_t before, size_t limit, json_t **ret_items, bool *ret_more) KURA_WUR;
/* The link's access log (W3, F4): its `access` audit records (view, unlock, download,
 * upload, refusals with their reason), oldest first, with seq > after_seq, at most limit.
 * *ret_next_after is the seq to continue after, 0 at the end. */
int shares_access_list(struct db *db, const struct share *s, int64_t after_seq, size_t limit,
		       json_t **ret_items, int64_t *ret_next_after) KURA_WUR;
/* Revokes (idempotent on an already revoked link: 0) and ends its link sessions. */
int shares_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id) KURA_WUR;
int shares_label_add(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		     const char *label) KURA_WUR;
int shares_label_remove(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
			const char *label) KURA_WUR;

/* ---- public side (a token, no account) ---- */
/* The share of a token: 0 with *ret; -ENOENT for an unknown or malformed token. *ret_gone
 * tells why a known link no longer works (SHARE_LIVE when it does). */
int shares_resolve(struct db *db, const char *token, struct share *ret,
		   enum share_gone *ret_gone) KURA_WUR;
const char *shares_gone_name(enum share_gone g);
/* True when the link needs no password, or cookie is a live session of this link. */
bool shares_session_ok(struct db *db, const struct share *s, const char *cookie);
/* Checks the password against the link, with per-link throttling; on success a new link
 * session token in ret_session (TOKEN_STR_LEN + 1) and *ret_expires_us. Records the
 * result. -EACCES wrong (*ret_remaining, when not NULL: the attempts left in the window
 * before the link locks; 0 when this one locked it), -EAGAIN locked (also
 * *ret_locked_until_us). */
int shares_unlock(struct db *db, const struct actor *who, const struct share *s,
		  const char *password, char *ret_session, int64_t *ret_expires_us,
		  int64_t *ret_locked_until_us, int *ret_remaining) KURA_WUR;
/* A node reachable through the link: the shared item itself or (folder links) a live node
 * below it. -ENOENT otherwise. */
int shares_node(struct db *db, const struct share *s, int64_t node_id, struct file_node *ret) KURA_WUR;
/* The same check of a live node n of the link's tenant as the caller read it (a download's
 * node with its key, files.h files_get_content): only its ancestors are read. */
int shares_node_at(struct db *db, const struct share *s, const struct file_node *n) KURA_WUR;
/* Counts one download atomically (refused with -ESTALE when the limit is reached or the
 * link expired or was revoked meanwhile), records "link.download" with details, and queues
 * the sharer's first-download mail when asked for; one transaction. *ret_mail tells that
 * a mail was queued (call mailer_wake). */
int shares_count_download(struct db *db, const struct actor *who, const struct share *s,
			  const struct file_node *n, json_t *details, const char *public_url,
			  bool *ret_mail) KURA_WUR;
/* Counts one upload into an upload link and records "link.upload". */
int shares_count_upload(struct db *db, const struct actor *who, const struct share *s,
			const struct file_node *n) KURA_WUR;
/* An access record ("link.view", "link.refused", ...) in the share's tenant log. */
int shares_audit(struct db *db, const struct actor *who, const struct share *s,
		 const char *action, enum audit_result result, json_t *details) KURA_WUR;
/* Makes an uploaded file name acceptable (control and reserved characters to '_', trimmed,
 * shortened on a UTF-8 boundary) into buf; -EINVAL when nothing usable is left. */
int shares_sanitize_name(const char *name, char *buf, size_t size) KURA_WUR;
/* The first free name in folder: name, "stem (2).ext", ... -EEXIST after KURA_SHARE_DEDUP_MAX. */
int shares_free_name(struct db *db, int64_t tenant_id, int64_t folder_id, const char *name,
		     char *buf, size_t size) KURA_WUR;

#endif
