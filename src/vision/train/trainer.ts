// Joint training of the backbone and the selected heads (summed losses): one run yields every head.
// Checkpoints write a complete, loadable model folder each time, so an interrupted run still ships weights.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { tf } from '../../runtime/backend.js';
import { mulberry32 } from '../../runtime/random.js';
import { readYoloSplit } from '../datasets/yolo-layout.js';
import { channelsField, defaultConfig, detectorConfigSchema, type DetectorConfig, type HeadName } from '../detector/config.js';
import { buildNetwork } from '../detector/network.js';
import { diskLoader, diskSaver, loadTensors, saveTensors } from '../detector/weights-io.js';
import { fitHeadsToData } from '../heads/index.js';
import { augment, augmentedBoxes, DEFAULT_AUGMENT, loadSplit, type AugmentOptions, type LoadedSplit } from './data.js';
import { batchShares, StepThreads, type RawBatch } from './step.js';
import { FEATURE_STRIDES, FeatureCache } from './feature-cache.js';
import { NanoDetFeatures, type FeatureTap } from '../nanodet/features.js';
import { loadCspWeights } from '../nanodet/csp-stage.js';
import type { GroundTruth } from '../heads/box-math.js';

export interface TrainOptions {
  data: string;
  out: string;
  name: string;
  heads: HeadName[];
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  resume: boolean;
  /** Use only the first N training images (0 = all). */
  limit: number;
  checkpointEvery: number;
  clipNorm: number;
  augment: AugmentOptions | null;
  inputSize: number;
  /** Stop after this many seconds (a checkpoint is written first); 0 = no limit. */
  maxSeconds: number;
  command: string;
  /**
   * Threads computing each step, each on its share of the batch (default 1). The shares' gradients are
   * averaged by size; batch-norm statistics are then per share, so a run is not bit-identical to one thread.
   */
  threads?: number;
  /** Warm start: take the network config and weights from this model folder (a new run, fresh optimizer). */
  initFrom?: string;
  /** Mark the model as the default detector in its manifest. */
  markDefault?: boolean;
  /** Heads (with optional adapter layers) on a pretrained backbone's frozen features instead of kestrel's CNN. */
  pretrained?: PretrainedOptions;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
}

export interface PretrainedOptions {
  /** The backbone's model folder (its basename goes into the config). */
  dir: string;
  tap: FeatureTap;
  /** Strides whose backbone stage trains with the heads, starting from the backbone's weights (none: all frozen). */
  tuned?: number[];
  adapter: { depth: number; channels: number };
  /** Cached views per image: the image itself plus views − 1 fixed augmentations (with augmentation on). */
  views: number;
  /** Where the features are cached (reused by --resume and by later runs with the same key). */
  cacheDir: string;
  /** Threads extracting features, each with its own backbone (default 1: in this thread). */
  threads?: number;
  onExtract?: (done: number, todo: number) => void;
}

export interface Progress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Smoothed (EMA) loss. */
  loss: number;
  /** This step's loss. */
  stepLoss: number;
  parts: Record<string, number>;
  lr: number;
  secondsPerStep: number;
}

interface TrainState {
  step: number;
  epoch: number;
  seed: number;
  lossHistory: { step: number; loss: number }[];
  elapsedSeconds: number;
}

/**
 * Linear warm-up over `warmup` steps, then cosine decay to 2 % of the peak as `progress` goes 0 → 1.
 * Progress is the larger of steps done and time used (with a time budget), so a run cut short by its
 * budget still ends with a decayed learning rate instead of stopping at the peak.
 */
