/*
 * The chunked AEAD content format (filecrypt.h, docs/files.md) and file-key wrapping.
 *
 * Encryption buffers at most one chunk: a full buffer is sealed as a non-last chunk only
 * when more data arrives, so the last chunk is known at final() whatever the size, and the
 * layout is a pure function of the plaintext size. Decryption derives the layout from the
 * sealed size and the header, and checks each chunk's tag before releasing any byte.
 *
 * SECURITY: nonces are prefix || chunk index under a per-file random key, so no nonce
 * repeats for a key. The whole header and the last-chunk flag are in every chunk's
 * associated data. XChaCha20 keys live in sodium_malloc'ed memory and are wiped on free; a
 * failed open zeroes its output.
 *
 * AES-256-GCM runs on OpenSSL's libcrypto (EVP), not libsodium: the same algorithm and the
 * same bytes (test_golden's vectors), at three times libsodium 1.0.18's rate on this kind of
 * CPU (docs/performance.md), which bounds large uploads and downloads. Its key schedule lives
 * in the EVP context, which OpenSSL cleanses when it is freed. It is still only chosen where
 * the CPU has AES-NI and carry-less multiply (libsodium's check), so the constant-time
 * hardware path is the one used.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/filecrypt.h"

#define MAGIC "KURAFC"
#define MAGIC_LEN 6
#define PREFIX_BYTES 16
#define AD_BYTES (FILECRYPT_HEADER_BYTES + 8 + 1)
#define FILEKEY_AD_PREFIX "kura file key"
#define BLOB_ID_MAX 64

_Static_assert(crypto_aead_aes256gcm_ABYTES == FILECRYPT_TAG_BYTES, "gcm tag");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == FILECRYPT_TAG_BYTES, "xchacha tag");
_Static_assert(crypto_aead_aes256gcm_KEYBYTES == FILECRYPT_KEY_BYTES, "gcm key");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == FILECRYPT_KEY_BYTES, "xchacha key");

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

enum filecrypt_alg filecrypt_default_alg(void)
{
	static int forced = -1;

	if (forced < 0) {
		const char *e = getenv("KURA_FILECRYPT_ALG");

		forced = e && !strcmp(e, "xchacha20poly1305") ? 1 : 0;
	}
	if (!forced && crypto_aead_aes256gcm_is_available())
		return FILECRYPT_AES256GCM;
	return FILECRYPT_XCHACHA20POLY1305;
}

const char *filecrypt_alg_name(enum filecrypt_alg alg)
{
	switch (alg) {
	case FILECRYPT_AES256GCM: return "aes256gcm";
	case FILECRYPT_XCHACHA20POLY1305: return "xchacha20poly1305";
	}
	return "unknown";
}

int filecrypt_alg_parse(const char *name, enum filecrypt_alg *ret)
{
	if (name && !strcmp(name, "aes256gcm"))
		*ret = FILECRYPT_AES256GCM;
	else if (name && !strcmp(name, "xchacha20poly1305"))
		*ret = FILECRYPT_XCHACHA20POLY1305;
	else
		return -EINVAL;
	return 0;
}

uint64_t filecrypt_sealed_size(uint64_t n)
{
	uint64_t chunks = n == 0 ? 1 : (n + FILECRYPT_CHUNK - 1) / FILECRYPT_CHUNK;

	return FILECRYPT_HEADER_BYTES + n + chunks * FILECRYPT_TAG_BYTES;
}

/* ---- the per-file cipher state, shared by both directions ---- */

struct cipher {
	enum filecrypt_alg alg;
	unsigned char header[FILECRYPT_HEADER_BYTES];
	unsigned char *key;                       /* sodium_malloc: key (xchacha) */
	EVP_CIPHER_CTX *gcm;                      /* expanded key (aes), one direction */
};

static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* encrypt: 1 for sealing, 0 for opening (an EVP context has one direction). */
static int cipher_init(struct cipher *c, const unsigned char *key, enum filecrypt_alg alg,
		       int encrypt)
{
	c->alg = alg;
	if (alg == FILECRYPT_AES256GCM) {
		if (!crypto_aead_aes256gcm_is_available())
			return -ENOTSUP;
		pthread_once(&gcm_once, gcm_fetch);
		if (!gcm_cipher)
			return -ENOTSUP;
		c->gcm = EVP_CIPHER_CTX_new();
		if (!c->gcm)
			return -ENOMEM;
		if (EVP_CipherInit_ex2(c->gcm, gcm_cipher, key, NULL, encrypt, NULL) != 1)
			return -EIO;
		return 0;
	}
	if (alg != FILECRYPT_XCHACHA20POLY1305)
		return -ENOTSUP;
	c->key = secmem_alloc(FILECRYPT_KEY_BYTES);
	if (!c->key)
		return -ENOMEM;
	memcpy(c->key, key, FILECRYPT_KEY_BYTES);
	return 0;
}

