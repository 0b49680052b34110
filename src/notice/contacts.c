/*
 * The tenant's contacts (問合せ窓口 and notification addresses; issue 9): managers register
 * them, each address is confirmed by a mailed link before it gets any notice.
 *
 * SECURITY: the link's token is 256 random bits (token_new) mailed once; the database keeps
 * only its SHA-256, with an expiry (KURA_CONTACT_TOKEN_TTL_S); confirming clears the hash,
 * so a token works once. Every change is one transaction with its audit record; the count
 * limit is read under the tenant's lock.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/limits.h"
#include "crypto/crypto.h"
#include "notice/notice.h"
#include "notice/notice_int.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/rate.h"
#include "tenant/tenant.h"

bool contact_role_valid(const char *role)
{
	return role && (!strcmp(role, "security") || !strcmp(role, "technical") || !strcmp(role, "notices"));
}

static json_t *contact_row_json(struct db_stmt *st)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)db_int(st, 0), "name",
			      db_text(st, 1), "email", db_text(st, 2), "role", db_text(st, 3), "confirmed",
			      !db_is_null(st, 4));
	char t[40];

	if (o && !db_is_null(st, 4) && clock_format_utc(db_int(st, 4), t, sizeof(t)) == 0)
		json_object_set_new(o, "confirmed_at", json_string(t));
	if (o && clock_format_utc(db_int(st, 5), t, sizeof(t)) == 0)
		json_object_set_new(o, "created_at", json_string(t));
	return o;
}

#define CONTACT_COLUMNS "id, name, email, role, confirmed_us, created_us"

int contact_list(struct db *db, int64_t tenant_id, json_t **ret)
{
	struct db_stmt *st = db_query(db, "SELECT " CONTACT_COLUMNS " FROM contacts WHERE tenant_id = $1"
					  " ORDER BY id LIMIT $2", "ii", tenant_id, (int64_t)KURA_CONTACTS_MAX);
	json_t *arr = json_array();
	int r;

	while (arr && (r = db_step(st)) > 0)
		json_array_append_new(arr, contact_row_json(st));
	db_done(st);
	if (!arr)
		return -ENOMEM;
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

static int contact_audit(struct db *db, const struct actor *who, int64_t tenant_id, const char *action,
			 int64_t id, const char *email, const char *role)
{
	char target[40];
	json_t *d = json_pack("{s:s, s:s}", "email", email, "role", role);
	int r;

	str_printf(target, sizeof(target), "contact:%lld", (long long)id);
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				 .category = AUDIT_ADMINISTRATION, .action = action, .target = target,
				 .result = AUDIT_SUCCESS, .details = d });
	json_decref(d);
	return r;
}

int contact_create(struct db *db, const struct actor *who, int64_t tenant_id, const char *name,
		   const char *email, const char *role, json_t **ret)
{
	char token[TOKEN_STR_LEN + 1], url[CONFIG_STR + 80], subject[RATE_SUBJECT_MAX];
	unsigned char hash[TOKEN_HASH_BYTES];
	int64_t now = clock_now_us(), expires = now + (int64_t)KURA_CONTACT_TOKEN_TTL_S * 1000000, n = 0, id = 0;
	struct tenant t;
	struct db_stmt *st;
	int r;

	if (!name || !*name || !utf8_is_clean_text(name, strlen(name)) ||
	    utf8_length(name, strlen(name)) > KURA_CONTACT_NAME_MAX || !email || !mail_address_valid(email) ||
	    !contact_role_valid(role))
		return -EINVAL;
	r = tenant_get(db, tenant_id, &t);
	if (r < 0)
		return r;
	r = token_new(token, sizeof(token));
	if (r < 0)
		return r;
	token_hash(token, hash);
	r = str_printf(url, sizeof(url), "%s/contact-confirm/%s", notice_public_url(), token);
	if (r < 0)
		goto wipe;
	r = db_begin(db);
	if (r < 0)
		goto wipe;
	r = db_lock_tenant(db, tenant_id);   /* the count decides the insert */
	if (r == 0) {
		st = db_query(db, "SELECT count(*) FROM contacts WHERE tenant_id = $1", "i", tenant_id);
		r = db_step(st);
		if (r > 0)
			n = db_int(st, 0);
		db_done(st);
		r = r < 0 ? r : n >= KURA_CONTACTS_MAX ? -E2BIG : 0;
	}
	/* the confirmation mail is counted per tenant and per address: deleting and adding a
	 * contact again must not mail an address without end (security review) */
	rate_subject_address(subject, email);
	if (r == 0)
		r = rate_take(db, tenant_id, RATE_CONTACT_MAIL, "");
	if (r == 0)
		r = rate_take(db, tenant_id, RATE_CONTACT_ADDRESS, subject);
	if (r == 0)
		r = db_insert(db, &id, "INSERT INTO contacts (tenant_id, name, email, role, token_hash,"
				       " token_expires_us, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			      "itttbii", tenant_id, name, email, role, hash, sizeof(hash), expires, now);
	if (r == 0) {
		const struct mail_var vars[] = {
			MAIL_TEXT("addressee", name), MAIL_TEXT("tenant_name", t.name),
			MAIL_TEXT("tenant_code", t.code), MAIL_TEXT("contact_role", role),
			MAIL_TEXT("url", url), MAIL_TIME("expires_at", expires),
		};
		const struct mail m = { .name = "contact-confirm", .zone = t.zone, .vars = vars,
					.n_vars = ARRAY_SIZE(vars) };

		r = mail_queue(db, tenant_id, email, &m, NULL);
	}
	if (r == 0)
		r = contact_audit(db, who, tenant_id, "contact.create", id, email, role);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0 && ret) {
		st = db_query(db, "SELECT " CONTACT_COLUMNS " FROM contacts WHERE tenant_id = $1 AND id = $2", "ii",
			      tenant_id, id);
		*ret = db_step(st) > 0 ? contact_row_json(st) : json_object();
		db_done(st);
	}
