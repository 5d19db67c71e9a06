// A line chart of a series and its forecast, drawn as SVG from the numbers: the history, the forecast
// joined to the last observed value, and the prediction interval as a shaded band.
import { svg } from './dom.js';

const M = { top: 16, right: 16, bottom: 40, left: 56 };

/** Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi], about `count` of them. */
export function ticks(lo, hi, count = 6) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  // The nice step whose tick count comes closest to the one asked for.
  const step = [1, 2, 5, 10].map((m) => m * p).reduce((best, s) => (Math.abs((hi - lo) / s - count) < Math.abs((hi - lo) / best - count) ? s : best));
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Positions k in [from, to] (relative to the last observed value) to label on the time axis, at most
 * `max` of them: whole months or years for dated series, round step counts otherwise.
 */
export function timeTicks(end, from, to, max = 8) {
  const month = /^(\d{4})-(\d{2})/.exec(end ?? '');
  const day = /^\d{4}-\d{2}-(\d{2})$/.exec(end ?? '');
  if (month && !day) {
    const base = Number(month[1]) * 12 + Number(month[2]) - 1;
    const step = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600].find((s) => (to - from) / s <= max) ?? 1200;
    const out = [];
    for (let k = from; k <= to; k++) if ((base + k) % step === 0) out.push(k);
    return out;
  }
  if (day) {
    const label = calendar(end);
    const span = to - from;
    if (span <= max * 14) {
      const step = [1, 2, 7, 14].find((s) => span / s <= max) ?? 14;
      const out = [];
      for (let k = to; k >= from; k -= step) out.unshift(k);
      return out;
    }
    // Longer spans: the first day of every so many months.
    const step = [1, 2, 3, 6, 12, 24, 60, 120].find((s) => span / 30.44 / s <= max) ?? 240;
    const out = [];
    for (let k = from; k <= to; k++) {
      const d = label(k);
      const monthIndex = Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7)) - 1;
      if (d.endsWith('-01') && monthIndex % step === 0) out.push(k);
    }
    return out;
  }
  return ticks(from, to, max - 2).filter((k) => Number.isInteger(k));
}

/**
 * Labels for positions relative to the last observed value (0 = it, -1 = the one before, 1 = the
 * first forecast step), from a YYYY-MM or YYYY-MM-DD date of the last value; null without one.
 */
export function calendar(end) {
  const month = /^(\d{4})-(\d{2})$/.exec(end ?? '');
  if (month) {
    const y = Number(month[1]);
    const m = Number(month[2]) - 1;
    return (k) => {
      const t = y * 12 + m + k;
      return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, '0')}`;
    };
  }
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(end ?? '');
  if (day) {
    const base = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    return (k) => new Date(base + k * 86_400_000).toISOString().slice(0, 10);
  }
  return null;
}

/**
 * The chart for `history` (oldest first) and a forecast answer; `shown` limits how much history is
 * drawn so a long series does not squeeze the forecast into a sliver.
 */
export function forecastChart({ history, forecast, lower, upper, end, shown = 240, title, width = 800 }) {
  // Drawn at the width it is shown at, so its 12 px labels stay 12 px on a phone.
  const W = Math.max(300, Math.round(width));
  const H = W < 560 ? Math.round(W * 0.7) : 360;
  const hist = history.slice(-shown);
  const n = hist.length;
  const h = forecast.length;
  const all = [...hist, ...forecast, ...(lower ?? []), ...(upper ?? [])];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (i) => M.left + (i / Math.max(1, n + h - 1)) * (W - M.left - M.right);
  const y = (v) => M.top + ((hi - v) / (hi - lo)) * (H - M.top - M.bottom);
  const pts = (vals, from) => vals.map((v, i) => `${x(from + i).toFixed(2)},${y(v).toFixed(2)}`).join(' ');

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'forecast-chart',
    role: 'img',
    'aria-label': title,
    'data-value-min': lo,
    'data-value-max': hi,
    'data-plot-top': M.top,
    'data-plot-bottom': H - M.bottom,
  });

  const grid = svg('g', { class: 'grid' });
  for (const v of ticks(lo, hi)) {
    grid.append(
      svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      svg('text', { x: M.left - 8, y: y(v) + 4, 'text-anchor': 'end' }, formatTick(v)),
    );
  }
  const label = calendar(end);
  for (const k of timeTicks(label ? end : undefined, -(n - 1), h, W < 560 ? 4 : 8)) {
    grid.append(svg('text', { x: x(n - 1 + k), y: H - M.bottom + 18, 'text-anchor': 'middle' }, label ? label(k) : String(k)));
  }
  grid.append(svg('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }));
  grid.append(svg('text', { x: (M.left + W - M.right) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-title' }, label ? 'date' : 'steps from the last observed value'));
  root.append(grid);

  if (lower && upper && lower.length === h && upper.length === h) {
    const top = upper.map((v, i) => `${x(n + i).toFixed(2)},${y(v).toFixed(2)}`);
    const bottom = lower.map((v, i) => `${x(n + i).toFixed(2)},${y(v).toFixed(2)}`).reverse();
    const anchor = `${x(n - 1).toFixed(2)},${y(hist[n - 1]).toFixed(2)}`;
    root.append(svg('polygon', { class: 'band', points: [anchor, ...top, ...bottom].join(' ') }));
  }
  root.append(svg('line', { class: 'now', x1: x(n - 1), x2: x(n - 1), y1: M.top, y2: H - M.bottom }));
  root.append(svg('polyline', { class: 'history', points: pts(hist, 0) }));
  // The forecast line starts at the last observed value so the two read as one path.
  root.append(svg('polyline', { class: 'forecast', points: `${x(n - 1).toFixed(2)},${y(hist[n - 1]).toFixed(2)} ${pts(forecast, n)}` }));
  for (const [i, v] of forecast.entries()) root.append(svg('circle', { class: 'forecast-point', cx: x(n + i), cy: y(v), r: 3 }));
  return root;
}

function formatTick(v) {
  const a = Math.abs(v);
  if (a >= 10_000) return v.toExponential(1);
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v * 100) / 100);
  return String(Number(v.toPrecision(3)));
}
