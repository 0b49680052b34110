/*
 * Reading the audit log: paged queries (API), streaming exports (JSONL and CSV) and the
 * JSON shape of records and checkpoints. Every read takes the tenant and puts it in SQL;
 * there is no call that reads without one.
 *
 * A JSONL export is verifiable on its own (docs/audit.md): it covers a contiguous run of
 * seq from a signed anchor checkpoint (or seq 1) to a signed checkpoint at or after the
 * last wanted record (one is made at export time). Records in the run that the filters
 * leave out are sent as "omitted" lines (seq, prev, content hash, hash: nothing of their
 * content), so the chain still links. Every line is hashed as it is produced and a signed
 * trailer closes the file, so a cut or spliced file fails as a whole.
 *
 * The export is produced in batches of EXPORT_BATCH rows, each batch a fresh query from the
 * last seq sent, so no statement stays open across MHD callbacks and memory stays bounded.
 *
 * SECURITY: CSV cells that a spreadsheet would run as a formula (= + - @ tab CR at the
 * start) get a leading apostrophe; every cell is quoted per RFC 4180.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit_int.h"
#include "core/clock.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "store/db.h"

#define EXPORT_BATCH 512

#define RECORD_COLUMNS "seq, time_us, actor_type, actor, source_ip, user_agent, category, action," \
	" target, result, details, prev_hash, hash"

static void hex(const void *p, size_t n, char *out)
{
	hex_encode(p, n, out);
}

static json_t *hex_json(const void *p, size_t n)
{
	char buf[AUDIT_SIG_BYTES * 2 + 1];

	if (!p || n > AUDIT_SIG_BYTES)
		return json_null();
	hex(p, n, buf);
	return json_string(buf);
}

static json_t *time_json(int64_t us)
{
	char buf[CLOCK_RFC3339_LEN];

	if (clock_format_utc(us, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static const char *txt(struct db_stmt *st, int col)
{
	const char *s = db_text(st, col);

	return s ? s : "";
}

/* Reads a row of RECORD_COLUMNS into r (borrowed strings, valid until the next step). */
static int row_rec(struct db_stmt *st, int64_t tenant, struct audit_rec *r)
{
	size_t n1, n2;
	const void *p = db_blob(st, 11, &n1), *h = db_blob(st, 12, &n2);

	r->tenant = tenant;
	r->seq = db_int(st, 0);
	r->time_us = db_int(st, 1);
	r->actor_type = txt(st, 2);
	r->actor = txt(st, 3);
	r->source_ip = txt(st, 4);
	r->user_agent = txt(st, 5);
	r->category = txt(st, 6);
	r->action = txt(st, 7);
	r->target = txt(st, 8);
	r->result = txt(st, 9);
	r->details = txt(st, 10);
	if (n1 != AUDIT_HASH_BYTES || n2 != AUDIT_HASH_BYTES)
		return -EIO;
	memcpy(r->prev, p, AUDIT_HASH_BYTES);
	memcpy(r->hash, h, AUDIT_HASH_BYTES);
	return 0;
}

static bool rec_matches(const struct audit_rec *r, const struct audit_filter *f)
{
	return (!f->from_us || r->time_us >= f->from_us) && (!f->to_us || r->time_us <= f->to_us) &&
	       (!f->category || !strcmp(f->category, r->category)) &&
	       (!f->actor || !strcmp(f->actor, r->actor)) && (!f->action || !strcmp(f->action, r->action)) &&
	       (!f->result || !strcmp(f->result, r->result)) && (!f->target || !strcmp(f->target, r->target));
}

/* The API's view of a record: details parsed back into an object. */
static json_t *rec_api_json(const struct audit_rec *r)
{
	json_t *d = json_loads(r->details, 0, NULL);

	return json_pack("{s:I, s:o, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "seq",
			 (json_int_t)r->seq, "time", time_json(r->time_us), "actor", "type", r->actor_type,
			 "name", r->actor, "source_ip", r->source_ip, "user_agent", r->user_agent, "category",
			 r->category, "action", r->action, "target", r->target, "result", r->result, "details",
			 d ? d : json_object(), "hash", hex_json(r->hash, AUDIT_HASH_BYTES));
}

