// Shared by every page of kura: element lookup, the status line, the JSON API with the CSRF
// token, problem+json details, and the Japanese and English text of every message.
//
// SECURITY: text goes into the page with textContent only, never as HTML (the eslint rules
// in web/eslint.config.js forbid innerHTML and friends). The CSRF token of the login answer
// is kept in sessionStorage (per tab) and sent as X-CSRF-Token on every request that is
// not a GET; the session cookie itself stays HttpOnly.

export const $ = (id) => document.getElementById(id);

// The last segment of the page's address: the token of /invite/, /reset/ and /s/ pages.
export const pathToken = () => location.pathname.split('/').pop();

// Every message, as [Japanese, English]; shown as "ja / en".
export const T = {
  pwDiffer: ['確認が一致しません。', 'The passwords differ.'],
  pwSet: ['設定しました。ログインできます。', 'Done. You can log in now.'],
  pwSetRefused: ['設定できませんでした: ', 'Not accepted: '],
  pwChangeRefused: ['変更できませんでした: ', 'Not accepted: '],
  pwMustChange: ['パスワードを変更してください。', 'Change your password.'],
  invitationInvalid: ['この招待は無効か期限切れです。', 'This invitation is invalid or has expired.'],
  resetInvalid: ['このリンクは無効か期限切れです。', 'This link is invalid, used or expired.'],
  loginFailed: ['ログインできませんでした。', 'Login failed.'],
  loggedIn: ['ログインしました。', 'Logged in.'],
  loginFirst: ['ログインしてください。', 'Log in first.'],
  secondRefused: ['確認できませんでした。', 'The second factor was not accepted.'],
  keyNoAnswer: ['セキュリティキーを使えませんでした: ', 'The security key did not answer: '],
  keyRegistered: ['登録しました。', 'registered'],
  notStarted: ['開始できませんでした: ', 'not started: '],
  keyNotRegistered: ['登録できませんでした: ', 'not registered: '],
  keyRemoved: ['削除しました。', 'removed'],
  keyNotRemoved: ['削除できませんでした: ', 'not removed: '],
  keyRemove: ['削除', 'Remove'],
  enrolmentRequired: ['登録が必要です', 'enrolment required'],
  totpOn: ['認証アプリを有効にしました。', 'TOTP on'],
  totpNotConfirmed: ['確認できませんでした: ', 'not confirmed: '],
  linkGone: ['このリンクは期限切れ、取り消し済み、またはダウンロード回数の上限に達しています。',
    'This link has expired, was revoked, or reached its download limit.'],
  linkInvalid: ['このリンクは無効です。', 'This link is not valid.'],
  linkLocked: ['パスワードの誤りが多すぎます。しばらく待ってください。', 'Too many wrong passwords; wait a while.'],
  linkPasswordWrong: ['パスワードが違います。', 'The password is wrong.'],
  uploadFailed: ['失敗: ', 'Failed: '],
  uploaded: ['アップロードしました。', 'Uploaded.'],
};

// "ja / en" of message m, with detail (a reason from the server) after each half.
export const text = (m, detail) =>
  detail === undefined ? m[0] + ' / ' + m[1] : m[0] + detail + ' / ' + m[1] + detail;

// Shows message m in the page's status line (#msg, role="status"); say() clears it.
export function say(m, detail) {
  $('msg').textContent = m ? text(m, detail) : '';
}

// The reason of a refusal: the problem+json detail (or title), else the HTTP status.
export const reason = (r) => (r.data && (r.data.detail || r.data.title)) || r.status;

async function send(method, path, body, type) {
  const headers = {};
  const csrf = sessionStorage.getItem('kura_csrf');
  if (type) headers['Content-Type'] = type;
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const r = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  // retryAfter: the Retry-After seconds of a 429, for the page to say how long to wait
  return { status: r.status, ok: r.ok, data, retryAfter: Number(r.headers.get('Retry-After')) || 0 };
}

// A JSON API call: body (an object, or undefined) goes as JSON; answers { status, ok, data }
// with ok for a 2xx status and data the parsed answer ({} for 204 or a body that is not JSON).
export const api = (method, path, body) =>
  send(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');

// PUT of a file's bytes as they are (share-link uploads), with the file's media type.
export const put = (path, file) => send('PUT', path, file, file.type || 'application/octet-stream');
