/*
 * Browser pages for multi-factor authentication: /login (password, then security key, TOTP
 * or recovery code) and /mfa (register and remove security keys, enrol TOTP, see recovery
 * codes), with their ES modules. WebAuthn runs in the browser through navigator.credentials
 * (assets/webauthn.js); every check happens on the server (auth/webauthn.c).
 *
 * SECURITY: no inline script or style (CSP script-src 'self'); the CSRF token of the login
 * answer is kept in sessionStorage (per tab) and sent as X-CSRF-Token; the session cookie
 * stays HttpOnly. WebAuthn needs a secure context: HTTPS, or http://localhost.
 */
#include "http/http_int.h"

#define MFA_PAGE_CSP "default-src 'none'; script-src 'self'; connect-src 'self'; form-action 'self';" \
		     " img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

static const char login_html[] =
	"<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>kura — ログイン / Log in</title>\n"
	"<script type=\"module\" src=\"/assets/login.js\"></script></head>\n"
	"<body><main>\n<h1>ログイン <small>Log in</small></h1>\n"
	"<form id=\"form\">\n"
	"<label>テナント / Tenant<br><input id=\"tenant\" autocomplete=\"organization\" required></label><br>\n"
	"<label>ログイン ID / Login<br><input id=\"login\" autocomplete=\"username\" required></label><br>\n"
	"<label>パスワード / Password<br><input id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><br>\n"
	"<button id=\"submit\" type=\"submit\">ログイン / Log in</button>\n</form>\n"
	"<section id=\"second\" hidden>\n<h2>2 段階目 <small>Second factor</small></h2>\n"
	"<button id=\"key\" type=\"button\" hidden>セキュリティキー / Security key</button>\n"
	"<form id=\"otp-form\"><label>確認コードまたはリカバリーコード / Code or recovery code<br>\n"
	"<input id=\"otp\" autocomplete=\"one-time-code\" inputmode=\"text\" required></label>\n"
	"<button type=\"submit\">確認 / Verify</button></form>\n</section>\n"
	"<form id=\"pw-form\" hidden>\n<h2>新しいパスワード <small>New password</small></h2>\n"
	"<p>初回のパスワードは変更が必要です。/ The first password must be changed.</p>\n"
	"<label>新しいパスワード (12 文字以上) / New password (12 characters or more)<br>\n"
	"<input id=\"new-pw\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" maxlength=\"128\" required></label><br>\n"
	"<label>確認 / Confirm<br><input id=\"new-pw2\" type=\"password\" autocomplete=\"new-password\" required></label><br>\n"
	"<button type=\"submit\">変更 / Change</button>\n</form>\n"
	"<p id=\"msg\" role=\"status\"></p><p id=\"status\" hidden></p>\n"
	"</main></body></html>\n";

static const char mfa_html[] =
	"<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>kura — 2 段階認証 / Two-factor authentication</title>\n"
	"<script type=\"module\" src=\"/assets/mfa.js\"></script></head>\n"
	"<body><main>\n<h1>2 段階認証 <small>Two-factor authentication</small></h1>\n"
	"<p id=\"state\"></p>\n"
	"<label>現在のパスワード / Current password<br><input id=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\n"
	"<h2>セキュリティキー <small>Security keys</small></h2>\n<ul id=\"keys\"></ul>\n"
	"<label>名前 / Name<br><input id=\"name\" maxlength=\"64\" value=\"security key\"></label>\n"
	"<button id=\"register\" type=\"button\">登録 / Register</button>\n"
	"<h2>認証アプリ <small>Authenticator app (TOTP)</small></h2>\n"
	"<button id=\"totp\" type=\"button\">設定 / Set up</button>\n<div id=\"qr\"></div><code id=\"secret\"></code>\n"
	"<form id=\"totp-form\" hidden><label>確認コード / Code<br><input id=\"code\" inputmode=\"numeric\" maxlength=\"6\" required></label>\n"
	"<button type=\"submit\">確認 / Confirm</button></form>\n"
	"<h2>リカバリーコード <small>Recovery codes</small></h2>\n<pre id=\"codes\"></pre>\n"
	"<p id=\"msg\" role=\"status\"></p>\n"
	"</main></body></html>\n";

