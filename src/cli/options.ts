// Numeric command-line options: one parser so every command words its errors the same way.

/**
 * `v` as a number, or `def` when the option was not given. Throws naming the option when it is not a
 * number, not an integer (with `int`), or below `min` (or not above it, with `above`).
 */
export function numberOption(v: string | undefined, name: string, def: number, o: { int?: boolean; min?: number; above?: boolean } = {}): number {
  if (v === undefined) return def;
  const int = o.int ?? true;
  const min = o.min ?? 0;
  const n = Number(v);
  const low = o.above ? !(n > min) : !(n >= min);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || low) {
    throw new Error(`--${name} must be ${int ? 'an integer' : 'a number'} ${o.above ? '>' : '≥'} ${min}, got "${v}"`);
  }
  return n;
}
