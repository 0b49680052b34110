/*
 * Verification of a tenant's audit log: offline from a JSONL export (kura audit verify) or
 * in place from the database (kura admin audit verify). Both feed the same checker, item
 * by item in stream order:
 *   checkpoint  signature valid for this tenant, with the key it names (which must be one
 *               of the trusted keys: a rotation leaves several); the first one is the anchor the chain
 *               starts from; later ones must sit right after the record they sign, carry
 *               its hash, and not go back in time (a replayed checkpoint fails here);
 *   record      next seq (a gap or a reorder fails), prev = hash of the one before,
 *               hash recomputed from its content (a flipped byte fails), own tenant;
 *   omitted     as a record, from its content hash (a filtered export);
 *   end         the last record is covered by a signed checkpoint (a cut tail fails), and
 *               for a file, the signed trailer hashes every line before it.
 * The first failure is reported with the seq of the record it concerns and why.
 *
 * SECURITY: the file is untrusted input: lines are bounded (KURA_AUDIT_LINE_MAX), every
 * member is type-checked, hex is length-checked before use.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit/audit_int.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "store/db.h"

struct vstate {
	const unsigned char (*pks)[AUDIT_KEY_BYTES];   /* the trusted keys */
	size_t n_pks;
	int64_t tenant;
	bool started, covered;
	int64_t seq, covered_seq, last_ckpt_time;
	unsigned char head[AUDIT_HASH_BYTES];
	struct audit_verify_result *res;
};

static bool vfail(struct vstate *v, int64_t seq, const char *fmt, ...) KURA_PRINTF(3, 4);

static bool vfail(struct vstate *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (!v->res->ok)
		return false;
	v->res->ok = false;
	v->res->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
	return false;
}

static bool trusted(const struct vstate *v, const unsigned char key[AUDIT_KEY_BYTES])
{
	for (size_t i = 0; i < v->n_pks; i++)
		if (!memcmp(v->pks[i], key, AUDIT_KEY_BYTES))
			return true;
	return false;
}

/* Checks sig over msg with the key the line names (which must be trusted), or, when it
 * names none (written before keys were named), with any trusted key. */
static bool v_signature(struct vstate *v, int64_t seq, const char *what, const unsigned char *sig,
			const unsigned char *msg, size_t n, bool has_key, const unsigned char key[AUDIT_KEY_BYTES])
{
	char hex[AUDIT_PUBLIC_KEY_HEX];

	if (has_key) {
		if (!trusted(v, key)) {
			hex_encode(key, AUDIT_KEY_BYTES, hex);
			return vfail(v, seq, "%s is signed by key %s, which is not one of the trusted keys", what, hex);
		}
		if (crypto_sign_ed25519_verify_detached(sig, msg, n, key) != 0)
			return vfail(v, seq, "%s: signature does not verify with the key it names", what);
		return true;
	}
	for (size_t i = 0; i < v->n_pks; i++)
		if (crypto_sign_ed25519_verify_detached(sig, msg, n, v->pks[i]) == 0)
			return true;
	return vfail(v, seq, "%s: signature does not verify with %s", what, v->n_pks == 1 ? "this key" : "any of the trusted keys");
}

static bool v_checkpoint(struct vstate *v, const struct audit_ckpt *c)
{
	unsigned char msg[AUDIT_CKPT_MSG_MAX];
	char what[64];

	if (c->tenant != v->tenant)
		return vfail(v, c->seq, "checkpoint for seq %" PRId64 " belongs to tenant %" PRId64 ", not %" PRId64,
			     c->seq, c->tenant, v->tenant);
	str_printf(what, sizeof(what), "checkpoint for seq %" PRId64, c->seq);
	if (!v_signature(v, c->seq, what, c->sig, msg, audit_ckpt_message(c, msg), c->has_key, c->key))
		return false;
	if (!v->started) {
		v->started = true;
		v->seq = c->seq;
		memcpy(v->head, c->head, AUDIT_HASH_BYTES);
	} else {
		if (c->seq != v->seq)
			return vfail(v, c->seq > v->seq ? v->seq + 1 : c->seq,
				     "checkpoint for seq %" PRId64 " appears after seq %" PRId64
				     " (replayed or misplaced checkpoint)", c->seq, v->seq);
		if (memcmp(c->head, v->head, AUDIT_HASH_BYTES))
			return vfail(v, c->seq, "signed checkpoint head differs from the hash of record %" PRId64
				     " (chain rewritten)", c->seq);
		if (c->time_us < v->last_ckpt_time)
			return vfail(v, c->seq, "checkpoint for seq %" PRId64
				     " is older than the one before it (replayed checkpoint)", c->seq);
	}
	v->last_ckpt_time = c->time_us;
	v->covered = true;
	v->covered_seq = c->seq;
	v->res->checkpoints++;
	return true;
}

