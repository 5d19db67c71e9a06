// End to end with the trained/shipped detector models in models/, not fakes. Each model found is
// loaded through the loader table and driven through the HTTP routes; when models/ holds no
// detector the test says so and skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { loadRegistry } from '../../src/runtime/registry.js';
import type { DetectorModel } from '../../src/runtime/models.js';
import { buildDetectApp } from './detect-app.js';
import { imagePart, multipart } from './detect-fixtures.js';

// KESTREL_MODELS_DIR points it elsewhere, as it does the service.
const MODELS = process.env.KESTREL_MODELS_DIR ?? 'models';
let app: FastifyInstance | undefined;
let detectors: DetectorModel[] = [];
const skipped: string[] = [];

before(async () => {
  await initBackend();
  // The service's own loading path: manifests, loader table, failures recorded rather than thrown.
  const registry = await loadRegistry(MODELS);
  for (const f of registry.failures) skipped.push(`${f.name}: ${f.error}`);
  detectors = registry.list().filter((m): m is DetectorModel => m.kind === 'detector');
  if (detectors.length) app = await buildDetectApp({ registry });
});
after(async () => {
  await app?.close();
  for (const m of detectors) m.dispose();
});

test('every detector in models/ answers /v1/detect on each head with boxes inside the image', async (t) => {
  if (skipped.length) t.diagnostic(`models that failed to load: ${skipped.join('; ')}`);
  const server = app;
  if (!server) return t.skip('no detector model in models/ (train one or check out a branch that ships one)');
  const photo = await sharp('test/fixtures/astronaut.jpg').resize(640, 480, { fit: 'fill' }).jpeg().toBuffer();
  for (const m of detectors) {
    for (const head of m.heads) {
      const r: LightMyRequestResponse = await server.inject({ method: 'POST', url: `/v1/detect?model=${m.manifest.name}&head=${head}&scoreThreshold=0.05`, payload: photo, headers: { 'content-type': 'image/jpeg' } });
      assert.equal(r.statusCode, 200, `${m.manifest.name}/${head}: ${r.body}`);
      const b = r.json() as { image: { width: number; height: number }; detections: { label: string; score: number; box: { x: number; y: number; width: number; height: number } }[] };
      assert.deepEqual(b.image, { width: 640, height: 480 });
      for (const d of b.detections) {
        assert.ok(m.labels.includes(d.label));
        assert.ok(d.score >= 0.05 && d.score <= 1);
        assert.ok(d.box.x >= 0 && d.box.y >= 0 && d.box.x + d.box.width <= 640.01 && d.box.y + d.box.height <= 480.01, JSON.stringify(d.box));
      }
      t.diagnostic(`${m.manifest.name}/${head}: ${b.detections.length} detections`);
    }
  }
});

test('with real models, the three ways of sending agree and the tensor count holds steady', async (t) => {
  const server = app;
  if (!server) return t.skip('no detector model in models/');
  const photo = await sharp('test/fixtures/camera.jpg').jpeg().toBuffer();
  for (const m of detectors) {
    const url = `/v1/detect?model=${m.manifest.name}&scoreThreshold=0.2`;
    const ways = [
      () => server.inject({ method: 'POST', url, ...multipart([imagePart(photo)]) }),
      () => server.inject({ method: 'POST', url, payload: photo, headers: { 'content-type': 'image/jpeg' } }),
      () => server.inject({ method: 'POST', url, payload: { image: photo.toString('base64') } }),
    ];
    await ways[1](); // first-use allocations
    const before = tf.memory().numTensors;
    const answers: unknown[] = [];
    for (const send of ways) {
      const r: LightMyRequestResponse = await send();
      assert.equal(r.statusCode, 200, r.body);
      answers.push((r.json() as { detections: unknown }).detections);
    }
    assert.deepEqual(answers[1], answers[0], `${m.manifest.name}: raw vs multipart`);
    assert.deepEqual(answers[2], answers[0], `${m.manifest.name}: base64 vs multipart`);
    assert.equal(tf.memory().numTensors, before, `${m.manifest.name}: tensors leaked`);
  }
});

test('regionClassifier=true: the second stage answers where a model has one and is a 400 problem where not', async (t) => {
  const server = app;
  if (!server) return t.skip('no detector model in models/');
  const photo = await sharp('test/fixtures/camera.jpg').jpeg().toBuffer();
  let withStage = 0;
  for (const m of detectors) {
    const send = (flag: string): Promise<LightMyRequestResponse> => server.inject({ method: 'POST', url: `/v1/detect?model=${m.manifest.name}&scoreThreshold=0.05&regionClassifier=${flag}`, payload: photo, headers: { 'content-type': 'image/jpeg' } });
    const bad = await send('maybe');
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(bad.headers['content-type'] as string, /application\/problem\+json/);
    const on = await send('true');
    if (!m.hasRegionClassifier) {
      assert.equal(on.statusCode, 400, on.body);
      assert.match(on.headers['content-type'] as string, /application\/problem\+json/);
      assert.match((on.json() as { type: string }).type, /region-classifier-unavailable/);
      assert.equal((await send('false')).statusCode, 200);
      continue;
    }
    withStage++;
    const before = tf.memory().numTensors;
    for (const r of [on, await send('true'), await send('false')]) {
      assert.equal(r.statusCode, 200, r.body);
      for (const d of (r.json() as { detections: { label: string; score: number }[] }).detections) {
        assert.ok(m.labels.includes(d.label));
        assert.ok(d.score >= 0.05 && d.score <= 1);
      }
    }
    assert.equal(tf.memory().numTensors, before, `${m.manifest.name}: tensors leaked`);
  }
  t.diagnostic(`${withStage} of ${detectors.length} detectors have a region classifier`);
});

test('the faces model finds the astronaut\'s face through /v1/vision/face, and render=blur hides it', async (t) => {
  const faces = detectors.find((m) => m.manifest.name === 'faces');
  const server = app;
  if (!server || !faces) return t.skip('models/faces is not present');
  const photo = readFileSync('test/fixtures/astronaut.jpg');
  const meta = await sharp(photo).metadata();
  const r = await server.inject({ method: 'POST', url: '/v1/vision/face', ...multipart([imagePart(photo)]) });
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json() as { success: boolean; predictions: { confidence: number; x_min: number; y_min: number; x_max: number; y_max: number }[] };
  assert.equal(b.success, true);
  assert.equal(b.predictions.length, 1, JSON.stringify(b.predictions));
  const p = b.predictions[0];
  assert.ok(p.confidence > 0.5);
  // The face is in the upper middle of the portrait, and a face-sized fraction of it.
  const w = p.x_max - p.x_min;
  assert.ok(w > meta.width! * 0.1 && w < meta.width! * 0.6, `face width ${w}`);
  assert.ok(p.y_max < meta.height! * 0.7, `face bottom ${p.y_max}`);
  const blurred = await server.inject({ method: 'POST', url: '/v1/detect?model=faces&render=blur', payload: photo, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(blurred.statusCode, 200);
  assert.equal(blurred.headers['kestrel-detections'], '1');
  const out = await sharp(blurred.rawPayload).metadata();
  assert.deepEqual([out.width, out.height], [meta.width, meta.height]);
});
