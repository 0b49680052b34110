// Issue 15 "Done when": the newcomer's whole path after `make run`, in a real Chromium
// (playwright-core) against a real `kura serve` with the demo tenant as `kura init --demo`
// makes it (the run target of the Makefile), and a real SMTP server on loopback:
//   log in at /login with the printed one-time password → choose a new password → set up
//   the second factor the demo manager must have (TOTP, the code computed here, RFC 6238)
//   → land in the file view (the root folder listed) → upload by drag and drop (a real drop
//   event with a DataTransfer of Files) → share the file by mail (the mail with the link
//   arrives, and the link gives the file) → as manager invite a user (the invitation mail
//   arrives) → download the audit log as signed JSONL with the public keys, and verify it:
//   the records chain here, `kura audit verify` says OK, and fails on a changed byte.
// Only the page's own words and links are followed (navigation, buttons), as a newcomer
// would without documentation.
//
// usage: node tests/browser/newcomer.test.mjs /path/to/kura
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { run } from './kura.mjs';

const NEW_PW = 'Newcomer-Passphrase-31';

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `step` steps from now
function totp(secret, step = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[19] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

await run('newcomer.test', process.argv[2], async ({ origin, data, demoPw, launch, mail, kura }) => {
  // the check of the code here against oathtool (an independent implementation), when present
  const o = spawnSync('oathtool', ['--totp', '-b', 'JBSWY3DPEHPK3PXP'], { encoding: 'utf8' });
  if (o.status === 0 && o.stdout.trim() !== totp('JBSWY3DPEHPK3PXP') && o.stdout.trim() !== totp('JBSWY3DPEHPK3PXP', -1))
    throw new Error('the test TOTP disagrees with oathtool');

  const browser = await launch();
  const ctx = await browser.newContext({ locale: 'ja-JP', acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log('browser:', m.text()); });
  page.on('pageerror', (e) => console.log('browser: page error:', e.message));
  page.on('response', (r) => { if (r.status() >= 400) console.log('browser: HTTP', r.status(), r.request().method(), r.url()); });
  page.on('dialog', (d) => { throw new Error('unexpected dialog: ' + d.message()); });
  const ready = () => page.waitForSelector('body[data-ready="1"]');

  // 1. /login with the demo tenant's one-time password; a new password is asked for
  await page.goto(`${origin}/login`);
  await page.fill('#tenant', 'demo');
  await page.fill('#login', 'admin');
  await page.fill('#password', demoPw);
  await page.click('#submit');
  await page.waitForSelector('#pw-form:not([hidden])');
  await page.fill('#new-pw', NEW_PW);
  await page.fill('#new-pw2', NEW_PW);
  await page.click('#pw-form button[type=submit]');

  // 2. managers of the demo tenant must have a second factor: TOTP, then the recovery codes
  await page.waitForURL(`${origin}/mfa`);
  await page.fill('#password', NEW_PW);
  await page.click('#totp');
  await page.waitForSelector('#totp-form:not([hidden])');
  const secret = (await page.textContent('#secret')).trim();
  assert.match(secret, /^[A-Z2-7]+=*$/);
  await page.fill('#code', totp(secret));
  await page.click('#totp-form button[type=submit]');
  await page.waitForFunction(() => (document.getElementById('codes')?.textContent || '').trim().split('\n').length === 10);
  await page.click('#continue a');

  // 3. the file view: the tenant's root folder, listed (empty in a new demo tenant)
  await page.waitForURL(`${origin}/files`);
  await ready();
  assert.match(await page.textContent('.crumbs'), /ルート|Root/);
  await page.waitForSelector('#list .vrow.empty');

  // 4. upload by drag and drop: a real drop event carrying Files
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['見積もりの本文\n'], '見積書.txt', { type: 'text/plain' }));
    const drop = document.getElementById('drop');
    drop.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    drop.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('#list [data-name="見積書.txt"]');

  // 5. share it by mail: the details, the share dialog, a recipient's address
  await page.click('#list .vrow[data-name="見積書.txt"] button.more');
  await page.waitForSelector('#details:not([hidden])');
  await page.click('#details .actions button:has-text("共有")');
  await page.waitForSelector('#dialog[open] #share-form');
  await page.fill('#share-recipients', 'partner@example.com');
  await page.click('#share-form button[type=submit]');
  await page.waitForSelector('#share-url');
  const url = await page.inputValue('#share-url');
  assert.match(url, /\/s\/[A-Za-z0-9_-]+$/);
  await page.keyboard.press('Escape');
  const shareMail = await mail.wait('partner@example.com');
  assert.ok(shareMail.body.includes(url), `the share mail carries the link:\n${shareMail.body}`);
  assert.match(shareMail.body, /見積書\.txt/);
  const token = url.split('/').pop();
  const got = await fetch(`${origin}/api/v1/links/${token}/content`);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), '見積もりの本文\n');

  // 6. as manager, invite a user: the navigation's Accounts page, its invitation form
  await page.click('#nav a[href="/accounts"]');
  await page.waitForURL(`${origin}/accounts`);
  await ready();
  await page.fill('#inv-login', 'hanako');
  await page.fill('#inv-email', 'hanako@example.com');
  await page.fill('#inv-name', '山田 花子');
  await page.selectOption('#inv-role', 'user');
  await page.click('#invite-form button[type=submit]');
  await page.waitForSelector('tr[data-login="hanako"] td[data-state="invited"]');
  assert.match(await page.textContent('#msg'), /hanako@example\.com/);
  const inviteMail = await mail.wait('hanako@example.com');
  assert.match(inviteMail.body, new RegExp(`${origin.replace(/[.:/]/g, '\\$&')}/invite/[A-Za-z0-9_-]+`));

  // 7. download the audit log (signed JSONL) and the public keys from the Logs page
  await page.click('#nav a[href="/logs"]');
  await page.waitForURL(`${origin}/logs`);
  await ready();
  const save = async (sel, name) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(sel)]);
    const path = join(data, '..', name);
    await d.saveAs(path);
    return { path, suggested: d.suggestedFilename() };
  };
  const log = await save('#export-jsonl', 'audit.jsonl');
  assert.match(log.suggested, /^kura-audit-demo-\d{4}-\d\d-\d\d\.jsonl$/);
  const keys = await save('#export-keys', 'keys.txt');
  assert.equal(readFileSync(keys.path, 'utf8').trim(), (await page.textContent('#public-key')).trim());

  // its records chain: seq by one, each prev_hash the hash before; what the newcomer did is in it
  const lines = readFileSync(log.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'header');
  const records = lines.filter((l) => l.type === 'record');
  assert.ok(records.length > 10, `records: ${records.length}`);
  for (let i = 1; i < records.length; i++) {
    assert.equal(records[i].seq, records[i - 1].seq + 1, 'seq increases by one');
    assert.equal(records[i].prev_hash, records[i - 1].hash, `record ${records[i].seq} chains to the one before`);
  }
  const actions = [...new Set(records.map((r) => r.action))];
  for (const a of [/^session\.create$/, /^(file\.upload|upload\.)/, /^share\.create$/, /^account\.invite$/])
    assert.ok(actions.some((x) => a.test(x)), `${a} recorded (have ${actions.join(' ')})`);

  // kura audit verify (offline: the file and the keys only) says OK ...
  const out = execFileSync(kura, ['audit', 'verify', log.path, '--key', keys.path], { encoding: 'utf8' });
  assert.match(out, /^OK: tenant \d+, records \d+ to \d+/m);
  // ... and refuses the same log with one byte of one record changed
  const text = readFileSync(log.path, 'utf8');
  const at = text.indexOf('見積書.txt');
  assert.ok(at > 0, 'the file name is in the log');
  const bad = join(data, '..', 'audit-changed.jsonl');
  writeFileSync(bad, text.slice(0, at) + '請' + text.slice(at + 1));
  const v = spawnSync(kura, ['audit', 'verify', bad, '--key', keys.path], { encoding: 'utf8' });
  assert.equal(v.status, 1, `a changed log fails: ${v.stdout}${v.stderr}`);
  assert.match(v.stdout + v.stderr, /FAILED/);
  console.log(`newcomer.test: ${records.length} records verified (sha256 ${createHash('sha256').update(text).digest('hex').slice(0, 16)}…)`);
}, { smtp: true });
