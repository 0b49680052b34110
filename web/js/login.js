// Login page: the password step, then the second factor (security key, TOTP or recovery
// code), and the change of a first (one-time) password. Each outcome has its own message:
// a wrong tenant, login or password (one message for all three, with the tries left before
// the lock: the server counts names without an account the same way, docs/security.md
// "Remaining tries"), a lock (until when), an address outside the tenant's networks, too
// many attempts from this address, an ended session (?next=), the second step (a wrong
// code with the tries left, an expired step, a lock), a recovery code used (how many are
// left). After login: the file view, or ?next= when it is a path of this site.
import { get } from './webauthn.js';
import { call, clear, fail, filled, generic, nextPage, providerZone, pwProblem, rules, setup, show,
  status, strings, t, timeText } from './outer.js';

strings({
  lSubmit: ['ログイン', 'Log in'],
  lForgot: ['パスワードを忘れた場合', 'Forgot your password?'],
  lSecondTitle: ['2 段階目の確認', 'Second step'],
  lUseKey: ['セキュリティキーを使う', 'Use a security key'],
  lOtp: ['確認コード (6 桁) またはリカバリーコード', '6-digit code or recovery code'],
  lOtpHelp: ['認証アプリに表示されている 6 桁の数字、またはリカバリーコードを入力します。',
    'The 6 digits your authenticator app shows, or one of your recovery codes.'],
  lVerify: ['確認', 'Verify'],
  lRestart: ['最初からやり直す', 'Start over'],
  lRecoveredTitle: ['リカバリーコードを使いました', 'Recovery code used'],
  lNewCodes: ['新しいリカバリーコードを作る', 'Make new recovery codes'],
  lContinue: ['続ける', 'Continue'],
  lPwTitle: ['新しいパスワード', 'New password'],
  lPwMust: ['初回のパスワードは変更が必要です。', 'The first password must be changed.'],
  lChange: ['変更する', 'Change'],
  lWrong: ['テナント、ログイン ID またはパスワードが違います。あと {n} 回間違えるとロックされます。',
    'The tenant, login ID or password is wrong. {n} more wrong tries and the account is locked.'],
  lWrongLast: ['テナント、ログイン ID またはパスワードが違います。次に間違えるとロックされます。',
    'The tenant, login ID or password is wrong. One more wrong try and the account is locked.'],
  lWrongPlain: ['テナント、ログイン ID またはパスワードが違います。', 'The tenant, login ID or password is wrong.'],
  lLocked: ['失敗が続いたため、ロックされています。{t} に解除されます (管理者も解除できます)。',
    'Locked after too many failed tries, until {t} (a manager can unlock it sooner).'],
  lBusy: ['試行が多すぎます。しばらく待ってからもう一度お試しください。', 'Too many tries. Wait a while and try again.'],
  lIp: ['このネットワークからはログインできません (テナントが許可したアドレスではありません)。管理者に確認してください。',
    "You cannot log in from this network: its address is not among the tenant's allowed ones. Ask your manager."],
  lThrottled: ['このアドレスからの失敗が多すぎます。{n} 秒待ってからもう一度お試しください。',
    'Too many failed tries from your address. Wait {n} seconds and try again.'],
  lTooLong: ['入力が長すぎます。', 'An entry is too long.'],
  lSecondHelpTotp: ['認証アプリの確認コードを入力してください。', 'Enter the code of your authenticator app.'],
  lSecondHelpKey: ['セキュリティキーを使うか、確認コードを入力してください。', 'Use your security key, or enter a code.'],
  lSecondHelpRecovery: ['認証アプリやキーがないときは、リカバリーコードを使えます。',
    'Without your app or key, a recovery code works too.'],
  lCodeWrong: ['コードが違います。あと {n} 回間違えるとロックされます。', 'The code is wrong. {n} more wrong tries and the account is locked.'],
  lCodeWrongLast: ['コードが違います。次に間違えるとロックされます。', 'The code is wrong. One more wrong try and the account is locked.'],
  lExpired: ['確認の時間が過ぎました (5 分)。もう一度パスワードからログインしてください。',
    'The second step has expired (5 minutes). Log in again from the password.'],
  lKeyNo: ['セキュリティキーが使われませんでした (キャンセルまたは時間切れ)。もう一度試すか、コードを入力してください。',
    'The security key was not used (cancelled or timed out). Try again, or enter a code.'],
  lKeyRefused: ['このセキュリティキーは確認できませんでした。あと {n} 回間違えるとロックされます。',
    'The security key was not accepted. {n} more wrong tries and the account is locked.'],
  lRecovered: ['リカバリーコードでログインしました。残りは {n} 個です。使ったコードはもう使えません。',
    'Logged in with a recovery code. {n} codes are left; the one you used is spent.'],
  lRecoveredLow: ['リカバリーコードでログインしました。残りは {n} 個です。新しいコードを作ってください。',
    'Logged in with a recovery code. Only {n} codes are left: make new ones.'],
  lLoggedIn: ['ログインしました。', 'Logged in.'],
  lPwMustChange: ['パスワードを変更してください。', 'Change your password.'],
  lWorking: ['確認しています…', 'Checking…'],
});

const $ = (id) => document.getElementById(id);
let challenge = null, pending = false;

setup();
if (new URLSearchParams(location.search).has('next')) show('notice', 'oSessionEnded', null, 'info');
providerZone();
$('tenant').focus();

const lockedText = (until) => () => t('lLocked').replace('{t}', timeText(until));

