// Value transforms applied before scaling. 'log' turns multiplicative structure (a seasonal swing that
// grows with the level, as in airline passengers) into additive structure a network with a linear
// highway handles well; forecasts are mapped back with exp. Stored in the manifest so serving
// transforms exactly as training did.

export const TRANSFORMS = ['none', 'log'] as const;
export type Transform = (typeof TRANSFORMS)[number];

/** The transformed series; throws RangeError naming the first value the transform cannot take. */
export function forwardTransform(kind: Transform, values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  if (kind === 'none') return out;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`the log transform needs positive values, value ${i} is ${v}`);
    out[i] = Math.log(v);
  }
  return out;
}

export function inverseTransform(kind: Transform, v: number): number {
  return kind === 'log' ? Math.exp(v) : v;
}
