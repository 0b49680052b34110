/*
 * The share-link page /s/{token} (W3) and its ES module: what a recipient opens from the
 * mail. Japanese and English; no inline script or style (CSP script-src 'self'). The page
 * itself is the same for every token and tells nothing: the module reads the token from
 * the address and talks to /api/v1/links/{token}… (docs/shares.md): asks for the password
 * when the link has one, then shows name, size and expiry (and the listing of a folder
 * link) with download links, or a file picker for an upload link.
 *
 * SECURITY: names come from other people: they are put in the page with textContent only,
 * never as HTML. The link session cookie is HttpOnly and scoped to the link's API path.
 * Referrer-Policy no-referrer (server.c) keeps the token out of other sites' logs.
 */
#include "http/http_int.h"

#define SHARE_PAGE_CSP "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self';" \
		       " base-uri 'none'; frame-ancestors 'none'"

static const char share_html[] =
	"<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta name=\"robots\" content=\"noindex\">\n"
	"<title>kura — 共有リンク / Shared link</title>\n"
	"<script type=\"module\" src=\"/assets/share.js\"></script></head>\n"
	"<body><main>\n"
	"<h1>共有リンク <small>Shared link</small></h1>\n"
	"<form id=\"unlock\" hidden>\n"
	"<label>パスワード / Password<br>\n"
	"<input id=\"pw\" type=\"password\" autocomplete=\"off\" maxlength=\"128\" required></label>\n"
	"<button type=\"submit\">開く / Open</button>\n"
	"</form>\n"
	"<section id=\"item\" hidden>\n"
	"<p id=\"what\"></p><p id=\"expires\"></p>\n"
	"<ul id=\"list\"></ul>\n"
	"</section>\n"
	"<form id=\"upload\" hidden>\n"
	"<label>アップロードするファイル / Files to upload<br>\n"
	"<input id=\"files\" type=\"file\" multiple required></label>\n"
	"<button type=\"submit\">アップロード / Upload</button>\n"
	"</form>\n"
	"<p id=\"msg\" role=\"status\"></p>\n"
	"</main></body></html>\n";

static const char share_js[] =
	"// Share-link page: unlock with the password if needed, then list and download, or upload.\n"
	"const token = location.pathname.split('/').pop();\n"
	"const api = '/api/v1/links/' + encodeURIComponent(token);\n"
	"const $ = (id) => document.getElementById(id);\n"
	"const say = (ja, en) => { $('msg').textContent = ja + ' / ' + en; };\n"
	"const size = (n) => n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB'\n"
	"  : (n / 1048576).toFixed(1) + ' MiB';\n"
	"function entry(name, bytes, href) {\n"
	"  const li = document.createElement('li');\n"
	"  const a = document.createElement('a');\n"
	"  a.textContent = name;\n"
	"  a.href = href;\n"
	"  li.append(a, ' (' + size(bytes) + ')');\n"
	"  $('list').append(li);\n"
	"}\n"
	"async function load() {\n"
	"  const r = await fetch(api, { credentials: 'same-origin' });\n"
	"  if (r.status === 410) { say('このリンクは期限切れ、取り消し済み、またはダウンロード回数の上限に達しています。',\n"
	"    'This link has expired, was revoked, or reached its download limit.'); return; }\n"
	"  if (!r.ok) { say('このリンクは無効です。', 'This link is not valid.'); return; }\n"
	"  const info = await r.json();\n"
	"  if (info.password_required && !info.unlocked) { $('unlock').hidden = false; return; }\n"
	"  $('unlock').hidden = true;\n"
	"  $('expires').textContent = '有効期限 / Valid until: ' + new Date(info.expires_at).toLocaleString();\n"
	"  $('item').hidden = false;\n"
	"  if (info.kind === 'upload') {\n"
	"    $('what').textContent = 'フォルダ「' + info.item.name + '」へのアップロード / Upload into \"' + info.item.name + '\"';\n"
	"    $('upload').hidden = false;\n"
	"    return;\n"
	"  }\n"
	"  $('what').textContent = info.item.name + (info.item.kind === 'file' ? ' (' + size(info.item.size) + ')' : '');\n"
	"  $('list').textContent = '';\n"
	"  if (info.item.kind === 'file') entry(info.item.name, info.item.size, api + '/content');\n"
	"  for (const it of info.items || [])\n"
	"    if (it.kind === 'file') entry(it.name, it.size, api + '/files/' + it.id + '/content');\n"
	"}\n"
	"$('unlock').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  const r = await fetch(api + '/unlock', { method: 'POST', credentials: 'same-origin',\n"
	"    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: $('pw').value }) });\n"
	"  if (r.status === 429) { say('パスワードの誤りが多すぎます。しばらく待ってください。', 'Too many wrong passwords; wait a while.'); return; }\n"
	"  if (!r.ok) { say('パスワードが違います。', 'The password is wrong.'); return; }\n"
	"  say('', '');\n"
	"  load();\n"
	"});\n"
	"$('upload').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  for (const f of $('files').files) {\n"
	"    const r = await fetch(api + '/upload/' + encodeURIComponent(f.name), { method: 'PUT',\n"
	"      credentials: 'same-origin', headers: { 'Content-Type': f.type || 'application/octet-stream' }, body: f });\n"
	"    if (!r.ok) { const p = await r.json().catch(() => ({})); say('失敗: ' + (p.detail || r.status), 'Failed: ' + (p.detail || r.status)); return; }\n"
	"    const done = await r.json();\n"
	"    const li = document.createElement('li');\n"
	"    li.textContent = done.name + ' (' + size(done.size) + ')';\n"
	"    $('list').append(li);\n"
	"  }\n"
	"  say('アップロードしました。', 'Uploaded.');\n"
	"});\n"
	"load();\n";

enum MHD_Result page_share(struct request *req)
{
	http_add_header(req, "Content-Security-Policy", SHARE_PAGE_CSP);
	return http_respond(req, 200, "text/html; charset=utf-8", share_html, sizeof(share_html) - 1);
}

enum MHD_Result page_share_js(struct request *req)
{
	http_add_header(req, "Cache-Control", "no-cache");
	return http_respond(req, 200, "text/javascript; charset=utf-8", share_js, sizeof(share_js) - 1);
}
