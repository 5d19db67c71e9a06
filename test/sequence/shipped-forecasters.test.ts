// Every forecaster shipped in models/ loads through the real registry and answers the forecast route.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { loadRegistry } from '../../src/runtime/registry.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';

before(async () => {
  await initBackend();
});

const forecasterFolders = () =>
  existsSync('models')
    ? readdirSync('models').filter((d) => {
        const m = join('models', d, 'manifest.json');
        return existsSync(m) && (JSON.parse(readFileSync(m, 'utf8')) as { kind: string }).kind === 'forecaster';
      })
    : [];

test('shipped forecasters load in the server registry and forecast through the route', async (t) => {
  const names = forecasterFolders();
  if (names.length === 0) return t.skip('no forecaster in models/');
  const root = mkdtempSync(join(tmpdir(), 'kestrel-shipped-fc-'));
  try {
    for (const n of names) cpSync(join('models', n), join(root, n), { recursive: true });
    const registry = await loadRegistry(root);
    assert.deepEqual(registry.failures, []);
    assert.deepEqual(registry.list().map((m) => m.manifest.name).sort(), names.sort());
    if (names.includes('melbourne-temp')) assert.equal(registry.defaultOf('forecaster')?.manifest.name, 'melbourne-temp');
    const app = await buildApp({ config: defaultConfig(), registry, logger: false });
    try {
      const cases: { model: string; series: number[]; end?: string; horizon: number }[] = [];
      if (names.includes('melbourne-temp')) cases.push({ model: 'melbourne-temp', series: Array.from({ length: 90 }, (_, i) => 11 + 4 * Math.sin(i / 9)), end: '1990-12-31', horizon: 7 });
      if (names.includes('airline-passengers')) {
        cases.push({ model: 'airline-passengers', series: Array.from({ length: 36 }, (_, i) => 300 * Math.exp(0.01 * i) * (1 + 0.15 * Math.sin((2 * Math.PI * i) / 12))), end: '1960-12', horizon: 12 });
      }
      const before = tf.memory().numTensors;
      for (const c of cases) {
        const res = await app.inject({ method: 'POST', url: '/v1/sequence/forecast', payload: { ...c, intervals: true } });
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json() as { forecast: number[]; intervals?: { lower: number[]; upper: number[] } };
        assert.equal(body.forecast.length, c.horizon);
        assert.ok(body.forecast.every((v) => Number.isFinite(v)));
        // Forecasts stay in the range of the series they continue (a unit or transform mix-up would not).
        const lo = Math.min(...c.series);
        const hi = Math.max(...c.series);
        assert.ok(body.forecast.every((v) => v > lo - 0.5 * (hi - lo) && v < hi + 0.5 * (hi - lo)), `${c.model}: ${body.forecast}`);
      }
      assert.equal(tf.memory().numTensors, before);
      // A finite but absurd value: numbers or a 400, never null forecasts. Melbourne's network
      // overflows float32 on it (a 400); the log-transformed airline model still forecasts numbers.
      for (const c of cases) {
        const res = await app.inject({ method: 'POST', url: '/v1/sequence/forecast', payload: { ...c, series: [...c.series.slice(0, -1), 1e308] } });
        if (c.model === 'melbourne-temp') assert.equal(res.statusCode, 400, res.body);
        if (res.statusCode === 400) assert.match(res.body, /finite/);
        else {
          assert.equal(res.statusCode, 200, `${c.model}: ${res.body}`);
          assert.ok((res.json() as { forecast: unknown[] }).forecast.every((v) => typeof v === 'number' && Number.isFinite(v)), res.body);
        }
      }
    } finally {
      await app.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
