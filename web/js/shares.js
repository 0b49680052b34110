// Sharing: the share dialog (a download link to a file or folder with password, expiry,
// download limit, first-download notice and recipients, who are mailed the link; or an
// upload-request link into a folder), and the list of share links with their access
// counts, each link's recipients and mail states, its access log (time in the tenant's
// zone, address, action, result) and revoke.
import { api, btn, field, fmtTime, h, reason, say, st, strings, t, table, zone } from './ui.js';

strings({
  shNotify: ['最初のダウンロード時に私にメールする', 'Mail me at the first download'],
  shUploadHelp: ['アップロード依頼: 受け取った人はこのフォルダーにファイルを送れます (中は見えません)。',
    'Upload request: whoever has the link can send files into this folder (without seeing its content).'],
  shPolicy: ['テナントの上限: {n} 日', "The tenant's maximum: {n} days"],
  shCopy: ['コピー', 'Copy'], shCopied: ['コピーしました。', 'Copied.'],
  shMailedTo: ['リンクを次の宛先にメールしました (パスワードはメールに含まれません):',
    'The link was mailed to (the password is never in the mail):'],
  shNotMailed: ['メールは送っていません。このアドレスを自分で伝えてください。',
    'No mail was sent: pass this address on yourself.'],
  shPwApart: ['パスワードは別の方法 (電話など) で伝えてください。', 'Give the password another way (by phone, for instance).'],
  shRefresh: ['メールの状態を更新', 'Refresh mail states'],
  shValid: ['有効期限: ', 'Valid until: '],
  shLimit: ['ダウンロード上限: ', 'Download limit: '],
  shAccesses: ['アクセス数', 'Accesses'],
  shAccessLog: ['アクセスログ', 'Access log'],
  shAccessOf: ['アクセスログ: ', 'Access log: '],
  shNoAccess: ['まだアクセスはありません。', 'No access yet.'],
  shTimesIn: ['時刻: {zone}', 'Times in {zone}'],
  acView: ['表示', 'viewed'], acUnlock: ['パスワード入力', 'password entered'], acDownload: ['ダウンロード', 'download'],
  acHead: ['確認 (HEAD)', 'checked (HEAD)'], acNotModified: ['確認 (未変更)', 'checked (not modified)'],
  acUpload: ['アップロード', 'upload'], acRefused: ['拒否', 'refused'],
  rsWrongPassword: ['パスワード誤り', 'wrong password'], rsPasswordRequired: ['パスワード未入力', 'password required'],
  rsLocked: ['ロック中', 'locked'], rsExpired: ['期限切れ', 'expired'], rsRevoked: ['取り消し済み', 'revoked'],
  rsLimitReached: ['上限到達', 'limit reached'], rsDeleted: ['削除済み', 'item deleted'], rsOther: ['その他', 'other'],
  rsNowLocked: ['このためロック', 'link locked'],
});

const ACTION = { view: 'acView', unlock: 'acUnlock', download: 'acDownload', head: 'acHead',
  not_modified: 'acNotModified', upload: 'acUpload', refused: 'acRefused' };
const REASON = { 'wrong-password': 'rsWrongPassword', 'password-required': 'rsPasswordRequired', locked: 'rsLocked',
  expired: 'rsExpired', revoked: 'rsRevoked', 'limit-reached': 'rsLimitReached', deleted: 'rsDeleted', other: 'rsOther' };
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

// Recipients and the state of each one's mail, as the share's JSON has them.
const mailRows = (rc) => rc.map((x) => h('tr', { 'data-email': x.email }, h('td', {}, h('bdi', {}, x.email)),
  h('td', { 'data-state': x.mail ? x.mail.state : '' }, x.mail ? st(x.mail.state) : '—'),
  h('td', {}, x.mail ? String(x.mail.attempts) : ''), h('td', {}, x.mail ? fmtTime(x.mail.sent_at) : '—')));

