// The trainable char-RNN in tfjs: stacked recurrent layers over one-hot characters (the fused sequence
// ops of src/runtime/rnn) and a dense softmax read-out. Used for training and batched evaluation;
// serving steps a plain-Float32Array copy of the same weights (stepper.ts), and sampling.ts draws from its logits.
import { tf } from '../runtime/backend.js';
import { createRecurrentWeights, stackedRecurrent, type CellType, type RecurrentState, type RecurrentWeights } from '../runtime/rnn/index.js';

export const CELLS = ['lstm', 'gru', 'rnn'] as const satisfies readonly CellType[];

export interface NetConfig {
  cell: CellType;
  layers: number;
  hidden: number;
  vocabSize: number;
  /** Dropout rate on each layer's output during training (0 = none). */
  dropout: number;
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

let instances = 0;

export class CharRnnNet {
  readonly layers: RecurrentWeights[];
  readonly outW: tf.Variable;
  readonly outB: tf.Variable;

  constructor(
    readonly config: NetConfig,
    seed = 1,
  ) {
    const { cell, layers, hidden, vocabSize } = config;
    if (!Number.isInteger(layers) || layers < 1) throw new Error('layers must be ≥ 1');
    if (!Number.isInteger(hidden) || hidden < 1) throw new Error('hidden must be ≥ 1');
    if (!(config.dropout >= 0 && config.dropout < 1)) throw new Error('dropout must be in [0, 1)');
    // tfjs variable names are global to the process; a per-instance prefix lets several nets coexist.
    const prefix = `charrnn${++instances}`;
    this.layers = Array.from({ length: layers }, (_, l) =>
      createRecurrentWeights(cell, l === 0 ? vocabSize : hidden, hidden, { seed: seed * 101 + 10 * l, name: `${prefix}/layer${l}` }),
    );
    const lim = Math.sqrt(6 / (hidden + vocabSize));
    this.outW = tf.variable(tf.randomUniform([hidden, vocabSize], -lim, lim, 'float32', seed * 101 + 7), true, `${prefix}/output/kernel`);
    this.outB = tf.variable(tf.zeros([vocabSize]), true, `${prefix}/output/bias`);
  }

  /** Trainable variables in a fixed order (the order of weights.bin and of the optimizer state). */
  variables(): tf.Variable[] {
    return [...this.layers.flatMap((l) => [l.kernel, l.recurrentKernel, l.bias] as tf.Variable[]), this.outW, this.outB];
  }

  static tensorNames(layers: number): string[] {
    const names: string[] = [];
    for (let l = 0; l < layers; l++) names.push(`layer${l}/kernel`, `layer${l}/recurrent_kernel`, `layer${l}/bias`);
    names.push('output/kernel', 'output/bias');
    return names;
  }

  /**
   * Logits [T·B, vocab] for time-major ids [T, B], starting from `init` (per layer; zeros when absent).
   * Also returns each layer's final state, to carry into the next chunk.
   */
  forward(ids: tf.Tensor2D, init: (RecurrentState | undefined)[] | undefined, training: boolean): { logits: tf.Tensor2D; states: RecurrentState[] } {
    const drop = training && this.config.dropout > 0 ? this.config.dropout : 0;
    const [T, B] = ids.shape;
    const H = this.config.hidden;
    let states: RecurrentState[];
    let y: tf.Tensor3D;
    if (drop === 0) {
      const out = stackedRecurrent(this.config.cell, ids, this.layers, init);
      states = out.states;
      y = out.y;
    } else {
      // Layer by layer so dropout sits between layers (never on the recurrent connection).
      states = [];
      let x: tf.Tensor = ids;
      this.layers.forEach((w, l) => {
        const out = stackedRecurrent(this.config.cell, x as tf.Tensor2D | tf.Tensor3D, [w], [init?.[l]]);
        states.push(out.states[0]);
        x = tf.dropout(out.y, drop) as tf.Tensor3D;
      });
      y = x as tf.Tensor3D;
    }
    const logits = tf.fused.matMul({ a: tf.reshape(y, [T * B, H]) as tf.Tensor2D, b: this.outW as tf.Tensor2D, bias: this.outB }) as tf.Tensor2D;
    return { logits, states };
  }

  /** Mean cross-entropy in nats of logits [N, V] against int targets [N]. */
  static crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => {
      const V = logits.shape[1];
      const logp = tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(targets, V)), 1))) as tf.Scalar;
    });
  }

  async toArrays(): Promise<NamedArray[]> {
    const names = CharRnnNet.tensorNames(this.config.layers);
    const vars = this.variables();
    const out: NamedArray[] = [];
    for (let i = 0; i < vars.length; i++) out.push({ name: names[i], shape: vars[i].shape.slice(), data: (await vars[i].data()) as Float32Array });
    return out;
  }

  /** Overwrites the weights with saved arrays (names and shapes must match). */
  assign(arrays: NamedArray[]): void {
    const names = CharRnnNet.tensorNames(this.config.layers);
    const vars = this.variables();
    if (arrays.length !== vars.length) throw new Error(`expected ${vars.length} weight tensors, got ${arrays.length}`);
    arrays.forEach((a, i) => {
      if (a.name !== names[i]) throw new Error(`weight ${i} is ${a.name}, expected ${names[i]}`);
      const want = vars[i].shape;
      if (a.shape.length !== want.length || a.shape.some((d, k) => d !== want[k])) throw new Error(`${a.name}: shape [${a.shape}] but the model needs [${want}]`);
      tf.tidy(() => vars[i].assign(tf.tensor(a.data, want)));
    });
  }

  paramCount(): number {
    return this.variables().reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    tf.dispose(this.variables());
  }
}

/** Parameter count of a configuration without building it (for equal-size comparisons). */
export function paramCount(cell: CellType, layers: number, hidden: number, vocabSize: number): number {
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  let n = 0;
  for (let l = 0; l < layers; l++) {
    const inp = l === 0 ? vocabSize : hidden;
    n += inp * G * hidden + hidden * G * hidden + G * hidden;
  }
  return n + hidden * vocabSize + vocabSize;
}
