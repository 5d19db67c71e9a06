// The char-RNN training loop: stateful truncated BPTT over contiguous streams, global-norm gradient
// clipping, Adam or Adagrad, periodic validation and checkpoints (model folder + optimizer state).
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../runtime/atomic-write.js';
import { tf } from '../runtime/backend.js';
import type { CellType, RecurrentState } from '../runtime/rnn/index.js';
import { StreamBatcher, splitCorpus } from './corpus.js';
import { CharRnnNet, type NamedArray, type NetConfig } from './network.js';
import { Vocabulary, unigramEntropyNats } from './vocab.js';
import { readModel, saveModel, packArrays, unpackArrays } from './weights-io.js';

export const LN2 = Math.LN2;

export interface TrainOptions {
  corpus: string;
  outDir: string;
  name: string;
  cell: CellType;
  layers: number;
  hidden: number;
  dropout: number;
  seq: number;
  batch: number;
  /** Stop after this many optimizer steps (total, counting resumed ones) ... */
  steps?: number;
  /** ... or after this much training wall-clock time (this run). */
  minutes?: number;
  lr: number;
  optimizer: 'adam' | 'adagrad';
  clip: number;
  seed: number;
  resume: boolean;
  /** Seconds between validation passes on a slice of the validation text. */
  evalEverySec: number;
  /** Characters of the validation text used for the periodic estimate (the final pass uses all). */
  evalChars: number;
  checkpointEverySec: number;
  /** Fraction of the corpus kept for validation (its end). */
  valFraction: number;
  /** Final learning rate as a fraction of lr, reached by linear decay over the budget. */
  lrFinal: number;
  command?: string;
  log?: (line: string) => void;
  /** Samples written into metrics.json at the end. */
  samples?: number;
  /** Final validation on only the first N validation characters (quick experiments); all when absent. */
  valLimit?: number;
}

export interface TrainResult {
  steps: number;
  seconds: number;
  trainLossNats: number;
  valLossNats: number;
  bitsPerChar: number;
  charsSeen: number;
  params: number;
}

type State = RecurrentState[] | undefined;

function disposeState(s: State): void {
  if (s) for (const x of s) tf.dispose([x.h, ...(x.c ? [x.c] : [])]);
}

/** Mean cross-entropy (nats/char) of `net` over `ids`, as `streams` parallel stateful streams. */
export function evaluate(net: CharRnnNet, ids: Int32Array, streams = 16, seq = 128): number {
  const b = new StreamBatcher(ids, Math.max(1, Math.min(streams, Math.floor((ids.length - 1) / 2))), Math.min(seq, Math.max(1, Math.floor(ids.length / streams) - 1)));
  let state: State;
  let total = 0;
  for (let k = 0; k < b.chunks; k++) {
    const { inputs, targets } = b.chunk(k);
    const next = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [b.seq, b.batch], 'int32');
      const { logits, states } = net.forward(x, state, false);
      const loss = CharRnnNet.crossEntropy(logits, tf.tensor1d(targets, 'int32'));
      total += loss.dataSync()[0];
      return states.flatMap((s) => (s.c ? [s.h, s.c] : [s.h]));
    });
    disposeState(state);
    state = regroup(next, net.config.cell === 'lstm');
  }
  disposeState(state);
  return total / b.chunks;
}

function regroup(flat: tf.Tensor[], lstm: boolean): RecurrentState[] {
  const out: RecurrentState[] = [];
  for (let i = 0; i < flat.length; i += lstm ? 2 : 1) out.push(lstm ? { h: flat[i] as tf.Tensor2D, c: flat[i + 1] as tf.Tensor2D } : { h: flat[i] as tf.Tensor2D });
  return out;
}

/** Global-norm clipping: one scale for all gradients, so the update keeps its direction. */
export function clipByGlobalNorm<T extends Record<string, tf.Tensor>>(grads: T, maxNorm: number): { grads: T; norm: number } {
  const names = Object.keys(grads);
  const norm = Math.sqrt(tf.tidy(() => tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))).dataSync()[0]));
  if (!(norm > maxNorm)) return { grads, norm };
  const scaled: Record<string, tf.Tensor> = {};
  for (const n of names) scaled[n] = tf.mul(grads[n], maxNorm / norm);
  return { grads: scaled as T, norm };
}