/* r->hash is the stated hash; content is recomputed unless omitted (then r->content given). */
static bool v_record(struct vstate *v, struct audit_rec *r, bool omitted)
{
	static const unsigned char zero[AUDIT_HASH_BYTES];
	unsigned char h[AUDIT_HASH_BYTES];
	int64_t expect = v->started ? v->seq + 1 : 1;

	if (!omitted && r->tenant != v->tenant)
		return vfail(v, r->seq, "record %" PRId64 " belongs to tenant %" PRId64 ", not %" PRId64, r->seq,
			     r->tenant, v->tenant);
	if (!v->started && r->seq != 1)
		return vfail(v, r->seq, "record %" PRId64 " has no signed checkpoint before it to start from",
			     r->seq);
	if (r->seq != expect)
		return vfail(v, expect, "sequence break: expected seq %" PRId64 ", found seq %" PRId64
			     " (record missing or out of order)", expect, r->seq);
	if (memcmp(r->prev, v->started ? v->head : zero, AUDIT_HASH_BYTES))
		return vfail(v, r->seq, "record %" PRId64 ": prev_hash is not the hash of record %" PRId64, r->seq,
			     r->seq - 1);
	if (!omitted && audit_content_hash(r, r->content) < 0)
		return vfail(v, r->seq, "out of memory");
	audit_chain_hash(v->tenant, r->seq, r->prev, r->content, h);
	if (memcmp(h, r->hash, AUDIT_HASH_BYTES))
		return vfail(v, r->seq, "record %" PRId64 ": hash does not match its content (record altered)",
			     r->seq);
	if (!v->res->records && !v->res->omitted)
		v->res->first_seq = r->seq;
	v->started = true;
	v->seq = r->seq;
	v->res->last_seq = r->seq;
	memcpy(v->head, r->hash, AUDIT_HASH_BYTES);
	v->covered = false;
	if (omitted)
		v->res->omitted++;
	else
		v->res->records++;
	return true;
}

static bool v_end(struct vstate *v)
{
	if (v->started && !v->covered)
		return vfail(v, v->covered_seq + 1, "records from seq %" PRId64 " to %" PRId64
			     " are not covered by a signed checkpoint (log cut off or extended)",
			     v->covered_seq + 1, v->seq);
	return true;
}

int audit_parse_public_key(const char *hex, unsigned char pk[32])
{
	size_t n = 0;
	const char *end = NULL;

	if (!hex || sodium_hex2bin(pk, 32, hex, strlen(hex), " \t\r\n", &n, &end) != 0 || n != 32)
		return -EINVAL;
	while (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')
		end++;
	return *end ? -EINVAL : 0;
}

/* A hex member in the exporter's form: exactly n bytes, lowercase. Only one spelling is
 * accepted, so the trailer line (the one line its own hash cannot cover) has no variants
 * that verify: a flipped case bit fails like any other flipped bit. */
static bool hex_member(json_t *o, const char *key, unsigned char *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));
	size_t got = 0;

	if (!s || strlen(s) != n * 2 || strspn(s, "0123456789abcdef") != n * 2)
		return false;
	return sodium_hex2bin(out, n, s, n * 2, NULL, &got, NULL) == 0 && got == n;
}

