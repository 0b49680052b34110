/*
 * Audit log benchmark (not a test): durable append rate with group commit, checkpoint,
 * export and verification rates. Release build, a fresh SQLite database in a temporary
 * directory, synchronous=FULL (every commit is durable, as in kura serve).
 *
 *   audit_bench DIR N_EVENTS BATCH WRITERS TENANTS
 *
 * Appends N_EVENTS through audit_record() (the same call every module uses), BATCH records
 * per transaction, from WRITERS threads (one connection each), spread over TENANTS chains;
 * then one checkpoint round; then exports tenant 1 as JSONL to DIR/export.jsonl; then
 * verifies it offline (audit_verify_file) and in place (audit_verify_db).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "store/db.h"

static char dbpath[512];
static int64_t n_events, batch, writers, tenants;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct actor who = { ACTOR_ACCOUNT, 1, 42, "user0042", "203.0.113.77",
				  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0" };

static void *writer(void *arg)
{
	int64_t id = (int64_t)(intptr_t)arg, mine = n_events / writers, i = 0;
	char err[256], target[64];
	struct db *db = db_open(dbpath, err, sizeof(err));
	json_t *d = json_pack("{s:i, s:s}", "size", 123456, "name", "report.pdf");

	if (!db) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	while (i < mine) {
		if (db_begin(db) < 0)
			exit(2);
		for (int64_t k = 0; k < batch && i < mine; k++, i++) {
			snprintf(target, sizeof(target), "file:/shared/docs/report-%lld.pdf", (long long)i);
			if (audit_record(db, &(struct audit_event){ .tenant_id = 1 + (i + id) % tenants, .actor = &who,
						 .category = AUDIT_ACCESS, .action = "file.get", .target = target,
						 .result = AUDIT_SUCCESS, .details = d }) < 0)
				exit(3);
		}
		if (db_commit(db) < 0)
			exit(4);
	}
	json_decref(d);
	db_close(db);
	return NULL;
}

int main(int argc, char **argv)
{
	char err[256], path[600];
	unsigned char pk[32], *sk;
	pthread_t th[16];
	struct db *db;
	double t0, t1;
	struct audit_verify_result res;
	struct audit_export *x;
	struct stat stt;
	FILE *f;
	char *buf;
	ssize_t n;
	int64_t nck = 0;
	int e = 0;

	if (argc != 6) {
		fputs("usage: audit_bench DIR N_EVENTS BATCH WRITERS TENANTS\n", stderr);
		return 2;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/kura.db", argv[1]);
	n_events = atoll(argv[2]);   /* bench tool: plain parsing is fine here */
	batch = atoll(argv[3]);
	writers = atoll(argv[4]);
	tenants = atoll(argv[5]);
	if (crypto_init() < 0 || writers < 1 || writers > 16 || batch < 1 || tenants < 1)
		return 2;
	sk = sodium_malloc(64);
	crypto_sign_keypair(pk, sk);
	if (getenv("BENCH_VERIFY_ONLY")) {
		/* DIR holds export.jsonl and the hex key in key.hex from an earlier run */
		char kh[128] = "";

		snprintf(path, sizeof(path), "%s/key.hex", argv[1]);
		f = fopen(path, "r");
		if (!f || !fgets(kh, sizeof(kh), f) || audit_parse_public_key(kh, pk) < 0)
			return 1;
		fclose(f);
		snprintf(path, sizeof(path), "%s/export.jsonl", argv[1]);
		f = fopen(path, "r");
		t0 = now_s();
		if (!f || audit_verify_file(f, pk, &res) < 0 || !res.ok)
			return 1;
		t1 = now_s();
		printf("verify-file\t%lld records\t%.2f s\t%.1f MB/s\n", (long long)res.records, t1 - t0,
		       (double)res.bytes / 1e6 / (t1 - t0));
		return 0;
	}
	audit_set_signing_key(sk);
	db = db_open(dbpath, err, sizeof(err));
	if (!db || db_migrate(db) < 0)
		return 1;
	for (int64_t t = 1; t <= tenants; t++) {
		char code[32];

		snprintf(code, sizeof(code), "t%lld", (long long)t);
		db_exec(db, "INSERT INTO tenants (code, name, created_us, updated_us) VALUES ($1, $1, 0, 0)", "t", code);
	}

	t0 = now_s();
	for (int64_t i = 0; i < writers; i++)
		pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i);
	for (int64_t i = 0; i < writers; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	printf("append\t%lld events\t%.2f s\t%.0f events/s\t(batch %lld, %lld writer(s), %lld tenant(s), synchronous=FULL)\n",
	       (long long)n_events, t1 - t0, (double)n_events / (t1 - t0), (long long)batch, (long long)writers,
	       (long long)tenants);

	if (getenv("BENCH_APPEND_ONLY"))
		return 0;
	t0 = now_s();
	if (audit_checkpoint_round(db, &nck) < 0)
		return 1;
	t1 = now_s();
	printf("checkpoint\t%lld chains\t%.3f s\n", (long long)nck, t1 - t0);

	snprintf(path, sizeof(path), "%s/key.hex", argv[1]);
	f = fopen(path, "w");
	{
		char kh[65];

		hex_encode(pk, 32, kh);
		fprintf(f, "%s\n", kh);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/export.jsonl", argv[1]);
	f = fopen(path, "w");
	buf = malloc(1 << 16);
	t0 = now_s();
	x = audit_export_open(db, 1, &(struct audit_filter){ 0 }, AUDIT_FORMAT_JSONL, "Asia/Tokyo", &e);
	if (!x)
		return 1;
	while ((n = audit_export_read(x, db, buf, 1 << 16)) > 0)
		fwrite(buf, 1, (size_t)n, f);
	audit_export_free(x);
	fclose(f);
	t1 = now_s();
	stat(path, &stt);
	printf("export\t%.1f MB\t%.2f s\t%.1f MB/s\n", (double)stt.st_size / 1e6, t1 - t0,
	       (double)stt.st_size / 1e6 / (t1 - t0));

	f = fopen(path, "r");
	t0 = now_s();
	if (audit_verify_file(f, pk, &res) < 0 || !res.ok) {
		fprintf(stderr, "verify failed: %s\n", res.reason);
		return 1;
	}
	t1 = now_s();
	fclose(f);
	printf("verify-file\t%lld records\t%.2f s\t%.1f MB/s\t%.0f events/s\n", (long long)res.records, t1 - t0,
	       (double)res.bytes / 1e6 / (t1 - t0), (double)res.records / (t1 - t0));

	t0 = now_s();
	if (audit_verify_db(db, 1, pk, &res) < 0 || !res.ok) {
		fprintf(stderr, "verify-db failed: %s\n", res.reason);
		return 1;
	}
	t1 = now_s();
	printf("verify-db\t%lld records\t%.2f s\t%.0f events/s\n", (long long)res.records, t1 - t0,
	       (double)res.records / (t1 - t0));
	stat(dbpath, &stt);
	printf("database\t%.1f MB\t(%.0f bytes/event incl. indexes)\n", (double)stt.st_size / 1e6,
	       (double)stt.st_size / (double)n_events);
	db_close(db);
	audit_set_signing_key(NULL);
	sodium_free(sk);
	free(buf);
	return 0;
}
