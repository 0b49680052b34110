/*
 * The statement as one HTML document (compliance_html): what a provider publishes, readable
 * on its own: its own CSS in one <style> allowed by the document's own CSP (a hash, so
 * nothing else runs or loads), no script, no external resource, print-friendly. Every text
 * comes from the model and is escaped here; nothing in the model is markup.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "compliance/compliance_int.h"
#include "core/dbuf.h"
#include "core/limits.h"

static const char css[] =
	":root{--ink:#1d2430;--muted:#5b6472;--line:#d7dce3;--accent:#1f4e79;--ok:#1e6b3a;--part:#8a5a00;--none:#a12a2a}"
	"*{box-sizing:border-box}"
	"body{margin:0;color:var(--ink);background:#fff;font:16px/1.75 'Hiragino Sans','Noto Sans CJK JP','Yu Gothic',"
	"'Meiryo',system-ui,sans-serif}"
	"main{max-width:60rem;margin:0 auto;padding:2rem 1.25rem 4rem}"
	"header{border-bottom:3px solid var(--accent);padding-bottom:1rem;margin-bottom:1.5rem}"
	".kicker{color:var(--accent);font-weight:700;letter-spacing:.04em;margin:0}"
	"h1{font-size:1.9rem;line-height:1.35;margin:.25rem 0 .75rem}"
	"h2{font-size:1.35rem;border-left:6px solid var(--accent);padding-left:.6rem;margin:2.5rem 0 1rem}"
	"h3{font-size:1.1rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}"
	"dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}"
	".summary{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}"
	".summary p{margin:0;padding:.5rem .9rem;border:1px solid var(--line);border-radius:.4rem}"
	"nav ul{columns:2 18rem;list-style:none;padding-left:0}nav li{margin:.15rem 0}nav a{color:var(--accent)}"
	"article{border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.1rem;margin:0 0 1rem;break-inside:avoid}"
	".id{font-family:ui-monospace,monospace;background:#eef2f7;border-radius:.3rem;padding:0 .4rem}"
	".st{font-size:.8rem;font-weight:700;border-radius:1rem;padding:.05rem .6rem;border:1px solid}"
	".st-evidenced{color:var(--ok)}.st-partial{color:var(--part)}.st-none{color:var(--none)}"
	".clause{color:var(--muted);font-size:.9rem;margin:0 0 .5rem}"
	"table{width:100%;border-collapse:collapse;margin:.6rem 0;font-size:.92rem}"
	"th,td{border-top:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
	"th{color:var(--muted);font-weight:600}td.src{color:var(--muted);font-size:.85rem}"
	"ul.missing{margin:.5rem 0 0;padding-left:1.2rem;color:var(--none)}"
	"footer{margin-top:3rem;color:var(--muted);font-size:.9rem;border-top:1px solid var(--line);padding-top:1rem}"
	"@media (max-width:40rem){body{font-size:15px}h1{font-size:1.5rem}"
	"table,thead,tbody,tr,th,td{display:block}thead{display:none}td{border:0;padding:.1rem 0}"
	"tr{border-top:1px solid var(--line);padding:.35rem 0}}"
	"@media print{main{max-width:none}a{color:inherit}nav{display:none}}";

static void esc(struct dbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': dbuf_puts(b, "&lt;"); break;
		case '>': dbuf_puts(b, "&gt;"); break;
		case '&': dbuf_puts(b, "&amp;"); break;
		case '"': dbuf_puts(b, "&quot;"); break;
		case '\'': dbuf_puts(b, "&#39;"); break;
		default: dbuf_add(b, s, 1);
		}
	}
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void meta_row(struct dbuf *b, const char *label, const char *value)
{
	dbuf_puts(b, "<dt>");
	esc(b, label);
	dbuf_puts(b, "</dt><dd>");
	esc(b, value && value[0] ? value : "—");
	dbuf_puts(b, "</dd>");
}

static void css_hash(char out[64])
{
	unsigned char h[32];

	crypto_hash_sha256(h, (const unsigned char *)css, sizeof(css) - 1);
	sodium_bin2base64(out, 64, h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
}

void compliance_html_csp(char *buf, size_t size)
{
	char hash[64];

	css_hash(hash);
	str_printf(buf, size, "default-src 'none'; style-src 'sha256-%s'; frame-ancestors 'none'; sandbox", hash);
}

char *compliance_html(const json_t *model)
{
	bool ja = !strcmp(str(model, "lang"), "ja");
	const json_t *provider = json_object_get(model, "provider"), *tenant = json_object_get(model, "tenant");
	const json_t *controls = json_object_get(model, "controls"), *ctl, *v;
	const char *pname = str(provider, "name");
	char hash[64];
	size_t i, k, n_status[3] = { 0, 0, 0 };
	struct dbuf b;

#define T(ja_, en_) (ja ? (ja_) : (en_))
	css_hash(hash);
	json_array_foreach(controls, i, ctl) {
		const char *s = str(ctl, "status");

		n_status[!strcmp(s, "evidenced") ? 0 : !strcmp(s, "partial") ? 1 : 2]++;
	}
	dbuf_init(&b, KURA_COMPLIANCE_HTML_MAX);
	dbuf_printf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-%s'\">\n<title>",
		    ja ? "ja" : "en", hash);
	esc(&b, pname[0] ? pname : "kura");
	esc(&b, T(" セキュリティ・ステートメント", " security statement"));
	dbuf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<header>\n<p class=\"kicker\">", css);
	esc(&b, T("ISO/IEC 27017 に基づくクラウドサービスの情報セキュリティ", "Cloud service information security after ISO/IEC 27017"));
	dbuf_puts(&b, "</p>\n<h1>");
	if (json_is_object(tenant)) {
		esc(&b, str(tenant, "name"));
		esc(&b, T(" 様向け セキュリティ・ステートメント", ": security statement"));
	} else {
		esc(&b, pname[0] ? pname : "kura");
		esc(&b, T(" セキュリティ・ステートメント", " security statement"));
	}
	dbuf_puts(&b, "</h1>\n<dl class=\"meta\">");
	meta_row(&b, T("事業者", "Provider"), pname);
	meta_row(&b, T("所在地", "Address"), str(provider, "address"));
	meta_row(&b, T("問合せ窓口", "Contact desk"), str(provider, "contact"));
	meta_row(&b, T("データの所在", "Data location"), str(provider, "data_location"));
	meta_row(&b, T("管轄裁判所", "Jurisdiction"), str(provider, "jurisdiction"));
	if (json_is_object(tenant)) {
		char who[256];

		str_printf(who, sizeof(who), "%s (%s)", str(tenant, "name"), str(tenant, "code"));
		meta_row(&b, T("契約", "Contract"), who);
	}
	{
		struct dbuf s;

		dbuf_init(&s, 4096);
		json_array_foreach(json_object_get(model, "services"), k, v)
			dbuf_printf(&s, "%s%s (%s)", k ? T("、", ", ") : "", str(v, "name"), str(v, "code"));
		meta_row(&b, T("対象サービス", "Services covered"), dbuf_str(&s));
		dbuf_free(&s);
	}
	meta_row(&b, T("生成日時", "Generated"), str(model, "generated_local"));
	{
		char sw[64];

		str_printf(sw, sizeof(sw), "kura %s", str(model, "kura_version"));
		meta_row(&b, T("ソフトウェア", "Software"), sw);
	}
	dbuf_puts(&b, "</dl>\n</header>\n<section aria-labelledby=\"about\">\n<h2 id=\"about\">");
	esc(&b, T("本書について", "About this statement"));
	dbuf_puts(&b, "</h2>\n<p>");
	esc(&b, T("本書は、稼働中のシステムの設定と記録から自動的に生成されています。各項目には、その項目を裏付ける証跡"
		  "(設定値、記録の件数、いま検証した監査ログ)と、その出典を示します。稼働中のシステムから示せない事項は"
		  "「証跡なし」と明記し、主張しません。",
		  "This statement is generated from the settings and records of the running system. Each row shows the "
		  "evidence behind it (setting values, record counts, audit logs verified now) and where each value was "
		  "read. What the running system cannot show is marked \"no evidence\" and is not claimed."));
	dbuf_puts(&b, "</p>\n<div class=\"summary\">");
	dbuf_printf(&b, "<p><span class=\"st st-evidenced\">%s</span> %zu</p>", T("証跡あり", "evidenced"), n_status[0]);
	dbuf_printf(&b, "<p><span class=\"st st-partial\">%s</span> %zu</p>", T("一部に証跡", "partly evidenced"), n_status[1]);
	dbuf_printf(&b, "<p><span class=\"st st-none\">%s</span> %zu</p>", T("証跡なし", "no evidence"), n_status[2]);
	dbuf_puts(&b, "</div>\n</section>\n<nav aria-labelledby=\"toc\">\n<h2 id=\"toc\">");
	esc(&b, T("目次", "Contents"));
	dbuf_puts(&b, "</h2>\n<ul>");
	for (size_t g = 0; compliance_groups[g][0]; g++)
		dbuf_printf(&b, "<li><a href=\"#group-%s\">%s. %s</a></li>", compliance_groups[g][0], compliance_groups[g][0],
			    ja ? compliance_groups[g][1] : compliance_groups[g][2]);
	dbuf_puts(&b, "</ul>\n</nav>\n");
	for (size_t g = 0; compliance_groups[g][0]; g++) {
		dbuf_printf(&b, "<section aria-labelledby=\"group-%s\">\n<h2 id=\"group-%s\">%s. ", compliance_groups[g][0],
			    compliance_groups[g][0], compliance_groups[g][0]);
		esc(&b, ja ? compliance_groups[g][1] : compliance_groups[g][2]);
		dbuf_puts(&b, "</h2>\n");
		json_array_foreach(controls, i, ctl) {
			const char *status = str(ctl, "status");
			const json_t *ev = json_object_get(ctl, "evidence"), *miss = json_object_get(ctl, "missing");

			if (strcmp(str(ctl, "group"), compliance_groups[g][0]))
				continue;
			dbuf_printf(&b, "<article id=\"%s\">\n<h3><span class=\"id\">", str(ctl, "id"));
			esc(&b, str(ctl, "id"));
			dbuf_puts(&b, "</span> ");
			esc(&b, str(ctl, "title"));
			dbuf_printf(&b, " <span class=\"st st-%s\">%s</span></h3>\n", status,
				    !strcmp(status, "evidenced") ? T("証跡あり", "evidenced")
				    : !strcmp(status, "partial") ? T("一部に証跡", "partly evidenced")
								  : T("証跡なし", "no evidence"));
			if (strcmp(str(ctl, "clause"), "-")) {
				dbuf_puts(&b, "<p class=\"clause\">");
				esc(&b, T("関連する箇条: ", "Related clauses: "));
				esc(&b, str(ctl, "clause"));
				dbuf_puts(&b, "</p>\n");
			}
			dbuf_puts(&b, "<p>");
			esc(&b, str(ctl, "statement"));
			dbuf_puts(&b, "</p>\n");
			if (json_array_size(ev)) {
				dbuf_printf(&b, "<table>\n<thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
					    "<th scope=\"col\">%s</th></tr></thead>\n<tbody>\n",
					    T("項目", "Item"), T("値", "Value"), T("出典", "Source"));
				json_array_foreach(ev, k, v) {
					dbuf_puts(&b, "<tr><td>");
					esc(&b, str(v, "item"));
					dbuf_puts(&b, "</td><td>");
					esc(&b, str(v, "value"));
					dbuf_puts(&b, "</td><td class=\"src\">");
					esc(&b, str(v, "source"));
					dbuf_puts(&b, "</td></tr>\n");
				}
				dbuf_puts(&b, "</tbody>\n</table>\n");
			}
			if (json_array_size(miss)) {
				dbuf_puts(&b, "<ul class=\"missing\">\n");
				json_array_foreach(miss, k, v) {
					dbuf_puts(&b, "<li>");
					esc(&b, T("証跡なし: ", "No evidence: "));
					esc(&b, json_string_value(v));
					dbuf_puts(&b, "</li>\n");
				}
				dbuf_puts(&b, "</ul>\n");
			}
			dbuf_puts(&b, "</article>\n");
		}
		dbuf_puts(&b, "</section>\n");
	}
	dbuf_puts(&b, "<footer>\n<p>");
	esc(&b, T("監査ログの検証: テナントの運用管理担当者は監査ログをダウンロードし、事業者の公開鍵で "
		  "kura audit verify により検証できます。署名付きの証跡パッケージは kura compliance verify で検証できます。",
		  "Checking the audit log: a tenant's managers download it and check it with kura audit verify and the "
		  "provider's public key; a signed evidence bundle is checked with kura compliance verify."));
	dbuf_puts(&b, "</p>\n</footer>\n</main>\n</body>\n</html>\n");
#undef T
	return dbuf_take(&b, NULL);
}
