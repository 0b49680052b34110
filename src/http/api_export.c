/*
 * Self-service export (F3, F4; issue 8 "Export and backup"; docs/api.md "Export"):
 *   GET /api/v1/export[?scope=tenant|mine]
 *
 * One ZIP, streamed while it is built by the archive writer of api_archive.c (no temporary
 * copy; ZIP64 past 4 GiB; UTF-8 names flagged):
 *   export.json               what this is: scope, tenant, account, time, counts, layout
 *   files/<path>              the live files, decrypted, under their folder paths
 *   metadata/tenant.json      the contract (scope tenant)
 *   metadata/nodes.jsonl      one line per folder and file, trash included: ids, names, sizes,
 *                             types, who made them, times, labels
 *   metadata/labels.json      the labels in use with their counts (scope tenant)
 *   metadata/shares.jsonl     share and upload-request links without token or password hash
 *   metadata/accounts.jsonl   accounts without any secret (no password hash, TOTP secret,
 *                             recovery code, app password or WebAuthn key material)
 *   metadata/reports.jsonl    event reports and records requests with their attachments' and
 *                             signed exports' metadata (scope tenant)
 *   metadata/report_messages.jsonl  every message of their threads, both sides (scope tenant)
 *   metadata/contacts.jsonl   the tenant's contacts, without their confirmation token (scope tenant)
 *   metadata/notices.jsonl    notices to the tenant's accounts with targets and read receipts
 *                             (scope tenant)
 *   audit/audit-log.jsonl     the tenant's audit log, the verifiable JSONL export of
 *                             docs/audit.md (scope tenant): `kura audit verify` checks it
 *
 * Scopes: "tenant" is everything of the tenant and needs every permission whose data it
 * holds (files.read, account.read, shares.admin, audit.read, tenant.read, contacts.admin:
 * managers); "mine"
 * is what the caller made (files and folders whose created_by is the caller, the caller's
 * links and own account), for any role with files.read. Without scope: "tenant" when the
 * role may, else "mine".
 *
 * Memory: the list of the archive's entries (about 100 bytes and the path per file, at most
 * KURA_EXPORT_ENTRIES_MAX) and one page of metadata lines (KURA_EXPORT_PAGE rows, each page
 * a fresh query from the last id: no statement stays open across MHD callbacks), whatever
 * the bytes of the files.
 *
 * Audit: one access record data.export (target tenant:<code> or account:<login>, details
 * scope and counts) before the first byte, so the audit log inside the export shows it.
 *
 * SECURITY: the tenant is the session's; every query names it. Columns are listed one by
 * one (never SELECT *), so a secret column added later does not leak into exports. Names
 * come from the database, validated there, so no entry climbs out of files/ (zip slip).
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files.h"
#include "http/archive.h"
#include "http/http_int.h"
#include "store/db.h"

#define TENANT(req) ((req)->session.account.tenant_id)

/* ---- generated entries ---- */

/* Bytes made before the first one is sent (export.json, tenant.json, labels.json). */
struct membuf {
	char *p;
	size_t len, pos;
};

