/*
 * Golden files (issue 14, "Tests that mean what they claim"): fixtures in tests/golden/ built
 * by tests/golden/make_golden.py from the byte layouts in docs/files.md and docs/audit.md,
 * with Python's own SHA-256, AES-256-GCM, XChaCha20-Poly1305 and Ed25519, not with kura's
 * code. So a mistake that kura's writer and reader share (both would agree on wrong bytes)
 * shows here:
 *   - filecrypt-*.bin: a 65 543-byte plaintext (two chunks) sealed with a fixed file key and
 *     nonce prefix; kura's writer must produce exactly these bytes, its reader must return
 *     the plaintext, and refuse the file when any sampled bit is flipped;
 *   - audit-export.jsonl: two records, a checkpoint and the signed trailer of tenant 1, with
 *     fixed times, clock state and Ed25519 seed; kura's audit_record() and export must
 *     produce exactly these bytes, and `kura audit verify` must accept the file and refuse
 *     it with any single bit flipped, anywhere.
 * Seams: the nonce prefix is set in the encryptor's header (filecrypt.c is included, h2o
 * t/00unit style), and clock_test_freeze() fixes the time and the clock-sync state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/crypto/filecrypt.c"
#include "audit/audit_int.h"
#include "core/clock.h"
#include "store/db.h"

#define GOLDEN KURA_SOURCE_DIR "/tests/golden/"
#define PLAIN_N (65536 + 7)

static const unsigned char golden_prefix[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
						 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

static unsigned char *read_all(const char *path, size_t *ret_n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p[n] = '\0';
	*ret_n = (size_t)n;
	return p;
}

/* ---------------------------------------------------------------- file content */

static void file_key(unsigned char key[FILECRYPT_KEY_BYTES])
{
	for (int i = 0; i < FILECRYPT_KEY_BYTES; i++)
		key[i] = (unsigned char)i;
}

static unsigned char *golden_plain(void)
{
	unsigned char *p = malloc(PLAIN_N);

	assert_non_null(p);
	for (size_t i = 0; i < PLAIN_N; i++)
		p[i] = (unsigned char)((i * 7 + 3) % 256);
	return p;
}

struct out {
	unsigned char *p;
	size_t n;
};

static int out_sink(void *cls, const void *data, size_t n)
{
	struct out *o = cls;
	unsigned char *t = realloc(o->p, o->n + n);

	if (!t)
		return -ENOMEM;
	memcpy(t + o->n, data, n);
	o->p = t;
	o->n += n;
	return 0;
}

static void writer_matches(enum filecrypt_alg alg, const char *fixture)
{
	unsigned char key[FILECRYPT_KEY_BYTES], *plain = golden_plain(), *want;
	struct filecrypt_enc *e;
	struct out o = { 0 };
	size_t n_want, off;

	file_key(key);
	e = filecrypt_enc_new(key, alg);
	assert_non_null(e);
	/* the seam: the random nonce prefix replaced before the header goes out */
	memcpy(e->c.header + FILECRYPT_HEADER_BYTES - PREFIX_BYTES, golden_prefix, PREFIX_BYTES);
	for (off = 0; off < PLAIN_N; off += 10007)
		assert_int_equal(filecrypt_enc_update(e, plain + off, PLAIN_N - off < 10007 ? PLAIN_N - off : 10007,
						      out_sink, &o), 0);
	assert_int_equal(filecrypt_enc_final(e, out_sink, &o), 0);
	filecrypt_enc_free(e);
	want = read_all(fixture, &n_want);
	assert_int_equal(o.n, n_want);
	assert_int_equal(filecrypt_sealed_size(PLAIN_N), n_want);
	assert_memory_equal(o.p, want, n_want);
	free(want);
	free(o.p);
	free(plain);
}

