/*
 * The deployment's audit signing keys: the start-up check, the registry of every key that
 * ever signed (audit_signing_keys), and deliberate rotation (docs/audit.md "Signing keys").
 *
 * Start-up (audit_keys_open), before anything is signed:
 *   - DIR/signing.key must be a whole Ed25519 key (its public half derives from its seed);
 *   - a rotation a crash interrupted is finished (signing.key is already the new key) or
 *     undone (it is still the old one);
 *   - signing.key must be the registry's current key, and DIR/signing.pub its public half;
 *   - the newest checkpoint and root must verify with the key that signed them;
 *   - a data directory from before the registry registers its key, but only when that key
 *     signed the newest checkpoint and root (so a swapped key is refused, not adopted).
 * Anything else refuses the start with one sentence naming the file.
 *
 * Rotation (audit_keys_rotate), crash-safe in four steps, each durable before the next:
 *   1. the new pair is written as DIR/signing.key.new and DIR/signing.pub.new;
 *   2. its public key is registered as 'pending';
 *   3. signing.key.new is renamed over signing.key (from here on the rotation completes);
 *   4. signing.pub is rewritten, the old key retired and the new one made current, and the
 *      rotation recorded in the provider's and every tenant's chain, in one transaction;
 *      then the running server signs with the new key.
 * Start-up finishes step 4 after a crash between 3 and 4, and forgets the pending key
 * after a crash before 3. DIR/signing-keys.pub lists every registered public key (the file
 * to hand to tenants for `kura audit verify --key`), rewritten at start and rotation.
 *
 * SECURITY: secret keys live in sodium_malloc'ed memory and are wiped; new key files are
 * created O_EXCL, owner-only, and fsynced with their directory before they are used.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit_int.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#define SIGNKEYS_LIST "signing-keys.pub"
#define SIGNKEYS_PUB_MAX 256     /* bytes read from signing.pub: 64 hex digits and a newline */

struct regkey {
	int64_t id, created_us, retired_us;
	unsigned char pk[AUDIT_KEY_BYTES];
	char state[16];
};

static char keys_dir[PATH_MAX];   /* set by audit_keys_open, for rotations */

static void key_path(char *buf, size_t size, const char *dir, const char *name)
{
	str_printf(buf, size, "%s/%s", dir, name);
}

static void pk_hex(const unsigned char pk[AUDIT_KEY_BYTES], char out[AUDIT_PUBLIC_KEY_HEX])
{
	hex_encode(pk, AUDIT_KEY_BYTES, out);
}

/* The registry, newest first. */
static int registry_load(struct db *db, struct regkey *keys, size_t max, size_t *ret_n)
{
	struct db_stmt *st = db_query(db, "SELECT id, public_key, state, created_us, COALESCE(retired_us, 0)"
					  " FROM audit_signing_keys ORDER BY id DESC", NULL);
	size_t n = 0;
	int step;

	while ((step = db_step(st)) > 0) {
		size_t len = 0;
		const void *p = db_blob(st, 1, &len);

		if (n == max || len != AUDIT_KEY_BYTES) {
			step = n == max ? -E2BIG : -EIO;
			break;
		}
		keys[n].id = db_int(st, 0);
		memcpy(keys[n].pk, p, AUDIT_KEY_BYTES);
		str_copy(keys[n].state, sizeof(keys[n].state), db_text(st, 2) ? db_text(st, 2) : "");
		keys[n].created_us = db_int(st, 3);
		keys[n].retired_us = db_int(st, 4);
		n++;
	}
	db_done(st);
	*ret_n = n;
	return step < 0 ? step : 0;
}

static const struct regkey *registry_find(const struct regkey *keys, size_t n, const unsigned char pk[AUDIT_KEY_BYTES])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(keys[i].pk, pk, AUDIT_KEY_BYTES))
			return &keys[i];
	return NULL;
}

static const struct regkey *registry_state(const struct regkey *keys, size_t n, const char *state)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].state, state))
			return &keys[i];
	return NULL;
}

