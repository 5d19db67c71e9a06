// Stock wasm kernels we replace (BatchMatMul, Conv2DBackpropInput, MaxPoolGrad, Sum) against cpu.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/backend.js';
import { on, randomArray, relMaxDiff, setupBoth } from './compare.js';

before(setupBoth);

const t = (shape: number[], seed: number) => tf.tensor(randomArray(shape.reduce((p, d) => p * d, 1), seed), shape);

async function bothAgree(label: string, f: () => tf.Tensor, tol = 1e-4): Promise<void> {
  const run = () => tf.tidy(() => f().dataSync());
  const ref = await on('cpu', run);
  const got = await on('wasm', run);
  const d = relMaxDiff(ref, got);
  assert.ok(d <= tol, `${label}: relative diff ${d}`);
}

const convCases: { x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: 'same' | 'valid' | number }[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
  { x: [2, 8, 9, 4], f: [3, 3, 4, 5], s: 2, pad: 'valid' },
  { x: [1, 11, 6, 5], f: [5, 5, 5, 3], s: 2, pad: 'same' },
  { x: [2, 5, 5, 8], f: [1, 1, 8, 7], s: 1, pad: 'valid' },
  { x: [1, 9, 7, 2], f: [3, 5, 2, 3], s: [2, 1], pad: 'same' },
  { x: [2, 6, 7, 3], f: [3, 3, 3, 2], s: 1, pad: 2 },
];

for (const c of convCases) {
  test(`Conv2DBackpropInput wasm matches cpu: x ${c.x} filter ${c.f} stride ${c.s} pad ${c.pad}`, async () => {
    await bothAgree('dx', () =>
      tf.grad((x: tf.Tensor) => {
        const y = tf.conv2d(x as tf.Tensor4D, t(c.f, 3) as tf.Tensor4D, c.s, c.pad);
        return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
      })(t(c.x, 2)),
    );
  });
}

const poolCases: { x: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid' }[] = [
  { x: [2, 8, 8, 3], k: 2, s: 2, pad: 'valid' },
  { x: [2, 7, 9, 3], k: 2, s: 2, pad: 'same' },
  { x: [1, 9, 9, 4], k: 3, s: 2, pad: 'same' },
  { x: [1, 6, 5, 2], k: 3, s: 1, pad: 'valid' },
];

for (const c of poolCases) {
  test(`MaxPoolGrad wasm matches cpu: x ${c.x} window ${c.k} stride ${c.s} pad ${c.pad}`, async () => {
    await bothAgree('dx', () =>
      tf.grad((x: tf.Tensor) => {
        const y = tf.maxPool(x as tf.Tensor4D, c.k, c.s, c.pad);
        return tf.sum(tf.mul(y, tf.cos(tf.range(0, y.size).reshape(y.shape))));
      })(t(c.x, 4)),
    );
  });
}

test('MaxPoolGrad after ReLU (tied zeros) matches cpu', async () => {
  await bothAgree('dx', () =>
    tf.grad((x: tf.Tensor) => {
      const y = tf.maxPool(tf.relu(x) as tf.Tensor4D, 2, 2, 'valid');
      return tf.sum(tf.mul(y, tf.cos(tf.range(0, y.size).reshape(y.shape))));
    })(t([2, 6, 6, 3], 8)),
  );
});

const mmCases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  { a: [5, 7], b: [7, 3], ta: false, tb: false },
  { a: [7, 5], b: [7, 3], ta: true, tb: false },
  { a: [5, 7], b: [3, 7], ta: false, tb: true },
  { a: [7, 5], b: [3, 7], ta: true, tb: true },
  { a: [4, 5, 7], b: [7, 3], ta: false, tb: false },
  { a: [4, 5, 7], b: [3, 7], ta: false, tb: true },
  { a: [4, 7, 5], b: [4, 7, 3], ta: true, tb: false },
  { a: [2, 3, 5, 7], b: [2, 3, 3, 7], ta: false, tb: true },
  { a: [5, 7], b: [4, 7, 3], ta: false, tb: false },
  { a: [33, 65], b: [47, 33], ta: true, tb: true },
];

