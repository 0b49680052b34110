// Validates OSCAL documents written by `kura compliance report --format oscal` against the
// official OSCAL 1.1.3 JSON schemas (tests/schemas/oscal/, NIST, public domain) with ajv (the
// copy pinned for the SBOM test in tests/sbom/package-lock.json; `npm ci` there when its
// node_modules is missing or older than the lock file). Each file holds
// {"component-definition": …, "assessment-results": …}; each member is validated as a
// document of its own model. Exit 0 when every file is valid, 1 with the errors otherwise.
// Called by tests/integration/test_compliance.c.
//
// usage: node tests/compliance/oscal_validate.mjs FILE...
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fail = (msg) => { console.error(`oscal: FAIL: ${msg}`); process.exit(1); };
const files = process.argv.slice(2);
if (!files.length) fail('usage: oscal_validate.mjs FILE...');

const pkg = join(here, '..', 'sbom');
const lock = join(pkg, 'package-lock.json');
const installed = join(pkg, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  try {
    execFileSync('npm', ['ci', '--prefix', pkg, '--no-audit', '--no-fund', '--prefer-offline'], { stdio: 'inherit' });
  } catch (e) {
    fail(`npm ci in ${pkg} failed (${e.message}): ajv is needed from the npm registry`);
  }
}
const { default: Ajv } = await import(join(pkg, 'node_modules', 'ajv', 'dist', 'ajv.js'));
const { default: addFormats } = await import(join(pkg, 'node_modules', 'ajv-formats', 'dist', 'index.js'));

const schemas = join(here, '..', 'schemas', 'oscal');
const load = (f) => JSON.parse(readFileSync(join(schemas, f), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const models = {
  'component-definition': ajv.compile(load('oscal_component_schema.json')),
  'assessment-results': ajv.compile(load('oscal_assessment-results_schema.json')),
};

// the validators are real: documents the schemas must refuse are refused
if (models['component-definition']({ 'component-definition': { uuid: 'x', metadata: {} } }))
  fail('the component-definition schema accepted a document without a valid uuid and metadata');
if (models['assessment-results']({ 'assessment-results': { uuid: '6d0ddab3-2d53-4a2c-b2c5-4c4a3d3f1b0e',
  metadata: { title: 't', 'last-modified': '2026-01-01T00:00:00Z', version: '1', 'oscal-version': '1.1.3' },
  'import-ap': { href: '#x' }, results: [] } }))
  fail('the assessment-results schema accepted a document without results');

let n = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  for (const [model, validate] of Object.entries(models)) {
    if (!doc[model]) fail(`${file} has no ${model}`);
    if (!validate({ [model]: doc[model] }))
      fail(`${file}: ${model} is not valid OSCAL 1.1.3:\n${ajv.errorsText(validate.errors, { separator: '\n' })}`);
    n++;
  }
  const obs = doc['assessment-results'].results[0].observations;
  if (!obs.some((o) => (o.props || []).some((p) => p.name === 'checkpoint-head-sha256')))
    fail(`${file}: no observation cites an audit checkpoint hash`);
}
console.log(`oscal: ok (${n} documents valid against the OSCAL 1.1.3 schemas)`);
