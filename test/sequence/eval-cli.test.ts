import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { run as evalForecaster } from '../../src/cli/eval-forecaster.js';
import { saveModelDir } from '../../src/sequence/store.js';
import { syntheticDaily, tinyModel } from './tiny-model.js';

before(async () => {
  await initBackend();
});

async function captureJson(argv: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    const code = await evalForecaster(argv);
    return { code, out: JSON.parse(lines.join('\n')) as Record<string, unknown> };
  } finally {
    console.log = orig;
  }
}

test('eval forecaster --json prints exactly the agreed keys, matching the training-time scores', async () => {
  const r = await tinyModel();
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-fc-cli-'));
  try {
    await saveModelDir(join(dir, 'tiny'), r.manifest, r.weights, {});
    const d = syntheticDaily();
    await writeFile(join(dir, 'series.csv'), 'd,v\n' + d.times!.map((t, i) => `${t},${d.values[i]}`).join('\n') + '\n');
    const { code, out } = await captureJson(['--model', join(dir, 'tiny'), '--csv', join(dir, 'series.csv'), '--test-from', d.times![300], '--season', '40', '--ar-order', '3', '--json']);
    assert.equal(code, 0);
    assert.deepEqual(Object.keys(out).sort(), ['baselines', 'horizon', 'mae1', 'maeH', 'rmse1', 'rmseH']);
    const b = out.baselines as Record<string, Record<string, number>>;
    assert.deepEqual(Object.keys(b).sort(), ['ar', 'persistence', 'seasonalNaive']);
    for (const k of ['persistence', 'seasonalNaive', 'ar']) assert.deepEqual(Object.keys(b[k]).sort(), ['mae1', 'maeH', 'rmse1', 'rmseH']);
    assert.equal(out.horizon, 3);
    assert.ok(Math.abs((out.rmse1 as number) - r.test.rmse1) < 1e-9);
    assert.ok(Math.abs((out.rmseH as number) - r.test.rmseH) < 1e-9);
    assert.ok(Math.abs(b.persistence.rmse1 - r.baselines.persistence.rmse1) < 1e-12);
  } finally {
    r.model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

// ../shared from the main checkout; worktrees sit one level deeper.
const SHARED = ['../shared', '../../shared', process.env.KESTREL_SHARED ?? ''].map((d) => join(d, 'data/daily-min-temperatures.csv')).find((p) => existsSync(p)) ?? '../shared/data/daily-min-temperatures.csv';
const SHIPPED = 'models/melbourne-temp';

test('shipped Melbourne model reproduces its metrics.json on 1990 (needs ../shared)', async (t) => {
  if (!existsSync(SHARED)) return t.skip(`${SHARED} is absent: peer data comparison skipped`);
  if (!existsSync(join(SHIPPED, 'manifest.json'))) return t.skip(`${SHIPPED} is not trained yet`);
  const metrics = JSON.parse(readFileSync(join(SHIPPED, 'metrics.json'), 'utf8')) as { figures: { test: Record<string, number>; baselines: { persistence: Record<string, number>; ar: Record<string, number> } } };
  const { out } = await captureJson(['--model', SHIPPED, '--csv', SHARED, '--test-from', '1990-01-01', '--json']);
  const b = out.baselines as Record<string, Record<string, number>>;
  // Reference figures from ../shared/README.md, computed independently of kestrel.
  assert.equal(b.persistence.rmse1.toFixed(3), '2.582');
  assert.equal(b.persistence.rmseH.toFixed(3), '3.405');
  assert.equal(b.ar.rmse1.toFixed(3), '2.263');
  assert.equal(b.ar.rmseH.toFixed(3), '2.686');
  assert.ok(Math.abs((out.rmse1 as number) - metrics.figures.test.rmse1) < 1e-3);
  assert.ok(Math.abs((out.rmseH as number) - metrics.figures.test.rmseH) < 1e-3);
});