for (const c of mmCases) {
  test(`BatchMatMul wasm matches cpu: a ${c.a} b ${c.b} transposeA ${c.ta} transposeB ${c.tb}`, async () => {
    await bothAgree('matMul', () => tf.matMul(t(c.a, 5), t(c.b, 6), c.ta, c.tb), 1e-5);
  });
}

test('matMul gradients (transposed products) on wasm match cpu', async () => {
  const run = () =>
    tf.tidy(() => {
      const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.sin(tf.matMul(a, b))))([t([9, 13], 1), t([13, 6], 2)]);
      return [...ga.dataSync(), ...gb.dataSync()];
    });
  const ref = await on('cpu', run);
  const got = await on('wasm', run);
  assert.ok(relMaxDiff(ref, got) <= 1e-5);
});

const sumCases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
  { shape: [4, 5, 6, 3], axis: [0, 1, 2], keepDims: false },
  { shape: [4, 5, 6, 3], axis: [0, 1, 2], keepDims: true },
  { shape: [7, 3], axis: 0, keepDims: false },
  { shape: [4, 5, 6], axis: [1, 0], keepDims: false },
  { shape: [4, 5, 6], axis: [1, 2], keepDims: false },
  { shape: [4, 5, 6], axis: -1, keepDims: true },
  { shape: [4, 5], axis: [0, 1], keepDims: false },
];

for (const c of sumCases) {
  test(`Sum wasm matches cpu: shape ${c.shape} axis ${c.axis} keepDims ${c.keepDims}`, async () => {
    const run = () => tf.tidy(() => {
      const y = tf.sum(t(c.shape, 9), c.axis, c.keepDims);
      return { shape: y.shape, v: y.dataSync() };
    });
    const ref = await on('cpu', run);
    const got = await on('wasm', run);
    assert.deepEqual(got.shape, ref.shape);
    assert.ok(relMaxDiff(ref.v, got.v) <= 1e-5);
  });
}

test('replaced kernels do not leak wasm tensors', async () => {
  await tf.setBackend('wasm');
  const step = () =>
    tf.tidy(() => {
      const x = t([2, 8, 8, 3], 1);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(xx as tf.Tensor4D, t([3, 3, 3, 4], 2) as tf.Tensor4D, 2, 'same'), 2, 2, 'same')))(x);
      const m = tf.matMul(t([3, 4, 5], 3), t([3, 6, 5], 4), false, true);
      return tf.add(tf.sum(g), tf.sum(m)).dataSync();
    });
  const ids = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  step();
  const before = tf.memory();
  const idsBefore = ids();
  step();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  assert.equal(ids(), idsBefore);
});

const sliceCases: { shape: number[]; begin: number[]; size: number[] }[] = [
  { shape: [6, 4, 5], begin: [2, 0, 0], size: [1, 4, 5] },
  { shape: [6, 4, 5], begin: [1, 1, 2], size: [3, 2, 3] },
  { shape: [7, 9], begin: [0, 3], size: [-1, 4] },
  { shape: [2, 3, 4, 5], begin: [1, 0, 1, 1], size: [1, 3, 2, 4] },
  { shape: [10], begin: [3], size: [5] },
];

for (const c of sliceCases) {
  test(`Slice wasm matches cpu: shape ${c.shape} begin ${c.begin} size ${c.size}`, async () => {
    await bothAgree('slice', () => tf.slice(t(c.shape, 3), c.begin, c.size), 0);
    await bothAgree('slice int32', () => tf.cast(tf.slice(tf.cast(tf.mul(t(c.shape, 3), 100), 'int32'), c.begin, c.size), 'float32'), 0);
  });
}

