// Shared by the browser tests: preconditions (kura binary, Debian's Chromium, playwright-core
// from npm without any browser download), a real `kura serve --no-tls` on a free loopback
// port with the demo tenant and public_url http://localhost:PORT (a secure context for
// WebAuthn), Chromium with the flags this machine needs, and one run wrapper that always
// stops the server and the browser and fails when kura serve does not exit 0. With
// { smtp: true } a real SMTP server on loopback (python3 -m aiosmtpd, Maildir; the same one
// as the integration harness, KURA_IT_PYTHON) receives kura's mail: ctx.mail.wait(to).
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';

// A free loopback port below the kernel's ephemeral range, as the C harness picks them
// (tests/integration/harness.c it_free_port): an outgoing connection's source port, taken
// from that range, could hold a server's port while it restarts.
const tryPort = (port) => new Promise((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});
let portSeq = 0;
const freePort = async () => {
  let lo = 32768;
  try { lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || lo; } catch { /* not Linux */ }
  const n = Math.min(12000, lo - 1024);
  for (let i = 0; i < 1000 && n > 0; i++) {
    const port = lo - n + ((process.pid * 7919 + Date.now() + ++portSeq * 104729) % n);
    if (await tryPort(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
};

// A mail of the Maildir file: headers (names lowercased, RFC 2047 subjects decoded) and the
// body (kura sends it base64) as text.
function parseMail(raw) {
  const at = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const head = raw.slice(0, at).replace(/\r?\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const words = (v) => (v || '').replace(/=\?utf-8\?b\?([^?]*)\?=\s*/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8'));
  let body = raw.slice(at).trim();
  if (/base64/i.test(headers['content-transfer-encoding'] || '')) body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, to: headers.to || '', subject: words(headers.subject), body };
}

// Runs main(ctx) for the test `name` with kura binary `kura`; ctx: { origin, port, data, demoPw,
// kura, log() -> what kura serve printed so far, chromium (playwright's), launch() -> a browser closed at the end, mail (with opts.smtp):
// { wait(to) -> the next unread mail whose To: contains `to` } }. Exits the process.
// opts.smtp: start aiosmtpd on loopback (ctx.mail); opts.smtpPort instead: kura's mail relay is
// a sink the test runs itself (smtp.mjs). opts.configure(data) may add to kura.conf before start;
// opts.conf: more kura.conf lines. restart(env) -> kura serve stopped (SIGTERM) and started again
// on the same data directory and port with more environment (KURA_TEST_CLOCK_OFFSET_S: the test
// clock); restart('SIGKILL') -> the same after that signal.
export async function run(name, kura, main, opts = {}) {
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
  let server = null, smtp = null, log = '', code = 0;

  try {
    let mailConf = opts.smtpPort ? `smtp_url = smtp://127.0.0.1:${opts.smtpPort}\npoll_seconds = 1\n`
      : 'smtp_url = smtp://127.0.0.1:9\n', mail = null;
    if (opts.smtp) {
      const maildir = join(root, 'maildir');
      const smtpPort = await freePort();
      smtp = spawn(process.env.KURA_IT_PYTHON || '/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`,
        '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: ['ignore', 'pipe', 'pipe'] });
      smtp.stderr.on('data', (d) => { log += `smtp: ${d}`; });
      // polled up to 60 s (a deadline for a loaded machine, not a time the start may take)
      for (const until = Date.now() + 60000; ;) {
        const up = await new Promise((r) => { const c = createConnection(smtpPort, '127.0.0.1', () => { c.end(); r(true); }); c.on('error', () => r(false)); });
        if (up) break;
        if (Date.now() > until || smtp.exitCode !== null) throw new Error('the SMTP server (python3 -m aiosmtpd) did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      mailConf = `smtp_url = smtp://127.0.0.1:${smtpPort}\npoll_seconds = 1\n`;
      mail = {
        // waits (up to 60 s) for a new message to `to`; it is marked as read (moved to cur/)
        async wait(to) {
          for (let i = 0; i < 600; i++) {
            const dir = join(maildir, 'new');
            for (const f of existsSync(dir) ? readdirSync(dir).sort() : []) {
              const m = parseMail(readFileSync(join(dir, f), 'utf8'));
              if (m.to.includes(to)) { renameSync(join(dir, f), join(maildir, 'cur', f)); return m; }
            }
            await new Promise((r) => setTimeout(r, 100));
          }
          throw new Error(`no mail to ${to} arrived`);
        },
      };
    }
    const out = execFileSync(kura, ['init', '--data', data, '--demo'], { encoding: 'utf8' });
    const demoPw = /password: (\S+)/.exec(out)?.[1];
    if (!demoPw) throw new Error('kura init --demo printed no password');
    appendFileSync(join(data, 'kura.conf'), `\n[server]\npublic_url = ${origin}\n` +
      // as root (containers, CI) kura serve refuses to keep root unless told so
      (process.getuid?.() === 0 ? 'user = root\n' : '') +
      '[security]\npwhash_ops = 1\npwhash_mem_kib = 8192\n[mail]\n' + mailConf + (opts.conf || ''));
    if (opts.configure) opts.configure(data);
    const start = async (env) => {
      server = spawn(kura, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--no-tls'],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      server.stdout.on('data', (d) => { log += d; });
      server.stderr.on('data', (d) => { log += d; });
      // polled up to 60 s: kura serve under ASan on a loaded machine
      for (const until = Date.now() + 60000; ;) {
        try { if ((await fetch(`${origin}/api/v1/status`)).ok) break; } catch { /* not yet */ }
        if (Date.now() > until || server.exitCode !== null) throw new Error('kura serve did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const restart = async (how = {}) => {
      const signal = typeof how === 'string' ? how : 'SIGTERM';
      const exited = new Promise((r) => server.once('exit', r));
      server.kill(signal);
      await exited;
      if (signal === 'SIGTERM' && server.exitCode !== 0) throw new Error(`kura serve exited with ${server.exitCode} at the restart`);
      await start(typeof how === 'string' ? {} : how);
    };
    await start({});
    const launch = async () => {
      const b = await chromium.launch({ executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      browsers.push(b);
      return b;
    };
    await main({ origin, port, data, demoPw, chromium, launch, mail, kura, restart, log: () => log });
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
  if (smtp && smtp.exitCode === null) {
    const exited = new Promise((r) => smtp.once('exit', r));
    smtp.kill('SIGTERM');
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
