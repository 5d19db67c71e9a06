// The served forecaster: one or more trained networks (an ensemble of seeds, averaged) plus everything
// needed to turn raw values into network inputs and back: scaler, window, calendar features, and the
// validation residual quantiles used for prediction intervals.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Manifest } from '../runtime/manifest.js';
import type { ForecasterModel } from '../runtime/models.js';
import { calendarFeatures, shiftTime, type Frequency } from './calendar.js';
import { buildNet, CELLS, ENGINES, importWeights, predictNet, type ForecastNet, type NetConfig } from './network.js';
import { scale, type Scaler } from './scaler.js';
import { forwardTransform, inverseTransform, TRANSFORMS } from './transform.js';

export const forecasterConfigSchema = z.object({
  architecture: z.literal('kestrel').default('kestrel'),
  cell: z.enum(CELLS),
  /** Which implementation runs the network; models from before the fused engine are 'layers'. */
  engine: z.enum(ENGINES).default('layers'),
  units: z.number().int().positive(),
  window: z.number().int().positive(),
  outputs: z.number().int().positive(),
  highway: z.boolean(),
  mode: z.enum(['direct', 'iterated']),
  maxHorizon: z.number().int().positive(),
  /** Calendar features of each input step; null when the model uses the values alone. */
  calendar: z.enum(['daily', 'monthly']).nullable(),
  /** Applied to the values before scaling (the scaler describes the transformed values). */
  transform: z.enum(TRANSFORMS).default('none'),
  scaler: z.object({ mean: z.number(), std: z.number().positive() }),
  members: z.array(z.object({ file: z.string().min(1), shapes: z.array(z.array(z.number().int().nonnegative())) })).min(1),
  /** Residual quantiles on the validation split, per step ahead, in the series' units. */
  intervals: z
    .object({ level: z.number().gt(0).lt(1), lower: z.array(z.number()), upper: z.array(z.number()) })
    .optional(),
  /** The columns it was trained on, so `eval forecaster` can read the same CSV without being told. */
  data: z.object({ column: z.string(), timeColumn: z.string().optional() }).optional(),
});
export type ForecasterConfig = z.infer<typeof forecasterConfigSchema>;

/** A request the model cannot serve as given (the route turns it into a 400). */
export class ForecastInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForecastInputError';
  }
}

export function netConfigOf(c: ForecasterConfig): NetConfig {
  return { cell: c.cell, units: c.units, window: c.window, features: c.calendar ? 3 : 1, outputs: c.outputs, highway: c.highway, engine: c.engine };
}

export interface ForecastOptions {
  /** Time of the last value (YYYY-MM-DD or YYYY-MM); required by models with calendar features. */
  end?: string;
}

export class SequenceForecaster implements ForecasterModel {
  readonly kind = 'forecaster' as const;
  readonly window: number;
  readonly maxHorizon: number;
  readonly net: NetConfig;

  constructor(
    readonly manifest: Manifest,
    readonly config: ForecasterConfig,
    private readonly nets: ForecastNet[],
  ) {
    this.window = config.window;
    this.maxHorizon = config.maxHorizon;
    this.net = netConfigOf(config);
  }

  /** The calendar frequency whose dates `forecast` needs (as `end`), or null. */
  get calendar(): Frequency | null {
    return this.config.calendar;
  }

