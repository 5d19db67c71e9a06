// One training step's gradients, on one thread or split over several. wasm runs a step on one core, so a
// 2-core machine left its second core idle while training; here the batch is cut into shares, each extra
// thread (step-worker.ts) computes the gradients of its share with a copy of the current weights, and the
// shares' gradients are averaged, weighted by their sizes, before clipping and the optimizer's update.
import type { Worker } from 'node:worker_threads';
import { tf } from '../../runtime/backend.js';
import { askThread, siblingModuleUrl, startThread } from '../../runtime/threads.js';
import type { DetectorConfig, HeadName } from '../detector/config.js';
import { buildNetwork, gatherHeads, normalizeInput } from '../detector/network.js';
import { bindHead, HEAD_TABLE, HEADS } from '../heads/index.js';
import type { BoundHead } from '../heads/head.js';
import type { GroundTruth } from '../heads/box-math.js';
import { TargetEncoder } from './data.js';

/** A batch (or a share of one) as plain arrays, so that it can be posted to a thread. */
export interface RawBatch {
  /** Raw pixels (side×side×3 bytes per image) for kestrel's CNN, or float feature maps in stride order. */
  kind: 'pixels' | 'features';
  arrays: (Uint8Array | Float32Array)[];
  shapes: number[][];
}

export interface StepResult {
  loss: number;
  /** Each trained head's loss, by its prefix. */
  parts: Record<string, number>;
}

/** What a step thread needs to build the same network and losses. */
export interface StepWorkerInit {
  backend: string;
  cfg: DetectorConfig;
  heads: HeadName[];
}

/** Near-equal shares of a batch for `threads` threads, none empty (fewer shares when the batch is small). */
export function batchShares(batch: number, threads: number): number[] {
  const n = Math.max(1, Math.min(threads, batch));
  return Array.from({ length: n }, (_, k) => Math.floor((batch * (k + 1)) / n) - Math.floor((batch * k) / n));
}

function toInputs(raw: RawBatch): tf.Tensor[] {
  return raw.arrays.map((a, m) => {
    const shape = raw.shapes[m] as [number, number, number, number];
    return raw.kind === 'pixels' ? normalizeInput(tf.tensor4d(a, shape, 'int32')) : tf.tensor4d(a, shape);
  });
}

/** A network's trainable variables, in layer order: the same order in every thread that built the same config. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** The trained heads, bound to the config once (SSD's priors, YOLO's anchors), and their target encoder. */
export class HeadLosses {
  readonly trained: (readonly [HeadName, BoundHead<unknown>])[];
  readonly enc: TargetEncoder;

  constructor(
    readonly cfg: DetectorConfig,
    heads: readonly HeadName[],
  ) {
    // In table order whatever the order asked for, so the summed loss is the same float either way.
    this.trained = HEADS.filter((h) => heads.includes(h)).map((h) => [h, bindHead(h, cfg)] as const);
    this.enc = new TargetEncoder(cfg);
  }
}

/**
 * The summed loss of the trained heads on one batch, its parts, and the gradients of every trainable
 * variable (in `trainableVariables` order; null for the layers of heads not trained, which the loss does
 * not reach: the same ones in every thread). The caller disposes the gradients.
 */
export function shareGradients(model: tf.LayersModel, losses: HeadLosses, raw: RawBatch, gts: GroundTruth[]): { result: StepResult; grads: (tf.Tensor | null)[] } {
  const targets = losses.enc.encode(gts);
  const vars = trainableVariables(model);
  const partTensors: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const outs = model.apply(toInputs(raw), { training: true }) as tf.Tensor[];
    const h = gatherHeads(losses.cfg, outs);
    const totals: tf.Scalar[] = [];
    for (const [head, bound] of losses.trained) {
      const l = bound.loss(h[head], targets[head]);
      totals.push(l.total);
      partTensors[HEAD_TABLE[head].prefix] = tf.keep(l.total);
    }
    return tf.addN(totals) as tf.Scalar;
  }, vars);
  const result: StepResult = { loss: value.dataSync()[0], parts: {} };
  for (const [k, v] of Object.entries(partTensors)) result.parts[k] = v.dataSync()[0];
  tf.dispose([value, ...Object.values(partTensors)]);
  return { result, grads: vars.map((v) => grads[v.name] ?? null) };
}

/** A copy of a share's arrays, detached from the caller's reusable buffers so it can be transferred. */
function detach(raw: RawBatch): RawBatch {
  return { ...raw, arrays: raw.arrays.map((a) => a.slice()) };
}

/**
 * Steps over `shares.length` threads: this one and shares.length − 1 workers. With one share it is the
 * plain single-thread step.
 */
