/*
 * The evidence bundle (G3, A5; docs/compliance.md "Evidence bundle"): one POSIX ustar file
 * an auditor unpacks with tar and checks with kura compliance verify and the deployment's
 * public key, offline.
 *
 *   MANIFEST.json        {"manifest": {...}, "signature": {"algorithm": "Ed25519",
 *                         "public_key": hex, "value": hex}}, canonical JSON (sorted keys,
 *                         compact, ASCII) and a newline; the signature covers EVIDENCE_TAG
 *                         and the canonical text of "manifest", which lists every other
 *                         member with its SHA-256 and size
 *   statement.ja.html, statement.en.html, statement.ja.json, statement.en.json, oscal.json
 *   audit.jsonl          the tenant's audit export of the range (kura audit verify)
 *   certificates/NAME    erasure certificates of the tenant (kura erasure verify)
 *   config.json          the configuration in force, secrets left out
 *
 * The verifier demands the canonical manifest byte for byte, every listed member once with
 * its hash and size, and nothing unlisted, so a changed, added, dropped or renamed member
 * is named. The caller records the bundle in the tenant's chain before it leaves kura.
 *
 * SECURITY: the reader is for untrusted files: member count, sizes and names are bounded
 * (KURA_EVIDENCE_MAX, KURA_EVIDENCE_MEMBERS_MAX), header checksums are checked, a size
 * that runs past the end is refused, and so are a ustar prefix, a name that fills its field,
 * climbs ("..", "/x") or holds control bytes, and anything but zeros after the end blocks, so
 * the members checked are exactly those tar unpacks, under the same names.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "compliance/compliance.h"
#include "compliance/compliance_int.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "lifecycle/lifecycle.h"
#include "store/db.h"
#include "tenant/tenant.h"

#define EVIDENCE_TAG "kura evidence bundle v1\n"
#define EVIDENCE_FORMAT "kura-evidence-1"
#define CANON (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define TAR_BLOCK 512
#define TAR_NAME_MAX 99

/* ---------------------------------------------------------------- ustar */

static void octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static int tar_add(struct dbuf *b, const char *name, const void *data, size_t n, int64_t mtime_s)
{
	char h[TAR_BLOCK];
	unsigned sum = 0;
	static const char zero[TAR_BLOCK];

	if (strlen(name) > TAR_NAME_MAX)
		return -ENAMETOOLONG;
	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	octal(h + 100, 8, 0644);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, n);
	octal(h + 136, 12, (uint64_t)mtime_s);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "kura", 4);
	memcpy(h + 297, "kura", 4);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += (unsigned char)h[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
	dbuf_add(b, h, sizeof(h));
	dbuf_add(b, data, n);
	if (n % TAR_BLOCK)
		dbuf_add(b, zero, TAR_BLOCK - n % TAR_BLOCK);
	return dbuf_error(b);
}

struct member {
	char name[TAR_NAME_MAX + 1];
	const unsigned char *data;
	size_t n;
};

static int parse_octal(const char *f, size_t width, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < width && f[i] == ' ')
		i++;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -ERANGE;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	if (i < width && f[i] != '\0' && f[i] != ' ')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A member name of a bundle: NUL-terminated within its 100-byte field, the 155-byte ustar
 * prefix empty, printable ASCII, relative, no "." or ".." component, no empty component. */
