// Benchmark (issue 15): a 1 GiB file uploaded (RUNS times each, default 3; the median MB/s)
//  - through the portal in Chromium (tus-js-client, web/js/files.js: PATCHes of 16 MiB),
//  - with curl through tus (POST creation, then one PATCH of the whole file),
//  - with curl as a WebDAV PUT,
// against kura serve --no-tls on loopback. Not a test: it prints figures. Driven by
// bench/upload.sh (give it a Release kura: the Debug build's sanitizers dominate).
import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from '../tests/browser/kura.mjs';
import { login, median, setup } from './portal.mjs';

const SIZE = Number(process.env.SIZE_MIB || 1024) * 1024 * 1024;
const RUNS = Number(process.env.RUNS || 3);
const mbs = (bytes, ms) => bytes / 1e6 / (ms / 1000);

await run('upload.bench', process.argv[2], async (ctx) => {
  const { origin, launch } = ctx;
  const tmp = mkdtempSync(join(tmpdir(), 'kura-bench-upload-'));
  try {
    const { call, must } = await setup(process.argv[2], ctx);
    const file = join(tmp, 'big.bin');
    const fd = openSync(file, 'w');
    const sum = createHash('sha256');
    const buf = Buffer.alloc(8 << 20);
    for (let left = SIZE; left > 0; left -= buf.length) { randomFillSync(buf); sum.update(buf); writeSync(fd, buf); }
    closeSync(fd);
    // curl's credential: an app password in a config file (no secret on a command line)
    const ap = await must(201, 'POST', '/api/v1/me/app-passwords', { name: 'bench', scope: 'read-write' });
    const auth = 'Basic ' + Buffer.from(`${ap.data.username}:${ap.data.secret}`).toString('base64');
    const rc = join(tmp, 'curlrc');
    writeFileSync(rc, `header = "Authorization: ${auth}"\nheader = "Expect:"\n`, { mode: 0o600 });
    const curl = (...a) => execFileSync('curl', ['-sS', '-K', rc, ...a], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const forget = async (name) => {   // the file to the trash and purged: the disk stays small
      const l = await call('GET', '/api/v1/folders/root/children?limit=1000');
      const it = l.data.items.find((x) => x.name === name);
      if (!it || it.size !== SIZE) throw new Error(`${name}: not uploaded whole (${JSON.stringify(it)})`);
      await must(204, 'DELETE', `/api/v1/files/${it.id}`);
      await must(204, 'DELETE', `/api/v1/trash/${it.id}`);
    };

    const browser = await launch();
    const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
    await login(page, origin);
    const res = { browser: [], tus: [], dav: [] };
    for (let i = 0; i < RUNS; i++) {
      // WebDAV PUT
      let name = `dav-${i}.bin`;
      let t0 = performance.now();
      curl('-o', '/dev/null', '-f', '-T', file, `${origin}/dav/demo/${name}`);
      res.dav.push(mbs(SIZE, performance.now() - t0));
      await forget(name);
      // curl, tus: creation, then one PATCH
      name = `tus-${i}.bin`;
      t0 = performance.now();
      const meta = `filename ${Buffer.from(name).toString('base64')}`;
      const h = curl('-f', '-D', '-', '-o', '/dev/null', '-X', 'POST', '-H', 'Tus-Resumable: 1.0.0',
        '-H', `Upload-Length: ${SIZE}`, '-H', `Upload-Metadata: ${meta}`, `${origin}/api/v1/uploads`);
      const loc = /^location: (\S+)/im.exec(h)[1];
      curl('-f', '-o', '/dev/null', '-X', 'PATCH', '-H', 'Tus-Resumable: 1.0.0', '-H', 'Upload-Offset: 0',
        '-H', 'Content-Type: application/offset+octet-stream', '-T', file, origin + loc);
      res.tus.push(mbs(SIZE, performance.now() - t0));
      await forget(name);
      // the portal in Chromium: from choosing the file to the upload's state "done"
      name = `portal-${i}.bin`;
      const named = join(tmp, name);
      execFileSync('ln', [file, named]);
      const st = page.locator('#uploads li.upload').filter({ has: page.locator('.uname', { hasText: name }) }).locator('.ustate');
      t0 = performance.now();
      await page.setInputFiles('#file-input', named);
      await page.waitForFunction((n) => [...document.querySelectorAll('#uploads li.upload')].some((li) =>
        li.querySelector('.uname').textContent === n &&
        li.querySelector('button').disabled), name, { timeout: 600000, polling: 50 });
      const ms = performance.now() - t0;
      const state = await st.textContent();
      if (!/^done$/i.test(state)) throw new Error(`${name}: ${state}`);
      res.browser.push(mbs(SIZE, ms));
      rmSync(named);
      await forget(name);
      console.log(`run ${i + 1}: WebDAV PUT ${res.dav[i].toFixed(0)} MB/s, tus (curl) ${res.tus[i].toFixed(0)} MB/s, ` +
        `tus (Chromium, portal) ${res.browser[i].toFixed(0)} MB/s`);
    }
    const f = (v) => `median ${median(v).toFixed(0)} MB/s (${v.map((x) => x.toFixed(0)).join(', ')})`;
    console.log(`upload of ${SIZE / 1048576} MiB, ${RUNS} runs, kura --no-tls on loopback:`);
    console.log(`  WebDAV PUT (curl -T)              ${f(res.dav)}`);
    console.log(`  tus, curl (POST + one PATCH)      ${f(res.tus)}`);
    console.log(`  tus, Chromium (portal, 16 MiB)    ${f(res.browser)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
