// Files: the folder listing paged from the API (keyset paging with the server's sort and
// order), search by name, a breadcrumb and the parent folder, only the visible rows in the
// DOM (virtual scrolling, so a folder of 100,000 entries costs what one of ten does), new
// folder, a selection (checkboxes, select all loaded rows) downloaded as one ZIP or moved to
// the trash, a folder as ZIP, upload (files and folder trees, by drop or by choosing;
// progress per file and overall, cancel) through tus, the caller's unfinished uploads resumed
// after a reload (the same file chosen again) or discarded, download, rename, move, labels,
// details; and the trash with restore and purge.
//
// SECURITY: nothing goes into localStorage (tus-js-client's fingerprints are off); an
// unfinished upload's URL comes back from GET /api/v1/uploads, which lists the caller's own.
import { api, btn, field, fmtSize, fmtTime, h, reason, say, strings, t, toLogin } from './ui.js';
import { shareDialog } from './shares.js';

const ROW = 48;          // px per row; the CSS gives .vrow this height
const PAGE = 200;        // rows per API page
const enc = encodeURIComponent;

// the archive API's bounds (docs/api.md): ids per selection, and the request target
export const ARCHIVE_IDS_MAX = 1000;
export const URL_MAX = 2048;
const ARCHIVE_PATH = '/api/v1/archive?ids=';
// a dropped or chosen folder tree: at most this many entries (files and folders) and levels
export const TREE_ENTRIES_MAX = 10000;
export const TREE_DEPTH_MAX = 32;
const TUS_CHUNK = 16 * 1024 * 1024;
// a dropped connection or a restarted server: tus-js-client tries again from the offset the
// server acknowledged, for about two minutes
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];
// tus-js-client starts a new upload from byte 0 when its HEAD (after a cut, "where were
// we?") is answered 5xx: a server draining for a restart answers 503 on a kept-alive
// connection. This stack asks again instead, at most HEAD_RETRIES times, HEAD_RETRY_MS
// apart, before tus-js-client sees the answer; every other request goes through as it is.
const HEAD_RETRIES = 30;
const HEAD_RETRY_MS = 1000;
class ResumingStack {
  constructor() { this.inner = new window.tus.DefaultHttpStack(); }
  getName() { return 'kura-resuming'; }
  createRequest(method, url) {
    const first = this.inner.createRequest(method, url);
    if (method !== 'HEAD') return first;
    const inner = this.inner;
    const headers = {};
    let current = first;
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (k, v) => { headers[k] = v; current.setHeader(k, v); },
      getHeader: (k) => headers[k],
      setProgressHandler: () => {},
      async send(body) {
        for (let i = 0; ; i++) {
          const res = await current.send(body);
          const st = res.getStatus();
          if ((st !== 502 && st !== 503 && st !== 504) || i >= HEAD_RETRIES) return res;
          await new Promise((r) => setTimeout(r, HEAD_RETRY_MS));
          current = inner.createRequest(method, url);
          for (const [k, v] of Object.entries(headers)) current.setHeader(k, v);
        }
      },
      abort: () => current.abort(),
      getUnderlyingObject: () => current.getUnderlyingObject(),
    };
  }
}