json_t *audit_query(struct db *db, int64_t tenant, const struct audit_filter *f)
{
	json_t *events = json_array(), *res = NULL;
	int64_t limit = f->limit > 0 && f->limit <= KURA_PAGE_MAX ? f->limit : KURA_PAGE_DEFAULT, last = 0, n = 0;
	struct db_stmt *st;
	int step;

	if (!events)
		return NULL;
	if (f->newest_first)   /* the managers' page: the newest first, paged by "before" */
		st = db_query(db, AUDIT_RUN_SQL("SELECT " RECORD_COLUMNS " FROM audit_events WHERE", "0", "$2 - 1",
						"AND time_us >= $3 AND time_us <= $4"
						" AND ($5 IS NULL OR category = $5)"
						" AND ($6 IS NULL OR actor = $6) AND ($7 IS NULL OR action = $7)"
						" AND ($8 IS NULL OR result = $8) AND ($9 IS NULL OR target = $9)"
						" ORDER BY id DESC LIMIT $10"),
			      "iiiittttti", tenant, f->before_seq > 0 ? audit_seq_bound(f->before_seq) : AUDIT_SEQ_LIMIT,
			      f->from_us,
			      f->to_us ? f->to_us : INT64_MAX, f->category, f->actor, f->action, f->result,
			      f->target, limit);
	else {
#define QUERY_TAIL(order) \
	"AND time_us >= $3 AND time_us <= $4 AND ($5 IS NULL OR category = $5)" \
	" AND ($6 IS NULL OR actor = $6) AND ($7 IS NULL OR action = $7) AND ($8 IS NULL OR result = $8)" \
	" ORDER BY " order " LIMIT $10"
		/* a target (one share's access log, one account's records) is searched by the index
		 * audit_events_tenant_target (0019): "$9 IS NULL OR" would hide it from the planner;
		 * without one, the chain is a range of the primary key (AUDIT_RUN_SQL) */
		if (f->target)
			st = db_query(db, AUDIT_CHAIN_SQL(tenant, "SELECT " RECORD_COLUMNS " FROM audit_events WHERE",
							  "AND target = $9 AND seq > $2 " QUERY_TAIL("seq")),
				      "iiiittttti", tenant, f->after_seq, f->from_us, f->to_us ? f->to_us : INT64_MAX,
				      f->category, f->actor, f->action, f->result, f->target, limit);
		else
			st = db_query(db, AUDIT_RUN_SQL("SELECT " RECORD_COLUMNS " FROM audit_events WHERE", "$2",
							AUDIT_SEQ_LIMIT_SQL, "AND $9 IS NULL " QUERY_TAIL("id")),
				      "iiiittttti", tenant, audit_seq_bound(f->after_seq), f->from_us,
				      f->to_us ? f->to_us : INT64_MAX, f->category, f->actor, f->action, f->result,
				      f->target, limit);
#undef QUERY_TAIL
	}
	while ((step = db_step(st)) > 0) {
		struct audit_rec r;

		if (row_rec(st, tenant, &r) < 0 || json_array_append_new(events, rec_api_json(&r)) < 0) {
			step = -EIO;
			break;
		}
		last = r.seq;
		n++;
	}
	db_done(st);
	if (step == 0)
		res = f->newest_first ? json_pack("{s:O, s:o}", "events", events, "next_before",
						  n == limit ? json_integer(last) : json_null())
				      : json_pack("{s:O, s:o}", "events", events, "next_after",
						  n == limit ? json_integer(last) : json_null());
	json_decref(events);
	return res;
}

int audit_count_target(struct db *db, int64_t tenant, const char *target, const char *category, const char *actor,
		       int64_t *ret)
{
	struct db_stmt *st = db_query(db, AUDIT_CHAIN_SQL(tenant, "SELECT COUNT(*) FROM audit_events WHERE",
							  "AND target = $2 AND category = $3 AND actor = $4"),
				      "ittt", tenant, target, category, actor);
	int r = db_step(st);

	*ret = r > 0 ? db_int(st, 0) : 0;
	db_done(st);
	return r < 0 ? r : 0;
}

/* ---------------------------------------------------------------- export */

