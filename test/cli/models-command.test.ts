import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listModels } from '../../src/cli/models.js';
import { fakeDetector, fakeForecaster, registryOf } from '../server/fake-registry.js';

function kestrel(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, KESTREL_BACKEND: 'cpu' }, timeout: 60_000 });
}

test('listModels: name, kind, effective default, heads for detectors only', () => {
  const rows = listModels(registryOf([fakeDetector('a'), fakeDetector('b', { default: true }), fakeForecaster('f')]));
  assert.deepEqual(rows, [
    { name: 'a', kind: 'detector', default: false, heads: ['yolo', 'ssd'] },
    { name: 'b', kind: 'detector', default: true, heads: ['yolo', 'ssd'] },
    { name: 'f', kind: 'forecaster', default: true },
  ]);
});

test('kestrel models --json prints a JSON array on stdout and reports broken models on stderr with exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-cli-models-'));
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'manifest.json'), '{"name":"broken"}');
  const r = kestrel(['models', '--json', '--models', dir]);
  assert.equal(r.status, 1);
  assert.deepEqual(JSON.parse(r.stdout), []);
  assert.match(r.stderr, /skipped broken: manifest\.json is invalid/);
  rmSync(dir, { recursive: true });
});

test('kestrel models --help describes its options', () => {
  const m = kestrel(['models', '--help']);
  assert.equal(m.status, 0);
  assert.match(m.stdout, /--json/);
});
