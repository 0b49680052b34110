// Invitation page: shows whom the link is for and sets the password.
import { $, T, api, pathToken, reason, say } from './kura.js';

const path = '/api/v1/invitations/' + encodeURIComponent(pathToken());

async function load() {
  const r = await api('GET', path);
  if (!r.ok) {
    say(T.invitationInvalid);
    return;
  }
  $('who').textContent = `テナント / Tenant: ${r.data.tenant} — ログイン ID / Login: ${r.data.login}`;
  $('form').hidden = false;
  $('pw').focus();
}

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if ($('pw').value !== $('pw2').value) {
    say(T.pwDiffer);
    return;
  }
  const r = await api('POST', path, { password: $('pw').value });
  if (r.status === 204) {
    $('form').hidden = true;
    say(T.pwSet);
    return;
  }
  say(T.pwSetRefused, reason(r));
});

load();