int audit_keys_list(struct db *db, unsigned char (*ret)[AUDIT_KEY_BYTES], size_t max, size_t *ret_n)
{
	struct regkey keys[KURA_AUDIT_KEYS_MAX];
	size_t n = 0, k = 0;
	int r = registry_load(db, keys, ARRAY_SIZE(keys), &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && k < max; i++)
		if (strcmp(keys[i].state, "pending"))
			memcpy(ret[k++], keys[i].pk, AUDIT_KEY_BYTES);
	*ret_n = k;
	return 0;
}

json_t *audit_keys_json(struct db *db)
{
	struct regkey keys[KURA_AUDIT_KEYS_MAX];
	json_t *arr = json_array();
	size_t n = 0;

	if (!arr || registry_load(db, keys, ARRAY_SIZE(keys), &n) < 0) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[AUDIT_PUBLIC_KEY_HEX], since[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN];

		if (!strcmp(keys[i].state, "pending"))
			continue;
		pk_hex(keys[i].pk, hex);
		clock_format_utc(keys[i].created_us, since, sizeof(since));
		clock_format_utc(keys[i].retired_us, until, sizeof(until));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "public_key", hex, "state", keys[i].state,
						     "created_at", since, "retired_at",
						     keys[i].retired_us ? json_string(until) : json_null()));
	}
	return arr;
}

/* DIR/signing-keys.pub: every registered public key, one per line (what kura audit verify
 * --key reads); a failure is only logged (the registry in the database is the record). */
static void write_list(struct db *db, const char *dir)
{
	struct regkey keys[KURA_AUDIT_KEYS_MAX];
	char path[PATH_MAX], line[256];
	struct dbuf text;
	size_t n = 0;
	int r = registry_load(db, keys, ARRAY_SIZE(keys), &n);

	dbuf_init(&text, (ARRAY_SIZE(keys) + 1) * sizeof(line));   /* the heading and a line per key */
	for (size_t i = 0; r == 0 && i <= n; i++) {
		char hex[AUDIT_PUBLIC_KEY_HEX], since[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN] = "-";

		if (i == 0) {
			str_copy(line, sizeof(line), "# Public keys of this kura deployment's audit signing keys"
				 " (docs/audit.md): kura audit verify FILE --key signing-keys.pub\n"
				 "# public key, state, since, until\n");
		} else {
			const struct regkey *key = &keys[i - 1];

			if (!strcmp(key->state, "pending"))
				continue;
			pk_hex(key->pk, hex);
			clock_format_utc(key->created_us, since, sizeof(since));
			if (key->retired_us)
				clock_format_utc(key->retired_us, until, sizeof(until));
			str_printf(line, sizeof(line), "%s %s %s %s\n", hex, key->state, since, until);
		}
		r = dbuf_puts(&text, line);
	}
	key_path(path, sizeof(path), dir, SIGNKEYS_LIST);
	if (r == 0)
		r = crypto_replace_file(path, dbuf_str(&text), dbuf_len(&text), 0644);
	if (r < 0)
		log_warn("audit.keys", "cannot write %s: %s", path, strerror(-r));
	dbuf_free(&text);
}

