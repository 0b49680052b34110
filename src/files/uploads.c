/*
 * Resumable uploads (issue 15): the rows and parts behind tus 1.0 (http/api_uploads.c,
 * docs/files.md "Resumable uploads").
 *
 * An upload is a row (uploads, migration 0013) and a part in the blob store that holds the
 * content header and the whole sealed 64 KiB chunks written so far. The row's next_offset
 * only moves after the part was fsync'ed up to it, so after a crash the row says how much is
 * durable; anything the part holds after that is cut off when the next request opens it. A
 * chunk that is not whole yet stays in the request's memory and is lost with it: the client
 * resends from the offset HEAD reports (tus allows that offset to be smaller than what it
 * sent). The last chunk is sealed at completion, and the part becomes a blob and the file is
 * recorded exactly as a PUT upload (files_upload_commit), the row deleted in that transaction.
 *
 * SECURITY: the URL token is 128 bits derived from the upload's random file key (a keyed
 * BLAKE2b of a fixed label, so it says nothing of the key); the database holds only its
 * SHA-256, and a lookup names tenant and account too, so another account's or tenant's token
 * is not found. Deriving it lets uploads_list give the owner its upload URLs back after a
 * page reload (the browser keeps nothing), by unwrapping each key again.
 * The file key is random per upload, wrapped under the tenant key like a file's; the part
 * holds ciphertext only. One request at a time writes an upload (uploads_claim).
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "blob/blob.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/filecrypt.h"
#include "crypto/keyring_rt.h"
#include "files/files_int.h"
#include "files/uploads.h"
#include "store/db.h"

#define UPLOAD_COLS \
	"id, tenant_id, account_id, parent_id, length, next_offset, key_version, created_us," \
	" expires_us, part_id, name, content_type, wrapped_key, header, prefix_sha256"

static void upload_token_hash(const char *token, char ret[crypto_hash_sha256_BYTES * 2 + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	hex_encode(h, sizeof(h), ret);
}

#define UPLOAD_TOKEN_LABEL "kura tus upload url token v1"

/* The URL token of the upload whose file key is fkey: UPLOAD_TOKEN_LEN hex characters. */
static void upload_token_of(const unsigned char *fkey, char ret[UPLOAD_TOKEN_LEN + 1])
{
	unsigned char t[UPLOAD_TOKEN_LEN / 2];

	crypto_generichash(t, sizeof(t), (const unsigned char *)UPLOAD_TOKEN_LABEL,
			   strlen(UPLOAD_TOKEN_LABEL), fkey, FILECRYPT_KEY_BYTES);
	hex_encode(t, sizeof(t), ret);
	sodium_memzero(t, sizeof(t));
}

static void read_upload(struct db_stmt *st, void *ret)
{
	struct upload_info *u = ret;
	const void *p;
	size_t n = 0;

	memset(u, 0, sizeof(*u));
	u->id = db_int(st, 0);
	u->tenant_id = db_int(st, 1);
	u->account_id = db_int(st, 2);
	u->parent_id = db_int(st, 3);
	u->length = db_int(st, 4);
	u->offset = db_int(st, 5);
	u->key_version = db_int(st, 6);
	u->created_us = db_int(st, 7);
	u->expires_us = db_int(st, 8);
	str_copy(u->part_id, sizeof(u->part_id), db_text(st, 9) ? db_text(st, 9) : "");
	str_copy(u->name, sizeof(u->name), db_text(st, 10) ? db_text(st, 10) : "");
	str_copy(u->content_type, sizeof(u->content_type), db_text(st, 11) ? db_text(st, 11) : "");
	p = db_blob(st, 12, &n);
	if (p && n == sizeof(u->wrapped))
		memcpy(u->wrapped, p, n);
	else
		u->key_version = -1;   /* refused by uploads_file_key */
	p = db_blob(st, 13, &n);
	if (p && n == sizeof(u->header))
		memcpy(u->header, p, n);
	else
		u->key_version = -1;
	str_copy(u->prefix_sha256, sizeof(u->prefix_sha256), db_text(st, 14) ? db_text(st, 14) : "");
}

