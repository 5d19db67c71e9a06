// Whole-sequence recurrent ops with a hand-written backward pass (see index.ts for the API).
import { tf } from '../backend.js';
import { GATES, type CellType } from './cells.js';
import { cellFor } from './fused-cells.js';

export interface RecurrentState {
  h: tf.Tensor2D;
  /** LSTM cell state; absent for gru and rnn. */
  c?: tf.Tensor2D;
}

export interface RecurrentWeights {
  /** [inputSize, gates·hidden] (for id inputs: [vocab, gates·hidden], i.e. a one-hot input). */
  kernel: tf.Tensor2D;
  /** [hidden, gates·hidden] */
  recurrentKernel: tf.Tensor2D;
  /** [gates·hidden] */
  bias: tf.Tensor1D;
}

export interface SequenceOut {
  /** Hidden state at every step, time-major [T, B, H]. */
  y: tf.Tensor3D;
  /** State after the last step (h is y[T−1]); feed it as `init` of the next chunk. */
  state: RecurrentState;
}

function checkState(cell: CellType, s: RecurrentState, B: number, H: number): void {
  const ok = (t: tf.Tensor | undefined) => t !== undefined && t.rank === 2 && t.shape[0] === B && t.shape[1] === H;
  if (!ok(s.h)) throw new Error(`initial h must be [${B}, ${H}], got [${s.h?.shape}]`);
  if (cell === 'lstm' && !ok(s.c)) throw new Error(`lstm initial c must be [${B}, ${H}], got [${s.c?.shape}]`);
}

/**
 * Runs the recurrence of `cell` over a precomputed input projection xp [T, B, gates·H]
 * (time-major). Gradients flow to xp, recurrentKernel and the initial state.
 */
