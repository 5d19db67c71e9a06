// The recurrent network: an LSTM, GRU or bidirectional-LSTM encoder whose final hidden state feeds a
// dense layer with one output per forecast step (many-to-one when that is one step, many-to-many
// direct otherwise). An optional linear "highway" from the flattened window to the outputs carries the
// autoregressive part, so the recurrent encoder only has to learn what a linear model cannot.
//
// Two engines build the same architecture: 'layers' (tf.layers, the first models' format, hard-sigmoid
// LSTM gates as tf.layers defaults) and 'fused' (the custom-gradient sequence ops of src/runtime/rnn:
// one kernel per step with a hand-written backward pass, sigmoid gates, GRU with the reset applied after
// the recurrent product). Both expose the weights in the same order: encoder kernel, recurrent kernel,
// bias (forward then backward direction for the BiLSTM), dense kernel and bias, highway kernel and bias.
import { tf } from '../runtime/backend.js';
import { mulberry32 } from '../runtime/random.js';
import { createRecurrentWeights, recurrentLayer, type RecurrentWeights } from '../runtime/rnn/index.js';

export const CELLS = ['lstm', 'gru', 'bilstm'] as const;
export type Cell = (typeof CELLS)[number];
export const ENGINES = ['layers', 'fused'] as const;
export type Engine = (typeof ENGINES)[number];

export interface NetConfig {
  cell: Cell;
  units: number;
  window: number;
  /** Inputs per time step: the value plus any calendar features. */
  features: number;
  /** Values predicted per forward pass. */
  outputs: number;
  highway: boolean;
  /** Absent: 'layers' (models written before the fused engine existed). */
  engine?: Engine;
}

/** What training, prediction and weight I/O need from a network, whichever engine built it. */
export interface ForecastNet {
  /** x [batch, window, features] → [batch, outputs] (changes from the last value, scaled). */
  apply(x: tf.Tensor3D, training: boolean): tf.Tensor2D;
  readonly variables: tf.Variable[];
  getWeights(): tf.Tensor[];
  setWeights(ws: tf.Tensor[]): void;
  dispose(): void;
}

class LayersNet implements ForecastNet {
  constructor(readonly model: tf.LayersModel) {}
  apply(x: tf.Tensor3D, training: boolean): tf.Tensor2D {
    return this.model.apply(x, { training }) as tf.Tensor2D;
  }
  get variables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }
  getWeights(): tf.Tensor[] {
    return this.model.getWeights();
  }
  setWeights(ws: tf.Tensor[]): void {
    this.model.setWeights(ws);
  }
  dispose(): void {
    this.model.dispose();
  }
}

let fusedInstances = 0;

/** The same network on the fused sequence ops: time-major recurrence, final state, dense + highway. */
export class FusedNet implements ForecastNet {
  private readonly encoders: RecurrentWeights[];
  private readonly dense: { w: tf.Variable; b: tf.Variable };
  private readonly linear?: { w: tf.Variable; b: tf.Variable };
  readonly variables: tf.Variable[];

  constructor(
    readonly config: NetConfig,
    seed?: number,
  ) {
    const { cell, units: H, features: F, window: W, outputs: O } = config;
    // tfjs variable names are global to the process; a per-instance prefix lets ensembles coexist.
    const prefix = `forecaster${++fusedInstances}`;
    const rnnCell = cell === 'gru' ? 'gru' : 'lstm';
    const dirs = cell === 'bilstm' ? 2 : 1;
    const s = seed ?? 1;
    this.encoders = Array.from({ length: dirs }, (_, d) => createRecurrentWeights(rnnCell, F, H, { seed: s + 10 * d, name: `${prefix}/encoder${d}` }));
    const lim = Math.sqrt(6 / (dirs * H + O));
    const dw = seed === undefined ? tf.zeros([dirs * H, O]) : tf.randomUniform([dirs * H, O], -lim, lim, 'float32', s + 2);
    this.dense = { w: tf.variable(dw, true, `${prefix}/dense/kernel`), b: tf.variable(tf.zeros([O]), true, `${prefix}/dense/bias`) };
    dw.dispose();
    if (config.highway) {
      // Zero start: training begins at "no change from the last value" and moves from there.
      this.linear = { w: tf.variable(tf.zeros([W * F, O]), true, `${prefix}/highway/kernel`), b: tf.variable(tf.zeros([O]), true, `${prefix}/highway/bias`) };
    }
    this.variables = [
      ...this.encoders.flatMap((e) => [e.kernel, e.recurrentKernel, e.bias] as tf.Variable[]),
      this.dense.w,
      this.dense.b,
      ...(this.linear ? [this.linear.w, this.linear.b] : []),
    ];
  }