static ssize_t membuf_read(void *ctx, char *buf, size_t max)
{
	struct membuf *m = ctx;
	size_t k = m->len - m->pos;

	if (k > max)
		k = max;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static void membuf_free(void *ctx)
{
	struct membuf *m = ctx;

	if (m) {
		free(m->p);
		free(m);
	}
}

/* An entry holding the JSON j (taken over) and a newline. */
static int add_json(struct archive *a, const char *path, json_t *j)
{
	struct membuf *m = j ? calloc(1, sizeof(*m)) : NULL;
	char *s = m ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	if (!s) {
		free(m);
		return -ENOMEM;
	}
	m->len = strlen(s);
	m->p = malloc(m->len + 2);
	if (!m->p) {
		free(s);
		free(m);
		return -ENOMEM;
	}
	memcpy(m->p, s, m->len);
	free(s);
	m->p[m->len++] = '\n';
	return archive_add_stream(a, path, clock_now_us(), membuf_read, m, membuf_free);
}

static json_t *time_or_null(int64_t us, bool set)
{
	char buf[CLOCK_RFC3339_LEN];

	if (!set || clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static json_t *text(struct db_stmt *st, int col)
{
	const char *s = db_text(st, col);

	return s ? json_string(s) : json_null();
}

static json_t *col_time(struct db_stmt *st, int col)
{
	return time_or_null(db_int(st, col), !db_is_null(st, col));
}

static json_t *col_int(struct db_stmt *st, int col)
{
	return db_is_null(st, col) ? json_null() : json_integer(db_int(st, col));
}

/* The values of one column of a small per-row query, as an array of strings. */
static json_t *string_list(struct db *db, const char *sql, int64_t tenant_id, int64_t id)
{
	struct db_stmt *st = db_query(db, sql, "ii", tenant_id, id);
	json_t *arr = json_array();
	int r;

	while (arr && (r = db_step(st)) > 0)
		json_array_append_new(arr, text(st, 0));
	db_done(st);
	return arr;
}

/* ---- metadata lines: one table read page by page ---- */

enum table { T_NODES, T_SHARES, T_ACCOUNTS, T_REPORTS, T_REPORT_MESSAGES, T_CONTACTS, T_NOTICES };

struct pager {
	enum table table;
	int64_t tenant_id;
	int64_t account_id;        /* 0: every row of the tenant; else only the caller's */
	int64_t last_id;
	bool done;
	struct dbuf page;
	size_t pos;
};

/* "$3 = 0 OR created_by = $3": the scope in SQL, the same statement for both. */
static const char *const page_sql[] = {
	[T_NODES] = "SELECT id, parent_id, kind, name, size, content_type, created_by_name, created_us,"
		    " modified_us, in_trash, trashed_us, trashed_by_name FROM file_nodes WHERE tenant_id = $1"
		    " AND id > $2 AND parent_id IS NOT NULL AND ($3 = 0 OR created_by = $3) ORDER BY id LIMIT $4",
	[T_SHARES] = "SELECT id, kind, node_id, created_by_name, CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END, expires_us,"
		     " max_downloads, downloads, uploads, notify_on_download, created_us, revoked_us,"
		     " revoked_by_name FROM shares WHERE tenant_id = $1 AND id > $2 AND ($3 = 0 OR"
		     " created_by = $3) ORDER BY id LIMIT $4",
	[T_ACCOUNTS] = "SELECT id, login, email, display_name, role, status, must_change_password,"
		       " locked_until_us, last_login_us, created_us, updated_us FROM accounts WHERE"
		       " tenant_id = $1 AND id > $2 AND ($3 = 0 OR id = $3) ORDER BY id LIMIT $4",
	/* the tenant's side of the provider talk (scope tenant only; $3 is 0 there) */
	[T_REPORTS] = "SELECT id, kind, category, title, status, created_by_name, created_us, updated_us,"
		      " from_us, to_us, closed_us FROM reports WHERE tenant_id = $1 AND id > $2 AND $3 = 0"
		      " ORDER BY id LIMIT $4",
	[T_REPORT_MESSAGES] = "SELECT id, report_id, side, author, body, created_us FROM report_messages"
			      " WHERE tenant_id = $1 AND id > $2 AND $3 = 0 ORDER BY id LIMIT $4",
	/* no token hash or expiry: a confirmation link is a secret */
	[T_CONTACTS] = "SELECT id, name, email, role, confirmed_us, created_us FROM contacts WHERE tenant_id = $1"
		       " AND id > $2 AND $3 = 0 ORDER BY id LIMIT $4",
	[T_NOTICES] = "SELECT id, title, body, target_all, created_by_name, created_us FROM notices WHERE"
		      " tenant_id = $1 AND id > $2 AND $3 = 0 ORDER BY id LIMIT $4",
};

/* Rows per page: a notice line carries its read receipts (up to KURA_NOTICE_READS_MAX), a
 * report line its attachments' and exports' metadata (bounded), so the lines of a page stay
 * within KURA_EXPORT_PAGE_BYTES_MAX. */
static const int64_t page_rows[] = {
	[T_NODES] = KURA_EXPORT_PAGE, [T_SHARES] = KURA_EXPORT_PAGE, [T_ACCOUNTS] = KURA_EXPORT_PAGE,
	[T_REPORTS] = KURA_EXPORT_PAGE, [T_REPORT_MESSAGES] = KURA_EXPORT_PAGE, [T_CONTACTS] = KURA_EXPORT_PAGE,
	[T_NOTICES] = 1,
};

/* A report's attachments (metadata; the content stays in the report) and signed exports. */
static json_t *report_files(struct db *db, int64_t tenant_id, int64_t report_id, bool exports)
{
	struct db_stmt *st = exports
		? db_query(db, "SELECT id, created_by_name, created_us FROM report_exports"
			       " WHERE tenant_id = $1 AND report_id = $2 ORDER BY id", "ii", tenant_id, report_id)
		: db_query(db, "SELECT id, side, author, name, content_type, size, created_us FROM report_attachments"
			       " WHERE tenant_id = $1 AND report_id = $2 ORDER BY id", "ii", tenant_id, report_id);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0)
		json_array_append_new(arr, exports
			? json_pack("{s:I, s:o, s:o}", "id", (json_int_t)db_int(st, 0), "created_by", text(st, 1),
				    "created_at", col_time(st, 2))
			: json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:o}", "id", (json_int_t)db_int(st, 0), "side",
				    text(st, 1), "author", text(st, 2), "name", text(st, 3), "content_type", text(st, 4),
				    "size", (json_int_t)db_int(st, 5), "created_at", col_time(st, 6)));
	db_done(st);
	return arr;
}

