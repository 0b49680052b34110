// The newcomer's path after `make run`, in a real browser (Chromium via playwright-core):
// the demo manager logs in on /login with the one-time password printed by `kura init
// --demo`, is made to choose a new password, lands on /mfa because the policy requires a
// second factor for managers, sets up TOTP with a code from oathtool, gets recovery codes,
// and then logs in again with password + TOTP and can use the API.
//
// usage: node tests/browser/onboarding.test.mjs /path/to/kura
// Fails (never skips) when node, Chromium, oathtool or the kura binary are missing.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const NEW_PW = 'Onboarding-Passphrase-7';
const kura = process.argv[2];

function fail(msg) {
  console.error('onboarding.test: FAIL: ' + msg);
  process.exit(1);
}
if (!kura || !existsSync(kura)) fail('usage: onboarding.test.mjs /path/to/kura (kura binary missing)');
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing (scripts/deps.sh --test installs chromium)`);
process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
if (!existsSync(join(here, 'node_modules', 'playwright-core'))) {
  execFileSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund', '--prefer-offline'],
    { stdio: 'inherit', env: process.env });
}
const { chromium } = await import('playwright-core');

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const port = await freePort();
const origin = `http://localhost:${port}`;
const root = mkdtempSync(join(tmpdir(), 'kura-onboarding-'));
const data = join(root, 'data');
let server = null, browser = null, serverLog = '';
const totp = (secret, step = 0) =>
  execFileSync('oathtool', ['--totp', '-b', '-N', `now ${step >= 0 ? '+' : ''}${step * 30} seconds`, secret],
    { encoding: 'utf8' }).trim();

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (!process.env.KURA_IT_KEEP) rmSync(root, { recursive: true, force: true });
}

async function main() {
  const out = execFileSync(kura, ['init', '--data', data, '--demo'], { encoding: 'utf8' });
  const demoPw = /password: (\S+)/.exec(out)?.[1];
  assert.ok(demoPw, 'kura init --demo printed no password');
  appendFileSync(join(data, 'kura.conf'), `\n[server]\npublic_url = ${origin}\n` +
    '[security]\npwhash_ops = 1\npwhash_mem_kib = 8192\n[mail]\nsmtp_url = smtp://127.0.0.1:9\n');
  server = spawn(kura, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--no-tls'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${origin}/api/v1/status`)).ok) break; } catch { /* not yet */ }
    if (i > 100 || server.exitCode !== null) throw new Error('kura serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }

  browser = await chromium.launch({ executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await (await browser.newContext()).newPage();
  page.on('console', (m) => console.log('browser:', m.text()));

  // 1. the one-time password logs in and the page asks for a new one
  await page.goto(`${origin}/login`);
  await page.fill('#tenant', 'demo');
  await page.fill('#login', 'admin');
  await page.fill('#password', demoPw);
  await page.click('#submit');
  await page.waitForSelector('#pw-form:not([hidden])');
  // a weak choice is refused with the server's reason, and nothing moves on
  await page.fill('#new-pw', 'passwordpassword');
  await page.fill('#new-pw2', 'passwordpassword');
  await page.click('#pw-form button[type=submit]');
  await page.waitForSelector('#msg:has-text("Not accepted")');
  await page.fill('#new-pw', NEW_PW);
  await page.fill('#new-pw2', NEW_PW);
  await page.click('#pw-form button[type=submit]');

  // 2. managers must have a second factor: the page goes to the enrolment page
  await page.waitForURL(`${origin}/mfa`);
  await page.fill('#password', NEW_PW);
  await page.click('#totp');
  await page.waitForSelector('#totp-form:not([hidden])');
  const secret = (await page.textContent('#secret')).trim();
  assert.match(secret, /^[A-Z2-7]+=*$/, 'a base32 TOTP secret is shown');
  await page.fill('#code', totp(secret));
  await page.click('#totp-form button[type=submit]');
  await page.waitForSelector('#msg:has-text("TOTP on")');
  const codes = (await page.textContent('#codes')).trim().split('\n');
  assert.equal(codes.length, 10, 'ten recovery codes with the first factor');

  // 3. a new login: password, then a TOTP code (the next step, as the last one is spent)
  await page.evaluate(async () => {
    const { api } = await import('/assets/webauthn.js');
    await api('DELETE', '/api/v1/session');
  });
  await page.goto(`${origin}/login`);
  await page.fill('#tenant', 'demo');
  await page.fill('#login', 'admin');
  await page.fill('#password', NEW_PW);
  await page.click('#submit');
  await page.waitForSelector('#second:not([hidden])');
  await page.fill('#otp', totp(secret, 1));
  await page.click('#otp-form button[type=submit]');
  await page.waitForSelector('#status:has-text("logged-in")');

  // 4. the session is a full manager session now
  const accounts = await page.evaluate(async () => {
    const { api } = await import('/assets/webauthn.js');
    return api('GET', '/api/v1/accounts');
  });
  assert.equal(accounts.status, 200);
  assert.equal(accounts.data.items[0].login, 'admin');
}

try {
  await main();
  await cleanup();
  assert.equal(server.exitCode, 0, 'kura serve exits 0 on SIGTERM');
  console.log('onboarding.test: ok');
} catch (e) {
  console.error(serverLog.split('\n').filter((l) => !l.includes('"http.request"')).slice(-40).join('\n'));
  await cleanup();
  fail(e.stack || String(e));
}
