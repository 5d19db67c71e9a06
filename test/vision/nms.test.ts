// NMS conventions and the deliberate differences from tfjs, each pinned by a small case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchedNms, nms, postprocess, rankByScore, softNms } from '../../src/vision/nms.js';
import { iouAt } from '../../src/vision/boxes.js';
import { rng, randomCase } from './random-boxes.js';

const B = (...xs: number[]): Float32Array => Float32Array.from(xs);

test('ties: equal scores are visited in ascending index order', () => {
  const boxes = B(0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10);
  const scores = B(0.5, 0.5, 0.5);
  assert.deepEqual(Array.from(nms(boxes, scores)), [0]);
  assert.deepEqual(Array.from(rankByScore(B(0.1, 0.9, 0.5, 0.9, -1, 0))), [1, 3, 2, 0, 5, 4]);
  // The comparator fallback (non-float32 scores) ranks the same way.
  assert.deepEqual(Array.from(rankByScore([0.1, 0.9, 0.5, 0.9, -1, 0])), [1, 3, 2, 0, 5, 4]);
  assert.deepEqual(Array.from(rankByScore(B(0, -0, 0, -0.5, -0))), [0, 1, 2, 4, 3]); // −0 ties with 0
});

test('IoU exactly at the threshold suppresses (≥), just below does not', () => {
  const boxes = B(0, 0, 10, 10, 5, 0, 15, 10); // IoU 1/3
  const scores = B(0.9, 0.8);
  assert.deepEqual(Array.from(nms(boxes, scores, { iouThreshold: 1 / 3 })), [0]);
  assert.deepEqual(Array.from(nms(boxes, scores, { iouThreshold: 1 / 3 + 1e-9 })), [0, 1]);
});

test('score threshold is strict and NaN scores never pass', () => {
  const boxes = B(0, 0, 1, 1, 5, 5, 6, 6, 10, 10, 11, 11);
  assert.deepEqual(Array.from(nms(boxes, B(0.5, 0.6, NaN), { scoreThreshold: 0.5 })), [1]);
});

test('flipped corners are the sorted rectangle; zero-area boxes are never suppressed and suppress nothing', () => {
  const flipped = B(10, 10, 0, 0, 0, 0, 10, 10);
  assert.deepEqual(Array.from(nms(flipped, B(0.9, 0.8))), [0]);
  const degenerate = B(0, 0, 10, 0, 0, 0, 10, 10, 0, 0, 10, 0, 3, 3, 3, 3);
  assert.deepEqual(Array.from(nms(degenerate, B(0.9, 0.8, 0.7, 0.6), { iouThreshold: 0.1 })), [0, 1, 2, 3]);
});

test('iouThreshold ≤ 0 keeps only the best box (even disjoint boxes have IoU 0 ≥ 0)', () => {
  const boxes = B(0, 0, 1, 1, 5, 5, 6, 6, 10, 10, 11, 11);
  assert.deepEqual(Array.from(nms(boxes, B(0.2, 0.9, 0.5), { iouThreshold: 0 })), [1]);
  assert.deepEqual(Array.from(batchedNms(boxes, B(0.2, 0.9, 0.5), Int32Array.from([0, 1, 0]), { iouThreshold: 0 })), [1, 2]);
});

test('deliberate difference: iouThreshold above 1 is allowed (tfjs throws) and disables suppression', () => {
  const boxes = B(0, 0, 10, 10, 0, 0, 10, 10);
  assert.deepEqual(Array.from(nms(boxes, B(0.9, 0.8), { iouThreshold: 1.5 })), [0, 1]);
  assert.deepEqual(Array.from(nms(boxes, B(0.9, 0.8), { iouThreshold: 1 })), [0]);
});

test('deliberate difference: maxOutputs is optional; 0 gives nothing', () => {
  const c = randomCase(rng(3), 200);
  assert.ok(nms(c.boxes, c.scores).length > 0);
  assert.equal(nms(c.boxes, c.scores, { maxOutputs: 0 }).length, 0);
  assert.equal(nms(new Float32Array(0), new Float32Array(0)).length, 0);
});

test('input lengths are checked', () => {
  assert.throws(() => nms(new Float32Array(7), new Float32Array(2)), /4 per box/);
  assert.throws(() => batchedNms(new Float32Array(8), new Float32Array(2), new Int32Array(3)), /classes/);
});

test('batchedNms: classes do not suppress each other; maxPerClass; sparse and negative class ids', () => {
  const boxes = B(0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 10, 10);
  const scores = B(0.9, 0.8, 0.7, 0.6);
  assert.deepEqual(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 1, 0, 1]))), [0, 1]);
  assert.deepEqual(Array.from(batchedNms(boxes, scores, Int32Array.from([-7, 1_000_000, 5, 1_000_000]))), [0, 1, 2]);
  assert.deepEqual(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 1, 2, 0]), { iouThreshold: 0.99, maxPerClass: 1 })), [0, 1, 2]);
  assert.deepEqual(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 1, 2, 3]), { maxOutputs: 2 })), [0, 1]);
});

