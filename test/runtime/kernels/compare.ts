// Runs the same computation on the cpu and wasm backends of one process and compares results.
import { tf, initBackend } from '../../../src/runtime/backend.js';

export async function setupBoth(): Promise<void> {
  await initBackend('wasm'); // registers our wasm kernels
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
}

export async function on<T>(backend: 'cpu' | 'wasm', f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

/** Largest |a−b| divided by the reference's largest magnitude (1 when the reference is all zeros). */
export function relMaxDiff(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    const d = Math.abs(ref[i] - got[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
  }
  return diff / (scale || 1);
}

/** Deterministic pseudo-random values (so both backends see identical inputs). */
export function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}
