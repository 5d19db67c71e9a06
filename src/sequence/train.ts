// Training a forecaster end to end: split (train | validation | test, in time order), scale on the
// training part, window, fit each ensemble member with early stopping, derive prediction intervals from
// validation residuals, and score the test period beside the baselines.
import { calendarFeatures, defaultSeason, detectFrequency, shiftTime, type Frequency } from './calendar.js';
import type { SeriesData } from './csv.js';
import { scoreBaselines, scoreForecaster, type BaselineScores, type Scores } from './evaluate.js';
import { exportWeights, buildNet, trainNet, type Cell, type Engine, type ForecastNet, type TrainOptions } from './network.js';
import { SequenceForecaster, netConfigOf, type ForecasterConfig } from './forecaster.js';
import { fitScaler, scale } from './scaler.js';
import { forwardTransform, type Transform } from './transform.js';
import { makeTargets, makeWindows, startsBetween, stepFeatures } from './windows.js';
import type { Manifest } from '../runtime/manifest.js';

export interface ForecasterTrainOptions {
  name: string;
  cell: Cell;
  /** Default 'layers'. */
  engine?: Engine;
  /** Value transform before scaling (default 'none'). */
  transform?: Transform;
  /**
   * After early stopping picks each member's epoch count on the validation split, train a fresh
   * network (same seed) on train + validation for that many epochs and ship it. Validation figures
   * and interval quantiles still come from the early-stopped networks, which never saw that split.
   */
  refit?: boolean;
  units: number;
  window: number;
  horizon: number;
  mode: 'direct' | 'iterated';
  /** Largest horizon served; direct models serve at most `horizon`. */
  maxHorizon?: number;
  calendar: 'auto' | 'none';
  highway: boolean;
  ensemble: number;
  valFraction: number;
  testStart: number;
  seed: number;
  season?: number;
  arOrder: number;
  intervalLevel: number;
  train: Omit<TrainOptions, 'seed' | 'onEpoch'>;
  default?: boolean;
  log?: (msg: string) => void;
}

export interface TrainResult {
  manifest: Manifest;
  weights: { file: string; data: Float32Array }[];
  test: Scores;
  validation: Scores;
  baselines: BaselineScores;
  members: { seed: number; bestEpoch: number; epochs: number; bestValLoss: number; seconds: number; refitSeconds?: number }[];
  model: SequenceForecaster;
}