strings({
  chooseFolder: ['フォルダーを選択', 'Choose folder'],
  dropFilesFolders: ['ここにファイルやフォルダーをドロップ', 'Drop files or folders here'],
  orderAsc: ['昇順 ↑', 'Ascending ↑'], orderDesc: ['降順 ↓', 'Descending ↓'], order: ['順序', 'Order'],
  select: ['選択: ', 'Select: '], selectAll: ['読み込み済みをすべて選択', 'Select all loaded'],
  selected: [' 件を選択中', ' selected'], clearSel: ['選択を解除', 'Clear selection'],
  selection: ['選択した項目', 'Selection'],
  zipFolder: ['このフォルダーを ZIP でダウンロード', 'Download this folder as ZIP'],
  zipOf: ['ZIP でダウンロード: ', 'Download as ZIP: '],
  tooManyIds: ['ZIP にできるのは一度に 1,000 件までです。選択: ', 'A ZIP takes at most 1,000 items at a time. Selected: '],
  zipPreparing: ['ZIP を作成しています… (', 'Preparing the ZIP… ('],
  zipPreparingTail: [' 件)', ' items)'],
  zipFailed: ['ZIP をダウンロードできませんでした: ', 'The ZIP could not be downloaded: '],
  sameNames: ['同じ名前の項目が複数あるため ZIP にできません: ', 'Items with the same name cannot go into one ZIP: '],
  trashedN: [' 件をごみ箱へ移動しました。', ' moved to the trash.'],
  notTrashed: [' 件は移動できませんでした: ', ' not moved: '],
  treeTooBig: ['フォルダーの項目が多すぎます (上限 10,000 件)。小さく分けてください。', 'The folder has too many entries (at most 10,000). Upload it in parts.'],
  treeTooDeep: ['フォルダーの階層が深すぎます (上限 32 階層)。', 'The folder is nested too deep (at most 32 levels).'],
  treeRead: ['フォルダーを読み取れませんでした: ', 'The folder could not be read: '],
  folderFailed: ['フォルダーを作成できませんでした: ', 'The folder could not be created: '],
  unfinished: ['未完了のアップロード', 'Unfinished uploads'],
  unfinishedHelp: ['中断されたアップロードは、同じファイルをもう一度選ぶと続きから再開します。24 時間で削除されます。',
    'An interrupted upload continues where it stopped when you choose the same file again. It is removed after 24 hours.'],
  resumeSame: ['再開 (同じファイルを選択)', 'Resume (choose the same file)'],
  discard: ['破棄', 'Discard'], discarded: ['破棄しました。', 'Discarded.'],
  notSame: ['別のファイルです (名前と大きさが一致しません): ', 'Not the same file (name and size differ): '],
  notSameContent: ['別のファイルです (先頭の内容が一致しません): ', 'Not the same file (its first bytes differ): '],
  cannotResume: ['このアップロードは再開できません。破棄してください。', 'This upload cannot be resumed; discard it.'],
  into: ['保存先: ', 'Into: '], ofBytes: [' / ', ' of '], expiresAt: ['期限: ', 'Expires: '],
  resuming: ['再開中', 'resuming'],
  fileLocked: ['WebDAV クライアントがこのファイル (またはフォルダー) をロックしています。ロックが解除されるか期限が切れてから、もう一度アップロードしてください。管理者はこの画面の「WebDAV のロック」で解除できます。',
    'A WebDAV client holds a lock on this file (or its folder). Upload it again once it is unlocked or the lock expires; a manager can remove the lock under "WebDAV locks" on this page.'],
  davLocks: ['WebDAV のロック', 'WebDAV locks'],
  davLocksHelp: ['WebDAV クライアント (Office など) が編集中のファイルをロックしています。ロックされたファイルはほかの人やポータルから置き換えできません。解除すると、そのクライアントの次の保存は失敗することがあります。',
    'WebDAV clients (Office and others) lock the files they are editing; a locked file cannot be replaced by anyone else or through the portal. After you remove a lock, that client\'s next save may fail.'],
  lockHolder: ['保持者: ', 'Held by: '], lockUntil: ['期限: ', 'Until: '],
  davUnlock: ['ロックを解除', 'Remove lock'], davUnlocked: ['ロックを解除しました。', 'The lock was removed.'],
  moreLocks: ['ほかにもロックがあります (表示は先頭の 1,000 件)。', 'There are more locks (the first 1,000 are shown).'],
});
// the body of a problem answer tus-js-client got, or {}
const problemOf = (e) => {
  try { return JSON.parse(e.originalResponse.getBody()) || {}; } catch { return {}; }
};

// the SHA-256 (hex) of a file's first min(64 KiB, size) bytes: sent with a new upload
// (prefix_sha256), compared when a listed one is resumed with a file chosen again; null
// where the browser has no WebCrypto (not a secure context)
export const PREFIX_BYTES = 65536;
export async function prefixSha256(file) {
  const subtle = window.crypto && window.crypto.subtle;
  if (!subtle) return null;
  const d = new Uint8Array(await subtle.digest('SHA-256', await file.slice(0, PREFIX_BYTES).arrayBuffer()));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

const folderId = () => new URLSearchParams(location.search).get('folder') || 'root';
const kindPath = (it) => (it.kind === 'folder' ? 'folders' : 'files');
const nfc = (s) => String(s).normalize('NFC');

// A folder tree from drop entries (FileSystemEntry: webkitGetAsEntry) or from the files of an
// <input webkitdirectory> (webkitRelativePath): { dirs: [[a], [a, b]…] parents first,
// files: [{ dir: [a, b], file }] }. Bounded by TREE_ENTRIES_MAX and TREE_DEPTH_MAX: throws
// an Error whose .key names the message.
const limit = (key) => Object.assign(new Error(key), { key });
export async function walkEntries(entries, plainFiles = []) {
  const tree = { dirs: [], files: [] };
  let n = 0;
  const count = () => { if (++n > TREE_ENTRIES_MAX) throw limit('treeTooBig'); };
  const readAll = (reader) => new Promise((resolve, reject) => {
    const all = [];
    const more = () => reader.readEntries((batch) => {
      if (!batch.length) return resolve(all);
      all.push(...batch);
      if (n + all.length > TREE_ENTRIES_MAX) return reject(limit('treeTooBig'));
      more();
    }, reject);
    more();
  });
  const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));
  const walk = async (entry, dir) => {
    count();
    if (entry.isDirectory) {
      const path = [...dir, entry.name];
      if (path.length > TREE_DEPTH_MAX) throw limit('treeTooDeep');
      tree.dirs.push(path);
      for (const child of await readAll(entry.createReader())) await walk(child, path);
    } else if (entry.isFile) {
      tree.files.push({ dir, file: await fileOf(entry) });
    }
  };
  for (const f of plainFiles) { count(); tree.files.push({ dir: [], file: f }); }
  for (const e of entries) await walk(e, []);
  return tree;
}

export function treeOfRelative(fileList) {
  const tree = { dirs: [], files: [] }, seen = new Set();
  if (fileList.length > TREE_ENTRIES_MAX) throw limit('treeTooBig');
  for (const file of fileList) {
    const parts = (file.webkitRelativePath || file.name).split('/').filter((x) => x);
    const dir = parts.slice(0, -1);
    if (dir.length > TREE_DEPTH_MAX) throw limit('treeTooDeep');
    for (let i = 1; i <= dir.length; i++) {
      const k = dir.slice(0, i).join('/');
      if (!seen.has(k)) { seen.add(k); tree.dirs.push(dir.slice(0, i)); }
    }
    tree.files.push({ dir, file });
  }
  if (tree.files.length + tree.dirs.length > TREE_ENTRIES_MAX) throw limit('treeTooBig');
  return tree;
}

