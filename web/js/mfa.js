// Second factors of the logged-in account: the authenticator app (TOTP with its QR code),
// security keys (WebAuthn), recovery codes (shown once; a new set on request). The tenant's
// policy may require one before the portal opens (enrolment): the page says so and offers
// the way on only once a factor is there. Every change asks for the current password.
import { create } from './webauthn.js';
import { call, clear, fail, generic, h, nextPage, setup, show, status, strings, t } from './outer.js';

strings({
  mLoginAgain: ['ログインする', 'Log in'],
  mState: ['現在の状態', 'Current state'],
  mCurrentPw: ['現在のパスワード', 'Current password'],
  mCurrentPwHelp: ['設定を変えるときに確認のため必要です。', 'Needed to confirm each change below.'],
  mTotpTitle: ['認証アプリ (TOTP)', 'Authenticator app (TOTP)'],
  mTotpHelp: ['Google Authenticator、Microsoft Authenticator などのアプリで QR コードを読み取ります。',
    'Scan the QR code with an app such as Google Authenticator or Microsoft Authenticator.'],
  mTotpSetup: ['設定する', 'Set up'],
  mTotpRemove: ['認証アプリを解除', 'Remove the app'],
  mQr: ['TOTP の QR コード', 'TOTP QR code'],
  mSecretHelp: ['読み取れない場合は、このキーを手で入力します:', 'If the code cannot be scanned, type this key:'],
  mCode: ['アプリに表示された 6 桁のコード', 'The 6-digit code the app shows'],
  mConfirm: ['確認', 'Confirm'],
  mKeysTitle: ['セキュリティキー', 'Security keys'],
  mKeysHelp: ['FIDO2 のセキュリティキーや、端末の生体認証を使えます。', "A FIDO2 security key, or your device's biometrics."],
  mKeyName: ['キーの名前', 'Key name'],
  mRegister: ['キーを登録', 'Register a key'],
  mCodesTitle: ['リカバリーコード', 'Recovery codes'],
  mCodesHelp: ['アプリやキーが使えないときに、1 回ずつ使えます。', 'Each works once, when your app or key is not at hand.'],
  mCodesShown: ['このコードは今だけ表示されます。安全な場所に保管してください。', 'These codes are shown only now. Keep them somewhere safe.'],
  mRegen: ['新しいコードを作る', 'Make new codes'],
  mContinue: ['ファイルへ進む', 'Continue to your files'],
  mNotLoggedIn: ['ログインしていないか、セッションが終了しました。', 'You are not logged in, or your session has ended.'],
  mRequired: ['テナントの設定により、2 段階認証の登録が必要です。認証アプリかセキュリティキーを登録すると先に進めます。',
    "Your tenant requires a second factor. Set up an authenticator app or a security key to continue."],
  mTotpOn: ['認証アプリ: 有効', 'Authenticator app: on'],
  mTotpOff: ['認証アプリ: 未設定', 'Authenticator app: not set up'],
  mKeysN: ['セキュリティキー: {n} 個', 'Security keys: {n}'],
  mCodesN: ['リカバリーコード: 残り {n} 個', 'Recovery codes: {n} left'],
  mPwFirst: ['まず現在のパスワードを入力してください。', 'Enter your current password first.'],
  mPwWrong: ['現在のパスワードが違います (ログインの失敗として数えられます)。', 'The current password is wrong (this counts as a failed login).'],
  mNotAllowed: ['テナントの設定により、この役割では 2 段階認証を使えません。', "Your tenant's policy does not offer a second factor to your role."],
  mTotpAlready: ['認証アプリはすでに有効です。', 'The authenticator app is on already.'],
  mTotpOnMsg: ['認証アプリを有効にしました (TOTP on)。', 'The authenticator app is on (TOTP on).'],
  mTotpRemoved: ['認証アプリを解除しました。', 'The authenticator app was removed.'],
  mCodeWrong: ['コードが違うか、期限切れです。アプリに今表示されているコードを入力してください。',
    'The code is wrong or expired. Enter the code the app shows now.'],
  mCodeEmpty: ['6 桁のコードを入力してください。', 'Enter the 6-digit code.'],
  mKeyRegistered: ['セキュリティキーを登録しました (registered)。', 'The security key is registered.'],
  mKeyNo: ['セキュリティキーが使われませんでした (キャンセルまたは時間切れ)。', 'The security key was not used (cancelled or timed out).'],
  mKeyRefused: ['セキュリティキーを確認できませんでした。', 'The security key could not be verified.'],
  mKeyDup: ['このキーはすでに登録されているか、登録数の上限です。', 'This key is registered already, or the limit of keys is reached.'],
  mKeyRemoved: ['セキュリティキーを削除しました。', 'The security key was removed.'],
  mKeyRemove: ['削除', 'Remove'],
  mKeyRemoveOf: ['削除: {n}', 'Remove {n}'],
  mKeyLine: ['{n} ({a}、使用回数 {c})', '{n} ({a}, counter {c})'],
  mNoKeys: ['登録されたキーはありません。', 'No keys registered.'],
  mCodesNew: ['新しいリカバリーコードを作りました。古いコードは使えなくなりました。', 'New recovery codes were made; the old ones no longer work.'],
  mCodesNeedFactor: ['リカバリーコードを作るには、先に認証アプリかキーを登録してください。', 'Set up an app or a key before making recovery codes.'],
});

