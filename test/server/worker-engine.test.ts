// The worker-pool engine against the in-process one, with the shipped kestrel-fmnist detector: the same
// candidates, micro-batching that really merges requests, the queue's 503 / abort / deadline semantics,
// and an event loop that stays free for /healthz while the workers compute.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { initBackend } from '../../src/runtime/backend.js';
import { loaderFor } from '../../src/runtime/loaders.js';
import type { DetectorModel } from '../../src/runtime/models.js';
import type { Candidates } from '../../src/vision/candidates.js';
import { readManifest, Registry } from '../../src/runtime/registry.js';
import { buildApp } from '../../src/server/app.js';
import { availableParallelism } from 'node:os';
import { ConfigError, defaultConfig, loadConfig, type Config } from '../../src/server/config.js';
import { EngineOverloadedError, InferenceTimeoutError, InProcessEngine, JobAbortedError } from '../../src/server/inference.js';
import { metricsRegistry } from '../../src/server/plugins/metrics.js';
import { createEngine } from '../../src/server/engine.js';
import { WorkerEngine, type WorkerEngineOptions } from '../../src/server/worker-engine.js';
import { workerModuleUrl } from '../../src/server/worker-thread.js';
import { FakeDetector } from './fake-detector.js';
import { imagePart, multipart, photo } from './detect-fixtures.js';

const DIR = join(resolve('models'), 'kestrel-fmnist');
const PLANE = 128 * 128 * 3;
let model: DetectorModel;

before(async () => {
  await initBackend();
  const manifest = await readManifest(DIR);
  model = (await (await loaderFor(manifest))(manifest, DIR)) as DetectorModel;
});

/** Deterministic, varied pixels: image i of a set. */
function images(n: number, seed = 1): Uint8Array {
  const px = new Uint8Array(n * PLANE);
  let s = seed * 2654435761;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = s >>> 24;
  }
  return px;
}

const plain = (c: Candidates) => ({ boxes: Array.from(c.boxes), scores: Array.from(c.scores), classes: Array.from(c.classes) });
const above = (c: Candidates, t: number): Candidates => {
  const keep = [...c.scores.keys()].filter((i) => c.scores[i] >= t);
  return { boxes: Float32Array.from(keep.flatMap((i) => [...c.boxes.subarray(4 * i, 4 * i + 4)])), scores: Float32Array.from(keep, (i) => c.scores[i]), classes: Int32Array.from(keep, (i) => c.classes[i]) };
};

const start = (o: Partial<WorkerEngineOptions> = {}) => WorkerEngine.start({ workers: 1, models: [{ model, dir: DIR }], warmup: false, batchWaitMs: 0, ...o });

test('KESTREL_WORKERS defaults to the cores (0 for defaultConfig), KESTREL_BATCH_* to 8 and 2 ms; bad values name the variable', () => {
  const c = loadConfig({});
  assert.deepEqual([c.workers, c.batchMax, c.batchWaitMs], [availableParallelism(), 8, 2]);
  assert.equal(defaultConfig().workers, 0);
  const d = loadConfig({ KESTREL_WORKERS: '0', KESTREL_BATCH_MAX: '1', KESTREL_BATCH_WAIT_MS: '0' });
  assert.deepEqual([d.workers, d.batchMax, d.batchWaitMs], [0, 1, 0]);
  for (const [k, v] of [['KESTREL_WORKERS', '-1'], ['KESTREL_WORKERS', 'two'], ['KESTREL_BATCH_MAX', '0'], ['KESTREL_BATCH_WAIT_MS', '5000']]) {
    assert.throws(() => loadConfig({ [k]: v }), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.variable === k), `${k}=${v}`);
  }
});

test('the worker module resolves beside the engine with the running extension', () => {
  assert.match(workerModuleUrl().pathname, /\/src\/server\/inference-worker\.ts$/);
});

test('the worker engine gives the same candidates as the in-process engine for every head; other models run in-process', async () => {
  const engine = await start();
  const local = new InProcessEngine();
  try {
    assert.equal(engine.stats().workers, 1);
    const px = images(2);
    for (const head of ['yolo', 'ssd', 'sliding-window']) {
      const job = { model, head, pixels: px, batch: 2, scoreThreshold: 0.001 };
      const [ref, got] = await Promise.all([local.detect(job), engine.detect(job)]);
      assert.equal(got.length, 2);
      assert.ok(ref[0].scores.length > 0, `${head}: the reference finds candidates`);
      assert.deepEqual(got.map(plain), ref.map(plain), head);
    }
    assert.equal(engine.stats().batches, 3);
    // A model the workers were not given (here a fake) is still served, on this thread.
    const fake = new FakeDetector({ width: 32, height: 32 });
    const out = await engine.detect({ model: fake, head: 'yolo', pixels: new Uint8Array(32 * 32 * 3), batch: 1 });
    assert.equal(out.length, 1);
    assert.equal(fake.calls.length, 1);
    assert.equal(engine.stats().batches, 3);
  } finally {
    await engine.close();
    await local.close();
  }
});