export async function shareDialog(item) {
  const dlg = document.getElementById('dialog');
  const body = document.getElementById('dialog-body');
  const pol = await api('GET', '/api/v1/tenant/share-policy');
  const maxDays = pol.ok ? Math.max(1, Math.floor(pol.data.max_expiry_s / 86400)) : 30;
  const defDays = pol.ok ? Math.max(1, Math.round(pol.data.default_expiry_s / 86400)) : 7;
  const kind = h('select', { id: 'share-kind' }, h('option', { value: 'download' }, t('kindDownload')),
    item.kind === 'folder' ? h('option', { value: 'upload' }, t('kindUpload')) : null);
  const pw = h('input', { id: 'share-password', type: 'password', autocomplete: 'new-password', maxlength: 128 });
  const days = h('input', { id: 'share-days', type: 'number', min: 1, max: maxDays, value: Math.min(defDays, maxDays),
    'aria-describedby': 'share-days-help' });
  const max = h('input', { id: 'share-max', type: 'number', min: 1, max: 1000000 });
  const notify = h('input', { id: 'share-notify', type: 'checkbox' });
  const to = h('textarea', { id: 'share-recipients', rows: 3 });
  const out = h('div', { id: 'share-result', role: 'status' });
  const maxField = field(t('maxDownloads'), max);
  const notifyField = h('label', { class: 'check' }, notify, ' ', t('shNotify'));
  const upHelp = h('p', { class: 'muted', hidden: true }, t('shUploadHelp'));
  kind.addEventListener('change', () => {
    const up = kind.value === 'upload';
    maxField.hidden = up;
    notifyField.hidden = up;
    upHelp.hidden = !up;
  });
  const form = h('form', { id: 'share-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const b = { node_id: item.id, kind: kind.value, expires_in_s: Math.round(Number(days.value) * 86400) };
    if (pw.value) b.password = pw.value;
    if (kind.value === 'download') {
      if (max.value) b.max_downloads = Number(max.value);
      if (notify.checked) b.notify_on_download = true;
    }
    const rc = to.value.split(/[\s,;]+/).filter(Boolean);
    if (rc.length) b.recipients = rc;
    const r = await api('POST', '/api/v1/shares', b);
    if (!r.ok) { out.textContent = t('refused') + reason(r); return; }
    const s = r.data;
    const url = h('input', { id: 'share-url', readonly: true, value: s.url, 'aria-label': 'URL' });
    const copy = btn(t('shCopy'), async () => {
      url.select();
      try { await navigator.clipboard.writeText(s.url); say(t('shCopied')); } catch { /* selected for Ctrl+C */ }
    }, 'plain');
    const tbody = h('tbody', {}, mailRows(s.recipients || []));
    const refresh = btn(t('shRefresh'), async () => {
      const x = await api('GET', `/api/v1/shares/${s.id}`);
      if (x.ok) tbody.replaceChildren(...mailRows(x.data.recipients || []));
    }, 'plain');
    const mailed = (s.recipients || []).length;
    out.replaceChildren(h('p', {}, t('linkMade')), h('div', { class: 'row' }, url, copy),
      h('p', { id: 'share-summary' }, t('shValid'), fmtTime(s.expires_at),
        s.max_downloads ? ` · ${t('shLimit')}${s.max_downloads}` : ''),
      mailed ? h('div', { id: 'share-mailed' }, h('p', {}, t('shMailedTo')),
        table([t('recipient'), t('state'), t('attempts'), t('sentAt')], tbody), refresh)
        : h('p', { id: 'share-mailed' }, t('shNotMailed')),
      s.password ? h('p', { class: 'warn' }, t('shPwApart')) : null);
    form.querySelector('button[type=submit]').disabled = true;
    url.focus();
    url.select();
  } },
  h('h2', { id: 'dialog-title' }, t('shareTitle')),
  h('p', {}, t('shareOf'), h('bdi', {}, item.name)),
  field(t('linkKind'), kind), upHelp, field(t('optionalPw'), pw),
  h('label', {}, t('expiryDays'), days, h('small', { id: 'share-days-help', class: 'muted' }, fill(t('shPolicy'), { n: maxDays }))),
  maxField, field(t('recipients'), to), notifyField,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('createLink')),
    btn(t('close'), () => dlg.close(), 'plain')), out);
  dlg.classList.remove('wide');
  body.replaceChildren(form);
  dlg.showModal();
  kind.focus();
}

