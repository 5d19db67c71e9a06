// Scores a forecaster over every start point of a test period: the 1-step figures use every test
// index, the H-step figures pool all H errors of every start whose H values lie inside the series.
import { arForecast, fitAr, persistenceForecast, seasonalNaiveForecast } from './baselines.js';

/** Forecasts `horizon` values for each start t, using only values[0..t). */
export type BatchForecaster = (starts: readonly number[], horizon: number) => Promise<Float64Array[]> | Float64Array[];

export interface Scores {
  rmse1: number;
  mae1: number;
  rmseH: number;
  maeH: number;
  horizon: number;
  /** How many starts each figure averages over. */
  n1: number;
  nH: number;
}

export async function scoreForecaster(values: ArrayLike<number>, testStart: number, horizon: number, f: BatchForecaster): Promise<Scores> {
  const n = values.length;
  if (testStart < 1 || testStart >= n) throw new RangeError(`test start ${testStart} is outside 1..${n - 1}`);
  const starts: number[] = [];
  for (let t = testStart; t < n; t++) starts.push(t);
  const preds = await f(starts, horizon);
  let se1 = 0, ae1 = 0, seH = 0, aeH = 0, nH = 0, startsH = 0;
  starts.forEach((t, k) => {
    const p = preds[k];
    const e1 = values[t] - p[0];
    se1 += e1 * e1;
    ae1 += Math.abs(e1);
    if (t + horizon <= n) {
      startsH++;
      for (let h = 0; h < horizon; h++) {
        const e = values[t + h] - p[h];
        seH += e * e;
        aeH += Math.abs(e);
        nH++;
      }
    }
  });
  const n1 = starts.length;
  return { rmse1: Math.sqrt(se1 / n1), mae1: ae1 / n1, rmseH: Math.sqrt(seH / nH), maeH: aeH / nH, horizon, n1, nH: startsH };
}

export interface BaselineScores {
  persistence: Scores;
  seasonalNaive: Scores & { season: number };
  ar: Scores & { order: number };
}

/** Persistence, seasonal naive and AR(p) fitted on everything before the test period. */
export async function scoreBaselines(values: ArrayLike<number>, testStart: number, horizon: number, opts: { season: number; arOrder: number }): Promise<BaselineScores> {
  const hist = (t: number) => Array.prototype.slice.call(values, 0, t) as number[];
  const persistence = await scoreForecaster(values, testStart, horizon, (starts, h) => starts.map((t) => persistenceForecast(hist(t), h)));
  const seasonal = await scoreForecaster(values, testStart, horizon, (starts, h) => starts.map((t) => seasonalNaiveForecast(hist(t), h, opts.season)));
  const ar = fitAr(values, opts.arOrder, testStart);
  const arScores = await scoreForecaster(values, testStart, horizon, (starts, h) => starts.map((t) => arForecast(ar, hist(t), h)));
  return { persistence, seasonalNaive: { ...seasonal, season: opts.season }, ar: { ...arScores, order: opts.arOrder } };
}
