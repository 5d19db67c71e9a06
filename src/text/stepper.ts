// One-character-at-a-time inference on plain Float32Arrays. For batch 1 a step is a few matrix-vector
// products; doing them in JS avoids tfjs's per-op dispatch and tensor bookkeeping, which at this size
// costs more than the arithmetic. The state lives here, so each new character costs one step and the
// prefix is never recomputed.
import type { NamedArray } from './network.js';
import type { CellType } from '../runtime/rnn/index.js';

interface LayerWeights {
  inputSize: number;
  /** Layer 0 (one-hot input): the kernel rows [vocab][G·H], gathered by character id. */
  embed?: Float32Array;
  /**
   * Transposed, concatenated weights: row j holds the inputs' weights into gate unit j, first the
   * input part (absent for layer 0) then the recurrent part, so each unit is one contiguous dot product.
   */
  wt: Float32Array;
  rowLen: number;
  bias: Float32Array;
}

export interface StepperWeights {
  cell: CellType;
  hidden: number;
  vocabSize: number;
  layers: LayerWeights[];
  /** Output kernel transposed: [vocab][H]. */
  outT: Float32Array;
  outB: Float32Array;
}

const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Rearranges the trained tensors (names from CharRnnNet.tensorNames) for stepping. */
export function stepperWeights(cell: CellType, layers: number, arrays: NamedArray[]): StepperWeights {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const get = (n: string) => {
    const a = byName.get(n);
    if (!a) throw new Error(`weights lack ${n}`);
    return a;
  };
  const G = GATES[cell];
  const out = get('output/kernel');
  const [H, V] = out.shape;
  const ls: LayerWeights[] = [];
  for (let l = 0; l < layers; l++) {
    const k = get(`layer${l}/kernel`);
    const u = get(`layer${l}/recurrent_kernel`);
    const b = get(`layer${l}/bias`);
    const I = k.shape[0];
    const GH = G * H;
    if (k.shape[1] !== GH || u.shape[0] !== H || u.shape[1] !== GH || b.shape[0] !== GH) throw new Error(`layer${l}: shapes do not fit ${cell} with hidden ${H}`);
    const inPart = l === 0 ? 0 : I;
    const rowLen = inPart + H;
    const wt = new Float32Array(GH * rowLen);
    for (let j = 0; j < GH; j++) {
      const r = j * rowLen;
      for (let i = 0; i < inPart; i++) wt[r + i] = k.data[i * GH + j];
      for (let i = 0; i < H; i++) wt[r + inPart + i] = u.data[i * GH + j];
    }
    ls.push({ inputSize: I, embed: l === 0 ? Float32Array.from(k.data) : undefined, wt, rowLen, bias: Float32Array.from(b.data) });
  }
  if (ls[0].inputSize !== V) throw new Error(`layer0 input ${ls[0].inputSize} ≠ vocabulary ${V}`);
  const outT = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let i = 0; i < H; i++) outT[v * H + i] = out.data[i * V + v];
  return { cell, hidden: H, vocabSize: V, layers: ls, outT, outB: Float32Array.from(get('output/bias').data) };
}

// Four accumulators break the add dependency chain, which is what bounds a scalar dot product.
function dot(w: Float32Array, off: number, x: Float32Array, xOff: number, n: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    a0 += w[off + i] * x[xOff + i];
    a1 += w[off + i + 1] * x[xOff + i + 1];
    a2 += w[off + i + 2] * x[xOff + i + 2];
    a3 += w[off + i + 3] * x[xOff + i + 3];
  }
  for (; i < n; i++) a0 += w[off + i] * x[xOff + i];
  return a0 + a1 + a2 + a3;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The recurrent state of one sequence and the step function over it. */
export class Stepper {
  private readonly h: Float32Array[];
  private readonly c: Float32Array[];
  /** Per layer: [input (layers > 0) | h_prev] as one vector, the right operand of every dot. */
  private readonly xin: Float32Array[];
  private readonly z: Float32Array;
  readonly logits: Float32Array;

  constructor(readonly w: StepperWeights) {
    const H = w.hidden;
    this.h = w.layers.map(() => new Float32Array(H));
    this.c = w.layers.map(() => new Float32Array(H));
    this.xin = w.layers.map((l) => new Float32Array(l.rowLen));
    this.z = new Float32Array(GATES[w.cell] * H);
    this.logits = new Float32Array(w.vocabSize);
  }

  reset(): void {
    for (const a of [...this.h, ...this.c]) a.fill(0);
  }

  /** Feeds character `id`; afterwards `logits` scores the next character. */
  step(id: number): Float32Array {
    const { w, z } = this;
    const H = w.hidden;
    const G = GATES[w.cell];
    if (!(id >= 0 && id < w.vocabSize)) throw new Error(`id ${id} outside the vocabulary`);
    for (let l = 0; l < w.layers.length; l++) {
      const L = w.layers[l];
      const xin = this.xin[l];
      const inPart = L.rowLen - H;
      if (l > 0) xin.set(this.h[l - 1], 0);
      xin.set(this.h[l], inPart);
      const GH = G * H;
      const rec = w.cell === 'gru' ? 2 * H : GH; // gru: the candidate's recurrent part is kept apart (reset-after)
      for (let j = 0; j < GH; j++) {
        let s = L.bias[j] + (L.embed ? L.embed[id * GH + j] : 0);
        if (j < rec) s += dot(L.wt, j * L.rowLen, xin, 0, L.rowLen);
        z[j] = s;
      }
      const h = this.h[l];
      if (w.cell === 'lstm') {
        const c = this.c[l];
        for (let k = 0; k < H; k++) {
          const i = sigmoid(z[k]);
          const f = sigmoid(z[H + k]);
          const g = Math.tanh(z[2 * H + k]);
          const o = sigmoid(z[3 * H + k]);
          c[k] = f * c[k] + i * g;
          h[k] = o * Math.tanh(c[k]);
        }
      } else if (w.cell === 'gru') {
        // n = tanh(x_n + r ⊙ (h·U_n)): the input and recurrent parts of the candidate are separate dots.
        for (let k = 0; k < H; k++) {
          const j = 2 * H + k;
          const row = j * L.rowLen;
          const xn = z[j] + (inPart ? dot(L.wt, row, xin, 0, inPart) : 0);
          const hn = dot(L.wt, row + inPart, xin, inPart, H);
          const zz = sigmoid(z[k]);
          const r = sigmoid(z[H + k]);
          const n = Math.tanh(xn + r * hn);
          h[k] = (1 - zz) * n + zz * xin[inPart + k];
        }
      } else {
        for (let k = 0; k < H; k++) h[k] = Math.tanh(z[k]);
      }
    }
    const top = this.h[w.layers.length - 1];
    for (let v = 0; v < w.vocabSize; v++) this.logits[v] = w.outB[v] + dot(w.outT, v * H, top, 0, H);
    return this.logits;
  }
}