/* Step 4 of a rotation: signing.pub, registry and records; who rotated (or system). */
static int complete_rotation(struct db *db, const char *dir, const struct actor *who,
			     const unsigned char pk_new[AUDIT_KEY_BYTES], bool at_start)
{
	char path[PATH_MAX], old_hex[AUDIT_PUBLIC_KEY_HEX] = "", new_hex[AUDIT_PUBLIC_KEY_HEX];
	int64_t now = clock_now_us(), *ids = NULL;
	struct dbuf list;
	size_t n_ids = 0;
	json_t *d = NULL;
	struct db_stmt *st;
	int r, step;

	dbuf_init(&list, KURA_DB_LIST_MAX_BYTES);
	key_path(path, sizeof(path), dir, "signing.pub");
	r = signkey_write_public(path, pk_new);
	if (r < 0)
		return r;
	key_path(path, sizeof(path), dir, "signing.pub.new");
	unlink(path);
	pk_hex(pk_new, new_hex);
	r = db_begin(db);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT public_key FROM audit_signing_keys WHERE state = 'current'", NULL);
	if (db_step(st) > 0) {
		size_t len = 0;
		const void *p = db_blob(st, 0, &len);

		if (len == AUDIT_KEY_BYTES)
			pk_hex(p, old_hex);
	}
	db_done(st);
	r = db_exec(db, "UPDATE audit_signing_keys SET state = 'retired', retired_us = $1 WHERE state = 'current'",
		    "i", now);
	if (r == 0)
		r = db_exec(db, "UPDATE audit_signing_keys SET state = 'current' WHERE state = 'pending'"
				" AND public_key = $1", "b", pk_new, (size_t)AUDIT_KEY_BYTES);
	if (r == 0 && db_changes(db) != 1)
		r = -ESTALE;
	/* the provider's chain and every tenant's: each verifier learns of the new key */
	st = r == 0 ? db_query(db, "SELECT 0 UNION ALL SELECT id FROM tenants ORDER BY 1", NULL) : NULL;
	while (st && (step = db_step(st)) > 0) {
		int64_t id = db_int(st, 0);

		if ((step = dbuf_add(&list, &id, sizeof(id))) < 0)
			break;
	}
	if (st) {
		db_done(st);
		r = step < 0 ? step : 0;
	}
	ids = dbuf_data(&list);
	n_ids = dbuf_len(&list) / sizeof(*ids);
	d = json_pack("{s:s, s:s, s:b}", "previous_key", old_hex, "public_key", new_hex, "completed_at_start",
		      at_start);
	for (size_t i = 0; r == 0 && i < n_ids; i++)
		r = audit_record(db, &(struct audit_event){ .tenant_id = ids[i], .actor = who,
					 .category = AUDIT_OPERATOR, .action = "audit.signing_key.rotate",
					 .target = "signing-key", .result = AUDIT_SUCCESS, .details = d });
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	json_decref(d);
	dbuf_free(&list);
	if (r == 0)
		log_info("audit.keys", "signing key rotated%s: %s replaces %s", at_start ? " (completed at start)" : "",
			 new_hex, old_hex[0] ? old_hex : "(none)");
	return r;
}

/* The pk of a 64-byte libsodium secret key, recomputed from its seed: -EINVAL when the
 * stored public half does not belong to the seed (a damaged or spliced file). */
static int sk_public(const unsigned char *sk, unsigned char ret[AUDIT_KEY_BYTES])
{
	unsigned char seed[crypto_sign_SEEDBYTES], *tmp = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	int r = -EINVAL;

	if (!tmp)
		return -ENOMEM;
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	if (crypto_sign_seed_keypair(ret, tmp, seed) == 0 &&
	    !memcmp(ret, sk + crypto_sign_SECRETKEYBYTES - AUDIT_KEY_BYTES, AUDIT_KEY_BYTES))
		r = 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_free(tmp);
	return r;
}

static int read_pub(const char *path, unsigned char ret[AUDIT_KEY_BYTES])
{
	char buf[SIGNKEYS_PUB_MAX + 1];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, SIGNKEYS_PUB_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return n < SIGNKEYS_PUB_MAX ? audit_parse_public_key(buf, ret) : -EINVAL;
}

/* A key a stored signature names: registered, or (no registry yet) the key offered. */
static bool key_known(const struct regkey *keys, size_t n_keys, const unsigned char key[AUDIT_KEY_BYTES],
		      const unsigned char fallback[AUDIT_KEY_BYTES])
{
	return keys ? registry_find(keys, n_keys, key) != NULL : !memcmp(key, fallback, AUDIT_KEY_BYTES);
}

/* The newest checkpoint and root must verify with the key that signed them: the one they
 * name, or (rows from before keys were named) fallback. 0, 1 = does not verify, <0. */
