// Files: the folder listing paged from the API (after/limit, sorting where the server offers
// it), a breadcrumb, only the visible rows in the DOM (virtual scrolling, so a folder of
// 100,000 entries costs what one of ten does), new folder, upload (drop or choose, several
// files, progress per file and overall, cancel), download, rename, move, trash, labels,
// details; and the trash with restore and purge.
import { api, btn, field, fmtSize, fmtTime, h, reason, say, t, toLogin } from './ui.js';
import { shareDialog } from './shares.js';

const ROW = 48;          // px per row; the CSS gives .vrow this height
const PAGE = 200;        // rows per API page
const enc = encodeURIComponent;

let caps = null;         // what the server offers: { sort, search }
async function capabilities() {
  if (caps) return caps;
  // a server that sorts refuses an unknown order; one that does not ignores the parameter
  const s = await api('GET', '/api/v1/folders/root/children?limit=1&sort=size');
  const bad = await api('GET', '/api/v1/folders/root/children?limit=1&sort=no-such-order');
  const q = await api('GET', '/api/v1/search?q=a&limit=1');
  // tus: OPTIONS answers Tus-Resumable where the server takes resumable uploads
  const o = await fetch('/api/v1/uploads', { method: 'OPTIONS', credentials: 'same-origin' }).catch(() => null);
  caps = { sort: s.ok && bad.status === 400, search: q.status !== 404 && q.status !== 405,
    tus: !!(o && o.headers.get('Tus-Resumable') && window.tus && window.tus.isSupported) };
  return caps;
}

const folderId = () => new URLSearchParams(location.search).get('folder') || 'root';