static bool tar_name_ok(const char *name, const char *prefix)
{
	size_t n = strnlen(name, 100), i, seg = 0;

	if (n == 0 || n > TAR_NAME_MAX || prefix[0] != '\0')
		return false;
	for (i = 0; i <= n; i++) {
		if (i == n || name[i] == '/') {
			size_t len = i - seg;

			if (len == 0 || (len == 1 && name[seg] == '.') ||
			    (len == 2 && name[seg] == '.' && name[seg + 1] == '.'))
				return false;
			seg = i + 1;
		} else if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

/* The members of a ustar file (regular files only), at most max. */
static int tar_read(const unsigned char *p, size_t n, struct member *ret, size_t max, size_t *ret_n, char *why,
		    size_t why_size)
{
	size_t off = 0, k = 0;

	while (off + TAR_BLOCK <= n) {
		const char *h = (const char *)p + off;
		uint64_t size, sum;
		unsigned got = 0;
		bool empty = true;

		for (size_t i = 0; i < TAR_BLOCK; i++)
			if (h[i]) {
				empty = false;
				break;
			}
		if (empty) {
			/* the end: nothing but zeros may follow (tar -i, or another reader, would
			 * find members there that were never checked) */
			for (size_t i = off; i < n; i++)
				if (p[i]) {
					str_printf(why, why_size, "bytes follow the end of the tar file (at byte %zu)", i);
					return -EBADMSG;
				}
			break;
		}
		for (size_t i = 0; i < TAR_BLOCK; i++)
			got += (unsigned char)(i >= 148 && i < 156 ? ' ' : h[i]);
		if (parse_octal(h + 148, 8, &sum) < 0 || sum != got) {
			str_printf(why, why_size, "the tar header at byte %zu is damaged (checksum)", off);
			return -EBADMSG;
		}
		if (parse_octal(h + 124, 12, &size) < 0 || size > n - off - TAR_BLOCK) {
			str_printf(why, why_size, "the tar member at byte %zu runs past the end of the file", off);
			return -EBADMSG;
		}
		if (h[156] != '0' && h[156] != '\0') {
			str_printf(why, why_size, "the tar member at byte %zu is not a regular file", off);
			return -EBADMSG;
		}
		if (k == max) {
			str_printf(why, why_size, "the bundle has more than %zu members", max);
			return -E2BIG;
		}
		/* the name as tar reads it: a name that fills its field, a ustar prefix (tar
		 * puts the member at PREFIX/NAME), or bytes the verifier's report would print raw
		 * would make what is checked differ from what an auditor unpacks */
		if (!tar_name_ok(h, h + 345)) {
			str_printf(why, why_size, "the tar member at byte %zu has a name a bundle never has "
				   "(a prefix, a path that leaves the directory, or control characters)", off);
			return -EBADMSG;
		}
		memset(ret[k].name, 0, sizeof(ret[k].name));
		memcpy(ret[k].name, h, strnlen(h, TAR_NAME_MAX));
		ret[k].data = p + off + TAR_BLOCK;
		ret[k].n = (size_t)size;
		k++;
		off += TAR_BLOCK + ((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	}
	*ret_n = k;
	return 0;
}

/* ---------------------------------------------------------------- the bundle */

static json_t *channel_names(unsigned ch)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < CATALOG_N_CHANNELS; i++)
		if (ch & (1u << i))
			json_array_append_new(a, json_string(catalog_channel_name(1u << i)));
	return a;
}

static json_t *config_json(const struct config *c)
{
	json_t *services = json_object();
	char smtp_url[sizeof(c->smtp_url)];

	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_params *p = &c->services[i];
		json_t *ret = json_object();

		for (size_t k = 0; k < CATALOG_N_CATEGORIES; k++)
			json_object_set_new(ret, catalog_category_name(k),
					    p->retention[k].period == CATALOG_PERIOD_CONTRACT
						    ? json_string("contract")
						    : json_pack("{s:i, s:b}", "days", (int)p->retention[k].days, "include_today",
								p->retention[k].include_today));
		json_object_set_new(services, catalog_service_at(i)->code,
				    json_pack("{s:o, s:i, s:s, s:s, s:o, s:o}", "retention", ret, "erasure_days",
					      (int)p->erasure_days, "erasure_day1",
					      p->erasure_day1_after ? "after-termination" : "termination-day",
					      "operator_access", catalog_access_name(p->operator_access), "change_notices",
					      channel_names(p->change_channels), "incident_notices", channel_names(p->incident_channels)));
	}
	url_strip_userinfo(c->smtp_url, smtp_url, sizeof(smtp_url));
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s},"
			 " s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s},"
			 " s:{s:i, s:i, s:i}, s:{s:i}, s:{s:i, s:i, s:i}, s:o, s:s}",
			 "server", "listen", c->listen, "public_url", c->public_url, "trusted_proxies", c->trusted_proxies,
			 "client_cert_proxies", c->client_cert_proxies, "metrics_listen", c->metrics_listen,
			 "syscall_filter", c->syscall_filter,
			 "security", "session_idle_seconds", (int)c->session_idle_s, "session_absolute_seconds", (int)c->session_absolute_s,
			 "invitation_ttl_seconds", (int)c->invitation_ttl_s, "pwhash_ops", (int)c->pwhash_ops, "pwhash_mem_kib",
			 (int)c->pwhash_mem_kib, "lockout_threshold", (int)c->lockout_threshold, "lockout_window_seconds",
			 (int)c->lockout_window_s, "lockout_duration_seconds", (int)c->lockout_duration_s, "mfa_managers_default",
			 c->mfa_managers_default,
			 "mail", "smtp_url", smtp_url, "from", c->smtp_from, "starttls", c->smtp_starttls,
			 "smtp_password", "(never included)",
			 "provider", "name", c->provider_name, "address", c->provider_address, "contact", c->provider_contact,
			 "data_location", c->data_location, "jurisdiction", c->jurisdiction, "default_zone", c->default_zone,
			 "audit", "retention_days", (int)c->audit_retention_days, "checkpoint_seconds", (int)c->audit_checkpoint_s,
			 "prune_seconds", (int)c->audit_prune_s,
			 "lifecycle", "grace_days", (int)c->grace_days,
			 "ops", "disk_alert_percent", (int)c->disk_alert_percent, "quota_alert_percent",
			 (int)c->quota_alert_percent, "outbox_alert_backlog", (int)c->outbox_alert_backlog,
			 "services", services, "note", "secrets (the SMTP password, keys) are never part of this file");
}