static int newest_signatures(struct db *db, const struct regkey *keys, size_t n_keys,
			     const unsigned char fallback[AUDIT_KEY_BYTES], char *what, size_t what_size)
{
	struct audit_ckpt c = { 0 };
	struct db_stmt *st;
	int r;

	st = db_query(db, "SELECT tenant, seq, head, time_us, clock_synced, est_error_us, max_error_us, signature,"
			  " public_key FROM audit_checkpoints ORDER BY id DESC LIMIT 1", NULL);
	r = db_step(st);
	if (r > 0) {
		size_t n1 = 0, n2 = 0, n3 = 0;
		const void *h = db_blob(st, 2, &n1), *s = db_blob(st, 7, &n2), *k = db_blob(st, 8, &n3);
		const unsigned char *key = k && n3 == AUDIT_KEY_BYTES ? k : fallback;

		c.tenant = db_int(st, 0);
		c.seq = db_int(st, 1);
		c.time_us = db_int(st, 3);
		c.synced = db_int(st, 4) != 0;
		c.est_error_us = db_int(st, 5);
		c.max_error_us = db_int(st, 6);
		str_printf(what, what_size, "the newest audit checkpoint (tenant %" PRId64 ", seq %" PRId64 ")",
			   c.tenant, c.seq);
		r = 0;
		if (n1 != AUDIT_HASH_BYTES || n2 != AUDIT_SIG_BYTES || (k && n3 != AUDIT_KEY_BYTES) ||
		    !key_known(keys, n_keys, key, fallback))
			r = 1;
		if (r == 0) {
			memcpy(c.head, h, AUDIT_HASH_BYTES);
			memcpy(c.sig, s, AUDIT_SIG_BYTES);
			r = audit_ckpt_verify(&c, key) ? 0 : 1;
		}
	}
	db_done(st);
	if (r != 0)
		return r;
	st = db_query(db, "SELECT time_us, n_chains, root, clock_synced, signature, public_key FROM audit_roots"
			  " ORDER BY id DESC LIMIT 1", NULL);
	r = db_step(st);
	if (r > 0) {
		unsigned char msg[AUDIT_ROOT_MSG_BYTES];
		size_t n1 = 0, n2 = 0, n3 = 0;
		const void *root = db_blob(st, 2, &n1), *s = db_blob(st, 4, &n2), *k = db_blob(st, 5, &n3);
		const unsigned char *key = k && n3 == AUDIT_KEY_BYTES ? k : fallback;

		str_printf(what, what_size, "the newest provider-wide audit root");
		r = 0;
		if (n1 != AUDIT_HASH_BYTES || n2 != AUDIT_SIG_BYTES || (k && n3 != AUDIT_KEY_BYTES) ||
		    !key_known(keys, n_keys, key, fallback))
			r = 1;
		if (r == 0 && crypto_sign_ed25519_verify_detached(
				      s, msg, audit_root_message(db_int(st, 0), db_int(st, 1), root, db_int(st, 3) != 0, msg),
				      key) != 0)
			r = 1;
	}
	db_done(st);
	return r;
}

#define REFUSE(...) do { str_printf(err, err_size, __VA_ARGS__); r = -EKEYREJECTED; goto out; } while (0)

