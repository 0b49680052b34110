// The Reports page (/reports, managers; issue 9, G2, G3): the tenant's event reports to the
// provider and its requests for the provider-side records of a time range, a form to file
// one (with attachments, sealed in the tenant's store), and a report's thread (#ID in the
// address) with the provider's answers, the attachments and signed exports to download, a
// reply form and closing. The provider answers through kura admin; each message is mailed
// to the other side. docs/reports.md.
import { api, fmtSize, fmtTime, h, reason, say, strings, t, table, zoneToUtc } from './ui.js';

strings({
  navReports: ['報告', 'Reports'],
  rTitle: ['事業者への報告', 'Reports to the provider'],
  rHelp: ['セキュリティインシデント、障害、質問、依頼などを事業者に報告し、やり取りできます。事業者からの返信はここに表示され、管理者にメールでも届きます。',
    "Report security incidents, failures, questions and requests to the provider and talk with them here. The provider's answers appear here and are mailed to the managers."],
  rNew: ['新しい報告', 'New report'], rKind: ['種類', 'Kind'], rKindReport: ['報告', 'Report'],
  rKindRecords: ['事業者側の記録の開示依頼', "Request for the provider's records"],
  rCategory: ['区分', 'Category'], rSubject: ['件名', 'Title'], rDescription: ['内容', 'Description'],
  rFrom: ['期間の開始', 'From'], rTo: ['期間の終了', 'To'],
  rAttach: ['添付ファイル (1 件 4 MiB まで、1 つの報告に 10 件まで)', 'Attachments (up to 4 MiB each, 10 per report)'],
  rSend: ['送信', 'Send'], rSent: ['送信しました。', 'Sent.'],
  rNone: ['報告はまだありません。', 'No reports yet.'],
  rStatus: ['状態', 'Status'], rUpdated: ['更新', 'Updated'], rOpen: ['対応中', 'open'], rClosed: ['完了', 'closed'],
  rBack: ['報告の一覧へ', 'All reports'], rThread: ['やり取り', 'Thread'],
  rTenantSide: ['お客様', 'Your side'], rProviderSide: ['事業者', 'Provider'],
  rReply: ['返信', 'Reply'], rClose: ['完了にする', 'Close the report'], rClosedNote: ['この報告は完了しています。', 'This report is closed.'],
  rAttachments: ['添付ファイル', 'Attachments'], rExports: ['署名付きの記録', 'Signed records'],
  rExportHelp: ['ダウンロードしたファイルは kura audit verify FILE --key 公開鍵 で検証できます (公開鍵: /api/v1/audit/public-key)。',
    'Check a downloaded file with kura audit verify FILE --key PUBKEY (the key: /api/v1/audit/public-key).'],
  rDownload: ['ダウンロード', 'Download'], rUploadFailed: ['添付できませんでした: ', 'Could not attach: '],
  catSecurityIncident: ['セキュリティインシデント', 'Security incident'], catFailure: ['障害', 'Failure'],
  catQuestion: ['質問', 'Question'], catRequest: ['依頼', 'Request'], catOther: ['その他', 'Other'],
  rPeriod: ['期間', 'Period'],
});

const CATEGORIES = ['security-incident', 'failure', 'question', 'request', 'other'];
const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase()).replace(/^./, (c) => c.toUpperCase());
const catName = (c) => t('cat' + camel(c));
const section = (id, title, ...kids) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...kids);

// POST of a file's bytes as they are (the attachment upload), with the CSRF token.
async function postFile(path, file) {
  const headers = { 'Content-Type': file.type || 'application/octet-stream' };
  const csrf = sessionStorage.getItem('kura_csrf');
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const r = await fetch(path, { method: 'POST', headers, body: file, credentials: 'same-origin' });
  const data = await r.json().catch(() => ({}));
  return { status: r.status, ok: r.ok, data };
}

async function attachAll(id, input) {
  for (const f of input.files || []) {
    const r = await postFile(`/api/v1/reports/${id}/attachments?name=${encodeURIComponent(f.name)}`, f);
    if (!r.ok) { say(t('rUploadFailed') + f.name + ': ', reason(r)); return false; }
  }
  return true;
}

function newForm(el) {
  const kind = h('select', { id: 'r-kind' }, h('option', { value: 'report' }, t('rKindReport')),
    h('option', { value: 'records-request' }, t('rKindRecords')));
  const cat = h('select', { id: 'r-category' }, CATEGORIES.map((c) => h('option', { value: c }, catName(c))));
  const title = h('input', { id: 'r-title', required: true, maxlength: 200, autocomplete: 'off' });
  const desc = h('textarea', { id: 'r-description', required: true, rows: 5, maxlength: 10000 });
  const from = h('input', { id: 'r-from', type: 'datetime-local' });
  const to = h('input', { id: 'r-to', type: 'datetime-local' });
  const files = h('input', { id: 'r-files', type: 'file', multiple: true });
  const range = h('div', { class: 'row', hidden: true }, h('label', {}, t('rFrom'), from), h('label', {}, t('rTo'), to));
  const catLabel = h('label', {}, t('rCategory'), cat);
  kind.addEventListener('change', () => {
    const rec = kind.value === 'records-request';
    range.hidden = !rec;
    catLabel.hidden = rec;
    from.required = rec;
    to.required = rec;
  });
  const form = h('form', { id: 'report-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { kind: kind.value, title: title.value, description: desc.value.replace(/\r\n?/g, '\n') };
    if (kind.value === 'records-request') {
      body.from = zoneToUtc(from.value);
      body.to = zoneToUtc(to.value);
    } else body.category = cat.value;
    const r = await api('POST', '/api/v1/reports', body);
    if (!r.ok) return say(reason(r));
    if (!(await attachAll(r.data.id, files))) return;
    location.hash = String(r.data.id);
    say(t('rSent'));
  } }, h('label', {}, t('rKind'), kind), catLabel, h('label', {}, t('rSubject'), title),
  h('label', {}, t('rDescription'), desc), range, h('label', {}, t('rAttach'), files),
  h('button', { type: 'submit' }, t('rSend')));
  el.append(section('r-new', t('rNew'), form));
}

