// A small forecaster trained in about a second on a synthetic daily series, for the round-trip and API tests.
import { shiftTime } from '../../src/sequence/calendar.js';
import type { SeriesData } from '../../src/sequence/csv.js';
import { trainForecaster, type TrainResult } from '../../src/sequence/train.js';

export function syntheticDaily(n = 360): SeriesData {
  const values = Float64Array.from({ length: n }, (_, i) => 10 + 5 * Math.sin((2 * Math.PI * i) / 40) + ((i * 7919) % 13) / 13);
  const times = Array.from({ length: n }, (_, i) => shiftTime('2000-01-01', 'daily', i));
  return { values, times, column: 'v', timeColumn: 'd' };
}

export async function tinyModel(
  o: { name?: string; mode?: 'direct' | 'iterated'; calendar?: boolean; cell?: 'lstm' | 'gru' | 'bilstm'; engine?: 'layers' | 'fused'; transform?: 'none' | 'log'; refit?: boolean; data?: SeriesData; testStart?: number } = {},
): Promise<TrainResult> {
  const data = o.data ?? syntheticDaily();
  return trainForecaster(data, {
    name: o.name ?? 'tiny',
    cell: o.cell ?? 'lstm',
    engine: o.engine,
    transform: o.transform,
    refit: o.refit,
    units: 4,
    window: 8,
    horizon: 3,
    mode: o.mode ?? 'direct',
    maxHorizon: o.mode === 'iterated' ? 5 : undefined,
    calendar: o.calendar === false ? 'none' : 'auto',
    highway: true,
    ensemble: 1,
    valFraction: 0.2,
    testStart: o.testStart ?? 300,
    seed: 3,
    arOrder: 3,
    season: 40,
    intervalLevel: 0.9,
    train: { epochs: 2, batch: 64, learningRate: 0.01, clipNorm: 1, patience: 5 },
  });
}
