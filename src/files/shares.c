/*
 * Share links (W3, W5, F4, B2, D1; docs/shares.md): download links to a file or folder and
 * upload-request links into a folder, with password, expiry, download limit, recipients
 * mailed through the outbox, labels, the sharer's first-download notice, and the tenant's
 * expiry policy.
 *
 * Design: a link is one row in `shares`. Its token (token_new, 256 bits) is mailed and
 * shown once; the row keeps its SHA-256. A password is an Argon2id string. A correct
 * password gives a link session (another 256-bit token, hashed, KURA_SHARE_SESSION_S)
 * bound to that one share. A download is counted when it starts, by one conditional UPDATE
 * (downloads < max_downloads AND not expired AND not revoked) inside the transaction that
 * also writes its audit record, so concurrent downloads can never pass the limit (the
 * transaction holds the tenant's write lock, store/db.h; the CHECK constraint is the backstop).
 *
 * SECURITY: the public side starts from a token and never from a tenant: shares_resolve()
 * looks the hash up, and everything after uses the share's own tenant_id; nodes reached
 * through a folder link are checked by walking their parents up to the shared folder
 * (bounded by KURA_FOLDER_DEPTH_MAX), so a link never reaches outside its subtree or its
 * tenant. Wrong passwords are counted per link: KURA_SHARE_PW_FAILURES within
 * KURA_SHARE_PW_WINDOW_S lock the link for KURA_SHARE_PW_LOCK_S; every attempt is an
 * access record. Argon2id runs outside the write transaction. Mails never carry the
 * password. Recipients are bounded and checked with mail_address_valid().
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/log.h"
#include "files/files_int.h"
#include "files/shares.h"
#include "notify/mail.h"
#include "notify/maillog.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define SHARE_COLS \
	"id, tenant_id, kind, node_id, created_by, created_by_name," \
	" CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END," \
	" notify_on_download, expires_us, max_downloads, downloads, uploads, created_us," \
	" revoked_us, locked_until_us"

/* A db_row_fn: SHARE_COLS into a struct share. */
static void read_share(struct db_stmt *st, void *row)
{
	struct share *ret = row;

	memset(ret, 0, sizeof(*ret));
	ret->id = db_int(st, 0);
	ret->tenant_id = db_int(st, 1);
	ret->kind = db_text(st, 2) && !strcmp(db_text(st, 2), "upload") ? SHARE_UPLOAD : SHARE_DOWNLOAD;
	ret->node_id = db_is_null(st, 3) ? 0 : db_int(st, 3);
	ret->created_by = db_is_null(st, 4) ? 0 : db_int(st, 4);
	str_copy(ret->created_by_name, sizeof(ret->created_by_name), db_text(st, 5));
	ret->has_password = db_int(st, 6) != 0;
	ret->notify_on_download = db_int(st, 7) != 0;
	ret->expires_us = db_int(st, 8);
	ret->max_downloads = db_is_null(st, 9) ? 0 : db_int(st, 9);
	ret->downloads = db_int(st, 10);
	ret->uploads = db_int(st, 11);
	ret->created_us = db_int(st, 12);
	ret->revoked_us = db_is_null(st, 13) ? 0 : db_int(st, 13);
	ret->locked_until_us = db_int(st, 14);
}

static const char *kind_name(enum share_kind k)
{
	return k == SHARE_UPLOAD ? "upload" : "download";
}

const char *shares_gone_name(enum share_gone g)
{
	static const char *const names[] = { "live", "expired", "revoked", "exhausted", "deleted" };

	return (unsigned)g < ARRAY_SIZE(names) ? names[g] : "unknown";
}

static int share_audit_tx(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
			  enum audit_category cat, const char *action, enum audit_result res,
			  json_t *details)
{
	char target[48];

	str_printf(target, sizeof(target), "share:%lld", (long long)id);
	return audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				    .category = cat, .action = action, .target = target,
				    .result = res, .details = details });
}

int shares_audit(struct db *db, const struct actor *who, const struct share *s, const char *action,
		 enum audit_result result, json_t *details)
{
	return share_audit_tx(db, who, s->tenant_id, s->id, AUDIT_ACCESS, action, result, details);
}

/* ---------------------------------------------------------------- policy */

int shares_policy_get(struct db *db, int64_t tenant_id, struct share_policy *ret)
{
	struct db_stmt *st = db_query(db, "SELECT default_expiry_s, max_expiry_s FROM share_policies"
				      " WHERE tenant_id = $1", "i", tenant_id);
	int r = db_step(st);

	ret->default_expiry_s = KURA_SHARE_EXPIRY_DEFAULT_S;
	ret->max_expiry_s = KURA_SHARE_EXPIRY_MAX_S;
	if (r > 0) {
		ret->default_expiry_s = db_int(st, 0);
		ret->max_expiry_s = db_int(st, 1);
	}
	db_done(st);
	return r < 0 ? r : 0;
}

