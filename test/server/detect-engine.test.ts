import { test } from 'node:test';
import { connect, type AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/runtime/backend.js';
import type { Candidates } from '../../src/vision/candidates.js';
import { EngineOverloadedError, InProcessEngine, JobAbortedError } from '../../src/server/inference.js';
import { FakeDetector, FakeRegistry } from './fake-detector.js';
import { buildDetectApp } from './detect-app.js';
import { photo } from './detect-fixtures.js';

/** A fake whose forward pass waits until the test lets it go. */
class GatedDetector extends FakeDetector {
  private gates: (() => void)[] = [];
  started = 0;
  override async predict(pixels: Uint8Array, batch: number, head: string): Promise<Candidates[]> {
    this.started++;
    await new Promise<void>((r) => this.gates.push(r));
    return super.predict(pixels, batch, head);
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));

/** Polls until cond holds; fails rather than hangs when it never does. */
async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

test('the in-process engine runs one job at a time, queues up to maxQueue, then refuses', async () => {
  await initBackend();
  const m = new GatedDetector({ width: 32, height: 32 });
  const engine = new InProcessEngine({ concurrency: 1, maxQueue: 1 });
  const px = new Uint8Array(32 * 32 * 3);
  const a = engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 });
  const b = engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 });
  await tick();
  assert.deepEqual([engine.stats().active, engine.stats().queued, m.started], [1, 1, 1]);
  await assert.rejects(engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 }), EngineOverloadedError);
  m.release();
  await a;
  await tick();
  m.release();
  await b;
  assert.deepEqual(engine.stats(), { active: 0, queued: 0, completed: 2, failed: 0, rejected: 1 });
  await assert.rejects(engine.detect({ model: m, head: 'yolo', pixels: new Uint8Array(5), batch: 1 }), /bytes/);
});

test('reserve() holds queue places for requests still decoding, and gives each back once', () => {
  const engine = new InProcessEngine({ concurrency: 1, maxQueue: 1 });
  // One free slot plus one queue place.
  const a = engine.reserve();
  const b = engine.reserve();
  assert.throws(() => engine.reserve(), EngineOverloadedError);
  a();
  a(); // a second call must not free a place twice
  const c = engine.reserve();
  assert.throws(() => engine.reserve(), EngineOverloadedError);
  b();
  c();
  assert.equal(engine.stats().rejected, 2);
});

