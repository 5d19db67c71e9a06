// Overload and access limits: rate limiting, the inference deadline, and the socket-level guards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { initBackend } from '../../src/runtime/backend.js';
import type { Candidates } from '../../src/vision/candidates.js';
import { buildApp } from '../../src/server/app.js';
import { ConfigError, defaultConfig, loadConfig } from '../../src/server/config.js';
import { toProblem } from '../../src/server/detection.js';
import { InferenceTimeoutError, InProcessEngine } from '../../src/server/inference.js';
import { FakeDetector, FakeRegistry } from './fake-detector.js';
import { photo } from './detect-fixtures.js';
import { registryOf } from './fake-registry.js';

/** A fake whose forward pass waits until the test lets it go. */
class GatedDetector extends FakeDetector {
  private gates: (() => void)[] = [];
  started = 0;
  /** Once open, passes run straight through (no gate to race against the deadline on a loaded machine). */
  open = false;
  override async predict(pixels: Uint8Array, batch: number, head: string): Promise<Candidates[]> {
    this.started++;
    if (!this.open) await new Promise<void>((r) => this.gates.push(r));
    return super.predict(pixels, batch, head);
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
}

test('limit settings load from the environment with defaults, and a bad one is named', () => {
  const d = loadConfig({});
  assert.equal(d.rateLimit, 0);
  assert.equal(d.rateLimitWindowMs, 60_000);
  assert.equal(d.inferenceTimeoutMs, 30_000);
  assert.equal(d.maxConnections, 1024);
  const c = loadConfig({ KESTREL_RATE_LIMIT: '5', KESTREL_RATE_LIMIT_WINDOW_MS: '1000', KESTREL_INFERENCE_TIMEOUT_MS: '250', KESTREL_HEADERS_TIMEOUT_MS: '5000', KESTREL_KEEPALIVE_TIMEOUT_MS: '7000', KESTREL_MAX_CONNECTIONS: '3' });
  assert.deepEqual(
    [c.rateLimit, c.rateLimitWindowMs, c.inferenceTimeoutMs, c.headersTimeoutMs, c.keepAliveTimeoutMs, c.maxConnections],
    [5, 1000, 250, 5000, 7000, 3],
  );
  assert.throws(
    () => loadConfig({ KESTREL_MAX_CONNECTIONS: '-1' }),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.variable === 'KESTREL_MAX_CONNECTIONS'),
  );
  assert.throws(
    () => loadConfig({ KESTREL_HEADERS_TIMEOUT_MS: '9000', KESTREL_REQUEST_TIMEOUT_MS: '5000' }),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.variable === 'KESTREL_HEADERS_TIMEOUT_MS'),
  );
  assert.equal(loadConfig({ KESTREL_HEADERS_TIMEOUT_MS: '9000', KESTREL_REQUEST_TIMEOUT_MS: '0' }).headersTimeoutMs, 9000);
  assert.throws(
    () => loadConfig({ KESTREL_RATE_LIMIT: 'lots' }),
    (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.variable === 'KESTREL_RATE_LIMIT'),
  );
});

test('detection limits and the inference queue load from the environment once, with defaults, and a bad one is named', () => {
  const d = loadConfig({});
  assert.deepEqual(
    [d.maxImageBytes, d.maxImagePixels, d.maxBatch, d.maxBatchBytes, d.inferenceConcurrency, d.inferenceQueue],
    [undefined, 40_000_000, 16, 64 * 1024 * 1024, 1, 64],
  );
  const c = loadConfig({
    KESTREL_MAX_IMAGE_BYTES: '2048',
    KESTREL_MAX_IMAGE_PIXELS: '1000',
    KESTREL_MAX_BATCH: '3',
    KESTREL_MAX_BATCH_BYTES: '4096',
    KESTREL_INFERENCE_CONCURRENCY: '2',
    KESTREL_INFERENCE_QUEUE: '0',
  });
  assert.deepEqual([c.maxImageBytes, c.maxImagePixels, c.maxBatch, c.maxBatchBytes, c.inferenceConcurrency, c.inferenceQueue], [2048, 1000, 3, 4096, 2, 0]);
  for (const [variable, value] of [['KESTREL_MAX_BATCH', '0'], ['KESTREL_INFERENCE_CONCURRENCY', '0'], ['KESTREL_MAX_IMAGE_PIXELS', '1.5'], ['KESTREL_INFERENCE_QUEUE', '-1']]) {
    assert.throws(
      () => loadConfig({ [variable]: value }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.variable === variable),
      `${variable}=${value}`,
    );
  }
});