int shares_policy_set(struct db *db, const struct actor *who, int64_t tenant_id,
		      const struct share_policy *p)
{
	json_t *d = NULL;
	int r;

	if (p->default_expiry_s < 1 || p->default_expiry_s > p->max_expiry_s ||
	    p->max_expiry_s > KURA_SHARE_EXPIRY_CEILING_S)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_exec(db, "INSERT INTO share_policies (tenant_id, default_expiry_s, max_expiry_s, updated_us)"
			" VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET"
			" default_expiry_s = $2, max_expiry_s = $3, updated_us = $4",
		    "iiii", tenant_id, p->default_expiry_s, p->max_expiry_s, clock_now_us());
	if (r < 0)
		goto out;
	d = json_pack("{s:I, s:I}", "default_expiry_s", (json_int_t)p->default_expiry_s,
		      "max_expiry_s", (json_int_t)p->max_expiry_s);
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				   .category = AUDIT_ADMINISTRATION, .action = "share.policy.update",
				   .target = "share-policy", .result = AUDIT_SUCCESS, .details = d });
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	return r;
}

/* ---------------------------------------------------------------- create */

static int count_shares(struct db *db, int64_t tenant_id, int64_t *ret)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM shares WHERE tenant_id = $1", "i", tenant_id);
	int r = db_step(st);

	if (r > 0)
		*ret = db_int(st, 0);
	db_done(st);
	return r < 0 ? r : 0;
}

/* mail/share-download.*.txt or mail/share-upload.*.txt to one recipient. */
static int recipient_mail(struct db *db, int64_t tenant_id, const char *zone, const struct share_new *in,
			  const char *sharer, const char *name, const char *url, int64_t expires_us,
			  const char *to, int64_t *ret_outbox)
{
	const struct mail_var vars[] = {
		MAIL_TEXT("sharer", sharer),
		MAIL_TEXT("item_name", name),
		MAIL_TIME("expires_at", expires_us),
		MAIL_TEXT("url", url),
		MAIL_FLAG("has_password", in->password != NULL),
	};
	const struct mail m = { .name = in->kind == SHARE_UPLOAD ? "share-upload" : "share-download",
				.zone = zone, .vars = vars, .n_vars = ARRAY_SIZE(vars) };

	return mail_queue(db, tenant_id, to, &m, ret_outbox);
}

int shares_create(struct db *db, const struct actor *who, int64_t tenant_id, const struct share_new *in,
		  int64_t *ret_id, char *ret_token, const char **ret_field,
		  enum password_problem *ret_problem)
{
	char token[TOKEN_STR_LEN + 1], pwhash[PWHASH_STR_BYTES], url[1024], expires[CLOCK_RFC3339_LEN];
	unsigned char hash[TOKEN_HASH_BYTES];
	struct share_policy pol;
	struct file_node n;
	struct tenant t = { 0 };
	json_t *d = NULL, *rcpt = NULL;
	int64_t now = clock_now_us(), expires_s, id = 0, count = 0;
	size_t i, j;
	int r;

	*ret_field = NULL;
	*ret_problem = PASSWORD_OK;
	pwhash[0] = '\0';
	if (in->n_recipients > KURA_SHARE_RECIPIENTS_MAX) {
		*ret_field = "recipients";
		return -E2BIG;
	}
	for (i = 0; i < in->n_recipients; i++) {
		if (!mail_address_valid(in->recipients[i])) {
			*ret_field = "recipients";
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!strcasecmp(in->recipients[i], in->recipients[j])) {
				*ret_field = "recipients";
				return -EINVAL;
			}
	}
	if (in->max_downloads < 0 || in->max_downloads > KURA_SHARE_DOWNLOADS_MAX ||
	    (in->kind == SHARE_UPLOAD && (in->max_downloads || in->notify_on_download))) {
		*ret_field = in->max_downloads ? "max_downloads" : "notify_on_download";
		return -EINVAL;
	}
	r = shares_policy_get(db, tenant_id, &pol);
	if (r < 0)
		return r;
	expires_s = in->expires_in_s ? in->expires_in_s : pol.default_expiry_s;
	if (expires_s < 1 || expires_s > pol.max_expiry_s) {
		*ret_field = "expires_in_s";
		return -EINVAL;
	}
	r = files_get(db, tenant_id, in->node_id, &n);
	if (r < 0) {
		*ret_field = "node_id";
		return r;
	}
	if (in->kind == SHARE_UPLOAD && n.kind != NODE_FOLDER) {
		*ret_field = "node_id";
		return -ENOTDIR;
	}
	if (in->password) {
		*ret_problem = password_check(in->password, in->sharer_login ? in->sharer_login : "");
		if (*ret_problem != PASSWORD_OK) {
			*ret_field = "password";
			return -EINVAL;
		}
		r = pwhash_hash(in->password, pwhash);   /* slow: before the write lock */
		if (r < 0)
			return r;
	}
	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	token_hash(token, hash);
	clock_format_utc(now + expires_s * 1000000, expires, sizeof(expires));
	r = str_printf(url, sizeof(url), "%s/s/%s", in->public_url ? in->public_url : "", token);
	if (r < 0)
		goto fail;
	if (in->n_recipients)
		r = tenant_get(db, tenant_id, &t);   /* its zone, for the mail's times */
	if (r < 0)
		goto fail;

