// The pages before the portal (landing, login, MFA, invitation, password reset): the
// portal's header with the language switch, their texts in Japanese and English, the one
// error line of a form tied to its fields (aria-describedby, aria-invalid, role="alert"),
// the status line, the password rules shown before submitting, and the page to go to after
// login (?next=, a path of this site only).
//
// The language is ui.js's: Japanese by default, English by the switch (remembered in
// localStorage "kura_lang", nothing else is stored there) or by the browser's first
// language on the first visit. Every page's static HTML holds both languages ("日本語 /
// English") for a browser without scripts; paint() puts the one language in.
import { h, lang, setLang, setZone, strings, t, zone, fmtTime } from './ui.js';
import { api } from './kura.js';

export { h, t, fmtTime, strings, lang };

strings({
  oBrand: ['kura 蔵', 'kura'],
  oTagline: ['セキュアなファイル交換プラットフォーム', 'Secure file exchange platform'],
  oLoginLink: ['ログイン', 'Log in'],
  oStatusLink: ['サービスの状態 (API)', 'Service status (API)'],
  oLoginTitle: ['ログイン', 'Log in'],
  oMfaTitle: ['2 段階認証', 'Two-factor authentication'],
  oInviteTitle: ['パスワードの設定', 'Set your password'],
  oResetTitle: ['パスワードの再設定', 'Reset your password'],
  oTenant: ['テナント', 'Tenant'],
  oTenantHelp: ['招待メールに書かれた組織のコードです。', 'Your organisation\'s code, from the invitation mail.'],
  oLogin: ['ログイン ID', 'Login ID'],
  oPassword: ['パスワード', 'Password'],
  oNewPw: ['新しいパスワード', 'New password'],
  oConfirmPw: ['新しいパスワード (確認)', 'New password (again)'],
  oRules: ['パスワードの条件', 'Password rules'],
  oRuleLen: ['12 文字以上、128 文字以下', '12 to 128 characters'],
  oRuleLogin: ['ログイン ID と同じではない', 'Not the same as the login ID'],
  oRuleCommon: ['よく使われるパスワードではない (サーバーが確認します)', 'Not a commonly used password (checked by the server)'],
  oRuleSame: ['確認の入力が一致する', 'Both entries match'],
  oRuleOk: ['満たしています', 'met'],
  oRuleNo: ['まだ満たしていません', 'not met yet'],
  oRequired: ['入力してください: ', 'Please fill in: '],
  oSessionEnded: ['セッションが終了しました。もう一度ログインすると、元のページに戻ります。',
    'Your session has ended. Log in again to go back to where you were.'],
  oLoggedOut: ['ログアウトしました。', 'You have logged out.'],
  oNetwork: ['サーバーに接続できませんでした。しばらくしてからもう一度お試しください。',
    'The server could not be reached. Try again in a moment.'],
  oServerError: ['サーバーでエラーが発生しました (状態 {s})。しばらくしてからもう一度お試しください。',
    'The server had an error (status {s}). Try again in a moment.'],
  oPwTooShort: ['パスワードは 12 文字以上にしてください。', 'The password must have at least 12 characters.'],
  oPwTooLong: ['パスワードは 128 文字以下にしてください。', 'The password must have at most 128 characters.'],
  oPwNotText: ['パスワードに使えない文字が含まれています。', 'The password contains characters that cannot be used.'],
  oPwCommon: ['よく使われるパスワードのため使えません。別のものにしてください。', 'This password is too common. Choose another one.'],
  oPwIsLogin: ['ログイン ID と同じパスワードは使えません。', 'The password must not be the login ID.'],
  oPwDiffer: ['確認の入力が一致しません。', 'The two entries differ.'],
  oSwitchTo: ['English に切り替え', '日本語に切り替え'],
});

const $ = (id) => document.getElementById(id);

// t(key) with {name} placeholders filled from params
export const fmt = (key, params) =>
  t(key).replace(/\{(\w+)\}/g, (m, k) => (params && params[k] !== undefined ? String(params[k]) : m));

// What each line shows, as keys and parameters, so a language switch can say it again.
const lines = new Map();
const painters = [];

// Shows key (with params) in the element with id; key null hides it. kind: the element's
// data-kind ("error", "ok", "info") for its look.
export function show(id, key, params, kind) {
  const el = $(id);
  if (!el) return;
  if (!key) {
    lines.delete(id);
    el.textContent = '';
    el.hidden = el.id !== 'msg';   // the status line stays, empty, for screen readers
    delete el.dataset.key;
    return;
  }
  lines.set(id, { key, params, kind });
  el.dataset.key = typeof key === 'string' ? key : 'text';
  if (kind) el.dataset.kind = kind;
  el.textContent = typeof key === 'function' ? key() : fmt(key, params);
  el.hidden = false;
}

// The status line (#msg, role="status").
export const status = (key, params, kind) => show('msg', key, params, kind);