static void cipher_done(struct cipher *c)
{
	EVP_CIPHER_CTX_free(c->gcm);            /* cleanses the key schedule */
	secmem_free(c->key, FILECRYPT_KEY_BYTES);
	c->gcm = NULL;
	c->key = NULL;
}

static void chunk_nonce_ad(const struct cipher *c, uint64_t i, bool last,
			   unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES],
			   unsigned char ad[AD_BYTES])
{
	const unsigned char *prefix = c->header + FILECRYPT_HEADER_BYTES - PREFIX_BYTES;

	if (c->alg == FILECRYPT_AES256GCM) {
		memcpy(nonce, prefix, crypto_aead_aes256gcm_NPUBBYTES - 8);   /* 4 + 8 = 12 */
		put_be64(nonce + crypto_aead_aes256gcm_NPUBBYTES - 8, i);
	} else {
		memcpy(nonce, prefix, PREFIX_BYTES);                          /* 16 + 8 = 24 */
		put_be64(nonce + PREFIX_BYTES, i);
	}
	memcpy(ad, c->header, FILECRYPT_HEADER_BYTES);
	put_be64(ad + FILECRYPT_HEADER_BYTES, i);
	ad[FILECRYPT_HEADER_BYTES + 8] = last ? 1 : 0;
}

/* One chunk with AES-256-GCM: 12-byte nonce, the associated data, ciphertext then the
 * 16-byte tag at out + n (the layout libsodium's detached calls produced). */
static int gcm_seal(EVP_CIPHER_CTX *x, const unsigned char *nonce, const unsigned char ad[AD_BYTES],
		    const unsigned char *in, size_t n, unsigned char *out)
{
	int len = 0, fin = 0;

	if (n > INT_MAX || EVP_EncryptInit_ex2(x, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(x, NULL, &len, ad, AD_BYTES) != 1 ||
	    EVP_EncryptUpdate(x, out, &len, in, (int)n) != 1 || (size_t)len != n ||
	    EVP_EncryptFinal_ex(x, out + len, &fin) != 1 || fin != 0 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, FILECRYPT_TAG_BYTES, out + n) != 1)
		return -EIO;
	return 0;
}

/* Opens one chunk; the tag is checked by EVP_DecryptFinal_ex (the caller wipes out on
 * failure). 0 or -1. */
static int gcm_open(EVP_CIPHER_CTX *x, const unsigned char *nonce, const unsigned char ad[AD_BYTES],
		    const unsigned char *in, size_t n, unsigned char *out)
{
	unsigned char tag[FILECRYPT_TAG_BYTES];
	int len = 0, fin = 0;

	memcpy(tag, in + n, sizeof(tag));
	if (n > INT_MAX || EVP_DecryptInit_ex2(x, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(x, NULL, &len, ad, AD_BYTES) != 1 ||
	    EVP_DecryptUpdate(x, out, &len, in, (int)n) != 1 || (size_t)len != n ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1 ||
	    EVP_DecryptFinal_ex(x, out + len, &fin) != 1 || fin != 0)
		return -1;
	return 0;
}

static int cipher_seal(const struct cipher *c, uint64_t i, bool last, const unsigned char *in,
		       size_t n, unsigned char *out)
{
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char ad[AD_BYTES];
	unsigned long long tag_len = 0;
	int rc;

	chunk_nonce_ad(c, i, last, nonce, ad);
	if (c->alg == FILECRYPT_AES256GCM)
		return gcm_seal(c->gcm, nonce, ad, in, n, out);
	else
		rc = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, out + n, &tag_len, in, n,
									 ad, sizeof(ad), NULL, nonce,
									 c->key);
	return rc == 0 && tag_len == FILECRYPT_TAG_BYTES ? 0 : -EIO;
}