struct audit_export {
	int64_t tenant;
	enum audit_format format;
	struct audit_filter f;
	char *strs[5];
	char zone[64];
	int64_t start, end;        /* stream seq run (JSONL: anchor + 1 .. covering checkpoint) */
	int64_t lo, hi;            /* wanted seq run (filters by time) */
	int64_t cursor;            /* last seq produced */
	bool have_anchor, header_done, done;
	struct audit_ckpt anchor;
	struct audit_sha *sha;
	int64_t n_lines;
	struct dbuf out;           /* the lines of one batch, read out from off */
	size_t off;
	/* CSV: the zone offset cached per UTC hour */
	int64_t tz_hour;
	char tz_suffix[8];
	int64_t tz_off_us;
};

static int out_bytes(struct audit_export *x, const char *s, size_t n)
{
	return dbuf_add(&x->out, s, n);
}

/* One JSONL line: the object (stolen), a newline, into the output and the file hash. */
static int out_line(struct audit_export *x, json_t *obj)
{
	char *s;
	size_t n;
	int r;

	if (!obj)
		return -ENOMEM;
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	s[n] = '\n';   /* json_dumps leaves room for the NUL we overwrite */
	r = out_bytes(x, s, n + 1);
	if (r == 0 && x->sha)
		audit_sha_update(x->sha, s, n + 1);
	x->n_lines++;
	free(s);
	return r;
}

/* A checkpoint line; "key" names the public key that signed it (absent for checkpoints
 * from before keys were recorded, which the deployment's first key signed). */
static json_t *ckpt_line(const struct audit_ckpt *c)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:I, s:{s:b, s:I, s:I}}", "type", "checkpoint",
			      "tenant", (json_int_t)c->tenant, "seq", (json_int_t)c->seq, "head",
			      hex_json(c->head, AUDIT_HASH_BYTES), "time", time_json(c->time_us), "time_us",
			      (json_int_t)c->time_us, "clock", "synchronized", c->synced, "estimated_error_us",
			      (json_int_t)c->est_error_us, "maximum_error_us", (json_int_t)c->max_error_us);

	if (o && c->has_key && json_object_set_new(o, "key", hex_json(c->key, AUDIT_KEY_BYTES)) < 0)
		o = (json_decref(o), NULL);
	if (o && json_object_set_new(o, "signature", hex_json(c->sig, AUDIT_SIG_BYTES)) < 0)
		o = (json_decref(o), NULL);
	return o;
}

/* A JSON string, escaped as jansson does (quote, backslash, control characters; UTF-8 as
 * is), appended to the output. The text is clean UTF-8 (audit_record made it so). */
static int out_jstr(struct audit_export *x, const char *s)
{
	size_t n = strlen(s), i, run = 0;
	int r = dbuf_add(&x->out, "\"", 1);

	for (i = 0; r == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		r = dbuf_add(&x->out, s + i - run, run);
		run = 0;
		switch (c) {
		case '"': memcpy(esc, "\\\"", 3); break;
		case '\\': memcpy(esc, "\\\\", 3); break;
		case '\b': memcpy(esc, "\\b", 3); break;
		case '\f': memcpy(esc, "\\f", 3); break;
		case '\n': memcpy(esc, "\\n", 3); break;
		case '\r': memcpy(esc, "\\r", 3); break;
		case '\t': memcpy(esc, "\\t", 3); break;
		default:
			if (r == 0)
				r = str_printf(esc, sizeof(esc), "\\u%04x", c);
		}
		if (r == 0)
			r = dbuf_puts(&x->out, esc);
	}
	if (r == 0)
		r = dbuf_add(&x->out, s + n - run, run);
	if (r == 0)
		r = dbuf_add(&x->out, "\"", 1);
	return r;
}

/* A record line, written directly (the hot path of an export: no JSON tree), in the member
 * order verify.c's fast path reads. Hashed into the file hash like every line. */
