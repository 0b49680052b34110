/*
 * kura serve: the public listener (HTTPS, or plain HTTP on loopback with --no-tls), the
 * management socket DIR/admin.sock and the mail sender, until SIGTERM or SIGINT.
 * Refuses to start, with one clear line, on a bad config, a missing key or certificate,
 * a master or signing key that is not this data directory's (docs/operations.md "Keys at
 * start-up"), an unusable database, or an address in use, or when another kura serve holds
 * the data directory (DIR/kura.lock, flock). Holding that lock, it removes what crashed
 * uploads left in the blob store (temporary files, and committed blobs no row names) before
 * serving.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/file.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "lifecycle/lifecycle.h"
#include "auth/mfa.h"
#include "blob/blob.h"
#include "cli/cli.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"
#include "compliance/compliance.h"
#include "core/sandbox.h"
#include "crypto/crypto.h"
#include "crypto/keyring_rt.h"
#include "auth/clientcert.h"
#include "files/files.h"
#include "files/lockbox.h"
#include "http/alerts.h"
#include "http/http.h"
#include "http/metrics.h"
#include "mgmt/mgmt.h"
#include "notice/notice.h"
#include "reports/reports.h"
#include "notify/notify.h"
#include "store/db.h"
#include "store/lease.h"

static char *read_text(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f) {
		str_printf(err, err_size, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (!buf)
		str_printf(err, err_size, "cannot read %s: empty or too large", path);
	fclose(f);
	return buf;
}

static void data_path(char *buf, size_t size, const char *dir, const char *name)
{
	if (name[0] == '/')
		str_copy(buf, size, name);
	else
		cli_path(buf, size, dir, name);
}

/* One kura serve per data directory: DIR/kura.lock held with flock until exit (the kernel
 * drops it when the process dies, kill -9 included). -EBUSY when another process holds it. */
