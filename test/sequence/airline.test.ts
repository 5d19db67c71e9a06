import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { run as evalForecaster } from '../../src/cli/eval-forecaster.js';
import { detectFrequency, defaultSeason } from '../../src/sequence/calendar.js';
import { parseSeriesCsv } from '../../src/sequence/csv.js';
import { scoreBaselines } from '../../src/sequence/evaluate.js';
import { resolveTestStart } from '../../src/sequence/split.js';

before(async () => {
  await initBackend();
});

// ../shared from the main checkout; worktrees sit one level deeper.
const CSV = ['../shared', '../../shared', process.env.KESTREL_SHARED ?? ''].map((d) => join(d, 'data/airline-passengers.csv')).find((p) => existsSync(p)) ?? '../shared/data/airline-passengers.csv';
const SHIPPED = 'models/airline-passengers';

test('airline passengers loads as a monthly series and its test period is 1959–1960 (needs ../shared)', async (t) => {
  if (!existsSync(CSV)) return t.skip(`${CSV} is absent: airline data checks skipped`);
  const d = parseSeriesCsv(readFileSync(CSV, 'utf8'), { column: 'Passengers', timeColumn: 'Month' });
  assert.equal(d.values.length, 144);
  assert.equal(d.times![0], '1949-01');
  assert.equal(d.times![143], '1960-12');
  assert.equal(d.values[0], 112);
  assert.equal(d.values[143], 432);
  assert.equal(detectFrequency(d.times!), 'monthly');
  assert.equal(defaultSeason('monthly'), 12);
  const testStart = resolveTestStart(d, { testFrom: '1959-01' });
  assert.equal(testStart, 120);
  // The series is strongly seasonal: on 1959–60, last year's same month beats last month at 1 step.
  const b = await scoreBaselines(d.values, testStart, 12, { season: 12, arOrder: 14 });
  assert.ok(b.seasonalNaive.rmse1 < b.persistence.rmse1, `seasonal naive ${b.seasonalNaive.rmse1} vs persistence ${b.persistence.rmse1}`);
});

test('shipped airline-passengers model reproduces its metrics.json (needs ../shared)', async (t) => {
  if (!existsSync(CSV)) return t.skip(`${CSV} is absent: peer data comparison skipped`);
  if (!existsSync(join(SHIPPED, 'manifest.json'))) return t.skip(`${SHIPPED} is not trained yet`);
  const metrics = JSON.parse(readFileSync(join(SHIPPED, 'metrics.json'), 'utf8')) as { figures: { test: Record<string, number> } };
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    assert.equal(await evalForecaster(['--model', SHIPPED, '--csv', CSV, '--test-from', '1959-01', '--json']), 0);
  } finally {
    console.log = orig;
  }
  const out = JSON.parse(lines.join('\n')) as { rmse1: number; rmseH: number };
  assert.ok(Math.abs(out.rmse1 - metrics.figures.test.rmse1) < 1e-3, `${out.rmse1} vs ${metrics.figures.test.rmse1}`);
  assert.ok(Math.abs(out.rmseH - metrics.figures.test.rmseH) < 1e-3, `${out.rmseH} vs ${metrics.figures.test.rmseH}`);
});
