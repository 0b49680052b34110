// The managers' pages in a real Chromium (playwright-core) against a real `kura serve` and a
// real SMTP server on loopback, each action end to end (the page, the API's state after it,
// the mail it sends):
//   accounts: last sign-in time and address, MFA state and lock per row; search by text,
//     role and status on the server; invite a user and a manager (mails arrive); change
//     role; suspend and resume; unlock; force a password reset (the reset mail arrives, the
//     old password stops working); delete;
//   security: the caller's own address; a list without it is refused with a warning and
//     nothing saved, "Add my address" makes it safe; lockout, MFA and share policy saved
//     and shown again after a reload; at the end "Save anyway" does lock the manager out;
//   logs: filters (action, time range in the tenant's zone), paging, the CSV download, the
//     mail delivery log;
//   axe-core (no serious or critical violation) and screenshots of accounts, security and
//   logs in Japanese and English at 375 px and 1920 px (KURA_SHOT_DIR), no sideways
//   scrolling of the page at 375 px (tables scroll inside themselves or reflow).
//
// usage: node tests/browser/managers.test.mjs /path/to/kura
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'managers-shots');
const PW = 'Managers-test-Passphrase-8';
const USER_PW = 'Managers-user-Passphrase-9';

function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[19] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

await run('managers.test', process.argv[2], async ({ origin, demoPw, launch, mail }) => {
  mkdirSync(SHOTS, { recursive: true });
  // --- the API as a second client: the manager's session, and plain logins
  const client = () => {
    let cookie = '', csrf = '';
    const call = async (method, path, body) => {
      const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const r = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let data = {};
      try { data = JSON.parse(text); } catch { data = { text }; }
      if (path === '/api/v1/session' && r.status === 201) { cookie = r.headers.get('set-cookie').split(';')[0]; csrf = data.csrf_token; }
      return { status: r.status, data };
    };
    return call;
  };
  const api = client();
  const login = (l, p) => client()('POST', '/api/v1/session', { tenant: 'demo', login: l, password: p });
  let r = await api('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
  assert.equal(r.status, 201);
  assert.equal((await api('POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW })).status, 204);
  r = await api('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201);
  assert.equal((await api('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  // the browser signs in with the password alone: managers' MFA optional, TOTP removed
  assert.equal((await api('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await api('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  // accounts: bob and dave active (invitation accepted), carol invited; dave locked
  const invite = async (login_, role, email) => {
    assert.equal((await api('POST', '/api/v1/accounts', { login: login_, email, role })).status, 201);
    const m = await mail.wait(email);
    return /\/invite\/([A-Za-z0-9_-]+)/.exec(m.body)[1];
  };
  for (const who of ['bob', 'dave']) {
    const token = await invite(who, 'user', `${who}@example.com`);
    assert.equal((await client()('POST', `/api/v1/invitations/${token}`, { password: USER_PW })).status, 204);
  }
  assert.equal((await login('bob', USER_PW)).status, 201);
  assert.equal((await api('POST', '/api/v1/accounts', { login: 'carol', email: 'carol@example.org', role: 'manager',
    display_name: 'Carol Example' })).status, 201);
  await mail.wait('carol@example.org');
  r = await api('GET', '/api/v1/tenant/security');
  for (let i = 0; i < r.data.lockout_threshold; i++) assert.equal((await login('dave', 'wrong-password-123')).status, 401);
  assert.equal((await api('GET', '/api/v1/accounts/dave')).data.locked, true);
  // enough audit records for a second page of the log (100 a page)
  for (let i = 0; i < 110; i++)
    assert.equal((await api('PATCH', '/api/v1/accounts/bob', { display_name: `Bob ${i}` })).status, 200);
  assert.equal((await api('PATCH', '/api/v1/accounts/bob', { display_name: 'Bob Builder' })).status, 200);

  const browser = await launch();
  const ctxFor = async (locale, width) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 }, acceptDownloads: true });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('pageerror', (e) => { throw new Error('page error: ' + e.message); });
    p.on('dialog', (d) => { if (d.type() !== 'confirm') throw new Error('unexpected dialog: ' + d.message()); d.accept(); });
    await p.goto(`${origin}/login`);
    await p.fill('#tenant', 'demo');
    await p.fill('#login', 'admin');
    await p.fill('#password', PW);
    await p.click('#submit');
    await p.waitForURL(`${origin}/files`);
    return p;
  };
  const ready = (p) => p.waitForSelector('body[data-ready="1"]');
  const axe = async (p, what) => {
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const en = await ctxFor('en-US', 1920);
  const submit = async (sel) => {
    await en.evaluate(() => { document.getElementById('msg').textContent = ''; });
    await en.click(sel);
  };
  const row = (login_) => `#accounts tr[data-login="${login_}"]`;
  const acct = async (l) => (await api('GET', `/api/v1/accounts/${l}`)).data;

  // 1. accounts: what each row shows
  await en.goto(`${origin}/accounts`);
  await ready(en);
  assert.match(await en.textContent(`${row('bob')} td.last-login`), /from 127\.0\.0\.1/);
  assert.match(await en.textContent(`${row('bob')} td.mfa`), /none/);
  assert.match(await en.textContent(`${row('dave')} td.lock`), /locked until \d{4}-\d\d-\d\d \d\d:\d\d/);
  assert.match(await en.textContent(`${row('carol')} td.last-login`), /never/);
  assert.match(await en.textContent('#acc-count'), /Showing 1–4 of 4/);
  // search on the server: text (name), status, role
  await en.fill('#acc-q', 'carol ex');
  await en.click('#account-filter button[type=submit]');
  await en.waitForFunction(() => document.querySelectorAll('#accounts tbody tr[data-login]').length === 1);
  assert.ok(await en.$(row('carol')));
  await en.fill('#acc-q', '');
  await en.selectOption('#acc-status', 'locked');
  await en.click('#account-filter button[type=submit]');
  await en.waitForFunction(() => [...document.querySelectorAll('#accounts tbody tr[data-login]')].map((e) => e.dataset.login).join() === 'dave');
  await en.selectOption('#acc-status', '');
  await en.selectOption('#acc-role', 'manager');
  await en.click('#account-filter button[type=submit]');
  await en.waitForFunction(() => [...document.querySelectorAll('#accounts tbody tr[data-login]')].map((e) => e.dataset.login).join() === 'admin,carol');
  await en.selectOption('#acc-role', '');
  await en.click('#account-filter button[type=submit]');
  await en.waitForSelector(row('bob'));
  // unlock
  await en.click(`${row('dave')} button:has-text("Unlock")`);
  await en.waitForSelector(`${row('dave')} td.lock:has-text("no")`);
  assert.equal((await acct('dave')).locked, false);
  assert.equal((await login('dave', USER_PW)).status, 201);
  // change role, both ways
  await en.click(`${row('bob')} button:has-text("Change role")`);
  await en.waitForFunction((s) => document.querySelector(s + ' td:nth-child(4)').textContent.includes('manager'), row('bob'));
  assert.equal((await acct('bob')).role, 'manager');
  await en.click(`${row('bob')} button:has-text("Change role")`);
  await en.waitForFunction((s) => document.querySelector(s + ' td:nth-child(4)').textContent.includes('user'), row('bob'));
  assert.equal((await acct('bob')).role, 'user');
  // suspend and resume
  await en.click(`${row('bob')} button:has-text("Suspend")`);
  await en.waitForSelector(`${row('bob')} td[data-state="suspended"]`);
  assert.equal((await login('bob', USER_PW)).status, 401);
  await en.click(`${row('bob')} button:has-text("Resume")`);
  await en.waitForSelector(`${row('bob')} td[data-state="active"]`);
  assert.equal((await login('bob', USER_PW)).status, 201);
  // force a password reset: the mail with the link, the old password no longer works
  await en.click(`${row('bob')} button:has-text("Force password reset")`);
  await en.waitForSelector('#msg:has-text("reset link was mailed")');
  const reset = await mail.wait('bob@example.com');
  assert.match(reset.body, /\/reset\/[A-Za-z0-9_-]+/);
  assert.equal((await login('bob', USER_PW)).status, 401);
  // delete
  await en.click(`${row('carol')} button:has-text("Delete")`);
  await en.waitForSelector(row('carol'), { state: 'detached' });
  assert.equal((await api('GET', '/api/v1/accounts/carol')).status, 404);
  // invite a manager
  await en.fill('#inv-login', 'mika');
  await en.fill('#inv-email', 'mika@example.com');
  await en.selectOption('#inv-role', 'manager');
  await en.click('#invite-form button[type=submit]');
  await en.waitForSelector(`${row('mika')} td[data-state="invited"]`);
  assert.equal((await acct('mika')).role, 'manager');
  assert.match((await mail.wait('mika@example.com')).body, /\/invite\//);

  // 2. security
  await en.goto(`${origin}/security`);
  await ready(en);
  assert.match(await en.textContent('#your-address'), /127\.0\.0\.1 \(allowed\)/);
  await en.fill('#ranges', '10.0.0.0/8');
  await submit('#allowlist-form button[type=submit]');
  await en.waitForSelector('#lockout-warning:not([hidden])');
  assert.match(await en.textContent('#lockout-warning'), /127\.0\.0\.1/);
  assert.deepEqual((await api('GET', '/api/v1/tenant/ip-allowlist')).data.ranges, [], 'nothing saved');
  await en.click('#lockout-warning button:has-text("Add my address")');
  assert.equal(await en.inputValue('#ranges'), '10.0.0.0/8\n127.0.0.1/32');
  await submit('#allowlist-form button[type=submit]');
  await en.waitForSelector('#msg:has-text("Saved.")');
  assert.deepEqual((await api('GET', '/api/v1/tenant/ip-allowlist')).data.ranges, ['10.0.0.0/8', '127.0.0.1/32']);
  await en.fill('#ranges', '');
  await submit('#allowlist-form button[type=submit]');
  await en.waitForSelector('#msg:has-text("Saved.")');
  // the policies: saved, and shown again after a reload
  await en.fill('#lk-threshold', '7');
  await en.fill('#lk-duration', '600');
  await submit('#lockout-form button[type=submit]');
  await en.waitForFunction(() => document.getElementById('msg').textContent === 'Saved.');
  await en.selectOption('#mfa-users', 'optional');
  await en.fill('#mfa-password', PW);
  await submit('#mfa-form button[type=submit]');
  await en.waitForFunction(() => document.getElementById('msg').textContent === 'Saved.' && !document.getElementById('mfa-password').value);
  await en.fill('#sp-default', '3');
  await en.fill('#sp-max', '14');
  await submit('#share-policy-form button[type=submit]');
  await en.waitForFunction(() => document.getElementById('msg').textContent === 'Saved.');
  assert.equal((await api('GET', '/api/v1/tenant/share-policy')).data.default_expiry_s, 3 * 86400);
  await en.reload();
  await ready(en);
  assert.equal(await en.inputValue('#lk-threshold'), '7');
  assert.equal(await en.inputValue('#lk-duration'), '600');
  assert.equal(await en.inputValue('#mfa-users'), 'optional');
  assert.equal(await en.inputValue('#sp-default'), '3');
  assert.equal(await en.inputValue('#sp-max'), '14');

  // 3. logs: filters, time range in the tenant's zone, paging, CSV, the mail log
  await en.goto(`${origin}/logs`);
  await ready(en);
  await en.waitForSelector('#view tbody tr:has-text("account.update")');
  const seqs = async () => en.$$eval('#view section:first-of-type tbody tr td:first-child', (n) => n.map((e) => Number(e.textContent)));
  const page1 = await seqs();
  assert.equal(page1.length, 100);
  await en.click('button:has-text("Older records")');
  await en.waitForFunction((top) => Number(document.querySelector('#view section:first-of-type tbody tr td').textContent) < top, page1[99]);
  const page2 = await seqs();
  assert.ok(page2[0] === page1[99] - 1, `page 2 follows page 1 (${page1[99]} then ${page2[0]})`);
  await en.click('button:has-text("Newest records")');
  await en.waitForFunction((top) => Number(document.querySelector('#view section:first-of-type tbody tr td').textContent) === top, page1[0]);
  await en.fill('#f-action', 'account.invite');
  await en.click('#audit-filter button[type=submit]');
  await en.waitForFunction(() => [...document.querySelectorAll('#view section:first-of-type tbody tr')].every((tr) => tr.textContent.includes('account.invite')));
  assert.equal((await seqs()).length, 4, 'bob, dave, carol, mika invited');
  // the time range means the tenant's zone (Asia/Tokyo for the demo): an hour ago there
  const hourAgo = new Date(Date.now() - 3600e3 + 9 * 3600e3).toISOString().slice(0, 16);
  assert.match(await en.textContent('#audit-filter'), /Asia\/Tokyo/);
  await en.fill('#f-from', hourAgo);
  await en.click('#audit-filter button[type=submit]');
  await en.waitForFunction(() => document.querySelectorAll('#view section:first-of-type tbody tr td:first-child').length === 4 &&
    !document.querySelector('#view section:first-of-type tbody td[colspan]'));
  // up to an hour ago: nothing (read as UTC, "an hour ago in Tokyo" would be 8 h ahead: all)
  await en.fill('#f-from', '');
  await en.fill('#f-to', hourAgo);
  await en.click('#audit-filter button[type=submit]');
  await en.waitForSelector('#view section:first-of-type tbody td[colspan]');
  const [csv] = await Promise.all([en.waitForEvent('download'), en.click('#export-csv')]);
  const csvText = readFileSync(await csv.path(), 'utf8');
  assert.match(csv.suggestedFilename(), /\.csv$/);
  assert.ok(!csvText.includes('account.invite'), 'the CSV follows the filters');
  await en.fill('#f-to', '');
  await en.click('#audit-filter button[type=submit]');
  const [csv2] = await Promise.all([en.waitForEvent('download'), en.click('#export-csv')]);
  assert.match(readFileSync(await csv2.path(), 'utf8'), /account\.invite/);
  // the mail log: the invitations and the reset, sent
  for (const to of ['bob@example.com', 'mika@example.com'])
    await en.waitForSelector(`#view section:last-of-type tr:has-text("${to}") td[data-state="sent"]`);

  // 4. every managers' page: axe and screenshots, ja and en, 375 and 1920 px
  for (const lang of ['ja', 'en']) {
    for (const width of [375, 1920]) {
      const p = await ctxFor(lang === 'ja' ? 'ja-JP' : 'en-US', width);
      for (const name of ['accounts', 'security', 'logs']) {
        await p.goto(`${origin}/${name}`);
        await ready(p);
        assert.equal(await p.getAttribute('html', 'lang'), lang);
        if (name === 'security') {   // the warning, as a manager would meet it
          await p.fill('#ranges', '10.0.0.0/8');
          await p.click('#allowlist-form button[type=submit]');
          await p.waitForSelector('#lockout-warning:not([hidden])');
        }
        await axe(p, `${name} (${lang}, ${width} px)`);
        assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w + 1, width),
          `${name} (${lang}) has no sideways scrolling at ${width} px`);
        // the whole page, but the log's 100 rows: its top, and its download and mail parts
        await p.screenshot({ path: join(SHOTS, `${name}.${lang}.${width}.png`), fullPage: name !== 'logs' });
        if (name === 'logs') {
          await p.locator('#view section').nth(1).scrollIntoViewIfNeeded();
          await p.screenshot({ path: join(SHOTS, `logs-export.${lang}.${width}.png`) });
        }
      }
      await p.context().close();
    }
  }

  // 5. "Save anyway": the server keeps its word, the manager is out
  await en.goto(`${origin}/security`);
  await ready(en);
  await en.fill('#ranges', '10.0.0.0/8');
  await submit('#allowlist-form button[type=submit]');
  await en.click('#lockout-warning button.danger');
  await en.waitForFunction(() => document.getElementById('lockout-warning').hidden);
  assert.equal((await login('admin', PW)).status, 403);
  console.log(`managers.test: screenshots in ${SHOTS}`);
}, { smtp: true });
