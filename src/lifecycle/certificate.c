/*
 * Erasure certificates (B3; NIST SP 800-88 Rev. 2 §4.6 in spirit; docs/lifecycle.md
 * "Erasure certificate").
 *
 * The file is one canonical JSON text: {"certificate": {...}, "signature": {"algorithm":
 * "Ed25519", "public_key": hex, "value": hex}} written compact, with sorted keys and ASCII
 * only (json_dumps JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII), and a newline. The
 * signature covers CERTIFICATE_TAG followed by the canonical text of "certificate". The
 * verifier demands the canonical form byte for byte, so any changed byte breaks the JSON,
 * the form or the signature, and each is named.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "lifecycle/lifecycle.h"

#define CERTIFICATE_TAG "kura erasure certificate v1\n"
#define CANON (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

static int message(json_t *body, unsigned char **ret, size_t *ret_n)
{
	char *text = json_dumps(body, CANON);
	size_t n;

	if (!text)
		return -ENOMEM;
	n = strlen(text);
	*ret = malloc(sizeof(CERTIFICATE_TAG) - 1 + n);
	if (!*ret) {
		free(text);
		return -ENOMEM;
	}
	memcpy(*ret, CERTIFICATE_TAG, sizeof(CERTIFICATE_TAG) - 1);
	memcpy(*ret + sizeof(CERTIFICATE_TAG) - 1, text, n);
	*ret_n = sizeof(CERTIFICATE_TAG) - 1 + n;
	free(text);
	return 0;
}

int certificate_sign(json_t *body, char **ret)
{
	unsigned char sig[64], pk[AUDIT_KEY_BYTES], *msg = NULL;
	char sig_hex[129], pk_hex[65], *text;
	size_t n = 0, len;
	json_t *file;
	int r = message(body, &msg, &n);

	if (r == 0)
		r = audit_sign(msg, n, sig, pk);
	free(msg);
	if (r < 0)
		return r;
	sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
	file = json_pack("{s:O, s:{s:s, s:s, s:s}}", "certificate", body, "signature", "algorithm", "Ed25519",
			 "public_key", pk_hex, "value", sig_hex);
	text = file ? json_dumps(file, CANON) : NULL;
	json_decref(file);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	*ret = malloc(len + 2);
	if (*ret) {
		memcpy(*ret, text, len);
		(*ret)[len] = '\n';
		(*ret)[len + 1] = '\0';
	}
	free(text);
	return *ret ? 0 : -ENOMEM;
}

static void problem(json_t *p, const char *text)
{
	json_array_append_new(p, json_string(text));
}

/* Members the certificate must have, with their JSON kind. */
static const struct {
	const char *name;
	json_type type;
} required[] = {
	{ "format", JSON_STRING }, { "tenant", JSON_OBJECT }, { "services", JSON_ARRAY },
	{ "termination_date", JSON_STRING }, { "erasure_deadline", JSON_STRING },
	{ "erasure_started_at", JSON_STRING }, { "erasure_completed_at", JSON_STRING },
	{ "method", JSON_OBJECT }, { "keys_destroyed", JSON_ARRAY }, { "counts", JSON_OBJECT },
	{ "audit_chain_head", JSON_OBJECT }, { "verification", JSON_OBJECT }, { "performed_by", JSON_OBJECT },
	{ "authorized_by", JSON_STRING },
};

