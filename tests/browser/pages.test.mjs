// The pages before the portal in a real Chromium (playwright-core) against a real kura
// serve with a real SMTP peer (a small sink in this file): every state of the login page
// reached for real (wrong passwords with the tries left until a real lock, an unknown login
// answering the same, an address outside the tenant's networks, an ended session and
// ?next= — hostile ones not followed — the second step with wrong codes, a lock, an expired
// step by the test clock, a recovery code with the codes left), the MFA enrolment page, the
// invitation (rules before submitting, a weak password, done → MFA enrolment or the portal,
// used, expired by the clock, invalid), the password reset (one answer whether the account
// exists, done, used, expired, invalid), the landing page; the language switch remembered
// across pages, English on a first visit in English; axe-core on every page in both
// languages (no serious or critical violation); screenshots of every page in ja and en at
// 375 and 1920 px into KURA_SHOT_DIR (default ./pages-shots).
//
// usage: node tests/browser/pages.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './kura.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const SHOTS = process.env.KURA_SHOT_DIR || join(process.cwd(), 'pages-shots');
const PW = 'Pages-test-Passphrase-9';
const USER_PW = 'Pages-user-Passphrase-4';
const totp = (secret, step = 0) =>
  execFileSync('oathtool', ['--totp', '-b', '-N', `now ${step >= 0 ? '+' : ''}${step * 30} seconds`, secret],
    { encoding: 'utf8' }).trim();