/** Time of index i, extending past the data by the series' frequency. */
export function timeAtFor(times: readonly string[] | undefined, freq: Frequency | undefined): ((i: number) => string) | undefined {
  if (!times || !freq) return undefined;
  const n = times.length;
  return (i) => (i >= 0 && i < n ? times[i] : shiftTime(times[i < 0 ? 0 : n - 1], freq, i < 0 ? i : i - n + 1));
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export async function trainForecaster(data: SeriesData, o: ForecasterTrainOptions): Promise<TrainResult> {
  const log = o.log ?? (() => {});
  const values = data.values;
  const n = values.length;
  const freq = data.times ? detectFrequency(data.times) : undefined;
  const calendar: Frequency | null = o.calendar === 'auto' && freq ? freq : null;
  const outputs = o.mode === 'direct' ? o.horizon : 1;
  const maxHorizon = o.mode === 'direct' ? o.horizon : Math.max(o.maxHorizon ?? o.horizon, o.horizon);
  const trainEnd = o.testStart;
  const valStart = trainEnd - Math.max(outputs + 1, Math.round(o.valFraction * trainEnd));
  if (valStart - o.window - outputs < 10) throw new Error(`too little training data before the test period (${trainEnd} values) for window ${o.window}`);
  const transform = o.transform ?? 'none';
  const tv = forwardTransform(transform, values);
  const scaler = fitScaler(tv, valStart);
  const zs = scale(scaler, tv);
  const timeAt = timeAtFor(data.times, freq);
  const steps = stepFeatures(zs, calendar ? 2 : 0, calendar ? (i) => calendarFeatures(timeAt!(i), calendar) : undefined);
  const features = calendar ? 3 : 1;
  const trainStarts = startsBetween(o.window, valStart, o.window, outputs, valStart);
  const valStarts = startsBetween(valStart, trainEnd, o.window, outputs, trainEnd);
  const td = {
    x: makeWindows(steps, features, o.window, trainStarts),
    y: makeTargets(zs, trainStarts, outputs),
    n: trainStarts.length,
    xVal: makeWindows(steps, features, o.window, valStarts),
    yVal: makeTargets(zs, valStarts, outputs),
    nVal: valStarts.length,
  };
  log(`${n} values: train ${trainStarts.length} windows (to index ${valStart}), validation ${valStarts.length} (to ${trainEnd}), test from index ${trainEnd}; calendar ${calendar ?? 'none'}`);

  const base: Omit<ForecasterConfig, 'members'> = {
    architecture: 'kestrel',
    cell: o.cell,
    engine: o.engine ?? 'layers',
    units: o.units,
    window: o.window,
    outputs,
    highway: o.highway,
    mode: o.mode,
    maxHorizon,
    calendar,
    transform,
    scaler,
    data: { column: data.column, timeColumn: data.timeColumn },
  };
  const nc = netConfigOf({ ...base, members: [] } as ForecasterConfig);
  const nets: ForecastNet[] = [];
  const refitNets: ForecastNet[] = [];
  const weights: TrainResult['weights'] = [];
  const members: TrainResult['members'] = [];
  const allStarts = startsBetween(o.window, trainEnd, o.window, outputs, trainEnd);
  const refitData = o.refit
    ? { x: makeWindows(steps, features, o.window, allStarts), y: makeTargets(zs, allStarts, outputs), n: allStarts.length, xVal: new Float32Array(0), yVal: new Float32Array(0), nVal: 0 }
    : undefined;
  const memberSpecs: { file: string; shapes: number[][] }[] = [];
  for (let k = 0; k < o.ensemble; k++) {
    const seed = o.seed + k * 101;
    const net = buildNet(nc, seed);
    const t0 = performance.now();
    const r = await trainNet(net, nc, td, {
      ...o.train,
      seed,
      onEpoch: (e) => log(`member ${k + 1}/${o.ensemble} epoch ${e.epoch + 1}: train ${e.trainLoss.toFixed(4)} val ${e.valLoss.toFixed(4)}${e.best ? ' *' : ''} (${e.seconds.toFixed(1)} s)`),
    });
    nets.push(net);
    const member: TrainResult['members'][number] = { seed, bestEpoch: r.bestEpoch + 1, epochs: r.epochs, bestValLoss: r.bestValLoss, seconds: (performance.now() - t0) / 1000 };
    let shipped = net;
    if (refitData) {
      const t1 = performance.now();
      shipped = buildNet(nc, seed);
      await trainNet(shipped, nc, refitData, {
        ...o.train,
        epochs: r.bestEpoch + 1,
        seed,
        onEpoch: (e) => log(`member ${k + 1}/${o.ensemble} refit epoch ${e.epoch + 1}/${r.bestEpoch + 1}: train ${e.trainLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
      });
      refitNets.push(shipped);
      member.refitSeconds = (performance.now() - t1) / 1000;
    }
    const w = exportWeights(shipped);
    weights.push({ file: o.ensemble === 1 ? 'weights.bin' : `weights-${k}.bin`, data: w.data });
    members.push(member);
    memberSpecs.push({ file: weights[k].file, shapes: w.specs.map((s) => s.shape) });
  }
  (base as ForecasterConfig).members = memberSpecs;
  const config = base as ForecasterConfig;
  const manifest: Manifest = {
    name: o.name,
    kind: 'forecaster',
    version: '1',
    description: `${o.cell.toUpperCase()} forecaster of "${data.column}", window ${o.window}, horizon ${maxHorizon} (${o.mode})`,
    default: o.default ?? false,
    input: { window: o.window, horizon: maxHorizon },
    files: weights.map((w) => w.file),
    config: config as unknown as Record<string, unknown>,
  };
  // Validation figures and intervals come from the early-stopped networks (they never trained on the
  // validation split); with --refit the shipped model is the refitted ensemble.
  const selectionModel = new SequenceForecaster(manifest, config, nets);
  const model = o.refit ? new SequenceForecaster(manifest, config, refitNets) : selectionModel;

  // Intervals from the validation residuals of every step ahead: the empirical central quantiles.
  const ivStarts = startsBetween(valStart, trainEnd, o.window, maxHorizon, trainEnd);
  if (ivStarts.length >= 20) {
    const preds = selectionModel.forecastAt(values, ivStarts, maxHorizon, timeAt);
    const a = (1 - o.intervalLevel) / 2;
    const lower: number[] = [];
    const upper: number[] = [];
    for (let h = 0; h < maxHorizon; h++) {
      const res = ivStarts.map((t, k) => values[t + h] - preds[k][h]).sort((x, y) => x - y);
      lower.push(quantile(res, a));
      upper.push(quantile(res, 1 - a));
    }
    config.intervals = { level: o.intervalLevel, lower, upper };
  }

  const validation = await scoreForecaster(values.subarray(0, trainEnd), valStart, o.horizon, (starts, h) => selectionModel.forecastAt(values, starts, h, timeAt));
  if (o.refit) selectionModel.dispose();
  const test = await scoreForecaster(values, o.testStart, o.horizon, (starts, h) => model.forecastAt(values, starts, h, timeAt));
  const baselines = await scoreBaselines(values, o.testStart, o.horizon, { season: o.season ?? defaultSeason(freq), arOrder: o.arOrder });
  return { manifest, weights, test, validation, baselines, members, model };
}
