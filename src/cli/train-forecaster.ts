// kestrel train forecaster: fits an LSTM/GRU/BiLSTM forecaster on one CSV column and writes the model
// folder (manifest, weights, metrics.json with the test figures beside the baselines).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../runtime/backend.js';
import { CELLS, ENGINES, type Cell, type Engine } from '../sequence/network.js';
import { TRANSFORMS, type Transform } from '../sequence/transform.js';
import { parseSeriesCsv } from '../sequence/csv.js';
import { resolveTestStart } from '../sequence/split.js';
import { trainForecaster } from '../sequence/train.js';
import { saveModelDir } from '../sequence/store.js';

export const HELP = `usage: kestrel train forecaster --csv FILE --column NAME --out models/NAME [options]

  --csv FILE            CSV with a header row
  --column NAME         the numeric column to forecast
  --time-column NAME    dates (YYYY-MM-DD or YYYY-MM); enables calendar features and --test-from
  --out DIR             model folder to write (its last part is the model name)
  --test-from DATE      first date of the test period (everything before trains/validates)
  --test-size N         or: the last N values are the test period
  --cell lstm|gru|bilstm  recurrent encoder (default lstm)
  --engine layers|fused  tf.layers network, or the fused custom-gradient RNN ops of src/runtime/rnn
                        (faster; sigmoid gates, reset-after GRU) (default layers)
  --units N             hidden units (default 32)
  --window N            input steps (default 30)
  --horizon N           steps forecast (default 7)
  --mode direct|iterated  all H outputs at once, or one step fed back H times (default direct)
  --max-horizon N       iterated models: largest horizon served (default --horizon)
  --no-calendar         do not add day-of-year / month-of-year features
  --transform none|log  transform the values before scaling (log: for multiplicative seasonality
                        and trend; forecasts are mapped back with exp) (default none)
  --no-highway          no linear window→output path beside the recurrent encoder
  --ensemble K          average K networks trained from different seeds (default 1)
  --epochs N            at most N epochs (default 80)
  --patience N          stop after N epochs without validation improvement (default 8)
  --batch N             batch size (default 64)
  --lr X                Adam learning rate (default 0.003)
  --clip X              global gradient-norm clip (default 1)
  --val-fraction X      last fraction of the training period used for early stopping (default 0.1)
  --refit               then retrain each member (same seed) on train + validation for its
                        early-stopped epoch count and ship those networks
  --seed N              (default 1)
  --season N            seasonal-naive period (default: 365 daily, 12 monthly)
  --ar-order P          AR baseline order (default 14)
  --default             mark as the default forecaster
  --note TEXT           recorded in metrics.json (e.g. how the settings were chosen)
  --backend B           ${BACKEND_CHOICES.join('|')} (default auto)
  --quiet               no per-epoch lines
`;