static int out_record(struct audit_export *x, const struct audit_rec *r)
{
	const char *names[] = { "actor_type", "actor", "source_ip", "user_agent", "category",
				"action", "target", "result", "details" };
	const char *vals[] = { r->actor_type, r->actor, r->source_ip, r->user_agent, r->category,
			       r->action, r->target, r->result, r->details };
	char head[192], t[CLOCK_RFC3339_LEN], prev[AUDIT_HASH_BYTES * 2 + 1], hash[AUDIT_HASH_BYTES * 2 + 1];
	size_t start = dbuf_len(&x->out);
	int ret;

	if (clock_format_utc(r->time_us, t, sizeof(t)) < 0)
		return -EINVAL;
	ret = str_printf(head, sizeof(head), "{\"type\":\"record\",\"tenant\":%" PRId64 ",\"seq\":%" PRId64
			 ",\"time\":\"%s\",\"time_us\":%" PRId64, r->tenant, r->seq, t, r->time_us);
	if (ret == 0)
		ret = out_bytes(x, head, strlen(head));
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(names); i++) {
		ret = str_printf(head, sizeof(head), ",\"%s\":", names[i]);
		if (ret == 0)
			ret = out_bytes(x, head, strlen(head));
		if (ret == 0)
			ret = out_jstr(x, vals[i]);
	}
	hex(r->prev, AUDIT_HASH_BYTES, prev);
	hex(r->hash, AUDIT_HASH_BYTES, hash);
	if (ret == 0)
		ret = str_printf(head, sizeof(head), ",\"prev_hash\":\"%s\",\"hash\":\"%s\"}\n", prev, hash);
	if (ret == 0)
		ret = out_bytes(x, head, strlen(head));
	if (ret < 0)
		return ret;
	if (x->sha)
		audit_sha_update(x->sha, dbuf_str(&x->out) + start, dbuf_len(&x->out) - start);
	x->n_lines++;
	return 0;
}

static json_t *omitted_line(const struct audit_rec *r)
{
	return json_pack("{s:s, s:I, s:o, s:o, s:o}", "type", "omitted", "seq", (json_int_t)r->seq,
			 "prev_hash", hex_json(r->prev, AUDIT_HASH_BYTES), "content_hash",
			 hex_json(r->content, AUDIT_HASH_BYTES), "hash", hex_json(r->hash, AUDIT_HASH_BYTES));
}

static int row_ckpt(struct db_stmt *st, struct audit_ckpt *c)
{
	size_t n1, n2, n3 = 0;
	const void *h = db_blob(st, 2, &n1), *s = db_blob(st, 7, &n2), *k = db_blob(st, 8, &n3);

	c->tenant = db_int(st, 0);
	c->seq = db_int(st, 1);
	c->time_us = db_int(st, 3);
	c->synced = db_int(st, 4) != 0;
	c->est_error_us = db_int(st, 5);
	c->max_error_us = db_int(st, 6);
	if (n1 != AUDIT_HASH_BYTES || n2 != AUDIT_SIG_BYTES)
		return -EIO;
	memcpy(c->head, h, AUDIT_HASH_BYTES);
	memcpy(c->sig, s, AUDIT_SIG_BYTES);
	c->has_key = k && n3 == AUDIT_KEY_BYTES;
	if (c->has_key)
		memcpy(c->key, k, AUDIT_KEY_BYTES);
	return 0;
}

#define CKPT_COLUMNS "tenant, seq, head, time_us, clock_synced, est_error_us, max_error_us, signature," \
	" public_key"

static int64_t one_int(struct db *db, struct db_stmt *st, int64_t dflt)
{
	int64_t v = dflt;

	(void)db;
	if (db_step(st) > 0 && !db_is_null(st, 0))
		v = db_int(st, 0);
	db_done(st);
	return v;
}

struct audit_export *audit_export_open(struct db *db, int64_t tenant, const struct audit_filter *f,
				       enum audit_format format, const char *zone, int *ret_err)
{
	struct audit_export *x = calloc(1, sizeof(*x));
	const char *src[5] = { f->category, f->actor, f->action, f->result, f->target };
	struct audit_ckpt fin;
	struct db_stmt *st;
	int r = -ENOMEM, i;

	if (!x)
		goto fail;
	x->tenant = tenant;
	x->format = format;
	dbuf_init(&x->out, KURA_AUDIT_EXPORT_BUFFER_MAX);
	x->f = *f;
	x->tz_hour = INT64_MIN;
	for (i = 0; i < 5; i++)
		if (src[i] && !(x->strs[i] = strdup(src[i])))
			goto fail;
	x->f.category = x->strs[0];
	x->f.actor = x->strs[1];
	x->f.action = x->strs[2];
	x->f.result = x->strs[3];
	x->f.target = x->strs[4];
	str_copy(x->zone, sizeof(x->zone), zone && *zone ? zone : "UTC");