// A refusal of either step, with where the login stands (the 401's remaining, locked_until).
function refused(errId, r, fields, wrongKey, lastKey) {
  const d = r.data || {};
  if (r.status === 401 && d.locked_until) return fail(errId, lockedText(d.locked_until), null, fields);
  if (r.status === 401 && typeof d.remaining === 'number') {
    if (d.remaining === 0) return fail(errId, 'lBusy', null, fields);
    return fail(errId, d.remaining === 1 ? lastKey : wrongKey, { n: d.remaining }, fields);
  }
  if (r.status === 401) return fail(errId, 'lWrongPlain', null, fields);
  if (r.status === 403 && /ip-not-allowed$/.test(d.type || '')) return fail(errId, 'lIp', null, fields);
  if (r.status === 429) return fail(errId, 'lThrottled', { n: r.retryAfter || 5 }, fields);
  if (r.status === 400) return fail(errId, 'lTooLong', null, fields);
  return generic(errId, r, fields);
}

function toPasswordStep(errKey) {
  challenge = null;
  $('second').hidden = true;
  $('form').hidden = false;
  $('password').value = '';
  clear('otp-err');
  if (errKey) fail('form-err', errKey, null, ['password']);
  else $('password').focus();
}

async function done(data, method) {
  sessionStorage.setItem('kura_csrf', data.csrf_token);
  show('notice', null);
  $('second').hidden = true;
  $('form').hidden = true;
  if (data.account.must_change_password) {
    $('pw-form').hidden = false;
    status('lPwMustChange');
    $('new-pw').focus();
    return;
  }
  const m = await call('GET', '/api/v1/me/mfa');
  if (m.status === 200 && m.data.enrolment_required) {
    location.assign('/mfa' + location.search);
    return;
  }
  if (method === 'recovery_code' && typeof data.recovery_codes_remaining === 'number') {
    const n = data.recovery_codes_remaining;
    $('recovered').hidden = false;
    show('recovered-msg', n <= 3 ? 'lRecoveredLow' : 'lRecovered', { n }, n <= 3 ? 'warn' : 'info');
    $('recovered-go').href = nextPage();
    $('recovered-new').href = '/mfa?next=' + encodeURIComponent(nextPage());
    (n <= 3 ? $('recovered-new') : $('recovered-go')).focus();
    return;
  }
  $('status').textContent = 'logged-in';
  status('lLoggedIn', null, 'ok');
  location.assign(nextPage());
}

async function second(body, method) {
  if (pending) return;
  pending = true;
  clear('otp-err');
  const r = await call('POST', '/api/v1/session', { challenge, ...body });
  pending = false;
  if (r.status === 201) return done(r.data, method);
  if (r.status === 401 && /challenge-expired$/.test(r.data.type || '')) return toPasswordStep('lExpired');
  const wrong = method === 'webauthn' ? 'lKeyRefused' : 'lCodeWrong';
  refused('otp-err', r, ['otp'], wrong, method === 'webauthn' ? 'lKeyRefused' : 'lCodeWrongLast');
  $('otp').select();
}

async function useKey(options) {
  let assertion;
  try {
    assertion = await get(options);
  } catch {
    fail('otp-err', 'lKeyNo', null, ['otp']);
    return;
  }
  await second({ webauthn: assertion }, 'webauthn');
}

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (pending) return;
  clear('form-err');
  if (!filled('form-err', ['tenant', 'login', 'password'])) return;
  pending = true;
  status('lWorking');
  const r = await call('POST', '/api/v1/session',
    { tenant: $('tenant').value.trim(), login: $('login').value.trim(), password: $('password').value });
  pending = false;
  status(null);
  if (r.status === 201) return done(r.data, 'password');
  if (r.status !== 202) {
    refused('form-err', r, ['password', 'tenant', 'login'], 'lWrong', 'lWrongLast');
    $('password').select();
    return;
  }
  challenge = r.data.challenge;
  $('form').hidden = true;
  $('second').hidden = false;
  const methods = r.data.methods || [];
  show('second-help', () => [methods.includes('webauthn') ? t('lSecondHelpKey') : t('lSecondHelpTotp'),
    methods.includes('recovery_code') ? t('lSecondHelpRecovery') : ''].join(' ').trim());
  $('otp').value = '';
  $('otp').focus();
  if (r.data.webauthn) {
    $('key').hidden = false;
    $('key').onclick = () => useKey(r.data.webauthn);
    useKey(r.data.webauthn);
  } else {
    $('key').hidden = true;
  }
});

$('otp-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('otp').value.trim();
  if (!filled('otp-err', ['otp'])) return;
  if (/^[0-9]{6}$/.test(v.replace(/\s/g, ''))) second({ otp: v.replace(/\s/g, '') }, 'totp');
  else second({ recovery_code: v }, 'recovery_code');
});

$('restart').addEventListener('click', () => toPasswordStep(null));

const check = rules('pw-rules', 'new-pw', 'new-pw2', () => $('login').value.trim());

$('pw-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clear('pw-err');
  const n = [...$('new-pw').value].length;
  if (n < 12) return fail('pw-err', 'oPwTooShort', null, ['new-pw']);
  if ($('new-pw').value !== $('new-pw2').value) return fail('pw-err', 'oPwDiffer', null, ['new-pw2']);
  if (!check()) return fail('pw-err', 'oPwIsLogin', null, ['new-pw']);
  const r = await call('POST', '/api/v1/me/password',
    { current_password: $('password').value, new_password: $('new-pw').value });
  if (r.status === 400 && /weak-password$/.test(r.data.type || '')) return fail('pw-err', pwProblem(r), null, ['new-pw']);
  if (r.status !== 204) return generic('pw-err', r, ['new-pw']);
  $('pw-form').hidden = true;
  $('password').value = '';
  const me = await call('GET', '/api/v1/me');
  return done({ csrf_token: sessionStorage.getItem('kura_csrf'), account: me.data }, 'password');
});
