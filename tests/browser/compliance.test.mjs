// The Security statement page (/compliance, managers; A1, A2, A5, docs/compliance.md) in a
// real Chromium (playwright-core, /usr/bin/chromium): a DOCX tenant's manager opens the
// statement of the deployment's running settings in Japanese and English, reads the rows
// (the lockout setting changed just before shows its new value; the test listener's missing
// TLS is "no evidence"), reaches the download by keyboard and downloads the HTML statement;
// that standalone document is opened in Chromium too (its own CSS, no script). axe-core on
// the page and on the document (no serious or critical violation), no sideways scrolling at
// 375 and 1920 px, screenshots of both at both widths and in both languages into KURA_SHOT_DIR.
//
// usage: node tests/browser/compliance.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Statement-test-Passphrase-5';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'portal-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
const conf = '[provider]\nname = 株式会社クラ・クラウド\naddress = 東京都千代田区丸の内一丁目1番1号\n' +
  'contact = サポートデスク support@kura.example(平日 9:00〜18:00)\ndata_location = 日本(東日本リージョン)\n' +
  'jurisdiction = 東京地方裁判所\n';

await run('compliance.test', process.argv[2], async ({ origin, data, launch, kura }) => {
  mkdirSync(SHOTS, { recursive: true });
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8' }));
  admin('tenant', 'create', 'sample', '--name', '株式会社サンプル商事', '--service', 'DOCX');
  const inv = admin('manager', 'create', 'sample', 'boss', '--email', 'boss@example.com');
  const token = /\/invite\/([^/?#]+)/.exec(inv.invitation_url)?.[1];
  assert.ok(token, JSON.stringify(inv));

  let cookie = '', csrf = '';
  const call = async (method, path, body) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let d = {};
    try { d = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data: d, headers: r.headers, text };
  };
  assert.equal((await call('POST', `/api/v1/invitations/${token}`, { password: PW })).status, 204);
  let r = await call('POST', '/api/v1/session', { tenant: 'sample', login: 'boss', password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  // managers must enrol MFA; enrol, make it optional, remove it: the browser logs in with the password
  r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  assert.equal((await call('PATCH', '/api/v1/tenant/security', { lockout_threshold: 6 })).status, 200);
  assert.equal((await call('GET', '/api/v1/audit/export')).status, 200);   // a checkpoint of the chain

  const browser = await launch();
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const open = async (locale, width) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 }, acceptDownloads: true });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('dialog', (dl) => { throw new Error('a dialog opened: ' + dl.message()); });
    p.on('pageerror', (e) => console.log('browser: page error:', e.message));
    await p.goto(`${origin}/compliance`);
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'sample');
    await p.fill('#login', 'boss');
    await p.fill('#password', PW);
    await p.click('#submit');
    await p.waitForURL(`${origin}/compliance`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.waitForSelector('article[data-id="W5"]', { timeout: 60000 }).catch(async (e) => {
      throw new Error(`the statement did not show: #msg ${await p.textContent('#msg')} (${e.message})`);
    });
    return p;
  };

  for (const [locale, lang] of [['ja-JP', 'ja'], ['en-US', 'en']]) {
    for (const width of [1920, 375]) {
      const p = await open(locale, width);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      assert.equal(await p.getAttribute('a[href="/compliance"]', 'aria-current'), 'page');
      assert.equal(await p.locator('article.co-control').count(), 41);
      const c3 = await p.textContent('article[data-id="C3"]');
      assert.match(c3, lang === 'ja' ? /6回失敗/ : /6 failures/);
      const e1 = await p.textContent('article[data-id="E1"]');
      assert.match(e1, lang === 'ja' ? /証跡なし: .*TLS/ : /No evidence: .*TLS/);
      assert.equal(await p.getAttribute('article[data-id="E1"]', 'data-status'), 'partial');
      assert.match(await p.textContent('article[data-id="A3"]'), /東京地方裁判所/);
      assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `no sideways scrolling at ${width} px`);
      await axe(p, `compliance (${lang}, ${width} px)`);
      await p.screenshot({ path: join(SHOTS, `compliance.${lang}.${width}.png`), fullPage: false });

      // the HTML statement: reached by keyboard, downloaded, opened on its own
      await p.focus('#co-download');
      const [dl] = await Promise.all([p.waitForEvent('download'), p.keyboard.press('Enter')]);
      const file = join(SHOTS, `statement.${lang}.${width}.html`);
      await dl.saveAs(file);
      const html = readFileSync(file, 'utf8');
      assert.match(html, new RegExp(`<html lang="${lang}">`));
      assert.doesNotMatch(html, /<script/i);
      assert.match(html, /株式会社サンプル商事/);
      const doc = await p.context().newPage();
      const blocked = [];
      doc.on('console', (m) => { if (m.type() === 'error') blocked.push(m.text()); });
      await doc.goto('file://' + file);
      assert.deepEqual(blocked, [], 'the statement loads with its own CSP and nothing is refused');
      assert.equal(await doc.evaluate(() => getComputedStyle(document.querySelector('h1')).fontWeight >= 600), true,
        'its own stylesheet applies');
      assert.ok(await doc.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `statement: no sideways scrolling at ${width} px`);
      await axe(doc, `statement (${lang}, ${width} px)`);
      await doc.screenshot({ path: join(SHOTS, `statement.${lang}.${width}.png`), fullPage: false });
      await doc.locator('#C3').screenshot({ path: join(SHOTS, `statement.${lang}.${width}.C3.png`) });
      await p.context().close();
    }
  }
  console.log(`compliance.test: screenshots in ${SHOTS}`);
}, { conf });
