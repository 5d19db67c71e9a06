import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../../src/runtime/backend.js';
import { writeScenes } from '../../../src/vision/datasets/scenes.js';
import { train } from '../../../src/vision/train/trainer.js';
import { manifestSchema } from '../../../src/runtime/manifest.js';
import { loaderFor } from '../../../src/runtime/loaders.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';
import { run as evalDetector } from '../../../src/cli/eval-detector.js';
import { regionClassifierSchema } from '../../../src/vision/region-classifier/config.js';
import { buildRegionClassifier } from '../../../src/vision/region-classifier/network.js';
import { diskSaver } from '../../../src/vision/detector/weights-io.js';
import type { Candidates } from '../../../src/vision/candidates.js';

test('a tiny generated dataset trains a few steps, the loss falls, and the written folder loads and predicts', async () => {
  await initBackend();
  const root = await mkdtemp(join(tmpdir(), 'kestrel-train-'));
  try {
    const data = join(root, 'data');
    const out = join(root, 'models', 'tiny');
    const src = fakeFmnist(60);
    await writeScenes(src, src, data, { seed: 2, size: 64, counts: { train: 8, val: 0, test: 2 } });
    const losses: number[] = [];
    const opts = {
      data, out, name: 'tiny', heads: ['yolo', 'ssd', 'sliding-window'] as ('yolo' | 'ssd' | 'sliding-window')[], epochs: 6, batch: 4, lr: 0.01, seed: 3,
      resume: false, limit: 0, checkpointEvery: 4, clipNorm: 10, augment: null, inputSize: 64, maxSeconds: 0, command: 'test',
      onProgress: (p: { stepLoss: number }) => losses.push(p.stepLoss), log: () => undefined,
    };
    const r = await train(opts);
    r.model.dispose();
    assert.equal(losses.length, 12);
    const first = (losses[0] + losses[1]) / 2, last = (losses[10] + losses[11]) / 2;
    assert.ok(last < 0.8 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    for (const f of ['manifest.json', 'model.json', 'weights.bin', 'metrics.json', 'checkpoint/state.json', 'checkpoint/optimizer.bin']) assert.ok(existsSync(join(out, f)), f);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { training: { steps: number; seed: number; data: string } };
    assert.equal(metrics.training.steps, 12);
    assert.equal(metrics.training.seed, 3);

    // Resume continues from the checkpoint instead of starting over.
    const more: number[] = [];
    const r2 = await train({ ...opts, epochs: 7, resume: true, onProgress: (p: { stepLoss: number }) => more.push(p.stepLoss) });
    r2.model.dispose();
    assert.equal(more.length, 2);

    const manifest = manifestSchema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
    const model = await (await loaderFor(manifest))(manifest, out);
    assert.equal(model.kind, 'detector');
    if (model.kind !== 'detector') return;
    assert.deepEqual(model.heads.slice(0, 3), ['yolo', 'ssd', 'sliding-window']);
    const px = new Uint8Array(2 * 64 * 64 * 3).map((_, i) => (i * 31) % 251);
    const before = tf.memory().numTensors;
    for (const head of ['yolo', 'ssd', 'sliding-window']) {
      const c = await model.predict(px, 2, head);
      assert.equal(c.length, 2);
      for (const k of c) {
        assert.equal(k.boxes.length, 4 * k.scores.length);
        for (const s of k.scores) assert.ok(s >= model.defaultScoreThreshold && s <= 1);
      }
    }
    assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
    await assert.rejects(model.predict(px, 2, 'nope'), /unknown head "nope"/);
    await assert.rejects(model.predict(px.subarray(1), 2, 'yolo'), /expected 2×64×64×3/);

    // Window voting (on by default in new models): the windows that vote do not depend on the caller's
    // threshold, so every box kept at 0.05 is the same box at 0.02; switched off, boxes are bare windows.
    const key = (c: { boxes: Float32Array; scores: Float32Array; classes: Int32Array }, i: number): string =>
      `${c.classes[i]}:${c.scores[i].toFixed(6)}:${Array.from(c.boxes.subarray(4 * i, 4 * i + 4), (v) => v.toFixed(3)).join(',')}`;
    const [hi] = await model.predict(px.subarray(0, 64 * 64 * 3), 1, 'sliding-window', { scoreThreshold: 0.05 });
    const [lo] = await model.predict(px.subarray(0, 64 * 64 * 3), 1, 'sliding-window', { scoreThreshold: 0.02 });
    assert.ok(hi.scores.length > 0, 'some windows score above 0.05');
    const loKeys = new Set([...lo.scores.keys()].map((i) => key(lo, i)));
    for (const i of hi.scores.keys()) assert.ok(loKeys.has(key(hi, i)), `voted box ${key(hi, i)} is the same at a lower threshold`);
    const [bare] = await model.predict(px.subarray(0, 64 * 64 * 3), 1, 'sliding-window', { scoreThreshold: 0.05, windowVoteIou: 0 });
    assert.equal(bare.scores.length, hi.scores.length);
    assert.notDeepEqual(bare.boxes, hi.boxes);
    model.dispose();

    // A region classifier in the folder: loaded with the detector, used by every head unless switched off.
    // maxBoxes high enough that every candidate of this untrained model gets a reading (none dropped).
    const rcCfg = regionClassifierSchema.parse({ inputSize: 16, channels: [4, 8, 8], maxBoxes: 1000 });
    const rcNet = buildRegionClassifier(rcCfg, 10);
    await rcNet.save(diskSaver(join(out, rcCfg.dir)));
    rcNet.dispose();
    const withRc = manifestSchema.parse({ ...manifest, config: { ...(manifest.config as object), regionClassifier: rcCfg } });
    const model2 = await (await loaderFor(withRc))(withRc, out);
    assert.ok(model2.kind === 'detector' && model2.hasRegionClassifier && !model2.regionClassifierByDefault);
    if (model2.kind !== 'detector') return;
    const before2 = tf.memory().numTensors;
    for (const head of ['yolo', 'ssd', 'sliding-window']) {
      const c = await model2.predict(px, 2, head, { scoreThreshold: 0.02, regionClassifier: true });
      for (const k of c) for (const s of k.scores) assert.ok(s >= 0.02 && s <= 1);
      // With weight 0 the stage gives back exactly the head's own candidates.
      const plain: Candidates[] = await model2.predict(px, 2, head, { scoreThreshold: 0.02, regionClassifier: false });
      const zero: Candidates[] = await model2.predict(px, 2, head, { scoreThreshold: 0.02, regionClassifier: true, regionWeight: 0 });
      // Not used unless asked for (usedByDefault is false): the default is the head alone.
      assert.deepEqual(await model2.predict(px, 2, head, { scoreThreshold: 0.02 }), plain);
      assert.ok(plain.some((k) => k.scores.length > 0), `${head} proposes boxes`);
      // Same class and box; the score up to float rounding of the mix (it goes through log and exp).
      const rows = (k: Candidates): Map<string, number> =>
        new Map([...k.scores.keys()].map((i) => [`${k.classes[i]}:${Array.from(k.boxes.subarray(4 * i, 4 * i + 4), (v) => v.toFixed(2)).join(',')}`, k.scores[i]]));
      for (let b = 0; b < 2; b++) {
        const z = rows(zero[b]);
        const p = rows(plain[b]);
        assert.deepEqual([...z.keys()].sort(), [...p.keys()].sort(), head);
        for (const [k, v] of z) assert.ok(Math.abs(v - (p.get(k) ?? NaN)) < 1e-3, `${head} ${k}: ${v} vs ${p.get(k)}`);
      }
    }
    assert.equal(tf.memory().numTensors, before2, 'the region classifier leaks no tensors');
    model2.dispose();
    const broken = manifestSchema.parse({ ...manifest, config: { ...(manifest.config as object), regionClassifier: { ...rcCfg, dir: 'missing' } } });
    await assert.rejects((await loaderFor(broken))(broken, out), /region classifier in missing\//);

    // The CLI's --json object has the keys; --multi-label and --write-metrics record themselves.
    const printed: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void printed.push(a.join(' '));
    let code: number;
    try {
      code = await evalDetector(['--model', out, '--data', data, '--head', 'ssd', '--json', '--multi-label', '--write-metrics']);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const j = JSON.parse(printed.at(-1) ?? '') as Record<string, unknown>;
    for (const k of ['mAP50', 'mAP', 'apSmall', 'apMedium', 'apLarge', 'msPerImage', 'perClassAp50']) assert.ok(k in j, k);
    assert.equal(j['multiLabel'], true);
    assert.equal(j['images'], 2);
    const written = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { evaluation: Record<string, { multiLabel: boolean }> };
    assert.equal(written.evaluation['ssd-multilabel']?.multiLabel, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
