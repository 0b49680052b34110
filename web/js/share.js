// The share-link page (/s/{token}) that outside recipients see: the portal's look, Japanese
// or English (the portal's remembered choice, else the browser's language), and one clear
// state at a time, each with its own message: unknown, expired, revoked, download limit
// reached, item deleted, password needed (a wrong one says how many tries are left), locked
// after too many wrong passwords, the download list, the upload form with progress per
// file, upload finished (the names as stored) and upload failed (quota, too large).
// Times are shown in the tenant's zone (time_zone of the link info) with the zone named.
//
// SECURITY: names come from other people: they go into the page as text nodes only (h()).
// The token is the credential; it stays in the address and in the API paths, never in
// storage. The link session is an HttpOnly cookie scoped to this link's API path.
import { api, pathToken } from './kura.js';
import { fmtSize, fmtTime, h, lang, setLang, setZone, strings, t, zone } from './ui.js';

strings({
  spTagline: ['共有リンク', 'Shared link'],
  spLoading: ['読み込み中…', 'Loading…'],
  spUnknownTitle: ['このリンクは見つかりません', 'This link does not exist'],
  spUnknown: ['アドレスが正しいか、リンクを送ってくれた人に確認してください。',
    'Check the address, or ask the person who sent you the link.'],
  spExpiredTitle: ['このリンクは有効期限が切れています', 'This link has expired'],
  spExpired: ['必要な場合は、送ってくれた人に新しいリンクを依頼してください。',
    'If you still need it, ask the person who sent it for a new link.'],
  spRevokedTitle: ['このリンクは取り消されました', 'This link was revoked'],
  spRevoked: ['送った人がこのリンクを無効にしました。', 'The person who shared it has turned this link off.'],
  spLimitTitle: ['ダウンロード回数の上限に達しました', 'This link reached its download limit'],
  spLimit: ['このリンクからはもうダウンロードできません。送ってくれた人に確認してください。',
    'Nothing more can be downloaded through this link; ask the person who sent it.'],
  spDeletedTitle: ['共有されていたものは削除されました', 'What was shared has been deleted'],
  spDeleted: ['このリンクの共有元のファイルまたはフォルダーはもうありません。', 'The file or folder of this link is gone.'],
  spPasswordTitle: ['パスワードが必要です', 'This link needs a password'],
  spPasswordHelp: ['パスワードは、リンクを送ってくれた人から別の方法で届きます。',
    'The person who sent the link gives you the password another way.'],
  spPassword: ['パスワード', 'Password'],
  spOpen: ['開く', 'Open'],
  spWrong: ['パスワードが違います。', 'The password is wrong.'],
  spTriesLeft: ['ロックされるまであと {n} 回試せます。', '{n} more tries before the link locks.'],
  spLastTry: ['あと 1 回間違えるとリンクはロックされます。', 'One more wrong password locks the link.'],
  spLockedTitle: ['パスワードの誤りが多すぎます', 'Too many wrong passwords'],
  spLocked: ['安全のため、このリンクは {time} までロックされています。その後もう一度お試しください。',
    'For safety this link is locked until {time}. Try again after that.'],
  spValidUntil: ['有効期限: ', 'Valid until: '],
  spZone: ['時刻は {zone} で表示しています。', 'Times are shown in {zone}.'],
  spDownloadTitle: ['共有されたファイル', 'Shared with you'],
  spDownloadsLeft: ['残りのダウンロード回数: ', 'Downloads left: '],
  spNoFiles: ['このフォルダーにはファイルがありません。', 'There are no files in this folder.'],
  spMoreFiles: ['さらにファイルがあります。', 'There are more files.'],
  spUploadTitle: ['ファイルのアップロード', 'Upload files'],
  spUploadInto: ['アップロード先のフォルダー: ', 'Uploads go into the folder: '],
  spUploadHelp: ['複数のファイルを選べます。同じ名前のファイルがあっても上書きされず、別の名前で保存されます。',
    'You can choose several files. Nothing is overwritten: a name that exists is stored under another name.'],
  spChoose: ['アップロードするファイル', 'Files to upload'],
  spUpload: ['アップロード', 'Upload'],
  spUploading: ['アップロード中', 'Uploading'],
  spWaiting: ['待機中', 'waiting'],
  spStored: ['保存しました', 'stored'],
  spFailedOne: ['失敗', 'failed'],
  spFinishedTitle: ['アップロードが完了しました', 'Upload finished'],
  spFinished: ['次のファイルを受け取りました (保存された名前):', 'These files were received (as stored):'],
  spFailedTitle: ['アップロードできませんでした', 'The upload failed'],
  spQuota: ['保存先の容量が足りません。送ってくれた人に連絡してください。',
    'There is not enough storage space left; tell the person who sent the link.'],
  spTooLarge: ['ファイルが大きすぎます (1 ファイル 64 GiB まで)。', 'The file is too large (64 GiB per file at most).'],
  spEditLocked: ['保存先のフォルダーは編集のためロックされています。しばらくしてからもう一度お試しください。',
    'The folder is locked for editing right now; try again later.'],
  spNetwork: ['接続が切れました。もう一度お試しください。', 'The connection was lost; try again.'],
  spOther: ['サーバーが受け付けませんでした: ', 'The server refused it: '],
  spReceived: ['受け取ったファイル:', 'Received:'],
  spUploadMore: ['ほかのファイルもアップロード', 'Upload more files'],
  spProgress: ['{name} の進捗', 'Progress of {name}'],
  spServerError: ['サーバーに接続できませんでした。しばらくしてからもう一度お試しください。',
    'The server could not be reached; try again later.'],
});

