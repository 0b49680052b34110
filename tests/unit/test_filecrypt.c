/* Unit tests for the chunked AEAD content format and file keys (crypto/filecrypt.c):
 * round trips at the chunk edges for both algorithms, every kind of tampering detected,
 * ranged decryption across chunk boundaries, file-key wrapping bound to blob and version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/filecrypt.h"

struct sbuf {
	unsigned char *p;
	size_t n, cap;
};

static int sink(void *cls, const void *data, size_t n)
{
	struct sbuf *b = cls;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return 0;
}

static unsigned char key[FILECRYPT_KEY_BYTES];

/* Encrypts n pseudo-random bytes (fed in odd-sized pieces); returns the plaintext. */
static unsigned char *seal(size_t n, enum filecrypt_alg alg, struct sbuf *out)
{
	unsigned char *plain = malloc(n ? n : 1);
	struct filecrypt_enc *e = filecrypt_enc_new(key, alg);
	size_t off = 0, step = 7777;

	assert_non_null(plain);
	assert_non_null(e);
	randombytes_buf(plain, n);
	memset(out, 0, sizeof(*out));
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		assert_int_equal(filecrypt_enc_update(e, plain + off, k, sink, out), 0);
		off += k;
		step = step * 3 % 100003 + 1;
	}
	assert_int_equal(filecrypt_enc_final(e, sink, out), 0);
	assert_int_equal(filecrypt_enc_plain_size(e), n);
	filecrypt_enc_free(e);
	assert_int_equal(out->n, filecrypt_sealed_size(n));
	return plain;
}

/* Decrypts the whole of sealed; 0 and the plaintext in *ret, or the first error. */
static int open_all(const unsigned char *sealed, size_t n, unsigned char **ret, size_t *ret_n)
{
	struct filecrypt_dec *d;
	unsigned char *out, chunk[FILECRYPT_CHUNK];
	uint64_t i, off;
	size_t len, got, total = 0;
	int r = 0;

	if (n < FILECRYPT_HEADER_BYTES)
		return -EBADMSG;
	d = filecrypt_dec_new(key, sealed, n, &r);
	if (!d)
		return r;
	out = malloc(filecrypt_dec_plain_size(d) + 1);
	for (i = 0; i < filecrypt_dec_n_chunks(d); i++) {
		filecrypt_dec_chunk_span(d, i, &off, &len);
		if (off + len > n) {
			r = -EBADMSG;
			break;
		}
		r = filecrypt_dec_chunk(d, i, sealed + off, len, chunk, &got);
		if (r < 0)
			break;
		memcpy(out + total, chunk, got);
		total += got;
	}
	filecrypt_dec_free(d);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_n = total;
	return 0;
}

static void round_trip(size_t n, enum filecrypt_alg alg)
{
	struct sbuf s;
	unsigned char *plain = seal(n, alg, &s), *back = NULL;
	size_t got = 0;

	assert_int_equal(open_all(s.p, s.n, &back, &got), 0);
	assert_int_equal(got, n);
	if (n)
		assert_memory_equal(back, plain, n);
	free(plain);
	free(back);
	free(s.p);
}

static void test_round_trips(void **state)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 10 * 1024 * 1024 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		round_trip(sizes[i], FILECRYPT_XCHACHA20POLY1305);
		if (crypto_aead_aes256gcm_is_available())
			round_trip(sizes[i], FILECRYPT_AES256GCM);
	}
}

static void expect_tamper_fails(const unsigned char *sealed, size_t n)
{
	unsigned char *back = NULL;
	size_t got = 0;
	int r = open_all(sealed, n, &back, &got);

	assert_true(r < 0);
	assert_null(back);
}

static void tamper(enum filecrypt_alg alg)
{
	const size_t n = 3 * FILECRYPT_CHUNK + 100;
	struct sbuf s;
	unsigned char *plain = seal(n, alg, &s), *t = malloc(s.n + FILECRYPT_RECORD);
	const size_t rec = FILECRYPT_RECORD, h = FILECRYPT_HEADER_BYTES;
	static const size_t header_bytes[] = { 0, 6, 7, 9, 12, 20, 31 };
	size_t i;

	assert_non_null(t);
	for (i = 0; i < ARRAY_SIZE(header_bytes); i++) {     /* header */
		memcpy(t, s.p, s.n);
		t[header_bytes[i]] ^= 1;
		expect_tamper_fails(t, s.n);
	}
	memcpy(t, s.p, s.n);                                  /* chunk body */
	t[h + rec + 5] ^= 0x80;
	expect_tamper_fails(t, s.n);
	memcpy(t, s.p, s.n);                                  /* tag */
	t[h + rec - 1] ^= 1;
	expect_tamper_fails(t, s.n);
	memcpy(t, s.p, s.n);                                  /* last chunk */
	t[s.n - 20] ^= 1;
	expect_tamper_fails(t, s.n);
	memcpy(t, s.p, s.n);                                  /* swap chunks 0 and 1 */
	memcpy(t + h, s.p + h + rec, rec);
	memcpy(t + h + rec, s.p + h, rec);
	expect_tamper_fails(t, s.n);
	expect_tamper_fails(s.p, s.n - (100 + 16));           /* drop the last chunk */
	expect_tamper_fails(s.p, s.n - 1);                    /* truncate */
	expect_tamper_fails(s.p, h);                          /* header only */
	memcpy(t, s.p, s.n);                                  /* append */
	memset(t + s.n, 0, 17);
	expect_tamper_fails(t, s.n + 17);
	memcpy(t, s.p, s.n);                                  /* append a copy of a chunk */
	memcpy(t + s.n, s.p + h, rec);
	expect_tamper_fails(t, s.n + rec);
	/* a different key */
	key[0] ^= 1;
	expect_tamper_fails(s.p, s.n);
	key[0] ^= 1;
	free(t);
	free(plain);
	free(s.p);
}