	/* a fresh signed checkpoint at the head covers everything up to now */
	r = audit_checkpoint_now(db, tenant, &fin);
	if (r == -ENOENT) {
		x->done = false;
		x->start = 1;
		x->end = 0;   /* empty chain: header and trailer only */
		r = 0;
	} else if (r < 0) {
		goto fail;
	} else {
		int64_t oldest = one_int(db, db_query(db, AUDIT_ALL_SQL("SELECT seq FROM audit_events WHERE",
									"ORDER BY id LIMIT 1"), "i", tenant),
					 fin.seq + 1);

		/* the first record at or after from, the last at or before to: the chain walked in
		 * seq order from its oldest (newest) record to the first that matches (times need
		 * not grow with seq: a clock may be set back) */
		x->lo = f->from_us ? one_int(db, db_query(db, AUDIT_ALL_SQL("SELECT seq FROM audit_events WHERE",
									    "AND time_us >= $2 ORDER BY id LIMIT 1"),
							  "ii", tenant, f->from_us),
					     fin.seq + 1)
				   : oldest;
		x->hi = f->to_us ? one_int(db, db_query(db, AUDIT_ALL_SQL("SELECT seq FROM audit_events WHERE",
									  "AND time_us <= $2 ORDER BY id DESC LIMIT 1"),
							"ii", tenant, f->to_us), 0)
				 : fin.seq;
		if (x->lo < oldest)
			x->lo = oldest;
		if (format == AUDIT_FORMAT_CSV) {
			x->start = x->lo;
			x->end = x->hi;
		} else {
			/* anchor: the newest checkpoint before lo; else the chain must start at 1 */
			st = db_query(db, "SELECT " CKPT_COLUMNS " FROM audit_checkpoints WHERE tenant = $1"
					  " AND seq < $2 ORDER BY seq DESC, id DESC LIMIT 1", "ii", tenant, x->lo);
			if (x->lo > 1 && db_step(st) > 0 && row_ckpt(st, &x->anchor) == 0)
				x->have_anchor = true;
			db_done(st);
			x->start = x->have_anchor ? x->anchor.seq + 1 : (oldest <= x->lo ? oldest : x->lo);
			if (!x->have_anchor && x->start > 1)
				x->start = oldest;   /* the verifier will say the anchor is missing */
			/* end: the first checkpoint at or after hi covers the wanted run */
			x->end = one_int(db, db_query(db, "SELECT MIN(seq) FROM audit_checkpoints WHERE tenant = $1"
							  " AND seq >= $2", "ii", tenant, x->hi), fin.seq);
			if (x->hi < x->lo)   /* nothing wanted: anchor and a covering checkpoint only */
				x->end = x->have_anchor ? x->anchor.seq : 0;
		}
	}
	x->cursor = x->start - 1;
	if (format == AUDIT_FORMAT_JSONL && !(x->sha = audit_sha_new())) {
		r = -ENOMEM;
		goto fail;
	}
	return x;
fail:
	*ret_err = r;
	audit_export_free(x);
	return NULL;
}

static int jsonl_header(struct audit_export *x)
{
	char pk[AUDIT_PUBLIC_KEY_HEX] = "";
	json_t *filters;
	int r;

	if (audit_public_key_hex(pk) < 0)
		pk[0] = '\0';
	filters = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "from",
			    x->f.from_us ? time_json(x->f.from_us) : json_null(), "to",
			    x->f.to_us ? time_json(x->f.to_us) : json_null(), "category",
			    x->f.category ? json_string(x->f.category) : json_null(), "actor",
			    x->f.actor ? json_string(x->f.actor) : json_null(), "action",
			    x->f.action ? json_string(x->f.action) : json_null(), "result",
			    x->f.result ? json_string(x->f.result) : json_null(), "target",
			    x->f.target ? json_string(x->f.target) : json_null());
	r = out_line(x, json_pack("{s:s, s:s, s:I, s:o, s:s, s:I, s:I, s:o}", "type", "header", "format",
				  "kura-audit-export-1", "tenant", (json_int_t)x->tenant, "exported_at",
				  time_json(clock_now_us()), "public_key", pk, "first_seq",
				  (json_int_t)x->start, "last_seq", (json_int_t)x->end, "filters", filters));
	if (r == 0 && x->have_anchor)
		r = out_line(x, ckpt_line(&x->anchor));
	return r;
}

