// kestrel eval forecaster: 1-step and H-step RMSE/MAE over every start in the test period, beside
// persistence, seasonal naive and AR(p) computed on the same data.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../runtime/backend.js';
import { defaultSeason, detectFrequency } from '../sequence/calendar.js';
import { parseSeriesCsv } from '../sequence/csv.js';
import { scoreBaselines, scoreForecaster } from '../sequence/evaluate.js';
import { SequenceForecaster } from '../sequence/forecaster.js';
import { resolveTestStart } from '../sequence/split.js';
import { loadForecasterDir } from '../sequence/store.js';
import { timeAtFor } from '../sequence/train.js';

export const HELP = `usage: kestrel eval forecaster --model NAME --csv FILE --test-from DATE [--json]

  --model NAME|DIR      models/NAME or a model folder
  --csv FILE            the series (column names default to the ones the model was trained on)
  --column NAME         value column override
  --time-column NAME    time column override
  --test-from DATE      first date of the test period
  --test-size N         or: the last N values
  --horizon N           H for the H-step figures (default: the model's maximum)
  --season N            seasonal-naive period (default: 365 daily, 12 monthly)
  --ar-order P          AR baseline order (default 14)
  --json                one JSON object: rmse1, rmseH, mae1, maeH, horizon, baselines
  --backend B           ${BACKEND_CHOICES.join('|')} (default auto)
`;

export async function run(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      csv: { type: 'string' },
      column: { type: 'string' },
      'time-column': { type: 'string' },
      'test-from': { type: 'string' },
      'test-size': { type: 'string' },
      horizon: { type: 'string' },
      season: { type: 'string' },
      'ar-order': { type: 'string', default: '14' },
      json: { type: 'boolean', default: false },
      backend: { type: 'string', default: process.env.KESTREL_BACKEND ?? 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  if (!a.model || !a.csv) {
    console.error('eval forecaster: --model and --csv are required\n\n' + HELP);
    return 2;
  }
  if (!(BACKEND_CHOICES as readonly string[]).includes(a.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  await initBackend(a.backend as BackendChoice);
  const dir = existsSync(join(a.model, 'manifest.json')) ? a.model : join('models', a.model);
  const model = await loadForecasterDir(dir);
  if (!(model instanceof SequenceForecaster)) throw new Error(`${dir} is not a kestrel sequence forecaster`);
  const trained = model.config.data;
  const column = a.column ?? trained?.column;
  if (!column) throw new Error('--column is required (the model does not record its column)');
  const timeColumn = a['time-column'] ?? trained?.timeColumn;
  const data = parseSeriesCsv(await readFile(a.csv, 'utf8'), { column, timeColumn });
  const testStart = resolveTestStart(data, { testFrom: a['test-from'], testSize: a['test-size'] });
  const horizon = a.horizon !== undefined ? Number(a.horizon) : model.maxHorizon;
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > model.maxHorizon) throw new Error(`--horizon must be an integer in 1..${model.maxHorizon}`);
  if (testStart < model.window) throw new Error(`the test period must start at least ${model.window} values in`);
  const freq = data.times ? detectFrequency(data.times) : undefined;
  if (model.calendar && freq !== model.calendar) throw new Error(`the model needs ${model.calendar} dates in a time column`);
  const timeAt = timeAtFor(data.times, freq);
  const values = data.values;
  const s = await scoreForecaster(values, testStart, horizon, (starts, h) => model.forecastAt(values, starts, h, timeAt));
  const season = a.season !== undefined ? Number(a.season) : defaultSeason(freq);
  const b = await scoreBaselines(values, testStart, horizon, { season, arOrder: Number(a['ar-order']) });
  model.dispose();
  const four = (x: { rmse1: number; rmseH: number; mae1: number; maeH: number }) => ({ rmse1: x.rmse1, rmseH: x.rmseH, mae1: x.mae1, maeH: x.maeH });
  if (a.json) {
    console.log(
      JSON.stringify({
        rmse1: s.rmse1,
        rmseH: s.rmseH,
        mae1: s.mae1,
        maeH: s.maeH,
        horizon,
        baselines: { persistence: four(b.persistence), seasonalNaive: four(b.seasonalNaive), ar: four(b.ar) },
      }),
    );
    return 0;
  }
  const at = (i: number) => (data.times ? data.times[i] : String(i));
  const row = (name: string, x: { rmse1: number; rmseH: number; mae1: number; maeH: number }) =>
    `${name.padEnd(22)} ${x.rmse1.toFixed(3).padStart(8)} ${x.mae1.toFixed(3).padStart(8)} ${x.rmseH.toFixed(3).padStart(8)} ${x.maeH.toFixed(3).padStart(8)}`;
  console.log(`${dir}: test ${at(testStart)}..${at(values.length - 1)}, ${s.n1} one-step starts, ${s.nH} ${horizon}-step starts`);
  console.log(`${''.padEnd(22)} ${'RMSE 1'.padStart(8)} ${'MAE 1'.padStart(8)} ${`RMSE ${horizon}`.padStart(8)} ${`MAE ${horizon}`.padStart(8)}`);
  console.log(row(`${model.config.cell} (${model.config.members.length}×)`, s));
  console.log(row('persistence', b.persistence));
  console.log(row(`seasonal naive (${season})`, b.seasonalNaive));
  console.log(row(`AR(${b.ar.order})`, b.ar));
  return 0;
}
