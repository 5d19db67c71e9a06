// One time step of each recurrent cell, forward and backward, in tfjs ops (any backend).
//
// Conventions: xp is the input projection x·W + b for this step, hu = h_prev·U; both are
// [batch, gates·hidden]. Gate blocks along the last axis:
//   lstm: i, f, g, o     (input, forget, cell candidate, output; the tf.layers order)
//   gru:  z, r, n        (update, reset, candidate), "reset after" the recurrent product:
//                         n = tanh(xn + r ⊙ (h_prev·Un)), h = (1 − z) ⊙ n + z ⊙ h_prev
//   rnn:  one block      h = tanh(xp + hu)
// Reset-after keeps the whole recurrent product a single h_prev·U per step.
import { tf } from '../backend.js';

export type CellType = 'lstm' | 'gru' | 'rnn';

export const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

export interface StepOut {
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
  /** What the backward step needs, cell-specific. */
  saved: tf.Tensor2D[];
}

export interface StepGrad {
  /** Gradient wrt this step's xp. */
  dxp: tf.Tensor2D;
  /** Gradient wrt this step's hu = h_prev·U (same tensor as dxp for lstm and rnn). */
  dhu: tf.Tensor2D;
  /** Gradient wrt h_prev through paths other than U (gru's z ⊙ h_prev), if any. */
  dhDirect?: tf.Tensor2D;
  /** Gradient wrt c_prev (lstm). */
  dcPrev?: tf.Tensor2D;
}

export interface Cell {
  forward(xp: tf.Tensor2D, hu: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D | undefined): StepOut;
  /**
   * dy: gradient wrt this step's output h; dhNext: gradient reaching h from the next step
   * (undefined at the last step); dc: total gradient wrt this step's c (lstm).
   */
  backward(
    dy: tf.Tensor2D,
    dhNext: tf.Tensor2D | undefined,
    dc: tf.Tensor2D | undefined,
    saved: tf.Tensor2D[],
    hPrev: tf.Tensor2D,
    cPrev: tf.Tensor2D | undefined,
  ): StepGrad;
}

const total = (dy: tf.Tensor2D, dhNext: tf.Tensor2D | undefined) => (dhNext ? (tf.add(dy, dhNext) as tf.Tensor2D) : dy);

const one = () => tf.scalar(1);
/** σ'(a) written through s = σ(a): s(1 − s). */
const dSigmoid = (s: tf.Tensor2D) => tf.mul(s, tf.sub(one(), s)) as tf.Tensor2D;
/** tanh'(a) through t = tanh(a): 1 − t². */
const dTanh = (t: tf.Tensor2D) => tf.sub(one(), tf.square(t)) as tf.Tensor2D;

const lstm: Cell = {
  forward(xp, hu, _hPrev, cPrev) {
    return tf.tidy(() => {
      const z = tf.add(xp, hu) as tf.Tensor2D;
      const H = z.shape[1] / 4;
      const s = tf.sigmoid(z);
      const [i, f, , o] = tf.split(s, 4, 1) as tf.Tensor2D[];
      const g = tf.tanh(tf.slice(z, [0, 2 * H], [-1, H])) as tf.Tensor2D;
      const c = tf.add(tf.mul(f, cPrev!), tf.mul(i, g)) as tf.Tensor2D;
      const tc = tf.tanh(c) as tf.Tensor2D;
      const h = tf.mul(o, tc) as tf.Tensor2D;
      return { h, c, saved: [i, f, g, o, tc] };
    });
  },
  backward(dy, dhNext, dcIn, saved, _hPrev, cPrev) {
    const dh = total(dy, dhNext);
    const [i, f, g, o, tc] = saved;
    const dc = tf.add(dcIn!, tf.mul(tf.mul(dh, o), dTanh(tc))) as tf.Tensor2D;
    const dz = tf.concat(
      [tf.mul(tf.mul(dc, g), dSigmoid(i)), tf.mul(tf.mul(dc, cPrev!), dSigmoid(f)), tf.mul(tf.mul(dc, i), dTanh(g)), tf.mul(tf.mul(dh, tc), dSigmoid(o))],
      1,
    ) as tf.Tensor2D;
    return { dxp: dz, dhu: dz, dcPrev: tf.mul(dc, f) as tf.Tensor2D };
  },
};

const gru: Cell = {
  forward(xp, hu, hPrev) {
    return tf.tidy(() => {
      const [xz, xr, xn] = tf.split(xp, 3, 1) as tf.Tensor2D[];
      const [hz, hr, hn] = tf.split(hu, 3, 1) as tf.Tensor2D[];
      const z = tf.sigmoid(tf.add(xz, hz)) as tf.Tensor2D;
      const r = tf.sigmoid(tf.add(xr, hr)) as tf.Tensor2D;
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn))) as tf.Tensor2D;
      const h = tf.add(n, tf.mul(z, tf.sub(hPrev, n))) as tf.Tensor2D;
      return { h, saved: [z, r, n, hn] };
    });
  },
  backward(dy, dhNext, _dc, saved, hPrev) {
    const dh = total(dy, dhNext);
    const [z, r, n, hn] = saved;
    const dan = tf.mul(tf.mul(dh, tf.sub(one(), z)), dTanh(n)) as tf.Tensor2D;
    const daz = tf.mul(tf.mul(dh, tf.sub(hPrev, n)), dSigmoid(z)) as tf.Tensor2D;
    const dar = tf.mul(tf.mul(dan, hn), dSigmoid(r)) as tf.Tensor2D;
    return {
      dxp: tf.concat([daz, dar, dan], 1) as tf.Tensor2D,
      dhu: tf.concat([daz, dar, tf.mul(dan, r)], 1) as tf.Tensor2D,
      dhDirect: tf.mul(dh, z) as tf.Tensor2D,
    };
  },
};

const rnn: Cell = {
  forward(xp, hu) {
    const h = tf.tidy(() => tf.tanh(tf.add(xp, hu)) as tf.Tensor2D);
    return { h, saved: [h] };
  },
  backward(dy, dhNext, _dc, saved) {
    const dh = total(dy, dhNext);
    const da = tf.mul(dh, dTanh(saved[0])) as tf.Tensor2D;
    return { dxp: da, dhu: da };
  },
};

/** Cells in plain tfjs ops: the reference, and the path on backends without the fused kernels. */
export const OP_CELLS: Record<CellType, Cell> = { lstm, gru, rnn };
