// The files view in a real Chromium (playwright-core, Debian's /usr/bin/chromium) against a
// real `kura serve`:
// - a selection (checkboxes, select all loaded rows) downloaded as one ZIP, opened here
//   (central directory: Japanese names, UTF-8 flag, the bytes); a folder's ZIP from its row;
//   a selection past the archive API's bounds said so and not sent; the selection to the trash;
// - folder trees: an <input webkitdirectory> given a directory, a drop whose entries are
//   directories (FileSystemDirectoryEntry, walked by files.js), folders made or reused,
//   files in them; a tree deeper than the bound refused with the message, nothing made;
// - resume after a reload: an upload throttled and cut by reloading the page is listed under
//   "unfinished uploads", refused for another file, resumed with the same one and downloaded
//   byte-identical; another one discarded (tus termination); nothing in localStorage but
//   the language;
// - keyboard only: Tab to "Choose files", Enter, upload; a file's details and its share
//   dialog by keyboard; the details (size, type, modified, uploader, labels);
// - the sort order toggle;
// - axe-core (no serious or critical violation) in ja and en with the selection bar and
//   unfinished uploads shown; screenshots at 375 px and 1920 px in both languages into
//   KURA_SHOT_DIR (the build directory's screenshots/).
//
// usage: node tests/browser/files.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Files-test-Passphrase-7';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'portal-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

// The entries of a ZIP from its central directory: name, UTF-8 flag, folder, bytes (stored).
function unzip(buf) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'a ZIP end of central directory');
  const n = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < n; i++) {
    assert.equal(buf.readUInt32LE(off), 0x02014b50, 'central directory entry');
    const flags = buf.readUInt16LE(off + 8), method = buf.readUInt16LE(off + 10);
    const size = buf.readUInt32LE(off + 24), nlen = buf.readUInt16LE(off + 28);
    const xlen = buf.readUInt16LE(off + 30), clen = buf.readUInt16LE(off + 32);
    const lho = buf.readUInt32LE(off + 42);
    const name = buf.toString('utf8', off + 46, off + 46 + nlen);
    assert.equal(method, 0, `${name} stored`);
    const data = lho + 30 + buf.readUInt16LE(lho + 26) + buf.readUInt16LE(lho + 28);
    out.push({ name, utf8: (flags & 0x800) !== 0, bytes: buf.subarray(data, data + size) });
    off += 46 + nlen + xlen + clen;
  }
  return out;
}

