import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { normalizeInput } from '../../../src/vision/detector/network.js';
import { contextSquares, cropRegions } from '../../../src/vision/region-classifier/crops.js';
import { mixClassProbs, rescore } from '../../../src/vision/region-classifier/combine.js';
import { regionClassifierSchema } from '../../../src/vision/region-classifier/config.js';
import { buildRegionClassifier, copyMatchingWeights } from '../../../src/vision/region-classifier/network.js';
import { owners, RegionStage } from '../../../src/vision/region-classifier/stage.js';
import { examplesToCrops, jitterBox, regionAccuracy, renderExamples, trainRegionClassifier } from '../../../src/vision/region-classifier/train.js';
import { decodeSsd } from '../../../src/vision/heads/ssd/decode.js';
import { decodeYolo } from '../../../src/vision/heads/yolo/decode.js';
import { decodeWindows } from '../../../src/vision/heads/sliding-window/windows.js';
import { mergeCandidates, pick, type Candidates } from '../../../src/vision/candidates.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';
import { run as evalRegionClassifier } from '../../../src/cli/eval-region-classifier.js';
import type { FmnistSplit } from '../../../src/vision/datasets/fmnist.js';

/** Writes a split in Fashion-MNIST's idx format (uncompressed). */
async function writeIdx(dir: string, split: string, src: FmnistSplit): Promise<void> {
  await mkdir(dir, { recursive: true });
  const img = Buffer.alloc(16 + src.images.length);
  img.writeUInt32BE(0x803, 0);
  img.writeUInt32BE(src.count, 4);
  img.writeUInt32BE(src.rows, 8);
  img.writeUInt32BE(src.cols, 12);
  img.set(src.images, 16);
  const lab = Buffer.alloc(8 + src.count);
  lab.writeUInt32BE(0x801, 0);
  lab.writeUInt32BE(src.count, 4);
  lab.set(src.labels, 8);
  await writeFile(join(dir, `${split}-images-idx3-ubyte`), img);
  await writeFile(join(dir, `${split}-labels-idx1-ubyte`), lab);
}

const close = (a: number, b: number, eps = 1e-5): void => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

test('contextSquares: a square on the box centre, longer side plus the margin; flip swaps the x ends', () => {
  // A 10×20 box centred at (20, 30) in a 101-px image (pixel centres 0…100, so /100 normalises).
  const [y1, x1, y2, x2] = contextSquares([15, 20, 25, 40], 1, 0.1, 101, 101);
  close(y1, (30 - 12) / 100);
  close(y2, (30 + 12) / 100);
  close(x1, (20 - 12) / 100);
  close(x2, (20 + 12) / 100);
  const f = contextSquares([15, 20, 25, 40], 1, 0.1, 101, 101, [true]);
  close(f[1], x2);
  close(f[3], x1);
});

test('cropRegions: a mirrored crop is the plain crop reversed left to right', async () => {
  await initBackend();
  const img = tf.tensor4d(Float32Array.from({ length: 8 * 8 }, (_, i) => i), [1, 8, 8, 1]);
  const box = [1, 1, 6, 6];
  const plain = cropRegions(img, contextSquares(box, 1, 0, 8, 8), Int32Array.from([0]), 6);
  const mirrored = cropRegions(img, contextSquares(box, 1, 0, 8, 8, [true]), Int32Array.from([0]), 6);
  const back = tf.reverse(mirrored, 2);
  assert.deepEqual(Array.from(await back.data()).map((v) => Math.round(v * 1e4)), Array.from(await plain.data()).map((v) => Math.round(v * 1e4)));
  tf.dispose([img, plain, mirrored, back]);
});

test('mixClassProbs: weight 0 is the head, weight 1 the classifier, 0.5 the normalised geometric mean', () => {
  const head = [0.7, 0.2, 0.1], clf = [0.1, 0.6, 0.3];
  const out = new Float32Array(3);
  mixClassProbs(head, clf, 0, out).forEach((v, i) => close(v, head[i], 1e-4));
  mixClassProbs(head, clf, 1, out).forEach((v, i) => close(v, clf[i], 1e-4));
  const g = head.map((h, i) => Math.sqrt(h * clf[i]));
  const sum = g.reduce((a, b) => a + b, 0);
  mixClassProbs(head, clf, 0.5, out).forEach((v, i) => close(v, g[i] / sum, 1e-4));
});