struct bundle {
	struct dbuf tar;
	json_t *members;
	int64_t mtime_s;
};

static int add(struct bundle *bd, const char *name, const void *data, size_t n)
{
	unsigned char h[32];
	char hex[65];

	crypto_hash_sha256(h, data, n);
	hex_encode(h, sizeof(h), hex);
	json_array_append_new(bd->members, json_pack("{s:s, s:s, s:I}", "name", name, "sha256", hex, "bytes", (json_int_t)n));
	return tar_add(&bd->tar, name, data, n, bd->mtime_s);
}

static int add_json(struct bundle *bd, const char *name, const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int r;

	if (!text)
		return -ENOMEM;
	r = add(bd, name, text, strlen(text));
	free(text);
	return r;
}

static int add_statements(struct bundle *bd, struct db *db, int64_t tenant_id)
{
	static const char *const langs[] = { "ja", "en" };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(langs) && r == 0; i++) {
		char name[64];
		json_t *m = compliance_model(db, tenant_id, langs[i], &r);
		char *html = m ? compliance_html(m) : NULL;

		if (!m)
			return r;
		if (!html) {
			json_decref(m);
			return -ENOMEM;
		}
		str_printf(name, sizeof(name), "statement.%s.html", langs[i]);
		r = add(bd, name, html, strlen(html));
		free(html);
		str_printf(name, sizeof(name), "statement.%s.json", langs[i]);
		if (r == 0)
			r = add_json(bd, name, m);
		if (r == 0 && i == 1) {
			json_t *o = compliance_oscal(m);

			r = o ? add_json(bd, "oscal.json", o) : -ENOMEM;
			json_decref(o);
		}
		json_decref(m);
	}
	return r;
}

static int add_audit(struct bundle *bd, struct db *db, const struct tenant *t, int64_t from_us, int64_t to_us)
{
	struct audit_filter f = { .from_us = from_us, .to_us = to_us, .limit = 1 };
	struct dbuf out;
	char buf[16384];
	ssize_t k;
	int r = 0;
	struct audit_export *x = audit_export_open(db, t->id, &f, AUDIT_FORMAT_JSONL, t->zone, &r);

	if (!x)
		return r ? r : -EIO;
	dbuf_init(&out, KURA_EVIDENCE_MAX);
	while ((k = audit_export_read(x, db, buf, sizeof(buf))) > 0)
		if (dbuf_add(&out, buf, (size_t)k) < 0)
			break;
	audit_export_free(x);
	r = k < 0 ? (int)k : dbuf_error(&out);
	if (r == 0)
		r = add(bd, "audit.jsonl", dbuf_str(&out), dbuf_len(&out));
	dbuf_free(&out);
	return r;
}

