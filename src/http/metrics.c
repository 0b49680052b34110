/*
 * /metrics (F2, F6): Prometheus text exposition 0.0.4 on a listener of its own, [server]
 * metrics_listen, a loopback address only (config_load refuses any other); never the public
 * listener. One thread, plain HTTP, GET or HEAD /metrics only.
 *
 * Labels come from fixed sets so their number never depends on what clients send: a request
 * is counted by its route's pattern and method (the composed route table, or "unmatched")
 * and by its status out of METRICS_STATUSES ("other" for the rest); tenants by their code
 * (the provider's own list, bounded by the contracts). Everything from the database is read
 * at scrape time.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/stats.h"
#include "http/dav_cache.h"
#include "http/http.h"
#include "http/http_int.h"
#include "http/metrics.h"
#include "store/db.h"

static const unsigned statuses[] = { 200, 201, 204, 206, 207, 301, 302, 303, 304, 307, 308, 400, 401,
				      403, 404, 405, 406, 409, 410, 411, 412, 413, 414, 415, 416, 422,
				      423, 424, 428, 429, 431, 500, 501, 503, 507 };
#define N_STATUS ARRAY_SIZE(statuses)
#define UNMATCHED HTTP_ROUTES_MAX          /* the row of requests no route matched */

static _Atomic uint64_t req_count[HTTP_ROUTES_MAX + 1][N_STATUS + 1];
static struct stats_hist req_latency[HTTP_ROUTES_MAX + 1];

void metrics_request(size_t route_index, unsigned status, int64_t us)
{
	size_t row = route_index < HTTP_ROUTES_MAX ? route_index : UNMATCHED, s;

	for (s = 0; s < N_STATUS && statuses[s] != status; s++)
		;
	atomic_fetch_add_explicit(&req_count[row][s], 1, memory_order_relaxed);
	stats_observe(&req_latency[row], us);
}

struct metrics_server {
	struct MHD_Daemon *daemon;
	char dir[4096];
};

static void head(struct dbuf *b, const char *name, const char *type, const char *help)
{
	dbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a label value: \, " and newline escaped */
static void label(struct dbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			dbuf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			dbuf_puts(b, "\\n");
		else
			dbuf_add(b, v, 1);
	}
}

static void hist(struct dbuf *b, const char *name, const char *labels, const struct stats_hist *h)
{
	uint64_t cum = 0, count = atomic_load(&h->count);
	const char *sep = *labels ? "," : "";

	for (int i = 0; i < STATS_BUCKETS; i++) {
		cum += atomic_load(&h->bucket[i]);
		dbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, stats_bounds_us[i] / 1e6,
			    (unsigned long long)cum);
	}
	/* the buckets were read one by one: +Inf is at least their sum */
	if (count < cum)
		count = cum;
	dbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)count);
	dbuf_printf(b, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		    atomic_load(&h->sum_us) / 1e6);
	dbuf_printf(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		    (unsigned long long)count);
}

static void route_labels(char *buf, size_t size, size_t row, const struct route *table)
{
	struct dbuf b;
	char *s;

	dbuf_init(&b, size - 1);
	dbuf_puts(&b, "method=\"");
	label(&b, row == UNMATCHED ? "" : table[row].method);
	dbuf_puts(&b, "\",route=\"");
	label(&b, row == UNMATCHED ? "unmatched" : table[row].pattern);
	dbuf_puts(&b, "\"");
	s = dbuf_take(&b, NULL);
	str_copy(buf, size, s ? s : "route=\"?\"");
	free(s);
}

static void requests(struct dbuf *b)
{
	size_t n, row, s;
	const struct route *table = http_routes(&n);
	char labels[1024];

	head(b, "kura_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status");
	for (row = 0; row <= UNMATCHED; row++) {
		if (row >= n && row != UNMATCHED)
			continue;
		route_labels(labels, sizeof(labels), row, table);
		for (s = 0; s <= N_STATUS; s++) {
			uint64_t v = atomic_load(&req_count[row][s]);
			char st[16];

			if (!v)
				continue;
			if (s < N_STATUS)
				str_printf(st, sizeof(st), "%u", statuses[s]);
			else
				str_copy(st, sizeof(st), "other");
			dbuf_printf(b, "kura_http_requests_total{%s,status=\"%s\"} %llu\n", labels, st,
				    (unsigned long long)v);
		}
	}
	head(b, "kura_http_request_duration_seconds", "histogram",
	     "time from the request's first byte to the end of its answer, by route pattern");
	for (row = 0; row <= UNMATCHED; row++) {
		if ((row >= n && row != UNMATCHED) || !atomic_load(&req_latency[row].count))
			continue;
		route_labels(labels, sizeof(labels), row, table);
		hist(b, "kura_http_request_duration_seconds", labels, &req_latency[row]);
	}
}

