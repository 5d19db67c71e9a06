import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { manifestSchema } from '../../../src/runtime/manifest.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import { loadFaceDetector } from '../../../src/vision/faces/loader.js';
import { disposeWeightMap, loadWeightMap } from '../../../src/vision/faces/weights.js';
import { tinyFaceGridSize } from '../../../src/vision/faces/tiny-yolov2/config.js';
import { anchorsInPixels } from '../../../src/vision/faces/tiny-yolov2/head.js';
import { yxToXy } from '../../../src/vision/faces/ssd-mobilenetv1/head.js';
import { MODEL_DIR, loadFacesModel, photographs, pixelsAt } from './peer-helpers.js';

let model: DetectorModel;
let tmp: string;

before(async () => {
  await initBackend();
  model = await loadFacesModel();
  tmp = await mkdtemp(join(tmpdir(), 'kestrel-faces-'));
});

after(async () => {
  model?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

const TINY = 'tiny_face_detector_model-weights_manifest.json';

test('quantized weights decode to min + scale × byte, read straight from the shard', async () => {
  const manifest = JSON.parse(await readFile(join(MODEL_DIR, TINY), 'utf8'));
  const bin = await readFile(join(MODEL_DIR, 'tiny_face_detector_model.bin'));
  const entries = manifest[0].weights as { name: string; shape: number[]; quantization: { min: number; scale: number; dtype: string } }[];
  const wm = await loadWeightMap(join(MODEL_DIR, TINY));
  try {
    let offset = 0;
    for (const e of entries) {
      const n = e.shape.reduce((a, b) => a * b, 1);
      assert.equal(e.quantization.dtype, 'uint8');
      const got = wm[e.name].dataSync();
      for (const k of [0, n >> 1, n - 1]) {
        const want = e.quantization.min + e.quantization.scale * bin[offset + k];
        assert.ok(Math.abs(got[k] - want) < 1e-6, `${e.name}[${k}] = ${got[k]}, expected ${want}`);
      }
      offset += n;
    }
    assert.equal(offset, bin.length);
  } finally {
    disposeWeightMap(wm);
  }
});

test('a truncated shard or a shard outside the folder is refused', async () => {
  const bin = await readFile(join(MODEL_DIR, 'tiny_face_detector_model.bin'));
  await copyFile(join(MODEL_DIR, TINY), join(tmp, TINY));
  await writeFile(join(tmp, 'tiny_face_detector_model.bin'), bin.subarray(0, bin.length - 10));
  await assert.rejects(loadWeightMap(join(tmp, TINY)), /shards hold/);
  const m = JSON.parse(await readFile(join(MODEL_DIR, TINY), 'utf8'));
  m[0].paths = ['../etc/passwd'];
  await writeFile(join(tmp, 'escape.json'), JSON.stringify(m));
  await assert.rejects(loadWeightMap(join(tmp, 'escape.json')), /escapes/);
  await writeFile(join(tmp, 'bad.json'), '{"weights": []}');
  await assert.rejects(loadWeightMap(join(tmp, 'bad.json')), /not a tfjs weights manifest/);
});

test('tiny detector geometry: grid per input side and anchors in pixels', () => {
  assert.equal(tinyFaceGridSize(416), 13);
  assert.equal(tinyFaceGridSize(512), 16);
  assert.equal(tinyFaceGridSize(320), 10);
  const a = anchorsInPixels(32, 32);
  assert.equal(a.length, 10);
  assert.ok(Math.abs(a[0] - 1.603231 * 32) < 1e-9 && Math.abs(a[9] - 10.66308 * 32) < 1e-9);
});

test('SSD layout adapter: (dy,dx,dh,dw) → (dx,dy,dw,dh)', () => {
  assert.deepEqual(Array.from(yxToXy(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]))), [2, 1, 4, 3, 6, 5, 8, 7]);
});

test('the faces model describes itself: heads, labels, sizes, NMS defaults', () => {
  assert.equal(model.kind, 'detector');
  assert.deepEqual(model.heads, ['ssd', 'yolo']);
  assert.equal(model.defaultHead, 'ssd');
  assert.deepEqual(model.labels, ['face']);
  assert.deepEqual(model.inputSize, { width: 512, height: 512 });
  assert.deepEqual(model.headInputSize?.('yolo'), { width: 416, height: 416 });
  assert.deepEqual(model.headInputSize?.('ssd'), { width: 512, height: 512 });
  assert.equal(model.defaultIouThreshold?.('yolo'), 0.4);
  assert.equal(model.defaultIouThreshold?.('ssd'), 0.5);
  assert.equal(model.defaultScoreThreshold, 0.5);
  assert.equal(model.letterboxAlign, 'top-left');
  assert.equal(model.inputResize, 'pad-square-bilinear');
  assert.equal(model.letterboxFill, 0);
});