static int lock_data_dir(const char *dir, int *ret_fd)
{
	char path[4096];
	int fd;

	cli_path(path, sizeof(path), dir, "kura.lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int fail(const char *msg)
{
	log_error("server.refused", "%s", msg);
	fprintf(stderr, "kura serve: %s\n", msg);
	return 1;
}

#define THROTTLE_PRUNE_S 60   /* the per-address throttle's old rows go this often */

/* The mailer's task, before each round of deliveries, on the node that holds its lease
 * ("mail.task", store/lease.h): client certificates about to expire (auth/clientcert.c),
 * announcements whose publish time has come (notice/announce.c), and the per-address
 * throttle's rows whose window has passed (auth/throttle.c). */
static int background_task(struct db *db)
{
	static int64_t pruned_us;   /* the mailer thread's alone */
	int a = clientcert_expiry_notify(db), b = announce_deliver_due(db), c = 0;
	int64_t now = clock_now_us(), n = 0;

	if (now - pruned_us >= (int64_t)THROTTLE_PRUNE_S * 1000000 || now < pruned_us) {
		c = throttle_prune(db, now, &n);
		if (c < 0)
			log_error("auth.throttle", "pruning the per-address throttle failed: %s", strerror(-c));
		pruned_us = now;
	}
	return a < 0 ? a : b < 0 ? b : c < 0 ? c : a + b;
}

/* The mailer's task on every node, before each round, at most every
 * KURA_KEY_CACHE_RECHECK_S: this process's cache of unwrapped tenant keys loses what left
 * tenant_keys (crypto/keyring_rt.h); and on SQLite the names waiting for the name index are
 * folded (store/db.h db_name_fold), so a backlog that no upload folded (folders, renames,
 * moves, a large COPY) does not wait for the next search to be paid. */
static struct keyring_rt *node_keyring;

#ifdef KURA_TEST_HOOKS
/* test seam (tests/integration/test_dav.c test_get_statements): KURA_TEST_SQL_LOG=FILE
 * appends every statement a connection runs to FILE, one line each (the text's first 4 KiB),
 * a read snapshot's deferred BEGIN as "BEGIN (snapshot)" and a write transaction's
 * as "BEGIN (write)": what a request costs in statements, counted from outside. FILE is
 * opened before the sandbox; one write() a line, so the lines of threads do not mix. */
static int sql_log_fd = -1;

static void sql_log(void *ctx, struct db *db, enum db_trace_event ev, int64_t tenant_id, const char *sql)
{
	char line[4096];
	int n;

	(void)ctx;
	(void)db;
	(void)tenant_id;
	if (ev == DB_TRACE_SNAPSHOT)
		sql = "BEGIN (snapshot)";
	else if (ev == DB_TRACE_BEGIN)
		sql = "BEGIN (write)";
	else if (ev != DB_TRACE_STATEMENT || !sql)
		return;
	n = snprintf(line, sizeof(line), "%s\n", sql);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	for (int i = 0; i < n - 1; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	if (write(sql_log_fd, line, (size_t)n) < 0) {
		/* a test's log: nothing to do about it here */
	}
}

static void sql_log_start(void)
{
	const char *e = getenv("KURA_TEST_SQL_LOG");

	if (!e || !*e)
		return;
	sql_log_fd = open(e, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (sql_log_fd < 0) {
		log_warn("server.test_sql_log", "KURA_TEST_SQL_LOG=%s: %s", e, strerror(errno));
		return;
	}
	log_warn("server.test_sql_log", "KURA_TEST_SQL_LOG=%s: every statement is logged there", e);
	db_trace(sql_log, NULL);
}
#endif

/* test seam (tests/integration/test_search.c): a suite that checks what waits for the fold
 * turns the background fold off, so it never races with the check */
static bool idle_fold_off(void)
{
#ifdef KURA_TEST_HOOKS
	const char *e = getenv("KURA_TEST_NO_IDLE_FOLD");

	return e && !strcmp(e, "1");
#else
	return false;
#endif
}

static int node_task(struct db *db)
{
	static int64_t checked_us;   /* the mailer thread's alone */
	int64_t now = clock_now_us();
	int r, f;

	if (now - checked_us < (int64_t)KURA_KEY_CACHE_RECHECK_S * 1000000 && now >= checked_us)
		return 0;
	checked_us = now;
	r = keyring_rt_recheck(node_keyring, db);
	if (r > 0)
		log_info("keys.cache", "%d cached tenant key(s) dropped: their version is no longer in the database", r);
	f = idle_fold_off() ? 0 : db_name_fold(db, 0);   /* nothing waiting: one query; PostgreSQL: nothing */
	if (f < 0)
		log_warn("files.search", "folding the waiting names into the name index failed: %s", strerror(-f));
	return r < 0 && node_keyring ? r : f < 0 ? f : 0;
}

/* This node's id (store/lease.h) into DIR/kura.lock, after the id of the process that held
 * the lock before: that process is dead (the lock is ours), so the job leases it held end
 * now instead of when they run out, and a restart after a crash runs its jobs at once. A
 * lease held by another node (several nodes on one PostgreSQL) runs out by itself. */
static int node_handover(int lock_fd, struct db *db)
{
	char prev[DB_NODE_ID_LEN + 1] = "";
	const char *me = db_node_id();
	ssize_t n = pread(lock_fd, prev, DB_NODE_ID_LEN, 0);
	int released = 0;

	if (n == DB_NODE_ID_LEN && strspn(prev, "0123456789abcdef") == DB_NODE_ID_LEN && strcmp(prev, me)) {
		released = db_lease_release_all(db, prev);
		if (released < 0)
			return released;
	} else {
		prev[0] = '\0';
	}
	errno = 0;
	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, me, DB_NODE_ID_LEN, 0) != DB_NODE_ID_LEN)
		return errno ? -errno : -EIO;
	{
		char count[16];

		str_printf(count, sizeof(count), "%d", released);
		log_fields(LOG_INFO, "node.start",
			   (const char *const[]){ "node", me, "previous", prev, "leases_released", count, NULL });
	}
	return 0;
}

/* Graceful stop: new requests get 503 while those in flight may finish, for at most
 * drain_s seconds; a second SIGTERM or SIGINT stops at once. http_stop() then cuts what is
 * left (uploads are recorded with the reason "shutdown"). */
static void drain(struct http_server *http, const sigset_t *sigs, int sig, unsigned drain_s)
{
	struct timespec start, now, wait = { 0, KURA_DRAIN_POLL_MS * 1000000L };
	unsigned left;

	http_drain_begin(http);
	clock_gettime(CLOCK_MONOTONIC, &start);
	log_info("server.stop", "signal %d: draining, %u request(s) in flight, at most %u s", sig,
		 http_in_flight(http), drain_s);
	for (;;) {
		left = http_in_flight(http);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (left == 0)
			break;
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    (long)drain_s * 1000) {
			log_warn("server.stop", "drain time over: cutting %u request(s) in flight", left);
			break;
		}
		if (sigtimedwait(sigs, NULL, &wait) > 0) {
			log_warn("server.stop", "second signal: cutting %u request(s) in flight", left);
			break;
		}
	}
	log_info("server.stop", "stopping");
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "no-tls", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *listen_addr = NULL;
	char path[4096], err[1024];
	struct config cfg;
	unsigned char *master = NULL, *signing = NULL;
	struct audit_worker *auditor = NULL;
	struct lifecycle_worker *lifecycle = NULL;
	uint32_t retention[AUDIT_N_CATEGORIES];
	char *cert = NULL, *key = NULL;
	struct db *db = NULL;
	struct mailer *mailer = NULL;
	struct mgmt_server *mgmt = NULL;
	struct http_server *http = NULL;
	struct metrics_server *metrics = NULL;
	struct alerts *alerts = NULL;
	struct blob_store *blobs = NULL;
	struct keyring_rt *keyring = NULL;
	struct files *files = NULL;
	bool no_tls = false, loopback = false, dropped = false, db_ready = false;
	sigset_t sigs;
	int64_t started_us = clock_now_us(), swept = 0;
	unsigned tmp_swept = 0;
	int c, fd = -1, mfd = -1, lock_fd = -1, sig = 0, ret = 1, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': listen_addr = optarg; break;
		case 'n': no_tls = true; break;
		case 'h':
			puts("usage: kura serve --data DIR [--listen ADDR:PORT] [--no-tls]");
			return 0;
		default:
			return 2;
		}
	}
	if (!dir || optind != argc) {
		fputs("usage: kura serve --data DIR [--listen ADDR:PORT] [--no-tls]\n", stderr);
		return 2;
	}
	cli_path(path, sizeof(path), dir, "kura.conf");
	if (config_load(&cfg, path, err, sizeof(err)) < 0)
		return fail(err);
	if (listen_addr && str_copy(cfg.listen, sizeof(cfg.listen), listen_addr) < 0)
		return fail("--listen address too long");
	/* the listeners first: started as root, they are all it needs root for (a port below
	 * 1024); the management socket is made later, in the data directory, by the user */
	fd = http_listen(cfg.listen, &loopback, err, sizeof(err));
	if (fd < 0) {
		fail(err);
		goto out;
	}
	if (no_tls && !loopback) {
		str_printf(err, sizeof(err), "--no-tls is allowed on loopback addresses only, not %s", cfg.listen);
		fail(err);
		goto out;
	}
	if (cfg.metrics_listen[0]) {
		/* config_load took loopback addresses only; checked again on the bound socket */
		bool mloop = false;

		mfd = http_listen(cfg.metrics_listen, &mloop, err, sizeof(err));
		if (mfd < 0 || !mloop) {
			if (mfd >= 0)
				str_printf(err, sizeof(err), "[server] metrics_listen %s is not a loopback address",
					   cfg.metrics_listen);
			fail(err);
			goto out;
		}
	}
	/* started as root: from here on the unprivileged user, so that every file it makes is
	 * that user's (D2, docs/operations.md "Running as root") */
	r = sandbox_drop_user(cfg.user, dir, err, sizeof(err));
	if (r < 0) {
		fail(err);
		goto out;
	}
	dropped = r > 0;
	r = lock_data_dir(dir, &lock_fd);
	if (r < 0) {
		str_printf(err, sizeof(err), r == -EBUSY ? "another kura serve is using %s (%s/kura.lock is held)"
							  : "cannot lock %s/kura.lock: %s",
			   dir, r == -EBUSY ? dir : strerror(-r));
		fail(err);
		goto out;
	}
	if (dropped)
		log_info("server.user", "started as root: bound %s, then became %s (uid %u, gid %u); no capability left",
			 cfg.listen, cfg.user[0] ? cfg.user : SANDBOX_DEFAULT_USER, (unsigned)getuid(), (unsigned)getgid());
	else if (geteuid() == 0)
		log_warn("server.user", "[server] user = root: kura serve keeps running as root");
	log_set_level(!strcmp(cfg.log_level, "debug") ? LOG_DEBUG : !strcmp(cfg.log_level, "warn") ? LOG_WARN
						    : !strcmp(cfg.log_level, "error") ? LOG_ERROR : LOG_INFO);
	if (crypto_init() < 0) {
		fail("libsodium failed to initialize");
		goto out;
	}
	if (pwhash_set_params(cfg.pwhash_ops, cfg.pwhash_mem_kib) < 0) {
		str_printf(err, sizeof(err), "%s: [security] pwhash_ops / pwhash_mem_kib are outside Argon2id's limits",
			   cfg.path);
		fail(err);
		goto out;
	}
	auth_configure(&cfg);
	notice_configure(cfg.public_url);   /* links in contact confirmations and notices */
	lockbox_configure(&cfg);   /* C7: lapse of operator access requests, portal link */
	reports_configure(&cfg);

	cli_path(path, sizeof(path), dir, "master.key");
	r = keyfile_load(path, MASTER_KEY_BYTES, &master);
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot load the master key %s: %s%s", path, strerror(-r),
			   r == -EPERM ? " (it must be readable by its owner only: chmod 600)" : "");
		fail(err);
		goto out;
	}
	if (outbox_set_key(master) < 0) {
		fail("cannot derive the mail outbox key");
		goto out;
	}
	if (clientcert_configure(master) < 0) {
		fail("cannot derive the client certificate issuer key");
		goto out;
	}
	if (mfa_configure(&cfg, master) < 0) {
		str_printf(err, sizeof(err), "%s: [server] public_url must be an http:// or https:// URL (it is the "
			   "WebAuthn origin)", cfg.path);
		fail(err);
		goto out;
	}
	/* the deployment's Ed25519 key signs audit checkpoints and exports (F9, G3) */
	cli_path(path, sizeof(path), dir, "signing.key");
	r = keyfile_load(path, SIGN_SECRET_BYTES, &signing);
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot load the signing key %s: %s%s", path, strerror(-r),
			   r == -EPERM ? " (it must be readable by its owner only: chmod 600)" : "");
		fail(err);
		goto out;
	}
	for (int i = 0; i < AUDIT_N_CATEGORIES; i++)
		retention[i] = cfg.audit_retention_cat[i] ? cfg.audit_retention_cat[i] : cfg.audit_retention_days;
	audit_set_retention(retention);
	/* each service's promises, with the [service.CODE] overrides (docs/lifecycle.md) */
	catalog_install(cfg.services);
	if (!no_tls) {
		data_path(path, sizeof(path), dir, cfg.tls_cert);
		cert = read_text(path, err, sizeof(err));
		data_path(path, sizeof(path), dir, cfg.tls_key);
		key = cert ? read_text(path, err, sizeof(err)) : NULL;
		if (!cert || !key) {
			fail(err);
			goto out;
		}
	}

	if (db_url_resolve(cfg.db_url, dir, path, sizeof(path)) < 0) {
		fail("[store] db_url does not name a database");
		goto out;
	}
	if (!db_url_is_pg(path) && access(path, R_OK | W_OK) < 0) {
		str_printf(err, sizeof(err), "no database at %s (run kura init first): %s", path, strerror(errno));
		fail(err);
		goto out;
	}
	db = db_open(path, err, sizeof(err));
	if (!db || db_migrate(db) < 0) {
		fail(db ? "database migration failed" : err);
		goto out;
	}
	r = node_handover(lock_fd, db);
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot record this node in %s/kura.lock or end its predecessor's job"
			   " leases: %s", dir, strerror(-r));
		fail(err);
		goto out;
	}
	if (audit_adopt(db) < 0) {
		fail("cannot chain the audit records written before the hash chain");
		goto out;
	}
	/* the keys must be this data directory's own, before anything is wrapped or signed */
	r = keycheck_master(db, master);
	if (r < 0) {
		char kpath[4096];

		cli_path(kpath, sizeof(kpath), dir, "master.key");
		if (r == -EKEYREJECTED)
			str_printf(err, sizeof(err), "%s is not the master key of this data directory: it does not match"
				   " the key check value in %s (or, for a data directory from before the check, no tenant"
				   " key opens with it); restore the right master.key", kpath, path);
		else
			str_printf(err, sizeof(err), "cannot check the master key against %s: %s", path, strerror(-r));
		fail(err);
		goto out;
	}
	r = audit_keys_open(db, dir, signing, err, sizeof(err));
	if (r < 0) {
		if (r != -EKEYREJECTED)
			str_printf(err, sizeof(err), "cannot check the signing key against %s: %s", path, strerror(-r));
		fail(err);
		goto out;
	}
	signing = keyfile_free(signing, SIGN_SECRET_BYTES);   /* the audit module keeps its copy */
	/* the end of contracts (B3); an erased tenant stays erased: the erasure ledger destroys
	 * any key it names that this database still holds (a restored copy) before anything is
	 * served (docs/lifecycle.md "Backups") */
	/* erasure alerts go to [lifecycle] alert_email, else to the operators' [ops] alert_mail */
	lifecycle_configure(&(struct lifecycle_config){ .grace_days = cfg.grace_days,
							.alert_email = cfg.alert_email[0] ? cfg.alert_email : cfg.alert_mail,
							.data_dir = dir, .public_url = cfg.public_url });
	r = erasure_ledger_apply(db, dir, NULL);
	if (r == 0)
		r = lifecycle_end_due(db, clock_now_us());
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot apply the erasure ledger %s/%s or end the contracts that are"
			   " due: %s (nothing is served while an ended or erased tenant could be)", dir,
			   LIFECYCLE_LEDGER_FILE, strerror(-r));
		fail(err);
		goto out;
	}
	db = db_close(db);
	if (db_set_path(path) < 0)
		goto out;
	db_ready = true;


	/* signals are taken by sigwait below; every thread started from here inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* file storage: ciphertext blobs under DIR/blobs, keys through the runtime keyring */
	cli_path(path, sizeof(path), dir, "blobs");
	blobs = blob_open(&cfg, path, err, sizeof(err));
	keyring = keyring_rt_new(master);
	files = blobs && keyring ? files_new(blobs, keyring) : NULL;
	if (!files) {
		fail(blobs ? "cannot set up file storage" : err);
		goto out;
	}
	/* crash leftovers: with the data directory locked and nothing served yet, every
	 * temporary file is an upload that will never finish, and a blob no row names (trash
	 * included) is one whose row never committed, or whose deletion a crash cut short */
	if (blob_sweep_tmp(blobs, &tmp_swept) < 0)
		log_warn("blob.sweep", "some temporary files could not be removed");
	if (db_url_resolve(cfg.db_url, dir, path, sizeof(path)) < 0)
		goto out;
	db = db_open(path, err, sizeof(err));
	r = db ? files_normalize_legacy(db, NULL) : -EIO;
	if (r < 0) {
		fail("cannot normalise stored file names to NFC");
		goto out;
	}
	/* a store shared with other nodes (S3) may hold another node's blob committed a moment
	 * ago whose row is not yet in: only blobs older than the grace are judged */
	r = files_sweep_orphans(files, db, blob_shared(blobs) ? started_us - (int64_t)KURA_S3_SHARED_GRACE_S * 1000000
								 : started_us, &swept);
	db = db_close(db);
	if (r < 0)
		log_warn("files.sweep", "the sweep of unreferenced blobs stopped: %s", strerror(-r));
	r = files_set_reserve(dir, cfg.reserve_mib, cfg.reserve_percent);
	if (r < 0) {
		str_printf(err, sizeof(err), "cannot read the free space of %s: %s", dir, strerror(-r));
		fail(err);
		goto out;
	}
