import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arForecast, fitAr, persistenceForecast, seasonalNaiveForecast } from '../../src/sequence/baselines.js';
import { scoreBaselines, scoreForecaster } from '../../src/sequence/evaluate.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('persistence repeats the last value; seasonal naive repeats the last season', () => {
  assert.deepEqual(Array.from(persistenceForecast([1, 2, 7], 3)), [7, 7, 7]);
  assert.deepEqual(Array.from(seasonalNaiveForecast([1, 2, 3, 4, 5, 6, 7], 5, 3)), [5, 6, 7, 5, 6]);
  assert.throws(() => seasonalNaiveForecast([1, 2], 1, 3));
});

test('AR least squares recovers the coefficients of a noiseless AR(2) and forecasts it exactly', () => {
  // y_t = 1 + 0.5 y_{t-1} - 0.3 y_{t-2}, started off its mean so the path is not constant.
  const y = [3, -2];
  for (let t = 2; t < 200; t++) y.push(1 + 0.5 * y[t - 1] - 0.3 * y[t - 2]);
  const m = fitAr(y, 2, 40);
  close(m.intercept, 1, 1e-6);
  close(m.coef[0], 0.5, 1e-6);
  close(m.coef[1], -0.3, 1e-6);
  const f = arForecast(m, y.slice(0, 50), 5);
  for (let h = 0; h < 5; h++) close(f[h], y[50 + h], 1e-6);
});

test('scores on a ramp have a known answer: persistence is h behind at step h', async () => {
  const y = Float64Array.from({ length: 100 }, (_, i) => i);
  const H = 4;
  const s = await scoreForecaster(y, 80, H, (starts, h) => starts.map((t) => persistenceForecast(y.subarray(0, t), h)));
  close(s.rmse1, 1);
  close(s.mae1, 1);
  close(s.rmseH, Math.sqrt((1 + 4 + 9 + 16) / 4));
  close(s.maeH, (1 + 2 + 3 + 4) / 4);
  assert.equal(s.n1, 20);
  assert.equal(s.nH, 17); // starts 80..96 have all four values inside the series
});

test('baselines on a pure seasonal series: seasonal naive and AR are exact, persistence is not', async () => {
  const season = 6;
  const pattern = [0, 3, 5, 4, 1, -2];
  const y = Float64Array.from({ length: 120 }, (_, i) => pattern[i % season]);
  // Any 6 consecutive values sum to a constant, so AR(5) with intercept is exact (AR(6) would be collinear).
  const b = await scoreBaselines(y, 90, 3, { season, arOrder: 5 });
  close(b.seasonalNaive.rmse1, 0);
  close(b.seasonalNaive.rmseH, 0);
  close(b.ar.rmse1, 0, 1e-6);
  close(b.ar.rmseH, 0, 1e-6);
  // Persistence's 1-step error is the step-to-step change, whose mean square over a season is known.
  const d = pattern.map((v, i) => v - pattern[(i + season - 1) % season]);
  close(b.persistence.rmse1, Math.sqrt(d.reduce((a, x) => a + x * x, 0) / season));
});