static bool int_member(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

/* The optional "key" member: absent is fine, present must be 64 hex digits. */
static bool key_member(json_t *o, bool *ret_has, unsigned char key[AUDIT_KEY_BYTES])
{
	*ret_has = json_object_get(o, "key") != NULL;
	return !*ret_has || hex_member(o, "key", key, AUDIT_KEY_BYTES);
}

static bool parse_ckpt(json_t *o, struct audit_ckpt *c)
{
	json_t *clock = json_object_get(o, "clock"), *sync = json_object_get(clock, "synchronized");

	return key_member(o, &c->has_key, c->key) && int_member(o, "tenant", &c->tenant) && int_member(o, "seq", &c->seq) &&
	       int_member(o, "time_us", &c->time_us) && hex_member(o, "head", c->head, AUDIT_HASH_BYTES) &&
	       hex_member(o, "signature", c->sig, AUDIT_SIG_BYTES) && json_is_boolean(sync) &&
	       (c->synced = json_is_true(sync), true) && int_member(clock, "estimated_error_us", &c->est_error_us) &&
	       int_member(clock, "maximum_error_us", &c->max_error_us);
}

static bool parse_rec(json_t *o, struct audit_rec *r)
{
	static const char *const keys[] = { "actor_type", "actor", "source_ip", "user_agent", "category",
					    "action", "target", "result", "details" };
	const char **f[] = { &r->actor_type, &r->actor, &r->source_ip, &r->user_agent, &r->category,
			     &r->action, &r->target, &r->result, &r->details };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!(*f[i] = json_string_value(json_object_get(o, keys[i]))))
			return false;
	return int_member(o, "tenant", &r->tenant) && int_member(o, "seq", &r->seq) &&
	       int_member(o, "time_us", &r->time_us) && hex_member(o, "prev_hash", r->prev, AUDIT_HASH_BYTES) &&
	       hex_member(o, "hash", r->hash, AUDIT_HASH_BYTES);
}

/* ---------------------------------------------------------------- fast path
 * Record lines as kura writes them (jansson, compact, members in a fixed order) are parsed
 * here without building a JSON tree: this is what makes verification fast. Anything else
 * (other order, spacing, a member missing or extra) returns false and the line goes through
 * jansson as before, so the fast path only ever accepts lines jansson would read the same
 * way; and the hash binds the values either way. Strings are unescaped into scratch. */

struct fast {
	const char *p, *end;
	char *scratch;      /* room for the line's unescaped strings (the line length suffices) */
	size_t used, cap;
};

static bool fast_lit(struct fast *f, const char *lit, size_t n)
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, lit, n))
		return false;
	f->p += n;
	return true;
}

#define FAST_LIT(f, s) fast_lit(f, s, sizeof(s) - 1)

static bool fast_int(struct fast *f, int64_t *ret)
{
	bool neg = false;
	uint64_t v = 0;
	int n = 0;

	if (f->p < f->end && *f->p == '-') {
		neg = true;
		f->p++;
	}
	while (f->p < f->end && *f->p >= '0' && *f->p <= '9' && n < 18) {
		v = v * 10 + (uint64_t)(*f->p++ - '0');
		n++;
	}
	if (n == 0 || n >= 18 || (f->p < f->end && *f->p >= '0' && *f->p <= '9'))
		return false;     /* long numbers: let jansson judge */
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string into scratch (NUL-terminated); *ret points at it. Runs without escapes are
 * found with memchr and copied whole. */
static bool fast_str(struct fast *f, const char **ret)
{
	char *out = f->scratch + f->used, *o = out;

	if (f->p >= f->end || *f->p++ != '"')
		return false;
	for (;;) {
		const char *q = memchr(f->p, '"', (size_t)(f->end - f->p)), *bs;

		if (!q)
			return false;
		bs = memchr(f->p, '\\', (size_t)(q - f->p));
		if (!bs) {
			memcpy(o, f->p, (size_t)(q - f->p));
			o += q - f->p;
			f->p = q;
			break;
		}
		memcpy(o, f->p, (size_t)(bs - f->p));
		o += bs - f->p;
		f->p = bs;
		if (f->end - f->p < 2)
			return false;
		switch (f->p[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int v = 0;

			if (f->end - f->p < 6)
				return false;
			for (int i = 2; i < 6; i++) {
				int h = hexval(f->p[i]);

				if (h < 0)
					return false;
				v = v * 16 + h;
			}
			if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
				return false;   /* NUL and surrogate pairs: jansson's business */
			if (v < 0x80) {
				*o++ = (char)v;
			} else if (v < 0x800) {
				*o++ = (char)(0xC0 | (v >> 6));
				*o++ = (char)(0x80 | (v & 0x3F));
			} else {
				*o++ = (char)(0xE0 | (v >> 12));
				*o++ = (char)(0x80 | ((v >> 6) & 0x3F));
				*o++ = (char)(0x80 | (v & 0x3F));
			}
			f->p += 4;
			break;
		}
		default:
			return false;
		}
		f->p += 2;
	}
	if (f->p >= f->end)
		return false;
	f->p++;
	*o++ = '\0';
	/* odd text (invalid UTF-8, control characters): let jansson judge the line */
	for (const char *c = out; c < o - 1; c++)
		if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20) {
			if (!utf8_is_clean_text(out, (size_t)(o - out - 1)))
				return false;
			break;
		}
	f->used += (size_t)(o - out);
	*ret = out;
	return true;
}

