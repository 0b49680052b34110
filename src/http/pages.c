/*
 * The few browser pages the foundation needs: the invitation page (set a password from
 * the mailed link) and a landing page. Plain HTML and one ES module, Japanese and English,
 * no inline script (CSP script-src 'self'). The portal proper lives in web/ later.
 */
#include "http/http_int.h"

#define PAGE_CSP "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self';" \
		 " base-uri 'none'; frame-ancestors 'none'"

static const char invite_html[] =
	"<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>kura — パスワードの設定 / Set your password</title>\n"
	"<script type=\"module\" src=\"/assets/invite.js\"></script></head>\n"
	"<body><main>\n"
	"<h1>パスワードの設定 <small>Set your password</small></h1>\n"
	"<p id=\"who\"></p>\n"
	"<form id=\"form\" hidden>\n"
	"<label>新しいパスワード (12 文字以上) / New password (12 characters or more)<br>\n"
	"<input id=\"pw\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" maxlength=\"128\" required></label><br>\n"
	"<label>確認 / Confirm<br>\n"
	"<input id=\"pw2\" type=\"password\" autocomplete=\"new-password\" required></label><br>\n"
	"<button type=\"submit\">設定する / Set password</button>\n"
	"</form>\n<p id=\"msg\" role=\"status\"></p>\n"
	"</main></body></html>\n";

static const char invite_js[] =
	"// Invitation page: shows whom the link is for and sets the password.\n"
	"const token = location.pathname.split('/').pop();\n"
	"const api = '/api/v1/invitations/' + encodeURIComponent(token);\n"
	"const $ = (id) => document.getElementById(id);\n"
	"const say = (ja, en) => { $('msg').textContent = ja + ' / ' + en; };\n"
	"async function load() {\n"
	"  const r = await fetch(api);\n"
	"  if (!r.ok) { say('この招待は無効か期限切れです。', 'This invitation is invalid or has expired.'); return; }\n"
	"  const inv = await r.json();\n"
	"  $('who').textContent = `テナント / Tenant: ${inv.tenant} — ログイン ID / Login: ${inv.login}`;\n"
	"  $('form').hidden = false;\n"
	"}\n"
	"$('form').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  if ($('pw').value !== $('pw2').value) { say('確認が一致しません。', 'The passwords differ.'); return; }\n"
	"  const r = await fetch(api, { method: 'POST', headers: { 'Content-Type': 'application/json' },\n"
	"    body: JSON.stringify({ password: $('pw').value }) });\n"
	"  if (r.status === 204) { $('form').hidden = true; say('設定しました。ログインできます。', 'Done. You can log in now.'); return; }\n"
	"  const p = await r.json().catch(() => ({}));\n"
	"  say('設定できませんでした: ' + (p.detail || r.status), 'Not accepted: ' + (p.detail || r.status));\n"
	"});\n"
	"load();\n";

static const char index_html[] =
	"<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>kura</title></head>\n"
	"<body><main><h1>kura 蔵</h1>\n"
	"<p>セキュアなファイル交換プラットフォーム / Secure file exchange platform.</p>\n"
	"<p>API: <a href=\"/api/v1/status\">/api/v1/status</a></p>\n"
	"</main></body></html>\n";

enum MHD_Result page_invite(struct request *req)
{
	http_add_header(req, "Content-Security-Policy", PAGE_CSP);
	return http_respond(req, 200, "text/html; charset=utf-8", invite_html, sizeof(invite_html) - 1);
}

enum MHD_Result page_invite_js(struct request *req)
{
	http_add_header(req, "Cache-Control", "no-cache");
	return http_respond(req, 200, "text/javascript; charset=utf-8", invite_js, sizeof(invite_js) - 1);
}

enum MHD_Result page_index(struct request *req)
{
	http_add_header(req, "Content-Security-Policy", PAGE_CSP);
	return http_respond(req, 200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1);
}
