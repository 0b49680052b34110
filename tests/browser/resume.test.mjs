// Resumable uploads in a real Chromium (issue 15): the portal's files view uploads a 200 MB
// file of random bytes through tus (web/vendor/tus.min.js against /api/v1/uploads) via a
// TCP proxy on loopback (node's net) that stands between the browser and kura serve.
//  1. The proxy cuts every connection (destroys both sockets) once about half of the bytes
//     have passed, then lets new connections through: the upload goes on from the offset
//     the server acknowledged (its HEAD, asked by this test right after the cut, says more
//     than 0; the first PATCH after the cut starts there; no second POST), and finishes.
//  2. kura serve is stopped (SIGTERM; then again with SIGKILL, a crash) at about half and
//     started again on the same data directory and port: the upload goes on from the
//     offset the server kept and finishes.
// Each time the file is downloaded through the API and its SHA-256 compared with the
// original's, byte for byte.
//
// usage: node tests/browser/resume.test.mjs /path/to/kura
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, linkSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from './kura.mjs';

const SIZE = 200 * 1000 * 1000;
const PW = 'Resume-test-Passphrase-7';
const totp = (secret) => execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();

// a file of SIZE random bytes; returns its SHA-256 (hex)
const makeFile = (path) => {
  const fd = openSync(path, 'w');
  const sum = createHash('sha256');
  const buf = Buffer.alloc(4 << 20);
  for (let left = SIZE; left > 0; left -= buf.length) {
    const b = left < buf.length ? buf.subarray(0, left) : buf;
    randomFillSync(b);
    sum.update(b);
    writeSync(fd, b);
  }
  closeSync(fd);
  return sum.digest('hex');
};

// a TCP proxy to 127.0.0.1:target; counts the bytes from clients; onBytes(total) is called
// as they pass; cut() destroys every open connection (both ends) and says how many sockets
const proxy = (target) => new Promise((resolve) => {
  const open = new Set();
  const p = { port: 0, bytes: 0, onBytes: () => {}, cut: () => { const n = open.size; for (const s of open) s.destroy(); open.clear(); return n; } };
  const srv = createServer((client) => {
    const up = createConnection({ host: '127.0.0.1', port: target });
    open.add(client);
    open.add(up);
    const gone = () => { client.destroy(); up.destroy(); open.delete(client); open.delete(up); };
    client.on('error', gone).on('close', gone);
    up.on('error', gone).on('close', gone);
    client.on('data', (d) => {
      p.bytes += d.length;
      if (!up.write(d)) { client.pause(); up.once('drain', () => client.resume()); }
      p.onBytes(p.bytes);
    });
    up.on('data', (d) => { if (!client.write(d)) { up.pause(); client.once('drain', () => up.resume()); } });
  });
  p.close = () => new Promise((r) => { p.cut(); srv.close(r); });
  srv.listen(0, '127.0.0.1', () => { p.port = srv.address().port; resolve(p); });
});

