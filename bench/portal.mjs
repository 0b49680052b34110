// Shared by the portal benchmarks (bench/upload.mjs, bench/portal_first_rows.mjs): kura serve
// with the demo tenant through tests/browser/kura.mjs (a real server, TLS off on loopback,
// Debian's Chromium through playwright-core), the demo manager set up through the API (new
// password, TOTP enrolled then the managers' policy set to optional and TOTP removed, so that
// the browser logs in with the password alone), a big quota, and the browser's login.
import { execFileSync } from 'node:child_process';

export const PW = 'Bench-portal-Passphrase-3';
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

// returns call(method, path, body?, headers?) with the session's cookie and CSRF token
export async function setup(kura, { origin, data, demoPw }) {
  let cookie = '', csrf = '';
  const call = async (method, p, body, headers = {}) => {
    const h = { Cookie: cookie, 'X-CSRF-Token': csrf, ...headers };
    const json = body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string';
    if (json) h['Content-Type'] = 'application/json';
    const r = await fetch(origin + p, { method, headers: h, body: json ? JSON.stringify(body) : body });
    const text = await r.text();
    let j = null;
    try { j = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, data: j, headers: r.headers };
  };
  const must = async (want, ...a) => {
    const r = await call(...a);
    if (r.status !== want) throw new Error(`${a[0]} ${a[1]}: ${r.status} ${JSON.stringify(r.data)}`);
    return r;
  };
  let r = await must(201, 'POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
  cookie = r.headers.get('set-cookie').split(';')[0];
  csrf = r.data.csrf_token;
  await must(204, 'POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW });
  r = await must(201, 'POST', '/api/v1/me/mfa/totp', { password: PW });
  await must(200, 'POST', '/api/v1/me/mfa/totp/confirm', { code: totp(r.data.secret) });
  await must(200, 'PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW });
  await must(204, 'DELETE', '/api/v1/me/mfa/totp', { password: PW });
  execFileSync(kura, ['admin', '--data', data, 'tenant', 'set-quota', 'demo', String(2 ** 50)], { stdio: 'ignore' });
  return { call, must };
}

export async function login(page, origin, path = '/files') {
  await page.goto(origin + path);
  await page.waitForURL(/\/login/);
  await page.fill('#tenant', 'demo');
  await page.fill('#login', 'admin');
  await page.fill('#password', PW);
  await page.click('#submit');
  await page.waitForURL(origin + path);
  await page.waitForSelector('body[data-ready="1"]');
}

export const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