/* Hashes are public: a table decoder (sodium_hex2bin is constant-time, and slower).
 * Entries are value + 1, 0 for a byte that is not a hex digit. */
#define HX(c, v) [c] = (v) + 1
static const unsigned char hex_table[256] = {
	HX('0', 0), HX('1', 1), HX('2', 2), HX('3', 3), HX('4', 4), HX('5', 5), HX('6', 6), HX('7', 7),
	HX('8', 8), HX('9', 9), HX('a', 10), HX('b', 11), HX('c', 12), HX('d', 13), HX('e', 14),
	HX('f', 15), HX('A', 10), HX('B', 11), HX('C', 12), HX('D', 13), HX('E', 14), HX('F', 15),
};

static bool fast_hex(struct fast *f, unsigned char *out, size_t n)
{
	const unsigned char *h = (const unsigned char *)f->p + 1;
	unsigned bad = 0;

	if ((size_t)(f->end - f->p) < n * 2 + 2 || f->p[0] != '"' || f->p[n * 2 + 1] != '"')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned hi = hex_table[h[2 * i]], lo = hex_table[h[2 * i + 1]];

		bad |= (hi == 0) | (lo == 0);
		out[i] = (unsigned char)((hi - 1) << 4 | ((lo - 1) & 0xF));
	}
	if (bad)
		return false;
	f->p += n * 2 + 2;
	return true;
}

/* A record line in kura's own layout into r (strings in scratch); false: not that layout. */
static bool fast_record(const char *line, size_t n, char *scratch, struct audit_rec *r)
{
	struct fast f = { line, line + n, scratch, 0, n };
	const char *ignored;

	return FAST_LIT(&f, "{\"type\":\"record\",\"tenant\":") && fast_int(&f, &r->tenant) &&
	       FAST_LIT(&f, ",\"seq\":") && fast_int(&f, &r->seq) && FAST_LIT(&f, ",\"time\":") &&
	       fast_str(&f, &ignored) && FAST_LIT(&f, ",\"time_us\":") && fast_int(&f, &r->time_us) &&
	       FAST_LIT(&f, ",\"actor_type\":") && fast_str(&f, &r->actor_type) && FAST_LIT(&f, ",\"actor\":") &&
	       fast_str(&f, &r->actor) && FAST_LIT(&f, ",\"source_ip\":") && fast_str(&f, &r->source_ip) &&
	       FAST_LIT(&f, ",\"user_agent\":") && fast_str(&f, &r->user_agent) &&
	       FAST_LIT(&f, ",\"category\":") && fast_str(&f, &r->category) && FAST_LIT(&f, ",\"action\":") &&
	       fast_str(&f, &r->action) && FAST_LIT(&f, ",\"target\":") && fast_str(&f, &r->target) &&
	       FAST_LIT(&f, ",\"result\":") && fast_str(&f, &r->result) && FAST_LIT(&f, ",\"details\":") &&
	       fast_str(&f, &r->details) && FAST_LIT(&f, ",\"prev_hash\":") &&
	       fast_hex(&f, r->prev, AUDIT_HASH_BYTES) && FAST_LIT(&f, ",\"hash\":") &&
	       fast_hex(&f, r->hash, AUDIT_HASH_BYTES) && FAST_LIT(&f, "}\n") && f.p == f.end;
}

/* ---------------------------------------------------------------- files
 * One line checker, two drivers: a regular file is mapped and the hash of everything before
 * the trailer (its last line) is computed on a second thread while this one parses; a pipe
 * is read line by line and hashed as it goes. */

