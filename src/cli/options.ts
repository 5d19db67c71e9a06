// Command-line options shared by the commands: usage and required flags, and numbers, so that every
// command words its errors the same way.

/**
 * The usage on --help (exit code 0), or which required flags are missing and then the usage (exit code 2),
 * or the required flags' values when all are given.
 */
export function requiredFlags<K extends string>(values: { [k in K]?: string } & { help?: boolean }, help: string, keys: readonly K[]): number | { [k in K]: string } {
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (keys.some((k) => values[k] === undefined)) {
    console.error(`${keys.map((k) => `--${k}`).join(' and ')} ${keys.length > 1 ? 'are' : 'is'} required\n\n${help}`);
    return 2;
  }
  return Object.fromEntries(keys.map((k) => [k, values[k]])) as unknown as { [k in K]: string };
}

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
