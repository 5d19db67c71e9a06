import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistry } from '../../src/runtime/registry.js';
import type { Manifest } from '../../src/runtime/manifest.js';
import type { ModelLoader } from '../../src/runtime/models.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { initBackend } from '../../src/runtime/backend.js';
import { fakeDetector, fakeForecaster } from './fake-registry.js';

function modelsDir(models: Record<string, { manifest?: unknown; raw?: string; files?: string[]; metrics?: unknown }>): string {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-models-'));
  for (const [folder, m] of Object.entries(models)) {
    const dir = join(root, folder);
    mkdirSync(dir);
    if (m.raw !== undefined) writeFileSync(join(dir, 'manifest.json'), m.raw);
    else if (m.manifest !== undefined) writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m.manifest));
    for (const f of m.files ?? []) writeFileSync(join(dir, f), 'x');
    if (m.metrics) writeFileSync(join(dir, 'metrics.json'), JSON.stringify(m.metrics));
  }
  return root;
}

// Builds fakes from the manifest, so the test exercises the registry, not a model family.
const fakeLoader = async (m: Manifest): Promise<ModelLoader> => {
  if (m.config['explode']) return async () => Promise.reject(new Error(`cannot parse weights in ${'/abs/path/to/models/'}${m.name}/w.bin`));
  return async (manifest) => (manifest.kind === 'detector' ? fakeDetector(manifest.name, manifest) : fakeForecaster(manifest.name, manifest));
};

const good = (name: string, extra: Record<string, unknown> = {}) => ({ manifest: { name, kind: 'detector', version: '2', files: ['w.bin'], heads: ['yolo'], labels: ['a'], ...extra }, files: ['w.bin'] });

test('a broken model is skipped and listed in failures; the rest load', async () => {
  const dir = modelsDir({
    alpha: good('alpha', { default: true }),
    badjson: { raw: '{ nope' },
    invalid: { manifest: { name: 'invalid', kind: 'teapot', version: '1', files: ['w.bin'] }, files: ['w.bin'] },
    missing: { manifest: { name: 'missing', kind: 'detector', version: '1', files: ['w.bin', 'x.bin'] }, files: ['w.bin'] },
    escape: { manifest: { name: 'escape', kind: 'detector', version: '1', files: ['../alpha/w.bin'] } },
    renamed: good('other'),
    explodes: good('explodes', { config: { explode: true } }),
    empty: {},
    zeta: { manifest: { name: 'zeta', kind: 'forecaster', version: '1', files: ['m.json'] }, files: ['m.json'] },
  });
  const events: string[] = [];
  const reg = await loadRegistry(dir, { loaderFor: fakeLoader, onModel: (e) => events.push(`${e.name}:${e.ok}`) });
  assert.deepEqual(reg.list().map((m) => m.manifest.name), ['alpha', 'zeta']);
  const why = Object.fromEntries(reg.failures.map((f) => [f.name, f.error]));
  assert.deepEqual(Object.keys(why).sort(), ['badjson', 'empty', 'escape', 'explodes', 'invalid', 'missing', 'other']);
  assert.match(why.badjson, /not valid JSON/);
  assert.match(why.invalid, /kind/);
  assert.match(why.missing, /missing: x\.bin/);
  assert.match(why.escape, /outside the model folder/);
  assert.match(why.other, /differs from its folder/);
  assert.match(why.empty, /manifest\.json is missing/);
  assert.match(why.explodes, /cannot parse weights/);
  assert.equal(events.length, 9);
  assert.equal(reg.defaultOf('detector')?.manifest.name, 'alpha');
  assert.equal(reg.defaultOf('forecaster')?.manifest.name, 'zeta');
  assert.equal(reg.defaultOf('char-rnn'), undefined);
  rmSync(dir, { recursive: true });
});

test('a missing models folder is an empty registry, not a crash', async () => {
  const reg = await loadRegistry(join(tmpdir(), 'kestrel-does-not-exist-' + process.pid));
  assert.equal(reg.list().length, 0);
  assert.equal(reg.failures.length, 0);
});

test('the app serves the good models, reports failures without paths, and shows metrics.json figures', async () => {
  await initBackend('cpu');
  const dir = modelsDir({
    alpha: { ...good('alpha'), metrics: { data: 'shapes-v1', split: 'test', seed: 7, command: 'kestrel train detector', figures: { mAP50: 0.81 } } },
    explodes: good('explodes', { config: { explode: true } }),
  });
  const reg = await loadRegistry(dir, { loaderFor: fakeLoader });
  const app = await buildApp({ config: defaultConfig({ modelsDir: dir }), registry: reg, logger: false });
  const list = (await app.inject('/v1/models')).json();
  assert.deepEqual(list.models.map((m: { name: string }) => m.name), ['alpha']);
  assert.equal(list.failures[0].name, 'explodes');
  assert.doesNotMatch(list.failures[0].error, /\/abs\/path/);
  assert.match(list.failures[0].error, /cannot parse weights/);
  const one = (await app.inject('/v1/models/alpha')).json();
  assert.deepEqual(one.figures, { mAP50: 0.81 });
  assert.equal(one.training.seed, 7);
  assert.equal(one.default, true);
  assert.deepEqual(one.heads, ['yolo']);
  // Not marked default, so it does not block readiness.
  assert.equal((await app.inject('/readyz')).statusCode, 200);
  await app.close();
  rmSync(dir, { recursive: true });
});

test('readiness fails while a model marked default failed to load', async () => {
  await initBackend('cpu');
  const dir = modelsDir({ alpha: good('alpha'), explodes: good('explodes', { default: true, config: { explode: true } }) });
  const reg = await loadRegistry(dir, { loaderFor: fakeLoader });
  const app = await buildApp({ config: defaultConfig(), registry: reg, logger: false });
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 503);
  assert.match(r.json().reasons.join(';'), /explodes/);
  await app.close();
  rmSync(dir, { recursive: true });
});