const token = pathToken();
const path = '/api/v1/links/' + encodeURIComponent(token);
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
const main = document.getElementById('main');
let current = () => {};    // draws the state shown, again after a language switch

// One state: its name (data-state, for tests and styles), its title, then its body.
function show(state, title, ...body) {
  main.dataset.state = state;
  const head = document.getElementById('heading');
  head.textContent = title;
  document.getElementById('body').replaceChildren(...body.flat().filter(Boolean));
  document.title = 'kura — ' + title;
  document.getElementById('msg').textContent = '';
  head.setAttribute('tabindex', '-1');
  head.focus({ preventScroll: true });
}

const zoneNote = () => h('p', { class: 'muted', id: 'zone-note' }, fill(t('spZone'), { zone }));
const notice = (kind, text) => h('p', { class: 'notice ' + kind, id: 'notice' }, text);

const GONE = {
  expired: ['expired', 'spExpiredTitle', 'spExpired'],
  revoked: ['revoked', 'spRevokedTitle', 'spRevoked'],
  'limit-reached': ['limit', 'spLimitTitle', 'spLimit'],
  deleted: ['deleted', 'spDeletedTitle', 'spDeleted'],
};

// A refusal of the link itself (404, 410, 429) as its state; true when r was one.
function refused(r) {
  if (r.status === 404 && !(r.data && r.data.field)) {
    current = () => show('unknown', t('spUnknownTitle'), notice('bad', t('spUnknown')));
  } else if (r.status === 410) {
    const [state, title, text] = GONE[r.data && r.data.reason] || GONE.expired;
    current = () => show(state, t(title), notice('bad', t(text)));
  } else if (r.status === 429) {
    const until = r.data && r.data.locked_until;
    current = () => show('locked', t('spLockedTitle'),
      notice('bad', fill(t('spLocked'), { time: until ? fmtTime(until) : '—' })), zoneNote());
  } else if (!r.ok && r.status !== 401) {
    current = () => show('error', t('spUnknownTitle'), notice('bad', t('spServerError')));
  } else {
    return false;
  }
  current();
  return true;
}

