// ctest web/lint: eslint, pinned in web/package-lock.json, over web/js with the rules of
// web/eslint.config.js; then proves that the rules are in force: each snippet below, linted
// as if it were a file of web/js, must be refused by the named rule.
//
// usage: node tests/web/lint.mjs /path/to/web
// Runs `npm ci` in web/ when web/node_modules is missing or older than the lock file.
// Fails, never skips, when npm is missing or the registry cannot be reached.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const web = process.argv[2];
const fail = (msg) => { console.error(`web/lint: FAIL: ${msg}`); process.exit(1); };
if (!web || !existsSync(join(web, 'eslint.config.js'))) fail('usage: lint.mjs /path/to/web');

const lock = join(web, 'package-lock.json');
const installed = join(web, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  try {
    execFileSync('npm', ['ci', '--prefix', web, '--no-audit', '--no-fund', '--prefer-offline'],
      { stdio: 'inherit' });
  } catch (e) {
    fail(`npm ci in ${web} failed (${e.message}): eslint is needed from the npm registry`);
  }
}

try {
  execFileSync(join(web, 'node_modules', '.bin', 'eslint'), ['--max-warnings', '0', 'js'],
    { cwd: web, stdio: 'inherit' });
} catch {
  fail('eslint found problems in web/js (above)');
}

const { ESLint } = await import(join(web, 'node_modules', 'eslint', 'lib', 'api.js'));
const eslint = new ESLint({ cwd: web });
const refused = [
  ['no-restricted-properties', "document.body.innerHTML = location.hash;"],
  ['no-restricted-properties', "document.getElementById('x').outerHTML = '<b>x</b>';"],
  ['no-restricted-properties', "document.body.insertAdjacentHTML('beforeend', location.hash);"],
  ['no-restricted-properties', "document.body['innerHTML'] = location.hash;"],
  ['no-restricted-properties', "document.write(location.hash);"],
  ['no-eval', "eval(location.hash);"],
  ['no-implied-eval', "setTimeout('alert(1)', 10);"],
  ['no-new-func', "new Function('a', 'return a')(1);"],
  ['no-undef', "export const x = undeclaredGlobal;"],
];
let bad = 0;
for (const [rule, code] of refused) {
  const [res] = await eslint.lintText(code, { filePath: join(web, 'js', 'lint-probe.js') });
  if (!res.messages.some((m) => m.ruleId === rule && m.severity === 2)) {
    console.error(`web/lint: FAIL: ${rule} did not refuse: ${code}\n  got: ${JSON.stringify(res.messages)}`);
    bad++;
  }
}
if (bad) process.exit(1);
console.log(`web/lint: ok (web/js clean; ${refused.length} forbidden snippets refused)`);
