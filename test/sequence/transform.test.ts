import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { shiftTime } from '../../src/sequence/calendar.js';
import type { SeriesData } from '../../src/sequence/csv.js';
import { ForecastInputError, SequenceForecaster } from '../../src/sequence/forecaster.js';
import { loadForecasterDir, saveModelDir } from '../../src/sequence/store.js';
import { forwardTransform, inverseTransform } from '../../src/sequence/transform.js';
import { timeAtFor } from '../../src/sequence/train.js';
import { tinyModel } from './tiny-model.js';

before(async () => {
  await initBackend();
});

test('log transform round trip, and it refuses values it cannot take', () => {
  const v = [112, 118, 0.5, 1, 622];
  const t = forwardTransform('log', v);
  assert.ok(Math.abs(t[0] - Math.log(112)) < 1e-12);
  assert.equal(t[3], 0);
  Array.from(t).forEach((x, i) => assert.ok(Math.abs(inverseTransform('log', x) - v[i]) < 1e-9 * v[i]));
  assert.deepEqual(Array.from(forwardTransform('none', v)), v);
  assert.equal(inverseTransform('none', -3), -3);
  assert.throws(() => forwardTransform('log', [1, 0]), /value 1 is 0/);
  assert.throws(() => forwardTransform('log', [-2]), /positive/);
  assert.throws(() => forwardTransform('log', [NaN]), /positive/);
});

/** A monthly series whose seasonal swing grows with its trend (multiplicative, like airline passengers). */
function multiplicativeMonthly(n = 144): SeriesData {
  const values = Float64Array.from({ length: n }, (_, i) => 100 * Math.exp(0.01 * i) * (1 + 0.2 * Math.sin((2 * Math.PI * i) / 12)));
  const times = Array.from({ length: n }, (_, i) => shiftTime('1949-01', 'monthly', i));
  return { values, times, column: 'Passengers', timeColumn: 'Month' };
}

test('a log-transform model stores the transform, forecasts in the series units and refuses non-positive input', async () => {
  const data = multiplicativeMonthly();
  const r = await tinyModel({ data, transform: 'log', engine: 'fused', calendar: true, testStart: 120 });
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-fc-log-'));
  try {
    assert.equal(r.model.config.transform, 'log');
    // The scaler describes log values (log 100 ≈ 4.6 .. log 400 ≈ 6), not the raw ones.
    assert.ok(r.model.config.scaler.mean > 4 && r.model.config.scaler.mean < 6.5, `scaler mean ${r.model.config.scaler.mean}`);
    await saveModelDir(dir, r.manifest, r.weights, { note: 'test' });
    const loaded = await loadForecasterDir(dir);
    assert.ok(loaded instanceof SequenceForecaster);
    const timeAt = timeAtFor(data.times, 'monthly');
    const starts = [120, 143];
    const a = r.model.forecastAt(data.values, starts, 3, timeAt);
    const b = loaded.forecastAt(data.values, starts, 3, timeAt);
    assert.deepEqual(b.map((x) => Array.from(x)), a.map((x) => Array.from(x)));
    // Forecasts are back in passengers: same order of magnitude as the values they continue.
    for (const [k, t] of starts.entries()) for (const f of a[k]) assert.ok(f > 0.5 * data.values[t - 1] && f < 2 * data.values[t - 1], `${f} after ${data.values[t - 1]}`);
    const series = Array.from(data.values);
    series[140] = 0;
    await assert.rejects(loaded.forecast(series, 2, { end: data.times![143] }), (e: unknown) => e instanceof ForecastInputError && /positive/.test((e as Error).message));
    loaded.dispose();
  } finally {
    r.model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
