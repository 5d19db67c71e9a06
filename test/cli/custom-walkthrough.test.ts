// docs/custom-models.md, run as written on a tiny dataset: a Roboflow-style export trained with the COCO
// backbone through the CLI, cut short by its time budget, resumed, evaluated, then served and called at
// /v1/vision/custom/{name} the way DeepStack clients call it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, rename, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { writeScenes } from '../../src/vision/datasets/scenes.js';
import { fakeFmnist } from '../vision/datasets/fake-fmnist.js';
import { run as trainDetector } from '../../src/cli/train-detector.js';
import { run as evalDetector } from '../../src/cli/eval-detector.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { imagePart, multipart } from '../server/detect-fixtures.js';

async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    return { code: await fn(), out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}

test('custom model walk-through: Roboflow layout → train on the COCO backbone → resume → eval → /v1/vision/custom/{name}', async () => {
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-walk-'));
  try {
    const data = join(root, 'shop-items');
    const src = fakeFmnist(60);
    await writeScenes(src, src, data, { seed: 5, size: 64, counts: { train: 8, val: 4, test: 0 } });
    // Roboflow exports train/images + train/labels and calls validation "valid".
    for (const [from, to] of [['train', 'train'], ['val', 'valid']]) {
      await mkdir(join(data, to), { recursive: true });
      await rename(join(data, 'images', from), join(data, to, 'images'));
      await rename(join(data, 'labels', from), join(data, to, 'labels'));
    }
    await rm(join(data, 'images'), { recursive: true });
    await rm(join(data, 'labels'), { recursive: true });

    const out = join(root, 'models', 'shop-items');
    await assert.rejects(trainDetector(['--data', data, '--out', out, '--backbone', 'coco', '--tap', 'neck']), /--tap must be one of backbone, pan, tower, got "neck"/);
    const argv = ['--data', data, '--out', out, '--backbone', 'coco', '--size', '64', '--epochs', '4', '--batch', '4', '--adapter-channels', '16', '--threads', '1', '--checkpoint-every', '2', '--quiet'];
    // A budget of ~0 minutes stops after the first step with a checkpoint, as an interrupted run would.
    const first = await captured(() => trainDetector([...argv, '--max-minutes', '0.00001']));
    assert.equal(first.code, 0);
    assert.match(first.out, /features 16\/16/);
    assert.match(first.out, /time limit reached at step 1\/8; checkpoint written, resume with --resume/);
    const resumed = await captured(() => trainDetector([...argv, '--resume']));
    assert.equal(resumed.code, 0);
    assert.match(resumed.out, /resumed at step 1/);
    assert.match(resumed.out, /features: 0 of 16/);
    assert.match(resumed.out, /step 8\/8 .*ETA 0m0s/);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { training: { steps: number } };
    assert.equal(metrics.training.steps, 8);
    // Without --tap, the backbone's own stage outputs are read (the trials in docs/results.md chose them).
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { config: { backbone: unknown } };
    assert.deepEqual(manifest.config.backbone, { family: 'nanodet', model: 'coco', tap: 'backbone', channels: [128, 256, 512] });

    const ev = await captured(() => evalDetector(['--model', out, '--data', data, '--split', 'valid', '--head', 'all', '--json']));
    assert.equal(ev.code, 0);
    const results = JSON.parse(ev.out) as { head: string; images: number; mAP50: number }[];
    assert.deepEqual(results.map((r) => [r.head, r.images]), [['yolo', 4], ['ssd', 4], ['sliding-window', 4]]);
    for (const r of results) assert.ok(r.mAP50 >= 0 && r.mAP50 <= 1);

    // Served from a models folder that has no coco: the backbone comes from the package's models/.
    const app = await buildApp({ config: defaultConfig({ modelsDir: join(root, 'models') }), logger: false });
    try {
      const image = await readFile(join(data, 'valid', 'images', (await readdir(join(data, 'valid', 'images')))[0]));
      const r = await app.inject({ method: 'POST', url: '/v1/vision/custom/shop-items', ...multipart([imagePart(image, 'item.png', 'image/png'), { name: 'min_confidence', data: '0.01' }]) });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { success: boolean; predictions: { label: string; confidence: number }[] };
      assert.equal(body.success, true);
      assert.ok(Array.isArray(body.predictions));
      for (const p of body.predictions) assert.ok(p.confidence >= 0.01 && typeof p.label === 'string');
      const missing = await app.inject({ method: 'POST', url: '/v1/vision/custom/no-such', ...multipart([imagePart(image, 'item.png', 'image/png')]) });
      assert.equal(missing.statusCode, 404);
    } finally {
      await app.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