	r = db_begin(db);
	if (r < 0)
		goto fail;
	/* the share limit is counted and the item looked at before the insert */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0)
		r = count_shares(db, tenant_id, &count);
	if (r == 0 && count >= KURA_SHARES_PER_TENANT)
		r = -E2BIG;
	/* the item may have gone to the trash since the check above: look again, locked */
	if (r == 0)
		r = files_get(db, tenant_id, in->node_id, &n);
	if (r < 0)
		goto out;
	r = db_insert(db, &id, "INSERT INTO shares (tenant_id, token_hash, kind, node_id, created_by,"
			      " created_by_name, password_hash, expires_us, max_downloads, notify_on_download,"
			      " created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
		      "ibtiIttiIii", tenant_id, hash, sizeof(hash), kind_name(in->kind), n.id,
		      who->account_id, who->name ? who->name : "", in->password ? pwhash : NULL,
		      now + expires_s * 1000000, in->max_downloads, (int64_t)in->notify_on_download, now);
	if (r < 0)
		goto out;
	rcpt = json_array();
	for (i = 0; i < in->n_recipients && r == 0; i++) {
		int64_t outbox = 0;

		r = recipient_mail(db, tenant_id, t.zone, in, who->name ? who->name : "", n.name, url,
				   now + expires_s * 1000000, in->recipients[i], &outbox);
		if (r == 0)
			r = db_exec(db, "INSERT INTO share_recipients (tenant_id, share_id, email, outbox_id)"
					" VALUES ($1, $2, $3, $4)", "iiti", tenant_id, id, in->recipients[i],
				    outbox);
		json_array_append_new(rcpt, json_string(in->recipients[i]));
	}
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:I, s:s, s:b, s:s, s:I, s:o}", "kind", kind_name(in->kind), "node_id",
		      (json_int_t)n.id, "name", n.name, "password", in->password != NULL, "expires_at",
		      expires, "max_downloads", (json_int_t)in->max_downloads, "recipients", rcpt);
	rcpt = NULL;
	r = share_audit_tx(db, who, tenant_id, id, AUDIT_OPERATION, "share.create", AUDIT_SUCCESS, d);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
fail:
	if (r == 0) {
		*ret_id = id;
		memcpy(ret_token, token, sizeof(token));
	}
	sodium_memzero(token, sizeof(token));
	sodium_memzero(url, sizeof(url));
	sodium_memzero(pwhash, sizeof(pwhash));
	json_decref(rcpt);
	json_decref(d);
	return r;
}

/* ---------------------------------------------------------------- owner reads */

int shares_get(struct db *db, int64_t tenant_id, int64_t id, struct share *ret)
{
	return db_one(db_query(db, "SELECT " SHARE_COLS " FROM shares WHERE tenant_id = $1 AND id = $2",
			       "ii", tenant_id, id), read_share, ret);
}

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!us || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static enum share_gone gone_state(struct db *db, const struct share *s, int64_t now)
{
	struct file_node n;

	if (s->revoked_us)
		return SHARE_REVOKED;
	if (now >= s->expires_us)
		return SHARE_EXPIRED;
	if (s->kind == SHARE_DOWNLOAD && s->max_downloads && s->downloads >= s->max_downloads)
		return SHARE_EXHAUSTED;
	if (!s->node_id || files_get(db, s->tenant_id, s->node_id, &n) < 0)
		return SHARE_TARGET_GONE;
	return SHARE_LIVE;
}

/* ---------------------------------------------------------------- access log (W3, F4) */

/* The access records of a link are the `access` records of its tenant's log with target
 * "share:<id>" and actor "link:<id>" (shares_audit), read through audit_query, which finds
 * them by the index audit_events_tenant_target (0019) without reading the rest of the log. */
static void access_keys(const struct share *s, char *target, char *actor, size_t size)
{
	str_printf(target, size, "share:%lld", (long long)s->id);
	str_printf(actor, size, "link:%lld", (long long)s->id);
}

/* How many times the link was used (its access records; 0 when the count fails). */
static int64_t access_count(struct db *db, const struct share *s)
{
	char target[48], actor[48];
	int64_t n = 0;

	access_keys(s, target, actor, sizeof(target));
	if (audit_count_target(db, s->tenant_id, target, "access", actor, &n) < 0)
		n = 0;
	return n;
}

/* The reason of a refusal in the words of the access log: "wrong password" of the audit
 * details becomes "wrong-password", "exhausted" (shares_gone_name) "limit-reached". */