test('a job past its deadline is answered with a timeout and, if still queued, never runs', async () => {
  await initBackend();
  const m = new GatedDetector({ width: 32, height: 32 });
  const engine = new InProcessEngine({ concurrency: 1, maxQueue: 4, timeoutMs: 150 });
  const px = new Uint8Array(32 * 32 * 3);
  const t0 = performance.now();
  // Both checks are attached at once: the two deadlines expire in the same timer turn.
  const running = assert.rejects(engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 }), InferenceTimeoutError);
  const queued = assert.rejects(engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 }), InferenceTimeoutError);
  await Promise.all([running, queued]);
  const waited = performance.now() - t0;
  assert.ok(waited >= 140 && waited < 2000, `deadline honoured (${waited.toFixed(0)} ms)`);
  assert.equal(engine.stats().queued, 0, 'the timed-out job left the queue');
  m.release();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(m.started, 1, 'the queued job never reached the model');
  assert.equal(engine.stats().active, 0, 'the slot came back when the abandoned pass ended');
  // The engine still serves once free.
  const ok = engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 });
  await new Promise((r) => setTimeout(r, 20));
  m.release();
  assert.equal((await ok).length, 1);
  await engine.close();
});

test('a deadline is answered as 503 problem with Retry-After and a clear detail', () => {
  const p = toProblem(new InferenceTimeoutError(250));
  assert.equal(p.status, 503);
  assert.match(p.detail ?? '', /deadline of 250 ms/);
  assert.equal(p.headers?.['Retry-After'], '1');
});

test('over HTTP, detect requests past the deadline answer 503 problem+json and the queued one never runs', async () => {
  await initBackend();
  const m = new GatedDetector();
  const app = await buildApp({ config: defaultConfig({ inferenceTimeoutMs: 150 }), registry: new FakeRegistry([m]), logger: false });
  try {
    const jpeg = await photo(64, 48, []);
    // .then() dispatches the injected request now rather than when first awaited.
    const send = () => app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
    const [a, b] = await Promise.all([send(), send()]);
    for (const r of [a, b]) {
      assert.equal(r.statusCode, 503, r.body);
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      assert.equal(r.headers['retry-after'], '1');
      assert.match(r.json().detail, /inference deadline of 150 ms/);
    }
    assert.equal(m.started, 1, 'only the job that reached the model ran; the queued one was dropped');
    // Healthy again once the abandoned pass ends.
    m.open = true;
    m.release();
    assert.equal((await send()).statusCode, 200);
    assert.equal(m.started, 2);
  } finally {
    m.release();
    await app.close();
  }
});

test('rate limiting per client answers 429 problem+json with Retry-After; probes are exempt', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig({ rateLimit: 2, rateLimitWindowMs: 60_000 }), registry: registryOf([]), logger: false });
  try {
    for (let i = 0; i < 2; i++) assert.equal((await app.inject('/openapi.json')).statusCode, 200);
    const r = await app.inject('/openapi.json');
    assert.equal(r.statusCode, 429);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    const retry = Number(r.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${r.headers['retry-after']}`);
    const body = r.json();
    assert.equal(body.status, 429);
    assert.equal(body.type, 'urn:kestrel:problem:rate-limited');
    assert.match(body.detail, /rate limit of 2 requests/);
    // Another client (different address) has its own budget.
    assert.equal((await app.inject({ url: '/openapi.json', remoteAddress: '10.0.0.9' })).statusCode, 200);
    for (let i = 0; i < 5; i++) {
      assert.equal((await app.inject('/healthz')).statusCode, 200);
      assert.equal((await app.inject('/metrics')).statusCode, 200);
      assert.notEqual((await app.inject('/readyz')).statusCode, 429);
    }
  } finally {
    await app.close();
  }
});

test('rate limiting is off by default', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  try {
    for (let i = 0; i < 20; i++) assert.equal((await app.inject('/openapi.json')).statusCode, 200);
  } finally {
    await app.close();
  }
});

const opened = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

/** Resolves 'closed' when the server ends the socket, or 'open' after ms. */
const fate = (s: Socket, ms: number): Promise<'closed' | 'open'> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
    s.once('error', () => undefined);
  });

test('socket guards reach the Node server; connections past the limit are closed', async () => {
  await initBackend('cpu');
  const app = await buildApp({
    config: defaultConfig({ headersTimeoutMs: 4321, keepAliveTimeoutMs: 5432, maxConnections: 1 }),
    registry: registryOf([]),
    logger: false,
  });
  const sockets: Socket[] = [];
  try {
    assert.equal(app.server.headersTimeout, 4321);
    assert.equal(app.server.keepAliveTimeout, 5432);
    assert.equal(app.server.maxConnections, 1);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const first = await opened(port);
    sockets.push(first);
    await new Promise((r) => setTimeout(r, 50)); // let the server count the first one
    const second = await opened(port);
    sockets.push(second);
    assert.equal(await fate(second, 2000), 'closed', 'the connection over the limit is dropped');
    assert.equal(first.destroyed, false, 'the first connection stays');
  } finally {
    for (const s of sockets) s.destroy();
    await app.close();
  }
});
