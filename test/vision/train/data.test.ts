// The augmentation's boxes can be had without its pixels (for views whose features are cached), and they
// are the same boxes for the same random stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augment, augmentedBoxes, DEFAULT_AUGMENT } from '../../../src/vision/train/data.js';
import { mulberry32 } from '../../../src/runtime/random.js';

test('augmentedBoxes returns exactly the boxes augment does, for many random streams', () => {
  const size = 96;
  const src = new Uint8Array(size * size * 3).map((_, i) => (i * 13) % 256);
  const gt = { boxes: Float32Array.from([4, 6, 40, 50, 50, 10, 94, 30, 30, 60, 60, 95]), classes: Int32Array.from([1, 7, 3]) };
  const out = new Uint8Array(size * size * 3);
  let dropped = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const full = augment(src, gt, size, DEFAULT_AUGMENT, mulberry32(seed), out);
    const boxes = augmentedBoxes(gt, size, DEFAULT_AUGMENT, mulberry32(seed));
    assert.deepEqual(boxes, full, `seed ${seed}`);
    if (full.classes.length < 3) dropped++;
  }
  // The streams cover both zooms that push boxes out of view and ones that keep them all.
  assert.ok(dropped > 0 && dropped < 200, `dropped in ${dropped} of 200`);
});