// The selection as the archive URL when it fits into the request target, else as the ids for
// POST /api/v1/archive, or the reason it cannot be one ZIP: { url } | { post } | { error }.
export function archiveUrl(items) {
  if (items.length > ARCHIVE_IDS_MAX) return { error: t('tooManyIds') + items.length };
  const names = new Map();
  for (const it of items) {
    const k = nfc(it.name);
    if (names.has(k)) return { error: t('sameNames') + it.name };
    names.set(k, it);
  }
  const url = ARCHIVE_PATH + items.map((it) => it.id).join(',');
  if (url.length > URL_MAX) return { post: items.map((it) => it.id) };
  return { url };
}

const download = (href, name) => {
  const a = h('a', { href, download: name || '', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
};

// POST /api/v1/archive with the ids; the raw response (a ZIP, or a problem+json).
const zipPost = (ids) => {
  const headers = { 'Content-Type': 'application/json' };
  const csrf = sessionStorage.getItem('kura_csrf');
  if (csrf) headers['X-CSRF-Token'] = csrf;
  return fetch('/api/v1/archive', { method: 'POST', headers, credentials: 'same-origin',
    body: JSON.stringify({ ids }) });
};

export async function files(view, { manager } = {}) {
  const crumbs = h('ol', { class: 'crumbs' });
  const state = { items: [], more: false, next: null, loading: false, folder: null, label: '', sort: 'name',
    order: 'asc', q: '', gen: 0 };
  const picked = new Map();   // id -> item: the selection (kept across paging, cleared on a new folder)
  const labelSel = h('select', { id: 'label-filter' }, h('option', { value: '' }, t('all')));
  const sortSel = h('select', { id: 'sort' }, ['name', 'size', 'modified'].map((k) => h('option', { value: k }, t(k))));
  const orderBtn = h('button', { type: 'button', id: 'order', class: 'plain', 'aria-label': t('order') + ': ' + t('orderAsc') }, t('orderAsc'));
  const search = h('input', { id: 'search', type: 'search', maxlength: 100 });
  const list = h('div', { class: 'vlist', id: 'list', role: 'list', tabindex: '-1', 'aria-label': t('files') });
  const space = h('div', { class: 'vspace' });
  list.append(space);
  const details = h('aside', { id: 'details', class: 'details', hidden: true, 'aria-label': t('details') });
  const count = h('p', { id: 'count', class: 'muted' });
  const queue = h('section', { id: 'uploads', class: 'uploads', hidden: true, 'aria-label': t('uploading') });
  const fileInput = h('input', { id: 'file-input', type: 'file', multiple: true, class: 'visually-hidden',
    tabindex: '-1', 'aria-hidden': 'true' });
  const dirInput = h('input', { id: 'folder-input', type: 'file', webkitdirectory: true, multiple: true,
    class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
  const resumeInput = h('input', { id: 'resume-input', type: 'file', class: 'visually-hidden',
    tabindex: '-1', 'aria-hidden': 'true' });
  const up = btn(t('parent'), () => open(state.folder && state.folder.parent_id ? state.folder.parent_id : 'root'), 'plain');
  up.id = 'up';
  const zipHere = h('a', { class: 'button plain', id: 'zip-folder', download: '' }, t('zipFolder'));

  // ---- the selection bar
  const selCount = h('span', { id: 'selection-count', 'aria-live': 'polite' });
  const selLimit = h('p', { id: 'selection-limit', class: 'warn', hidden: true });
  const selectAll = h('input', { type: 'checkbox', id: 'select-all' });
  const selBar = h('section', { id: 'selection', class: 'selbar', hidden: true, 'aria-label': t('selection') },
    selCount,
    h('button', { type: 'button', id: 'zip-selection', onclick: () => zipSelection() }, t('downloadZip')),
    h('button', { type: 'button', id: 'trash-selection', class: 'danger', onclick: () => trashSelection() }, t('toTrash')),
    h('button', { type: 'button', id: 'clear-selection', class: 'plain', onclick: () => { picked.clear(); syncSel(); } }, t('clearSel')),
    selLimit);
  const syncSel = () => {
    selBar.hidden = picked.size === 0;
    selCount.textContent = picked.size + t('selected');
    const chk = archiveUrl([...picked.values()]);
    selLimit.hidden = !chk.error;
    selLimit.textContent = chk.error || '';
    selBar.querySelector('#zip-selection').disabled = !!chk.error;
    const loaded = state.items.length;
    selectAll.checked = loaded > 0 && state.items.every((x) => picked.has(x.id));
    selectAll.indeterminate = !selectAll.checked && state.items.some((x) => picked.has(x.id));
    for (const c of space.querySelectorAll('input.pick')) c.checked = picked.has(Number(c.dataset.id));
  };
  selectAll.addEventListener('change', () => {
    if (selectAll.checked) for (const it of state.items) picked.set(it.id, it);
    else for (const it of state.items) picked.delete(it.id);
    syncSel();
  });
  const zipSelection = async () => {
    const chk = archiveUrl([...picked.values()]);
    if (chk.error) { say(chk.error); return; }
    if (chk.url) { download(chk.url); return; }
    // too many ids for an address: POST them (with the session's CSRF header, as every API
    // call), take the ZIP as a blob and save it through a blob: link (no form, no inline code)
    const zipBtn = selBar.querySelector('#zip-selection');
    zipBtn.disabled = true;
    say(t('zipPreparing') + chk.post.length + t('zipPreparingTail'));
    try {
      const r = await zipPost(chk.post);
      if (r.status === 401) { toLogin(); return; }
      if (!r.ok) { say(t('zipFailed') + reason({ status: r.status, data: await r.json().catch(() => ({})) })); return; }
      const href = URL.createObjectURL(await r.blob());
      download(href, 'files.zip');
      say('');
      setTimeout(() => URL.revokeObjectURL(href), 60000);
    } catch (e) {
      say(t('zipFailed') + e.message);
    } finally {
      zipBtn.disabled = false;
    }
  };
  const trashSelection = async () => {
    let ok = 0;
    const bad = [];
    for (const it of [...picked.values()]) {
      const r = await api('DELETE', `/api/v1/${kindPath(it)}/${it.id}`);
      if (r.ok) { ok++; picked.delete(it.id); } else bad.push(`${it.name} (${reason(r)})`);
    }
    say(ok + t('trashedN') + (bad.length ? ' ' + bad.length + t('notTrashed') + bad.join(', ') : ''));
    await load(true);
  };

  // ---- the listing
  const load = async (reset) => {
    if (state.loading && !reset) return;
    const gen = reset ? ++state.gen : state.gen;
    state.loading = true;
    try {
      const p = new URLSearchParams({ limit: PAGE });
      if (!reset && state.next) p.set('after', state.next);
      let r;
      if (state.q) {
        p.set('q', state.q);
        r = await api('GET', `/api/v1/search?${p}`);
      } else {
        if (state.label) p.set('label', state.label);
        p.set('sort', state.sort);
        p.set('order', state.order);
        r = await api('GET', `/api/v1/folders/${enc(folderId())}/children?${p}`);
      }
      if (gen !== state.gen) return;   // a newer listing started meanwhile
      if (!r.ok) { say(t('refused'), reason(r)); return; }
      if (r.data.folder) state.folder = r.data.folder;
      state.items = (reset ? [] : state.items).concat(r.data.items || []);
      state.more = !!r.data.more;
      state.next = r.data.next || null;
      count.textContent = state.items.length + (state.more ? '+' : '') + t('items');
      space.style.height = Math.max(state.items.length, 1) * ROW + 'px';
      paint();
      syncSel();
    } finally {
      if (gen === state.gen) state.loading = false;
    }
  };

  // only the rows in view (and a few around them) exist; the focused control is focused
  // again when its row is drawn anew
  const paint = () => {
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
    const last = Math.min(state.items.length, first + Math.ceil((list.clientHeight || 600) / ROW) + 10);
    const a = document.activeElement;
    const focusRow = a && space.contains(a) ? a.closest('.vrow') : null;
    const focusKey = focusRow ? [focusRow.dataset.id, a.dataset.role] : null;
    const rows = [];
    if (!state.items.length) rows.push(h('div', { class: 'vrow empty', role: 'listitem' }, t('empty')));
    for (let i = first; i < last; i++) rows.push(row(state.items[i], i));
    space.replaceChildren(...rows);
    if (focusKey) {
      const again = space.querySelector(`.vrow[data-id="${focusKey[0]}"] [data-role="${focusKey[1]}"]`);
      if (again) again.focus();
    }
    if (state.more && last >= state.items.length - 20) load(false);
  };
  list.addEventListener('scroll', () => requestAnimationFrame(paint));

  const open = (id) => {
    history.pushState(null, '', id === 'root' ? '/files' : '/files?folder=' + id);
    details.hidden = true;
    refresh();
  };

  const row = (it, i) => {
    const name = it.kind === 'folder'
      ? h('button', { type: 'button', class: 'link name', 'data-role': 'open', onclick: () => open(it.id) }, h('bdi', {}, it.name), h('span', { class: 'slash', 'aria-hidden': 'true' }, '/'))
      : h('a', { class: 'name', 'data-role': 'open', href: `/api/v1/files/${it.id}/content`, download: '' }, h('bdi', {}, it.name));
    const pick = h('input', { type: 'checkbox', class: 'pick', 'data-id': it.id, 'data-role': 'pick',
      'aria-label': t('select') + it.name, checked: picked.has(it.id) });
    pick.addEventListener('change', () => { if (pick.checked) picked.set(it.id, it); else picked.delete(it.id); syncSel(); });
    const r = h('div', { class: 'vrow', role: 'listitem', 'data-id': it.id, 'data-name': it.name },
      pick,
      name,
      h('span', { class: 'size' }, it.kind === 'file' ? fmtSize(it.size) : ''),
      h('span', { class: 'when' }, fmtTime(it.modified_at)),
      h('span', { class: 'labels' }, (it.labels || []).map((l) => h('span', { class: 'tag' }, l))),
      it.kind === 'folder'
        ? h('a', { class: 'zip', href: `/api/v1/folders/${it.id}/archive`, download: '', 'data-role': 'zip',
          'aria-label': t('zipOf') + it.name, title: t('zipOf') + it.name }, 'ZIP')
        : h('span', {}),
      h('button', { type: 'button', class: 'plain more', 'data-role': 'more', 'aria-label': t('details') + ': ' + it.name,
        onclick: () => showDetails(it) }, '…'));
    r.style.top = i * ROW + 'px';
    return r;
  };

  const showDetails = async (it) => {
    const fresh = await api('GET', `/api/v1/${kindPath(it)}/${it.id}`);
    if (fresh.ok) it = fresh.data;
    const nameIn = h('input', { id: 'rename-name', value: it.name, maxlength: 255, required: true });
    const labelIn = h('input', { id: 'label-name', maxlength: 64, required: true });
    const moveSel = h('select', { id: 'move-target' },
      h('option', { value: 'root' }, '/ (' + t('root') + ')'),
      state.folder && state.folder.parent_id ? h('option', { value: state.folder.parent_id }, '.. (' + t('parent') + ')') : null,
      state.items.filter((x) => x.kind === 'folder' && x.id !== it.id).map((x) => h('option', { value: x.id }, x.name)));
    const act = async (p, okMsg) => {
      const r = await p;
      if (r.ok) { say(okMsg); details.hidden = true; await load(true); } else say(t('refused'), reason(r));
    };
    details.replaceChildren(
      h('h2', {}, t('details')),
      h('dl', {},
        h('dt', {}, t('name')), h('dd', { id: 'detail-name' }, h('bdi', {}, it.name)),
        h('dt', {}, t('kind')), h('dd', {}, t(it.kind)),
        it.kind === 'file' ? [h('dt', {}, t('size')), h('dd', { id: 'detail-size' }, fmtSize(it.size) + ' (' + it.size + ' B)'),
          h('dt', {}, t('type')), h('dd', { id: 'detail-type' }, it.content_type || '')] : null,
        h('dt', {}, t('modified')), h('dd', { id: 'detail-modified' }, fmtTime(it.modified_at)),
        h('dt', {}, t('uploader')), h('dd', { id: 'detail-uploader' }, h('bdi', {}, it.created_by || '—')),
        h('dt', {}, t('labels')), h('dd', { id: 'detail-labels' }, (it.labels || []).map((l) =>
          h('span', { class: 'tag' }, l, h('button', { type: 'button', class: 'x', 'aria-label': t('removeLabel') + l,
            onclick: () => act(api('DELETE', `/api/v1/${kindPath(it)}/${it.id}/labels/${enc(l)}`), t('saved')) }, '×'))))),
      h('div', { class: 'actions' },
        it.kind === 'file' ? h('a', { class: 'button', href: `/api/v1/files/${it.id}/content`, download: '' }, t('download'))
          : h('a', { class: 'button', href: `/api/v1/folders/${it.id}/archive`, download: '' }, t('downloadZip')),
        btn(t('share'), () => shareDialog(it)),
        btn(t('toTrash'), () => act(api('DELETE', `/api/v1/${kindPath(it)}/${it.id}`), t('deleted')), 'danger'),
        btn(t('close'), () => { details.hidden = true; list.focus(); }, 'plain')),
      h('form', { class: 'row', id: 'rename-form', onsubmit: (ev) => { ev.preventDefault();
        act(api('PATCH', `/api/v1/${kindPath(it)}/${it.id}`, { name: nameIn.value }), t('renamed')); } },
      field(t('rename'), nameIn), h('button', { type: 'submit' }, t('rename'))),
      h('form', { class: 'row', id: 'move-form', onsubmit: (ev) => { ev.preventDefault();
        const v = moveSel.value;
        act(api('PATCH', `/api/v1/${kindPath(it)}/${it.id}`, { parent_id: v === 'root' ? 'root' : Number(v) }), t('moved')); } },
      field(t('moveTo'), moveSel), h('button', { type: 'submit' }, t('move'))),
      h('form', { class: 'row', id: 'label-form', onsubmit: (ev) => { ev.preventDefault();
        act(api('PUT', `/api/v1/${kindPath(it)}/${it.id}/labels/${enc(labelIn.value)}`), t('saved')); } },
      field(t('addLabel'), labelIn), h('button', { type: 'submit' }, t('add'))));
    details.hidden = false;
    details.querySelector('h2').setAttribute('tabindex', '-1');
    details.querySelector('h2').focus();
  };

  const refresh = async () => {
    const id = folderId();
    const trail = [];
    picked.clear();
    let cur = id === 'root' ? null : await api('GET', `/api/v1/folders/${enc(id)}`);
    while (cur && cur.ok && cur.data.parent_id && trail.length < 64) {
      trail.unshift(cur.data);
      cur = await api('GET', `/api/v1/folders/${cur.data.parent_id}`);
    }
    crumbs.replaceChildren(h('li', {}, id === 'root' ? h('span', { 'aria-current': 'location' }, t('root')) : btn(t('root'), () => open('root'), 'link')),
      ...trail.map((f, i) => h('li', {}, i === trail.length - 1
        ? h('span', { 'aria-current': 'location' }, h('bdi', {}, f.name)) : btn(f.name, () => open(f.id), 'link'))));
    up.hidden = id === 'root';
    zipHere.setAttribute('href', `/api/v1/folders/${enc(id)}/archive`);
    const labels = await api('GET', '/api/v1/labels');
    if (labels.ok) labelSel.replaceChildren(h('option', { value: '' }, t('all')),
      ...labels.data.labels.map((l) => h('option', { value: l.label, selected: l.label === state.label }, `${l.label} (${l.count})`)));
    list.scrollTop = 0;
    await load(true);
  };

  // ---- uploads through tus (web/vendor/tus.min.js): resumable, nothing in localStorage
  const uploads = [];
  const overall = h('progress', { id: 'overall', max: 1, value: 0, 'aria-label': t('overall') });
  const overallText = h('span', { class: 'muted' });
  const bump = () => {
    let sent = 0, total = 0;
    for (const u of uploads) { sent += u.sent; total += u.file.size || 1; }
    overall.max = total || 1;
    overall.value = sent;
    overallText.textContent = `${t('overall')}: ${Math.floor((100 * sent) / (total || 1))}%`;
  };
  const csrf = () => sessionStorage.getItem('kura_csrf') || '';
  const tusOne = async (u) => {
    const metadata = { filename: u.file.name, filetype: u.file.type || 'application/octet-stream', folder: String(u.folder) };
    if (!u.url) {
      const prefix = await prefixSha256(u.file).catch(() => null);
      if (prefix) metadata.prefix_sha256 = prefix;
    }
    return tusStart(u, metadata);
  };
  const tusStart = (u, metadata) => new Promise((resolve) => {
    const opts = {
      endpoint: '/api/v1/uploads',
      headers: { 'X-CSRF-Token': csrf() },
      metadata,
      chunkSize: TUS_CHUNK,
      retryDelays: RETRY_DELAYS,
      httpStack: new ResumingStack(),
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => { u.sent = sent; u.bar.max = total || 1; u.bar.value = sent; bump(); },
      // known once created: an upload running here is not listed as unfinished
      onUploadUrlAvailable: () => { u.url = upl.url; },
      onSuccess: () => { u.done(t('done'), true); resolve(); },
      // a 423 is a busy upload (another request writes it: retry), unless a WebDAV lock
      // refused it, which no retry in the next minute is likely to change
      onShouldRetry: (e, attempt, options) => {
        const st = e && e.originalResponse ? e.originalResponse.getStatus() : 0;
        if (st === 423 && String(problemOf(e).type || '').endsWith(':file-locked')) return false;
        return window.tus.defaultOptions.onShouldRetry
          ? window.tus.defaultOptions.onShouldRetry(e, attempt, options)
          : (st === 0 || st === 409 || st === 423 || st >= 500);
      },
      onError: (e) => {
        const st = e && e.originalResponse ? e.originalResponse.getStatus() : 0;
        if (st === 401) toLogin();
        const p = e && e.originalResponse ? problemOf(e) : {};
        if (String(p.type || '').endsWith(':file-locked')) {
          u.done(`${t('failed')}: ${t('fileLocked')}`, false);
          locksLoad();
          resolve();
          return;
        }
        u.done(`${t('failed')} ${st || ''} ${p.detail || ''}`.trim(), false);
        resolve();
      },
    };
    if (u.url) opts.uploadUrl = u.url;   // a listed unfinished upload: HEAD, then from its offset
    const upl = new window.tus.Upload(u.file, opts);
    u.xhr = { abort: () => { upl.abort(true); u.done(t('canceled'), false); resolve(); } };
    upl.start();
  });
  // jobs: [{ file, folder, path (shown), url (to resume) }]
  const enqueue = async (jobs) => {
    queue.hidden = false;
    const mine = [];
    for (const j of jobs) {
      const shown = j.path || j.file.name;
      const bar = h('progress', { max: j.file.size || 1, value: 0, 'aria-label': `${t('progress')}: ${shown}` });
      const st = h('span', { class: 'ustate' }, j.url ? t('resuming') : t('uploading'));
      const u = { file: j.file, folder: j.folder, url: j.url, sent: 0, bar, xhr: null, canceled: false, finished: false };
      const cancel = btn(t('cancel'), () => { u.canceled = true; if (u.xhr) u.xhr.abort(); else u.done(t('canceled'), false); }, 'plain');
      cancel.setAttribute('aria-label', `${t('cancel')}: ${shown}`);
      u.done = (s, ok) => {
        if (u.finished) return;
        u.finished = true;
        st.textContent = s; cancel.disabled = true;
        if (ok) { u.sent = j.file.size || 1; bar.value = bar.max; }
        bump();
      };
      queue.querySelector('ul').append(h('li', { class: 'upload' }, h('bdi', { class: 'uname' }, shown), bar, st, cancel));
      uploads.push(u);
      mine.push(u);
    }
    bump();
    for (const u of mine) if (!u.canceled) await tusOne(u);
    await load(true);
    await unfinishedLoad();
  };
  queue.append(h('h2', {}, t('uploading')), h('div', { class: 'row' }, overall, overallText,
    btn(t('cancelAll'), () => { for (const u of uploads) { u.canceled = true; if (u.xhr) u.xhr.abort(); } }, 'plain')), h('ul', {}));

  // A folder tree: its folders made (or reused) under the current folder, then its files
  // uploaded into them.
  const uploadTree = async (tree) => {
    const base = folderId();
    const ids = new Map([['', base]]);
    const jobs = [];
    for (const dir of tree.dirs) {
      const key = dir.join('/'), parent = ids.get(dir.slice(0, -1).join('/'));
      if (parent === undefined) continue;   // its parent failed
      const r = await api('POST', `/api/v1/folders/${enc(parent)}/children`, { name: dir[dir.length - 1], reuse: true });
      if (r.ok) ids.set(key, r.data.id);
      else say(t('folderFailed') + key + ': ', reason(r));
    }
    for (const f of tree.files) {
      const folder = ids.get(f.dir.join('/'));
      if (folder !== undefined) jobs.push({ file: f.file, folder, path: [...f.dir, f.file.name].join('/') });
    }
    if (tree.dirs.length) await load(true);
    if (jobs.length) await enqueue(jobs);
  };
  const treeError = (e) => say(e.key ? t(e.key) : t('treeRead') + (e.message || e.name || e));

  fileInput.addEventListener('change', () => {
    const folder = folderId();
    enqueue([...fileInput.files].map((file) => ({ file, folder })));
    fileInput.value = '';
  });
  dirInput.addEventListener('change', () => {
    const chosen = [...dirInput.files];
    dirInput.value = '';
    try { uploadTree(treeOfRelative(chosen)); } catch (e) { treeError(e); }
  });

  const drop = h('div', { class: 'drop', id: 'drop' }, list);
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const dt = e.dataTransfer;
    if (!dt) return;
    // the entries must be taken now: the DataTransfer is emptied after this handler
    const dirs = [], plain = [];
    const items = dt.items || [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind && it.kind !== 'file') continue;
      const entry = it.webkitGetAsEntry ? it.webkitGetAsEntry() : null;
      if (entry && entry.isDirectory) dirs.push(entry);
      else { const f = it.getAsFile ? it.getAsFile() : null; if (f) plain.push(f); }
    }
    if (!items.length && dt.files) plain.push(...dt.files);
    if (!dirs.length) {
      const folder = folderId();
      if (plain.length) enqueue(plain.map((file) => ({ file, folder })));
      return;
    }
    walkEntries(dirs, plain).then(uploadTree, treeError);
  });

  // ---- the caller's unfinished uploads (GET /api/v1/uploads): resume with the same file, or discard
  const unfinished = h('section', { id: 'unfinished', class: 'uploads', hidden: true, 'aria-labelledby': 'unfinished-title' });
  let resumeFor = null;
  const unfinishedLoad = async () => {
    const r = await api('GET', '/api/v1/uploads');
    if (!r.ok) return;
    const path = (x) => new window.URL(x, location.href).pathname;
    const active = new Set(uploads.filter((u) => !u.finished && u.url).map((u) => path(u.url)));
    const items = r.data.items.filter((it) => !it.url || !active.has(path(it.url)));
    unfinished.hidden = !items.length;
    unfinished.querySelector('ul').replaceChildren(...items.map((it) => {
      const bar = h('progress', { max: it.length || 1, value: it.offset, 'aria-label': `${t('progress')}: ${it.name}` });
      const resume = btn(t('resumeSame'), () => {
        if (!it.url) { say(t('cannotResume')); return; }
        resumeFor = it;
        resumeInput.click();
      });
      resume.setAttribute('aria-label', `${t('resumeSame')}: ${it.name}`);
      resume.classList.add('resume');
      const discard = btn(t('discard'), async () => {
        const x = it.url ? await fetch(it.url, { method: 'DELETE', credentials: 'same-origin',
          headers: { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrf() } }) : null;
        if (x && x.status === 401) toLogin();
        say(x && (x.ok || x.status === 404) ? t('discarded') : t('refused'), x && !x.ok && x.status !== 404 ? x.status : undefined);
        unfinishedLoad();
      }, 'plain');
      discard.setAttribute('aria-label', `${t('discard')}: ${it.name}`);
      discard.classList.add('discard');
      return h('li', { class: 'upload unfinished', 'data-name': it.name },
        h('span', { class: 'uname' }, h('bdi', {}, it.name), h('br', {}),
          h('span', { class: 'muted' }, t('into'), h('bdi', {}, it.folder_path === '/' ? '/ (' + t('root') + ')' : it.folder_path || '—'), ' · ',
            fmtSize(it.offset) + t('ofBytes') + fmtSize(it.length), ' · ', t('expiresAt') + fmtTime(it.expires_at))),
        bar, resume, discard);
    }));
  };
  unfinished.append(h('h2', { id: 'unfinished-title' }, t('unfinished')), h('p', { class: 'muted' }, t('unfinishedHelp')), h('ul', {}));
  resumeInput.addEventListener('change', async () => {
    const file = resumeInput.files[0], it = resumeFor;
    resumeInput.value = '';
    resumeFor = null;
    if (!file || !it) return;
    // the same file: its name (NFC, as the server stores it), its size, and its first bytes
    // when the upload was made with their hash
    if (nfc(file.name) !== nfc(it.name) || file.size !== it.length) {
      say(t('notSame') + `${file.name} (${file.size} B) ≠ ${it.name} (${it.length} B)`);
      return;
    }
    if (it.prefix_sha256) {
      const mine = await prefixSha256(file).catch(() => null);
      if (mine && mine !== it.prefix_sha256) { say(t('notSameContent') + file.name); return; }
    }
    enqueue([{ file, folder: it.folder_id, url: it.url, path: (it.folder_path && it.folder_path !== '/' ? it.folder_path.slice(1) + '/' : '') + it.name }]);
    unfinishedLoad();
  });

  // ---- the tenant's WebDAV locks (managers: GET /api/v1/locks), each removable
  const locksBox = h('section', { id: 'dav-locks', class: 'uploads', hidden: true, 'aria-labelledby': 'dav-locks-title' });
  locksBox.append(h('h2', { id: 'dav-locks-title' }, t('davLocks')), h('p', { class: 'muted' }, t('davLocksHelp')), h('ul', {}),
    h('p', { class: 'muted more', hidden: true }, t('moreLocks')));
  const locksLoad = async () => {
    if (!manager) return;
    const r = await api('GET', '/api/v1/locks');
    if (!r.ok) return;
    locksBox.hidden = !r.data.items.length;
    locksBox.querySelector('.more').hidden = !r.data.more;
    locksBox.querySelector('ul').replaceChildren(...r.data.items.map((it) => {
      const remove = btn(t('davUnlock'), async () => {
        const x = await api('DELETE', `/api/v1/locks/${encodeURIComponent(it.token)}`);
        if (x.ok || x.status === 404) say(t('davUnlocked')); else say(t('refused'), reason(x));
        await locksLoad();
      }, 'plain');
      remove.setAttribute('aria-label', `${t('davUnlock')}: ${it.path}`);
      remove.classList.add('unlock');
      return h('li', { class: 'upload lock', 'data-path': it.path },
        h('span', { class: 'uname' }, h('bdi', {}, it.path),
          h('br', {}), h('span', { class: 'muted' }, t('lockHolder'), h('bdi', {}, it.login || '—'),
            ' · ', t('lockUntil') + fmtTime(it.expires_at))),
        remove);
    }));
  };

  const newName = h('input', { id: 'folder-name', maxlength: 255, required: true });
  labelSel.addEventListener('change', () => { state.label = labelSel.value; load(true); });
  sortSel.addEventListener('change', () => { state.sort = sortSel.value; load(true); });
  orderBtn.addEventListener('click', () => {
    state.order = state.order === 'asc' ? 'desc' : 'asc';
    const label = t(state.order === 'asc' ? 'orderAsc' : 'orderDesc');
    orderBtn.textContent = label;
    orderBtn.setAttribute('aria-label', t('order') + ': ' + label);
    load(true);
  });
  search.addEventListener('input', () => { state.q = search.value.trim(); load(true); });
  window.onpopstate = () => refresh();

  view.append(
    h('h1', {}, t('files')),
    h('nav', { 'aria-label': t('crumbs'), class: 'where' }, crumbs, up),
    h('div', { class: 'toolbar' },
      h('form', { class: 'row', id: 'folder-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api('POST', `/api/v1/folders/${enc(folderId())}/children`, { name: newName.value });
        if (r.ok) { say(t('created')); newName.value = ''; await load(true); } else say(t('refused'), reason(r));
      } }, field(t('newFolder'), newName), h('button', { type: 'submit' }, t('create'))),
      h('div', { class: 'row wrap' },
        h('button', { type: 'button', id: 'upload', onclick: () => fileInput.click() }, t('chooseFiles')),
        h('button', { type: 'button', id: 'upload-folder', onclick: () => dirInput.click() }, t('chooseFolder')),
        fileInput, dirInput, resumeInput,
        zipHere,
        h('a', { href: '/trash', class: 'button plain', id: 'trash-link' }, t('trash')))),
    h('div', { class: 'toolbar' },
      field(t('filterLabel'), labelSel),
      field(t('sortBy'), sortSel),
      h('div', { class: 'order' }, orderBtn),
      field(t('searchName'), search)),
    h('p', { class: 'muted hint' }, t('dropFilesFolders')),
    unfinished,
    locksBox,
    queue,
    selBar,
    h('div', { class: 'head vrow' }, h('label', { class: 'all', title: t('selectAll') }, selectAll, h('span', { class: 'visually-hidden' }, t('selectAll'))),
      h('span', { 'aria-hidden': 'true' }, t('name')), h('span', { class: 'size', 'aria-hidden': 'true' }, t('size')),
      h('span', { class: 'when', 'aria-hidden': 'true' }, t('modified')), h('span', { class: 'labels', 'aria-hidden': 'true' }, t('labels')),
      h('span', {}), h('span', {})),
    h('div', { class: 'split' }, drop, details),
    count);
  await refresh();
  await unfinishedLoad();
  await locksLoad();
}