export function learningRate(step: number, progress: number, peak: number, warmup: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = Math.min(1, Math.max(0, progress));
  return peak * (0.02 + 0.98 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export function countParams(model: tf.LayersModel): number {
  return model.countParams();
}

export function globalNormClip(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  if (!(norm > maxNorm)) return { grads, norm };
  const f = maxNorm / norm;
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, f);
  tf.dispose(Object.values(grads));
  return { grads: out, norm };
}

export async function writeModelFolder(dir: string, model: tf.LayersModel, cfg: DetectorConfig, o: TrainOptions, classes: string[], training: Record<string, unknown>): Promise<void> {
  await model.save(diskSaver(dir));
  const manifest = {
    name: o.name,
    kind: 'detector',
    version: new Date().toISOString().slice(0, 10),
    description: cfg.backbone
      ? `kestrel detector heads (${o.heads.join(', ')}) on ${cfg.backbone.model}'s ${cfg.backbone.tuned ? `${cfg.backbone.tap} features, with its stride-${cfg.backbone.tuned.map((t) => t.stride).join(' and ')} stage fine-tuned` : `frozen ${cfg.backbone.tap} features`}, trained on ${o.data}`
      : `kestrel CNN detector (${o.heads.join(', ')}) trained on ${o.data}`,
    default: o.markDefault ?? false,
    input: { width: cfg.inputSize, height: cfg.inputSize, channels: 3 },
    labels: classes,
    heads: o.heads,
    files: ['model.json', 'weights.bin'],
    config: cfg,
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const metricsPath = join(dir, 'metrics.json');
  let metrics: Record<string, unknown> = {};
  if (existsSync(metricsPath)) metrics = JSON.parse(await readFile(metricsPath, 'utf8')) as Record<string, unknown>;
  metrics['training'] = training;
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
}

/** Where a run starts: a checkpoint (--resume), another model's weights (--init-from), or a fresh network. */
async function startingPoint(
  o: TrainOptions,
  backbone: NanoDetFeatures | undefined,
  numClasses: number,
  data: LoadedSplit,
  optimizer: tf.Optimizer,
  log: (line: string) => void,
): Promise<{ cfg: DetectorConfig; model: tf.LayersModel; state: TrainState }> {
  const ckDir = join(o.out, 'checkpoint');
  let cfg: DetectorConfig;
  let model: tf.LayersModel;
  let state: TrainState = { step: 0, epoch: 0, seed: o.seed, lossHistory: [], elapsedSeconds: 0 };
  const resuming = o.resume && existsSync(join(ckDir, 'state.json'));
  if (o.resume && !resuming) log(`--resume: no checkpoint in ${ckDir}, starting fresh`);
  if (resuming) {
    const manifest = JSON.parse(await readFile(join(o.out, 'manifest.json'), 'utf8')) as { config: unknown };
    cfg = detectorConfigSchema.parse(manifest.config);
    // Rebuild from the current code and copy the weights in (same layers, same order), so a resumed run
    // trains with today's layer implementations even if the checkpoint was written by older ones.
    const saved = await tf.loadLayersModel(diskLoader(o.out));
    model = buildNetwork(cfg);
    model.setWeights(saved.getWeights());
    saved.dispose();
    state = JSON.parse(await readFile(join(ckDir, 'state.json'), 'utf8')) as TrainState;
    const opt = await loadTensors(join(ckDir, 'optimizer'));
    await optimizer.setWeights(opt);
    log(`resumed at step ${state.step} (epoch ${state.epoch})`);
  } else if (o.initFrom) {
    const manifest = JSON.parse(await readFile(join(o.initFrom, 'manifest.json'), 'utf8')) as { config: unknown };
    cfg = detectorConfigSchema.parse(manifest.config);
    if (cfg.inputSize !== o.inputSize) throw new Error(`--init-from model has input ${cfg.inputSize}, this run --size ${o.inputSize}`);
    const saved = await tf.loadLayersModel(diskLoader(o.initFrom));
    model = buildNetwork(cfg);
    model.setWeights(saved.getWeights());
    saved.dispose();
    log(`initialised from ${o.initFrom} (its anchors and weights; fresh optimizer)`);
  } else {
    let base = defaultConfig(numClasses, o.inputSize);
    if (o.pretrained && backbone) {
      const tuned = backbone.stages.map((st) => st.spec);
      base = {
        ...base,
        backbone: { family: 'nanodet', model: basename(resolve(o.pretrained.dir)), tap: o.pretrained.tap, channels: channelsField(backbone.channels), ...(tuned.length ? { tuned } : {}) },
        adapter: o.pretrained.adapter,
      };
    }
    const fit = fitHeadsToData(base, data.gts, o.seed);
    cfg = fit.cfg;
    for (const note of fit.notes) log(note);
    model = buildNetwork(cfg);
    // Tuned stages start from the pretrained weights; only the heads and adapters start from scratch.
    for (const st of backbone?.stages ?? []) loadCspWeights(model, st, `tune${st.spec.stride}`);
  }
  return { cfg, model, state };
}

/** The epoch's order is a function of (seed, epoch) alone, so resuming mid-epoch replays the same order. */
function epochOrder(seed: number, epoch: number, count: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const r = mulberry32(seed * 1000003 + epoch);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export async function train(o: TrainOptions): Promise<{ model: tf.LayersModel; cfg: DetectorConfig; state: TrainState }> {
  const log = o.log ?? ((l: string) => console.log(l));
  const ckDir = join(o.out, 'checkpoint');
  const ds = await readYoloSplit(o.data, 'train', { limit: o.limit || undefined });
  log(`loading ${ds.items.length} training images from ${o.data}`);
  const data = await loadSplit(ds, o.inputSize);
  const optimizer = tf.train.adam(o.lr);
  const backbone = o.pretrained ? await NanoDetFeatures.open(o.pretrained.dir, o.pretrained.tap, o.pretrained.tuned) : undefined;
  let feed: Feed;
  let started: Awaited<ReturnType<typeof startingPoint>>;
  try {
    started = await startingPoint(o, backbone, ds.classes.length, data, optimizer, log);
    const c = started.cfg;
    if (c.backbone && !o.pretrained) throw new Error('this model reads a pretrained backbone: pass --backbone');
    if (o.pretrained && !c.backbone) throw new Error('--backbone given, but the model being resumed or warm-started has kestrel\'s own backbone');
    const tunedOf = (t: { stride: number }[] | undefined): string => (t ?? []).map((x) => x.stride).join(',');
    if (o.pretrained && c.backbone && (c.backbone.tap !== o.pretrained.tap || c.backbone.model !== basename(resolve(o.pretrained.dir)) || tunedOf(c.backbone.tuned) !== (o.pretrained.tuned ?? []).join(','))) {
      const tune = c.backbone.tuned ? ` --tune ${tunedOf(c.backbone.tuned)}` : '';
      throw new Error(`the model reads ${c.backbone.model}'s ${c.backbone.tap} features; pass --backbone ${c.backbone.model} --tap ${c.backbone.tap}${tune}`);
    }
    feed = backbone && o.pretrained ? await featureFeed(o, o.pretrained, backbone, data, c, log) : pixelFeed(o, data);
  } finally {
    // The backbone is needed only to fill the cache; steps read features.
    backbone?.dispose();
  }
  const { cfg, model, state } = started;
  log(`parameters: ${model.countParams()}`);
  const steps = new StepThreads(model, cfg, o.heads, batchShares(o.batch, o.threads ?? 1));
  if (steps.shares.length > 1) log(`steps on ${steps.shares.length} threads, batch shares ${steps.shares.join(' + ')}`);
  const stepsPerEpoch = Math.floor(data.count / o.batch);
  if (stepsPerEpoch < 1) throw new Error(`batch ${o.batch} is larger than the ${data.count} training images`);
  const totalSteps = stepsPerEpoch * o.epochs;
  const warmup = Math.min(300, Math.floor(totalSteps * 0.05) + 1);
  const trainingInfo = (): Record<string, unknown> => ({
    data: o.data, split: 'train', images: data.count, seed: o.seed, command: o.command, heads: o.heads, initFrom: o.initFrom ?? null,
    epochs: o.epochs, batch: o.batch, lr: o.lr, steps: state.step, totalSteps, epochsDone: state.epoch,
    augment: o.augment, clipNorm: o.clipNorm, stepThreads: steps.shares.length, pretrained: feed.info, parameters: model.countParams(), trainingSeconds: Math.round(state.elapsedSeconds),
    finalLoss: state.lossHistory.at(-1)?.loss ?? null, lossHistory: state.lossHistory,
  });
  const checkpoint = async (): Promise<void> => {
    await mkdir(ckDir, { recursive: true });
    await writeModelFolder(o.out, model, cfg, o, data.classes, trainingInfo());
    await saveTensors(join(ckDir, 'optimizer'), await optimizer.getWeights());
    await writeFile(join(ckDir, 'state.json'), JSON.stringify(state));
  };
  const t0 = Date.now();
  const startElapsed = state.elapsedSeconds;
  let lastCk = state.step;
  let ema = NaN;
  let stepTimeEma = NaN;
  try {
    while (state.step < totalSteps) {
      const epoch = Math.floor(state.step / stepsPerEpoch);
      const order = epochOrder(o.seed, epoch, data.count);
      const inEpoch = state.step - epoch * stepsPerEpoch;
      for (let bi = inEpoch; bi < stepsPerEpoch && state.step < totalSteps; bi++) {
        const ts = Date.now();
        const ra = mulberry32(o.seed * 7919 + state.step);
        const gts = feed.fill(Array.from({ length: o.batch }, (_, k) => order[bi * o.batch + k]), ra);
        const elapsed = startElapsed + (Date.now() - t0) / 1000;
        const progress = Math.max((state.step - warmup) / Math.max(1, totalSteps - warmup), o.maxSeconds > 0 ? elapsed / o.maxSeconds : 0);
        const lr = learningRate(state.step, progress, o.lr, warmup);
        // Adam reads its learningRate field on every update, which is how tfjs schedules are done.
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const { result, grads } = await steps.gradients((from, to) => feed.slice(from, to), gts);
        const clipped = globalNormClip(grads, o.clipNorm);
        optimizer.applyGradients(clipped.grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
        tf.dispose(Object.values(clipped.grads));
        const loss = result.loss;
        const partsOut = result.parts;
        if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${state.step}; lower --lr or --clip`);
        state.step++;
        state.epoch = state.step / stepsPerEpoch;
        ema = Number.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
        const dt = (Date.now() - ts) / 1000;
        stepTimeEma = Number.isNaN(stepTimeEma) ? dt : 0.9 * stepTimeEma + 0.1 * dt;
        state.elapsedSeconds = startElapsed + (Date.now() - t0) / 1000;
        if (state.step % 25 === 0 || state.step === totalSteps) state.lossHistory.push({ step: state.step, loss: Number(ema.toFixed(4)) });
        o.onProgress?.({ step: state.step, totalSteps, epoch: state.epoch, loss: ema, stepLoss: loss, parts: partsOut, lr, secondsPerStep: stepTimeEma });
        const timeUp = o.maxSeconds > 0 && state.elapsedSeconds > o.maxSeconds;
        if (state.step - lastCk >= o.checkpointEvery || state.step === totalSteps || timeUp) {
          await checkpoint();
          lastCk = state.step;
        }
        if (timeUp) {
          log(`time limit reached at step ${state.step}/${totalSteps}; checkpoint written, resume with --resume`);
          return { model, cfg, state };
        }
      }
    }
  } finally {
    await steps.close();
  }
  return { model, cfg, state };
}

export { DEFAULT_AUGMENT };

/** Where a step's network inputs come from: one image batch (kestrel's CNN) or cached backbone features. */
interface Feed {
  /** Fills the next batch with these training images; returns their (augmented) ground truths. */
  fill(images: number[], r: () => number): GroundTruth[];
  /** The filled batch's images [from, to) as arrays (views of the feed's buffers, valid until the next fill). */
  slice(from: number, to: number): RawBatch;
  info: Record<string, unknown> | null;
}

function pixelFeed(o: TrainOptions, data: LoadedSplit): Feed {
  const S = data.size;
  const pixels = new Uint8Array(o.batch * S * S * 3);
  return {
    fill(images, r) {
      return images.map((idx, k) => {
        const src = data.pixels.subarray(idx * S * S * 3, (idx + 1) * S * S * 3);
        const dst = pixels.subarray(k * S * S * 3, (k + 1) * S * S * 3);
        if (o.augment) return augment(src, data.gts[idx], S, o.augment, r, dst);
        dst.set(src);
        return data.gts[idx];
      });
    },
    slice: (from, to) => ({ kind: 'pixels', arrays: [pixels.subarray(from * S * S * 3, to * S * S * 3)], shapes: [[to - from, S, S, 3]] }),
    info: null,
  };
}

/**
 * Every (image, view) through the frozen backbone once, into the cache; steps then read features. A view's
 * augmentation is a function of (seed, image, view) alone, so its boxes are recomputed rather than stored.
 */
async function featureFeed(o: TrainOptions, p: PretrainedOptions, backbone: NanoDetFeatures, data: LoadedSplit, cfg: DetectorConfig, log: (line: string) => void): Promise<Feed> {
  const S = data.size;
  const views = o.augment ? Math.max(1, p.views) : 1;
  // Tuned stages change what is cached (their entries): part of the key only when present, so older caches stay valid.
  const tuned = p.tuned?.length ? { tuned: p.tuned } : {};
  const cache = new FeatureCache(p.cacheDir, { data: resolve(o.data), backbone: cfg.backbone!.model, tap: p.tap, ...tuned, side: S, channels: channelsField(backbone.channels), seed: o.seed, augment: o.augment });
  const viewRandom = (image: number, view: number): (() => number) => mulberry32(o.seed * 1000003 + image * 64 + view);
  const view = (image: number, v: number, out: Uint8Array): GroundTruth => {
    const src = data.pixels.subarray(image * S * S * 3, (image + 1) * S * S * 3);
    if (v === 0) {
      out.set(src);
      return data.gts[image];
    }
    return augment(src, data.gts[image], S, o.augment!, viewRandom(image, v), out);
  };
  // A view's boxes come with its pixels; pairs already cached get theirs recomputed afterwards.
  const gts: (GroundTruth | undefined)[][] = Array.from({ length: data.count }, (_, i) => Array.from({ length: views }, (_, v) => (v === 0 ? data.gts[i] : undefined)));
  const pairs: [number, number][] = [];
  for (let i = 0; i < data.count; i++) for (let v = 0; v < views; v++) pairs.push([i, v]);
  const t0 = Date.now();
  const threads = p.threads ?? 1;
  const computed = await cache.fill(backbone, pairs, (i, v, out) => void (gts[i][v] = view(i, v, out)), {
    onDone: p.onExtract,
    threads: threads > 1 ? { count: threads, init: { backend: tf.getBackend(), backboneDir: resolve(p.dir), tap: p.tap, tuned: p.tuned ?? [] } } : undefined,
  });
  const extractionSeconds = (Date.now() - t0) / 1000;
  log(`features: ${computed} of ${pairs.length} (image, view) pairs computed in ${extractionSeconds.toFixed(0)} s, the rest read from ${p.cacheDir}`);
  // Their pixels are not needed again, only the boxes: resampling 10,000s of views would take minutes.
  for (const [i, v] of pairs) gts[i][v] ??= augmentedBoxes(data.gts[i], S, o.augment!, viewRandom(i, v));
  const bufs = cache.lengths.map((len) => new Float32Array(o.batch * len));
  const side = (s: number): number => Math.ceil(S / s);
  return {
    fill(images, r) {
      return images.map((idx, k) => {
        const v = views > 1 ? Math.floor(r() * views) : 0;
        cache.read(idx, v, bufs, k);
        return gts[idx][v]!;
      });
    },
    slice: (from, to) => ({
      kind: 'features',
      arrays: bufs.map((b, m) => b.subarray(from * cache.lengths[m], to * cache.lengths[m])),
      shapes: FEATURE_STRIDES.map((s, m) => [to - from, side(s), side(s), backbone.channels[m]]),
    }),
    info: { backbone: cfg.backbone, adapter: cfg.adapter, views, cache: p.cacheDir, extractedPairs: computed, threads, extractionSeconds: Math.round(extractionSeconds) },
  };
}
