// Training the region classifier. Every example is an item in a freshly rendered fmnist-scenes image (the
// same renderer, clutter and neighbours as the detection data), cut out through a box jittered the way a
// detector's boxes are off, so the classifier learns to name items from boxes like the ones it will get.
// Test: t10k items in scenes rendered from their own seed stream, cut with exact and with jittered boxes,
// and the plain 28×28 t10k images.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../../runtime/backend.js';
import { mulberry32 } from '../../runtime/random.js';
import type { FmnistSplit } from '../datasets/fmnist.js';
import { DEFAULT_SCENE, renderScene } from '../datasets/scenes.js';
import { normalizeInput } from '../detector/network.js';
import { diskLoader, diskSaver } from '../detector/weights-io.js';
// Registers the custom layer classes so a saved classifier can be read back (--init-from).
import '../backbone/fast-conv.js';
import '../backbone/batch-norm.js';
import { globalNormClip, learningRate } from '../train/trainer.js';
import type { RegionClassifierConfig } from './config.js';
import { contextSquares, cropRegions } from './crops.js';
import { buildRegionClassifier, copyMatchingWeights } from './network.js';

export interface RegionTrainOptions {
  train: FmnistSplit;
  test: FmnistSplit;
  cfg: RegionClassifierConfig;
  numClasses: number;
  out: string;
  batch: number;
  lr: number;
  seed: number;
  seconds: number;
  /** Test items to score at the end. */
  testCount: number;
  /** Standard deviation of the box jitter, as a share of the box's side. */
  jitter: number;
  /** Continue from the weights in this folder (a fresh optimizer and schedule). */
  initFrom?: string;
  command: string;
  onNote?: (line: string) => void;
  onStep?: (p: { step: number; loss: number; accuracy: number; lr: number; elapsed: number }) => void;
}

export interface RegionExamples {
  /** Scene images, normalised later: n scenes × S × S × 3. */
  images: Uint8Array;
  scenes: number;
  /** Side of the scene images in pixels. */
  side: number;
  /** Per example: its scene, its (jittered) box, its class, whether its crop is mirrored. */
  imageOf: Int32Array;
  boxes: Float32Array;
  labels: Int32Array;
  flips: boolean[];
  /** True box area in pixels, for accuracy by size. */
  areas: Float32Array;
}

const S = DEFAULT_SCENE.size;

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Jitters a box: centre moved and sides scaled by Gaussian shares of the box's size (what a detector gets wrong). */
export function jitterBox(x1: number, y1: number, x2: number, y2: number, sd: number, r: () => number): [number, number, number, number] {
  const w = x2 - x1, h = y2 - y1;
  const cx = (x1 + x2) / 2 + gaussian(r) * sd * w, cy = (y1 + y2) / 2 + gaussian(r) * sd * h;
  const nw = w * Math.exp(gaussian(r) * sd * 1.5), nh = h * Math.exp(gaussian(r) * sd * 1.5);
  return [cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2];
}

/**
 * `count` examples from scenes `first`, `first + 1`, … of (seed, split); returns them and the next scene
 * index. Scenes are whole, so a batch may hold a few more examples than asked; callers cut.
 */
export function renderExamples(src: FmnistSplit, seed: number, split: string, first: number, count: number, jitter: number, flip: boolean): { ex: RegionExamples; next: number } {
  const pool = Int32Array.from({ length: src.count }, (_, i) => i);
  const rgbs: Uint8Array[] = [];
  const imageOf: number[] = [], boxes: number[] = [], labels: number[] = [], flips: boolean[] = [], areas: number[] = [];
  let idx = first;
  while (labels.length < count) {
    const scene = renderScene(src, pool, seed, split, idx, DEFAULT_SCENE);
    const r = mulberry32((seed * 7919 + idx * 104729) >>> 0);
    idx++;
    if (scene.objects.length === 0) continue;
    for (const o of scene.objects) {
      if (labels.length === count) break;
      imageOf.push(rgbs.length);
      boxes.push(...(jitter > 0 ? jitterBox(o.x1, o.y1, o.x2, o.y2, jitter, r) : [o.x1, o.y1, o.x2, o.y2]));
      labels.push(o.classId);
      flips.push(flip && r() < 0.5);
      areas.push((o.x2 - o.x1) * (o.y2 - o.y1));
    }
    rgbs.push(scene.rgb);
  }
  const images = new Uint8Array(rgbs.length * S * S * 3);
  rgbs.forEach((v, i) => images.set(v, i * S * S * 3));
  return {
    ex: { images, scenes: rgbs.length, side: S, imageOf: Int32Array.from(imageOf), boxes: Float32Array.from(boxes), labels: Int32Array.from(labels), flips, areas: Float32Array.from(areas) },
    next: idx,
  };
}