export function recurrence(cell: CellType, xp: tf.Tensor3D, recurrentKernel: tf.Tensor2D, init?: RecurrentState): SequenceOut {
  const [T, B, GH] = xp.shape;
  const G = GATES[cell];
  const H = GH / G;
  if (!Number.isInteger(H) || recurrentKernel.shape[0] !== H || recurrentKernel.shape[1] !== GH) {
    throw new Error(`${cell}: recurrentKernel must be [${GH / G}, ${GH}], got [${recurrentKernel.shape}] for xp [${xp.shape}]`);
  }
  if (T < 1) throw new Error(`${cell}: empty sequence`);
  const isLstm = cell === 'lstm';
  const h0 = init?.h ?? (tf.zeros([B, H]) as tf.Tensor2D);
  const c0 = isLstm ? (init?.c ?? (tf.zeros([B, H]) as tf.Tensor2D)) : undefined;
  if (init) checkState(cell, init, B, H);
  const impl = cellFor(cell);

  const op = tf.customGrad((...args: (tf.Tensor | ((s: tf.Tensor[]) => void))[]) => {
    const [xpIn, U, hInit, cInit] = args.slice(0, isLstm ? 4 : 3) as tf.Tensor[];
    const save = args[args.length - 1] as (s: tf.Tensor[]) => void;
    const xs = tf.unstack(xpIn) as tf.Tensor2D[];
    const hs: tf.Tensor2D[] = [hInit as tf.Tensor2D];
    const cs: (tf.Tensor2D | undefined)[] = [cInit as tf.Tensor2D | undefined];
    const perStep: tf.Tensor2D[][] = [];
    for (let t = 0; t < T; t++) {
      const hu = tf.matMul(hs[t], U) as tf.Tensor2D;
      const out = impl.forward(xs[t], hu, hs[t], cs[t]);
      if (impl.hu === 'dispose') hu.dispose();
      xs[t].dispose();
      hs.push(out.h);
      cs.push(out.c);
      perStep.push(out.saved);
    }
    const y = tf.stack(hs.slice(1)) as tf.Tensor3D;
    const value = isLstm ? tf.concat([y, tf.expandDims(cs[T]!, 0)], 0) : y;
    if (isLstm) y.dispose();
    // The engine disposes everything the forward created except what is saved here.
    const K = perStep[0].length;
    save([U, ...hs, ...(isLstm ? (cs as tf.Tensor2D[]) : []), ...perStep.flat()]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const Us = saved[0] as tf.Tensor2D;
      const hS = saved.slice(1, T + 2) as tf.Tensor2D[];
      const cS = isLstm ? (saved.slice(T + 2, 2 * T + 3) as tf.Tensor2D[]) : [];
      const stepBase = isLstm ? 2 * T + 3 : T + 2;
      const stepSaved = (t: number) => saved.slice(stepBase + t * K, stepBase + (t + 1) * K) as tf.Tensor2D[];
      const dys = tf.unstack(dy) as tf.Tensor2D[];
      const UT = tf.transpose(Us) as tf.Tensor2D;
      const dxps: tf.Tensor2D[] = new Array(T);
      const dhus: tf.Tensor2D[] = new Array(T);
      let dhNext: tf.Tensor2D | undefined; // gradient reaching h_t from step t+1
      let dc: tf.Tensor2D | undefined = isLstm ? dys[T] : undefined;
      for (let t = T - 1; t >= 0; t--) {
        const g = impl.backward(dys[t], dhNext, dc, stepSaved(t), hS[t], cS[t]);
        dxps[t] = g.dxp;
        dhus[t] = g.dhu;
        const viaU = tf.matMul(g.dhu, UT) as tf.Tensor2D;
        dhNext = g.dhDirect ? (tf.add(viaU, g.dhDirect) as tf.Tensor2D) : viaU;
        dc = g.dcPrev;
      }
      const dXp = tf.stack(dxps);
      // One GEMM for the recurrent weights over all steps: dU = [h_0 … h_{T−1}]ᵀ · [dhu_1 … dhu_T].
      const hPrev = tf.concat(hS.slice(0, T), 0);
      // lstm and rnn: dhu is dxp, so reuse the stacked copy.
      const dHu = dhus[0] === dxps[0] ? tf.reshape(dXp, [T * B, GH]) : tf.concat(dhus, 0);
      const dU = tf.matMul(hPrev, dHu, true, false);
      const grads: tf.Tensor[] = [dXp, dU, dhNext!];
      if (isLstm) grads.push(dc!);
      return grads;
    };
    return { value, gradFunc };
  });

  const inputs: tf.Tensor[] = isLstm ? [xp, recurrentKernel, h0, c0!] : [xp, recurrentKernel, h0];
  const out = (op as (...ts: tf.Tensor[]) => tf.Tensor)(...inputs);
  if (!init?.h) h0.dispose();
  if (isLstm && !init?.c) c0!.dispose();
  if (!isLstm) {
    const y = out as tf.Tensor3D;
    return { y, state: { h: tf.squeeze(tf.slice(y, [T - 1, 0, 0], [1, B, H]), [0]) as tf.Tensor2D } };
  }
  const y = tf.slice(out, [0, 0, 0], [T, B, H]) as tf.Tensor3D;
  const h = tf.squeeze(tf.slice(out, [T - 1, 0, 0], [1, B, H]), [0]) as tf.Tensor2D;
  const c = tf.squeeze(tf.slice(out, [T, 0, 0], [1, B, H]), [0]) as tf.Tensor2D;
  out.dispose();
  return { y, state: { h, c } };
}

function project(x: tf.Tensor3D, w: RecurrentWeights): tf.Tensor3D {
  const [T, B, I] = x.shape;
  const GH = w.kernel.shape[1];
  if (w.kernel.shape[0] !== I) throw new Error(`kernel must be [${I}, ${GH}], got [${w.kernel.shape}]`);
  return tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [T * B, I]), b: w.kernel, bias: w.bias }), [T, B, GH]);
}