test('an overloaded engine refuses a request before decoding it: an undecodable body gets 503, not 422', async () => {
  const m = new GatedDetector();
  const app = await buildDetectApp({ registry: new FakeRegistry([m]), engine: { concurrency: 1, maxQueue: 0 } });
  const jpeg = await photo(320, 240, [{ x: 10, y: 10, w: 100, h: 100, colour: '#ffffff' }]);
  const first = app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
  await waitFor(() => m.started >= 1, 'the first forward pass');
  const broken = Buffer.concat([jpeg.subarray(0, 200), Buffer.alloc(500)]);
  const refused = await app.inject({ method: 'POST', url: '/v1/detect', payload: broken, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(refused.statusCode, 503, refused.body);
  assert.ok(Number(refused.headers['retry-after']) >= 1);
  m.release();
  assert.equal((await first).statusCode, 200);
  // With the slot free again the same broken body is decoded, and refused for what it is.
  const judged = await app.inject({ method: 'POST', url: '/v1/detect', payload: broken, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(judged.statusCode, 422, judged.body);
  await app.close();
});

test('while the engine is full, a detection request is refused before its body is read', async () => {
  const m = new GatedDetector();
  const app = await buildDetectApp({ registry: new FakeRegistry([m]), engine: { concurrency: 1, maxQueue: 0 } });
  const jpeg = await photo(320, 240, [{ x: 10, y: 10, w: 100, h: 100, colour: '#ffffff' }]);
  const first = app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
  await waitFor(() => m.started >= 1, 'the first forward pass');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  for (const path of ['/v1/detect', '/v1/vision/detection']) {
    // Announces 8 MB and sends only the headers: an answer proves the server did not wait for the body.
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n\r\n') && /\}\s*$/.test(got)) {
          sock.destroy();
          resolve(got);
        }
      });
      sock.on('error', reject);
      sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 8000000\r\n\r\n`);
      setTimeout(() => sock.destroy(new Error(`no answer from ${path} within 5 s`)), 5000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 503/, path);
    assert.match(answer, /\r\nretry-after: \d+/i, path);
  }
  m.release();
  assert.equal((await first).statusCode, 200);
  await app.close();
});

test('a queued job whose client went away leaves the queue without running', async () => {
  const m = new GatedDetector({ width: 32, height: 32 });
  const engine = new InProcessEngine({ concurrency: 1, maxQueue: 4 });
  const px = new Uint8Array(32 * 32 * 3);
  const a = engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1 });
  const ac = new AbortController();
  const b = engine.detect({ model: m, head: 'yolo', pixels: px, batch: 1, signal: ac.signal });
  await tick();
  ac.abort();
  await assert.rejects(b, JobAbortedError);
  assert.equal(engine.stats().queued, 0);
  m.release();
  await a;
  assert.equal(m.started, 1);
});

test('a full inference queue answers 503 with Retry-After, and the service recovers', async () => {
  const m = new GatedDetector();
  const app = await buildDetectApp({ registry: new FakeRegistry([m]), engine: { concurrency: 1, maxQueue: 1 } });
  const jpeg = await photo(320, 240, [{ x: 10, y: 10, w: 100, h: 100, colour: '#ffffff' }]);
  // .then() dispatches the injected request now rather than when first awaited.
  const send = () => app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
  const first = send();
  const second = send();
  await waitFor(() => m.started >= 1, 'the first forward pass');
  await tick();
  const third = await send();
  assert.equal(third.statusCode, 503, third.body);
  assert.ok(Number(third.headers['retry-after']) >= 1);
  // Whichever of the two decoded first holds the slot; the other runs when it is released.
  m.release();
  await waitFor(() => m.started >= 2, 'the queued forward pass');
  m.release();
  const done = await Promise.all([first, second]);
  assert.deepEqual(done.map((r) => r.statusCode), [200, 200]);
  const ds = app.inject({ method: 'POST', url: '/v1/vision/detection', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
  await waitFor(() => m.started >= 3, 'the DeepStack forward pass');
  m.release();
  assert.equal((await ds).statusCode, 200, 'DeepStack routes use the same engine');
  await app.close();
});

test('over real sockets: queued requests are not aborted by their own body ending, a client that leaves is', async () => {
  const m = new GatedDetector();
  const app = await buildDetectApp({ registry: new FakeRegistry([m]), engine: { concurrency: 1, maxQueue: 8 } });
  const engine = app.inference;
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })) + '/v1/detect';
  const jpeg = await photo(320, 240, [{ x: 10, y: 10, w: 100, h: 100, colour: '#ffffff' }]);
  const send = (signal?: AbortSignal) => fetch(url, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' }, signal });
  try {
    const a = send();
    await waitFor(() => m.started >= 1, 'the first forward pass');
    const b = send();
    await waitFor(() => engine.stats().queued === 1, 'the second job queued');
    const ac = new AbortController();
    const c = send(ac.signal).catch((e: Error) => e);
    await waitFor(() => engine.stats().queued === 2, 'the third job queued');
    ac.abort();
    assert.ok((await c) instanceof Error);
    await waitFor(() => engine.stats().queued === 1, 'the abandoned job to leave the queue');
    m.release();
    await waitFor(() => m.started >= 2, 'the second forward pass');
    m.release();
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.status, rb.status], [200, 200]);
    assert.equal(((await rb.json()) as { detections: unknown[] }).detections.length, 1);
    await ra.arrayBuffer();
    assert.equal(m.started, 2, 'the abandoned request never reached the model');
  } finally {
    m.release();
    app.server.closeAllConnections(); // fetch keeps sockets alive; close would wait for them
    await app.close();
  }
});

test('/metrics reports detection inference time and the queue gauges', async () => {
  const m = new FakeDetector({ name: 'metered' });
  const app = await buildDetectApp({ registry: new FakeRegistry([m]) });
  const jpeg = await photo(320, 240, [{ x: 10, y: 10, w: 100, h: 100, colour: '#ffffff' }]);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/detect', payload: jpeg, headers: { 'content-type': 'image/jpeg' } })).statusCode, 200);
  const text = (await app.inject('/metrics')).body;
  assert.match(text, /kestrel_inference_duration_seconds_count\{model="metered",head="yolo"\} 1/);
  assert.match(text, /kestrel_inference_queued \d+/);
  assert.match(text, /kestrel_inference_rejected \d+/);
  await app.close();
});
