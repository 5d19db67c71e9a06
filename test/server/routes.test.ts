import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { initBackend } from '../../src/runtime/backend.js';
import { fakeDetector, fakeForecaster, registryOf } from './fake-registry.js';

const KEY = 'correct-horse-battery';

test('healthz is alive; readyz explains why it is not ready with zero models', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  const h = await app.inject('/healthz');
  assert.equal(h.statusCode, 200);
  assert.deepEqual(h.json(), { status: 'ok' });
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().ready, false);
  assert.deepEqual(r.json().reasons, ['models: no models are loaded']);
  await app.close();
});

test('readyz is 200 with models loaded and 503 once draining', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([fakeDetector('d1', { default: true }), fakeForecaster('f1')]), logger: false });
  const r = await app.inject('/readyz');
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().ready, true);
  app.draining = true;
  const d = await app.inject('/readyz');
  assert.equal(d.statusCode, 503);
  assert.match(d.json().reasons[0], /shutting down/);
  await app.close();
});

test('info reports backend, versions, models and uptime', async () => {
  const backend = await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([fakeDetector('d1'), fakeDetector('d2', { default: true })]), logger: false });
  const b = (await app.inject('/v1/info')).json();
  assert.equal(b.backend.name, backend.name);
  assert.equal(b.versions.tfjs, backend.versions.tfjs);
  assert.equal(b.versions.node, process.versions.node);
  assert.match(b.versions.fastify, /^5\./);
  assert.deepEqual(
    b.models.map((m: { name: string; default: boolean }) => [m.name, m.default]),
    [
      ['d1', false],
      ['d2', true],
    ],
  );
  assert.ok(b.uptimeSeconds >= 0);
  await app.close();
});

test('models list and detail: kind, heads, labels, input; unknown model 404 lists known ones', async () => {
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([fakeDetector('d1'), fakeForecaster('f1')]), logger: false });
  const list = (await app.inject('/v1/models')).json();
  assert.deepEqual(
    list.models.map((m: { name: string; kind: string; default: boolean }) => [m.name, m.kind, m.default]),
    [
      ['d1', 'detector', true],
      ['f1', 'forecaster', true],
    ],
  );
  const d = (await app.inject('/v1/models/d1')).json();
  assert.deepEqual(d.heads, ['yolo', 'ssd']);
  assert.deepEqual(d.labels, ['cat', 'dog']);
  assert.equal(d.input.width, 64);
  const f = (await app.inject('/v1/models/f1')).json();
  assert.equal(f.input.window, 24);
  const nf = await app.inject('/v1/models/nope');
  assert.equal(nf.statusCode, 404);
  assert.match(String(nf.headers['content-type']), /problem\+json/);
  assert.deepEqual(nf.json().known, ['d1', 'f1']);
  await app.close();
});

test('with an API key, native routes need Bearer; health, metrics and docs stay open', async () => {
  const app = await buildApp({ config: defaultConfig({ apiKey: KEY }), registry: registryOf([fakeDetector('d1')]), logger: false });
  const none = await app.inject('/v1/models');
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['content-type']), /problem\+json/);
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  assert.equal((await app.inject({ url: '/v1/info', headers: { authorization: 'Bearer wrong-key-wrong-key' } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/v1/info', headers: { authorization: `Basic ${KEY}` } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/v1/info', headers: { authorization: `Bearer ${KEY}x` } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/v1/models/d1', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 200);
  assert.equal((await app.inject({ url: '/v1/info', headers: { authorization: `bearer  ${KEY}` } })).statusCode, 200);
  for (const open of ['/healthz', '/metrics', '/openapi.json', '/docs']) {
    const r = await app.inject(open);
    assert.ok(r.statusCode < 400, `${open} answered ${r.statusCode}`);
  }
  await app.close();
});

test('without an API key, native routes are open', async () => {
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  assert.equal((await app.inject('/v1/models')).statusCode, 200);
  await app.close();
});

test('CORS is off by default and answers only configured origins', async () => {
  const off = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  const r0 = await off.inject({ url: '/healthz', headers: { origin: 'https://a.example' } });
  assert.equal(r0.headers['access-control-allow-origin'], undefined);
  await off.close();
  const on = await buildApp({ config: defaultConfig({ corsOrigins: ['https://a.example'] }), registry: registryOf([]), logger: false });
  const r1 = await on.inject({ url: '/healthz', headers: { origin: 'https://a.example' } });
  assert.equal(r1.headers['access-control-allow-origin'], 'https://a.example');
  const r2 = await on.inject({ url: '/healthz', headers: { origin: 'https://b.example' } });
  assert.equal(r2.headers['access-control-allow-origin'], undefined);
  await on.close();
});

test('/docs serves Swagger UI', async () => {
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  const r = await app.inject('/docs/');
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /swagger-ui/i);
  await app.close();
});