export class StepThreads {
  private readonly workers: Worker[];
  private readonly losses: HeadLosses;

  constructor(
    private readonly model: tf.LayersModel,
    cfg: DetectorConfig,
    heads: readonly HeadName[],
    readonly shares: number[],
  ) {
    const init: StepWorkerInit = { backend: tf.getBackend(), cfg, heads: [...heads] };
    this.workers = shares.slice(1).map((_, n) => startThread(siblingModuleUrl(import.meta.url, 'step-worker'), { workerData: init, name: `step-${n}` }));
    this.losses = new HeadLosses(cfg, heads);
  }

  /**
   * The batch's gradients, keyed by variable name as the optimizer wants them, and its loss. `slice(from, to)`
   * gives the batch's images [from, to) as a RawBatch; `gts` are the whole batch's ground truths.
   */
  async gradients(slice: (from: number, to: number) => RawBatch, gts: GroundTruth[]): Promise<{ result: StepResult; grads: tf.NamedTensorMap }> {
    const vars = trainableVariables(this.model);
    const total = gts.length;
    const bounds = this.shares.map((_, k) => this.shares.slice(0, k).reduce((a, b) => a + b, 0));
    let pending: Promise<{ loss: number; parts: Record<string, number>; grads: Float32Array }[]> = Promise.resolve([]);
    if (this.workers.length > 0) {
      // One copy of the weights per step, shared by every worker's message.
      const weights = new Float32Array(vars.reduce((a, v) => a + v.size, 0));
      let at = 0;
      for (const v of vars) {
        weights.set(v.dataSync() as Float32Array, at);
        at += v.size;
      }
      pending = Promise.all(this.workers.map((w, n) => {
        const from = bounds[n + 1], to = from + this.shares[n + 1];
        const raw = detach(slice(from, to));
        return askThread<{ loss: number; parts: Record<string, number>; grads: Float32Array }>(w, { weights, raw, gts: gts.slice(from, to) }, raw.arrays.map((a) => a.buffer as ArrayBuffer), 'step worker');
      }));
    }
    const mine = shareGradients(this.model, this.losses, slice(0, this.shares[0]), gts.slice(0, this.shares[0]));
    const theirs = await pending;
    const reached = vars.flatMap((v, i) => (mine.grads[i] ? [[v, mine.grads[i]!] as const] : []));
    if (theirs.length === 0) return { result: mine.result, grads: Object.fromEntries(reached.map(([v, g]) => [v.name, g])) };
    const w0 = this.shares[0] / total;
    const result: StepResult = { loss: w0 * mine.result.loss, parts: Object.fromEntries(Object.entries(mine.result.parts).map(([k, v]) => [k, w0 * v])) };
    theirs.forEach((t, n) => {
      const w = this.shares[n + 1] / total;
      result.loss += w * t.loss;
      for (const [k, v] of Object.entries(t.parts)) result.parts[k] = (result.parts[k] ?? 0) + w * v;
    });
    const grads: tf.NamedTensorMap = {};
    let at = 0;
    // A worker's answer holds the reached variables' gradients back to back, in the same order.
    for (const [v, own] of reached) {
      grads[v.name] = tf.tidy(() => {
        let g = tf.mul(own, w0);
        theirs.forEach((t, n) => {
          g = tf.add(g, tf.mul(tf.tensor(t.grads.subarray(at, at + v.size), v.shape), this.shares[n + 1] / total));
        });
        return g;
      });
      at += v.size;
    }
    tf.dispose(reached.map(([, g]) => g));
    return { result, grads };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The worker's side: a network built from the same config, loaded with the posted weights each step. */
export function stepWorker(init: StepWorkerInit): (m: { weights: Float32Array; raw: RawBatch; gts: GroundTruth[] }) => { loss: number; parts: Record<string, number>; grads: Float32Array } {
  const model = buildNetwork(init.cfg);
  const vars = trainableVariables(model);
  const losses = new HeadLosses(init.cfg, init.heads);
  return (m) => {
    let at = 0;
    for (const v of vars) {
      const t = tf.tensor(m.weights.subarray(at, at + v.size), v.shape);
      v.assign(t);
      t.dispose();
      at += v.size;
    }
    const { result, grads } = shareGradients(model, losses, m.raw, m.gts);
    const reached = grads.filter((g): g is tf.Tensor => g !== null);
    const flat = new Float32Array(reached.reduce((a, g) => a + g.size, 0));
    at = 0;
    for (const g of reached) {
      flat.set(g.dataSync() as Float32Array, at);
      at += g.size;
    }
    tf.dispose(reached);
    return { ...result, grads: flat };
  };
}
