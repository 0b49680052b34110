/*
 * Unit tests for the CBOR bounds of WebAuthn (core/cborval.c, auth/webauthn.c included to
 * reach attestation_parse() and authdata_check()), and the base64url alphabet of its members.
 *
 * The hostile bodies of issue 14 are 5 bytes that declare a huge array, byte string or map
 * (0x9a ffffffff: 2^32 elements). libcbor allocates and zeroes what a header declares before
 * it reads on, so such a body cost gigabytes (2^28: 2 GiB) or aborted the sanitizer build
 * (2^32). attestation_parse() runs them in a child whose data segment may grow by at most
 * CHILD_DATA_MAX, so that without the pre-validation the child, not the machine, runs out of
 * memory: under ASan (make test) it aborts and the test fails. (Without ASan cbor_load fails
 * on the allocation and says -EINVAL too; libcbor 0.8 checks a definite string's length
 * against the input before it allocates, so the arrays and maps are what blow up; the string
 * cases guard the pre-validator.) cborval itself is checked on well-formed items, which must
 * pass with their exact length, and on each kind of malformation it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/auth/webauthn.c"

#define CHILD_DATA_MAX (256L * 1024 * 1024)

/* ---------------------------------------------------------------- cborval */

static int check(const unsigned char *p, size_t n, unsigned depth)
{
	size_t len = 0;
	int r = cborval_item(p, n, depth, &len);

	if (r == 0 && len != n)
		return -E2BIG;   /* the tests give exactly one item */
	return r;
}

#define ITEM_OK(...)                                                                   \
	do {                                                                           \
		static const unsigned char b_[] = { __VA_ARGS__ };                     \
		assert_int_equal(check(b_, sizeof(b_), 16), 0);                        \
	} while (0)
#define ITEM_BAD(...)                                                                  \
	do {                                                                           \
		static const unsigned char b_[] = { __VA_ARGS__ };                     \
		assert_int_equal(check(b_, sizeof(b_), 16), -EINVAL);                  \
	} while (0)

static void test_cborval_well_formed(void **state)
{
	(void)state;
	ITEM_OK(0x00);
	ITEM_OK(0x17);
	ITEM_OK(0x18, 0xff);
	ITEM_OK(0x1b, 1, 2, 3, 4, 5, 6, 7, 8);
	ITEM_OK(0x38, 0x63);                                    /* -100 */
	ITEM_OK(0x40);                                          /* h'' */
	ITEM_OK(0x43, 1, 2, 3);
	ITEM_OK(0x63, 'f', 'm', 't');
	ITEM_OK(0x80);
	ITEM_OK(0x83, 0x01, 0x02, 0x03);
	ITEM_OK(0xa0);
	ITEM_OK(0xa1, 0x01, 0x26);                              /* {1: -7} */
	ITEM_OK(0xc1, 0x1a, 0, 0, 0, 0);                        /* tag 1 */
	ITEM_OK(0xf4);
	ITEM_OK(0xf6);
	ITEM_OK(0xf8, 0x20);
	ITEM_OK(0xf9, 0x3c, 0x00);                              /* 1.0 half */
	ITEM_OK(0xfb, 0, 0, 0, 0, 0, 0, 0, 0);
	/* indefinite lengths */
	ITEM_OK(0x5f, 0xff);
	ITEM_OK(0x5f, 0x41, 0x00, 0x42, 0x01, 0x02, 0xff);
	ITEM_OK(0x7f, 0x61, 'a', 0xff);
	ITEM_OK(0x9f, 0xff);
	ITEM_OK(0x9f, 0x01, 0x9f, 0xff, 0xff);
	ITEM_OK(0xbf, 0x01, 0x02, 0xff);
	/* bytes after the item are left to the caller */
	{
		static const unsigned char b[] = { 0x01, 0x02 };
		size_t len = 0;

		assert_int_equal(cborval_item(b, sizeof(b), 16, &len), 0);
		assert_int_equal(len, 1);
		assert_int_equal(cborval_sequence(b, sizeof(b), 2, 16), 0);
		assert_int_equal(cborval_sequence(b, sizeof(b), 1, 16), -EINVAL);
		assert_int_equal(cborval_sequence(b, sizeof(b), 3, 16), -EINVAL);
		assert_int_equal(cborval_sequence(b, 0, 0, 16), 0);
	}
}