static void random_hex(char *out, size_t n_hex)
{
	unsigned char raw[32];

	randombytes_buf(raw, n_hex / 2);
	hex_encode(raw, n_hex / 2, out);
	sodium_memzero(raw, sizeof(raw));
}

static int audit_upload(struct db *db, const struct actor *who, const struct upload_info *u,
			const char *action)
{
	char target[48];
	json_t *d = json_pack("{s:s, s:I, s:I, s:I}", "name", u->name, "parent_id",
			      (json_int_t)u->parent_id, "length", (json_int_t)u->length, "offset",
			      (json_int_t)u->offset);
	int r;

	str_printf(target, sizeof(target), "upload:%lld", (long long)u->id);
	r = audit_record(db, &(struct audit_event){ .tenant_id = u->tenant_id, .actor = who,
						    .category = AUDIT_OPERATION, .action = action,
						    .target = target, .result = AUDIT_SUCCESS,
						    .details = d });
	json_decref(d);
	return r;
}

int uploads_create(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id,
		   int64_t parent_id, const char *name, const char *content_type, int64_t length,
		   const char *prefix_sha256, char *ret_token, struct upload_info *ret)
{
	unsigned char tkey[TENANT_KEY_BYTES];
	unsigned char *fkey = NULL;
	char token[UPLOAD_TOKEN_LEN + 1], hash[crypto_hash_sha256_BYTES * 2 + 1];
	struct filecrypt_enc *enc = NULL;
	struct blob_writer *w = NULL;
	struct upload_info u;
	struct db_stmt *st;
	bool part = false;
	int64_t now = clock_now_us(), n_open = 0;
	int r;

	if (!f || !db || !who || who->account_id <= 0 || !ret_token || !ret)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	if (!content_type || !*content_type)
		content_type = "application/octet-stream";
	r = files_upload_check(db, tenant_id, parent_id, name, content_type, length, u.name,
			       sizeof(u.name));
	if (r < 0)
		return r;
	u.tenant_id = tenant_id;
	u.account_id = who->account_id;
	u.parent_id = parent_id;
	u.length = length;
	u.created_us = now;
	u.expires_us = now + (int64_t)KURA_UPLOAD_EXPIRY_S * 1000000;
	str_copy(u.content_type, sizeof(u.content_type), content_type);
	if (prefix_sha256 && !uploads_prefix_valid(prefix_sha256))
		return -EINVAL;
	str_copy(u.prefix_sha256, sizeof(u.prefix_sha256), prefix_sha256 ? prefix_sha256 : "");
	random_hex(u.part_id, BLOB_PART_ID_LEN);

	fkey = secmem_alloc(FILECRYPT_KEY_BYTES);
	if (!fkey)
		return -ENOMEM;
	randombytes_buf(fkey, FILECRYPT_KEY_BYTES);
	upload_token_of(fkey, token);
	upload_token_hash(token, hash);
	enc = filecrypt_enc_new(fkey, filecrypt_default_alg());
	if (!enc) {
		r = -ENOMEM;
		goto out;
	}
	filecrypt_enc_header(enc, u.header);
	r = keyring_rt_current(f->kr, db, tenant_id, &u.key_version, tkey);
	if (r == 0)
		r = filekey_wrap(tkey, tenant_id, u.key_version, u.part_id, fkey, u.wrapped);
	sodium_memzero(tkey, sizeof(tkey));
	if (r < 0)
		goto out;
	/* the part: the header, durable before the row that names it */
	r = blob_part_open(f->bs, tenant_id, u.part_id, 0, &w);
	if (r < 0)
		goto out;
	part = true;
	r = blob_write(w, u.header, sizeof(u.header));
	if (r == 0)
		r = blob_part_sync(w);
	w = blob_abort(w);   /* closes; the part stays */
	if (r < 0)
		goto out;

	r = db_begin(db);
	if (r < 0)
		goto out;
	/* counted, then inserted: the count must hold at the insert */
	r = db_lock_tenant(db, tenant_id);
	if (r == 0) {
		st = db_query(db, "SELECT COUNT(*) FROM uploads WHERE tenant_id = $1 AND account_id = $2",
			      "ii", tenant_id, u.account_id);
		r = db_step(st);
		n_open = r > 0 ? db_int(st, 0) : 0;
		r = r < 0 ? r : 0;
		db_done(st);
	}
	if (r == 0 && n_open >= KURA_UPLOADS_PER_ACCOUNT_MAX)
		r = -EMLINK;
	if (r == 0)
		r = db_insert(db, &u.id, "INSERT INTO uploads (tenant_id, account_id, token_hash, part_id,"
				       " parent_id, name, content_type, length, next_offset, alg, key_version,"
				       " wrapped_key, header, created_us, expires_us, prefix_sha256) VALUES ($1,"
				       " $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13, $14, $15)"
				       " RETURNING id",
			      "iittittitibbiit", tenant_id, u.account_id, hash, u.part_id, parent_id,
			      u.name, u.content_type, length,
			      filecrypt_alg_name((enum filecrypt_alg)u.header[7]), u.key_version,
			      u.wrapped, sizeof(u.wrapped), u.header, sizeof(u.header), now, u.expires_us,
			      *u.prefix_sha256 ? u.prefix_sha256 : NULL);
	if (r == 0)
		r = audit_upload(db, who, &u, "upload.create");
	if (r == 0)
		r = db_commit(db);
	else
		db_rollback(db);
out:
	if (r < 0 && part) {
		int k = blob_part_delete(f->bs, tenant_id, u.part_id);

		if (k < 0)
			log_warn("files.uploads", "part %s left behind: %s", u.part_id, strerror(-k));
	}
	filecrypt_enc_free(enc);
	secmem_free(fkey, FILECRYPT_KEY_BYTES);
	if (r == 0) {
		str_copy(ret_token, UPLOAD_TOKEN_LEN + 1, token);
		*ret = u;
	}
	sodium_memzero(token, sizeof(token));
	return r;
}

