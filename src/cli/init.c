/*
 * kura init: creates a data directory with everything `kura serve` needs.
 *   DIR/            0700
 *   kura.conf       every setting with its default
 *   master.key      32 random bytes, 0600 (wraps the tenant keys)
 *   signing.key/.pub  the deployment's Ed25519 key (audit checkpoints)
 *   tls/cert.pem, tls/key.pem  self-signed certificate for localhost (GnuTLS)
 *   kura.db         SQLite with every migration applied, the master key's check value and
 *                   the signing key registered (docs/operations.md "Keys at start-up")
 *   signing-keys.pub  every public key that verifies this deployment's audit log
 * It refuses an existing DIR and removes what it made when a step fails, so a retry starts
 * clean. With --demo, it adds tenant "demo" and manager "admin" with a one-time password.
 */
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "store/db.h"
#include "tenant/tenant.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int demo_tenant(struct db *db, const char *dir, const struct config *cfg)
{
	const char *services[] = { "DOCX" };
	unsigned char *master = NULL;
	char path[4096], password[32];
	struct tenant t;
	int r;

	cli_path(path, sizeof(path), dir, "master.key");
	r = keyfile_load(path, MASTER_KEY_BYTES, &master);
	if (r < 0)
		return r;
	r = pwhash_set_params(cfg->pwhash_ops, cfg->pwhash_mem_kib);
	if (r == 0)
		r = tenant_create(db, &actor_system, master, "demo", "Demo テナント", services, 1, NULL, 0, &t);
	if (r == 0)
		r = account_create_with_password(db, &actor_system, &t, "admin", "admin@example.com", "manager",
						 password, sizeof(password));
	if (r == 0) {
		printf("demo tenant: demo\nmanager login: admin\npassword: %s\n"
		       "(one-time password: it must be changed at the first login)\n", password);
		sodium_memzero(password, sizeof(password));
	}
	keyfile_free(master, MASTER_KEY_BYTES);
	return r;
}

/* The master key's check value and the signing key's registration, so that `kura serve`
 * refuses any other key from the first start on. */
static int record_keys(struct db *db, const char *dir)
{
	unsigned char *master = NULL, *signing = NULL;
	char path[4096], err[1024];
	int r;

	cli_path(path, sizeof(path), dir, "master.key");
	r = keyfile_load(path, MASTER_KEY_BYTES, &master);
	if (r == 0)
		r = keycheck_master(db, master);
	cli_path(path, sizeof(path), dir, "signing.key");
	if (r == 0)
		r = keyfile_load(path, SIGN_SECRET_BYTES, &signing);
	if (r == 0) {
		r = audit_keys_open(db, dir, signing, err, sizeof(err));
		if (r == -EKEYREJECTED)
			fprintf(stderr, "kura init: %s\n", err);
		audit_set_signing_key(NULL);
	}
	keyfile_free(master, MASTER_KEY_BYTES);
	keyfile_free(signing, SIGN_SECRET_BYTES);
	return r;
}

/* --db-url: the database kura.conf names ([store] db_url), after the defaults */
static int append_db_url(const char *path, const char *url)
{
	FILE *f;
	int r = 0;

	if (!db_url_is_pg(url) && strncmp(url, "sqlite:", 7))
		return -EINVAL;
	f = fopen(path, "ae");
	if (!f)
		return -errno;
	if (fprintf(f, "\n[store]\ndb_url = %s\n", url) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "demo", no_argument, NULL, 'D' },
		{ "db-url", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *step = "", *db_url = NULL;
	char path[4096], path2[4096], err[512];
	struct config cfg;
	struct db *db = NULL;
	bool demo = false, created = false;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'D': demo = true; break;
		case 'u': db_url = optarg; break;
		case 'h':
			puts("usage: kura init --data DIR [--demo] [--db-url postgresql://…]");
			return 0;
		default:
			return 2;
		}
	}
	if (!dir || optind != argc) {
		fputs("usage: kura init --data DIR [--demo] [--db-url postgresql://…]\n", stderr);
		return 2;
	}
	if (crypto_init() < 0) {
		fputs("kura init: libsodium failed to initialize\n", stderr);
		return 1;
	}
	if (mkdir(dir, 0700) < 0) {
		fprintf(stderr, "kura init: cannot create %s: %s%s\n", dir, strerror(errno),
			errno == EEXIST ? " (kura init never touches an existing directory)" : "");
		return 1;
	}
	created = true;
	step = "kura.conf";
	cli_path(path, sizeof(path), dir, "kura.conf");
	r = config_write_default(path);
	if (r == 0 && db_url)
		r = append_db_url(path, db_url);
	if (r < 0)
		goto out;
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "kura init: %s\n", err);
		r = -EINVAL;
		goto out;
	}
	step = "master.key";
	cli_path(path, sizeof(path), dir, "master.key");
	r = keyfile_create(path, MASTER_KEY_BYTES);
	if (r < 0)
		goto out;
	step = "signing key";
	r = signkey_create(dir);
	if (r < 0)
		goto out;
	step = "tls directory";
	cli_path(path, sizeof(path), dir, "tls");
	if (mkdir(path, 0700) < 0) {
		r = -errno;
		goto out;
	}
	step = "TLS certificate";
	cli_path(path, sizeof(path), dir, "tls/cert.pem");
	cli_path(path2, sizeof(path2), dir, "tls/key.pem");
	r = tlscert_create_self_signed(path, path2);
	if (r < 0)
		goto out;
	step = "database";
	r = db_url_resolve(cfg.db_url, dir, path, sizeof(path));
	if (r < 0)
		goto out;
	db = db_open(path, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "kura init: %s\n", err);
		r = -EIO;
		goto out;
	}
	r = db_migrate(db);
	if (r < 0)
		goto out;
	step = "key check values";
	r = record_keys(db, dir);
	if (r < 0)
		goto out;
	if (demo) {
		step = "demo tenant";
		r = demo_tenant(db, dir, &cfg);
		if (r < 0)
			goto out;
	}
	printf("created %s\n", dir);
out:
	db_close(db);
	if (r < 0) {
		fprintf(stderr, "kura init: %s failed: %s\n", step, strerror(-r));
		if (created)
			nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	return 0;
}
