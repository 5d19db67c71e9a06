// Where the test period begins, from a date or a count of final values.
import { indexAtOrAfter, type SeriesData } from './csv.js';

export function resolveTestStart(data: SeriesData, o: { testFrom?: string; testSize?: string }): number {
  const n = data.values.length;
  if (o.testFrom !== undefined && o.testSize !== undefined) throw new Error('give --test-from or --test-size, not both');
  if (o.testFrom !== undefined) {
    if (!data.times) throw new Error('--test-from needs --time-column');
    const i = indexAtOrAfter(data.times, o.testFrom);
    if (i <= 0) throw new Error(`--test-from ${o.testFrom} leaves no ${i === 0 ? 'training' : 'test'} data`);
    return i;
  }
  if (o.testSize !== undefined) {
    const k = Number(o.testSize);
    if (!Number.isInteger(k) || k < 1 || k >= n) throw new Error(`--test-size must be an integer in 1..${n - 1}`);
    return n - k;
  }
  throw new Error('give --test-from DATE or --test-size N');
}
