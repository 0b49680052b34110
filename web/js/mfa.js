// Second factors of the logged-in account: security keys (WebAuthn), TOTP, recovery codes.
import { $, T, api, reason, say, text } from './kura.js';
import { create } from './webauthn.js';

const showCodes = (codes) => {
  if (codes) $('codes').textContent = codes.join('\n');
};

async function load() {
  const r = await api('GET', '/api/v1/me/mfa');
  if (r.status !== 200) {
    say(T.loginFirst);
    return;
  }
  const d = r.data;
  $('continue').hidden = d.enrolment_required;
  const on = d.totp.enrolled;
  const must = (i) => (d.enrolment_required ? ' — ' + T.enrolmentRequired[i] : '');
  // one line in Japanese, one in English (#state keeps the line break)
  $('state').textContent =
    `認証アプリ ${on ? '有効' : '無効'}、セキュリティキー ${d.webauthn.count} 個、` +
    `リカバリーコード 残り ${d.recovery_codes_remaining}${must(0)}\n` +
    `TOTP: ${on ? 'on' : 'off'}, keys: ${d.webauthn.count}, recovery codes: ${d.recovery_codes_remaining}${must(1)}`;
  const list = $('keys');
  list.replaceChildren();
  for (const k of d.webauthn.credentials) {
    const li = document.createElement('li');
    li.dataset.id = k.id;
    li.textContent = `${k.name} (${k.algorithm}, counter ${k.sign_count}) `;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text(T.keyRemove);
    b.className = 'remove';
    b.onclick = async () => {
      const del = await api('DELETE', '/api/v1/me/mfa/webauthn/' + k.id, { password: $('password').value });
      if (del.status === 204) say(T.keyRemoved);
      else say(T.keyNotRemoved, reason(del));
      load();
    };
    li.append(b);
    list.append(li);
  }
}

$('register').addEventListener('click', async () => {
  const o = await api('POST', '/api/v1/me/mfa/webauthn/register', { password: $('password').value });
  if (o.status !== 200) {
    say(T.notStarted, reason(o));
    return;
  }
  try {
    const credential = await create(o.data);
    const f = await api('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: $('name').value, credential });
    if (f.status !== 201) {
      say(T.keyNotRegistered, reason(f));
      return;
    }
    showCodes(f.data.recovery_codes);
    say(T.keyRegistered);
    $('continue').hidden = false;
  } catch (e) {
    say(T.keyNoAnswer, e.name);
  }
  load();
});

$('totp').addEventListener('click', async () => {
  const o = await api('POST', '/api/v1/me/mfa/totp', { password: $('password').value });
  if (o.status !== 201) {
    say(T.notStarted, reason(o));
    return;
  }
  const svg = new DOMParser().parseFromString(o.data.qr_svg, 'image/svg+xml').documentElement;
  $('qr').replaceChildren(svg);
  $('secret').textContent = o.data.secret;
  $('totp-form').hidden = false;
  $('code').focus();
});

$('totp-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const c = await api('POST', '/api/v1/me/mfa/totp/confirm', { code: $('code').value.trim() });
  if (c.status !== 200) {
    say(T.totpNotConfirmed, reason(c));
    return;
  }
  $('totp-form').hidden = true;
  showCodes(c.data.recovery_codes);
  say(T.totpOn);
  $('continue').hidden = false;
  load();
});

load();
