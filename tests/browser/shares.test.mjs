// Sharing end to end in a real Chromium (playwright-core, Debian's /usr/bin/chromium) against
// a real `kura serve` whose mail goes to a real SMTP server on loopback (smtp.mjs):
// the owner makes a download link with password, expiry, limit and a recipient in the share
// dialog and sees what was mailed to whom; the mail arrives with the link and without the
// password; an outsider opens it in a fresh browser, a wrong password shows the tries left,
// the right one the download list, two downloads reach the limit and the page says so; a
// link revoked in the Shares view, an expired link, an unknown link, a link whose file went
// to the trash and a link locked after too many wrong passwords each show their own state;
// an upload-request link made in the dialog takes several files with progress per file to
// the finished state (the names as stored) and says why an upload over the quota failed
// (in the language shown); the owner's access log lists
// those accesses with their addresses and results. axe-core (no serious or critical
// violation) and screenshots at 375 px and 1920 px in Japanese and English for every state
// of the share page and for the Shares view with the access log open (KURA_SHOT_DIR).
//
// usage: node tests/browser/shares.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';
import { smtpSink } from './smtp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Shares-test-Passphrase-8';
const LINK_PW = 'Link-Passphrase-for-42';
const OUTSIDER = 'outsider@partner.example.org';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'shares-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
const kura = process.argv[2];