static const char *access_reason(const char *action, const char *result, const char *reason)
{
	static const struct { const char *from, *to; } names[] = {
		{ "wrong password", "wrong-password" }, { "password required", "password-required" },
		{ "locked", "locked" }, { "expired", "expired" }, { "revoked", "revoked" },
		{ "exhausted", "limit-reached" }, { "deleted", "deleted" },
	};
	size_t i;

	if (!strcmp(result, "success"))
		return NULL;
	for (i = 0; reason && i < ARRAY_SIZE(names); i++)
		if (!strcmp(reason, names[i].from))
			return names[i].to;
	return !strcmp(action, "link.unlock") && !strcmp(result, "failure") ? "wrong-password" : "other";
}

/* One access record as the access log shows it: no actor, hash or user agent, only what
 * the owner needs (when, from where, what, how it ended). */
static json_t *access_json(json_t *ev)
{
	static const char *const copied[] = { "name", "node_id", "size", "length", "wanted" };
	const char *action = json_string_value(json_object_get(ev, "action")),
		   *result = json_string_value(json_object_get(ev, "result"));
	json_t *d = json_object_get(ev, "details"), *o, *v;
	const char *why;
	size_t i;

	action = action ? action : "";
	result = result ? result : "";
	o = json_pack("{s:O, s:O, s:O, s:s, s:s}", "seq", json_object_get(ev, "seq"), "time",
		      json_object_get(ev, "time"), "address", json_object_get(ev, "source_ip"), "action",
		      !strncmp(action, "link.", 5) ? action + 5 : action, "result", result);
	if (!o)
		return NULL;
	why = access_reason(action, result, json_string_value(json_object_get(d, "reason")));
	if (why)
		json_object_set_new(o, "reason", json_string(why));
	for (i = 0; i < ARRAY_SIZE(copied); i++)
		if ((v = json_object_get(d, copied[i])) && (json_is_string(v) || json_is_integer(v)))
			json_object_set(o, copied[i], v);
	if (json_is_true(json_object_get(d, "locked")))
		json_object_set_new(o, "locked", json_true());
	return o;
}

int shares_access_list(struct db *db, const struct share *s, int64_t after_seq, size_t limit, json_t **ret_items,
		       int64_t *ret_next_after)
{
	char target[48], actor[48];
	struct audit_filter f = { .category = "access", .actor = actor, .target = target, .after_seq = after_seq,
				  .limit = (int64_t)limit };
	json_t *res, *arr, *ev, *next;
	size_t i;

	access_keys(s, target, actor, sizeof(target));
	res = audit_query(db, s->tenant_id, &f);
	arr = json_array();
	if (!res || !arr) {
		json_decref(res);
		json_decref(arr);
		return -EIO;
	}
	json_array_foreach(json_object_get(res, "events"), i, ev) {
		if (json_array_append_new(arr, access_json(ev)) < 0) {
			json_decref(res);
			json_decref(arr);
			return -ENOMEM;
		}
	}
	next = json_object_get(res, "next_after");
	*ret_next_after = json_is_integer(next) ? json_integer_value(next) : 0;
	json_decref(res);
	*ret_items = arr;
	return 0;
}

json_t *shares_json(struct db *db, const struct share *s, bool with_recipients)
{
	struct file_node n;
	json_t *o, *labels = json_array();
	struct db_stmt *st;
	bool have_node = s->node_id && files_get_any(db, s->tenant_id, s->node_id, &n) == 0;

	st = db_query(db, "SELECT label FROM share_labels WHERE tenant_id = $1 AND share_id = $2"
		      " ORDER BY label", "ii", s->tenant_id, s->id);
	while (labels && db_step(st) > 0)
		json_array_append_new(labels, json_string(db_text(st, 0)));
	db_done(st);
	o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:b, s:o, s:o, s:I, s:I, s:b, s:o, s:o, s:o, s:o, s:I}",
		      "id", (json_int_t)s->id, "kind", kind_name(s->kind),
		      "state", shares_gone_name(gone_state(db, s, clock_now_us())),
		      "node_id", s->node_id ? json_integer(s->node_id) : json_null(),
		      "name", have_node ? json_string(n.name) : json_null(),
		      "node_kind", have_node ? json_string(n.kind == NODE_FOLDER ? "folder" : "file") : json_null(),
		      "created_by", s->created_by_name, "password", s->has_password,
		      "expires_at", time_json(s->expires_us),
		      "max_downloads", s->max_downloads ? json_integer(s->max_downloads) : json_null(),
		      "downloads", (json_int_t)s->downloads, "uploads", (json_int_t)s->uploads,
		      "notify_on_download", s->notify_on_download, "created_at", time_json(s->created_us),
		      "revoked_at", time_json(s->revoked_us),
		      "locked_until", s->locked_until_us > clock_now_us() ? time_json(s->locked_until_us)
									   : json_null(),
		      "labels", labels, "accesses", (json_int_t)access_count(db, s));
	if (o && with_recipients) {
		json_t *arr = json_array();

		st = db_query(db, "SELECT email, outbox_id FROM share_recipients WHERE tenant_id = $1"
			      " AND share_id = $2 ORDER BY id", "ii", s->tenant_id, s->id);
		while (arr && db_step(st) > 0)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "email", db_text(st, 0), "mail",
							     db_is_null(st, 1) ? json_null()
									       : mail_log_row_json(db, s->tenant_id,
												   db_int(st, 1))));
		db_done(st);
		json_object_set_new(o, "recipients", arr);
	}
	return o;
}