#ifdef KURA_TEST_HOOKS
	sql_log_start();   /* before the first thread, and before Landlock */
#endif
	/* file access: from here on (the first thread starts next, and Landlock holds for the
	 * threads a restricted one starts) the data directory and what a server reads */
	if (!strcmp(cfg.landlock, "on")) {
		char tls_paths[2][4096];
		const char *extra[3] = { NULL };

		if (!no_tls) {
			data_path(tls_paths[0], sizeof(tls_paths[0]), dir, cfg.tls_cert);
			data_path(tls_paths[1], sizeof(tls_paths[1]), dir, cfg.tls_key);
			extra[0] = tls_paths[0];
			extra[1] = tls_paths[1];
		}
		r = sandbox_landlock(dir, extra, err, sizeof(err));
		if (r < 0) {
			fail(err);
			goto out;
		}
		if (r > 0)
			log_info("sandbox.landlock", "file access limited to %s and what a server reads (Landlock ABI %d)",
				 dir, r);
		else
			log_warn("sandbox.landlock", "no file access restriction: %s", err);
	} else {
		log_warn("sandbox.landlock", "[server] landlock = off: no file access restriction");
	}
	if (files_start_purger(files) < 0) {
		fail("cannot set up file storage");
		goto out;
	}

	mailer = mailer_start(&cfg);
	if (!mailer) {
		fail("cannot start the mail sender");
		goto out;
	}
	mailer_set_task(mailer, background_task);
	node_keyring = keyring;
	mailer_set_node_task(mailer, node_task);
	auditor = audit_worker_start(cfg.audit_checkpoint_s, cfg.audit_prune_s);
	if (!auditor) {
		fail("cannot start the audit checkpoint worker");
		goto out;
	}
	/* the termination scheduler: now (start-up) and hourly; resumes a cut erasure */
	lifecycle = lifecycle_worker_start(&(struct lifecycle_env){ .files = files, .blobs = blobs,
								    .keyring = keyring, .mailer = mailer });
	if (!lifecycle) {
		fail("cannot start the termination scheduler");
		goto out;
	}
	cli_path(path, sizeof(path), dir, "admin.sock");
	mgmt = mgmt_start(path, master, mailer, files, err, sizeof(err));
	if (!mgmt) {
		fail(err);
		goto out;
	}
	/* what the compliance statement shows of this process (A5, E3, F7) */
	compliance_install(&cfg, !no_tls, cert, HTTP_TLS_PRIORITIES, cmd_deps_inventory());
	http = http_start(&(struct http_options){ .cfg = &cfg, .listen_fd = fd, .tls_cert_pem = cert,
						   .tls_key_pem = key, .mailer = mailer, .files = files,
						   .threads = cfg.threads },
			  err, sizeof(err));
	if (!http) {
		fail(err);
		goto out;
	}
	fd = -1;  /* the server owns it now */
	if (mfd >= 0) {
		cli_path(path, sizeof(path), dir, "admin.sock");
		metrics = metrics_start(mfd, dir, err, sizeof(err));
		if (!metrics) {
			fail(err);
			goto out;
		}
		mfd = -1;
		log_info("metrics.start", "Prometheus metrics on http://%s/metrics", cfg.metrics_listen);
	}
	alerts = alerts_start(&cfg, dir, mailer);
	if (!alerts) {
		fail("cannot start the capacity alerts");
		goto out;
	}
	cli_path(path, sizeof(path), dir, "admin.sock");
	/* every thread runs now: from here on, only the system calls a running server needs */
	if (!strcmp(cfg.syscall_filter, "on")) {
		r = sandbox_seccomp(err, sizeof(err));
		if (r < 0) {
			fail(err);
			goto out;
		}
		log_info("sandbox.seccomp", "system-call allowlist in force (%d calls); any other kills the process", r);
		compliance_set_sandbox(true);
	} else {
		log_warn("sandbox.seccomp", "[server] syscall_filter = off: no system-call allowlist");
	}