  /** Call inside tf.tidy (intermediates are left for it, as the gradient tape may need them). */
  apply(x: tf.Tensor3D, _training: boolean): tf.Tensor2D {
    const [B, W, F] = x.shape;
    const cell = this.config.cell === 'gru' ? 'gru' : 'lstm';
    const xt = tf.transpose(x, [1, 0, 2]) as tf.Tensor3D;
    const finals = this.encoders.map((w, d) => recurrentLayer(cell, d === 0 ? xt : (tf.reverse(xt, 0) as tf.Tensor3D), w).state.h);
    const state = finals.length === 1 ? finals[0] : tf.concat(finals, 1);
    let out = tf.add(tf.matMul(state, this.dense.w), this.dense.b);
    if (this.linear) out = tf.add(out, tf.add(tf.matMul(tf.reshape(x, [B, W * F]), this.linear.w), this.linear.b));
    return out as tf.Tensor2D;
  }

  /** The variables themselves, as LayersModel.getWeights gives them: clone to keep a snapshot. */
  getWeights(): tf.Tensor[] {
    return [...this.variables];
  }

  setWeights(ws: tf.Tensor[]): void {
    if (ws.length !== this.variables.length) throw new Error(`expected ${this.variables.length} weights, got ${ws.length}`);
    this.variables.forEach((v, i) => v.assign(ws[i]));
  }

  dispose(): void {
    this.variables.forEach((v) => v.dispose());
  }
}

/** `seed` undefined: weights are about to be overwritten from disk, so skip the random init. */
export function buildNet(c: NetConfig, seed?: number): ForecastNet {
  if ((c.engine ?? 'layers') === 'fused') return new FusedNet(c, seed);
  return new LayersNet(buildLayersModel(c, seed));
}

function buildLayersModel(c: NetConfig, seed?: number): tf.LayersModel {
  const input = tf.input({ shape: [c.window, c.features] });
  const rnnOpts =
    seed === undefined
      ? { units: c.units, kernelInitializer: 'zeros' as const, recurrentInitializer: 'zeros' as const }
      : { units: c.units, kernelInitializer: tf.initializers.glorotUniform({ seed }), recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }) };
  const encoder =
    c.cell === 'gru'
      ? tf.layers.gru(rnnOpts)
      : c.cell === 'lstm'
        ? tf.layers.lstm(rnnOpts)
        : tf.layers.bidirectional({ layer: tf.layers.lstm(rnnOpts) as unknown as tf.RNN, mergeMode: 'concat' });
  const state = encoder.apply(input) as tf.SymbolicTensor;
  let out = tf.layers
    .dense({ units: c.outputs, kernelInitializer: seed === undefined ? 'zeros' : tf.initializers.glorotUniform({ seed: seed + 2 }) })
    .apply(state) as tf.SymbolicTensor;
  if (c.highway) {
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const linear = tf.layers.dense({ units: c.outputs, kernelInitializer: 'zeros' }).apply(flat) as tf.SymbolicTensor;
    out = tf.layers.add().apply([out, linear]) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: out });
}

export interface WeightSpec {
  shape: number[];
}

/** All weights as one float32 buffer, in getWeights() order, with their shapes. */
export function exportWeights(model: ForecastNet): { specs: WeightSpec[]; data: Float32Array } {
  const ws = model.getWeights();
  const specs = ws.map((w) => ({ shape: w.shape.slice() }));
  const total = ws.reduce((s, w) => s + w.size, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const w of ws) {
    const v = w.dataSync() as Float32Array;
    data.set(v, o);
    o += v.length;
  }
  return { specs, data };
}

export function importWeights(model: ForecastNet, specs: readonly WeightSpec[], data: Float32Array): void {
  const current = model.getWeights();
  if (current.length !== specs.length) throw new Error(`weight count ${specs.length} does not match the network (${current.length})`);
  let o = 0;
  const tensors = specs.map((s, i) => {
    const want = current[i].shape;
    if (want.length !== s.shape.length || want.some((d, k) => d !== s.shape[k])) {
      throw new Error(`weight ${i} has shape [${s.shape}] but the network expects [${want}]`);
    }
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (o + size > data.length) throw new Error('weight file is shorter than the manifest says');
    const t = tf.tensor(data.subarray(o, o + size), s.shape);
    o += size;
    return t;
  });
  if (o !== data.length) throw new Error(`weight file has ${data.length - o} values more than the manifest says`);
  model.setWeights(tensors);
  tensors.forEach((t) => t.dispose());
}

