// Sliding windows. A "start" t is the index of the first value to forecast; its input window is the
// `window` steps t-window .. t-1, and its targets are t .. t+horizon-1.

/**
 * Per-step input rows (n × features): the scaled value, then any extra features (calendar) of that step.
 * `extra(i)` returns the extra features of step i, or undefined when there are none.
 */
export function stepFeatures(scaled: ArrayLike<number>, nExtra: number, extra?: (i: number) => readonly number[]): Float32Array {
  const f = 1 + nExtra;
  const out = new Float32Array(scaled.length * f);
  for (let i = 0; i < scaled.length; i++) {
    out[i * f] = scaled[i];
    if (nExtra > 0 && extra) {
      const e = extra(i);
      for (let j = 0; j < nExtra; j++) out[i * f + 1 + j] = e[j];
    }
  }
  return out;
}

/** Input windows (m × window × features), one per start. */
export function makeWindows(steps: Float32Array, features: number, window: number, starts: readonly number[]): Float32Array {
  const n = steps.length / features;
  const out = new Float32Array(starts.length * window * features);
  starts.forEach((t, k) => {
    if (t - window < 0 || t > n) throw new RangeError(`start ${t} needs steps ${t - window}..${t - 1}, have 0..${n - 1}`);
    out.set(steps.subarray((t - window) * features, t * features), k * window * features);
  });
  return out;
}

/**
 * Targets (m × horizon) as the change from the last input value: the network learns a residual over
 * persistence, which keeps its outputs small and centred whatever the level of the series.
 */
export function makeTargets(scaled: ArrayLike<number>, starts: readonly number[], horizon: number): Float32Array {
  const out = new Float32Array(starts.length * horizon);
  starts.forEach((t, k) => {
    if (t < 1 || t + horizon > scaled.length) throw new RangeError(`start ${t} with horizon ${horizon} runs outside 1..${scaled.length - 1}`);
    const last = scaled[t - 1];
    for (let h = 0; h < horizon; h++) out[k * horizon + h] = scaled[t + h] - last;
  });
  return out;
}

/** Starts t in [from, to) whose window fits after index 0 and whose `horizon` targets end before `end`. */
export function startsBetween(from: number, to: number, window: number, horizon: number, end: number): number[] {
  const out: number[] = [];
  for (let t = Math.max(from, window); t < to && t + horizon <= end; t++) out.push(t);
  return out;
}