static int add_certificates(struct bundle *bd, struct db *db, const struct tenant *t)
{
	char *cert = NULL;
	char name[128];
	int r = lifecycle_certificate(db, t->id, &cert);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	str_printf(name, sizeof(name), "certificates/erasure-%s.json", t->code);
	r = add(bd, name, cert, strlen(cert));
	free(cert);
	return r;
}

static int sign_manifest(json_t *manifest, char **ret)
{
	unsigned char sig[64], pk[AUDIT_KEY_BYTES];
	char sig_hex[129], pk_hex[65], *canon = json_dumps(manifest, CANON), *text;
	size_t n;
	unsigned char *msg;
	json_t *file;
	int r;

	if (!canon)
		return -ENOMEM;
	n = strlen(canon);
	msg = malloc(sizeof(EVIDENCE_TAG) - 1 + n);
	if (!msg) {
		free(canon);
		return -ENOMEM;
	}
	memcpy(msg, EVIDENCE_TAG, sizeof(EVIDENCE_TAG) - 1);
	memcpy(msg + sizeof(EVIDENCE_TAG) - 1, canon, n);
	r = audit_sign(msg, sizeof(EVIDENCE_TAG) - 1 + n, sig, pk);
	free(msg);
	free(canon);
	if (r < 0)
		return r;
	sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
	file = json_pack("{s:O, s:{s:s, s:s, s:s}}", "manifest", manifest, "signature", "algorithm", "Ed25519", "public_key",
			 pk_hex, "value", sig_hex);
	text = file ? json_dumps(file, CANON) : NULL;
	json_decref(file);
	if (!text)
		return -ENOMEM;
	n = strlen(text);
	*ret = malloc(n + 2);
	if (*ret) {
		memcpy(*ret, text, n);
		(*ret)[n] = '\n';
		(*ret)[n + 1] = '\0';
	}
	free(text);
	return *ret ? 0 : -ENOMEM;
}

int compliance_evidence(struct db *db, const struct actor *who, int64_t tenant_id, int64_t from_us, int64_t to_us,
			unsigned char **ret, size_t *ret_n)
{
	struct bundle bd = { .members = json_array() };
	const struct config *cfg = compliance_config();
	char from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN], now[CLOCK_RFC3339_LEN], *manifest_text = NULL;
	struct tenant t;
	json_t *manifest = NULL;
	struct dbuf out;
	int64_t now_us = clock_now_us();
	int r;

	dbuf_init(&bd.tar, KURA_EVIDENCE_MAX);
	dbuf_init(&out, KURA_EVIDENCE_MAX);
	bd.mtime_s = now_us / 1000000;
	if (from_us > to_us || from_us < 0) {
		r = -EINVAL;
		goto out;
	}
	r = tenant_get(db, tenant_id, &t);
	if (r < 0)
		goto out;
	clock_format_utc(from_us, from, sizeof(from));
	clock_format_utc(to_us, to, sizeof(to));
	clock_format_utc(now_us, now, sizeof(now));
	r = add_statements(&bd, db, tenant_id);
	if (r == 0)
		r = add_audit(&bd, db, &t, from_us, to_us);
	if (r == 0)
		r = add_certificates(&bd, db, &t);
	if (r == 0 && cfg) {
		json_t *cj = config_json(cfg);

		r = cj ? add_json(&bd, "config.json", cj) : -ENOMEM;
		json_decref(cj);
	}
	if (r < 0)
		goto out;
	manifest = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:O}", "format", EVIDENCE_FORMAT, "tenant", "code",
			     t.code, "name", t.name, "from", from, "to", to, "created_at", now, "created_by",
			     who && who->name ? who->name : "", "kura_version", KURA_VERSION, "members", bd.members);
	r = manifest ? sign_manifest(manifest, &manifest_text) : -ENOMEM;
	if (r < 0)
		goto out;
	/* the manifest first, so `tar tf` shows it at the top */
	r = tar_add(&out, "MANIFEST.json", manifest_text, strlen(manifest_text), bd.mtime_s);
	if (r == 0)
		r = dbuf_add(&out, dbuf_str(&bd.tar), dbuf_len(&bd.tar));
	if (r == 0) {
		static const char end[2 * TAR_BLOCK];

		r = dbuf_add(&out, end, sizeof(end));
	}
	if (r == 0) {
		size_t n = 0;

		*ret = (unsigned char *)dbuf_take(&out, &n);
		*ret_n = n;
		r = *ret ? 0 : -ENOMEM;
	}