/** Forward pass over m windows in batches; returns m × outputs. */
export function predictNet(model: ForecastNet, x: Float32Array, m: number, c: NetConfig, batch = 512): Float32Array {
  const out = new Float32Array(m * c.outputs);
  const per = c.window * c.features;
  for (let b = 0; b < m; b += batch) {
    const k = Math.min(batch, m - b);
    const y = tf.tidy(() => {
      const xt = tf.tensor3d(x.subarray(b * per, (b + k) * per), [k, c.window, c.features]);
      return model.apply(xt, false);
    });
    out.set(y.dataSync() as Float32Array, b * c.outputs);
    y.dispose();
  }
  return out;
}

export interface TrainOptions {
  epochs: number;
  batch: number;
  learningRate: number;
  /** Global-norm gradient clipping threshold. */
  clipNorm: number;
  /** Epochs without a validation improvement before stopping. */
  patience: number;
  seed: number;
  onEpoch?: (e: { epoch: number; trainLoss: number; valLoss: number; best: boolean; seconds: number }) => void;
}

export interface TrainData {
  x: Float32Array;
  y: Float32Array;
  n: number;
  xVal: Float32Array;
  yVal: Float32Array;
  nVal: number;
}


function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/**
 * Adam with global-norm clipping, early stopping on the validation loss, and the best epoch's
 * weights restored at the end. Returns the best validation loss and the epoch it came from.
 */
export async function trainNet(model: ForecastNet, c: NetConfig, d: TrainData, o: TrainOptions): Promise<{ bestEpoch: number; bestValLoss: number; epochs: number }> {
  const rand = mulberry32(o.seed);
  const optimizer = tf.train.adam(o.learningRate);
  const vars = model.variables;
  const per = c.window * c.features;
  const order = Array.from({ length: d.n }, (_, i) => i);
  let best = Infinity;
  let bestEpoch = -1;
  let bestWeights: tf.Tensor[] | undefined;
  let epoch = 0;
  for (; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    for (let b = 0; b < d.n; b += o.batch) {
      const idx = order.slice(b, b + o.batch);
      const xb = new Float32Array(idx.length * per);
      const yb = new Float32Array(idx.length * c.outputs);
      idx.forEach((r, k) => {
        xb.set(d.x.subarray(r * per, (r + 1) * per), k * per);
        yb.set(d.y.subarray(r * c.outputs, (r + 1) * c.outputs), k * c.outputs);
      });
      const loss = tf.tidy(() => {
        const xt = tf.tensor3d(xb, [idx.length, c.window, c.features]);
        const yt = tf.tensor2d(yb, [idx.length, c.outputs]);
        const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(yt, model.apply(xt, true)) as tf.Scalar, vars);
        const names = Object.keys(grads);
        const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
        const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(o.clipNorm), tf.maximum(norm, tf.scalar(1e-12))));
        optimizer.applyGradients(names.map((name) => ({ name, tensor: tf.mul(grads[name], factor) })));
        return value;
      });
      lossSum += (await loss.data())[0] * idx.length;
      loss.dispose();
    }
    // No validation data (a refit on everything before the test period): the last epoch is kept.
    const valLoss = d.nVal > 0 ? mse(predictNet(model, d.xVal, d.nVal, c), d.yVal) : NaN;
    if (d.nVal === 0) {
      o.onEpoch?.({ epoch, trainLoss: lossSum / d.n, valLoss, best: false, seconds: (performance.now() - t0) / 1000 });
      continue;
    }
    const improved = valLoss < best - 1e-6;
    if (improved) {
      best = valLoss;
      bestEpoch = epoch;
      bestWeights?.forEach((w) => w.dispose());
      bestWeights = model.getWeights().map((w) => w.clone());
    }
    o.onEpoch?.({ epoch, trainLoss: lossSum / d.n, valLoss, best: improved, seconds: (performance.now() - t0) / 1000 });
    if (epoch - bestEpoch >= o.patience) {
      epoch++;
      break;
    }
  }
  if (bestWeights) {
    model.setWeights(bestWeights);
    bestWeights.forEach((w) => w.dispose());
  }
  optimizer.dispose();
  return { bestEpoch, bestValLoss: best, epochs: epoch };
}