async function list(el) {
  const r = await api('GET', '/api/v1/reports');
  if (!r.ok) return say(reason(r));
  el.append(h('h1', {}, t('rTitle')), h('p', { class: 'hint' }, t('rHelp')));
  const rows = r.data.reports.map((x) => h('tr', {},
    h('td', {}, h('a', { href: `#${x.id}` }, `#${x.id} `, h('bdi', {}, x.title))),
    h('td', {}, x.kind === 'records-request' ? t('rKindRecords') : catName(x.category)),
    h('td', {}, t(x.status === 'open' ? 'rOpen' : 'rClosed')), h('td', {}, fmtTime(x.updated_at))));
  el.append(section('r-list', t('rTitle') + ` (${rows.length})`,
    rows.length ? table([t('rSubject'), t('rCategory'), t('rStatus'), t('rUpdated')], rows) : h('p', {}, t('rNone'))));
  newForm(el);
}

async function thread(el, id) {
  const r = await api('GET', `/api/v1/reports/${id}`);
  el.append(h('p', {}, h('a', { href: '#', id: 'r-back' }, t('rBack'))));
  if (!r.ok) return say(reason(r));
  const x = r.data;
  el.append(h('h1', {}, `#${x.id} `, h('bdi', {}, x.title)), h('dl', { class: 'grid' },
    h('dt', {}, t('rCategory')), h('dd', {}, x.kind === 'records-request' ? t('rKindRecords') : catName(x.category)),
    h('dt', {}, t('rStatus')), h('dd', {}, t(x.status === 'open' ? 'rOpen' : 'rClosed')),
    x.kind === 'records-request' ? [h('dt', {}, t('rPeriod')), h('dd', {}, `${fmtTime(x.from)} – ${fmtTime(x.to)}`)] : null));
  el.append(section('r-thread', t('rThread'), h('ol', { class: 'thread' }, x.messages.map((m) =>
    h('li', { class: m.side === 'provider' ? 'provider' : 'tenant' },
      h('p', { class: 'muted' }, h('strong', {}, t(m.side === 'provider' ? 'rProviderSide' : 'rTenantSide')),
        ' · ', h('bdi', {}, m.author), ' · ', fmtTime(m.created_at)),
      h('p', { class: 'body' }, m.body))))));
  if (x.attachments.length)
    el.append(section('r-attachments', t('rAttachments'), h('ul', {}, x.attachments.map((a) => h('li', {},
      h('a', { href: `/api/v1/reports/${x.id}/attachments/${a.id}`, download: a.name }, h('bdi', {}, a.name)),
      ` (${fmtSize(a.size)}, ${t(a.side === 'provider' ? 'rProviderSide' : 'rTenantSide')})`)))));
  if (x.exports.length)
    el.append(section('r-exports', t('rExports'), h('p', { class: 'hint' }, t('rExportHelp')),
      h('ul', {}, x.exports.map((e) => h('li', {},
        h('a', { href: `/api/v1/reports/${x.id}/exports/${e.id}` }, `${t('rDownload')} #${e.id}`),
        ` (${fmtSize(e.size)}, ${fmtTime(e.created_at)})`)))));
  if (x.status !== 'open') return el.append(h('p', { class: 'notice' }, t('rClosedNote')));
  const body = h('textarea', { id: 'r-reply', required: true, rows: 4, maxlength: 10000 });
  const files = h('input', { id: 'r-reply-files', type: 'file', multiple: true });
  el.append(section('r-reply-h', t('rReply'), h('form', { id: 'reply-form', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!(await attachAll(x.id, files))) return;
    const s = await api('POST', `/api/v1/reports/${x.id}/messages`, { body: body.value.replace(/\r\n?/g, '\n') });
    if (!s.ok) return say(reason(s));
    await redraw(el);
    say(t('rSent'));
  } }, h('label', {}, t('rDescription'), body), h('label', {}, t('rAttach'), files),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('rSend')),
    h('button', { type: 'button', class: 'secondary', id: 'r-close', onclick: async () => {
      const s = await api('POST', `/api/v1/reports/${x.id}/close`);
      if (!s.ok) return say(reason(s));
      await redraw(el);
    } }, t('rClose'))))));
}

async function redraw(el) {
  el.replaceChildren();
  say('');
  const id = /^#([1-9][0-9]*)$/.exec(location.hash);
  if (id) await thread(el, id[1]);
  else await list(el);
}

export async function reports(el) {
  window.onhashchange = () => redraw(el);
  await redraw(el);
}
