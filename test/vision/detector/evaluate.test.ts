import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateDetections, nmsPerClass } from '../../../src/vision/train/evaluate.js';

const gts = [
  { boxes: Float32Array.from([10, 10, 20, 20, 40, 40, 90, 90]), classes: Int32Array.from([0, 1]) },
  { boxes: Float32Array.from([0, 0, 50, 30]), classes: Int32Array.from([0]) },
];

test('evaluation: perfect detections score 1, misses and wrong classes lower it, area ranges split small/medium', () => {
  const perfect = gts.map((g) => ({ boxes: g.boxes, scores: new Float32Array(g.classes.length).fill(0.9), classes: g.classes }));
  const m = evaluateDetections(perfect, gts, 3);
  assert.equal(m.mAP50, 1);
  assert.equal(m.mAP, 1);
  assert.equal(m.apSmall, 1);
  assert.equal(m.apMedium, 1);
  assert.ok(Number.isNaN(m.apLarge));
  assert.deepEqual(m.counts, { small: 1, medium: 2, large: 0 });
  // Drop the small box: class 0 recall halves, small AP goes to 0.
  const missSmall = [{ boxes: Float32Array.from([40, 40, 90, 90]), scores: Float32Array.from([0.9]), classes: Int32Array.from([1]) }, perfect[1]];
  const m2 = evaluateDetections(missSmall, gts, 3);
  assert.equal(m2.apSmall, 0);
  assert.ok(Math.abs(m2.mAP50 - 0.75) < 1e-9, `mAP50 ${m2.mAP50}`);
  // A loose box (IoU between 0.5 and 0.95) counts at 0.5 but not at stricter thresholds.
  const loose = [{ boxes: Float32Array.from([10, 10, 20, 20, 40, 40, 90, 100]), scores: Float32Array.from([0.9, 0.9]), classes: Int32Array.from([0, 1]) }, perfect[1]];
  const m3 = evaluateDetections(loose, gts, 3);
  assert.equal(m3.mAP50, 1);
  assert.ok(m3.mAP < 1 && m3.mAP > 0.5, `mAP ${m3.mAP}`);
});

test('per-class NMS keeps the best of overlapping same-class boxes, and other classes', () => {
  const c = { boxes: Float32Array.from([0, 0, 10, 10, 1, 1, 10, 10, 0, 0, 10, 10, 50, 50, 60, 60]), scores: Float32Array.from([0.8, 0.9, 0.7, 0.005]), classes: Int32Array.from([0, 0, 1, 0]) };
  const k = nmsPerClass(c, 0.5, 0.01);
  assert.deepEqual([...k.scores].map((v) => Number(v.toFixed(2))), [0.9, 0.7]);
  assert.deepEqual([...k.classes], [0, 1]);
});