#ifdef KURA_TEST_HOOKS
	if (getenv("KURA_TEST_SANDBOX_EXEC")) {
		/* test seam (tests/integration/test_sandbox.c): under the allowlist this execve
		 * kills the process; without it, touch runs in its place */
		execl("/usr/bin/touch", "touch", getenv("KURA_TEST_SANDBOX_EXEC"), (char *)NULL);
		log_error("sandbox.seccomp", "execve failed: %s", strerror(errno));
	}
	if (getenv("KURA_TEST_SANDBOX_OPEN")) {
		/* test seam (tests/integration/test_landlock.c): a file outside the allowed set,
		 * opened once everything is in force; the outcome goes to the log */
		int tfd = open(getenv("KURA_TEST_SANDBOX_OPEN"), O_RDONLY | O_CLOEXEC);

		log_info("sandbox.test", "open %s: %s", getenv("KURA_TEST_SANDBOX_OPEN"),
			 tfd >= 0 ? "opened" : strerror(errno));
		if (tfd >= 0)
			close(tfd);
	}
#endif
#ifdef KURA_TEST_HOOKS
	log_warn("server.test_build", "this kura is a test build: its KURA_TEST_* seams (clock offset, faults) are"
		 " compiled in; a production build is configured with -DKURA_TESTS=OFF (make build)");