test('rescore: score = objectness × mixed probability of the best class; multi-label emits every class above the threshold', () => {
  const inp = {
    boxes: Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30]),
    objectness: Float32Array.from([0.9, 0.2]),
    headProbs: Float32Array.from([0.6, 0.4, 0.5, 0.5]),
    clfProbs: Float32Array.from([0.1, 0.9, 0.5, 0.5]),
  };
  const one = rescore(inp, 2, 1, 0.15, false);
  assert.deepEqual(Array.from(one.classes), [1]);
  close(one.scores[0], 0.9 * 0.9, 1e-4);
  assert.deepEqual(Array.from(one.boxes), [0, 0, 10, 10]);
  const many = rescore(inp, 2, 1, 0.05, true);
  assert.deepEqual(Array.from(many.classes), [0, 1, 0, 1]);
  close(many.scores[2], 0.1, 1e-4);
});

test('decoders with withClassProbs: each candidate carries its class distribution, and score / P(class) is the objectness', () => {
  // SSD: one prior; background 0.4, classes 0.1, 0.3, 0.2.
  const priors = Float32Array.from([0.5, 0.5, 0.2, 0.2]);
  const ssd = decodeSsd(new Float32Array(4), Float32Array.from([0.4, 0.1, 0.3, 0.2]), { priors, variances: [0.1, 0.2], numClasses: 4, background: true, inputWidth: 100, inputHeight: 100, scoreThreshold: 0.01, withClassProbs: true });
  assert.ok(ssd.classProbs);
  [1 / 6, 3 / 6, 2 / 6].forEach((v, i) => close(ssd.classProbs?.[i] ?? NaN, v));
  close(ssd.scores[0] / (ssd.classProbs?.[ssd.classes[0]] ?? NaN), 0.6);
  // YOLO: one cell, one anchor; objectness logit 0 → 0.5.
  const raw = Float32Array.from([0, 0, 0, 0, 0, Math.log(3), 0]);
  const yolo = decodeYolo(raw, { gridH: 1, gridW: 1, anchors: [10, 10], numClasses: 2, inputWidth: 32, inputHeight: 32, classActivation: 'softmax', scoreThreshold: 0.01, withClassProbs: true });
  close(yolo.classProbs?.[0] ?? NaN, 0.75);
  close(yolo.scores[0] / 0.75, 0.5);
  // Sliding windows: the same as SSD's background convention.
  const sw = decodeWindows(Float32Array.from([0.5, 0.25, 0.25]), Float32Array.from([0, 0, 8, 8]), { numClassesWithBackground: 3, scoreThreshold: 0.01, multiLabel: false, withClassProbs: true });
  assert.deepEqual(Array.from(sw.classProbs ?? []), [0.5, 0.5]);
  assert.equal(decodeWindows(Float32Array.from([0.5, 0.25, 0.25]), Float32Array.from([0, 0, 8, 8]), { numClassesWithBackground: 3, scoreThreshold: 0.01 }).classProbs, undefined);
  // Merging and picking keep rows aligned with their candidates.
  const both = mergeCandidates([ssd, sw]);
  assert.deepEqual(Array.from(pick(both, [1]).classProbs ?? []), [0.5, 0.5, 0]);
});

test('jitterBox: no jitter returns the box; renderExamples is deterministic and labels every item', () => {
  assert.deepEqual(jitterBox(2, 4, 12, 24, 0, () => 0.3), [2, 4, 12, 24]);
  const src = fakeFmnist(30);
  const a = renderExamples(src, 3, 'x', 0, 20, 0.1, true);
  const b = renderExamples(src, 3, 'x', 0, 20, 0.1, true);
  assert.equal(a.ex.labels.length, 20);
  assert.deepEqual(a.ex.boxes, b.ex.boxes);
  assert.deepEqual(a.ex.images, b.ex.images);
  assert.ok(a.next > 0);
  for (const l of a.ex.labels) assert.ok(l >= 0 && l < 10);
});

