// Calendar features: the position in the year as a point on the unit circle, so that 31 December and
// 1 January are neighbours. Daily series use the day of the year, monthly series the month.

export type Frequency = 'daily' | 'monthly';

export function detectFrequency(times: readonly string[]): Frequency | undefined {
  if (times.length === 0) return undefined;
  if (times.every((t) => /^\d{4}-\d{1,2}-\d{1,2}/.test(t))) return 'daily';
  if (times.every((t) => /^\d{4}-\d{1,2}$/.test(t))) return 'monthly';
  return undefined;
}

function parse(t: string): { y: number; m: number; d: number } {
  const m = /^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?/.exec(t.trim());
  if (!m) throw new Error(`"${t}" is not a date (expected YYYY-MM-DD or YYYY-MM)`);
  return { y: Number(m[1]), m: Number(m[2]), d: m[3] ? Number(m[3]) : 1 };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The time `k` steps after `t` (k may be negative). */
export function shiftTime(t: string, freq: Frequency, k: number): string {
  const p = parse(t);
  if (freq === 'daily') {
    const d = new Date(Date.UTC(p.y, p.m - 1, p.d + k));
    return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  }
  const idx = p.y * 12 + (p.m - 1) + k;
  return `${pad(Math.floor(idx / 12), 4)}-${pad((idx % 12) + 1)}`;
}

/** [sin, cos] of the position in the year. */
export function calendarFeatures(t: string, freq: Frequency): [number, number] {
  const p = parse(t);
  let phase: number;
  if (freq === 'daily') {
    const start = Date.UTC(p.y, 0, 1);
    const doy = (Date.UTC(p.y, p.m - 1, p.d) - start) / 86_400_000;
    phase = doy / 365.25;
  } else phase = (p.m - 1) / 12;
  return [Math.sin(2 * Math.PI * phase), Math.cos(2 * Math.PI * phase)];
}

/** The natural seasonal period of a frequency, for the seasonal-naive baseline. */
export function defaultSeason(freq: Frequency | undefined): number {
  return freq === 'daily' ? 365 : freq === 'monthly' ? 12 : 1;
}
