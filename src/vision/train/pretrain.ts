// Backbone pre-training as a Fashion-MNIST classifier (transfer learning for the detector). The crops are
// drawn by the scenes renderer itself — one item on procedural clutter, small and anywhere in the crop —
// so the backbone learns to name items as they look in the detection images. The classifier reads the
// three feature maps the heads read (global average pool of each, one dense layer), so all of them learn
// class evidence; its dense layer is thrown away and the detector keeps the backbone, neck and heads.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../runtime/backend.js';
import { FMNIST_CLASSES, type FmnistSplit } from '../datasets/fmnist.js';
import { renderScene, type SceneOptions } from '../datasets/scenes.js';
import { defaultConfig, detectorConfigSchema, HEADS, type DetectorConfig } from '../detector/config.js';
import { buildNetwork, normalizeInput } from '../detector/network.js';
import { diskLoader, diskSaver } from '../detector/weights-io.js';
import { globalNormClip, learningRate } from './trainer.js';

type Sym = tf.SymbolicTensor;

export interface PretrainOptions {
  train: FmnistSplit;
  test: FmnistSplit;
  out: string;
  name: string;
  /** Start from this detector folder's weights and config (its heads are kept for the detector run). */
  initFrom?: string;
  crop: number;
  minSide: number;
  maxSide: number;
  batch: number;
  lr: number;
  seed: number;
  /** Training budget in seconds (the LR schedule decays over it). */
  seconds: number;
  /** Rendered test crops to score at the end. */
  testCount: number;
  command: string;
  log?: (line: string) => void;
  onStep?: (p: { step: number; loss: number; accuracy: number; lr: number; elapsed: number }) => void;
}

export interface PretrainResult {
  steps: number;
  seconds: number;
  crops: number;
  trainAccuracyEma: number;
  /** Accuracy on FMNIST t10k items drawn by the same renderer (unseen items). */
  testAccuracyRendered: number;
  /** Accuracy on the plain 28×28 t10k images (grey replicated to RGB), the benchmark's own test set. */
  testAccuracyPlain: number;
}

/** One crop with one item: RGB bytes and the item's class, or undefined when the renderer placed nothing. */
export function renderCrop(src: FmnistSplit, pool: Int32Array, seed: number, split: string, index: number, o: Pick<PretrainOptions, 'crop' | 'minSide' | 'maxSide'>): { rgb: Uint8Array; label: number } | undefined {
  const scene: SceneOptions = { size: o.crop, minObjects: 1, maxObjects: 1, minSide: o.minSide, maxSide: o.maxSide, maxOverlap: 1 };
  const r = renderScene(src, pool, seed, split, index, scene);
  return r.objects.length === 1 ? { rgb: r.rgb, label: r.objects[0].classId } : undefined;
}

/** The classifier over the detector's feature maps; layers are shared with `net`, so training it trains them. */
export function classifierOver(net: tf.LayersModel, numClasses: number): tf.LayersModel {
  const pooled = ['f8_relu', 'f16_relu', 'f32_relu'].map((n) => tf.layers.globalAveragePooling2d({ name: `pre_gap_${n}` }).apply(net.getLayer(n).output as Sym) as Sym);
  const joined = tf.layers.concatenate({ name: 'pre_concat' }).apply(pooled) as Sym;
  const logits = tf.layers.dense({ units: numClasses, name: 'pre_logits', kernelInitializer: 'glorotUniform' }).apply(joined) as Sym;
  return tf.model({ inputs: net.inputs, outputs: logits, name: 'kestrel_pretrain' });
}

function fillBatch(src: FmnistSplit, pool: Int32Array, o: PretrainOptions, split: string, first: number, n: number, pixels: Uint8Array, labels: Int32Array): number {
  const per = o.crop * o.crop * 3;
  let k = 0;
  // Indices past `first + n` stand in for the rare blank item, deterministically.
  for (let i = first; k < n; i++) {
    const c = renderCrop(src, pool, o.seed, split, i, o);
    if (!c) continue;
    pixels.set(c.rgb, k * per);
    labels[k++] = c.label;
  }
  return k;
}