test('RegionStage.refine: weight 0 gives back the head\'s candidates; a duplicate box shares the reading of the box that covers it', async () => {
  await initBackend();
  const cfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8] });
  const stage = new RegionStage(cfg, buildRegionClassifier(cfg, 3), 3);
  try {
    // Two near-duplicate boxes (IoU 0.82) on one item (objectness 0.8 and 0.6), and a second item (0.5).
    const cands: Candidates = {
      boxes: Float32Array.from([10, 10, 30, 30, 11, 11, 31, 31, 40, 40, 60, 50]),
      scores: Float32Array.from([0.6, 0.3, 0.4]),
      classes: Int32Array.from([0, 1, 2]),
      classProbs: Float32Array.from([0.75, 0.25, 0, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8]),
    };
    const pixels = new Uint8Array(64 * 64 * 3).fill(90);
    const [same] = await stage.refine(pixels, 1, 64, [cands], { scoreThreshold: 0.01, multiLabel: false, weight: 0 });
    assert.deepEqual(Array.from(same.classes), [0, 1, 2]);
    [0.6, 0.3, 0.4].forEach((v, i) => close(same.scores[i], v, 1e-3));
    assert.deepEqual(same.boxes, cands.boxes);
    // With weight 1 the classes are the classifier's and the scores objectness × its probability; the
    // duplicate (objectness 0.6) was not read itself but takes the reading of the box that covers it.
    const [theirs] = await stage.refine(pixels, 1, 64, [cands], { scoreThreshold: 0, multiLabel: true, weight: 1 });
    assert.equal(theirs.scores.length, 9);
    const clf = await stage.classify(pixels, 1, 64, Float32Array.from([10, 10, 30, 30]), Int32Array.from([0]));
    for (let k = 0; k < 3; k++) {
      close(theirs.scores[k], 0.8 * clf[k], 1e-3);
      close(theirs.scores[3 + k], 0.6 * clf[k], 1e-3);
    }
    const before = tf.memory().numTensors;
    await stage.refine(pixels, 1, 64, [cands], { scoreThreshold: 0.01, multiLabel: false, weight: 0.5 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  } finally {
    stage.dispose();
  }
});

test('train region-classifier: a short run writes weights that RegionStage.load reads, and test accuracies', async () => {
  await initBackend();
  const out = await mkdtemp(join(tmpdir(), 'kestrel-rc-'));
  try {
    const cfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8] });
    const losses: number[] = [];
    const r = await trainRegionClassifier({
      train: fakeFmnist(60), test: fakeFmnist(30, 5), cfg, numClasses: 10, out, batch: 8, lr: 0.003, seed: 1, seconds: 3,
      testCount: 30, jitter: 0.08, command: 'test', onStep: (p) => losses.push(p.loss),
    });
    assert.ok(r.steps >= 2 && r.steps === losses.length, `${r.steps} steps`);
    assert.equal(r.exact.count, 30);
    for (const a of [r.exact.all, r.jittered.all, r.plain.all]) assert.ok(a >= 0 && a <= 1);
    assert.equal(r.plain.count, 30);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { training: { steps: number } };
    assert.equal(metrics.training.steps, r.steps);
    // A warm start continues from the saved weights and keeps the first run's record.
    const again = await trainRegionClassifier({
      train: fakeFmnist(60), test: fakeFmnist(30, 5), cfg, numClasses: 10, out, batch: 8, lr: 0.001, seed: 2, seconds: 1,
      testCount: 30, jitter: 0.08, command: 'test again', initFrom: out,
    });
    const m2 = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { training: { steps: number; initFrom: string }; previous: { steps: number }[] };
    assert.equal(m2.training.steps, again.steps);
    assert.equal(m2.training.initFrom, out);
    assert.deepEqual(m2.previous.map((p) => p.steps), [r.steps]);
    // Into a new folder, the record of the folder it started from comes along.
    const out2 = join(out, 'next');
    const third = await trainRegionClassifier({
      train: fakeFmnist(60), test: fakeFmnist(30, 5), cfg, numClasses: 10, out: out2, batch: 8, lr: 0.001, seed: 3, seconds: 1,
      testCount: 30, jitter: 0.08, command: 'test third', initFrom: out,
    });
    const m4 = JSON.parse(await readFile(join(out2, 'metrics.json'), 'utf8')) as { training: { steps: number }; previous: { steps: number }[] };
    assert.equal(m4.training.steps, third.steps);
    assert.deepEqual(m4.previous.map((p) => p.steps), [r.steps, again.steps]);
    const stage = await RegionStage.load(join(out, '..'), { ...cfg, dir: out.split('/').pop() as string }, 10);
    const probs = await stage.classify(new Uint8Array(32 * 32 * 3), 1, 32, Float32Array.from([4, 4, 20, 20]), Int32Array.from([0]));
    close(probs.reduce((a, b) => a + b, 0), 1, 1e-4);
    stage.dispose();
    // A folder that is not there is an error.
    await assert.rejects(RegionStage.load(join(out, '..'), regionClassifierSchema.parse({ ...cfg, dir: 'no-such-classifier' }), 10));
    await assert.rejects(RegionStage.load(join(out, '..'), { ...cfg, dir: out.split('/').pop() as string }, 3), /gives 10 classes; the detector has 3/);

    // kestrel eval region-classifier reads the crop settings from metrics.json and records its figures.
    const fm = join(out, 'fmnist');
    await writeIdx(fm, 't10k', fakeFmnist(30, 5));
    const printed: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void printed.push(a.join(' '));
    try {
      assert.equal(await evalRegionClassifier(['--model', out, '--fmnist', fm, '--test', '30', '--json', '--write-metrics']), 0);
    } finally {
      console.log = log;
    }
    const j = JSON.parse(printed.at(-1) ?? '') as { exact: { count: number; all: number }; plain: { count: number } };
    assert.equal(j.exact.count, 30);
    assert.equal(j.plain.count, 30);
    const m3 = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { evaluation: { testAccuracyExactBoxes: { all: number } } };
    assert.equal(m3.evaluation.testAccuracyExactBoxes.all, j.exact.all);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('owners: each candidate belongs to the kept box that covers it best (IoU ≥ 0.6), or to none', () => {
  const boxes = Float32Array.from([0, 0, 10, 10, 1, 0, 11, 10, 20, 0, 30, 10, 0, 0, 10, 20, 21, 0, 31, 10]);
  assert.deepEqual(Array.from(owners(boxes, Int32Array.from([2, 0]))), [1, 1, 0, -1, 0]);
});

