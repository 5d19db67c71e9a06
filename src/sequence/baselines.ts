// Statistical baselines every learned forecaster is measured against. Each forecasts `horizon` values
// from a history that ends just before the first forecast value.

export function persistenceForecast(history: ArrayLike<number>, horizon: number): Float64Array {
  if (history.length < 1) throw new Error('persistence needs at least one value');
  return new Float64Array(horizon).fill(history[history.length - 1]);
}

/** The value one season earlier; beyond one season ahead it repeats the last observed season. */
export function seasonalNaiveForecast(history: ArrayLike<number>, horizon: number, season: number): Float64Array {
  const n = history.length;
  if (n < season) throw new Error(`seasonal naive needs ${season} values, got ${n}`);
  const out = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) out[h] = history[n - season + (h % season)];
  return out;
}

export interface ArModel {
  order: number;
  intercept: number;
  /** coef[k] multiplies the value k+1 steps back. */
  coef: Float64Array;
}

/** AR(p) with intercept by ordinary least squares on values[0..end), solved through the normal equations. */
export function fitAr(values: ArrayLike<number>, order: number, end = values.length): ArModel {
  const p = order;
  const d = p + 1;
  if (end - p < d) throw new Error(`AR(${p}) needs more than ${2 * p + 1} values, got ${end}`);
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d);
  const row = new Float64Array(d);
  for (let t = p; t < end; t++) {
    row[0] = 1;
    for (let k = 0; k < p; k++) row[k + 1] = values[t - 1 - k];
    const y = values[t];
    for (let i = 0; i < d; i++) {
      xty[i] += row[i] * y;
      for (let j = 0; j < d; j++) xtx[i * d + j] += row[i] * row[j];
    }
  }
  const w = solveSymmetric(xtx, xty, d);
  return { order: p, intercept: w[0], coef: w.slice(1) };
}

/** Iterated: each forecast becomes the newest lag of the next step. */
export function arForecast(m: ArModel, history: ArrayLike<number>, horizon: number): Float64Array {
  const p = m.order;
  if (history.length < p) throw new Error(`AR(${p}) needs ${p} values of history, got ${history.length}`);
  const buf = Array.from({ length: p }, (_, k) => history[history.length - p + k]);
  const out = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) {
    let y = m.intercept;
    for (let k = 0; k < p; k++) y += m.coef[k] * buf[buf.length - 1 - k];
    out[h] = y;
    buf.push(y);
  }
  return out;
}

/** Gaussian elimination with partial pivoting; the systems here are at most a few dozen unknowns. */
export function solveSymmetric(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    if (Math.abs(m[piv * n + c]) < 1e-12) throw new Error('singular system: the series is too short or constant for this AR order');
    if (piv !== c) {
      for (let j = 0; j < n; j++) [m[c * n + j], m[piv * n + j]] = [m[piv * n + j], m[c * n + j]];
      [x[c], x[piv]] = [x[piv], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) m[r * n + j] -= f * m[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let j = r + 1; j < n; j++) s -= m[r * n + j] * x[j];
    x[r] = s / m[r * n + r];
  }
  return x;
}
