// Sharing: the share dialog (a link to a file or folder with password, expiry, download
// limit and recipients, who are mailed the link), and the list of share links with their
// access counts and revoke.
import { api, btn, field, fmtTime, h, reason, say, st, t, table } from './ui.js';

export function shareDialog(item) {
  const dlg = document.getElementById('dialog');
  const body = document.getElementById('dialog-body');
  const kind = h('select', { id: 'share-kind' }, h('option', { value: 'download' }, t('kindDownload')),
    item.kind === 'folder' ? h('option', { value: 'upload' }, t('kindUpload')) : null);
  const pw = h('input', { id: 'share-password', type: 'password', autocomplete: 'new-password', maxlength: 128 });
  const days = h('input', { id: 'share-days', type: 'number', min: 1, max: 3650, value: 7 });
  const max = h('input', { id: 'share-max', type: 'number', min: 1, max: 1000000 });
  const to = h('textarea', { id: 'share-recipients', rows: 3 });
  const out = h('div', { id: 'share-result', role: 'status' });
  const form = h('form', { id: 'share-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const b = { node_id: item.id, kind: kind.value, expires_in_s: Math.round(Number(days.value) * 86400) };
    if (pw.value) b.password = pw.value;
    if (max.value && kind.value === 'download') b.max_downloads = Number(max.value);
    const rc = to.value.split(/[\s,;]+/).filter(Boolean);
    if (rc.length) b.recipients = rc;
    const r = await api('POST', '/api/v1/shares', b);
    if (!r.ok) { out.textContent = t('refused') + reason(r); return; }
    const url = h('input', { id: 'share-url', readonly: true, value: r.data.url, 'aria-label': 'URL' });
    out.replaceChildren(h('p', {}, t('linkMade')), url);
    url.focus();
    url.select();
  } },
  h('h2', { id: 'dialog-title' }, t('shareTitle')),
  h('p', {}, t('shareOf'), h('bdi', {}, item.name)),
  field(t('linkKind'), kind), field(t('optionalPw'), pw), field(t('expiryDays'), days),
  field(t('maxDownloads'), max), field(t('recipients'), to),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('createLink')),
    btn(t('close'), () => dlg.close(), 'plain')), out);
  body.replaceChildren(form);
  dlg.showModal();
  kind.focus();
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
        h('td', {}, s.password ? t('yes') : t('no')),
        h('td', {}, fmtTime(s.expires_at)), h('td', {}, h('bdi', {}, s.created_by || '')),
        h('td', {}, h('div', { class: 'actions' }, btn(t('recipientsMail'), () => recipients(s), 'plain'),
          s.state === 'live' ? btn(t('revoke'), async () => {
            const x = await api('DELETE', `/api/v1/shares/${s.id}`);
            say(x.ok ? t('revoked') : t('refused'), x.ok ? undefined : reason(x));
            load(true);
          }, 'danger') : null))));
    }
    if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: 8 }, t('empty'))));
    more.hidden = !r.data.more;
  };
  // the link's recipients and the state of each one's mail (GET /api/v1/shares/{id})
  const detail = h('section', { id: 'share-detail', hidden: true });
  const recipients = async (s) => {
    const r = await api('GET', `/api/v1/shares/${s.id}`);
    if (!r.ok) return say(t('refused'), reason(r));
    const rows = (r.data.recipients || []).map((x) => h('tr', {}, h('td', {}, x.email),
      h('td', {}, x.mail ? st(x.mail.state) : '—'), h('td', {}, x.mail ? String(x.mail.attempts) : ''),
      h('td', {}, x.mail ? fmtTime(x.mail.sent_at) : '—')));
    detail.replaceChildren(h('h2', { tabindex: -1 }, t('recipientsMail'), ': ', h('bdi', {}, s.name || '')),
      rows.length ? table([t('recipient'), t('state'), t('attempts'), t('sentAt')], rows) : h('p', {}, t('none')));
    detail.hidden = false;
    detail.querySelector('h2').focus();
  };
  all.addEventListener('change', () => load(true));
  view.append(h('h1', {}, t('myShares')),
    ctx.manager ? h('label', { class: 'check' }, all, ' ', t('allShares')) : null,
    h('div', { class: 'scroll', tabindex: 0 }, h('table', { id: 'shares' }, h('thead', {}, h('tr', {},
      [t('name'), t('linkKind'), t('state'), t('downloads'), t('password'), t('expires'), t('createdBy'), t('actions')]
        .map((x) => h('th', { scope: 'col' }, x)))), tbody)), more, detail);
  await load(true);
}