async function metricValue(name: string, labels: string): Promise<number> {
  const text = await metricsRegistry.getSingleMetricAsString(name.replace(/_(sum|count)$/, ''));
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('concurrent requests share one forward pass and each gets exactly its unbatched candidates', async () => {
  // A wide window so the jobs surely meet even on a loaded machine.
  const engine = await start({ batchMax: 8, batchWaitMs: 300 });
  const labels = 'model="kestrel-fmnist",head="yolo"';
  try {
    const count0 = await metricValue('kestrel_inference_batch_size_count', labels);
    const sum0 = await metricValue('kestrel_inference_batch_size_sum', labels);
    const shared0 = await metricValue('kestrel_inference_batched_requests_total', labels);
    const px = images(6, 7);
    // Five requests, one of them a two-image batch; thresholds differ per request.
    const jobs: { pixels: Uint8Array; batch: number; scoreThreshold?: number }[] = [
      { pixels: px.subarray(0, PLANE), batch: 1, scoreThreshold: 0.001 },
      { pixels: px.subarray(PLANE, 3 * PLANE), batch: 2, scoreThreshold: 0.01 },
      { pixels: px.subarray(3 * PLANE, 4 * PLANE), batch: 1, scoreThreshold: 0.003 },
      // None given: the model's default, as in-process.
      { pixels: px.subarray(4 * PLANE, 5 * PLANE), batch: 1, scoreThreshold: undefined },
      { pixels: px.subarray(5 * PLANE, 6 * PLANE), batch: 1, scoreThreshold: 0.001 },
    ];
    const got = await Promise.all(jobs.map((j) => engine.detect({ model, head: 'yolo', ...j })));
    assert.equal(engine.stats().batches, 1, 'one forward pass for all five requests');
    assert.equal((await metricValue('kestrel_inference_batch_size_count', labels)) - count0, 1);
    assert.equal((await metricValue('kestrel_inference_batch_size_sum', labels)) - sum0, 6);
    assert.equal((await metricValue('kestrel_inference_batched_requests_total', labels)) - shared0, 5);
    for (const [i, j] of jobs.entries()) {
      const ref = await model.predict(j.pixels, j.batch, 'yolo', { scoreThreshold: j.scoreThreshold });
      assert.equal(got[i].length, j.batch);
      if (j.scoreThreshold !== undefined) assert.ok(ref.some((c) => c.scores.length > 0), `request ${i}: the reference finds candidates`);
      // The pass ran at the lowest threshold; above the request's own, the candidates are the same.
      assert.deepEqual(got[i].map((c) => plain(above(c, j.scoreThreshold ?? model.defaultScoreThreshold))), ref.map(plain), `request ${i}`);
    }
    // Different heads never share a pass.
    await Promise.all(['yolo', 'ssd'].map((head) => engine.detect({ model, head, pixels: px.subarray(0, PLANE), batch: 1 })));
    assert.equal(engine.stats().batches, 3);
  } finally {
    await engine.close();
  }
});

test('worker queue: full → EngineOverloadedError; an aborted queued job never runs; tensors do not grow', async () => {
  const engine = await start({ maxQueue: 1 });
  try {
    const tensors0 = (await engine.memory())[0].tensors;
    const big = engine.detect({ model, head: 'yolo', pixels: images(16), batch: 16 });
    const ac = new AbortController();
    const queued = engine.detect({ model, head: 'yolo', pixels: images(1), batch: 1, signal: ac.signal });
    assert.deepEqual([engine.stats().active, engine.stats().queued], [1, 1]);
    await assert.rejects(engine.detect({ model, head: 'yolo', pixels: images(1), batch: 1 }), EngineOverloadedError);
    ac.abort();
    await assert.rejects(queued, JobAbortedError);
    assert.equal(engine.stats().queued, 0);
    assert.equal((await big).length, 16);
    await assert.rejects(engine.detect({ model, head: 'yolo', pixels: new Uint8Array(5), batch: 1 }), /bytes/);
    const s = engine.stats();
    assert.deepEqual([s.batches, s.completed, s.rejected, s.active], [1, 1, 1, 0]);
    for (let i = 0; i < 3; i++) await engine.detect({ model, head: 'ssd', pixels: images(1, i), batch: 1 });
    assert.equal((await engine.memory())[0].tensors, tensors0, 'live tensors in the worker are back where they started');
  } finally {
    await engine.close();
  }
});

test('worker queue: past the deadline both the running and the queued caller get InferenceTimeoutError; the queued job never runs', async () => {
  // 16 images take far longer than 30 ms on any CPU this runs on (≈ 10 ms each on one core).
  const engine = await start({ timeoutMs: 30 });
  try {
    const big = engine.detect({ model, head: 'yolo', pixels: images(16), batch: 16 });
    const queued = engine.detect({ model, head: 'yolo', pixels: images(1), batch: 1 });
    await Promise.all([assert.rejects(queued, InferenceTimeoutError), assert.rejects(big, InferenceTimeoutError)]);
    const end = Date.now() + 10_000;
    while (engine.stats().active > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(engine.stats().active, 0);
    assert.equal(engine.stats().batches, 1, 'the expired queued job never reached a worker');
  } finally {
    await engine.close();
  }
});

test('a worker that dies fails its in-flight job, is replaced, and the engine serves again', async () => {
  const engine = await start();
  try {
    const running = engine.detect({ model, head: 'yolo', pixels: images(16), batch: 16 });
    const slots = (engine as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    const first = slots[0].worker;
    await first.terminate();
    await assert.rejects(running, /inference worker/);
    const end = Date.now() + 30_000;
    while ((slots[0].worker === first || engine.stats().workers < 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(engine.stats().workers, 1, 'a replacement worker is up');
    const [c] = await engine.detect({ model, head: 'yolo', pixels: images(1), batch: 1 });
    assert.ok(c.scores instanceof Float32Array);
    assert.equal(engine.stats().failed, 1);
  } finally {
    await engine.close();
  }
});

test('workers that cannot start (here: a backend this machine lacks) leave the service in-process, with the reason reported', async (t) => {
  let tfjsNode = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    tfjsNode = false;
  }
  if (tfjsNode) return t.skip('tfjs-node is installed here, so no backend is missing');
  const reasons: { obj: { err?: Error }; msg: string }[] = [];
  const log = { warn: () => undefined, error: (obj: { err?: Error }, msg: string) => void reasons.push({ obj, msg }) };
  const engine = await createEngine(new Registry([{ model, dir: DIR }]), { workers: 1, backend: 'tensorflow' }, log);
  try {
    assert.equal(engine.name, 'in-process');
    assert.equal(reasons.length, 1, JSON.stringify(reasons.map((r) => r.msg)));
    assert.match(reasons[0].msg, /could not start/);
    assert.match(String(reasons[0].obj.err?.message), /tensorflow|tfjs-node|exited/i);
    assert.equal((await engine.detect({ model, head: 'yolo', pixels: images(1), batch: 1 })).length, 1);
  } finally {
    await engine.close();
  }
});

async function appWith(config: Partial<Config>, queue?: number): Promise<FastifyInstance> {
  return buildApp({ config: defaultConfig({ ...config, ...(queue !== undefined && { inferenceQueue: queue }) }), registry: new Registry([{ model, dir: DIR }]), logger: false });
}

test('HTTP: KESTREL_WORKERS serves the same answers from a worker, 503 + Retry-After when full, /healthz free meanwhile', async () => {
  const pooled = await appWith({ workers: 1, batchWaitMs: 0 }, 0);
  const inline = await appWith({ workers: 0 });
  try {
    assert.equal(pooled.inference.name, 'worker-pool');
    assert.equal(inline.inference.name, 'in-process');
    const jpeg = await photo(320, 240, [{ x: 40, y: 30, w: 120, h: 150, colour: '#d0d0d0' }]);
    const ask = (app: FastifyInstance, head: string) =>
      app.inject({ method: 'POST', url: `/v1/detect?head=${head}&scoreThreshold=0.05`, payload: jpeg, headers: { 'content-type': 'image/jpeg' } });
    for (const head of ['yolo', 'ssd', 'sliding-window']) {
      const [a, b] = await Promise.all([ask(pooled, head), ask(inline, head)]);
      assert.equal(a.statusCode, 200, a.body);
      assert.ok(a.json().detections.length > 0, `${head} finds something at threshold 0.05`);
      assert.deepEqual(a.json().detections, b.json().detections, head);
    }

    // A 16-image batch occupies the only worker; with no queue, a request arriving meanwhile gets 503.
    const batch = multipart(Array.from({ length: 16 }, () => imagePart(jpeg)));
    const running = pooled.inject({ method: 'POST', url: '/v1/detect/batch', ...batch }).then((r) => r);
    const end = Date.now() + 10_000;
    while (pooled.inference.stats().active === 0 && Date.now() < end) await new Promise((r) => setImmediate(r));
    assert.ok(pooled.inference.stats().active > 0, 'the batch reached the worker');
    // While the worker computes, the event loop is free: /healthz answers, and promptly.
    let answered = 0;
    let slowest = 0;
    // Refusals wait REFUSAL_DELAY_MS for their 503, so this one is awaited after the probes.
    const refusal = ask(pooled, 'yolo').then((r) => r);
    while (pooled.inference.stats().active > 0 && Date.now() < end) {
      const t0 = performance.now();
      const h = await pooled.inject('/healthz');
      slowest = Math.max(slowest, performance.now() - t0);
      if (h.statusCode === 200) answered++;
      // A prober's pace; inject alone never yields to I/O, so the worker's answer would wait behind it.
      await new Promise((r) => setTimeout(r, 5));
    }
    const refused = await refusal;
    assert.equal(refused.statusCode, 503, refused.body);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.ok(answered >= 1, '/healthz answered while the forward pass ran');
    assert.ok(slowest < 1000, `/healthz took ${slowest.toFixed(0)} ms during inference`);
    const done = await running;
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().results.length, 16);

    const metrics = (await pooled.inject('/metrics')).body;
    assert.match(metrics, /kestrel_tfjs_thread_tensors\{thread="worker-0"\} [1-9]\d*/);
    // Idle now: the live total (workers as of their latest pass) equals the per-thread counts asked afresh.
    const total = Number(/^kestrel_tensors_live (\d+)/m.exec(metrics)?.[1]);
    const byThread = [...metrics.matchAll(/^kestrel_tfjs_thread_tensors\{thread="[^"]+"\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.ok(byThread > Number(/^kestrel_tfjs_thread_tensors\{thread="main"\} (\d+)/m.exec(metrics)?.[1]));
    assert.equal(total, byThread, 'kestrel_tensors_live counts the worker');
  } finally {
    await pooled.close();
    await inline.close();
  }
});

test('HTTP: concurrent detect requests are micro-batched (metric > 1 per pass) and answer exactly as unbatched in-process', async () => {
  const batched = await appWith({ workers: 1, batchMax: 8, batchWaitMs: 300 });
  const inline = await appWith({ workers: 0 });
  try {
    const jpegs = await Promise.all(
      [0, 1, 2, 3].map((i) => photo(200 + 40 * i, 160, [{ x: 20 + 10 * i, y: 30, w: 90, h: 100, colour: ['#d0d0d0', '#a0a0a0', '#f0f0f0', '#808080'][i] }])),
    );
    const ask = (app: FastifyInstance, jpeg: Buffer) =>
      app.inject({ method: 'POST', url: '/v1/detect?head=ssd&scoreThreshold=0.02', payload: jpeg, headers: { 'content-type': 'image/jpeg' } }).then((r) => r);
    const labels = 'model="kestrel-fmnist",head="ssd"';
    const before = (await batched.inject('/metrics')).body;
    const got = await Promise.all(jpegs.map((j) => ask(batched, j)));
    const after = (await batched.inject('/metrics')).body;
    const value = (text: string, name: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    const passes = value(after, 'kestrel_inference_batch_size_count') - value(before, 'kestrel_inference_batch_size_count');
    const images = value(after, 'kestrel_inference_batch_size_sum') - value(before, 'kestrel_inference_batch_size_sum');
    assert.equal(images, 4);
    assert.ok(passes < 4, `4 requests took ${passes} forward passes`);
    assert.ok(value(after, 'kestrel_inference_batched_requests_total') > value(before, 'kestrel_inference_batched_requests_total'));
    for (const [i, j] of jpegs.entries()) {
      const want = await ask(inline, j);
      assert.equal(got[i].statusCode, 200, got[i].body);
      assert.ok(want.json().detections.length > 0, `image ${i} has detections at 0.02`);
      assert.deepEqual(got[i].json().detections, want.json().detections, `image ${i}`);
    }
  } finally {
    await batched.close();
    await inline.close();
  }
});
