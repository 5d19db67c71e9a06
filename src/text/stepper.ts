// One-character-at-a-time inference on plain Float32Arrays. For batch 1 a step is a few matrix-vector
// products; doing them outside tfjs avoids its per-op dispatch and tensor bookkeeping, which at this
// size costs more than the arithmetic. The state lives here, so each new character costs one step and
// the prefix is never recomputed.
import type { NamedArray } from './network.js';
import type { CellType } from '../runtime/rnn/index.js';
import { matVec, matrix, type MatVec, type Matrix } from './matvec.js';

interface LayerWeights {
  /** Layer 0 (one-hot input): the kernel rows [vocab][G·H], gathered by character id. */
  embed?: Float32Array;
  /** Index of W_xᵀ [G·H × input] in the matrix list (layers > 0). */
  wx?: number;
  /** Index of U ᵀ [G·H × H]. */
  wh: number;
  bias: Float32Array;
}

export interface StepperWeights {
  cell: CellType;
  hidden: number;
  vocabSize: number;
  layers: LayerWeights[];
  /** Index of the output kernel transposed, [vocab × H]. */
  out: number;
  outB: Float32Array;
  mats: MatVec;
}

const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Rearranges the trained tensors (names from CharRnnNet.tensorNames) for stepping. */
export function stepperWeights(cell: CellType, layers: number, arrays: NamedArray[], make: (m: Matrix[]) => MatVec = matVec): StepperWeights {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const get = (n: string) => {
    const a = byName.get(n);
    if (!a) throw new Error(`weights lack ${n}`);
    return a;
  };
  const G = GATES[cell];
  const outK = get('output/kernel');
  const [H, V] = outK.shape;
  const GH = G * H;
  const mats: Matrix[] = [];
  const add = (m: Matrix) => mats.push(m) - 1;
  const ls: LayerWeights[] = [];
  for (let l = 0; l < layers; l++) {
    const k = get(`layer${l}/kernel`);
    const u = get(`layer${l}/recurrent_kernel`);
    const b = get(`layer${l}/bias`);
    const I = k.shape[0];
    if (k.shape[1] !== GH || u.shape[0] !== H || u.shape[1] !== GH || b.shape[0] !== GH) throw new Error(`layer${l}: shapes do not fit ${cell} with hidden ${H}`);
    if (l === 0 && I !== V) throw new Error(`layer0 input ${I} ≠ vocabulary ${V}`);
    if (l > 0 && I !== H) throw new Error(`layer${l} input ${I} ≠ hidden ${H}`);
    ls.push({
      embed: l === 0 ? Float32Array.from(k.data) : undefined,
      wx: l === 0 ? undefined : add(matrix(GH, I, (r, c) => k.data[c * GH + r])),
      wh: add(matrix(GH, H, (r, c) => u.data[c * GH + r])),
      bias: Float32Array.from(b.data),
    });
  }
  const out = add(matrix(V, H, (r, c) => outK.data[c * V + r]));
  return { cell, hidden: H, vocabSize: V, layers: ls, out, outB: Float32Array.from(get('output/bias').data), mats: make(mats) };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The recurrent state of one sequence and the step function over it. */
export class Stepper {
  private readonly h: Float32Array[];
  private readonly c: Float32Array[];
  private readonly zx: Float32Array;
  private readonly zh: Float32Array;
  readonly logits: Float32Array;

  constructor(readonly w: StepperWeights) {
    const H = w.hidden;
    this.h = w.layers.map(() => new Float32Array(H));
    this.c = w.layers.map(() => new Float32Array(H));
    this.zx = new Float32Array(GATES[w.cell] * H);
    this.zh = new Float32Array(GATES[w.cell] * H);
    this.logits = new Float32Array(w.vocabSize);
  }

  reset(): void {
    for (const a of [...this.h, ...this.c]) a.fill(0);
  }

  /** Feeds character `id`; afterwards `logits` scores the next character. */
  step(id: number): Float32Array {
    const { w, zx, zh } = this;
    const H = w.hidden;
    const GH = GATES[w.cell] * H;
    if (!(Number.isInteger(id) && id >= 0 && id < w.vocabSize)) throw new Error(`id ${id} outside the vocabulary`);
    for (let l = 0; l < w.layers.length; l++) {
      const L = w.layers[l];
      // zx = input projection + bias, zh = recurrent product (kept apart: the GRU candidate needs both).
      if (L.embed) zx.set(L.embed.subarray(id * GH, (id + 1) * GH));
      else w.mats.run(L.wx!, this.h[l - 1], zx);
      for (let j = 0; j < GH; j++) zx[j] += L.bias[j];
      const h = this.h[l];
      w.mats.run(L.wh, h, zh);
      if (w.cell === 'lstm') {
        const c = this.c[l];
        for (let k = 0; k < H; k++) {
          const i = sigmoid(zx[k] + zh[k]);
          const f = sigmoid(zx[H + k] + zh[H + k]);
          const g = Math.tanh(zx[2 * H + k] + zh[2 * H + k]);
          const o = sigmoid(zx[3 * H + k] + zh[3 * H + k]);
          c[k] = f * c[k] + i * g;
          h[k] = o * Math.tanh(c[k]);
        }
      } else if (w.cell === 'gru') {
        // Reset after the recurrent product: n = tanh(x_n + r ⊙ (h·U_n)).
        for (let k = 0; k < H; k++) {
          const z = sigmoid(zx[k] + zh[k]);
          const r = sigmoid(zx[H + k] + zh[H + k]);
          const n = Math.tanh(zx[2 * H + k] + r * zh[2 * H + k]);
          h[k] = (1 - z) * n + z * h[k];
        }
      } else {
        for (let k = 0; k < H; k++) h[k] = Math.tanh(zx[k] + zh[k]);
      }
    }
    w.mats.run(w.out, this.h[w.layers.length - 1], this.logits);
    for (let v = 0; v < w.vocabSize; v++) this.logits[v] += w.outB[v];
    return this.logits;
  }
}