static const char webauthn_js[] =
	"// WebAuthn in the browser for kura: base64url <-> bytes around navigator.credentials,\n"
	"// so the API's JSON (docs/api.md) goes in and out unchanged.\n"
	"const enc = (buf) => {\n"
	"  let s = '';\n"
	"  for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);\n"
	"  return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');\n"
	"};\n"
	"const dec = (str) => {\n"
	"  const s = atob(str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4));\n"
	"  return Uint8Array.from(s, (c) => c.charCodeAt(0));\n"
	"};\n"
	"const ids = (list) => (list || []).map((c) => ({ ...c, id: dec(c.id) }));\n"
	"\n"
	"// options: the answer of POST /api/v1/me/mfa/webauthn/register\n"
	"export async function create(options) {\n"
	"  const pk = options.publicKey;\n"
	"  const publicKey = { ...pk, challenge: dec(pk.challenge), user: { ...pk.user, id: dec(pk.user.id) },\n"
	"    excludeCredentials: ids(pk.excludeCredentials) };\n"
	"  const c = await navigator.credentials.create({ publicKey });\n"
	"  return { id: c.id, rawId: enc(c.rawId), type: c.type,\n"
	"    response: { clientDataJSON: enc(c.response.clientDataJSON),\n"
	"      attestationObject: enc(c.response.attestationObject) } };\n"
	"}\n"
	"\n"
	"// options: the \"webauthn\" member of the 202 answer of POST /api/v1/session\n"
	"export async function get(options) {\n"
	"  const pk = options.publicKey;\n"
	"  const publicKey = { ...pk, challenge: dec(pk.challenge), allowCredentials: ids(pk.allowCredentials) };\n"
	"  const c = await navigator.credentials.get({ publicKey });\n"
	"  const r = c.response;\n"
	"  return { id: c.id, rawId: enc(c.rawId), type: c.type,\n"
	"    response: { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData),\n"
	"      signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null } };\n"
	"}\n"
	"\n"
	"export async function api(method, path, body) {\n"
	"  const headers = { 'Content-Type': 'application/json' };\n"
	"  const csrf = sessionStorage.getItem('kura_csrf');\n"
	"  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;\n"
	"  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });\n"
	"  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));\n"
	"  return { status: r.status, data };\n"
	"}\n";

static const char login_js[] =
	"// Login page: password step, then the second factor (security key, TOTP or recovery code).\n"
	"import { get, api } from '/assets/webauthn.js';\n"
	"const $ = (id) => document.getElementById(id);\n"
	"const say = (ja, en) => { $('msg').textContent = ja + ' / ' + en; };\n"
	"let challenge = null;\n"
	"\n"
	"async function done(data) {\n"
	"  sessionStorage.setItem('kura_csrf', data.csrf_token);\n"
	"  $('second').hidden = true;\n"
	"  $('form').hidden = true;\n"
	"  const m = await api('GET', '/api/v1/me/mfa');\n"
	"  if (data.account.must_change_password) { $('pw-form').hidden = false; say('パスワードを変更してください。', 'Change your password.'); return; }\n"
	"  if (m.status === 200 && m.data.enrolment_required) { location.assign('/mfa'); return; }\n"
	"  $('status').textContent = 'logged-in';\n"
	"  $('status').hidden = false;\n"
	"  say('ログインしました。', 'Logged in.');\n"
	"}\n"
	"\n"
	"async function second(body) {\n"
	"  const r = await api('POST', '/api/v1/session', { challenge, ...body });\n"
	"  if (r.status === 201) return done(r.data);\n"
	"  say('確認できませんでした。', 'The second factor was not accepted.');\n"
	"}\n"
	"\n"
	"async function useKey(options) {\n"
	"  try { await second({ webauthn: await get(options) }); }\n"
	"  catch (e) { say('セキュリティキーを使えませんでした。', 'The security key did not answer: ' + e.name); }\n"
	"}\n"
	"\n"
	"$('pw-form').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  if ($('new-pw').value !== $('new-pw2').value) { say('確認が一致しません。', 'The passwords differ.'); return; }\n"
	"  const r = await api('POST', '/api/v1/me/password',\n"
	"    { current_password: $('password').value, new_password: $('new-pw').value });\n"
	"  if (r.status !== 204) { say('変更できませんでした: ' + ((r.data && r.data.detail) || r.status), 'Not accepted: ' + ((r.data && r.data.detail) || r.status)); return; }\n"
	"  $('pw-form').hidden = true;\n"
	"  $('password').value = '';\n"
	"  const me = await api('GET', '/api/v1/me');\n"
	"  return done({ csrf_token: sessionStorage.getItem('kura_csrf'), account: me.data });\n"
	"});\n"
	"\n"
	"$('form').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  const r = await api('POST', '/api/v1/session',\n"
	"    { tenant: $('tenant').value, login: $('login').value, password: $('password').value });\n"
	"  if (r.status === 201) return done(r.data);\n"
	"  if (r.status !== 202) { say('ログインできませんでした。', 'Login failed.'); return; }\n"
	"  challenge = r.data.challenge;\n"
	"  $('form').hidden = true;\n"
	"  $('second').hidden = false;\n"
	"  if (r.data.webauthn) {\n"
	"    $('key').hidden = false;\n"
	"    $('key').onclick = () => useKey(r.data.webauthn);\n"
	"    useKey(r.data.webauthn);\n"
	"  }\n"
	"});\n"
	"\n"
	"$('otp-form').addEventListener('submit', (ev) => {\n"
	"  ev.preventDefault();\n"
	"  const v = $('otp').value.trim();\n"
	"  second(/^[0-9]{6}$/.test(v) ? { otp: v } : { recovery_code: v });\n"
	"});\n";

