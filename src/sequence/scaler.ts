// Standardisation fitted on the training part only; stored in the manifest so serving scales exactly
// as training did.

export interface Scaler {
  mean: number;
  std: number;
}

export function fitScaler(values: ArrayLike<number>, end = values.length): Scaler {
  if (end < 2) throw new Error('need at least two values to fit a scaler');
  let s = 0;
  for (let i = 0; i < end; i++) s += values[i];
  const mean = s / end;
  let v = 0;
  for (let i = 0; i < end; i++) v += (values[i] - mean) ** 2;
  const std = Math.sqrt(v / (end - 1));
  // A constant series would divide by zero; scale 1 leaves it centred and harmless.
  return { mean, std: std > 1e-12 ? std : 1 };
}

export function scale(s: Scaler, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - s.mean) / s.std;
  return out;
}

export function unscale(s: Scaler, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] * s.std + s.mean;
  return out;
}