static int csv_cell(struct audit_export *x, const char *s, bool last)
{
	size_t n = strlen(s), i;
	int r;

	r = out_bytes(x, "\"", 1);
	if (r == 0 && n && strchr("=+-@\t\r", s[0]))
		r = out_bytes(x, "'", 1);
	for (i = 0; r == 0 && i < n; i++)
		r = s[i] == '"' ? out_bytes(x, "\"\"", 2) : out_bytes(x, s + i, 1);
	if (r == 0)
		r = out_bytes(x, last ? "\"\r\n" : "\",", last ? 3 : 2);
	return r;
}

static int csv_row(struct audit_export *x, const struct audit_rec *r)
{
	char seq[24], local[CLOCK_RFC3339_LEN], utc[CLOCK_RFC3339_LEN], h[AUDIT_HASH_BYTES * 2 + 1];
	int64_t hour = r->time_us / 3600000000LL;
	int ret;

	if (hour != x->tz_hour) {
		char buf[CLOCK_RFC3339_LEN];
		size_t n;

		if (clock_format_zone(r->time_us, x->zone, buf, sizeof(buf)) < 0 || (n = strlen(buf)) < 6)
			return -EINVAL;
		str_copy(x->tz_suffix, sizeof(x->tz_suffix), buf + n - 6);
		x->tz_off_us = (((buf[n - 5] - '0') * 10 + (buf[n - 4] - '0')) * 3600LL +
				((buf[n - 2] - '0') * 10 + (buf[n - 1] - '0')) * 60LL) * 1000000;
		if (buf[n - 6] == '-')
			x->tz_off_us = -x->tz_off_us;
		x->tz_hour = hour;
	}
	/* local wall time = UTC formatting of the shifted instant, seconds only, then the offset */
	if (clock_format_utc(r->time_us + x->tz_off_us, local, sizeof(local)) < 0)
		return -EINVAL;
	local[19] = '\0';
	str_printf(local + 19, sizeof(local) - 19, "%s", x->tz_suffix);
	clock_format_utc(r->time_us, utc, sizeof(utc));
	str_printf(seq, sizeof(seq), "%" PRId64, r->seq);
	hex(r->hash, AUDIT_HASH_BYTES, h);
	ret = csv_cell(x, seq, false);
	const char *cells[] = { local, utc, r->actor_type, r->actor, r->source_ip, r->user_agent, r->category,
				r->action, r->target, r->result, r->details };
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(cells); i++)
		ret = csv_cell(x, cells[i], false);
	if (ret == 0)
		ret = csv_cell(x, h, true);
	return ret;
}

