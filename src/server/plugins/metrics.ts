// Prometheus metrics. One prom-client registry per process: tfjs tensors, the event loop and the
// inference helpers are process-wide, so several app instances (tests) share the same series.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { tf } from '../../runtime/backend.js';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'kestrel_', eventLoopMonitoringPrecision: 20 });

const httpRequests = new Counter({
  name: 'kestrel_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

const httpDuration = new Histogram({
  name: 'kestrel_http_request_duration_seconds',
  help: 'Time from request received to response sent, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

const inferenceDuration = new Histogram({
  name: 'kestrel_inference_duration_seconds',
  help: 'Model compute time per call (batch), by model and head; excludes decoding and post-processing.',
  labelNames: ['model', 'head'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

new Gauge({
  name: 'kestrel_tfjs_tensors',
  help: 'Live tfjs tensors on the main thread (kestrel_tensors_live adds inference workers).',
  registers: [metricsRegistry],
  collect() {
    this.set(tf.memory().numTensors);
  },
});

// Where live tensors can be: this thread's tfjs, plus any source an inference engine adds (a worker pool
// reports its workers' summed count), so one series answers "is anything leaking" whatever the engine.
const tensorSources = new Map<string, () => number>();

/** Adds a count of live tensors held outside this thread (e.g. inference workers) to kestrel_tensors_live; returns its removal. */
export function addTensorSource(name: string, count: () => number): () => void {
  tensorSources.set(name, count);
  return () => tensorSources.delete(name);
}

/** This thread's live tensors plus every added source: the value of kestrel_tensors_live. */
export function liveTensors(): number {
  let n = tf.memory().numTensors;
  for (const count of tensorSources.values()) n += count();
  return n;
}

new Gauge({
  name: 'kestrel_tensors_live',
  help: 'Live tfjs tensors in this process: the main thread plus inference workers. Growth under steady load means a leak.',
  registers: [metricsRegistry],
  collect() {
    this.set(liveTensors());
  },
});

new Gauge({
  name: 'kestrel_tfjs_bytes',
  help: 'Bytes held by live tfjs tensors.',
  registers: [metricsRegistry],
  collect() {
    this.set(tf.memory().numBytes);
  },
});

/** Tensors and bytes held by one thread's tfjs engine. */
export interface ThreadMemory {
  thread: string;
  tensors: number;
  bytes: number;
}

// Threads other than this one that hold tfjs tensors (detection workers) report their memory here, asked
// at scrape time, for the per-thread gauge below.
const threadSources = new Set<() => Promise<ThreadMemory[]>>();

/** Adds a source of other threads' tfjs memory to kestrel_tfjs_thread_tensors; returns its removal. */
export function addThreadMemorySource(source: () => Promise<ThreadMemory[]>): () => void {
  threadSources.add(source);
  return () => threadSources.delete(source);
}

/** This thread's tfjs memory and every registered thread's, main thread first. */
export async function tfjsMemoryByThread(): Promise<ThreadMemory[]> {
  const m = tf.memory();
  const others = await Promise.all([...threadSources].map((s) => s()));
  return [{ thread: 'main', tensors: m.numTensors, bytes: m.numBytes }, ...others.flat()];
}

new Gauge({
  name: 'kestrel_tfjs_thread_tensors',
  help: 'Live tfjs tensors per thread: "main", or "worker-<n>" for detection workers.',
  labelNames: ['thread'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const t of await tfjsMemoryByThread()) this.set({ thread: t.thread }, t.tensors);
  },
});

const batchImages = new Histogram({
  name: 'kestrel_inference_batch_size',
  help: 'Images per detection forward pass, by model and head (micro-batched requests together).',
  labelNames: ['model', 'head'] as const,
  buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
  registers: [metricsRegistry],
});

const batchRequests = new Histogram({
  name: 'kestrel_inference_batch_requests',
  help: 'Requests sharing one detection forward pass (1 = not micro-batched), by model and head.',
  labelNames: ['model', 'head'] as const,
  buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32],
  registers: [metricsRegistry],
});

const batchedRequests = new Counter({
  name: 'kestrel_inference_batched_requests_total',
  help: 'Detection requests whose forward pass was shared with at least one other request.',
  labelNames: ['model', 'head'] as const,
  registers: [metricsRegistry],
});

/** Records one detection forward pass of `images` images gathered from `requests` requests. */
export function observeBatch(model: string, head: string, images: number, requests: number): void {
  batchImages.observe({ model, head }, images);
  batchRequests.observe({ model, head }, requests);
  if (requests > 1) batchedRequests.inc({ model, head }, requests);
}

/**
 * Records one model call. `head` is the detector head, or the operation for other kinds (e.g. "generate").
 * Call with the seconds spent in the model, or use timeInference.
 */
export function observeInference(model: string, head: string, seconds: number): void {
  inferenceDuration.observe({ model, head }, seconds);
}

/** Times an async model call and records it, also when it throws. */
export async function timeInference<T>(model: string, head: string, fn: () => Promise<T>): Promise<T> {
  const end = inferenceDuration.startTimer({ model, head });
  try {
    return await fn();
  } finally {
    end();
  }
}

/** Adds the request hooks and GET /metrics. */
export function installMetrics(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded; unknown paths share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    httpRequests.inc(labels);
    httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
}
