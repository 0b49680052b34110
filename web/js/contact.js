// Contact confirmation page (/contact-confirm/<token>, the mailed link): a button, so that
// a mail scanner that opens links confirms nothing; the POST uses the token once.
import { $, api, pathToken, reason, say } from './kura.js';

const M = {
  confirmed: ['確認しました。このアドレスにお知らせが届きます: ', 'Confirmed. Notices will reach '],
  invalid: ['このリンクは無効、使用済み、または期限切れです。', 'This link is unknown, used or expired.'],
  failed: ['確認できませんでした: ', 'Not confirmed: '],
};

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await api('POST', '/api/v1/contact-confirmations/' + encodeURIComponent(pathToken()));
  if (r.ok) {
    $('form').hidden = true;
    say(M.confirmed, r.data.email);
  } else if (r.status === 404) {
    say(M.invalid);
  } else {
    say(M.failed, reason(r));
  }
});