export async function files(view) {
  const c = await capabilities();
  const crumbs = h('ol', { class: 'crumbs' });
  const state = { items: [], more: false, loading: false, folder: null, label: '', sort: 'name', q: '' };
  const labelSel = h('select', { id: 'label-filter' }, h('option', { value: '' }, t('all')));
  const sortSel = h('select', { id: 'sort' }, ['name', 'size', 'modified'].map((k) => h('option', { value: k }, t(k))));
  const search = h('input', { id: 'search', type: 'search', maxlength: 255 });
  const list = h('div', { class: 'vlist', id: 'list', role: 'list', tabindex: '-1', 'aria-label': t('files') });
  const space = h('div', { class: 'vspace' });
  list.append(space);
  const details = h('aside', { id: 'details', class: 'details', hidden: true, 'aria-label': t('details') });
  const count = h('p', { id: 'count', class: 'muted' });
  const queue = h('section', { id: 'uploads', class: 'uploads', hidden: true, 'aria-label': t('uploading') });
  const fileInput = h('input', { id: 'file-input', type: 'file', multiple: true, class: 'visually-hidden',
    tabindex: '-1', 'aria-hidden': 'true' });

  const load = async (reset) => {
    if (state.loading) return;
    state.loading = true;
    try {
      if (reset) { state.items = []; state.more = false; }
      let r;
      if (state.q) {
        r = await api('GET', `/api/v1/search?q=${enc(state.q)}&limit=${PAGE}`);
        if (r.ok) { state.items = r.data.items || []; state.more = false; }
      } else {
        const p = new URLSearchParams({ limit: PAGE });
        if (state.label) p.set('label', state.label);
        if (c.sort && state.sort !== 'name') p.set('sort', state.sort);
        const last = state.items[state.items.length - 1];
        if (last && !reset) p.set('after', c.sort && state.sort !== 'name' && last.cursor ? last.cursor : last.name);
        r = await api('GET', `/api/v1/folders/${enc(folderId())}/children?${p}`);
        if (r.ok) {
          state.folder = r.data.folder;
          state.items = state.items.concat(r.data.items);
          state.more = r.data.more;
        }
      }
      if (!r.ok) { say(t('refused'), reason(r)); return; }
      count.textContent = state.items.length + (state.more ? '+' : '') + t('items');
      space.style.height = Math.max(state.items.length, 1) * ROW + 'px';
      paint();
    } finally {
      state.loading = false;
    }
  };

  // only the rows in view (and a few around them) exist
  const paint = () => {
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
    const last = Math.min(state.items.length, first + Math.ceil((list.clientHeight || 600) / ROW) + 10);
    const rows = [];
    if (!state.items.length) rows.push(h('div', { class: 'vrow empty', role: 'listitem' }, t('empty')));
    for (let i = first; i < last; i++) rows.push(row(state.items[i], i));
    space.replaceChildren(...rows);
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
      ? h('button', { type: 'button', class: 'link name', onclick: () => open(it.id) }, h('bdi', {}, it.name), h('span', { class: 'slash', 'aria-hidden': 'true' }, '/'))
      : h('a', { class: 'name', href: `/api/v1/files/${it.id}/content`, download: '' }, h('bdi', {}, it.name));
    const r = h('div', { class: 'vrow', role: 'listitem', 'data-id': it.id, 'data-name': it.name },
      name,
      h('span', { class: 'size' }, it.kind === 'file' ? fmtSize(it.size) : ''),
      h('span', { class: 'when' }, fmtTime(it.modified_at)),
      h('span', { class: 'labels' }, (it.labels || []).map((l) => h('span', { class: 'tag' }, l))),
      h('button', { type: 'button', class: 'plain more', 'aria-label': t('details') + ': ' + it.name,
        onclick: () => showDetails(it) }, '…'));
    r.style.top = i * ROW + 'px';
    return r;
  };

  const kindPath = (it) => (it.kind === 'folder' ? 'folders' : 'files');

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
        it.kind === 'file' ? [h('dt', {}, t('size')), h('dd', {}, fmtSize(it.size) + ' (' + it.size + ' B)'),
          h('dt', {}, t('type')), h('dd', {}, it.content_type || '')] : null,
        h('dt', {}, t('modified')), h('dd', {}, fmtTime(it.modified_at)),
        h('dt', {}, t('uploader')), h('dd', {}, h('bdi', {}, it.created_by || '—')),
        h('dt', {}, t('labels')), h('dd', { id: 'detail-labels' }, (it.labels || []).map((l) =>
          h('span', { class: 'tag' }, l, btn('×', () => act(api('DELETE', `/api/v1/${kindPath(it)}/${it.id}/labels/${enc(l)}`), t('saved')), 'x')))),
      ),
      h('div', { class: 'actions' },
        it.kind === 'file' ? h('a', { class: 'button', href: `/api/v1/files/${it.id}/content`, download: '' }, t('download')) : null,
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
    let cur = id === 'root' ? null : await api('GET', `/api/v1/folders/${enc(id)}`);
    while (cur && cur.ok && cur.data.parent_id && trail.length < 64) {
      trail.unshift(cur.data);
      cur = await api('GET', `/api/v1/folders/${cur.data.parent_id}`);
    }
    crumbs.replaceChildren(h('li', {}, btn(t('root'), () => open('root'), 'link')),
      ...trail.map((f, i) => h('li', {}, i === trail.length - 1
        ? h('span', { 'aria-current': 'location' }, h('bdi', {}, f.name)) : btn(f.name, () => open(f.id), 'link'))));
    const labels = await api('GET', '/api/v1/labels');
    if (labels.ok) labelSel.replaceChildren(h('option', { value: '' }, t('all')),
      ...labels.data.labels.map((l) => h('option', { value: l.label, selected: l.label === state.label }, `${l.label} (${l.count})`)));
    list.scrollTop = 0;
    await load(true);
  };

  // uploads: tus (resumable, web/vendor/tus.min.js) when the server offers it, else a
  // plain PUT per file with XHR progress
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
  const putOne = (u, folder) => new Promise((resolve) => {
    const x = new XMLHttpRequest();
    u.xhr = x;
    x.open('PUT', `/api/v1/folders/${enc(folder)}/files/${enc(u.file.name)}`);
    x.setRequestHeader('Content-Type', u.file.type || 'application/octet-stream');
    const csrf = sessionStorage.getItem('kura_csrf');
    if (csrf) x.setRequestHeader('X-CSRF-Token', csrf);
    x.upload.onprogress = (e) => { u.sent = e.loaded; u.bar.max = e.total || 1; u.bar.value = e.loaded; bump(); };
    x.onload = () => {
      if (x.status === 401) toLogin();
      let detail = '';
      try { detail = JSON.parse(x.responseText).detail || ''; } catch { /* not JSON */ }
      u.done(x.status < 300 ? t('done') : `${t('failed')} (${x.status}) ${detail}`, x.status < 300);
      resolve();
    };
    x.onerror = () => { u.done(t('failed'), false); resolve(); };
    x.onabort = () => { u.done(t('canceled'), false); resolve(); };
    x.send(u.file);
  });
  // tus-js-client retries from the last offset the server acknowledged; it keeps no
  // fingerprint in localStorage (which holds the language only)
  const tusOne = (u, folder) => new Promise((resolve) => {
    const up = new window.tus.Upload(u.file, {
      endpoint: '/api/v1/uploads',
      headers: { 'X-CSRF-Token': sessionStorage.getItem('kura_csrf') || '' },
      metadata: { filename: u.file.name, filetype: u.file.type || 'application/octet-stream', folder: String(folder) },
      chunkSize: 16 * 1024 * 1024,
      // a dropped connection can hold the upload on the server (423) until its body timeout
      // (body_timeout_seconds, 20 s) cuts it, and a restart takes a while: retry for 74 s
      retryDelays: [0, 1000, 3000, 5000, 10000, 10000, 15000, 30000],
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => { u.sent = sent; u.bar.max = total || 1; u.bar.value = sent; bump(); },
      onSuccess: () => { u.done(t('done'), true); resolve(); },
      onError: (e) => {
        const st = e && e.originalResponse ? e.originalResponse.getStatus() : 0;
        if (st === 401) toLogin();
        u.done(`${t('failed')} ${st || ''}`, false);
        resolve();
      },
    });
    u.xhr = { abort: () => { up.abort(true); u.done(t('canceled'), false); resolve(); } };
    up.start();
  });
  const enqueue = async (fileList) => {
    const folder = folderId();
    queue.hidden = false;
    const mine = [];
    for (const file of fileList) {
      const bar = h('progress', { max: file.size || 1, value: 0, 'aria-label': `${t('progress')}: ${file.name}` });
      const st = h('span', { class: 'ustate' }, t('uploading'));
      const u = { file, sent: 0, bar, xhr: null, canceled: false };
      const cancel = btn(t('cancel'), () => { u.canceled = true; if (u.xhr) u.xhr.abort(); else u.done(t('canceled'), false); }, 'plain');
      cancel.setAttribute('aria-label', `${t('cancel')}: ${file.name}`);
      u.done = (s, ok) => { st.textContent = s; cancel.disabled = true; if (ok) { u.sent = file.size || 1; bar.value = bar.max; } bump(); };
      queue.querySelector('ul').append(h('li', { class: 'upload' }, h('bdi', { class: 'uname' }, file.name), bar, st, cancel));
      uploads.push(u);
      mine.push(u);
    }
    bump();
    for (const u of mine) if (!u.canceled) await (c.tus ? tusOne(u, folder) : putOne(u, folder));
    await load(true);
  };
  queue.append(h('h2', {}, t('uploading')), h('div', { class: 'row' }, overall, overallText,
    btn(t('cancelAll'), () => { for (const u of uploads) { u.canceled = true; if (u.xhr) u.xhr.abort(); } }, 'plain')), h('ul', {}));
  fileInput.addEventListener('change', () => { enqueue([...fileInput.files]); fileInput.value = ''; });

  const drop = h('div', { class: 'drop', id: 'drop' }, list);
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files.length) enqueue([...e.dataTransfer.files]);
  });

  const newName = h('input', { id: 'folder-name', maxlength: 255, required: true });
  labelSel.addEventListener('change', () => { state.label = labelSel.value; load(true); });
  sortSel.addEventListener('change', () => { state.sort = sortSel.value; load(true); });
  search.addEventListener('input', () => { state.q = search.value.trim(); load(true); });
  window.onpopstate = () => refresh();

  view.append(
    h('h1', {}, t('files')),
    h('nav', { 'aria-label': t('crumbs') }, crumbs),
    h('div', { class: 'toolbar' },
      h('form', { class: 'row', id: 'folder-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api('POST', `/api/v1/folders/${enc(folderId())}/children`, { name: newName.value });
        if (r.ok) { say(t('created')); newName.value = ''; await load(true); } else say(t('refused'), reason(r));
      } }, field(t('newFolder'), newName), h('button', { type: 'submit' }, t('create'))),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'upload', onclick: () => fileInput.click() }, t('upload')),
        fileInput,
        h('a', { href: '/trash', class: 'button plain', id: 'trash-link' }, t('trash')))),
    h('div', { class: 'toolbar' },
      field(t('filterLabel'), labelSel),
      c.sort ? field(t('sortBy'), sortSel) : null,
      c.search ? field(t('searchName'), search) : null),
    h('p', { class: 'muted hint' }, t('dropHere')),
    queue,
    h('div', { class: 'head vrow', 'aria-hidden': 'true' }, h('span', {}, t('name')), h('span', { class: 'size' }, t('size')),
      h('span', { class: 'when' }, t('modified')), h('span', { class: 'labels' }, t('labels')), h('span', {})),
    h('div', { class: 'split' }, drop, details),
    count);
  await refresh();
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
