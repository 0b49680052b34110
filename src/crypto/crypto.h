/*
 * Cryptography for kura, all on libsodium (GnuTLS only for the TLS certificate):
 * random tokens and their hashes, Argon2id password hashing and policy, key files,
 * the key hierarchy (master key wraps tenant keys), and the deployment's Ed25519 key.
 *
 * Secrets live in sodium_malloc'ed memory where they persist, are wiped with
 * sodium_memzero on every exit path, and are compared with sodium_memcmp.
 */
#ifndef KURA_CRYPTO_CRYPTO_H
#define KURA_CRYPTO_CRYPTO_H
#include "core/core.h"

/* Must be called once before anything else here (sodium_init). */
int crypto_init(void) KURA_WUR;

/* ---- secret scratch memory (secmem.c) ---- */
/* Like sodium_malloc/sodium_free (guard pages, mlock, no core dump), but blocks are wiped
 * and kept per thread for reuse, so hot paths make no system calls. secmem_free takes the
 * size given to secmem_alloc and accepts NULL. */
void *secmem_alloc(size_t n);
void secmem_free(void *p, size_t n);
/* secmem_free of a block of which only the first `used` bytes were ever written (the rest
 * is still the zero secmem_alloc handed out): only those are wiped. */
void secmem_free_used(void *p, size_t n, size_t used);

/* ---- tokens ---- */
#define TOKEN_BYTES 32                   /* 256 bits of randomness */
#define TOKEN_STR_LEN 43                 /* base64url without padding */
#define TOKEN_HASH_BYTES 32              /* SHA-256 */
/* Fills ret (size >= TOKEN_STR_LEN + 1) with a new random token. */
int token_new(char *ret, size_t size);
/* True when str has the shape of a token (length and alphabet), so junk is refused early. */
bool token_well_formed(const char *str);
/* SHA-256 of the token text: what the database stores. */
void token_hash(const char *token, unsigned char ret[TOKEN_HASH_BYTES]);

/* ---- passwords (Argon2id) ---- */
#define PWHASH_STR_BYTES 128             /* crypto_pwhash_STRBYTES */
/* Cost used by pwhash_hash from now on (ops passes, mem_kib KiB). Defaults: 3, 65536. */
int pwhash_set_params(uint32_t ops, uint32_t mem_kib);
int pwhash_hash(const char *password, char ret[PWHASH_STR_BYTES]) KURA_WUR;
/* 0 when password matches hash; -EACCES when not; <0 on other errors. */
int pwhash_verify(const char *hash, const char *password) KURA_WUR;
/* Spends the same time as a real verification; used when the account does not exist. */
void pwhash_verify_dummy(const char *password);

enum password_problem {
	PASSWORD_OK = 0,
	PASSWORD_TOO_SHORT,      /* fewer than KURA_PASSWORD_MIN code points */
	PASSWORD_TOO_LONG,       /* more than KURA_PASSWORD_MAX code points */
	PASSWORD_NOT_TEXT,       /* invalid UTF-8 or control characters */
	PASSWORD_COMMON,         /* in the shipped list of common passwords (case-insensitive) */
	PASSWORD_IS_LOGIN,       /* equal to the login (case-insensitive) */
};
enum password_problem password_check(const char *password, const char *login);
const char *password_problem_text(enum password_problem p);
/* A stable slug of p for clients that show their own text ("too-short", "common", …). */
const char *password_problem_code(enum password_problem p);

/* ---- key files ---- */
#define MASTER_KEY_BYTES 32
/* Creates path (O_EXCL, 0600) holding n random bytes; fsyncs file and directory. */
int keyfile_create(const char *path, size_t n) KURA_WUR;
/* Loads exactly n bytes into sodium_malloc'ed memory (*ret); refuses a file readable by
 * group or others, or of the wrong size. Free with keyfile_free(). */
int keyfile_load(const char *path, size_t n, unsigned char **ret) KURA_WUR;
unsigned char *keyfile_free(unsigned char *key, size_t n);

/* ---- key hierarchy ---- */
#define TENANT_KEY_BYTES 32
#define WRAPPED_KEY_BYTES (24 + TENANT_KEY_BYTES + 16)   /* nonce + key + tag */
#define KEY_WRAP_ALG "xchacha20poly1305"
/* Makes a new random tenant key and returns it wrapped under master (XChaCha20-Poly1305,
 * associated data = "kura tenant key" || tenant_id || version). */
int keyring_new_tenant_key(const unsigned char *master, int64_t tenant_id, int64_t version,
			   unsigned char ret_wrapped[WRAPPED_KEY_BYTES]) KURA_WUR;
/* Unwraps into ret (TENANT_KEY_BYTES); -EACCES when the tag or the associated data fail. */
int keyring_unwrap_tenant_key(const unsigned char *master, int64_t tenant_id, int64_t version,
			      const unsigned char wrapped[WRAPPED_KEY_BYTES],
			      unsigned char ret[TENANT_KEY_BYTES]) KURA_WUR;

/* ---- master key check value (keycheck.c) ---- */
#define KEYCHECK_BYTES 32
struct db;
/* HMAC-SHA-256 of a fixed string under a key derived from master (docs/operations.md). */
int keycheck_compute(const unsigned char *master, unsigned char ret[KEYCHECK_BYTES]) KURA_WUR;
/* Is master this database's master key? 0 when its stored check value matches; without a
 * stored value, 0 after storing one when some tenant key unwraps with master (or none
 * exists); -EKEYREJECTED when master is not the right key; other <0 on db errors. */
int keycheck_master(struct db *db, const unsigned char *master) KURA_WUR;

/* ---- deployment signing key (Ed25519) ---- */
#define SIGN_SECRET_BYTES 64
#define SIGN_PUBLIC_BYTES 32
/* Writes DIR/signing.key (secret, 0600) and DIR/signing.pub (hex public key, 0644). */
int signkey_create(const char *dir) KURA_WUR;
/* A new key pair into key_path (secret, 0600) and pub_path (hex public key and a newline,
 * 0644), both created O_EXCL and made durable; the secret also into ret_sk (64 bytes the
 * caller sodium_malloc'ed) when not NULL. Nothing is left behind on failure. */
int signkey_create_pair(const char *key_path, const char *pub_path, unsigned char *ret_sk) KURA_WUR;
/* Replaces pub_path with pk in hex and a newline (0644), atomically. */
int signkey_write_public(const char *pub_path, const unsigned char pk[SIGN_PUBLIC_BYTES]) KURA_WUR;

/* ---- files ---- */
/* rename(from, to) and fsync of the directory. */
int crypto_rename_durable(const char *from, const char *to) KURA_WUR;
/* Replaces path with n bytes of data (mode), atomically: PATH.tmp written and renamed. */
int crypto_replace_file(const char *path, const void *data, size_t n, unsigned mode) KURA_WUR;

/* ---- TLS ---- */
/* Writes a self-signed certificate for localhost (SAN DNS:localhost, IP:127.0.0.1, IP:::1),
 * ECDSA P-256, valid 397 days, to cert_path (0644) and its key to key_path (0600). */
int tlscert_create_self_signed(const char *cert_path, const char *key_path) KURA_WUR;

/* Library versions for `kura version`. */
const char *crypto_sodium_version(void);
const char *crypto_gnutls_version(void);
#endif
