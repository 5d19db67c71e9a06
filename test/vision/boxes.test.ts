import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxAreas, clipBoxes, convertBoxes, denormalizeBoxes, giou, iou, iouAt, iouMatrix, normalizeBoxes, orderCorners, BOX_FORMATS } from '../../src/vision/boxes.js';
import { rng } from './random-boxes.js';

const close = (a: number, b: number, eps = 1e-9, msg?: string): void => assert.ok(Math.abs(a - b) <= eps, msg ?? `${a} vs ${b}`);

test('format conversions: known values and round trips through every format', () => {
  const xyxy = new Float64Array([10, 20, 50, 80, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(convertBoxes(xyxy, 'xyxy', 'xywh', new Float64Array(8))), [10, 20, 40, 60, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(convertBoxes(xyxy, 'xyxy', 'cxcywh', new Float64Array(8))), [30, 50, 40, 60, 0.5, 0.5, 1, 1]);
  const r = rng(5);
  const b = new Float64Array(400).map(() => r() * 100);
  for (const f of BOX_FORMATS) {
    for (const g of BOX_FORMATS) {
      const there = convertBoxes(b, f, g, new Float64Array(b.length));
      const back = convertBoxes(there, g, f, new Float64Array(b.length));
      for (let k = 0; k < b.length; k++) close(back[k], b[k], 1e-9, `${f}->${g}->${f} at ${k}`);
    }
  }
  // In place is allowed.
  const inPlace = Float64Array.from(xyxy);
  convertBoxes(inPlace, 'xyxy', 'xywh', inPlace);
  assert.deepEqual(Array.from(inPlace), [10, 20, 40, 60, 0, 0, 1, 1]);
  assert.throws(() => convertBoxes(new Float32Array(5), 'xyxy', 'xywh'), /multiple of 4/);
});

test('normalize / denormalize divide x by width and y by height, and invert each other', () => {
  const b = new Float32Array([64, 48, 128, 96]);
  assert.deepEqual(Array.from(normalizeBoxes(b, 640, 480)), [0.1, 0.1, 0.2, 0.2].map(Math.fround));
  const back = denormalizeBoxes(normalizeBoxes(b, 640, 480), 640, 480);
  for (let k = 0; k < 4; k++) close(back[k], b[k], 1e-4);
  assert.throws(() => normalizeBoxes(b, 0, 10), /positive/);
});

test('iou: known overlaps, symmetry, flipped corners, zero-area boxes', () => {
  close(iou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150);
  close(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [10, 0, 20, 10]), 0); // touching edges do not overlap
  assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  close(iou([10, 10, 0, 0], [5, 0, 15, 10]), 50 / 150); // flipped corners = sorted rectangle
  assert.equal(iou([5, 5, 5, 9], [0, 0, 10, 10]), 0); // zero width
  assert.equal(iou([3, 3, 3, 3], [3, 3, 3, 3]), 0); // a point overlaps nothing, not even itself
  assert.equal(iou([NaN, 0, 1, 1], [0, 0, 1, 1]), 0);
  const r = rng(9);
  for (let k = 0; k < 200; k++) {
    const a = [r() * 10, r() * 10, r() * 10, r() * 10];
    const b = [r() * 10, r() * 10, r() * 10, r() * 10];
    assert.equal(iou(a, b), iou(b, a));
    const v = iou(a, b);
    assert.ok(v >= 0 && v <= 1);
  }
});

test('iou pixelInclusive follows the VOC devkit: widths are x2 - x1 + 1', () => {
  // [0,0,9,9] covers 10x10 pixels; [5,0,14,9] too; they share 5x10.
  close(iou([0, 0, 9, 9], [5, 0, 14, 9], { pixelInclusive: true }), 50 / 150);
  // Boxes touching on a pixel column share that column.
  close(iou([0, 0, 9, 9], [9, 0, 18, 9], { pixelInclusive: true }), 10 / 190);
  assert.equal(iou([0, 0, 9, 9], [10, 0, 19, 9], { pixelInclusive: true }), 0);
  // A one-pixel box has area 1 in this convention.
  close(iou([3, 3, 3, 3], [3, 3, 3, 3], { pixelInclusive: true }), 1);
});

test('giou: equals iou for nested-in-hull cases, negative when apart, -1 limit, 0 for identical', () => {
  close(giou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  close(giou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150); // hull = union
  // Apart: hull 30x10 = 300, union 200 → 0 − 100/300.
  close(giou([0, 0, 10, 10], [20, 0, 30, 10]), -100 / 300);
  assert.ok(giou([0, 0, 1, 1], [1000, 1000, 1001, 1001]) < -0.99);
  assert.equal(giou([2, 2, 2, 2], [2, 2, 2, 2]), 0);
});

test('iouMatrix equals iouAt pairwise, including degenerate and flipped boxes', () => {
  const r = rng(11);
  const a = new Float32Array(40 * 4).map(() => Math.floor(r() * 20));
  const b = new Float32Array(30 * 4).map(() => Math.floor(r() * 20));
  const m = iouMatrix(a, b);
  assert.equal(m.length, 40 * 30);
  for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) assert.equal(m[i * 30 + j], Math.fround(iouAt(a, i, b, j)), `${i},${j}`);
  const mi = iouMatrix(a, b, { pixelInclusive: true });
  for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) assert.equal(mi[i * 30 + j], Math.fround(iouAt(a, i, b, j, { pixelInclusive: true })));
});

test('clipBoxes orders corners then clamps to the image; areas and orderCorners', () => {
  const b = new Float32Array([-5, 10, 50, 200, 30, 30, 10, 10]);
  assert.deepEqual(Array.from(clipBoxes(b, 40, 100)), [0, 10, 40, 100, 10, 10, 30, 30]);
  assert.deepEqual(Array.from(orderCorners(new Float32Array([3, 4, 1, 2]))), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(boxAreas(new Float32Array([0, 0, 2, 3, 3, 4, 1, 2]))), [6, 4]);
});