const $ = (id) => document.getElementById(id);
let state = null;

function paintState() {
  if (!state) return;
  const d = state;
  $('state').replaceChildren(
    h('li', {}, t(d.totp.enrolled ? 'mTotpOn' : 'mTotpOff')),
    h('li', {}, t('mKeysN').replace('{n}', d.webauthn.count)),
    h('li', {}, t('mCodesN').replace('{n}', d.recovery_codes_remaining)));
  $('totp').textContent = t(d.totp.enrolled ? 'mTotpRemove' : 'mTotpSetup');
  $('totp').className = d.totp.enrolled ? 'plain' : '';
  // new recovery codes need a second factor to recover
  $('regen').hidden = !d.totp.enrolled && !d.webauthn.count;
  const list = $('keys');
  list.replaceChildren();
  if (!d.webauthn.credentials.length) list.append(h('li', { class: 'muted' }, t('mNoKeys')));
  for (const k of d.webauthn.credentials) {
    const line = t('mKeyLine').replace('{n}', k.name).replace('{a}', k.algorithm).replace('{c}', k.sign_count);
    list.append(h('li', { 'data-id': k.id }, h('span', {}, line), ' ',
      h('button', { type: 'button', class: 'remove plain', 'aria-label': t('mKeyRemoveOf').replace('{n}', k.name),
        onclick: () => removeKey(k) }, t('mKeyRemove'))));
  }
}

async function load() {
  const r = await call('GET', '/api/v1/me/mfa');
  if (r.status === 401) {
    $('body').hidden = true;
    show('gone', 'mNotLoggedIn');
    $('gone-link').hidden = false;
    $('gone-a').href = '/login?next=' + encodeURIComponent('/mfa' + location.search);
    return;
  }
  if (r.status !== 200) return generic('gone', r, []);
  state = r.data;
  $('body').hidden = false;
  show('required', state.enrolment_required ? 'mRequired' : null, null, 'warn');
  $('continue').hidden = state.enrolment_required;
  $('continue-a').href = nextPage();
  paintState();
  document.body.dataset.ready = '1';
}

setup(paintState);

// The current password for a change: an error when it is empty.
function password() {
  clear('password-err');
  const pw = $('password').value;
  if (!pw) fail('password-err', 'mPwFirst', null, ['password']);
  return pw;
}