test('regionAccuracy: reading the examples in chunks of scenes gives the same predictions as all at once', async () => {
  await initBackend();
  const cfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8] });
  const net = buildRegionClassifier(cfg, 10);
  const { ex } = renderExamples(fakeFmnist(40), 1, 'chunks', 0, 700, 0.08, false);
  const all = tf.tidy(() => (net.predict(examplesToCrops(ex, cfg)) as tf.Tensor).argMax(-1));
  const pred = await all.data();
  all.dispose();
  const right = ex.labels.reduce((a, l, i) => a + (pred[i] === l ? 1 : 0), 0);
  const acc = await regionAccuracy(net, ex, cfg, 10);
  assert.equal(acc.count, 700);
  close(acc.all, right / 700, 1e-9);
  net.dispose();
});

test("readout 'grid': one more stride-2 stage read as a flattened map; a warm start from 'average' keeps the shared layers and starts the rest fresh; the stage reads either as the classifier alone", async () => {
  await initBackend();
  const avg = buildRegionClassifier({ inputSize: 16, channels: [4, 8, 8], readout: 'average' }, 10);
  const grid = buildRegionClassifier({ inputSize: 16, channels: [4, 8, 8], readout: 'grid' }, 10);
  assert.deepEqual(grid.getLayer('rc_flatten').outputShape, [null, (16 / 8) * (16 / 8) * 8]);
  assert.deepEqual(grid.outputs[0].shape, [null, 10]);
  const before = grid.getLayer('rc_grid_logits').getWeights()[0].arraySync();
  const { copied, fresh } = copyMatchingWeights(avg, grid);
  assert.deepEqual(fresh, ['rc4a_conv', 'rc4a_bn', 'rc_grid_logits']);
  assert.ok(copied.includes('rc1a_conv') && copied.includes('rc3b_bn') && !copied.includes('rc_logits'));
  for (const name of copied) {
    const a = avg.getLayer(name).getWeights(), b = grid.getLayer(name).getWeights();
    for (let i = 0; i < a.length; i++) assert.deepEqual(await b[i].data(), await a[i].data(), name);
  }
  assert.deepEqual(grid.getLayer('rc_grid_logits').getWeights()[0].arraySync(), before);
  // The wider layers of another width match nothing, so none are copied.
  const wide = buildRegionClassifier({ inputSize: 16, channels: [6, 8, 8] }, 10);
  assert.ok(!copyMatchingWeights(wide, avg).copied.includes('rc1a_conv'));
  // Read through RegionStage (the folded network), a grid classifier gives one distribution per box.
  const pixels = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 37) % 251);
  const boxes = Float32Array.from([4, 4, 20, 20, 2, 2, 30, 12]);
  const cfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8], readout: 'grid' });
  // Each net alone, through the layers model: the stage's (folded) reading must match it.
  const alone = (net: tf.LayersModel): Float32Array => tf.tidy(() => {
    const imgs = normalizeInput(tf.tensor4d(pixels, [1, 32, 32, 3], 'int32')) as tf.Tensor4D;
    const crops = cropRegions(imgs, contextSquares(boxes, 2, cfg.context, 32, 32), Int32Array.from([0, 0]), 16);
    return tf.softmax(net.predict(crops) as tf.Tensor).dataSync() as Float32Array;
  });
  const pGrid = alone(grid), pAvg = alone(avg);
  // The config's readout must describe the first classifier.
  assert.throws(() => new RegionStage(regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8] }), grid, 10), /has the grid readout; its config says average/);
  assert.throws(() => new RegionStage(cfg, avg, 10), /has the average readout; its config says grid/);
  // Each readout through the stage reads as the classifier alone.
  const avgCfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8], readout: 'average' });
  for (const [c, net, want] of [[cfg, grid, pGrid], [avgCfg, avg, pAvg]] as const) {
    const stage = new RegionStage(c, net, 10);
    const probs = await stage.classify(pixels, 1, 32, boxes, Int32Array.from([0, 0]));
    assert.equal(probs.length, 20);
    probs.forEach((p, i) => close(p, want[i], 1e-4));
    close(probs.subarray(0, 10).reduce((a, b) => a + b, 0), 1, 1e-4);
  }
  wide.dispose();
});