out:
	if (r == 0 && dbuf_error(&bd.tar))
		r = dbuf_error(&bd.tar);
	free(manifest_text);
	json_decref(manifest);
	json_decref(bd.members);
	dbuf_free(&bd.tar);
	dbuf_free(&out);
	return r;
}

/* ---------------------------------------------------------------- verification */

static void problem(json_t *p, const char *fmt, ...) KURA_PRINTF(2, 3);
static void problem(json_t *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(p, json_string(line));
}

/* The manifest: canonical, signed by pk; its body into *ret_manifest (borrowed from *ret_file). */
static void check_manifest(const struct member *m, const unsigned char pk[32], json_t *p, json_t **ret_file)
{
	json_t *file = json_loadb((const char *)m->data, m->n, JSON_REJECT_DUPLICATES, NULL), *body, *sig;
	unsigned char s[64], key[32], *msg;
	char *canon;
	size_t len;

	*ret_file = NULL;
	if (!json_is_object(file)) {
		problem(p, "MANIFEST.json is not a JSON object");
		json_decref(file);
		return;
	}
	canon = json_dumps(file, CANON);
	len = canon ? strlen(canon) : 0;
	if (!canon || !(m->n == len + 1 && m->data[len] == '\n' && !memcmp(m->data, canon, len)))
		problem(p, "MANIFEST.json is not in its canonical form: a byte was changed, added or removed");
	free(canon);
	body = json_object_get(file, "manifest");
	sig = json_object_get(file, "signature");
	if (!json_is_object(body) || !json_is_object(sig) || json_object_size(file) != 2) {
		problem(p, "MANIFEST.json must hold exactly \"manifest\" and \"signature\"");
		json_decref(file);
		return;
	}
	if (strcmp(json_string_value(json_object_get(body, "format")) ? json_string_value(json_object_get(body, "format")) : "",
		   EVIDENCE_FORMAT))
		problem(p, "the manifest's format is not %s", EVIDENCE_FORMAT);
	if (!json_string_value(json_object_get(sig, "value")) ||
	    sodium_hex2bin(s, sizeof(s), json_string_value(json_object_get(sig, "value")), 128, NULL, &len, NULL) != 0 ||
	    len != sizeof(s)) {
		problem(p, "the manifest's signature is not 64 bytes of hex");
	} else {
		const char *named = json_string_value(json_object_get(sig, "public_key"));

		if (named && (sodium_hex2bin(key, sizeof(key), named, 64, NULL, &len, NULL) != 0 || len != 32 ||
			      sodium_memcmp(key, pk, 32) != 0))
			problem(p, "the manifest names a signing key other than the one given (%.16s…)", named);
		canon = json_dumps(body, CANON);
		len = canon ? strlen(canon) : 0;
		msg = canon ? malloc(sizeof(EVIDENCE_TAG) - 1 + len) : NULL;
		if (msg) {
			memcpy(msg, EVIDENCE_TAG, sizeof(EVIDENCE_TAG) - 1);
			memcpy(msg + sizeof(EVIDENCE_TAG) - 1, canon, len);
			if (crypto_sign_verify_detached(s, msg, sizeof(EVIDENCE_TAG) - 1 + len, pk) != 0)
				problem(p, "the manifest's signature does not verify with the given public key");
		} else {
			problem(p, "out of memory checking the signature");
		}
		free(msg);
		free(canon);
	}
	*ret_file = file;
}

