// The face heads' layouts through the shared decoders, on hand-built raw outputs whose boxes are
// known: whichever implementation of decodeYolo/decodeSsd is merged must decode these the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeYolo } from '../../../src/vision/heads/yolo/decode.js';
import { decodeSsd } from '../../../src/vision/heads/ssd/decode.js';
import { anchorsInPixels } from '../../../src/vision/faces/tiny-yolov2/head.js';
import { yxToXy } from '../../../src/vision/faces/ssd-mobilenetv1/head.js';

const close = (a: number, b: number, eps = 1e-4): boolean => Math.abs(a - b) <= eps;
const logit = (p: number): number => Math.log(p / (1 - p));

test('tiny face grid → decodeYolo: sigmoid offsets in the cell, exp sizes times the anchor, score = sigmoid(tobj)', () => {
  const g = 2;
  const A = 5;
  const raw = new Float32Array(g * g * A * 5).fill(-20); // every objectness ≈ 0
  // Cell (gy=1, gx=0), anchor 3: centre offsets 0.5, sizes × e^0.5 / e^-0.25, objectness 0.9.
  const off = ((1 * g + 0) * A + 3) * 5;
  raw.set([0, 0, 0.5, -0.25, logit(0.9)], off);
  const side = 64;
  const cell = side / g;
  const c = decodeYolo(raw, {
    gridH: g,
    gridW: g,
    anchors: anchorsInPixels(cell, cell),
    numClasses: 0,
    inputWidth: side,
    inputHeight: side,
    classActivation: 'softmax',
    scoreThreshold: 0.5,
  });
  assert.equal(c.scores.length, 1);
  assert.ok(close(c.scores[0], 0.9), `score ${c.scores[0]}`);
  assert.equal(c.classes[0], 0);
  const cx = 0.5 * cell;
  const cy = 1.5 * cell;
  const w = 4.266906 * cell * Math.exp(0.5);
  const h = 5.178857 * cell * Math.exp(-0.25);
  const want = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  want.forEach((v, i) => assert.ok(close(c.boxes[i], v, 1e-3), `box[${i}] ${c.boxes[i]} vs ${v}`));
});

test('SSD face encodings → decodeSsd: variances 0.1/0.2 around the prior, in input pixels', () => {
  // Two priors as [cx, cy, w, h] normalised; the export's encodings are (dy, dx, dh, dw).
  const priors = Float32Array.from([0.25, 0.5, 0.2, 0.4, 0.75, 0.75, 0.1, 0.1]);
  const exported = Float32Array.from([1, 2, Math.log(2) / 0.2, 0, 0, 0, 0, 0]);
  const probs = Float32Array.from([0.8, 0.3]);
  const side = 512;
  const c = decodeSsd(yxToXy(exported), probs, {
    priors,
    variances: [0.1, 0.2],
    numClasses: 1,
    background: false,
    inputWidth: side,
    inputHeight: side,
    scoreThreshold: 0.5,
  });
  assert.equal(c.scores.length, 1);
  assert.ok(close(c.scores[0], 0.8));
  assert.equal(c.classes[0], 0);
  // dx = 2 → cx = 0.25 + 2·0.1·0.2; dy = 1 → cy = 0.5 + 1·0.1·0.4; dh = ln2/0.2 → h = 0.8; dw = 0 → w = 0.2.
  const cx = 0.25 + 0.04;
  const cy = 0.5 + 0.04;
  const want = [cx - 0.1, cy - 0.4, cx + 0.1, cy + 0.4].map((v) => v * side);
  want.forEach((v, i) => assert.ok(close(c.boxes[i], v, 1e-2), `box[${i}] ${c.boxes[i]} vs ${v}`));
});
