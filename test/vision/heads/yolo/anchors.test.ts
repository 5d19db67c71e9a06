import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kmeansAnchors } from '../../../../src/vision/heads/yolo/anchors.js';
import { mulberry32 } from '../../../../src/runtime/random.js';

test('k-means anchors find the clusters of box shapes, sorted by area, deterministic per seed', () => {
  const rand = mulberry32(7);
  const centres = [[10, 12], [40, 20], [30, 80]];
  const sizes: number[] = [];
  for (let i = 0; i < 300; i++) {
    const [w, h] = centres[i % 3];
    sizes.push(w * (0.9 + 0.2 * rand()), h * (0.9 + 0.2 * rand()));
  }
  const a = kmeansAnchors(Float32Array.from(sizes), 3, 1);
  assert.equal(a.anchors.length, 6);
  const found = [[a.anchors[0], a.anchors[1]], [a.anchors[2], a.anchors[3]], [a.anchors[4], a.anchors[5]]];
  const expected = [[10, 12], [40, 20], [30, 80]];
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(found[k][0] - expected[k][0]) < 2 && Math.abs(found[k][1] - expected[k][1]) < 4, `anchor ${k}: ${found[k].join('×')}`);
  }
  assert.ok(a.meanIou > 0.85, `mean IoU ${a.meanIou}`);
  assert.deepEqual(kmeansAnchors(Float32Array.from(sizes), 3, 1).anchors, a.anchors);
  assert.throws(() => kmeansAnchors(Float32Array.from([1, 1]), 3), /cannot make/);
});
