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
  help: 'Live tfjs tensors; growth under steady load means a leak.',
  registers: [metricsRegistry],
  collect() {
    this.set(tf.memory().numTensors);
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
