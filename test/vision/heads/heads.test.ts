import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeYolo } from '../../../src/vision/heads/yolo/decode.js';
import { encodeYolo, yoloGrid, yoloTargetsToRaw, type YoloSpec } from '../../../src/vision/heads/yolo/encode.js';
import { decodeSsd } from '../../../src/vision/heads/ssd/decode.js';
import { encodeSsd, ssdLabelsToProbs } from '../../../src/vision/heads/ssd/encode.js';
import { makePriors, type PriorSpec } from '../../../src/vision/heads/ssd/priors.js';
import { decodeWindows, encodeWindows, makeWindows } from '../../../src/vision/heads/sliding-window/windows.js';
import { type GroundTruth } from '../../../src/vision/heads/box-math.js';
import { iouXyxy } from '../../../src/vision/boxes.js';
import type { Candidates } from '../../../src/vision/candidates.js';

const gt: GroundTruth = {
  // A small, a medium and a large box, well apart, with different aspect ratios.
  boxes: Float32Array.from([5, 7, 19, 20, 40, 50, 70, 110, 60, 8, 124, 40]),
  classes: Int32Array.from([3, 0, 7]),
};

/** Every ground-truth box has a candidate of its class with IoU > min. */
function assertRecovered(c: Candidates, min: number): void {
  for (let j = 0; j < gt.classes.length; j++) {
    let best = 0;
    for (let i = 0; i < c.scores.length; i++) {
      if (c.classes[i] !== gt.classes[j]) continue;
      best = Math.max(best, iouXyxy(c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3],
        gt.boxes[4 * j], gt.boxes[4 * j + 1], gt.boxes[4 * j + 2], gt.boxes[4 * j + 3]));
    }
    assert.ok(best > min, `box ${j} recovered with IoU ${best}`);
  }
}

test('yolo: encoded targets decode back to the boxes (IoU > 0.99), one candidate per box', () => {
  const spec: YoloSpec = {
    inputWidth: 128, inputHeight: 128, numClasses: 10,
    scales: [{ stride: 8, anchors: [12, 14, 20, 12] }, { stride: 16, anchors: [30, 50, 40, 40] }, { stride: 32, anchors: [64, 32, 90, 100] }],
  };
  const t = encodeYolo(gt, spec);
  assert.equal(t.obj.filter((v) => v === 1).length, 3);
  const raws = yoloTargetsToRaw(t, spec);
  const all: Candidates[] = raws.map((raw, s) => {
    const g = yoloGrid(spec, s);
    return decodeYolo(raw, { gridH: g.gridH, gridW: g.gridW, anchors: spec.scales[s].anchors, numClasses: 10, inputWidth: 128, inputHeight: 128, classActivation: 'softmax', scoreThreshold: 0.5 });
  });
  const merged: Candidates = {
    boxes: Float32Array.from(all.flatMap((c) => [...c.boxes])),
    scores: Float32Array.from(all.flatMap((c) => [...c.scores])),
    classes: Int32Array.from(all.flatMap((c) => [...c.classes])),
  };
  assert.equal(merged.scores.length, 3);
  assertRecovered(merged, 0.99);
});

test('yolo decode: sigmoid offsets, exponential scales and objectness × class probability', () => {
  // One 1×1 grid, one anchor, 2 classes: zero offsets put the box at the cell centre with the anchor's size.
  const raw = Float32Array.from([0, 0, Math.log(2), 0, 0, 0, 0]);
  const c = decodeYolo(raw, { gridH: 1, gridW: 1, anchors: [10, 20], numClasses: 2, inputWidth: 32, inputHeight: 32, classActivation: 'softmax', scoreThreshold: 0 });
  assert.deepEqual([...c.boxes], [16 - 10, 16 - 10, 16 + 10, 16 + 10]);
  assert.ok(Math.abs(c.scores[0] - 0.25) < 1e-6);
  const s = decodeYolo(raw, { gridH: 1, gridW: 1, anchors: [10, 20], numClasses: 2, inputWidth: 32, inputHeight: 32, classActivation: 'sigmoid', scoreThreshold: 0.3 });
  assert.equal(s.scores.length, 0);
  assert.throws(() => decodeYolo(new Float32Array(5), { gridH: 1, gridW: 1, anchors: [10, 20], numClasses: 2, inputWidth: 32, inputHeight: 32, classActivation: 'softmax', scoreThreshold: 0 }), /expected/);
});

const priorSpec: PriorSpec = {
  inputWidth: 128, inputHeight: 128,
  maps: [{ stride: 8, sizes: [14, 24], aspects: [1, 0.5, 2] }, { stride: 16, sizes: [36, 52], aspects: [1, 0.5, 2] }, { stride: 32, sizes: [72, 100], aspects: [1, 0.5, 2] }],
};

test('ssd: priors on three maps, encoded offsets decode back to the boxes (IoU > 0.99)', () => {
  const priors = makePriors(priorSpec);
  assert.equal(priors.length / 4, (256 + 64 + 16) * 6);
  const t = encodeSsd(gt, priors, { variances: [0.1, 0.2], inputWidth: 128, inputHeight: 128 });
  assert.ok(t.labels.filter((l) => l > 0).length >= 3);
  const c = decodeSsd(t.loc, ssdLabelsToProbs(t.labels, 11), { priors, variances: [0.1, 0.2], numClasses: 11, background: true, inputWidth: 128, inputHeight: 128, scoreThreshold: 0.5 });
  assert.ok(c.scores.length >= 3);
  for (let i = 0; i < c.scores.length; i++) {
    // Every positive prior, not only the best, must decode to its own box exactly.
    let best = 0;
    for (let j = 0; j < 3; j++) best = Math.max(best, iouXyxy(c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3], gt.boxes[4 * j], gt.boxes[4 * j + 1], gt.boxes[4 * j + 2], gt.boxes[4 * j + 3]));
    assert.ok(best > 0.99, `candidate ${i} IoU ${best}`);
  }
  assertRecovered(c, 0.99);
});

