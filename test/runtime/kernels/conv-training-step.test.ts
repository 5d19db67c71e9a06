import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/backend.js';
import { on, randomArray, relMaxDiff, setupBoth } from './compare.js';

before(setupBoth);

// A conv + batch-norm + ReLU + max-pool + stride-2 conv net, one Adam step on each backend from
// the same initial weights: every gradient kernel the detector's training needs must exist on
// wasm and agree with cpu.
function trainStep(): { loss: number; grads: Float32Array[]; weights: Float32Array[] } {
  const inp = tf.input({ shape: [12, 12, 3] });
  let h = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: 'zeros' }).apply(inp) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: 'zeros' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 2, kernelSize: 1, kernelInitializer: 'zeros' }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: h });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomArray(w.size, 100 + i), w.shape).mul(i === 2 || i === 3 ? 0 : 0.5).add(i === 5 ? 1 : 0)));
  const x = tf.tensor(randomArray(4 * 12 * 12 * 3, 1), [4, 12, 12, 3]);
  const y = tf.tensor(randomArray(4 * 3 * 3 * 2, 2), [4, 3, 3, 2]);
  const opt = tf.train.adam(0.01);
  // Adam's first step moves each weight by about ±lr whatever the gradient's size, so the
  // gradients themselves are compared too.
  const { value: loss, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor));
  const names = model.trainableWeights.map((w) => w.originalName);
  const gradArrays = names.map((n) => grads[n].dataSync() as Float32Array);
  opt.applyGradients(grads as unknown as Record<string, tf.Variable>);
  const out = { loss: loss.dataSync()[0], grads: gradArrays, weights: model.getWeights().map((w) => w.dataSync() as Float32Array) };
  tf.dispose([x, y, loss, ...Object.values(grads)]);
  opt.dispose();
  model.dispose();
  return out;
}

test('one Adam step of a conv/batch-norm/max-pool/stride-2 net on wasm matches cpu', async () => {
  const ref = await on('cpu', trainStep);
  const got = await on('wasm', trainStep);
  assert.ok(Number.isFinite(got.loss));
  assert.ok(Math.abs(ref.loss - got.loss) <= 1e-4 * Math.abs(ref.loss), `loss ${got.loss} vs ${ref.loss}`);
  assert.equal(got.grads.length, 7);
  ref.grads.forEach((g, i) => {
    const d = relMaxDiff(g, got.grads[i]);
    assert.ok(d <= 1e-3, `gradient ${i} diff ${d}`);
  });
  assert.equal(got.weights.length, ref.weights.length);
  ref.weights.forEach((w, i) => {
    const d = relMaxDiff(w, got.weights[i]);
    assert.ok(d <= 1e-3, `weight ${i} diff ${d}`);
  });
});
