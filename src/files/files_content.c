/*
 * File content: streaming encrypted upload, ranged decrypting reads, tenant key rotation.
 *
 * Upload: the bytes go through filecrypt (64 KiB chunks) into a blob writer; at most one
 * chunk is buffered, never the file. The sealed output is held in memory (held) until it
 * passes the ciphertext of a KURA_INLINE_MAX_BYTES file; only then is the blob writer opened
 * and the held bytes go first. A file that stays small never has a blob: its ciphertext
 * (byte for byte what the blob would hold) goes into its row (inline_data) in the
 * transaction that records it, one WAL commit instead of the blob's fsync, its directory's
 * fsync and the commit (docs/performance.md "Small files inline in the database").
 * Size and quota are checked as bytes arrive
 * (against the usage read at begin) and again exactly at commit, inside the transaction
 * that records the file and changes usage (a new file also costs KURA_QUOTA_ITEM_BYTES of
 * metadata). The free-space reserve is checked at begin and every KURA_RESERVE_CHECK_BYTES. The file key is wrapped at commit under the
 * tenant's newest key version, so an upload that overlaps a key rotation stays readable.
 * Failure anywhere leaves no row and no blob (the blob is removed when its row is not
 * committed).
 *
 * Download: a body of KURA_READAHEAD_MIN_BYTES or more is read and decrypted ahead on a
 * thread of the reader's own (files_reader_readahead, "read-ahead" below), a bounded ring
 * of verified chunks, so decryption and sending run on two cores.
 *
 * SECURITY: file keys and tenant keys live in sodium_malloc'ed memory or on the stack and
 * are wiped on every path. A read returns bytes of a chunk only after that chunk's tag
 * verified; stored content (a blob, or a row's inline_data) whose layout disagrees with the
 * recorded size is refused whole.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <sys/mman.h>

#include <sodium.h>

#include "blob/blob.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/log.h"
#include "crypto/filecrypt.h"
#include "crypto/keyring_rt.h"
#include "files/files_dav.h"
#include "files/files_int.h"
#include "store/db.h"

#define MAX_KEY_VERSIONS 64

struct files_upload {
	struct files *f;
	int64_t tenant_id, parent_id;
	char name[KURA_FILE_NAME_MAX + 1];
	char content_type[KURA_CONTENT_TYPE_MAX + 1];
	bool no_replace;
	int64_t quota_room;          /* bytes the quota allowed at begin */
	unsigned char *file_key;     /* sodium_malloc */
	enum filecrypt_alg alg;
	struct filecrypt_enc *enc;
	struct blob_writer *w;       /* NULL while the sealed bytes fit in held */
	unsigned char *held;         /* sealed bytes before the writer opens (inline_cap()) */
	size_t held_n;
	uint64_t received;
	int64_t upload_row;          /* resumable upload (uploads.c): its row goes at commit */
	int failed;                  /* sticky error */
	files_upload_guard_fn guard; /* NULL: files_dav_locks_refuse at the commit */
	void *guard_ctx;
	char *path;                  /* files_upload_begin_path: resolved at the commit (parent_id 0 until then) */
};

struct readahead;

struct files_reader {
	struct blob_reader *br;      /* the content: a blob, or */
	unsigned char *inl;          /* the row's inline ciphertext (a copy) */
	size_t inl_n;
	struct filecrypt_dec *dec;
	unsigned char *rec;          /* one sealed record */
	unsigned char *plain;        /* one decrypted chunk */
	int64_t cached;              /* chunk index in view, -1 none */
	const unsigned char *view;   /* its plaintext: plain, or a read-ahead slot */
	size_t cached_n;
	size_t plain_used;           /* bytes of plain a decryption may have written: wiped at close */
	struct readahead *ra;        /* files_reader_readahead(): chunks decrypted ahead */
};

static int sink_blob(void *cls, const void *data, size_t n)
{
	return blob_write(cls, data, n);
}

/* Sealed bytes of a file kept inline at most: those of a KURA_INLINE_MAX_BYTES plaintext. */
static size_t inline_cap(void)
{
	return (size_t)filecrypt_sealed_size(KURA_INLINE_MAX_BYTES);
}

/* Where an upload's sealed bytes go: held while they fit in inline_cap(), else the blob
 * writer, opened the first time they do not (the held bytes go into it first). */
static int sink_upload(void *cls, const void *data, size_t n)
{
	struct files_upload *u = cls;
	int r;

	if (!u->w) {
		if (u->held && n <= inline_cap() - u->held_n) {
			memcpy(u->held + u->held_n, data, n);
			u->held_n += n;
			return 0;
		}
		r = blob_writer_open(u->f->bs, u->tenant_id, &u->w);
		if (r == 0 && u->held_n)
			r = blob_write(u->w, u->held, u->held_n);
		free(u->held);
		u->held = NULL;
		u->held_n = 0;
		if (r < 0)
			return r;
	}
	return blob_write(u->w, data, n);
}

uint64_t files_upload_received(const struct files_upload *u)
{
	return u ? u->received : 0;
}

struct files_upload *files_upload_abort(struct files_upload *u)
{
	if (!u)
		return NULL;
	blob_abort(u->w);
	free(u->held);
	filecrypt_enc_free(u->enc);
	secmem_free(u->file_key, FILECRYPT_KEY_BYTES);
	free(u->path);
	free(u);
	return NULL;
}

/* What an upload of name into parent must pass before any byte is taken: the name, the
 * type, the parent, the conflict rules, the size limit, the quota (from expected_size) and
 * the free-space reserve. name must be NFC already. known_parent: the parent as the caller
 * read it in this snapshot, with known_old the node of that name in it (NULL: none), so
 * neither is read again (NULL: both read here). *ret_room: plaintext bytes the quota leaves
 * for it. */
static int upload_check(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
			const char *content_type, int64_t expected_size, bool no_replace,
			const struct file_node *known_parent, const struct file_node *known_old,
			int64_t *ret_room)
{
	struct file_node parent, old;
	int64_t quota = 0, used = 0, old_size = 0, item = KURA_QUOTA_ITEM_BYTES;
	int r;

	if (!files_content_type_valid(content_type))
		return -EINVAL;
	if (expected_size > KURA_FILE_MAX_BYTES)
		return -EFBIG;
	if (known_parent) {
		parent = *known_parent;
		r = parent.id == parent_id ? 0 : -EINVAL;
	} else {
		r = files_get(db, tenant_id, parent_id, &parent);
	}
	if (r < 0)
		return r;
	if (parent.kind != NODE_FOLDER)
		return -ENOTDIR;
	if (known_parent) {
		r = known_old ? 0 : -ENOENT;
		if (known_old)
			old = *known_old;
	} else {
		r = files_lookup(db, tenant_id, parent_id, name, &old);
	}
	if (r == 0 && old.kind == NODE_FOLDER)
		return -EISDIR;
	if (r == 0 && no_replace)
		return -EEXIST;
	if (r == 0) {
		old_size = old.size;
		item = 0;   /* a replacement is no new item */
	} else if (r != -ENOENT) {
		return r;
	}
	/* no lock token comes this way: a WebDAV lock on the target refuses it now, before the
	 * bytes (the commit checks again); WebDAV's PUT (known_parent) checked its own */
	if (!known_parent) {
		int k = files_dav_locks_refuse(db, tenant_id, parent_id, name, r == 0);

		if (k < 0)
			return k;
	}
	r = files_quota(db, tenant_id, &quota, &used);
	if (r < 0)
		return r;
	if (used - old_size + (expected_size > 0 ? expected_size : 0) + item > quota)
		return -EDQUOT;
	/* the ciphertext is a little larger than the plaintext: one tag per 64 KiB chunk */
	r = files_space_check(expected_size > 0 ? expected_size + expected_size / 4096 + 64 : 0);
	if (r < 0)
		return r;
	*ret_room = quota - used + old_size - item;
	return 0;
}

