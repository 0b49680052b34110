/*
 * Files service (W1, B2, F2, F3, E1, E2): one tree of folders and files per tenant, labels,
 * trash, quota and usage, encrypted content in the blob store. Used by the JSON API
 * (http/api_files.c) and meant for WebDAV and share links on top: streaming upload,
 * ranged download, lookup by name, move/rename.
 *
 * Tenancy: every function takes the tenant id and every query names it; ids are global
 * integers, so an id of another tenant is simply "not found" (-ENOENT).
 * Changes: each runs in one transaction with its audit record; usage is updated in that
 * same transaction, which holds the tenant's write lock (store/db.h), so it stays exact
 * under concurrency.
 * Errors: -EINVAL bad name/label, -ENOENT not found (or in trash), -EEXIST name taken,
 * -ENOTDIR parent is not a folder, -EISDIR a folder stands where a file was expected,
 * -ELOOP move into its own subtree, -EDQUOT quota exceeded, -EFBIG over the file size
 * limit, -ENOSPC/-EIO storage failure, -EBADMSG integrity failure of stored content.
 */
#ifndef KURA_FILES_FILES_H
#define KURA_FILES_FILES_H
#include <jansson.h>

#include "audit/audit.h"
#include "core/core.h"
#include "core/limits.h"

struct db;
struct actor;
struct blob_store;
struct keyring_rt;

struct files;

enum node_kind { NODE_FOLDER, NODE_FILE };

struct file_node {
	int64_t id, parent_id;            /* parent_id 0 for the root */
	enum node_kind kind;
	char name[KURA_FILE_NAME_MAX + 1];
	int64_t size;
	char content_type[KURA_CONTENT_TYPE_MAX + 1];
	char etag[40];
	char created_by[KURA_LOGIN_MAX + 1];
	int64_t created_us, modified_us;
	int64_t trashed_us;               /* non-zero on a trash entry */
	char trashed_by[KURA_LOGIN_MAX + 1];
	bool in_trash;
};

/* The service: borrows the blob store and the keyring, which outlive it. */
struct files *files_new(struct blob_store *bs, struct keyring_rt *kr);
struct files *files_free(struct files *f);
/* Starts a thread that purges trash older than KURA_TRASH_RETENTION_S every
 * KURA_TRASH_PURGE_INTERVAL_S (and once at start). Stopped by files_free. */
int files_start_purger(struct files *f) KURA_WUR;

/* Name rules: UTF-8, 1..KURA_FILE_NAME_MAX bytes in Unicode NFC, no '/', NUL, control or
 * bidirectional formatting character (U+061C, U+200E/F, U+202A..E, U+2066..9), not "." or
 * "..". Case-sensitive. A name in another normalisation form is valid when its NFC form is:
 * every function here stores and looks up the NFC form, so "é" precomposed and decomposed
 * are one name. */
bool files_name_valid(const char *name);
/* The NFC form of a valid name into out (size > KURA_FILE_NAME_MAX; out may be name);
 * -EINVAL otherwise. */
int files_name_nfc(const char *name, char *out, size_t size) KURA_WUR;
/* No byte of s[0..n) above 0x7F: ASCII text, which every Unicode normalisation leaves as it is. */
bool files_is_ascii(const char *s, size_t n);
/* Labels: 1..KURA_LABEL_MAX code points of clean text without '/'. */
bool files_label_valid(const char *label);
/* type/subtype[; params], printable ASCII, at most KURA_CONTENT_TYPE_MAX bytes. */
bool files_content_type_valid(const char *ct);

/* ---- metadata ---- */
/* The tenant's root folder id, created on first use. */
int files_root(struct db *db, int64_t tenant_id, int64_t *ret_id) KURA_WUR;
/* The root folder as a node (one statement; made first when the tenant has none). */
int files_root_node(struct db *db, int64_t tenant_id, struct file_node *ret) KURA_WUR;
/* A live node (not in trash). */
int files_get(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret) KURA_WUR;
/* The live child of a folder by name. */
int files_lookup(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
		 struct file_node *ret) KURA_WUR;