// --- a real SMTP peer: every mail kept, its base64 body decoded
const mails = [];
const smtp = createServer((sock) => {
  let buf = '', data = false, rcpt = '';
  sock.write('220 sink ESMTP\r\n');
  sock.on('data', (chunk) => {
    buf += chunk.toString('latin1');
    for (;;) {
      if (data) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) return;
        const raw = buf.slice(0, end);
        buf = buf.slice(end + 5);
        data = false;
        const [, body = ''] = raw.split(/\r\n\r\n/);
        let text = body;
        if (/Content-Transfer-Encoding: base64/i.test(raw)) text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
        mails.push({ to: rcpt, text });
        sock.write('250 OK\r\n');
        continue;
      }
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const cmd = line.slice(0, 4).toUpperCase();
      if (cmd === 'EHLO') sock.write('250-sink\r\n250 8BITMIME\r\n');
      else if (cmd === 'HELO') sock.write('250 sink\r\n');
      else if (cmd === 'RCPT') { rcpt = line; sock.write('250 OK\r\n'); }
      else if (cmd === 'DATA') { data = true; sock.write('354 go on\r\n'); }
      else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); return; }
      else sock.write('250 OK\r\n');
    }
  });
  sock.on('error', () => {});
});
await new Promise((r) => smtp.listen(0, '127.0.0.1', r));
const smtpPort = smtp.address().port;
const mailFor = async (addr, marker, seen = 0) => {
  for (const until = Date.now() + 60000; Date.now() < until;) {   // a deadline: returns at the mail
    const m = mails.filter((x) => x.to.includes(addr) && x.text.includes(marker));
    if (m.length > seen) return m[m.length - 1].text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${addr} with ${marker}`);
};
const tokenIn = (text, marker) => new RegExp(`${marker}([A-Za-z0-9_-]+)`).exec(text)[1];

await run('pages.test', process.argv[2], async ({ origin, data, demoPw, launch, restart }) => {
  mkdirSync(SHOTS, { recursive: true });
  const kura = process.argv[2];
  const admin = (...args) => JSON.parse(execFileSync(kura, ['admin', '--data', data, '--json', ...args], { encoding: 'utf8' }));

  // --- API sessions (cookie + CSRF), for the set-up
  const session = () => {
    const s = { cookie: '', csrf: '' };
    s.call = async (method, path, body) => {
      const headers = { Cookie: s.cookie, 'X-CSRF-Token': s.csrf };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const r = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let d = {};
      try { d = JSON.parse(text); } catch { /* not JSON */ }
      if (r.headers.get('set-cookie')) s.cookie = r.headers.get('set-cookie').split(';')[0];
      if (d.csrf_token) s.csrf = d.csrf_token;
      return { status: r.status, data: d };
    };
    return s;
  };
  const mgr = session();
  let r = await mgr.call('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
  assert.equal(r.status, 201);
  assert.equal((await mgr.call('POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW })).status, 204);
  r = await mgr.call('POST', '/api/v1/me/mfa/totp', { password: PW });
  assert.equal(r.status, 201);
  assert.equal((await mgr.call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) })).status, 200);
  assert.equal((await mgr.call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
  assert.equal((await mgr.call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);
  // users, each accepted through the invitation of their mail
  const invite = async (login) => {
    assert.equal((await mgr.call('POST', '/api/v1/accounts', { login, email: `${login}@example.com`, role: 'user' })).status, 201);
    return tokenIn(await mailFor(`${login}@example.com`, '/invite/'), '/invite/');
  };
  const user = async (login) => {
    const tok = await invite(login);
    assert.equal((await session().call('POST', `/api/v1/invitations/${tok}`, { password: USER_PW })).status, 204);
  };
  for (const u of ['lockme', 'mika', 'rina']) await user(u);
  // mika and rina have TOTP (and recovery codes)
  const secrets = {}, recovery = {};
  for (const u of ['mika', 'rina']) {
    const s = session();
    assert.equal((await s.call('POST', '/api/v1/session', { tenant: 'demo', login: u, password: USER_PW })).status, 201);
    r = await s.call('POST', '/api/v1/me/mfa/totp', { password: USER_PW });
    secrets[u] = r.data.secret;
    r = await s.call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(secrets[u]) });
    assert.equal(r.status, 200);
    recovery[u] = r.data.recovery_codes;
  }
  const newbieToken = await invite('newbie');
  const lateToken = await invite('late');

  const browser = await launch();
  const ctxFor = async (locale, width = 1280) => {
    const c = await browser.newContext({ locale, viewport: { width, height: 900 } });
    const p = await c.newPage();
    p.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    p.on('pageerror', (e) => { throw new Error('page error: ' + e.message); });
    return p;
  };
  const axe = async (p, what) => {
    // evaluated through the DevTools protocol: the pages' CSP refuses inline scripts
    if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(axeSource);
    const res = await p.evaluate(async () => (await window.axe.run(document)).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`));
    assert.deepEqual(res, [], `axe on ${what}`);
  };
  const key = (p, sel) => p.getAttribute(sel, 'data-key');
  const fill = async (p, tenant, login, password) => {
    await p.fill('#tenant', tenant);
    await p.fill('#login', login);
    await p.fill('#password', password);
    await p.click('#submit');
  };
  // the error line is an alert tied to its fields, and shows key
  const errorShown = async (p, errId, k, field) => {
    await p.waitForSelector(`#${errId}[data-key="${k}"]:not([hidden])`);
    assert.equal(await p.getAttribute(`#${errId}`, 'role'), 'alert');
    assert.equal(await p.getAttribute(`#${field}`, 'aria-invalid'), 'true');
    assert.ok((await p.getAttribute(`#${field}`, 'aria-describedby')).split(' ').includes(errId), `${field} described by ${errId}`);
    assert.equal(await p.evaluate(() => document.activeElement.id), field, 'focus on the field');
    return (await p.textContent(`#${errId}`)).trim();
  };

  // 1. English on a first visit in English, Japanese in Japanese; the switch is remembered
  const en = await ctxFor('en-US');
  await en.goto(`${origin}/login`);
  assert.equal(await en.getAttribute('html', 'lang'), 'en');
  assert.equal((await en.textContent('h1')).trim(), 'Log in');
  assert.equal(await en.title(), 'kura — Log in');
  const ja = await ctxFor('ja-JP');
  await ja.goto(`${origin}/login`);
  assert.equal(await ja.getAttribute('html', 'lang'), 'ja');
  assert.equal((await ja.textContent('h1')).trim(), 'ログイン');
  await ja.click('#lang');
  await ja.waitForFunction(() => document.documentElement.lang === 'en');
  for (const path of ['/reset', '/', `/invite/${lateToken}`, '/mfa', '/login']) {
    await ja.goto(origin + path);
    assert.equal(await ja.getAttribute('html', 'lang'), 'en', `English kept on ${path}`);
  }
  assert.equal(await ja.evaluate(() => localStorage.getItem('kura_lang')), 'en');
  await ja.click('#lang');
  await ja.waitForFunction(() => document.documentElement.lang === 'ja');
  await ja.goto(`${origin}/reset`);
  assert.equal(await ja.getAttribute('html', 'lang'), 'ja');
  assert.deepEqual(await ja.evaluate(() => Object.keys(localStorage)), ['kura_lang'], 'nothing else in localStorage');

  // 2. wrong passwords: the tries left, then a real lock; an unknown login answers the same
  await en.goto(`${origin}/login`);
  await fill(en, 'demo', 'lockme', '', '');
  await errorShown(en, 'form-err', 'text', 'password');   // an empty field is named
  assert.match(await en.textContent('#form-err'), /Password/);
  const seen = { lockme: [], ghost: [] };
  for (let n = 1; n <= 6; n++) {
    for (const who of ['lockme', 'ghost']) {
      await en.goto(`${origin}/login`);
      await fill(en, 'demo', who, 'wrong-password-' + n);
      const k = n < 4 ? 'lWrong' : n === 4 ? 'lWrongLast' : 'text';
      const text = await errorShown(en, 'form-err', k, 'password');
      seen[who].push(text.replace(/\d{4}\u2011\d\d\u2011\d\d\u00a0\d\d:\d\d\u00a0\S+/, 'TIME'));
      if (n < 4) assert.match(text, new RegExp(`^The tenant, login ID or password is wrong. ${5 - n} more`));
      if (n >= 5) assert.match(text, /^Locked after too many failed tries, until \d{4}\u2011\d\d\u2011\d\d\u00a0\d\d:\d\d\u00a0GMT\+9/);
      if (n === 1 && who === 'lockme') await en.screenshot({ path: join(SHOTS, 'login-wrong.en.png') });
      if (n === 5 && who === 'lockme') await en.screenshot({ path: join(SHOTS, 'login-locked.en.png') });
    }
  }
  assert.deepEqual(seen.ghost, seen.lockme, 'an unknown login reads exactly like an existing one');
  // locked: the right password too
  await en.goto(`${origin}/login`);
  await fill(en, 'demo', 'lockme', USER_PW);
  await errorShown(en, 'form-err', 'text', 'password');
  assert.match(await en.textContent('#form-err'), /^Locked/);
  await restart({});   // the per-address delay starts afresh (it is per process)

  // 3. an ended session: ?next= is said and followed; hostile ones are not
  await ja.goto(`${origin}/files?folder=root`);
  await ja.waitForURL(/\/login\?next=/);
  await ja.waitForSelector('#notice[data-key="oSessionEnded"]:not([hidden])');
  assert.equal(await ja.evaluate(() => document.activeElement.id), 'tenant', 'focus on the first field');
  await ja.screenshot({ path: join(SHOTS, 'login-ended.ja.png') });
  await fill(ja, 'demo', 'admin', PW);
  await ja.waitForURL(`${origin}/files?folder=root`);
  const nexts = await ja.evaluate(async () => {
    const { nextPage } = await import('/assets/outer.js');
    return ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)',
      '/%2F%2Fevil.example', '/login?next=/files', '/shares?x=1#y', '/files?folder=7', '', 'files']
      .map((n) => nextPage('?next=' + encodeURIComponent(n)));
  });
  assert.deepEqual(nexts, ['/files', '/files', '/files', '/files', '/files', '/%2F%2Fevil.example', '/files',
    '/shares?x=1#y', '/files?folder=7', '/files', '/files']);
  const jaCtx = ja.context();
  await ja.goto('about:blank');   // the portal page would go to the login by itself
  await jaCtx.clearCookies();
  await ja.goto(`${origin}/login?next=${encodeURIComponent('/\t/evil.example/x')}`);
  await fill(ja, 'demo', 'admin', PW);
  await ja.waitForURL(`${origin}/files`);

  // 4. the second step: wrong codes with the tries left, a lock, an expired step
  await ja.goto('about:blank');
  await jaCtx.clearCookies();
  await en.goto(`${origin}/login`);
  await fill(en, 'demo', 'mika', USER_PW);
  await en.waitForSelector('#second:not([hidden])');
  assert.equal(await en.evaluate(() => document.activeElement.id), 'otp');
  await en.screenshot({ path: join(SHOTS, 'login-second.en.png') });
  await axe(en, 'login second step (en)');
  for (let n = 1; n <= 5; n++) {
    await en.fill('#otp', '000000');
    await en.click('#otp-form button[type=submit]');
    const k = n < 4 ? 'lCodeWrong' : n === 4 ? 'lCodeWrongLast' : 'text';
    const text = await errorShown(en, 'otp-err', k, 'otp');
    if (n < 4) assert.match(text, new RegExp(`^The code is wrong. ${5 - n} more`));
    if (n === 5) assert.match(text, /^Locked after too many failed tries, until/);
  }
  assert.equal((await mgr.call('POST', '/api/v1/accounts/mika/unlock')).status, 204);
  await ja.goto(`${origin}/login`);
  await fill(ja, 'demo', 'mika', USER_PW);
  await ja.waitForSelector('#second:not([hidden])');
  await ja.screenshot({ path: join(SHOTS, 'login-second.ja.png') });
  await restart({ KURA_TEST_CLOCK_OFFSET_S: '400' });   // past the step's 5 minutes
  await ja.fill('#otp', totp(secrets.mika, 14));
  await ja.click('#otp-form button[type=submit]');
  await errorShown(ja, 'form-err', 'lExpired', 'password');
  assert.equal(await ja.isHidden('#second'), true);
  assert.match(await ja.textContent('#form-err'), /もう一度パスワードから/);

  // 5. a recovery code: the codes left, then on into the portal
  await restart({});
  await en.goto(`${origin}/login?next=${encodeURIComponent('/shares')}`);
  await fill(en, 'demo', 'rina', USER_PW);
  await en.waitForSelector('#second:not([hidden])');
  await en.fill('#otp', recovery.rina[0]);
  await en.click('#otp-form button[type=submit]');
  await en.waitForSelector('#recovered:not([hidden])');
  assert.match(await en.textContent('#recovered-msg'), /9 codes are left/);
  assert.equal(await en.evaluate(() => document.activeElement.id), 'recovered-go');
  await axe(en, 'login recovered (en)');
  await en.screenshot({ path: join(SHOTS, 'login-recovered.en.png') });
  await en.click('#recovered-go');
  await en.waitForURL(`${origin}/shares`);
  await en.goto('about:blank');
  await en.context().clearCookies();

  // 6. the invitation: rules before submitting, a weak password, done → the portal; used
  await ja.goto(`${origin}/invite/${newbieToken}`);
  await ja.waitForSelector('#form:not([hidden])');
  assert.equal(await ja.textContent('#who-login'), 'newbie');
  assert.equal(await ja.getAttribute('#rules li[data-rule="len"]', 'data-ok'), 'no');
  await ja.fill('#pw', 'newbie');
  assert.equal(await ja.getAttribute('#rules li[data-rule="login"]', 'data-ok'), 'no');
  await ja.fill('#pw', 'passwordpassword');
  await ja.fill('#pw2', 'passwordpassword');
  assert.equal(await ja.getAttribute('#rules li[data-rule="len"]', 'data-ok'), 'yes');
  assert.equal(await ja.getAttribute('#rules li[data-rule="same"]', 'data-ok'), 'yes');
  await axe(ja, 'invite (ja)');
  await ja.click('#submit');
  assert.match(await errorShown(ja, 'form-err', 'oPwCommon', 'pw'), /よく使われる/);
  await ja.screenshot({ path: join(SHOTS, 'invite-weak.ja.png') });
  await ja.fill('#pw', USER_PW);
  await ja.fill('#pw2', USER_PW + 'x');
  await ja.click('#submit');
  await errorShown(ja, 'form-err', 'oPwDiffer', 'pw2');
  await ja.fill('#pw2', USER_PW);
  await ja.click('#submit');
  await ja.waitForURL(`${origin}/files`);
  await ja.goto(`${origin}/invite/${newbieToken}`);
  await ja.waitForSelector('#gone[data-key="iUsed"]:not([hidden])');
  await ja.goto(`${origin}/invite/short`);
  await ja.waitForSelector('#gone[data-key="iInvalid"]:not([hidden])');
  await axe(ja, 'invite invalid (ja)');
  await ja.goto('about:blank');
  await jaCtx.clearCookies();

  // 7. a manager's invitation: done → the MFA enrolment the policy requires; then an
  // address outside the tenant's networks
  admin('tenant', 'create', 'acme', '--name', 'Acme', '--service', 'DOCX');
  const chiefToken = tokenIn(admin('manager', 'create', 'acme', 'chief', '--email', 'chief@acme.example').invitation_url, '/invite/');
  await en.goto(`${origin}/invite/${chiefToken}`);
  await en.waitForSelector('#form:not([hidden])');
  await en.fill('#pw', PW);
  await en.fill('#pw2', PW);
  await en.click('#submit');
  await en.waitForURL(`${origin}/mfa`);
  await en.waitForSelector('body[data-ready="1"]');
  await en.waitForSelector('#required[data-key="mRequired"]:not([hidden])');
  assert.equal(await en.isHidden('#continue'), true, 'no way on before a factor');
  await axe(en, 'mfa enrolment (en)');
  await en.click('#totp');
  await errorShown(en, 'password-err', 'mPwFirst', 'password');
  await en.fill('#password', 'wrong-password-here');
  await en.click('#totp');
  await errorShown(en, 'password-err', 'mPwWrong', 'password');
  await en.fill('#password', PW);
  await en.click('#totp');
  await en.waitForSelector('#totp-setup:not([hidden]) #qr svg');
  const chiefSecret = (await en.textContent('#secret')).trim();
  await axe(en, 'mfa totp (en)');
  await en.screenshot({ path: join(SHOTS, 'mfa-totp.en.png'), fullPage: true });
  await en.fill('#code', '000000');
  await en.click('#totp-form button[type=submit]');
  await errorShown(en, 'code-err', 'mCodeWrong', 'code');
  await en.fill('#code', totp(chiefSecret));
  await en.click('#totp-form button[type=submit]');
  await en.waitForSelector('#msg[data-key="mTotpOnMsg"]');
  assert.equal((await en.textContent('#codes')).trim().split('\n').length, 10);
  assert.equal(await en.evaluate(() => document.activeElement.id), 'continue-a');
  await en.screenshot({ path: join(SHOTS, 'mfa-codes.en.png'), fullPage: true });
  const ip = await en.evaluate(async () => {
    const { api } = await import('/assets/webauthn.js');
    return (await api('PUT', '/api/v1/tenant/ip-allowlist', { ranges: ['10.0.0.0/8'], confirm_lockout: true })).status;
  });
  assert.equal(ip, 200);
  await en.goto(`${origin}/login`);
  await fill(en, 'acme', 'chief', PW);
  assert.match(await errorShown(en, 'form-err', 'lIp', 'password'), /allowed/);
  await en.screenshot({ path: join(SHOTS, 'login-ip.en.png') });

  // 8. the reset: one answer whether the account exists; done; used; invalid
  for (const login of ['newbie', 'nobody-here']) {
    await ja.goto(`${origin}/reset`);
    await ja.fill('#tenant', 'demo');
    await ja.fill('#login', login);
    await ja.click('#ask-submit');
    await ja.waitForSelector('#msg[data-key="rSent"]');
  }
  const resetToken = tokenIn(await mailFor('newbie@example.com', '/reset/'), '/reset/');
  await en.goto(`${origin}/reset/${resetToken}`);
  await en.waitForSelector('#form:not([hidden])');
  assert.match(await en.textContent('#valid'), /works until \d{4}\u2011/);
  await axe(en, 'reset form (en)');
  await en.fill('#pw', 'short');
  await en.fill('#pw2', 'short');
  await en.click('#submit');
  await errorShown(en, 'form-err', 'oPwTooShort', 'pw');
  await en.fill('#pw', USER_PW + '-new');
  await en.fill('#pw2', USER_PW + '-new');
  await en.click('#submit');
  await en.waitForSelector('#msg[data-key="rDone"]');
  assert.equal(await en.evaluate(() => document.activeElement.id), 'next-a');
  await en.goto(`${origin}/reset/${resetToken}`);
  await en.waitForSelector('#gone[data-key="rUsed"]:not([hidden])');
  await en.goto(`${origin}/reset/short`);
  await en.waitForSelector('#gone[data-key="rInvalid"]:not([hidden])');
  await axe(en, 'reset invalid (en)');
  await ja.goto(`${origin}/reset`);
  await ja.fill('#tenant', 'demo');
  await ja.fill('#login', 'newbie');
  await ja.click('#ask-submit');
  await ja.waitForSelector('#msg[data-key="rSent"]');
  const lateReset = tokenIn(await mailFor('newbie@example.com', '/reset/', 1), '/reset/');

  // 9. every page in both languages: axe, and screenshots at 375 and 1920 px
  const pages = [['index', '/'], ['login', '/login'], ['mfa', '/mfa'], ['invite', `/invite/${lateToken}`],
    ['reset-ask', '/reset'], ['reset', `/reset/${lateReset}`]];
  for (const lang of ['ja', 'en']) {
    for (const width of [375, 1920]) {
      const p = await ctxFor(lang === 'ja' ? 'ja-JP' : 'en-US', width);
      for (const [name, path] of pages) {
        await p.goto(origin + path);
        if (name !== 'login' && name !== 'mfa') await p.waitForSelector('body[data-ready="1"]');
        if (name === 'mfa') await p.waitForSelector('#gone:not([hidden])');
        assert.equal(await p.getAttribute('html', 'lang'), lang);
        await axe(p, `${name} (${lang}, ${width})`);
        assert.ok(await p.evaluate((w) => document.documentElement.scrollWidth <= w, width), `${name}: no sideways scrolling at ${width}`);
        await p.screenshot({ path: join(SHOTS, `${name}.${lang}.${width}.png`), fullPage: true });
      }
      await p.context().close();
    }
  }

  // 10. the clock past 72 hours: the invitation and the reset link have expired
  await restart({ KURA_TEST_CLOCK_OFFSET_S: String(73 * 3600) });
  await ja.goto(`${origin}/invite/${lateToken}`);
  await ja.waitForSelector('#gone[data-key="iExpired"]:not([hidden])');
  assert.match(await ja.textContent('#gone'), /有効期限が切れています/);
  await axe(ja, 'invite expired (ja)');
  await ja.screenshot({ path: join(SHOTS, 'invite-expired.ja.png') });
  await en.goto(`${origin}/reset/${lateReset}`);
  await en.waitForSelector('#gone[data-key="rExpired"]:not([hidden])');
  await en.screenshot({ path: join(SHOTS, 'reset-expired.en.png') });
  console.log(`pages.test: screenshots in ${SHOTS}`);
}, { conf: `[mail]\nsmtp_url = smtp://127.0.0.1:${smtpPort}\npoll_seconds = 1\n` });