async function load() {
  const r = await api('GET', path);
  if (refused(r)) return;
  const info = r.data;
  if (info.time_zone) setZone(info.time_zone);
  if (info.password_required && !info.unlocked) current = () => passwordForm();
  else if (info.kind === 'upload') current = () => uploadForm(info);
  else current = () => downloads(info);
  current();
}

function passwordForm(wrong) {
  const pw = h('input', { id: 'pw', type: 'password', autocomplete: 'current-password', maxlength: 128,
    required: true, 'aria-describedby': 'pw-help' + (wrong ? ' pw-wrong' : '') });
  const form = h('form', { id: 'unlock', class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await api('POST', path + '/unlock', { password: pw.value });
    if (r.status === 403) {
      const left = r.data && Number.isInteger(r.data.remaining) ? r.data.remaining : null;
      current = () => passwordForm(left);
      current();
      return;
    }
    if (refused(r)) return;
    load();
  } }, h('label', {}, t('spPassword'), ' ', pw), h('button', { type: 'submit' }, t('spOpen')));
  show(wrong !== undefined ? 'password-wrong' : 'password', t('spPasswordTitle'),
    h('p', { id: 'pw-help' }, t('spPasswordHelp')),
    wrong !== undefined ? h('p', { id: 'pw-wrong', class: 'notice bad', role: 'alert' }, t('spWrong'), ' ',
      h('span', { id: 'tries', 'data-remaining': wrong === null ? '' : String(wrong) },
        wrong === 1 ? t('spLastTry') : wrong === null ? '' : fill(t('spTriesLeft'), { n: wrong }))) : null,
    form);
  pw.focus();
}

function validity(info) {
  return [h('p', { id: 'expires' }, t('spValidUntil'), h('time', { datetime: info.expires_at }, fmtTime(info.expires_at))),
    zoneNote()];
}

function downloads(info) {
  const item = info.item;
  const list = h('ul', { id: 'list', class: 'files' });
  const entry = (name, size, href) => list.append(h('li', {},
    h('a', { href, download: name }, h('bdi', {}, name)), ' ', h('span', { class: 'muted' }, '(' + fmtSize(size) + ')')));
  if (item.kind === 'file') entry(item.name, item.size, path + '/content');
  for (const it of info.items || [])
    if (it.kind === 'file') entry(it.name, it.size, path + '/files/' + it.id + '/content');
  show('download', t('spDownloadTitle'),
    h('p', { id: 'item-name', class: 'item' }, h('bdi', {}, item.name)),
    validity(info),
    info.downloads_left !== undefined ? h('p', { id: 'left' }, t('spDownloadsLeft'), String(info.downloads_left)) : null,
    list.children.length ? list : h('p', {}, t('spNoFiles')),
    info.more ? h('p', { class: 'muted' }, t('spMoreFiles')) : null);
}

// PUT of one file with its progress (XMLHttpRequest: fetch reports no upload progress).
function put(file, bar) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('PUT', path + '/upload/' + encodeURIComponent(file.name));
    x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    x.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) { bar.max = e.total || 1; bar.value = e.loaded; }
    });
    x.addEventListener('load', () => {
      let data = {};
      try { data = JSON.parse(x.responseText); } catch { /* not JSON */ }
      resolve({ status: x.status, ok: x.status >= 200 && x.status < 300, data });
    });
    x.addEventListener('error', () => resolve({ status: 0, ok: false, data: {} }));
    x.send(file);
  });
}

// Why an upload failed, in the page's language.
function failure(r) {
  const type = String((r.data && r.data.type) || '');
  if (r.status === 507 || type.endsWith(':quota-exceeded') || type.endsWith(':insufficient-storage')) return t('spQuota');
  if (r.status === 413 || type.endsWith(':file-too-large')) return t('spTooLarge');
  if (type.endsWith(':file-locked')) return t('spEditLocked');
  if (r.status === 0) return t('spNetwork');
  return t('spOther') + ((r.data && (r.data.detail || r.data.title)) || r.status);
}

