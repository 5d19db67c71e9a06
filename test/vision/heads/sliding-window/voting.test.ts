import { test } from 'node:test';
import assert from 'node:assert/strict';
import { voteWindows } from '../../../../src/vision/heads/sliding-window/voting.js';

test('voteWindows: a box becomes the score-weighted mean of the windows overlapping it, of any class; scores stay', () => {
  const c = {
    // Two windows on one object (IoU 0.6), one of them of another class, and a distant window.
    boxes: Float32Array.from([0, 0, 16, 16, 4, 0, 20, 16, 60, 60, 70, 70]),
    scores: Float32Array.from([0.6, 0.2, 0.5]),
    classes: Int32Array.from([1, 2, 1]),
  };
  const v = voteWindows(c, 0.5);
  assert.deepEqual(Array.from(v.boxes.subarray(0, 4)), [1, 0, 17, 16]);
  assert.deepEqual(Array.from(v.boxes.subarray(4, 8)), [1, 0, 17, 16]);
  assert.deepEqual(Array.from(v.boxes.subarray(8, 12)), [60, 60, 70, 70]);
  assert.deepEqual(v.scores, c.scores);
  assert.deepEqual(v.classes, c.classes);
  // Above the windows' overlap, nothing votes but the window itself.
  assert.deepEqual(voteWindows(c, 0.7).boxes, c.boxes);
});
