import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScenes } from '../../../src/vision/datasets/scenes.js';
import { readYoloSplit } from '../../../src/vision/datasets/yolo-layout.js';
import { loadSplit } from '../../../src/vision/train/data.js';
import { evaluateHead } from '../../../src/vision/train/run-eval.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import type { Candidates } from '../../../src/vision/candidates.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';

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

test('eval --multi-label asks the model for every class per box and scores the runner-up classes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kestrel-multilabel-'));
  try {
    const src = fakeFmnist(60);
    await writeScenes(src, src, root, { seed: 5, size: 64, counts: { train: 0, val: 0, test: 6 } });
    const split = await loadSplit(await readYoloSplit(root, 'test'), 64);
    let call = 0;
    const seen: (boolean | undefined)[] = [];
    // Each box's best class is wrong (0.6); with multiLabel the model also offers the right one (0.3).
    const model = {
      kind: 'detector', labels: split.classes, heads: ['oracle'], defaultHead: 'oracle', inputSize: { width: 64, height: 64 }, defaultScoreThreshold: 0.3,
      predict: async (_p: Uint8Array, _b: number, _h: string, opts?: { multiLabel?: boolean }): Promise<Candidates[]> => {
        seen.push(opts?.multiLabel);
        const g = split.gts[Math.max(0, call++ - 1)];
        const n = g.classes.length;
        const wrong = { boxes: Float32Array.from(g.boxes), scores: new Float32Array(n).fill(0.6), classes: Int32Array.from(g.classes, (c) => (c + 1) % 10) };
        if (!opts?.multiLabel) return [wrong];
        return [{ boxes: Float32Array.from([...g.boxes, ...g.boxes]), scores: Float32Array.from([...wrong.scores, ...new Float32Array(n).fill(0.3)]), classes: Int32Array.from([...wrong.classes, ...g.classes]) }];
      },
    } as unknown as DetectorModel;
    const best = await evaluateHead(model, root, 'test', 'oracle');
    call = 0;
    const multi = await evaluateHead(model, root, 'test', 'oracle', { multiLabel: true });
    assert.equal(best.mAP50, 0);
    assert.equal(best.multiLabel, false);
    // Every box is found for its own class, but below other boxes' wrong 0.6 candidates of that class, so
    // AP is well above 0 yet below 1.
    assert.ok(multi.mAP50 > 0.3 && multi.mAP50 < 1, `multi-label mAP50 ${multi.mAP50}`);
    assert.equal(multi.multiLabel, true);
    assert.ok(seen.includes(true) && seen.includes(false));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('eval judges box sizes in the image\'s own pixels, whatever the model\'s input size', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kestrel-sizes-'));
  try {
    const src = fakeFmnist(60);
    await writeScenes(src, src, root, { seed: 6, size: 256, counts: { train: 0, val: 0, test: 30 } });
    const ds = await readYoloSplit(root, 'test');
    const atModel = await loadSplit(ds, 64);
    const native = await loadSplit(ds, 256);
    assert.deepEqual(atModel.sourceSizes[0], [256, 256]);
    const bucket = (gts: typeof native.gts): number[] => {
      const n = [0, 0, 0];
      for (const g of gts) for (let j = 0; j < g.classes.length; j++) {
        const a = (g.boxes[4 * j + 2] - g.boxes[4 * j]) * (g.boxes[4 * j + 3] - g.boxes[4 * j + 1]);
        n[a < 32 ** 2 ? 0 : a < 96 ** 2 ? 1 : 2]++;
      }
      return n;
    };
    // At a quarter of the side every box would count as small; the split has some that are not.
    assert.notDeepEqual(bucket(native.gts), bucket(atModel.gts));
    let call = 0;
    const model = {
      kind: 'detector', labels: atModel.classes, heads: ['oracle'], defaultHead: 'oracle', inputSize: { width: 64, height: 64 }, defaultScoreThreshold: 0.3,
      predict: async (): Promise<Candidates[]> => {
        const g = atModel.gts[Math.max(0, call++ - 1)];
        return [{ boxes: Float32Array.from(g.boxes), scores: new Float32Array(g.classes.length).fill(0.9), classes: Int32Array.from(g.classes) }];
      },
    } as unknown as DetectorModel;
    const r = await evaluateHead(model, root, 'test', 'oracle');
    assert.deepEqual([r.counts.small, r.counts.medium, r.counts.large], bucket(native.gts));
    assert.ok(Math.abs(r.mAP50 - 1) < 1e-9 && Math.abs(r.mAP - 1) < 1e-9, `mAP50 ${r.mAP50}, mAP ${r.mAP}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