int audit_keys_open(struct db *db, const char *dir, const unsigned char *sk, char *err, size_t err_size)
{
	struct regkey keys[KURA_AUDIT_KEYS_MAX];
	const struct regkey *cur, *pend, *found;
	unsigned char pk[AUDIT_KEY_BYTES], pub[AUDIT_KEY_BYTES];
	char kpath[PATH_MAX], ppath[PATH_MAX], dbpath[PATH_MAX], tmp[PATH_MAX], what[128];
	char hex[AUDIT_PUBLIC_KEY_HEX], hex2[AUDIT_PUBLIC_KEY_HEX];
	size_t n = 0;
	int r;

	if (!db || !dir || !sk)
		return -EINVAL;
	key_path(kpath, sizeof(kpath), dir, "signing.key");
	key_path(ppath, sizeof(ppath), dir, "signing.pub");
	key_path(dbpath, sizeof(dbpath), dir, "kura.db");
	r = sk_public(sk, pk);
	if (r == -EINVAL)
		REFUSE("%s is damaged: its public half does not belong to its secret seed", kpath);
	if (r < 0)
		goto out;
	pk_hex(pk, hex);
	r = registry_load(db, keys, ARRAY_SIZE(keys), &n);
	if (r < 0)
		goto out;
	cur = registry_state(keys, n, "current");
	pend = registry_state(keys, n, "pending");
	if (pend && !memcmp(pend->pk, pk, AUDIT_KEY_BYTES)) {
		/* a rotation got past renaming signing.key: finish it */
		r = complete_rotation(db, dir, &actor_system, pk, true);
		if (r < 0)
			goto out;
		r = registry_load(db, keys, ARRAY_SIZE(keys), &n);
		if (r < 0)
			goto out;
		cur = registry_state(keys, n, "current");
	} else if (pend && cur && !memcmp(cur->pk, pk, AUDIT_KEY_BYTES)) {
		/* a rotation stopped before it took effect: forget the new key */
		r = db_exec(db, "DELETE FROM audit_signing_keys WHERE state = 'pending'", NULL);
		if (r < 0)
			goto out;
		key_path(tmp, sizeof(tmp), dir, "signing.key.new");
		unlink(tmp);
		key_path(tmp, sizeof(tmp), dir, "signing.pub.new");
		unlink(tmp);
		log_warn("audit.keys", "an interrupted signing key rotation was undone; %s stays the signing key", kpath);
		r = registry_load(db, keys, ARRAY_SIZE(keys), &n);
		if (r < 0)
			goto out;
		cur = registry_state(keys, n, "current");
	}
	if (n > 0 && !cur)
		REFUSE("%s has signing keys but none is current (audit_signing_keys damaged)", dbpath);
	if (cur && memcmp(cur->pk, pk, AUDIT_KEY_BYTES)) {
		pk_hex(cur->pk, hex2);
		found = registry_find(keys, n, pk);
		if (found)
			REFUSE("%s is a retired signing key of this deployment (public key %s); the current one is %s:"
			       " restore that key file", kpath, hex, hex2);
		REFUSE("%s is not this deployment's signing key: its public key %s is not registered in %s (the current"
		       " key is %s); restore the right signing.key, or rotate deliberately with"
		       " `kura admin audit rotate-signing-key`", kpath, hex, dbpath, hex2);
	}
	r = read_pub(ppath, pub);
	if (r < 0)
		REFUSE("cannot read the public key %s: %s", ppath, r == -EINVAL ? "not 64 hex digits" : strerror(-r));
	if (memcmp(pub, pk, AUDIT_KEY_BYTES)) {
		pk_hex(pub, hex2);
		REFUSE("%s does not hold the public half of %s (it holds %s, the key is %s)", ppath, kpath, hex2, hex);
	}
	r = newest_signatures(db, n ? keys : NULL, n, pk, what, sizeof(what));
	if (r < 0)
		goto out;
	if (r > 0 && !cur)
		REFUSE("%s did not sign %s in %s: it is not the key this data directory was signed with", kpath, what,
		       dbpath);
	if (r > 0)
		REFUSE("%s in %s does not verify with the key that signed it (the database or its key registry has"
		       " been altered)", what, dbpath);
	if (!cur) {
		/* a new data directory, or one from before the registry: this key signed everything */
		int64_t now = clock_now_us();

		r = db_begin(db);
		if (r < 0)
			goto out;
		r = db_exec(db, "INSERT INTO audit_signing_keys (public_key, state, created_us) VALUES ($1, 'current', $2)",
			    "bi", pk, (size_t)AUDIT_KEY_BYTES, now);
		if (r == 0)
			r = db_exec(db, "UPDATE audit_checkpoints SET public_key = $1 WHERE public_key IS NULL", "b", pk,
				    (size_t)AUDIT_KEY_BYTES);
		if (r == 0)
			r = db_exec(db, "UPDATE audit_roots SET public_key = $1 WHERE public_key IS NULL", "b", pk,
				    (size_t)AUDIT_KEY_BYTES);
		if (r == 0)
			r = db_commit(db);
		if (r < 0) {
			db_rollback(db);
			goto out;
		}
		log_info("audit.keys", "signing key %s registered", hex);
	}
	r = audit_set_signing_key(sk);
	if (r < 0)
		goto out;
	str_copy(keys_dir, sizeof(keys_dir), dir);
	write_list(db, dir);
out:
	return r;
}