int shares_list(struct db *db, int64_t tenant_id, int64_t created_by, const char *label, int64_t before,
		size_t limit, json_t **ret_items, bool *ret_more)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	struct share s;
	size_t n = 0;
	int r;

	if (!arr)
		return -ENOMEM;
	if (label && !files_label_valid(label)) {
		json_decref(arr);
		return -EINVAL;
	}
	st = db_query(db, "SELECT " SHARE_COLS " FROM shares WHERE tenant_id = $1"
		      " AND ($2 = 0 OR created_by = $2) AND ($3 = 0 OR id < $3)"
		      " AND ($4 IS NULL OR id IN (SELECT share_id FROM share_labels"
		      " WHERE tenant_id = $1 AND label = $4)) ORDER BY id DESC LIMIT $5",
		      "iiiti", tenant_id, created_by, before, label, (int64_t)limit + 1);
	*ret_more = false;
	while ((r = db_step(st)) > 0) {
		if (n == limit) {
			*ret_more = true;
			break;
		}
		read_share(st, &s);
		json_array_append_new(arr, shares_json(db, &s, false));
		n++;
	}
	db_done(st);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret_items = arr;
	return 0;
}

int shares_revoke(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	struct share s = { 0 };
	json_t *d = NULL;
	int r = db_begin(db);

	if (r < 0)
		return r;
	r = shares_get(db, tenant_id, id, &s);
	if (r < 0 || s.revoked_us)
		goto out;    /* unknown: -ENOENT; already revoked: nothing to do */
	r = db_exec(db, "UPDATE shares SET revoked_us = $3, revoked_by_name = $4"
			" WHERE tenant_id = $1 AND id = $2", "iiit", tenant_id, id, clock_now_us(),
		    who->name ? who->name : "");
	if (r == 0)
		r = db_exec(db, "DELETE FROM share_sessions WHERE tenant_id = $1 AND share_id = $2", "ii",
			    tenant_id, id);
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:s}", "kind", kind_name(s.kind), "created_by", s.created_by_name);
	r = share_audit_tx(db, who, tenant_id, id, AUDIT_OPERATION, "share.revoke", AUDIT_SUCCESS, d);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0 || (r == 0 && s.revoked_us))
		db_rollback(db);
	json_decref(d);
	return r;
}

static int label_change(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
			const char *label, bool add)
{
	struct share s;
	json_t *d = NULL;
	int64_t count = 0;
	struct db_stmt *st;
	int r;

	if (!label || !files_label_valid(label))
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the label limit is counted before the insert */
	if (r == 0)
		r = shares_get(db, tenant_id, id, &s);
	if (r < 0)
		goto out;
	if (add) {
		st = db_query(db, "SELECT COUNT(*) FROM share_labels WHERE tenant_id = $1 AND share_id = $2",
			      "ii", tenant_id, id);
		if (db_step(st) > 0)
			count = db_int(st, 0);
		db_done(st);
		r = db_exec(db, "INSERT INTO share_labels (tenant_id, share_id, label, created_us)"
				" VALUES ($1, $2, $3, $4)", "iiti", tenant_id, id, label, clock_now_us());
		if (r == -EEXIST) {
			r = 0;          /* already there: idempotent, nothing recorded */
			goto out;
		}
		if (r == 0 && count >= KURA_LABELS_PER_ITEM)
			r = -E2BIG;
	} else {
		r = db_exec(db, "DELETE FROM share_labels WHERE tenant_id = $1 AND share_id = $2"
				" AND label = $3", "iit", tenant_id, id, label);
		if (r == 0 && db_changes(db) == 0)
			goto out;
	}
	if (r < 0)
		goto out;
	d = json_pack("{s:s}", "label", label);
	r = share_audit_tx(db, who, tenant_id, id, AUDIT_OPERATION, add ? "share.label.add" : "share.label.remove",
			   AUDIT_SUCCESS, d);
	if (r == 0) {
		r = db_commit(db);
		json_decref(d);
		if (r < 0)
			db_rollback(db);   /* a failed commit may leave the transaction open */
		return r;
	}
out:
	db_rollback(db);
	json_decref(d);
	return r;
}

int shares_label_add(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		     const char *label)
{
	return label_change(db, who, tenant_id, id, label, true);
}

int shares_label_remove(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
			const char *label)
{
	return label_change(db, who, tenant_id, id, label, false);
}

/* ---------------------------------------------------------------- public side */

