// The shipped kestrel-fmnist-coco (kestrel's heads on NanoDet's frozen COCO backbone features) on fmnist-scenes it
// never saw: 100 test scenes from a seed the training never used, drawn from the real Fashion-MNIST t10k
// items (Debian's dataset-fashion-mnist, which .ci/run installs). Its heads alone must still score as
// measured, so a change anywhere on the path (resize, normalisation, taps, adapter, decoding) shows here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/runtime/backend.js';
import { loadFmnist } from '../../../src/vision/datasets/fmnist.js';
import { writeScenes } from '../../../src/vision/datasets/scenes.js';
import { readManifest } from '../../../src/runtime/registry.js';
import { loadKestrelDetector } from '../../../src/vision/detector/loader.js';
import { evaluateHead } from '../../../src/vision/train/run-eval.js';
import type { DetectorModel } from '../../../src/runtime/models.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const MODEL = join('models', 'kestrel-fmnist-coco');
/** Each head's floor: what it scored on these scenes when shipped, less 0.02 for float differences across machines. */
const FLOORS: [string, number][] = [['ssd', 0.647], ['yolo', 0.614], ['sliding-window', 0.550]];

test('shipped kestrel-fmnist-coco: heads alone on 100 unseen scenes (seed 77) score as measured', async (t) => {
  if (!existsSync(FMNIST)) return t.skip(`${FMNIST} is not installed (Debian package dataset-fashion-mnist)`);
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-fmnist-coco-'));
  const model = (await loadKestrelDetector(await readManifest(MODEL), MODEL)) as DetectorModel;
  try {
    const t10k = await loadFmnist(FMNIST, 't10k');
    await writeScenes(t10k, t10k, root, { seed: 77, size: 128, counts: { train: 0, val: 0, test: 100 } });
    assert.equal(model.defaultHead, FLOORS[0][0]);
    for (const [head, floor] of FLOORS) {
      const r = await evaluateHead(model, root, 'test', head);
      t.diagnostic(`${head}: mAP@0.5 ${r.mAP50.toFixed(3)} on ${r.images} scenes`);
      assert.equal(r.images, 100);
      assert.ok(r.mAP50 >= floor, `${head}: mAP@0.5 ${r.mAP50.toFixed(3)} < ${floor}`);
    }
  } finally {
    model.dispose();
    await rm(root, { recursive: true, force: true });
  }
});