/** The crops of a set of examples, normalised, [n, size, size, 3]. */
export function examplesToCrops(ex: RegionExamples, cfg: RegionClassifierConfig): tf.Tensor4D {
  return tf.tidy(() => {
    const imgs = normalizeInput(tf.tensor4d(ex.images, [ex.scenes, ex.side, ex.side, 3], 'int32')) as tf.Tensor4D;
    const squares = contextSquares(ex.boxes, ex.labels.length, cfg.context, ex.side, ex.side, ex.flips);
    return cropRegions(imgs, squares, ex.imageOf, cfg.inputSize);
  });
}

/** The plain 28×28 images of a split (grey to RGB), each one example whose box is the item's own pixels. */
export function plainExamples(src: FmnistSplit, count = src.count): RegionExamples {
  const side = src.rows;
  const n = Math.min(count, src.count);
  const images = new Uint8Array(n * side * side * 3);
  for (let i = 0; i < n * side * side; i++) images.fill(src.images[i], i * 3, i * 3 + 3);
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    let x1 = side, y1 = side, x2 = 0, y2 = 0;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        if (src.images[i * side * side + y * side + x] <= 20) continue;
        x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1);
      }
    }
    boxes.set(x2 > x1 ? [x1, y1, x2, y2] : [0, 0, side, side], 4 * i);
  }
  return {
    images, scenes: n, side, imageOf: Int32Array.from({ length: n }, (_, i) => i), boxes, labels: Int32Array.from(src.labels.subarray(0, n)),
    flips: new Array<boolean>(n).fill(false), areas: Float32Array.from({ length: n }, (_, i) => (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1])),
  };
}

export interface RegionAccuracy {
  all: number;
  small: number;
  medium: number;
  count: number;
  perClass: number[];
}

export async function regionAccuracy(model: tf.LayersModel, ex: RegionExamples, cfg: RegionClassifierConfig, numClasses: number): Promise<RegionAccuracy> {
  const n = ex.labels.length;
  const pred = new Int32Array(n);
  const per = ex.side * ex.side * 3;
  for (let s = 0; s < n; s += 500) {
    const e = Math.min(n, s + 500);
    // Only the chunk's own scenes go to the backend (examples come scene by scene, so they are a range):
    // all 10,000 test items' scenes at once would be gigabytes of float input.
    const first = Math.min(...ex.imageOf.subarray(s, e)), last = Math.max(...ex.imageOf.subarray(s, e));
    const part: RegionExamples = {
      ...ex, images: ex.images.subarray(first * per, (last + 1) * per), scenes: last - first + 1, imageOf: ex.imageOf.subarray(s, e).map((i) => i - first),
      boxes: ex.boxes.subarray(4 * s, 4 * e), labels: ex.labels.subarray(s, e), flips: ex.flips.slice(s, e), areas: ex.areas.subarray(s, e),
    };
    const out = tf.tidy(() => (model.predict(examplesToCrops(part, cfg)) as tf.Tensor).argMax(-1));
    pred.set((await out.data()) as Int32Array, s);
    out.dispose();
  }
  const hit = (keep: (i: number) => boolean): number => {
    let right = 0, total = 0;
    for (let i = 0; i < n; i++) if (keep(i)) { total++; if (pred[i] === ex.labels[i]) right++; }
    return total ? right / total : NaN;
  };
  return {
    all: hit(() => true),
    small: hit((i) => ex.areas[i] < 32 * 32),
    medium: hit((i) => ex.areas[i] >= 32 * 32),
    count: n,
    perClass: Array.from({ length: numClasses }, (_, c) => hit((i) => ex.labels[i] === c)),
  };
}

/**
 * Test accuracy: t10k items in scenes of the 'region-test' stream (seed), cut with exact and with jittered
 * boxes, and the plain 28×28 t10k images (the benchmark's own test set, for comparison with the
 * Fashion-MNIST classifiers' 91–93 %).
 */