json_t *files_node_json(struct db *db, int64_t tenant_id, const struct file_node *n);
/* Children of a live folder ordered by name, after the name `after` (may be NULL), at most
 * limit; only those carrying label when it is not NULL. *ret_more when there are more. */
int files_list(struct db *db, int64_t tenant_id, int64_t folder_id, const char *label,
	       const char *after, size_t limit, json_t **ret_items, bool *ret_more) KURA_WUR;
/* Sorted listing with keyset paging (issue 15): by name, size or modification time, each
 * ascending or descending, ties broken by id; a page starts after the cursor (the sort key
 * and id of the last entry of the previous page; .set false: from the start) and
 * *ret_next is the cursor of this page's last entry. One index range per page (migrations
 * 0005, 0016), whatever the folder's size. */
enum files_sort { FILES_SORT_NAME, FILES_SORT_SIZE, FILES_SORT_MODIFIED };
struct files_cursor {
	bool set;
	char name[KURA_FILE_NAME_MAX + 1];   /* FILES_SORT_NAME */
	int64_t key;                         /* size or modified_us */
	int64_t id;
};
int files_list_sorted(struct db *db, int64_t tenant_id, int64_t folder_id, const char *label,
		      enum files_sort sort, bool desc, const struct files_cursor *after, size_t limit,
		      json_t **ret_items, bool *ret_more, struct files_cursor *ret_next) KURA_WUR;
int files_mkdir(struct db *db, const struct actor *who, int64_t tenant_id, int64_t parent_id,
		const char *name, struct file_node *ret) KURA_WUR;
/* Move and/or rename: new_parent 0 keeps the folder, new_name NULL keeps the name. */
int files_move(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
	       int64_t new_parent, const char *new_name, struct file_node *ret) KURA_WUR;

/* ---- trash (F3) ---- */
int files_trash(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id) KURA_WUR;
/* Back to its folder, or to the root when that folder is gone; -EEXIST on a name clash. */
int files_restore(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		  struct file_node *ret) KURA_WUR;
int files_trash_list(struct db *db, int64_t tenant_id, json_t **ret_items) KURA_WUR;
/* Deletes a trash entry and its subtree now (rows, usage, then blobs). */
int files_purge(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id,
		int64_t id) KURA_WUR;
/* Purges every trash entry of every tenant trashed before cutoff_us. */
int files_purge_expired(struct files *f, struct db *db, int64_t cutoff_us,
			int64_t *ret_n) KURA_WUR;

/* Start-up sweep (kura serve, under the data directory lock, before serving): every
 * committed blob written before before_us that no file row (live or in the trash) names is
 * deleted: the leftover of a crash between a blob's rename and its row's commit, or between
 * a purge's or replacement's commit and the blob's deletion. Blobs of tenants the database
 * does not know are left alone (logged). *ret_n: blobs deleted. */
int files_sweep_orphans(struct files *f, struct db *db, int64_t before_us, int64_t *ret_n) KURA_WUR;

/* Once after the upgrade that made names NFC (a files_pending row): every stored name and
 * lock path not in NFC is rewritten in NFC, so it stays reachable by name; a name whose NFC
 * form is taken in its folder keeps its bytes (logged). *ret_n: names rewritten. */
int files_normalize_legacy(struct db *db, int64_t *ret_n) KURA_WUR;

/* ---- search by name (issue 15; docs/files.md "Search") ---- */
/* The tenant's live files and folders (not the root, not the trash) whose name contains q
 * (NFC'd, case-insensitive), through the index name_search; a q of fewer than
 * KURA_SEARCH_TRIGRAM_MIN code points matches names that start with it (ASCII case folded).
 * Ordered by id, after the id `after` (0: from the start), at most limit (1..
 * KURA_SEARCH_PAGE_MAX); each item is files_node_json with its "path" ("/a/b"). -EINVAL for a
 * q that is empty, too long, not UTF-8 or holds control characters. */
int files_search(struct db *db, int64_t tenant_id, const char *q, int64_t after, size_t limit,
		 json_t **ret_items, bool *ret_more) KURA_WUR;

