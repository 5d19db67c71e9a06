import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { ProblemError } from '../../src/server/errors.js';
import { registryOf } from './fake-registry.js';

// Routes that fail in each way the error handler must cover.
const failing: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/t/validate',
    { schema: { body: z.object({ name: z.string().min(2), count: z.number().int().positive() }), querystring: z.object({ mode: z.enum(['a', 'b']).default('a') }) } },
    async () => ({ ok: true }),
  );
  app.get('/t/crash', async () => {
    throw new Error('ENOENT: no such file /srv/secret/weights.bin');
  });
  app.get('/t/problem', async () => {
    throw new ProblemError({ status: 429, title: 'Busy', type: 'overloaded', detail: 'queue full', extensions: { queue: 8 }, headers: { 'Retry-After': '2' } });
  });
};

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function app(stream?: Writable) {
  return buildApp({ config: defaultConfig({ bodyLimit: 2048 }), registry: registryOf([]), logger: stream ? { stream, level: 'info' } : false, plugins: [failing] });
}

test('unknown route answers 404 problem+json', async () => {
  const a = await app();
  const r = await a.inject({ method: 'GET', url: '/no/such/route?x=1' });
  assert.equal(r.statusCode, 404);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const b = r.json();
  assert.equal(b.status, 404);
  assert.equal(b.title, 'Not Found');
  assert.equal(b.instance, '/no/such/route');
  assert.equal(typeof b.type, 'string');
  assert.equal(b.requestId, r.headers['x-request-id']);
  await a.close();
});

test('validation errors name each offending field', async () => {
  const a = await app();
  const r = await a.inject({ method: 'POST', url: '/t/validate?mode=zzz', payload: { name: 'xy', count: 1 } });
  assert.equal(r.statusCode, 400);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const b = r.json();
  assert.equal(b.type, 'urn:kestrel:problem:validation');
  assert.deepEqual(
    b.errors.map((e: { field: string }) => e.field),
    ['querystring/mode'],
  );
  const r2 = await a.inject({ method: 'POST', url: '/t/validate', payload: { name: 'x', count: -1 } });
  const fields = r2.json().errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ['body/count', 'body/name']);
  assert.match(r2.json().detail, /body\/name/);
  const r3 = await a.inject({ method: 'POST', url: '/t/validate', payload: { count: 3 } });
  assert.deepEqual(r3.json().errors.map((e: { field: string }) => e.field), ['body/name']);
  await a.close();
});

test('path parameter validation is a 400 with the field', async () => {
  const a = await app();
  const r = await a.inject({ method: 'GET', url: `/v1/models/${'x'.repeat(80)}` });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().errors[0].field, 'params/name');
  await a.close();
});

test('malformed JSON, oversized and wrong-type bodies are problem+json', async () => {
  const a = await app();
  const bad = await a.inject({ method: 'POST', url: '/t/validate', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
  assert.equal(bad.statusCode, 400);
  assert.match(String(bad.headers['content-type']), /problem\+json/);
  assert.equal(bad.json().type, 'urn:kestrel:problem:invalid-json');

  const big = await a.inject({ method: 'POST', url: '/t/validate', payload: { name: 'x'.repeat(5000), count: 1 } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().status, 413);

  const media = await a.inject({ method: 'POST', url: '/t/validate', headers: { 'content-type': 'application/x-nope' }, payload: 'zzz' });
  assert.equal(media.statusCode, 415);
  assert.match(String(media.headers['content-type']), /problem\+json/);
  await a.close();
});

test('a 500 hides the message, stack and paths from the client and logs them with the request id', async () => {
  const log = capture();
  const a = await app(log.stream);
  const r = await a.inject({ method: 'GET', url: '/t/crash', headers: { 'x-request-id': 'trace-123' } });
  assert.equal(r.statusCode, 500);
  assert.match(String(r.headers['content-type']), /problem\+json/);
  const text = r.body;
  assert.doesNotMatch(text, /ENOENT|\/srv|secret|at .*\.ts|stack/);
  assert.equal(r.json().requestId, 'trace-123');
  const entry = log.lines().find((l) => l.msg === 'request failed');
  assert.ok(entry, 'the 500 is logged');
  assert.equal(entry.reqId, 'trace-123');
  assert.match(JSON.stringify(entry.err), /ENOENT/);
  await a.close();
});

test('ProblemError keeps status, type, extensions and headers', async () => {
  const a = await app();
  const r = await a.inject({ method: 'GET', url: '/t/problem' });
  assert.equal(r.statusCode, 429);
  assert.equal(r.headers['retry-after'], '2');
  const b = r.json();
  assert.deepEqual({ type: b.type, title: b.title, status: b.status, detail: b.detail, queue: b.queue }, { type: 'urn:kestrel:problem:overloaded', title: 'Busy', status: 429, detail: 'queue full', queue: 8 });
  await a.close();
});

test('an unsafe inbound request id is replaced, a safe one echoed', async () => {
  const a = await app();
  const bad = await a.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'evil\n{"level":60}' } });
  assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const good = await a.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc.DEF-1' } });
  assert.equal(good.headers['x-request-id'], 'abc.DEF-1');
  await a.close();
});

test('logs carry no authorization header, api_key query value or body', async () => {
  const log = capture();
  const a = await app(log.stream);
  await a.inject({ method: 'POST', url: '/t/validate?api_key=hunter2hunter2', headers: { authorization: 'Bearer topsecret-token' }, payload: { name: 'IMAGEBYTES', count: 1 } });
  const all = JSON.stringify(log.lines());
  assert.ok(all.includes('incoming request'), 'requests are logged');
  assert.doesNotMatch(all, /hunter2|topsecret|IMAGEBYTES/);
  await a.close();
});
