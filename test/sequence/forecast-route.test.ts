import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { registryOf } from '../server/fake-registry.js';
import type { TrainResult } from '../../src/sequence/train.js';
import { syntheticDaily, tinyModel } from './tiny-model.js';

// The real app factory, serving two small trained forecasters.
let app: FastifyInstance;
let dated: TrainResult;
let plain: TrainResult;

before(async () => {
  await initBackend();
  dated = await tinyModel({ name: 'tiny-dated' });
  plain = await tinyModel({ name: 'tiny-plain', calendar: false });
  plain.manifest.default = true;
  app = await buildApp({ config: defaultConfig(), registry: registryOf([dated.model, plain.model]), logger: false });
});

after(async () => {
  await app.close();
  dated.model.dispose();
  plain.model.dispose();
});

const series = Array.from(syntheticDaily().values);
const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/sequence/forecast', payload: payload as object });
const postRaw = (body: string) => app.inject({ method: 'POST', url: '/v1/sequence/forecast', payload: body, headers: { 'content-type': 'application/json' } });

async function expect400(res: Awaited<ReturnType<typeof post>>, mention: RegExp): Promise<void> {
  assert.equal(res.statusCode, 400, res.body);
  assert.match(res.headers['content-type'] as string, /problem\+json/);
  assert.match(res.body, mention);
}

test('forecasts with the default model, and with intervals from a named calendar model', async () => {
  const res = await post({ series, horizon: 3 });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.model, 'tiny-plain');
  assert.equal(body.horizon, 3);
  assert.equal(body.forecast.length, 3);
  assert.ok(body.forecast.every(Number.isFinite));
  assert.equal(body.intervals, undefined);

  const res2 = await post({ model: 'tiny-dated', series, horizon: 2, end: '2000-12-25', intervals: true });
  assert.equal(res2.statusCode, 200, res2.body);
  const b2 = res2.json();
  assert.equal(b2.intervals.level, 0.9);
  assert.ok(b2.intervals.lower.every((l: number, h: number) => l <= b2.forecast[h] && b2.forecast[h] <= b2.intervals.upper[h]));
  // The route gives the same numbers as the model itself.
  const direct = await dated.model.forecast(series, 2, { end: '2000-12-25' });
  assert.deepEqual(b2.forecast, direct.forecast);
});

test('tensor count is stable across requests', async () => {
  await post({ series, horizon: 3 });
  const n = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) assert.equal((await post({ series, horizon: 3 })).statusCode, 200);
  assert.equal(tf.memory().numTensors, n);
});

test('non-finite, non-numeric, too short and too long series are 400s naming the problem', async () => {
  await expect400(await postRaw('{"series":[1,2,NaN],"horizon":1}'), /JSON|json/);
  await expect400(await postRaw(`{"series":[${series.slice(0, 20).join(',')},1e999],"horizon":1}`), /finite number/);
  await expect400(await post({ series: [...series.slice(0, 20), '3'], horizon: 1 }), /series.*finite number|finite number[\s\S]*series/);
  await expect400(await post({ series: [...series.slice(0, 20), null], horizon: 1 }), /finite number/);
  await expect400(await post({ series: series.slice(0, 7), horizon: 1 }), /at least its window of 8/);
  await expect400(await post({ series: new Array(10_001).fill(1), horizon: 1 }), /at most 10000/);
  await expect400(await post({ series: 'abc', horizon: 1 }), /series/);
  await expect400(await post({ horizon: 1 }), /series/);
});

test('horizon, date and field errors are 400s; an unknown model is 404', async () => {
  await expect400(await post({ series, horizon: 0 }), /horizon must be at least 1/);
  await expect400(await post({ series, horizon: 1.5 }), /horizon must be an integer/);
  await expect400(await post({ series, horizon: 4 }), /maximum of 3/);
  await expect400(await post({ model: 'tiny-dated', series, horizon: 1 }), /calendar features: give/);
  await expect400(await post({ model: 'tiny-dated', series, horizon: 1, end: '25/12/2000' }), /YYYY-MM-DD/);
  await expect400(await post({ model: 'tiny-dated', series, horizon: 1, end: '2000-02-31' }), /valid YYYY-MM-DD/);
  await expect400(await post({ series, horizon: 1, end: '2000-12-25' }), /no calendar/);
  await expect400(await post({ series, horizon: 1, extra: true }), /extra|Unrecognized/i);
  const res = await post({ model: 'nope', series, horizon: 1 });
  assert.equal(res.statusCode, 404);
  assert.match(res.body, /nope/);
});