static void gauge(struct dbuf *b, const char *name, const char *help, double v)
{
	head(b, name, "gauge", help);
	dbuf_printf(b, "%s %.17g\n", name, v);
}

static void counter(struct dbuf *b, const char *name, const char *help, uint64_t v)
{
	head(b, name, "counter", help);
	dbuf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void key_file_age(struct dbuf *b, const char *dir, const char *file, const char *key, int64_t now_us)
{
	char path[4200];
	struct stat st;

	if (str_printf(path, sizeof(path), "%s/%s", dir, file) == 0 && stat(path, &st) == 0)
		dbuf_printf(b, "kura_key_age_seconds{key=\"%s\"} %lld\n", key,
			    (long long)(now_us / 1000000 - st.st_mtim.tv_sec));
}

static void database(struct dbuf *b, const char *dir)
{
	struct db *db = db_thread();
	struct db_stmt *st;
	int64_t now = clock_now_us();

	if (!db) {
		gauge(b, "kura_database_up", "1 when /metrics could read the database", 0);
		return;
	}
	head(b, "kura_outbox_mails", "gauge", "mails in the outbox, by state");
	st = db_query(db, "SELECT state, COUNT(*) FROM mail_outbox GROUP BY state", NULL);
	{
		static const char *const states[] = { "queued", "deferred", "sent", "failed" };
		int64_t counts[4] = { 0 };

		while (db_step(st) > 0)
			for (int i = 0; i < 4; i++)
				if (!strcmp(db_text(st, 0) ? db_text(st, 0) : "", states[i]))
					counts[i] = db_int(st, 1);
		db_done(st);
		for (int i = 0; i < 4; i++)
			dbuf_printf(b, "kura_outbox_mails{state=\"%s\"} %lld\n", states[i], (long long)counts[i]);
	}
	st = db_query(db, "SELECT MIN(created_us) FROM mail_outbox WHERE state IN ('queued', 'deferred')", NULL);
	head(b, "kura_outbox_oldest_waiting_seconds", "gauge", "age of the oldest mail not yet sent (0: none)");
	dbuf_printf(b, "kura_outbox_oldest_waiting_seconds %.6f\n",
		    db_step(st) > 0 && !db_is_null(st, 0) ? (now - db_int(st, 0)) / 1e6 : 0.0);
	db_done(st);

	/* per tenant: storage against quota, and the age of its newest data key */
	st = db_query(db, "SELECT t.code, COALESCE(q.quota_bytes, $1), COALESCE(q.used_bytes, 0) + COALESCE(q.meta_bytes, 0),"
			  " (SELECT MAX(k.created_us) FROM tenant_keys k WHERE k.tenant_id = t.id)"
			  " FROM tenants t LEFT JOIN file_quotas q ON q.tenant_id = t.id"
			  " WHERE t.status = 'active' ORDER BY t.code", "i", (int64_t)KURA_QUOTA_DEFAULT_BYTES);
	{
		struct dbuf used, quota, keys;

		dbuf_init(&used, KURA_METRICS_MAX_BYTES);
		dbuf_init(&quota, KURA_METRICS_MAX_BYTES);
		dbuf_init(&keys, KURA_METRICS_MAX_BYTES);
		while (db_step(st) > 0) {
			const char *code = db_text(st, 0) ? db_text(st, 0) : "";

			dbuf_printf(&used, "kura_tenant_storage_used_bytes{tenant=\"%s\"} %lld\n", code,
				    (long long)db_int(st, 2));
			dbuf_printf(&quota, "kura_tenant_storage_quota_bytes{tenant=\"%s\"} %lld\n", code,
				    (long long)db_int(st, 1));
			if (!db_is_null(st, 3))
				dbuf_printf(&keys, "kura_tenant_key_age_seconds{tenant=\"%s\"} %.0f\n", code,
					    (now - db_int(st, 3)) / 1e6);
		}
		db_done(st);
		head(b, "kura_tenant_storage_used_bytes", "gauge", "a tenant's stored bytes (content and metadata, trash included)");
		dbuf_puts(b, dbuf_str(&used));
		head(b, "kura_tenant_storage_quota_bytes", "gauge", "a tenant's storage quota");
		dbuf_puts(b, dbuf_str(&quota));
		head(b, "kura_tenant_key_age_seconds", "gauge", "age of a tenant's current data key");
		dbuf_puts(b, dbuf_str(&keys));
		dbuf_free(&used);
		dbuf_free(&quota);
		dbuf_free(&keys);
	}
	head(b, "kura_key_age_seconds", "gauge", "age of the deployment's key files (since last written)");
	key_file_age(b, dir, "master.key", "master", now);
	key_file_age(b, dir, "signing.key", "signing", now);
	gauge(b, "kura_database_up", "1 when /metrics could read the database", 1);
}

static char *render(const char *dir, size_t *ret_len)
{
	struct dbuf b;
	struct clock_sync cs;
	struct statvfs vfs;
	struct dav_cache_stats dc;

	dbuf_init(&b, KURA_METRICS_MAX_BYTES);
	head(&b, "kura_build_info", "gauge", "kura's version (always 1)");
	dbuf_printf(&b, "kura_build_info{version=\"%s\"} 1\n", KURA_VERSION);
	requests(&b);
	head(&b, "kura_audit_append_seconds", "histogram",
	     "time to record one audit event (audit_record: in the caller's transaction or the group commit)");
	hist(&b, "kura_audit_append_seconds", "", &stats_audit_append);
	head(&b, "kura_audit_commit_seconds", "histogram", "time of one audit group commit's COMMIT (fsync)");
	hist(&b, "kura_audit_commit_seconds", "", &stats_audit_commit);
	counter(&b, "kura_mail_sent_total", "mails the relay accepted", atomic_load(&stats_mail_sent));
	counter(&b, "kura_mail_deferred_total", "delivery attempts that failed and will be retried",
		atomic_load(&stats_mail_deferred));
	counter(&b, "kura_mail_failed_total", "mails given up (permanent refusal or too many attempts)",
		atomic_load(&stats_mail_failed));
	database(&b, dir);
	gauge(&b, "kura_key_cache_entries", "unwrapped tenant keys this node holds in memory (a version that left the"
	      " database is dropped within seconds)", (double)atomic_load(&stats_key_cache_entries));
	dav_cache_stats(&dc);
	gauge(&b, "kura_dav_cache_answers", "PROPFIND answers this node keeps (docs/webdav.md)", (double)dc.entries);
	gauge(&b, "kura_dav_cache_bytes", "bytes of the PROPFIND answers this node keeps", (double)dc.bytes);
	counter(&b, "kura_dav_cache_hits_total", "PROPFIND requests answered from a kept answer", dc.hits);
	counter(&b, "kura_dav_cache_misses_total",
		"PROPFIND requests that looked for a kept answer and found none at the tenant's generation", dc.misses);
	if (statvfs(dir, &vfs) == 0) {
		gauge(&b, "kura_disk_size_bytes", "size of the data directory's filesystem",
		      (double)vfs.f_blocks * (double)vfs.f_frsize);
		gauge(&b, "kura_disk_free_bytes", "bytes free for kura on the data directory's filesystem",
		      (double)vfs.f_bavail * (double)vfs.f_frsize);
	}
	if (clock_sync_state(&cs) == 0) {
		gauge(&b, "kura_clock_synchronized", "1 when the kernel says the clock is synchronised (adjtimex)",
		      cs.synchronized ? 1 : 0);
		gauge(&b, "kura_clock_offset_seconds", "offset the kernel is still correcting (adjtimex)",
		      cs.offset_us / 1e6);
		gauge(&b, "kura_clock_max_error_seconds", "the kernel's maximum error of the clock (adjtimex)",
		      cs.max_error_us / 1e6);
		gauge(&b, "kura_clock_estimated_error_seconds", "the kernel's estimated error of the clock (adjtimex)",
		      cs.est_error_us / 1e6);
	}
	gauge(&b, "kura_time_seconds", "the server's clock, for comparison with the scraper's",
	      clock_now_us() / 1e6);
	return dbuf_take(&b, ret_len);
}

static enum MHD_Result answer(struct MHD_Connection *con, unsigned status, const char *type, char *body,
			      size_t n)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *m = cls;
	size_t n = 0;
	char *body;

	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = m;   /* headers only, first call */
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;   /* no body is read */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics")) {
		body = strdup("not found: this listener serves /metrics only\n");
		return answer(con, 404, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		body = strdup("method not allowed\n");
		return answer(con, 405, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
	}
	body = render(m->dir, &n);
	if (!body) {
		log_error("metrics.render", "the exposition is larger than %d bytes or out of memory",
			  KURA_METRICS_MAX_BYTES);
		body = strdup("metrics unavailable\n");
		return answer(con, 500, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
	}
	return answer(con, 200, "text/plain; version=0.0.4; charset=utf-8", body, n);
}

struct metrics_server *metrics_start(int listen_fd, const char *dir, char *err, size_t err_size)
{
	struct metrics_server *m = calloc(1, sizeof(*m));

	if (!m || str_copy(m->dir, sizeof(m->dir), dir) < 0) {
		free(m);
		str_copy(err, err_size, "cannot start the metrics listener: out of memory");
		return NULL;
	}
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				     on_metrics, m, MHD_OPTION_LISTEN_SOCKET, listen_fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)KURA_METRICS_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KURA_METRICS_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
	if (!m->daemon) {
		free(m);
		str_copy(err, err_size, "the metrics listener did not start");
		return NULL;
	}
	return m;
}

struct metrics_server *metrics_stop(struct metrics_server *m)
{
	if (m) {
		MHD_stop_daemon(m->daemon);
		free(m);
	}
	return NULL;
}