int certificate_verify(const char *text, size_t n, const unsigned char pk[32], json_t **ret_problems)
{
	json_t *p = json_array(), *file, *body, *sig, *v;
	unsigned char s[64], key[32], *msg = NULL;
	size_t msg_n = 0, len;
	char *canon;
	char line[256];

	*ret_problems = p;
	file = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(file)) {
		problem(p, "the file is not a JSON object (it is damaged or not a certificate)");
		json_decref(file);
		return -EBADMSG;
	}
	canon = json_dumps(file, CANON);
	len = canon ? strlen(canon) : 0;
	if (!canon || !(n == len + 1 && text[len] == '\n' && !memcmp(text, canon, len)))
		problem(p, "the file is not in its canonical form: a byte was changed, added or removed");
	free(canon);
	body = json_object_get(file, "certificate");
	sig = json_object_get(file, "signature");
	if (!json_is_object(body))
		problem(p, "the member \"certificate\" is missing");
	if (!json_is_object(sig))
		problem(p, "the member \"signature\" is missing");
	if (json_object_size(file) != 2)
		problem(p, "the file has members besides \"certificate\" and \"signature\": they are not signed");
	for (size_t i = 0; json_is_object(body) && i < ARRAY_SIZE(required); i++) {
		v = json_object_get(body, required[i].name);
		if (!v || json_typeof(v) != required[i].type) {
			snprintf(line, sizeof(line), "the certificate's member \"%s\" is missing or of the wrong kind",
				 required[i].name);
			problem(p, line);
		}
	}
	if (json_is_object(body)) {
		const char *st = json_string_value(json_object_get(body, "erasure_started_at"));
		const char *en = json_string_value(json_object_get(body, "erasure_completed_at"));
		const char *dl = json_string_value(json_object_get(body, "erasure_deadline"));
		json_t *ver = json_object_get(body, "verification");

		if (json_is_string(json_object_get(body, "format")) &&
		    strcmp(json_string_value(json_object_get(body, "format")), "kura-erasure-certificate/1"))
			problem(p, "the format is not kura-erasure-certificate/1");
		/* RFC 3339 in one zone compares as text */
		if (st && en && strcmp(en, st) < 0)
			problem(p, "the erasure ends before it starts");
		if (en && dl && strcmp(en, dl) >= 0)
			problem(p, "the erasure was completed after its deadline");
		if (json_array_size(json_object_get(body, "keys_destroyed")) == 0)
			problem(p, "no destroyed key is named");
		/* every sampled file is unreadable (its key destroyed), missing or refused otherwise
		 * (certificates before these two counts have neither); a readable one stops the
		 * erasure, so it never gets a certificate */
		if (json_is_object(ver) && json_integer_value(json_object_get(ver, "unreadable")) +
						   json_integer_value(json_object_get(ver, "missing")) +
						   json_integer_value(json_object_get(ver, "other")) !=
						   json_integer_value(json_object_get(ver, "sampled")))
			problem(p, "the verification's counts do not add up to the files sampled (a readable blob?)");
	}
	if (json_is_object(sig)) {
		const char *alg = json_string_value(json_object_get(sig, "algorithm"));
		const char *k = json_string_value(json_object_get(sig, "public_key"));
		const char *val = json_string_value(json_object_get(sig, "value"));
		size_t got = 0;

		if (!alg || strcmp(alg, "Ed25519"))
			problem(p, "the signature's algorithm is not Ed25519");
		if (!k || strlen(k) != 64 || sodium_hex2bin(key, sizeof(key), k, 64, NULL, &got, NULL) != 0 || got != 32)
			problem(p, "the signature's public key is not 64 hex digits");
		else if (sodium_memcmp(key, pk, 32) != 0)
			problem(p, "the certificate names another signing key than the one given (--key)");
		if (!val || strlen(val) != 128 || sodium_hex2bin(s, sizeof(s), val, 128, NULL, &got, NULL) != 0 ||
		    got != 64)
			problem(p, "the signature is not 128 hex digits");
		else if (json_is_object(body) && message(body, &msg, &msg_n) == 0 &&
			 crypto_sign_ed25519_verify_detached(s, msg, msg_n, pk) != 0)
			problem(p, "the signature does not match the certificate under the given key");
		free(msg);
	}
	json_decref(file);
	return json_array_size(p) ? -EBADMSG : 0;
}

/* ---------------------------------------------------------------- HTML */

static void esc(struct dbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': (void)dbuf_puts(b, "&lt;"); break;
		case '>': (void)dbuf_puts(b, "&gt;"); break;
		case '&': (void)dbuf_puts(b, "&amp;"); break;
		case '"': (void)dbuf_puts(b, "&quot;"); break;
		default: (void)dbuf_add(b, s, 1);
		}
	}
}

static void row(struct dbuf *b, const char *ja, const char *en, const char *value)
{
	(void)dbuf_puts(b, "<tr><th scope=\"row\">");
	esc(b, ja);
	(void)dbuf_puts(b, " / ");
	esc(b, en);
	(void)dbuf_puts(b, "</th><td>");
	esc(b, value);
	(void)dbuf_puts(b, "</td></tr>\n");
}

static void row_json(struct dbuf *b, const char *ja, const char *en, json_t *v)
{
	char *t = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	row(b, ja, en, t ? t : "");
	free(t);
}