  /**
   * Forecasts `horizon` values for every start t from values[0..t). `timeAt(i)` gives the time of index
   * i (also beyond the data) for calendar models. Horizons beyond the network's outputs are rolled
   * forward block by block, feeding forecasts back as inputs.
   */
  forecastAt(values: ArrayLike<number>, starts: readonly number[], horizon: number, timeAt?: (i: number) => string): Float64Array[] {
    const c = this.config;
    const W = c.window;
    const F = this.net.features;
    const freq = c.calendar;
    if (freq && !timeAt) throw new ForecastInputError('this model uses calendar features: the time of the last value is required');
    let tv: Float64Array;
    try {
      tv = forwardTransform(c.transform, values);
    } catch (err) {
      throw new ForecastInputError((err as Error).message);
    }
    const zs = scale(c.scaler as Scaler, tv);
    const bufs = starts.map((t) => {
      if (t < W || t > values.length) throw new ForecastInputError(`a forecast from index ${t} needs ${W} earlier values`);
      return Array.from(zs.subarray(t - W, t));
    });
    const cal = new Map<number, [number, number]>();
    const calAt = (i: number): [number, number] => {
      let v = cal.get(i);
      if (!v) {
        v = calendarFeatures(timeAt!(i), freq!);
        cal.set(i, v);
      }
      return v;
    };
    const out = starts.map(() => new Float64Array(horizon));
    const m = starts.length;
    for (let done = 0; done < horizon; ) {
      const x = new Float32Array(m * W * F);
      for (let k = 0; k < m; k++) {
        for (let j = 0; j < W; j++) {
          const o = (k * W + j) * F;
          x[o] = bufs[k][done + j];
          if (freq) {
            const [s, co] = calAt(starts[k] - W + done + j);
            x[o + 1] = s;
            x[o + 2] = co;
          }
        }
      }
      const mean = new Float64Array(m * c.outputs);
      for (const net of this.nets) {
        const p = predictNet(net, x, m, this.net);
        for (let i = 0; i < p.length; i++) mean[i] += p[i] / this.nets.length;
      }
      const step = Math.min(c.outputs, horizon - done);
      for (let k = 0; k < m; k++) {
        const last = bufs[k][done + W - 1];
        for (let h = 0; h < step; h++) {
          const zv = last + mean[k * c.outputs + h];
          bufs[k].push(zv);
          out[k][done + h] = inverseTransform(c.transform, zv * c.scaler.std + c.scaler.mean);
        }
      }
      done += step;
    }
    // Finite inputs far outside the training range (1e308 °C) overflow float32 inside the network; a
    // forecast that is not a number is the caller's input problem, not a result to serve.
    if (out.some((o) => o.some((v) => !Number.isFinite(v)))) {
      throw new ForecastInputError('the series is too far outside the range this model was trained on: its forecast is not a finite number');
    }
    return out;
  }

  async forecast(series: Float64Array | number[], horizon: number, opts: ForecastOptions = {}): Promise<{ forecast: number[]; lower?: number[]; upper?: number[] }> {
    if (!Number.isInteger(horizon) || horizon < 1 || horizon > this.maxHorizon) {
      throw new ForecastInputError(`horizon must be an integer in 1..${this.maxHorizon}`);
    }
    if (series.length < this.window) throw new ForecastInputError(`series needs at least ${this.window} values, got ${series.length}`);
    const n = series.length;
    let timeAt: ((i: number) => string) | undefined;
    if (this.config.calendar) {
      const freq = this.config.calendar;
      const end = opts.end;
      if (end === undefined) throw new ForecastInputError(`this model uses calendar features: give "end", the ${freq === 'daily' ? 'date (YYYY-MM-DD)' : 'month (YYYY-MM)'} of the last value`);
      const ok = freq === 'daily' ? /^\d{4}-\d{2}-\d{2}$/.test(end) : /^\d{4}-\d{2}$/.test(end);
      // The round trip catches dates such as 1990-02-31, which Date would silently roll into March.
      if (!ok || shiftTime(end, freq, 0) !== end) throw new ForecastInputError(`"end" must be a valid ${freq === 'daily' ? 'YYYY-MM-DD date' : 'YYYY-MM month'} for this model, got "${end}"`);
      timeAt = (i) => shiftTime(end, freq, i - (n - 1));
    }
    // Only the last window matters; slicing keeps the scaling work independent of the series length.
    const tail = Array.from(series.slice(n - this.window));
    const shift = n - this.window;
    const f = this.forecastAt(tail, [this.window], horizon, timeAt && ((i) => timeAt(i + shift)))[0];
    const forecast = Array.from(f);
    const iv = this.config.intervals;
    if (!iv) return { forecast };
    return {
      forecast,
      lower: forecast.map((v, h) => v + iv.lower[Math.min(h, iv.lower.length - 1)]),
      upper: forecast.map((v, h) => v + iv.upper[Math.min(h, iv.upper.length - 1)]),
    };
  }

  dispose(): void {
    this.nets.forEach((n) => n.dispose());
  }
}

/** Builds the networks from the config and fills them with the weights on disk. */
export async function loadForecaster(manifest: Manifest, dir: string): Promise<SequenceForecaster> {
  const parsed = forecasterConfigSchema.safeParse(manifest.config);
  if (!parsed.success) throw new Error(`forecaster config in ${dir}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const c = parsed.data;
  const nc = netConfigOf(c);
  const nets: ForecastNet[] = [];
  try {
    for (const mem of c.members) {
      const buf = await readFile(join(dir, mem.file));
      if (buf.byteLength % 4 !== 0) throw new Error(`${mem.file} is not a float32 file`);
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const net = buildNet(nc);
      nets.push(net);
      importWeights(net, mem.shapes.map((shape) => ({ shape })), data);
    }
  } catch (err) {
    nets.forEach((n) => n.dispose());
    throw err;
  }
  return new SequenceForecaster(manifest, c, nets);
}