int files_upload_check(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
		       const char *content_type, int64_t size, char *ret_nfc, size_t nfc_size)
{
	int64_t room;
	int r;

	if (!db || !ret_nfc || size < 0 || files_name_nfc(name, ret_nfc, nfc_size) < 0)
		return -EINVAL;
	r = upload_check(db, tenant_id, parent_id, ret_nfc, content_type, size, false, NULL, NULL, &room);
	return r;
}

static struct files_upload *upload_new(struct files *f, int64_t tenant_id, int64_t parent_id,
				       const char *name, const char *content_type, bool no_replace,
				       int64_t room)
{
	struct files_upload *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->f = f;
	u->tenant_id = tenant_id;
	u->parent_id = parent_id;
	u->no_replace = no_replace;
	u->quota_room = room;
	str_copy(u->name, sizeof(u->name), name);
	str_copy(u->content_type, sizeof(u->content_type), content_type);
	u->file_key = secmem_alloc(FILECRYPT_KEY_BYTES);
	if (!u->file_key)
		return files_upload_abort(u);
	return u;
}

/* u (NULL: -ENOMEM) with its file key and cipher, as *ret; freed on failure. */
static int upload_start(struct files_upload *u, struct files_upload **ret)
{
	int r;

	if (!u)
		return -ENOMEM;
	randombytes_buf(u->file_key, FILECRYPT_KEY_BYTES);
	u->alg = filecrypt_default_alg();
	u->enc = filecrypt_enc_new(u->file_key, u->alg);
	if (!u->enc) {
		r = -ENOMEM;
		goto fail;
	}
	/* no blob yet: it is opened when the sealed bytes pass inline_cap() (sink_upload) */
	u->held = malloc(inline_cap());
	if (!u->held) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = u;
	return 0;
fail:
	files_upload_abort(u);
	return r;
}

