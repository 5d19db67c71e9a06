import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHalf, encodeHalf, toHalf } from '../../src/runtime/half.js';

test('half floats: exact values, rounding to nearest even, subnormals, overflow, NaN', () => {
  assert.equal(toHalf(0), 0);
  assert.equal(toHalf(-0), 0x8000);
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(65504), 0x7bff); // the largest half
  assert.equal(toHalf(65520), 0x7c00); // rounds up past it: Infinity
  assert.equal(toHalf(1e6), 0x7c00);
  assert.equal(toHalf(2 ** -24), 0x0001); // the smallest subnormal
  assert.equal(toHalf(2 ** -26), 0); // below half of it
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00); // a tie rounds to the even mantissa
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.ok(Number.isNaN(decodeHalf(Uint16Array.of(toHalf(NaN)))[0]));
});

test('half floats: a round trip keeps 11 significant bits across the range activations take', () => {
  const xs = new Float32Array(10000);
  let s = 7;
  for (let i = 0; i < xs.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    xs[i] = ((s / 2 ** 32) * 2 - 1) * 10 ** ((i % 9) - 4);
  }
  const back = decodeHalf(encodeHalf(xs));
  for (let i = 0; i < xs.length; i++) {
    const tol = Math.max(Math.abs(xs[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(back[i] - xs[i]) <= tol, `${xs[i]} → ${back[i]}`);
  }
});
