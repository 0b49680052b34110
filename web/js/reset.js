// Password reset page. At /reset: the request form (tenant and login), answered with one
// message whether or not the account exists (the server answers 202 either way). At
// /reset/<token> (the mailed link): whether the link still works, asked before a password is
// typed (used, expired or invalid each say so), the password rules, then done.
import { call, clear, fail, filled, generic, providerZone, pwProblem, rules, setup, show, status,
  strings, t, timeText } from './outer.js';
import { pathToken } from './kura.js';

strings({
  rAskIntro: ['テナントとログイン ID を入力すると、アカウントのメールアドレスに再設定用のリンクを送ります。',
    "Enter your tenant and login ID, and a link to reset your password is mailed to your account's address."],
  rAskSubmit: ['リンクを送る', 'Send the link'],
  rSent: ['受け付けました。アカウントがあれば、登録されたメールアドレスに再設定用のリンクを送りました (30 分間有効)。届かない場合は管理者に連絡してください。',
    'Received. If the account exists, a reset link has been mailed to its address (valid for 30 minutes). If nothing arrives, contact your manager.'],
  rSubmit: ['設定する', 'Set password'],
  rLogin: ['ログインする', 'Log in'],
  rAgain: ['新しいリンクを依頼する', 'Ask for a new link'],
  rValid: ['このリンクの有効期限: {t}', 'This link works until {t}'],
  rUsed: ['このリンクはすでに使われたか、新しいリンクに置き換えられています。', 'This link has been used already, or a newer link replaced it.'],
  rExpired: ['このリンクの有効期限 (30 分) が切れています。新しいリンクを依頼してください。', 'This link has expired (it works for 30 minutes). Ask for a new one.'],
  rInvalid: ['このリンクは無効です。メールのリンクを、途中で切れないようにそのまま開いてください。',
    'This link is not valid. Open the link from the mail exactly as it is, in one piece.'],
  rDone: ['パスワードを変更しました。新しいパスワードでログインしてください。ほかの端末のセッションは終了しました。',
    'Your password is changed. Log in with the new one; your sessions elsewhere have ended.'],
});

const $ = (id) => document.getElementById(id);
const token = location.pathname.startsWith('/reset/') ? pathToken() : '';
const path = '/api/v1/password-reset/' + encodeURIComponent(token);
const GONE = { used: 'rUsed', expired: 'rExpired', invalid: 'rInvalid' };

setup();

function gone(r) {
  $('form').hidden = true;
  show('gone', GONE[r.data && r.data.reason] || 'rInvalid');
  $('again').hidden = false;
}

async function load() {
  if (!token) {
    $('ask').hidden = false;
    $('tenant').focus();
    document.body.dataset.ready = '1';
    return;
  }
  const [r] = await Promise.all([call('GET', path), providerZone()]);
  if (r.status === 410) return gone(r);
  if (!r.ok) return generic('gone', r, []);
  show('valid', () => t('rValid').replace('{t}', timeText(r.data.expires_at)));
  $('form').hidden = false;
  $('pw').focus();
  document.body.dataset.ready = '1';
}

const check = rules('rules', 'pw', 'pw2', () => '');

$('ask').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clear('ask-err');
  if (!filled('ask-err', ['tenant', 'login'])) return;
  const r = await call('POST', '/api/v1/password-reset', { tenant: $('tenant').value.trim(), login: $('login').value.trim() });
  if (r.status !== 202) return generic('ask-err', r, ['tenant']);
  $('ask').hidden = true;
  status('rSent', null, 'ok');
});

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clear('form-err');
  const pw = $('pw').value, n = [...pw].length;
  if (n < 12) return fail('form-err', 'oPwTooShort', null, ['pw']);
  if (n > 128) return fail('form-err', 'oPwTooLong', null, ['pw']);
  if (pw !== $('pw2').value || !check()) return fail('form-err', 'oPwDiffer', null, ['pw2']);
  const r = await call('POST', path, { password: pw });
  if (r.status === 410) return gone(r);
  if (r.status === 400 && /weak-password$/.test(r.data.type || '')) return fail('form-err', pwProblem(r), null, ['pw']);
  if (r.status !== 204) return generic('form-err', r, ['pw']);
  $('form').hidden = true;
  status('rDone', null, 'ok');
  $('next').hidden = false;
  $('next-a').focus();
});

load();