int shares_resolve(struct db *db, const char *token, struct share *ret, enum share_gone *ret_gone)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	int r;

	if (!token || !token_well_formed(token))
		return -ENOENT;
	token_hash(token, hash);
	/* a link of a tenant whose contract has ended is unknown (B3) */
	r = db_one(db_query(db, "SELECT " SHARE_COLS " FROM shares WHERE token_hash = $1 AND tenant_id IN"
			    " (SELECT id FROM tenants WHERE status = 'active')", "b", hash, sizeof(hash)), read_share, ret);
	if (r == 0)
		*ret_gone = gone_state(db, ret, clock_now_us());
	return r;
}

bool shares_session_ok(struct db *db, const struct share *s, const char *cookie)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	struct db_stmt *st;
	bool ok;

	if (!s->has_password)
		return true;
	if (!cookie || !token_well_formed(cookie))
		return false;
	token_hash(cookie, hash);
	st = db_query(db, "SELECT 1 FROM share_sessions WHERE token_hash = $1 AND tenant_id = $2"
		      " AND share_id = $3 AND expires_us > $4", "biii", hash, sizeof(hash), s->tenant_id,
		      s->id, clock_now_us());
	ok = db_step(st) > 0;
	db_done(st);
	return ok;
}

/* Refuses an unlock as locked (recorded, denied) inside the caller's transaction, and commits. */
static int unlock_refused(struct db *db, const struct actor *who, const struct share *s)
{
	json_t *d = json_pack("{s:s}", "reason", "locked");
	int r = shares_audit(db, who, s, "link.unlock", AUDIT_DENIED, d);

	json_decref(d);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r < 0 ? r : -EAGAIN;
}

/*
 * Each attempt is counted before its password is checked: one write transaction refuses
 * it when the link is locked or when the attempts of the window (finished or still being
 * checked) reach KURA_SHARE_PW_FAILURES, and otherwise counts it. So however many guesses
 * arrive at once, at most that many passwords are ever checked per window; a wrong one that
 * finds the count at the limit sets the lock; a right one resets the count, unless the link
 * was locked meanwhile (then it is refused like any other).
 */