wipe:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(url, sizeof(url));
	return r;
}

int contact_retry_after(struct db *db, int64_t tenant_id, const char *email, int64_t *ret_s, int64_t *ret_limit,
			int64_t *ret_window_s)
{
	char subject[RATE_SUBJECT_MAX];
	int64_t a = 0, b = 0;
	int r = rate_retry_after(db, tenant_id, RATE_CONTACT_MAIL, "", &a);

	rate_subject_address(subject, email);
	if (r == 0)
		r = rate_retry_after(db, tenant_id, RATE_CONTACT_ADDRESS, subject, &b);
	*ret_s = a > b ? a : b;
	*ret_limit = a > b ? KURA_RATE_CONTACT_MAILS : KURA_RATE_CONTACT_ADDRESS;
	*ret_window_s = a > b ? KURA_RATE_CONTACT_MAILS_S : KURA_RATE_CONTACT_ADDRESS_S;
	return r;
}

int contact_delete(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id)
{
	char email[KURA_EMAIL_MAX + 1] = "", role[16] = "";
	struct db_stmt *st;
	int r = db_begin(db);

	if (r < 0)
		return r;
	st = db_query(db, "SELECT email, role FROM contacts WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id);
	r = db_step(st);
	if (r > 0) {
		str_copy(email, sizeof(email), db_text(st, 0));
		str_copy(role, sizeof(role), db_text(st, 1));
	}
	db_done(st);
	r = r < 0 ? r : r == 0 ? -ENOENT : 0;
	if (r == 0)
		r = db_exec(db, "DELETE FROM contacts WHERE tenant_id = $1 AND id = $2", "ii", tenant_id, id);
	if (r == 0)
		r = contact_audit(db, who, tenant_id, "contact.delete", id, email, role);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int contact_confirm(struct db *db, const struct actor *who, const char *token, char *ret_email, size_t email_size)
{
	unsigned char hash[TOKEN_HASH_BYTES];
	char email[KURA_EMAIL_MAX + 1] = "", role[16] = "";
	int64_t now = clock_now_us(), id = 0, tenant_id = 0;
	struct db_stmt *st;
	int r;

	if (!token || !token_well_formed(token))
		return -ENOENT;
	token_hash(token, hash);
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT id, tenant_id, email, role FROM contacts WHERE token_hash = $1"
			  " AND token_expires_us > $2", "bi", hash, sizeof(hash), now);
	r = db_step(st);
	if (r > 0) {
		id = db_int(st, 0);
		tenant_id = db_int(st, 1);
		str_copy(email, sizeof(email), db_text(st, 2));
		str_copy(role, sizeof(role), db_text(st, 3));
	}
	db_done(st);
	r = r < 0 ? r : r == 0 ? -ENOENT : 0;
	/* one use: the hash goes with the confirmation */
	if (r == 0)
		r = db_exec(db, "UPDATE contacts SET token_hash = NULL, confirmed_us = $3 WHERE tenant_id = $1"
				" AND id = $2 AND token_hash IS NOT NULL", "iii", tenant_id, id, now);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0)
		r = contact_audit(db, who, tenant_id, "contact.confirm", id, email, role);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	if (r == 0 && ret_email)
		str_copy(ret_email, email_size, email);
	return r;
}

int contact_notify(struct db *db, int64_t tenant_id, const struct mail *m, size_t *ret_n)
{
	char (*to)[KURA_EMAIL_MAX + 1] = NULL;
	struct mail_rendered out = { 0 };
	struct db_stmt *st;
	size_t n = 0;
	int r;

	if (ret_n)
		*ret_n = 0;
	if (!db_in_transaction(db))
		return -EINVAL;
	to = calloc(KURA_CONTACTS_MAX, sizeof(*to));
	if (!to)
		return -ENOMEM;
	st = db_query(db, "SELECT DISTINCT email FROM contacts WHERE tenant_id = $1 AND confirmed_us IS NOT NULL"
			  " ORDER BY email LIMIT $2", "ii", tenant_id, (int64_t)KURA_CONTACTS_MAX);
	while ((r = db_step(st)) > 0 && n < KURA_CONTACTS_MAX)
		if (mail_address_valid(db_text(st, 0)))
			str_copy(to[n++], sizeof(to[0]), db_text(st, 0));
	db_done(st);
	if (r >= 0 && n > 0)
		r = mail_render(m, &out);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = outbox_enqueue(db, tenant_id, to[i], out.subject, out.body, NULL);
	mail_rendered_free(&out);
	free(to);
	if (r < 0)
		return r;
	if (ret_n)
		*ret_n = n;
	return 0;
}