static const char mfa_js[] =
	"// Second factors of the logged-in account: security keys (WebAuthn), TOTP, recovery codes.\n"
	"import { create, api } from '/assets/webauthn.js';\n"
	"const $ = (id) => document.getElementById(id);\n"
	"const say = (text) => { $('msg').textContent = text; };\n"
	"const showCodes = (codes) => { if (codes) $('codes').textContent = codes.join('\\n'); };\n"
	"\n"
	"async function load() {\n"
	"  const r = await api('GET', '/api/v1/me/mfa');\n"
	"  if (r.status !== 200) { say('ログインしてください / Log in first'); return; }\n"
	"  $('state').textContent = `TOTP: ${r.data.totp.enrolled ? 'on' : 'off'}, ` +\n"
	"    `keys: ${r.data.webauthn.count}, recovery codes: ${r.data.recovery_codes_remaining}` +\n"
	"    (r.data.enrolment_required ? ' — 登録が必要です / enrolment required' : '');\n"
	"  const list = $('keys');\n"
	"  list.replaceChildren();\n"
	"  for (const k of r.data.webauthn.credentials) {\n"
	"    const li = document.createElement('li');\n"
	"    li.dataset.id = k.id;\n"
	"    li.textContent = `${k.name} (${k.algorithm}, counter ${k.sign_count}) `;\n"
	"    const b = document.createElement('button');\n"
	"    b.textContent = '削除 / Remove';\n"
	"    b.className = 'remove';\n"
	"    b.onclick = async () => {\n"
	"      const d = await api('DELETE', '/api/v1/me/mfa/webauthn/' + k.id, { password: $('password').value });\n"
	"      say(d.status === 204 ? 'removed' : 'not removed: ' + (d.data.detail || d.status));\n"
	"      load();\n"
	"    };\n"
	"    li.append(b);\n"
	"    list.append(li);\n"
	"  }\n"
	"}\n"
	"\n"
	"$('register').addEventListener('click', async () => {\n"
	"  const o = await api('POST', '/api/v1/me/mfa/webauthn/register', { password: $('password').value });\n"
	"  if (o.status !== 200) { say('not started: ' + (o.data.detail || o.status)); return; }\n"
	"  try {\n"
	"    const credential = await create(o.data);\n"
	"    const f = await api('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: $('name').value, credential });\n"
	"    if (f.status !== 201) { say('not registered: ' + (f.data.detail || f.status)); return; }\n"
	"    showCodes(f.data.recovery_codes);\n"
	"    say('registered');\n"
	"  } catch (e) { say('the authenticator did not answer: ' + e.name); }\n"
	"  load();\n"
	"});\n"
	"\n"
	"$('totp').addEventListener('click', async () => {\n"
	"  const o = await api('POST', '/api/v1/me/mfa/totp', { password: $('password').value });\n"
	"  if (o.status !== 201) { say('not started: ' + (o.data.detail || o.status)); return; }\n"
	"  const svg = new DOMParser().parseFromString(o.data.qr_svg, 'image/svg+xml').documentElement;\n"
	"  $('qr').replaceChildren(svg);\n"
	"  $('secret').textContent = o.data.secret;\n"
	"  $('totp-form').hidden = false;\n"
	"});\n"
	"\n"
	"$('totp-form').addEventListener('submit', async (ev) => {\n"
	"  ev.preventDefault();\n"
	"  const c = await api('POST', '/api/v1/me/mfa/totp/confirm', { code: $('code').value.trim() });\n"
	"  if (c.status !== 200) { say('not confirmed: ' + (c.data.detail || c.status)); return; }\n"
	"  $('totp-form').hidden = true;\n"
	"  showCodes(c.data.recovery_codes);\n"
	"  say('TOTP on');\n"
	"  load();\n"
	"});\n"
	"\n"
	"load();\n";

static enum MHD_Result html(struct request *req, const char *body, size_t n)
{
	http_add_header(req, "Content-Security-Policy", MFA_PAGE_CSP);
	return http_respond(req, 200, "text/html; charset=utf-8", body, n);
}

static enum MHD_Result js(struct request *req, const char *body, size_t n)
{
	http_add_header(req, "Cache-Control", "no-cache");
	return http_respond(req, 200, "text/javascript; charset=utf-8", body, n);
}

enum MHD_Result page_login(struct request *req)
{
	return html(req, login_html, sizeof(login_html) - 1);
}

enum MHD_Result page_mfa(struct request *req)
{
	return html(req, mfa_html, sizeof(mfa_html) - 1);
}

enum MHD_Result page_login_js(struct request *req)
{
	return js(req, login_js, sizeof(login_js) - 1);
}

enum MHD_Result page_mfa_js(struct request *req)
{
	return js(req, mfa_js, sizeof(mfa_js) - 1);
}

enum MHD_Result page_webauthn_js(struct request *req)
{
	return js(req, webauthn_js, sizeof(webauthn_js) - 1);
}