test('sliding-window: labels pick windows overlapping boxes, and decoding returns those windows', () => {
  const spec = { inputWidth: 128, inputHeight: 128, maps: [{ stride: 8, sizes: [16, 24, 32, 48], aspects: [1, 0.5, 2] }, { stride: 16, sizes: [64, 96], aspects: [1, 0.5, 2] }] };
  const windows = makeWindows(spec);
  // Boxes that are exactly windows come back exactly (IoU > 0.99).
  const exact: GroundTruth = { boxes: windows.slice(4 * 100, 4 * 101).map((v) => v), classes: Int32Array.from([4]) };
  const labels = encodeWindows(exact, windows);
  assert.equal(labels[100], 5);
  const probs = new Float32Array(labels.length * 11);
  for (let i = 0; i < labels.length; i++) probs[i * 11 + Math.max(0, labels[i])] = labels[i] > 0 ? 1 : labels[i] === 0 ? 1 : 0;
  const c = decodeWindows(probs, windows, { numClassesWithBackground: 11, scoreThreshold: 0.5 });
  const hit = [...c.scores.keys()].some((i) => iouXyxy(c.boxes[4 * i], c.boxes[4 * i + 1], c.boxes[4 * i + 2], c.boxes[4 * i + 3], exact.boxes[0], exact.boxes[1], exact.boxes[2], exact.boxes[3]) > 0.99);
  assert.ok(hit);
  // Arbitrary boxes: every box gets at least one positive window overlapping it by ≥ 0.5 (the window grid is dense enough).
  const l2 = encodeWindows(gt, windows);
  for (let j = 0; j < 3; j++) {
    let ok = false;
    for (let i = 0; i < l2.length; i++) {
      if (l2[i] === gt.classes[j] + 1 && iouXyxy(windows[4 * i], windows[4 * i + 1], windows[4 * i + 2], windows[4 * i + 3], gt.boxes[4 * j], gt.boxes[4 * j + 1], gt.boxes[4 * j + 2], gt.boxes[4 * j + 3]) >= 0.5) ok = true;
    }
    assert.ok(ok, `box ${j} has a positive window`);
  }
});

test('multi-label decoding: every class above the threshold becomes a candidate with the same box; default keeps the best only', () => {
  // YOLO: one cell-anchor, objectness 0.9, class probabilities softmax([2, 1.5, -3]) ≈ [0.62, 0.38, 0.004].
  const raw = Float32Array.from([0, 0, 0, 0, Math.log(9), 2, 1.5, -3]);
  const spec = { gridH: 1, gridW: 1, anchors: [10, 20], numClasses: 3, inputWidth: 32, inputHeight: 32, classActivation: 'softmax' as const, scoreThreshold: 0.05 };
  const one = decodeYolo(raw, spec);
  assert.deepEqual([...one.classes], [0]);
  const many = decodeYolo(raw, { ...spec, multiLabel: true });
  assert.deepEqual([...many.classes], [0, 1]);
  const z = Math.exp(2) + Math.exp(1.5) + Math.exp(-3);
  assert.ok(Math.abs(many.scores[1] - 0.9 * Math.exp(1.5) / z) < 1e-6);
  assert.deepEqual([...many.boxes.subarray(4, 8)], [...many.boxes.subarray(0, 4)]);
  // A threshold above the best score drops the cell in both modes.
  assert.equal(decodeYolo(raw, { ...spec, scoreThreshold: 0.6, multiLabel: true }).scores.length, 0);

  // SSD: one prior, probabilities [background 0.2, 0.5, 0.25, 0.05]; threshold 0.1 keeps classes 0 and 1.
  const priors = Float32Array.from([0.5, 0.5, 0.25, 0.25]);
  const probs = Float32Array.from([0.2, 0.5, 0.25, 0.05]);
  const ssdSpec = { priors, variances: [0.1, 0.2] as const, numClasses: 4, background: true, inputWidth: 64, inputHeight: 64, scoreThreshold: 0.1 };
  assert.deepEqual([...decodeSsd(new Float32Array(4), probs, ssdSpec).classes], [0]);
  const ssdMany = decodeSsd(new Float32Array(4), probs, { ...ssdSpec, multiLabel: true });
  assert.deepEqual([...ssdMany.classes], [0, 1]);
  assert.deepEqual([...ssdMany.scores], [0.5, 0.25]);
  assert.deepEqual([...ssdMany.boxes], [24, 24, 40, 40, 24, 24, 40, 40]);

  // Sliding windows: the background column never becomes a candidate.
  const windows = Float32Array.from([0, 0, 10, 10]);
  const swMany = decodeWindows(Float32Array.from([0.9, 0.06, 0.04]), windows, { numClassesWithBackground: 3, scoreThreshold: 0.05, multiLabel: true });
  assert.deepEqual([...swMany.classes], [0]);
  assert.deepEqual([...decodeWindows(Float32Array.from([0.3, 0.4, 0.3]), windows, { numClassesWithBackground: 3, scoreThreshold: 0.05, multiLabel: true }).classes], [0, 1]);
});