/* A notice's read receipts: who read it first when. */
static json_t *notice_reads(struct db *db, int64_t tenant_id, int64_t notice_id)
{
	struct db_stmt *st = db_query(db, "SELECT login, read_us FROM notice_reads WHERE tenant_id = $1 AND"
					  " notice_id = $2 ORDER BY read_us, login LIMIT $3", "iii", tenant_id, notice_id,
				      (int64_t)KURA_NOTICE_READS_MAX);
	json_t *arr = json_array();

	while (arr && db_step(st) > 0)
		json_array_append_new(arr, json_pack("{s:o, s:o}", "login", text(st, 0), "read_at", col_time(st, 1)));
	db_done(st);
	return arr;
}

static json_t *row_json(struct db *db, enum table t, int64_t tenant_id, struct db_stmt *st)
{
	int64_t id = db_int(st, 0);

	switch (t) {
	case T_NODES:
		return json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o}", "id",
				 (json_int_t)id, "parent_id", col_int(st, 1), "kind", text(st, 2), "name", text(st, 3),
				 "size", (json_int_t)db_int(st, 4),
				 "content_type", text(st, 5), "created_by", text(st, 6), "created_at",
				 col_time(st, 7), "modified_at", col_time(st, 8), "in_trash", db_int(st, 9) != 0,
				 "trashed_at", col_time(st, 10), "trashed_by", text(st, 11), "labels",
				 string_list(db, "SELECT label FROM file_labels WHERE tenant_id = $1 AND node_id = $2"
						 " ORDER BY label", tenant_id, id));
	case T_SHARES:
		return json_pack("{s:I, s:o, s:o, s:o, s:b, s:o, s:o, s:I, s:I, s:b, s:o, s:o, s:o, s:o, s:o}",
				 "id", (json_int_t)id, "kind", text(st, 1), "node_id", col_int(st, 2), "created_by",
				 text(st, 3), "password", db_int(st, 4) != 0, "expires_at", col_time(st, 5),
				 "max_downloads", col_int(st, 6), "downloads", (json_int_t)db_int(st, 7), "uploads",
				 (json_int_t)db_int(st, 8), "notify_on_download", db_int(st, 9) != 0, "created_at",
				 col_time(st, 10), "revoked_at", col_time(st, 11), "revoked_by", text(st, 12),
				 "recipients",
				 string_list(db, "SELECT email FROM share_recipients WHERE tenant_id = $1 AND"
						 " share_id = $2 ORDER BY email", tenant_id, id),
				 "labels",
				 string_list(db, "SELECT label FROM share_labels WHERE tenant_id = $1 AND"
						 " share_id = $2 ORDER BY label", tenant_id, id));
	case T_ACCOUNTS:
		return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "id", (json_int_t)id,
				 "login", text(st, 1), "email", text(st, 2), "display_name", text(st, 3), "role",
				 text(st, 4), "status", text(st, 5), "must_change_password", db_int(st, 6) != 0,
				 "locked_until", db_int(st, 7) > 0 ? col_time(st, 7) : json_null(), "last_login_at",
				 col_time(st, 8), "created_at", col_time(st, 9), "updated_at", col_time(st, 10));
	case T_REPORTS:
		return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
				 (json_int_t)id, "kind", text(st, 1), "category", text(st, 2), "title", text(st, 3),
				 "status", text(st, 4), "created_by", text(st, 5), "created_at", col_time(st, 6),
				 "updated_at", col_time(st, 7), "from", col_time(st, 8), "to", col_time(st, 9),
				 "closed_at", col_time(st, 10), "attachments", report_files(db, tenant_id, id, false),
				 "exports", report_files(db, tenant_id, id, true));
	case T_REPORT_MESSAGES:
		return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)id, "report_id",
				 (json_int_t)db_int(st, 1), "side", text(st, 2), "author", text(st, 3), "body",
				 text(st, 4), "created_at", col_time(st, 5));
	case T_CONTACTS:
		return json_pack("{s:I, s:o, s:o, s:o, s:b, s:o, s:o}", "id", (json_int_t)id, "name", text(st, 1),
				 "email", text(st, 2), "role", text(st, 3), "confirmed", !db_is_null(st, 4),
				 "confirmed_at", col_time(st, 4), "created_at", col_time(st, 5));
	case T_NOTICES:
		return json_pack("{s:I, s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "id", (json_int_t)id, "title",
				 text(st, 1), "body", text(st, 2), "to_all", db_int(st, 3) == 1, "created_by",
				 text(st, 4), "created_at", col_time(st, 5), "targets",
				 string_list(db, "SELECT a.login FROM notice_targets n JOIN accounts a ON a.tenant_id ="
						 " n.tenant_id AND a.id = n.account_id WHERE n.tenant_id = $1 AND"
						 " n.notice_id = $2 ORDER BY a.login", tenant_id, id),
				 "reads", notice_reads(db, tenant_id, id));
	}
	return NULL;
}