int shares_unlock(struct db *db, const struct actor *who, const struct share *s, const char *password,
		  char *ret_session, int64_t *ret_expires_us, int64_t *ret_locked_until_us, int *ret_remaining)
{
	char stored[PWHASH_STR_BYTES] = "", token[TOKEN_STR_LEN + 1];
	unsigned char hash[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), count, window, locked = 0, expires = now + (int64_t)KURA_SHARE_SESSION_S * 1000000;
	struct db_stmt *st;
	json_t *d = NULL;
	int r, v;

	st = db_query(db, "SELECT password_hash FROM shares WHERE tenant_id = $1 AND id = $2", "ii", s->tenant_id,
		      s->id);
	r = db_step(st);
	if (r > 0)
		str_copy(stored, sizeof(stored), db_text(st, 0) ? db_text(st, 0) : "");
	db_done(st);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	if (!stored[0])
		return -EINVAL;               /* no password on this link */

	/* reserve the attempt: the counter is read, then written */
	r = db_begin(db);
	if (r < 0)
		goto wipe;
	r = db_lock_tenant(db, s->tenant_id);
	if (r < 0) {
		db_rollback(db);
		goto wipe;
	}
	st = db_query(db, "SELECT failed_count, failed_window_start_us, locked_until_us FROM shares"
		      " WHERE tenant_id = $1 AND id = $2", "ii", s->tenant_id, s->id);
	r = db_step(st);
	count = r > 0 ? db_int(st, 0) : 0;
	window = r > 0 ? db_int(st, 1) : 0;
	locked = r > 0 ? db_int(st, 2) : 0;
	db_done(st);
	if (r <= 0) {
		db_rollback(db);
		r = r < 0 ? r : -ENOENT;
		goto wipe;
	}
	if (locked <= now && now - window > (int64_t)KURA_SHARE_PW_WINDOW_S * 1000000) {
		count = 0;
		window = now;
	}
	if (locked > now || count >= KURA_SHARE_PW_FAILURES) {
		/* locked, or the window's attempts are all taken (some still being checked) */
		*ret_locked_until_us = locked > now ? locked : now + (int64_t)KURA_SHARE_PW_LOCK_S * 1000000;
		r = unlock_refused(db, who, s);
		goto wipe;
	}
	r = db_exec(db, "UPDATE shares SET failed_count = $3, failed_window_start_us = $4 WHERE tenant_id = $1"
			" AND id = $2", "iiii", s->tenant_id, s->id, count + 1, window);
	if (r == 0)
		r = db_commit(db);
	if (r < 0) {
		db_rollback(db);
		goto wipe;
	}

	v = pwhash_verify(stored, password ? password : "");   /* outside the write lock */
	sodium_memzero(stored, sizeof(stored));
	if (v < 0 && v != -EACCES) {
		r = v;
		goto wipe;
	}
	if (v == 0) {
		r = token_new(token, sizeof(token));
		if (r < 0)
			goto wipe;
		token_hash(token, hash);
	}
	r = db_begin(db);
	if (r < 0)
		goto wipe;
	r = db_lock_tenant(db, s->tenant_id);   /* settle: the counter is read, then written */
	if (r < 0)
		goto out;
	if (v == -EACCES) {
		/* the attempt is counted already; at the limit it locks the link */
		st = db_query(db, "SELECT failed_count, locked_until_us FROM shares WHERE tenant_id = $1 AND id = $2",
			      "ii", s->tenant_id, s->id);
		r = db_step(st);
		count = r > 0 ? db_int(st, 0) : 0;
		locked = r > 0 ? db_int(st, 1) : 0;
		db_done(st);
		if (r < 0)
			goto out;
		r = 0;
		if (locked <= now && count >= KURA_SHARE_PW_FAILURES) {
			locked = now + (int64_t)KURA_SHARE_PW_LOCK_S * 1000000;
			r = db_exec(db, "UPDATE shares SET failed_count = 0, failed_window_start_us = $3,"
					" locked_until_us = $4 WHERE tenant_id = $1 AND id = $2", "iiii",
				    s->tenant_id, s->id, now, locked);
		}
		if (r < 0)
			goto out;
		d = json_pack("{s:s, s:b}", "reason", "wrong password", "locked", locked > now);
		r = shares_audit(db, who, s, "link.unlock", AUDIT_FAILURE, d);
		if (r == 0)
			r = db_commit(db);
		if (r == 0) {
			*ret_locked_until_us = locked > now ? locked : 0;
			/* attempts still open in this window: those counted include the ones of
			 * concurrent guesses still being checked, so this never overstates */
			if (ret_remaining)
				*ret_remaining = locked > now || count >= KURA_SHARE_PW_FAILURES
							 ? 0 : (int)(KURA_SHARE_PW_FAILURES - count);
			r = -EACCES;
		}
		goto out;
	}
	/* only while still unlocked: concurrent wrong guesses may have locked the link since the
	 * attempt was counted, and a right guess must not slip through that lock */
	r = db_exec(db, "UPDATE shares SET failed_count = 0, failed_window_start_us = 0"
			" WHERE tenant_id = $1 AND id = $2 AND locked_until_us <= $3", "iii",
		    s->tenant_id, s->id, now);
	if (r == 0 && db_changes(db) != 1) {
		st = db_query(db, "SELECT locked_until_us FROM shares WHERE tenant_id = $1 AND id = $2", "ii",
			      s->tenant_id, s->id);
		*ret_locked_until_us = db_step(st) > 0 ? db_int(st, 0) : now + (int64_t)KURA_SHARE_PW_LOCK_S * 1000000;
		db_done(st);
		r = unlock_refused(db, who, s);
		goto wipe;
	}
	if (r == 0)
		r = db_exec(db, "DELETE FROM share_sessions WHERE tenant_id = $1 AND share_id = $2"
				" AND expires_us <= $3", "iii", s->tenant_id, s->id, now);
	if (r == 0)
		r = db_exec(db, "INSERT INTO share_sessions (token_hash, tenant_id, share_id, created_us,"
				" expires_us) VALUES ($1, $2, $3, $4, $5)", "biiii", hash, sizeof(hash),
			    s->tenant_id, s->id, now, expires);
	if (r == 0)
		r = shares_audit(db, who, s, "link.unlock", AUDIT_SUCCESS, NULL);
	if (r == 0)
		r = db_commit(db);
	if (r == 0) {
		memcpy(ret_session, token, sizeof(token));
		*ret_expires_us = expires;
	}
out:
	if (r < 0 && r != -EACCES)
		db_rollback(db);
wipe:
	sodium_memzero(stored, sizeof(stored));
	sodium_memzero(token, sizeof(token));
	json_decref(d);
	return r;
}

int shares_node(struct db *db, const struct share *s, int64_t node_id, struct file_node *ret)
{
	struct file_node n;
	int r;

	if (!s->node_id || node_id <= 0)
		return -ENOENT;
	r = files_get(db, s->tenant_id, node_id, &n);
	if (r == 0)
		r = shares_node_at(db, s, &n);
	if (r == 0)
		*ret = n;
	return r;
}

int shares_node_at(struct db *db, const struct share *s, const struct file_node *n)
{
	struct file_node p;
	int64_t cur;
	int depth, r;

	if (!s->node_id || n->id <= 0)
		return -ENOENT;
	for (cur = n->id, p = *n, depth = 0; depth <= KURA_FOLDER_DEPTH_MAX + 1; depth++) {
		if (cur == s->node_id)
			return 0;
		if (!p.parent_id)
			return -ENOENT;
		r = files_get(db, s->tenant_id, p.parent_id, &p);
		if (r < 0)
			return r;
		cur = p.id;
	}
	return -ENOENT;
}

