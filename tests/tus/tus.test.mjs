// Resumable uploads with the reference tus client (tus-js-client, pinned in package-lock.json)
// on node against a real `kura serve`. Started by tests/integration/test_tus.c
// (test_tus_js_client), which sets up the server and a logged-in user and passes:
//   node tus.test.mjs BASE_URL SESSION_TOKEN CSRF_TOKEN
// Runs `npm ci` here when node_modules is absent. Checks: an upload in chunks that are not
// multiples of kura's 64 KiB (the server acknowledges less than was sent; the client goes on
// from the acknowledged offset), creation-with-upload, an upload aborted half-way and resumed
// from its URL (the client HEADs and continues, not from 0), and each result downloaded
// byte-identical. Exits 0 on success, 1 with a message otherwise.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [base, token, csrf] = process.argv.slice(2);
const fail = (msg) => { console.error(`tus.test: FAIL: ${msg}`); process.exit(1); };
if (!base || !token || !csrf) fail('usage: tus.test.mjs BASE_URL SESSION_TOKEN CSRF_TOKEN');
if (!existsSync(join(here, 'node_modules', 'tus-js-client'))) {
  execFileSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund', '--prefer-offline'],
    { stdio: ['ignore', 'inherit', 'inherit'] });
}
const tus = await import('tus-js-client');

const headers = { Cookie: `kura_session=${token}`, 'X-CSRF-Token': csrf };
const api = async (path) => {
  const r = await fetch(base + path, { headers });
  if (!r.ok) fail(`GET ${path}: ${r.status}`);
  return r;
};

// Uploads data as name; options override; resolves with the upload (or rejects).
const upload = (data, name, options = {}) => new Promise((resolve, reject) => {
  const u = new tus.Upload(data, {
    endpoint: `${base}/api/v1/uploads`,
    headers,
    metadata: { filename: name, filetype: 'application/octet-stream', folder: 'root' },
    retryDelays: [0, 200, 500, 1000],
    onError: reject,
    onSuccess: () => resolve(u),
    ...options,
  });
  if (options.start !== false) u.start();
  if (options.onCreated) options.onCreated(u);
});

async function download(name) {
  const list = await (await api('/api/v1/folders/root/children?limit=1000')).json();
  const node = list.items.find((n) => n.name === name);
  if (!node) fail(`${name} is not in the root after the upload`);
  return Buffer.from(await (await api(`/api/v1/files/${node.id}/content`)).arrayBuffer());
}

async function same(name, data) {
  const got = await download(name);
  if (!got.equals(data)) fail(`${name}: downloaded ${got.length} bytes differ from the ${data.length} uploaded`);
}

try {
  // 1. chunks of 100000 bytes: each PATCH is acknowledged at a 64 KiB boundary
  const a = randomBytes(1024 * 1024 + 4321);
  const offsets = [];
  await upload(a, 'tus-js 分割.bin', { chunkSize: 100000, onChunkComplete: (_n, sent) => offsets.push(sent) });
  if (!offsets.some((o) => o % 65536 === 0 && o < a.length)) fail(`no chunk boundary acknowledged: ${offsets}`);
  await same('tus-js 分割.bin', a);

  // 2. creation-with-upload in one request
  const b = randomBytes(300000);
  await upload(b, 'tus-js-cwu.bin', { uploadDataDuringCreation: true });
  await same('tus-js-cwu.bin', b);

  // 3. abort half-way, resume from the URL: the client continues from the server's offset
  const c = randomBytes(3 * 1024 * 1024 + 17);
  let url = null;
  await new Promise((resolve, reject) => {
    const u = new tus.Upload(c, {
      endpoint: `${base}/api/v1/uploads`, headers, chunkSize: 256 * 1024,
      metadata: { filename: 'tus-js-resume.bin' },
      onError: reject,
      onSuccess: () => reject(new Error('finished before the abort')),
      onChunkComplete: (_n, sent) => {
        if (sent >= 1024 * 1024 && !url) {
          url = u.url;
          u.abort().then(resolve, reject);
        }
      },
    });
    u.start();
  });
  if (!url) fail('no upload URL before the abort');
  const head = await fetch(url, { method: 'HEAD', headers: { ...headers, 'Tus-Resumable': '1.0.0' } });
  const at = Number(head.headers.get('upload-offset'));
  if (head.status !== 200 || !(at >= 1024 * 1024)) fail(`HEAD after abort: ${head.status} offset ${at}`);
  let first = null;
  await upload(c, 'tus-js-resume.bin', {
    uploadUrl: url, chunkSize: 256 * 1024,
    onProgress: (sent) => { if (first === null) first = sent; },
  });
  if (first === null || first < at) fail(`the resumed upload started at ${first}, the server had ${at}`);
  await same('tus-js-resume.bin', c);

  // 4. termination through the client
  let created = null;
  await new Promise((resolve, reject) => {
    const u = new tus.Upload(randomBytes(200000), {
      endpoint: `${base}/api/v1/uploads`, headers, chunkSize: 70000,
      metadata: { filename: 'tus-js-gone.bin' },
      onError: reject, onSuccess: () => reject(new Error('finished before the termination')),
      onChunkComplete: () => {
        if (!created) {
          created = u.url;
          u.abort(true).then(resolve, reject);
        }
      },
    });
    u.start();
  });
  const gone = await fetch(created, { method: 'HEAD', headers: { ...headers, 'Tus-Resumable': '1.0.0' } });
  if (gone.status !== 404) fail(`HEAD after termination: ${gone.status}`);
  console.log('tus.test: ok (chunked, creation-with-upload, resume, termination)');
  process.exit(0);
} catch (e) {
  fail(e && e.stack ? e.stack : String(e));
}
