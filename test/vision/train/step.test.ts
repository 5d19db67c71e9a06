// A step split over threads: the worker's share is computed from the posted weights, and the step's
// gradients are the size-weighted mean of the shares' gradients computed here on one thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { mulberry32 } from '../../../src/runtime/random.js';
import { defaultConfig, type DetectorConfig } from '../../../src/vision/detector/config.js';
import { buildNetwork } from '../../../src/vision/detector/network.js';
import { HEADS } from '../../../src/vision/heads/index.js';
import type { GroundTruth } from '../../../src/vision/heads/box-math.js';
import { batchShares, HeadLosses, shareGradients, StepThreads, trainableVariables, type RawBatch } from '../../../src/vision/train/step.js';

test('batch shares are near-equal, sum to the batch and are never empty', () => {
  assert.deepEqual(batchShares(16, 2), [8, 8]);
  assert.deepEqual(batchShares(7, 2), [3, 4]);
  assert.deepEqual(batchShares(10, 3), [3, 3, 4]);
  assert.deepEqual(batchShares(2, 4), [1, 1]);
  assert.deepEqual(batchShares(5, 1), [5]);
});

function batchOf(cfg: DetectorConfig, n: number, seed: number): { raw: RawBatch; gts: GroundTruth[] } {
  const r = mulberry32(seed);
  const S = cfg.inputSize;
  const gts = Array.from({ length: n }, () => {
    const x = 2 + r() * (S / 2), y = 2 + r() * (S / 2), w = 6 + r() * (S / 3), h = 6 + r() * (S / 3);
    return { boxes: Float32Array.of(x, y, x + w, y + h), classes: Int32Array.of(Math.floor(r() * cfg.numClasses)) };
  });
  if (!cfg.backbone) {
    const px = Uint8Array.from({ length: n * S * S * 3 }, () => Math.floor(r() * 256));
    return { raw: { kind: 'pixels', arrays: [px], shapes: [[n, S, S, 3]] }, gts };
  }
  const ch = cfg.backbone.channels as number[];
  const shapes = [8, 16, 32].map((s, m) => [n, Math.ceil(S / s), Math.ceil(S / s), ch[m]]);
  const arrays = shapes.map((sh) => Float32Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1));
  return { raw: { kind: 'features', arrays, shapes }, gts };
}

function sliceOf(raw: RawBatch, from: number, to: number): RawBatch {
  return {
    kind: raw.kind,
    arrays: raw.arrays.map((a, m) => {
      const per = raw.shapes[m].slice(1).reduce((x, y) => x * y, 1);
      return a.subarray(from * per, to * per);
    }),
    shapes: raw.shapes.map((s) => [to - from, ...s.slice(1)]),
  };
}

// 'tuned': a fine-tuned stride-8 stage below the adapter; each thread builds it too.
const CASES = [['features', HEADS], ['pixels', HEADS], ['features', ['ssd']], ['tuned', HEADS]] as const;
for (const [kind, heads] of CASES) {
  test(`two threads give the size-weighted mean of the shares' gradients (${kind}, ${heads.join(' + ')})`, async () => {
    await initBackend();
    const base = defaultConfig(3, 32);
    const features: DetectorConfig = { ...base, backbone: { family: 'nanodet', model: 'coco', tap: 'backbone', channels: [4, 6, 8] }, adapter: { depth: 1, channels: 4 } };
    const cfg: DetectorConfig = kind === 'features' ? features
      : kind === 'tuned' ? { ...features, backbone: { ...features.backbone!, tuned: [{ stride: 8, channels: 4, blocks: 1, alpha: 0.1 }] } }
      : { ...base, channels: [4, 4, 8, 8, 8], neckChannels: 8 };
    const model = buildNetwork(cfg);
    const before = tf.memory().numTensors;
    const { raw, gts } = batchOf(cfg, 5, 11);
    const steps = new StepThreads(model, cfg, heads, batchShares(5, 2));
    try {
      assert.deepEqual(steps.shares, [2, 3]);
      const got = await steps.gradients((a, b) => sliceOf(raw, a, b), gts);
      const losses = new HeadLosses(cfg, heads);
      const one = shareGradients(model, losses, sliceOf(raw, 0, 2), gts.slice(0, 2));
      const two = shareGradients(model, losses, sliceOf(raw, 2, 5), gts.slice(2, 5));
      assert.ok(Math.abs(got.result.loss - (0.4 * one.result.loss + 0.6 * two.result.loss)) < 1e-4 * Math.max(1, got.result.loss));
      const vars = trainableVariables(model);
      // Only the trained heads' layers (and the layers below them) have gradients.
      const reached = vars.filter((_, i) => one.grads[i] !== null);
      assert.ok(heads.length === HEADS.length ? reached.length === vars.length : reached.length < vars.length);
      assert.deepEqual(Object.keys(got.grads).sort(), reached.map((v) => v.name).sort());
      let worst = 0;
      let norm = 0;
      vars.forEach((v, i) => {
        if (one.grads[i] === null) return;
        const want = tf.tidy(() => tf.add(tf.mul(one.grads[i]!, 0.4), tf.mul(two.grads[i]!, 0.6)).dataSync());
        const have = got.grads[v.name].dataSync();
        for (let j = 0; j < want.length; j++) {
          worst = Math.max(worst, Math.abs(want[j] - have[j]));
          norm = Math.max(norm, Math.abs(want[j]));
        }
      });
      assert.ok(norm > 0, 'the gradients are not all zero');
      assert.ok(worst <= 1e-5 * Math.max(1, norm), `max |Δ| ${worst} against max |g| ${norm}`);
      tf.dispose([...one.grads, ...two.grads, ...Object.values(got.grads)].filter((g): g is tf.Tensor => g !== null));
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await steps.close();
      model.dispose();
    }
  });
}