test('Unpack and SplitV on wasm match cpu along every axis', async () => {
  for (const axis of [0, 1, 2]) {
    await bothAgree(`unstack axis ${axis}`, () => tf.concat(tf.unstack(t([3, 4, 5], 1), axis), 0), 0);
    await bothAgree(`split axis ${axis}`, () => tf.concat(tf.split(t([6, 4, 6], 2), [1, 2, -1], axis).map((p) => tf.reshape(p, [-1])), 0), 0);
  }
});

test('GatherV2 on wasm matches cpu (axis 0 and 1, int32) and rejects out-of-range ids', async () => {
  const ids = () => tf.tensor2d([[3, 0], [1, 3]], [2, 2], 'int32');
  await bothAgree('gather axis 0', () => tf.gather(t([4, 3, 2], 1), ids(), 0), 0);
  await bothAgree('gather axis 1', () => tf.gather(t([2, 4, 3], 2), ids(), 1), 0);
  await bothAgree('gather int32', () => tf.cast(tf.gather(tf.tensor1d([5, 6, 7, 8], 'int32'), ids()), 'float32'), 0);
  await tf.setBackend('wasm');
  assert.throws(() => tf.tidy(() => tf.gather(t([4, 3], 1), tf.tensor1d([4], 'int32')).dataSync()), /not in \[0, 3\]/);
});

const tileCases: { shape: number[]; reps: number[] }[] = [
  { shape: [1, 1, 1, 5], reps: [3, 4, 2, 1] },
  { shape: [2, 3], reps: [3, 2] },
  { shape: [4], reps: [5] },
  { shape: [2, 1, 3], reps: [1, 4, 2] },
  { shape: [3, 2], reps: [1, 1] },
];

for (const c of tileCases) {
  test(`Tile wasm matches cpu: shape ${c.shape} reps ${c.reps}`, async () => {
    await bothAgree('tile', () => tf.tile(t(c.shape, 5), c.reps), 0);
    await bothAgree('tile int32', () => tf.cast(tf.tile(tf.cast(tf.mul(t(c.shape, 5), 50), 'int32'), c.reps), 'float32'), 0);
  });
}

for (const c of sumCases) {
  test(`Mean wasm matches cpu: shape ${c.shape} axis ${c.axis} keepDims ${c.keepDims}`, async () => {
    const run = () =>
      tf.tidy(() => {
        const y = tf.mean(t(c.shape, 9), c.axis, c.keepDims);
        return { shape: y.shape, v: y.dataSync() };
      });
    const ref = await on('cpu', run);
    const got = await on('wasm', run);
    assert.deepEqual(got.shape, ref.shape);
    assert.ok(relMaxDiff(ref.v, got.v) <= 1e-5);
  });
}

test('Identity on wasm shares data safely: clones survive disposal of the source and variable assignment', async () => {
  await tf.setBackend('wasm');
  const ids = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const before = ids();
  const a = tf.tensor1d([1, 2, 3]);
  const v = tf.variable(a);
  const c = tf.clone(a);
  assert.equal(ids(), before + 1, 'clone and variable share the one buffer');
  a.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3]);
  const next = tf.tensor1d([7, 8, 9]);
  v.assign(next);
  next.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(v.dataSync()), [7, 8, 9]);
  c.dispose();
  v.dispose();
  assert.equal(ids(), before);
});

test('Cast on wasm: same dtype shares data, other dtypes convert like cpu', async () => {
  await bothAgree('cast f32→i32→f32', () => tf.cast(tf.cast(tf.mul(t([3, 4], 2), 10), 'int32'), 'float32'), 0);
  await bothAgree('cast bool', () => tf.cast(tf.cast(t([3, 4], 3), 'bool'), 'float32'), 0);
  await tf.setBackend('wasm');
  const a = tf.tensor1d([1.5, -2]);
  const b = tf.cast(a, 'float32');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1.5, -2]);
  b.dispose();
});
