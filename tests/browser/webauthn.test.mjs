// WebAuthn end to end: a real Chromium (/usr/bin/chromium, driven by playwright-core over
// CDP) with a virtual CTAP2 authenticator registers security keys on kura's /mfa page and
// logs in on /login; kura verifies every ceremony with libfido2.
//
// usage: node tests/browser/webauthn.test.mjs /path/to/kura  (shared set-up: kura.mjs)
// Fails (never skips) when node, npm, Chromium or the kura binary are missing.
// Runs `npm ci` here when node_modules is absent; never downloads a browser.
import assert from 'node:assert/strict';

import { run } from './kura.mjs';

const NEW_PW = 'Browser-test-Passphrase-9';

await run('webauthn.test', process.argv[2], async ({ origin, demoPw, launch }) => {
  // the demo manager's one-time password is replaced first (plain API)
  let r = await fetch(`${origin}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant: 'demo', login: 'admin', password: demoPw }) });
  assert.equal(r.status, 201);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const csrf = (await r.json()).csrf_token;
  r = await fetch(`${origin}/api/v1/me/password`, { method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie, 'X-CSRF-Token': csrf },
    body: JSON.stringify({ current_password: demoPw, new_password: NEW_PW }) });
  assert.equal(r.status, 204);

  const browser = await launch();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => console.log('browser:', m.text()));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true } });

  const loginUi = async () => {
    await page.goto(`${origin}/login`);
    await page.fill('#tenant', 'demo');
    await page.fill('#login', 'admin');
    await page.fill('#password', NEW_PW);
    await page.click('#submit');
  };
  const list = () => page.evaluate(async () => {
    const { api } = await import('/assets/webauthn.js');
    return (await api('GET', '/api/v1/me/mfa/webauthn')).data.items;
  });

  // 1. the policy obliges the manager: the login lands on the enrolment page
  await loginUi();
  await page.waitForURL(`${origin}/mfa`);
  await page.waitForSelector('#required[data-key="mRequired"]:not([hidden])');

  // 2. register an ES256 key through the page
  await page.fill('#password', NEW_PW);
  await page.fill('#name', 'key-es256');
  await page.click('#register');
  await page.waitForSelector('#msg:has-text("registered")');
  const codes = (await page.textContent('#codes')).trim().split('\n');
  assert.equal(codes.length, 10, 'ten recovery codes with the first factor');
  let items = await list();
  assert.equal(items.length, 1);
  assert.equal(items[0].algorithm, 'ES256');
  assert.equal(items[0].attestation, 'none');
  const auth = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(auth.credentials.length, 1, 'the virtual authenticator holds the credential');

  // 3. EdDSA, when the authenticator offers it; and "packed" self-attestation (direct)
  const eddsa = await page.evaluate(async (pw) => {
    const { create, api } = await import('/assets/webauthn.js');
    const o = await api('POST', '/api/v1/me/mfa/webauthn/register', { password: pw });
    o.data.publicKey.pubKeyCredParams = [{ type: 'public-key', alg: -8 }];
    o.data.publicKey.excludeCredentials = [];
    o.data.publicKey.attestation = 'direct';
    let credential;
    try { credential = await create(o.data); } catch (e) { return { unsupported: e.name }; }
    const f = await api('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: 'key-eddsa', credential });
    return { status: f.status, data: f.data };
  }, NEW_PW);
  let haveEdDSA = false;
  if (eddsa.unsupported) {
    console.log(`webauthn.test: the virtual authenticator does not offer EdDSA (${eddsa.unsupported})`);
  } else {
    assert.equal(eddsa.status, 201, JSON.stringify(eddsa.data));
    assert.equal(eddsa.data.algorithm, 'EdDSA');
    console.log(`webauthn.test: EdDSA key registered, attestation ${eddsa.data.attestation}`);
    haveEdDSA = true;
  }
  // a registration finished twice (same challenge) is refused
  const twice = await page.evaluate(async (pw) => {
    const { create, api } = await import('/assets/webauthn.js');
    const o = await api('POST', '/api/v1/me/mfa/webauthn/register', { password: pw });
    o.data.publicKey.excludeCredentials = [];
    o.data.publicKey.attestation = 'direct';
    const credential = await create(o.data);
    const a = await api('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: 'key-packed', credential });
    const b = await api('POST', '/api/v1/me/mfa/webauthn/register/finish', { name: 'again', credential });
    return { a: a.status, att: a.data.attestation, b: b.status, bt: b.data.type };
  }, NEW_PW);
  assert.equal(twice.a, 201);
  console.log(`webauthn.test: ES256 key with attestation "direct" registered as ${twice.att}`);
  assert.equal(twice.b, 400);
  assert.equal(twice.bt, 'urn:kura:problem:webauthn-verification-failed');
  items = await list();
  assert.equal(items.length, haveEdDSA ? 3 : 2);

  // 4. log out; log in with the key through the page (202 → navigator.credentials.get → 201)
  await page.evaluate(async () => { const { api } = await import('/assets/webauthn.js'); await api('DELETE', '/api/v1/session'); });
  await loginUi();
  await page.waitForURL(`${origin}/files`);
  await page.waitForSelector('body[data-ready="1"]');
  const before = await list();

  // 5. each key by itself; a replayed assertion is refused; the counter increases
  const loginWith = (credentialId) => page.evaluate(async ({ pw, credentialId }) => {
    const { get, api } = await import('/assets/webauthn.js');
    const step = () => api('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: pw });
    const p = await step();
    if (p.status !== 202) return { step1: p.status };
    const opts = p.data.webauthn;
    opts.publicKey.allowCredentials = opts.publicKey.allowCredentials.filter((c) => c.id === credentialId);
    const assertion = await get(opts);
    const f = await api('POST', '/api/v1/session', { challenge: p.data.challenge, webauthn: assertion });
    if (f.status === 201) sessionStorage.setItem('kura_csrf', f.data.csrf_token);
    const p2 = await step();
    const replay = await api('POST', '/api/v1/session', { challenge: p2.data.challenge, webauthn: assertion });
    return { status: f.status, methods: p.data.methods, replay: replay.status };
  }, { pw: NEW_PW, credentialId });
  for (const k of before) {
    const res = await loginWith(k.credential_id);
    assert.equal(res.status, 201, `login with ${k.name}: ${JSON.stringify(res)}`);
    assert.deepEqual(res.methods, ['webauthn', 'recovery_code']);
    assert.equal(res.replay, 401, 'a replayed assertion is refused');
  }
  const after = await list();
  for (const k of after) {
    const old = before.find((b) => b.id === k.id);
    assert.ok(k.sign_count > old.sign_count || (k.sign_count === 0 && old.sign_count === 0),
      `${k.name}: sign counter ${old.sign_count} -> ${k.sign_count}`);
    assert.ok(k.last_used_at, `${k.name} was used`);
  }
  const es = after.find((k) => k.name === 'key-es256');
  assert.ok(es.sign_count > 0, 'the virtual authenticator counts signatures');
  const again = await loginWith(es.credential_id);
  assert.equal(again.status, 201);
  assert.ok((await list()).find((k) => k.id === es.id).sign_count > es.sign_count, 'second login increases the counter');

  // 6. remove authenticators on the page (current password); the last one stays usable
  await page.goto(`${origin}/mfa`);
  await page.fill('#password', NEW_PW);
  for (const k of after.filter((x) => x.id !== es.id)) {
    await page.click(`#keys li[data-id="${k.id}"] button.remove`);
    await page.waitForSelector(`#keys li[data-id="${k.id}"]`, { state: 'detached' });
  }
  items = await list();
  assert.deepEqual(items.map((k) => k.name), ['key-es256']);
  await loginUi();
  await page.waitForURL(`${origin}/files`);
  await page.waitForSelector('body[data-ready="1"]');

  // 7. a wrong password does not remove a key
  const del = await page.evaluate(async (id) => {
    const { api } = await import('/assets/webauthn.js');
    return (await api('DELETE', '/api/v1/me/mfa/webauthn/' + id, { password: 'wrong-password-1234' })).status;
  }, es.id);
  assert.equal(del, 403);
  assert.equal((await list()).length, 1);
});
