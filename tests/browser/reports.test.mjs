// Reports and notices in a real Chromium (issue 9; G2, G3, W4), with a real SMTP server:
// a manager files a report with an attachment in the portal; the operators' desk gets it by
// mail; the operator replies through kura admin; the reply reaches the manager by mail and
// appears in the thread, where the manager answers. A manager posts a notice; a user sees
// the unread badge, opens the notice (its first reading is recorded) and the manager sees
// who read it and when. axe-core on every page in Japanese and English (no serious or
// critical violation), no sideways scrolling at 375 and 1920 px, screenshots of both
// languages at both widths into KURA_SHOT_DIR.
//
// usage: node tests/browser/reports.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Reports-test-Passphrase-5';
const USER_PW = 'Reports-user-Passphrase-6';
const DESK = 'desk@provider.example';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'reports-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

await run('reports.test', process.argv[2], async ({ origin, data, launch, kura, mail }) => {
  mkdirSync(SHOTS, { recursive: true });
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8' }));
  admin('tenant', 'create', 'rep', '--name', '報告テスト株式会社', '--service', 'DOCX');
  admin('manager', 'create', 'rep', 'boss', '--email', 'boss@example.com');
  const token = /\/invite\/([A-Za-z0-9_-]+)/.exec((await mail.wait('boss@example.com')).body)[1];

  const session = () => {
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
    call.login = async (login, pw) => {
      const r = await call('POST', '/api/v1/session', { tenant: 'rep', login, password: pw });
      assert.equal(r.status, 201, JSON.stringify(r.data));
      cookie = r.headers.get('set-cookie').split(';')[0];
      csrf = r.data.csrf_token;
    };
    return call;
  };
  const api = session();
  assert.equal((await api('POST', `/api/v1/invitations/${token}`, { password: PW })).status, 204);
  await api.login('boss', PW);
  // managers must enrol MFA; enrol, make it optional, remove it: the browser logs in with the password
  let r = await api('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal((await api('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await api('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await api('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  assert.equal((await api('POST', '/api/v1/accounts', { login: 'yuki', email: 'yuki@example.com', role: 'user' })).status, 201);
  const utoken = /\/invite\/([A-Za-z0-9_-]+)/.exec((await mail.wait('yuki@example.com')).body)[1];
  assert.equal((await api('POST', `/api/v1/invitations/${utoken}`, { password: USER_PW })).status, 204);

  const browser = await launch();
  const open = async (locale, width, path, login, pw) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('dialog', (dl) => { throw new Error('a dialog opened: ' + dl.message()); });
    await p.goto(`${origin}${path}`);
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'rep');
    await p.fill('#login', login);
    await p.fill('#password', pw);
    await p.click('#submit');
    await p.waitForURL(`${origin}${path}`);
    await p.waitForSelector('body[data-ready="1"]');
    return p;
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const check = async (p, what, lang, width) => {
    assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `no sideways scrolling: ${what} at ${width} px`);
    await axe(p, `${what} (${lang}, ${width} px)`);
    await p.screenshot({ path: join(SHOTS, `${what}.${lang}.${width}.png`), fullPage: true });
  };

  // 1. the manager files a report with an attachment, by keyboard-usable form
  const m = await open('en-US', 1280, '/reports', 'boss', PW);
  await m.waitForSelector('#report-form');
  await m.selectOption('#r-category', 'failure');
  await m.fill('#r-title', 'Uploads stall at 99%');
  await m.fill('#r-description', 'Since this morning every upload stops at 99%.\nBrowser: Chromium.');
  const evidence = join(data, '..', 'screenshot.txt');
  writeFileSync(evidence, 'attached evidence 42');
  await m.setInputFiles('#r-files', evidence);
  await m.click('#report-form button[type=submit]');
  await m.waitForSelector('ol.thread li.tenant');
  const desk = await mail.wait(DESK);
  assert.match(desk.subject, /Uploads stall at 99%/);
  assert.match(desk.body, /every upload stops at 99%/);
  const id = /#(\d+)/.exec(await m.textContent('h1'))[1];
  assert.match(await m.textContent('#view'), /screenshot\.txt/);

  // 2. the operator replies; the manager gets the mail and sees it in the thread
  const reply = join(data, '..', 'reply.txt');
  writeFileSync(reply, 'We found the cause and deployed a fix.\nPlease try again.\n');
  execFileSync(kura, ['admin', '--data', data, 'report', 'reply', id, '--body-file', reply]);
  const back = await mail.wait('boss@example.com');
  assert.match(back.body, /deployed a fix/);
  assert.match(back.body, new RegExp(`/reports#${id}`));
  await m.reload();   // the same address (#ID): the thread read again
  await m.waitForSelector('ol.thread li.provider');
  assert.match(await m.textContent('ol.thread li.provider'), /deployed a fix/);
  // the manager answers in the thread: it reaches the desk
  await m.fill('#r-reply', 'Works now, thank you.');
  await m.click('#reply-form button[type=submit]');
  await m.waitForFunction(() => document.querySelectorAll('ol.thread li').length === 3);
  assert.match((await mail.wait(DESK)).body, /Works now, thank you\./);
  await m.context().close();

  // 3. the manager posts a notice to all users
  const mn = await open('en-US', 1280, '/notices', 'boss', PW);
  await mn.fill('#n-title', 'Office move on Friday');
  await mn.fill('#n-body', 'The office moves on Friday.\nThe service stays up.');
  await mn.click('#notice-form button[type=submit]');
  await mn.waitForSelector('#n-posted tbody tr, section[aria-labelledby="n-posted"] tbody tr');
  assert.match(await mn.textContent('section[aria-labelledby="n-posted"]'), /0 \/ 2/);

  // 4. the user sees the unread badge, opens the notice: read
  const u = await open('en-US', 1280, '/notices', 'yuki', USER_PW);
  await u.waitForSelector('#nav a[href="/notices"] .badge');
  assert.match(await u.textContent('#nav a[href="/notices"] .badge'), /^1/);
  assert.equal(await u.isHidden('#nav a[href="/reports"]'), true);   // reports are the managers'
  await u.focus('#my-notices summary');
  await u.keyboard.press('Enter');
  await u.waitForSelector('#my-notices .tag:not(.unread)');
  await u.waitForFunction(() => !document.querySelector('#nav a[href="/notices"] .badge'));
  assert.match(await u.textContent('#my-notices'), /The office moves on Friday/);
  await u.context().close();

  // 5. the manager sees who read it and when
  await mn.reload();
  await mn.waitForSelector('body[data-ready="1"]');
  assert.match(await mn.textContent('section[aria-labelledby="n-posted"]'), /1 \/ 2/);
  await mn.click('section[aria-labelledby="n-posted"] tbody button');
  await mn.waitForSelector('#n-reads table');
  assert.match(await mn.textContent('#n-reads'), /yuki/);
  assert.match(await mn.getAttribute('#n-reads a', 'href'), /\/reads\?format=csv$/);
  await mn.context().close();
  r = await api('GET', '/api/v1/notices/posted');
  assert.equal(r.data.notices[0].readers, 1);

  // 6. every page in both languages at both widths: axe, no sideways scrolling, screenshots
  for (const [locale, lang] of [['ja-JP', 'ja'], ['en-US', 'en']]) {
    for (const width of [1920, 375]) {
      const p = await open(locale, width, '/reports', 'boss', PW);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      await p.waitForSelector('section[aria-labelledby="r-list"]');
      await check(p, 'reports-list', lang, width);
      await p.goto(`${origin}/reports#${id}`);
      await p.waitForSelector('ol.thread li.provider');
      await check(p, 'reports-thread', lang, width);
      await p.goto(`${origin}/notices`);
      await p.waitForSelector('section[aria-labelledby="n-posted"] tbody button');
      await p.click('section[aria-labelledby="n-posted"] tbody button');
      await p.waitForSelector('#n-reads table');
      await check(p, 'notices-manager', lang, width);
      await p.context().close();
      const q = await open(locale, width, '/notices', 'yuki', USER_PW);
      await q.waitForSelector('#my-notices');
      await q.click('#my-notices summary');
      await check(q, 'notices-user', lang, width);
      await q.context().close();
    }
  }
  console.log(`reports.test: screenshots in ${SHOTS}`);
}, { smtp: true, configure: (data) => appendFileSync(join(data, 'kura.conf'), `\n[provider]\nreports_mail = ${DESK}\n`) });