// A refusal about the password or the policy: true when it was one of those.
function pwRefused(r) {
  if (r.status === 403 && /mfa-not-allowed$/.test(r.data.type || '')) {
    fail('password-err', 'mNotAllowed', null, []);
    return true;
  }
  if (r.status === 403 || r.status === 401) {
    fail('password-err', 'mPwWrong', null, ['password']);
    return true;
  }
  return false;
}

function showCodes(codes) {
  if (!codes) return;
  $('codes').textContent = codes.join('\n');
  $('codes-box').hidden = false;
}

$('totp').addEventListener('click', async () => {
  status(null);
  clear('code-err');
  const pw = password();
  if (!pw) return;
  if (state && state.totp.enrolled) {
    const d = await call('DELETE', '/api/v1/me/mfa/totp', { password: pw });
    if (pwRefused(d)) return;
    if (d.status !== 204) return generic('password-err', d, []);
    status('mTotpRemoved', null, 'ok');
    return load();
  }
  const o = await call('POST', '/api/v1/me/mfa/totp', { password: pw });
  if (pwRefused(o)) return;
  if (o.status === 409) return fail('password-err', 'mTotpAlready', null, []);
  if (o.status !== 201) return generic('password-err', o, []);
  const svg = new DOMParser().parseFromString(o.data.qr_svg, 'image/svg+xml').documentElement;
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  $('qr').replaceChildren(svg);
  $('secret').textContent = o.data.secret;
  $('totp-setup').hidden = false;
  $('totp-form').hidden = false;
  $('code').value = '';
  $('code').focus();
});

$('totp-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clear('code-err');
  const code = $('code').value.replace(/\s/g, '');
  if (!/^[0-9]{6}$/.test(code)) return fail('code-err', 'mCodeEmpty', null, ['code']);
  const c = await call('POST', '/api/v1/me/mfa/totp/confirm', { code });
  if (c.status === 400) return fail('code-err', 'mCodeWrong', null, ['code']);
  if (c.status !== 200) return generic('code-err', c, ['code']);
  $('totp-form').hidden = true;
  $('totp-setup').hidden = true;
  showCodes(c.data.recovery_codes);
  status('mTotpOnMsg', null, 'ok');
  await load();
  $('continue-a').focus();
});

$('register').addEventListener('click', async () => {
  status(null);
  clear('keys-err');
  const pw = password();
  if (!pw) return;
  const o = await call('POST', '/api/v1/me/mfa/webauthn/register', { password: pw });
  if (pwRefused(o)) return;
  if (o.status === 409) return fail('keys-err', 'mKeyDup', null, []);
  if (o.status !== 200) return generic('keys-err', o, []);
  let credential;
  try {
    credential = await create(o.data);
  } catch {
    return fail('keys-err', 'mKeyNo', null, []);
  }
  const f = await call('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: $('name').value, credential });
  if (f.status === 409) return fail('keys-err', 'mKeyDup', null, []);
  if (f.status === 400) return fail('keys-err', 'mKeyRefused', null, []);
  if (f.status !== 201) return generic('keys-err', f, []);
  showCodes(f.data.recovery_codes);
  status('mKeyRegistered', null, 'ok');
  await load();
});

async function removeKey(k) {
  status(null);
  clear('keys-err');
  const pw = password();
  if (!pw) return;
  const d = await call('DELETE', '/api/v1/me/mfa/webauthn/' + k.id, { password: pw });
  if (pwRefused(d)) return;
  if (d.status !== 204) return generic('keys-err', d, []);
  status('mKeyRemoved', null, 'ok');
  await load();
}

$('regen').addEventListener('click', async () => {
  status(null);
  clear('codes-err');
  const pw = password();
  if (!pw) return;
  const r = await call('POST', '/api/v1/me/recovery-codes', { password: pw });
  if (pwRefused(r)) return;
  if (r.status === 409) return fail('codes-err', 'mCodesNeedFactor', null, []);
  if (r.status !== 200) return generic('codes-err', r, []);
  showCodes(r.data.recovery_codes);
  status('mCodesNew', null, 'ok');
  await load();
});

load();
