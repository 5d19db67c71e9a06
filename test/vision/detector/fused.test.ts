import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { defaultConfig } from '../../../src/vision/detector/config.js';
import { buildNetwork } from '../../../src/vision/detector/network.js';
import { FusedNetwork } from '../../../src/vision/detector/fused.js';

test('FusedNetwork: folding conv → batch norm → ReLU gives the layers model outputs with far fewer steps, and leaks nothing', async () => {
  await initBackend();
  const net = buildNetwork(defaultConfig(3, 64));
  // Non-trivial batch-norm statistics, so a wrong fold cannot pass by accident.
  for (const l of net.layers) {
    if (l.getClassName() !== 'KestrelBatchNorm') continue;
    const [g, b, m, v] = l.getWeights();
    const c = g.shape[0];
    const nw = [tf.randomUniform([c], 0.5, 1.5, 'float32', 1), tf.randomNormal([c], 0, 0.3, 'float32', 2), tf.randomNormal([c], 0, 0.5, 'float32', 3), tf.randomUniform([c], 0.2, 2, 'float32', 4)];
    assert.deepEqual(nw.map((t) => t.shape), [g, b, m, v].map((t) => t.shape));
    l.setWeights(nw);
    tf.dispose(nw);
  }
  const fused = FusedNetwork.compile(net);
  assert.ok(fused, 'the detector graph compiles');
  const convs = net.layers.filter((l) => l.getClassName() === 'KestrelFastConv2D').length;
  // Every conv stays one step; each of its batch norms and ReLUs disappears into it.
  assert.ok(fused.stepCount < net.layers.length - convs, `${fused.stepCount} steps for ${net.layers.length} layers`);
  const x = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 5);
  const want = net.predict(x) as tf.Tensor[];
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => fused.run(x));
  assert.equal(tf.memory().numTensors, before + got.length, 'only the outputs survive the tidy');
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i].shape, want[i].shape);
    const err = tf.max(tf.abs(tf.sub(got[i], want[i]))).dataSync()[0];
    const scale = tf.max(tf.abs(want[i])).dataSync()[0];
    assert.ok(scale > 0.1 && err < 1e-4 * Math.max(1, scale), `output ${i}: error ${err} (scale ${scale})`);
  }
  tf.dispose([x, ...want, ...got]);
  fused.dispose();
  net.dispose();
});