test('a batch of two gives the same candidates as two single images', async () => {
  const [a, b] = await photographs();
  for (const head of ['yolo', 'ssd']) {
    const side = model.headInputSize!(head).width;
    const pa = await pixelsAt(a.image, side);
    const pb = await pixelsAt(b.image, side);
    const both = new Uint8Array(pa.length * 2);
    both.set(pa);
    both.set(pb, pa.length);
    const batch = await model.predict(both, 2, head, { scoreThreshold: 0.3 });
    const single = [(await model.predict(pa, 1, head, { scoreThreshold: 0.3 }))[0], (await model.predict(pb, 1, head, { scoreThreshold: 0.3 }))[0]];
    assert.equal(batch.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.ok(single[i].scores.length > 0, `${head}: no candidates in image ${i}`);
      assert.equal(batch[i].scores.length, single[i].scores.length);
      for (let k = 0; k < single[i].boxes.length; k++) assert.ok(Math.abs(batch[i].boxes[k] - single[i].boxes[k]) < 1e-2);
      for (const s of batch[i].scores) assert.ok(s >= 0.3 && s <= 1);
      assert.ok(batch[i].classes.every((c) => c === 0));
    }
  }
});

test('predict refuses pixels of the wrong size and unknown heads', async () => {
  await assert.rejects(model.predict(new Uint8Array(300 * 300 * 3), 1, 'ssd'), /expected 1 image/);
  await assert.rejects(model.predict(new Uint8Array(416 * 416 * 3), 1, 'ssd'), /expected 1 image/);
  await assert.rejects(model.predict(new Uint8Array(10), 1, 'ssd'), /not 1 RGB image/);
  await assert.rejects(model.predict(new Uint8Array(512 * 512 * 3), 1, 'sliding'), /unknown head/);
});

async function manifestWith(patch: (m: Record<string, unknown>) => void): Promise<ReturnType<typeof manifestSchema.parse>> {
  const m = JSON.parse(await readFile(join(MODEL_DIR, 'manifest.json'), 'utf8'));
  patch(m);
  return manifestSchema.parse(m);
}

test('the loader validates its config', async () => {
  const bad: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['unknown head', (m) => (m.heads = ['ssd', 'retina']), /unknown head/],
    ['head without weights', (m) => delete (m.config as { heads: Record<string, unknown> }).heads.yolo, /no config.heads.yolo/],
    ['ssd at another size', (m) => ((m.config as { heads: { ssd: { inputSize: number } } }).heads.ssd.inputSize = 416), /512/],
    ['yolo not a multiple of 32', (m) => ((m.config as { heads: { yolo: { inputSize: number } } }).heads.yolo.inputSize = 400), /32/],
    ['labels', (m) => (m.labels = ['person']), /labels/],
    ['weights outside the folder', (m) => ((m.config as { heads: { ssd: { weights: string } } }).heads.ssd.weights = '../x.json'), /outside/],
    ['unknown input resize', (m) => ((m.config as { inputResize: string }).inputResize = 'nearest'), /inputResize/],
  ];
  for (const [what, patch, re] of bad) {
    await assert.rejects(loadFaceDetector(await manifestWith(patch), MODEL_DIR), re, what);
  }
});

test('a weights manifest missing a tensor fails to load and leaks no tensors', async () => {
  for (const [file, bin, victim] of [
    [TINY, 'tiny_face_detector_model.bin', 'conv5/bias'],
    ['ssd_mobilenetv1_model-weights_manifest.json', 'ssd_mobilenetv1_model.bin', 'Prediction/BoxPredictor_5/ClassPredictor/biases'],
  ]) {
    const m = JSON.parse(await readFile(join(MODEL_DIR, file), 'utf8'));
    for (const e of m[0].weights) if (e.name === victim) e.name = 'renamed';
    await writeFile(join(tmp, file), JSON.stringify(m));
    await copyFile(join(MODEL_DIR, bin), join(tmp, bin));
  }
  const before = tf.memory().numTensors;
  for (const head of ['yolo', 'ssd']) {
    const man = await manifestWith((x) => {
      x.heads = [head];
      const heads = (x.config as { heads: Record<string, unknown> }).heads;
      delete heads[head === 'yolo' ? 'ssd' : 'yolo'];
    });
    await assert.rejects(loadFaceDetector(man, tmp), /missing tensor/);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('a yolo-only model serves yolo as its default head', async () => {
  const m = await manifestWith((x) => {
    x.heads = ['yolo'];
    delete (x.config as { heads: Record<string, unknown> }).heads.ssd;
    x.input = { width: 416, height: 416 };
  });
  const only = (await loadFaceDetector(m, MODEL_DIR)) as DetectorModel;
  try {
    assert.deepEqual(only.heads, ['yolo']);
    assert.equal(only.defaultHead, 'yolo');
    const [c] = await only.predict(await pixelsAt((await photographs())[0].image, 416), 1, 'yolo', { scoreThreshold: 0.5 });
    assert.ok(c.scores.length >= 1);
  } finally {
    only.dispose();
  }
});

test("config.inputResize chooses the decode step: face-api's resize by default, sharp's letterbox on request", async () => {
  const dflt = await loadFaceDetector(await manifestWith((m) => delete (m.config as { inputResize?: string }).inputResize), MODEL_DIR);
  const cheap = await loadFaceDetector(await manifestWith((m) => ((m.config as { inputResize: string }).inputResize = 'letterbox')), MODEL_DIR);
  try {
    assert.equal((dflt as DetectorModel).inputResize, 'pad-square-bilinear');
    assert.equal((cheap as DetectorModel).inputResize, 'letterbox');
  } finally {
    dflt.dispose();
    cheap.dispose();
  }
});
