import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/backend.js';
import { on, randomArray, relMaxDiff, setupBoth } from './compare.js';

before(setupBoth);

// tf.layers recurrent and dense models exercise Slice/SplitV/Unpack/GatherV2/BatchMatMul/Tile/Sum
// through tfjs's own code paths: gradients on wasm (with our kernels) must match cpu.
for (const kind of ['lstm', 'gru'] as const) {
  test(`tf.layers ${kind} + embedding + dense gradients on wasm match cpu`, async () => {
    const run = (): [number, ...Float32Array[]] => {
      const model = tf.sequential();
      const ts = tf.tidy(() => {
        model.add(tf.layers.embedding({ inputDim: 11, outputDim: 6, inputLength: 5 }));
        model.add(kind === 'lstm' ? tf.layers.lstm({ units: 7, returnSequences: true }) : tf.layers.gru({ units: 7, returnSequences: true }));
        model.add(tf.layers.dense({ units: 11 }));
        model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomArray(w.size, 40 + i), w.shape).mul(0.4)));
        const ids = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [0, 0, 3, 3, 1]], [3, 5], 'int32');
        const target = tf.oneHot(tf.tensor2d([[2, 3, 4, 5, 6], [7, 8, 9, 10, 0], [0, 3, 3, 1, 1]], [3, 5], 'int32'), 11);
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(target, model.apply(ids) as tf.Tensor));
        return [value, ...model.trainableWeights.map((w) => grads[w.originalName])];
      });
      const out: [number, ...Float32Array[]] = [ts[0].dataSync()[0], ...ts.slice(1).map((t) => t.dataSync() as Float32Array)];
      tf.dispose(ts);
      model.dispose();
      return out;
    };
    const ref = await on('cpu', run);
    const got = await on('wasm', run);
    assert.ok(Math.abs(ref[0] - got[0]) <= 1e-5 * Math.abs(ref[0]));
    for (let i = 1; i < ref.length; i++) {
      const d = relMaxDiff(ref[i] as Float32Array, got[i] as Float32Array);
      assert.ok(d <= 1e-4, `gradient ${i - 1}: ${d}`);
    }
  });
}