/* The 5-byte bodies of issue 14 and their relatives. */
static void test_cborval_declared_lengths(void **state)
{
	(void)state;
	ITEM_BAD(0x9a, 0xff, 0xff, 0xff, 0xff);                 /* array of 2^32 - 1 */
	ITEM_BAD(0x9a, 0x10, 0x00, 0x00, 0x00);                 /* array of 2^28 */
	ITEM_BAD(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	ITEM_BAD(0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	ITEM_BAD(0x5a, 0xff, 0xff, 0xff, 0xff);                 /* byte string */
	ITEM_BAD(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	ITEM_BAD(0x7a, 0xff, 0xff, 0xff, 0xff);                 /* text string */
	ITEM_BAD(0xba, 0xff, 0xff, 0xff, 0xff);                 /* map of 2^32 - 1 pairs */
	ITEM_BAD(0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	/* one byte short */
	ITEM_BAD(0x83, 0x01, 0x02);
	ITEM_BAD(0x43, 1, 2);
	ITEM_BAD(0xa2, 0x01, 0x02, 0x03);                       /* a map's count is pairs */
	ITEM_BAD(0x1b, 1, 2, 3, 4, 5, 6, 7);                    /* truncated argument */
	ITEM_BAD(0x19, 1);
	/* an indefinite string's chunk that declares too much */
	ITEM_BAD(0x5f, 0x5a, 0xff, 0xff, 0xff, 0xff, 0xff);
	{
		size_t len = 0;

		assert_int_equal(cborval_item(NULL, 0, 16, &len), -EINVAL);
		assert_int_equal(cborval_item((const unsigned char *)"", 0, 16, &len), -EINVAL);
	}
}

static void test_cborval_malformed(void **state)
{
	(void)state;
	ITEM_BAD(0x1c);                                         /* reserved 28..30 */
	ITEM_BAD(0x5d);
	ITEM_BAD(0x9e);
	ITEM_BAD(0x1f);                                         /* no indefinite integers */
	ITEM_BAD(0x3f);
	ITEM_BAD(0xdf, 0x00);                                   /* nor tags */
	ITEM_BAD(0xff);                                         /* break outside */
	ITEM_BAD(0x81, 0xff);
	ITEM_BAD(0xf8, 0x10);                                   /* two-byte simple < 32 */
	/* indefinite lengths: unterminated, chunks of another type or themselves indefinite,
	 * a break in a map's value position */
	ITEM_BAD(0x9f);
	ITEM_BAD(0x9f, 0x01, 0x02);
	ITEM_BAD(0x5f);
	ITEM_BAD(0x5f, 0x41, 0x00);
	ITEM_BAD(0x5f, 0x61, 'a', 0xff);
	ITEM_BAD(0x7f, 0x41, 0x00, 0xff);
	ITEM_BAD(0x5f, 0x5f, 0xff, 0xff);
	ITEM_BAD(0x5f, 0x01, 0xff);
	ITEM_BAD(0xbf, 0x01, 0xff);
	ITEM_BAD(0xbf, 0x01);
}

static void test_cborval_depth(void **state)
{
	unsigned char b[20000];
	size_t i, len = 0;

	(void)state;
	/* 16 nested arrays around an integer: 16 levels pass a limit of 16, 17 do not */
	for (i = 0; i < 16; i++)
		b[i] = 0x81;
	b[16] = 0x00;
	assert_int_equal(cborval_item(b, 17, 16, &len), 0);
	assert_int_equal(len, 17);
	assert_int_equal(cborval_item(b, 17, 15, &len), -EINVAL);
	assert_int_equal(cborval_item(b, 1, 0, &len), -EINVAL);   /* 0: no container at all */
	b[0] = 0x00;
	assert_int_equal(cborval_item(b, 1, 0, &len), 0);
	/* deep nesting of every container kind, well past the limit */
	for (i = 0; i + 1 < sizeof(b); i++)
		b[i] = 0x81;
	b[sizeof(b) - 1] = 0x00;
	assert_int_equal(cborval_item(b, sizeof(b), 16, &len), -EINVAL);
	memset(b, 0x9f, sizeof(b));                             /* indefinite arrays, no break */
	assert_int_equal(cborval_item(b, sizeof(b), 16, &len), -EINVAL);
	for (i = 0; i + 1 < sizeof(b); i += 2) {                /* {0: {0: ...}} */
		b[i] = 0xa1;
		b[i + 1] = 0x00;
	}
	assert_int_equal(cborval_item(b, sizeof(b), 16, &len), -EINVAL);
	memset(b, 0xc6, sizeof(b));                             /* tags of tags */
	assert_int_equal(cborval_item(b, sizeof(b), 16, &len), -EINVAL);
	/* long but flat: an array of 10000 integers is fine */
	b[0] = 0x99;
	b[1] = 10000 >> 8;
	b[2] = 10000 & 0xff;
	memset(b + 3, 0x01, 10000);
	assert_int_equal(cborval_item(b, 10003, 16, &len), 0);
	assert_int_equal(len, 10003);
}

/* ---------------------------------------------------------------- attestation */

static long vmdata_bytes(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmData:", 7))
			kb = strtol(line + 7, NULL, 10);
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static int parse_attestation(const unsigned char *p, size_t n)
{
	struct blob b = { (unsigned char *)p, n };
	struct attestation att;
	int r = attestation_parse(&b, &att);

	if (att.root)
		cbor_decref(&att.root);
	return r;
}

/* attestation_parse() of p in a child that may grow by CHILD_DATA_MAX at most: the child's
 * wait status (exit 0 = it answered -EINVAL). */
static int parse_capped(const unsigned char *p, size_t n)
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		long now = vmdata_bytes();
		struct rlimit rl;

		if (now < 0)
			_exit(3);
		rl.rlim_cur = rl.rlim_max = (rlim_t)now + CHILD_DATA_MAX;
		if (setrlimit(RLIMIT_DATA, &rl) < 0)
			_exit(4);
		_exit(parse_attestation(p, n) == -EINVAL ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

#define REFUSED_CAPPED(...)                                                            \
	do {                                                                           \
		static const unsigned char b_[] = { __VA_ARGS__ };                     \
		int st_ = parse_capped(b_, sizeof(b_));                                \
		if (!WIFEXITED(st_) || WEXITSTATUS(st_) != 0)                          \
			fail_msg("attestation_parse of %zu bytes 0x%02x...: wait status %d", \
				 sizeof(b_), b_[0], st_);                               \
	} while (0)

static void test_attestation_five_byte_bodies(void **state)
{
	(void)state;
	REFUSED_CAPPED(0x9a, 0xff, 0xff, 0xff, 0xff);
	REFUSED_CAPPED(0x9a, 0x10, 0x00, 0x00, 0x00);
	REFUSED_CAPPED(0x9b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	REFUSED_CAPPED(0x5a, 0xff, 0xff, 0xff, 0xff);
	REFUSED_CAPPED(0x5b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	REFUSED_CAPPED(0xba, 0xff, 0xff, 0xff, 0xff);
	REFUSED_CAPPED(0xba, 0x10, 0x00, 0x00, 0x00);
	REFUSED_CAPPED(0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
	/* the same inside a map that looks like an attestation object */
	REFUSED_CAPPED(0xa1, 0x67, 'a', 't', 't', 'S', 't', 'm', 't', 0xa1, 0x63, 'x', '5', 'c', 0x9a, 0x10, 0x00,
		       0x00, 0x00);
	REFUSED_CAPPED(0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f,
		       0x9f, 0x9f, 0x9f, 0x9f);
}

/* COSE ES256 key with the P-256 generator as its point (well-formed; never verified here). */
static const unsigned char cose_es256[] = {
	0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20,
	0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
	0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
	0x22, 0x58, 0x20,
	0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
	0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

/* rpIdHash (zero), flags, signCount 0, [aaguid, id length 4, id "cred", tail] */
static size_t make_authdata(unsigned char *out, unsigned char flags, const unsigned char *tail, size_t n_tail,
			    bool attcred)
{
	size_t n = 0;

	memset(out, 0, 37);
	out[32] = flags;
	n = 37;
	if (attcred) {
		memset(out + n, 0, 16);
		out[n + 16] = 0;
		out[n + 17] = 4;
		memcpy(out + n + 18, "cred", 4);
		n += 22;
	}
	if (n_tail)
		memcpy(out + n, tail, n_tail);
	return n + n_tail;
}

static void test_authdata(void **state)
{
	static const unsigned char ext[] = { 0xa1, 0x61, 'x', 0xf5 };
	static const unsigned char huge[] = { 0x9a, 0xff, 0xff, 0xff, 0xff };
	unsigned char ad[256] = { 0 }, tail[128] = { 0 };
	size_t n;

	(void)state;
	/* assertion: 37 bytes; extensions when ED is set; no attested credential data */
	n = make_authdata(ad, FLAG_UP, NULL, 0, false);
	assert_int_equal(authdata_check(ad, n, false), 0);
	assert_int_equal(authdata_check(ad, n - 1, false), -EINVAL);
	assert_int_equal(authdata_check(ad, n, true), -EINVAL);
	n = make_authdata(ad, FLAG_UP | FLAG_ED, ext, sizeof(ext), false);
	assert_int_equal(authdata_check(ad, n, false), 0);
	assert_int_equal(authdata_check(ad, n - 1, false), -EINVAL);
	n = make_authdata(ad, FLAG_UP, ext, sizeof(ext), false);   /* bytes nobody announced */
	assert_int_equal(authdata_check(ad, n, false), -EINVAL);
	n = make_authdata(ad, FLAG_UP | FLAG_ED, huge, sizeof(huge), false);
	assert_int_equal(authdata_check(ad, n, false), -EINVAL);
	n = make_authdata(ad, FLAG_UP | FLAG_AT, cose_es256, sizeof(cose_es256), true);
	assert_int_equal(authdata_check(ad, n, false), -EINVAL);

	/* registration: the COSE key, then the extensions when ED is set */
	assert_int_equal(authdata_check(ad, n, true), 0);
	assert_int_equal(authdata_check(ad, n - 1, true), -EINVAL);
	memcpy(tail, cose_es256, sizeof(cose_es256));
	memcpy(tail + sizeof(cose_es256), ext, sizeof(ext));
	n = make_authdata(ad, FLAG_UP | FLAG_AT | FLAG_ED, tail, sizeof(cose_es256) + sizeof(ext), true);
	assert_int_equal(authdata_check(ad, n, true), 0);
	n = make_authdata(ad, FLAG_UP | FLAG_AT, huge, sizeof(huge), true);   /* as the COSE key */
	assert_int_equal(authdata_check(ad, n, true), -EINVAL);
	n = make_authdata(ad, FLAG_UP | FLAG_AT, cose_es256, sizeof(cose_es256), true);
	ad[37 + 17] = 200;                                      /* id longer than the data */
	assert_int_equal(authdata_check(ad, n, true), -EINVAL);
	assert_int_equal(authdata_check(ad, 37 + 17, true), -EINVAL);
	assert_int_equal(authdata_check(NULL, 0, false), -EINVAL);
}

/* {"fmt": "none", "attStmt": {}, "authData": ad} */
static size_t make_attobj(unsigned char *obj, const unsigned char *ad, size_t n_ad)
{
	size_t n = 0;

	obj[n++] = 0xa3;
	memcpy(obj + n, "\x63" "fmt" "\x64" "none", 9);
	n += 9;
	memcpy(obj + n, "\x67" "attStmt" "\xa0", 9);
	n += 9;
	memcpy(obj + n, "\x68" "authData" "\x58", 10);
	n += 10;
	obj[n++] = (unsigned char)n_ad;
	memcpy(obj + n, ad, n_ad);
	return n + n_ad;
}

/* A well-formed "none" attestation object still parses, with its fields found. */
static void test_attestation_none_parses(void **state)
{
	static const unsigned char huge[] = { 0xba, 0xff, 0xff, 0xff, 0xff };
	unsigned char ad[256], obj[512];
	struct attestation att;
	struct blob b;
	size_t n_ad, n;

	(void)state;
	n_ad = make_authdata(ad, FLAG_UP | FLAG_AT, cose_es256, sizeof(cose_es256), true);
	n = make_attobj(obj, ad, n_ad);
	b.p = obj;
	b.n = n;
	assert_int_equal(attestation_parse(&b, &att), 0);
	assert_string_equal(att.fmt, "none");
	assert_int_equal(att.n_auth_data, n_ad);
	assert_memory_equal(att.auth_data, ad, n_ad);
	assert_false(att.has_x5c);
	cbor_decref(&att.root);
	/* one byte more or less is refused */
	assert_int_equal(parse_attestation(obj, n - 1), -EINVAL);
	obj[n] = 0x00;
	assert_int_equal(parse_attestation(obj, n + 1), -EINVAL);
	/* authData whose COSE key declares 2^32 - 1 pairs (libfido2 would cbor_load it) */
	n_ad = make_authdata(ad, FLAG_UP | FLAG_AT, huge, sizeof(huge), true);
	n = make_attobj(obj, ad, n_ad);
	assert_int_equal(parse_attestation(obj, n), -EINVAL);
}

/* base64url (b64url_decode, auth/mfa.c): only its alphabet; libsodium 1.0.18 decodes a byte
 * >= 0x80 as some digit, so "QUJ\x80" once read as 3 bytes (fuzz_webauthn_json) */
static void test_b64url_alphabet(void **state)
{
	unsigned char out[16];
	size_t n = 0;

	(void)state;
	assert_int_equal(b64url_decode("QUJD", out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "ABC", 3);
	assert_int_equal(b64url_decode("QUJD==", out, sizeof(out), &n), 0);
	assert_int_equal(b64url_decode("QUJ\x80", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(b64url_decode("Q\xc3\xa9" "D", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(b64url_decode("QU+D", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(b64url_decode("QU=D", out, sizeof(out), &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cborval_well_formed),
		cmocka_unit_test(test_cborval_declared_lengths),
		cmocka_unit_test(test_cborval_malformed),
		cmocka_unit_test(test_cborval_depth),
		cmocka_unit_test(test_attestation_five_byte_bodies),
		cmocka_unit_test(test_authdata),
		cmocka_unit_test(test_attestation_none_parses),
		cmocka_unit_test(test_b64url_alphabet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