/* ---- labels (B2) ---- */
int files_label_add(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		    const char *label) KURA_WUR;
int files_label_remove(struct db *db, const struct actor *who, int64_t tenant_id, int64_t id,
		       const char *label) KURA_WUR;
/* Live nodes carrying label, anywhere in the tenant (at most KURA_PAGE_MAX). */
int files_label_find(struct db *db, int64_t tenant_id, const char *label,
		     json_t **ret_items) KURA_WUR;
/* The labels in use with their counts. */
int files_labels(struct db *db, int64_t tenant_id, json_t **ret) KURA_WUR;

/* ---- quota and usage (F2) ---- */
/* Usage: file content plus metadata (KURA_QUOTA_ITEM_BYTES per file, folder, label and dead
 * property, plus the properties' bytes), trash included. */
int files_quota(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_used) KURA_WUR;
/* files_quota and the tenant's tree generation (file_quotas.tree_gen, migration 0036: moved
 * by every write of the nodes, their dead properties and the WebDAV locks; 0 when the tenant
 * has no quota row yet, which names no state), in one statement. */
int files_quota_gen(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_used,
		    int64_t *ret_gen) KURA_WUR;
/* The two parts of usage. */
int files_quota_parts(struct db *db, int64_t tenant_id, int64_t *ret_quota, int64_t *ret_content,
		      int64_t *ret_meta) KURA_WUR;
/* Free space kept on the filesystem of dir for the database and the audit log: new content
 * (uploads, copies, folders, labels, properties) is refused with -ENOSPC while the free
 * space would drop below max(reserve_mib MiB, reserve_percent % of the filesystem).
 * Deleting and purging never check it. Process-wide; unset (tests of the module) = no reserve. */
int files_set_reserve(const char *dir, uint32_t reserve_mib, uint32_t reserve_percent) KURA_WUR;
int files_quota_set(struct db *db, const struct actor *who, int64_t tenant_id,
		    int64_t quota_bytes) KURA_WUR;

/* ---- content ---- */
struct files_upload;
/* Starts writing content for the file `name` in parent (replacing a file of that name
 * unless no_replace, then -EEXIST). expected_size is the announced size or -1; it is checked
 * against the size limit, the quota and the free-space reserve now, and the bytes against
 * them as they come (-EFBIG, -EDQUOT, -ENOSPC). */
int files_upload_begin(struct files *f, struct db *db, int64_t tenant_id, int64_t parent_id,
		       const char *name, const char *content_type, int64_t expected_size,
		       bool no_replace, struct files_upload **ret) KURA_WUR;
/* files_upload_begin with the parent folder and the node of that name in it (NULL: none)
 * as the caller read them in its read snapshot (WebDAV's PUT, which resolved the path for
 * its preconditions and locks): they are not read again here. The commit's transaction
 * reads both anew before it writes, whatever was passed. */
int files_upload_begin_at(struct files *f, struct db *db, int64_t tenant_id, const struct file_node *parent,
			  const struct file_node *old, const char *name, const char *content_type,
			  int64_t expected_size, bool no_replace, struct files_upload **ret) KURA_WUR;
/* files_upload_begin for a body of at most KURA_UPLOAD_DEFER_MAX_BYTES (-EFBIG above it)
 * whose target is read only in the commit's transaction: path is tenant-relative ("/a/b",
 * NFC, the last segment the name). Nothing is read before the body; the commit resolves the
 * path and then makes every check files_upload_begin_at's caller and the commit make
 * (-ENOTDIR the parent is missing or not a folder, -EISDIR a folder of that name, -EEXIST
 * with no_replace, the guard, -EDQUOT the quota), so a refusal comes after the body and
 * stores nothing. Only the name, the type, the size and the free-space reserve are checked
 * now. WebDAV's small PUTs: the read snapshot before the body was most of their reads'
 * cost (docs/performance.md step 22). */
int files_upload_begin_path(struct files *f, int64_t tenant_id, const char *path, const char *content_type,
			    int64_t expected_size, bool no_replace, struct files_upload **ret) KURA_WUR;
