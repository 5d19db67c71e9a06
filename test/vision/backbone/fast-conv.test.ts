import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { FastConv2D, fastConv2d } from '../../../src/vision/backbone/fast-conv.js';
import { defaultConfig } from '../../../src/vision/detector/config.js';
import { buildNetwork } from '../../../src/vision/detector/network.js';

test('fastConv2d: value and both gradients match tf.conv2d (strides 1 and 2, kernels 1 and 3, odd and even sizes)', async () => {
  await initBackend();
  for (const [h, k, s] of [[8, 3, 1], [8, 3, 2], [7, 3, 2], [6, 1, 1], [9, 3, 1]] as const) {
    const x = tf.randomNormal([2, h, h + 1, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, 'same'))))([x, w]);
    const got = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(fastConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s))))([x, w]);
    const v1 = tf.conv2d(x, w, s, 'same'), v2 = fastConv2d(x, w, s);
    assert.deepEqual(v2.shape, v1.shape);
    assert.ok(tf.max(tf.abs(tf.sub(v1, v2))).dataSync()[0] < 1e-4);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(got[i].shape, ref[i].shape);
      const err = tf.max(tf.abs(tf.sub(got[i], ref[i]))).dataSync()[0];
      const scale = tf.max(tf.abs(ref[i])).dataSync()[0];
      assert.ok(err < 1e-3 * scale, `h=${h} k=${k} s=${s} grad ${i}: error ${err} (scale ${scale})`);
    }
    tf.dispose([x, w, ...ref, ...got, v1, v2]);
  }
});

test('fastConv2d on frozen input: the filter gradient is unchanged and no input gradient is computed', async () => {
  await initBackend();
  const x = tf.randomNormal([2, 8, 8, 5], 0, 1, 'float32', 5) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 5, 4], 0, 1, 'float32', 6) as tf.Tensor4D;
  const loss = (frozen: boolean) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(fastConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, !frozen)));
  const ref = tf.grads(loss(false))([x, w]);
  const got = tf.grads(loss(true))([x, w]);
  assert.ok(tf.max(tf.abs(tf.sub(got[1], ref[1]))).dataSync()[0] < 1e-4);
  assert.equal(tf.max(tf.abs(got[0])).dataSync()[0], 0);
  assert.ok(tf.max(tf.abs(ref[0])).dataSync()[0] > 0);
  tf.dispose([x, w, ...ref, ...got]);
});

test("kestrel's CNN computes no input gradient at its stem (the image), and does everywhere above it", async () => {
  await initBackend();
  const model = buildNetwork({ ...defaultConfig(3, 32), channels: [4, 4, 8, 8, 8], neckChannels: 8 });
  try {
    const convs = model.layers.filter((l) => l instanceof FastConv2D);
    const frozen = convs.filter((l) => l.getConfig()['inputGradient'] === false).map((l) => l.name);
    assert.deepEqual(frozen, ['stem_conv']);
    assert.ok(convs.length > 5);
  } finally {
    model.dispose();
  }
});