struct vfile {
	struct vstate v;
	bool header, trailer;
	long lineno;
	char *scratch;
	struct audit_sha *sha;          /* stream: running hash of the lines so far */
	/* mapped: the hash of [0, trailer_off) from the hashing thread */
	const char *map;
	size_t trailer_off;
	pthread_t hasher;
	bool hasher_running;
	unsigned char mapped_hash[AUDIT_HASH_BYTES];
};

static void *hash_prefix(void *arg)
{
	struct vfile *vf = arg;

	audit_sha256(vf->map, vf->trailer_off, vf->mapped_hash);
	return NULL;
}

/* The hash of all bytes before the trailer line at offset off (mapped) or read so far. A
 * mapped trailer that is not the last line (or no hashing thread) is hashed here, so that
 * both drivers judge it alike: the stream driver cannot look ahead, checks the trailer, and
 * refuses the line after it (fuzz_audit_verify found the two answering differently). */
static void prefix_hash(struct vfile *vf, size_t off, unsigned char fh[AUDIT_HASH_BYTES])
{
	if (vf->sha) {
		audit_sha_final(vf->sha, fh);
		vf->sha = NULL;
		return;
	}
	if (vf->hasher_running) {
		pthread_join(vf->hasher, NULL);
		vf->hasher_running = false;
		if (off == vf->trailer_off) {
			memcpy(fh, vf->mapped_hash, AUDIT_HASH_BYTES);
			return;
		}
	}
	audit_sha256(vf->map, off, fh);
}

/* Checks one line (with its newline) that starts at byte offset off. */
static void process_line(struct vfile *vf, const char *line, size_t n, size_t off)
{
	struct vstate *v = &vf->v;
	struct audit_verify_result *res = v->res;
	json_t *o;
	const char *type;

	vf->lineno++;
	res->bytes += n;
	if (n > KURA_AUDIT_LINE_MAX || n == 0 || line[n - 1] != '\n') {
		vfail(v, v->seq + 1, "line %ld is too long, not terminated or holds a NUL byte", vf->lineno);
		return;
	}
	if (vf->trailer) {
		vfail(v, v->seq + 1, "line %ld: content after the signed trailer", vf->lineno);
		return;
	}
	if (vf->header) {
		struct audit_rec rec = { 0 };

		if (fast_record(line, n, vf->scratch, &rec)) {
			v_record(v, &rec, false);
			if (vf->sha)
				audit_sha_update(vf->sha, line, n);
			return;
		}
	}
	o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
	type = json_string_value(json_object_get(o, "type"));
	if (!o || !type) {
		vfail(v, v->seq + 1, "line %ld is not a JSON object with a type", vf->lineno);
	} else if (!vf->header) {
		if (strcmp(type, "header") || !int_member(o, "tenant", &v->tenant))
			vfail(v, 0, "line 1 is not an export header");
		vf->header = true;
		res->tenant = v->tenant;
	} else if (!strcmp(type, "checkpoint")) {
		struct audit_ckpt c;

		if (!parse_ckpt(o, &c))
			vfail(v, v->seq + 1, "line %ld: malformed checkpoint", vf->lineno);
		else
			v_checkpoint(v, &c);
	} else if (!strcmp(type, "record") || !strcmp(type, "omitted")) {
		struct audit_rec rec = { 0 };
		bool omitted = type[0] == 'o';

		if (omitted ? !(int_member(o, "seq", &rec.seq) && hex_member(o, "prev_hash", rec.prev, AUDIT_HASH_BYTES) &&
				hex_member(o, "content_hash", rec.content, AUDIT_HASH_BYTES) &&
				hex_member(o, "hash", rec.hash, AUDIT_HASH_BYTES))
			    : !parse_rec(o, &rec))
			vfail(v, v->seq + 1, "line %ld: malformed %s", vf->lineno, type);
		else
			v_record(v, &rec, omitted);
	} else if (!strcmp(type, "trailer")) {
		unsigned char fh[AUDIT_HASH_BYTES], want[AUDIT_HASH_BYTES], sig[AUDIT_SIG_BYTES], msg[64];
		unsigned char key[AUDIT_KEY_BYTES];
		int64_t lines = 0;
		bool has_key = false;

		prefix_hash(vf, off, fh);
		vf->trailer = true;   /* a line after it is refused when it comes */
		if (!hex_member(o, "sha256", want, AUDIT_HASH_BYTES) ||
		    !hex_member(o, "signature", sig, AUDIT_SIG_BYTES) || !int_member(o, "lines", &lines) ||
		    !key_member(o, &has_key, key) || json_object_size(o) != (has_key ? 5u : 4u))
			/* exactly its members: the trailer is the one line the file hash does not
			 * cover, so nothing may be added to it, renamed or left out */
			vfail(v, 0, "line %ld: malformed trailer", vf->lineno);
		else if (memcmp(fh, want, AUDIT_HASH_BYTES) || lines != vf->lineno - 1)
			vfail(v, 0, "the trailer does not match the lines before it (lines added or removed)");
		else
			v_signature(v, 0, "the trailer", sig, msg, audit_export_message(v->tenant, fh, msg), has_key,
				    key);
	} else {
		vfail(v, v->seq + 1, "line %ld: unknown type \"%.32s\"", vf->lineno, type);
	}
	json_decref(o);
	if (vf->sha)
		audit_sha_update(vf->sha, line, n);
}

