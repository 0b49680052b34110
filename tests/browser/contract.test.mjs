// The Contract page in a real Chromium (playwright-core, /usr/bin/chromium): a tenant with
// IAAS, ZTNA and DOCX (and a deployment override of ZTNA's erasure deadline) shows its
// contract, the effective retention per category with the service each comes from, the
// erasure deadline and its day-1 rule, the notice channels, the operator-access rule, the
// responsibility boundary of each service (IAAS: three products) and the closed initial
// state (D4); a manager turns WebDAV on by keyboard. axe-core in Japanese and English (no
// serious or critical violation), no sideways scrolling at 375 and 1920 px, screenshots of
// both languages at both widths into KURA_SHOT_DIR.
//
// usage: node tests/browser/contract.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Contract-test-Passphrase-7';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'portal-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

await run('contract.test', process.argv[2], async ({ origin, data, launch, kura }) => {
  mkdirSync(SHOTS, { recursive: true });
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8' }));
  admin('tenant', 'create', 'multi', '--name', 'マルチ株式会社', '--service', 'IAAS,ZTNA,DOCX',
    '--option', 'webdav', '--option', 'two-region', '--option', 'storage:100GB');
  const inv = admin('manager', 'create', 'multi', 'boss', '--email', 'boss@example.com');
  // B3: the end of the contract 40 days ahead (a day in Tokyo) and of one option 20 days ahead
  const tokyoDay = (days) => new Date(Date.now() + 9 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
  const endDay = tokyoDay(40);
  admin('tenant', 'terminate', 'multi', '--on', endDay);
  admin('tenant', 'terminate-option', 'multi', 'webdav', '--on', tokyoDay(20));
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
    return { status: r.status, data: d, headers: r.headers };
  };
  assert.equal((await call('POST', `/api/v1/invitations/${token}`, { password: PW })).status, 204);
  let r = await call('POST', '/api/v1/session', { tenant: 'multi', login: 'boss', password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  // managers must enrol MFA; enrol, make it optional, remove it: the browser logs in with the password
  r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);

  const browser = await launch();
  const open = async (locale, width) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('dialog', (dl) => { throw new Error('a dialog opened: ' + dl.message()); });
    await p.goto(`${origin}/contract`);
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'multi');
    await p.fill('#login', 'boss');
    await p.fill('#password', PW);
    await p.click('#submit');
    await p.waitForURL(`${origin}/contract`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.waitForSelector('#features tbody tr, [data-feature]');
    return p;
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const text = (p, sel) => p.textContent(sel);

  for (const [locale, lang] of [['ja-JP', 'ja'], ['en-US', 'en']]) {
    for (const width of [1920, 375]) {
      const p = await open(locale, width);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      const body = await text(p, '#view');
      assert.match(body, /multi/);
      assert.match(body, /IAAS/);
      assert.match(body, /storage:100GB/);
      // ZTNA keeps visibility (access) logs for the contract period; DOCX's erasure (30 days
      // from the termination day) is shorter than ZTNA's 45 (the deployment's override)
      assert.match(await text(p, 'tr[data-category="access"]'), lang === 'ja' ? /契約期間中.*ZTNA/ : /contract period.*ZTNA/);
      // IAAS's 90 days before today outlast DOCX's 90 including today
      assert.match(await text(p, 'tr[data-category="operation"]'), /90.*IAAS/);
      assert.match(await text(p, '#erasure'), /30.*DOCX/);
      assert.match(await text(p, '#operator-access'), /IAAS/);
      // the scheduled end first: the day, the erasure deadline, what goes, the export
      assert.match(await text(p, '#termination-notice'), new RegExp(endDay));
      assert.match(await text(p, '#erasure-deadline'), /\d{4}/);
      assert.match(await text(p, 'section[aria-labelledby="c-termination"]'), /GET \/api\/v1\/export/);
      assert.match(await text(p, 'section[aria-labelledby="c-termination"]'), lang === 'ja' ? /WebDAV のプロパティ/ : /WebDAV properties/);
      // IAAS: the boundary of its three products
      assert.match(body, lang === 'ja' ? /物理サーバー/ : /Physical servers/);
      // D4: all three off, from IAAS
      for (const f of ['sharing', 'webdav', 'app_passwords'])
        assert.match(await text(p, `tr[data-feature="${f}"]`), lang === 'ja' ? /オフ \(IAAS\)/ : /off \(IAAS\)/);
      assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `no sideways scrolling at ${width} px`);
      await axe(p, `contract (${lang}, ${width} px)`);
      await p.screenshot({ path: join(SHOTS, `contract.${lang}.${width}.png`), fullPage: true });
      await p.context().close();
    }
  }

  // a manager turns WebDAV on by keyboard; the API agrees; the focus stays on the switch
  const p = await open('en-US', 1280);
  await p.focus('tr[data-feature="webdav"] button');
  await p.keyboard.press('Enter');
  await p.waitForSelector('tr[data-feature="webdav"] .now:has-text("on")');
  assert.equal(await p.evaluate(() => document.activeElement.closest('tr')?.dataset.feature), 'webdav');
  assert.equal(await text(p, '#msg'), 'Saved.');
  r = await call('GET', '/api/v1/tenant');
  assert.equal(r.data.features.webdav, true);
  assert.equal(r.data.features.sharing, false);
  console.log(`contract.test: screenshots in ${SHOTS}`);
}, { configure: (data) => appendFileSync(join(data, 'kura.conf'), '\n[service.ZTNA]\nerasure_days = 45\n') });
