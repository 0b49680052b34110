// ctest sbom/cyclonedx: `kura sbom` is a valid CycloneDX 1.6 JSON document (the official
// schema, vendored in tests/schemas/cyclonedx/ with its licence, checked by ajv pinned in
// tests/sbom/package-lock.json), and it names every library `kura version --deps` lists,
// each with a Debian purl and a licence.
//
// usage: node tests/sbom/sbom.test.mjs /path/to/kura
// Runs `npm ci` here when node_modules is missing or older than the lock file; fails, never
// skips, when npm or the registry is missing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const kura = process.argv[2];
const fail = (msg) => { console.error(`sbom: FAIL: ${msg}`); process.exit(1); };
if (!kura) fail('usage: sbom.test.mjs /path/to/kura');

const lock = join(here, 'package-lock.json');
const installed = join(here, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  try {
    execFileSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund', '--prefer-offline'],
      { stdio: 'inherit' });
  } catch (e) {
    fail(`npm ci in ${here} failed (${e.message}): ajv is needed from the npm registry`);
  }
}
const { default: Ajv } = await import(join(here, 'node_modules', 'ajv', 'dist', 'ajv.js'));
const { default: addFormats } = await import(join(here, 'node_modules', 'ajv-formats', 'dist', 'index.js'));

const schemas = join(here, '..', 'schemas', 'cyclonedx');
const load = (f) => JSON.parse(readFileSync(join(schemas, f), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// the two formats of draft 2019 that ajv-formats lacks, checked loosely rather than ignored
ajv.addFormat('idn-email', /^[^@\s]+@[^@\s]+$/u);
ajv.addFormat('iri-reference', /^\S*$/u);
// bom-1.6 refers to its neighbours by file name, relative to its own $id
const base = 'http://cyclonedx.org/schema/';
for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
  const s = load(f);
  delete s.$id;
  ajv.addSchema(s, base + f);
}
const validate = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));

// the validator is real: a document the schema must refuse is refused
const broken = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library' }] };
if (validate(broken)) fail('the schema accepted a component without a name');

const text = execFileSync(kura, ['sbom'], { encoding: 'utf8' });
const bom = JSON.parse(text);
if (!validate(bom)) fail(`kura sbom is not valid CycloneDX 1.6:\n${ajv.errorsText(validate.errors, { separator: '\n' })}`);

// every library of `kura version --deps` is a component with a version, a purl and a licence
const listed = execFileSync(kura, ['version', '--deps'], { encoding: 'utf8' }).split('\n')
  .slice(2).filter((l) => l && !l.startsWith('TLS in')).map((l) => l.split(/\s+/)[0]);
if (listed.length < 10) fail(`kura version --deps lists only ${listed.length} libraries`);
for (const name of listed) {
  const c = bom.components.find((x) => x.name === name);
  if (!c) fail(`${name} is in kura version --deps but not in the SBOM`);
  if (!c.version) fail(`${name} has no version`);
  if (!/^pkg:deb\/debian\/[a-z0-9.+-]+@[^?]+\?arch=/.test(c.purl ?? '')) fail(`${name}: not a Debian purl: ${c.purl}`);
  if (!c.licenses?.[0]?.license?.id) fail(`${name} has no licence`);
}
for (const must of ['libmicrohttpd', 'sqlite', 'gnutls', 'libsodium', 'jansson', 'curl', 'utf8proc', 'zlib']) {
  if (!listed.includes(must)) fail(`${must} is missing from kura version --deps`);
}
// the purl's Debian version is the one dpkg reports for that package now
const sqlite = bom.components.find((x) => x.name === 'sqlite');
const pkg = sqlite.purl.match(/^pkg:deb\/debian\/([^@]+)@/)[1];
const dpkgVer = execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
if (decodeURIComponent(sqlite.purl.match(/@([^?]+)/)[1]) !== dpkgVer) {
  fail(`sqlite purl ${sqlite.purl} does not carry dpkg's version ${dpkgVer}`);
}
console.log(`sbom: ok (CycloneDX ${bom.specVersion}, ${bom.components.length} components valid against the schema; ` +
  `e.g. ${sqlite.purl})`);
