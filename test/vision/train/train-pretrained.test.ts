// Heads on NanoDet's frozen COCO features: features are computed once per (image, view) and cached, the
// heads train on them, resume reads the cache, and the written folder loads with its backbone and predicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { writeScenes } from '../../../src/vision/datasets/scenes.js';
import { DEFAULT_AUGMENT, train, type PretrainedOptions, type TrainOptions } from '../../../src/vision/train/trainer.js';
import { manifestSchema, type Manifest } from '../../../src/runtime/manifest.js';
import { loaderFor } from '../../../src/runtime/loaders.js';
import { detectorConfigSchema } from '../../../src/vision/detector/config.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';
import { NanoDetFeatures } from '../../../src/vision/nanodet/features.js';

test('heads train on cached frozen COCO features, resume from the cache, and the folder serves with its backbone', async () => {
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-pretrained-'));
  try {
    const data = join(root, 'data');
    const out = join(root, 'models', 'tiny-coco');
    const cacheDir = join(root, 'cache');
    const src = fakeFmnist(60);
    await writeScenes(src, src, data, { seed: 2, size: 64, counts: { train: 8, val: 0, test: 2 } });
    const losses: number[] = [];
    const logs: string[] = [];
    const opts: TrainOptions = {
      data, out, name: 'tiny-coco', heads: ['yolo', 'ssd', 'sliding-window'], epochs: 12, batch: 4, lr: 0.01, seed: 3,
      resume: false, limit: 0, checkpointEvery: 4, clipNorm: 10, augment: DEFAULT_AUGMENT, inputSize: 64, maxSeconds: 0, command: 'test',
      pretrained: { dir: 'models/coco', tap: 'pan', adapter: { depth: 1, channels: 16 }, views: 2, cacheDir, threads: 2 },
      threads: 2,
      onProgress: (p) => losses.push(p.stepLoss), log: (l) => logs.push(l),
    };
    const r = await train(opts);
    r.model.dispose();
    assert.equal(losses.length, 24);
    const first = (losses[0] + losses[1]) / 2, last = (losses[22] + losses[23]) / 2;
    assert.ok(last < 0.8 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    // Eight images, two views each (the image and one fixed augmentation), plus the key.
    assert.equal((await readdir(cacheDir)).filter((f) => f.endsWith('.f16')).length, 16);
    assert.ok(logs.some((l) => /features: 16 of 16/.test(l)), logs.join('\n'));
    // Each step's batch of 4 was shared between this thread and one worker.
    assert.ok(logs.includes('steps on 2 threads, batch shares 2 + 2'), logs.join('\n'));

    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
    const cfg = detectorConfigSchema.parse(manifest.config);
    assert.deepEqual(cfg.backbone, { family: 'nanodet', model: 'coco', tap: 'pan', channels: 128 });
    assert.deepEqual(cfg.adapter, { depth: 1, channels: 16 });

    // Resume reads every feature from the cache and continues the step count.
    const more: number[] = [];
    logs.length = 0;
    const r2 = await train({ ...opts, epochs: 13, resume: true, onProgress: (p) => more.push(p.stepLoss) });
    r2.model.dispose();
    assert.equal(more.length, 2);
    assert.ok(logs.some((l) => /features: 0 of 16/.test(l)), logs.join('\n'));
    // Resuming with other features than the model was trained on is refused.
    await assert.rejects(train({ ...opts, epochs: 13, resume: true, pretrained: { ...opts.pretrained!, tap: 'tower' } }), /reads coco's pan features; pass --backbone coco --tap pan/);
    // A cache written for other settings is refused rather than read.
    await assert.rejects(train({ ...opts, seed: 4, out: join(root, 'models', 'other') }), /feature cache .* was written for/);

    // The folder lives in a models/ without coco: the backbone is found in the package's models/.
    const model = await (await loaderFor(manifest))(manifest, out);
    assert.equal(model.kind, 'detector');
    if (model.kind !== 'detector') return;
    const px = new Uint8Array(2 * 64 * 64 * 3).map((_, i) => (i * 31) % 251);
    await model.predict(px, 2, 'ssd');
    const before = tf.memory().numTensors;
    for (const head of ['yolo', 'ssd', 'sliding-window']) {
      const c = await model.predict(px, 2, head, { scoreThreshold: 0.01 });
      assert.equal(c.length, 2);
      for (const k of c) assert.equal(k.boxes.length, 4 * k.scores.length);
    }
    assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
    model.dispose();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** Two epochs of the ssd head on four generated 64² scenes over coco's backbone tap; the options, config and manifest. */
async function tinyBackboneRun(root: string, name: string, seed: number, pretrained: Partial<PretrainedOptions>, threads = 1) {
  const data = join(root, 'data');
  const src = fakeFmnist(40);
  await writeScenes(src, src, data, { seed, size: 64, counts: { train: 4, val: 0, test: 1 } });
  const opts: TrainOptions = {
    data, out: join(root, 'models', name), name, heads: ['ssd'], epochs: 2, batch: 2, lr: 0.01, seed: 3,
    resume: false, limit: 0, checkpointEvery: 100, clipNorm: 10, augment: DEFAULT_AUGMENT, inputSize: 64, maxSeconds: 0, command: 'test',
    pretrained: { dir: 'models/coco', tap: 'backbone', adapter: { depth: 1, channels: 8 }, views: 1, cacheDir: join(root, 'cache'), threads, ...pretrained },
    threads,
    log: () => {},
  };
  (await train(opts)).model.dispose();
  const manifest = manifestSchema.parse(JSON.parse(await readFile(join(opts.out, 'manifest.json'), 'utf8')));
  return { opts, manifest, cfg: detectorConfigSchema.parse(manifest.config) };
}

/** Loads the folder as the service does and finds something in a flat grey image; `inspect` sees its network first. */
async function servesSsd(manifest: Manifest, dir: string, inspect: (net: tf.LayersModel) => void = () => {}): Promise<void> {
  const model = await (await loaderFor(manifest))(manifest, dir);
  try {
    assert.equal(model.kind, 'detector');
    if (model.kind !== 'detector') return;
    inspect((model as unknown as { net: tf.LayersModel }).net);
    const [c] = await model.predict(new Uint8Array(64 * 64 * 3).fill(120), 1, 'ssd', { scoreThreshold: 0.01 });
    assert.ok(c.scores.length > 0);
  } finally {
    model.dispose();
  }
}

test('the backbone tap: maps of 128, 256 and 512 channels train, are written per stride, and load back', async () => {
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-pretrained-bb-'));
  try {
    const { opts, manifest, cfg } = await tinyBackboneRun(root, 'tiny-bb', 5, {});
    assert.deepEqual(cfg.backbone, { family: 'nanodet', model: 'coco', tap: 'backbone', channels: [128, 256, 512] });
    await servesSsd(manifest, opts.out);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a fine-tuned stage starts from the backbone\'s weights, trains with the heads, and is served from the detector\'s own weights', async () => {
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-pretrained-tune-'));
  const features = await NanoDetFeatures.open('models/coco', 'backbone', [8]);
  try {
    const { opts, manifest, cfg } = await tinyBackboneRun(root, 'tiny-tune', 6, { tuned: [8] }, 2);
    // The stride-8 map is cached at the stage's entry: 64 channels instead of the stage's 128.
    assert.deepEqual(cfg.backbone, { family: 'nanodet', model: 'coco', tap: 'backbone', channels: [64, 256, 512], tuned: [{ stride: 8, channels: 64, blocks: 2, alpha: 0.1 }] });
    assert.match(manifest.description ?? '', /coco's backbone features, with its stride-8 stage fine-tuned/);
    await servesSsd(manifest, opts.out, (net) => {
      // Every tuned convolution moved, but only a little: it started from NanoDet's kernel, not from scratch.
      features.stages[0].weights.forEach((w, i) => {
        const name = ['tune8_b0a', 'tune8_b0b', 'tune8_b1a', 'tune8_b1b', 'tune8_out'][i];
        const [k] = net.getLayer(name).getWeights();
        const [moved, size] = tf.tidy(() => [tf.norm(tf.sub(k, w.kernel)).dataSync()[0], tf.norm(w.kernel).dataSync()[0]]);
        assert.ok(moved > 0 && moved < 0.5 * size, `${name}: moved ${moved} from a kernel of norm ${size}`);
      });
    });
    // Resuming without the same --tune is refused: the cache and the network would not match.
    await assert.rejects(train({ ...opts, epochs: 3, resume: true, pretrained: { ...opts.pretrained!, tuned: [] } }), /pass --backbone coco --tap backbone --tune 8/);
  } finally {
    features.dispose();
    await rm(root, { recursive: true, force: true });
  }
});
