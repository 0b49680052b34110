/*
 * Encryption at rest of file content (E1, E2, B1, B4).
 *
 * Key hierarchy: master key (key file) → tenant key (tenant_keys, versioned) → file key
 * (random per file version, stored wrapped in the file's row). Content format (docs/files.md):
 *
 *   header (32 bytes): "KURAFC" | format version (1) | algorithm id | chunk size (u32 BE) |
 *                      reserved (4 zero bytes) | nonce prefix (16 random bytes)
 *   chunks: plaintext cut in FILECRYPT_CHUNK pieces, each sealed as ciphertext || tag (16);
 *           every chunk but the last is full; an empty file has one empty last chunk.
 *
 * Chunk i is sealed with nonce = prefix || i and associated data = header || i (u64 BE) ||
 * last flag (1 byte), so chunks cannot be reordered, dropped, truncated or appended to, and
 * the header cannot be changed, without a tag failure. Readers decrypt only the chunks a
 * range needs. Algorithm ids are stored, so the algorithm can change per file.
 */
#ifndef KURA_CRYPTO_FILECRYPT_H
#define KURA_CRYPTO_FILECRYPT_H
#include "core/core.h"
#include "crypto/crypto.h"

struct db;

#define FILECRYPT_KEY_BYTES 32
#define FILECRYPT_HEADER_BYTES 32
#define FILECRYPT_CHUNK (64 * 1024)
#define FILECRYPT_TAG_BYTES 16
#define FILECRYPT_RECORD (FILECRYPT_CHUNK + FILECRYPT_TAG_BYTES)
#define FILECRYPT_FORMAT 1

enum filecrypt_alg {
	FILECRYPT_AES256GCM = 1,          /* where the CPU has AES-NI */
	FILECRYPT_XCHACHA20POLY1305 = 2,
};

/* AES-256-GCM when crypto_aead_aes256gcm_is_available(), else XChaCha20-Poly1305.
 * KURA_FILECRYPT_ALG=xchacha20poly1305 in the environment (read once) forces the latter. */
enum filecrypt_alg filecrypt_default_alg(void);
const char *filecrypt_alg_name(enum filecrypt_alg alg);
/* 0 or -EINVAL for an unknown name. */
int filecrypt_alg_parse(const char *name, enum filecrypt_alg *ret);

/* Ciphertext bytes for n plaintext bytes (header included). */
uint64_t filecrypt_sealed_size(uint64_t n);

/* ---- streaming encryption ---- */
struct filecrypt_enc;
/* Output sink: called with each piece of ciphertext in order; a negative return stops. */
typedef int (*filecrypt_sink_fn)(void *cls, const void *data, size_t n);
/* The key is copied (sodium_malloc). The header is emitted by the first update or final. */
struct filecrypt_enc *filecrypt_enc_new(const unsigned char key[FILECRYPT_KEY_BYTES],
					enum filecrypt_alg alg);
int filecrypt_enc_update(struct filecrypt_enc *e, const void *data, size_t n,
			 filecrypt_sink_fn sink, void *cls) KURA_WUR;
/* Seals what is left as the last chunk. */
int filecrypt_enc_final(struct filecrypt_enc *e, filecrypt_sink_fn sink, void *cls) KURA_WUR;
uint64_t filecrypt_enc_plain_size(const struct filecrypt_enc *e);
/* ---- resumable uploads (issue 15, files/uploads.c) ----
 * The header the encoder writes (its nonce prefix is what a resumed encoder needs). */
void filecrypt_enc_header(const struct filecrypt_enc *e, unsigned char ret[FILECRYPT_HEADER_BYTES]);
/* An encoder that continues a stream whose header and first next_chunk (full, non-last)
 * chunks are written already: same key, same header, chunk numbering from next_chunk; the
 * header is not emitted again. NULL on failure (bad header, unknown algorithm, memory). */
struct filecrypt_enc *filecrypt_enc_resume(const unsigned char key[FILECRYPT_KEY_BYTES],
					   const unsigned char header[FILECRYPT_HEADER_BYTES],
					   uint64_t next_chunk);
/* Seals a full buffer now as a non-last chunk, for a caller that knows more data follows
 * (the announced length is not reached); nothing when the buffer is not full. */
int filecrypt_enc_flush(struct filecrypt_enc *e, filecrypt_sink_fn sink, void *cls) KURA_WUR;
/* Chunks sealed (and given to the sink) so far; the plaintext they hold is
 * chunks * FILECRYPT_CHUNK bytes while the stream is not final. */
uint64_t filecrypt_enc_sealed_chunks(const struct filecrypt_enc *e);
struct filecrypt_enc *filecrypt_enc_free(struct filecrypt_enc *e);

/* ---- decryption by chunk ---- */
struct filecrypt_dec;
/* Checks the header and the layout implied by sealed_size (header + chunks); -EBADMSG when
 * they do not fit together, -ENOTSUP for an algorithm this machine cannot run. */
struct filecrypt_dec *filecrypt_dec_new(const unsigned char key[FILECRYPT_KEY_BYTES],
					const unsigned char header[FILECRYPT_HEADER_BYTES],
					uint64_t sealed_size, int *ret_err);
uint64_t filecrypt_dec_plain_size(const struct filecrypt_dec *d);
uint64_t filecrypt_dec_n_chunks(const struct filecrypt_dec *d);
/* Where chunk i's record starts in the blob, and its length (ciphertext + tag). */
void filecrypt_dec_chunk_span(const struct filecrypt_dec *d, uint64_t i, uint64_t *ret_off,
			      size_t *ret_len);
/* Opens chunk i (record of the length chunk_span gave) into out (FILECRYPT_CHUNK bytes);
 * *ret_n = plaintext bytes. -EBADMSG when the tag does not verify (out is then zeroed). */
int filecrypt_dec_chunk(struct filecrypt_dec *d, uint64_t i, const unsigned char *record,
			size_t n, unsigned char *out, size_t *ret_n) KURA_WUR;
struct filecrypt_dec *filecrypt_dec_free(struct filecrypt_dec *d);

/* ---- file keys ---- */
/* A new random file key; wrapped under tenant_key with associated data "kura file key" ||
 * tenant_id || key_version || blob_id, so a wrapped key moved to another blob, tenant or
 * version does not open. Output is WRAPPED_KEY_BYTES (nonce || ciphertext || tag). */
int filekey_wrap(const unsigned char tenant_key[TENANT_KEY_BYTES], int64_t tenant_id,
		 int64_t key_version, const char *blob_id,
		 const unsigned char file_key[FILECRYPT_KEY_BYTES],
		 unsigned char ret_wrapped[WRAPPED_KEY_BYTES]) KURA_WUR;
int filekey_unwrap(const unsigned char tenant_key[TENANT_KEY_BYTES], int64_t tenant_id,
		   int64_t key_version, const char *blob_id,
		   const unsigned char wrapped[WRAPPED_KEY_BYTES],
		   unsigned char ret_file_key[FILECRYPT_KEY_BYTES]) KURA_WUR;

/* The runtime keyring (master key and tenant-key cache) is crypto/keyring_rt.h. */

#endif