function makeOptimizer(kind: 'adam' | 'adagrad', lr: number): tf.Optimizer {
  return kind === 'adam' ? tf.train.adam(lr) : tf.train.adagrad(lr);
}

// tfjs optimizers read learningRate on every applyGradients; it is just not public in the typings.
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/** Temperature sampling from the tfjs net (used for the training log; serving uses stepper.ts and sampling.ts). */
export function sampleFromNet(net: CharRnnNet, vocab: Vocabulary, prime: string, length: number, temperature: number, seed: number): string {
  let rng = seed >>> 0 || 1;
  const rand = () => {
    rng ^= rng << 13;
    rng >>>= 0;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    rng >>>= 0;
    return rng / 4294967296;
  };
  const dec = vocab.decoder();
  let state: State;
  let out = '';
  // Like the served model, text starts after a newline (or the first vocabulary character).
  let ids = [vocab.has('\n') ? vocab.idOf('\n') : 0, ...vocab.encode(prime)];
  for (let i = 0; i < length; i++) {
    const step = tf.tidy(() => {
      const x = tf.tensor2d(Int32Array.from(ids), [ids.length, 1], 'int32');
      const { logits, states } = net.forward(x, state, false);
      const last = tf.slice(logits, [ids.length - 1, 0], [1, -1]);
      const p = tf.softmax(tf.div(last, Math.max(temperature, 1e-3)));
      return { p: p.dataSync() as Float32Array, flat: states.flatMap((s) => (s.c ? [s.h, s.c] : [s.h])).map((t) => tf.keep(t)) };
    });
    disposeState(state);
    state = regroup(step.flat, net.config.cell === 'lstm');
    let r = rand();
    let id = step.p.length - 1;
    for (let k = 0; k < step.p.length; k++) {
      r -= step.p[k];
      if (r <= 0) {
        id = k;
        break;
      }
    }
    out += dec(id);
    ids = [id];
  }
  disposeState(state);
  return out;
}

interface TrainState {
  step: number;
  seconds: number;
  chunk: number;
  charsSeen: number;
  lastTrainLoss: number;
  config: NetConfig & { seq: number; batch: number; lr: number; optimizer: string; clip: number; seed: number };
}

async function saveOptimizer(opt: tf.Optimizer, dir: string): Promise<void> {
  const weights = await opt.getWeights();
  const arrays = [];
  for (const w of weights) arrays.push({ name: w.name, shape: w.tensor.shape.slice(), data: Float32Array.from(await w.tensor.data()) });
  const meta = arrays.map((a) => ({ name: a.name, shape: a.shape }));
  await writeFileAtomic(join(dir, 'optimizer.bin'), packArrays(arrays));
  await writeFile(join(dir, 'optimizer.json'), JSON.stringify(meta) + '\n');
}

async function loadOptimizer(opt: tf.Optimizer, dir: string): Promise<boolean> {
  if (!existsSync(join(dir, 'optimizer.json'))) return false;
  const meta = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8')) as { name: string; shape: number[] }[];
  const arrays = unpackArrays(await readFile(join(dir, 'optimizer.bin')), meta);
  await opt.setWeights(arrays.map((a) => ({ name: a.name, tensor: tf.tensor(a.data, a.shape.length ? a.shape : []) })));
  return true;
}

/** Vocabulary, network shape and weights to start from: the corpus and options, or the checkpoint (--resume). */
async function startingPoint(o: TrainOptions, text: string): Promise<{ vocab: Vocabulary; netConfig: NetConfig; resumed?: TrainState; resumedArrays?: NamedArray[] }> {
  if (!(o.resume && existsSync(join(o.outDir, 'train-state.json')))) {
    const vocab = Vocabulary.fromText(text);
    return { vocab, netConfig: { cell: o.cell, layers: o.layers, hidden: o.hidden, vocabSize: vocab.size, dropout: o.dropout } };
  }
  const resumed = JSON.parse(await readFile(join(o.outDir, 'train-state.json'), 'utf8')) as TrainState;
  const saved = await readModel(o.outDir);
  const vocab = new Vocabulary(saved.vocabulary);
  const netConfig = { cell: saved.config.cell, layers: saved.config.layers, hidden: saved.config.hidden, vocabSize: vocab.size, dropout: saved.config.dropout };
  return { vocab, netConfig, resumed, resumedArrays: saved.arrays };
}

