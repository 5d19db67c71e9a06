import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { observeInference, timeInference } from '../../src/server/plugins/metrics.js';
import { registryOf } from './fake-registry.js';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = line.slice(line.indexOf('{') + 1, line.indexOf('}'));
    if (want.every((w) => inside.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('/metrics exposes request counts and latency by route and status, inference latency, tensors and event-loop lag', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  const before = await app.inject('/metrics');
  const n0 = sample(before.body, 'kestrel_http_requests_total', { route: '/healthz', status: '200' }) ?? 0;
  for (let i = 0; i < 3; i++) await app.inject('/healthz');
  await app.inject('/v1/models/unknown');
  await app.inject('/some/unknown/path');
  observeInference('m1', 'yolo', 0.02);
  await timeInference('m1', 'ssd', async () => 1);
  const held = tf.tensor([1, 2, 3]);

  const r = await app.inject('/metrics');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const t = r.body;
  assert.equal(sample(t, 'kestrel_http_requests_total', { method: 'GET', route: '/healthz', status: '200' }), n0 + 3);
  assert.ok((sample(t, 'kestrel_http_requests_total', { route: '/v1/models/:name', status: '404' }) ?? 0) >= 1);
  // Unknown paths share one label so scanners cannot explode the series count.
  assert.ok((sample(t, 'kestrel_http_requests_total', { route: 'unmatched', status: '404' }) ?? 0) >= 1);
  assert.doesNotMatch(t, /some\/unknown\/path/);
  assert.ok((sample(t, 'kestrel_http_request_duration_seconds_count', { route: '/healthz', status: '200' }) ?? 0) >= 3);
  assert.match(t, /kestrel_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz",status="200"\}/);
  assert.equal(sample(t, 'kestrel_inference_duration_seconds_count', { model: 'm1', head: 'yolo' }), 1);
  assert.equal(sample(t, 'kestrel_inference_duration_seconds_sum', { model: 'm1', head: 'yolo' }), 0.02);
  assert.equal(sample(t, 'kestrel_inference_duration_seconds_count', { model: 'm1', head: 'ssd' }), 1);
  assert.equal(sample(t, 'kestrel_tfjs_tensors', {}), tf.memory().numTensors);
  assert.ok((sample(t, 'kestrel_tfjs_tensors', {}) ?? 0) >= 1);
  assert.ok(sample(t, 'kestrel_nodejs_eventloop_lag_seconds', {}) !== undefined, 'event-loop lag is exported');
  held.dispose();
  await app.close();
});
