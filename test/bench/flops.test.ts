import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../src/runtime/backend.js';
import { matMulPeak, modelFlops } from '../../bench/flops.js';

test('modelFlops counts 2 FLOPs per multiply-add of convolutions and dense layers, one per element otherwise', async () => {
  await initBackend();
  const input = tf.input({ shape: [8, 8, 3] });
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: true }).apply(input) as tf.SymbolicTensor;
  const d = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 1, padding: 'same', useBias: false }).apply(c) as tf.SymbolicTensor;
  const r = tf.layers.reLU().apply(d) as tf.SymbolicTensor;
  const f = tf.layers.flatten().apply(r) as tf.SymbolicTensor;
  const o = tf.layers.dense({ units: 5 }).apply(f) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: o });
  const { total, layers } = modelFlops(model);
  const conv = 4 * 4 * (2 * 3 * 3 * 3 * 4 + 4); // 4×4 outputs × (2·k²·cin·cout + bias)
  const depthwise = 4 * 4 * (2 * 3 * 3 * 4 * 1); // no bias
  const relu = 4 * 4 * 4;
  const flatten = 64;
  const dense = 2 * 64 * 5 + 5;
  assert.deepEqual(layers.map((l) => l.flops), [0, conv, depthwise, relu, flatten, dense]);
  assert.equal(total, conv + depthwise + relu + flatten + dense);
  model.dispose();
});

test('matMulPeak reports a positive rate from timed runs', async () => {
  await initBackend();
  const p = await matMulPeak(64, 2);
  assert.equal(p.n, 64);
  assert.ok(p.flopsPerSecond > 0 && Number.isFinite(p.flopsPerSecond) && p.bestMs > 0);
});