int compliance_verify_bundle(const unsigned char *data, size_t n, const unsigned char pk[32], json_t **ret)
{
	struct member *m = NULL;
	size_t nm = 0, i;
	json_t *p = json_array(), *file = NULL, *body, *listed, *v;
	char why[256];
	bool *seen = NULL;
	int r;

	*ret = NULL;
	if (n > KURA_EVIDENCE_MAX) {
		problem(p, "the file is larger than a bundle may be (%d bytes)", KURA_EVIDENCE_MAX);
		goto done;
	}
	m = calloc(KURA_EVIDENCE_MEMBERS_MAX, sizeof(*m));
	seen = calloc(KURA_EVIDENCE_MEMBERS_MAX, sizeof(*seen));
	if (!m || !seen) {
		free(m);
		free(seen);
		json_decref(p);
		return -ENOMEM;
	}
	r = tar_read(data, n, m, KURA_EVIDENCE_MEMBERS_MAX, &nm, why, sizeof(why));
	if (r < 0) {
		problem(p, "%s", why);
		goto done;
	}
	if (nm == 0 || strcmp(m[0].name, "MANIFEST.json")) {
		problem(p, "the bundle does not start with MANIFEST.json");
		goto done;
	}
	check_manifest(&m[0], pk, p, &file);
	body = json_object_get(file, "manifest");
	listed = json_object_get(body, "members");
	if (!json_is_array(listed)) {
		if (file)
			problem(p, "the manifest lists no members");
		goto done;
	}
	json_array_foreach(listed, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *want = json_string_value(json_object_get(v, "sha256"));
		json_int_t bytes = json_integer_value(json_object_get(v, "bytes"));
		size_t k, found = 0, at = 0;

		if (!name || !want) {
			problem(p, "member %zu of the manifest has no name or hash", i);
			continue;
		}
		for (k = 1; k < nm; k++)
			if (!strcmp(m[k].name, name)) {
				found++;
				at = k;
			}
		if (found != 1) {
			if (found)
				problem(p, "%s appears %zu times in the bundle", name, found);
			else
				problem(p, "%s is listed in the manifest but missing", name);
			continue;
		}
		seen[at] = true;
		{
			unsigned char h[32];
			char hex[65];

			crypto_hash_sha256(h, m[at].data, m[at].n);
			hex_encode(h, sizeof(h), hex);
			if ((json_int_t)m[at].n != bytes)
				problem(p, "%s has %zu bytes, the manifest says %lld", name, m[at].n, (long long)bytes);
			if (strcmp(hex, want))
				problem(p, "%s does not match its SHA-256 in the manifest: it was changed", name);
		}
		if (!strcmp(name, "audit.jsonl")) {
			static char empty[1];
			FILE *f = m[at].n ? fmemopen((void *)(uintptr_t)m[at].data, m[at].n, "r") : fmemopen(empty, 0, "r");
			struct audit_verify_result vr;

			if (!f || audit_verify_file(f, pk, &vr) < 0 || !vr.ok)
				problem(p, "audit.jsonl does not verify: %s", f ? vr.reason : "cannot read it");
			if (f)
				fclose(f);
		}
	}
	for (i = 1; i < nm; i++)
		if (!seen[i])
			problem(p, "%s is in the bundle but not in the manifest (it was added)", m[i].name);
done:
	body = json_object_get(file, "manifest");
	*ret = json_pack("{s:b, s:O, s:O, s:O, s:I, s:O}", "ok", json_array_size(p) == 0,
			 "tenant", json_object_get(body, "tenant") ? json_object_get(body, "tenant") : json_null(),
			 "from", json_object_get(body, "from") ? json_object_get(body, "from") : json_null(),
			 "to", json_object_get(body, "to") ? json_object_get(body, "to") : json_null(),
			 "members", (json_int_t)(nm ? nm - 1 : 0), "problems", p);
	json_decref(p);
	json_decref(file);
	free(m);
	free(seen);
	return *ret ? 0 : -ENOMEM;
}