/* 0 when the whole sealed file opens to the golden plaintext, else the first error. */
static int read_back(const unsigned char *blob, size_t n, const unsigned char *plain)
{
	unsigned char key[FILECRYPT_KEY_BYTES], chunk[FILECRYPT_CHUNK];
	struct filecrypt_dec *d;
	uint64_t i, pos = 0;
	int r = 0;

	file_key(key);
	d = filecrypt_dec_new(key, blob, n, &r);
	if (!d)
		return r ? r : -EBADMSG;
	if (filecrypt_dec_plain_size(d) != PLAIN_N)
		r = -EBADMSG;
	for (i = 0; r == 0 && i < filecrypt_dec_n_chunks(d); i++) {
		uint64_t off;
		size_t len, got = 0;

		filecrypt_dec_chunk_span(d, i, &off, &len);
		r = off + len <= n ? filecrypt_dec_chunk(d, i, blob + off, len, chunk, &got) : -EBADMSG;
		if (r == 0 && (pos + got > PLAIN_N || memcmp(chunk, plain + pos, got)))
			r = -EBADMSG;
		pos += got;
	}
	if (r == 0 && pos != PLAIN_N)
		r = -EBADMSG;
	filecrypt_dec_free(d);
	return r;
}

static void reader_accepts_and_refuses_flips(const char *fixture)
{
	unsigned char *plain = golden_plain(), *blob;
	size_t n, i;
	/* the header byte by byte, both chunks' first, middle and last ciphertext bytes and tags */
	const size_t chunk2 = FILECRYPT_HEADER_BYTES + FILECRYPT_RECORD;
	const size_t sample[] = { 32, 33, 32 + 32768, 32 + 65535, 32 + 65536, 32 + 65551, chunk2, chunk2 + 3,
				  chunk2 + 6, chunk2 + 7, chunk2 + 22 };

	blob = read_all(fixture, &n);
	assert_int_equal(read_back(blob, n, plain), 0);
	for (i = 0; i < FILECRYPT_HEADER_BYTES + ARRAY_SIZE(sample); i++) {
		size_t at = i < FILECRYPT_HEADER_BYTES ? i : sample[i - FILECRYPT_HEADER_BYTES];
		unsigned char bit = (unsigned char)(1u << (i % 8));

		assert_true(at < n);
		blob[at] ^= bit;
		if (read_back(blob, n, plain) == 0)
			fail_msg("%s: bit %u of byte %zu flipped, and the file still opens", fixture, (unsigned)bit, at);
		blob[at] ^= bit;
	}
	/* one byte short, one byte more */
	assert_int_not_equal(read_back(blob, n - 1, plain), 0);
	free(blob);
	free(plain);
}

static void test_filecrypt_xchacha_writer(void **state)
{
	(void)state;
	writer_matches(FILECRYPT_XCHACHA20POLY1305, GOLDEN "filecrypt-xchacha20poly1305.bin");
}

static void test_filecrypt_xchacha_reader(void **state)
{
	(void)state;
	reader_accepts_and_refuses_flips(GOLDEN "filecrypt-xchacha20poly1305.bin");
}

static void test_filecrypt_aes_writer(void **state)
{
	(void)state;
	if (!crypto_aead_aes256gcm_is_available())
		skip();   /* no AES-NI: kura writes XChaCha20-Poly1305 here, tested above */
	writer_matches(FILECRYPT_AES256GCM, GOLDEN "filecrypt-aes256gcm.bin");
}

static void test_filecrypt_aes_reader(void **state)
{
	(void)state;
	if (!crypto_aead_aes256gcm_is_available())
		skip();
	reader_accepts_and_refuses_flips(GOLDEN "filecrypt-aes256gcm.bin");
}

/* ---------------------------------------------------------------- audit export */

#define T1 1795314799123456LL          /* 2026-11-22T02:33:19.123456Z */
#define T2 (T1 + 1000001)
#define T3 (T1 + 60000000)

static const unsigned char seed[32] = "kura golden audit signing seed!!";

