// The recurrent network: an LSTM, GRU or bidirectional-LSTM encoder whose final hidden state feeds a
// dense layer with one output per forecast step (many-to-one when that is one step, many-to-many
// direct otherwise). An optional linear "highway" from the flattened window to the outputs carries the
// autoregressive part, so the recurrent encoder only has to learn what a linear model cannot.
import { tf } from '../runtime/backend.js';
import { mulberry32 } from '../runtime/random.js';

export const CELLS = ['lstm', 'gru', 'bilstm'] as const;
export type Cell = (typeof CELLS)[number];

export interface NetConfig {
  cell: Cell;
  units: number;
  window: number;
  /** Inputs per time step: the value plus any calendar features. */
  features: number;
  /** Values predicted per forward pass. */
  outputs: number;
  highway: boolean;
}

/** `seed` undefined: weights are about to be overwritten from disk, so skip the (QR-based) random init. */
export function buildNet(c: NetConfig, seed?: number): tf.LayersModel {
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
    // Zero start: training begins at "no change from the last value" and moves from there.
    const linear = tf.layers.dense({ units: c.outputs, kernelInitializer: 'zeros' }).apply(flat) as tf.SymbolicTensor;
    out = tf.layers.add().apply([out, linear]) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: out });
}

export interface WeightSpec {
  shape: number[];
}

/** All weights as one float32 buffer, in getWeights() order, with their shapes. */
export function exportWeights(model: tf.LayersModel): { specs: WeightSpec[]; data: Float32Array } {
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

export function importWeights(model: tf.LayersModel, specs: readonly WeightSpec[], data: Float32Array): void {
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
export function predictNet(model: tf.LayersModel, x: Float32Array, m: number, c: NetConfig, batch = 512): Float32Array {
  const out = new Float32Array(m * c.outputs);
  const per = c.window * c.features;
  for (let b = 0; b < m; b += batch) {
    const k = Math.min(batch, m - b);
    const y = tf.tidy(() => {
      const xt = tf.tensor3d(x.subarray(b * per, (b + k) * per), [k, c.window, c.features]);
      return model.predict(xt) as tf.Tensor;
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
export async function trainNet(model: tf.LayersModel, c: NetConfig, d: TrainData, o: TrainOptions): Promise<{ bestEpoch: number; bestValLoss: number; epochs: number }> {
  const rand = mulberry32(o.seed);
  const optimizer = tf.train.adam(o.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
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
        const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(yt, model.apply(xt, { training: true }) as tf.Tensor) as tf.Scalar, vars);
        const names = Object.keys(grads);
        const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
        const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(o.clipNorm), tf.maximum(norm, tf.scalar(1e-12))));
        optimizer.applyGradients(names.map((name) => ({ name, tensor: tf.mul(grads[name], factor) })));
        return value;
      });
      lossSum += (await loss.data())[0] * idx.length;
      loss.dispose();
    }
    const valLoss = mse(predictNet(model, d.xVal, d.nVal, c), d.yVal);
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