/* Locks and preconditions at the commit. An upload from files_upload_begin (the portal, tus,
 * an upload link: no lock token) is refused with -ENOLCK when a WebDAV lock applies to its
 * target (files_dav_locks_refuse), when it begins and again in the commit's transaction.
 * A guard replaces that check at the commit: it runs in the commit's transaction, which
 * holds the tenant's write lock, after the parent and the live node of the name were read
 * again (old; NULL: none) and before anything is written; a negative return refuses the
 * commit with that code and nothing is stored. WebDAV's PUT checks its lock tokens and
 * preconditions there (files_upload_begin_at checks no lock when it begins: its caller did). */
/* locks: false when the tenant holds no unexpired WebDAV lock (read in the same statement
 * as old: no lock can apply, none needs a query). */
typedef int (*files_upload_guard_fn)(void *ctx, struct db *db, const struct file_node *old, bool locks);
void files_upload_set_guard(struct files_upload *u, files_upload_guard_fn fn, void *ctx);
int files_upload_write(struct files_upload *u, const void *data, size_t n) KURA_WUR;
/* Seals, makes the blob durable, and records the file in one transaction with its audit
 * record and the usage change. Frees u whatever the result; on failure nothing is left. */
int files_upload_commit(struct files_upload *u, struct db *db, const struct actor *who,
			struct file_node *ret, bool *ret_created) KURA_WUR;
struct files_upload *files_upload_abort(struct files_upload *u);
uint64_t files_upload_received(const struct files_upload *u);
/* ---- resumable uploads (issue 15; the rows are files/uploads.h's) ----
 * The checks files_upload_begin makes, for an upload of size bytes announced now; the NFC
 * form of name into ret_nfc (size > KURA_FILE_NAME_MAX). */
int files_upload_check(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
		       const char *content_type, int64_t size, char *ret_nfc, size_t nfc_size) KURA_WUR;
/* Where a resumable upload stands: its part holds the header and offset / FILECRYPT_CHUNK
 * whole sealed chunks (offset a multiple of the chunk). */
struct files_resume {
	int64_t tenant_id, upload_row, parent_id, length, offset;
	const char *name, *content_type, *part_id;
	const unsigned char *file_key;   /* FILECRYPT_KEY_BYTES, copied */
	const unsigned char *header;     /* FILECRYPT_HEADER_BYTES */
};
/* Continues it: the checks again (the whole length against the quota), then an upload whose
 * writes append to the part after its durable end (anything after it is cut off) and whose
 * commit is files_upload_commit's, which also deletes the upload row in its transaction. */
int files_upload_resume(struct files *f, struct db *db, const struct files_resume *res,
			struct files_upload **ret) KURA_WUR;
/* Ends a request's share of the upload: seals a full buffer when more follows, makes the
 * sealed chunks durable (fsync), frees u (the part stays) and gives the new durable offset,
 * a multiple of the chunk: the bytes after it (at most one chunk) are not kept. */
int files_upload_pause(struct files_upload *u, bool more, int64_t *ret_offset) KURA_WUR;

struct files_reader;
/* Opens a live file's content for ranged reads: unwraps its key and checks the stored
 * layout against the recorded size (-EBADMSG when they disagree). The node and its content
 * columns in one statement (files_get_content), then files_open_at. */
int files_open(struct files *f, struct db *db, int64_t tenant_id, int64_t id,
	       struct file_node *ret_node, struct files_reader **ret) KURA_WUR;
/* What a reader of a file needs beyond its node, read in the node's own statement
 * (files_get_content, files_dav.h files_dav_resolve_content) so that a download reads its
 * row once (issue 11): which blob and which wrapped key, and the inline ciphertext. */