/* The next page of lines into p->page; 0 (p->done at the end) or <0. */
static int pager_fill(struct pager *p)
{
	struct db *db = db_thread();
	struct db_stmt *st;
	int64_t n = 0;
	int r;

	dbuf_reset(&p->page);
	p->pos = 0;
	if (!db)
		return -EIO;
	st = db_query(db, page_sql[p->table], "iiii", p->tenant_id, p->last_id, p->account_id,
		      page_rows[p->table]);
	while ((r = db_step(st)) > 0) {
		/* the row's own statement stays open while string_list runs its small queries:
		 * they are other statements of the same connection */
		json_t *j = row_json(db, p->table, p->tenant_id, st);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		json_decref(j);
		if (!s) {
			r = -ENOMEM;
			break;
		}
		p->last_id = db_int(st, 0);
		dbuf_puts(&p->page, s);
		dbuf_puts(&p->page, "\n");
		free(s);
		n++;
	}
	db_done(st);
	if (r < 0)
		return r;
	if (dbuf_error(&p->page))
		return dbuf_error(&p->page);
	if (n < page_rows[p->table])
		p->done = true;
	return 0;
}

static ssize_t pager_read(void *ctx, char *buf, size_t max)
{
	struct pager *p = ctx;
	size_t k;
	int r;

	while (p->pos == dbuf_len(&p->page)) {
		if (p->done)
			return 0;
		r = pager_fill(p);
		if (r < 0) {
			log_error("export.metadata", "metadata of tenant %lld cut: %s", (long long)p->tenant_id,
				  strerror(-r));
			return r;
		}
	}
	k = dbuf_len(&p->page) - p->pos;
	if (k > max)
		k = max;
	memcpy(buf, dbuf_str(&p->page) + p->pos, k);
	p->pos += k;
	return (ssize_t)k;
}

static void pager_free(void *ctx)
{
	struct pager *p = ctx;

	if (p) {
		dbuf_free(&p->page);
		free(p);
	}
}

static int add_table(struct archive *a, const char *path, enum table t, int64_t tenant_id, int64_t account_id)
{
	struct pager *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->table = t;
	p->tenant_id = tenant_id;
	p->account_id = account_id;
	dbuf_init(&p->page, KURA_EXPORT_PAGE_BYTES_MAX);
	return archive_add_stream(a, path, clock_now_us(), pager_read, p, pager_free);
}