static int cipher_open(const struct cipher *c, uint64_t i, bool last, const unsigned char *in,
		       size_t n_plain, unsigned char *out)
{
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char ad[AD_BYTES];
	int rc;

	chunk_nonce_ad(c, i, last, nonce, ad);
	if (c->alg == FILECRYPT_AES256GCM)
		rc = gcm_open(c->gcm, nonce, ad, in, n_plain, out);
	else
		rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(out, NULL, in, n_plain,
									 in + n_plain, ad, sizeof(ad),
									 nonce, c->key);
	if (rc != 0) {
		sodium_memzero(out, n_plain);
		return -EBADMSG;
	}
	return 0;
}

/* ---- encryption ---- */

struct filecrypt_enc {
	struct cipher c;
	unsigned char *buf;       /* FILECRYPT_CHUNK plaintext (sodium_malloc) */
	size_t n_buf;
	size_t dirty;             /* bytes of buf (and of out, + tag) written since the last wipe */
	unsigned char *out;       /* FILECRYPT_RECORD ciphertext */
	uint64_t next_chunk, total;
	bool header_sent, finished;
};

struct filecrypt_enc *filecrypt_enc_new(const unsigned char key[FILECRYPT_KEY_BYTES],
					enum filecrypt_alg alg)
{
	struct filecrypt_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cipher_init(&e->c, key, alg, 1) < 0)
		return filecrypt_enc_free(e);
	e->buf = secmem_alloc(FILECRYPT_CHUNK);
	e->out = malloc(FILECRYPT_RECORD);
	if (!e->buf || !e->out)
		return filecrypt_enc_free(e);
	memcpy(e->c.header, MAGIC, MAGIC_LEN);
	e->c.header[6] = FILECRYPT_FORMAT;
	e->c.header[7] = (unsigned char)alg;
	put_be32(e->c.header + 8, FILECRYPT_CHUNK);
	memset(e->c.header + 12, 0, 4);
	randombytes_buf(e->c.header + FILECRYPT_HEADER_BYTES - PREFIX_BYTES, PREFIX_BYTES);
	return e;
}

struct filecrypt_enc *filecrypt_enc_free(struct filecrypt_enc *e)
{
	if (!e)
		return NULL;
	cipher_done(&e->c);
	/* only what was written: a 4 KiB file leaves 60 KiB of each buffer as it found them
	 * (three 64 KiB wipes were ~3 % of a small upload's CPU) */
	secmem_free_used(e->buf, FILECRYPT_CHUNK, e->dirty);
	if (e->out) {
		sodium_memzero(e->out, e->dirty ? e->dirty + FILECRYPT_TAG_BYTES : 0);
		free(e->out);
	}
	free(e);
	return NULL;
}

static int emit_header(struct filecrypt_enc *e, filecrypt_sink_fn sink, void *cls)
{
	if (e->header_sent)
		return 0;
	e->header_sent = true;
	return sink(cls, e->c.header, FILECRYPT_HEADER_BYTES);
}

static int seal_buffer(struct filecrypt_enc *e, bool last, filecrypt_sink_fn sink, void *cls)
{
	int r = cipher_seal(&e->c, e->next_chunk, last, e->buf, e->n_buf, e->out);

	if (r < 0)
		return r;
	e->next_chunk++;
	r = sink(cls, e->out, e->n_buf + FILECRYPT_TAG_BYTES);
	e->n_buf = 0;
	return r;
}

int filecrypt_enc_update(struct filecrypt_enc *e, const void *data, size_t n,
			 filecrypt_sink_fn sink, void *cls)
{
	const unsigned char *p = data;
	int r;

	if (!e || e->finished || (!data && n))
		return -EINVAL;
	r = emit_header(e, sink, cls);
	while (r == 0 && n > 0) {
		size_t take;

		if (e->n_buf == FILECRYPT_CHUNK) {
			r = seal_buffer(e, false, sink, cls);   /* more data follows: not the last */
			if (r < 0)
				break;
		}
		take = FILECRYPT_CHUNK - e->n_buf;
		if (take > n)
			take = n;
		memcpy(e->buf + e->n_buf, p, take);
		e->n_buf += take;
		if (e->n_buf > e->dirty)
			e->dirty = e->n_buf;
		e->total += take;
		p += take;
		n -= take;
	}
	return r;
}