static void finish(struct vfile *vf)
{
	struct vstate *v = &vf->v;

	if (v->res->ok && !vf->header)
		vfail(v, 0, "empty file: no export header");
	if (v->res->ok)
		v_end(v);
	if (v->res->ok && !vf->trailer)
		vfail(v, v->seq + 1, "no signed trailer: the file is cut off after seq %" PRId64, v->seq);
	if (!v->res->ok)
		v->res->bad_line = vf->lineno;
}

static int verify_mapped(struct vfile *vf, int fd, size_t size)
{
	void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	const char *p, *end;
	size_t last;

	if (map == MAP_FAILED)
		return -errno;
	madvise(map, size, MADV_SEQUENTIAL);
	vf->map = p = map;
	end = p + size;
	/* the trailer is the last line: hash everything before it on a second thread */
	last = size - 1;
	while (last > 0 && p[last - 1] != '\n')
		last--;
	vf->trailer_off = last;
	vf->hasher_running = pthread_create(&vf->hasher, NULL, hash_prefix, vf) == 0;
	while (vf->v.res->ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *nul;
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		size_t seen = n > KURA_AUDIT_LINE_MAX + 1 ? KURA_AUDIT_LINE_MAX + 1 : n;

		/* a NUL byte ends the line as fgets() + strlen() in the stream driver see it, so
		 * it is refused alike (jansson would skip it between tokens: fuzz_audit_verify) */
		nul = memchr(p, '\0', seen);
		process_line(vf, p, nul ? (size_t)(nul - p) : seen, (size_t)(p - vf->map));
		p += n;
	}
	if (vf->hasher_running)
		pthread_join(vf->hasher, NULL);
	munmap(map, size);
	return 0;
}

static int verify_stream(struct vfile *vf, FILE *f)
{
	char *line = malloc(KURA_AUDIT_LINE_MAX + 2);
	size_t off = 0;

	if (!line || !(vf->sha = audit_sha_new())) {
		free(line);
		return -ENOMEM;
	}
	while (vf->v.res->ok && fgets(line, KURA_AUDIT_LINE_MAX + 2, f)) {
		size_t n = strlen(line);

		process_line(vf, line, n, off);
		off += n;
	}
	free(line);
	return ferror(f) ? -EIO : 0;
}

int audit_verify_file(FILE *f, const unsigned char pk[32], struct audit_verify_result *res)
{
	return audit_verify_file_keys(f, (const unsigned char (*)[AUDIT_KEY_BYTES])pk, 1, res);
}

int audit_verify_file_keys(FILE *f, const unsigned char (*pks)[AUDIT_KEY_BYTES], size_t n_pks,
			   struct audit_verify_result *res)
{
	struct vfile vf = { .v = { .pks = pks, .n_pks = n_pks, .res = res } };
	struct stat st;
	int r;

	memset(res, 0, sizeof(*res));
	res->ok = true;
	vf.scratch = malloc(KURA_AUDIT_LINE_MAX + 2);
	if (!vf.scratch)
		return -ENOMEM;
	if (fileno(f) >= 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    ftello(f) == 0)
		r = verify_mapped(&vf, fileno(f), (size_t)st.st_size);
	else
		r = verify_stream(&vf, f);
	if (r == 0)
		finish(&vf);
	if (vf.sha) {
		unsigned char tmp[AUDIT_HASH_BYTES];

		audit_sha_final(vf.sha, tmp);
	}
	free(vf.scratch);
	return r;
}

