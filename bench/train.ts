// Training-speed benchmark (issue 4): the reference conv net and the char LSTMs, on whatever
// backend initBackend picks (KESTREL_BACKEND forces one).
//
//   npm run bench:train                      table
//   npm run bench:train -- --json            {"backend","conv":{...},"lstm1x256":{...},"lstm2x256":{...}}
//   options: --steps N (timed steps, default 5), --warmup N (default 1), --only conv|lstm1|lstm2,
//            --lstm fused|layers (fused: src/runtime/rnn; layers: tf.layers.lstm, the baseline),
//            --clock wall|cpu (which clock the JSON reports; default wall)
//
// The table shows both clocks. tfjs-wasm runs on the main thread, so on an idle machine process
// CPU time ≈ wall time; on a shared, overloaded machine wall time mostly measures the queue for
// a core, and CPU time (process.cpuUsage, all threads) is the steadier estimate of the work.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { tf, initBackend, type BackendChoice } from '../src/runtime/backend.js';

const { values: opts } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', multiple: true },
    lstm: { type: 'string', default: 'fused' },
    clock: { type: 'string', default: 'wall' },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('usage: npm run bench:train -- [--json] [--steps N] [--warmup N] [--only conv|lstm1|lstm2] [--lstm fused|layers]');
  process.exit(0);
}
const STEPS = Number(opts.steps);
const WARMUP = Number(opts.warmup);
const only = new Set(opts.only ?? ['conv', 'lstm1', 'lstm2']);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Timing {
  wall: number;
  cpu: number;
}

const clocks: Record<string, Timing> = {};

function measure(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

function record(label: string, ts: Timing[]): void {
  clocks[label] = { wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) };
}

/** The figure --clock selects. */
function pick(label: string): number {
  return opts.clock === 'cpu' ? clocks[label].cpu : clocks[label].wall;
}

/** Median over step pairs of train/inference time (conv). */
const pairRatios: Timing = { wall: NaN, cpu: NaN };

/**
 * Median wall and CPU time (ms) of `fn` after warm-up, recorded under `label`; returns the one
 * --clock selects. `fn` must block until its results are computed.
 */
function timeIt(label: string, fn: () => void, steps = STEPS, warmup = WARMUP): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: Timing[] = [];
  for (let i = 0; i < steps; i++) ts.push(measure(fn));
  record(label, ts);
  return pick(label);
}

function fmt(label: string): string {
  const t = clocks[label];
  return `${t.wall.toFixed(1)} ms wall, ${t.cpu.toFixed(1)} ms cpu`;
}

function log(msg: string): void {
  if (!opts.json) console.error(msg);
}

// ---- conv: 4 × [3×3 conv, ReLU, 2×2 max-pool] 16/32/64/128, 1×1 conv head, MSE, Adam ----
const CONV_BATCH = 16;
const CONV_SIZE = 128;
const HEAD_CHANNELS = 8;

function convNet(): tf.Sequential {
  const model = tf.sequential();
  [16, 32, 64, 128].forEach((filters, i) => {
    model.add(
      tf.layers.conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        ...(i === 0 ? { inputShape: [CONV_SIZE, CONV_SIZE, 3] } : {}),
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  });
  model.add(tf.layers.conv2d({ filters: HEAD_CHANNELS, kernelSize: 1 }));
  return model;
}

function benchConv(): { inferMs: number; trainStepMs: number } {
  const model = convNet();
  const x = tf.randomUniform([CONV_BATCH, CONV_SIZE, CONV_SIZE, 3]);
  const out = CONV_SIZE / 16;
  const y = tf.randomNormal([CONV_BATCH, out, out, HEAD_CHANNELS]);
  const opt = tf.train.adam(1e-3);
  const infer = () => {
    const p = model.predict(x) as tf.Tensor;
    p.dataSync();
    p.dispose();
  };
  const train = () => {
    const loss = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor), true);
    loss?.dataSync();
    loss?.dispose();
  };
  // Inference and training steps alternate, so both medians (and each step pair's ratio) see
  // the same background load.
  for (let i = 0; i < WARMUP; i++) {
    infer();
    train();
  }
  const inf: Timing[] = [];
  const trn: Timing[] = [];
  for (let i = 0; i < STEPS; i++) {
    inf.push(measure(infer));
    trn.push(measure(train));
  }
  record('conv inference', inf);
  record('conv train step', trn);
  pairRatios.wall = median(trn.map((t, i) => t.wall / inf[i].wall));
  pairRatios.cpu = median(trn.map((t, i) => t.cpu / inf[i].cpu));
  const inferMs = pick('conv inference');
  const trainStepMs = pick('conv train step');
  log(`conv inference: ${fmt('conv inference')}`);
  log(`conv train step: ${fmt('conv train step')}`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return { inferMs, trainStepMs };
}

