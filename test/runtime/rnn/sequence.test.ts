// The fused sequence ops against tfjs autodiff of a plain step-by-step implementation (cpu),
// against finite differences, and wasm against cpu.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { recurrence, setFusedCells, stackedRecurrent, type CellType, type RecurrentState } from '../../../src/runtime/rnn/index.js';

before(async () => {
  await initBackend('wasm');
  await tf.setBackend('cpu');
});

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.mul(tf.randomUniform(shape, -1, 1, 'float32', seed), scale);
}

const G: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Plain reference: the textbook equations, one step at a time, differentiated by tfjs. */
function plainRecurrence(cell: CellType, xp: tf.Tensor3D, U: tf.Tensor2D, h0: tf.Tensor2D, c0?: tf.Tensor2D): { y: tf.Tensor3D; h: tf.Tensor2D; c?: tf.Tensor2D } {
  const T = xp.shape[0];
  const H = U.shape[0];
  let h = h0;
  let c = c0;
  const ys: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const x = tf.squeeze(tf.slice(xp, [t, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
    const hu = tf.matMul(h, U);
    const blk = (m: tf.Tensor, k: number) => tf.slice(m, [0, k * H], [-1, H]);
    if (cell === 'lstm') {
      const a = tf.add(x, hu);
      const i = tf.sigmoid(blk(a, 0));
      const f = tf.sigmoid(blk(a, 1));
      const g = tf.tanh(blk(a, 2));
      const o = tf.sigmoid(blk(a, 3));
      c = tf.add(tf.mul(f, c!), tf.mul(i, g)) as tf.Tensor2D;
      h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;
    } else if (cell === 'gru') {
      const z = tf.sigmoid(tf.add(blk(x, 0), blk(hu, 0)));
      const r = tf.sigmoid(tf.add(blk(x, 1), blk(hu, 1)));
      const n = tf.tanh(tf.add(blk(x, 2), tf.mul(r, blk(hu, 2))));
      h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
    } else {
      h = tf.tanh(tf.add(x, hu)) as tf.Tensor2D;
    }
    ys.push(h);
  }
  return { y: tf.stack(ys) as tf.Tensor3D, h, c };
}

interface Inputs {
  xp: tf.Tensor3D;
  U: tf.Tensor2D;
  h0: tf.Tensor2D;
  c0?: tf.Tensor2D;
}

function makeInputs(cell: CellType, T: number, B: number, H: number, seed: number): Inputs {
  return {
    xp: rand([T, B, G[cell] * H], seed, 1.5) as tf.Tensor3D,
    U: rand([H, G[cell] * H], seed + 1, 0.8) as tf.Tensor2D,
    h0: rand([B, H], seed + 2, 0.5) as tf.Tensor2D,
    c0: cell === 'lstm' ? (rand([B, H], seed + 3, 0.5) as tf.Tensor2D) : undefined,
  };
}

/** A loss touching every output: weighted sums of y, the final h and (lstm) the final c. */
function lossOf(y: tf.Tensor, h: tf.Tensor, c: tf.Tensor | undefined, seed: number): tf.Scalar {
  let l = tf.add(tf.sum(tf.mul(y, rand(y.shape, seed + 10))), tf.sum(tf.mul(h, rand(h.shape, seed + 11))));
  if (c) l = tf.add(l, tf.sum(tf.mul(c, rand(c.shape, seed + 12))));
  return l as tf.Scalar;
}

function gradsOf(cell: CellType, inp: Inputs, fused: boolean, seed: number): { loss: number; y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs: tf.Tensor[] = [inp.xp, inp.U, inp.h0, ...(inp.c0 ? [inp.c0] : [])];
    let yOut: Float32Array = new Float32Array();
    const f = (...a: tf.Tensor[]) => {
      const [xp, U, h0, c0] = a as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
      let y: tf.Tensor;
      let st: RecurrentState;
      if (fused) {
        const out = recurrence(cell, xp, U, { h: h0, c: c0 });
        y = out.y;
        st = out.state;
      } else {
        const out = plainRecurrence(cell, xp, U, h0, c0);
        y = out.y;
        st = { h: out.h, c: out.c };
      }
      yOut = y.dataSync() as Float32Array;
      return lossOf(y, st.h, st.c, seed);
    };
    const { value, grads } = tf.valueAndGrads(f)(xs);
    return { loss: value.dataSync()[0], y: yOut, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(a[i]));
  }
  return d / (s || 1);
}

for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) for (const fusedCells of [true, false]) {
  test(`${cell} sequence (${fusedCells ? 'fused cell kernels' : 'plain-op cells'}): outputs and gradients (xp, U, h0${cell === 'lstm' ? ', c0' : ''}) match autodiff of a plain implementation`, () => {
    const inp = makeInputs(cell, 7, 3, 5, 100);
    const ref = gradsOf(cell, inp, false, 7);
    setFusedCells(fusedCells);
    let got: ReturnType<typeof gradsOf>;
    try {
      got = gradsOf(cell, inp, true, 7);
    } finally {
      setFusedCells(true);
    }
    assert.ok(Math.abs(ref.loss - got.loss) <= 1e-5 * Math.max(1, Math.abs(ref.loss)), `loss ${got.loss} vs ${ref.loss}`);
    assert.ok(maxRel(ref.y, got.y) <= 1e-6, 'y');
    assert.equal(got.grads.length, ref.grads.length);
    ref.grads.forEach((g, i) => assert.ok(maxRel(g, got.grads[i]) <= 1e-5, `gradient ${i}: ${maxRel(g, got.grads[i])}`));
    tf.dispose(Object.values(inp) as tf.Tensor[]);
  });
}