// The error line of a form (role="alert"): tied to the fields it is about by
// aria-describedby and aria-invalid, and focus goes to the first of them.
export function fail(errId, key, params, fields = []) {
  clear(errId);
  show(errId, key, params, 'error');
  const err = $(errId);
  err.dataset.fields = fields.join(' ');
  for (const f of fields) {
    const el = $(f);
    if (!el) continue;
    el.setAttribute('aria-invalid', 'true');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== errId);
    el.setAttribute('aria-describedby', [errId, ...ids].join(' '));
  }
  if (fields.length && $(fields[0])) $(fields[0]).focus();
}

export function clear(errId) {
  const err = $(errId);
  if (!err) return;
  for (const f of (err.dataset.fields || '').split(' ').filter(Boolean)) {
    const el = $(f);
    if (!el) continue;
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== errId);
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  err.dataset.fields = '';
  show(errId, null);
}

// The required fields of a form that are empty: an error naming them, false.
export function filled(errId, ids) {
  const empty = ids.filter((id) => !$(id).value.trim());
  if (!empty.length) return true;
  const names = empty.map((id) => {
    const l = document.querySelector(`label[for="${id}"]`);
    return l ? l.textContent.replace(/\s*\(.*$/, '') : id;
  });
  fail(errId, () => t('oRequired') + names.join(', '), null, empty);
  return false;
}

// Puts the page's language into every [data-t] (text), [data-t-aria] (aria-label) and the
// title, and says every line again.
export function paint() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll('[data-t-aria]')) e.setAttribute('aria-label', t(e.dataset.tAria));
  const title = document.querySelector('title');
  if (title && title.dataset.t) document.title = 'kura — ' + t(title.dataset.t);
  const l = $('lang');
  if (l) {
    l.textContent = t('other');
    l.lang = lang === 'en' ? 'ja' : 'en';
    l.setAttribute('aria-label', t('oSwitchTo'));
  }
  for (const [id, { key, params, kind }] of lines) show(id, key, params, kind);
  for (const p of painters) p();
}

// Each page calls this first: its own repainting (what paint() cannot know), the switch.
export function setup(repaint) {
  if (repaint) painters.push(repaint);
  const l = $('lang');
  if (l) l.addEventListener('click', () => { setLang(lang === 'en' ? 'ja' : 'en'); paint(); });
  paint();
}

// A time in a sentence, kept on one line (non-breaking hyphens and spaces).
export const timeText = (iso) => fmtTime(iso).replace(/-/g, '\u2011').replace(/ /g, '\u00a0');

// Times are shown in the provider's zone (the tenant's is known only after login), named.
let zoneAsked = null;
export function providerZone() {
  if (!zoneAsked) zoneAsked = api('GET', '/api/v1/provider').then((r) => {
    if (r.ok && r.data.time_zone) setZone(r.data.time_zone);
    return zone;
  }).catch(() => zone);
  return zoneAsked;
}

// The JSON API without throwing: a network failure is { status: 0 }.
export async function call(method, path, body) {
  try {
    return await api(method, path, body);
  } catch {
    return { status: 0, ok: false, data: {} };
  }
}

// A refusal with no state of its own: network, server error, or the server's reason.
export function generic(errId, r, fields) {
  if (r.status === 0) fail(errId, 'oNetwork', null, fields);
  else fail(errId, 'oServerError', { s: r.status }, fields);
}

// The weak-password problem of the server (its "problem" slug) in the page's language.
const PW = { 'too-short': 'oPwTooShort', 'too-long': 'oPwTooLong', 'not-text': 'oPwNotText',
  common: 'oPwCommon', 'is-login': 'oPwIsLogin' };
export const pwProblem = (r) => PW[r.data && r.data.problem] || 'oPwCommon';

// The password rules of a form, checked as the user types (list #<rules> of
// li[data-rule]: len, login, same): each says whether it is met, in words too.
export function rules(listId, pwId, pw2Id, login) {
  const list = $(listId);
  const check = () => {
    const v = $(pwId).value, n = [...v].length;
    const state = { len: n >= 12 && n <= 128, login: !!v && v.toLowerCase() !== (login() || '').toLowerCase(),
      same: !!v && v === $(pw2Id).value, common: null };
    for (const li of list.querySelectorAll('li[data-rule]')) {
      const ok = state[li.dataset.rule];
      li.dataset.ok = ok === null ? 'server' : ok ? 'yes' : 'no';
      const s = li.querySelector('.state');
      if (s) s.textContent = ok === null ? '' : ' — ' + t(ok ? 'oRuleOk' : 'oRuleNo');
    }
    return state.len && state.login && state.same;
  };
  $(pwId).addEventListener('input', check);
  $(pw2Id).addEventListener('input', check);
  painters.push(check);
  check();
  return check;
}

// Where to go after login: ?next= when it is a path of this site (not another origin,
// not "//host" or "/\host", not a page before the portal), else the file view.
export function nextPage(search = location.search) {
  const n = new URLSearchParams(search).get('next');
  if (!n || !n.startsWith('/') || n.startsWith('//') || n.startsWith('/\\')) return '/files';
  let u;
  try { u = new URL(n, location.origin); } catch { return '/files'; }
  if (u.origin !== location.origin) return '/files';
  if (/^\/(login|mfa|invite|reset|s)(\/|$)/.test(u.pathname) || u.pathname === '/') return '/files';
  return u.pathname + u.search + u.hash;
}