export async function testRegionClassifier(model: tf.LayersModel, test: FmnistSplit, cfg: RegionClassifierConfig, numClasses: number, seed: number, count: number, jitter: number): Promise<{ exact: RegionAccuracy; jittered: RegionAccuracy; plain: RegionAccuracy }> {
  const exact = await regionAccuracy(model, renderExamples(test, seed, 'region-test', 0, count, 0, false).ex, cfg, numClasses);
  const jittered = await regionAccuracy(model, renderExamples(test, seed, 'region-test', 0, count, jitter, false).ex, cfg, numClasses);
  const plain = await regionAccuracy(model, plainExamples(test), cfg, numClasses);
  return { exact, jittered, plain };
}

export async function trainRegionClassifier(o: RegionTrainOptions): Promise<{ steps: number; seconds: number; exact: RegionAccuracy; jittered: RegionAccuracy; plain: RegionAccuracy }> {
  const model = buildRegionClassifier(o.cfg, o.numClasses);
  if (o.initFrom) {
    const saved = await tf.loadLayersModel(diskLoader(o.initFrom));
    const { copied, fresh } = copyMatchingWeights(saved, model);
    saved.dispose();
    if (copied.length === 0) throw new Error(`--init-from ${o.initFrom}: no layer matches this classifier's (same --input and --channels?)`);
    if (fresh.length) o.onNote?.(`warm start: ${copied.length} layers from ${o.initFrom}; new: ${fresh.join(', ')}`);
  }
  const optimizer = tf.train.adam(o.lr);
  const t0 = Date.now();
  const elapsed = (): number => (Date.now() - t0) / 1000;
  let step = 0, scene = 0, lossEma = NaN, accEma = NaN;
  while (elapsed() < o.seconds) {
    const { ex, next } = renderExamples(o.train, o.seed, 'region-train', scene, o.batch, o.jitter, true);
    scene = next;
    const lr = learningRate(step, elapsed() / o.seconds, o.lr, 50);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const crops = examplesToCrops(ex, o.cfg);
    let correct = 0;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(crops, { training: true }) as tf.Tensor2D;
      const y = tf.oneHot(tf.tensor1d(ex.labels, 'int32'), o.numClasses);
      correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.tensor1d(ex.labels, 'int32')), 'int32')).dataSync()[0];
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    });
    const clipped = globalNormClip(grads, 10);
    optimizer.applyGradients(clipped.grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
    const loss = (await value.data())[0];
    tf.dispose([value, crops, ...Object.values(clipped.grads)]);
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step}; lower --lr`);
    step++;
    lossEma = Number.isNaN(lossEma) ? loss : 0.98 * lossEma + 0.02 * loss;
    accEma = Number.isNaN(accEma) ? correct / o.batch : 0.98 * accEma + 0.02 * (correct / o.batch);
    o.onStep?.({ step, loss: lossEma, accuracy: accEma, lr, elapsed: elapsed() });
  }
  const seconds = Math.round(elapsed());
  const { exact, jittered, plain } = await testRegionClassifier(model, o.test, o.cfg, o.numClasses, o.seed, o.testCount, o.jitter);
  await mkdir(o.out, { recursive: true });
  await model.save(diskSaver(o.out));
  const metricsPath = join(o.out, 'metrics.json');
  // A warm start into a new folder carries the records of the folder it started from.
  const basePath = existsSync(metricsPath) || !o.initFrom ? metricsPath : join(o.initFrom, 'metrics.json');
  const metrics = existsSync(basePath) ? (JSON.parse(await readFile(basePath, 'utf8')) as Record<string, unknown>) : {};
  delete metrics['evaluation'];
  // A warm start keeps the earlier runs' records, newest last.
  if (metrics['training']) metrics['previous'] = [...((metrics['previous'] as unknown[] | undefined) ?? []), metrics['training']];
  metrics['training'] = {
    data: 'Fashion-MNIST train items in freshly rendered fmnist-scenes images (renderer defaults), cut through jittered boxes; test: t10k items in scenes from their own seed stream',
    seed: o.seed, command: o.command, initFrom: o.initFrom ?? null, config: o.cfg, batch: o.batch, lr: o.lr, jitter: o.jitter, steps: step, seconds, examples: step * o.batch,
    testAccuracyExactBoxes: exact, testAccuracyJitteredBoxes: jittered, testAccuracyPlainT10k: plain,
  };
  await writeFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  model.dispose();
  return { steps: step, seconds, exact, jittered, plain };
}