test('lstm sequence gradient wrt U agrees with central finite differences (a few entries)', () => {
  const inp = makeInputs('lstm', 4, 2, 3, 200);
  const got = gradsOf('lstm', inp, true, 3);
  const U = inp.U.arraySync() as number[][];
  const lossAt = (Uv: number[][]) =>
    tf.tidy(() => {
      const out = recurrence('lstm', inp.xp, tf.tensor2d(Uv), { h: inp.h0, c: inp.c0 });
      return lossOf(out.y, out.state.h, out.state.c, 3).dataSync()[0];
    });
  const eps = 1e-2;
  for (const [r, c] of [[0, 0], [1, 5], [2, 11], [0, 7]]) {
    const up = U.map((row) => [...row]);
    const dn = U.map((row) => [...row]);
    up[r][c] += eps;
    dn[r][c] -= eps;
    const fd = (lossAt(up) - lossAt(dn)) / (2 * eps);
    const an = got.grads[1][r * 12 + c];
    assert.ok(Math.abs(fd - an) <= 2e-3 * Math.max(1, Math.abs(fd)), `U[${r},${c}] fd ${fd} vs analytic ${an}`);
  }
  tf.dispose(Object.values(inp) as tf.Tensor[]);
});

test('state carried across chunks equals one pass over the whole sequence', () => {
  tf.tidy(() => {
    const inp = makeInputs('lstm', 6, 2, 4, 300);
    const whole = recurrence('lstm', inp.xp, inp.U, { h: inp.h0, c: inp.c0 });
    const a = recurrence('lstm', tf.slice(inp.xp, [0, 0, 0], [4, -1, -1]) as tf.Tensor3D, inp.U, { h: inp.h0, c: inp.c0 });
    const b = recurrence('lstm', tf.slice(inp.xp, [4, 0, 0], [2, -1, -1]) as tf.Tensor3D, inp.U, a.state);
    assert.ok(maxRel(whole.y.dataSync() as Float32Array, tf.concat([a.y, b.y], 0).dataSync() as Float32Array) <= 1e-6);
    assert.ok(maxRel(whole.state.c!.dataSync() as Float32Array, b.state.c!.dataSync() as Float32Array) <= 1e-6);
  });
});

for (const cell of ['lstm', 'gru'] as CellType[]) {
  test(`stacked 2-layer ${cell} from token ids: gradients of every weight on wasm match cpu`, async () => {
    const run = () =>
      tf.tidy(() => {
        const V = 11;
        const H = 6;
        const T = 5;
        const B = 3;
        const mk = (inSize: number, s: number) => ({
          kernel: rand([inSize, G[cell] * H], s, 0.7) as tf.Tensor2D,
          recurrentKernel: rand([H, G[cell] * H], s + 1, 0.7) as tf.Tensor2D,
          bias: rand([G[cell] * H], s + 2, 0.3) as tf.Tensor1D,
        });
        const layers = [mk(V, 1), mk(H, 4)];
        const ids = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 0, 1], [2, 2, 2]], [T, B], 'int32');
        const ws = layers.flatMap((l) => [l.kernel, l.recurrentKernel, l.bias]);
        const { value, grads } = tf.valueAndGrads((...w: tf.Tensor[]) => {
          const ls = [0, 1].map((l) => ({ kernel: w[3 * l] as tf.Tensor2D, recurrentKernel: w[3 * l + 1] as tf.Tensor2D, bias: w[3 * l + 2] as tf.Tensor1D }));
          const out = stackedRecurrent(cell, ids, ls);
          return lossOf(out.y, out.states[1].h, out.states[0].c, 5);
        })(ws);
        return [value.dataSync()[0], ...grads.map((g) => g.dataSync() as Float32Array)] as const;
      });
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    const got = run();
    await tf.setBackend('cpu');
    assert.ok(Math.abs((ref[0] as number) - (got[0] as number)) <= 1e-4 * Math.max(1, Math.abs(ref[0] as number)));
    for (let i = 1; i < ref.length; i++) {
      const d = maxRel(ref[i] as Float32Array, got[i] as Float32Array);
      assert.ok(d <= 1e-4, `weight gradient ${i - 1}: ${d}`);
    }
  });
}

test('recurrence does not leak tensors inside tidy, with and without gradients', () => {
  const inp = makeInputs('gru', 5, 2, 3, 400);
  const step = () => {
    tf.tidy(() => {
      recurrence('gru', inp.xp, inp.U);
    });
    tf.tidy(() => {
      tf.grads((xp: tf.Tensor, U: tf.Tensor) => tf.sum(recurrence('gru', xp as tf.Tensor3D, U as tf.Tensor2D).y))([inp.xp, inp.U]);
    });
  };
  step();
  const n = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, n);
  tf.dispose(Object.values(inp) as tf.Tensor[]);
});