int filecrypt_enc_final(struct filecrypt_enc *e, filecrypt_sink_fn sink, void *cls)
{
	int r;

	if (!e || e->finished)
		return -EINVAL;
	r = emit_header(e, sink, cls);
	if (r == 0)
		r = seal_buffer(e, true, sink, cls);
	e->finished = true;
	sodium_memzero(e->buf, e->dirty);   /* out keeps its dirty mark: wiped at the free */
	return r;
}

uint64_t filecrypt_enc_plain_size(const struct filecrypt_enc *e)
{
	return e->total;
}

void filecrypt_enc_header(const struct filecrypt_enc *e, unsigned char ret[FILECRYPT_HEADER_BYTES])
{
	memcpy(ret, e->c.header, FILECRYPT_HEADER_BYTES);
}

struct filecrypt_enc *filecrypt_enc_resume(const unsigned char key[FILECRYPT_KEY_BYTES],
					   const unsigned char header[FILECRYPT_HEADER_BYTES],
					   uint64_t next_chunk)
{
	struct filecrypt_enc *e;

	if (!key || !header || memcmp(header, MAGIC, MAGIC_LEN) || header[6] != FILECRYPT_FORMAT ||
	    get_be32(header + 8) != FILECRYPT_CHUNK || get_be32(header + 12) != 0 ||
	    next_chunk > UINT64_MAX / FILECRYPT_CHUNK)
		return NULL;
	e = filecrypt_enc_new(key, (enum filecrypt_alg)header[7]);
	if (!e)
		return NULL;
	memcpy(e->c.header, header, FILECRYPT_HEADER_BYTES);
	e->header_sent = true;
	e->next_chunk = next_chunk;
	e->total = next_chunk * FILECRYPT_CHUNK;
	return e;
}

int filecrypt_enc_flush(struct filecrypt_enc *e, filecrypt_sink_fn sink, void *cls)
{
	int r;

	if (!e || e->finished)
		return -EINVAL;
	r = emit_header(e, sink, cls);
	if (r == 0 && e->n_buf == FILECRYPT_CHUNK)
		r = seal_buffer(e, false, sink, cls);
	return r;
}

uint64_t filecrypt_enc_sealed_chunks(const struct filecrypt_enc *e)
{
	return e->next_chunk;
}

/* ---- decryption ---- */

struct filecrypt_dec {
	struct cipher c;
	uint32_t chunk;
	uint64_t plain, n_chunks;
};

struct filecrypt_dec *filecrypt_dec_new(const unsigned char key[FILECRYPT_KEY_BYTES],
					const unsigned char header[FILECRYPT_HEADER_BYTES],
					uint64_t sealed_size, int *ret_err)
{
	struct filecrypt_dec *d = NULL;
	uint64_t body, full, rem;
	uint32_t chunk;
	int r = -EBADMSG;

	if (sealed_size < FILECRYPT_HEADER_BYTES + FILECRYPT_TAG_BYTES ||
	    memcmp(header, MAGIC, MAGIC_LEN) || header[6] != FILECRYPT_FORMAT ||
	    get_be32(header + 12) != 0)
		goto fail;
	chunk = get_be32(header + 8);
	if (chunk != FILECRYPT_CHUNK)   /* other sizes are valid formats, not written yet */
		goto fail;
	if (header[7] != FILECRYPT_AES256GCM && header[7] != FILECRYPT_XCHACHA20POLY1305)
		goto fail;
	d = calloc(1, sizeof(*d));
	if (!d) {
		r = -ENOMEM;
		goto fail;
	}
	d->chunk = chunk;
	memcpy(d->c.header, header, FILECRYPT_HEADER_BYTES);
	r = cipher_init(&d->c, key, (enum filecrypt_alg)header[7], 0);
	if (r < 0)
		goto fail;
	body = sealed_size - FILECRYPT_HEADER_BYTES;
	full = body / ((uint64_t)chunk + FILECRYPT_TAG_BYTES);
	rem = body % ((uint64_t)chunk + FILECRYPT_TAG_BYTES);
	if (rem == 0) {
		d->n_chunks = full;
		d->plain = full * chunk;
	} else if (rem >= FILECRYPT_TAG_BYTES) {
		d->n_chunks = full + 1;
		d->plain = full * chunk + rem - FILECRYPT_TAG_BYTES;
	} else {
		r = -EBADMSG;
		goto fail;
	}
	return d;
fail:
	filecrypt_dec_free(d);
	if (ret_err)
		*ret_err = r;
	return NULL;
}

uint64_t filecrypt_dec_plain_size(const struct filecrypt_dec *d)
{
	return d->plain;
}

