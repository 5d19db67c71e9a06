import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { softmaxCe } from '../../../src/vision/heads/loss-functions.js';

test('softmaxCe: value and gradient equal autodiff of logSumExp − the label logit (ignored labels count as class 0)', async () => {
  await initBackend();
  const x = tf.randomNormal([2, 5, 4], 0, 3, 'float32', 11) as tf.Tensor3D;
  const labels = Int32Array.of(0, 1, 2, 3, -1, 3, 3, 0, 1, 2);
  const weights = tf.randomUniform([2, 5], 0, 1, 'float32', 12);
  const oh = tf.oneHot(tf.tensor1d(Array.from(labels, (l) => Math.max(0, l)), 'int32'), 4).reshape([2, 5, 4]);
  const reference = (a: tf.Tensor): tf.Tensor2D => tf.sub(tf.logSumExp(a, -1), tf.sum(tf.mul(a, oh), -1)) as tf.Tensor2D;
  const v1 = reference(x), v2 = softmaxCe(x, labels);
  assert.ok(tf.max(tf.abs(tf.sub(v1, v2))).dataSync()[0] < 1e-5);
  // A weighted sum, so the upstream gradient is not all ones.
  const [g1] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(reference(a), weights)))([x]);
  const [g2] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(softmaxCe(a as tf.Tensor3D, labels), weights)))([x]);
  assert.ok(tf.max(tf.abs(tf.sub(g1, g2))).dataSync()[0] < 1e-5);
  assert.ok(tf.max(tf.abs(g1)).dataSync()[0] > 0.01);
  tf.dispose([x, weights, oh, v1, v2, g1, g2]);
});