export async function run(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      csv: { type: 'string' },
      column: { type: 'string' },
      'time-column': { type: 'string' },
      out: { type: 'string' },
      'test-from': { type: 'string' },
      'test-size': { type: 'string' },
      cell: { type: 'string', default: 'lstm' },
      engine: { type: 'string', default: 'layers' },
      transform: { type: 'string', default: 'none' },
      refit: { type: 'boolean', default: false },
      units: { type: 'string', default: '32' },
      window: { type: 'string', default: '30' },
      horizon: { type: 'string', default: '7' },
      mode: { type: 'string', default: 'direct' },
      'max-horizon': { type: 'string' },
      'no-calendar': { type: 'boolean', default: false },
      'no-highway': { type: 'boolean', default: false },
      ensemble: { type: 'string', default: '1' },
      epochs: { type: 'string', default: '80' },
      patience: { type: 'string', default: '8' },
      batch: { type: 'string', default: '64' },
      lr: { type: 'string', default: '0.003' },
      clip: { type: 'string', default: '1' },
      'val-fraction': { type: 'string', default: '0.1' },
      seed: { type: 'string', default: '1' },
      season: { type: 'string' },
      'ar-order': { type: 'string', default: '14' },
      default: { type: 'boolean', default: false },
      note: { type: 'string' },
      backend: { type: 'string', default: process.env.KESTREL_BACKEND ?? 'auto' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (a.help) {
    console.log(HELP);
    return 0;
  }
  if (!a.csv || !a.column || !a.out) {
    console.error('train forecaster: --csv, --column and --out are required\n\n' + HELP);
    return 2;
  }
  const int = (name: string, v: string | undefined, min = 1): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const num = (name: string, v: string, lo: number, hi: number): number => {
    const n = Number(v);
    if (!(n > lo && n < hi)) throw new Error(`--${name} must be a number in (${lo}, ${hi}), got "${v}"`);
    return n;
  };
  if (!(CELLS as readonly string[]).includes(a.cell)) throw new Error(`--cell must be one of ${CELLS.join(', ')}`);
  if (!(ENGINES as readonly string[]).includes(a.engine)) throw new Error(`--engine must be one of ${ENGINES.join(', ')}`);
  if (!(TRANSFORMS as readonly string[]).includes(a.transform)) throw new Error(`--transform must be one of ${TRANSFORMS.join(', ')}`);
  if (a.mode !== 'direct' && a.mode !== 'iterated') throw new Error('--mode must be direct or iterated');
  if (!(BACKEND_CHOICES as readonly string[]).includes(a.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}`);

  const backend = await initBackend(a.backend as BackendChoice);
  const data = parseSeriesCsv(await readFile(a.csv, 'utf8'), { column: a.column, timeColumn: a['time-column'] });
  const testStart = resolveTestStart(data, { testFrom: a['test-from'], testSize: a['test-size'] });
  const name = basename(a.out.replace(/\/+$/, ''));
  const horizon = int('horizon', a.horizon);
  const log = a.quiet ? undefined : (m: string) => console.error(m);
  const t0 = performance.now();
  const r = await trainForecaster(data, {
    name,
    cell: a.cell as Cell,
    engine: a.engine as Engine,
    transform: a.transform as Transform,
    refit: a.refit,
    units: int('units', a.units),
    window: int('window', a.window),
    horizon,
    mode: a.mode,
    maxHorizon: a['max-horizon'] !== undefined ? int('max-horizon', a['max-horizon']) : undefined,
    calendar: a['no-calendar'] ? 'none' : 'auto',
    highway: !a['no-highway'],
    ensemble: int('ensemble', a.ensemble),
    valFraction: num('val-fraction', a['val-fraction'], 0, 0.5),
    testStart,
    seed: int('seed', a.seed, 0),
    season: a.season !== undefined ? int('season', a.season) : undefined,
    arOrder: int('ar-order', a['ar-order']),
    intervalLevel: 0.9,
    default: a.default,
    train: {
      epochs: int('epochs', a.epochs),
      patience: int('patience', a.patience),
      batch: int('batch', a.batch),
      learningRate: num('lr', a.lr, 0, 1),
      clipNorm: num('clip', a.clip, 0, Infinity),
    },
    log,
  });
  const seconds = (performance.now() - t0) / 1000;
  const times = data.times;
  const at = (i: number) => (times ? times[i] : String(i));
  const cfg = r.manifest.config as { scaler: unknown; intervals?: unknown };
  const metrics = {
    data: { file: basename(a.csv), column: data.column, timeColumn: data.timeColumn ?? null, rows: data.values.length },
    split: {
      train: [at(0), at(testStart - r.validation.n1 - 1)],
      validation: [at(testStart - r.validation.n1), at(testStart - 1)],
      test: [at(testStart), at(data.values.length - 1)],
      note: a.refit
        ? 'scaler fitted on train only; early stopping (epoch count per member) and interval quantiles on validation; the shipped networks were then retrained on train + validation for those epoch counts; the test period only scores the result'
        : 'scaler fitted on train only; early stopping and interval quantiles on validation; the test period only scores the result',
    },
    seed: Number(a.seed),
    command: `kestrel train forecaster ${argv.map((x) => (/^[\w./:@=,+-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`)).join(' ')}`,
    ...(a.note !== undefined ? { note: a.note } : {}),
    backend: backend.name,
    trainSeconds: Math.round(seconds),
    figures: {
      test: pick(r.test),
      validation: pick(r.validation),
      baselines: {
        persistence: pick(r.baselines.persistence),
        seasonalNaive: { ...pick(r.baselines.seasonalNaive), season: r.baselines.seasonalNaive.season },
        ar: { ...pick(r.baselines.ar), order: r.baselines.ar.order },
      },
      horizon,
      testStarts1: r.test.n1,
      testStartsH: r.test.nH,
    },
    members: r.members,
    scaler: cfg.scaler,
    intervals: cfg.intervals ?? null,
  };
  await saveModelDir(a.out, r.manifest, r.weights, metrics);
  r.model.dispose();
  const b = r.baselines;
  console.log(
    [
      `wrote ${a.out} (${r.weights.length} member${r.weights.length > 1 ? 's' : ''}, ${Math.round(seconds)} s on ${backend.name})`,
      `test ${at(testStart)}..${at(data.values.length - 1)}: 1-step RMSE ${r.test.rmse1.toFixed(3)} MAE ${r.test.mae1.toFixed(3)}; ${horizon}-step RMSE ${r.test.rmseH.toFixed(3)} MAE ${r.test.maeH.toFixed(3)}`,
      `persistence ${b.persistence.rmse1.toFixed(3)} / ${b.persistence.rmseH.toFixed(3)}; seasonal naive ${b.seasonalNaive.rmse1.toFixed(3)} / ${b.seasonalNaive.rmseH.toFixed(3)}; AR(${b.ar.order}) ${b.ar.rmse1.toFixed(3)} / ${b.ar.rmseH.toFixed(3)}`,
    ].join('\n'),
  );
  return 0;
}

const r4 = (x: number) => Math.round(x * 10000) / 10000;
function pick(s: { rmse1: number; rmseH: number; mae1: number; maeH: number }) {
  return { rmse1: r4(s.rmse1), rmseH: r4(s.rmseH), mae1: r4(s.mae1), maeH: r4(s.maeH) };
}