uint64_t filecrypt_dec_n_chunks(const struct filecrypt_dec *d)
{
	return d->n_chunks;
}

void filecrypt_dec_chunk_span(const struct filecrypt_dec *d, uint64_t i, uint64_t *ret_off,
			      size_t *ret_len)
{
	uint64_t rec = (uint64_t)d->chunk + FILECRYPT_TAG_BYTES;
	uint64_t plain = i + 1 < d->n_chunks ? d->chunk : d->plain - i * d->chunk;

	*ret_off = FILECRYPT_HEADER_BYTES + i * rec;
	*ret_len = (size_t)plain + FILECRYPT_TAG_BYTES;
}

int filecrypt_dec_chunk(struct filecrypt_dec *d, uint64_t i, const unsigned char *record,
			size_t n, unsigned char *out, size_t *ret_n)
{
	uint64_t off;
	size_t want;
	int r;

	if (i >= d->n_chunks)
		return -EINVAL;
	filecrypt_dec_chunk_span(d, i, &off, &want);
	if (n != want)
		return -EBADMSG;
	r = cipher_open(&d->c, i, i + 1 == d->n_chunks, record, n - FILECRYPT_TAG_BYTES, out);
	if (r == 0)
		*ret_n = n - FILECRYPT_TAG_BYTES;
	return r;
}

struct filecrypt_dec *filecrypt_dec_free(struct filecrypt_dec *d)
{
	if (d) {
		cipher_done(&d->c);
		free(d);
	}
	return NULL;
}

/* ---- file keys ---- */

static int filekey_ad(int64_t tenant_id, int64_t version, const char *blob_id, unsigned char *ad,
		      size_t *ret_n)
{
	size_t np = sizeof(FILEKEY_AD_PREFIX) - 1, nb;

	if (!blob_id || (nb = strlen(blob_id)) == 0 || nb > BLOB_ID_MAX)
		return -EINVAL;
	memcpy(ad, FILEKEY_AD_PREFIX, np);
	put_be64(ad + np, (uint64_t)tenant_id);
	put_be64(ad + np + 8, (uint64_t)version);
	memcpy(ad + np + 16, blob_id, nb);
	*ret_n = np + 16 + nb;
	return 0;
}

int filekey_wrap(const unsigned char tenant_key[TENANT_KEY_BYTES], int64_t tenant_id,
		 int64_t key_version, const char *blob_id,
		 const unsigned char file_key[FILECRYPT_KEY_BYTES],
		 unsigned char ret_wrapped[WRAPPED_KEY_BYTES])
{
	unsigned char ad[sizeof(FILEKEY_AD_PREFIX) + 16 + BLOB_ID_MAX];
	unsigned char out[WRAPPED_KEY_BYTES];
	const size_t nn = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned long long n_out = 0;
	size_t n_ad;
	int r;

	r = filekey_ad(tenant_id, key_version, blob_id, ad, &n_ad);
	if (r < 0)
		return r;
	randombytes_buf(out, nn);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + nn, &n_out, file_key,
						       FILECRYPT_KEY_BYTES, ad, n_ad, NULL, out,
						       tenant_key) != 0 ||
	    n_out != WRAPPED_KEY_BYTES - nn)
		return -EIO;
	memcpy(ret_wrapped, out, sizeof(out));
	return 0;
}

int filekey_unwrap(const unsigned char tenant_key[TENANT_KEY_BYTES], int64_t tenant_id,
		   int64_t key_version, const char *blob_id,
		   const unsigned char wrapped[WRAPPED_KEY_BYTES],
		   unsigned char ret_file_key[FILECRYPT_KEY_BYTES])
{
	unsigned char ad[sizeof(FILEKEY_AD_PREFIX) + 16 + BLOB_ID_MAX];
	const size_t nn = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	unsigned long long n_out = 0;
	size_t n_ad;
	int r;

	r = filekey_ad(tenant_id, key_version, blob_id, ad, &n_ad);
	if (r < 0)
		return r;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ret_file_key, &n_out, NULL, wrapped + nn,
						       WRAPPED_KEY_BYTES - nn, ad, n_ad, wrapped,
						       tenant_key) != 0 ||
	    n_out != FILECRYPT_KEY_BYTES) {
		sodium_memzero(ret_file_key, FILECRYPT_KEY_BYTES);
		return -EBADMSG;
	}
	return 0;
}
