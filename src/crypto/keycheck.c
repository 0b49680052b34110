/*
 * The master key check value (KCV): whether a master key is the one this data directory's
 * tenant keys are wrapped under, decided before `kura serve` accepts a request.
 *
 *   subkey = crypto_kdf_derive_from_key(32, id 1, context "kura-kcv", master)
 *   check  = HMAC-SHA-256(subkey, "KURA-MASTER-KEY-CHECK-1")
 *
 * stored in deployment_keys ('master.check') by `kura init`. A data directory made before
 * the check existed gets it on its first start, but only when at least one wrapped tenant
 * key opens with the master key offered (or there is no tenant key yet): a wrong key is
 * never written down as the right one.
 *
 * SECURITY: the check value is a MAC under a derived key, so it reveals nothing about the
 * master key and cannot be turned into a key; it is compared with sodium_memcmp. Derived
 * and unwrapped keys are wiped before return.
 */
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "store/db.h"

#define KEYCHECK_CONTEXT "kura-kcv"
#define KEYCHECK_MESSAGE "KURA-MASTER-KEY-CHECK-1"
#define KEYCHECK_NAME "master.check"

_Static_assert(sizeof(KEYCHECK_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");
_Static_assert(KEYCHECK_BYTES == crypto_auth_hmacsha256_BYTES, "check value size");
_Static_assert(MASTER_KEY_BYTES == crypto_kdf_KEYBYTES, "master key is a kdf key");

int keycheck_compute(const unsigned char *master, unsigned char ret[KEYCHECK_BYTES])
{
	unsigned char sub[crypto_auth_hmacsha256_KEYBYTES];
	int r = 0;

	if (!master || !ret)
		return -EINVAL;
	if (crypto_kdf_derive_from_key(sub, sizeof(sub), 1, KEYCHECK_CONTEXT, master) != 0 ||
	    crypto_auth_hmacsha256(ret, (const unsigned char *)KEYCHECK_MESSAGE, sizeof(KEYCHECK_MESSAGE) - 1,
				   sub) != 0)
		r = -EIO;
	sodium_memzero(sub, sizeof(sub));
	return r;
}

/* How many of the stored tenant keys open with master (*ret_ok) out of *ret_n. */
static int count_unwrapping(struct db *db, const unsigned char *master, int64_t *ret_n, int64_t *ret_ok)
{
	unsigned char key[TENANT_KEY_BYTES];
	struct db_stmt *st = db_query(db, "SELECT tenant_id, version, wrapped FROM tenant_keys", NULL);
	int64_t n = 0, ok = 0;
	int step;

	while ((step = db_step(st)) > 0) {
		size_t len = 0;
		const void *w = db_blob(st, 2, &len);

		n++;
		if (len == WRAPPED_KEY_BYTES &&
		    keyring_unwrap_tenant_key(master, db_int(st, 0), db_int(st, 1), w, key) == 0)
			ok++;
	}
	db_done(st);
	sodium_memzero(key, sizeof(key));
	*ret_n = n;
	*ret_ok = ok;
	return step < 0 ? step : 0;
}

int keycheck_master(struct db *db, const unsigned char *master)
{
	unsigned char want[KEYCHECK_BYTES], have[KEYCHECK_BYTES];
	struct db_stmt *st;
	bool stored = false;
	int64_t n = 0, ok = 0;
	int r;

	if (!db || !master)
		return -EINVAL;
	r = keycheck_compute(master, want);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT value FROM deployment_keys WHERE name = $1", "t", KEYCHECK_NAME);
	r = db_step(st);
	if (r > 0) {
		size_t len = 0;
		const void *v = db_blob(st, 0, &len);

		stored = true;
		if (len == KEYCHECK_BYTES)
			memcpy(have, v, KEYCHECK_BYTES);
		else
			memset(have, 0, sizeof(have));
	}
	db_done(st);
	if (r < 0)
		return r;
	if (stored) {
		r = sodium_memcmp(want, have, KEYCHECK_BYTES) == 0 ? 0 : -EKEYREJECTED;
		goto out;
	}
	/* no check value yet (a data directory from before it): derive it only from evidence */
	r = count_unwrapping(db, master, &n, &ok);
	if (r < 0)
		goto out;
	if (n > 0 && ok == 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	if (ok < n)
		log_warn("keys.master", "%lld of %lld tenant keys do not open with the master key",
			 (long long)(n - ok), (long long)n);
	r = db_exec(db, "INSERT INTO deployment_keys (name, value, created_us) VALUES ($1, $2, $3)", "tbi",
		    KEYCHECK_NAME, want, (size_t)KEYCHECK_BYTES, clock_now_us());
	if (r == 0)
		log_info("keys.master", "master key check value recorded (%lld of %lld tenant keys verified it)",
			 (long long)ok, (long long)n);
out:
	sodium_memzero(want, sizeof(want));
	sodium_memzero(have, sizeof(have));
	return r;
}