int audit_verify_db(struct db *db, int64_t tenant, const unsigned char pk[32], struct audit_verify_result *res)
{
	return audit_verify_db_keys(db, tenant, (const unsigned char (*)[AUDIT_KEY_BYTES])pk, 1, res);
}

/* A stored checkpoint row (the columns of the queries below) into c; false when damaged. */
static bool row_ckpt(struct db_stmt *st, struct audit_ckpt *c)
{
	size_t n1, n2, n3 = 0;
	const void *h = db_blob(st, 2, &n1), *s = db_blob(st, 7, &n2), *k = db_blob(st, 8, &n3);

	c->tenant = db_int(st, 0);
	c->seq = db_int(st, 1);
	c->time_us = db_int(st, 3);
	c->synced = db_int(st, 4) != 0;
	c->est_error_us = db_int(st, 5);
	c->max_error_us = db_int(st, 6);
	memset(c->head, 0, AUDIT_HASH_BYTES);
	memset(c->sig, 0, AUDIT_SIG_BYTES);
	if (n1 == AUDIT_HASH_BYTES)
		memcpy(c->head, h, n1);
	if (n2 == AUDIT_SIG_BYTES)
		memcpy(c->sig, s, n2);
	c->has_key = k && n3 == AUDIT_KEY_BYTES;
	if (c->has_key)
		memcpy(c->key, k, AUDIT_KEY_BYTES);
	return n1 == AUDIT_HASH_BYTES && n2 == AUDIT_SIG_BYTES && (!k || n3 == AUDIT_KEY_BYTES);
}