export async function trash(view) {
  const body = h('tbody');
  const info = h('p', { class: 'muted' });
  const load = async () => {
    const r = await api('GET', '/api/v1/trash');
    if (!r.ok) return say(t('refused'), reason(r));
    info.textContent = t('retention') + r.data.retention_days;
    body.replaceChildren(...(r.data.items.length ? [] : [h('tr', {}, h('td', { colspan: 5 }, t('empty')))]),
      ...r.data.items.map((it) => h('tr', { 'data-id': it.id },
        h('td', {}, h('bdi', {}, it.name)), h('td', {}, t(it.kind)), h('td', {}, fmtTime(it.trashed_at)),
        h('td', {}, fmtTime(it.purge_after)),
        h('td', {}, btn(t('restore'), async () => {
          const x = await api('POST', `/api/v1/trash/${it.id}/restore`);
          say(x.ok ? t('restored') : t('refused'), x.ok ? undefined : reason(x)); load();
        }), ' ', btn(t('purge'), async () => {
          const x = await api('DELETE', `/api/v1/trash/${it.id}`);
          say(x.ok ? t('deleted') : t('refused'), x.ok ? undefined : reason(x)); load();
        }, 'danger')))));
  };
  view.append(h('h1', {}, t('trash')), h('p', {}, h('a', { href: '/files' }, t('back'))), info,
    h('div', { class: 'scroll', tabindex: 0 }, h('table', { id: 'trash' }, h('thead', {}, h('tr', {},
      [t('name'), t('kind'), t('trashedAt'), t('purgeAfter'), t('actions')].map((x) => h('th', { scope: 'col' }, x)))), body)));
  await load();
}