// The access log of link s in the dialog: oldest first, paged by next_after.
async function accessLog(s) {
  const dlg = document.getElementById('dialog');
  const body = document.getElementById('dialog-body');
  const tbody = h('tbody');
  const more = btn(t('more'), () => page(), 'plain');
  let after = null;
  const page = async () => {
    const p = new URLSearchParams({ limit: 100 });
    if (after) p.set('after', after);
    const r = await api('GET', `/api/v1/shares/${s.id}/access?${p}`);
    if (!r.ok) { say(t('refused'), reason(r)); return false; }
    for (const a of r.data.items) {
      const what = [t(ACTION[a.action] || a.action)];
      if (a.name) what.push(': ', h('bdi', {}, a.name));
      if (a.wanted && a.action === 'refused') what.push(` (${t(ACTION[a.wanted] || a.wanted)})`);
      const res = [st(a.result)];
      if (a.reason) res.push(' — ', t(REASON[a.reason] || 'rsOther'));
      if (a.locked) res.push(' — ', t('rsNowLocked'));
      tbody.append(h('tr', { 'data-action': a.action, 'data-result': a.result, 'data-reason': a.reason || '' },
        h('td', {}, h('time', { datetime: a.time }, fmtTime(a.time))), h('td', { class: 'addr' }, a.address || '—'),
        h('td', {}, what), h('td', { class: 'result-' + a.result }, res)));
    }
    after = r.data.next_after;
    more.hidden = !after;
    return true;
  };
  if (!(await page())) return;
  if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: 4 }, t('shNoAccess'))));
  body.replaceChildren(h('h2', { id: 'dialog-title', tabindex: -1 }, t('shAccessOf'), h('bdi', {}, s.name || '—')),
    h('p', { class: 'muted', id: 'access-zone' }, fill(t('shTimesIn'), { zone })),
    h('div', { id: 'access-log' }, table([t('time'), t('address'), t('action'), t('result')], tbody)), more,
    h('div', { class: 'actions' }, btn(t('close'), () => dlg.close(), 'plain')));
  dlg.classList.add('wide');
  dlg.showModal();
  body.querySelector('h2').focus();
}

export async function shares(view, ctx) {
  const all = h('input', { id: 'all-shares', type: 'checkbox' });
  const tbody = h('tbody');
  const more = btn(t('more'), () => load(false), 'plain');
  let last = null;
  const load = async (reset) => {
    if (reset) { tbody.replaceChildren(); last = null; }
    const p = new URLSearchParams({ limit: 100 });
    if (all.checked) p.set('all', '1');
    if (last) p.set('before', last);
    const r = await api('GET', '/api/v1/shares?' + p);
    if (!r.ok) return say(t('refused'), reason(r));
    for (const s of r.data.items) {
      last = s.id;
      tbody.append(h('tr', { 'data-id': s.id },
        h('td', {}, h('bdi', {}, s.name || '—')), h('td', {}, s.kind === 'upload' ? t('kindUpload') : t('kindDownload')),
        h('td', { 'data-state': s.state }, st(s.state)), h('td', {}, s.kind === 'upload' ? String(s.uploads || 0)
          : `${s.downloads || 0} / ${s.max_downloads || t('noLimit')}`),
        h('td', { class: 'accesses' }, String(s.accesses || 0)),
        h('td', {}, s.password ? t('yes') : t('no')),
        h('td', {}, fmtTime(s.expires_at)), h('td', {}, h('bdi', {}, s.created_by || '')),
        h('td', {}, h('div', { class: 'actions' }, btn(t('recipientsMail'), () => recipients(s), 'plain'),
          h('button', { type: 'button', class: 'plain access', onclick: () => accessLog(s) }, t('shAccessLog')),
          s.state === 'live' ? btn(t('revoke'), async () => {
            const x = await api('DELETE', `/api/v1/shares/${s.id}`);
            say(x.ok ? t('revoked') : t('refused'), x.ok ? undefined : reason(x));
            load(true);
          }, 'danger') : null))));
    }
    if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: 9 }, t('empty'))));
    more.hidden = !r.data.more;
  };
  // the link's recipients and the state of each one's mail (GET /api/v1/shares/{id})
  const detail = h('section', { id: 'share-detail', hidden: true });
  const recipients = async (s) => {
    const r = await api('GET', `/api/v1/shares/${s.id}`);
    if (!r.ok) return say(t('refused'), reason(r));
    const rows = mailRows(r.data.recipients || []);
    detail.replaceChildren(h('h2', { tabindex: -1 }, t('recipientsMail'), ': ', h('bdi', {}, s.name || '')),
      rows.length ? table([t('recipient'), t('state'), t('attempts'), t('sentAt')], rows) : h('p', {}, t('none')));
    detail.hidden = false;
    detail.querySelector('h2').focus();
  };
  all.addEventListener('change', () => load(true));
  view.append(h('h1', {}, t('myShares')),
    ctx.manager ? h('label', { class: 'check' }, all, ' ', t('allShares')) : null,
    h('p', { class: 'muted' }, fill(t('shTimesIn'), { zone })),
    h('div', { class: 'scroll', tabindex: 0 }, h('table', { id: 'shares' }, h('thead', {}, h('tr', {},
      [t('name'), t('linkKind'), t('state'), t('downloads'), t('shAccesses'), t('password'), t('expires'), t('createdBy'),
        t('actions')].map((x) => h('th', { scope: 'col' }, x)))), tbody)), more, detail);
  await load(true);
}
