/*
 * The end of a contract (B3, F3, issue 8; docs/lifecycle.md "Termination", "Erasure",
 * "Erasure certificate").
 *
 * An operator schedules the end of a tenant (or of one option) on a day of the tenant's zone;
 * the contract ends at the end of that day. The erasure deadline comes from the service
 * catalog (the shortest of the tenant's services, with its day-1 rule). Managers are told
 * when it is scheduled and 14, 7 and 1 days before (mail and portal). At the end the tenant
 * stops being served (tenants.status 'terminated': no sign-in, session, app password, WebDAV
 * or share link; public pages answer as for an unknown tenant). After the grace period (an
 * operator may reinstate the contract until then) the erasure runs: the tenant's keys are
 * destroyed first (crypto-erase: every blob unreadable at once), a sample of its blobs is
 * read to show that it fails, then blobs and rows are deleted, and a signed certificate is
 * made, kept and mailed. Each step is idempotent and its progress is the tenant's row in
 * tenant_terminations, so a kill -9 at any moment resumes at start-up.
 *
 * An erasure ledger outside the database (DATADIR/erasure-ledger.jsonl) lists the
 * fingerprints of every destroyed key; erasure_ledger_apply() destroys any key it names that
 * a database still holds (a restored old backup) and finishes that tenant's erasure, so an
 * erased tenant stays erased in backups. kura serve applies it at start-up; kura restore
 * must copy the deployment's ledger into the restored directory and call it too.
 *
 * Certificates: signed JSON (the deployment's Ed25519 key), with a ja/en HTML rendering;
 * certificate_verify() checks one offline and names what fails (kura erasure verify).
 */
#ifndef KURA_LIFECYCLE_LIFECYCLE_H
#define KURA_LIFECYCLE_LIFECYCLE_H
#include <jansson.h>

#include "core/core.h"

struct db;
struct actor;
struct files;
struct blob_store;
struct keyring_rt;
struct mailer;

#define LIFECYCLE_GRACE_DAYS_DEFAULT 7
#define LIFECYCLE_GRACE_DAYS_MAX 90
#define LIFECYCLE_LEDGER_FILE "erasure-ledger.jsonl"
#define LIFECYCLE_LEDGER_LINE_MAX 16384          /* bytes of one ledger line */
#define LIFECYCLE_LEDGER_KEYS_MAX 256            /* key fingerprints one ledger line holds */
#define LIFECYCLE_SAMPLE_MAX 8                   /* blobs read back after the keys are gone */
#define LIFECYCLE_BATCH 1000                     /* rows deleted per transaction */
#define LIFECYCLE_CERT_MAX (64 * 1024)           /* bytes of a certificate file */
#define LIFECYCLE_ALERT_MARGIN_US (24LL * 3600 * 1000000)   /* alert this long before the deadline */
#define LIFECYCLE_TICK_S 3600                    /* the scheduler runs hourly */

/* Deployment settings (serve start-up, before threads). */
struct lifecycle_config {
	uint32_t grace_days;         /* reinstatement window after the end (default 7) */
	const char *alert_email;     /* operators' address for deadline alerts ("" = log only) */
	const char *data_dir;        /* where the ledger lives */
	const char *public_url;      /* for the export link in notices */
};
void lifecycle_configure(const struct lifecycle_config *c);

/* ---- the schedule (operator commands) ---- */
/* Schedules the tenant's end at the end of date (YYYY-MM-DD, today or later in the tenant's
 * zone); mails the managers; recorded. -EEXIST when one is scheduled, -EINVAL for a bad or
 * past date, -EPERM once ended. *ret: the termination JSON. */
int lifecycle_terminate(struct db *db, const struct actor *who, int64_t tenant_id, const char *date,
			json_t **ret) KURA_WUR;
/* The same for one option the tenant has and its services offer (its data is erased and its
 * feature switched off at the end). -ENOENT when the tenant has no such option. */
int lifecycle_terminate_option(struct db *db, const struct actor *who, int64_t tenant_id,
			       const char *option, const char *date, json_t **ret) KURA_WUR;
/* Cancels a scheduled termination (the tenant's and its options') before the end; -ENOENT
 * when none is scheduled, -EPERM after the end (reinstate then). Recorded. */
