// The portal in a real Chromium (playwright-core, Debian's /usr/bin/chromium): an ended
// session goes to the login page and back; files (listing, virtual scrolling over paged API
// results, new folder, upload by keyboard and by drop with progress, rename, labels, move,
// trash, restore, purge); sharing by keyboard (the dialog, the list, access count, revoke);
// my account (app password shown once, sign-in history, the data export links); the managers' pages (accounts,
// security with the self-lockout warning, logs and export, contract); hostile names shown
// literally (bidi controls as [U+202E]); axe-core on every page in Japanese and English (no serious or critical
// violation); screenshots of every page in both languages into the build directory
// (KURA_SHOT_DIR, default ./portal-shots).
//
// usage: node tests/browser/portal.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const AXE = join(here, 'node_modules', 'axe-core', 'axe.min.js');
const axeSource = readFileSync(AXE, 'utf8');
const PW = 'Portal-test-Passphrase-5';
const XSS_FILE = '<img src=x onerror=alert(1)>.txt';
const XSS_LABEL = '"><script>';
const RTL_NAME = 'Mallory \u202Etxt.exe';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'portal-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

await run('portal.test', process.argv[2], async ({ origin, demoPw, launch }) => {
  mkdirSync(SHOTS, { recursive: true });
  // --- set-up through the API: new password, TOTP (the managers' policy), then the policy
  // set to optional and TOTP removed, so that the browser logs in with the password alone
  let cookie = '', csrf = '';
  const call = async (method, path, body, raw) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    if (body !== undefined && !raw) headers['Content-Type'] = 'application/json';
    const r = await fetch(origin + path, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = {};
    try { data = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data, headers: r.headers };
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
  // hostile names: a file, a label, a display name with an RTL override
  r = await call('PUT', '/api/v1/folders/root/files/' + encodeURIComponent(XSS_FILE), 'hello', true);
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const xssId = r.data.id;
  assert.equal((await call('PUT', `/api/v1/files/${xssId}/labels/${encodeURIComponent(XSS_LABEL)}`)).status, 204);
  assert.equal((await call('POST', '/api/v1/accounts', { login: 'mallory', email: 'mallory@example.com', role: 'user',
    display_name: RTL_NAME })).status, 201);
  // a big folder: 450 files (three API pages of 200)
  r = await call('POST', '/api/v1/folders/root/children', { name: 'many' });
  assert.equal(r.status, 201);
  const many = r.data.id;
  for (let i = 0; i < 450; i++)
    assert.equal((await call('PUT', `/api/v1/folders/${many}/files/f${String(i).padStart(4, '0')}.txt`, 'x', true)).status, 201);

  const browser = await launch();
  const ctxFor = async (locale, width = 1280) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    // playwright turns on the interception of file choosers when a listener is added, by a
    // message that may arrive after a key press: listen from the start
    p.on('filechooser', () => {});
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
    // page.addScriptTag would be an inline script, which the pages' CSP refuses (as it
    // should); evaluated through the DevTools protocol instead, the CSP stays on
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };

  // 1. Accept-Language en on the first visit; an ended session goes to /login and back
  const { p: en } = await ctxFor('en-US');
  await en.goto(`${origin}/files?folder=${many}`);
  await login(en);
  await en.waitForURL(`${origin}/files?folder=${many}`);
  await ready(en);
  assert.equal(await en.getAttribute('html', 'lang'), 'en');
  await en.waitForSelector('#list [data-name="f0000.txt"]');

  // 2. virtual scrolling: 450 entries, few rows in the DOM, the last one reachable by paging
  await en.waitForSelector('#count:has-text("200+")');
  const rowsInDom = await en.$$eval('#list .vrow', (n) => n.length);
  assert.ok(rowsInDom < 60, `only visible rows exist (${rowsInDom})`);
  // scrolled until the last page is loaded: a deadline (a loaded machine fetches slowly), not a count of tries
  for (const until = Date.now() + 60000; !(await en.$('#list [data-name="f0449.txt"]')) && Date.now() < until;) {
    await en.$eval('#list', (l) => { l.scrollTop = l.scrollHeight; });
    await en.waitForTimeout(100);
  }
  await en.waitForSelector('#list [data-name="f0449.txt"]');
  assert.match(await en.textContent('#count'), /^450 /);

  // 3. the Japanese default (a browser in Japanese), landing in the root folder
  const { c: jaCtx, p: ja } = await ctxFor('ja-JP');
  const tusCalls = [];
  ja.on('request', (q) => { if (q.url().includes('/api/v1/uploads')) tusCalls.push(q.method()); });
  // (a next= that would leave the site is not followed)
  await ja.goto(`${origin}/login?next=${encodeURIComponent('//example.com/x')}`);
  await login(ja);
  await ja.waitForURL(`${origin}/files`);
  await ready(ja);
  assert.equal(await ja.getAttribute('html', 'lang'), 'ja');
  await ja.waitForSelector('#list [data-name="many"]');
  // hostile name and label shown literally, nothing ran, no element made of them
  const row = ja.locator(`#list .vrow[data-id="${xssId}"]`);
  assert.equal(await row.locator('.name bdi').textContent(), XSS_FILE);
  assert.equal(await row.locator('.tag').textContent(), XSS_LABEL);
  assert.equal(await ja.$$eval('#list img, #list script', (n) => n.length), 0);

  // 4. keyboard only: a new folder, then an upload of two files through the file chooser
  await ja.focus('#folder-name');
  await ja.keyboard.type('資料');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#list [data-name="資料"]');
  await ja.focus('#upload');
  assert.equal(await ja.evaluate(() => document.activeElement.id), 'upload');
  const [chooser] = await Promise.all([ja.waitForEvent('filechooser'), ja.keyboard.press('Space')]);
  await chooser.setFiles([{ name: '見積書.txt', mimeType: 'text/plain', buffer: Buffer.from('見積') },
    { name: 'b.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(300000, 7) }]);
  await ja.waitForSelector('#list [data-name="b.bin"]');
  await ja.waitForSelector('#list [data-name="見積書.txt"]');
  assert.equal(await ja.$eval('#overall', (e) => e.value === e.max), true, 'overall progress full');
  assert.ok(tusCalls.filter((m) => m === 'POST').length >= 2 && !tusCalls.includes('OPTIONS'), `tus used, without probing: ${tusCalls}`);
  assert.equal((await call('GET', '/api/v1/audit?action=upload.create')).data.events.length >= 2, true);
  // drag and drop
  await ja.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await ja.waitForSelector('#list [data-name="dropped.txt"]');

  // 5. details, rename, label, filter, move, trash, restore, purge
  const open = async (name) => {
    await ja.click(`#list .vrow[data-name="${name}"] button.more`);
    await ja.waitForSelector('#details:not([hidden]) #rename-form');
  };
  await open('dropped.txt');
  await ja.fill('#rename-name', 'renamed.txt');
  await ja.click('#rename-form button[type=submit]');
  await ja.waitForSelector('#list [data-name="renamed.txt"]');
  await open('renamed.txt');
  await ja.fill('#label-name', '重要');
  await ja.click('#label-form button[type=submit]');
  await ja.waitForSelector('#list [data-name="renamed.txt"] .tag:has-text("重要")');
  await ja.goto(`${origin}/files`);
  await ready(ja);
  await ja.selectOption('#label-filter', '重要');
  await ja.waitForFunction(() => document.querySelectorAll('#list .vrow[data-id]').length === 1);
  await ja.selectOption('#label-filter', '');
  await ja.waitForSelector('#list [data-name="many"]');
  await open('renamed.txt');
  await ja.selectOption('#move-target', { label: '資料' });
  await ja.click('#move-form button[type=submit]');
  await ja.waitForSelector('#list [data-name="renamed.txt"]', { state: 'detached' });
  await ja.click('#list [data-name="資料"] button.name');
  await ja.waitForSelector('#list [data-name="renamed.txt"]');
  assert.match(await ja.textContent('.crumbs'), /資料/);
  await open('renamed.txt');
  await ja.click('#details button.danger');
  await ja.waitForSelector('#list [data-name="renamed.txt"]', { state: 'detached' });
  await ja.goto(`${origin}/trash`);
  await ready(ja);
  await ja.click('#trash tr:has-text("renamed.txt") button:not(.danger)');
  await ja.waitForSelector('#trash tr:has-text("renamed.txt")', { state: 'detached' });
  r = await call('GET', '/api/v1/labels/' + encodeURIComponent('重要'));
  assert.equal(r.data.items[0].name, 'renamed.txt', 'restored');
  assert.equal((await call('DELETE', `/api/v1/files/${r.data.items[0].id}`)).status, 204);
  await ja.reload();
  await ready(ja);
  await ja.click('#trash tr:has-text("renamed.txt") button.danger');
  await ja.waitForSelector('#trash tr:has-text("renamed.txt")', { state: 'detached' });
  assert.equal((await call('GET', '/api/v1/trash')).data.items.length, 0, 'purged');

  // 6. sharing by keyboard: details by Enter, the dialog, the link, then the list
  await ja.goto(`${origin}/files`);
  await ready(ja);
  await ja.focus('#list .vrow[data-name="見積書.txt"] button.more');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#details:not([hidden])');
  await ja.focus('#details .actions button');    // share: the first button of the actions
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#dialog[open] #share-form');
  assert.equal(await ja.evaluate(() => document.activeElement.id), 'share-kind');
  await ja.keyboard.press('Tab');
  await ja.keyboard.type('Share-Passphrase-42');
  await ja.keyboard.press('Tab');
  await ja.keyboard.press('Control+A');
  await ja.keyboard.type('3');
  await ja.keyboard.press('Tab');
  await ja.keyboard.type('5');
  await ja.keyboard.press('Tab');
  await ja.keyboard.type('partner@example.com');
  await ja.keyboard.press('Tab');    // the first-download notice (left off)
  await ja.keyboard.press('Tab');
  await ja.keyboard.press('Enter');
  await ja.waitForSelector('#share-url');
  const url = await ja.inputValue('#share-url');
  assert.match(url, /\/s\/[A-Za-z0-9_-]+$/);
  await ja.keyboard.press('Escape');
  const token = url.split('/').pop();
  r = await call('POST', `/api/v1/links/${token}/unlock`, { password: 'Share-Passphrase-42' });
  assert.equal(r.status, 200);
  const lc = r.headers.get('set-cookie').split(';')[0];
  const dl = await fetch(`${origin}/api/v1/links/${token}/content`, { headers: { Cookie: lc } });
  assert.equal(await dl.text(), '見積');
  await ja.goto(`${origin}/shares`);
  await ready(ja);
  await ja.waitForSelector('#shares tr:has-text("見積書.txt"):has-text("1 / 5")');
  await ja.click('#shares tr:has-text("見積書.txt") button.plain');
  await ja.waitForSelector('#share-detail:not([hidden]) td:has-text("partner@example.com")');
  await ja.click('#shares tr:has-text("見積書.txt") button.danger');
  await ja.waitForSelector('#shares tr:has-text("見積書.txt") td[data-state="revoked"]:has-text("取り消し済み")');

  // 7. my account: an app password shown once with instructions, sign-in history
  await ja.goto(`${origin}/account`);
  await ready(ja);
  await ja.fill('#ap-name', 'laptop');
  await ja.click('#ap-form button[type=submit]');
  await ja.waitForSelector('#ap-secret-value');
  assert.match(await ja.textContent('#ap-secret-value'), /^kura_ap_/);
  assert.match(await ja.textContent('#ap-secret'), /rclone/);
  await ja.waitForSelector('tr:has-text("laptop")');
  assert.ok((await ja.$$('section:has(h2:has-text("サインイン履歴")) tbody tr')).length >= 1);
  // the export: one's own files, and for a manager the tenant's data, each one ZIP
  assert.match(await ja.textContent('#export-mine'), /自分のファイルをすべてダウンロード/);
  const zipHref = await ja.getAttribute('#export-tenant', 'href');
  assert.equal(zipHref, '/api/v1/export?scope=tenant');
  const zip = await ja.request.get(origin + zipHref);
  assert.equal(zip.status(), 200);
  assert.equal(zip.headers()['content-type'], 'application/zip');
  assert.equal((await zip.body()).subarray(0, 4).toString('latin1'), 'PK\x03\x04');

  // 8. managers: the RTL display name literally; security warns before a self-lockout
  await ja.goto(`${origin}/accounts`);
  await ready(ja);
  // the override is shown as what it is, not obeyed
  assert.equal(await ja.textContent('tr[data-login="mallory"] bdi'), 'Mallory [U+202E]txt.exe');
  await ja.fill('#inv-login', 'carol');
  await ja.fill('#inv-email', 'carol@example.com');
  await ja.click('#invite-form button[type=submit]');
  await ja.waitForSelector('tr[data-login="carol"]');
  await ja.goto(`${origin}/security`);
  await ready(ja);
  assert.match(await ja.textContent('#your-address'), /127\.0\.0\.1/);
  await ja.fill('#ranges', '10.0.0.0/8');
  await ja.click('#allowlist-form button[type=submit]');
  await ja.waitForSelector('#lockout-warning:not([hidden])');
  assert.deepEqual((await call('GET', '/api/v1/tenant/ip-allowlist')).data.ranges, [], 'nothing saved');
  await ja.goto(`${origin}/logs`);
  await ready(ja);
  await ja.waitForSelector('#view tbody tr:has-text("session.create")');
  await ja.selectOption('#f-category', 'authentication');
  await ja.click('#audit-filter button[type=submit]');
  await ja.waitForSelector('#view tbody tr:has-text("authentication")');
  const csvHref = await ja.getAttribute('#export-csv', 'href');
  const csv = await ja.request.get(origin + csvHref);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /session\.create/);
  assert.match(await ja.textContent('#public-key'), /^[0-9a-f]{64}$/);

  // 9. every page: axe and screenshots in both languages; a phone-sized file view
  const pages = ['files', 'trash', 'shares', 'account', 'accounts', 'security', 'logs', 'contract'];
  for (const [lang, p] of [['ja', ja], ['en', en]]) {
    for (const name of pages) {
      await p.goto(`${origin}/${name}`);
      await ready(p);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      await axe(p, `${name} (${lang})`);
      await p.screenshot({ path: join(SHOTS, `${name}.${lang}.png`) });
      if (name === 'account') await (await p.$('#export')).screenshot({ path: join(SHOTS, `account-export.${lang}.png`) });
      // the README's two pictures: KURA_UPDATE_DOCS=1 writes them into docs/
      if (process.env.KURA_UPDATE_DOCS && ((name === 'files' && lang === 'ja') || (name === 'logs' && lang === 'en')))
        await p.screenshot({ path: join(here, '..', '..', 'docs', `portal-${name}.png`) });
    }
    for (const name of ['login', 'mfa']) {
      await p.goto(`${origin}/${name}`);
      await axe(p, `${name} (${lang})`);
      await p.screenshot({ path: join(SHOTS, `${name}.${lang}.png`) });
      // the README's two pictures: KURA_UPDATE_DOCS=1 writes them into docs/
      if (process.env.KURA_UPDATE_DOCS && ((name === 'files' && lang === 'ja') || (name === 'logs' && lang === 'en')))
        await p.screenshot({ path: join(here, '..', '..', 'docs', `portal-${name}.png`) });
    }
  }
  const { p: phone } = await ctxFor('ja-JP', 375);
  await phone.context().addCookies((await jaCtx.cookies()));
  await phone.goto(`${origin}/files`);
  await phone.waitForURL(/\/(files|login)/);
  if (phone.url().includes('/login')) await login(phone);
  await ready(phone);
  await phone.waitForSelector('#list [data-name="many"]');
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= 376), 'no sideways scrolling at 375 px');
  await phone.screenshot({ path: join(SHOTS, 'files.ja.375.png'), fullPage: true });
  const { p: wide } = await ctxFor('en-US', 1920);
  await wide.context().addCookies((await jaCtx.cookies()));
  await wide.goto(`${origin}/logs`);
  await ready(wide);
  assert.ok(await wide.evaluate(() => document.documentElement.scrollWidth <= 1920), 'no sideways scrolling at 1920 px');
  await wide.screenshot({ path: join(SHOTS, 'logs.en.1920.png') });

  // 10. the language switch is remembered
  await ja.goto(`${origin}/files`);
  await ready(ja);
  await ja.click('#lang');
  await ja.waitForFunction(() => document.documentElement.lang === 'en');
  await ja.reload();
  await ready(ja);
  assert.equal(await ja.getAttribute('html', 'lang'), 'en');
  // 11. a session that ends while the page is open: the next API call goes to the login
  // page, and the login back to where the user was
  await en.goto(`${origin}/shares`);
  await ready(en);
  await en.context().clearCookies();
  await en.click('#lang');
  await en.waitForURL(`${origin}/login?next=%2Fshares`);
  await login(en);
  await en.waitForURL(`${origin}/shares`);
  await ready(en);
  console.log(`portal.test: screenshots in ${SHOTS}`);
});
