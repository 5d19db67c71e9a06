import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastExp, fastSigmoid, fastTanh } from '../../../src/runtime/rnn/fast-math.js';

test('fastExp is within 1e-7 relative of Math.exp on [-80, 80]', () => {
  let worst = 0;
  for (let x = -80; x <= 80; x += 0.0137) worst = Math.max(worst, Math.abs(fastExp(x) - Math.exp(x)) / Math.exp(x));
  assert.ok(worst < 1e-7, `worst relative error ${worst}`);
});

test('fastSigmoid and fastTanh match the exact functions to 1e-7 absolute, saturating at the extremes', () => {
  let worstS = 0;
  let worstT = 0;
  for (let x = -30; x <= 30; x += 0.0071) {
    worstS = Math.max(worstS, Math.abs(fastSigmoid(x) - 1 / (1 + Math.exp(-x))));
    worstT = Math.max(worstT, Math.abs(fastTanh(x) - Math.tanh(x)));
  }
  assert.ok(worstS < 1e-7, `sigmoid ${worstS}`);
  assert.ok(worstT < 1e-7, `tanh ${worstT}`);
  assert.equal(fastTanh(1e6), 1);
  assert.equal(fastTanh(-1e6), -1);
  assert.ok(fastSigmoid(-1e6) >= 0 && fastSigmoid(-1e6) < 1e-30);
  assert.equal(fastTanh(0), 0);
});
