// Invitation page: whom the link is for and until when it works, the password rules before
// submitting, then the password; after it, the new account logs in at once and goes on to
// the second-factor enrolment (when the tenant's policy requires one) or into the portal.
// A link that no longer works says why: used, expired or invalid (the 410's reason).
import { call, clear, fail, fmtTime, generic, providerZone, pwProblem, rules, setup, show, status,
  strings } from './outer.js';
import { pathToken } from './kura.js';

strings({
  iIntro: ['kura に招待されました。パスワードを決めると、アカウントが使えるようになります。',
    'You have been invited to kura. Choose a password to start using your account.'],
  iExpires: ['リンクの有効期限', 'Link valid until'],
  iSubmit: ['設定する', 'Set password'],
  iLogin: ['ログインする', 'Log in'],
  iUsed: ['この招待はすでに使われています。パスワードを設定済みならログインしてください。',
    'This invitation has been used already. If you set your password, log in.'],
  iExpired: ['この招待の有効期限が切れています。管理者に新しい招待を依頼してください。',
    'This invitation has expired. Ask your manager for a new one.'],
  iInvalid: ['この招待リンクは無効です。メールのリンクを、途中で切れないようにそのまま開いてください。',
    'This invitation link is not valid. Open the link from the mail exactly as it is, in one piece.'],
  iDone: ['パスワードを設定しました。ログインしています…', 'Your password is set. Logging you in…'],
  iDoneLogin: ['パスワードを設定しました。ログインしてください。', 'Your password is set. Log in with it.'],
});

const $ = (id) => document.getElementById(id);
const path = '/api/v1/invitations/' + encodeURIComponent(pathToken());
const GONE = { used: 'iUsed', expired: 'iExpired', invalid: 'iInvalid' };
let who = null;

setup();

function gone(r) {
  $('form').hidden = true;
  $('who').hidden = true;
  $('intro').hidden = true;
  show('gone', GONE[r.data && r.data.reason] || 'iInvalid');
  $('done').hidden = r.data && r.data.reason !== 'used';
}

async function load() {
  const [r] = await Promise.all([call('GET', path), providerZone()]);
  if (r.status === 410 || r.status === 404) return gone(r);
  if (!r.ok) return generic('gone', r, []);
  who = r.data;
  $('who-tenant').textContent = who.tenant;
  $('who-login').textContent = who.login;
  show('who-expires', () => fmtTime(who.expires_at));
  $('who').hidden = false;
  $('form').hidden = false;
  $('pw').focus();
  document.body.dataset.ready = '1';
}

const check = rules('rules', 'pw', 'pw2', () => (who ? who.login : ''));

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clear('form-err');
  const pw = $('pw').value, n = [...pw].length;
  if (n < 12) return fail('form-err', 'oPwTooShort', null, ['pw']);
  if (n > 128) return fail('form-err', 'oPwTooLong', null, ['pw']);
  if (pw !== $('pw2').value) return fail('form-err', 'oPwDiffer', null, ['pw2']);
  if (!check()) return fail('form-err', 'oPwIsLogin', null, ['pw']);
  $('submit').disabled = true;
  const r = await call('POST', path, { password: pw });
  $('submit').disabled = false;
  if (r.status === 410) return gone(r);
  if (r.status === 400 && /weak-password$/.test(r.data.type || '')) return fail('form-err', pwProblem(r), null, ['pw']);
  if (r.status !== 204) return generic('form-err', r, ['pw']);
  $('form').hidden = true;
  status('iDone', null, 'ok');
  // on into the account: the enrolment of a second factor, or the portal
  const s = await call('POST', '/api/v1/session', { tenant: who.tenant, login: who.login, password: pw });
  if (s.status === 201) {
    sessionStorage.setItem('kura_csrf', s.data.csrf_token);
    const m = await call('GET', '/api/v1/me/mfa');
    location.assign(m.status === 200 && m.data.enrolment_required ? '/mfa' : '/files');
    return;
  }
  status('iDoneLogin', null, 'ok');
  $('done').hidden = false;
  $('done-a').focus();
});

load();