test('grid stage width and depth: a deeper stage names its convs on from rc4a, and a warm start copies what still fits', async () => {
  await initBackend();
  const base = buildRegionClassifier({ inputSize: 16, channels: [4, 8, 8], readout: 'grid' }, 10);
  const deep = buildRegionClassifier({ inputSize: 16, channels: [4, 8, 8], readout: 'grid', gridDepth: 3 }, 10);
  const wide = buildRegionClassifier({ inputSize: 16, channels: [4, 8, 8], readout: 'grid', gridChannels: 12, gridDepth: 2 }, 10);
  assert.deepEqual(deep.getLayer('rc4c_conv').outputShape, [null, 2, 2, 8]);
  assert.throws(() => deep.getLayer('rc4d_conv'));
  assert.deepEqual(wide.getLayer('rc4b_conv').outputShape, [null, 2, 2, 12]);
  assert.deepEqual(wide.getLayer('rc_flatten').outputShape, [null, 2 * 2 * 12]);
  // Same width: the first grid conv and the readout keep their shapes, so only the new convs start fresh.
  assert.deepEqual(copyMatchingWeights(base, deep).fresh, ['rc4b_conv', 'rc4b_bn', 'rc4c_conv', 'rc4c_bn']);
  // Wider: the whole grid stage and the readout start fresh; the three stages before it are copied.
  const w = copyMatchingWeights(base, wide);
  assert.deepEqual(w.fresh, ['rc4a_conv', 'rc4a_bn', 'rc4b_conv', 'rc4b_bn', 'rc_grid_logits']);
  assert.ok(w.copied.includes('rc3b_conv'));
  // The schema rejects a depth outside 1–4 and leaves the width to the third stage unless given.
  assert.equal(regionClassifierSchema.parse({ readout: 'grid' }).gridChannels, undefined);
  assert.throws(() => regionClassifierSchema.parse({ readout: 'grid', gridDepth: 0 }));
  // Loading checks the grid stage that the config describes against the weights.
  const wideCfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8], readout: 'grid', gridChannels: 12, gridDepth: 2 });
  const loaded = new RegionStage(wideCfg, wide, 10);
  assert.throws(() => new RegionStage({ ...wideCfg, gridDepth: 1 }, wide, 10), /grid stage of 2 conv\(s\) × 12 channels; its config says 1 × 12/);
  assert.throws(() => new RegionStage({ ...wideCfg, gridChannels: undefined }, wide, 10), /its config says 2 × 8/);
  loaded.dispose(); // `wide` with it
  for (const m of [base, deep]) m.dispose();
});