await run('resume.test', process.argv[2], async ({ origin, port, demoPw, launch, restart }) => {
  const tmp = mkdtempSync(join(tmpdir(), 'kura-resume-file-'));
  const px = await proxy(port);
  try {
    const path = join(tmp, 'big.bin');
    const want = makeFile(path);

    // set-up through the API: a new password, TOTP (the managers' policy), then the policy set
    // to optional and TOTP removed, so that the browser logs in with the password alone (as
    // portal.test does)
    let cookie = '', csrf = '';
    const call = async (method, p, body, headers = {}) => {
      const h = { Cookie: cookie, 'X-CSRF-Token': csrf, ...headers };
      if (body !== undefined) h['Content-Type'] = 'application/json';
      return fetch(origin + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    };
    let r = await call('POST', '/api/v1/session', { tenant: 'demo', login: 'admin', password: demoPw });
    assert.equal(r.status, 201);
    cookie = r.headers.get('set-cookie').split(';')[0];
    csrf = (await r.json()).csrf_token;
    assert.equal((await call('POST', '/api/v1/me/password', { current_password: demoPw, new_password: PW })).status, 204);
    r = await call('POST', '/api/v1/me/mfa/totp', { password: PW });
    assert.equal(r.status, 201);
    const { secret } = await r.json();
    assert.equal((await call('POST', '/api/v1/me/mfa/totp/confirm', { code: totp(secret) })).status, 200);
    assert.equal((await call('PATCH', '/api/v1/tenant/mfa-policy', { managers: 'optional', password: PW })).status, 200);
    assert.equal((await call('DELETE', '/api/v1/me/mfa/totp', { password: PW })).status, 204);

    const browser = await launch();
    const ctx = await browser.newContext({ locale: 'en-US' });
    const page = await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
    const via = `http://localhost:${px.port}`;
    await page.goto(`${via}/files`);
    await page.waitForURL(/\/login/);
    await page.fill('#tenant', 'demo');
    await page.fill('#login', 'admin');
    await page.fill('#password', PW);
    await page.click('#submit');
    await page.waitForURL(`${via}/files`);
    await page.waitForSelector('body[data-ready="1"]');
    // the browser's own session, for the HEAD and the download below
    const browserCookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');

    // the tus traffic as the browser sees it
    let tus = [];
    page.on('request', (q) => {
      if (!q.url().includes('/api/v1/uploads')) return;
      tus.push({ kind: 'req', method: q.method(), url: q.url(), offset: q.headers()['upload-offset'] });
    });
    page.on('response', async (s) => {
      if (!s.url().includes('/api/v1/uploads')) return;
      tus.push({ kind: 'res', method: s.request().method(), status: s.status(),
        location: await s.headerValue('location'), offset: await s.headerValue('upload-offset') });
    });
    page.on('requestfailed', (q) => {
      if (q.url().includes('/api/v1/uploads')) tus.push({ kind: 'failed', method: q.method() });
    });

    // HEAD of the upload as the server answers it (423 while the cut request still holds it)
    const serverOffset = async (url) => {
      for (const until = Date.now() + 60000; Date.now() < until;) {   // a deadline, not a timing
        const h = await fetch(url.replace(via, origin), { method: 'HEAD',
          headers: { Cookie: browserCookie, 'Tus-Resumable': '1.0.0' } });
        if (h.status === 200) return Number(h.headers.get('upload-offset'));
        assert.equal(h.status, 423, `HEAD of the upload: ${h.status}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('the upload stayed busy');
    };

    const check = async (name, interrupt) => {
      tus = [];
      let fired = null;
      px.onBytes = (n) => {
        if (fired || n < px.startBytes + SIZE / 2) return;
        fired = interrupt();
      };
      px.startBytes = px.bytes;
      const file = join(tmp, name);
      linkSync(path, file);
      await page.setInputFiles('#file-input', file);
      // the upload's state leaves "uploading" (done, or failed), then its row appears
      const state = page.locator('#uploads li.upload').filter({ has: page.locator('.uname', { hasText: name }) }).locator('.ustate');
      const busy = await state.textContent();
      await page.waitForFunction(([n, b]) => [...document.querySelectorAll('#uploads li.upload')]
        .some((li) => li.querySelector('.uname').textContent === n && li.querySelector('.ustate').textContent !== b),
      [name, busy], { timeout: 110000, polling: 250 });
      assert.match(await state.textContent(), /^done$/i, `${name}: the upload ended as: ${await state.textContent()}`);
      await page.waitForSelector(`#list [data-name="${name}"]`);
      assert.ok(fired, 'the interruption happened');
      const at = await fired; // { index into tus when it happened, offset the server reported }
      px.onBytes = () => {};

      const posts = tus.filter((e) => e.kind === 'req' && e.method === 'POST');
      assert.equal(posts.length, 1, `one upload created, none started again from 0: ${JSON.stringify(tus)}`);
      const acked = tus.slice(0, at.index).filter((e) => e.kind === 'res' && e.method === 'PATCH' && e.status === 204)
        .map((e) => Number(e.offset));
      const lastAcked = acked.length ? Math.max(...acked) : 0;
      assert.ok(at.offset > 0, `the server kept the bytes before the interruption (HEAD: ${at.offset})`);
      assert.ok(at.offset >= lastAcked, `the server kept what it acknowledged (${at.offset} >= ${lastAcked})`);
      // (Chromium may resend a cut request by itself on a new connection; tus-js-client
      // then sees a 423 or 409 rather than a network error, or nothing at all)
      const after = tus.slice(at.index);
      const resumed = after.find((e) => e.kind === 'req' && e.method === 'PATCH');
      assert.ok(resumed && Number(resumed.offset) > 0 && Number(resumed.offset) >= lastAcked,
        `the first PATCH after the interruption went on from ${resumed && resumed.offset} (acknowledged before: ${lastAcked})`);
      assert.ok(tus.some((e) => e.kind === 'res' && e.method === 'PATCH' && e.status === 204 && Number(e.offset) === SIZE),
        'the last PATCH completed the upload');

      // download it: the same bytes
      const list = await (await call('GET', '/api/v1/folders/root/children?limit=1000')).json();
      const node = list.items.find((it) => it.name === name);
      assert.ok(node, `${name} in the listing`);
      assert.equal(node.size, SIZE);
      const dl = await call('GET', `/api/v1/files/${node.id}/content`);
      assert.equal(dl.status, 200);
      const sum = createHash('sha256');
      let got = 0;
      for await (const chunk of dl.body) { sum.update(chunk); got += chunk.length; }
      assert.equal(got, SIZE);
      assert.equal(sum.digest('hex'), want, `${name}: the downloaded bytes are the uploaded bytes`);
      console.log(`${name}: resumed at ${resumed.offset} (server kept ${at.offset}, acknowledged ${lastAcked}), sha256 equal`);
    };

    const uploadUrl = () => {
      const loc = tus.find((e) => e.kind === 'res' && e.method === 'POST' && e.location);
      assert.ok(loc, 'the upload was created');
      return new URL(loc.location, via).href;
    };

    // 1. the connection cut at half
    await check('cut.bin', async () => {
      const index = tus.length;
      assert.ok(px.cut() > 0, 'connections were open to cut');
      return { index, offset: await serverOffset(uploadUrl()) };
    });
    // 2. the server stopped and started again at half; then killed (a crash) and started
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      await check(`restart-${signal}.bin`, async () => {
        const index = tus.length;
        await restart(signal);
        return { index, offset: await serverOffset(uploadUrl()) };
      });
    }
  } finally {
    await px.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
