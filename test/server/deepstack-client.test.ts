// DeepStack clients unchanged against the shipped COCO detector. The deepstack-python client (Home
// Assistant's) posts requests' `files={"image": bytes}` — a part named "image" whose file name is also
// "image" and which carries no Content-Type — after its form fields `api_key` and `min_confidence`, all text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { initBackend } from '../../src/runtime/backend.js';
import { loadRegistry } from '../../src/runtime/registry.js';
import type { ModelRegistry } from '../../src/runtime/models.js';
import { buildDetectApp } from './detect-app.js';

const KEY = 'home-assistant-key';
let app: FastifyInstance;
let registry: ModelRegistry;

before(async () => {
  await initBackend('wasm');
  registry = await loadRegistry('models');
  app = await buildDetectApp({ registry, apiKey: KEY });
});
after(async () => {
  await app.close();
  for (const m of registry.list()) m.dispose();
});

/** The exact bytes python-requests sends for data={...}, files={"image": bytes}. */
function asDeepstackPython(image: Buffer, fields: Record<string, string>): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '3f1c0a2b9e8d4c7f6a5b4c3d2e1f0a9b';
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image"\r\n\r\n`), image, Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

interface Prediction { label: string; confidence: number; x_min: number; y_min: number; x_max: number; y_max: number }

test('deepstack-python\'s request finds the person in a photograph, in integer pixels, at the 0.45 default', async () => {
  const photo = readFileSync('test/fixtures/camera.jpg');
  const r = await app.inject({ method: 'POST', url: '/v1/vision/detection', ...asDeepstackPython(photo, { api_key: KEY }) });
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json() as { success: boolean; predictions: Prediction[]; duration: number };
  assert.equal(b.success, true);
  const person = b.predictions.find((p) => p.label === 'person');
  assert.ok(person, JSON.stringify(b.predictions));
  for (const p of b.predictions) {
    assert.ok(p.confidence >= 0.45, `${p.label} ${p.confidence} is under DeepStack's default min_confidence`);
    for (const k of ['x_min', 'y_min', 'x_max', 'y_max'] as const) assert.ok(Number.isInteger(p[k]), `${k} ${p[k]}`);
  }
  // The cameraman stands on the left two thirds of the 512×512 photograph, head to bottom edge.
  assert.ok(person.x_min < 20 && person.x_max > 280 && person.x_max < 340 && person.y_min > 40 && person.y_min < 100 && person.y_max >= 500, JSON.stringify(person));
});

test('min_confidence sent as text lowers the threshold, as Home Assistant sends it', async () => {
  const photo = readFileSync('test/fixtures/camera.jpg');
  const low = await app.inject({ method: 'POST', url: '/v1/vision/detection', ...asDeepstackPython(photo, { api_key: KEY, min_confidence: '0.3' }) });
  assert.equal(low.statusCode, 200, low.body);
  const preds = (low.json() as { predictions: Prediction[] }).predictions;
  assert.ok(preds.some((p) => p.confidence < 0.45), `nothing under 0.45 at min_confidence 0.3: ${JSON.stringify(preds)}`);
  assert.ok(preds.every((p) => p.confidence >= 0.3));
});

test('custom route by name and DeepStack-shaped failures', async () => {
  const photo = readFileSync('test/fixtures/astronaut.jpg');
  const ok = await app.inject({ method: 'POST', url: '/v1/vision/custom/coco', ...asDeepstackPython(photo, { api_key: KEY }) });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.ok((ok.json() as { predictions: Prediction[] }).predictions.some((p) => p.label === 'person'));
  const wrongKey = await app.inject({ method: 'POST', url: '/v1/vision/detection', ...asDeepstackPython(photo, { api_key: 'not-the-key' }) });
  assert.equal(wrongKey.statusCode, 401);
  assert.deepEqual(Object.keys(wrongKey.json()).sort(), ['duration', 'error', 'success']);
  assert.equal((wrongKey.json() as { success: boolean }).success, false);
  const notImage = await app.inject({ method: 'POST', url: '/v1/vision/detection', ...asDeepstackPython(Buffer.from('not an image'), { api_key: KEY }) });
  assert.ok(notImage.statusCode >= 400 && notImage.statusCode < 500, notImage.body);
  assert.equal((notImage.json() as { success: boolean }).success, false);
});