await run('files.test', process.argv[2], async ({ origin, demoPw, launch }) => {
  mkdirSync(SHOTS, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'kura-files-test-'));
  // --- set-up through the API (as portal.test): new password, TOTP, policy optional, TOTP off
  let cookie = '', csrf = '';
  const call = async (method, path, body, raw, headers = {}) => {
    const hd = { Cookie: cookie, 'X-CSRF-Token': csrf, ...headers };
    if (body !== undefined && !raw) hd['Content-Type'] = 'application/json';
    const r = await fetch(origin + path, { method, headers: hd, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
    const buf = Buffer.from(await r.arrayBuffer());
    let data = {};
    try { data = JSON.parse(buf.toString('utf8')); } catch { /* not JSON */ }
    return { status: r.status, data, headers: r.headers, buf };
  };
  let r = await call('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
  assert.equal(r.status, 201);
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  assert.equal((await call('POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW })).status, 204);
  r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  const put = async (folder, name, content, type = 'text/plain') => {
    const x = await call('PUT', `/api/v1/folders/${folder}/files/${encodeURIComponent(name)}`, content, true, { 'Content-Type': type });
    assert.ok(x.status === 201 || x.status === 200, JSON.stringify(x.data));
    return x.data.id;
  };
  const mkdir = async (parent, name) => {
    const x = await call('POST', `/api/v1/folders/${parent}/children`, { name });
    assert.equal(x.status, 201, JSON.stringify(x.data));
    return x.data.id;
  };
  const children = async (folder) => (await call('GET', `/api/v1/folders/${folder}/children?limit=1000`)).data.items;
  const child = async (folder, name) => (await children(folder)).find((x) => x.name === name);
  const docs = await mkdir('root', '資料');
  await put(docs, '報告書 2026.txt', '報告書の本文');
  await put(docs, 'b.txt', 'bee');
  await put('root', '見積書.txt', '見積もり');
  await put('root', 'alpha.txt', 'a');
  // a folder of 600 files: a selection of all of them is too long for one archive URL
  const many = await mkdir('root', 'many');
  for (let i = 0; i < 600; i++) await put(many, `m${String(i).padStart(3, '0')}.txt`, 'x');

  const browser = await launch();
  const ctxFor = async (locale, width = 1280, height = 900) => {
    const c = await browser.newContext({ locale, viewport: { width, height }, acceptDownloads: true });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('filechooser', () => {});
    p.on('pageerror', (e) => console.log('PAGEERROR', e.message));
    p.on('response', (x) => { if (x.status() === 404) console.log('404:', x.url()); });
    p.on('dialog', (d) => { if (d.type() === 'alert') throw new Error('a script ran: ' + d.message()); d.accept(); });
    return { c, p };
  };
  const ready = (p) => p.waitForSelector('body[data-ready="1"]');
  const login = async (p) => {
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'demo');
    await p.fill('#login', 'admin');
    await p.fill('#password', PW);
    await p.click('#submit');
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const { c: jaCtx, p: ja } = await ctxFor('ja-JP');
  await ja.goto(`${origin}/files`);
  await login(ja);
  await ja.waitForURL(`${origin}/files`);
  await ready(ja);
  await ja.waitForSelector('#list [data-name="資料"]');
  const saveDownload = async (p, click, name) => {
    const [dl] = await Promise.all([p.waitForEvent('download'), click()]);
    const path = join(work, name);
    await dl.saveAs(path);
    return readFileSync(path);
  };

  // 1. the sort order: name ascending, then descending by the toggle (the server sorts)
  const names = () => ja.$$eval('#list .vrow[data-name]', (n) => n.map((x) => x.dataset.name));
  assert.deepEqual((await names()).slice(0, 2), ['alpha.txt', 'many']);
  await ja.click('#order');
  await ja.waitForFunction(() => document.querySelector('#list .vrow[data-name]').dataset.name === '資料');
  assert.match(await ja.getAttribute('#order', 'aria-label'), /降順/);
  await ja.click('#order');
  await ja.waitForFunction(() => document.querySelector('#list .vrow[data-name]').dataset.name === 'alpha.txt');

  // 2. a selection as a ZIP: a folder and a file, checked by keyboard (Space on the checkbox)
  await ja.focus('#list .vrow[data-name="資料"] input.pick');
  await ja.keyboard.press('Space');
  await ja.focus('#list .vrow[data-name="見積書.txt"] input.pick');
  await ja.keyboard.press('Space');
  await ja.waitForSelector('#selection:not([hidden])');
  assert.equal(await ja.textContent('#selection-count'), '2 件を選択中');
  assert.equal(await ja.isDisabled('#zip-selection'), false);
  let zip = unzip(await saveDownload(ja, () => ja.click('#zip-selection'), 'selection.zip'));
  const byName = (z) => Object.fromEntries(z.map((e) => [e.name, e]));
  let m = byName(zip);
  assert.deepEqual(Object.keys(m).sort(), ['見積書.txt', '資料/', '資料/b.txt', '資料/報告書 2026.txt'].sort());
  assert.ok(zip.every((e) => e.utf8), 'every name flagged UTF-8');
  assert.equal(m['資料/報告書 2026.txt'].bytes.toString('utf8'), '報告書の本文');
  assert.equal(m['見積書.txt'].bytes.toString('utf8'), '見積もり');
  // a folder's ZIP from its row, and the current folder's
  zip = unzip(await saveDownload(ja, () => ja.click('#list .vrow[data-name="資料"] a.zip'), 'folder.zip'));
  assert.deepEqual(zip.map((e) => e.name).sort(), ['b.txt', '報告書 2026.txt'].sort());
  zip = unzip(await saveDownload(ja, () => ja.click('#zip-folder'), 'root.zip'));
  assert.ok(zip.some((e) => e.name === 'many/m599.txt') && zip.some((e) => e.name === 'alpha.txt'));
  // the selection to the trash
  await ja.click('#clear-selection');
  await ja.waitForSelector('#selection', { state: 'hidden' });
  await ja.check('#list .vrow[data-name="alpha.txt"] input.pick');
  await ja.click('#trash-selection');
  await ja.waitForSelector('#list [data-name="alpha.txt"]', { state: 'detached' });
  assert.ok((await call('GET', '/api/v1/trash')).data.items.some((x) => x.name === 'alpha.txt'));
  await ja.waitForSelector('#selection', { state: 'hidden' });

  // 3. 600 loaded rows selected at once do not fit into one archive URL: POSTed instead
  await ja.click('#list [data-name="many"] button.name');
  await ja.waitForSelector('#list [data-name="m000.txt"]');
  // scrolled until every page is loaded: a deadline (a loaded machine fetches slowly), not a count of tries
  for (const until = Date.now() + 60000; !/^600 /.test(await ja.textContent('#count')) && Date.now() < until;) {
    await ja.$eval('#list', (l) => { l.scrollTop = l.scrollHeight; });
    await ja.waitForTimeout(100);
  }
  assert.match(await ja.textContent('#count'), /^600 /);
  await ja.check('#select-all');
  await ja.waitForSelector('#selection:not([hidden])');
  assert.equal(await ja.textContent('#selection-count'), '600 件を選択中');
  assert.equal(await ja.$eval('#selection-limit', (e) => e.hidden), true);
  assert.equal(await ja.isDisabled('#zip-selection'), false);
  const posts = [];
  ja.on('request', (q) => { if (q.url().endsWith('/api/v1/archive')) posts.push([q.method(), q.headers()['x-csrf-token']]); });
  zip = unzip(await saveDownload(ja, () => ja.click('#zip-selection'), 'many.zip'));
  assert.equal(zip.length, 600);
  assert.ok(zip.some((e) => e.name === 'm000.txt') && zip.some((e) => e.name === 'm599.txt'));
  assert.equal(posts.length, 1);
  assert.equal(posts[0][0], 'POST');
  assert.ok(posts[0][1], 'the POST carries the CSRF header');
  await ja.screenshot({ path: join(SHOTS, 'files-selection-600-ja.png'), fullPage: false });
  // the same bounds in the module itself: more than 1,000 ids
  const bounds = await ja.evaluate(async () => {
    const f = await import('/assets/files.js');
    const items = Array.from({ length: 1001 }, (_, i) => ({ id: i + 1, name: 'n' + i }));
    return [f.ARCHIVE_IDS_MAX, f.archiveUrl(items).error, f.archiveUrl(items.slice(0, 3)).url,
      f.archiveUrl([{ id: 1, name: 'a' }, { id: 2, name: 'a' }]).error,
      f.archiveUrl(items.slice(0, 1000).map((x) => ({ id: x.id + 1000000, name: x.name }))).post.length];
  });
  assert.equal(bounds[0], 1000);
  assert.match(bounds[1], /1,000 件まで.*1001/);
  assert.equal(bounds[2], '/api/v1/archive?ids=1,2,3');
  assert.equal(bounds[4], 1000);
  assert.match(bounds[3], /同じ名前/);
  await ja.uncheck('#select-all');
  await ja.waitForSelector('#selection', { state: 'hidden' });

  // 4. a folder tree through <input webkitdirectory>, then the same tree again (reused)
  await ja.goto(`${origin}/files`);
  await ready(ja);
  const treeDir = join(work, 'ツリー');
  mkdirSync(join(treeDir, '階層', '深い'), { recursive: true });
  mkdirSync(join(treeDir, 'sub'), { recursive: true });
  writeFileSync(join(treeDir, 'top.txt'), 'top');
  writeFileSync(join(treeDir, '階層', 'mid.txt'), 'mid');
  writeFileSync(join(treeDir, '階層', '深い', 'deep.txt'), 'deep');
  writeFileSync(join(treeDir, 'sub', 's.txt'), 's');
  await ja.setInputFiles('#folder-input', treeDir);
  await ja.waitForSelector('#list [data-name="ツリー"]');
  await ja.waitForFunction(() => [...document.querySelectorAll('#uploads .ustate')].filter((x) => x.textContent === '完了').length === 4);
  const tree = await child('root', 'ツリー');
  assert.equal(tree.kind, 'folder');
  const kai = await child(tree.id, '階層');
  const fuka = await child(kai.id, '深い');
  assert.equal((await call('GET', `/api/v1/files/${(await child(fuka.id, 'deep.txt')).id}/content`)).buf.toString(), 'deep');
  assert.equal((await call('GET', `/api/v1/files/${(await child(tree.id, 'top.txt')).id}/content`)).buf.toString(), 'top');
  writeFileSync(join(treeDir, 'top.txt'), 'top, again');
  await ja.setInputFiles('#folder-input', treeDir);
  await ja.waitForFunction(() => [...document.querySelectorAll('#uploads .ustate')].filter((x) => x.textContent === '完了').length === 8);
  assert.deepEqual((await children('root')).filter((x) => x.name.startsWith('ツリー')).map((x) => x.id), [tree.id], 'the folder reused');
  assert.equal((await children(tree.id)).length, 3);
  assert.equal((await call('GET', `/api/v1/files/${(await child(tree.id, 'top.txt')).id}/content`)).buf.toString(), 'top, again');

  // 4b. a file a WebDAV client holds locked: the upload fails at once with the message in the
  //     page's language (no minute of tus retries), and nothing is replaced; after a manager
  //     removes the lock the same upload goes through
  {
    await put('root', 'locked.txt', 'edited elsewhere');
    const ap = await call('POST', '/api/v1/me/app-passwords', { name: 'editor', scope: 'read-write' });
    assert.equal(ap.status, 201, JSON.stringify(ap.data));
    const basic = 'Basic ' + Buffer.from(`admin@demo:${ap.data.secret}`).toString('base64');
    const lk = await fetch(`${origin}/dav/demo/locked.txt`, { method: 'LOCK', headers: { Authorization: basic, 'Content-Type': 'application/xml' },
      body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' });
    assert.equal(lk.status, 200, await lk.text());
    const token = lk.headers.get('lock-token').replace(/[<>]/g, '');
    await ja.setInputFiles('#file-input', { name: 'locked.txt', mimeType: 'text/plain', buffer: Buffer.from('replaced?') });
    const row = ja.locator('#uploads li.upload', { has: ja.locator('.uname', { hasText: /^locked\.txt$/ }) });
    await row.locator('.ustate', { hasText: 'ロックしています' }).waitFor();
    assert.equal((await call('GET', `/api/v1/files/${(await child('root', 'locked.txt')).id}/content`)).buf.toString(), 'edited elsewhere');
    await row.screenshot({ path: join(SHOTS, 'files-locked-ja.png') });
    // the manager sees the lock on this page and removes it (by keyboard)
    const lockRow = ja.locator('#dav-locks li[data-path="/locked.txt"]');
    await lockRow.waitFor();
    assert.match(await lockRow.innerText(), /保持者: admin/);
    await axe(ja, 'files with a WebDAV lock (ja)');
    await ja.locator('#dav-locks').screenshot({ path: join(SHOTS, 'files-dav-locks-ja.png') });
    await lockRow.locator('button.unlock').focus();
    await ja.keyboard.press('Enter');
    await ja.locator('#dav-locks').waitFor({ state: 'hidden' });
    assert.equal((await call('GET', '/api/v1/locks')).data.items.length, 0);
    assert.equal((await call('DELETE', `/api/v1/locks/${encodeURIComponent(token)}`)).status, 404);
    await ja.setInputFiles('#file-input', { name: 'locked.txt', mimeType: 'text/plain', buffer: Buffer.from('a') });
    await ja.waitForFunction(() => [...document.querySelectorAll('#uploads li.upload')].filter((li) =>
      li.querySelector('.uname').textContent === 'locked.txt' && li.querySelector('.ustate').textContent === '完了').length === 1);
  }

  // 5. a drop of directories: FileSystemDirectoryEntry-shaped entries walked by files.js (the
  //    reader answers in batches, as Chromium's does); a plain file dropped beside them
  await ja.evaluate(() => {
    const file = (name, text) => ({ isFile: true, isDirectory: false, name,
      file: (ok) => ok(new File([text], name, { type: 'text/plain' })) });
    const dir = (name, kids) => ({ isFile: false, isDirectory: true, name, createReader: () => {
      let i = 0;
      return { readEntries: (ok) => { const b = kids.slice(i, i + 2); i += b.length; setTimeout(() => ok(b), 0); } };
    } });
    const root = dir('ドロップ', [file('1.txt', 'one'), file('2.txt', 'two'), dir('空', []),
      dir('下', [file('3.txt', 'three'), dir('更に下', [file('4.txt', 'four')])])]);
    const loose = new File(['loose'], 'loose.txt', { type: 'text/plain' });
    const items = [{ kind: 'file', webkitGetAsEntry: () => root, getAsFile: () => null },
      { kind: 'file', webkitGetAsEntry: () => file('loose.txt', 'loose'), getAsFile: () => loose }];
    const ev = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(ev, 'dataTransfer', { value: { items, files: [] } });
    document.getElementById('drop').dispatchEvent(ev);
  });
  await ja.waitForSelector('#list [data-name="ドロップ"]');
  await ja.waitForSelector('#list [data-name="loose.txt"]');
  await ja.waitForFunction(() => [...document.querySelectorAll('#uploads .ustate')].filter((x) => x.textContent === '完了').length === 14);
  const dropped = await child('root', 'ドロップ');
  assert.deepEqual((await children(dropped.id)).map((x) => x.name).sort(), ['1.txt', '2.txt', '下', '空'].sort());
  const sita = await child(dropped.id, '下');
  const sarani = await child(sita.id, '更に下');
  assert.equal((await call('GET', `/api/v1/files/${(await child(sarani.id, '4.txt')).id}/content`)).buf.toString(), 'four');
  // deeper than the bound: the message, and nothing made
  await ja.evaluate(async () => {
    const { TREE_DEPTH_MAX } = await import('/assets/files.js');
    let d = { isFile: false, isDirectory: true, name: 'leaf', createReader: () => ({ readEntries: (ok) => ok([]) }) };
    for (let i = 0; i < TREE_DEPTH_MAX; i++) {
      const kid = d;
      let given = false;
      d = { isFile: false, isDirectory: true, name: i === TREE_DEPTH_MAX - 1 ? '深すぎる' : 'd' + i,
        createReader: () => ({ readEntries: (ok) => { const b = given ? [] : [kid]; given = true; ok(b); } }) };
    }
    const ev = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(ev, 'dataTransfer', { value: { items: [{ kind: 'file', webkitGetAsEntry: () => d }], files: [] } });
    document.getElementById('drop').dispatchEvent(ev);
  });
  await ja.waitForSelector('#msg:has-text("階層が深すぎます")');
  assert.equal(await child('root', '深すぎる'), undefined);

  // 6. resume after a reload: a throttled upload cut by the reload, listed, resumed
  const big = randomBytes(3 * 1024 * 1024 + 12345);
  const cdp = await jaCtx.newCDPSession(ja);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1,
    uploadThroughput: 400 * 1024 });
  await ja.setInputFiles('#file-input', { name: '再開テスト.bin', mimeType: 'application/octet-stream', buffer: big });
  await ja.waitForFunction(() => {
    const b = document.querySelector('#uploads progress[aria-label$="再開テスト.bin"]');
    return b && b.value > 1024 * 1024;
  });
  await ja.reload();
  await ready(ja);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // the server keeps the whole chunks that arrived before the cut
  let listed;
  for (;;) {
    listed = (await call('GET', '/api/v1/uploads')).data.items.find((x) => x.name === '再開テスト.bin');
    if (listed && listed.offset > 0) break;
    await ja.waitForTimeout(100);
  }
  assert.ok(listed.offset < big.length && listed.offset % 65536 === 0, `offset ${listed.offset}`);
  // a second one, never written: discarded below
  r = await call('POST', '/api/v1/uploads', undefined, false, { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10',
    'Upload-Metadata': 'filename ' + Buffer.from('捨てる.bin').toString('base64') });
  assert.equal(r.status, 201);
  await ja.reload();
  await ready(ja);
  await ja.waitForSelector('#unfinished:not([hidden]) li[data-name="再開テスト.bin"]');
  await ja.waitForSelector('#unfinished li[data-name="捨てる.bin"]');
  assert.deepEqual(await ja.evaluate(() => Object.keys(localStorage)).then((k) => k.filter((x) => x !== 'kura_lang')), [],
    'nothing in localStorage but the language');
  // axe and screenshots with unfinished uploads and the selection bar shown
  await ja.check('#list .vrow[data-name="見積書.txt"] input.pick');
  await ja.waitForSelector('#selection:not([hidden])');
  for (const [lang, ctxPage] of [['ja', ja]]) {
    await axe(ctxPage, `files with selection and unfinished uploads (${lang})`);
    await ctxPage.screenshot({ path: join(SHOTS, `files-view.${lang}.png`), fullPage: true });
  }
  // another file: refused, still listed
  const resumeLi = '#unfinished li[data-name="再開テスト.bin"]';
  let [chooser] = await Promise.all([ja.waitForEvent('filechooser'), ja.click(`${resumeLi} button.resume`)]);
  await chooser.setFiles({ name: '再開テスト.bin', mimeType: 'application/octet-stream', buffer: big.subarray(1) });
  await ja.waitForSelector('#msg:has-text("名前と大きさが一致しません")');
  await ja.waitForSelector(resumeLi);
  // the same name and size, other bytes: refused by the first bytes' hash, still listed
  assert.match(listed.prefix_sha256, /^[0-9a-f]{64}$/);
  const other = Buffer.from(big);
  other[100] ^= 1;
  [chooser] = await Promise.all([ja.waitForEvent('filechooser'), ja.click(`${resumeLi} button.resume`)]);
  await chooser.setFiles({ name: '再開テスト.bin', mimeType: 'application/octet-stream', buffer: other });
  await ja.waitForSelector('#msg:has-text("先頭の内容が一致しません")');
  await ja.waitForSelector(resumeLi);
  // the same file, by keyboard: Enter on the resume button
  const patches = [];
  ja.on('request', (q) => { if (q.method() === 'PATCH') patches.push(q.headers()['upload-offset']); });
  await ja.focus(`${resumeLi} button.resume`);
  [chooser] = await Promise.all([ja.waitForEvent('filechooser'), ja.keyboard.press('Enter')]);
  await chooser.setFiles({ name: '再開テスト.bin', mimeType: 'application/octet-stream', buffer: big });
  await ja.waitForSelector('#list [data-name="再開テスト.bin"]');
  assert.equal(patches[0], String(listed.offset), `resumed from the listed offset (${patches})`);
  const done = await child('root', '再開テスト.bin');
  assert.ok((await call('GET', `/api/v1/files/${done.id}/content`)).buf.equals(big), 'byte-identical');
  await ja.waitForSelector(resumeLi, { state: 'detached' });
  // discard: tus termination
  await ja.click('#unfinished li[data-name="捨てる.bin"] button.discard');
  await ja.waitForSelector('#unfinished', { state: 'hidden' });
  assert.deepEqual((await call('GET', '/api/v1/uploads')).data.items, []);
  assert.ok((await call('GET', '/api/v1/audit?action=upload.terminate')).data.events.length >= 1);

  // 7. keyboard only: Tab to "Choose files", Enter, upload; then a file's share dialog
  await ja.goto(`${origin}/files`);
  await ready(ja);
  await ja.focus('#folder-name');
  for (let i = 0; i < 10 && (await ja.evaluate(() => document.activeElement.id)) !== 'upload'; i++) await ja.keyboard.press('Tab');
  assert.equal(await ja.evaluate(() => document.activeElement.id), 'upload');
  [chooser] = await Promise.all([ja.waitForEvent('filechooser'), ja.keyboard.press('Enter')]);
  await chooser.setFiles({ name: 'キーボード.txt', mimeType: 'text/plain', buffer: Buffer.from('keys') });
  await ja.waitForSelector('#list [data-name="キーボード.txt"]');
  await ja.focus('#list .vrow[data-name="キーボード.txt"] input.pick');
  for (let i = 0; i < 6 && !(await ja.evaluate(() => document.activeElement.classList.contains('more'))); i++) await ja.keyboard.press('Tab');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#details:not([hidden]) #rename-form');
  assert.equal(await ja.evaluate(() => document.activeElement.tagName), 'H2');
  assert.equal(await ja.textContent('#detail-size'), '4 B (4 B)');
  assert.equal(await ja.textContent('#detail-type'), 'text/plain');
  assert.match(await ja.textContent('#detail-modified'), /^\d{4}-\d\d-\d\d \d\d:\d\d /);
  assert.notEqual((await ja.textContent('#detail-uploader')).trim(), '—');
  for (let i = 0; i < 8 && (await ja.evaluate(() => document.activeElement.textContent)) !== '共有'; i++) await ja.keyboard.press('Tab');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#dialog[open]');
  await ja.keyboard.press('Escape');
  await ja.waitForSelector('#dialog', { state: 'hidden' });
  // labels in the details: added by keyboard, shown, removed
  await ja.click('#list .vrow[data-name="キーボード.txt"] button.more');
  await ja.waitForSelector('#details:not([hidden]) #label-form');
  await ja.focus('#label-name');
  await ja.keyboard.type('確認済み');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#list .vrow[data-name="キーボード.txt"] .tag:has-text("確認済み")');
  await ja.click('#list .vrow[data-name="キーボード.txt"] button.more');
  await ja.waitForSelector('#detail-labels .tag:has-text("確認済み")');
  await ja.click('#detail-labels .tag button.x');
  await ja.waitForSelector('#list .vrow[data-name="キーボード.txt"] .tag', { state: 'detached' });

  // 8. English, and the phone and wide screens, with the selection bar and an unfinished upload
  r = await call('POST', '/api/v1/uploads', undefined, false, { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10',
    'Upload-Metadata': 'filename ' + Buffer.from('unfinished.bin').toString('base64') });
  assert.equal(r.status, 201);
  for (const [lang, locale] of [['ja', 'ja-JP'], ['en', 'en-US']]) {
    for (const width of [375, 1920]) {
      const { c, p } = await ctxFor(locale, width, width === 375 ? 800 : 1080);
      await c.addCookies(await jaCtx.cookies());
      await p.goto(`${origin}/files`);
      await p.waitForURL(/\/(files|login)/);
      if (p.url().includes('/login')) { await login(p); await p.waitForURL(`${origin}/files`); }
      await ready(p);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      await p.waitForSelector('#unfinished:not([hidden]) li[data-name="unfinished.bin"]');
      await p.check('#list .vrow[data-name="見積書.txt"] input.pick');
      await p.check('#list .vrow[data-name="資料"] input.pick');
      await p.waitForSelector('#selection:not([hidden])');
      if (lang === 'en') assert.equal(await p.textContent('#selection-count'), '2 selected');
      assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `no sideways scrolling at ${width} px`);
      await axe(p, `files (${lang}, ${width} px)`);
      await p.evaluate(() => window.scrollTo(0, 0));
      await p.screenshot({ path: join(SHOTS, `files-view.${lang}.${width}.png`), fullPage: true });
      await c.close();
    }
  }
  rmSync(work, { recursive: true, force: true });
  console.log(`files.test: screenshots in ${SHOTS}`);
});
