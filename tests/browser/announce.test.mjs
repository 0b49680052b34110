// Announcements and incidents in a real Chromium (issue 9): the operator announces through
// `kura admin`, the manager sees the unread count in the navigation, opens the announcement
// (its hostile body shown as text, only the http(s) link a link), the count goes to zero, and
// the operator's `kura admin announce show` then shows the reading for the tenant. The
// incident that affects the tenant is in the portal with its timeline, and on the public
// /status page; a contact added on the contacts page waits for its confirmation. axe-core on the pages in Japanese and English (no serious or critical
// violation); screenshots at 375 and 1920 px in both languages into KURA_SHOT_DIR.
//
// usage: node tests/browser/announce.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Announce-test-Passphrase-6';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'announce-shots');
const kura = process.argv[2];
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

await run('announce.test', kura, async ({ origin, data, demoPw, launch }) => {
  mkdirSync(SHOTS, { recursive: true });
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8' }));
  // the manager: a new password, TOTP for the policy, then the policy optional and TOTP off
  let cookie = '', csrf = '';
  const call = async (method, path, body) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let d = {};
    try { d = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data: d, headers: r.headers };
  };
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

  // the operator's side: an announcement with a hostile body, and an incident
  const bodyJa = join(data, 'ja.md'), bodyEn = join(data, 'en.md');
  writeFileSync(bodyJa, '今夜 **22:00** から作業します。\n\n- 影響: *なし*\n- 詳細: [手順](https://kura.example/docs)\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1))\n');
  writeFileSync(bodyEn, 'We work from **22:00** tonight.\n\n- Impact: *none*\n- Details: [steps](https://kura.example/docs)\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1))\n');
  const a = admin('announce', 'create', '--kind', 'maintenance', '--target', 'tenant:demo', '--title-ja', 'ストレージの更新',
    '--title-en', 'Storage upgrade', '--body-ja-file', bodyJa, '--body-en-file', bodyEn,
    '--from', '2027-01-01T22:00:00+09:00', '--until', '2027-01-02T02:00:00+09:00');
  assert.equal(a.state, 'published');
  assert.equal(a.tenants[0].readers, 0);
  writeFileSync(bodyJa, '原因を調査しています。\n');
  writeFileSync(bodyEn, 'We are investigating.\n');
  const inc = admin('incident', 'create', '--title-ja', 'アップロードの遅延', '--title-en', 'Slow uploads', '--severity', 'minor',
    '--service', 'DOCX', '--body-ja-file', bodyJa, '--body-en-file', bodyEn);
  writeFileSync(bodyJa, '原因を特定しました。\n');
  writeFileSync(bodyEn, 'The cause is **identified**.\n');
  admin('incident', 'update', String(inc.id), '--status', 'identified', '--body-ja-file', bodyJa, '--body-en-file', bodyEn);

  const browser = await launch();
  const ctxFor = async (locale, width) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('dialog', (d) => { throw new Error('a script ran: ' + d.message()); });
    return { c, p };
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const login = async (p) => {
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'demo');
    await p.fill('#login', 'admin');
    await p.fill('#password', PW);
    await p.click('#submit');
  };

  // 1. the manager: the unread count, the announcement opened by keyboard, the count gone
  const { p: en } = await ctxFor('en-US', 1280);
  await en.goto(`${origin}/announcements`);
  await login(en);
  await en.waitForURL(`${origin}/announcements`);
  await en.waitForSelector('body[data-ready="1"]');
  await en.waitForSelector('#announce-badge:not([hidden])');
  assert.match(await en.textContent('#announce-badge'), /^1 unread/);
  await en.waitForSelector('#incident-' + inc.id);
  assert.match(await en.textContent('#incident-' + inc.id), /Slow uploads.*identified/s);
  assert.equal(await en.$$eval(`#incident-${inc.id} ol.timeline li`, (l) => l.length), 2);
  const item = `details[data-id="${a.id}"]`;
  assert.match(await en.textContent(`${item} summary`), /Storage upgrade.*unread/);
  await en.focus(`${item} summary`);
  await en.keyboard.press('Enter');
  await en.waitForSelector('#announce-badge[hidden]', { state: 'attached' });
  assert.equal(await en.$(`${item} .unread-tag`), null);
  // the body: text as text, the https link a link, the javascript: one text
  const links = await en.$$eval(`${item} .md a`, (l) => l.map((x) => [x.textContent, x.getAttribute('href'), x.rel]));
  assert.deepEqual(links, [['steps', 'https://kura.example/docs', 'noopener noreferrer']]);
  assert.match(await en.textContent(`${item} .md`), /<img src=x onerror=alert\(1\)> \[x\]\(javascript:alert\(1\)\)/);
  assert.equal(await en.$(`${item} .md img`), null);
  assert.equal(await en.textContent(`${item} .md strong`), '22:00');

  // 2. the operator sees the reading for the tenant
  const shown = admin('announce', 'show', String(a.id));
  const demo = shown.tenants.find((t) => t.tenant === 'demo');
  assert.equal(demo.readers, 1);
  assert.match(demo.first_read_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(demo.channels, 'portal');

  // 3. the contacts page: a contact added by keyboard waits for its confirmation
  await en.goto(`${origin}/contacts`);
  await en.waitForSelector('body[data-ready="1"]');
  await en.focus('#ct-name');
  await en.keyboard.type('Security desk');
  await en.keyboard.press('Tab');
  await en.keyboard.type('security-desk@example.com');
  await en.selectOption('#ct-role', 'security');
  await en.focus('#contact-form button[type=submit]');
  await en.keyboard.press('Enter');
  await en.waitForSelector('#msg:has-text("confirmation mail")');
  assert.match(await en.textContent('tbody tr[data-id]'), /Security desk.*security-desk@example\.com.*security.*waiting for confirmation/);

  // 4. axe and screenshots: the portal view and the public status page, ja and en, 375 and 1920 px
  for (const locale of ['ja-JP', 'en-US']) {
    for (const width of [375, 1920]) {
      const { c, p } = await ctxFor(locale, width);
      await c.addCookies([{ name: 'kura_session', value: cookie.split('=')[1], url: origin }]);
      await p.goto(`${origin}/announcements`);
      await p.waitForSelector('body[data-ready="1"]');
      await p.evaluate((l) => localStorage.setItem('kura_lang', l), locale.slice(0, 2));
      await p.reload();
      await p.waitForSelector('body[data-ready="1"]');
      await p.click(`${item} summary`);
      await axe(p, `/announcements ${locale} ${width}`);
      await p.screenshot({ path: join(SHOTS, `announcements-${locale.slice(0, 2)}-${width}.png`), fullPage: true });
      await p.goto(`${origin}/contacts`);
      await p.waitForSelector('tbody tr[data-id]');
      await axe(p, `/contacts ${locale} ${width}`);
      await p.screenshot({ path: join(SHOTS, `contacts-${locale.slice(0, 2)}-${width}.png`), fullPage: true });
      await p.goto(`${origin}/status`);
      await p.waitForSelector('body[data-ready="1"]');
      assert.equal(await p.getAttribute('html', 'lang'), locale.slice(0, 2));
      assert.match(await p.textContent('#components'), /DOCX/);
      assert.doesNotMatch(await p.textContent('body'), /demo|Demo テナント/);
      await axe(p, `/status ${locale} ${width}`);
      await p.screenshot({ path: join(SHOTS, `status-${locale.slice(0, 2)}-${width}.png`), fullPage: true });
      await c.close();
    }
  }
});
