import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/backend.js';
import { on, randomArray, relMaxDiff, setupBoth } from './compare.js';

before(setupBoth);

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const cases: Case[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { x: [1, 11, 6, 5], f: [5, 5, 5, 3], strides: 2, pad: 'same' },
  { x: [3, 8, 8, 4], f: [2, 2, 4, 6], strides: 2, pad: 'valid' },
  { x: [2, 5, 5, 8], f: [1, 1, 8, 7], strides: 1, pad: 'valid' },
  { x: [1, 9, 7, 2], f: [3, 5, 2, 3], strides: [2, 1], pad: 'same' },
  { x: [2, 6, 7, 3], f: [3, 3, 3, 2], strides: 1, pad: 1 },
  // rows of 32+ pixels take the block-copy path of im2col
  { x: [2, 5, 41, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [1, 4, 70, 2], f: [3, 5, 2, 3], strides: 1, pad: 'valid' },
];

function run(c: Case): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor(randomArray(c.x.reduce((p, d) => p * d), 11), c.x);
    const w = tf.tensor(randomArray(c.f.reduce((p, d) => p * d), 23), c.f) as tf.Tensor4D;
    // Gradient of a non-uniform loss so that dy is not constant.
    const g = tf.grad((ww: tf.Tensor) => {
      const y = tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad);
      return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
    })(w);
    return g.dataSync() as Float32Array;
  });
}

for (const c of cases) {
  test(`Conv2DBackpropFilter wasm matches cpu: x ${c.x} filter ${c.f} stride ${c.strides} pad ${c.pad}`, async () => {
    const ref = await on('cpu', () => run(c));
    const got = await on('wasm', () => run(c));
    const d = relMaxDiff(ref, got);
    assert.ok(d <= 1e-3, `relative max abs diff ${d}`);
  });
}

test('Conv2DBackpropFilter is registered for wasm only', () => {
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  // cpu keeps its own kernel (from tfjs-backend-cpu), not ours.
  const cpu = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  assert.ok(cpu);
  assert.notEqual(cpu.kernelFunc, tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc);
});

test('Conv2DBackpropFilter wasm does not leak tensors', async () => {
  await tf.setBackend('wasm');
  const c = cases[2];
  run(c);
  const before = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  run(c);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.memory().numBytes, bytes);
});