int lifecycle_cancel(struct db *db, const struct actor *who, int64_t tenant_id) KURA_WUR;
/* Brings an ended contract back within the grace period (before its erasure starts); -EPERM
 * afterwards, -ENOENT when it has not ended. Recorded. */
int lifecycle_reinstate(struct db *db, const struct actor *who, int64_t tenant_id) KURA_WUR;
/* The tenant's termination for GET /api/v1/tenant and tenant show: {state, end_day, ends_at,
 * erasure_deadline, grace_until, notices, what_is_erased, export, options:[...]} or null when
 * nothing is scheduled. provider adds what operators see (phase, keys held, certificate). */
json_t *lifecycle_json(struct db *db, int64_t tenant_id, bool provider);
/* The signed certificate of an erased tenant (malloc'd text), -ENOENT before. */
int lifecycle_certificate(struct db *db, int64_t tenant_id, char **ret) KURA_WUR;

/* ---- the scheduler ---- */
struct lifecycle_env {
	struct files *files;         /* to show that the tenant's blobs no longer open */
	struct blob_store *blobs;
	struct keyring_rt *keyring;  /* its cached keys of the tenant are dropped */
	struct mailer *mailer;       /* woken after mail was queued (may be NULL) */
};
/* One pass at now: notices, ends, alerts, erasures (each to completion), option ends.
 * *ret_erased counts the erasures completed. */
int lifecycle_tick(const struct lifecycle_env *env, int64_t now_us, int64_t *ret_erased) KURA_WUR;
/* Ends every contract whose end has passed (kura serve calls it before it serves, so a
 * tenant past its end is never served while the first pass is still to run). */
int lifecycle_end_due(struct db *db, int64_t now_us) KURA_WUR;
struct lifecycle_worker;
/* A thread running lifecycle_tick now and then every LIFECYCLE_TICK_S. */
struct lifecycle_worker *lifecycle_worker_start(const struct lifecycle_env *env);
void lifecycle_worker_wake(struct lifecycle_worker *w);
struct lifecycle_worker *lifecycle_worker_stop(struct lifecycle_worker *w);

/* ---- erasure (erasure.c) ---- */
/* Runs (or resumes) the erasure of a tenant whose state is erasing, to the end. */
int erasure_run(const struct lifecycle_env *env, struct db *db, int64_t tenant_id) KURA_WUR;
/* Erases the data an option owns and switches its feature off (recorded). */
int erasure_option(struct db *db, const struct actor *who, int64_t tenant_id, const char *option) KURA_WUR;
/* The ledger seam for backup and restore: destroys every tenant key of db that
 * DATADIR/erasure-ledger.jsonl names and puts its tenant into the erasing state (it is not
 * served, and the scheduler completes the erasure). *ret_n: keys destroyed. A missing ledger
 * is an empty one; a malformed line is -EBADMSG (nothing is served from a ledger that
 * cannot be read: kura serve refuses to start). */
int erasure_ledger_apply(struct db *db, const char *data_dir, int64_t *ret_n) KURA_WUR;
/* SHA-256 of a wrapped key in hex (65 bytes): the key's id in the ledger and certificate. */
void erasure_key_id(const void *wrapped, size_t n, char ret[65]);

/* ---- certificates (certificate.c) ---- */
/* Signs body (the certificate's members) into the file's text (malloc'd): one canonical JSON
 * object {"certificate": body, "signature": {...}}. */
int certificate_sign(json_t *body, char **ret) KURA_WUR;
/* Checks text against pk (32 bytes): canonical form, members, signature. 0 when it holds;
 * -EBADMSG with every failure named in *ret_problems (a JSON array of strings, always set). */
int certificate_verify(const char *text, size_t n, const unsigned char pk[32], json_t **ret_problems) KURA_WUR;
/* What a certificate (verified or not) states was not achieved in full, one sentence each (a
 * JSON array; NULL without memory): sampled files that were missing or refused for another
 * reason than their destroyed key, a WAL not truncated. */
json_t *certificate_notes(const char *text, size_t n);
/* The certificate as one HTML page, Japanese then English (malloc'd). */
char *certificate_html(const char *text);
#endif
