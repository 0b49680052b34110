// Shared by the browser tests: preconditions (kura binary, Debian's Chromium, playwright-core
// from npm without any browser download), a real `kura serve --no-tls` on a free loopback
// port with the demo tenant and public_url http://localhost:PORT (a secure context for
// WebAuthn), Chromium with the flags this machine needs, and one run wrapper that always
// stops the server and the browser and fails when kura serve does not exit 0.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

// Runs main(ctx) for the test `name` with kura binary `kura`; ctx: { origin, port, data,
// demoPw, chromium (playwright's), launch() -> a browser closed at the end, restart(signal)
// -> stops kura serve (SIGTERM by default) and starts it again on the same data directory
// and port, log() -> what kura serve printed so far }. Exits the process.
export async function run(name, kura, main) {
  const fail = (msg) => { console.error(`${name}: FAIL: ${msg}`); process.exit(1); };
  if (!kura || !existsSync(kura)) fail(`usage: ${name}.mjs /path/to/kura (kura binary missing)`);
  if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing (scripts/deps.sh --test installs chromium)`);
  process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
  if (!existsSync(join(here, 'node_modules', 'playwright-core'))) {
    execFileSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund', '--prefer-offline'],
      { stdio: 'inherit', env: process.env });
  }
  const { chromium } = await import('playwright-core');
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const root = mkdtempSync(join(tmpdir(), `kura-${name}-`));
  const data = join(root, 'data');
  const browsers = [];
  let server = null, log = '', code = 0;

  try {
    const out = execFileSync(kura, ['init', '--data', data, '--demo'], { encoding: 'utf8' });
    const demoPw = /password: (\S+)/.exec(out)?.[1];
    if (!demoPw) throw new Error('kura init --demo printed no password');
    appendFileSync(join(data, 'kura.conf'), `\n[server]\npublic_url = ${origin}\n` +
      '[security]\npwhash_ops = 1\npwhash_mem_kib = 8192\n[mail]\nsmtp_url = smtp://127.0.0.1:9\n');
    const start = async () => {
      server = spawn(kura, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--no-tls'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      server.stdout.on('data', (d) => { log += d; });
      server.stderr.on('data', (d) => { log += d; });
      for (let i = 0; ; i++) {
        try { if ((await fetch(`${origin}/api/v1/status`)).ok) break; } catch { /* not yet */ }
        if (i > 100 || server.exitCode !== null) throw new Error('kura serve did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await start();
    const restart = async (signal = 'SIGTERM') => {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill(signal);
      await exited;
      if (signal === 'SIGTERM' && server.exitCode !== 0) throw new Error(`kura serve exited with ${server.exitCode}`);
      await start();
    };
    const launch = async () => {
      const b = await chromium.launch({ executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      browsers.push(b);
      return b;
    };
    await main({ origin, port, data, demoPw, chromium, launch, restart, log: () => log });
  } catch (e) {
    console.error(`${name}: FAIL:`, e);
    code = 1;
  }
  for (const b of browsers) await b.close().catch(() => {});
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (server && server.exitCode !== 0 && code === 0) {
    console.error(`${name}: FAIL: kura serve exited with ${server.exitCode}`);
    code = 1;
  }
  if (code !== 0)
    console.error('--- kura log (tail) ---\n' +
      log.split('\n').filter((l) => !l.includes('"http.request"')).slice(-40).join('\n'));
  else
    console.log(`${name}: ok`);
  if (!process.env.KURA_IT_KEEP) rmSync(root, { recursive: true, force: true });
  process.exit(code);
}
