// Sampling speed of a 2×256 LSTM char-RNN (issue 7; goal ≥ 2,000 characters/s), batch 1, one character
// per step with the state carried (no prefix recomputation). Compares the served Float32Array stepper
// with the same step done as tfjs ops on the active backend, in the same run.
//
//   npm run bench:sample                 table
//   npm run bench:sample -- --json       {"backend","matvec","jsCharsPerSec","plainJsCharsPerSec","tfjsCharsPerSec","ratio",...}
//   options: --chars N (default 2000), --tfjs-chars N (default 200), --layers N, --hidden N, --reps N
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../src/runtime/backend.js';
import { manifestSchema } from '../src/runtime/manifest.js';
import { KestrelCharRnn } from '../src/text/char-rnn-model.js';
import { CharRnnNet } from '../src/text/network.js';
import { stepperWeights } from '../src/text/stepper.js';
import { jsMatVec } from '../src/text/matvec.js';
import type { RecurrentState } from '../src/runtime/rnn/index.js';

const { values: o } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    chars: { type: 'string', default: '2000' },
    'tfjs-chars': { type: 'string', default: '200' },
    layers: { type: 'string', default: '2' },
    hidden: { type: 'string', default: '256' },
    reps: { type: 'string', default: '5' },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  console.log('usage: npm run bench:sample -- [--json] [--chars N] [--tfjs-chars N] [--layers N] [--hidden N] [--reps N]');
  process.exit(0);
}
const CHARS = Number(o.chars);
const TF_CHARS = Number(o['tfjs-chars']);
const LAYERS = Number(o.layers);
const HIDDEN = Number(o.hidden);
const REPS = Number(o.reps);
const VOCAB = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"; // tinyshakespeare's 65

const info = await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
const net = new CharRnnNet({ cell: 'lstm', layers: LAYERS, hidden: HIDDEN, vocabSize: VOCAB.length, dropout: 0 }, 1);
const manifest = manifestSchema.parse({ name: 'bench', kind: 'char-rnn', version: '1', files: ['weights.bin'], input: { vocabulary: VOCAB } });
const arrays = await net.toArrays();
const model = new KestrelCharRnn(manifest, VOCAB, stepperWeights('lstm', LAYERS, arrays));
const plainModel = new KestrelCharRnn(manifest, VOCAB, stepperWeights('lstm', LAYERS, arrays, jsMatVec));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The served path: generate() with temperature sampling, top-k and a seed, yields included.
await model.generate({ prompt: 'ROMEO:', length: 200, temperature: 0.8, seed: 1 }); // warm-up (JIT)
const jsRates: number[] = [];
for (let r = 0; r < REPS; r++) {
  const t0 = performance.now();
  await model.generate({ prompt: 'ROMEO:', length: CHARS, temperature: 0.8, topK: 20, seed: r });
  jsRates.push(CHARS / ((performance.now() - t0) / 1000));
}

// The same stepper with plain-JS dot products (the fallback where WebAssembly SIMD is missing).
await plainModel.generate({ prompt: 'ROMEO:', length: 100, temperature: 0.8, seed: 1 });
const plainRates: number[] = [];
for (let r = 0; r < Math.max(1, Math.min(REPS, 3)); r++) {
  const n = Math.ceil(CHARS / 4);
  const t0 = performance.now();
  await plainModel.generate({ prompt: 'ROMEO:', length: n, temperature: 0.8, topK: 20, seed: r });
  plainRates.push(n / ((performance.now() - t0) / 1000));
}

// The same per-character step in tfjs ops: one [1, 1] forward per character with the state carried.
function tfjsRun(n: number): number {
  let state: RecurrentState[] | undefined;
  let id = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const out = tf.tidy(() => {
      const { logits, states } = net.forward(tf.tensor2d([id], [1, 1], 'int32'), state, false);
      const p = tf.softmax(tf.div(logits, 0.8)).dataSync();
      return { p, keep: states.map((s) => ({ h: tf.keep(s.h), c: s.c ? tf.keep(s.c) : undefined })) };
    });
    if (state) tf.dispose(state.flatMap((s) => [s.h, ...(s.c ? [s.c] : [])]));
    state = out.keep as RecurrentState[];
    id = out.p.indexOf(Math.max(...out.p));
  }
  const rate = n / ((performance.now() - t0) / 1000);
  if (state) tf.dispose(state.flatMap((s) => [s.h, ...(s.c ? [s.c] : [])]));
  return rate;
}
tfjsRun(20);
const tfRates: number[] = [];
for (let r = 0; r < Math.max(1, Math.min(REPS, 3)); r++) tfRates.push(tfjsRun(TF_CHARS));
net.dispose();

const js = median(jsRates);
const tfr = median(tfRates);
const plain = median(plainRates);
const result = { backend: info.name, model: `lstm ${LAYERS}x${HIDDEN}`, matvec: model['newStepper']().w.mats.kind, jsCharsPerSec: Math.round(js), plainJsCharsPerSec: Math.round(plain), tfjsCharsPerSec: Math.round(tfr), ratio: +(js / tfr).toFixed(2), goal: 2000, goalMet: js >= 2000 };
if (o.json) console.log(JSON.stringify(result));
else {
  console.log(`backend ${info.name}; ${LAYERS}×${HIDDEN} LSTM, vocabulary ${VOCAB.length}, batch 1; medians of ${REPS} runs`);
  console.log(`  served stepper (${result.matvec} gemv, generate())  ${result.jsCharsPerSec} chars/s   ${js >= 2000 ? 'goal ≥ 2000 met' : 'goal ≥ 2000 NOT met'}`);
  console.log(`  same stepper, plain-JS dot products           ${result.plainJsCharsPerSec} chars/s`);
  console.log(`  tfjs ops per character                        ${result.tfjsCharsPerSec} chars/s`);
  console.log(`  ratio served stepper / tfjs                   ${result.ratio}×`);
}