/* Produces the next batch into the output buffer. */
static int fill(struct audit_export *x, struct db *db)
{
	struct audit_ckpt *cks = NULL;
	struct dbuf list;
	size_t n_cks = 0, k = 0;
	int64_t batch_end, n = 0;
	struct db_stmt *st;
	int r = 0, step;

	if (!x->header_done) {
		x->header_done = true;
		if (x->format == AUDIT_FORMAT_CSV)
		{
			static const char head[] = "\xEF\xBB\xBF\"seq\",\"time\",\"time_utc\",\"actor_type\","
						   "\"actor\",\"source_ip\",\"user_agent\",\"category\","
						   "\"action\",\"target\",\"result\",\"details\",\"hash\"\r\n";

			return out_bytes(x, head, sizeof(head) - 1);
		}
		return jsonl_header(x);
	}
	if (x->cursor >= x->end) {
		x->done = true;
		if (x->format == AUDIT_FORMAT_JSONL) {
			unsigned char fh[AUDIT_HASH_BYTES], msg[64], sig[AUDIT_SIG_BYTES], pk[AUDIT_KEY_BYTES];
			size_t mn;
			char fhx[AUDIT_HASH_BYTES * 2 + 1];
			int64_t lines = x->n_lines;

			audit_sha_final(x->sha, fh);
			x->sha = NULL;
			mn = audit_export_message(x->tenant, fh, msg);
			r = audit_sign_key(msg, mn, sig, pk);
			if (r < 0)
				return r;
			hex(fh, sizeof(fh), fhx);
			r = out_line(x, json_pack("{s:s, s:I, s:s, s:o, s:o}", "type", "trailer", "lines",
						  (json_int_t)lines, "sha256", fhx, "key", hex_json(pk, AUDIT_KEY_BYTES),
						  "signature", hex_json(sig, AUDIT_SIG_BYTES)));
		}
		return r;
	}
	batch_end = x->cursor + EXPORT_BATCH < x->end ? x->cursor + EXPORT_BATCH : x->end;
	if (x->format == AUDIT_FORMAT_JSONL) {
		st = db_query(db, "SELECT " CKPT_COLUMNS " FROM audit_checkpoints WHERE tenant = $1"
				  " AND seq > $2 AND seq <= $3 ORDER BY seq, id", "iii", x->tenant, x->cursor, batch_end);
		dbuf_init(&list, KURA_DB_LIST_MAX_BYTES);
		while ((step = db_step(st)) > 0) {
			struct audit_ckpt c;

			if (row_ckpt(st, &c) < 0) {
				step = -EIO;
				break;
			}
			if ((step = dbuf_add(&list, &c, sizeof(c))) < 0)
				break;
		}
		db_done(st);
		if (step < 0) {
			dbuf_free(&list);
			return step;
		}
		cks = dbuf_data(&list);
		n_cks = dbuf_len(&list) / sizeof(*cks);
	} else {
		dbuf_init(&list, 0);
	}
	st = db_query(db, AUDIT_RUN_SQL("SELECT " RECORD_COLUMNS " FROM audit_events WHERE", "$2", "$3", "ORDER BY id"),
		      "iii", x->tenant, audit_seq_bound(x->cursor), audit_seq_bound(batch_end));
	while (r == 0 && (step = db_step(st)) > 0) {
		struct audit_rec rec;

		r = row_rec(st, x->tenant, &rec);
		if (r < 0)
			break;
		if (rec.seq > x->cursor + 1 && x->format == AUDIT_FORMAT_JSONL) {
			/* rows went missing under us (pruned during the export) */
			r = -ESTALE;
			break;
		}
		x->cursor = rec.seq;
		n++;
		if (x->format == AUDIT_FORMAT_CSV) {
			if (rec_matches(&rec, &x->f))
				r = csv_row(x, &rec);
			continue;
		}
		if (rec.seq >= x->lo && rec.seq <= x->hi && rec_matches(&rec, &x->f)) {
			r = out_record(x, &rec);
		} else {
			r = audit_content_hash(&rec, rec.content);
			if (r == 0)
				r = out_line(x, omitted_line(&rec));
		}
		while (r == 0 && k < n_cks && cks[k].seq <= rec.seq)
			r = out_line(x, ckpt_line(&cks[k++]));
	}
	if (r == 0 && step < 0)
		r = step;
	db_done(st);
	dbuf_free(&list);
	if (r == 0 && n == 0) {
		if (x->format == AUDIT_FORMAT_JSONL && x->cursor < batch_end)
			return -ESTALE;
		x->cursor = batch_end;
	}
	return r;
}

ssize_t audit_export_read(struct audit_export *x, struct db *db, char *buf, size_t max)
{
	size_t n;
	int r;

	while (x->off == dbuf_len(&x->out)) {
		x->off = 0;
		dbuf_reset(&x->out);
		if (x->done)
			return 0;
		r = fill(x, db);
		if (r < 0)
			return r;
	}
	n = dbuf_len(&x->out) - x->off < max ? dbuf_len(&x->out) - x->off : max;
	memcpy(buf, dbuf_str(&x->out) + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

struct audit_export *audit_export_free(struct audit_export *x)
{
	if (!x)
		return NULL;
	if (x->sha) {
		unsigned char tmp[AUDIT_HASH_BYTES];

		audit_sha_final(x->sha, tmp);
	}
	for (int i = 0; i < 5; i++)
		free(x->strs[i]);
	dbuf_free(&x->out);
	free(x);
	return NULL;
}
