// Password reset page: sets the password with the token of the mailed link.
import { $, T, api, pathToken, reason, say } from './kura.js';

const path = '/api/v1/password-reset/' + encodeURIComponent(pathToken());

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if ($('pw').value !== $('pw2').value) {
    say(T.pwDiffer);
    return;
  }
  const r = await api('POST', path, { password: $('pw').value });
  if (r.status === 204 || r.status === 410) {
    $('form').hidden = true;
    say(r.status === 204 ? T.pwSet : T.resetInvalid);
    return;
  }
  say(T.pwSetRefused, reason(r));
});
