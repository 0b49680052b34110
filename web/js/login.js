// Login page: password step, then the second factor (security key, TOTP or recovery code),
// and the change of a first (one-time) password.
import { $, T, api, reason, say } from './kura.js';
import { get } from './webauthn.js';

let challenge = null;

const show = (id, focus) => {
  $(id).hidden = false;
  if (focus) $(focus).focus();
};

async function done(data) {
  sessionStorage.setItem('kura_csrf', data.csrf_token);
  $('second').hidden = true;
  $('form').hidden = true;
  const m = await api('GET', '/api/v1/me/mfa');
  if (data.account.must_change_password) {
    show('pw-form', 'new-pw');
    say(T.pwMustChange);
    return;
  }
  if (m.status === 200 && m.data.enrolment_required) {
    location.assign('/mfa');
    return;
  }
  $('status').textContent = 'logged-in';
  say(T.loggedIn);
  location.assign(nextPage());
}

// Where the user was when the session ended (?next=/files?folder=7), or the file view.
// Only a path of this site: "//host" and "/\\host" would leave it.
function nextPage() {
  const n = new URLSearchParams(location.search).get('next');
  return n && /^\/[A-Za-z]/.test(n) && !n.startsWith('/login') ? n : '/files';
}

async function second(body) {
  const r = await api('POST', '/api/v1/session', { challenge, ...body });
  if (r.status === 201) return done(r.data);
  say(T.secondRefused);
}

async function useKey(options) {
  try {
    await second({ webauthn: await get(options) });
  } catch (e) {
    say(T.keyNoAnswer, e.name);
  }
}

$('pw-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if ($('new-pw').value !== $('new-pw2').value) {
    say(T.pwDiffer);
    return;
  }
  const r = await api('POST', '/api/v1/me/password',
    { current_password: $('password').value, new_password: $('new-pw').value });
  if (r.status !== 204) {
    say(T.pwChangeRefused, reason(r));
    return;
  }
  $('pw-form').hidden = true;
  $('password').value = '';
  const me = await api('GET', '/api/v1/me');
  return done({ csrf_token: sessionStorage.getItem('kura_csrf'), account: me.data });
});

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await api('POST', '/api/v1/session',
    { tenant: $('tenant').value, login: $('login').value, password: $('password').value });
  if (r.status === 201) return done(r.data);
  if (r.status !== 202) {
    say(T.loginFailed);
    return;
  }
  challenge = r.data.challenge;
  $('form').hidden = true;
  show('second', 'otp');
  if (r.data.webauthn) {
    $('key').hidden = false;
    $('key').onclick = () => useKey(r.data.webauthn);
    useKey(r.data.webauthn);
  }
});

$('otp-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('otp').value.trim();
  second(/^[0-9]{6}$/.test(v) ? { otp: v } : { recovery_code: v });
});
