import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { SequenceForecaster } from '../../src/sequence/forecaster.js';
import { loadForecasterDir, saveModelDir } from '../../src/sequence/store.js';
import { timeAtFor } from '../../src/sequence/train.js';
import { syntheticDaily, tinyModel } from './tiny-model.js';

before(async () => {
  await initBackend();
});

test('a trained forecaster saves, loads through the loader table and forecasts identically', async () => {
  const r = await tinyModel();
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-fc-'));
  try {
    await saveModelDir(dir, r.manifest, r.weights, { note: 'test' });
    const loaded = await loadForecasterDir(dir);
    assert.ok(loaded instanceof SequenceForecaster);
    assert.equal(loaded.window, 8);
    assert.equal(loaded.maxHorizon, 3);
    const data = syntheticDaily();
    const timeAt = timeAtFor(data.times, 'daily');
    const starts = [8, 100, 359, 360];
    const a = r.model.forecastAt(data.values, starts, 3, timeAt);
    const b = loaded.forecastAt(data.values, starts, 3, timeAt);
    assert.deepEqual(b.map((x) => Array.from(x)), a.map((x) => Array.from(x)));
    // The single-series entry point gives the same numbers from the date of the last value.
    const one = await loaded.forecast(Array.from(data.values), 3, { end: data.times![359] });
    assert.deepEqual(one.forecast, Array.from(a[3]));
    assert.equal(one.lower?.length, 3);
    assert.ok(one.lower!.every((l, h) => l <= one.forecast[h] && one.forecast[h] <= one.upper![h]));
    // It learned something: better than persistence on the synthetic test period.
    assert.ok(r.test.rmse1 < r.baselines.persistence.rmse1, `model ${r.test.rmse1} vs persistence ${r.baselines.persistence.rmse1}`);
    loaded.dispose();

    // A truncated weight file is refused, not silently zero-filled.
    const w = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), w.subarray(0, w.length - 8));
    await assert.rejects(loadForecasterDir(dir), /shorter|more than/);
  } finally {
    r.model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('iterated mode feeds forecasts back and serves beyond one step; tensor count stays flat', async () => {
  const r = await tinyModel({ mode: 'iterated', calendar: false, cell: 'gru' });
  try {
    assert.equal(r.model.config.outputs, 1);
    assert.equal(r.model.maxHorizon, 5);
    const series = Array.from(syntheticDaily().values);
    const first = await r.model.forecast(series, 5);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await r.model.forecast(series, 5);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(first.forecast.length, 5);
    // Step k+1 of a 5-step forecast equals a 1-step forecast from the series extended by steps 1..k.
    const ext = [...series, ...first.forecast.slice(0, 2)];
    const third = await r.model.forecast(ext, 1);
    assert.ok(Math.abs(third.forecast[0] - first.forecast[2]) < 1e-4, `${third.forecast[0]} vs ${first.forecast[2]}`);
    await assert.rejects(r.model.forecast(series, 6), /horizon/);
    await assert.rejects(r.model.forecast(series.slice(0, 7), 1), /at least 8/);
  } finally {
    r.model.dispose();
  }
});