int audit_keys_rotate(struct db *db, const struct actor *who, json_t **ret)
{
	char kpath[PATH_MAX], knew[PATH_MAX], pnew[PATH_MAX], old_hex[AUDIT_PUBLIC_KEY_HEX], new_hex[AUDIT_PUBLIC_KEY_HEX];
	char when[CLOCK_RFC3339_LEN];
	unsigned char old_pk[AUDIT_KEY_BYTES], new_pk[AUDIT_KEY_BYTES], *sk = NULL;
	struct regkey keys[KURA_AUDIT_KEYS_MAX];
	size_t n = 0;
	int r;

	if (!keys_dir[0] || audit_public_key(old_pk) < 0)
		return -ENOKEY;
	r = registry_load(db, keys, ARRAY_SIZE(keys), &n);
	if (r < 0)
		return r;
	if (registry_state(keys, n, "pending"))
		return -EBUSY;    /* an earlier rotation awaits completion at the next start */
	if (n >= KURA_AUDIT_KEYS_MAX)
		return -E2BIG;
	key_path(kpath, sizeof(kpath), keys_dir, "signing.key");
	key_path(knew, sizeof(knew), keys_dir, "signing.key.new");
	key_path(pnew, sizeof(pnew), keys_dir, "signing.pub.new");
	unlink(knew);
	unlink(pnew);
	sk = sodium_malloc(SIGN_SECRET_BYTES);
	if (!sk)
		return -ENOMEM;
	r = signkey_create_pair(knew, pnew, sk);      /* 1 */
	if (r < 0)
		goto out;
	crypto_sign_ed25519_sk_to_pk(new_pk, sk);
	r = db_exec(db, "INSERT INTO audit_signing_keys (public_key, state, created_us) VALUES ($1, 'pending', $2)",
		    "bi", new_pk, (size_t)AUDIT_KEY_BYTES, clock_now_us());   /* 2 */
	if (r < 0) {
		unlink(knew);
		unlink(pnew);
		goto out;
	}
	r = crypto_rename_durable(knew, kpath);       /* 3 */
	if (r < 0) {
		if (db_exec(db, "DELETE FROM audit_signing_keys WHERE state = 'pending'", NULL) < 0)
			log_error("audit.keys", "cannot forget the pending key; the next start does");
		unlink(knew);
		unlink(pnew);
		goto out;
	}
	r = complete_rotation(db, keys_dir, who, new_pk, false);   /* 4 */
	if (r < 0) {
		log_error("audit.keys", "%s holds the new signing key, but recording it failed (%s): the next start"
			  " completes the rotation; until then the old key signs", kpath, strerror(-r));
		goto out;
	}
	r = audit_set_signing_key(sk);
	if (r < 0)
		goto out;
	write_list(db, keys_dir);
	pk_hex(old_pk, old_hex);
	pk_hex(new_pk, new_hex);
	clock_format_utc(clock_now_us(), when, sizeof(when));
	*ret = json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "ed25519", "public_key", new_hex, "previous_key", old_hex,
			 "rotated_at", when);
	if (!*ret)
		r = -ENOMEM;
out:
	sodium_free(sk);   /* wipes */
	return r;
}