/** Plain eager Soft-NMS, written from the paper's pseudo-code: the reference for the linear variant. */
function eagerSoft(boxes: Float32Array, scores: Float32Array, linear: boolean, sigma: number, nt: number, scoreT: number): { idx: number[]; sc: number[] } {
  const s = Array.from(scores, (v) => v);
  const alive = s.map((v, i) => v > scoreT && !boxes.subarray(4 * i, 4 * i + 4).some(Number.isNaN));
  const idx: number[] = [], sc: number[] = [];
  for (;;) {
    let m = -1;
    for (let i = 0; i < s.length; i++) if (alive[i] && (m < 0 || s[i] > s[m])) m = i;
    if (m < 0) break;
    idx.push(m);
    sc.push(s[m]);
    alive[m] = false;
    for (let i = 0; i < s.length; i++) {
      if (!alive[i]) continue;
      const v = iouAt(boxes, i, boxes, m);
      s[i] *= linear ? (v >= nt ? 1 - v : 1) : Math.exp((-0.5 / sigma) * v * v);
      if (!(s[i] > scoreT)) alive[i] = false;
    }
  }
  return { idx, sc };
}

test('linear Soft-NMS equals the eager reference on random continuous cases', () => {
  const r = rng(99);
  for (let k = 0; k < 200; k++) {
    const n = Math.floor(r() * 80);
    const c = randomCase(r, n);
    for (let i = 0; i < n; i++) c.scores[i] = r(); // distinct scores: eager and lazy agree exactly
    const nt = 0.1 + r() * 0.6;
    const scoreT = r() * 0.2;
    const want = eagerSoft(c.boxes, c.scores, true, 0, nt, scoreT);
    const got = softNms(c.boxes, c.scores, { method: 'linear', iouThreshold: nt, scoreThreshold: scoreT });
    assert.deepEqual(Array.from(got.indices), want.idx, `case ${k}`);
    want.sc.forEach((v, j) => assert.ok(Math.abs(got.scores[j] - v) < 1e-6));
  }
});

test('deliberate difference: Gaussian Soft-NMS drops nothing by overlap unless iouThreshold is given (tfjs default 0.5)', () => {
  const boxes = B(0, 0, 10, 10, 0, 0, 10, 10);
  const pure = softNms(boxes, B(0.9, 0.8));
  assert.deepEqual(Array.from(pure.indices), [0, 1]);
  assert.ok(Math.abs(pure.scores[1] - 0.8 * Math.exp(-1)) < 1e-6); // σ = 0.5: exp(−1²/(2·0.5))
  assert.deepEqual(Array.from(softNms(boxes, B(0.9, 0.8), { iouThreshold: 0.5 }).indices), [0]);
  assert.throws(() => softNms(boxes, B(0.9, 0.8), { sigma: 0 }), /sigma/);
});

test('Soft-NMS per class only decays within the class; merged by decayed score', () => {
  const boxes = B(0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10);
  const r = softNms(boxes, B(0.9, 0.8, 0.7), { sigma: 0.5 }, Int32Array.from([0, 0, 1]));
  assert.deepEqual(Array.from(r.indices), [0, 2, 1]);
  assert.ok(Math.abs(r.scores[1] - 0.7) < 1e-7);
});

test('postprocess: methods, class filter, class-agnostic, maxDetections', () => {
  const c = {
    boxes: B(0, 0, 10, 10, 1, 1, 10, 10, 50, 50, 60, 60, 0, 0, 10, 10),
    scores: B(0.9, 0.8, 0.7, 0.1),
    classes: Int32Array.from([0, 1, 0, 0]),
  };
  const base = { scoreThreshold: 0.2, iouThreshold: 0.5, maxDetections: 10 };
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'none' }).indices), [0, 1, 2]);
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'hard' }).indices), [0, 1, 2]);
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'hard', classAgnostic: true }).indices), [0, 2]);
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'hard', keepClasses: new Set([1]) }).indices), [1]);
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'hard', maxDetections: 1 }).indices), [0]);
  const soft = postprocess(c, { ...base, method: 'soft-gaussian', classAgnostic: true });
  assert.deepEqual(Array.from(soft.indices), [0, 2, 1]);
  assert.ok(soft.scores[2] < 0.8);
  const lin = postprocess(c, { ...base, method: 'soft-linear', keepClasses: new Set([0]) });
  assert.deepEqual(Array.from(lin.indices), [0, 2]);
  assert.deepEqual(Array.from(postprocess(c, { ...base, method: 'hard' }).scores), Array.from(B(0.9, 0.8, 0.7)));
});

test('postprocess agrees with batchedNms / nms / softNms on random candidates', () => {
  const r = rng(31);
  for (let k = 0; k < 100; k++) {
    const c = randomCase(r, Math.floor(r() * 200), 1 + Math.floor(r() * 5));
    const o = { scoreThreshold: r() * 0.5, iouThreshold: 0.2 + r() * 0.6, maxDetections: Math.floor(r() * 50) };
    const hard = postprocess(c, { ...o, method: 'hard' });
    assert.deepEqual(Array.from(hard.indices), Array.from(batchedNms(c.boxes, c.scores, c.classes, { ...o, maxOutputs: o.maxDetections })));
    const agn = postprocess(c, { ...o, method: 'hard', classAgnostic: true });
    assert.deepEqual(Array.from(agn.indices), Array.from(nms(c.boxes, c.scores, { ...o, maxOutputs: o.maxDetections })));
    const soft = postprocess(c, { ...o, method: 'soft-gaussian', sigma: 0.3 });
    const ref = softNms(c.boxes, c.scores, { sigma: 0.3, scoreThreshold: o.scoreThreshold, maxOutputs: o.maxDetections }, c.classes);
    assert.deepEqual(Array.from(soft.indices), Array.from(ref.indices));
    assert.deepEqual(Array.from(soft.scores), Array.from(ref.scores));
  }
});