/* ---- the audit log: the JSONL export of docs/audit.md ---- */

static ssize_t audit_read(void *ctx, char *buf, size_t max)
{
	struct db *db = db_thread();

	return db ? audit_export_read(ctx, db, buf, max) : -EIO;
}

static void audit_free(void *ctx)
{
	audit_export_free(ctx);
}

/* ---- the caller's own files ---- */

/* The live files the account created, under their full paths after "files/". */
static int collect_mine(struct db *db, struct archive *a, int64_t tenant_id, int64_t root, int64_t account_id,
			int64_t *ret_files, int64_t *ret_bytes)
{
	struct db_stmt *st = db_query(
		db,
		"WITH RECURSIVE sub(id, kind, path, size, modified_us, created_by) AS ("
		" SELECT id, kind, name, size, modified_us, created_by FROM file_nodes WHERE tenant_id = $1"
		" AND parent_id = $2 AND in_trash = 0"
		" UNION ALL SELECT n.id, n.kind, sub.path || '/' || n.name, n.size, n.modified_us, n.created_by"
		" FROM file_nodes n JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1"
		" AND n.in_trash = 0 AND sub.kind = 'folder')"
		" SELECT id, path, size, modified_us FROM sub WHERE kind = 'file' AND created_by = $3"
		" ORDER BY path LIMIT $4",
		"iiii", tenant_id, root, account_id, (int64_t)KURA_EXPORT_ENTRIES_MAX + 1);
	int r;

	while ((r = db_step(st)) > 0) {
		const char *path = db_text(st, 1);

		r = path ? archive_add_file(a, "files/", path, db_int(st, 0), db_int(st, 2), db_int(st, 3)) : -EIO;
		if (r < 0)
			break;
		(*ret_files)++;
		*ret_bytes += db_int(st, 2);
	}
	db_done(st);
	return r < 0 ? r : 0;
}

/* ---- the endpoint ---- */

static bool may_export_tenant(struct request *req)
{
	static const enum permission need[] = { PERM_FILES_READ, PERM_ACCOUNT_READ, PERM_SHARES_ADMIN,
						PERM_AUDIT_READ, PERM_TENANT_READ, PERM_CONTACTS_ADMIN };

	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!http_permitted(req, need[i], false))
			return false;
	return true;
}

static enum MHD_Result api_export(struct request *req)
{
	const char *scope = http_query(req, "scope");
	const struct account *me = &req->session.account;
	struct archive *a = NULL;
	struct audit_export *x = NULL;
	struct audit_filter f = { 0 };
	struct tenant t;
	int64_t root = 0, n_files = 0, bytes = 0, n_entries;
	bool tenant_scope;
	char target[KURA_LOGIN_MAX + KURA_TENANT_CODE_MAX + 16], name[KURA_TENANT_CODE_MAX + 48];
	char date[CLOCK_RFC3339_LEN];
	json_t *d, *manifest;
	int r, err = 0;

	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	if (scope && strcmp(scope, "tenant") && strcmp(scope, "mine"))
		return http_problem(req, 400, "invalid-parameter", "scope is tenant or mine", "scope");
	tenant_scope = scope ? !strcmp(scope, "tenant") : may_export_tenant(req);
	if (tenant_scope && !may_export_tenant(req)) {
		d = json_pack("{s:s, s:s}", "permission", "export.tenant", "path", req->path);
		r = http_audit(req, 0, AUDIT_ACCESS, "permission.denied", req->path, AUDIT_DENIED, d);
		json_decref(d);
		(void)r;   /* the refusal stands whether or not it could be recorded */
		return http_problem(req, 403, "permission-denied",
				    "only managers export the tenant's data: use scope=mine for your own files", "scope");
	}
	r = tenant_get(req->db, TENANT(req), &t);
	if (r == 0)
		r = files_root(req->db, t.id, &root);
	if (r < 0)
		return http_internal_error(req, r);
	a = archive_new(req->srv->files, t.id, KURA_EXPORT_ENTRIES_MAX);
	if (!a)
		return http_internal_error(req, -ENOMEM);
	r = tenant_scope ? archive_collect(req->db, a, root, "files/", &n_files, &bytes)
			 : collect_mine(req->db, a, t.id, root, me->id, &n_files, &bytes);
	if (r == -E2BIG) {
		archive_free(a);
		return http_problem(req, 413, "export-too-large",
				    "more than 1000000 files and folders: ask the provider for a backup instead", NULL);
	}
	if (r < 0)
		goto fail;
	n_entries = (int64_t)archive_entries(a);