char *certificate_html(const char *text)
{
	json_t *file = json_loads(text, 0, NULL), *c = json_object_get(file, "certificate"), *k;
	struct dbuf b;
	size_t i;
	char line[512];

	if (!json_is_object(c)) {
		json_decref(file);
		return NULL;
	}
	dbuf_init(&b, LIFECYCLE_CERT_MAX * 4);
	(void)dbuf_puts(&b, "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
			    "<title>データ消去証明書 / Erasure certificate</title></head><body>\n"
			    "<h1>データ消去証明書 / Certificate of data erasure</h1>\n"
			    "<p>NIST SP 800-88 Rev. 2 §4.6 に準じた記録です。/ A record in the spirit of NIST SP 800-88 Rev. 2 §4.6.</p>\n<table>\n");
	snprintf(line, sizeof(line), "%s (%s)", json_string_value(json_object_get(json_object_get(c, "tenant"), "name")),
		 json_string_value(json_object_get(json_object_get(c, "tenant"), "code")));
	row(&b, "テナント", "Tenant", line);
	row_json(&b, "サービス", "Services", json_object_get(c, "services"));
	row_json(&b, "契約終了日", "Termination date", json_object_get(c, "termination_date"));
	row_json(&b, "消去期限", "Erasure deadline", json_object_get(c, "erasure_deadline"));
	row_json(&b, "消去開始", "Erasure started", json_object_get(c, "erasure_started_at"));
	row_json(&b, "消去完了", "Erasure completed", json_object_get(c, "erasure_completed_at"));
	row_json(&b, "方法", "Method", json_object_get(json_object_get(c, "method"), "technique"));
	row_json(&b, "区分", "Sanitization", json_object_get(json_object_get(c, "method"), "sanitization"));
	json_array_foreach(json_object_get(c, "keys_destroyed"), i, k) {
		snprintf(line, sizeof(line), "%s v%lld, %s %lld bit: %s", json_string_value(json_object_get(k, "kind")),
			 (long long)json_integer_value(json_object_get(k, "version")),
			 json_string_value(json_object_get(k, "algorithm")),
			 (long long)json_integer_value(json_object_get(k, "strength_bits")),
			 json_string_value(json_object_get(k, "key_id")));
		row(&b, "破棄した鍵", "Key destroyed", line);
	}
	row_json(&b, "件数", "Counts", json_object_get(c, "counts"));
	row_json(&b, "監査チェーンの先頭", "Audit chain head", json_object_get(c, "audit_chain_head"));
	row_json(&b, "検証", "Verification", json_object_get(c, "verification"));
	row_json(&b, "実施者", "Performed by", json_object_get(c, "performed_by"));
	row_json(&b, "承認者", "Authorized by", json_object_get(c, "authorized_by"));
	row_json(&b, "署名", "Signature", json_object_get(file, "signature"));
	(void)dbuf_puts(&b, "</table>\n<p>検証: kura erasure verify ファイル --key 公開鍵 / Verify: kura erasure verify FILE --key PUBLIC-KEY</p>\n</body></html>\n");
	json_decref(file);
	return dbuf_take(&b, NULL);
}

json_t *certificate_notes(const char *text, size_t n)
{
	json_t *notes = json_array(), *file = json_loadb(text, n, 0, NULL);
	json_t *c = json_object_get(file, "certificate"), *ver = json_object_get(c, "verification"),
	       *wal = json_object_get(c, "wal");
	json_int_t sampled = json_integer_value(json_object_get(ver, "sampled")),
		   missing = json_integer_value(json_object_get(ver, "missing")),
		   other = json_integer_value(json_object_get(ver, "other"));
	const char *after = json_string_value(json_object_get(wal, "after_keys_destroyed")),
		   *before = json_string_value(json_object_get(wal, "before_certificate"));
	char line[256];

	if (!notes) {
		json_decref(file);
		return NULL;
	}
	if (missing > 0) {
		snprintf(line, sizeof(line), "%lld of %lld sampled files were missing (their records were gone):"
			 " no evidence either way", (long long)missing, (long long)sampled);
		json_array_append_new(notes, json_string(line));
	}
	if (other > 0) {
		snprintf(line, sizeof(line), "%lld of %lld sampled files were refused for another reason than their"
			 " destroyed key (see \"results\"): no evidence of the erase", (long long)other, (long long)sampled);
		json_array_append_new(notes, json_string(line));
	}
	if (json_is_object(wal) && (!after || strcmp(after, "truncated"))) {
		snprintf(line, sizeof(line), "the WAL right after the keys were destroyed: %s; before the certificate: %s",
			 after ? after : "not recorded", before ? before : "not recorded");
		json_array_append_new(notes, json_string(line));
	}
	json_decref(file);
	return notes;
}