static int upload_begin(struct files *f, struct db *db, int64_t tenant_id, int64_t parent_id,
			const struct file_node *known_parent, const struct file_node *known_old,
			const char *name, const char *content_type, int64_t expected_size,
			bool no_replace, struct files_upload **ret)
{
	struct files_upload *u = NULL;
	char nfc[KURA_FILE_NAME_MAX + 1];
	int64_t room = 0;
	int r;

	if (!f || !db || !ret || files_name_nfc(name, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	name = nfc;
	if (!content_type || !*content_type)
		content_type = "application/octet-stream";
	r = upload_check(db, tenant_id, parent_id, name, content_type, expected_size, no_replace, known_parent,
			 known_old, &room);
	if (r < 0)
		return r;
	u = upload_new(f, tenant_id, parent_id, name, content_type, no_replace, room);
	return upload_start(u, ret);
}

int files_upload_begin_path(struct files *f, int64_t tenant_id, const char *path, const char *content_type,
			    int64_t expected_size, bool no_replace, struct files_upload **ret)
{
	char nfc[KURA_FILE_NAME_MAX + 1];
	const char *name = path ? strrchr(path, '/') : NULL;
	struct files_upload *u;
	int r;

	if (!f || !ret || !name || *path != '/' || strlen(path) >= KURA_MAX_URL_BYTES || expected_size < 0 ||
	    files_name_nfc(name + 1, nfc, sizeof(nfc)) < 0)
		return -EINVAL;
	if (expected_size > KURA_UPLOAD_DEFER_MAX_BYTES)
		return -EFBIG;   /* a larger body is checked against the quota before it comes */
	if (!content_type || !*content_type)
		content_type = "application/octet-stream";
	if (!files_content_type_valid(content_type))
		return -EINVAL;
	r = files_space_check(expected_size + expected_size / 4096 + 64);
	if (r < 0)
		return r;
	/* the body cannot be longer than announced (the caller's check): the quota's room
	 * for it is looked at in the commit's transaction (files_charge) */
	u = upload_new(f, tenant_id, 0, nfc, content_type, no_replace, expected_size);
	if (u && !(u->path = strdup(path)))
		u = files_upload_abort(u);
	return upload_start(u, ret);
}

int files_upload_begin(struct files *f, struct db *db, int64_t tenant_id, int64_t parent_id,
		       const char *name, const char *content_type, int64_t expected_size,
		       bool no_replace, struct files_upload **ret)
{
	return upload_begin(f, db, tenant_id, parent_id, NULL, NULL, name, content_type, expected_size,
			    no_replace, ret);
}

int files_upload_begin_at(struct files *f, struct db *db, int64_t tenant_id, const struct file_node *parent,
			  const struct file_node *old, const char *name, const char *content_type,
			  int64_t expected_size, bool no_replace, struct files_upload **ret)
{
	if (!parent)
		return -EINVAL;
	return upload_begin(f, db, tenant_id, parent->id, parent, old, name, content_type, expected_size,
			    no_replace, ret);
}

int files_upload_resume(struct files *f, struct db *db, const struct files_resume *res,
			struct files_upload **ret)
{
	struct files_upload *u = NULL;
	uint64_t chunks;
	int64_t room = 0;
	int r;

	if (!f || !db || !res || !ret || res->offset < 0 || res->offset > res->length ||
	    res->offset % FILECRYPT_CHUNK)
		return -EINVAL;
	r = upload_check(db, res->tenant_id, res->parent_id, res->name, res->content_type,
			 res->length, false, NULL, NULL, &room);
	if (r < 0)
		return r;
	u = upload_new(f, res->tenant_id, res->parent_id, res->name, res->content_type, false, room);
	if (!u)
		return -ENOMEM;
	memcpy(u->file_key, res->file_key, FILECRYPT_KEY_BYTES);
	chunks = (uint64_t)res->offset / FILECRYPT_CHUNK;
	u->alg = (enum filecrypt_alg)res->header[7];
	u->enc = filecrypt_enc_resume(u->file_key, res->header, chunks);
	if (!u->enc) {
		r = -EBADMSG;
		goto fail;
	}
	u->received = (uint64_t)res->offset;
	u->upload_row = res->upload_row;
	r = blob_part_open(f->bs, res->tenant_id, res->part_id,
			   FILECRYPT_HEADER_BYTES + chunks * FILECRYPT_RECORD, &u->w);
	if (r == -ENOENT)
		r = -EBADMSG;   /* recorded as durable but not there: lost or tampered with */
	if (r < 0)
		goto fail;
	*ret = u;
	return 0;
fail:
	files_upload_abort(u);
	return r;
}

int files_upload_pause(struct files_upload *u, bool more, int64_t *ret_offset)
{
	int r;

	if (!u || !ret_offset)
		return -EINVAL;
	r = u->failed;
	if (r == 0 && more)
		r = filecrypt_enc_flush(u->enc, sink_upload, u);
	if (r == 0)
		r = blob_part_sync(u->w);
	if (r == 0)
		*ret_offset = (int64_t)(filecrypt_enc_sealed_chunks(u->enc) * FILECRYPT_CHUNK);
	files_upload_abort(u);   /* the part stays */
	return r;
}

void files_upload_set_guard(struct files_upload *u, files_upload_guard_fn fn, void *ctx)
{
	if (!u)
		return;
	u->guard = fn;
	u->guard_ctx = ctx;
}

int files_upload_write(struct files_upload *u, const void *data, size_t n)
{
	int r;

	if (!u)
		return -EINVAL;
	if (u->failed)
		return u->failed;
	if (u->received + n > (uint64_t)KURA_FILE_MAX_BYTES)
		r = -EFBIG;
	else if ((int64_t)(u->received + n) > u->quota_room)
		r = -EDQUOT;
	else if ((u->received + n) / KURA_RESERVE_CHECK_BYTES != u->received / KURA_RESERVE_CHECK_BYTES)
		r = files_space_check(KURA_RESERVE_CHECK_BYTES);   /* every MiB: is the reserve still free? */
	else
		r = 0;
	if (r == 0)
		r = filecrypt_enc_update(u->enc, data, n, sink_upload, u);
	if (r < 0) {
		u->failed = r;
		return r;
	}
	u->received += n;
	return 0;
}

/* In record_upload's transaction, one statement: the parent (-ENOENT gone, -ENOTDIR not a
 * folder) and the live node of u->name in it (0: into *ret_old, with the blob it holds, if
 * any, into ret_old_blob: an inline file has none; 1: there is none), and whether the
 * tenant holds any unexpired WebDAV lock (*ret_locks: else no lock needs a look). */
static int upload_target(struct db *db, const struct files_upload *u, struct file_node *ret_old,
			 char *ret_old_blob, size_t old_blob_size, bool *ret_locks)
{
	struct db_stmt *st = db_query(db, "SELECT " FILES_NODE_COLS_OF("o") ", p.kind,"
					  " CASE WHEN o.inline_data IS NULL THEN o.blob_id END,"
					  " CASE WHEN EXISTS (SELECT 1 FROM dav_locks l WHERE l.tenant_id = $1"
					  " AND l.expires_us > $4) THEN 1 ELSE 0 END"
					  " FROM file_nodes p LEFT JOIN file_nodes o ON o.tenant_id = $1"
					  " AND o.parent_id = p.id AND o.name = $3 AND o.in_trash = 0"
					  " WHERE p.tenant_id = $1 AND p.id = $2 AND p.in_trash = 0",
				      "iiti", u->tenant_id, u->parent_id, u->name, clock_now_us());
	int r = db_step(st);

	*ret_locks = true;   /* unknown: look */
	if (r > 0) {
		const char *kind = db_text(st, 13);

		*ret_locks = db_int(st, 15) != 0;

		if (!kind || strcmp(kind, "folder"))
			r = -ENOTDIR;
		else if (db_is_null(st, 0))
			r = 1;
		else {
			files_read_node(st, ret_old);
			if (db_text(st, 14))
				str_copy(ret_old_blob, old_blob_size, db_text(st, 14));
			r = 0;
		}
	} else if (r == 0) {
		r = -ENOENT;   /* the parent is gone */
	}
	db_done(st);
	return r;
}

struct upload_record {
	struct files_upload *u;
	const struct actor *who;
	const char *blob_id;
	const void *inl;
	size_t inl_n;
	char *old_blob;            /* out: the replaced file's blob, if it had one */
	size_t old_blob_size;
	/* out, read by record_upload once committed */
	struct file_node old;
	bool replace;
	int64_t id, now;
	char etag[33];
};

/* record_upload's transaction (db_combined: perhaps on another upload's thread, with its
 * connection as db). */
static int record_upload_work(struct db *db, void *ctx)
{
	struct upload_record *c = ctx;
	struct files_upload *u = c->u;
	const struct actor *who = c->who;
	const char *blob_id = c->blob_id;
	unsigned char tkey[TENANT_KEY_BYTES], wrapped[WRAPPED_KEY_BYTES], etag_raw[16];
	int64_t version = 0, now = clock_now_us(), id = 0, size = (int64_t)u->received;
	bool replace = false, locks = true;
	json_t *d = NULL;
	int r;

	*c->old_blob = '\0';
	memset(&c->old, 0, sizeof(c->old));
	/* the tree and the quota under the tenant's lock */
	r = db_lock_tenant(db, u->tenant_id);
	if (r < 0)
		goto out;
	/* files_upload_begin_path: the path is resolved here, in the transaction, whenever the
	 * work runs (-ENOTDIR: its parent is missing or not a folder) */
	if (u->path) {
		struct file_node parent, node;

		r = files_dav_resolve_leaf(db, u->tenant_id, u->path, &parent, &node);
		if (r == 0 || r == -ENOENT)
			r = 0, u->parent_id = parent.id;
		if (r < 0)
			goto out;
	}
	/* the parent and the file of that name, read again here whatever the request checked
	 * before the body (its snapshot may be old by now); before the key's wrapping, so that a
	 * refusal costs no more than these reads */
	r = upload_target(db, u, &c->old, c->old_blob, c->old_blob_size, &locks);
	if (r == -ENOENT && u->path)
		r = -ENOTDIR;   /* resolved as a folder above, in this transaction: not reached */
	if (r < 0)
		goto out;
	if (r == 0) {
		if (c->old.kind == NODE_FOLDER)
			r = -EISDIR;
		else if (u->no_replace)
			r = -EEXIST;
		replace = r == 0;
	} else {
		r = 0;   /* a new file */
	}
	/* the locks and preconditions as they stand now, under the tenant's lock: a LOCK taken
	 * or a change committed while the body came is seen here */
	if (r == 0)
		r = u->guard ? u->guard(u->guard_ctx, db, replace ? &c->old : NULL, locks)
		    : locks  ? files_dav_locks_refuse(db, u->tenant_id, u->parent_id, u->name, replace)
			     : 0;
	if (r == 0)
		r = files_charge(db, u->tenant_id, size - (replace ? c->old.size : 0),
				 replace ? 0 : KURA_QUOTA_ITEM_BYTES);
	/* the tenant key version the file is wrapped with */
	if (r == 0)
		r = keyring_rt_current(u->f->kr, db, u->tenant_id, &version, tkey);
	if (r == 0)
		r = filekey_wrap(tkey, u->tenant_id, version, blob_id, u->file_key, wrapped);
	sodium_memzero(tkey, sizeof(tkey));
	if (r < 0)
		goto out;
	randombytes_buf(etag_raw, sizeof(etag_raw));
	hex_encode(etag_raw, sizeof(etag_raw), c->etag);
	if (replace) {
		id = c->old.id;
		r = db_exec(db, "UPDATE file_nodes SET size = $3, content_type = $4, etag = $5,"
				" blob_id = $6, alg = $7, key_version = $8, wrapped_key = $9,"
				" modified_us = $10, inline_data = $11 WHERE tenant_id = $1 AND id = $2",
			    "iiittttibib", u->tenant_id, id, size, u->content_type, c->etag, blob_id,
			    filecrypt_alg_name(u->alg), version, wrapped, sizeof(wrapped), now, c->inl, c->inl_n);
	} else {
		r = db_insert(db, &id, "INSERT INTO file_nodes (tenant_id, parent_id, kind, name, size,"
				      " content_type, etag, blob_id, alg, key_version, wrapped_key, created_by,"
				      " created_by_name, created_us, modified_us, inline_data) VALUES ($1, $2, 'file',"
				      " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id",
			      "iitittttibItib", u->tenant_id, u->parent_id, u->name, size, u->content_type,
			      c->etag, blob_id, filecrypt_alg_name(u->alg), version, wrapped, sizeof(wrapped),
			      who ? who->account_id : 0, who && who->name ? who->name : "", now, c->inl, c->inl_n);
		if (r == 0)
			r = files_name_index(db, id, u->name);
	}
	if (r < 0)
		goto out;
	if (u->upload_row > 0)   /* a resumable upload ends with its file */
		r = db_exec(db, "DELETE FROM uploads WHERE tenant_id = $1 AND id = $2", "ii",
			    u->tenant_id, u->upload_row);
	if (r < 0)
		goto out;
	d = json_pack("{s:s, s:I, s:I, s:s}", "name", u->name, "parent_id", (json_int_t)u->parent_id,
		      "size", (json_int_t)size, "alg", filecrypt_alg_name(u->alg));
	r = files_audit(db, who, u->tenant_id, AUDIT_OPERATION, replace ? "file.replace" : "file.upload",
			id, AUDIT_SUCCESS, d);
out:
	json_decref(d);
	c->replace = replace;
	c->id = id;
	c->now = now;
	return r;
}

/* Records the content as the file (parent, name) in one transaction: the committed blob
 * blob_id, or (inl, inl_n non-NULL) the ciphertext kept in the row, with blob_id the random
 * id its key wrapping is bound to. *ret_old_blob: the blob of the replaced file, if it had
 * one, for the caller to delete once this is committed. *ret_node: the file as committed
 * (what files_get would read back after the commit: the columns this transaction wrote, the
 * replaced file's others). The transaction may be combined with other uploads' (store/db.h
 * db_combined). */
static int record_upload(struct files_upload *u, struct db *db, const struct actor *who,
			 const char *blob_id, const void *inl, size_t inl_n, struct file_node *ret_node,
			 bool *ret_created, char *ret_old_blob, size_t old_blob_size)
{
	struct upload_record c = { .u = u, .who = who, .blob_id = blob_id, .inl = inl, .inl_n = inl_n,
				   .old_blob = ret_old_blob, .old_blob_size = old_blob_size };
	int r;

	*ret_old_blob = '\0';
	r = db_combined(db, record_upload_work, &c);
	if (r < 0)
		*ret_old_blob = '\0';
	if (r == 0) {
		const struct file_node *old = &c.old;
		int64_t now = c.now, id = c.id, size = (int64_t)u->received;
		bool replace = c.replace;
		const char *etag = c.etag;

		if (replace) {
			*ret_node = *old;
		} else {
			memset(ret_node, 0, sizeof(*ret_node));
			ret_node->parent_id = u->parent_id;
			ret_node->kind = NODE_FILE;
			str_copy(ret_node->name, sizeof(ret_node->name), u->name);
			str_copy(ret_node->created_by, sizeof(ret_node->created_by),
				 who && who->name ? who->name : "");
			ret_node->created_us = now;
		}
		ret_node->id = id;
		ret_node->size = size;
		str_copy(ret_node->content_type, sizeof(ret_node->content_type), u->content_type);
		str_copy(ret_node->etag, sizeof(ret_node->etag), etag);
		ret_node->modified_us = now;
		*ret_created = !replace;
	}
	return r;
}

int files_upload_commit(struct files_upload *u, struct db *db, const struct actor *who,
			struct file_node *ret, bool *ret_created)
{
	char blob_id[BLOB_ID_LEN + 1], old_blob[BLOB_ID_LEN + 8];
	struct file_node node;
	bool created = false;
	int r;

	if (!u)
		return -EINVAL;
	r = u->failed;
	if (r == 0)
		r = filecrypt_enc_final(u->enc, sink_upload, u);
	if (r < 0) {
		files_upload_abort(u);
		return r;
	}
	if (u->w) {
		str_copy(blob_id, sizeof(blob_id), blob_writer_id(u->w));
		r = blob_commit(u->w);   /* frees the writer whatever the result */
		u->w = NULL;
		if (r < 0) {
			files_upload_abort(u);
			return r;
		}
		r = record_upload(u, db, who, blob_id, NULL, 0, &node, &created, old_blob, sizeof(old_blob));
		if (r < 0) {
			int k = blob_delete(u->f->bs, u->tenant_id, blob_id);

			if (k < 0)
				log_warn("files.upload", "blob %s left unreferenced: %s", blob_id, strerror(-k));
		}
	} else {
		/* it stayed small: the row holds it, and the commit makes it durable */
		blob_new_id(blob_id);
		r = record_upload(u, db, who, blob_id, u->held, u->held_n, &node, &created, old_blob,
				  sizeof(old_blob));
	}
	if (r == 0 && old_blob[0]) {
		int k = blob_delete(u->f->bs, u->tenant_id, old_blob);

		if (k < 0 && k != -ENOENT)
			log_warn("files.upload", "replaced blob %s left unreferenced: %s", old_blob,
				 strerror(-k));
	}
	files_upload_abort(u);
	if (r < 0)
		return r;
	if (created) {
		/* the name index in batches (store/db.h db_name_fold): this upload's thread folds
		 * once KURA_NAME_FOLD_BATCH names are queued; a failure leaves them queued for the
		 * next fold (every search folds first) */
		int k = db_name_fold(db, KURA_NAME_FOLD_BATCH);

		if (k < 0)
			log_warn("files.upload", "name index not folded: %s", strerror(-k));
	}
	if (ret_created)
		*ret_created = created;
	if (ret)
		*ret = node;   /* as committed: no read back (one statement less per upload) */
	return 0;
}

/* ---- reading ---- */

static void readahead_stop(struct files_reader *r);

struct files_reader *files_reader_close(struct files_reader *r)
{
	if (!r)
		return NULL;
	readahead_stop(r);
	blob_reader_close(r->br);
	free(r->inl);
	filecrypt_dec_free(r->dec);
	free(r->rec);
	if (r->plain) {
		/* only what a decryption wrote: a 4 KiB download no longer zeroes 64 KiB */
		sodium_memzero(r->plain, r->plain_used);
		free(r->plain);
	}
	free(r);
	return NULL;
}

/* The reader's source: the blob, or the inline ciphertext. */
static int source_read_at(struct files_reader *r, uint64_t off, void *buf, size_t n, size_t *ret_n)
{
	if (r->br)
		return blob_read_at(r->br, off, buf, n, ret_n);
	*ret_n = 0;
	if (off < r->inl_n) {
		*ret_n = n < r->inl_n - off ? n : (size_t)(r->inl_n - off);
		memcpy(buf, r->inl + off, *ret_n);
	}
	return 0;
}

static uint64_t source_size(const struct files_reader *r)
{
	return r->br ? blob_reader_size(r->br) : r->inl_n;
}

static int open_reader(struct files *f, struct db *db, int64_t tenant_id, const char *blob_id,
		       int64_t version, const unsigned char wrapped[WRAPPED_KEY_BYTES], uint64_t size,
		       unsigned char *inl, size_t inl_n, struct files_reader **ret);

_Static_assert(sizeof(((struct file_content *)0)->blob_id) == BLOB_ID_LEN + 1, "files.h: blob id");
_Static_assert(sizeof(((struct file_content *)0)->wrapped) == WRAPPED_KEY_BYTES, "files.h: wrapped key");

int files_read_content_at(struct db_stmt *st, int c, int64_t tenant_id, struct file_content *ret)
{
	const char *blob_id = db_text(st, c);
	const void *p;
	size_t n = 0;

	memset(ret, 0, sizeof(*ret));
	ret->tenant_id = tenant_id;
	ret->key_version = db_int(st, c + 1);
	p = db_blob(st, c + 2, &n);
	if (!blob_id || str_copy(ret->blob_id, sizeof(ret->blob_id), blob_id) < 0 || !p || n != sizeof(ret->wrapped)) {
		ret->bad = true;   /* files_open_at: -EBADMSG, as any stored data that does not check out */
		return 0;
	}
	memcpy(ret->wrapped, p, n);
	if (!db_is_null(st, c + 3)) {
		/* kept inline (files_upload_commit): the ciphertext the blob would hold */
		p = db_blob(st, c + 3, &n);
		ret->inl = malloc(n ? n : 1);
		if (!ret->inl)
			return -ENOMEM;
		if (n)
			memcpy(ret->inl, p, n);
		ret->inl_n = n;
	}
	return 0;
}

void files_content_clear(struct file_content *c)
{
	if (!c)
		return;
	free(c->inl);
	c->inl = NULL;
	c->inl_n = 0;
}

int files_get_content(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret,
		      struct file_content *ret_c)
{
	struct db_stmt *st;
	int r;

	memset(ret_c, 0, sizeof(*ret_c));
	ret_c->bad = true;
	st = db_query(db, "SELECT " FILES_NODE_COLS ", " FILES_CONTENT_COLS " FROM file_nodes"
			  " WHERE tenant_id = $1 AND id = $2 AND in_trash = 0", "ii", tenant_id, id);
	r = db_step(st);
	if (r > 0) {
		files_read_node_at(st, 0, ret);
		r = ret->kind == NODE_FILE ? files_read_content_at(st, 13, tenant_id, ret_c) : 0;
	} else if (r == 0) {
		r = -ENOENT;
	}
	db_done(st);
	if (r < 0)
		files_content_clear(ret_c);
	return r;
}

int files_open(struct files *f, struct db *db, int64_t tenant_id, int64_t id,
	       struct file_node *ret_node, struct files_reader **ret)
{
	struct file_content c;
	struct file_node node;
	int r;

	if (!f || !db || !ret)
		return -EINVAL;
	/* one statement: the node and its key (it took two, the node then the key) */
	r = files_get_content(db, tenant_id, id, &node, &c);
	if (r < 0)
		return r;
	r = files_open_at(f, db, tenant_id, &node, &c, ret);
	if (r == 0 && ret_node)
		*ret_node = node;
	return r;
}

int files_open_at(struct files *f, struct db *db, int64_t tenant_id, const struct file_node *n,
		  struct file_content *c, struct files_reader **ret)
{
	unsigned char *inl = c ? c->inl : NULL;
	size_t inl_n = c ? c->inl_n : 0;

	if (c) {
		c->inl = NULL;   /* the reader's now, or freed below */
		c->inl_n = 0;
	}
	if (!f || !db || !n || !c || !ret) {
		free(inl);
		return -EINVAL;
	}
	if (c->tenant_id != tenant_id) {
		free(inl);
		return -ENOENT;   /* read for another tenant: nothing of it is this tenant's */
	}
	if (n->kind != NODE_FILE) {
		free(inl);
		return -EISDIR;
	}
	if (c->bad) {
		free(inl);
		return -EBADMSG;
	}
	return open_reader(f, db, tenant_id, c->blob_id, c->key_version, c->wrapped, (uint64_t)n->size, inl, inl_n,
			   ret);
}

int files_open_sealed(struct files *f, struct db *db, int64_t tenant_id, const char *blob_id, int64_t version,
		      const unsigned char wrapped[WRAPPED_KEY_BYTES], uint64_t size, struct files_reader **ret)
{
	return open_reader(f, db, tenant_id, blob_id, version, wrapped, size, NULL, 0, ret);
}

/* A reader of the content sealed under the file key wrapped for blob_id: the blob blob_id,
 * or when inl is not NULL the inline ciphertext inl (malloc'd; the reader owns it, also on
 * failure). The same checks either way: a layout that disagrees with size is refused whole,
 * a chunk is returned only after its tag verified. */
static int open_reader(struct files *f, struct db *db, int64_t tenant_id, const char *blob_id,
		       int64_t version, const unsigned char wrapped[WRAPPED_KEY_BYTES], uint64_t size,
		       unsigned char *inl, size_t inl_n, struct files_reader **ret)
{
	unsigned char tkey[TENANT_KEY_BYTES], fkey[FILECRYPT_KEY_BYTES], header[FILECRYPT_HEADER_BYTES];
	struct files_reader *rd = NULL;
	size_t got = 0;
	int r;

	rd = calloc(1, sizeof(*rd));
	if (!rd) {
		free(inl);
		return -ENOMEM;
	}
	rd->inl = inl;
	rd->inl_n = inl_n;
	r = keyring_rt_get(f->kr, db, tenant_id, version, tkey);
	if (r == 0)
		r = filekey_unwrap(tkey, tenant_id, version, blob_id, wrapped, fkey);
	sodium_memzero(tkey, sizeof(tkey));
	if (r == -ENOENT)
		r = -EBADMSG;   /* the row names a key version that does not exist */
	if (r < 0)
		goto out;
	rd->cached = -1;
	if (!rd->inl) {
		/* the database part is read: the blob's open may wait for S3, and no read snapshot
		 * waits with it (db.h db_read_begin) */
		db_read_end(db);
		r = blob_reader_open(f->bs, tenant_id, blob_id, &rd->br);
		if (r == -ENOENT || r == -EINVAL)
			r = -EBADMSG;   /* recorded but missing: stored data was lost or tampered with */
		if (r < 0)
			goto out;
	}
	r = source_read_at(rd, 0, header, sizeof(header), &got);
	if (r == 0 && got != sizeof(header))
		r = -EBADMSG;
	if (r < 0)
		goto out;
	rd->dec = filecrypt_dec_new(fkey, header, source_size(rd), &r);
	if (!rd->dec)
		goto out;
	if (filecrypt_dec_plain_size(rd->dec) != size) {
		r = -EBADMSG;
		goto out;
	}
	rd->rec = malloc(FILECRYPT_RECORD);
	rd->plain = malloc(FILECRYPT_CHUNK);
	if (!rd->rec || !rd->plain) {
		r = -ENOMEM;
		goto out;
	}
	*ret = rd;
	rd = NULL;
	r = 0;
out:
	sodium_memzero(fkey, sizeof(fkey));
	files_reader_close(rd);
	return r;
}

/* A small byte string sealed like a file's content: a fresh file key, chunked AEAD into a
 * new blob of the tenant, the key wrapped by the tenant's current key (bound to the blob id). */
int files_seal(struct files *f, struct db *db, int64_t tenant_id, const void *data, size_t n,
	       struct files_sealed *ret)
{
	unsigned char tkey[TENANT_KEY_BYTES];
	unsigned char *fkey = NULL;
	struct filecrypt_enc *enc = NULL;
	struct blob_writer *w = NULL;
	int r;

	if (!f || !db || !ret || (!data && n))
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	fkey = secmem_alloc(FILECRYPT_KEY_BYTES);
	if (!fkey)
		return -ENOMEM;
	randombytes_buf(fkey, FILECRYPT_KEY_BYTES);
	enc = filecrypt_enc_new(fkey, filecrypt_default_alg());
	if (!enc) {
		r = -ENOMEM;
		goto out;
	}
	r = files_space_check((int64_t)filecrypt_sealed_size(n));
	if (r == 0)
		r = blob_writer_open(f->bs, tenant_id, &w);
	if (r < 0)
		goto out;
	str_copy(ret->blob_id, sizeof(ret->blob_id), blob_writer_id(w));
	r = filecrypt_enc_update(enc, data, n, sink_blob, w);
	if (r == 0)
		r = filecrypt_enc_final(enc, sink_blob, w);
	if (r == 0) {
		r = blob_commit(w);
		w = NULL;   /* freed either way */
	}
	if (r < 0)
		goto out;
	r = keyring_rt_current(f->kr, db, tenant_id, &ret->key_version, tkey);
	if (r == 0)
		r = filekey_wrap(tkey, tenant_id, ret->key_version, ret->blob_id, fkey, ret->wrapped);
	sodium_memzero(tkey, sizeof(tkey));
	if (r < 0) {
		(void)blob_delete(f->bs, tenant_id, ret->blob_id);
		goto out;
	}
	ret->size = (int64_t)n;
out:
	blob_abort(w);
	filecrypt_enc_free(enc);
	secmem_free(fkey, FILECRYPT_KEY_BYTES);
	return r;
}

int files_sealed_charge(struct db *db, int64_t tenant_id, int64_t bytes)
{
	return files_charge(db, tenant_id, bytes, KURA_QUOTA_ITEM_BYTES);
}

int files_sealed_delete(struct files *f, int64_t tenant_id, const char *blob_id)
{
	return f ? blob_delete(f->bs, tenant_id, blob_id) : -EINVAL;
}

/* ---- read-ahead (large downloads, issue 11) ----
 * A thread of the reader's own reads and decrypts the chunks of [first, last] in order into a
 * ring of KURA_READAHEAD_CHUNKS slots while the request's thread sends the ones before: the
 * decryption runs on a second core. A slot is published only after its chunk's tag
 * verified (decryption in place; a failed chunk is wiped by filecrypt and published as its
 * error), so files_read still never returns a byte of a chunk that did not check out. The
 * reader holds one slot while it copies out of it; the thread waits for a free one, so at
 * most KURA_READAHEAD_CHUNKS records are held per download, and at most
 * KURA_READAHEAD_THREADS threads run in the process (beyond, reads decrypt in the request's
 * thread, as before). Any access that is not the next chunk in order stops the thread (its
 * slots are wiped) and reads on synchronously; closing the reader stops and joins it. */
enum slot_state { SLOT_FREE, SLOT_READY, SLOT_FAILED };

struct ra_slot {
	unsigned char *data;          /* one record; the plaintext in place once READY */
	enum slot_state state;
	size_t n;                     /* plaintext bytes, READY */
	int err;                      /* FAILED */
};

struct readahead {
	struct files_reader *r;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ra_slot slot[KURA_READAHEAD_CHUNKS];
	unsigned char *mem;           /* the slots' records, one allocation */
	uint64_t next, last;          /* the reader's next chunk; the thread's last */
	int64_t held;                 /* the chunk whose slot the reader copies from, -1 none */
	bool stop;
};

#define RA_BYTES ((size_t)KURA_READAHEAD_CHUNKS * FILECRYPT_RECORD)

static atomic_int readahead_threads;

static void *readahead_main(void *cls)
{
	struct readahead *ra = cls;
	struct files_reader *r = ra->r;
	uint64_t i;

	pthread_setname_np(pthread_self(), "kura-readahead");
	for (i = ra->next; i <= ra->last; i++) {
		struct ra_slot *s = &ra->slot[i % KURA_READAHEAD_CHUNKS];
		uint64_t off;
		size_t len, got = 0, n = 0;
		bool stop;
		int k;


		pthread_mutex_lock(&ra->mu);
		while (s->state != SLOT_FREE && !ra->stop)
			pthread_cond_wait(&ra->cv, &ra->mu);
		stop = ra->stop;
		pthread_mutex_unlock(&ra->mu);
		if (stop)
			break;
		filecrypt_dec_chunk_span(r->dec, i, &off, &len);
		k = blob_read_at(r->br, off, s->data, len, &got);
		if (k == 0 && got != len)
			k = -EBADMSG;
		if (k == 0)
			k = filecrypt_dec_chunk(r->dec, i, s->data, len, s->data, &n);
		pthread_mutex_lock(&ra->mu);
		if (k < 0) {
			s->state = SLOT_FAILED;
			s->err = k;
		} else {
			s->state = SLOT_READY;
			s->n = n;
		}
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
		if (k < 0)
			break;
	}
	return NULL;
}

static void readahead_stop(struct files_reader *r)
{
	struct readahead *ra = r->ra;

	if (!ra)
		return;
	pthread_mutex_lock(&ra->mu);
	ra->stop = true;
	pthread_cond_broadcast(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	pthread_join(ra->thread, NULL);
	pthread_cond_destroy(&ra->cv);
	pthread_mutex_destroy(&ra->mu);
	atomic_fetch_sub(&readahead_threads, 1);
	if (r->view != r->plain) {   /* the view was a slot */
		r->view = NULL;
		r->cached = -1;
	}
	sodium_memzero(ra->mem, RA_BYTES);
	munmap(ra->mem, RA_BYTES);
	free(ra);
	r->ra = NULL;
}

_Static_assert(KURA_INLINE_MAX_BYTES < KURA_READAHEAD_MIN_BYTES, "inline files are read without read-ahead");

bool files_reader_readahead(struct files_reader *r, uint64_t offset, uint64_t len)
{
	struct readahead *ra;
	uint64_t size, first, last;
	size_t i;

	/* the ring reads the blob: an inline file (KURA_INLINE_MAX_BYTES) is never this long */
	if (!r || r->ra || !r->br || len < KURA_READAHEAD_MIN_BYTES)
		return false;
	size = filecrypt_dec_plain_size(r->dec);
	if (offset >= size)
		return false;
	if (len > size - offset)
		len = size - offset;
	first = offset / FILECRYPT_CHUNK;
	last = (offset + len - 1) / FILECRYPT_CHUNK;
	if (r->cached == (int64_t)first)
		first++;        /* already decrypted (the answer's first chunk, checked before it starts) */
	if (first > last)
		return false;
	if (atomic_fetch_add(&readahead_threads, 1) >= KURA_READAHEAD_THREADS)
		goto no;
	ra = calloc(1, sizeof(*ra));
	if (!ra)
		goto no;
	/* mapped, so it goes back to the system when the download ends instead of staying in
	 * the arena of whichever worker served it */
	ra->mem = mmap(NULL, RA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ra->mem == MAP_FAILED) {
		ra->mem = NULL;
		goto no_mem;
	}
	for (i = 0; i < KURA_READAHEAD_CHUNKS; i++)
		ra->slot[i].data = ra->mem + i * FILECRYPT_RECORD;
	ra->r = r;
	ra->next = first;
	ra->last = last;
	ra->held = -1;
	if (pthread_mutex_init(&ra->mu, NULL) != 0)
		goto no_mem;
	if (pthread_cond_init(&ra->cv, NULL) != 0) {
		pthread_mutex_destroy(&ra->mu);
		goto no_mem;
	}
	if (pthread_create(&ra->thread, NULL, readahead_main, ra) != 0) {
		pthread_cond_destroy(&ra->cv);
		pthread_mutex_destroy(&ra->mu);
		goto no_mem;
	}
	r->ra = ra;
	return true;
no_mem:
	if (ra->mem)
		munmap(ra->mem, RA_BYTES);
	free(ra);
no:
	atomic_fetch_sub(&readahead_threads, 1);
	return false;
}

/* Chunk i from the read-ahead when it is the next in order: 1 with the view set, 0 when
 * the read-ahead cannot give it (none, or out of order: then it is stopped), <0 the error
 * its chunk failed with. */
static int readahead_take(struct files_reader *r, uint64_t i)
{
	struct readahead *ra = r->ra;
	struct ra_slot *s;
	int k;

	if (!ra)
		return 0;
	if (i != ra->next || i > ra->last) {
		readahead_stop(r);
		return 0;
	}
	s = &ra->slot[i % KURA_READAHEAD_CHUNKS];
	pthread_mutex_lock(&ra->mu);
	if (ra->held >= 0) {        /* done with the slot before */
		ra->slot[ra->held % KURA_READAHEAD_CHUNKS].state = SLOT_FREE;
		ra->held = -1;
		pthread_cond_broadcast(&ra->cv);
	}
	r->view = NULL;
	r->cached = -1;
	while (s->state == SLOT_FREE)
		pthread_cond_wait(&ra->cv, &ra->mu);
	k = s->state == SLOT_READY ? 1 : s->err;
	if (k == 1) {
		ra->held = (int64_t)i;
		ra->next = i + 1;
		r->view = s->data;
		r->cached = (int64_t)i;
		r->cached_n = s->n;
	}
	pthread_mutex_unlock(&ra->mu);
	return k;
}

static int load_chunk(struct files_reader *r, uint64_t i)
{
	uint64_t off;
	size_t len, got = 0;
	int k;

	if (r->cached == (int64_t)i)
		return 0;
	k = readahead_take(r, i);
	if (k != 0)
		return k < 0 ? k : 0;
	r->cached = -1;
	r->view = NULL;
	filecrypt_dec_chunk_span(r->dec, i, &off, &len);
	k = source_read_at(r, off, r->rec, len, &got);
	if (k < 0)
		return k;
	if (got != len)
		return -EBADMSG;
	/* a record is at least as long as its plaintext: bounds what may land in plain, even
	 * from a decryption that then fails its tag */
	if (len > r->plain_used)
		r->plain_used = len < FILECRYPT_CHUNK ? len : FILECRYPT_CHUNK;
	k = filecrypt_dec_chunk(r->dec, i, r->rec, len, r->plain, &r->cached_n);
	if (k < 0)
		return k;
	r->cached = (int64_t)i;
	r->view = r->plain;
	return 0;
}

int files_read(struct files_reader *r, uint64_t offset, void *buf, size_t n, size_t *ret_n)
{
	uint64_t size;
	unsigned char *out = buf;
	size_t done = 0;
	int k;

	if (!r || !ret_n)
		return -EINVAL;
	size = filecrypt_dec_plain_size(r->dec);
	if (offset >= size) {
		*ret_n = 0;
		return 0;
	}
	if (n > size - offset)
		n = (size_t)(size - offset);
	while (done < n) {
		uint64_t pos = offset + done, i = pos / FILECRYPT_CHUNK;
		size_t in_chunk = (size_t)(pos % FILECRYPT_CHUNK), take;

		k = load_chunk(r, i);
		if (k < 0)
			return k;
		if (in_chunk >= r->cached_n)
			return -EBADMSG;
		take = r->cached_n - in_chunk;
		if (take > n - done)
			take = n - done;
		memcpy(out + done, r->view + in_chunk, take);
		done += take;
	}
	*ret_n = done;
	return 0;
}

/* ---- key rotation ---- */

struct rewrap {
	int64_t id;
	unsigned char wrapped[WRAPPED_KEY_BYTES];
};

struct old_key {
	int64_t version;
	unsigned char key[TENANT_KEY_BYTES];
};

/* Rewraps the file key of every row of st (id, blob or part id, key version, wrapped key)
 * under newkey, appending (id, new wrapping) to list; *n_work counts them. -EBADMSG for a
 * row whose key cannot be unwrapped (logged with what). */
static int rewrap_rows(struct db_stmt *st, const struct old_key *keys, size_t n_keys, int64_t tenant_id,
		       const unsigned char *newkey, int64_t new_version, const char *what,
		       struct dbuf *list, size_t *n_work)
{
	unsigned char fkey[FILECRYPT_KEY_BYTES];
	struct rewrap one;
	int r;

	while ((r = db_step(st)) > 0) {
		const char *blob_id = db_text(st, 1);
		int64_t v = db_int(st, 2);
		const void *p;
		size_t n = 0, k;

		p = db_blob(st, 3, &n);
		for (k = 0; k < n_keys && keys[k].version != v; k++)
			;
		if (!blob_id || !p || n != WRAPPED_KEY_BYTES || k == n_keys) {
			log_error("files.rotate", "%s %lld of tenant %lld has no usable key (version %lld)", what,
				  (long long)db_int(st, 0), (long long)tenant_id, (long long)v);
			return -EBADMSG;
		}
		one.id = db_int(st, 0);
		r = filekey_unwrap(keys[k].key, tenant_id, v, blob_id, p, fkey);
		if (r == 0)
			r = filekey_wrap(newkey, tenant_id, new_version, blob_id, fkey, one.wrapped);
		sodium_memzero(fkey, sizeof(fkey));
		if (r == 0)
			r = dbuf_add(list, &one, sizeof(one));
		if (r < 0)
			return r;
		(*n_work)++;
	}
	return r;
}

int files_rotate_tenant_key(struct db *db, struct keyring_rt *kr, const struct actor *who,
			    const unsigned char *master, int64_t tenant_id, int64_t *ret_version,
			    int64_t *ret_n_files)
{
	struct old_key *keys = NULL;
	unsigned char wrapped[WRAPPED_KEY_BYTES], newkey[TENANT_KEY_BYTES];
	struct dbuf list;   /* of struct rewrap */
	struct rewrap *work = NULL;
	size_t n_keys = 0, n_work = 0, i;
	int64_t new_version = 0;
	struct db_stmt *st;
	json_t *d = NULL;
	int r;

	dbuf_init(&list, (size_t)KURA_TREE_LIST_MAX * sizeof(struct rewrap));

	if (!db || !master || tenant_id <= 0)
		return -EINVAL;
	keys = sodium_malloc(MAX_KEY_VERSIONS * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	r = db_begin(db);
	if (r < 0)
		goto done;
	/* every file row is rewrapped and the old versions go: no upload may slip in between */
	r = db_lock_tenant(db, tenant_id);
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT version, wrapped FROM tenant_keys WHERE tenant_id = $1"
			  " ORDER BY version", "i", tenant_id);
	while ((r = db_step(st)) > 0) {
		const void *p;
		size_t n = 0;

		if (n_keys == MAX_KEY_VERSIONS) {
			r = -E2BIG;
			break;
		}
		keys[n_keys].version = db_int(st, 0);
		p = db_blob(st, 1, &n);
		if (!p || n != WRAPPED_KEY_BYTES) {
			r = -EBADMSG;
			break;
		}
		r = keyring_unwrap_tenant_key(master, tenant_id, keys[n_keys].version, p,
					      keys[n_keys].key);
		if (r < 0)
			break;
		new_version = keys[n_keys].version + 1;
		n_keys++;
	}
	db_done(st);
	if (r == 0 && n_keys == 0)
		r = -ENOENT;
	if (r < 0)
		goto out;
	r = keyring_new_tenant_key(master, tenant_id, new_version, wrapped);
	if (r == 0)
		r = keyring_unwrap_tenant_key(master, tenant_id, new_version, wrapped, newkey);
	if (r == 0)
		r = db_exec(db, "INSERT INTO tenant_keys (tenant_id, version, alg, wrapped, created_us)"
				" VALUES ($1, $2, $3, $4, $5)", "iitbi", tenant_id, new_version,
			    KEY_WRAP_ALG, wrapped, sizeof(wrapped), clock_now_us());
	if (r < 0)
		goto out;
	st = db_query(db, "SELECT id, blob_id, key_version, wrapped_key FROM file_nodes"
			  " WHERE tenant_id = $1 AND kind = 'file'", "i", tenant_id);
	r = rewrap_rows(st, keys, n_keys, tenant_id, newkey, new_version, "file", &list, &n_work);
	db_done(st);
	if (r < 0)
		goto out;
	work = dbuf_data(&list);   /* malloc'd: aligned for struct rewrap */
	for (i = 0; i < n_work && r == 0; i++)
		r = db_exec(db, "UPDATE file_nodes SET key_version = $3, wrapped_key = $4"
				" WHERE tenant_id = $1 AND id = $2", "iiib", tenant_id, work[i].id,
			    new_version, work[i].wrapped, sizeof(work[i].wrapped));
	/* unfinished resumable uploads hold wrapped file keys too (their part id as blob id) */
	if (r == 0) {
		size_t n_files = n_work;

		st = db_query(db, "SELECT id, part_id, key_version, wrapped_key FROM uploads"
				  " WHERE tenant_id = $1", "i", tenant_id);
		r = rewrap_rows(st, keys, n_keys, tenant_id, newkey, new_version, "upload", &list, &n_work);
		db_done(st);
		work = dbuf_data(&list);   /* the list may have moved as it grew */
		for (i = n_files; i < n_work && r == 0; i++)
			r = db_exec(db, "UPDATE uploads SET key_version = $3, wrapped_key = $4"
					" WHERE tenant_id = $1 AND id = $2", "iiib", tenant_id, work[i].id,
				    new_version, work[i].wrapped, sizeof(work[i].wrapped));
		n_work = n_files;   /* what the record counts: files */
	}
	/* report attachments (issue 9) are sealed the same way (files_seal) */
	if (r == 0) {
		size_t n_files = n_work;

		st = db_query(db, "SELECT id, blob_id, key_version, wrapped_key FROM report_attachments"
				  " WHERE tenant_id = $1", "i", tenant_id);
		r = rewrap_rows(st, keys, n_keys, tenant_id, newkey, new_version, "report attachment", &list, &n_work);
		db_done(st);
		work = dbuf_data(&list);
		for (i = n_files; i < n_work && r == 0; i++)
			r = db_exec(db, "UPDATE report_attachments SET key_version = $3, wrapped_key = $4"
					" WHERE tenant_id = $1 AND id = $2", "iiib", tenant_id, work[i].id,
				    new_version, work[i].wrapped, sizeof(work[i].wrapped));
		n_work = n_files;
	}
	if (r == 0)
		r = db_exec(db, "DELETE FROM tenant_keys WHERE tenant_id = $1 AND version < $2", "ii",
			    tenant_id, new_version);
	if (r == 0) {
		d = json_pack("{s:I, s:I, s:I}", "version", (json_int_t)new_version, "previous_version",
			      (json_int_t)(new_version - 1), "files_rewrapped", (json_int_t)n_work);
		r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
							    .category = AUDIT_OPERATOR,
							    .action = "tenant.key.rotate",
							    .target = "tenant-key", .result = AUDIT_SUCCESS,
							    .details = d });
	}
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
done:
	sodium_memzero(newkey, sizeof(newkey));
	sodium_free(keys);
	dbuf_free(&list);
	json_decref(d);
	if (r == 0) {
		keyring_rt_forget(kr, tenant_id);
		if (ret_version)
			*ret_version = new_version;
		if (ret_n_files)
			*ret_n_files = (int64_t)n_work;
	}
	return r;
}