	/* recorded before the first byte, and before the log is read, so the log in the export
	 * shows this export */
	str_printf(target, sizeof(target), tenant_scope ? "tenant:%s" : "account:%s", tenant_scope ? t.code : me->login);
	d = json_pack("{s:s, s:I, s:I, s:I}", "scope", tenant_scope ? "tenant" : "mine", "files", (json_int_t)n_files,
		      "folders", (json_int_t)(n_entries - n_files), "bytes", (json_int_t)bytes);
	r = http_audit(req, 0, AUDIT_ACCESS, "data.export", target, AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0)
		goto fail;

	manifest = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:I, s:I, s:I, s:b, s:{s:s, s:s, s:s, s:s}}",
			     "format", "kura-export-1", "scope", tenant_scope ? "tenant" : "mine", "exported_at",
			     time_or_null(clock_now_us(), true), "tenant", "code", t.code, "name", t.name, "account",
			     "login", me->login, "role", me->role, "files", (json_int_t)n_files, "folders",
			     (json_int_t)(n_entries - n_files), "bytes", (json_int_t)bytes, "audit_log", tenant_scope,
			     "notes", "trash", "listed in metadata/nodes.jsonl (in_trash), content not exported",
			     "metadata", "metadata/*.jsonl: one JSON object per line",
			     "audit", tenant_scope ? "audit/audit-log.jsonl: kura audit verify FILE --key KEY" : "none",
			     "secrets", "none: no password hash, token, TOTP secret, recovery code or key");
	r = add_json(a, "export.json", manifest);
	if (r == 0 && tenant_scope)
		r = add_json(a, "metadata/tenant.json", tenant_json(req->db, &t));
	if (r == 0)
		r = add_table(a, "metadata/nodes.jsonl", T_NODES, t.id, tenant_scope ? 0 : me->id);
	if (r == 0 && tenant_scope) {
		json_t *labels = NULL;

		r = files_labels(req->db, t.id, &labels);
		if (r == 0)
			r = add_json(a, "metadata/labels.json", labels);
	}
	if (r == 0)
		r = add_table(a, "metadata/shares.jsonl", T_SHARES, t.id, tenant_scope ? 0 : me->id);
	if (r == 0)
		r = add_table(a, "metadata/accounts.jsonl", T_ACCOUNTS, t.id, tenant_scope ? 0 : me->id);
	/* the provider talk, the tenant's whole side of it (managers: scope tenant only) */
	if (r == 0 && tenant_scope)
		r = add_table(a, "metadata/reports.jsonl", T_REPORTS, t.id, 0);
	if (r == 0 && tenant_scope)
		r = add_table(a, "metadata/report_messages.jsonl", T_REPORT_MESSAGES, t.id, 0);
	if (r == 0 && tenant_scope)
		r = add_table(a, "metadata/contacts.jsonl", T_CONTACTS, t.id, 0);
	if (r == 0 && tenant_scope)
		r = add_table(a, "metadata/notices.jsonl", T_NOTICES, t.id, 0);
	if (r == 0 && tenant_scope) {
		x = audit_export_open(req->db, t.id, &f, AUDIT_FORMAT_JSONL, t.zone, &err);
		r = x ? archive_add_stream(a, "audit/audit-log.jsonl", clock_now_us(), audit_read, x, audit_free)
		      : (err ? err : -EIO);
	}
	if (r < 0)
		goto fail;
	clock_format_utc(clock_now_us(), date, sizeof(date));
	date[10] = '\0';
	str_printf(name, sizeof(name), "kura-export-%s-%s.zip", tenant_scope ? t.code : me->login, date);
	return archive_send(req, a, name);
fail:
	archive_free(a);
	return http_internal_error(req, r);
}

const struct route api_export_routes[] = {
	{ "GET", "/api/v1/export", api_export, 0, PERM_FILES_READ },
};
const size_t api_export_n_routes = ARRAY_SIZE(api_export_routes);
