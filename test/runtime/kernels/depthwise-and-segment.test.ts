import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/backend.js';
import { on, randomArray, relMaxDiff, setupBoth } from './compare.js';

before(setupBoth);

const dwCases: { x: [number, number, number, number]; f: [number, number, number, number]; strides: number; pad: 'same' | 'valid'; dil: number }[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same', dil: 1 },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 2], strides: 2, pad: 'same', dil: 1 },
  { x: [1, 8, 7, 4], f: [3, 3, 4, 2], strides: 2, pad: 'valid', dil: 1 },
];

for (const c of dwCases) {
  test(`depthwise conv gradients wasm match cpu: x ${c.x} filter ${c.f} stride ${c.strides} pad ${c.pad} dilation ${c.dil}`, async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor(randomArray(c.x.reduce((p, d) => p * d), 5), c.x) as tf.Tensor4D;
        const w = tf.tensor(randomArray(c.f.reduce((p, d) => p * d), 7), c.f) as tf.Tensor4D;
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dil);
          return tf.sum(tf.mul(y, tf.cos(tf.range(0, y.size).reshape(y.shape))));
        })([x, w]);
        return [gx.dataSync(), gw.dataSync()];
      });
    const [rx, rw] = await on('cpu', run);
    const [wx, ww] = await on('wasm', run);
    assert.ok(relMaxDiff(rx, wx) <= 1e-4, `dx diff ${relMaxDiff(rx, wx)}`);
    assert.ok(relMaxDiff(rw, ww) <= 1e-4, `dw diff ${relMaxDiff(rw, ww)}`);
  });
}

// tfjs's own gradient refuses dilation and the cpu backprop-input kernel ignores it, so the
// reference here is the adjoint of the forward op: d/dx_i sum(y * dy) = sum(conv(e_i) * dy).
test('depthwise backprop kernels with dilation 2 match the adjoint of the forward op', async () => {
  const xs: [number, number, number, number] = [1, 7, 6, 2];
  const fs: [number, number, number, number] = [3, 3, 2, 2];
  const attrs = { strides: 1, dilations: 2, pad: 'same' as const };
  const xv = randomArray(7 * 6 * 2, 5);
  const wv = randomArray(3 * 3 * 2 * 2, 7);
  const dyv = randomArray(7 * 6 * 4, 8);
  const fwd = (x: Float32Array, w: Float32Array) =>
    tf.tidy(() =>
      tf.sum(tf.mul(tf.depthwiseConv2d(tf.tensor(x, xs) as tf.Tensor4D, tf.tensor(w, fs) as tf.Tensor4D, 1, 'same', 'NHWC', 2), tf.tensor(dyv, [1, 7, 6, 4]))).dataSync()[0],
    );
  const [rx, rw] = await on('cpu', () => {
    const gx = new Float32Array(xv.length);
    for (let i = 0; i < xv.length; i++) {
      const e = new Float32Array(xv.length);
      e[i] = 1;
      gx[i] = fwd(e, wv);
    }
    const gw = new Float32Array(wv.length);
    for (let i = 0; i < wv.length; i++) {
      const e = new Float32Array(wv.length);
      e[i] = 1;
      gw[i] = fwd(xv, e);
    }
    return [gx, gw];
  });
  const [wx, ww] = await on('wasm', () =>
    tf.tidy(() => {
      const x = tf.tensor(xv, xs);
      const w = tf.tensor(wv, fs);
      const dy = tf.tensor(dyv, [1, 7, 6, 4]);
      const e = tf.engine();
      const gw = e.runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: fs }) as tf.Tensor;
      const gx = e.runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: xs }) as tf.Tensor;
      return [gx.dataSync(), gw.dataSync()];
    }),
  );
  assert.ok(relMaxDiff(rx, wx) <= 1e-4, `dx diff ${relMaxDiff(rx, wx)}`);
  assert.ok(relMaxDiff(rw, ww) <= 1e-4, `dw diff ${relMaxDiff(rw, ww)}`);
});

test('UnsortedSegmentSum wasm matches cpu, ignoring out-of-range ids', async () => {
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor(randomArray(6 * 2 * 3, 3), [6, 2, 3]);
      const ids = tf.tensor1d([2, 0, 2, 4, -1, 0], 'int32');
      return tf.unsortedSegmentSum(x, ids, 4).dataSync();
    });
  const ref = await on('cpu', run);
  const got = await on('wasm', run);
  assert.equal(got.length, 4 * 2 * 3);
  assert.ok(relMaxDiff(ref, got) <= 1e-6);
});

test('embedding (gather) gradient works on wasm and matches cpu', async () => {
  const run = () =>
    tf.tidy(() => {
      const table = tf.tensor(randomArray(65 * 8, 9), [65, 8]);
      const ids = tf.tensor2d([[1, 5, 5, 64], [0, 1, 2, 3]], [2, 4], 'int32');
      const w = tf.tensor(randomArray(2 * 4 * 8, 4), [2, 4, 8]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table).dataSync();
    });
  const ref = await on('cpu', run);
  const got = await on('wasm', run);
  assert.ok(relMaxDiff(ref, got) <= 1e-6);
});
