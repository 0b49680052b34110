// The Operator access page (/access, managers; C7) in a real Chromium (playwright-core,
// /usr/bin/chromium) with a real SMTP server: an operator asks for access to the tenant's
// files (kura admin access request), the manager gets the mail, sees the request in the
// portal, and approves it by keyboard; only then does the operator's `kura admin support ls`
// work, and the manager sees that read in the request's detail. axe-core in Japanese and
// English (no serious or critical violation), no sideways scrolling at 375 and 1920 px,
// screenshots of both languages at both widths into KURA_SHOT_DIR.
//
// usage: node tests/browser/access.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const PW = 'Access-test-Passphrase-8';
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'portal-shots');
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

await run('access.test', process.argv[2], async ({ origin, data, launch, kura, mail }) => {
  mkdirSync(SHOTS, { recursive: true });
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const refused = (...args) => {
    try {
      execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) { return e.stderr; }
    throw new Error(`kura admin ${args.join(' ')} worked without a grant`);
  };
  admin('tenant', 'create', 'lock', '--name', 'ロック株式会社', '--service', 'DOCX');
  const inv = admin('manager', 'create', 'lock', 'boss', '--email', 'boss@example.com');
  const token = /\/invite\/([^/?#]+)/.exec(inv.invitation_url)?.[1];
  assert.ok(token, JSON.stringify(inv));
  await mail.wait('boss@example.com');   // the invitation

  let cookie = '', csrf = '';
  const call = async (method, path, body, type) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    if (body !== undefined) headers['Content-Type'] = type || 'application/json';
    const r = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : type ? body : JSON.stringify(body) });
    const text = await r.text();
    let d = {};
    try { d = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data: d, headers: r.headers };
  };
  assert.equal((await call('POST', `/api/v1/invitations/${token}`, { password: PW })).status, 204);
  let r = await call('POST', '/api/v1/session', { tenant: 'lock', login: 'boss', password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  // managers must enrol MFA; enrol, make it optional, remove it: the browser logs in with the password
  r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  r = await call('PUT', '/api/v1/folders/root/files/plan-2027.txt', 'the plan', 'text/plain');
  assert.equal(r.status, 201, JSON.stringify(r.data));

  // the operator asks; the manager is mailed; nothing opens yet
  const req = admin('access', 'request', 'lock', '--reason', '同期エラーの調査 / sync error', '--case', 'CASE-B1',
    '--scope', 'files:read', '--hours', '2');
  const m = await mail.wait('boss@example.com');
  assert.match(m.body, /CASE-B1/);
  assert.match(m.body, new RegExp(`${origin.replace(/[.:/]/g, '\\$&')}/access`));
  assert.match(refused('support', 'ls', 'lock', '/'), /pending/);

  const browser = await launch();
  const open = async (locale, width) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (x) => { if (x.type() === 'error') console.log('browser:', x.text()); });
    p.on('dialog', (dl) => { throw new Error('a dialog opened: ' + dl.message()); });
    await p.goto(`${origin}/access`);
    await p.waitForURL(/\/login/);
    await p.fill('#tenant', 'lock');
    await p.fill('#login', 'boss');
    await p.fill('#password', PW);
    await p.click('#submit');
    await p.waitForURL(`${origin}/access`);
    await p.waitForSelector('body[data-ready="1"]');
    await p.waitForSelector(`article[data-id="${req.id}"]`);
    return p;
  };
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };

  // the manager approves by keyboard; the operator's support ls works then
  let p = await open('en-US', 1280);
  assert.equal(await p.getAttribute('a[href="/access"]', 'aria-current'), 'page');
  const row = `article[data-id="${req.id}"]`;
  assert.match(await p.textContent(row), /CASE-B1.*waiting for approval.*sync error.*0\/1/s);
  await axe(p, 'access (en, pending)');
  await p.focus(`${row} button:has-text("Approve")`);
  await p.keyboard.press('Enter');
  await p.waitForSelector(`${row} .ax-state:has-text("granted")`);
  assert.equal(await p.textContent('#msg'), 'Saved.');
  const ls = admin('support', 'ls', 'lock', '/');
  assert.equal(ls.grant, req.id);
  assert.ok(ls.entries.some((e) => e.name === 'plan-2027.txt'), JSON.stringify(ls));
  await p.context().close();

  // both languages, both widths: the read is in the request's detail
  for (const [locale, lang] of [['ja-JP', 'ja'], ['en-US', 'en']]) {
    for (const width of [1920, 375]) {
      p = await open(locale, width);
      assert.equal(await p.getAttribute('html', 'lang'), lang);
      assert.match(await p.textContent(row), lang === 'ja' ? /許可中/ : /granted/);
      await p.click(`${row} button.plain`);
      await p.waitForSelector('#ax-detail td:has-text("support.ls")');
      assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width), `no sideways scrolling at ${width} px`);
      await axe(p, `access (${lang}, ${width} px)`);
      await p.screenshot({ path: join(SHOTS, `access.${lang}.${width}.png`), fullPage: true });
      await p.context().close();
    }
  }
  // and the tenant's audit log has it, with the grant and the case
  r = await call('GET', '/api/v1/audit?action=support.ls');
  assert.equal(r.status, 200);
  assert.equal(r.data.events.length, 1);
  assert.equal(r.data.events[0].details.grant_id, req.id);
  assert.equal(r.data.events[0].details.case, 'CASE-B1');
  assert.equal(admin('audit', 'verify', 'lock').ok, true);
  console.log(`access.test: screenshots in ${SHOTS}`);
}, { smtp: true });