static void golden_key(unsigned char pk[32], unsigned char *sk)
{
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void test_audit_writer(void **state)
{
	static const struct actor alice = { ACTOR_ACCOUNT, 1, 1, "alice", "192.0.2.1", "golden/1.0 \"quoted\"" };
	const struct clock_sync sync = { true, 1000, 2000, 0 };
	char dir[] = "/tmp/kura-golden-XXXXXX", path[64], err[256], chunk[333];
	unsigned char pk[32], *sk = sodium_malloc(64), *want;
	struct audit_filter none = { 0 };
	struct audit_export *x;
	struct db *db;
	char *got = NULL;
	size_t n_got = 0, n_want;
	int64_t id = 0;
	ssize_t k;
	int e = 0;
	json_t *d;

	(void)state;
	assert_non_null(sk);
	assert_non_null(mkdtemp(dir));
	str_printf(path, sizeof(path), "%s/kura.db", dir);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	assert_int_equal(db_insert(db, &id, "INSERT INTO tenants (code, name, created_us, updated_us)"
					    " VALUES ('golden', 'g', 0, 0) RETURNING id", NULL), 0);
	assert_int_equal(id, 1);
	golden_key(pk, sk);
	assert_int_equal(audit_set_signing_key(sk), 0);

	clock_test_freeze(T1, &sync);
	d = json_pack("{s:s}", "method", "password");
	assert_int_equal(audit_record(db, &(struct audit_event){ .tenant_id = 1, .actor = &alice,
					  .category = AUDIT_AUTHENTICATION, .action = "session.create",
					  .target = "account:alice", .result = AUDIT_SUCCESS, .details = d }), 0);
	json_decref(d);
	clock_test_freeze(T2, &sync);
	d = json_pack("{s:i, s:s}", "size", 1234, "name", "報告書.pdf");   /* stored with sorted keys */
	assert_int_equal(audit_record(db, &(struct audit_event){ .tenant_id = 1, .actor = &alice,
					  .category = AUDIT_OPERATION, .action = "file.upload", .target = "node:7",
					  .result = AUDIT_SUCCESS, .details = d }), 0);
	json_decref(d);
	clock_test_freeze(T3, &sync);
	x = audit_export_open(db, 1, &none, AUDIT_FORMAT_JSONL, NULL, &e);
	assert_non_null(x);
	while ((k = audit_export_read(x, db, chunk, sizeof(chunk))) > 0) {
		got = realloc(got, n_got + (size_t)k + 1);
		assert_non_null(got);
		memcpy(got + n_got, chunk, (size_t)k);
		n_got += (size_t)k;
	}
	assert_int_equal(k, 0);
	audit_export_free(x);
	clock_test_freeze(0, NULL);
	want = read_all(GOLDEN "audit-export.jsonl", &n_want);
	got[n_got] = '\0';
	if (n_got != n_want || memcmp(got, want, n_want))
		fail_msg("the export differs from the golden file:\n%s\nwant:\n%s", got, (char *)want);
	free(want);
	free(got);
	audit_set_signing_key(NULL);
	sodium_free(sk);
	db_close(db);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static bool verifies(const unsigned char *text, size_t n, const unsigned char pk[32], struct audit_verify_result *res)
{
	FILE *f = fmemopen((void *)text, n, "r");

	assert_non_null(f);
	assert_int_equal(audit_verify_file(f, pk, res), 0);
	fclose(f);
	return res->ok;
}

static void test_audit_verifier(void **state)
{
	unsigned char pk[32], *sk = sodium_malloc(64), other[32], *text;
	struct audit_verify_result res;
	size_t n, i;

	(void)state;
	assert_non_null(sk);
	golden_key(pk, sk);
	text = read_all(GOLDEN "audit-export.jsonl", &n);
	assert_true(verifies(text, n, pk, &res));
	assert_int_equal(res.tenant, 1);
	assert_int_equal(res.records, 2);
	assert_int_equal(res.checkpoints, 1);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 2);
	/* any single bit, anywhere in the file */
	for (i = 0; i < n; i++) {
		unsigned char bit = (unsigned char)(1u << (i % 8));

		text[i] ^= bit;
		if (verifies(text, n, pk, &res))
			fail_msg("bit %u of byte %zu flipped, and the export still verifies", (unsigned)bit, i);
		text[i] ^= bit;
	}
	/* another key */
	memcpy(other, pk, 32);
	other[0] ^= 1;
	assert_false(verifies(text, n, other, &res));
	free(text);
	sodium_free(sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filecrypt_xchacha_writer),
		cmocka_unit_test(test_filecrypt_xchacha_reader),
		cmocka_unit_test(test_filecrypt_aes_writer),
		cmocka_unit_test(test_filecrypt_aes_reader),
		cmocka_unit_test(test_audit_writer),
		cmocka_unit_test(test_audit_verifier),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