async function accuracy(model: tf.LayersModel, pixels: Uint8Array, labels: ArrayLike<number>, side: number, batch = 250): Promise<number> {
  let right = 0;
  const per = side * side * 3;
  for (let s = 0; s < labels.length; s += batch) {
    const n = Math.min(batch, labels.length - s);
    const pred = tf.tidy(() => (model.predict(normalizeInput(tf.tensor4d(pixels.subarray(s * per, (s + n) * per), [n, side, side, 3], 'int32'))) as tf.Tensor).argMax(-1));
    const p = (await pred.data()) as Int32Array;
    pred.dispose();
    for (let i = 0; i < n; i++) if (p[i] === labels[s + i]) right++;
  }
  return right / labels.length;
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  let cfg: DetectorConfig;
  let manifestBase: Record<string, unknown> | undefined;
  const net0 = (c: DetectorConfig): tf.LayersModel => buildNetwork(c, { flexibleInput: true });
  let net: tf.LayersModel;
  if (o.initFrom) {
    manifestBase = JSON.parse(await readFile(join(o.initFrom, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    cfg = detectorConfigSchema.parse(manifestBase['config']);
    const saved = await tf.loadLayersModel(diskLoader(o.initFrom));
    net = net0(cfg);
    net.setWeights(saved.getWeights());
    saved.dispose();
    log(`initialised from ${o.initFrom}`);
  } else {
    cfg = defaultConfig(FMNIST_CLASSES.length);
    net = net0(cfg);
    log('fresh network (default anchors; train detector --init-from keeps them)');
  }
  if (cfg.numClasses !== FMNIST_CLASSES.length) throw new Error(`the detector has ${cfg.numClasses} classes; Fashion-MNIST has ${FMNIST_CLASSES.length}`);
  const clf = classifierOver(net, cfg.numClasses);
  const optimizer = tf.train.adam(o.lr);
  const trainPool = Int32Array.from({ length: o.train.count }, (_, i) => i);
  const testPool = Int32Array.from({ length: o.test.count }, (_, i) => i);
  const C = o.crop;
  const pixels = new Uint8Array(o.batch * C * C * 3);
  const labels = new Int32Array(o.batch);
  const warmup = 50;
  const t0 = Date.now();
  const elapsed = (): number => (Date.now() - t0) / 1000;
  let step = 0;
  let lossEma = NaN;
  let accEma = NaN;
  // Crop i of the run is drawn from (seed, 'pretrain', i): a new rendering (item, size, place, clutter) each time.
  while (elapsed() < o.seconds) {
    fillBatch(o.train, trainPool, o, 'pretrain', step * o.batch * 2, o.batch, pixels, labels);
    const lr = learningRate(step, elapsed() / o.seconds, o.lr, warmup);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    let correct = 0;
    const { value, grads } = tf.variableGrads(() => {
      const x = normalizeInput(tf.tensor4d(pixels, [o.batch, C, C, 3], 'int32'));
      const logits = clf.apply(x, { training: true }) as tf.Tensor2D;
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), cfg.numClasses);
      // Read inside the closure: variableGrads disposes every intermediate tensor when it returns.
      correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(y, -1)), 'int32')).dataSync()[0];
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    });
    const clipped = globalNormClip(grads, 10);
    optimizer.applyGradients(clipped.grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
    const loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(clipped.grads)]);
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step}; lower --lr`);
    step++;
    const acc = correct / o.batch;
    lossEma = Number.isNaN(lossEma) ? loss : 0.98 * lossEma + 0.02 * loss;
    accEma = Number.isNaN(accEma) ? acc : 0.98 * accEma + 0.02 * acc;
    o.onStep?.({ step, loss: lossEma, accuracy: accEma, lr, elapsed: elapsed() });
  }
  const seconds = elapsed();

  // Unseen items (t10k), rendered by the same generator with their own seed stream.
  const testPixels = new Uint8Array(o.testCount * C * C * 3);
  const testLabels = new Int32Array(o.testCount);
  fillBatch(o.test, testPool, o, 'pretrain-test', 0, o.testCount, testPixels, testLabels);
  const testAccuracyRendered = await accuracy(clf, testPixels, testLabels, C);
  const plain = new Uint8Array(o.test.count * 28 * 28 * 3);
  for (let i = 0; i < o.test.count * 28 * 28; i++) plain.fill(o.test.images[i], i * 3, i * 3 + 3);
  const testAccuracyPlain = await accuracy(clf, plain, o.test.labels, 28);
  log(`pre-training: ${step} steps, ${(seconds / 60).toFixed(1)} min; test accuracy ${(100 * testAccuracyRendered).toFixed(2)} % on ${o.testCount} rendered t10k crops, ${(100 * testAccuracyPlain).toFixed(2)} % on the plain 28×28 t10k images`);

  // The detector folder: the same network at its fixed input size with the pre-trained weights.
  await mkdir(o.out, { recursive: true });
  const fixed = buildNetwork(cfg);
  fixed.setWeights(net.getWeights());
  await fixed.save(diskSaver(o.out));
  fixed.dispose();
  const manifest = {
    ...(manifestBase ?? { kind: 'detector', input: { width: cfg.inputSize, height: cfg.inputSize, channels: 3 }, heads: [...HEADS], files: ['model.json', 'weights.bin'] }),
    name: o.name,
    version: new Date().toISOString().slice(0, 10),
    description: `kestrel CNN backbone pre-trained as a Fashion-MNIST classifier${o.initFrom ? ` from ${o.initFrom}` : ''}; heads not yet trained for it (train detector --init-from this folder)`,
    default: false,
    labels: [...FMNIST_CLASSES],
    config: cfg,
  };
  await writeFile(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const result: PretrainResult = { steps: step, seconds: Math.round(seconds), crops: step * o.batch, trainAccuracyEma: accEma, testAccuracyRendered, testAccuracyPlain };
  const metricsPath = join(o.out, 'metrics.json');
  const metrics = existsSync(metricsPath) ? (JSON.parse(await readFile(metricsPath, 'utf8')) as Record<string, unknown>) : {};
  metrics['pretraining'] = {
    data: 'Fashion-MNIST train (60,000 items) drawn on clutter by the scenes renderer; test: t10k items drawn the same way, and the plain t10k images',
    seed: o.seed, command: o.command, initFrom: o.initFrom ?? null, crop: o.crop, itemSide: [o.minSide, o.maxSide], batch: o.batch, lr: o.lr,
    ...result,
  };
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  // The classifier shares every layer but its own with `net`; disposing both would dispose those twice.
  for (const l of clf.layers) if (l.name.startsWith('pre_')) l.dispose();
  net.dispose();
  return result;
}
