import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/runtime/backend.js';
import { manifestSchema } from '../../../src/runtime/manifest.js';
import { loaderFor } from '../../../src/runtime/loaders.js';
import { pretrain, renderCrop } from '../../../src/vision/train/pretrain.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';

test('renderCrop: one item on clutter, labelled with its class, the same bytes for the same (seed, index)', () => {
  const src = fakeFmnist(20);
  const pool = Int32Array.from({ length: 20 }, (_, i) => i);
  const o = { crop: 32, minSide: 10, maxSide: 30 };
  const a = renderCrop(src, pool, 7, 'pretrain', 3, o);
  const b = renderCrop(src, pool, 7, 'pretrain', 3, o);
  const c = renderCrop(src, pool, 7, 'pretrain', 4, o);
  assert.ok(a && b && c);
  assert.equal(a.rgb.length, 32 * 32 * 3);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.rgb, c.rgb);
  assert.ok(a.label >= 0 && a.label < 10);
});

test('pretrain: a short run writes a detector folder that loads, with its test accuracies in metrics.json', async () => {
  await initBackend();
  const out = await mkdtemp(join(tmpdir(), 'kestrel-pretrain-'));
  try {
    const src = fakeFmnist(100);
    const losses: number[] = [];
    const r = await pretrain({
      train: src, test: fakeFmnist(40, 9), out, name: 'pre', crop: 32, minSide: 10, maxSide: 30, batch: 8, lr: 0.003, seed: 1,
      seconds: 4, testCount: 40, command: 'test', log: () => undefined, onStep: (p) => losses.push(p.loss),
    });
    assert.ok(r.steps >= 2 && r.steps === losses.length, `${r.steps} steps`);
    for (const a of [r.testAccuracyRendered, r.testAccuracyPlain]) assert.ok(a >= 0 && a <= 1);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { pretraining: { steps: number; testAccuracyRendered: number } };
    assert.equal(metrics.pretraining.steps, r.steps);
    assert.equal(metrics.pretraining.testAccuracyRendered, r.testAccuracyRendered);
    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
    const model = await (await loaderFor(manifest))(manifest, out);
    assert.equal(model.kind, 'detector');
    model.dispose();
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
