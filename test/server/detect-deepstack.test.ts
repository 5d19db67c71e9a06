import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { initBackend } from '../../src/runtime/backend.js';
import { sameSecret } from '../../src/server/plugins/auth.js';
import { FakeDetector, FakeRegistry } from './fake-detector.js';
import { buildDetectApp } from './detect-app.js';
import { imagePart, multipart, near, photo, RED, WHITE } from './detect-fixtures.js';

interface Pred { label?: string; confidence: number; x_min: number; y_min: number; x_max: number; y_max: number }

let app: FastifyInstance;
let keyed: FastifyInstance;
let withFaces: FastifyInstance;
let jpeg: Buffer;

before(async () => {
  await initBackend();
  const registry = new FakeRegistry([new FakeDetector({ name: 'general' }), new FakeDetector({ name: 'plates', labels: ['plate', 'sticker', 'logo'], isDefault: false })]);
  app = await buildDetectApp({ registry });
  keyed = await buildDetectApp({ registry, apiKey: 's3cret-key' });
  withFaces = await buildDetectApp({ registry: new FakeRegistry([new FakeDetector({ name: 'general' }), new FakeDetector({ name: 'faces', labels: ['face', 'x', 'y'], heads: ['ssd'], isDefault: false })]) });
  jpeg = await photo(1920, 1080, [WHITE, RED]);
});
after(async () => {
  await app.close();
  await keyed.close();
  await withFaces.close();
});

const post = (a: FastifyInstance, url: string, fields: Record<string, string> = {}, image: Buffer | null = jpeg) =>
  a.inject({ method: 'POST', url, ...multipart([...(image ? [imagePart(image)] : []), ...Object.entries(fields).map(([name, data]) => ({ name, data }))]) });

function dsError(r: LightMyRequestResponse, status: number, re?: RegExp): void {
  assert.equal(r.statusCode, status, r.body);
  const b = r.json() as { success: boolean; error: string };
  assert.equal(b.success, false);
  assert.equal(typeof b.error, 'string');
  if (re) assert.match(b.error, re);
}

test('/v1/vision/detection answers DeepStack predictions in integer pixels', async () => {
  const r = await post(app, '/v1/vision/detection');
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json() as { success: boolean; predictions: Pred[]; duration: number };
  assert.equal(b.success, true);
  assert.ok(Number.isInteger(b.duration));
  assert.deepEqual(b.predictions.map((p) => p.label), ['white', 'red']);
  for (const p of b.predictions) for (const k of ['x_min', 'y_min', 'x_max', 'y_max'] as const) assert.ok(Number.isInteger(p[k]), k);
  const asBox = (p: Pred) => ({ x: p.x_min, y: p.y_min, width: p.x_max - p.x_min, height: p.y_max - p.y_min });
  assert.ok(near(asBox(b.predictions[0]), WHITE, 19));
  assert.ok(near(asBox(b.predictions[1]), RED, 19));
  assert.equal(b.predictions[0].confidence, 0.9);
  // The same image through the native API gives the same boxes, rounded outward.
  const n = (await app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } })).json();
  assert.equal(b.predictions[0].x_min, Math.floor(n.detections[0].box.x));
  assert.equal(b.predictions[0].x_max, Math.ceil(n.detections[0].box.x + n.detections[0].box.width));
});

test('min_confidence filters; a bad one is a DeepStack-shaped 400', async () => {
  const r = (await post(app, '/v1/vision/detection', { min_confidence: '0.85' })).json() as { predictions: Pred[] };
  assert.deepEqual(r.predictions.map((p) => p.label), ['white']);
  dsError(await post(app, '/v1/vision/detection', { min_confidence: '1.5' }), 400, /min_confidence/);
  dsError(await post(app, '/v1/vision/detection', { min_confidence: 'high' }), 400, /min_confidence/);
});

test('/v1/vision/custom/{model} uses the named model; an unknown one is a DeepStack 404', async () => {
  const r = (await post(app, '/v1/vision/custom/plates')).json() as { success: boolean; predictions: Pred[] };
  assert.equal(r.success, true);
  assert.deepEqual(r.predictions.map((p) => p.label), ['plate', 'sticker']);
  dsError(await post(app, '/v1/vision/custom/nothere'), 404, /nothere/);
});

test('DeepStack errors: no image 400, bad image 422, wrong format 415, all {success:false}', async () => {
  dsError(await post(app, '/v1/vision/detection', { min_confidence: '0.5' }, null), 400, /image/);
  dsError(await post(app, '/v1/vision/detection', {}, jpeg.subarray(0, 3000)), 422);
  dsError(await post(app, '/v1/vision/detection', {}, Buffer.from('<svg/>')), 415);
  dsError(await app.inject({ method: 'POST', url: '/v1/vision/detection', payload: 'x', headers: { 'content-type': 'multipart/form-data' } }), 400);
  dsError(await app.inject({ method: 'POST', url: '/v1/vision/detection', payload: 'x', headers: { 'content-type': 'text/csv' } }), 415);
});

test('/v1/vision/face: a clear 404 without a faces model, face predictions with one', async () => {
  dsError(await post(app, '/v1/vision/face'), 404, /face detection is not available.*"faces"/);
  const r = await post(withFaces, '/v1/vision/face');
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json() as { success: boolean; predictions: Pred[] };
  assert.equal(b.success, true);
  assert.equal(b.predictions.length, 2);
  assert.equal(b.predictions[0].label, undefined, 'DeepStack face predictions carry no label');
  assert.equal(b.predictions[0].confidence, 0.9);
});

test('with an API key configured, DeepStack routes need the api_key form field', async () => {
  dsError(await post(keyed, '/v1/vision/detection'), 401, /api_key is required/);
  dsError(await post(keyed, '/v1/vision/detection', { api_key: 'wrong' }), 401, /invalid api_key/);
  dsError(await post(keyed, '/v1/vision/custom/plates', { api_key: 's3cret-ke' }), 401);
  const ok = await post(keyed, '/v1/vision/detection', { api_key: 's3cret-key' });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(sameSecret('a', 'a'), true);
  assert.equal(sameSecret('a', 'ab'), false);
  assert.equal(sameSecret('', 'x'), false);
});

test('with an API key configured, the native detection API needs Authorization: Bearer', async () => {
  const send = (headers: Record<string, string>) => keyed.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg', ...headers } });
  const none = await send({});
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['content-type']), /problem\+json/);
  assert.equal((await send({ authorization: 'Bearer nope' })).statusCode, 401);
  assert.equal((await send({ authorization: 'Bearer s3cret-key' })).statusCode, 200);
  const batch = await keyed.inject({ method: 'POST', url: '/v1/detect/batch', ...multipart([imagePart(jpeg)]) });
  assert.equal(batch.statusCode, 401);
  // The key is checked before the body is read: even an oversized body gets 401, not 413.
  const big = await keyed.inject({ method: 'POST', url: '/v1/detect', payload: Buffer.alloc(40 * 1024 * 1024), headers: { 'content-type': 'image/jpeg' } });
  assert.equal(big.statusCode, 401);
  // Health stays open.
  assert.equal((await keyed.inject('/healthz')).statusCode, 200);
});
