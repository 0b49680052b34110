/*
 * Capacity alerts (alerts.h). One thread; the state of each alert (what it is about, whether
 * it stands, when it was last raised) lives in memory, at most KURA_ALERTS_MAX of them: a
 * restart raises what still stands once more, which is what an operator wants after one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/alerts.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "store/lease.h"

#define KURA_ALERTS_MAX 1024   /* alerts tracked at once (one per tenant, the disk, the outbox) */

struct alert_state {
	char key[64];           /* "disk", "outbox", "quota:CODE" */
	bool standing, seen;    /* seen: found in this round */
	int64_t raised_us;
};

struct alerts {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct mailer *mailer;
	char dir[4096];
	char mail[CONFIG_STR];
	uint32_t disk_pct, quota_pct, backlog, check_s, repeat_s;
	struct alert_state st[KURA_ALERTS_MAX];
	size_t n;
};

static struct alert_state *state_of(struct alerts *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->st[i].key, key))
			return &a->st[i];
	if (a->n == KURA_ALERTS_MAX)
		return NULL;
	memset(&a->st[a->n], 0, sizeof(a->st[0]));
	str_copy(a->st[a->n].key, sizeof(a->st[0].key), key);
	return &a->st[a->n++];
}

static void send_mail(struct alerts *a, struct db *db, const char *text)
{
	const struct mail_var vars[] = { MAIL_TIME("sent_at", clock_now_us()), MAIL_TEXT("alert", text) };
	const struct mail m = { .name = "capacity-alert", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	int64_t id = 0;
	int r;

	if (!a->mail[0] || !db)
		return;
	r = db_begin(db);
	if (r == 0)
		r = mail_queue(db, 0, a->mail, &m, &id);
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);   /* a failed commit may leave the transaction open */
	if (r < 0)
		log_error("ops.alert", "cannot queue the alert mail to %s: %s", a->mail, strerror(-r));
	else
		mailer_wake(a->mailer);
}

/* the condition of key holds (over) or not, with the text of its alert */
static void judge(struct alerts *a, struct db *db, const char *key, bool over, const char *text)
{
	struct alert_state *s = state_of(a, key);
	int64_t now = clock_now_us();

	if (!s) {
		if (over)
			log_warn("ops.alert", "%s (not tracked: more than %d alerts)", text, KURA_ALERTS_MAX);
		return;
	}
	s->seen = true;
	if (!over) {
		if (s->standing)
			log_info("ops.alert.cleared", "%s: back under the threshold", key);
		s->standing = false;
		return;
	}
	if (s->standing && now - s->raised_us < (int64_t)a->repeat_s * 1000000)
		return;   /* raised already: not at every check */
	s->standing = true;
	s->raised_us = now;
	log_fields(LOG_WARN, "ops.alert", (const char *const[]){ "alert", key, "msg", text, NULL });
	send_mail(a, db, text);
}

static void check(struct alerts *a)
{
	struct db *db = db_thread();
	struct statvfs vfs;
	struct db_stmt *st;
	char text[512];

	for (size_t i = 0; i < a->n; i++)
		a->st[i].seen = false;
	if (statvfs(a->dir, &vfs) == 0 && vfs.f_blocks > 0) {
		/* used as df counts it: what is not free for unprivileged users */
		double total = (double)vfs.f_blocks * vfs.f_frsize, avail = (double)vfs.f_bavail * vfs.f_frsize;
		double used = total - avail, pct = total > 0 ? used * 100.0 / total : 0;

		str_printf(text, sizeof(text), "disk of %s: %.1f %% used (%.0f of %.0f MiB), over %u %%", a->dir, pct,
			   used / 1048576.0, total / 1048576.0, a->disk_pct);
		judge(a, db, "disk", pct > a->disk_pct, text);
	}
	/* the disk is this node's; the tenants' quotas and the outbox are everyone's: the holder
	 * of the lease judges them (store/lease.h) */
	if (!db || db_lease_claim(db, "ops.alerts", db_lease_ttl_s(a->check_s)) != 1)
		return;
	st = db_query(db, "SELECT t.code, COALESCE(q.quota_bytes, $1), COALESCE(q.used_bytes, 0) + COALESCE(q.meta_bytes, 0)"
			  " FROM tenants t LEFT JOIN file_quotas q ON q.tenant_id = t.id WHERE t.status = 'active'",
		      "i", (int64_t)KURA_QUOTA_DEFAULT_BYTES);
	while (db_step(st) > 0) {
		const char *code = db_text(st, 0) ? db_text(st, 0) : "?";
		int64_t quota = db_int(st, 1), used = db_int(st, 2);
		char key[64];
		bool over = quota > 0 && (double)used * 100.0 > (double)quota * a->quota_pct;

		str_printf(key, sizeof(key), "quota:%s", code);
		str_printf(text, sizeof(text), "tenant %s: %lld of its %lld bytes quota used (%.1f %%), over %u %%", code,
			   (long long)used, (long long)quota, quota > 0 ? used * 100.0 / (double)quota : 0.0, a->quota_pct);
		judge(a, db, key, over, text);
	}
	db_done(st);
	st = db_query(db, "SELECT COUNT(*) FROM mail_outbox WHERE state IN ('queued', 'deferred')", NULL);
	if (db_step(st) > 0) {
		int64_t waiting = db_int(st, 0);

		str_printf(text, sizeof(text), "outbox: %lld mails waiting (queued or deferred), over %u", (long long)waiting,
			   a->backlog);
		judge(a, db, "outbox", waiting > a->backlog, text);
	}
	db_done(st);
	/* a tenant gone since the last round: its alert is over */
	for (size_t i = 0; i < a->n; i++)
		if (!a->st[i].seen)
			a->st[i].standing = false;
}

static void *run(void *arg)
{
	struct alerts *a = arg;
	struct timespec until;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		pthread_mutex_unlock(&a->lock);
		check(a);
		pthread_mutex_lock(&a->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += a->check_s;
		while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

struct alerts *alerts_start(const struct config *cfg, const char *dir, struct mailer *mailer)
{
	struct alerts *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (!a)
		return NULL;
	if (cfg->alert_mail[0] && !mail_address_valid(cfg->alert_mail)) {
		log_error("ops.alert", "%s: [ops] alert_mail \"%s\" is not one address like ops@example.com", cfg->path,
			  cfg->alert_mail);
		free(a);
		return NULL;
	}
	a->mailer = mailer;
	a->disk_pct = cfg->disk_alert_percent;
	a->quota_pct = cfg->quota_alert_percent;
	a->backlog = cfg->outbox_alert_backlog;
	a->check_s = cfg->alert_check_s;
	a->repeat_s = cfg->alert_repeat_s;
	if (str_copy(a->dir, sizeof(a->dir), dir) < 0 || str_copy(a->mail, sizeof(a->mail), cfg->alert_mail) < 0) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&a->thread, NULL, run, a) != 0) {
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	if (!a->mail[0])
		log_info("ops.alert", "[ops] alert_mail is not set: capacity alerts are log lines only");
	return a;
}

struct alerts *alerts_stop(struct alerts *a)
{
	if (!a)
		return NULL;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}