struct file_content {
	int64_t tenant_id;             /* of the statement that read it: files_open_at checks it */
	char blob_id[33];              /* BLOB_ID_LEN + 1 */
	int64_t key_version;
	unsigned char wrapped[72];     /* WRAPPED_KEY_BYTES */
	unsigned char *inl;            /* the inline ciphertext (malloc'd), NULL: the blob holds it */
	size_t inl_n;
	bool bad;                      /* no usable key in the row: files_open_at answers -EBADMSG */
};
/* A live node (files_get) and, for a file, its content columns, in one statement; *ret_c
 * holds malloc'd memory until files_open_at or files_content_clear. */
int files_get_content(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret,
		      struct file_content *ret_c) KURA_WUR;
/* files_open of a node and its content as the caller read them (in its read snapshot, with
 * the tenant bound): nothing is read again but the tenant key (keyring). The same checks as
 * files_open: -EISDIR for a folder, -EBADMSG for a row without a usable key or a layout
 * that disagrees with n->size, the key unwrapped bound to the tenant, version and blob id;
 * -ENOENT when c was read for another tenant. Takes c->inl whatever the result. */
int files_open_at(struct files *f, struct db *db, int64_t tenant_id, const struct file_node *n,
		  struct file_content *c, struct files_reader **ret) KURA_WUR;
/* Frees what a struct file_content holds (safe on one files_open_at took). */
void files_content_clear(struct file_content *c);
/* Plaintext bytes [offset, offset+n) (short only at the end). Decrypts only the chunks it
 * needs; -EBADMSG when a chunk fails its check (nothing of that chunk is returned). */
int files_read(struct files_reader *r, uint64_t offset, void *buf, size_t n,
	       size_t *ret_n) KURA_WUR;
struct files_reader *files_reader_close(struct files_reader *r);
/* Starts decrypting [offset, offset+len) ahead on a thread of the reader's own, for a
 * caller that then reads it in order (a download's body); len < KURA_READAHEAD_MIN_BYTES,
 * or no thread to spare, reads as before. Reads stay as checked: nothing of a chunk is
 * returned before its tag verified; an out-of-order read stops the read-ahead.
 * files_reader_close() stops it. true when it started. */
bool files_reader_readahead(struct files_reader *r, uint64_t offset, uint64_t len);

/* Sealed byte strings outside the tree (report attachments): the same encryption as a
 * file's content (a fresh file key, chunked AEAD into the tenant's blob store, the key
 * wrapped by the tenant key and bound to the blob id). The caller keeps the meta in its
 * own row. */
struct files_sealed {
	char blob_id[33];
	int64_t key_version;
	unsigned char wrapped[72];     /* WRAPPED_KEY_BYTES */
	int64_t size;
};
int files_seal(struct files *f, struct db *db, int64_t tenant_id, const void *data, size_t n,
	       struct files_sealed *ret) KURA_WUR;
/* Opens what files_seal stored, for files_read; -EBADMSG when it does not check out. */
int files_open_sealed(struct files *f, struct db *db, int64_t tenant_id, const char *blob_id, int64_t version,
		      const unsigned char wrapped[72], uint64_t size, struct files_reader **ret) KURA_WUR;
/* Counts a sealed string of bytes (and one item) against the tenant's quota, inside the
 * caller's transaction holding the tenant's lock; -EDQUOT when it would pass the quota. */
int files_sealed_charge(struct db *db, int64_t tenant_id, int64_t bytes) KURA_WUR;
int files_sealed_delete(struct files *f, int64_t tenant_id, const char *blob_id);

/* An audit record about node id (target "node:<id>") in the tenant's log, for accesses the
 * caller makes (downloads, integrity failures); changes record themselves. */
int files_audit(struct db *db, const struct actor *who, int64_t tenant_id,
		enum audit_category cat, const char *action, int64_t id, enum audit_result res,
		json_t *details) KURA_WUR;

/* ---- key rotation (E2) ---- */
/* New tenant key version; every file key of the tenant re-wrapped under it (content not
 * re-encrypted); older versions deleted; audit record; one transaction. kr may be NULL. */
int files_rotate_tenant_key(struct db *db, struct keyring_rt *kr, const struct actor *who,
			    const unsigned char *master, int64_t tenant_id,
			    int64_t *ret_version, int64_t *ret_n_files) KURA_WUR;
#endif