#endif
	log_info("server.start", "kura %s serving %s://%s, management on %s, node %s", KURA_VERSION,
		 no_tls ? "http" : "https", cfg.listen, path, db_node_id());
	while (sigwait(&sigs, &sig) != 0)
		;
	drain(http, &sigs, sig, cfg.drain_s);
	ret = 0;
out:
	alerts = alerts_stop(alerts);
	metrics = metrics_stop(metrics);
	if (mfd >= 0)
		close(mfd);
	http = http_stop(http);
	mgmt = mgmt_stop(mgmt);
	compliance_uninstall();
	lifecycle = lifecycle_worker_stop(lifecycle);
	mailer = mailer_stop(mailer);
	auditor = audit_worker_stop(auditor);
	audit_set_signing_key(NULL);
	files = files_free(files);
	/* every job has stopped: its leases end now, so another node takes them at once */
	if (db_ready && db_thread() && db_lease_release_all(db_thread(), db_node_id()) < 0)
		log_warn("job.lease", "cannot end this node's job leases; they run out by themselves");
	keyring = keyring_rt_free(keyring);
	blobs = blob_close(blobs);
	if (fd >= 0)
		close(fd);
	db_close(db);
	mfa_shutdown();
	keyfile_free(master, MASTER_KEY_BYTES);
	keyfile_free(signing, SIGN_SECRET_BYTES);
	if (lock_fd >= 0)
		close(lock_fd);   /* last: everything that wrote to DIR has stopped */
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return ret;
}
