/*
 * Erasure benchmark (issue 8): a tenant with N files of SIZE bytes each (through the files
 * service: encrypted blobs, rows, audit records), in folders of 1000, then its termination
 * and one scheduler pass past the grace period, timed: crypto-erase (keys), verification,
 * deletion of blobs and rows, certificate. usage: erasure_bench DIR N_FILES SIZE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit.h"
#include "blob/blob.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "crypto/keyring_rt.h"
#include "files/files.h"
#include "lifecycle/lifecycle.h"
#include "store/db.h"
#include "tenant/tenant.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct actor op = { ACTOR_OPERATOR, 0, 0, "bench", "", "" };
	unsigned char master[MASTER_KEY_BYTES], pk[32], *sk;
	char path[4096], err[256], day[11];
	const char *svc[] = { "DOCX" };
	struct tenant t;
	struct db *db;
	struct blob_store *bs;
	struct keyring_rt *kr;
	struct files *f;
	long long n, size, folder = 0;
	int64_t erased = 0;
	unsigned char *buf;
	double t0, t1;
	struct stat st;

	if (argc != 4) {
		fputs("usage: erasure_bench DIR N_FILES SIZE\n", stderr);
		return 2;
	}
	n = atoll(argv[2]);   /* bench tool: plain parsing is fine here */
	size = atoll(argv[3]);
	if (crypto_init() < 0 || n < 1 || size < 0)
		return 2;
	randombytes_buf(master, sizeof(master));
	sk = sodium_malloc(64);
	crypto_sign_keypair(pk, sk);
	if (audit_set_signing_key(sk) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/kura.db", argv[1]);
	db = db_open(path, err, sizeof(err));
	if (!db || db_migrate(db) < 0)
		return 1;
	db_close(db);
	if (db_set_path(path) < 0 || !(db = db_thread()))
		return 1;
	snprintf(path, sizeof(path), "%s/blobs", argv[1]);
	mkdir(path, 0700);
	bs = blob_open_local(path, err, sizeof(err));
	kr = keyring_rt_new(master);
	f = bs && kr ? files_new(bs, kr) : NULL;
	if (!f || tenant_create(db, &op, master, "big", "Big tenant", svc, 1, NULL, 0, &t) < 0 ||
	    files_quota_set(db, &op, t.id, 1LL << 50) < 0)
		return 1;
	buf = malloc(size ? (size_t)size : 1);
	randombytes_buf(buf, size ? (size_t)size : 1);
	t0 = now_s();
	for (long long i = 0; i < n; i++) {
		struct files_upload *u = NULL;
		char name[64];

		if (i % 1000 == 0) {
			struct file_node node;
			int64_t root;

			snprintf(name, sizeof(name), "folder-%05lld", i / 1000);
			if (files_root(db, t.id, &root) < 0 || files_mkdir(db, &op, t.id, root, name, &node) < 0)
				return 1;
			folder = node.id;
		}
		snprintf(name, sizeof(name), "file-%07lld.bin", i);
		if (files_upload_begin(f, db, t.id, folder, name, "application/octet-stream", size, true, &u) < 0 ||
		    (size && files_upload_write(u, buf, (size_t)size) < 0) || files_upload_commit(u, db, &op, NULL, NULL) < 0) {
			fprintf(stderr, "upload %lld failed\n", i);
			return 1;
		}
	}
	t1 = now_s();
	printf("setup\t%lld files of %lld bytes\t%.1f s\t%.0f files/s\n", n, size, t1 - t0, (double)n / (t1 - t0));
	lifecycle_configure(&(struct lifecycle_config){ .grace_days = 7, .alert_email = "", .data_dir = argv[1],
							.public_url = "https://bench.invalid" });
	if (clock_zone_date(clock_now_us(), "Asia/Tokyo", day) < 0 || lifecycle_terminate(db, &op, t.id, day, NULL) < 0)
		return 1;
	t0 = now_s();
	if (lifecycle_tick(&(struct lifecycle_env){ .files = f, .blobs = bs, .keyring = kr }, clock_now_us() + 9LL * 86400 * 1000000,
			   &erased) < 0 || erased != 1)
		return 1;
	t1 = now_s();
	snprintf(path, sizeof(path), "%s/blobs/%lld", argv[1], (long long)t.id);
	printf("erasure\t%lld files, %.1f MB\t%.2f s\t(blob directory %s)\n", n, (double)(n * size) / 1e6, t1 - t0,
	       stat(path, &st) == 0 ? "STILL THERE" : "gone");
	{
		char *cert = NULL;

		if (lifecycle_certificate(db, t.id, &cert) == 0) {
			json_t *c = json_loads(cert, 0, NULL);

			printf("certificate\t%zu bytes\tcounts %s\n", strlen(cert),
			       json_dumps(json_object_get(json_object_get(c, "certificate"), "counts"), JSON_COMPACT));
			free(cert);
		}
	}
	(void)pk;
	return 0;
}