const smtp = await smtpSink();
await run('shares.test', kura, async ({ origin, data, demoPw, launch }) => {
  mkdirSync(SHOTS, { recursive: true });
  let cookie = '', csrf = '';
  const call = async (method, path, body, raw) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    if (body !== undefined && !raw) headers['Content-Type'] = 'application/json';
    const r = await fetch(origin + path, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = {};
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data: json, headers: r.headers };
  };
  // an outsider's API call: no session, only the link
  const pub = (method, path, body) => fetch(origin + path, { method,
    headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  // set-up as in portal.test: a new password, TOTP enrolled then the policy made optional
  let r = await call('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
  assert.equal(r.status, 201);
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  assert.equal((await call('POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW })).status, 204);
  r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201);
  assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  const REPORT = '報告書 <b onclick=x>2026.txt';
  r = await call('PUT', '/api/v1/folders/root/files/' + encodeURIComponent(REPORT), 'quarterly figures', true);
  assert.equal(r.status, 201);
  const reportId = r.data.id;
  r = await call('POST', '/api/v1/folders/root/children', { name: 'inbox' });
  assert.equal(r.status, 201);

  const browser = await launch();
  const open = async (locale, width = 1280) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 }, acceptDownloads: true });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('dialog', (d) => { throw new Error('a script ran: ' + d.message()); });
    p.on('filechooser', () => {});
    return { c, p };
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const shots = new Set();
  // both languages by the page's own switch: axe, and screenshots at 375 and 1920 px
  const everyWay = async (p, name, state) => {
    const size = p.viewportSize();
    for (let i = 0; i < 2; i++) {
      const lang = await p.getAttribute('html', 'lang');
      if (state) assert.equal(await p.getAttribute('main', 'data-state'), state, `${name} (${lang}) state`);
      await axe(p, `${name} (${lang})`);
      for (const w of [375, 1920]) {
        await p.setViewportSize({ width: w, height: 900 });
        assert.ok(await p.evaluate((x) => document.documentElement.scrollWidth <= x + 1, w), `${name} (${lang}) fits ${w} px`);
        await p.screenshot({ path: join(SHOTS, `share-${name}.${lang}.${w}.png`), fullPage: true });
        shots.add(`${name}.${lang}.${w}`);
      }
      await p.setViewportSize(size);
      await p.click('#lang');
      await p.waitForFunction((l) => document.documentElement.lang !== l, lang);
    }
  };
  const stateIs = async (p, s) => {
    try {
      await p.waitForSelector(`main[data-state="${s}"]`, { timeout: 60000 });
    } catch (e) {
      const now = await p.evaluate(() => [document.querySelector('main').dataset.state, document.querySelector('main').textContent]);
      throw new Error(`waited for state ${s}, the page is in ${JSON.stringify(now)}`);
    }
  };

  // 1. the owner, in Japanese: a download link with password, expiry, limit and a recipient
  const { p: owner } = await open('ja-JP');
  await owner.goto(`${origin}/files`);
  await owner.waitForURL(/\/login/);
  await owner.fill('#tenant', 'demo');
  await owner.fill('#login', 'admin');
  await owner.fill('#password', PW);
  await owner.click('#submit');
  await owner.waitForURL(`${origin}/files`);
  await owner.waitForSelector('body[data-ready="1"]');
  const shareFrom = async (name) => {
    await owner.goto(`${origin}/files`);
    await owner.waitForSelector('body[data-ready="1"]');
    await owner.click(`#list .vrow[data-name="${name}"] button.more`);
    await owner.click('#details .actions button:has-text("共有")');
    await owner.waitForSelector('#dialog[open] #share-form');
  };
  await shareFrom(REPORT);
  await owner.fill('#share-password', LINK_PW);
  await owner.fill('#share-days', '3');
  await owner.fill('#share-max', '2');
  await owner.fill('#share-recipients', OUTSIDER);
  await owner.check('#share-notify');
  await owner.click('#share-form button[type=submit]');
  await owner.waitForSelector('#share-url');
  const url = await owner.inputValue('#share-url');
  assert.match(url, new RegExp(`^${origin}/s/[A-Za-z0-9_-]{43}$`));
  // what was mailed to whom, and that the password is not in it
  await owner.waitForSelector(`#share-mailed tr[data-email="${OUTSIDER}"]`);
  assert.match(await owner.textContent('#share-mailed'), /パスワードはメールに含まれません/);
  assert.match(await owner.textContent('#share-summary'), /GMT\+9/);
  await axe(owner, 'share dialog (ja)');
  await owner.$eval('#share-mailed', (e) => e.scrollIntoView());
  await owner.screenshot({ path: join(SHOTS, 'share-dialog.ja.png') });
  await owner.click(`#share-mailed button:has-text("メールの状態を更新")`);
  await owner.keyboard.press('Escape');

  // 2. the mail reaches the recipient with the link, never the password
  const mail = await smtp.waitFor(OUTSIDER);
  assert.ok(mail.body.includes(url), 'the mail carries the link');
  assert.ok(!mail.body.includes(LINK_PW), 'the mail does not carry the password');
  assert.match(mail.subject, /admin/);
  const token = url.split('/').pop();

  // 3. an outsider in a fresh browser (English): password, a wrong one with the tries left
  const { c: outCtx, p: out } = await open('en-US');
  await out.goto(mail.body.match(/https?:\/\/\S+\/s\/\S+/)[0]);
  await stateIs(out, 'password');
  assert.equal(await out.getAttribute('html', 'lang'), 'en');
  assert.match(await out.textContent('h1'), /needs a password/);
  await everyWay(out, 'password', 'password');
  await out.fill('#pw', 'Not-the-password-1');
  await out.click('#unlock button[type=submit]');
  await stateIs(out, 'password-wrong');
  assert.equal(await out.getAttribute('#tries', 'data-remaining'), '9');
  assert.match(await out.textContent('#pw-wrong'), /9 more tries before the link locks/);
  await everyWay(out, 'wrong-password', 'password-wrong');
  // the switch is remembered: a reload stays in English (two switches above)
  await out.reload();
  await stateIs(out, 'password');
  assert.equal(await out.getAttribute('html', 'lang'), 'en');
  await out.fill('#pw', LINK_PW);
  await out.click('#unlock button[type=submit]');
  await stateIs(out, 'download');
  assert.equal(await out.textContent('#item-name bdi'), REPORT, 'a hostile name is shown literally');
  assert.equal(await out.$$eval('#body b', (n) => n.length), 0);
  assert.equal(await out.textContent('#left'), 'Downloads left: 2');
  assert.match(await out.textContent('#expires'), /GMT\+9/);
  assert.match(await out.textContent('#zone-note'), /Asia\/Tokyo/);
  await everyWay(out, 'download', 'download');
  // two downloads: the bytes, then the limit
  for (let i = 0; i < 2; i++) {
    const [dl] = await Promise.all([out.waitForEvent('download'), out.click('#list a')]);
    assert.equal(readFileSync(await dl.path(), 'utf8'), 'quarterly figures');
  }
  await out.reload();
  await stateIs(out, 'limit');
  assert.match(await out.textContent('h1'), /download limit/);
  await everyWay(out, 'limit', 'limit');
  // the sharer's first-download notice
  await smtp.waitFor((await call('GET', '/api/v1/me')).data.email);

  // 4. revoked in the Shares view, then opened
  r = await call('POST', '/api/v1/shares', { node_id: reportId });
  assert.equal(r.status, 201);
  const revokedUrl = r.data.url, revokedId = r.data.id;
  await owner.goto(`${origin}/shares`);
  await owner.waitForSelector('body[data-ready="1"]');
  await owner.click(`#shares tr[data-id="${revokedId}"] button.danger`);
  await owner.waitForSelector(`#shares tr[data-id="${revokedId}"] td[data-state="revoked"]`);
  await out.goto(revokedUrl);
  await stateIs(out, 'revoked');
  await everyWay(out, 'revoked', 'revoked');

  // 5. expired: a link of one second, opened once the server says it is gone
  r = await call('POST', '/api/v1/shares', { node_id: reportId, expires_in_s: 1 });
  assert.equal(r.status, 201);
  const expiredUrl = r.data.url;
  for (const until = Date.now() + 60000; (await pub('GET', `/api/v1/links/${r.data.token}`)).status !== 410;) {
    assert.ok(Date.now() < until, 'the one-second link expires');
    await new Promise((res) => setTimeout(res, 100));
  }
  await out.goto(expiredUrl);
  await stateIs(out, 'expired');
  await everyWay(out, 'expired', 'expired');

  // 6. unknown
  await out.goto(`${origin}/s/${'A'.repeat(43)}`);
  await stateIs(out, 'unknown');
  await everyWay(out, 'unknown', 'unknown');

  // 6b. deleted: the shared file went to the trash
  r = await call('PUT', '/api/v1/folders/root/files/gone.txt', 'soon gone', true);
  assert.equal(r.status, 201);
  const goneId = r.data.id;
  r = await call('POST', '/api/v1/shares', { node_id: goneId });
  assert.equal(r.status, 201);
  assert.equal((await call('DELETE', `/api/v1/files/${goneId}`)).status, 204);
  await out.goto(r.data.url);
  await stateIs(out, 'deleted');
  await everyWay(out, 'deleted', 'deleted');

  // 7. locked: eight wrong passwords elsewhere, the ninth here says one try is left, the tenth locks
  r = await call('POST', '/api/v1/shares', { node_id: reportId, password: LINK_PW });
  assert.equal(r.status, 201);
  const lockUrl = r.data.url, lockToken = r.data.token;
  for (let i = 0; i < 8; i++)
    assert.equal((await pub('POST', `/api/v1/links/${lockToken}/unlock`, { password: 'wrong-' + i })).status, 403);
  await out.goto(lockUrl);
  await stateIs(out, 'password');
  await out.fill('#pw', 'wrong-again');
  await out.click('#unlock button[type=submit]');
  await stateIs(out, 'password-wrong');
  assert.equal(await out.getAttribute('#tries', 'data-remaining'), '1');
  await out.fill('#pw', LINK_PW.slice(1));
  await out.click('#unlock button[type=submit]');
  await stateIs(out, 'locked');
  assert.match(await out.textContent('#notice'), /locked until \d{4}-\d\d-\d\d \d\d:\d\d GMT\+9/);
  await everyWay(out, 'locked', 'locked');

  // 8. an upload-request link made in the dialog; several files, progress each, finished
  await shareFrom('inbox');
  await owner.selectOption('#share-kind', 'upload');
  assert.equal(await owner.isHidden('#share-max'), true, 'no download limit on an upload link');
  await owner.fill('#share-recipients', 'uploader@partner.example.org');
  await owner.click('#share-form button[type=submit]');
  await owner.waitForSelector('#share-url');
  const upUrl = await owner.inputValue('#share-url');
  await owner.keyboard.press('Escape');
  assert.ok((await smtp.waitFor('uploader@partner.example.org')).body.includes(upUrl));
  const { p: up } = await open('ja-JP');
  await up.goto(upUrl);
  await stateIs(up, 'upload');
  assert.equal(await up.getAttribute('html', 'lang'), 'ja');
  assert.equal(await up.textContent('#item-name bdi'), 'inbox');
  await everyWay(up, 'upload', 'upload');
  const files = [{ name: '見積 1.txt', mimeType: 'text/plain', buffer: Buffer.from('one') },
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(2 * 1024 * 1024, 3) },
    { name: 'a:b?.txt', mimeType: 'text/plain', buffer: Buffer.from('sanitized') }];
  await up.setInputFiles('#files', files);
  // what the rows showed while the files went up: one progress bar per file, each full at the end
  await up.evaluate(() => {
    window.seen = { bars: 0, full: new Set() };
    new MutationObserver((records) => {
      window.seen.bars = Math.max(window.seen.bars, document.querySelectorAll('#uploads progress').length);
      // a row marked stored, with its bar full (the row may be gone from the page already)
      for (const m of records) {
        if (m.attributeName !== 'data-state' || m.target.dataset.state !== 'stored') continue;
        const b = m.target.closest('li').querySelector('progress');
        if (b.value === b.max) window.seen.full.add(b.id);
      }
    }).observe(document.getElementById('main'), { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await up.click('#upload button[type=submit]');
  await stateIs(up, 'finished');
  assert.deepEqual(await up.evaluate(() => [window.seen.bars, window.seen.full.size]), [3, 3], 'a progress bar per file');
  const stored = await up.$$eval('#done-list li bdi', (n) => n.map((x) => x.textContent));
  assert.deepEqual(stored, ['見積 1.txt', 'big.bin', 'a_b_.txt']);
  await everyWay(up, 'finished', 'finished');
  // again: the same name is kept apart, and the list grows
  await up.click('#again');
  await stateIs(up, 'upload');
  await up.setInputFiles('#files', [files[0]]);
  await up.click('#upload button[type=submit]');
  await stateIs(up, 'finished');
  assert.deepEqual(await up.$$eval('#done-list li bdi', (n) => n.map((x) => x.textContent)),
    ['見積 1.txt', 'big.bin', 'a_b_.txt', '見積 1 (2).txt']);
  // over the quota: the tenant's quota set just above what is used (kura admin), then a file
  const q = (await call('GET', '/api/v1/quota')).data;
  execFileSync(kura, ['admin', '--data', data, 'tenant', 'set-quota', 'demo', String(q.used_bytes + 10000)]);
  await up.click('#again');
  await stateIs(up, 'upload');
  await up.setInputFiles('#files', [{ name: 'too-much.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(100000, 1) }]);
  await up.click('#upload button[type=submit]');
  await stateIs(up, 'upload-failed');
  assert.match(await up.textContent('#notice'), /容量が足りません/);
  await everyWay(up, 'upload-failed', 'upload-failed');
  await up.click('#lang');
  await up.waitForFunction(() => document.documentElement.lang === 'en');
  assert.match(await up.textContent('#notice'), /not enough storage space/, 'the reason follows the language');
  await up.click('#lang');
  execFileSync(kura, ['admin', '--data', data, 'tenant', 'set-quota', 'demo', String(q.quota_bytes)]);
  const inbox = (await call('GET', `/api/v1/folders/${(await call('GET', '/api/v1/folders/root/children')).data.items
    .find((x) => x.name === 'inbox').id}/children`)).data.items.map((x) => x.name).sort();
  assert.deepEqual(inbox, ['a_b_.txt', 'big.bin', '見積 1 (2).txt', '見積 1.txt'], 'nothing of the refused upload stored');

  // 9. the owner's access log of the first link: every access with address and result
  await owner.goto(`${origin}/shares`);
  await owner.waitForSelector('body[data-ready="1"]');
  const first = owner.locator('#shares tr', { hasText: REPORT }).filter({ hasText: '2 / 2' });
  assert.equal(Number(await first.locator('td.accesses').textContent()) >= 8, true, 'the access count');
  await first.locator('button.access').click();
  await owner.waitForSelector('#dialog[open] #access-log');
  const rows = await owner.$$eval('#access-log tbody tr', (n) => n.map((tr) =>
    [tr.dataset.action, tr.dataset.result, tr.dataset.reason, tr.querySelector('.addr').textContent]));
  const seen = rows.map((x) => x.slice(0, 3).join(' '));
  for (const want of ['view success ', 'unlock failure wrong-password', 'unlock success ', 'download success ',
    'refused denied limit-reached'])
    assert.ok(seen.includes(want), `access log has "${want}": ${JSON.stringify(seen)}`);
  assert.equal(seen.filter((x) => x === 'download success ').length, 2);
  assert.ok(rows.every((x) => x[3] === '127.0.0.1'), 'addresses');
  assert.ok((await owner.textContent('#access-log')).includes(REPORT), 'the name literally');
  assert.match(await owner.textContent('#access-zone'), /Asia\/Tokyo/);
  assert.match(await owner.textContent('#access-log tbody tr[data-reason="wrong-password"]'), /パスワード誤り/);
  for (const lang of ['ja', 'en']) {
    await axe(owner, `shares with the access log (${lang})`);
    for (const w of [375, 1920]) {
      await owner.setViewportSize({ width: w, height: 900 });
      await owner.screenshot({ path: join(SHOTS, `shares-access-log.${lang}.${w}.png`) });
    }
    await owner.setViewportSize({ width: 1280, height: 900 });
    if (lang === 'ja') {
      await owner.keyboard.press('Escape');
      await owner.click('#lang');
      await owner.waitForFunction(() => document.documentElement.lang === 'en');
      await owner.locator('#shares tr', { hasText: REPORT }).filter({ hasText: '2 / 2' }).locator('button.access').click();
      await owner.waitForSelector('#dialog[open] #access-log');
      assert.match(await owner.textContent('#access-log tbody tr[data-reason="wrong-password"]'), /wrong password/);
    }
  }
  await outCtx.close();
  assert.equal(shots.size, 12 * 2 * 2, `every state in both languages at both widths (${shots.size})`);
  console.log(`shares.test: screenshots in ${SHOTS}`);
}, { smtpPort: smtp.port });
