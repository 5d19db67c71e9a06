// GFL decoding on hand-made outputs: bin logits built for a known box must decode back to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGfl, expectedBin, type GflLevel } from '../../../src/vision/nanodet/gfl.js';

const REG_MAX = 10;
const BINS = REG_MAX + 1;

/** Logits whose softmax puts all but a negligible mass on bin d (integer) or splits it between floor/ceil. */
function sideLogits(distanceInStrides: number): number[] {
  const lo = Math.floor(distanceInStrides);
  const frac = distanceInStrides - lo;
  const out = new Array<number>(BINS).fill(-50);
  if (frac === 0) out[lo] = 50;
  else {
    // p(lo) = 1 - frac, p(lo+1) = frac: logits are their logs.
    out[lo] = Math.log(1 - frac);
    out[lo + 1] = Math.log(frac);
  }
  return out;
}

function level(stride: number, w: number, h: number, classes: number, cells: { x: number; y: number; cls: number; score: number; ltrb: number[] }[]): GflLevel {
  const scores = new Float32Array(w * h * classes);
  const bins = new Float32Array(w * h * 4 * BINS).fill(-50);
  for (let p = 0; p < w * h; p++) for (let s = 0; s < 4; s++) bins[p * 4 * BINS + s * BINS] = 50; // distance 0
  for (const c of cells) {
    const p = c.y * w + c.x;
    scores[p * classes + c.cls] = c.score;
    c.ltrb.forEach((d, s) => bins.set(sideLogits(d), p * 4 * BINS + s * BINS));
  }
  return { stride, width: w, height: h, scores, bins };
}

const opts = { classes: 3, regMax: REG_MAX, scoreThreshold: 0.3, topKPerLevel: 1000, inputWidth: 64, inputHeight: 64, centerOffset: 0.5 };

test('expectedBin is the softmax mean of the bin indices', () => {
  assert.ok(Math.abs(expectedBin(Float32Array.from(sideLogits(3)), 0, BINS) - 3) < 1e-6);
  assert.ok(Math.abs(expectedBin(Float32Array.from(sideLogits(2.25)), 0, BINS) - 2.25) < 1e-6);
  assert.equal(expectedBin(new Float32Array(BINS), 0, BINS), REG_MAX / 2);
});

test('a hand-made box decodes back from its cell, stride and bin logits', () => {
  // Cell (3, 2) at stride 8 has its centre at (28, 20); sides 1.5, 2, 2.25, 1 strides.
  const lv = level(8, 8, 8, 3, [{ x: 3, y: 2, cls: 2, score: 0.9, ltrb: [1.5, 2, 2.25, 1] }]);
  const c = decodeGfl([lv], opts);
  assert.equal(c.scores.length, 1);
  assert.equal(c.classes[0], 2);
  assert.ok(Math.abs(c.scores[0] - 0.9) < 1e-6);
  const want = [28 - 12, 20 - 16, 28 + 18, 20 + 8];
  Array.from(c.boxes).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `side ${i}: ${v} vs ${want[i]}`));
});

test('the centre offset moves the anchor point by that fraction of a stride', () => {
  const lv = level(16, 4, 4, 3, [{ x: 1, y: 1, cls: 0, score: 0.8, ltrb: [1, 1, 1, 1] }]);
  const at0 = decodeGfl([lv], { ...opts, centerOffset: 0 });
  assert.deepEqual(Array.from(at0.boxes), [0, 0, 32, 32]);
  const atHalf = decodeGfl([lv], opts);
  assert.deepEqual(Array.from(atHalf.boxes), [8, 8, 40, 40]);
});

test('boxes are clamped to the input, and every class over the threshold is a candidate', () => {
  const lv = level(8, 8, 8, 3, [{ x: 0, y: 7, cls: 0, score: 0.7, ltrb: [3, 1, 1, 4] }]);
  lv.scores[(7 * 8 + 0) * 3 + 1] = 0.5; // the same position also reads as class 1
  lv.scores[(7 * 8 + 0) * 3 + 2] = 0.2; // below the threshold
  const c = decodeGfl([lv], opts);
  assert.deepEqual(Array.from(c.classes), [0, 1]);
  assert.deepEqual(Array.from(c.boxes.subarray(0, 4)), [0, 52, 12, 64]);
  assert.deepEqual(Array.from(c.boxes.subarray(4, 8)), Array.from(c.boxes.subarray(0, 4)));
});

test('only the k best positions of a level are decoded, and levels keep their own strides', () => {
  const cells = [0, 1, 2, 3].map((i) => ({ x: i, y: 0, cls: 0, score: 0.4 + i * 0.1, ltrb: [0.5, 0.5, 0.5, 0.5] }));
  const fine = level(8, 8, 8, 3, cells);
  const coarse = level(32, 2, 2, 3, [{ x: 1, y: 1, cls: 1, score: 0.95, ltrb: [1, 1, 1, 1] }]);
  const c = decodeGfl([fine, coarse], { ...opts, topKPerLevel: 2 });
  assert.deepEqual(Array.from(c.scores).map((s) => Math.round(s * 100) / 100), [0.6, 0.7, 0.95]);
  assert.deepEqual(Array.from(c.boxes.subarray(8, 12)), [16, 16, 64, 64]);
});

test('outputs of the wrong size are an error, not garbage boxes', () => {
  const lv = level(8, 4, 4, 3, []);
  assert.throws(() => decodeGfl([{ ...lv, width: 5 }], opts), /stride 8/);
});
