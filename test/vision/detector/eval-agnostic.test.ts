import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScenes } from '../../../src/vision/datasets/scenes.js';
import { readYoloSplit } from '../../../src/vision/datasets/yolo-layout.js';
import { loadSplit } from '../../../src/vision/train/data.js';
import { evaluateHead } from '../../../src/vision/train/run-eval.js';
import type { Candidates, DetectorModel } from '../../../src/runtime/models.js';
import { fakeFmnist } from './helpers.js';

test('eval --class-agnostic separates boxing from naming: right boxes with wrong classes score 0 by class and 1 agnostic', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kestrel-agnostic-'));
  try {
    const src = fakeFmnist(60);
    await writeScenes(src, src, root, { seed: 4, size: 64, counts: { train: 0, val: 0, test: 6 } });
    const split = await loadSplit(await readYoloSplit(root, 'test'), 64);
    const boxes = split.gts.reduce((n, g) => n + g.classes.length, 0);
    assert.ok(boxes > 0, 'the generated split has objects');
    let call = 0;
    // Predicts every ground-truth box exactly, each with the next class: perfect boxes, wrong names.
    // (The first call is evaluateHead's warm-up on image 0.)
    const model = {
      kind: 'detector', labels: split.classes, heads: ['oracle'], defaultHead: 'oracle', inputSize: { width: 64, height: 64 }, defaultScoreThreshold: 0.3,
      predict: async (): Promise<Candidates[]> => {
        const g = split.gts[Math.max(0, call++ - 1)];
        return [{ boxes: Float32Array.from(g.boxes), scores: new Float32Array(g.classes.length).fill(0.9), classes: Int32Array.from(g.classes, (c) => (c + 1) % 10) }];
      },
    } as unknown as DetectorModel;
    const byClass = await evaluateHead(model, root, 'test', 'oracle');
    call = 0;
    const agnostic = await evaluateHead(model, root, 'test', 'oracle', { classAgnostic: true });
    assert.equal(byClass.mAP50, 0);
    assert.ok(Math.abs(agnostic.mAP50 - 1) < 1e-9, `agnostic mAP50 ${agnostic.mAP50}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