// ---- char LSTM: vocab 65, batch 32, sequence 64, hidden 256 ----
const VOCAB = 65;
const LSTM_BATCH = 32;
const SEQ = 64;
const HIDDEN = 256;

interface CharModel {
  step(ids: tf.Tensor2D, targets: tf.Tensor2D): void;
  dispose(): void;
}

function layersCharModel(layers: number): CharModel {
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 64, inputLength: SEQ }));
  for (let i = 0; i < layers; i++) model.add(tf.layers.lstm({ units: HIDDEN, returnSequences: true }));
  model.add(tf.layers.dense({ units: VOCAB }));
  const opt = tf.train.adam(2e-3);
  return {
    step(ids, targets) {
      const loss = opt.minimize(() => {
        const logits = model.apply(ids, { training: true }) as tf.Tensor3D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(targets, VOCAB), logits);
      }, true);
      loss?.dataSync();
      loss?.dispose();
    },
    dispose() {
      opt.dispose();
      model.dispose();
    },
  };
}

async function charModel(layers: number): Promise<CharModel> {
  if (opts.lstm === 'layers') return layersCharModel(layers);
  if (opts.lstm === 'fused') {
    const { fusedCharModel } = await import('./train-fused.js');
    return fusedCharModel({ layers, vocab: VOCAB, hidden: HIDDEN });
  }
  throw new Error(`--lstm must be fused or layers, got ${opts.lstm}`);
}

async function benchLstm(layers: number): Promise<{ tokensPerSec: number }> {
  const model = await charModel(layers);
  const ids = tf.randomUniform([LSTM_BATCH, SEQ], 0, VOCAB, 'int32') as tf.Tensor2D;
  const targets = tf.randomUniform([LSTM_BATCH, SEQ], 0, VOCAB, 'int32') as tf.Tensor2D;
  const label = `lstm ${layers}x${HIDDEN}`;
  const ms = timeIt(label, () => model.step(ids, targets));
  const tokensPerSec = (LSTM_BATCH * SEQ) / (ms / 1000);
  log(`${label} (${opts.lstm}): ${fmt(label)} per step`);
  tf.dispose([ids, targets]);
  model.dispose();
  return { tokensPerSec };
}

const info = await initBackend((process.env.KESTREL_BACKEND ?? 'auto') as BackendChoice);
log(`backend: ${info.name}; steps ${STEPS} after ${WARMUP} warm-up; lstm impl: ${opts.lstm}`);
const nan = Number.NaN;
const result = {
  backend: info.name,
  conv: only.has('conv') ? benchConv() : { inferMs: nan, trainStepMs: nan },
  lstm1x256: only.has('lstm1') ? await benchLstm(1) : { tokensPerSec: nan },
  lstm2x256: only.has('lstm2') ? await benchLstm(2) : { tokensPerSec: nan },
};

if (opts.json) {
  console.log(JSON.stringify(result));
} else {
  const tok = (label: string, k: keyof Timing) => (clocks[label] ? (LSTM_BATCH * SEQ) / (clocks[label][k] / 1000) : NaN);
  const ms = (label: string, k: keyof Timing) => clocks[label]?.[k] ?? NaN;
  const ratio = (k: keyof Timing) => pairRatios[k];
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  const rows: string[][] = [
    ['', 'wall clock', 'cpu time', 'goal'],
    ['conv inference 16×128×128×3', `${ms('conv inference', 'wall').toFixed(1)} ms`, `${ms('conv inference', 'cpu').toFixed(1)} ms`, ''],
    ['conv train step', `${ms('conv train step', 'wall').toFixed(1)} ms`, `${ms('conv train step', 'cpu').toFixed(1)} ms`, ''],
    ['conv train / inference*', `${ratio('wall').toFixed(2)}×`, `${ratio('cpu').toFixed(2)}×`, `≤ 5×: ${verdict(ratio('wall') <= 5)} (wall)`],
    ['lstm 1×256', `${tok('lstm 1x256', 'wall').toFixed(0)} tok/s`, `${tok('lstm 1x256', 'cpu').toFixed(0)} tok/s`, `≥ 5000: ${verdict(tok('lstm 1x256', 'wall') >= 5000)} (wall)`],
    ['lstm 2×256', `${tok('lstm 2x256', 'wall').toFixed(0)} tok/s`, `${tok('lstm 2x256', 'cpu').toFixed(0)} tok/s`, `≥ 2500: ${verdict(tok('lstm 2x256', 'wall') >= 2500)} (wall)`],
  ];
  console.log(`backend ${result.backend}; medians of ${STEPS} steps after ${WARMUP} warm-up; lstm ${opts.lstm}; wasm kernels ${process.env.KESTREL_WASM_KERNELS ?? 'all'}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const row of rows) console.log(row.map((c, i) => c.padEnd([30, 16, 16, 24][i])).join(''));
  console.log('* median over alternating (inference, train step) pairs of their ratio');
}
