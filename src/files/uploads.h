/*
 * Resumable uploads (issue 15): the rows behind tus 1.0 at /api/v1/uploads
 * (http/api_uploads.c). An upload belongs to one account of one tenant and is found by a
 * random token (only its SHA-256 is stored); it names the folder, name and length of the
 * file it will become, and how far it is durably written (a multiple of the 64 KiB chunk).
 * The content goes through files_upload_resume/pause/commit (files.h) into a blob-store part.
 * Errors as in files.h; -EMLINK too many unfinished uploads, -EBUSY being written already.
 */
#ifndef KURA_FILES_UPLOADS_H
#define KURA_FILES_UPLOADS_H
#include "blob/blob.h"
#include "crypto/crypto.h"
#include "crypto/filecrypt.h"
#include "files/files.h"

#define UPLOAD_TOKEN_LEN 32            /* hex characters of a 128-bit token */
#define UPLOADS_URL_PREFIX "/api/v1/uploads/"
#define UPLOAD_PREFIX_HEX 64           /* prefix_sha256: hex SHA-256 of the first bytes */
#define UPLOAD_PREFIX_BYTES 65536      /* ... of the first min(this, length) bytes (client-side) */

struct upload_info {
	int64_t id, tenant_id, account_id, parent_id, length, offset, key_version;
	int64_t created_us, expires_us;
	char part_id[BLOB_PART_ID_LEN + 1];
	char name[KURA_FILE_NAME_MAX + 1];
	char content_type[KURA_CONTENT_TYPE_MAX + 1];
	unsigned char wrapped[WRAPPED_KEY_BYTES];
	unsigned char header[FILECRYPT_HEADER_BYTES];
	char prefix_sha256[UPLOAD_PREFIX_HEX + 1];   /* "" when the client sent none */
};

/* A new upload of length bytes as name (NFC'd) into folder parent_id, for who (an account):
 * the checks of a PUT upload (name, type, folder, quota from length, free-space reserve),
 * a fresh file key and an empty part; expires KURA_UPLOAD_EXPIRY_S from now; the record
 * upload.create. prefix_sha256 (NULL or UPLOAD_PREFIX_HEX lower-case hex, else -EINVAL) is
 * what the client says the first bytes hash to; kept and listed, not checked here. ret_token
 * gets the URL token (UPLOAD_TOKEN_LEN + 1 bytes). */
int uploads_create(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id,
		   int64_t parent_id, const char *name, const char *content_type, int64_t length,
		   const char *prefix_sha256, char *ret_token, struct upload_info *ret) KURA_WUR;
/* A prefix_sha256 value: UPLOAD_PREFIX_HEX characters of 0-9a-f. */
bool uploads_prefix_valid(const char *hex);
/* The unexpired upload of this token that belongs to account_id of tenant_id; -ENOENT for
 * any other (another account's, another tenant's, expired, malformed token). */
int uploads_get(struct db *db, int64_t tenant_id, int64_t account_id, const char *token,
		struct upload_info *ret) KURA_WUR;
/* The unexpired uploads of account_id in tenant_id (at most KURA_UPLOADS_PER_ACCOUNT_MAX),
 * oldest first, as a JSON array of {url, name, content_type, folder_id, folder_path, length,
 * offset, created_at, expires_at}; url is UPLOADS_URL_PREFIX + the token, derived again from
 * the upload's file key (null when that cannot be done). */
int uploads_list(struct files *f, struct db *db, int64_t tenant_id, int64_t account_id,
		 json_t **ret) KURA_WUR;
/* The upload's file key (FILECRYPT_KEY_BYTES). */
int uploads_file_key(struct files *f, struct db *db, const struct upload_info *u,
		     unsigned char *ret_key) KURA_WUR;
/* Records the durable offset moving from u->offset to offset (-ESTALE when it moved meanwhile). */
int uploads_advance(struct db *db, const struct upload_info *u, int64_t offset) KURA_WUR;
/* Deletes the row and its part; the record upload.terminate (action) unless action is NULL. */
int uploads_remove(struct files *f, struct db *db, const struct actor *who,
		   const struct upload_info *u, const char *action) KURA_WUR;
/* Removes every upload that expired before now_us (rows, parts; upload.expire records). */
int uploads_sweep_expired(struct files *f, struct db *db, int64_t now_us, int64_t *ret_n) KURA_WUR;
/* One request at a time per upload: -EBUSY when it is being written (or too many are). */
int uploads_claim(struct files *f, int64_t id) KURA_WUR;
void uploads_release(struct files *f, int64_t id);
#endif