function uploadForm(info, received = []) {
  const input = h('input', { id: 'files', type: 'file', multiple: true, required: true });
  const rows = h('ul', { id: 'uploads', class: 'uploads-list' });
  const form = h('form', { id: 'upload', onsubmit: async (ev) => {
    ev.preventDefault();
    const files = [...input.files];
    if (!files.length) return;
    input.disabled = true;
    form.querySelector('button').disabled = true;
    main.dataset.state = 'uploading';
    const items = files.map((f, i) => {
      const bar = h('progress', { id: 'progress-' + i, max: f.size || 1, value: 0,
        'aria-label': fill(t('spProgress'), { name: f.name }) });
      const state = h('span', { class: 'ustate', 'data-state': 'waiting' }, t('spWaiting'));
      rows.append(h('li', { class: 'upload' }, h('span', { class: 'uname' }, h('bdi', {}, f.name)), bar,
        h('span', { class: 'muted' }, fmtSize(f.size)), state));
      return { f, bar, state };
    });
    const done = [...received];
    for (const it of items) {
      it.state.dataset.state = 'uploading';
      it.state.textContent = t('spUploading');
      const r = await put(it.f, it.bar);
      if (r.status === 401) {    // the link session ended (an hour): the password again
        current = () => passwordForm();
        current();
        return;
      }
      // the link itself gone meanwhile (410) or unknown (404 without a field): its state
      if ((r.status === 410 || (r.status === 404 && !(r.data && r.data.field))) && refused(r)) return;
      if (!r.ok) {
        it.state.dataset.state = 'failed';
        it.state.textContent = t('spFailedOne');
        current = () => failed(info, r, it.f.name, done);    // the reason in the language shown
        current();
        return;
      }
      it.bar.value = it.bar.max;
      it.state.dataset.state = 'stored';
      it.state.textContent = t('spStored');
      done.push({ name: r.data.name, size: r.data.size });
    }
    current = () => finished(info, done);
    current();
  } }, h('label', {}, t('spChoose'), ' ', input), h('button', { type: 'submit' }, t('spUpload')));
  show('upload', t('spUploadTitle'),
    h('p', { id: 'item-name', class: 'item' }, t('spUploadInto'), h('bdi', {}, info.item.name)),
    h('p', {}, t('spUploadHelp')), validity(info), form, rows,
    received.length ? [h('h2', {}, t('spReceived')), names(received)] : null);
}

const names = (done) => h('ul', { id: 'done-list' }, done.map((d) =>
  h('li', {}, h('bdi', {}, d.name), ' ', h('span', { class: 'muted' }, '(' + fmtSize(d.size) + ')'))));

function finished(info, done) {
  show('finished', t('spFinishedTitle'), notice('good', t('spFinished')), names(done),
    h('p', {}, h('button', { type: 'button', id: 'again', onclick: () => { current = () => uploadForm(info, done); current(); } },
      t('spUploadMore'))));
}

function failed(info, r, name, done) {
  show('upload-failed', t('spFailedTitle'), h('p', { class: 'notice bad', id: 'notice', role: 'alert' },
    h('bdi', {}, name), ': ', failure(r)),
  done.length ? [h('h2', {}, t('spReceived')), names(done)] : null,
  h('p', {}, h('button', { type: 'button', id: 'again', onclick: () => { current = () => uploadForm(info, done); current(); } },
    t('spUploadMore'))));
}

function texts() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  const l = document.getElementById('lang');
  l.textContent = t('other');
  l.lang = lang === 'en' ? 'ja' : 'en';
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang === 'en' ? 'ja' : 'en');
  texts();
  if (main.dataset.state !== 'uploading') current();    // a running upload keeps its rows
  document.getElementById('lang').focus();
});
texts();
document.getElementById('body').replaceChildren(h('p', {}, t('spLoading')));
load().catch(() => show('error', t('spUnknownTitle'), notice('bad', t('spServerError'))))
  .finally(() => { document.body.dataset.ready = '1'; });