/** One recurrent layer over a float input x [T, B, inputSize] (time-major). */
export function recurrentLayer(cell: CellType, x: tf.Tensor3D, w: RecurrentWeights, init?: RecurrentState): SequenceOut {
  return recurrence(cell, project(x, w), w.recurrentKernel, init);
}

/**
 * One recurrent layer over token ids [T, B] (int32): the input is one-hot, so the input
 * projection is a row gather of `kernel` [vocab, gates·H] and its gradient a segment sum.
 */
export function recurrentLayerFromIds(cell: CellType, ids: tf.Tensor2D, w: RecurrentWeights, init?: RecurrentState): SequenceOut {
  const [T, B] = ids.shape;
  const GH = w.kernel.shape[1];
  const xp = tf.reshape(tf.add(tf.gather(w.kernel, tf.reshape(ids, [T * B])), w.bias), [T, B, GH]) as tf.Tensor3D;
  return recurrence(cell, xp, w.recurrentKernel, init);
}

export interface StackOut {
  /** Top layer's hidden states [T, B, H]. */
  y: tf.Tensor3D;
  /** Final state of each layer, bottom first. */
  states: RecurrentState[];
}

/** Stacked layers; `input` is a float sequence [T, B, I] or int32 ids [T, B] (one-hot into layer 0). */
export function stackedRecurrent(cell: CellType, input: tf.Tensor3D | tf.Tensor2D, layers: RecurrentWeights[], init?: (RecurrentState | undefined)[]): StackOut {
  if (layers.length === 0) throw new Error('stackedRecurrent: no layers');
  const states: RecurrentState[] = [];
  let y: tf.Tensor3D | undefined;
  layers.forEach((w, l) => {
    const out =
      l === 0
        ? input.rank === 2
          ? recurrentLayerFromIds(cell, input as tf.Tensor2D, w, init?.[0])
          : recurrentLayer(cell, input as tf.Tensor3D, w, init?.[0])
        : recurrentLayer(cell, y!, w, init?.[l]);
    states.push(out.state);
    y = out.y;
  });
  return { y: y!, states };
}

let weightSets = 0;

export interface WeightOptions {
  seed?: number;
  /** Variable name prefix; variables are trainable tf.Variables. */
  name?: string;
}

/**
 * Fresh trainable weights: Glorot-uniform kernel, uniform ±1/√H recurrent kernel, zero bias
 * (LSTM forget gate bias 1, so early gradients pass through time).
 */
export function createRecurrentWeights(cell: CellType, inputSize: number, hidden: number, opts: WeightOptions = {}): RecurrentWeights {
  const G = GATES[cell];
  const seed = opts.seed ?? 1;
  return tf.tidy(() => {
    const lim = Math.sqrt(6 / (inputSize + G * hidden));
    const kernel = tf.randomUniform([inputSize, G * hidden], -lim, lim, 'float32', seed);
    const rl = 1 / Math.sqrt(hidden);
    const recurrentKernel = tf.randomUniform([hidden, G * hidden], -rl, rl, 'float32', seed + 1);
    const b = new Float32Array(G * hidden);
    if (cell === 'lstm') b.fill(1, hidden, 2 * hidden);
    const n = opts.name ?? `${cell}_${++weightSets}`;
    return {
      kernel: tf.variable(kernel, true, `${n}/kernel`) as tf.Variable<tf.Rank.R2>,
      recurrentKernel: tf.variable(recurrentKernel, true, `${n}/recurrent_kernel`) as tf.Variable<tf.Rank.R2>,
      bias: tf.variable(tf.tensor1d(b), true, `${n}/bias`) as tf.Variable<tf.Rank.R1>,
    };
  });
}

/** Zero state for a batch. */
export function zeroState(cell: CellType, batch: number, hidden: number): RecurrentState {
  return cell === 'lstm' ? { h: tf.zeros([batch, hidden]), c: tf.zeros([batch, hidden]) } : { h: tf.zeros([batch, hidden]) };
}
