import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerIgnore, dockerSmoke, layerKey, parseDockerfile } from '../../scripts/docker-smoke.js';

test('.dockerignore matching: folders, globs, re-inclusion', () => {
  const ig = dockerIgnore('node_modules\n**/*.log\nmodels/*/scratch\n!keep.log\n# comment\n');
  assert.equal(ig('node_modules'), true);
  assert.equal(ig('node_modules/x/index.js'), true);
  assert.equal(ig('src/a.log'), true);
  assert.equal(ig('keep.log'), false);
  assert.equal(ig('models/a/scratch/w.bin'), true);
  assert.equal(ig('models/a/w.bin'), false);
  assert.equal(ig('src/server/app.ts'), false);
});

test('the layer cache key changes with the command and with any input file, not with node_modules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-smoke-key-'));
  writeFileSync(join(dir, 'package.json'), '{"a":1}');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'x.ts'), 'export {}');
  const k0 = layerKey('npm run build', dir);
  assert.equal(layerKey('npm run build', dir), k0);
  assert.notEqual(layerKey('npm run build2', dir), k0);
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'node_modules', 'y.js'), '1');
  assert.equal(layerKey('npm run build', dir), k0);
  writeFileSync(join(dir, 'src', 'x.ts'), 'export const a = 1;');
  assert.notEqual(layerKey('npm run build', dir), k0);
  rmSync(dir, { recursive: true });
});

test('a COPY of something the build context lacks fails the smoke', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-smoke-ctx-'));
  mkdirSync(join(root, 'models'));
  writeFileSync(join(root, 'models', 'w.bin'), 'x');
  writeFileSync(join(root, '.dockerignore'), 'models\n');
  writeFileSync(join(root, 'Dockerfile'), 'FROM node:20-slim AS runtime\nWORKDIR /app\nCOPY models ./models\nCMD ["node", "x.js"]\n');
  await assert.rejects(dockerSmoke({ root }), /models is not in the build context/);
  rmSync(root, { recursive: true });
});

test('the Dockerfile runtime stage: slim Node 22 LTS, non-root, EXPOSE 8080, HEALTHCHECK on /healthz, copies models/', () => {
  const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
  assert.ok(stages.length >= 2, 'multi-stage');
  const rt = stages[stages.length - 1];
  assert.match(rt.base, /^node:22[\w.-]*-slim$/);
  assert.ok(stages.every((st) => st.base.startsWith('node:22')), 'build and runtime on the same Node');
  const ops = (op: string) => rt.instructions.filter((i) => i.op === op).map((i) => i.args);
  assert.ok(ops('USER').length && ops('USER').every((u) => u !== 'root' && u !== '0'));
  assert.deepEqual(ops('EXPOSE'), ['8080']);
  assert.match(ops('HEALTHCHECK').join(' '), /\/healthz/);
  assert.ok(ops('COPY').some((c) => /^models\s/.test(c)));
  assert.ok(ops('RUN').some((c) => /npm ci\b.*--omit=dev/.test(c)));
});

test('docker smoke: the runtime stage rebuilt without Docker starts and answers /healthz', async () => {
  const r = await dockerSmoke({ timeoutMs: 30_000 });
  assert.equal(r.healthz, 200);
  assert.equal(r.runtime.expose, '8080');
  // Every model folder shipped in models/ must load in the image, not just here.
  const shipped = readdirSync('models', { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join('models', e.name, 'manifest.json')))
    .map((e) => e.name)
    .sort();
  assert.deepEqual(r.models.failures, []);
  assert.deepEqual(r.models.models.map((m) => m.name).sort(), shipped);
  assert.equal(r.readyz.status, shipped.length > 0 ? 200 : 503);
  assert.ok(r.backend === 'wasm' || r.backend === 'tensorflow', `backend ${r.backend}`);
  assert.equal(existsSync(r.dir), false, 'temporary folder removed');
});