int audit_verify_db_keys(struct db *db, int64_t tenant, const unsigned char (*pks)[AUDIT_KEY_BYTES],
			 size_t n_pks, struct audit_verify_result *res)
{
	struct vstate v = { .pks = pks, .n_pks = n_pks, .res = res, .tenant = tenant };
	int64_t oldest = 0, head_seq = 0, cursor;
	unsigned char head[AUDIT_HASH_BYTES];
	struct db_stmt *st;
	int step = 0;

	memset(res, 0, sizeof(*res));
	res->ok = true;
	res->tenant = tenant;
	st = db_query(db, AUDIT_ALL_SQL("SELECT seq FROM audit_events WHERE", "ORDER BY id LIMIT 1"), "i", tenant);
	if ((step = db_step(st)) > 0 && !db_is_null(st, 0))
		oldest = db_int(st, 0);
	db_done(st);
	if (step < 0)
		return step;
	st = db_query(db, "SELECT seq, head FROM audit_heads WHERE tenant = $1", "i", tenant);
	if ((step = db_step(st)) > 0) {
		size_t n;
		const void *h = db_blob(st, 1, &n);

		head_seq = db_int(st, 0);
		if (n == AUDIT_HASH_BYTES)
			memcpy(head, h, AUDIT_HASH_BYTES);
		else
			step = -EIO;
	}
	db_done(st);
	if (step < 0)
		return step;
	cursor = oldest ? oldest - 1 : head_seq;
	if (cursor > 0) {
		/* the anchor: a checkpoint exactly before the oldest kept record */
		struct audit_ckpt c;

		st = db_query(db, "SELECT tenant, seq, head, time_us, clock_synced, est_error_us, max_error_us,"
				  " signature, public_key FROM audit_checkpoints WHERE tenant = $1 AND seq = $2"
				  " ORDER BY id DESC LIMIT 1", "ii", tenant, cursor);
		step = db_step(st);
		if (step > 0) {
			if (row_ckpt(st, &c))
				v_checkpoint(&v, &c);
			else
				vfail(&v, cursor, "stored anchor checkpoint is damaged");
		} else if (step == 0) {
			vfail(&v, cursor + 1, "no signed checkpoint at seq %" PRId64 " to start the chain from", cursor);
		}
		db_done(st);
		if (step < 0)
			return step;
	}
	while (res->ok && cursor < head_seq) {
		int64_t batch_end = cursor + 1024, n = 0;
		struct audit_ckpt *cks;
		struct dbuf list;
		size_t n_cks, k = 0;

		st = db_query(db, "SELECT tenant, seq, head, time_us, clock_synced, est_error_us, max_error_us,"
				  " signature, public_key FROM audit_checkpoints WHERE tenant = $1 AND seq > $2"
				  " AND seq <= $3 ORDER BY seq, id", "iii", tenant, cursor, batch_end);
		dbuf_init(&list, KURA_DB_LIST_MAX_BYTES);
		while ((step = db_step(st)) > 0) {
			struct audit_ckpt c;

			memset(&c, 0, sizeof(c));
			row_ckpt(st, &c);   /* a damaged row fails its signature */
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
		st = db_query(db, AUDIT_RUN_SQL("SELECT seq, time_us, actor_type, actor, source_ip,"
						" user_agent, category, action, target, result, details, prev_hash,"
						" hash, id, COALESCE(tenant_id, 0) FROM audit_events WHERE",
						"$2", "$3", "ORDER BY id"),
			      "iii", tenant, audit_seq_bound(cursor), audit_seq_bound(batch_end));
		while (res->ok && (step = db_step(st)) > 0) {
			struct audit_rec r = { .tenant = tenant };
			size_t n1, n2;
			const void *p = db_blob(st, 11, &n1), *h = db_blob(st, 12, &n2);
			const char **f[] = { &r.actor_type, &r.actor, &r.source_ip, &r.user_agent, &r.category,
					     &r.action, &r.target, &r.result, &r.details };

			r.seq = db_int(st, 0);
			r.time_us = db_int(st, 1);
			for (int i = 0; i < 9; i++)
				*f[i] = db_text(st, 2 + i) ? db_text(st, 2 + i) : "";
			if (n1 == AUDIT_HASH_BYTES)
				memcpy(r.prev, p, n1);
			if (n2 == AUDIT_HASH_BYTES)
				memcpy(r.hash, h, n2);
			/* the row's key and tenant column say the place the hash says (migration 0035) */
			if (db_int(st, 13) != audit_row_id(tenant, r.seq) || db_int(st, 14) != tenant) {
				vfail(&v, r.seq, "record %" PRId64 " is stored out of its place in the chain", r.seq);
				break;
			}
			v_record(&v, &r, false);
			while (res->ok && k < n_cks && cks[k].seq <= r.seq)
				v_checkpoint(&v, &cks[k++]);
			cursor = r.seq;
			n++;
		}
		db_done(st);
		dbuf_free(&list);
		if (step < 0)
			return step;
		if (res->ok && n == 0)
			vfail(&v, cursor + 1, "records %" PRId64 " to %" PRId64 " are missing", cursor + 1,
			      batch_end < head_seq ? batch_end : head_seq);
	}
	if (res->ok && v.started && memcmp(v.head, head, AUDIT_HASH_BYTES))
		vfail(&v, head_seq, "the stored chain head differs from the hash of record %" PRId64, head_seq);
	/* a chained row that names this chain's tenant but is kept outside its key range: the
	 * walk above never reads it, the views by target would show it (rows appended while
	 * this ran are inside the range, so this holds without one snapshot) */
	if (res->ok) {
		int64_t stray = 0;

		st = db_query(db, AUDIT_CHAIN_SQL(tenant, "SELECT count(*) FROM audit_events WHERE",
						  "AND seq IS NOT NULL AND NOT (" AUDIT_ALL_SQL("", ")")),
			      "i", tenant);
		if ((step = db_step(st)) > 0)
			stray = db_int(st, 0);
		db_done(st);
		if (step < 0)
			return step;
		if (stray)
			vfail(&v, head_seq, "%" PRId64 " record(s) of this chain are stored outside it", stray);
	}
	/* in place, the newest records may await the next checkpoint round: not a failure */
	return 0;
}

json_t *audit_verify_result_json(const struct audit_verify_result *r)
{
	json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", r->ok, "tenant", (json_int_t)r->tenant,
			      "records", (json_int_t)r->records, "omitted", (json_int_t)r->omitted,
			      "checkpoints", (json_int_t)r->checkpoints, "first_seq", (json_int_t)r->first_seq,
			      "last_seq", (json_int_t)r->last_seq);

	if (o && !r->ok) {
		json_object_set_new(o, "bad_seq", json_integer(r->bad_seq));
		json_object_set_new(o, "reason", json_string(r->reason));
		if (r->bad_line)
			json_object_set_new(o, "line", json_integer(r->bad_line));
	}
	return o;
}