static void test_tampering_detected(void **state)
{
	(void)state;
	tamper(FILECRYPT_XCHACHA20POLY1305);
	if (crypto_aead_aes256gcm_is_available())
		tamper(FILECRYPT_AES256GCM);
}

/* Only the chunks of a range are opened: a damaged chunk elsewhere does not matter. */
static void test_ranged_chunks(void **state)
{
	const size_t n = 4 * FILECRYPT_CHUNK + 3;
	struct sbuf s;
	unsigned char *plain = seal(n, filecrypt_default_alg(), &s), chunk[FILECRYPT_CHUNK];
	struct filecrypt_dec *d;
	uint64_t off;
	size_t len, got;
	int r = 0;

	(void)state;
	s.p[s.n - 5] ^= 1;   /* damage the last chunk */
	d = filecrypt_dec_new(key, s.p, s.n, &r);
	assert_non_null(d);
	assert_int_equal(filecrypt_dec_n_chunks(d), 5);
	assert_int_equal(filecrypt_dec_plain_size(d), n);
	/* bytes 65530..65545 span chunks 0 and 1 */
	filecrypt_dec_chunk_span(d, 0, &off, &len);
	assert_int_equal(filecrypt_dec_chunk(d, 0, s.p + off, len, chunk, &got), 0);
	assert_memory_equal(chunk + 65530, plain + 65530, 6);
	filecrypt_dec_chunk_span(d, 1, &off, &len);
	assert_int_equal(filecrypt_dec_chunk(d, 1, s.p + off, len, chunk, &got), 0);
	assert_memory_equal(chunk, plain + 65536, 10);
	filecrypt_dec_chunk_span(d, 4, &off, &len);
	assert_int_equal(len, 3 + FILECRYPT_TAG_BYTES);
	assert_int_equal(filecrypt_dec_chunk(d, 4, s.p + off, len, chunk, &got), -EBADMSG);
	/* a chunk presented under another index fails */
	filecrypt_dec_chunk_span(d, 2, &off, &len);
	assert_int_equal(filecrypt_dec_chunk(d, 3, s.p + off, len, chunk, &got), -EBADMSG);
	filecrypt_dec_free(d);
	free(plain);
	free(s.p);
}

static void test_file_key_wrap(void **state)
{
	unsigned char tk[TENANT_KEY_BYTES], fk[FILECRYPT_KEY_BYTES], back[FILECRYPT_KEY_BYTES];
	unsigned char w[WRAPPED_KEY_BYTES];
	const char *blob = "0123456789abcdef0123456789abcdef";

	(void)state;
	randombytes_buf(tk, sizeof(tk));
	randombytes_buf(fk, sizeof(fk));
	assert_int_equal(filekey_wrap(tk, 7, 1, blob, fk, w), 0);
	assert_int_equal(filekey_unwrap(tk, 7, 1, blob, w, back), 0);
	assert_memory_equal(back, fk, sizeof(fk));
	assert_int_equal(filekey_unwrap(tk, 8, 1, blob, w, back), -EBADMSG);   /* other tenant */
	assert_int_equal(filekey_unwrap(tk, 7, 2, blob, w, back), -EBADMSG);   /* other version */
	assert_int_equal(filekey_unwrap(tk, 7, 1, "fedcba9876543210fedcba9876543210", w, back), -EBADMSG);
	w[30] ^= 1;
	assert_int_equal(filekey_unwrap(tk, 7, 1, blob, w, back), -EBADMSG);
	assert_int_equal(filekey_wrap(tk, 7, 1, "", fk, w), -EINVAL);
}

static void test_alg_names(void **state)
{
	enum filecrypt_alg a;

	(void)state;
	assert_int_equal(filecrypt_alg_parse("aes256gcm", &a), 0);
	assert_int_equal(a, FILECRYPT_AES256GCM);
	assert_int_equal(filecrypt_alg_parse(filecrypt_alg_name(FILECRYPT_XCHACHA20POLY1305), &a), 0);
	assert_int_equal(a, FILECRYPT_XCHACHA20POLY1305);
	assert_int_equal(filecrypt_alg_parse("rot13", &a), -EINVAL);
	assert_int_equal(filecrypt_default_alg(),
			 crypto_aead_aes256gcm_is_available() ? FILECRYPT_AES256GCM : FILECRYPT_XCHACHA20POLY1305);
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init() < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_tampering_detected),
		cmocka_unit_test(test_ranged_chunks),
		cmocka_unit_test(test_file_key_wrap),
		cmocka_unit_test(test_alg_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
