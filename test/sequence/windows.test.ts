import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTargets, makeWindows, startsBetween, stepFeatures } from '../../src/sequence/windows.js';
import { fitScaler, scale, unscale } from '../../src/sequence/scaler.js';

test('stepFeatures interleaves the value with its extra features', () => {
  const s = stepFeatures([1, 2, 3], 2, (i) => [i * 10, -i]);
  assert.deepEqual(Array.from(s), [1, 0, -0, 2, 10, -1, 3, 20, -2]);
});

test('makeWindows takes the `window` steps before each start', () => {
  const steps = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const x = makeWindows(steps, 1, 3, [3, 7, 10]);
  assert.deepEqual(Array.from(x), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
  // Two features per step: windows copy whole rows.
  const steps2 = Float32Array.from([0, 100, 1, 101, 2, 102, 3, 103]);
  assert.deepEqual(Array.from(makeWindows(steps2, 2, 2, [4])), [2, 102, 3, 103]);
  assert.throws(() => makeWindows(steps, 1, 3, [2]), RangeError);
  assert.throws(() => makeWindows(steps, 1, 3, [11]), RangeError);
});

test('makeTargets are changes from the last input value', () => {
  const z = [5, 6, 8, 11, 15];
  assert.deepEqual(Array.from(makeTargets(z, [2, 3], 2)), [8 - 6, 11 - 6, 11 - 8, 15 - 8]);
  assert.throws(() => makeTargets(z, [4], 2), RangeError);
  assert.throws(() => makeTargets(z, [0], 1), RangeError);
});

test('startsBetween keeps windows and targets inside their bounds', () => {
  assert.deepEqual(startsBetween(0, 10, 3, 2, 10), [3, 4, 5, 6, 7, 8]);
  assert.deepEqual(startsBetween(6, 10, 3, 1, 8), [6, 7]);
  assert.deepEqual(startsBetween(0, 4, 5, 1, 10), []);
});

test('scaler round trip restores the values and standardises the fitted part', () => {
  const v = Float64Array.from({ length: 50 }, (_, i) => 10 + 3 * Math.sin(i) + i * 0.1);
  const s = fitScaler(v, 40);
  const z = scale(s, v);
  const head = z.subarray(0, 40);
  const mean = head.reduce((a, b) => a + b, 0) / 40;
  const sd = Math.sqrt(head.reduce((a, b) => a + (b - mean) ** 2, 0) / 39);
  assert.ok(Math.abs(mean) < 1e-12, `mean ${mean}`);
  assert.ok(Math.abs(sd - 1) < 1e-12, `sd ${sd}`);
  const back = unscale(s, z);
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) < 1e-12);
  // A constant series must not divide by zero.
  const c = fitScaler([4, 4, 4]);
  assert.deepEqual(Array.from(scale(c, [4, 5])), [0, 1]);
});
