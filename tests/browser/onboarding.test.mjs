// The newcomer's path after `make run`, in a real browser (Chromium via playwright-core):
// the demo manager logs in on /login with the one-time password printed by `kura init
// --demo`, is made to choose a new password, lands on /mfa because the policy requires a
// second factor for managers, sets up TOTP with a code from oathtool, gets recovery codes,
// and then logs in again with password + TOTP, lands in the file view (the root folder
// listed, the managers' navigation shown) and can use the API.
//
// usage: node tests/browser/onboarding.test.mjs /path/to/kura
// Fails (never skips) when node, Chromium, oathtool or the kura binary are missing.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

import { run } from './kura.mjs';

const NEW_PW = 'Onboarding-Passphrase-7';
const totp = (secret, step = 0) =>
  execFileSync('oathtool', ['--totp', '-b', '-N', `now ${step >= 0 ? '+' : ''}${step * 30} seconds`, secret],
    { encoding: 'utf8' }).trim();

await run('onboarding.test', process.argv[2], async ({ origin, demoPw, launch }) => {
  const browser = await launch();
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
  await page.waitForSelector('#pw-err[data-key="oPwCommon"]:not([hidden])');
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
  // with the codes kept, the way on is into the file view
  await page.click('#continue a');
  await page.waitForURL(`${origin}/files`);
  await page.waitForSelector('body[data-ready="1"]');

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
  // the newcomer lands in the file view: the root folder, listed (the demo tenant's is empty)
  await page.waitForURL(`${origin}/files`);
  await page.waitForSelector('body[data-ready="1"]');
  assert.match(await page.textContent(".crumbs"), /ルート|Root/);
  await page.waitForSelector('#list .vrow.empty');
  await page.waitForSelector('#nav a[href="/accounts"]:not([hidden])');

  // 4. the session is a full manager session now
  const accounts = await page.evaluate(async () => {
    const { api } = await import('/assets/webauthn.js');
    return api('GET', '/api/v1/accounts');
  });
  assert.equal(accounts.status, 200);
  assert.equal(accounts.data.items[0].login, 'admin');
});
