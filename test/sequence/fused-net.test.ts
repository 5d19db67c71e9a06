import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { buildNet, FusedNet, predictNet, trainNet, type NetConfig } from '../../src/sequence/network.js';
import { mulberry32 } from '../../src/runtime/random.js';
import { tinyModel } from './tiny-model.js';

before(async () => {
  await initBackend();
});

function randomWindows(m: number, c: NetConfig, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: m * c.window * c.features }, () => 2 * r() - 1);
}

// tf.layers' LSTM with sigmoid gates (the fused cell's) computes the same function from the same
// weights: same gate order i, f, g, o and the same [kernel, recurrent kernel, bias] layout.
function layersLstm(c: NetConfig, bidirectional: boolean): tf.LayersModel {
  const input = tf.input({ shape: [c.window, c.features] });
  const lstm = () => tf.layers.lstm({ units: c.units, recurrentActivation: 'sigmoid' });
  const enc = bidirectional ? tf.layers.bidirectional({ layer: lstm() as unknown as tf.RNN, mergeMode: 'concat' }) : lstm();
  let out = tf.layers.dense({ units: c.outputs }).apply(enc.apply(input)) as tf.SymbolicTensor;
  const lin = tf.layers.dense({ units: c.outputs }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
  out = tf.layers.add().apply([out, lin]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

for (const cell of ['lstm', 'bilstm'] as const) {
  test(`fused ${cell} forecaster network matches tf.layers numerically given the same weights`, () => {
    const c: NetConfig = { cell, units: 6, window: 9, features: 3, outputs: 4, highway: true, engine: 'fused' };
    const fused = new FusedNet(c, 5);
    // Non-zero highway and biases so every weight takes part in the comparison.
    const r = mulberry32(9);
    fused.setWeights(fused.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => r() - 0.5), w.shape)));
    const ref = layersLstm(c, cell === 'bilstm');
    ref.setWeights(fused.getWeights());
    const x = randomWindows(17, c, 2);
    const a = predictNet(fused, x, 17, c);
    const b = tf.tidy(() => (ref.predict(tf.tensor3d(x, [17, c.window, c.features])) as tf.Tensor).dataSync() as Float32Array);
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    // Float32 rounding only (measured about 3e-7 on outputs of size ~2).
    assert.ok(maxDiff < 1e-5, `max |fused − layers| = ${maxDiff}`);
    assert.ok(a.some((v) => Math.abs(v) > 0.05), 'outputs are not trivially zero');
    ref.dispose();
    fused.dispose();
  });
}

test('fused GRU network trains: the loss falls and tensors do not leak', async () => {
  const c: NetConfig = { cell: 'gru', units: 8, window: 10, features: 1, outputs: 2, highway: true, engine: 'fused' };
  // Target: a nonlinear function of the window the highway alone cannot express.
  const n = 256;
  const x = randomWindows(n, c, 4);
  const y = new Float32Array(n * 2);
  for (let k = 0; k < n; k++) {
    const w = x.subarray(k * 10, k * 10 + 10);
    y[k * 2] = Math.tanh(2 * w[9] * w[8]);
    y[k * 2 + 1] = Math.abs(w[5]) - 0.5;
  }
  const net = buildNet(c, 7);
  assert.ok(net instanceof FusedNet);
  const mse = () => {
    const p = predictNet(net, x, n, c);
    return p.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / p.length;
  };
  const before = mse();
  const tensors = tf.memory().numTensors;
  const r = await trainNet(net, c, { x, y, n, xVal: x.subarray(0, 640), yVal: y.subarray(0, 128), nVal: 64 }, { epochs: 30, batch: 32, learningRate: 0.01, clipNorm: 1, patience: 30, seed: 1 });
  assert.equal(tf.memory().numTensors, tensors);
  const after = mse();
  assert.ok(after < 0.6 * before, `mse ${before} → ${after}`);
  assert.ok(r.bestEpoch >= 0);
  net.dispose();
});

test('fused BiLSTM with --refit through trainForecaster: the refit runs and the model beats persistence', async () => {
  const r = await tinyModel({ engine: 'fused', refit: true, cell: 'bilstm' });
  try {
    assert.equal(r.model.config.engine, 'fused');
    assert.equal(r.members.length, 1);
    assert.ok((r.members[0].refitSeconds ?? -1) >= 0, 'refit ran');
    assert.ok(r.validation.rmse1 > 0 && Number.isFinite(r.validation.rmse1));
    assert.ok(r.test.rmse1 < r.baselines.persistence.rmse1, `model ${r.test.rmse1} vs persistence ${r.baselines.persistence.rmse1}`);
  } finally {
    r.model.dispose();
  }
});