/* mail/share-used.*.txt to the sharer: 1 when queued, 0 when there is nobody to tell. */
static int sharer_mail(struct db *db, const struct share *s, const struct file_node *n,
		       const char *public_url)
{
	struct account a;
	char id[24];
	const struct mail_var vars[] = {
		MAIL_TEXT("share_id", id),
		MAIL_TEXT("item_name", n->name),
	};
	const struct mail m = { .name = "share-used", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	int r;

	(void)public_url;
	if (!s->created_by || account_get_id(db, s->tenant_id, s->created_by, &a) < 0 ||
	    !mail_address_valid(a.email))
		return 0;     /* the sharer is gone: nobody to tell */
	str_printf(id, sizeof(id), "%lld", (long long)s->id);
	r = mail_queue(db, s->tenant_id, a.email, &m, NULL);
	return r == 0 ? 1 : r;
}

int shares_count_download(struct db *db, const struct actor *who, const struct share *s,
			  const struct file_node *n, json_t *details, const char *public_url,
			  bool *ret_mail)
{
	struct db_stmt *st;
	int64_t now = clock_now_us(), notified = 1;
	int r = db_begin(db);

	*ret_mail = false;
	if (r < 0)
		return r;
	r = db_lock_tenant(db, s->tenant_id);   /* the counter, and the first download's one mail */
	if (r == 0)
		r = db_exec(db, "UPDATE shares SET downloads = downloads + 1 WHERE tenant_id = $1"
				" AND id = $2 AND revoked_us IS NULL AND expires_us > $3 AND kind = 'download'"
				" AND (max_downloads IS NULL OR downloads < max_downloads)", "iii",
			    s->tenant_id, s->id, now);
	if (r == 0 && db_changes(db) != 1)
		r = -ESTALE;
	if (r < 0)
		goto out;
	if (s->notify_on_download) {
		st = db_query(db, "SELECT CASE WHEN notified_us IS NULL THEN 0 ELSE 1 END FROM shares"
				  " WHERE tenant_id = $1 AND id = $2", "ii", s->tenant_id, s->id);
		if (db_step(st) > 0)
			notified = db_int(st, 0);
		db_done(st);
		if (!notified) {
			r = sharer_mail(db, s, n, public_url);
			if (r > 0)
				*ret_mail = true;
			if (r >= 0)
				r = db_exec(db, "UPDATE shares SET notified_us = $3 WHERE tenant_id = $1 AND id = $2",
					    "iii", s->tenant_id, s->id, now);
			if (r < 0)
				goto out;
		}
	}
	r = shares_audit(db, who, s, "link.download", AUDIT_SUCCESS, details);
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0) {
		db_rollback(db);
		*ret_mail = false;
	}
	return r;
}

int shares_count_upload(struct db *db, const struct actor *who, const struct share *s,
			const struct file_node *n)
{
	json_t *d = json_pack("{s:I, s:s, s:I}", "node_id", (json_int_t)n->id, "name", n->name, "size",
			      (json_int_t)n->size);
	int r = db_begin(db);

	if (r < 0)
		goto done;
	r = db_lock_tenant(db, s->tenant_id);   /* a share counter */
	if (r == 0)
		r = db_exec(db, "UPDATE shares SET uploads = uploads + 1 WHERE tenant_id = $1 AND id = $2", "ii",
			    s->tenant_id, s->id);
	if (r == 0)
		r = shares_audit(db, who, s, "link.upload", AUDIT_SUCCESS, d);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
done:
	json_decref(d);
	return r;
}

/* ---------------------------------------------------------------- upload names */

int shares_sanitize_name(const char *name, char *buf, size_t size)
{
	size_t n, i, o = 0, start = 0, end;

	if (!name || size < 2)
		return -EINVAL;
	n = strlen(name);
	if (!utf8_is_clean_text(name, n))
		return -EINVAL;
	while (start < n && (name[start] == ' ' || name[start] == '.'))
		start++;              /* no hidden files, no leading blanks */
	end = n;
	while (end > start && (name[end - 1] == ' ' || name[end - 1] == '.'))
		end--;                /* Windows drops trailing dots and spaces */
	for (i = start; i < end && o + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		buf[o++] = (c < 0x20 || c == 0x7f || strchr("/\\:*?\"<>|", c)) ? '_' : (char)c;
	}
	buf[o] = '\0';
	if (o > KURA_FILE_NAME_MAX - 8)
		o = KURA_FILE_NAME_MAX - 8;   /* leaves room for " (999)" */
	while (o > 0 && ((unsigned char)buf[o] & 0xC0) == 0x80)
		o--;                          /* cut on a code point boundary */
	buf[o] = '\0';
	return o > 0 && files_name_valid(buf) ? 0 : -EINVAL;
}

int shares_free_name(struct db *db, int64_t tenant_id, int64_t folder_id, const char *name, char *buf,
		     size_t size)
{
	struct file_node n;
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	int i, r;

	for (i = 1; i <= KURA_SHARE_DEDUP_MAX; i++) {
		if (i == 1)
			r = str_printf(buf, size, "%s", name);
		else
			r = str_printf(buf, size, "%.*s (%d)%s", (int)stem, name, i, name + stem);
		if (r < 0 || !files_name_valid(buf))
			return -EINVAL;
		r = files_lookup(db, tenant_id, folder_id, buf, &n);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	return -EEXIST;
}