bool uploads_prefix_valid(const char *hex)
{
	size_t i;

	if (!hex || strlen(hex) != UPLOAD_PREFIX_HEX)
		return false;
	for (i = 0; i < UPLOAD_PREFIX_HEX; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return true;
}

int uploads_get(struct db *db, int64_t tenant_id, int64_t account_id, const char *token,
		struct upload_info *ret)
{
	char hash[crypto_hash_sha256_BYTES * 2 + 1];
	size_t i;

	if (!db || !token || !ret || strlen(token) != UPLOAD_TOKEN_LEN)
		return -ENOENT;
	for (i = 0; i < UPLOAD_TOKEN_LEN; i++)
		if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
			return -ENOENT;
	upload_token_hash(token, hash);
	return db_one(db_query(db, "SELECT " UPLOAD_COLS " FROM uploads WHERE token_hash = $1"
				   " AND tenant_id = $2 AND account_id = $3 AND expires_us > $4",
			       "tiii", hash, tenant_id, account_id, clock_now_us()),
		      read_upload, ret);
}

/* One listed upload as JSON (url null when no token can be given). */
static json_t *listed_json(const struct upload_info *u, const char *token, const char *folder_path)
{
	char url[sizeof(UPLOADS_URL_PREFIX) + UPLOAD_TOKEN_LEN], created[CLOCK_RFC3339_LEN],
		expires[CLOCK_RFC3339_LEN];

	str_printf(url, sizeof(url), "%s%s", UPLOADS_URL_PREFIX, token);
	clock_format_utc(u->created_us, created, sizeof(created));
	clock_format_utc(u->expires_us, expires, sizeof(expires));
	return json_pack("{s:o, s:s, s:s, s:I, s:s?, s:I, s:I, s:s, s:s, s:s?}", "url",
			 *token ? json_string(url) : json_null(), "name", u->name, "content_type",
			 u->content_type, "folder_id", (json_int_t)u->parent_id, "folder_path", folder_path,
			 "length", (json_int_t)u->length, "offset", (json_int_t)u->offset, "created_at",
			 created, "expires_at", expires, "prefix_sha256",
			 *u->prefix_sha256 ? u->prefix_sha256 : NULL);
}

int uploads_list(struct files *f, struct db *db, int64_t tenant_id, int64_t account_id,
		 json_t **ret)
{
	struct upload_info *rows = NULL;
	char (*hashes)[crypto_hash_sha256_BYTES * 2 + 1] = NULL;
	char token[UPLOAD_TOKEN_LEN + 1], again[crypto_hash_sha256_BYTES * 2 + 1];
	const size_t path_size = KURA_FOLDER_DEPTH_MAX * (KURA_FILE_NAME_MAX + 1) + 1;
	unsigned char *key = NULL;
	char *path = NULL;
	json_t *arr = NULL;
	struct db_stmt *st;
	size_t n = 0, i;
	int r = 0;

	if (!f || !db || !ret)
		return -EINVAL;
	*ret = NULL;
	rows = calloc(KURA_UPLOADS_PER_ACCOUNT_MAX, sizeof(*rows));
	hashes = calloc(KURA_UPLOADS_PER_ACCOUNT_MAX, sizeof(*hashes));
	path = malloc(path_size);
	key = secmem_alloc(FILECRYPT_KEY_BYTES);
	arr = json_array();
	if (!rows || !hashes || !path || !key || !arr) {
		r = -ENOMEM;
		goto out;
	}
	st = db_query(db, "SELECT " UPLOAD_COLS ", token_hash FROM uploads WHERE tenant_id = $1"
			  " AND account_id = $2 AND expires_us > $3 ORDER BY created_us, id LIMIT $4",
		      "iiii", tenant_id, account_id, clock_now_us(),
		      (int64_t)KURA_UPLOADS_PER_ACCOUNT_MAX);
	while (n < KURA_UPLOADS_PER_ACCOUNT_MAX && (r = db_step(st)) > 0) {
		read_upload(st, &rows[n]);
		str_copy(hashes[n], sizeof(hashes[n]), db_text(st, 15) ? db_text(st, 15) : "");
		n++;
	}
	db_done(st);
	if (r < 0)
		goto out;
	r = 0;
	for (i = 0; i < n && r == 0; i++) {
		json_t *o;
		int k;

		token[0] = '\0';
		/* the token is derived again from the file key; one that does not unwrap, or an
		 * upload made before tokens were derived (a random one), gets no URL: it expires */
		if (uploads_file_key(f, db, &rows[i], key) == 0) {
			upload_token_of(key, token);
			upload_token_hash(token, again);
			if (sodium_memcmp(again, hashes[i], sizeof(again)) != 0)
				token[0] = '\0';
		}
		/* the folder's path ("/" for the root); null when it is gone meanwhile */
		k = files_node_path(db, tenant_id, rows[i].parent_id, path, path_size);
		o = listed_json(&rows[i], token, k < 0 ? NULL : *path ? path : "/");
		if (!o || json_array_append_new(arr, o))
			r = -ENOMEM;
	}
out:
	sodium_memzero(token, sizeof(token));
	secmem_free(key, FILECRYPT_KEY_BYTES);
	free(path);
	free(hashes);
	free(rows);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return 0;
}

int uploads_file_key(struct files *f, struct db *db, const struct upload_info *u,
		     unsigned char *ret_key)
{
	unsigned char tkey[TENANT_KEY_BYTES];
	int r;

	if (!f || !db || !u || !ret_key || u->key_version < 0)
		return -EBADMSG;
	r = keyring_rt_get(f->kr, db, u->tenant_id, u->key_version, tkey);
	if (r == 0)
		r = filekey_unwrap(tkey, u->tenant_id, u->key_version, u->part_id, u->wrapped, ret_key);
	sodium_memzero(tkey, sizeof(tkey));
	return r == -ENOENT ? -EBADMSG : r;
}

int uploads_advance(struct db *db, const struct upload_info *u, int64_t offset)
{
	int r;

	if (!db || !u || offset < u->offset || offset > u->length)
		return -EINVAL;
	if (offset == u->offset)
		return 0;
	r = db_exec(db, "UPDATE uploads SET next_offset = $3 WHERE tenant_id = $1 AND id = $2"
			" AND next_offset = $4", "iiii", u->tenant_id, u->id, offset, u->offset);
	if (r == 0 && db_changes(db) != 1)
		r = -ESTALE;
	return r;
}

int uploads_remove(struct files *f, struct db *db, const struct actor *who,
		   const struct upload_info *u, const char *action)
{
	int r, k;

	if (!f || !db || !u)
		return -EINVAL;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_exec(db, "DELETE FROM uploads WHERE tenant_id = $1 AND id = $2", "ii", u->tenant_id, u->id);
	if (r == 0 && db_changes(db) != 1)
		r = -ENOENT;
	if (r == 0 && action)
		r = audit_upload(db, who, u, action);
	if (r == 0)
		r = db_commit(db);
	else
		db_rollback(db);
	if (r < 0)
		return r;
	/* after the row: a crash in between leaves a part no row names (harmless bytes of
	 * ciphertext whose key is gone with the row) */
	k = blob_part_delete(f->bs, u->tenant_id, u->part_id);
	if (k < 0 && k != -ENOENT)
		log_warn("files.uploads", "part %s left behind: %s", u->part_id, strerror(-k));
	return 0;
}

int uploads_sweep_expired(struct files *f, struct db *db, int64_t now_us, int64_t *ret_n)
{
	struct upload_info batch[KURA_UPLOAD_SWEEP_BATCH];
	int64_t total = 0;
	size_t n, i;
	int r = 0;

	if (!f || !db)
		return -EINVAL;
	do {
		struct db_stmt *st = db_query(db, "SELECT " UPLOAD_COLS " FROM uploads WHERE expires_us <= $1"
						  " ORDER BY expires_us LIMIT $2", "ii", now_us,
					      (int64_t)KURA_UPLOAD_SWEEP_BATCH);

		n = 0;
		while (n < KURA_UPLOAD_SWEEP_BATCH && (r = db_step(st)) > 0)
			read_upload(st, &batch[n++]);
		db_done(st);
		if (r < 0)
			break;
		r = 0;
		for (i = 0; i < n && r == 0; i++) {
			if (uploads_claim(f, batch[i].id) < 0)
				continue;   /* being written now; the next sweep takes it */
			r = uploads_remove(f, db, &actor_system, &batch[i], "upload.expire");
			uploads_release(f, batch[i].id);
			if (r == -ENOENT)
				r = 0;
			else if (r == 0)
				total++;
		}
	} while (r == 0 && n == KURA_UPLOAD_SWEEP_BATCH && total > 0);
	if (ret_n)
		*ret_n = total;
	return r;
}

int uploads_claim(struct files *f, int64_t id)
{
	size_t i, free_slot = KURA_UPLOADS_INFLIGHT_MAX;
	int r = 0;

	if (!f || id <= 0)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < KURA_UPLOADS_INFLIGHT_MAX; i++) {
		if (f->uploads_busy[i] == id) {
			r = -EBUSY;
			break;
		}
		if (!f->uploads_busy[i] && free_slot == KURA_UPLOADS_INFLIGHT_MAX)
			free_slot = i;
	}
	if (r == 0 && free_slot == KURA_UPLOADS_INFLIGHT_MAX)
		r = -EBUSY;
	if (r == 0)
		f->uploads_busy[free_slot] = id;
	pthread_mutex_unlock(&f->lock);
	return r;
}

void uploads_release(struct files *f, int64_t id)
{
	size_t i;

	if (!f || id <= 0)
		return;
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < KURA_UPLOADS_INFLIGHT_MAX; i++)
		if (f->uploads_busy[i] == id)
			f->uploads_busy[i] = 0;
	pthread_mutex_unlock(&f->lock);
}