/** One truncated-BPTT step on a chunk: the loss before the update and the state carried to the next chunk. */
function trainStep(
  net: CharRnnNet,
  opt: tf.Optimizer,
  vars: tf.Variable[],
  { inputs, targets }: { inputs: Int32Array; targets: Int32Array },
  state: State,
  o: Pick<TrainOptions, 'seq' | 'batch' | 'clip'>,
): { loss: number; state: State } {
  let newState: State;
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(inputs, [o.seq, o.batch], 'int32');
    const y = tf.tensor1d(targets, 'int32');
    const { value, grads } = tf.variableGrads(() => {
      const { logits, states } = net.forward(x, state, true);
      newState = states.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
      return CharRnnNet.crossEntropy(logits, y);
    }, vars);
    opt.applyGradients(clipByGlobalNorm(grads, o.clip).grads);
    return value.dataSync()[0];
  });
  return { loss, state: newState };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const text = await readFile(o.corpus, 'utf8');
  const { vocab, netConfig, resumed, resumedArrays } = await startingPoint(o, text);
  const ids = vocab.encode(text);
  const { train: trainIds, val: valIds } = splitCorpus(ids, o.valFraction);
  const entropy = unigramEntropyNats(ids, vocab.size);
  const batcher = new StreamBatcher(trainIds, o.batch, o.seq);
  const net = new CharRnnNet(netConfig, o.seed);
  if (resumedArrays) net.assign(resumedArrays);
  const opt = makeOptimizer(o.optimizer, o.lr);
  const vars = net.variables();
  log(
    `char-rnn: ${netConfig.layers}×${netConfig.hidden} ${netConfig.cell}, ${net.paramCount()} parameters, vocabulary ${vocab.size}; ` +
      `train ${trainIds.length} chars, validation ${valIds.length}; unigram entropy ${entropy.toFixed(3)} nats (${(entropy / LN2).toFixed(3)} bits)/char; ` +
      `${batcher.chunks} chunks of ${o.seq}×${o.batch} per epoch`,
  );

  let step = resumed?.step ?? 0;
  let chunk = resumed?.chunk ?? 0;
  let charsSeen = resumed?.charsSeen ?? 0;
  const secondsBefore = resumed?.seconds ?? 0;
  if (resumed) {
    // Optimizer state needs the variables' slots to exist: one zero-gradient step creates them... instead
    // setWeights builds them directly from the saved arrays, in variable order.
    const ok = await loadOptimizer(opt, o.outDir);
    log(`resumed at step ${step} (${(secondsBefore / 60).toFixed(1)} min trained)${ok ? ' with optimizer state' : ''}`);
  }
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const budgetSec = o.minutes !== undefined ? o.minutes * 60 : undefined;
  const done = () => (o.steps !== undefined && step >= o.steps) || (budgetSec !== undefined && elapsed() >= budgetSec);
  const progress = () => {
    const a = o.steps !== undefined ? step / o.steps : 0;
    const b = budgetSec !== undefined ? elapsed() / budgetSec : 0;
    return Math.min(1, Math.max(a, b));
  };
  let state: State;
  let emaLoss = resumed?.lastTrainLoss ?? NaN;
  let lastEval = elapsed();
  let lastCkpt = elapsed();
  let lastLog = elapsed();
  const evalSlice = valIds.subarray(0, Math.min(valIds.length, o.evalChars));

  const checkpoint = async (final: boolean) => {
    await saveModel({ dir: o.outDir, name: o.name, vocabulary: vocab.chars, net: netConfig, arrays: await net.toArrays(), isDefault: true });
    await saveOptimizer(opt, o.outDir);
    const ts: TrainState = {
      step,
      seconds: secondsBefore + elapsed(),
      chunk,
      charsSeen,
      lastTrainLoss: emaLoss,
      config: { ...netConfig, seq: o.seq, batch: o.batch, lr: o.lr, optimizer: o.optimizer, clip: o.clip, seed: o.seed },
    };
    await writeFile(join(o.outDir, 'train-state.json'), JSON.stringify(ts, null, 2) + '\n');
    if (!final) log(`checkpoint: step ${step} → ${o.outDir}`);
  };

  while (!done()) {
    if (chunk >= batcher.chunks) {
      chunk = 0;
      disposeState(state);
      state = undefined;
    }
    const lr = o.lr * (1 - (1 - o.lrFinal) * progress());
    setLearningRate(opt, lr);
    const stepped = trainStep(net, opt, vars, batcher.chunk(chunk), state, o);
    const lossValue = stepped.loss;
    disposeState(state);
    state = stepped.state;
    step++;
    chunk++;
    charsSeen += o.seq * o.batch;
    emaLoss = Number.isNaN(emaLoss) ? lossValue : 0.98 * emaLoss + 0.02 * lossValue;
    if (!Number.isFinite(lossValue)) throw new Error(`training diverged at step ${step} (loss ${lossValue})`);
    const t = elapsed();
    if (t - lastLog >= 30 || step === 1) {
      lastLog = t;
      const rate = (charsSeen - (resumed?.charsSeen ?? 0)) / t;
      log(`step ${step} epoch ${(charsSeen / batcher.charsPerPass).toFixed(2)} train ${emaLoss.toFixed(4)} nats ${(emaLoss / LN2).toFixed(3)} bpc lr ${lr.toExponential(2)} ${rate.toFixed(0)} chars/s ${(t / 60).toFixed(1)} min`);
    }
    if (t - lastEval >= o.evalEverySec) {
      lastEval = t;
      const v = evaluate(net, evalSlice);
      log(`  val(${evalSlice.length} chars) ${v.toFixed(4)} nats ${(v / LN2).toFixed(3)} bpc at step ${step}`);
      lastEval = elapsed();
    }
    if (t - lastCkpt >= o.checkpointEverySec) {
      await checkpoint(false);
      lastCkpt = elapsed();
    }
  }
  disposeState(state);
  const trainSeconds = secondsBefore + elapsed();
  const finalVal = o.valLimit ? valIds.subarray(0, Math.min(o.valLimit, valIds.length)) : valIds;
  log(`training stopped at step ${step}; final validation on ${finalVal.length} of ${valIds.length} validation characters ...`);
  const valLoss = evaluate(net, finalVal);
  await checkpoint(true);
  const samples: string[] = [];
  const samplePrompt = vocab.unknown('ROMEO:\n').length ? '' : 'ROMEO:\n';
  for (let i = 0; i < (o.samples ?? 3); i++) samples.push(sampleFromNet(net, vocab, samplePrompt, 300, 0.8, o.seed + i));
  const metrics = {
    data: o.corpus,
    split: { validation: `last ${Math.round(o.valFraction * 100)}% of the characters`, trainChars: trainIds.length, valChars: valIds.length, valCharsScored: finalVal.length },
    seed: o.seed,
    command: o.command,
    model: { ...netConfig, params: net.paramCount() },
    training: {
      steps: step,
      seconds: Math.round(trainSeconds),
      charsSeen,
      epochs: charsSeen / batcher.charsPerPass,
      seq: o.seq,
      batch: o.batch,
      optimizer: o.optimizer,
      lr: o.lr,
      lrFinal: o.lr * o.lrFinal,
      clip: o.clip,
      backend: tf.getBackend(),
    },
    figures: {
      valLossNats: valLoss,
      bitsPerChar: valLoss / LN2,
      trainLossNatsEma: emaLoss,
      unigramEntropyNats: entropy,
      unigramEntropyBits: entropy / LN2,
    },
    samples: samples.map((s) => ({ prompt: samplePrompt, temperature: 0.8, text: s })),
  };
  await writeFile(join(o.outDir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  log(`validation ${valLoss.toFixed(4)} nats/char, ${(valLoss / LN2).toFixed(4)} bits/char (unigram entropy ${entropy.toFixed(4)} nats)`);
  const result = { steps: step, seconds: trainSeconds, trainLossNats: emaLoss, valLossNats: valLoss, bitsPerChar: valLoss / LN2, charsSeen, params: net.paramCount() };
  opt.dispose();
  net.dispose();
  return result;
}
